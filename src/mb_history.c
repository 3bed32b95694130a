/* mb_history.c - the memory bank's write transaction (the bank lock, the directory write
 * lock, the expected-sha256 check, the atomic replace) and each file's history of versions.
 *
 * Concurrency: writers serialise on an exclusive flock of <bank>/.history/.lock (see
 * lock_bank), which works across processes (two ctxd servers, or anything else that honours
 * the lock) and across the worker threads of one process (each transaction opens its own
 * descriptor, and flock locks belong to the open file description). Readers take no lock:
 * files are only ever replaced by rename, so a reader sees the old or the new content, never
 * a mix.
 */
#include "ctxd/mb_history.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/strbuf.h"

#define HISTORY_DIR    ".history"
#define LOCK_NAME      ".lock"      /* inside HISTORY_DIR */
#define OLD_LOCK_NAME  ".lock"      /* in the bank itself, where earlier ctxd kept it */
#define GITIGNORE_NAME ".gitignore" /* inside HISTORY_DIR */
#define GITIGNORE_TEXT                                                                             \
	"# Written by ctxd: the memory bank's write lock and file history stay out of git.\n"      \
	"# Edit this file (rather than delete it: it is written again) to track them.\n*\n"

/* ---- history files ----------------------------------------------------------------------- */

