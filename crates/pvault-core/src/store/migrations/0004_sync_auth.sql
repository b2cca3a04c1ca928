-- Store version 4: what this device knows of each record's place in the server's log, so that a
-- change the server hands back can be checked to move the record forward (see docs/sync.md,
-- "Per-record chain"). Applied on top of version 3.

-- The server version a row is based on (the one at `sync_seq`): the SHA-256 of its sealed item
-- (NULL: not known, for rows synced before version 4) and its change counter `n` (0: not known).
ALTER TABLE records ADD COLUMN sync_hash BLOB;
ALTER TABLE records ADD COLUMN sync_n INTEGER NOT NULL DEFAULT 0;

-- Changes pulled without their contents (the server sends a superseded change as its hash only)
-- whose superseding change has not been pulled yet. Empty after a complete pull, unless the server
-- withholds a record's current version.
CREATE TABLE sync_superseded (
    rid  BLOB    NOT NULL PRIMARY KEY,
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
) WITHOUT ROWID;
