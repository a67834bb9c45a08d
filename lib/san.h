/*
 * san: typed, normalised subject alternative names.
 *
 * One spelling for each name: DNS names lowercase without a trailing dot,
 * ASCII only (IDNA A-labels); IP addresses parsed strictly (dotted-quad
 * decimal without leading zeros, or RFC 4291 IPv6) with IPv4-mapped IPv6
 * folded to IPv4; emails as local@domain with the domain normalised; URIs
 * with a scheme.
 *
 * A name must be one type unambiguously: an IP address; else a URI (a
 * scheme, no '@', a scheme that is not all hex digits like "fe80"); else
 * an email address (one '@'); else a DNS name.  A string that could be
 * two ("mailto:root@t", "https://a.t#@b.t", "fe80::1%eth0") is refused;
 * a prefix "dns:", "ip:", "email:" or "uri:" (any case) names the type
 * instead.  Email local parts are dot-atoms (no quotes, no comments); A-
 * labels must be valid IDNA2008; URIs take RFC 3986 characters and no
 * fragment; IPv6 zone identifiers are refused.
 */
#ifndef INCA_SAN_H
#define INCA_SAN_H

#include <stddef.h>

#include <openssl/x509v3.h>

enum san_type { SAN_DNS, SAN_IP, SAN_EMAIL, SAN_URI };

struct san {
	enum san_type type;
	char *value;                /* normalised text form; owned */
	unsigned char ip[16];       /* SAN_IP: 4 or 16 bytes */
	size_t iplen;
};

struct sans {
	struct san *v;
	size_t n;
};

/* "dns", "ip", "email", "uri". */
const char *san_type_name(enum san_type t);

/*
 * Classify and normalise one name into out (out->value malloc'd).
 * CA_INPUT with a message naming the problem for a malformed name
 * (for example "0177.0.0.1" or "0x7f.1": ambiguous IP spelling).
 * Wildcards ("*." as the whole first label) are accepted here; policy
 * decides whether they are allowed.
 */
int san_parse(const char *s, struct san *out);
/* The same without a prefix: the text is a name as it would be a CN. */
int san_parse_name(const char *s, struct san *out);
/* The text as a name of type t (no prefix, no guessing): CSR names, rules. */
int san_parse_as(const char *s, enum san_type t, struct san *out);
/* Same type and value (IP addresses by their bytes). */
int san_equal(const struct san *a, const struct san *b);
/*
 * A spelling of s that san_parse reads back as s (malloc'd, NULL when
 * out of memory): its value, or "type:value" when the value alone would
 * read as another name ("uri:mailto:root@t").
 */
char *san_text(const struct san *s);
/* Add a parsed name unless an equal one is present; at most CA_MAX_SANS. */
int sans_add(struct sans *set, const char *s);
int sans_add_san(struct sans *set, const struct san *s);
void sans_free(struct sans *set);
/* Set equality (order and duplicates ignored). */
int sans_equal(const struct sans *a, const struct sans *b);
int sans_contains(const struct sans *set, const struct san *s);
/*
 * The member of set that the common name cn is (cn read as san_parse_name
 * reads it): CA_OK and *found; CA_INPUT when cn is not a name (the
 * parser's message); CA_REFUSED "<cn> is not one of the names".
 */
int sans_find_cn(const struct sans *set, const char *cn,
    const struct san **found);
/* "type:value, ..." of the names of a not in b; malloc'd, "" for none. */
char *sans_missing(const struct sans *a, const struct sans *b);

/* From a certificate's or CSR's GeneralNames; unsupported types are CA_INPUT. */
int sans_from_general_names(const GENERAL_NAMES *gens, struct sans *out);
/* To GeneralNames for an extension; NULL on failure (message recorded). */
GENERAL_NAMES *sans_to_general_names(const struct sans *set);

#endif
