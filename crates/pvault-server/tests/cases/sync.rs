//! Push and pull: the log, its chain, conflicts and pages.

use pvault_proto::api::AccountInfo;
use pvault_proto::batch::PushItem;
use pvault_proto::chain::{ChainHead, blob_hash};

use crate::on_both_backends;
use crate::support::{Client, Fixture, Kind, item, random, verify_page};

on_both_backends!(
    push_then_pull_round_trips_with_a_verified_chain,
    a_stale_base_is_answered_with_the_current_version_and_the_rest_applies,
    pages_follow_each_other_and_end_at_the_head,
    a_pull_from_beyond_the_head_is_refused,
    a_restarted_server_keeps_the_log,
    concurrent_pushes_get_one_gapless_log,
    pages_are_cut_by_bytes_too,
);

fn push_then_pull_round_trips_with_a_verified_chain(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("alice");

    let (a, b, d) = (random(), random(), random());
    let first = c.push_ok(
        &acct,
        &dev,
        vec![item(a, 0, b"a1"), item(b, 0, b"b1"), item(d, 0, b"d1")],
    );
    assert_eq!(first.applied, vec![(a, 1), (b, 2), (d, 3)]);
    assert!(first.conflicts.is_empty());
    let genesis = ChainHead::genesis(&acct.id);
    let expected = genesis
        .next(1, &a, false, &blob_hash(b"a1"))
        .next(2, &b, false, &blob_hash(b"b1"))
        .next(3, &d, false, &blob_hash(b"d1"));
    assert_eq!(first.head, expected);

    // Edit a, delete b.
    let tomb = PushItem {
        rid: b,
        base_seq: 2,
        tombstone: true,
        blob: b"sealed tombstone".to_vec(),
    };
    let second = c.push_ok(&acct, &dev, vec![item(a, 1, b"a2"), tomb]);
    assert_eq!(second.applied, vec![(a, 4), (b, 5)]);

    let page = c.pull_ok(&acct, &dev, 0, None);
    assert!(!page.more);
    assert_eq!(verify_page(genesis, &page), second.head);
    let got: Vec<_> = page
        .changes
        .iter()
        .map(|c| (c.seq, c.rid, c.tombstone, c.blob.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            // Superseded versions come without their blob, with their hash (chained).
            (1, a, false, None),
            (2, b, false, None),
            (3, d, false, Some(&b"d1"[..])),
            (4, a, false, Some(&b"a2"[..])),
            (5, b, true, Some(&b"sealed tombstone"[..])),
        ]
    );
    assert_eq!(page.changes[0].blob_hash, blob_hash(b"a1"));

    // A device that saw seq 3 gets just the rest, chained from the head it knows.
    let head3 = ChainHead {
        seq: 3,
        hash: expected.hash,
    };
    let tail = c.pull_ok(&acct, &dev, 3, None);
    assert_eq!(verify_page(head3, &tail), second.head);
    // Nothing new: an empty page ending at the head.
    let empty = c.pull_ok(&acct, &dev, 5, None);
    assert!(empty.changes.is_empty() && !empty.more);
    assert_eq!(empty.end, second.head);

    let info: AccountInfo = c
        .signed(&dev.signer(), "GET", &acct.path(""), b"")
        .expect(200)
        .json();
    assert_eq!((info.head_seq, info.records), (5, 2));
}

fn a_stale_base_is_answered_with_the_current_version_and_the_rest_applies(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("bob");
    let (x, y, z) = (random(), random(), random());
    c.push_ok(&acct, &dev, vec![item(x, 0, b"x1")]);
    c.push_ok(&acct, &dev, vec![item(x, 1, b"x2")]);

    // Another device still thinks x is at 1, and that an unknown z is at 7; y is new.
    let result = c.push_ok(
        &acct,
        &dev,
        vec![item(x, 1, b"x-stale"), item(y, 0, b"y1"), item(z, 7, b"z")],
    );
    assert_eq!(result.applied, vec![(y, 3)]);
    assert_eq!(result.head.seq, 3);
    assert_eq!(result.conflicts.len(), 2);
    let cx = &result.conflicts[0];
    assert_eq!(
        (cx.rid, cx.seq, cx.tombstone, cx.blob.as_slice()),
        (x, 2, false, &b"x2"[..])
    );
    // A record the server never had: sequence 0.
    assert_eq!((result.conflicts[1].rid, result.conflicts[1].seq), (z, 0));

    // The conflicting item changed nothing.
    let (pages, head) = c.pull_all(&acct, &dev, 1000);
    assert_eq!(head, result.head);
    let current: Vec<_> = pages[0]
        .changes
        .iter()
        .filter_map(|c| c.blob.as_deref())
        .collect();
    assert_eq!(current, vec![&b"x2"[..], &b"y1"[..]]);

    // A push where everything conflicts leaves the head alone.
    let none = c.push_ok(&acct, &dev, vec![item(y, 0, b"again")]);
    assert!(none.applied.is_empty());
    assert_eq!(none.head, result.head);
    assert_eq!(none.conflicts[0].seq, 3);
}

