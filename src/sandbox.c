/* sandbox.c - the allowed roots, confined path resolution and Landlock.
 *
 * Confinement never trusts a string check alone: every open goes through a root's directory
 * fd with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so the kernel itself refuses any
 * step (symlink or "..") that leaves the root. The lexical checks in locate() only exist to
 * pick the root and to give a clear message early.
 *
 * RESOLVE_BENEATH also refuses every absolute symlink, even one that points back inside the
 * root. When openat2 says EXDEV we therefore re-run the resolution with our own
 * component-by-component walk (sandbox_walk.c), which rewrites an absolute target that lands
 * inside the same root into a root-relative one and refuses everything else. The same walk is the
 * fallback for kernels without openat2 (ENOSYS) and for builds without it (-Dportable=true, other
 * systems). openat2 and Landlock themselves live behind src/platform.h (platform_linux.c,
 * platform_portable.c); nothing here calls a Linux-only interface by name.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "ctxd/sandbox.h"

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
#include "platform.h"
#include "sandbox_priv.h"

struct ctxd_sandbox {
	struct root_entry **roots;
	size_t nroots;
	bool sealed;
	char *note; /* where the root set came from, for refusals (owned, or NULL) */
};

/* sandbox.hardlinks: refuse regular files with more than one link (process-wide policy,
 * set once at start-up like Landlock). */
static atomic_bool refuse_links;

/* Test switch: route every open through the walk instead of openat2. */
static atomic_bool force_walk;
/* Set once openat2 returned ENOSYS, so later opens go straight to the walk. */
static atomic_bool openat2_missing;

/* Non-static so tests can exercise the fallback walk on a kernel that has openat2; not part
 * of the public header on purpose. */
void ctxd_sandbox_test_force_walk(bool on);

void ctxd_sandbox_test_force_walk(bool on)
{
	atomic_store(&force_walk, on);
}

/* ---- lexical helpers ------------------------------------------------------------------- */

/* Copy a user path for display: at most SHOW_MAX bytes, NUL bytes shown as "\0", "..." when
 * cut. `out` must hold SHOW_MAX + 8 bytes. */
static void show_path(const char *p, size_t len, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < len; i++) {
		if (o >= SHOW_MAX) {
			memcpy(out + o, "...", 4);
			return;
		}
		if (p[i] == '\0') {
			out[o++] = '\\';
			out[o++] = '0';
		} else {
			out[o++] = p[i];
		}
	}
	out[o] = '\0';
}

/* Lexically clean `in` (`len` bytes, no NUL inside) into `out` (at least len + 2 bytes):
 * runs of '/' collapse, "." components go, trailing '/' goes, ".." stays. An absolute path
 * stays absolute ("/" alone for the root); an empty relative result becomes ".". */
void ctxd_sb_clean_path(const char *in, size_t len, char *out)
{
	size_t o = 0;
	bool abs = len > 0 && in[0] == '/';
	if (abs) {
		out[o++] = '/';
	}
	size_t i = 0;
	while (i < len) {
		while (i < len && in[i] == '/') {
			i++;
		}
		size_t start = i;
		while (i < len && in[i] != '/') {
			i++;
		}
		size_t clen = i - start;
		if (clen == 0 || (clen == 1 && in[start] == '.')) {
			continue;
		}
		if (o > 0 && out[o - 1] != '/') {
			out[o++] = '/';
		}
		memcpy(out + o, in + start, clen);
		o += clen;
	}
	if (o == 0) {
		out[o++] = '.';
	}
	out[o] = '\0';
}

/* True when the relative, clean path `rel` climbs above its starting directory if ".." is
 * taken lexically ("a/../.." does, "a/../b" does not). */
static bool lexically_escapes(const char *rel)
{
	long depth = 0;
	const char *p = rel;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t clen = slash ? (size_t)(slash - p) : strlen(p);
		if (clen == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0) {
				return true;
			}
		} else if (!(clen == 1 && p[0] == '.') && clen > 0) {
			depth++;
		}
		p += clen;
		if (*p == '/') {
			p++;
		}
	}
	return false;
}

/* If the clean absolute path `p` is `prefix` or lies below it (component-wise, so /data
 * does not contain /data-evil), return the part after it ("" for equality), else NULL. */
