#!/usr/bin/env bash
# Builds the example WebAssembly steps (WASI preview1 commands) from source.
#
#   wasm-steps/build.sh [OUT_DIR]          default OUT_DIR: wasm-steps/target
#
# examples/c/NAME.c             -> OUT_DIR/NAME.wasm
# examples/c/adversarial/NAME.c -> OUT_DIR/adversarial/NAME.wasm
# examples/go/spiral/           -> OUT_DIR/spiral-go.wasm   (Go 1.23, GOOS=wasip1)
# examples/zig/spiral.zig       -> OUT_DIR/spiral-zig.wasm  (Zig, from PyPI's ziglang)
# examples/assemblyscript/spiral/ -> OUT_DIR/spiral-as.wasm (AssemblyScript, from npm)
# A module is rebuilt only when its source, a shared source or header, or
# this script (the flags) is newer than it. One line per module on stdout.
#
# SHUTTER_WASM_LANGS (default "c go zig as") picks the languages to build.
# A missing toolchain is installed only when a module needs building: with
# apt as root (C; Go from Debian's bookworm-backports, the versioned
# /usr/lib/go-1.23 beside any other Go), and as any user for Zig (PyPI) and
# AssemblyScript (npm), into ${SHUTTER_CACHE:-$HOME/.cache/shutter}/toolchains/,
# never into the repo.
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

langs=" ${SHUTTER_WASM_LANGS:-c go zig as} "
cache=${SHUTTER_CACHE:-$HOME/.cache/shutter}
toolchains=$cache/toolchains
mkdir -p "$out/adversarial"

# need_root WHAT INSTALL...: exits with instructions unless running as root.
need_root() {
    local what=$1
    shift
    [[ $(id -u) -eq 0 ]] && return 0
    echo "build.sh: $what" >&2
    echo "build.sh: as root: $*" >&2
    exit 1
}

# build_into TARGET COMMAND...: runs COMMAND with $tmp set to a fresh empty
# directory in which it must leave module.wasm, then moves that to TARGET
# (so an interrupted build never leaves a truncated module that looks up
# to date, and compiler droppings such as Zig's .o stay out of OUT_DIR).
build_into() {
    local target=$1
    shift
    tmp=$(mktemp -d)
    if ! "$@"; then
        rm -rf "$tmp"
        echo "build.sh: building $(basename "$target") failed" >&2
        exit 1
    fi
    mv -f "$tmp/module.wasm" "$target"
    rm -rf "$tmp"
    echo "built       $(basename "$target") ($(stat -c %s "$target") bytes)"
}

# ---- C ----
if [[ $langs == *" c "* ]]; then
    ensure_toolchain
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
fi

# ---- Go (GOOS=wasip1 needs Go >= 1.21; bookworm's golang-go is 1.19) ----
go_version=1.23
go=/usr/lib/go-$go_version/bin/go
go_src=$here/examples/go/spiral

ensure_go() {
    "$go" version >/dev/null 2>&1 && return 0
    local codename
    codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
    need_root "no Go $go_version at $go" \
        "add the $codename-backports suite to apt's sources, then" \
        "apt-get install -t $codename-backports golang-$go_version-go"
    export DEBIAN_FRONTEND=noninteractive
    # Backports are pinned low by apt: adding the suite changes no other
    # package, and golang-$go_version-go installs beside Debian's golang-go.
    if ! grep -rqs -- "$codename-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        echo "build.sh: adding $codename-backports to /etc/apt/sources.list.d/" >&2
        printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' \
            "Suites: $codename-backports" 'Components: main' \
            'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' \
            >"/etc/apt/sources.list.d/$codename-backports.sources"
    fi
    echo "build.sh: installing golang-$go_version-go from $codename-backports" >&2
    apt-get update >&2
    apt-get install -y --no-install-recommends -t "$codename-backports" "golang-$go_version-go" >&2
    "$go" version >/dev/null || { echo "build.sh: $go still missing after install" >&2; exit 1; }
}

# Standard library only (GOPROXY=off: no module downloads); -trimpath keeps
# local paths out of the module, -s drops the symbol table.
build_go() {
    (cd "$go_src" && GOTOOLCHAIN=local GOPROXY=off GOFLAGS= GOOS=wasip1 GOARCH=wasm \
        GOCACHE="$cache/go-build" "$go" build -trimpath -buildvcs=false -ldflags=-s -o "$tmp/module.wasm" .)
}

