/* fs_write.c - write_file, and what every writing file tool shares (the directory write
 * lock, write targets, reading the existing file, the expectedSha256 check). The other
 * writing tools are in fs_edit.c (edit_file, with fs_diff.c) and fs_ops.c (append_file,
 * copy_file, move_file, delete_file, create_directory).
 *
 * Confinement: every change is made with *at() calls on a directory fd that
 * ctxd_sandbox_open_parent returned, so the kernel resolved (and confined) every component
 * but the last one, and the last one is acted on as a name in that directory. Tools that
 * change a file's content (write, edit, append, copy's destination) follow a final symlink
 * only when its target lies inside a root: the target is re-located through the sandbox
 * like a user path, so a link pointing outside (dangling or not) is refused and nothing is
 * ever created outside. move_file and delete_file act on a link itself.
 *
 * Every change of a directory entry (replace, create, rename, unlink) holds that
 * directory's write lock (ctxd_dir_lock, an flock shared with the memory bank and other
 * ctxd processes) from before the file is read until after the rename, so concurrent
 * writers to one file never lose a successful write and an expectedSha256 check cannot be
 * overtaken. Replacements go through ctxd_atomic_write / ctxd_atomic_begin+commit (temp
 * file, fsync, rename, fsync of the directory): append_file too, so no write ever changes an
 * inode in place - a hard link to the file keeps the old content.
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

#define EDIT_MAX  ((size_t)64 << 20) /* largest file edit_file/write_file reads */
#define LINK_HOPS 8

/* ---- locking, targets ------------------------------------------------------------- */

/* Take the write lock of the directory `dfd` (ctxd_dir_lock): NULL, or an error result. */
json_t *ctxd_fs_lock_dir(int dfd, const struct ctxd_sandbox_loc *loc, struct ctxd_dir_lock *lk)
{
	struct ctxd_error err = {0};
	if (ctxd_dir_lock(dfd, lk, &err) < 0) {
		return ctxd_fs_fail("'%s': %s", loc->abs, err.msg);
	}
	return NULL;
}

/* The hard-link policy for the entry `name` in `dfd`: NULL, or an error result. */
json_t *ctxd_fs_refuse_hardlink(int dfd, const char *name, const struct ctxd_sandbox_loc *loc)
{
	struct ctxd_error err = {0};
	if (ctxd_sandbox_check_links(dfd, name, loc->abs, &err) < 0) {
		return ctxd_fs_fail("%s", err.msg);
	}
	return NULL;
}

/* Why a write to `loc` is refused, or NULL when allowed. */
json_t *ctxd_fs_refuse_read_only(const struct ctxd_sandbox_loc *loc)
{
	if (ctxd_sandbox_loc_read_only(loc)) {
		return ctxd_fs_fail(
		    "'%s' is inside the read-only directory '%s'; writing tools cannot "
		    "change it",
		    loc->abs, loc->root->path);
	}
	return NULL;
}

json_t *ctxd_fs_locate_failed(const char *what, const char *path, const struct ctxd_error *err)
{
	(void)path;
	return ctxd_fs_fail("%s%s", what, err->msg);
}

/* The directory fd and final name a content write to `path` should change. A final symlink
 * is followed while its target stays inside a root (re-located as a user path, at most
 * LINK_HOPS times); otherwise the call fails. `loc` describes the final target. Returns the
 * fd (caller closes) or -1 with *res set to an error result. */
int ctxd_fs_write_target(const struct ctxd_tool_ctx *ctx, const char *path, size_t plen,
			 char name[CTXD_PATH_MAX], struct ctxd_sandbox_loc *loc, json_t **res)
{
	struct ctxd_error err = {0};
	char cur[CTXD_PATH_MAX];
	if (plen >= sizeof(cur)) {
		plen = sizeof(cur); /* the sandbox refuses it as too long */
	}
	int dfd = ctxd_sandbox_open_parent(ctx->sandbox, path, plen, name, loc, &err);
	if (dfd < 0) {
		*res = ctxd_fs_locate_failed("", path, &err);
		return -1;
	}
	for (int hop = 0;; hop++) {
		struct stat st;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
			break;
		}
		if (hop == LINK_HOPS) {
			close(dfd);
			*res = ctxd_fs_fail("'%s': too many levels of symbolic links", loc->abs);
			return -1;
		}
		char target[CTXD_PATH_MAX];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			int e = errno;
			close(dfd);
			*res =
			    ctxd_fs_fail("cannot read the symlink '%s': %s", loc->abs, strerror(e));
			return -1;
		}
		target[n] = '\0';
		int k;
		if (target[0] == '/') {
			k = snprintf(cur, sizeof(cur), "%s", target);
		} else {
			const char *slash = strrchr(loc->abs, '/');
			int dl = slash ? (int)(slash - loc->abs) : 0;
			k = snprintf(cur, sizeof(cur), "%.*s/%s", dl, loc->abs, target);
		}
		char shown[CTXD_PATH_MAX];
		snprintf(shown, sizeof(shown), "%s", loc->abs);
		close(dfd);
		if (k < 0 || (size_t)k >= sizeof(cur)) {
			*res =
			    ctxd_fs_fail("'%s' is a symlink whose target path is too long", shown);
			return -1;
		}
		dfd = ctxd_sandbox_open_parent(ctx->sandbox, cur, (size_t)k, name, loc, &err);
		if (dfd < 0) {
			*res = ctxd_fs_fail(
			    "'%s' is a symlink to '%s', which is outside the allowed "
			    "directories or not reachable (%s); refusing to write through "
			    "it",
			    shown, target, err.msg);
			return -1;
		}
	}
	if ((*res = ctxd_fs_refuse_hardlink(dfd, name, loc))) {
		close(dfd);
		return -1;
	}
	return dfd;
}

