/* RFC 3339 parsing and calendar arithmetic; see rfc3339.h. */
#include "rfc3339.h"

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int64_t iso_week(int64_t days, int64_t *iso_year, unsigned *week) {
    int64_t weekday = ((days % 7) + 7 + 3) % 7; /* Monday 0; day 0 was a Thursday */
    int64_t monday = days - weekday;
    int64_t thursday = monday + 3; /* ISO: a week belongs to its Thursday's year */
    unsigned m, d;
    civil_from_days(thursday, iso_year, &m, &d);
    *week = (unsigned)((thursday - days_from_civil(*iso_year, 1, 1)) / 7 + 1);
    return monday;
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static unsigned days_in_month(int64_t y, unsigned m) {
    static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly `width` digits at s[*i]; -1 when they are not all digits. */
static int64_t digits(const char *s, size_t n, size_t *i, int width) {
    int64_t v = 0;
    for (int k = 0; k < width; k++, (*i)++) {
        if (*i >= n || s[*i] < '0' || s[*i] > '9') return -1;
        v = v * 10 + (s[*i] - '0');
    }
    return v;
}

static int expect(const char *s, size_t n, size_t *i, char a, char b) {
    if (*i >= n || (s[*i] != a && s[*i] != b)) return 0;
    (*i)++;
    return 1;
}

const char *rfc3339_parse(const char *s, size_t n, instant *out) {
    size_t i = 0;
    int64_t y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    int32_t nanos = 0;
    if ((y = digits(s, n, &i, 4)) < 0 || !expect(s, n, &i, '-', '-') ||
        (mo = digits(s, n, &i, 2)) < 0 || !expect(s, n, &i, '-', '-') ||
        (d = digits(s, n, &i, 2)) < 0)
        return "date must look like YYYY-MM-DD";
    if (!expect(s, n, &i, 'T', 't')) return "missing 'T' between date and time";
    if ((h = digits(s, n, &i, 2)) < 0 || !expect(s, n, &i, ':', ':') ||
        (mi = digits(s, n, &i, 2)) < 0 || !expect(s, n, &i, ':', ':') ||
        (sec = digits(s, n, &i, 2)) < 0)
        return "time must look like HH:MM:SS";
    if (i < n && s[i] == '.') {
        size_t start = ++i;
        int64_t scale = 100000000;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            nanos += (int32_t)((s[i] - '0') * scale); /* digits past the 9th add 0 */
        if (i == start) return "no digits after '.'";
    }
    if (expect(s, n, &i, 'Z', 'z')) {
        /* UTC */
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        sign = s[i++] == '-' ? -1 : 1;
        if ((oh = digits(s, n, &i, 2)) < 0 || !expect(s, n, &i, ':', ':') ||
            (om = digits(s, n, &i, 2)) < 0)
            return "offset must look like +hh:mm";
        if (oh > 23 || om > 59) return "offset out of range";
    } else {
        return "missing time zone (Z or +hh:mm)";
    }
    if (i != n) return "unexpected text after the time zone";
    if (mo < 1 || mo > 12) return "month out of range";
    if (d < 1 || d > days_in_month(y, (unsigned)mo)) return "day out of range for the month";
    if (h > 23 || mi > 59 || sec > 60) return "time of day out of range";
    if (sec == 60) sec = 59, nanos = 999999999;
    out->secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
                sec - sign * (oh * 3600 + om * 60);
    out->nanos = nanos;
    return NULL;
}
