/*
 * db_pg: the PostgreSQL backend of db.h (libpq).
 *
 * One connection per struct db.  dataSource is a libpq connection URI
 * (postgresql://user@host:port/db?...) or a key=value conninfo string;
 * the password comes from libpq's own places (PGPASSFILE or ~/.pgpass, a
 * service file), never from the configuration: a dataSource that holds
 * one is refused.
 *
 * Several hosts share one database, so what SQLite's BEGIN IMMEDIATE
 * gives on one host is rebuilt here:
 *   - db_begin() takes a transaction-scoped advisory lock (DB_PG_LOCK)
 *     at once, so every writer of every host is serialised at the start
 *     of its transaction, exactly as db.h promises; the busy timeout is
 *     the lock_timeout.  Readers take no lock.
 *   - writes made outside a caller's transaction run in one of their
 *     own, under the same lock;
 *   - the structural guarantees hold even without the lock: a spent
 *     token is INSERT ... ON CONFLICT DO NOTHING with the row count
 *     checked, serials are unique by the primary key, never by a read.
 * Statements run in READ COMMITTED under that lock, so serialization
 * failures (SQLSTATE 40001) and deadlocks (40P01) should not happen; if
 * one does, a write on its own is retried DB_PG_RETRIES times, and one
 * inside the caller's transaction is CA_UNAVAIL (the whole request is
 * for the client to retry).  A lost connection, a server that is down,
 * starting or shutting down, or a lock wait past the busy timeout is
 * CA_UNAVAIL; everything else is CA_FAIL.  A broken connection is reset
 * at the next transaction or read, so a long-lived handler serves again
 * after the server restarts without being restarted itself.
 *
 * Nothing is left on the server's session: every setting is SET LOCAL in
 * the transaction it is for, every read outside a caller's transaction
 * runs in a READ ONLY transaction of its own (one pipelined round trip),
 * no named prepared statement, temporary table or session lock.  A
 * pooler in transaction mode (pgbouncer), which runs each transaction on
 * whichever server session is free, is thus as safe as a connection of
 * our own.
 *
 * Values only ever reach SQL as parameters.  db.c has checked every
 * argument before these functions run.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "db.h"
#include "err.h"
#include "timeutil.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * The advisory lock every writer holds for its transaction: "inca"
 * (0x696e6361) and the schema's own number, so two CAs in one database
 * (one per schema) do not wait for each other.
 */
#define DB_PG_LOCK_KEY		"(1768842081, " \
	"hashtext(coalesce(current_schema(), '')))"
#define DB_PG_LOCK_SQL		"pg_advisory_xact_lock" DB_PG_LOCK_KEY
#define DB_PG_TRYLOCK_SQL	"pg_try_advisory_xact_lock" DB_PG_LOCK_KEY
/* Attempts of a write on its own after a serialization failure. */
#define DB_PG_RETRIES		3
/* Seconds a connection attempt may take unless dataSource says. */
#define DB_PG_CONNECT_TIMEOUT	"10"

/*
 * Migration steps, one per schema version, the same tables as db_sqlite.c
 * (BIGINT for INTEGER, BYTEA for BLOB).  Serials sort as bytes (COLLATE
 * "C"), as SQLite's text does, whatever the database's locale.  Never
 * edit a step that has shipped.
 */
static const char *const steps[] = {
	/* 0 -> 1: the initial schema. */
	"CREATE TABLE certs ("
	"  serial       TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  issued_at    BIGINT  NOT NULL,"
	"  not_before   BIGINT  NOT NULL,"
	"  not_after    BIGINT  NOT NULL,"
	"  subject      TEXT    NOT NULL,"
	"  sans         TEXT    NOT NULL,"
	"  provisioner  TEXT    NOT NULL,"
	"  renewed_from TEXT COLLATE \"C\" NULL REFERENCES certs (serial),"
	"  der          BYTEA   NOT NULL"
	");"
	"CREATE INDEX certs_not_after ON certs (not_after);"
	"CREATE INDEX certs_issued_at ON certs (issued_at, serial);"
	"CREATE INDEX certs_renewed_from ON certs (renewed_from);"
	"CREATE TABLE revocations ("
	"  serial       TEXT COLLATE \"C\" NOT NULL PRIMARY KEY "
	"               REFERENCES certs (serial),"
	"  revoked_at   BIGINT  NOT NULL,"
	"  reason_code  INTEGER NOT NULL,"
	"  reason       TEXT    NULL,"
	"  method       TEXT    NOT NULL"
	");"
	"CREATE INDEX revocations_revoked_at ON revocations (revoked_at);"
	"CREATE TABLE used_tokens ("
	"  provisioner  TEXT    NOT NULL,"
	"  jti          TEXT    NOT NULL,"
	"  expires_at   BIGINT  NOT NULL,"
	"  PRIMARY KEY (provisioner, jti)"
	");"
	"CREATE INDEX used_tokens_expires_at ON used_tokens (expires_at);"
	"CREATE TABLE crl ("
	"  number       BIGINT  NOT NULL PRIMARY KEY,"
	"  this_update  BIGINT  NOT NULL,"
	"  next_update  BIGINT  NOT NULL,"
	"  der          BYTEA   NOT NULL"
	");"
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"INSERT INTO schema_version (version) VALUES (1);",
	/* 1 -> 2: the token clock (db.h: db_use_token). */
	"CREATE TABLE token_clock ("
	"  pruned_before BIGINT NOT NULL,"
	"  minted_after  BIGINT NOT NULL"
	");"
	"INSERT INTO token_clock (pruned_before, minted_after) VALUES (0, 0);"
	"UPDATE schema_version SET version = 2;",
	/* 2 -> 3: the revocations each CRL was made from (db.h). */
	("ALTER TABLE crl ADD COLUMN revocations BIGINT NOT NULL DEFAULT -1;"
	"UPDATE schema_version SET version = 3;"),
	/*
	 * 3 -> 4: ACME objects and nonces (db.h).  ids list in byte order,
	 * as in SQLite.
	 */
	("CREATE TABLE acme_objects ("
	"  kind         TEXT COLLATE \"C\" NOT NULL,"
	"  id           TEXT COLLATE \"C\" NOT NULL,"
	"  account      TEXT COLLATE \"C\" NULL,"
	"  lookup       TEXT COLLATE \"C\" NULL,"
	"  status       TEXT    NOT NULL,"
	"  expires_at   BIGINT  NOT NULL,"
	"  body         TEXT    NOT NULL,"
	"  PRIMARY KEY (kind, id),"
	"  UNIQUE (kind, lookup)"
	");"
	"CREATE INDEX acme_objects_account ON acme_objects (kind, account, id);"
	"CREATE TABLE acme_nonces ("
	"  nonce        TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,"
	"  expires_at   BIGINT  NOT NULL"
	");"
	"CREATE INDEX acme_nonces_expires_at ON acme_nonces (expires_at);"
	"UPDATE schema_version SET version = 4;"),
};

_Static_assert(NELEM(steps) == DB_SCHEMA_VERSION,
    "one PostgreSQL migration step per schema version");

struct pg {
	PGconn		*c;
	enum db_mode	 mode;
	int		 busy_ms;
	int		 open;		/* a transaction of ours is open */
	int		 retry;		/* the last failure was 40001/40P01 */
	int		 broken;	/* the connection failed: reset it */
	char		 name[256];
};

/* libpq's messages end in a newline; ours do not. */
static const char *
pg_msg(const char *m)
{
	static char buf[512];
	size_t n;

	if (m == NULL || *m == '\0')
		return "unknown error";
	n = strcspn(m, "\n");
	if (n >= sizeof(buf))
		n = sizeof(buf) - 1;
	memcpy(buf, m, n);
	buf[n] = '\0';
	return buf;
}

