/*
 * db_sqlite: the SQLite backend of db.h.
 *
 * One sqlite3 connection per struct db; the connection itself is the
 * backend's conn pointer.  WAL journal with synchronous=FULL so that a
 * COMMIT that returned is on disk, foreign keys on, a busy timeout so
 * concurrent processes queue for the write lock instead of failing.
 * Values only ever reach SQL as bound parameters.  db.c has checked every
 * argument before these functions run.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "config.h"
#include "db.h"
#include "err.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * Migration steps: steps[i] takes the schema from version i to i + 1 and
 * records i + 1.  Append one entry per new version; never edit a step that
 * has shipped.  db_pg.c must create the same tables (BIGINT for INTEGER,
 * BYTEA for BLOB).
 */
static const char *const steps[] = {
	/* 0 -> 1: the initial schema. */
	"CREATE TABLE certs ("
	"  serial       TEXT    NOT NULL PRIMARY KEY,"	/* decimal */
	"  issued_at    INTEGER NOT NULL,"		/* unix seconds */
	"  not_before   INTEGER NOT NULL,"
	"  not_after    INTEGER NOT NULL,"
	"  subject      TEXT    NOT NULL,"
	"  sans         TEXT    NOT NULL,"		/* JSON array, db.h */
	"  provisioner  TEXT    NOT NULL,"
	"  renewed_from TEXT    NULL REFERENCES certs (serial),"
	"  der          BLOB    NOT NULL"
	");"
	"CREATE INDEX certs_not_after ON certs (not_after);"
	"CREATE INDEX certs_issued_at ON certs (issued_at, serial);"
	"CREATE INDEX certs_renewed_from ON certs (renewed_from);"
	"CREATE TABLE revocations ("
	"  serial       TEXT    NOT NULL PRIMARY KEY REFERENCES certs (serial),"
	"  revoked_at   INTEGER NOT NULL,"
	"  reason_code  INTEGER NOT NULL,"
	"  reason       TEXT    NULL,"
	"  method       TEXT    NOT NULL"
	");"
	"CREATE INDEX revocations_revoked_at ON revocations (revoked_at);"
	"CREATE TABLE used_tokens ("
	"  provisioner  TEXT    NOT NULL,"
	"  jti          TEXT    NOT NULL,"
	"  expires_at   INTEGER NOT NULL,"
	"  PRIMARY KEY (provisioner, jti)"
	");"
	"CREATE INDEX used_tokens_expires_at ON used_tokens (expires_at);"
	"CREATE TABLE crl ("
	"  number       INTEGER NOT NULL PRIMARY KEY,"
	"  this_update  INTEGER NOT NULL,"
	"  next_update  INTEGER NOT NULL,"
	"  der          BLOB    NOT NULL"
	");"
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version (version) VALUES (1);",
	/*
	 * 1 -> 2: the point before which spent tokens may be forgotten, and
	 * the operator's floor on token issue times (db.h: db_use_token).
	 */
	"CREATE TABLE token_clock ("
	"  pruned_before INTEGER NOT NULL,"		/* unix seconds */
	"  minted_after  INTEGER NOT NULL"
	");"
	"INSERT INTO token_clock (pruned_before, minted_after) VALUES (0, 0);"
	"UPDATE schema_version SET version = 2;",
	/*
	 * 2 -> 3: how many revocations each CRL was made from, so that one
	 * made before the latest revocation is known to be out of date
	 * whatever the clocks said (db.h: db_count_revocations).  CRLs of
	 * older versions get -1: never current.
	 */
	("ALTER TABLE crl ADD COLUMN revocations INTEGER NOT NULL DEFAULT -1;"
	"UPDATE schema_version SET version = 3;"),
	/*
	 * 3 -> 4: ACME accounts, orders, authorizations and challenges, and
	 * the replay nonces (db.h: db_acme_put, db_nonce_use).  A NULL
	 * lookup is no key: UNIQUE lets any number of them be.
	 */
	("CREATE TABLE acme_objects ("
	"  kind         TEXT    NOT NULL,"
	"  id           TEXT    NOT NULL,"
	"  account      TEXT    NULL,"
	"  lookup       TEXT    NULL,"
	"  status       TEXT    NOT NULL,"
	"  expires_at   INTEGER NOT NULL,"		/* 0: never */
	"  body         TEXT    NOT NULL,"		/* a JSON object */
	"  PRIMARY KEY (kind, id),"
	"  UNIQUE (kind, lookup)"
	");"
	"CREATE INDEX acme_objects_account ON acme_objects (kind, account, id);"
	"CREATE TABLE acme_nonces ("
	"  nonce        TEXT    NOT NULL PRIMARY KEY,"
	"  expires_at   INTEGER NOT NULL"
	");"
	"CREATE INDEX acme_nonces_expires_at ON acme_nonces (expires_at);"
	"UPDATE schema_version SET version = 4;"),
};

_Static_assert(NELEM(steps) == DB_SCHEMA_VERSION,
    "one SQLite migration step per schema version");

/*
 * Record the failure of op.  Busy and locked (the busy timeout ran out,
 * or a lock that waiting cannot resolve) mean "retry later"; everything
 * else is a failure.  Call before finalizing the statement, which may
 * reset the connection's message.
 */
static int
sq_fail(sqlite3 *h, int rc, const char *op)
{
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return err_set(CA_UNAVAIL, "database busy: %s: %s", op,
		    sqlite3_errstr(rc));
	default:
		return err_set(CA_FAIL, "database %s: %s", op,
		    h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
	}
}

