/* sandbox_walk.c - the component-by-component walk beneath a root: each component opened
 * with O_NOFOLLOW relative to the previous directory fd, ".." popped from the walk's own
 * stack (never resolved by the kernel), a symlink read and spliced into the rest of the path
 * (an absolute target only when it lands inside the same root, rewritten root-relative), at
 * most MAX_SYMLINKS links and MAX_WALK_DEPTH levels. It is the fallback where openat2 is
 * missing (ENOSYS, -Dportable=true) and the retry when RESOLVE_BENEATH refused an absolute
 * symlink (EXDEV).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/log.h"
#include "ctxd/strbuf.h"
#include "platform.h"
#include "sandbox_priv.h"

/* ---- the walk (fallback and absolute-symlink retry) ------------------------------------ */

struct walk {
	int base; /* directory everything must stay beneath; not ours to close */
	const struct root_entry *root; /* for absolute symlink targets; NULL refuses them */
	int cur;                       /* current directory fd (== base or owned) */
	dev_t *dev;                    /* dev/ino of each directory on the way down, [0] = base */
	ino_t *ino;
	size_t depth; /* index of cur in dev/ino */
	size_t cap;
};

static void walk_set_cur(struct walk *w, int fd)
{
	if (w->cur != w->base) {
		close(w->cur);
	}
	w->cur = fd;
}

static int walk_push(struct walk *w, int fd, const struct stat *st)
{
	if (w->depth + 1 >= MAX_WALK_DEPTH) {
		close(fd);
		return -ENAMETOOLONG;
	}
	if (ctxd_grow_pair((void **)&w->dev, sizeof(*w->dev), (void **)&w->ino, sizeof(*w->ino),
			   &w->cap, w->depth + 2, 64)) {
		close(fd);
		return -ENOMEM;
	}
	w->depth++;
	w->dev[w->depth] = st->st_dev;
	w->ino[w->depth] = st->st_ino;
	walk_set_cur(w, fd);
	return 0;
}

/* Step to the parent of cur, refusing to climb above base. The parent is checked against
 * the directory we actually came through, so a directory moved away mid-walk cannot lead
 * us out. */
static int walk_up(struct walk *w)
{
	if (w->depth == 0) {
		return -EXDEV;
	}
	int fd = openat(w->cur, "..", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	struct stat st;
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (st.st_dev != w->dev[w->depth - 1] || st.st_ino != w->ino[w->depth - 1]) {
		close(fd);
		return -EXDEV;
	}
	w->depth--;
	if (w->depth == 0) {
		close(fd);
		walk_set_cur(w, w->base);
	} else {
		walk_set_cur(w, fd);
	}
	return 0;
}

/* Read the symlink `name` in `dirfd` ("" with an O_PATH fd of the link itself). */
static int read_link(int dirfd, const char *name, char *out)
{
	ssize_t n = readlinkat(dirfd, name, out, CTXD_PATH_MAX);
	if (n < 0) {
		return -errno;
	}
	if (n >= CTXD_PATH_MAX) {
		return -ENAMETOOLONG;
	}
	out[n] = '\0';
	return n == 0 ? -ENOENT : 0;
}

/* Replace the path still to walk (`rest`) with `target` + "/" + rest, in `buf`. An absolute
 * target must land inside the walk's root; the walk then restarts from the root. */
static int walk_splice(struct walk *w, const char *target, const char *rest, char *buf)
{
	char tmp[CTXD_PATH_MAX];
	char clean[CTXD_PATH_MAX + 2];
	const char *t = target;
	if (target[0] == '/') {
		ctxd_sb_clean_path(target, strlen(target), clean);
		t = w->root ? ctxd_sb_under_root(clean, w->root, NULL) : NULL;
		if (!t) {
			return -EXDEV;
		}
		w->depth = 0;
		walk_set_cur(w, w->base);
	}
	int n = snprintf(tmp, sizeof(tmp), "%s%s%s", t, rest[0] ? "/" : "", rest);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		return -ENAMETOOLONG;
	}
	memcpy(buf, tmp, (size_t)n + 1);
	return 0;
}

/* Start walk `w` (its stacks allocated, w->cur = w->base): record the base directory and
 * put the path to walk into `buf` (CTXD_PATH_MAX bytes). An absolute `rel` (only with a root)
 * is treated like a symlink target. Returns 0 or -errno. */
static int walk_begin(struct walk *w, const char *rel, char *buf)
{
	struct stat st;
	if (fstat(w->base, &st) < 0) {
		return -errno;
	}
	w->dev[0] = st.st_dev;
	w->ino[0] = st.st_ino;
	if (rel[0] == '/') {
		buf[0] = '\0';
		return walk_splice(w, rel, "", buf);
	}
	size_t l = strlen(rel);
	if (l >= CTXD_PATH_MAX) {
		return -ENAMETOOLONG;
	}
	memcpy(buf, rel, l + 1);
	return 0;
}

/* Follow the symlink `target` met before `rest` of the path: count it against MAX_SYMLINKS
 * and splice target + rest into `buf` (a trailing slash after the link keeps "must be a
 * directory"). Returns 0 or -errno. */