fn pages_follow_each_other_and_end_at_the_head(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("carol");
    let rids: Vec<[u8; 16]> = (0..25).map(|_| random()).collect();
    let pushed = c.push_ok(&acct, &dev, rids.iter().map(|r| item(*r, 0, r)).collect());
    assert_eq!(pushed.head.seq, 25);

    let (pages, head) = c.pull_all(&acct, &dev, 10);
    let sizes: Vec<_> = pages.iter().map(|p| (p.changes.len(), p.more)).collect();
    assert_eq!(sizes, vec![(10, true), (10, true), (5, false)]);
    assert_eq!(head, pushed.head);
    let seqs: Vec<u64> = pages
        .iter()
        .flat_map(|p| p.changes.iter().map(|c| c.seq))
        .collect();
    assert_eq!(seqs, (1..=25).collect::<Vec<_>>());

    // Exactly one page's worth: no further page announced.
    let (pages, _) = c.pull_all(&acct, &dev, 25);
    assert_eq!((pages.len(), pages[0].more), (1, false));
}

fn a_pull_from_beyond_the_head_is_refused(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("dave");
    c.push_ok(&acct, &dev, vec![item(random(), 0, b"1")]);
    let reply = c.pull(&acct, &dev, 2, None).expect(409);
    assert_eq!(reply.code(), "since_ahead");
    let reply = c.pull(&acct, &dev, u64::MAX, None).expect(409);
    assert_eq!(reply.code(), "since_ahead");
    let bad = c
        .signed(&dev.signer(), "GET", &acct.path("/pull?since=abc"), b"")
        .expect(400);
    assert_eq!(bad.code(), "bad_query");
}

fn a_restarted_server_keeps_the_log(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("erin");
    let pushed = c.push_ok(&acct, &dev, vec![item(random(), 0, b"kept")]);
    server.shutdown();

    let server = fx.start();
    let c = Client::new(&server);
    let (_, head) = c.pull_all(&acct, &dev, 100);
    assert_eq!(head, pushed.head);
    if let Some(dir) = fx.data_dir() {
        use std::os::unix::fs::PermissionsExt;
        let mode =
            |p: std::path::PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(dir.clone()), 0o700);
        assert_eq!(mode(dir.join("server.db")), 0o600);
    }
}

fn concurrent_pushes_get_one_gapless_log(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, laptop) = c.register("frank");
    let devices: Vec<_> = (0..3)
        .map(|i| {
            let (d, reply) = c.join(&acct, &format!("device {i}"));
            reply.expect(200);
            d
        })
        .chain([laptop])
        .collect();
    let url = server.url();
    let applied: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = devices
            .iter()
            .map(|dev| {
                let (url, acct) = (url.clone(), &acct);
                s.spawn(move || {
                    let c = Client::at(url);
                    (0..8)
                        .flat_map(|_| {
                            let items = vec![item(random(), 0, b"p"), item(random(), 0, b"q")];
                            c.push_ok(acct, dev, items).applied
                        })
                        .map(|(_, seq)| seq)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut sorted = applied.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..=64).collect::<Vec<_>>());
    let (pages, head) = c.pull_all(&acct, &devices[0], 1000);
    assert_eq!(head.seq, 64);
    assert_eq!(pages[0].changes.len(), 64);
}

fn pages_are_cut_by_bytes_too(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("grace");
    let big = |n: u8| item(random(), 0, &vec![n; pvault_proto::batch::MAX_BLOB]);
    c.push_ok(&acct, &dev, vec![big(1), big(2), big(3)]);
    let head = c.push_ok(&acct, &dev, vec![big(4), big(5), big(6)]).head;
    let (pages, end) = c.pull_all(&acct, &dev, 1000);
    // 16 MiB of blobs per page at most.
    let sizes: Vec<_> = pages.iter().map(|p| (p.changes.len(), p.more)).collect();
    assert_eq!(sizes, vec![(4, true), (2, false)]);
    assert_eq!(end, head);
    let firsts: Vec<u8> = pages
        .iter()
        .flat_map(|p| p.changes.iter().map(|c| c.blob.as_ref().unwrap()[0]))
        .collect();
    assert_eq!(firsts, vec![1, 2, 3, 4, 5, 6]);
}
