//! Request signatures: replays, expired and forged requests, unknown and revoked devices.

use pvault_proto::api::AccountInfo;
use pvault_proto::auth::{MAX_CLOCK_SKEW_SECS, SigningKey};
use pvault_proto::batch::PushRequest;

use crate::on_both_backends;
use crate::support::{Client, Device, Fixture, Kind, Signer, item, random, sign, unix_now};

on_both_backends!(
    the_same_signed_request_is_accepted_once,
    a_request_outside_the_clock_window_is_refused,
    a_forged_or_altered_request_is_refused,
    unsigned_and_unknown_devices_are_refused,
    a_revoked_device_is_refused_everywhere,
);

fn the_same_signed_request_is_accepted_once(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("alice");
    let body = PushRequest {
        items: vec![item(random(), 0, b"once")],
    }
    .encode();
    let path = acct.path("/push");
    let auth = sign(&dev.signer(), "POST", &path, &body, unix_now());
    c.send(&auth, "POST", &path, &body).expect(200);
    let again = c.send(&auth, "POST", &path, &body).expect(401);
    assert_eq!(again.code(), "replayed_request");
    // Applied once only.
    assert_eq!(c.pull_ok(&acct, &dev, 0, None).changes.len(), 1);

    // A GET too: its nonce is spent.
    let path = acct.path("/bundle");
    let auth = sign(&dev.signer(), "GET", &path, b"", unix_now());
    c.send(&auth, "GET", &path, b"").expect(200);
    assert_eq!(
        c.send(&auth, "GET", &path, b"").expect(401).code(),
        "replayed_request"
    );
}

fn a_request_outside_the_clock_window_is_refused(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("bob");
    let path = acct.path("");
    for time in [
        unix_now() - MAX_CLOCK_SKEW_SECS - 60,
        unix_now() + MAX_CLOCK_SKEW_SECS + 60,
        0,
    ] {
        let auth = sign(&dev.signer(), "GET", &path, b"", time);
        assert_eq!(
            c.send(&auth, "GET", &path, b"").expect(401).code(),
            "expired_request"
        );
    }
    // Within the window it is fine.
    let auth = sign(&dev.signer(), "GET", &path, b"", unix_now() - 60);
    c.send(&auth, "GET", &path, b"").expect(200);
}

fn a_forged_or_altered_request_is_refused(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("carol");
    let path = acct.path("/push");
    let body = PushRequest {
        items: vec![item(random(), 0, b"x")],
    }
    .encode();

    // Signed with another key under this device's id.
    let other = SigningKey::from_bytes(&random());
    let forged = Signer {
        key: &other,
        device: dev.id,
    };
    assert_eq!(
        c.signed(&forged, "POST", &path, &body).expect(401).code(),
        "bad_signature"
    );

    // A genuine signature, over another body, path or method.
    let auth = sign(&dev.signer(), "POST", &path, &body, unix_now());
    let mut altered = body.clone();
    *altered.last_mut().unwrap() ^= 1;
    assert_eq!(
        c.send(&auth, "POST", &path, &altered).expect(401).code(),
        "bad_signature"
    );
    let auth = sign(
        &dev.signer(),
        "GET",
        &acct.path("/pull?since=0"),
        b"",
        unix_now(),
    );
    let reply = c
        .send(&auth, "GET", &acct.path("/pull?since=1"), b"")
        .expect(401);
    assert_eq!(reply.code(), "bad_signature");

    // Nothing was applied.
    let page = c.pull_ok(&acct, &dev, 0, None);
    assert!(page.changes.is_empty());
}

fn unsigned_and_unknown_devices_are_refused(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, _) = c.register("dave");
    assert_eq!(c.get(&acct.path("")).expect(401).code(), "unauthenticated");
    let stranger = Device::new();
    let reply = c
        .signed(&stranger.signer(), "GET", &acct.path(""), b"")
        .expect(401);
    assert_eq!(reply.code(), "unknown_device");
    // Garbage headers are a 401, not a crash.
    let garbage = [
        ("x-pvault-device", "zz".to_string()),
        ("x-pvault-time", "soon".into()),
        ("x-pvault-nonce", "00".into()),
        ("x-pvault-signature", "!!".into()),
    ];
    assert_eq!(
        c.raw("GET", &acct.path(""), &garbage, b"")
            .expect(401)
            .code(),
        "unauthenticated"
    );
}

fn a_revoked_device_is_refused_everywhere(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, laptop) = c.register("erin");
    let (phone, reply) = c.join(&acct, "phone");
    reply.expect(200);
    c.push_ok(&acct, &phone, vec![item(random(), 0, b"from the phone")]);

    let path = acct.path(&format!("/devices/{}", hex::encode(phone.id)));
    let info: AccountInfo = c
        .signed(&laptop.signer(), "DELETE", &path, b"")
        .expect(200)
        .json();
    let listed = info
        .devices
        .iter()
        .find(|d| d.device_id == hex::encode(phone.id))
        .unwrap();
    assert!(listed.revoked);
    assert!(
        info.devices
            .iter()
            .any(|d| d.device_id == hex::encode(laptop.id) && !d.revoked)
    );

    for (method, rest, body) in [
        ("GET", "/pull?since=0", Vec::new()),
        ("GET", "", Vec::new()),
        ("GET", "/bundle", Vec::new()),
        (
            "POST",
            "/push",
            PushRequest {
                items: vec![item(random(), 0, b"late")],
            }
            .encode(),
        ),
    ] {
        let reply = c
            .signed(&phone.signer(), method, &acct.path(rest), &body)
            .expect(403);
        assert_eq!(reply.code(), "device_revoked", "{method} {rest}");
    }
    let ws = crate::support::connect_ws(&server.url(), &acct, &phone.signer());
    assert_eq!(ws.err(), Some(403));
    // A revoked device cannot come back by joining again with its id.
    let body = serde_json::to_vec(&phone.new_device("phone again")).unwrap();
    let join = format!("/v1/accounts/{}/devices", acct.username);
    let again = c
        .signed(&acct.signer(phone.id), "POST", &join, &body)
        .expect(409);
    assert_eq!(again.code(), "device_exists");
    // The laptop still works, and a device may revoke itself.
    c.pull_ok(&acct, &laptop, 0, None);
    let own = acct.path(&format!("/devices/{}", hex::encode(laptop.id)));
    c.signed(&laptop.signer(), "DELETE", &own, b"").expect(200);
    assert_eq!(
        c.pull(&acct, &laptop, 0, None).expect(403).code(),
        "device_revoked"
    );
}
