-- Store version 1: records, blind index, breakthrough versions.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) WITHOUT ROWID;

-- Latest state of every record. rid = HMAC(naming key, collection, id): the id is only in id_box.
CREATE TABLE records (
    collection     TEXT    NOT NULL,
    rid            BLOB    NOT NULL,
    id_box         BLOB    NOT NULL,   -- envelope (kind 2) of the record id
    classification INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,   -- epoch that sealed body and id_box
    body           BLOB,               -- envelope (kind 1) of the payload; NULL for a tombstone
    revision       INTEGER NOT NULL,   -- hybrid logical clock
    device         TEXT    NOT NULL,   -- device that made this revision
    version        INTEGER NOT NULL,   -- writes to this record, from 1
    deleted        INTEGER NOT NULL DEFAULT 0,
    sync_seq       INTEGER NOT NULL DEFAULT 0,  -- server sequence last seen (0: never synced)
    dirty          INTEGER NOT NULL DEFAULT 1,  -- changed since the last sync
    PRIMARY KEY (collection, rid)
) WITHOUT ROWID;
CREATE INDEX records_by_key ON records (key_id);
CREATE INDEX records_dirty ON records (dirty) WHERE dirty = 1;

-- Blind index: token = HMAC(blind-index key of the epoch, collection, field, value).
CREATE TABLE blind_index (
    collection TEXT NOT NULL,
    field      TEXT NOT NULL,
    token      BLOB NOT NULL,
    rid        BLOB NOT NULL,
    PRIMARY KEY (collection, field, token, rid)
) WITHOUT ROWID;
CREATE INDEX blind_index_by_rid ON blind_index (collection, rid);

-- Every version of append-only collections (breakthroughs), hash-chained and signed inside the body.
CREATE TABLE versions (
    collection     TEXT    NOT NULL,
    rid            BLOB    NOT NULL,
    version        INTEGER NOT NULL,
    classification INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,
    body           BLOB    NOT NULL,
    revision       INTEGER NOT NULL,
    PRIMARY KEY (collection, rid, version)
) WITHOUT ROWID;
CREATE INDEX versions_by_key ON versions (key_id);
