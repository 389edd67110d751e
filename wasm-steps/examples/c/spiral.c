/*
 * spiral: level-order traversal of a binary tree in spiral (zigzag) form.
 *
 * Input  {"tree": T} where T is null or
 *        {"value": number|string, "left": T, "right": T}; left/right may be
 *        omitted (same as null).
 * Output {"order": [value, ...]}; an empty tree gives [].
 *
 * Direction, numbering the root's level 1 (the seed exercise's printSpiral
 * and GeeksforGeeks' convention): odd levels go right-to-left, even levels
 * left-to-right. Level 1 holds only the root, so the first visible
 * reversal is level 3:   1(2(4,5),3(6,7))  ->  [1, 2, 3, 7, 6, 5, 4]
 *
 * Why iterative: one level is held at a time, in left-to-right order, then
 * emitted forwards or backwards and expanded into the next level. Stack use
 * is constant, so a one-sided tree 10,000 levels deep is as safe as a
 * balanced one (the JSON parser is iterative for the same reason).
 */
#include <stdlib.h>

#include "step.h"

/* The tree's JSON nests one object per level; bound it so a hostile input
 * costs bounded memory (~200 bytes a node). */
#define MAX_TREE_DEPTH 100000

typedef struct {
    const json **items;
    size_t len, cap;
} level;

static void push(level *l, const json *node) {
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        const json **items = realloc(l->items, cap * sizeof *items);
        if (!items) step_fail(STEP_FATAL, "out of memory");
        l->items = items;
        l->cap = cap;
    }
    l->items[l->len++] = node;
}

/* Checks one node and returns its value; `depth` and `pos` (1-based, left
 * to right) locate it in messages, since a path could be 10,000 long. */
static const json *checked_value(const json *node, size_t depth, size_t pos) {
    static const char *const allowed[] = {"value", "left", "right", NULL};
    const json *bad = json_unknown_member(node, allowed);
    if (bad)
        step_fail(STEP_FATAL, "tree node at level %zu, position %zu: unknown member %s",
                  depth, pos, step_quote(bad->key, bad->key_len));
    const json *value = json_get(node, "value");
    if (!value)
        step_fail(STEP_FATAL, "tree node at level %zu, position %zu: missing \"value\"",
                  depth, pos);
    if (value->type != JSON_NUMBER && value->type != JSON_STRING)
        step_fail(STEP_FATAL,
                  "tree node at level %zu, position %zu: \"value\" must be a number or "
                  "a string, got %s",
                  depth, pos, json_type_name(value->type));
    return value;
}

/* Adds `node`'s child `side` to `next` unless it is absent or null. */
static void gather(level *next, const json *node, const char *side, size_t depth,
                   size_t pos) {
    const json *child = json_get(node, side);
    if (!child || child->type == JSON_NULL) return;
    if (child->type != JSON_OBJECT)
        step_fail(STEP_FATAL,
                  "tree node at level %zu, position %zu: \"%s\" must be an object or "
                  "null, got %s",
                  depth, pos, side, json_type_name(child->type));
    push(next, child);
}

int main(void) {
    json_doc *doc;
    const json *params = step_read_params(&doc, MAX_TREE_DEPTH + 1, 1);
    static const char *const allowed[] = {"tree", NULL};
    const json *bad = json_unknown_member(params, allowed);
    if (bad) step_fail(STEP_FATAL, "unknown parameter %s", step_quote(bad->key, bad->key_len));
    const json *tree = json_get(params, "tree");
    if (!tree) step_fail(STEP_FATAL, "missing parameter \"tree\"");
    if (tree->type != JSON_NULL && tree->type != JSON_OBJECT)
        step_fail(STEP_FATAL, "\"tree\" must be an object or null, got %s",
                  json_type_name(tree->type));

    level cur = {0}, next = {0};
    if (tree->type == JSON_OBJECT) push(&cur, tree);

    jbuf out = {0};
    int first = 1;
    jb_cstr(&out, "{\"order\":[");
    for (size_t depth = 1; cur.len; depth++) {
        int left_to_right = depth % 2 == 0;
        for (size_t k = 0; k < cur.len; k++) {
            size_t i = left_to_right ? k : cur.len - 1 - k;
            const json *value = checked_value(cur.items[i], depth, i + 1);
            if (!first) jb_raw(&out, ",", 1);
            first = 0;
            jb_value(&out, value);
        }
        next.len = 0;
        for (size_t i = 0; i < cur.len; i++) {
            gather(&next, cur.items[i], "left", depth, i + 1);
            gather(&next, cur.items[i], "right", depth, i + 1);
        }
        level t = cur;
        cur = next;
        next = t;
    }
    jb_cstr(&out, "]}");
    step_write(&out);
    jb_free(&out);
    free(cur.items);
    free(next.items);
    json_doc_free(doc);
    return STEP_OK;
}
