/*
 * ca-revoke: passive revocation of a certificate by serial number.
 *
 * The serial is recorded in the database's revocations; from then on the
 * CA refuses to renew it and lists it in its CRL.  The certificate itself
 * stays valid until it expires (keep lifetimes short).
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "authority.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "io.h"
#include "x509.h"

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-revoke --offline [--dir DIR] [--token TOKEN | --token-file FILE]\n"
"                 [--reason-code N] [--reason TEXT] SERIAL\n"
"  --offline            use the CA home's database in-process\n"
"  --dir DIR            CA home (default $CA_DIR, else $HOME/.inca)\n"
"  --token TOKEN        a revoke token from ca-token --revoke (optional offline:\n"
"                       without one, the operator's own authority is used)\n"
"  --token-file FILE    read the token from FILE (first line)\n"
"  --reason-code N      RFC 5280 CRLReason, 0..10 except 7 (default 0)\n"
"  --reason TEXT        free text recorded with the revocation\n"
"  SERIAL               decimal digits, or hexadecimal as 0xHEX, HH:HH:...,\n"
"                       serial=HEX (openssl x509 -serial), or with a letter a-f\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_OFFLINE = 256, O_DIR, O_TOKEN, O_TOKEN_FILE, O_REASON_CODE, O_REASON,
	O_VERSION };

static const struct option longopts[] = {
	{ "offline", no_argument, NULL, O_OFFLINE },
	{ "dir", required_argument, NULL, O_DIR },
	{ "token", required_argument, NULL, O_TOKEN },
	{ "token-file", required_argument, NULL, O_TOKEN_FILE },
	{ "reason-code", required_argument, NULL, O_REASON_CODE },
	{ "reason", required_argument, NULL, O_REASON },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

int
main(int argc, char *argv[])
{
	const char *dir = NULL, *token = NULL, *token_file = NULL, *rc_text = NULL;
	const char *reason = NULL;
	struct authority_result res;
	struct authority *a;
	char *tok = NULL, *serial, *end, *s;
	json_t *out;
	long code = 0;
	int ch, offline = 0;

	cli_init(argv[0]);
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_OFFLINE: offline = 1; break;
		case O_DIR: cli_once("--dir", &dir, optarg); break;
		case O_TOKEN: cli_once("--token", &token, optarg); break;
		case O_TOKEN_FILE: cli_once("--token-file", &token_file, optarg); break;
		case O_REASON_CODE: cli_once("--reason-code", &rc_text, optarg); break;
		case O_REASON: cli_once("--reason", &reason, optarg); break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 1)
		die(CA_USAGE, argc ? "unexpected argument: %s" : "a SERIAL is required%s",
		    argc ? argv[1] : "");
	if (!offline)
		die(CA_USAGE, "give --offline (revocation through ca-serve is not available yet)");
	if (rc_text != NULL) {
		code = strtol(rc_text, &end, 10);
		if (rc_text[0] == '\0' || *end != '\0' || code < 0 || code > 10 || code == 7)
			die(CA_USAGE, "--reason-code %s: 0..10, not 7 (RFC 5280 CRLReason)",
			    rc_text);
	}
	if (reason != NULL && strlen(reason) > 1024)
		die(CA_USAGE, "--reason: at most 1024 bytes");
	if ((serial = x509_serial_parse(argv[0])) == NULL)
		die(CA_USAGE, "%s", err_msg());
	tok = cli_token(token, token_file, 0);
	/* A write to a reader that is gone fails with EPIPE and a message. */
	signal(SIGPIPE, SIG_IGN);
	if (authority_open(dir, DB_WRITE, &a) != CA_OK)
		die_last();
	if ((res = authority_revoke(a, serial, (int)code, reason, tok)).code != CA_OK)
		die(res.code, "%s", err_msg());
	out = json_pack("{s:s, s:s, s:i}", "status", "ok", "serial", serial,
	    "reasonCode", (int)code);
	s = json_dumps(out, JSON_COMPACT);
	/* The revocation is committed: a lost answer must not hide that. */
	if (s == NULL || io_write_all(1, s, strlen(s)) != CA_OK ||
	    io_write_all(1, "\n", 1) != CA_OK) {
		if (s != NULL)
			err_prefix("stdout");
		die(CA_FAIL, "%s; serial %s is revoked and recorded in the database",
		    s != NULL ? err_msg() : "encoding output failed", serial);
	}
	free(s);
	json_decref(out);
	io_wipe_str(tok);
	free(serial);
	authority_close(a);
	return 0;
}
