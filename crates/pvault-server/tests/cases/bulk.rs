//! Pushes and pulls of more records than one SQLite statement takes (500 a statement): the
//! applied records, the conflicts (with the server's version, or none), and the pages after.

use crate::on_both_backends;
use crate::support::{Client, Fixture, Kind, item, random};

on_both_backends!(pushes_and_pulls_over_many_statements_keep_every_record,);

fn pushes_and_pulls_over_many_statements_keep_every_record(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("bob");
    let rids: Vec<[u8; 16]> = (0..1300).map(|_| random()).collect();
    let first = c.push_ok(
        &acct,
        &dev,
        rids.iter().map(|r| item(*r, 0, b"v1")).collect(),
    );
    assert_eq!(first.applied.len(), 1300);
    assert_eq!(first.head.seq, 1300);
    // 700 right bases, 600 stale ones (conflicts), and 10 records the server never had, with a base.
    let mut items: Vec<_> = rids
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let seq = first.applied[i].1;
            item(*r, if i < 700 { seq } else { seq + 5 }, b"v2")
        })
        .collect();
    let ghosts: Vec<[u8; 16]> = (0..10).map(|_| random()).collect();
    items.extend(ghosts.iter().map(|g| item(*g, 3, b"g")));
    let second = c.push_ok(&acct, &dev, items);
    assert_eq!(second.applied.len(), 700);
    assert_eq!(second.conflicts.len(), 610);
    for (i, cx) in second.conflicts.iter().enumerate() {
        if i < 600 {
            assert_eq!(cx.rid, rids[700 + i]);
            assert_eq!(cx.blob, b"v1");
            assert!(!cx.tombstone);
        } else {
            assert_eq!((cx.rid, cx.seq, cx.tombstone), (ghosts[i - 600], 0, true));
            assert!(cx.blob.is_empty());
        }
    }
    let (pages, head) = c.pull_all(&acct, &dev, 333);
    assert_eq!(head.seq, 2000);
    let changes: Vec<_> = pages.iter().flat_map(|p| p.changes.iter()).collect();
    assert_eq!(changes.len(), 2000);
    let with_blob = changes.iter().filter(|c| c.blob.is_some()).count();
    // The first changes of the 700 rewritten records are no longer current: they carry no blob.
    assert_eq!(with_blob, 1300);
    for ch in &changes[..700] {
        assert!(ch.blob.is_none());
    }
    for ch in &changes[1300..] {
        assert_eq!(ch.blob.as_deref(), Some(&b"v2"[..]));
    }
}
