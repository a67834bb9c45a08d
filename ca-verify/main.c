/*
 * ca-verify: check a certificate chain against one root.
 *
 * The only trust anchor is the root named by --root, CA_ROOT or the CA
 * home's config/defaults.json: the verifier's store holds that one
 * certificate, never the system bundle or OpenSSL's default paths.
 * Everything read from the chain is untrusted until X509_verify_cert()
 * has built a path from it to that root.
 *
 * Revocation is checked only for a chain that is valid without it: the
 * leaf against a CRL (--crl, which must come from the leaf's issuer in
 * that path) and against the CA home's database (--offline).  Whatever
 * cannot vouch for the leaf (a stale CRL, one from another CA, a
 * certificate the database never recorded) makes the verdict invalid:
 * revocation checking fails closed.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
#include "cli.h"
#include "confcheck.h"
#include "config.h"
#include "db.h"
#include "der.h"
#include "err.h"
#include "inspect.h"
#include "io.h"
#include "pem.h"
#include "san.h"
#include "timeutil.h"
#include "x509.h"

#define REASON_LEN 1024
#define LABEL_LEN 256         /* a certificate's name in a message */

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-verify [--root FILE] [--fingerprint SHA256] [--host NAME|IP]\n"
"                 [--purpose server|client] [--at TIME] [--crl FILE]\n"
"                 [--offline] [--json] [-q] [--dir DIR] [FILE]\n"
"  --root FILE          the root certificate, the only trust anchor\n"
"                       (default: $CA_ROOT, else \"root\" in the home's\n"
"                       config/defaults.json)\n"
"  --fingerprint HEX    the root's SHA-256 fingerprint must be this\n"
"  --host NAME|IP       the leaf must be valid for this DNS name or IP address\n"
"  --purpose P          the chain must be valid for TLS server or client use\n"
"                       (default: no purpose checked)\n"
"  --at TIME            verify at this RFC 3339 time or duration from now\n"
"                       (default: now)\n"
"  --crl FILE           the leaf must not be revoked by this CRL (PEM or DER),\n"
"                       which must be signed by the leaf's issuer and current\n"
"  --offline            the leaf must be recorded, and not revoked, in the CA\n"
"                       home's database\n"
"  --json               print the verdict as JSON, valid or not\n"
"  -q, --quiet          no message on stderr when the chain is invalid\n"
"  --dir DIR            CA home (default: $CA_DIR, else $HOME/.inca)\n"
"  FILE                 the chain, leaf first (default: stdin)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_ROOT = 256, O_FINGERPRINT, O_HOST, O_PURPOSE, O_AT, O_CRL,
	O_OFFLINE, O_JSON, O_DIR, O_VERSION };

