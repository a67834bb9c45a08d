/*
 * acmeeab: external account binding keys in the database.  See acmeeab.h
 * for the row and the contract; the binding's JWS is acmejws's.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "acmeeab.h"
#include "b64.h"
#include "err.h"
#include "timeutil.h"

#define KIND	"eab"

/* Free a row that may hold a MAC key, its text wiped first. */
static void
row_wipe_free(struct db_acme_row *row)
{
	if (row == NULL)
		return;
	if (row->o.body != NULL)
		OPENSSL_cleanse((char *)row->o.body, strlen(row->o.body));
	db_acme_row_free(row);
}

/* The row's body, an object (the caller's), or NULL (CA_FAIL recorded). */
static json_t *
row_json(const struct db_acme_row *row)
{
	json_t *j = json_loads(row->o.body, JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(j) ||
	    !json_is_string(json_object_get(j, "provisioner"))) {
		json_decref(j);
		err_set(CA_FAIL, "acme eab: key %s: stored body is not a key's",
		    row->o.id);
		return NULL;
	}
	return j;
}

/* Whether the row's key is one of provisioner prov. */
static int
of_prov(const json_t *body, const char *prov)
{
	return strcmp(json_string_value(json_object_get(body, "provisioner")),
	    prov) == 0;
}

/* Write the row back with body and status (an update of (kind, id)). */
static int
row_update(struct db *db, const struct db_acme_row *row, const char *account,
    const char *status, const json_t *body)
{
	struct db_acme o;
	char *text;
	int rc;

	if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	o = row->o;
	o.account = account;
	o.status = status;
	o.body = text;
	rc = db_acme_put(db, &o, 0, NULL);
	free(text);
	return rc;
}

/* A reference: UTF-8 (jansson checks), no control characters, bounded. */
static int
reference_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > ACME_EAB_MAX_REFERENCE)
		return err_set(CA_INPUT, "acme eab: a reference is 1..%d bytes",
		    ACME_EAB_MAX_REFERENCE);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return err_set(CA_INPUT, "acme eab: a reference has no "
			    "control characters");
	return CA_OK;
}

int
acme_eab_add(struct db *db, const char *prov, const char *reference,
    int64_t now, json_t **out)
{
	struct db_acme o;
	json_t *body = NULL, *ref = NULL;
	char *kid = NULL, *key = NULL, *text = NULL;
	int rc;

	*out = NULL;
	if (prov == NULL || *prov == '\0')
		return err_set(CA_INPUT, "acme eab: no provisioner");
	if (reference != NULL && ((rc = reference_ok(reference)) != CA_OK))
		return rc;
	if (reference != NULL && (ref = json_string(reference)) == NULL)
		return err_set(CA_INPUT, "acme eab: a reference is UTF-8 text");
	if ((kid = b64url_random(ACME_EAB_KID_BYTES)) == NULL ||
	    (key = b64url_random(ACME_EAB_KEY_BYTES)) == NULL) {
		rc = CA_FAIL;
		goto out;
	}
	body = json_pack("{s:s, s:s, s:I}", "provisioner", prov, "hmacKey", key,
	    "createdAt", (json_int_t)now);
	if (body == NULL || (ref != NULL &&
	    json_object_set(body, "reference", ref) != 0) ||
	    (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto out;
	}
	memset(&o, 0, sizeof(o));
	o.kind = KIND;
	o.id = kid;
	o.status = "valid";
	o.body = text;
	if ((rc = db_acme_put(db, &o, 1, NULL)) != CA_OK)
		goto out;
	if ((*out = json_pack("{s:s, s:s, s:s}", "keyID", kid, "hmacKey",
	    key, "provisioner", prov)) == NULL || (ref != NULL &&
	    json_object_set(*out, "reference", ref) != 0)) {
		json_decref(*out);
		*out = NULL;
		rc = err_set(CA_FAIL, "out of memory");
	}
out:
	json_decref(body);
	json_decref(ref);
	io_wipe_str(text);
	io_wipe_str(key);
	free(kid);
	return rc;
}

/* The listing's shape of one key (never its MAC key). */
static json_t *
key_json(const struct db_acme *o, const json_t *body)
{
	static const char *const times[] = { "createdAt", "boundAt",
	    "removedAt" };
	const json_t *v;
	json_t *j;
	char t[64];
	size_t i;

	if ((j = json_pack("{s:s, s:O, s:s}", "keyID", o->id, "provisioner",
	    json_object_get(body, "provisioner"), "status", o->status)) ==
	    NULL)
		return NULL;
	if ((v = json_object_get(body, "reference")) != NULL)
		json_object_set(j, "reference", (json_t *)v);
	if (o->account != NULL)
		json_object_set_new(j, "account", json_string(o->account));
	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++)
		if (json_is_integer(v = json_object_get(body, times[i]))) {
			time_fmt(json_integer_value(v), t, sizeof(t));
			json_object_set_new(j, times[i], json_string(t));
		}
	return j;
}

struct lister {
	const char *prov;
	json_t *list;
};