if [[ $langs == *" go "* ]]; then
    target=$out/spiral-go.wasm
    if stale "$target" "$go_src"/*.go "$go_src/go.mod" "$here/build.sh"; then
        ensure_go
        build_into "$target" build_go
    else
        echo "up to date  spiral-go.wasm"
    fi
fi

# ---- Zig (PyPI's ziglang wheel carries the compiler) ----
zig_version=0.14.1
zig_venv=$toolchains/ziglang-$zig_version
zig_src=$here/examples/zig/spiral.zig

zig_works() {
    [[ -e $zig_venv/.installed ]] &&
        [[ $("$zig_venv/bin/python" -m ziglang version 2>/dev/null) == "$zig_version" ]]
}

ensure_zig() {
    zig_works && return 0
    # Needs no root: the compiler comes in a wheel, installed into the cache.
    echo "build.sh: installing ziglang==$zig_version (PyPI) into $zig_venv" >&2
    rm -rf "$zig_venv"
    mkdir -p "$toolchains"
    python3 -m venv "$zig_venv" >&2
    "$zig_venv/bin/python" -m pip install --disable-pip-version-check --no-input \
        "ziglang==$zig_version" >&2
    touch "$zig_venv/.installed"
    zig_works || { echo "build.sh: Zig $zig_version still broken after install" >&2; exit 1; }
}

# Zig's default stack is 16 MiB, so its modules start with 257 pages of
# linear memory and fail under a 16 MiB cap; 1 MiB is plenty here (the
# step is iterative) and starts it at 17 pages.
build_zig() {
    (cd "$tmp" && ZIG_GLOBAL_CACHE_DIR="$zig_venv/cache" ZIG_LOCAL_CACHE_DIR="$zig_venv/cache" \
        "$zig_venv/bin/python" -m ziglang build-exe -target wasm32-wasi -O ReleaseSmall \
        --stack 1048576 -fstrip --name module "$zig_src")
}

if [[ $langs == *" zig "* ]]; then
    target=$out/spiral-zig.wasm
    if stale "$target" "$zig_src" "$here/build.sh"; then
        ensure_zig
        build_into "$target" build_zig
    else
        echo "up to date  spiral-zig.wasm"
    fi
fi

# ---- AssemblyScript (npm; versions pinned by the example's package-lock.json) ----
as_src=$here/examples/assemblyscript/spiral
as_version=$(sed -n 's/^ *"assemblyscript": *"\([^"]*\)".*/\1/p' "$as_src/package.json")
as_dir=$toolchains/assemblyscript-$as_version

as_works() {
    [[ -e $as_dir/.installed && -x $as_dir/node_modules/.bin/asc ]] &&
        cmp -s "$as_src/package-lock.json" "$as_dir/package-lock.json"
}

ensure_as() {
    as_works && return 0
    if ! command -v npm >/dev/null 2>&1; then
        need_root "no npm (AssemblyScript $as_version wants node >= 20)" "apt-get install -y nodejs npm"
        echo "build.sh: installing nodejs npm" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update >&2
        apt-get install -y --no-install-recommends nodejs npm >&2
    fi
    # Needs no root: npm installs into the cache.
    echo "build.sh: installing assemblyscript@$as_version (npm ci) into $as_dir" >&2
    rm -rf "$as_dir"
    mkdir -p "$as_dir"
    cp "$as_src/package.json" "$as_src/package-lock.json" "$as_dir/"
    (cd "$as_dir" && npm ci --no-audit --no-fund --update-notifier=false --loglevel=error) >&2
    touch "$as_dir/.installed"
    as_works || { echo "build.sh: AssemblyScript still broken after install" >&2; exit 1; }
}

# asc resolves the shim's "lib" folder wrongly when given the config by an
# absolute path (it joins it onto the base directory), so run it from the
# toolchain directory with a relative one.
build_as() {
    (cd "$as_dir" && npx --no-install asc "$as_src/assembly/index.ts" \
        --config node_modules/@assemblyscript/wasi-shim/asconfig.json -O3 -o "$tmp/module.wasm")
}

if [[ $langs == *" as "* ]]; then
    target=$out/spiral-as.wasm
    if stale "$target" "$as_src/assembly/index.ts" "$as_src/package.json" \
        "$as_src/package-lock.json" "$here/build.sh"; then
        ensure_as
        build_into "$target" build_as
    else
        echo "up to date  spiral-as.wasm"
    fi
fi
