-- Store version 6: data migrations from other programs (see docs/migration.md). One row per
-- migration: its state and a JSON journal (format, the file's keyed hash, counts, the backup taken
-- first); and one row per record it wrote, with the version it wrote, so that a resumed migration
-- skips what is in and a rollback removes exactly what it added. Applied on top of version 5.
CREATE TABLE migrations (
    id      TEXT    PRIMARY KEY,
    state   TEXT    NOT NULL,          -- running, finished, rolled_back
    journal TEXT    NOT NULL
) WITHOUT ROWID;

CREATE TABLE migration_records (
    migration  TEXT    NOT NULL,
    collection TEXT    NOT NULL,
    rid        BLOB    NOT NULL,
    version    INTEGER NOT NULL,
    PRIMARY KEY (migration, collection, rid)
) WITHOUT ROWID;
