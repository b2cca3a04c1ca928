//! The agent's server loop.

use std::io::Write;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::proto::{
    AgentError, Answer, Frame, PROTOCOL_VERSION, Request, Response, decode_frame, read_frame_bytes,
    write_frame,
};
use crate::Pvault;
use crate::error::{Error, IoContext, Result};
use crate::session::Sessions;

/// How the agent runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The home whose profiles it serves.
    pub home: PathBuf,
    /// Exit once no profile has been unlocked for this long (an idle agent does not linger).
    pub exit_when_idle: Option<Duration>,
}

type Log = Arc<Mutex<Box<dyn Write + Send>>>;

fn log(log: &Log, line: &str) {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if let Ok(mut w) = log.lock() {
        let _ = writeln!(w, "{now} pvault-agent[{}]: {line}", std::process::id());
        let _ = w.flush();
    }
}

/// Makes the process as hard as we can to read from outside: no core dumps, no ptrace by other
/// processes of the user (non-dumpable), memory locked when the limits allow it. Returns what was done.
fn harden() -> Vec<String> {
    let mut notes = Vec::new();
    match rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable) {
        Ok(()) => notes.push("non-dumpable".to_string()),
        Err(e) => notes.push(format!("could not make the process non-dumpable: {e}")),
    }
    // Raise the soft memlock limit to the hard one, then lock current and future pages. The agent
    // never runs Argon2 (clients do), so its memory stays small.
    let lim = rustix::process::getrlimit(rustix::process::Resource::Memlock);
    let _ = rustix::process::setrlimit(
        rustix::process::Resource::Memlock,
        rustix::process::Rlimit {
            current: lim.maximum,
            maximum: lim.maximum,
        },
    );
    use rustix::mm::MlockAllFlags as F;
    match rustix::mm::mlockall(F::CURRENT | F::FUTURE | F::ONFAULT) {
        Ok(()) => notes.push("memory locked".to_string()),
        Err(e) => notes.push(format!(
            "memory NOT locked ({e}); raise RLIMIT_MEMLOCK to lock it"
        )),
    }
    notes
}

/// Monotonic time that does not advance while the system is suspended, against time that does: their
/// difference grows by the length of a suspend.
fn suspended_secs_so_far() -> i64 {
    let boot = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
    let mono = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    boot.tv_sec - mono.tv_sec
}

/// Binds the socket, replacing a stale one left by a dead agent; refuses if a live agent answers.
fn bind(path: &Path) -> Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(Error::Home {
                path: path.to_path_buf(),
                message: "an agent is already running for this home".into(),
            });
        }
        std::fs::remove_file(path).at(path)?;
    }
    let listener = UnixListener::bind(path).at(path)?;
    rustix::fs::chmod(path, rustix::fs::Mode::from_raw_mode(0o600)).map_err(|e| Error::Home {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(listener)
}

/// Runs the agent until it is stopped (a `stop` request, a signal, or idleness).
pub fn serve(options: ServeOptions, log_to: Box<dyn Write + Send>) -> Result<()> {
    let log_w: Log = Arc::new(Mutex::new(log_to));
    let notes = harden();
    let pv = Pvault::open(&options.home)?;
    let path = super::socket_path(&options.home)?;
    let listener = bind(&path)?;
    log(
        &log_w,
        &format!(
            "listening on {} for home {} ({})",
            path.display(),
            options.home.display(),
            notes.join(", ")
        ),
    );

    let sessions = Arc::new(Mutex::new(Sessions::new(pv)));
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register(sig, stop.clone()).map_err(|e| Error::Home {
            path: path.clone(),
            message: format!("cannot install signal handler: {e}"),
        })?;
    }

    spawn_ticker(
        sessions.clone(),
        stop.clone(),
        log_w.clone(),
        path.clone(),
        options.exit_when_idle,
    );

    let my_uid = rustix::process::getuid();
    for conn in listener.incoming() {
        let Ok(stream) = conn else { continue };
        if !peer_is(&stream, my_uid, &log_w) {
            continue;
        }
        let (sessions, log_w, stop) = (sessions.clone(), log_w.clone(), stop.clone());
        std::thread::spawn(move || handle(stream, &sessions, &log_w, &stop));
    }
    Ok(())
}

