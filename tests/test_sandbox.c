/* test_sandbox.c - path confinement on a real temp tree, through openat2 and the walk. */
#include "ctxd/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctxd_version.h"
#include "test.h"

/* Internal hook in sandbox.c: route every open through the fallback walk. */
void ctxd_sandbox_test_force_walk(bool on);

static char tmp[PATH_MAX / 2]; /* the mkdtemp directory (canonical) */
static char data[PATH_MAX];    /* tmp/data: the read-write root */
static char rodir[PATH_MAX];   /* tmp/ro: a read-only root */
static bool walk_mode;

/* printf into one of a few rotating static buffers (single-threaded test). */
__attribute__((format(printf, 1, 2))) static const char *fmt(const char *f, ...)
{
	static char bufs[8][PATH_MAX];
	static int next;
	char *b = bufs[next++ % 8];
	va_list ap;
	va_start(ap, f);
	int n = vsnprintf(b, PATH_MAX, f, ap);
	va_end(ap);
	ASSERT(n > 0 && n < PATH_MAX);
	return b;
}

static void write_file(const char *path, const char *text)
{
	tree_put(NULL, path, text);
}

static void mk_link(const char *target, const char *name)
{
	tree_symlink(target, data, name);
}

static bool exists(const char *path)
{
	return tree_exists(NULL, path);
}

static void build_tree(void)
{
	test_tmp_root(tmp, sizeof(tmp), "ctxd-sandbox");
	snprintf(data, sizeof(data), "%s/data", tmp);
	snprintf(rodir, sizeof(rodir), "%s/ro", tmp);

	ASSERT(mkdir(data, 0755) == 0);
	ASSERT(mkdir(fmt("%s/sub", data), 0755) == 0);
	ASSERT(mkdir(fmt("%s/data-evil", tmp), 0755) == 0);
	ASSERT(mkdir(fmt("%s/outside", tmp), 0755) == 0);
	ASSERT(mkdir(rodir, 0755) == 0);
	write_file(fmt("%s/file.txt", data), "hello");
	write_file(fmt("%s/sub/inner.txt", data), "inner");
	write_file(fmt("%s/data-evil/x.txt", tmp), "evil");
	write_file(fmt("%s/outside/secret.txt", tmp), "secret");
	write_file(fmt("%s/r.txt", rodir), "ro");

	/* Links that stay inside the root. */
	mk_link("file.txt", "good_link");
	mk_link("sub", "good_dirlink");
	mk_link("../file.txt", "sub/up_link");
	mk_link(fmt("%s/file.txt", data), "abs_inside");
	mk_link(fmt("%s/sub", data), "abs_inside_dir");
	mk_link("new_target.txt", "dangling_in");
	mk_link(fmt("%s/abs_created.txt", data), "abs_dangling_in");
	mk_link("good_link", "chain");
	/* Links that leave it. */
	mk_link("../outside/secret.txt", "esc_rel");
	mk_link(fmt("%s/outside/secret.txt", tmp), "esc_abs");
	mk_link(fmt("%s/outside", tmp), "esc_absdir");
	mk_link("../outside", "esc_dirlink");
	mk_link(fmt("%s/outside/nonexistent", tmp), "dangling_out");
	mk_link("../outside/created.txt", "dangling_rel_out");
	mk_link("../../outside/secret.txt", "sub/up_esc");
	mk_link(fmt("%s/../outside/secret.txt", data), "abs_dotdot_esc");
	mk_link(fmt("%s/data-evil/x.txt", tmp), "evil_link");
	mk_link("/proc/self/root/etc/hostname", "proc_link");
	mk_link("esc_rel", "chain_esc");
	mk_link("loop2", "loop1");
	mk_link("loop1", "loop2");
	/* A symlink to the root from outside, to configure the root under another spelling. */
	ASSERT(symlink(data, fmt("%s/datalink", tmp)) == 0);
}

static void remove_tree(void)
{
	ASSERT_EQ(tree_rm_rf(tmp), 0);
}

static struct ctxd_sandbox *make_sandbox(void)
{
	struct ctxd_error err;
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	ASSERT(sb != NULL);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, data, false, &err), 0);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, rodir, true, &err), 0);
	ctxd_sandbox_seal(sb);
	return sb;
}

