/*
 * apiserve: streams of --api requests, on stdin/stdout or on a socket
 * (see apiserve.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "apiserve.h"
#include "ca_limits.h"
#include "err.h"
#include "io.h"
#include "jsonerr.h"
#include "timeutil.h"

/* Bytes read at a time; the input buffer holds one object and a read. */
#define READ_CHUNK	16384
#define FR_CAP		(CA_MAX_JSON + READ_CHUNK)

/* ---- framing ---------------------------------------------------------- */

enum fr_event {
	FR_NONE,        /* more input needed */
	FR_OBJECT,      /* a whole object of at most CA_MAX_JSON bytes */
	FR_TOOBIG,      /* an object over CA_MAX_JSON bytes ended (or the input) */
	FR_PARTIAL,     /* the input ended inside an object */
	FR_BAD          /* a value that does not start with '{' */
};

/*
 * One stream's input.  buf[start..scan) is the part of the current object
 * scanned so far (or whitespace already passed), buf[scan..len) is not
 * scanned yet.  The bytes of an object found too big are dropped as
 * they are scanned; objlen counts them all the same.
 */
struct framer {
	unsigned char *buf;
	size_t len, start, scan, objlen;
	int in_obj, in_str, esc, depth, skip;
};

static int
is_ws(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/*
 * The next event of fr; for FR_OBJECT and FR_PARTIAL the bytes are at
 * buf + *off, *n of them, valid until the next fr_room().  eof: no more
 * input will come.
 */
static enum fr_event
fr_next(struct framer *fr, int eof, size_t *off, size_t *n)
{
	int c, big;

	while (fr->scan < fr->len) {
		c = fr->buf[fr->scan];
		if (!fr->in_obj) {
			if (is_ws(c)) {
				fr->start = ++fr->scan;
				continue;
			}
			if (c != '{') {
				*off = fr->scan;
				*n = fr->len - fr->scan;
				return FR_BAD;
			}
			fr->in_obj = 1;
			fr->in_str = fr->esc = fr->depth = fr->skip = 0;
			fr->objlen = 0;
		}
		fr->scan++;
		fr->objlen++;
		if (fr->in_str) {
			if (fr->esc)
				fr->esc = 0;
			else if (c == '\\')
				fr->esc = 1;
			else if (c == '"')
				fr->in_str = 0;
		} else if (c == '"')
			fr->in_str = 1;
		else if (c == '{')
			fr->depth++;
		else if (c == '}' && --fr->depth == 0) {
			fr->in_obj = 0;
			big = fr->skip || fr->objlen > CA_MAX_JSON;
			*off = fr->start;
			*n = fr->scan - fr->start;
			fr->start = fr->scan;
			return big ? FR_TOOBIG : FR_OBJECT;
		}
		if (fr->objlen > CA_MAX_JSON)
			fr->skip = 1;
	}
	if (fr->in_obj && fr->skip)
		fr->len = fr->start = fr->scan = 0;     /* nothing of it is kept */
	if (eof && fr->in_obj) {
		fr->in_obj = 0;
		*off = fr->start;
		*n = fr->len - fr->start;
		fr->start = fr->scan = fr->len;
		return fr->skip ? FR_TOOBIG : FR_PARTIAL;
	}
	return FR_NONE;
}

/* Room for the next read: the bytes passed are dropped.  0 if none. */
static size_t
fr_room(struct framer *fr)
{
	if (fr->start > 0) {
		memmove(fr->buf, fr->buf + fr->start, fr->len - fr->start);
		fr->len -= fr->start;
		fr->scan -= fr->start;
		fr->start = 0;
	}
	if (fr->buf == NULL && (fr->buf = malloc(FR_CAP)) == NULL)
		return 0;
	return FR_CAP - fr->len;
}

/* Drop the buffer when nothing is in it (an idle connection costs little). */
static void
fr_trim(struct framer *fr)
{
	if (fr->buf != NULL && fr->start == fr->len && !fr->in_obj) {
		free(fr->buf);
		fr->buf = NULL;
		fr->len = fr->start = fr->scan = 0;
	}
}

static void
fr_free(struct framer *fr)
{
	free(fr->buf);
	memset(fr, 0, sizeof(*fr));
}

/* ---- answers ---------------------------------------------------------- */

void
api_call_ok(struct api_call *c, const json_t *resp)
{
	free(c->body);
	if ((c->body = json_dumps(resp, JSON_COMPACT)) == NULL) {
		err_set(CA_FAIL, "encoding the response failed");
		api_call_fail(c, 500, CA_FAIL);
		return;
	}
	c->code = CA_OK;
	c->status = 200;
}

void
api_call_fail(struct api_call *c, int status, int code)
{
	free(c->body);
	c->body = strdup(err_msg());
	c->code = code == CA_OK ? CA_FAIL : code;
	c->status = status;
}

/*
 * The error object of a failure as a line (malloc'd).  A message that is
 * not UTF-8 has its other bytes replaced, so that the line is JSON.
 */
static char *
error_line(int status, const char *msg)
{
	json_t *o, *m;
	char *s, *line = NULL, *copy = NULL;
	size_t i;

	if ((m = json_string(msg)) == NULL && (copy = strdup(msg)) != NULL) {
		for (i = 0; copy[i] != '\0'; i++)
			if ((unsigned char)copy[i] >= 0x80)
				copy[i] = '?';
		m = json_string(copy);
	}
	free(copy);
	if (m == NULL)
		return NULL;
	o = json_pack("{s:i, s:o}", "status", status, "message", m);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s != NULL && (line = malloc(strlen(s) + 2)) != NULL)
		snprintf(line, strlen(s) + 2, "%s\n", s);
	free(s);
	return line;
}

