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
 * Nothing here exits or installs signal handlers: the program does, and
 * passes its flags (api_server.stop, api_host.reload).
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
	int serving;                    /* out: requests were being served
					   (a stream's failures were each
					   reported as they came) */
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
 * Serve s (its ctx is the program's; its handler calls
 * api_host_authority()): on a unix socket bound at socket, or the one
 * handed over in LISTEN_FDS, or else stdin and stdout.  A handler that
 * listens loads the authority first and does not start if it cannot
 * (that code).  The key stays in memory for the process's life, so core
 * dumps are turned off first (io_secret_guard).  Returns the code to
 * exit with: as api_serve_stream() for a stream, CA_OK after a socket
 * server stopped, or the failure (message recorded).  h is released.
 */
int api_host_serve(struct api_host *h, struct api_server *s,
    const char *socket);

#endif
