/*
 * Unit tests for lib/db (SQLite backend), each against a real database
 * file in a fresh temporary directory: schema creation and versioning,
 * durability pragmas, file modes, one-time tokens, certificates and
 * revocations, listings, transactions, ACME objects and nonces, ACME
 * external account binding keys (lib/acmeeab), and concurrent writers in
 * separate processes.
 *
 *   test_db --db TYPE SOURCE   only the ACME tests, which hold for every
 *                              backend, against that database (an empty
 *                              one: they create the schema); pg.bats runs
 *                              them on PostgreSQL
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include <jansson.h>

#include "acmeeab.h"
#include "b64.h"
#include "db.h"
#include "err.h"
#include "tap.h"

#define NCHILD	20

static char tmpdir[256];

/*
 * db_open() on a configuration object {"type": type, "dataSource":
 * source}; create picks DB_CREATE, else DB_WRITE.
 */
static int
topen(const char *type, const char *source, int create, struct db **out)
{
	json_t *conf = json_pack("{s:s, s:s}", "type", type, "dataSource",
	    source);
	int rc = db_open(NULL, conf, create ? DB_CREATE : DB_WRITE, out);

	json_decref(conf);
	return rc;
}

/* Spend (provisioner, jti), expiring at exp, with the clock at exp. */
static int
use_tok(struct db *db, const char *prov, const char *jti, int64_t exp)
{
	struct db_token t;

	memset(&t, 0, sizeof(t));
	t.provisioner = prov;
	t.jti = jti;
	t.issued_at = 0;
	t.expires_at = exp;
	t.now = exp;
	return db_use_token(db, &t);
}

/* tmpdir/name, kept until paths_free() at the end of the run. */
static char *paths[64];
static size_t npaths;

static const char *
path(const char *name)
{
	char *s;

	if (npaths == sizeof(paths) / sizeof(paths[0]) ||
	    asprintf(&s, "%s/%s", tmpdir, name) == -1)
		abort();
	return paths[npaths++] = s;
}

static void
paths_free(void)
{
	while (npaths > 0)
		free(paths[--npaths]);
}

