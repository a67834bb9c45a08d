/*
 * The hop from ca-serve to a handler program: one JSON line out, one
 * JSON line back (the wire protocol of `ca-sign --api --offline`, which
 * ca-renew and ca-revoke speak too).  The same for every handler kind:
 * a connection has one hop per kind, the accept loop one pool per kind.
 *
 * Three ways to reach a handler, one per process model:
 *   - a unix socket named in ca.json's "handlers" (a long-lived handler
 *     run by the operator, maybe as another user);
 *   - the pool's socket (the accept loop's own long-lived handlers);
 *   - a coprocess started on the connection's first request (inetd style):
 *     its stdin and stdout are pipes, its stderr is ours, so its messages
 *     reach the same log.
 * A handler is never trusted to answer: every read has a deadline, a
 * response has a size bound, and a handler that breaks either is killed
 * (or its connection closed) and replaced for the next request.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "ca_limits.h"
#include "err.h"
#include "io.h"
#include "serve.h"

/* A response line may be this long (a chain of PEM certificates fits). */
#define HOP_MAX_RESPONSE (2 * CA_MAX_JSON)
/* The revoke handler's answers include the CRL, which grows with revocations. */
#define HOP_MAX_CRL_RESPONSE (CA_MAX_CRL_TEXT + CA_MAX_JSON)
/* How often a request waiting on a pool looks whether the pool is down (ms). */
#define POOL_DOWN_POLL_MS 100

extern char **environ;

const struct hkind hkinds[HK_COUNT] = {
	[HK_SIGN] = { "sign", "ca-sign" },
	[HK_RENEW] = { "renew", "ca-renew" },
	[HK_REVOKE] = { "revoke", "ca-revoke" },
	[HK_ACME] = { "acme", "ca-acme" },
};

void
hop_init(struct hop *h, int kind, const char *socket, const char *prog,
    const char *home)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->max_response = kind == HK_REVOKE ? HOP_MAX_CRL_RESPONSE :
	    HOP_MAX_RESPONSE;
	h->socket = socket;
	h->prog = prog;
	h->home = home;
	h->wfd = h->rfd = -1;
	h->notify_fd = -1;
}

void
set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl != -1 && !(fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int64_t
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void
hop_close(struct hop *h)
{
	int st;

	if (h->wfd >= 0)
		close(h->wfd);
	if (h->rfd >= 0 && h->rfd != h->wfd)
		close(h->rfd);
	h->wfd = h->rfd = -1;
	if (h->pid > 0) {
		/* Its stdin is closed: a stream handler ends on its own. */
		while (waitpid(h->pid, &st, 0) < 0 && errno == EINTR)
			;
		h->pid = 0;
	}
}

/* Kill a handler that failed us, so that nothing of it lingers. */
static void
hop_kill(struct hop *h)
{
	if (h->pid > 0)
		kill(h->pid, SIGKILL);
	hop_close(h);
}

/*
 * Connect to the handler socket: 503 when nobody listens there (or the
 * path is not a socket), 0 on success.
 */
static int
hop_connect(struct hop *h)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(h->socket) >= sizeof(sa.sun_path)) {
		log_msg("handler socket %s: path too long", h->socket);
		return 503;
	}
	/* The pool's first use: its handlers are started (the backlog waits). */
	if (h->demand != NULL &&
	    !__atomic_exchange_n(h->demand, 1, __ATOMIC_SEQ_CST) &&
	    h->notify_fd >= 0 && write(h->notify_fd, "D", 1) < 0) {
		/* A full pipe: the supervisor has a wake-up pending. */
	}
	memcpy(sa.sun_path, h->socket, strlen(h->socket) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return 503;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		log_msg("handler socket %s: %s", h->socket, strerror(errno));
		close(fd);
		return 503;
	}
	set_nonblock(fd);
	h->wfd = h->rfd = fd;
	return 0;
}

