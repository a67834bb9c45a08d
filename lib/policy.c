#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "policy.h"
#include "san.h"

static const char *types[] = { "cn", "dns", "ip", "email", "uri" };

/* "*.example.com" matches one extra leading label; otherwise exact. */
static int
dns_match(const char *rule, const char *name)
{
	size_t rl, nl;
	const char *dot;

	if (strcmp(rule, name) == 0)
		return 1;
	if (rule[0] != '*' || rule[1] != '.')
		return 0;
	if ((dot = strchr(name, '.')) == NULL || dot == name || name[0] == '*')
		return 0;
	rl = strlen(rule + 1);
	nl = strlen(dot);
	return rl == nl && strcmp(dot, rule + 1) == 0;
}

/*
 * Normalise the DNS part of a rule the way names are normalised; type and
 * whole name the rule in a message ("policy: bad email rule @").
 */
static int
dns_rule(const char *type, const char *whole, const char *dns, char **out)
{
	struct san s;

	if (san_parse_as(dns, SAN_DNS, &s) != CA_OK)
		return err_set(CA_FAIL, "policy: bad %s rule %s", type, whole);
	*out = s.value;
	return CA_OK;
}

static int
ip_match(const char *rule, const struct san *ip, int *match)
{
	char addr[64];
	const char *slash = strchr(rule, '/');
	struct san r;
	long bits;
	size_t i, n;
	char *end;

	*match = 0;
	n = slash ? (size_t)(slash - rule) : strlen(rule);
	if (n >= sizeof(addr))
		return err_set(CA_FAIL, "policy: bad IP rule %s", rule);
	memcpy(addr, rule, n);
	addr[n] = '\0';
	if (san_parse_as(addr, SAN_IP, &r) != CA_OK)
		return err_set(CA_FAIL, "policy: bad IP rule %s", rule);
	free(r.value);
	bits = (long)r.iplen * 8;
	if (slash != NULL) {
		bits = strtol(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits < 0 ||
		    bits > (long)r.iplen * 8)
			return err_set(CA_FAIL, "policy: bad IP rule %s", rule);
	}
	if (r.iplen != ip->iplen)
		return CA_OK;
	for (i = 0; i < r.iplen && bits > 0; i++, bits -= 8) {
		unsigned char mask = bits >= 8 ? 0xff :
		    (unsigned char)(0xff << (8 - bits));
		if ((r.ip[i] & mask) != (ip->ip[i] & mask))
			return CA_OK;
	}
	*match = 1;
	return CA_OK;
}

/* The host of a URI with an authority ("scheme://[user@]host[:port]/..."). */
static int
uri_host(const char *uri, char *host, size_t len)
{
	const char *p = strstr(uri, "://"), *e, *at;
	size_t n;

	host[0] = '\0';
	if (p == NULL)
		return 0;
	p += 3;
	e = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(e - p));
	if (at != NULL)
		p = at + 1;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(e - p));
		if (rb == NULL)
			return 0;
		p++;
		n = (size_t)(rb - p);
	} else {
		const char *colon = memchr(p, ':', (size_t)(e - p));
		n = (size_t)((colon ? colon : e) - p);
	}
	if (n == 0 || n >= len)
		return 0;
	memcpy(host, p, n);
	host[n] = '\0';
	for (n = 0; host[n]; n++)
		if (host[n] >= 'A' && host[n] <= 'Z')
			host[n] = (char)(host[n] - 'A' + 'a');
	return 1;
}

/*
 * An email rule naming one address: the domains are normalised; the
 * local parts are compared as given for an allow rule, and regardless of
 * case for a deny rule, since most mail systems take "ROOT" for "root".
 */
static int
email_match(const char *rule, const char *name, int deny)
{
	const char *ra = strrchr(rule, '@'), *na = strrchr(name, '@');

	if (ra == NULL || na == NULL || ra - rule != na - name ||
	    strcmp(ra, na) != 0)
		return 0;
	return deny ? strncasecmp(rule, name, (size_t)(ra - rule)) == 0 :
	    strncmp(rule, name, (size_t)(ra - rule)) == 0;
}

