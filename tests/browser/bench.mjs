// Figures for the console's execution page with a 500-step workflow (a
// chain and a fan 1 -> 498 -> 1): server time of the page (median and p99
// of 50 loads), the DAG's share of it, the page's weight without the DAG,
// and the time until the page is interactive in headless chromium
// (`domInteractive` and `DOMContentLoaded`, median of 5 loads). Prints a
// table; asserts nothing (figures, not a timed test).
//
//     node tests/browser/bench.mjs SHUTTER_BINARY [CHROMIUM]
//
// Traffic only to 127.0.0.1.

import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';

const [shutter, browserPath = '/usr/bin/chromium'] = process.argv.slice(2);
if (!shutter) {
  console.error('usage: node tests/browser/bench.mjs SHUTTER_BINARY [CHROMIUM]');
  process.exit(2);
}
const STEPS = 500;
const work = mkdtempSync(join(tmpdir(), 'shutter-console-bench-'));

function chain() {
  let yaml = 'version: 1\nname: chain\nsteps:\n';
  for (let n = 0; n < STEPS; n += 1) {
    yaml += `  s${n}: {uses: core.noop${n ? `, needs: [s${n - 1}]` : ''}}\n`;
  }
  return yaml;
}

function fan() {
  let yaml = 'version: 1\nname: fan\nsteps:\n  first: {uses: core.noop}\n';
  const middle = [];
  for (let n = 0; n < STEPS - 2; n += 1) {
    yaml += `  m${n}: {uses: core.noop, needs: [first]}\n`;
    middle.push(`m${n}`);
  }
  yaml += `  last: {uses: core.noop, needs: [${middle.join(', ')}]}\n`;
  return yaml;
}

function start() {
  const dir = join(work, 'workflows');
  mkdirSync(dir);
  writeFileSync(join(dir, 'chain.yaml'), chain());
  writeFileSync(join(dir, 'fan.yaml'), fan());
  return serve(shutter, ['--db', join(work, 'bench.db'), '--workflows', dir]);
}

async function run(base, workflow) {
  const started = await fetch(`${base}/workflows/${workflow}/executions`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"inputs": {}}',
  });
  const { id } = await started.json();
  for (;;) {
    const detail = await (await fetch(`${base}/executions/${id}?wait=30s`)).json();
    if (detail.state === 'succeeded') return id;
    if (['failed', 'canceled'].includes(detail.state)) throw new Error(`${workflow}: ${detail.state}`);
  }
}

function quantile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function serverTimes(url) {
  const times = [];
  let body = '';
  for (let n = 0; n < 50; n += 1) {
    const start = process.hrtime.bigint();
    const response = await fetch(url);
    body = await response.text();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { median: quantile(times, 0.5), p99: quantile(times, 0.99), body };
}

async function main() {
  const server = await start();
  const { base } = server;
  const browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ['--no-sandbox'] });
  try {
    const css = (await (await fetch(base + '/ui/assets/console.css')).text()).length;
    const js = (await (await fetch(base + '/ui/assets/console.js')).text()).length;
    console.log(`| page (${STEPS} steps) | server median | server p99 | HTML | of it the DAG | rest + CSS + JS | domInteractive (median) | DOMContentLoaded (median) |`);
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const workflow of ['chain', 'fan']) {
      const id = await run(base, workflow);
      const url = `${base}/ui/executions/${id}`;
      const { median, p99, body } = await serverTimes(url);
      const svg = body.slice(body.indexOf('<svg'), body.indexOf('</svg>') + 6).length;
      const page = await browser.newPage();
      const interactive = [];
      const loaded = [];
      for (let n = 0; n < 5; n += 1) {
        await page.goto(url, { waitUntil: 'domcontentloaded' });
        const timing = await page.evaluate(() => {
          const [nav] = performance.getEntriesByType('navigation');
          return { interactive: nav.domInteractive, loaded: nav.domContentLoadedEventEnd };
        });
        interactive.push(timing.interactive);
        loaded.push(timing.loaded);
      }
      await page.close();
      interactive.sort((a, b) => a - b);
      loaded.sort((a, b) => a - b);
      const kb = (bytes) => `${(bytes / 1024).toFixed(0)} KB`;
      console.log(`| ${workflow} | ${median.toFixed(1)} ms | ${p99.toFixed(1)} ms | ${kb(body.length)} | ${kb(svg)} | ${kb(body.length - svg + css + js)} | ${quantile(interactive, 0.5).toFixed(0)} ms | ${quantile(loaded, 0.5).toFixed(0)} ms |`);
    }
  } finally {
    await browser.close();
    await server.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
