//! `pvault put | get | list | history | rm | verify`: one function per command, each returning
//! what it did (`output/records.rs` says how that reads); `put --lines` prints as it goes.

use std::io::{BufRead, Read, Write};

use anyhow::{Context, Result, bail};
use pvault_core::ops::{Op, Reply};
use pvault_core::{Classification, MAX_RECORD_BYTES, Unreadable};
use serde::Deserialize;
use serde_json::Value;

use crate::Damaged;
use crate::backend::Backend;
use crate::cli::{Global, ListArgs, PutArgs, RecordRef};
use crate::context::Ctx;
use crate::output::records::{Got, ListPrinter, Removed, Stored, Unreadables, Verified, Versions};
use crate::output::{self, show};

/// Input larger than this is refused before parsing (pretty-printed JSON may be larger than the
/// stored record, whose limit the library checks).
const MAX_INPUT_BYTES: u64 = 4 * MAX_RECORD_BYTES as u64;

fn read_input(data: Option<&str>) -> Result<String> {
    let (mut reader, source): (Box<dyn Read>, String) = match data {
        Some(s) if s.starts_with('@') => {
            let path = &s[1..];
            if path.is_empty() {
                bail!("--data @ needs a file name: --data @FILE (or give the data on stdin)");
            }
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

/// Runs one operation, in the agent or here, with no progress to show.
fn run_op(ctx: &Ctx, op: Op) -> Result<Reply> {
    let pv = ctx.pv()?;
    Backend::open(pv, &ctx.g)?.run(pv, &ctx.g, op, &mut |_, _, _| {})
}

/// `put` of one record (without `--lines`).
pub fn put(ctx: &Ctx, args: PutArgs) -> Result<Stored> {
    // The home is opened before the input is read: its errors come first.
    ctx.pv()?;
    let data = parse_json(&read_input(args.data.as_deref())?)?;
    let op = Op::Put {
        collection: args.collection,
        id: args.id,
        classification: args.classification,
        data,
    };
    Ok(Stored(run_op(ctx, op)?.into_written()?))
}

/// `put --lines`: one record per line; each is durable before its id is printed, so this prints
/// as it goes (an id, or a JSON line, per record) rather than returning one result.
pub fn put_lines(ctx: &Ctx, args: PutArgs) -> Result<()> {
    let (pv, g) = (ctx.pv()?, &ctx.g);
    let reader: Box<dyn BufRead> = match args.data.as_deref() {
        Some(s) if s.len() > 1 && s.starts_with('@') => Box::new(std::io::BufReader::new(
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

pub fn get(ctx: &Ctx, r: RecordRef) -> Result<Got> {
    let op = Op::Get {
        collection: r.collection,
        id: r.id,
    };
    Ok(Got(run_op(ctx, op)?.into_record()?))
}

pub fn history(ctx: &Ctx, r: RecordRef) -> Result<Versions> {
    let op = Op::History {
        collection: r.collection,
        id: r.id,
    };
    Ok(Versions(run_op(ctx, op)?.into_versions()?))
}

/// Records per request of `list`: what the CLI (and the agent) hold at a time.
const LIST_PAGE: usize = 500;

/// `list`: page by page, each printed as it arrives (so the first records show at once and no
/// process holds the whole listing); `--json` prints one object whose `records` array streams.
pub fn list(ctx: &Ctx, args: ListArgs) -> Result<()> {
    let filter = match &args.filter {
        None => None,
        Some(f) => match f.split_once('=') {
            Some((k, v)) if !k.is_empty() => Some((k.to_string(), v.to_string())),
            _ => bail!("--where expects FIELD=VALUE, got '{f}'"),
        },
    };
    let (pv, g) = (ctx.pv()?, &ctx.g);
    let mut backend = Backend::open(pv, g)?;
    if args.reveal {
        backend.reauthenticate(pv, g, "showing SECRET records")?;
    }
    let mut out = ListPrinter::new(g.json);
    let mut unreadable = Vec::new();
    let (mut after, mut left) = (args.after.clone(), args.limit);
    while left != Some(0) {
        let op = Op::List {
            collection: args.collection.clone(),
            filter: filter.clone(),
            after: after.clone(),
            limit: Some(left.map_or(LIST_PAGE, |n| n.min(LIST_PAGE))),
        };
        let page = backend.run(pv, g, op, &mut |_, _, _| {})?.into_listing()?;
        let n = page.records.len() + page.unreadable.len();
        if !out.records(&page.records) {
            return Ok(()); // stdout closed (`pvault list | head`): stop quietly.
        }
        unreadable.extend(page.unreadable);
        left = left.map(|l| l.saturating_sub(n));
        after = page.next;
        if after.is_none() {
            break;
        }
    }
    out.finish(&unreadable, after.as_deref());
    report_unreadable(g, &unreadable)
}

pub fn rm(ctx: &Ctx, r: RecordRef) -> Result<Removed> {
    let op = Op::Remove {
        collection: r.collection,
        id: r.id,
    };
    Ok(Removed(run_op(ctx, op)?.into_written()?))
}

pub fn verify(ctx: &Ctx) -> Result<Verified> {
    let (pv, g) = (ctx.pv()?, &ctx.g);
    let mut backend = Backend::open(pv, g)?;
    let profile = backend.profile();
    let bar = output::progress(g.json, "verifying");
    let report = backend
        .run(pv, g, Op::Verify, &mut output::staged(&bar))?
        .into_verified()?;
    bar.finish_and_clear();
    Ok(Verified { profile, report })
}

/// Prints a result of `list` or `verify`; then, if it names records that could not be read,
/// names each on stderr (text only) and fails with [`Damaged`] (exit code 3).
pub fn show_checked(g: &Global, result: &dyn Unreadables) -> Result<()> {
    show(g, result)?;
    report_unreadable(g, result.unreadable())
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
