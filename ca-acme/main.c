/*
 * ca-acme: the ACME handler (RFC 8555), the way ca-serve reaches an ACME
 * provisioner.  ca-serve relays every request on /acme/{provisioner}/...
 * as one JSON line, {"acme": {"method", "path", "host", "body"}}, and
 * sends the answer on, {"httpStatus", "headers", "contentType", "body"}.
 *
 * A program of its own rather than routes of ca-sign: ACME is a protocol
 * with its own state (accounts, orders, authorizations, challenges,
 * nonces, all in the database), its own authentication (a JWS per
 * request, signed by an account key) and its own network side (the
 * challenge validator, ca-acme-va, run as a coprocess that holds no key
 * and opens no database).  What it shares with every other path is the
 * authority: the provisioner's claims, the policy, the lint, and one
 * issuance transaction (authority_acme_issue), in which the order's row
 * is updated with the certificate's.
 *
 * Every POST: the flattened JWS parsed (lib/acmejws), its "url" equal to
 * the request's URL (https:// + Host + path), the key (the "jwk" of a
 * new account or a revocation by certificate key, else the account that
 * "kid" names) verifying its signature, then its nonce spent in the
 * database (one use across every handler and host).  Every answer
 * carries a fresh Replay-Nonce and a Link to the directory.
 *
 * Run by the operator with --eab-add, --eab-list or --eab-remove, it
 * keeps the external account binding keys of the ACME provisioners
 * instead (lib/acmeeab), which new-account checks and binds.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "acmeeab.h"
#include "acmejws.h"
#include "apihost.h"
#include "authority.h"
#include "b64.h"
#include "ca_limits.h"
#include "chain.h"
#include "cli.h"
#include "db.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "san.h"
#include "timeutil.h"
#include "x509.h"

#define ACME_ERR "urn:ietf:params:acme:error:"
/* Requests taken together at most (each decided on its own). */
#define ACME_BATCH 16
/* Lifetimes, in seconds. */
#define NONCE_LIFE      3600
#define ORDER_LIFE      (24 * 3600)
#define AUTHZ_LIFE      (24 * 3600)     /* pending, and valid once validated */
/* The most identifiers an order may name, contacts an account may have. */
#define MAX_IDENTIFIERS 100
#define MAX_CONTACTS    8
/* How long a validation may take at most, whatever its timeout. */
#define VA_MAX_MS       25000
/*
 * The validator's argument vector: its path, four options of a value,
 * the address rules (at most CA_MAX_ADDR_RULES: ca.json with more is
 * refused when it is loaded), and the NULL.
 */
#define VA_ARGV         (1 + 2 * 4 + 2 * CA_MAX_ADDR_RULES + 1)
/* How long a validator started ahead of time may wait to be used, ms. */
#define VA_SPARE_LIFE   60000
/* Random bytes of an identifier, a token and a nonce. */
#define ID_BYTES        16
#define TOKEN_BYTES     32

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-acme --api --offline [--dir DIR] [--socket PATH]\n"
"       ca-acme --eab-add PROVISIONER [--reference TEXT] [--dir DIR]\n"
"       ca-acme --eab-list PROVISIONER [--dir DIR]\n"
"       ca-acme --eab-remove KEYID [--dir DIR]\n"
"  --api                requests, JSON objects {\"acme\":{\"method\",\"path\",\n"
"                       \"host\",\"body\"}} one after another on stdin (as\n"
"                       ca-serve relays /acme/...); for each, one line on\n"
"                       stdout: {\"httpStatus\",\"headers\",\"contentType\",\n"
"                       \"body\"}\n"
"  --offline            use the CA home's keys and database in-process\n"
"                       (required: ACME has no online client mode here)\n"
"  --socket PATH        serve every connection to a unix socket bound at\n"
"                       PATH (or the one of LISTEN_FDS) the same way\n"
"  --eab-add PROV       make an external account binding key of the ACME\n"
"                       provisioner PROV; prints {\"keyID\",\"hmacKey\",\n"
"                       \"provisioner\",\"reference\"}, the only time the MAC\n"
"                       key is shown\n"
"  --reference TEXT     with --eab-add: the operator's label for the key\n"
"  --eab-list PROV      PROV's keys, one JSON array, never a MAC key\n"
"  --eab-remove KEYID   remove that key (its MAC key erased); prints it\n"
"  --dir DIR            CA home (default $CA_DIR, else $HOME/.inca)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_OFFLINE = 256, O_API, O_DIR, O_SOCKET, O_VERSION, O_EAB_ADD,
    O_EAB_LIST, O_EAB_REMOVE, O_REFERENCE };

static const struct option longopts[] = {
	{ "offline", no_argument, NULL, O_OFFLINE },
	{ "api", no_argument, NULL, O_API },
	{ "dir", required_argument, NULL, O_DIR },
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "eab-add", required_argument, NULL, O_EAB_ADD },
	{ "eab-list", required_argument, NULL, O_EAB_LIST },
	{ "eab-remove", required_argument, NULL, O_EAB_REMOVE },
	{ "reference", required_argument, NULL, O_REFERENCE },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* The validator, ca-acme-va, beside this program. */
static char va_prog[PATH_MAX];

/* One request and its answer. */
struct req {
	struct authority *a;
	struct db *db;
	const char *method, *path, *host;
	const json_t *body;
	const json_t *prov;         /* the ACME provisioner (borrowed) */
	const char *prov_name;
	char *base;                 /* https://HOST/acme/PROV */
	const char *rest;           /* the path after base and '/' */
	int64_t now;
	/* A POST, once verified. */
	struct acme_jws jws;
	int parsed;
	EVP_PKEY *key;              /* the key that signed it */
	struct db_acme_row *acct;   /* the account (kid requests) */
	/* The answer. */
	int status;
	json_t *headers;
	const char *ctype;
	char *text;
};

/* Answers ------------------------------------------------------------- */

static void
hdr_set(struct req *r, const char *name, const char *value)
{
	json_object_set_new(r->headers, name, json_string(value));
}

static void
hdr_link(struct req *r, const char *url, const char *rel)
{
	json_t *l = json_object_get(r->headers, "Link");
	char *v;

	if (l == NULL) {
		l = json_array();
		json_object_set_new(r->headers, "Link", l);
	}
	if (asprintf(&v, "<%s>;rel=\"%s\"", url, rel) < 0)
		return;
	json_array_append_new(l, json_string(v));
	free(v);
}

/* The answer j (taken), as JSON with status. */
static int
answer_json(struct req *r, int status, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;

	json_decref(j);
	free(r->text);
	r->text = s;
	if (s == NULL)
		return err_set(CA_FAIL, "out of memory");
	r->status = status;
	r->ctype = "application/json";
	return CA_OK;
}

/*
 * A problem document: type (after ACME_ERR), status and detail, the
 * detail also on stderr.  Returns CA_REFUSED for 4xx, CA_FAIL for 5xx:
 * never CA_OK, so that the caller stops at it and no later step (the
 * nonce of serve_one) replaces the answer.  The answer itself is the
 * outcome: the stream's exit status does not count refusals.
 */