/*
 * A cn rule matches the common name spelled the same, or naming the same
 * typed name ("Admin.Example.COM." for "admin.example.com").
 */
static int
cn_match(const char *rule, const char *cn)
{
	struct san r, c;
	int m;

	if (cn == NULL)
		return 0;
	if (strcmp(rule, cn) == 0)
		return 1;
	if (san_parse_name(rule, &r) != CA_OK) {
		err_clear();
		return 0;
	}
	if (san_parse_name(cn, &c) != CA_OK) {
		err_clear();
		free(r.value);
		return 0;
	}
	m = san_equal(&r, &c);
	free(r.value);
	free(c.value);
	return m;
}

/*
 * Does one rule of list type `type` match the name?  *m set; CA_FAIL on a
 * bad rule.  For a deny rule, a wildcard name also matches when it covers
 * the rule: "*.example.com" is denied by a rule denying a.example.com.
 */
static int
rule_match(const char *type, const char *rule, const struct san *s,
    const char *cn, int deny, int *m)
{
	char *r = NULL, host[512];
	int rc = CA_OK;

	*m = 0;
	if (strcmp(type, "cn") == 0) {
		*m = cn_match(rule, cn);
		return CA_OK;
	}
	if (s == NULL)
		return CA_OK;
	if (strcmp(type, "dns") == 0 && s->type == SAN_DNS) {
		if ((rc = dns_rule(type, rule, rule, &r)) == CA_OK)
			*m = dns_match(r, s->value) ||
			    (deny && s->value[0] == '*' && dns_match(s->value, r));
	} else if (strcmp(type, "ip") == 0 && s->type == SAN_IP) {
		rc = ip_match(rule, s, m);
	} else if (strcmp(type, "email") == 0 && s->type == SAN_EMAIL) {
		const char *at = strchr(s->value, '@');

		if (rule[0] == '@' || strchr(rule, '@') == NULL) {
			const char *dom = rule[0] == '@' ? rule + 1 : rule;
			if ((rc = dns_rule(type, rule, dom, &r)) == CA_OK)
				*m = dns_match(r, at + 1);
		} else {
			struct san e;

			if (san_parse_as(rule, SAN_EMAIL, &e) != CA_OK)
				return err_set(CA_FAIL, "policy: bad email rule %s", rule);
			*m = email_match(e.value, s->value, deny);
			free(e.value);
		}
	} else if (strcmp(type, "uri") == 0 && s->type == SAN_URI) {
		/* URI rules name hosts: "example.com", "*.example.com". */
		if ((rc = dns_rule(type, rule, rule, &r)) == CA_OK)
			*m = uri_host(s->value, host, sizeof(host)) &&
			    dns_match(r, host);
	}
	free(r);
	return rc;
}

static const char *
type_of(const struct san *s)
{
	return s == NULL ? "cn" : san_type_name(s->type);
}

/* Does any rule in list[type] match?  The list for the name's type only. */
static int
list_match(const json_t *list, const struct san *s, const char *cn, int deny,
    int *m)
{
	const char *type = type_of(s);
	const json_t *rules = list ? json_object_get(list, type) : NULL, *r;
	size_t i;
	int rc;

	*m = 0;
	json_array_foreach(rules, i, r) {
		if (!json_is_string(r))
			return err_set(CA_FAIL, "policy: %s rules must be strings", type);
		if ((rc = rule_match(type, json_string_value(r), s, cn, deny, m)) != CA_OK)
			return rc;
		if (*m)
			return CA_OK;
	}
	return CA_OK;
}

static int
has_allow_rules(const json_t *allow)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (json_array_size(json_object_get(allow, types[i])) > 0)
			return 1;
	return 0;
}