static const struct option longopts[] = {
	{ "root", required_argument, NULL, O_ROOT },
	{ "fingerprint", required_argument, NULL, O_FINGERPRINT },
	{ "host", required_argument, NULL, O_HOST },
	{ "purpose", required_argument, NULL, O_PURPOSE },
	{ "at", required_argument, NULL, O_AT },
	{ "crl", required_argument, NULL, O_CRL },
	{ "offline", no_argument, NULL, O_OFFLINE },
	{ "json", no_argument, NULL, O_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "dir", required_argument, NULL, O_DIR },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct opts {
	const char *root, *fingerprint, *host, *purpose, *at, *dir, *file, *crl;
	int json, quiet, offline;
};

/* What the revocation checks found, for the --json verdict. */
enum rev_status {
	REV_NOT_CHECKED,	/* the chain was invalid before revocation */
	REV_GOOD,		/* every source asked says not revoked */
	REV_REVOKED,
	REV_UNKNOWN		/* a source could not vouch for the leaf */
};

struct revocation {
	enum rev_status status;
	const char *source;	/* where it was found revoked: "crl", "database" */
	int64_t revoked_at;
	int reason_code;	/* -1: the CRL entry gives none */
	char *reason_text;	/* the database's free text, or NULL */
	X509_CRL *crl;		/* --crl, for its number and dates */
};

/* The verdict: valid, or the reason it is not. */
struct verdict {
	int valid;
	char reason[REASON_LEN];
	struct revocation rev;
};

static const char *
nonempty_env(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

/*
 * The root from the CA home's config/defaults.json: *path (malloc'd,
 * relative paths taken from the home) and *fp (malloc'd, or NULL when
 * the file names no fingerprint).  CA_USAGE when no root is configured
 * anywhere, CA_FAIL for an unreadable or malformed defaults.json.
 */
static int
root_from_defaults(const char *dir, char **path, char **fp)
{
	char *home;
	json_t *doc = NULL, *r, *f;
	int rc;

	*path = NULL;
	*fp = NULL;
	if ((home = config_home(dir)) == NULL) {
		err_prefix("no root certificate");
		return err_code();
	}
	if ((rc = config_defaults(home, &doc)) != CA_OK) {
		if (rc == CA_USAGE)
			err_prefix("no root certificate");
		goto out;
	}
	r = json_object_get(doc, "root");
	f = json_object_get(doc, "fingerprint");
	if (r == NULL || json_is_null(r)) {
		rc = err_set(CA_USAGE, "no root certificate: "
		    "%s/config/defaults.json names none: give --root FILE or "
		    "set CA_ROOT", home);
		goto out;
	}
	if (!json_is_string(r) || json_string_length(r) == 0 ||
	    (f != NULL && !json_is_null(f) && !json_is_string(f))) {
		rc = err_set(CA_FAIL, "%s/config/defaults.json: \"root\" and "
		    "\"fingerprint\" must be strings", home);
		goto out;
	}
	if ((*path = config_resolve(home, json_string_value(r))) == NULL ||
	    (json_is_string(f) && json_string_length(f) > 0 &&
	    (*fp = strdup(json_string_value(f))) == NULL)) {
		free(*path);
		*path = NULL;
		rc = err_set(CA_FAIL, "out of memory");
		goto out;
	}
	rc = CA_OK;
out:
	json_decref(doc);
	free(home);
	return rc;
}

/*
 * Load the root: exactly one certificate, self-issued, its signature
 * made by its own key, and a CA.  Anything else is CA_INPUT: the file
 * is not a root, which is a wrong input rather than an invalid chain.
 */
static int
load_root(const char *path, X509 **out)
{
	X509 *x;
	EVP_PKEY *pk;
	int rc;

	if ((rc = pem_load_cert_file(path, &x)) != CA_OK)
		return rc;
	if (X509_check_issued(x, x) != X509_V_OK) {
		X509_free(x);
		return err_set(CA_INPUT, "%s: not a self-signed certificate", path);
	}
	pk = X509_get0_pubkey(x);
	if (pk == NULL || X509_verify(x, pk) != 1) {
		X509_free(x);
		ERR_clear_error();
		return err_set(CA_INPUT, "%s: self-signature does not verify",
		    path);
	}
	if (X509_check_ca(x) == 0) {
		X509_free(x);
		return err_set(CA_INPUT, "%s: not a CA certificate", path);
	}
	*out = x;
	return CA_OK;
}

/* RFC 2253 subject, UTF-8 kept as is; malloc'd, NULL on failure. */
static char *
subject_dn(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *s = NULL, *p;
	long n;

	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, X509_get_subject_name(x), 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		n = BIO_get_mem_data(bio, &p);
		if (n >= 0 && (s = malloc((size_t)n + 1)) != NULL) {
			memcpy(s, p, (size_t)n);
			s[n] = '\0';
		}
	}
	BIO_free(bio);
	return s;
}

/* What to call a certificate in a message: its CN, else its subject. */
static void
cert_label(X509 *x, char *buf, size_t len)
{
	char *dn;

	if (x == NULL) {
		snprintf(buf, len, "unknown certificate");
		return;
	}
	if (x509_subject_cn(X509_get_subject_name(x), buf, len) == CA_OK &&
	    buf[0] != '\0')
		return;
	err_clear();
	dn = subject_dn(x);
	snprintf(buf, len, "%s", dn != NULL && dn[0] != '\0' ? dn :
	    "empty subject");
	free(dn);
}

/*
 * The verifier's error as one clear sentence naming the certificate:
 * "certificate has expired: depth 0, foo.example.com".
 */
static void
reason_text(X509_STORE_CTX *ctx, const char *host, const char *purpose,
    char *buf, size_t len)
{
	int err = X509_STORE_CTX_get_error(ctx);
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	X509 *cur = X509_STORE_CTX_get_current_cert(ctx);
	char who[LABEL_LEN + 32], label[LABEL_LEN];
	const char *what;

	cert_label(cur, label, sizeof(label));
	snprintf(who, sizeof(who), "depth %d, %s", depth, label);
	switch (err) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		what = "certificate has expired";
		break;
	case X509_V_ERR_CERT_NOT_YET_VALID:
		what = "certificate is not yet valid";
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		snprintf(buf, len, "does not chain to the root: no issuer for %s",
		    who);
		return;
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
		what = "certificate signature failure";
		break;
	case X509_V_ERR_HOSTNAME_MISMATCH:
		snprintf(buf, len, "hostname mismatch: %s", host);
		return;
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		snprintf(buf, len, "IP address mismatch: %s", host);
		return;
	case X509_V_ERR_INVALID_PURPOSE:
		snprintf(buf, len, "unsupported certificate purpose "
		    "(not valid for %s): %s", purpose, who);
		return;
	case X509_V_ERR_PATH_LENGTH_EXCEEDED:
		what = "path length constraint exceeded";
		break;
	case X509_V_ERR_INVALID_CA:
		what = "invalid CA certificate";
		break;
	case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
		what = "issuer may not sign certificates (no keyCertSign)";
		break;
	case X509_V_ERR_CERT_CHAIN_TOO_LONG:
		what = "certificate chain too long";
		break;
	default:
		what = X509_verify_cert_error_string(err);
		break;
	}
	snprintf(buf, len, "%s: %s", what, who);
}