/* ---- connections ------------------------------------------------------ */

struct conn {
	int in, out;
	int sock;               /* in == out, a non-blocking socket */
	struct framer fr;
	unsigned char *obuf;    /* answers not yet written */
	size_t olen, ooff;
	int ended;              /* end of input seen (or a read error) */
	int noread;             /* read no more (stopping, unframeable) */
	int dead;               /* drop at once */
	int drained;            /* no whole request buffered */
	int first_fail;         /* the code of the first failure, or CA_OK */
};

/* A request taken from a connection, answered in order. */
struct item {
	struct conn *c;
	long k;                 /* its call in the batch, or -1: pre */
	struct api_call pre;    /* a framing failure, answered here */
};

struct batch {
	struct item *items;
	struct api_call *calls;
	size_t nitems, ncalls, max;
};

static void
conn_free(struct conn *c)
{
	fr_free(&c->fr);
	free(c->obuf);
	c->obuf = NULL;
	c->olen = c->ooff = 0;
}

/* A framing failure: the message is recorded. */
static void
pre_fail(struct item *it, int status)
{
	api_call_fail(&it->pre, status, CA_INPUT);
}

/*
 * Has the peer of socket fd hung up both ways (closed, or shut down
 * reading and writing)?  A peer that only ended its requests (shutdown
 * for writing) still reads its answers: not hung up.
 */
static int
hung_up(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0 && (p.revents & POLLHUP);
}

/*
 * Take c's next request into b: CA_OK with one item added, else
 * CA_REFUSED: nothing (more) to take from c now.
 */