static int
problem(struct req *r, int status, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
problem(struct req *r, int status, const char *type, const char *fmt, ...)
{
	char t[96], d[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d, sizeof(d), fmt, ap);
	va_end(ap);
	snprintf(t, sizeof(t), ACME_ERR "%s", type);
	/* Said on stderr (ca-serve's log) too, as every handler says why. */
	fprintf(stderr, "%s: %s\n", err_progname(), d);
	answer_json(r, status, json_pack("{s:s, s:s, s:i}", "type", t,
	    "detail", d, "status", status));
	r->ctype = "application/problem+json";
	return status >= 500 ? CA_FAIL : CA_REFUSED;
}

/* The problem for a lib failure recorded by err_set(): 503, 500. */
static int
internal(struct req *r, int code)
{
	if (code == CA_UNAVAIL) {
		hdr_set(r, "Retry-After", "5");
		return problem(r, 503, "serverInternal", "%s", err_msg());
	}
	return problem(r, 500, "serverInternal", "%s", err_msg());
}

/*
 * A fresh nonce, stored, as the answer's Replay-Nonce; with spend, the
 * request's nonce is spent in the same transaction (one commit where
 * there would be two), and CA_REFUSED when it cannot be, nothing then
 * stored.  Once the answer has its nonce, another call does nothing.
 */
static int
nonce_new(struct req *r, const char *spend)
{
	char *n;
	int rc;

	if (r->db == NULL || json_object_get(r->headers, "Replay-Nonce"))
		return CA_OK;
	if ((n = b64url_random(ID_BYTES)) == NULL)
		return CA_FAIL;
	if (spend == NULL)
		rc = db_nonce_put(r->db, n, r->now, r->now + NONCE_LIFE);
	else if ((rc = db_begin(r->db)) == CA_OK) {
		if ((rc = db_nonce_use(r->db, spend, r->now)) == CA_OK &&
		    (rc = db_nonce_put(r->db, n, r->now, r->now + NONCE_LIFE)) ==
		    CA_OK)
			rc = db_commit(r->db);
		else
			db_rollback(r->db);
	}
	if (rc == CA_OK)
		hdr_set(r, "Replay-Nonce", n);
	free(n);
	return rc;
}

/* The wire answer of r. */
static json_t *
wire(struct req *r)
{
	return json_pack("{s:i, s:O, s:s?, s:s}", "httpStatus", r->status,
	    "headers", r->headers, "contentType", r->ctype, "body",
	    r->text != NULL ? r->text : "");
}

/* Times and URLs ------------------------------------------------------ */

static json_t *
rfc3339(int64_t t)
{
	char b[64];

	time_fmt(t, b, sizeof(b));
	return json_string(b);
}

/* base "/" kind "/" id [ "/" tail ], malloc'd. */
static char *
url_of(const struct req *r, const char *kind, const char *id,
    const char *tail)
{
	char *u;

	if (asprintf(&u, "%s/%s%s%s%s%s", r->base, kind, id ? "/" : "",
	    id ? id : "", tail ? "/" : "", tail ? tail : "") < 0)
		return NULL;
	return u;
}

static json_t *
json_url(const struct req *r, const char *kind, const char *id,
    const char *tail)
{
	char *u = url_of(r, kind, id, tail);
	json_t *j = u != NULL ? json_string(u) : NULL;

	free(u);
	return j;
}

/* Rows ---------------------------------------------------------------- */

/* A row's body as JSON (the caller's), or NULL (message recorded). */
static json_t *
row_body(const struct db_acme_row *row)
{
	json_t *j = json_loads(row->o.body, JSON_REJECT_DUPLICATES, NULL);

	if (!json_is_object(j)) {
		json_decref(j);
		err_set(CA_FAIL, "acme %s %s: stored body is not a JSON object",
		    row->o.kind, row->o.id);
		return NULL;
	}
	return j;
}

/* Write one row: create, or update by (kind, id). */
static int
row_put(struct req *r, const char *kind, const char *id, const char *account,
    const char *lookup, const char *status, int64_t expires, const json_t *body,
    int create, enum db_refusal *why)
{
	struct db_acme o;
	enum db_refusal w;
	char *text;
	int rc;

	if ((text = json_dumps(body, JSON_COMPACT)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	memset(&o, 0, sizeof(o));
	o.kind = kind;
	o.id = id;
	o.account = account;
	o.lookup = lookup;
	o.status = status;
	o.expires_at = expires;
	o.body = text;
	rc = db_acme_put(r->db, &o, create, why != NULL ? why : &w);
	free(text);
	return rc;
}

/* Request ------------------------------------------------------------- */

/*
 * The provisioner of the path /acme/{name}/{rest}: r->prov, r->base,
 * r->rest; a 404 problem when there is none of that name.
 */
static int
route_prov(struct req *r)
{
	const char *p = r->path + strlen("/acme/"), *slash;
	char name[256];
	size_t n;

	if (strncmp(r->path, "/acme/", 6) != 0 ||
	    (slash = strchr(p, '/')) == NULL || (n = (size_t)(slash - p)) == 0 ||
	    n >= sizeof(name))
		return problem(r, 404, "malformed", "no such resource");
	memcpy(name, p, n);
	name[n] = '\0';
	if ((r->prov = authority_acme_provisioner(r->a, name)) == NULL)
		return problem(r, 404, "malformed", "no ACME provisioner %s",
		    name);
	r->prov_name = json_string_value(json_object_get(r->prov, "name"));
	r->rest = slash + 1;
	if (asprintf(&r->base, "https://%s/acme/%s", r->host, name) < 0) {
		r->base = NULL;
		return internal(r, err_set(CA_FAIL, "out of memory"));
	}
	return CA_OK;
}

/* rest is "kind/ID" (tail NULL) or "kind/ID/tail": ID into id. */
static int
rest_id(const char *rest, const char *kind, const char *tail, char *id,
    size_t idlen)
{
	size_t k = strlen(kind), n;
	const char *p;

	if (strncmp(rest, kind, k) != 0 || rest[k] != '/')
		return 0;
	p = rest + k + 1;
	n = strcspn(p, "/");
	if (n == 0 || n >= idlen)
		return 0;
	if (tail == NULL ? p[n] != '\0' :
	    (p[n] != '/' || strcmp(p + n + 1, tail) != 0))
		return 0;
	memcpy(id, p, n);
	id[n] = '\0';
	return 1;
}

/* The problem type of a JWS refusal. */
static const char *
why_type(enum acme_jws_why why)
{
	const char *t = acme_why_type(why);

	return t != NULL && strncmp(t, ACME_ERR, strlen(ACME_ERR)) == 0 ?
	    t + strlen(ACME_ERR) : "malformed";
}

/*
 * Whether the account whose body is body may act at this provisioner as
 * far as external account binding goes: always where it is not required,
 * else only when the account was bound with a key of this provisioner
 * (an account made elsewhere, or before, is not let in by its kid).
 */
static int
eab_bound_here(const struct req *r, const json_t *body)
{
	const char *p;

	if (!json_is_true(json_object_get(r->prov, "requireEAB")))
		return 1;
	p = json_string_value(json_object_get(json_object_get(body, "eab"),
	    "provisioner"));
	return p != NULL && strcmp(p, r->prov_name) == 0;
}

/*
 * A POST's JWS: parsed, its url the request's, its key (the jwk for
 * BY_JWK, the account of its kid, which must be valid, for BY_KID, the
 * one the request has for BY_EITHER) verifying
 * the signature, then its nonce spent.  On failure the problem is set.
 */
enum { BY_KID, BY_JWK, BY_EITHER };

static int
verify_post(struct req *r, int by)
{
	char *url, *acct_prefix = NULL, id[128];
	json_t *body;
	int rc;

	if (r->body == NULL || !json_is_object(r->body))
		return problem(r, 400, "malformed", "a POST needs a JWS body");
	if ((rc = acme_jws_parse(r->body, &r->jws)) != CA_OK)
		return problem(r, 400, why_type(r->jws.why), "%s", err_msg());
	r->parsed = 1;
	if (asprintf(&url, "https://%s%s", r->host, r->path) < 0)
		return internal(r, err_set(CA_FAIL, "out of memory"));
	rc = strcmp(url, r->jws.url);
	free(url);
	if (rc != 0)
		return problem(r, 401, "unauthorized", "the JWS url is not "
		    "this request's URL");
	if (by == BY_JWK || (by == BY_EITHER && r->jws.jwk != NULL)) {
		if (r->jws.jwk == NULL)
			return problem(r, 400, "malformed", "this request is "
			    "signed with a jwk, not a kid");
		if (acme_jws_jwk(&r->jws, &r->key) != CA_OK)
			return problem(r, 400, "badPublicKey", "%s", err_msg());
	} else {
		if (r->jws.kid == NULL)
			return problem(r, 400, "malformed", "this request is "
			    "signed with a kid (the account URL), not a jwk");
		if ((acct_prefix = url_of(r, "acct", NULL, NULL)) == NULL)
			return internal(r, err_set(CA_FAIL, "out of memory"));
		rc = strncmp(r->jws.kid, acct_prefix, strlen(acct_prefix)) ||
		    r->jws.kid[strlen(acct_prefix)] != '/' ||
		    strlen(r->jws.kid + strlen(acct_prefix) + 1) >= sizeof(id) ||
		    strchr(r->jws.kid + strlen(acct_prefix) + 1, '/') != NULL;
		if (rc == 0)
			snprintf(id, sizeof(id), "%s",
			    r->jws.kid + strlen(acct_prefix) + 1);
		free(acct_prefix);
		if (rc != 0)
			return problem(r, 400, "accountDoesNotExist", "kid is "
			    "not an account of this provisioner");
		if ((rc = db_acme_get(r->db, "account", id, &r->acct)) != CA_OK)
			return internal(r, rc);
		if (r->acct == NULL)
			return problem(r, 400, "accountDoesNotExist",
			    "no account %s", id);
		if (strcmp(r->acct->o.status, "valid") != 0)
			return problem(r, 401, "unauthorized", "account %s is %s",
			    id, r->acct->o.status);
		if ((body = row_body(r->acct)) == NULL)
			return internal(r, CA_FAIL);
		if (!eab_bound_here(r, body)) {
			json_decref(body);
			return problem(r, 401, "unauthorized", "account %s has "
			    "no external account binding with provisioner %s",
			    id, r->prov_name);
		}
		rc = jwk_import(json_object_get(body, "key"), JWK_PUBLIC,
		    &r->key);
		json_decref(body);
		if (rc != CA_OK)
			return internal(r, rc);
	}
	if ((rc = acme_jws_verify(&r->jws, r->key)) != CA_OK) {
		if (rc == CA_FAIL)
			return internal(r, rc);
		return problem(r, 400, rc == CA_INPUT ? "badPublicKey" :
		    "malformed", "%s", err_msg());
	}
	if ((rc = nonce_new(r, r->jws.nonce)) == CA_REFUSED)
		return problem(r, 400, "badNonce", "the nonce is not one this "
		    "server gave, was used, or expired");
	if (rc != CA_OK)
		return internal(r, rc);
	return CA_OK;
}

/* Is the request POST-as-GET (an empty payload)? */
static int
post_as_get(const struct req *r)
{
	return r->jws.payload == NULL;
}

/* Directory and nonces ------------------------------------------------ */

static int
directory(struct req *r)
{
	json_t *d, *meta;
	const json_t *v;

	d = json_object();
	json_object_set_new(d, "newNonce", json_url(r, "new-nonce", NULL, NULL));
	json_object_set_new(d, "newAccount", json_url(r, "new-account", NULL,
	    NULL));
	json_object_set_new(d, "newOrder", json_url(r, "new-order", NULL, NULL));
	json_object_set_new(d, "revokeCert", json_url(r, "revoke-cert", NULL,
	    NULL));
	json_object_set_new(d, "keyChange", json_url(r, "key-change", NULL,
	    NULL));
	meta = json_object();
	if ((v = json_object_get(r->prov, "termsOfService")) != NULL)
		json_object_set(meta, "termsOfService", (json_t *)v);
	if ((v = json_object_get(r->prov, "website")) != NULL)
		json_object_set(meta, "website", (json_t *)v);
	if ((v = json_object_get(r->prov, "caaIdentities")) != NULL)
		json_object_set(meta, "caaIdentities", (json_t *)v);
	json_object_set_new(meta, "externalAccountRequired", json_boolean(
	    json_is_true(json_object_get(r->prov, "requireEAB"))));
	json_object_set_new(d, "meta", meta);
	return answer_json(r, 200, d);
}

/* new-nonce: 200 to HEAD, 204 to GET (RFC 8555 7.2); the nonce is added later. */
static int
new_nonce(struct req *r)
{
	hdr_set(r, "Cache-Control", "no-store");
	r->status = strcmp(r->method, "HEAD") == 0 ? 200 : 204;
	r->ctype = NULL;
	return CA_OK;
}

/* Accounts ------------------------------------------------------------ */

static json_t *
account_json(struct req *r, const struct db_acme_row *row, const json_t *body)
{
	json_t *j = json_object(), *c = json_object_get(body, "contact");

	json_object_set_new(j, "status", json_string(row->o.status));
	json_object_set(j, "contact", c != NULL ? c : json_array());
	json_object_set_new(j, "orders", json_url(r, "acct", row->o.id,
	    "orders"));
	return j;
}

/* The account answer (status), with its Location. */
static int
account_answer(struct req *r, int status, const struct db_acme_row *row)
{
	json_t *body = row_body(row);
	char *loc;

	if (body == NULL)
		return internal(r, CA_FAIL);
	if ((loc = url_of(r, "acct", row->o.id, NULL)) != NULL)
		hdr_set(r, "Location", loc);
	free(loc);
	answer_json(r, status, account_json(r, row, body));
	json_decref(body);
	return CA_OK;
}

/*
 * "contact": at most MAX_CONTACTS mailto: URLs; 0, or a problem.  A URL
 * of another scheme is unsupportedContact (RFC 8555 6.7); anything else
 * amiss (not a list, too many, a mailto: that is not one address
 * without hfields) is invalidContact.
 */
static int
contacts_ok(struct req *r, const json_t *c)
{
	const json_t *v;
	const char *s;
	size_t i;

	if (!json_is_array(c) || json_array_size(c) > MAX_CONTACTS)
		return problem(r, 400, "invalidContact", "contact: a list of "
		    "at most %d mailto: URLs", MAX_CONTACTS);
	json_array_foreach(c, i, v) {
		s = json_string_value(v);
		if (s != NULL && strncmp(s, "mailto:", 7) != 0 &&
		    strchr(s, ':') != NULL)
			return problem(r, 400, "unsupportedContact", "contact "
			    "%zu: only mailto: URLs", i);
		if (s == NULL || strncmp(s, "mailto:", 7) != 0 ||
		    strchr(s, '?') != NULL || strchr(s, ',') != NULL ||
		    strchr(s + 7, '@') == NULL || strlen(s) > 256 ||
		    strlen(s) != json_string_length(v))
			return problem(r, 400, "invalidContact", "contact "
			    "%zu: one mailto: address, without hfields", i);
	}
	return CA_OK;
}

/*
 * An externalAccountBinding of a new-account request (RFC 8555 7.3.4):
 * a key of this provisioner not yet bound, whose MAC verifies over this
 * request's url and account key.  *kid (the caller's) is its key ID; the
 * binding itself is written with the account.  On failure the problem is
 * set: malformed for a binding that does not parse, unauthorized for one
 * that does not verify or whose key is unknown, bound or removed.
 */
static int
eab_check(struct req *r, const json_t *eab, char **kid)
{
	struct buf key;
	int rc;

	if ((rc = acme_eab_kid(eab, kid)) != CA_OK)
		return rc == CA_FAIL ? internal(r, rc) : problem(r,
		    rc == CA_REFUSED ? 401 : 400, rc == CA_REFUSED ?
		    "unauthorized" : "malformed", "external account binding: "
		    "%s", err_msg());
	if ((rc = acme_eab_key(r->db, r->prov_name, *kid, &key)) != CA_OK)
		return rc == CA_REFUSED ? problem(r, 401, "unauthorized",
		    "external account binding: %s", err_msg()) :
		    internal(r, rc);
	rc = acme_eab_verify(eab, *kid, key.data, key.len, r->jws.jwk,
	    r->jws.url);
	buf_free(&key);
	if (rc == CA_FAIL)
		return internal(r, rc);
	if (rc != CA_OK)
		return problem(r, rc == CA_REFUSED ? 401 : 400,
		    rc == CA_REFUSED ? "unauthorized" : "malformed",
		    "external account binding: %s", err_msg());
	return CA_OK;
}

/*
 * The answer to a new-account request for a key that has an account
 * already: that account, unless this provisioner requires a binding the
 * account does not have (one key, one account: it cannot be bound again).
 */
static int
eab_existing(struct req *r, const struct db_acme_row *row)
{
	json_t *body = row_body(row);
	int here;

	if (body == NULL)
		return internal(r, CA_FAIL);
	here = eab_bound_here(r, body);
	json_decref(body);
	if (!here)
		return problem(r, 401, "unauthorized", "the account of this key "
		    "has no external account binding with provisioner %s",
		    r->prov_name);
	return account_answer(r, 200, row);
}

/*
 * A revoked certificate's key is spent: no new account, no key-change and
 * no certificate request may use it again, whoever asks and whatever the
 * revocation's reason.  key_revoked sets serial (DB_MAX_SERIAL + 1 bytes)
 * to a revoked certificate whose key is key, or to "" when there is none.
 * It reads every revoked certificate: a private CA revokes few, and the
 * CRL is made from the same rows.
 */
struct key_revoked {
	EVP_PKEY	*key;
	char		*serial;
};

static int
key_revoked_row(const struct db_row *row, void *arg)
{
	struct key_revoked *k = arg;
	const unsigned char *p = row->cert.der;
	X509 *x;
	EVP_PKEY *pub;

	if ((x = d2i_X509(NULL, &p, (long)row->cert.der_len)) == NULL)
		return err_set(CA_FAIL, "certificate %s: stored DER does not "
		    "parse", row->cert.serial);
	pub = X509_get0_pubkey(x);
	if (pub != NULL && EVP_PKEY_eq(pub, k->key) == 1)
		snprintf(k->serial, DB_MAX_SERIAL + 1, "%s", row->cert.serial);
	X509_free(x);
	return k->serial[0] != '\0' ? CA_REFUSED : CA_OK;
}

static int
key_revoked(struct db *db, EVP_PKEY *key, char *serial)
{
	struct key_revoked k = { key, serial };
	struct db_filter f;
	int rc;

	memset(&f, 0, sizeof(f));
	f.select = DB_SELECT_REVOKED;
	serial[0] = '\0';
	rc = db_list_certs(db, &f, key_revoked_row, &k);
	return rc == CA_REFUSED && serial[0] != '\0' ? CA_OK : rc;
}

/*
 * An account's key (what names it in messages) that is a revoked
 * certificate's: badPublicKey, set as the problem.
 */
static int
key_spent(struct req *r, EVP_PKEY *key, const char *what)
{
	char revoked[DB_MAX_SERIAL + 1];
	int rc;

	if ((rc = key_revoked(r->db, key, revoked)) != CA_OK)
		return internal(r, rc);
	if (revoked[0] != '\0')
		return problem(r, 400, "badPublicKey", "%s is that of revoked "
		    "certificate %s", what, revoked);
	return CA_OK;
}

static int
new_account(struct req *r)
{
	const json_t *p = r->jws.payload, *c, *eab;
	struct db_acme_row *row = NULL;
	enum db_refusal why;
	char *tp = NULL, *id = NULL, *kid = NULL;
	json_t *body;
	int rc;

	if (p == NULL)
		return problem(r, 400, "malformed", "new-account needs a payload");
	if ((tp = jwk_thumbprint(r->key)) == NULL)
		return internal(r, CA_FAIL);
	if ((rc = db_acme_find(r->db, "account", tp, &row)) != CA_OK) {
		rc = internal(r, rc);
		goto out;
	}
	if (row != NULL) {
		/* The key's account, whatever else the request says. */
		rc = eab_existing(r, row);
		goto out;
	}
	if (json_is_true(json_object_get(p, "onlyReturnExisting"))) {
		rc = problem(r, 400, "accountDoesNotExist", "no account for "
		    "this key");
		goto out;
	}
	if ((rc = key_spent(r, r->key, "the key")) != CA_OK)
		goto out;
	eab = json_object_get(p, "externalAccountBinding");
	if (eab == NULL && json_is_true(json_object_get(r->prov,
	    "requireEAB"))) {
		rc = problem(r, 400, "externalAccountRequired", "provisioner %s "
		    "requires an external account binding", r->prov_name);
		goto out;
	}
	if (eab != NULL && (rc = eab_check(r, eab, &kid)) != CA_OK)
		goto out;
	c = json_object_get(p, "contact");
	if (c != NULL && (rc = contacts_ok(r, c)) != CA_OK)
		goto out;
	if ((id = b64url_random(ID_BYTES)) == NULL) {
		rc = internal(r, CA_FAIL);
		goto out;
	}
	body = json_pack("{s:O, s:o, s:I}", "key", r->jws.jwk, "contact",
	    c != NULL ? json_deep_copy(c) : json_array(), "createdAt",
	    (json_int_t)r->now);
	if (kid != NULL)
		json_object_set_new(body, "eab", json_pack("{s:s, s:s}",
		    "provisioner", r->prov_name, "keyID", kid));
	/* With a binding, the account and its key's binding are one write. */
	if (kid != NULL && (rc = db_begin(r->db)) != CA_OK) {
		json_decref(body);
		rc = internal(r, rc);
		goto out;
	}
	rc = row_put(r, "account", id, NULL, tp, "valid", 0, body, 1, &why);
	json_decref(body);
	if (kid != NULL && rc == CA_OK &&
	    (rc = acme_eab_bind(r->db, r->prov_name, kid, id, r->now)) ==
	    CA_REFUSED) {
		db_rollback(r->db);
		rc = problem(r, 401, "unauthorized", "external account "
		    "binding: %s", err_msg());
		goto out;
	}
	if (kid != NULL) {
		if (rc == CA_OK)
			rc = db_commit(r->db);
		else
			db_rollback(r->db);
	}
	if (rc == CA_REFUSED) {
		/* The same key, at the same moment, elsewhere: that one. */
		if ((rc = db_acme_find(r->db, "account", tp, &row)) != CA_OK ||
		    row == NULL) {
			rc = internal(r, rc != CA_OK ? rc :
			    err_set(CA_FAIL, "account lost"));
			goto out;
		}
		rc = eab_existing(r, row);
		goto out;
	}
	if (rc != CA_OK) {
		rc = internal(r, rc);
		goto out;
	}
	if ((rc = db_acme_get(r->db, "account", id, &row)) != CA_OK ||
	    row == NULL) {
		rc = internal(r, rc != CA_OK ? rc : err_set(CA_FAIL, "account lost"));
		goto out;
	}
	rc = account_answer(r, 201, row);
out:
	db_acme_row_free(row);
	free(tp);
	free(id);
	free(kid);
	return rc;
}

/* POST acct/ID: read (POST-as-GET), contact update, or deactivation. */
static int
account_update(struct req *r, const char *id)
{
	const json_t *p = r->jws.payload, *c, *st;
	struct db_acme_row *row = NULL;
	const char *status;
	json_t *body;
	int rc;

	if (strcmp(r->acct->o.id, id) != 0)
		return problem(r, 401, "unauthorized", "not this request's "
		    "account");
	if (post_as_get(r))
		return account_answer(r, 200, r->acct);
	if ((body = row_body(r->acct)) == NULL)
		return internal(r, CA_FAIL);
	status = r->acct->o.status;
	if ((c = json_object_get(p, "contact")) != NULL) {
		if ((rc = contacts_ok(r, c)) != CA_OK) {
			json_decref(body);
			return rc;
		}
		json_object_set(body, "contact", (json_t *)c);
	}
	if ((st = json_object_get(p, "status")) != NULL) {
		if (!json_is_string(st) ||
		    strcmp(json_string_value(st), "deactivated") != 0) {
			json_decref(body);
			return problem(r, 400, "malformed", "status: only "
			    "\"deactivated\" may be asked for");
		}
		status = "deactivated";
	}
	rc = row_put(r, "account", id, NULL, r->acct->o.lookup, status, 0, body,
	    0, NULL);
	json_decref(body);
	if (rc != CA_OK)
		return internal(r, rc);
	if ((rc = db_acme_get(r->db, "account", id, &row)) != CA_OK ||
	    row == NULL)
		return internal(r, rc != CA_OK ? rc : err_set(CA_FAIL,
		    "account lost"));
	rc = account_answer(r, 200, row);
	db_acme_row_free(row);
	return rc;
}

struct orders_acc {
	struct req *r;
	json_t *list;
};

static int
order_url_add(const struct db_acme *o, void *arg)
{
	struct orders_acc *acc = arg;

	json_array_append_new(acc->list, json_url(acc->r, "order", o->id, NULL));
	return CA_OK;
}

/* POST acct/ID/orders: the account's orders' URLs. */
static int
orders_list(struct req *r, const char *id)
{
	struct orders_acc acc;
	int rc;

	if (strcmp(r->acct->o.id, id) != 0)
		return problem(r, 401, "unauthorized", "not this request's "
		    "account");
	acc.r = r;
	acc.list = json_array();
	if ((rc = db_acme_list(r->db, "order", id, order_url_add, &acc)) !=
	    CA_OK) {
		json_decref(acc.list);
		return internal(r, rc);
	}
	return answer_json(r, 200, json_pack("{s:o}", "orders", acc.list));
}

/* Orders, authorizations, challenges ---------------------------------- */

/* The authorizations' and challenges' JSON for the client. */
static json_t *
challenge_json(struct req *r, const struct db_acme_row *ch)
{
	json_t *b = row_body(ch), *j;
	const json_t *v;

	if (b == NULL)
		return NULL;
	j = json_pack("{s:O, s:o, s:s, s:O}", "type", json_object_get(b, "type"),
	    "url", json_url(r, "chall", ch->o.id, NULL), "status", ch->o.status,
	    "token", json_object_get(b, "token"));
	if ((v = json_object_get(b, "validated")) != NULL)
		json_object_set_new(j, "validated", rfc3339(json_integer_value(v)));
	if ((v = json_object_get(b, "error")) != NULL)
		json_object_set(j, "error", (json_t *)v);
	json_decref(b);
	return j;
}

static json_t *
authz_json(struct req *r, const struct db_acme_row *az)
{
	json_t *b = row_body(az), *j, *chs, *cj;
	struct db_acme_row *ch;
	const json_t *v;
	size_t i;

	if (b == NULL)
		return NULL;
	chs = json_array();
	json_array_foreach(json_object_get(b, "challenges"), i, v) {
		if (db_acme_get(r->db, "challenge", json_string_value(v),
		    &ch) != CA_OK || ch == NULL) {
			json_decref(chs);
			json_decref(b);
			return NULL;
		}
		cj = challenge_json(r, ch);
		db_acme_row_free(ch);
		if (cj == NULL) {
			json_decref(chs);
			json_decref(b);
			return NULL;
		}
		json_array_append_new(chs, cj);
	}
	j = json_pack("{s:s, s:o, s:O, s:o}", "status", az->o.status,
	    "expires", rfc3339(az->o.expires_at), "identifier",
	    json_object_get(b, "identifier"), "challenges", chs);
	if (json_is_true(json_object_get(b, "wildcard")))
		json_object_set_new(j, "wildcard", json_true());
	json_decref(b);
	return j;
}

/*
 * An authorization's current status: a pending or valid one past its
 * expiry is expired (and so stored).
 */
static int
authz_fresh(struct req *r, struct db_acme_row **az)
{
	json_t *b;
	char *id;
	int rc;

	if ((*az)->o.expires_at > r->now ||
	    (strcmp((*az)->o.status, "pending") != 0 &&
	    strcmp((*az)->o.status, "valid") != 0))
		return CA_OK;
	if ((b = row_body(*az)) == NULL)
		return CA_FAIL;
	rc = row_put(r, "authz", (*az)->o.id, (*az)->o.account, NULL,
	    "expired", (*az)->o.expires_at, b, 0, NULL);
	json_decref(b);
	if (rc != CA_OK)
		return rc;
	if ((id = strdup((*az)->o.id)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	db_acme_row_free(*az);
	*az = NULL;
	rc = db_acme_get(r->db, "authz", id, az);
	free(id);
	if (rc == CA_OK && *az == NULL)
		rc = err_set(CA_FAIL, "authorization lost");
	return rc;
}

/*
 * An order's current status from its authorizations: pending until
 * every one is valid (then ready), invalid once one is not pending or
 * valid, or once it expired before it was finalized.  Stored when it
 * changed; *row replaced then.
 */
static int
order_fresh(struct req *r, struct db_acme_row **row)
{
	struct db_acme_row *az;
	const char *st = (*row)->o.status, *want;
	const json_t *v;
	json_t *b;
	size_t i, valid = 0, n;
	char *id;
	int rc, bad = 0;

	if (strcmp(st, "pending") != 0 && strcmp(st, "ready") != 0)
		return CA_OK;
	if ((b = row_body(*row)) == NULL)
		return CA_FAIL;
	n = json_array_size(json_object_get(b, "authorizations"));
	json_array_foreach(json_object_get(b, "authorizations"), i, v) {
		if ((rc = db_acme_get(r->db, "authz", json_string_value(v),
		    &az)) != CA_OK || az == NULL ||
		    (rc = authz_fresh(r, &az)) != CA_OK) {
			db_acme_row_free(az);
			json_decref(b);
			return rc != CA_OK ? rc : err_set(CA_FAIL,
			    "authorization lost");
		}
		if (strcmp(az->o.status, "valid") == 0)
			valid++;
		else if (strcmp(az->o.status, "pending") != 0)
			bad = 1;
		db_acme_row_free(az);
	}
	want = bad || (*row)->o.expires_at <= r->now ? "invalid" :
	    valid == n ? "ready" : "pending";
	if (strcmp(want, st) == 0) {
		json_decref(b);
		return CA_OK;
	}
	rc = row_put(r, "order", (*row)->o.id, (*row)->o.account,
	    (*row)->o.lookup, want, (*row)->o.expires_at, b, 0, NULL);
	json_decref(b);
	if (rc != CA_OK)
		return rc;
	if ((id = strdup((*row)->o.id)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	db_acme_row_free(*row);
	*row = NULL;
	rc = db_acme_get(r->db, "order", id, row);
	free(id);
	if (rc == CA_OK && *row == NULL)
		rc = err_set(CA_FAIL, "order lost");
	return rc;
}

static json_t *
order_json(struct req *r, const struct db_acme_row *row)
{
	json_t *b = row_body(row), *j, *az;
	const json_t *v;
	size_t i;

	if (b == NULL)
		return NULL;
	az = json_array();
	json_array_foreach(json_object_get(b, "authorizations"), i, v)
		json_array_append_new(az, json_url(r, "authz",
		    json_string_value(v), NULL));
	j = json_pack("{s:s, s:o, s:O, s:o, s:o}", "status", row->o.status,
	    "expires", rfc3339(row->o.expires_at), "identifiers",
	    json_object_get(b, "identifiers"), "authorizations", az,
	    "finalize", json_url(r, "order", row->o.id, "finalize"));
	if ((v = json_object_get(b, "notBefore")) != NULL)
		json_object_set(j, "notBefore", (json_t *)v);
	if ((v = json_object_get(b, "notAfter")) != NULL)
		json_object_set(j, "notAfter", (json_t *)v);
	if (json_object_get(b, "certificate") != NULL)
		json_object_set_new(j, "certificate", json_url(r, "cert",
		    row->o.id, NULL));
	if ((v = json_object_get(b, "error")) != NULL)
		json_object_set(j, "error", (json_t *)v);
	json_decref(b);
	return j;
}

static int
order_answer(struct req *r, int status, const struct db_acme_row *row)
{
	json_t *j = order_json(r, row);
	char *loc;

	if (j == NULL)
		return internal(r, CA_FAIL);
	if ((loc = url_of(r, "order", row->o.id, NULL)) != NULL)
		hdr_set(r, "Location", loc);
	free(loc);
	if (strcmp(row->o.status, "processing") == 0)
		hdr_set(r, "Retry-After", "1");
	return answer_json(r, status, j);
}

/*
 * One identifier of a new order, checked: {"type": "dns"|"ip", "value"}
 * spelled as this CA normalises it (no second spelling of one name);
 * into names.
 */
static int
identifier_ok(struct req *r, const json_t *id, size_t i, struct sans *names)
{
	const char *type = json_string_value(json_object_get(id, "type"));
	const char *value = json_string_value(json_object_get(id, "value"));
	struct san n;
	int rc;

	if (!json_is_object(id) || json_object_size(id) != 2 || type == NULL ||
	    value == NULL)
		return problem(r, 400, "malformed", "identifiers[%zu]: "
		    "{\"type\", \"value\"}", i);
	if (strcmp(type, "dns") != 0 && strcmp(type, "ip") != 0)
		return problem(r, 400, "unsupportedIdentifier", "identifiers"
		    "[%zu]: type %s: dns or ip", i, type);
	if (san_parse_as(value, strcmp(type, "dns") == 0 ? SAN_DNS : SAN_IP,
	    &n) != CA_OK)
		return problem(r, 400, "rejectedIdentifier", "identifiers"
		    "[%zu]: %s", i, err_msg());
	if (strcmp(n.value, value) != 0) {
		rc = problem(r, 400, "rejectedIdentifier", "identifiers[%zu]: "
		    "%s is spelled %s here", i, value, n.value);
		free(n.value);
		return rc;
	}
	if (sans_contains(names, &n)) {
		free(n.value);
		return problem(r, 400, "malformed", "identifiers[%zu]: %s "
		    "twice", i, value);
	}
	rc = sans_add_san(names, &n);
	free(n.value);
	return rc == CA_OK ? CA_OK : internal(r, rc);
}

/* The challenge types the provisioner offers for an identifier. */
static json_t *
challenge_types(const struct req *r, const char *type, int wildcard)
{
	static const char *all[] = { "http-01", "dns-01", "tls-alpn-01", NULL };
	const json_t *conf = json_object_get(r->prov, "challenges");
	json_t *out = json_array();
	size_t i, j;
	const json_t *v;
	int on;

	for (i = 0; all[i] != NULL; i++) {
		/* RFC 8738: no dns-01 for an address; a wildcard only by DNS. */
		if (strcmp(type, "ip") == 0 && strcmp(all[i], "dns-01") == 0)
			continue;
		if (wildcard && strcmp(all[i], "dns-01") != 0)
			continue;
		on = conf == NULL;
		json_array_foreach(conf, j, v)
			if (strcmp(json_string_value(v), all[i]) == 0)
				on = 1;
		if (on)
			json_array_append_new(out, json_string(all[i]));
	}
	return out;
}

/*
 * The authorization of one identifier for the account: a pending or
 * valid one not expired is used again (its lookup is account|type:value),
 * else a new one with a challenge of each type offered.  Its id into
 * ids; its status counted in *valid.
 */
static int
authz_for(struct req *r, const json_t *ident, json_t *ids, size_t *valid)
{
	const char *type = json_string_value(json_object_get(ident, "type"));
	const char *value = json_string_value(json_object_get(ident, "value"));
	struct db_acme_row *az = NULL;
	json_t *types, *chs, *body, *idj;
	char *lookup = NULL, *id = NULL, *cid, *tok;
	const json_t *t;
	size_t i;
	int rc, wildcard = strncmp(value, "*.", 2) == 0;

	if (asprintf(&lookup, "%s|%s:%s", r->acct->o.id, type, value) < 0)
		return err_set(CA_FAIL, "out of memory");
	if ((rc = db_acme_find(r->db, "authz", lookup, &az)) != CA_OK)
		goto out;
	if (az != NULL && (rc = authz_fresh(r, &az)) != CA_OK)
		goto out;
	if (az != NULL && (strcmp(az->o.status, "valid") == 0 ||
	    strcmp(az->o.status, "pending") == 0)) {
		*valid += strcmp(az->o.status, "valid") == 0;
		json_array_append_new(ids, json_string(az->o.id));
		goto out;
	}
	if (az != NULL) {
		/* Spent (invalid, expired, deactivated): it lets go of the name. */
		if ((body = row_body(az)) == NULL) {
			rc = CA_FAIL;
			goto out;
		}
		rc = row_put(r, "authz", az->o.id, az->o.account, NULL,
		    az->o.status, az->o.expires_at, body, 0, NULL);
		json_decref(body);
		if (rc != CA_OK)
			goto out;
	}
	if ((id = b64url_random(ID_BYTES)) == NULL) {
		rc = CA_FAIL;
		goto out;
	}
	types = challenge_types(r, type, wildcard);
	if (json_array_size(types) == 0) {
		json_decref(types);
		rc = err_set(CA_REFUSED, "provisioner %s offers no challenge "
		    "for %s %s", r->prov_name, type, value);
		goto out;
	}
	chs = json_array();
	rc = CA_OK;
	json_array_foreach(types, i, t) {
		if ((cid = b64url_random(ID_BYTES)) == NULL ||
		    (tok = b64url_random(TOKEN_BYTES)) == NULL) {
			free(cid);
			rc = CA_FAIL;
			break;
		}
		body = json_pack("{s:O, s:s, s:s}", "type", t, "token", tok,
		    "authz", id);
		rc = row_put(r, "challenge", cid, r->acct->o.id, NULL, "pending",
		    r->now + AUTHZ_LIFE, body, 1, NULL);
		json_decref(body);
		if (rc == CA_OK)
			json_array_append_new(chs, json_string(cid));
		free(cid);
		free(tok);
		if (rc != CA_OK)
			break;
	}
	json_decref(types);
	if (rc != CA_OK) {
		json_decref(chs);
		goto out;
	}
	idj = json_pack("{s:s, s:s}", "type", type, "value",
	    wildcard ? value + 2 : value);
	body = json_pack("{s:o, s:o, s:b}", "identifier", idj, "challenges",
	    chs, "wildcard", wildcard);
	rc = row_put(r, "authz", id, r->acct->o.id, lookup, "pending",
	    r->now + AUTHZ_LIFE, body, 1, NULL);
	json_decref(body);
	if (rc == CA_OK)
		json_array_append_new(ids, json_string(id));
out:
	db_acme_row_free(az);
	free(lookup);
	free(id);
	return rc;
}

static int
new_order(struct req *r)
{
	const json_t *p = r->jws.payload, *ids, *v;
	struct sans names = { NULL, 0 };
	struct authority_result res;
	struct db_acme_row *row = NULL;
	json_t *azs = NULL, *body;
	const char *nb, *na;
	char *id = NULL;
	size_t i, valid = 0;
	int64_t t;
	int rc;

	if (p == NULL)
		return problem(r, 400, "malformed", "new-order needs a payload");
	ids = json_object_get(p, "identifiers");
	if (!json_is_array(ids) || json_array_size(ids) == 0 ||
	    json_array_size(ids) > MAX_IDENTIFIERS)
		return problem(r, 400, "malformed", "identifiers: a list of 1 "
		    "to %d", MAX_IDENTIFIERS);
	json_array_foreach(ids, i, v)
		if ((rc = identifier_ok(r, v, i, &names)) != CA_OK)
			goto out;
	nb = json_string_value(json_object_get(p, "notBefore"));
	na = json_string_value(json_object_get(p, "notAfter"));
	if ((nb != NULL && time_parse(nb, r->now, &t) != CA_OK) ||
	    (na != NULL && time_parse(na, r->now, &t) != CA_OK)) {
		rc = problem(r, 400, "malformed", "notBefore, notAfter: RFC "
		    "3339 times");
		goto out;
	}
	res = authority_acme_names(r->a, &names);
	if (res.code == CA_REFUSED) {
		rc = problem(r, 400, "rejectedIdentifier", "%s", err_msg());
		goto out;
	}
	if (res.code != CA_OK) {
		rc = internal(r, res.code);
		goto out;
	}
	if ((id = b64url_random(ID_BYTES)) == NULL) {
		rc = internal(r, CA_FAIL);
		goto out;
	}
	if ((rc = db_begin(r->db)) != CA_OK) {
		rc = internal(r, rc);
		goto out;
	}
	azs = json_array();
	json_array_foreach(ids, i, v)
		if ((rc = authz_for(r, v, azs, &valid)) != CA_OK)
			break;
	if (rc == CA_OK) {
		body = json_pack("{s:O, s:O}", "identifiers", ids,
		    "authorizations", azs);
		if (nb != NULL)
			json_object_set_new(body, "notBefore", json_string(nb));
		if (na != NULL)
			json_object_set_new(body, "notAfter", json_string(na));
		rc = row_put(r, "order", id, r->acct->o.id, NULL,
		    valid == json_array_size(ids) ? "ready" : "pending",
		    r->now + ORDER_LIFE, body, 1, NULL);
		json_decref(body);
	}
	if (rc == CA_OK)
		rc = db_commit(r->db);
	else
		db_rollback(r->db);
	if (rc == CA_REFUSED) {
		rc = problem(r, 400, "rejectedIdentifier", "%s", err_msg());
		goto out;
	}
	if (rc != CA_OK || (rc = db_acme_get(r->db, "order", id, &row)) !=
	    CA_OK || row == NULL) {
		rc = internal(r, rc != CA_OK ? rc : err_set(CA_FAIL,
		    "order lost"));
		goto out;
	}
	rc = order_answer(r, 201, row);
out:
	json_decref(azs);
	db_acme_row_free(row);
	sans_free(&names);
	free(id);
	return rc;
}

/* The row kind/id of this request's account, or a 404 problem. */
static int
own_row(struct req *r, const char *kind, const char *id,
    struct db_acme_row **row)
{
	int rc;

	if ((rc = db_acme_get(r->db, kind, id, row)) != CA_OK)
		return internal(r, rc);
	if (*row == NULL || (*row)->o.account == NULL ||
	    strcmp((*row)->o.account, r->acct->o.id) != 0) {
		db_acme_row_free(*row);
		*row = NULL;
		/* Another account's is not said to exist. */
		return problem(r, 404, "malformed", "no %s %s", kind, id);
	}
	return CA_OK;
}

static int
order_get(struct req *r, const char *id)
{
	struct db_acme_row *row = NULL;
	int rc;

	if (!post_as_get(r))
		return problem(r, 400, "malformed", "an order is read with "
		    "POST-as-GET");
	if ((rc = own_row(r, "order", id, &row)) != CA_OK)
		return rc;
	if ((rc = order_fresh(r, &row)) != CA_OK)
		rc = internal(r, rc);
	else
		rc = order_answer(r, 200, row);
	db_acme_row_free(row);
	return rc;
}

static int
authz_get(struct req *r, const char *id)
{
	const json_t *st = r->jws.payload != NULL ?
	    json_object_get(r->jws.payload, "status") : NULL;
	struct db_acme_row *row = NULL;
	json_t *j, *b;
	int rc;

	if ((rc = own_row(r, "authz", id, &row)) != CA_OK)
		return rc;
	if ((rc = authz_fresh(r, &row)) != CA_OK) {
		db_acme_row_free(row);
		return internal(r, rc);
	}
	if (!post_as_get(r)) {
		/* RFC 8555 7.5.2: the client gives up the authorization. */
		if (!json_is_string(st) ||
		    strcmp(json_string_value(st), "deactivated") != 0) {
			db_acme_row_free(row);
			return problem(r, 400, "malformed", "status: only "
			    "\"deactivated\" may be asked for");
		}
		if ((b = row_body(row)) == NULL ||
		    (rc = row_put(r, "authz", id, row->o.account, NULL,
		    "deactivated", row->o.expires_at, b, 0, NULL)) != CA_OK) {
			json_decref(b);
			db_acme_row_free(row);
			return internal(r, b == NULL ? CA_FAIL : rc);
		}
		json_decref(b);
		db_acme_row_free(row);
		row = NULL;
		if ((rc = db_acme_get(r->db, "authz", id, &row)) != CA_OK ||
		    row == NULL)
			return internal(r, rc != CA_OK ? rc : err_set(CA_FAIL,
			    "authorization lost"));
	}
	if (strcmp(row->o.status, "pending") == 0)
		hdr_set(r, "Retry-After", "1");
	j = authz_json(r, row);
	db_acme_row_free(row);
	if (j == NULL)
		return internal(r, CA_FAIL);
	return answer_json(r, 200, j);
}

/* Validation ---------------------------------------------------------- */

/*
 * A validator process: its pid, the write end of its stdin, the read end
 * of its stdout, when it started, and its arguments (NUL-separated).
 */
struct va_proc {
	pid_t pid;
	int in, out;
	int64_t started;        /* time_mono_ms() */
	char *args;
	size_t len;
};

/*
 * The validator started ahead of time for the next validation, with the
 * arguments of the last: a process start (libcurl and its libraries, a
 * few tens of ms, more on a loaded machine) off the client's wait.  Used
 * only with the same arguments and while younger than VA_SPARE_LIFE.
 */
static struct va_proc va_spare = { -1, -1, -1, 0, NULL, 0 };

/* Stop p (kill, reap) and forget it. */
static void
validator_stop(struct va_proc *p)
{
	int st;

	if (p->pid > 0) {
		close(p->in);
		close(p->out);
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	free(p->args);
	p->pid = p->in = p->out = -1;
	p->args = NULL;
	p->len = 0;
}

/* Start ca-acme-va with argv as *p (p->args set by the caller). */
static int
validator_start(char **argv, struct va_proc *p)
{
	int in[2], out[2];
	sigset_t none;

	if (pipe2(in, O_CLOEXEC) != 0)
		return err_set(CA_FAIL, "pipe: %s", strerror(errno));
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return err_set(CA_FAIL, "pipe: %s", strerror(errno));
	}
	if ((p->pid = fork()) < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return err_set(CA_FAIL, "fork: %s", strerror(errno));
	}
	if (p->pid == 0) {
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		closefrom(3);
		execv(va_prog, argv);
		dprintf(2, "ca-acme: %s: %s\n", va_prog, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	p->in = in[1];
	p->out = out[0];
	p->started = time_mono_ms();
	return CA_OK;
}

/*
 * Ask ca-acme-va (a coprocess with the provisioner's "validation"
 * options, one per validation: the spare when it was started with the
 * same options, else one started now) about one challenge: *answer its
 * line's object, by the deadline; CA_FAIL when it cannot be asked
 * (message recorded).  A spare for the next validation is started after.
 */
static int
va_ask(const struct req *r, const json_t *q, json_t **answer)
{
	const json_t *val = json_object_get(r->prov, "validation"), *v;
	char *argv[VA_ARGV], *line = NULL, buf[8192], port_h[16], port_t[16];
	struct va_proc p = { -1, -1, -1, 0, NULL, 0 };
	int argc = 0, st;
	int64_t timeout = 10, deadline;
	size_t got = 0, i, len = 0;
	struct pollfd pf;
	ssize_t n;
	char *args;

	*answer = NULL;
	argv[argc++] = va_prog;
	if ((v = json_object_get(val, "resolver")) != NULL) {
		argv[argc++] = "--resolver";
		argv[argc++] = (char *)json_string_value(v);
	}
	if ((v = json_object_get(val, "httpPort")) != NULL) {
		snprintf(port_h, sizeof(port_h), "%lld",
		    (long long)json_integer_value(v));
		argv[argc++] = "--http-port";
		argv[argc++] = port_h;
	}
	if ((v = json_object_get(val, "tlsPort")) != NULL) {
		snprintf(port_t, sizeof(port_t), "%lld",
		    (long long)json_integer_value(v));
		argv[argc++] = "--tls-port";
		argv[argc++] = port_t;
	}
	if ((v = json_object_get(val, "timeout")) != NULL) {
		argv[argc++] = "--timeout";
		argv[argc++] = (char *)json_string_value(v);
		(void)time_parse_duration(json_string_value(v), &timeout);
	}
	json_array_foreach(json_object_get(val, "allow"), i, v) {
		argv[argc++] = "--allow";
		argv[argc++] = (char *)json_string_value(v);
	}
	json_array_foreach(json_object_get(val, "deny"), i, v) {
		argv[argc++] = "--deny";
		argv[argc++] = (char *)json_string_value(v);
	}
	argv[argc] = NULL;
	deadline = timeout * 1000 * 3;
	if (deadline > VA_MAX_MS || deadline <= 0)
		deadline = VA_MAX_MS;
	for (i = 1; i < (size_t)argc; i++)
		len += strlen(argv[i]) + 1;
	if ((args = malloc(len + 1)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	for (i = 1, len = 0; i < (size_t)argc; i++) {
		memcpy(args + len, argv[i], strlen(argv[i]) + 1);
		len += strlen(argv[i]) + 1;
	}
	if ((line = json_dumps(q, JSON_COMPACT)) == NULL) {
		free(args);
		return err_set(CA_FAIL, "out of memory");
	}
	/* The spare if it has these arguments, is young and still runs. */
	if (va_spare.pid > 0 && va_spare.len == len &&
	    memcmp(va_spare.args, args, len) == 0 &&
	    time_mono_ms() - va_spare.started < VA_SPARE_LIFE &&
	    waitpid(va_spare.pid, &st, WNOHANG) == 0) {
		p = va_spare;
		va_spare.pid = va_spare.in = va_spare.out = -1;
		va_spare.args = NULL;
		va_spare.len = 0;
	} else {
		/* Another provisioner's spare waits for its own, unless stale. */
		if (va_spare.pid > 0 && (time_mono_ms() - va_spare.started >=
		    VA_SPARE_LIFE || waitpid(va_spare.pid, &st, WNOHANG) != 0))
			validator_stop(&va_spare);
		if (validator_start(argv, &p) != CA_OK) {
			free(args);
			free(line);
			return CA_FAIL;
		}
	}
	/* One line, then end of input: it answers and exits. */
	if (io_write_all(p.in, line, strlen(line)) != CA_OK ||
	    io_write_all(p.in, "\n", 1) != CA_OK)
		err_clear();
	close(p.in);
	free(line);
	deadline += time_mono_ms();
	for (;;) {
		int64_t left = deadline - time_mono_ms();

		pf.fd = p.out;
		pf.events = POLLIN;
		if (left <= 0 || poll(&pf, 1, (int)(left > 1000 ? 1000 : left)) < 0) {
			if (left <= 0 || errno != EINTR)
				break;
			continue;
		}
		if (pf.revents == 0)
			continue;
		n = read(p.out, buf + got, sizeof(buf) - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(buf, '\n', got) != NULL || got == sizeof(buf) - 1)
			break;
	}
	close(p.out);
	kill(p.pid, SIGKILL);
	while (waitpid(p.pid, &st, 0) < 0 && errno == EINTR)
		;
	free(p.args);
	/*
	 * The next validation's validator, started now if none waits: at
	 * most one process start per validation on the client's wait, and
	 * at most one more beside it.
	 */
	if (va_spare.pid > 0)
		free(args);
	else {
		va_spare.args = args;
		va_spare.len = len;
		if (validator_start(argv, &va_spare) != CA_OK) {
			err_clear();
			validator_stop(&va_spare);
		}
	}
	buf[got] = '\0';
	if (got == 0 || buf[got - 1] != '\n')
		return err_set(CA_FAIL, "validator: no answer in time");
	*answer = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(*answer) ||
	    !json_is_boolean(json_object_get(*answer, "valid"))) {
		json_decref(*answer);
		*answer = NULL;
		return err_set(CA_FAIL, "validator: an answer that is not "
		    "{\"valid\": ...}");
	}
	return CA_OK;
}

/*
 * POST chall/ID: {} asks for validation, done here before the answer
 * (the client's first poll sees the outcome); POST-as-GET reads it.
 * The challenge, then its authorization, are valid or invalid after.
 */
static int
challenge_post(struct req *r, const char *id)
{
	struct db_acme_row *ch = NULL, *az = NULL, *row = NULL;
	json_t *cb = NULL, *ab = NULL, *q = NULL, *ans = NULL, *j;
	const char *st;
	char *ka = NULL, *up = NULL;
	int rc, valid;

	if ((rc = own_row(r, "challenge", id, &ch)) != CA_OK)
		return rc;
	if ((cb = row_body(ch)) == NULL ||
	    (rc = db_acme_get(r->db, "authz", json_string_value(
	    json_object_get(cb, "authz")), &az)) != CA_OK || az == NULL) {
		rc = internal(r, rc != CA_OK ? rc : err_set(CA_FAIL,
		    "authorization lost"));
		goto out;
	}
	if ((rc = authz_fresh(r, &az)) != CA_OK) {
		rc = internal(r, rc);
		goto out;
	}
	if (!post_as_get(r) && strcmp(ch->o.status, "pending") == 0 &&
	    strcmp(az->o.status, "pending") == 0) {
		if ((ab = row_body(az)) == NULL ||
		    (ka = acme_key_authz(json_string_value(json_object_get(cb,
		    "token")), r->key)) == NULL) {
			rc = internal(r, CA_FAIL);
			goto out;
		}
		q = json_pack("{s:O, s:O, s:O, s:s}", "type",
		    json_object_get(cb, "type"), "identifier",
		    json_object_get(ab, "identifier"), "token",
		    json_object_get(cb, "token"), "keyAuthorization", ka);
		if (va_ask(r, q, &ans) != CA_OK) {
			rc = internal(r, CA_FAIL);
			goto out;
		}
		valid = json_is_true(json_object_get(ans, "valid"));
		st = valid ? "valid" : "invalid";
		if (valid)
			json_object_set_new(cb, "validated",
			    json_integer(r->now));
		else
			json_object_set(cb, "error", json_object_get(ans,
			    "error"));
		if ((rc = db_begin(r->db)) != CA_OK ||
		    (rc = row_put(r, "challenge", id, ch->o.account, NULL, st,
		    ch->o.expires_at, cb, 0, NULL)) != CA_OK ||
		    (rc = row_put(r, "authz", az->o.id, az->o.account,
		    az->o.lookup, st, valid ? r->now + AUTHZ_LIFE :
		    az->o.expires_at, ab, 0, NULL)) != CA_OK ||
		    (rc = db_commit(r->db)) != CA_OK) {
			db_rollback(r->db);
			rc = internal(r, rc);
			goto out;
		}
	}
	if ((rc = db_acme_get(r->db, "challenge", id, &row)) != CA_OK ||
	    row == NULL) {
		rc = internal(r, rc != CA_OK ? rc : err_set(CA_FAIL,
		    "challenge lost"));
		goto out;
	}
	if ((up = url_of(r, "authz", az->o.id, NULL)) != NULL)
		hdr_link(r, up, "up");
	if ((j = challenge_json(r, row)) == NULL) {
		rc = internal(r, CA_FAIL);
		goto out;
	}
	rc = answer_json(r, 200, j);
out:
	db_acme_row_free(ch);
	db_acme_row_free(az);
	db_acme_row_free(row);
	json_decref(cb);
	json_decref(ab);
	json_decref(q);
	json_decref(ans);
	free(ka);
	free(up);
	return rc;
}

/* Finalize and the certificate ---------------------------------------- */

struct order_record {
	struct req *r;
	const struct db_acme_row *order;
	json_t *body;
	EVP_PKEY *key;          /* the certificate request's */
};

/* Inside the issuance transaction: the order is valid, with its serial. */
static int
order_record(struct db *db, X509 *crt, const char *serial, void *arg)
{
	struct order_record *o = arg;
	char revoked[DB_MAX_SERIAL + 1];
	int rc;

	(void)crt;
	/* Under the issuance's write lock: no revocation slips between. */
	if ((rc = key_revoked(db, o->key, revoked)) != CA_OK)
		return rc;
	if (revoked[0] != '\0')
		return err_set(CA_INPUT, "the certificate request's key is "
		    "that of revoked certificate %s", revoked);
	json_object_set_new(o->body, "certificate", json_string(serial));
	return row_put(o->r, "order", o->order->o.id, o->order->o.account,
	    serial, "valid", o->order->o.expires_at, o->body, 0, NULL);
}

static int
finalize(struct req *r, const char *id)
{
	struct db_acme_row *row = NULL;
	struct acme_issue_request q;
	struct order_record rec;
	struct authority_result res;
	struct sans names = { NULL, 0 };
	const char *csr_b64;
	X509_REQ *csr = NULL;
	const unsigned char *p;
	const json_t *v;
	struct buf der;
	X509 *crt = NULL;
	size_t i;
	int rc;

	memset(&der, 0, sizeof(der));
	memset(&rec, 0, sizeof(rec));
	if ((rc = own_row(r, "order", id, &row)) != CA_OK)
		return rc;
	if ((rc = order_fresh(r, &row)) != CA_OK) {
		rc = internal(r, rc);
		goto out;
	}
	if (strcmp(row->o.status, "ready") != 0) {
		rc = problem(r, 403, "orderNotReady", "order %s is %s, not "
		    "ready", id, row->o.status);
		goto out;
	}
	csr_b64 = r->jws.payload != NULL ?
	    json_string_value(json_object_get(r->jws.payload, "csr")) : NULL;
	if (csr_b64 == NULL || b64url_decode(csr_b64, strlen(csr_b64), &der) !=
	    CA_OK || der.len > CA_MAX_JSON ||
	    (p = der.data, csr = d2i_X509_REQ(NULL, &p, (long)der.len)) == NULL ||
	    p != der.data + der.len) {
		rc = problem(r, 400, "badCSR", "csr: the base64url DER of a "
		    "certificate request");
		goto out;
	}
	if ((rec.body = row_body(row)) == NULL) {
		rc = internal(r, CA_FAIL);
		goto out;
	}
	json_array_foreach(json_object_get(rec.body, "identifiers"), i, v) {
		struct san n;

		if (san_parse_as(json_string_value(json_object_get(v, "value")),
		    strcmp(json_string_value(json_object_get(v, "type")),
		    "ip") == 0 ? SAN_IP : SAN_DNS, &n) != CA_OK ||
		    sans_add_san(&names, &n) != CA_OK) {
			free(n.value);
			rc = internal(r, CA_FAIL);
			goto out;
		}
		free(n.value);
	}
	rec.r = r;
	rec.order = row;
	rec.key = X509_REQ_get0_pubkey(csr);
	memset(&q, 0, sizeof(q));
	q.provisioner = r->prov_name;
	q.csr = csr;
	q.names = &names;
	q.account_key = r->key;
	q.not_before = json_string_value(json_object_get(rec.body, "notBefore"));
	q.not_after = json_string_value(json_object_get(rec.body, "notAfter"));
	q.record = order_record;
	q.arg = &rec;
	res = authority_acme_issue(r->a, &q, &crt);
	if (res.code != CA_OK) {
		if (res.status == 400 || res.status == 403)
			rc = problem(r, res.status == 403 ? 403 : 400, "badCSR",
			    "%s", err_msg());
		else if (res.status == 404)
			rc = problem(r, 404, "malformed", "%s", err_msg());
		else
			rc = internal(r, res.code);
		goto out;
	}
	db_acme_row_free(row);
	row = NULL;
	if ((rc = db_acme_get(r->db, "order", id, &row)) != CA_OK ||
	    row == NULL) {
		rc = internal(r, rc != CA_OK ? rc : err_set(CA_FAIL,
		    "order lost"));
		goto out;
	}
	rc = order_answer(r, 200, row);
out:
	X509_free(crt);
	X509_REQ_free(csr);
	buf_free(&der);
	sans_free(&names);
	json_decref(rec.body);
	db_acme_row_free(row);
	return rc;
}

/* POST-as-GET cert/ORDER: the order's certificate and its chain, PEM. */
static int
certificate(struct req *r, const char *id)
{
	struct db_acme_row *row = NULL;
	struct db_row *cert = NULL;
	const unsigned char *p;
	X509 *x = NULL;
	char *pem = NULL;
	int rc;

	if (!post_as_get(r))
		return problem(r, 400, "malformed", "a certificate is read "
		    "with POST-as-GET");
	if ((rc = own_row(r, "order", id, &row)) != CA_OK)
		return rc;
	if (strcmp(row->o.status, "valid") != 0 || row->o.lookup == NULL) {
		rc = problem(r, 404, "malformed", "order %s has no "
		    "certificate", id);
		goto out;
	}
	if ((rc = db_get_cert(r->db, row->o.lookup, &cert)) != CA_OK ||
	    cert == NULL) {
		rc = internal(r, rc != CA_OK ? rc : err_set(CA_FAIL,
		    "certificate %s lost", row->o.lookup));
		goto out;
	}
	p = cert->cert.der;
	if ((x = d2i_X509(NULL, &p, (long)cert->cert.der_len)) == NULL ||
	    (pem = chain_pem(x, authority_chain(r->a))) == NULL) {
		rc = internal(r, err_set(CA_FAIL, "encoding the chain failed"));
		goto out;
	}
	free(r->text);
	r->text = pem;
	pem = NULL;
	r->status = 200;
	r->ctype = "application/pem-certificate-chain";
	rc = CA_OK;
out:
	free(pem);
	X509_free(x);
	db_row_free(cert);
	db_acme_row_free(row);
	return rc;
}

/*
 * revoke-cert (RFC 8555 7.6): {"certificate": base64url DER, "reason"},
 * by the account that ordered it (kid) or signed by the certificate's
 * own key (jwk); recorded by the authority like every revocation.
 */
static int
revoke_cert(struct req *r)
{
	const json_t *p = r->jws.payload, *reason;
	struct db_acme_row *order = NULL;
	struct revoke_request rq;
	struct authority_result res;
	const unsigned char *d;
	const char *b;
	struct buf der;
	X509 *x = NULL;
	char *serial = NULL;
	int rc;

	memset(&der, 0, sizeof(der));
	b = p != NULL ? json_string_value(json_object_get(p, "certificate")) :
	    NULL;
	if (b == NULL || b64url_decode(b, strlen(b), &der) != CA_OK ||
	    (d = der.data, x = d2i_X509(NULL, &d, (long)der.len)) == NULL ||
	    d != der.data + der.len) {
		rc = problem(r, 400, "malformed", "certificate: the base64url "
		    "DER of a certificate");
		goto out;
	}
	reason = json_object_get(p, "reason");
	if (reason != NULL && !json_is_integer(reason)) {
		rc = problem(r, 400, "badRevocationReason", "reason: a CRLReason "
		    "code");
		goto out;
	}
	if ((serial = x509_serial_dec(x)) == NULL) {
		rc = internal(r, err_set(CA_FAIL, "out of memory"));
		goto out;
	}
	if (r->acct != NULL) {
		if ((rc = db_acme_find(r->db, "order", serial, &order)) !=
		    CA_OK) {
			rc = internal(r, rc);
			goto out;
		}
		if (order == NULL || order->o.account == NULL ||
		    strcmp(order->o.account, r->acct->o.id) != 0) {
			rc = problem(r, 403, "unauthorized", "certificate %s was "
			    "not ordered by this account", serial);
			goto out;
		}
	} else if (EVP_PKEY_eq(X509_get0_pubkey(x), r->key) != 1) {
		rc = problem(r, 403, "unauthorized", "the request is signed "
		    "neither by an account nor by the certificate's key");
		goto out;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = REVOKE_ACME;
	rq.serial = serial;
	rq.reason_code = reason != NULL ? (int)json_integer_value(reason) : 0;
	if (reason != NULL && (json_integer_value(reason) < 0 ||
	    json_integer_value(reason) > 10)) {
		rc = problem(r, 400, "badRevocationReason", "reason %lld: 0..10, "
		    "not 7", (long long)json_integer_value(reason));
		goto out;
	}
	rq.cert = x;
	rq.provisioner = r->prov_name;
	res = authority_revoke(r->a, &rq);
	if (res.code == CA_OK) {
		r->status = 200;
		r->ctype = NULL;
		rc = CA_OK;
	} else if (res.code == CA_INPUT)
		rc = problem(r, 400, "badRevocationReason", "%s", err_msg());
	else if (res.code == CA_REFUSED && strstr(err_msg(), "already revoked"))
		rc = problem(r, 400, "alreadyRevoked", "%s", err_msg());
	else if (res.code == CA_REFUSED)
		rc = problem(r, 403, "unauthorized", "%s", err_msg());
	else
		rc = internal(r, res.code);
out:
	db_acme_row_free(order);
	OPENSSL_free(serial);
	X509_free(x);
	buf_free(&der);
	return rc;
}

/*
 * key-change (RFC 8555 7.3.5): the outer JWS by the account's key (kid),
 * its payload an inner JWS by the new key (jwk) with the same url, whose
 * payload names the account and its old key.  A key that is another
 * account's is a 409 with that account's URL.
 */
static int
key_change(struct req *r)
{
	struct acme_jws in;
	struct db_acme_row *other = NULL;
	EVP_PKEY *newkey = NULL, *old = NULL;
	const json_t *acct, *oldkey;
	json_t *body = NULL;
	char *tp = NULL, *loc;
	int rc;

	memset(&in, 0, sizeof(in));
	if (r->jws.payload == NULL) {
		rc = problem(r, 400, "malformed", "key-change needs an inner JWS");
		goto out;
	}
	if ((rc = acme_jws_parse_inner(r->jws.payload, &in)) != CA_OK) {
		rc = problem(r, 400, why_type(in.why), "inner JWS: %s",
		    err_msg());
		goto out;
	}
	if (strcmp(in.url, r->jws.url) != 0) {
		rc = problem(r, 400, "malformed", "inner JWS: url is not the "
		    "outer url");
		goto out;
	}
	if (acme_jws_jwk(&in, &newkey) != CA_OK) {
		rc = problem(r, 400, "badPublicKey", "inner JWS: %s", err_msg());
		goto out;
	}
	if ((rc = acme_jws_verify(&in, newkey)) != CA_OK) {
		rc = rc == CA_FAIL ? internal(r, rc) : problem(r, 400,
		    rc == CA_INPUT ? "badPublicKey" : "malformed",
		    "inner JWS: %s", err_msg());
		goto out;
	}
	acct = in.payload != NULL ? json_object_get(in.payload, "account") :
	    NULL;
	oldkey = in.payload != NULL ? json_object_get(in.payload, "oldKey") :
	    NULL;
	if (!json_is_string(acct) || strcmp(json_string_value(acct),
	    r->jws.kid) != 0) {
		rc = problem(r, 400, "malformed", "inner JWS: account is not "
		    "the outer kid");
		goto out;
	}
	if (jwk_import(oldkey, JWK_PUBLIC, &old) != CA_OK ||
	    EVP_PKEY_eq(old, r->key) != 1) {
		rc = problem(r, 400, "malformed", "inner JWS: oldKey is not "
		    "the account's key");
		goto out;
	}
	if ((rc = key_spent(r, newkey, "inner JWS: the new key")) != CA_OK)
		goto out;
	if ((tp = jwk_thumbprint(newkey)) == NULL) {
		rc = internal(r, CA_FAIL);
		goto out;
	}
	if ((rc = db_acme_find(r->db, "account", tp, &other)) != CA_OK) {
		rc = internal(r, rc);
		goto out;
	}
	if (other != NULL) {
		if ((loc = url_of(r, "acct", other->o.id, NULL)) != NULL)
			hdr_set(r, "Location", loc);
		free(loc);
		rc = problem(r, 409, "malformed", "the new key is an account's "
		    "key already");
		goto out;
	}
	if ((body = row_body(r->acct)) == NULL) {
		rc = internal(r, CA_FAIL);
		goto out;
	}
	json_object_set(body, "key", in.jwk);
	rc = row_put(r, "account", r->acct->o.id, NULL, tp, r->acct->o.status,
	    0, body, 0, NULL);
	if (rc == CA_REFUSED) {
		rc = problem(r, 409, "malformed", "the new key is an account's "
		    "key already");
		goto out;
	}
	if (rc != CA_OK) {
		rc = internal(r, rc);
		goto out;
	}
	db_acme_row_free(other);
	other = NULL;
	if ((rc = db_acme_get(r->db, "account", r->acct->o.id, &other)) !=
	    CA_OK || other == NULL) {
		rc = internal(r, rc != CA_OK ? rc : err_set(CA_FAIL,
		    "account lost"));
		goto out;
	}
	rc = account_answer(r, 200, other);
out:
	acme_jws_free(&in);
	EVP_PKEY_free(newkey);
	EVP_PKEY_free(old);
	db_acme_row_free(other);
	json_decref(body);
	free(tp);
	return rc;
}

/* Dispatch ------------------------------------------------------------ */

/* A POST to rest, the JWS verified by the rules of its resource. */
static int
post(struct req *r)
{
	const char *rest = r->rest;
	char id[128];
	int rc;

	if (strcmp(rest, "new-account") == 0) {
		if ((rc = verify_post(r, BY_JWK)) != CA_OK)
			return rc;
		return new_account(r);
	}
	if (strcmp(rest, "revoke-cert") == 0) {
		if ((rc = verify_post(r, BY_EITHER)) != CA_OK)
			return rc;
		return revoke_cert(r);
	}
	if (strcmp(rest, "new-order") != 0 && strcmp(rest, "key-change") != 0 &&
	    strncmp(rest, "acct/", 5) != 0 && strncmp(rest, "order/", 6) != 0 &&
	    strncmp(rest, "authz/", 6) != 0 && strncmp(rest, "chall/", 6) != 0 &&
	    strncmp(rest, "cert/", 5) != 0)
		return problem(r, 404, "malformed", "no such resource");
	if ((rc = verify_post(r, BY_KID)) != CA_OK)
		return rc;
	if (strcmp(rest, "new-order") == 0)
		return new_order(r);
	if (strcmp(rest, "key-change") == 0)
		return key_change(r);
	if (rest_id(rest, "acct", NULL, id, sizeof(id)))
		return account_update(r, id);
	if (rest_id(rest, "acct", "orders", id, sizeof(id)))
		return orders_list(r, id);
	if (rest_id(rest, "order", NULL, id, sizeof(id)))
		return order_get(r, id);
	if (rest_id(rest, "order", "finalize", id, sizeof(id)))
		return finalize(r, id);
	if (rest_id(rest, "authz", NULL, id, sizeof(id)))
		return authz_get(r, id);
	if (rest_id(rest, "chall", NULL, id, sizeof(id)))
		return challenge_post(r, id);
	if (rest_id(rest, "cert", NULL, id, sizeof(id)))
		return certificate(r, id);
	return problem(r, 404, "malformed", "no such resource");
}

static int
dispatch(struct req *r)
{
	int get = strcmp(r->method, "GET") == 0 ||
	    strcmp(r->method, "HEAD") == 0;
	int rc;

	if ((rc = route_prov(r)) != CA_OK)
		return rc;
	if (strcmp(r->rest, "directory") == 0 ||
	    strcmp(r->rest, "new-nonce") == 0) {
		if (!get)
			return problem(r, 405, "malformed", "GET or HEAD");
		return strcmp(r->rest, "directory") == 0 ? directory(r) :
		    new_nonce(r);
	}
	if (strcmp(r->method, "POST") != 0)
		return problem(r, 405, "malformed", "ACME resources are read "
		    "with POST-as-GET");
	return post(r);
}

/*
 * One request {"acme": {"method", "path", "host", "body"}}: its answer
 * into c, always the wire shape (a problem document for a refusal).
 */
static void
serve_one(struct authority *a, struct api_call *c)
{
	const json_t *m = json_object_get(c->req, "acme");
	struct req r;
	json_t *w;
	char *index;
	int rc;

	memset(&r, 0, sizeof(r));
	r.a = a;
	r.db = a != NULL ? authority_db(a) : NULL;
	r.now = (int64_t)time(NULL);
	r.headers = json_object();
	r.method = json_string_value(json_object_get(m, "method"));
	r.path = json_string_value(json_object_get(m, "path"));
	r.host = json_string_value(json_object_get(m, "host"));
	r.body = json_object_get(m, "body");
	if (a == NULL)
		rc = problem(&r, 500, "serverInternal", "%s", err_msg());
	else if (!json_is_object(m) || r.method == NULL || r.path == NULL ||
	    r.host == NULL || strchr(r.host, '/') != NULL ||
	    strchr(r.host, '@') != NULL)
		rc = problem(&r, 400, "malformed", "request: {\"acme\": "
		    "{\"method\", \"path\", \"host\", \"body\"}}");
	else
		rc = dispatch(&r);
	/* Every answer: a fresh nonce, and the way to the directory. */
	if (r.prov != NULL && nonce_new(&r, NULL) != CA_OK && rc == CA_OK)
		rc = internal(&r, err_code());
	if (r.base != NULL && asprintf(&index, "%s/directory", r.base) >= 0) {
		hdr_link(&r, index, "index");
		free(index);
	}
	if ((w = wire(&r)) == NULL)
		api_call_fail(c, 500, err_set(CA_FAIL, "out of memory"));
	else {
		api_call_ok(c, w);
		json_decref(w);
	}
	if (r.parsed)
		acme_jws_free(&r.jws);
	EVP_PKEY_free(r.key);
	db_acme_row_free(r.acct);
	json_decref(r.headers);
	free(r.text);
	free(r.base);
}

static void
acme_batch(void *ctx, struct api_call *calls, size_t n)
{
	struct authority *a = api_host_authority(ctx);
	size_t i;

	for (i = 0; i < n; i++) {
		if (a == NULL)
			api_host_why(ctx);
		serve_one(a, &calls[i]);
	}
}

/*
 * The operator's side of external account binding: --eab-add, --eab-list
 * (arg a provisioner's name) and --eab-remove (arg a key ID), on the CA
 * home's database in-process.  One JSON value on stdout; exits.
 */
static void
eab_admin(const char *dir, int op, const char *arg, const char *reference)
{
	struct authority *a;
	const char *type;
	json_t *out = NULL;
	char *s;
	int rc;

	if (authority_open(dir, op == O_EAB_LIST ? DB_READ : DB_WRITE, &a) !=
	    CA_OK)
		die_last();
	if (op != O_EAB_REMOVE && authority_acme_provisioner(a, arg) == NULL) {
		if ((type = authority_provisioner_type(a, arg)) == NULL)
			die(CA_INPUT, "no provisioner %s", arg);
		die(CA_INPUT, "provisioner %s is of type %s, not ACME", arg,
		    type);
	}
	if (op == O_EAB_ADD)
		rc = acme_eab_add(authority_db(a), arg, reference,
		    (int64_t)time(NULL), &out);
	else if (op == O_EAB_LIST)
		rc = acme_eab_list(authority_db(a), arg, &out);
	else
		rc = acme_eab_remove(authority_db(a), arg, (int64_t)time(NULL),
		    &out);
	if (rc != CA_OK)
		die_last();
	/* jansson wipes the text it frees; this copy is wiped here. */
	if ((s = json_dumps(out, JSON_COMPACT)) == NULL)
		die(CA_FAIL, "out of memory");
	json_decref(out);
	cli_print(s);
	cli_print("\n");
	io_wipe_str(s);
	authority_close(a);
	exit(CA_OK);
}

int
main(int argc, char *argv[])
{
	const char *dir = NULL, *sock = NULL, *eab = NULL, *reference = NULL;
	int ch, offline = 0, api = 0, rc, reported, eab_op = 0;
	char exe[PATH_MAX];
	ssize_t n;

	cli_init(argv[0]);
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_OFFLINE: offline = 1; break;
		case O_API: api = 1; break;
		case O_DIR: cli_once("--dir", &dir, optarg); break;
		case O_SOCKET: cli_once("--socket", &sock, optarg); break;
		case O_EAB_ADD:
		case O_EAB_LIST:
		case O_EAB_REMOVE:
			if (eab_op != 0)
				die(CA_USAGE, "one of --eab-add, --eab-list and "
				    "--eab-remove");
			eab_op = ch;
			eab = optarg;
			break;
		case O_REFERENCE: cli_once("--reference", &reference, optarg);
			break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	if (optind < argc)
		die(CA_USAGE, "unexpected argument: %s", argv[optind]);
	if (reference != NULL && eab_op != O_EAB_ADD)
		die(CA_USAGE, "--reference is for --eab-add");
	if (eab_op != 0 && (api || offline || sock != NULL))
		die(CA_USAGE, "--eab-add, --eab-list and --eab-remove take only "
		    "--dir (and --reference)");
	if (eab_op != 0)
		eab_admin(dir, eab_op, eab, reference);
	if (!api || !offline)
		die(CA_USAGE, "ca-acme runs as a handler: --api --offline");
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		die(CA_FAIL, "/proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	if (snprintf(va_prog, sizeof(va_prog), "%s/ca-acme-va",
	    dirname(exe)) >= (int)sizeof(va_prog))
		die(CA_FAIL, "ca-acme-va: path too long");
	signal(SIGPIPE, SIG_IGN);
	rc = api_host_run(dir, sock, acme_batch, ACME_BATCH, &reported);
	if (rc != CA_OK && !reported)
		die_last();
	exit(rc);
}
