/*
 * ca-sign: turn a certificate request into a certificate chain.
 *
 * Online mode (the default whenever a CA URL is known): the request and
 * the token go to ca-serve over HTTPS (lib/client), which trusts only the
 * CA's root.  Stateless mode (--ca-cert, --ca-key): no database, no
 * configuration, no token.  Offline mode (--offline --token T): the CA home's authority,
 * in-process: the token is verified, the issuance recorded in the
 * database.  API mode (--api --offline): one request JSON on stdin, one
 * response JSON on stdout, the form ca-serve relays.  In every mode only
 * the CSR's public key (and, statelessly, its names) is used; the profile
 * comes from here, never from the CSR's extensions.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "api.h"
#include "apihost.h"
#include "authority.h"
#include "ca_limits.h"
#include "chain.h"
#include "cli.h"
#include "client.h"
#include "csr.h"
#include "err.h"
#include "io.h"
#include "jose.h"
#include "key.h"
#include "pem.h"
#include "san.h"
#include "timeutil.h"
#include "x509.h"

#define DEFAULT_LEAF_LIFE (24 * 3600)

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-sign --token TOKEN [--ca-url URL] [--root FILE] [--dir DIR]\n"
"               [--not-before TIME] [--not-after TIME] [--json] [--out FILE]\n"
"               < csr.pem\n"
"       ca-sign --token TOKEN --key-out FILE [--kty EC|RSA|OKP] [--curve NAME]\n"
"               [--size BITS] [--san NAME]... [--ca-url URL] [--root FILE] [--dir DIR]\n"
"               [--not-before TIME] [--not-after TIME] [--json]\n"
"       ca-sign --offline --token TOKEN [--dir DIR] [--not-before TIME]\n"
"               [--not-after TIME] [--json] < csr.pem\n"
"       ca-sign --offline --token TOKEN --key-out FILE [--kty EC|RSA|OKP]\n"
"               [--curve NAME] [--size BITS] [--san NAME]... [--dir DIR] [--not-before TIME]\n"
"               [--not-after TIME] [--json]\n"
"       ca-sign --api --offline [--dir DIR] [--socket PATH] < requests.json\n"
"       ca-sign --ca-cert FILE --ca-key FILE [--password-file FILE]\n"
"               [--not-before TIME] [--not-after TIME] [--san NAME]...\n"
"               [--profile leaf|intermediate] [--json] < csr.pem\n"
"       ca-sign --ca-cert FILE --ca-key FILE --key-out FILE [--kty EC|RSA|OKP]\n"
"               [--curve NAME] [--size BITS] [--password-file FILE]\n"
"               [--not-before TIME] [--not-after TIME] [--san NAME]...\n"
"               [--json] SUBJECT\n"
"  (--token may be replaced by --token-file FILE everywhere; --out FILE goes\n"
"  with every form but --api)\n"
"  --ca-url URL         the CA (default $CA_URL, else defaults.json's ca-url);\n"
"                       online is the default whenever a CA URL is known\n"
"  --root FILE          the root certificate to trust for it (default $CA_ROOT,\n"
"                       else defaults.json's root)\n"
"  --offline            use the CA home's keys and database in-process\n"
"  --token TOKEN        one-time token from ca-token (online and offline)\n"
"  --token-file FILE    read the token from FILE instead (first line)\n"
"  --api                requests, JSON objects {\"csr\",\"ott\",\"notBefore\",\"notAfter\"}\n"
"                       one after another on stdin; for each, one line on stdout:\n"
"                       the response or {\"status\",\"message\"} JSON\n"
"  --socket PATH        with --api: serve every connection to a unix socket bound\n"
"                       at PATH (or the one of LISTEN_FDS) the same way\n"
"  --dir DIR            CA home, or the client home of defaults.json online\n"
"                       (default $CA_DIR, else $HOME/.inca)\n"
"  --ca-cert FILE       issuer certificate (more certificates after it join the chain)\n"
"  --ca-key FILE        issuer private key (PEM, PKCS#8, maybe encrypted)\n"
"  --password-file FILE password of an encrypted --ca-key (first line)\n"
"  --not-before TIME    RFC 3339 time or duration from now (default: now minus\n"
"                       the backdate: 1m stateless, ca.json's backdate offline)\n"
"  --not-after TIME     RFC 3339 time or duration from now (default: 24h\n"
"                       stateless, ca.json's defaultTLSCertDuration offline)\n"
"  --san NAME           subject alternative name (DNS, IP, email, URI); repeatable;\n"
"                       replaces the request's names; with a token and --key-out,\n"
"                       the names to ask for when the token names none (OIDC)\n"
"  --profile P          leaf (default) or intermediate (CA:TRUE, pathlen 0)\n"
"  --key-out FILE       generate the key pair and request here; key written 0600\n"
"                       (with a token, the names come from the token)\n"
"  --kty, --curve, --size  key type for --key-out (default EC P-256)\n"
"  --json               print {\"crt\",\"ca\",\"certChain\"} instead of PEM\n"
"  --out FILE           write the output to FILE instead of stdout, atomically\n"
"                       (a temporary file renamed over it, the old file's mode\n"
"                       kept, else 0644); on any failure FILE is left as it was\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_CA_CERT = 256, O_CA_KEY, O_PASSWORD_FILE, O_NOT_BEFORE, O_NOT_AFTER,
	O_SAN, O_PROFILE, O_KEY_OUT, O_KTY, O_CURVE, O_SIZE, O_JSON, O_VERSION,
	O_OFFLINE, O_TOKEN, O_TOKEN_FILE, O_API, O_DIR, O_CA_URL, O_ROOT,
	O_SOCKET, O_OUT };

static const struct option longopts[] = {
	{ "ca-cert", required_argument, NULL, O_CA_CERT },
	{ "ca-key", required_argument, NULL, O_CA_KEY },
	{ "password-file", required_argument, NULL, O_PASSWORD_FILE },
	{ "not-before", required_argument, NULL, O_NOT_BEFORE },
	{ "not-after", required_argument, NULL, O_NOT_AFTER },
	{ "san", required_argument, NULL, O_SAN },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "key-out", required_argument, NULL, O_KEY_OUT },
	{ "kty", required_argument, NULL, O_KTY },
	{ "curve", required_argument, NULL, O_CURVE },
	{ "size", required_argument, NULL, O_SIZE },
	{ "json", no_argument, NULL, O_JSON },
	{ "offline", no_argument, NULL, O_OFFLINE },
	{ "token", required_argument, NULL, O_TOKEN },
	{ "token-file", required_argument, NULL, O_TOKEN_FILE },
	{ "api", no_argument, NULL, O_API },
	{ "dir", required_argument, NULL, O_DIR },
	{ "ca-url", required_argument, NULL, O_CA_URL },
	{ "root", required_argument, NULL, O_ROOT },
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "out", required_argument, NULL, O_OUT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct opts {
	const char *ca_cert, *ca_key, *password_file, *not_before, *not_after;
	const char *profile, *key_out, *kty, *curve, *size;
	const char *subject, *token, *token_file, *dir, *ca_url, *root, *socket;
	const char *out;            /* --out: replaced atomically, else stdout */
	struct sans sans;
	struct key_spec spec;       /* --kty/--curve/--size, parsed once */
	int json, offline, api;
};

