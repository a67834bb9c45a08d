#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "ca_limits.h"
#include "cli.h"
#include "err.h"
#include "io.h"

#ifndef INCA_VERSION
#define INCA_VERSION "0"
#endif

void
cli_init(const char *argv0)
{
	err_prog(argv0 ? argv0 : "inca");
	umask(077);
	/*
	 * No atexit cleanup either: tearing OpenSSL down costs more than the
	 * exit that follows (keys are wiped where they are released).
	 */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT,
	    NULL);
	opterr = 0;     /* cli_badopt() says it in one line */
}

void
cli_badopt(int ch, char *const argv[])
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (ch == ':')
		die(CA_USAGE, "option %s needs an argument (see -h)", arg);
	if (optopt != 0 && strncmp(arg, "--", 2) != 0)
		die(CA_USAGE, "unrecognized option '-%c' (see -h)", optopt);
	die(CA_USAGE, "unrecognized option '%s' (see -h)", arg);
}

void
cli_once(const char *name, const char **slot, const char *value)
{
	if (*slot != NULL)
		die(CA_USAGE, "%s given twice", name);
	*slot = value;
}

void
cli_print(const char *s)
{
	if (io_write_all(1, s, strlen(s)) != CA_OK)
		die_last();
}

/* The first line of a token file, up to CA_MAX_JWT bytes; dies on failure. */
static char *
read_token_file(const char *path)
{
	struct buf b;
	size_t n;
	char *t;
	int rc;

	/* A little more than the limit, so an over-long line is seen. */
	if ((rc = io_read_file(path, CA_MAX_JWT + 2, &b)) != CA_OK) {
		if (rc == CA_INPUT && io_exists(path))
			die(CA_INPUT, "%s: token longer than %d bytes", path,
			    CA_MAX_JWT);
		die_last();
	}
	n = strcspn((char *)b.data, "\n");
	if (n > 0 && b.data[n - 1] == '\r')
		n--;
	if (n > CA_MAX_JWT) {
		buf_free(&b);
		die(CA_INPUT, "%s: token longer than %d bytes", path, CA_MAX_JWT);
	}
	if (n == 0) {
		buf_free(&b);
		die(CA_INPUT, "%s: no token in the file (its first line is empty)",
		    path);
	}
	b.data[n] = '\0';
	t = strdup((char *)b.data);
	buf_free(&b);
	if (t == NULL)
		die(CA_FAIL, "out of memory");
	return t;
}

char *
cli_token(const char *token, const char *token_file, int required)
{
	char *t = NULL;

	if (token != NULL && token_file != NULL)
		die(CA_USAGE, "--token and --token-file are exclusive");
	if (token_file != NULL)
		t = read_token_file(token_file);
	else if (token != NULL) {
		if (token[0] == '\0')
			die(CA_USAGE, "--token is empty: give the token from ca-token");
		if ((t = strdup(token)) == NULL)
			die(CA_FAIL, "out of memory");
	} else if (required)
		die(CA_USAGE, "a token is required: --token or --token-file");
	return t;
}

void
cli_version(void)
{
	printf("%s %s\n", err_progname(), INCA_VERSION);
	exit(0);
}
