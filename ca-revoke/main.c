/*
 * ca-revoke: passive revocation of a certificate by serial number, and
 * the CA's certificate revocation list.
 *
 * The serial is recorded in the database's revocations; from then on the
 * CA refuses to renew it and lists it in its CRL.  The certificate itself
 * stays valid until it expires (keep lifetimes short).
 *
 * Online mode (the default whenever a CA URL is known): POST /1.0/revoke
 * to ca-serve with a revoke token, or over mTLS with the certificate
 * itself (--cert, --key).  Offline mode (--offline): the CA home's
 * authority in-process, as the operator or with a revoke token.  API
 * mode (--api): the handler ca-serve relays /revoke and /crl to.  --crl:
 * the current CRL, from the CA home offline or GET /1.0/crl online.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "api.h"
#include "apihost.h"
#include "apiserve.h"
#include "authority.h"
#include "ca_limits.h"
#include "cli.h"
#include "client.h"
#include "config.h"
#include "crl.h"
#include "err.h"
#include "io.h"
#include "pem.h"
#include "timeutil.h"
#include "x509.h"

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-revoke [--token TOKEN | --token-file FILE | --cert FILE --key FILE]\n"
"                 [--reason-code N] [--reason TEXT] [--ca-url URL] [--root FILE]\n"
"                 [--dir DIR] SERIAL\n"
"       ca-revoke --offline [--token TOKEN | --token-file FILE]\n"
"                 [--reason-code N] [--reason TEXT] [--dir DIR] SERIAL\n"
"       ca-revoke --crl [--pem] [--out FILE] [--offline | --ca-url URL\n"
"                 --root FILE] [--dir DIR]\n"
"       ca-revoke --api [--offline] [--dir DIR] [--socket PATH] < requests.json\n"
"  --ca-url URL         the CA (default $CA_URL, else defaults.json's ca-url);\n"
"                       online is the default whenever a CA URL is known\n"
"  --root FILE          the root certificate to trust for it (default $CA_ROOT,\n"
"                       else defaults.json's root)\n"
"  --offline            use the CA home's database in-process\n"
"  --dir DIR            CA home, or the client home of defaults.json online\n"
"                       (default $CA_DIR, else $HOME/.inca)\n"
"  --token TOKEN        a revoke token from ca-token --revoke (optional offline:\n"
"                       without one, the operator's own authority is used)\n"
"  --token-file FILE    read the token from FILE (first line)\n"
"  --cert FILE          online, over mTLS: the certificate being revoked\n"
"                       (PEM, intermediates may follow), which proves itself\n"
"  --key FILE           its private key (unencrypted PEM)\n"
"  --reason-code N      RFC 5280 CRLReason: 0..10 except 7, or its name\n"
"                       (keyCompromise, superseded, ...); default 0\n"
"  --reason TEXT        free text recorded with the revocation (at most 1024\n"
"                       bytes of UTF-8, no control characters)\n"
"  --crl                print the CA's current CRL (DER, or PEM with --pem)\n"
"  --pem                with --crl: PEM instead of DER\n"
"  --out FILE           with --crl: replace FILE atomically instead of stdout\n"
"  --api                requests, JSON objects {\"serial\",\"ott\",\"reasonCode\",\n"
"                       \"reason\",\"passive\",\"peerCertificates\"} or {\"crl\":true},\n"
"                       one after another on stdin; for each, one line on stdout:\n"
"                       the response or {\"status\",\"message\"} JSON\n"
"  --socket PATH        with --api: serve every connection to a unix socket bound\n"
"                       at PATH (or the one of LISTEN_FDS) the same way\n"
"  SERIAL               decimal digits, or hexadecimal as 0xHEX, HH:HH:...,\n"
"                       serial=HEX (openssl x509 -serial), or with a letter a-f\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_OFFLINE = 256, O_DIR, O_TOKEN, O_TOKEN_FILE, O_REASON_CODE, O_REASON,
	O_VERSION, O_CERT, O_KEY, O_CA_URL, O_ROOT, O_API, O_SOCKET, O_CRL,
	O_PEM, O_OUT };

static const struct option longopts[] = {
	{ "offline", no_argument, NULL, O_OFFLINE },
	{ "dir", required_argument, NULL, O_DIR },
	{ "token", required_argument, NULL, O_TOKEN },
	{ "token-file", required_argument, NULL, O_TOKEN_FILE },
	{ "cert", required_argument, NULL, O_CERT },
	{ "key", required_argument, NULL, O_KEY },
	{ "reason-code", required_argument, NULL, O_REASON_CODE },
	{ "reason", required_argument, NULL, O_REASON },
	{ "ca-url", required_argument, NULL, O_CA_URL },
	{ "root", required_argument, NULL, O_ROOT },
	{ "api", no_argument, NULL, O_API },
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "crl", no_argument, NULL, O_CRL },
	{ "pem", no_argument, NULL, O_PEM },
	{ "out", required_argument, NULL, O_OUT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct opts {
	const char *dir, *token, *token_file, *cert, *key, *rc_text, *reason;
	const char *ca_url, *root, *socket, *out, *serial;
	int offline, api, crl, pem, reason_code;
};

/* The answer of a revocation, online and offline alike. */
static void
print_ok(const char *serial, int code, int recorded)
{
	json_t *out;
	char *s;

	out = json_pack("{s:s, s:s, s:i}", "status", "ok", "serial", serial,
	    "reasonCode", code);
	s = out != NULL ? json_dumps(out, JSON_COMPACT) : NULL;
	json_decref(out);
	/* The revocation is committed: a lost answer must not hide that. */
	if (s == NULL || io_write_all(1, s, strlen(s)) != CA_OK ||
	    io_write_all(1, "\n", 1) != CA_OK) {
		if (s != NULL)
			err_prefix("stdout");
		die(CA_FAIL, "%s; serial %s is revoked%s", s != NULL ? err_msg() :
		    "encoding output failed", serial,
		    recorded ? " and recorded in the database" : " (the CA said so)");
	}
	free(s);
}

