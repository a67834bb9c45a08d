/*
 * lib/crl and its database functions.
 *
 * Without arguments: TAP unit tests of db_put_crl, db_latest_crl,
 * db_count_revocations and db_list_crl_entries against a fresh SQLite
 * database (numbers are unique, the loser of a number is told so as a
 * value, old CRLs are pruned, entries are selected by notAfter), and of
 * crl_conf_read's defaults.
 *
 * With arguments, a driver for tests/bats/crl.bats that calls
 * authority_crl() on a CA home in-process, as a program would:
 *   test_crl --dir DIR [--force] [--pem]
 * writes the current CRL (DER, or PEM with --pem) to stdout; the exit
 * code is authority_crl()'s, its message on stderr.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "authority.h"
#include "crl.h"
#include "db.h"
#include "err.h"
#include "pem.h"
#include "tap.h"

static int
drive(int argc, char **argv)
{
	struct authority *a;
	struct authority_result r;
	unsigned char *der = NULL;
	const char *dir = NULL;
	char *pem;
	size_t len = 0;
	int i, force = 0, as_pem = 0, rc;

	err_prog("test_crl");
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
			dir = argv[++i];
		else if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (strcmp(argv[i], "--pem") == 0)
			as_pem = 1;
		else
			die(CA_USAGE, "usage: test_crl [--dir DIR] [--force] "
			    "[--pem]");
	}
	if ((rc = authority_open(dir, DB_WRITE, &a)) != CA_OK)
		die_last();
	r = authority_crl(a, force, &der, &len);
	authority_close(a);
	if (r.code != CA_OK) {
		fprintf(stderr, "test_crl: %s (status %d)\n", err_msg(),
		    r.status);
		return r.code;
	}
	if (as_pem) {
		if ((pem = pem_encode("X509 CRL", der, len)) == NULL)
			die_last();
		fputs(pem, stdout);
		free(pem);
	} else
		fwrite(der, 1, len, stdout);
	free(der);
	return fflush(stdout) == 0 ? CA_OK : CA_FAIL;
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int
put(struct db *db, int64_t number, int64_t count, enum db_refusal *why)
{
	static const unsigned char der[] = { 0x30, 0x00 };
	struct db_crl c;

	memset(&c, 0, sizeof(c));
	c.number = number;
	c.this_update = 1000 + number;
	c.next_update = 2000 + number;
	c.revocations = count;
	c.der = der;
	c.der_len = sizeof(der);
	return db_put_crl(db, &c, why);
}

static int
add_cert(struct db *db, const char *serial, int64_t not_after)
{
	static const unsigned char der[] = { 0x30, 0x00 };
	struct db_cert c;

	memset(&c, 0, sizeof(c));
	c.serial = serial;
	c.issued_at = 1;
	c.not_before = 1;
	c.not_after = not_after;
	c.subject = serial;
	c.sans_json = "[]";
	c.provisioner = "p";
	c.der = der;
	c.der_len = sizeof(der);
	return db_put_cert(db, &c);
}

static int
db_rev(struct db *db, const char *serial, int reason)
{
	struct db_revocation r;

	memset(&r, 0, sizeof(r));
	r.serial = serial;
	r.revoked_at = 500;
	r.reason_code = reason;
	r.method = "offline";
	return db_revoke(db, &r, NULL);
}

/* Collects "serial:reason," of each entry, in the order given. */
static int
collect(const struct db_crl_entry *e, void *arg)
{
	char *buf = arg;
	size_t n = strlen(buf);

	snprintf(buf + n, 256 - n, "%s:%d,", e->serial, e->reason_code);
	return CA_OK;
}

