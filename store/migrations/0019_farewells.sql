-- The last message to a person whose data was erased at their word ("we
-- deleted your number and your message"). The erasure commits with the row
-- here, and this row is then the only place the number remains: the
-- dispatcher deletes it as it claims it, so a crash loses the farewell
-- rather than keeping the number.
CREATE TABLE farewells (
    id         INTEGER PRIMARY KEY,
    wa_id      TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;
