/* fsutil.c - atomic file replacement, the per-directory write lock, sparse-aware copies,
 * sha256 and base64. */
#include "ctxd/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <nettle/base64.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/log.h"

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
	static atomic_uint counter;
	for (int attempt = 0; attempt < 100; attempt++) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		unsigned long long r = (unsigned long long)ts.tv_nsec * 2654435761ULL ^
				       ((unsigned long long)getpid() << 20) ^
				       ((unsigned long long)atomic_fetch_add(&counter, 1) << 7) ^
				       (unsigned long long)attempt;
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
		int fd =
		    openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST) {
			return fd;
		}
	}
	errno = EEXIST;
	return -1;
}

static bool bad_name(const char *name)
{
	return !name[0] || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..");
}

int ctxd_atomic_begin(struct ctxd_atomic *a, int dirfd, const char *name, struct ctxd_error *err)
{
	a->fd = -1;
	a->dirfd = dirfd;
	a->tmp[0] = '\0';
	if (bad_name(name)) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL, "'%s' is not a file name", name);
		return -1;
	}
	a->fd = make_temp(dirfd, name, a->tmp, sizeof(a->tmp));
	if (a->fd < 0) {
		int e = errno;
		a->tmp[0] = '\0';
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "cannot create a temporary file next to '%s': %s", name,
				     strerror(e));
		errno = e;
		return -1;
	}
	return 0;
}

void ctxd_atomic_abort(struct ctxd_atomic *a)
{
	int e = errno;
	if (a->fd >= 0) {
		close(a->fd);
		a->fd = -1;
	}
	if (a->tmp[0]) {
		unlinkat(a->dirfd, a->tmp, 0);
		a->tmp[0] = '\0';
	}
	errno = e;
}

/* fchmod, fsync and close the temp file of `a`: the durable half of a commit. */
static int atomic_seal(struct ctxd_atomic *a, int mode, const char *name, struct ctxd_error *err)
{
	const char *step = "set the mode of";
	if (fchmod(a->fd, (mode_t)mode) < 0) {
		goto fail;
	}
	step = "flush";
	if (fsync(a->fd) < 0) {
		goto fail;
	}
	step = "close";
	int fd = a->fd;
	a->fd = -1;
	if (close(fd) < 0) {
		goto fail;
	}
	return 0;
fail : {
	int e = errno;
	ctxd_atomic_abort(a);
	ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "cannot %s '%s': %s", step, name, strerror(e));
	errno = e;
	return -1;
}
}

static int atomic_rename(struct ctxd_atomic *a, const char *name, bool no_replace,
			 struct ctxd_error *err)
{
	int r = no_replace ? renameat2(a->dirfd, a->tmp, a->dirfd, name, RENAME_NOREPLACE)
			   : renameat(a->dirfd, a->tmp, a->dirfd, name);
	if (r < 0) {
		int e = errno;
		ctxd_atomic_abort(a);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "cannot rename the temporary file over '%s': %s", name,
				     strerror(e));
		errno = e;
		return -1;
	}
	a->tmp[0] = '\0';
	/* The rename is durable only once the directory is flushed. */
	fsync(a->dirfd);
	return 0;
}

int ctxd_atomic_commit(struct ctxd_atomic *a, const char *name, int mode, bool no_replace,
		       struct ctxd_error *err)
{
	if (mode < 0) {
		struct stat st;
		mode = fstatat(a->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)
			   ? (int)(st.st_mode & 07777)
			   : 0644;
	}
	if (atomic_seal(a, mode, name, err) < 0) {
		return -1;
	}
	return atomic_rename(a, name, no_replace, err);
}

int ctxd_atomic_write(int dirfd, const char *name, const void *data, size_t len, int mode,
		      bool no_replace, struct ctxd_error *err)
{
	struct ctxd_atomic a;
	if (ctxd_atomic_begin(&a, dirfd, name, err) < 0) {
		return -1;
	}
	if (write_full(a.fd, data, len) < 0) {
		int e = errno;
		ctxd_atomic_abort(&a);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "cannot write '%s': %s", name,
				     strerror(e));
		errno = e;
		return -1;
	}
	return ctxd_atomic_commit(&a, name, mode, no_replace, err);
}