static void expect_content(int fd, const char *want)
{
	char buf[256];
	ASSERT(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	ASSERT(n >= 0);
	buf[n] = '\0';
	ASSERT_STR_EQ(buf, want);
	close(fd);
}

/* Open `path` read-only and check the file says `want`. */
static void expect_read(const struct ctxd_sandbox *sb, const char *path, const char *want)
{
	struct ctxd_error err;
	ctxd_error_clear(&err);
	int fd = ctxd_sandbox_open(sb, path, strlen(path), O_RDONLY, 0, false, NULL, &err);
	if (fd < 0) {
		fprintf(stderr, "[%s] open '%s' failed: %s\n", walk_mode ? "walk" : "openat2", path,
			err.msg);
	}
	expect_content(fd, want);
}

/* Open `path` (len bytes) with `flags` and expect a refusal with `want_errno` and a
 * message containing `want_msg`. */
static void expect_refused_len(const struct ctxd_sandbox *sb, const char *path, size_t len,
			       int flags, int want_errno, const char *want_msg)
{
	struct ctxd_error err;
	ctxd_error_clear(&err);
	int fd = ctxd_sandbox_open(sb, path, len, flags, 0644, false, NULL, &err);
	if (fd >= 0 || err.sys_errno != want_errno || !strstr(err.msg, want_msg)) {
		fprintf(stderr, "[%s] '%s': fd %d errno %d (want %d) msg \"%s\"\n",
			walk_mode ? "walk" : "openat2", path, fd, err.sys_errno, want_errno,
			err.msg);
		abort();
	}
	ASSERT_EQ(err.kind, CTXD_ERR_TOOL);
}

static void expect_refused(const struct ctxd_sandbox *sb, const char *path, int flags,
			   int want_errno, const char *want_msg)
{
	expect_refused_len(sb, path, strlen(path), flags, want_errno, want_msg);
	/* Every message names the path it is about. */
	struct ctxd_error err;
	ASSERT(ctxd_sandbox_open(sb, path, strlen(path), flags, 0644, false, NULL, &err) < 0);
	ASSERT_CONTAINS(err.msg, path);
}

static const char *const outside_msg = "outside the allowed directories";
static const char *const symlink_msg = "escapes its root through a symlink";
static const char *const dotdot_msg = "'..' leaves the root";

static void test_sandbox_inside_works(void)
{
	struct ctxd_sandbox *sb = make_sandbox();
	expect_read(sb, "file.txt", "hello");
	expect_read(sb, fmt("%s/file.txt", data), "hello");
	expect_read(sb, fmt("%s//sub/./inner.txt", data), "inner");
	expect_read(sb, "sub/../file.txt", "hello");
	expect_read(sb, "./sub//inner.txt", "inner");
	expect_read(sb, "good_link", "hello");
	expect_read(sb, "chain", "hello");
	expect_read(sb, "good_dirlink/inner.txt", "inner");
	expect_read(sb, "good_dirlink/../file.txt", "hello");
	expect_read(sb, "sub/up_link", "hello");
	expect_read(sb, "abs_inside", "hello");
	expect_read(sb, "abs_inside_dir/inner.txt", "inner");
	expect_read(sb, fmt("%s/r.txt", rodir), "ro");

	/* `len` is honoured: the bytes after it are not part of the path. */
	struct ctxd_error err;
	const char *padded = "file.txtGARBAGE";
	expect_content(ctxd_sandbox_open(sb, padded, 8, O_RDONLY, 0, false, NULL, &err), "hello");

	/* The root itself opens as a directory. */
	struct ctxd_sandbox_loc loc;
	int fd =
	    ctxd_sandbox_open(sb, data, strlen(data), O_RDONLY | O_DIRECTORY, 0, false, &loc, &err);
	ASSERT(fd >= 0);
	ASSERT_STR_EQ(loc.rel, ".");
	ASSERT_STR_EQ(loc.abs, data);
	close(fd);

	/* nofollow_last: O_PATH gets the link itself, a real open refuses it. */
	fd = ctxd_sandbox_open(sb, "good_link", 9, O_PATH, 0, true, NULL, &err);
	ASSERT(fd >= 0);
	struct stat st;
	ASSERT(fstat(fd, &st) == 0);
	ASSERT(S_ISLNK(st.st_mode));
	close(fd);
	fd = ctxd_sandbox_open(sb, "good_link", 9, O_PATH, 0, false, NULL, &err);
	ASSERT(fd >= 0);
	ASSERT(fstat(fd, &st) == 0);
	ASSERT(S_ISREG(st.st_mode));
	close(fd);
	expect_refused(sb, "good_link", O_RDONLY | O_NOFOLLOW, ELOOP, "symbolic links");

	/* Creating inside the root, directly and through dangling links that stay inside. */
	fd = ctxd_sandbox_open(sb, "sub/created.txt", 15, O_WRONLY | O_CREAT | O_EXCL, 0644, false,
			       NULL, &err);
	ASSERT(fd >= 0);
	close(fd);
	ASSERT(exists(fmt("%s/sub/created.txt", data)));
	ASSERT(unlink(fmt("%s/sub/created.txt", data)) == 0);
	fd = ctxd_sandbox_open(sb, "dangling_in", 11, O_WRONLY | O_CREAT, 0644, false, NULL, &err);
	ASSERT(fd >= 0);
	close(fd);
	ASSERT(exists(fmt("%s/new_target.txt", data)));
	ASSERT(unlink(fmt("%s/new_target.txt", data)) == 0);
	fd = ctxd_sandbox_open(sb, "abs_dangling_in", 15, O_WRONLY | O_CREAT, 0644, false, NULL,
			       &err);
	if (fd < 0) {
		fprintf(stderr, "abs_dangling_in: %s\n", err.msg);
	}
	ASSERT(fd >= 0);
	close(fd);
	ASSERT(exists(fmt("%s/abs_created.txt", data)));
	ASSERT(unlink(fmt("%s/abs_created.txt", data)) == 0);
	ctxd_sandbox_destroy(sb);
}

static void test_sandbox_escapes_refused(void)
{
	struct ctxd_sandbox *sb = make_sandbox();
	/* Outside every root, lexically. */
	expect_refused(sb, fmt("%s/outside/secret.txt", tmp), O_RDONLY, EACCES, outside_msg);
	expect_refused(sb, fmt("%s/data-evil/x.txt", tmp), O_RDONLY, EACCES, outside_msg);
	expect_refused(sb, fmt("%s/data-evil", tmp), O_RDONLY, EACCES, outside_msg);
	expect_refused(sb, fmt("%s/dat", tmp), O_RDONLY, EACCES, outside_msg);
	expect_refused(sb, "/etc/passwd", O_RDONLY, EACCES, outside_msg);
	expect_refused(sb, "/", O_RDONLY, EACCES, outside_msg);
	/* A link from outside into the root is still outside, unless configured as a root. */
	expect_refused(sb, fmt("%s/datalink/file.txt", tmp), O_RDONLY, EACCES, outside_msg);
	/* ".." leaving the root. */
	expect_refused(sb, "../outside/secret.txt", O_RDONLY, EXDEV, dotdot_msg);
	expect_refused(sb, "..", O_RDONLY, EXDEV, dotdot_msg);
	expect_refused(sb, "sub/../../outside/secret.txt", O_RDONLY, EXDEV, dotdot_msg);
	expect_refused(sb, fmt("%s/../outside/secret.txt", data), O_RDONLY, EXDEV, dotdot_msg);
	expect_refused(sb, fmt("%s/sub/../../data-evil/x.txt", data), O_RDONLY, EXDEV, dotdot_msg);
	/* Symlinks leaving the root. */
	expect_refused(sb, "esc_rel", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "chain_esc", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "esc_abs", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "esc_absdir/secret.txt", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "esc_absdir", O_RDONLY | O_DIRECTORY, EXDEV, symlink_msg);
	expect_refused(sb, "esc_dirlink/secret.txt", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "esc_dirlink/../data/file.txt", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "sub/up_esc", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "good_dirlink/up_esc", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "abs_dotdot_esc", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "evil_link", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "dangling_out", O_RDONLY, EXDEV, symlink_msg);
	/* O_CREAT through a dangling link must not create the outside file. */
	expect_refused(sb, "dangling_out", O_WRONLY | O_CREAT, EXDEV, symlink_msg);
	ASSERT(!exists(fmt("%s/outside/nonexistent", tmp)));
	expect_refused(sb, "dangling_rel_out", O_WRONLY | O_CREAT, EXDEV, symlink_msg);
	ASSERT(!exists(fmt("%s/outside/created.txt", tmp)));
	expect_refused(sb, "esc_dirlink/made.txt", O_WRONLY | O_CREAT, EXDEV, symlink_msg);
	ASSERT(!exists(fmt("%s/outside/made.txt", tmp)));
	/* Magic and absolute links outside; loops. */
	expect_refused(sb, "proc_link", O_RDONLY, EXDEV, symlink_msg);
	expect_refused(sb, "loop1", O_RDONLY, ELOOP, "symbolic links");
	expect_refused(sb, "loop1/x", O_RDONLY, ELOOP, "symbolic links");
	/* O_PATH with following still refuses. */
	expect_refused(sb, "esc_abs", O_PATH, EXDEV, symlink_msg);
	/* Ordinary failures get clear messages. */
	expect_refused(sb, "missing.txt", O_RDONLY, ENOENT, "no such file or directory");
	expect_refused(sb, "file.txt/x", O_RDONLY, ENOTDIR, "not a directory");
	expect_refused(sb, "sub", O_WRONLY, EISDIR, "is a directory");
	expect_refused(sb, "file.txt", O_WRONLY | O_CREAT | O_EXCL, EEXIST, "already exists");
	ctxd_sandbox_destroy(sb);
}

static void test_sandbox_bad_input(void)
{
	struct ctxd_sandbox *sb = make_sandbox();
	struct ctxd_error err;
	/* NUL inside the given length. */
	expect_refused_len(sb, "file.txt\0../../etc/passwd", 25, O_RDONLY, EINVAL, "NUL byte");
	ASSERT(ctxd_sandbox_open(sb, "file.txt\0x", 10, O_RDONLY, 0, false, NULL, &err) < 0);
	ASSERT_CONTAINS(err.msg, "file.txt\\0x");
	/* Empty. */
	expect_refused_len(sb, "", 0, O_RDONLY, ENOENT, "empty");
	/* Too long for the limit. */
	static char longp[CTXD_PATH_MAX + 100];
	memset(longp, 'a', sizeof(longp) - 1);
	for (size_t i = 1; i < sizeof(longp) - 1; i += 2) {
		longp[i] = '/';
	}
	longp[sizeof(longp) - 1] = '\0';
	expect_refused_len(sb, longp, strlen(longp), O_RDONLY, ENAMETOOLONG, "path too long");
	/* Short enough alone, too long once joined to the root. */
	longp[CTXD_PATH_MAX - 2] = '\0';
	expect_refused_len(sb, longp, strlen(longp), O_RDONLY, ENAMETOOLONG, "path too long");
	/* A component the kernel finds too long. */
	char name[400];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	expect_refused_len(sb, name, strlen(name), O_RDONLY, ENAMETOOLONG, "path too long");
	ctxd_sandbox_destroy(sb);
}

static void test_sandbox_read_only(void)
{
	struct ctxd_sandbox *sb = make_sandbox();
	struct ctxd_error err;
	struct ctxd_sandbox_loc loc;
	const char *r = fmt("%s/r.txt", rodir);
	ASSERT_EQ(ctxd_sandbox_locate(sb, r, strlen(r), &loc, &err), 0);
	ASSERT(ctxd_sandbox_loc_read_only(&loc));
	ASSERT_STR_EQ(loc.root->path, rodir);
	ASSERT_EQ(ctxd_sandbox_locate(sb, "file.txt", 8, &loc, &err), 0);
	ASSERT(!ctxd_sandbox_loc_read_only(&loc));
	expect_refused(sb, r, O_WRONLY, EROFS, "read-only root");
	expect_refused(sb, fmt("%s/new.txt", rodir), O_WRONLY | O_CREAT, EROFS, "read-only root");
	expect_refused(sb, r, O_RDONLY | O_TRUNC, EROFS, "read-only root");
	ASSERT(!exists(fmt("%s/new.txt", rodir)));
	expect_read(sb, r, "ro");
	ctxd_sandbox_destroy(sb);
}

static void test_sandbox_open_parent(void)
{
	struct ctxd_sandbox *sb = make_sandbox();
	struct ctxd_error err;
	struct ctxd_sandbox_loc loc;
	char name[CTXD_PATH_MAX];
	struct stat a, b;

	int fd = ctxd_sandbox_open_parent(sb, "sub/inner.txt", 13, name, &loc, &err);
	ASSERT(fd >= 0);
	ASSERT_STR_EQ(name, "inner.txt");
	ASSERT_STR_EQ(loc.rel, "sub/inner.txt");
	ASSERT(fstat(fd, &a) == 0 && stat(fmt("%s/sub", data), &b) == 0);
	ASSERT(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	ASSERT(fstatat(fd, name, &a, 0) == 0);
	ASSERT(fsync(fd) == 0);
	close(fd);

	const char *abs = fmt("%s/file.txt", data);
	fd = ctxd_sandbox_open_parent(sb, abs, strlen(abs), name, NULL, &err);
	ASSERT(fd >= 0);
	ASSERT_STR_EQ(name, "file.txt");
	ASSERT(fstat(fd, &a) == 0 && stat(data, &b) == 0);
	ASSERT(a.st_ino == b.st_ino);
	close(fd);

	/* Through an in-root directory link; the final link is named, not followed. */
	fd = ctxd_sandbox_open_parent(sb, "good_dirlink/new.txt", 20, name, NULL, &err);
	ASSERT(fd >= 0);
	ASSERT_STR_EQ(name, "new.txt");
	ASSERT(fstat(fd, &a) == 0 && stat(fmt("%s/sub", data), &b) == 0);
	ASSERT(a.st_ino == b.st_ino);
	close(fd);
	fd = ctxd_sandbox_open_parent(sb, "esc_abs", 7, name, NULL, &err);
	ASSERT(fd >= 0);
	ASSERT_STR_EQ(name, "esc_abs");
	ASSERT(fstatat(fd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(a.st_mode));
	close(fd);

	/* Refusals. */
	ASSERT(ctxd_sandbox_open_parent(sb, ".", 1, name, NULL, &err) < 0);
	ASSERT_CONTAINS(err.msg, "root directory");
	ASSERT(ctxd_sandbox_open_parent(sb, data, strlen(data), name, NULL, &err) < 0);
	ASSERT_CONTAINS(err.msg, "root directory");
	ASSERT(ctxd_sandbox_open_parent(sb, "sub/..", 6, name, NULL, &err) < 0);
	ASSERT_CONTAINS(err.msg, "'..'");
	ASSERT(ctxd_sandbox_open_parent(sb, "esc_dirlink/x", 13, name, NULL, &err) < 0);
	ASSERT_EQ(err.sys_errno, EXDEV);
	ASSERT_CONTAINS(err.msg, symlink_msg);
	ASSERT(ctxd_sandbox_open_parent(sb, "esc_absdir/x", 12, name, NULL, &err) < 0);
	ASSERT_EQ(err.sys_errno, EXDEV);
	const char *out = fmt("%s/outside/x", tmp);
	ASSERT(ctxd_sandbox_open_parent(sb, out, strlen(out), name, NULL, &err) < 0);
	ASSERT_CONTAINS(err.msg, outside_msg);
	ASSERT(ctxd_sandbox_open_parent(sb, "../x", 4, name, NULL, &err) < 0);
	ASSERT_CONTAINS(err.msg, dotdot_msg);
	ASSERT(ctxd_sandbox_open_parent(sb, "missing/x", 9, name, NULL, &err) < 0);
	ASSERT_EQ(err.sys_errno, ENOENT);
	ctxd_sandbox_destroy(sb);
}

static void test_sandbox_openat(void)
{
	struct ctxd_sandbox *sb = make_sandbox();
	struct ctxd_error err;
	int dfd = ctxd_sandbox_open(sb, ".", 1, O_RDONLY | O_DIRECTORY, 0, false, NULL, &err);
	ASSERT(dfd >= 0);
	int sfd = ctxd_sandbox_openat(dfd, "sub", O_RDONLY | O_DIRECTORY, 0, false);
	ASSERT(sfd >= 0);
	expect_content(ctxd_sandbox_openat(sfd, "inner.txt", O_RDONLY, 0, false), "inner");
	expect_content(ctxd_sandbox_openat(dfd, "good_link", O_RDONLY, 0, false), "hello");
	expect_content(ctxd_sandbox_openat(dfd, "good_dirlink/inner.txt", O_RDONLY, 0, false),
		       "inner");

	int fd = ctxd_sandbox_openat(dfd, "good_link", O_PATH, 0, true);
	ASSERT(fd >= 0);
	struct stat st;
	ASSERT(fstat(fd, &st) == 0 && S_ISLNK(st.st_mode));
	close(fd);

	const char *bad[] = {"up_esc", "../file.txt", "/etc/passwd", "up_link"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		ASSERT_EQ(ctxd_sandbox_openat(sfd, bad[i], O_RDONLY, 0, false), -1);
		ASSERT_EQ(errno, EXDEV);
	}
	const char *bad_root[] = {"esc_rel",    "esc_abs", "esc_dirlink/secret.txt",
				  "abs_inside", "..",      "dangling_out"};
	for (size_t i = 0; i < sizeof(bad_root) / sizeof(bad_root[0]); i++) {
		errno = 0;
		ASSERT_EQ(ctxd_sandbox_openat(dfd, bad_root[i], O_RDONLY, 0, false), -1);
		ASSERT_EQ(errno, EXDEV);
	}
	ASSERT_EQ(ctxd_sandbox_openat(dfd, "dangling_out", O_WRONLY | O_CREAT, 0644, false), -1);
	ASSERT_EQ(errno, EXDEV);
	ASSERT(!exists(fmt("%s/outside/nonexistent", tmp)));
	ASSERT_EQ(ctxd_sandbox_openat(dfd, "loop1", O_RDONLY, 0, false), -1);
	ASSERT_EQ(errno, ELOOP);
	ASSERT_EQ(ctxd_sandbox_openat(dfd, "good_link", O_RDONLY, 0, true), -1);
	ASSERT_EQ(errno, ELOOP);
	ASSERT_EQ(ctxd_sandbox_openat(dfd, "nope", O_RDONLY, 0, false), -1);
	ASSERT_EQ(errno, ENOENT);
	close(sfd);
	close(dfd);
	ctxd_sandbox_destroy(sb);
}

/* The non-blocking open of the loop thread: with openat2 a cached in-root file (or an
 * in-root relative symlink to one) opens and is located as ctxd_sandbox_open locates it;
 * everything else gives -1 for the worker to retry: escapes, absolute symlinks (they need
 * the walk), missing files, write or create flags, O_PATH, refused hard links, and every
 * path in walk mode and in the portable build (they cannot promise not to wait). */
static void test_sandbox_open_cached(void)
{
	struct ctxd_sandbox *sb = make_sandbox();
	struct ctxd_error err;
	struct ctxd_sandbox_loc loc, want;
	const char *ok[] = {"file.txt", "good_link", "sub/inner.txt"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		/* the ordinary open first: the lookup is then in the kernel's caches */
		int fd =
		    ctxd_sandbox_open(sb, ok[i], strlen(ok[i]), O_RDONLY, 0, false, &want, &err);
		ASSERT(fd >= 0);
		close(fd);
		struct stat st, fst;
		fd = ctxd_sandbox_open_cached(sb, ok[i], strlen(ok[i]), O_RDONLY, &loc, &st);
		if (walk_mode || CTXD_PORTABLE_BUILD) {
			ASSERT_EQ(fd, -1);
			continue;
		}
		ASSERT(fd >= 0);
		/* the stat handed back is the opened file's */
		ASSERT_EQ(fstat(fd, &fst), 0);
		ASSERT(st.st_ino == fst.st_ino && st.st_dev == fst.st_dev && S_ISREG(st.st_mode));
		close(fd);
		ASSERT_STR_EQ(loc.abs, want.abs);
	}
	const char *refused[] = {"esc_rel",     "esc_abs",    "../outside/secret.txt",
				 "/etc/passwd", "abs_inside", "missing.txt",
				 "proc_link",   "loop1"};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ASSERT_EQ(ctxd_sandbox_open_cached(sb, refused[i], strlen(refused[i]), O_RDONLY,
						   &loc, NULL),
			  -1);
	}
	ASSERT_EQ(ctxd_sandbox_open_cached(sb, "file.txt", 8, O_WRONLY, &loc, NULL), -1);
	ASSERT_EQ(ctxd_sandbox_open_cached(sb, "file.txt", 8, O_RDWR, &loc, NULL), -1);
	ASSERT_EQ(ctxd_sandbox_open_cached(sb, "new.txt", 7, O_RDONLY | O_CREAT, &loc, NULL), -1);
	ASSERT(!exists(fmt("%s/new.txt", data)));
	ASSERT_EQ(ctxd_sandbox_open_cached(sb, "file.txt", 8, O_PATH, &loc, NULL), -1);
	ASSERT_EQ(link(fmt("%s/file.txt", data), fmt("%s/hard.txt", data)), 0);
	ctxd_sandbox_set_hardlinks(true);
	ASSERT_EQ(ctxd_sandbox_open_cached(sb, "hard.txt", 8, O_RDONLY, &loc, NULL), -1);
	ctxd_sandbox_set_hardlinks(false);
	int fd = ctxd_sandbox_open_cached(sb, "hard.txt", 8, O_RDONLY, &loc, NULL);
	ASSERT(walk_mode || CTXD_PORTABLE_BUILD ? fd == -1 : fd >= 0);
	if (fd >= 0) {
		close(fd);
	}
	ASSERT_EQ(unlink(fmt("%s/hard.txt", data)), 0);
	ctxd_sandbox_destroy(sb);
}

/* Run the confinement suites once through openat2 and once through the walk. */
static void run_both_modes(void)
{
	for (int m = 0; m < 2; m++) {
		walk_mode = m == 1;
		ctxd_sandbox_test_force_walk(walk_mode);
		fprintf(stderr, "   mode: %s\n", walk_mode ? "walk" : "openat2");
		RUN(test_sandbox_inside_works);
		RUN(test_sandbox_escapes_refused);
		RUN(test_sandbox_bad_input);
		RUN(test_sandbox_read_only);
		RUN(test_sandbox_open_parent);
		RUN(test_sandbox_openat);
		RUN(test_sandbox_open_cached);
	}
	walk_mode = false;
	ctxd_sandbox_test_force_walk(false);
}

static void test_sandbox_locate(void)
{
	struct ctxd_sandbox *sb = make_sandbox();
	struct ctxd_error err;
	struct ctxd_sandbox_loc loc;
	const char *p = fmt("%s//sub/./inner.txt/", data);
	ASSERT_EQ(ctxd_sandbox_locate(sb, p, strlen(p), &loc, &err), 0);
	ASSERT_STR_EQ(loc.rel, "sub/inner.txt");
	ASSERT_STR_EQ(loc.abs, fmt("%s/sub/inner.txt", data));
	ASSERT_EQ(ctxd_sandbox_locate(sb, "sub/../file.txt", 15, &loc, &err), 0);
	ASSERT_STR_EQ(loc.rel, "sub/../file.txt");
	ASSERT_EQ(ctxd_sandbox_locate(sb, "./", 2, &loc, &err), 0);
	ASSERT_STR_EQ(loc.rel, ".");
	ASSERT_STR_EQ(loc.abs, data);
	p = fmt("%s/", rodir);
	ASSERT_EQ(ctxd_sandbox_locate(sb, p, strlen(p), &loc, &err), 0);
	ASSERT_STR_EQ(loc.rel, ".");
	ASSERT(loc.root == ctxd_sandbox_root(sb, 1));
	p = fmt("%s/data-evil/x", tmp);
	ASSERT_EQ(ctxd_sandbox_locate(sb, p, strlen(p), &loc, &err), -1);
	ASSERT_CONTAINS(err.msg, outside_msg);
	ASSERT_EQ(err.kind, CTXD_ERR_TOOL);
	ctxd_sandbox_destroy(sb);

	/* Nested roots: the most specific one decides (its read-only flag applies). */
	sb = ctxd_sandbox_create();
	ASSERT_EQ(ctxd_sandbox_add_root(sb, data, false, &err), 0);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, fmt("%s/sub", data), true, &err), 0);
	p = fmt("%s/sub/inner.txt", data);
	ASSERT_EQ(ctxd_sandbox_locate(sb, p, strlen(p), &loc, &err), 0);
	ASSERT_STR_EQ(loc.rel, "inner.txt");
	ASSERT(ctxd_sandbox_loc_read_only(&loc));
	/* ... unless ".." leaves the nested one: then the outer root takes it. */
	p = fmt("%s/sub/../file.txt", data);
	ASSERT_EQ(ctxd_sandbox_locate(sb, p, strlen(p), &loc, &err), 0);
	ASSERT_STR_EQ(loc.rel, "sub/../file.txt");
	ASSERT(!ctxd_sandbox_loc_read_only(&loc));
	ctxd_sandbox_destroy(sb);

	/* No roots at all. */
	sb = ctxd_sandbox_create();
	ASSERT_EQ(ctxd_sandbox_locate(sb, "x", 1, &loc, &err), -1);
	ASSERT_CONTAINS(err.msg, outside_msg);
	ctxd_sandbox_destroy(sb);

	/* "/" as a root contains every absolute path. */
	sb = ctxd_sandbox_create();
	ASSERT_EQ(ctxd_sandbox_add_root(sb, "/", true, &err), 0);
	ASSERT_EQ(ctxd_sandbox_locate(sb, "/etc//passwd", 12, &loc, &err), 0);
	ASSERT_STR_EQ(loc.rel, "etc/passwd");
	ASSERT_STR_EQ(loc.abs, "/etc/passwd");
	ASSERT_EQ(ctxd_sandbox_locate(sb, "/", 1, &loc, &err), 0);
	ASSERT_STR_EQ(loc.rel, ".");
	ASSERT_STR_EQ(loc.abs, "/");
	ctxd_sandbox_destroy(sb);
}

