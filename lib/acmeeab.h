/*
 * acmeeab: the keys of ACME's external account binding (RFC 8555 7.3.4),
 * as the database keeps them: rows of kind "eab" of acme_objects.
 *
 *   id          the key ID ("kid" of the binding): ACME_EAB_KID_BYTES
 *               random bytes, base64url
 *   status      "valid" until an account is bound with it, then "bound"
 *               (one key, one account: never again); "removed" once the
 *               operator removed it
 *   account     the bound account's id; NULL before
 *   body        {"provisioner", "reference" (optional), "hmacKey" (the
 *               MAC key, ACME_EAB_KEY_BYTES random bytes, base64url; only
 *               while "valid": a bound or removed key keeps no secret),
 *               "createdAt", "boundAt", "removedAt" (unix seconds)}
 *
 * The MAC key leaves the database once, in acme_eab_add()'s answer, for
 * the operator to hand to the account's holder; the listing never shows
 * it.  Rows read with a key in them are wiped before they are freed.
 *
 * Conventions as in db.h: CA_OK, or an exit code with a one-line message
 * recorded (err.h).  Messages never repeat a key ID that came from a
 * client.
 */
#ifndef INCA_ACMEEAB_H
#define INCA_ACMEEAB_H

#include <stdint.h>

#include <jansson.h>

#include "db.h"
#include "io.h"

/* Random bytes of a MAC key (HMAC-SHA256: 256 bits) and of a key ID. */
#define ACME_EAB_KEY_BYTES	32
#define ACME_EAB_KID_BYTES	16
/* Longest reference (the operator's label for the key), in bytes. */
#define ACME_EAB_MAX_REFERENCE	256

/*
 * A new key of the ACME provisioner prov (the caller has checked that it
 * is one), with reference (NULL for none: 1..ACME_EAB_MAX_REFERENCE bytes
 * of UTF-8 without control characters, else CA_INPUT), stored as "valid"
 * at now.  *out (the caller's, json_decref) is {"keyID", "hmacKey",
 * "provisioner", "reference"}: the only time the MAC key is shown
 * (jansson wipes what it frees, cli.h).  CA_FAIL: no random bytes, or
 * the database's codes.
 */
int acme_eab_add(struct db *db, const char *prov, const char *reference,
    int64_t now, json_t **out);

/*
 * The keys of provisioner prov, in key ID order, as a JSON array (the
 * caller's) of {"keyID", "provisioner", "reference", "status", "account",
 * "createdAt", "boundAt", "removedAt"} (absent members left out; times
 * RFC 3339), never a MAC key.
 */
int acme_eab_list(struct db *db, const char *prov, json_t **out);

/*
 * Remove the key kid: its MAC key is erased and its status becomes
 * "removed", the row kept as a record (an account bound with it stays as
 * it is).  *out as one element of acme_eab_list().  CA_REFUSED: no such
 * key, or removed already; CA_INPUT: kid is no possible key ID.
 */
int acme_eab_remove(struct db *db, const char *kid, int64_t now,
    json_t **out);

/*
 * The MAC key of kid, a key of provisioner prov not yet bound, into *key
 * (the caller's, buf_free() wipes it).  CA_REFUSED (the binding is
 * unauthorized): no key kid of prov (a key of another provisioner is
 * reported the same way), or one already bound or removed; the database's
 * codes otherwise.
 */
int acme_eab_key(struct db *db, const char *prov, const char *kid,
    struct buf *key);

/*
 * Bind the key kid of prov to the account account at now: status
 * "bound", its account set, its MAC key erased.  Call it inside the
 * transaction (db_begin) that creates the account: it reads the key
 * again there, under the writers' lock, so of two accounts bound with one
 * key at once exactly one is: the other gets CA_REFUSED (as for a key
 * already bound, unknown or removed) and rolls back its account.
 */
int acme_eab_bind(struct db *db, const char *prov, const char *kid,
    const char *account, int64_t now);

#endif
