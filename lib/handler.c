#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "err.h"
#include "handler.h"
#include "io.h"

struct handler {
	const char *dir;
	char *conf_path;            /* HOME/config/ca.json, watched */
	struct authority *a;        /* NULL: none loaded, why says why */
	struct stat seen;           /* ca.json as a was loaded from it */
	char *why;
	int why_code;
	int loaded;                 /* one was loaded before: now a reload */
	handler_batch_fn fn;
};

static volatile sig_atomic_t got_hup, got_stop;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Load the authority if there is none, or ca.json changed, or SIGHUP came. */
static int
handler_ready(struct handler *h)
{
	struct stat st;
	int rc, hup = got_hup;

	got_hup = 0;
	memset(&st, 0, sizeof(st));
	if (h->conf_path == NULL || stat(h->conf_path, &st) == -1)
		hup = 1;        /* gone: what the authority makes of it */
	if (h->a != NULL && !hup && same_file(&st, &h->seen))
		return CA_OK;
	authority_close(h->a);
	h->a = NULL;
	free(h->why);
	h->why = NULL;
	if ((rc = authority_open(h->dir, DB_WRITE, &h->a)) != CA_OK) {
		h->why = strdup(err_msg());
		h->why_code = rc;
		if (h->loaded)
			fprintf(stderr, "%s: reloading the authority failed, every "
			    "request fails until it loads: %s\n", err_progname(),
			    err_msg());
		return rc;
	}
	if (h->loaded)
		fprintf(stderr, "%s: reloaded %s\n", err_progname(), h->conf_path);
	h->seen = st;
	h->loaded = 1;
	return CA_OK;
}

static void
handler_batch(void *ctx, struct api_call *calls, size_t n)
{
	struct handler *h = ctx;
	size_t i;

	if (handler_ready(h) != CA_OK) {
		for (i = 0; i < n; i++) {
			err_set(h->why_code, "%s", h->why != NULL ? h->why :
			    "out of memory");
			api_call_fail(&calls[i], api_status(h->why_code),
			    h->why_code);
		}
		return;
	}
	h->fn(h->a, calls, n);
}

/* Descriptors for every connection the server may hold at once. */
static size_t
conn_limit(void)
{
	struct rlimit rl;
	rlim_t want = API_MAX_CONNS + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 64;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ?
		    rl.rlim_max : want;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
			return 64;
	}
	return rl.rlim_cur >= want ? API_MAX_CONNS :
	    rl.rlim_cur > 128 ? (size_t)rl.rlim_cur - 64 : 64;
}

int
handler_run(const char *dir, const char *socket, handler_batch_fn fn,
    size_t max_batch)
{
	struct api_sockfile sf = { NULL, 0, 0 };
	struct api_server s;
	struct handler h;
	struct sigaction sa;
	sigset_t block, old;
	char *home;
	int rc, lfd = -1;

	if ((rc = api_listen_inherited(&lfd)) != CA_OK)
		return rc;
	if (lfd != -1 && socket != NULL) {
		close(lfd);
		return err_set(CA_USAGE, "--socket and a socket from the service "
		    "manager (LISTEN_FDS): give one");
	}
	/* The decrypted key stays for the process's life. */
	if ((rc = io_secret_guard()) != CA_OK)
		return rc;
	memset(&h, 0, sizeof(h));
	h.dir = dir;
	h.fn = fn;
	if ((home = config_home(dir)) != NULL)
		h.conf_path = io_join(home, "config/ca.json");
	free(home);

	/* The signals land only while the server waits (apiserve.h). */
	sigemptyset(&block);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	memset(&s, 0, sizeof(s));
	s.handler = handler_batch;
	s.ctx = &h;
	s.stop = &got_stop;
	s.wait_mask = &old;
	s.max_batch = max_batch;
	if (lfd == -1 && socket == NULL) {
		/* stdin and stdout: each failure was reported as it came. */
		rc = api_serve_stream(&s, 0, 1);
		err_clear();
	} else if ((rc = handler_ready(&h)) != CA_OK) {
		/* A handler that cannot load does not start listening. */
		err_set(h.why_code, "%s", h.why != NULL ? h.why : "out of memory");
		if (lfd != -1)
			close(lfd);
	} else if (socket != NULL &&
	    (rc = api_listen_unix(socket, &lfd, &sf)) != CA_OK) {
		;
	} else {
		s.max_conns = conn_limit();
		rc = api_serve_socket(&s, lfd);
		api_unlisten_unix(&sf);
		close(lfd);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	authority_close(h.a);
	free(h.why);
	free(h.conf_path);
	return rc;
}
