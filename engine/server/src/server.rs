//! The whole server: store, engine, served workflows, HTTP, shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use shutter_dsl::Catalog;
use shutter_runtime::clock::{Clock, TokioClock};
use shutter_runtime::{ActionRegistry, Engine, EngineConfig, Store};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::Token;
use crate::feed::{ChangeFeed, WatchedStore};
use crate::metrics::Metrics;
use crate::runner::Runner;
use crate::state::{AppState, Shared};
use crate::workflows::Workflows;

#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Longest `?wait=` a request may hold (longer asks are cut to it).
    pub max_wait: Duration,
    /// On shutdown, how long running executions get to finish before they
    /// are stopped where they are (to be resumed by the next start).
    pub shutdown_grace: Duration,
    /// Bearer token every route but `/healthz` requires, when set.
    pub token: Option<Token>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_wait: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(10),
            token: None,
        }
    }
}

/// Refuses to expose the API beyond this machine without a token.
pub fn check_exposure(addr: &SocketAddr, config: &ServerConfig) -> Result<(), String> {
    if addr.ip().is_loopback() || config.token.is_some() {
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
        let metrics = Arc::new(Metrics::default());
        let watched: Arc<dyn Store> =
            Arc::new(WatchedStore::new(store, feed.clone(), metrics.clone()));
        let engine = Engine::with_clock(watched, actions, catalog, engine, clock.clone());
        let state = AppState(Arc::new(Shared {
            runner: Runner::new(engine),
            workflows: Workflows::default(),
            feed,
            metrics,
            max_wait: config.max_wait,
            stopping: CancellationToken::new(),
            expr: shutter_dsl::ExprEngine::new(),
        }));
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
        crate::routes::router(self.state.clone(), self.config.token.clone())
    }

    /// Takes back executions a stopped engine left running and runs them.
    pub async fn resume(
        &self,
    ) -> Result<(usize, Vec<shutter_runtime::EngineError>), shutter_runtime::EngineError> {
        self.state.runner().resume_orphans().await
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
        let schedules = self.spawn_schedules(leases.clone());
        let engine = self.state.engine().clone();
        let keep = tokio::spawn({
            let leases = leases.clone();
            async move { engine.keep_leases(leases).await }
        });
        let stopping = self.state.0.stopping.clone();
        let signal = async move {
            shutdown.await;
            stopping.cancel();
        };
        let served = axum::serve(listener, self.router())
            .with_graceful_shutdown(signal)
            .await;
        self.state
            .runner()
            .shutdown(self.config.shutdown_grace)
            .await;
        leases.cancel();
        let _ = keep.await;
        let _ = schedules.await;
        served
    }
}
