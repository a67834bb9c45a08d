#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <idn2.h>
#include <openssl/x509v3.h>

#include "ca_limits.h"
#include "err.h"
#include "san.h"

const char *
san_type_name(enum san_type t)
{
	switch (t) {
	case SAN_DNS: return "dns";
	case SAN_IP: return "ip";
	case SAN_EMAIL: return "email";
	case SAN_URI: return "uri";
	}
	return "?";
}

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	return n > 0;
}

/*
 * An A-label ("xn--..."; s is lowercase, n bytes) must be the IDNA2008
 * spelling of a valid U-label: decode it, encode the result again and
 * require the same text.  Invalid punycode ("xn--zz", "xn--"), a label
 * that decodes to nothing or to plain ASCII, disallowed code points and
 * non-canonical encodings are refused.
 */
static int
alabel_ok(const char *s, size_t n)
{
	char lab[64], *u = NULL, *a = NULL;
	int ok;

	if (n >= sizeof(lab))
		return 0;
	memcpy(lab, s, n);
	lab[n] = '\0';
	if (idn2_to_unicode_8z8z(lab, &u, 0) != IDN2_OK || u == NULL) {
		idn2_free(u);
		return 0;
	}
	ok = idn2_lookup_u8((const uint8_t *)u, (uint8_t **)&a,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) == IDN2_OK &&
	    a != NULL && strcmp(a, lab) == 0;
	idn2_free(u);
	idn2_free(a);
	return ok;
}

/*
 * Normalise a DNS name in place (lowercase, drop one trailing dot) and
 * check it: LDH labels of 1..63, total <= CA_MAX_NAME, "*" only as the
 * whole first label, and a last label that is not numeric or hex, so no
 * spelling of an IP address ("0177.0.0.1", "0x7f.1", "1.2.3") passes as
 * a name.  Every A-label must be valid (alabel_ok).
 */
static int
dns_normalise(char *s)
{
	size_t n = strlen(s), i, lab = 0, start = 0;

	if (n > 0 && s[n - 1] == '.')
		s[--n] = '\0';
	if (n == 0)
		return err_set(CA_INPUT, "empty DNS name");
	if (n > CA_MAX_NAME)
		return err_set(CA_INPUT, "DNS name longer than %d bytes",
		    CA_MAX_NAME);
	for (i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' || c == '\0') {
			if (lab == 0)
				return err_set(CA_INPUT, "%s: empty label", s);
			if (lab > 63)
				return err_set(CA_INPUT, "%s: label longer than 63", s);
			if (s[start] == '-' || s[i - 1] == '-')
				return err_set(CA_INPUT,
				    "%s: label starts or ends with '-'", s);
			if (lab >= 4 && strncmp(s + start, "xn--", 4) == 0 &&
			    !alabel_ok(s + start, lab))
				return err_set(CA_INPUT,
				    "%s: invalid A-label (punycode)", s);
			if (c == '\0' && (all_digits(s + start, lab) ||
			    (lab > 2 && s[start] == '0' && s[start + 1] == 'x') ||
			    (lab > 2 && s[start] == '0' && s[start + 1] == 'X')))
				return err_set(CA_INPUT,
				    "%s: ambiguous name (looks like an IP address)", s);
			lab = 0;
			start = i + 1;
			continue;
		}
		if (c >= 0x80)
			return err_set(CA_INPUT,
			    "%s: non-ASCII name (use the IDNA A-label form)", s);
		if (c == '*') {
			if (i != 0 || s[1] != '.')
				return err_set(CA_INPUT,
				    "%s: '*' only as the whole first label", s);
		} else if (!isalnum(c) && c != '-' && c != '_')
			return err_set(CA_INPUT, "%s: bad character in DNS name", s);
		s[i] = (char)tolower(c);
		lab++;
	}
	if (strcmp(s, "*") == 0 || (s[0] == '*' && strchr(s + 2, '.') == NULL))
		return err_set(CA_INPUT, "%s: wildcard needs at least two labels", s);
	return CA_OK;
}

static int
parse_ip_text(const char *s)
{
	unsigned char b[16];

	return inet_pton(AF_INET, s, b) == 1 ||
	    (strchr(s, ':') != NULL && inet_pton(AF_INET6, s, b) == 1);
}