/*
 * Record the failure of op from result r (NULL: the connection's).  Lost
 * connections, servers going away or not yet there, lock waits past the
 * busy timeout and resource shortages mean "retry later"; so do
 * serialization failures, which also set p->retry for the callers that
 * may retry on their own.  Everything else is a failure.
 */
static int
pg_fail(struct pg *p, const PGresult *r, const char *op)
{
	const char *state = r != NULL ?
	    PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = r != NULL ?
	    PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (msg == NULL)
		msg = PQerrorMessage(p->c);
	p->retry = 0;
	/*
	 * No SQLSTATE: libpq's own failure, which is the connection's (the
	 * server went away, possibly before libpq has marked it bad).
	 */
	if (PQstatus(p->c) == CONNECTION_BAD || state == NULL) {
		p->broken = 1;
		return err_set(CA_UNAVAIL, "database unavailable: %s: %s", op,
		    pg_msg(msg));
	}
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) {
		p->retry = 1;
		return err_set(CA_UNAVAIL, "database busy: %s: %s", op,
		    pg_msg(msg));
	}
	if (strcmp(state, "55P03") == 0)
		return err_set(CA_UNAVAIL, "database busy: %s: another writer "
		    "held the lock past the busy timeout", op);
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
	    strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	    strcmp(state, "57P03") == 0)
		return err_set(CA_UNAVAIL, "database unavailable: %s: %s", op,
		    pg_msg(msg));
	return err_set(CA_FAIL, "database %s: %s", op, pg_msg(msg));
}

/*
 * Run sql with n text parameters (vals; a NULL entry is SQL NULL), or
 * binary ones where lens/fmts say so, and check its status is want.  On
 * success *out (if not NULL) is the result, the caller's to PQclear.
 */
static int
pg_run(struct pg *p, const char *sql, int n, const char *const *vals,
    const int *lens, const int *fmts, ExecStatusType want, PGresult **out,
    const char *op)
{
	PGresult *r;
	int ret;

	if (out != NULL)
		*out = NULL;
	if (n == 0 && vals == NULL)
		r = PQexec(p->c, sql);
	else
		r = PQexecParams(p->c, sql, n, NULL, vals, lens, fmts, 0);
	if (r == NULL || PQresultStatus(r) != want) {
		if (r != NULL && PQresultStatus(r) != PGRES_FATAL_ERROR &&
		    PQresultStatus(r) != PGRES_NONFATAL_ERROR)
			ret = err_set(CA_FAIL, "database %s: unexpected result "
			    "%s", op, PQresStatus(PQresultStatus(r)));
		else
			ret = pg_fail(p, r, op);
		PQclear(r);
		return ret;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return CA_OK;
}

static int
pg_exec(struct pg *p, const char *sql, const char *op)
{
	return pg_run(p, sql, 0, NULL, NULL, NULL, PGRES_COMMAND_OK, NULL, op);
}

/* A text column as an int64; its text must be a whole decimal number. */
static int
col_int(const PGresult *r, int row, int col, int64_t *v)
{
	const char *s = PQgetvalue(r, row, col);
	char *end;
	long long x;

	if (PQgetisnull(r, row, col) || s == NULL || *s == '\0')
		return -1;
	x = strtoll(s, &end, 10);
	if (*end != '\0')
		return -1;
	*v = x;
	return 0;
}

/*
 * Whether a transaction of ours is open: kept here rather than asked of
 * libpq, which cannot tell once the connection is lost.  A connection
 * lost inside a transaction is never made again under it: its writes are
 * gone, and the next ones must not run on their own.
 */
static int
in_tx(const struct pg *p)
{
	return p->open;
}

/*
 * The settings of every transaction of ours, as the statement that makes
 * them.  Each is SET LOCAL, so it ends with the transaction: nothing is
 * left on the server's session, which a pooler in transaction mode
 * (pgbouncer) hands to another client at the next transaction, and gives
 * this one back on another session.  lock_timeout 0 would wait for ever:
 * a busy timeout of 0 is a try-lock at db_begin() instead (pg_begin), and
 * other lock waits get 1 ms.
 */
static void
tx_settings(const struct pg *p, char *sql, size_t size)
{
	snprintf(sql, size, "SET LOCAL lock_timeout = %d",
	    p->busy_ms > 0 ? p->busy_ms : 1);
}

/*
 * A connection that broke (the server restarted, a network cut) is made
 * again before a transaction or a read on its own; never inside one,
 * whose work is lost with the connection.
 */
static int
pg_ensure(struct pg *p)
{
	if (PQstatus(p->c) == CONNECTION_OK && !p->broken)
		return CA_OK;
	PQreset(p->c);
	if (PQstatus(p->c) != CONNECTION_OK)
		return err_set(CA_UNAVAIL, "database unavailable: %s: %s",
		    p->name, pg_msg(PQerrorMessage(p->c)));
	p->broken = 0;
	return CA_OK;
}

/*
 * Whether a statement outside a transaction failed for want of a
 * connection, which one reset may bring back.
 */
static int
lost(const struct pg *p)
{
	return p->broken || PQstatus(p->c) == CONNECTION_BAD;
}

/*
 * The end of a read of our own (read_start): COMMIT's result and the
 * pipeline's end are collected, the pipeline left, and a transaction the
 * read left open or failed (its query failed) rolled back.  ret is the
 * read's outcome so far, returned unless the read succeeded and its
 * COMMIT did not.  Results are taken a bounded number of times: a lost
 * connection gives no end.
 */
static int
read_end(struct pg *p, int ret, const char *op)
{
	PGresult *r;
	ExecStatusType st;
	int i, nulls = 0;

	if (PQpipelineStatus(p->c) == PQ_PIPELINE_OFF)
		return ret;
	for (i = 0; i < 16 && nulls < 2; i++) {
		if ((r = PQgetResult(p->c)) == NULL) {
			if (PQstatus(p->c) != CONNECTION_OK)
				break;
			nulls++;
			continue;
		}
		nulls = 0;
		st = PQresultStatus(r);
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (st != PGRES_COMMAND_OK && st != PGRES_PIPELINE_ABORTED &&
		    ret == CA_OK)
			ret = pg_fail(p, r, op);
		PQclear(r);
	}
	if (!PQexitPipelineMode(p->c)) {
		/* Left mid-pipeline: the connection is made again. */
		if (ret == CA_OK)
			ret = err_set(CA_UNAVAIL, "database unavailable: %s: %s",
			    op, pg_msg(PQerrorMessage(p->c)));
		p->broken = 1;
		return ret;
	}
	if (PQstatus(p->c) == CONNECTION_OK &&
	    PQtransactionStatus(p->c) != PQTRANS_IDLE)
		PQclear(PQexec(p->c, "ROLLBACK"));
	return ret;
}

/*
 * A read outside a transaction runs in a transaction of its own, READ
 * ONLY and with the settings of every transaction: BEGIN, the settings,
 * the query and COMMIT sent as one pipeline, so in one round trip, as the
 * query alone was.  Once BEGIN's and the settings' results are in, the
 * query's come next (row by row if single): the caller takes them until
 * PQgetResult() gives NULL, then calls read_end().  A reader thus changes
 * nothing, whatever it is asked to run, and holds no state on the
 * server's session.
 */
static int
read_start(struct pg *p, const char *sql, int n, const char *const *vals,
    int single, const char *op)
{
	char set[64];
	PGresult *r;
	int ret = CA_OK, i;

	tx_settings(p, set, sizeof(set));
	if (!PQenterPipelineMode(p->c) ||
	    !PQsendQueryParams(p->c, "BEGIN READ ONLY", 0, NULL, NULL, NULL,
	    NULL, 0) ||
	    !PQsendQueryParams(p->c, set, 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQsendQueryParams(p->c, sql, n, NULL, vals, NULL, NULL, 0) ||
	    !PQsendQueryParams(p->c, "COMMIT", 0, NULL, NULL, NULL, NULL, 0) ||
	    !PQpipelineSync(p->c))
		return read_end(p, pg_fail(p, NULL, op), op);
	/* BEGIN's result and SET's, each ended by a NULL. */
	for (i = 0; i < 2 && ret == CA_OK; i++) {
		r = PQgetResult(p->c);
		if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK)
			ret = pg_fail(p, r, op);
		PQclear(r);
		if (ret == CA_OK && (r = PQgetResult(p->c)) != NULL) {
			PQclear(r);
			ret = err_set(CA_FAIL, "database %s: unexpected result",
			    op);
		}
	}
	if (ret == CA_OK && single && !PQsetSingleRowMode(p->c))
		ret = pg_fail(p, NULL, op);
	if (ret != CA_OK) {
		/* The query's results, which nobody will read. */
		for (i = 0; i < 16 && (r = PQgetResult(p->c)) != NULL; i++)
			PQclear(r);
		return read_end(p, ret, op);
	}
	return CA_OK;
}

/*
 * A read whose results the caller takes with PQgetResult() until NULL,
 * then ends with read_end().  Inside a transaction it is the query alone;
 * outside one, a read transaction of its own (read_start), and a lost
 * connection is made again once (nothing was done yet); inside one it is
 * the caller's failure.
 */
static int
pg_read(struct pg *p, const char *sql, int n, const char *const *vals,
    int single, const char *op)
{
	int ret = CA_OK, i;

	if (in_tx(p)) {
		if (PQsendQueryParams(p->c, sql, n, NULL, vals, NULL, NULL,
		    0) && (!single || PQsetSingleRowMode(p->c)))
			return CA_OK;
		return pg_fail(p, NULL, op);
	}
	for (i = 0; i < 2; i++) {
		if ((ret = pg_ensure(p)) != CA_OK)
			return ret;
		if ((ret = read_start(p, sql, n, vals, single, op)) == CA_OK ||
		    !lost(p))
			break;
	}
	return ret;
}

/*
 * A query whose rows come back whole (*out, the caller's to PQclear), in
 * the caller's transaction or in a read transaction of its own.
 */
static int
pg_select(struct pg *p, const char *sql, int n, const char *const *vals,
    PGresult **out, const char *op)
{
	PGresult *r, *extra;
	int ret, i;

	*out = NULL;
	if (in_tx(p))
		return pg_run(p, sql, n, vals, NULL, NULL, PGRES_TUPLES_OK, out,
		    op);
	if ((ret = pg_read(p, sql, n, vals, 0, op)) != CA_OK)
		return ret;
	r = PQgetResult(p->c);
	if (r == NULL || PQresultStatus(r) != PGRES_TUPLES_OK) {
		ret = pg_fail(p, r, op);
		PQclear(r);
		r = NULL;
	}
	for (i = 0; i < 16 && (extra = PQgetResult(p->c)) != NULL; i++)
		PQclear(extra);
	if ((ret = read_end(p, ret, op)) == CA_OK)
		*out = r;
	else
		PQclear(r);
	return ret;
}

static void
pg_set_name(struct pg *p)
{
	const char *host = PQhost(p->c), *port = PQport(p->c);
	const char *db = PQdb(p->c), *user = PQuser(p->c);

	snprintf(p->name, sizeof(p->name), "postgresql %s on %s%s%s as %s",
	    db != NULL ? db : "?", host != NULL && *host != '\0' ? host :
	    "localhost", port != NULL && *port != '\0' ? ":" : "",
	    port != NULL ? port : "", user != NULL ? user : "?");
}

/* dataSource must parse, and must not hold the password. */
static int
check_source(const char *source)
{
	PQconninfoOption *o, *opts;
	char *why = NULL;
	int ret = CA_OK;

	if ((opts = PQconninfoParse(source, &why)) == NULL) {
		ret = err_set(CA_FAIL, "ca.json: db.dataSource: %s",
		    why != NULL ? pg_msg(why) : "out of memory");
		PQfreemem(why);
		return ret;
	}
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val != NULL) {
			ret = err_set(CA_FAIL, "ca.json: db.dataSource holds a "
			    "password: keep it in a password file (PGPASSFILE, "
			    "~/.pgpass) or a service file instead");
			break;
		}
	PQconninfoFree(opts);
	return ret;
}

