/*
 * db: the CA's persistent state behind one interface, whatever the backend.
 *
 * Callers see an opaque struct db and the functions below; db.c reads the
 * configuration, checks the arguments and dispatches to a backend
 * (db_sqlite.c, db_pg.c) through struct db_ops, declared at the end of
 * this file for backends only.
 *
 * Every function returns CA_OK or an exit code with the message recorded
 * by err_set():
 *   CA_REFUSED  the operation contradicts stored state ("token already
 *               used", "certificate N already revoked"); where a caller
 *               must tell refusals apart, the function also says which
 *               one as a value (enum db_refusal), never only in words
 *   CA_INPUT    an argument is malformed (serial, SAN list, reason code)
 *   CA_FAIL     database error, a database this program cannot use, or a
 *               clock the spent-token record cannot trust
 *   CA_UNAVAIL  database busy or locked after the busy timeout, or (for a
 *               database server) unreachable, down or restarting: retry
 *               later
 * Nothing is retried internally beyond the busy timeout, except that
 * PostgreSQL retries a write made on its own a bounded number of times
 * after a serialization failure (db_pg.c).
 *
 * Schema, the same on every backend (times are unix seconds, serials are
 * decimal strings without leading zeros):
 *   certs(serial PK, issued_at, not_before, not_after, subject, sans,
 *       provisioner, renewed_from NULL -> certs.serial, der NOT NULL)
 *   revocations(serial PK -> certs.serial, revoked_at, reason_code,
 *       reason NULL, method)
 *   used_tokens(provisioner, jti, expires_at, PK(provisioner, jti))
 *   token_clock(pruned_before, minted_after)    one row (version 2)
 *   crl(number PK, this_update, next_update, der, revocations)
                                      (revocations: version 3)
 *   acme_objects(kind, id, account NULL, lookup NULL, status,
 *       expires_at, body, PK(kind, id), UNIQUE(kind, lookup))
 *                                     version 4; index (kind, account, id)
 *   acme_nonces(nonce PK, expires_at)  version 4; index (expires_at)
 *   schema_version(version)           one row
 * certs.sans is a JSON array of "type:value" strings, type one of dns, ip,
 * email, uri, e.g. ["dns:a.example","ip:10.0.0.5"]; "[]" when there are none.
 */
#ifndef INCA_DB_H
#define INCA_DB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The schema this program creates and understands; see db_open(). */
#define DB_SCHEMA_VERSION	4
/* How long a statement waits for another writer's lock before CA_UNAVAIL. */
#define DB_BUSY_TIMEOUT_MS	5000
/* The longest busy timeout the configuration may ask for. */
#define DB_BUSY_TIMEOUT_MAX_MS	600000
/* Longest decimal serial: 20 octets (RFC 5280) are at most 49 digits. */
#define DB_MAX_SERIAL		49
/*
 * How long a spent token is remembered after it expired, measured on the
 * furthest-ahead clock that ever spent a token in this database: the
 * bound on how far a clock may run ahead and come back (see
 * db_use_token).  Rows are small; a week of them is nothing.
 */
#define DB_TOKEN_RETENTION	(7 * 24 * 3600)

struct db;

/* What a program may do with the database it opens. */
enum db_mode {
	DB_READ,	/* read only: no writes, no migration (inventory) */
	DB_WRITE,	/* read and write; an older schema is migrated */
	DB_CREATE,	/* DB_WRITE, and a missing or empty database gets the
			   schema: ca-init only */
	DB_MIGRATE,	/* DB_WRITE, and an older schema is migrated on every
			   backend: ca-init --migrate only */
	DB_INIT		/* DB_CREATE for a new CA: a database that already
			   holds a CA schema is CA_FAIL (ca-init) */
};

/*
 * Open the database that conf, ca.json's "db" object, describes for the
 * CA home home (relative locations are relative to it; NULL: as given):
 *   type         "sqlite" or "postgresql"
 *   dataSource   where the data lives; for sqlite a file path, for
 *                postgresql a libpq URI or conninfo string without a
 *                password (libpq's password file or service file hold it)
 *   busyTimeout  optional duration ("5s"; "0s" waits not at all, at most
 *                10m): how long a writer waits for another writer before
 *                CA_UNAVAIL.  Default DB_BUSY_TIMEOUT_MS.
 * Every other member is refused (a misspelt setting would be silently off).
 * A database without the schema (missing, zero bytes, or an empty
 * database of the backend's kind) is CA_FAIL "has no CA schema" except
 * with DB_CREATE: only ca-init creates a schema, so an inventory that was
 * emptied or replaced is never silently started afresh.  With DB_WRITE and
 * DB_CREATE an older schema is migrated step by step inside one write
 * transaction; DB_READ reads an older schema as it is.  A newer schema,
 * or a non-empty database that is not a CA database, is CA_FAIL.  On
 * success *out is the caller's, to release with db_close(); on failure
 * *out is NULL.
 */