static int walk_follow(struct walk *w, int *links, const char *target, const char *rest,
		       bool trailing_slash, char *buf)
{
	if (++*links > MAX_SYMLINKS) {
		return -ELOOP;
	}
	char rest_copy[CTXD_PATH_MAX];
	int n = snprintf(rest_copy, sizeof(rest_copy), "%s%s", rest, trailing_slash ? "/" : "");
	if (n < 0 || (size_t)n >= sizeof(rest_copy)) {
		return -ENAMETOOLONG;
	}
	return walk_splice(w, target, rest_copy, buf);
}

/* The last component `comp` of a walk (no trailing slash): open it in w->cur without
 * following a symlink. Returns the fd; or 0 with *follow set and `target` holding the link
 * to follow (a symlink that O_PATH opened, or that O_NOFOLLOW refused with ELOOP/ENOTDIR,
 * unless `nofollow_last`); or -errno. */
static int walk_last(struct walk *w, const char *comp, int flags, mode_t mode, bool nofollow_last,
		     char *target, bool *follow)
{
	struct stat st;
	int fd = openat(w->cur, comp, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd >= 0) {
		if (nofollow_last || !(flags & O_PATH)) {
			return fd;
		}
		if (fstat(fd, &st) < 0) {
			int e = errno;
			close(fd);
			return -e;
		}
		if (!S_ISLNK(st.st_mode)) {
			return fd;
		}
		int ret = read_link(fd, "", target);
		close(fd);
		*follow = ret == 0;
		return ret;
	}
	int e = errno;
	/* O_NOFOLLOW on a symlink fails with ELOOP, or ENOTDIR when O_DIRECTORY is set: then it
	 * is ours to follow. */
	if (nofollow_last || (e != ELOOP && e != ENOTDIR) ||
	    fstatat(w->cur, comp, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
		return -e;
	}
	int ret = read_link(w->cur, comp, target);
	*follow = ret == 0;
	return ret;
}

/* A component `comp` that more of the path follows (or "name/"): step into it when it is a
 * directory (0), or return 0 with *follow set and `target` holding a symlink to follow;
 * anything else is -ENOTDIR, or -errno. */
static int walk_middle(struct walk *w, const char *comp, char *target, bool *follow)
{
	struct stat st;
	int fd = openat(w->cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (S_ISDIR(st.st_mode)) {
		return walk_push(w, fd, &st);
	}
	if (!S_ISLNK(st.st_mode)) {
		close(fd);
		return -ENOTDIR;
	}
	int ret = read_link(fd, "", target);
	close(fd);
	*follow = ret == 0;
	return ret;
}

/* Open `rel` beneath `base` by walking one component at a time with O_NOFOLLOW, following
 * symlinks ourselves. Returns a new fd or -errno. */
int ctxd_sb_walk_open(int base, const struct root_entry *root, const char *rel, int flags,
		      mode_t mode, bool nofollow_last)
{
	if (rel[0] == '/' && !root) {
		return -EXDEV;
	}
	struct walk w = {.base = base, .root = root, .cur = base, .cap = 64};
	w.dev = malloc(w.cap * sizeof(*w.dev));
	w.ino = malloc(w.cap * sizeof(*w.ino));
	char *buf = malloc(CTXD_PATH_MAX);
	char *target = malloc(CTXD_PATH_MAX);
	int ret = -ENOMEM;
	if (!w.dev || !w.ino || !buf || !target) {
		goto out;
	}
	if (flags & O_NOFOLLOW) {
		nofollow_last = true;
	}
	ret = walk_begin(&w, rel, buf);
	if (ret < 0) {
		goto out;
	}

	int links = 0;
	char *p = buf;
	for (;;) {
		while (*p == '/') {
			p++;
		}
		if (*p == '\0') {
			/* Nothing left: the answer is the current directory itself. */
			int fd = openat(w.cur, ".", flags | O_CLOEXEC, mode);
			ret = fd < 0 ? -errno : fd;
			goto out;
		}
		char *comp = p;
		while (*p && *p != '/') {
			p++;
		}
		bool more = *p == '/';
		if (more) {
			*p++ = '\0';
		}
		const char *rest = p;
		while (*rest == '/') {
			rest++;
		}
		bool last = *rest == '\0';
		bool slash_after = more; /* "name/" must be a directory: follow it like a middle */

		if (strcmp(comp, ".") == 0) {
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			ret = walk_up(&w);
			if (ret < 0) {
				goto out;
			}
			continue;
		}
		if (strlen(comp) > NAME_MAX) {
			ret = -ENAMETOOLONG;
			goto out;
		}

		bool follow = false;
		if (last && !slash_after) {
			ret = walk_last(&w, comp, flags, mode, nofollow_last, target, &follow);
		} else {
			ret = walk_middle(&w, comp, target, &follow);
		}
		if (ret < 0 || (last && !slash_after && !follow)) {
			goto out; /* an error, or the last component's fd */
		}
		if (!follow) {
			continue; /* a directory: stepped into it */
		}
		/* here `target` holds a symlink to follow */
		ret = walk_follow(&w, &links, target, rest, slash_after && last, buf);
		if (ret < 0) {
			goto out;
		}
		p = buf;
	}
out:
	if (w.cur != base) {
		close(w.cur);
	}
	free(w.dev);
	free(w.ino);
	free(buf);
	free(target);
	return ret;
}
