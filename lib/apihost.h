/*
 * apihost: what an --api handler program keeps between requests, and
 * its way of serving them.
 *
 * The authority (ca.json, the chain, the decrypted key, the
 * provisioners' keys, the database) is opened once and kept while
 * requests come; it is opened again when ca.json changes (looked at
 * before each batch) or when the program's SIGHUP handler sets *reload.
 * An authority that fails to load is not replaced by the old one: every
 * request is answered with why until one loads (fail closed).
 *
 * api_host_run() serves a program's handler this way: it installs the
 * handlers of SIGHUP (reload), SIGINT and SIGTERM (stop), and exits
 * nothing: the program does, with the code it returns.
 */
#ifndef INCA_APIHOST_H
#define INCA_APIHOST_H

#include <signal.h>
#include <sys/stat.h>

#include "apiserve.h"
#include "authority.h"

struct api_host {
	const char *dir;                /* the CA home (NULL: the default) */
	volatile sig_atomic_t *reload;  /* set by SIGHUP; may be NULL */
	/* Private. */
	char *conf_path;                /* HOME/config/ca.json, watched */
	struct authority *a;            /* NULL: none loaded, why says why */
	struct stat seen;               /* ca.json as a was loaded from it */
	char *why;
	int why_code;
	int loaded;                     /* one was loaded before */
};

/*
 * The authority to answer the next batch with (borrowed), loaded first
 * if there is none, ca.json changed or a reload was asked; a reload is
 * reported on stderr.  NULL when it does not load, with the reason
 * recorded (err_set(), the code the load failed with): answer every
 * request of the batch with it.
 */
struct authority *api_host_authority(struct api_host *h);

/*
 * Record again (err_set()) why api_host_authority() returned NULL, for
 * a request answered after other failures were recorded; returns its code.
 */
int api_host_why(const struct api_host *h);

/*
 * Serve handler (its ctx a struct api_host *, which it asks
 * api_host_authority() for the authority) with the CA home dir: on a
 * unix socket bound at socket, or the one handed over in LISTEN_FDS, or
 * else stdin and stdout; max_batch requests per call at most.  SIGHUP
 * asks for a reload, SIGINT and SIGTERM stop (the requests read whole
 * are answered first); they land only while the server waits
 * (apiserve.h).  A handler that listens loads the authority first and
 * does not start if it cannot (that code).  The key stays in memory for
 * the process's life, so core dumps are turned off first
 * (io_secret_guard).  Returns the code to exit with: as
 * api_serve_stream() for a stream, CA_OK after a socket server stopped,
 * or the failure (message recorded).  *reported: the failures were each
 * reported as they came (a stream's), so none is left to report.
 */
int api_host_run(const char *dir, const char *socket, api_handler_fn handler,
    size_t max_batch, int *reported);

#endif
