/*
 * ca-acme-va: the ACME challenge validator (RFC 8555 section 8, RFC 8737,
 * RFC 8738).
 *
 * A coprocess of the ACME handler: one JSON request a line on stdin,
 * one answer line each on stdout, in order (lib/apiserve's stream, one
 * request at a time).  It holds no key and opens no database; started as
 * root it becomes --user before reading its first request.  It talks to
 * the network only to validate, and only to addresses the rules allow
 * (lib/resolve): every address a name resolves to is checked before any
 * connection, at every redirect too, and the connection itself is checked
 * again against the addresses that were (libcurl never resolves a name
 * on its own: it gets the checked addresses, and a socket to any other is
 * refused).
 */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "apiserve.h"
#include "b64.h"
#include "cli.h"
#include "err.h"
#include "resolve.h"
#include "san.h"
#include "timeutil.h"

#define VA_MAX_BODY	8192	/* an http-01 response body */
#define VA_MAX_REDIRECTS 10
#define VA_MAX_TOKEN	256	/* a challenge token's characters */
#define VA_THUMB_LEN	43	/* base64url of a SHA-256 thumbprint */
#define ACME_ERR	"urn:ietf:params:acme:error:"
#define VA_LATE		"the validation ran out of time"

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-acme-va [--resolver HOST:PORT] [--http-port N] [--tls-port N]\n"
"                  [--timeout D] [--allow CIDR] [--deny CIDR] [--user NAME]\n"
"  requests on stdin, one JSON object each:\n"
"    {\"type\":\"http-01\"|\"tls-alpn-01\"|\"dns-01\",\n"
"     \"identifier\":{\"type\":\"dns\"|\"ip\",\"value\":V},\n"
"     \"token\":T,\"keyAuthorization\":KA}\n"
"  one answer line each on stdout: {\"valid\":true} or\n"
"    {\"valid\":false,\"error\":{\"type\":URN,\"detail\":TEXT}}\n"
"  --resolver HOST:PORT the DNS server to ask, an IP address and port\n"
"                       (default: the first nameserver of /etc/resolv.conf)\n"
"  --http-port N        the port of http-01 (default 80)\n"
"  --tls-port N         the port of tls-alpn-01 (default 443)\n"
"  --timeout D          the most one validation may take, its lookups,\n"
"                       connections, redirects and responses together\n"
"                       (default 10s)\n"
"  --allow CIDR         addresses that may be connected to (repeatable)\n"
"  --deny CIDR          addresses that may not (repeatable); the longest\n"
"                       matching block of the two decides; by default\n"
"                       loopback, link-local, cloud metadata, unspecified,\n"
"                       multicast and broadcast are denied\n"
"  --user NAME          started as root, run as NAME (default nobody)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_RESOLVER = 256, O_HTTP_PORT, O_TLS_PORT, O_TIMEOUT, O_ALLOW,
	O_DENY, O_USER, O_VERSION };

