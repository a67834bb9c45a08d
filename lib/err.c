#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>

#include "err.h"

static const char *progname = "inca";
static char errbuf[1024];
static int errcode;

void
err_prog(const char *name)
{
	const char *slash = strrchr(name, '/');

	progname = slash ? slash + 1 : name;
}

const char *
err_progname(void)
{
	return progname;
}

static void
sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

int
err_vset(int code, const char *fmt, va_list ap)
{
	char tmp[sizeof(errbuf)];

	/* Format apart first: the arguments may point into errbuf itself. */
	vsnprintf(tmp, sizeof(tmp), fmt, ap);
	memcpy(errbuf, tmp, sizeof(errbuf));
	sanitize(errbuf);
	errcode = code;
	return code;
}

int
err_set(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(code, fmt, ap);
	va_end(ap);
	return code;
}

int
err_ssl(int code, const char *fmt, ...)
{
	va_list ap;
	unsigned long e;
	const char *reason;
	size_t n;

	va_start(ap, fmt);
	err_vset(code, fmt, ap);
	va_end(ap);
	e = ERR_peek_last_error();
	if (e != 0 && (reason = ERR_reason_error_string(e)) != NULL) {
		n = strlen(errbuf);
		snprintf(errbuf + n, sizeof(errbuf) - n, ": %s", reason);
		sanitize(errbuf);
	}
	ERR_clear_error();
	return code;
}

void
err_prefix(const char *fmt, ...)
{
	char pre[256];
	size_t n, old = strlen(errbuf);
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(pre, sizeof(pre) - 2, fmt, ap);
	va_end(ap);
	if (k < 0)
		return;
	n = strlen(pre);
	memcpy(pre + n, ": ", 3);
	n += 2;
	if (n + old >= sizeof(errbuf))
		old = sizeof(errbuf) - n - 1;
	memmove(errbuf + n, errbuf, old);
	memcpy(errbuf, pre, n);
	errbuf[n + old] = '\0';
	sanitize(errbuf);
}

const char *
err_msg(void)
{
	return errbuf;
}

int
err_code(void)
{
	return errcode;
}

void
err_clear(void)
{
	errbuf[0] = '\0';
	errcode = CA_OK;
}

void
die(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(code, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", progname, errbuf);
	exit(code);
}

void
die_last(void)
{
	int code = errcode ? errcode : CA_FAIL;

	fprintf(stderr, "%s: %s\n", progname,
	    errbuf[0] ? errbuf : "unknown error");
	exit(code);
}

void
warnx_(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	sanitize(buf);
	fprintf(stderr, "%s: %s\n", progname, buf);
}
