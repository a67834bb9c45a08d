/*
 * fuzz_hop: ca-serve's side of the handler stream (ca-serve/hop.c,
 * hop_call): one request line out, the handler's bytes back, which a
 * broken or hostile handler chooses: no newline, a line over the limit,
 * two lines, NULs, bytes split anywhere.
 *
 * The handler is a thread on the other end of a socket pair: it reads the
 * request line, then writes the input in random pieces (sizes from a PRNG
 * seeded by the input), each taken by hop_call before the next is sent,
 * and closes.  Besides "no crash, no leak, no UB", the harness aborts
 * when:
 *
 *   - hop_call returns anything but 0 or 500;
 *   - it returns 0 with a response that is not the input's first line
 *     (without its newline, NUL-terminated), or for an input whose first
 *     line is longer than a response may be, or that has no newline;
 *   - it returns 500 for an input that is exactly one line within the
 *     limit (nothing after its newline).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>

#include "../ca-serve/hop.c"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What ca-serve's other parts give hop.c. */
void
log_msg(const char *fmt, ...)
{
	(void)fmt;
}

struct feed {
	const uint8_t *data;
	size_t size;
	int fd;
	uint64_t rng;
};

static void *
handler(void *arg)
{
	struct feed *f = arg;
	size_t off = 0, n;
	ssize_t r;
	char c;
	int queued;

	/* The request line first, as a handler reads it. */
	for (;;) {
		r = read(f->fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
	}
	while (off < f->size) {
		f->rng = f->rng * 6364136223846793005ULL + 1442695040888963407ULL;
		n = 1 + (size_t)((f->rng >> 33) % 3000);
		if (((f->rng >> 20) & 31) == 0)
			n = HOP_MAX_RESPONSE;
		if (n > f->size - off)
			n = f->size - off;
		r = write(f->fd, f->data + off, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;          /* hop_call gave up and closed */
		off += (size_t)r;
		/* Wait until hop_call read this piece. */
		while (ioctl(f->fd, TIOCOUTQ, &queued) == 0 && queued > 0)
			sched_yield();
	}
	shutdown(f->fd, SHUT_WR);
	return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char req[] = "{\"csr\":\"x\",\"ott\":\"y\"}\n";
	struct feed f;
	struct hop h;
	pthread_t t;
	const uint8_t *nl;
	char *resp;
	size_t resp_len, first;
	int sv[2], rc;

	if (size > 2 * HOP_MAX_RESPONSE + 16)
		return 0;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		abort();
	hop_init(&h, HK_SIGN, "/nonexistent/handler.sock", NULL, NULL);
	set_nonblock(sv[0]);
	h.wfd = h.rfd = sv[0];
	f.data = data;
	f.size = size;
	f.fd = sv[1];
	f.rng = 0x9e3779b97f4a7c15ULL ^ size;
	if (size > 0)
		f.rng ^= data[0] | (uint64_t)data[size - 1] << 8;
	if (pthread_create(&t, NULL, handler, &f) != 0)
		abort();
	rc = hop_call(&h, req, sizeof(req) - 1, now_ms() + 20000, &resp, &resp_len);
	hop_close(&h);
	pthread_join(t, NULL);
	close(sv[1]);

	nl = memchr(data, '\n', size);
	first = nl != NULL ? (size_t)(nl - data) : size;
	if (rc != 0 && rc != 500) {
		fprintf(stderr, "fuzz_hop: hop_call returned %d\n", rc);
		abort();
	}
	if (rc == 0) {
		if (nl == NULL || first >= HOP_MAX_RESPONSE) {
			fprintf(stderr, "fuzz_hop: a response accepted without a "
			    "newline within %d bytes\n", HOP_MAX_RESPONSE);
			abort();
		}
		if (resp_len != first || memcmp(resp, data, first) != 0 ||
		    resp[resp_len] != '\0') {
			fprintf(stderr, "fuzz_hop: the response is not the first line\n");
			abort();
		}
		free(resp);
	} else if (nl != NULL && first + 1 == size && first + 1 <= HOP_MAX_RESPONSE) {
		fprintf(stderr, "fuzz_hop: one line of %zu bytes refused\n", first);
		abort();
	}
	err_clear();
	ERR_clear_error();
	return 0;
}
