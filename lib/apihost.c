#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "apihost.h"
#include "config.h"
#include "err.h"
#include "io.h"

static int
same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	    a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	    a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

struct authority *
api_host_authority(struct api_host *h)
{
	struct stat st;
	int rc, hup = h->reload != NULL && *h->reload;

	if (h->reload != NULL)
		*h->reload = 0;
	if (h->conf_path == NULL) {
		char *home = config_home(h->dir);

		if (home != NULL)
			h->conf_path = io_join(home, "config/ca.json");
		free(home);
	}
	memset(&st, 0, sizeof(st));
	if (h->conf_path == NULL || stat(h->conf_path, &st) == -1)
		hup = 1;        /* gone: what the authority makes of it */
	if (h->a != NULL && !hup && same_file(&st, &h->seen))
		return h->a;
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
		return NULL;
	}
	if (h->loaded)
		fprintf(stderr, "%s: reloaded %s\n", err_progname(), h->conf_path);
	h->seen = st;
	h->loaded = 1;
	return h->a;
}

int
api_host_why(const struct api_host *h)
{
	return err_set(h->why_code, "%s", h->why != NULL ? h->why :
	    "out of memory");
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

static void
host_free(struct api_host *h)
{
	authority_close(h->a);
	h->a = NULL;
	free(h->why);
	h->why = NULL;
	free(h->conf_path);
	h->conf_path = NULL;
}

static volatile sig_atomic_t got_hup, got_stop;

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_stop = 1;
}

/* Serve s on h: a stream, or a socket; *reported as api_host_run(). */
static int
host_serve(struct api_host *h, struct api_server *s, const char *socket,
    int *reported)
{
	struct api_sockfile sf = { NULL, 0, 0 };
	int rc, lfd = -1;

	*reported = 0;
	if ((rc = api_listen_inherited(&lfd)) != CA_OK)
		goto out;
	if (lfd != -1 && socket != NULL) {
		rc = err_set(CA_USAGE, "--socket and a socket from the service "
		    "manager (LISTEN_FDS): give one");
		goto out;
	}
	if ((rc = io_secret_guard()) != CA_OK)
		goto out;
	if (lfd == -1 && socket == NULL) {
		/* stdin and stdout: each failure was reported as it came. */
		*reported = 1;
		rc = api_serve_stream(s, 0, 1);
		goto out;
	}
	/* A handler that cannot load does not start listening. */
	if (api_host_authority(h) == NULL) {
		rc = api_host_why(h);
		goto out;
	}
	if (socket != NULL && (rc = api_listen_unix(socket, &lfd, &sf)) != CA_OK)
		goto out;
	s->max_conns = conn_limit();
	rc = api_serve_socket(s, lfd);
	/* A socket server's failure is its own: serving cannot go on. */
	api_unlisten_unix(&sf);
out:
	if (lfd != -1)
		close(lfd);
	return rc;
}

int
api_host_run(const char *dir, const char *socket, api_handler_fn handler,
    size_t max_batch, int *reported)
{
	struct api_server s;
	struct api_host h;
	struct sigaction sa;
	sigset_t block, old;
	int rc;

	memset(&h, 0, sizeof(h));
	h.dir = dir;
	h.reload = &got_hup;
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
	s.handler = handler;
	s.ctx = &h;
	s.stop = &got_stop;
	s.wait_mask = &old;
	s.max_batch = max_batch;
	rc = host_serve(&h, &s, socket, reported);
	host_free(&h);
	return rc;
}
