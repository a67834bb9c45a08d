/*
 * san: typed, normalised subject alternative names.
 *
 * One spelling for each name: DNS names lowercase without a trailing dot,
 * ASCII only (IDNA A-labels); IP addresses parsed strictly (dotted-quad
 * decimal without leading zeros, or RFC 4291 IPv6) with IPv4-mapped IPv6
 * folded to IPv4; emails as local@domain with the domain normalised; URIs
 * with a scheme.  A string is classified IP, then URI, then email, else DNS.
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
/* Add a parsed name unless an equal one is present; at most CA_MAX_SANS. */
int sans_add(struct sans *set, const char *s);
int sans_add_san(struct sans *set, const struct san *s);
void sans_free(struct sans *set);
/* Set equality (order and duplicates ignored). */
int sans_equal(const struct sans *a, const struct sans *b);
int sans_contains(const struct sans *set, const struct san *s);

/* From a certificate's or CSR's GeneralNames; unsupported types are CA_INPUT. */
int sans_from_general_names(const GENERAL_NAMES *gens, struct sans *out);
/* To GeneralNames for an extension; NULL on failure (message recorded). */
GENERAL_NAMES *sans_to_general_names(const struct sans *set);

#endif
