#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "err.h"
#include "io.h"
#include "resolve.h"
#include "timeutil.h"

#define DNS_MAX_UDP	4096	/* what we read of one UDP answer */
#define DNS_MAX_TCP	65535
#define DNS_NAME	256	/* a name as text, with its NUL */
#define DNS_MAX_RR	256	/* answer records looked at */

#define T_A	1
#define T_CNAME	5
#define T_TXT	16
#define T_AAAA	28

/* ---- addresses ---- */

int
resolve_addr_parse(const char *s, struct resolve_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->a) == 1) {
		out->family = AF_INET;
		return CA_OK;
	}
	if (inet_pton(AF_INET6, s, out->a) == 1) {
		out->family = AF_INET6;
		return CA_OK;
	}
	return err_set(CA_INPUT, "not an IP address: %s", s);
}

int
resolve_addr_from_sa(const struct sockaddr *sa, struct resolve_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return CA_OK;
	}
	if (sa->sa_family == AF_INET6) {
		out->family = AF_INET6;
		memcpy(out->a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return CA_OK;
	}
	return err_set(CA_INPUT, "not an IP socket address");
}

const char *
resolve_addr_text(const struct resolve_addr *a, char *buf, size_t len)
{
	if (inet_ntop(a->family, a->a, buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

/*
 * The IPv4 address that an IPv6 address is a way to reach, into v4: 1 if
 * it carries one, 0 if not.  IPv4-mapped ::ffff:0:0/96, IPv4-translated
 * ::ffff:0:0:0/96 (SIIT), IPv4-compatible ::/96 (deprecated; not :: and
 * ::1, which are themselves), NAT64's well-known prefix 64:ff9b::/96
 * (RFC 6052): the last 32 bits; 6to4 2002::/16 (RFC 3056): bits 16 to 47.
 */
static int
embedded_v4(const struct resolve_addr *in, struct resolve_addr *v4)
{
	static const struct {
		unsigned char prefix[12];
		size_t len;		/* the IPv4 address right after it */
	} forms[] = {
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff }, 12 },
		{ { 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0 }, 12 },
		{ { 0 }, 12 },
		{ { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 }, 12 },
		{ { 0x20, 0x02 }, 2 },
	};
	static const unsigned char zero[15];
	size_t i;

	if (in->family != AF_INET6)
		return 0;
	if (memcmp(in->a, zero, 15) == 0 && in->a[15] <= 1)
		return 0;	/* :: and ::1 */
	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		if (memcmp(in->a, forms[i].prefix, forms[i].len) != 0)
			continue;
		memset(v4, 0, sizeof(*v4));
		v4->family = AF_INET;
		memcpy(v4->a, in->a + forms[i].len, 4);
		return 1;
	}
	return 0;
}