/* Run SQL without values (pragmas, transaction control, DDL). */
static int
sq_exec(sqlite3 *h, const char *sql, const char *op)
{
	int rc;

	if ((rc = sqlite3_exec(h, sql, NULL, NULL, NULL)) != SQLITE_OK)
		return sq_fail(h, rc, op);
	return CA_OK;
}

static int
sq_prepare(sqlite3 *h, const char *sql, sqlite3_stmt **st, const char *op)
{
	int rc;

	if ((rc = sqlite3_prepare_v2(h, sql, -1, st, NULL)) != SQLITE_OK) {
		*st = NULL;
		return sq_fail(h, rc, op);
	}
	return CA_OK;
}

/*
 * Run a statement that returns one row with one column, such as a pragma,
 * and give that column as an integer or, if text is not NULL, as text in
 * text[0..size-1].
 */
static int
sq_query1(sqlite3 *h, const char *sql, long long *val, char *text,
    size_t size, const char *op)
{
	sqlite3_stmt *st;
	const unsigned char *t;
	int rc, ret;

	if ((ret = sq_prepare(h, sql, &st, op)) != CA_OK)
		return ret;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ?
		    err_set(CA_FAIL, "database %s: no result", op) :
		    sq_fail(h, rc, op);
		sqlite3_finalize(st);
		return ret;
	}
	if (val != NULL)
		*val = sqlite3_column_int64(st, 0);
	if (text != NULL) {
		t = sqlite3_column_text(st, 0);
		if (t == NULL || strlen((const char *)t) >= size)
			text[0] = '\0';
		else
			memcpy(text, t, strlen((const char *)t) + 1);
	}
	sqlite3_finalize(st);
	return CA_OK;
}

