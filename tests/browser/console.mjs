// The console as an operator uses it, in a real browser (Debian's
// chromium, headless, driven by playwright-core): sign-in, the executions
// list, an execution's graph following a run live, a failed step's error
// and logs, retry from a step. Exits 1 at the first check that fails.
//
//     node tests/browser/console.mjs SHUTTER_BINARY [CHROMIUM]
//
// SHUTTER_SCREENSHOTS=DIR also writes a screenshot of each page there
// (docs/console.md shows them). Traffic only to 127.0.0.1.

import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const [shutter, browserPath = '/usr/bin/chromium'] = process.argv.slice(2);
if (!shutter) {
  console.error('usage: node tests/browser/console.mjs SHUTTER_BINARY [CHROMIUM]');
  process.exit(2);
}
const shots = process.env.SHUTTER_SCREENSHOTS;
const TOKEN = 'console-test-token-7f3a';
const work = mkdtempSync(join(tmpdir(), 'shutter-console-'));
const failures = [];
// What the server wrote on stderr, for a failure's report.
let serverLog = () => '';

function check(what, ok, detail = '') {
  console.log((ok ? 'ok    ' : 'FAIL  ') + what + (ok ? '' : '\n      ' + detail));
  if (!ok) failures.push(what);
}

const WORKFLOWS = {
  'tonight.yaml': `version: 1
name: tonight
description: The nightly backup (pretend)
inputs:
  vm:
    type: string
    default: web-01
    description: The machine to back up
  keep:
    type: integer
    default: 3
steps:
  quiesce:
    uses: core.log
    with: {message: "quiescing \${{ inputs.vm }}"}
  snapshot:
    uses: core.noop
    needs: [quiesce]
  verify:
    uses: core.noop
    needs: [snapshot]
`,
  'flaky.yaml': `version: 1
name: flaky
steps:
  copy:
    uses: core.fail
    with: {message: "copy refused: quota <exceeded>", retryable: true}
    retry: {attempts: 2, delay: 100ms}
  report:
    uses: core.log
    with: {message: "reporting"}
    finally: true
`,
  'slow.yaml': `version: 1
name: slow
steps:
  wait:
    uses: core.sleep
    with: {duration: 4s}
  after:
    uses: core.log
    needs: [wait]
    with: {message: "after the wait"}
`,
};

function start() {
  const dir = join(work, 'workflows');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(WORKFLOWS)) writeFileSync(join(dir, name), text);
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  return serve(shutter, ['--db', join(work, 'console.db'), '--workflows', dir, '--token-file', join(work, 'token')]);
}

async function api(base, method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: { Authorization: 'Bearer ' + TOKEN, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function startRun(base, workflow) {
  return (await api(base, 'POST', `/workflows/${workflow}/executions`, { inputs: {} })).id;
}

async function ended(base, id) {
  for (;;) {
    const detail = await api(base, 'GET', `/executions/${id}?wait=30s`);
    if (['succeeded', 'succeeded_with_errors', 'failed', 'canceled'].includes(detail.state)) return detail;
  }
}

async function shot(page, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: join(shots, name + '.png'), fullPage: true });
}

