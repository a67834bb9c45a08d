/*
 * ca-list: the CA's inventory: every certificate it issued, as JSON lines,
 * straight from the database (read-only).  --chain follows renewals
 * (certs.renewed_from) back to the first certificate and forward to every
 * renewal of it.
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
"usage: ca-list [--dir DIR] [--revoked | --expiring DURATION | --serial SERIAL |\n"
"               --chain SERIAL] [--pem]\n"
"  --dir DIR            CA home (default $CA_DIR, else $HOME/.inca)\n"
"  --revoked            only revoked certificates\n"
"  --expiring D         only unrevoked certificates that are still valid and\n"
"                       expire within D (e.g. 48h)\n"
"  --serial SERIAL      one certificate; exit 1 if unknown.  SERIAL: decimal\n"
"                       digits, or hex as 0xHEX, HH:HH:..., serial=HEX\n"
"                       (openssl x509 -serial), or with a letter a-f\n"
"  --chain SERIAL       the renewal chain of that certificate: the one it\n"
"                       renewed, and so on back to the first, and every\n"
"                       renewal since, oldest first; exit 1 if unknown\n"
"  --pem                include the certificate as \"crt\" (PEM)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_DIR = 256, O_REVOKED, O_EXPIRING, O_SERIAL, O_CHAIN, O_PEM,
	O_VERSION };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, O_DIR },
	{ "revoked", no_argument, NULL, O_REVOKED },
	{ "expiring", required_argument, NULL, O_EXPIRING },
	{ "serial", required_argument, NULL, O_SERIAL },
	{ "chain", required_argument, NULL, O_CHAIN },
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
	const json_t *renewed_by;	/* the row's renewals, or NULL */
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
	o = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:s, s:s?}",
	    "serial", r->cert.serial, "subject", r->cert.subject,
	    "sans", sans ? sans : json_array(),
	    "issuedAt", time_json(r->cert.issued_at),
	    "notBefore", time_json(r->cert.not_before),
	    "notAfter", time_json(r->cert.not_after),
	    "provisioner", r->cert.provisioner,
	    "renewedFrom", r->cert.renewed_from);
	if (o == NULL)
		return err_set(CA_FAIL, "encoding a row failed");
	if (l->renewed_by != NULL)
		json_object_set(o, "renewedBy", (json_t *)l->renewed_by);
	json_object_set_new(o, "revoked", json_boolean(r->revoked));
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

/* One certificate of a renewal chain, with the serials that renewed it. */
struct link {
	struct db_row *row;
	json_t *renewed_by;
	size_t seq;		/* found after seq others: a renewal after
				   the certificate it renews */
};

/* Serials of the rows a listing visits, appended to a JSON array. */
static int
add_serial(const struct db_row *r, void *arg)
{
	if (json_array_append_new(arg, json_string(r->cert.serial)) != 0)
		return err_set(CA_FAIL, "out of memory");
	return CA_OK;
}

