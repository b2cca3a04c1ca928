//! The tree and what devices publish for each other: consistency proofs checked against a tree built
//! independently from the pulled changes, the tree built at start for a log that predates it (equal
//! to the one pushes build), checkpoints and device certificates.

use pvault_proto::api::{
    AccountInfo, Checkpoints, DeviceCertificate, DeviceCheckpoint, MAX_CERTIFICATE_BYTES,
    PutCheckpoint, TreeProof,
};
use pvault_proto::auth::public_key_string;
use pvault_proto::batch::PushItem;
use pvault_proto::checkpoint::MAX_NOTE_BYTES;
use pvault_proto::merkle::{Frontier, change_leaf, new_nodes, verify_consistency};

use crate::on_both_backends;
use crate::support::{Account, Client, Device, Fixture, Kind, Reply, item, random, roots};

on_both_backends!(
    proofs_verify_against_a_tree_built_from_the_pulled_changes,
    bad_proof_ranges_are_refused_with_a_reason,
    the_tree_built_at_start_is_the_tree_pushes_build,
    checkpoints_are_kept_per_device_and_listed,
    checkpoints_come_with_their_proofs_when_asked,
    a_device_sets_its_own_certificate_only,
);

pub fn proof(c: &Client, acct: &Account, dev: &Device, from: u64, to: u64) -> Reply {
    let path = acct.path(&format!("/proof?from={from}&to={to}"));
    c.signed(&dev.signer(), "GET", &path, b"")
}

fn hash(hex: &str) -> [u8; 32] {
    let mut out = [0; 32];
    hex::decode_to_slice(hex, &mut out).unwrap();
    out
}

/// Asks for the proof from `m` to `n` and checks it against the roots the client computed.
pub fn check_proof(c: &Client, acct: &Account, dev: &Device, roots: &[[u8; 32]], m: u64, n: u64) {
    let p: TreeProof = proof(c, acct, dev, m, n).expect(200).json();
    assert_eq!((p.from, p.to), (m, n));
    let (root_m, root_n) = (hash(&p.root_from), hash(&p.root_to));
    assert_eq!(root_m, roots[m as usize], "root of {m}");
    assert_eq!(root_n, roots[n as usize], "root of {n}");
    let path: Vec<[u8; 32]> = p.proof.iter().map(|h| hash(h)).collect();
    verify_consistency(m, n, &root_m, &root_n, &path).unwrap_or_else(|e| panic!("{m} -> {n}: {e}"));
}

/// Pushes a mix of new records, edits and deletions in batches of the given sizes.
fn push_batches(c: &Client, acct: &Account, dev: &Device, sizes: &[usize]) -> u64 {
    let mut live: Vec<([u8; 16], u64)> = Vec::new();
    let mut head = 0;
    for (b, &size) in sizes.iter().enumerate() {
        let mut items = Vec::new();
        for i in 0..size {
            let n = b * 100 + i;
            if n % 3 == 1 && !live.is_empty() {
                // An edit (or, every other time, a deletion) of the oldest live record.
                let (rid, seq) = live.remove(0);
                items.push(PushItem {
                    rid,
                    base_seq: seq,
                    tombstone: n % 2 == 0,
                    blob: format!("edit {n}").into_bytes(),
                });
            } else {
                items.push(item(random(), 0, format!("new {n}").as_bytes()));
            }
        }
        let result = c.push_ok(acct, dev, items.clone());
        assert!(result.conflicts.is_empty());
        for (it, (rid, seq)) in items.iter().zip(&result.applied) {
            if !it.tombstone {
                live.push((*rid, *seq));
            }
        }
        head = result.head.seq;
    }
    head
}

fn proofs_verify_against_a_tree_built_from_the_pulled_changes(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("alice");
    check_proof(&c, &acct, &dev, &roots(&[]), 0, 0);
    let head = push_batches(&c, &acct, &dev, &[1, 2, 5, 8, 1, 13, 3]);
    assert_eq!(head, 33);

    let (pages, _) = c.pull_all(&acct, &dev, 1000);
    let roots = roots(&pages);
    assert_eq!(roots.len(), 34);
    let sizes = [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33];
    for &n in &sizes {
        for &m in sizes.iter().filter(|&&m| m <= n) {
            check_proof(&c, &acct, &dev, &roots, m, n);
        }
    }
}

