-- pvault server schema, version 1 (PostgreSQL). Every id, key and hash is raw bytes; every time is Unix
-- seconds. The server stores sealed blobs and public keys only.

-- One account per pvault profile.
CREATE TABLE accounts (
    account_id     BYTEA  NOT NULL PRIMARY KEY CHECK (length(account_id) = 16),
    username       TEXT   NOT NULL UNIQUE,
    -- Ed25519 public key of the account (signs registration and joins).
    account_key    BYTEA  NOT NULL CHECK (length(account_key) = 32),
    kdf            TEXT   NOT NULL,
    bundle         TEXT   NOT NULL,
    bundle_version BIGINT NOT NULL,
    -- Head of the change log: last sequence number and chain hash after it.
    head_seq       BIGINT NOT NULL,
    head_hash      BYTEA  NOT NULL CHECK (length(head_hash) = 32),
    -- Live (not deleted) records, for the quota.
    record_count   BIGINT NOT NULL,
    created_at     BIGINT NOT NULL
);

CREATE TABLE devices (
    account_id BYTEA   NOT NULL REFERENCES accounts (account_id),
    device_id  BYTEA   NOT NULL CHECK (length(device_id) = 16),
    device_key BYTEA   NOT NULL CHECK (length(device_key) = 32),
    name       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    last_seen  BIGINT  NOT NULL,
    revoked    BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (account_id, device_id)
);
-- Authentication looks a device up by its id alone.
CREATE INDEX devices_by_id ON devices (device_id);

-- The current version of each record.
CREATE TABLE records (
    account_id BYTEA   NOT NULL REFERENCES accounts (account_id),
    rid        BYTEA   NOT NULL CHECK (length(rid) = 16),
    seq        BIGINT  NOT NULL,
    tombstone  BOOLEAN NOT NULL,
    blob       BYTEA   NOT NULL,
    PRIMARY KEY (account_id, rid)
);

-- Every accepted change, in order, with the chain hash after it. Pulls read it by (account, seq).
CREATE TABLE changes (
    account_id BYTEA   NOT NULL REFERENCES accounts (account_id),
    seq        BIGINT  NOT NULL,
    rid        BYTEA   NOT NULL,
    tombstone  BOOLEAN NOT NULL,
    blob_hash  BYTEA   NOT NULL CHECK (length(blob_hash) = 32),
    chain_hash BYTEA   NOT NULL CHECK (length(chain_hash) = 32),
    PRIMARY KEY (account_id, seq)
);

-- Request nonces seen within the clock-skew window (replay protection), shared by every instance.
CREATE TABLE nonces (
    device_id  BYTEA  NOT NULL,
    nonce      BYTEA  NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (device_id, nonce)
);
CREATE INDEX nonces_by_expiry ON nonces (expires_at);

-- Blobs are sealed (incompressible): keep them out of line without trying to compress them.
ALTER TABLE records ALTER COLUMN blob SET STORAGE EXTERNAL;
