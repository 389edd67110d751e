/*
 * verify-manifest: checks a backup's manifest against what was expected.
 *
 * Input  {"manifest": {"items": [{"name", "size", "sha256", "tags": {...}}]},
 *         "expect":   {"items": [{"name", "size", "sha256"}],
 *                      "required_tags": ["key", ...]}}   (required_tags optional)
 * Output {"ok": true, "checked": N}, N being the manifest items checked;
 * otherwise exit 1 with one stderr line per problem, the last line a
 * summary (the engine shows the last line as the failure message).
 *
 * Problems found: a malformed manifest item, a required tag missing, a name
 * listed twice, an expected item missing, a size or sha256 that differs, an
 * item nobody expected. They are reported in that order (then in manifest
 * or expectation order) so two runs can be diffed. Each line starts with
 * the item's name as a JSON string, so odd names cannot split lines.
 * Malformed *expectations* stop the step at once instead: they are a
 * configuration mistake, not a finding about the backup.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "step.h"

#define SIZE_LIMIT 9007199254740992LL /* 2^53: the largest exact JSON integer */

typedef struct {
    const char *name;
    size_t name_len;
    int64_t size;
    const char *sha256;
    const json *tags;
} item;

static size_t problems;

static void problem(const char *name, size_t name_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void problem(const char *name, size_t name_len, const char *fmt, ...) {
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    char *q = step_quote(name, name_len);
    step_log("%s: %s", q, what);
    free(q);
    problems++;
}

static int cmp_name(const item *a, const item *b) {
    size_t n = a->name_len < b->name_len ? a->name_len : b->name_len;
    int c = memcmp(a->name, b->name, n);
    return c ? c : (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

static int by_name(const void *a, const void *b) {
    return cmp_name(*(const item *const *)a, *(const item *const *)b);
}

static int is_sha256(const json *v) {
    if (!v || v->type != JSON_STRING || v->len != 64) return 0;
    for (size_t i = 0; i < 64; i++)
        if (!isxdigit((unsigned char)v->str[i])) return 0;
    return 1;
}

static int same_sha(const char *a, const char *b) {
    for (int i = 0; i < 64; i++)
        if (tolower((unsigned char)a[i]) != tolower((unsigned char)b[i])) return 0;
    return 1;
}

/* Reads item `e` into `it`; returns what is wrong with it, or NULL. */
static const char *read_item(const json *e, item *it) {
    if (e->type != JSON_OBJECT) return "is not an object";
    const json *name = json_get(e, "name"), *sha = json_get(e, "sha256");
    if (!name || name->type != JSON_STRING || !name->len) return "has no non-empty \"name\"";
    it->name = name->str;
    it->name_len = name->len;
    if (!json_integer(json_get(e, "size"), 0, SIZE_LIMIT, &it->size))
        return "has no \"size\" (a non-negative integer)";
    if (!is_sha256(sha)) return "has no \"sha256\" (64 hex digits)";
    it->sha256 = sha->str;
    it->tags = json_get(e, "tags");
    if (it->tags && it->tags->type != JSON_OBJECT) return "has \"tags\" that is not an object";
    return NULL;
}

static const json *items_of(const json *params, const char *side) {
    const json *obj = json_get(params, side), *items = json_get(obj, "items");
    if (!obj || obj->type != JSON_OBJECT)
        step_fail(STEP_FATAL, "\"%s\" must be an object with \"items\"", side);
    if (!items || items->type != JSON_ARRAY)
        step_fail(STEP_FATAL, "\"%s.items\" must be an array", side);
    return items;
}

/* Items in `list` sorted by name, for lookups and duplicate checks. */
static item **sorted(item *list, size_t n) {
    item **s = calloc(n ? n : 1, sizeof *s);
    if (!s) step_fail(STEP_FATAL, "out of memory");
    for (size_t i = 0; i < n; i++) s[i] = &list[i];
    qsort(s, n, sizeof *s, by_name);
    return s;
}

int main(void) {
    json_doc *doc;
    const json *params = step_read_params(&doc, JSON_DEFAULT_MAX_DEPTH, 1);
    static const char *const allowed[] = {"manifest", "expect", NULL};
    const json *bad = json_unknown_member(params, allowed), *e;
    if (bad) step_fail(STEP_FATAL, "unknown parameter %s", step_quote(bad->key, bad->key_len));
    const json *have = items_of(params, "manifest"), *want = items_of(params, "expect");
    const json *tags = json_get(json_get(params, "expect"), "required_tags");
    if (tags && tags->type != JSON_ARRAY)
        step_fail(STEP_FATAL, "\"expect.required_tags\" must be an array of strings");
    for (e = tags ? tags->first : NULL; e; e = e->next)
        if (e->type != JSON_STRING || !e->len)
            step_fail(STEP_FATAL, "\"expect.required_tags\" must hold non-empty strings");

    size_t nw = want->count, nh = 0, i = 0;
    item *w = calloc(nw ? nw : 1, sizeof *w), *h = calloc(have->count ? have->count : 1, sizeof *h);
    if (!w || !h) step_fail(STEP_FATAL, "out of memory");
    for (e = want->first; e; e = e->next, i++) {
        const char *why = read_item(e, &w[i]);
        if (why) step_fail(STEP_FATAL, "expect.items[%zu] %s", i, why);
    }
    item **ws = sorted(w, nw);
    for (i = 1; i < nw; i++)
        if (!cmp_name(ws[i - 1], ws[i]))
            step_fail(STEP_FATAL, "expect.items lists %s twice", step_quote(ws[i]->name, ws[i]->name_len));

    /* The manifest is what is being verified: malformed items are findings. */
    i = 0;
    for (e = have->first; e; e = e->next, i++) {
        item it = {0};
        const char *why = read_item(e, &it);
        if (!why) h[nh++] = it;
        else if (it.name) problem(it.name, it.name_len, "manifest item %s", why);
        else {
            step_log("manifest.items[%zu] %s", i, why);
            problems++;
        }
    }
    for (i = 0; i < nh; i++)
        for (e = tags ? tags->first : NULL; e; e = e->next)
            if (!json_get_n(h[i].tags, e->str, e->len)) {
                char *q = step_quote(e->str, e->len);
                problem(h[i].name, h[i].name_len, "lacks required tag %s", q);
                free(q);
            }
    item **hs = sorted(h, nh);
    for (i = 1; i < nh; i++)
        if (!cmp_name(hs[i - 1], hs[i]))
            problem(hs[i]->name, hs[i]->name_len, "listed more than once in the manifest");

    for (i = 0; i < nw; i++) {
        const item *key = &w[i];
        item **found = bsearch(&key, hs, nh, sizeof *hs, by_name);
        if (!found) {
            problem(w[i].name, w[i].name_len, "missing from the manifest");
            continue;
        }
        const item *got = *found;
        if (got->size != w[i].size)
            problem(w[i].name, w[i].name_len, "size is %lld, expected %lld",
                    (long long)got->size, (long long)w[i].size);
        if (!same_sha(got->sha256, w[i].sha256))
            problem(w[i].name, w[i].name_len, "sha256 is %.64s, expected %.64s", got->sha256,
                    w[i].sha256);
    }
    for (i = 0; i < nh; i++) {
        const item *key = &h[i];
        if (!bsearch(&key, ws, nw, sizeof *ws, by_name))
            problem(h[i].name, h[i].name_len, "not expected");
    }

    if (problems)
        step_fail(STEP_FATAL, "verify-manifest: %zu problem%s in %zu manifest items (%zu expected)",
                  problems, problems == 1 ? "" : "s", have->count, nw);
    jbuf out = {0};
    jb_cstr(&out, "{\"ok\":true,\"checked\":");
    jb_int(&out, (int64_t)have->count);
    jb_raw(&out, "}", 1);
    step_write(&out);
    jb_free(&out);
    free(ws);
    free(hs);
    free(w);
    free(h);
    json_doc_free(doc);
    return STEP_OK;
}
