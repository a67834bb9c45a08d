/*
 * One TLS connection: handshake, HTTP requests (lib/http), routes, the
 * log.  Every wait has a deadline: the handshake and each request's head
 * and body must arrive within --read-timeout of their first byte, an idle
 * keep-alive connection is closed after a few seconds, and the whole
 * connection ends at --conn-timeout.  A response is built whole before
 * any of it is written, so nothing partial ever reaches the client.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "b64.h"
#include "ca_limits.h"
#include "err.h"
#include "http.h"
#include "io.h"
#include "jsonerr.h"
#include "pem.h"
#include "serve.h"
#include "timeutil.h"
#include "tls.h"

#ifndef INCA_VERSION
#define INCA_VERSION "0"
#endif

volatile sig_atomic_t conn_draining;

/* A 503's Retry-After, in seconds. */
#define RETRY_AFTER_S "5"

/* GET /provisioners paging, as step-ca's. */
#define PROV_LIMIT_DEFAULT 20
#define PROV_LIMIT_MAX 100

/* Milliseconds since t0 (a now_us() value), for the log. */
static int64_t
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static double
ms_since(int64_t t0)
{
	return (double)(now_us() - t0) / 1000.0;
}

/* The log ------------------------------------------------------------- */

static int use_syslog;

void
log_use_syslog(int on)
{
	use_syslog = on;
	if (on)
		openlog("ca-serve", LOG_PID, LOG_DAEMON);
}

/* "2026-01-02T03:04:05.678Z" */
static void
log_time(char *buf, size_t len)
{
	struct timespec t;
	struct tm tm;
	char s[24];
	int ms;

	clock_gettime(CLOCK_REALTIME, &t);
	gmtime_r(&t.tv_sec, &tm);
	if (strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		s[0] = '\0';
	ms = (int)(t.tv_nsec / 1000000) % 1000;
	snprintf(buf, len, "%.19s.%03dZ", s, ms);
}

void
log_json(json_t *line)
{
	char ts[40], *s;

	log_time(ts, sizeof(ts));
	/* The time first: set it over whatever order line was built in. */
	{
		json_t *o = json_pack("{s:s}", "time", ts);

		if (o == NULL)
			return;
		json_object_update(o, line);
		s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
		json_decref(o);
	}
	if (s == NULL)
		return;
	if (use_syslog)
		syslog(LOG_INFO, "%s", s);
	else
		fprintf(stderr, "%s\n", s);
	free(s);
}

void
log_msg(const char *fmt, ...)
{
	char m[1024];
	va_list ap;
	json_t *o;
	size_t i;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	for (i = 0; m[i] != '\0'; i++)
		if ((unsigned char)m[i] < 0x20 || m[i] == 0x7f)
			m[i] = '?';
	if ((o = json_pack("{s:s}", "message", m)) != NULL) {
		log_json(o);
		json_decref(o);
	}
}

/* The peer ------------------------------------------------------------ */

/* ip and port as "ip:port" or "[ip6]:port". */
static void
fmt_addr(const char *ip, const char *port, char *buf, size_t len)
{
	if (strchr(ip, ':') != NULL)
		snprintf(buf, len, "[%s]:%s", ip, port ? port : "");
	else
		snprintf(buf, len, "%s:%s", ip, port ? port : "");
}

void
conn_peer(int fd, char *buf, size_t len)
{
	static const char *env[][2] = {
		{ "TCPREMOTEIP", "TCPREMOTEPORT" },     /* tcpserver, s6 */
		{ "SOCAT_PEERADDR", "SOCAT_PEERPORT" }, /* socat */
		{ "REMOTE_ADDR", "REMOTE_PORT" },       /* others */
	};
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char ip[INET6_ADDRSTRLEN], port[8];
	const char *e;
	size_t i;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

			inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
			snprintf(port, sizeof(port), "%u", ntohs(s4->sin_port));
			fmt_addr(ip, port, buf, len);
			return;
		}
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

			inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
			snprintf(port, sizeof(port), "%u", ntohs(s6->sin6_port));
			fmt_addr(ip, port, buf, len);
			return;
		}
	}
	/* Not a TCP socket (a pipe, a socketpair): what the launcher says. */
	for (i = 0; i < sizeof(env) / sizeof(env[0]); i++) {
		if ((e = getenv(env[i][0])) != NULL && e[0] != '\0' &&
		    strlen(e) < INET6_ADDRSTRLEN &&
		    strspn(e, "0123456789abcdefABCDEF.:") == strlen(e)) {
			const char *p = getenv(env[i][1]);

			if (p != NULL && (strlen(p) > 5 ||
			    strspn(p, "0123456789") != strlen(p)))
				p = NULL;
			fmt_addr(e, p, buf, len);
			return;
		}
	}
	snprintf(buf, len, "-");
}

/* TLS I/O with deadlines ---------------------------------------------- */

struct conn {
	struct serve_state *st;
	const struct serve_opts *o;
	SSL *ssl;
	int rfd, wfd;
	int64_t deadline;       /* of the whole connection */
	const char *peer;
	struct hop *hops;       /* to the handlers, by kind (HK_*) */
	json_t *peer_chain;     /* verified client chain, or NULL */
	const char *peer_problem; /* why a client certificate was not accepted */
	int64_t t0;             /* when it was accepted (now_us) */
};

enum { IO_OK = 1, IO_EOF = 0, IO_ERR = -1, IO_TIMEOUT = -2, IO_DRAIN = -3 };

/*
 * Wait for fd until deadline.  With drain, a SIGTERM (conn_draining)
 * ends the wait.  IO_OK when ready.
 */
static int
wait_io(int fd, short events, int64_t deadline, int drain)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		/* Draining: what has already arrived is still served. */
		if (drain && conn_draining)
			return poll(&p, 1, 0) > 0 ? IO_OK : IO_DRAIN;
		if ((left = deadline - now_ms()) <= 0)
			return IO_TIMEOUT;
		r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0)
			return IO_OK;
		if (r < 0 && errno != EINTR)
			return IO_ERR;
	}
}

/* After an SSL call returned r: wait as it asks, or say why it failed. */
static int
ssl_wait(struct conn *c, int r, int64_t deadline, int drain)
{
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return wait_io(c->rfd, POLLIN, deadline, drain);
	case SSL_ERROR_WANT_WRITE:
		return wait_io(c->wfd, POLLOUT, deadline, drain);
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	default:
		return IO_ERR;
	}
}

