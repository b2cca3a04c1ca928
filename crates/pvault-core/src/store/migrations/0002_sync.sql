-- Store version 2: sync state. Applied on top of version 1 (new stores get both).
-- The last synced version of a record that has local changes since: the common ancestor for a
-- three-way merge. Kept by a trigger when a synced row first becomes dirty, dropped when it syncs.
CREATE TABLE sync_base (
    collection     TEXT    NOT NULL,
    rid            BLOB    NOT NULL,
    id_box         BLOB    NOT NULL,
    classification INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,
    body           BLOB,
    revision       INTEGER NOT NULL,
    device         TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    deleted        INTEGER NOT NULL,
    sync_seq       INTEGER NOT NULL,
    PRIMARY KEY (collection, rid)
) WITHOUT ROWID;
CREATE TRIGGER records_keep_sync_base BEFORE UPDATE OF dirty ON records
    WHEN OLD.dirty = 0 AND NEW.dirty = 1 AND OLD.sync_seq > 0
BEGIN
    INSERT OR REPLACE INTO sync_base VALUES (OLD.collection, OLD.rid, OLD.id_box, OLD.classification,
        OLD.key_id, OLD.body, OLD.revision, OLD.device, OLD.version, OLD.deleted, OLD.sync_seq);
END;
CREATE TRIGGER records_drop_sync_base AFTER UPDATE OF dirty ON records WHEN NEW.dirty = 0
BEGIN
    DELETE FROM sync_base WHERE collection = NEW.collection AND rid = NEW.rid;
END;

-- Conflicts kept for the user (strategy `manual`): the local version, sealed as a sync item.
CREATE TABLE sync_conflicts (
    id          INTEGER PRIMARY KEY,
    collection  TEXT    NOT NULL,
    rid         BLOB    NOT NULL,
    at          INTEGER NOT NULL,   -- Unix milliseconds
    strategy    TEXT    NOT NULL,
    local_item  BLOB    NOT NULL,   -- sealed sync item of the local version
    remote_seq  INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'open'  -- open | resolved
);

-- What sync did, and every version a resolution set aside (sealed, so it can be restored).
CREATE TABLE sync_history (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,   -- Unix milliseconds
    event       TEXT    NOT NULL,   -- sync | conflict | restored | resolved
    collection  TEXT,
    rid         BLOB,
    detail      TEXT    NOT NULL,   -- field names and counts, never values
    lost_item   BLOB                -- sealed sync item of the version that lost, if any
);