/* Make a new file's directory entry durable. */
static int
sync_dir(const char *path)
{
	char *copy;
	int fd, ret = CA_OK;

	if ((copy = strdup(path)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (fsync(fd) == -1 && errno != EINVAL))
		ret = err_set(CA_FAIL, "database sync directory: %s",
		    strerror(errno));
	if (fd != -1)
		close(fd);
	free(copy);
	return ret;
}

/*
 * Waiting for the write lock.  SQLite's own busy handler sleeps 1, 2, 5,
 * 10, 15 ... ms between tries, long against a commit that holds the lock
 * for well under a millisecond: the second handler of ca-serve's pool
 * slept through several of the first's commits and left the CPU idle.
 * This one tries again after DB_BUSY_FIRST_US and doubles each sleep up
 * to DB_BUSY_MAX_US, SQLite's own longest, until the sleeps add up to the
 * timeout (then SQLITE_BUSY: CA_UNAVAIL, "database busy").  Short waits
 * end within about twice their length; long ones, behind many writers,
 * back off as SQLite's do: dozens of processes trying every millisecond
 * would take the CPUs from the one holding the lock and keep a checkpoint
 * from ever finding the readers gone.
 */
long
db_sqlite_busy_sleep(int ms, int count)
{
	long limit = (long)ms * 1000, spent = 0, d = DB_BUSY_FIRST_US;
	int i = 0;

	/*
	 * What the earlier tries slept, the same schedule summed: the
	 * doubling steps one by one, then at the cap all at once (a long
	 * timeout makes thousands of tries).
	 */
	for (; i < count && d < DB_BUSY_MAX_US; i++) {
		spent += d;
		d = d * 2 < DB_BUSY_MAX_US ? d * 2 : DB_BUSY_MAX_US;
	}
	spent += (long)(count - i) * d;
	if (spent >= limit)
		return 0;
	return d < limit - spent ? d : limit - spent;
}

/* SQLite's busy callback; arg is the timeout in milliseconds. */
static int
sq_busy(void *arg, int count)
{
	long us = db_sqlite_busy_sleep((int)(intptr_t)arg, count);
	struct timespec ts;

	if (us == 0)
		return 0;
	ts.tv_sec = us / 1000000;
	ts.tv_nsec = (us % 1000000) * 1000;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	return 1;
}

/* Writers wait up to ms for the lock (0: not at all). */
static int
sq_wait_lock(sqlite3 *h, int ms)
{
	return sqlite3_busy_handler(h, ms > 0 ? sq_busy : NULL,
	    (void *)(intptr_t)ms);
}

/* The body of sq_open(), run under umask 077. */
/* WAL frames after which a closing connection folds the WAL back. */
#define DB_WAL_FOLD_FRAMES	100
/* How long that fold waits for readers; busy means "next time". */
#define DB_WAL_FOLD_WAIT_MS	100

/* The connection whose commit left DB_WAL_FOLD_FRAMES or more in the WAL. */
static sqlite3 *wal_full;

/*
 * Registering this hook turns off SQLite's automatic checkpoint, so it
 * does that job too for a connection that stays open across many commits:
 * a passive checkpoint (it waits for no one) every DB_WAL_PASSIVE_FRAMES.
 */
#define DB_WAL_PASSIVE_FRAMES	1000

static int
wal_grown(void *arg, sqlite3 *h, const char *name, int frames)
{
	if (frames >= DB_WAL_FOLD_FRAMES)
		wal_full = h;
	if (frames >= DB_WAL_PASSIVE_FRAMES)
		sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

static int
sq_open_masked(const char *path, enum db_mode mode, sqlite3 **out)
{
	int create = mode == DB_CREATE || mode == DB_INIT;
	sqlite3 *h = NULL;
	char jmode[16];
	long long sync, fk, tables = 0;
	int fd, rc, ret;

	*out = NULL;
	/*
	 * Create the file ourselves so it is 0600 from the first moment;
	 * SQLite gives the -wal and -shm files the database file's mode.
	 * O_EXCL does not follow a symlink; an existing file is opened as is.
	 */
	if (create) {
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1 && errno != EEXIST)
			return err_set(CA_FAIL, "database create: %s",
			    strerror(errno));
		if (fd != -1) {
			close(fd);
			if ((ret = sync_dir(path)) != CA_OK)
				return ret;
		}
	}
	rc = sqlite3_open_v2(path, &h, mode == DB_READ ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0), NULL);
	if (rc != SQLITE_OK) {
		ret = err_set(CA_FAIL, "database open: %s",
		    h != NULL ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
		sqlite3_close_v2(h);
		return ret;
	}
	/* Constraint failures must say which constraint (PK or FK). */
	sqlite3_extended_result_codes(h, 1);
	/*
	 * A tampered file gets no schema tricks: no writable_schema, no
	 * functions run from triggers or views.
	 */
	sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	/*
	 * Each program is a short-lived process, so each close would be the
	 * last connection: a checkpoint and a deleted WAL every time, four
	 * extra fsyncs per issuance.  The WAL stays instead, and is folded
	 * back and truncated at close once it holds DB_WAL_FOLD_FRAMES
	 * frames (wal_grown, sq_close): SQLite's own automatic checkpoint
	 * does not work across processes, whose recovery forgets what was
	 * checkpointed, so left alone the WAL would only grow and every
	 * open would read all of it.  Durability is the WAL's: a commit is
	 * fsync'd before it returns (synchronous=FULL).
	 */
	sqlite3_db_config(h, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	if (mode != DB_READ)
		sqlite3_wal_hook(h, wal_grown, NULL);

	/*
	 * Each setting is read back: a pragma the library ignores (an
	 * in-memory database, a build without foreign keys) must not pass
	 * silently.
	 */
	if ((rc = sq_wait_lock(h, DB_BUSY_TIMEOUT_MS)) != SQLITE_OK)
		ret = sq_fail(h, rc, "set busy timeout");
	else if (!create && (ret = sq_query1(h, "SELECT count(*) "
	    "FROM sqlite_master", &tables, NULL, 0, "read schema")) != CA_OK)
		;
	else if (!create && tables == 0)
		/*
		 * No schema, and only DB_CREATE makes one: db_open() refuses
		 * it.  Setting the journal mode would write to the file.
		 */
		;
	else if (mode == DB_READ)
		/* A reader changes nothing: it takes the settings as stored. */
		ret = sq_exec(h, "PRAGMA query_only = ON", "set query_only");
	else if ((ret = sq_query1(h, "PRAGMA journal_mode = WAL", NULL, jmode,
	    sizeof(mode), "set journal_mode")) != CA_OK)
		;
	else if (strcasecmp(jmode, "wal") != 0)
		ret = err_set(CA_FAIL, "database journal_mode is \"%s\", "
		    "not wal", jmode);
	else if ((ret = sq_exec(h, "PRAGMA synchronous = FULL",
	    "set synchronous")) != CA_OK ||
	    (ret = sq_query1(h, "PRAGMA synchronous", &sync, NULL, 0,
	    "read synchronous")) != CA_OK)
		;
	else if (sync != 2)
		ret = err_set(CA_FAIL, "database synchronous is %lld, "
		    "not FULL (2)", sync);
	else if ((ret = sq_exec(h, "PRAGMA foreign_keys = ON",
	    "set foreign_keys")) != CA_OK ||
	    (ret = sq_query1(h, "PRAGMA foreign_keys", &fk, NULL, 0,
	    "read foreign_keys")) != CA_OK)
		;
	else if (fk != 1)
		ret = err_set(CA_FAIL, "database foreign keys unavailable");
	if (ret != CA_OK) {
		sqlite3_close_v2(h);
		return ret;
	}
	*out = h;
	return CA_OK;
}

static int
sq_open(const char *home, const char *dsn, enum db_mode mode, void **conn)
{
	struct stat st;
	sqlite3 *h;
	mode_t old;
	char *source;
	int rc;

	*conn = NULL;
	/* dataSource is a file, relative to the CA home. */
	source = home != NULL ? config_resolve(home, dsn) : strdup(dsn);
	if (source == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (mode != DB_CREATE && mode != DB_INIT && stat(source, &st) == -1) {
		rc = errno;
		if (rc == ENOENT)
			err_set(CA_FAIL, "database %s does not exist", source);
		else
			err_set(CA_FAIL, "database %s: %s", source,
			    strerror(rc));
		free(source);
		return CA_FAIL;
	}
	/*
	 * Whatever SQLite creates while opening (the file, -wal, -shm) is
	 * for the owner only.  The umask is process-wide: these programs are
	 * single-threaded.
	 */
	old = umask(077);
	rc = sq_open_masked(source, mode, &h);
	umask(old);
	if (rc != CA_OK)
		err_prefix("%s", source);
	free(source);
	if (rc != CA_OK)
		return rc;
	*conn = h;
	return CA_OK;
}

static void
sq_rollback(void *conn)
{
	sqlite3 *h = conn;

	/* On error paths: keep the caller's message, ignore failures. */
	if (!sqlite3_get_autocommit(h))
		sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
}

static void
sq_close(void *conn)
{
	if (conn == NULL)
		return;
	sq_rollback(conn);
	if (wal_full == conn) {
		/*
		 * After this process's output: fold the WAL into the database
		 * and truncate it.  A reader in the way makes it a no-op; the
		 * next closing writer tries again.
		 */
		sq_wait_lock(conn, DB_WAL_FOLD_WAIT_MS);
		sqlite3_wal_checkpoint_v2(conn, NULL, SQLITE_CHECKPOINT_TRUNCATE,
		    NULL, NULL);
		wal_full = NULL;
	}
	sqlite3_close_v2(conn);
}

static const char *
sq_name(void *conn)
{
	const char *f = sqlite3_db_filename(conn, "main");

	return f != NULL && *f != '\0' ? f : "(in memory)";
}

static int
sq_set_busy_timeout(void *conn, int ms)
{
	int rc;

	if ((rc = sq_wait_lock(conn, ms)) != SQLITE_OK)
		return sq_fail(conn, rc, "set busy timeout");
	return CA_OK;
}

static int
sq_begin(void *conn)
{
	return sq_exec(conn, "BEGIN IMMEDIATE", "begin transaction");
}

static int
sq_commit(void *conn)
{
	sqlite3 *h = conn;
	int rc, ret;

	if (sqlite3_get_autocommit(h))
		return err_set(CA_FAIL, "database commit: no transaction open");
	if ((rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL)) != SQLITE_OK) {
		/* A COMMIT that failed may leave the transaction open. */
		ret = sq_fail(h, rc, "commit");
		sq_rollback(h);
		return ret;
	}
	return CA_OK;
}

/* A request's savepoint inside the caller's transaction (group commit). */
static int
sq_savepoint(void *conn)
{
	if (sqlite3_get_autocommit(conn))
		return err_set(CA_FAIL, "database savepoint: no transaction open");
	return sq_exec(conn, "SAVEPOINT request", "savepoint");
}

static int
sq_release(void *conn)
{
	return sq_exec(conn, "RELEASE request", "release savepoint");
}

static void
sq_rollback_to(void *conn)
{
	/* On error paths: keep the caller's message, ignore failures. */
	if (!sqlite3_get_autocommit(conn)) {
		sqlite3_exec(conn, "ROLLBACK TO request", NULL, NULL, NULL);
		sqlite3_exec(conn, "RELEASE request", NULL, NULL, NULL);
	}
}

static int
sq_schema_version(void *conn, int *version)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	long long ntables, nschema, v = 0;
	int rc, ret, rows = 0, bad = 0;

	*version = 0;
	/* One statement, so both counts come from the same snapshot. */
	if ((ret = sq_prepare(h, "SELECT count(*), "
	    "coalesce(sum(name = 'schema_version'), 0) "
	    "FROM sqlite_master WHERE type = 'table'", &st,
	    "read schema")) != CA_OK)
		return ret;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW) {
		ret = sq_fail(h, rc, "read schema");
		sqlite3_finalize(st);
		return ret;
	}
	ntables = sqlite3_column_int64(st, 0);
	nschema = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	if (nschema == 0) {
		if (ntables != 0)
			return err_set(CA_FAIL, "database has tables but no "
			    "schema_version: not a CA database");
		return CA_OK;
	}

	if ((ret = sq_prepare(h, "SELECT version FROM schema_version", &st,
	    "read schema version")) != CA_OK)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rows++;
		if (sqlite3_column_type(st, 0) != SQLITE_INTEGER)
			bad = 1;
		v = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		ret = sq_fail(h, rc, "read schema version");
		sqlite3_finalize(st);
		return ret;
	}
	sqlite3_finalize(st);
	if (bad || rows != 1 || v < 1 || v > 1000000)
		return err_set(CA_FAIL, "database schema_version table is "
		    "damaged");
	*version = (int)v;
	return CA_OK;
}