static const char *under_prefix(const char *p, const char *prefix)
{
	size_t lp = strlen(prefix);
	if (lp == 1 && prefix[0] == '/') {
		return p + 1;
	}
	if (strncmp(p, prefix, lp) != 0) {
		return NULL;
	}
	if (p[lp] == '\0') {
		return p + lp;
	}
	if (p[lp] == '/') {
		return p + lp + 1;
	}
	return NULL;
}

/* The remainder of clean absolute `p` under any spelling of root `e` (longest wins), and
 * that spelling's length in *plen; NULL when `p` is not under the root. */
const char *ctxd_sb_under_root(const char *p, const struct root_entry *e, size_t *plen)
{
	const char *best = NULL;
	size_t best_len = 0;
	const char *cands[2] = {e->pub.path, e->pub.given};
	for (size_t i = 0; i < 2 + e->naliases; i++) {
		const char *c = i < 2 ? cands[i] : e->aliases[i - 2];
		const char *r = under_prefix(p, c);
		size_t lc = strlen(c);
		if (r && (!best || lc > best_len)) {
			best = r;
			best_len = lc;
		}
	}
	if (plen) {
		*plen = best_len;
	}
	return best;
}

/* ---- error messages -------------------------------------------------------------------- */

#define ERRBUF 128

/* strerror, thread-safe (GNU strerror_r may return a static string instead of `buf`). */
static const char *errstr(int e, char *buf)
{
	return strerror_r(e, buf, ERRBUF);
}

static void set_link_error(struct ctxd_error *err, const char *shown)
{
	ctxd_error_set_errno(err, CTXD_ERR_TOOL, EMLINK,
			     "'%s' is refused: " CTXD_SANDBOX_HARDLINK_WHY
			     ", so files with several links are neither read nor changed",
			     shown);
}

/* Fill `err` for a failed open of the user path `shown` (already display-safe). */
static void set_open_error(struct ctxd_error *err, int e, const char *shown)
{
	switch (e) {
	case ENOENT:
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "'%s': no such file or directory",
				     shown);
		break;
	case ENOTDIR:
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "'%s': not a directory (a component of the path "
				     "is not a directory)",
				     shown);
		break;
	case EACCES:
	case EPERM:
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "'%s': permission denied", shown);
		break;
	case EXDEV:
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "'%s' escapes its root through a symlink (outside "
				     "the allowed directories)",
				     shown);
		break;
	case ELOOP:
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "'%s': too many levels of symbolic links, or a "
				     "symlink that may not be followed here",
				     shown);
		break;
	case EISDIR:
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "'%s' is a directory", shown);
		break;
	case EEXIST:
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "'%s' already exists", shown);
		break;
	case ENAMETOOLONG:
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "'%s': path too long", shown);
		break;
	case EMLINK:
		set_link_error(err, shown);
		break;
	default: {
		char buf[ERRBUF];
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "'%s': %s", shown, errstr(e, buf));
		break;
	}
	}
}

/* ---- openat2 and the choice between it and the walk ------------------------------------ */

/* Open `rel` beneath `dirfd`. With `root` (dirfd is that root's fd), absolute symlinks
 * that land inside the root are accepted through the walk. Returns fd or -errno. */
static int confined_open_any(int dirfd, const struct root_entry *root, const char *rel, int flags,
			     mode_t mode, bool nofollow_last)
{
	if (!atomic_load_explicit(&force_walk, memory_order_relaxed) &&
	    !atomic_load_explicit(&openat2_missing, memory_order_relaxed)) {
		int r = ctxd_plat_open_beneath(dirfd, rel, flags, mode, nofollow_last);
		if (r != -ENOSYS) {
			if (r == -EXDEV && root) {
				return ctxd_sb_walk_open(dirfd, root, rel, flags, mode,
							 nofollow_last);
			}
			return r;
		}
		atomic_store(&openat2_missing, true);
		ctxd_info("openat2 is not available; using the component walk for paths");
	}
	return ctxd_sb_walk_open(dirfd, root, rel, flags, mode, nofollow_last);
}

/* confined_open_any, then the hard-link policy: a regular file with more than one link is
 * closed again and refused with -EMLINK when sandbox.hardlinks is refuse. */
