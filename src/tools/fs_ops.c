/* fs_ops.c - the writing tools that move whole files: append_file and copy_file (a temp
 * file filled, sparse-aware and capped by limits.copy_bytes, then renamed), move_file,
 * delete_file (recursive with a depth bound) and create_directory. Each holds the write lock
 * of the directory it changes (fs_write.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/sandbox.h"
#include "fs_priv.h"
#include "fs_write_priv.h"

#define RM_MAX_DEPTH 512

/* ---- copies and appends: a temp file filled, then renamed ---------------------------- */

static bool job_stop(const void *job)
{
	return ctxd_job_cancelled(job);
}

static size_t copy_cap(const struct ctxd_tool_ctx *ctx)
{
	return ctx->cfg && ctx->cfg->max_copy_bytes ? ctx->cfg->max_copy_bytes : (size_t)1 << 30;
}

/* Why a copy of `data` bytes (holes not counted) is refused, or NULL when it fits. `why`
 * says why the call copies (may be ""). */
static json_t *over_cap(const struct ctxd_tool_ctx *ctx, const char *verb, const char *path,
			uint64_t data, const char *why)
{
	if (data <= copy_cap(ctx)) {
		return NULL;
	}
	return ctxd_fs_fail(
	    "cannot %s '%s': it holds %llu bytes of data (holes not counted), more than "
	    "limits.copy_bytes (%zu bytes) allows one call to write%s; nothing was "
	    "written",
	    verb, path, (unsigned long long)data, copy_cap(ctx), why);
}

/* A new temp file next to `name` in `dfd` holding the first `size` bytes of `src` with
 * its holes (ctxd_copy_sparse, cancellable, capped by limits.copy_bytes). Returns 0 with
 * `a` ready to commit or abort, or -errno (ECANCELED, EFBIG, ENOSPC ...) with nothing
 * left behind. */
static int fill_copy(const struct ctxd_tool_ctx *ctx, int src, off_t size, int dfd,
		     const char *name, struct ctxd_atomic *a)
{
	struct ctxd_error err = {0};
	if (ctxd_atomic_begin(a, dfd, name, &err) < 0) {
		return -err.sys_errno;
	}
	int rc = ctxd_copy_sparse(src, a->fd, size, copy_cap(ctx), NULL, job_stop, ctx->job);
	if (rc < 0) {
		ctxd_atomic_abort(a);
	}
	return rc;
}

static const char *copy_error(int rc)
{
	if (rc == -ENOSPC || rc == -EDQUOT) {
		return rc == -ENOSPC ? "No space left on device (free some space, then retry)"
				     : "Disk quota exceeded (free some space, then retry)";
	}
	return rc == -ECANCELED ? "cancelled" : strerror(-rc);
}

/* ---- append_file ------------------------------------------------------------------ */

/* pwrite all of p[0..n) at `off`. Returns 0 or -1 with errno set. */
static int pwrite_all(int fd, const char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, off);
		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += k;
	}
	return 0;
}

/* An append is a replacement like write_file's: the old content (holes kept) and the new
 * bytes go to a temp file that is renamed over the name, all under the directory's write
 * lock. A crash or a full disk leaves the old file or the whole new one, never a torn
 * tail, and the rename gives the name a new inode, so a hard link to the file (perhaps
 * from outside every root) keeps the old content instead of being changed through it. */
