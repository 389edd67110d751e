#!/usr/bin/env bash
# Builds the example WebAssembly steps (WASI preview1 commands) from C.
#
#   wasm-steps/build.sh [OUT_DIR]          default OUT_DIR: wasm-steps/target
#
# examples/c/NAME.c             -> OUT_DIR/NAME.wasm
# examples/c/adversarial/NAME.c -> OUT_DIR/adversarial/NAME.wasm
# A module is rebuilt only when its source, a shared source or header, or
# this script (the flags) is newer than it. One line per module on stdout.
set -euo pipefail
shopt -s nullglob

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$here/examples/c
out=${1:-$here/target}
cc=${CC:-clang}

# Linked into every module; wasm-ld drops whatever a module does not use,
# so one rule serves all and a new example needs no edit here.
shared=(json.c step.c rfc3339.c)
# --stack-first puts the C shadow stack below static data, so overflowing
# it traps (out of bounds) instead of silently overwriting globals.
flags=(--target=wasm32-wasi -O2 -std=c11 -Wall -Wextra
       -Wl,--strip-all -Wl,--stack-first)
# Debian bookworm names; the compiler-rt package follows clang's version.
packages=(clang lld wasi-libc libclang-rt-14-dev-wasm32)

probe_error=
# Compiles and links an empty program: a missing wasm-ld, wasi-libc or
# wasm32 compiler-rt only shows at link time, so `command -v` is not enough.
toolchain_works() {
    local dir rc=0
    dir=$(mktemp -d)
    printf 'int main(void) { return 0; }\n' >"$dir/probe.c"
    command -v "$cc" >/dev/null 2>&1 &&
        "$cc" --target=wasm32-wasi -o "$dir/probe.wasm" "$dir/probe.c" 2>"$dir/err" || rc=1
    if [[ $rc -ne 0 ]]; then
        probe_error=$(cat "$dir/err" 2>/dev/null || echo "$cc: not found")
    fi
    rm -rf "$dir"
    return "$rc"
}

ensure_toolchain() {
    toolchain_works && return 0
    if [[ $(id -u) -ne 0 ]]; then
        echo "build.sh: no working wasm32-wasi C toolchain ($probe_error)" >&2
        echo "build.sh: as root: apt-get install -y --no-install-recommends ${packages[*]}" >&2
        exit 1
    fi
    echo "build.sh: installing ${packages[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # apt's chatter goes to stderr: stdout is one line per module.
    if ! apt-get install -y --no-install-recommends "${packages[@]}" >&2; then
        apt-get update >&2
        apt-get install -y --no-install-recommends "${packages[@]}" >&2
    fi
    if ! toolchain_works; then
        echo "build.sh: toolchain still broken after install: $probe_error" >&2
        exit 1
    fi
}

# stale OUT FILE...: true when OUT is missing or older than any FILE.
stale() {
    local target=$1 f
    shift
    [[ -e $target ]] || return 0
    for f in "$@"; do
        [[ $f -nt $target ]] && return 0
    done
    return 1
}

ensure_toolchain
mkdir -p "$out/adversarial"
shared_paths=("${shared[@]/#/$src/}")
deps=("${shared_paths[@]}" "$src"/*.h "$here/build.sh")

for main in "$src"/*.c "$src"/adversarial/*.c; do
    rel=${main#"$src"/}
    [[ " ${shared[*]} " == *" $rel "* ]] && continue
    name=${rel%.c}
    target=$out/$name.wasm
    if stale "$target" "$main" "${deps[@]}"; then
        # Via a temporary name, so an interrupted build never leaves a
        # truncated module that looks up to date.
        "$cc" "${flags[@]}" -I"$src" -o "$target.tmp" "$main" "${shared_paths[@]}"
        mv -f "$target.tmp" "$target"
        echo "built       $name.wasm ($(stat -c %s "$target") bytes)"
    else
        echo "up to date  $name.wasm"
    fi
done