static int
take(struct batch *b, struct conn *c)
{
	struct item *it;
	json_error_t je;
	json_t *req;
	char why[JSONERR_LEN];
	size_t off = 0, n = 0;
	enum fr_event ev;

	if (c->dead || b->nitems >= b->max || c->fr.buf == NULL)
		return CA_REFUSED;
	ev = fr_next(&c->fr, c->ended, &off, &n);
	if (ev == FR_NONE) {
		c->drained = 1;
		return CA_REFUSED;
	}
	it = &b->items[b->nitems++];
	memset(it, 0, sizeof(*it));
	it->c = c;
	it->k = -1;
	switch (ev) {
	case FR_OBJECT:
		if (c->sock && hung_up(c->in)) {
			/*
			 * Nobody waits for the answer: ca-serve withdrew the
			 * request (not taken in time) and told its client to
			 * send it again, so it must not be acted on.
			 */
			err_set(CA_UNAVAIL, "request: its sender hung up "
			    "before it was taken: not acted on");
			api_call_fail(&it->pre, 503, CA_UNAVAIL);
			c->noread = 1;
			break;
		}
		req = json_loadb((const char *)c->fr.buf + off, n,
		    JSON_REJECT_DUPLICATES, &je);
		if (req == NULL) {
			err_set(CA_INPUT, "request: malformed JSON: %s",
			    jsonerr_text(&je, why, sizeof(why)));
			pre_fail(it, 400);
			break;
		}
		it->k = (long)b->ncalls;
		memset(&b->calls[b->ncalls], 0, sizeof(b->calls[0]));
		b->calls[b->ncalls].req = req;
		b->calls[b->ncalls].code = CA_FAIL;
		b->calls[b->ncalls].status = 500;
		b->ncalls++;
		break;
	case FR_TOOBIG:
		err_set(CA_INPUT, "request: input exceeds %d bytes", CA_MAX_JSON);
		pre_fail(it, 413);
		break;
	case FR_PARTIAL:
	case FR_BAD:
		/*
		 * The stream ends.  Input that ended inside an object is all
		 * here: what jansson makes of it names the fault.  A value
		 * that does not start with '{' is not an object, whatever
		 * follows; its bytes are not parsed, since how many of them
		 * have been read depends on how the input arrived.
		 */
		if (ev == FR_BAD) {
			err_set(CA_INPUT, "request: malformed JSON: not an object");
		} else {
			req = json_loadb((const char *)c->fr.buf + off, n,
			    JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &je);
			err_set(CA_INPUT, "request: malformed JSON: %s",
			    req != NULL ? "not an object" :
			    jsonerr_text(&je, why, sizeof(why)));
			json_decref(req);
		}
		pre_fail(it, 400);
		c->noread = 1;
		fr_free(&c->fr);
		break;
	default:
		break;
	}
	return CA_OK;
}

/* Append a line to c's answers; a connection over API_OUT_MAX is dropped. */
static void
put(struct conn *c, const char *line, size_t n)
{
	unsigned char *p;

	if (c->dead)
		return;
	if (c->olen + n > API_OUT_MAX || (p = realloc(c->obuf, c->olen + n)) == NULL) {
		c->dead = 1;
		return;
	}
	memcpy(p + c->olen, line, n);
	c->obuf = p;
	c->olen += n;
}

/* Answer every item of b in order, and empty b. */
static void
answer(const struct api_server *s, struct batch *b)
{
	struct api_call *a;
	struct item *it;
	char *line;
	size_t i;

	if (b->ncalls > 0)
		s->handler(s->ctx, b->calls, b->ncalls);
	for (i = 0; i < b->nitems; i++) {
		it = &b->items[i];
		a = it->k >= 0 ? &b->calls[it->k] : &it->pre;
		if (a->code == CA_OK && a->body != NULL) {
			put(it->c, a->body, strlen(a->body));
			put(it->c, "\n", 1);
		} else {
			const char *msg = a->body != NULL ? a->body :
			    "request not answered";

			if ((line = error_line(a->status, msg)) != NULL)
				put(it->c, line, strlen(line));
			else
				it->c->dead = 1;
			free(line);
			fprintf(stderr, "%s: %s\n", err_progname(), msg);
			if (it->c->first_fail == CA_OK)
				it->c->first_fail = a->code == CA_OK ? CA_FAIL :
				    a->code;
		}
		free(a->body);
		a->body = NULL;
		if (it->k >= 0)
			json_decref((json_t *)b->calls[it->k].req);
	}
	b->nitems = b->ncalls = 0;
}

static int
batch_init(struct batch *b, const struct api_server *s)
{
	memset(b, 0, sizeof(*b));
	b->max = s->max_batch > 0 ? s->max_batch : 1;
	b->items = calloc(b->max, sizeof(*b->items));
	b->calls = calloc(b->max, sizeof(*b->calls));
	if (b->items == NULL || b->calls == NULL) {
		free(b->items);
		free(b->calls);
		return err_set(CA_FAIL, "out of memory");
	}
	return CA_OK;
}

static void
batch_free(struct batch *b)
{
	free(b->items);
	free(b->calls);
}

/*
 * Read once from c (poll said it is readable).  End of input and read
 * errors end the input; a socket's error drops the connection.
 */
