#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "ca_limits.h"
#include "cli.h"
#include "err.h"
#include "io.h"

#ifndef INCA_VERSION
#define INCA_VERSION "0"
#endif

/*
 * jansson's own buffers (the parser's, a dump's growing string) hold
 * decrypted provisioner keys on their way through: wipe every block it
 * frees.  Allocation stays plain malloc, so what jansson hands out (a
 * json_dumps() string) is still released with free().
 */
static void
wiping_free(void *p)
{
	if (p != NULL) {
		OPENSSL_cleanse(p, malloc_usable_size(p));
		free(p);
	}
}

/*
 * A standard descriptor the program was started without is opened on
 * /dev/null the wrong way round (stdin for writing, stdout and stderr for
 * reading), so that using it still fails with EBADF, as on a closed one,
 * while the next file or socket opened (the database's connection, a
 * key) cannot take its number and receive the output or the messages
 * meant for it.
 */
static void
hold_std_fds(void)
{
	int fd, nfd;

	for (fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		nfd = open("/dev/null", (fd == 0 ? O_WRONLY : O_RDONLY) |
		    O_CLOEXEC);
		if (nfd >= 0 && nfd != fd) {
			(void)dup3(nfd, fd, O_CLOEXEC);
			(void)close(nfd);
		}
	}
}

void
cli_init(const char *argv0)
{
	hold_std_fds();
	err_prog(argv0 ? argv0 : "inca");
	umask(077);
	/*
	 * No atexit cleanup either: tearing OpenSSL down costs more than the
	 * exit that follows (keys are wiped where they are released).
	 */
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT,
	    NULL);
	json_set_alloc_funcs(malloc, wiping_free);
	opterr = 0;     /* cli_badopt() says it in one line */
}

/* The argv word of the option cli_getopt() read last, for cli_badopt(). */
static const char *cur_word;

/*
 * The word getopt_long() reads next: the first at or after optind that
 * looks like an option (it skips operands, permuting them later; words
 * before optind are all it rearranges).  Mid-cluster, optind still points
 * at the cluster.
 */
static const char *
next_word(int argc, char *const argv[])
{
	int i;

	for (i = optind; i < argc; i++)
		if (argv[i][0] == '-' && argv[i][1] != '\0')
			return argv[i];
	return NULL;
}

/* Length of the option name in "--name" or "--name=value". */
static size_t
long_len(const char *w)
{
	return strcspn(w + 2, "=");
}

/* The long option named exactly the n bytes at name, or NULL. */
static const struct option *
long_named(const char *name, size_t n, const struct option *longopts)
{
	const struct option *o;

	for (o = longopts; o->name != NULL; o++)
		if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
			return o;
	return NULL;
}

/* Some long option starts with the n bytes at name. */
static int
long_prefix(const char *name, size_t n, const struct option *longopts)
{
	const struct option *o;

	for (o = longopts; o->name != NULL; o++)
		if (strncmp(o->name, name, n) == 0)
			return 1;
	return 0;
}

/* Every letter of the cluster "-abc" is a short option (or the rest is its argument). */
static int
cluster_ok(const char *w, const char *optstring)
{
	const char *p;

	optstring += strspn(optstring, "+-:");
	for (w++; *w != '\0'; w++) {
		if (*w == ':' || (p = strchr(optstring, *w)) == NULL)
			return 0;
		if (p[1] == ':')
			return 1;
	}
	return 1;
}

int
cli_getopt(int argc, char *const argv[], const char *optstring,
    const struct option *longopts)
{
	const char *w = next_word(argc, argv);
	const struct option *o;
	int ch;

	ch = getopt_long(argc, argv, optstring, longopts, NULL);
	if (ch == -1)
		return -1;
	cur_word = w;
	if (w == NULL)          /* cannot happen: getopt_long read an option */
		die(CA_USAGE, "bad option (see -h)");
	if (w[1] == '-') {
		/* No abbreviations: the name given must be the option's whole name. */
		if ((o = long_named(w + 2, long_len(w), longopts)) == NULL)
			die(CA_USAGE, "unrecognized option '%.*s' (%ssee -h)",
			    (int)long_len(w) + 2, w, long_prefix(w + 2,
			    long_len(w), longopts) ? "options are not abbreviated; " :
			    "");
		if (ch == ':')
			die(CA_USAGE, "option --%s needs an argument (see -h)",
			    o->name);
		if (ch == '?')
			die(CA_USAGE, "option --%s takes no argument (see -h)",
			    o->name);
		return ch;
	}
	if (ch == '?' || ch == ':' || !cluster_ok(w, optstring)) {
		size_t n = strcspn(w, "=");

		/* "-san": one dash short of --san; name what was typed. */
		if (n > 2 && (o = long_named(w + 1, n - 1, longopts)) != NULL)
			die(CA_USAGE, "unrecognized option '%.*s' (long options "
			    "take two dashes: --%s)", (int)n, w,
			    o->name);
		if (ch == ':')
			die(CA_USAGE, "option '%s' needs an argument (see -h)", w);
		die(CA_USAGE, "unrecognized option '%.*s' (see -h)", (int)n, w);
	}
	return ch;
}

void
cli_badopt(int ch, char *const argv[])
{
	const char *arg = cur_word ? cur_word :
	    optind > 0 ? argv[optind - 1] : "?";

	if (ch == ':')
		die(CA_USAGE, "option %s needs an argument (see -h)", arg);
	die(CA_USAGE, "unrecognized option '%.*s' (see -h)",
	    (int)strcspn(arg, "="), arg);
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

	/*
	 * A bearer secret: checked and read as a password file is, with a
	 * little more than the token limit, so an over-long line is seen.
	 */
	if ((rc = io_read_secret(path, CA_MAX_JWT + 2, &b)) != CA_OK) {
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
