/*
 * ca-verify: check a certificate chain against one root.
 *
 * The only trust anchor is the root named by --root, CA_ROOT or the CA
 * home's config/defaults.json: the verifier's store holds that one
 * certificate, never the system bundle or OpenSSL's default paths.
 * Everything read from the chain is untrusted until X509_verify_cert()
 * has built a path from it to that root.
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
#include "config.h"
#include "err.h"
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
"                 [--purpose server|client] [--at TIME] [--json] [-q]\n"
"                 [--dir DIR] [FILE]\n"
"  --root FILE          the root certificate, the only trust anchor\n"
"                       (default: $CA_ROOT, else \"root\" in the home's\n"
"                       config/defaults.json)\n"
"  --fingerprint HEX    the root's SHA-256 fingerprint must be this\n"
"  --host NAME|IP       the leaf must be valid for this DNS name or IP address\n"
"  --purpose P          the chain must be valid for TLS server or client use\n"
"                       (default: no purpose checked)\n"
"  --at TIME            verify at this RFC 3339 time or duration from now\n"
"                       (default: now)\n"
"  --json               print the verdict as JSON, valid or not\n"
"  -q, --quiet          no message on stderr when the chain is invalid\n"
"  --dir DIR            CA home (default: $CA_DIR, else $HOME/.inca)\n"
"  FILE                 the chain, leaf first (default: stdin)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_ROOT = 256, O_FINGERPRINT, O_HOST, O_PURPOSE, O_AT, O_JSON, O_DIR,
	O_VERSION };

static const struct option longopts[] = {
	{ "root", required_argument, NULL, O_ROOT },
	{ "fingerprint", required_argument, NULL, O_FINGERPRINT },
	{ "host", required_argument, NULL, O_HOST },
	{ "purpose", required_argument, NULL, O_PURPOSE },
	{ "at", required_argument, NULL, O_AT },
	{ "json", no_argument, NULL, O_JSON },
	{ "quiet", no_argument, NULL, 'q' },
	{ "dir", required_argument, NULL, O_DIR },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct opts {
	const char *root, *fingerprint, *host, *purpose, *at, *dir, *file;
	int json, quiet;
};

/* The verdict: valid, or the reason it is not. */
struct verdict {
	int valid;
	char reason[REASON_LEN];
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
 * The --json verdict.  path is the chain the verifier built (leaf to
 * root), or the input when it built none.
 */
static void
print_json(const struct verdict *v, X509 *leaf, STACK_OF(X509) *path,
    X509 *root, const char *root_fp)
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
	X509_VERIFY_PARAM *param;
	X509 *root = NULL, *leaf;
	char *root_path = NULL, *defaults_fp = NULL;
	char want_fp[65], conf_fp[65], root_fp[65];
	int64_t now = (int64_t)time(NULL), at = 0;
	int ch, rc, purpose = 0, have_host = 0;

	cli_init(argv[0]);
	memset(&o, 0, sizeof(o));
	memset(&v, 0, sizeof(v));
	while ((ch = cli_getopt(argc, argv, ":hq", longopts)) != -1) {
		switch (ch) {
		case O_ROOT: cli_once("--root", &o.root, optarg); break;
		case O_FINGERPRINT:
			cli_once("--fingerprint", &o.fingerprint, optarg);
			break;
		case O_HOST: cli_once("--host", &o.host, optarg); break;
		case O_PURPOSE: cli_once("--purpose", &o.purpose, optarg); break;
		case O_AT: cli_once("--at", &o.at, optarg); break;
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
			purpose = X509_PURPOSE_SSL_SERVER;
		else if (strcmp(o.purpose, "client") == 0)
			purpose = X509_PURPOSE_SSL_CLIENT;
		else
			die(CA_USAGE, "--purpose: server or client");
	}
	if (o.at != NULL && time_parse(o.at, now, &at) != CA_OK)
		die(CA_USAGE, "--at: %s", err_msg());
	if (o.host != NULL) {
		if (san_parse(o.host, &host) != CA_OK)
			die(CA_USAGE, "--host: %s", err_msg());
		if (host.type != SAN_DNS && host.type != SAN_IP)
			die(CA_USAGE, "--host: a DNS name or an IP address");
		if (host.type == SAN_DNS && host.value[0] == '*')
			die(CA_USAGE, "--host: a wildcard is not a host name");
		have_host = 1;
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

	if ((o.fingerprint != NULL && strcmp(want_fp, root_fp) != 0) ||
	    (defaults_fp != NULL && strcmp(conf_fp, root_fp) != 0)) {
		snprintf(v.reason, sizeof(v.reason), "root fingerprint mismatch");
		goto verdict;
	}

	/* The store holds the root and nothing else: no default paths. */
	if ((store = X509_STORE_new()) == NULL ||
	    X509_STORE_add_cert(store, root) != 1 ||
	    (ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, store, leaf, certs) != 1)
		die(CA_FAIL, "verifier setup failed");
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
	if (purpose != 0 && X509_STORE_CTX_set_purpose(ctx, purpose) != 1)
		die(CA_FAIL, "verifier setup failed");
	if (o.at != NULL)
		X509_VERIFY_PARAM_set_time(param, (time_t)at);
	if (have_host) {
		/* Names come from the SANs only: the CN is never a name. */
		X509_VERIFY_PARAM_set_hostflags(param,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
		    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
		if ((host.type == SAN_DNS ?
		    X509_VERIFY_PARAM_set1_host(param, host.value, 0) :
		    X509_VERIFY_PARAM_set1_ip(param, host.ip, host.iplen)) != 1)
			die(CA_FAIL, "verifier setup failed");
	}
	rc = X509_verify_cert(ctx);
	if (rc == 1)
		v.valid = 1;
	else if (rc == 0 && X509_STORE_CTX_get_error(ctx) != X509_V_OK)
		reason_text(ctx, have_host ? host.value : "",
		    o.purpose != NULL ? o.purpose : "any use", v.reason,
		    sizeof(v.reason));
	else {
		err_ssl(CA_FAIL, "verification failed");
		die_last();
	}
	ERR_clear_error();

verdict:
	if (o.json)
		print_json(&v, leaf, ctx != NULL &&
		    X509_STORE_CTX_get0_chain(ctx) != NULL ?
		    X509_STORE_CTX_get0_chain(ctx) : certs, root, root_fp);
	if (!v.valid && !o.quiet)
		warnx_("invalid: %s", v.reason);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(root);
	sk_X509_pop_free(certs, X509_free);
	free(root_path);
	free(defaults_fp);
	if (have_host)
		free(host.value);
	return v.valid ? CA_OK : CA_REFUSED;
}