/* Offline: the authority in-process, as the operator or with a token. */
static void
offline(const struct opts *o, const char *serial)
{
	struct authority_result res;
	struct revoke_request r;
	struct authority *a;
	char *tok;

	if (o->cert != NULL || o->key != NULL)
		die(CA_USAGE, "--cert and --key are for online revocation (mTLS); "
		    "offline, the operator needs no proof");
	tok = cli_token(o->token, o->token_file, 0);
	if (authority_open(o->dir, DB_WRITE, &a) != CA_OK)
		die_last();
	memset(&r, 0, sizeof(r));
	r.method = tok != NULL ? REVOKE_TOKEN : REVOKE_OFFLINE;
	r.serial = serial;
	r.reason_code = o->reason_code;
	r.reason = o->reason;
	r.ott = tok;
	if ((res = authority_revoke(a, &r)).code != CA_OK)
		die(res.code, "%s", err_msg());
	print_ok(serial, o->reason_code, 1);
	io_wipe_str(tok);
	authority_close(a);
}

/* The CA of --ca-url/--root (or their defaults), trusting its root alone. */
static struct client *
connect_ca(const struct opts *o)
{
	struct client *c;
	char *url, *rootp;
	X509 *root;

	if (client_discover(o->dir, o->ca_url, o->root, &url, &rootp) != CA_OK ||
	    client_load_root(rootp, &root) != CA_OK ||
	    client_open(url, root, &c) != CA_OK)
		die_last();
	X509_free(root);
	free(url);
	free(rootp);
	return c;
}

/*
 * Online: POST {"serial","ott","reasonCode","reason","passive":true} to
 * the CA's /1.0/revoke, authorised by the token or by the TLS client
 * certificate; the CA's authority decides exactly as offline.
 */
