// spiral, in AssemblyScript (wasm32, WASI preview1 through
// @assemblyscript/wasi-shim): the same step as examples/c/spiral.c, on the
// same WASI-command contract (see ../../../README.md).
//
// Input  {"tree": T}, T = null or {"value": number|string, "left": T,
//        "right": T} (children optional).
// Output {"order": [...]}: level order, odd levels (the root's is 1)
//        right-to-left, even levels left-to-right, so 1(2(4,5),3(6,7))
//        gives [1, 2, 3, 7, 6, 5, 4].
//
// AssemblyScript has no JSON in its standard library, and this step needs
// each number's source text and a reader that cannot overflow the stack, so
// this file carries its own reader: a line-by-line port of
// examples/c/json.c. It works on UTF-8 bytes (never on UTF-16 strings), is
// iterative (each node's parent pointer is the stack, so a 10,000-deep
// tree costs heap, not call stack), validates UTF-8 and \u surrogates, and
// keeps each number's source text. Error messages, their positions and the
// output bytes are the C module's.
import {
  fd_read,
  fd_write,
  proc_exit,
  errnoToString,
} from "bindings/wasi_snapshot_preview1";

const STEP_FATAL: u32 = 1;
// 75 (EX_TEMPFAIL) would ask the engine to retry; spiral has no transient
// failures.

/** Larger inputs are refused (as in step.h). */
const STEP_MAX_INPUT: i32 = 64 * 1024 * 1024;
/** Bounds the tree's nesting, as MAX_TREE_DEPTH in C. */
const MAX_TREE_DEPTH: i32 = 100000;

// ---- the contract ----

/** Scratch for the iovec and the count that fd_read/fd_write fill in. */
const scratch = memory.data(16);

/** Writes all of `data` to `fd`; returns a WASI errno, 0 on success. */
function writeAll(fd: u32, data: Uint8Array, len: i32): u16 {
  let off = 0;
  while (off < len) {
    store<u32>(scratch, <u32>(data.dataStart + off));
    store<u32>(scratch, <u32>(len - off), 4);
    const err = fd_write(fd, scratch, 1, scratch + 8);
    if (err) return err;
    off += <i32>load<u32>(scratch, 8);
  }
  return 0;
}

/**
 * Writes `message` as the last stderr line and exits with `code`. Like
 * step_fail in C: newlines become spaces and a line is cut at 2,047 bytes.
 */
function fail(message: string, code: u32 = STEP_FATAL): void {
  const utf8 = Uint8Array.wrap(String.UTF8.encode(message));
  let n = utf8.length;
  if (n >= 2048) {
    n = 2047;
    utf8[2044] = 0x2e;
    utf8[2045] = 0x2e;
    utf8[2046] = 0x2e;
  }
  const line = new Uint8Array(n + 1);
  for (let i = 0; i < n; i++) {
    const c = utf8[i];
    line[i] = c == 0x0a || c == 0x0d ? 0x20 : c;
  }
  line[n] = 0x0a;
  writeAll(2, line, n + 1);
  proc_exit(code);
}

// ---- UTF-8 ----

/**
 * Length of the valid UTF-8 sequence at s[i] (n bytes available), or 0.
 * Rejects overlong forms, surrogates and code points above U+10FFFF.
 */
function utf8Seq(s: Uint8Array, i: i32, n: i32): i32 {
  const c = <u32>s[i];
  let lo: u32 = 0x80, hi: u32 = 0xbf, need = 0;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) need = 2;
  else if (c == 0xe0) { need = 3; lo = 0xa0; }
  else if (c == 0xed) { need = 3; hi = 0x9f; }
  else if (c >= 0xe1 && c <= 0xef) need = 3;
  else if (c == 0xf0) { need = 4; lo = 0x90; }
  else if (c == 0xf4) { need = 4; hi = 0x8f; }
  else if (c >= 0xf1 && c <= 0xf3) need = 4;
  else return 0;
  if (n < need || <u32>s[i + 1] < lo || <u32>s[i + 1] > hi) return 0;
  for (let k = 2; k < need; k++) if ((s[i + k] & 0xc0) != 0x80) return 0;
  return need;
}

