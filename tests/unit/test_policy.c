/*
 * Unit tests for lib/policy: policy_check() on typed names and the subject
 * common name, and policy_validate() on well-formed and malformed policies.
 * Each case is one row of a table: the policy (JSON text), the names, the
 * common name, and the expected result and message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "err.h"
#include "policy.h"
#include "san.h"
#include "tap.h"

struct check_case {
	const char *policy;	/* the "x509" object as JSON; NULL: none */
	const char *names;	/* SANs, separated by spaces */
	const char *cn;		/* subject common name, or NULL */
	int rc;
	const char *msg;	/* the message, when rc is not CA_OK */
};

#define WILD	"{\"allowWildcardNames\": true}"
#define DNS1	"{\"allow\": {\"dns\": [\"*.example.com\"]}}"
#define DNSX	"{\"allow\": {\"dns\": [\"example.com\", \"*.example.com\"]}}"
#define DENY1	"{\"allow\": {\"dns\": [\"*.example.com\"]}, \"deny\": {\"dns\": [\"admin.example.com\"]}}"
#define IPS	"{\"allow\": {\"ip\": [\"10.0.0.0/8\", \"192.168.1.128/25\", \"172.16.0.1\", \"2001:db8::/32\"]}}"
#define IPANY6	"{\"allow\": {\"ip\": [\"::/0\"]}}"
#define IPANY4	"{\"allow\": {\"ip\": [\"0.0.0.0/0\"]}}"
#define IPDENY	"{\"deny\": {\"ip\": [\"10.0.0.0/8\"]}}"
#define MAIL	"{\"allow\": {\"email\": [\"@example.com\", \"example.net\", \"root@example.org\"]}}"
#define URIS	"{\"allow\": {\"uri\": [\"example.com\", \"*.svc.example.com\"]}}"
#define URIDENY	"{\"deny\": {\"uri\": [\"evil.com\"]}}"
#define CNS	"{\"allow\": {\"cn\": [\"Build Agent\"], \"dns\": [\"*.example.com\"]}, \"deny\": {\"cn\": [\"root\"]}}"
#define CNDNS	"{\"allow\": {\"cn\": [\"evil.org\"], \"dns\": [\"*.example.com\"]}, \"deny\": {\"dns\": [\"evil.org\"]}}"
#define EMPTY	"{\"allow\": {\"dns\": []}, \"deny\": {}}"