/* ---- the write lock ---------------------------------------------------------------- */

/* Process-local stand-in where the file system cannot flock a directory (NFS emulates
 * flock with POSIX locks, which need a descriptor open for writing). */
#define LOCK_STRIPES 64
static pthread_mutex_t stripes[LOCK_STRIPES] = {
#define M PTHREAD_MUTEX_INITIALIZER
    M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
    M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M, M,
#undef M
};
static atomic_bool fallback_logged;

static pthread_mutex_t *stripe_of(const struct stat *st)
{
	uint64_t h = ((uint64_t)st->st_dev * 0x9E3779B97F4A7C15ULL) ^ (uint64_t)st->st_ino;
	h ^= h >> 29;
	h *= 0xBF58476D1CE4E5B9ULL;
	return &stripes[(h >> 32) % LOCK_STRIPES];
}

/* Open `dirfd` itself for locking and stat it. Returns the fd or -1 with err set. */
static int lock_open(int dirfd, struct stat *st, struct ctxd_error *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, st) < 0) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
		}
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "cannot lock the directory for writing (%s); nothing was "
				     "changed",
				     e == EACCES ? "it is not readable, and the lock needs that"
						 : strerror(e));
		errno = e;
		return -1;
	}
	return fd;
}

static int lock_take(int fd, const struct stat *st, struct ctxd_dir_lock *lk,
		     struct ctxd_error *err)
{
	while (flock(fd, LOCK_EX) < 0) {
		int e = errno;
		if (e == EINTR) {
			continue;
		}
		if (e == EBADF || e == ENOLCK || e == EOPNOTSUPP || e == EINVAL) {
			if (!atomic_exchange(&fallback_logged, true)) {
				ctxd_warn("flock on a directory failed (%s): writers in this "
					  "process still exclude each other, but other processes "
					  "are not locked out on this file system",
					  strerror(e));
			}
			close(fd);
			lk->fd = -1;
			lk->mu = stripe_of(st);
			pthread_mutex_lock(lk->mu);
			return 0;
		}
		close(fd);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "cannot lock the directory for writing: %s; nothing was "
				     "changed",
				     strerror(e));
		errno = e;
		return -1;
	}
	lk->fd = fd;
	lk->mu = NULL;
	return 0;
}

int ctxd_dir_lock(int dirfd, struct ctxd_dir_lock *lk, struct ctxd_error *err)
{
	struct stat st;
	lk->fd = -1;
	lk->mu = NULL;
	int fd = lock_open(dirfd, &st, err);
	return fd < 0 ? -1 : lock_take(fd, &st, lk, err);
}

static bool same_stripe(const struct ctxd_dir_lock *a, const struct stat *st)
{
	return a->mu && a->mu == stripe_of(st);
}

int ctxd_dir_lock_pair(int a, int b, struct ctxd_dir_lock lk[2], struct ctxd_error *err)
{
	struct stat sa, sb;
	lk[0] = lk[1] = (struct ctxd_dir_lock){.fd = -1, .mu = NULL};
	int fa = lock_open(a, &sa, err);
	if (fa < 0) {
		return -1;
	}
	int fb = lock_open(b, &sb, err);
	if (fb < 0) {
		close(fa);
		return -1;
	}
	if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) {
		close(fb);
		return lock_take(fa, &sa, &lk[0], err);
	}
	/* A fixed order (device, inode) so two movers in opposite directions cannot
	 * deadlock. */
	bool swap = sa.st_dev > sb.st_dev || (sa.st_dev == sb.st_dev && sa.st_ino > sb.st_ino);
	int f1 = swap ? fb : fa, f2 = swap ? fa : fb;
	struct stat *s1 = swap ? &sb : &sa, *s2 = swap ? &sa : &sb;
	if (lock_take(f1, s1, &lk[0], err) < 0) {
		close(f2);
		return -1;
	}
	if (same_stripe(&lk[0], s2)) {
		close(f2); /* the fallback mutex already held covers both */
		return 0;
	}
	if (lock_take(f2, s2, &lk[1], err) < 0) {
		ctxd_dir_unlock(&lk[0]);
		return -1;
	}
	return 0;
}