function utf8Put(out: Uint8Array, o: i32, cp: u32): i32 {
  if (cp < 0x80) {
    out[o] = <u8>cp;
    return 1;
  }
  if (cp < 0x800) {
    out[o] = <u8>(0xc0 | (cp >> 6));
    out[o + 1] = <u8>(0x80 | (cp & 0x3f));
    return 2;
  }
  if (cp < 0x10000) {
    out[o] = <u8>(0xe0 | (cp >> 12));
    out[o + 1] = <u8>(0x80 | ((cp >> 6) & 0x3f));
    out[o + 2] = <u8>(0x80 | (cp & 0x3f));
    return 3;
  }
  out[o] = <u8>(0xf0 | (cp >> 18));
  out[o + 1] = <u8>(0x80 | ((cp >> 12) & 0x3f));
  out[o + 2] = <u8>(0x80 | ((cp >> 6) & 0x3f));
  out[o + 3] = <u8>(0x80 | (cp & 0x3f));
  return 4;
}

// ---- JSON values ----

const JSON_NULL = 0;
const JSON_BOOL = 1;
const JSON_NUMBER = 2;
const JSON_STRING = 3;
const JSON_ARRAY = 4;
const JSON_OBJECT = 5;

function typeName(t: i32): string {
  switch (t) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "boolean";
    case JSON_NUMBER: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
  }
  return "?";
}

/** One value, linked into its parent like `json` in json.h. */
class Json {
  type: i32 = JSON_NULL;
  boolean: bool = false;
  /** JSON_STRING: decoded bytes; JSON_NUMBER: source text. */
  str: Uint8Array | null = null;
  /** Member name when the parent is an object. */
  key: Uint8Array | null = null;
  parent: Json | null = null;
  first: Json | null = null;
  last: Json | null = null;
  next: Json | null = null;
}

function sameBytes(a: Uint8Array, b: string): bool {
  // Member names compared here are ASCII.
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) if (<i32>a[i] != b.charCodeAt(i)) return false;
  return true;
}

/** The first member named `key`, or null. */
function jsonGet(obj: Json, key: string): Json | null {
  if (obj.type != JSON_OBJECT) return null;
  let m = obj.first;
  while (m) {
    if (sameBytes(m.key!, key)) return m;
    m = m.next;
  }
  return null;
}

/** The first member whose name is not in `allowed`, or null. */
function unknownMember(obj: Json, allowed: string[]): Json | null {
  if (obj.type != JSON_OBJECT) return null;
  let m = obj.first;
  while (m) {
    let known = false;
    for (let i = 0; i < allowed.length; i++) if (sameBytes(m.key!, allowed[i])) known = true;
    if (!known) return m;
    m = m.next;
  }
  return null;
}

// ---- reader: an explicit state machine, as in json.c ----

function isDigit(c: u32): bool {
  return c >= 0x30 && c <= 0x39;
}

function hexDigit(c: u32): i32 {
  if (c >= 0x30 && c <= 0x39) return <i32>c - 0x30;
  if (c >= 0x61 && c <= 0x66) return <i32>c - 0x61 + 10;
  if (c >= 0x41 && c <= 0x46) return <i32>c - 0x41 + 10;
  return -1;
}

function hex2(v: u32): string {
  const s = v.toString(16);
  return s.length < 2 ? "0" + s : s;
}

function hex4upper(v: u32): string {
  let s = v.toString(16).toUpperCase();
  while (s.length < 4) s = "0" + s;
  return s;
}

class Parser {
  pos: i32 = 0;
  constructor(public s: Uint8Array, public len: i32) {}

  /** Fails the step with "line L, column C: what" at the current position. */
  fail(what: string): void {
    let line = 1, col = 1;
    for (let i = 0; i < this.pos && i < this.len; i++) {
      if (this.s[i] == 0x0a) {
        line++;
        col = 1;
      } else col++;
    }
    fail(`parameters are not valid JSON: line ${line}, column ${col}: ${what}`);
  }

  skipWs(): void {
    while (this.pos < this.len) {
      const c = this.s[this.pos];
      if (c != 0x20 && c != 0x09 && c != 0x0a && c != 0x0d) break;
      this.pos++;
    }
  }

