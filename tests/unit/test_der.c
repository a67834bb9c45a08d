/*
 * der_strict: each X.690 DER rule on hand-written bytes, the DER form
 * accepted and its nearest BER or malformed variant refused with its
 * reason.  tests/bats/attacks_der.bats covers whole objects.
 */
#include <stddef.h>
#include <stdlib.h>

#include "der.h"
#include "err.h"
#include "tap.h"

#define X(...) (const unsigned char[]){ __VA_ARGS__ }, sizeof((const unsigned char[]){ __VA_ARGS__ })

static void
good(const unsigned char *p, size_t n, const char *what)
{
	int rc = der_strict(p, n);

	ok(rc == CA_OK, "ok %s", what);
	if (rc != CA_OK)
		printf("#   %s\n", err_msg());
	err_clear();
}

static void
bad(const unsigned char *p, size_t n, const char *why, const char *what)
{
	is_int(der_strict(p, n), CA_INPUT, "fail %s", what);
	is_str(err_msg(), why, "  ... says why");
	err_clear();
}

int
main(void)
{
	unsigned char deep[2 * (DER_MAX_DEPTH + 1)];
	size_t i;

	/* lengths */
	good(X(0x30, 0x03, 0x02, 0x01, 0x05), "SEQUENCE { INTEGER 5 }");
	bad(X(0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00),
	    "not DER (indefinite length at byte 0)", "indefinite length");
	bad(X(0x30, 0x81, 0x03, 0x02, 0x01, 0x05),
	    "not DER (non-minimal length at byte 0)", "long form for a short length");
	bad(X(0x04, 0x82, 0x00, 0x80),
	    "not DER (non-minimal length at byte 0)", "leading zero length octet");
	bad(X(0x04, 0x85, 1, 0, 0, 0, 0),
	    "not DER (length too large at byte 0)", "five length octets");
	bad(X(0x30, 0x05, 0x02, 0x01, 0x05),
	    "not DER (length beyond the end at byte 0)", "length beyond the end");
	bad(X(0x30, 0x03, 0x02, 0x01, 0x05, 0x00),
	    "not DER (trailing bytes at byte 5)", "trailing byte");
	bad(X(0x30, 0x04, 0x02, 0x01, 0x05, 0x00),
	    "not DER (truncated element at byte 5)", "content not filled by elements");
	bad(X(0x30), "not DER (truncated element at byte 0)", "one octet");
	is_int(der_strict(NULL, 0), CA_INPUT, "fail empty");
	err_clear();

	/* tags */
	good(X(0x9f, 0x1f, 0x00), "high tag number 31");
	bad(X(0x9f, 0x1e, 0x00), "not DER (non-minimal tag at byte 0)",
	    "high tag form for 30");
	bad(X(0x9f, 0x80, 0x1f, 0x00), "not DER (non-minimal tag at byte 0)",
	    "high tag with a leading zero digit");
	bad(X(0x30, 0x02, 0x00, 0x00),
	    "not DER (end-of-contents octets at byte 2)", "end-of-contents inside");

	/* BOOLEAN, INTEGER, NULL */
	good(X(0x01, 0x01, 0xff), "BOOLEAN FF");
	good(X(0x01, 0x01, 0x00), "BOOLEAN 00");
	bad(X(0x01, 0x01, 0x01), "not DER (BOOLEAN not 00 or FF at byte 0)", "BOOLEAN 01");
	bad(X(0x01, 0x02, 0xff, 0xff), "not DER (BOOLEAN not 00 or FF at byte 0)",
	    "BOOLEAN of two octets");
	good(X(0x02, 0x02, 0x00, 0x80), "INTEGER 128");
	good(X(0x02, 0x01, 0x80), "INTEGER -128");
	bad(X(0x02, 0x02, 0x00, 0x7f), "not DER (non-minimal INTEGER at byte 0)",
	    "INTEGER with a redundant 00");
	bad(X(0x02, 0x02, 0xff, 0x80), "not DER (non-minimal INTEGER at byte 0)",
	    "INTEGER with a redundant FF");
	bad(X(0x02, 0x00), "not DER (empty INTEGER at byte 0)", "empty INTEGER");
	bad(X(0x0a, 0x02, 0x00, 0x01), "not DER (non-minimal INTEGER at byte 0)",
	    "ENUMERATED with a redundant 00");
	good(X(0x05, 0x00), "NULL");
	bad(X(0x05, 0x01, 0x00), "not DER (NULL with content at byte 0)", "NULL with content");

	/* BIT STRING */
	good(X(0x03, 0x02, 0x07, 0x80), "BIT STRING of one bit");
	good(X(0x03, 0x01, 0x00), "empty BIT STRING");
	bad(X(0x03, 0x02, 0x07, 0x81), "not DER (BIT STRING unused bits not zero at byte 0)",
	    "unused bit set");
	bad(X(0x03, 0x02, 0x08, 0x00), "not DER (bad BIT STRING at byte 0)",
	    "8 unused bits");
	bad(X(0x03, 0x01, 0x01), "not DER (bad BIT STRING at byte 0)",
	    "unused bits in an empty BIT STRING");
	bad(X(0x23, 0x04, 0x03, 0x02, 0x00, 0x01),
	    "not DER (constructed string or scalar at byte 0)", "constructed BIT STRING");

	/* strings, SEQUENCE */
	bad(X(0x24, 0x03, 0x04, 0x01, 0x41),
	    "not DER (constructed string or scalar at byte 0)", "constructed OCTET STRING");
	bad(X(0x2c, 0x03, 0x0c, 0x01, 0x41),
	    "not DER (constructed string or scalar at byte 0)", "constructed UTF8String");
	bad(X(0x10, 0x00), "not DER (primitive SEQUENCE or SET at byte 0)",
	    "primitive SEQUENCE");

	/* OBJECT IDENTIFIER */
	good(X(0x06, 0x03, 0x55, 0x1d, 0x11), "OID 2.5.29.17");
	good(X(0x06, 0x03, 0x2a, 0x86, 0x48), "OID 1.2.840");
	bad(X(0x06, 0x04, 0x2a, 0x80, 0x86, 0x48),
	    "not DER (non-minimal OBJECT IDENTIFIER at byte 0)", "OID arc with a leading 80");
	bad(X(0x06, 0x02, 0x2a, 0x86),
	    "not DER (truncated OBJECT IDENTIFIER at byte 0)", "OID ending mid-arc");
	bad(X(0x06, 0x00), "not DER (truncated OBJECT IDENTIFIER at byte 0)", "empty OID");

	/* times */
	good(X(0x17, 0x0d, '2', '6', '0', '1', '0', '2', '0', '3', '0', '4', '0', '5', 'Z'),
	    "UTCTime");
	bad(X(0x17, 0x0b, '2', '6', '0', '1', '0', '2', '0', '3', '0', '4', 'Z'),
	    "not DER (UTCTime not YYMMDDHHMMSSZ at byte 0)", "UTCTime without seconds");
	bad(X(0x17, 0x11, '2', '6', '0', '1', '0', '2', '0', '3', '0', '4', '0', '5',
	    '+', '0', '1', '0', '0'),
	    "not DER (UTCTime not YYMMDDHHMMSSZ at byte 0)", "UTCTime with an offset");
	good(X(0x18, 0x0f, '2', '0', '5', '0', '0', '1', '0', '2', '0', '3', '0', '4',
	    '0', '5', 'Z'), "GeneralizedTime");
	good(X(0x18, 0x11, '2', '0', '5', '0', '0', '1', '0', '2', '0', '3', '0', '4',
	    '0', '5', '.', '5', 'Z'), "GeneralizedTime with a fraction");
	bad(X(0x18, 0x12, '2', '0', '5', '0', '0', '1', '0', '2', '0', '3', '0', '4',
	    '0', '5', '.', '5', '0', 'Z'),
	    "not DER (GeneralizedTime fraction not minimal at byte 0)", "fraction with a trailing 0");
	bad(X(0x18, 0x0e, '2', '0', '5', '0', '0', '1', '0', '2', '0', '3', '0', '4',
	    '0', '5'), "not DER (GeneralizedTime not YYYYMMDDHHMMSSZ at byte 0)",
	    "GeneralizedTime without Z");

	/* SET OF order */
	good(X(0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02), "SET OF in order");
	good(X(0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01), "SET OF with equal elements");
	bad(X(0x31, 0x06, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01),
	    "not DER (SET elements out of order at byte 5)", "SET OF out of order");
	good(X(0x30, 0x06, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01), "SEQUENCE in any order");

	/* nesting: DER_MAX_DEPTH SEQUENCEs inside each other, then one more */
	for (i = 0; i < DER_MAX_DEPTH; i++) {
		deep[2 * i] = 0x30;
		deep[2 * i + 1] = (unsigned char)(2 * (DER_MAX_DEPTH - 1 - i));
	}
	good(deep, 2 * DER_MAX_DEPTH, "nesting of DER_MAX_DEPTH");
	for (i = 0; i < DER_MAX_DEPTH + 1; i++) {
		deep[2 * i] = 0x30;
		deep[2 * i + 1] = (unsigned char)(2 * (DER_MAX_DEPTH - i));
	}
	bad(deep, 2 * (DER_MAX_DEPTH + 1), "not DER (nested too deep at byte 64)",
	    "nesting of DER_MAX_DEPTH + 1");
	return tap_done();
}
