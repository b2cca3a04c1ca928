//! The malicious-server harness (`pvault_server::testing::{Tamper, Relay}`): each lie does what it
//! says on a running server, and leaves the server's bookkeeping consistent (the chain over a pull
//! from 0 reaches the page's end, the tree is the one the pulled changes make, the head and the
//! record count agree), so that only the checks made for these lies can catch them. A copy to
//! another backend's server gives the same pulls; the relay forwards, switches and pauses.

use pvault_proto::ProtoError;
use pvault_proto::api::{AccountInfo, Bundle, Checkpoints, Prelogin, PutCheckpoint};
use pvault_proto::auth::{SigningKey, public_key_string};
use pvault_proto::batch::{Change, PullPage, PushItem};
use pvault_proto::chain::{ChainHead, blob_hash};
use pvault_proto::merkle::change_leaf;
use pvault_server::testing::{Relay, Tamper};

use super::trust::{check_proof, nodes_of, nodes_of_leaves};
use crate::on_both_backends;
use crate::support::{
    Account, Client, Device, Fixture, Kind, connect_ws, item, next_announce, random, roots,
};

on_both_backends!(
    append_replays_an_older_version_as_a_new_change,
    set_current_blob_swaps_the_ciphertext_only,
    drop_blob_withholds_a_current_version,
    truncate_rolls_the_log_back,
    withhold_removes_a_change_and_renumbers_the_rest,
    bundles_keys_devices_and_certificates_are_overwritten,
    checkpoints_are_replayed,
    copy_to_forks_into_a_server_on_the_other_backend,
    the_relay_forwards_switches_and_pauses,
);

/// Checks that everything the server keeps about the log agrees after a lie, and returns the log
/// as a pull from 0 gives it.
fn consistent(c: &Client, acct: &Account, dev: &Device, tamper: &Tamper) -> Vec<Change> {
    // The chain over every page reaches the page's end (pull_all checks it from genesis).
    let (pages, head) = c.pull_all(acct, dev, 4);
    assert_eq!(head.seq, tamper.head(acct.id));
    let changes: Vec<Change> = pages.iter().flat_map(|p| p.changes.clone()).collect();
    let logged: Vec<_> = changes
        .iter()
        .map(|c| (c.seq, c.rid, c.tombstone, c.blob_hash))
        .collect();
    assert_eq!(logged, tamper.changes(acct.id));
    // The tree is the one these changes make, and its proofs verify.
    assert_eq!(tamper.tree_nodes(acct.id), nodes_of(&pages));
    let roots = roots(&pages);
    check_proof(c, acct, dev, &roots, 0, head.seq);
    check_proof(c, acct, dev, &roots, head.seq / 2, head.seq);
    // Head and live-record count.
    let info: AccountInfo = c
        .signed(&dev.signer(), "GET", &acct.path(""), b"")
        .expect(200)
        .json();
    let live = tamper.records(acct.id).iter().filter(|r| !r.2).count() as u64;
    assert_eq!((info.head_seq, info.records), (head.seq, live));
    changes
}

/// A change as the tests below look at it: sequence number, record key, blob if sent.
type Seen<'a> = (u64, [u8; 16], Option<&'a [u8]>);

/// `(seq, rid, blob)` of a pulled log.
fn blobs(changes: &[Change]) -> Vec<Seen<'_>> {
    changes
        .iter()
        .map(|c| (c.seq, c.rid, c.blob.as_deref()))
        .collect()
}

