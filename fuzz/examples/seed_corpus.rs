//! Writes a small seed corpus under `fuzz/corpus/<target>/`: real envelopes sealed with the targets'
//! fixed keys, a key file the targets can unlock, and Secret Keys. Run from `fuzz/`:
//! `cargo run --example seed_corpus`.

use std::path::Path;

use pvault_crypto::envelope::{self, Alg};
use pvault_crypto::{KeyFile, SecretKey};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn main() {
    let keys = pvault_fuzz::keys();
    for (i, aad) in pvault_fuzz::places().iter().enumerate() {
        for (j, plaintext) in [&b""[..], b"hello", &[7; 300]].into_iter().enumerate() {
            for alg in [Alg::Aes256Gcm, Alg::Cascade] {
                let sealed = envelope::seal_with_nonces(
                    &keys,
                    aad,
                    plaintext,
                    alg,
                    [i as u8; 12],
                    [j as u8; 24],
                )
                .unwrap();
                let name = format!("seed-{i}-{j}-{}", alg as u8);
                write("envelope_open", &name, &sealed);
                write("envelope_parse", &name, &sealed);
            }
        }
    }

    for (name, store) in [("stored", true), ("typed", false)] {
        let (file, keys) = KeyFile::create(
            pvault_fuzz::PROFILE,
            pvault_fuzz::PASSWORD,
            pvault_fuzz::FAST,
            store,
        )
        .unwrap();
        write("keyfile_decode", name, &file.encode());
        let (rotated, _) = file.add_epoch(&keys).unwrap();
        write(
            "keyfile_decode",
            &format!("{name}-rotated"),
            &rotated.encode(),
        );
    }

    for (i, bytes) in [[0u8; 16], [0xff; 16], [0x5a; 16]].iter().enumerate() {
        let shown = SecretKey::from_bytes(bytes).unwrap().to_display_string();
        write("secret_key_parse", &format!("seed-{i}"), shown.as_bytes());
        write(
            "secret_key_parse",
            &format!("seed-{i}-lower"),
            shown.to_lowercase().as_bytes(),
        );
    }
    // Sync messages: one of each type, small and with several items.
    use pvault_proto::batch::{Change, PullPage, PushItem, PushRequest, PushResult, RemoteRecord};
    use pvault_proto::chain::{ChainHead, blob_hash};
    let items = (0..3u8)
        .map(|n| PushItem {
            rid: [n; 16],
            base_seq: u64::from(n) * 300,
            tombstone: n == 2,
            blob: vec![n; usize::from(n) * 40],
        })
        .collect::<Vec<_>>();
    write("sync_batch", "push", &PushRequest { items }.encode());
    let head = ChainHead {
        seq: 9,
        hash: [4; 32],
    };
    let result = PushResult {
        head,
        applied: vec![([1; 16], 8), ([2; 16], 9)],
        conflicts: vec![RemoteRecord {
            rid: [3; 16],
            seq: 2,
            tombstone: false,
            blob: b"sealed".to_vec(),
        }],
    };
    write("sync_batch", "push-result", &result.encode());
    let changes = (1..=3u64)
        .map(|seq| {
            let blob = (seq != 2).then(|| vec![seq as u8; 20]);
            Change {
                seq: 10 + seq,
                rid: [seq as u8; 16],
                tombstone: false,
                blob_hash: blob_hash(blob.as_deref().unwrap_or(b"superseded")),
                blob,
            }
        })
        .collect();
    let page = PullPage {
        since: 10,
        changes,
        end: ChainHead {
            seq: 13,
            hash: [5; 32],
        },
        more: true,
    };
    write("sync_batch", "pull-page", &page.encode());
    let auth = pvault_proto::auth::RequestAuth::sign(
        &pvault_proto::auth::SigningKey::from_bytes(&[7; 32]),
        [1; 16],
        "POST",
        "/v1/profiles/x/push",
        1_700_000_000,
        [2; 16],
        b"body",
    );
    let headers = auth.headers().map(|(_, v)| v).join("\n");
    write("sync_auth", "headers", headers.as_bytes());
    write(
        "sync_auth",
        "register",
        br#"{"username":"alice","account_id":"00","account_key":"AA==","kdf":"{}","bundle":"{}","device":{"device_id":"00","device_key":"AA==","name":"phone"}}"#,
    );
    println!("wrote fuzz/corpus/*/");
}
