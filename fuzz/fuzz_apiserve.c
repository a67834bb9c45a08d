/*
 * fuzz_apiserve: the --api request stream (api_serve_stream), the framing
 * that finds each JSON object in a stream of hostile bytes before any
 * parsing: objects split anywhere, over-long objects, NULs, strings and
 * escapes that hide braces, input that ends inside an object.
 *
 * The input is written into a pipe by a second thread, once in one piece
 * and once in random pieces (sizes from a PRNG seeded by the input), each
 * piece read by the server before the next is written, so that the
 * framer meets every split.  The handler answers an object with a member
 * "fail" 403 and echoes any other.  Besides "no crash, no leak, no UB",
 * the harness aborts when:
 *
 *   - the two feeds give different answers or a different return code
 *     (framing must not depend on how the bytes arrive);
 *   - an answer line is not one JSON object followed by "\n";
 *   - an error answer carries a status other than 400, 403 and 413.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "apiserve.h"
#include "ca_limits.h"
#include "err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct feed {
	const uint8_t *data;
	size_t size;
	int fd;
	int split;
	int done;               /* the server returned (atomic) */
	uint64_t rng;
};

static size_t
next_piece(struct feed *f, size_t left)
{
	size_t n;

	f->rng = f->rng * 6364136223846793005ULL + 1442695040888963407ULL;
	n = 1 + (size_t)((f->rng >> 33) % 700);
	/* Now and then a piece that crosses the framer's buffer. */
	if (((f->rng >> 20) & 63) == 0)
		n = CA_MAX_JSON + 1;
	return n < left ? n : left;
}

static void *
writer(void *arg)
{
	struct feed *f = arg;
	size_t off = 0, n;
	ssize_t w;
	int queued;

	while (off < f->size) {
		n = f->split ? next_piece(f, f->size - off) : f->size - off;
		while (n > 0) {
			w = write(f->fd, f->data + off, n);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto out;       /* the server stopped reading */
			off += (size_t)w;
			n -= (size_t)w;
		}
		/* Wait until the server took this piece before the next. */
		while (f->split && !__atomic_load_n(&f->done, __ATOMIC_ACQUIRE) &&
		    ioctl(f->fd, FIONREAD, &queued) == 0 && queued > 0)
			sched_yield();
	}
out:
	close(f->fd);
	return NULL;
}

static void
handler(void *ctx, struct api_call *calls, size_t n)
{
	size_t i;

	(void)ctx;
	for (i = 0; i < n; i++) {
		if (json_object_get(calls[i].req, "fail") != NULL) {
			err_set(CA_REFUSED, "refused by the test handler");
			api_call_fail(&calls[i], 403, CA_REFUSED);
		} else
			api_call_ok(&calls[i], calls[i].req);
	}
}

/* Serve data fed whole or in pieces; the answers are returned (malloc'd). */
static char *
serve(const uint8_t *data, size_t size, int split, int *rc, size_t *outlen)
{
	struct api_server s;
	struct feed f;
	pthread_t t;
	int p[2], out;
	off_t len;
	char *ans;

	memset(&s, 0, sizeof(s));
	s.handler = handler;
	s.max_batch = 4;
	if (pipe(p) != 0 || (out = memfd_create("answers", 0)) < 0)
		abort();
	f.data = data;
	f.size = size;
	f.fd = p[1];
	f.split = split;
	f.done = 0;
	f.rng = 0x9e3779b97f4a7c15ULL ^ size;
	if (size > 0)
		f.rng ^= data[0] | (uint64_t)data[size - 1] << 8;
	if (pthread_create(&t, NULL, writer, &f) != 0)
		abort();
	*rc = api_serve_stream(&s, p[0], out);
	/* The server may stop early (unframeable input): unblock the writer. */
	__atomic_store_n(&f.done, 1, __ATOMIC_RELEASE);
	close(p[0]);
	pthread_join(t, NULL);
	len = lseek(out, 0, SEEK_END);
	if (len < 0 || (ans = malloc((size_t)len + 1)) == NULL)
		abort();
	if (pread(out, ans, (size_t)len, 0) != len)
		abort();
	ans[len] = '\0';
	*outlen = (size_t)len;
	close(out);
	err_clear();
	return ans;
}

static void
check_lines(const char *ans, size_t len)
{
	const char *p = ans, *nl;
	json_error_t e;
	json_t *j, *st;

	while (p < ans + len) {
		if ((nl = memchr(p, '\n', (size_t)(ans + len - p))) == NULL) {
			fprintf(stderr, "fuzz_apiserve: an answer without its newline\n");
			abort();
		}
		j = json_loadb(p, (size_t)(nl - p), 0, &e);
		if (!json_is_object(j)) {
			fprintf(stderr, "fuzz_apiserve: an answer that is not one JSON object: %.*s\n",
			    (int)(nl - p), p);
			abort();
		}
		st = json_object_get(j, "status");
		if (json_is_integer(st) && json_object_get(j, "message") != NULL &&
		    json_object_size(j) == 2) {
			json_int_t v = json_integer_value(st);

			if (v != 400 && v != 403 && v != 413) {
				fprintf(stderr, "fuzz_apiserve: unexpected status %lld\n",
				    (long long)v);
				abort();
			}
		}
		json_decref(j);
		p = nl + 1;
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	err_prog("fuzz_apiserve");
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *a, *b;
	size_t alen, blen;
	int arc, brc;

	/* A few objects over the limit at most: the cost stays per input. */
	if (size > 3 * CA_MAX_JSON)
		return 0;
	a = serve(data, size, 0, &arc, &alen);
	b = serve(data, size, 1, &brc, &blen);
	if (arc != brc || alen != blen || memcmp(a, b, alen) != 0) {
		fprintf(stderr, "fuzz_apiserve: answers differ when split "
		    "(rc %d vs %d):\n%s\n---\n%s\n", arc, brc, a, b);
		abort();
	}
	check_lines(a, alen);
	free(a);
	free(b);
	ERR_clear_error();
	return 0;
}
