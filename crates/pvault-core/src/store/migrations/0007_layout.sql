-- Store version 7: `records` and `versions` become ordinary rowid tables with a unique index on
-- their key, in place of WITHOUT ROWID tables keyed by it. Their rows are large (a sealed body)
-- and their keys random (keyed hashes): keyed by them, every write lands on a random page of the
-- whole table, so a batch of 1,000 new records rewrote ~1,000 table pages. A rowid table appends
-- the rows; only the small index entries land at random (see docs/store.md, "Layout").
--
-- This file starts the change: the new tables (same columns, same order), their indexes, and
-- triggers that keep the part already copied in step with writes to the old tables by a process
-- that opened the store before. The rows move in batches (store/layout.rs): an interrupted copy
-- resumes after the last key copied. 0007_layout_swap.sql then replaces the old tables.
-- Invariant while copying: records_v7 holds exactly the rows of records whose key is at most the
-- largest key in records_v7 (the same for versions).
CREATE TABLE records_v7 (
    collection     TEXT    NOT NULL,
    rid            BLOB    NOT NULL,
    id_box         BLOB    NOT NULL,
    classification INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,
    body           BLOB,
    revision       INTEGER NOT NULL,
    device         TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    deleted        INTEGER NOT NULL DEFAULT 0,
    sync_seq       INTEGER NOT NULL DEFAULT 0,
    dirty          INTEGER NOT NULL DEFAULT 1,
    tag            BLOB,
    sync_hash      BLOB,
    sync_n         INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX records_key ON records_v7 (collection, rid);
-- All three hold the rowid after their columns: new rows append to them too. The first serves
-- `list` page by page in revision order, the others rotation and push.
CREATE INDEX records_by_revision ON records_v7 (collection, revision);
CREATE INDEX records_by_epoch ON records_v7 (key_id);
CREATE INDEX records_to_push ON records_v7 (dirty) WHERE dirty = 1;

CREATE TABLE versions_v7 (
    collection     TEXT    NOT NULL,
    rid            BLOB    NOT NULL,
    version        INTEGER NOT NULL,
    classification INTEGER NOT NULL,
    key_id         INTEGER NOT NULL,
    body           BLOB    NOT NULL,
    revision       INTEGER NOT NULL
);
CREATE UNIQUE INDEX versions_key ON versions_v7 (collection, rid, version);
CREATE INDEX versions_by_epoch ON versions_v7 (key_id);

-- A write to a row already copied is copied too; one past the copied part waits for its batch.
-- (Delete, then insert: an outer INSERT OR IGNORE would turn an INSERT OR REPLACE here into an
-- ignore.)
CREATE TRIGGER records_v7_insert AFTER INSERT ON records BEGIN
    DELETE FROM records_v7 WHERE collection = NEW.collection AND rid = NEW.rid;
    INSERT INTO records_v7 SELECT NEW.collection, NEW.rid, NEW.id_box, NEW.classification,
        NEW.key_id, NEW.body, NEW.revision, NEW.device, NEW.version, NEW.deleted, NEW.sync_seq,
        NEW.dirty, NEW.tag, NEW.sync_hash, NEW.sync_n
    WHERE EXISTS (SELECT 1 FROM records_v7 WHERE (collection, rid) > (NEW.collection, NEW.rid));
END;
CREATE TRIGGER records_v7_update AFTER UPDATE ON records BEGIN
    DELETE FROM records_v7 WHERE collection = OLD.collection AND rid = OLD.rid;
    DELETE FROM records_v7 WHERE collection = NEW.collection AND rid = NEW.rid;
    INSERT INTO records_v7 SELECT NEW.collection, NEW.rid, NEW.id_box, NEW.classification,
        NEW.key_id, NEW.body, NEW.revision, NEW.device, NEW.version, NEW.deleted, NEW.sync_seq,
        NEW.dirty, NEW.tag, NEW.sync_hash, NEW.sync_n
    WHERE EXISTS (SELECT 1 FROM records_v7 WHERE (collection, rid) > (NEW.collection, NEW.rid));
END;
CREATE TRIGGER records_v7_delete AFTER DELETE ON records BEGIN
    DELETE FROM records_v7 WHERE collection = OLD.collection AND rid = OLD.rid;
END;

CREATE TRIGGER versions_v7_insert AFTER INSERT ON versions BEGIN
    DELETE FROM versions_v7
        WHERE collection = NEW.collection AND rid = NEW.rid AND version = NEW.version;
    INSERT INTO versions_v7 SELECT NEW.collection, NEW.rid, NEW.version, NEW.classification,
        NEW.key_id, NEW.body, NEW.revision
    WHERE EXISTS (SELECT 1 FROM versions_v7
        WHERE (collection, rid, version) > (NEW.collection, NEW.rid, NEW.version));
END;
CREATE TRIGGER versions_v7_update AFTER UPDATE ON versions BEGIN
    DELETE FROM versions_v7
        WHERE collection = OLD.collection AND rid = OLD.rid AND version = OLD.version;
    DELETE FROM versions_v7
        WHERE collection = NEW.collection AND rid = NEW.rid AND version = NEW.version;
    INSERT INTO versions_v7 SELECT NEW.collection, NEW.rid, NEW.version, NEW.classification,
        NEW.key_id, NEW.body, NEW.revision
    WHERE EXISTS (SELECT 1 FROM versions_v7
        WHERE (collection, rid, version) > (NEW.collection, NEW.rid, NEW.version));
END;
CREATE TRIGGER versions_v7_delete AFTER DELETE ON versions BEGIN
    DELETE FROM versions_v7
        WHERE collection = OLD.collection AND rid = OLD.rid AND version = OLD.version;
END;