static const struct check_case checks[] = {
	/* No policy, or an empty one: everything but wildcards. */
	{ NULL, "foo.example.com 10.0.0.1 2001:db8::1 a@example.org spiffe://x/y", "foo.example.com", CA_OK, NULL },
	{ "{}", "foo.example.com", NULL, CA_OK, NULL },
	{ EMPTY, "foo.example.org 10.0.0.1", NULL, CA_OK, NULL },
	{ NULL, "", NULL, CA_OK, NULL },
	{ NULL, "*.example.com", NULL, CA_REFUSED, "policy: wildcard name *.example.com is not allowed" },
	{ "{}", "foo.example.com", "*.example.com", CA_REFUSED, "policy: wildcard name *.example.com is not allowed" },
	{ WILD, "*.example.com", "*.example.com", CA_OK, NULL },
	/* "*.example.com": exactly one more label. */
	{ DNS1, "www.example.com", NULL, CA_OK, NULL },
	{ DNS1, "WWW.Example.COM.", NULL, CA_OK, NULL },
	{ DNS1, "example.com", NULL, CA_REFUSED, "policy: dns name example.com is not allowed" },
	{ DNS1, "a.b.example.com", NULL, CA_REFUSED, "policy: dns name a.b.example.com is not allowed" },
	{ DNS1, "wwwexample.com", NULL, CA_REFUSED, "policy: dns name wwwexample.com is not allowed" },
	{ DNS1, "www.example.com.evil.org", NULL, CA_REFUSED, "policy: dns name www.example.com.evil.org is not allowed" },
	{ DNS1, "www.example.com www.example.org", NULL, CA_REFUSED, "policy: dns name www.example.org is not allowed" },
	{ DNS1, "*.example.com", NULL, CA_REFUSED, "policy: wildcard name *.example.com is not allowed" },
	{ DNSX, "example.com www.example.com", "example.com", CA_OK, NULL },
	/* A type without allow rules, when another type has some. */
	{ DNS1, "www.example.com 10.0.0.1", NULL, CA_REFUSED, "policy: ip name 10.0.0.1 is not allowed" },
	{ DNS1, "www.example.com ops@example.com", NULL, CA_REFUSED, "policy: email name ops@example.com is not allowed" },
	{ DNS1, "https://www.example.com/", NULL, CA_REFUSED, "policy: uri name https://www.example.com/ is not allowed" },
	/* Deny wins. */
	{ DENY1, "admin.example.com", NULL, CA_REFUSED, "policy: dns name admin.example.com is denied" },
	{ DENY1, "Admin.Example.COM.", NULL, CA_REFUSED, "policy: dns name admin.example.com is denied" },
	{ DENY1, "web.example.com", "admin.example.com", CA_REFUSED, "policy: dns name admin.example.com is denied" },
	{ DENY1, "web.example.com", "web.example.com", CA_OK, NULL },
	/* IP addresses and ranges. */
	{ IPS, "10.0.0.1 10.255.255.255 192.168.1.128 192.168.1.255 172.16.0.1 2001:db8:ffff::1", NULL, CA_OK, NULL },
	{ IPS, "11.0.0.1", NULL, CA_REFUSED, "policy: ip name 11.0.0.1 is not allowed" },
	{ IPS, "9.255.255.255", NULL, CA_REFUSED, "policy: ip name 9.255.255.255 is not allowed" },
	{ IPS, "192.168.1.127", NULL, CA_REFUSED, "policy: ip name 192.168.1.127 is not allowed" },
	{ IPS, "172.16.0.2", NULL, CA_REFUSED, "policy: ip name 172.16.0.2 is not allowed" },
	{ IPS, "2001:db9::1", NULL, CA_REFUSED, "policy: ip name 2001:db9::1 is not allowed" },
	{ IPS, "::ffff:10.1.2.3", NULL, CA_OK, NULL },
	{ IPANY4, "1.2.3.4 255.255.255.255", NULL, CA_OK, NULL },
	{ IPANY4, "::1", NULL, CA_REFUSED, "policy: ip name ::1 is not allowed" },
	{ IPANY6, "::1 2001:db8::1", NULL, CA_OK, NULL },
	{ IPANY6, "10.0.0.1", NULL, CA_REFUSED, "policy: ip name 10.0.0.1 is not allowed" },
	{ IPDENY, "10.200.0.1", NULL, CA_REFUSED, "policy: ip name 10.200.0.1 is denied" },
	{ IPDENY, "::ffff:10.0.0.1", NULL, CA_REFUSED, "policy: ip name 10.0.0.1 is denied" },
	{ IPDENY, "11.0.0.1 foo.example.com", NULL, CA_OK, NULL },
	{ IPDENY, "foo.example.com", "10.0.0.7", CA_REFUSED, "policy: ip name 10.0.0.7 is denied" },
	/* Email: "@domain", a bare domain, or one address. */
	{ MAIL, "ops@example.com OPS@EXAMPLE.COM x@example.net root@example.org", NULL, CA_OK, NULL },
	{ MAIL, "ops@sub.example.com", NULL, CA_REFUSED, "policy: email name ops@sub.example.com is not allowed" },
	{ MAIL, "www@example.org", NULL, CA_REFUSED, "policy: email name www@example.org is not allowed" },
	{ MAIL, "ops@example.com.evil.org", NULL, CA_REFUSED, "policy: email name ops@example.com.evil.org is not allowed" },
	/* URIs by host. */
	{ URIS, "spiffe://example.com/ns/a https://api.svc.example.com:8443/x HTTPS://EXAMPLE.COM", NULL, CA_OK, NULL },
	{ URIS, "https://evil.com/", NULL, CA_REFUSED, "policy: uri name https://evil.com/ is not allowed" },
	{ URIS, "https://a.b.svc.example.com/", NULL, CA_REFUSED, "policy: uri name https://a.b.svc.example.com/ is not allowed" },
	{ URIS, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", NULL, CA_REFUSED, "policy: uri name urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6 is not allowed" },
	{ URIDENY, "https://evil.com/x", NULL, CA_REFUSED, "policy: uri name https://evil.com/x is denied" },
	{ URIDENY, "https://EVIL.COM:443/", NULL, CA_REFUSED, "policy: uri name https://evil.com:443/ is denied" },
	{ URIDENY, "https://good.com/evil.com", NULL, CA_OK, NULL },
	/* The same host spelt with the root label is one name; a percent-encoded
	 * host never becomes a name at all (checked in main). */
	{ URIDENY, "https://evil.com./", NULL, CA_REFUSED, "policy: uri name https://evil.com/ is denied" },
	/* Common names. */
	{ NULL, "foo.example.com", "Build Agent", CA_OK, NULL },
	{ CNS, "ci.example.com", "Build Agent", CA_OK, NULL },
	{ CNS, "ci.example.com", "Other Agent", CA_REFUSED, "policy: cn name Other Agent is not allowed" },
	{ CNS, "ci.example.com", "root", CA_REFUSED, "policy: cn name root is denied" },
	{ CNS, "ci.example.com", "evil.org", CA_REFUSED, "policy: dns name evil.org is not allowed" },
	{ CNS, "ci.example.com", "", CA_OK, NULL },
	/* A cn rule allows the subject before it is read as a name. */
	{ CNDNS, "foo.example.com", "evil.org", CA_OK, NULL },
	{ CNDNS, "evil.org", "evil.org", CA_REFUSED, "policy: dns name evil.org is denied" },
	/* A malformed rule fails when it is reached. */
	{ "{\"allow\": {\"ip\": [\"bad\"]}}", "10.0.0.1", NULL, CA_FAIL, "policy: bad IP rule bad" },
};

struct validate_case {
	const char *policy;
	int rc;
	const char *msg;
};

static const struct validate_case validates[] = {
	{ NULL, CA_OK, NULL },
	{ "{}", CA_OK, NULL },
	{ "{\"allow\": {\"cn\": [\"Any Thing\"], \"dns\": [\"example.com\", \"*.example.com\"], "
	  "\"ip\": [\"10.0.0.0/8\", \"10.1.2.3\", \"2001:db8::/32\", \"::/0\", \"0.0.0.0/0\"], "
	  "\"email\": [\"@example.com\", \"example.org\", \"a@example.net\"], "
	  "\"uri\": [\"example.com\", \"*.example.com\"]}, "
	  "\"deny\": {\"dns\": [\"admin.example.com\"]}, \"allowWildcardNames\": false}", CA_OK, NULL },
	{ "{\"allow\": {}, \"deny\": {}}", CA_OK, NULL },
	{ "[]", CA_FAIL, "policy: x509 must be an object" },
	{ "\"strict\"", CA_FAIL, "policy: x509 must be an object" },
	{ "{\"alow\": {}}", CA_FAIL, "policy: unknown member alow" },
	{ "{\"allow\": []}", CA_FAIL, "policy: allow must be an object" },
	{ "{\"deny\": \"x\"}", CA_FAIL, "policy: deny must be an object" },
	{ "{\"allow\": {\"dns\": \"example.com\"}}", CA_FAIL, "policy: allow.dns: unknown type or not a list" },
	{ "{\"allow\": {\"fqdn\": []}}", CA_FAIL, "policy: allow.fqdn: unknown type or not a list" },
	{ "{\"deny\": {\"ip\": [10]}}", CA_FAIL, "policy: deny.ip rules must be strings" },
	{ "{\"allow\": {\"cn\": [null]}}", CA_FAIL, "policy: allow.cn rules must be strings" },
	{ "{\"allowWildcardNames\": \"yes\"}", CA_FAIL, "policy: allowWildcardNames must be true or false" },
	{ "{\"allow\": {\"dns\": [\"exa mple.com\"]}}", CA_FAIL, "policy: bad dns rule exa mple.com" },
	{ "{\"allow\": {\"dns\": [\"a.*.example.com\"]}}", CA_FAIL, "policy: bad dns rule a.*.example.com" },
	{ "{\"allow\": {\"dns\": [\"10.0.0.1\"]}}", CA_FAIL, "policy: bad dns rule 10.0.0.1" },
	{ "{\"allow\": {\"ip\": [\"10.0.0.0/33\"]}}", CA_FAIL, "policy: bad IP rule 10.0.0.0/33" },
	{ "{\"allow\": {\"ip\": [\"10.0.0.0/\"]}}", CA_FAIL, "policy: bad IP rule 10.0.0.0/" },
	{ "{\"allow\": {\"ip\": [\"10.0.0.0/-1\"]}}", CA_FAIL, "policy: bad IP rule 10.0.0.0/-1" },
	{ "{\"allow\": {\"ip\": [\"10.0.0.0/8x\"]}}", CA_FAIL, "policy: bad IP rule 10.0.0.0/8x" },
	{ "{\"allow\": {\"ip\": [\"010.0.0.0/8\"]}}", CA_FAIL, "policy: bad IP rule 010.0.0.0/8" },
	{ "{\"allow\": {\"ip\": [\"::/129\"]}}", CA_FAIL, "policy: bad IP rule ::/129" },
	{ "{\"allow\": {\"ip\": [\"example.com\"]}}", CA_FAIL, "policy: bad IP rule example.com" },
	{ "{\"deny\": {\"email\": [\"a@@b\"]}}", CA_FAIL, "policy: bad email rule a@@b" },
	/* A bad email domain or URI host is named as such, not as a DNS rule. */
	{ "{\"allow\": {\"email\": [\"@\"]}}", CA_FAIL, "policy: bad email rule @" },
	{ "{\"deny\": {\"uri\": [\"https://evil.com\"]}}", CA_FAIL, "policy: bad uri rule https://evil.com" },
};

static json_t *
load(const char *text)
{
	json_error_t e;
	json_t *j;

	if (text == NULL)
		return NULL;
	if ((j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e)) == NULL) {
		fprintf(stderr, "bad test policy %s: %s\n", text, e.text);
		exit(2);
	}
	return j;
}

