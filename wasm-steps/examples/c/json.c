/* JSON reader and writer; see json.h for the design choices. */
#include "json.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena: every node and string of one document ---- */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
} chunk;

#define ALIGN 8
#define CHUNK_SIZE (64 * 1024)
#define HEADER ((sizeof(chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1))

struct json_doc {
    chunk *chunks;
    json *root;
};

static void *arena_alloc(json_doc *d, size_t n) {
    if (n > SIZE_MAX - HEADER - ALIGN) return NULL;
    n = (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    chunk *c = d->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > CHUNK_SIZE ? n : CHUNK_SIZE;
        c = malloc(HEADER + cap);
        if (!c) return NULL;
        c->next = d->chunks;
        c->used = 0;
        c->cap = cap;
        d->chunks = c;
    }
    void *p = (char *)c + HEADER + c->used;
    c->used += n;
    return p;
}

void json_doc_free(json_doc *d) {
    if (!d) return;
    for (chunk *c = d->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(d);
}

const json *json_root(const json_doc *d) { return d->root; }

/* ---- UTF-8 ---- */

/* Length of the valid UTF-8 sequence starting at s (n bytes available), or
 * 0. Rejects overlong forms, surrogates and code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n) {
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c == 0xE0) need = 3, lo = 0xA0;
    else if (c == 0xED) need = 3, hi = 0x9F;
    else if (c >= 0xE1 && c <= 0xEF) need = 3;
    else if (c == 0xF0) need = 4, lo = 0x90;
    else if (c == 0xF4) need = 4, hi = 0x8F;
    else if (c >= 0xF1 && c <= 0xF3) need = 4;
    else return 0;
    if (n < need || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < need; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    return need;
}

static size_t utf8_put(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- parser ---- */

typedef struct {
    const char *s;
    size_t len, pos;
    json_doc *doc;
    char *err;
    size_t err_size;
    int failed;
} parser;

/* Records the first error only, with a 1-based line and byte column. */
static void fail(parser *p, const char *fmt, ...) {
    if (p->failed) return;
    p->failed = 1;
    if (!p->err || !p->err_size) return;
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->len; i++) {
        if (p->s[i] == '\n') line++, col = 1;
        else col++;
    }
    int n = snprintf(p->err, p->err_size, "line %zu, column %zu: ", line, col);
    if (n < 0 || (size_t)n >= p->err_size) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->err_size - (size_t)n, fmt, ap);
    va_end(ap);
}

