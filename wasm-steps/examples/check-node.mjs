#!/usr/bin/env node
// Checks every example module against hand-built inputs, under node:wasi
// (see run-node.mjs; the engine's own tests will use wasmtime).
//
//   wasm-steps/build.sh && node wasm-steps/examples/check-node.mjs [TARGET_DIR]
//
// Prints one line per check, then `N passed, N failed`, and exits 1 if any
// failed. The spiral cases run against spiral.wasm (C) and against every
// other spiral-*.wasm in TARGET_DIR (spiral-go, spiral-zig, spiral-as:
// ports to other guest languages), which must also give the C module's
// exact stdout, exit code and last stderr line on a list of further inputs. Where an answer is
// not obvious by eye (random trees, retention plans) a small JavaScript
// reference computes it, so the C code is checked against a second,
// independently written implementation.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runModule } from './run-node.mjs';

const target = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'target');
let passed = 0;
let failed = 0;

function run(name, input) {
  const text = typeof input === 'string' ? input : JSON.stringify(input);
  return runModule(join(target, `${name}.wasm`), text, { timeoutMs: 20000 });
}
function output(r) {
  try {
    return JSON.parse(r.stdout.toString('utf8'));
  } catch {
    return undefined;
  }
}
function lastLine(r) {
  return r.stderr.toString('utf8').trimEnd().split('\n').pop();
}
function check(name, ok, detail) {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${ok ? '' : `\n     ${detail}`}`);
  if (ok) passed++;
  else failed++;
}
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
function expectOutput(name, module, input, want) {
  const r = run(module, input);
  const got = output(r);
  check(name, r.exit === 0 && same(got, want),
    `exit ${r.exit} ${r.trap ?? ''} stdout ${r.stdout.toString().slice(0, 300)} stderr ${lastLine(r)}`);
  return got;
}
function expectFatal(name, module, input, pattern) {
  const r = run(module, input);
  check(name, r.exit === 1 && r.stdout.length === 0 && pattern.test(lastLine(r)),
    `exit ${r.exit} ${r.trap ?? ''} last stderr line: ${lastLine(r)}`);
  return r;
}

// ---- spiral ----
const node = (value, left, right) => ({ value, ...(left && { left }), ...(right && { right }) });
function spiralRef(tree) {
  const order = [];
  let level = tree ? [tree] : [];
  for (let depth = 1; level.length; depth++) {
    const values = level.map((n) => n.value);
    order.push(...(depth % 2 === 0 ? values : values.reverse()));
    level = level.flatMap((n) => [n.left, n.right].filter(Boolean));
  }
  return order;
}
// JSON text for a one-sided chain, built as text: deep JSON.stringify is
// itself recursive.
function chainText(depth, side) {
  const sides = typeof side === 'string' ? () => side : side;
  let text = '';
  for (let i = 1; i < depth; i++) text += `{"value":${i},"${sides(i)}":`;
  return `{"tree":${text}{"value":${depth}}${'}'.repeat(depth - 1)}}`;
}
function randomTree(rand, size) {
  if (size === 0) return undefined;
  const left = Math.floor(rand() * size);
  return node(Math.floor(rand() * 1000), randomTree(rand, left), randomTree(rand, size - 1 - left));
}
function seeded(seed) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
}

/** The spiral cases, run against `module` (spiral, spiral-go, ...). */
function checkSpiral(module) {
  const seven = node(1, node(2, node(4), node(5)), node(3, node(6), node(7)));
  expectOutput(`${module}: empty tree`, module, { tree: null }, { order: [] });
  expectOutput(`${module}: one node`, module, { tree: node(1) }, { order: [1] });
  expectOutput(`${module}: 1(2(4,5),3(6,7)) -> [1,2,3,7,6,5,4]`, module, { tree: seven }, { order: [1, 2, 3, 7, 6, 5, 4] });
  const seq = (n) => Array.from({ length: n }, (_, i) => i + 1);
  expectOutput(`${module}: left-only chain of 6`, module, chainText(6, 'left'), { order: seq(6) });
  expectOutput(`${module}: right-only chain of 6`, module, chainText(6, 'right'), { order: seq(6) });
  expectOutput(`${module}: left-only chain 10,000 deep`, module, chainText(10000, 'left'), { order: seq(10000) });
  expectOutput(`${module}: right-only chain 10,000 deep`, module, chainText(10000, 'right'), { order: seq(10000) });
  expectOutput(`${module}: zigzag chain 10,000 deep`, module,
    chainText(10000, (i) => (i % 2 ? 'left' : 'right')), { order: seq(10000) });
  expectOutput(`${module}: strings and numbers keep their text`, module,
    '{"tree":{"value":"root","left":{"value":1.50},"right":{"value":"\\u00e9\\n","left":null}}}',
    { order: ['root', 1.5, 'é\n'] });
  const r = run(module, '{"tree":{"value":1.50,"left":{"value":-2e3}}}');
  check(`${module}: number text passes through unchanged`, r.stdout.toString() === '{"order":[1.50,-2e3]}\n', r.stdout.toString());
  const rand = seeded(42);
  for (let i = 0; i < 10; i++) {
    const tree = randomTree(rand, 1 + Math.floor(rand() * 300));
    expectOutput(`${module}: random tree ${i + 1} matches the JS reference`, module, { tree }, { order: spiralRef(tree) });
  }
  expectFatal(`${module}: missing value is fatal`, module, { tree: node(1, { left: null }) },
    /level 2, position 1: missing "value"/);
  expectFatal(`${module}: boolean value is fatal`, module, { tree: { value: true } }, /"value" must be a number or a string, got boolean/);
  expectFatal(`${module}: non-object child is fatal`, module, { tree: { value: 1, right: 5 } }, /"right" must be an object or null, got number/);
  expectFatal(`${module}: misspelt member is fatal`, module, { tree: { value: 1, lefft: null } }, /unknown member "lefft"/);
  expectFatal(`${module}: missing tree is fatal`, module, {}, /missing parameter "tree"/);
  // Syntax errors are worded by each language's JSON reader; the C one
  // (and the AssemblyScript port of it) must also point at the literal.
  expectFatal(`${module}: not JSON is fatal`, module, '{"tree": nul}',
    ['spiral', 'spiral-as'].includes(module) ? /^parameters are not valid JSON: line 1, column 10: invalid literal/
      : /^parameters are not valid JSON: line 1, column \d+: ./);
  expectFatal(`${module}: 100,001 levels is refused, not a crash`, module, chainText(100001, 'left'), /nesting deeper than 100001 levels/);
}

// Further inputs on which every port must answer exactly as the C module
// does: the same stdout bytes, exit code and last stderr line. Only JSON
// syntax errors may be worded differently (each language has its own JSON
// reader; the AssemblyScript one is a port of json.c and must match too).
function sameAsCInputs() {
  const t = (tree) => JSON.stringify({ tree });
  const full = (depth, k = 0) => (depth ? node(`n${k}`, full(depth - 1, 2 * k + 1), full(depth - 1, 2 * k + 2)) : undefined);
  return [
    // valid
    t(null), ' \n\t{ "tree" : null }\r\n', t(node(0)), t(full(12)),
    '{"tree":{"value":-0,"left":{"value":1E+2},"right":{"value":12345678901234567890123,'
      + '"left":{"value":0.000e-0},"right":{"value":-1.5e-300,"left":{"value":1e-400}}}}}',
    '{"tree":{"value":1.7976931348623157e308}}',
    t(node('\u0000\u001f\u007f/"\\\b\f\n\r\t', node('𝄞 é \u2028\u2029 <>&\'', node('')))),
    '{"tree":{"value":"\\u0000\\u001F\\u007f\\/\\"\\\\\\b\\f\\n\\r\\t","left":{"value":"\\ud834\\udd1e \\u00E9 \\u2028"}}}',
    '{"tree":{"value":1,"value":2,"left":{"value":3},"left":null}}',
    '{"tree":{"\\u0076alue":7,"r\\u0069ght":{"value":8}}}',
    '{"tree":null,"tree":{"value":1}}',
    chainText(100000, 'right'),
    // valid JSON, not a valid tree
    t(node(null)), t(node([1])), t(node({})), t([]), t('x'), t(1), t(true), '[]', '"x"', 'null', '{"tree":null,"extra":1}',
    t({ value: 1, left: [] }), t({ value: 1, left: node(2), right: { nope: 1 } }),
    t(node(1, node(true), node(false))),
    t(node(1, node(2, { value: true }, node(4)), node(3, node(5), { value: null }))),
    '{"tree":{"value":1,"left":{"value":2,"left":5},"right":{"value":"bad","x":1}}}',
    '{"tree":{"value":1,"l\\neft\\u00e9\\u0000":1}}',
    t({ value: 1, ['k'.repeat(3000)]: 1 }),
    '{"tree\\t":null}',
    // not JSON
    '', ' ', '{', '{"tree":}', '{"tree":null,}', '{"tree":null}}', '{"tree":01}', '{"tree":1.}', '{"tree":-}',
    '{"tree":"\\x"}', '{"tree":"\\ud800"}', '{"tree":"\\udc00"}', '{"tree":"\\ud800\\u0041"}', '{"tree":"tab\there"}',
    '{"tree":tru}', '{"tree":1e999}', '{"tree":-1.7976931348623159e308}', "{'tree':1}", '{"tree" null}', '{tree:1}',
    Buffer.from('{"tree":{"value":"\xff"}}', 'latin1'), Buffer.from('{"tree":{"value":"\xed\xa0\x80"}}', 'latin1'),
    Buffer.from('{"tree":{"value":"\xc0\xaf"}}', 'latin1'), Buffer.from('\xef\xbb\xbf{"tree":null}', 'latin1'),
    '{"tree":null}\n{"tree":null}', `{"tree":${'['.repeat(100001)}${']'.repeat(100001)}}`,
  ];
}
const syntaxError = /^parameters are not valid JSON: line \d+, column \d+: ./;
function checkSameAsC(module, inputs) {
  const diffs = [];
  for (const input of inputs) {
    const want = run('spiral', input);
    const got = run(module, input);
    const [wantLine, gotLine] = [lastLine(want), lastLine(got)];
    const linesAgree = wantLine === gotLine
      || (module !== 'spiral-as' && syntaxError.test(wantLine) && syntaxError.test(gotLine));
    if (got.exit !== want.exit || got.trap || !got.stdout.equals(want.stdout) || !linesAgree) {
      diffs.push(`input ${JSON.stringify(input.toString('latin1')).slice(0, 80)}\n       C:    exit ${want.exit} `
        + `stdout ${want.stdout.toString().slice(0, 80)} stderr ${wantLine.slice(0, 160)}\n       ${module}: exit ${got.exit} `
        + `${got.trap ?? ''} stdout ${got.stdout.toString().slice(0, 80)} stderr ${gotLine.slice(0, 160)}`);
    }
  }
  check(`${module}: ${inputs.length} more inputs give the C module's stdout, exit code and last stderr line`,
    diffs.length === 0, diffs.join('\n     '));
}

