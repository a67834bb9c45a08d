/*
 * ca-serve: the CA's HTTPS front.  TLS, HTTP, limits and routes here;
 * every decision about a certificate in the handler it relays to
 * (`ca-sign`, `ca-renew` or `ca-revoke --api --offline`, by route), which
 * alone holds the signing key and the database.
 *
 * Process models, one connection handler:
 *   - inetd style (default): one connection on fd 0/1, then exit (inetd,
 *     systemd Accept=yes, tcpserver, socat EXEC);
 *   - systemd Accept=no: listening sockets from LISTEN_FDS;
 *   - --listen HOST:PORT: the socket bound here.
 * In the last two, a pool of pre-forked workers (fork, no exec), each
 * accepting and serving one connection at a time, up to --max-conns of
 * them; and a pool of long-lived handlers per handler kind, each on a
 * private socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "io.h"
#include "serve.h"
#include "timeutil.h"

#define MAX_LISTEN 16
#define IDLE_MS 5000

static void
usage(int code)
{
	FILE *f = code ? stderr : stdout;

	fprintf(f,
"usage: ca-serve [--dir DIR] [--cert FILE] [--key FILE] [--listen HOST:PORT]\n"
"                [--max-conns N] [--handlers N] [--read-timeout D]\n"
"                [--conn-timeout D] [--handler-timeout D]\n"
"  Serves the CA over HTTPS: one connection on stdin/stdout (inetd style),\n"
"  or an accept loop on the sockets of LISTEN_FDS (systemd) or of --listen.\n"
"  --dir DIR            CA home (default $CA_DIR, else $HOME/.inca)\n"
"  --cert FILE          server certificate chain (default DIR/certs/server.crt)\n"
"  --key FILE           its private key (default DIR/secrets/server_key)\n"
"  --listen HOST:PORT   bind and accept here (\":PORT\": every address;\n"
"                       \"[::1]:PORT\" for IPv6)\n"
"  --max-conns N        connections served at once in the accept loop\n"
"                       (default 64)\n"
"  --handlers N         long-lived sign handlers of the accept loop\n"
"                       (default 2; 0: one per connection); renew and\n"
"                       acme get N/2 (at least 1), revoke 1\n"
"  --read-timeout D     a request (head and body) must arrive within D of\n"
"                       its first byte (default 10s; units ms, s, m)\n"
"  --conn-timeout D     a connection ends after D at most (default 60s)\n"
"  --handler-timeout D  a handler must answer within D (default 30s)\n"
"  -h, --help           this text;  --version  the version\n");
	exit(code);
}

enum { O_DIR = 256, O_CERT, O_KEY, O_LISTEN, O_MAX_CONNS, O_HANDLERS,
	O_READ_TIMEOUT, O_CONN_TIMEOUT, O_HANDLER_TIMEOUT, O_VERSION };

static const struct option longopts[] = {
	{ "dir", required_argument, NULL, O_DIR },
	{ "cert", required_argument, NULL, O_CERT },
	{ "key", required_argument, NULL, O_KEY },
	{ "listen", required_argument, NULL, O_LISTEN },
	{ "max-conns", required_argument, NULL, O_MAX_CONNS },
	{ "handlers", required_argument, NULL, O_HANDLERS },
	{ "read-timeout", required_argument, NULL, O_READ_TIMEOUT },
	{ "conn-timeout", required_argument, NULL, O_CONN_TIMEOUT },
	{ "handler-timeout", required_argument, NULL, O_HANDLER_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, O_VERSION },
	{ NULL, 0, NULL, 0 }
};

/* A count option: lo..hi; dies with a usage error otherwise. */
static int
count_arg(const char *name, const char *v, int lo, int hi)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0 || n < lo ||
	    n > hi)
		die(CA_USAGE, "%s %s: a number from %d to %d", name, v, lo, hi);
	return (int)n;
}

/* A timeout: "500ms", or a duration ("10s", "2m"); above 0, at most 1h. */
static int64_t
duration_arg(const char *name, const char *v)
{
	size_t n = strlen(v);
	int64_t secs, ms = -1;

	if (n > 2 && strcmp(v + n - 2, "ms") == 0 && n - 2 <= 7 &&
	    strspn(v, "0123456789") == n - 2)
		ms = strtol(v, NULL, 10);
	else if (time_parse_duration(v, &secs) == CA_OK && secs >= 0 &&
	    secs <= 3600)
		ms = secs * 1000;
	if (ms <= 0 || ms > 3600 * 1000)
		die(CA_USAGE, "%s %s: a duration above 0 and at most 1h "
		    "(500ms, 10s, 2m)", name, v);
	return ms;
}

