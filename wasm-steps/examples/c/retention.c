/*
 * retention: a grandfather-father-son planner. It only plans; a later step
 * deletes, so the plan can be reviewed or dry-run.
 *
 * Input  {"snapshots": [{"id": "...", "created_at": "RFC 3339"}, ...],
 *         "policy": {"daily": N, "weekly": W, "monthly": M},
 *         "now": "RFC 3339" (optional),
 *         "group_by": "tags.shutter-execution" (optional)}
 * Output {"keep":   [{"id": "...", "reasons": ["daily", "weekly", ...]}],
 *         "delete": [{"id": "...", "reason": "..."}],
 *         "note": "..." (only when the safety rule below applied)}
 *
 * Rules: keep the newest snapshot of each of the last N distinct UTC days
 * that have snapshots, of the last W distinct ISO weeks, of the last M
 * distinct months; a snapshot kept by any rule is kept. "Days that have
 * snapshots", not calendar days before `now` (restic's and borg's choice):
 * if backups stopped a month ago, a daily=7 policy still keeps the last 7
 * rather than letting every daily age out.
 *
 * Safety: when snapshots exist but the policy keeps none (all counts 0),
 * the newest is kept with reason "safety"; a planner never plans to delete
 * everything. Snapshots dated after `now` (clock skew) are kept with reason
 * "future" and take no slot. `now` defaults to the newest snapshot, not the
 * wall clock, so the same input always gives the same plan.
 *
 * Backup sets: with "group_by" (a member of each snapshot object, dotted
 * for nested members), snapshots with the same string there are one backup
 * (the volumes of one instance snapshotted together) and are kept or
 * deleted together, dated by their newest member; a snapshot without that
 * member is a set of its own. Without it, a multi-volume backup would lose
 * all its volumes but one to the "newest of the day" rule.
 *
 * Both lists are newest first; equal timestamps are ordered by id.
 * Snapshot objects may carry other members (a listing step's full output);
 * they are ignored. Unknown parameters are rejected to catch typos.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc3339.h"
#include "step.h"

#define MAX_COUNT 100000

enum { DAILY, WEEKLY, MONTHLY, RULES };
static const char *const rule_name[RULES] = {"daily", "weekly", "monthly"};
static const char *const rule_unit[RULES] = {"days", "weeks", "months"};

/* Where a snapshot stands under one rule. */
enum { OFF, KEPT, NOT_NEWEST, TOO_OLD };

typedef struct {
    const char *id;
    size_t id_len;
    instant at;
    int64_t period[RULES];  /* bucket key: day number, Monday's day number, month number */
    char label[RULES][24];  /* "2024-05-01", "2024-W18", "2024-05" for messages */
    int status[RULES];
    int future, safety;
    const char *group;      /* backup set ("group_by"), or the id */
    size_t group_len;
    size_t rep;             /* index of the set's newest snapshot (after sorting) */
    int member;             /* 1 when another snapshot represents its set */
} snap;

static int cmp_id(const snap *a, const snap *b) {
    size_t n = a->id_len < b->id_len ? a->id_len : b->id_len;
    int c = memcmp(a->id, b->id, n);
    return c ? c : (a->id_len > b->id_len) - (a->id_len < b->id_len);
}

static int newest_first(const void *pa, const void *pb) {
    const snap *a = pa, *b = pb;
    if (a->at.secs != b->at.secs) return a->at.secs < b->at.secs ? 1 : -1;
    if (a->at.nanos != b->at.nanos) return a->at.nanos < b->at.nanos ? 1 : -1;
    return cmp_id(a, b);
}

static int by_id(const void *pa, const void *pb) {
    return cmp_id(*(const snap *const *)pa, *(const snap *const *)pb);
}

static int after(instant a, instant b) {
    return a.secs > b.secs || (a.secs == b.secs && a.nanos > b.nanos);
}

/* The string at dotted `path` inside `e`, or NULL. */
static const json *at_path(const json *e, const char *path) {
    while (e && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        e = json_get_n(e, path, n);
        path += n + (dot != NULL);
    }
    return e && e->type == JSON_STRING ? e : NULL;
}

static int cmp_group(const snap *a, const snap *b) {
    size_t n = a->group_len < b->group_len ? a->group_len : b->group_len;
    int c = memcmp(a->group, b->group, n);
    return c ? c : (a->group_len > b->group_len) - (a->group_len < b->group_len);
}

/* Sorts pointers by set, and within a set newest first (array order). */
static int by_group(const void *pa, const void *pb) {
    const snap *a = *(const snap *const *)pa, *b = *(const snap *const *)pb;
    int c = cmp_group(a, b);
    return c ? c : (a > b) - (a < b);
}

