//! `pvault put | get | list | history | rm | verify`

use std::io::{BufRead, Read, Write};

use anyhow::{Context, Result, bail};
use pvault_core::ops::Op;
use pvault_core::{Classification, MAX_RECORD_BYTES, Pvault, Unreadable};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::cli::{Global, ListArgs, PutArgs, RecordRef};
use crate::commands::open_home;
use crate::{Damaged, output};

/// Input larger than this is refused before parsing (pretty-printed JSON may be larger than the
/// stored record, whose limit the library checks).
const MAX_INPUT_BYTES: u64 = 4 * MAX_RECORD_BYTES as u64;

fn read_input(data: Option<&str>) -> Result<String> {
    let (mut reader, source): (Box<dyn Read>, String) = match data {
        Some(s) if s.starts_with('@') => {
            let path = &s[1..];
            (
                Box::new(std::fs::File::open(path).with_context(|| format!("cannot read {path}"))?),
                path.to_string(),
            )
        }
        Some(s) => return Ok(s.to_string()),
        None => (Box::new(std::io::stdin()), "stdin".to_string()),
    };
    let mut buf = String::new();
    reader
        .by_ref()
        .take(MAX_INPUT_BYTES + 1)
        .read_to_string(&mut buf)
        .with_context(|| format!("reading {source}"))?;
    if buf.len() as u64 > MAX_INPUT_BYTES {
        bail!(
            "input from {source} is larger than {} bytes; records are limited to {MAX_RECORD_BYTES} bytes",
            MAX_INPUT_BYTES
        );
    }
    Ok(buf)
}

fn parse_json(text: &str) -> Result<Value> {
    serde_json::from_str(text).map_err(|e| pvault_core::Error::Json(e.to_string()).into())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    id: Option<String>,
    classification: Option<String>,
    data: Value,
}

pub fn put(g: &Global, args: PutArgs) -> Result<()> {
    let pv = open_home(g)?;
    if args.lines {
        return put_lines(g, &pv, args);
    }
    let data = parse_json(&read_input(args.data.as_deref())?)?;
    let op = Op::Put {
        collection: args.collection,
        id: args.id,
        classification: args.classification,
        data,
    };
    let w = Backend::open(&pv, g)?
        .run(&pv, g, op, &mut |_, _, _| {})?
        .into_written()?;
    if g.json {
        output::json(&w);
    } else {
        println!(
            "{}/{}  {}  version {}",
            w.collection, w.id, w.classification, w.version
        );
    }
    Ok(())
}