fn bad_proof_ranges_are_refused_with_a_reason(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("bob");
    c.push_ok(
        &acct,
        &dev,
        vec![item(random(), 0, b"1"), item(random(), 0, b"2")],
    );
    assert_eq!(proof(&c, &acct, &dev, 2, 1).expect(400).code(), "bad_range");
    assert_eq!(
        proof(&c, &acct, &dev, 1, 3).expect(409).code(),
        "beyond_head"
    );
    assert_eq!(
        proof(&c, &acct, &dev, 0, u64::MAX).expect(409).code(),
        "beyond_head"
    );
    for query in [
        "/proof?from=1",
        "/proof?to=2",
        "/proof?from=a&to=2",
        "/proof",
    ] {
        let reply = c.signed(&dev.signer(), "GET", &acct.path(query), b"");
        assert_eq!(reply.expect(400).code(), "bad_query", "{query}");
    }
    let stranger = Device::new();
    assert_eq!(
        proof(&c, &acct, &stranger, 0, 2).expect(401).code(),
        "unknown_device"
    );
    proof(&c, &acct, &dev, 2, 2).expect(200);
}

/// Every node of the tree over the log's changes, computed here from the pulled changes.
pub fn nodes_of(pages: &[pvault_proto::batch::PullPage]) -> Vec<(u8, u64, [u8; 32])> {
    nodes_of_leaves(
        pages
            .iter()
            .flat_map(|p| &p.changes)
            .map(|c| change_leaf(c.seq, &c.rid, c.tombstone, &c.blob_hash))
            .collect(),
    )
}

/// Every node of the tree over these leaves, by level and index.
pub fn nodes_of_leaves(leaves: Vec<[u8; 32]>) -> Vec<(u8, u64, [u8; 32])> {
    let (_, mut nodes) = new_nodes(&Frontier::new(), &leaves);
    nodes.sort_by_key(|&(level, idx, _)| (level, idx));
    nodes
}

fn the_tree_built_at_start_is_the_tree_pushes_build(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("carol");
    let (other, other_dev) = c.register("dave");
    push_batches(&c, &acct, &dev, &[3, 7, 1, 12, 4]);
    c.push_ok(&other, &other_dev, vec![item(random(), 0, b"x")]);
    let tamper = fx.tamper();
    let pushed = tamper.tree_nodes(acct.id);
    let (pages, _) = c.pull_all(&acct, &dev, 1000);
    assert_eq!(pushed, nodes_of(&pages));
    let head = tamper.head(acct.id);

    // A database from before the tree: no nodes, nothing built. Proofs wait for the build.
    tamper.forget_tree(acct.id);
    assert!(tamper.tree_nodes(acct.id).is_empty());
    assert_eq!(
        proof(&c, &acct, &dev, 0, head).expect(503).code(),
        "tree_pending"
    );
    // A build interrupted after its first chunk.
    assert_eq!(tamper.build_tree(acct.id, 10), 10);
    assert!(!tamper.tree_nodes(acct.id).is_empty());
    server.shutdown();

    // The server builds the rest when it starts, and the tree is the one pushes built.
    let server = fx.start();
    let c = Client::new(&server);
    assert_eq!(tamper.tree_nodes(acct.id), pushed);
    assert_eq!(tamper.build_tree(acct.id, 10), 0);
    check_proof(&c, &acct, &dev, &roots(&pages), 10, head);

    // A push to an account whose tree is behind (through an instance that predates the tree, in
    // a rolling upgrade) builds the rest first.
    tamper.forget_tree(acct.id);
    c.push_ok(&acct, &dev, vec![item(random(), 0, b"after")]);
    let (pages, _) = c.pull_all(&acct, &dev, 1000);
    assert_eq!(tamper.tree_nodes(acct.id), nodes_of(&pages));
    check_proof(&c, &acct, &dev, &roots(&pages), 3, head + 1);
    // The other account's tree was never touched.
    let (other_pages, _) = c.pull_all(&other, &other_dev, 1000);
    assert_eq!(tamper.tree_nodes(other.id), nodes_of(&other_pages));
}