static int
cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static void
test_db(void)
{
	char tmpl[] = "/tmp/test_crl.XXXXXX", path[256], buf[256];
	char *parts[8], *p;
	struct db *db = NULL;
	struct db_crl *c = NULL;
	enum db_refusal why;
	json_t *conf;
	int64_t n;
	int i, k;

	if (mkdtemp(tmpl) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/ca.db", tmpl);
	conf = json_pack("{s:s, s:s}", "type", "sqlite", "dataSource", path);
	is_int(db_open(NULL, conf, DB_CREATE, &db), CA_OK, "open: %s",
	    err_msg());

	is_int(db_latest_crl(db, &c), CA_OK, "latest CRL of none: ok");
	ok(c == NULL, "no CRL stored: NULL");
	is_int(db_count_revocations(db, &n), CA_OK, "count revocations");
	is_int(n, 0, "no revocations");

	is_int(put(db, 1, 0, &why), CA_OK, "CRL 1 stored: %s", err_msg());
	is_int(why, DB_REFUSED_NONE, "no refusal value on success");
	is_int(put(db, 1, 0, &why), CA_REFUSED, "CRL 1 again refused");
	is_int(why, DB_REFUSED_EXISTS, "refusal value: number exists");
	is_str(err_msg(), "CRL number 1 already stored", "its message");
	is_int(put(db, 0, 0, NULL), CA_INPUT, "number 0 refused");
	is_int(put(db, 2, -1, NULL), CA_INPUT, "negative count refused");
	is_int(put(db, 3, 7, NULL), CA_OK, "CRL 3 stored");
	is_int(db_latest_crl(db, &c), CA_OK, "latest CRL");
	ok(c != NULL, "one is there");
	if (c != NULL) {
		is_int(c->number, 3, "the highest number, not the last put");
		is_int(c->this_update, 1003, "its thisUpdate");
		is_int(c->next_update, 2003, "its nextUpdate");
		is_int(c->revocations, 7, "its revocation count");
		is_int(c->der_len, 2, "its DER length");
	}
	db_crl_free(c);
	c = NULL;

	/* Pruning keeps DB_CRL_KEEP numbers below the newest. */
	for (k = 4; k <= 30; k++)
		put(db, k, 0, NULL);
	{
		sqlite3 *h = db_handle(db, "sqlite");
		sqlite3_stmt *st;
		long long lo = -1, cnt = -1;

		if (sqlite3_prepare_v2(h, "SELECT min(number), count(*) "
		    "FROM crl", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW) {
			lo = sqlite3_column_int64(st, 0);
			cnt = sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
		is_int(lo, 30 - DB_CRL_KEEP, "older CRLs pruned");
		is_int(cnt, DB_CRL_KEEP + 1, "the newest and %d before it",
		    DB_CRL_KEEP);
	}

	/* Entries: revoked, not expired before the bound. */
	is_int(add_cert(db, "11", 100), CA_OK, "cert 11: %s", err_msg());
	add_cert(db, "12", 200);
	add_cert(db, "13", 300);
	add_cert(db, "14", 400);
	db_rev(db, "11", 1);
	db_rev(db, "12", 0);
	db_rev(db, "14", 4);
	is_int(db_count_revocations(db, &n), CA_OK, "count revocations");
	is_int(n, 3, "three revocations");
	buf[0] = '\0';
	is_int(db_list_crl_entries(db, 200, collect, buf), CA_OK,
	    "list entries");
	/* Sorted here: the order is the CRL maker's business. */
	for (i = 0, p = strtok(buf, ","); p != NULL && i < 8;
	    p = strtok(NULL, ","))
		parts[i++] = p;
	qsort(parts, (size_t)i, sizeof(parts[0]), cmp_str);
	is_int(i, 2, "expired before the bound and unrevoked left out");
	if (i == 2) {
		is_str(parts[0], "12:0", "notAfter at the bound is listed");
		is_str(parts[1], "14:4", "with its reason code");
	}
	db_close(db);
	json_decref(conf);
	nftw(tmpl, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* A version 2 database's CRL is migrated as never current (-1). */
static void
test_migration(void)
{
	char tmpl[] = "/tmp/test_crl.XXXXXX", path[256];
	struct db *db = NULL;
	struct db_crl *c = NULL;
	sqlite3 *h;
	json_t *conf;

	if (mkdtemp(tmpl) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/ca.db", tmpl);
	conf = json_pack("{s:s, s:s}", "type", "sqlite", "dataSource", path);
	if (db_open(NULL, conf, DB_CREATE, &db) == CA_OK)
		db_close(db);
	db = NULL;
	ok(sqlite3_open(path, &h) == SQLITE_OK && sqlite3_exec(h,
	    "DROP TABLE acme_nonces; DROP TABLE acme_objects; "
	    "ALTER TABLE crl DROP COLUMN revocations; "
	    "UPDATE schema_version SET version = 2; "
	    "INSERT INTO crl (number, this_update, next_update, der) "
	    "VALUES (5, 10, 20, x'3000')", NULL, NULL, NULL) == SQLITE_OK,
	    "simulate a version 2 database with a CRL");
	sqlite3_close(h);
	is_int(db_open(NULL, conf, DB_WRITE, &db), CA_OK, "a writer migrates: "
	    "%s", err_msg());
	is_int(db_latest_crl(db, &c), CA_OK, "its CRL read");
	ok(c != NULL && c->number == 5 && c->revocations == -1,
	    "kept, with revocation count -1 (never current)");
	db_crl_free(c);
	db_close(db);
	json_decref(conf);
	nftw(tmpl, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void
test_conf(void)
{
	struct crl_conf c;
	json_t *conf;

	conf = json_pack("{}");
	is_int(crl_conf_read(conf, &c), CA_OK, "no crl object: ok");
	is_int(c.enabled, 1, "enabled by default");
	is_int(c.on_revoke, 1, "generateOnRevoke by default");
	is_int(c.cache, 24 * 3600, "cacheDuration 24h");
	is_int(c.renew, 16 * 3600, "renewPeriod 2/3 of it");
	is_int(c.add_dp, 0, "no distribution point without idpURL");
	ok(crl_leaf_url(&c) == NULL, "no leaf URL");
	json_decref(conf);

	conf = json_pack("{s:{s:s, s:s}}", "crl", "cacheDuration", "90m",
	    "idpURL", "http://ca.example/crl");
	is_int(crl_conf_read(conf, &c), CA_OK, "idpURL: ok");
	is_int(c.renew, 60 * 60, "renewPeriod 2/3 of 90m");
	is_int(c.add_dp, 1, "distribution point by default with idpURL");
	is_str(crl_leaf_url(&c), "http://ca.example/crl", "the leaf URL");
	json_decref(conf);

	conf = json_pack("{s:{s:s, s:b}}", "crl", "idpURL",
	    "http://ca.example/crl", "addDistributionPoint", 0);
	is_int(crl_conf_read(conf, &c), CA_OK, "addDistributionPoint false: ok");
	ok(crl_leaf_url(&c) == NULL, "addDistributionPoint false: none");
	json_decref(conf);

	conf = json_pack("{s:{s:b, s:s}}", "crl", "enabled", 0, "idpURL",
	    "http://ca.example/crl");
	is_int(crl_conf_read(conf, &c), CA_OK, "CRL disabled: ok");
	ok(crl_leaf_url(&c) == NULL, "CRL disabled: no leaf URL");
	json_decref(conf);
}

int
main(int argc, char **argv)
{
	if (argc > 1)
		return drive(argc, argv);
	test_db();
	test_migration();
	test_conf();
	return tap_done();
}