static void test_sandbox_add_root(void)
{
	struct ctxd_error err;
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	const char *missing = fmt("%s/nope", tmp);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, missing, false, &err), -1);
	ASSERT_EQ(err.sys_errno, ENOENT);
	ASSERT_CONTAINS(err.msg, "no such directory");
	const char *file = fmt("%s/file.txt", data);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, file, false, &err), -1);
	ASSERT_EQ(err.sys_errno, ENOTDIR);
	ASSERT_CONTAINS(err.msg, "not a directory");

	/* A relative root, given with untidy slashes, is made absolute and clean. */
	char cwd[PATH_MAX];
	ASSERT(getcwd(cwd, sizeof(cwd)) != NULL);
	ASSERT(chdir(tmp) == 0);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, "./data//", true, &err), 0);
	ASSERT(chdir(cwd) == 0);
	ASSERT_EQ(ctxd_sandbox_root_count(sb), 1);
	const struct ctxd_root *r = ctxd_sandbox_root(sb, 0);
	ASSERT_STR_EQ(r->path, data);
	ASSERT_STR_EQ(r->given, data);
	ASSERT(r->read_only);
	ASSERT(r->fd >= 0);
	ASSERT(ctxd_sandbox_root(sb, 1) == NULL);

	/* The same directory under another spelling merges; read-write wins; the spelling
	 * becomes usable in user paths. */
	const char *alias = fmt("%s/datalink", tmp);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, alias, false, &err), 0);
	ASSERT_EQ(ctxd_sandbox_root_count(sb), 1);
	ASSERT(!r->read_only);
	struct ctxd_sandbox_loc loc;
	const char *via = fmt("%s/datalink/sub/inner.txt", tmp);
	ASSERT_EQ(ctxd_sandbox_locate(sb, via, strlen(via), &loc, &err), 0);
	ASSERT_STR_EQ(loc.rel, "sub/inner.txt");
	ASSERT(loc.root == r);

	/* Sealed: no more roots. */
	ctxd_sandbox_seal(sb);
	ASSERT_EQ(ctxd_sandbox_add_root(sb, rodir, true, &err), -1);
	ASSERT_EQ(err.sys_errno, EPERM);
	ASSERT_EQ(ctxd_sandbox_root_count(sb), 1);
	ctxd_sandbox_destroy(sb);
	ctxd_sandbox_destroy(NULL);
}

