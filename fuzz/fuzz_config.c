/*
 * fuzz_config: the ca.json loader as every program runs it: the bytes
 * parsed as config_read_json() parses them (duplicates refused, an object
 * required, at most CA_MAX_CONFIG bytes), then checked by confcheck_ca()
 * (the schema, every member's type, durations, the provisioners and their
 * keys, the name policy) with and without warnings.
 *
 * Besides "no crash, no leak, no UB", the harness aborts when:
 *
 *   - the verdict depends on warn (warnings never refuse);
 *   - an accepted configuration, written back by jansson and read again,
 *     is refused (the check looks at values, not at their spelling);
 *   - a refusal has no message, or a message with a control character
 *     (it names a JSON path from the input, and lands in logs).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/err.h>

#include "ca_limits.h"
#include "confcheck.h"
#include "err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
check(const json_t *conf, int warn)
{
	const unsigned char *m;
	int rc;

	err_clear();
	rc = confcheck_ca(conf, warn);
	if (rc != CA_OK) {
		m = (const unsigned char *)err_msg();
		if (m == NULL || *m == '\0') {
			fprintf(stderr, "fuzz_config: a refusal without a message\n");
			abort();
		}
		for (; *m != '\0'; m++)
			if (*m < 0x20 || *m == 0x7f) {
				fprintf(stderr, "fuzz_config: a control character in: %s\n",
				    err_msg());
				abort();
			}
	}
	return rc;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	err_prog("fuzz_config");
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *conf, *again;
	char *text;
	int quiet, loud;

	if (size > CA_MAX_CONFIG)
		return 0;
	conf = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &e);
	if (!json_is_object(conf)) {
		json_decref(conf);
		return 0;
	}
	quiet = check(conf, 0);
	/* Warnings go to stderr: keep the fuzzer's output readable. */
	loud = check(conf, 1);
	if ((quiet == CA_OK) != (loud == CA_OK)) {
		fprintf(stderr, "fuzz_config: warn changed the verdict (%d, %d)\n",
		    quiet, loud);
		abort();
	}
	if (quiet == CA_OK) {
		if ((text = json_dumps(conf, JSON_COMPACT)) == NULL)
			abort();
		again = json_loads(text, JSON_REJECT_DUPLICATES, &e);
		if (again == NULL || check(again, 0) != CA_OK) {
			fprintf(stderr, "fuzz_config: accepted, written back, refused: %s\n",
			    err_msg());
			abort();
		}
		json_decref(again);
		free(text);
	}
	json_decref(conf);
	err_clear();
	ERR_clear_error();
	return 0;
}