json_t *ctxd_fs_append_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *content;
	size_t clen;
	char name[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc loc;
	json_t *res = NULL;
	struct ctxd_dir_lock lk = {.fd = -1};
	int dfd = ctxd_fs_content_target(ctx, args, &content, &clen, name, &loc, &lk, &res);
	if (dfd < 0) {
		return res;
	}
	struct ctxd_atomic a = {.fd = -1};
	struct ctxd_error err = {0};
	struct stat st = {.st_mode = S_IFREG | 0644};
	int src = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (src < 0 && errno != ENOENT) {
		int e = errno;
		res = ctxd_fs_fail("cannot open '%s' for appending: %s", loc.abs,
				   e == ELOOP ? "it is a symlink" : strerror(e));
		goto out;
	}
	if (src >= 0 && (fstat(src, &st) < 0 || !S_ISREG(st.st_mode))) {
		res = S_ISDIR(st.st_mode)
			  ? ctxd_fs_fail("cannot append to '%s': it is a directory", loc.abs)
			  : ctxd_fs_fail("'%s' is not a regular file", loc.abs);
		goto out;
	}
	bool created = src < 0;
	off_t old = created ? 0 : st.st_size;
	if (!created && (res = over_cap(ctx, "append to", loc.abs, ctxd_data_bytes(src, old),
					" (an append rewrites the whole file, so that a crash "
					"never leaves it torn)"))) {
		goto out;
	}
	int rc = created ? (ctxd_atomic_begin(&a, dfd, name, &err) < 0 ? -err.sys_errno : 0)
			 : fill_copy(ctx, src, old, dfd, name, &a);
	if (rc == 0 && pwrite_all(a.fd, content, clen, old) < 0) {
		rc = -errno;
		ctxd_atomic_abort(&a);
	}
	if (rc == 0 && ctxd_atomic_commit(&a, name, (int)(st.st_mode & 07777), false, &err) < 0) {
		rc = -err.sys_errno;
	}
	if (rc < 0) {
		res = ctxd_fs_fail("cannot append to '%s': %s; the file is unchanged", loc.abs,
				   copy_error(rc));
		goto out;
	}
	char msg[CTXD_PATH_MAX + 96];
	size_t size = (size_t)old + clen;
	snprintf(msg, sizeof(msg), "Appended %zu bytes to %s (now %zu bytes)", clen, loc.abs, size);
	res = ctxd_tool_result(msg, json_pack("{s:s, s:I, s:b}", "path", loc.abs, "bytes",
					      (json_int_t)size, "created", created));
out:
	if (src >= 0) {
		close(src);
	}
	ctxd_dir_unlock(&lk);
	close(dfd);
	return res;
}

/* ---- copy_file / move_file -------------------------------------------------------- */

/* Open a writable parent for `key` (destination side): read-only refused, and an entry
 * with several links under sandbox.hardlinks: refuse. */
static int parent_rw(const struct ctxd_tool_ctx *ctx, json_t *args, const char *key,
		     char name[CTXD_PATH_MAX], struct ctxd_sandbox_loc *loc, json_t **res)
{
	size_t len = 0;
	const char *p = ctxd_fs_opt_str(args, key, &len);
	if (!p) {
		*res = ctxd_fs_fail("argument '%s' is required", key);
		return -1;
	}
	struct ctxd_error err = {0};
	int dfd = ctxd_sandbox_open_parent(ctx->sandbox, p, len, name, loc, &err);
	if (dfd < 0) {
		*res = ctxd_fs_fail("%s: %s", key, err.msg);
		return -1;
	}
	if ((*res = ctxd_fs_refuse_read_only(loc)) ||
	    (*res = ctxd_fs_refuse_hardlink(dfd, name, loc))) {
		close(dfd);
		return -1;
	}
	return dfd;
}

/* The copy is made without the lock (it may be large) and only the rename is locked: a
 * copy does not read what it replaces. */