static int
tls_read(struct conn *c, unsigned char *buf, size_t cap, size_t *got,
    int64_t deadline, int drain)
{
	int r, w;

	for (;;) {
		ERR_clear_error();
		r = SSL_read(c->ssl, buf, (int)cap);
		if (r > 0) {
			*got = (size_t)r;
			return IO_OK;
		}
		if ((w = ssl_wait(c, r, deadline, drain)) != IO_OK)
			return w;
	}
}

static int
tls_write(struct conn *c, const void *buf, size_t len, int64_t deadline)
{
	const unsigned char *p = buf;
	int r, w;

	while (len > 0) {
		ERR_clear_error();
		r = SSL_write(c->ssl, p, len > 65536 ? 65536 : (int)len);
		if (r > 0) {
			p += r;
			len -= (size_t)r;
			continue;
		}
		if ((w = ssl_wait(c, r, deadline, 0)) != IO_OK)
			return w;
	}
	return IO_OK;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * Close without losing what was written: stop writing, then read and
 * drop what the client still sends (a body we refused) for a moment, so
 * that the kernel does not answer it with a reset that could destroy the
 * response before the client reads it.
 */
static void
linger_close(int rfd, int wfd, int64_t deadline)
{
	char junk[4096];
	ssize_t n;
	size_t total = 0;

	if (shutdown(wfd, SHUT_WR) != 0)
		return;         /* not a socket: nothing to linger for */
	while (total < 1024 * 1024 &&
	    wait_io(rfd, POLLIN, deadline, 0) == IO_OK) {
		n = read(rfd, junk, sizeof(junk));
		if (n <= 0 && !(n < 0 && (errno == EAGAIN || errno == EINTR)))
			break;
		if (n > 0)
			total += (size_t)n;
	}
}

/* Responses ----------------------------------------------------------- */

struct response {
	int status;
	const char *ctype;      /* NULL: no body type */
	char *body;             /* malloc'd */
	size_t len;
	const char *extra;      /* extra header lines ("Allow: ...\r\n") */
	char extra_buf[80];     /* for an extra line built here */
	char *extra_own;        /* malloc'd extra lines (an ACME answer's) */
	char *serial;           /* issued (decimal) or revoked: the serial */
	char *provisioner;      /* issued or revoked: the token's iss */
};

static void
resp_free(struct response *r)
{
	free(r->body);
	free(r->serial);
	free(r->provisioner);
	free(r->extra_own);
	memset(r, 0, sizeof(*r));
}

/* A JSON body (j is consumed), compact, with a final newline. */
static void
resp_json(struct response *r, int status, json_t *j)
{
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	size_t n;

	json_decref(j);
	free(r->body);
	r->body = NULL;
	if (s == NULL) {
		static const char oom[] =
		    "{\"status\":500,\"message\":\"out of memory\"}\n";

		r->status = 500;
		r->ctype = "application/json";
		r->body = strdup(oom);
		r->len = r->body ? strlen(oom) : 0;
		return;
	}
	n = strlen(s);
	if ((r->body = realloc(s, n + 2)) == NULL) {
		free(s);
		r->len = 0;
	} else {
		r->body[n] = '\n';
		r->body[n + 1] = '\0';
		r->len = n + 1;
	}
	r->status = status;
	r->ctype = "application/json";
}

static void
resp_error(struct response *r, int status, const char *message)
{
	resp_json(r, status, json_pack("{s:i, s:s}", "status", status,
	    "message", message));
}

static void
resp_text(struct response *r, int status, const char *ctype, const char *s)
{
	free(r->body);
	r->body = strdup(s);
	r->len = r->body ? strlen(s) : 0;
	r->status = r->body ? status : 500;
	r->ctype = ctype;
}

/* Routes -------------------------------------------------------------- */

/* /root/{fingerprint}: hex, either case; step-ca's dashes are dropped. */
static void
route_root(struct conn *c, const char *fp, struct response *r)
{
	char want[65];
	size_t i, n = 0;

	for (i = 0; fp[i] != '\0'; i++) {
		if (fp[i] == '-')
			continue;
		if (n == 64 || !isxdigit((unsigned char)fp[i]))
			return resp_error(r, 404, "root not found");
		want[n++] = (char)tolower((unsigned char)fp[i]);
	}
	want[n] = '\0';
	if (n != 64 || strcmp(want, c->st->root_fp) != 0)
		return resp_error(r, 404, "root not found");
	resp_text(r, 200, "application/json", c->st->root_json);
}

/*
 * The value of name in the query string (not decoded: the values here
 * are digits), into buf; 1 if present.
 */
static int
query_get(const char *q, const char *name, char *buf, size_t len)
{
	size_t nl = strlen(name), vl;
	const char *p = q, *end;

	while (p != NULL && *p != '\0') {
		end = strchr(p, '&');
		if (strncmp(p, name, nl) == 0 && (p[nl] == '=' || p[nl] == '&' ||
		    p[nl] == '\0')) {
			const char *v = p[nl] == '=' ? p + nl + 1 : p + nl;

			vl = end ? (size_t)(end - v) : strlen(v);
			if (vl >= len)
				vl = len - 1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return 1;
		}
		p = end ? end + 1 : NULL;
	}
	return 0;
}

/* A decimal of at most 9 digits ("" is 0); -1 if not one. */
static long
small_number(const char *s)
{
	size_t n = strlen(s);

	if (n > 9 || strspn(s, "0123456789") != n)
		return -1;
	return n ? strtol(s, NULL, 10) : 0;
}

/*
 * GET /provisioners?limit=N&cursor=C: at most limit (default 20, at most
 * 100) from the cursor on; nextCursor is where the next page starts, ""
 * after the last.  The cursor is the index of a provisioner, as a string.
 */
static void
route_provisioners(struct conn *c, const char *query, struct response *r)
{
	const json_t *all = c->st->provisioners;
	char v[32];
	long limit = PROV_LIMIT_DEFAULT, cursor = 0;
	size_t i, n = json_array_size(all);
	json_t *page, *o;
	char next[32] = "";

	if (query != NULL && query_get(query, "limit", v, sizeof(v))) {
		if ((limit = small_number(v)) < 0)
			return resp_error(r, 400, "limit: must be a number");
		if (limit == 0)
			limit = PROV_LIMIT_DEFAULT;
		if (limit > PROV_LIMIT_MAX)
			limit = PROV_LIMIT_MAX;
	}
	if (query != NULL && query_get(query, "cursor", v, sizeof(v))) {
		if ((cursor = small_number(v)) < 0 || (size_t)cursor > n)
			return resp_error(r, 400, "cursor: not one this server gave");
	}
	if ((page = json_array()) == NULL)
		return resp_error(r, 500, "out of memory");
	for (i = (size_t)cursor; i < n && i < (size_t)cursor + (size_t)limit; i++)
		json_array_append(page, json_array_get(all, i));
	if (i < n)
		snprintf(next, sizeof(next), "%zu", i);
	o = json_pack("{s:o, s:s}", "provisioners", page, "nextCursor", next);
	resp_json(r, 200, o);
}

/*
 * The issued certificate's serial number, decimal, for the log: read from
 * the DER of the response's first PEM block (Certificate, tbsCertificate,
 * the optional [0] version, the serialNumber INTEGER), without decoding
 * the certificate.  NULL if it is not there or not a positive integer.
 */
static char *
issued_serial(const json_t *resp)
{
	const char *crt = json_string_value(json_object_get(resp, "crt"));
	struct cert_fields f;
	struct pem_block *b = NULL;
	size_t nb = 0;
	BIGNUM *bn = NULL;
	char *s = NULL, *out = NULL;

	if (crt == NULL ||
	    pem_decode((const unsigned char *)crt, strlen(crt), CA_MAX_CHAIN,
	    &b, &nb) != CA_OK || nb == 0) {
		err_clear();
		return NULL;
	}
	if (cert_fields(b[0].der, b[0].len, &f) && f.serial_len <= 21 &&
	    !(f.serial[0] & 0x80) &&
	    (bn = BN_bin2bn(f.serial, (int)f.serial_len, NULL)) != NULL &&
	    (s = BN_bn2dec(bn)) != NULL)
		out = strdup(s);
	OPENSSL_free(s);
	BN_free(bn);
	pem_blocks_free(b, nb);
	return out;
}

/*
 * The token's "iss" claim, for the log: the claims segment decoded and
 * that one member read; nothing verified, nothing else kept (the token is
 * a bearer secret and is never logged).
 */
static char *
token_issuer(const json_t *req)
{
	const char *ott = json_string_value(json_object_get(req, "ott"));
	const char *a, *b, *iss;
	struct buf claims;
	json_t *j;
	char *out = NULL;
	size_t i;

	if (ott == NULL || strlen(ott) > CA_MAX_JWT ||
	    (a = strchr(ott, '.')) == NULL || (b = strchr(a + 1, '.')) == NULL)
		return NULL;
	if (b64url_decode(a + 1, (size_t)(b - a - 1), &claims) != CA_OK) {
		err_clear();
		return NULL;
	}
	j = json_loadb((const char *)claims.data, claims.len,
	    JSON_REJECT_DUPLICATES, NULL);
	buf_free(&claims);
	iss = json_string_value(json_object_get(j, "iss"));
	if (iss != NULL && strlen(iss) <= 256 && (out = strdup(iss)) != NULL)
		for (i = 0; out[i] != '\0'; i++)
			if ((unsigned char)out[i] < 0x20 || out[i] == 0x7f)
				out[i] = '?';
	json_decref(j);
	return out;
}

/* Handlers ------------------------------------------------------------ */

/*
 * Members only ca-serve sets in a handler request: a client's own are
 * dropped before ca-serve adds its own.  The handler socket is a trust
 * boundary: there "peerCertificates" means "this chain verified to the
 * root and the TLS handshake proved possession of the leaf's key",
 * "token" the Authorization header's, "crl" and "rekey" the route's.
 */
static const char *server_members[] = {
	"peerCertificates", "token", "crl", "rekey", NULL
};

/*
 * The request's body as a JSON object; NULL with m (mlen bytes) saying
 * why, in the words of `ca-sign --api` (lib/api.c) for the same body and
 * never quoting it (lib/jsonerr).  A value that does not start with '{'
 * is not an object, unparsed, as lib/apiserve.c frames it.
 */
static json_t *
body_json(const struct http_request *q, char *m, size_t mlen)
{
	json_error_t je;
	json_t *j;
	char why[JSONERR_LEN];
	size_t i;

	for (i = 0; i < q->body_len && (q->body[i] == ' ' ||
	    q->body[i] == '\t' || q->body[i] == '\n' || q->body[i] == '\r'); i++)
		;
	if (i < q->body_len && q->body[i] != '{') {
		snprintf(m, mlen, "malformed JSON: not an object");
		return NULL;
	}
	j = json_loadb((const char *)q->body, q->body_len,
	    JSON_REJECT_DUPLICATES, &je);
	if (j == NULL || !json_is_object(j)) {
		snprintf(m, mlen, "malformed JSON: %s", j != NULL ?
		    "not an object" : jsonerr_text(&je, why, sizeof(why)));
		json_decref(j);
		return NULL;
	}
	return j;
}

/*
 * The JSON object of the request's body without the server's members;
 * NULL with r set to 400 (body_json's reason).
 */
static json_t *
body_object(const struct http_request *q, struct response *r)
{
	json_t *req;
	char m[160], line[200];
	size_t i;

	if ((req = body_json(q, m, sizeof(m))) == NULL) {
		snprintf(line, sizeof(line), "request: %s", m);
		resp_error(r, 400, line);
		return NULL;
	}
	for (i = 0; server_members[i] != NULL; i++)
		json_object_del(req, server_members[i]);
	return req;
}

/*
 * req as one line to the handler of kind, and its answer: 0 with *res
 * (a JSON object, the caller's to decref) and *out (its line, outlen
 * bytes and a NUL, the caller's to free or hand to resp_line).  -1 with
 * r set when there is none to relay: 503 when the handler cannot be
 * reached, 500 when it failed or answered something that is not a JSON
 * object with, if any, an integer "status" of 400-599 (that handler is
 * dropped: the next request gets a new one).
 */
static int
handler_call(struct conn *c, int kind, const json_t *req, json_t **res,
    char **out, size_t *outlen, struct response *r)
{
	struct hop *h = &c->hops[kind];
	const json_t *status;
	char *line, *l;
	size_t len;
	int rc;

	*res = NULL;
	*out = NULL;
	*outlen = 0;
	if ((line = json_dumps(req, JSON_COMPACT)) == NULL) {
		resp_error(r, 500, "out of memory");
		return -1;
	}
	len = strlen(line);
	if ((l = realloc(line, len + 2)) == NULL) {
		io_wipe_str(line);
		resp_error(r, 500, "out of memory");
		return -1;
	}
	line = l;
	line[len++] = '\n';
	line[len] = '\0';
	rc = hop_call(h, line, len, now_ms() + c->o->handler_ms, out, outlen);
	/* The line may hold a token: wiped (jansson's copies are, on free). */
	io_wipe_str(line);
	if (rc == 503) {
		resp_error(r, 503, "handler unavailable");
		return -1;
	}
	if (rc != 0) {
		resp_error(r, 500, "handler failed");
		return -1;
	}
	*res = json_loadb(*out, *outlen, JSON_REJECT_DUPLICATES, NULL);
	status = json_object_get(*res, "status");
	if (!json_is_object(*res) || (json_is_integer(status) &&
	    (json_integer_value(status) < 400 ||
	    json_integer_value(status) > 599))) {
		log_msg("handler: a response that is not a JSON object with an "
		    "error status 400-599 or none");
		json_decref(*res);
		free(*out);
		*res = NULL;
		*out = NULL;
		/* A handler that says nonsense is replaced. */
		hop_close(h);
		resp_error(r, 500, "handler failed");
		return -1;
	}
	return 0;
}

/* The handler's line (out, outlen bytes; taken) as the body, with status. */
static void
resp_line(struct response *r, int status, char *out, size_t outlen)
{
	free(r->body);
	r->ctype = "application/json";
	r->body = out;
	r->body[outlen] = '\n';         /* over the NUL: the line's newline back */
	r->len = outlen + 1;
	r->status = status;
}

/*
 * The handler's answer relayed: its refusal with its status, else its
 * line with ok_status.  out is taken; 1 if it was a success.
 */
static int
resp_answer(struct response *r, const json_t *res, char *out, size_t outlen,
    int ok_status)
{
	const json_t *status = json_object_get(res, "status");

	if (json_is_integer(status)) {
		resp_line(r, (int)json_integer_value(status), out, outlen);
		return 0;
	}
	resp_line(r, ok_status, out, outlen);
	return 1;
}

/*
 * One request to the handler of kind, its answer relayed (ok_status on
 * success); with issued, the new certificate's serial is logged.
 * req is the caller's.
 */
static void
relay(struct conn *c, int kind, const json_t *req, int ok_status,
    int issued, struct response *r)
{
	json_t *res;
	char *out;
	size_t outlen;

	if (handler_call(c, kind, req, &res, &out, &outlen, r) != 0)
		return;
	if (resp_answer(r, res, out, outlen, ok_status) && issued)
		r->serial = issued_serial(res);
	json_decref(res);
}

/*
 * POST /sign: the body goes to the sign handler, with the verified client
 * chain as "peerCertificates"; its answer comes back as the body.
 */
static void
route_sign(struct conn *c, const struct http_request *q, struct response *r)
{
	json_t *req;

	if ((req = body_object(q, r)) == NULL)
		return;
	if (c->peer_chain != NULL)
		json_object_set(req, "peerCertificates", c->peer_chain);
	relay(c, HK_SIGN, req, 201, 1, r);
	if (r->status == 201)
		r->provisioner = token_issuer(req);
	json_decref(req);
}

/*
 * The token of "Authorization: Bearer TOKEN" (RFC 6750 2.1): the scheme
 * in any case, one or more spaces, one b64token of at most CA_MAX_JWT
 * bytes, nothing after it (lib/http has trimmed the value).  0 with *tok
 * and *len (pointing into h); else the status to answer, 401 for another
 * scheme, 400 for a malformed value, with *why.
 */
static int
bearer_token(const char *h, const char **tok, size_t *len, const char **why)
{
	static const char b64token[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789-._~+/";
	size_t n;

	if (strcspn(h, " \t") != 6 || strncasecmp(h, "Bearer", 6) != 0) {
		*why = "Authorization: only the Bearer scheme is accepted "
		    "(a renewal token)";
		return 401;
	}
	h += 6;
	if (*h == '\t') {
		*why = "Authorization: malformed: a space after Bearer, then "
		    "the token";
		return 400;
	}
	while (*h == ' ')
		h++;
	if (*h == '\0') {
		*why = "Authorization: Bearer without a token";
		return 400;
	}
	n = strspn(h, b64token);
	n += strspn(h + n, "=");
	if (h[n] == ' ' || h[n] == '\t' || h[n] == ',') {
		*why = "Authorization: more than one Bearer token";
		return 400;
	}
	if (h[n] != '\0') {
		*why = "Authorization: malformed Bearer token (letters, digits "
		    "and - . _ ~ + / only, = at the end)";
		return 400;
	}
	if (n > CA_MAX_JWT) {
		*why = "Authorization: Bearer token over the size limit";
		return 400;
	}
	*tok = h;
	*len = n;
	return 0;
}

/*
 * POST /renew: the client authenticates with the certificate it renews
 * (mTLS: its verified chain as "peerCertificates") or with a renewal
 * token ("Authorization: Bearer": "token"), or both (the handler then
 * uses the token).  The body is ignored, as step-ca does.
 */
static void
route_renew(struct conn *c, const struct http_request *q, struct response *r)
{
	const char *tok = NULL, *why;
	size_t toklen = 0;
	json_t *req;
	char m[512];
	int st;

	if (q->authorization != NULL &&
	    (st = bearer_token(q->authorization, &tok, &toklen, &why)) != 0)
		return resp_error(r, st, why);
	if (tok == NULL && c->peer_chain == NULL) {
		if (c->peer_problem == NULL)
			return resp_error(r, 401, "no client certificate and no "
			    "renewal token");
		snprintf(m, sizeof(m), "client certificate not accepted: %s; "
		    "an expired certificate is renewed with a renewal token "
		    "(Authorization: Bearer)", c->peer_problem);
		return resp_error(r, 401, m);
	}
	if ((req = json_object()) == NULL)
		return resp_error(r, 500, "out of memory");
	if (c->peer_chain != NULL)
		json_object_set(req, "peerCertificates", c->peer_chain);
	if (tok != NULL)
		json_object_set_new(req, "token", json_stringn(tok, toklen));
	relay(c, HK_RENEW, req, 201, 1, r);
	json_decref(req);
}

/*
 * POST /rekey: {"csr"} with the new key, over mTLS only (the certificate
 * being replaced authenticates); to the renew handler with "rekey": true.
 */
static void
route_rekey(struct conn *c, const struct http_request *q, struct response *r)
{
	json_t *req;
	char m[512];

	if (c->peer_chain == NULL) {
		if (c->peer_problem == NULL)
			return resp_error(r, 401, "rekey needs a client "
			    "certificate: the one being replaced");
		snprintf(m, sizeof(m), "client certificate not accepted: %s; "
		    "rekey needs a valid one", c->peer_problem);
		return resp_error(r, 401, m);
	}
	if ((req = body_object(q, r)) == NULL)
		return;
	json_object_set(req, "peerCertificates", c->peer_chain);
	json_object_set_new(req, "rekey", json_true());
	relay(c, HK_RENEW, req, 201, 1, r);
	json_decref(req);
}

/*
 * The serial a revocation names, for the log: the request's "serial"
 * string, if it is one short run of digits, letters or colons.
 */
static char *
revoked_serial(const json_t *req)
{
	const char *s = json_string_value(json_object_get(req, "serial"));
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > 64 ||
	    strspn(s, "0123456789abcdefABCDEFxX:") != n)
		return NULL;
	return strdup(s);
}

/*
 * POST /revoke: the body ({"serial","ott","reasonCode","reason",
 * "passive"}) to the revoke handler, with the verified client chain as
 * "peerCertificates": a revoke token ("ott") or the certificate itself
 * authenticates.
 */
static void
route_revoke(struct conn *c, const struct http_request *q,
    struct response *r)
{
	json_t *req;
	char m[512];

	if ((req = body_object(q, r)) == NULL)
		return;
	if (c->peer_chain != NULL)
		json_object_set(req, "peerCertificates", c->peer_chain);
	else if (c->peer_problem != NULL &&
	    json_object_get(req, "ott") == NULL) {
		json_decref(req);
		snprintf(m, sizeof(m), "client certificate not accepted: %s; "
		    "revoke with a revoke token (\"ott\") instead",
		    c->peer_problem);
		return resp_error(r, 401, m);
	}
	relay(c, HK_REVOKE, req, 200, 0, r);
	if (r->status == 200) {
		r->serial = revoked_serial(req);
		r->provisioner = token_issuer(req);
	}
	json_decref(req);
}

/* t (Unix time) as an HTTP-date, "Sun, 06 Nov 1994 08:49:37 GMT". */
static int
http_date(int64_t t, char *buf, size_t len)
{
	static const char *wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri",
		"Sat" };
	static const char *mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
		"Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1970)
		return 0;
	snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", wd[tm.tm_wday],
	    tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	return 1;
}

