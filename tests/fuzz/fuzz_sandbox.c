/* fuzz_sandbox.c - path resolution inside a sandbox tree (ctxd_sandbox_locate,
 * ctxd_sandbox_open, ctxd_sandbox_open_parent), with openat2 and with the fallback walk.
 *
 * A temp tree is built once: two roots side by side (root/, root2/) next to an outside/
 * directory, with symlinks that stay inside (relative, absolute to the root itself,
 * through "..") and symlinks that leave (to ../outside, to /etc, through a chain), loops
 * and dangling links. Input layout: byte 0 holds flags (bit 0: the forced-walk sandbox;
 * bit 1: nofollow_last; bit 2: O_PATH; bit 3: O_DIRECTORY; bit 4: also open_parent;
 * bits 5-6: a prefix put before the path: none, the root, root2 or the parent of both);
 * the rest is the user path. Read-only opens only, so the tree never changes.
 * Checked: a located path is lexically clean; every fd returned names (by
 * /proc/self/fd readlink) the located root or something beneath it; open_parent returns
 * a directory beneath the root and a plain final name.
 */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/log.h"
#include "ctxd/sandbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char base[256], root[300], root2[300];
static struct ctxd_sandbox *sb_fast, *sb_walk;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void cleanup(void)
{
	ctxd_sandbox_destroy(sb_fast);
	ctxd_sandbox_destroy(sb_walk);
	if (base[0]) {
		nftw(base, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

static void mk(const char *rel, int dir)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (dir ? mkdir(p, 0755) : close(open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644))) {
		perror(p);
		abort();
	}
}

static void ln(const char *target, const char *rel)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", base, rel);
	if (symlink(target, p) < 0) {
		perror(p);
		abort();
	}
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(base, sizeof(base), "%s/ctxd-fuzz-sb-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base)) {
		perror("mkdtemp");
		abort();
	}
	char *canon = realpath(base, NULL);
	if (!canon) {
		abort();
	}
	snprintf(base, sizeof(base), "%s", canon);
	free(canon);
	atexit(cleanup);
	mk("root", 1);
	mk("root2", 1);
	mk("outside", 1);
	mk("outside/secret", 0);
	mk("root/a", 1);
	mk("root/a/b", 1);
	mk("root/a/b/c.txt", 0);
	mk("root/a/file.txt", 0);
	mk("root/dir2", 1);
	mk("root2/x", 0);
	snprintf(root, sizeof(root), "%s/root", base);
	snprintf(root2, sizeof(root2), "%s/root2", base);
	char abs_in[600];
	snprintf(abs_in, sizeof(abs_in), "%s/a", root);
	ln("a/b", "root/in");
	ln("../outside", "root/up");
	ln("/etc", "root/abs_out");
	ln(abs_in, "root/abs_in");
	ln("loop2", "root/loop1");
	ln("loop1", "root/loop2");
	ln("../../a", "root/a/b/back");
	ln("../../../outside", "root/a/b/esc");
	ln("nope", "root/dangling");
	ln(".", "root/self");
	ln("up/secret", "root/chain");
	ln("../root2/x", "root/sib");
	ln("/", "root/slash");
	ln("c.txt", "root/a/b/cl");

	struct ctxd_error err = {0};
	for (int walk = 0; walk < 2; walk++) {
		if (walk) {
			setenv("CTXD_SANDBOX_FORCE_WALK", "1", 1);
		}
		struct ctxd_sandbox *sb = ctxd_sandbox_create();
		if (!sb || ctxd_sandbox_add_root(sb, root, false, &err) < 0 ||
		    ctxd_sandbox_add_root(sb, root2, true, &err) < 0) {
			fprintf(stderr, "sandbox: %s\n", err.msg);
			abort();
		}
		ctxd_sandbox_seal(sb);
		*(walk ? &sb_walk : &sb_fast) = sb;
		unsetenv("CTXD_SANDBOX_FORCE_WALK");
	}
}

