#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "err.h"
#include "io.h"
#include "ca_limits.h"

int
io_read_fd(int fd, size_t max, struct buf *out, const char *what)
{
	size_t cap = 8192, len = 0;
	unsigned char *p, *np;
	ssize_t n;

	out->data = NULL;
	out->len = 0;
	if ((p = malloc(cap + 1)) == NULL)
		return err_set(CA_FAIL, "out of memory");
	for (;;) {
		if (len == cap) {
			if (cap > max) {
				OPENSSL_cleanse(p, len);
				free(p);
				return err_set(CA_INPUT,
				    "%s: input exceeds %zu bytes", what, max);
			}
			cap *= 2;
			if ((np = realloc(p, cap + 1)) == NULL) {
				OPENSSL_cleanse(p, len);
				free(p);
				return err_set(CA_FAIL, "out of memory");
			}
			p = np;
		}
		n = read(fd, p + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			OPENSSL_cleanse(p, len);
			free(p);
			return err_set(CA_FAIL, "%s: read: %s", what,
			    strerror(errno));
		}
		len += (size_t)n;
		if (len > max) {
			OPENSSL_cleanse(p, len);
			free(p);
			return err_set(CA_INPUT, "%s: input exceeds %zu bytes",
			    what, max);
		}
	}
	p[len] = '\0';
	out->data = p;
	out->len = len;
	return CA_OK;
}

int
io_read_file(const char *path, size_t max, struct buf *out)
{
	int fd, rc;

	if (strcmp(path, "-") == 0)
		return io_read_fd(0, max, out, "stdin");
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return err_set(errno == ENOENT ? CA_INPUT : CA_FAIL,
		    "%s: %s", path, strerror(errno));
	rc = io_read_fd(fd, max, out, path);
	close(fd);
	return rc;
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		OPENSSL_cleanse(b->data, b->len);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
}

void
io_wipe_str(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

int
io_read_password(const char *path, char **out)
{
	struct buf b;
	size_t n;
	int rc;

	*out = NULL;
	/* Read a little more than the limit so an over-long line is seen. */
	if ((rc = io_read_file(path, CA_MAX_PASSWORD + 2, &b)) != CA_OK) {
		if (rc == CA_INPUT && io_exists(path))
			return err_set(CA_INPUT, "%s: password longer than %d bytes",
			    path, CA_MAX_PASSWORD);
		return rc;
	}
	n = strcspn((char *)b.data, "\n");
	if (n > 0 && b.data[n - 1] == '\r')
		n--;
	if (n > CA_MAX_PASSWORD) {
		buf_free(&b);
		return err_set(CA_INPUT, "%s: password longer than %d bytes",
		    path, CA_MAX_PASSWORD);
	}
	if (n == 0) {
		buf_free(&b);
		return err_set(CA_INPUT, "%s: empty password", path);
	}
	if (memchr(b.data, '\0', n) != NULL) {
		buf_free(&b);
		return err_set(CA_INPUT, "%s: NUL byte in password", path);
	}
	b.data[n] = '\0';
	*out = strdup((char *)b.data);
	buf_free(&b);
	if (*out == NULL)
		return err_set(CA_FAIL, "out of memory");
	return CA_OK;
}

int
io_write_all(int fd, const void *data, size_t len)
{
	const unsigned char *p = data;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return err_set(CA_FAIL, "write: %s", strerror(errno));
		}
		p += n;
		len -= (size_t)n;
	}
	return CA_OK;
}

static int
fsync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return err_set(CA_FAIL, "%s: %s", dir, strerror(errno));
	if (fsync(fd) == -1 && errno != EINVAL) {
		close(fd);
		return err_set(CA_FAIL, "%s: fsync: %s", dir, strerror(errno));
	}
	close(fd);
	return CA_OK;
}

int
io_write_excl(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (fd == -1)
		return err_set(errno == EEXIST ? CA_REFUSED : CA_FAIL,
		    "%s: %s", path, errno == EEXIST ?
		    "already exists, not overwritten" : strerror(errno));
	if (fchmod(fd, mode) == -1 || io_write_all(fd, data, len) != CA_OK ||
	    fsync(fd) == -1) {
		int e = errno;
		close(fd);
		unlink(path);
		return err_set(CA_FAIL, "%s: %s", path, strerror(e));
	}
	if (close(fd) == -1) {
		unlink(path);
		return err_set(CA_FAIL, "%s: close: %s", path, strerror(errno));
	}
	return fsync_dir_of(path);
}

int
io_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return err_set(CA_FAIL, "%s: path too long", path);
	if ((fd = mkstemp(tmp)) == -1)
		return err_set(CA_FAIL, "%s: %s", tmp, strerror(errno));
	if (fchmod(fd, mode) == -1 || io_write_all(fd, data, len) != CA_OK ||
	    fsync(fd) == -1) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return err_set(CA_FAIL, "%s: %s", path, strerror(e));
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		int e = errno;
		unlink(tmp);
		return err_set(CA_FAIL, "%s: %s", path, strerror(e));
	}
	return fsync_dir_of(path);
}

int
io_mkdirs(const char *path, mode_t mode)
{
	char p[PATH_MAX];
	size_t i, n = strlen(path);

	if (n == 0 || n >= sizeof(p))
		return err_set(CA_FAIL, "%s: bad directory path", path);
	memcpy(p, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (p[i] != '/' && p[i] != '\0')
			continue;
		p[i] = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			return err_set(CA_FAIL, "%s: %s", p, strerror(errno));
		if (i < n)
			p[i] = '/';
	}
	return CA_OK;
}

int
io_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

char *
io_join(const char *dir, const char *name)
{
	size_t a, b;
	char *s;

	if (name[0] == '/' || dir == NULL || dir[0] == '\0')
		return strdup(name);
	a = strlen(dir);
	b = strlen(name);
	if ((s = malloc(a + b + 2)) == NULL)
		return NULL;
	memcpy(s, dir, a);
	s[a] = '/';
	memcpy(s + a + 1, name, b + 1);
	return s;
}
