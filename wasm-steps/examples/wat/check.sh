#!/usr/bin/env bash
# Checks the WAT component fixtures without cargo: jco (npm) parses each
# .wat to a binary, prints its WIT (wit-component decoding validates it),
# transpiles it to JS and node calls run() with check/host.mjs as the host.
# With WASMTIME_PY=/path/to/python (a python with PyPI `wasmtime` 48.x
# installed) it also runs each .wat under real wasmtime.
#
#   wasm-steps/examples/wat/check.sh [OUT_DIR]     # default /tmp/wat-fixtures
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/wat-fixtures}
jco_prefix=${JCO_PREFIX:-/tmp/jco}
if [ ! -x "$jco_prefix/node_modules/.bin/jco" ]; then
  npm i --silent --prefix "$jco_prefix" @bytecodealliance/jco@1.35.0
fi
jco() { "$jco_prefix/node_modules/.bin/jco" "$@"; }
mkdir -p "$out"
echo '{"type":"module"}' > "$out/package.json"
echo "jco $(jco --version)"
for name in echo fail trap; do
  echo "=== $name"
  jco parse "$here/$name.component.wat" -o "$out/$name.wasm"
  jco wit "$out/$name.wasm"
  jco transpile "$out/$name.wasm" -o "$out/$name" -q \
    --map "shutter:step/host=file://$here/check/host.mjs"
  node "$here/check/run.mjs" "$out/$name/$name.js" '{"a":1}'
done
echo "=== echo, secret set"
TOKEN=s3cret node "$here/check/run.mjs" "$out/echo/echo.js" '{"a":1}'
if [ -n "${WASMTIME_PY:-}" ]; then
  for name in echo fail trap; do
    echo "=== wasmtime: $name"
    "$WASMTIME_PY" "$here/check/run_wasmtime.py" "$here/$name.component.wat" '{"a":1}'
  done
  echo "=== wasmtime: echo, secret set"
  "$WASMTIME_PY" "$here/check/run_wasmtime.py" "$here/echo.component.wat" '{"a":1}' s3cret
fi