static void load(snap *s, size_t index, const json *e) {
    if (e->type != JSON_OBJECT)
        step_fail(STEP_FATAL, "snapshots[%zu] must be an object, got %s", index,
                  json_type_name(e->type));
    const json *id = json_get(e, "id"), *at = json_get(e, "created_at");
    if (!id || id->type != JSON_STRING || id->len == 0)
        step_fail(STEP_FATAL, "snapshots[%zu]: \"id\" must be a non-empty string", index);
    s->id = id->str;
    s->id_len = id->len;
    s->group = id->str;
    s->group_len = id->len;
    if (!at || at->type != JSON_STRING)
        step_fail(STEP_FATAL, "snapshot %s: \"created_at\" must be a string",
                  step_quote(id->str, id->len));
    const char *why = rfc3339_parse(at->str, at->len, &s->at);
    if (why)
        step_fail(STEP_FATAL, "snapshot %s: created_at %s is not an RFC 3339 timestamp: %s",
                  step_quote(id->str, id->len), step_quote(at->str, at->len), why);

    int64_t day = s->at.secs / 86400 - (s->at.secs % 86400 < 0), y, iy;
    unsigned m, d, week;
    civil_from_days(day, &y, &m, &d);
    s->period[DAILY] = day;
    s->period[WEEKLY] = iso_week(day, &iy, &week);
    s->period[MONTHLY] = y * 12 + m - 1;
    snprintf(s->label[DAILY], sizeof s->label[DAILY], "%04lld-%02u-%02u", (long long)y, m, d);
    snprintf(s->label[WEEKLY], sizeof s->label[WEEKLY], "%04lld-W%02u", (long long)iy, week);
    snprintf(s->label[MONTHLY], sizeof s->label[MONTHLY], "%04lld-%02u", (long long)y, m);
}

/* Marks, per rule, which snapshot is the newest of each of its last
 * `count` periods. `s` is sorted newest first, so a period is a run. */
static void apply_rule(snap *s, size_t n, int r, int64_t count) {
    int64_t periods = 0, last = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].future || s[i].member) continue;
        if (count == 0) {
            s[i].status[r] = OFF;
            continue;
        }
        int starts_period = periods == 0 || s[i].period[r] != last;
        if (starts_period) periods++;
        last = s[i].period[r];
        s[i].status[r] = periods > count ? TOO_OLD : starts_period ? KEPT : NOT_NEWEST;
    }
}

static int64_t policy_count(const json *policy, const char *name) {
    const json *v = json_get(policy, name);
    int64_t n = 0;
    if (v && !json_integer(v, 0, MAX_COUNT, &n))
        step_fail(STEP_FATAL, "policy.%s must be an integer from 0 to %d", name, MAX_COUNT);
    return n;
}

static int kept(const snap *s) {
    int k = s->future || s->safety;
    for (int r = 0; r < RULES; r++) k |= s->status[r] == KEPT;
    return k;
}

static void add_reason(jbuf *out, size_t *count, const char *reason) {
    if ((*count)++) jb_raw(out, ",", 1);
    jb_string(out, reason, strlen(reason));
}

static void write_delete_reason(jbuf *out, const snap *s, const int64_t *count) {
    jbuf why = {0};
    for (int r = 0; r < RULES; r++) {
        char part[160];
        if (s->status[r] == NOT_NEWEST)
            snprintf(part, sizeof part, "%s: a newer snapshot is kept for %s", rule_name[r],
                     s->label[r]);
        else if (s->status[r] == TOO_OLD)
            snprintf(part, sizeof part, "%s: %s is not among the last %lld %s with snapshots",
                     rule_name[r], s->label[r], (long long)count[r], rule_unit[r]);
        else continue;
        if (why.len) jb_cstr(&why, "; ");
        jb_cstr(&why, part);
    }
    if (!why.len) jb_cstr(&why, "policy keeps no snapshots");
    if (why.failed) out->failed = 1; /* step_write reports it */
    else jb_string(out, why.data, why.len);
    jb_free(&why);
}