static int confined_open(int dirfd, const struct root_entry *root, const char *rel, int flags,
			 mode_t mode, bool nofollow_last)
{
	int fd = confined_open_any(dirfd, root, rel, flags, mode, nofollow_last);
	struct stat st;
	if (fd >= 0 && atomic_load_explicit(&refuse_links, memory_order_relaxed) &&
	    fstat(fd, &st) == 0 && ctxd_sandbox_link_refused(&st)) {
		close(fd);
		return -EMLINK;
	}
	return fd;
}

/* ---- roots ----------------------------------------------------------------------------- */

struct ctxd_sandbox *ctxd_sandbox_create(void)
{
	struct ctxd_sandbox *sb = calloc(1, sizeof(*sb));
	if (!sb) {
		return NULL;
	}
	const char *fw = getenv("CTXD_SANDBOX_FORCE_WALK");
	if (fw && strcmp(fw, "1") == 0) {
		atomic_store(&force_walk, true);
	}
	return sb;
}

static void root_free(struct root_entry *e)
{
	if (!e) {
		return;
	}
	if (e->pub.fd >= 0) {
		close(e->pub.fd);
	}
	free(e->pub.path);
	free(e->pub.given);
	for (size_t i = 0; i < e->naliases; i++) {
		free(e->aliases[i]);
	}
	free(e->aliases);
	free(e);
}

void ctxd_sandbox_destroy(struct ctxd_sandbox *sb)
{
	if (!sb) {
		return;
	}
	for (size_t i = 0; i < sb->nroots; i++) {
		root_free(sb->roots[i]);
	}
	free(sb->roots);
	free(sb->note);
	free(sb);
}

/* Make `path` absolute against the cwd and lexically clean. Returns malloc'd or NULL. */
static char *absolute_clean(const char *path)
{
	char joined[2 * CTXD_PATH_MAX];
	if (path[0] == '/') {
		snprintf(joined, sizeof(joined), "%s", path);
	} else {
		char cwd[CTXD_PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd))) {
			return NULL;
		}
		snprintf(joined, sizeof(joined), "%s/%s", cwd, path);
	}
	size_t l = strlen(joined);
	char *out = malloc(l + 2);
	if (out) {
		ctxd_sb_clean_path(joined, l, out);
	}
	return out;
}

static bool has_alias(const struct root_entry *e, const char *given)
{
	if (strcmp(e->pub.given, given) == 0 || strcmp(e->pub.path, given) == 0) {
		return true;
	}
	for (size_t i = 0; i < e->naliases; i++) {
		if (strcmp(e->aliases[i], given) == 0) {
			return true;
		}
	}
	return false;
}

int ctxd_sandbox_add_root(struct ctxd_sandbox *sb, const char *path, bool read_only,
			  struct ctxd_error *err)
{
	char shown[SHOW_MAX + 8];
	show_path(path, strlen(path), shown);
	if (sb->sealed) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EPERM, "root '%s': the root set is sealed",
				     shown);
		return -1;
	}
	if (path[0] == '\0' || strlen(path) >= CTXD_PATH_MAX) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL, "root '%s': empty or too long",
				     shown);
		return -1;
	}
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "root '%s': no such directory",
					     shown);
		} else if (e == ENOTDIR) {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "root '%s' is not a directory",
					     shown);
		} else {
			char buf[ERRBUF];
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "root '%s': %s", shown,
					     errstr(e, buf));
		}
		return -1;
	}
	errno = 0;
	char *canon = realpath(path, NULL);
	char *given = absolute_clean(path);
	struct stat a, b;
	struct root_entry *e = NULL;
	if (!canon || !given) {
		int en = errno ? errno : ENOMEM;
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, en, "root '%s': cannot resolve the path",
				     shown);
		goto fail;
	}
	/* The fd is what confines; check the canonical name still means the same directory. */
	if (fstat(fd, &a) < 0 || stat(canon, &b) < 0 || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EAGAIN,
				     "root '%s' changed while being added", shown);
		goto fail;
	}
	for (size_t i = 0; i < sb->nroots; i++) {
		struct root_entry *old = sb->roots[i];
		if (strcmp(old->pub.path, canon) != 0) {
			continue;
		}
		old->pub.read_only = old->pub.read_only && read_only;
		if (!has_alias(old, given)) {
			char **na = realloc(old->aliases, (old->naliases + 1) * sizeof(*na));
			if (!na) {
				ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM,
						     "root '%s': out of memory", shown);
				goto fail;
			}
			old->aliases = na;
			old->aliases[old->naliases++] = given;
			given = NULL;
		}
		close(fd);
		free(canon);
		free(given);
		return 0;
	}
	e = calloc(1, sizeof(*e));
	struct root_entry **nr = realloc(sb->roots, (sb->nroots + 1) * sizeof(*nr));
	if (!e || !nr) {
		if (nr) {
			sb->roots = nr;
		}
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "root '%s': out of memory", shown);
		goto fail;
	}
	sb->roots = nr;
	e->pub.path = canon;
	e->pub.given = given;
	e->pub.fd = fd;
	e->pub.read_only = read_only;
	sb->roots[sb->nroots++] = e;
	return 0;