fn append_replays_an_older_version_as_a_new_change(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("alice");
    let (x, y) = (random(), random());
    c.push_ok(&acct, &dev, vec![item(x, 0, b"x1"), item(y, 0, b"y1")]);
    let tamper = fx.tamper();
    let saved = tamper.current(acct.id, x).unwrap();
    assert_eq!(saved, (1, false, b"x1".to_vec()));
    c.push_ok(&acct, &dev, vec![item(x, 1, b"x2")]);

    // The server replays x's first version as a fourth change.
    assert_eq!(tamper.append(acct.id, x, false, &saved.2), 4);
    assert_eq!(tamper.head(acct.id), 4);
    assert_eq!(tamper.current(acct.id, x), Some((4, false, b"x1".to_vec())));
    let log = consistent(&c, &acct, &dev, &tamper);
    assert_eq!(
        blobs(&log),
        vec![
            (1, x, None),
            (2, y, Some(&b"y1"[..])),
            (3, x, None),
            (4, x, Some(&b"x1"[..]))
        ]
    );
    assert_eq!(log[3].blob_hash, blob_hash(b"x1"));
    // The server now takes the replay for x's current version.
    let pushed = c.push_ok(&acct, &dev, vec![item(x, 3, b"x3")]);
    assert_eq!(pushed.conflicts[0].seq, 4);

    // A deletion appended the same way.
    assert_eq!(tamper.append(acct.id, y, true, b"sealed tombstone"), 5);
    assert_eq!(tamper.records(acct.id), vec![(x, 4, false), (y, 5, true)]);
    let log = consistent(&c, &acct, &dev, &tamper);
    assert!(log[4].tombstone);
    // And pushes go on from there.
    let pushed = c.push_ok(&acct, &dev, vec![item(x, 4, b"x5")]);
    assert_eq!(pushed.applied, vec![(x, 6)]);
    consistent(&c, &acct, &dev, &tamper);
}

fn set_current_blob_swaps_the_ciphertext_only(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("bob");
    let (x, y) = (random(), random());
    c.push_ok(&acct, &dev, vec![item(x, 0, b"x1")]);
    let head = c.push_ok(&acct, &dev, vec![item(y, 0, b"y1")]).head;
    let tamper = fx.tamper();
    tamper.set_current_blob(acct.id, x, b"another ciphertext");
    assert_eq!(
        tamper.current(acct.id, x),
        Some((1, false, b"another ciphertext".to_vec()))
    );

    // The log still names the first blob, so a page that carries the new one does not decode.
    let raw = c.pull(&acct, &dev, 0, None).expect(200);
    assert_eq!(
        PullPage::decode(&raw.body),
        Err(ProtoError::Invalid(
            "pull page: blob does not match its hash"
        ))
    );
    let changes = tamper.changes(acct.id);
    assert_eq!(changes[0].3, blob_hash(b"x1"));
    // Chain, head and tree are untouched.
    let chained = changes
        .iter()
        .fold(ChainHead::genesis(&acct.id), |h, (seq, rid, t, bh)| {
            h.next(*seq, rid, *t, bh)
        });
    assert_eq!(chained, head);
    assert_eq!(c.pull_ok(&acct, &dev, 1, None).end, head);
    let leaves = changes
        .iter()
        .map(|(seq, rid, t, bh)| change_leaf(*seq, rid, *t, bh))
        .collect();
    assert_eq!(tamper.tree_nodes(acct.id), nodes_of_leaves(leaves));
}

fn drop_blob_withholds_a_current_version(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("carol");
    let (x, y) = (random(), random());
    c.push_ok(&acct, &dev, vec![item(x, 0, b"x1"), item(y, 0, b"y1")]);
    c.push_ok(&acct, &dev, vec![item(x, 1, b"x2")]);
    let tamper = fx.tamper();
    tamper.drop_blob(acct.id, x);

    // x's newest change comes without contents, as if superseded by a change nobody sees.
    let log = consistent(&c, &acct, &dev, &tamper);
    assert_eq!(
        blobs(&log),
        vec![(1, x, None), (2, y, Some(&b"y1"[..])), (3, x, None)]
    );
    assert_eq!(tamper.current(acct.id, x), None);
    assert_eq!(tamper.records(acct.id), vec![(y, 2, false)]);
    // The server now claims not to have x.
    let pushed = c.push_ok(&acct, &dev, vec![item(x, 3, b"x3")]);
    assert_eq!(
        (pushed.conflicts[0].seq, pushed.conflicts[0].tombstone),
        (0, true)
    );
}