/* In a child: apply Landlock with the temp roots and check the kernel enforces them on
 * plain open(2). Exit codes: 0 ok, 77 unsupported, other = failing step. */
static int landlock_child(void)
{
	struct ctxd_error err;
	struct ctxd_sandbox *sb = make_sandbox();
	enum ctxd_sandbox_level lvl = ctxd_sandbox_apply_landlock(sb, NULL, &err);
	if (lvl != CTXD_SANDBOX_LANDLOCK) {
		fprintf(stderr, "   landlock unavailable: %s\n", err.msg);
		return 77;
	}
	int fd = open(fmt("%s/file.txt", data), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 1;
	}
	close(fd);
	errno = 0;
	if (open(fmt("%s/outside/secret.txt", tmp), O_RDONLY | O_CLOEXEC) >= 0 || errno != EACCES) {
		return 2;
	}
	if (open(fmt("%s/r.txt", rodir), O_WRONLY | O_CLOEXEC) >= 0 || errno != EACCES) {
		return 3;
	}
	fd = open(fmt("%s/ll.txt", data), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		return 4;
	}
	close(fd);
	if (unlink(fmt("%s/ll.txt", data)) != 0) {
		return 5;
	}
	if (mkdir(fmt("%s/outside/newdir", tmp), 0755) == 0 || errno != EACCES) {
		return 6;
	}
	fd = ctxd_sandbox_open(sb, "sub/inner.txt", 13, O_RDONLY, 0, false, NULL, &err);
	if (fd < 0) {
		return 7;
	}
	close(fd);
	ctxd_sandbox_destroy(sb);
	return 0;
}