static int
sq_exec_step(void *conn, const char *sql)
{
	return sq_exec(conn, sql, "schema migration");
}

/* Bind one int64 and step a statement that returns no rows. */
static int
sq_run_int(sqlite3 *h, const char *sql, int64_t v, const char *op)
{
	sqlite3_stmt *st;
	int rc, ret;

	if ((ret = sq_prepare(h, sql, &st, op)) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_int64(st, 1, v)) == SQLITE_OK)
		rc = sqlite3_step(st);
	ret = rc == SQLITE_DONE ? CA_OK : sq_fail(h, rc, op);
	sqlite3_finalize(st);
	return ret;
}

/* The body of sq_use_token(), inside its savepoint. */
static int
spend(sqlite3 *h, const struct db_token *t, int64_t retention)
{
	sqlite3_stmt *st;
	int64_t pruned, floor, cut;
	int rc, ret;

	if ((ret = sq_prepare(h, "SELECT pruned_before, minted_after FROM "
	    "token_clock", &st, "read token clock")) != CA_OK)
		return ret;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		ret = rc == SQLITE_DONE ? err_set(CA_FAIL, "database "
		    "token_clock table is damaged") :
		    sq_fail(h, rc, "read token clock");
		sqlite3_finalize(st);
		return ret;
	}
	pruned = sqlite3_column_int64(st, 0);
	floor = sqlite3_column_int64(st, 1);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return err_set(CA_FAIL, "database token_clock table is "
		    "damaged");
	if ((ret = db_token_clock_check(t, pruned, floor)) != CA_OK)
		return ret;
	/* Forget what expired a retention before the furthest clock. */
	cut = t->now - retention;
	if (cut > pruned) {
		if ((ret = sq_run_int(h, "DELETE FROM used_tokens WHERE "
		    "expires_at < ?1", cut, "prune tokens")) != CA_OK ||
		    (ret = sq_run_int(h, "UPDATE token_clock SET "
		    "pruned_before = ?1", cut, "advance token clock")) != CA_OK)
			return ret;
	}

	/*
	 * DO NOTHING on this key only, then count the rows: the same test
	 * PostgreSQL makes.  Any other constraint still fails loudly.
	 */
	if ((ret = sq_prepare(h, "INSERT INTO used_tokens "
	    "(provisioner, jti, expires_at) VALUES (?1, ?2, ?3) "
	    "ON CONFLICT (provisioner, jti) DO NOTHING", &st,
	    "use token")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_text(st, 1, t->provisioner, -1,
	    SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 2, t->jti, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 3, t->expires_at)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = sq_fail(h, rc, "use token");
	else if (sqlite3_changes(h) != 1)
		ret = err_set(CA_REFUSED, "token already used");
	else
		ret = CA_OK;
	sqlite3_finalize(st);
	return ret;
}

static int
sq_use_token(void *conn, const struct db_token *t, int64_t retention)
{
	sqlite3 *h = conn;
	int ret;

	/* All or nothing, inside the caller's transaction or on its own. */
	if ((ret = sq_exec(h, "SAVEPOINT use_token", "use token")) != CA_OK)
		return ret;
	if ((ret = spend(h, t, retention)) != CA_OK) {
		sqlite3_exec(h, "ROLLBACK TO use_token", NULL, NULL, NULL);
		sqlite3_exec(h, "RELEASE use_token", NULL, NULL, NULL);
		return ret;
	}
	return sq_exec(h, "RELEASE use_token", "use token");
}

static int
sq_put_cert(void *conn, const struct db_cert *c)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	int rc, ret;

	if ((ret = sq_prepare(h, "INSERT INTO certs (serial, issued_at, "
	    "not_before, not_after, subject, sans, provisioner, renewed_from, "
	    "der) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)", &st,
	    "insert certificate")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_text(st, 1, c->serial, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 2, c->issued_at)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 3, c->not_before)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 4, c->not_after)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 5, c->subject, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 6, c->sans_json, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 7, c->provisioner, -1,
	    SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 8, c->renewed_from, -1,
	    SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_blob64(st, 9, c->der, c->der_len,
	    SQLITE_STATIC)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		ret = CA_OK;
	else if (rc == SQLITE_CONSTRAINT_PRIMARYKEY ||
	    rc == SQLITE_CONSTRAINT_UNIQUE)
		ret = err_set(CA_FAIL, "database: certificate serial %s "
		    "already exists", c->serial);
	else if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		ret = err_set(CA_FAIL, "database: certificate %s renews %s, "
		    "which is not stored", c->serial, c->renewed_from);
	else
		ret = sq_fail(h, rc, "insert certificate");
	sqlite3_finalize(st);
	return ret;
}