static void
conn_read(struct conn *c)
{
	size_t room;
	ssize_t r;

	if ((room = fr_room(&c->fr)) == 0) {
		if (c->fr.buf == NULL)
			c->dead = 1;            /* out of memory */
		return;
	}
	r = read(c->in, c->fr.buf + c->fr.len, room);
	if (r > 0) {
		c->fr.len += (size_t)r;
		c->drained = 0;
	} else if (r == 0) {
		c->ended = 1;
		c->drained = 0;         /* an unfinished object is answered */
	} else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
		c->ended = 1;
		c->drained = 0;
		if (c->sock)
			c->dead = 1;
		else {
			err_set(CA_FAIL, "reading the requests: %s", strerror(errno));
			fprintf(stderr, "%s: %s\n", err_progname(), err_msg());
			if (c->first_fail == CA_OK)
				c->first_fail = CA_FAIL;
		}
	}
}

/* Write what c's peer takes now (a socket). */
static void
conn_write(struct conn *c)
{
	ssize_t w;

	while (c->ooff < c->olen) {
		w = send(c->out, c->obuf + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->dead = 1;
			return;
		}
		c->ooff += (size_t)w;
	}
	free(c->obuf);
	c->obuf = NULL;
	c->olen = c->ooff = 0;
}

/* Whether c may read: not ended, room for input, its answers taken. */
static int
wants_input(const struct conn *c)
{
	return !c->ended && !c->noread && !c->dead && c->olen < API_OUT_SOFT &&
	    (c->fr.buf == NULL || c->fr.start > 0 || c->fr.len < FR_CAP);
}

int
api_serve_stream(const struct api_server *s, int in, int out)
{
	struct batch b;
	struct conn c;
	struct pollfd pfd;
	int rc = CA_OK, r;

	if ((rc = batch_init(&b, s)) != CA_OK)
		return rc;
	memset(&c, 0, sizeof(c));
	c.in = in;
	c.out = out;
	for (;;) {
		if (s->stop != NULL && *s->stop)
			c.noread = 1;
		while (take(&b, &c) == CA_OK)
			;
		if (b.nitems > 0) {
			answer(s, &b);
			if (c.olen > 0 && io_write_all(out, c.obuf, c.olen) != CA_OK) {
				err_prefix("writing the answers");
				fprintf(stderr, "%s: %s\n", err_progname(), err_msg());
				rc = CA_FAIL;
				break;
			}
			free(c.obuf);
			c.obuf = NULL;
			c.olen = 0;
			if (c.dead) {
				rc = err_set(CA_FAIL, "out of memory");
				fprintf(stderr, "%s: %s\n", err_progname(), err_msg());
				break;
			}
			continue;
		}
		fr_trim(&c.fr);
		if (c.ended || c.noread)
			break;
		pfd.fd = in;
		pfd.events = POLLIN;
		pfd.revents = 0;
		r = ppoll(&pfd, 1, NULL, s->wait_mask);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(CA_FAIL, "poll: %s", strerror(errno));
			break;
		}
		conn_read(&c);
		if (c.dead) {
			rc = err_set(CA_FAIL, "out of memory");
			fprintf(stderr, "%s: %s\n", err_progname(), err_msg());
			break;
		}
	}
	if (rc == CA_OK)
		rc = c.first_fail;
	conn_free(&c);
	batch_free(&b);
	return rc;
}

/* ---- the socket ------------------------------------------------------- */

/* Accept what is waiting; *paused when no descriptor was left for it. */
static int
accept_all(int lfd, struct conn *conns, size_t *n, size_t max, int *paused)
{
	int fd;

	while (*n < max) {
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
#if EAGAIN != EWOULDBLOCK
			case EWOULDBLOCK:
#endif
				return CA_OK;
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				*paused = 1;
				return CA_OK;
			default:
				return err_set(CA_FAIL, "accept: %s", strerror(errno));
			}
		}
		memset(&conns[*n], 0, sizeof(conns[0]));
		conns[*n].in = conns[*n].out = fd;
		conns[*n].sock = 1;
		conns[*n].drained = 1;
		(*n)++;
	}
	return CA_OK;
}