/* Read the regular file `name` in `dfd` (not following a symlink). Returns 0 with *buf
 * (caller frees) / *len, 1 when it does not exist, or -1 with *res set. */
int ctxd_fs_read_existing(int dfd, const char *name, const struct ctxd_sandbox_loc *loc, char **buf,
			  size_t *len, mode_t *mode, json_t **res)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			return 1;
		}
		int e = errno;
		*res = ctxd_fs_fail("cannot open '%s': %s", loc->abs,
				    e == ELOOP ? "it is a symlink" : strerror(e));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*res = S_ISDIR(st.st_mode)
			   ? ctxd_fs_fail("'%s' is a directory, not a file", loc->abs)
			   : ctxd_fs_fail("'%s' is not a regular file", loc->abs);
		return -1;
	}
	if (mode) {
		*mode = st.st_mode & 07777;
	}
	if (ctxd_read_all(fd, EDIT_MAX, buf, len) < 0) {
		int e = errno;
		close(fd);
		*res = e == EFBIG ? ctxd_fs_fail("'%s' is larger than %zu MiB; refusing to load it",
						 loc->abs, EDIT_MAX >> 20)
				  : ctxd_fs_fail("cannot read '%s': %s", loc->abs, strerror(e));
		return -1;
	}
	close(fd);
	return 0;
}

/* Compare `expected` with the sha256 of the current content (NULL data = missing file). */
json_t *ctxd_fs_check_sha(const char *expected, const char *data, size_t len, bool exists,
			  const struct ctxd_sandbox_loc *loc)
{
	if (!expected) {
		return NULL;
	}
	if (!exists) {
		return ctxd_fs_fail(
		    "'%s' does not exist, but expectedSha256 was given; it was deleted "
		    "or moved since it was read",
		    loc->abs);
	}
	char now[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex(data, len, now);
	if (strcasecmp(now, expected) != 0) {
		return ctxd_fs_fail(
		    "'%s' changed since it was read (expectedSha256 %s, current sha256 "
		    "%s); read it again and redo the change",
		    loc->abs, expected, now);
	}
	return NULL;
}

const char *ctxd_fs_opt_str(json_t *args, const char *key, size_t *len)
{
	json_t *j = json_object_get(args, key);
	if (!json_is_string(j)) {
		return NULL;
	}
	if (len) {
		*len = json_string_length(j);
	}
	return json_string_value(j);
}

int ctxd_fs_content_target(const struct ctxd_tool_ctx *ctx, json_t *args, const char **content,
			   size_t *clen, char name[CTXD_PATH_MAX], struct ctxd_sandbox_loc *loc,
			   struct ctxd_dir_lock *lk, json_t **res)
{
	const char *path;
	size_t plen;
	*clen = 0;
	if (!ctxd_fs_get_path(args, &path, &plen)) {
		*res = ctxd_fs_fail("argument 'path' is required");
		return -1;
	}
	*content = ctxd_fs_opt_str(args, "content", clen);
	if (!*content) {
		*res = ctxd_fs_fail("argument 'content' is required");
		return -1;
	}
	int dfd = ctxd_fs_write_target(ctx, path, plen, name, loc, res);
	if (dfd >= 0 &&
	    ((*res = ctxd_fs_refuse_read_only(loc)) || (*res = ctxd_fs_lock_dir(dfd, loc, lk)))) {
		close(dfd);
		return -1;
	}
	return dfd;
}

/* ---- write_file ------------------------------------------------------------------- */

json_t *ctxd_fs_write_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *content;
	size_t clen;
	const char *expected = ctxd_fs_opt_str(args, "expectedSha256", NULL);
	char name[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc loc;
	json_t *res = NULL;
	struct ctxd_dir_lock lk;
	int dfd = ctxd_fs_content_target(ctx, args, &content, &clen, name, &loc, &lk, &res);
	if (dfd < 0) {
		return res;
	}
	struct stat st;
	bool exists = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (exists && S_ISDIR(st.st_mode)) {
		res = ctxd_fs_fail("'%s' is a directory; write_file writes files", loc.abs);
		goto out;
	}
	if (expected) {
		char *old = NULL;
		size_t olen = 0;
		int rc = ctxd_fs_read_existing(dfd, name, &loc, &old, &olen, NULL, &res);
		if (rc < 0) {
			goto out;
		}
		res = ctxd_fs_check_sha(expected, old, olen, rc == 0, &loc);
		free(old);
		if (res) {
			goto out;
		}
	}
	struct ctxd_error err = {0};
	if (ctxd_atomic_write(dfd, name, content, clen, -1, false, &err) < 0) {
		res = ctxd_fs_fail("cannot write '%s': %s", loc.abs, err.msg);
		goto out;
	}
	char sha[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex(content, clen, sha);
	char msg[CTXD_PATH_MAX + 128];
	snprintf(msg, sizeof(msg), "%s %s (%zu bytes)", exists ? "Wrote" : "Created", loc.abs,
		 clen);
	res = ctxd_tool_result(msg, json_pack("{s:s, s:I, s:s, s:b}", "path", loc.abs, "bytes",
					      (json_int_t)clen, "sha256", sha, "created", !exists));
out:
	ctxd_dir_unlock(&lk);
	close(dfd);
	return res;
}
