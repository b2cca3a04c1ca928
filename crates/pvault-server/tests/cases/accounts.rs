//! Accounts, devices and the key bundle.

use pvault_proto::api::{AccountInfo, Bundle, JoinResponse, Prelogin, PutBundle, RegisterAccount};
use pvault_proto::auth::{SigningKey, public_key_string};

use crate::on_both_backends;
use crate::support::{Account, Client, Device, Fixture, Kind, random};

on_both_backends!(
    prelogin_and_join_give_a_new_device_the_bundle,
    a_taken_username_or_account_is_refused,
    the_bundle_changes_only_from_the_expected_version,
    bad_registrations_are_refused_with_a_reason,
);

fn prelogin_and_join_give_a_new_device_the_bundle(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, laptop) = c.register("alice");

    let pre: Prelogin = c.get("/v1/accounts/alice/prelogin").expect(200).json();
    assert_eq!(pre.account_id, hex::encode(acct.id));
    assert_eq!(pre.kdf, "argon2id$m=65536,t=3,p=4$c2FsdA");
    assert_eq!(
        c.get("/v1/accounts/nobody/prelogin").expect(404).code(),
        "unknown_account"
    );

    let (phone, reply) = c.join(&acct, "phone");
    let joined: JoinResponse = reply.expect(200).json();
    assert_eq!(joined.bundle.bundle, "sealed-bundle-v1");
    assert_eq!(joined.account.account_id, hex::encode(acct.id));
    let names: Vec<_> = joined
        .account
        .devices
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"laptop") && names.contains(&"phone"));
    // Joining again with the same key is harmless; with another key it is refused.
    c.join_device(&acct, &phone, "phone").expect(200);
    let impostor = Device {
        id: phone.id,
        key: SigningKey::from_bytes(&random()),
    };
    assert_eq!(
        c.join_device(&acct, &impostor, "x").expect(409).code(),
        "device_exists"
    );

    // A join must be signed with the account key, not a device key.
    let stranger = Device::new();
    let body = serde_json::to_vec(&stranger.new_device("evil")).unwrap();
    let reply = c.signed(
        &laptop.signer(),
        "POST",
        "/v1/accounts/alice/devices",
        &body,
    );
    assert_eq!(reply.expect(401).code(), "bad_signature");
    let reply = c.signed(
        &stranger.signer(),
        "POST",
        "/v1/accounts/alice/devices",
        &body,
    );
    assert_eq!(reply.expect(401).code(), "bad_signature");

    let info: AccountInfo = c
        .signed(&phone.signer(), "GET", &acct.path(""), b"")
        .expect(200)
        .json();
    assert_eq!(info.devices.len(), 2);
    assert_eq!(info.username, "alice");
    assert_eq!(info.quota, pvault_server::DEFAULT_QUOTA);
    assert!(
        info.devices
            .iter()
            .all(|d| d.last_seen >= d.created_at && d.created_at > 0)
    );
}

fn a_taken_username_or_account_is_refused(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (first, _) = c.register("alice");
    let register = |account: &Account, username: &str| {
        let device = Device::new();
        let body = serde_json::to_vec(&RegisterAccount {
            username: username.into(),
            account_id: hex::encode(account.id),
            account_key: public_key_string(&account.key.verifying_key()),
            kdf: "k".into(),
            bundle: "b".into(),
            device: device.new_device("d"),
        })
        .unwrap();
        c.signed(&account.signer(device.id), "POST", "/v1/accounts", &body)
    };
    let other = Account {
        id: random(),
        username: "alice".into(),
        key: SigningKey::from_bytes(&random()),
    };
    assert_eq!(
        register(&other, "alice").expect(409).code(),
        "username_taken"
    );
    assert_eq!(
        register(&first, "alice2").expect(409).code(),
        "account_exists"
    );
    // The first account is unchanged: its kdf is still the original one.
    let pre: Prelogin = c.get("/v1/accounts/alice/prelogin").expect(200).json();
    assert_eq!(pre.account_id, hex::encode(first.id));
    assert_eq!(
        c.get("/v1/accounts/alice2/prelogin").expect(404).code(),
        "unknown_account"
    );
}