int db_open(const char *home, const json_t *conf, enum db_mode mode,
    struct db **out);
/* Roll back any open transaction and release db.  NULL is a no-op. */
void db_close(struct db *db);
/* Replace the busy timeout; 0 <= ms <= DB_BUSY_TIMEOUT_MAX_MS. */
int db_set_busy_timeout(struct db *db, int ms);

/*
 * The SQLite backend's wait for the write lock: the microseconds it
 * sleeps before its try number count + 1 (count tries so far) under a
 * timeout of ms; 0 once the sleeps add up to ms (it gives up).  The first
 * sleep is DB_BUSY_FIRST_US, each next one twice the last, at most
 * DB_BUSY_MAX_US (100 ms, as SQLite's own handler).
 */
#define DB_BUSY_FIRST_US	50
#define DB_BUSY_MAX_US		100000
long db_sqlite_busy_sleep(int ms, int count);

/*
 * Transactions.  db_begin() takes the write lock at once, so two writers
 * are serialised at the start of their transactions instead of one
 * failing at its first write; a writer that waits longer than the busy
 * timeout gets CA_UNAVAIL.  Callers do their slow work (signing) before
 * db_begin(), so the lock is held only for the writes themselves.  A
 * failed db_commit() is an error and leaves nothing of the transaction
 * behind (it is rolled back).  db_rollback() is safe to call when no
 * transaction is open, so error paths may call it unconditionally.
 * Outside a transaction every call commits on its own.  A DB_READ
 * database refuses db_begin() and every write with CA_FAIL.
 */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/*
 * Savepoints inside a transaction, for group commit: several requests in
 * one transaction, each between db_savepoint() and db_release(), or
 * db_rollback_to() (which undoes that request's writes alone and ends the
 * savepoint; safe to call on error paths).  One level: no savepoint is
 * open when db_savepoint() is called.  Outside a transaction db_savepoint()
 * is CA_FAIL.
 */
int db_savepoint(struct db *db);
int db_release(struct db *db);
void db_rollback_to(struct db *db);

/*
 * A one-time token being spent: provisioner and jti name it; issued_at is
 * its iat; expires_at is the last second any verifier accepts it (its exp
 * plus the clock-skew leeway); now is the clock of the caller, which found
 * the token unexpired at now (so now <= expires_at).
 */
struct db_token {
	const char	*provisioner;
	const char	*jti;
	int64_t		 issued_at;
	int64_t		 expires_at;
	int64_t		 now;
};

/*
 * Spend a one-time token, atomically with the rest of the caller's
 * transaction.  A pair already spent is CA_REFUSED "token already used";
 * the same jti from another provisioner is a different token.
 *
 * Spent tokens are forgotten DB_TOKEN_RETENTION after they expire, as
 * judged by the furthest-ahead clock that has spent a token here: the
 * database keeps that point (token_clock.pruned_before, only ever raised)
 * and forgets only rows that expired before it.  Every token forgotten
 * thus expired before pruned_before, so as long as the caller's clock is
 * not before pruned_before, a forgotten token is one its caller already
 * rejects as expired.  A clock that is (it is more than the retention
 * behind a clock that once spent a token here) is CA_FAIL, naming both
 * times: fail closed rather than reopen replay.  A token issued before
 * or in the second of token_clock.minted_after (the operator's reset
 * after such a failure; see docs/SECURITY.md) is CA_REFUSED.
 */
int db_use_token(struct db *db, const struct db_token *t);

/*
 * A certificate row.  db_put_cert() only reads it (the caller keeps
 * ownership).  serial and renewed_from (NULL when not a renewal) are
 * canonical decimal serials; subject and provisioner are plain strings;
 * sans_json is the JSON array described above; der is the certificate,
 * 1..CA_MAX_PEM bytes.
 */
