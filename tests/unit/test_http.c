/*
 * http: every rule of the request parser at its boundary, the accepted
 * form and its nearest refused variant with its status and message; each
 * input is parsed in one call and again one byte per call, and both must
 * agree.  Then pipelining, the body split across calls, the response head
 * writer and the reason phrases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca_limits.h"
#include "http.h"
#include "tap.h"

static struct http_parser P, Q;
static char big[CA_MAX_HTTP_HEAD + CA_MAX_JSON + 4096];

/* Both parsers reached the same outcome with the same fields. */
static int
same(const struct http_parser *a, int ra, size_t ua, const struct http_parser *b,
    int rb, size_t ub)
{
	const struct http_request *x = http_request(a), *y = http_request(b);

#define SAMESTR(f) ((x->f == NULL) == (y->f == NULL) && \
	    (x->f == NULL || strcmp(x->f, y->f) == 0))
	/* On an error the bytes taken mean nothing: the connection is done. */
	if (ra != rb || (ra != HTTP_ERROR && ua != ub) ||
	    http_error_status(a) != http_error_status(b) ||
	    strcmp(http_error_message(a), http_error_message(b)) != 0)
		return 0;
	if (ra != HTTP_DONE)
		return 1;
	return strcmp(x->method, y->method) == 0 && SAMESTR(target) &&
	    SAMESTR(path) && SAMESTR(query) && x->minor == y->minor &&
	    x->keep_alive == y->keep_alive &&
	    x->expect_continue == y->expect_continue &&
	    SAMESTR(authorization) && SAMESTR(content_type) && SAMESTR(host) &&
	    x->content_length == y->content_length &&
	    x->has_length == y->has_length && x->body_len == y->body_len &&
	    x->nheaders == y->nheaders &&
	    memcmp(x->body, y->body, x->body_len) == 0;
#undef SAMESTR
}

/*
 * Parse s in one call into P, and one byte per call into Q; they must
 * agree.  Returns P's outcome, *used its bytes taken.
 */
static int
parse_n(const char *s, size_t n, size_t *used)
{
	size_t i, u, uq = 0;
	int rp, rq = HTTP_MORE;

	http_parser_init(&P);
	http_parser_init(&Q);
	rp = http_feed(&P, (const unsigned char *)s, n, used);
	for (i = 0; i < n && rq == HTTP_MORE; i++) {
		rq = http_feed(&Q, (const unsigned char *)s + i, 1, &u);
		uq += u;
	}
	if (!same(&P, rp, *used, &Q, rq, uq))
		printf("#   one-byte feeding differs: %d/%zu vs %d/%zu (%s)\n",
		    rp, *used, rq, uq, http_error_message(&Q));
	ok(same(&P, rp, *used, &Q, rq, uq), "  ... same when fed one byte at a time");
	return rp;
}

static const struct http_request *
good(const char *s, const char *what)
{
	static const struct http_request none = { .method = "" };
	size_t used, n = strlen(s);
	int rc = parse_n(s, n, &used);

	is_int(rc, HTTP_DONE, "ok %s", what);
	if (rc == HTTP_ERROR)
		printf("#   %d %s\n", http_error_status(&P), http_error_message(&P));
	is_int(used, n, "  ... takes every byte");
	return http_request(&P) ? http_request(&P) : &none;
}

static void
bad_n(const char *s, size_t n, int status, const char *why, const char *what)
{
	size_t used;

	is_int(parse_n(s, n, &used), HTTP_ERROR, "fail %s", what);
	is_int(http_error_status(&P), status, "  ... status %d", status);
	is_str(http_error_message(&P), why, "  ... says why");
}

static void
bad(const char *s, int status, const char *why, const char *what)
{
	bad_n(s, strlen(s), status, why, what);
}

/* A GET whose head is exactly n bytes, padded by an X-Fill header. */
static size_t
head_of(size_t n, const char *end)
{
	const char *pre = "GET / HTTP/1.1\r\nHost: a\r\nX-Fill: ";
	size_t fill = n - strlen(pre) - 4;

	strcpy(big, pre);
	memset(big + strlen(pre), 'x', fill);
	strcpy(big + strlen(pre) + fill, "\r\n\r\n");
	strcat(big, end);
	return strlen(big);
}