fail:
	free(e);
	free(canon);
	free(given);
	close(fd);
	return -1;
}

size_t ctxd_sandbox_root_count(const struct ctxd_sandbox *sb)
{
	return sb->nroots;
}

const struct ctxd_root *ctxd_sandbox_root(const struct ctxd_sandbox *sb, size_t i)
{
	return i < sb->nroots ? &sb->roots[i]->pub : NULL;
}

int ctxd_sandbox_set_note(struct ctxd_sandbox *sb, const char *note)
{
	if (sb->sealed) {
		errno = EPERM;
		return -1;
	}
	char *copy = note ? strdup(note) : NULL;
	if (note && !copy) {
		return -1;
	}
	free(sb->note);
	sb->note = copy;
	return 0;
}

const char *ctxd_sandbox_note(const struct ctxd_sandbox *sb)
{
	return sb->nroots == 0 && !sb->note ? NO_ROOTS_NOTE : sb->note;
}

void ctxd_sandbox_seal(struct ctxd_sandbox *sb)
{
	sb->sealed = true;
}

bool ctxd_sandbox_loc_read_only(const struct ctxd_sandbox_loc *loc)
{
	return loc && loc->root && loc->root->read_only;
}

/* ---- locate / open --------------------------------------------------------------------- */

static int fill_loc(const struct root_entry *e, const char *rel, struct ctxd_sandbox_loc *loc,
		    const char *shown, struct ctxd_error *err)
{
	const char *r = rel[0] ? rel : ".";
	size_t lr = strlen(r);
	/* abs = the root's path, '/' (unless the root is "/"), rel (unless it is "."); joined
	 * by hand, not snprintf: this runs for every path a tool opens */
	bool here = strcmp(r, ".") == 0;
	size_t lp = strcmp(e->pub.path, "/") == 0 && !here ? 0 : strlen(e->pub.path);
	size_t n = here ? lp : lp + 1 + lr;
	if (n >= sizeof(loc->abs) || lr >= sizeof(loc->rel)) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENAMETOOLONG, "'%s': path too long",
				     shown);
		return -1;
	}
	memcpy(loc->abs, e->pub.path, lp);
	if (!here) {
		loc->abs[lp] = '/';
		memcpy(loc->abs + lp + 1, r, lr);
	}
	loc->abs[n] = '\0';
	memcpy(loc->rel, r, lr + 1);
	loc->root = &e->pub;
	return 0;
}

