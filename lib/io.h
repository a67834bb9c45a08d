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
/* Wipe (OPENSSL_cleanse) and free. */
void buf_free(struct buf *b);

/*
 * Read a password file: its first line, without the trailing newline (and
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
 * Replace path atomically: temp file in the same directory, fsync, rename,
 * fsync the directory.  mode applies to the new file.
 */
int io_write_atomic(const char *path, const void *data, size_t len, mode_t mode);
/* Write all of data to fd (retrying short writes); CA_FAIL on error. */
int io_write_all(int fd, const void *data, size_t len);
/* mkdir -p with mode for each created component. */
int io_mkdirs(const char *path, mode_t mode);
/* 1 if path exists (lstat), 0 if not. */
int io_exists(const char *path);
/* Join dir and name into a malloc'd string (name returned as-is copy if absolute). */
char *io_join(const char *dir, const char *name);

#endif
