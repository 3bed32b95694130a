/* fsutil.c - atomic file replacement and sha256 hashing. */
#include "ctxd/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/base64.h>
#include <nettle/sha2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void ctxd_sha256_hex(const void *data, size_t len, char out[CTXD_SHA256_HEX_LEN + 1])
{
	uint8_t md[SHA256_DIGEST_SIZE];
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, len, data);
	sha256_digest(&c, sizeof(md), md);
	static const char hex[] = "0123456789abcdef";
	for (unsigned int i = 0; i < SHA256_DIGEST_SIZE; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[CTXD_SHA256_HEX_LEN] = '\0';
}

char *ctxd_base64_encode(const void *data, size_t len, size_t *out_len)
{
	if (len > (SIZE_MAX / 4) * 3 - 4) {
		return NULL;
	}
	size_t n = BASE64_ENCODE_RAW_LENGTH(len);
	char *out = malloc(n + 1);
	if (!out) {
		return NULL;
	}
	base64_encode_raw(out, len, data);
	out[n] = '\0';
	if (out_len) {
		*out_len = n;
	}
	return out;
}

int ctxd_base64_decode(const char *s, size_t len, void *out, size_t *out_len)
{
	struct base64_decode_ctx c;
	size_t n = len / 4 * 3;
	if (len % 4 != 0) {
		return -1;
	}
	base64_decode_init(&c);
	if (!base64_decode_update(&c, &n, out, len, s) || !base64_decode_final(&c)) {
		return -1;
	}
	*out_len = n;
	return 0;
}

static int write_full(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* A unique temp name next to the target; O_EXCL makes a collision a retry, not a race. */
static int make_temp(int dirfd, const char *name, char *tmp, size_t n)
{
	static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	for (int attempt = 0; attempt < 100; attempt++) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long long r = (unsigned long long)ts.tv_nsec * 2654435761ULL ^
				       ((unsigned long long)getpid() << 20) ^ (unsigned long long)attempt;
		char suffix[7];
		for (int i = 0; i < 6; i++) {
			suffix[i] = alnum[r % 36];
			r /= 36;
		}
		suffix[6] = '\0';
		if ((size_t)snprintf(tmp, n, ".%.200s.ctxd-%s", name, suffix) >= n) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST) {
			return fd;
		}
	}
	errno = EEXIST;
	return -1;
}

int ctxd_atomic_write(int dirfd, const char *name, const void *data, size_t len, int mode,
		      bool no_replace, struct ctxd_error *err)
{
	if (!name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..")) {
		ctxd_error_set_errno(err, 0, EINVAL, "'%s' is not a file name", name);
		return -1;
	}
	if (mode < 0) {
		struct stat st;
		mode = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)
			       ? (int)(st.st_mode & 07777)
			       : 0644;
	}
	char tmp[512];
	int fd = make_temp(dirfd, name, tmp, sizeof(tmp));
	if (fd < 0) {
		int e = errno;
		ctxd_error_set_errno(err, 0, e, "cannot create a temporary file next to '%s': %s",
				     name, strerror(e));
		return -1;
	}
	const char *step = "write";
	if (write_full(fd, data, len) < 0) {
		goto fail;
	}
	step = "set the mode of";
	if (fchmod(fd, (mode_t)mode) < 0) {
		goto fail;
	}
	step = "flush";
	if (fsync(fd) < 0) {
		goto fail;
	}
	step = "close";
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	step = "rename the temporary file over";
	if (no_replace) {
		if (renameat2(dirfd, tmp, dirfd, name, RENAME_NOREPLACE) < 0) {
			goto fail;
		}
	} else if (renameat(dirfd, tmp, dirfd, name) < 0) {
		goto fail;
	}
	/* The rename is durable only once the directory is flushed. */
	fsync(dirfd);
	return 0;
fail: {
	int e = errno;
	if (fd >= 0) {
		close(fd);
	}
	unlinkat(dirfd, tmp, 0);
	ctxd_error_set_errno(err, 0, e, "cannot %s '%s': %s", step, name, strerror(e));
	errno = e;
	return -1;
}
}

int ctxd_read_all(int fd, size_t max, char **out, size_t *len)
{
	struct stat st;
	size_t cap = 4096;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		if ((unsigned long long)st.st_size > max) {
			errno = EFBIG;
			return -1;
		}
		cap = (size_t)st.st_size + 1;
	}
	char *buf = malloc(cap + 1);
	if (!buf) {
		return -1;
	}
	size_t n = 0;
	for (;;) {
		if (n == cap) {
			if (cap > max) {
				free(buf);
				errno = EFBIG;
				return -1;
			}
			char *p = realloc(buf, cap * 2 + 1);
			if (!p) {
				free(buf);
				return -1;
			}
			buf = p;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			if (errno == EINTR) {
				continue;
			}
			int e = errno;
			free(buf);
			errno = e;
			return -1;
		}
		if (r == 0) {
			break;
		}
		n += (size_t)r;
		if (n > max) {
			free(buf);
			errno = EFBIG;
			return -1;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return 0;
}