/*
 * The server's notices and warnings ("terminating connection due to
 * immediate shutdown") are not libpq's to print: a program's stderr
 * carries its one message, which the failure itself gives.
 */
static void
pg_quiet(void *arg, const char *message)
{
}

static void
pg_close(void *conn)
{
	struct pg *p = conn;

	if (p == NULL)
		return;
	PQfinish(p->c);
	free(p);
}

/*
 * The connect_timeout in force (ours or the dataSource's), in ms; 0 for
 * none.  As libpq reads it: at least 2 seconds, and per host tried.
 */
static int64_t
pg_connect_ms(PGconn *c)
{
	PQconninfoOption *o, *opts;
	int64_t secs = 0;

	if ((opts = PQconninfo(c)) == NULL)
		return (int64_t)atoi(DB_PG_CONNECT_TIMEOUT) * 1000;
	for (o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, "connect_timeout") == 0 &&
		    o->val != NULL)
			secs = strtoll(o->val, NULL, 10);
	PQconninfoFree(opts);
	if (secs <= 0)
		return 0;
	return (secs < 2 ? 2 : secs) * 1000;
}

/*
 * Drive PQconnectPoll to the end: 1 when it ended (well or not: see
 * PQstatus), 0 when connect_timeout passed on one host.  A new socket is
 * a new host tried, with a new deadline, as libpq's own wait does.
 */
static int
pg_connect_wait(PGconn *c)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	int64_t limit = pg_connect_ms(c), deadline = 0, left;
	struct pollfd pf;
	int fd = -1, n;

	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		if ((pf.fd = PQsocket(c)) < 0)
			return 1;
		if (pf.fd != fd) {
			fd = pf.fd;
			deadline = time_mono_ms() + limit;
		}
		pf.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		left = limit == 0 ? -1 : deadline - time_mono_ms();
		if (limit != 0 && left <= 0)
			return 0;
		if ((n = poll(&pf, 1, left > INT_MAX ? INT_MAX : (int)left)) < 0 &&
		    errno != EINTR)
			return 1;
		if (n == 0)
			return 0;
		if (n > 0)
			st = PQconnectPoll(c);
	}
	return 1;
}

static int
pg_open(const char *home, const char *source, enum db_mode mode, void **conn)
{
	/*
	 * Defaults first: with expand_dbname the dataSource's own settings
	 * replace them.  A writer wants the primary; a reader takes any.
	 */
	const char *keys[] = { "connect_timeout", "client_encoding",
	    "fallback_application_name", "target_session_attrs", "dbname",
	    NULL };
	const char *vals[] = { DB_PG_CONNECT_TIMEOUT, "UTF8", "inca",
	    mode == DB_READ ? "any" : "read-write", source, NULL };
	struct pg *p;
	int ret;

	*conn = NULL;
	if ((ret = check_source(source)) != CA_OK)
		return ret;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	p->mode = mode;
	p->busy_ms = DB_BUSY_TIMEOUT_MS;
	/* Quiet before the first byte: a notice may come while connecting. */
	p->c = PQconnectStartParams(keys, vals, 1);
	if (p->c == NULL) {
		free(p);
		return err_set(CA_FAIL, "out of memory");
	}
	PQsetNoticeProcessor(p->c, pg_quiet, NULL);
	if (PQstatus(p->c) != CONNECTION_BAD && !pg_connect_wait(p->c)) {
		ret = err_set(CA_UNAVAIL, "database unavailable: no connection "
		    "within connect_timeout");
		pg_close(p);
		return ret;
	}
	if (PQstatus(p->c) != CONNECTION_OK) {
		/* A password was wanted and none was found: configuration. */
		ret = err_set(PQconnectionNeedsPassword(p->c) ? CA_FAIL :
		    CA_UNAVAIL, "database unavailable: %s",
		    pg_msg(PQerrorMessage(p->c)));
		pg_close(p);
		return ret;
	}
	pg_set_name(p);
	*conn = p;
	return CA_OK;
}

