#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

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
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
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

void
cli_version(void)
{
	printf("%s %s\n", err_progname(), INCA_VERSION);
	exit(0);
}
