/*
 * The WASI-command side of the step contract (see ../../README.md):
 * parameters are one JSON object on stdin, outputs one JSON object on
 * stdout, each stderr line is a log line, and the exit code says how it
 * ended. These helpers keep every example on that contract.
 */
#ifndef SHUTTER_STEP_H
#define SHUTTER_STEP_H

#include "json.h"

enum {
    STEP_OK = 0,
    STEP_FATAL = 1,
    STEP_RETRY = 75, /* EX_TEMPFAIL from sysexits.h: the engine may retry */
};

/* Larger inputs are refused rather than exhausting guest memory. */
#define STEP_MAX_INPUT (64u * 1024 * 1024)

/* One log line on stderr. Newlines in the text become spaces, so one call
 * is always one line and the last line stays the failure message. */
void step_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Logs the message as the last stderr line and exits with `code`. */
_Noreturn void step_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads all of stdin and parses it; fails the step (fatal) when the input
 * is missing, too large, not JSON, or (when `want_object`) not an object. */
const json *step_read_params(json_doc **doc, size_t max_depth, int want_object);

/* Writes `out` and a newline to stdout; fails the step if that is
 * impossible or if building `out` ran out of memory. */
void step_write(jbuf *out);

/* `s` as a quoted JSON string in a malloc'd C string, for messages that name
 * user data (a name holding a newline must not split a log line). */
char *step_quote(const char *s, size_t n);

#endif