static int
sq_revoke(void *conn, const struct db_revocation *r, enum db_refusal *why)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	int rc, ret;

	/* The first revocation stands; a second is refused, not merged. */
	if ((ret = sq_prepare(h, "INSERT INTO revocations (serial, "
	    "revoked_at, reason_code, reason, method) "
	    "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (serial) DO NOTHING",
	    &st, "revoke")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_text(st, 1, r->serial, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 2, r->revoked_at)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int(st, 3, r->reason_code)) == SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 4, r->reason, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 5, r->method, -1, SQLITE_STATIC)) ==
	    SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY) {
		*why = DB_REFUSED_NOT_FOUND;
		ret = err_set(CA_REFUSED, "certificate %s not found",
		    r->serial);
	} else if (rc != SQLITE_DONE)
		ret = sq_fail(h, rc, "revoke");
	else if (sqlite3_changes(h) != 1) {
		*why = DB_REFUSED_ALREADY_REVOKED;
		ret = err_set(CA_REFUSED, "certificate %s already revoked",
		    r->serial);
	}
	else
		ret = CA_OK;
	sqlite3_finalize(st);
	return ret;
}

static int
sq_is_revoked(void *conn, const char *serial, int *revoked)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	int rc, ret;

	*revoked = 0;
	if ((ret = sq_prepare(h, "SELECT 1 FROM revocations WHERE serial = ?1",
	    &st, "check revocation")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC)) ==
	    SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*revoked = 1;
		ret = CA_OK;
	} else if (rc == SQLITE_DONE)
		ret = CA_OK;
	else
		ret = sq_fail(h, rc, "check revocation");
	sqlite3_finalize(st);
	return ret;
}

#define LIST_SELECT							\
	"SELECT c.serial, c.issued_at, c.not_before, c.not_after, "	\
	"c.subject, c.sans, c.provisioner, c.renewed_from, c.der, "	\
	"r.serial IS NOT NULL, r.revoked_at, r.reason_code, r.reason, "	\
	"r.method "
#define LIST_COLUMNS							\
	LIST_SELECT "FROM certs c LEFT JOIN revocations r "		\
	"ON r.serial = c.serial "
/*
 * The revoked ones are found from the revocations, not by visiting every
 * certificate: CROSS JOIN keeps revocations the outer loop (SQLite never
 * reorders it), so the cost follows the revocations, not the inventory.
 */
#define LIST_REVOKED							\
	LIST_SELECT "FROM revocations r CROSS JOIN certs c "		\
	"ON c.serial = r.serial"
#define LIST_ORDER	" ORDER BY c.issued_at, c.serial"