static const struct option longopts[] = {
	{ "resolver", required_argument, NULL, O_RESOLVER },
	{ "http-port", required_argument, NULL, O_HTTP_PORT },
	{ "tls-port", required_argument, NULL, O_TLS_PORT },
	{ "timeout", required_argument, NULL, O_TIMEOUT },
	{ "allow", required_argument, NULL, O_ALLOW },
	{ "deny", required_argument, NULL, O_DENY },
	{ "user", required_argument, NULL, O_USER },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

struct va {
	struct resolver res;
	struct addr_rules rules;
	int http_port, tls_port;
	int timeout_ms;
	int64_t deadline;		/* the validation's end (time_mono_ms) */
	SSL_CTX *tls;
};

/* What one request asks. */
struct chal {
	const char *type;		/* "http-01", ... */
	int ip;				/* identifier type ip */
	struct san id;			/* the identifier, normalised */
	const char *token, *ka;
	unsigned char digest[32];	/* SHA-256(ka) */
};

/* The outcome: valid when type is NULL. */
struct verdict {
	const char *type;		/* "connection", "dns", ... */
	char detail[512];
};

__attribute__((format(printf, 3, 4)))
static int
fail(struct verdict *v, const char *type, const char *fmt, ...)
{
	va_list ap;

	/* Through err_vset: control characters of peer data become '?'. */
	va_start(ap, fmt);
	err_vset(CA_REFUSED, fmt, ap);
	va_end(ap);
	v->type = type;
	snprintf(v->detail, sizeof(v->detail), "%s", err_msg());
	return -1;
}

static int
parse_port(const char *name, const char *s)
{
	char *end;
	long p;

	errno = 0;
	p = strtol(s, &end, 10);
	if (s[0] < '1' || s[0] > '9' || *end != '\0' || errno != 0 || p > 65535)
		die(CA_USAGE, "%s: a port from 1 to 65535", name);
	return (int)p;
}

/* ---- addresses ---- */

/*
 * The addresses of the identifier (an IP identifier: itself), every one
 * allowed by the rules; else the verdict says why and nothing is
 * connected to.
 */
static int
target_addrs(const struct va *va, const char *host, struct resolve_addr *out,
    size_t *n, struct verdict *v)
{
	char text[INET6_ADDRSTRLEN];
	size_t i;
	int rc;

	if (resolve_addr_parse(host, &out[0]) == CA_OK)
		*n = 1;
	else {
		rc = resolve_addrs(&va->res, host, out, RESOLVE_MAX_ADDRS, n);
		if (rc != CA_OK)
			return fail(v, "dns", "%s", err_msg());
		if (*n == 0)
			return fail(v, "dns", "%s has no A or AAAA record", host);
	}
	for (i = 0; i < *n; i++)
		if (!addr_allowed(&va->rules, &out[i]))
			return fail(v, "connection", "address %s of %s not allowed",
			    resolve_addr_text(&out[i], text, sizeof(text)), host);
	return 0;
}

/* ---- http-01 ---- */

struct hop {
	const struct va *va;
	struct resolve_addr addrs[RESOLVE_MAX_ADDRS];
	size_t naddrs;
	int refused;			/* curl tried another address */
	char body[VA_MAX_BODY + 1];
	size_t len;
	int oversize;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct hop *h = arg;
	size_t n = size * nmemb;

	if (n > VA_MAX_BODY - h->len) {
		h->oversize = 1;
		return 0;
	}
	memcpy(h->body + h->len, p, n);
	h->len += n;
	return n;
}

/* A socket only to an address that was checked for this hop. */
static curl_socket_t
on_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *sa)
{
	struct hop *h = arg;
	struct resolve_addr a;
	size_t i;

	if (resolve_addr_from_sa(&sa->addr, &a) == CA_OK &&
	    addr_allowed(&h->va->rules, &a))
		for (i = 0; i < h->naddrs; i++)
			if (h->addrs[i].family == a.family &&
			    memcmp(h->addrs[i].a, a.a, a.family == AF_INET ? 4 :
			    16) == 0)
				return socket(sa->family, sa->socktype | SOCK_CLOEXEC,
				    sa->protocol);
	h->refused = 1;
	return CURL_SOCKET_BAD;
}

/*
 * One GET of url on host (a name or an address, without brackets) and
 * port; *status and h->body; *next the redirect's target (curl_free) if
 * any.  0, or -1 with the verdict.
 */
static int
http_get(const struct va *va, const char *url, const char *host, int port,
    const char *hosthdr, struct hop *h, long *status, char **next,
    struct verdict *v)
{
	char pin[RESOLVE_MAX_ADDRS * (INET6_ADDRSTRLEN + 3) + 300], text[64];
	struct curl_slist *resolve = NULL, *hdrs = NULL;
	char hdr[320], *loc = NULL;
	struct resolve_addr lit;
	CURL *c;
	CURLcode cc;
	size_t i, o;
	int64_t left;
	int ret = -1;

