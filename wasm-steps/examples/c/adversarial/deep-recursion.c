/*
 * Recurses until the engine's wasm call stack runs out (wasmtime:
 * Trap::StackOverflow; node: RangeError). The frame lives in wasm locals,
 * not the C shadow stack, so it is the engine's guard that must catch it.
 * Two things keep clang from turning the recursion into a loop: the result
 * is used after the call in a non-associative way, and the base case reads
 * a volatile, so the function is not provably non-returning.
 */
#include <stdio.h>

static volatile unsigned stop_at; /* 0: never reached, n starts at 1 */

__attribute__((noinline)) static unsigned dive(unsigned n) {
    if (n == stop_at) return n;
    return dive(n + 1) * 3u + n;
}

int main(void) {
    fprintf(stderr, "recursing without end\n");
    return (int)(dive(1) & 1u);
}
