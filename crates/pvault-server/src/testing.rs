//! Test and benchmark support: a PostgreSQL database of one's own on the local server. Not part of
//! the server's API.

use std::time::Duration;

/// A fresh database on a PostgreSQL server, dropped (with its connections) on drop.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    /// URL of the new database.
    pub url: String,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
    let (authority, tail) = rest.split_once('/').unwrap_or((rest, ""));
    let query = tail
        .split_once('?')
        .map_or(String::new(), |(_, q)| format!("?{q}"));
    format!("{scheme}://{authority}/{name}{query}")
}

impl PgDatabase {
    /// Creates a database named `{prefix}_{random}` through `PVAULT_TEST_POSTGRES` (default
    /// `postgres://postgres@127.0.0.1:5432/postgres`). When PostgreSQL cannot be reached: panics if
    /// `PVAULT_REQUIRE_POSTGRES=1` (CI), else prints `SKIPPED: ...` on stderr and returns `None`.
    pub fn create(prefix: &str) -> Option<PgDatabase> {
        use sqlx::Connection;
        let admin_url = std::env::var("PVAULT_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{prefix}_{:x}_{nanos:x}_{n}", std::process::id());
        let created = runtime().block_on(async {
            let mut conn = tokio::time::timeout(
                Duration::from_secs(10),
                sqlx::PgConnection::connect(&admin_url),
            )
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| e.to_string())?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(&mut conn)
                .await
                .map_err(|e| e.to_string())?;
            conn.close().await.map_err(|e| e.to_string())
        });
        match created {
            Ok(()) => Some(PgDatabase {
                url: with_database(&admin_url, &name),
                admin_url,
                name,
            }),
            Err(e) if std::env::var("PVAULT_REQUIRE_POSTGRES").as_deref() == Ok("1") => {
                panic!("PostgreSQL not reachable at {admin_url} (PVAULT_REQUIRE_POSTGRES=1): {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED: PostgreSQL not reachable at {admin_url}: {e}");
                None
            }
        }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// URL of the database the new one was created through.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Every row of every table, as text (bytea in hex), for scans of what the server stored.
    pub fn dump(&self) -> String {
        use sqlx::{Connection, Row};
        runtime().block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.url).await.expect("connect");
            let tables: Vec<String> = sqlx::query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .expect("list tables")
            .iter()
            .map(|r| r.get::<String, _>(0))
            .collect();
            let mut out = String::new();
            for t in tables {
                let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT row_to_json(x)::text FROM \"{t}\" x"
                )))
                .fetch_all(&mut conn)
                .await
                .expect("read table");
                for r in rows {
                    out.push_str(&r.get::<String, _>(0));
                    out.push('\n');
                }
            }
            out
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use sqlx::Connection;
        let _ = runtime().block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.admin_url).await?;
            let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
            sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                .execute(&mut conn)
                .await?;
            conn.close().await
        });
    }
}