	*next = NULL;
	memset(h, 0, sizeof(*h));
	h->va = va;
	if (target_addrs(va, host, h->addrs, &h->naddrs, v) != 0)
		return -1;
	if ((left = va->deadline - time_mono_ms()) <= 0)
		return fail(v, "connection", "%s: %s", url, VA_LATE);
	if ((c = curl_easy_init()) == NULL)
		return fail(v, "connection", "libcurl: cannot start a request");
	/*
	 * The checked addresses are the only ones curl knows a name by.  An
	 * address is not looked up (and cannot be pinned: curl reads no
	 * IPv6 host in CURLOPT_RESOLVE); the socket callback holds it to the
	 * checked one.
	 */
	if (resolve_addr_parse(host, &lit) != CA_OK) {
		o = (size_t)snprintf(pin, sizeof(pin), "%s:%d:", host, port);
		for (i = 0; i < h->naddrs && o < sizeof(pin); i++)
			o += (size_t)snprintf(pin + o, sizeof(pin) - o,
			    h->addrs[i].family == AF_INET6 ? "%s[%s]" : "%s%s",
			    i ? "," : "", resolve_addr_text(&h->addrs[i], text,
			    sizeof(text)));
		if ((resolve = curl_slist_append(NULL, pin)) == NULL)
			goto oom;
	}
	if (hosthdr != NULL) {
		snprintf(hdr, sizeof(hdr), "Host: %s", hosthdr);
		if ((hdrs = curl_slist_append(NULL, hdr)) == NULL)
			goto oom;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_RESOLVE, resolve);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_socket);
	curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, h);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)left);
	/* An https redirect target is not the CA's to trust (RFC 8555 8.3). */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "inca-acme-va");
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, NULL);
	if (hdrs != NULL)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(c);
	if (h->oversize) {
		fail(v, "incorrectResponse", "%s: the body is over %d bytes", url,
		    VA_MAX_BODY);
		goto out;
	}
	if (h->refused && cc != CURLE_OK) {
		fail(v, "connection", "%s: a connection to an unchecked address "
		    "refused", url);
		goto out;
	}
	if (cc != CURLE_OK) {
		fail(v, "connection", "%s: %s", url, curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	if (curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc) == CURLE_OK &&
	    loc != NULL && (*next = strdup(loc)) == NULL)
		goto oom;
	h->body[h->len] = '\0';
	ret = 0;
	goto out;
oom:
	fail(v, "connection", "out of memory");
out:
	curl_slist_free_all(resolve);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	return ret;
}

/*
 * A redirect's target: http or https, on a port of the challenge (80,
 * 443, or the configured ones), a host that is a DNS name or an address
 * (no zone).  Its host into host (brackets removed) and port, the URL
 * with that host into out.
 */
static int
redirect_target(const struct va *va, const char *url, char *out,
    size_t urllen, char *host, size_t hostlen, int *port, struct verdict *v)
{
	CURLU *u;
	char *scheme = NULL, *h = NULL, *p = NULL, *zone = NULL, *full = NULL;
	char *user = NULL, *pass = NULL, *opts = NULL;
	char hbuf[300];
	struct san s;
	size_t l;
	int ret = -1;

	if ((u = curl_url()) == NULL)
		return fail(v, "connection", "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK) {
		fail(v, "connection", "a redirect to a bad URL: %.200s", url);
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		fail(v, "connection", "a redirect to %.20s: only http and https",
		    scheme);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK) {
		fail(v, "connection", "a redirect to a bad URL: %.200s", url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
		fail(v, "connection", "a redirect to an address with a zone");
		goto out;
	}
	/*
	 * No userinfo: nothing the challenge's server names is sent on as
	 * credentials, and "http://ok.test:80@other.test/" is not read as
	 * one host by one reader and another by the next.
	 */
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_OPTIONS, &opts, 0) == CURLUE_OK) {
		fail(v, "connection", "a redirect to a URL with userinfo");
		goto out;
	}
	*port = strcmp(scheme, "http") == 0 ? 80 : 443;
	if (curl_url_get(u, CURLUPART_PORT, &p, 0) == CURLUE_OK)
		*port = atoi(p);
	if (*port != 80 && *port != 443 && *port != va->http_port &&
	    *port != va->tls_port) {
		fail(v, "connection", "a redirect to port %d: only 80 and 443",
		    *port);
		goto out;
	}
	l = strlen(h);
	if (h[0] == '[' && l > 2 && h[l - 1] == ']') {
		memmove(h, h + 1, l - 2);
		h[l - 2] = '\0';
	}
	if (strlen(h) >= hostlen) {
		fail(v, "connection", "a redirect to an over-long host");
		goto out;
	}
	/* A name must be one a certificate could hold (no wildcard). */
	memset(&s, 0, sizeof(s));
	if (san_parse_as(h, SAN_IP, &s) != CA_OK &&
	    (san_parse_as(h, SAN_DNS, &s) != CA_OK || s.value[0] == '*')) {
		free(s.value);
		fail(v, "connection", "a redirect to a bad host: %.200s", h);
		goto out;
	}
	snprintf(host, hostlen, "%s", s.value);
	/*
	 * The URL spells the host as it was checked and pinned ("OK.Test."
	 * is "ok.test"), so that curl finds the pinned addresses under it
	 * and has no name of its own to resolve.
	 */
	snprintf(hbuf, sizeof(hbuf), s.iplen == 16 ? "[%s]" : "%s", s.value);
	free(s.value);
	if (curl_url_set(u, CURLUPART_HOST, hbuf, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK ||
	    strlen(full) >= urllen) {
		fail(v, "connection", "a redirect to a bad URL: %.200s", url);
		goto out;
	}
	snprintf(out, urllen, "%s", full);
	ret = 0;
out:
	curl_free(full);
	curl_free(scheme);
	curl_free(h);
	curl_free(p);
	curl_free(zone);
	curl_free(user);
	curl_free(pass);
	curl_free(opts);
	curl_url_cleanup(u);
	return ret;
}

