/*
 * fault.so: faults injected into the programs under test by LD_PRELOAD
 * (tests/bats/faults.bats and secrets.bats build it; nothing of it is in
 * the programs).
 *
 *   INCA_FAULT=commit-before  stop (SIGSTOP) on entering the database's
 *                             COMMIT: the certificate row and the spent
 *                             token are written, not committed
 *   INCA_FAULT=commit-after   stop once the COMMIT has returned, before
 *                             the answer is written
 *   INCA_FAULT=rand           RAND_bytes, RAND_priv_bytes and their _ex
 *                             forms fail, as when OpenSSL's generator
 *                             cannot be seeded
 *   INCA_FAULT=entropy        the kernel's entropy is gone: getrandom,
 *                             getentropy and syscall(SYS_getrandom) fail
 *                             with ENOSYS, /dev/urandom and /dev/random
 *                             do not exist (OpenSSL's own seed sources)
 *   INCA_FAULT=tap            no fault: what the program sends over TLS
 *                             (SSL_write, SSL_write_ex: its HTTP
 *                             requests, headers included) is also
 *                             appended to the file INCA_FAULT_TAP, for
 *                             tests/bats/secrets.bats to collect the
 *                             renewal token a client made and sent
 *   INCA_FAULT_PROG="NAME..." only in the programs of those names (not
 *                             the ca-serve that relays to them)
 *   INCA_FAULT_ARM=PATH       only while PATH exists.  A stop removes it
 *                             first (one stop, not one per restarted
 *                             handler) and writes the stopped process's
 *                             pid to PATH.pid, for the test to kill -9.
 *
 * The database's COMMIT is seen where the programs send it: sqlite3_exec
 * with "COMMIT" (lib/db_sqlite.c) and PQexec with "COMMIT" (lib/db_pg.c).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <sqlite3.h>

/* Whether NAME is a word of the space-separated LIST. */
static int
listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while ((p = strstr(p, name)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Whether fault F applies in this process now. */
static int
armed(const char *f)
{
	const char *want = getenv("INCA_FAULT");
	const char *prog = getenv("INCA_FAULT_PROG");
	const char *arm = getenv("INCA_FAULT_ARM");

	if (want == NULL || strcmp(want, f) != 0)
		return 0;
	if (prog != NULL && !listed(prog, program_invocation_short_name))
		return 0;
	return arm == NULL || access(arm, F_OK) == 0;
}

/* Disarm, say who stops, and stop until killed. */
static void
stop_here(void)
{
	const char *arm = getenv("INCA_FAULT_ARM");
	char path[4096], tmp[4200];
	FILE *f;

	if (arm != NULL) {
		if (unlink(arm) != 0)
			return;		/* another process took the stop */
		snprintf(path, sizeof(path), "%s.pid", arm);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		if ((f = fopen(tmp, "w")) != NULL) {
			fprintf(f, "%ld\n", (long)getpid());
			fclose(f);
			rename(tmp, path);
		}
	}
	raise(SIGSTOP);
}

static void *
real(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL)
		abort();
	return p;
}

int
sqlite3_exec(sqlite3 *db, const char *sql, int (*cb)(void *, int, char **,
    char **), void *arg, char **errmsg)
{
	int (*f)(sqlite3 *, const char *, int (*)(void *, int, char **,
	    char **), void *, char **) = real("sqlite3_exec");
	int commit = strcmp(sql, "COMMIT") == 0, rc;

	if (commit && armed("commit-before"))
		stop_here();
	rc = f(db, sql, cb, arg, errmsg);
	if (commit && armed("commit-after"))
		stop_here();
	return rc;
}

PGresult *
PQexec(PGconn *c, const char *sql)
{
	PGresult *(*f)(PGconn *, const char *) = real("PQexec");
	int commit = strcmp(sql, "COMMIT") == 0;
	PGresult *r;

	if (commit && armed("commit-before"))
		stop_here();
	r = f(c, sql);
	if (commit && armed("commit-after"))
		stop_here();
	return r;
}

int
RAND_bytes(unsigned char *b, int n)
{
	int (*f)(unsigned char *, int) = real("RAND_bytes");

	return armed("rand") ? 0 : f(b, n);
}

int
RAND_priv_bytes(unsigned char *b, int n)
{
	int (*f)(unsigned char *, int) = real("RAND_priv_bytes");

	return armed("rand") ? 0 : f(b, n);
}

int
RAND_bytes_ex(OSSL_LIB_CTX *ctx, unsigned char *b, size_t n,
    unsigned int strength)
{
	int (*f)(OSSL_LIB_CTX *, unsigned char *, size_t, unsigned int) =
	    real("RAND_bytes_ex");

	return armed("rand") ? 0 : f(ctx, b, n, strength);
}

int
RAND_priv_bytes_ex(OSSL_LIB_CTX *ctx, unsigned char *b, size_t n,
    unsigned int strength)
{
	int (*f)(OSSL_LIB_CTX *, unsigned char *, size_t, unsigned int) =
	    real("RAND_priv_bytes_ex");

	return armed("rand") ? 0 : f(ctx, b, n, strength);
}

ssize_t
getrandom(void *b, size_t n, unsigned int flags)
{
	ssize_t (*f)(void *, size_t, unsigned int) = real("getrandom");

	if (armed("entropy")) {
		errno = ENOSYS;
		return -1;
	}
	return f(b, n, flags);
}

int
getentropy(void *b, size_t n)
{
	int (*f)(void *, size_t) = real("getentropy");

	if (armed("entropy")) {
		errno = ENOSYS;
		return -1;
	}
	return f(b, n);
}

long
syscall(long nr, ...)
{
	long (*f)(long, ...) = real("syscall");
	long a[6];
	va_list ap;
	int i;

	/* x86-64 and the like: the six argument registers, passed on as read. */
	va_start(ap, nr);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_getrandom && armed("entropy")) {
		errno = ENOSYS;
		return -1;
	}
	return f(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* The tap: n bytes at b appended to INCA_FAULT_TAP. */
static void
tap(const void *b, size_t n)
{
	const char *path = getenv("INCA_FAULT_TAP");
	FILE *f;

	if (path == NULL || !armed("tap") || (f = fopen(path, "a")) == NULL)
		return;
	fwrite(b, 1, n, f);
	fclose(f);
}

int
SSL_write(SSL *s, const void *b, int n)
{
	int (*f)(SSL *, const void *, int) = real("SSL_write");
	int r = f(s, b, n);

	if (r > 0)
		tap(b, (size_t)r);
	return r;
}

int
SSL_write_ex(SSL *s, const void *b, size_t n, size_t *done)
{
	int (*f)(SSL *, const void *, size_t, size_t *) = real("SSL_write_ex");
	int r = f(s, b, n, done);

	if (r > 0)
		tap(b, *done);
	return r;
}

/* Whether open's flags say a mode follows (O_TMPFILE holds O_DIRECTORY). */
static int
has_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

/* The random devices, by the names OpenSSL opens them. */
static int
random_device(const char *path)
{
	return armed("entropy") && (strcmp(path, "/dev/urandom") == 0 ||
	    strcmp(path, "/dev/random") == 0 || strcmp(path, "/dev/srandom") == 0 ||
	    strcmp(path, "/dev/hwrng") == 0);
}

int
open(const char *path, int flags, ...)
{
	int (*f)(const char *, int, ...) = real("open");
	mode_t mode = 0;
	va_list ap;

	if (has_mode(flags)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (random_device(path)) {
		errno = ENOENT;
		return -1;
	}
	return f(path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	int (*f)(const char *, int, ...) = real("open64");
	mode_t mode = 0;
	va_list ap;

	if (has_mode(flags)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (random_device(path)) {
		errno = ENOENT;
		return -1;
	}
	return f(path, flags, mode);
}

int
openat(int dir, const char *path, int flags, ...)
{
	int (*f)(int, const char *, int, ...) = real("openat");
	mode_t mode = 0;
	va_list ap;

	if (has_mode(flags)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (random_device(path)) {
		errno = ENOENT;
		return -1;
	}
	return f(dir, path, flags, mode);
}