fn put_checkpoint(c: &Client, acct: &Account, dev: &Device, note: &str) -> Reply {
    let body = serde_json::to_vec(&PutCheckpoint { note: note.into() }).unwrap();
    c.signed(&dev.signer(), "PUT", &acct.path("/checkpoint"), &body)
}

fn checkpoints(c: &Client, acct: &Account, dev: &Device) -> Vec<(String, String)> {
    let list: Checkpoints = c
        .signed(&dev.signer(), "GET", &acct.path("/checkpoints"), b"")
        .expect(200)
        .json();
    let mut list: Vec<_> = list
        .checkpoints
        .into_iter()
        .map(|cp| {
            assert!(cp.updated_at > 0);
            (cp.device_id, cp.note)
        })
        .collect();
    // Listed in the order of the devices (by when they joined): sorted here, as they may have
    // joined within one second.
    list.sort();
    list
}

fn checkpoints_are_kept_per_device_and_listed(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, laptop) = c.register("erin");
    let (phone, reply) = c.join(&acct, "phone");
    reply.expect(200);
    let (tablet, reply) = c.join(&acct, "tablet");
    reply.expect(200);
    assert!(checkpoints(&c, &acct, &laptop).is_empty());

    let stored: DeviceCheckpoint = put_checkpoint(&c, &acct, &laptop, "laptop saw 1\n")
        .expect(200)
        .json();
    assert_eq!(stored.device_id, hex::encode(laptop.id));
    assert_eq!(stored.note, "laptop saw 1\n");
    put_checkpoint(&c, &acct, &phone, "phone saw 1\n").expect(200);
    // The latest replaces the one before.
    put_checkpoint(&c, &acct, &laptop, "laptop saw 2\n").expect(200);
    let (l, p, t) = (
        hex::encode(laptop.id),
        hex::encode(phone.id),
        hex::encode(tablet.id),
    );
    let mut expected = vec![
        (l.clone(), "laptop saw 2\n".to_owned()),
        (p.clone(), "phone saw 1\n".to_owned()),
    ];
    expected.sort();
    assert_eq!(checkpoints(&c, &acct, &tablet), expected);

    // As large as a signed note may be, and no larger.
    let largest = "n".repeat(MAX_NOTE_BYTES);
    put_checkpoint(&c, &acct, &tablet, &largest).expect(200);
    let reply = put_checkpoint(&c, &acct, &tablet, &format!("{largest}n"));
    assert_eq!(reply.expect(413).code(), "note_too_large");
    let reply = c.signed(&tablet.signer(), "PUT", &acct.path("/checkpoint"), b"{}");
    assert_eq!(reply.expect(400).code(), "bad_json");

    // A revoked device's checkpoint is still listed: what it means is the clients' decision.
    let path = acct.path(&format!("/devices/{p}"));
    c.signed(&laptop.signer(), "DELETE", &path, b"").expect(200);
    expected.push((t, largest));
    expected.sort();
    assert_eq!(checkpoints(&c, &acct, &laptop), expected);
    assert!(expected.contains(&(p, "phone saw 1\n".to_owned())));
    // Another profile sees none of them.
    let (other, other_dev) = c.register("frank");
    assert!(checkpoints(&c, &other, &other_dev).is_empty());
    assert_eq!(
        put_checkpoint(&c, &acct, &other_dev, "x")
            .expect(403)
            .code(),
        "wrong_account"
    );
}