struct db_cert {
	const char		*serial;
	int64_t			 issued_at;
	int64_t			 not_before;
	int64_t			 not_after;
	const char		*subject;
	const char		*sans_json;
	const char		*provisioner;
	const char		*renewed_from;
	const unsigned char	*der;
	size_t			 der_len;
};

/*
 * Store a new certificate.  A serial that is already stored is CA_FAIL
 * (the caller made a fresh random serial; a clash means a bug or a broken
 * RNG, not a user error); a renewed_from serial that is not stored is
 * CA_FAIL too.
 */
int db_put_cert(struct db *db, const struct db_cert *cert);

/*
 * A revocation.  reason_code is an RFC 5280 CRLReason (0..10, not 7);
 * reason is free text or NULL; method says how it was authorised
 * ("token", "mtls", "offline", ...).  db_revoke() only reads it.
 */
struct db_revocation {
	const char	*serial;
	int64_t		 revoked_at;
	int		 reason_code;
	const char	*reason;
	const char	*method;
};

/* Which stored state refused an operation. */
enum db_refusal {
	DB_REFUSED_NONE,		/* not refused */
	DB_REFUSED_NOT_FOUND,		/* no such certificate */
	DB_REFUSED_ALREADY_REVOKED,	/* revoked before */
	DB_REFUSED_EXISTS		/* the key is stored already (a CRL
					   number another writer took) */
};

/*
 * Revoke a stored certificate.  Revoking it again is CA_REFUSED
 * "certificate N already revoked" (*why DB_REFUSED_ALREADY_REVOKED) and
 * keeps the first record; a serial that is not stored is CA_REFUSED
 * "certificate N not found" (*why DB_REFUSED_NOT_FOUND).  *why is
 * DB_REFUSED_NONE for every other outcome; why may be NULL.
 */
int db_revoke(struct db *db, const struct db_revocation *rev,
    enum db_refusal *why);
/* *revoked = 1 if serial is revoked, 0 if not (or not stored at all). */
int db_is_revoked(struct db *db, const char *serial, int *revoked);

/*
 * One certificate with its revocation state, as db_list_certs() and
 * db_get_cert() return it.  rev is meaningful only when revoked is 1
 * (rev.serial then equals cert.serial).
 */
struct db_row {
	struct db_cert		cert;
	int			revoked;
	struct db_revocation	rev;
};

/*
 * Look up one certificate.  *out is NULL when serial is not stored (still
 * CA_OK); otherwise it is one allocation owned by the caller, strings and
 * DER included, freed with db_row_free().
 */
int db_get_cert(struct db *db, const char *serial, struct db_row **out);
void db_row_free(struct db_row *row);

/* Which certificates db_list_certs() visits. */
enum db_select {
	DB_SELECT_ALL,		/* every stored certificate */
	DB_SELECT_REVOKED,	/* revoked ones only */
	DB_SELECT_EXPIRING,	/* not revoked, now <= not_after <= before */
	DB_SELECT_SERIAL,	/* the one with this serial (or none) */
	DB_SELECT_RENEWALS	/* those renewed from this serial */
};

struct db_filter {
	enum db_select	 select;
	int64_t		 now;		/* DB_SELECT_EXPIRING */
	int64_t		 before;	/* DB_SELECT_EXPIRING */
	const char	*serial;	/* DB_SELECT_SERIAL, _RENEWALS */
};

/*
 * Call fn once per selected certificate, ordered by issued_at, then by
 * serial as a string (a stable tie-break, not numeric order).  The row and
 * everything it points to belong to the database and are valid only during
 * that call; copy what must outlive it.  fn must not call other db
 * functions on the same db.  fn returns CA_OK to go on, or anything else
 * (with the message recorded) to stop: db_list_certs() then returns it.
 */
typedef int (*db_row_fn)(const struct db_row *row, void *arg);
int db_list_certs(struct db *db, const struct db_filter *f, db_row_fn fn,
    void *arg);

/*
 * Copy every CA row of from into to (another backend, say): to must have
 * been opened with DB_INIT (its schema is new and empty) and from must be
 * at this program's schema.  Runs in one transaction of to's, while from's
 * write lock is held so nothing is issued or revoked during the copy;
 * on failure to is left as it was (its schema, no rows).  Spent tokens,
 * the token clock and the CRLs are copied too, so no token spent before
 * is spendable after, and the CRL numbers go on.  CA_FAIL when a backend
 * cannot be copied from or into.
 */