int
api_serve_socket(const struct api_server *s, int lfd)
{
	struct conn *conns;
	struct pollfd *pfd;
	struct batch b;
	size_t n = 0, max, i, j, first = 0, np;
	int64_t deadline = 0;
	int rc = CA_OK, stopping = 0, paused = 0, took, timeout, r, fl, listening;

	max = s->max_conns > 0 ? s->max_conns : API_MAX_CONNS;
	if ((fl = fcntl(lfd, F_GETFL)) == -1 ||
	    fcntl(lfd, F_SETFL, fl | O_NONBLOCK) == -1)
		return err_set(CA_FAIL, "listening socket: %s", strerror(errno));
	if ((rc = batch_init(&b, s)) != CA_OK)
		return rc;
	conns = calloc(max, sizeof(*conns));
	pfd = calloc(max + 1, sizeof(*pfd));
	if (conns == NULL || pfd == NULL) {
		free(conns);
		free(pfd);
		batch_free(&b);
		return err_set(CA_FAIL, "out of memory");
	}
	for (;;) {
		if (!stopping && s->stop != NULL && *s->stop) {
			stopping = 1;
			deadline = time_mono_ms() + API_DRAIN_MS;
			for (i = 0; i < n; i++)
				conns[i].noread = 1;
		}
		/* One batch of whole requests, round robin over the peers. */
		do {
			took = 0;
			for (j = 0; j < n; j++) {
				struct conn *c = &conns[(first + j) % n];

				if (c->olen < API_OUT_SOFT && take(&b, c) == CA_OK)
					took = 1;
			}
		} while (took && b.nitems < b.max);
		if (n > 0)
			first = (first + 1) % n;
		if ((took = b.nitems > 0))
			answer(s, &b);
		/* Write, and close what is done. */
		for (i = 0; i < n; ) {
			struct conn *c = &conns[i];

			if (c->olen > 0 && !c->dead)
				conn_write(c);
			fr_trim(&c->fr);
			if (c->dead || ((c->ended || c->noread) && c->olen == 0 &&
			    (c->fr.buf == NULL || c->drained))) {
				close(c->in);
				conn_free(c);
				conns[i] = conns[--n];
				paused = 0;
				continue;
			}
			i++;
		}
		if (took)
			continue;       /* more may be buffered */
		if (stopping && (n == 0 || time_mono_ms() >= deadline))
			break;
		/* Wait. */
		np = 0;
		listening = !stopping && !paused && n < max;
		if (listening) {
			pfd[np].fd = lfd;
			pfd[np].events = POLLIN;
			np++;
		}
		for (i = 0; i < n; i++) {
			pfd[np].fd = conns[i].in;
			pfd[np].events = (wants_input(&conns[i]) ? POLLIN : 0) |
			    (conns[i].olen > 0 ? POLLOUT : 0);
			pfd[np].revents = 0;
			np++;
		}
		timeout = stopping ? (int)(deadline - time_mono_ms()) :
		    paused ? 1000 : -1;
		if (stopping && timeout < 0)
			timeout = 0;
		{
			struct timespec ts, *tp = NULL;

			if (timeout >= 0) {
				ts.tv_sec = timeout / 1000;
				ts.tv_nsec = (long)(timeout % 1000) * 1000000;
				tp = &ts;
			}
			r = ppoll(pfd, np, tp, s->wait_mask);
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = err_set(CA_FAIL, "poll: %s", strerror(errno));
			break;
		}
		if (r == 0) {
			paused = 0;
			continue;
		}
		j = 0;
		if (listening) {
			/* Those accepted now go after the ones polled. */
			if ((pfd[0].revents & POLLIN) &&
			    (rc = accept_all(lfd, conns, &n, max, &paused)) != CA_OK)
				break;
			j = 1;
		}
		for (i = 0; j < np; i++, j++) {
			struct conn *c = &conns[i];

			if (pfd[j].revents & (POLLIN | POLLHUP | POLLERR)) {
				if (wants_input(c))
					conn_read(c);
				else if (pfd[j].revents & POLLERR)
					c->dead = 1;
			}
			if ((pfd[j].revents & POLLOUT) && c->olen > 0)
				conn_write(c);
		}
	}
	for (i = 0; i < n; i++) {
		close(conns[i].in);
		conn_free(&conns[i]);
	}
	free(conns);
	free(pfd);
	batch_free(&b);
	return rc;
}

