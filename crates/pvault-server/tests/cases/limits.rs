//! Sizes, quotas, malformed input and rate limits.

use pvault_proto::api::{AccountInfo, Quota};
use pvault_proto::batch::{PushItem, PushRequest};

use crate::on_both_backends;
use crate::support::{Client, Fixture, Kind, item, random};

on_both_backends!(
    oversized_pushes_are_refused_whole,
    malformed_messages_are_a_400,
    the_record_quota_refuses_a_whole_push,
    authentication_attempts_are_rate_limited,
);

const SMALL: Quota = Quota {
    max_records: 1000,
    max_blob_bytes: 1024,
    max_batch_items: 4,
    max_batch_bytes: 8 << 10,
};

fn oversized_pushes_are_refused_whole(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start_with(|c| {
        c.quota = SMALL;
        c.max_request_bytes = 16 << 10;
    });
    let c = Client::new(&server);
    let (acct, dev) = c.register("alice");
    let rids: Vec<[u8; 16]> = (0..5).map(|_| random()).collect();

    let five = rids.iter().map(|r| item(*r, 0, b"x")).collect();
    assert_eq!(
        c.push(&acct, &dev, five).expect(413).code(),
        "batch_too_large"
    );
    let big_blob = vec![item(rids[0], 0, b"ok"), item(rids[1], 0, &[7; 1025])];
    assert_eq!(
        c.push(&acct, &dev, big_blob).expect(413).code(),
        "record_too_large"
    );
    // Four blobs within the blob limit, over the batch's bytes.
    let heavy = rids[..4]
        .iter()
        .map(|r| item(*r, 0, &[1; 1024 * 3]))
        .collect();
    assert_eq!(
        c.push(&acct, &dev, heavy).expect(413).code(),
        "batch_too_large"
    );
    // Over the server's request limit: refused before it is read.
    let body = vec![0u8; 20 << 10];
    let reply = c
        .signed(&dev.signer(), "POST", &acct.path("/push"), &body)
        .expect(413);
    assert_eq!(reply.code(), "batch_too_large");

    // Nothing of it was applied.
    let info: AccountInfo = c
        .signed(&dev.signer(), "GET", &acct.path(""), b"")
        .expect(200)
        .json();
    assert_eq!((info.head_seq, info.records), (0, 0));
    assert_eq!(info.quota, SMALL);
    let four = rids[..4].iter().map(|r| item(*r, 0, &[1; 1024])).collect();
    assert_eq!(c.push_ok(&acct, &dev, four).head.seq, 4);
}

fn malformed_messages_are_a_400(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("bob");
    let valid = PushRequest {
        items: vec![item(random(), 0, b"x")],
    }
    .encode();
    let mut trailing = valid.clone();
    trailing.push(0);
    let mut bad_magic = valid.clone();
    bad_magic[0] = b'X';
    let twice = PushRequest {
        items: vec![item([1; 16], 0, b"a"), item([1; 16], 0, b"b")],
    }
    .encode();
    let bodies: Vec<Vec<u8>> = vec![
        vec![],
        b"hello".to_vec(),
        valid[..valid.len() - 1].to_vec(),
        trailing,
        bad_magic,
        twice,
        // A count of items far beyond what the body holds.
        vec![b'P', b'V', b'S', 1, 1, 0x88, 0x27],
    ];
    for body in &bodies {
        let reply = c
            .signed(&dev.signer(), "POST", &acct.path("/push"), body)
            .expect(400);
        assert_eq!(reply.code(), "bad_message", "{body:?}");
    }
    // Bad JSON, a bad id in the path, an unknown endpoint, a wrong method.
    let put = c
        .signed(
            &dev.signer(),
            "PUT",
            &acct.path("/bundle"),
            b"{\"expected_version\":",
        )
        .expect(400);
    assert_eq!(put.code(), "bad_json");
    assert_eq!(
        c.get("/v1/profiles/not-hex/pull").expect(400).code(),
        "bad_id"
    );
    assert_eq!(c.get("/v1/nothing").expect(404).code(), "not_found");
    assert_eq!(
        c.raw("PATCH", "/v1/accounts", &[], b"").expect(405).code(),
        "method_not_allowed"
    );
    // A plain GET of the WebSocket endpoint, signed: not an upgrade.
    let reply = c
        .signed(&dev.signer(), "GET", &acct.path("/ws"), b"")
        .expect(400);
    assert_eq!(reply.code(), "not_websocket");
    // The server is fine afterwards and nothing was applied.
    assert!(c.pull_ok(&acct, &dev, 0, None).changes.is_empty());
}

fn the_record_quota_refuses_a_whole_push(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start_with(|c| c.quota.max_records = 3);
    let c = Client::new(&server);
    let (acct, dev) = c.register("carol");
    let rids: Vec<[u8; 16]> = (0..5).map(|_| random()).collect();
    c.push_ok(
        &acct,
        &dev,
        rids[..2].iter().map(|r| item(*r, 0, b"x")).collect(),
    );

    let two_more = rids[2..4].iter().map(|r| item(*r, 0, b"x")).collect();
    let reply = c.push(&acct, &dev, two_more).expect(403);
    assert_eq!(reply.code(), "quota_exceeded");
    let info: AccountInfo = c
        .signed(&dev.signer(), "GET", &acct.path(""), b"")
        .expect(200)
        .json();
    assert_eq!((info.head_seq, info.records), (2, 2));

    // Deleting one and adding two in one push stays within the quota.
    let tomb = PushItem {
        rid: rids[0],
        base_seq: 1,
        tombstone: true,
        blob: b"t".to_vec(),
    };
    let mixed = vec![tomb, item(rids[2], 0, b"x"), item(rids[3], 0, b"x")];
    assert_eq!(c.push_ok(&acct, &dev, mixed).head.seq, 5);
    assert_eq!(
        c.push(&acct, &dev, vec![item(rids[4], 0, b"x")])
            .expect(403)
            .code(),
        "quota_exceeded"
    );
    // Editing a live record is always fine.
    c.push_ok(&acct, &dev, vec![item(rids[1], 2, b"edited")]);
}

fn authentication_attempts_are_rate_limited(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start_with(|c| c.auth_rate_per_minute = 4);
    let c = Client::new(&server);
    let (acct, dev) = c.register("dave");
    for _ in 0..3 {
        c.get("/v1/accounts/dave/prelogin").expect(200);
    }
    let limited = c.get("/v1/accounts/dave/prelogin").expect(429);
    assert_eq!(limited.code(), "rate_limited");
    let retry: u64 = limited.retry_after.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // The whole address is out of attempts: another username, and signed requests too.
    assert_eq!(
        c.get("/v1/accounts/erin/prelogin").expect(429).code(),
        "rate_limited"
    );
    assert_eq!(
        c.pull(&acct, &dev, 0, None).expect(429).code(),
        "rate_limited"
    );
    let metrics = c.get("/metrics").expect(200).text();
    assert!(
        metrics.contains("pvault_rate_limited_total 3\n"),
        "{metrics}"
    );

    // Failed authentications drain an address too: on a fresh server, 4 forgeries, then even a
    // good request waits.
    drop(server);
    let server = fx.start_with(|c| c.auth_rate_per_minute = 4);
    let c = Client::new(&server);
    let stranger = crate::support::Device::new();
    for _ in 0..4 {
        c.signed(&stranger.signer(), "GET", &acct.path(""), b"")
            .expect(401);
    }
    assert_eq!(
        c.pull(&acct, &dev, 0, None).expect(429).code(),
        "rate_limited"
    );
}