/* A handler program (ca-sign, ca-renew, ca-revoke, ca-acme) beside this program. */
static char *
handler_prog(const char *name)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		die(CA_FAIL, "/proc/self/exe: %s", strerror(errno));
	exe[n] = '\0';
	return io_join(dirname(exe), name);
}

/*
 * The accept loop's pool size of a kind, for --handlers n: signing is
 * the busy route; renewals come from timers, spread over the
 * certificates' lifetimes, and so do ACME clients' orders; revocations
 * and CRL fetches are rare.
 */
static int
pool_size(int kind, int n)
{
	if (n == 0)
		return 0;
	if (kind == HK_RENEW)
		return n / 2 > 1 ? n / 2 : 1;
	if (kind == HK_REVOKE)
		return 1;
	if (kind == HK_ACME)
		return n / 2 > 1 ? n / 2 : 1;
	return n;
}

/* Signals ------------------------------------------------------------- */

static int sigpipe_w = -1;
static volatile sig_atomic_t got_term, got_hup, got_chld;

static void
on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		got_term = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else if (sig == SIGCHLD)
		got_chld = 1;
	if (sigpipe_w >= 0 && write(sigpipe_w, &c, 1) < 0) {
		/* Full pipe: a wake-up is already pending. */
	}
	errno = saved;
}

/* In a connection's process: SIGTERM means "finish this request, then close". */
static void
on_drain(int sig)
{
	(void)sig;
	conn_draining = 1;
}

static void
catch(int sig, void (*fn)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;        /* no SA_RESTART: poll() must wake up */
	sigaction(sig, &sa, NULL);
}

/* Listeners ----------------------------------------------------------- */

/*
 * --listen HOST:PORT, [IPV6]:PORT or :PORT into host (maybe "") and
 * port; dies with a usage error if it is none of them.
 */
static void
listen_parse(const char *spec, char *host, size_t hostlen, char **port)
{
	const char *colon = strrchr(spec, ':');
	size_t hl;

	if (colon == NULL || colon[1] == '\0' ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1))
		die(CA_USAGE, "--listen %s: HOST:PORT, [IPV6]:PORT or :PORT", spec);
	hl = (size_t)(colon - spec);
	if (hl >= hostlen)
		die(CA_USAGE, "--listen %s: host too long", spec);
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl - 2] = '\0';
	} else if (strchr(host, ':') != NULL)
		die(CA_USAGE, "--listen %s: an IPv6 address goes in brackets: "
		    "[::1]:PORT", spec);
	*port = (char *)colon + 1;
	if (strlen(*port) > 5 || atoi(*port) < 1 || atoi(*port) > 65535)
		die(CA_USAGE, "--listen %s: port 1 to 65535", spec);
}

