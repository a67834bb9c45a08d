/*
 * loadgen: an HTTPS load generator for the online CA benchmark.
 *
 * N client threads (default 8) send requests to one server for a duration
 * or a number of requests, either over a new TLS connection per request
 * (full handshake: no session cache, no tickets, nothing resumed) or over
 * one kept-alive connection per client.  Each POST body is the next line of
 * a file of bodies (one JSON object a line: a fresh one-time token each), or
 * one fixed body for every request.  The server is verified against --cacert
 * alone; every response's status must be --expect.  Prints one JSON object:
 * requests, errors, seconds, req/s and latency percentiles.
 *
 * Not part of the product: built by `make bench/loadgen` for bench/serve.sh.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define HEAD_MAX   16384          /* response head we accept */
#define BODY_MAX   (1024 * 1024)  /* response body we accept */
#define ERRS_SHOWN 3              /* failures described on stderr */

struct body {
	const char *p;
	size_t n;
};

struct conn {
	int fd;
	SSL *ssl;
	char *buf;       /* bytes read and not yet consumed */
	size_t len, cap;
};

struct client {
	pthread_t tid;
	double *lat;     /* ms per successful request, grown as needed */
	size_t nlat, caplat;
	long requests, errors, connects, connfail;
};

static const char *prog = "loadgen";
static SSL_CTX *ctx;
static struct addrinfo *addr;
static const char *host, *hosthdr, *path = "/", *method;
static struct body *bodies;
static size_t nbodies;
static char *bodytext;           /* the --bodies file, bodies point into it */
static struct body fixed;
static int keepalive, expect = 200, verbose;
static long limit;               /* requests to send; 0: until the duration ends */
static long next_req;            /* atomic: next request (and body) index */
static int stop;                 /* atomic: the duration is over */
static int errs_shown;           /* atomic */
static int host_is_ip;
static struct timeval io_timeout = { 30, 0 };

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static void
usage(int code)
{
	fprintf(code ? stderr : stdout,
	    "usage: %s --connect HOST:PORT --cacert FILE [--host NAME] [--path PATH]\n"
	    "               [--method GET|POST] [--bodies FILE | --body FILE]\n"
	    "               [--clients N] [--duration S] [--requests N] [--keepalive]\n"
	    "               [--expect STATUS] [--timeout S] [--tls 1.2|1.3] [-v]\n"
	    "  --connect HOST:PORT  server address (a literal IP or a name)\n"
	    "  --cacert FILE        the only certificates trusted to verify the server\n"
	    "  --host NAME          name to verify and send as Host (default: HOST)\n"
	    "  --path PATH          request target (default /)\n"
	    "  --method M           GET or POST (default POST with a body, else GET)\n"
	    "  --bodies FILE        one POST body per line, each used once, in order;\n"
	    "                       the run ends when they run out\n"
	    "  --body FILE          the whole file as the body of every request\n"
	    "  --clients N          concurrent clients, one thread each (default 8)\n"
	    "  --duration S         seconds to run (default: 10, or with --bodies until\n"
	    "                       they are spent; with --requests, until they are sent)\n"
	    "  --requests N         requests to send in all\n"
	    "  --keepalive          one connection per client for all its requests\n"
	    "                       (default: a new connection, full handshake, per request)\n"
	    "  --expect STATUS      the status every response must have (default 200)\n"
	    "  --timeout S          a read or write that waits longer fails (default 30)\n"
	    "  --tls V              highest TLS version offered (default: OpenSSL's)\n"
	    "  -v                   describe the first failures on stderr\n", prog);
	exit(code);
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
number(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("%s: a number from %ld to %ld", opt, min, max);
	return v;
}

static char *
slurp(const char *file, size_t *len)
{
	FILE *f = fopen(file, "rb");
	char *p = NULL;
	size_t n = 0, cap = 0, r;

	if (!f)
		die("%s: %s", file, strerror(errno));
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 1 << 20;
			if (!(p = realloc(p, cap + 1)))
				die("out of memory");
		}
		r = fread(p + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f))
		die("%s: read error", file);
	fclose(f);
	p[n] = '\0';
	*len = n;
	return p;
}

