/*
 * base64url and base64, strict.  See b64.h for what is refused and why.
 *
 * Neither direction is constant-time (decoding branches on each
 * character, encoding indexes the alphabet); private JWK members pass
 * through here only when a key is loaded or written, not per request.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "b64.h"
#include "err.h"

static const char url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char std_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of c in the chosen alphabet, or -1. */
static int
b64_value(unsigned char c, int url)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

size_t
b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

static char *
encode(const unsigned char *p, size_t n, const char *alpha, int pad)
{
	size_t i, o, olen;
	uint32_t v;
	char *s;

	if (n > (SIZE_MAX - 8) / 4 * 3) {
		err_set(CA_FAIL, "base64: input too large");
		return NULL;
	}
	olen = pad ? (n + 2) / 3 * 4 : b64url_len(n);
	if ((s = malloc(olen + 1)) == NULL) {
		err_set(CA_FAIL, "out of memory");
		return NULL;
	}
	for (i = 0, o = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		s[o++] = alpha[v >> 18 & 63];
		s[o++] = alpha[v >> 12 & 63];
		s[o++] = alpha[v >> 6 & 63];
		s[o++] = alpha[v & 63];
	}
	if (n - i == 1) {
		v = (uint32_t)p[i] << 16;
		s[o++] = alpha[v >> 18 & 63];
		s[o++] = alpha[v >> 12 & 63];
		if (pad) {
			s[o++] = '=';
			s[o++] = '=';
		}
	} else if (n - i == 2) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		s[o++] = alpha[v >> 18 & 63];
		s[o++] = alpha[v >> 12 & 63];
		s[o++] = alpha[v >> 6 & 63];
		if (pad)
			s[o++] = '=';
	}
	s[o] = '\0';
	return s;
}

char *
b64url_encode(const void *data, size_t len)
{
	return encode(data, len, url_alphabet, 0);
}

char *
b64_encode(const void *data, size_t len)
{
	return encode(data, len, std_alphabet, 1);
}

/*
 * Decode n characters (no padding left) whose 4-character groups are full
 * except possibly the last, which has 2 or 3 characters.
 */
static int
decode(const char *s, size_t n, int url, struct buf *out)
{
	const char *what = url ? "base64url" : "base64";
	unsigned char *p;
	size_t i, o, rem;
	uint32_t v;
	int c, k;

	rem = n % 4;
	if (rem == 1)
		return err_set(CA_INPUT, "%s: bad length %zu", what, n);
	if ((p = malloc(n / 4 * 3 + 3)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	v = 0;
	o = 0;
	for (i = 0; i < n; i++) {
		if ((c = b64_value((unsigned char)s[i], url)) < 0) {
			OPENSSL_cleanse(p, o);
			free(p);
			return err_set(CA_INPUT,
			    "%s: invalid character at offset %zu", what, i);
		}
		v = v << 6 | (uint32_t)c;
		if (i % 4 == 3) {
			p[o++] = v >> 16 & 0xff;
			p[o++] = v >> 8 & 0xff;
			p[o++] = v & 0xff;
			v = 0;
		}
	}
	/* The last partial group: 2 chars carry 8 bits, 3 chars 16. */
	k = 0;
	if (rem == 2) {
		k = (v & 0xf) != 0;
		p[o++] = v >> 4 & 0xff;
	} else if (rem == 3) {
		k = (v & 0x3) != 0;
		p[o++] = v >> 10 & 0xff;
		p[o++] = v >> 2 & 0xff;
	}
	if (k) {
		OPENSSL_cleanse(p, o);
		free(p);
		return err_set(CA_INPUT,
		    "%s: non-canonical encoding (unused bits set)", what);
	}
	p[o] = '\0';
	out->data = p;
	out->len = o;
	return CA_OK;
}

int
b64url_decode(const char *s, size_t len, struct buf *out)
{
	out->data = NULL;
	out->len = 0;
	/* '=' would be refused as a character; say why. */
	if (memchr(s, '=', len) != NULL)
		return err_set(CA_INPUT, "base64url: padding not allowed");
	return decode(s, len, 1, out);
}

int
b64_decode(const char *s, size_t len, struct buf *out)
{
	size_t pad = 0;

	out->data = NULL;
	out->len = 0;
	if (len % 4 != 0)
		return err_set(CA_INPUT, "base64: bad length %zu", len);
	while (pad < len && pad < 3 && s[len - 1 - pad] == '=')
		pad++;
	if (pad > 2)
		return err_set(CA_INPUT, "base64: bad padding");
	if (memchr(s, '=', len - pad) != NULL)
		return err_set(CA_INPUT, "base64: misplaced padding");
	/*
	 * len is a multiple of 4, so stripping 1 or 2 '=' leaves a last
	 * group of 3 or 2 characters, which decode() handles.
	 */
	return decode(s, len - pad, 0, out);
}

char *
b64url_random(size_t n)
{
	unsigned char b[B64_RANDOM_MAX];
	char *s = NULL;

	if (n > sizeof(b)) {
		err_set(CA_FAIL, "random: %zu bytes asked, at most %d", n,
		    B64_RANDOM_MAX);
		return NULL;
	}
	do {
		io_wipe_str(s);
		if (RAND_bytes(b, (int)n) != 1) {
			err_set(CA_FAIL, "random: no random bytes");
			return NULL;
		}
		s = b64url_encode(b, n);
		OPENSSL_cleanse(b, sizeof(b));
	} while (s != NULL && s[0] == '-');
	return s;
}
