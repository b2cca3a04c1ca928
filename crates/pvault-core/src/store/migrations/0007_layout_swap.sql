-- Store version 7, last step (see 0007_layout.sql): once every row is copied, the new tables
-- replace the old ones, in one transaction. Dropping a table drops its indexes and triggers (the
-- copy triggers among them) and fires no delete trigger, so the backup log is not touched: no
-- record changed. The triggers of migrations 0002 and 0005 are made again on the new tables.
DROP TABLE records;
DROP TABLE versions;
ALTER TABLE records_v7 RENAME TO records;
ALTER TABLE versions_v7 RENAME TO versions;

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
