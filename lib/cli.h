/*
 * cli: what every program does first, and small option helpers.
 */
#ifndef INCA_CLI_H
#define INCA_CLI_H

#include <getopt.h>
#include <stdio.h>

/*
 * Open a closed stdin, stdout or stderr on /dev/null such that using it
 * fails as a closed one does (EBADF), so that no file or connection the
 * program opens later takes its number; name the program for messages,
 * set umask 077, and start OpenSSL
 * without reading openssl.cnf (no program here needs it, and loading it
 * costs start-up time and lets the environment change crypto behaviour)
 * and without an exit-time cleanup; every block jansson frees is wiped
 * first (its parser and dump buffers carry decrypted keys).
 */
void cli_init(const char *argv0);

/*
 * Dies with a usage error if the option was already given: a repeated
 * single-valued option is a mistake, not "last one wins".
 */
void cli_once(const char *name, const char **slot, const char *value);

/* Write a NUL-terminated string to stdout; dies (CA_FAIL) on error. */
void cli_print(const char *s);

/*
 * getopt_long() (optstring starting with ':'; cli_init() set opterr = 0)
 * without its guesses: a long option must be spelt out in full ("--sa"
 * is not "--san"), and a short cluster must be all short options.  Any
 * bad option, missing or unwanted argument dies with CA_USAGE in one line
 * naming the word as typed (up to any '=': never a value).  Returns the
 * option's value, or -1 at the end of the options.
 */
int cli_getopt(int argc, char *const argv[], const char *optstring,
    const struct option *longopts);

/*
 * After getopt_long (optstring starting with ':' and opterr = 0) returned
 * '?' or ':': one line naming the bad option, exit CA_USAGE.
 */
__attribute__((noreturn)) void cli_badopt(int ch, char *const argv[]);

/*
 * The one-time token of --token or --token-file (the file's first line,
 * at most CA_MAX_JWT bytes).  Both given, or an empty --token, is a usage
 * error; an empty or over-long token file is CA_INPUT, each with its own
 * message; neither given is NULL, or a usage error when required.
 * malloc'd; the caller wipes it with io_wipe_str() (a bearer secret).
 * Dies on failure.
 */
char *cli_token(const char *token, const char *token_file, int required);

/* --version text. */
void cli_version(void);

#endif