static void skip_ws(parser *p) {
    while (p->pos < p->len) {
        char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex4(const char *s, uint32_t *out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (is_digit(c)) v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return 0;
    }
    *out = v;
    return 1;
}

/* Decodes the string at p->pos (on its opening quote) into the arena. */
static int parse_string(parser *p, const char **out, size_t *out_len) {
    const char *s = p->s;
    size_t start = p->pos + 1, end = start;
    /* First find the closing quote, so the buffer can be sized: decoded
     * text is never longer than its escaped form. */
    while (end < p->len && s[end] != '"') end += s[end] == '\\' ? 2 : 1;
    if (end >= p->len) {
        fail(p, "unterminated string");
        return 0;
    }
    char *buf = arena_alloc(p->doc, end - start + 1);
    if (!buf) {
        fail(p, "out of memory");
        return 0;
    }
    size_t o = 0;
    p->pos = start;
    while (p->pos < end) {
        unsigned char c = (unsigned char)s[p->pos];
        if (c == '\\') {
            char e = s[p->pos + 1]; /* < end: the scan above skipped it */
            uint32_t cp, lo;
            p->pos += 2;
            switch (e) {
            case '"': buf[o++] = '"'; break;
            case '\\': buf[o++] = '\\'; break;
            case '/': buf[o++] = '/'; break;
            case 'b': buf[o++] = '\b'; break;
            case 'f': buf[o++] = '\f'; break;
            case 'n': buf[o++] = '\n'; break;
            case 'r': buf[o++] = '\r'; break;
            case 't': buf[o++] = '\t'; break;
            case 'u':
                if (end - p->pos < 4 || !hex4(s + p->pos, &cp)) {
                    fail(p, "\\u must be followed by four hex digits");
                    return 0;
                }
                p->pos += 4;
                if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    fail(p, "lone low surrogate \\u%04X", (unsigned)cp);
                    return 0;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (end - p->pos < 6 || s[p->pos] != '\\' || s[p->pos + 1] != 'u' ||
                        !hex4(s + p->pos + 2, &lo) || lo < 0xDC00 || lo > 0xDFFF) {
                        fail(p, "high surrogate \\u%04X without a low surrogate", (unsigned)cp);
                        return 0;
                    }
                    p->pos += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                o += utf8_put(buf + o, cp);
                break;
            default:
                p->pos -= 1;
                fail(p, "invalid escape");
                return 0;
            }
        } else if (c < 0x20) {
            fail(p, "control character 0x%02x in string must be escaped", c);
            return 0;
        } else {
            size_t k = utf8_seq((const unsigned char *)s + p->pos, end - p->pos);
            if (!k) {
                fail(p, "invalid UTF-8 in string");
                return 0;
            }
            memcpy(buf + o, s + p->pos, k);
            o += k;
            p->pos += k;
        }
    }
    buf[o] = '\0';
    p->pos = end + 1;
    *out = buf;
    *out_len = o;
    return 1;
}

static int parse_number(parser *p, json *v) {
    const char *s = p->s;
    size_t start = p->pos, n;
    if (s[p->pos] == '-') p->pos++;
    if (p->pos < p->len && s[p->pos] == '0') p->pos++;
    else if (p->pos < p->len && is_digit(s[p->pos]))
        while (p->pos < p->len && is_digit(s[p->pos])) p->pos++;
    else goto bad;
    if (p->pos < p->len && s[p->pos] == '.') {
        p->pos++;
        if (p->pos >= p->len || !is_digit(s[p->pos])) goto bad;
        while (p->pos < p->len && is_digit(s[p->pos])) p->pos++;
    }
    if (p->pos < p->len && (s[p->pos] == 'e' || s[p->pos] == 'E')) {
        p->pos++;
        if (p->pos < p->len && (s[p->pos] == '+' || s[p->pos] == '-')) p->pos++;
        if (p->pos >= p->len || !is_digit(s[p->pos])) goto bad;
        while (p->pos < p->len && is_digit(s[p->pos])) p->pos++;
    }
    n = p->pos - start;
    char *text = arena_alloc(p->doc, n + 1);
    if (!text) {
        fail(p, "out of memory");
        return 0;
    }
    memcpy(text, s + start, n);
    text[n] = '\0';
    v->type = JSON_NUMBER;
    v->number = strtod(text, NULL);
    v->str = text;
    v->len = n;
    if (isinf(v->number)) {
        p->pos = start;
        fail(p, "number out of range");
        return 0;
    }
    return 1;
bad:
    fail(p, "invalid number");
    return 0;
}

static int parse_literal(parser *p, const char *word) {
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0) {
        fail(p, "invalid literal (expected %s)", word);
        return 0;
    }
    p->pos += n;
    return 1;
}

/* `"name" :` inside an object. */
static int parse_key(parser *p, const char **key, size_t *key_len) {
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != '"') {
        fail(p, "expected a member name in double quotes");
        return 0;
    }
    if (!parse_string(p, key, key_len)) return 0;
    skip_ws(p);
    if (p->pos >= p->len || p->s[p->pos] != ':') {
        fail(p, "expected ':' after member name");
        return 0;
    }
    p->pos++;
    return 1;
}

/* Appends a fresh node to the open container `cur` (or makes it the root). */
static json *new_node(parser *p, json *cur, const char *key, size_t key_len) {
    json *v = arena_alloc(p->doc, sizeof *v);
    if (!v) {
        fail(p, "out of memory");
        return NULL;
    }
    memset(v, 0, sizeof *v);
    v->parent = cur;
    v->key = key;
    v->key_len = key_len;
    if (!cur) p->doc->root = v;
    else {
        if (cur->last) cur->last->next = v;
        else cur->first = v;
        cur->last = v;
        cur->count++;
    }
    return v;
}

