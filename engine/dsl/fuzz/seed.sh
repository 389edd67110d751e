#!/usr/bin/env bash
# Prepares the fuzz corpus: the committed, minimised corpus (corpus.tar.gz,
# from earlier runs) plus the shipped workflows.
#   engine/dsl/fuzz/seed.sh
#   cargo +nightly fuzz run parse_compile corpus/parse_compile -- \
#       -dict=parse_compile.dict -max_len=4096 -timeout=10 -max_total_time=600
# After a run, keep what it found: cargo +nightly fuzz cmin parse_compile, then
#   tar czf corpus.tar.gz -C corpus parse_compile
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus
tar xzf corpus.tar.gz -C corpus
cp ../../../workflows/*.yaml corpus/parse_compile/