/* Open (creating with `create`) <bank>/.history/<file>/. */
static int history_dir(int bankfd, const char *file, bool create)
{
	if (create && mkdirat(bankfd, HISTORY_DIR, 0755) < 0 && errno != EEXIST) {
		return -1;
	}
	int h = openat(bankfd, HISTORY_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (h < 0) {
		return -1;
	}
	if (create && mkdirat(h, file, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		close(h);
		errno = e;
		return -1;
	}
	int fd = openat(h, file, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int e = errno;
	close(h);
	errno = e;
	return fd;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return x < y ? -1 : x > y;
}

/* Version numbers present in a history directory, ascending (malloc'd). */
static int history_versions(int hfd, long **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	int fd = openat(hfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		char *end;
		if (de->d_name[0] < '1' || de->d_name[0] > '9') {
			continue;
		}
		errno = 0;
		long v = strtol(de->d_name, &end, 10);
		if (errno || strcmp(end, ".md") != 0) {
			continue;
		}
		if (ctxd_grow((void **)out, &cap, *n + 1, sizeof(**out), 32) < 0) {
			closedir(d);
			free(*out);
			*out = NULL;
			errno = ENOMEM;
			return -1;
		}
		(*out)[(*n)++] = v;
	}
	closedir(d);
	if (*n) {
		qsort(*out, *n, sizeof(**out), cmp_long);
	}
	return 0;
}

static int read_version(int hfd, long v, char **out, size_t *len)
{
	char name[32];
	snprintf(name, sizeof(name), "%ld.md", v);
	return ctxd_mb_read_file(hfd, name, out, len);
}

/* Record `data` as the next version; prune to `keep`. Returns the version or -1. */
static long history_add(int hfd, const char *data, size_t len, unsigned keep,
			struct ctxd_error *err)
{
	long *vs;
	size_t n;
	if (history_versions(hfd, &vs, &n)) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, errno, "cannot read the history: %s",
				     strerror(errno));
		return -1;
	}
	long next = n ? vs[n - 1] + 1 : 1;
	char name[32];
	snprintf(name, sizeof(name), "%ld.md", next);
	if (ctxd_atomic_write(hfd, name, data, len, 0644, true, err)) {
		free(vs);
		return -1;
	}
	/* n + 1 versions now; drop the oldest beyond `keep` */
	for (size_t i = 0; i + keep < n + 1 && i < n; i++) {
		snprintf(name, sizeof(name), "%ld.md", vs[i]);
		unlinkat(hfd, name, 0);
	}
	free(vs);
	return next;
}

/* The sha256 of the newest version, or "" when there is none. */
static void history_last_sha(int hfd, char sha[65])
{
	long *vs;
	size_t n;
	sha[0] = '\0';
	if (history_versions(hfd, &vs, &n) || n == 0) {
		free(vs);
		return;
	}
	char *d;
	size_t l;
	if (read_version(hfd, vs[n - 1], &d, &l) == 0) {
		ctxd_sha256_hex(d, l, sha);
		free(d);
	}
	free(vs);
}

/* ---- the write transaction --------------------------------------------------------- */

/* Open a lock file `name` in `dfd` (created when `create`) and check that it is a regular
 * file; O_NONBLOCK so that a FIFO planted under that name cannot stall the open. */
static int open_lock_file(int dfd, const char *name, bool create)
{
	int fd = openat(
	    dfd, name,
	    O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY | (create ? O_CREAT : 0), 0644);
	if (fd < 0) {
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	return fd;
}

static int flock_ex(int fd)
{
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

/* Take the bank's write lock: an exclusive flock of <bank>/.history/.lock. The lock and the
 * history live in .history/, which holds a .gitignore of "*" (written when missing), so a
 * repository that commits its bank does not show them as untracked files and the user's own
 * .gitignore is never touched. A bank last written by an older ctxd has its lock at
 * <bank>/.lock: that file is locked first (a writer still using it finishes before we go
 * on), then removed. Returns the locked descriptor (unlock and close it), or -1 with err
 * set. */
static int lock_bank(const struct ctxd_mb_dir *dir, struct ctxd_error *err)
{
	if (mkdirat(dir->fd, HISTORY_DIR, 0755) < 0 && errno != EEXIST) {
		int e = errno;
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "cannot create '%s/%s' for the bank's lock and "
				     "history: %s",
				     dir->abs, HISTORY_DIR, strerror(e));
		return -1;
	}
	int hfd = openat(dir->fd, HISTORY_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (hfd < 0) {
		int e = errno;
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "'%s/%s' is not a directory (%s); the memory bank "
				     "keeps its lock and history there: move it away",
				     dir->abs, HISTORY_DIR, strerror(e));
		return -1;
	}
	struct stat st;
	if (fstatat(hfd, GITIGNORE_NAME, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
		/* best effort: without it only `git status` is noisier */
		struct ctxd_error ignored;
		ctxd_atomic_write(hfd, GITIGNORE_NAME, GITIGNORE_TEXT, strlen(GITIGNORE_TEXT), 0644,
				  true, &ignored);
	}
	int old = open_lock_file(dir->fd, OLD_LOCK_NAME, false);
	if (old >= 0) {
		if (flock_ex(old) == 0) {
			unlinkat(dir->fd, OLD_LOCK_NAME, 0);
		}
		close(old);
	}
	int lfd = open_lock_file(hfd, LOCK_NAME, true);
	int e = errno;
	close(hfd);
	if (lfd < 0 || flock_ex(lfd) < 0) {
		if (lfd >= 0) {
			e = errno;
			close(lfd);
		}
		if (e == EINVAL) {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
					     "the bank's lock '%s/%s/%s' is not a regular file; "
					     "remove it",
					     dir->abs, HISTORY_DIR, LOCK_NAME);
		} else {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
					     "cannot lock the bank ('%s/%s/%s'): %s", dir->abs,
					     HISTORY_DIR, LOCK_NAME, strerror(e));
		}
		return -1;
	}
	return lfd;
}

/* Read `file` under the lock: *cur (NULL when it does not exist) and its sha256 (""). */
static int read_current(const struct ctxd_mb_dir *dir, const char *file, char **cur, size_t *len,
			char sha[65], struct ctxd_error *err)
{
	sha[0] = '\0';
	if (ctxd_mb_read_file(dir->fd, file, cur, len) < 0) {
		*cur = NULL;
		if (errno != ENOENT) {
			int e = errno;
			char why[400];
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "%s (in '%s')",
					     ctxd_mb_read_error(dir->fd, file, e, why, sizeof(why)),
					     dir->abs);
			return -1;
		}
		return 0;
	}
	ctxd_sha256_hex(*cur, *len, sha);
	return 0;
}

/* Replace `file` with the new content, keeping both versions in its history (a changed
 * on-disk version not yet there first). Under the locks. */