  /** 4 hex digits at s[i..i+4] as a number, or -1. */
  hex4(i: i32): i32 {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const d = hexDigit(this.s[i + k]);
      if (d < 0) return -1;
      v = (v << 4) | d;
    }
    return v;
  }

  /** Decodes the string at pos (on its opening quote). */
  parseString(): Uint8Array {
    const s = this.s;
    const start = this.pos + 1;
    let end = start;
    // Find the closing quote first, so the buffer can be sized: decoded
    // text is never longer than its escaped form.
    let escaped = false;
    while (end < this.len && s[end] != 0x22) {
      if (s[end] == 0x5c) {
        escaped = true;
        end += 2;
      } else end++;
    }
    if (end >= this.len) this.fail("unterminated string");
    if (!escaped) {
      // The common case: check it, and keep a view of the input (no copy).
      for (this.pos = start; this.pos < end; ) {
        const c = <u32>s[this.pos];
        if (c < 0x20) this.fail(`control character 0x${hex2(c)} in string must be escaped`);
        const k = utf8Seq(s, this.pos, end - this.pos);
        if (!k) this.fail("invalid UTF-8 in string");
        this.pos += k;
      }
      this.pos = end + 1;
      return s.subarray(start, end);
    }
    const buf = new Uint8Array(end - start);
    let o = 0;
    this.pos = start;
    while (this.pos < end) {
      const c = <u32>s[this.pos];
      if (c == 0x5c) {
        const e = <u32>s[this.pos + 1];
        this.pos += 2;
        switch (e) {
          case 0x22: buf[o++] = 0x22; break;
          case 0x5c: buf[o++] = 0x5c; break;
          case 0x2f: buf[o++] = 0x2f; break;
          case 0x62: buf[o++] = 0x08; break;
          case 0x66: buf[o++] = 0x0c; break;
          case 0x6e: buf[o++] = 0x0a; break;
          case 0x72: buf[o++] = 0x0d; break;
          case 0x74: buf[o++] = 0x09; break;
          case 0x75: {
            let cp = end - this.pos < 4 ? -1 : this.hex4(this.pos);
            if (cp < 0) this.fail("\\u must be followed by four hex digits");
            this.pos += 4;
            if (cp >= 0xdc00 && cp <= 0xdfff) this.fail(`lone low surrogate \\u${hex4upper(cp)}`);
            if (cp >= 0xd800 && cp <= 0xdbff) {
              const lo = end - this.pos < 6 || s[this.pos] != 0x5c || s[this.pos + 1] != 0x75
                ? -1 : this.hex4(this.pos + 2);
              if (lo < 0xdc00 || lo > 0xdfff)
                this.fail(`high surrogate \\u${hex4upper(cp)} without a low surrogate`);
              this.pos += 6;
              cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            }
            o += utf8Put(buf, o, <u32>cp);
            break;
          }
          default:
            this.pos -= 1;
            this.fail("invalid escape");
        }
      } else if (c < 0x20) {
        this.fail(`control character 0x${hex2(c)} in string must be escaped`);
      } else {
        const k = utf8Seq(s, this.pos, end - this.pos);
        if (!k) this.fail("invalid UTF-8 in string");
        for (let i = 0; i < k; i++) buf[o++] = s[this.pos + i];
        this.pos += k;
      }
    }
    this.pos = end + 1;
    return buf.subarray(0, o);
  }

  parseNumber(v: Json): void {
    const s = this.s;
    const start = this.pos;
    let ok = true;
    if (s[this.pos] == 0x2d) this.pos++;
    if (this.pos < this.len && s[this.pos] == 0x30) this.pos++;
    else if (this.pos < this.len && isDigit(s[this.pos]))
      while (this.pos < this.len && isDigit(s[this.pos])) this.pos++;
    else ok = false;
    if (ok && this.pos < this.len && s[this.pos] == 0x2e) {
      this.pos++;
      if (this.pos >= this.len || !isDigit(s[this.pos])) ok = false;
      else while (this.pos < this.len && isDigit(s[this.pos])) this.pos++;
    }
    if (ok && this.pos < this.len && (s[this.pos] == 0x65 || s[this.pos] == 0x45)) {
      this.pos++;
      if (this.pos < this.len && (s[this.pos] == 0x2b || s[this.pos] == 0x2d)) this.pos++;
      if (this.pos >= this.len || !isDigit(s[this.pos])) ok = false;
      else while (this.pos < this.len && isDigit(s[this.pos])) this.pos++;
    }
    if (!ok) this.fail("invalid number");
    const text = s.subarray(start, this.pos);
    v.type = JSON_NUMBER;
    v.str = text;
    if (!isFinite(parseFloat(String.UTF8.decode(text.slice().buffer)))) {
      this.pos = start;
      this.fail("number out of range");
    }
  }

  parseLiteral(word: string): void {
    const n = word.length;
    let ok = this.len - this.pos >= n;
    for (let i = 0; ok && i < n; i++) ok = <i32>this.s[this.pos + i] == word.charCodeAt(i);
    if (!ok) this.fail(`invalid literal (expected ${word})`);
    this.pos += n;
  }

  /** `"name" :` inside an object; returns the name. */
  parseKey(): Uint8Array {
    this.skipWs();
    if (this.pos >= this.len || this.s[this.pos] != 0x22)
      this.fail("expected a member name in double quotes");
    const key = this.parseString();
    this.skipWs();
    if (this.pos >= this.len || this.s[this.pos] != 0x3a) this.fail("expected ':' after member name");
    this.pos++;
    return key;
  }

  /** Parses the whole input as one value, nesting at most maxDepth deep. */
  parse(maxDepth: i32): Json {
    const text = this.s;
    const len = this.len;
    let root: Json | null = null;
    let cur: Json | null = null;
    let key: Uint8Array | null = null;
    let depth = 0;
    let finished = false;
    while (!finished) {
      // Expecting a value.
      this.skipWs();
      if (this.pos >= len) this.fail(cur ? "unexpected end of input" : "no JSON value in the input");
      const v = new Json();
      v.parent = cur;
      v.key = key;
      key = null;
      if (!cur) root = v;
      else {
        const c = cur;
        if (c.last) c.last!.next = v;
        else c.first = v;
        c.last = v;
      }
      let c = <u32>text[this.pos];
      let opened = false;
      if (c == 0x7b || c == 0x5b) {
        if (depth >= maxDepth) this.fail(`nesting deeper than ${maxDepth} levels`);
        v.type = c == 0x7b ? JSON_OBJECT : JSON_ARRAY;
        this.pos++;
        this.skipWs();
        if (this.pos < len && <u32>text[this.pos] == (c == 0x7b ? 0x7d : 0x5d)) {
          this.pos++; // empty: complete at once
        } else {
          depth++;
          cur = v;
          if (v.type == JSON_OBJECT) key = this.parseKey();
          opened = true;
        }
      } else if (c == 0x22) {
        v.type = JSON_STRING;
        v.str = this.parseString();
      } else if (c == 0x74 || c == 0x66) {
        v.type = JSON_BOOL;
        v.boolean = c == 0x74;
        this.parseLiteral(c == 0x74 ? "true" : "false");
      } else if (c == 0x6e) {
        v.type = JSON_NULL;
        this.parseLiteral("null");
      } else if (c == 0x2d || isDigit(c)) {
        this.parseNumber(v);
      } else if (c > 0x20 && c < 0x7f) {
        this.fail(`unexpected '${String.fromCharCode(c)}'`);
      } else {
        this.fail(`unexpected byte 0x${hex2(c)}`);
      }
      if (opened) continue;
      // A value is complete: close containers until one wants more.
      for (;;) {
        if (!cur) {
          finished = true;
          break;
        }
        const open = cur;
        this.skipWs();
        const close: u32 = open.type == JSON_OBJECT ? 0x7d : 0x5d;
        if (this.pos >= len)
          this.fail(`unexpected end of input (missing '${String.fromCharCode(close)}')`);
        c = <u32>text[this.pos];
        if (c == close) {
          this.pos++;
          depth--;
          cur = open.parent;
          continue;
        }
        if (c != 0x2c) this.fail(`expected ',' or '${String.fromCharCode(close)}'`);
        this.pos++;
        if (open.type == JSON_OBJECT) key = this.parseKey();
        break;
      }
    }
    this.skipWs();
    if (this.pos < len) this.fail("unexpected data after the JSON value");
    return root!;
  }
}

