/*
 * Tries to read /etc/passwd. A sandboxed step gets no preopened
 * directories, so this must fail (wasi-libc then reports ENOTCAPABLE).
 * It reports either way, on stdout as JSON, so a test can assert on what
 * happened instead of only on an exit code.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../step.h"

int main(void) {
    jbuf out = {0};
    FILE *f = fopen("/etc/passwd", "r");
    if (!f) {
        int err = errno;
        step_log("fopen(\"/etc/passwd\") failed: %s (errno %d)", strerror(err), err);
        jb_cstr(&out, "{\"opened\":false,\"errno\":");
        jb_int(&out, err);
        jb_cstr(&out, ",\"error\":");
        jb_string(&out, strerror(err), strlen(strerror(err)));
    } else {
        char head[1024];
        size_t n = fread(head, 1, sizeof head, f);
        fclose(f);
        step_log("read %zu bytes of /etc/passwd: the sandbox is open", n);
        jb_cstr(&out, "{\"opened\":true,\"bytes\":");
        jb_int(&out, (int64_t)n);
        jb_cstr(&out, ",\"head\":");
        jb_string(&out, head, n);
    }
    jb_raw(&out, "}", 1);
    step_write(&out);
    jb_free(&out);
    return 0;
}