/*
 * GET /crl: the revoke handler's current CRL ({"crl": PEM, "nextUpdate":
 * RFC 3339}), served as DER (application/pkix-crl), or as PEM
 * (application/x-pem-file) with ?pem or ?pem=true; Expires: nextUpdate.
 */
static void
route_crl(struct conn *c, const struct http_request *q, struct response *r)
{
	struct pem_block *b = NULL;
	const unsigned char *p, *body;
	const char *pem_in, *next;
	json_t *req, *res;
	char v[16], date[40], *out;
	size_t outlen, nb = 0, blen;
	int64_t t;
	int pem = 0, tag;

	if (q->query != NULL && query_get(q->query, "pem", v, sizeof(v))) {
		if (v[0] == '\0' || strcmp(v, "true") == 0)
			pem = 1;
		else if (strcmp(v, "false") != 0)
			return resp_error(r, 400, "pem: true, false or no value");
	}
	if ((req = json_pack("{s:b}", "crl", 1)) == NULL)
		return resp_error(r, 500, "out of memory");
	if (handler_call(c, HK_REVOKE, req, &res, &out, &outlen, r) != 0) {
		json_decref(req);
		return;
	}
	json_decref(req);
	if (json_is_integer(json_object_get(res, "status"))) {
		(void)resp_answer(r, res, out, outlen, 200);
		json_decref(res);
		return;
	}
	free(out);
	pem_in = json_string_value(json_object_get(res, "crl"));
	if (pem_in == NULL ||
	    pem_decode((const unsigned char *)pem_in, strlen(pem_in), 1, &b,
	    &nb) != CA_OK || nb != 1 || strcmp(b[0].name, "X509 CRL") != 0 ||
	    (p = b[0].der, !tlv_next(&p, b[0].der + b[0].len, &tag, &body,
	    &blen)) || tag != 0x30 || p != b[0].der + b[0].len) {
		err_clear();
		pem_blocks_free(b, nb);
		json_decref(res);
		log_msg("handler: a CRL response without one PEM CRL");
		hop_close(&c->hops[HK_REVOKE]);
		return resp_error(r, 500, "handler failed");
	}
	free(r->body);
	if (pem) {
		r->body = pem_encode("X509 CRL", b[0].der, b[0].len);
		r->len = r->body != NULL ? strlen(r->body) : 0;
		r->ctype = "application/x-pem-file";
	} else {
		r->body = malloc(b[0].len);
		if (r->body != NULL)
			memcpy(r->body, b[0].der, b[0].len);
		r->len = b[0].len;
		r->ctype = "application/pkix-crl";
	}
	pem_blocks_free(b, nb);
	if (r->body == NULL) {
		json_decref(res);
		return resp_error(r, 500, "out of memory");
	}
	r->status = 200;
	next = json_string_value(json_object_get(res, "nextUpdate"));
	if (next != NULL && time_parse(next, (int64_t)time(NULL), &t) == CA_OK &&
	    http_date(t, date, sizeof(date))) {
		snprintf(r->extra_buf, sizeof(r->extra_buf), "Expires: %s\r\n",
		    date);
		r->extra = r->extra_buf;
	} else
		err_clear();
	json_decref(res);
}