void ctxd_dir_unlock(struct ctxd_dir_lock *lk)
{
	if (lk->fd >= 0) {
		close(lk->fd); /* the last descriptor of the open file description: unlocked */
		lk->fd = -1;
	}
	if (lk->mu) {
		pthread_mutex_unlock(lk->mu);
		lk->mu = NULL;
	}
}

/* ---- sparse-aware copy -------------------------------------------------------------- */

#define COPY_CHUNK ((size_t)1 << 20)

/* Copy src[off, off + n) to the same offsets of dst. Returns 0 or -errno. */
static int copy_range(int src, int dst, off_t off, off_t n, bool (*stop)(const void *),
		      const void *ud)
{
	static const int plain[] = {EXDEV, ENOSYS, EINVAL, EOPNOTSUPP, EBADF};
	bool use_read = false;
	char *buf = NULL;
	int rc = 0;
	while (n > 0) {
		if (stop && stop(ud)) {
			rc = -ECANCELED;
			break;
		}
		size_t want = (uint64_t)n < COPY_CHUNK ? (size_t)n : COPY_CHUNK;
		ssize_t k;
		if (!use_read) {
			off_t in = off, out = off;
			k = copy_file_range(src, &in, dst, &out, want, 0);
			if (k < 0) {
				for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
					use_read = use_read || errno == plain[i];
				}
				if (use_read) {
					continue;
				}
			}
		} else {
			if (!buf && !(buf = malloc(COPY_CHUNK))) {
				rc = -ENOMEM;
				break;
			}
			k = pread(src, buf, want, off);
			if (k > 0) {
				ssize_t w = 0;
				while (w < k) {
					ssize_t x = pwrite(dst, buf + w, (size_t)(k - w), off + w);
					if (x < 0 && errno != EINTR) {
						rc = -errno;
						break;
					}
					w += x > 0 ? x : 0;
				}
				if (rc < 0) {
					break;
				}
			}
		}
		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			rc = -errno;
			break;
		}
		if (k == 0) {
			break; /* the source shrank under us: copy what there is */
		}
		off += k;
		n -= k;
	}
	free(buf);
	return rc;
}

/* The next data segment [*d, *h) of `fd` at or after `pos` and before `size`: 1, or 0 when
 * only a hole (or nothing) remains, or -errno. Where the file system cannot tell, the rest
 * of the file is one segment. */
static int next_data(int fd, off_t pos, off_t size, off_t *d, off_t *h)
{
	if (pos >= size) {
		return 0;
	}
	*d = lseek(fd, pos, SEEK_DATA);
	if (*d < 0) {
		if (errno == ENXIO) {
			return 0;
		}
		if (errno != EINVAL && errno != EOPNOTSUPP) {
			return -errno;
		}
		*d = pos;
	}
	if (*d >= size) {
		return 0;
	}
	*h = lseek(fd, *d, SEEK_HOLE);
	if (*h < 0 || *h > size) {
		*h = size;
	}
	return 1;
}

int ctxd_copy_sparse(int src, int dst, off_t size, uint64_t max_data, uint64_t *data,
		     bool (*stop)(const void *ud), const void *ud)
{
	uint64_t total = 0;
	off_t d = 0, h = 0;
	int rc;
	for (off_t pos = 0; (rc = next_data(src, pos, size, &d, &h)) == 1; pos = h) {
		total += (uint64_t)(h - d);
		if (total > max_data) {
			rc = -EFBIG;
			break;
		}
		if ((rc = copy_range(src, dst, d, h - d, stop, ud)) < 0) {
			break;
		}
	}
	if (rc == 0 && ftruncate(dst, size) < 0) {
		rc = -errno; /* the trailing hole, and the size */
	}
	if (data) {
		*data = total;
	}
	return rc;
}

uint64_t ctxd_data_bytes(int fd, off_t size)
{
	uint64_t total = 0;
	off_t d = 0, h = 0, pos = 0;
	int rc;
	for (; (rc = next_data(fd, pos, size, &d, &h)) == 1; pos = h) {
		total += (uint64_t)(h - d);
	}
	return rc < 0 ? total + (uint64_t)(size - pos) : total;
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
