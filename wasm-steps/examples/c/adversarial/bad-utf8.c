/*
 * Exits 0 with JSON that is well-formed except for invalid UTF-8 inside a
 * string, and logs a stderr line with invalid UTF-8 too. The host must
 * reject the output (JSON text is UTF-8) and keep the log line, lossily.
 */
#include <stdio.h>

int main(void) {
    /* \xC3\x28: a lead byte without its continuation; \xFF never occurs. */
    fputs("log line with bad bytes: \xC3\x28 \xFF\n", stderr);
    fputs("{\"name\": \"caf\xC3\x28\", \"raw\": \"\xFF\xFE\"}\n", stdout);
    return 0;
}