/* A JSON string, or null for text jansson refuses (invalid UTF-8). */
static json_t *
jstr(const char *s)
{
	json_t *j = s != NULL ? json_string(s) : NULL;

	return j != NULL ? j : json_null();
}

/*
 * The CRL of --crl: one PEM "X509 CRL" block or DER, strict DER, taking
 * up the whole file.  CA_INPUT for anything else, naming the file.
 */
static int
load_crl(const char *path, X509_CRL **out)
{
	struct buf in;
	struct pem_block *b = NULL;
	X509_CRL *crl = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((rc = io_read_file(path, CA_MAX_CRL_TEXT, &in)) != CA_OK)
		return rc;
	if ((rc = pem_decode(in.data, in.len, CA_MAX_CHAIN, &b, &n)) != CA_OK)
		goto out;
	if (n != 1) {
		rc = err_set(CA_INPUT, "not a CRL: %zu PEM blocks", n);
		goto out;
	}
	if (b[0].name[0] != '\0' && strcmp(b[0].name, "X509 CRL") != 0) {
		rc = err_set(CA_INPUT, "not a CRL: a PEM %s block", b[0].name);
		goto out;
	}
	if (b[0].len > CA_MAX_CRL) {
		rc = err_set(CA_INPUT, "CRL exceeds %d bytes of DER",
		    CA_MAX_CRL);
		goto out;
	}
	if ((crl = pem_d2i_crl(b[0].der, b[0].len)) == NULL) {
		rc = err_ssl(CA_INPUT, "not a CRL");
		goto out;
	}
	if ((rc = der_check_crl(crl, b[0].der, b[0].len)) != CA_OK) {
		X509_CRL_free(crl);
		goto out;
	}
	*out = crl;
out:
	if (rc != CA_OK && strncmp(err_msg(), path, strlen(path)) != 0)
		err_prefix("%s", path);
	pem_blocks_free(b, n);
	buf_free(&in);
	return rc;
}

/* The RFC 5280 name of a CRLReason, or "reason N" for others. */
static const char *
reason_name(int code, char *buf, size_t len)
{
	const char *s = inspect_crl_reason(code);

	if (s != NULL)
		return s;
	snprintf(buf, len, "reason %d", code);
	return buf;
}

/* "certificate is revoked (CRL): keyCompromise since T: depth 0, foo". */
static void
revoked_reason(struct verdict *v, X509 *leaf)
{
	char label[LABEL_LEN], when[32], name[32];

	cert_label(leaf, label, sizeof(label));
	time_fmt(v->rev.revoked_at, when, sizeof(when));
	if (v->rev.reason_code >= 0)
		snprintf(v->reason, sizeof(v->reason), "certificate is revoked "
		    "(%s): %s since %s: depth 0, %s", v->rev.source,
		    reason_name(v->rev.reason_code, name, sizeof(name)), when,
		    label);
	else
		snprintf(v->reason, sizeof(v->reason), "certificate is revoked "
		    "(%s) since %s: depth 0, %s", v->rev.source, when, label);
}

/*
 * The CRL's entry for the leaf, if the CRL is signed by issuer's key and
 * lists it: 1 (revocation date and reason into v->rev), else 0.  Used
 * when the CRL cannot vouch for the leaf (stale): a revocation it
 * records still stands, since a certificate is never unrevoked.
 */