/* The chain as PEM, or (json) as the API's JSON shape, pretty-printed. */
static char *
render(X509 *leaf, STACK_OF(X509) *issuers, int json)
{
	json_t *o;
	char *s, *out;

	if (!json)
		return chain_pem(leaf, issuers);
	if ((o = chain_json(leaf, issuers)) == NULL)
		return NULL;
	s = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (s != NULL) {
		out = malloc(strlen(s) + 2);
		if (out != NULL)
			sprintf(out, "%s\n", s);
		free(s);
		return out;
	}
	return NULL;
}

/* The key pair asked for with --key-out; dies on failure. */
static EVP_PKEY *
new_key(const struct opts *o)
{
	EVP_PKEY *k;

	if ((k = key_generate(&o->spec)) == NULL)
		die_last();
	return k;
}

/* The CSR on stdin (PEM or DER); dies on failure. */
static X509_REQ *
read_csr(void)
{
	X509_REQ *req;
	struct buf in;
	int rc;

	if (io_read_fd(0, CA_MAX_PEM, &in, "stdin") != CA_OK)
		die_last();
	rc = pem_load_csr(in.data, in.len, &req);
	buf_free(&in);
	if (rc != CA_OK)
		die_last();
	return req;
}

/*
 * --key-out: the file is created (O_EXCL, 0600) before anything else and
 * filled before the transaction, so nothing about the key can fail once
 * the token is spent.  Until the certificate exists it is removed on every
 * way out: exit (die), and the signals that end a process by default.
 */