/* Bind --listen HOST:PORT: every address HOST resolves to (all if empty). */
static int
listen_on(const char *spec, int *fds, int max)
{
	struct addrinfo hints, *res, *ai;
	char host[256], *port;
	int n = 0, fd, one = 1, e;

	listen_parse(spec, host, sizeof(host), &port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((e = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0)
		die(CA_FAIL, "--listen %s: %s", spec, gai_strerror(e));
	for (ai = res; ai != NULL && n < max; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		/* Each family binds its own socket: [::] must not take 0.0.0.0's port. */
		if (ai->ai_family == AF_INET6)
			(void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 ||
		    listen(fd, 128) != 0) {
			e = errno;
			close(fd);
			freeaddrinfo(res);
			die(CA_FAIL, "--listen %s: %s", spec, strerror(e));
		}
		fds[n++] = fd;
	}
	freeaddrinfo(res);
	if (n == 0)
		die(CA_FAIL, "--listen %s: no address to bind", spec);
	return n;
}

/*
 * systemd's sockets: LISTEN_FDS from fd 3, when LISTEN_PID is this
 * process.  0 when there are none; the variables are removed either way,
 * so that no handler started later mistakes them for its own.
 */
static int
listen_fds(int *fds, int max)
{
	const char *n = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
	int i, count;

	if (n == NULL || pid == NULL || strtol(pid, NULL, 10) != (long)getpid()) {
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		return 0;
	}
	count = (int)strtol(n, NULL, 10);
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDNAMES");
	if (count < 1 || count > max)
		die(CA_FAIL, "LISTEN_FDS=%s: 1 to %d sockets", n, max);
	for (i = 0; i < count; i++) {
		fds[i] = 3 + i;
		(void)fcntl(fds[i], F_SETFD, FD_CLOEXEC);
	}
	return count;
}

/* 1 if fd is a listening socket. */
static int
is_listening(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);

	return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v;
}

/* The one-connection model ------------------------------------------- */

/* 1 if fd a and fd b are the same open file (inetd's socket as stderr). */
static int
same_file(int a, int b)
{
	struct stat sa, sb;

	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
	    sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static void
serve_one(struct serve_state *st, const struct serve_opts *o,
    char *const *prog, int rfd, int wfd)
{
	char peer[128];
	struct hop h[HK_COUNT];
	int k;

	/* stderr is the connection itself (inetd): log to syslog instead. */
	if (same_file(2, rfd) || same_file(2, wfd))
		log_use_syslog(1);
	catch(SIGTERM, on_drain);
	conn_peer(rfd, peer, sizeof(peer));
	/* Each kind's coprocess starts on the connection's first request of it. */
	for (k = 0; k < HK_COUNT; k++) {
		hop_init(&h[k], k, st->socket[k], prog[k], st->home);
		h[k].devnull_stderr = same_file(2, rfd) || same_file(2, wfd);
	}
	conn_serve(st, o, rfd, wfd, peer, h);
	for (k = 0; k < HK_COUNT; k++)
		hop_close(&h[k]);
}

/* The accept loop: a pool of pre-forked workers -------------------------- */

/*
 * Each worker is forked once (no exec) and accepts on the shared listening
 * sockets itself, serving one connection at a time, then the next: the
 * fork's page-table and copy-on-write work is paid per worker, not per
 * connection.  The parent only supervises: it keeps the pool, grows it
 * while every worker is busy (up to --max-conns), replaces workers that
 * end, and on SIGHUP starts workers with the new configuration and
 * retires the old ones once their connection is over.
 */

#define WORKERS_FIRST 4         /* workers started at once (at most --max-conns) */
#define WORKER_CONNS 1000       /* connections a worker serves, then ends */

/* A worker's state in the shared map. */
enum { W_NONE, W_IDLE, W_BUSY };

struct worker {
	pid_t pid;              /* 0: a free slot */
	int retiring;           /* told to end after its connection (SIGHUP) */
};

struct loop {
	struct serve_state st;
	const struct serve_opts *o;
	char *const *prog;      /* the handler programs, by kind */
	int lfd[MAX_LISTEN], nl;
	struct worker *w;       /* max_conns slots */
	volatile int *shared;   /* W_* per slot, shared with the workers */
	volatile int *demand;   /* per kind: a worker needs its pool (shared) */
	volatile int *down;     /* per kind: the pool's handlers fail (shared) */
	int nkids;              /* live workers, retiring included */
	int64_t pause_until;    /* no new worker before (after quick failures) */
	int64_t last_fail;
	struct pool pool[HK_COUNT];
	int have_pool[HK_COUNT];
};

/* In a worker: SIGTERM (drain) or SIGUSR1 (retire) ends it after its connection. */
static volatile sig_atomic_t w_stop;
static int *w_lfd, w_nl;
static int w_notify = -1;       /* the supervisor's wake-up pipe */

static void
on_worker_signal(int sig)
{
	int i;

	if (sig == SIGTERM)
		conn_draining = 1;
	w_stop = 1;
	/* Nothing more to accept: the port closes when the parent's copy does. */
	for (i = 0; i < w_nl; i++)
		if (w_lfd[i] >= 0) {
			close(w_lfd[i]);
			w_lfd[i] = -1;
		}
}

/* 1 if no worker but a busy one is counted (the pool may have to grow). */
static int
none_idle(const struct loop *l)
{
	int i;

	for (i = 0; i < l->o->max_conns; i++)
		if (__atomic_load_n(&l->shared[i], __ATOMIC_SEQ_CST) == W_IDLE)
			return 0;
	return 1;
}

static void
worker_serve(struct loop *l, int fd)
{
	char peer[128];
	struct hop h[HK_COUNT];
	int k;

	/* A renewed certificate is used from the next connection on. */
	if (state_cert_changed(&l->st)) {
		if (state_reload_tls(&l->st) == CA_OK)
			log_msg("server certificate reloaded");
		else
			log_msg("server certificate changed but not usable, the "
			    "previous one stays: %s", err_msg());
	}
	conn_peer(fd, peer, sizeof(peer));
	for (k = 0; k < HK_COUNT; k++) {
		hop_init(&h[k], k, l->st.socket[k] ? l->st.socket[k] :
		    l->have_pool[k] ? l->pool[k].path : NULL, l->prog[k],
		    l->st.home);
		if (l->st.socket[k] == NULL && l->have_pool[k] &&
		    !l->pool[k].launched) {
			h[k].demand = &l->demand[k];
			h[k].notify_fd = w_notify;
		}
		if (l->st.socket[k] == NULL && l->have_pool[k])
			h[k].down = &l->down[k];
	}
	conn_serve(&l->st, l->o, fd, fd, peer, h);
	for (k = 0; k < HK_COUNT; k++)
		hop_close(&h[k]);
	close(fd);
}

static void
worker(struct loop *l, int slot, pid_t parent)
{
	struct pollfd pf[MAX_LISTEN];
	sigset_t block, open;
	int served = 0, i, fd, notify = sigpipe_w;
	char c = 'N';

	/* A parent gone (killed) takes its workers with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
		_exit(0);
	for (i = 0; i < HK_COUNT; i++)
		if (l->have_pool[i])
			close(l->pool[i].fd);
	sigpipe_w = -1;
	w_notify = notify;
	w_lfd = l->lfd;
	w_nl = l->nl;
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	catch(SIGTERM, on_worker_signal);
	catch(SIGUSR1, on_worker_signal);
	/* The signals come only while waiting (ppoll) or serving. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &open);
	sigdelset(&open, SIGTERM);
	sigdelset(&open, SIGUSR1);
	if (got_term)
		w_stop = conn_draining = 1;
	while (!w_stop && served < WORKER_CONNS) {
		for (i = 0; i < l->nl; i++) {
			pf[i].fd = l->lfd[i];
			pf[i].events = POLLIN;
			pf[i].revents = 0;
		}
		if (ppoll(pf, (nfds_t)l->nl, NULL, &open) <= 0)
			continue;       /* EINTR: w_stop is looked at */
		fd = -1;
		for (i = 0; i < l->nl && fd < 0; i++)
			if (pf[i].revents & POLLIN)
				fd = accept4(l->lfd[i], NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;       /* another worker took it */
		__atomic_store_n(&l->shared[slot], W_BUSY, __ATOMIC_SEQ_CST);
		/* The last idle worker busy: the parent may add one. */
		if (none_idle(l) && write(notify, &c, 1) < 0) {
			/* A full pipe: the parent has a wake-up pending. */
		}
		sigprocmask(SIG_UNBLOCK, &block, NULL);
		worker_serve(l, fd);
		sigprocmask(SIG_BLOCK, &block, NULL);
		__atomic_store_n(&l->shared[slot], W_IDLE, __ATOMIC_SEQ_CST);
		served++;
	}
	_exit(0);
}

/* Fork a worker into a free slot. */
static void
spawn(struct loop *l)
{
	pid_t pid, parent = getpid();
	int i;

	for (i = 0; i < l->o->max_conns; i++)
		if (l->w[i].pid == 0)
			break;
	if (i == l->o->max_conns)
		return;
	/* The parent's context serves the workers to come: keep it current. */
	if (state_cert_changed(&l->st) && state_reload_tls(&l->st) != CA_OK)
		err_clear();
	__atomic_store_n(&l->shared[i], W_IDLE, __ATOMIC_SEQ_CST);
	if ((pid = fork()) < 0) {
		__atomic_store_n(&l->shared[i], W_NONE, __ATOMIC_SEQ_CST);
		log_msg("fork: %s", strerror(errno));
		l->pause_until = now_ms() + 1000;
		return;
	}
	if (pid == 0)
		worker(l, i, parent);
	l->w[i].pid = pid;
	l->w[i].retiring = 0;
	l->nkids++;
}

/* Workers that are not retiring. */
static int
current(const struct loop *l)
{
	int i, n = 0;

	for (i = 0; i < l->o->max_conns; i++)
		if (l->w[i].pid > 0 && !l->w[i].retiring)
			n++;
	return n;
}

/*
 * Keep the pool: the first workers, and one more while every current
 * worker is busy, up to --max-conns in all.  Returns ms until the next
 * attempt is due, or -1.
 */
static int64_t
tend(struct loop *l)
{
	int first = l->o->max_conns < WORKERS_FIRST ? l->o->max_conns :
	    WORKERS_FIRST;
	int64_t now = now_ms();

	if (got_term)
		return -1;
	if (now < l->pause_until)
		return l->pause_until - now;
	while (l->nkids < l->o->max_conns &&
	    (current(l) < first || none_idle(l)))
		spawn(l);
	return -1;
}

static void
reap(struct loop *l)
{
	pid_t pid;
	int st, i, k;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (k = 0; k < HK_COUNT; k++)
			if (l->have_pool[k] && pool_reaped(&l->pool[k], pid, st))
				break;
		if (k < HK_COUNT) {
			if (!got_term)
				log_msg("handler pool %s: handler %ld ended "
				    "(status %d)", hkinds[k].name, (long)pid,
				    WIFEXITED(st) ? WEXITSTATUS(st) :
				    128 + WTERMSIG(st));
			continue;
		}
		for (i = 0; i < l->o->max_conns; i++)
			if (l->w[i].pid == pid) {
				l->w[i].pid = 0;
				__atomic_store_n(&l->shared[i], W_NONE,
				    __ATOMIC_SEQ_CST);
				l->nkids--;
				break;
			}
		if (i == l->o->max_conns || got_term ||
		    (WIFEXITED(st) && WEXITSTATUS(st) == 0))
			continue;
		log_msg("worker %ld ended (status %d)", (long)pid,
		    WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
		/* Failing again and again: replace it once a second at most. */
		if (now_ms() - l->last_fail < 1000)
			l->pause_until = now_ms() + 1000;
		l->last_fail = now_ms();
	}
}

/* SIGHUP: new workers with the new configuration; the old ones retire. */
static void
reload(struct loop *l)
{
	struct serve_state ns;
	int i;

	if (state_load(l->o, &ns) != CA_OK) {
		log_msg("reload failed, the previous configuration stays: %s",
		    err_msg());
		return;
	}
	state_free(&l->st);
	l->st = ns;
	for (i = 0; i < l->o->max_conns; i++)
		if (l->w[i].pid > 0 && !l->w[i].retiring) {
			l->w[i].retiring = 1;
			/* No longer counted as idle: it accepts nothing more. */
			__atomic_store_n(&l->shared[i], W_NONE, __ATOMIC_SEQ_CST);
			kill(l->w[i].pid, SIGUSR1);
		}
	log_msg("reloaded ca.json and the server certificate");
}

/* SIGTERM: no new connections; those open finish their request. */
static void
drain(struct loop *l)
{
	int64_t deadline = now_ms() + l->o->conn_ms;
	int i;

	for (i = 0; i < l->nl; i++)
		close(l->lfd[i]);
	l->nl = 0;
	for (i = 0; i < l->o->max_conns; i++)
		if (l->w[i].pid > 0)
			kill(l->w[i].pid, SIGTERM);
	while (l->nkids > 0) {
		if (now_ms() >= deadline) {
			for (i = 0; i < l->o->max_conns; i++)
				if (l->w[i].pid > 0)
					kill(l->w[i].pid, SIGKILL);
		}
		reap(l);
		if (l->nkids > 0)
			(void)poll(NULL, 0, 20);
	}
	for (i = 0; i < HK_COUNT; i++)
		if (l->have_pool[i])
			pool_stop(&l->pool[i], now_ms() + 5000);
}

/*
 * The handler pools: one per kind that has no socket in ca.json, sized
 * by pool_size().  The sign pool's handlers start at once; the others'
 * on their kind's first request (a worker sets its demand flag and wakes
 * the supervisor; the request waits in the socket's backlog), so that a
 * CA that never renews or revokes runs none of those handlers.  A kind
 * whose program is not installed gets no pool: its routes answer 503, as
 * for an unreachable socket, and nothing is started again and again in
 * vain.
 */
static void
start_pools(struct loop *l)
{
	int k, n, j, rc;

	for (k = 0; k < HK_COUNT; k++) {
		n = pool_size(k, l->o->handlers);
		if (l->st.socket[k] != NULL || n == 0)
			continue;
		if (access(l->prog[k], X_OK) != 0) {
			log_msg("handler pool %s: %s: %s: its routes answer 503",
			    hkinds[k].name, l->prog[k], strerror(errno));
			continue;
		}
		if (pool_start(&l->pool[k], k, l->prog[k], l->st.home, n,
		    k == HK_SIGN, &l->down[k]) != CA_OK) {
			rc = err_code();
			for (j = 0; j <= k; j++)
				if (j == k || l->have_pool[j])
					pool_stop(&l->pool[j], now_ms());
			die(rc, "%s", err_msg());
		}
		l->have_pool[k] = 1;
	}
}

static int
accept_loop(struct loop *l)
{
	struct pollfd pf;
	int sp[2], i, k, busy;
	int64_t next, t;
	char junk[64];
	size_t sz = (size_t)(l->o->max_conns + 2 * HK_COUNT) * sizeof(int);
	void *m;

	if (pipe2(sp, O_CLOEXEC | O_NONBLOCK) != 0)
		die(CA_FAIL, "pipe: %s", strerror(errno));
	sigpipe_w = sp[1];
	catch(SIGTERM, on_signal);
	catch(SIGINT, on_signal);
	catch(SIGHUP, on_signal);
	catch(SIGCHLD, on_signal);
	if ((l->w = calloc((size_t)l->o->max_conns, sizeof(*l->w))) == NULL)
		die(CA_FAIL, "out of memory");
	m = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (m == MAP_FAILED)
		die(CA_FAIL, "mmap: %s", strerror(errno));
	l->shared = m;
	l->demand = l->shared + l->o->max_conns;
	l->down = l->demand + HK_COUNT;
	start_pools(l);
	/* Workers poll, then accept: another may have taken the connection. */
	for (i = 0; i < l->nl; i++) {
		int fl = fcntl(l->lfd[i], F_GETFL);

		(void)fcntl(l->lfd[i], F_SETFL, fl | O_NONBLOCK);
	}
	log_msg("serving");
	for (;;) {
		if (got_chld) {
			got_chld = 0;
			reap(l);
		}
		if (got_term)
			break;
		if (got_hup) {
			got_hup = 0;
			reload(l);
			for (k = 0; k < HK_COUNT; k++)
				if (l->have_pool[k])
					pool_hup(&l->pool[k]);
		}
		next = tend(l);
		for (k = 0; k < HK_COUNT; k++)
			if (l->have_pool[k] && !l->pool[k].launched &&
			    __atomic_load_n(&l->demand[k], __ATOMIC_SEQ_CST) &&
			    pool_launch(&l->pool[k]) != CA_OK) {
				log_msg("%s", err_msg());
				err_clear();
			}
		for (k = 0; k < HK_COUNT; k++)
			if (l->have_pool[k] &&
			    (t = pool_tend(&l->pool[k])) >= 0 &&
			    (next < 0 || t < next))
				next = t;
		pf.fd = sp[0];
		pf.events = POLLIN;
		if (poll(&pf, 1, next < 0 ? -1 : (int)next) < 0 && errno != EINTR)
			die(CA_FAIL, "poll: %s", strerror(errno));
		while (read(sp[0], junk, sizeof(junk)) > 0)
			;
	}
	busy = 0;
	for (i = 0; i < l->o->max_conns; i++)
		if (l->w[i].pid > 0 && l->shared[i] == W_BUSY)
			busy++;
	log_msg("SIGTERM: draining %d connection(s)", busy);
	drain(l);
	munmap(m, sz);
	free(l->w);
	log_msg("stopped");
	return 0;
}

int
main(int argc, char *argv[])
{
	struct serve_opts o;
	const char *max_conns = NULL, *handlers = NULL, *read_t = NULL;
	const char *conn_t = NULL, *handler_t = NULL;
	struct loop l;
	char *prog[HK_COUNT];
	int ch, nsys, k;

	cli_init(argv[0]);
	memset(&o, 0, sizeof(o));
	while ((ch = cli_getopt(argc, argv, ":h", longopts)) != -1) {
		switch (ch) {
		case O_DIR: cli_once("--dir", &o.dir, optarg); break;
		case O_CERT: cli_once("--cert", &o.cert, optarg); break;
		case O_KEY: cli_once("--key", &o.key, optarg); break;
		case O_LISTEN: cli_once("--listen", &o.listen, optarg); break;
		case O_MAX_CONNS: cli_once("--max-conns", &max_conns, optarg); break;
		case O_HANDLERS: cli_once("--handlers", &handlers, optarg); break;
		case O_READ_TIMEOUT:
			cli_once("--read-timeout", &read_t, optarg);
			break;
		case O_CONN_TIMEOUT:
			cli_once("--conn-timeout", &conn_t, optarg);
			break;
		case O_HANDLER_TIMEOUT:
			cli_once("--handler-timeout", &handler_t, optarg);
			break;
		case O_VERSION: cli_version(); break;
		case 'h': usage(0); break;
		default: cli_badopt(ch, argv);
		}
	}
	if (optind < argc)
		die(CA_USAGE, "unexpected argument: %s", argv[optind]);
	o.max_conns = max_conns ? count_arg("--max-conns", max_conns, 1, 4096) : 64;
	o.handlers = handlers ? count_arg("--handlers", handlers, 0, 64) : 2;
	o.read_ms = read_t ? duration_arg("--read-timeout", read_t) : 10000;
	o.conn_ms = conn_t ? duration_arg("--conn-timeout", conn_t) : 60000;
	o.handler_ms = handler_t ?
	    duration_arg("--handler-timeout", handler_t) : 30000;
	o.idle_ms = o.read_ms < IDLE_MS ? o.read_ms : IDLE_MS;
	/* A client gone mid-write is an error return, not a death. */
	signal(SIGPIPE, SIG_IGN);

	if (o.listen != NULL) {
		char host[256], *port;

		listen_parse(o.listen, host, sizeof(host), &port);
	}
	memset(&l, 0, sizeof(l));
	l.o = &o;
	nsys = listen_fds(l.lfd, MAX_LISTEN);
	if (nsys > 0 && o.listen != NULL)
		die(CA_USAGE, "--listen and socket activation (LISTEN_FDS) "
		    "exclude each other");
	if (state_load(&o, &l.st) != CA_OK)
		die(CA_FAIL, "%s", err_msg());
	for (k = 0; k < HK_COUNT; k++)
		if ((prog[k] = handler_prog(hkinds[k].prog)) == NULL)
			die(CA_FAIL, "out of memory");
	l.prog = prog;

	if (nsys == 1 && !is_listening(l.lfd[0])) {
		/* systemd Accept=yes without StandardInput=socket: fd 3. */
		serve_one(&l.st, &o, prog, l.lfd[0], l.lfd[0]);
	} else if (nsys == 0 && o.listen == NULL && is_listening(0)) {
		/* A listening socket as stdin (inetd "wait"): accept on it. */
		l.lfd[0] = 0;
		l.nl = 1;
		accept_loop(&l);
	} else if (nsys > 0 || o.listen != NULL) {
		if (nsys > 0) {
			int i;

			for (i = 0; i < nsys; i++)
				if (!is_listening(l.lfd[i]))
					die(CA_FAIL, "LISTEN_FDS: fd %d is not a "
					    "listening socket", l.lfd[i]);
			l.nl = nsys;
		} else
			l.nl = listen_on(o.listen, l.lfd, MAX_LISTEN);
		accept_loop(&l);
	} else {
		/*
		 * inetd style.  A socket on 0 and no socket on 1 (a launcher
		 * that passes the connection as stdin alone): the socket
		 * both ways.  Otherwise read 0 and write 1 (socat's pipes).
		 */
		struct stat s0, s1;
		int wfd = 1;

		if (fstat(0, &s0) == 0 && S_ISSOCK(s0.st_mode) &&
		    (fstat(1, &s1) != 0 || !S_ISSOCK(s1.st_mode)))
			wfd = 0;
		serve_one(&l.st, &o, prog, 0, wfd);
	}
	state_free(&l.st);
	for (k = 0; k < HK_COUNT; k++)
		free(prog[k]);
	return 0;
}