int db_copy(struct db *from, struct db *to);

/*
 * Revocations are never deleted: their count only grows, so a CRL that
 * records the count it was made from (struct db_crl.revocations) is out
 * of date exactly when the count differs.  *n is the number of rows of
 * revocations.
 */
int db_count_revocations(struct db *db, int64_t *n);

/*
 * One revoked certificate as a CRL lists it: its serial, when and why it
 * was revoked, and its notAfter (to leave it out once it has expired).
 */
struct db_crl_entry {
	const char	*serial;
	int64_t		 revoked_at;
	int		 reason_code;
	int64_t		 not_after;
};

/*
 * Call fn once per revoked certificate whose not_after is at least
 * not_after_min, in no particular order (the CRL is sorted by its
 * maker).  The entry belongs to the database and is valid only during
 * the call; fn must not call other db functions on the same db and
 * returns CA_OK to go on, anything else to stop (returned).
 */
typedef int (*db_crl_entry_fn)(const struct db_crl_entry *e, void *arg);
int db_list_crl_entries(struct db *db, int64_t not_after_min,
    db_crl_entry_fn fn, void *arg);

/*
 * A stored CRL.  number is its CRL number (>= 1, the primary key);
 * this_update < next_update are its times; revocations is the count of
 * revocation rows it was made from (db_count_revocations() in the same
 * transaction), or -1 for a CRL stored before version 3 (never current);
 * der is the signed CRL.
 */
struct db_crl {
	int64_t			 number;
	int64_t			 this_update;
	int64_t			 next_update;
	int64_t			 revocations;
	const unsigned char	*der;
	size_t			 der_len;
};

/* Stored CRLs kept besides the newest; older ones are deleted by db_put_crl. */
#define DB_CRL_KEEP	8
/* The largest CRL stored (bytes): some 400,000 entries. */
#define DB_MAX_CRL	(16 * 1024 * 1024)

/*
 * Store a new CRL (the caller keeps crl).  A number already stored is
 * CA_REFUSED "CRL number N already stored" (*why DB_REFUSED_EXISTS;
 * why may be NULL): another writer made that CRL first, and the caller
 * re-reads.  CRLs more than DB_CRL_KEEP numbers older are deleted.
 */
int db_put_crl(struct db *db, const struct db_crl *crl,
    enum db_refusal *why);
/*
 * The stored CRL of the highest number.  *out is NULL when none is stored
 * (still CA_OK); otherwise one allocation, DER included, the caller's, to
 * release with db_crl_free().
 */
int db_latest_crl(struct db *db, struct db_crl **out);
void db_crl_free(struct db_crl *crl);

/*
 * ACME (RFC 8555) state: accounts, orders, authorizations and challenges
 * as rows of one table, told apart by kind ("account", "order", "authz",
 * "challenge", and "eab" for the external account binding keys of
 * lib/acmeeab.c; any other is CA_INPUT).  The handler owns the meaning of
 * every column but the keys:
 *   id          the object's name in its URLs, unique per kind
 *   account     the id of the account that owns it; NULL for none (an
 *               account row itself)
 *   lookup      a second key, unique per kind where not NULL: an
 *               account's key thumbprint, "acct|type:value" for an
 *               authorization that may be reused, ...
 *   status      RFC 8555's status word, 1..DB_ACME_MAX_STATUS lowercase
 *               letters ("pending", "valid", ...)
 *   expires_at  unix seconds; 0 for never
 *   body        the rest, a JSON object's text (at most DB_ACME_MAX_BODY
 *               bytes, no duplicate members)
 * id, account and lookup are 1..DB_ACME_MAX_ID (lookup:
 * DB_ACME_MAX_LOOKUP) visible ASCII characters (0x21..0x7e): they reach
 * URLs and log lines as they are.
 */
#define DB_ACME_MAX_ID		128
#define DB_ACME_MAX_LOOKUP	1024
#define DB_ACME_MAX_STATUS	32
#define DB_ACME_MAX_BODY	(256 * 1024)

struct db_acme {
	const char	*kind;
	const char	*id;
	const char	*account;	/* NULL for none */
	const char	*lookup;	/* NULL for none */
	const char	*status;
	int64_t		 expires_at;
	const char	*body;		/* a JSON object's text */
};

