/*
 * ca-renew: a new certificate for one this CA issued, with the same
 * names and key and a fresh serial.
 *
 * Online mode (the default): the certificate's holder asks the CA over
 * HTTPS (lib/renewal): POST /1.0/renew authenticated by the certificate
 * and its key over mTLS, or by a renewal token (--token-auth, and always
 * for an expired certificate); POST /1.0/rekey for a new key (--key-out).
 * Offline mode (--offline): the CA home's authority, in-process; the
 * operator presents the certificate.  In both, --if-due and --expires-in
 * decide first whether anything is done at all (exit 6: not due), the
 * new chain replaces --out atomically, and --exec runs after a renewal.  API mode (--api): the handler
 * ca-serve relays POST /1.0/renew and /1.0/rekey to, one request JSON in,
 * one answer out, the client authenticated either by the chain of its TLS
 * handshake ("peerCertificates") or by a renewal token ("token").  Every
 * rule is the authority's (authority_renew), the same on each path.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "api.h"
#include "apihost.h"
#include "authority.h"
#include "ca_limits.h"
#include "chain.h"
#include "cli.h"
#include "client.h"
#include "err.h"
#include "io.h"
#include "key.h"
#include "pem.h"
#include "renewal.h"
#include "timeutil.h"
#include "x509.h"

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-renew --cert FILE --key FILE [--ca-url URL] [--root FILE] [--dir DIR]\n"
"                [--token-auth] [--if-due | --expires-in D] [--out FILE]\n"
"                [--exec CMD]\n"
"       ca-renew --cert FILE --key FILE --key-out FILE [--ca-url URL]\n"
"                [--root FILE] [--dir DIR] [--if-due | --expires-in D]\n"
"                [--out FILE] [--exec CMD]\n"
"       ca-renew --offline [--dir DIR] [--cert FILE] [--if-due | --expires-in D]\n"
"                [--out FILE] [--exec CMD]\n"
"       ca-renew --api [--offline] [--dir DIR] [--socket PATH]\n"
"  --cert FILE          the certificate to renew, PEM (a chain: its first\n"
"                       certificate, then its intermediates) or DER\n"
"                       (default: stdin)\n"
"  --key FILE           its private key, unencrypted PEM (online)\n"
"  --ca-url URL         the CA (default $CA_URL, else defaults.json's ca-url)\n"
"  --root FILE          the root certificate to trust for it (default $CA_ROOT,\n"
"                       else defaults.json's root)\n"
"  --token-auth         authenticate with a renewal token signed by the key\n"
"                       (Authorization: Bearer) instead of mTLS; automatic\n"
"                       for an expired certificate\n"
"  --key-out FILE       rekey: a new key of the same type, written to FILE\n"
"                       (0600 if new) once the CA has issued its certificate\n"
"  --if-due             renew only once 2/3 of the lifetime has passed (less a\n"
"                       jitter of at most 1/20 of it, fixed per certificate);\n"
"                       otherwise exit 6 with nothing sent or written\n"
"  --expires-in D       renew only if it expires within the duration D (e.g.\n"
"                       8h); otherwise exit 6\n"
"  --out FILE           write the new chain to FILE instead of stdout,\n"
"                       atomically (the old file's mode kept, else 0644); on\n"
"                       any failure FILE is left as it was\n"
"  --exec CMD           after a renewal, and only then, run CMD with /bin/sh\n"
"                       (exit 4 if it fails; the new certificate stays)\n"
"  --offline            use the CA home's keys and database in-process\n"
"  --api                requests, JSON objects {\"peerCertificates\":[PEM...]}\n"
"                       or {\"token\":JWT} (and for a new key \"csr\" with\n"
"                       \"rekey\":true) one after another on stdin; for each,\n"
"                       one line on stdout: {\"crt\",\"ca\",\"certChain\"} or\n"
"                       {\"status\",\"message\"}\n"
"  --socket PATH        with --api: serve every connection to a unix socket\n"
"                       bound at PATH (or the one of LISTEN_FDS) the same way\n"
"  --dir DIR            CA home, or online the client home of defaults.json\n"
"                       (default $CA_DIR, else $HOME/.inca)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_OFFLINE = 256, O_API, O_DIR, O_CERT, O_SOCKET, O_VERSION,
	O_KEY, O_CA_URL, O_ROOT, O_TOKEN_AUTH, O_KEY_OUT, O_IF_DUE, O_EXPIRES_IN,
	O_OUT, O_EXEC };

static const struct option longopts[] = {
	{ "offline", no_argument, NULL, O_OFFLINE },
	{ "api", no_argument, NULL, O_API },
	{ "dir", required_argument, NULL, O_DIR },
	{ "cert", required_argument, NULL, O_CERT },
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "key", required_argument, NULL, O_KEY },
	{ "ca-url", required_argument, NULL, O_CA_URL },
	{ "root", required_argument, NULL, O_ROOT },
	{ "token-auth", no_argument, NULL, O_TOKEN_AUTH },
	{ "key-out", required_argument, NULL, O_KEY_OUT },
	{ "if-due", no_argument, NULL, O_IF_DUE },
	{ "expires-in", required_argument, NULL, O_EXPIRES_IN },
	{ "out", required_argument, NULL, O_OUT },
	{ "exec", required_argument, NULL, O_EXEC },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct opts {
	const char *dir, *cert, *socket;
	const char *key, *ca_url, *root, *key_out, *expires_in, *out, *exec;
	int offline, api, token_auth, if_due;
};

/*
 * The certificate to renew, then what came after it (its intermediates):
 * --cert's file or stdin; dies on failure.
 */