/** Size and initial linear memory, for the record (not a check). */
function describe(module) {
  const path = join(target, `${module}.wasm`);
  const compiled = new WebAssembly.Module(readFileSync(path));
  const imports = {};
  for (const i of WebAssembly.Module.imports(compiled)) (imports[i.module] ??= {})[i.name] = () => 0;
  const { memory } = new WebAssembly.Instance(compiled, imports).exports; // _start is not run
  console.log(`     ${module}.wasm: ${statSync(path).size} bytes, initial memory ${memory.buffer.byteLength / 65536} pages`);
}

/** spiral.wasm, then each port (spiral-go.wasm, spiral-zig.wasm, ...) found. */
function checkSpirals() {
  describe('spiral');
  checkSpiral('spiral');
  const ports = readdirSync(target).filter((f) => /^spiral-.+\.wasm$/.test(f)).map((f) => f.slice(0, -5)).sort();
  if (!ports.length) console.log(`     no spiral-*.wasm ports in ${target}`);
  const inputs = ports.length ? sameAsCInputs() : [];
  for (const port of ports) {
    describe(port);
    checkSpiral(port);
    checkSameAsC(port, inputs);
  }
}

// ---- retention ----
function isoWeek(t) {
  const d = new Date(t);
  const thursday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 3));
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday - Date.UTC(year, 0, 1)) / 604800000);
  return `${year}-W${String(week).padStart(2, '0')}`;
}
function retentionRef(snapshots, policy) {
  const s = snapshots.map((x) => ({ ...x, t: Date.parse(x.created_at) }))
    .sort((a, b) => b.t - a.t || (a.id < b.id ? -1 : 1));
  const period = {
    daily: (t) => new Date(t).toISOString().slice(0, 10),
    weekly: isoWeek,
    monthly: (t) => new Date(t).toISOString().slice(0, 7),
  };
  const reasons = new Map(s.map((x) => [x.id, []]));
  for (const rule of ['daily', 'weekly', 'monthly']) {
    const seen = new Set();
    for (const x of s) {
      const key = period[rule](x.t);
      if (seen.has(key)) continue;
      if (seen.size >= (policy[rule] ?? 0)) break;
      seen.add(key);
      reasons.get(x.id).push(rule);
    }
  }
  return {
    keep: s.filter((x) => reasons.get(x.id).length).map((x) => ({ id: x.id, reasons: reasons.get(x.id) })),
    delete: s.filter((x) => !reasons.get(x.id).length).map((x) => x.id),
  };
}
function checkPlan(name, snapshots, policy) {
  const r = run('retention', { snapshots, policy });
  const got = output(r);
  const want = retentionRef(snapshots, policy);
  const ok = r.exit === 0 && got && same(got.keep, want.keep) && same(got.delete.map((d) => d.id), want.delete);
  check(name, ok, `exit ${r.exit} ${lastLine(r)}\n     got  ${JSON.stringify(got?.keep)}\n     want ${JSON.stringify(want.keep)}`);
  return got;
}

