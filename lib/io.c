#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

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
			/*
			 * Grow by copying, not realloc: the input may be a
			 * secret, and realloc would leave the old block in
			 * freed memory unwiped.
			 */
			if ((np = malloc(2 * cap + 1)) == NULL) {
				OPENSSL_cleanse(p, len);
				free(p);
				return err_set(CA_FAIL, "out of memory");
			}
			memcpy(np, p, len);
			OPENSSL_cleanse(p, len);
			free(p);
			p = np;
			cap *= 2;
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

int
io_secret_guard(void)
{
	static int done;
	struct rlimit rl = { 0, 0 };

	if (done)
		return CA_OK;
	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		return err_set(CA_FAIL, "disabling core dumps: %s", strerror(errno));
#ifdef __linux__
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return err_set(CA_FAIL, "PR_SET_DUMPABLE: %s", strerror(errno));
#endif
	done = 1;
	return CA_OK;
}

/* Owned by the caller or by root: ssh's rule for its keys. */
static int
owner_ok(const struct stat *st)
{
	return st->st_uid == geteuid() || st->st_uid == 0;
}

static int
check_owner(const char *path, const struct stat *st)
{
	if (!owner_ok(st))
		return err_set(CA_FAIL, "%s: owned by uid %lu, neither the "
		    "caller (uid %lu) nor root: refusing to use it", path,
		    (unsigned long)st->st_uid, (unsigned long)geteuid());
	return CA_OK;
}

int
io_check_secret_dir(const char *path)
{
	struct stat st;
	int rc;

	if (stat(path, &st) == -1)
		return err_set(errno == ENOENT ? CA_INPUT : CA_FAIL, "%s: %s",
		    path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return err_set(CA_FAIL, "%s: not a directory", path);
	if ((rc = check_owner(path, &st)) != CA_OK)
		return rc;
	if (st.st_mode & 077)
		return err_set(CA_FAIL, "%s: mode %04o lets group or others in: "
		    "refusing to use it (chmod 700)", path,
		    (unsigned)(st.st_mode & 07777));
	return CA_OK;
}

/*
 * The directory holding a secret must not let others replace it: owned by
 * the caller or root, and not writable by group or others unless sticky
 * (as /tmp is, where others cannot rename or remove what is not theirs).
 */
static int
check_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat st;
	int rc;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) >= sizeof(dir))
		return err_set(CA_FAIL, "%s: path too long", path);
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &st) == -1)
		return err_set(CA_FAIL, "%s: %s", dir, strerror(errno));
	if ((rc = check_owner(dir, &st)) != CA_OK)
		return rc;
	if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
		return err_set(CA_FAIL, "%s: directory mode %04o lets group or "
		    "others replace %s: refusing to use it", dir,
		    (unsigned)(st.st_mode & 07777), path);
	return CA_OK;
}

int
io_open_secret(const char *path, int *fd)
{
	struct stat st;
	int rc;

	*fd = -1;
	if ((rc = io_secret_guard()) != CA_OK)
		return rc;
	if (strcmp(path, "-") == 0) {
		*fd = 0;
		return CA_OK;
	}
	if ((rc = check_parent(path)) != CA_OK)
		return rc;
	/*
	 * Open first, then judge what was opened: a symlink is followed, and
	 * its target is what must pass; no window between check and use.
	 */
	if ((*fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC)) == -1)
		return err_set(errno == ENOENT ? CA_INPUT : CA_FAIL,
		    "%s: %s", path, strerror(errno));
	if (fstat(*fd, &st) == -1) {
		rc = err_set(CA_FAIL, "%s: %s", path, strerror(errno));
		goto bad;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = err_set(CA_FAIL, "%s: is a directory", path);
		goto bad;
	}
	if ((rc = check_owner(path, &st)) != CA_OK)
		goto bad;
	if (st.st_mode & 077) {
		rc = err_set(CA_FAIL, "%s: mode %04o lets group or others read or "
		    "write it: refusing to use it (chmod 600)", path,
		    (unsigned)(st.st_mode & 07777));
		goto bad;
	}
	return CA_OK;
bad:
	close(*fd);
	*fd = -1;
	return rc;
}

int
io_read_secret(const char *path, size_t max, struct buf *out)
{
	int fd, rc;

	out->data = NULL;
	out->len = 0;
	if ((rc = io_open_secret(path, &fd)) != CA_OK)
		return rc;
	rc = io_read_fd(fd, max, out, strcmp(path, "-") == 0 ? "stdin" : path);
	if (fd != 0)
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
	if ((rc = io_read_secret(path, CA_MAX_PASSWORD + 2, &b)) != CA_OK) {
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
io_create_excl(const char *path, mode_t mode, int *fd)
{
	*fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    mode);
	if (*fd == -1)
		return err_set(errno == EEXIST ? CA_REFUSED : CA_FAIL,
		    "%s: %s", path, errno == EEXIST ?
		    "already exists, not overwritten" : strerror(errno));
	if (fchmod(*fd, mode) == -1) {
		int e = errno;

		close(*fd);
		*fd = -1;
		unlink(path);
		return err_set(CA_FAIL, "%s: %s", path, strerror(e));
	}
	return CA_OK;
}

int
io_fill_excl(const char *path, int fd, const void *data, size_t len)
{
	if (io_write_all(fd, data, len) != CA_OK || fsync(fd) == -1) {
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
io_write_excl(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd, rc;

	if ((rc = io_create_excl(path, mode, &fd)) != CA_OK)
		return rc;
	return io_fill_excl(path, fd, data, len);
}

/*
 * target replaced through "TARGET.tmp.XXXXXX": mode, and with own the
 * owner and group of *own, data written and synced, renamed over target,
 * the directory synced.  Messages name path (the name the caller gave).
 */
static int
replace_file(const char *path, const char *target, const void *data,
    size_t len, mode_t mode, const struct stat *own)
{
	char tmp[PATH_MAX];
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", target);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return err_set(CA_FAIL, "%s: path too long", path);
	if ((fd = mkstemp(tmp)) == -1)
		return err_set(CA_FAIL, "%s: %s", tmp, strerror(errno));
	if ((own != NULL && fchown(fd, own->st_uid, own->st_gid) == -1) ||
	    fchmod(fd, mode) == -1 || io_write_all(fd, data, len) != CA_OK ||
	    fsync(fd) == -1) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return err_set(CA_FAIL, "%s: %s", path, strerror(e));
	}
	if (close(fd) == -1 || rename(tmp, target) == -1) {
		int e = errno;
		unlink(tmp);
		return err_set(CA_FAIL, "%s: %s", path, strerror(e));
	}
	return fsync_dir_of(target);
}

int
io_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	return replace_file(path, path, data, len, mode, NULL);
}

int
io_write_replace(const char *path, const void *data, size_t len, mode_t new_mode)
{
	char real[PATH_MAX];
	const char *target = path;
	struct stat st;
	int old = 0;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
		/* Replace what the link points at; the link stays. */
		if (realpath(path, real) == NULL) {
			if (errno != ENOENT)
				return err_set(CA_FAIL, "%s: %s", path, strerror(errno));
			return err_set(CA_FAIL, "%s: a dangling symbolic link", path);
		}
		target = real;
	}
	if (stat(target, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			return err_set(CA_FAIL, "%s: not a regular file", path);
		old = 1;
	} else if (errno != ENOENT)
		return err_set(CA_FAIL, "%s: %s", path, strerror(errno));
	/* root replacing a service's file leaves it the service's. */
	return replace_file(path, target, data, len,
	    old ? st.st_mode & 07777 : new_mode,
	    old && geteuid() == 0 ? &st : NULL);
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
