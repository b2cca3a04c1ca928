//! Starting and stopping a server: open the storage, build the Merkle tree of any account whose log
//! predates it, bind, serve until told to stop.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use axum::Router;
use sqlx::postgres::PgListener;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::{Backend, ServerConfig};
use crate::error::Error;
use crate::metrics::Metrics;
use crate::notify::{Announcer, pg_listen, pg_listener};
use crate::ratelimit::{PRUNE_EVERY, RateLimiter};
use crate::routes::router;
use crate::state::AppState;
use crate::storage::postgres::PgStorage;
use crate::storage::sqlite::SqliteStorage;
use crate::storage::{Storage, build_trees};

/// How long requests in flight may finish once the server is told to stop.
const GRACE: Duration = Duration::from_secs(5);

/// A server that listens and is ready to serve.
struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    router: Router,
    tasks: Vec<JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
}

async fn bind(config: ServerConfig) -> Result<Bound, Error> {
    let (shutdown, shutdown_rx) = watch::channel(false);
    let metrics = Arc::new(Metrics::default());
    let announcer = Arc::new(Announcer::default());
    let parts = Parts {
        config: &config,
        metrics,
        announcer,
        shutdown: shutdown_rx,
    };
    let (router, tasks) = match &config.backend {
        Backend::Sqlite { data_dir } => {
            let storage = SqliteStorage::open(data_dir).await?;
            build_missing_trees(&storage).await?;
            parts.build(storage, None)
        }
        Backend::Postgres { url } => {
            let storage = PgStorage::open(url).await?;
            build_missing_trees(&storage).await?;
            // Listening before the server is ready, so no announcement is missed from the start.
            let listener = pg_listener(storage.pool()).await?;
            let pg = (storage.pool().clone(), listener);
            parts.build(storage, Some(pg))
        }
    };
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| Error::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| Error::Listen {
        addr: config.listen,
        source,
    })?;
    Ok(Bound {
        listener,
        addr,
        router,
        tasks,
        shutdown,
    })
}

/// Builds the tree of the accounts whose log predates it (a database from before migration 2), in
/// chunks that each commit: a restart resumes, and instances starting together take turns on each
/// account. Says so in one line on stderr when there was anything to build.
async fn build_missing_trees<S: Storage>(storage: &S) -> Result<(), Error> {
    let (accounts, changes) = build_trees(storage).await?;
    if changes > 0 {
        eprintln!(
            "pvault-server: built the Merkle tree of {accounts} account(s) over {changes} change(s)"
        );
    }
    Ok(())
}

struct Parts<'a> {
    config: &'a ServerConfig,
    metrics: Arc<Metrics>,
    announcer: Arc<Announcer>,
    shutdown: watch::Receiver<bool>,
}

impl Parts<'_> {
    /// The router and background tasks over one storage backend.
    fn build<S: Storage>(
        self,
        storage: S,
        pg: Option<(sqlx::PgPool, PgListener)>,
    ) -> (Router, Vec<JoinHandle<()>>) {
        let state = Arc::new(AppState {
            storage: storage.clone(),
            backend: self.config.backend.name(),
            quota: self.config.quota,
            limiter: RateLimiter::new(self.config.auth_rate_per_minute),
            announcer: self.announcer.clone(),
            metrics: self.metrics.clone(),
            shutdown: self.shutdown,
        });
        let mut tasks = vec![tokio::spawn(housekeeping(state.clone()))];
        if let Some((pool, listener)) = pg {
            tasks.push(tokio::spawn(pg_listen(
                pool,
                listener,
                storage,
                self.announcer,
                self.metrics,
            )));
        }
        (router(state, self.config.max_request_bytes), tasks)
    }
}

/// Forgets expired nonces and full rate-limit buckets, once a minute.
async fn housekeeping<S: Storage>(state: Arc<AppState<S>>) {
    let mut every = tokio::time::interval(PRUNE_EVERY);
    loop {
        every.tick().await;
        // A failure here only delays the purge to the next round.
        let _ = state.storage.purge_nonces(crate::auth::now()).await;
        state.limiter.prune(Instant::now());
    }
}

impl Bound {
    /// Serves until `stop` completes, then lets requests in flight finish (for at most [`GRACE`]).
    async fn serve(self, stop: impl Future<Output = ()> + Send + 'static) -> Result<(), Error> {
        let Bound {
            listener,
            router,
            tasks,
            shutdown,
            ..
        } = self;
        let (stopped_tx, stopped_rx) = oneshot::channel::<()>();
        let signal = async move {
            stop.await;
            // Open WebSockets close on this.
            let _ = shutdown.send(true);
            let _ = stopped_tx.send(());
        };
        let serve = axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(signal);
        let result = tokio::select! {
            r = serve => r.map_err(Error::Runtime),
            _ = async {
                let _ = stopped_rx.await;
                tokio::time::sleep(GRACE).await;
            } => Ok(()),
        };
        for task in tasks {
            task.abort();
        }
        result
    }
}

fn runtime(workers: Option<usize>) -> Result<tokio::runtime::Runtime, Error> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    builder
        .thread_name("pvault-server")
        .enable_all()
        .build()
        .map_err(Error::Runtime)
}

/// A server running on its own thread, stopped by [`ServerHandle::shutdown`] or by dropping it.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDRESS:PORT`, the base of every endpoint.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops the server: no new connections, requests in flight finish, WebSockets close; returns
    /// when it has stopped.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Runs a server on its own thread with its own tokio runtime; returns once it listens.
pub fn spawn(config: ServerConfig) -> Result<ServerHandle, Error> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<SocketAddr, Error>>();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let thread = thread::Builder::new()
        .name("pvault-server".into())
        .spawn(move || {
            let rt = match runtime(Some(2)) {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                match bind(config).await {
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                    }
                    Ok(bound) => {
                        let _ = ready_tx.send(Ok(bound.addr));
                        // A dropped handle stops the server too.
                        let _ = bound
                            .serve(async move {
                                let _ = stop_rx.await;
                            })
                            .await;
                    }
                }
            });
            rt.shutdown_timeout(Duration::from_secs(1));
        })
        .map_err(Error::Runtime)?;
    match ready_rx.recv() {
        Ok(Ok(addr)) => Ok(ServerHandle {
            addr,
            stop: Some(stop_tx),
            thread: Some(thread),
        }),
        Ok(Err(e)) => {
            let _ = thread.join();
            Err(e)
        }
        Err(_) => {
            let _ = thread.join();
            Err(Error::Stopped)
        }
    }
}

/// Runs a server in this thread until SIGINT or SIGTERM; `on_listen` is called with the bound
/// address once it listens (the caller prints it: the library prints nothing).
pub fn run(config: ServerConfig, on_listen: impl FnOnce(SocketAddr)) -> Result<(), Error> {
    let rt = runtime(None)?;
    rt.block_on(async move {
        let bound = bind(config).await?;
        on_listen(bound.addr);
        bound.serve(termination()).await
    })
}

/// Completes on SIGINT or SIGTERM.
async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