static int
http01(const struct va *va, const struct chal *ch, struct verdict *v)
{
	struct hop *h;
	char url[1024], host[300], hostv[300], *next = NULL;
	const char *hosthdr;
	long status = 0;
	size_t n;
	int port = va->http_port, redirects = 0, ret = -1;

	if ((h = malloc(sizeof(*h))) == NULL)
		return fail(v, "connection", "out of memory");
	snprintf(host, sizeof(host), "%s", ch->id.value);
	snprintf(url, sizeof(url), ch->id.iplen == 16 ?
	    "http://[%s]:%d/.well-known/acme-challenge/%s" :
	    "http://%s:%d/.well-known/acme-challenge/%s", host, port, ch->token);
	/*
	 * Host: the identifier as it is, without the port (RFC 8555 8.3);
	 * an IPv6 address in brackets, as HTTP spells it (RFC 8738 3).
	 */
	snprintf(hostv, sizeof(hostv), ch->id.iplen == 16 ? "[%s]" : "%s",
	    ch->id.value);
	hosthdr = hostv;
	for (;;) {
		if (http_get(va, url, host, port, hosthdr, h, &status, &next, v) != 0)
			goto out;
		if (status == 301 || status == 302 || status == 303 ||
		    status == 307 || status == 308) {
			if (next == NULL) {
				fail(v, "connection", "%s: a redirect without a "
				    "Location", url);
				goto out;
			}
			if (++redirects > VA_MAX_REDIRECTS) {
				fail(v, "connection", "more than %d redirects",
				    VA_MAX_REDIRECTS);
				goto out;
			}
			if (strlen(next) >= sizeof(url)) {
				fail(v, "connection", "a redirect to an over-long URL");
				goto out;
			}
			if (redirect_target(va, next, url, sizeof(url), host,
			    sizeof(host), &port, v) != 0)
				goto out;
			free(next);
			next = NULL;
			hosthdr = NULL;
			continue;
		}
		break;
	}
	if (status != 200) {
		fail(v, "unauthorized", "%s: HTTP status %ld", url, status);
		goto out;
	}
	/*
	 * Trailing whitespace is allowed after the key authorization: space,
	 * tab, CR and LF, nothing else (not a NUL, which strchr would find
	 * in any string).
	 */
	for (n = h->len; n > 0 && (h->body[n - 1] == ' ' ||
	    h->body[n - 1] == '\t' || h->body[n - 1] == '\r' ||
	    h->body[n - 1] == '\n'); n--)
		;
	if (n != strlen(ch->ka) || CRYPTO_memcmp(h->body, ch->ka, n) != 0) {
		fail(v, "incorrectResponse", "%s: the body is not the key "
		    "authorization", url);
		goto out;
	}
	ret = 0;
out:
	free(next);
	OPENSSL_cleanse(h, sizeof(*h));
	free(h);
	return ret;
}

/* ---- tls-alpn-01 ---- */