fn the_bundle_changes_only_from_the_expected_version(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (mut acct, dev) = c.register("carol");
    let put = |expected_version, account_key: Option<String>| {
        serde_json::to_vec(&PutBundle {
            expected_version,
            kdf: format!("kdf after {expected_version}"),
            bundle: format!("bundle after {expected_version}"),
            account_key,
        })
        .unwrap()
    };
    let new_key = SigningKey::from_bytes(&random());
    let body = put(1, Some(public_key_string(&new_key.verifying_key())));
    let b: Bundle = c
        .signed(&dev.signer(), "PUT", &acct.path("/bundle"), &body)
        .expect(200)
        .json();
    assert_eq!((b.version, b.kdf.as_str()), (2, "kdf after 1"));
    let stale = c
        .signed(&dev.signer(), "PUT", &acct.path("/bundle"), &put(1, None))
        .expect(409);
    assert_eq!(stale.code(), "bundle_conflict");
    let b: Bundle = c
        .signed(&dev.signer(), "GET", &acct.path("/bundle"), b"")
        .expect(200)
        .json();
    assert_eq!((b.version, b.bundle.as_str()), (2, "bundle after 1"));

    // The account key changed with it: joins need the new key now.
    let (_, old) = c.join(&acct, "old key");
    assert_eq!(old.expect(401).code(), "bad_signature");
    acct.key = new_key;
    let (_, new) = c.join(&acct, "new key");
    let joined: JoinResponse = new.expect(200).json();
    assert_eq!(joined.bundle.version, 2);
    let pre: Prelogin = c.get("/v1/accounts/carol/prelogin").expect(200).json();
    assert_eq!(pre.kdf, "kdf after 1");
}

fn bad_registrations_are_refused_with_a_reason(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let key = SigningKey::from_bytes(&random());
    let device = Device::new();
    let good = RegisterAccount {
        username: "dave".into(),
        account_id: hex::encode(random::<16>()),
        account_key: public_key_string(&key.verifying_key()),
        kdf: "k".into(),
        bundle: "b".into(),
        device: device.new_device("d"),
    };
    let signer = crate::support::Signer {
        key: &key,
        device: device.id,
    };
    let cases: Vec<(RegisterAccount, u16, &str)> = vec![
        (
            RegisterAccount {
                username: "Dave!".into(),
                ..good.clone()
            },
            400,
            "bad_username",
        ),
        (
            RegisterAccount {
                account_id: "xyz".into(),
                ..good.clone()
            },
            400,
            "bad_id",
        ),
        (
            RegisterAccount {
                account_key: "AAAA".into(),
                ..good.clone()
            },
            400,
            "bad_key",
        ),
        (
            RegisterAccount {
                bundle: "b".repeat(300 << 10),
                ..good.clone()
            },
            413,
            "bundle_too_large",
        ),
    ];
    for (reg, status, code) in cases {
        let body = serde_json::to_vec(&reg).unwrap();
        let reply = c.signed(&signer, "POST", "/v1/accounts", &body);
        assert_eq!(reply.expect(status).code(), code);
    }
    // Signed by a key other than the one registered.
    let body = serde_json::to_vec(&good).unwrap();
    let other = SigningKey::from_bytes(&random());
    let forged = crate::support::Signer {
        key: &other,
        device: device.id,
    };
    assert_eq!(
        c.signed(&forged, "POST", "/v1/accounts", &body)
            .expect(401)
            .code(),
        "bad_signature"
    );
    // Naming another device in the header than the one registered.
    let wrong = crate::support::Signer {
        key: &key,
        device: random(),
    };
    assert_eq!(
        c.signed(&wrong, "POST", "/v1/accounts", &body)
            .expect(401)
            .code(),
        "bad_signature"
    );
    for junk in [&b"{"[..], b"[]", b"\xff\xfe", br#"{"username":"dave"}"#] {
        assert_eq!(
            c.signed(&signer, "POST", "/v1/accounts", junk)
                .expect(400)
                .code(),
            "bad_json"
        );
    }
    // None of that created anything.
    assert_eq!(
        c.get("/v1/accounts/dave/prelogin").expect(404).code(),
        "unknown_account"
    );
    c.signed(&signer, "POST", "/v1/accounts", &body).expect(200);
}
