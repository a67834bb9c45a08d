/*
 * ca-inspect: describe a certificate, chain, CSR, CRL or JWT as JSON.
 * The parser is lib/inspect.c; nothing is verified or trusted.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "ca_limits.h"
#include "cli.h"
#include "err.h"
#include "inspect.h"
#include "io.h"
#include "pem.h"

/* -h: on stdout, since it was asked for; bad options go to cli_badopt(). */
static void
usage(void)
{
	printf(
"usage: ca-inspect [-h] [--compact] [--version] [FILE]\n"
"  FILE           a certificate, chain, CSR or CRL (PEM or DER), or a JWT;\n"
"                 standard input if absent or \"-\"\n"
"  --compact      print the JSON on one line\n"
"  -h, --help     this text;  --version  the version\n");
	exit(0);
}

enum { O_COMPACT = 256, O_VERSION };

static const struct option longopts[] = {
	{ "compact", no_argument, NULL, O_COMPACT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char *argv[])
{
	struct buf in;
	json_t *result;
	char *out;
	int ch, compact = 0;

	cli_init(argv[0]);
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_COMPACT: compact = 1; break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(); break;
		default: cli_badopt(ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		die(CA_USAGE, "unexpected argument: %s", argv[1]);

	/* A CRL may be larger than anything else (CA_MAX_CRL). */
	if (io_read_file(argc == 1 ? argv[0] : "-", CA_MAX_CRL_TEXT, &in) != CA_OK)
		die_last();
	if (in.len > CA_MAX_PEM && !pem_is_crl(in.data, in.len))
		die(CA_INPUT, "%s: input exceeds %d bytes",
		    argc == 1 ? argv[0] : "stdin", CA_MAX_PEM);
	if (inspect_bytes(in.data, in.len, &result) != CA_OK)
		die_last();
	buf_free(&in);
	if ((out = inspect_dump(result, compact)) == NULL)
		die_last();
	cli_print(out);
	free(out);
	json_decref(result);
	return 0;
}