/* Wait for ev on fd until deadline: 1 ready, 0 timed out. */
static int
wait_io(int fd, short ev, int64_t deadline)
{
	struct pollfd p;
	int64_t left;
	int n;

	for (;;) {
		if ((left = deadline - time_mono_ms()) <= 0)
			return 0;
		p.fd = fd;
		p.events = ev;
		n = poll(&p, 1, (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return 1;	/* the next call says what is wrong */
	}
}

/* A non-blocking TCP connection to a:port; -1 with the verdict. */
static int
connect_to(const struct resolve_addr *a, int port, int64_t deadline,
    struct verdict *v)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char text[INET6_ADDRSTRLEN];
	int fd, err = 0;
	socklen_t el = sizeof(err);

	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, a->a, 4);
		len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		memcpy(&in6->sin6_addr, a->a, 16);
		len = sizeof(*in6);
	}
	resolve_addr_text(a, text, sizeof(text));
	if ((fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0)) < 0)
		return fail(v, "connection", "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS)
		err = errno;
	else if (!wait_io(fd, POLLOUT, deadline))
		err = ETIMEDOUT;
	else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0)
		err = errno;
	if (err != 0) {
		close(fd);
		return fail(v, "connection", "%s port %d: %s", text, port,
		    strerror(err));
	}
	return fd;
}

/* The reverse name of an address (RFC 8738 section 6) into buf. */
static void
reverse_name(const struct san *id, char *buf, size_t len)
{
	size_t o = 0, i;
	static const char hex[] = "0123456789abcdef";

	if (id->iplen == 4) {
		snprintf(buf, len, "%u.%u.%u.%u.in-addr.arpa", id->ip[3],
		    id->ip[2], id->ip[1], id->ip[0]);
		return;
	}
	for (i = 16; i-- > 0 && o + 4 < len;) {
		buf[o++] = hex[id->ip[i] & 0xf];
		buf[o++] = '.';
		buf[o++] = hex[id->ip[i] >> 4];
		buf[o++] = '.';
	}
	snprintf(buf + o, len - o, "ip6.arpa");
}

/*
 * The certificate of RFC 8737 section 3: one SAN, the identifier; the
 * critical id-pe-acmeIdentifier holding the DER OCTET STRING of
 * SHA-256(keyAuthorization), once.
 */
static int
check_alpn_cert(X509 *crt, const struct chal *ch, struct verdict *v)
{
	ASN1_OBJECT *oid;
	X509_EXTENSION *ext;
	const ASN1_OCTET_STRING *val;
	GENERAL_NAMES *gens;
	const GENERAL_NAME *g;
	const unsigned char *d;
	int idx, crit, ok;

	if (X509_get_ext_by_NID(crt, NID_subject_alt_name, -1) < 0 ||
	    X509_get_ext_by_NID(crt, NID_subject_alt_name,
	    X509_get_ext_by_NID(crt, NID_subject_alt_name, -1)) >= 0)
		return fail(v, "incorrectResponse", "the certificate must have "
		    "one subjectAltName extension");
	gens = X509_get_ext_d2i(crt, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL || sk_GENERAL_NAME_num(gens) != 1) {
		GENERAL_NAMES_free(gens);
		return fail(v, "incorrectResponse", "the certificate must name "
		    "%s alone", ch->id.value);
	}
	g = sk_GENERAL_NAME_value(gens, 0);
	if (ch->ip)
		ok = g->type == GEN_IPADD &&
		    (size_t)ASN1_STRING_length(g->d.iPAddress) == ch->id.iplen &&
		    memcmp(ASN1_STRING_get0_data(g->d.iPAddress), ch->id.ip,
		    ch->id.iplen) == 0;
	else
		ok = g->type == GEN_DNS &&
		    (size_t)ASN1_STRING_length(g->d.dNSName) ==
		    strlen(ch->id.value) &&
		    strncasecmp((const char *)ASN1_STRING_get0_data(g->d.dNSName),
		    ch->id.value, strlen(ch->id.value)) == 0;
	GENERAL_NAMES_free(gens);
	if (!ok)
		return fail(v, "incorrectResponse", "the certificate's name is "
		    "not %s", ch->id.value);

	if ((oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1)) == NULL)
		return fail(v, "tls", "out of memory");
	idx = X509_get_ext_by_OBJ(crt, oid, -1);
	ok = idx < 0 ? 0 : X509_get_ext_by_OBJ(crt, oid, idx) < 0 ? 1 : 2;
	ASN1_OBJECT_free(oid);
	if (ok == 0)
		return fail(v, "incorrectResponse", "the certificate has no "
		    "acmeIdentifier extension");
	if (ok == 2)
		return fail(v, "incorrectResponse", "the certificate has two "
		    "acmeIdentifier extensions");
	ext = X509_get_ext(crt, idx);
	if (!X509_EXTENSION_get_critical(ext))
		return fail(v, "incorrectResponse", "the acmeIdentifier extension "
		    "is not critical");
	val = X509_EXTENSION_get_data(ext);
	d = ASN1_STRING_get0_data(val);
	/* DER: OCTET STRING (04), length 32, the digest; nothing more. */
	if (ASN1_STRING_length(val) != 34 || d[0] != 0x04 || d[1] != 32)
		return fail(v, "incorrectResponse", "the acmeIdentifier extension "
		    "is not a SHA-256 digest");
	if (CRYPTO_memcmp(d + 2, ch->digest, 32) != 0)
		return fail(v, "incorrectResponse", "the acmeIdentifier digest is "
		    "not the key authorization's");
	return 0;
}

