//! The whole server: store, engine, served workflows, HTTP, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use shutter_core::Catalog;
use shutter_core::clock::{Clock, TokioClock};
use shutter_core::store_hook::Hooked;
use shutter_core::{ActionRegistry, Announcement, Store};
use shutter_runtime::{Engine, EngineConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::Access;
use crate::feed::{ChangeFeed, Watch};
use crate::host::AllowedHosts;
use crate::listen::ConnectionLimits;
use crate::metrics::Metrics;
use crate::runner::Runner;
use crate::state::{AppState, Shared};
use crate::workflows::{WorkflowCheck, Workflows};

#[derive(Clone)]
pub struct ServerConfig {
    /// Longest `?wait=` a request may hold (longer asks are cut to it).
    pub max_wait: Duration,
    /// On shutdown, how long running executions get to finish before they
    /// are stopped where they are (to be resumed by the next start).
    pub shutdown_grace: Duration,
    /// The tokens, and who may register workflows.
    pub access: Access,
    /// DNS names besides loopback ones and addresses that clients use in
    /// `Host`; other names are refused (DNS rebinding).
    pub allowed_hosts: AllowedHosts,
    /// How long a client has to send a request head; also how long an
    /// idle keep-alive connection stays open.
    pub header_timeout: Duration,
    /// Most connections open at once; more are answered 503 and closed.
    pub max_connections: usize,
    /// What a workflow must pass to be served besides compiling (module
    /// files inside the modules directory, say).
    pub check: Option<WorkflowCheck>,
    /// Most versions of a workflow kept in memory; older ones are dropped.
    pub max_workflow_versions: usize,
    /// Most executions this server runs at once; more wait in the store,
    /// queued for any node with room.
    pub max_executions: usize,
    /// One log line (`tracing`, target `shutter::access`) per request.
    pub access_log: bool,
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("max_wait", &self.max_wait)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("access", &self.access)
            .field("allowed_hosts", &self.allowed_hosts)
            .field("header_timeout", &self.header_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_workflow_versions", &self.max_workflow_versions)
            .field("max_executions", &self.max_executions)
            .field("access_log", &self.access_log)
            .finish_non_exhaustive()
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
            access: Access::default(),
            allowed_hosts: AllowedHosts::default(),
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
            check: None,
            max_workflow_versions: crate::workflows::MAX_VERSIONS,
            max_executions: 1000,
            access_log: false,
        }
    }
}

/// Refuses to expose the API beyond this machine without a token.
pub fn check_exposure(addr: &SocketAddr, config: &ServerConfig) -> Result<(), String> {
    if addr.ip().is_loopback() || config.access.token.is_some() {
        Ok(())
    } else {
        Err(format!(
            "refusing to listen on {addr} without a token: give --token-file (or SHUTTER_API_TOKEN), or listen on 127.0.0.1"
        ))
    }
}

#[derive(Debug)]
pub struct Server {
    state: AppState,
    config: ServerConfig,
    clock: Arc<dyn Clock>,
}

impl Server {
    /// A server whose engine runs `actions` on `store`. Every write goes
    /// through the change feed, so long polls see it at once.
    pub fn new(
        store: Arc<dyn Store>,
        actions: ActionRegistry,
        catalog: Catalog,
        engine: EngineConfig,
        config: ServerConfig,
    ) -> Self {
        Self::with_clock(
            store,
            actions,
            catalog,
            engine,
            config,
            Arc::new(TokioClock::new()),
        )
    }

    /// As [`Server::new`], with the clock the engine and the schedules read.
    pub fn with_clock(
        store: Arc<dyn Store>,
        actions: ActionRegistry,
        catalog: Catalog,
        engine: EngineConfig,
        config: ServerConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let feed = Arc::new(ChangeFeed::default());
        let announcements = store.announcements();
        let metrics = Arc::new(Metrics::default());
        let watch = Watch {
            feed: feed.clone(),
            metrics: metrics.clone(),
        };
        let watched: Arc<dyn Store> = Arc::new(Hooked::new(store, watch));
        let engine = Engine::with_clock(watched, actions, catalog, engine, clock.clone());
        let state = AppState(Arc::new(Shared {
            runner: Runner::new(engine, config.max_executions, metrics.clone()),
            workflows: Workflows::new(config.check.clone(), config.max_workflow_versions),
            feed,
            metrics,
            max_wait: config.max_wait,
            stopping: CancellationToken::new(),
        }));
        if let Some(announcements) = announcements {
            relay(announcements, &state);
        }
        Self {
            state,
            config,
            clock,
        }
    }

