/*
 * fuzz_http: the HTTP/1.1 request parser (http_feed) on a whole connection
 * of hostile bytes: requests are read one after another (pipelining) until
 * an error or the end of the input.
 *
 * Besides "no crash, no leak, no UB", the harness aborts when a property
 * the server relies on breaks:
 *
 *   - the input fed in one call per request and fed again in random
 *     pieces (sizes from a PRNG seeded by the input, and one byte at a
 *     time for inputs up to 4 KiB) gives the same outcome: the same
 *     status and message, or the same request with the same bytes taken;
 *   - an accepted request is well formed: a token method, a target that
 *     starts with '/' and is path ["?" query], HTTP/1.0 or 1.1, Host for
 *     1.1, a head of at most CA_MAX_HTTP_HEAD bytes, a body of
 *     content_length <= CA_MAX_JSON bytes with a NUL after it, no control
 *     character in any string handed out;
 *   - the request written back canonically (request line, each header as
 *     "name: value", the body) parses to the same request;
 *   - a refusal carries one of the statuses the rules name, and a
 *     response head for it can be written.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ca_limits.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct http_parser A, B, C;
static unsigned char out[CA_MAX_HTTP_HEAD + CA_MAX_JSON + 64];

static void
fail(const char *what, const struct http_parser *p)
{
	fprintf(stderr, "fuzz_http: %s (status %d: %s)\n", what,
	    http_error_status(p), http_error_message(p));
	abort();
}

static uint64_t rng;

static size_t
next_piece(size_t left)
{
	size_t n;

	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	switch (rng % 4) {
	case 0: n = 1; break;
	case 1: n = 1 + (size_t)(rng >> 8) % 8; break;
	case 2: n = 1 + (size_t)(rng >> 8) % 128; break;
	default: n = 1 + (size_t)(rng >> 8) % 8192; break;
	}
	return n < left ? n : left;
}

static int
streq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static void
same(const struct http_parser *a, int ra, const struct http_parser *b, int rb,
    const char *what)
{
	const struct http_request *x, *y;
	int i;

	if (ra != rb || http_error_status(a) != http_error_status(b) ||
	    strcmp(http_error_message(a), http_error_message(b)) != 0)
		fail(what, b);
	if (ra != HTTP_DONE)
		return;
	x = http_request(a);
	y = http_request(b);
	if (x == NULL || y == NULL || strcmp(x->method, y->method) != 0 ||
	    !streq(x->target, y->target) || !streq(x->path, y->path) ||
	    !streq(x->query, y->query) || x->minor != y->minor ||
	    x->keep_alive != y->keep_alive ||
	    x->expect_continue != y->expect_continue ||
	    !streq(x->authorization, y->authorization) ||
	    !streq(x->content_type, y->content_type) ||
	    !streq(x->host, y->host) ||
	    x->content_length != y->content_length ||
	    x->has_length != y->has_length || x->body_len != y->body_len ||
	    x->nheaders != y->nheaders ||
	    memcmp(x->body, y->body, x->body_len) != 0)
		fail(what, b);
	for (i = 0; i < x->nheaders; i++)
		if (strcmp(a->hname[i], b->hname[i]) != 0 ||
		    strcmp(a->hvalue[i], b->hvalue[i]) != 0)
			fail(what, b);
}

static int
clean(const char *s, int tab)
{
	for (; s && *s; s++)
		if ((unsigned char)*s < 0x20 ? !(tab && *s == '\t') : *s == 0x7f)
			return 0;
	return 1;
}

static void
well_formed(const struct http_parser *p, size_t used)
{
	const struct http_request *r = http_request(p);
	size_t plen, i;
	int k;

	if (used - r->body_len > CA_MAX_HTTP_HEAD)
		fail("head over CA_MAX_HTTP_HEAD accepted", p);

	if (r->method[0] == '\0' || strlen(r->method) > HTTP_MAX_METHOD ||
	    strcspn(r->method, " \t\r\n():;/\"") != strlen(r->method))
		fail("bad method accepted", p);
	if (r->target == NULL || r->target[0] != '/' || r->path == NULL)
		fail("target not an absolute path", p);
	plen = strlen(r->path);
	if (strncmp(r->target, r->path, plen) != 0 ||
	    (r->query == NULL ? r->target[plen] != '\0' :
	    r->target[plen] != '?' || strcmp(r->target + plen + 1, r->query) != 0) ||
	    strchr(r->path, '?') != NULL)
		fail("target is not path [? query]", p);
	for (i = 0; r->target[i]; i++)
		if ((unsigned char)r->target[i] <= ' ' ||
		    (unsigned char)r->target[i] >= 0x7f || r->target[i] == '#')
			fail("bad byte in an accepted target", p);
	if ((r->minor != 0 && r->minor != 1) || (r->keep_alive & ~1) ||
	    (r->expect_continue & ~1))
		fail("bad version or flag", p);
	if (r->minor == 1 && r->host == NULL)
		fail("HTTP/1.1 without Host accepted", p);
	if (r->body_len != r->content_length || r->body_len > CA_MAX_JSON ||
	    (!r->has_length && r->content_length != 0) || r->body == NULL ||
	    r->body[r->body_len] != '\0')
		fail("bad body", p);
	if ((strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0) &&
	    r->body_len != 0)
		fail("GET or HEAD with a body", p);
	if (strcmp(r->method, "POST") == 0 && !r->has_length)
		fail("POST without Content-Length accepted", p);
	if (r->nheaders < 0 || r->nheaders > CA_MAX_HTTP_HEADERS)
		fail("bad header count", p);
	for (k = 0; k < r->nheaders; k++) {
		const char *v = p->hvalue[k];

		if (p->hname[k][0] == '\0' || !clean(p->hname[k], 0) ||
		    strpbrk(p->hname[k], " \t:") != NULL || !clean(v, 1) ||
		    (*v && (v[0] == ' ' || v[0] == '\t' || v[strlen(v) - 1] == ' ' ||
		    v[strlen(v) - 1] == '\t')))
			fail("bad header accepted", p);
	}
	if (!clean(r->host, 1) || !clean(r->authorization, 1) ||
	    !clean(r->content_type, 1))
		fail("control character handed out", p);
	if (r->host != http_header(p, "host") ||
	    r->authorization != http_header(p, "authorization") ||
	    r->content_type != http_header(p, "content-type"))
		fail("http_header disagrees with the request", p);
}

/* Written back canonically, the request reads as itself. */
static void
round_trip(const struct http_parser *p)
{
	const struct http_request *r = http_request(p);
	size_t n, used;
	int k, rc;

	n = (size_t)snprintf((char *)out, sizeof(out), "%s %s HTTP/1.%d\r\n",
	    r->method, r->target, r->minor);
	for (k = 0; k < r->nheaders; k++)
		n += (size_t)snprintf((char *)out + n, sizeof(out) - n, "%s: %s\r\n",
		    p->hname[k], p->hvalue[k]);
	memcpy(out + n, "\r\n", 2);
	n += 2;
	/* "name:value" became "name: value": it may no longer fit. */
	if (n > CA_MAX_HTTP_HEAD)
		return;
	memcpy(out + n, r->body, r->body_len);
	n += r->body_len;
	http_parser_init(&C);
	rc = http_feed(&C, out, n, &used);
	if (used != n)
		fail("canonical form not read whole", &C);
	same(p, HTTP_DONE, &C, rc, "canonical form reads differently");
}