static int
list_one(const struct db_acme *o, void *arg)
{
	struct lister *l = arg;
	json_t *body, *j;
	int rc = CA_OK;

	/* The text of a "valid" key holds its MAC key: jansson wipes it. */
	if ((body = json_loads(o->body, JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_string(json_object_get(body, "provisioner"))) {
		json_decref(body);
		return err_set(CA_FAIL, "acme eab: key %s: stored body is not "
		    "a key's", o->id);
	}
	if (of_prov(body, l->prov)) {
		if ((j = key_json(o, body)) == NULL)
			rc = err_set(CA_FAIL, "out of memory");
		else
			json_array_append_new(l->list, j);
	}
	json_decref(body);
	return rc;
}

int
acme_eab_list(struct db *db, const char *prov, json_t **out)
{
	struct lister l;
	int rc;

	*out = NULL;
	l.prov = prov;
	if ((l.list = json_array()) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if ((rc = db_acme_list(db, KIND, NULL, list_one, &l)) != CA_OK) {
		json_decref(l.list);
		return rc;
	}
	*out = l.list;
	return CA_OK;
}

int
acme_eab_remove(struct db *db, const char *kid, int64_t now, json_t **out)
{
	struct db_acme_row *row = NULL, *again = NULL;
	json_t *body = NULL;
	int rc;

	*out = NULL;
	if ((rc = db_acme_get(db, KIND, kid, &row)) != CA_OK)
		return rc;
	if (row == NULL)
		return err_set(CA_REFUSED, "acme eab: no key %s", kid);
	if (strcmp(row->o.status, "removed") == 0) {
		rc = err_set(CA_REFUSED, "acme eab: key %s was removed already",
		    kid);
		goto out;
	}
	if ((body = row_json(row)) == NULL) {
		rc = CA_FAIL;
		goto out;
	}
	json_object_del(body, "hmacKey");
	json_object_set_new(body, "removedAt", json_integer(now));
	if ((rc = row_update(db, row, row->o.account, "removed", body)) !=
	    CA_OK)
		goto out;
	if ((rc = db_acme_get(db, KIND, kid, &again)) != CA_OK)
		goto out;
	json_decref(body);
	if (again == NULL || (body = row_json(again)) == NULL) {
		body = NULL;
		rc = err_set(CA_FAIL, "acme eab: key %s lost", kid);
		goto out;
	}
	if ((*out = key_json(&again->o, body)) == NULL)
		rc = err_set(CA_FAIL, "out of memory");
out:
	json_decref(body);
	row_wipe_free(row);
	row_wipe_free(again);
	return rc;
}

/*
 * The row of the usable key kid of prov (*row the caller's, freed with
 * row_wipe_free), and its body; CA_REFUSED when there is none.
 */
static int
usable(struct db *db, const char *prov, const char *kid,
    struct db_acme_row **row, json_t **body)
{
	int rc;

	*row = NULL;
	*body = NULL;
	rc = db_acme_get(db, KIND, kid, row);
	if (rc == CA_INPUT)	/* no key ID this CA makes */
		return err_set(CA_REFUSED, "acme eab: unknown key ID");
	if (rc != CA_OK)
		return rc;
	if (*row == NULL)
		return err_set(CA_REFUSED, "acme eab: unknown key ID");
	if ((*body = row_json(*row)) == NULL)
		return CA_FAIL;
	if (!of_prov(*body, prov))
		return err_set(CA_REFUSED, "acme eab: unknown key ID");
	if (strcmp((*row)->o.status, "bound") == 0)
		return err_set(CA_REFUSED, "acme eab: the key is bound to "
		    "another account already");
	if (strcmp((*row)->o.status, "valid") != 0)
		return err_set(CA_REFUSED, "acme eab: the key was removed");
	return CA_OK;
}

int
acme_eab_key(struct db *db, const char *prov, const char *kid,
    struct buf *key)
{
	struct db_acme_row *row;
	json_t *body;
	const char *k;
	int rc;

	memset(key, 0, sizeof(*key));
	if ((rc = usable(db, prov, kid, &row, &body)) != CA_OK)
		goto out;
	if ((k = json_string_value(json_object_get(body, "hmacKey"))) == NULL ||
	    b64url_decode(k, strlen(k), key) != CA_OK || key->len == 0) {
		buf_free(key);
		rc = err_set(CA_FAIL, "acme eab: key %s: stored MAC key "
		    "unreadable", row->o.id);
	}
out:
	json_decref(body);
	row_wipe_free(row);
	return rc;
}

int
acme_eab_bind(struct db *db, const char *prov, const char *kid,
    const char *account, int64_t now)
{
	struct db_acme_row *row;
	json_t *body;
	int rc;

	if ((rc = usable(db, prov, kid, &row, &body)) != CA_OK)
		goto out;
	json_object_del(body, "hmacKey");
	json_object_set_new(body, "boundAt", json_integer(now));
	rc = row_update(db, row, account, "bound", body);
out:
	json_decref(body);
	row_wipe_free(row);
	return rc;
}
