//! A database of its own on the local PostgreSQL for the PostgreSQL server's figures, dropped at the
//! end.

use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::Connection;

/// The admin URL: `$PVAULT_BENCH_POSTGRES`, else the local server with trust authentication.
pub fn admin_url() -> String {
    std::env::var("PVAULT_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
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

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Runs each statement on its own (`CREATE DATABASE` refuses to run in a transaction, even an
/// implicit one); returns the server's version.
async fn admin(url: &str, statements: Vec<String>) -> Result<String> {
    let mut conn = tokio::time::timeout(Duration::from_secs(10), sqlx::PgConnection::connect(url))
        .await
        .context("timed out connecting")??;
    for sql in statements {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&mut conn)
            .await?;
    }
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(&mut conn)
        .await?;
    conn.close().await?;
    Ok(version)
}

pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
    /// The server's version.
    pub version: String,
}

impl PgDatabase {
    /// Creates `pvault_bench_<pid>` (dropping a leftover of that name first).
    pub fn create(admin_url: &str) -> Result<PgDatabase> {
        let name = format!("pvault_bench_{}", std::process::id());
        let version = runtime()?.block_on(admin(
            admin_url,
            vec![
                format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                format!("CREATE DATABASE {name}"),
            ],
        ))?;
        Ok(PgDatabase {
            url: with_database(admin_url, &name),
            admin_url: admin_url.to_string(),
            name,
            version,
        })
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = runtime().and_then(|rt| rt.block_on(admin(&self.admin_url, vec![sql])));
        if let Err(e) = dropped {
            eprintln!("sync: could not drop database {}: {e:#}", self.name);
        }
    }
}
