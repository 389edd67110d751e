/*
 * RFC 3339 timestamps and the UTC calendar arithmetic retention needs.
 * Plain integer maths (Howard Hinnant's civil-date algorithms) instead of
 * timegm/gmtime: no time zone database in the sandbox, and no dependence
 * on what a libc does with out-of-range fields.
 */
#ifndef SHUTTER_RFC3339_H
#define SHUTTER_RFC3339_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t secs;  /* seconds since 1970-01-01T00:00:00Z */
    int32_t nanos; /* 0..999,999,999 */
} instant;

/* Parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" and converts it to
 * UTC. Returns NULL on success, else what is wrong. A leap second (:60)
 * is read as the last instant of :59 so it still sorts before the next
 * minute. */
const char *rfc3339_parse(const char *s, size_t n, instant *out);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* The day number of the Monday starting the ISO 8601 week holding `days`
 * (a unique key for the week), with its ISO week-year and week number. */
int64_t iso_week(int64_t days, int64_t *iso_year, unsigned *week);

#endif