static const char *keyout_path;
static int keyout_fd = -1;
static volatile sig_atomic_t keyout_keep;

static void
keyout_drop(void)
{
	if (keyout_path != NULL && !keyout_keep)
		unlink(keyout_path);
}

static void
keyout_signal(int sig)
{
	keyout_drop();
	signal(sig, SIG_DFL);
	raise(sig);
}

static const int keyout_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM };

/* Claim the --key-out path; dies if it cannot be created. */
static void
keyout_create(const char *path)
{
	struct sigaction sa;
	size_t i;

	if (io_create_excl(path, 0600, &keyout_fd) != CA_OK)
		die(CA_FAIL, "%s", err_msg());
	keyout_path = path;
	atexit(keyout_drop);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = keyout_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(keyout_signals) / sizeof(keyout_signals[0]); i++)
		sigaction(keyout_signals[i], &sa, NULL);
}

/* Write the new key into the claimed file and wipe it; dies on failure. */
static void
keyout_fill(char *keypem)
{
	int fd = keyout_fd;

	keyout_fd = -1;
	if (io_fill_excl(keyout_path, fd, keypem, strlen(keypem)) != CA_OK)
		die_last();
	io_wipe_str(keypem);
}

/*
 * Block the ending signals while the transaction runs (at most the
 * database's busy timeout), so that none lands between the COMMIT and
 * keyout_keep: after it the key stays with its certificate.
 */
static void
keyout_hold(int hold, sigset_t *old)
{
	sigset_t set;
	size_t i;

	if (hold) {
		sigemptyset(&set);
		for (i = 0; i < sizeof(keyout_signals) / sizeof(keyout_signals[0]); i++)
			sigaddset(&set, keyout_signals[i]);
		sigprocmask(SIG_BLOCK, &set, old);
	} else
		sigprocmask(SIG_SETMASK, old, NULL);
}

/*
 * Print the chain.  issued (offline): the certificate is committed, so a
 * failed write (a closed stdout, a reader gone: SIGPIPE is ignored) says
 * that the certificate exists, where its key is, and exits CA_FAIL.
 */
static void
finish(const struct opts *o, X509 *leaf, STACK_OF(X509) *issuers, int issued)
{
	char *out, *serial;

	if ((out = render(leaf, issuers, o->json)) == NULL) {
		if (!issued)
			die(CA_FAIL, "encoding output failed");
		err_set(CA_FAIL, "encoding output failed");
	} else if (o->out != NULL ?
	    io_write_replace(o->out, out, strlen(out), 0644) != CA_OK :
	    io_write_all(1, out, strlen(out)) != CA_OK) {
		if (o->out == NULL)
			err_prefix("stdout");
	} else {
		free(out);
		keyout_keep = 1;
		return;
	}
	free(out);
	if (!issued)
		die_last();
	serial = x509_serial_dec(leaf);
	die(CA_FAIL, "%s; certificate %s is issued and recorded in the "
	    "database%s%s", err_msg(), serial ? serial : "?",
	    o->key_out ? ", its key is in " : "", o->key_out ? o->key_out : "");
}