/* Start the coprocess `prog --api --offline --dir home`. */
static int
hop_spawn(struct hop *h)
{
	int in[2], out[2], null;
	pid_t pid;

	/* Not installed (yet): unavailable, as an unreachable socket is. */
	if (access(h->prog, X_OK) != 0) {
		log_msg("handler %s: %s: %s", hkinds[h->kind].name, h->prog,
		    strerror(errno));
		return 503;
	}
	if (pipe2(in, O_CLOEXEC) != 0)
		return 503;
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return 503;
	}
	if ((pid = fork()) < 0) {
		log_msg("handler: fork: %s", strerror(errno));
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return 503;
	}
	if (pid == 0) {
		char *argv[] = { (char *)h->prog, "--api", "--offline", "--dir",
			(char *)h->home, NULL };

		signal(SIGPIPE, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0)
			_exit(127);
		if (h->devnull_stderr &&
		    ((null = open("/dev/null", O_WRONLY)) < 0 || dup2(null, 2) < 0))
			_exit(127);
		/* Only 0, 1 and 2: never the client's connection. */
		closefrom(3);
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		execve(h->prog, argv, environ);
		dprintf(2, "ca-serve: %s: %s\n", h->prog, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	h->pid = pid;
	h->wfd = in[1];
	h->rfd = out[0];
	set_nonblock(h->wfd);
	set_nonblock(h->rfd);
	return 0;
}

/*
 * Is the handler of the last request still there?  It may have ended
 * (a handler that serves one request, or one that crashed): EOF or a
 * hang-up on its output.  Anything it wrote unasked is a broken handler.
 */
static int
hop_alive(struct hop *h)
{
	struct pollfd p = { .fd = h->rfd, .events = POLLIN };
	char c;

	if (poll(&p, 1, 0) <= 0)
		return 1;
	if (p.revents & POLLIN) {
		ssize_t n = read(h->rfd, &c, 1);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 1;
	}
	return 0;
}

static int
hop_open(struct hop *h)
{
	if (h->rfd >= 0)
		return 0;
	return h->socket != NULL ? hop_connect(h) : hop_spawn(h);
}

/* Wait for fd to be ready for events until deadline: 1 ready, 0 timed out. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int r;

	for (;;) {
		if ((left = deadline - now_ms()) <= 0)
			return 0;
		r = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return 1;       /* the read or write says what is wrong */
	}
}

/* Write all of buf: 0, or -1 (EPIPE: the handler is gone) / -2 (timeout). */
static int
hop_write(struct hop *h, const char *buf, size_t len, int64_t deadline)
{
	ssize_t n;

	while (len > 0) {
		n = write(h->wfd, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!wait_fd(h->wfd, POLLOUT, deadline))
				return -2;
			continue;
		}
		return -1;
	}
	return 0;
}

/*
 * At the deadline, did the handler on the socket not read the request
 * (all of it)?  The connection is hung up first (both ways: the handler
 * sees POLLHUP), then the bytes it has not consumed are counted; a
 * handler does not act on a request whose sender has hung up by the
 * time it has read it whole (lib/apiserve.c), so a request found unread
 * here is never acted on: 1, and the client may send it again.  0 when
 * the handler may have started on it (or for a coprocess, killed
 * whatever it was doing).
 */
static int
not_taken(struct hop *h)
{
	int unread = 0;

	if (h->socket == NULL || h->wfd < 0)
		return 0;
	if (shutdown(h->wfd, SHUT_RDWR) != 0 ||
	    ioctl(h->wfd, SIOCOUTQ, &unread) != 0)
		return 0;
	return unread > 0;
}

/*
 * Wait for the response on h->rfd until deadline, as wait_fd(); while
 * the pool's handlers fail as they start (h->down), a request none took
 * is refused: -1 (logged, h closed).
 */
static int
wait_response(struct hop *h, int64_t deadline)
{
	int64_t slice;

	if (h->down == NULL)
		return wait_fd(h->rfd, POLLIN, deadline);
	for (;;) {
		slice = now_ms() + POOL_DOWN_POLL_MS;
		if (wait_fd(h->rfd, POLLIN, slice < deadline ? slice : deadline))
			return 1;
		if (now_ms() >= deadline)
			return 0;
		if (__atomic_load_n(h->down, __ATOMIC_SEQ_CST) && not_taken(h)) {
			log_msg("handler pool %s: no handler runs (the last "
			    "refused to start): refused", hkinds[h->kind].name);
			hop_kill(h);
			return -1;
		}
	}
}

/* A request no handler took in time: logged as withdrawn, 503. */
static int
withdrawn(const struct hop *h)
{
	log_msg("handler %s: the request was not taken in time (every "
	    "handler busy): withdrawn", hkinds[h->kind].name);
	return 503;
}

