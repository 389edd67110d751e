// {{name}}: a Shutter step in AssemblyScript (wasm32, WASI preview1 through
// @assemblyscript/wasi-shim), on the WASI-command contract: parameters
// arrive as one JSON object on stdin, outputs go as one JSON object to
// stdout, each stderr line is a log line (a "warn:", "error:" or "debug:"
// prefix sets its level), and the exit code says how it ended: 0 success,
// 75 a retryable failure (the engine may try again), anything else a fatal
// one whose message is the last stderr line.
//
// It works on the UTF-8 bytes as they come: {"received": <params>} needs no
// JSON parsing, since the host always passes one JSON object.
import { fd_read, fd_write, proc_exit, errnoToString } from "bindings/wasi_snapshot_preview1";

// The exit codes the engine tells apart.
const STEP_FATAL: u32 = 1;
// EX_TEMPFAIL: try again later (a busy peer, a lock held), as in
// fail("the array is busy", STEP_RETRY).
const STEP_RETRY: u32 = 75;

/** Scratch for the iovec and the count that fd_read/fd_write fill in. */
const scratch = memory.data(16);

/** Writes all of `data` to `fd` (a write may be short); returns a WASI errno, 0 on success. */
function writeAll(fd: u32, data: Uint8Array): u16 {
  let off = 0;
  while (off < data.length) {
    store<u32>(scratch, <u32>(data.dataStart + off));
    store<u32>(scratch, <u32>(data.length - off), 4);
    const err = fd_write(fd, scratch, 1, scratch + 8);
    if (err) return err;
    off += <i32>load<u32>(scratch, 8);
  }
  return 0;
}

function utf8(text: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(text));
}

/** One log line on stderr. */
function log(line: string): void {
  writeAll(2, utf8(line + "\n"));
}

/** Writes `message` as the last stderr line and exits with `code`. */
function fail(message: string, code: u32 = STEP_FATAL): void {
  log(message);
  proc_exit(code);
}

/** All of stdin. */
function readStdin(): Uint8Array {
  let buf = new Uint8Array(64 * 1024);
  let n = 0;
  for (;;) {
    if (n == buf.length) {
      const more = new Uint8Array(buf.length * 2);
      memory.copy(more.dataStart, buf.dataStart, n);
      buf = more;
    }
    store<u32>(scratch, <u32>(buf.dataStart + n));
    store<u32>(scratch, <u32>(buf.length - n), 4);
    const err = fd_read(0, scratch, 1, scratch + 8);
    if (err) fail(`cannot read the parameters: ${errnoToString(err)}`);
    const got = <i32>load<u32>(scratch, 8);
    if (got == 0) break;
    n += got;
  }
  return buf.subarray(0, n);
}

function main(): void {
  const params = readStdin();
  log("{{name}} started");

  const head = utf8('{"received":');
  const tail = utf8("}\n");
  const out = new Uint8Array(head.length + params.length + tail.length);
  out.set(head);
  out.set(params, head.length);
  out.set(tail, head.length + params.length);
  const err = writeAll(1, out);
  if (err) fail(`cannot write the outputs: ${errnoToString(err)}`);
}

main();