/* The serials of the certificates renewed from serial (a new array). */
static int
renewals(struct db *db, const char *serial, json_t **out)
{
	struct db_filter f;
	int rc;

	if ((*out = json_array()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	memset(&f, 0, sizeof(f));
	f.select = DB_SELECT_RENEWALS;
	f.serial = serial;
	if ((rc = db_list_certs(db, &f, add_serial, *out)) != CA_OK) {
		json_decref(*out);
		*out = NULL;
	}
	return rc;
}

/*
 * Oldest first; within one second (issue times are whole seconds), in the
 * order the walk found them, so that a renewal never comes before the
 * certificate it renewed.
 */
static int
link_cmp(const void *a, const void *b)
{
	const struct link *x = a, *y = b;

	if (x->row->cert.issued_at != y->row->cert.issued_at)
		return x->row->cert.issued_at < y->row->cert.issued_at ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * Record serial in seen; CA_FAIL if it was there already.  A loop in
 * renewed_from is not something this CA writes (the reference must exist
 * when a row is stored, so it points to an older row), but a damaged or
 * edited database must not make the walk endless.
 */
static int
visit(json_t *seen, const char *serial)
{
	if (json_object_get(seen, serial) != NULL)
		return err_set(CA_FAIL, "database: the renewal chain loops "
		    "at certificate %s", serial);
	if (json_object_set_new(seen, serial, json_true()) != 0)
		return err_set(CA_FAIL, "out of memory");
	return CA_OK;
}

/*
 * --chain: every certificate linked to serial by renewal, oldest first,
 * each with "renewedBy".  *found is 0 when serial is not stored.
 */
static int
print_chain(struct db *db, const char *serial, struct listing *l, int *found)
{
	struct link *v = NULL, *nv;
	struct db_row *row = NULL, *up;
	json_t *queue = NULL, *seen;
	const char *s;
	size_t n = 0, cap = 0, i;
	int rc;

	*found = 0;
	if ((seen = json_object()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if ((rc = db_get_cert(db, serial, &row)) != CA_OK || row == NULL)
		goto out;
	*found = 1;
	/* Back to the first certificate. */
	while (row->cert.renewed_from != NULL) {
		if ((rc = visit(seen, row->cert.serial)) != CA_OK)
			goto out;
		if ((rc = db_get_cert(db, row->cert.renewed_from, &up)) !=
		    CA_OK)
			goto out;
		if (up == NULL) {
			rc = err_set(CA_FAIL, "database: certificate %s renewed "
			    "%s, which is not stored", row->cert.serial,
			    row->cert.renewed_from);
			goto out;
		}
		db_row_free(row);
		row = up;
	}
	/* Then forward, breadth first: queue holds the serials found. */
	json_object_clear(seen);
	if ((queue = json_array()) == NULL ||
	    json_array_append_new(queue, json_string(row->cert.serial)) != 0)
		goto oom;
	for (i = 0; i < json_array_size(queue); i++) {
		s = json_string_value(json_array_get(queue, i));
		if ((rc = visit(seen, s)) != CA_OK)
			goto out;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto oom;
			v = nv;
		}
		memset(&v[n], 0, sizeof(v[n]));
		v[n].seq = n;
		n++;
		/* The first certificate's row is the one the walk back read. */
		if (i == 0) {
			v[0].row = row;
			row = NULL;
		} else if ((rc = db_get_cert(db, s, &v[i].row)) != CA_OK)
			goto out;
		if ((rc = renewals(db, s, &v[i].renewed_by)) != CA_OK)
			goto out;
		if (v[i].row == NULL) {
			rc = err_set(CA_FAIL, "database: certificate %s is "
			    "not stored", s);
			goto out;
		}
		if (json_array_extend(queue, v[i].renewed_by) != 0)
			goto oom;
	}
	qsort(v, n, sizeof(*v), link_cmp);
	for (i = 0; i < n; i++) {
		l->renewed_by = v[i].renewed_by;
		if ((rc = print_row(v[i].row, l)) != CA_OK)
			goto out;
	}
	rc = CA_OK;
	goto out;
oom:
	rc = err_set(CA_FAIL, "out of memory");
out:
	l->renewed_by = NULL;
	for (i = 0; i < n; i++) {
		db_row_free(v[i].row);
		json_decref(v[i].renewed_by);
	}
	free(v);
	json_decref(queue);
	json_decref(seen);
	db_row_free(row);
	return rc;
}

/* --serial: the one row, with "renewedBy". */
static int
print_one(struct db *db, const char *serial, struct listing *l, int *found)
{
	struct db_row *row = NULL;
	json_t *by = NULL;
	int rc;

	*found = 0;
	if ((rc = db_get_cert(db, serial, &row)) != CA_OK || row == NULL)
		return rc;
	*found = 1;
	if ((rc = renewals(db, serial, &by)) == CA_OK) {
		l->renewed_by = by;
		rc = print_row(row, l);
		l->renewed_by = NULL;
	}
	json_decref(by);
	db_row_free(row);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL, *expiring = NULL, *serial_text = NULL,
	    *chain_text = NULL;
	struct db_filter f;
	struct listing l;
	struct authority *a;
	char *serial = NULL;
	int64_t d;
	int ch, rc, found = 1, revoked = 0;

	cli_init(argv[0]);
	memset(&l, 0, sizeof(l));
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_DIR: cli_once("--dir", &dir, optarg); break;
		case O_REVOKED: revoked = 1; break;
		case O_EXPIRING: cli_once("--expiring", &expiring, optarg); break;
		case O_SERIAL: cli_once("--serial", &serial_text, optarg); break;
		case O_CHAIN: cli_once("--chain", &chain_text, optarg); break;
		case O_PEM: l.pem = 1; break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	if (optind != argc)
		die(CA_USAGE, "unexpected argument: %s", argv[optind]);
	if (revoked + (expiring != NULL) + (serial_text != NULL) +
	    (chain_text != NULL) > 1)
		die(CA_USAGE, "--revoked, --expiring, --serial and --chain are "
		    "exclusive");
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
	if (chain_text != NULL &&
	    (serial = x509_serial_parse(chain_text)) == NULL)
		die(CA_USAGE, "--chain %s", err_msg());
	/*
	 * The inventory only reads (no write lock, no migration, no key),
	 * and checks the configuration as the issuing programs do.
	 */
	if (authority_open(dir, DB_READ, &a) != CA_OK)
		die_last();
	l.a = a;
	if (chain_text != NULL)
		rc = print_chain(authority_db(a), serial, &l, &found);
	else if (serial_text != NULL)
		rc = print_one(authority_db(a), serial, &l, &found);
	else
		rc = db_list_certs(authority_db(a), &f, print_row, &l);
	if (rc != CA_OK) {
		/* The rows read before the failure still go out. */
		(void)flush_out(&l);
		die_last();
	}
	if (flush_out(&l) != CA_OK)
		die_last();
	if (!found)
		die(CA_REFUSED, "no certificate with serial %s", serial);
	authority_close(a);
	free(serial);
	return 0;
}