// ---- writer ----

/** A growable byte buffer. */
class Bytes {
  data: Uint8Array = new Uint8Array(256);
  len: i32 = 0;

  reserve(n: i32): void {
    if (this.data.length - this.len >= n) return;
    let cap = this.data.length;
    while (cap - this.len < n) cap *= 2;
    const more = new Uint8Array(cap);
    memory.copy(more.dataStart, this.data.dataStart, this.len);
    this.data = more;
  }

  byte(c: u32): void {
    this.reserve(1);
    this.data[this.len++] = <u8>c;
  }

  raw(s: Uint8Array): void {
    this.reserve(s.length);
    memory.copy(this.data.dataStart + this.len, s.dataStart, s.length);
    this.len += s.length;
  }

  /** ASCII text. */
  ascii(s: string): void {
    for (let i = 0; i < s.length; i++) this.byte(s.charCodeAt(i));
  }

  /**
   * A quoted, escaped JSON string, exactly as jb_string in C: only the
   * required escapes, other control characters as \u00xx, invalid UTF-8
   * (impossible after the reader) as \ufffd, all else unchanged.
   */
  string(s: Uint8Array): void {
    const n = s.length;
    this.byte(0x22);
    let i = 0;
    while (i < n) {
      const c = <u32>s[i];
      let k = 1;
      switch (c) {
        case 0x22: this.ascii('\\"'); break;
        case 0x5c: this.ascii("\\\\"); break;
        case 0x0a: this.ascii("\\n"); break;
        case 0x0d: this.ascii("\\r"); break;
        case 0x09: this.ascii("\\t"); break;
        case 0x08: this.ascii("\\b"); break;
        case 0x0c: this.ascii("\\f"); break;
        default:
          if (c < 0x20) this.ascii("\\u00" + hex2(c));
          else if (c < 0x80) this.byte(c);
          else {
            k = utf8Seq(s, i, n - i);
            if (!k) {
              this.ascii("\\ufffd");
              k = 1;
            } else this.raw(s.subarray(i, i + k));
          }
      }
      i += k;
    }
    this.byte(0x22);
  }
}