static int
crl_lists(X509_CRL *crl, X509 *leaf, X509 *issuer, struct revocation *r)
{
	X509_REVOKED *e = NULL;
	ASN1_ENUMERATED *code;
	EVP_PKEY *pk;
	int64_t v;

	if (issuer == NULL || (pk = X509_get0_pubkey(issuer)) == NULL ||
	    X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_issuer_name(leaf)) != 0 ||
	    X509_CRL_verify(crl, pk) != 1 ||
	    X509_CRL_get0_by_cert(crl, &e, leaf) != 1 || e == NULL) {
		ERR_clear_error();
		return 0;
	}
	r->revoked_at = x509_time(X509_REVOKED_get0_revocationDate(e));
	r->reason_code = -1;
	code = X509_REVOKED_get_ext_d2i(e, NID_crl_reason, NULL, NULL);
	if (code != NULL && ASN1_ENUMERATED_get_int64(&v, code) == 1 &&
	    v >= 0 && v <= 10)
		r->reason_code = (int)v;
	ASN1_ENUMERATED_free(code);
	ERR_clear_error();
	return 1;
}

/*
 * Why OpenSSL found no usable CRL although the CRL names the leaf's
 * issuer: its signature, or a scope (RFC 5280 5.2.5, 6.3.3) that leaves
 * the leaf out.  a is the issuer's label.
 */
static void
crl_scope(X509_CRL *crl, X509 *leaf, X509 *issuer, const char *a,
    struct verdict *v)
{
	ISSUING_DIST_POINT *idp;
	STACK_OF(DIST_POINT) *cdp;
	EVP_PKEY *pk = issuer != NULL ? X509_get0_pubkey(issuer) : NULL;
	const char *why = NULL;

	if (pk == NULL || X509_CRL_verify(crl, pk) != 1) {
		ERR_clear_error();
		snprintf(v->reason, sizeof(v->reason), "CRL signature failure: "
		    "not signed by %s, the issuer of depth 0", a);
		return;
	}
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point, NULL,
	    NULL);
	cdp = X509_get_ext_d2i(leaf, NID_crl_distribution_points, NULL, NULL);
	if (idp == NULL)
		why = "its scope excludes the certificate";
	else if (idp->onlyCA > 0 || idp->onlyattr > 0)
		why = "it lists only CA or attribute certificates";
	else if (idp->onlysomereasons != NULL || idp->indirectCRL > 0)
		why = "it is a partial or indirect CRL";
	else if (idp->distpoint != NULL && cdp == NULL)
		why = "its issuingDistributionPoint names a distribution point "
		    "and the certificate has no cRLDistributionPoints";
	else if (idp->distpoint != NULL)
		why = "its issuingDistributionPoint matches none of the "
		    "certificate's cRLDistributionPoints";
	else
		why = "its scope excludes the certificate";
	ISSUING_DIST_POINT_free(idp);
	sk_DIST_POINT_pop_free(cdp, DIST_POINT_free);
	ERR_clear_error();
	snprintf(v->reason, sizeof(v->reason), "CRL does not cover depth 0: "
	    "%s", why);
}

/*
 * Why a CRL check failed, in words; for a revoked leaf, v->rev is filled
 * and the reason says so.  issuer is the leaf's issuer in the built path.
 */
static void
crl_reason(X509_STORE_CTX *ctx, X509_CRL *crl, X509 *leaf, X509 *issuer,
    struct verdict *v)
{
	int err = X509_STORE_CTX_get_error(ctx);
	char a[LABEL_LEN], b[LABEL_LEN], when[32];
	const ASN1_TIME *t;

	v->rev.status = REV_UNKNOWN;
	cert_label(issuer, a, sizeof(a));
	switch (err) {
	case X509_V_ERR_CERT_REVOKED:
	case X509_V_ERR_CRL_HAS_EXPIRED:
		if (crl_lists(crl, leaf, issuer, &v->rev)) {
			v->rev.status = REV_REVOKED;
			v->rev.source = "CRL";
			revoked_reason(v, leaf);
			return;
		}
		if (err == X509_V_ERR_CERT_REVOKED)
			break;
		t = X509_CRL_get0_nextUpdate(crl);
		time_fmt(t != NULL ? x509_time(t) : 0, when, sizeof(when));
		snprintf(v->reason, sizeof(v->reason), "CRL has expired (its "
		    "nextUpdate is %s): revocation of depth 0 cannot be "
		    "checked", when);
		return;
	case X509_V_ERR_CRL_NOT_YET_VALID:
		time_fmt(x509_time(X509_CRL_get0_lastUpdate(crl)), when,
		    sizeof(when));
		snprintf(v->reason, sizeof(v->reason), "CRL is not yet valid "
		    "(its thisUpdate is %s)", when);
		return;
	case X509_V_ERR_CRL_SIGNATURE_FAILURE:
	case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
		snprintf(v->reason, sizeof(v->reason), "CRL signature failure: "
		    "not signed by %s, the issuer of depth 0", a);
		return;
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
	case X509_V_ERR_DIFFERENT_CRL_SCOPE:
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		    X509_get_issuer_name(leaf)) != 0) {
			char *dn = NULL;
			X509_NAME *n = X509_CRL_get_issuer(crl);

			if (x509_subject_cn(n, b, sizeof(b)) != CA_OK ||
			    b[0] == '\0') {
				err_clear();
				dn = X509_NAME_oneline(n, NULL, 0);
				snprintf(b, sizeof(b), "%s", dn != NULL ? dn :
				    "an unnamed issuer");
				OPENSSL_free(dn);
			}
			snprintf(v->reason, sizeof(v->reason), "CRL is not from "
			    "the issuer of depth 0: it is issued by %s, the "
			    "certificate by %s", b, a);
			return;
		}
		crl_scope(crl, leaf, issuer, a, v);
		return;
	case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
		snprintf(v->reason, sizeof(v->reason), "CRL has an unhandled "
		    "critical extension");
		return;
	case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
		snprintf(v->reason, sizeof(v->reason), "%s may not sign CRLs "
		    "(no cRLSign)", a);
		return;
	default:
		break;
	}
	snprintf(v->reason, sizeof(v->reason), "CRL check failed: %s",
	    X509_verify_cert_error_string(err));
}