static const char *
pg_name(void *conn)
{
	return ((struct pg *)conn)->name;
}

/* Nothing is sent: every transaction of ours sets it (tx_settings). */
static int
pg_set_busy_timeout(void *conn, int ms)
{
	((struct pg *)conn)->busy_ms = ms;
	return CA_OK;
}

static void
pg_rollback(void *conn)
{
	struct pg *p = conn;
	PGresult *r;

	/* On error paths: keep the caller's message, ignore failures. */
	if (PQstatus(p->c) == CONNECTION_OK &&
	    PQtransactionStatus(p->c) != PQTRANS_IDLE) {
		r = PQexec(p->c, "ROLLBACK");
		PQclear(r);
	}
	p->open = 0;
}

/*
 * BEGIN, the settings of the transaction and the writers' lock in one
 * round trip (one simple query of three statements).
 */
static int
begin_once(struct pg *p)
{
	char set[64], sql[256];
	PGresult *r;
	int ret;

	tx_settings(p, set, sizeof(set));
	snprintf(sql, sizeof(sql), "BEGIN; %s; SELECT %s", set,
	    p->busy_ms > 0 ? DB_PG_LOCK_SQL : DB_PG_TRYLOCK_SQL);
	if ((ret = pg_run(p, sql, 0, NULL, NULL, NULL, PGRES_TUPLES_OK, &r,
	    "begin transaction")) != CA_OK)
		return ret;
	if (p->busy_ms == 0 &&
	    (PQntuples(r) != 1 || strcmp(PQgetvalue(r, 0, 0), "t") != 0))
		ret = err_set(CA_UNAVAIL, "database busy: begin transaction: "
		    "another writer holds the lock");
	PQclear(r);
	return ret;
}

static int
pg_begin(void *conn)
{
	struct pg *p = conn;
	int ret, i;

	if (p->mode == DB_READ)
		return err_set(CA_FAIL, "database opened read-only: no "
		    "transaction");
	if (in_tx(p))
		return err_set(CA_FAIL, "database begin: a transaction is "
		    "already open");
	for (i = 0; i < 2; i++) {
		if ((ret = pg_ensure(p)) != CA_OK)
			return ret;
		if ((ret = begin_once(p)) == CA_OK) {
			p->open = 1;
			return CA_OK;
		}
		pg_rollback(p);
		/* Nothing was done yet: one reset and a second try. */
		if (!lost(p))
			break;
	}
	return ret;
}

static int
pg_commit(void *conn)
{
	struct pg *p = conn;
	PGresult *r;
	int ret;

	if (!in_tx(p))
		return err_set(CA_FAIL, "database commit: no transaction open");
	switch (PQtransactionStatus(p->c)) {
	case PQTRANS_INTRANS:
		break;
	case PQTRANS_INERROR:
		/* COMMIT would roll back and report success. */
		pg_rollback(p);
		return err_set(CA_FAIL, "database commit: the transaction "
		    "had failed");
	default:
		pg_rollback(p);
		return err_set(CA_UNAVAIL, "database unavailable: commit: %s",
		    pg_msg(PQerrorMessage(p->c)));
	}
	ret = pg_run(p, "COMMIT", 0, NULL, NULL, NULL, PGRES_COMMAND_OK, &r,
	    "commit");
	p->open = 0;
	if (ret != CA_OK) {
		pg_rollback(p);
		return ret;
	}
	if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
		ret = err_set(CA_FAIL, "database commit: rolled back (%s)",
		    PQcmdStatus(r));
	PQclear(r);
	return ret;
}

static int
pg_savepoint(void *conn)
{
	struct pg *p = conn;

	if (!in_tx(p))
		return err_set(CA_FAIL, "database savepoint: no transaction "
		    "open");
	return pg_exec(p, "SAVEPOINT request", "savepoint");
}

static int
pg_release(void *conn)
{
	return pg_exec(conn, "RELEASE request", "release savepoint");
}

static void
pg_rollback_to(void *conn)
{
	struct pg *p = conn;
	PGresult *r;

	/* On error paths: keep the caller's message, ignore failures. */
	if (PQstatus(p->c) == CONNECTION_OK && in_tx(p) &&
	    PQtransactionStatus(p->c) != PQTRANS_IDLE) {
		r = PQexec(p->c, "ROLLBACK TO request; RELEASE request");
		PQclear(r);
	}
}

static int
pg_schema_version(void *conn, int *version)
{
	struct pg *p = conn;
	PGresult *r;
	int64_t ntables, v = 0;
	int ret;

	*version = 0;
	/* The tables of the schema this connection writes to. */
	if ((ret = pg_select(p, "SELECT count(*), "
	    "count(*) FILTER (WHERE c.relname = 'schema_version') "
	    "FROM pg_class c JOIN pg_namespace n "
	    "ON n.oid = c.relnamespace "
	    "WHERE n.nspname = current_schema() "
	    "AND c.relkind IN ('r', 'p')", 0, NULL, &r, "read schema")) !=
	    CA_OK)
		return ret;
	if (PQntuples(r) != 1 || col_int(r, 0, 0, &ntables) != 0 ||
	    col_int(r, 0, 1, &v) != 0) {
		PQclear(r);
		return err_set(CA_FAIL, "database read schema: no result");
	}
	PQclear(r);
	if (v == 0) {
		if (ntables != 0)
			return err_set(CA_FAIL, "database has tables but no "
			    "schema_version: not a CA database");
		return CA_OK;
	}
	if ((ret = pg_select(p, "SELECT version FROM schema_version", 0, NULL,
	    &r, "read schema version")) != CA_OK)
		return ret;
	if (PQntuples(r) != 1 || col_int(r, 0, 0, &v) != 0 || v < 1 ||
	    v > 1000000) {
		PQclear(r);
		return err_set(CA_FAIL, "database schema_version table is "
		    "damaged");
	}
	PQclear(r);
	*version = (int)v;
	return CA_OK;
}

static int
pg_exec_step(void *conn, const char *sql)
{
	return pg_exec(conn, sql, "schema migration");
}

/*
 * Run body as a write: inside the caller's transaction as it is, else in
 * a transaction of its own under the writers' lock, retried a bounded
 * number of times after a serialization failure.
 */
static int
pg_write(struct pg *p, int (*body)(struct pg *, const void *, void *),
    const void *in, void *out)
{
	int ret, i;

	if (p->mode == DB_READ)
		return err_set(CA_FAIL, "database opened read-only: no "
		    "writes");
	if (in_tx(p))
		return body(p, in, out);
	for (i = 0; i < DB_PG_RETRIES; i++) {
		p->retry = 0;
		if ((ret = pg_begin(p)) != CA_OK)
			return ret;
		if ((ret = body(p, in, out)) == CA_OK &&
		    (ret = pg_commit(p)) == CA_OK)
			return CA_OK;
		pg_rollback(p);
		if (!p->retry)
			break;
	}
	return ret;
}

static int
run_int(struct pg *p, const char *sql, int64_t v, const char *op)
{
	char a[24];
	const char *vals[1] = { a };

	snprintf(a, sizeof(a), "%" PRId64, v);
	return pg_run(p, sql, 1, vals, NULL, NULL, PGRES_COMMAND_OK, NULL, op);
}

