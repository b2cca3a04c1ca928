//! The server end to end: real servers on 127.0.0.1 (started with `pvault_server::spawn`), real HTTP
//! and WebSocket clients, every request signed as a device would. Each case runs on SQLite and on
//! PostgreSQL (skipped with a `SKIPPED:` line when PostgreSQL is not reachable, unless
//! `PVAULT_REQUIRE_POSTGRES=1`).

mod cases;
mod support;
