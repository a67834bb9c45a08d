/*
 * A tiny TAP producer for the C unit tests: one "ok N - name" or
 * "not ok N - name" line per check, a plan at the end, exit 1 on failure.
 */
#ifndef INCA_TAP_H
#define INCA_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

static int tap_n, tap_failed;

#define ok(cond, ...) do {						\
	int c_ = !!(cond);						\
	tap_n++;							\
	if (c_) {							\
		printf("ok %d - ", tap_n);				\
	} else {							\
		tap_failed++;						\
		printf("not ok %d - ", tap_n);				\
	}								\
	printf(__VA_ARGS__);						\
	printf("\n");							\
	if (!c_)							\
		printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
} while (0)

#define is_int(got, want, ...) do {					\
	long long g_ = (got), w_ = (want);				\
	ok(g_ == w_, __VA_ARGS__);					\
	if (g_ != w_)							\
		printf("#   got %lld, want %lld\n", g_, w_);		\
} while (0)

#define is_str(got, want, ...) do {					\
	const char *g_ = (got), *w_ = (want);				\
	int same_ = (g_ && w_) ? strcmp(g_, w_) == 0 : g_ == w_;	\
	ok(same_, __VA_ARGS__);						\
	if (!same_)							\
		printf("#   got '%s', want '%s'\n", g_ ? g_ : "(null)", \
		    w_ ? w_ : "(null)");				\
} while (0)

/*
 * One check of a lib call: rc is want and, when substr is given, the
 * message it recorded (err.h) contains it.
 */
static inline void check_rc(int, int, const char *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

static inline void
check_rc(int rc, int want, const char *substr, const char *fmt, ...)
{
	char name[256];
	va_list ap;
	int good = rc == want &&
	    (substr == NULL || strstr(err_msg(), substr) != NULL);

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	ok(good, "%s", name);
	if (!good)
		printf("#   rc %d (want %d), message: %s\n", rc, want,
		    err_msg());
}

static inline int
tap_done(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
