/*
 * err: one error slot per process and the exit codes shared by every program.
 *
 * lib functions never exit: they record a one-line message with err_set()
 * and return the matching exit code (or NULL).  Only main() calls die() or
 * die_last(), which print "prog: message" on stderr and exit.
 */
#ifndef INCA_ERR_H
#define INCA_ERR_H

#include <stdarg.h>

enum ca_exit {
	CA_OK = 0,        /* success */
	CA_REFUSED = 1,   /* token rejected, policy denied, chain invalid, revoked */
	CA_USAGE = 2,     /* usage error */
	CA_INPUT = 3,     /* malformed PEM/DER/JSON/JWT, size limit exceeded */
	CA_FAIL = 4,      /* I/O, crypto, database, configuration */
	CA_UNAVAIL = 5,   /* CA unreachable, database busy: retry later */
	CA_NOTDUE = 6     /* ca-renew --if-due: nothing changed */
};

/* Set the program name used as the message prefix ("ca-sign"). */
void err_prog(const char *name);
const char *err_progname(void);

/*
 * Record a message (printf format) and return code, so that a lib function
 * can say `return err_set(CA_INPUT, "csr: %s", why);`.  Control characters
 * in the formatted text are replaced by '?' so untrusted input cannot
 * forge log lines or terminal escapes.
 */
int err_set(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int err_vset(int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Like err_set(), and appends the reason of the newest OpenSSL error
 * (if any) as ": reason"; clears OpenSSL's error queue.
 */
int err_ssl(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prefix the recorded message with "what: " (context added by a caller). */
void err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

const char *err_msg(void);   /* last message, "" if none */
int err_code(void);          /* last code, CA_OK if none */
void err_clear(void);

/* Print "prog: message" to stderr and exit with code. */
__attribute__((noreturn, format(printf, 2, 3)))
void die(int code, const char *fmt, ...);
/* Print the recorded message and exit with the recorded code (CA_FAIL if none). */
__attribute__((noreturn)) void die_last(void);
/* Print "prog: message" without exiting (warnings). */
__attribute__((format(printf, 1, 2))) void warnx_(const char *fmt, ...);

#endif
