/*
 * fuzz_names: the text parsers behind every name and time the programs
 * accept on their command lines and in tokens: san_parse, sans_add and
 * the GeneralNames round trip, time_parse and time_parse_duration.
 *
 * The input is copied into a NUL-terminated buffer (the parsers take C
 * strings).  Besides "no crash, no leak, no UB", the harness checks the
 * properties the rest of the code relies on and aborts when one breaks:
 *
 *   - a normalised name parses again to itself (one spelling per name):
 *     its written form (san_text, "uri:" when needed) through san_parse,
 *     its value through san_parse_as with its type;
 *   - a name read as a common name (san_parse_name) is the same name;
 *   - every A-label in an accepted DNS name, URI host or email domain is
 *     valid IDNA2008 (checked again through libidn2 here);
 *   - a set of names written as GeneralNames (what goes into a
 *     certificate) reads back as the same set;
 *   - a duration formatted by time_fmt_duration parses to the same value,
 *     and an RFC 3339 time formatted by time_fmt parses to the same time.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
#include "err.h"
#include "san.h"
#include "timeutil.h"

/* A fixed "now" (2026-01-01T00:00:00Z) keeps runs reproducible. */
#define FUZZ_NOW 1767225600LL
/* Names longer than this cannot parse; bigger inputs only slow the search. */
#define NAMES_MAX_INPUT (4 * CA_MAX_SAN_LEN)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const char *input)
{
	fprintf(stderr, "fuzz_names: %s\ninput: \"", what);
	for (; *input; input++) {
		unsigned char c = (unsigned char)*input;
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			fprintf(stderr, "\\x%02x", c);
		else
			fputc(c, stderr);
	}
	fprintf(stderr, "\"\nlast error: %s\n", err_msg());
	abort();
}

static void
same(const struct san *a, const struct san *b, const char *what,
    const char *input)
{
	if (a->type != b->type || strcmp(a->value, b->value) != 0 ||
	    a->iplen != b->iplen || memcmp(a->ip, b->ip, a->iplen) != 0)
		fail(what, input);
}

/* Every "xn--" label of a DNS name decodes and encodes back to itself. */
static void
check_alabels(const char *dns, const char *input)
{
	const char *p = dns, *e;
	char lab[64], *u, *a;

	for (; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ".");
		if (e - p < 4 || strncmp(p, "xn--", 4) != 0)
			continue;
		if (e - p >= (long)sizeof(lab))
			fail("accepted A-label longer than 63", input);
		memcpy(lab, p, (size_t)(e - p));
		lab[e - p] = '\0';
		u = a = NULL;
		if (idn2_to_unicode_8z8z(lab, &u, 0) != IDN2_OK ||
		    idn2_lookup_u8((const uint8_t *)u, (uint8_t **)&a,
		    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK ||
		    strcmp(a, lab) != 0)
			fail("accepted an invalid A-label", input);
		idn2_free(u);
		idn2_free(a);
	}
}

/* A parsed name must parse again to the same type, value and address. */
static void
check_idempotent(const struct san *s, const char *input)
{
	struct san again;
	char *text;

	if ((text = san_text(s)) == NULL)
		return;
	if (san_parse(text, &again) != CA_OK)
		fail("written name does not parse again", input);
	same(&again, s, "written name changes when parsed again", input);
	free(again.value);
	free(text);
	if (san_parse_as(s->value, s->type, &again) != CA_OK)
		fail("normalised name does not parse again as its type", input);
	same(&again, s, "normalised name changes when parsed again", input);
	free(again.value);
	if (s->type == SAN_DNS)
		check_alabels(s->value, input);
	else if (s->type == SAN_EMAIL)
		check_alabels(strchr(s->value, '@') + 1, input);
}

static void
names(const char *s)
{
	struct sans set = { NULL, 0 }, back = { NULL, 0 };
	GENERAL_NAMES *gens;
	struct san one;
	char *copy, *line, *save = NULL;

	/* The whole input as one name. */
	if (san_parse(s, &one) == CA_OK) {
		if (one.value == NULL)
			fail("san_parse returned CA_OK without a value", s);
		(void)san_type_name(one.type);
		check_idempotent(&one, s);
		free(one.value);
	}
	/*
	 * As a common name (no prefix): the same name san_parse reads, unless
	 * the text starts with a prefix, which san_parse takes as one.
	 */
	if (strncasecmp(s, "dns:", 4) != 0 && strncasecmp(s, "ip:", 3) != 0 &&
	    strncasecmp(s, "email:", 6) != 0 && strncasecmp(s, "uri:", 4) != 0 &&
	    san_parse_name(s, &one) == CA_OK) {
		struct san two;

		if (san_parse(s, &two) != CA_OK)
			fail("a common name is not a name", s);
		same(&one, &two, "a common name reads as another name", s);
		free(two.value);
		free(one.value);
	}

	/* Each line as one name of a set (duplicates, the CA_MAX_SANS cap). */
	if ((copy = strdup(s)) == NULL)
		return;
	for (line = strtok_r(copy, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		if (sans_add(&set, line) != CA_OK && err_code() != CA_INPUT)
			fail("sans_add failed with an unexpected code", s);
	free(copy);
	if (set.n > CA_MAX_SANS)
		fail("more than CA_MAX_SANS names in a set", s);

	/* What a certificate would carry must read back as the same set. */
	if (set.n > 0) {
		if ((gens = sans_to_general_names(&set)) == NULL)
			fail("sans_to_general_names failed on a parsed set", s);
		if (sans_from_general_names(gens, &back) != CA_OK)
			fail("GeneralNames written from a parsed set do not read back", s);
		if (!sans_equal(&set, &back))
			fail("GeneralNames round trip changed the set", s);
		GENERAL_NAMES_free(gens);
		/* The first line as a CN; the difference of two sets. */
		{
			const struct san *f;
			char *first = strdup(s), *d;

			if (first != NULL) {
				first[strcspn(first, "\n")] = '\0';
				if (sans_find_cn(&set, first, &f) == CA_OK &&
				    !sans_contains(&set, f))
					fail("sans_find_cn found a name outside the set", s);
				free(first);
			}
			if ((d = sans_missing(&set, &back)) != NULL && d[0] != '\0')
				fail("sans_missing of equal sets is not empty", s);
			free(d);
		}
	}
	sans_free(&back);
	sans_free(&set);
}

static void
times(const char *s)
{
	int64_t t, d, again;
	char buf[64];

	if (time_parse_duration(s, &d) == CA_OK) {
		if (d > 100LL * 366 * 86400 || d < -100LL * 366 * 86400)
			fail("duration beyond 100 years accepted", s);
		time_fmt_duration(d, buf, sizeof(buf));
		if (time_parse_duration(buf, &again) != CA_OK || again != d)
			fail("formatted duration does not parse back", s);
	}
	if (time_parse(s, FUZZ_NOW, &t) == CA_OK) {
		/* Years 0000..9999: the range time_fmt writes as RFC 3339. */
		if (t >= -62167219200LL && t < 253402300800LL) {
			time_fmt(t, buf, sizeof(buf));
			if (time_parse(buf, FUZZ_NOW, &again) != CA_OK || again != t)
				fail("formatted time does not parse back", s);
		}
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > NAMES_MAX_INPUT)
		return 0;
	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	names(s);
	times(s);
	free(s);
	err_clear();
	ERR_clear_error();
	return 0;
}