/* The first bits of a and net are equal (same family). */
static int
prefix_holds(const struct resolve_addr *net, int bits,
    const struct resolve_addr *a)
{
	int full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (net->family != a->family)
		return 0;
	if (memcmp(net->a, a->a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (net->a[full] & mask) == (a->a[full] & mask);
}

int
addr_rules_add(struct addr_rules *r, const char *cidr, int allow)
{
	struct addr_rule rule, *v;
	char text[64], *slash, *end;
	long bits;
	int max, i;

	if (strlen(cidr) >= sizeof(text))
		return err_set(CA_USAGE, "%s: not an address or CIDR block",
		    allow ? "--allow" : "--deny");
	memcpy(text, cidr, strlen(cidr) + 1);
	slash = strchr(text, '/');
	if (slash != NULL)
		*slash = '\0';
	memset(&rule, 0, sizeof(rule));
	if (resolve_addr_parse(text, &rule.net) != CA_OK)
		return err_set(CA_USAGE, "%s %s: not an address or CIDR block",
		    allow ? "--allow" : "--deny", cidr);
	max = rule.net.family == AF_INET ? 32 : 128;
	bits = max;
	if (slash != NULL) {
		errno = 0;
		if (!isdigit((unsigned char)slash[1]) ||
		    (bits = strtol(slash + 1, &end, 10), *end != '\0') ||
		    errno != 0 || bits > max || (slash[1] == '0' && slash[2] != '\0'))
			return err_set(CA_USAGE, "%s %s: the prefix length must "
			    "be 0 to %d", allow ? "--allow" : "--deny", cidr, max);
	}
	/* Host bits set are a mistake of spelling, not a wider block. */
	for (i = (int)bits; i < max; i++)
		if (rule.net.a[i / 8] & (0x80 >> (i % 8)))
			return err_set(CA_USAGE, "%s %s: address bits set past "
			    "the prefix length", allow ? "--allow" : "--deny", cidr);
	rule.bits = (int)bits;
	rule.allow = allow;
	if ((v = realloc(r->v, (r->n + 1) * sizeof(*v))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	r->v = v;
	r->v[r->n++] = rule;
	return CA_OK;
}

void
addr_rules_free(struct addr_rules *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* The built-in denials, judged when no operator's rule holds an address. */
static const struct {
	const char *net;
	int bits;
} denied[] = {
	{ "0.0.0.0", 8 },		/* "this network", unspecified */
	{ "127.0.0.0", 8 },		/* loopback */
	{ "169.254.0.0", 16 },		/* link-local, cloud metadata */
	{ "224.0.0.0", 4 },		/* multicast */
	{ "255.255.255.255", 32 },	/* broadcast */
	{ "100.100.100.200", 32 },	/* cloud metadata (Alibaba) */
	{ "168.63.129.16", 32 },	/* cloud platform (Azure) */
	{ "192.0.0.192", 32 },		/* cloud metadata (Oracle) */
	{ "::", 128 },			/* unspecified */
	{ "::1", 128 },			/* loopback */
	{ "fe80::", 10 },		/* link-local */
	{ "ff00::", 8 },		/* multicast */
	{ "fd00:ec2::254", 128 },	/* cloud metadata (AWS) */
	{ "64:ff9b:1::", 48 },		/* NAT64 local use: IPv4 place unknown */
};

/* The operator's longest block that holds a, else the built-in rule. */
static int
judge(const struct addr_rules *r, const struct resolve_addr *a)
{
	struct resolve_addr net;
	size_t i;
	int best = -1, allow = 1;

	for (i = 0; r != NULL && i < r->n; i++) {
		if (!prefix_holds(&r->v[i].net, r->v[i].bits, a))
			continue;
		if (r->v[i].bits > best) {
			best = r->v[i].bits;
			allow = r->v[i].allow;
		} else if (r->v[i].bits == best && !r->v[i].allow)
			allow = 0;
	}
	if (best >= 0)
		return allow;
	for (i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		if (resolve_addr_parse(denied[i].net, &net) != CA_OK)
			continue;
		if (prefix_holds(&net, denied[i].bits, a))
			return 0;
	}
	return 1;
}

/*
 * An IPv6 address that carries an IPv4 address is judged twice, as
 * itself and as the IPv4 address, and both must be allowed: a rule for
 * either spelling holds ("--deny 10.0.0.0/8" refuses 64:ff9b::a00:1,
 * "--deny ::ffff:0:0/96" refuses ::ffff:10.0.0.1).
 */
int
addr_allowed(const struct addr_rules *r, const struct resolve_addr *a)
{
	struct resolve_addr v4;

	if (!judge(r, a))
		return 0;
	if (embedded_v4(a, &v4) && !judge(r, &v4))
		return 0;
	return 1;
}

/* ---- the server ---- */

/* "HOST:PORT" or "[V6]:PORT" into sa. */
static int
parse_hostport(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64], *end;
	const char *colon, *h = s;
	size_t hl;
	long port;
	struct resolve_addr a;

	if (s[0] == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return err_set(CA_USAGE, "--resolver %s: not HOST:PORT", s);
		h = s + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    memchr(s, ':', (size_t)(colon - s)) != NULL)
			return err_set(CA_USAGE, "--resolver %s: not HOST:PORT "
			    "(an IPv6 address goes in brackets)", s);
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof(host))
		return err_set(CA_USAGE, "--resolver %s: not HOST:PORT", s);
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (resolve_addr_parse(host, &a) != CA_OK)
		return err_set(CA_USAGE, "--resolver %s: the host must be an "
		    "IP address", s);
	errno = 0;
	if (!isdigit((unsigned char)colon[1]) ||
	    (port = strtol(colon + 1, &end, 10), *end != '\0') || errno != 0 ||
	    port < 1 || port > 65535)
		return err_set(CA_USAGE, "--resolver %s: the port must be 1 to "
		    "65535", s);
	memset(ss, 0, sizeof(*ss));
	if (a.family == AF_INET) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		memcpy(&in->sin_addr, a.a, 4);
		*len = sizeof(*in);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		memcpy(&in6->sin6_addr, a.a, 16);
		*len = sizeof(*in6);
	}
	return CA_OK;
}

/* The first "nameserver ADDR" of /etc/resolv.conf, port 53. */
static int
system_server(struct resolver *r)
{
	struct buf b;
	char *line, *save = NULL, *p, hp[80];
	int rc;

	if ((rc = io_read_file("/etc/resolv.conf", 64 * 1024, &b)) != CA_OK)
		return err_set(CA_FAIL, "no --resolver, and %s", err_msg());
	rc = err_set(CA_FAIL, "no --resolver, and /etc/resolv.conf names no "
	    "nameserver");
	for (line = strtok_r((char *)b.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "nameserver", 10) != 0 ||
		    (line[10] != ' ' && line[10] != '\t'))
			continue;
		p = line + 10 + strspn(line + 10, " \t");
		p[strcspn(p, " \t\r#;%")] = '\0';
		snprintf(hp, sizeof(hp), strchr(p, ':') ? "[%s]:53" : "%s:53", p);
		if (parse_hostport(hp, &r->server, &r->server_len) == CA_OK) {
			rc = CA_OK;
			break;
		}
	}
	buf_free(&b);
	return rc;
}

int
resolve_init(struct resolver *r, const char *hostport, int timeout_ms)
{
	memset(r, 0, sizeof(*r));
	r->timeout_ms = timeout_ms;
	if (hostport == NULL)
		return system_server(r);
	return parse_hostport(hostport, &r->server, &r->server_len);
}

/* ---- messages ---- */

/* name as wire labels into q at *off; CA_INPUT for a bad name. */
static int
put_name(unsigned char *q, size_t size, size_t *off, const char *name)
{
	const char *p = name, *dot;
	size_t l;

	if (strlen(name) > 253)
		return err_set(CA_INPUT, "name too long: %.64s...", name);
	while (*p != '\0') {
		dot = strchr(p, '.');
		l = dot ? (size_t)(dot - p) : strlen(p);
		if (l == 0 || l > 63 || *off + 1 + l >= size)
			return err_set(CA_INPUT, "bad name: %s", name);
		q[(*off)++] = (unsigned char)l;
		memcpy(q + *off, p, l);
		*off += l;
		p += l;
		if (*p == '.')
			p++;
	}
	q[(*off)++] = 0;
	return CA_OK;
}

/*
 * Read the (possibly compressed) name at *off in msg into out as
 * lowercase text without a trailing dot; *off moves past it.  A label
 * holding a '.' or a NUL is refused: as text it would read as another
 * name (the one label "a.b" as the two labels a and b).
 */
static int
get_name(const unsigned char *msg, size_t len, size_t *off, char *out)
{
	size_t p = *off, o = 0;
	int jumps = 0, jumped = 0;
	unsigned l, i;

	for (;;) {
		if (p >= len)
			return -1;
		l = msg[p];
		if ((l & 0xc0) == 0xc0) {
			if (p + 1 >= len || ++jumps > 32)
				return -1;
			if (!jumped)
				*off = p + 2;
			jumped = 1;
			p = ((l & 0x3f) << 8) | msg[p + 1];
			continue;
		}
		if (l & 0xc0)
			return -1;
		p++;
		if (l == 0)
			break;
		if (p + l > len || o + l + 1 >= DNS_NAME)
			return -1;
		if (memchr(msg + p, '.', l) != NULL ||
		    memchr(msg + p, '\0', l) != NULL)
			return -1;
		if (o > 0)
			out[o++] = '.';
		for (i = 0; i < l; i++)
			out[o++] = (char)tolower(msg[p + i]);
		p += l;
	}
	out[o] = '\0';
	if (!jumped)
		*off = p;
	return 0;
}

static unsigned
get16(const unsigned char *p)
{
	return ((unsigned)p[0] << 8) | p[1];
}

/* The name as the answers spell it: lowercase, no trailing dot. */
static void
canon(const char *name, char *out)
{
	size_t i, n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n >= DNS_NAME)
		n = DNS_NAME - 1;
	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)name[i]);
	out[n] = '\0';
}

