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
#define CNS	"{\"allow\": {\"dns\": [\"*.example.com\"]}, \"deny\": {\"cn\": [\"root.example.com\"]}}"
#define EVIL	"{\"deny\": {\"dns\": [\"*.evil.t\"], \"ip\": [\"127.0.0.0/8\"], \"email\": [\"root@corp.t\"]}}"
#define ROOTOK	"{\"allow\": {\"email\": [\"root@corp.t\"]}}"
#define CNDNS	"{\"allow\": {\"cn\": [\"evil.org\"], \"dns\": [\"*.example.com\"]}, \"deny\": {\"dns\": [\"evil.org\"]}}"
#define EMPTY	"{\"allow\": {\"dns\": []}, \"deny\": {}}"

static const struct check_case checks[] = {
	/* No policy, or an empty one: everything but wildcards. */
	{ NULL, "foo.example.com 10.0.0.1 2001:db8::1 a@example.org spiffe://x/y", "foo.example.com", CA_OK, NULL },
	{ "{}", "foo.example.com", NULL, CA_OK, NULL },
	{ EMPTY, "foo.example.org 10.0.0.1", NULL, CA_OK, NULL },
	{ NULL, "", NULL, CA_OK, NULL },
	{ NULL, "*.example.com", NULL, CA_REFUSED, "policy: wildcard name *.example.com is not allowed" },
	{ "{}", "foo.example.com", "*.example.com", CA_REFUSED, "policy: cn *.example.com is not one of the names" },
	{ "{}", "*.example.com", "*.example.com", CA_REFUSED, "policy: wildcard name *.example.com is not allowed" },
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
	{ DENY1, "web.example.com", "admin.example.com", CA_REFUSED, "policy: cn admin.example.com is not one of the names" },
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
	{ IPDENY, "foo.example.com", "10.0.0.7", CA_REFUSED, "policy: cn 10.0.0.7 is not one of the names" },
	{ IPDENY, "10.0.0.7", "10.0.0.7", CA_REFUSED, "policy: ip name 10.0.0.7 is denied" },
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
	/*
	 * Common names: the CN is one of the names, whatever the policy;
	 * cn rules then apply to it, compared as names.
	 */
	{ NULL, "foo.example.com", "Build Agent", CA_REFUSED, "policy: cn Build Agent: control, space or non-ASCII character in name" },
	{ NULL, "a.t", "alice", CA_REFUSED, "policy: cn alice is not one of the names" },
	{ NULL, "a.t", "A.T.", CA_OK, NULL },
	{ NULL, "10.0.0.1", "::ffff:10.0.0.1", CA_OK, NULL },
	{ CNS, "ci.example.com", "ci.example.com", CA_OK, NULL },
	{ CNS, "root.example.com", "root.example.com", CA_REFUSED, "policy: cn name root.example.com is denied" },
	{ CNS, "root.example.com", "Root.Example.COM.", CA_REFUSED, "policy: cn name Root.Example.COM. is denied" },
	{ CNS, "ci.example.com", "", CA_OK, NULL },
	/* A cn rule no longer lets a CN that is not a name through. */
	{ CNDNS, "foo.example.com", "evil.org", CA_REFUSED, "policy: cn evil.org is not one of the names" },
	{ CNDNS, "evil.org", "evil.org", CA_REFUSED, "policy: dns name evil.org is denied" },
	/* CNs that do not parse as names escape no rule. */
	{ EVIL, "a.t", "x.evil.t ", CA_REFUSED, "policy: cn x.evil.t : control, space or non-ASCII character in name" },
	{ EVIL, "a.t", " x.evil.t", CA_REFUSED, "policy: cn  x.evil.t: control, space or non-ASCII character in name" },
	{ EVIL, "a.t", "x.evil.t\t", CA_REFUSED, "policy: cn x.evil.t?: control, space or non-ASCII character in name" },
	{ EVIL, "a.t", "x.evil.t\033[0m", CA_REFUSED, "policy: cn x.evil.t?[0m: control, space or non-ASCII character in name" },
	{ EVIL, "a.t", "127.1", CA_REFUSED, "policy: cn 127.1: ambiguous name (looks like an IP address)" },
	{ EVIL, "a.t", "0x7f.1", CA_REFUSED, "policy: cn 0x7f.1: ambiguous name (looks like an IP address)" },
	{ EVIL, "a.t", "017700000001", CA_REFUSED, "policy: cn 017700000001: ambiguous name (looks like an IP address)" },
	{ EVIL, "x.evil.t", "X.EVIL.T.", CA_REFUSED, "policy: dns name x.evil.t is denied" },
	{ EVIL, "127.0.0.1", "127.0.0.1", CA_REFUSED, "policy: ip name 127.0.0.1 is denied" },
	{ NULL, "a.t", "*", CA_REFUSED, "policy: cn *: '*' only as the whole first label" },
	/* Email deny rules ignore the local part's case; allow rules do not. */
	{ EVIL, "ROOT@corp.t", NULL, CA_REFUSED, "policy: email name ROOT@corp.t is denied" },
	{ EVIL, "Root@Corp.T", NULL, CA_REFUSED, "policy: email name Root@corp.t is denied" },
	{ EVIL, "root@corp.t", NULL, CA_REFUSED, "policy: email name root@corp.t is denied" },
	{ EVIL, "rooty@corp.t", NULL, CA_OK, NULL },
	{ ROOTOK, "root@corp.t", NULL, CA_OK, NULL },
	{ ROOTOK, "ROOT@corp.t", NULL, CA_REFUSED, "policy: email name ROOT@corp.t is not allowed" },
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

/* Names: what san_parse makes of them, or its refusal. */
struct name_case {
	const char *in;
	int rc;
	const char *type;	/* or the message when refused */
	const char *value;
};

static const struct name_case namecases[] = {
	{ "foo.example.com", CA_OK, "dns", "foo.example.com" },
	{ "dns:Foo.Example.COM.", CA_OK, "dns", "foo.example.com" },
	{ "DNS:foo.example.com", CA_OK, "dns", "foo.example.com" },
	{ "ip:10.0.0.1", CA_OK, "ip", "10.0.0.1" },
	{ "email:root@t.example", CA_OK, "email", "root@t.example" },
	{ "uri:mailto:root@t.example", CA_OK, "uri", "mailto:root@t.example" },
	{ "uri:dns:example.com", CA_OK, "uri", "dns:example.com" },
	{ "xn--caf-dma.example", CA_OK, "dns", "xn--caf-dma.example" },
	{ "XN--CAF-DMA.example", CA_OK, "dns", "xn--caf-dma.example" },
	{ "xn--55qx5d.example", CA_OK, "dns", "xn--55qx5d.example" },
	{ "a.b.c@example.com", CA_OK, "email", "a.b.c@example.com" },
	{ "fe80::1%eth0", CA_INPUT, "fe80::1%eth0: IPv6 address with a zone identifier", NULL },
	{ "ip:fe80::1%eth0", CA_INPUT, "fe80::1%eth0: IPv6 address with a zone identifier", NULL },
	{ "uri:fe80::1%eth0", CA_INPUT, "fe80::1%eth0: bad percent-encoding in URI", NULL },
	{ "fe80::zz", CA_INPUT, "fe80::zz: ambiguous name (an IP address or a URI: write ip: or uri:)", NULL },
	{ "mailto:root@t.example", CA_INPUT, "mailto:root@t.example: ambiguous name (a URI or an email address: write uri: or email:)", NULL },
	{ "https://bad.t#@a.t", CA_INPUT, "https://bad.t#@a.t: ambiguous name (a URI or an email address: write uri: or email:)", NULL },
	{ "uri:https://bad.t#@a.t", CA_INPUT, "https://bad.t#@a.t: URI with a fragment", NULL },
	{ "uri:https://a.t/#x", CA_INPUT, "https://a.t/#x: URI with a fragment", NULL },
	{ "email:https://bad.t#@a.t", CA_INPUT, "https://bad.t#@a.t: bad character in email local part", NULL },
	{ "uri:https://u@a.t/", CA_INPUT, "https://u@a.t/: URI with userinfo", NULL },
	{ "\"root\"@corp.t", CA_INPUT, "\"root\"@corp.t: quoted email local part", NULL },
	{ "root(x)@corp.t", CA_INPUT, "root(x)@corp.t: bad character in email local part", NULL },
	{ ".root@corp.t", CA_INPUT, ".root@corp.t: misplaced '.' in email local part", NULL },
	{ "ro..ot@corp.t", CA_INPUT, "ro..ot@corp.t: misplaced '.' in email local part", NULL },
	{ "xn--zz.corp.t", CA_INPUT, "xn--zz.corp.t: invalid A-label (punycode)", NULL },
	{ "xn--a.corp.t", CA_INPUT, "xn--a.corp.t: invalid A-label (punycode)", NULL },
	{ "xn--ls8h.corp.t", CA_INPUT, "xn--ls8h.corp.t: invalid A-label (punycode)", NULL },
	{ "a.xn--zz", CA_INPUT, "a.xn--zz: invalid A-label (punycode)", NULL },
	{ "xn--.corp.t", CA_INPUT, "xn--.corp.t: label starts or ends with '-'", NULL },
	{ "https://xn--zz.t/", CA_INPUT, "https://xn--zz.t/: bad URI host", NULL },
	{ "root@xn--zz.t", CA_INPUT, "root@xn--zz.t: malformed email domain", NULL },
	{ "https://[fe80::1%25eth0]/", CA_INPUT, "https://[fe80::1%25eth0]/: bad IP literal in URI", NULL },
	{ "https://[v1.x]/", CA_INPUT, "https://[v1.x]/: bad IP literal in URI", NULL },
	{ "https://[::1]x/", CA_INPUT, "https://[::1]x/: bad IP literal in URI", NULL },
	{ "https://[::1]:8443/x", CA_OK, "uri", "https://[::1]:8443/x" },
	{ "uri:f::0", CA_INPUT, "f::0: an IP address, not a URI", NULL },
	{ "127.1", CA_INPUT, "127.1: ambiguous name (looks like an IP address)", NULL },
	{ "ip:127.1", CA_INPUT, "127.1: not an IP address", NULL },
	{ "dns:10.0.0.1", CA_INPUT, "10.0.0.1: ambiguous name (looks like an IP address)", NULL },
};

static void
run_name(const struct name_case *c)
{
	struct san s;
	int rc;

	err_clear();
	rc = san_parse(c->in, &s);
	is_int(rc, c->rc, "name %s", c->in);
	if (c->rc != CA_OK) {
		is_str(err_msg(), c->type, "  message: %s", c->type);
		return;
	}
	if (rc == CA_OK) {
		char *t = san_text(&s);
		struct san back;

		memset(&back, 0, sizeof(back));
		is_str(san_type_name(s.type), c->type, "  type %s", c->type);
		is_str(s.value, c->value, "  value %s", c->value);
		/* Its written form reads back as the same name. */
		ok(t != NULL && san_parse(t, &back) == CA_OK &&
		    san_equal(&back, &s), "  san_text %s reads back", t ? t : "(null)");
		free(back.value);
		free(t);
		free(s.value);
	}
}

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
	for (i = 0; i < sizeof(namecases) / sizeof(namecases[0]); i++)
		run_name(&namecases[i]);
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