static int
rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* A raw connection, to inspect or tamper with a file behind db's back. */
static int
raw_exec(const char *file, const char *sql)
{
	sqlite3 *h;
	int rc;

	if (sqlite3_open_v2(file, &h, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

/* First column of the first row as an integer, -1 on any error. */
static long long
query_int(sqlite3 *h, const char *sql)
{
	sqlite3_stmt *st;
	long long v = -1;

	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static const char *
query_text(sqlite3 *h, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt *st;
	const unsigned char *t;

	snprintf(buf, size, "(error)");
	if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) != SQLITE_OK)
		return buf;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (t = sqlite3_column_text(st, 0)) != NULL)
		snprintf(buf, size, "%s", (const char *)t);
	sqlite3_finalize(st);
	return buf;
}

static long long
raw_int(const char *file, const char *sql)
{
	sqlite3 *h;
	long long v;

	if (sqlite3_open_v2(file, &h, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(h);
		return -1;
	}
	v = query_int(h, sql);
	sqlite3_close(h);
	return v;
}

static int
has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* DER-ish bytes with NULs inside, to prove the blob is not a string. */
static const unsigned char der[] = { 0x30, 0x82, 0x00, 0x05, 0x00, 0xff,
    0x00, 0x7f, 0x01 };

static struct db_cert
cert(const char *serial, int64_t issued, int64_t not_after)
{
	struct db_cert c;

	memset(&c, 0, sizeof(c));
	c.serial = serial;
	c.issued_at = issued;
	c.not_before = issued - 60;
	c.not_after = not_after;
	c.subject = "a.example";
	c.sans_json = "[\"dns:a.example\",\"ip:10.0.0.5\"]";
	c.provisioner = "admin";
	c.der = der;
	c.der_len = sizeof(der);
	return c;
}

static struct db_revocation
revocation(const char *serial, int code)
{
	struct db_revocation r;

	memset(&r, 0, sizeof(r));
	r.serial = serial;
	r.revoked_at = 1500;
	r.reason_code = code;
	r.reason = "key compromise";
	r.method = "offline";
	return r;
}

/* Collect listed serials as "a,b,c" and remember the last row's flags. */
struct collect {
	char	serials[512];
	int	n;
	int	revoked;
	int	reason_code;
	char	reason[64];
};

static int
collect_row(const struct db_row *r, void *arg)
{
	struct collect *c = arg;
	size_t len = strlen(c->serials);

	snprintf(c->serials + len, sizeof(c->serials) - len, "%s%s",
	    len ? "," : "", r->cert.serial);
	c->n++;
	c->revoked = r->revoked;
	c->reason_code = r->revoked ? r->rev.reason_code : -1;
	snprintf(c->reason, sizeof(c->reason), "%s",
	    r->revoked && r->rev.reason ? r->rev.reason : "");
	return CA_OK;
}

/* A CRL entry callback that counts. */
static int
count_entry(const struct db_crl_entry *e, void *arg)
{
	(*(int *)arg)++;
	return CA_OK;
}

static int
stop_row(const struct db_row *r, void *arg)
{
	(*(int *)arg)++;
	return err_set(CA_REFUSED, "stop");
}

static const char *
list(struct db *db, enum db_select sel, int64_t now, int64_t before,
    const char *serial, struct collect *c)
{
	struct db_filter f;

	memset(c, 0, sizeof(*c));
	memset(&f, 0, sizeof(f));
	f.select = sel;
	f.now = now;
	f.before = before;
	f.serial = serial;
	if (db_list_certs(db, &f, collect_row, c) != CA_OK)
		return "(error)";
	return c->serials;
}

static void
test_open(void)
{
	struct db *db = NULL;
	struct stat st;
	sqlite3 *h;
	char buf[64];
	const char *p = path("ca.db");
	mode_t old;
	int rc;

	/* A permissive umask must not leak into the database files. */
	old = umask(022);
	rc = topen("sqlite", p, 1, &db);
	umask(old);
	is_int(rc, CA_OK, "open creates a new database: %s", err_msg());
	if (rc != CA_OK)
		return;
	ok(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "database file is mode 0600 (got %o)", (unsigned)st.st_mode & 0777);
	ok(stat(path("ca.db-wal"), &st) == 0 && (st.st_mode & 077) == 0,
	    "-wal file is not group/world accessible");
	ok(stat(path("ca.db-shm"), &st) == 0 && (st.st_mode & 077) == 0,
	    "-shm file is not group/world accessible");
	h = db_handle(db, "sqlite");
	ok(h != NULL, "sqlite handle available");
	ok(db_handle(db, "postgresql") == NULL, "no handle for another type");
	is_str(query_text(h, "PRAGMA journal_mode", buf, sizeof(buf)), "wal",
	    "journal_mode is WAL");
	is_int(query_int(h, "PRAGMA synchronous"), 2, "synchronous is FULL");
	is_int(query_int(h, "PRAGMA foreign_keys"), 1, "foreign keys are on");
	/* SQLite's own busy handler is replaced by ours (test_busy). */
	is_int(query_int(h, "PRAGMA busy_timeout"), 0,
	    "SQLite's own busy timeout is off");
	is_int(query_int(h, "SELECT version FROM schema_version"),
	    DB_SCHEMA_VERSION, "schema_version is current");
	is_int(query_int(h, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name IN ('certs', 'revocations', "
	    "'used_tokens', 'token_clock', 'crl', 'acme_objects', "
	    "'acme_nonces', 'schema_version')"), 8, "all tables exist");
	is_int(query_int(h, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table'"), 8, "and no other");
	is_int(query_int(h, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND name IN ('certs_not_after', "
	    "'revocations_revoked_at')"), 2, "inventory indexes exist");
	is_int(query_int(h, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'index' AND name IN ('acme_objects_account', "
	    "'acme_nonces_expires_at')"), 2, "ACME indexes exist");
	is_int(db_set_busy_timeout(db, 250), CA_OK, "busy timeout settable");
	is_int(query_int(h, "PRAGMA busy_timeout"), 0,
	    "and SQLite's own stays off");
	is_int(db_set_busy_timeout(db, -1), CA_INPUT,
	    "negative busy timeout refused");
	db_close(db);

	/* Re-opening a current database changes nothing. */
	rc = topen("sqlite", p, 0, &db);
	is_int(rc, CA_OK, "reopen existing database: %s", err_msg());
	db_close(db);
	rc = topen("sqlite", p, 1, &db);
	is_int(rc, CA_OK, "reopen with create on existing database: %s",
	    err_msg());
	db_close(db);
	is_int(raw_int(p, "SELECT count(*) FROM schema_version"), 1,
	    "still one schema_version row after reopening");
	is_int(raw_int(p, "SELECT version FROM schema_version"),
	    DB_SCHEMA_VERSION, "still the current version");
}

static void
test_open_refusals(void)
{
	static const char garbage[] = "not a database, only some text "
	    "long enough for SQLite to read it as a header\n";
	struct db *db = (struct db *)&db;
	const char *p;
	int fd;

	p = path("missing.db");
	is_int(topen("sqlite", p, 0, &db), CA_FAIL,
	    "missing database without create fails");
	ok(has(err_msg(), "does not exist"), "says it does not exist: %s",
	    err_msg());
	ok(db == NULL, "no handle on failure");
	ok(access(p, F_OK) == -1, "missing database was not created");

	/* The password lives in libpq's files, never in ca.json. */
	is_int(topen("postgresql", "postgresql://ca:secret@db.invalid/ca", 0,
	    &db), CA_FAIL, "postgresql dataSource with a password fails");
	is_str(err_msg(), "ca.json: db.dataSource holds a password: keep it "
	    "in a password file (PGPASSFILE, ~/.pgpass) or a service file "
	    "instead", "says where the password goes");
	ok(has(err_msg(), "secret") == 0, "the password is not repeated");
	is_int(topen("postgresql", "host=db.invalid password=secret", 0,
	    &db), CA_FAIL, "conninfo with a password fails");
	is_int(topen("postgresql", "host=db.invalid nosuchoption=1", 0, &db),
	    CA_FAIL, "a conninfo libpq cannot parse fails");
	ok(has(err_msg(), "ca.json: db.dataSource: "), "names the member: %s",
	    err_msg());
	is_int(topen("mysql", p, 1, &db), CA_FAIL, "unknown type fails");
	ok(has(err_msg(), "unknown database type"), "says unknown type: %s",
	    err_msg());
	is_int(topen("sqlite", "", 1, &db), CA_FAIL, "empty source fails");

	/* A schema newer than this program is refused, untouched. */
	p = path("newer.db");
	if (topen("sqlite", p, 1, &db) == CA_OK)
		db_close(db);
	is_int(raw_exec(p, "UPDATE schema_version SET version = "
	    "version + 1"), 0, "simulate a newer schema");
	is_int(topen("sqlite", p, 0, &db), CA_FAIL, "newer schema refused");
	{
		char want[128];

		snprintf(want, sizeof(want), "database schema version %d is "
		    "newer than this program (%d)", DB_SCHEMA_VERSION + 1,
		    DB_SCHEMA_VERSION);
		is_str(err_msg(), want, "newer schema message");
	}
	is_int(raw_int(p, "SELECT version FROM schema_version"),
	    DB_SCHEMA_VERSION + 1, "newer schema left as it was");

	/*
	 * Version 0: an existing but empty database (emptied, replaced, or
	 * what a crash of ca-init leaves) gets no schema except with
	 * DB_CREATE: the inventory and the spent tokens are never silently
	 * started afresh.
	 */
	p = path("empty.db");
	fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0600);
	ok(fd != -1, "empty file created");
	if (fd != -1)
		close(fd);
	is_int(topen("sqlite", p, 0, &db), CA_FAIL,
	    "zero-byte database refused without create");
	ok(has(err_msg(), "has no CA schema"), "says why: %s", err_msg());
	ok(has(err_msg(), "only ca-init"), "says who makes one: %s",
	    err_msg());
	is_int(raw_int(p, "SELECT count(*) FROM sqlite_master"), 0,
	    "refused database left empty");
	{
		json_t *conf = json_pack("{s:s, s:s}", "type", "sqlite",
		    "dataSource", p);

		is_int(db_open(NULL, conf, DB_READ, &db), CA_FAIL,
		    "zero-byte database refused read-only too");
		json_decref(conf);
	}
	is_int(topen("sqlite", p, 1, &db), CA_OK,
	    "empty database given the schema with create: %s", err_msg());
	db_close(db);
	is_int(raw_int(p, "SELECT version FROM schema_version"),
	    DB_SCHEMA_VERSION, "created database is current");
	is_int(raw_int(p, "SELECT count(*) FROM certs"), 0,
	    "created database has the certs table");

	/* Version 1 (before token_clock) is migrated by a writer. */
	p = path("v1.db");
	if (topen("sqlite", p, 1, &db) == CA_OK)
		db_close(db);
	is_int(raw_exec(p, "DROP TABLE acme_nonces; DROP TABLE acme_objects; "
	    "DROP TABLE token_clock; ALTER TABLE crl DROP "
	    "COLUMN revocations; UPDATE schema_version "
	    "SET version = 1"), 0, "simulate a version 1 database");
	{
		json_t *conf = json_pack("{s:s, s:s}", "type", "sqlite",
		    "dataSource", p);

		is_int(db_open(NULL, conf, DB_READ, &db), CA_OK,
		    "a reader reads version 1 as it is: %s", err_msg());
		db_close(db);
		is_int(raw_int(p, "SELECT version FROM schema_version"), 1,
		    "the reader did not migrate");
		json_decref(conf);
	}
	is_int(topen("sqlite", p, 0, &db), CA_OK, "a writer migrates: %s",
	    err_msg());
	db_close(db);
	is_int(raw_int(p, "SELECT version FROM schema_version"),
	    DB_SCHEMA_VERSION, "migrated to current");
	is_int(raw_int(p, "SELECT pruned_before FROM token_clock"), 0,
	    "token clock starts at 0");
	is_int(raw_int(p, "SELECT count(*) FROM acme_objects") +
	    raw_int(p, "SELECT count(*) FROM acme_nonces"), 0,
	    "the ACME tables are there, empty");

	/* Somebody else's database is not ours to migrate. */
	p = path("foreign.db");
	if ((fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0600)) != -1)
		close(fd);
	is_int(raw_exec(p, "CREATE TABLE other (x INTEGER)"), 0,
	    "create a foreign database");
	is_int(topen("sqlite", p, 0, &db), CA_FAIL,
	    "database without schema_version refused");
	ok(has(err_msg(), "not a CA database"), "says why: %s", err_msg());
	is_int(raw_int(p, "SELECT count(*) FROM sqlite_master"), 1,
	    "foreign database untouched");

	/* Not an SQLite file at all. */
	p = path("garbage.db");
	if ((fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0600)) != -1) {
		if (write(fd, garbage, sizeof(garbage)) !=
		    (ssize_t)sizeof(garbage))
			ok(0, "write garbage");
		close(fd);
	}
	is_int(topen("sqlite", p, 0, &db), CA_FAIL, "garbage file refused");
	ok(has(err_msg(), p), "message names the file: %s", err_msg());

	p = path("no/such/dir/ca.db");
	is_int(topen("sqlite", p, 1, &db), CA_FAIL,
	    "create in a missing directory fails");

	/* A damaged version table fails closed. */
	p = path("damaged.db");
	if (topen("sqlite", p, 1, &db) == CA_OK)
		db_close(db);
	is_int(raw_exec(p, "INSERT INTO schema_version VALUES (1)"), 0,
	    "add a second schema_version row");
	is_int(topen("sqlite", p, 0, &db), CA_FAIL,
	    "two schema_version rows refused");
	ok(has(err_msg(), "damaged"), "says damaged: %s", err_msg());
}

static void
test_tokens(struct db *db)
{
	is_int(use_tok(db, "admin", "jti-1", 1000), CA_OK,
	    "first use of a token");
	is_int(use_tok(db, "admin", "jti-1", 1000), CA_REFUSED,
	    "second use refused");
	is_str(err_msg(), "token already used", "message for reuse");
	is_int(use_tok(db, "other", "jti-1", 1000), CA_OK,
	    "same jti from another provisioner is another token");
	is_int(use_tok(db, "admin", "", 1000), CA_INPUT, "empty jti");
	is_int(use_tok(db, NULL, "jti-x", 1000), CA_INPUT,
	    "missing provisioner");

	/*
	 * Retention: a spent token is forgotten only DB_TOKEN_RETENTION
	 * after it expired, as the furthest-ahead clock judges.
	 */
	{
		const int64_t R = DB_TOKEN_RETENTION, T0 = 100000000;
		struct db_token t;

		memset(&t, 0, sizeof(t));
		t.provisioner = "admin";
		t.jti = "spent";
		t.issued_at = T0 - 300;
		t.expires_at = T0 + 60;
		t.now = T0;
		is_int(db_use_token(db, &t), CA_OK, "spend at T0");
		/* A clock a day ahead spends another token... */
		t.jti = "a-day-ahead";
		t.now = T0 + 86400;
		t.issued_at = t.now;
		t.expires_at = t.now + 360;
		is_int(db_use_token(db, &t), CA_OK, "spend a day ahead");
		/* ...and the first is still spent when the clock is back. */
		t.jti = "spent";
		t.now = T0;
		t.issued_at = T0 - 300;
		t.expires_at = T0 + 60;
		is_int(db_use_token(db, &t), CA_REFUSED,
		    "a day-ahead clock did not forget a spent token");
		is_str(err_msg(), "token already used", "says already used");
		/* Within the retention of the furthest clock: kept. */
		t.jti = "ahead-by-retention";
		t.now = T0 + 60 + R;
		t.issued_at = t.now;
		t.expires_at = t.now + 360;
		is_int(db_use_token(db, &t), CA_OK, "spend a retention ahead");
		t.jti = "spent";
		t.now = T0 + 60;
		t.issued_at = T0 - 300;
		t.expires_at = T0 + 60;
		is_int(db_use_token(db, &t), CA_REFUSED,
		    "expired exactly at the cut: still kept");
		/* Beyond: the row goes, and so does every clock behind it. */
		t.jti = "far-ahead";
		t.now = T0 + 61 + R;
		t.issued_at = t.now;
		t.expires_at = t.now + 360;
		is_int(db_use_token(db, &t), CA_OK, "spend a retention + 1 ahead");
		t.jti = "spent";
		t.now = T0;
		t.issued_at = T0 - 300;
		t.expires_at = T0 + 60;
		is_int(db_use_token(db, &t), CA_FAIL,
		    "a clock behind the forgetting point fails closed");
		ok(has(err_msg(), "clock"), "names the clock: %s", err_msg());
		t.jti = "fresh";
		is_int(db_use_token(db, &t), CA_FAIL,
		    "every token fails closed on that clock");
		t.now = T0 + 61;
		t.issued_at = T0 + 61;
		t.expires_at = T0 + 400;
		is_int(db_use_token(db, &t), CA_OK,
		    "a clock at the forgetting point spends again");
		t.expires_at = t.now - 1;
		is_int(db_use_token(db, &t), CA_INPUT,
		    "a token expired on the caller's own clock is a bug");
	}
}

static void
test_certs(struct db *db)
{
	enum db_refusal why;
	struct db_cert c;
	struct db_revocation r;
	struct db_row *row = NULL;
	struct collect col;
	int revoked = -1, n;

	c = cert("1001", 100, 1000);
	is_int(db_put_cert(db, &c), CA_OK, "store a certificate: %s",
	    err_msg());
	is_int(db_get_cert(db, "1001", &row), CA_OK, "get it back");
	ok(row != NULL, "found");
	if (row != NULL) {
		is_str(row->cert.serial, "1001", "serial");
		is_int(row->cert.issued_at, 100, "issued_at");
		is_int(row->cert.not_before, 40, "not_before");
		is_int(row->cert.not_after, 1000, "not_after");
		is_str(row->cert.subject, "a.example", "subject");
		is_str(row->cert.sans_json,
		    "[\"dns:a.example\",\"ip:10.0.0.5\"]", "sans");
		is_str(row->cert.provisioner, "admin", "provisioner");
		ok(row->cert.renewed_from == NULL, "not a renewal");
		ok(row->cert.der_len == sizeof(der) &&
		    memcmp(row->cert.der, der, sizeof(der)) == 0,
		    "DER bytes round trip");
		is_int(row->revoked, 0, "not revoked");
	}
	db_row_free(row);
	is_int(db_get_cert(db, "999", &row), CA_OK, "get unknown serial");
	ok(row == NULL, "unknown serial not found");

	c = cert("1001", 200, 2000);
	is_int(db_put_cert(db, &c), CA_FAIL, "duplicate serial fails");
	ok(has(err_msg(), "already exists"), "says so: %s", err_msg());
	c = cert("01001", 200, 2000);
	is_int(db_put_cert(db, &c), CA_INPUT, "leading zero serial refused");
	c = cert("10a1", 200, 2000);
	is_int(db_put_cert(db, &c), CA_INPUT, "non-decimal serial refused");
	c = cert("1002", 200, 2000);
	c.sans_json = "dns:a.example";
	is_int(db_put_cert(db, &c), CA_INPUT, "SANs not JSON refused");
	c.sans_json = "[\"DNS:a.example\"]";
	is_int(db_put_cert(db, &c), CA_INPUT, "unknown SAN type refused");
	c.sans_json = "[\"dns:\"]";
	is_int(db_put_cert(db, &c), CA_INPUT, "empty SAN value refused");
	c.sans_json = "{\"dns\":\"a\"}";
	is_int(db_put_cert(db, &c), CA_INPUT, "SANs not an array refused");
	c.sans_json = "[]";
	c.der_len = 0;
	is_int(db_put_cert(db, &c), CA_INPUT, "empty DER refused");
	c = cert("1002", 200, 2000);
	c.renewed_from = "77";
	is_int(db_put_cert(db, &c), CA_FAIL, "renewal of unknown serial fails");
	ok(has(err_msg(), "not stored"), "says so: %s", err_msg());
	c.renewed_from = "1001";
	is_int(db_put_cert(db, &c), CA_OK, "store a renewal: %s", err_msg());
	is_int(db_get_cert(db, "1002", &row), CA_OK, "get the renewal");
	is_str(row ? row->cert.renewed_from : NULL, "1001",
	    "renewed_from round trip");
	db_row_free(row);

	/* Revocation. */
	is_int(db_is_revoked(db, "1001", &revoked), CA_OK, "is_revoked");
	is_int(revoked, 0, "not revoked yet");
	r = revocation("1001", 1);
	why = DB_REFUSED_NOT_FOUND;
	is_int(db_revoke(db, &r, &why), CA_OK, "revoke: %s", err_msg());
	is_int(why, DB_REFUSED_NONE, "no refusal value on success");
	is_int(db_is_revoked(db, "1001", &revoked), CA_OK, "is_revoked");
	is_int(revoked, 1, "now revoked");
	r = revocation("1001", 4);
	is_int(db_revoke(db, &r, &why), CA_REFUSED, "second revocation refused");
	is_str(err_msg(), "certificate 1001 already revoked",
	    "message for double revocation");
	is_int(why, DB_REFUSED_ALREADY_REVOKED, "refusal value: already revoked");
	r = revocation("4242", 1);
	is_int(db_revoke(db, &r, &why), CA_REFUSED, "unknown serial refused");
	ok(has(err_msg(), "not found"), "says not found: %s", err_msg());
	is_int(why, DB_REFUSED_NOT_FOUND, "refusal value: not found");
	r = revocation("1002", 7);
	is_int(db_revoke(db, &r, &why), CA_INPUT, "reason code 7 refused");
	r = revocation("1002", 11);
	is_int(db_revoke(db, &r, &why), CA_INPUT, "reason code 11 refused");
	is_int(db_is_revoked(db, "1002", &revoked), CA_OK, "is_revoked");
	is_int(revoked, 0, "refused revocations left nothing");
	is_int(db_get_cert(db, "1001", &row), CA_OK, "get revoked cert");
	ok(row != NULL && row->revoked == 1, "row says revoked");
	if (row != NULL && row->revoked) {
		is_int(row->rev.revoked_at, 1500, "revoked_at");
		is_int(row->rev.reason_code, 1, "first reason code kept");
		is_str(row->rev.reason, "key compromise", "reason");
		is_str(row->rev.method, "offline", "method");
		is_str(row->rev.serial, "1001", "revocation serial");
	}
	db_row_free(row);

	/*
	 * Listings.  Now: 600.  Stored: 1001 (issued 100, expires 1000,
	 * revoked), 1002 (200, 2000).  Add 1003 (300, 5000), 1004 (50, 500:
	 * expired), 1005 (300, 600: expires right now), 1006 (400, 2500).
	 */
	c = cert("1003", 300, 5000);
	db_put_cert(db, &c);
	c = cert("1004", 50, 500);
	db_put_cert(db, &c);
	c = cert("1005", 300, 600);
	db_put_cert(db, &c);
	c = cert("1006", 400, 2500);
	is_int(db_put_cert(db, &c), CA_OK, "more certificates stored");
	is_str(list(db, DB_SELECT_ALL, 0, 0, NULL, &col),
	    "1004,1001,1002,1003,1005,1006",
	    "all, by issued_at then serial");
	is_str(list(db, DB_SELECT_REVOKED, 0, 0, NULL, &col), "1001",
	    "revoked only");
	is_int(col.revoked, 1, "listed row is revoked");
	is_int(col.reason_code, 1, "listed reason code");
	is_str(col.reason, "key compromise", "listed reason");
	is_str(list(db, DB_SELECT_EXPIRING, 600, 2500, NULL, &col),
	    "1002,1005,1006",
	    "expiring: not revoked, not expired, bounds inclusive");
	is_str(list(db, DB_SELECT_EXPIRING, 600, 599, NULL, &col), "",
	    "expiring with before < now is empty");
	is_str(list(db, DB_SELECT_SERIAL, 0, 0, "1003", &col), "1003",
	    "one serial");
	is_int(col.revoked, 0, "that one is not revoked");
	is_str(list(db, DB_SELECT_SERIAL, 0, 0, "9", &col), "",
	    "unknown serial lists nothing");
	is_str(list(db, DB_SELECT_RENEWALS, 0, 0, "1001", &col), "1002",
	    "renewals of 1001: 1002");
	is_str(list(db, DB_SELECT_RENEWALS, 0, 0, "1002", &col), "",
	    "a certificate never renewed has no renewals");
	{
		struct db_filter f;

		memset(&f, 0, sizeof(f));
		f.select = DB_SELECT_SERIAL;
		f.serial = "x";
		is_int(db_list_certs(db, &f, collect_row, &col), CA_INPUT,
		    "bad serial filter refused");
		f.select = DB_SELECT_RENEWALS;
		is_int(db_list_certs(db, &f, collect_row, &col), CA_INPUT,
		    "bad renewals filter refused");
		f.select = DB_SELECT_ALL;
		n = 0;
		is_int(db_list_certs(db, &f, stop_row, &n), CA_REFUSED,
		    "callback's code stops the listing");
		is_int(n, 1, "after one row");

		/*
		 * A stored reason code no revocation could write (db_revoke
		 * refuses it) is a damaged row, on listing and for a CRL.
		 */
		ok(sqlite3_exec(db_handle(db, "sqlite"), "UPDATE revocations "
		    "SET reason_code = 7 WHERE serial = '1001'", NULL, NULL,
		    NULL) == SQLITE_OK, "reason code damaged behind db's back");
		is_int(db_list_certs(db, &f, collect_row, &col), CA_FAIL,
		    "a damaged reason code fails the listing");
		is_str(err_msg(), "database list certificates: unreadable row",
		    "message for a damaged listed row");
		n = 0;
		is_int(db_list_crl_entries(db, 0, count_entry, &n), CA_FAIL,
		    "a damaged reason code fails the CRL's entries");
		is_str(err_msg(), "database list revoked certificates: "
		    "unreadable row", "message for a damaged CRL entry");
		is_int(n, 0, "no entry given before it");
		sqlite3_exec(db_handle(db, "sqlite"), "UPDATE revocations "
		    "SET reason_code = 11 WHERE serial = '1001'", NULL, NULL,
		    NULL);
		is_int(db_list_crl_entries(db, 0, count_entry, &n), CA_FAIL,
		    "reason code 11 fails the CRL's entries too");
		sqlite3_exec(db_handle(db, "sqlite"), "UPDATE revocations "
		    "SET reason_code = 1 WHERE serial = '1001'", NULL, NULL,
		    NULL);
		is_int(db_list_crl_entries(db, 0, count_entry, &n), CA_OK,
		    "repaired: the CRL's entries list");
		is_int(n, 1, "one revoked certificate");
	}
}

static void
test_transactions(void)
{
	struct db *db = NULL;
	const char *p = path("txn.db");

	if (topen("sqlite", p, 1, &db) != CA_OK) {
		ok(0, "open: %s", err_msg());
		return;
	}
	/* A rollback without a transaction leaves none open behind it. */
	db_rollback(db);
	is_int(db_commit(db), CA_FAIL,
	    "after a stray rollback, commit still finds no transaction");

	is_int(db_begin(db), CA_OK, "begin");
	is_int(db_begin(db), CA_FAIL, "nested begin fails");
	is_int(use_tok(db, "admin", "rolled-back", 1000), CA_OK,
	    "use a token inside the transaction");
	db_rollback(db);
	is_int(use_tok(db, "admin", "rolled-back", 1000), CA_OK,
	    "after rollback the token is not used");

	is_int(db_begin(db), CA_OK, "begin");
	is_int(use_tok(db, "admin", "kept", 1000), CA_OK, "use a token");
	is_int(db_commit(db), CA_OK, "commit: %s", err_msg());
	db_close(db);
	db = NULL;
	is_int(topen("sqlite", p, 0, &db), CA_OK, "reopen");
	is_int(use_tok(db, "admin", "kept", 1000), CA_REFUSED,
	    "committed token is still used after reopening");

	/* An open transaction dies with its connection. */
	is_int(db_begin(db), CA_OK, "begin");
	is_int(use_tok(db, "admin", "closed", 1000), CA_OK, "use a token");
	db_close(db);
	db = NULL;
	is_int(topen("sqlite", p, 0, &db), CA_OK, "reopen");
	is_int(use_tok(db, "admin", "closed", 1000), CA_OK,
	    "closing without commit left nothing");
	db_close(db);
}

/* Wait for the parent to open the gate: every racer starts together. */
static void
gate_wait(int gate)
{
	char junk;

	while (read(gate, &junk, 1) == -1 && errno == EINTR)
		;
}

/*
 * A racer: in a child process with connections of its own, it waits on
 * gate (when it likes: before or after connecting) and returns a code.
 */
typedef int (*racer_fn)(const void *arg, int i, int gate);

/*
 * NCHILD racers fn(arg), all let go at once, counted by exit status:
 * *won CA_OK, *lost CA_REFUSED, *other anything else.
 */
static void
race(racer_fn fn, const void *arg, int *won, int *lost, int *other)
{
	pid_t pid[NCHILD];
	int gate[2], i, st, rc;

	*won = *lost = *other = 0;
	if (pipe(gate) == -1) {
		ok(0, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	for (i = 0; i < NCHILD; i++) {
		if ((pid[i] = fork()) == -1) {
			ok(0, "fork: %s", strerror(errno));
			break;
		}
		if (pid[i] == 0) {
			close(gate[1]);
			if ((rc = fn(arg, i, gate[0])) != CA_OK &&
			    rc != CA_REFUSED)
				fprintf(stderr, "child %d: %d %s\n", i, rc,
				    err_msg());
			_exit(rc);
		}
	}
	close(gate[0]);
	/* Let every child connect first where it does: the race is after. */
	usleep(300 * 1000);
	close(gate[1]);
	for (i = 0; i < NCHILD && pid[i] != -1; i++) {
		if (waitpid(pid[i], &st, 0) == -1 || !WIFEXITED(st))
			(*other)++;
		else if (WEXITSTATUS(st) == CA_OK)
			(*won)++;
		else if (WEXITSTATUS(st) == CA_REFUSED)
			(*lost)++;
		else
			(*other)++;
	}
}

/*
 * One issuance the way lib/authority does it, on the SQLite file arg:
 * spend the shared token, store our own certificate, commit.
 */
static int
racer_issue(const void *arg, int i, int gate)
{
	struct db *db;
	struct db_cert c;
	char serial[32];
	int rc;

	gate_wait(gate);
	snprintf(serial, sizeof(serial), "%d", 5000 + i);
	c = cert(serial, 100 + i, 9000);
	if ((rc = topen("sqlite", arg, 0, &db)) != CA_OK)
		return rc;
	if ((rc = db_begin(db)) == CA_OK &&
	    (rc = use_tok(db, "admin", "shared-jti", 9000)) == CA_OK &&
	    (rc = db_put_cert(db, &c)) == CA_OK)
		rc = db_commit(db);
	if (rc != CA_OK)
		db_rollback(db);
	db_close(db);
	return rc;
}

static void
test_concurrency(void)
{
	struct db *db = NULL;
	struct collect col;
	const char *p = path("race.db");
	int won, refused, other;

	if (topen("sqlite", p, 1, &db) != CA_OK) {
		ok(0, "open: %s", err_msg());
		return;
	}
	db_close(db);
	race(racer_issue, p, &won, &refused, &other);
	is_int(won, 1, "exactly one of %d processes spent the token", NCHILD);
	is_int(refused, NCHILD - 1, "all others were refused");
	is_int(other, 0, "none was busy or failed");
	if (topen("sqlite", p, 0, &db) != CA_OK) {
		ok(0, "reopen: %s", err_msg());
		return;
	}
	list(db, DB_SELECT_ALL, 0, 0, NULL, &col);
	is_int(col.n, 1, "exactly one certificate row exists");
	db_close(db);
	is_int(raw_int(p, "SELECT count(*) FROM used_tokens"), 1,
	    "exactly one used token row");
}

/*
 * The wait for the write lock: 50 us, doubling to 100 ms, until the
 * sleeps add up to the timeout, the last one cut to fit.
 */
static void
test_busy_schedule(void)
{
	long sum = 0, us;
	int n;

	is_int((int)db_sqlite_busy_sleep(1000, 0), DB_BUSY_FIRST_US,
	    "first sleep 50 us");
	is_int((int)db_sqlite_busy_sleep(1000, 1), 2 * DB_BUSY_FIRST_US,
	    "then twice that");
	is_int((int)db_sqlite_busy_sleep(600000, 30), DB_BUSY_MAX_US,
	    "at most 100 ms");
	is_int((int)db_sqlite_busy_sleep(0, 0), 0, "timeout 0: no wait");
	for (n = 0; (us = db_sqlite_busy_sleep(5, n)) > 0; n++)
		sum += us;
	is_int((int)sum, 5000, "a 5 ms wait: the sleeps add up to it");
	ok(n == 7, "in 7 tries, the last cut to fit (%d)", n);
	for (sum = 0, n = 0; (us = db_sqlite_busy_sleep(DB_BUSY_TIMEOUT_MS, n)) > 0; n++)
		sum += us;
	is_int((int)sum, DB_BUSY_TIMEOUT_MS * 1000,
	    "the default's sleeps add up to 5 s exactly (%d tries)", n);
	ok(n > 50 && n < 70, "about ten a second once at the cap (%d)", n);
	is_int((int)db_sqlite_busy_sleep(DB_BUSY_TIMEOUT_MAX_MS, 7000), 0,
	    "the longest timeout ends too");
}

static void
test_busy(void)
{
	struct db *a = NULL, *b = NULL, *c = NULL;
	struct timespec t0, t1;
	int revoked;
	const char *p = path("busy.db");
	long ms;

	if (topen("sqlite", p, 1, &a) != CA_OK ||
	    topen("sqlite", p, 0, &b) != CA_OK) {
		ok(0, "open: %s", err_msg());
		db_close(a);
		return;
	}
	is_int(db_set_busy_timeout(b, 100), CA_OK, "busy timeout 100 ms");
	is_int(db_begin(a), CA_OK, "first connection holds the write lock");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	is_int(db_begin(b), CA_UNAVAIL, "second connection: unavailable");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ok(has(err_msg(), "database busy"), "says busy: %s", err_msg());
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ok(ms >= 80 && ms < 3000, "after waiting about the timeout (%ld ms)",
	    ms);
	is_int(use_tok(b, "admin", "busy", 1000), CA_UNAVAIL,
	    "a write outside a transaction is unavailable too");
	is_int(topen("sqlite", p, 0, &c), CA_OK,
	    "opening is not blocked by a writer");
	is_int(db_is_revoked(c, "1", &revoked), CA_OK,
	    "reading is not blocked by a writer");
	db_close(c);
	is_int(use_tok(a, "admin", "busy", 1000), CA_OK,
	    "the holder writes");
	is_int(db_commit(a), CA_OK, "the holder commits");
	is_int(db_begin(b), CA_OK, "then the second connection gets the lock");
	is_int(use_tok(b, "admin", "busy", 1000), CA_REFUSED,
	    "and sees the committed token");
	db_rollback(b);
	db_close(a);
	db_close(b);
}

/*
 * The WAL stays bounded: for a connection that commits many times
 * without closing (passive checkpoints, then the WAL restarts), and for
 * many short-lived connections (folded and truncated at close).
 */
static void
test_wal_bound(void)
{
	struct db *db = NULL;
	const char *p = path("wal.db");
	char serial[32], jti[32], wal[4200];
	struct stat st;
	int i, fails = 0;

	snprintf(wal, sizeof(wal), "%s-wal", p);
	if (topen("sqlite", p, 1, &db) != CA_OK) {
		ok(0, "open: %s", err_msg());
		return;
	}
	for (i = 0; i < 1500; i++) {
		struct db_cert c;

		snprintf(serial, sizeof(serial), "%d", 70000 + i);
		snprintf(jti, sizeof(jti), "wal-%d", i);
		c = cert(serial, 100, 9000);
		fails += db_begin(db) != CA_OK || use_tok(db, "admin", jti,
		    1000) != CA_OK || db_put_cert(db, &c) != CA_OK ||
		    db_commit(db) != CA_OK;
	}
	is_int(fails, 0, "1500 commits on one connection");
	ok(stat(wal, &st) == 0 && st.st_size < 16 * 1024 * 1024,
	    "one long-lived connection: WAL under 16 MiB (%lld bytes)",
	    (long long)st.st_size);
	db_close(db);
	ok(stat(wal, &st) == 0 && st.st_size == 0,
	    "closing a writer with a full WAL folds and truncates it (%lld bytes)",
	    (long long)st.st_size);
	for (i = 0; i < 300; i++) {
		struct db_cert c;

		snprintf(serial, sizeof(serial), "%d", 90000 + i);
		snprintf(jti, sizeof(jti), "short-%d", i);
		c = cert(serial, 100, 9000);
		fails += topen("sqlite", p, 0, &db) != CA_OK ||
		    db_begin(db) != CA_OK || use_tok(db, "admin", jti,
		    1000) != CA_OK || db_put_cert(db, &c) != CA_OK ||
		    db_commit(db) != CA_OK;
		db_close(db);
		db = NULL;
	}
	is_int(fails, 0, "300 short-lived connections, one commit each");
	ok(stat(wal, &st) == 0 && st.st_size < 2 * 1024 * 1024,
	    "short-lived connections: WAL under 2 MiB (%lld bytes)",
	    (long long)st.st_size);
}


/* ---- ACME objects and nonces: the same on every backend ----------------- */

/* The database test_acme*() run on, and how to open it again. */
static const char *acme_type, *acme_source;

static struct db_acme
acme(const char *kind, const char *id, const char *account,
    const char *lookup, const char *status)
{
	struct db_acme o;

	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.id = id;
	o.account = account;
	o.lookup = lookup;
	o.status = status;
	o.expires_at = 1700000000;
	o.body = "{\"identifiers\":[{\"type\":\"dns\","
	    "\"value\":\"a.example\"}]}";
	return o;
}

/* db_acme_put() and its refusal as "rc/why". */
static const char *
put_acme(struct db *db, const struct db_acme *o, int create)
{
	static char buf[32];
	enum db_refusal why = (enum db_refusal)99;
	int rc = db_acme_put(db, o, create, &why);

	snprintf(buf, sizeof(buf), "%d/%d", rc, (int)why);
	return buf;
}

/* Listed ids as "a,b,c". */
struct ids {
	char	s[512];
	int	n;
	int	stop;	/* stop after this many (0: never) */
};

static int
collect_acme(const struct db_acme *o, void *arg)
{
	struct ids *c = arg;
	size_t len = strlen(c->s);

	snprintf(c->s + len, sizeof(c->s) - len, "%s%s", len ? "," : "",
	    o->id);
	if (++c->n == c->stop)
		return err_set(CA_REFUSED, "stop");
	return CA_OK;
}

static const char *
list_acme(struct db *db, const char *kind, const char *account, int stop,
    int *rc)
{
	static struct ids c;

	memset(&c, 0, sizeof(c));
	c.stop = stop;
	*rc = db_acme_list(db, kind, account, collect_acme, &c);
	return c.s;
}

/* "status lookup body" of a stored object, "(none)" if none. */
static const char *
show_acme(struct db *db, const char *kind, const char *id)
{
	static char buf[256];
	struct db_acme_row *r = NULL;

	if (db_acme_get(db, kind, id, &r) != CA_OK)
		return "(error)";
	if (r == NULL)
		return "(none)";
	snprintf(buf, sizeof(buf), "%s %s %s %lld %s", r->o.status,
	    r->o.account != NULL ? r->o.account : "-",
	    r->o.lookup != NULL ? r->o.lookup : "-",
	    (long long)r->o.expires_at, r->o.body);
	db_acme_row_free(r);
	return buf;
}

static void
test_acme_objects(struct db *db)
{
	struct db_acme o, bad;
	struct db_acme_row *r;
	char want[32], id[DB_ACME_MAX_ID + 2], lookup[DB_ACME_MAX_LOOKUP + 2];
	char *body;
	int rc;

	snprintf(want, sizeof(want), "%d/%d", CA_OK, DB_REFUSED_NONE);
	o = acme("account", "a1", NULL, "thumb-1", "valid");
	o.expires_at = 0;
	o.body = "{\"key\":{\"kty\":\"OKP\"},\"contact\":[]}";
	is_str(put_acme(db, &o, 1), want, "create an account");
	is_str(show_acme(db, "account", "a1"),
	    "valid - thumb-1 0 {\"key\":{\"kty\":\"OKP\"},\"contact\":[]}",
	    "read back by id, every column");
	r = NULL;
	is_int(db_acme_find(db, "account", "thumb-1", &r), CA_OK,
	    "find by lookup");
	ok(r != NULL && strcmp(r->o.id, "a1") == 0 &&
	    strcmp(r->o.kind, "account") == 0 && r->o.account == NULL,
	    "finds that account, no owner");
	db_acme_row_free(r);
	r = (struct db_acme_row *)&o;
	is_int(db_acme_get(db, "account", "a9", &r), CA_OK,
	    "get of a missing id is not an error");
	ok(r == NULL, "and gives NULL");
	r = (struct db_acme_row *)&o;
	is_int(db_acme_find(db, "account", "thumb-9", &r), CA_OK,
	    "find of a missing lookup is not an error");
	ok(r == NULL, "and gives NULL");
	is_str(show_acme(db, "order", "a1"), "(none)",
	    "the id under another kind is another object");

	/* Creating over either key is refused, as a value. */
	snprintf(want, sizeof(want), "%d/%d", CA_REFUSED, DB_REFUSED_EXISTS);
	o = acme("account", "a1", NULL, "thumb-other", "valid");
	is_str(put_acme(db, &o, 1), want, "a second a1 is refused: exists");
	is_str(err_msg(), "ACME account a1 already exists", "says so");
	o = acme("account", "a2", NULL, "thumb-1", "valid");
	is_str(put_acme(db, &o, 1), want,
	    "another account with a1's lookup is refused: exists");
	is_str(err_msg(), "ACME account lookup thumb-1 is another's",
	    "says the lookup is taken");
	is_str(show_acme(db, "account", "a2"), "(none)", "nothing stored");
	is_str(show_acme(db, "account", "a1"),
	    "valid - thumb-1 0 {\"key\":{\"kty\":\"OKP\"},\"contact\":[]}",
	    "a1 as it was");
	snprintf(want, sizeof(want), "%d/%d", CA_OK, DB_REFUSED_NONE);
	o = acme("authz", "z1", "a1", "thumb-1", "pending");
	is_str(put_acme(db, &o, 1), want,
	    "the same lookup under another kind is another key");
	o = acme("account", "a2", NULL, "thumb-2", "valid");
	is_str(put_acme(db, &o, 1), want, "a2 with a lookup of its own");
	o = acme("account", "a3", NULL, NULL, "valid");
	is_str(put_acme(db, &o, 1), want, "a3 without a lookup");
	o = acme("account", "a4", NULL, NULL, "valid");
	is_str(put_acme(db, &o, 1), want,
	    "a4 without a lookup: NULL is no key");

	/* Updates. */
	o = acme("account", "a1", NULL, NULL, "deactivated");
	o.expires_at = 5;
	o.body = "{}";
	is_str(put_acme(db, &o, 0), want, "update a1");
	is_str(show_acme(db, "account", "a1"), "deactivated - - 5 {}",
	    "every column updated");
	r = (struct db_acme_row *)&o;
	is_int(db_acme_find(db, "account", "thumb-1", &r), CA_OK,
	    "find the released lookup");
	ok(r == NULL, "no longer found");
	o = acme("account", "a3", NULL, "thumb-1", "valid");
	is_str(put_acme(db, &o, 0), want,
	    "a released lookup may be taken by another");
	o = acme("account", "a2", NULL, "thumb-2", "deactivated");
	is_str(put_acme(db, &o, 0), want,
	    "an update keeping the row's own lookup");
	snprintf(want, sizeof(want), "%d/%d", CA_REFUSED, DB_REFUSED_EXISTS);
	o = acme("account", "a2", NULL, "thumb-1", "valid");
	is_str(put_acme(db, &o, 0), want,
	    "an update taking another row's lookup is refused: exists");
	is_str(err_msg(), "ACME account lookup thumb-1 is another's",
	    "says the lookup is taken");
	ok(has(show_acme(db, "account", "a2"), "deactivated - thumb-2 "),
	    "a2 unchanged: %s", show_acme(db, "account", "a2"));
	snprintf(want, sizeof(want), "%d/%d", CA_REFUSED,
	    DB_REFUSED_NOT_FOUND);
	o = acme("account", "a9", NULL, NULL, "valid");
	is_str(put_acme(db, &o, 0), want,
	    "an update of a missing id is refused: not found");
	is_str(err_msg(), "ACME account a9 not found", "says so");
	is_str(show_acme(db, "account", "a9"), "(none)", "nothing created");

	/* A refusal leaves the caller's transaction usable (PostgreSQL). */
	snprintf(want, sizeof(want), "%d/%d", CA_REFUSED, DB_REFUSED_EXISTS);
	is_int(db_begin(db), CA_OK, "begin");
	o = acme("account", "a1", NULL, NULL, "valid");
	is_str(put_acme(db, &o, 1), want, "a refused create inside it");
	o = acme("account", "a2", NULL, "thumb-1", "valid");
	is_str(put_acme(db, &o, 0), want, "a refused update inside it");
	o = acme("order", "tx-order", "a2", NULL, "pending");
	snprintf(want, sizeof(want), "%d/%d", CA_OK, DB_REFUSED_NONE);
	is_str(put_acme(db, &o, 1), want, "then a create that works");
	is_int(db_commit(db), CA_OK, "the transaction commits: %s",
	    err_msg());
	ok(has(show_acme(db, "order", "tx-order"), "pending a2 "),
	    "what it stored is there");
	is_int(db_begin(db), CA_OK, "begin");
	o = acme("order", "rolled-back", "a2", NULL, "pending");
	is_str(put_acme(db, &o, 1), want, "a create");
	db_rollback(db);
	is_str(show_acme(db, "order", "rolled-back"), "(none)",
	    "rolled back with its transaction");

	/* Lists: by owner, in id order (bytes), nothing of other kinds. */
	o = acme("order", "o3", "a1", NULL, "pending");
	is_str(put_acme(db, &o, 1), want, "order o3");
	o = acme("order", "B", "a1", NULL, "pending");
	is_str(put_acme(db, &o, 1), want, "order B");
	o = acme("order", "_", "a1", NULL, "pending");
	is_str(put_acme(db, &o, 1), want, "order _");
	o = acme("order", "o1", "a1", NULL, "valid");
	is_str(put_acme(db, &o, 1), want, "order o1");
	o = acme("order", "o9", "a3", NULL, "valid");
	is_str(put_acme(db, &o, 1), want, "order o9 of another account");
	o = acme("challenge", "c1", "a1", NULL, "pending");
	is_str(put_acme(db, &o, 1), want, "a challenge of a1");
	is_str(list_acme(db, "order", "a1", 0, &rc), "B,_,o1,o3",
	    "a1's orders, in byte order of their ids");
	is_int(rc, CA_OK, "listed");
	is_str(list_acme(db, "order", "a3", 0, &rc), "o9", "a3's orders");
	is_str(list_acme(db, "order", "a4", 0, &rc), "", "a4 has none");
	is_int(rc, CA_OK, "an empty list is no error");
	is_str(list_acme(db, "challenge", "a1", 0, &rc), "c1",
	    "a1's challenges");
	is_str(list_acme(db, "order", "a1", 2, &rc), "B,_",
	    "a callback that stops after two");
	is_int(rc, CA_REFUSED, "stops the list with its code");
	is_str(show_acme(db, "order", "o1"), "valid a1 - 1700000000 "
	    "{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.example\"}]}",
	    "the connection serves again after a stopped list");

	/* Arguments: refused before the database sees them. */
	snprintf(want, sizeof(want), "%d/%d", CA_INPUT, DB_REFUSED_NONE);
	bad = acme("accounts", "x1", NULL, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an unknown kind");
	is_str(err_msg(), "database: ACME kind \"accounts\" is none of "
	    "account, order, authz, challenge, eab", "names the kinds");
	bad = acme("", "x1", NULL, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an empty kind");
	bad = acme(NULL, "x1", NULL, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "no kind");
	bad = acme("order", "", NULL, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an empty id");
	bad = acme("order", NULL, NULL, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "no id");
	bad = acme("order", "x 1", NULL, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an id with a space");
	bad = acme("order", "x\n1", NULL, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an id with a newline");
	bad = acme("order", "x\xc3\xa9", NULL, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an id beyond ASCII");
	bad = acme("order", "x1", "", NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an empty account");
	bad = acme("order", "x1", "a 1", NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an account with a space");
	bad = acme("order", "x1", NULL, "", "valid");
	is_str(put_acme(db, &bad, 1), want, "an empty lookup");
	bad = acme("order", "x1", NULL, "a\tb", "valid");
	is_str(put_acme(db, &bad, 1), want, "a lookup with a tab");
	bad = acme("order", "x1", NULL, NULL, "");
	is_str(put_acme(db, &bad, 1), want, "an empty status");
	bad = acme("order", "x1", NULL, NULL, NULL);
	is_str(put_acme(db, &bad, 1), want, "no status");
	bad = acme("order", "x1", NULL, NULL, "Valid");
	is_str(put_acme(db, &bad, 1), want, "a status with a capital");
	bad = acme("order", "x1", NULL, NULL, "in-progress");
	is_str(put_acme(db, &bad, 1), want, "a status with a hyphen");
	bad = acme("order", "x1", NULL, NULL,
	    "abcdefghijklmnopqrstuvwxyzabcdefg");
	is_str(put_acme(db, &bad, 1), want, "a status of 33 letters");
	bad = acme("order", "x1", NULL, NULL, "valid");
	bad.expires_at = -1;
	is_str(put_acme(db, &bad, 1), want, "a negative expiry");
	bad.expires_at = 0;
	bad.body = NULL;
	is_str(put_acme(db, &bad, 1), want, "no body");
	bad.body = "";
	is_str(put_acme(db, &bad, 1), want, "an empty body");
	bad.body = "[]";
	is_str(put_acme(db, &bad, 1), want, "a body that is an array");
	is_str(err_msg(), "database: ACME body is not a JSON object",
	    "says so");
	bad.body = "\"x\"";
	is_str(put_acme(db, &bad, 1), want, "a body that is a string");
	bad.body = "{\"a\":1,\"a\":2}";
	is_str(put_acme(db, &bad, 1), want,
	    "a body with a duplicate member");
	bad.body = "{\"a\":1} {}";
	is_str(put_acme(db, &bad, 1), want, "a body with trailing text");
	bad.body = "{\"a\":";
	is_str(put_acme(db, &bad, 1), want, "a body cut short");
	is_int(db_acme_put(db, NULL, 1, NULL), CA_INPUT, "no object");
	is_str(list_acme(db, "order", "a1", 0, &rc), "B,_,o1,o3",
	    "nothing stored by any of them");

	/* Bounds, at the boundary. */
	memset(id, 'i', sizeof(id));
	id[DB_ACME_MAX_ID] = '\0';
	snprintf(want, sizeof(want), "%d/%d", CA_OK, DB_REFUSED_NONE);
	bad = acme("order", id, id, NULL, "abcdefghijklmnopqrstuvwxyzabcdef");
	is_str(put_acme(db, &bad, 1), want,
	    "an id and account of %d characters, a status of %d letters",
	    DB_ACME_MAX_ID, DB_ACME_MAX_STATUS);
	id[DB_ACME_MAX_ID] = 'i';
	id[DB_ACME_MAX_ID + 1] = '\0';
	snprintf(want, sizeof(want), "%d/%d", CA_INPUT, DB_REFUSED_NONE);
	bad = acme("order", id, NULL, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an id of %d characters",
	    DB_ACME_MAX_ID + 1);
	bad = acme("order", "x1", id, NULL, "valid");
	is_str(put_acme(db, &bad, 1), want, "an account of %d characters",
	    DB_ACME_MAX_ID + 1);
	memset(lookup, 'l', sizeof(lookup));
	lookup[DB_ACME_MAX_LOOKUP] = '\0';
	snprintf(want, sizeof(want), "%d/%d", CA_OK, DB_REFUSED_NONE);
	bad = acme("order", "x1", NULL, lookup, "valid");
	is_str(put_acme(db, &bad, 1), want, "a lookup of %d characters",
	    DB_ACME_MAX_LOOKUP);
	r = NULL;
	is_int(db_acme_find(db, "order", lookup, &r), CA_OK,
	    "found by it");
	ok(r != NULL && strcmp(r->o.id, "x1") == 0, "the right one");
	db_acme_row_free(r);
	lookup[DB_ACME_MAX_LOOKUP] = 'l';
	lookup[DB_ACME_MAX_LOOKUP + 1] = '\0';
	snprintf(want, sizeof(want), "%d/%d", CA_INPUT, DB_REFUSED_NONE);
	bad = acme("order", "x2", NULL, lookup, "valid");
	is_str(put_acme(db, &bad, 1), want, "a lookup of %d characters",
	    DB_ACME_MAX_LOOKUP + 1);
	r = (struct db_acme_row *)&o;
	is_int(db_acme_find(db, "order", lookup, &r), CA_INPUT,
	    "find by a lookup of %d characters", DB_ACME_MAX_LOOKUP + 1);
	ok(r == NULL, "no row on failure");
	if ((body = malloc(DB_ACME_MAX_BODY + 2)) == NULL)
		abort();
	memset(body, ' ', DB_ACME_MAX_BODY + 1);
	body[0] = '{';
	body[DB_ACME_MAX_BODY - 1] = '}';
	body[DB_ACME_MAX_BODY] = '\0';
	snprintf(want, sizeof(want), "%d/%d", CA_OK, DB_REFUSED_NONE);
	bad = acme("order", "big", NULL, NULL, "valid");
	bad.body = body;
	is_str(put_acme(db, &bad, 1), want, "a body of %d bytes",
	    DB_ACME_MAX_BODY);
	r = NULL;
	is_int(db_acme_get(db, "order", "big", &r), CA_OK, "read back");
	ok(r != NULL && strcmp(r->o.body, body) == 0, "whole");
	db_acme_row_free(r);
	body[DB_ACME_MAX_BODY - 1] = ' ';
	body[DB_ACME_MAX_BODY] = '}';
	body[DB_ACME_MAX_BODY + 1] = '\0';
	snprintf(want, sizeof(want), "%d/%d", CA_INPUT, DB_REFUSED_NONE);
	bad.id = "big2";
	is_str(put_acme(db, &bad, 1), want, "a body of %d bytes",
	    DB_ACME_MAX_BODY + 1);
	free(body);

	/* The readers check their arguments too. */
	r = (struct db_acme_row *)&o;
	is_int(db_acme_get(db, "orders", "o1", &r), CA_INPUT,
	    "get of an unknown kind");
	ok(r == NULL, "no row on failure");
	is_int(db_acme_get(db, "order", "o 1", &r), CA_INPUT,
	    "get of an id with a space");
	is_int(db_acme_get(db, "order", NULL, &r), CA_INPUT, "get of no id");
	is_int(db_acme_get(db, "order", "o1", NULL), CA_FAIL,
	    "get without a result pointer");
	is_int(db_acme_find(db, "order", "", &r), CA_INPUT,
	    "find of an empty lookup");
	is_str(list_acme(db, "challenge", NULL, 0, &rc), "c1",
	    "list of no account: every challenge");
	is_int(rc, CA_OK, "listed");
	is_str(list_acme(db, "order", NULL, 3, &rc), "B,_,big",
	    "list of no account: every order, in byte order of their ids");
	is_int(rc, CA_REFUSED, "stopped by the callback");
	is_str(list_acme(db, "order", "", 0, &rc), "", "list of an empty "
	    "account");
	is_int(rc, CA_INPUT, "refused");
	is_str(list_acme(db, "nonce", "a1", 0, &rc), "",
	    "list of an unknown kind");
	is_int(rc, CA_INPUT, "refused");
	is_int(db_acme_list(db, "order", "a1", NULL, NULL), CA_FAIL,
	    "list without a callback");
}

static void
test_nonces(struct db *db)
{
	char n[DB_NONCE_MAX + 2], name[32];
	int i, stored;

	is_int(db_nonce_put(db, "n-1_A", 0, 1000), CA_OK, "store a nonce");
	is_int(db_nonce_put(db, "n-1_A", 0, 1000), CA_FAIL,
	    "the same nonce again fails");
	ok(has(err_msg(), "nonce already stored"), "says so: %s", err_msg());
	is_int(db_nonce_use(db, "n-1_a", 1000), CA_REFUSED,
	    "a nonce differing in case is another");
	is_int(db_nonce_use(db, "n-1_A", 1000), CA_OK,
	    "spent in its last second");
	is_int(db_nonce_use(db, "n-1_A", 1000), CA_REFUSED,
	    "spent twice: refused");
	is_str(err_msg(), "nonce unknown, used or expired", "says so");
	is_int(db_nonce_put(db, "n-2", 0, 1000), CA_OK, "store another");
	is_int(db_nonce_use(db, "n-2", 1001), CA_REFUSED,
	    "a second after it expired: refused");
	is_int(db_nonce_use(db, "unknown", 10), CA_REFUSED,
	    "an unknown nonce: refused");
	/* Forgotten by the prune of a store at 1001: it may be stored again. */
	is_int(db_nonce_put(db, "n-2", 1001, 2000), CA_OK,
	    "an expired nonce was pruned by the next store");
	is_int(db_nonce_use(db, "n-2", 1500), CA_OK, "spent when stored anew");

	/* What no nonce can be: refused as unknown, stored never. */
	is_int(db_nonce_use(db, "a b", 10), CA_REFUSED, "a space");
	is_str(err_msg(), "nonce unknown, used or expired", "the same words");
	is_int(db_nonce_use(db, "a+b/c=", 10), CA_REFUSED,
	    "base64 with + / =");
	is_int(db_nonce_use(db, "", 10), CA_REFUSED, "an empty nonce");
	is_int(db_nonce_use(db, NULL, 10), CA_REFUSED, "no nonce");
	is_int(db_nonce_put(db, "a b", 0, 10), CA_INPUT, "stored with a space");
	is_int(db_nonce_put(db, "a=", 0, 10), CA_INPUT, "stored with padding");
	is_int(db_nonce_put(db, "", 0, 10), CA_INPUT, "stored empty");
	is_int(db_nonce_put(db, NULL, 0, 10), CA_INPUT, "stored as NULL");
	is_int(db_nonce_put(db, "fine", 0, 0), CA_INPUT,
	    "stored without an expiry");
	memset(n, 'N', sizeof(n));
	n[DB_NONCE_MAX] = '\0';
	is_int(db_nonce_put(db, n, 0, 10), CA_OK, "a nonce of %d characters",
	    DB_NONCE_MAX);
	is_int(db_nonce_use(db, n, 10), CA_OK, "spent");
	n[DB_NONCE_MAX] = 'N';
	n[DB_NONCE_MAX + 1] = '\0';
	is_int(db_nonce_put(db, n, 0, 10), CA_INPUT, "a nonce of %d characters",
	    DB_NONCE_MAX + 1);
	is_int(db_nonce_use(db, n, 10), CA_REFUSED, "spent: refused");

	/* A spend rolled back with its transaction did not happen. */
	is_int(db_nonce_put(db, "tx", 0, 5000), CA_OK, "store a nonce");
	is_int(db_begin(db), CA_OK, "begin");
	is_int(db_nonce_use(db, "tx", 10), CA_OK, "spend it inside");
	is_int(db_nonce_use(db, "tx", 10), CA_REFUSED,
	    "spent inside the transaction");
	db_rollback(db);
	is_int(db_nonce_use(db, "tx", 10), CA_OK,
	    "after the rollback it spends again");
	/* A refused spend leaves the caller's transaction usable. */
	is_int(db_nonce_put(db, "tx2", 0, 5000), CA_OK, "store a nonce");
	is_int(db_begin(db), CA_OK, "begin");
	is_int(db_nonce_use(db, "nosuch", 10), CA_REFUSED, "a refused spend");
	is_int(db_nonce_use(db, "tx2", 10), CA_OK, "then one that works");
	is_int(db_nonce_put(db, "tx3", 0, 5000), CA_OK, "and a store");
	is_int(db_commit(db), CA_OK, "the transaction commits: %s",
	    err_msg());
	is_int(db_nonce_use(db, "tx2", 10), CA_REFUSED, "its spend stands");
	is_int(db_nonce_use(db, "tx3", 10), CA_OK, "its store too");

	/* A store forgets at most DB_NONCE_PRUNE expired nonces. */
	for (i = 0, stored = 0; i < DB_NONCE_PRUNE + 50; i++) {
		snprintf(name, sizeof(name), "old-%d", i);
		stored += db_nonce_put(db, name, 0, 3000) == CA_OK;
	}
	is_int(stored, DB_NONCE_PRUNE + 50, "%d nonces expiring at 3000",
	    DB_NONCE_PRUNE + 50);
	is_int(db_nonce_use(db, "nosuch", 3001), CA_REFUSED,
	    "a refused spend at 3001 prunes nothing");
	for (i = 0, stored = 0; i < DB_NONCE_PRUNE + 50; i++) {
		snprintf(name, sizeof(name), "old-%d", i);
		stored += db_nonce_put(db, name, 0, 3000) == CA_OK;
	}
	is_int(stored, 0, "every one still stored");
	is_int(db_nonce_put(db, "fresh", 3001, 9000), CA_OK,
	    "a store at 3001");
	for (i = 0, stored = 0; i < DB_NONCE_PRUNE + 50; i++) {
		snprintf(name, sizeof(name), "old-%d", i);
		stored += db_nonce_put(db, name, 0, 3000) == CA_OK;
	}
	is_int(stored, DB_NONCE_PRUNE, "pruned %d of them, no more",
	    DB_NONCE_PRUNE);
	is_int(db_nonce_put(db, "fresh2", 2999, 9000), CA_OK,
	    "a store at 2999");
	for (i = 0, stored = 0; i < DB_NONCE_PRUNE + 50; i++) {
		snprintf(name, sizeof(name), "old-%d", i);
		stored += db_nonce_use(db, name, 3000) == CA_OK;
	}
	is_int(stored, DB_NONCE_PRUNE + 50,
	    "prunes none that has not expired: all spent at 3000");
}

/* Spend the nonce arg, connected before the gate opens. */
static int
racer_nonce(const void *arg, int i, int gate)
{
	struct db *db;
	int rc;

	if ((rc = topen(acme_type, acme_source, 0, &db)) != CA_OK)
		return rc;
	gate_wait(gate);
	rc = db_nonce_use(db, arg, 100);
	db_close(db);
	return rc;
}

/*
 * Create an account whose lookup is arg, one every racer wants, connected
 * before the gate opens; 9 for a refusal that is not DB_REFUSED_EXISTS.
 */
static int
racer_account(const void *arg, int i, int gate)
{
	struct db *db;
	struct db_acme o;
	enum db_refusal why = DB_REFUSED_NONE;
	char id[32];
	int rc;

	if ((rc = topen(acme_type, acme_source, 0, &db)) != CA_OK)
		return rc;
	gate_wait(gate);
	snprintf(id, sizeof(id), "racer-%d", i);
	o = acme("account", id, NULL, arg, "valid");
	if ((rc = db_acme_put(db, &o, 1, &why)) == CA_REFUSED &&
	    why != DB_REFUSED_EXISTS)
		rc = 9;
	db_close(db);
	return rc;
}

/*
 * Create an account and bind the EAB key arg to it in one transaction,
 * as ca-acme does, connected before the gate opens.
 */
static int
racer_eab(const void *arg, int i, int gate)
{
	struct db *db;
	struct db_acme o;
	enum db_refusal why = DB_REFUSED_NONE;
	char id[32];
	int rc;

	if ((rc = topen(acme_type, acme_source, 0, &db)) != CA_OK)
		return rc;
	gate_wait(gate);
	snprintf(id, sizeof(id), "eab-racer-%d", i);
	o = acme("account", id, NULL, id, "valid");
	if ((rc = db_begin(db)) == CA_OK &&
	    (rc = db_acme_put(db, &o, 1, &why)) == CA_OK &&
	    (rc = acme_eab_bind(db, "acme", arg, id, 100)) == CA_OK)
		rc = db_commit(db);
	else
		db_rollback(db);
	db_close(db);
	return rc;
}

/* lib/acmeeab: keys made, listed, read, bound and removed. */
static void
test_eab_keys(struct db *db)
{
	struct db_acme_row *r = NULL;
	json_t *k1 = NULL, *k2 = NULL, *l = NULL, *e;
	const char *kid1, *kid2, *mac;
	char big[ACME_EAB_MAX_REFERENCE + 2], *txt;
	struct buf d, key;
	size_t i;

	is_int(acme_eab_add(db, "acme", "ops team", 10, &k1), CA_OK,
	    "eab: add a key with a reference");
	is_int(acme_eab_add(db, "acme", NULL, 11, &k2), CA_OK,
	    "eab: add a key without one");
	if (k1 == NULL || k2 == NULL)
		return;
	kid1 = json_string_value(json_object_get(k1, "keyID"));
	kid2 = json_string_value(json_object_get(k2, "keyID"));
	mac = json_string_value(json_object_get(k1, "hmacKey"));
	ok(kid1 != NULL && strlen(kid1) == 22, "eab: a key ID of 16 bytes");
	ok(kid2 != NULL && strcmp(kid1, kid2) != 0, "eab: key IDs differ");
	ok(mac != NULL && b64url_decode(mac, strlen(mac), &d) == CA_OK &&
	    d.len == ACME_EAB_KEY_BYTES, "eab: a MAC key of 256 bits");
	ok(strcmp(mac, json_string_value(json_object_get(k2, "hmacKey"))) !=
	    0, "eab: MAC keys differ");
	is_str(json_string_value(json_object_get(k1, "reference")), "ops team",
	    "eab: the reference is shown");
	is_str(json_string_value(json_object_get(k1, "provisioner")), "acme",
	    "eab: the provisioner is shown");
	ok(json_object_get(k2, "reference") == NULL, "eab: no reference, "
	    "none shown");

	/* References: bounded text. */
	e = NULL;
	is_int(acme_eab_add(db, "acme", "", 12, &e), CA_INPUT,
	    "eab: an empty reference refused");
	is_int(acme_eab_add(db, "acme", "a\nb", 12, &e), CA_INPUT,
	    "eab: a reference with a newline refused");
	is_int(acme_eab_add(db, "acme", "\xff\xfe", 12, &e), CA_INPUT,
	    "eab: a reference that is not UTF-8 refused");
	memset(big, 'r', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	is_int(acme_eab_add(db, "acme", big, 12, &e), CA_INPUT,
	    "eab: a reference over the limit refused");
	big[sizeof(big) - 2] = '\0';
	is_int(acme_eab_add(db, "acme", big, 12, &e), CA_OK,
	    "eab: a reference at the limit taken");
	json_decref(e);

	/* The MAC key, for its provisioner only. */
	is_int(acme_eab_key(db, "acme", kid1, &key), CA_OK, "eab: read the "
	    "MAC key");
	ok(key.len == d.len && memcmp(key.data, d.data, d.len) == 0,
	    "eab: the MAC key handed out");
	buf_free(&key);
	buf_free(&d);
	is_int(acme_eab_key(db, "other", kid1, &key), CA_REFUSED,
	    "eab: another provisioner's key is unknown");
	is_str(err_msg(), "acme eab: unknown key ID", "eab: said so");
	is_int(acme_eab_key(db, "acme", "nosuchkey", &key), CA_REFUSED,
	    "eab: an unknown key ID");
	is_int(acme_eab_key(db, "acme", "a b", &key), CA_REFUSED,
	    "eab: a key ID no key can have");
	ok(key.data == NULL && key.len == 0, "eab: no key on refusal");

	/* Bound: once, its MAC key erased. */
	is_int(acme_eab_bind(db, "other", kid1, "acct-e1", 20), CA_REFUSED,
	    "eab: not bound through another provisioner");
	is_int(acme_eab_bind(db, "acme", kid1, "acct-e1", 20), CA_OK,
	    "eab: bind to an account");
	is_str(show_acme(db, "eab", kid1), "bound acct-e1 - 0 "
	    "{\"provisioner\":\"acme\",\"createdAt\":10,"
	    "\"reference\":\"ops team\",\"boundAt\":20}",
	    "eab: bound, its account set, no MAC key kept");
	is_int(acme_eab_bind(db, "acme", kid1, "acct-e2", 21), CA_REFUSED,
	    "eab: bound twice refused");
	is_str(err_msg(), "acme eab: the key is bound to another account "
	    "already", "eab: said so");
	is_int(acme_eab_key(db, "acme", kid1, &key), CA_REFUSED,
	    "eab: a bound key's MAC key is not read");

	/* Listed without MAC keys. */
	is_int(acme_eab_list(db, "acme", &l), CA_OK, "eab: list");
	is_int((int)json_array_size(l), 3, "eab: three keys of acme");
	txt = json_dumps(l, JSON_COMPACT);
	ok(txt != NULL && strstr(txt, "hmacKey") == NULL &&
	    strstr(txt, mac) == NULL, "eab: no MAC key listed");
	free(txt);
	json_array_foreach(l, i, e)
		if (strcmp(json_string_value(json_object_get(e, "keyID")),
		    kid1) == 0) {
			is_str(json_string_value(json_object_get(e, "status")),
			    "bound", "eab: listed bound");
			is_str(json_string_value(json_object_get(e, "account")),
			    "acct-e1", "eab: with its account");
			ok(json_is_string(json_object_get(e, "boundAt")),
			    "eab: and when");
		}
	json_decref(l);
	is_int(acme_eab_list(db, "other", &l), CA_OK, "eab: list another");
	is_int((int)json_array_size(l), 0, "eab: it has none");
	json_decref(l);

	/* Removed: a record without a secret. */
	is_int(acme_eab_remove(db, kid2, 30, &e), CA_OK, "eab: remove");
	is_str(json_string_value(json_object_get(e, "status")), "removed",
	    "eab: shown removed");
	json_decref(e);
	is_str(show_acme(db, "eab", kid2), "removed - - 0 "
	    "{\"provisioner\":\"acme\",\"createdAt\":11,"
	    "\"removedAt\":30}", "eab: removed, no MAC key kept");
	is_int(acme_eab_remove(db, kid2, 31, &e), CA_REFUSED,
	    "eab: removed twice refused");
	is_int(acme_eab_remove(db, "nosuchkey", 31, &e), CA_REFUSED,
	    "eab: remove an unknown key refused");
	is_int(acme_eab_remove(db, "a b", 31, &e), CA_INPUT,
	    "eab: remove of no key ID refused");
	is_int(acme_eab_key(db, "acme", kid2, &key), CA_REFUSED,
	    "eab: a removed key's MAC key is not read");
	is_str(err_msg(), "acme eab: the key was removed", "eab: said so");
	is_int(acme_eab_bind(db, "acme", kid2, "acct-e3", 32), CA_REFUSED,
	    "eab: a removed key is not bound");
	is_int(acme_eab_remove(db, kid1, 33, &e), CA_OK,
	    "eab: remove a bound key");
	json_decref(e);
	is_int(db_acme_get(db, "eab", kid1, &r), CA_OK, "eab: read it");
	ok(r != NULL && r->o.account != NULL &&
	    strcmp(r->o.account, "acct-e1") == 0, "eab: its account kept");
	db_acme_row_free(r);
	json_decref(k1);
	json_decref(k2);
}

/* NCHILD accounts bound at once with one EAB key: exactly one is. */
static void
eab_race(void)
{
	struct db *db = NULL;
	struct db_acme_row *r = NULL;
	char kid[160];
	json_t *k = NULL;
	int won, lost, other, n;

	if (topen(acme_type, acme_source, 0, &db) != CA_OK ||
	    acme_eab_add(db, "acme", "race", 50, &k) != CA_OK) {
		ok(0, "eab key for the race: %s", err_msg());
		db_close(db);
		return;
	}
	snprintf(kid, sizeof(kid), "%s",
	    json_string_value(json_object_get(k, "keyID")));
	json_decref(k);
	db_close(db);
	race(racer_eab, kid, &won, &lost, &other);
	is_int(won, 1, "exactly one of %d processes bound an account with "
	    "one EAB key", NCHILD);
	is_int(lost, NCHILD - 1, "the others were refused: bound already");
	is_int(other, 0, "none was busy or failed");
	if (topen(acme_type, acme_source, 0, &db) != CA_OK) {
		ok(0, "reopen: %s", err_msg());
		return;
	}
	is_int(db_acme_get(db, "eab", kid, &r), CA_OK, "read the key");
	ok(r != NULL && strcmp(r->o.status, "bound") == 0 &&
	    r->o.account != NULL && strncmp(r->o.account, "eab-racer-", 10) ==
	    0, "the key is bound to one racer");
	/* The losers' accounts were rolled back with their bindings. */
	for (n = 0; n < NCHILD; n++) {
		struct db_acme_row *a = NULL;
		char id[32];

		snprintf(id, sizeof(id), "eab-racer-%d", n);
		if (db_acme_get(db, "account", id, &a) == CA_OK && a != NULL &&
		    (r == NULL || r->o.account == NULL ||
		    strcmp(r->o.account, id) != 0))
			ok(0, "account %s of a loser stayed", id);
		db_acme_row_free(a);
	}
	db_acme_row_free(r);
	db_close(db);
}

static void
test_acme_races(void)
{
	struct db *db = NULL;
	struct db_acme_row *r = NULL;
	char nonce[32];
	int round, won, lost, other;

	for (round = 0; round < 3; round++) {
		snprintf(nonce, sizeof(nonce), "nrace%d", round);
		if (topen(acme_type, acme_source, 0, &db) != CA_OK ||
		    db_nonce_put(db, nonce, 0, 200) != CA_OK) {
			ok(0, "store %s: %s", nonce, err_msg());
			db_close(db);
			return;
		}
		/* No connection of the parent's crosses the fork. */
		db_close(db);
		db = NULL;
		race(racer_nonce, nonce, &won, &lost, &other);
		is_int(won, 1, "round %d: exactly one of %d processes spent "
		    "the nonce", round + 1, NCHILD);
		is_int(lost, NCHILD - 1, "the others were refused");
		is_int(other, 0, "none was busy or failed");
	}
	eab_race();
	race(racer_account, "same-thumbprint", &won, &lost, &other);
	is_int(won, 1, "exactly one of %d processes created an account "
	    "with the same lookup", NCHILD);
	is_int(lost, NCHILD - 1, "the others were refused: exists");
	is_int(other, 0, "none was busy or failed");
	if (topen(acme_type, acme_source, 0, &db) != CA_OK) {
		ok(0, "reopen: %s", err_msg());
		return;
	}
	is_int(db_acme_find(db, "account", "same-thumbprint", &r), CA_OK,
	    "find the winner");
	ok(r != NULL && strncmp(r->o.id, "racer-", 6) == 0,
	    "one account holds the lookup");
	db_acme_row_free(r);
	db_close(db);
}

/* The ACME tests on acme_type/acme_source, a database without a schema. */
static void
test_acme(void)
{
	struct db *db = NULL;

	if (topen(acme_type, acme_source, 1, &db) != CA_OK) {
		ok(0, "open %s: %s", acme_type, err_msg());
		return;
	}
	test_acme_objects(db);
	test_nonces(db);
	test_eab_keys(db);
	db_close(db);
	test_acme_races();
}

int
main(int argc, char **argv)
{
	struct db *db = NULL;
	const char *t;

	err_prog("test_db");
	if (argc > 1) {
		if (argc != 4 || strcmp(argv[1], "--db") != 0) {
			fprintf(stderr, "usage: test_db [--db TYPE SOURCE]\n");
			return 2;
		}
		acme_type = argv[2];
		acme_source = argv[3];
		test_acme();
		return tap_done();
	}
	t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_db.XXXXXX",
	    t != NULL && *t != '\0' ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}

	test_open();
	test_open_refusals();
	if (topen("sqlite", path("data.db"), 1, &db) == CA_OK) {
		test_tokens(db);
		test_certs(db);
		db_close(db);
	} else
		ok(0, "open data.db: %s", err_msg());
	test_transactions();
	test_wal_bound();
	test_concurrency();
	test_busy_schedule();
	test_busy();
	acme_type = "sqlite";
	acme_source = path("acme.db");
	test_acme();

	nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	paths_free();
	return tap_done();
}