/*
 * An explicit state machine instead of recursive descent: `cur` is the
 * innermost open container and each node's parent pointer is the stack, so
 * C stack use is constant whatever the nesting.
 */
json_doc *json_parse(const char *text, size_t len, size_t max_depth, char *err,
                     size_t err_size) {
    json_doc *doc = calloc(1, sizeof *doc);
    parser p = {text, len, 0, doc, err, err_size, 0};
    json *cur = NULL;
    size_t depth = 0, key_len = 0;
    const char *key = NULL;

    if (err && err_size) err[0] = '\0';
    if (!doc) {
        fail(&p, "out of memory");
        return NULL;
    }
    for (;;) {
        /* Expecting a value. */
        skip_ws(&p);
        if (p.pos >= len) {
            fail(&p, cur ? "unexpected end of input" : "no JSON value in the input");
            goto done;
        }
        json *v = new_node(&p, cur, key, key_len);
        if (!v) goto done;
        key = NULL;
        char c = text[p.pos];
        switch (c) {
        case '{':
        case '[':
            if (depth >= max_depth) {
                fail(&p, "nesting deeper than %zu levels", max_depth);
                goto done;
            }
            v->type = c == '{' ? JSON_OBJECT : JSON_ARRAY;
            p.pos++;
            skip_ws(&p);
            if (p.pos < len && text[p.pos] == (c == '{' ? '}' : ']')) {
                p.pos++; /* empty: complete at once */
                break;
            }
            depth++;
            cur = v;
            if (v->type == JSON_OBJECT && !parse_key(&p, &key, &key_len)) goto done;
            continue;
        case '"':
            v->type = JSON_STRING;
            if (!parse_string(&p, &v->str, &v->len)) goto done;
            break;
        case 't':
        case 'f':
            v->type = JSON_BOOL;
            v->boolean = c == 't';
            if (!parse_literal(&p, c == 't' ? "true" : "false")) goto done;
            break;
        case 'n':
            v->type = JSON_NULL;
            if (!parse_literal(&p, "null")) goto done;
            break;
        default:
            if (c == '-' || is_digit(c)) {
                if (!parse_number(&p, v)) goto done;
            } else if (c > 0x20 && c < 0x7f) {
                fail(&p, "unexpected '%c'", c);
                goto done;
            } else {
                fail(&p, "unexpected byte 0x%02x", (unsigned char)c);
                goto done;
            }
        }
        /* A value is complete: close containers until one wants more. */
        for (;;) {
            if (!cur) goto finished;
            skip_ws(&p);
            char close = cur->type == JSON_OBJECT ? '}' : ']';
            if (p.pos >= len) {
                fail(&p, "unexpected end of input (missing '%c')", close);
                goto done;
            }
            c = text[p.pos];
            if (c == close) {
                p.pos++;
                depth--;
                cur = cur->parent;
                continue;
            }
            if (c != ',') {
                fail(&p, "expected ',' or '%c'", close);
                goto done;
            }
            p.pos++;
            if (cur->type == JSON_OBJECT && !parse_key(&p, &key, &key_len)) goto done;
            break;
        }
    }
finished:
    skip_ws(&p);
    if (p.pos < len) fail(&p, "unexpected data after the JSON value");
done:
    if (p.failed) {
        json_doc_free(doc);
        return NULL;
    }
    return doc;
}

/* ---- access ---- */

const char *json_type_name(json_type t) {
    switch (t) {
    case JSON_NULL: return "null";
    case JSON_BOOL: return "boolean";
    case JSON_NUMBER: return "number";
    case JSON_STRING: return "string";
    case JSON_ARRAY: return "array";
    case JSON_OBJECT: return "object";
    }
    return "?";
}

