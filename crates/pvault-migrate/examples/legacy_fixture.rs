//! Writes a legacy "enhanced database" dump for tests and benchmarks:
//! `cargo run -p pvault-migrate --example legacy_fixture -- ROWS_PER_TABLE OUT [SEED]`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(rows), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("usage: legacy_fixture ROWS_PER_TABLE OUT [SEED]");
        return ExitCode::from(2);
    };
    let Ok(rows) = rows.parse::<usize>() else {
        eprintln!("ROWS_PER_TABLE must be a whole number");
        return ExitCode::from(2);
    };
    let seed = match args.get(2).map(|s| s.parse::<u64>()) {
        None => 1,
        Some(Ok(seed)) => seed,
        Some(Err(_)) => {
            eprintln!("SEED must be a whole number");
            return ExitCode::from(2);
        }
    };
    let dump = pvault_migrate::generate_legacy_dump(rows, seed);
    if let Err(e) = std::fs::write(out, dump) {
        eprintln!("writing {out}: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