static STACK_OF(X509) *
read_certs(const char *path)
{
	STACK_OF(X509) *certs;
	struct buf in;
	int rc;

	if (path != NULL)
		rc = io_read_file(path, CA_MAX_PEM, &in);
	else
		rc = io_read_fd(0, CA_MAX_PEM, &in, "stdin");
	if (rc != CA_OK)
		die_last();
	rc = pem_load_certs(in.data, in.len, &certs);
	buf_free(&in);
	if (rc != CA_OK) {
		err_prefix("%s", path != NULL ? path : "stdin");
		die_last();
	}
	return certs;
}

/*
 * The new chain, out: --out replaced atomically, else stdout; then
 * --exec.  The certificate is issued and recorded by now, so a failed
 * write says so (and where its key is, for a rekey).
 */
static void
deliver(const struct opts *o, const char *pem, X509 *leaf)
{
	char *serial;
	int rc;

	rc = o->out != NULL ? io_write_replace(o->out, pem, strlen(pem), 0644) :
	    io_write_all(1, pem, strlen(pem));
	if (rc != CA_OK) {
		if (o->out == NULL)
			err_prefix("stdout");
		serial = x509_serial_dec(leaf);
		die(CA_FAIL, "%s; certificate %s is issued and recorded by the CA%s%s",
		    err_msg(), serial ? serial : "?",
		    o->key_out ? ", its key is in " : "", o->key_out ? o->key_out : "");
	}
	if (o->exec != NULL && renewal_exec(o->exec) != CA_OK)
		die(CA_FAIL, "%s (the certificate was renewed%s%s)", err_msg(),
		    o->out ? " into " : "", o->out ? o->out : "");
}

/*
 * --if-due, --expires-in: whether to go on; exits 6 (nothing sent or
 * written, nothing said) when the certificate is not due.
 */
static void
check_due(const struct opts *o, X509 *leaf, int64_t now)
{
	enum renewal_when when = RENEW_ALWAYS;
	int64_t within = 0;
	int due;

	if (o->if_due)
		when = RENEW_IF_DUE;
	else if (o->expires_in != NULL) {
		when = RENEW_EXPIRES_IN;
		if (time_parse_duration(o->expires_in, &within) != CA_OK || within < 0)
			die(CA_USAGE, "--expires-in: a duration such as 8h or 30m");
	}
	if (renewal_due(leaf, when, within, now, &due, NULL) != CA_OK)
		die_last();
	if (!due)
		exit(CA_NOTDUE);
}

/*
 * Online: the holder of the certificate and its key asks the CA.  An
 * expired certificate cannot be presented over mTLS: it goes with a
 * renewal token (the CA decides whether that is allowed).
 */
