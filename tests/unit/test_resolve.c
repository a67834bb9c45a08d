/*
 * Unit tests for lib/resolve's address rules: the built-in denials at
 * each block's edges, the operator's blocks (longest prefix, deny on a
 * tie), IPv6 addresses that carry an IPv4 address (judged as both),
 * and the CIDR spellings refused; localhost names answered without a
 * server.  The lookups themselves are tested against a real server in
 * tests/bats/acme_va.bats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "resolve.h"
#include "tap.h"

struct rule_case {
	const char *rules;	/* "+CIDR" allow, "-CIDR" deny, space separated */
	const char *addr;
	int allowed;
};

static const struct rule_case cases[] = {
	/* Built-in denials, and the addresses just outside them. */
	{ "", "127.0.0.1", 0 },
	{ "", "127.255.255.255", 0 },
	{ "", "126.255.255.255", 1 },
	{ "", "128.0.0.0", 1 },
	{ "", "169.254.169.254", 0 },
	{ "", "169.254.0.0", 0 },
	{ "", "169.253.255.255", 1 },
	{ "", "169.255.0.0", 1 },
	{ "", "0.0.0.0", 0 },
	{ "", "0.255.255.255", 0 },
	{ "", "1.0.0.0", 1 },
	{ "", "224.0.0.1", 0 },
	{ "", "239.255.255.255", 0 },
	{ "", "223.255.255.255", 1 },
	{ "", "240.0.0.0", 1 },
	{ "", "255.255.255.255", 0 },
	{ "", "255.255.255.254", 1 },
	{ "", "10.0.0.1", 1 },
	{ "", "192.168.1.1", 1 },
	{ "", "::1", 0 },
	{ "", "::", 0 },
	/* ::2 is IPv4-compatible, 0.0.0.2: "this network". */
	{ "", "::2", 0 },
	{ "", "::1:0:0:0", 1 },
	{ "", "fe80::1", 0 },
	{ "", "febf:ffff::1", 0 },
	{ "", "fec0::1", 1 },
	{ "", "ff02::1", 0 },
	{ "", "2001:db8::1", 1 },
	/* IPv4-mapped IPv6 is judged as the IPv4 address. */
	{ "", "::ffff:127.0.0.1", 0 },
	{ "", "::ffff:169.254.169.254", 0 },
	{ "", "::ffff:10.0.0.1", 1 },
	{ "-10.0.0.0/8", "::ffff:10.1.2.3", 0 },
	/* ... and as itself: a rule on the IPv6 spelling holds too. */
	{ "-::ffff:0:0/96", "::ffff:8.8.8.8", 0 },
	{ "-::/0", "::ffff:8.8.8.8", 0 },
	{ "+::/0", "::ffff:127.0.0.1", 0 },
	{ "+127.0.0.1", "::ffff:127.0.0.1", 1 },
	/* NAT64's well-known prefix (RFC 6052) carries an IPv4 address. */
	{ "", "64:ff9b::7f00:1", 0 },
	{ "", "64:ff9b::a9fe:a9fe", 0 },
	{ "", "64:ff9b::808:808", 1 },
	{ "-10.0.0.0/8", "64:ff9b::a00:1", 0 },
	{ "-10.0.0.0/8", "64:ff9b::b00:1", 1 },
	{ "", "64:ff9b::1:7f00:1", 1 },
	{ "+127.0.0.0/8", "64:ff9b::7f00:1", 1 },
	{ "+127.0.0.0/8 -64:ff9b::/96", "64:ff9b::7f00:1", 0 },
	/* NAT64's local-use prefix (RFC 8215): where the IPv4 part is is
	 * the network's choice, so it is denied unless allowed. */
	{ "", "64:ff9b:1::a00:1", 0 },
	{ "", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", 0 },
	{ "", "64:ff9b:2::1", 1 },
	{ "+64:ff9b:1::/48", "64:ff9b:1::a00:1", 1 },
	/* IPv4-compatible (deprecated) and IPv4-translated (SIIT). */
	{ "", "::127.0.0.1", 0 },
	{ "-10.0.0.0/8", "::10.0.0.1", 0 },
	{ "", "::8.8.8.8", 1 },
	{ "", "::ffff:0:7f00:1", 0 },
	{ "-10.0.0.0/8", "::ffff:0:a00:1", 0 },
	/* 6to4 (RFC 3056): the IPv4 address in bits 16 to 47. */
	{ "", "2002:7f00:1::1", 0 },
	{ "", "2002:a9fe:a9fe::1", 0 },
	{ "", "2002::1", 0 },
	{ "", "2002:808:808::1", 1 },
	{ "-10.0.0.0/8", "2002:a00:1::1", 0 },
	{ "", "2003:7f00:1::1", 1 },
	/* Cloud metadata and platform addresses outside link-local. */
	{ "", "fd00:ec2::254", 0 },
	{ "", "fd00:ec2::253", 1 },
	{ "", "100.100.100.200", 0 },
	{ "", "100.100.100.201", 1 },
	{ "", "168.63.129.16", 0 },
	{ "", "168.63.129.17", 1 },
	{ "", "192.0.0.192", 0 },
	{ "", "192.0.0.193", 1 },
	{ "", "::ffff:100.100.100.200", 0 },
	{ "+fd00::/8", "fd00:ec2::254", 1 },
	/* The operator's blocks. */
	{ "+127.0.0.0/8", "127.0.0.1", 1 },
	{ "+127.0.0.0/8", "169.254.169.254", 0 },
	{ "+127.0.0.0/8", "::1", 0 },
	{ "+127.0.0.0/8 -127.0.0.2", "127.0.0.2", 0 },
	{ "+127.0.0.0/8 -127.0.0.2", "127.0.0.3", 1 },
	{ "-127.0.0.0/8 +127.0.0.1/32", "127.0.0.1", 1 },
	{ "+127.0.0.0/8 -127.0.0.0/8", "127.0.0.1", 0 },
	{ "-127.0.0.0/8 +127.0.0.0/8", "127.0.0.1", 0 },
	{ "-10.0.0.0/8", "10.255.0.1", 0 },
	{ "-10.0.0.0/8", "11.0.0.1", 1 },
	{ "-10.0.0.0/9", "10.127.255.255", 0 },
	{ "-10.0.0.0/9", "10.128.0.0", 1 },
	{ "-0.0.0.0/0", "8.8.8.8", 0 },
	{ "-0.0.0.0/0", "2001:db8::1", 1 },
	{ "-::/0", "2001:db8::1", 0 },
	{ "-0.0.0.0/0 +192.0.2.0/24", "192.0.2.7", 1 },
	{ "+::1", "::1", 1 },
	{ "-fd00::/8", "fdff::1", 0 },
	{ "-fd00::/8", "fc00::1", 1 },
};

struct bad_case {
	const char *cidr;
	const char *msg;
};

static const struct bad_case bad[] = {
	{ "10.0.0.1/8", "--deny 10.0.0.1/8: address bits set past the prefix length" },
	{ "10.0.0.0/33", "--deny 10.0.0.0/33: the prefix length must be 0 to 32" },
	{ "fe80::/129", "--deny fe80::/129: the prefix length must be 0 to 128" },
	{ "10.0.0.0/", "--deny 10.0.0.0/: the prefix length must be 0 to 32" },
	{ "10.0.0.0/08", "--deny 10.0.0.0/08: the prefix length must be 0 to 32" },
	{ "10.0.0.0/-1", "--deny 10.0.0.0/-1: the prefix length must be 0 to 32" },
	{ "10.0.0.0/8x", "--deny 10.0.0.0/8x: the prefix length must be 0 to 32" },
	{ "example.test", "--deny example.test: not an address or CIDR block" },
	{ "010.0.0.0/8", "--deny 010.0.0.0/8: not an address or CIDR block" },
	{ "", "--deny : not an address or CIDR block" },
};

/*
 * Localhost names (RFC 6761 6.3) are answered without a server: the
 * resolver here is a port nothing listens on, so any name that is asked
 * of it fails.
 */
static void
test_localhost(void)
{
	static const char *local[] = { "localhost", "LOCALHOST.",
	    "web.localhost", "a.b.LocalHost." };
	static const char *asked[] = { "localhost.example", "xlocalhost",
	    "web.localhostx", "localhos" };
	struct resolve_addr a[4];
	struct resolver r;
	char buf[64], **txt = NULL;
	size_t i, n;

	if (resolve_init(&r, "127.0.0.1:9", 250) != CA_OK) {
		ok(0, "resolver: %s", err_msg());
		return;
	}
	for (i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		is_int(resolve_addrs(&r, local[i], a, 4, &n), CA_OK,
		    "%s: answered", local[i]);
		is_int((long long)n, 2, "%s: two addresses", local[i]);
		is_str(resolve_addr_text(&a[0], buf, sizeof(buf)), "127.0.0.1",
		    "%s: 127.0.0.1 first", local[i]);
		is_str(resolve_addr_text(&a[1], buf, sizeof(buf)), "::1",
		    "%s: then ::1", local[i]);
		is_int(resolve_txt(&r, local[i], &txt, &n), CA_OK,
		    "%s: TXT answered", local[i]);
		is_int((long long)n, 0, "%s: no TXT record", local[i]);
		resolve_txt_free(txt, n);
	}
	for (i = 0; i < sizeof(asked) / sizeof(asked[0]); i++)
		is_int(resolve_addrs(&r, asked[i], a, 4, &n), CA_UNAVAIL,
		    "%s: asked of the server (none answers)", asked[i]);
}

/* The rules of "+A -B ..." into r. */
static int
load_rules(const char *spec, struct addr_rules *r)
{
	char *copy = strdup(spec), *w, *save = NULL;
	int rc = CA_OK;

	for (w = strtok_r(copy, " ", &save); w != NULL && rc == CA_OK;
	    w = strtok_r(NULL, " ", &save))
		rc = addr_rules_add(r, w + 1, w[0] == '+');
	free(copy);
	return rc;
}

int
main(void)
{
	struct addr_rules r;
	struct resolve_addr a;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&r, 0, sizeof(r));
		is_int(load_rules(cases[i].rules, &r), CA_OK, "rules '%s' load",
		    cases[i].rules);
		is_int(resolve_addr_parse(cases[i].addr, &a), CA_OK, "%s parses",
		    cases[i].addr);
		is_int(addr_allowed(&r, &a), cases[i].allowed, "rules '%s': %s %s",
		    cases[i].rules, cases[i].addr,
		    cases[i].allowed ? "allowed" : "denied");
		addr_rules_free(&r);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		is_int(addr_rules_add(&r, bad[i].cidr, 0), CA_USAGE,
		    "'%s' refused", bad[i].cidr);
		is_str(err_msg(), bad[i].msg, "'%s': its message", bad[i].cidr);
		is_int((long long)r.n, 0, "'%s': no rule added", bad[i].cidr);
		addr_rules_free(&r);
	}
	test_localhost();
	return tap_done();
}
