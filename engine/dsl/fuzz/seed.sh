#!/usr/bin/env bash
# Seeds the fuzz corpus with the shipped workflows and the test fixtures.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/parse_compile
cp ../../../workflows/*.yaml corpus/parse_compile/