function checkRetention() {
  // 60 days of nightly snapshots across a month and year end (2025-W01
  // starts on 2024-12-30), two missed nights, extra snapshots on the last
  // two days, and one timestamp written with an offset.
  const snapshots = [];
  for (let day = 0; day < 60; day++) {
    if (day === 20 || day === 41) continue;
    const date = new Date(Date.UTC(2024, 10, 3 + day, 2, 0, 0));
    snapshots.push({ id: `snap-${String(day).padStart(2, '0')}`, created_at: date.toISOString().replace('.000', ''), size_gb: 40 });
  }
  snapshots.push({ id: 'snap-58-pm', created_at: '2024-12-31T20:15:00Z' });
  snapshots.push({ id: 'snap-59-noon', created_at: '2025-01-01T14:00:00.250+02:00' });
  const policy = { daily: 7, weekly: 4, monthly: 3 };
  const got = checkPlan('retention: 60-day realistic set matches the JS reference', snapshots, policy);
  // By hand: 7 days (Dec 26 - Jan 1), weeks W51 and W50 add Dec 22 and Dec 15,
  // November adds Nov 30; W01, W52, January and December are already kept.
  check('retention: 60-day set keeps 10 and deletes 50', got?.keep.length === 10 && got?.delete.length === 50,
    `keep ${got?.keep.length} delete ${got?.delete.length}`);
  check('retention: newest first, with all three reasons', same(got?.keep[0], { id: 'snap-59-noon', reasons: ['daily', 'weekly', 'monthly'] }),
    JSON.stringify(got?.keep[0]));
  const old = got?.delete.find((d) => d.id === 'snap-00');
  check('retention: a delete reason names the periods',
    old?.reason === 'daily: 2024-11-03 is not among the last 7 days with snapshots; weekly: 2024-W44 is not among '
      + 'the last 4 weeks with snapshots; monthly: a newer snapshot is kept for 2024-11',
    old?.reason);
  const rand = seeded(7);
  for (let i = 0; i < 6; i++) {
    const set = Array.from({ length: 5 + Math.floor(rand() * 80) }, (_, k) => ({
      id: `r${k}`,
      created_at: new Date(Date.UTC(2023, 0, 1) + Math.floor(rand() * 700 * 86400) * 1000).toISOString(),
    }));
    const p = { daily: Math.floor(rand() * 10), weekly: Math.floor(rand() * 6), monthly: Math.floor(rand() * 13) };
    if (p.daily + p.weekly + p.monthly === 0) p.daily = 1;
    checkPlan(`retention: random set ${i + 1} (${set.length} snapshots) matches the JS reference`, set, p);
  }
  const zero = output(run('retention', { snapshots: snapshots.slice(0, 3), policy: {} }));
  check('retention: a policy keeping nothing still keeps the newest, and says why',
    same(zero?.keep, [{ id: 'snap-02', reasons: ['safety'] }]) && zero?.delete.length === 2 && /newest is kept/.test(zero?.note),
    JSON.stringify(zero));
  const future = output(run('retention', {
    snapshots: [{ id: 'a', created_at: '2025-01-01T00:00:00Z' }, { id: 'b', created_at: '2025-01-03T00:00:00Z' }],
    policy: { daily: 1 }, now: '2025-01-02T00:00:00Z',
  }));
  check('retention: snapshots after "now" are kept as future and take no slot',
    same(future?.keep, [{ id: 'b', reasons: ['future'] }, { id: 'a', reasons: ['daily'] }]), JSON.stringify(future));
  expectOutput('retention: no snapshots', 'retention', { snapshots: [], policy: { daily: 3 } }, { keep: [], delete: [] });
  expectFatal('retention: invalid timestamp names the snapshot', 'retention',
    { snapshots: [{ id: 'ok', created_at: '2024-01-01T00:00:00Z' }, { id: 'snap-x', created_at: '2024-02-30T00:00:00Z' }], policy: { daily: 1 } },
    /snapshot "snap-x": created_at "2024-02-30T00:00:00Z" is not an RFC 3339 timestamp: day out of range/);
  expectFatal('retention: timestamp without zone is fatal', 'retention',
    { snapshots: [{ id: 'n', created_at: '2024-01-01T00:00:00' }], policy: { daily: 1 } }, /"n".*missing time zone/);
  expectFatal('retention: duplicate ids are fatal', 'retention',
    { snapshots: [{ id: 'd', created_at: '2024-01-01T00:00:00Z' }, { id: 'd', created_at: '2024-01-02T00:00:00Z' }], policy: { daily: 1 } },
    /duplicate snapshot id "d"/);
  expectFatal('retention: misspelt rule is fatal', 'retention', { snapshots: [], policy: { dayly: 1 } }, /unknown policy rule "dayly"/);
  expectFatal('retention: negative count is fatal', 'retention', { snapshots: [], policy: { daily: -1 } }, /policy.daily must be an integer/);
}