static void
run_check(const struct check_case *c)
{
	struct sans names = { NULL, 0 };
	char *list = strdup(c->names), *tok, *save = NULL;
	json_t *pol = load(c->policy);
	int rc;

	for (tok = strtok_r(list, " ", &save); tok; tok = strtok_r(NULL, " ", &save))
		if (sans_add(&names, tok) != CA_OK) {
			fprintf(stderr, "bad test name %s: %s\n", tok, err_msg());
			exit(2);
		}
	err_clear();
	rc = policy_check(pol, &names, c->cn);
	is_int(rc, c->rc, "check %s: [%s] cn %s", c->policy ? c->policy : "(none)",
	    c->names, c->cn ? c->cn : "(none)");
	if (c->rc != CA_OK)
		is_str(err_msg(), c->msg, "  message: %s", c->msg);
	sans_free(&names);
	json_decref(pol);
	free(list);
}

static void
run_validate(const struct validate_case *v)
{
	json_t *pol = load(v->policy);
	int rc;

	err_clear();
	rc = policy_validate(pol);
	is_int(rc, v->rc, "validate %s", v->policy ? v->policy : "(none)");
	if (v->rc != CA_OK)
		is_str(err_msg(), v->msg, "  message: %s", v->msg);
	json_decref(pol);
}

