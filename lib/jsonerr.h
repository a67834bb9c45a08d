/*
 * jsonerr: why JSON from outside did not parse, in words that quote none
 * of it.
 *
 * jansson's error text names the offending token ("':' expected near
 * '\"...\"'"), and the token can be a whole JWT, a password or a private
 * key member that a client put in a malformed request.  A message built
 * from it would carry those bytes into a 400 answer, a log or a
 * terminal.  Every parse of a request, a token's segments or a key file
 * says what went wrong from the error's code and where from its byte
 * offset, never from its text.
 */
#ifndef INCA_JSONERR_H
#define INCA_JSONERR_H

#include <stddef.h>

#include <jansson.h>

/* Room enough for any of jsonerr_text()'s phrases with its offset. */
#define JSONERR_LEN	96

/*
 * e's fault into buf (len bytes, truncated to fit, always terminated):
 * a fixed phrase for its code and the byte offset, e.g. "duplicate
 * object key at byte 38".  Returns buf.
 */
const char *jsonerr_text(const json_error_t *e, char *buf, size_t len);

#endif