/* locate() with the display form of the path handed back for later messages. */
static int locate(const struct ctxd_sandbox *sb, const char *user_path, size_t len,
		  struct ctxd_sandbox_loc *loc, struct ctxd_error *err, char *shown)
{
	show_path(user_path, len, shown);
	if (len == 0) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOENT, "the path is empty");
		return -1;
	}
	if (memchr(user_path, '\0', len)) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL, "path '%s' contains a NUL byte",
				     shown);
		return -1;
	}
	if (len >= CTXD_PATH_MAX) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENAMETOOLONG,
				     "'%s': path too long (%zu bytes, at most %d)", shown, len,
				     CTXD_PATH_MAX - 1);
		return -1;
	}
	char clean[CTXD_PATH_MAX + 2];
	ctxd_sb_clean_path(user_path, len, clean);
	if (sb->nroots == 0) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EACCES,
				     "'%s' is outside the allowed directories: there are none (%s)",
				     shown, sb->note ? sb->note : NO_ROOTS_NOTE);
		return -1;
	}
	if (clean[0] != '/') {
		if (lexically_escapes(clean)) {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, EXDEV,
					     "'%s' is outside the allowed directories: '..' leaves "
					     "the root %s",
					     shown, sb->roots[0]->pub.path);
			return -1;
		}
		return fill_loc(sb->roots[0], clean, loc, shown, err);
	}
	/* The most specific root wins (a nested root's read-only flag applies), skipping
	 * roots that the path would leave through "..". */
	const struct root_entry *best = NULL, *escaped = NULL;
	const char *best_rel = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < sb->nroots; i++) {
		size_t lc;
		const char *rel = ctxd_sb_under_root(clean, sb->roots[i], &lc);
		if (!rel) {
			continue;
		}
		if (lexically_escapes(rel)) {
			escaped = sb->roots[i];
			continue;
		}
		if (!best || lc > best_len) {
			best = sb->roots[i];
			best_rel = rel;
			best_len = lc;
		}
	}
	if (best) {
		return fill_loc(best, best_rel, loc, shown, err);
	}
	if (escaped) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EXDEV,
				     "'%s' is outside the allowed directories: "
				     "'..' leaves the root %s",
				     shown, escaped->pub.path);
		return -1;
	}
	if (sb->note) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EACCES,
				     "'%s' is outside the allowed directories (%s)", shown,
				     sb->note);
	} else {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EACCES,
				     "'%s' is outside the allowed directories", shown);
	}
	return -1;
}

int ctxd_sandbox_locate(const struct ctxd_sandbox *sb, const char *user_path, size_t len,
			struct ctxd_sandbox_loc *loc, struct ctxd_error *err)
{
	char shown[SHOW_MAX + 8];
	return locate(sb, user_path, len, loc, err, shown);
}

static bool wants_write(int flags)
{
	return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)) != 0 ||
	       (flags & O_TMPFILE) == O_TMPFILE;
}

int ctxd_sandbox_open(const struct ctxd_sandbox *sb, const char *user_path, size_t len, int flags,
		      mode_t mode, bool nofollow_last, struct ctxd_sandbox_loc *loc,
		      struct ctxd_error *err)
{
	struct ctxd_sandbox_loc tmp;
	char shown[SHOW_MAX + 8];
	if (!loc) {
		loc = &tmp;
	}
	if (locate(sb, user_path, len, loc, err, shown) < 0) {
		return -1;
	}
	const struct root_entry *e = (const struct root_entry *)loc->root;
	if (e->pub.read_only && !(flags & O_PATH) && wants_write(flags)) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EROFS, "'%s' is in a read-only root (%s)",
				     shown, e->pub.path);
		return -1;
	}
	int fd = confined_open(e->pub.fd, e, loc->rel, flags, mode, nofollow_last);
	if (fd < 0) {
		set_open_error(err, -fd, shown);
		return -1;
	}
	return fd;
}

int ctxd_sandbox_open_cached(const struct ctxd_sandbox *sb, const char *user_path, size_t len,
			     int flags, struct ctxd_sandbox_loc *loc, struct stat *st)
{
	char shown[SHOW_MAX + 8];
	if (wants_write(flags) || (flags & (O_CREAT | O_PATH)) ||
	    atomic_load_explicit(&force_walk, memory_order_relaxed) ||
	    atomic_load_explicit(&openat2_missing, memory_order_relaxed) ||
	    locate(sb, user_path, len, loc, NULL, shown) < 0) {
		return -1;
	}
	const struct root_entry *e = (const struct root_entry *)loc->root;
	int fd = ctxd_plat_open_cached(e->pub.fd, loc->rel, flags);
	if (fd < 0) {
		return -1;
	}
	/* one fstat for the caller and the hard-link policy */
	struct stat own;
	if (!st && !atomic_load_explicit(&refuse_links, memory_order_relaxed)) {
		return fd;
	}
	if (fstat(fd, st ? st : &own) < 0 || ctxd_sandbox_link_refused(st ? st : &own)) {
		close(fd);
		return -1;
	}
	return fd;
}

