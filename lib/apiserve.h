/*
 * apiserve: the --api handler as a server.
 *
 * A stream carries JSON request objects one after another (optional
 * whitespace between them); each gets exactly one answer, a compact JSON
 * object and "\n", in request order, written as soon as it is known: the
 * handler's response, or {"status": HTTP status, "message": text}.
 * Framing is done here, before any parsing: a scanner that follows
 * strings, escapes and brace depth finds where each top-level object
 * ends, so that
 *   - an object over CA_MAX_JSON bytes (from its '{' to its '}';
 *     whitespace between objects does not count) is answered 413 and
 *     skipped to its end, and the stream goes on;
 *   - a delimited object that is not valid JSON is answered 400 and the
 *     stream goes on;
 *   - input that cannot be framed (a value that does not start with '{',
 *     or end of input inside an object) is answered 400 (413 if that
 *     object was already over the limit) and ends the stream.
 * Every failure's message also goes to stderr as "prog: message".
 *
 * The program supplies the handler, a callback that answers a batch of
 * requests; the server keeps the connections, the buffers and the order.
 * Nothing here exits or installs signal handlers: the caller's handlers
 * set *stop, and the server waits with the caller's wait_mask in place,
 * so a signal blocked elsewhere is taken only while waiting (no signal
 * interrupts a handler call, and none is missed before a wait).
 */
#ifndef INCA_APISERVE_H
#define INCA_APISERVE_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "ca_limits.h"

/* Connections served at once by api_serve_socket() (0 in api_server). */
#define API_MAX_CONNS		1024
/*
 * Answers a connection may have waiting for its peer to read them: past
 * API_OUT_SOFT no more of its requests are taken (its peer is slow), past
 * API_OUT_MAX the connection is dropped.
 */
#define API_OUT_SOFT		(64 * 1024)
#define API_OUT_MAX		(CA_MAX_CRL_TEXT + 1024 * 1024)	/* a CRL fits */
/* How long a stopping server waits for peers to read their answers. */
#define API_DRAIN_MS		5000

/*
 * One request of a batch.  The handler sets code, status and body of
 * each with api_call_ok() or api_call_fail().
 */
struct api_call {
	const json_t *req;      /* the request object (the server's) */
	int code;               /* CA_OK, or the exit code of a failure */
	int status;             /* the HTTP status of a failure */
	char *body;             /* the server's: the response JSON, or the
				   failure's message */
};

/*
 * Answer calls[0..n-1], in any order but each exactly once.  Requests of
 * one batch may come from several connections; each answer is written
 * only after the handler returns.  A call left unanswered is a 500.
 */
typedef void (*api_handler_fn)(void *ctx, struct api_call *calls, size_t n);

/* The answer resp (borrowed; written compact).  Failing to encode it is a 500. */
void api_call_ok(struct api_call *c, const json_t *resp);
/* The failure recorded by err_set() (err_msg()), with its HTTP status. */
void api_call_fail(struct api_call *c, int status, int code);

struct api_server {
	api_handler_fn handler;
	void *ctx;
	/* Set (by a signal handler) to stop: see api_serve_stream/socket. */
	volatile sig_atomic_t *stop;
	/* The signal mask while waiting for input (NULL: the current one). */
	const sigset_t *wait_mask;
	size_t max_batch;       /* requests per handler call (0: 1) */
	size_t max_conns;       /* api_serve_socket (0: API_MAX_CONNS) */
};

/*
 * Serve one stream: requests read from in, answers written to out (with
 * blocking writes) until the end of input, an unframeable request, or
 * *stop (then the requests read whole are still answered).  Returns
 * CA_OK if every request succeeded (none is success too), else the exit
 * code of the first that failed (CA_FAIL for a failure whose code was
 * CA_OK); CA_FAIL (message recorded) when the answers cannot be written.
 */
int api_serve_stream(const struct api_server *s, int in, int out);

/*
 * Serve every connection accepted on listen_fd, each as a stream, many at
 * once, until *stop: then no connection is accepted nor read any more,
 * the requests read whole are answered, their answers written (for at
 * most API_DRAIN_MS), and CA_OK returned.  listen_fd is made
 * non-blocking; it stays the caller's.  A connection whose peer reads
 * nothing stalls alone; it is dropped once it holds API_OUT_MAX bytes
 * of answers.  CA_FAIL (message recorded) only when serving cannot go on.
 */
int api_serve_socket(const struct api_server *s, int listen_fd);

/*
 * Bind a unix stream socket at path, mode 0660, and listen; *fd is the
 * caller's.  A socket file already there is replaced when nothing listens
 * on it (a stale one); one with a listener is CA_FAIL "... is in use",
 * anything else at path (a file, a directory, a symlink) is CA_FAIL and
 * left alone.  *created tells api_unlisten_unix() the file is ours.
 */
struct api_sockfile {
	char *path;
	dev_t dev;
	ino_t ino;
};
int api_listen_unix(const char *path, int *fd, struct api_sockfile *created);
/* Remove the socket file if it is still the one bound; frees f's memory. */
void api_unlisten_unix(struct api_sockfile *f);

/*
 * The listening socket handed over by the service manager (sd_listen_fds
 * protocol): with LISTEN_PID equal to getpid() and LISTEN_FDS 1, fd 3,
 * which must be a listening stream socket (else CA_FAIL); *fd is -1 when
 * nothing was handed over; LISTEN_FDS other than 1 is CA_USAGE.  The
 * variables are removed from the environment either way, so that no
 * child takes them for its own.
 */
int api_listen_inherited(int *fd);

#endif