static int
parse_ip(const char *s, struct san *out)
{
	unsigned char b[16];
	char txt[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, s, b) == 1) {
		memcpy(out->ip, b, 4);
		out->iplen = 4;
	} else if (strchr(s, ':') != NULL && inet_pton(AF_INET6, s, b) == 1) {
		static const unsigned char mapped[12] =
		    { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff };
		if (memcmp(b, mapped, 12) == 0) {
			memcpy(out->ip, b + 12, 4);
			out->iplen = 4;
		} else {
			memcpy(out->ip, b, 16);
			out->iplen = 16;
		}
	} else
		return 0;
	inet_ntop(out->iplen == 4 ? AF_INET : AF_INET6, out->ip, txt,
	    sizeof(txt));
	out->type = SAN_IP;
	out->value = strdup(txt);
	return out->value ? 1 : -1;
}

/* A URI scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) then ':'. */
static size_t
scheme_len(const char *s)
{
	size_t i;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	for (i = 1; s[i] && s[i] != ':'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return s[i] == ':' ? i : 0;
}

/*
 * A URI with an authority ("scheme://host..."): its host gets one
 * spelling, so that policy rules match what a client will see: a DNS
 * host lowercase without a trailing dot, an IP literal as is.  A
 * percent-encoded or empty host is refused: "%65vil.com" must not slip
 * past a rule for "evil.com".  Userinfo is refused (no credentials in
 * certificates).  u is modified in place; k is the scheme's length; orig
 * is the name as given, for messages.
 */
static int
uri_normalise_host(char *u, size_t k, const char *orig)
{
	char *h, *e, save;
	size_t n;
	int rc;

	if (strncmp(u + k, "://", 3) != 0)
		return CA_OK;           /* no authority: urn:, mailto: ... */
	h = u + k + 3;
	e = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(e - h)) != NULL)
		return err_set(CA_INPUT, "%s: URI with userinfo", orig);
	if (*h == '[') {
		char *rb = memchr(h, ']', (size_t)(e - h)), lit[INET6_ADDRSTRLEN];
		unsigned char b[16];

		if (rb == NULL)
			return err_set(CA_INPUT, "%s: unterminated IP literal", orig);
		/* An IPv6 address, strictly: no zone ("%25eth0"), no IPvFuture. */
		if ((size_t)(rb - h - 1) >= sizeof(lit) ||
		    (rb[1] != '\0' && strchr(":/?", rb[1]) == NULL))
			return err_set(CA_INPUT, "%s: bad IP literal in URI", orig);
		memcpy(lit, h + 1, (size_t)(rb - h - 1));
		lit[rb - h - 1] = '\0';
		if (inet_pton(AF_INET6, lit, b) != 1)
			return err_set(CA_INPUT, "%s: bad IP literal in URI", orig);
		return CA_OK;
	}
	n = strcspn(h, ":/?#");
	if (n == 0)
		return err_set(CA_INPUT, "%s: URI without a host", orig);
	if (memchr(h, '%', n) != NULL)
		return err_set(CA_INPUT, "%s: percent-encoded URI host", orig);
	save = h[n];
	h[n] = '\0';
	if (!parse_ip_text(h)) {
		rc = dns_normalise(h);
		if (rc != CA_OK) {
			h[n] = save;
			return err_set(CA_INPUT, "%s: bad URI host", orig);
		}
	}
	/*
	 * dns_normalise may have dropped a trailing dot, leaving the host m
	 * bytes long: put the rest of the URI (save, then what followed it)
	 * right after it.
	 */
	{
		size_t m = strlen(h);

		h[m] = save;
		if (save != '\0' && m < n)
			memmove(h + m + 1, h + n + 1, strlen(h + n + 1) + 1);
	}
	return CA_OK;
}

/*
 * A URI's characters (RFC 3986): unreserved, reserved and well-formed
 * percent-encodings; no fragment, which names a part of a resource and
 * has no place in a certificate ("https://bad.t#@a.t").
 */
static int
uri_chars_ok(const char *u, const char *orig)
{
	static const char ok[] = "-._~:/?[]@!$&'()*+,;=";
	size_t i;

	for (i = 0; u[i] != '\0'; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c == '#')
			return err_set(CA_INPUT, "%s: URI with a fragment", orig);
		if (c == '%') {
			if (!isxdigit((unsigned char)u[i + 1]) ||
			    !isxdigit((unsigned char)u[i + 2]))
				return err_set(CA_INPUT,
				    "%s: bad percent-encoding in URI", orig);
			i += 2;
			continue;
		}
		if (!isalnum(c) && strchr(ok, c) == NULL)
			return err_set(CA_INPUT, "%s: bad character in URI", orig);
	}
	return CA_OK;
}