// ---- verify-manifest ----
const sha = (c) => c.repeat(64);
function checkVerify() {
  const items = [
    { name: 'disk-0.img', size: 1073741824, sha256: sha('a'), tags: { vm: 'web-1', kind: 'disk' } },
    { name: 'disk-1.img', size: 2048, sha256: sha('b'), tags: { vm: 'web-1', kind: 'disk' } },
    { name: 'vm.json', size: 311, sha256: sha('c'), tags: { vm: 'web-1', kind: 'config' } },
  ];
  const expect = { items: items.map(({ name, size, sha256 }) => ({ name, size, sha256: sha256.toUpperCase() })), required_tags: ['vm', 'kind'] };
  expectOutput('verify-manifest: matching manifest passes', 'verify-manifest', { manifest: { items }, expect }, { ok: true, checked: 3 });

  const broken = [
    { ...items[0], size: 1073741823 },
    { ...items[1], sha256: sha('d'), tags: { vm: 'web-1' } },
    { name: 'extra\nline.bin', size: 1, sha256: sha('e'), tags: { vm: 'web-1', kind: 'junk' } },
    { name: 'no-sha', size: 5 },
  ];
  const r = run('verify-manifest', { manifest: { items: broken }, expect });
  const lines = r.stderr.toString('utf8').trimEnd().split('\n');
  const want = [
    '"no-sha": manifest item has no "sha256" (64 hex digits)',
    '"disk-1.img": lacks required tag "kind"',
    `"disk-0.img": size is 1073741823, expected 1073741824`,
    `"disk-1.img": sha256 is ${sha('d')}, expected ${sha('B')}`,
    '"vm.json": missing from the manifest',
    '"extra\\nline.bin": not expected',
    'verify-manifest: 6 problems in 4 manifest items (3 expected)',
  ];
  check('verify-manifest: every problem on its own line, summary last, exit 1',
    r.exit === 1 && r.stdout.length === 0 && same(lines, want), `exit ${r.exit}\n     ${lines.join('\n     ')}`);
  expectFatal('verify-manifest: duplicate names are reported', 'verify-manifest',
    { manifest: { items: [items[2], items[2]] }, expect: { items: [expect.items[2]] } }, /1 problem in 2 manifest items/);
  expectFatal('verify-manifest: malformed expectation stops at once', 'verify-manifest',
    { manifest: { items }, expect: { items: [{ name: 'x', size: 1, sha256: 'abc' }] } }, /^expect.items\[0\] has no "sha256"/);
}

