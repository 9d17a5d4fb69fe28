-- How a person who wrote in through an entry point got there: its short
-- link or its QR code. The start text's signature tells them apart, so the
-- opt-in's source can be 'link' or 'qr'; '' when the code was not genuine.
ALTER TABLE contacts ADD COLUMN entry_via TEXT NOT NULL DEFAULT '' CHECK (entry_via IN ('', 'link', 'qr'));