/* One TLS handshake with a; 0 valid, -1 with the verdict. */
static int
alpn_one(const struct va *va, const struct chal *ch,
    const struct resolve_addr *a, struct verdict *v)
{
	char sni[80], text[INET6_ADDRSTRLEN];
	const unsigned char *proto;
	unsigned plen;
	int64_t deadline = va->deadline;
	SSL *ssl = NULL;
	X509 *crt = NULL;
	int fd, r, e, ret = -1;

	if ((fd = connect_to(a, va->tls_port, deadline, v)) < 0)
		return -1;
	resolve_addr_text(a, text, sizeof(text));
	if (ch->ip)
		reverse_name(&ch->id, sni, sizeof(sni));
	else
		snprintf(sni, sizeof(sni), "%s", ch->id.value);
	if ((ssl = SSL_new(va->tls)) == NULL || !SSL_set_fd(ssl, fd) ||
	    !SSL_set_tlsext_host_name(ssl, sni)) {
		fail(v, "tls", "TLS: out of memory");
		goto out;
	}
	for (;;) {
		ERR_clear_error();
		if ((r = SSL_connect(ssl)) == 1)
			break;
		e = SSL_get_error(ssl, r);
		if ((e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) &&
		    wait_io(fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT,
		    deadline))
			continue;
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			fail(v, "connection", "%s port %d: the TLS handshake timed "
			    "out", text, va->tls_port);
			goto out;
		}
		err_ssl(CA_REFUSED, "%s port %d: the TLS handshake failed", text,
		    va->tls_port);
		fail(v, "tls", "%s", err_msg());
		goto out;
	}
	SSL_get0_alpn_selected(ssl, &proto, &plen);
	if (plen != 10 || memcmp(proto, "acme-tls/1", 10) != 0) {
		fail(v, "tls", "%s port %d: the server did not choose the "
		    "acme-tls/1 protocol", text, va->tls_port);
		goto out;
	}
	if ((crt = SSL_get1_peer_certificate(ssl)) == NULL) {
		fail(v, "tls", "%s port %d: no certificate", text, va->tls_port);
		goto out;
	}
	ret = check_alpn_cert(crt, ch, v);
out:
	X509_free(crt);
	SSL_free(ssl);
	close(fd);
	return ret;
}

/*
 * Each allowed address in turn until one answers, while the validation
 * has time left: the first one's failure to connect is the verdict when
 * it used all of it.
 */
static int
tlsalpn01(const struct va *va, const struct chal *ch, struct verdict *v)
{
	struct resolve_addr addrs[RESOLVE_MAX_ADDRS];
	size_t n, i;

	if (target_addrs(va, ch->id.value, addrs, &n, v) != 0)
		return -1;
	for (i = 0; i < n && (i == 0 || time_mono_ms() < va->deadline); i++) {
		if (alpn_one(va, ch, &addrs[i], v) == 0)
			return 0;
		if (strcmp(v->type, "connection") != 0)
			return -1;	/* it answered: that is the verdict */
	}
	return -1;
}

/* ---- dns-01 ---- */

static int
dns01(const struct va *va, const struct chal *ch, struct verdict *v)
{
	char name[300], *want, **txt;
	size_t n, i;
	int rc, ok = 0;

	if (ch->ip)
		return fail(v, "malformed", "dns-01 does not validate an IP "
		    "address (RFC 8738)");
	snprintf(name, sizeof(name), "_acme-challenge.%s", ch->id.value);
	if ((want = b64url_encode(ch->digest, sizeof(ch->digest))) == NULL)
		return fail(v, "dns", "out of memory");
	rc = resolve_txt(&va->res, name, &txt, &n);
	if (rc != CA_OK) {
		free(want);
		return fail(v, "dns", "%s", err_msg());
	}
	for (i = 0; i < n; i++)
		if (strcmp(txt[i], want) == 0)
			ok = 1;
	resolve_txt_free(txt, n);
	free(want);
	if (ok)
		return 0;
	if (n == 0)
		return fail(v, "dns", "%s has no TXT record", name);
	return fail(v, "incorrectResponse", "no TXT record of %s is the key "
	    "authorization's digest", name);
}

