/*
 * ca-list: the CA's inventory: every certificate it issued, as JSON lines,
 * straight from the database (read-only).
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "authority.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "io.h"
#include "pem.h"
#include "timeutil.h"
#include "x509.h"

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-list [--dir DIR] [--revoked | --expiring DURATION | --serial SERIAL]\n"
"               [--pem]\n"
"  --dir DIR            CA home (default $CA_DIR, else $HOME/.inca)\n"
"  --revoked            only revoked certificates\n"
"  --expiring D         only unrevoked certificates that are still valid and\n"
"                       expire within D (e.g. 48h)\n"
"  --serial SERIAL      one certificate; exit 1 if unknown.  SERIAL: decimal\n"
"                       digits, or hex as 0xHEX, HH:HH:..., serial=HEX\n"
"                       (openssl x509 -serial), or with a letter a-f\n"
"  --pem                include the certificate as \"crt\" (PEM)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_DIR = 256, O_REVOKED, O_EXPIRING, O_SERIAL, O_PEM, O_VERSION };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, O_DIR },
	{ "revoked", no_argument, NULL, O_REVOKED },
	{ "expiring", required_argument, NULL, O_EXPIRING },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "pem", no_argument, NULL, O_PEM },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

/*
 * Rows are gathered in out[] and written when it is full and at the end:
 * one write() per 64 KiB, not two per row.
 */
struct listing {
	struct authority *a;
	int pem;
	size_t n;
	size_t used;
	char out[65536];
};

static int
flush_out(struct listing *l)
{
	int ret = CA_OK;

	if (l->used > 0)
		ret = io_write_all(1, l->out, l->used);
	l->used = 0;
	return ret;
}

/* Append the line s and its newline. */
static int
put_line(struct listing *l, const char *s)
{
	size_t len = strlen(s);
	int ret;

	if (len + 1 > sizeof(l->out) - l->used &&
	    (ret = flush_out(l)) != CA_OK)
		return ret;
	if (len + 1 > sizeof(l->out)) {
		if ((ret = io_write_all(1, s, len)) != CA_OK)
			return ret;
		return io_write_all(1, "\n", 1);
	}
	memcpy(l->out + l->used, s, len);
	l->out[l->used + len] = '\n';
	l->used += len + 1;
	return CA_OK;
}

static json_t *
time_json(int64_t t)
{
	char buf[32];

	time_fmt(t, buf, sizeof(buf));
	return json_string(buf);
}

static int
print_row(const struct db_row *r, void *arg)
{
	struct listing *l = arg;
	json_error_t e;
	const char *type;
	json_t *o, *sans;
	char *s;
	int ret;

	sans = json_loads(r->cert.sans_json, 0, &e);
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s?, s:b}",
	    "serial", r->cert.serial, "subject", r->cert.subject,
	    "sans", sans ? sans : json_array(),
	    "issuedAt", time_json(r->cert.issued_at),
	    "notBefore", time_json(r->cert.not_before),
	    "notAfter", time_json(r->cert.not_after),
	    "provisioner", r->cert.provisioner,
	    "renewedFrom", r->cert.renewed_from,
	    "revoked", r->revoked);
	if (o == NULL)
		return err_set(CA_FAIL, "encoding a row failed");
	/* Not in the row: the type ca.json gives the provisioner today. */
	type = authority_provisioner_type(l->a, r->cert.provisioner);
	if (type != NULL)
		json_object_set_new(o, "provisionerType", json_string(type));
	if (r->revoked) {
		json_object_set_new(o, "revokedAt", time_json(r->rev.revoked_at));
		json_object_set_new(o, "reasonCode", json_integer(r->rev.reason_code));
		if (r->rev.reason != NULL)
			json_object_set_new(o, "reason", json_string(r->rev.reason));
		json_object_set_new(o, "revocationMethod", json_string(r->rev.method));
	}
	if (l->pem) {
		char *pem = pem_encode("CERTIFICATE", r->cert.der, r->cert.der_len);

		if (pem == NULL) {
			json_decref(o);
			return err_set(CA_FAIL, "out of memory");
		}
		json_object_set_new(o, "crt", json_string(pem));
		free(pem);
	}
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL)
		return err_set(CA_FAIL, "encoding a row failed");
	ret = put_line(l, s);
	free(s);
	l->n++;
	return ret;
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL, *expiring = NULL, *serial_text = NULL;
	struct db_filter f;
	struct listing l;
	struct authority *a;
	char *serial = NULL;
	int64_t d;
	int ch, revoked = 0;

	cli_init(argv[0]);
	memset(&l, 0, sizeof(l));
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_DIR: cli_once("--dir", &dir, optarg); break;
		case O_REVOKED: revoked = 1; break;
		case O_EXPIRING: cli_once("--expiring", &expiring, optarg); break;
		case O_SERIAL: cli_once("--serial", &serial_text, optarg); break;
		case O_PEM: l.pem = 1; break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	if (optind != argc)
		die(CA_USAGE, "unexpected argument: %s", argv[optind]);
	if (revoked + (expiring != NULL) + (serial_text != NULL) > 1)
		die(CA_USAGE, "--revoked, --expiring and --serial are exclusive");
	memset(&f, 0, sizeof(f));
	f.now = (int64_t)time(NULL);
	f.select = DB_SELECT_ALL;
	if (revoked)
		f.select = DB_SELECT_REVOKED;
	if (expiring != NULL) {
		if (time_parse_duration(expiring, &d) != CA_OK)
			die(CA_USAGE, "--expiring: %s", err_msg());
		if (d < 0)
			die(CA_USAGE, "--expiring %s: a duration from now, not "
			    "negative", expiring);
		f.select = DB_SELECT_EXPIRING;
		f.before = f.now + d;
	}
	if (serial_text != NULL) {
		if ((serial = x509_serial_parse(serial_text)) == NULL)
			die(CA_USAGE, "--serial %s", err_msg());
		f.select = DB_SELECT_SERIAL;
		f.serial = serial;
	}
	/*
	 * The inventory only reads (no write lock, no migration, no key),
	 * and checks the configuration as the issuing programs do.
	 */
	if (authority_open(dir, DB_READ, &a) != CA_OK)
		die_last();
	l.a = a;
	if (db_list_certs(authority_db(a), &f, print_row, &l) != CA_OK) {
		/* The rows read before the failure still go out. */
		(void)flush_out(&l);
		die_last();
	}
	if (flush_out(&l) != CA_OK)
		die_last();
	if (serial != NULL && l.n == 0)
		die(CA_REFUSED, "no certificate with serial %s", serial);
	authority_close(a);
	free(serial);
	return 0;
}
