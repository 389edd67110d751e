// Starts `shutter serve` on a free loopback port for the browser scripts,
// and stops it. Only 127.0.0.1.

import { spawn } from 'node:child_process';

// `args` besides `serve --listen 127.0.0.1:0`, `env` added to this
// process's. Resolves to `{base, log, stop}`: the server's URL, what it
// wrote on stderr so far, and a stop that waits for the process to end.
export function serve(shutter, args, env = {}) {
  const child = spawn(shutter, ['serve', '--listen', '127.0.0.1:0', ...args],
    { env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  child.stderr.on('data', (chunk) => { text += chunk; });
  const log = () => text;
  const stop = () => {
    if (child.exitCode !== null) return Promise.resolve();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    return exited;
  };
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const look = setInterval(() => {
      const found = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
      if (found) {
        clearInterval(look);
        resolve({ base: 'http://127.0.0.1:' + found[1], log, stop });
      } else if (child.exitCode !== null || Date.now() - started > 30000) {
        clearInterval(look);
        reject(new Error('shutter serve did not start:\n' + text));
      }
    }, 50);
  });
}