int ctxd_sandbox_openat(int dirfd, const char *rel, int flags, mode_t mode, bool nofollow_last)
{
	if (!rel || rel[0] == '\0') {
		errno = ENOENT;
		return -1;
	}
	if (rel[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	int fd = confined_open(dirfd, NULL, rel, flags, mode, nofollow_last);
	if (fd < 0) {
		errno = -fd;
		return -1;
	}
	return fd;
}

int ctxd_sandbox_open_parent(const struct ctxd_sandbox *sb, const char *user_path, size_t len,
			     char *name, struct ctxd_sandbox_loc *loc, struct ctxd_error *err)
{
	struct ctxd_sandbox_loc tmp;
	char shown[SHOW_MAX + 8];
	if (!loc) {
		loc = &tmp;
	}
	if (locate(sb, user_path, len, loc, err, shown) < 0) {
		return -1;
	}
	if (strcmp(loc->rel, ".") == 0) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EPERM,
				     "'%s' is a root directory; it has no parent "
				     "inside the allowed directories",
				     shown);
		return -1;
	}
	const char *slash = strrchr(loc->rel, '/');
	const char *last = slash ? slash + 1 : loc->rel;
	if (strcmp(last, "..") == 0 || strcmp(last, ".") == 0) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, EINVAL,
				     "'%s' ends in '%s'; name the entry itself", shown, last);
		return -1;
	}
	char parent[CTXD_PATH_MAX];
	if (slash) {
		size_t pl = (size_t)(slash - loc->rel);
		memcpy(parent, loc->rel, pl);
		parent[pl] = '\0';
	} else {
		parent[0] = '.';
		parent[1] = '\0';
	}
	const struct root_entry *e = (const struct root_entry *)loc->root;
	int fd = confined_open(e->pub.fd, e, parent, O_RDONLY | O_DIRECTORY, 0, false);
	if (fd < 0) {
		set_open_error(err, -fd, shown);
		return -1;
	}
	memcpy(name, last, strlen(last) + 1);
	return fd;
}

void ctxd_sandbox_set_hardlinks(bool refuse)
{
	atomic_store(&refuse_links, refuse);
}

bool ctxd_sandbox_link_refused(const struct stat *st)
{
	return atomic_load_explicit(&refuse_links, memory_order_relaxed) && S_ISREG(st->st_mode) &&
	       st->st_nlink > 1;
}

int ctxd_sandbox_check_links(int dirfd, const char *name, const char *shown, struct ctxd_error *err)
{
	struct stat st;
	if (!atomic_load_explicit(&refuse_links, memory_order_relaxed) ||
	    fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !ctxd_sandbox_link_refused(&st)) {
		return 0;
	}
	set_link_error(err, shown);
	return -1;
}

/* ---- Landlock -------------------------------------------------------------------------- */

int ctxd_sandbox_landlock_ruleset(const struct ctxd_sandbox *sb, const char *const *extra_ro,
				  struct ctxd_error *err)
{
	struct ctxd_plat_grant *g = calloc(sb->nroots ? sb->nroots : 1, sizeof(*g));
	if (!g) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM,
				     "out of memory building the Landlock ruleset");
		return -1;
	}
	for (size_t i = 0; i < sb->nroots; i++) {
		const struct ctxd_root *r = &sb->roots[i]->pub;
		g[i] = (struct ctxd_plat_grant){
		    .fd = r->fd, .path = r->path, .writable = !r->read_only};
	}
	int rs = ctxd_plat_confine_ruleset(g, sb->nroots, extra_ro, err);
	free(g);
	return rs;
}

int ctxd_sandbox_landlock_enforce(int ruleset)
{
	return ctxd_plat_confine_enforce(ruleset);
}

enum ctxd_sandbox_level ctxd_sandbox_apply_landlock(struct ctxd_sandbox *sb,
						    const char *const *extra_ro,
						    struct ctxd_error *err)
{
	int rs = ctxd_sandbox_landlock_ruleset(sb, extra_ro, err);
	if (rs < 0) {
		return CTXD_SANDBOX_PATHS;
	}
	if (ctxd_sandbox_landlock_enforce(rs) < 0) {
		char buf[ERRBUF];
		int e = errno;
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "Landlock could not be enforced: %s",
				     errstr(e, buf));
		close(rs);
		return CTXD_SANDBOX_PATHS;
	}
	close(rs);
	ctxd_error_clear(err);
	return CTXD_SANDBOX_LANDLOCK;
}
