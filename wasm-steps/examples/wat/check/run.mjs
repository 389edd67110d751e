// node run.mjs TRANSPILED.js [PARAMS]
// Calls run(PARAMS) (default {"a":1}) of a component transpiled by
// `jco transpile` and prints `ok: ...`, `err: {...}` or `trap: ...`.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const [file, params = '{"a":1}'] = process.argv.slice(2);
const { step } = await import(pathToFileURL(resolve(file)).href);
try {
  const out = step.run(params);
  JSON.parse(out); // the ok string must be JSON
  console.log('ok:', out);
} catch (e) {
  if (e?.constructor?.name === 'ComponentError') {
    console.log('err:', JSON.stringify(e.payload)); // the `failure` record
  } else {
    console.log(`trap: ${e?.constructor?.name}: ${e?.message}`);
  }
}