/* Every policy validate accepts must not make check fail on any name. */
static void
valid_means_checkable(void)
{
	static const char *names[] = { "foo.example.com", "10.0.0.1", "2001:db8::1",
	    "a@example.com", "spiffe://example.com/x", "urn:x:y", "*.example.com" };
	size_t i, j;

	for (i = 0; i < sizeof(validates) / sizeof(validates[0]); i++) {
		json_t *pol;
		int bad = 0;

		if (validates[i].rc != CA_OK)
			continue;
		pol = load(validates[i].policy);
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			struct sans s = { NULL, 0 };

			if (sans_add(&s, names[j]) != CA_OK)
				abort();
			if (policy_check(pol, &s, names[j]) == CA_FAIL)
				bad = 1;
			sans_free(&s);
		}
		ok(!bad, "a valid policy never fails to check: %s",
		    validates[i].policy ? validates[i].policy : "(none)");
		json_decref(pol);
	}
}

int
main(void)
{
	size_t i;

	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		run_check(&checks[i]);
	for (i = 0; i < sizeof(validates) / sizeof(validates[0]); i++)
		run_validate(&validates[i]);
	valid_means_checkable();
	{
		/* A percent-encoded host cannot hide a denied one: it is no name. */
		struct san sn;

		is_int(san_parse("https://%65vil.com/", &sn), CA_INPUT,
		    "percent-encoded URI host refused");
		is_str(err_msg(), "https://%65vil.com/: percent-encoded URI host",
		    "  message names the URI");
	}
	return tap_done();
}
