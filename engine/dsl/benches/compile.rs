//! Compile-time figures: parse + validate + compile of generated workflows
//! (chains and wide fans of 100 to 100,000 steps), median wall time and peak
//! heap. Run with `cargo bench -p shutter-dsl --bench compile`.
//!
//! Peak heap is counted by a wrapping global allocator, so it is exact for
//! this process and unaffected by other load on the machine.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use shutter_dsl::{Catalog, ExprEngine, Source, compile_with};

/// Writes a workflow of the given number of steps.
type Generator = fn(usize) -> String;

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Counting is switched on only for the run that measures memory, so timed
/// runs pay nothing for it.
static COUNTING: AtomicBool = AtomicBool::new(false);

// SAFETY: forwards every call to the system allocator unchanged; only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The smallest real step: an action and a dependency on the one before.
fn minimal(steps: usize) -> String {
    let mut text = String::with_capacity(steps * 40);
    text.push_str("version: 1\nname: minimal\nsteps:\n  s0: {uses: core.noop}\n");
    for i in 1..steps {
        let _ = writeln!(text, "  s{i}: {{uses: core.noop, needs: [s{}]}}", i - 1);
    }
    text
}

/// Each step logs a message that reads its predecessor's output.
fn chain(steps: usize) -> String {
    let mut text = String::with_capacity(steps * 110);
    text.push_str("version: 1\nname: chain\ninputs:\n  vm: {type: string, default: web}\nsteps:\n");
    let _ = writeln!(
        text,
        "  s0:\n    uses: core.log\n    with: {{message: \"start ${{{{ inputs.vm }}}}\"}}"
    );
    for i in 1..steps {
        let _ = writeln!(
            text,
            "  s{i}:\n    uses: core.log\n    needs: [s{}]\n    with: {{message: \"after ${{{{ steps.s{}.outputs.message }}}}\"}}",
            i - 1,
            i - 1
        );
    }
    text
}

/// One root, `steps - 2` parallel branches reading it, one join.
fn fan(steps: usize) -> String {
    let width = steps.saturating_sub(2).max(1);
    let mut text = String::with_capacity(steps * 110);
    text.push_str(
        "version: 1\nname: fan\nsteps:\n  root:\n    uses: core.log\n    with: {message: go}\n",
    );
    for i in 0..width {
        let _ = writeln!(
            text,
            "  b{i}:\n    uses: core.log\n    with: {{message: \"branch {i} of ${{{{ steps.root.outputs.message }}}}\"}}"
        );
    }
    text.push_str("  join:\n    uses: core.noop\n    needs: [");
    for i in 0..width {
        if i > 0 {
            text.push_str(", ");
        }
        let _ = write!(text, "b{i}");
    }
    text.push_str("]\n");
    text
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    // Optional filters: `-- chain` or `-- fan 10000` run only those cases.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wanted = |shape: &str, steps: usize| {
        args.first().is_none_or(|s| s == shape)
            && args.get(1).is_none_or(|n| n == &steps.to_string())
    };
    let catalog = Catalog::with_core();
    let engine = ExprEngine::new();
    println!("shape     steps     bytes   compile  yaml floor  ratio   runs  peak heap");
    let shapes: [(&str, Generator); 3] = [("minimal", minimal), ("chain", chain), ("fan", fan)];
    for (shape, generate) in shapes {
        for steps in [100, 1_000, 10_000, 100_000] {
            if !wanted(shape, steps) {
                continue;
            }
            let text = generate(steps);
            let runs = if steps >= 100_000 { 5 } else { 21 };
            // The floor: serde_yaml reading the same text and discarding it.
            let floor = median(
                (0..runs)
                    .map(|_| {
                        let start = Instant::now();
                        let _: serde::de::IgnoredAny =
                            serde_yaml::from_str(&text).expect("valid YAML");
                        start.elapsed()
                    })
                    .collect(),
            );
            let compile = median(
                (0..runs)
                    .map(|_| {
                        let source = Source::new("bench.yaml", text.clone());
                        let start = Instant::now();
                        let plan = compile_with(&source, &catalog, &engine)
                            .expect("generated workflows are valid");
                        let elapsed = start.elapsed();
                        assert_eq!(plan.workflow.steps.len(), steps);
                        elapsed
                    })
                    .collect(),
            );
            let source = Source::new("bench.yaml", text.clone());
            COUNTING.store(true, Ordering::Relaxed);
            let base = CURRENT.load(Ordering::Relaxed);
            PEAK.store(base, Ordering::Relaxed);
            let plan = compile_with(&source, &catalog, &engine).expect("valid");
            let peak = PEAK.load(Ordering::Relaxed) - base;
            COUNTING.store(false, Ordering::Relaxed);
            drop(plan);
            println!(
                "{shape:8} {steps:>6} {:>9} {:>8.2}ms {:>8.2}ms {:>6.2} {runs:>5} {:>7.1} MiB",
                text.len(),
                compile.as_secs_f64() * 1e3,
                floor.as_secs_f64() * 1e3,
                compile.as_secs_f64() / floor.as_secs_f64(),
                peak as f64 / (1024.0 * 1024.0)
            );
        }
    }
}