/*
 * db_use_token() (see db.h and db_sqlite.c's spend, whose rules these
 * are).  Inside the writers' lock nothing else moves token_clock; the
 * row is read FOR UPDATE all the same, so that a writer without the lock
 * could never prune under a spender that read the old point.  A prune
 * that happened before a refusal stays if the caller commits: it is
 * valid on its own (the point only rises, and only forgets what expired
 * before it).
 */
static int
spend(struct pg *p, const void *in, void *out)
{
	const struct db_token *t = in;
	const int64_t *retention = out;
	PGresult *r;
	int64_t pruned, floor, cut;
	char exp[24];
	const char *vals[3];
	int ret;

	if ((ret = pg_run(p, "SELECT pruned_before, minted_after FROM "
	    "token_clock FOR UPDATE", 0, NULL, NULL, NULL, PGRES_TUPLES_OK, &r,
	    "read token clock")) != CA_OK)
		return ret;
	if (PQntuples(r) != 1 || col_int(r, 0, 0, &pruned) != 0 ||
	    col_int(r, 0, 1, &floor) != 0) {
		PQclear(r);
		return err_set(CA_FAIL, "database token_clock table is "
		    "damaged");
	}
	PQclear(r);
	if ((ret = db_token_clock_check(t, pruned, floor)) != CA_OK)
		return ret;
	cut = t->now - *retention;
	if (cut > pruned &&
	    ((ret = run_int(p, "DELETE FROM used_tokens WHERE expires_at < $1",
	    cut, "prune tokens")) != CA_OK ||
	    (ret = run_int(p, "UPDATE token_clock SET pruned_before = $1 "
	    "WHERE pruned_before < $1", cut, "advance token clock")) != CA_OK))
		return ret;

	/*
	 * DO NOTHING on this key only, then count the rows: a racing
	 * spender on another host waits for this row's transaction and then
	 * inserts nothing.  Any other constraint still fails loudly.
	 */
	snprintf(exp, sizeof(exp), "%" PRId64, t->expires_at);
	vals[0] = t->provisioner;
	vals[1] = t->jti;
	vals[2] = exp;
	if ((ret = pg_run(p, "INSERT INTO used_tokens (provisioner, jti, "
	    "expires_at) VALUES ($1, $2, $3) "
	    "ON CONFLICT (provisioner, jti) DO NOTHING", 3, vals, NULL, NULL,
	    PGRES_COMMAND_OK, &r, "use token")) != CA_OK)
		return ret;
	if (strcmp(PQcmdTuples(r), "1") != 0)
		ret = err_set(CA_REFUSED, "token already used");
	PQclear(r);
	return ret;
}

static int
pg_use_token(void *conn, const struct db_token *t, int64_t retention)
{
	return pg_write(conn, spend, t, &retention);
}

/*
 * Neither a duplicate serial nor a missing renewed_from may raise an
 * error inside the caller's transaction (PostgreSQL would abort all of
 * it, where SQLite undoes the statement alone): the insert does nothing
 * instead, and the rare refusal is explained by a second look.
 */
static int
put(struct pg *p, const void *in, void *out)
{
	const struct db_cert *c = in;
	char ia[24], nb[24], na[24];
	const char *vals[9];
	int lens[9] = { 0 }, fmts[9] = { 0 };
	PGresult *r;
	int ret, dup;

	snprintf(ia, sizeof(ia), "%" PRId64, c->issued_at);
	snprintf(nb, sizeof(nb), "%" PRId64, c->not_before);
	snprintf(na, sizeof(na), "%" PRId64, c->not_after);
	vals[0] = c->serial;
	vals[1] = ia;
	vals[2] = nb;
	vals[3] = na;
	vals[4] = c->subject;
	vals[5] = c->sans_json;
	vals[6] = c->provisioner;
	vals[7] = c->renewed_from;
	vals[8] = (const char *)c->der;
	lens[8] = (int)c->der_len;
	fmts[8] = 1;
	if ((ret = pg_run(p, "INSERT INTO certs (serial, issued_at, "
	    "not_before, not_after, subject, sans, provisioner, renewed_from, "
	    "der) SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 "
	    "WHERE $8::text IS NULL OR EXISTS "
	    "(SELECT 1 FROM certs WHERE serial = $8::text) "
	    "ON CONFLICT (serial) DO NOTHING", 9, vals, lens, fmts,
	    PGRES_COMMAND_OK, &r, "insert certificate")) != CA_OK)
		return ret;
	dup = strcmp(PQcmdTuples(r), "1") != 0;
	PQclear(r);
	if (!dup)
		return CA_OK;
	/* Nothing inserted: the renewed certificate missing, or the serial. */
	if (c->renewed_from != NULL) {
		if ((ret = pg_run(p, "SELECT 1 FROM certs WHERE serial = $1", 1,
		    &vals[7], NULL, NULL, PGRES_TUPLES_OK, &r,
		    "insert certificate")) != CA_OK)
			return ret;
		dup = PQntuples(r) > 0;
		PQclear(r);
		if (!dup)
			return err_set(CA_FAIL, "database: certificate %s "
			    "renews %s, which is not stored", c->serial,
			    c->renewed_from);
	}
	return err_set(CA_FAIL, "database: certificate serial %s already "
	    "exists", c->serial);
}

static int
pg_put_cert(void *conn, const struct db_cert *c)
{
	return pg_write(conn, put, c, NULL);
}

/* The same no-error rule as put(); the first revocation stands. */
static int
revoke(struct pg *p, const void *in, void *out)
{
	const struct db_revocation *rv = in;
	enum db_refusal *why = out;
	char at[24], code[8];
	const char *vals[5];
	PGresult *r;
	int ret, stored;

	snprintf(at, sizeof(at), "%" PRId64, rv->revoked_at);
	snprintf(code, sizeof(code), "%d", rv->reason_code);
	vals[0] = rv->serial;
	vals[1] = at;
	vals[2] = code;
	vals[3] = rv->reason;
	vals[4] = rv->method;
	if ((ret = pg_run(p, "INSERT INTO revocations (serial, revoked_at, "
	    "reason_code, reason, method) SELECT $1, $2, $3, $4, $5 "
	    "WHERE EXISTS (SELECT 1 FROM certs WHERE serial = $1) "
	    "ON CONFLICT (serial) DO NOTHING", 5, vals, NULL, NULL,
	    PGRES_COMMAND_OK, &r, "revoke")) != CA_OK)
		return ret;
	stored = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (stored)
		return CA_OK;
	if ((ret = pg_run(p, "SELECT 1 FROM revocations WHERE serial = $1",
	    1, vals, NULL, NULL, PGRES_TUPLES_OK, &r, "revoke")) != CA_OK)
		return ret;
	stored = PQntuples(r) > 0;
	PQclear(r);
	if (stored) {
		*why = DB_REFUSED_ALREADY_REVOKED;
		return err_set(CA_REFUSED, "certificate %s already revoked",
		    rv->serial);
	}
	*why = DB_REFUSED_NOT_FOUND;
	return err_set(CA_REFUSED, "certificate %s not found", rv->serial);
}

static int
pg_revoke(void *conn, const struct db_revocation *rv, enum db_refusal *why)
{
	return pg_write(conn, revoke, rv, why);
}

static int
pg_is_revoked(void *conn, const char *serial, int *revoked)
{
	struct pg *p = conn;
	const char *vals[1] = { serial };
	PGresult *r;
	int ret;

	*revoked = 0;
	if ((ret = pg_select(p, "SELECT 1 FROM revocations WHERE serial = $1",
	    1, vals, &r, "check revocation")) != CA_OK)
		return ret;
	*revoked = PQntuples(r) > 0;
	PQclear(r);
	return CA_OK;
}