/*
 * Store an ACME object (the caller keeps o).  create 1 inserts it: a
 * (kind, id) or a (kind, lookup) already stored is CA_REFUSED with *why
 * DB_REFUSED_EXISTS (another writer made it first: the caller reads it
 * back, by lookup say).  create 0 updates the row (kind, id): its
 * account, lookup, status, expires_at and body become o's; no such row
 * is CA_REFUSED with *why DB_REFUSED_NOT_FOUND, a lookup another row of
 * the kind holds is CA_REFUSED with DB_REFUSED_EXISTS (nothing changed).
 * Neither refusal aborts the caller's transaction.  *why is
 * DB_REFUSED_NONE for every other outcome; why may be NULL.
 */
int db_acme_put(struct db *db, const struct db_acme *o, int create,
    enum db_refusal *why);

/* An ACME object read back: o's strings belong to the row. */
struct db_acme_row {
	struct db_acme	o;
};

/*
 * The object (kind, id), or (kind, lookup) for db_acme_find().  *out is
 * NULL when there is none (still CA_OK); otherwise one allocation, the
 * caller's, freed with db_acme_row_free().
 */
int db_acme_get(struct db *db, const char *kind, const char *id,
    struct db_acme_row **out);
int db_acme_find(struct db *db, const char *kind, const char *lookup,
    struct db_acme_row **out);
void db_acme_row_free(struct db_acme_row *r);

/*
 * Call fn once per object of kind owned by account (account NULL: every
 * object of the kind), in id order (bytes).
 * As for db_list_certs(): the object is valid only during the call, fn
 * must not call other db functions on the same db, and anything but
 * CA_OK from fn stops the listing and is returned.
 */
typedef int (*db_acme_fn)(const struct db_acme *o, void *arg);
int db_acme_list(struct db *db, const char *kind, const char *account,
    db_acme_fn fn, void *arg);

/*
 * ACME replay nonces: 1..DB_NONCE_MAX base64url characters, remembered
 * until expires_at (unix seconds, last valid second).
 *
 * db_nonce_put() stores a fresh one; one already stored is CA_FAIL (they
 * are random: a clash is a broken generator).  Each store first forgets
 * up to DB_NONCE_PRUNE nonces expired before now, so that what is stored
 * is also what is forgotten, however many nonces are asked for and never
 * spent.  db_nonce_use() spends one: CA_OK when it was stored and not
 * expired at now, and it is gone from then on; CA_REFUSED "nonce
 * unknown, used or expired" otherwise (a string that is no nonce at all
 * included).  Of writers spending one nonce at once, on any host,
 * exactly one gets CA_OK.  Both write: a DB_READ database refuses them
 * (CA_FAIL).
 */
#define DB_NONCE_MAX		128
#define DB_NONCE_PRUNE		100
int db_nonce_put(struct db *db, const char *nonce, int64_t now,
    int64_t expires_at);
int db_nonce_use(struct db *db, const char *nonce, int64_t now);

/*
 * The backend's own connection when db is of that type, else NULL:
 * a sqlite3 * for "sqlite", a struct pg * (db_pg.c) for "postgresql".
 * For tests and diagnostics that must look at connection settings
 * (pragmas); everything else goes through the calls
 * above.  Owned by db.
 */
void *db_handle(struct db *db, const char *type);

/*
 * Backend interface, for db.c and db_<type>.c only.
 *
 * db_copy() moves tables as rows of typed values: table name, its columns
 * ("a, b, c"), one type letter per column (I integer, T text, B blob), an
 * optional WHERE condition for the rows read, and whether the rows update
 * existing ones (UPDATE name SET <second column> = ... WHERE <first> = ...)
 * instead of being inserted.
 */
struct db_table {
	const char	*name;
	const char	*columns;
	const char	*types;
	const char	*where;
	int		 update;
};

struct db_value {
	int			 null;
	int64_t			 i;	/* I */
	const char		*s;	/* T */
	const unsigned char	*b;	/* B, len bytes */
	size_t			 len;
};

typedef int (*db_value_fn)(const struct db_value *v, void *arg);

/* Which column of acme_objects an acme_select matches. */
enum db_acme_by {
	DB_ACME_BY_ID,
	DB_ACME_BY_LOOKUP,
	DB_ACME_BY_ACCOUNT,
	DB_ACME_BY_KIND		/* every object of the kind; key unused */
};