/* `fd` must name `dir` or something beneath it. */
static void check_beneath(int fd, const char *dir, const char *what, const char *input, size_t len)
{
	char link[64], target[CTXD_PATH_MAX + 64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n < 0) {
		perror(link);
		abort();
	}
	target[n] = '\0';
	size_t dl = strlen(dir);
	if (strncmp(target, dir, dl) != 0 || (target[dl] != '\0' && target[dl] != '/')) {
		fprintf(stderr, "%s escaped: input '%.*s' opened '%s', outside '%s'\n", what,
			(int)len, input, target, dir);
		abort();
	}
}

static void check_rel(const struct ctxd_sandbox_loc *loc)
{
	const char *r = loc->rel;
	if (!loc->root || r[0] == '\0' || r[0] == '/' || strstr(r, "//")) {
		fprintf(stderr, "bad rel '%s'\n", r);
		abort();
	}
	if (strcmp(r, ".") == 0) {
		return;
	}
	size_t n = strlen(r);
	if (r[n - 1] == '/' || strcmp(r, ".") == 0 || strncmp(r, "./", 2) == 0 ||
	    strstr(r, "/./") || (n >= 2 && strcmp(r + n - 2, "/.") == 0)) {
		fprintf(stderr, "rel not clean: '%s'\n", r);
		abort();
	}
	/* ".." never climbs above the root lexically */
	long depth = 0;
	for (const char *p = r; *p;) {
		const char *e = strchr(p, '/');
		size_t cl = e ? (size_t)(e - p) : strlen(p);
		depth += (cl == 2 && p[0] == '.' && p[1] == '.') ? -1 : 1;
		if (depth < 0) {
			fprintf(stderr, "rel climbs above the root: '%s'\n", r);
			abort();
		}
		p += cl + (e ? 1 : 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!sb_fast) {
		ctxd_log_set_level(CTXD_LOG_OFF);
		setup();
	}
	if (size < 1 || size > 2 * CTXD_PATH_MAX) {
		return 0;
	}
	unsigned flags = data[0];
	const struct ctxd_sandbox *sb = (flags & 1) ? sb_walk : sb_fast;
	bool nofollow = flags & 2;
	int oflags =
	    ((flags & 4) ? O_PATH : O_RDONLY | O_NONBLOCK) | ((flags & 8) ? O_DIRECTORY : 0);
	const char *prefixes[4] = {"", root, root2, base};
	const char *pre = prefixes[(flags >> 5) & 3];
	size_t pl = strlen(pre);
	size_t len = pl + (pl ? 1 : 0) + size - 1;
	char *path = malloc(len ? len : 1);
	if (!path) {
		abort();
	}
	memcpy(path, pre, pl);
	if (pl) {
		path[pl] = '/';
	}
	memcpy(path + pl + (pl ? 1 : 0), data + 1, size - 1);

	struct ctxd_sandbox_loc *loc = malloc(sizeof(*loc));
	struct ctxd_error err = {0};
	if (!loc) {
		abort();
	}
	if (ctxd_sandbox_locate(sb, path, len, loc, &err) == 0) {
		check_rel(loc);
	}
	int fd = ctxd_sandbox_open(sb, path, len, oflags, 0, nofollow, loc, &err);
	if (fd >= 0) {
		check_rel(loc);
		check_beneath(fd, loc->root->path, "open", path, len);
		close(fd);
	} else if (err.msg[0] == '\0') {
		fprintf(stderr, "open failed without a message\n");
		abort();
	}
	if (flags & 16) {
		char name[CTXD_PATH_MAX];
		fd = ctxd_sandbox_open_parent(sb, path, len, name, loc, &err);
		if (fd >= 0) {
			check_beneath(fd, loc->root->path, "open_parent", path, len);
			struct stat st;
			if (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode) || name[0] == '\0' ||
			    strchr(name, '/') || strcmp(name, ".") == 0 ||
			    strcmp(name, "..") == 0) {
				fprintf(stderr, "open_parent: bad result for '%.*s' (name '%s')\n",
					(int)len, path, name);
				abort();
			}
			close(fd);
		}
	}
	free(loc);
	free(path);
	return 0;
}