    /// Starts the schedules of the served workflows (until `stop`).
    pub fn spawn_schedules(&self, stop: CancellationToken) -> tokio::task::JoinHandle<()> {
        tokio::spawn(crate::schedule::run(
            self.state.clone(),
            self.clock.clone(),
            stop,
        ))
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn catalog(&self) -> &Catalog {
        self.state.engine().catalog()
    }

    /// The routes, for serving or for in-process tests.
    pub fn router(&self) -> Router {
        crate::routes::router(self.state.clone(), &self.config)
    }

    /// Serves what the store keeps (workflows registered before a restart
    /// or on another node) and keeps what this server loaded (its
    /// `--workflows` directory). Returns the problems of kept workflows
    /// that do not load here.
    pub async fn keep_workflows(&self) -> Result<Vec<String>, shutter_core::StoreError> {
        let problems = crate::kept::refresh(&self.state).await?;
        for version in self.state.workflows().all_versions() {
            crate::kept::keep(&self.state, &version).await?;
        }
        Ok(problems)
    }

    /// Takes back executions a stopped engine left running and runs them.
    pub async fn resume(
        &self,
    ) -> Result<(usize, Vec<shutter_runtime::EngineError>), shutter_runtime::EngineError> {
        self.state.runner().resume_orphans().await
    }

    /// Starts what a node does besides answering requests, until `stop`:
    /// its schedules, the renewal of its leases, the sweep that takes
    /// orphaned and queued executions, memory trimming. ([`Server::serve`]
    /// does; in-process callers of [`Server::router`] may.)
    pub fn spawn_background(&self, stop: CancellationToken) -> Background {
        let engine = self.state.engine().clone();
        Background(vec![
            self.spawn_schedules(stop.clone()),
            tokio::spawn({
                let stop = stop.clone();
                async move { engine.keep_leases(stop).await }
            }),
            tokio::spawn(sweep(self.state.clone(), stop.clone())),
            tokio::spawn(crate::trim::run(stop)),
        ])
    }

    /// Serves until `shutdown` resolves; then stops accepting, ends long
    /// polls, gives running executions `shutdown_grace` to finish and stops
    /// the rest where they are (recorded, resumed by the next start).
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let leases = CancellationToken::new();
        let background = self.spawn_background(leases.clone());
        let stopping = self.state.0.stopping.clone();
        tokio::spawn({
            let stopping = stopping.clone();
            async move {
                shutdown.await;
                stopping.cancel();
            }
        });
        let limits = ConnectionLimits {
            header_timeout: self.config.header_timeout,
            max_connections: self.config.max_connections,
        };
        crate::listen::serve(listener, self.router(), limits, stopping).await;
        self.state
            .runner()
            .shutdown(self.config.shutdown_grace)
            .await;
        leases.cancel();
        background.join().await;
        Ok(())
    }
}

/// The tasks of [`Server::spawn_background`].
#[derive(Debug)]
pub struct Background(Vec<tokio::task::JoinHandle<()>>);

impl Background {
    /// Waits for them to end (after their `stop`).
    pub async fn join(self) {
        for task in self.0 {
            let _ = task.await;
        }
    }
}

/// How often the sweep looks for work at most: a dead node's executions
/// are taken at most this long after its lease ran out.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Takes, every third of a lease (at most [`SWEEP_EVERY`]) and whenever woken (room made here, work
/// released by another node), executions whose owner is gone: a node that
/// died, one that had no room for them, or this one when it gave an
/// execution up because its store stayed down (it runs again once the
/// store answers).
async fn sweep(state: AppState, stop: CancellationToken) {
    let every = (state.engine().config().lease / 3).min(SWEEP_EVERY);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(every) => {}
            () = state.runner().woken() => {}
        }
        match state.runner().resume_orphans().await {
            Ok((resumed, problems)) => {
                if resumed > 0 {
                    tracing::info!("took {resumed} execution(s) queued or left by a node gone");
                }
                for problem in problems {
                    tracing::warn!("{problem}; left to other nodes for a minute");
                }
            }
            Err(err) => tracing::warn!("looking for executions to take back: {err}"),
        }
    }
}

/// Acts on what the nodes sharing the store announce: a change wakes the
/// long polls here, a cancel request cancels the execution if it runs
/// here, released work wakes the sweep, a freed slot of a limit pool wakes
/// the steps waiting for one. Ends with the store.
fn relay(mut announcements: tokio::sync::broadcast::Receiver<Announcement>, state: &AppState) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    // Held weakly: the relay must not keep a dropped server alive.
    let state = Arc::downgrade(&state.0);
    runtime.spawn(async move {
        loop {
            let announcement = match announcements.recv().await {
                Ok(announcement) => announcement,
                // Fell behind: those are lost here; long polls read again at
                // their deadline, renewals report cancels, the sweep runs.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
            let Some(shared) = state.upgrade() else {
                return;
            };
            match announcement {
                Announcement::Changed { id, seq } => shared.feed.publish(id, seq),
                Announcement::CancelRequested(id) => {
                    shared.runner.cancel(id);
                }
                Announcement::WorkQueued => shared.runner.wake(),
                Announcement::SlotFreed => shared.runner.engine().slot_freed(),
            }
        }
    });
}
