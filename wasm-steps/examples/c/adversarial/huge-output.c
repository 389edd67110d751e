/*
 * Writes exactly 10 MiB to stdout: a valid JSON object with one long string,
 * so only a host output cap (not a parse error) can stop it.
 */
#include <stdio.h>
#include <string.h>

#define TOTAL (10u * 1024 * 1024)

int main(void) {
    static char chunk[64 * 1024];
    const char *head = "{\"blob\":\"", *tail = "\"}";
    size_t left = TOTAL - strlen(head) - strlen(tail);
    memset(chunk, 'x', sizeof chunk);
    fputs(head, stdout);
    while (left) {
        size_t n = left < sizeof chunk ? left : sizeof chunk;
        if (fwrite(chunk, 1, n, stdout) != n) {
            perror("huge-output: write failed");
            return 1;
        }
        left -= n;
    }
    fputs(tail, stdout);
    if (fflush(stdout) != 0) {
        perror("huge-output: write failed");
        return 1;
    }
    fprintf(stderr, "wrote %u bytes\n", TOTAL);
    return 0;
}
