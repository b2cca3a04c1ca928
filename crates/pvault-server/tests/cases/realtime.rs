//! WebSocket announcements, and with PostgreSQL, several instances on one database.

use std::time::Duration;

use crate::on_both_backends;
use crate::support::{
    Client, Fixture, Kind, connect_ws, item, next_announce, random, wait_announce,
};

on_both_backends!(
    a_push_is_announced_to_the_accounts_sockets_only,
    stopping_the_server_closes_its_sockets,
);

fn a_push_is_announced_to_the_accounts_sockets_only(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, laptop) = c.register("alice");
    let (phone, reply) = c.join(&acct, "phone");
    reply.expect(200);
    let (other, other_dev) = c.register("bob");
    c.push_ok(&acct, &laptop, vec![item(random(), 0, b"before")]);

    // Right after connecting: the current head.
    let mut ws = connect_ws(&server.url(), &acct, &phone.signer()).unwrap();
    assert_eq!(next_announce(&mut ws), 1);
    let mut bob_ws = connect_ws(&server.url(), &other, &other_dev.signer()).unwrap();
    assert_eq!(next_announce(&mut bob_ws), 0);

    let head = c
        .push_ok(
            &acct,
            &laptop,
            vec![item(random(), 0, b"a"), item(random(), 0, b"b")],
        )
        .head;
    assert_eq!(next_announce(&mut ws), head.seq);
    let head = c
        .push_ok(&acct, &laptop, vec![item(random(), 0, b"c")])
        .head;
    wait_announce(&mut ws, head.seq);
    // A push that applies nothing announces nothing; Bob heard nothing of Alice's pushes.
    bob_ws
        .get_mut()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(bob_ws.read().is_err());

    let metrics = c.get("/metrics").expect(200).text();
    assert!(metrics.contains("pvault_ws_connections 2\n"), "{metrics}");
    ws.close(None).unwrap();
    drop(ws);
    drop(bob_ws);
    // The gauge goes down once the server sees the sockets close.
    let mut closed = false;
    for _ in 0..50 {
        if c.get("/metrics")
            .expect(200)
            .text()
            .contains("pvault_ws_connections 0\n")
        {
            closed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(closed);
}

fn stopping_the_server_closes_its_sockets(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let (acct, dev) = c.register("alice");
    let mut ws = connect_ws(&server.url(), &acct, &dev.signer()).unwrap();
    assert_eq!(next_announce(&mut ws), 0);
    let started = std::time::Instant::now();
    server.shutdown();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    // The socket is closed (a close frame, or the connection ends), not left hanging.
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Close(_)) => {}
            Ok(other) => panic!("unexpected {other:?}"),
            Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => break,
            Err(tungstenite::Error::Io(e)) => {
                use std::io::ErrorKind::{TimedOut, WouldBlock};
                assert!(
                    !matches!(e.kind(), WouldBlock | TimedOut),
                    "socket left open"
                );
                break;
            }
            Err(_) => break,
        }
    }
}

/// PostgreSQL only: a socket on one instance hears a push made through another, and a request
/// accepted by one instance is a replay on the other.
#[test]
fn postgres_instances_share_announcements_and_nonces() {
    let Some(fx) = Fixture::new(Kind::Postgres) else {
        return;
    };
    let one = fx.start();
    let two = fx.start();
    let (c1, c2) = (Client::new(&one), Client::new(&two));
    let (acct, dev) = c1.register("alice");

    let mut ws = connect_ws(&two.url(), &acct, &dev.signer()).unwrap();
    assert_eq!(next_announce(&mut ws), 0);
    let head = c1
        .push_ok(&acct, &dev, vec![item(random(), 0, b"via one")])
        .head;
    assert_eq!(next_announce(&mut ws), head.seq);
    let head = c1
        .push_ok(&acct, &dev, vec![item(random(), 0, b"again")])
        .head;
    wait_announce(&mut ws, head.seq);
    // The instance that sent the announcement heard it too.
    let metrics = c2.get("/metrics").expect(200).text();
    assert!(
        metrics.contains("pvault_notifications_total 2\n"),
        "{metrics}"
    );

    let body = pvault_proto::batch::PushRequest {
        items: vec![item(random(), 0, b"once")],
    }
    .encode();
    let path = acct.path("/push");
    let auth = crate::support::sign(
        &dev.signer(),
        "POST",
        &path,
        &body,
        crate::support::unix_now(),
    );
    c1.send(&auth, "POST", &path, &body).expect(200);
    assert_eq!(
        c2.send(&auth, "POST", &path, &body).expect(401).code(),
        "replayed_request"
    );
    // Both instances serve the same log.
    assert_eq!(
        c2.pull_all(&acct, &dev, 100).1,
        c1.pull_all(&acct, &dev, 100).1
    );
}

/// PostgreSQL only: an instance whose notification connection drops listens again and catches up.
#[test]
fn postgres_listeners_reconnect_and_catch_up() {
    let Some(fx) = Fixture::new(Kind::Postgres) else {
        return;
    };
    let one = fx.start();
    let two = fx.start();
    let c1 = Client::new(&one);
    let (acct, dev) = c1.register("alice");
    let mut ws = connect_ws(&two.url(), &acct, &dev.signer()).unwrap();
    assert_eq!(next_announce(&mut ws), 0);

    assert_eq!(fx.kill_pg_listeners(), 2);
    // Pushed while instance two may not be listening: it hears of it once it listens again.
    let head = c1
        .push_ok(&acct, &dev, vec![item(random(), 0, b"during the cut")])
        .head;
    wait_announce(&mut ws, head.seq);
    // And it keeps hearing (that announcement came after it listened again).
    let head = c1
        .push_ok(&acct, &dev, vec![item(random(), 0, b"after")])
        .head;
    wait_announce(&mut ws, head.seq);
}

/// PostgreSQL only: `/health` is 503 once the database is gone.
#[test]
fn postgres_health_fails_when_the_database_is_gone() {
    let Some(mut fx) = Fixture::new(Kind::Postgres) else {
        return;
    };
    let server = fx.start();
    let c = Client::new(&server);
    c.get("/health").expect(200);
    fx.drop_database();
    let reply = c.get("/health").expect(503);
    assert_eq!(reply.code(), "unavailable");
}