/* Stateless: the given issuer signs what the request names. */
static void
stateless(struct opts *o, int64_t now)
{
	STACK_OF(X509) *issuers = NULL;
	X509_REQ *req = NULL;
	X509 *leaf = NULL;
	EVP_PKEY *cakey = NULL, *newkey = NULL;
	struct x509_template t;
	struct sans reqsans = { NULL, 0 };
	char cn[CA_MAX_SAN_LEN + 1], *password = NULL, *keypem;
	int rc;

	if (o->profile != NULL && strcmp(o->profile, "leaf") != 0 &&
	    strcmp(o->profile, "intermediate") != 0)
		die(CA_USAGE, "--profile: leaf or intermediate");
	memset(&t, 0, sizeof(t));
	t.profile = o->profile && strcmp(o->profile, "intermediate") == 0 ?
	    X509_INTERMEDIATE : X509_LEAF;
	if (t.profile == X509_INTERMEDIATE && o->key_out != NULL)
		die(CA_USAGE, "--key-out makes leaf certificates only");
	t.not_before = now - CA_BACKDATE;
	t.not_after = now + DEFAULT_LEAF_LIFE;
	if (o->not_before && time_parse(o->not_before, now, &t.not_before) != CA_OK)
		die(CA_USAGE, "--not-before: %s", err_msg());
	if (o->not_after && time_parse(o->not_after, now, &t.not_after) != CA_OK)
		die(CA_USAGE, "--not-after: %s", err_msg());

	/* The issuer: certificate (plus chain) and key. */
	if (pem_load_certs_file(o->ca_cert, &issuers) != CA_OK)
		die_last();
	if (o->password_file && io_read_password(o->password_file, &password) != CA_OK)
		die_last();
	if (pem_load_key_file(o->ca_key, password, &cakey) != CA_OK)
		die_last();
	io_wipe_str(password);
	t.issuer = sk_X509_value(issuers, 0);
	t.chain = issuers;
	t.issuer_key = cakey;
	if (X509_check_private_key(t.issuer, cakey) != 1)
		die(CA_INPUT, "%s does not match the key of %s", o->ca_key, o->ca_cert);
	if (X509_check_ca(t.issuer) == 0)
		die(CA_INPUT, "%s is not a CA certificate", o->ca_cert);

	/* The request: read, or made here for a new key. */
	if (o->key_out != NULL) {
		struct sans names = { NULL, 0 };
		size_t i;

		if (sans_add(&names, o->subject) != CA_OK && o->sans.n == 0)
			die(CA_USAGE, "SUBJECT %s", err_msg());
		for (i = 0; i < o->sans.n; i++)
			if (sans_add_san(&names, &o->sans.v[i]) != CA_OK)
				die_last();
		newkey = new_key(o);
		req = csr_build(newkey, o->subject, o->sans.n ? &o->sans : &names);
		sans_free(&names);
		if (req == NULL)
			die_last();
		if ((keypem = pem_key(newkey, NULL, 0)) == NULL)
			die(CA_FAIL, "encoding the new key failed");
		keyout_fill(keypem);
	} else
		req = read_csr();
	if (csr_check(req) != CA_OK)
		die_last();
	if (csr_requested_names(req, cn, sizeof(cn), &reqsans) != CA_OK)
		die_last();
	t.pubkey = X509_REQ_get0_pubkey(req);
	t.spki = X509_REQ_get_X509_PUBKEY(req);
	t.cn = cn[0] ? cn : NULL;
	if (o->sans.n > 0) {
		/* --san overrides the request's names; CN follows the first SAN
		 * unless the request's CN is among them. */
		const struct san *c;

		if (t.cn == NULL || sans_find_cn(&o->sans, t.cn, &c) != CA_OK)
			c = &o->sans.v[0];
		t.cn = c->value;
		t.sans = &o->sans;
	} else if (t.profile == X509_LEAF) {
		/* A leaf's CN is one of its names, as the authority's are. */
		const struct san *c;

		t.sans = &reqsans;
		if (t.cn != NULL) {
			if ((rc = sans_find_cn(&reqsans, t.cn, &c)) == CA_INPUT)
				die(CA_INPUT, "certificate request common name: %s", err_msg());
			if (rc != CA_OK)
				die(CA_REFUSED, "certificate request common name %s is not "
				    "one of its names (--san replaces them)", t.cn);
			t.cn = c->value;
		}
	}
	if (t.profile == X509_INTERMEDIATE) {
		if (t.cn == NULL)
			die(CA_INPUT, "an intermediate needs a subject CN");
		t.sans = NULL;
		t.pathlen = 0;
	}
	if (t.profile == X509_LEAF && t.sans->n == 0)
		die(CA_INPUT, "request has no names: give --san");
	if (x509_issue(&t, &leaf) != CA_OK)
		die_last();
	finish(o, leaf, issuers, 0);
	X509_free(leaf);
	X509_REQ_free(req);
	EVP_PKEY_free(cakey);
	EVP_PKEY_free(newkey);
	sk_X509_pop_free(issuers, X509_free);
	sans_free(&reqsans);
}