static int
check_one(const json_t *x509, const struct san *s, const char *cn)
{
	const json_t *allow = json_object_get(x509, "allow");
	const json_t *deny = json_object_get(x509, "deny");
	const char *name = s ? s->value : cn;
	int m, rc;

	if (s != NULL && s->type == SAN_DNS && s->value[0] == '*' &&
	    !json_is_true(json_object_get(x509, "allowWildcardNames")))
		return err_set(CA_REFUSED, "policy: wildcard name %s is not allowed", name);
	if ((rc = list_match(deny, s, cn, 1, &m)) != CA_OK)
		return rc;
	if (m)
		return err_set(CA_REFUSED, "policy: %s name %s is denied", type_of(s), name);
	if (!has_allow_rules(allow))
		return CA_OK;
	if ((rc = list_match(allow, s, cn, 0, &m)) != CA_OK)
		return rc;
	if (!m)
		return err_set(CA_REFUSED, "policy: %s name %s is not allowed",
		    type_of(s), name);
	return CA_OK;
}

int
policy_check(const json_t *x509, const struct sans *sans, const char *cn)
{
	size_t i;
	int rc;

	/* jansson's getters take NULL: no policy means no rules. */
	for (i = 0; i < sans->n; i++)
		if ((rc = check_one(x509, &sans->v[i], NULL)) != CA_OK)
			return rc;
	if (cn == NULL || cn[0] == '\0')
		return CA_OK;
	/*
	 * The CN is one of the names, whatever the policy: a CN that is not
	 * a name ("x.evil.t ", "127.1") or names nothing the certificate
	 * carries would escape the rules above.  Then cn rules apply to it.
	 */
	{
		const json_t *deny = json_object_get(x509, "deny");
		const struct san *s;
		int m;

		if (sans_find_cn(sans, cn, &s) != CA_OK)
			return err_set(CA_REFUSED, "policy: cn %s", err_msg());
		if ((rc = list_match(deny, NULL, cn, 1, &m)) != CA_OK)
			return rc;
		if (m)
			return err_set(CA_REFUSED, "policy: cn name %s is denied", cn);
	}
	return CA_OK;
}

int
policy_validate(const json_t *x509)
{
	static const char *lists[] = { "allow", "deny" };
	const char *key;
	json_t *v;
	size_t i, j, k;

	if (x509 == NULL || (json_is_object(x509) && json_object_size(x509) == 0))
		return CA_OK;
	if (!json_is_object(x509))
		return err_set(CA_FAIL, "policy: x509 must be an object");
	json_object_foreach((json_t *)x509, key, v) {
		if (strcmp(key, "allow") && strcmp(key, "deny") &&
		    strcmp(key, "allowWildcardNames"))
			return err_set(CA_FAIL, "policy: unknown member %s", key);
	}
	for (i = 0; i < 2; i++) {
		const json_t *l = json_object_get(x509, lists[i]);

		if (l == NULL)
			continue;
		if (!json_is_object(l))
			return err_set(CA_FAIL, "policy: %s must be an object", lists[i]);
		json_object_foreach((json_t *)l, key, v) {
			int known = 0;

			for (j = 0; j < sizeof(types) / sizeof(types[0]); j++)
				known |= strcmp(key, types[j]) == 0;
			if (!known || !json_is_array(v))
				return err_set(CA_FAIL, "policy: %s.%s: unknown type or not a list",
				    lists[i], key);
			for (k = 0; k < json_array_size(v); k++) {
				const json_t *r = json_array_get(v, k);
				struct san probe;
				int m;

				if (!json_is_string(r))
					return err_set(CA_FAIL, "policy: %s.%s rules must be strings",
					    lists[i], key);
				/* Run the rule once against a dummy name to parse it. */
				memset(&probe, 0, sizeof(probe));
				probe.type = strcmp(key, "ip") == 0 ? SAN_IP :
				    strcmp(key, "email") == 0 ? SAN_EMAIL :
				    strcmp(key, "uri") == 0 ? SAN_URI : SAN_DNS;
				probe.value = probe.type == SAN_EMAIL ?
				    (char *)"x@invalid" : (char *)"invalid";
				probe.iplen = 4;
				if (rule_match(key, json_string_value(r), &probe,
				    "", 0, &m) != CA_OK)
					return err_code();
			}
		}
	}
	if (json_object_get(x509, "allowWildcardNames") != NULL &&
	    !json_is_boolean(json_object_get(x509, "allowWildcardNames")))
		return err_set(CA_FAIL, "policy: allowWildcardNames must be true or false");
	return CA_OK;
}