// ---- echo and the JSON reader/writer behind every step ----
function checkEcho() {
  const params = { s: 'tab\t"q" \\ é 𝄞 \u0000 \u2028', n: [0, -1.5e-7, 12345678901234567890], b: [true, false, null], o: { nested: { deep: [[[]]] } } };
  expectOutput('echo: round trip of escapes, astral chars, NUL, numbers', 'echo', params, { echo: params });
  expectOutput('echo: surrogate-pair escapes decode', 'echo', '{"g":"\\ud834\\udd1e"}', { echo: { g: '𝄞' } });
  const bad = ['', ' ', '{', '{"a":}', '{"a":1,}', '[1,]', '{"a":1}}', '{"a":01}', '{"a":1.}', '{"a":-}', '{"a":"\\x"}',
    '{"a":"\\ud800"}', '{"a":"\\udc00"}', '{"a":"tab\there"}', '{"a":tru}', '{"a":1e999}', "{'a':1}", Buffer.from('{"a":"\xff"}', 'latin1'),
    Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), '[' .repeat(513) + ']'.repeat(513)];
  let clean = 0;
  const rejects = [];
  for (const text of bad) {
    const r = runModule(join(target, 'echo.wasm'), text);
    if (r.exit === 1 && !r.trap && /^parameters (are not valid JSON|must be a JSON object)/.test(lastLine(r))) clean++;
    else rejects.push(`${JSON.stringify(text.toString('latin1')).slice(0, 40)} -> exit ${r.exit} ${r.trap ?? ''} ${lastLine(r)}`);
  }
  check(`echo: ${bad.length} malformed inputs each rejected with a message`, clean === bad.length, rejects.join('\n     '));
  const rand = seeded(99);
  const base = Buffer.from(JSON.stringify(params));
  let survived = 0;
  const crashes = [];
  for (let i = 0; i < 40; i++) {
    const mutated = Buffer.from(base);
    for (let k = 0; k < 3; k++) mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
    const r = runModule(join(target, 'echo.wasm'), mutated);
    let valid = false;
    try {
      JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(mutated));
      valid = true;
    } catch { /* node rejects it too */ }
    if (!r.trap && r.exit === (valid ? 0 : 1)) survived++;
    else crashes.push(`${mutated.toString('hex').slice(0, 60)} -> exit ${r.exit} ${r.trap ?? ''} (node says ${valid ? 'valid' : 'invalid'})`);
  }
  check('echo: 40 randomly corrupted inputs: accepted exactly when JSON.parse accepts, no traps', survived === 40,
    crashes.join('\n     '));
}