int
hop_call(struct hop *h, const char *req, size_t len, int64_t deadline,
    char **resp, size_t *resp_len)
{
	size_t cap = 4096, got = 0;
	char *buf, *nl;
	ssize_t n;
	int rc, tries;

	*resp = NULL;
	*resp_len = 0;
	for (tries = 0;; tries++) {
		if (h->rfd >= 0 && !hop_alive(h))
			hop_kill(h);
		if ((rc = hop_open(h)) != 0)
			return rc;
		if ((rc = hop_write(h, req, len, deadline)) == 0)
			break;
		hop_kill(h);
		/* Gone between the check and the write: once more, afresh. */
		if (rc == -2) {
			/* Never read whole: a handler drops it unanswered. */
			return withdrawn(h);
		}
		if (tries > 0) {
			log_msg("handler: gone before the request was written");
			return 500;
		}
	}
	if ((buf = malloc(cap)) == NULL)
		return 500;
	for (;;) {
		if (got == cap) {
			char *m;

			if (cap >= h->max_response) {
				log_msg("handler: response over %zu bytes",
				    h->max_response);
				goto fail;
			}
			if ((m = realloc(buf, cap * 2)) == NULL)
				goto fail;
			buf = m;
			cap *= 2;
		}
		n = read(h->rfd, buf + got, cap - got);
		if (n > 0) {
			nl = memchr(buf + got, '\n', (size_t)n);
			got += (size_t)n;
			if (nl != NULL) {
				if (nl != buf + got - 1) {
					/* More than one line for one request. */
					log_msg("handler: wrote past its response");
					goto fail;
				}
				*nl = '\0';
				*resp = buf;
				*resp_len = (size_t)(nl - buf);
				return 0;
			}
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if ((rc = wait_response(h, deadline)) < 0) {
				free(buf);
				return 503;
			}
			if (rc == 0) {
				if (got == 0 && not_taken(h)) {
					free(buf);
					hop_kill(h);
					return withdrawn(h);
				}
				log_msg("handler: no response in time: killed");
				goto fail;
			}
			continue;
		}
		log_msg("handler: ended without a response");
		goto fail;
	}
fail:
	free(buf);
	hop_kill(h);
	return 500;
}

/* The pool ------------------------------------------------------------ */

/*
 * A handler that ends is started again after a pause: 1 s, doubled each
 * time one ends within POOL_STABLE_MS of its start (a broken
 * configuration), up to POOL_BACKOFF_MAX_MS.
 */
#define POOL_BACKOFF_MS 1000
#define POOL_BACKOFF_MAX_MS 30000
#define POOL_STABLE_MS 10000

static pid_t
pool_spawn(struct pool *p)
{
	char *argv[] = { (char *)p->prog, "--api", "--offline", "--dir",
		(char *)p->home, NULL };
	char pidbuf[32];
	pid_t pid;
	int null;

	if ((pid = fork()) != 0)
		return pid;
	signal(SIGPIPE, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGCHLD, SIG_DFL);
	{
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}
	/* systemd's socket protocol: the listening socket is fd 3. */
	if ((null = open("/dev/null", O_RDWR)) < 0 || dup2(null, 0) < 0 ||
	    dup2(null, 1) < 0)
		_exit(127);
	/* dup2 onto itself keeps close-on-exec: clear it then. */
	if (p->fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(p->fd, 3) < 0)
		_exit(127);
	closefrom(4);
	snprintf(pidbuf, sizeof(pidbuf), "%ld", (long)getpid());
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_PID", pidbuf, 1);
	unsetenv("LISTEN_FDNAMES");
	execve(p->prog, argv, environ);
	dprintf(2, "ca-serve: %s: %s\n", p->prog, strerror(errno));
	_exit(127);
}

/* Set p->down from its handlers: none runs and the last failed at once. */
static void
pool_mark(struct pool *p)
{
	int i, live = 0;

	if (p->down == NULL)
		return;
	for (i = 0; i < p->n; i++)
		if (p->pids[i] > 0)
			live++;
	__atomic_store_n(p->down, live == 0 && p->failing, __ATOMIC_SEQ_CST);
}

