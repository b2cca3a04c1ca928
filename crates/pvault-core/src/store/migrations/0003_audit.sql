-- Store version 3: the audit log and row tags. Applied on top of version 2 (new stores get all three).

-- A keyed tag over the clear columns of a record row (see vault/tag.rs): an edit of classification,
-- revision, device, version, deleted or a swap of envelopes is found by verify. Rows of a store
-- migrated from version 2 are tagged at the first unlock after the migration (marked below).
ALTER TABLE records ADD COLUMN tag BLOB;
INSERT INTO meta (key, value) SELECT 'rows/untagged', 1 WHERE EXISTS (SELECT 1 FROM records);

-- One hash chain per device: entries of other devices arrive by sync and are kept as they came.
CREATE TABLE audit_log (
    device TEXT    NOT NULL,   -- device that wrote the entry
    seq    INTEGER NOT NULL,   -- its place in that device's chain, from 1
    entry  BLOB    NOT NULL,   -- envelope (kind 5) of the event, under the profile's audit key
    hash   BLOB    NOT NULL,   -- link("pvault/audit/entry/v1", previous hash, device, seq, entry)
    mac    BLOB    NOT NULL,   -- HMAC(audit MAC key, hash)
    synced INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (device, seq)
) WITHOUT ROWID;

-- Signed statements "device D's chain had `size` entries ending in `hash`": the newest one of each
-- device is what a truncated tail is measured against.
CREATE TABLE audit_checkpoints (
    device    TEXT    NOT NULL,
    size      INTEGER NOT NULL,
    hash      BLOB    NOT NULL,
    at        INTEGER NOT NULL,   -- Unix milliseconds
    signature BLOB    NOT NULL,   -- Ed25519, profile identity, over the checkpoint text
    PRIMARY KEY (device, size)
) WITHOUT ROWID;

-- Events that happened while the profile was locked (a failed unlock), sealed to the profile's
-- public key: anyone may add one, only the owner reads them; moved into the chain at the next unlock.
CREATE TABLE audit_inbox (
    id     INTEGER PRIMARY KEY,
    sealed BLOB NOT NULL
);

-- Retention: the entries 1..upto of a device's chain, summarised and removed. `counts` (entries by
-- kind) is sealed under the audit key; the signature (profile identity) covers device, upto, the
-- chain hash at upto, the time span and the sealed counts, so the chain goes on verifying from it.
CREATE TABLE audit_summaries (
    device    TEXT    PRIMARY KEY,
    upto      INTEGER NOT NULL,
    hash      BLOB    NOT NULL,
    first_at  INTEGER NOT NULL,
    last_at   INTEGER NOT NULL,
    counts    BLOB    NOT NULL,
    signature BLOB    NOT NULL
) WITHOUT ROWID;
