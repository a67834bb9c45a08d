/*
 * b64: base64url (RFC 4648 section 5, no padding) as used by JOSE, and
 * standard padded base64 (section 4) as used by the JOSE "x5c" header.
 *
 * Decoding is strict: only the one canonical encoding of a byte string is
 * accepted, so that two different strings never decode to the same bytes
 * (a token cannot be altered without changing what was signed).  Refused
 * with CA_INPUT and a recorded message: any character outside the alphabet
 * (including whitespace, NUL and, for base64url, '='), a length that no
 * encoding has, misplaced or missing padding (standard base64), and
 * non-zero unused bits in the last character.
 */
#ifndef INCA_B64_H
#define INCA_B64_H

#include <stddef.h>

#include "io.h"

/* Length of the base64url encoding of n bytes (without the NUL). */
size_t b64url_len(size_t n);

/*
 * Encode len bytes as base64url without padding.  Returns a malloc'd
 * NUL-terminated string the caller frees with free() (or io_wipe_str()
 * when the input was secret), or NULL (CA_FAIL recorded) when out of
 * memory.
 */
char *b64url_encode(const void *data, size_t len);

/*
 * n random bytes (at most B64_RANDOM_MAX) as base64url: a malloc'd string,
 * or NULL (CA_FAIL recorded) when the generator or memory fails.  Never
 * beginning with '-', which a command line would take for an option (an
 * identifier or key is pasted onto one: certbot --eab-kid, lego --kid);
 * such a draw (one in 64, 0.023 bits) is made again.  The bytes are wiped.
 */
#define B64_RANDOM_MAX 64
char *b64url_random(size_t n);

/*
 * Strictly decode the len characters at s (s need not be NUL-terminated).
 * On CA_OK, out->data is malloc'd, NUL-terminated, out->len bytes long
 * (possibly 0), and the caller frees it with buf_free(), which wipes it.
 * On failure out is empty and the code (CA_INPUT, or CA_FAIL when out of
 * memory) is returned with the message recorded.
 */
int b64url_decode(const char *s, size_t len, struct buf *out);

/* Standard base64 with '=' padding; same ownership as the above. */
char *b64_encode(const void *data, size_t len);
int b64_decode(const char *s, size_t len, struct buf *out);

#endif