// ---- adversarial modules: what they do without a sandbox around them ----
function checkAdversarial() {
  const a = (name, input = '{}', opts) => runModule(join(target, 'adversarial', `${name}.wasm`), input, opts);
  let r = a('infinite-loop', '{}', { timeoutMs: 2000 });
  check('infinite-loop: still running after 2 s', r.timedOut, `exit ${r.exit}`);
  r = a('memory-bomb');
  check('memory-bomb: allocations are kept; grows to the 4 GiB wasm32 limit',
    r.exit === 1 && /malloc failed after 409\d MiB/.test(lastLine(r)), `exit ${r.exit} ${lastLine(r)}`);
  r = a('deep-recursion');
  check('deep-recursion: traps on call-stack exhaustion', /Maximum call stack size exceeded/.test(r.trap ?? ''), `exit ${r.exit} trap ${r.trap}`);
  r = a('read-passwd');
  check('read-passwd: no preopens -> ENOTCAPABLE (76), reported as JSON',
    same(output(r), { opened: false, errno: 76, error: 'Capabilities insufficient' }), r.stdout.toString());
  r = a('open-socket');
  check('open-socket: no socket to use', output(r)?.sockets === 0 && output(r)?.connect === 'unavailable in WASI preview1', r.stdout.toString());
  r = a('huge-output');
  check('huge-output: exactly 10 MiB of valid JSON', r.stdout.length === 10 * 1024 * 1024 && output(r)?.blob.length === 10 * 1024 * 1024 - 11,
    `${r.stdout.length} bytes`);
  r = a('bad-json');
  check('bad-json: exit 0 with unparseable stdout', r.exit === 0 && output(r) === undefined, r.stdout.toString());
  r = a('bad-utf8');
  let decodes = true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(r.stdout);
  } catch {
    decodes = false;
  }
  check('bad-utf8: exit 0 with invalid UTF-8 on stdout and stderr', r.exit === 0 && !decodes && r.stderr.includes(0xff), r.stdout.toString('hex'));
}

checkSpirals();
checkRetention();
checkVerify();
checkEcho();
checkAdversarial();
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
