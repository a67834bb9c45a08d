/*
 * resolve: DNS lookups through one configured server, and the address
 * rules that say which addresses a validator may connect to.
 *
 * The lookups are a small UDP client of our own (RFC 1035), not the
 * system's resolver: the server asked is the one configured (a test
 * points names at 127.0.0.1 without touching the machine's resolver),
 * every query has a random ID and is sent from a socket connected to
 * that server (answers from anywhere else are not received), and the
 * answer must echo the question.  A truncated answer is asked again
 * over TCP.  CNAME chains in the answer are followed (at most
 * RESOLVE_MAX_CNAME links); records owned by other names are ignored.
 * "localhost" and the names under it are 127.0.0.1 and ::1 with no TXT
 * record, asked of no server (RFC 6761 6.3).
 *
 * The address rules: an address is allowed unless a rule denies it.
 * The operator's rules (--allow, --deny) come first: the longest prefix
 * among them that holds the address decides (deny on a tie).  Only when
 * none holds it do the built-in denials apply: loopback, link-local
 * (cloud metadata at 169.254.169.254 among them), the clouds' metadata
 * and platform addresses outside it (100.100.100.200, 168.63.129.16,
 * 192.0.0.192, fd00:ec2::254), unspecified, "this network", multicast,
 * broadcast, and NAT64's local-use prefix 64:ff9b:1::/48.  An IPv6
 * address that carries an IPv4 address (IPv4-mapped, -translated and
 * -compatible, NAT64's 64:ff9b::/96, 6to4's 2002::/16) is judged both as
 * itself and as that IPv4 address; both must be allowed.
 */
#ifndef INCA_RESOLVE_H
#define INCA_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define RESOLVE_MAX_ADDRS	32	/* addresses kept from one lookup */
#define RESOLVE_MAX_TXT		32	/* TXT records kept from one lookup */
#define RESOLVE_MAX_CNAME	8	/* CNAME links followed */

/* An address: family AF_INET (4 bytes) or AF_INET6 (16 bytes). */
struct resolve_addr {
	int family;
	unsigned char a[16];
};

struct resolver {
	struct sockaddr_storage server;
	socklen_t server_len;
	int timeout_ms;		/* for each lookup, all tries included */
	int64_t deadline;	/* if not 0: no lookup goes past it (ms of
				   time_mono_ms) */
};

/*
 * The server to ask: "HOST:PORT" or "[V6]:PORT" (HOST an IP address;
 * the port required), or NULL for the first nameserver of
 * /etc/resolv.conf on port 53.  CA_USAGE for a bad spelling, CA_FAIL
 * when resolv.conf names none.
 */
int resolve_init(struct resolver *r, const char *hostport, int timeout_ms);

/*
 * The A and AAAA records of name (both asked).  *n is 0 when the name
 * has none.  CA_UNAVAIL (message recorded) when the server does not
 * answer in time, answers SERVFAIL or REFUSED, or answers something that
 * is not an answer to the question; CA_REFUSED for NXDOMAIN.
 */
int resolve_addrs(const struct resolver *r, const char *name,
    struct resolve_addr *out, size_t max, size_t *n);

/*
 * The TXT records of name, each its character-strings joined, as
 * malloc'd NUL-terminated strings in *out (free each, then the array,
 * with resolve_txt_free); *n may be 0.  Failures as resolve_addrs().
 */
int resolve_txt(const struct resolver *r, const char *name, char ***out,
    size_t *n);
void resolve_txt_free(char **v, size_t n);

/* Text form of an address into buf (INET6_ADDRSTRLEN bytes). */
const char *resolve_addr_text(const struct resolve_addr *a, char *buf,
    size_t len);
/* Parse a literal IPv4 or IPv6 address; CA_INPUT if it is not one. */
int resolve_addr_parse(const char *s, struct resolve_addr *out);
/* From a socket address; CA_INPUT for another family. */
int resolve_addr_from_sa(const struct sockaddr *sa, struct resolve_addr *out);

/* The operator's rules. */
struct addr_rule {
	struct resolve_addr net;
	int bits;
	int allow;
};

struct addr_rules {
	struct addr_rule *v;
	size_t n;
};

/* Add "ADDR/BITS" (or an address alone: all its bits); CA_USAGE if bad. */
int addr_rules_add(struct addr_rules *r, const char *cidr, int allow);
/* 1 if a may be connected to, 0 if not. */
int addr_allowed(const struct addr_rules *r, const struct resolve_addr *a);
void addr_rules_free(struct addr_rules *r);

#endif
