/*
 * ca-renew: a new certificate for one this CA issued, with the same
 * names and key and a fresh serial.
 *
 * Offline mode (--offline): the CA home's authority, in-process; the
 * operator presents the certificate.  API mode (--api): the handler
 * ca-serve relays POST /1.0/renew and /1.0/rekey to, one request JSON in,
 * one answer out, the client authenticated either by the chain of its TLS
 * handshake ("peerCertificates") or by a renewal token ("token").  Every
 * rule is the authority's (authority_renew), the same on each path.
 */
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/x509.h>

#include "api.h"
#include "apihost.h"
#include "authority.h"
#include "ca_limits.h"
#include "chain.h"
#include "cli.h"
#include "err.h"
#include "io.h"
#include "pem.h"
#include "x509.h"

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-renew --offline [--dir DIR] [--cert FILE]\n"
"       ca-renew --api [--offline] [--dir DIR] [--socket PATH]\n"
"  --offline            use the CA home's keys and database in-process\n"
"  --cert FILE          the certificate to renew, PEM (a chain: its first\n"
"                       certificate) or DER (default: stdin)\n"
"  --api                requests, JSON objects {\"peerCertificates\":[PEM...]}\n"
"                       or {\"token\":JWT} (and for a new key \"csr\" with\n"
"                       \"rekey\":true) one after another on stdin; for each,\n"
"                       one line on stdout: {\"crt\",\"ca\",\"certChain\"} or\n"
"                       {\"status\",\"message\"}\n"
"  --socket PATH        with --api: serve every connection to a unix socket\n"
"                       bound at PATH (or the one of LISTEN_FDS) the same way\n"
"  --dir DIR            CA home (default $CA_DIR, else $HOME/.inca)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_OFFLINE = 256, O_API, O_DIR, O_CERT, O_SOCKET, O_VERSION };

static const struct option longopts[] = {
	{ "offline", no_argument, NULL, O_OFFLINE },
	{ "api", no_argument, NULL, O_API },
	{ "dir", required_argument, NULL, O_DIR },
	{ "cert", required_argument, NULL, O_CERT },
	{ "socket", required_argument, NULL, O_SOCKET },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct opts {
	const char *dir, *cert, *socket;
	int offline, api;
};

/* The certificate to renew: --cert's file or stdin; dies on failure. */
static X509 *
read_cert(const char *path)
{
	STACK_OF(X509) *certs;
	struct buf in;
	X509 *x;
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
	x = sk_X509_shift(certs);
	sk_X509_pop_free(certs, X509_free);
	return x;
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
	X509 *leaf = NULL;
	char *out, *serial;

	memset(&r, 0, sizeof(r));
	r.method = RENEW_OFFLINE;
	r.cert = read_cert(o->cert);
	if (authority_open(o->dir, DB_WRITE, &a) != CA_OK)
		die_last();
	if ((res = authority_renew(a, &r, &leaf)).code != CA_OK)
		die(res.code, "%s", err_msg());
	if ((out = chain_pem(leaf, authority_chain(a))) == NULL ||
	    io_write_all(1, out, strlen(out)) != CA_OK) {
		if (out != NULL)
			err_prefix("stdout");
		serial = x509_serial_dec(leaf);
		die(CA_FAIL, "%s; certificate %s is issued and recorded in the "
		    "database", err_msg(), serial ? serial : "?");
	}
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
	const json_t *peer, *rekey, *v;
	STACK_OF(X509) *one;
	const char *pem;
	size_t i;
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
	if ((r->peer = sk_X509_new_null()) == NULL) {
		*status = 500;
		return err_set(CA_FAIL, "out of memory");
	}
	json_array_foreach(peer, i, v) {
		if ((pem = json_string_value(v)) == NULL)
			return err_set(CA_INPUT, "request: peerCertificates[%zu]: "
			    "not a string", i);
		if ((rc = pem_load_certs((const unsigned char *)pem, strlen(pem),
		    &one)) != CA_OK) {
			err_prefix("request: peerCertificates[%zu]", i);
			return rc;
		}
		if (sk_X509_num(one) != 1) {
			sk_X509_pop_free(one, X509_free);
			return err_set(CA_INPUT, "request: peerCertificates[%zu]: "
			    "not one certificate", i);
		}
		if (!sk_X509_push(r->peer, sk_X509_value(one, 0))) {
			sk_X509_pop_free(one, X509_free);
			*status = 500;
			return err_set(CA_FAIL, "out of memory");
		}
		sk_X509_free(one);
	}
	return CA_OK;
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

static volatile sig_atomic_t got_hup, got_stop;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

/*
 * --api: the handler, the authority kept loaded between requests
 * (apihost.h); SIGHUP reloads it, SIGINT and SIGTERM stop.
 */
static void
api(const struct opts *o)
{
	struct api_server s;
	struct api_host h;
	struct sigaction sa;
	sigset_t block, old;
	int rc;

	if (o->cert != NULL)
		die(CA_USAGE, "--api takes only --offline, --dir and --socket: "
		    "everything else comes from the request JSON");
	memset(&h, 0, sizeof(h));
	h.dir = o->dir;
	h.reload = &got_hup;
	/* The signals land only while the server waits (apiserve.h). */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	memset(&s, 0, sizeof(s));
	s.handler = renew_batch;
	s.ctx = &h;
	s.stop = &got_stop;
	s.wait_mask = &old;
	s.max_batch = RENEW_BATCH;
	rc = api_host_serve(&h, &s, o->socket);
	/* A stream's failures were reported as they came. */
	if (rc != CA_OK && (o->socket != NULL || err_code() == CA_USAGE))
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
	if (o.api)
		api(&o);
	if (!o.offline)
		die(CA_USAGE, "give --offline (on the CA host) or --api");
	offline(&o);
	return 0;
}