#define LIST_SELECT							\
	"SELECT c.serial, c.issued_at, c.not_before, c.not_after, "	\
	"c.subject, c.sans, c.provisioner, c.renewed_from, c.der, "	\
	"r.serial IS NOT NULL, r.revoked_at, r.reason_code, r.reason, "	\
	"r.method "
#define LIST_COLUMNS							\
	LIST_SELECT "FROM certs c LEFT JOIN revocations r "		\
	"ON r.serial = c.serial "
#define LIST_REVOKED							\
	LIST_SELECT "FROM revocations r JOIN certs c "			\
	"ON c.serial = r.serial"
#define LIST_ORDER	" ORDER BY c.issued_at, c.serial"

static const char *
col_text(const PGresult *r, int col)
{
	return PQgetisnull(r, 0, col) ? NULL : PQgetvalue(r, 0, col);
}

/* Give one streamed row to fn. */
static int
list_row(const PGresult *r, db_row_fn fn, void *arg)
{
	struct db_row row;
	unsigned char *der = NULL;
	size_t n = 0;
	int64_t v = 0;
	int ret;

	memset(&row, 0, sizeof(row));
	row.cert.serial = col_text(r, 0);
	row.cert.subject = col_text(r, 4);
	row.cert.sans_json = col_text(r, 5);
	row.cert.provisioner = col_text(r, 6);
	row.cert.renewed_from = col_text(r, 7);
	row.revoked = strcmp(PQgetvalue(r, 0, 9), "t") == 0;
	if (!PQgetisnull(r, 0, 8))
		der = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0,
		    8), &n);
	row.cert.der = der;
	row.cert.der_len = n;
	ret = CA_OK;
	if (col_int(r, 0, 1, &row.cert.issued_at) != 0 ||
	    col_int(r, 0, 2, &row.cert.not_before) != 0 ||
	    col_int(r, 0, 3, &row.cert.not_after) != 0 ||
	    row.cert.serial == NULL || row.cert.subject == NULL ||
	    row.cert.sans_json == NULL || row.cert.provisioner == NULL ||
	    der == NULL || n == 0)
		ret = CA_FAIL;
	if (ret == CA_OK && row.revoked) {
		row.rev.serial = row.cert.serial;
		row.rev.reason = col_text(r, 12);
		row.rev.method = col_text(r, 13);
		if (col_int(r, 0, 10, &row.rev.revoked_at) != 0 ||
		    col_int(r, 0, 11, &v) != 0 || row.rev.method == NULL)
			ret = CA_FAIL;
		row.rev.reason_code = (int)v;
	}
	if (ret != CA_OK)
		ret = err_set(CA_FAIL, "database list certificates: unreadable "
		    "row");
	else
		ret = fn(&row, arg);
	PQfreemem(der);
	return ret;
}

/*
 * Rows stream one at a time (single-row mode), so ca-list over a
 * million certificates holds one of them in memory.  When fn stops, the
 * rest is drained: the connection serves one query at a time.
 */
static int
pg_list_certs(void *conn, const struct db_filter *f, db_row_fn fn, void *arg)
{
	struct pg *p = conn;
	const char *sql, *vals[2];
	char now[24], before[24];
	PGresult *r;
	int ret, n = 0, done = 0;

	switch (f->select) {
	case DB_SELECT_ALL:
		sql = LIST_COLUMNS LIST_ORDER;
		break;
	case DB_SELECT_REVOKED:
		sql = LIST_REVOKED LIST_ORDER;
		break;
	case DB_SELECT_EXPIRING:
		sql = LIST_COLUMNS "WHERE r.serial IS NULL "
		    "AND c.not_after >= $1 AND c.not_after <= $2" LIST_ORDER;
		snprintf(now, sizeof(now), "%" PRId64, f->now);
		snprintf(before, sizeof(before), "%" PRId64, f->before);
		vals[0] = now;
		vals[1] = before;
		n = 2;
		break;
	case DB_SELECT_SERIAL:
		sql = LIST_COLUMNS "WHERE c.serial = $1" LIST_ORDER;
		vals[0] = f->serial;
		n = 1;
		break;
	case DB_SELECT_RENEWALS:	/* the certs_renewed_from index */
		sql = LIST_COLUMNS "WHERE c.renewed_from = $1" LIST_ORDER;
		vals[0] = f->serial;
		n = 1;
		break;
	default:
		return err_set(CA_FAIL, "database: unknown selection");
	}
	if ((ret = pg_read(p, sql, n, n > 0 ? vals : NULL, 1,
	    "list certificates")) != CA_OK)
		return ret;
	while ((r = PQgetResult(p->c)) != NULL) {
		switch (PQresultStatus(r)) {
		case PGRES_SINGLE_TUPLE:
			if (ret == CA_OK && !done &&
			    (ret = list_row(r, fn, arg)) != CA_OK)
				done = 1;
			break;
		case PGRES_TUPLES_OK:
			break;
		default:
			if (ret == CA_OK)
				ret = pg_fail(p, r, "list certificates");
			done = 1;
			break;
		}
		PQclear(r);
	}
	if (ret == CA_OK && PQstatus(p->c) != CONNECTION_OK)
		ret = pg_fail(p, NULL, "list certificates");
	return read_end(p, ret, "list certificates");
}

static int
pg_count_revocations(void *conn, int64_t *n)
{
	struct pg *p = conn;
	PGresult *r;
	int ret;

	if ((ret = pg_select(p, "SELECT count(*) FROM revocations", 0, NULL,
	    &r, "count revocations")) != CA_OK)
		return ret;
	if (PQntuples(r) != 1 || col_int(r, 0, 0, n) != 0)
		ret = err_set(CA_FAIL, "database count revocations: no "
		    "result");
	PQclear(r);
	return ret;
}

/* Streamed as db_list_certs() is; drained when fn stops. */
static int
pg_list_crl_entries(void *conn, int64_t not_after_min, db_crl_entry_fn fn,
    void *arg)
{
	struct pg *p = conn;
	struct db_crl_entry e;
	char min[24];
	const char *vals[1] = { min };
	PGresult *r;
	int64_t code;
	int ret;

	snprintf(min, sizeof(min), "%" PRId64, not_after_min);
	if ((ret = pg_read(p, "SELECT r.serial, r.revoked_at, r.reason_code, "
	    "c.not_after FROM revocations r JOIN certs c "
	    "ON c.serial = r.serial WHERE c.not_after >= $1", 1, vals, 1,
	    "list revoked certificates")) != CA_OK)
		return ret;
	while ((r = PQgetResult(p->c)) != NULL) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE && ret == CA_OK) {
			memset(&e, 0, sizeof(e));
			e.serial = col_text(r, 0);
			if (e.serial == NULL ||
			    col_int(r, 0, 1, &e.revoked_at) != 0 ||
			    col_int(r, 0, 2, &code) != 0 ||
			    col_int(r, 0, 3, &e.not_after) != 0)
				ret = err_set(CA_FAIL, "database list revoked "
				    "certificates: unreadable row");
			else {
				e.reason_code = (int)code;
				ret = fn(&e, arg);
			}
		} else if (PQresultStatus(r) != PGRES_TUPLES_OK &&
		    PQresultStatus(r) != PGRES_SINGLE_TUPLE && ret == CA_OK)
			ret = pg_fail(p, r, "list revoked certificates");
		PQclear(r);
	}
	return read_end(p, ret, "list revoked certificates");
}

struct crl_put {
	const struct db_crl	*crl;
	int64_t			 keep;
};

/*
 * The number is the key: of two writers that made the same next CRL,
 * the second inserts nothing and is told so (DB_REFUSED_EXISTS), without
 * an error that would abort its transaction.
 */
