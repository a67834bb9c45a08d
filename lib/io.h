/*
 * io: bounded reads, secret files, atomic writes.
 */
#ifndef INCA_IO_H
#define INCA_IO_H

#include <stddef.h>
#include <sys/types.h>

/* A growable byte buffer; data is always NUL-terminated (not counted in len). */
struct buf {
	unsigned char *data;
	size_t len;
};

/*
 * Read all of fd into *out, at most max bytes.  More than max bytes is
 * CA_INPUT ("<what>: input exceeds N bytes"); empty input is CA_OK with
 * len 0 (callers decide).  The caller frees out->data with buf_free().
 * Returns CA_OK or an exit code with the message recorded.
 */
int io_read_fd(int fd, size_t max, struct buf *out, const char *what);
/* Same for a path ("-" is stdin). */
int io_read_file(const char *path, size_t max, struct buf *out);
/*
 * Before a process holds a secret: no core file (RLIMIT_CORE 0) and, on
 * Linux, not dumpable (PR_SET_DUMPABLE 0: no core through a pipe handler,
 * no ptrace or /proc/PID/mem by the same user).  Idempotent; the secret
 * readers below call it, programs that generate keys call it themselves.
 */
int io_secret_guard(void);
/*
 * Open a secret file (key, password, token) for reading, as ssh does:
 * refused (CA_FAIL, the message naming the file and its mode or owner)
 * when group or others may read or write it, when it is owned by neither
 * the caller nor root, or when its directory is writable by group or
 * others without the sticky bit.  A symlink is followed and its target is
 * what must pass (the opened file is checked, not the name).  "-" is
 * stdin, unchecked.  Calls io_secret_guard() first.  A missing file is
 * CA_INPUT.
 */
int io_open_secret(const char *path, int *fd);
/* io_open_secret() then io_read_fd(): a secret file's bytes, wiped by buf_free(). */
int io_read_secret(const char *path, size_t max, struct buf *out);
/*
 * A directory that holds secrets (a CA home's secrets/): owned by the
 * caller or root, and no access at all for group or others.
 */
int io_check_secret_dir(const char *path);
/* Wipe (OPENSSL_cleanse) and free. */
void buf_free(struct buf *b);

/*
 * Read a password file (checked as io_open_secret() says): its first line, without the trailing newline (and
 * CR).  At most CA_MAX_PASSWORD bytes; an empty password is CA_INPUT.
 * *out is NUL-terminated and must be wiped with io_wipe_str().
 */
int io_read_password(const char *path, char **out);
void io_wipe_str(char *s);

/*
 * Create path with O_CREAT|O_EXCL|O_NOFOLLOW, mode (0600 for secrets),
 * write data, fsync.  Refuses an existing file.  On failure nothing is left.
 */
int io_write_excl(const char *path, const void *data, size_t len, mode_t mode);
/*
 * io_write_excl() in two steps, for an output that must be claimed before
 * the work that produces it: create path (O_EXCL, O_NOFOLLOW, mode) and
 * return its descriptor; later fill it (write, fsync, close, fsync the
 * directory).  io_fill_excl() always closes fd and unlinks path when it
 * fails; a caller that gives up between the two unlinks path itself.
 */
int io_create_excl(const char *path, mode_t mode, int *fd);
int io_fill_excl(const char *path, int fd, const void *data, size_t len);
/*
 * Replace path atomically: temp file in the same directory, fsync, rename,
 * fsync the directory.  mode applies to the new file.
 */
int io_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/*
 * Replace an output file (a certificate, a CRL, a key) as
 * io_write_atomic() does, keeping what the old file had: its mode
 * (new_mode for a new file: 0644 for a certificate, 0600 for a key) and,
 * when the caller is root, its owner and group.  A symbolic link is
 * kept and its target replaced.  The old file is untouched by any
 * failure; a process killed between the temporary file and the rename
 * leaves "PATH.tmp.XXXXXX" beside it, never a partial PATH.
 */
int io_write_replace(const char *path, const void *data, size_t len,
    mode_t new_mode);
/* Write all of data to fd (retrying short writes); CA_FAIL on error. */
int io_write_all(int fd, const void *data, size_t len);
/* mkdir -p with mode for each created component. */
int io_mkdirs(const char *path, mode_t mode);
/* 1 if path exists (lstat), 0 if not. */
int io_exists(const char *path);
/* Join dir and name into a malloc'd string (name returned as-is copy if absolute). */
char *io_join(const char *dir, const char *name);

#endif
