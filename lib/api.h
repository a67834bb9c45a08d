/*
 * api: the members of a request of --api mode, shared by every program
 * that has one (the framing of requests and answers is apiserve's).
 * Nothing here exits: callers answer with the code returned.
 */
#ifndef INCA_API_H
#define INCA_API_H

#include <jansson.h>
#include <openssl/x509.h>

/*
 * The string member name of req into *out (borrowed from req): absent or
 * null is NULL, or CA_INPUT "request: NAME is required" when required; a
 * member that is not a string is CA_INPUT.  Callers answer 400.
 */
int api_string(const json_t *req, const char *name, int required,
    const char **out);

/*
 * The elements of the array arr (the request's member name), each a
 * string holding one PEM certificate, in order into *out (the caller's,
 * sk_X509_pop_free; NULL on failure).  CA_INPUT "request: NAME[i]: ..."
 * for an element that is not a string or not exactly one certificate,
 * CA_FAIL when out of memory.  The array's size is the caller's to check.
 */
int api_certs(const json_t *arr, const char *name, STACK_OF(X509) **out);

/* The HTTP status of an exit code when nothing more precise is known. */
int api_status(int code);

#endif