/* ---- listening -------------------------------------------------------- */

int
api_listen_unix(const char *path, int *fd, struct api_sockfile *f)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int s, p, rc, e;

	*fd = -1;
	memset(f, 0, sizeof(*f));
	memset(&sa, 0, sizeof(sa));
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(CA_USAGE, "socket path %s is longer than %zu bytes",
		    path, sizeof(sa.sun_path) - 1);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return err_set(CA_FAIL, "%s exists and is not a socket: "
			    "not replaced", path);
		/* A socket file: stale unless something listens on it. */
		if ((p = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0)) == -1)
			return err_set(CA_FAIL, "socket: %s", strerror(errno));
		rc = connect(p, (struct sockaddr *)&sa, sizeof(sa));
		e = errno;
		close(p);
		if (rc == 0 || e == EAGAIN || e == EINPROGRESS)
			return err_set(CA_FAIL, "%s is in use: a handler listens "
			    "there", path);
		if (e != ECONNREFUSED && e != ENOENT)
			return err_set(CA_FAIL, "%s: %s", path, strerror(e));
		if (unlink(path) == -1 && errno != ENOENT)
			return err_set(CA_FAIL, "%s: removing the stale socket: %s",
			    path, strerror(errno));
	} else if (errno != ENOENT)
		return err_set(CA_FAIL, "%s: %s", path, strerror(errno));
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return err_set(CA_FAIL, "socket: %s", strerror(errno));
	/* Created 0660 from the first moment: owner and group may connect. */
	old = umask(0117);
	rc = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	e = errno;
	umask(old);
	if (rc == -1) {
		close(s);
		return err_set(CA_FAIL, "%s: bind: %s", path, strerror(e));
	}
	if (lstat(path, &st) == -1 || (f->path = strdup(path)) == NULL) {
		rc = err_set(CA_FAIL, "%s: %s", path, strerror(errno));
		unlink(path);
		close(s);
		return rc;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	if (listen(s, SOMAXCONN) == -1) {
		rc = err_set(CA_FAIL, "%s: listen: %s", path, strerror(errno));
		api_unlisten_unix(f);
		close(s);
		return rc;
	}
	*fd = s;
	return CA_OK;
}

void
api_unlisten_unix(struct api_sockfile *f)
{
	struct stat st;

	if (f->path == NULL)
		return;
	if (lstat(f->path, &st) == 0 && S_ISSOCK(st.st_mode) &&
	    st.st_dev == f->dev && st.st_ino == f->ino)
		unlink(f->path);
	free(f->path);
	f->path = NULL;
}

/* A decimal without sign, leading zeros or junk; -1 if not. */
static long
env_num(const char *s)
{
	long v = 0;

	if (s == NULL || *s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > 100000000)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

int
api_listen_inherited(int *fd)
{
	const char *pidv = getenv("LISTEN_PID"), *fdsv = getenv("LISTEN_FDS");
	long pid = env_num(pidv), fds = env_num(fdsv);
	int v, type, domain, rc = CA_OK;
	socklen_t len;
	struct stat st;

	*fd = -1;
	if (pidv == NULL || fdsv == NULL || pid != (long)getpid())
		goto out;
	if (fds != 1) {
		rc = err_set(CA_USAGE, "LISTEN_FDS=%s: one listening socket "
		    "expected", fdsv);
		goto out;
	}
	len = sizeof(v);
	if (fstat(3, &st) == -1 || !S_ISSOCK(st.st_mode) ||
	    getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == -1 || !v ||
	    (len = sizeof(type), getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len)) == -1 ||
	    type != SOCK_STREAM ||
	    (len = sizeof(domain), getsockopt(3, SOL_SOCKET, SO_DOMAIN, &domain, &len)) == -1 ||
	    domain != AF_UNIX) {
		rc = err_set(CA_FAIL, "LISTEN_FDS: fd 3 is not a listening unix "
		    "stream socket");
		goto out;
	}
	(void)fcntl(3, F_SETFD, FD_CLOEXEC);
	*fd = 3;
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return rc;
}