static void
test_request_line(void)
{
	const struct http_request *r;
	char s[128], name[64];

	r = good("GET /health HTTP/1.1\r\nHost: ca.example\r\n\r\n", "a plain GET");
	is_str(r->method, "GET", "  ... method");
	is_str(r->target, "/health", "  ... target");
	is_str(r->path, "/health", "  ... path");
	ok(r->query == NULL, "  ... no query");
	is_int(r->minor, 1, "  ... HTTP/1.1");
	is_int(r->keep_alive, 1, "  ... keep-alive by default");
	is_str(r->host, "ca.example", "  ... host");
	ok(r->authorization == NULL && r->content_type == NULL,
	    "  ... no Authorization, no Content-Type");
	is_int(r->has_length, 0, "  ... no Content-Length");
	is_int(r->body_len, 0, "  ... no body");

	r = good("GET /1.0/provisioners?limit=1&cursor=a%2Fb HTTP/1.1\r\nHost: a\r\n\r\n",
	    "a target with a query");
	is_str(r->target, "/1.0/provisioners?limit=1&cursor=a%2Fb", "  ... target as sent");
	is_str(r->path, "/1.0/provisioners", "  ... path without the query");
	is_str(r->query, "limit=1&cursor=a%2Fb", "  ... query not decoded");
	r = good("GET /a? HTTP/1.1\r\nHost: a\r\n\r\n", "an empty query");
	is_str(r->path, "/a", "  ... path");
	is_str(r->query, "", "  ... query is empty, not NULL");
	r = good("GET /a?b?c HTTP/1.1\r\nHost: a\r\n\r\n", "a query holding '?'");
	is_str(r->query, "b?c", "  ... query after the first '?'");
	r = good("GET /%7Eme/%2f HTTP/1.1\r\nHost: a\r\n\r\n", "percent escapes");
	is_str(r->path, "/%7Eme/%2f", "  ... kept raw");
	good("GET /a-._~!$&'()*+,;=:@/ HTTP/1.1\r\nHost: a\r\n\r\n",
	    "every pchar punctuation");

	r = good("PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n", "an unknown method");
	is_str(r->method, "PROPFIND", "  ... method as sent");
	r = good("get / HTTP/1.1\r\nHost: a\r\n\r\n", "a lowercase method");
	is_str(r->method, "get", "  ... case kept (methods are case-sensitive)");
	r = good("!#$%&'*+-.^_`|~ / HTTP/1.1\r\nHost: a\r\n\r\n",
	    "a method of every tchar punctuation");
	is_str(r->method, "!#$%&'*+-.^_`|~", "  ... 15 bytes kept");
	bad("ABCDEFGHIJKLMNOP / HTTP/1.1\r\nHost: a\r\n\r\n", 501,
	    "method not supported", "a valid method of 16 bytes");
	bad("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad method", "a method with '('");
	bad(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad method", "a space before the method");
	bad("GET\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad method", "a method alone");
	bad("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad method", "HTAB after the method");

	bad("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "request target is not an absolute path", "two spaces after the method");
	bad("GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "request target is not an absolute path", "asterisk-form");
	bad("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "request target is not an absolute path", "absolute-form");
	bad("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "request target is not an absolute path", "authority-form");
	bad("GET /a  HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad HTTP version", "two spaces after the target");
	bad("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad HTTP version", "a space after the version");
	bad("GET /\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: no HTTP version", "no version");
	{
		static const char bytes[] = { 0x01, 0x1f, 0x7f, (char)0x80,
		    (char)0xff, '#', '"', '<', '>', '\\', '^', '`', '{', '|',
		    '}', '[', ']', '\t', '\0' };
		size_t i;

		for (i = 0; i < sizeof(bytes); i++) {
			int n = snprintf(s, sizeof(s),
			    "GET /a%cb HTTP/1.1\r\nHost: a\r\n\r\n", 'X');

			s[6] = bytes[i];
			snprintf(name, sizeof(name), "byte 0x%02x in the target",
			    (unsigned char)bytes[i]);
			bad_n(s, (size_t)n, 400, "invalid character in request target",
			    name);
		}
	}
	bad("GET /a%2 HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "invalid character in request target", "'%' and one hex digit");
	bad("GET /a% HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "invalid character in request target", "'%' at the end");
	bad("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "invalid character in request target", "'%' and no hex");

	r = good("GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 without Host");
	is_int(r->minor, 0, "  ... HTTP/1.0");
	is_int(r->keep_alive, 0, "  ... close by default");
	bad("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP version not supported", "HTTP/2.0");
	bad("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "HTTP version not supported", "HTTP/1.2");
	bad("GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505, "HTTP version not supported", "HTTP/0.9");
	bad("GET / HTTP/9.1\r\nHost: a\r\n\r\n", 505, "HTTP version not supported", "HTTP/9.1");
	bad("GET / HTTP/2\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad HTTP version", "HTTP/2");
	bad("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad HTTP version", "HTTP/1.10");
	bad("GET / http/1.1\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad HTTP version", "lowercase http/1.1");
	bad("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad HTTP version", "HTTP/1.x");
	bad("GET / FTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "malformed request line: bad HTTP version", "FTP/1.1");
}

static void
test_lines(void)
{
	bad("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, "bare LF in request head",
	    "a bare LF after the request line");
	bad("GET / HTTP/1.1\r\nHost: a\n\r\n", 400, "bare LF in request head",
	    "a bare LF after a header");
	bad("GET / HTTP/1.1\r\nHost: a\r\n\n", 400, "bare LF in request head",
	    "a bare LF as the empty line");
	bad("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", 400,
	    "bare CR in request head", "a bare CR in a value");
	bad("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", 400,
	    "bare CR in request head", "CR CR LF");
	bad("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "bare CR in request head", "a bare CR in the request line");
	bad("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "empty line before the request line", "a leading empty line");
	bad("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400,
	    "bare LF in request head", "a leading LF");
	bad("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 400,
	    "obsolete line folding in request head", "obs-fold with SP");
	bad("GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n", 400,
	    "obsolete line folding in request head", "obs-fold with HTAB");
	bad("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400,
	    "obsolete line folding in request head", "SP before the first header");
}

static void
test_headers(void)
{
	const struct http_request *r;
	char s[256], name[64];

	r = good("GET / HTTP/1.1\r\nhOsT:   a.example:9000 \t \r\nX-Empty:\r\n"
	    "X-Tab: a\tb\r\nX-Obs: caf\xc3\xa9\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n",
	    "headers of any case, OWS, an empty value, HTAB and obs-text");
	is_str(r->host, "a.example:9000", "  ... value trimmed of OWS");
	is_int(r->nheaders, 6, "  ... 6 headers");
	is_str(http_header(&P, "X-EMPTY"), "", "  ... empty value");
	is_str(http_header(&P, "x-tab"), "a\tb", "  ... HTAB inside kept");
	is_str(http_header(&P, "X-Obs"), "caf\xc3\xa9", "  ... obs-text kept");
	is_str(http_header(&P, "x-dup"), "1", "  ... first of a repeated header");
	ok(http_header(&P, "X-Nope") == NULL, "  ... absent header is NULL");
	ok(http_header(&P, "X-Du") == NULL, "  ... a prefix is not a match");
	ok(http_header(&P, "X-Dup2") == NULL, "  ... a longer name is not a match");

	bad("GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400,
	    "whitespace before ':' in a header line", "SP before ':'");
	bad("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400,
	    "whitespace before ':' in a header line", "HTAB before ':'");
	bad("GET / HTTP/1.1\r\nHost: a\r\nX-A\r\n\r\n", 400,
	    "header line without ':'", "a header without ':'");
	bad("GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n", 400,
	    "empty header name", "an empty header name");
	bad("GET / HTTP/1.1\r\nHost: a\r\nX(A): b\r\n\r\n", 400,
	    "invalid character in header name", "'(' in a header name");
	bad("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: b\r\n\r\n", 400,
	    "invalid character in header name", "obs-text in a header name");
	{
		static const char bytes[] = { 0x00, 0x01, 0x0b, 0x1f, 0x7f };
		size_t i;

		for (i = 0; i < sizeof(bytes); i++) {
			int n = snprintf(s, sizeof(s),
			    "GET / HTTP/1.1\r\nHost: a\r\nX-A: aXb\r\n\r\n");

			s[31] = bytes[i];
			snprintf(name, sizeof(name), "control byte 0x%02x in a value",
			    (unsigned char)bytes[i]);
			bad_n(s, (size_t)n, 400, "control character in header value",
			    name);
		}
	}

	/* Host */
	bad("GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400,
	    "HTTP/1.1 request without Host header", "HTTP/1.1 without Host");
	bad("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400,
	    "duplicate Host header", "two equal Host headers");
	bad("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400,
	    "duplicate Host header", "two Host headers in HTTP/1.0");
	bad("GET / HTTP/1.1\r\nHost: \r\n\r\n", 400, "empty Host header", "an empty Host");
	bad("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "invalid Host header",
	    "a space inside Host");
	bad("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "invalid Host header",
	    "'/' in Host");
	bad("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "invalid Host header",
	    "userinfo in Host");
	r = good("GET / HTTP/1.1\r\nHost: [::1]:9000\r\n\r\n", "an IPv6 Host with a port");
	is_str(r->host, "[::1]:9000", "  ... host");

	/* Other headers that must be single */
	r = good("POST /sign HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer x.y.z\r\n"
	    "Content-Type: application/json; charset=utf-8\r\nContent-Length: 0\r\n\r\n",
	    "Authorization and Content-Type");
	is_str(r->authorization, "Bearer x.y.z", "  ... authorization");
	is_str(r->content_type, "application/json; charset=utf-8", "  ... content type");
	bad("GET / HTTP/1.1\r\nHost: a\r\nAuthorization: a\r\nauthorization: a\r\n\r\n",
	    400, "duplicate Authorization header", "two Authorization headers");
	bad("GET / HTTP/1.1\r\nHost: a\r\nContent-Type: a\r\nCONTENT-TYPE: b\r\n\r\n",
	    400, "duplicate Content-Type header", "two Content-Type headers");

	/* Connection */
	r = good("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "1.1 close");
	is_int(r->keep_alive, 0, "  ... closes");
	r = good("GET / HTTP/1.1\r\nHost: a\r\nConnection: CLOSE\r\n\r\n", "1.1 CLOSE");
	is_int(r->keep_alive, 0, "  ... closes (case-insensitive)");
	r = good("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, close\r\n\r\n",
	    "1.1 close in a list");
	is_int(r->keep_alive, 0, "  ... closes");
	r = good("GET / HTTP/1.1\r\nHost: a\r\nConnection: ,, close ,\r\n\r\n",
	    "1.1 close among empty elements");
	is_int(r->keep_alive, 0, "  ... closes");
	r = good("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n",
	    "1.1 'closed' is another token");
	is_int(r->keep_alive, 1, "  ... stays open");
	r = good("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n"
	    "Connection: close\r\n\r\n", "1.1 keep-alive then close");
	is_int(r->keep_alive, 0, "  ... close wins");
	r = good("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "1.0 Keep-Alive");
	is_int(r->keep_alive, 1, "  ... stays open");
	r = good("GET / HTTP/1.0\r\nConnection: TE, keep-alive\r\n\r\n",
	    "1.0 keep-alive in a list");
	is_int(r->keep_alive, 1, "  ... stays open");
	r = good("GET / HTTP/1.0\r\nConnection: keep-alives\r\n\r\n", "1.0 other token");
	is_int(r->keep_alive, 0, "  ... closes");
	bad("GET / HTTP/1.1\r\nHost: a\r\nConnection: clo se\r\n\r\n", 400,
	    "invalid Connection header", "a space inside a Connection token");
	bad("GET / HTTP/1.1\r\nHost: a\r\nConnection: close;\r\n\r\n", 400,
	    "invalid Connection header", "';' in Connection");

	/* Expect */
	r = good("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n"
	    "Expect: 100-continue\r\n\r\n{}", "Expect: 100-continue");
	is_int(r->expect_continue, 1, "  ... flag set");
	r = good("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n",
	    "Expect: 100-Continue");
	is_int(r->expect_continue, 1, "  ... flag set (case-insensitive)");
	r = good("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "no Expect");
	is_int(r->expect_continue, 0, "  ... flag clear");
	r = good("POST / HTTP/1.0\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\nx",
	    "HTTP/1.0 Expect: 100-continue");
	is_int(r->expect_continue, 0, "  ... ignored: a 1.0 client does not wait");
	bad("GET / HTTP/1.0\r\nExpect: 102-processing\r\n\r\n", 417,
	    "unsupported Expect header", "HTTP/1.0 another Expect value");
	bad("GET / HTTP/1.1\r\nHost: a\r\nExpect: 102-processing\r\n\r\n", 417,
	    "unsupported Expect header", "another Expect value");
	bad("GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue, x\r\n\r\n", 417,
	    "unsupported Expect header", "100-continue in a list");
	bad("GET / HTTP/1.1\r\nHost: a\r\nExpect:\r\n\r\n", 417,
	    "unsupported Expect header", "an empty Expect");
}

static void
test_length(void)
{
	const struct http_request *r;
	size_t used, n;
	int rc;

	r = good("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
	    "POST with a body");
	is_int(r->content_length, 5, "  ... content length");
	is_int(r->has_length, 1, "  ... has length");
	is_int(r->body_len, 5, "  ... body length");
	ok(memcmp(r->body, "hello", 5) == 0, "  ... body");
	is_int(r->body[5], 0, "  ... NUL after the body");
	r = good("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	    "POST with Content-Length: 0");
	is_int(r->body_len, 0, "  ... empty body");
	is_int(r->has_length, 1, "  ... has length");
	r = good("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length:  007 \r\n\r\n1234567",
	    "Content-Length with leading zeros and OWS");
	is_int(r->body_len, 7, "  ... 7 bytes");
	r = good("PUT /x HTTP/1.1\r\nHost: a\r\n\r\n", "PUT without Content-Length");
	is_int(r->body_len, 0, "  ... no body");
	r = good("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n",
	    "GET with Content-Length: 0");
	is_int(r->has_length, 1, "  ... has length");
	bad("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", 400,
	    "body in a GET or HEAD request", "GET with a 1-byte body");
	bad("HEAD / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n\r\nx", 400,
	    "body in a GET or HEAD request", "HEAD with a 1-byte body");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\n\r\n", 411,
	    "POST without Content-Length", "POST without Content-Length");
	bad("POST /sign HTTP/1.0\r\n\r\n", 411,
	    "POST without Content-Length", "HTTP/1.0 POST without Content-Length");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 1,1\r\n\r\nx", 400,
	    "invalid Content-Length header", "Content-Length: 1,1");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
	    400, "duplicate Content-Length header", "two equal Content-Length headers");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 400,
	    "invalid Content-Length header", "Content-Length: +1");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nx", 400,
	    "invalid Content-Length header", "Content-Length: -1");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 1 1\r\n\r\nx", 400,
	    "invalid Content-Length header", "Content-Length: 1 1");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\nx", 400,
	    "invalid Content-Length header", "Content-Length: 0x1");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400,
	    "invalid Content-Length header", "an empty Content-Length");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	    501, "Transfer-Encoding refused: send the body with Content-Length", "Transfer-Encoding: chunked");
	bad("GET / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: identity\r\n\r\n",
	    501, "Transfer-Encoding refused: send the body with Content-Length", "Transfer-Encoding: identity");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
	    501, "Transfer-Encoding refused: send the body with Content-Length", "Transfer-Encoding with Content-Length");

	/* CA_MAX_JSON: the largest body, and one byte more refused at the header. */
	n = (size_t)snprintf(big, sizeof(big),
	    "POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n", CA_MAX_JSON);
	memset(big + n, '{', CA_MAX_JSON);
	big[n + CA_MAX_JSON] = '\0';
	r = good(big, "a body of CA_MAX_JSON bytes");
	is_int(r->body_len, CA_MAX_JSON, "  ... all of it");
	n = (size_t)snprintf(big, sizeof(big),
	    "POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n", CA_MAX_JSON + 1);
	bad(big, 413, "request body larger than 65536 bytes",
	    "Content-Length CA_MAX_JSON + 1, before the head ends");
	bad("POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n",
	    413, "request body larger than 65536 bytes", "a Content-Length that overflows");

	/* Body in pieces, and the head seen before it (Expect: 100-continue). */
	http_parser_init(&P);
	rc = http_feed(&P, (const unsigned char *)
	    "POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\n\r", 50, &used);
	is_int(rc, HTTP_MORE, "head but its last LF: more");
	ok(http_head(&P) == NULL, "  ... no head yet");
	rc = http_feed(&P, (const unsigned char *)"\nab", 3, &used);
	is_int(rc, HTTP_MORE, "head and part of the body: more");
	is_int(used, 3, "  ... all taken");
	ok(http_request(&P) == NULL, "  ... no request yet");
	ok(http_head(&P) != NULL, "  ... the head is read");
	is_int(http_head(&P)->content_length, 6, "  ... its Content-Length");
	ok(http_head(&P)->body == NULL, "  ... no body yet");
	rc = http_feed(&P, (const unsigned char *)"cd", 2, &used);
	is_int(rc, HTTP_MORE, "  ... 2 more bytes: more");
	rc = http_feed(&P, (const unsigned char *)"efGET", 5, &used);
	is_int(rc, HTTP_DONE, "  ... the rest: done");
	is_int(used, 2, "  ... takes the body's 2 bytes, not the next request");
	ok(memcmp(http_request(&P)->body, "abcdef", 7) == 0, "  ... body and its NUL");
	ok(http_head(&P) == http_request(&P), "  ... http_head is the request");
	rc = http_feed(&P, (const unsigned char *)"GET", 3, &used);
	is_int(rc, HTTP_DONE, "  ... feeding after done: done again");
	is_int(used, 0, "  ... nothing taken");
}

static void
test_limits(void)
{
	size_t n, used, i;
	int rc;

	n = head_of(CA_MAX_HTTP_HEAD, "");
	is_int(n, CA_MAX_HTTP_HEAD, "head of CA_MAX_HTTP_HEAD bytes built");
	good(big, "a head of CA_MAX_HTTP_HEAD bytes");
	n = head_of(CA_MAX_HTTP_HEAD + 1, "");
	bad(big, 431, "request head larger than 16384 bytes",
	    "a head of CA_MAX_HTTP_HEAD + 1 bytes");

	/* The 431 comes with byte 16385, not before. */
	http_parser_init(&P);
	rc = http_feed(&P, (const unsigned char *)big, CA_MAX_HTTP_HEAD, &used);
	is_int(rc, HTTP_MORE, "16384 bytes of an unfinished head: more");
	rc = http_feed(&P, (const unsigned char *)big + CA_MAX_HTTP_HEAD, 1, &used);
	is_int(rc, HTTP_ERROR, "  ... byte 16385: refused");
	is_int(http_error_status(&P), 431, "  ... 431");
	rc = http_feed(&P, (const unsigned char *)"x", 1, &used);
	is_int(rc, HTTP_ERROR, "  ... stays refused");
	is_int(used, 0, "  ... takes nothing more");

	/* A head at the limit, then a body: the body fits too. */
	n = head_of(CA_MAX_HTTP_HEAD - 19, "");
	memcpy(big + n - 2, "Content-Length: 3\r\n\r\nabc", 25);
	/* Now the head is exactly the limit (the 19 bytes of the header). */
	is_int(strlen(big), CA_MAX_HTTP_HEAD + 3, "head at the limit plus body built");
	memcpy(big, "PUT ", 4); /* "GET " to "PUT ": a body is allowed */
	{
		const struct http_request *r = good(big, "a head at the limit and a body");

		is_int(r->body_len, 3, "  ... body read");
	}

	/* Header count. */
	strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < CA_MAX_HTTP_HEADERS; i++)
		strcat(big, "X-A: b\r\n");
	strcat(big, "\r\n");
	{
		const struct http_request *r = good(big, "CA_MAX_HTTP_HEADERS headers");

		is_int(r->nheaders, CA_MAX_HTTP_HEADERS, "  ... all counted");
	}
	strcpy(big + strlen(big) - 2, "X-A: b\r\n\r\n");
	bad(big, 431, "too many header lines", "CA_MAX_HTTP_HEADERS + 1 headers");

	/* An error inside the limit wins over the size, however it is fed. */
	n = head_of(CA_MAX_HTTP_HEAD + 100, "");
	big[3] = '(';
	bad(big, 400, "malformed request line: bad method",
	    "a bad request line in a head too large");
}

static void
test_pipeline(void)
{
	static const char two[] =
	    "POST /sign HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}"
	    "GET /health HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
	    "GET /ro";
	size_t used, off = 0, n = sizeof(two) - 1;
	int rc;

	http_parser_init(&P);
	rc = http_feed(&P, (const unsigned char *)two, n, &used);
	is_int(rc, HTTP_DONE, "pipelined: first request");
	is_int(used, 53, "  ... takes its 53 bytes");
	is_str(http_request(&P)->path, "/sign", "  ... path");
	is_int(http_request(&P)->body_len, 2, "  ... body");
	off += used;
	http_next(&P);
	ok(http_request(&P) == NULL, "  ... after http_next no request");
	rc = http_feed(&P, (const unsigned char *)two + off, n - off, &used);
	is_int(rc, HTTP_DONE, "pipelined: second request");
	is_str(http_request(&P)->path, "/health", "  ... path");
	is_int(http_request(&P)->keep_alive, 0, "  ... close");
	is_int(http_request(&P)->has_length, 0, "  ... the first one's length is gone");
	ok(http_request(&P)->content_type == NULL, "  ... no header of the first");
	off += used;
	http_next(&P);
	rc = http_feed(&P, (const unsigned char *)two + off, n - off, &used);
	is_int(rc, HTTP_MORE, "pipelined: third request unfinished");
	is_int(used, 7, "  ... all taken");
	rc = http_feed(&P, (const unsigned char *)"ot HTTP/1.1\r\nHost: b\r\n\r\n", 25, &used);
	is_int(rc, HTTP_DONE, "  ... completed");
	is_str(http_request(&P)->path, "/root", "  ... path");
	is_str(http_request(&P)->host, "b", "  ... host");
}

static void
test_response(void)
{
	char buf[256];
	int n;

	n = http_response_head(buf, sizeof(buf), 200, "application/json", 15, 1, NULL);
	is_str(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Content-Length: 15\r\nConnection: keep-alive\r\n\r\n", "response 200");
	is_int(n, (int)strlen(buf), "  ... its length");
	n = http_response_head(buf, sizeof(buf), 405, "application/json", 0, 0,
	    "Allow: GET, HEAD\r\n");
	is_str(buf, "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: application/json\r\n"
	    "Content-Length: 0\r\nConnection: close\r\nAllow: GET, HEAD\r\n\r\n",
	    "response 405 with Allow, closing");
	n = http_response_head(buf, sizeof(buf), 204, NULL, 0, 1, "");
	is_str(buf, "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n"
	    "Connection: keep-alive\r\n\r\n", "response without Content-Type");
	n = http_response_head(buf, sizeof(buf), 100, "text/plain", 5, 1, NULL);
	is_str(buf, "HTTP/1.1 100 Continue\r\n\r\n", "interim 100 Continue: no fields");
	n = http_response_head(buf, sizeof(buf), 299, NULL, 0, 1, NULL);
	is_str(buf, "HTTP/1.1 299 Unknown\r\nContent-Length: 0\r\n"
	    "Connection: keep-alive\r\n\r\n", "an unnamed status");

	n = http_response_head(buf, sizeof(buf), 200, NULL, 0, 1, NULL);
	is_int(http_response_head(buf, (size_t)n + 1, 200, NULL, 0, 1, NULL), n,
	    "exactly fits with its NUL");
	is_int(http_response_head(buf, (size_t)n, 200, NULL, 0, 1, NULL), -1,
	    "one byte short: -1");
	is_int(http_response_head(buf, sizeof(buf), 200, "a\r\nSet-Cookie: x", 0, 1, NULL),
	    -1, "CRLF in the content type: -1");
	is_int(http_response_head(buf, sizeof(buf), 200, "a\tb", 0, 1, NULL),
	    -1, "HTAB in the content type: -1");
	is_int(http_response_head(buf, sizeof(buf), 200, NULL, 0, 1, "Allow: GET"),
	    -1, "extra not ending in CRLF: -1");
	is_int(http_response_head(buf, sizeof(buf), 99, NULL, 0, 1, NULL), -1,
	    "status 99: -1");
	is_int(http_response_head(buf, sizeof(buf), 1000, NULL, 0, 1, NULL), -1,
	    "status 1000: -1");

	is_str(http_reason(100), "Continue", "reason 100");
	is_str(http_reason(200), "OK", "reason 200");
	is_str(http_reason(201), "Created", "reason 201");
	is_str(http_reason(400), "Bad Request", "reason 400");
	is_str(http_reason(401), "Unauthorized", "reason 401");
	is_str(http_reason(403), "Forbidden", "reason 403");
	is_str(http_reason(404), "Not Found", "reason 404");
	is_str(http_reason(405), "Method Not Allowed", "reason 405");
	is_str(http_reason(408), "Request Timeout", "reason 408");
	is_str(http_reason(411), "Length Required", "reason 411");
	is_str(http_reason(413), "Content Too Large", "reason 413");
	is_str(http_reason(417), "Expectation Failed", "reason 417");
	is_str(http_reason(431), "Request Header Fields Too Large", "reason 431");
	is_str(http_reason(500), "Internal Server Error", "reason 500");
	is_str(http_reason(501), "Not Implemented", "reason 501");
	is_str(http_reason(503), "Service Unavailable", "reason 503");
	is_str(http_reason(505), "HTTP Version Not Supported", "reason 505");
	is_str(http_reason(418), "Unknown", "reason of an unlisted status");
}

/* A typical request: well under a microsecond each, 20 allowed for load. */
static void
test_speed(void)
{
	static const char req[] =
	    "POST /1.0/sign HTTP/1.1\r\nHost: ca.example.com:9000\r\n"
	    "User-Agent: curl/8.5.0\r\nAccept: */*\r\n"
	    "Content-Type: application/json\r\nContent-Length: 64\r\n"
	    "Authorization: Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2lnbmF0dXJl\r\n\r\n"
	    "{\"csr\":\"-----BEGIN CERTIFICATE REQUEST-----\",\"ott\":\"x.y.z\"}     ";
	struct timespec t0, t1;
	size_t used, n = sizeof(req) - 1;
	long i, runs = 200000, bad_runs = 0;
	double ns;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < runs; i++) {
		http_parser_init(&P);
		if (http_feed(&P, (const unsigned char *)req, n, &used) != HTTP_DONE)
			bad_runs++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
	    (double)(t1.tv_nsec - t0.tv_nsec)) / (double)runs;
	printf("# %zu-byte request parsed in %.0f ns\n", n, ns);
	is_int(bad_runs, 0, "typical request parses every time");
	ok(ns < 20000, "typical request under 20 us (%.0f ns)", ns);
}

int
main(void)
{
	test_request_line();
	test_lines();
	test_headers();
	test_length();
	test_limits();
	test_pipeline();
	test_response();
	test_speed();
	return tap_done();
}