static void
online(const struct opts *o, const char *serial)
{
	struct client *c;
	json_t *body, *resp;
	char *tok;

	if ((o->cert == NULL) != (o->key == NULL))
		die(CA_USAGE, "--cert and --key go together");
	if (o->cert != NULL && (o->token != NULL || o->token_file != NULL))
		die(CA_USAGE, "a token or --cert and --key: give one");
	tok = cli_token(o->token, o->token_file, 0);
	if (tok == NULL && o->cert == NULL)
		die(CA_USAGE, "online revocation needs a revoke token (--token, "
		    "--token-file) or the certificate itself (--cert, --key)");
	c = connect_ca(o);
	if (o->cert != NULL && client_set_identity(c, o->cert, o->key) != CA_OK)
		die_last();
	body = json_pack("{s:s, s:i, s:b}", "serial", serial, "reasonCode",
	    o->reason_code, "passive", 1);
	if (body == NULL)
		die(CA_FAIL, "out of memory");
	if (tok != NULL)
		json_object_set_new(body, "ott", json_string(tok));
	if (o->reason != NULL)
		json_object_set_new(body, "reason", json_string(o->reason));
	if (client_post(c, "/1.0/revoke", body, &resp) != CA_OK)
		die_last();
	json_decref(body);
	io_wipe_str(tok);
	if (strcmp(json_string_value(json_object_get(resp, "status")) ?
	    json_string_value(json_object_get(resp, "status")) : "", "ok") != 0)
		die(CA_INPUT, "%s/1.0/revoke: the answer is not {\"status\":\"ok\"}",
		    client_url(c));
	print_ok(serial, o->reason_code, 0);
	json_decref(resp);
	client_free(c);
}

/* ---- the CRL -------------------------------------------------------- */

/*
 * --crl: the current CRL, from the CA home (made first if it is not
 * current) or from the CA's /1.0/crl, as DER or PEM, to stdout or
 * replacing --out.
 */
static void
crl(const struct opts *o)
{
	struct authority_result res;
	struct authority *a;
	struct client *c;
	struct buf b = { NULL, 0 };
	unsigned char *der = NULL;
	const unsigned char *data;
	size_t len = 0;
	char *pem = NULL;

	if (o->serial != NULL)
		die(CA_USAGE, "unexpected argument: %s (--crl takes no SERIAL)",
		    o->serial);
	if (o->token || o->token_file || o->cert || o->key || o->rc_text ||
	    o->reason)
		die(CA_USAGE, "--crl takes only --pem, --out, --offline, --dir, "
		    "--ca-url and --root");
	if (o->offline) {
		if (authority_open(o->dir, DB_WRITE, &a) != CA_OK)
			die_last();
		if ((res = authority_crl(a, 0, &der, &len)).code != CA_OK)
			die(res.code, "%s", err_msg());
		authority_close(a);
	} else {
		c = connect_ca(o);
		if (client_get_bytes(c, "/1.0/crl", &b) != CA_OK)
			die_last();
		/* What a relying party will read: it must parse as one. */
		if (crl_times(b.data, b.len, NULL, NULL) != CA_OK)
			die(CA_INPUT, "%s/1.0/crl: the answer is not a CRL: %s",
			    client_url(c), err_msg());
		der = b.data;
		len = b.len;
		b.data = NULL;
		client_free(c);
	}
	data = der;
	if (o->pem) {
		if ((pem = pem_encode("X509 CRL", der, len)) == NULL)
			die(CA_FAIL, "encoding the CRL failed");
		data = (const unsigned char *)pem;
		len = strlen(pem);
	}
	if (o->out != NULL) {
		if (io_write_replace(o->out, data, len, 0644) != CA_OK)
			die_last();
	} else if (io_write_all(1, data, len) != CA_OK) {
		err_prefix("stdout");
		die_last();
	}
	free(pem);
	free(der);
}

/* {"crl":true}: the current CRL as PEM, and its nextUpdate. */
static void
answer_crl(struct authority *a, struct api_call *c)
{
	struct authority_result res;
	unsigned char *der = NULL;
	size_t len = 0;
	int64_t next;
	char when[32], *pem = NULL;
	json_t *ok;

	if ((res = authority_crl(a, 0, &der, &len)).code != CA_OK) {
		api_call_fail(c, res.status, res.code);
		return;
	}
	if (crl_times(der, len, NULL, &next) != CA_OK ||
	    (pem = pem_encode("X509 CRL", der, len)) == NULL) {
		err_set(CA_FAIL, "encoding the CRL failed");
		api_call_fail(c, 500, CA_FAIL);
	} else {
		time_fmt(next, when, sizeof(when));
		ok = json_pack("{s:s, s:s}", "crl", pem, "nextUpdate", when);
		api_call_ok(c, ok);
		json_decref(ok);
	}
	free(pem);
	free(der);
}