/*
 * Backend interface, continued.  Every backend
 * implements the same schema, so its migration steps correspond one to one:
 * steps[i] is the DDL taking version i to i + 1 (steps[0] creates the
 * schema in an empty database) and must itself set schema_version to i + 1.
 * A new schema version adds one entry to every backend's steps and bumps
 * DB_SCHEMA_VERSION.  db.c has already checked every argument against the
 * rules above (non-NULL, canonical serials, valid JSON, ranges), so
 * backends only translate to SQL and map errors: busy/locked to CA_UNAVAIL,
 * anything unexpected to CA_FAIL naming the operation.
 */
struct db_ops {
	const char		*type;
	const char *const	*steps;		/* DB_SCHEMA_VERSION entries */
	/* DB_WRITE migrates an older schema (one host owns the database). */
	int			 migrate_on_write;
	/*
	 * On success *conn is the backend's, released with close().  source
	 * is dataSource as configured; the backend resolves it against home
	 * (which may be NULL) if it names a file.
	 */
	int	(*open)(const char *home, const char *source,
		    enum db_mode mode, void **conn);
	void	(*close)(void *conn);
	/* A printable name for messages (a path; never a password). */
	const char *(*name)(void *conn);
	int	(*set_busy_timeout)(void *conn, int ms);
	int	(*begin)(void *conn);
	int	(*commit)(void *conn);
	void	(*rollback)(void *conn);
	int	(*savepoint)(void *conn);
	int	(*release)(void *conn);
	void	(*rollback_to)(void *conn);
	/* 0 for an empty database; CA_FAIL for one that is not ours. */
	int	(*schema_version)(void *conn, int *version);
	/* Run one migration step (static DDL, no values), in a transaction. */
	int	(*exec_step)(void *conn, const char *sql);
	/* The whole of db_use_token(), atomic on its own. */
	int	(*use_token)(void *conn, const struct db_token *t,
		    int64_t retention);
	int	(*put_cert)(void *conn, const struct db_cert *cert);
	int	(*revoke)(void *conn, const struct db_revocation *rev,
		    enum db_refusal *why);
	int	(*is_revoked)(void *conn, const char *serial, int *revoked);
	int	(*list_certs)(void *conn, const struct db_filter *f,
		    db_row_fn fn, void *arg);
	/*
	 * db_copy(): call fn with each row of t (values valid during the
	 * call only); store one row of t.  NULL when the backend cannot.
	 */
	int	(*copy_out)(void *conn, const struct db_table *t,
		    db_value_fn fn, void *arg);
	int	(*copy_in)(void *conn, const struct db_table *t,
		    const struct db_value *v);
	int	(*count_revocations)(void *conn, int64_t *n);
	int	(*list_crl_entries)(void *conn, int64_t not_after_min,
		    db_crl_entry_fn fn, void *arg);
	/* CA_REFUSED with *why = DB_REFUSED_EXISTS for a stored number. */
	int	(*put_crl)(void *conn, const struct db_crl *crl, int64_t keep,
		    enum db_refusal *why);
	/* *out as db_latest_crl(): one malloc'd block. */
	int	(*latest_crl)(void *conn, struct db_crl **out);
	/*
	 * db_acme_put()'s write: *written 0 when a key stood in the way
	 * (DO NOTHING on either key for an insert, a guard on the lookup for
	 * an update), never an error in the caller's transaction.
	 */
	int	(*acme_put)(void *conn, const struct db_acme *o, int create,
		    int *written);
	/*
	 * The objects of kind whose column by names is key, in id order,
	 * each given to fn (valid during the call only).
	 */
	int	(*acme_select)(void *conn, enum db_acme_by by,
		    const char *kind, const char *key, db_acme_fn fn,
		    void *arg);
	/* Prune up to prune nonces expired before now, then store nonce. */
	int	(*nonce_put)(void *conn, const char *nonce, int64_t now,
		    int64_t expires_at, int prune);
	/* Spend nonce: *spent 1 if this call deleted it. */
	int	(*nonce_use)(void *conn, const char *nonce, int64_t now,
		    int *spent);
};

/*
 * For the backends' use_token, once token_clock (pruned_before,
 * minted_after) is read inside the write: CA_FAIL for a caller's clock
 * before pruned_before, CA_REFUSED for a token issued at or before
 * minted_after (db_use_token), CA_OK otherwise.
 */
int db_token_clock_check(const struct db_token *t, int64_t pruned,
    int64_t minted_after);

extern const struct db_ops db_sqlite_ops;
extern const struct db_ops db_pg_ops;

#endif