static int write_with_history(unsigned keep, const struct ctxd_mb_dir *dir, const char *file,
			      const char *cur, size_t cur_len, const char *sha, const char *neu,
			      size_t neu_len, struct ctxd_mb_result *res, struct ctxd_error *err)
{
	int hfd = keep ? history_dir(dir->fd, file, true) : -1;
	int rc = -1;
	if (hfd >= 0 && cur) {
		char last[65];
		history_last_sha(hfd, last);
		if (strcmp(last, sha) != 0 && history_add(hfd, cur, cur_len, keep, err) < 0) {
			goto out;
		}
	}
	if (ctxd_atomic_write(dir->fd, file, neu, neu_len, -1, cur == NULL, err)) {
		if (err->sys_errno == EEXIST) {
			ctxd_error_set_errno(err, CTXD_ERR_PRECONDITION, EEXIST,
					     "'%s' appeared while writing; read it and retry",
					     file);
		}
		goto out;
	}
	if (hfd >= 0) {
		long v = history_add(hfd, neu, neu_len, keep, err);
		/* the file itself is written: a history failure is not the write's failure */
		res->version = v > 0 ? v : 0;
		ctxd_error_clear(err);
	}
	rc = 0;
out:
	if (hfd >= 0) {
		close(hfd);
	}
	return rc;
}

/* The transaction's body, under the bank lock and the directory's write lock. */
static int edit_locked(const struct ctxd_mb *mb, const struct ctxd_mb_dir *dir, const char *file,
		       const char *expected, ctxd_mb_edit_fn fn, void *arg,
		       struct ctxd_mb_result *res, char *cur_sha, struct ctxd_error *err)
{
	char *cur = NULL, *neu = NULL;
	size_t cur_len = 0, neu_len = 0;
	char sha[65];
	int rc = -1;
	if (read_current(dir, file, &cur, &cur_len, sha, err)) {
		goto out;
	}
	if (cur_sha) {
		memcpy(cur_sha, sha, 65);
	}
	if (expected && strcmp(expected, sha) != 0) {
		ctxd_error_set_errno(
		    err, CTXD_ERR_PRECONDITION, 0,
		    cur ? "precondition failed: '%s' changed (expectedSha256 %.64s, "
			  "current %s); read it again and retry"
			: "precondition failed: '%s' does not exist (expectedSha256 "
			  "%.64s%s); create it with mode create",
		    file, expected, sha);
		goto out;
	}
	if (fn(arg, cur, cur_len, &neu, &neu_len, err)) {
		goto out;
	}
	memcpy(res->old_sha256, sha, 65);
	ctxd_sha256_hex(neu, neu_len, res->sha256);
	res->size = neu_len;
	if (cur && cur_len == neu_len && memcmp(cur, neu, neu_len) == 0) {
		res->unchanged = true;
		rc = 0;
		goto out;
	}
	rc = write_with_history(ctxd_mb_history_max(mb), dir, file, cur, cur_len, sha, neu, neu_len,
				res, err);
out:
	free(cur);
	free(neu);
	return rc;
}

int ctxd_mb_edit(struct ctxd_mb *mb, const struct ctxd_mb_dir *dir, const char *file,
		 const char *expected, ctxd_mb_edit_fn fn, void *arg, struct ctxd_mb_result *res,
		 char *cur_sha, struct ctxd_error *err)
{
	memset(res, 0, sizeof(*res));
	if (cur_sha) {
		cur_sha[0] = '\0';
	}
	if (dir->read_only) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EROFS,
				     "the memory bank at '%s' is in a read-only root; writes are "
				     "refused",
				     dir->abs);
		return -1;
	}
	if (!ctxd_mb_file_ok(file)) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL,
				     "argument 'file': '%.200s' is not a bank file name (letters, "
				     "digits, '.', '_', '-', ending in .md, no leading dot)",
				     file);
		return -1;
	}
	int lfd = lock_bank(dir, err);
	if (lfd < 0) {
		return -1;
	}
	/* The bank lock orders bank transactions; the directory's write lock (the one every
	 * file tool takes, in this process and others) keeps append_file and friends out
	 * between the read and the rename. Always taken after the bank lock. */
	struct ctxd_dir_lock dlk = {.fd = -1};
	int rc = ctxd_dir_lock(dir->fd, &dlk, err) < 0
		     ? -1
		     : edit_locked(mb, dir, file, expected, fn, arg, res, cur_sha, err);
	ctxd_dir_unlock(&dlk);
	flock(lfd, LOCK_UN);
	close(lfd);
	if (rc == 0 && !res->unchanged) {
		ctxd_mb_changed(mb, dir, file, res->version);
	}
	return rc;
}

