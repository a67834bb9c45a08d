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

int
api_host_serve(struct api_host *h, struct api_server *s, const char *socket)
{
	struct api_sockfile sf = { NULL, 0, 0 };
	int rc, lfd = -1;

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
		h->serving = 1;
		rc = api_serve_stream(s, 0, 1);
		goto out;
	}
	/* A handler that cannot load does not start listening. */
	if (api_host_authority(h) == NULL) {
		rc = err_set(h->why_code, "%s", h->why != NULL ? h->why :
		    "out of memory");
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
	host_free(h);
	return rc;
}
