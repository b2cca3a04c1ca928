//! SQLCipher contender of the insert benchmark: runs `plain::insert` (the same code as the plain-SQLite
//! contender) on a database keyed with `PRAGMA key`, and prints the result as one JSON object.
//!
//! Usage: `sqlcipher-baseline --records N --batch B --dir DIR --layout rowid|without-rowid` (the
//! pvault-bench binary runs it).

#[path = "../../../crates/pvault-bench/src/plain.rs"]
#[allow(dead_code)]
mod plain;

use std::path::PathBuf;

/// A fixed test passphrase: SQLCipher derives its key from it (PBKDF2) when the database is opened,
/// before the timed part.
const PASSPHRASE: &str = "pvault-bench fixed test passphrase";

fn main() {
    let mut records = 100_000usize;
    let mut batch = 1_000usize;
    let mut dir = std::env::temp_dir();
    let mut layout = plain::Layout::Rowid;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&arg));
        match arg.as_str() {
            "--records" => records = value().parse().unwrap_or_else(|_| usage("--records")),
            "--batch" => batch = value().parse().unwrap_or_else(|_| usage("--batch")),
            "--dir" => dir = PathBuf::from(value()),
            "--layout" => {
                layout = plain::Layout::parse(&value()).unwrap_or_else(|| usage("--layout"))
            }
            other => usage(other),
        }
    }
    let work = plain::workload(0, records);
    let tmp = tempfile::Builder::new()
        .prefix("sqlcipher-")
        .tempdir_in(&dir)
        .expect("temp dir");
    let mut conn = plain::open(&tmp.path().join("store.db"), Some(PASSPHRASE), layout)
        .expect("open SQLCipher database");
    let version: String = conn
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .expect("SQLCipher is linked");
    let provider: String = conn
        .query_row("PRAGMA cipher_provider_version", [], |r| r.get(0))
        .unwrap_or_default();
    let timing = plain::insert(&mut conn, &work, batch, plain::Sql::Upsert).expect("insert");
    println!(
        "{}",
        serde_json::json!({
            "seconds": timing.wall,
            "cpu_seconds": timing.cpu,
            "bytes_written": timing.written,
            "records": records,
            "batch": batch,
            "layout": layout.name(),
            "cipher_version": version,
            "cipher_provider_version": provider,
            "sqlite_version": rusqlite::version(),
        })
    );
}

fn usage(bad: &str) -> ! {
    eprintln!(
        "sqlcipher-baseline: bad argument {bad}\nusage: sqlcipher-baseline [--records N] [--batch B] [--dir DIR] [--layout rowid|without-rowid]"
    );
    std::process::exit(2)
}
