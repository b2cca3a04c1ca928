//! `pvault server`.

use anyhow::Result;
use serde_json::json;

use crate::cli::ServerArgs;
use crate::context::Ctx;
use crate::output;

/// Runs a sync server in the foreground until stopped. Says where it listens as soon as it does
/// (from the server's callback, while it runs: there is no result to return before that).
pub fn serve(ctx: &Ctx, args: ServerArgs) -> Result<()> {
    let mut config = match &args.database_url {
        Some(url) => pvault_server::ServerConfig::postgres(url.clone()),
        None => {
            let dir = match args.data {
                Some(d) => d,
                None => ctx.pv()?.home().root().join("server"),
            };
            pvault_server::ServerConfig::sqlite(dir)
        }
    };
    config.listen = args.listen;
    let json = ctx.g.json;
    pvault_server::run(config, move |addr| {
        if json {
            output::json(&json!({ "listening": format!("http://{addr}") }));
        } else {
            eprintln!("pvault server listening on http://{addr} (Ctrl-C to stop)");
        }
    })?;
    Ok(())
}
