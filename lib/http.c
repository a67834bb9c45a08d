/*
 * http: the strict, incremental HTTP/1.1 request parser and the response
 * head writer.  See http.h for the rules.
 *
 * Bytes are copied into the parser's buffer and read line by line as each
 * LF arrives; a line is only judged once complete, and the head size is
 * judged only after every complete line inside the limit, so the outcome
 * (including which error wins) is the same for any split of the input.
 * Strings handed out are NUL-terminated in place: the ':' after a header
 * name, the end of a value, the SP after the target become NULs.
 */
#include <stdio.h>
#include <string.h>

#include "http.h"

enum { ST_LINE, ST_HEAD, ST_BODY, ST_DONE, ST_ERROR };

/* Connection header tokens seen. */
#define F_CLOSE 1
#define F_KEEP  2

/* Character classes. */
#define C_TCHAR  0x01	/* token (RFC 9110 5.6.2) */
#define C_TARGET 0x02	/* pchar without '%', plus '/' and '?' (RFC 3986) */
#define C_VALUE  0x04	/* field-vchar (VCHAR, obs-text), SP, HTAB */
#define C_HOST   0x08	/* uri-host [":" port] characters */
#define C_HEX    0x10

#define ALNUM (C_TCHAR | C_TARGET | C_VALUE | C_HOST)

static const unsigned char cls[256] = {
	['\t'] = C_VALUE,
	[' '] = C_VALUE,
	['!'] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	['"'] = C_VALUE,
	['#'] = C_TCHAR | C_VALUE,
	['$'] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	['%'] = C_TCHAR | C_VALUE | C_HOST,
	['&'] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	['\''] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	['('] = C_TARGET | C_VALUE | C_HOST,
	[')'] = C_TARGET | C_VALUE | C_HOST,
	['*'] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	['+'] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	[','] = C_TARGET | C_VALUE | C_HOST,
	['-'] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	['.'] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	['/'] = C_TARGET | C_VALUE,
	['0' ... '9'] = ALNUM | C_HEX,
	[':'] = C_TARGET | C_VALUE | C_HOST,
	[';'] = C_TARGET | C_VALUE | C_HOST,
	['<'] = C_VALUE,
	['='] = C_TARGET | C_VALUE | C_HOST,
	['>'] = C_VALUE,
	['?'] = C_TARGET | C_VALUE,
	['@'] = C_TARGET | C_VALUE,
	['A' ... 'F'] = ALNUM | C_HEX,
	['G' ... 'Z'] = ALNUM,
	['['] = C_VALUE | C_HOST,
	['\\'] = C_VALUE,
	[']'] = C_VALUE | C_HOST,
	['^'] = C_TCHAR | C_VALUE,
	['_'] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	['`'] = C_TCHAR | C_VALUE,
	['a' ... 'f'] = ALNUM | C_HEX,
	['g' ... 'z'] = ALNUM,
	['{'] = C_VALUE,
	['|'] = C_TCHAR | C_VALUE,
	['}'] = C_VALUE,
	['~'] = C_TCHAR | C_TARGET | C_VALUE | C_HOST,
	[0x80 ... 0xff] = C_VALUE,
};

#define IS(c, k) (cls[(unsigned char)(c)] & (k))

