#include <arpa/inet.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
 * Normalise a DNS name in place (lowercase, drop one trailing dot) and
 * check it: LDH labels of 1..63, total <= CA_MAX_NAME, "*" only as the
 * whole first label, and a last label that is not numeric or hex, so no
 * spelling of an IP address ("0177.0.0.1", "0x7f.1", "1.2.3") passes as
 * a name.
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
		char *rb = memchr(h, ']', (size_t)(e - h));
		if (rb == NULL)
			return err_set(CA_INPUT, "%s: unterminated IP literal", orig);
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

int
san_parse(const char *s, struct san *out)
{
	size_t n = strlen(s), i;
	const char *at;
	int r;

	memset(out, 0, sizeof(*out));
	if (n == 0)
		return err_set(CA_INPUT, "empty name");
	if (n > CA_MAX_SAN_LEN)
		return err_set(CA_INPUT, "name longer than %d bytes", CA_MAX_SAN_LEN);
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return err_set(CA_INPUT,
			    "%s: control, space or non-ASCII character in name", s);
	if ((r = parse_ip(s, out)) != 0)
		return r > 0 ? CA_OK : err_set(CA_FAIL, "out of memory");
	if (scheme_len(s) > 0 && strchr(s, '@') == NULL) {
		size_t k = scheme_len(s);

		if (s[k + 1] == '\0')
			return err_set(CA_INPUT, "%s: empty URI", s);
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
	if ((at = strchr(s, '@')) != NULL) {
		if (at == s || strchr(at + 1, '@') != NULL || at[1] == '\0')
			return err_set(CA_INPUT, "%s: malformed email address", s);
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
	out->type = SAN_DNS;
	if ((out->value = strdup(s)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	if ((r = dns_normalise(out->value)) != CA_OK) {
		free(out->value);
		out->value = NULL;
		return r;
	}
	return CA_OK;
}

static int
san_eq(const struct san *a, const struct san *b)
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
		if (san_eq(&set->v[i], s))
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
		if ((rc = sans_add(out, buf)) != CA_OK)
			return rc;
		/* The text must classify as the type it was encoded as. */
		{
			enum san_type want = g->type == GEN_DNS ? SAN_DNS :
			    g->type == GEN_EMAIL ? SAN_EMAIL :
			    g->type == GEN_URI ? SAN_URI : SAN_IP;
			struct san tmp;

			if (san_parse(buf, &tmp) != CA_OK)
				return err_code();
			free(tmp.value);
			if (tmp.type != want)
				return err_set(CA_INPUT,
				    "%s: encoded as %s but reads as %s", buf,
				    san_type_name(want), san_type_name(tmp.type));
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
