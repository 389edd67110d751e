#!/usr/bin/env node
// Runs one WASI preview1 command module under the step contract: params
// JSON on stdin, outputs on stdout, stderr lines as logs, an exit code.
//
// A checking tool for the examples, not the engine's host (that is
// wasmtime, in Rust). node:wasi is no sandbox: no memory cap, so only run
// modules you built.
//
//   node run-node.mjs [--raw] [--timeout MS] MODULE.wasm [JSON | @FILE | -]
//     input defaults to {}; --raw passes stdout/stderr through byte for
//     byte; exits with the module's exit code, 134 on a trap, 124 on timeout.
//
// Each module runs in a child node process, which also lets the parent
// enforce a timeout. node:wasi reads stdin only from a file descriptor, so
// input and outputs go through temporary files, and the child reports how
// the module ended in report.json.
//
// Node 20's own ways of ending a WASI run crash it now and then (SIGSEGV
// or SIGTRAP), measured with these modules: returnOnExit: true unwinds a
// proc_exit as a JS exception, which crashes with a few hundred MiB of
// linear memory (memory-bomb, spiral-go on a 100,000-deep tree);
// returnOnExit: false calls C exit() from inside the wasm call, which
// crashes about one run in three (spiral-zig, whose main always ends in
// proc_exit(0)), and merely importing that native proc_exit made
// spiral-as crash on a 100,000-deep tree although it never calls it. So
// the child imports its own proc_exit: it writes the report and kills the
// process with SIGKILL at once, with no unwinding and no teardown, and so
// does a normal return or a trap. The parent takes the exit code from the
// report; a child that dies without one is a crash of node itself.
// Separately, node 20 crashed in the middle of runs whose module grows a
// garbage-collected heap to 100+ MiB (spiral-go and spiral-as on a
// 100,000-deep tree, about one run in three) until V8's own GC was made
// single-threaded: hence --single-threaded-gc on the child. (The wider
// --single-threaded made memory-bomb's 4 GiB crash instead.)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TRAP_EXIT = 134;
export const TIMEOUT_EXIT = 124;
const self = fileURLToPath(import.meta.url);

/** In the child: run the module with files in `dir` as its stdio. */
async function child(path, dir) {
  process.removeAllListeners('warning'); // node:wasi's ExperimentalWarning
  const { WASI } = await import('node:wasi');
  const wasi = new WASI({
    version: 'preview1', args: [path], env: {}, preopens: {},
    returnOnExit: true, // never used: proc_exit is replaced below
    stdin: openSync(join(dir, 'stdin'), 'r'),
    stdout: openSync(join(dir, 'stdout'), 'w'),
    stderr: openSync(join(dir, 'stderr'), 'w'),
  });
  let instance;
  // Writes how the module ended, then ends this process on the spot (see
  // the top of this file). The module's writes are already in the files.
  const end = (r) => {
    const memoryBytes = instance?.exports.memory?.buffer.byteLength ?? null;
    writeFileSync(join(dir, 'report.json'), JSON.stringify({ ...r, memoryBytes }));
    process.kill(process.pid, 'SIGKILL');
  };
  const imports = wasi.getImportObject();
  imports.wasi_snapshot_preview1.proc_exit = (code) => end({ exit: code >>> 0 });
  const module = await WebAssembly.compile(readFileSync(path));
  instance = await WebAssembly.instantiate(module, imports);
  try {
    wasi.start(instance); // returns when main returned 0 without proc_exit
    end({ exit: 0 });
  } catch (e) {
    end({ exit: TRAP_EXIT, trap: `${e.name}: ${e.message}` });
  }
}

/**
 * Runs `path` with `input` (string or Buffer) on stdin. Returns
 * { exit, trap, timedOut, memoryBytes, stdout, stderr, hostError }.
 */
export function runModule(path, input, { timeoutMs = 20000 } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'run-node-'));
  try {
    writeFileSync(join(dir, 'stdin'), input);
    writeFileSync(join(dir, 'stdout'), '');
    writeFileSync(join(dir, 'stderr'), '');
    const r = spawnSync(process.execPath, ['--single-threaded-gc', self, '--child', path, dir], {
      timeout: timeoutMs, stdio: ['ignore', 'ignore', 'pipe'],
    });
    let report = null;
    try {
      report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    } catch {
      // no report: node itself failed (or was killed by the timeout)
    }
    const timedOut = r.error?.code === 'ETIMEDOUT' && !report;
    report ??= {};
    return {
      exit: timedOut ? null : (report.exit ?? r.status),
      signal: timedOut || report.exit !== undefined ? null : r.signal,
      trap: report.trap ?? null,
      timedOut,
      memoryBytes: report.memoryBytes ?? null,
      stdout: readFileSync(join(dir, 'stdout')),
      stderr: readFileSync(join(dir, 'stderr')),
      hostError: r.stderr.toString('utf8').trim(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Long outputs (huge-output) are shown as head ... tail. */
function shorten(buf, limit = 2000) {
  const text = buf.toString('utf8');
  if (text.length <= limit) return text;
  return `${text.slice(0, 100)} ...[${buf.length} bytes]... ${text.slice(-100)}`;
}

function readInput(arg) {
  if (arg === undefined) return '{}';
  if (arg === '-') return readFileSync(0);
  if (arg.startsWith('@')) return readFileSync(arg.slice(1));
  return arg;
}

function main(argv) {
  let raw = false;
  let timeoutMs;
  while (argv[0]?.startsWith('--')) {
    const flag = argv.shift();
    if (flag === '--raw') raw = true;
    else if (flag === '--timeout') timeoutMs = Number(argv.shift());
    else argv = [];
  }
  const [path, input] = argv;
  if (!path) {
    console.error('usage: node run-node.mjs [--raw] [--timeout MS] MODULE.wasm [JSON | @FILE | -]');
    process.exit(2);
  }
  const r = runModule(path, readInput(input), { timeoutMs });
  let status = r.exit;
  let how = `exit: ${r.exit}`;
  if (r.timedOut) [status, how] = [TIMEOUT_EXIT, `timeout: killed after ${timeoutMs ?? 20000} ms`];
  else if (r.trap) how = `trap: ${r.trap}`;
  else if (r.signal) [status, how] = [128, `node died: ${r.signal}`];
  if (raw) {
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    if (status !== 0) process.stderr.write(`run-node: ${how}\n`);
  } else {
    console.log(how);
    console.log(`stdout (${r.stdout.length} bytes): ${shorten(r.stdout).trimEnd()}`);
    const lines = shorten(r.stderr).split('\n').filter((l) => l !== '');
    console.log(`stderr (${lines.length} lines)${lines.map((l) => `\n  | ${l}`).join('')}`);
    if (r.memoryBytes !== null) console.log(`memory: ${r.memoryBytes / 65536} pages`);
  }
  if (r.hostError && !r.trap) console.error(`run-node: node said: ${r.hostError}`);
  process.exitCode = status ?? 1;
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4]);
else if (process.argv[1] && resolve(process.argv[1]) === self) main(process.argv.slice(2));