fn checkpoints_come_with_their_proofs_when_asked(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, laptop) = c.register("gina");
    let (phone, reply) = c.join(&acct, "phone");
    reply.expect(200);
    let head = push_batches(&c, &acct, &laptop, &[3, 4, 2]);
    let (pages, _) = c.pull_all(&acct, &laptop, 1000);
    let roots = roots(&pages);
    let body = |size: u64| {
        // The server reads only the size; the signature is the clients' business.
        format!(
            "pvault/v1/profile/x\n{size}\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— k AAAA\n"
        )
    };
    put_checkpoint(&c, &acct, &laptop, &body(4)).expect(200);
    put_checkpoint(&c, &acct, &phone, &body(head)).expect(200);
    let asked = |dev: &Device, to: u64| -> Checkpoints {
        c.signed(
            &dev.signer(),
            "GET",
            &acct.path(&format!("/checkpoints?to={to}")),
            b"",
        )
        .expect(200)
        .json()
    };
    // The phone gets the laptop's checkpoint with the proof from 4 to the head; not its own.
    let list = asked(&phone, head);
    let of = |list: &Checkpoints, dev: &Device| {
        list.checkpoints
            .iter()
            .find(|c| c.device_id == hex::encode(dev.id))
            .cloned()
            .expect("listed")
    };
    let proof = of(&list, &laptop).proof.expect("a proof from 4");
    assert_eq!((proof.from, proof.to), (4, head));
    let hashes: Vec<[u8; 32]> = proof.proof.iter().map(|h| hash(h)).collect();
    verify_consistency(4, head, &roots[4], &roots[head as usize], &hashes).unwrap();
    assert!(
        of(&list, &phone).proof.is_none(),
        "no proof of one's own checkpoint"
    );
    // The same size needs no proof; a size beyond `to` gets none.
    assert!(of(&asked(&laptop, head), &phone).proof.is_none());
    assert!(of(&asked(&phone, 3), &laptop).proof.is_none());
    // Without `to`, no proofs at all.
    assert!(checkpoints(&c, &acct, &phone).len() == 2);
}

fn put_certificate(c: &Client, acct: &Account, signer: &Device, of: &Device, cert: &str) -> Reply {
    let body = serde_json::to_vec(&DeviceCertificate {
        certificate: cert.into(),
    })
    .unwrap();
    let path = acct.path(&format!("/devices/{}/certificate", hex::encode(of.id)));
    c.signed(&signer.signer(), "PUT", &path, &body)
}

fn a_device_sets_its_own_certificate_only(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, laptop) = c.register("grace");
    let (phone, reply) = c.join(&acct, "phone");
    let joined: pvault_proto::api::JoinResponse = reply.expect(200).json();
    for d in &joined.account.devices {
        assert_eq!(d.certificate, None);
    }

    let info: AccountInfo = put_certificate(&c, &acct, &laptop, &laptop, "laptop cert v1")
        .expect(200)
        .json();
    let shown = |info: &AccountInfo, dev: &Device| {
        let d = info
            .devices
            .iter()
            .find(|d| d.device_id == hex::encode(dev.id))
            .unwrap();
        assert_eq!(d.device_key, public_key_string(&dev.key.verifying_key()));
        d.certificate.clone()
    };
    assert_eq!(shown(&info, &laptop).as_deref(), Some("laptop cert v1"));
    assert_eq!(shown(&info, &phone), None);

    // Not for another device, not even of the same profile.
    let reply = put_certificate(&c, &acct, &phone, &laptop, "forged");
    assert_eq!(reply.expect(403).code(), "not_this_device");
    let largest = "c".repeat(MAX_CERTIFICATE_BYTES);
    put_certificate(&c, &acct, &phone, &phone, &largest).expect(200);
    let reply = put_certificate(&c, &acct, &phone, &phone, &format!("{largest}c"));
    assert_eq!(reply.expect(413).code(), "certificate_too_large");
    put_certificate(&c, &acct, &laptop, &laptop, "laptop cert v2").expect(200);
    let bad = acct.path("/devices/xyz/certificate");
    let reply = c.signed(&laptop.signer(), "PUT", &bad, b"{\"certificate\":\"x\"}");
    assert_eq!(reply.expect(400).code(), "bad_id");

    let info: AccountInfo = c
        .signed(&phone.signer(), "GET", &acct.path(""), b"")
        .expect(200)
        .json();
    assert_eq!(shown(&info, &laptop).as_deref(), Some("laptop cert v2"));
    assert_eq!(shown(&info, &phone), Some(largest));
}