/*
 * A request for a new key from the token's own names.  The claims are
 * read unverified: the authority verifies the token and checks that the
 * request names exactly what it authorises.  An ID token (OIDC) names
 * nothing: the request carries want (--san), or no name at all, and the
 * CA gives every name its rules allow the job.
 */
/*
 * An OIDC ID token: its issuer is an https URL (OpenID Connect Core 1.0,
 * 2), where a step-ca token's is a provisioner's name, and it has no
 * sans.  Its names are the CA's rules' to give.
 */
static int
is_id_token(const struct jws *jws)
{
	const char *iss = json_string_value(json_object_get(jws->claims, "iss"));

	return iss != NULL && strncmp(iss, "https://", 8) == 0 &&
	    json_object_get(jws->claims, "sans") == NULL;
}

static X509_REQ *
csr_from_token(const char *ott, EVP_PKEY *key, const struct sans *want)
{
	struct sans names = { NULL, 0 };
	const json_t *sans, *v;
	const char *sub;
	struct jws jws;
	X509_REQ *req;
	size_t i;

	if (jws_parse(ott, strlen(ott), &jws) != CA_OK) {
		/* Same words and code as the authority gives for this token. */
		err_prefix("token rejected");
		die_last();
	}
	sub = json_string_value(json_object_get(jws.claims, "sub"));
	if (sub == NULL)
		die(CA_REFUSED, "token rejected: no subject (sub)");
	sans = json_object_get(jws.claims, "sans");
	if (want->n > 0) {
		if (sans != NULL)
			die(CA_USAGE, "--san: this token names its own sans");
		req = csr_build(key, want->v[0].value, want);
	} else if (sans == NULL && is_id_token(&jws)) {
		/* Its subject is the job ("repo:acme/api:ref:..."), no name. */
		req = csr_build(key, NULL, NULL);
	} else {
		if (sans == NULL) {
			if (sans_add(&names, sub) != CA_OK)
				die(CA_REFUSED, "token rejected: subject is not a name: %s", err_msg());
		} else {
			json_array_foreach(sans, i, v)
				if (!json_is_string(v) ||
				    sans_add(&names, json_string_value(v)) != CA_OK)
					die(CA_REFUSED, "token rejected: bad sans");
		}
		req = csr_build(key, sub, &names);
	}
	sans_free(&names);
	jws_free(&jws);
	if (req == NULL)
		die_last();
	return req;
}

/* A request as PEM, for the API's "csr"; malloc'd, NULL on failure. */
static char *
csr_pem(X509_REQ *req)
{
	unsigned char *der = NULL;
	int n = i2d_X509_REQ(req, &der);
	char *pem;

	if (n <= 0)
		return NULL;
	pem = pem_encode("CERTIFICATE REQUEST", der, (size_t)n);
	OPENSSL_free(der);
	return pem;
}

/*
 * The chain of a sign answer ({"crt","ca","certChain":[PEM...]}), leaf
 * first, each entry one certificate; dies (CA_INPUT) on anything else.
 */
static STACK_OF(X509) *
answer_chain(const json_t *resp, const char *where)
{
	STACK_OF(X509) *chain = sk_X509_new_null(), *one;
	const json_t *arr = json_object_get(resp, "certChain"), *v;
	const char *pem;
	size_t i;

	if (chain == NULL)
		die(CA_FAIL, "out of memory");
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > CA_MAX_CHAIN)
		die(CA_INPUT, "%s: the answer has no certChain of 1 to %d "
		    "certificates", where, CA_MAX_CHAIN);
	json_array_foreach(arr, i, v) {
		if ((pem = json_string_value(v)) == NULL)
			die(CA_INPUT, "%s: certChain[%zu]: not a string", where, i);
		if (pem_load_certs((const unsigned char *)pem, strlen(pem),
		    &one) != CA_OK) {
			err_prefix("%s: certChain[%zu]", where, i);
			die_last();
		}
		if (sk_X509_num(one) != 1)
			die(CA_INPUT, "%s: certChain[%zu]: not one certificate", where, i);
		sk_X509_push(chain, sk_X509_shift(one));
		sk_X509_free(one);
	}
	return chain;
}