static int
put_crl(struct pg *p, const void *in, void *out)
{
	const struct crl_put *cp = in;
	const struct db_crl *c = cp->crl;
	enum db_refusal *why = out;
	char num[24], tu[24], nu[24], revs[24];
	const char *vals[5] = { num, tu, nu, (const char *)c->der, revs };
	int lens[5] = { 0, 0, 0, (int)c->der_len, 0 };
	int fmts[5] = { 0, 0, 0, 1, 0 };
	PGresult *r;
	int ret, stored;

	snprintf(num, sizeof(num), "%" PRId64, c->number);
	snprintf(tu, sizeof(tu), "%" PRId64, c->this_update);
	snprintf(nu, sizeof(nu), "%" PRId64, c->next_update);
	snprintf(revs, sizeof(revs), "%" PRId64, c->revocations);
	if ((ret = pg_run(p, "INSERT INTO crl (number, this_update, "
	    "next_update, der, revocations) VALUES ($1, $2, $3, $4, $5) "
	    "ON CONFLICT (number) DO NOTHING", 5, vals, lens, fmts,
	    PGRES_COMMAND_OK, &r, "store CRL")) != CA_OK)
		return ret;
	stored = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (!stored) {
		*why = DB_REFUSED_EXISTS;
		return err_set(CA_REFUSED, "CRL number %lld already stored",
		    (long long)c->number);
	}
	return run_int(p, "DELETE FROM crl WHERE number < $1",
	    c->number - cp->keep, "prune CRLs");
}

static int
pg_put_crl(void *conn, const struct db_crl *c, int64_t keep,
    enum db_refusal *why)
{
	struct crl_put cp = { c, keep };

	return pg_write(conn, put_crl, &cp, why);
}

static int
pg_latest_crl(void *conn, struct db_crl **out)
{
	struct pg *p = conn;
	struct db_crl *c;
	unsigned char *der = NULL;
	PGresult *r;
	size_t n = 0;
	int ret;

	if ((ret = pg_select(p, "SELECT number, this_update, next_update, "
	    "revocations, der FROM crl ORDER BY number DESC LIMIT 1", 0, NULL,
	    &r, "read CRL")) != CA_OK)
		return ret;
	if (PQntuples(r) == 0) {
		PQclear(r);
		return CA_OK;
	}
	if (!PQgetisnull(r, 0, 4))
		der = PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0,
		    4), &n);
	if (der == NULL || n == 0) {
		PQfreemem(der);
		PQclear(r);
		return err_set(CA_FAIL, "database read CRL: stored CRL is "
		    "empty");
	}
	if ((c = calloc(1, sizeof(*c) + n)) == NULL) {
		PQfreemem(der);
		PQclear(r);
		return err_set(CA_FAIL, "out of memory");
	}
	if (col_int(r, 0, 0, &c->number) != 0 ||
	    col_int(r, 0, 1, &c->this_update) != 0 ||
	    col_int(r, 0, 2, &c->next_update) != 0 ||
	    col_int(r, 0, 3, &c->revocations) != 0) {
		free(c);
		PQfreemem(der);
		PQclear(r);
		return err_set(CA_FAIL, "database read CRL: unreadable row");
	}
	memcpy(c + 1, der, n);
	c->der = (const unsigned char *)(c + 1);
	c->der_len = n;
	PQfreemem(der);
	PQclear(r);
	*out = c;
	return CA_OK;
}

/*
 * db_acme_put()'s write, under the writers' lock like every write:
 * neither key may raise an error inside the caller's transaction (it
 * would abort all of it), so the insert does nothing on either and the
 * update is guarded on the lookup; db.c tells the refusals apart.
 */
struct acme_write {
	const struct db_acme	*o;
	int			 create;
};

static int
acme_put(struct pg *p, const void *in, void *out)
{
	const struct acme_write *w = in;
	const struct db_acme *o = w->o;
	int create = w->create, *written = out;
	char exp[24];
	const char *vals[7];
	PGresult *r;
	int ret;

	snprintf(exp, sizeof(exp), "%" PRId64, o->expires_at);
	vals[0] = o->kind;
	vals[1] = o->id;
	vals[2] = o->account;
	vals[3] = o->lookup;
	vals[4] = o->status;
	vals[5] = exp;
	vals[6] = o->body;
	if ((ret = pg_run(p, create ? "INSERT INTO acme_objects (kind, id, "
	    "account, lookup, status, expires_at, body) VALUES ($1, $2, $3, "
	    "$4, $5, $6, $7) ON CONFLICT DO NOTHING" :
	    "UPDATE acme_objects SET account = $3, lookup = $4, status = $5, "
	    "expires_at = $6, body = $7 WHERE kind = $1 AND id = $2 "
	    "AND NOT EXISTS (SELECT 1 FROM acme_objects WHERE kind = $1 "
	    "AND lookup = $4 AND id <> $2)", 7, vals, NULL, NULL,
	    PGRES_COMMAND_OK, &r, "store ACME object")) != CA_OK)
		return ret;
	*written = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	return CA_OK;
}

static int
pg_acme_put(void *conn, const struct db_acme *o, int create, int *written)
{
	struct acme_write w = { o, create };

	*written = 0;
	return pg_write(conn, acme_put, &w, written);
}

/* Streamed as db_list_certs() is; drained when fn stops. */
static int
pg_acme_select(void *conn, enum db_acme_by by, const char *kind,
    const char *key, db_acme_fn fn, void *arg)
{
	static const char *const sql[] = {
		[DB_ACME_BY_ID] = " AND id = $2",
		[DB_ACME_BY_LOOKUP] = " AND lookup = $2",
		[DB_ACME_BY_ACCOUNT] = " AND account = $2 ORDER BY id",
		[DB_ACME_BY_KIND] = " ORDER BY id",
	};
	struct pg *p = conn;
	const char *vals[2] = { kind, key };
	char q[256];
	struct db_acme o;
	PGresult *r;
	int ret;

	if ((unsigned)by >= NELEM(sql))
		return err_set(CA_FAIL, "database: unknown ACME selection");
	snprintf(q, sizeof(q), "SELECT kind, id, account, lookup, status, "
	    "expires_at, body FROM acme_objects WHERE kind = $1%s", sql[by]);
	if ((ret = pg_read(p, q, by == DB_ACME_BY_KIND ? 1 : 2, vals, 1,
	    "read ACME objects")) != CA_OK)
		return ret;
	while ((r = PQgetResult(p->c)) != NULL) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE && ret == CA_OK) {
			memset(&o, 0, sizeof(o));
			o.kind = col_text(r, 0);
			o.id = col_text(r, 1);
			o.account = col_text(r, 2);
			o.lookup = col_text(r, 3);
			o.status = col_text(r, 4);
			o.body = col_text(r, 6);
			if (o.kind == NULL || o.id == NULL ||
			    o.status == NULL || o.body == NULL ||
			    col_int(r, 0, 5, &o.expires_at) != 0)
				ret = err_set(CA_FAIL, "database read ACME "
				    "objects: unreadable row");
			else
				ret = fn(&o, arg);
		} else if (PQresultStatus(r) != PGRES_TUPLES_OK &&
		    PQresultStatus(r) != PGRES_SINGLE_TUPLE && ret == CA_OK)
			ret = pg_fail(p, r, "read ACME objects");
		PQclear(r);
	}
	if (ret == CA_OK && PQstatus(p->c) != CONNECTION_OK)
		ret = pg_fail(p, NULL, "read ACME objects");
	return read_end(p, ret, "read ACME objects");
}

struct nonce_put {
	const char	*nonce;
	int64_t		 now, expires_at;
	int		 prune;
};

