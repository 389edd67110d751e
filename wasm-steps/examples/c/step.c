/* Contract helpers shared by the example steps; see step.h. */
#include "step.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vlog(const char *fmt, va_list ap) {
    char line[2048];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) memcpy(line + sizeof line - 4, "...", 4);
    for (char *c = line; *c; c++)
        if (*c == '\n' || *c == '\r') *c = ' ';
    fprintf(stderr, "%s\n", line);
    fflush(stderr);
}

void step_log(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
}

void step_fail(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlog(fmt, ap);
    va_end(ap);
    exit(code);
}

static char *read_stdin(size_t *len) {
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap);
    if (!buf) step_fail(STEP_FATAL, "out of memory reading the parameters");
    for (;;) {
        if (n == cap) {
            if (cap >= STEP_MAX_INPUT)
                step_fail(STEP_FATAL, "parameters larger than %u bytes", STEP_MAX_INPUT);
            cap *= 2;
            char *more = realloc(buf, cap);
            if (!more) step_fail(STEP_FATAL, "out of memory reading the parameters");
            buf = more;
        }
        size_t got = fread(buf + n, 1, cap - n, stdin);
        n += got;
        if (got == 0) {
            if (ferror(stdin))
                step_fail(STEP_FATAL, "cannot read stdin: %s", strerror(errno));
            break;
        }
    }
    *len = n;
    return buf;
}

const json *step_read_params(json_doc **doc, size_t max_depth, int want_object) {
    size_t len;
    char *text = read_stdin(&len);
    char err[256];
    *doc = json_parse(text, len, max_depth, err, sizeof err);
    free(text);
    if (!*doc) step_fail(STEP_FATAL, "parameters are not valid JSON: %s", err);
    const json *root = json_root(*doc);
    if (want_object && root->type != JSON_OBJECT)
        step_fail(STEP_FATAL, "parameters must be a JSON object, got %s",
                  json_type_name(root->type));
    return root;
}

void step_write(jbuf *out) {
    jb_raw(out, "\n", 1);
    if (out->failed) step_fail(STEP_FATAL, "out of memory building the output");
    if (fwrite(out->data, 1, out->len, stdout) != out->len || fflush(stdout) != 0)
        step_fail(STEP_FATAL, "cannot write stdout: %s", strerror(errno));
}

char *step_quote(const char *s, size_t n) {
    jbuf b = {0};
    jb_string(&b, s, n);
    jb_raw(&b, "", 1); /* NUL; jb_raw copies it like any byte */
    if (b.failed) step_fail(STEP_FATAL, "out of memory");
    return b.data;
}
