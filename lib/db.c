/*
 * db: the backend-neutral front.  Chooses a backend by type, runs schema
 * migrations, and checks every argument once so that each backend only
 * translates to its SQL.  Backends are in db_<type>.c (see db.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db.h"
#include "jsonerr.h"
#include "err.h"
#include "ca_limits.h"
#include "timeutil.h"

struct db {
	const struct db_ops	*ops;
	void			*conn;	/* the backend's; ops->close frees */
};

/* Backends built into this program. */
static const struct db_ops *const backends[] = {
	&db_sqlite_ops,
	&db_pg_ops,
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* A SAN list is at most CA_MAX_SANS strings; allow for JSON escaping. */
#define SANS_JSON_MAX	(CA_MAX_SANS * (6 * (CA_MAX_SAN_LEN + 8) + 4) + 2)

static const char *const san_types[] = { "dns:", "ip:", "email:", "uri:" };

static int
check_db(const struct db *db)
{
	if (db == NULL || db->ops == NULL || db->conn == NULL)
		return err_set(CA_FAIL, "database not open");
	return CA_OK;
}

/* Canonical decimal serial: 1..DB_MAX_SERIAL digits, no leading zero. */
static int
check_serial(const char *s, const char *what)
{
	size_t i, n;

	if (s == NULL || (n = strlen(s)) == 0)
		return err_set(CA_INPUT, "database: missing %s", what);
	if (n > DB_MAX_SERIAL)
		return err_set(CA_INPUT, "database: %s longer than %d digits",
		    what, DB_MAX_SERIAL);
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return err_set(CA_INPUT,
			    "database: %s \"%.60s\" is not a decimal number",
			    what, s);
	if (s[0] == '0')
		return err_set(CA_INPUT,
		    "database: %s \"%.60s\" has a leading zero or is zero",
		    what, s);
	return CA_OK;
}

static int
check_text(const char *s, int empty_ok, const char *what)
{
	if (s == NULL || (!empty_ok && *s == '\0'))
		return err_set(CA_INPUT, "database: missing %s", what);
	return CA_OK;
}

/* sans_json must be a JSON array of "type:value" strings (see db.h). */
static int
check_sans(const char *sans)
{
	json_error_t e;
	char why[JSONERR_LEN];
	json_t *a, *v;
	const char *s;
	size_t i, j, n, len;
	int rc = CA_OK;

	if (sans == NULL)
		return err_set(CA_INPUT, "database: missing SAN list");
	if ((len = strlen(sans)) > SANS_JSON_MAX)
		return err_set(CA_INPUT, "database: SAN list too long");
	if ((a = json_loadb(sans, len, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return err_set(CA_INPUT, "database: SAN list: %s",
		    jsonerr_text(&e, why, sizeof(why)));
	if (!json_is_array(a)) {
		json_decref(a);
		return err_set(CA_INPUT, "database: SAN list is not an array");
	}
	if (json_array_size(a) > CA_MAX_SANS) {
		json_decref(a);
		return err_set(CA_INPUT, "database: more than %d SANs",
		    CA_MAX_SANS);
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			rc = err_set(CA_INPUT,
			    "database: SAN %zu is not a string", i);
			break;
		}
		s = json_string_value(v);
		/* An embedded NUL would make the stored text lie. */
		if (strlen(s) != json_string_length(v)) {
			rc = err_set(CA_INPUT, "database: NUL in SAN %zu", i);
			break;
		}
		for (j = 0; j < NELEM(san_types); j++) {
			n = strlen(san_types[j]);
			if (strncmp(s, san_types[j], n) == 0)
				break;
		}
		if (j == NELEM(san_types) || s[n] == '\0' ||
		    strlen(s + n) > CA_MAX_SAN_LEN) {
			rc = err_set(CA_INPUT,
			    "database: SAN %zu \"%.60s\" is not type:value "
			    "(dns, ip, email, uri)", i, s);
			break;
		}
	}
	json_decref(a);
	return rc;
}

/* RFC 5280 5.3.1: a CRLReason is 0..10; 7 is not assigned. */
static int
reason_ok(int code)
{
	return code >= 0 && code <= 10 && code != 7;
}

static int
check_cert(const struct db_cert *c)
{
	int rc;

	if (c == NULL)
		return err_set(CA_INPUT, "database: missing certificate");
	if ((rc = check_serial(c->serial, "serial")) != CA_OK ||
	    (rc = check_text(c->subject, 1, "subject")) != CA_OK ||
	    (rc = check_text(c->provisioner, 0, "provisioner")) != CA_OK ||
	    (rc = check_sans(c->sans_json)) != CA_OK)
		return rc;
	if (c->renewed_from != NULL) {
		if ((rc = check_serial(c->renewed_from, "renewed-from serial"))
		    != CA_OK)
			return rc;
		if (strcmp(c->renewed_from, c->serial) == 0)
			return err_set(CA_INPUT,
			    "database: certificate %s renews itself",
			    c->serial);
	}
	if (c->not_before > c->not_after)
		return err_set(CA_INPUT,
		    "database: certificate %s: not_before after not_after",
		    c->serial);
	if (c->der == NULL || c->der_len == 0)
		return err_set(CA_INPUT, "database: certificate %s: no DER",
		    c->serial);
	if (c->der_len > CA_MAX_PEM)
		return err_set(CA_INPUT,
		    "database: certificate %s: DER exceeds %d bytes",
		    c->serial, CA_MAX_PEM);
	return CA_OK;
}

/* ca.json's db.busyTimeout as milliseconds. */
static int
busy_timeout(const json_t *conf, int *ms)
{
	const json_t *j = json_object_get(conf, "busyTimeout");
	int64_t secs;

	*ms = DB_BUSY_TIMEOUT_MS;
	if (j == NULL)
		return CA_OK;
	if (!json_is_string(j) ||
	    time_parse_duration(json_string_value(j), &secs) != CA_OK ||
	    secs < 0)
		return err_set(CA_FAIL, "ca.json: db.busyTimeout: a duration "
		    "like \"5s\"");
	if (secs * 1000 > DB_BUSY_TIMEOUT_MAX_MS)
		return err_set(CA_FAIL, "ca.json: db.busyTimeout: at most %ds",
		    DB_BUSY_TIMEOUT_MAX_MS / 1000);
	*ms = (int)secs * 1000;
	return CA_OK;
}

int
db_open(const char *home, const json_t *conf, enum db_mode mode,
    struct db **out)
{
	const struct db_ops *ops = NULL;
	const char *type, *source;
	struct db *db;
	size_t i;
	int rc, ms, ver = 0;

	if (out == NULL)
		return err_set(CA_FAIL, "database: no result pointer");
	*out = NULL;
	/* Its members were checked with the rest of ca.json (confcheck). */
	if (!json_is_object(conf))
		return err_set(CA_FAIL, "ca.json: db: must be an object");
	type = json_string_value(json_object_get(conf, "type"));
	source = json_string_value(json_object_get(conf, "dataSource"));
	if (type == NULL || *type == '\0' || source == NULL ||
	    *source == '\0')
		return err_set(CA_FAIL, "ca.json: db.type and db.dataSource are "
		    "required");
	if ((rc = busy_timeout(conf, &ms)) != CA_OK)
		return rc;
	for (i = 0; i < NELEM(backends); i++)
		if (strcmp(type, backends[i]->type) == 0)
			ops = backends[i];
	if (ops == NULL)
		return err_set(CA_FAIL, "unknown database type \"%.60s\"",
		    type);

	if ((db = calloc(1, sizeof(*db))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	db->ops = ops;
	if ((rc = ops->open(home, source, mode, &db->conn)) != CA_OK) {
		free(db);
		return rc;
	}
	if (ms != DB_BUSY_TIMEOUT_MS)
		rc = ops->set_busy_timeout(db->conn, ms);

	/*
	 * Most opens find the current schema: check that without taking the
	 * write lock, so readers do not queue behind writers.  Otherwise
	 * migrate under the write lock, reading the version again there:
	 * another process may have migrated in between.  Only DB_CREATE
	 * starts from nothing; DB_WRITE migrates only a database that one
	 * host owns (db.h).
	 */
	if (rc == CA_OK)
		rc = ops->schema_version(db->conn, &ver);
	if (rc == CA_OK && mode == DB_INIT && ver > 0)
		rc = err_set(CA_FAIL, "database %s already holds a CA schema "
		    "(version %d): a new CA starts with an empty database; "
		    "give another one, or keep that database's CA (nothing "
		    "was changed)", ops->name(db->conn), ver);
	if (rc == CA_OK && mode == DB_INIT)
		mode = DB_CREATE;
	if (rc == CA_OK && ver < DB_SCHEMA_VERSION && ver > 0 &&
	    mode == DB_WRITE && !ops->migrate_on_write)
		rc = err_set(CA_FAIL, "database %s has schema version %d, "
		    "older than this program's %d: migrate it once with "
		    "ca-init --migrate (nothing was changed)",
		    ops->name(db->conn), ver, DB_SCHEMA_VERSION);
	if (rc == CA_OK && ver < DB_SCHEMA_VERSION &&
	    (mode == DB_CREATE || (ver > 0 && (mode == DB_MIGRATE ||
	    (mode == DB_WRITE && ops->migrate_on_write))))) {
		if ((rc = ops->begin(db->conn)) == CA_OK)
			rc = ops->schema_version(db->conn, &ver);
		for (; rc == CA_OK && ver < DB_SCHEMA_VERSION; ver++)
			if ((rc = ops->exec_step(db->conn, ops->steps[ver])) !=
			    CA_OK)
				err_prefix("migrating schema to version %d",
				    ver + 1);
		/* A step that forgot to record its version must not pass. */
		if (rc == CA_OK)
			rc = ops->schema_version(db->conn, &ver);
		if (rc == CA_OK && ver < DB_SCHEMA_VERSION)
			rc = err_set(CA_FAIL, "database schema migration "
			    "ended at version %d, not %d", ver,
			    DB_SCHEMA_VERSION);
		if (rc == CA_OK && ver == DB_SCHEMA_VERSION)
			rc = ops->commit(db->conn);
		else
			ops->rollback(db->conn);
	}
	if (rc == CA_OK && ver == 0)
		rc = err_set(CA_FAIL, "database %s has no CA schema: it is "
		    "empty or was replaced, and only ca-init creates one "
		    "(nothing was changed)", ops->name(db->conn));
	if (rc == CA_OK && ver > DB_SCHEMA_VERSION)
		rc = err_set(CA_FAIL, "database schema version %d is newer "
		    "than this program (%d)", ver, DB_SCHEMA_VERSION);
	if (rc != CA_OK) {
		ops->close(db->conn);
		free(db);
		return rc;
	}
	*out = db;
	return CA_OK;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	if (db->ops != NULL && db->conn != NULL)
		db->ops->close(db->conn);
	free(db);
}

int
db_set_busy_timeout(struct db *db, int ms)
{
	int rc;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	if (ms < 0 || ms > DB_BUSY_TIMEOUT_MAX_MS)
		return err_set(CA_INPUT, "database: busy timeout %d ms out of "
		    "range", ms);
	return db->ops->set_busy_timeout(db->conn, ms);
}

int
db_begin(struct db *db)
{
	int rc;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	return db->ops->begin(db->conn);
}

int
db_commit(struct db *db)
{
	int rc;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	return db->ops->commit(db->conn);
}

/* Called on error paths: must not replace the recorded message. */
void
db_rollback(struct db *db)
{
	if (db != NULL && db->ops != NULL && db->conn != NULL)
		db->ops->rollback(db->conn);
}

int
db_savepoint(struct db *db)
{
	int rc;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	return db->ops->savepoint(db->conn);
}

int
db_release(struct db *db)
{
	int rc;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	return db->ops->release(db->conn);
}

/* Called on error paths: must not replace the recorded message. */
void
db_rollback_to(struct db *db)
{
	if (db != NULL && db->ops != NULL && db->conn != NULL)
		db->ops->rollback_to(db->conn);
}

int
db_use_token(struct db *db, const struct db_token *t)
{
	int rc;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	if (t == NULL)
		return err_set(CA_INPUT, "database: missing token");
	if ((rc = check_text(t->provisioner, 0, "token provisioner")) != CA_OK ||
	    (rc = check_text(t->jti, 0, "token id")) != CA_OK)
		return rc;
	if (t->expires_at < t->now || t->issued_at > t->expires_at)
		return err_set(CA_INPUT, "database: token times out of order");
	return db->ops->use_token(db->conn, t, DB_TOKEN_RETENTION);
}

/*
 * db_use_token()'s rules on the token clock, for the backends' spend
 * (read inside the write, before pruning): the same messages and codes
 * whatever the backend.
 */
int
db_token_clock_check(const struct db_token *t, int64_t pruned,
    int64_t minted_after)
{
	char a[32], b[32];

	if (t->now < pruned) {
		time_fmt(t->now, a, sizeof(a));
		time_fmt(pruned, b, sizeof(b));
		return err_set(CA_FAIL, "clock: this host's clock (%s) is "
		    "before %s, up to which a clock further ahead had the "
		    "database forget spent tokens: refusing to spend a "
		    "token (nothing was changed); set the clock right, or "
		    "see docs/SECURITY.md to reset", a, b);
	}
	/*
	 * Times are whole seconds: a token of the reset's own second may have
	 * been minted before it, so it is refused too.
	 */
	if (minted_after > 0 && t->issued_at <= minted_after) {
		time_fmt(minted_after, a, sizeof(a));
		return err_set(CA_REFUSED, "token rejected: issued before the "
		    "token clock was reset at %s", a);
	}
	return CA_OK;
}

int
db_put_cert(struct db *db, const struct db_cert *cert)
{
	int rc;

	if ((rc = check_db(db)) != CA_OK || (rc = check_cert(cert)) != CA_OK)
		return rc;
	return db->ops->put_cert(db->conn, cert);
}

int
db_revoke(struct db *db, const struct db_revocation *rev,
    enum db_refusal *why)
{
	enum db_refusal ignored;
	int rc;

	if (why == NULL)
		why = &ignored;
	*why = DB_REFUSED_NONE;
	if ((rc = check_db(db)) != CA_OK)
		return rc;
	if (rev == NULL)
		return err_set(CA_INPUT, "database: missing revocation");
	if ((rc = check_serial(rev->serial, "serial")) != CA_OK ||
	    (rc = check_text(rev->method, 0, "revocation method")) != CA_OK)
		return rc;
	if (!reason_ok(rev->reason_code))
		return err_set(CA_INPUT, "database: invalid reason code %d",
		    rev->reason_code);
	return db->ops->revoke(db->conn, rev, why);
}

int
db_is_revoked(struct db *db, const char *serial, int *revoked)
{
	int rc;

	if (revoked != NULL)
		*revoked = 0;
	if ((rc = check_db(db)) != CA_OK ||
	    (rc = check_serial(serial, "serial")) != CA_OK)
		return rc;
	if (revoked == NULL)
		return err_set(CA_FAIL, "database: no result pointer");
	return db->ops->is_revoked(db->conn, serial, revoked);
}

/*
 * The caller's callback behind a check of what the backend read: a
 * stored reason code no revocation could have written is a damaged row,
 * whatever the backend.
 */
struct checked {
	union {
		db_row_fn	row;
		db_crl_entry_fn	entry;
	} fn;
	void	*arg;
};

static int
checked_row(const struct db_row *r, void *arg)
{
	const struct checked *c = arg;

	if (r->revoked && !reason_ok(r->rev.reason_code))
		return err_set(CA_FAIL, "database list certificates: "
		    "unreadable row");
	return c->fn.row(r, c->arg);
}

static int
checked_entry(const struct db_crl_entry *e, void *arg)
{
	const struct checked *c = arg;

	if (!reason_ok(e->reason_code))
		return err_set(CA_FAIL, "database list revoked certificates: "
		    "unreadable row");
	return c->fn.entry(e, c->arg);
}

int
db_list_certs(struct db *db, const struct db_filter *f, db_row_fn fn,
    void *arg)
{
	struct checked c;
	int rc;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	if (f == NULL || fn == NULL)
		return err_set(CA_FAIL, "database: missing filter or callback");
	switch (f->select) {
	case DB_SELECT_ALL:
	case DB_SELECT_REVOKED:
	case DB_SELECT_EXPIRING:
		break;
	case DB_SELECT_SERIAL:
	case DB_SELECT_RENEWALS:
		if ((rc = check_serial(f->serial, "serial")) != CA_OK)
			return rc;
		break;
	default:
		return err_set(CA_FAIL, "database: unknown selection %d",
		    (int)f->select);
	}
	c.fn.row = fn;
	c.arg = arg;
	return db->ops->list_certs(db->conn, f, checked_row, &c);
}

/* Append s (may be NULL) at *p, return where it landed. */
static const char *
put_str(char **p, const char *s)
{
	char *d = *p;
	size_t n;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	memcpy(d, s, n);
	*p += n;
	return d;
}

static size_t
str_size(const char *s)
{
	return s == NULL ? 0 : strlen(s) + 1;
}

/*
 * db_get_cert()'s callback: copy the row into one allocation laid out as
 * struct, DER bytes, strings, so a single free() releases it.
 */
static int
copy_row(const struct db_row *r, void *arg)
{
	struct db_row **out = arg, *c;
	const struct db_cert *s = &r->cert;
	unsigned char *der;
	char *p;
	size_t n;

	if (*out != NULL)
		return err_set(CA_FAIL, "database: serial %s stored twice",
		    s->serial);
	n = sizeof(*c) + s->der_len + str_size(s->serial) +
	    str_size(s->subject) + str_size(s->sans_json) +
	    str_size(s->provisioner) + str_size(s->renewed_from);
	if (r->revoked)
		n += str_size(r->rev.reason) + str_size(r->rev.method);
	if ((c = calloc(1, n)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	*c = *r;
	der = (unsigned char *)(c + 1);
	if (s->der_len > 0)
		memcpy(der, s->der, s->der_len);
	c->cert.der = s->der_len > 0 ? der : NULL;
	p = (char *)der + s->der_len;
	c->cert.serial = put_str(&p, s->serial);
	c->cert.subject = put_str(&p, s->subject);
	c->cert.sans_json = put_str(&p, s->sans_json);
	c->cert.provisioner = put_str(&p, s->provisioner);
	c->cert.renewed_from = put_str(&p, s->renewed_from);
	if (r->revoked) {
		c->rev.serial = c->cert.serial;
		c->rev.reason = put_str(&p, r->rev.reason);
		c->rev.method = put_str(&p, r->rev.method);
	} else
		memset(&c->rev, 0, sizeof(c->rev));
	*out = c;
	return CA_OK;
}

int
db_get_cert(struct db *db, const char *serial, struct db_row **out)
{
	struct db_filter f;
	int rc;

	if (out == NULL)
		return err_set(CA_FAIL, "database: no result pointer");
	*out = NULL;
	memset(&f, 0, sizeof(f));
	f.select = DB_SELECT_SERIAL;
	f.serial = serial;
	if ((rc = db_list_certs(db, &f, copy_row, out)) != CA_OK) {
		db_row_free(*out);
		*out = NULL;
	}
	return rc;
}

void
db_row_free(struct db_row *row)
{
	free(row);
}

/*
 * What db_copy() moves, in an order the foreign keys accept: the
 * certificates first without renewed_from, which a second pass sets once
 * every certificate is there (a renewal may sort before what it renews).
 * A new schema version adds its tables and columns here.
 */
static const struct db_table copied[] = {
	{ "certs", "serial, issued_at, not_before, not_after, subject, sans, "
	    "provisioner, der", "TIIITTTB", NULL, 0 },
	{ "certs", "serial, renewed_from", "TT", "renewed_from IS NOT NULL", 1 },
	{ "revocations", "serial, revoked_at, reason_code, reason, method",
	    "TIITT", NULL, 0 },
	{ "used_tokens", "provisioner, jti, expires_at", "TTI", NULL, 0 },
	{ "token_clock", "pruned_before, minted_after", "II", NULL, 0 },
	{ "crl", "number, this_update, next_update, der, revocations", "IIIBI",
	    NULL, 0 },
	{ "acme_objects", "kind, id, account, lookup, status, expires_at, body",
	    "TTTTTIT", NULL, 0 },
	{ "acme_nonces", "nonce, expires_at", "TI", NULL, 0 },
};

struct copying {
	struct db		*to;
	const struct db_table	*t;
	size_t			 rows;
};

static int
copy_row_in(const struct db_value *v, void *arg)
{
	struct copying *c = arg;

	c->rows++;
	return c->to->ops->copy_in(c->to->conn, c->t, v);
}

int
db_copy(struct db *from, struct db *to)
{
	struct copying c;
	char sql[128];
	size_t i;
	int rc, ver;

	if ((rc = check_db(from)) != CA_OK || (rc = check_db(to)) != CA_OK)
		return rc;
	if (from->ops->copy_out == NULL)
		return err_set(CA_FAIL, "database: copying from %s is not "
		    "supported", from->ops->type);
	if (to->ops->copy_in == NULL)
		return err_set(CA_FAIL, "database: copying into %s is not "
		    "supported", to->ops->type);
	if ((rc = from->ops->schema_version(from->conn, &ver)) != CA_OK)
		return rc;
	if (ver != DB_SCHEMA_VERSION)
		return err_set(CA_FAIL, "database %s has schema version %d, "
		    "not %d: migrate it first", from->ops->name(from->conn),
		    ver, DB_SCHEMA_VERSION);
	if ((rc = from->ops->begin(from->conn)) != CA_OK)
		return rc;
	if ((rc = to->ops->begin(to->conn)) != CA_OK) {
		from->ops->rollback(from->conn);
		return rc;
	}
	memset(&c, 0, sizeof(c));
	c.to = to;
	for (i = 0; rc == CA_OK && i < NELEM(copied); i++) {
		c.t = &copied[i];
		/* The new schema's own rows (token_clock's) give way. */
		if (!c.t->update) {
			snprintf(sql, sizeof(sql), "DELETE FROM %s", c.t->name);
			rc = to->ops->exec_step(to->conn, sql);
		}
		if (rc == CA_OK)
			rc = from->ops->copy_out(from->conn, c.t, copy_row_in,
			    &c);
		if (rc != CA_OK)
			err_prefix("copying %s", c.t->name);
	}
	if (rc == CA_OK)
		rc = to->ops->commit(to->conn);
	else
		to->ops->rollback(to->conn);
	from->ops->rollback(from->conn);
	return rc;
}

void *
db_handle(struct db *db, const char *type)
{
	if (db == NULL || db->ops == NULL || type == NULL ||
	    strcmp(db->ops->type, type) != 0)
		return NULL;
	return db->conn;
}

int
db_count_revocations(struct db *db, int64_t *n)
{
	int rc;

	if (n == NULL)
		return err_set(CA_FAIL, "database: no result pointer");
	*n = 0;
	if ((rc = check_db(db)) != CA_OK)
		return rc;
	return db->ops->count_revocations(db->conn, n);
}

int
db_list_crl_entries(struct db *db, int64_t not_after_min, db_crl_entry_fn fn,
    void *arg)
{
	struct checked c;
	int rc;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	if (fn == NULL)
		return err_set(CA_FAIL, "database: missing callback");
	c.fn.entry = fn;
	c.arg = arg;
	return db->ops->list_crl_entries(db->conn, not_after_min,
	    checked_entry, &c);
}

int
db_put_crl(struct db *db, const struct db_crl *crl, enum db_refusal *why)
{
	enum db_refusal ignored;
	int rc;

	if (why == NULL)
		why = &ignored;
	*why = DB_REFUSED_NONE;
	if ((rc = check_db(db)) != CA_OK)
		return rc;
	if (crl == NULL)
		return err_set(CA_INPUT, "database: missing CRL");
	if (crl->number < 1)
		return err_set(CA_INPUT, "database: CRL number %lld is not "
		    "positive", (long long)crl->number);
	if (crl->this_update >= crl->next_update)
		return err_set(CA_INPUT, "database: CRL nextUpdate is not "
		    "after its thisUpdate");
	if (crl->revocations < 0)
		return err_set(CA_INPUT, "database: CRL revocation count "
		    "is negative");
	if (crl->der == NULL || crl->der_len == 0 ||
	    crl->der_len > DB_MAX_CRL)
		return err_set(CA_INPUT, "database: CRL DER missing or larger "
		    "than %d bytes", DB_MAX_CRL);
	return db->ops->put_crl(db->conn, crl, DB_CRL_KEEP, why);
}

int
db_latest_crl(struct db *db, struct db_crl **out)
{
	int rc;

	if (out == NULL)
		return err_set(CA_FAIL, "database: no result pointer");
	*out = NULL;
	if ((rc = check_db(db)) != CA_OK)
		return rc;
	return db->ops->latest_crl(db->conn, out);
}

void
db_crl_free(struct db_crl *crl)
{
	free(crl);
}

/* ACME ------------------------------------------------------------------ */

static const char *const acme_kinds[] = {
	"account", "order", "authz", "challenge", "eab"
};

static int
check_kind(const char *kind)
{
	size_t i;

	if (kind == NULL)
		return err_set(CA_INPUT, "database: missing ACME kind");
	for (i = 0; i < NELEM(acme_kinds); i++)
		if (strcmp(kind, acme_kinds[i]) == 0)
			return CA_OK;
	return err_set(CA_INPUT, "database: ACME kind \"%.60s\" is none of "
	    "account, order, authz, challenge, eab", kind);
}

/* A key column: 1..max visible ASCII characters (db.h). */
static int
check_key(const char *s, size_t max, const char *what)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return err_set(CA_INPUT, "database: missing ACME %s", what);
	for (i = 0; s[i] != '\0'; i++) {
		if (i == max)
			return err_set(CA_INPUT, "database: ACME %s longer "
			    "than %zu characters", what, max);
		if (s[i] < 0x21 || s[i] > 0x7e)
			return err_set(CA_INPUT, "database: ACME %s has a "
			    "character that is not visible ASCII", what);
	}
	return CA_OK;
}

static int
check_acme(const struct db_acme *o)
{
	json_error_t e;
	char why[JSONERR_LEN];
	json_t *j;
	size_t i, len;
	int rc;

	if (o == NULL)
		return err_set(CA_INPUT, "database: missing ACME object");
	if ((rc = check_kind(o->kind)) != CA_OK ||
	    (rc = check_key(o->id, DB_ACME_MAX_ID, "id")) != CA_OK ||
	    (o->account != NULL && (rc = check_key(o->account,
	    DB_ACME_MAX_ID, "account")) != CA_OK) ||
	    (o->lookup != NULL && (rc = check_key(o->lookup,
	    DB_ACME_MAX_LOOKUP, "lookup")) != CA_OK))
		return rc;
	if (o->status == NULL || *o->status == '\0' ||
	    strlen(o->status) > DB_ACME_MAX_STATUS)
		return err_set(CA_INPUT, "database: ACME status missing or "
		    "longer than %d letters", DB_ACME_MAX_STATUS);
	for (i = 0; o->status[i] != '\0'; i++)
		if (o->status[i] < 'a' || o->status[i] > 'z')
			return err_set(CA_INPUT, "database: ACME status "
			    "\"%.40s\" is not lowercase letters", o->status);
	if (o->expires_at < 0)
		return err_set(CA_INPUT, "database: ACME expiry is negative");
	if (o->body == NULL)
		return err_set(CA_INPUT, "database: missing ACME body");
	if ((len = strlen(o->body)) > DB_ACME_MAX_BODY)
		return err_set(CA_INPUT, "database: ACME body longer than %d "
		    "bytes", DB_ACME_MAX_BODY);
	if ((j = json_loadb(o->body, len, JSON_REJECT_DUPLICATES, &e)) ==
	    NULL)
		return err_set(CA_INPUT, "database: ACME body: %s",
		    jsonerr_text(&e, why, sizeof(why)));
	rc = json_is_object(j) ? CA_OK : err_set(CA_INPUT, "database: ACME "
	    "body is not a JSON object");
	json_decref(j);
	return rc;
}

int
db_acme_put(struct db *db, const struct db_acme *o, int create,
    enum db_refusal *why)
{
	enum db_refusal ignored;
	struct db_acme_row *row;
	int rc, written = 0, found;

	if (why == NULL)
		why = &ignored;
	*why = DB_REFUSED_NONE;
	if ((rc = check_db(db)) != CA_OK || (rc = check_acme(o)) != CA_OK ||
	    (rc = db->ops->acme_put(db->conn, o, create != 0, &written)) !=
	    CA_OK || written)
		return rc;
	/* Not written: a second look says which key stood in the way. */
	if ((rc = db_acme_get(db, o->kind, o->id, &row)) != CA_OK)
		return rc;
	found = row != NULL;
	db_acme_row_free(row);
	if (create && found) {
		*why = DB_REFUSED_EXISTS;
		return err_set(CA_REFUSED, "ACME %s %s already exists",
		    o->kind, o->id);
	}
	if (!create && !found) {
		*why = DB_REFUSED_NOT_FOUND;
		return err_set(CA_REFUSED, "ACME %s %s not found", o->kind,
		    o->id);
	}
	*why = DB_REFUSED_EXISTS;
	return err_set(CA_REFUSED, "ACME %s lookup %.200s is another's",
	    o->kind, o->lookup != NULL ? o->lookup : "(none)");
}

/*
 * db_acme_get()'s and db_acme_find()'s callback: the row as one
 * allocation, struct then strings, released by a single free().
 */
static int
copy_acme(const struct db_acme *o, void *arg)
{
	struct db_acme_row **out = arg, *c;
	char *p;

	if (*out != NULL)
		return err_set(CA_FAIL, "database: ACME %s %s stored twice",
		    o->kind, o->id);
	if ((c = calloc(1, sizeof(*c) + str_size(o->kind) + str_size(o->id) +
	    str_size(o->account) + str_size(o->lookup) + str_size(o->status) +
	    str_size(o->body))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	p = (char *)(c + 1);
	c->o.kind = put_str(&p, o->kind);
	c->o.id = put_str(&p, o->id);
	c->o.account = put_str(&p, o->account);
	c->o.lookup = put_str(&p, o->lookup);
	c->o.status = put_str(&p, o->status);
	c->o.expires_at = o->expires_at;
	c->o.body = put_str(&p, o->body);
	*out = c;
	return CA_OK;
}

static int
acme_one(struct db *db, enum db_acme_by by, const char *kind,
    const char *key, struct db_acme_row **out)
{
	int rc;

	if (out == NULL)
		return err_set(CA_FAIL, "database: no result pointer");
	*out = NULL;
	if ((rc = check_db(db)) != CA_OK || (rc = check_kind(kind)) != CA_OK ||
	    (rc = check_key(key, by == DB_ACME_BY_LOOKUP ?
	    DB_ACME_MAX_LOOKUP : DB_ACME_MAX_ID, by == DB_ACME_BY_LOOKUP ?
	    "lookup" : "id")) != CA_OK)
		return rc;
	if ((rc = db->ops->acme_select(db->conn, by, kind, key, copy_acme,
	    out)) != CA_OK) {
		free(*out);
		*out = NULL;
	}
	return rc;
}

int
db_acme_get(struct db *db, const char *kind, const char *id,
    struct db_acme_row **out)
{
	return acme_one(db, DB_ACME_BY_ID, kind, id, out);
}

int
db_acme_find(struct db *db, const char *kind, const char *lookup,
    struct db_acme_row **out)
{
	return acme_one(db, DB_ACME_BY_LOOKUP, kind, lookup, out);
}

void
db_acme_row_free(struct db_acme_row *r)
{
	free(r);
}

int
db_acme_list(struct db *db, const char *kind, const char *account,
    db_acme_fn fn, void *arg)
{
	int rc;

	if ((rc = check_db(db)) != CA_OK || (rc = check_kind(kind)) != CA_OK ||
	    (account != NULL &&
	    (rc = check_key(account, DB_ACME_MAX_ID, "account")) != CA_OK))
		return rc;
	if (fn == NULL)
		return err_set(CA_FAIL, "database: missing callback");
	return db->ops->acme_select(db->conn, account != NULL ?
	    DB_ACME_BY_ACCOUNT : DB_ACME_BY_KIND, kind, account, fn, arg);
}

/* 1..DB_NONCE_MAX base64url characters (RFC 4648 section 5). */
static int
nonce_ok(const char *n)
{
	size_t i;

	if (n == NULL || *n == '\0')
		return 0;
	for (i = 0; n[i] != '\0'; i++)
		if (i == DB_NONCE_MAX || !((n[i] >= 'A' && n[i] <= 'Z') ||
		    (n[i] >= 'a' && n[i] <= 'z') ||
		    (n[i] >= '0' && n[i] <= '9') || n[i] == '-' || n[i] == '_'))
			return 0;
	return 1;
}

int
db_nonce_put(struct db *db, const char *nonce, int64_t now,
    int64_t expires_at)
{
	int rc;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	if (!nonce_ok(nonce))
		return err_set(CA_INPUT, "database: a nonce is 1 to %d "
		    "base64url characters", DB_NONCE_MAX);
	if (expires_at <= 0)
		return err_set(CA_INPUT, "database: nonce expiry is not "
		    "positive");
	return db->ops->nonce_put(db->conn, nonce, now, expires_at,
	    DB_NONCE_PRUNE);
}

int
db_nonce_use(struct db *db, const char *nonce, int64_t now)
{
	int rc, spent = 0;

	if ((rc = check_db(db)) != CA_OK)
		return rc;
	/* What was never stored needs no look, and gets the same answer. */
	if (nonce_ok(nonce) &&
	    (rc = db->ops->nonce_use(db->conn, nonce, now, &spent)) != CA_OK)
		return rc;
	if (!spent)
		return err_set(CA_REFUSED, "nonce unknown, used or expired");
	return CA_OK;
}
