/*
 * Spins forever without calling the host: only an epoch deadline or fuel
 * can stop it. The volatile counter gives the loop a side effect, so clang
 * may not assume it terminates and delete it.
 */
#include <stdio.h>

static volatile unsigned long spins;

int main(void) {
    fprintf(stderr, "spinning forever\n");
    for (;;) spins++;
}