const json *json_get(const json *obj, const char *key) {
    return json_get_n(obj, key, strlen(key));
}

const json *json_get_n(const json *obj, const char *key, size_t n) {
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    for (const json *m = obj->first; m; m = m->next)
        if (m->key_len == n && memcmp(m->key, key, n) == 0) return m;
    return NULL;
}

const json *json_unknown_member(const json *obj, const char *const *allowed) {
    if (!obj || obj->type != JSON_OBJECT) return NULL;
    for (const json *m = obj->first; m; m = m->next) {
        const char *const *a = allowed;
        while (*a && !(strlen(*a) == m->key_len && memcmp(*a, m->key, m->key_len) == 0)) a++;
        if (!*a) return m;
    }
    return NULL;
}

int json_integer(const json *v, int64_t min, int64_t max, int64_t *out) {
    /* Doubles are exact up to 2^53; beyond that "equal" would be a guess. */
    const double limit = 9007199254740992.0;
    if (!v || v->type != JSON_NUMBER) return 0;
    double d = v->number;
    if (!(d >= -limit && d <= limit) || d != floor(d)) return 0;
    int64_t i = (int64_t)d;
    if (i < min || i > max) return 0;
    *out = i;
    return 1;
}

/* ---- writer ---- */

static int jb_reserve(jbuf *b, size_t n) {
    if (b->failed) return 0;
    if (b->cap - b->len >= n) return 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < n) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return 0;
        }
        cap *= 2;
    }
    char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return 0;
    }
    b->data = d;
    b->cap = cap;
    return 1;
}

void jb_raw(jbuf *b, const char *s, size_t n) {
    if (n && jb_reserve(b, n)) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
    }
}

void jb_cstr(jbuf *b, const char *s) { jb_raw(b, s, strlen(s)); }

void jb_int(jbuf *b, int64_t v) {
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    jb_raw(b, tmp, (size_t)n);
}

void jb_string(jbuf *b, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0; /* bytes [run, i) are copied verbatim */
    jb_raw(b, "\"", 1);
    while (i < n) {
        unsigned char c = u[i];
        const char *esc = NULL;
        char tmp[8];
        size_t k = 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            if (c < 0x20) {
                snprintf(tmp, sizeof tmp, "\\u%04x", c);
                esc = tmp;
            } else if (c >= 0x80 && !(k = utf8_seq(u + i, n - i))) {
                esc = "\\ufffd";
                k = 1;
            }
        }
        if (esc) {
            jb_raw(b, s + run, i - run);
            jb_cstr(b, esc);
            run = i + k;
        }
        i += k;
    }
    jb_raw(b, s + run, i - run);
    jb_raw(b, "\"", 1);
}

/* Walks the tree with parent pointers, like the parser, so any depth works. */
void jb_value(jbuf *b, const json *root) {
    const json *v = root;
    for (;;) {
        if (v != root && v->parent->type == JSON_OBJECT) {
            jb_string(b, v->key, v->key_len);
            jb_raw(b, ":", 1);
        }
        switch (v->type) {
        case JSON_NULL: jb_cstr(b, "null"); break;
        case JSON_BOOL: jb_cstr(b, v->boolean ? "true" : "false"); break;
        case JSON_NUMBER: jb_raw(b, v->str, v->len); break;
        case JSON_STRING: jb_string(b, v->str, v->len); break;
        case JSON_ARRAY:
        case JSON_OBJECT:
            jb_raw(b, v->type == JSON_ARRAY ? "[" : "{", 1);
            if (v->first) {
                v = v->first;
                continue;
            }
            jb_raw(b, v->type == JSON_ARRAY ? "]" : "}", 1);
            break;
        }
        /* `v` is written: go to its next sibling, closing finished parents. */
        for (;;) {
            if (v == root) return;
            if (v->next) {
                jb_raw(b, ",", 1);
                v = v->next;
                break;
            }
            v = v->parent;
            jb_raw(b, v->type == JSON_ARRAY ? "]" : "}", 1);
        }
    }
}

void jb_free(jbuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
