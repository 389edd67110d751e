/*
 * Allocates 1 MiB blocks until malloc fails, so only the host's memory cap
 * stops it (a trap on memory.grow, or malloc returning NULL and this module
 * exiting 1). Each block links to the previous one and the newest hangs off
 * a volatile global: clang -O2 cannot prove the memory unused and drop the
 * allocations.
 */
#include <stdio.h>
#include <stdlib.h>

#define BLOCK (1024 * 1024)

static void *volatile newest;

int main(void) {
    size_t mib = 0;
    for (;;) {
        void **block = malloc(BLOCK);
        if (!block) {
            fprintf(stderr, "malloc failed after %zu MiB\n", mib);
            return 1;
        }
        block[0] = newest;
        newest = block;
        if (++mib % 64 == 0) fprintf(stderr, "allocated %zu MiB\n", mib);
    }
}
