//! Printing: JSON for scripts (`--json`), short readable lines for people. A command returns a
//! typed result that implements [`Show`]; [`show`] prints it the way the flags ask. One file per
//! command group holds those results and how they read.

pub mod agent;
pub mod audit;
pub mod backup;
pub mod migrate;
pub mod profile;
pub mod quickstart;
pub mod records;
pub mod sync;

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};
use pvault_core::{ProfileSummary, Record};
use serde::Serialize;

/// A command's result, as people read it and as JSON.
pub trait Show {
    /// The text for people (lines, no trailing newline; empty prints nothing).
    fn text(&self) -> String;
    /// The JSON for scripts (`--json`), one line (see [`to_json`]).
    fn json(&self) -> String;
}

/// A value as one line of JSON, its fields in their declared order.
pub fn to_json<T: Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).expect("results serialize")
}

/// Prints a result as `--json` asks.
pub fn show(g: &crate::cli::Global, result: &dyn Show) -> anyhow::Result<()> {
    if g.json {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{}", result.json());
        let _ = out.flush();
    } else {
        // Names and values in the text may come from the sync server or another device: no
        // control character reaches the terminal as it is.
        let text = crate::terminal_safe(&result.text(), true);
        if !text.is_empty() {
            println!("{text}");
        }
    }
    Ok(())
}

/// 90 -> "1m30s".
pub fn human(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || out.is_empty() {
        out.push_str(&format!("{s}s"));
    }
    out
}

/// Prints a value as one line of JSON on stdout.
pub fn json<T: Serialize>(value: &T) {
    let mut out = std::io::stdout().lock();
    let _ = serde_json::to_writer(&mut out, value);
    let _ = writeln!(out);
    let _ = out.flush();
}

/// One profile on one line.
pub fn profile_line(p: &ProfileSummary, current: bool) -> String {
    format!(
        "{} {:<20} {:<9} {}  ({})",
        if current { "*" } else { " " },
        p.name,
        p.security.name(),
        p.id,
        p.display_name
    )
}

/// A record for people: header line, then its data as indented JSON.
pub fn record(r: &Record) -> String {
    let mut s = format!(
        "{}/{}  {}  version {}",
        r.collection, r.id, r.classification, r.version
    );
    if !r.updated.is_empty() {
        s.push_str(&format!("  updated {}", r.updated));
    }
    if r.hidden {
        s.push_str(&format!(
            "\n  [hidden: {} — shown after the password is given again: pvault get {} {}]",
            r.classification, r.collection, r.id
        ));
    } else {
        let body = serde_json::to_string_pretty(&r.data).unwrap_or_default();
        for line in body.lines() {
            s.push_str("\n  ");
            s.push_str(line);
        }
    }
    if let Some(a) = &r.attestation {
        s.push_str(&format!(
            "\n  attested: v{} content sha256 {} signed by {}",
            a.version,
            a.content_hash,
            &a.signed_by[..16.min(a.signed_by.len())]
        ));
    }
    s
}

/// A progress bar on stderr when it is a terminal and output is not JSON; hidden otherwise.
pub fn progress(json: bool, message: &'static str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

/// Adapts a progress bar to the operations' `(stage, done, total)` callback.
pub fn staged(bar: &ProgressBar) -> impl FnMut(&'static str, u64, u64) + '_ {
    move |stage, done, total| {
        bar.set_message(stage);
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// Adapts a progress bar to the library's `(done, total)` callback.
pub fn callback(bar: &ProgressBar) -> impl FnMut(u64, u64) + '_ {
    move |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    }
}

/// Unix milliseconds as an RFC 3339 UTC time (to the second).
pub fn time_ms(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms / 1000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}
