-- One person, one contact: match_key is the number as optin matches it
-- (consent.MatchKey): the digits, without Argentina's mobile 9, Mexico's
-- mobile 1 and Brazil's ninth digit, so that the number a person types and
-- the wa_id WhatsApp reports find the same contact. The store fills it for
-- every new contact; the UPDATE below gives the existing ones theirs (the
-- same rules in SQL), and store.Open merges contacts that turn out to share
-- one before the unique index is made.
ALTER TABLE contacts ADD COLUMN match_key TEXT NOT NULL DEFAULT '';

UPDATE contacts SET match_key = CASE
    WHEN length(ltrim(phone, '+')) = 13 AND substr(ltrim(phone, '+'), 1, 3) IN ('549', '521')
        THEN substr(ltrim(phone, '+'), 1, 2) || substr(ltrim(phone, '+'), 4)
    WHEN length(ltrim(phone, '+')) = 13 AND substr(ltrim(phone, '+'), 1, 2) = '55' AND substr(ltrim(phone, '+'), 5, 1) = '9'
        THEN substr(ltrim(phone, '+'), 1, 4) || substr(ltrim(phone, '+'), 6)
    ELSE ltrim(phone, '+') END;

CREATE INDEX contacts_match_key ON contacts (match_key);
