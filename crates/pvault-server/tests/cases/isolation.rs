//! A device of one profile can neither read nor change another profile, through any endpoint.

use pvault_proto::api::{AccountInfo, Bundle, PutBundle};
use pvault_proto::batch::PushRequest;

use crate::on_both_backends;
use pvault_proto::auth::SigningKey;

use crate::support::{Client, Device, Fixture, Kind, connect_ws, item, random};

on_both_backends!(a_device_of_one_account_cannot_touch_another,);

fn a_device_of_one_account_cannot_touch_another(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (a, a_dev) = c.register("alice");
    let (b, b_dev) = c.register("bob");
    let b_rid = random();
    let b_head = c
        .push_ok(&b, &b_dev, vec![item(b_rid, 0, b"bob's secret")])
        .head;

    let put = serde_json::to_vec(&PutBundle {
        expected_version: 1,
        kdf: "mine now".into(),
        bundle: "mine now".into(),
        account_key: None,
    })
    .unwrap();
    let push = PushRequest {
        items: vec![item(b_rid, 1, b"overwritten")],
    }
    .encode();
    let b_dev_path = b.path(&format!("/devices/{}", hex::encode(b_dev.id)));
    let certificate = br#"{"certificate":"mine now"}"#.to_vec();
    let attempts: Vec<(&str, String, Vec<u8>)> = vec![
        ("GET", b.path(""), vec![]),
        ("GET", b.path("/bundle"), vec![]),
        ("PUT", b.path("/bundle"), put),
        ("DELETE", b_dev_path.clone(), vec![]),
        ("PUT", format!("{b_dev_path}/certificate"), certificate),
        ("POST", b.path("/push"), push),
        ("GET", b.path("/pull?since=0"), vec![]),
        ("GET", b.path("/proof?from=0&to=1"), vec![]),
        (
            "PUT",
            b.path("/checkpoint"),
            br#"{"note":"mine now"}"#.to_vec(),
        ),
        ("GET", b.path("/checkpoints"), vec![]),
    ];
    for (method, path, body) in &attempts {
        let reply = c.signed(&a_dev.signer(), method, path, body).expect(403);
        assert_eq!(reply.code(), "wrong_account", "{method} {path}");
    }
    assert_eq!(
        connect_ws(&server.url(), &b, &a_dev.signer()).err(),
        Some(403)
    );

    // A device id registered with both accounts (under two keys) gets into each with that
    // account's key only.
    let twin = Device {
        id: b_dev.id,
        key: SigningKey::from_bytes(&random()),
    };
    c.join_device(&a, &twin, "twin").expect(200);
    c.pull_ok(&a, &twin, 0, None);
    let reply = c
        .signed(&twin.signer(), "GET", &b.path("/pull?since=0"), b"")
        .expect(401);
    assert_eq!(reply.code(), "bad_signature");

    // B is untouched.
    let page = c.pull_ok(&b, &b_dev, 0, None);
    assert_eq!(page.end, b_head);
    assert_eq!(page.changes[0].blob.as_deref(), Some(&b"bob's secret"[..]));
    let bundle: Bundle = c
        .signed(&b_dev.signer(), "GET", &b.path("/bundle"), b"")
        .expect(200)
        .json();
    assert_eq!(
        (bundle.version, bundle.bundle.as_str()),
        (1, "sealed-bundle-v1")
    );
    let info: AccountInfo = c
        .signed(&b_dev.signer(), "GET", &b.path(""), b"")
        .expect(200)
        .json();
    assert!(
        info.devices
            .iter()
            .all(|d| !d.revoked && d.certificate.is_none())
    );
    let checkpoints: pvault_proto::api::Checkpoints = c
        .signed(&b_dev.signer(), "GET", &b.path("/checkpoints"), b"")
        .expect(200)
        .json();
    assert!(checkpoints.checkpoints.is_empty());
    // And A's own requests still work.
    c.pull_ok(&a, &a_dev, 0, None);
}