/*
 * Online: POST {"csr","ott","notBefore","notAfter"} to the CA's
 * /1.0/sign; its authority decides exactly as offline, and the answer is
 * printed as the offline form prints its own.
 */
static void
online(struct opts *o)
{
	STACK_OF(X509) *chain;
	struct client *c;
	EVP_PKEY *newkey = NULL;
	X509_REQ *req;
	X509 *root, *leaf;
	json_t *body, *resp;
	char *url, *rootp, *ott, *pem, *keypem, where[2200];

	if (o->subject != NULL)
		die(CA_USAGE, "with a token, the names come from the token: no SUBJECT");
	if (o->profile || o->ca_key || o->password_file)
		die(CA_USAGE, "--profile, --ca-key and --password-file are for stateless mode");
	if (o->sans.n > 0 && o->key_out == NULL)
		die(CA_USAGE, "--san with a token: only with --key-out (a CSR names its own names)");
	ott = cli_token(o->token, o->token_file, 1);
	if (client_discover(o->dir, o->ca_url, o->root, &url, &rootp) != CA_OK ||
	    client_load_root(rootp, &root) != CA_OK ||
	    client_open(url, root, &c) != CA_OK)
		die_last();
	if (o->key_out != NULL) {
		newkey = new_key(o);
		req = csr_from_token(ott, newkey, &o->sans);
		if ((keypem = pem_key(newkey, NULL, 0)) == NULL)
			die(CA_FAIL, "encoding the new key failed");
		keyout_fill(keypem);
	} else
		req = read_csr();
	if ((pem = csr_pem(req)) == NULL)
		die(CA_FAIL, "encoding the certificate request failed");
	body = json_pack("{s:s, s:s}", "csr", pem, "ott", ott);
	if (body == NULL)
		die(CA_FAIL, "out of memory");
	if (o->not_before != NULL)
		json_object_set_new(body, "notBefore", json_string(o->not_before));
	if (o->not_after != NULL)
		json_object_set_new(body, "notAfter", json_string(o->not_after));
	if (client_post(c, "/1.0/sign", body, &resp) != CA_OK)
		die_last();
	json_decref(body);
	io_wipe_str(ott);
	snprintf(where, sizeof(where), "%s/1.0/sign", client_url(c));
	chain = answer_chain(resp, where);
	leaf = sk_X509_shift(chain);
	if (EVP_PKEY_eq(X509_get0_pubkey(leaf), X509_REQ_get0_pubkey(req)) != 1)
		die(CA_FAIL, "%s: the certificate in the answer is not for the "
		    "request's key", where);
	/* Issued and recorded by the CA: the key stays with its certificate. */
	keyout_keep = 1;
	finish(o, leaf, chain, 1);
	X509_free(leaf);
	sk_X509_pop_free(chain, X509_free);
	X509_REQ_free(req);
	X509_free(root);
	EVP_PKEY_free(newkey);
	json_decref(resp);
	client_free(c);
	free(pem);
	free(url);
	free(rootp);
}

/* Offline: the authority in-process, the same decisions as the CA server. */
static void
offline(struct opts *o)
{
	struct authority_result res;
	struct sign_request r;
	struct authority *a;
	EVP_PKEY *newkey = NULL;
	X509 *leaf = NULL;
	sigset_t old;
	char *ott, *keypem;

	if (o->subject != NULL)
		die(CA_USAGE, "with a token, the names come from the token: no SUBJECT");
	if (o->profile || o->ca_key || o->password_file)
		die(CA_USAGE, "--profile, --ca-key and --password-file are for stateless mode");
	if (o->sans.n > 0 && o->key_out == NULL)
		die(CA_USAGE, "--san with a token: only with --key-out (a CSR names its own names)");
	ott = cli_token(o->token, o->token_file, 1);
	memset(&r, 0, sizeof(r));
	if (o->key_out != NULL) {
		newkey = new_key(o);
		r.csr = csr_from_token(ott, newkey, &o->sans);
		if ((keypem = pem_key(newkey, NULL, 0)) == NULL)
			die(CA_FAIL, "encoding the new key failed");
		keyout_fill(keypem);
	} else
		r.csr = read_csr();
	if (authority_open(o->dir, DB_WRITE, &a) != CA_OK)
		die_last();
	r.ott = ott;
	r.not_before = o->not_before;
	r.not_after = o->not_after;
	if (o->key_out != NULL)
		keyout_hold(1, &old);
	if ((res = authority_sign(a, &r, &leaf)).code == CA_OK && o->key_out != NULL)
		keyout_keep = 1;
	if (o->key_out != NULL)
		keyout_hold(0, &old);
	if (res.code != CA_OK)
		die(res.code, "%s", err_msg());
	finish(o, leaf, authority_chain(a), 1);
	io_wipe_str(ott);
	X509_free(leaf);
	X509_REQ_free(r.csr);
	EVP_PKEY_free(newkey);
	authority_close(a);
}

