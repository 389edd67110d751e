//! The component ABI: the `shutter:step/workflow-step` world of
//! `wasm-steps/wit/step.wit`. The host interface gives a step logs,
//! progress and only the secrets it was granted; the http interface only
//! the hosts it was granted; WASI (for components built through the
//! preview1 adapter) gets no files, no sockets, no environment but what is
//! granted.

use shutter_core::{LogLevel, Secrets};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Engine, Store, StoreLimits};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::failure::Failure;
use crate::host::{Outcome, Run, first_line, parse_output};
use crate::http::{HttpAllow, HttpGrant};
use crate::limits::{STDERR_LIMIT, Watch};
use crate::logs::stderr_lines;

wasmtime::component::bindgen!({
    path: "../../wasm-steps/wit/step.wit",
    world: "workflow-step",
});

use shutter::step::host::{Host, Level};

pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
    secrets: Secrets,
    /// None when the step has no `allow.http` (or no runtime to run on).
    http: Option<HttpGrant>,
    logs: Vec<(LogLevel, String)>,
    progress: Vec<(u8, String)>,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl Host for State {
    fn log(&mut self, level: Level, message: String) {
        let level = match level {
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        self.logs.push((level, message));
    }

    fn progress(&mut self, percent: u8, message: String) {
        self.progress.push((percent.min(100), message));
    }

    fn secret(&mut self, name: String) -> Option<String> {
        // Names not granted read as missing, so a guest cannot probe them.
        self.secrets.get(&name).map(str::to_owned)
    }
}

impl shutter::step::http::Host for State {
    fn request(&mut self, request: String) -> Result<String, String> {
        let Some(http) = &self.http else {
            return Err("this step is granted no http (allow.http is empty)".to_owned());
        };
        let exchange = http.request(&request);
        self.logs.push((LogLevel::Debug, exchange.log));
        exchange.answer
    }
}

pub(crate) type Pre = WorkflowStepPre<State>;

pub(crate) fn prepare(engine: &Engine, component: &Component) -> Result<Pre, Failure> {
    let mut linker: Linker<State> = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
        .map_err(|e| Failure::Load(format!("linking WASI: {}", first_line(&e))))?;
    WorkflowStep::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
        .map_err(|e| Failure::Load(format!("linking the host interface: {}", first_line(&e))))?;
    let pre = linker.instantiate_pre(component).map_err(|e| {
        Failure::Load(format!(
            "the component imports what the sandbox does not provide: {}",
            first_line(&e)
        ))
    })?;
    WorkflowStepPre::new(pre).map_err(|e| {
        Failure::Load(format!(
            "the component does not export the `shutter:step/step` interface: {}",
            first_line(&e)
        ))
    })
}

pub(crate) fn run(
    engine: &Engine,
    pre: &Pre,
    run: Run,
    client: Option<&reqwest::Client>,
) -> Outcome {
    let stderr = MemoryOutputPipe::new(STDERR_LIMIT);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stderr(stderr.clone());
    for (name, value) in &run.grants.env {
        wasi.env(name, value);
    }
    let limits = run.limits.store_limits();
    let watch = Watch::new(run.limits.timeout, run.canceled.clone());
    let allow = HttpAllow::new(run.grants.http.iter().cloned());
    let http = match (allow.is_empty(), client, &run.runtime) {
        (false, Some(client), Some(runtime)) => Some(HttpGrant {
            allow,
            client: client.clone(),
            runtime: runtime.clone(),
            deadline: watch.deadline,
            canceled: run.canceled.clone(),
        }),
        _ => None,
    };
    let state = State {
        wasi: wasi.build(),
        table: ResourceTable::new(),
        limits,
        secrets: run.grants.secrets.clone(),
        http,
        logs: Vec::new(),
        progress: Vec::new(),
    };
    let mut store = Store::new(engine, state);
    store.limiter(|state| &mut state.limits);
    watch.install(&mut store);

    let called = pre.instantiate(&mut store).and_then(|bindings| {
        bindings
            .shutter_step_step()
            .call_run(&mut store, &run.params.to_string())
    });
    let result = match called {
        Ok(Ok(outputs)) => parse_output(outputs.as_bytes(), run.limits.output),
        Ok(Err(failure)) => Err(Failure::Guest {
            message: failure.message,
            retryable: failure.retryable,
        }),
        Err(err) => Err(Failure::from_error(
            &err,
            run.limits.memory,
            run.limits.timeout,
        )),
    };
    let state = store.into_data();
    let mut logs = stderr_lines(&stderr.contents());
    logs.extend(state.logs);
    Outcome {
        result,
        logs,
        progress: state.progress,
    }
}