/// The ticker thread: auto-lock, suspend detection, signals and idle exit, five times a second.
fn spawn_ticker(
    sessions: Arc<Mutex<Sessions>>,
    stop: Arc<AtomicBool>,
    log_w: Log,
    path: PathBuf,
    exit_when_idle: Option<Duration>,
) {
    std::thread::spawn(move || {
        let mut suspended = suspended_secs_so_far();
        let mut last_active = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let mut s = sessions.lock().unwrap_or_else(|e| e.into_inner());
            let now_suspended = suspended_secs_so_far();
            if now_suspended > suspended + 2 {
                let locked = s.lock_all();
                if !locked.is_empty() {
                    log(
                        &log_w,
                        &format!("system was suspended: locked {}", locked.join(", ")),
                    );
                }
            }
            suspended = now_suspended;
            for name in s.expire_idle(Instant::now()) {
                log(&log_w, &format!("auto-locked '{name}' after idle time"));
            }
            for (name, outcome) in s.run_backups(Instant::now()) {
                match outcome {
                    Ok(said) => log(&log_w, &format!("backup of '{name}': {said}")),
                    Err(e) => log(&log_w, &format!("backup of '{name}' failed: {e}")),
                }
            }
            for (name, a) in s.check_monitors(Instant::now()) {
                log(
                    &log_w,
                    &format!("anomaly on '{name}': {} (device {})", a.what, a.device),
                );
            }
            if !s.status().is_empty() {
                last_active = Instant::now();
            }
            let idle_exit = exit_when_idle.is_some_and(|d| last_active.elapsed() >= d);
            if stop.load(Ordering::Relaxed) || idle_exit {
                let locked = s.lock_all();
                let _ = std::fs::remove_file(&path);
                log(&log_w, &format!("stopping; locked {:?}", locked));
                std::process::exit(0);
            }
        }
    });
}

/// Whether a connection comes from this user (checked with the socket's peer credentials); a
/// refused one is logged.
fn peer_is(stream: &UnixStream, uid: rustix::process::Uid, log_w: &Log) -> bool {
    match rustix::net::sockopt::socket_peercred(stream) {
        Ok(cred) if cred.uid == uid => true,
        Ok(cred) => {
            log(
                log_w,
                &format!(
                    "refused a connection from uid {} (pid {})",
                    cred.uid.as_raw(),
                    cred.pid.as_raw_nonzero()
                ),
            );
            false
        }
        Err(e) => {
            log(
                log_w,
                &format!("refused a connection whose peer could not be checked: {e}"),
            );
            false
        }
    }
}

fn handle(mut stream: UnixStream, sessions: &Mutex<Sessions>, log_w: &Log, stop: &AtomicBool) {
    loop {
        let body = match read_frame_bytes(&mut stream) {
            Ok(Some(b)) => b,
            Ok(None) => return,
            Err(e) => {
                let refused = failure("failed", format!("bad request: {e}"));
                let _ = write_frame(&mut stream, &Frame::new(refused));
                return;
            }
        };
        let req: Request = match decode_frame(&body) {
            Ok(r) => r,
            Err(e) => {
                let _ = write_frame(&mut stream, &Frame::new(Response::Err(e)));
                return;
            }
        };
        drop(body);
        let is_stop = matches!(req, Request::Stop);
        let response = {
            let mut s = sessions.lock().unwrap_or_else(|e| e.into_inner());
            to_response(dispatch(&mut s, req, log_w))
        };
        if write_frame(&mut stream, &Frame::new(response)).is_err() {
            return;
        }
        if is_stop {
            stop.store(true, Ordering::Relaxed);
            return;
        }
    }
}

fn failure(kind: &str, message: String) -> Response {
    Response::Err(AgentError::new(kind, message))
}

fn to_response(r: Result<Answer>) -> Response {
    match r {
        Ok(answer) => Response::Ok(answer),
        Err(e) => Response::Err(AgentError::from_engine(&e)),
    }
}

fn dispatch(s: &mut Sessions, req: Request, log_w: &Log) -> Result<Answer> {
    Ok(match req {
        Request::Hello => Answer::Hello {
            protocol: PROTOCOL_VERSION,
            pid: std::process::id(),
        },
        Request::Unlock { profile, keys } => {
            let bytes = Zeroizing::new(
                hex::decode(keys.0.as_str())
                    .map_err(|_| Error::ReauthFailed("transferred keys are not hex".into()))?,
            );
            s.unlock_with_keys(&profile, &bytes)?;
            log(log_w, &format!("unlocked '{profile}'"));
            Answer::Unlocked { profile }
        }
        Request::Lock { profile } => {
            let profiles = match profile {
                Some(p) if s.lock(&p) => vec![p],
                Some(_) => vec![],
                None => s.lock_all(),
            };
            if !profiles.is_empty() {
                log(log_w, &format!("locked {}", profiles.join(", ")));
            }
            Answer::Locked { profiles }
        }
        Request::Status => Answer::Status {
            sessions: s.status(),
        },
        Request::Challenge { profile } => Answer::Challenge {
            challenge: hex::encode(s.challenge(&profile)?),
        },
        Request::Reauth { profile, proof } => {
            let proof = hex::decode(&proof).unwrap_or_default();
            if let Err(e) = s.reauthenticate(&profile, &proof) {
                log(log_w, &format!("failed re-authentication for '{profile}'"));
                return Err(e);
            }
            Answer::Reauthenticated { profile }
        }
        Request::Run { profile, op } => Answer::Done {
            reply: Box::new(s.run(&profile, op)?),
        },
        Request::Watch { profile, on } => {
            let watching = s.watch(&profile, on)?;
            log(
                log_w,
                &format!(
                    "{} syncing '{profile}' in the background",
                    if on { "started" } else { "stopped" }
                ),
            );
            Answer::Watching { on: watching && on }
        }
        Request::Stop => Answer::Stopping,
    })
}
