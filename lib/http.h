/*
 * http: a strict, incremental HTTP/1.1 request parser (RFC 9112) and a
 * response head writer, for a server reading untrusted clients.
 *
 * The parser copies what it is fed into its own fixed buffer (no malloc);
 * every pointer in struct http_request points into that buffer and stays
 * valid until http_next() or http_parser_init().  It fails closed: any
 * deviation from the grammar is refused with an HTTP status (400, 411,
 * 413, 417, 431, 501, 505) and a message, and the caller answers with that
 * status and closes the connection.  The result never depends on how the
 * bytes were split between calls.
 *
 * Rules (each tested at its boundary in tests/unit/test_http.c):
 *   - lines end in CRLF; a bare LF or bare CR, a leading empty line or an
 *     obs-fold line (starting with SP or HTAB) is 400;
 *   - request line: METHOD SP origin-form SP "HTTP/1.0"|"HTTP/1.1"; the
 *     method a token (any valid token parses; longer than 15 bytes: 501);
 *     the target starts with '/' and holds only URI characters (pchar,
 *     '/', '?', valid %XX); another "HTTP/d.d" is 505, anything else 400;
 *   - header name a token, ':' right after it, the value trimmed of
 *     SP/HTAB, no control character but HTAB in it;
 *   - request line + headers + empty line at most CA_MAX_HTTP_HEAD bytes,
 *     at most CA_MAX_HTTP_HEADERS header lines: else 431;
 *   - Content-Length one run of digits, at most once; above CA_MAX_JSON is
 *     413 as soon as the header line is read, before any body; any
 *     Transfer-Encoding is 501; POST without Content-Length is 411; GET or
 *     HEAD with a Content-Length above 0 is 400;
 *   - Host, Authorization, Content-Type, Content-Length twice: 400; an
 *     HTTP/1.1 request without Host: 400;
 *   - Connection: "close" / "keep-alive" tokens (case-insensitive, comma
 *     lists) over the version's default (1.1 keep-alive, 1.0 close);
 *   - Expect: "100-continue" sets expect_continue, any other value is 417.
 */
#ifndef INCA_HTTP_H
#define INCA_HTTP_H

#include <stddef.h>

#include "ca_limits.h"

#define HTTP_MORE   0   /* need more bytes */
#define HTTP_DONE   1   /* a complete request (head + body) is available */
#define HTTP_ERROR (-1) /* refused: http_error_status() and _message() say why */

#define HTTP_MAX_METHOD 15

struct http_request {
	char method[HTTP_MAX_METHOD + 1]; /* "GET", "POST", ... as sent (case-sensitive) */
	const char *target;	/* the request-target as sent, starts with '/' */
	const char *path;	/* target up to '?', not percent-decoded */
	const char *query;	/* after the first '?' (maybe ""), or NULL */
	int minor;		/* HTTP/1.<minor>: 0 or 1 */
	int keep_alive;		/* version default overridden by Connection */
	int expect_continue;	/* "Expect: 100-continue" was sent */
	const char *authorization, *content_type, *host; /* values or NULL */
	size_t content_length;	/* 0 unless has_length */
	int has_length;		/* a Content-Length header was sent */
	const unsigned char *body; /* body_len bytes, then a NUL not counted */
	size_t body_len;	/* == content_length when HTTP_DONE */
	int nheaders;		/* header lines, for http_header() */
};

/*
 * The parser state.  Allocate it anywhere (it is about 100 KiB; one per
 * connection); the fields are private to lib/http.c.
 */
struct http_parser {
	struct http_request req;
	int state, status, flags;
	const char *message;
	size_t len;		/* bytes held in buf */
	size_t line;		/* start of the line being read */
	size_t scan;		/* buf[line..scan) holds no LF */
	size_t head_len;	/* bytes of the head, once read */
	const char *hname[CA_MAX_HTTP_HEADERS], *hvalue[CA_MAX_HTTP_HEADERS];
	char pathbuf[CA_MAX_HTTP_HEAD];
	unsigned char buf[CA_MAX_HTTP_HEAD + CA_MAX_JSON + 1];
};

/* Ready the parser for the first request of a connection. */
void http_parser_init(struct http_parser *p);

/*
 * Feed len bytes.  *used is set to the bytes taken: all of them on
 * HTTP_MORE; on HTTP_DONE those up to the end of the request, and the rest
 * (a pipelined next request) is the caller's to feed again after
 * http_next().  On HTTP_ERROR the connection must be closed after the
 * error answer; later calls return HTTP_ERROR again.  After HTTP_DONE,
 * calls return HTTP_DONE with *used = 0 until http_next().
 */
int http_feed(struct http_parser *p, const unsigned char *buf, size_t len,
    size_t *used);

/* The request once http_feed() returned HTTP_DONE, else NULL. */
const struct http_request *http_request(const struct http_parser *p);

/*
 * The first value of header name (case-insensitive) in the request read,
 * or NULL.  Valid once HTTP_DONE.
 */
const char *http_header(const struct http_parser *p, const char *name);

/* After HTTP_ERROR: the status to answer (400...505) and why; else 0/"". */
int http_error_status(const struct http_parser *p);
const char *http_error_message(const struct http_parser *p);

/* Forget the request read; ready for the next one on the connection. */
void http_next(struct http_parser *p);

/*
 * Format a response head into buf: "HTTP/1.1 <status> <reason>", then
 * Content-Type (omitted when content_type is NULL), Content-Length,
 * "Connection: keep-alive" or "close", extra verbatim (NULL or complete
 * lines each ending in CRLF, e.g. "Allow: GET\r\n"), and the empty line.
 * Returns the length written (NUL-terminated), or -1 when it does not fit
 * in size bytes or status is not a 3-digit code.
 */
int http_response_head(char *buf, size_t size, int status,
    const char *content_type, size_t content_length, int keep_alive,
    const char *extra);

/* The reason phrase of status ("Not Found"), "Unknown" for others. */
const char *http_reason(int status);

#endif