int main(void) {
    json_doc *doc;
    const json *params = step_read_params(&doc, JSON_DEFAULT_MAX_DEPTH, 1);
    static const char *const allowed[] = {"snapshots", "policy", "now", "group_by", NULL};
    static const char *const allowed_policy[] = {"daily", "weekly", "monthly", NULL};
    const json *bad = json_unknown_member(params, allowed);
    if (bad) step_fail(STEP_FATAL, "unknown parameter %s", step_quote(bad->key, bad->key_len));

    const json *list = json_get(params, "snapshots"), *policy = json_get(params, "policy");
    if (!list || list->type != JSON_ARRAY)
        step_fail(STEP_FATAL, "\"snapshots\" must be an array");
    if (!policy || policy->type != JSON_OBJECT)
        step_fail(STEP_FATAL, "\"policy\" must be an object like {\"daily\": 7}");
    if ((bad = json_unknown_member(policy, allowed_policy)))
        step_fail(STEP_FATAL, "unknown policy rule %s (known: daily, weekly, monthly)",
                  step_quote(bad->key, bad->key_len));
    int64_t count[RULES];
    for (int r = 0; r < RULES; r++) count[r] = policy_count(policy, rule_name[r]);

    size_t n = list->count, i = 0;
    snap *s = calloc(n ? n : 1, sizeof *s);
    const snap **ids = calloc(n ? n : 1, sizeof *ids);
    if (!s || !ids) step_fail(STEP_FATAL, "out of memory");
    const json *group_by = json_get(params, "group_by");
    if (group_by && (group_by->type != JSON_STRING || group_by->len == 0))
        step_fail(STEP_FATAL, "\"group_by\" must be a member name such as \"tags.shutter-execution\"");
    for (const json *e = list->first; e; e = e->next, i++) {
        load(&s[i], i, e);
        const json *set = group_by ? at_path(e, group_by->str) : NULL;
        if (set) {
            s[i].group = set->str;
            s[i].group_len = set->len;
        }
    }
    qsort(s, n, sizeof *s, newest_first);
    for (i = 0; i < n; i++) s[i].rep = i;
    if (group_by && n) {
        /* Each set's first pointer (newest member) represents it. */
        for (i = 0; i < n; i++) ids[i] = &s[i];
        qsort(ids, n, sizeof *ids, by_group);
        size_t sets = 1, rep = (size_t)(ids[0] - s);
        for (i = 1; i < n; i++) {
            snap *m = (snap *)ids[i];
            if (cmp_group(ids[i - 1], m) == 0) {
                m->rep = rep;
                m->member = 1;
            } else {
                rep = (size_t)(m - s);
                sets++;
            }
        }
        char *q = step_quote(group_by->str, group_by->len);
        step_log("%zu snapshots in %zu backup sets by %s", n, sets, q);
        free(q);
    }

    for (i = 0; i < n; i++) ids[i] = &s[i];
    qsort(ids, n, sizeof *ids, by_id);
    for (i = 1; i < n; i++)
        if (cmp_id(ids[i - 1], ids[i]) == 0)
            step_fail(STEP_FATAL, "duplicate snapshot id %s", step_quote(ids[i]->id, ids[i]->id_len));

    instant now = n ? s[0].at : (instant){0, 0};
    const json *now_v = json_get(params, "now");
    if (now_v) {
        const char *why = now_v->type == JSON_STRING
                              ? rfc3339_parse(now_v->str, now_v->len, &now)
                              : "must be a string";
        if (why) step_fail(STEP_FATAL, "\"now\" is not an RFC 3339 timestamp: %s", why);
    }
    for (i = 0; i < n; i++) {
        if (!(s[i].future = after(s[i].at, now))) continue;
        char *q = step_quote(s[i].id, s[i].id_len);
        step_log("snapshot %s is dated after now; keeping it", q);
        free(q);
    }

    for (int r = 0; r < RULES; r++) apply_rule(s, n, r, count[r]);
    const char *note = NULL;
    if (!count[DAILY] && !count[WEEKLY] && !count[MONTHLY]) {
        for (i = 0; i < n && (s[i].future || s[i].member); i++) {}
        if (i < n) {
            s[i].safety = 1;
            note = "the policy keeps no snapshots; the newest is kept so a backup always remains";
            step_log("%s", note);
        }
    }

    /* A set's members share its fate. */
    for (i = 0; i < n; i++) {
        if (!s[i].member) continue;
        const snap *rep = &s[s[i].rep];
        for (int r = 0; r < RULES; r++) s[i].status[r] = rep->status[r];
        s[i].future = rep->future;
        s[i].safety = rep->safety;
    }

    jbuf out = {0};
    size_t kept_n = 0, deleted_n;
    jb_cstr(&out, "{\"keep\":[");
    for (i = 0; i < n; i++) {
        if (!kept(&s[i])) continue;
        if (kept_n++) jb_raw(&out, ",", 1);
        jb_cstr(&out, "{\"id\":");
        jb_string(&out, s[i].id, s[i].id_len);
        jb_cstr(&out, ",\"reasons\":[");
        size_t reasons = 0;
        for (int r = 0; r < RULES; r++)
            if (s[i].status[r] == KEPT) add_reason(&out, &reasons, rule_name[r]);
        if (s[i].future) add_reason(&out, &reasons, "future");
        if (s[i].safety) add_reason(&out, &reasons, "safety");
        jb_cstr(&out, "]}");
    }
    jb_cstr(&out, "],\"delete\":[");
    for (i = 0, deleted_n = 0; i < n; i++) {
        if (kept(&s[i])) continue;
        if (deleted_n++) jb_raw(&out, ",", 1);
        jb_cstr(&out, "{\"id\":");
        jb_string(&out, s[i].id, s[i].id_len);
        jb_cstr(&out, ",\"reason\":");
        write_delete_reason(&out, &s[i], count);
        jb_raw(&out, "}", 1);
    }
    jb_raw(&out, "]", 1);
    if (note) {
        jb_cstr(&out, ",\"note\":");
        jb_string(&out, note, strlen(note));
    }
    jb_raw(&out, "}", 1);
    step_log("keeping %zu of %zu snapshots, deleting %zu", kept_n, n, n - kept_n);
    step_write(&out);
    jb_free(&out);
    free(ids);
    free(s);
    json_doc_free(doc);
    return STEP_OK;
}
