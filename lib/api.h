/*
 * api: the framing of --api mode, shared by every program that has one
 * and by ca-serve, which relays it: exactly one JSON request object on
 * stdin, exactly one JSON object on stdout, the response or an error
 * {"status": HTTP status, "message": text}.  An error also goes to stderr
 * as "prog: message", the same line the program prints without --api.
 * Nothing here exits: callers exit with the code returned.
 */
#ifndef INCA_API_H
#define INCA_API_H

#include <jansson.h>

/*
 * Read the request object from stdin (at most CA_MAX_JSON bytes,
 * duplicate members refused).  *req is the caller's (json_decref).  On
 * failure the message is recorded and *status is the HTTP status (413 for
 * an oversized request, 400 for malformed JSON, 500 otherwise).
 */
int api_read(json_t **req, int *status);

/*
 * The string member name of req into *out (borrowed from req): absent or
 * null is NULL, or CA_INPUT "request: NAME is required" when required; a
 * member that is not a string is CA_INPUT.  Callers answer 400.
 */
int api_string(const json_t *req, const char *name, int required,
    const char **out);

/* The HTTP status of an exit code when nothing more precise is known. */
int api_status(int code);

/*
 * Answer with the recorded error: {"status","message"} on stdout and the
 * message on stderr.  Returns code, for the caller to exit with.
 */
int api_error(int status, int code);

#endif