/* ---- requests ---- */

static int
b64url_chars(const char *s)
{
	return s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789-_")] == '\0';
}

/* Only these members, each present. */
static int
members_exactly(const json_t *o, const char *const *names, size_t n)
{
	size_t i;

	if (!json_is_object(o) || json_object_size(o) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (json_object_get(o, names[i]) == NULL)
			return 0;
	return 1;
}

/* The request into ch; -1 with a malformed verdict. */
static int
parse_request(const json_t *req, struct chal *ch, struct verdict *v)
{
	static const char *const top[] = { "type", "identifier", "token",
	    "keyAuthorization" };
	static const char *const idm[] = { "type", "value" };
	const json_t *id;
	const char *itype, *ivalue;
	size_t tl;

	if (!members_exactly(req, top, 4))
		return fail(v, "malformed", "a request has exactly type, "
		    "identifier, token and keyAuthorization");
	id = json_object_get(req, "identifier");
	if (!members_exactly(id, idm, 2))
		return fail(v, "malformed", "an identifier has exactly type and "
		    "value");
	ch->type = json_string_value(json_object_get(req, "type"));
	itype = json_string_value(json_object_get(id, "type"));
	ivalue = json_string_value(json_object_get(id, "value"));
	ch->token = json_string_value(json_object_get(req, "token"));
	ch->ka = json_string_value(json_object_get(req, "keyAuthorization"));
	if (ch->type == NULL || itype == NULL || ivalue == NULL ||
	    ch->token == NULL || ch->ka == NULL)
		return fail(v, "malformed", "type, identifier type and value, "
		    "token and keyAuthorization are strings");
	if (strcmp(ch->type, "http-01") != 0 &&
	    strcmp(ch->type, "tls-alpn-01") != 0 &&
	    strcmp(ch->type, "dns-01") != 0)
		return fail(v, "malformed", "unknown challenge type %.40s", ch->type);
	tl = strlen(ch->token);
	/* The token goes into a URL path: base64url only (RFC 8555 8.1). */
	if (tl == 0 || tl > VA_MAX_TOKEN || !b64url_chars(ch->token))
		return fail(v, "malformed", "the token is not base64url");
	if (strlen(ch->ka) != tl + 1 + VA_THUMB_LEN ||
	    strncmp(ch->ka, ch->token, tl) != 0 || ch->ka[tl] != '.' ||
	    !b64url_chars(ch->ka + tl + 1))
		return fail(v, "malformed", "the key authorization is not the "
		    "token, a dot and a thumbprint");
	if (strcmp(itype, "ip") == 0) {
		ch->ip = 1;
		if (san_parse_as(ivalue, SAN_IP, &ch->id) != CA_OK)
			return fail(v, "malformed", "%s", err_msg());
	} else if (strcmp(itype, "dns") == 0) {
		if (san_parse_as(ivalue, SAN_DNS, &ch->id) != CA_OK)
			return fail(v, "malformed", "%s", err_msg());
		if (ch->id.value[0] == '*')
			return fail(v, "malformed", "a wildcard is validated as "
			    "its base name");
	} else
		return fail(v, "malformed", "unknown identifier type %.40s",
		    itype);
	if (EVP_Digest(ch->ka, strlen(ch->ka), ch->digest, NULL, EVP_sha256(),
	    NULL) != 1)
		return fail(v, "malformed", "SHA-256 failed");
	return 0;
}

/*
 * One request.  Its validation has --timeout in all: every lookup,
 * connection, redirect and response ends by va->deadline.
 */
static void
validate(struct va *va, const json_t *req, struct verdict *v)
{
	struct chal ch;

	memset(&ch, 0, sizeof(ch));
	memset(v, 0, sizeof(*v));
	if (parse_request(req, &ch, v) != 0)
		goto out;
	va->deadline = time_mono_ms() + va->timeout_ms;
	va->res.deadline = va->deadline;
	if (strcmp(ch.type, "http-01") == 0)
		(void)http01(va, &ch, v);
	else if (strcmp(ch.type, "tls-alpn-01") == 0)
		(void)tlsalpn01(va, &ch, v);
	else
		(void)dns01(va, &ch, v);
out:
	free(ch.id.value);
	OPENSSL_cleanse(ch.digest, sizeof(ch.digest));
}

static void
va_batch(void *ctx, struct api_call *calls, size_t n)
{
	struct va *va = ctx;
	struct verdict v;
	json_t *ans;
	char type[64];
	size_t i;

	for (i = 0; i < n; i++) {
		validate(va, calls[i].req, &v);
		if (v.type == NULL)
			ans = json_pack("{s:b}", "valid", 1);
		else {
			snprintf(type, sizeof(type), ACME_ERR "%s", v.type);
			ans = json_pack("{s:b,s:{s:s,s:s}}", "valid", 0, "error",
			    "type", type, "detail", v.detail);
		}
		if (ans == NULL) {
			err_set(CA_FAIL, "out of memory");
			api_call_fail(&calls[i], 500, CA_FAIL);
			continue;
		}
		api_call_ok(&calls[i], ans);
		json_decref(ans);
	}
}

/* Started as root: become user, for good, before any request. */
static void
drop_privileges(const char *user)
{
	struct passwd *pw;

	if (geteuid() != 0 && getuid() != 0)
		return;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL)
		die(CA_FAIL, "--user %s: no such user", user);
	if (pw->pw_uid == 0)
		die(CA_FAIL, "--user %s: the validator does not run as root", user);
	if (setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
	    setuid(pw->pw_uid) != 0)
		die(CA_FAIL, "cannot become %s: %s", user, strerror(errno));
	if (setuid(0) == 0)
		die(CA_FAIL, "still root after becoming %s", user);
}