/// One record per line; each is durable before its id is printed.
fn put_lines(g: &Global, pv: &Pvault, args: PutArgs) -> Result<()> {
    let reader: Box<dyn BufRead> = match args.data.as_deref() {
        Some(s) if s.starts_with('@') => Box::new(std::io::BufReader::new(
            std::fs::File::open(&s[1..]).with_context(|| format!("cannot read {}", &s[1..]))?,
        )),
        Some(_) => bail!("with --lines, --data must be @FILE (or give the lines on stdin)"),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut backend = Backend::open(pv, g)?;
    let mut stdout = std::io::stdout().lock();
    for (n, line) in reader.lines().enumerate() {
        let line = line.context("reading input")?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed: Line = serde_json::from_str(&line)
            .with_context(|| format!("line {}: invalid JSON record line", n + 1))?;
        let classification = parsed
            .classification
            .map(|c| c.parse::<Classification>())
            .transpose()
            .with_context(|| format!("line {}", n + 1))?;
        let op = Op::Put {
            collection: args.collection.clone(),
            id: parsed.id,
            classification,
            data: parsed.data,
        };
        let w = backend
            .run(pv, g, op, &mut |_, _, _| {})
            .and_then(|reply| Ok(reply.into_written()?))
            .with_context(|| format!("line {}", n + 1))?;
        if g.json {
            serde_json::to_writer(&mut stdout, &w)?;
            writeln!(stdout)?;
        } else {
            writeln!(stdout, "{}", w.id)?;
        }
        stdout.flush()?;
    }
    Ok(())
}

pub fn get(g: &Global, r: RecordRef) -> Result<()> {
    let pv = open_home(g)?;
    let op = Op::Get {
        collection: r.collection,
        id: r.id,
    };
    let rec = Backend::open(&pv, g)?
        .run(&pv, g, op, &mut |_, _, _| {})?
        .into_record()?;
    if g.json {
        output::json(&rec);
    } else {
        println!("{}", output::record(&rec));
    }
    Ok(())
}

pub fn history(g: &Global, r: RecordRef) -> Result<()> {
    let pv = open_home(g)?;
    let op = Op::History {
        collection: r.collection,
        id: r.id,
    };
    let versions = Backend::open(&pv, g)?
        .run(&pv, g, op, &mut |_, _, _| {})?
        .into_versions()?;
    if g.json {
        output::json(&versions);
    } else {
        for rec in &versions {
            println!("{}", output::record(rec));
        }
        println!(
            "{} version(s); hash chain and signatures verified",
            versions.len()
        );
    }
    Ok(())
}

fn report_unreadable(g: &Global, unreadable: &[Unreadable]) -> Result<()> {
    if unreadable.is_empty() {
        return Ok(());
    }
    if !g.json {
        for u in unreadable {
            eprintln!("error: {}/{}: {}", u.collection, u.id, u.problem);
        }
    }
    Err(Damaged(format!(
        "{} record(s) could not be read; run `pvault verify` for details",
        unreadable.len()
    ))
    .into())
}

pub fn list(g: &Global, args: ListArgs) -> Result<()> {
    let filter = match &args.filter {
        None => None,
        Some(f) => match f.split_once('=') {
            Some((k, v)) if !k.is_empty() => Some((k.to_string(), v.to_string())),
            _ => bail!("--where expects FIELD=VALUE, got '{f}'"),
        },
    };
    let pv = open_home(g)?;
    let mut backend = Backend::open(&pv, g)?;
    if args.reveal {
        backend.reauthenticate(&pv, g, "showing SECRET records")?;
    }
    let op = Op::List {
        collection: args.collection,
        filter,
    };
    let listing = backend.run(&pv, g, op, &mut |_, _, _| {})?.into_listing()?;
    if g.json {
        output::json(&listing);
    } else {
        for r in &listing.records {
            println!("{}", output::record(r));
        }
        if listing.records.is_empty() && listing.unreadable.is_empty() {
            println!("no records");
        }
    }
    report_unreadable(g, &listing.unreadable)
}

pub fn rm(g: &Global, r: RecordRef) -> Result<()> {
    let pv = open_home(g)?;
    let op = Op::Remove {
        collection: r.collection,
        id: r.id,
    };
    let w = Backend::open(&pv, g)?
        .run(&pv, g, op, &mut |_, _, _| {})?
        .into_written()?;
    if g.json {
        output::json(&json!({ "deleted": w }));
    } else {
        println!("deleted {}/{}", w.collection, w.id);
    }
    Ok(())
}

pub fn verify(g: &Global) -> Result<()> {
    let pv = open_home(g)?;
    let mut backend = Backend::open(&pv, g)?;
    let profile = backend.profile();
    let bar = output::progress(g.json, "verifying");
    let report = backend
        .run(&pv, g, Op::Verify, &mut output::staged(&bar))?
        .into_verified()?;
    bar.finish_and_clear();
    if g.json {
        output::json(&report);
    } else if report.problems.is_empty() {
        println!(
            "profile '{}': {} records and {} versions checked, no problems",
            profile, report.records, report.versions
        );
    } else {
        println!(
            "profile '{}': {} records and {} versions checked",
            profile, report.records, report.versions
        );
    }
    report_unreadable(g, &report.problems)
}