fn truncate_rolls_the_log_back(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("dave");
    let (a, b, d, e) = (random(), random(), random(), random());
    let at_3 = c
        .push_ok(
            &acct,
            &dev,
            vec![item(a, 0, b"a1"), item(b, 0, b"b1"), item(d, 0, b"d1")],
        )
        .head;
    c.push_ok(&acct, &dev, vec![item(a, 1, b"a2"), item(e, 0, b"e1")]);
    let tamper = fx.tamper();
    tamper.truncate(acct.id, 3);

    // The log, head and chain are what they were after change 3; a's and e's later versions are
    // gone with the records they were the current version of.
    assert_eq!(tamper.head(acct.id), 3);
    let (_, head) = c.pull_all(&acct, &dev, 100);
    assert_eq!(head, at_3);
    let log = consistent(&c, &acct, &dev, &tamper);
    assert_eq!(
        blobs(&log),
        vec![
            (1, a, None),
            (2, b, Some(&b"b1"[..])),
            (3, d, Some(&b"d1"[..]))
        ]
    );
    assert_eq!(tamper.records(acct.id), vec![(b, 2, false), (d, 3, false)]);
    // The server goes on from 3.
    let pushed = c.push_ok(&acct, &dev, vec![item(random(), 0, b"new")]);
    assert_eq!(pushed.head.seq, 4);
    consistent(&c, &acct, &dev, &tamper);
    // To nothing at all.
    tamper.truncate(acct.id, 0);
    assert_eq!(c.pull_all(&acct, &dev, 10).1, ChainHead::genesis(&acct.id));
    assert!(consistent(&c, &acct, &dev, &tamper).is_empty());
    assert!(tamper.records(acct.id).is_empty());
}

fn withhold_removes_a_change_and_renumbers_the_rest(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("erin");
    let (a, b, d, e) = (random(), random(), random(), random());
    c.push_ok(
        &acct,
        &dev,
        vec![item(a, 0, b"a1"), item(b, 0, b"b1"), item(d, 0, b"d1")],
    );
    let tomb = PushItem {
        rid: d,
        base_seq: 3,
        tombstone: true,
        blob: b"d deleted".to_vec(),
    };
    c.push_ok(
        &acct,
        &dev,
        vec![item(b, 2, b"b2"), item(e, 0, b"e1"), tomb],
    );
    let tamper = fx.tamper();

    // A superseded change: the rest moves down by one.
    tamper.withhold(acct.id, 2);
    let log = consistent(&c, &acct, &dev, &tamper);
    assert_eq!(
        blobs(&log),
        vec![
            (1, a, Some(&b"a1"[..])),
            (2, d, None),
            (3, b, Some(&b"b2"[..])),
            (4, e, Some(&b"e1"[..])),
            (5, d, Some(&b"d deleted"[..])),
        ]
    );
    assert_eq!(
        tamper.records(acct.id),
        vec![(a, 1, false), (b, 3, false), (e, 4, false), (d, 5, true)]
    );
    // A current version: its record goes too.
    tamper.withhold(acct.id, 3);
    let log = consistent(&c, &acct, &dev, &tamper);
    assert_eq!(
        blobs(&log),
        vec![
            (1, a, Some(&b"a1"[..])),
            (2, d, None),
            (3, e, Some(&b"e1"[..])),
            (4, d, Some(&b"d deleted"[..])),
        ]
    );
    assert_eq!(tamper.current(acct.id, b), None);
    // The last one, and the first one.
    tamper.withhold(acct.id, 4);
    tamper.withhold(acct.id, 1);
    let log = consistent(&c, &acct, &dev, &tamper);
    assert_eq!(blobs(&log), vec![(1, d, None), (2, e, Some(&b"e1"[..]))]);
    assert_eq!(tamper.records(acct.id), vec![(e, 2, false)]);
    let pushed = c.push_ok(&acct, &dev, vec![item(e, 2, b"e2")]);
    assert_eq!(pushed.applied, vec![(e, 3)]);
    consistent(&c, &acct, &dev, &tamper);
}

