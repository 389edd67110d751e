// The console as an operator uses it, in a real browser (Debian's
// chromium, headless, driven by playwright-core): sign-in, the executions
// list, an execution's graph and timeline following a run live, a failed
// step's error and logs, retry from a step, the workflows, the backups
// made on a real EC2 peer (moto) and their restore test, the nodes page
// and a limit pool. Reports every check; exits 1 if any failed.
//
//     node tests/browser/console.mjs SHUTTER_BINARY [CHROMIUM]
//
// AWS_ENDPOINT_URL (with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) names
// the moto server the backups are made on: tests/browser/run starts one.
//
// SHUTTER_SCREENSHOTS=DIR also writes a screenshot of each page there
// (docs/console.md shows them). Traffic only to 127.0.0.1.

import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const [shutter, browserPath = '/usr/bin/chromium'] = process.argv.slice(2);
if (!shutter) {
  console.error('usage: node tests/browser/console.mjs SHUTTER_BINARY [CHROMIUM]');
  process.exit(2);
}
const moto = process.env.AWS_ENDPOINT_URL;
if (!moto || !moto.startsWith('http://127.0.0.1:')) {
  console.error('AWS_ENDPOINT_URL must name a local moto server (tests/browser/run starts one)');
  process.exit(2);
}
const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
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
    with: {duration: 6s}
    limit: slow-pool
  after:
    uses: core.log
    needs: [wait]
    with: {message: "after the wait"}
`,
  // A snapshot of an EBS volume, on moto (AWS_ENDPOINT_URL): an entry of
  // the backup catalog.
  'backup.yaml': `version: 1
name: backup
inputs:
  volume: {type: string}
steps:
  snapshot:
    uses: snapshot
    with:
      target: "aws://us-east-1/\${{ inputs.volume }}"
      name: nightly
