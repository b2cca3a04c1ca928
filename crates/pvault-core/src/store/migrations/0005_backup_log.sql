-- Store version 5: the backup log (see docs/backup.md). Every change to what a backup holds of a
-- record (its row, apart from the sync columns, and its breakthrough versions) appends the
-- record's key here, by trigger, so that no write path can forget it; a backup reads the keys
-- appended since the position its parent snapshot recorded. Trimmed once every repository this
-- store backs up to has passed an entry. Applied on top of version 4.
-- Positions only grow: the newest entry is never trimmed (see store/dump.rs), so the next rowid
-- is always past every position a repository recorded (no AUTOINCREMENT, whose counter table
-- would be one more write per record).
CREATE TABLE backup_log (
    seq        INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    rid        BLOB NOT NULL
);

CREATE TRIGGER backup_log_record_inserted AFTER INSERT ON records BEGIN
    INSERT INTO backup_log (collection, rid) VALUES (new.collection, new.rid);
END;
CREATE TRIGGER backup_log_record_updated
    AFTER UPDATE OF id_box, classification, key_id, body, revision, device, version, deleted, tag
    ON records BEGIN
    INSERT INTO backup_log (collection, rid) VALUES (new.collection, new.rid);
END;
CREATE TRIGGER backup_log_record_deleted AFTER DELETE ON records BEGIN
    INSERT INTO backup_log (collection, rid) VALUES (old.collection, old.rid);
END;
CREATE TRIGGER backup_log_version_inserted AFTER INSERT ON versions BEGIN
    INSERT INTO backup_log (collection, rid) VALUES (new.collection, new.rid);
END;
CREATE TRIGGER backup_log_version_updated AFTER UPDATE ON versions BEGIN
    INSERT INTO backup_log (collection, rid) VALUES (new.collection, new.rid);
END;
CREATE TRIGGER backup_log_version_deleted AFTER DELETE ON versions BEGIN
    INSERT INTO backup_log (collection, rid) VALUES (old.collection, old.rid);
END;
