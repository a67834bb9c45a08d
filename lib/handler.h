/*
 * handler: the --api server of a program whose requests the CA home's
 * authority decides (ca-renew --api; ca-sign has its own copy of the
 * same).  The authority (ca.json, the chain, the decrypted key, the
 * database) is opened once and kept while requests come; it is opened
 * again on SIGHUP and when ca.json changes (looked at before each batch).
 * One that fails to load is not replaced by the old one: every request is
 * answered with why until one loads (fail closed).
 */
#ifndef INCA_HANDLER_H
#define INCA_HANDLER_H

#include <stddef.h>

#include "apiserve.h"
#include "authority.h"

/* Answer calls[0..n-1] (see api_handler_fn) with the authority a. */
typedef void (*handler_batch_fn)(struct authority *a, struct api_call *calls,
    size_t n);

/*
 * Serve: with socket (a unix socket bound at that path) or a socket from
 * the service manager (LISTEN_FDS), every connection; else stdin and
 * stdout.  Requests come in batches of at most max_batch.  SIGHUP
 * reloads, SIGINT and SIGTERM stop.  Returns the exit code: for a
 * stream, that of api_serve_stream(), whose failures were each reported
 * as they came (no message is left: err_code() is CA_OK); otherwise
 * CA_OK once stopped, or the failure (message recorded) that kept it
 * from serving, such as an authority that does not load at start.
 */
int handler_run(const char *dir, const char *socket, handler_batch_fn fn,
    size_t max_batch);

#endif