`,
  // The shipped restore test, as users run it.
  'restore-test.yaml': readFileSync(join(repo, 'workflows', 'restore-test.yaml'), 'utf8'),
};

// A volume on moto, made through EC2's query API as any client would.
async function volume() {
  const response = await fetch(moto, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded',
      Authorization: 'AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0',
    },
    body: 'Action=CreateVolume&Version=2016-11-15&AvailabilityZone=us-east-1a&Size=2',
  });
  const text = await response.text();
  const id = /<volumeId>([^<]+)<\/volumeId>/.exec(text);
  if (!response.ok || !id) throw new Error('moto CreateVolume: ' + response.status + ' ' + text);
  return id[1];
}

function start() {
  const dir = join(work, 'workflows');
  mkdirSync(dir);
  for (const [name, text] of Object.entries(WORKFLOWS)) writeFileSync(join(dir, name), text);
  writeFileSync(join(work, 'token'), TOKEN + '\n');
  // One slot in the pool the slow workflow's step takes (the nodes page).
  writeFileSync(join(work, 'config.yaml'), 'limits:\n  slow-pool: 1\n');
  return serve(shutter, ['--db', join(work, 'console.db'), '--workflows', dir, '--token-file', join(work, 'token')],
    { SHUTTER_CONFIG: join(work, 'config.yaml') });
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

async function startRun(base, workflow, inputs = {}) {
  return (await api(base, 'POST', `/workflows/${workflow}/executions`, { inputs })).id;
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
    // A backup on moto, and the shipped restore test over the catalog.
    const vol = await volume();
    const backup = await startRun(base, 'backup', { volume: vol });
    const backupDetail = await ended(base, backup);
    check('a snapshot on moto succeeded', backupDetail.state === 'succeeded', JSON.stringify(backupDetail));
    const restore = await startRun(base, 'restore-test', { provider: 'aws', endpoint_url: moto });
    const restoreDetail = await ended(base, restore);
    check('the restore test of it passed', restoreDetail.state === 'succeeded', JSON.stringify(restoreDetail));

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

    // Nodes and limits, in a second tab kept open while the slow run goes
    // on: its step holds the pool's one slot, then gives it back.
    const nodesTab = await context.newPage();
    nodesTab.on('pageerror', (err) => errors.push(String(err)));
    await nodesTab.goto(base + '/ui/nodes');
    await nodesTab.evaluate(() => { window.notReloaded = true; });
    const held = await nodesTab.$$eval('table.held tr[data-execution-id]', (rows) => rows.map((r) => r.dataset.executionId));
    check('the nodes page lists the running execution', held.includes(slow), held.join());
    const holders = await nodesTab.$$eval('table.nodes tr[data-node]', (rows) => rows.length);
    check('and the node holding it', holders === 1, String(holders));
    const inUse = await nodesTab.textContent('tr[data-pool="slow-pool"] [data-role="in-use"]');
    check('the limit pool shows its slot in use', inUse.trim() === '1', inUse);
    await shot(nodesTab, 'nodes');

    // A running execution, followed live: its graph changes without a reload.
    await page.goto(base + '/ui/executions/' + slow);
    await page.evaluate(() => { window.notReloaded = true; });
    const nodes = await page.$$eval('g.node', (gs) => gs.map((g) => g.dataset.step));
    check('the graph has one node per step', nodes.sort().join() === 'after,wait', nodes.join());
    await shot(page, 'execution-running');
    const bar = await page.getAttribute('.timeline g.lane[data-step="wait"] rect.try', 'class');
    check('the timeline draws the running try', bar && bar.includes('state-running'), String(bar));
    await page.waitForSelector('g.node.state-succeeded[data-step="after"]', { timeout: 20000 });
    check('a step ending shows on the graph live, without a reload',
      await page.evaluate(() => window.notReloaded === true));
    await page.waitForSelector('.timeline g.lane[data-step="after"] rect.try.state-succeeded', { timeout: 10000 });
    check('the timeline follows live: the next step\'s try appears, without a reload',
      await page.evaluate(() => window.notReloaded === true));
    await page.waitForSelector('.execution[data-state="succeeded"]', { timeout: 10000 });
    check('the execution\'s state follows live',
      (await page.textContent('[data-role="execution-state"]')).includes('succeeded'));
    await nodesTab.waitForFunction(() => {
      const cell = document.querySelector('tr[data-pool="slow-pool"] [data-role="in-use"]');
      return cell && cell.textContent.trim() === '0'
        && !document.querySelector('table.held tr[data-execution-id]');
    }, null, { timeout: 20000 }).catch(() => null);
    const after = await nodesTab.evaluate(() => ({
      reloaded: window.notReloaded !== true,
      inUse: document.querySelector('tr[data-pool="slow-pool"] [data-role="in-use"]').textContent.trim(),
      held: document.querySelectorAll('table.held tr[data-execution-id]').length,
    }));
    check('the nodes page follows live: the slot given back, nothing held, without a reload',
      !after.reloaded && after.inUse === '0' && after.held === 0, JSON.stringify(after));
    await nodesTab.close();

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
    check('the workflows page lists what the server runs',
      served.join() === 'backup,flaky,restore-test,slow,tonight', served.join());
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

    // Backups: the snapshot made on moto, its restore test, the executions
    // that made and tested it; a new backup appears without a reload.
    await page.goto(base + '/ui/backups');
    const entries = await page.$$eval('table.backups tr[data-backup-id]', (rows) => rows.map((r) => ({
      state: r.dataset.state,
      text: r.textContent,
      links: Array.from(r.querySelectorAll('a')).map((a) => a.getAttribute('href')),
    })));
    const made = entries[0];
    check('the backups page shows the snapshot, available', entries.length === 1 && made.state === 'available'
      && made.text.includes(vol), JSON.stringify(entries));
    check('with its restore test passed, linked to the test\'s execution',
      made && made.text.includes('passed') && made.links.includes('/ui/executions/' + restore), JSON.stringify(made));
    check('and a link to the execution that made it',
      made && made.links.includes('/ui/executions/' + backup), JSON.stringify(made));
    await shot(page, 'backups');
    await page.evaluate(() => { window.notReloaded = true; });
    const second = await startRun(base, 'backup', { volume: vol });
    await ended(base, second);
    const grew = await page.waitForFunction(
      () => document.querySelectorAll('table.backups tr[data-backup-id]').length === 2,
      null, { timeout: 40000 }).then(() => true, () => false);
    check('a new backup shows on the backups page live, without a reload',
      grew && await page.evaluate(() => window.notReloaded === true));

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