async function main() {
  const server = await start();
  serverLog = server.log;
  const { base } = server;
  const browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox'] });
  try {
    const tonight = await startRun(base, 'tonight');
    const flaky = await startRun(base, 'flaky');
    await ended(base, tonight);
    const flakyDetail = await ended(base, flaky);
    check('the failing workflow failed after its retries', flakyDetail.state === 'failed'
      && flakyDetail.steps.find((s) => s.key === 'copy').attempts.length === 2, JSON.stringify(flakyDetail));

    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (err) => errors.push(String(err)));
    // The wrong token's answer is a 401 page, which the browser logs: that
    // one is expected.
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().includes('status of 401')) errors.push(message.text());
    });

    // Sign-in is required, and a wrong token is refused.
    await page.goto(base + '/ui/executions?state=failed');
    check('an unsigned browser is sent to the sign-in form',
      new URL(page.url()).pathname === '/ui/sign-in', page.url());
    await shot(page, 'sign-in');
    await page.fill('#token', 'not-the-token');
    await page.click('.sign-in button[type="submit"]');
    check('a wrong token is refused', (await page.locator('.problem').count()) === 1,
      await page.content());
    await page.fill('#token', TOKEN);
    await page.click('.sign-in button[type="submit"]');
    await page.waitForURL('**/ui/executions**');
    check('signing in goes on to the page asked for',
      new URL(page.url()).search === '?state=failed', page.url());
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'shutter_session');
    check('the session cookie is HttpOnly and SameSite=Strict',
      session && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(cookies));
    check('no token in any URL', !page.url().includes(TOKEN));

    // The list.
    const slow = await startRun(base, 'slow');
    await page.goto(base + '/ui/executions');
    const states = await page.$$eval('tr[data-execution-id]',
      (rows) => Object.fromEntries(rows.map((r) => [r.dataset.executionId, r.dataset.state])));
    check('the list shows each execution with its state',
      states[tonight] === 'succeeded' && states[flaky] === 'failed' && ['queued', 'running'].includes(states[slow]),
      JSON.stringify(states));
    await shot(page, 'executions');
    await page.evaluate(() => { window.notReloaded = true; });
    const fresh = await startRun(base, 'tonight');
    await page.waitForSelector(`tr[data-execution-id="${fresh}"]`, { timeout: 5000 });
    check('a new execution shows on the list live (long poll), without a reload',
      await page.evaluate(() => window.notReloaded === true));

    // A running execution, followed live: its graph changes without a reload.
    await page.goto(base + '/ui/executions/' + slow);
    await page.evaluate(() => { window.notReloaded = true; });
    const nodes = await page.$$eval('g.node', (gs) => gs.map((g) => g.dataset.step));
    check('the graph has one node per step', nodes.sort().join() === 'after,wait', nodes.join());
    await shot(page, 'execution-running');
    await page.waitForSelector('g.node.state-succeeded[data-step="after"]', { timeout: 20000 });
    check('a step ending shows on the graph live, without a reload',
      await page.evaluate(() => window.notReloaded === true));
    await page.waitForSelector('.execution[data-state="succeeded"]', { timeout: 10000 });
    check('the execution\'s state follows live',
      (await page.textContent('[data-role="execution-state"]')).includes('succeeded'));

    // A finished execution: every node with its state.
    await page.goto(base + '/ui/executions/' + tonight);
    const classes = await page.$$eval('g.node', (gs) => gs.map((g) => g.getAttribute('class')));
    check('every step of a succeeded execution is drawn succeeded',
      classes.length === 3 && classes.every((c) => c.includes('state-succeeded')), classes.join(' | '));
    await page.click('#step-quiesce summary');
    await page.waitForFunction(() => document.querySelector('#step-quiesce [data-role="logs"]')
      .textContent.includes('quiescing web-01'), null, { timeout: 10000 });
    check('a step\'s panel shows its logs', true);
    await shot(page, 'execution');

    // The failed one: its error, its tries, retry from a step.
    await page.goto(base + '/ui/executions/' + flaky);
    const error = await page.textContent('[data-role="execution-error"] pre');
    check('the failed execution shows its error (escaped, as text)',
      error.includes('copy refused: quota <exceeded>'), error);
    const tries = await page.textContent('tr[data-step="copy"] [data-role="tries"]');
    check('the failed step shows its two tries', tries.trim() === '2', tries);
    const bars = await page.$$eval('.timeline g.lane[data-step="copy"] rect.try',
      (rects) => rects.map((r) => r.getAttribute('class')));
    check('the timeline draws each try of the failed step, failed',
      bars.length === 2 && bars.every((c) => c.includes('state-failed')), bars.join(' | '));
    check('the failed node is marked failed',
      (await page.getAttribute('g.node[data-step="copy"]', 'class')).includes('state-failed'));
    await shot(page, 'execution-failed');
    await page.click('#step-copy summary');
    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#step-copy button[data-action="retry"][data-from="copy"]');
    const retried = await (async () => {
      for (let i = 0; i < 100; i += 1) {
        const events = await api(base, 'GET', `/executions/${flaky}/events`);
        const kinds = events.events.map((e) => e.type);
        if (kinds.includes('execution_retried')) return events.events;
        await new Promise((r) => setTimeout(r, 100));
      }
      return null;
    })();
    check('retry from a step starts it again',
      retried !== null && retried.some((e) => e.type === 'step_reset' && e.key === 'copy'),
      JSON.stringify(retried && retried.map((e) => e.type)));
    const again = await ended(base, flaky);
    check('the retried step ran two more tries',
      again.steps.find((s) => s.key === 'copy').attempts.length >= 4, JSON.stringify(again.steps));

    // A phone's width: the page still reads (nothing wider than the screen
    // but the graph, which scrolls inside its box).
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 } });
    await phone.addCookies([session]);
    const small = await phone.newPage();
    await small.goto(base + '/ui/executions/' + tonight);
    const overflow = await small.evaluate(() => document.documentElement.scrollWidth);
    check('readable on a 390 px screen (no sideways scroll of the page)', overflow <= 390, String(overflow));
    await shot(small, 'execution-phone');
    await phone.close();

    // Workflows: the list, a workflow's page, its plan, a start from its form.
    await page.goto(base + '/ui/workflows');
    const served = await page.$$eval('tr[data-workflow]', (rows) => rows.map((r) => r.dataset.workflow));
    check('the workflows page lists what the server runs', served.join() === 'flaky,slow,tonight', served.join());
    await page.click('a[href="/ui/workflows/tonight"]');
    const lines = await page.$$eval('ol.source li', (lis) => lis.length);
    check('a workflow page shows its source with line numbers',
      lines === WORKFLOWS['tonight.yaml'].trimEnd().split('\n').length, String(lines));
    check('and its graph, every step pending',
      (await page.$$eval('g.node.state-pending', (gs) => gs.length)) === 3);
    await page.click('button[data-action="plan"]');
    await page.waitForSelector('[data-role="plan"]:not([hidden])');
    const plan = await page.textContent('[data-role="plan"]');
    check('the plan button shows what a run would do',
      plan.includes('quiesce: ran') && plan.includes('quiescing web-01'), plan);
    await shot(page, 'workflow');
    await page.fill('#input-vm', 'db-02');
    await Promise.all([page.waitForURL('**/ui/executions/**'), page.click('button[data-action="start"]')]);
    const startedId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
    const startedRun = await ended(base, startedId);
    check('the start form starts the workflow with its inputs, typed as declared',
      startedRun.state === 'succeeded' && startedRun.inputs.vm === 'db-02' && startedRun.inputs.keep === 3
        && Object.keys(startedRun.inputs).length === 2,
      JSON.stringify(startedRun.inputs));

    // Signing out ends the session.
    await page.click('form.sign-out button');
    await page.goto(base + '/ui/executions');
    check('after signing out the form is asked for again',
      new URL(page.url()).pathname === '/ui/sign-in', page.url());
    check('no script error on any page', errors.length === 0, errors.join('\n'));
    await context.close();
  } finally {
    await browser.close();
    await server.stop();
  }
}

main().then(() => {
  if (failures.length) {
    console.error(`${failures.length} check(s) failed; the server said:`);
    console.error(serverLog().slice(-4000));
    process.exit(1);
  }
  rmSync(work, { recursive: true, force: true });
}, (err) => {
  console.error(err);
  console.error(serverLog().slice(-4000));
  process.exit(1);
});