static void
online(const struct opts *o)
{
	struct renewal_request r;
	STACK_OF(X509) *chain, *got = NULL;
	struct key_spec spec;
	EVP_PKEY *key = NULL, *newkey = NULL;
	X509 *leaf;
	int64_t now = (int64_t)time(NULL);
	char *pem, *keypem = NULL;

	if (o->key == NULL)
		die(CA_USAGE, "online renewal needs --key (the certificate's key), "
		    "or --offline on the CA host");
	if (o->cert == NULL)
		die(CA_USAGE, "online renewal needs --cert");
	if (client_load_identity(o->cert, o->key, &chain, &key) != CA_OK)
		die_last();
	leaf = sk_X509_value(chain, 0);
	check_due(o, leaf, now);
	memset(&r, 0, sizeof(r));
	r.dir = o->dir;
	r.ca_url = o->ca_url;
	r.root = o->root;
	r.chain = chain;
	r.key = key;
	r.token_auth = o->token_auth ||
	    now >= x509_time(X509_get0_notAfter(leaf));
	if (o->key_out != NULL) {
		if (r.token_auth)
			die(CA_USAGE, "--key-out goes over mTLS: not with --token-auth "
			    "or an expired certificate");
		if (key_spec_of(key, &spec) != CA_OK ||
		    (newkey = key_generate(&spec)) == NULL)
			die_last();
		r.new_key = newkey;
	}
	if (renewal_online(&r, now, &got) != CA_OK)
		die_last();
	if ((pem = renewal_chain_pem(got)) == NULL)
		die_last();
	if (newkey != NULL) {
		/* The key first: a certificate is useless without it. */
		if ((keypem = pem_key(newkey, NULL, 0)) == NULL ||
		    io_write_replace(o->key_out, keypem, strlen(keypem), 0600) != CA_OK) {
			char *serial = x509_serial_dec(sk_X509_value(got, 0));

			if (keypem == NULL)
				err_set(CA_FAIL, "encoding the new key failed");
			io_wipe_str(keypem);
			die(CA_FAIL, "%s; certificate %s is issued for a key that could "
			    "not be kept", err_msg(), serial ? serial : "?");
		}
		io_wipe_str(keypem);
	}
	deliver(o, pem, sk_X509_value(got, 0));
	free(pem);
	sk_X509_pop_free(got, X509_free);
	sk_X509_pop_free(chain, X509_free);
	EVP_PKEY_free(key);
	EVP_PKEY_free(newkey);
}

/*
 * Offline: the authority in-process.  The certificate is committed before
 * it is printed, so a failed write says that it exists and exits CA_FAIL.
 */
static void
offline(const struct opts *o)
{
	struct authority_result res;
	struct renew_request r;
	struct authority *a;
	STACK_OF(X509) *certs;
	X509 *leaf = NULL;
	char *out, *serial;

	memset(&r, 0, sizeof(r));
	r.method = RENEW_OFFLINE;
	certs = read_certs(o->cert);
	r.cert = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	check_due(o, r.cert, (int64_t)time(NULL));
	if (authority_open(o->dir, DB_WRITE, &a) != CA_OK)
		die_last();
	if ((res = authority_renew(a, &r, &leaf)).code != CA_OK)
		die(res.code, "%s", err_msg());
	if ((out = chain_pem(leaf, authority_chain(a))) == NULL) {
		serial = x509_serial_dec(leaf);
		die(CA_FAIL, "encoding the chain failed; certificate %s is issued "
		    "and recorded in the database", serial ? serial : "?");
	}
	deliver(o, out, leaf);
	free(out);
	X509_free(leaf);
	X509_free(r.cert);
	authority_close(a);
}

/* Requests taken together at most, decided in one transaction. */
#define RENEW_BATCH 64

/*
 * The members of one request into r (the caller frees r->peer and
 * r->csr).  A token, when there is one, authenticates: the peer chain is
 * then not looked at.  400 for malformed members, 401 for neither.
 */
static int
renew_members(const json_t *req, struct renew_request *r, int *status)
{
	const json_t *peer, *rekey;
	const char *pem;
	int rc;

	memset(r, 0, sizeof(*r));
	*status = 400;
	if ((rc = api_string(req, "token", 0, &r->token)) != CA_OK)
		return rc;
	rekey = json_object_get(req, "rekey");
	if (rekey != NULL && !json_is_boolean(rekey))
		return err_set(CA_INPUT, "request: rekey must be true or false");
	if (json_is_true(rekey)) {
		if ((rc = api_string(req, "csr", 1, &pem)) != CA_OK ||
		    (rc = pem_load_csr((const unsigned char *)pem, strlen(pem),
		    &r->csr)) != CA_OK)
			return rc;
	}
	if (r->token != NULL) {
		r->method = RENEW_TOKEN;
		return CA_OK;
	}
	peer = json_object_get(req, "peerCertificates");
	if (peer == NULL || json_is_null(peer)) {
		*status = 401;
		return err_set(CA_REFUSED, "no client certificate and no renewal token");
	}
	if (!json_is_array(peer) || json_array_size(peer) == 0 ||
	    json_array_size(peer) > CA_MAX_CHAIN)
		return err_set(CA_INPUT, "request: peerCertificates must be a list "
		    "of 1 to %d PEM certificates", CA_MAX_CHAIN);
	r->method = RENEW_MTLS;
	if ((rc = api_certs(peer, "peerCertificates", &r->peer)) == CA_FAIL)
		*status = 500;
	return rc;
}

static void
request_free(struct renew_request *r)
{
	sk_X509_pop_free(r->peer, X509_free);
	X509_REQ_free(r->csr);
	memset(r, 0, sizeof(*r));
}

/*
 * The batch: each request's members, then the authority's decisions,
 * recorded in one transaction; the answers leave after its COMMIT.
 */