static int
fail(struct http_parser *p, int status, const char *message)
{
	p->state = ST_ERROR;
	p->status = status;
	p->message = message;
	return HTTP_ERROR;
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* s[0..n) equals the lowercase literal lit, ignoring ASCII case. */
static int
ci_eq(const char *s, size_t n, const char *lit, size_t litlen)
{
	size_t i;

	if (n != litlen)
		return 0;
	for (i = 0; i < n; i++)
		if (lower((unsigned char)s[i]) != lit[i])
			return 0;
	return 1;
}

#define CI_EQ(s, n, lit) ci_eq((s), (n), lit, sizeof(lit) - 1)

static int
request_line(struct http_parser *p, char *s, size_t n)
{
	struct http_request *r = &p->req;
	const char *v, *q;
	size_t i = 0, m, t0, t1, plen;

	while (i < n && IS(s[i], C_TCHAR))
		i++;
	if (i == 0 || i == n || s[i] != ' ')
		return fail(p, 400, "malformed request line: bad method");
	m = i++;
	t0 = i;
	if (i == n || s[i] != '/')
		return fail(p, 400, "request target is not an absolute path");
	for (; i < n && s[i] != ' '; i++) {
		if (IS(s[i], C_TARGET))
			continue;
		if (s[i] == '%' && n - i > 2 && IS(s[i + 1], C_HEX) &&
		    IS(s[i + 2], C_HEX)) {
			i += 2;
			continue;
		}
		return fail(p, 400, "invalid character in request target");
	}
	t1 = i;
	if (i == n)
		return fail(p, 400, "malformed request line: no HTTP version");
	v = s + i + 1;
	if (n - i - 1 != 8 || memcmp(v, "HTTP/", 5) != 0 || v[5] < '0' ||
	    v[5] > '9' || v[6] != '.' || v[7] < '0' || v[7] > '9')
		return fail(p, 400, "malformed request line: bad HTTP version");
	if (v[5] != '1' || (v[7] != '0' && v[7] != '1'))
		return fail(p, 505, "HTTP version not supported");
	if (m > HTTP_MAX_METHOD)
		return fail(p, 501, "method not supported");
	memcpy(r->method, s, m);
	r->method[m] = '\0';
	r->minor = v[7] - '0';
	s[t1] = '\0';
	r->target = s + t0;
	q = memchr(r->target, '?', t1 - t0);
	plen = q ? (size_t)(q - r->target) : t1 - t0;
	memcpy(p->pathbuf, r->target, plen);
	p->pathbuf[plen] = '\0';
	r->path = p->pathbuf;
	r->query = q ? q + 1 : NULL;
	return HTTP_MORE;
}

/* The Connection value: a comma list of tokens, empty elements allowed. */
static int
connection(struct http_parser *p, const char *v)
{
	const char *e;
	size_t n;

	for (;;) {
		while (*v == ' ' || *v == '\t' || *v == ',')
			v++;
		if (*v == '\0')
			return HTTP_MORE;
		for (e = v; IS(*e, C_TCHAR); e++)
			;
		n = (size_t)(e - v);
		if (n == 0)
			return fail(p, 400, "invalid Connection header");
		if (CI_EQ(v, n, "close"))
			p->flags |= F_CLOSE;
		else if (CI_EQ(v, n, "keep-alive"))
			p->flags |= F_KEEP;
		v = e;
		while (*v == ' ' || *v == '\t')
			v++;
		if (*v != ',' && *v != '\0')
			return fail(p, 400, "invalid Connection header");
	}
}

static int
header_line(struct http_parser *p, char *s, size_t n)
{
	struct http_request *r = &p->req;
	size_t i = 0, v0, v1, len;
	const char *v;

	if (s[0] == ' ' || s[0] == '\t')
		return fail(p, 400, "obsolete line folding in request head");
	if (r->nheaders == CA_MAX_HTTP_HEADERS)
		return fail(p, 431, "too many header lines");
	while (i < n && IS(s[i], C_TCHAR))
		i++;
	if (i == n)
		return fail(p, 400, "header line without ':'");
	if (s[i] != ':') {
		if (s[i] == ' ' || s[i] == '\t')
			return fail(p, 400, "whitespace before ':' in a header line");
		return fail(p, 400, "invalid character in header name");
	}
	if (i == 0)
		return fail(p, 400, "empty header name");
	len = i;
	v0 = i + 1;
	while (v0 < n && (s[v0] == ' ' || s[v0] == '\t'))
		v0++;
	v1 = n;
	while (v1 > v0 && (s[v1 - 1] == ' ' || s[v1 - 1] == '\t'))
		v1--;
	for (i = v0; i < v1; i++)
		if (!IS(s[i], C_VALUE))
			return fail(p, 400, "control character in header value");
	s[len] = '\0';
	s[v1] = '\0';
	v = s + v0;
	p->hname[r->nheaders] = s;
	p->hvalue[r->nheaders] = v;
	r->nheaders++;

	switch (len) {
	case 4:
		if (!CI_EQ(s, len, "host"))
			break;
		if (r->host)
			return fail(p, 400, "duplicate Host header");
		if (*v == '\0')
			return fail(p, 400, "empty Host header");
		for (i = 0; v[i]; i++)
			if (!IS(v[i], C_HOST))
				return fail(p, 400, "invalid Host header");
		r->host = v;
		break;
	case 6:
		if (!CI_EQ(s, len, "expect"))
			break;
		if (!CI_EQ(v, v1 - v0, "100-continue"))
			return fail(p, 417, "unsupported Expect header");
		r->expect_continue = r->minor == 1;
		break;
	case 10:
		if (CI_EQ(s, len, "connection"))
			return connection(p, v);
		break;
	case 12:
		if (!CI_EQ(s, len, "content-type"))
			break;
		if (r->content_type)
			return fail(p, 400, "duplicate Content-Type header");
		r->content_type = v;
		break;
	case 13:
		if (!CI_EQ(s, len, "authorization"))
			break;
		if (r->authorization)
			return fail(p, 400, "duplicate Authorization header");
		r->authorization = v;
		break;
	case 14:
		if (!CI_EQ(s, len, "content-length"))
			break;
		if (r->has_length)
			return fail(p, 400, "duplicate Content-Length header");
		if (*v == '\0')
			return fail(p, 400, "invalid Content-Length header");
		r->content_length = 0;
		for (i = 0; v[i]; i++) {
			if (v[i] < '0' || v[i] > '9')
				return fail(p, 400, "invalid Content-Length header");
			/* Saturate: the size is refused below anyway. */
			if (r->content_length <= CA_MAX_JSON)
				r->content_length = r->content_length * 10 +
				    (size_t)(v[i] - '0');
		}
		if (r->content_length > CA_MAX_JSON)
			return fail(p, 413, "request body larger than 65536 bytes");
		r->has_length = 1;
		break;
	case 17:
		if (CI_EQ(s, len, "transfer-encoding"))
			return fail(p, 501, "Transfer-Encoding refused: send the body with Content-Length");
		break;
	}
	return HTTP_MORE;
}

/* The empty line: judge the head as a whole. */
static int
head_end(struct http_parser *p)
{
	struct http_request *r = &p->req;
	int bodyless = strcmp(r->method, "GET") == 0 ||
	    strcmp(r->method, "HEAD") == 0;

	if (r->minor == 1 && r->host == NULL)
		return fail(p, 400, "HTTP/1.1 request without Host header");
	if (!r->has_length && strcmp(r->method, "POST") == 0)
		return fail(p, 411, "POST without Content-Length");
	if (bodyless && r->content_length > 0)
		return fail(p, 400, "body in a GET or HEAD request");
	if (p->flags & F_CLOSE)
		r->keep_alive = 0;
	else if (p->flags & F_KEEP)
		r->keep_alive = 1;
	else
		r->keep_alive = r->minor == 1;
	return HTTP_DONE;
}

/* One line of the head, n bytes before its LF. */
static int
line(struct http_parser *p, char *s, size_t n)
{
	if (n == 0 || s[n - 1] != '\r')
		return fail(p, 400, "bare LF in request head");
	n--;
	if (memchr(s, '\r', n) != NULL)
		return fail(p, 400, "bare CR in request head");
	if (p->state == ST_LINE) {
		if (n == 0)
			return fail(p, 400, "empty line before the request line");
		p->state = ST_HEAD;
		return request_line(p, s, n);
	}
	if (n == 0)
		return head_end(p);
	return header_line(p, s, n);
}

/* Read the complete lines held; HTTP_DONE once the empty line is read. */
static int
scan_head(struct http_parser *p)
{
	size_t end = p->len < CA_MAX_HTTP_HEAD ? p->len : CA_MAX_HTTP_HEAD;
	const unsigned char *lf;
	size_t at;
	int rc;

	while (p->scan < end) {
		lf = memchr(p->buf + p->scan, '\n', end - p->scan);
		if (lf == NULL) {
			p->scan = end;
			break;
		}
		at = (size_t)(lf - p->buf);
		rc = line(p, (char *)p->buf + p->line, at - p->line);
		p->line = p->scan = at + 1;
		if (rc == HTTP_DONE)
			p->head_len = at + 1;
		if (rc != HTTP_MORE)
			return rc;
	}
	if (p->len > CA_MAX_HTTP_HEAD)
		return fail(p, 431, "request head larger than 16384 bytes");
	return HTTP_MORE;
}

int
http_feed(struct http_parser *p, const unsigned char *buf, size_t len,
    size_t *used)
{
	struct http_request *r = &p->req;
	size_t take, u = 0, extra, want;
	int rc;

	*used = 0;
	if (p->state == ST_ERROR)
		return HTTP_ERROR;
	if (p->state == ST_DONE)
		return HTTP_DONE;
	if (p->state == ST_LINE || p->state == ST_HEAD) {
		/* One byte past the limit tells a head that is too large. */
		take = CA_MAX_HTTP_HEAD + 1 - p->len;
		if (take > len)
			take = len;
		memcpy(p->buf + p->len, buf, take);
		p->len += take;
		u = take;
		rc = scan_head(p);
		if (rc != HTTP_DONE) {
			*used = u;
			return rc;
		}
		/*
		 * Bytes past the head came in this call (the last one ended
		 * before the empty line): give back those past the body.
		 */
		extra = p->len - p->head_len;
		if (extra > r->content_length) {
			u -= extra - r->content_length;
			p->len = p->head_len + r->content_length;
		}
		p->state = ST_BODY;
	}
	want = p->head_len + r->content_length - p->len;
	take = len - u < want ? len - u : want;
	memcpy(p->buf + p->len, buf + u, take);
	p->len += take;
	u += take;
	*used = u;
	if (take < want)
		return HTTP_MORE;
	p->buf[p->len] = '\0';
	r->body = p->buf + p->head_len;
	r->body_len = r->content_length;
	p->state = ST_DONE;
	return HTTP_DONE;
}

void
http_next(struct http_parser *p)
{
	memset(&p->req, 0, sizeof(p->req));
	p->state = ST_LINE;
	p->status = 0;
	p->message = "";
	p->flags = 0;
	p->len = p->line = p->scan = p->head_len = 0;
}

void
http_parser_init(struct http_parser *p)
{
	http_next(p);
}

const struct http_request *
http_request(const struct http_parser *p)
{
	return p->state == ST_DONE ? &p->req : NULL;
}

const struct http_request *
http_head(const struct http_parser *p)
{
	return p->state == ST_BODY || p->state == ST_DONE ? &p->req : NULL;
}

const char *
http_header(const struct http_parser *p, const char *name)
{
	size_t n = strlen(name);
	int i;

	if (p->state != ST_DONE)
		return NULL;
	for (i = 0; i < p->req.nheaders; i++) {
		const char *h = p->hname[i];
		size_t k;

		for (k = 0; k < n && h[k] &&
		    lower((unsigned char)h[k]) == lower((unsigned char)name[k]); k++)
			;
		if (k == n && h[k] == '\0')
			return p->hvalue[i];
	}
	return NULL;
}

int
http_error_status(const struct http_parser *p)
{
	return p->state == ST_ERROR ? p->status : 0;
}

const char *
http_error_message(const struct http_parser *p)
{
	return p->state == ST_ERROR ? p->message : "";
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

int
http_response_head(char *buf, size_t size, int status,
    const char *content_type, size_t content_length, int keep_alive,
    const char *extra)
{
	const char *c;
	size_t n;
	int len;

	if (status < 100 || status > 999)
		return -1;
	/* No header injection through the caller's strings. */
	for (c = content_type; c && *c; c++)
		if (!IS(*c, C_VALUE) || *c == '\t')
			return -1;
	if (extra && (n = strlen(extra)) > 0 &&
	    (n < 2 || extra[n - 2] != '\r' || extra[n - 1] != '\n'))
		return -1;
	if (status < 200)
		/* An interim response has no header fields of ours. */
		len = snprintf(buf, size, "HTTP/1.1 %d %s\r\n%s\r\n", status,
		    http_reason(status), extra ? extra : "");
	else
		len = snprintf(buf, size,
		    "HTTP/1.1 %d %s\r\n%s%s%sContent-Length: %zu\r\n"
		    "Connection: %s\r\n%s\r\n", status, http_reason(status),
		    content_type ? "Content-Type: " : "",
		    content_type ? content_type : "",
		    content_type ? "\r\n" : "", content_length,
		    keep_alive ? "keep-alive" : "close", extra ? extra : "");
	if (len < 0 || (size_t)len >= size)
		return -1;
	return len;
}
