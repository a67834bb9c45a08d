#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "timeutil.h"

#define MAX_SPAN (100LL * 366 * 86400)

int
time_parse_duration(const char *s, int64_t *secs)
{
	const char *p = s;
	int64_t total = 0, v;
	int neg = 0, parts = 0;

	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	while (*p) {
		if (!isdigit((unsigned char)*p))
			return err_set(CA_INPUT, "%s: bad duration (try 24h, 90m, 1h30m)", s);
		for (v = 0; isdigit((unsigned char)*p); p++) {
			v = v * 10 + (*p - '0');
			if (v > MAX_SPAN)
				return err_set(CA_INPUT, "%s: duration too long", s);
		}
		switch (*p++) {
		case 's': break;
		case 'm': v *= 60; break;
		case 'h': v *= 3600; break;
		case 'd': v *= 86400; break;
		default:
			return err_set(CA_INPUT, "%s: bad duration unit (s, m, h, d)", s);
		}
		total += v;
		if (total > MAX_SPAN)
			return err_set(CA_INPUT, "%s: duration too long", s);
		parts++;
	}
	if (parts == 0)
		return err_set(CA_INPUT, "%s: bad duration (try 24h, 90m, 1h30m)", s);
	*secs = neg ? -total : total;
	return CA_OK;
}

static int64_t
time_from_tm(const struct tm *tm)
{
	/* Days from civil (proleptic Gregorian), independent of TZ. */
	int64_t y = tm->tm_year + 1900, m = tm->tm_mon + 1, d = tm->tm_mday;
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468) * 86400 +
	    tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

static int
digits(const char **p, int n, int *out)
{
	int v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**p))
			return 0;
		v = v * 10 + (*(*p)++ - '0');
	}
	*out = v;
	return 1;
}

static int
parse_rfc3339(const char *s, int64_t *out)
{
	static const int mdays[] = { 31,29,31,30,31,30,31,31,30,31,30,31 };
	const char *p = s;
	struct tm tm;
	int y, mo, d, h, mi, se, oh = 0, om = 0, sign = 0;

	memset(&tm, 0, sizeof(tm));
	if (!digits(&p, 4, &y) || *p++ != '-' || !digits(&p, 2, &mo) ||
	    *p++ != '-' || !digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		return 0;
	p++;
	if (!digits(&p, 2, &h) || *p++ != ':' || !digits(&p, 2, &mi) ||
	    *p++ != ':' || !digits(&p, 2, &se))
		return 0;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		sign = *p++ == '-' ? -1 : 1;
		if (!digits(&p, 2, &oh) || *p++ != ':' || !digits(&p, 2, &om))
			return 0;
	} else
		return 0;
	if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) ||
	    h > 23 || mi > 59 || se > 60 || oh > 23 || om > 59)
		return 0;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se > 59 ? 59 : se;
	*out = time_from_tm(&tm) - sign * (oh * 3600 + om * 60);
	return 1;
}

int
time_parse(const char *s, int64_t now, int64_t *out)
{
	int64_t d;

	if (strlen(s) >= 20 && s[4] == '-') {
		if (!parse_rfc3339(s, out))
			return err_set(CA_INPUT, "%s: bad RFC 3339 time", s);
		return CA_OK;
	}
	if (time_parse_duration(s, &d) != CA_OK)
		return err_set(CA_INPUT,
		    "%s: bad time (RFC 3339 like 2026-01-02T03:04:05Z, or a duration like 24h)", s);
	*out = now + d;
	return CA_OK;
}

void
time_fmt(int64_t t, char *buf, size_t len)
{
	struct tm tm;
	time_t tt = (time_t)t;

	/* Four-digit years always (strftime's %Y does not pad years < 1000). */
	gmtime_r(&tt, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void
time_fmt_duration(int64_t secs, char *buf, size_t len)
{
	if (secs != 0 && secs % 3600 == 0)
		snprintf(buf, len, "%lldh", (long long)(secs / 3600));
	else if (secs != 0 && secs % 60 == 0)
		snprintf(buf, len, "%lldm", (long long)(secs / 60));
	else
		snprintf(buf, len, "%llds", (long long)secs);
}

int64_t
time_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
