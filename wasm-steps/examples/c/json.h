/*
 * A small JSON reader and writer for the example steps.
 *
 * Why not a library: the examples should build with nothing but clang and
 * wasi-libc. Why this shape:
 *  - The parser is iterative (no C recursion), so a deeply nested input
 *    (a 10,000-deep tree) cannot overflow the guest's small shadow stack;
 *    nesting is still capped by `max_depth` so memory stays bounded.
 *  - Every node of one document lives in one arena: freeing is one call and
 *    an early error exit cannot leak half a tree.
 *  - Strings are validated UTF-8 with escapes decoded; they carry a length
 *    because "\u0000" is legal JSON.
 *  - Numbers keep their source text so a value passes through unchanged
 *    (1.10 stays 1.10, big integers keep their digits).
 *  - Object members keep their order; lookups return the first match.
 */
#ifndef SHUTTER_JSON_H
#define SHUTTER_JSON_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    JSON_NULL,
    JSON_BOOL,
    JSON_NUMBER,
    JSON_STRING,
    JSON_ARRAY,
    JSON_OBJECT,
} json_type;

typedef struct json json;

struct json {
    json_type type;
    int boolean;            /* JSON_BOOL */
    double number;          /* JSON_NUMBER: value; `str` holds the source text */
    const char *str;        /* JSON_STRING: decoded, NUL-terminated; JSON_NUMBER: text */
    size_t len;             /* length of `str` in bytes */
    const char *key;        /* member name when the parent is an object */
    size_t key_len;
    json *parent;           /* enclosing array/object, NULL for the root */
    json *first, *last;     /* JSON_ARRAY/JSON_OBJECT children, in order */
    json *next;             /* next sibling inside the parent */
    size_t count;           /* number of children */
};

typedef struct json_doc json_doc;

/* Nesting cap for inputs with no reason to be deep. */
#define JSON_DEFAULT_MAX_DEPTH 512

/*
 * Parses `len` bytes of `text` (one JSON value, surrounding whitespace
 * allowed). On success returns the document; its root is json_root(doc).
 * On failure returns NULL and writes "line L, column C: what" into `err`.
 */
json_doc *json_parse(const char *text, size_t len, size_t max_depth,
                     char *err, size_t err_size);
const json *json_root(const json_doc *doc);
void json_doc_free(json_doc *doc);

const char *json_type_name(json_type type);

/* The member `key` of object `obj`; NULL when absent or `obj` is no object.
 * json_get_n takes a length, for names that may hold "\u0000". */
const json *json_get(const json *obj, const char *key);
const json *json_get_n(const json *obj, const char *key, size_t n);

/* The first member of `obj` whose name is not in the NULL-terminated
 * `allowed` list, or NULL; lets steps reject misspelt parameters. */
const json *json_unknown_member(const json *obj, const char *const *allowed);

/* 1 when `v` is a number with an exact integer value in [min, max]. */
int json_integer(const json *v, int64_t min, int64_t max, int64_t *out);

/* ---- writer ---- */

/* A growable output buffer. After an allocation failure it stops growing and
 * sets `failed`; callers check once at the end instead of after each call. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} jbuf;

void jb_raw(jbuf *b, const char *s, size_t n);
void jb_cstr(jbuf *b, const char *s);
/* A quoted, escaped JSON string. Invalid UTF-8 becomes U+FFFD, so the
 * output is valid JSON whatever bytes come in. */
void jb_string(jbuf *b, const char *s, size_t n);
void jb_int(jbuf *b, int64_t v);
/* Serialises `v` compactly (iteratively, any depth). */
void jb_value(jbuf *b, const json *v);
void jb_free(jbuf *b);

#endif