json_t *ctxd_fs_copy_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	size_t slen = 0, dlen = 0;
	const char *src = ctxd_fs_opt_str(args, "source", &slen);
	const char *dst = ctxd_fs_opt_str(args, "destination", &dlen);
	if (!src || !dst) {
		return ctxd_fs_fail("arguments 'source' and 'destination' are required");
	}
	bool overwrite = json_is_true(json_object_get(args, "overwrite"));
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc sloc, dloc;
	int sfd = ctxd_sandbox_open(ctx->sandbox, src, slen, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0,
				    false, &sloc, &err);
	if (sfd < 0) {
		return ctxd_fs_fail("source: %s", err.msg);
	}
	struct stat st;
	if (fstat(sfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(sfd);
		return ctxd_fs_fail("source '%s' is not a regular file; copy_file copies files",
				    sloc.abs);
	}
	char name[CTXD_PATH_MAX];
	json_t *res = NULL;
	int dfd = ctxd_fs_write_target(ctx, dst, dlen, name, &dloc, &res);
	if (dfd < 0 || (res = ctxd_fs_refuse_read_only(&dloc))) {
		close(sfd);
		if (dfd >= 0) {
			close(dfd);
		}
		return res;
	}
	struct stat dt;
	if (fstatat(dfd, name, &dt, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!overwrite) {
			res =
			    ctxd_fs_fail("destination '%s' already exists; pass overwrite: true to "
					 "replace it",
					 dloc.abs);
			goto out;
		}
		if (!S_ISREG(dt.st_mode)) {
			res = ctxd_fs_fail("destination '%s' exists and is not a regular file",
					   dloc.abs);
			goto out;
		}
		if (dt.st_dev == st.st_dev && dt.st_ino == st.st_ino) {
			res = ctxd_fs_fail("source and destination are the same file ('%s')",
					   dloc.abs);
			goto out;
		}
	}
	uint64_t data = ctxd_data_bytes(sfd, st.st_size);
	if ((res = over_cap(ctx, "copy", sloc.abs, data, ""))) {
		goto out;
	}
	struct ctxd_atomic a;
	int rc = fill_copy(ctx, sfd, st.st_size, dfd, name, &a);
	if (rc == 0) {
		struct ctxd_dir_lock lk;
		if ((res = ctxd_fs_lock_dir(dfd, &dloc, &lk))) {
			ctxd_atomic_abort(&a);
			goto out;
		}
		if (ctxd_atomic_commit(&a, name, (int)(st.st_mode & 07777), !overwrite, &err) < 0) {
			rc = -err.sys_errno;
		}
		ctxd_dir_unlock(&lk);
	}
	if (rc < 0) {
		res = rc == -EEXIST ? ctxd_fs_fail("destination '%s' already exists", dloc.abs)
				    : ctxd_fs_fail("cannot copy '%s' to '%s': %s", sloc.abs,
						   dloc.abs, copy_error(rc));
		goto out;
	}
	char msg[2 * CTXD_PATH_MAX + 64];
	snprintf(msg, sizeof(msg), "Copied %s to %s (%lld bytes)", sloc.abs, dloc.abs,
		 (long long)st.st_size);
	res = ctxd_tool_result(msg, json_pack("{s:s, s:s, s:I}", "path", sloc.abs, "destination",
					      dloc.abs, "bytes", (json_int_t)st.st_size));
out:
	close(sfd);
	close(dfd);
	return res;
}

/* Across file systems: a copy (holes kept, capped) renamed into place, then the source
 * removed; both directories are locked by the caller. Returns NULL or an error result. */
static json_t *move_by_copy(const struct ctxd_tool_ctx *ctx, int sfd, const char *sname,
			    const struct stat *st, const struct ctxd_sandbox_loc *sloc, int dfd,
			    const char *dname, const struct ctxd_sandbox_loc *dloc)
{
	if (!S_ISREG(st->st_mode)) {
		return ctxd_fs_fail(
		    "'%s' and '%s' are on different file systems and only regular files "
		    "can be moved across them",
		    sloc->abs, dloc->abs);
	}
	int fd = openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		return ctxd_fs_fail("cannot open '%s': %s", sloc->abs, strerror(errno));
	}
	json_t *res = over_cap(ctx, "move", sloc->abs, ctxd_data_bytes(fd, st->st_size),
			       " (a move across file systems is a copy)");
	struct ctxd_atomic a;
	struct ctxd_error err = {0};
	int rc = res ? 0 : fill_copy(ctx, fd, st->st_size, dfd, dname, &a);
	close(fd);
	if (!res && rc == 0 &&
	    ctxd_atomic_commit(&a, dname, (int)(st->st_mode & 07777), true, &err) < 0) {
		rc = -err.sys_errno;
	}
	if (res || rc < 0) {
		return res             ? res
		       : rc == -EEXIST ? ctxd_fs_fail("destination '%s' already exists", dloc->abs)
				       : ctxd_fs_fail("cannot move '%s' to '%s': %s", sloc->abs,
						      dloc->abs, copy_error(rc));
	}
	if (unlinkat(sfd, sname, 0) < 0) {
		return ctxd_fs_fail("copied '%s' to '%s' but cannot remove the source: %s",
				    sloc->abs, dloc->abs, strerror(errno));
	}
	fsync(sfd);
	return NULL;
}