static void test_sandbox_landlock(void)
{
	fflush(stderr);
	pid_t pid = fork();
	ASSERT(pid >= 0);
	if (pid == 0) {
		_exit(landlock_child());
	}
	int status;
	ASSERT(waitpid(pid, &status, 0) == pid);
	ASSERT(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77) {
		fprintf(stderr, "   SKIP: Landlock not supported here\n");
		return;
	}
	if (WEXITSTATUS(status) != 0) {
		fprintf(stderr, "   landlock child failed at step %d\n", WEXITSTATUS(status));
	}
	ASSERT_EQ(WEXITSTATUS(status), 0);
	ASSERT(!exists(fmt("%s/outside/newdir", tmp)));
}

/* A portable build (-Dportable=true) has no kernel sandbox and says so: apply reports path
 * confinement only, with a reason the log shows; enforce fails with ENOSYS; and every open
 * goes through the walk (no openat2), escapes still refused. */
static void test_sandbox_portable(void)
{
	struct ctxd_error err;
	struct ctxd_sandbox *sb = make_sandbox();
	ASSERT_EQ(ctxd_sandbox_apply_landlock(sb, NULL, &err), CTXD_SANDBOX_PATHS);
	ASSERT_EQ(err.sys_errno, ENOSYS);
	ASSERT_CONTAINS(err.msg, "no kernel sandbox");
	ASSERT_EQ(ctxd_sandbox_landlock_ruleset(sb, NULL, &err), -1);
	errno = 0;
	ASSERT_EQ(ctxd_sandbox_landlock_enforce(0), -1);
	ASSERT_EQ(errno, ENOSYS);
	int fd = ctxd_sandbox_open(sb, "sub/inner.txt", 13, O_RDONLY, 0, false, NULL, &err);
	ASSERT(fd >= 0);
	close(fd);
	/* symlinks out of the root, relative and absolute: refused by the walk */
	ASSERT_EQ(ctxd_sandbox_open(sb, "esc_rel", 7, O_RDONLY, 0, false, NULL, &err), -1);
	ASSERT_EQ(ctxd_sandbox_open(sb, "esc_abs", 7, O_RDONLY, 0, false, NULL, &err), -1);
	ctxd_sandbox_destroy(sb);
}

int main(void)
{
	build_tree();
	RUN(test_sandbox_locate);
	RUN(test_sandbox_add_root);
	run_both_modes();
	if (CTXD_PORTABLE_BUILD) {
		RUN(test_sandbox_portable);
	} else {
		RUN(test_sandbox_landlock);
	}
	remove_tree();
	return 0;
}
