//! `/health` and `/metrics`.

use crate::on_both_backends;
use crate::support::{Client, Fixture, Kind, item, random};

on_both_backends!(health_names_the_backend_and_metrics_count_what_happened,);

fn health_names_the_backend_and_metrics_count_what_happened(kind: Kind) {
    let Some(fx) = Fixture::new(kind) else { return };
    let server = fx.start();
    let c = Client::new(&server);
    let health: serde_json::Value = c.get("/health").expect(200).json();
    let backend = match kind {
        Kind::Sqlite => "sqlite",
        Kind::Postgres => "postgres",
    };
    assert_eq!(
        health,
        serde_json::json!({"status": "ok", "backend": backend})
    );

    let (acct, dev) = c.register("alice");
    let x = random();
    c.push_ok(&acct, &dev, vec![item(x, 0, b"1"), item(random(), 0, b"2")]);
    c.push_ok(&acct, &dev, vec![item(x, 0, b"stale")]);
    c.pull_ok(&acct, &dev, 0, None);
    c.signed(
        &crate::support::Device::new().signer(),
        "GET",
        &acct.path(""),
        b"",
    )
    .expect(401);

    let reply = c.get("/metrics").expect(200);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = reply.text();
    for line in [
        "pvault_pushes_total 2",
        "pvault_records_applied_total 2",
        "pvault_conflicts_total 1",
        "pvault_pulls_total 1",
        "pvault_ws_connections 0",
        "pvault_auth_failures_total{reason=\"unknown_device\"} 1",
        "pvault_http_requests_total{route=\"/v1/profiles/{account}/push\",status=\"2xx\"} 2",
        "pvault_http_requests_total{route=\"/v1/accounts\",status=\"2xx\"} 1",
        "pvault_http_requests_total{route=\"/health\",status=\"2xx\"} 1",
        "pvault_http_requests_total{route=\"/v1/profiles/{account}\",status=\"4xx\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    // Every sample belongs to a declared family.
    for sample in text.lines().filter(|l| !l.starts_with('#')) {
        let name = sample.split(['{', ' ']).next().unwrap();
        assert!(text.contains(&format!("# TYPE {name} ")), "{sample}");
    }
}