fn bundles_keys_devices_and_certificates_are_overwritten(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("frank");
    let tamper = fx.tamper();
    let (version, kdf, bundle) = tamper.bundle(acct.id);
    assert_eq!(version, 1);
    assert_eq!(kdf, "argon2id$m=65536,t=3,p=4$c2FsdA");
    assert_eq!(bundle, "sealed-bundle-v1");

    // The bundle, at any version, and the KDF prelogin hands to anyone.
    tamper.set_bundle(
        acct.id,
        7,
        "argon2id$m=8,t=1,p=1$ZXZpbA",
        "the server's bundle",
    );
    let got: Bundle = c
        .signed(&dev.signer(), "GET", &acct.path("/bundle"), b"")
        .expect(200)
        .json();
    assert_eq!(
        (got.version, got.kdf.as_str(), got.bundle.as_str()),
        (7, "argon2id$m=8,t=1,p=1$ZXZpbA", "the server's bundle")
    );
    let pre: Prelogin = c.get("/v1/accounts/frank/prelogin").expect(200).json();
    assert_eq!(pre.kdf, "argon2id$m=8,t=1,p=1$ZXZpbA");
    assert_eq!(tamper.bundle(acct.id).0, 7);

    // A device's key: the server now takes the substitute's signatures, not the device's.
    let substitute = SigningKey::from_bytes(&random());
    tamper.set_device_key(acct.id, dev.id, substitute.verifying_key().to_bytes());
    let reply = c.signed(&dev.signer(), "GET", &acct.path(""), b"");
    assert_eq!(reply.expect(401).code(), "bad_signature");
    let impostor = Device {
        id: dev.id,
        key: substitute,
    };
    let info: AccountInfo = c
        .signed(&impostor.signer(), "GET", &acct.path(""), b"")
        .expect(200)
        .json();
    assert_eq!(
        info.devices[0].device_key,
        public_key_string(&impostor.key.verifying_key())
    );

    // A device nobody added, which can sign in.
    let ghost = Device::new();
    tamper.add_device(
        acct.id,
        ghost.id,
        ghost.key.verifying_key().to_bytes(),
        "ghost",
    );
    c.pull_ok(&acct, &ghost, 0, None);
    let info: AccountInfo = c
        .signed(&ghost.signer(), "GET", &acct.path(""), b"")
        .expect(200)
        .json();
    let names: Vec<_> = info.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"ghost"));

    // A certificate, set and cleared.
    tamper.set_certificate(acct.id, ghost.id, Some("a forged certificate".into()));
    let cert = |c: &Client| -> Option<String> {
        let info: AccountInfo = c
            .signed(&ghost.signer(), "GET", &acct.path(""), b"")
            .expect(200)
            .json();
        info.devices
            .into_iter()
            .find(|d| d.device_id == hex::encode(ghost.id))
            .unwrap()
            .certificate
    };
    assert_eq!(cert(&c).as_deref(), Some("a forged certificate"));
    tamper.set_certificate(acct.id, ghost.id, None);
    assert_eq!(cert(&c), None);
}

fn checkpoints_are_replayed(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, laptop) = c.register("grace");
    let (phone, reply) = c.join(&acct, "phone");
    reply.expect(200);
    let publish = |note: &str| {
        let body = serde_json::to_vec(&PutCheckpoint { note: note.into() }).unwrap();
        c.signed(&laptop.signer(), "PUT", &acct.path("/checkpoint"), &body)
            .expect(200);
    };
    publish("laptop saw 1\n");
    publish("laptop saw 2\n");
    let tamper = fx.tamper();
    assert_eq!(
        tamper.checkpoints(acct.id),
        vec![(laptop.id, "laptop saw 2\n".to_owned())]
    );

    // The laptop's older note handed out again, and one for the phone, which published none.
    tamper.set_checkpoint(acct.id, laptop.id, "laptop saw 1\n");
    tamper.set_checkpoint(acct.id, phone.id, "phone never said this\n");
    let list: Checkpoints = c
        .signed(&phone.signer(), "GET", &acct.path("/checkpoints"), b"")
        .expect(200)
        .json();
    let mut notes: Vec<_> = list
        .checkpoints
        .iter()
        .map(|cp| (cp.device_id.clone(), cp.note.as_str()))
        .collect();
    notes.sort();
    let mut expected = vec![
        (hex::encode(laptop.id), "laptop saw 1\n"),
        (hex::encode(phone.id), "phone never said this\n"),
    ];
    expected.sort();
    assert_eq!(notes, expected);
}