static int
parse_uri(const char *s, struct san *out)
{
	size_t k = scheme_len(s), i;
	int r;

	if (k == 0)
		return err_set(CA_INPUT, "%s: not a URI (no scheme)", s);
	if (parse_ip_text(s))
		return err_set(CA_INPUT, "%s: an IP address, not a URI", s);
	if (s[k + 1] == '\0')
		return err_set(CA_INPUT, "%s: empty URI", s);
	if ((r = uri_chars_ok(s, s)) != CA_OK)
		return r;
	out->type = SAN_URI;
	if ((out->value = strdup(s)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	for (i = 0; i < k; i++)
		out->value[i] = (char)tolower((unsigned char)out->value[i]);
	if ((r = uri_normalise_host(out->value, k, s)) != CA_OK) {
		free(out->value);
		out->value = NULL;
		return r;
	}
	return CA_OK;
}

/*
 * An email address: a dot-atom local part (RFC 5322 atext, no quotes, no
 * comments, no leading, trailing or double dot), at most 64 bytes, kept
 * as given; '@'; a DNS domain, normalised, not a wildcard.
 */
static int
parse_email(const char *s, struct san *out)
{
	static const char atext[] = "!#$%&'*+-/=?^_`{|}~";
	const char *at = strchr(s, '@'), *p;

	if (at == NULL || at == s || strchr(at + 1, '@') != NULL ||
	    at[1] == '\0')
		return err_set(CA_INPUT, "%s: malformed email address", s);
	if ((size_t)(at - s) > 64)
		return err_set(CA_INPUT, "%s: email local part longer than 64", s);
	if (memchr(s, '"', (size_t)(at - s)) != NULL)
		return err_set(CA_INPUT, "%s: quoted email local part", s);
	for (p = s; p < at; p++) {
		if (*p == '.') {
			if (p == s || p + 1 == at || p[1] == '.')
				return err_set(CA_INPUT,
				    "%s: misplaced '.' in email local part", s);
			continue;
		}
		if (!isalnum((unsigned char)*p) && strchr(atext, *p) == NULL)
			return err_set(CA_INPUT,
			    "%s: bad character in email local part", s);
	}
	out->type = SAN_EMAIL;
	if ((out->value = strdup(s)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if (dns_normalise(out->value + (at - s) + 1) != CA_OK ||
	    out->value[(at - s) + 1] == '*') {
		free(out->value);
		out->value = NULL;
		return err_set(CA_INPUT, "%s: malformed email domain", s);
	}
	return CA_OK;
}

/* "fe80::1%eth0": an IPv6 address with a zone (scope) identifier. */
static int
ipv6_zone(const char *s)
{
	const char *pct = strchr(s, '%');
	unsigned char b[16];
	char buf[INET6_ADDRSTRLEN];
	size_t n;

	if (pct == NULL || memchr(s, ':', (size_t)(pct - s)) == NULL)
		return 0;
	n = (size_t)(pct - s);
	if (n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET6, buf, b) == 1;
}

/* Length, spaces, controls and non-ASCII: the same for every type. */
static int
check_text(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0)
		return err_set(CA_INPUT, "empty name");
	if (n > CA_MAX_SAN_LEN)
		return err_set(CA_INPUT, "name longer than %d bytes", CA_MAX_SAN_LEN);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return err_set(CA_INPUT,
			    "%s: control, space or non-ASCII character in name", s);
	return CA_OK;
}

static int
parse_typed(const char *s, enum san_type t, struct san *out)
{
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = check_text(s)) != CA_OK)
		return r;
	switch (t) {
	case SAN_IP:
		if (ipv6_zone(s))
			return err_set(CA_INPUT,
			    "%s: IPv6 address with a zone identifier", s);
		if ((r = parse_ip(s, out)) < 0)
			return err_set(CA_FAIL, "out of memory");
		return r > 0 ? CA_OK :
		    err_set(CA_INPUT, "%s: not an IP address", s);
	case SAN_URI:
		return parse_uri(s, out);
	case SAN_EMAIL:
		return parse_email(s, out);
	case SAN_DNS:
		out->type = SAN_DNS;
		if ((out->value = strdup(s)) == NULL)
			return err_set(CA_FAIL, "out of memory");
		if ((r = dns_normalise(out->value)) != CA_OK) {
			free(out->value);
			out->value = NULL;
		}
		return r;
	}
	return err_set(CA_FAIL, "bad name type");
}

int
san_parse_as(const char *s, enum san_type t, struct san *out)
{
	return parse_typed(s, t, out);
}

int
san_parse_name(const char *s, struct san *out)
{
	size_t k, i;
	int r;

	memset(out, 0, sizeof(*out));
	if ((r = check_text(s)) != CA_OK)
		return r;
	if ((r = parse_ip(s, out)) != 0)
		return r > 0 ? CA_OK : err_set(CA_FAIL, "out of memory");
	if (ipv6_zone(s))
		return err_set(CA_INPUT, "%s: IPv6 address with a zone identifier", s);
	if ((k = scheme_len(s)) > 0) {
		if (strchr(s, '@') != NULL)
			return err_set(CA_INPUT,
			    "%s: ambiguous name (a URI or an email address: "
			    "write uri: or email:)", s);
		for (i = 0; i < k && isxdigit((unsigned char)s[i]); i++)
			;
		if (i == k)
			return err_set(CA_INPUT,
			    "%s: ambiguous name (an IP address or a URI: "
			    "write ip: or uri:)", s);
		return parse_uri(s, out);
	}
	if (strchr(s, '@') != NULL)
		return parse_email(s, out);
	return parse_typed(s, SAN_DNS, out);
}

static const struct {
	const char *prefix;
	enum san_type type;
} prefixes[] = {
	{ "dns:", SAN_DNS }, { "ip:", SAN_IP },
	{ "email:", SAN_EMAIL }, { "uri:", SAN_URI },
};

int
san_parse(const char *s, struct san *out)
{
	size_t i, n;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		n = strlen(prefixes[i].prefix);
		if (strncasecmp(s, prefixes[i].prefix, n) == 0)
			return parse_typed(s + n, prefixes[i].type, out);
	}
	return san_parse_name(s, out);
}