json_t *ctxd_fs_move_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	char sname[CTXD_PATH_MAX], dname[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc sloc, dloc;
	json_t *res = NULL;
	int sfd = parent_rw(ctx, args, "source", sname, &sloc, &res);
	if (sfd < 0) {
		return res;
	}
	int dfd = parent_rw(ctx, args, "destination", dname, &dloc, &res);
	if (dfd < 0) {
		close(sfd);
		return res;
	}
	struct ctxd_dir_lock lk[2];
	struct ctxd_error err = {0};
	if (ctxd_dir_lock_pair(sfd, dfd, lk, &err) < 0) {
		res = ctxd_fs_fail("cannot move '%s': %s", sloc.abs, err.msg);
		close(sfd);
		close(dfd);
		return res;
	}
	struct stat st;
	if (fstatat(sfd, sname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		res = ctxd_fs_fail("source '%s': %s", sloc.abs, strerror(errno));
		goto out;
	}
	if (renameat2(sfd, sname, dfd, dname, RENAME_NOREPLACE) == 0) {
		fsync(dfd);
		fsync(sfd);
	} else if (errno == EEXIST || errno == ENOTEMPTY) {
		res = ctxd_fs_fail(
		    "destination '%s' already exists; move_file never replaces anything "
		    "(delete it first if that is intended)",
		    dloc.abs);
		goto out;
	} else if (errno == EXDEV) {
		if ((res = move_by_copy(ctx, sfd, sname, &st, &sloc, dfd, dname, &dloc))) {
			goto out;
		}
	} else {
		res = ctxd_fs_fail("cannot move '%s' to '%s': %s", sloc.abs, dloc.abs,
				   strerror(errno));
		goto out;
	}
	char msg[2 * CTXD_PATH_MAX + 32];
	snprintf(msg, sizeof(msg), "Moved %s to %s", sloc.abs, dloc.abs);
	res = ctxd_tool_result(msg,
			       json_pack("{s:s, s:s}", "path", sloc.abs, "destination", dloc.abs));
out:
	ctxd_dir_unlock(&lk[0]);
	ctxd_dir_unlock(&lk[1]);
	close(sfd);
	close(dfd);
	return res;
}

/* ---- delete_file ------------------------------------------------------------------ */

/* Remove everything inside the directory `fd` (closed here); symlinks are unlinked, never
 * followed. Returns 0 or -errno; *count counts removed entries. */
static int rm_tree(int fd, unsigned depth, const struct ctxd_job *job, size_t *count)
{
	if (depth > RM_MAX_DEPTH) {
		close(fd);
		return -ELOOP;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int rc = 0;
	struct dirent *de;
	size_t pass = 1;
	/* Passes until one removes nothing: entries removed during a listing never make
	 * readdir skip a survivor on Linux, but a second look costs little. */
	while (rc == 0 && pass > 0) {
		pass = 0;
		rewinddir(d);
		while ((de = readdir(d))) {
			const char *n = de->d_name;
			if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) {
				continue;
			}
			if (ctxd_job_cancelled(job)) {
				rc = -ECANCELED;
				break;
			}
			bool is_dir = de->d_type == DT_DIR;
			if (de->d_type == DT_UNKNOWN) {
				struct stat st;
				is_dir = fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
					 S_ISDIR(st.st_mode);
			}
			if (is_dir) {
				int cfd = openat(dirfd(d), n,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (cfd < 0) {
					rc = -errno;
					break;
				}
				rc = rm_tree(cfd, depth + 1, job, count);
				if (rc < 0) {
					break;
				}
			}
			if (unlinkat(dirfd(d), n, is_dir ? AT_REMOVEDIR : 0) < 0) {
				rc = -errno;
				break;
			}
			(*count)++;
			pass++;
		}
	}
	closedir(d);
	return rc;
}

/* unlinkat under the directory's write lock, so a removal is never undone by a concurrent
 * replacement that read the file before it. Returns 0 or -errno; *res is set when the lock
 * could not be taken. */
static int unlink_locked(int dfd, const char *name, int flags, const struct ctxd_sandbox_loc *loc,
			 json_t **res)
{
	struct ctxd_dir_lock lk;
	if ((*res = ctxd_fs_lock_dir(dfd, loc, &lk))) {
		return -1;
	}
	int rc = unlinkat(dfd, name, flags) < 0 ? -errno : 0;
	ctxd_dir_unlock(&lk);
	return rc;
}

json_t *ctxd_fs_delete_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	char name[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc loc;
	json_t *res = NULL;
	if (!json_is_string(json_object_get(args, "path"))) {
		return ctxd_fs_fail("argument 'path' is required");
	}
	int dfd = parent_rw(ctx, args, "path", name, &loc, &res);
	if (dfd < 0) {
		return res;
	}
	bool recursive = json_is_true(json_object_get(args, "recursive"));
	struct stat st;
	size_t removed = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		res = ctxd_fs_fail("cannot delete '%s': %s", loc.abs, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!recursive) {
			res = ctxd_fs_fail(
			    "'%s' is a directory; pass recursive: true to delete it and "
			    "everything in it",
			    loc.abs);
			goto out;
		}
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int rc = fd < 0 ? -errno : rm_tree(fd, 0, ctx->job, &removed);
		if (rc == 0) {
			rc = unlink_locked(dfd, name, AT_REMOVEDIR, &loc, &res);
		}
		if (res) {
			goto out;
		}
		if (rc < 0) {
			res = ctxd_fs_fail(
			    "cannot delete '%s'%s: %s (%zu entries inside were removed)", loc.abs,
			    rc == -ECANCELED ? "" : " completely",
			    rc == -ECANCELED ? "cancelled" : strerror(-rc), removed);
			goto out;
		}
	} else {
		int rc = unlink_locked(dfd, name, 0, &loc, &res);
		if (res || rc < 0) {
			res = res ? res
				  : ctxd_fs_fail("cannot delete '%s': %s", loc.abs, strerror(-rc));
			goto out;
		}
	}
	fsync(dfd);
	char msg[CTXD_PATH_MAX + 96];
	const char *what = S_ISDIR(st.st_mode)   ? "directory"
			   : S_ISLNK(st.st_mode) ? "symlink"
						 : "file";
	if (S_ISDIR(st.st_mode)) {
		snprintf(msg, sizeof(msg), "Deleted directory %s and %zu entries inside it",
			 loc.abs, removed);
	} else {
		snprintf(msg, sizeof(msg), "Deleted %s %s", what, loc.abs);
	}
	res = ctxd_tool_result(msg, json_pack("{s:s, s:s, s:I}", "path", loc.abs, "type", what,
					      "removed", (json_int_t)removed + 1));
out:
	close(dfd);
	return res;
}

/* ---- create_directory ------------------------------------------------------------- */

json_t *ctxd_fs_create_directory(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!ctxd_fs_get_path(args, &path, &plen)) {
		return ctxd_fs_fail("argument 'path' is required");
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	if (ctxd_sandbox_locate(ctx->sandbox, path, plen, &loc, &err) < 0) {
		return ctxd_fs_fail("%s", err.msg);
	}
	json_t *res = ctxd_fs_refuse_read_only(&loc);
	if (res) {
		return res;
	}
	/* One level at a time, each through the sandbox from the root: a component that is a
	 * symlink leading out (dangling or not) makes the next open fail, so nothing is made
	 * outside. */
	size_t created = 0;
	char prefix[CTXD_PATH_MAX];
	const char *rel = loc.rel;
	size_t rl = strlen(rel);
	for (size_t i = 0; strcmp(rel, ".") != 0 && i <= rl; i++) {
		if (i < rl && rel[i] != '/') {
			continue;
		}
		int k = snprintf(prefix, sizeof(prefix), "%s/%.*s", loc.root->path, (int)i, rel);
		if (k < 0 || (size_t)k >= sizeof(prefix)) {
			return ctxd_fs_fail("path '%s' is too long", path);
		}
		const char *last = prefix + k;
		while (last > prefix && last[-1] != '/') {
			last--;
		}
		if (strcmp(last, "..") == 0) {
			continue;
		}
		char name[CTXD_PATH_MAX];
		int dfd =
		    ctxd_sandbox_open_parent(ctx->sandbox, prefix, (size_t)k, name, NULL, &err);
		if (dfd < 0) {
			return ctxd_fs_fail("cannot create '%s': %s", loc.abs, err.msg);
		}
		if (mkdirat(dfd, name, 0777) == 0) {
			created++;
			fsync(dfd);
		} else if (errno != EEXIST) {
			int e = errno;
			close(dfd);
			return ctxd_fs_fail("cannot create '%.*s/%.*s': %s",
					    (int)strlen(loc.root->path), loc.root->path, (int)i,
					    rel, strerror(e));
		}
		close(dfd);
		int fd = ctxd_sandbox_open(ctx->sandbox, prefix, (size_t)k, O_PATH | O_DIRECTORY, 0,
					   false, NULL, &err);
		if (fd < 0) {
			return ctxd_fs_fail(
			    "cannot create '%s': '%s' exists and is not a directory inside "
			    "the allowed directories (%s)",
			    loc.abs, prefix, err.msg);
		}
		close(fd);
	}
	char msg[CTXD_PATH_MAX + 64];
	snprintf(msg, sizeof(msg), created ? "Created directory %s" : "Directory %s already exists",
		 loc.abs);
	return ctxd_tool_result(
	    msg, json_pack("{s:s, s:I}", "path", loc.abs, "createdLevels", (json_int_t)created));
}