fn copy_to_forks_into_a_server_on_the_other_backend(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let Some(other) = Fixture::new(fx.other_kind()) else {
        return;
    };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, laptop) = c.register("heidi");
    let (phone, reply) = c.join(&acct, "phone");
    reply.expect(200);
    let (x, y) = (random(), random());
    c.push_ok(&acct, &laptop, vec![item(x, 0, b"x1"), item(y, 0, b"y1")]);
    c.push_ok(&acct, &phone, vec![item(x, 1, &[9; 3000])]);
    let body = serde_json::to_vec(&PutCheckpoint {
        note: "laptop saw 3\n".into(),
    })
    .unwrap();
    c.signed(&laptop.signer(), "PUT", &acct.path("/checkpoint"), &body)
        .expect(200);
    let path = acct.path(&format!("/devices/{}/certificate", hex::encode(phone.id)));
    c.signed(
        &phone.signer(),
        "PUT",
        &path,
        br#"{"certificate":"phone cert"}"#,
    )
    .expect(200);
    let (bob, bob_dev) = c.register("bob");
    c.push_ok(&bob, &bob_dev, vec![item(random(), 0, b"bob's")]);

    // A second server on the other backend, migrated and empty, gets every row.
    let fork = other.start();
    let (here, there) = (fx.tamper(), other.tamper());
    here.copy_to(&there);
    let f = Client::new(&fork);
    for (account, dev) in [(&acct, &laptop), (&bob, &bob_dev)] {
        assert_eq!(
            c.pull_all(account, dev, 2).0,
            f.pull_all(account, dev, 2).0,
            "{}",
            account.username
        );
        assert_eq!(here.tree_nodes(account.id), there.tree_nodes(account.id));
        assert_eq!(here.records(account.id), there.records(account.id));
    }
    let info = |c: &Client| -> AccountInfo {
        let mut info: AccountInfo = c
            .signed(&laptop.signer(), "GET", &acct.path(""), b"")
            .expect(200)
            .json();
        // Requests to each server since the copy moved these.
        info.devices.iter_mut().for_each(|d| d.last_seen = 0);
        info
    };
    assert_eq!(info(&c), info(&f));
    let get = |c: &Client, rest: &str| -> serde_json::Value {
        c.signed(&laptop.signer(), "GET", &acct.path(rest), b"")
            .expect(200)
            .json()
    };
    for rest in ["/bundle", "/checkpoints", "/proof?from=1&to=3"] {
        assert_eq!(get(&c, rest), get(&f, rest), "{rest}");
    }
    let prelogin = |c: &Client| c.get("/v1/accounts/heidi/prelogin").expect(200).text();
    assert_eq!(prelogin(&c), prelogin(&f));

    // From here the two servers can tell the devices two different stories, each consistent.
    let one = c.push_ok(&acct, &laptop, vec![item(random(), 0, b"only here")]);
    let two = f.push_ok(&acct, &phone, vec![item(random(), 0, b"only there")]);
    assert_eq!((one.head.seq, two.head.seq), (4, 4));
    assert_ne!(one.head.hash, two.head.hash);
    consistent(&c, &acct, &laptop, &here);
    consistent(&f, &acct, &phone, &there);
}

fn the_relay_forwards_switches_and_pauses(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let Some(fx2) = Fixture::new(kind) else {
        return;
    };
    let (first, second) = (fx.start(), fx2.start());
    let relay = Relay::start(first.addr()).unwrap();
    assert!(relay.url().starts_with("http://127.0.0.1:"));
    let c = Client::at(relay.url());
    let (acct, dev) = c.register("ivan");
    c.push_ok(&acct, &dev, vec![item(random(), 0, b"1")]);
    let known = |c: &Client| c.get("/v1/accounts/ivan/prelogin").status;
    assert_eq!(known(&c), 200);
    let mut socket = connect_ws(&relay.url(), &acct, &dev.signer()).unwrap();
    assert_eq!(next_announce(&mut socket), 1);

    // The same client, switched to a server that never heard of ivan, and back.
    relay.set_target(second.addr());
    assert_eq!(known(&c), 404);
    // The switch cut the open WebSocket.
    assert!(socket.read().is_err());
    relay.set_target(first.addr());
    assert_eq!(known(&c), 200);
    assert_eq!(c.pull_ok(&acct, &dev, 0, None).end.seq, 1);

    // Paused: unreachable, the way a network cut or a stopped server is. Then back.
    relay.pause(true);
    assert!(c.try_raw("GET", "/health", &[], b"").is_err());
    assert!(
        Client::at(relay.url())
            .try_raw("GET", "/health", &[], b"")
            .is_err()
    );
    relay.pause(false);
    assert_eq!(c.get("/health").status, 200);

    // Dropped: nothing listens there any more.
    let url = relay.url();
    drop(relay);
    assert!(Client::at(url).try_raw("GET", "/health", &[], b"").is_err());
}