/* Wait for fd to be ready for ev until deadline; CA_UNAVAIL at the deadline. */
static int
wait_fd(int fd, short ev, int64_t deadline, const char *what)
{
	struct pollfd pfd;
	int64_t left;
	int n;

	for (;;) {
		left = deadline - time_mono_ms();
		if (left <= 0)
			return err_set(CA_UNAVAIL, "%s: no answer in time", what);
		pfd.fd = fd;
		pfd.events = ev;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return CA_OK;
		if (n < 0 && errno != EINTR)
			return err_set(CA_UNAVAIL, "%s: poll: %s", what,
			    strerror(errno));
	}
}

/* The query over TCP (after a truncated UDP answer). */
static int
query_tcp(const struct resolver *r, const unsigned char *q, size_t qlen,
    int64_t deadline, struct buf *out, const char *what)
{
	unsigned char *msg = NULL, lenb[2];
	size_t want = 0, got = 0;
	int fd, rc, err = 0;
	socklen_t el = sizeof(err);
	ssize_t k;
	unsigned char *sendbuf;

	if ((fd = socket(r->server.ss_family, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) < 0)
		return err_set(CA_FAIL, "%s: socket: %s", what, strerror(errno));
	if (connect(fd, (const struct sockaddr *)&r->server, r->server_len) != 0 &&
	    errno != EINPROGRESS) {
		rc = err_set(CA_UNAVAIL, "%s: TCP: %s", what, strerror(errno));
		goto out;
	}
	if ((rc = wait_fd(fd, POLLOUT, deadline, what)) != CA_OK)
		goto out;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
		rc = err_set(CA_UNAVAIL, "%s: TCP: %s", what, strerror(err));
		goto out;
	}
	if ((sendbuf = malloc(qlen + 2)) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto out;
	}
	sendbuf[0] = (unsigned char)(qlen >> 8);
	sendbuf[1] = (unsigned char)qlen;
	memcpy(sendbuf + 2, q, qlen);
	k = send(fd, sendbuf, qlen + 2, MSG_NOSIGNAL);
	free(sendbuf);
	if (k != (ssize_t)(qlen + 2)) {
		rc = err_set(CA_UNAVAIL, "%s: TCP: short write", what);
		goto out;
	}
	/* The two length bytes, then the message. */
	while (got < 2 + want || want == 0) {
		if ((rc = wait_fd(fd, POLLIN, deadline, what)) != CA_OK)
			goto out;
		if (got < 2)
			k = recv(fd, lenb + got, 2 - got, 0);
		else
			k = recv(fd, msg + got - 2, want - (got - 2), 0);
		if (k < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (k <= 0) {
			rc = err_set(CA_UNAVAIL, "%s: TCP answer cut short", what);
			goto out;
		}
		got += (size_t)k;
		if (got == 2 && want == 0) {
			want = get16(lenb);
			if (want < 12) {
				rc = err_set(CA_UNAVAIL, "%s: TCP answer too short",
				    what);
				goto out;
			}
			if ((msg = malloc(want + 1)) == NULL) {
				rc = err_set(CA_FAIL, "out of memory");
				goto out;
			}
		}
	}
	out->data = msg;
	out->len = want;
	msg = NULL;
	rc = CA_OK;
out:
	free(msg);
	close(fd);
	return rc;
}

/*
 * Ask name's qtype records; the answer message in *out (free()).  Over
 * UDP, the query sent again each third of the time; an answer with
 * another ID, or not an answer, is ignored (it may be a stale or forged
 * one).  A truncated answer: again over TCP.
 */
static int
query(const struct resolver *r, const char *name, unsigned qtype,
    struct buf *out, const char *what)
{
	unsigned char q[512], ans[DNS_MAX_UDP];
	size_t qlen = 12;
	int64_t deadline = time_mono_ms() + r->timeout_ms, resend = 0;
	struct pollfd pfd;
	ssize_t k;
	int fd, rc, n;

	memset(out, 0, sizeof(*out));
	if (r->deadline != 0 && r->deadline < deadline)
		deadline = r->deadline;
	memset(q, 0, sizeof(q));
	if (RAND_bytes(q, 2) != 1)
		return err_set(CA_FAIL, "random: RAND_bytes failed");
	q[2] = 0x01;		/* RD */
	q[5] = 1;		/* QDCOUNT */
	if ((rc = put_name(q, sizeof(q), &qlen, name)) != CA_OK)
		return rc;
	q[qlen++] = (unsigned char)(qtype >> 8);
	q[qlen++] = (unsigned char)qtype;
	q[qlen++] = 0;
	q[qlen++] = 1;		/* IN */

	if ((fd = socket(r->server.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
		return err_set(CA_FAIL, "%s: socket: %s", what, strerror(errno));
	/* Connected: the kernel drops datagrams from any other address. */
	if (connect(fd, (const struct sockaddr *)&r->server, r->server_len) != 0) {
		rc = err_set(CA_UNAVAIL, "%s: %s", what, strerror(errno));
		goto out;
	}
	for (;;) {
		int64_t t = time_mono_ms(), wait;

		if (t >= deadline) {
			rc = err_set(CA_UNAVAIL, "%s: the resolver did not answer "
			    "in time", what);
			goto out;
		}
		if (t >= resend) {
			(void)send(fd, q, qlen, MSG_NOSIGNAL);
			resend = t + r->timeout_ms / 3 + 1;
		}
		wait = (resend < deadline ? resend : deadline) - t;
		pfd.fd = fd;
		pfd.events = POLLIN;
		n = poll(&pfd, 1, (int)wait);
		if (n <= 0)
			continue;
		k = recv(fd, ans, sizeof(ans), 0);
		if (k < 12 || ans[0] != q[0] || ans[1] != q[1] ||
		    !(ans[2] & 0x80) || (size_t)k < qlen ||
		    memcmp(ans + 4, q + 4, 2) != 0 ||
		    memcmp(ans + 12, q + 12, qlen - 12) != 0)
			continue;	/* not the answer to this question */
		break;
	}
	if (ans[2] & 0x02) {	/* TC */
		rc = query_tcp(r, q, qlen, deadline, out, what);
		if (rc == CA_OK && (out->len < qlen || memcmp(out->data, q, 2) != 0 ||
		    !(out->data[2] & 0x80) ||
		    memcmp(out->data + 12, q + 12, qlen - 12) != 0)) {
			free(out->data);
			memset(out, 0, sizeof(*out));
			rc = err_set(CA_UNAVAIL, "%s: the TCP answer is not to "
			    "the question", what);
		}
		goto out;
	}
	if ((out->data = malloc((size_t)k + 1)) == NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto out;
	}
	memcpy(out->data, ans, (size_t)k);
	out->len = (size_t)k;
	rc = CA_OK;
out:
	close(fd);
	return rc;
}

struct rr {
	char owner[DNS_NAME];
	unsigned type;
	size_t off, len;	/* rdata in the message */
};

/*
 * The records of type qtype that answer name: the answer section's,
 * following CNAMEs from name.  fn gets each one's rdata.
 */
/*
 * "localhost" and every name under it (RFC 6761 section 6.3), any case,
 * with or without the final dot.
 */
static int
is_localhost(const char *name)
{
	size_t n = strlen(name);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n < 9 || strncasecmp(name + n - 9, "localhost", 9) != 0)
		return 0;
	return n == 9 || name[n - 10] == '.';
}

static int
answers(const struct resolver *r, const char *name, unsigned qtype,
    int (*fn)(const unsigned char *msg, size_t len, size_t off, size_t rdlen,
    void *arg), void *arg)
{
	struct buf m;
	struct rr *rrs = NULL;
	char what[DNS_NAME + 16], cur[DNS_NAME], tmp[DNS_NAME];
	size_t off, nrr = 0, i, an;
	unsigned rcode;
	int rc, link, moved;

	/*
	 * Localhost names are the loopback addresses and nothing else, asked
	 * of no server (RFC 6761 6.3); the address rules still judge them
	 * (the loopback is denied unless an operator's rule allows it).
	 */
	if (is_localhost(name)) {
		static const unsigned char v4[4] = { 127, 0, 0, 1 };
		static const unsigned char v6[16] = { [15] = 1 };

		if (qtype == T_A)
			return fn(v4, sizeof(v4), 0, sizeof(v4), arg);
		if (qtype == T_AAAA)
			return fn(v6, sizeof(v6), 0, sizeof(v6), arg);
		return CA_OK;
	}
	snprintf(what, sizeof(what), "%s %s", qtype == T_A ? "A" :
	    qtype == T_AAAA ? "AAAA" : "TXT", name);
	if ((rc = query(r, name, qtype, &m, what)) != CA_OK)
		return rc;
	rcode = m.data[3] & 0x0f;
	if (rcode == 3) {
		rc = err_set(CA_REFUSED, "%s: no such name (NXDOMAIN)", what);
		goto out;
	}
	if (rcode != 0) {
		rc = err_set(CA_UNAVAIL, "%s: the resolver answered %s", what,
		    rcode == 2 ? "SERVFAIL" : rcode == 5 ? "REFUSED" :
		    "an error");
		goto out;
	}
	an = get16(m.data + 6);
	off = 12;
	if (get_name(m.data, m.len, &off, tmp) != 0 || off + 4 > m.len)
		goto bad;
	off += 4;
	if ((rrs = calloc(an < DNS_MAX_RR ? an + 1 : DNS_MAX_RR, sizeof(*rrs))) ==
	    NULL) {
		rc = err_set(CA_FAIL, "out of memory");
		goto out;
	}
	for (i = 0; i < an && nrr < DNS_MAX_RR; i++) {
		struct rr *x = &rrs[nrr];
		size_t rdlen;

		if (get_name(m.data, m.len, &off, x->owner) != 0 ||
		    off + 10 > m.len)
			goto bad;
		x->type = get16(m.data + off);
		rdlen = get16(m.data + off + 8);
		if (get16(m.data + off + 2) != 1 || off + 10 + rdlen > m.len) {
			if (off + 10 + rdlen > m.len)
				goto bad;
			off += 10 + rdlen;
			continue;	/* not class IN */
		}
		x->off = off + 10;
		x->len = rdlen;
		off += 10 + rdlen;
		nrr++;
	}
	canon(name, cur);
	/* Follow CNAMEs from the name asked; a loop ends at the limit. */
	for (link = 0, moved = 1; moved && link <= RESOLVE_MAX_CNAME; link++) {
		moved = 0;
		for (i = 0; i < nrr; i++) {
			if (rrs[i].type != T_CNAME || strcmp(rrs[i].owner, cur) != 0)
				continue;
			off = rrs[i].off;
			/* The target fills the record's data, no more, no less. */
			if (get_name(m.data, m.len, &off, tmp) != 0 ||
			    off != rrs[i].off + rrs[i].len)
				goto bad;
			memcpy(cur, tmp, sizeof(cur));
			moved = 1;
			break;
		}
	}
	if (moved) {
		rc = err_set(CA_UNAVAIL, "%s: more than %d CNAME links", what,
		    RESOLVE_MAX_CNAME);
		goto out;
	}
	for (i = 0; i < nrr; i++)
		if (rrs[i].type == qtype && strcmp(rrs[i].owner, cur) == 0 &&
		    (rc = fn(m.data, m.len, rrs[i].off, rrs[i].len, arg)) != CA_OK)
			goto out;
	rc = CA_OK;
	goto out;
bad:
	rc = err_set(CA_UNAVAIL, "%s: malformed answer", what);
out:
	free(rrs);
	free(m.data);
	return rc;
}

struct addrs_arg {
	struct resolve_addr *out;
	size_t max, n;
	int family;
};

static int
add_addr(const unsigned char *msg, size_t len, size_t off, size_t rdlen,
    void *arg)
{
	struct addrs_arg *a = arg;
	size_t want = a->family == AF_INET ? 4 : 16;

	if (rdlen != want)
		return err_set(CA_UNAVAIL, "an address record of %zu bytes", rdlen);
	if (a->n >= a->max)
		return CA_OK;
	memset(&a->out[a->n], 0, sizeof(a->out[a->n]));
	a->out[a->n].family = a->family;
	memcpy(a->out[a->n].a, msg + off, want);
	a->n++;
	return CA_OK;
}

int
resolve_addrs(const struct resolver *r, const char *name,
    struct resolve_addr *out, size_t max, size_t *n)
{
	struct addrs_arg a = { out, max, 0, AF_INET };
	int rc;

	*n = 0;
	if ((rc = answers(r, name, T_A, add_addr, &a)) != CA_OK)
		return rc;
	a.family = AF_INET6;
	if ((rc = answers(r, name, T_AAAA, add_addr, &a)) != CA_OK)
		return rc;
	*n = a.n;
	return CA_OK;
}

struct txt_arg {
	char **v;
	size_t n;
};

static int
add_txt(const unsigned char *msg, size_t len, size_t off, size_t rdlen,
    void *arg)
{
	struct txt_arg *t = arg;
	size_t p = 0, o = 0, l;
	char *s;

	if (t->n >= RESOLVE_MAX_TXT)
		return CA_OK;
	if ((s = malloc(rdlen + 1)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	while (p < rdlen) {
		l = msg[off + p];
		if (p + 1 + l > rdlen) {
			free(s);
			return err_set(CA_UNAVAIL, "a malformed TXT record");
		}
		memcpy(s + o, msg + off + p + 1, l);
		o += l;
		p += 1 + l;
	}
	s[o] = '\0';
	if (memchr(s, '\0', o) != NULL) {
		free(s);	/* a NUL inside: matches no digest; dropped */
		return CA_OK;
	}
	t->v[t->n++] = s;
	return CA_OK;
}

int
resolve_txt(const struct resolver *r, const char *name, char ***out,
    size_t *n)
{
	struct txt_arg t;
	int rc;

	*out = NULL;
	*n = 0;
	if ((t.v = calloc(RESOLVE_MAX_TXT, sizeof(char *))) == NULL)
		return err_set(CA_FAIL, "out of memory");
	t.n = 0;
	if ((rc = answers(r, name, T_TXT, add_txt, &t)) != CA_OK) {
		resolve_txt_free(t.v, t.n);
		return rc;
	}
	*out = t.v;
	*n = t.n;
	return CA_OK;
}

void
resolve_txt_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}
