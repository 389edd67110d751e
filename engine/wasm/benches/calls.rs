//! Time per call of a trivial step (`echo`), medians:
//! - cold: compile + instantiate + run (a host without any cache);
//! - cached: load the compiled artifact from disk + instantiate + run;
//! - warm: instantiate (`InstancePre`, pooling allocator) + run, fresh store;
//! - floor: bare wasmtime, no Shutter, default engine config — for the
//!   command, a precompiled module, a linker with WASI preview1, and
//!   instantiate plus `_start` with the same stdin/stdout pipes; for the component, the
//!   `bindgen!` world with do-nothing host functions, instantiate + `run`.
//!
//! `SHUTTER_WASM_EXAMPLES=DIR cargo bench -p shutter-wasm --bench calls`
//! (DIR from `wasm-steps/build.sh DIR`; default `wasm-steps/target`). The
//! component is `wasm-steps/examples/wat/echo.component.wat` unless
//! `SHUTTER_WASM_COMPONENT` names another `.wat` or `.wasm` component of the
//! `shutter:step` world (an absolute path: benches run in the crate's
//! directory).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};
use shutter_wasm::{Grants, Limits, Run, WasmHost};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p2::pipe::{MemoryInputPipe, MemoryOutputPipe};

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn run_of() -> Run {
    Run {
        params: json!({"n": 1}),
        limits: Limits::default(),
        grants: Grants::default(),
        canceled: Arc::new(AtomicBool::new(false)),
        runtime: None,
    }
}

fn time(times: usize, mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..times)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn measure(label: &str, bytes: &[u8], floor: Option<Duration>) {
    let digest = sha(bytes);
    let cold = time(5, || {
        let host = WasmHost::new(None).expect("host");
        let loaded = host.load(bytes, &digest).expect("loads");
        assert!(host.run(&loaded, run_of()).result.is_ok());
    });
    let dir = tempfile::tempdir().expect("temp dir");
    WasmHost::new(Some(dir.path().to_path_buf()))
        .expect("host")
        .load(bytes, &digest)
        .expect("warms the cache");
    let cached = time(21, || {
        let host = WasmHost::new(Some(dir.path().to_path_buf())).expect("host");
        let loaded = host.load(bytes, &digest).expect("loads");
        assert!(host.run(&loaded, run_of()).result.is_ok());
    });
    let host = WasmHost::new(None).expect("host");
    let loaded = host.load(bytes, &digest).expect("loads");
    let warm = time(2001, || {
        assert!(host.run(&loaded, run_of()).result.is_ok());
    });
    let ratio = floor.map_or(String::from("-"), |f| {
        format!("{:.2}x floor", warm.as_secs_f64() / f.as_secs_f64())
    });
    println!(
        "{label:<22} cold {:>9.2} ms   cached {:>7.3} ms   warm {:>7.1} us   ({ratio})",
        cold.as_secs_f64() * 1e3,
        cached.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e6
    );
}

/// Bare wasmtime: what a call costs without Shutter.
fn floor(bytes: &[u8]) -> Duration {
    let engine = wasmtime::Engine::default();
    let module = wasmtime::Module::new(&engine, bytes).expect("compiles");
    let mut linker: wasmtime::Linker<wasmtime_wasi::p1::WasiP1Ctx> = wasmtime::Linker::new(&engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |ctx| ctx).expect("links");
    let pre = linker.instantiate_pre(&module).expect("pre");
    let input = json!({"n": 1}).to_string();
    time(2001, || {
        let stdout = MemoryOutputPipe::new(1 << 20);
        let wasi = WasiCtxBuilder::new()
            .stdin(MemoryInputPipe::new(input.clone()))
            .stdout(stdout.clone())
            .build_p1();
        let mut store = wasmtime::Store::new(&engine, wasi);
        let instance = pre.instantiate(&mut store).expect("instantiates");
        let start = instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .expect("_start");
        start.call(&mut store, ()).expect("runs");
        assert!(!stdout.contents().is_empty());
    })
}

mod bare_component {
    //! The component floor: wasmtime's own bindings, nothing of Shutter's.
    wasmtime::component::bindgen!({
        path: "../../wasm-steps/wit/step.wit",
        world: "workflow-step",
    });

    pub(super) struct Nothing;

    impl shutter::step::host::Host for Nothing {
        fn log(&mut self, _: shutter::step::host::Level, _: String) {}
        fn progress(&mut self, _: u8, _: String) {}
        fn secret(&mut self, _: String) -> Option<String> {
            None
        }
    }

    impl shutter::step::http::Host for Nothing {
        fn request(&mut self, _: String) -> Result<String, String> {
            Err("no http".to_owned())
        }
    }
}

/// Bare wasmtime: what a component call costs without Shutter.
fn component_floor(bytes: &[u8]) -> Duration {
    use bare_component::{Nothing, WorkflowStep, WorkflowStepPre};
    let engine = wasmtime::Engine::default();
    let component = wasmtime::component::Component::new(&engine, bytes).expect("compiles");
    let mut linker = wasmtime::component::Linker::<Nothing>::new(&engine);
    WorkflowStep::add_to_linker::<Nothing, wasmtime::component::HasSelf<Nothing>>(
        &mut linker,
        |state| state,
    )
    .expect("links");
    let pre = WorkflowStepPre::new(linker.instantiate_pre(&component).expect("pre")).expect("pre");
    let input = json!({"n": 1}).to_string();
    time(2001, || {
        let mut store = wasmtime::Store::new(&engine, Nothing);
        let step = pre.instantiate(&mut store).expect("instantiates");
        let out = step
            .shutter_step_step()
            .call_run(&mut store, &input)
            .expect("runs");
        assert!(out.is_ok());
    })
}

fn main() {
    let dir = std::env::var_os("SHUTTER_WASM_EXAMPLES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../wasm-steps/target"),
        PathBuf::from,
    );
    let echo =
        std::fs::read(dir.join("echo.wasm")).expect("echo.wasm: build it with wasm-steps/build.sh");
    let bare = floor(&echo);
    println!(
        "floor: bare wasmtime instantiate + _start of echo.wasm (WASI command): {:.1} us",
        bare.as_secs_f64() * 1e6
    );
    measure("echo, WASI command", &echo, Some(bare));
    let path = std::env::var_os("SHUTTER_WASM_COMPONENT").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../wasm-steps/examples/wat/echo.component.wat")
        },
        PathBuf::from,
    );
    let bytes = if path.extension().is_some_and(|e| e == "wat") {
        wat::parse_file(&path).expect("valid component text")
    } else {
        std::fs::read(&path).expect("readable")
    };
    let bare = component_floor(&bytes);
    println!(
        "floor: bare wasmtime instantiate + run of {} (component): {:.1} us",
        path.file_name().unwrap_or_default().to_string_lossy(),
        bare.as_secs_f64() * 1e6
    );
    measure("echo, component", &bytes, Some(bare));
}
