-- pvault server schema, version 2 (SQLite): the Merkle tree of each account's change log, the
-- devices' checkpoints and certificates. All of it is public to the server: hashes of what it
-- already stores, and notes the devices signed.

-- Every perfect subtree of the log's tree (docs: pvault_proto::merkle): node (level, idx) covers the
-- leaves [idx << level, (idx + 1) << level); leaf i is change i + 1. Written once, never changed.
CREATE TABLE tree_nodes (
    account_id BLOB    NOT NULL REFERENCES accounts (account_id),
    level      INTEGER NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx        INTEGER NOT NULL CHECK (idx >= 0),
    hash       BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (account_id, level, idx)
) STRICT, WITHOUT ROWID;

-- How many changes of the log have their nodes in tree_nodes: head_seq once built. Accounts older
-- than this migration start at 0 and are built in chunks when the server starts.
ALTER TABLE accounts ADD COLUMN tree_size INTEGER NOT NULL DEFAULT 0;

-- The certificate a device published for itself: a signed note, opaque to the server.
ALTER TABLE devices ADD COLUMN certificate TEXT;

-- The latest checkpoint (a signed note, opaque) each device published.
CREATE TABLE checkpoints (
    account_id BLOB    NOT NULL,
    device_id  BLOB    NOT NULL,
    note       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (account_id, device_id),
    FOREIGN KEY (account_id, device_id) REFERENCES devices (account_id, device_id)
) STRICT, WITHOUT ROWID;