/* ---- --api ---------------------------------------------------------- */

/* "peerCertificates": PEM strings, leaf first, into *out (NULL if none). */
static int
peer_chain(const json_t *req, STACK_OF(X509) **out)
{
	const json_t *arr = json_object_get(req, "peerCertificates");

	*out = NULL;
	if (arr == NULL || json_is_null(arr))
		return CA_OK;
	if (!json_is_array(arr) || json_array_size(arr) > CA_MAX_CHAIN)
		return err_set(CA_INPUT, "request: peerCertificates: a list of at "
		    "most %d PEM certificates", CA_MAX_CHAIN);
	if (json_array_size(arr) == 0)
		return CA_OK;
	return api_certs(arr, "peerCertificates", out);
}

/*
 * A revocation request's members into r (r->peer the caller's); *status
 * the HTTP status of a failure.
 */
static int
revoke_members(const json_t *req, struct revoke_request *r, int *status)
{
	const json_t *v;
	const char *name;
	int rc;

	memset(r, 0, sizeof(r[0]));
	*status = 400;
	if ((rc = api_string(req, "serial", 1, &r->serial)) != CA_OK ||
	    (rc = api_string(req, "ott", 0, &r->ott)) != CA_OK ||
	    (rc = api_string(req, "reason", 0, &r->reason)) != CA_OK)
		return rc;
	v = json_object_get(req, "reasonCode");
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 || json_integer_value(v) > 10 ||
		    json_integer_value(v) == 7)
			return err_set(CA_INPUT, "request: reasonCode %lld: 0..10, "
			    "not 7", (long long)json_integer_value(v));
		r->reason_code = (int)json_integer_value(v);
	} else if ((name = json_string_value(v)) != NULL) {
		if (authority_reason_code(name, &r->reason_code) != CA_OK) {
			err_prefix("request");
			return CA_INPUT;
		}
	} else if (v != NULL && !json_is_null(v))
		return err_set(CA_INPUT, "request: reasonCode: an integer 0..10, not 7");
	v = json_object_get(req, "passive");
	if (v != NULL && !json_is_boolean(v))
		return err_set(CA_INPUT, "request: passive: true or false");
	if (json_is_false(v))
		return err_set(CA_INPUT, "only passive revocation is supported");
	/* step clients send "" for "no reason" and for "no token". */
	if (r->reason != NULL && r->reason[0] == '\0')
		r->reason = NULL;
	if (r->ott != NULL && r->ott[0] == '\0')
		r->ott = NULL;
	if ((rc = peer_chain(req, &r->peer)) != CA_OK)
		return rc;
	/* The token authenticates when there is one; the peer otherwise. */
	if (r->ott != NULL)
		r->method = REVOKE_TOKEN;
	else if (r->peer != NULL)
		r->method = REVOKE_MTLS;
	else {
		*status = 401;
		return err_set(CA_REFUSED, "no client certificate and no revoke token");
	}
	return CA_OK;
}

static void
answer_revoke(struct authority *a, struct api_call *c)
{
	struct authority_result res;
	struct revoke_request r;
	json_t *ok;
	int rc, st;

	if ((rc = revoke_members(c->req, &r, &st)) != CA_OK) {
		api_call_fail(c, st, rc);
		sk_X509_pop_free(r.peer, X509_free);
		return;
	}
	res = authority_revoke(a, &r);
	sk_X509_pop_free(r.peer, X509_free);
	if (res.code != CA_OK) {
		api_call_fail(c, res.status, res.code);
		return;
	}
	ok = json_pack("{s:s}", "status", "ok");
	api_call_ok(c, ok);
	json_decref(ok);
}

