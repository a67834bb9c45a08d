/*
 * timeutil: the two spellings of a time every program accepts, and the
 * clock deadlines are kept by.
 */
#ifndef INCA_TIMEUTIL_H
#define INCA_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

/*
 * A duration: one or more <integer><unit> with units s, m, h, d
 * ("24h", "1h30m", "90s"), optionally signed ("-1m").  CA_INPUT if malformed
 * or beyond 100 years.
 */
int time_parse_duration(const char *s, int64_t *secs);
/*
 * An RFC 3339 time ("2026-01-02T03:04:05Z", fractional seconds and
 * "+hh:mm" offsets accepted) or a duration relative to now.
 */
int time_parse(const char *s, int64_t now, int64_t *out);
/* RFC 3339 UTC text ("2026-01-02T03:04:05Z") into buf (>= 21 bytes). */
void time_fmt(int64_t t, char *buf, size_t len);
/* A duration as text: "24h", "90m", "45s" (largest exact unit). */
void time_fmt_duration(int64_t secs, char *buf, size_t len);
/*
 * Milliseconds of CLOCK_MONOTONIC: for deadlines, which a change of the
 * wall clock must neither shorten nor stretch.
 */
int64_t time_mono_ms(void);

#endif
