/*
 * db: the CA's persistent state behind one interface, whatever the backend.
 *
 * Callers see an opaque struct db and the functions below; db.c checks the
 * arguments and dispatches to a backend (db_sqlite.c now; db_pg.c later)
 * through struct db_ops, declared at the end of this file for backends only.
 *
 * Every function returns CA_OK or an exit code with the message recorded
 * by err_set():
 *   CA_REFUSED  the operation contradicts stored state ("token already
 *               used", "certificate N already revoked")
 *   CA_INPUT    an argument is malformed (serial, SAN list, reason code)
 *   CA_FAIL     database error, or a database this program cannot use
 *   CA_UNAVAIL  database busy or locked after the busy timeout: retry later
 * Nothing is retried internally beyond the backend's busy timeout.
 *
 * Schema, the same on every backend (times are unix seconds, serials are
 * decimal strings without leading zeros):
 *   certs(serial PK, issued_at, not_before, not_after, subject, sans,
 *       provisioner, renewed_from NULL -> certs.serial, der NOT NULL)
 *   revocations(serial PK -> certs.serial, revoked_at, reason_code,
 *       reason NULL, method)
 *   used_tokens(provisioner, jti, expires_at, PK(provisioner, jti))
 *   crl(number PK, this_update, next_update, der)
 *   schema_version(version)           one row
 * certs.sans is a JSON array of "type:value" strings, type one of dns, ip,
 * email, uri, e.g. ["dns:a.example","ip:10.0.0.5"]; "[]" when there are none.
 */
#ifndef INCA_DB_H
#define INCA_DB_H

#include <stddef.h>
#include <stdint.h>

/* The schema this program creates and understands; see db_open(). */
#define DB_SCHEMA_VERSION	1
/* How long a statement waits for another writer's lock before CA_UNAVAIL. */
#define DB_BUSY_TIMEOUT_MS	5000
/* Longest decimal serial: 20 octets (RFC 5280) are at most 49 digits. */
#define DB_MAX_SERIAL		49

struct db;

/*
 * Open a database of type ("sqlite"; "postgresql" is recognised but not
 * built yet and fails with CA_FAIL).  For sqlite, source is a file path.
 * With create, a missing file is created mode 0600; without it a missing
 * database is CA_FAIL.  An empty database gets the schema; an older schema
 * is migrated step by step inside one write transaction; a newer schema,
 * or a non-empty database without a schema_version table, is CA_FAIL.
 * On success *out is the caller's, to release with db_close(); on failure
 * *out is NULL.
 */
int db_open(const char *type, const char *source, int create,
    struct db **out);
/* Roll back any open transaction and release db.  NULL is a no-op. */
void db_close(struct db *db);
/* Replace the busy timeout (DB_BUSY_TIMEOUT_MS after db_open); ms >= 0. */
int db_set_busy_timeout(struct db *db, int ms);

/*
 * Transactions.  db_begin() takes the write lock at once (SQLite BEGIN
 * IMMEDIATE), so two writers are serialised at BEGIN instead of failing
 * later at their first write; a writer that waits longer than the busy
 * timeout gets CA_UNAVAIL.  A failed db_commit() is an error and leaves
 * nothing of the transaction behind (it is rolled back).  db_rollback()
 * is safe to call when no transaction is open, so error paths may call it
 * unconditionally.  Outside a transaction every call commits on its own.
 */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/*
 * Spend the one-time token (provisioner, jti), remembered until
 * expires_at.  A pair that was already spent is CA_REFUSED "token already
 * used"; the same jti from another provisioner is a different token.
 */
int db_use_token(struct db *db, const char *provisioner, const char *jti,
    int64_t expires_at);
/*
 * Forget spent tokens with expires_at < before.  A forgotten token could be
 * spent again, so pass a time after which verification rejects the token
 * anyway: now minus the clock-skew leeway the verifier allows.
 */
int db_prune_tokens(struct db *db, int64_t before);

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

/*
 * Revoke a stored certificate.  Revoking it again is CA_REFUSED
 * "certificate N already revoked" and keeps the first record; a serial
 * that is not stored is CA_REFUSED "certificate N not found".
 */
int db_revoke(struct db *db, const struct db_revocation *rev);
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
	DB_SELECT_SERIAL	/* the one with this serial (or none) */
};

struct db_filter {
	enum db_select	 select;
	int64_t		 now;		/* DB_SELECT_EXPIRING */
	int64_t		 before;	/* DB_SELECT_EXPIRING */
	const char	*serial;	/* DB_SELECT_SERIAL */
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
 * The backend's own connection when db is of that type, else NULL:
 * a sqlite3 * for "sqlite".  For tests and diagnostics that must look at
 * connection settings (pragmas); everything else goes through the calls
 * above.  Owned by db.
 */
void *db_handle(struct db *db, const char *type);

/*
 * Backend interface, for db.c and db_<type>.c only.  Every backend
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
	/* On success *conn is the backend's, released with close(). */
	int	(*open)(const char *source, int create, void **conn);
	void	(*close)(void *conn);
	int	(*set_busy_timeout)(void *conn, int ms);
	int	(*begin)(void *conn);
	int	(*commit)(void *conn);
	void	(*rollback)(void *conn);
	/* 0 for an empty database; CA_FAIL for one that is not ours. */
	int	(*schema_version)(void *conn, int *version);
	/* Run one migration step (static DDL, no values), in a transaction. */
	int	(*exec_step)(void *conn, const char *sql);
	int	(*use_token)(void *conn, const char *provisioner,
		    const char *jti, int64_t expires_at);
	int	(*prune_tokens)(void *conn, int64_t before);
	int	(*put_cert)(void *conn, const struct db_cert *cert);
	int	(*revoke)(void *conn, const struct db_revocation *rev);
	int	(*is_revoked)(void *conn, const char *serial, int *revoked);
	int	(*list_certs)(void *conn, const struct db_filter *f,
		    db_row_fn fn, void *arg);
};

extern const struct db_ops db_sqlite_ops;

#endif