/* Each request on its own: a revocation is one transaction of its own. */
static void
revoke_handler(void *ctx, struct api_call *calls, size_t n)
{
	struct api_host *h = ctx;
	struct authority *a;
	const json_t *crl;
	size_t i;

	a = api_host_authority(h);
	for (i = 0; i < n; i++) {
		crl = json_object_get(calls[i].req, "crl");
		if (a == NULL) {
			api_call_fail(&calls[i], api_status(err_code()), err_code());
			continue;
		}
		if (json_is_true(crl) && json_object_size(calls[i].req) == 1)
			answer_crl(a, &calls[i]);
		else if (crl != NULL) {
			err_set(CA_INPUT, "request: crl: only true, alone");
			api_call_fail(&calls[i], 400, CA_INPUT);
		} else
			answer_revoke(a, &calls[i]);
	}
}

static void
api(const struct opts *o)
{
	int rc, reported;

	if (o->token || o->token_file || o->cert || o->key || o->rc_text ||
	    o->reason || o->ca_url || o->root || o->crl || o->pem || o->out ||
	    o->serial)
		die(CA_USAGE, "--api takes only --offline, --dir and --socket: "
		    "everything else comes from the request JSON");
	rc = api_host_run(o->dir, o->socket, revoke_handler, 1, &reported);
	/* A stream's failures were reported as they came. */
	if (rc != CA_OK && !reported)
		die_last();
	exit(rc);
}

int
main(int argc, char *argv[])
{
	struct opts o;
	char *serial;
	int ch;

	cli_init(argv[0]);
	memset(&o, 0, sizeof(o));
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_OFFLINE: o.offline = 1; break;
		case O_DIR: cli_once("--dir", &o.dir, optarg); break;
		case O_TOKEN: cli_once("--token", &o.token, optarg); break;
		case O_TOKEN_FILE: cli_once("--token-file", &o.token_file, optarg); break;
		case O_CERT: cli_once("--cert", &o.cert, optarg); break;
		case O_KEY: cli_once("--key", &o.key, optarg); break;
		case O_REASON_CODE: cli_once("--reason-code", &o.rc_text, optarg); break;
		case O_REASON: cli_once("--reason", &o.reason, optarg); break;
		case O_CA_URL: cli_once("--ca-url", &o.ca_url, optarg); break;
		case O_ROOT: cli_once("--root", &o.root, optarg); break;
		case O_API: o.api = 1; break;
		case O_SOCKET: cli_once("--socket", &o.socket, optarg); break;
		case O_CRL: o.crl = 1; break;
		case O_PEM: o.pem = 1; break;
		case O_OUT: cli_once("--out", &o.out, optarg); break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1)
		die(CA_USAGE, "unexpected argument: %s", argv[1]);
	o.serial = argc == 1 ? argv[0] : NULL;
	/* A write to a reader that is gone fails with EPIPE and a message. */
	signal(SIGPIPE, SIG_IGN);
	if (o.socket != NULL && !o.api)
		die(CA_USAGE, "--socket goes with --api");
	if ((o.pem || o.out != NULL) && !o.crl)
		die(CA_USAGE, "--pem and --out go with --crl");
	if ((o.offline || o.api) && (o.ca_url || o.root))
		die(CA_USAGE, "--ca-url and --root are for the online CA, not "
		    "with --offline or --api");
	if (o.api)
		api(&o);
	if (o.crl) {
		crl(&o);
		return 0;
	}
	if (o.serial == NULL)
		die(CA_USAGE, "a SERIAL is required");
	if (o.rc_text != NULL && authority_reason_code(o.rc_text,
	    &o.reason_code) != CA_OK)
		die(CA_USAGE, "--reason-code %s: 0..10 but not 7, or an RFC 5280 "
		    "name such as keyCompromise", o.rc_text);
	if (o.reason != NULL && strlen(o.reason) > REVOKE_MAX_REASON)
		die(CA_USAGE, "--reason: at most %d bytes", REVOKE_MAX_REASON);
	if ((serial = x509_serial_parse(o.serial)) == NULL)
		die(CA_USAGE, "%s", err_msg());
	if (o.offline)
		offline(&o, serial);
	else
		online(&o, serial);
	free(serial);
	return 0;
}