/* Lines added/removed between a and b, as a multiset difference of lines. */
static uint64_t line_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	}
	return h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t *line_hashes(const char *s, size_t len, size_t *n)
{
	size_t cap = 1;
	for (size_t i = 0; i < len; i++) {
		cap += s[i] == '\n';
	}
	uint64_t *v = malloc(cap * sizeof(*v));
	*n = 0;
	if (!v) {
		return NULL;
	}
	size_t p = 0;
	while (p < len) {
		const char *nl = memchr(s + p, '\n', len - p);
		size_t e = nl ? (size_t)(nl - s) : len;
		v[(*n)++] = line_hash(s + p, e - p);
		p = e + 1;
	}
	if (*n > 1) { /* qsort needs a valid array even for 0 items */
		qsort(v, *n, sizeof(*v), cmp_u64);
	}
	return v;
}

static void diff_stat(const char *a, size_t al, const char *b, size_t bl, size_t *added,
		      size_t *removed)
{
	size_t na, nb;
	uint64_t *ha = line_hashes(a, al, &na), *hb = line_hashes(b, bl, &nb);
	size_t i = 0, j = 0, common = 0;
	while (ha && hb && i < na && j < nb) {
		if (ha[i] == hb[j]) {
			common++;
			i++;
			j++;
		} else if (ha[i] < hb[j]) {
			i++;
		} else {
			j++;
		}
	}
	*added = nb - common;
	*removed = na - common;
	free(ha);
	free(hb);
}

json_t *ctxd_mb_history(const struct ctxd_mb_dir *dir, const char *file, struct ctxd_error *err)
{
	int hfd = history_dir(dir->fd, file, false);
	if (hfd < 0) {
		if (errno == ENOENT) {
			return json_array();
		}
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, errno,
				     "cannot open the history of '%s': %s", file, strerror(errno));
		return NULL;
	}
	long *vs;
	size_t n;
	json_t *arr = json_array();
	if (!arr || history_versions(hfd, &vs, &n)) {
		close(hfd);
		json_decref(arr);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "cannot read the history of '%s'",
				     file);
		return NULL;
	}
	char *prev = NULL;
	size_t prev_len = 0;
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%ld.md", vs[i]);
		struct stat st;
		char *d;
		size_t l;
		if (fstatat(hfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    read_version(hfd, vs[i], &d, &l) < 0) {
			continue;
		}
		char sha[65], ts[32];
		ctxd_sha256_hex(d, l, sha);
		struct tm tm;
		gmtime_r(&st.st_mtim.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
		size_t add, rem;
		diff_stat(prev ? prev : "", prev_len, d, l, &add, &rem);
		json_array_append_new(arr, json_pack("{s:I, s:s, s:I, s:s, s:I, s:I}", "version",
						     (json_int_t)vs[i], "time", ts, "size",
						     (json_int_t)l, "sha256", sha, "added",
						     (json_int_t)add, "removed", (json_int_t)rem));
		free(prev);
		prev = d;
		prev_len = l;
	}
	free(prev);
	free(vs);
	close(hfd);
	return arr;
}

int ctxd_mb_version(const struct ctxd_mb_dir *dir, const char *file, long version, char **out,
		    size_t *len, struct ctxd_error *err)
{
	int hfd = history_dir(dir->fd, file, false);
	if (hfd >= 0 && read_version(hfd, version, out, len) == 0) {
		close(hfd);
		return 0;
	}
	int e = errno;
	if (e == ENOENT) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOENT,
				     "argument 'version': '%s' has no version %ld; "
				     "memory_bank_history lists the versions kept",
				     file, version);
	} else {
		char name[32], why[200];
		snprintf(name, sizeof(name), "%ld.md", version);
		ctxd_error_set_errno(
		    err, CTXD_ERR_TOOL, e, "cannot read version %ld of '%s': %s", version, file,
		    hfd >= 0 ? ctxd_mb_read_error(hfd, name, e, why, sizeof(why)) : strerror(e));
	}
	if (hfd >= 0) {
		close(hfd);
	}
	return -1;
}