/*
 * Requests answered together at most: taken from one stream or from
 * several connections, decided one by one, recorded in one transaction
 * (group commit).
 */
#define SIGN_BATCH 64

/* A request's members into r (r->csr the caller's); 400 if malformed. */
static int
sign_members(const json_t *req, struct sign_request *r)
{
	const char *csr;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = api_string(req, "csr", 1, &csr)) != CA_OK ||
	    (rc = api_string(req, "ott", 1, &r->ott)) != CA_OK ||
	    (rc = api_string(req, "notBefore", 0, &r->not_before)) != CA_OK ||
	    (rc = api_string(req, "notAfter", 0, &r->not_after)) != CA_OK)
		return rc;
	return pem_load_csr((const unsigned char *)csr, strlen(csr), &r->csr);
}

/*
 * The batch: each request's members, then the authority's decisions,
 * recorded in one transaction; the answers leave after its COMMIT.
 */
static void
sign_batch(void *ctx, struct api_call *calls, size_t n)
{
	struct api_host *h = ctx;
	struct authority *a = api_host_authority(h);
	struct authority_signing *sg;
	struct sign_request *rq;
	struct api_call *c;
	size_t *idx, i, m = 0;
	json_t *resp;
	int rc;

	sg = calloc(n, sizeof(*sg));
	rq = calloc(n, sizeof(*rq));
	idx = calloc(n, sizeof(*idx));
	if (sg == NULL || rq == NULL || idx == NULL) {
		err_set(CA_FAIL, "out of memory");
		for (i = 0; i < n; i++)
			api_call_fail(&calls[i], 500, CA_FAIL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rc = sign_members(calls[i].req, &rq[m])) != CA_OK) {
			api_call_fail(&calls[i], 400, rc);
			X509_REQ_free(rq[m].csr);
		} else if (a == NULL) {
			/* No authority loaded: why (apihost.h). */
			rc = api_host_why(h);
			api_call_fail(&calls[i], api_status(rc), rc);
			X509_REQ_free(rq[m].csr);
		} else {
			sg[m].req = &rq[m];
			idx[m++] = i;
		}
	}
	if (m > 0)
		authority_sign_batch(a, sg, m);
	for (i = 0; i < m; i++) {
		c = &calls[idx[i]];
		if (sg[i].res.code != CA_OK) {
			err_set(sg[i].res.code, "%s", sg[i].msg != NULL ?
			    sg[i].msg : "out of memory");
			api_call_fail(c, sg[i].res.status, sg[i].res.code);
		} else if ((resp = chain_json(sg[i].crt,
		    authority_chain(a))) == NULL) {
			err_set(CA_FAIL, "encoding the response failed");
			api_call_fail(c, 500, CA_FAIL);
		} else {
			api_call_ok(c, resp);
			json_decref(resp);
		}
		free(sg[i].msg);
		X509_free(sg[i].crt);
		X509_REQ_free(rq[i].csr);
	}
out:
	free(sg);
	free(rq);
	free(idx);
}

/*
 * --api: the handler, the authority kept loaded between requests
 * (apihost.h); SIGHUP reloads it, SIGINT and SIGTERM stop.
 */
