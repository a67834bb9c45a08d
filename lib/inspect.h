/*
 * inspect: what ca-inspect prints, as a library call, so that the parser
 * of hostile input is one function a fuzzer can drive.
 */
#ifndef INCA_INSPECT_H
#define INCA_INSPECT_H

#include <stddef.h>

#include <jansson.h>

/*
 * Describe the len bytes at data (at most CA_MAX_PEM): a certificate or a
 * chain, a CSR or a CRL (PEM or DER), or a compact JWS/JWE; nothing is
 * verified.  The kinds and the members of the result are those of
 * ca-inspect(1).  On CA_OK *out is a new JSON object the caller releases
 * with json_decref().  CA_INPUT (message recorded) for input of no such
 * kind or that does not parse, CA_FAIL when out of memory; *out is then
 * NULL.  Not thread-safe (one out-of-memory flag per process).
 */
int inspect_bytes(const unsigned char *data, size_t len, json_t **out);

/*
 * The RFC 5280 name of a CRLReason code ("keyCompromise"), or NULL for a
 * value that names none (7, or outside 0..10).
 */
const char *inspect_crl_reason(long long code);

/*
 * j as JSON text (two-space indented, or one line when compact) ending in
 * a newline, with the characters a terminal or an editor may act on (DEL,
 * C1 controls, line and paragraph separators, bidirectional controls)
 * written as \u escapes.  malloc'd, the caller frees it; NULL (CA_FAIL
 * recorded) when out of memory.
 */
char *inspect_dump(const json_t *j, int compact);

#endif
