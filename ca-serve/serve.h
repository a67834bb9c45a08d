/*
 * ca-serve's parts: what it read from the CA home (state.c), one TLS
 * connection (conn.c), the hop to the handler programs (hop.c), the
 * listeners and the children (main.c).
 *
 * ca-serve holds only public files and its own TLS key: never the
 * intermediate key, its password or the database.  Those stay with the
 * handlers (ca-sign, ca-renew, ca-revoke, ca-acme --api --offline), which it
 * reaches through a pipe or a unix socket.
 */
#ifndef CA_SERVE_H
#define CA_SERVE_H

#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "pem.h"

/*
 * The handler kinds, one table: the ca.json "handlers" member and the
 * program beside ca-serve of each.  sign serves POST /sign; renew serves
 * POST /renew and /rekey; revoke serves POST /revoke and GET /crl; acme
 * serves every method on /acme/{provisioner}/... (RFC 8555).
 */
enum { HK_SIGN, HK_RENEW, HK_REVOKE, HK_ACME, HK_COUNT };

struct hkind {
	const char *name;       /* "sign": the handlers member, the pool's socket */
	const char *prog;       /* "ca-sign": beside /proc/self/exe */
};

extern const struct hkind hkinds[HK_COUNT];       /* hop.c */

/* Options, as parsed (times in milliseconds). */
struct serve_opts {
	const char *dir, *cert, *key, *listen;
	int max_conns, handlers;
	int64_t read_ms, conn_ms, handler_ms, idle_ms;
};

/* What ca-serve read from the CA home; replaced whole on a reload. */
struct serve_state {
	char *home;
	json_t *conf;           /* config/ca.json */
	char *root_pem;         /* the root, PEM */
	char *root_json;        /* the bodies of GET /root/{fp}, {"ca":PEM}, */
	char *roots_json;       /* and of GET /roots, {"crts":[PEM]} */
	char root_fp[65];       /* SHA-256 of its DER, lower-case hex */
	X509 *root;             /* decoded once: the trust store's anchor */
	struct pem_block *inter; /* "crt"'s certificates as DER, not decoded */
	size_t ninter;
	char *inter_json;       /* those not self-signed: GET /intermediates' body */
	char *inter_pem;        /* and concatenated, PEM */
	json_t *provisioners;   /* authority.provisioners, public members */
	char *socket[HK_COUNT]; /* handlers.<kind>, resolved; NULL: none */
	int tls_min, tls_max;
	char *cert_file, *key_file;
	struct stat cert_st, key_st; /* as loaded, to notice a replacement */
	SSL_CTX *ctx;
};

/* state.c */
/*
 * Read the CA home of o: ca.json, the root, the intermediates, the
 * server certificate and key (a TLS context).  CA_OK, or CA_FAIL with one
 * line naming the file.  *st is the caller's (state_free).
 */
int state_load(const struct serve_opts *o, struct serve_state *st);
void state_free(struct serve_state *st);
/*
 * 1 when the server certificate or key file is no longer the one loaded
 * (inode, size, modification or change time).
 */
int state_cert_changed(const struct serve_state *st);
/* A new TLS context from the files as they are now; the old one is kept on failure. */
int state_reload_tls(struct serve_state *st);
/*
 * One DER element at *p, before end: its tag, its contents (*body, *blen)
 * and *p moved past it.  Definite lengths of up to 4 bytes; 0 if the bytes
 * are not that.  A bounded walker for fields read without decoding.
 */
int tlv_next(const unsigned char **p, const unsigned char *end, int *tag,
    const unsigned char **body, size_t *blen);
/*
 * The fields of a certificate's DER up to its subject, undecoded: the
 * serialNumber's contents, the issuer and subject elements (tag and
 * length included).  0 if der is not shaped like a certificate.
 */
struct cert_fields {
	const unsigned char *serial, *issuer, *subject;
	size_t serial_len, issuer_len, subject_len;
};
int cert_fields(const unsigned char *der, size_t len, struct cert_fields *f);

/* hop.c: one handler kind's way to its handler, for one connection. */
struct hop {
	int kind;               /* HK_* */
	size_t max_response;    /* bytes a response line may hold */
	const char *socket;     /* connect here (a unix socket), or NULL: */
	const char *prog;       /* run this as a coprocess */
	const char *home;
	int devnull_stderr;     /* the coprocess must not inherit fd 2 */
	pid_t pid;              /* the coprocess, or 0 */
	int wfd, rfd;           /* to and from the handler, or -1 */
	/*
	 * A pool whose handlers start on demand: set *demand and write a
	 * byte to notify_fd (the supervisor's wake-up) before connecting,
	 * when *demand is not yet set.  NULL: nothing to ask for.
	 */
	volatile int *demand;
	int notify_fd;
	/*
	 * The pool's "no handler runs" mark (struct pool's down), or NULL:
	 * while it is set, a request no handler took is not held.
	 */
	const volatile int *down;
};