static const char *
col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int
sq_list_certs(void *conn, const struct db_filter *f, db_row_fn fn,
    void *arg)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	struct db_row row;
	const char *sql;
	int rc, ret, n;

	switch (f->select) {
	case DB_SELECT_ALL:
		sql = LIST_COLUMNS LIST_ORDER;
		break;
	case DB_SELECT_REVOKED:
		sql = LIST_REVOKED LIST_ORDER;
		break;
	case DB_SELECT_EXPIRING:
		sql = LIST_COLUMNS "WHERE r.serial IS NULL "
		    "AND c.not_after >= ?1 AND c.not_after <= ?2" LIST_ORDER;
		break;
	case DB_SELECT_SERIAL:
		sql = LIST_COLUMNS "WHERE c.serial = ?1" LIST_ORDER;
		break;
	case DB_SELECT_RENEWALS:	/* the certs_renewed_from index */
		sql = LIST_COLUMNS "WHERE c.renewed_from = ?1" LIST_ORDER;
		break;
	default:
		return err_set(CA_FAIL, "database: unknown selection");
	}
	if ((ret = sq_prepare(h, sql, &st, "list certificates")) != CA_OK)
		return ret;
	rc = SQLITE_OK;
	if (f->select == DB_SELECT_EXPIRING &&
	    (rc = sqlite3_bind_int64(st, 1, f->now)) == SQLITE_OK)
		rc = sqlite3_bind_int64(st, 2, f->before);
	else if (f->select == DB_SELECT_SERIAL ||
	    f->select == DB_SELECT_RENEWALS)
		rc = sqlite3_bind_text(st, 1, f->serial, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		ret = sq_fail(h, rc, "list certificates");
		sqlite3_finalize(st);
		return ret;
	}

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&row, 0, sizeof(row));
		row.cert.serial = col_text(st, 0);
		row.cert.issued_at = sqlite3_column_int64(st, 1);
		row.cert.not_before = sqlite3_column_int64(st, 2);
		row.cert.not_after = sqlite3_column_int64(st, 3);
		row.cert.subject = col_text(st, 4);
		row.cert.sans_json = col_text(st, 5);
		row.cert.provisioner = col_text(st, 6);
		row.cert.renewed_from = col_text(st, 7);
		/* The blob pointer first, then its size (SQLite's rule). */
		row.cert.der = sqlite3_column_blob(st, 8);
		n = sqlite3_column_bytes(st, 8);
		row.cert.der_len = n > 0 ? (size_t)n : 0;
		row.revoked = sqlite3_column_int(st, 9);
		if (row.revoked) {
			row.rev.serial = row.cert.serial;
			row.rev.revoked_at = sqlite3_column_int64(st, 10);
			row.rev.reason_code = sqlite3_column_int(st, 11);
			row.rev.reason = col_text(st, 12);
			row.rev.method = col_text(st, 13);
		}
		/*
		 * NOT NULL columns read back as NULL only when SQLite ran out
		 * of memory converting them: fail rather than pass holes on.
		 */
		if (row.cert.serial == NULL || row.cert.subject == NULL ||
		    row.cert.sans_json == NULL ||
		    row.cert.provisioner == NULL || row.cert.der == NULL ||
		    (row.revoked && row.rev.method == NULL)) {
			ret = err_set(CA_FAIL, "database list certificates: "
			    "unreadable row");
			sqlite3_finalize(st);
			return ret;
		}
		if ((ret = fn(&row, arg)) != CA_OK) {
			sqlite3_finalize(st);
			return ret;
		}
	}
	ret = rc == SQLITE_DONE ? CA_OK : sq_fail(h, rc, "list certificates");
	sqlite3_finalize(st);
	return ret;
}

static int
sq_count_revocations(void *conn, int64_t *n)
{
	long long v;
	int ret;

	if ((ret = sq_query1(conn, "SELECT count(*) FROM revocations", &v,
	    NULL, 0, "count revocations")) != CA_OK)
		return ret;
	*n = v;
	return CA_OK;
}

static int
sq_list_crl_entries(void *conn, int64_t not_after_min, db_crl_entry_fn fn,
    void *arg)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	struct db_crl_entry e;
	int rc, ret;

	/* Revocations the outer loop, as for LIST_REVOKED. */
	if ((ret = sq_prepare(h, "SELECT r.serial, r.revoked_at, "
	    "r.reason_code, c.not_after FROM revocations r CROSS JOIN certs c "
	    "ON c.serial = r.serial WHERE c.not_after >= ?1", &st,
	    "list revoked certificates")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_int64(st, 1, not_after_min)) != SQLITE_OK) {
		ret = sq_fail(h, rc, "list revoked certificates");
		sqlite3_finalize(st);
		return ret;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		e.serial = col_text(st, 0);
		e.revoked_at = sqlite3_column_int64(st, 1);
		e.reason_code = sqlite3_column_int(st, 2);
		e.not_after = sqlite3_column_int64(st, 3);
		if (e.serial == NULL) {
			ret = err_set(CA_FAIL, "database list revoked "
			    "certificates: unreadable row");
			sqlite3_finalize(st);
			return ret;
		}
		if ((ret = fn(&e, arg)) != CA_OK) {
			sqlite3_finalize(st);
			return ret;
		}
	}
	ret = rc == SQLITE_DONE ? CA_OK :
	    sq_fail(h, rc, "list revoked certificates");
	sqlite3_finalize(st);
	return ret;
}

/* The body of sq_put_crl(), inside its savepoint. */
static int
put_crl(sqlite3 *h, const struct db_crl *c, int64_t keep,
    enum db_refusal *why)
{
	sqlite3_stmt *st;
	int rc, ret;

	/* DO NOTHING on the number only: the loser of a race is told so. */
	if ((ret = sq_prepare(h, "INSERT INTO crl (number, this_update, "
	    "next_update, der, revocations) VALUES (?1, ?2, ?3, ?4, ?5) "
	    "ON CONFLICT (number) DO NOTHING", &st, "store CRL")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_int64(st, 1, c->number)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 2, c->this_update)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 3, c->next_update)) == SQLITE_OK &&
	    (rc = sqlite3_bind_blob64(st, 4, c->der, c->der_len,
	    SQLITE_STATIC)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 5, c->revocations)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = sq_fail(h, rc, "store CRL");
	else if (sqlite3_changes(h) != 1) {
		*why = DB_REFUSED_EXISTS;
		ret = err_set(CA_REFUSED, "CRL number %lld already stored",
		    (long long)c->number);
	} else
		ret = CA_OK;
	sqlite3_finalize(st);
	if (ret != CA_OK)
		return ret;
	return sq_run_int(h, "DELETE FROM crl WHERE number < ?1",
	    c->number - keep, "prune CRLs");
}

