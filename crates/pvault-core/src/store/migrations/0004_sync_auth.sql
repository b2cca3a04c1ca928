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

-- The other devices of the profile whose key this device has seen certified by the profile's
-- identity (see sync/checkpoints.rs): a later different key for one of them is a substitution.
CREATE TABLE sync_devices (
    device      TEXT NOT NULL PRIMARY KEY,   -- 32 hex digits
    key         BLOB NOT NULL,               -- Ed25519 public key
    certificate TEXT NOT NULL                -- the signed note
) WITHOUT ROWID;

-- The newest signed checkpoint of each other device that this device found consistent with its
-- own view of the log.
CREATE TABLE sync_checkpoints (
    device TEXT    NOT NULL PRIMARY KEY,
    size   INTEGER NOT NULL,
    root   BLOB    NOT NULL,
    note   TEXT    NOT NULL,
    at     INTEGER NOT NULL                  -- Unix milliseconds it was checked
) WITHOUT ROWID;
