//! A command's standard output with a cap that stops the guest.
//!
//! wasmtime-wasi's `MemoryOutputPipe` traps a write past its capacity, but
//! answers "closed" when asked how much may be written once it is full,
//! and WASI preview1's `fd_write` asks first: the guest then sees an error
//! it may ignore and go on writing until its deadline. Here the question
//! itself traps once the pipe is full, so the guest stops at once.

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// Standard output holding at most its capacity; the guest traps when it
/// asks to write more.
#[derive(Clone)]
pub(crate) struct CappedStdout(MemoryOutputPipe);

impl CappedStdout {
    pub(crate) fn new(capacity: usize) -> Self {
        Self(MemoryOutputPipe::new(capacity))
    }

    pub(crate) fn contents(&self) -> Bytes {
        self.0.contents()
    }
}

impl IsTerminal for CappedStdout {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CappedStdout {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(Trapping(self.0.clone()))
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.0.clone())
    }
}

struct Trapping(MemoryOutputPipe);

#[async_trait::async_trait]
impl OutputStream for Trapping {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.0.write(bytes)
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        self.0.flush()
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        match self.0.check_write() {
            Err(StreamError::Closed) => Err(StreamError::Trap(wasmtime::Error::msg(
                "the step's output passed its cap",
            ))),
            other => other,
        }
    }
}

#[async_trait::async_trait]
impl Pollable for Trapping {
    async fn ready(&mut self) {}
}