/* Split FILE into its non-empty lines; the text stays allocated for the run. */
static void
load_bodies(const char *file)
{
	size_t len, cap = 0, i = 0;
	char *p = bodytext = slurp(file, &len), *e;

	while (i < len) {
		e = memchr(p + i, '\n', len - i);
		size_t n = (e ? (size_t)(e - p) : len) - i;
		if (n > 0) {
			if (nbodies == cap) {
				cap = cap ? cap * 2 : 1024;
				if (!(bodies = realloc(bodies, cap * sizeof(*bodies))))
					die("out of memory");
			}
			bodies[nbodies].p = p + i;
			bodies[nbodies].n = n;
			nbodies++;
		}
		i += n + 1;
	}
	if (nbodies == 0)
		die("%s: no bodies", file);
}

static void
fail(struct client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Count one failed request; describe the first few with -v. */
static void
fail(struct client *c, const char *fmt, ...)
{
	va_list ap;

	c->errors++;
	if (!verbose || __atomic_fetch_add(&errs_shown, 1, __ATOMIC_RELAXED) >= ERRS_SHOWN)
		return;
	flockfile(stderr);
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	unsigned long e = ERR_peek_error();
	if (e) {
		char b[256];
		ERR_error_string_n(e, b, sizeof(b));
		fprintf(stderr, " (%s)", b);
	}
	fputc('\n', stderr);
	funlockfile(stderr);
}

static void
conn_close(struct conn *k)
{
	if (k->ssl) {
		SSL_shutdown(k->ssl);   /* close_notify, as a polite client sends */
		SSL_free(k->ssl);
		k->ssl = NULL;
	}
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	k->len = 0;
	ERR_clear_error();
}

static int
conn_open(struct conn *k)
{
	int one = 1;

	k->fd = socket(addr->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (k->fd < 0)
		return -1;
	setsockopt(k->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* a server that stops answering fails the request, not the run */
	setsockopt(k->fd, SOL_SOCKET, SO_RCVTIMEO, &io_timeout, sizeof(io_timeout));
	setsockopt(k->fd, SOL_SOCKET, SO_SNDTIMEO, &io_timeout, sizeof(io_timeout));
	if (connect(k->fd, addr->ai_addr, addr->ai_addrlen) < 0)
		return -1;
	if (!(k->ssl = SSL_new(ctx)))
		return -1;
	if (host_is_ip) {
		if (!X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(k->ssl), host))
			return -1;
	} else if (!SSL_set1_host(k->ssl, host) ||
	    !SSL_set_tlsext_host_name(k->ssl, host))
		return -1;
	if (!SSL_set_fd(k->ssl, k->fd) || SSL_connect(k->ssl) != 1)
		return -1;
	return 0;
}

static int
send_all(struct conn *k, const char *p, size_t n)
{
	while (n > 0) {
		int w = SSL_write(k->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read more into k->buf; 0 at end of stream, -1 on error, else bytes read. */
static int
fill(struct conn *k)
{
	int r;

	if (k->cap - k->len < 16384) {
		if (k->cap >= HEAD_MAX + BODY_MAX + 65536)
			return -1;
		k->cap = k->cap ? k->cap * 2 : 65536;
		if (!(k->buf = realloc(k->buf, k->cap)))
			die("out of memory");
	}
	r = SSL_read(k->ssl, k->buf + k->len, (int)(k->cap - k->len));
	if (r > 0) {
		k->len += (size_t)r;
		return r;
	}
	return SSL_get_error(k->ssl, r) == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

static void
consume(struct conn *k, size_t n)
{
	memmove(k->buf, k->buf + n, k->len - n);
	k->len -= n;
}

/*
 * Read one response.  Returns its status, or -1 if it could not be read;
 * *closing is set when the server will not take another request on this
 * connection.  The body is read in full (Content-Length, chunked, or to
 * the end of the stream) and its first bytes kept in snip for messages.
 */
static int
read_response(struct conn *k, int *closing, char *snip, size_t snipsz)
{
	char *eoh = NULL, *line, *next;
	size_t head, clen = 0;
	int status = -1, chunked = 0, has_len = 0, minor = 1, r;

	*closing = 0;
	snip[0] = '\0';
	while (!(eoh = memmem(k->buf, k->len, "\r\n\r\n", 4))) {
		if (k->len > HEAD_MAX || fill(k) <= 0)
			return -1;
	}
	head = (size_t)(eoh - k->buf) + 4;
	*eoh = '\0';
	if (sscanf(k->buf, "HTTP/1.%d %3d", &minor, &status) != 2)
		return -1;
	if (minor == 0)
		*closing = 1;
	next = strstr(k->buf, "\r\n");
	while (next) {
		line = next + 2;
		if ((next = strstr(line, "\r\n")))
			*next = '\0';
		if (!strncasecmp(line, "content-length:", 15)) {
			clen = strtoul(line + 15, NULL, 10);
			has_len = 1;
		} else if (!strncasecmp(line, "transfer-encoding:", 18) &&
		    strcasestr(line + 18, "chunked")) {
			chunked = 1;
		} else if (!strncasecmp(line, "connection:", 11)) {
			if (strcasestr(line + 11, "close"))
				*closing = 1;
			else if (strcasestr(line + 11, "keep-alive"))
				*closing = 0;
		}
	}
	consume(k, head);
	if (chunked) {
		size_t got = 0;
		for (;;) {
			char *crlf;
			while (!(crlf = memmem(k->buf, k->len, "\r\n", 2)))
				if (fill(k) <= 0)
					return -1;
			size_t n = strtoul(k->buf, NULL, 16);
			consume(k, (size_t)(crlf - k->buf) + 2);
			if (n == 0) {
				/* no trailers expected: the final CRLF */
				while (k->len < 2)
					if (fill(k) <= 0)
						return -1;
				consume(k, 2);
				break;
			}
			if (n > BODY_MAX)
				return -1;
			while (k->len < n + 2)
				if (fill(k) <= 0)
					return -1;
			if (got < snipsz - 1) {
				size_t m = n < snipsz - 1 - got ? n : snipsz - 1 - got;
				memcpy(snip + got, k->buf, m);
				got += m;
				snip[got] = '\0';
			}
			consume(k, n + 2);
		}
	} else if (has_len) {
		if (clen > BODY_MAX)
			return -1;
		while (k->len < clen)
			if (fill(k) <= 0)
				return -1;
		size_t m = clen < snipsz - 1 ? clen : snipsz - 1;
		memcpy(snip, k->buf, m);
		snip[m] = '\0';
		consume(k, clen);
	} else if (status >= 200 && status != 204 && status != 304) {
		/* delimited by the end of the stream */
		while ((r = fill(k)) > 0)
			;
		if (r < 0)
			return -1;
		size_t m = k->len < snipsz - 1 ? k->len : snipsz - 1;
		memcpy(snip, k->buf, m);
		snip[m] = '\0';
		k->len = 0;
		*closing = 1;
	}
	return status;
}

static void
record(struct client *c, double ms)
{
	if (c->nlat == c->caplat) {
		c->caplat = c->caplat ? c->caplat * 2 : 4096;
		if (!(c->lat = realloc(c->lat, c->caplat * sizeof(*c->lat))))
			die("out of memory");
	}
	c->lat[c->nlat++] = ms;
}

static void *
run(void *arg)
{
	struct client *c = arg;
	struct conn k = { .fd = -1 };
	char head[1024], snip[160];
	int n;

	for (;;) {
		if (__atomic_load_n(&stop, __ATOMIC_RELAXED))
			break;
		long i = __atomic_fetch_add(&next_req, 1, __ATOMIC_RELAXED);
		if (limit && i >= limit)
			break;
		const struct body *b = bodies ? &bodies[i] : &fixed;
		double t0 = now();
		c->requests++;
		if (!k.ssl) {
			c->connects++;
			errno = 0;
			if (conn_open(&k) < 0) {
				c->connfail++;
				fail(c, "connect/handshake failed: %s",
				    errno ? strerror(errno) : "TLS");
				conn_close(&k);
				continue;
			}
		}
		if (b->p)
			n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n"
			    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
			    "%s\r\n", method, path, hosthdr, b->n,
			    keepalive ? "" : "Connection: close\r\n");
		else
			n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n",
			    method, path, hosthdr, keepalive ? "" : "Connection: close\r\n");
		if (n < 0 || (size_t)n >= sizeof(head))
			die("request head too long");
		int closing = 1, status = -1;
		/* one write for small requests: head and body in the same record */
		if (b->p && b->n + (size_t)n <= 16384) {
			char one[16384];
			memcpy(one, head, (size_t)n);
			memcpy(one + n, b->p, b->n);
			if (send_all(&k, one, (size_t)n + b->n) == 0)
				status = read_response(&k, &closing, snip, sizeof(snip));
		} else if (send_all(&k, head, (size_t)n) == 0 &&
		    (!b->p || send_all(&k, b->p, b->n) == 0)) {
			status = read_response(&k, &closing, snip, sizeof(snip));
		}
		if (status < 0)
			fail(c, "request %ld: no response", i);
		else if (status != expect)
			fail(c, "request %ld: status %d: %s", i, status, snip);
		else
			record(c, (now() - t0) * 1e3);
		if (status < 0 || closing || !keepalive)
			conn_close(&k);
	}
	conn_close(&k);
	free(k.buf);
	return NULL;
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double
pct(const double *v, size_t n, double p)
{
	size_t r;

	if (n == 0)
		return 0;
	r = (size_t)(p / 100.0 * (double)n + 0.999999);
	if (r < 1)
		r = 1;
	return v[r > n ? n - 1 : r - 1];
}

int
main(int argc, char **argv)
{
	const char *connect_to = NULL, *cacert = NULL, *bodyfile = NULL;
	const char *fixedfile = NULL, *tls = NULL;
	long clients = 8, duration = -1;
	struct client *cl;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
	char hostbuf[256], *port;
	int i, rc;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
#define ARG() (i + 1 < argc ? argv[++i] : (usage(2), ""))
		if (!strcmp(a, "--connect"))
			connect_to = ARG();
		else if (!strcmp(a, "--cacert"))
			cacert = ARG();
		else if (!strcmp(a, "--host"))
			hosthdr = ARG();
		else if (!strcmp(a, "--path"))
			path = ARG();
		else if (!strcmp(a, "--method"))
			method = ARG();
		else if (!strcmp(a, "--bodies"))
			bodyfile = ARG();
		else if (!strcmp(a, "--body"))
			fixedfile = ARG();
		else if (!strcmp(a, "--clients"))
			clients = number(a, ARG(), 1, 1024);
		else if (!strcmp(a, "--duration"))
			duration = number(a, ARG(), 1, 86400);
		else if (!strcmp(a, "--requests"))
			limit = number(a, ARG(), 1, LONG_MAX / 2);
		else if (!strcmp(a, "--keepalive"))
			keepalive = 1;
		else if (!strcmp(a, "--expect"))
			expect = (int)number(a, ARG(), 100, 599);
		else if (!strcmp(a, "--timeout"))
			io_timeout.tv_sec = number(a, ARG(), 1, 3600);
		else if (!strcmp(a, "--tls"))
			tls = ARG();
		else if (!strcmp(a, "-v"))
			verbose = 1;
		else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			usage(0);
		else {
			fprintf(stderr, "%s: unknown argument: %s\n", prog, a);
			usage(2);
		}
#undef ARG
	}
	if (!connect_to || !cacert)
		usage(2);
	if (bodyfile && fixedfile)
		die("--bodies and --body exclude each other");
	/* without --requests or --duration: 10 s, or until the bodies are spent */
	if (duration < 0 && !limit && !bodyfile)
		duration = 10;
	if (!method)
		method = bodyfile || fixedfile ? "POST" : "GET";
	if (bodyfile) {
		load_bodies(bodyfile);
		if (!limit || (size_t)limit > nbodies)
			limit = (long)nbodies;
	} else if (fixedfile) {
		fixed.p = slurp(fixedfile, &fixed.n);
		while (fixed.n > 0 && (fixed.p[fixed.n - 1] == '\n' || fixed.p[fixed.n - 1] == '\r'))
			fixed.n--;
	}

	if (strlen(connect_to) >= sizeof(hostbuf))
		die("--connect: too long");
	strcpy(hostbuf, connect_to);
	if (hostbuf[0] == '[') {          /* [v6]:port */
		char *e = strchr(hostbuf, ']');
		if (!e || e[1] != ':')
			die("--connect: [ADDRESS]:PORT");
		*e = '\0';
		host = hostbuf + 1;
		port = e + 2;
	} else {
		if (!(port = strrchr(hostbuf, ':')))
			die("--connect: HOST:PORT");
		*port++ = '\0';
		host = hostbuf;
	}
	if ((rc = getaddrinfo(host, port, &hints, &addr)) != 0)
		die("%s: %s", connect_to, gai_strerror(rc));
	if (hosthdr)
		host = hosthdr;         /* the name to verify */
	else
		hosthdr = connect_to;
	{
		struct in6_addr a6;
		host_is_ip = inet_pton(AF_INET, host, &a6) == 1 ||
		    inet_pton(AF_INET6, host, &a6) == 1;
	}

	signal(SIGPIPE, SIG_IGN);
	if (!(ctx = SSL_CTX_new(TLS_client_method())))
		die("SSL_CTX_new failed");
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	if (tls && !SSL_CTX_set_max_proto_version(ctx, !strcmp(tls, "1.2") ?
	    TLS1_2_VERSION : !strcmp(tls, "1.3") ? TLS1_3_VERSION : -1))
		die("--tls: 1.2 or 1.3");
	/* every new connection a full handshake */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, cacert, NULL) != 1)
		die("%s: cannot load the certificates", cacert);

	if (!(cl = calloc((size_t)clients, sizeof(*cl))))
		die("out of memory");
	double t0 = now();
	for (i = 0; i < clients; i++)
		if ((rc = pthread_create(&cl[i].tid, NULL, run, &cl[i])) != 0)
			die("pthread_create: %s", strerror(rc));
	if (duration > 0) {
		/* sleep in steps, so that a --requests run that ends first ends the wait */
		double end = t0 + (double)duration;
		while (now() < end) {
			if (limit && __atomic_load_n(&next_req, __ATOMIC_RELAXED) >= limit + clients)
				break;
			struct timespec ts = { 0, 20 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	}
	for (i = 0; i < clients; i++)
		pthread_join(cl[i].tid, NULL);
	double secs = now() - t0;

	long requests = 0, errors = 0, connects = 0, connfail = 0;
	size_t n = 0;
	for (i = 0; i < clients; i++) {
		requests += cl[i].requests;
		errors += cl[i].errors;
		connects += cl[i].connects;
		connfail += cl[i].connfail;
		n += cl[i].nlat;
	}
	double *all = malloc((n ? n : 1) * sizeof(*all)), sum = 0;
	if (!all)
		die("out of memory");
	n = 0;
	for (i = 0; i < clients; i++) {
		memcpy(all + n, cl[i].lat, cl[i].nlat * sizeof(*all));
		n += cl[i].nlat;
	}
	qsort(all, n, sizeof(*all), cmpd);
	for (size_t j = 0; j < n; j++)
		sum += all[j];
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;

	printf("{\"mode\":\"%s\",\"clients\":%ld,\"requests\":%ld,\"ok\":%zu,"
	    "\"errors\":%ld,\"connections\":%ld,\"connect_errors\":%ld,"
	    "\"seconds\":%.3f,\"rps\":%.1f,\"mean_ms\":%.3f,\"p50_ms\":%.3f,"
	    "\"p90_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,\"client_cpu_s\":%.3f,"
	    "\"bodies_left\":%ld}\n",
	    keepalive ? "keepalive" : "new", clients, requests, n, errors,
	    connects, connfail, secs, (double)n / secs, n ? sum / (double)n : 0.0,
	    pct(all, n, 50), pct(all, n, 90), pct(all, n, 99),
	    n ? all[n - 1] : 0.0, cpu,
	    bodies ? (long)nbodies - (requests < (long)nbodies ? requests : (long)nbodies) : -1L);
	for (i = 0; i < clients; i++)
		free(cl[i].lat);
	free(cl);
	free(all);
	free(bodies);
	free(bodytext);
	free((char *)fixed.p);
	SSL_CTX_free(ctx);
	freeaddrinfo(addr);
	return errors ? 3 : 0;
}