/** `s` quoted as JSON, for messages that name user data. */
function quote(s: Uint8Array): string {
  const b = new Bytes();
  b.string(s);
  return String.UTF8.decode(b.data.slice(0, b.len).buffer);
}

// ---- the step ----

function readStdin(): Uint8Array {
  let buf = new Uint8Array(64 * 1024);
  let n = 0;
  for (;;) {
    if (n == buf.length) {
      if (buf.length >= STEP_MAX_INPUT) fail(`parameters larger than ${STEP_MAX_INPUT} bytes`);
      const more = new Uint8Array(buf.length * 2);
      memory.copy(more.dataStart, buf.dataStart, n);
      buf = more;
    }
    store<u32>(scratch, <u32>(buf.dataStart + n));
    store<u32>(scratch, <u32>(buf.length - n), 4);
    const err = fd_read(0, scratch, 1, scratch + 8);
    if (err) fail(`cannot read stdin: ${errnoToString(err)}`);
    const got = <i32>load<u32>(scratch, 8);
    if (got == 0) break;
    n += got;
  }
  return buf.subarray(0, n);
}

/** Checks one node and returns its value; depth and pos locate it. */
function checkedValue(node: Json, depth: i32, pos: i32): Json {
  const where = `tree node at level ${depth}, position ${pos}`;
  const bad = unknownMember(node, ["value", "left", "right"]);
  if (bad) fail(`${where}: unknown member ${quote(bad.key!)}`);
  const value = jsonGet(node, "value");
  if (!value) {
    fail(`${where}: missing "value"`);
    return node; // not reached: fail exits
  }
  if (value.type != JSON_NUMBER && value.type != JSON_STRING)
    fail(`${where}: "value" must be a number or a string, got ${typeName(value.type)}`);
  return value;
}

/** Adds node's child `side` to `next` unless it is absent or null. */
function gather(next: Json[], node: Json, side: string, depth: i32, pos: i32): void {
  const child = jsonGet(node, side);
  if (!child || child.type == JSON_NULL) return;
  if (child.type != JSON_OBJECT)
    fail(`tree node at level ${depth}, position ${pos}: "${side}" must be an object or null, got ${typeName(child.type)}`);
  next.push(child);
}

function main(): void {
  const input = readStdin();
  const params = new Parser(input, input.length).parse(MAX_TREE_DEPTH + 1);
  if (params.type != JSON_OBJECT) fail(`parameters must be a JSON object, got ${typeName(params.type)}`);
  const bad = unknownMember(params, ["tree"]);
  if (bad) fail(`unknown parameter ${quote(bad.key!)}`);
  const tree = jsonGet(params, "tree");
  if (!tree) {
    fail('missing parameter "tree"');
    return;
  }
  if (tree.type != JSON_NULL && tree.type != JSON_OBJECT)
    fail(`"tree" must be an object or null, got ${typeName(tree.type)}`);

  let cur: Json[] = [];
  let next: Json[] = [];
  if (tree.type == JSON_OBJECT) cur.push(tree);
  const out = new Bytes();
  let first = true;
  out.ascii('{"order":[');
  for (let depth = 1; cur.length; depth++) {
    const leftToRight = depth % 2 == 0;
    const n = cur.length;
    for (let k = 0; k < n; k++) {
      const i = leftToRight ? k : n - 1 - k;
      const value = checkedValue(cur[i], depth, i + 1);
      if (!first) out.byte(0x2c);
      first = false;
      if (value.type == JSON_NUMBER) out.raw(value.str!);
      else out.string(value.str!);
    }
    next.length = 0;
    for (let i = 0; i < n; i++) {
      gather(next, cur[i], "left", depth, i + 1);
      gather(next, cur[i], "right", depth, i + 1);
    }
    const t = cur;
    cur = next;
    next = t;
  }
  out.ascii("]}\n");
  const err = writeAll(1, out.data, out.len);
  if (err) fail(`cannot write stdout: ${errnoToString(err)}`);
}

main();
