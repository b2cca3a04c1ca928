//! `pvault agent`, and starting the agent on demand.

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use pvault_core::Pvault;
use pvault_core::agent::{AgentClient, ServeOptions};

use crate::cli::AgentArgs;
use crate::context::Ctx;
use crate::output::agent::Stopped;
use crate::output::show;

/// How long a started-on-demand agent stays with nothing unlocked before it exits.
const ON_DEMAND_IDLE_EXIT: &str = "10m";

/// `agent --stop`, or the agent itself, in the foreground until stopped (it logs to stderr).
pub fn run(ctx: &Ctx, args: AgentArgs) -> Result<()> {
    if args.stop {
        return show(&ctx.g, &stop(ctx)?);
    }
    pvault_core::agent::serve(
        ServeOptions {
            home: ctx.pv()?.home().root().to_path_buf(),
            exit_when_idle: args.exit_when_idle,
        },
        Box::new(std::io::stderr()),
    )?;
    Ok(())
}

/// Stops the running agent, if there is one (it locks every profile first).
fn stop(ctx: &Ctx) -> Result<Stopped> {
    let stopped = match AgentClient::connect(ctx.pv()?.home().root()) {
        Some(mut c) => {
            c.stop()?;
            true
        }
        None => false,
    };
    Ok(Stopped(stopped))
}

/// The running agent of this home, started in the background if there is none.
pub fn ensure(pv: &Pvault) -> Result<AgentClient> {
    let home = pv.home().root();
    if let Some(c) = AgentClient::connect(home) {
        return Ok(c);
    }
    let socket = pvault_core::agent::socket_path(home)?;
    let log_path = socket.with_extension("log");
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&log_path)
        .with_context(|| format!("cannot open the agent log {}", log_path.display()))?;
    let exe = std::env::current_exe().context("cannot find the pvault executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("agent")
        .arg("--home")
        .arg(home)
        .arg("--exit-when-idle")
        .arg(ON_DEMAND_IDLE_EXIT)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .process_group(0);
    for secret in [
        "PVAULT_PASSWORD",
        "PVAULT_REAUTH_PASSWORD",
        "PVAULT_NEW_PASSWORD",
        "PVAULT_SECRET_KEY",
    ] {
        cmd.env_remove(secret);
    }
    let mut child = cmd.spawn().context("cannot start the agent")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(c) = AgentClient::connect(home) {
            // The agent runs on; reap it in the background if it exits while we wait on nothing.
            std::thread::spawn(move || child.wait());
            return Ok(c);
        }
        if let Ok(Some(status)) = child.try_wait() {
            bail!(
                "the agent exited at start ({status}); see {}",
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!(
        "the agent did not start within 10 s; see {}",
        log_path.display()
    )
}