static int
sq_put_crl(void *conn, const struct db_crl *c, int64_t keep,
    enum db_refusal *why)
{
	sqlite3 *h = conn;
	int ret;

	if ((ret = sq_exec(h, "SAVEPOINT put_crl", "store CRL")) != CA_OK)
		return ret;
	if ((ret = put_crl(h, c, keep, why)) != CA_OK) {
		sqlite3_exec(h, "ROLLBACK TO put_crl", NULL, NULL, NULL);
		sqlite3_exec(h, "RELEASE put_crl", NULL, NULL, NULL);
		return ret;
	}
	return sq_exec(h, "RELEASE put_crl", "store CRL");
}

static int
sq_latest_crl(void *conn, struct db_crl **out)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	struct db_crl *c;
	const void *der;
	int rc, ret, n;

	if ((ret = sq_prepare(h, "SELECT number, this_update, next_update, "
	    "revocations, der FROM crl ORDER BY number DESC LIMIT 1", &st,
	    "read CRL")) != CA_OK)
		return ret;
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return CA_OK;
	}
	if (rc != SQLITE_ROW) {
		ret = sq_fail(h, rc, "read CRL");
		sqlite3_finalize(st);
		return ret;
	}
	/* The blob pointer first, then its size (SQLite's rule). */
	der = sqlite3_column_blob(st, 4);
	n = sqlite3_column_bytes(st, 4);
	if (der == NULL || n <= 0) {
		sqlite3_finalize(st);
		return err_set(CA_FAIL, "database read CRL: stored CRL is "
		    "empty");
	}
	if ((c = calloc(1, sizeof(*c) + (size_t)n)) == NULL) {
		sqlite3_finalize(st);
		return err_set(CA_FAIL, "out of memory");
	}
	c->number = sqlite3_column_int64(st, 0);
	c->this_update = sqlite3_column_int64(st, 1);
	c->next_update = sqlite3_column_int64(st, 2);
	c->revocations = sqlite3_column_int64(st, 3);
	memcpy(c + 1, der, (size_t)n);
	c->der = (const unsigned char *)(c + 1);
	c->der_len = (size_t)n;
	sqlite3_finalize(st);
	*out = c;
	return CA_OK;
}

/* db_copy(): every row of t, as typed values. */
static int
sq_copy_out(void *conn, const struct db_table *t, db_value_fn fn, void *arg)
{
	struct db_value v[16];
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	char sql[512];
	size_t i, n = strlen(t->types);
	int rc, ret = CA_OK;

	if (n > NELEM(v))
		return err_set(CA_FAIL, "database copy: too many columns");
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s%s%s", t->columns,
	    t->name, t->where != NULL ? " WHERE " : "",
	    t->where != NULL ? t->where : "");
	if ((ret = sq_prepare(h, sql, &st, "copy")) != CA_OK)
		return ret;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(v, 0, sizeof(v));
		for (i = 0; i < n; i++) {
			v[i].null = sqlite3_column_type(st, (int)i) ==
			    SQLITE_NULL;
			if (v[i].null)
				continue;
			switch (t->types[i]) {
			case 'I':
				v[i].i = sqlite3_column_int64(st, (int)i);
				break;
			case 'T':
				v[i].s = col_text(st, (int)i);
				break;
			default:
				v[i].b = sqlite3_column_blob(st, (int)i);
				v[i].len = (size_t)sqlite3_column_bytes(st,
				    (int)i);
				break;
			}
			if (t->types[i] != 'I' && v[i].s == NULL &&
			    v[i].b == NULL)
				ret = err_set(CA_FAIL, "database copy: "
				    "unreadable row");
		}
		if (ret != CA_OK || (ret = fn(v, arg)) != CA_OK)
			break;
	}
	if (ret == CA_OK && rc != SQLITE_DONE)
		ret = sq_fail(h, rc, "copy");
	sqlite3_finalize(st);
	return ret;
}

