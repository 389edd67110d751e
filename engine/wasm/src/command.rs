//! The WASI command ABI: parameters as JSON on stdin, outputs as JSON on
//! stdout, stderr lines as log lines, exit 0 = success, exit 75 = retryable
//! failure, any other exit = fatal failure (its message: the last stderr
//! line). No files, no sockets, no environment but what is granted.

use wasmtime::{Engine, InstancePre, Linker, Module, Store, StoreLimits};
use wasmtime_wasi::I32Exit;
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

use crate::capped::CappedStdout;
use crate::failure::Failure;
use crate::host::{Outcome, Run, first_line, parse_output};
use crate::limits::{STDERR_LIMIT, Watch};
use crate::logs::stderr_lines;

/// `EX_TEMPFAIL`: the guest asks to be tried again.
pub const RETRYABLE_EXIT: i32 = 75;

pub(crate) struct State {
    wasi: WasiP1Ctx,
    limits: StoreLimits,
}

pub(crate) type Pre = InstancePre<State>;

pub(crate) fn prepare(engine: &Engine, module: &Module) -> Result<Pre, Failure> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |state: &mut State| &mut state.wasi)
        .map_err(|e| Failure::Load(format!("linking WASI: {}", first_line(&e))))?;
    linker.instantiate_pre(module).map_err(|e| {
        Failure::Load(format!(
            "the module imports what the sandbox does not provide: {}",
            first_line(&e)
        ))
    })
}

pub(crate) fn run(engine: &Engine, pre: &Pre, run: Run) -> Outcome {
    let stdout = CappedStdout::new(run.limits.output + 1);
    let stderr = MemoryOutputPipe::new(STDERR_LIMIT);
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdin(MemoryInputPipe::new(run.params.to_string()))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .args(&["step"]);
    for (name, value) in &run.grants.env {
        wasi.env(name, value);
    }
    let limits = run.limits.store_limits();
    let mut store = Store::new(
        engine,
        State {
            wasi: wasi.build_p1(),
            limits,
        },
    );
    store.limiter(|state| &mut state.limits);
    Watch::new(run.limits.timeout, run.canceled.clone()).install(&mut store);

    let ended = pre.instantiate(&mut store).and_then(|instance| {
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .map_err(|_| {
                wasmtime::Error::msg("the module exports no `_start`: it is not a WASI command")
            })?;
        start.call(&mut store, ())
    });
    let exit = match ended {
        Ok(()) => Ok(0),
        Err(err) => match err.downcast_ref::<I32Exit>() {
            Some(I32Exit(code)) => Ok(*code),
            None => Err(Failure::from_error(
                &err,
                run.limits.memory,
                run.limits.timeout,
            )),
        },
    };
    drop(store);
    let logs = stderr_lines(&stderr.contents());
    let last = logs.last().map(|(_, line)| line.clone());
    let output = stdout.contents();
    let result = match exit {
        // A guest that filled stdout sees its writes fail and often exits
        // with an error of its own: the cap is the real cause.
        _ if output.len() > run.limits.output => Err(Failure::OutputTooLarge(run.limits.output)),
        Ok(0) => parse_output(&output, run.limits.output),
        Ok(code) => Err(Failure::Guest {
            message: last.unwrap_or_else(|| format!("exited with code {code}")),
            retryable: code == RETRYABLE_EXIT,
        }),
        Err(failure) => Err(failure),
    };
    Outcome {
        result,
        logs,
        progress: Vec::new(),
    }
}