/* What both verification passes check besides the chain itself. */
struct vparams {
	int purpose;            /* X509_PURPOSE_*, or 0 */
	const struct san *host; /* or NULL */
	int64_t at;
	int use_at;
};

/*
 * A verifier for leaf and the untrusted certs against store, with the
 * CRLs crls (checked for the leaf alone) when not NULL.  Dies on a
 * setup failure.
 */
static X509_STORE_CTX *
new_ctx(X509_STORE *store, X509 *leaf, STACK_OF(X509) *certs,
    const struct vparams *p, STACK_OF(X509_CRL) *crls)
{
	X509_STORE_CTX *ctx;
	X509_VERIFY_PARAM *param;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, leaf, certs) != 1)
		die(CA_FAIL, "verifier setup failed");
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	if (crls != NULL) {
		X509_STORE_CTX_set0_crls(ctx, crls);
		X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK);
	}
	if (p->purpose != 0 && X509_STORE_CTX_set_purpose(ctx, p->purpose) != 1)
		die(CA_FAIL, "verifier setup failed");
	if (p->use_at)
		X509_VERIFY_PARAM_set_time(param, (time_t)p->at);
	if (p->host != NULL) {
		/* Names come from the SANs only: the CN is never a name. */
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
		    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
		if ((p->host->type == SAN_DNS ?
		    X509_VERIFY_PARAM_set1_host(param, p->host->value, 0) :
		    X509_VERIFY_PARAM_set1_ip(param, p->host->ip,
		    p->host->iplen)) != 1)
			die(CA_FAIL, "verifier setup failed");
	}
	return ctx;
}

/*
 * --crl, for a chain found valid by first (whose path names the leaf's
 * issuer): verify again with the CRL; on failure v is invalid with the
 * reason.  A CRL without nextUpdate cannot be judged stale or fresh and
 * vouches for nothing (RFC 5280 requires the field).
 */
static void
crl_pass(X509_STORE *store, X509 *leaf, STACK_OF(X509) *certs,
    const struct vparams *p, X509_STORE_CTX *first, struct verdict *v)
{
	STACK_OF(X509) *path = X509_STORE_CTX_get0_chain(first);
	STACK_OF(X509_CRL) *crls;
	X509_STORE_CTX *ctx;
	X509 *issuer;
	int rc;

	/* The leaf's issuer: the root itself for a leaf issued by the root. */
	issuer = sk_X509_num(path) > 1 ? sk_X509_value(path, 1) :
	    sk_X509_value(path, 0);
	if (X509_CRL_get0_nextUpdate(v->rev.crl) == NULL) {
		v->valid = 0;
		if (crl_lists(v->rev.crl, leaf, issuer, &v->rev)) {
			v->rev.status = REV_REVOKED;
			v->rev.source = "CRL";
			revoked_reason(v, leaf);
		} else {
			v->rev.status = REV_UNKNOWN;
			snprintf(v->reason, sizeof(v->reason), "CRL has no "
			    "nextUpdate: revocation of depth 0 cannot be "
			    "checked");
		}
		return;
	}
	if ((crls = sk_X509_CRL_new_null()) == NULL ||
	    sk_X509_CRL_push(crls, v->rev.crl) == 0)
		die(CA_FAIL, "out of memory");
	ctx = new_ctx(store, leaf, certs, p, crls);
	rc = X509_verify_cert(ctx);
	if (rc != 1) {
		v->valid = 0;
		if (rc == 0 && X509_STORE_CTX_get_error(ctx) != X509_V_OK)
			crl_reason(ctx, v->rev.crl, leaf, issuer, v);
		else {
			err_ssl(CA_FAIL, "verification failed");
			die_last();
		}
	}
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	sk_X509_CRL_free(crls);
}