static int
nonce_put(struct pg *p, const void *in, void *out)
{
	const struct nonce_put *np = in;
	char now[24], lim[16], exp[24];
	const char *vals[2] = { now, lim };
	PGresult *r;
	int ret;

	snprintf(now, sizeof(now), "%" PRId64, np->now);
	snprintf(lim, sizeof(lim), "%d", np->prune);
	if ((ret = pg_run(p, "DELETE FROM acme_nonces WHERE nonce IN "
	    "(SELECT nonce FROM acme_nonces WHERE expires_at < $1 LIMIT $2)",
	    2, vals, NULL, NULL, PGRES_COMMAND_OK, NULL, "prune nonces")) !=
	    CA_OK)
		return ret;
	snprintf(exp, sizeof(exp), "%" PRId64, np->expires_at);
	vals[0] = np->nonce;
	vals[1] = exp;
	if ((ret = pg_run(p, "INSERT INTO acme_nonces (nonce, expires_at) "
	    "VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING", 2, vals, NULL,
	    NULL, PGRES_COMMAND_OK, &r, "store nonce")) != CA_OK)
		return ret;
	if (strcmp(PQcmdTuples(r), "1") != 0)
		ret = err_set(CA_FAIL, "database: nonce already stored (a "
		    "broken random generator?)");
	PQclear(r);
	return ret;
}

static int
pg_nonce_put(void *conn, const char *nonce, int64_t now, int64_t expires_at,
    int prune)
{
	struct nonce_put np = { nonce, now, expires_at, prune };

	return pg_write(conn, nonce_put, &np, NULL);
}

struct nonce_spend {
	const char	*nonce;
	int64_t		 now;
};

/*
 * The spend is one DELETE with its row count checked: of two spenders
 * on any hosts, the second waits for the first's row lock and then
 * deletes nothing, with or without the writers' lock.  Not spending is
 * no error here (*spent 0).
 */
static int
nonce_use(struct pg *p, const void *in, void *out)
{
	const struct nonce_spend *ns = in;
	int *spent = out;
	char now[24];
	const char *vals[2] = { ns->nonce, now };
	PGresult *r;
	int ret;

	*spent = 0;
	snprintf(now, sizeof(now), "%" PRId64, ns->now);
	if ((ret = pg_run(p, "DELETE FROM acme_nonces WHERE nonce = $1 AND "
	    "expires_at >= $2", 2, vals, NULL, NULL, PGRES_COMMAND_OK, &r,
	    "use nonce")) != CA_OK)
		return ret;
	*spent = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	return CA_OK;
}

static int
pg_nonce_use(void *conn, const char *nonce, int64_t now, int *spent)
{
	struct nonce_spend ns = { nonce, now };
	int ret;

	if ((ret = pg_write(conn, nonce_use, &ns, spent)) != CA_OK)
		*spent = 0;
	return ret;
}

/* db_copy(): every row of t, as typed values, streamed. */
static int
pg_copy_out(void *conn, const struct db_table *t, db_value_fn fn, void *arg)
{
	struct pg *p = conn;
	struct db_value v[16];
	unsigned char *blobs[16];
	char sql[512];
	size_t i, n = strlen(t->types);
	PGresult *r;
	int ret = CA_OK, bad;

	if (n > NELEM(v))
		return err_set(CA_FAIL, "database copy: too many columns");
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s%s%s", t->columns,
	    t->name, t->where != NULL ? " WHERE " : "",
	    t->where != NULL ? t->where : "");
	if ((ret = pg_read(p, sql, 0, NULL, 1, "copy")) != CA_OK)
		return ret;
	while ((r = PQgetResult(p->c)) != NULL) {
		if (PQresultStatus(r) == PGRES_SINGLE_TUPLE && ret == CA_OK) {
			memset(v, 0, sizeof(v));
			memset(blobs, 0, sizeof(blobs));
			for (i = 0, bad = 0; i < n; i++) {
				v[i].null = PQgetisnull(r, 0, (int)i);
				if (v[i].null)
					continue;
				if (t->types[i] == 'I')
					bad |= col_int(r, 0, (int)i, &v[i].i);
				else if (t->types[i] == 'T')
					v[i].s = PQgetvalue(r, 0, (int)i);
				else if ((v[i].b = blobs[i] = PQunescapeBytea(
				    (const unsigned char *)PQgetvalue(r, 0,
				    (int)i), &v[i].len)) == NULL)
					bad = 1;
			}
			ret = bad ? err_set(CA_FAIL, "database copy: "
			    "unreadable row") : fn(v, arg);
			for (i = 0; i < n; i++)
				PQfreemem(blobs[i]);
		} else if (PQresultStatus(r) != PGRES_TUPLES_OK &&
		    PQresultStatus(r) != PGRES_SINGLE_TUPLE && ret == CA_OK)
			ret = pg_fail(p, r, "copy");
		PQclear(r);
	}
	return read_end(p, ret, "copy");
}

/* db_copy(): one row of t, inside the copy's transaction. */
static int
pg_copy_in(void *conn, const struct db_table *t, const struct db_value *v)
{
	struct pg *p = conn;
	const char *vals[16];
	char ints[16][24], sql[512], cols[256], *sep;
	int lens[16] = { 0 }, fmts[16] = { 0 };
	size_t i, n = strlen(t->types), off;

	if (n > NELEM(vals) || strlen(t->columns) >= sizeof(cols))
		return err_set(CA_FAIL, "database copy: too many columns");
	for (i = 0; i < n; i++) {
		vals[i] = NULL;
		if (v[i].null)
			continue;
		if (t->types[i] == 'I') {
			snprintf(ints[i], sizeof(ints[i]), "%" PRId64, v[i].i);
			vals[i] = ints[i];
		} else if (t->types[i] == 'T')
			vals[i] = v[i].s;
		else {
			vals[i] = (const char *)v[i].b;
			lens[i] = (int)v[i].len;
			fmts[i] = 1;
		}
	}
	if (t->update) {
		/* Two columns: the key, then the one set. */
		snprintf(cols, sizeof(cols), "%s", t->columns);
		if (n != 2 || (sep = strstr(cols, ", ")) == NULL)
			return err_set(CA_FAIL, "database copy: bad update");
		*sep = '\0';
		snprintf(sql, sizeof(sql), "UPDATE %s SET %s = $2 WHERE %s = $1",
		    t->name, sep + 2, cols);
	} else {
		off = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s (%s) "
		    "VALUES (", t->name, t->columns);
		for (i = 0; i < n && off < sizeof(sql); i++)
			off += (size_t)snprintf(sql + off, sizeof(sql) - off,
			    "%s$%zu", i > 0 ? ", " : "", i + 1);
		if (off + 2 > sizeof(sql))
			return err_set(CA_FAIL, "database copy: statement too "
			    "long");
		memcpy(sql + off, ")", 2);
	}
	return pg_run(p, sql, (int)n, vals, lens, fmts, PGRES_COMMAND_OK, NULL,
	    "copy");
}

const struct db_ops db_pg_ops = {
	.type = "postgresql",
	.steps = steps,
	.migrate_on_write = 0,
	.open = pg_open,
	.close = pg_close,
	.name = pg_name,
	.set_busy_timeout = pg_set_busy_timeout,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.savepoint = pg_savepoint,
	.release = pg_release,
	.rollback_to = pg_rollback_to,
	.schema_version = pg_schema_version,
	.exec_step = pg_exec_step,
	.use_token = pg_use_token,
	.put_cert = pg_put_cert,
	.revoke = pg_revoke,
	.is_revoked = pg_is_revoked,
	.list_certs = pg_list_certs,
	.copy_out = pg_copy_out,
	.copy_in = pg_copy_in,
	.count_revocations = pg_count_revocations,
	.list_crl_entries = pg_list_crl_entries,
	.put_crl = pg_put_crl,
	.latest_crl = pg_latest_crl,
	.acme_put = pg_acme_put,
	.acme_select = pg_acme_select,
	.nonce_put = pg_nonce_put,
	.nonce_use = pg_nonce_use,
};
