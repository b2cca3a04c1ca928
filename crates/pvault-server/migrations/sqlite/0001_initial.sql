-- pvault server schema, version 1 (SQLite). Every id, key and hash is raw bytes; every time is Unix seconds.
-- The server stores sealed blobs and public keys only.

-- One account per pvault profile.
CREATE TABLE accounts (
    account_id     BLOB    NOT NULL PRIMARY KEY CHECK (length(account_id) = 16),
    username       TEXT    NOT NULL UNIQUE,
    -- Ed25519 public key of the account (signs registration and joins).
    account_key    BLOB    NOT NULL CHECK (length(account_key) = 32),
    kdf            TEXT    NOT NULL,
    bundle         TEXT    NOT NULL,
    bundle_version INTEGER NOT NULL,
    -- Head of the change log: last sequence number and chain hash after it.
    head_seq       INTEGER NOT NULL,
    head_hash      BLOB    NOT NULL CHECK (length(head_hash) = 32),
    -- Live (not deleted) records, for the quota.
    record_count   INTEGER NOT NULL,
    created_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE devices (
    account_id BLOB    NOT NULL REFERENCES accounts (account_id),
    device_id  BLOB    NOT NULL CHECK (length(device_id) = 16),
    device_key BLOB    NOT NULL CHECK (length(device_key) = 32),
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, device_id)
) STRICT;
-- Authentication looks a device up by its id alone.
CREATE INDEX devices_by_id ON devices (device_id);

-- The current version of each record.
CREATE TABLE records (
    account_id BLOB    NOT NULL REFERENCES accounts (account_id),
    rid        BLOB    NOT NULL CHECK (length(rid) = 16),
    seq        INTEGER NOT NULL,
    tombstone  INTEGER NOT NULL,
    blob       BLOB    NOT NULL,
    PRIMARY KEY (account_id, rid)
) STRICT;

-- Every accepted change, in order, with the chain hash after it. Pulls read it by (account, seq).
CREATE TABLE changes (
    account_id BLOB    NOT NULL REFERENCES accounts (account_id),
    seq        INTEGER NOT NULL,
    rid        BLOB    NOT NULL,
    tombstone  INTEGER NOT NULL,
    blob_hash  BLOB    NOT NULL CHECK (length(blob_hash) = 32),
    chain_hash BLOB    NOT NULL CHECK (length(chain_hash) = 32),
    PRIMARY KEY (account_id, seq)
) STRICT, WITHOUT ROWID;

-- Request nonces seen within the clock-skew window (replay protection).
CREATE TABLE nonces (
    device_id  BLOB    NOT NULL,
    nonce      BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (device_id, nonce)
) STRICT, WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces (expires_at);