/*
 * --offline: the CA home's database, read only (no write lock, no
 * migration), as ca.json (checked as a whole) describes it.  Nothing
 * else of the CA (its key, its provisioners) is needed here.
 */
static int
open_db(const char *dir, struct db **db)
{
	char *home = NULL;
	json_t *conf = NULL;
	int rc;

	if ((rc = config_ca(dir, &home, &conf)) == CA_OK &&
	    (rc = confcheck_ca(conf, 0)) == CA_OK)
		rc = db_open(home, json_object_get(conf, "db"), DB_READ, db);
	json_decref(conf);
	free(home);
	return rc;
}

/*
 * --offline: the leaf must be recorded, byte for byte, in the CA home's
 * database and not revoked.  CA_OK with the outcome in v, or the failure
 * to open or read the database.
 */
static int
db_check(struct db *db, X509 *leaf, struct verdict *v)
{
	struct db_row *row = NULL;
	unsigned char *der = NULL;
	char *serial = NULL;
	int len, rc;

	if ((serial = x509_serial_dec(leaf)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if ((rc = db_get_cert(db, serial, &row)) != CA_OK)
		goto out;
	if (row == NULL) {
		v->rev.status = REV_UNKNOWN;
		snprintf(v->reason, sizeof(v->reason), "not issued by this "
		    "CA: the database has no certificate with serial %s",
		    serial);
		goto out;
	}
	if ((len = i2d_X509(leaf, &der)) <= 0) {
		rc = err_ssl(CA_FAIL, "encoding the certificate");
		goto out;
	}
	if ((size_t)len != row->cert.der_len ||
	    memcmp(der, row->cert.der, (size_t)len) != 0) {
		v->rev.status = REV_UNKNOWN;
		snprintf(v->reason, sizeof(v->reason), "not issued by this "
		    "CA: the database records another certificate with "
		    "serial %s", serial);
		goto out;
	}
	if (row->revoked) {
		v->rev.status = REV_REVOKED;
		v->rev.source = "database";
		v->rev.revoked_at = row->rev.revoked_at;
		v->rev.reason_code = row->rev.reason_code;
		if (row->rev.reason != NULL &&
		    (v->rev.reason_text = strdup(row->rev.reason)) == NULL) {
			rc = err_set(CA_FAIL, "out of memory");
			goto out;
		}
		revoked_reason(v, leaf);
		goto out;
	}
	v->valid = 1;
out:
	OPENSSL_free(der);
	OPENSSL_free(serial);
	db_row_free(row);
	return rc;
}

/* The "revocation" member of the --json verdict. */
static json_t *
revocation_json(const struct revocation *r)
{
	static const char *const names[] = {
		"not checked", "good", "revoked", "unknown"
	};
	json_t *o = json_object(), *c;
	ASN1_INTEGER *num;
	BIGNUM *bn;
	char when[32], *dec;

	if (o == NULL)
		die(CA_FAIL, "out of memory");
	json_object_set_new(o, "status", json_string(names[r->status]));
	if (r->status == REV_REVOKED) {
		json_object_set_new(o, "source", json_string(r->source));
		time_fmt(r->revoked_at, when, sizeof(when));
		json_object_set_new(o, "revokedAt", json_string(when));
		json_object_set_new(o, "reasonCode", r->reason_code >= 0 ?
		    json_integer(r->reason_code) : json_null());
		json_object_set_new(o, "reason", r->reason_code >= 0 ?
		    jstr(inspect_crl_reason(r->reason_code)) : json_null());
		if (r->reason_text != NULL)
			json_object_set_new(o, "reasonText", jstr(r->reason_text));
	}
	if (r->crl != NULL) {
		if ((c = json_object()) == NULL)
			die(CA_FAIL, "out of memory");
		num = X509_CRL_get_ext_d2i(r->crl, NID_crl_number, NULL, NULL);
		bn = num != NULL ? ASN1_INTEGER_to_BN(num, NULL) : NULL;
		dec = bn != NULL ? BN_bn2dec(bn) : NULL;
		json_object_set_new(c, "number", jstr(dec));
		OPENSSL_free(dec);
		BN_free(bn);
		ASN1_INTEGER_free(num);
		ERR_clear_error();
		time_fmt(x509_time(X509_CRL_get0_lastUpdate(r->crl)), when,
		    sizeof(when));
		json_object_set_new(c, "thisUpdate", json_string(when));
		if (X509_CRL_get0_nextUpdate(r->crl) != NULL) {
			time_fmt(x509_time(X509_CRL_get0_nextUpdate(r->crl)),
			    when, sizeof(when));
			json_object_set_new(c, "nextUpdate", json_string(when));
		} else
			json_object_set_new(c, "nextUpdate", json_null());
		json_object_set_new(o, "crl", c);
	}
	return o;
}

/*
 * The --json verdict.  path is the chain the verifier built (leaf to
 * root), or the input when it built none; checked: revocation was asked
 * for (--crl, --offline).
 */
static void
print_json(const struct verdict *v, X509 *leaf, STACK_OF(X509) *path,
    X509 *root, const char *root_fp, int checked)
{
	json_t *o = json_object(), *chain = json_array(), *r = json_object();
	char label[LABEL_LEN], when[32], *s, *dn;
	int i;

	if (o == NULL || chain == NULL || r == NULL)
		die(CA_FAIL, "out of memory");
	json_object_set_new(o, "valid", json_boolean(v->valid));
	json_object_set_new(o, "reason", v->valid ? json_null() :
	    jstr(v->reason));
	dn = subject_dn(leaf);
	json_object_set_new(o, "subject", jstr(dn));
	free(dn);
	s = x509_serial_dec(leaf);
	json_object_set_new(o, "serial", jstr(s));
	OPENSSL_free(s);
	time_fmt(x509_time(X509_get0_notAfter(leaf)), when, sizeof(when));
	json_object_set_new(o, "notAfter", json_string(when));
	for (i = 0; i < sk_X509_num(path); i++) {
		cert_label(sk_X509_value(path, i), label, sizeof(label));
		json_array_append_new(chain, jstr(label));
	}
	json_object_set_new(o, "chain", chain);
	dn = subject_dn(root);
	json_object_set_new(r, "subject", jstr(dn));
	free(dn);
	json_object_set_new(r, "fingerprint", json_string(root_fp));
	json_object_set_new(o, "root", r);
	if (checked)
		json_object_set_new(o, "revocation", revocation_json(&v->rev));
	if ((s = json_dumps(o, JSON_INDENT(2))) == NULL)
		die(CA_FAIL, "encoding output failed");
	json_decref(o);
	cli_print(s);
	cli_print("\n");
	free(s);
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct verdict v;
	struct san host;
	struct buf in;
	STACK_OF(X509) *certs = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	X509 *root = NULL, *leaf;
	char *root_path = NULL, *defaults_fp = NULL;
	char want_fp[65], conf_fp[65], root_fp[65];
	struct vparams vp;
	struct db *db = NULL;
	int64_t now = (int64_t)time(NULL);
	int ch, rc;

	cli_init(argv[0]);
	memset(&o, 0, sizeof(o));
	memset(&v, 0, sizeof(v));
	memset(&vp, 0, sizeof(vp));
	while ((ch = cli_getopt(argc, argv, ":hq", longopts)) != -1) {
		switch (ch) {
		case O_ROOT: cli_once("--root", &o.root, optarg); break;
		case O_FINGERPRINT:
			cli_once("--fingerprint", &o.fingerprint, optarg);
			break;
		case O_HOST: cli_once("--host", &o.host, optarg); break;
		case O_PURPOSE: cli_once("--purpose", &o.purpose, optarg); break;
		case O_AT: cli_once("--at", &o.at, optarg); break;
		case O_CRL: cli_once("--crl", &o.crl, optarg); break;
		case O_OFFLINE: o.offline = 1; break;
		case O_JSON: o.json = 1; break;
		case 'q': o.quiet = 1; break;
		case O_DIR: cli_once("--dir", &o.dir, optarg); break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		die(CA_USAGE, "unexpected argument: %s", argv[1]);
	o.file = argc == 1 ? argv[0] : "-";

	if (o.fingerprint != NULL &&
	    !x509_fingerprint_parse(o.fingerprint, want_fp))
		die(CA_USAGE, "--fingerprint: not a SHA-256 fingerprint "
		    "(64 hex digits)");
	if (o.purpose != NULL) {
		if (strcmp(o.purpose, "server") == 0)
			vp.purpose = X509_PURPOSE_SSL_SERVER;
		else if (strcmp(o.purpose, "client") == 0)
			vp.purpose = X509_PURPOSE_SSL_CLIENT;
		else
			die(CA_USAGE, "--purpose: server or client");
	}
	if (o.at != NULL) {
		if (time_parse(o.at, now, &vp.at) != CA_OK)
			die(CA_USAGE, "--at: %s", err_msg());
		vp.use_at = 1;
	}
	if (o.host != NULL) {
		if (san_parse(o.host, &host) != CA_OK)
			die(CA_USAGE, "--host: %s", err_msg());
		if (host.type != SAN_DNS && host.type != SAN_IP)
			die(CA_USAGE, "--host: a DNS name or an IP address");
		if (host.type == SAN_DNS && host.value[0] == '*')
			die(CA_USAGE, "--host: a wildcard is not a host name");
		vp.host = &host;
	}

	/* The root, and the fingerprint(s) it must have. */
	if (o.root == NULL)
		o.root = nonempty_env("CA_ROOT");
	if (o.root != NULL) {
		if ((root_path = strdup(o.root)) == NULL)
			die(CA_FAIL, "out of memory");
	} else if (root_from_defaults(o.dir, &root_path, &defaults_fp) != CA_OK)
		die_last();
	if (defaults_fp != NULL && !x509_fingerprint_parse(defaults_fp, conf_fp))
		die(CA_FAIL, "config/defaults.json: \"fingerprint\" is not a "
		    "SHA-256 fingerprint");
	if (load_root(root_path, &root) != CA_OK)
		die_last();
	if (x509_fingerprint(root, root_fp) != CA_OK)
		die_last();

	/* The chain: untrusted input. */
	if (io_read_file(o.file, CA_MAX_PEM, &in) != CA_OK)
		die_last();
	rc = pem_load_certs(in.data, in.len, &certs);
	buf_free(&in);
	if (rc == CA_OK && sk_X509_num(certs) < 1)
		rc = err_set(CA_INPUT, "no certificate");
	if (rc != CA_OK) {
		err_prefix("%s", strcmp(o.file, "-") == 0 ? "stdin" : o.file);
		die_last();
	}
	leaf = sk_X509_value(certs, 0);
	if (o.crl != NULL && load_crl(o.crl, &v.rev.crl) != CA_OK)
		die_last();
	if (o.offline && open_db(o.dir, &db) != CA_OK)
		die_last();

	if ((o.fingerprint != NULL && strcmp(want_fp, root_fp) != 0) ||
	    (defaults_fp != NULL && strcmp(conf_fp, root_fp) != 0)) {
		snprintf(v.reason, sizeof(v.reason), "root fingerprint mismatch");
		goto verdict;
	}

	/* The store holds the root and nothing else: no default paths. */
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, root) != 1)
		die(CA_FAIL, "verifier setup failed");
	ctx = new_ctx(store, leaf, certs, &vp, NULL);
	rc = X509_verify_cert(ctx);
	if (rc == 1)
		v.valid = 1;
	else if (rc == 0 && X509_STORE_CTX_get_error(ctx) != X509_V_OK)
		reason_text(ctx, vp.host != NULL ? host.value : "",
		    o.purpose != NULL ? o.purpose : "any use", v.reason,
		    sizeof(v.reason));
	else {
		err_ssl(CA_FAIL, "verification failed");
		die_last();
	}
	ERR_clear_error();

	/*
	 * Revocation, of a chain valid without it: the same verification
	 * again with the CRL (OpenSSL checks its issuer, signature, times,
	 * scope and critical extensions), then the database.
	 */
	if (v.valid && v.rev.crl != NULL)
		crl_pass(store, leaf, certs, &vp, ctx, &v);
	if (v.valid && o.offline) {
		v.valid = 0;
		if (db_check(db, leaf, &v) != CA_OK)
			die_last();
	}
	if (v.valid && (o.offline || v.rev.crl != NULL))
		v.rev.status = REV_GOOD;

verdict:
	if (o.json)
		print_json(&v, leaf, ctx != NULL &&
		    X509_STORE_CTX_get0_chain(ctx) != NULL ?
		    X509_STORE_CTX_get0_chain(ctx) : certs, root, root_fp,
		    o.crl != NULL || o.offline);
	if (!v.valid && !o.quiet)
		warnx_("invalid: %s", v.reason);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(root);
	sk_X509_pop_free(certs, X509_free);
	free(root_path);
	free(defaults_fp);
	X509_CRL_free(v.rev.crl);
	free(v.rev.reason_text);
	db_close(db);
	if (vp.host != NULL)
		free(host.value);
	return v.valid ? CA_OK : CA_REFUSED;
}