static void
renew_batch(void *ctx, struct api_call *calls, size_t n)
{
	struct authority *a = api_host_authority(ctx);
	struct authority_renewal *rn;
	struct renew_request *rq;
	struct api_call *c;
	size_t *idx, i, m = 0;
	json_t *resp;
	int rc, status;

	if (a == NULL) {
		/* No authority loaded: every request gets why (apihost.h). */
		for (i = 0; i < n; i++)
			api_call_fail(&calls[i], api_status(err_code()), err_code());
		return;
	}
	rn = calloc(n, sizeof(*rn));
	rq = calloc(n, sizeof(*rq));
	idx = calloc(n, sizeof(*idx));
	if (rn == NULL || rq == NULL || idx == NULL) {
		err_set(CA_FAIL, "out of memory");
		for (i = 0; i < n; i++)
			api_call_fail(&calls[i], 500, CA_FAIL);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rc = renew_members(calls[i].req, &rq[m], &status)) != CA_OK) {
			api_call_fail(&calls[i], status, rc);
			request_free(&rq[m]);
		} else {
			rn[m].req = &rq[m];
			idx[m++] = i;
		}
	}
	if (m > 0)
		authority_renew_batch(a, rn, m);
	for (i = 0; i < m; i++) {
		c = &calls[idx[i]];
		if (rn[i].res.code != CA_OK) {
			err_set(rn[i].res.code, "%s", rn[i].msg != NULL ?
			    rn[i].msg : "out of memory");
			api_call_fail(c, rn[i].res.status, rn[i].res.code);
		} else if ((resp = chain_json(rn[i].crt,
		    authority_chain(a))) == NULL) {
			api_call_fail(c, 500, CA_FAIL);
		} else {
			api_call_ok(c, resp);
			json_decref(resp);
		}
		free(rn[i].msg);
		X509_free(rn[i].crt);
		request_free(&rq[i]);
	}
out:
	free(rn);
	free(rq);
	free(idx);
}

/*
 * --api: the handler, the authority kept loaded between requests
 * (apihost.h); SIGHUP reloads it, SIGINT and SIGTERM stop.
 */
static void
api(const struct opts *o)
{
	int rc, reported;

	if (o->cert != NULL)
		die(CA_USAGE, "--api takes only --offline, --dir and --socket: "
		    "everything else comes from the request JSON");
	rc = api_host_run(o->dir, o->socket, renew_batch, RENEW_BATCH, &reported);
	/* A stream's failures were reported as they came. */
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
		case O_OFFLINE: o.offline = 1; break;
		case O_API: o.api = 1; break;
		case O_DIR: cli_once("--dir", &o.dir, optarg); break;
		case O_CERT: cli_once("--cert", &o.cert, optarg); break;
		case O_SOCKET: cli_once("--socket", &o.socket, optarg); break;
		case O_KEY: cli_once("--key", &o.key, optarg); break;
		case O_CA_URL: cli_once("--ca-url", &o.ca_url, optarg); break;
		case O_ROOT: cli_once("--root", &o.root, optarg); break;
		case O_TOKEN_AUTH: o.token_auth = 1; break;
		case O_KEY_OUT: cli_once("--key-out", &o.key_out, optarg); break;
		case O_IF_DUE: o.if_due = 1; break;
		case O_EXPIRES_IN:
			cli_once("--expires-in", &o.expires_in, optarg);
			break;
		case O_OUT: cli_once("--out", &o.out, optarg); break;
		case O_EXEC: cli_once("--exec", &o.exec, optarg); break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	if (optind < argc)
		die(CA_USAGE, "unexpected argument: %s", argv[optind]);
	if (o.socket != NULL && !o.api)
		die(CA_USAGE, "--socket goes with --api");
	/* A write to a reader that is gone fails with EPIPE and a message. */
	signal(SIGPIPE, SIG_IGN);
	if (o.if_due && o.expires_in != NULL)
		die(CA_USAGE, "--if-due and --expires-in: give one");
	if (o.api) {
		if (o.key != NULL || o.ca_url != NULL || o.root != NULL ||
		    o.token_auth || o.key_out != NULL || o.if_due ||
		    o.expires_in != NULL || o.out != NULL || o.exec != NULL)
			die(CA_USAGE, "--api takes only --offline, --dir and --socket: "
			    "everything else comes from the request JSON");
		api(&o);
	}
	if (o.offline) {
		if (o.key != NULL || o.ca_url != NULL || o.root != NULL ||
		    o.token_auth || o.key_out != NULL)
			die(CA_USAGE, "--offline renews what --cert holds with the CA's "
			    "own keys: no --key, --ca-url, --root, --token-auth or "
			    "--key-out");
		offline(&o);
	} else
		online(&o);
	return 0;
}