int
pool_start(struct pool *p, int kind, const char *prog, const char *home,
    int n, int launch, volatile int *down)
{
	struct sockaddr_un sa;
	const char *tmp = getenv("RUNTIME_DIRECTORY");
	char *t, name[32];

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->fd = -1;
	p->prog = prog;
	p->n = n;
	p->down = down;
	if (down != NULL)
		__atomic_store_n(down, 0, __ATOMIC_SEQ_CST);
	/* RUNTIME_DIRECTORY may list several, ':'-separated: the first. */
	if (tmp == NULL || tmp[0] != '/' || strchr(tmp, ':') != NULL)
		tmp = getenv("TMPDIR");
	if (tmp == NULL || tmp[0] != '/')
		tmp = "/tmp";
	/* Its own copy: a reload frees the state the home was read into. */
	if ((p->home = strdup(home)) == NULL ||
	    (t = io_join(tmp, "ca-serve.XXXXXX")) == NULL)
		return err_set(CA_FAIL, "out of memory");
	/* mkdtemp makes it 0700: only this user reaches the handlers. */
	if (mkdtemp(t) == NULL) {
		err_set(CA_FAIL, "handler pool: %s: %s", t, strerror(errno));
		free(t);
		return CA_FAIL;
	}
	p->dir = t;
	snprintf(name, sizeof(name), "%s.sock", hkinds[kind].name);
	if ((p->path = io_join(p->dir, name)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(p->path) >= sizeof(sa.sun_path))
		return err_set(CA_FAIL, "handler pool: %s: path too long", p->path);
	memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
	if ((p->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(p->fd, 128) != 0)
		return err_set(CA_FAIL, "handler pool: %s: %s", p->path,
		    strerror(errno));
	if ((p->pids = calloc((size_t)n, sizeof(*p->pids))) == NULL ||
	    (p->started = calloc((size_t)n, sizeof(*p->started))) == NULL ||
	    (p->ended = calloc((size_t)n, sizeof(*p->ended))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	return launch ? pool_launch(p) : CA_OK;
}

int
pool_launch(struct pool *p)
{
	int i;

	p->launched = 1;
	for (i = 0; i < p->n; i++) {
		p->started[i] = now_ms();
		if ((p->pids[i] = pool_spawn(p)) < 0) {
			p->pids[i] = 0;
			return err_set(CA_FAIL, "handler pool: fork: %s",
			    strerror(errno));
		}
	}
	pool_mark(p);
	return CA_OK;
}

int
pool_reaped(struct pool *p, pid_t pid, int status)
{
	int64_t now = now_ms();
	int i, quick;

	for (i = 0; i < p->n; i++)
		if (p->pids != NULL && p->pids[i] == pid) {
			p->pids[i] = 0;
			quick = now - p->started[i] < POOL_STABLE_MS;
			if (quick)
				p->backoff = p->backoff ? p->backoff * 2 :
				    POOL_BACKOFF_MS;
			else
				p->backoff = POOL_BACKOFF_MS;
			if (p->backoff > POOL_BACKOFF_MAX_MS)
				p->backoff = POOL_BACKOFF_MAX_MS;
			p->ended[i] = now;
			/*
			 * Refused to start: exited, not killed, with a failure,
			 * soon after its start.  A handler killed while it
			 * worked is replaced, and what waits is kept for it.
			 */
			p->failing = quick && WIFEXITED(status) &&
			    WEXITSTATUS(status) != 0;
			pool_mark(p);
			return 1;
		}
	return 0;
}

int64_t
pool_tend(struct pool *p)
{
	int64_t now = now_ms(), next = -1, due;
	int i;

	if (!p->launched)
		return -1;
	for (i = 0; i < p->n; i++) {
		if (p->pids[i] > 0)
			continue;
		due = p->ended[i] + p->backoff;
		if (due <= now) {
			log_msg("handler pool %s: starting a handler again",
			    hkinds[p->kind].name);
			p->started[i] = now;
			if ((p->pids[i] = pool_spawn(p)) < 0)
				p->pids[i] = 0;
			pool_mark(p);
			if (p->pids[i] > 0)
				continue;
			p->ended[i] = now;
			due = now + p->backoff;
		}
		if (next < 0 || due - now < next)
			next = due - now;
	}
	return next;
}

void
pool_hup(struct pool *p)
{
	int i;

	for (i = 0; p->launched && i < p->n; i++)
		if (p->pids[i] > 0)
			kill(p->pids[i], SIGHUP);
		else
			p->ended[i] = 0;
	/* A configuration put right is taken now, not after the pause. */
	p->backoff = 0;
}

void
pool_stop(struct pool *p, int64_t deadline)
{
	int i, st, left;
	pid_t pid;

	for (i = 0; i < p->n; i++)
		if (p->pids != NULL && p->pids[i] > 0)
			kill(p->pids[i], SIGTERM);
	for (;;) {
		left = 0;
		for (i = 0; i < p->n; i++)
			if (p->pids != NULL && p->pids[i] > 0)
				left++;
		if (left == 0)
			break;
		if (now_ms() >= deadline) {
			for (i = 0; i < p->n; i++)
				if (p->pids[i] > 0)
					kill(p->pids[i], SIGKILL);
		}
		pid = waitpid(-1, &st, now_ms() >= deadline ? 0 : WNOHANG);
		if (pid > 0)
			pool_reaped(p, pid, st);
		else if (pid == 0)
			usleep(10000);
		else if (errno == ECHILD)
			break;
	}
	if (p->fd >= 0)
		close(p->fd);
	if (p->path != NULL)
		unlink(p->path);
	if (p->dir != NULL)
		rmdir(p->dir);
	free(p->path);
	free(p->dir);
	free(p->home);
	free(p->pids);
	free(p->started);
	free(p->ended);
	p->started = p->ended = NULL;
	p->fd = -1;
	p->path = p->dir = p->home = NULL;
	p->pids = NULL;
}