/*
 * A hop of kind (HK_*) to socket, or to prog run as a coprocess when
 * socket is NULL; nothing is started or connected before the first call.
 */
void hop_init(struct hop *h, int kind, const char *socket, const char *prog,
    const char *home);
/*
 * Send one request line (req, len bytes, ending in "\n") and read the one
 * response line, all by deadline (CLOCK_MONOTONIC milliseconds).  A
 * handler that has gone away since the last request is started (or
 * connected to) again first.  Returns 0 with *resp (malloc'd, without the
 * newline, NUL-terminated); 503 when the handler cannot be reached; 500
 * when it failed (it closed, crashed, hung past the deadline: it is
 * killed, or the connection to it closed, so the next request gets a new
 * one; or it wrote more than a response may hold).
 */
int hop_call(struct hop *h, const char *req, size_t len, int64_t deadline,
    char **resp, size_t *resp_len);
/* End the coprocess (close its stdin, wait for it) or close the socket. */
void hop_close(struct hop *h);

/*
 * A handler pool of the accept loop, one per kind: n handler processes
 * sharing one listening unix socket in a private directory (LISTEN_FDS=1
 * on fd 3).
 */
struct pool {
	int kind;               /* HK_* */
	char *dir, *path;       /* mkdtemp dir (0700) and the socket in it */
	int fd;                 /* the listening socket */
	const char *prog;
	char *home;             /* the CA home, the pool's own copy */
	int n;
	int launched;           /* its handlers were started (pool_launch) */
	pid_t *pids;
	int64_t *started;       /* when each was started (ms) */
	int64_t *ended;         /* when each last ended (ms) */
	int64_t backoff;        /* pause before a restart (ms) */
	int failing;            /* the last to end refused to start */
	/*
	 * Shared with the workers: 1 while no handler runs and the last
	 * refused to start (a configuration it refuses, say), so that a
	 * request waiting in the socket's backlog is refused at once rather
	 * than held until its deadline.  NULL: not kept.
	 */
	volatile int *down;
};

/*
 * Bind the pool's socket, and with launch start its n handlers; without,
 * connections wait in the socket's backlog until pool_launch().  down
 * (shared with the workers, or NULL) is kept as struct pool's down.
 */
int pool_start(struct pool *p, int kind, const char *prog, const char *home,
    int n, int launch, volatile int *down);
/* Start the handlers of a pool bound without them. */
int pool_launch(struct pool *p);
/*
 * A pool process pid has ended with wait status status: 1 if it was one
 * (restarted when due).
 */
int pool_reaped(struct pool *p, pid_t pid, int status);
/* Start those that are missing and due; returns ms until the next is due, or -1. */
int64_t pool_tend(struct pool *p);
/*
 * SIGHUP to every handler (they read ca.json again); those not running
 * are started at once, without the pause after a failure.
 */
void pool_hup(struct pool *p);
/* SIGTERM to every handler, wait for them (up to deadline), remove the socket. */
void pool_stop(struct pool *p, int64_t deadline);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t now_ms(void);
/* O_NONBLOCK on fd (left as it is if fcntl fails: every wait has a deadline). */
void set_nonblock(int fd);

/* conn.c */
extern volatile sig_atomic_t conn_draining;

/*
 * Serve one TLS connection read on rfd and written on wfd (the same
 * socket, or inetd's 0 and 1) until the client closes it, a deadline
 * passes or conn_draining is set between requests.  peer names the
 * client in the log; hops[HK_COUNT] are the ways to the handlers, by
 * kind.  Logs one line per request; never exits.
 */
void conn_serve(struct serve_state *st, const struct serve_opts *o,
    int rfd, int wfd, const char *peer, struct hop *hops);

/* The client's address of fd ("198.51.100.7:4711", "[2001:db8::1]:443"). */
void conn_peer(int fd, char *buf, size_t len);

/*
 * Where log lines go: stderr, or syslog when stderr is the connection
 * itself (inetd passes the socket as 0, 1 and 2).
 */
void log_use_syslog(int on);
/* One JSON object as one log line. */
void log_json(json_t *line);
/* A message line {"time","message"} (start, reload, failures outside a request). */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