/* ACME (RFC 8555) ------------------------------------------------------ */

#define ACME_ERR "urn:ietf:params:acme:error:"
/* The header lines an ACME answer may add, in bytes at most. */
#define ACME_MAX_HEADERS 2048
/* One header value, in bytes at most (a Location or Link URL). */
#define ACME_MAX_HEADER_VALUE 1024

/* The headers and content types an ACME handler's answer may carry. */
static const char *acme_headers[] = {
	"Location", "Replay-Nonce", "Link", "Retry-After", "Cache-Control", NULL
};
static const char *acme_ctypes[] = {
	"application/json", "application/problem+json",
	"application/pem-certificate-chain", NULL
};

/* An RFC 7807 problem document of type ACME_ERR type, with status. */
static void
acme_problem(struct response *r, int status, const char *type,
    const char *detail)
{
	char t[64];

	snprintf(t, sizeof(t), ACME_ERR "%s", type);
	resp_json(r, status, json_pack("{s:s, s:s, s:i}", "type", t, "detail",
	    detail, "status", status));
	if (r->status == status)
		r->ctype = "application/problem+json";
}

static int
in_names(const char *s, const char **list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/*
 * One header value of an ACME answer appended to *out (len bytes so
 * far) as "name: value\r\n": printable ASCII only (no CR, LF or other
 * control character: nothing injected into the head), at most
 * ACME_MAX_HEADER_VALUE bytes, every line together at most
 * ACME_MAX_HEADERS.  0, or -1 for a value that breaks a rule.
 */
static int
acme_header_add(char *out, size_t *len, const char *name, const json_t *v)
{
	const char *s = json_string_value(v), *c;
	size_t n;

	if (s == NULL || (n = strlen(s)) == 0 || n > ACME_MAX_HEADER_VALUE ||
	    n != json_string_length(v))
		return -1;
	for (c = s; *c != '\0'; c++)
		if (*c < 0x20 || *c > 0x7e)
			return -1;
	if (*len + strlen(name) + n + 4 >= ACME_MAX_HEADERS)
		return -1;
	*len += (size_t)snprintf(out + *len, ACME_MAX_HEADERS - *len,
	    "%s: %s\r\n", name, s);
	return 0;
}

/*
 * The ACME handler's answer res, {"httpStatus", "headers", "contentType",
 * "body"}, into r: httpStatus 200-599, headers from acme_headers (each a
 * string, Link also a list of them), contentType from acme_ctypes (none
 * only with an empty body), body a string; no other member.  0, or -1
 * when it is not that shape (r untouched).
 */
static int
acme_answer(struct response *r, const json_t *res)
{
	const json_t *st = json_object_get(res, "httpStatus");
	const json_t *hd = json_object_get(res, "headers");
	const json_t *ct = json_object_get(res, "contentType");
	const json_t *body = json_object_get(res, "body"), *v, *e;
	static const char *members[] = { "httpStatus", "headers",
		"contentType", "body", NULL };
	const char *k, *ctype = NULL;
	char *lines, *b;
	size_t len = 0, i;

	json_object_foreach((json_t *)res, k, v)
		if (!in_names(k, members))
			return -1;
	if (!json_is_integer(st) || json_integer_value(st) < 200 ||
	    json_integer_value(st) > 599 || !json_is_string(body))
		return -1;
	if (ct != NULL && !json_is_null(ct)) {
		/* The table's string: res is freed before the head is written. */
		for (i = 0; json_is_string(ct) && acme_ctypes[i] != NULL; i++)
			if (strcmp(json_string_value(ct), acme_ctypes[i]) == 0)
				ctype = acme_ctypes[i];
		if (ctype == NULL)
			return -1;
	} else if (json_string_length(body) > 0)
		return -1;
	if (hd != NULL && !json_is_object(hd))
		return -1;
	if ((lines = malloc(ACME_MAX_HEADERS)) == NULL)
		return -1;
	lines[0] = '\0';
	json_object_foreach((json_t *)hd, k, v) {
		if (!in_names(k, acme_headers))
			goto bad;
		if (json_is_array(v) && strcmp(k, "Link") == 0) {
			if (json_array_size(v) == 0)
				goto bad;
			json_array_foreach(v, i, e)
				if (acme_header_add(lines, &len, k, e) != 0)
					goto bad;
		} else if (acme_header_add(lines, &len, k, v) != 0)
			goto bad;
	}
	if ((b = malloc(json_string_length(body) + 1)) == NULL)
		goto bad;
	memcpy(b, json_string_value(body), json_string_length(body) + 1);
	free(r->body);
	r->body = b;
	r->len = json_string_length(body);
	r->status = (int)json_integer_value(st);
	r->ctype = ctype;
	free(r->extra_own);
	r->extra_own = lines;
	r->extra = len > 0 ? lines : NULL;
	return 0;
bad:
	free(lines);
	return -1;
}

/* Is the Content-Type ct (maybe NULL) application/jose+json? */
static int
jose_json(const char *ct)
{
	static const char want[] = "application/jose+json";
	size_t n = sizeof(want) - 1;

	if (ct == NULL || strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/*
 * Every method on /acme/{provisioner}/...: to the acme handler as
 * {"acme": {"method", "path", "host", "body"}} (body: the POST's JWS
 * object, else null; host: the Host header as received, from which the
 * handler rebuilds the URL the JWS must name).  Its answer is relayed
 * when it has the shape acme_answer() checks; ca-serve's own refusals
 * here are problem documents too.  HEAD is answered as GET, without the
 * body (respond()).
 */
static void
route_acme(struct conn *c, const struct http_request *q, struct response *r)
{
	json_t *req, *body = json_null(), *res;
	const json_t *status;
	char *out, m[256];
	size_t outlen;
	int post = strcmp(q->method, "POST") == 0;

	if (!post && strcmp(q->method, "GET") != 0 &&
	    strcmp(q->method, "HEAD") != 0) {
		r->extra = "Allow: GET, HEAD, POST\r\n";
		return acme_problem(r, 405, "malformed", "method not allowed");
	}
	if (q->host == NULL || q->host[0] == '\0')
		return acme_problem(r, 400, "malformed", "no Host header: the "
		    "request's URL is not known");
	if (post) {
		if (!jose_json(q->content_type))
			return acme_problem(r, 415, "malformed", "Content-Type "
			    "must be application/jose+json");
		if ((body = body_json(q, m, sizeof(m))) == NULL)
			return acme_problem(r, 400, "malformed", m);
	}
	req = json_pack("{s:{s:s, s:s, s:s, s:o}}", "acme", "method", q->method,
	    "path", q->path, "host", q->host, "body", body);
	if (req == NULL)
		return acme_problem(r, 500, "serverInternal", "out of memory");
	if (handler_call(c, HK_ACME, req, &res, &out, &outlen, r) != 0) {
		json_decref(req);
		/* ca-serve's 503 or 500, said as a problem. */
		return acme_problem(r, r->status, "serverInternal",
		    r->status == 503 ? "handler unavailable" : "handler failed");
	}
	json_decref(req);
	free(out);
	status = json_object_get(res, "status");
	if (json_is_integer(status)) {
		/* The handler's framing refused it, before any ACME rule. */
		const char *msg = json_string_value(json_object_get(res,
		    "message"));
		int st = (int)json_integer_value(status);

		acme_problem(r, st, st >= 500 ? "serverInternal" : "malformed",
		    msg != NULL ? msg : "refused");
	} else if (acme_answer(r, res) != 0) {
		log_msg("handler acme: an answer that is not {\"httpStatus\", "
		    "\"headers\", \"contentType\", \"body\"} within the rules");
		hop_close(&c->hops[HK_ACME]);
		acme_problem(r, 500, "serverInternal", "handler failed");
	}
	json_decref(res);
}

/* Methods that exist: anything else is 501, these on a wrong route 405. */
static const char *known_methods[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE",
	"CONNECT", NULL
};

static int
known_method(const char *m)
{
	size_t i;

	for (i = 0; known_methods[i] != NULL; i++)
		if (strcmp(m, known_methods[i]) == 0)
			return 1;
	return 0;
}

/* The routes that go to a handler. */
static const struct {
	const char *path;
	int post;               /* POST; else GET and HEAD */
	void (*fn)(struct conn *, const struct http_request *,
	    struct response *);
} handler_routes[] = {
	{ "/sign", 1, route_sign },
	{ "/renew", 1, route_renew },
	{ "/rekey", 1, route_rekey },
	{ "/revoke", 1, route_revoke },
	{ "/crl", 0, route_crl },
};

static void
route(struct conn *c, const struct http_request *q, struct response *r)
{
	const char *p = q->path;
	int get = strcmp(q->method, "GET") == 0 || strcmp(q->method, "HEAD") == 0;
	int post = strcmp(q->method, "POST") == 0;
	size_t i;

	if (!known_method(q->method))
		return resp_error(r, 501, "method not supported");
	/* ACME's own tree, not under /1.0. */
	if (strncmp(p, "/acme/", 6) == 0)
		return route_acme(c, q, r);
	/* Every route also under /1.0. */
	if (strncmp(p, "/1.0/", 5) == 0)
		p += 4;
	for (i = 0; i < sizeof(handler_routes) / sizeof(handler_routes[0]); i++) {
		if (strcmp(p, handler_routes[i].path) != 0)
			continue;
		if (handler_routes[i].post ? !post : !get) {
			r->extra = handler_routes[i].post ? "Allow: POST\r\n" :
			    "Allow: GET, HEAD\r\n";
			return resp_error(r, 405, "method not allowed");
		}
		return handler_routes[i].fn(c, q, r);
	}
	if (strcmp(p, "/health") != 0 && strcmp(p, "/version") != 0 &&
	    strncmp(p, "/root/", 6) != 0 && strcmp(p, "/roots") != 0 &&
	    strcmp(p, "/roots.pem") != 0 && strcmp(p, "/intermediates") != 0 &&
	    strcmp(p, "/intermediates.pem") != 0 &&
	    strcmp(p, "/provisioners") != 0)
		return resp_error(r, 404, "not found");
	if (!get) {
		r->extra = "Allow: GET, HEAD\r\n";
		return resp_error(r, 405, "method not allowed");
	}
	if (strcmp(p, "/health") == 0)
		resp_json(r, 200, json_pack("{s:s}", "status", "ok"));
	else if (strcmp(p, "/version") == 0)
		resp_json(r, 200, json_pack("{s:s, s:b}", "version", INCA_VERSION,
		    "requireClientAuthentication", 0));
	else if (strncmp(p, "/root/", 6) == 0)
		route_root(c, p + 6, r);
	else if (strcmp(p, "/roots") == 0)
		resp_text(r, 200, "application/json", c->st->roots_json);
	else if (strcmp(p, "/roots.pem") == 0)
		resp_text(r, 200, "application/x-pem-file", c->st->root_pem);
	else if (strcmp(p, "/intermediates") == 0)
		resp_text(r, 200, "application/json", c->st->inter_json);
	else if (strcmp(p, "/intermediates.pem") == 0)
		resp_text(r, 200, "application/x-pem-file", c->st->inter_pem);
	else
		route_provisioners(c, q->query, r);
}

/* The connection ------------------------------------------------------ */

/*
 * Write the response whole (head and body in one buffer; no body for
 * HEAD) and log its line.  IO_OK, or why the write failed.
 */
static int
respond(struct conn *c, const char *method, const char *path,
    struct response *r, int keep, int64_t t0)
{
	char head[512 + ACME_MAX_HEADERS];
	int hl, rc = IO_ERR, head_only = method && strcmp(method, "HEAD") == 0;
	char *all;
	json_t *line;

	/*
	 * Every 503, ca-serve's own (no handler reached, or none took the
	 * request in time) or a handler's (the database busy or away), says
	 * when to try again: nothing was done, the same request may be sent.
	 */
	if (r->status == 503 && r->extra == NULL)
		r->extra = "Retry-After: " RETRY_AFTER_S "\r\n";
	hl = http_response_head(head, sizeof(head), r->status, r->ctype, r->len,
	    keep, r->extra);
	if (hl > 0 && (all = malloc((size_t)hl + r->len)) != NULL) {
		memcpy(all, head, (size_t)hl);
		if (!head_only && r->len > 0)
			memcpy(all + hl, r->body, r->len);
		rc = tls_write(c, all, (size_t)hl + (head_only ? 0 : r->len),
		    c->deadline);
		free(all);
	}
	line = json_pack("{s:s, s:s?, s:s?, s:i, s:I, s:f}", "peer", c->peer,
	    "method", method, "path", path, "status", r->status,
	    "bytes", (json_int_t)(head_only ? 0 : r->len),
	    "ms", ms_since(t0));
	if (line != NULL) {
		if (r->serial != NULL)
			json_object_set_new(line, "serial", json_string(r->serial));
		if (r->provisioner != NULL)
			json_object_set_new(line, "provisioner",
			    json_string(r->provisioner));
		if (c->peer_problem != NULL)
			json_object_set_new(line, "clientCertificate",
			    json_sprintf("not accepted: %s", c->peer_problem));
		log_json(line);
		json_decref(line);
	}
	return rc;
}

/*
 * A plain-HTTP request where a TLS ClientHello belongs: answered in plain
 * HTTP, 400 with the reason, and closed (OpenSSL recognised it and sent
 * no alert).
 */
static void
plain_http_refusal(struct conn *c, int64_t t0)
{
	static const char body[] = "{\"status\":400,\"message\":\"this port "
	    "speaks HTTPS: use https://\"}\n";
	char head[256], *all;
	int hl;
	size_t n = sizeof(body) - 1;
	int64_t deadline = min64(now_ms() + 1000, c->deadline);
	json_t *line;

	hl = http_response_head(head, sizeof(head), 400, "application/json", n,
	    0, NULL);
	if (hl > 0 && (all = malloc((size_t)hl + n)) != NULL) {
		size_t off = 0, len = (size_t)hl + n;
		ssize_t w;

		memcpy(all, head, (size_t)hl);
		memcpy(all + hl, body, n);
		while (off < len) {
			w = write(c->wfd, all + off, len - off);
			if (w > 0)
				off += (size_t)w;
			else if (w < 0 && errno == EAGAIN &&
			    wait_io(c->wfd, POLLOUT, deadline, 0) == IO_OK)
				continue;
			else if (!(w < 0 && errno == EINTR))
				break;
		}
		free(all);
	}
	line = json_pack("{s:s, s:n, s:n, s:i, s:i, s:f, s:s}", "peer", c->peer,
	    "method", "path", "status", 400, "bytes", (int)n,
	    "ms", ms_since(t0), "message",
	    "plain HTTP on the TLS port");
	if (line != NULL) {
		log_json(line);
		json_decref(line);
	}
	linger_close(c->rfd, c->wfd, deadline);
}

static int
handshake(struct conn *c, int64_t started)
{
	int64_t deadline = min64(started + c->o->read_ms, c->deadline);
	unsigned long e;
	int r, w;

	for (;;) {
		ERR_clear_error();
		if ((r = SSL_accept(c->ssl)) == 1)
			return CA_OK;
		w = ssl_wait(c, r, deadline, 0);
		if (w == IO_OK)
			continue;
		e = ERR_peek_error();
		if (w == IO_ERR && ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    (ERR_GET_REASON(e) == SSL_R_HTTP_REQUEST ||
		    ERR_GET_REASON(e) == SSL_R_HTTPS_PROXY_REQUEST)) {
			ERR_clear_error();
			plain_http_refusal(c, c->t0);
			return CA_FAIL;
		}
		if (w == IO_ERR && e != 0) {
			const char *why = ERR_reason_error_string(e);
			json_t *line = json_pack("{s:s, s:s}", "peer", c->peer,
			    "message", "TLS handshake failed");

			if (line != NULL) {
				json_object_set_new(line, "reason",
				    json_string(why ? why : "unknown"));
				log_json(line);
				json_decref(line);
			}
		}
		ERR_clear_error();
		/*
		 * The alert must reach the client: what it sent after its
		 * Finished (a TLS 1.3 client's request) is drained, or the
		 * kernel answers it with a reset that can destroy the alert.
		 */
		if (w == IO_ERR)
			linger_close(c->rfd, c->wfd, min64(now_ms() + 500,
			    c->deadline));
		return CA_FAIL;
	}
}

/* Has the head of the request being read arrived, with Expect: 100-continue? */
static int
wants_continue(const struct http_parser *p)
{
	const struct http_request *h = http_head(p);

	return h != NULL && h->expect_continue;
}

/* The requests of one connection, until it should close. */
static void
serve_requests(struct conn *c)
{
	static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
	struct http_parser *p;
	struct response r;
	const struct http_request *q;
	unsigned char in[16384];
	size_t in_off = 0, in_len = 0, used, got;
	int64_t started = 0, deadline, t0;
	int first = 1, begun, sent_continue, rc, keep, st;

	if ((p = malloc(sizeof(*p))) == NULL)
		return;
	http_parser_init(p);
	for (;;) {
		/* A request: its first byte, then all of it, in time. */
		begun = in_off < in_len;
		started = now_ms();
		t0 = now_us();
		sent_continue = 0;
		deadline = min64(started + (first ? c->o->read_ms : c->o->idle_ms),
		    c->deadline);
		for (;;) {
			if (in_off == in_len) {
				/*
				 * Draining, tls_read() ends the wait for a new request
				 * on a kept-alive connection; a connection's first
				 * request is in flight from its handshake on.
				 */
				rc = tls_read(c, in, sizeof(in), &got, deadline,
				    !begun && !first);
				if (rc == IO_TIMEOUT && begun) {
					memset(&r, 0, sizeof(r));
					resp_error(&r, 408, "request not received in time");
					(void)respond(c, NULL, NULL, &r, 0, t0);
					resp_free(&r);
					linger_close(c->rfd, c->wfd,
					    min64(now_ms() + 1000, c->deadline));
					goto out;
				}
				if (rc != IO_OK)
					goto out;
				if (!begun) {
					begun = 1;
					started = now_ms();
					t0 = now_us();
					deadline = min64(started + c->o->read_ms,
					    c->deadline);
				}
				in_off = 0;
				in_len = got;
			}
			st = http_feed(p, in + in_off, in_len - in_off, &used);
			in_off += used;
			if (st == HTTP_DONE)
				break;
			if (st == HTTP_ERROR) {
				const struct http_request *h = http_head(p);

				memset(&r, 0, sizeof(r));
				resp_error(&r, http_error_status(p),
				    http_error_message(p));
				(void)respond(c, h != NULL ? h->method : NULL,
				    h != NULL ? h->path : NULL, &r, 0, t0);
				resp_free(&r);
				linger_close(c->rfd, c->wfd,
				    min64(now_ms() + 1000, c->deadline));
				goto out;
			}
			if (!sent_continue && wants_continue(p)) {
				sent_continue = 1;
				if (tls_write(c, cont, sizeof(cont) - 1, deadline) != IO_OK)
					goto out;
			}
		}
		q = http_request(p);
		memset(&r, 0, sizeof(r));
		route(c, q, &r);
		keep = q->keep_alive && !conn_draining && now_ms() < c->deadline;
		rc = respond(c, q->method, q->path, &r, keep, t0);
		resp_free(&r);
		if (rc != IO_OK || !keep)
			goto out;
		http_next(p);
		first = 0;
	}
out:
	free(p);
}

void
conn_serve(struct serve_state *st, const struct serve_opts *o, int rfd,
    int wfd, const char *peer, struct hop *hops)
{
	struct conn c;
	int64_t started = now_ms();

	memset(&c, 0, sizeof(c));
	c.st = st;
	c.o = o;
	c.rfd = rfd;
	c.wfd = wfd;
	c.peer = peer;
	c.hops = hops;
	c.deadline = started + o->conn_ms;
	c.t0 = now_us();
	set_nonblock(rfd);
	set_nonblock(wfd);
	tls_tune_fd(rfd);
	if (wfd != rfd)
		tls_tune_fd(wfd);
	if ((c.ssl = SSL_new(st->ctx)) == NULL ||
	    SSL_set_rfd(c.ssl, rfd) != 1 || SSL_set_wfd(c.ssl, wfd) != 1) {
		log_msg("TLS: %s", "cannot start a connection");
		SSL_free(c.ssl);
		return;
	}
	if (handshake(&c, started) == CA_OK) {
		c.peer_chain = tls_peer_chain(c.ssl);
		c.peer_problem = tls_peer_problem(c.ssl);
		serve_requests(&c);
		/* close_notify, if it goes out at once; no waiting for the reply. */
		ERR_clear_error();
		(void)SSL_shutdown(c.ssl);
	}
	ERR_clear_error();
	json_decref(c.peer_chain);
	SSL_free(c.ssl);
}
