//! Every way a guest run can fail, with a message that says what happened.

use wasmtime::{Trap, WasmBacktrace};

use crate::limits::Interrupt;

/// How a step run failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The guest said so: exit code or `failure` record.
    #[error("{message}")]
    Guest { message: String, retryable: bool },
    /// The module could not be loaded, compiled or linked.
    #[error("{0}")]
    Load(String),
    #[error("the step ran past its deadline of {0:?} and was stopped")]
    Deadline(std::time::Duration),
    #[error("the step was canceled")]
    Canceled,
    #[error("the step trapped: {0}")]
    Trap(String),
    #[error("the step hit its memory cap of {0} bytes")]
    OutOfMemory(u64),
    #[error("the step's output is larger than the limit of {0} bytes")]
    OutputTooLarge(usize),
    #[error("the step's output is not {0}")]
    InvalidOutput(String),
}

impl Failure {
    /// Whether trying again may help.
    pub fn retryable(&self) -> bool {
        matches!(
            self,
            Self::Guest {
                retryable: true,
                ..
            } | Self::Deadline(_)
        )
    }

    /// Explains a wasmtime error that ended a call.
    pub fn from_error(err: &wasmtime::Error, memory: u64, timeout: std::time::Duration) -> Self {
        if let Some(interrupt) = err.downcast_ref::<Interrupt>() {
            return match interrupt {
                Interrupt::Deadline => Self::Deadline(timeout),
                Interrupt::Canceled => Self::Canceled,
            };
        }
        let text = format!("{err:#}");
        if text.contains("forcing trap when growing memory") || text.contains("memory minimum size")
        {
            return Self::OutOfMemory(memory);
        }
        let names = backtrace_names(err);
        match err.downcast_ref::<Trap>() {
            Some(Trap::StackOverflow) => Self::Trap(format!("stack overflow{names}")),
            Some(Trap::Interrupt) => Self::Deadline(timeout),
            Some(trap) => Self::Trap(format!("{trap}{names}")),
            None => Self::Load(first_line(&text)),
        }
    }
}

/// `" in f <- g <- main"` from the guest's backtrace, when it has names.
fn backtrace_names(err: &wasmtime::Error) -> String {
    let Some(trace) = err.downcast_ref::<WasmBacktrace>() else {
        return String::new();
    };
    let names: Vec<String> = trace
        .frames()
        .iter()
        .take(6)
        .filter_map(|f| f.func_name().map(str::to_owned))
        .collect();
    if names.is_empty() {
        String::new()
    } else {
        format!(" in {}", names.join(" <- "))
    }
}

fn first_line(text: &str) -> String {
    // wasmtime's messages carry long backtraces; users need the first line.
    text.lines().next().unwrap_or(text).to_owned()
}
