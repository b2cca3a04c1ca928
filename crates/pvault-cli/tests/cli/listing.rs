//! `list` page by page: `--limit`, `--after` and the cursor, the JSON object whose records stream,
//! with the password and through the agent.

use serde_json::Value;

use crate::cli_support::{AgentGuard, Home};

/// `n` notes `n0000`, `n0001`, ... written in that order (so in that revision order).
fn notes(home: &Home, n: usize) {
    let lines: String = (0..n)
        .map(|i| format!("{{\"id\":\"n{i:04}\",\"data\":{{\"title\":\"t{i}\",\"body\":\"b\"}}}}\n"))
        .collect();
    home.cmd(&["put", "notes", "--lines"]).stdin(lines).ok();
}

fn ids(listed: &Value) -> Vec<String> {
    listed["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["id"].as_str().expect("id").to_string())
        .collect()
}

/// Every page of `list notes`, `limit` at a time, following the cursors; the ids in order.
fn all_pages(home: &Home, limit: usize, password: bool) -> (Vec<String>, usize) {
    let (mut all, mut pages, mut after) = (Vec::new(), 0, None::<String>);
    loop {
        let limit = limit.to_string();
        let mut args = vec!["list", "notes", "--limit", &limit];
        if let Some(a) = &after {
            args.extend(["--after", a]);
        }
        let cmd = home.cmd(&args);
        let page = if password { cmd } else { cmd.no_password() }.ok_json();
        pages += 1;
        all.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_string()),
            None => return (all, pages),
        }
    }
}

#[test]
fn pages_hold_every_record_once_in_revision_order_with_and_without_the_agent() {
    let home = Home::new();
    home.create("alice", "standard");
    notes(&home, 1_234);
    let expected: Vec<String> = (0..1_234).map(|i| format!("n{i:04}")).collect();

    // The whole listing: more than one page of the CLI's requests, one JSON object.
    let whole = home.cmd(&["list", "notes"]).ok_json();
    assert_eq!(ids(&whole), expected);
    assert_eq!(whole["unreadable"], serde_json::json!([]));
    assert_eq!(whole["next"], Value::Null);

    let (paged, pages) = all_pages(&home, 500, true);
    assert_eq!(paged, expected);
    assert_eq!(pages, 3, "500 + 500 + 234");

    // A record written between two pages comes later, with its new revision.
    let first = home.cmd(&["list", "notes", "--limit", "2"]).ok_json();
    assert_eq!(ids(&first), ["n0000", "n0001"]);
    home.cmd(&[
        "put",
        "notes",
        "--id",
        "n0000",
        "--data",
        r#"{"title":"again"}"#,
    ])
    .ok();
    let next = first["next"].as_str().expect("a cursor after a full page");
    let rest = home.cmd(&["list", "notes", "--after", next]).ok_json();
    let rest = ids(&rest);
    assert_eq!(rest.first().map(String::as_str), Some("n0002"));
    assert_eq!(rest.last().map(String::as_str), Some("n0000"));
    assert_eq!(rest.len(), 1_233);

    // The same through the agent, with no password.
    let _agent = AgentGuard(&home);
    home.cmd(&["profile", "unlock"]).ok();
    let (paged, _) = all_pages(&home, 700, false);
    assert_eq!(paged.len(), 1_234);
    assert_eq!(paged.last().map(String::as_str), Some("n0000"));
    let whole = home.cmd(&["list", "notes"]).no_password().ok_json();
    assert_eq!(ids(&whole), paged);
}

#[test]
fn text_output_prints_each_record_and_names_the_cursor_of_the_rest() {
    let home = Home::new();
    home.create("alice", "standard");
    notes(&home, 3);
    let out = home.cmd(&["list", "notes", "--limit", "2"]).ok();
    let headers: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("notes/"))
        .collect();
    assert_eq!(headers.len(), 2, "{}", out.stdout);
    assert!(headers[0].starts_with("notes/n0000"), "{}", out.stdout);
    let cursor = out
        .stderr
        .split("--after ")
        .nth(1)
        .map(str::trim)
        .expect("the cursor of the rest on stderr");
    let rest = home.cmd(&["list", "notes", "--after", cursor]).ok();
    assert!(rest.stdout.starts_with("notes/n0002"), "{}", rest.stdout);
    assert!(!rest.stderr.contains("--after"), "{}", rest.stderr);
    let empty = home.cmd(&["list", "research"]).ok();
    assert_eq!(empty.stdout.trim(), "no records");
}

#[test]
fn a_cursor_that_no_listing_gave_is_refused_and_named() {
    let home = Home::new();
    home.create("alice", "standard");
    notes(&home, 2);
    for bad in ["", "12", "x.y", "1.-5", "99999999999999999999.1", "1.2.3"] {
        home.cmd(&["list", "notes", "--after", bad])
            .run()
            .code(1)
            .error_line(&["invalid listing cursor"]);
    }
    let zero = home.cmd(&["list", "notes", "--limit", "0"]).ok_json();
    assert_eq!(ids(&zero), Vec::<String>::new());
}
