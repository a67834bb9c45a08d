/*
 * fuzz_inspect: any bytes as ca-inspect reads them.
 *
 * inspect_bytes (PEM or DER certificates, chains, CSRs and CRLs, with the
 * strict DER checks of der.c; compact JWS and JWE through jose_split and
 * b64url_decode), then inspect_dump both ways.  Besides crashes and
 * leaks: a failure returns no object and an object has a known "type";
 * the dumped text reads back as the same JSON, ends in its only newline
 * when compact, and carries no raw control character, DEL, C1 control,
 * line or paragraph separator or bidirectional control.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "ca_limits.h"
#include "err.h"
#include "inspect.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_inspect: %s (last error: %s)\n", what, err_msg());
	abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	return 0;
}

/* 1 if the UTF-8 text s holds a character the dump must escape. */
static int
has_unsafe(const unsigned char *s, int compact)
{
	size_t n = strlen((const char *)s), i;

	for (i = 0; i < n; i++) {
		if (s[i] < 0x20 && !(s[i] == '\n' && (!compact || i == n - 1)))
			return 1;
		if (s[i] == 0x7f)
			return 1;
		if (s[i] == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] <= 0x9f)
			return 1;
		if (s[i] == 0xd8 && i + 1 < n && s[i + 1] == 0x9c)
			return 1;       /* U+061C */
		if (s[i] == 0xe2 && i + 2 < n && s[i + 1] == 0x80 &&
		    (s[i + 2] == 0x8e || s[i + 2] == 0x8f ||
		    (s[i + 2] >= 0xa8 && s[i + 2] <= 0xae)))
			return 1;       /* U+200E/F, U+2028..202E */
		if (s[i] == 0xe2 && i + 2 < n && s[i + 1] == 0x81 &&
		    s[i + 2] >= 0xa6 && s[i + 2] <= 0xa9)
			return 1;       /* U+2066..2069 */
	}
	return 0;
}

static void
dump(const json_t *j, int compact)
{
	json_error_t e;
	json_t *back;
	char *text;
	size_t n;

	if ((text = inspect_dump(j, compact)) == NULL)
		fail("inspect_dump failed");
	n = strlen(text);
	if (n == 0 || text[n - 1] != '\n')
		fail("dump does not end in a newline");
	if (compact && memchr(text, '\n', n - 1) != NULL)
		fail("compact dump spans lines");
	if (has_unsafe((const unsigned char *)text, compact))
		fail("dump carries a raw unsafe character");
	if ((back = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
	    &e)) == NULL)
		fail("dump does not read back as JSON");
	if (!json_equal(back, (json_t *)j))
		fail("dump reads back as different JSON");
	json_decref(back);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const types[] = {
		"certificate", "chain", "csr", "crl", "jwt", "jwe"
	};
	json_t *j = NULL;
	const char *type;
	size_t i;
	int rc;

	/* ca-inspect reads at most CA_MAX_PEM bytes. */
	if (size > CA_MAX_PEM)
		return 0;
	rc = inspect_bytes(data, size, &j);
	if (rc != CA_OK) {
		if (j != NULL)
			fail("inspect_bytes failed but returned an object");
		if (rc != CA_INPUT && rc != CA_FAIL)
			fail("inspect_bytes returned an unexpected code");
		goto out;
	}
	if (!json_is_object(j))
		fail("inspect_bytes returned CA_OK without an object");
	if ((type = json_string_value(json_object_get(j, "type"))) == NULL)
		fail("object without a type");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(type, types[i]) == 0)
			break;
	if (i == sizeof(types) / sizeof(types[0]))
		fail("object of an unknown type");
	dump(j, 0);
	dump(j, 1);
out:
	json_decref(j);
	err_clear();
	ERR_clear_error();
	return 0;
}
