/*
 * Exits 0 but prints output that is not JSON (truncated mid-value), like a
 * step that crashed half-way through writing. The host must fail the step
 * with a parse error, not pass garbage downstream.
 */
#include <stdio.h>

int main(void) {
    fputs("{\"status\": \"done\", \"count\": 3, \"items\": [1, 2,", stdout);
    return 0;
}