/* Bind o's columns as ?1..?7 (kind, id, account, lookup, status, ...). */
static int
bind_acme(sqlite3_stmt *st, const struct db_acme *o)
{
	int rc;

	if ((rc = sqlite3_bind_text(st, 1, o->kind, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 2, o->id, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 3, o->account, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 4, o->lookup, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_text(st, 5, o->status, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 6, o->expires_at)) == SQLITE_OK)
		rc = sqlite3_bind_text(st, 7, o->body, -1, SQLITE_STATIC);
	return rc;
}

/* Whether (kind, id) is stored: *found 1 or 0. */
/*
 * Neither key's conflict is an error, as db_pg.c must have it (an error
 * there aborts the caller's transaction): the row is just not written.
 */
static int
sq_acme_put(void *conn, const struct db_acme *o, int create, int *written)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	int rc, ret;

	*written = 0;
	if ((ret = sq_prepare(h, create ? "INSERT INTO acme_objects (kind, "
	    "id, account, lookup, status, expires_at, body) VALUES (?1, ?2, "
	    "?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING" :
	    "UPDATE acme_objects SET account = ?3, lookup = ?4, status = ?5, "
	    "expires_at = ?6, body = ?7 WHERE kind = ?1 AND id = ?2 "
	    "AND NOT EXISTS (SELECT 1 FROM acme_objects WHERE kind = ?1 "
	    "AND lookup = ?4 AND id <> ?2)", &st,
	    "store ACME object")) != CA_OK)
		return ret;
	if ((rc = bind_acme(st, o)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*written = sqlite3_changes(h) == 1;
	ret = rc == SQLITE_DONE ? CA_OK : sq_fail(h, rc, "store ACME object");
	sqlite3_finalize(st);
	return ret;
}

static int
sq_acme_select(void *conn, enum db_acme_by by, const char *kind,
    const char *key, db_acme_fn fn, void *arg)
{
	static const char *const sql[] = {
		[DB_ACME_BY_ID] = " AND id = ?2",
		[DB_ACME_BY_LOOKUP] = " AND lookup = ?2",
		[DB_ACME_BY_ACCOUNT] = " AND account = ?2 ORDER BY id",
		[DB_ACME_BY_KIND] = " ORDER BY id",
	};
	char q[256];
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	struct db_acme o;
	int rc, ret;

	if ((unsigned)by >= NELEM(sql))
		return err_set(CA_FAIL, "database: unknown ACME selection");
	snprintf(q, sizeof(q), "SELECT kind, id, account, lookup, status, "
	    "expires_at, body FROM acme_objects WHERE kind = ?1%s", sql[by]);
	if ((ret = sq_prepare(h, q, &st, "read ACME objects")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC)) !=
	    SQLITE_OK || (by != DB_ACME_BY_KIND &&
	    (rc = sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC)) !=
	    SQLITE_OK)) {
		ret = sq_fail(h, rc, "read ACME objects");
		sqlite3_finalize(st);
		return ret;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&o, 0, sizeof(o));
		o.kind = col_text(st, 0);
		o.id = col_text(st, 1);
		o.account = col_text(st, 2);
		o.lookup = col_text(st, 3);
		o.status = col_text(st, 4);
		o.expires_at = sqlite3_column_int64(st, 5);
		o.body = col_text(st, 6);
		if (o.kind == NULL || o.id == NULL || o.status == NULL ||
		    o.body == NULL)
			ret = err_set(CA_FAIL, "database read ACME objects: "
			    "unreadable row");
		else
			ret = fn(&o, arg);
		if (ret != CA_OK) {
			sqlite3_finalize(st);
			return ret;
		}
	}
	ret = rc == SQLITE_DONE ? CA_OK : sq_fail(h, rc, "read ACME objects");
	sqlite3_finalize(st);
	return ret;
}

static int
sq_nonce_put(void *conn, const char *nonce, int64_t now, int64_t expires_at,
    int prune)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	int rc, ret;

	if ((ret = sq_prepare(h, "DELETE FROM acme_nonces WHERE nonce IN "
	    "(SELECT nonce FROM acme_nonces WHERE expires_at < ?1 LIMIT ?2)",
	    &st, "prune nonces")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_int64(st, 1, now)) == SQLITE_OK &&
	    (rc = sqlite3_bind_int(st, 2, prune)) == SQLITE_OK)
		rc = sqlite3_step(st);
	ret = rc == SQLITE_DONE ? CA_OK : sq_fail(h, rc, "prune nonces");
	sqlite3_finalize(st);
	if (ret != CA_OK)
		return ret;
	if ((ret = sq_prepare(h, "INSERT INTO acme_nonces (nonce, expires_at) "
	    "VALUES (?1, ?2) ON CONFLICT (nonce) DO NOTHING", &st,
	    "store nonce")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 2, expires_at)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = sq_fail(h, rc, "store nonce");
	else if (sqlite3_changes(h) != 1)
		ret = err_set(CA_FAIL, "database: nonce already stored (a "
		    "broken random generator?)");
	else
		ret = CA_OK;
	sqlite3_finalize(st);
	return ret;
}

/* One statement decides: of two spenders only one deletes the row. */
static int
sq_nonce_use(void *conn, const char *nonce, int64_t now, int *spent)
{
	sqlite3 *h = conn;
	sqlite3_stmt *st;
	int rc, ret;

	*spent = 0;
	if ((ret = sq_prepare(h, "DELETE FROM acme_nonces WHERE nonce = ?1 "
	    "AND expires_at >= ?2", &st, "use nonce")) != CA_OK)
		return ret;
	if ((rc = sqlite3_bind_text(st, 1, nonce, -1, SQLITE_STATIC)) ==
	    SQLITE_OK &&
	    (rc = sqlite3_bind_int64(st, 2, now)) == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*spent = sqlite3_changes(h) == 1;
	ret = rc == SQLITE_DONE ? CA_OK : sq_fail(h, rc, "use nonce");
	sqlite3_finalize(st);
	return ret;
}

const struct db_ops db_sqlite_ops = {
	.type = "sqlite",
	.steps = steps,
	.migrate_on_write = 1,
	.open = sq_open,
	.close = sq_close,
	.name = sq_name,
	.set_busy_timeout = sq_set_busy_timeout,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.savepoint = sq_savepoint,
	.release = sq_release,
	.rollback_to = sq_rollback_to,
	.schema_version = sq_schema_version,
	.exec_step = sq_exec_step,
	.use_token = sq_use_token,
	.put_cert = sq_put_cert,
	.revoke = sq_revoke,
	.is_revoked = sq_is_revoked,
	.list_certs = sq_list_certs,
	.count_revocations = sq_count_revocations,
	.list_crl_entries = sq_list_crl_entries,
	.put_crl = sq_put_crl,
	.latest_crl = sq_latest_crl,
	.copy_out = sq_copy_out,
	.copy_in = NULL,
	.acme_put = sq_acme_put,
	.acme_select = sq_acme_select,
	.nonce_put = sq_nonce_put,
	.nonce_use = sq_nonce_use,
};