static void
refusal(const struct http_parser *p)
{
	char head[512];

	switch (http_error_status(p)) {
	case 400: case 411: case 413: case 417: case 431: case 501: case 505:
		break;
	default:
		fail("refused with an unlisted status", p);
	}
	if (http_error_message(p)[0] == '\0')
		fail("refused without a message", p);
	if (http_response_head(head, sizeof(head), http_error_status(p),
	    "application/json", 100, 0, NULL) <= 0)
		fail("no response head for a refusal", p);
}

/* Read data as one connection, B fed in pieces (one byte each if bytewise). */
static void
connection(const uint8_t *data, size_t size, int bytewise)
{
	size_t off = 0, ua, ub, u, piece;
	int ra, rb;

	http_parser_init(&A);
	http_parser_init(&B);
	while (off < size) {
		ra = http_feed(&A, data + off, size - off, &ua);
		if (ra == HTTP_MORE && ua != size - off)
			fail("more, but not every byte taken", &A);
		if (ra == HTTP_DONE && (ua == 0 || ua > size - off))
			fail("done with a bad byte count", &A);
		rb = HTTP_MORE;
		ub = 0;
		while (rb == HTTP_MORE && off + ub < size) {
			piece = bytewise ? 1 : next_piece(size - off - ub);
			rb = http_feed(&B, data + off + ub, piece, &u);
			if (rb == HTTP_MORE && u != piece)
				fail("more, but not every byte of a piece taken", &B);
			/* A head read in pieces was read whole too. */
			if (rb == HTTP_MORE && http_head(&B) != NULL &&
			    (http_head(&A) == NULL ||
			    http_head(&A)->content_length != http_head(&B)->content_length ||
			    http_head(&B)->body != NULL))
				fail("head read in pieces but not whole", &B);
			ub += u;
		}
		same(&A, ra, &B, rb, bytewise ?
		    "one byte per call reads differently" :
		    "random pieces read differently");
		if (ra == HTTP_ERROR) {
			refusal(&A);
			return;
		}
		if (ra == HTTP_MORE)
			return;
		if (ua != ub)
			fail("pieces took a different number of bytes", &B);
		well_formed(&A, ua);
		round_trip(&A);
		off += ua;
		http_next(&A);
		http_next(&B);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t i;

	/* The split pattern is a function of the input: reproducible. */
	rng = 0x9e3779b97f4a7c15ULL;
	for (i = 0; i < size; i++)
		rng = (rng ^ data[i]) * 0x100000001b3ULL;
	if (rng == 0)
		rng = 1;
	connection(data, size, 0);
	if (size <= 4096)
		connection(data, size, 1);
	return 0;
}