char *
san_text(const struct san *s)
{
	struct san again;
	const char *t = san_type_name(s->type);
	char *out;
	size_t n;
	int same;

	same = san_parse(s->value, &again) == CA_OK && san_equal(&again, s);
	free(again.value);
	err_clear();
	if (same)
		return strdup(s->value);
	n = strlen(t) + 1 + strlen(s->value) + 1;
	if ((out = malloc(n)) == NULL)
		return NULL;
	snprintf(out, n, "%s:%s", t, s->value);
	return out;
}

int
san_equal(const struct san *a, const struct san *b)
{
	if (a->type != b->type)
		return 0;
	if (a->type == SAN_IP)
		return a->iplen == b->iplen && memcmp(a->ip, b->ip, a->iplen) == 0;
	return strcmp(a->value, b->value) == 0;
}

int
sans_contains(const struct sans *set, const struct san *s)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (san_equal(&set->v[i], s))
			return 1;
	return 0;
}

int
sans_add_san(struct sans *set, const struct san *s)
{
	struct san *nv;

	if (sans_contains(set, s))
		return CA_OK;
	if (set->n >= CA_MAX_SANS)
		return err_set(CA_INPUT, "more than %d names", CA_MAX_SANS);
	if ((nv = realloc(set->v, (set->n + 1) * sizeof(*nv))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	set->v = nv;
	nv[set->n] = *s;
	if ((nv[set->n].value = strdup(s->value)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	set->n++;
	return CA_OK;
}

int
sans_add(struct sans *set, const char *str)
{
	struct san s;
	int rc;

	if ((rc = san_parse(str, &s)) != CA_OK)
		return rc;
	rc = sans_add_san(set, &s);
	free(s.value);
	return rc;
}

int
sans_find_cn(const struct sans *set, const char *cn, const struct san **found)
{
	struct san c;
	size_t i;
	int rc;

	*found = NULL;
	if ((rc = san_parse_name(cn, &c)) != CA_OK)
		return rc;
	for (i = 0; i < set->n; i++)
		if (san_equal(&set->v[i], &c))
			*found = &set->v[i];
	free(c.value);
	if (*found == NULL)
		return err_set(CA_REFUSED, "%s is not one of the names", cn);
	return CA_OK;
}

char *
sans_missing(const struct sans *a, const struct sans *b)
{
	size_t i, len = 1, n;
	char *out, *p;

	for (i = 0; i < a->n; i++)
		if (!sans_contains(b, &a->v[i]))
			len += strlen(san_type_name(a->v[i].type)) + 1 +
			    strlen(a->v[i].value) + 2;
	if ((out = p = malloc(len)) == NULL)
		return NULL;
	*p = '\0';
	for (i = 0; i < a->n; i++) {
		if (sans_contains(b, &a->v[i]))
			continue;
		n = (size_t)snprintf(p, len - (size_t)(p - out), "%s%s:%s",
		    p == out ? "" : ", ", san_type_name(a->v[i].type),
		    a->v[i].value);
		p += n;
	}
	return out;
}

void
sans_free(struct sans *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		free(set->v[i].value);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

int
sans_equal(const struct sans *a, const struct sans *b)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (!sans_contains(b, &a->v[i]))
			return 0;
	for (i = 0; i < b->n; i++)
		if (!sans_contains(a, &b->v[i]))
			return 0;
	return 1;
}

int
sans_from_general_names(const GENERAL_NAMES *gens, struct sans *out)
{
	int i, rc;

	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		const ASN1_STRING *str;
		char buf[CA_MAX_SAN_LEN + 1];
		int len;

		switch (g->type) {
		case GEN_DNS: str = g->d.dNSName; break;
		case GEN_EMAIL: str = g->d.rfc822Name; break;
		case GEN_URI: str = g->d.uniformResourceIdentifier; break;
		case GEN_IPADD: str = g->d.iPAddress; break;
		default:
			return err_set(CA_INPUT, "unsupported subject alternative name type");
		}
		len = ASN1_STRING_length(str);
		if (len <= 0 || len > CA_MAX_SAN_LEN)
			return err_set(CA_INPUT, "bad subject alternative name length");
		if (g->type == GEN_IPADD) {
			if (len != 4 && len != 16)
				return err_set(CA_INPUT, "bad IP address length");
			inet_ntop(len == 4 ? AF_INET : AF_INET6,
			    ASN1_STRING_get0_data(str), buf, sizeof(buf));
		} else {
			memcpy(buf, ASN1_STRING_get0_data(str), (size_t)len);
			buf[len] = '\0';
			if (strlen(buf) != (size_t)len)
				return err_set(CA_INPUT, "NUL byte in a name");
		}
		/*
		 * Read as the type it is encoded as; text that reads as
		 * another type is refused (a DNS name "10.0.0.5").
		 */
		{
			enum san_type want = g->type == GEN_DNS ? SAN_DNS :
			    g->type == GEN_EMAIL ? SAN_EMAIL :
			    g->type == GEN_URI ? SAN_URI : SAN_IP;
			struct san tmp;

			if (san_parse_name(buf, &tmp) == CA_OK) {
				free(tmp.value);
				if (tmp.type != want)
					return err_set(CA_INPUT,
					    "%s: encoded as %s but reads as %s", buf,
					    san_type_name(want), san_type_name(tmp.type));
			}
			if (san_parse_as(buf, want, &tmp) != CA_OK)
				return err_code();
			rc = sans_add_san(out, &tmp);
			free(tmp.value);
			if (rc != CA_OK)
				return rc;
		}
	}
	return CA_OK;
}

GENERAL_NAMES *
sans_to_general_names(const struct sans *set)
{
	GENERAL_NAMES *gens;
	size_t i;

	if ((gens = sk_GENERAL_NAME_new_null()) == NULL)
		goto fail;
	for (i = 0; i < set->n; i++) {
		const struct san *s = &set->v[i];
		GENERAL_NAME *g;
		ASN1_IA5STRING *ia5 = NULL;
		ASN1_OCTET_STRING *oct = NULL;
		int type;

		if ((g = GENERAL_NAME_new()) == NULL)
			goto fail;
		if (s->type == SAN_IP) {
			type = GEN_IPADD;
			if ((oct = ASN1_OCTET_STRING_new()) == NULL ||
			    !ASN1_OCTET_STRING_set(oct, s->ip, (int)s->iplen)) {
				ASN1_OCTET_STRING_free(oct);
				GENERAL_NAME_free(g);
				goto fail;
			}
			GENERAL_NAME_set0_value(g, type, oct);
		} else {
			type = s->type == SAN_DNS ? GEN_DNS :
			    s->type == SAN_EMAIL ? GEN_EMAIL : GEN_URI;
			if ((ia5 = ASN1_IA5STRING_new()) == NULL ||
			    !ASN1_STRING_set(ia5, s->value, (int)strlen(s->value))) {
				ASN1_IA5STRING_free(ia5);
				GENERAL_NAME_free(g);
				goto fail;
			}
			GENERAL_NAME_set0_value(g, type, ia5);
		}
		if (!sk_GENERAL_NAME_push(gens, g)) {
			GENERAL_NAME_free(g);
			goto fail;
		}
	}
	return gens;
fail:
	GENERAL_NAMES_free(gens);
	err_ssl(CA_FAIL, "building subject alternative names");
	return NULL;
}