static void
api(struct opts *o)
{
	int rc, reported;

	if (!o->offline)
		die(CA_USAGE, "--api needs --offline (the handler runs on the CA host)");
	if (o->token || o->token_file || o->key_out || o->ca_cert || o->ca_key ||
	    o->password_file || o->profile || o->json || o->sans.n ||
	    o->subject || o->not_after || o->not_before)
		die(CA_USAGE, "--api takes only --offline, --dir and --socket: "
		    "everything else comes from the request JSON");
	rc = api_host_run(o->dir, o->socket, sign_batch, SIGN_BATCH, &reported);
	if (rc != CA_OK && !reported)
		die_last();
	exit(rc);
}

int
main(int argc, char *argv[])
{
	struct opts o;
	int ch;

	cli_init(argv[0]);
	memset(&o, 0, sizeof(o));
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_CA_CERT: cli_once("--ca-cert", &o.ca_cert, optarg); break;
		case O_CA_KEY: cli_once("--ca-key", &o.ca_key, optarg); break;
		case O_PASSWORD_FILE:
			cli_once("--password-file", &o.password_file, optarg);
			break;
		case O_NOT_BEFORE: cli_once("--not-before", &o.not_before, optarg); break;
		case O_NOT_AFTER: cli_once("--not-after", &o.not_after, optarg); break;
		case O_SAN:
			if (sans_add(&o.sans, optarg) != CA_OK)
				die(CA_USAGE, "--san: %s", err_msg());
			break;
		case O_PROFILE: cli_once("--profile", &o.profile, optarg); break;
		case O_KEY_OUT: cli_once("--key-out", &o.key_out, optarg); break;
		case O_KTY: cli_once("--kty", &o.kty, optarg); break;
		case O_CURVE: cli_once("--curve", &o.curve, optarg); break;
		case O_SIZE: cli_once("--size", &o.size, optarg); break;
		case O_JSON: o.json = 1; break;
		case O_OFFLINE: o.offline = 1; break;
		case O_TOKEN: cli_once("--token", &o.token, optarg); break;
		case O_TOKEN_FILE: cli_once("--token-file", &o.token_file, optarg); break;
		case O_API: o.api = 1; break;
		case O_DIR: cli_once("--dir", &o.dir, optarg); break;
		case O_CA_URL: cli_once("--ca-url", &o.ca_url, optarg); break;
		case O_ROOT: cli_once("--root", &o.root, optarg); break;
		case O_SOCKET: cli_once("--socket", &o.socket, optarg); break;
		case O_OUT: cli_once("--out", &o.out, optarg); break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || (argc == 1 && (o.key_out == NULL || o.offline)))
		die(CA_USAGE, "unexpected argument: %s", argv[argc > 1 ? 1 : 0]);
	if (argc == 1)
		o.subject = argv[0];
	if (o.socket != NULL && !o.api)
		die(CA_USAGE, "--socket goes with --api");
	if (o.out != NULL && o.api)
		die(CA_USAGE, "--out does not go with --api (answers go to stdout)");
	if (o.key_out == NULL && (o.kty || o.curve || o.size))
		die(CA_USAGE, "--kty, --curve and --size go with --key-out");
	if (o.key_out != NULL) {
		if (key_spec_parse(o.kty, o.curve, o.size, &o.spec) != CA_OK)
			die_last();
	}
	/* A write to a reader that is gone fails with EPIPE and a message. */
	signal(SIGPIPE, SIG_IGN);
	if (o.key_out != NULL && !o.api) {
		if (io_secret_guard() != CA_OK)
			die_last();
		keyout_create(o.key_out);
	}
	if ((o.api || o.offline || o.ca_cert || o.ca_key) && (o.ca_url || o.root))
		die(CA_USAGE, "--ca-url and --root are for online signing");
	if (o.api) {
		api(&o);
	} else if (o.offline) {
		if (o.ca_cert != NULL)
			die(CA_USAGE, "--offline and --ca-cert are exclusive");
		offline(&o);
	} else if (o.ca_cert != NULL || o.ca_key != NULL) {
		if (o.ca_cert == NULL || o.ca_key == NULL)
			die(CA_USAGE, "--ca-cert and --ca-key are required (see -h)");
		if (o.key_out != NULL && o.subject == NULL)
			die(CA_USAGE, "--key-out needs exactly one SUBJECT");
		if (o.token || o.token_file)
			die(CA_USAGE, "a token goes with --offline");
		stateless(&o, (int64_t)time(NULL));
	} else
		online(&o);
	sans_free(&o.sans);
	return 0;
}