int
main(int argc, char **argv)
{
	const char *resolver = NULL, *http_port = NULL, *tls_port = NULL;
	const char *timeout = NULL, *user = NULL;
	struct api_server s;
	struct va va;
	int64_t secs = 10;
	int ch, rc;

	cli_init(argv[0]);
	memset(&va, 0, sizeof(va));
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_RESOLVER: cli_once("--resolver", &resolver, optarg); break;
		case O_HTTP_PORT: cli_once("--http-port", &http_port, optarg); break;
		case O_TLS_PORT: cli_once("--tls-port", &tls_port, optarg); break;
		case O_TIMEOUT: cli_once("--timeout", &timeout, optarg); break;
		case O_USER: cli_once("--user", &user, optarg); break;
		case O_ALLOW:
		case O_DENY:
			if (addr_rules_add(&va.rules, optarg, ch == O_ALLOW) != CA_OK)
				die_last();
			break;
		case 'h': usage(0); break;
		case O_VERSION: cli_version(); break;
		default: cli_badopt(ch, argv);
		}
	}
	if (optind != argc)
		usage(CA_USAGE);
	va.http_port = http_port ? parse_port("--http-port", http_port) : 80;
	va.tls_port = tls_port ? parse_port("--tls-port", tls_port) : 443;
	if (timeout != NULL && (time_parse_duration(timeout, &secs) != CA_OK ||
	    secs < 1 || secs > 300))
		die(CA_USAGE, "--timeout: a duration from 1s to 5m, such as 10s");
	va.timeout_ms = (int)secs * 1000;
	if (resolve_init(&va.res, resolver, va.timeout_ms) != CA_OK)
		die_last();

	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die(CA_FAIL, "libcurl does not start");
	if ((va.tls = SSL_CTX_new(TLS_client_method())) == NULL ||
	    !SSL_CTX_set_min_proto_version(va.tls, TLS1_2_VERSION) ||
	    SSL_CTX_set_alpn_protos(va.tls, (const unsigned char *)
	    "\x0a" "acme-tls/1", 11) != 0)
		die(CA_FAIL, "TLS: cannot set up the client");
	/* Self-signed by design (RFC 8737): the content is what is checked. */
	SSL_CTX_set_verify(va.tls, SSL_VERIFY_NONE, NULL);

	drop_privileges(user ? user : "nobody");

	memset(&s, 0, sizeof(s));
	s.handler = va_batch;
	s.ctx = &va;
	s.max_batch = 1;
	rc = api_serve_stream(&s, 0, 1);
	SSL_CTX_free(va.tls);
	addr_rules_free(&va.rules);
	curl_global_cleanup();
	return rc;
}
