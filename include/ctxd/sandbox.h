/* sandbox.h - the allowed roots and confined path resolution.
 *
 * Each root is opened once as an O_PATH|O_DIRECTORY fd. A user path is mapped to a root
 * (absolute paths: the root whose path is a component-wise prefix; relative paths: the
 * first root) and the remainder is opened with openat2(RESOLVE_BENEATH |
 * RESOLVE_NO_MAGICLINKS) relative to the root fd, so the kernel refuses `..`, absolute
 * symlinks and symlinks that leave the root. Where openat2 is missing (ENOSYS) a
 * component-by-component walk with O_NOFOLLOW that resolves in-root symlinks itself is
 * used (CTXD_SANDBOX_FORCE_WALK=1 in the environment at ctxd_sandbox_create forces it).
 *
 * Absolute symlinks: RESOLVE_BENEATH refuses every absolute symlink target, even one that
 * points back inside the root. When openat2 fails with EXDEV, ctxd_sandbox_open and
 * ctxd_sandbox_open_parent retry with the walk, which accepts an absolute target only when
 * it names the same root (by its canonical or configured path) and then continues from the
 * root fd; anything else stays refused. ctxd_sandbox_openat has no root to compare with and
 * refuses absolute targets. Landlock (where the kernel has it) then restricts the process
 * to the roots.
 *
 * All functions here may be called from worker threads once set-up is done: the root set
 * is immutable after ctxd_sandbox_seal(). Errors fill a caller-owned ctxd_error with code 0
 * (tool-level failure) and a message naming the path.
 */
#ifndef CTXD_SANDBOX_H
#define CTXD_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "ctxd/error.h"

#define CTXD_PATH_MAX 4096

struct ctxd_root {
	char *path;  /* canonical absolute path (realpath at add time), owned */
	char *given; /* the path as configured (made absolute, lexically clean), owned */
	int fd;      /* O_PATH|O_DIRECTORY|O_CLOEXEC */
	bool read_only;
};

struct ctxd_sandbox;

/* Where a user path landed: the root and the path relative to it ("." = the root).
 * `rel` has no "//", no "." components and no trailing '/'; ".." components are kept (their
 * meaning after a symlink is the kernel's) but never climb above the root lexically. */
struct ctxd_sandbox_loc {
	const struct ctxd_root *root; /* borrowed from the sandbox */
	char rel[CTXD_PATH_MAX];      /* relative, lexically clean, no leading '/' ; "." for root */
	char abs[CTXD_PATH_MAX];      /* root->path + "/" + rel, for display */
};

/* Levels reported by ctxd_sandbox_apply_landlock. */
enum ctxd_sandbox_level {
	CTXD_SANDBOX_PATHS = 0,    /* userspace path confinement only (openat2 or walk) */
	CTXD_SANDBOX_LANDLOCK = 1, /* plus a Landlock ruleset on the whole process */
};

/* Create an empty sandbox. Returns NULL on ENOMEM. Destroy with ctxd_sandbox_destroy. */
struct ctxd_sandbox *ctxd_sandbox_create(void);

/* Close every root fd and free. NULL-safe. */
void ctxd_sandbox_destroy(struct ctxd_sandbox *sb);

/* Add a root directory (loop thread, before seal). `path` may be relative (to the cwd).
 * Returns 0, or -1 with err set: not found, not a directory, permission. A root already
 * present (same canonical path) is merged: read-only wins only if both say so, and the new
 * spelling of the path is kept as an alias that user paths may use too. */
int ctxd_sandbox_add_root(struct ctxd_sandbox *sb, const char *path, bool read_only,
			  struct ctxd_error *err);

/* Number of roots and the i-th root (borrowed; valid until destroy). */
size_t ctxd_sandbox_root_count(const struct ctxd_sandbox *sb);
const struct ctxd_root *ctxd_sandbox_root(const struct ctxd_sandbox *sb, size_t i);

/* Map `user_path` (`len` bytes, need not be NUL-terminated) to a root and relative path
 * without touching the filesystem. An absolute path matches a root when it equals, or lies
 * component-wise below, the root's canonical path or its configured spelling; with nested
 * roots the longest match wins. A relative path is taken against the first root.
 * Refuses: empty path, embedded NUL (pass `len` = the JSON string length; a NUL before
 * `len` is refused), paths longer than CTXD_PATH_MAX-1, absolute paths under no root
 * (component-wise: /data does not contain /data-evil), and relative paths when there are
 * no roots. `..` that leaves the root lexically is refused here too. Returns 0 or -1 with
 * err set (code 0; sys_errno EINVAL, ENAMETOOLONG, EACCES = outside, EXDEV = '..' escape).
 * Thread-safe. */
int ctxd_sandbox_locate(const struct ctxd_sandbox *sb, const char *user_path, size_t len,
			struct ctxd_sandbox_loc *loc, struct ctxd_error *err);

/* Locate and open `user_path` confined to its root. `flags` are open(2) flags (O_CLOEXEC
 * is added; O_CREAT uses `mode`). With `nofollow_last` the final component is not
 * followed even when it is a symlink inside the root (O_NOFOLLOW semantics; with O_PATH it
 * opens the link itself). Symlinks inside the root are followed, as long as every step
 * stays beneath the root. Returns a new fd (caller closes) and fills `loc` (may be NULL),
 * or -1 with err set; err->sys_errno holds the errno (ENOENT, EXDEV/ELOOP for an escape,
 * ENOTDIR, EACCES ...). Write access (O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_TMPFILE) to a
 * read-only root is refused up front with EROFS. Thread-safe. */
int ctxd_sandbox_open(const struct ctxd_sandbox *sb, const char *user_path, size_t len, int flags,
		      mode_t mode, bool nofollow_last, struct ctxd_sandbox_loc *loc,
		      struct ctxd_error *err);

/* The non-blocking attempt of ctxd_sandbox_open, for the loop thread: open `user_path` for
 * reading (`flags` must not ask for write access or creation) only when the kernel can
 * resolve it from its caches without waiting (openat2 RESOLVE_CACHED), with the same
 * confinement and hard-link policy. Returns a new fd (caller closes) and fills `loc`, or
 * -1 when it cannot promise that or anything fails (not cached, an absolute symlink that
 * needs the component walk, the portable build, any error): the caller then makes the
 * ordinary ctxd_sandbox_open on a worker, which gives the error its message. Never sets an
 * error. With `st` (may be NULL) the opened file's fstat is stored there: the one the
 * hard-link policy looks at, so the caller needs none of its own. Thread-safe. */
int ctxd_sandbox_open_cached(const struct ctxd_sandbox *sb, const char *user_path, size_t len,
			     int flags, struct ctxd_sandbox_loc *loc, struct stat *st);

/* Open `rel` (a relative path produced by a walk, not user input) beneath `dirfd`, which
 * must itself be inside a root, with the same confinement rules. Confinement is relative
 * to `dirfd`, not to the root: a symlink that climbs above `dirfd` (or an absolute one) is
 * refused with EXDEV even when it would stay inside the root; re-open such an entry by its
 * full path with ctxd_sandbox_open. Read-only roots are not checked here (no root known).
 * Returns a new fd (caller closes) or -1 with errno set. Thread-safe. */
int ctxd_sandbox_openat(int dirfd, const char *rel, int flags, mode_t mode, bool nofollow_last);

/* Open the parent directory of `user_path` confined to its root and return its fd; the
 * final component's name is copied to `name` (size CTXD_PATH_MAX). Used by writing tools
 * (create, rename, unlink) so they act with *at() calls on a confined directory fd; the
 * final component itself is not resolved, so a symlink there is acted on as a link.
 * Symlinks inside the root are followed on the way to the parent. The fd is
 * O_RDONLY|O_DIRECTORY|O_CLOEXEC (so fsync(2) on it works); the caller closes it. `loc`
 * (may be NULL) describes the full path. Fails on the root itself (it has no parent inside
 * the sandbox) and on a path whose last component is "..". Does not check read-only: call
 * ctxd_sandbox_loc_read_only(loc) before writing. Returns fd or -1 with err set.
 * Thread-safe. */
int ctxd_sandbox_open_parent(const struct ctxd_sandbox *sb, const char *user_path, size_t len,
			     char *name, struct ctxd_sandbox_loc *loc, struct ctxd_error *err);

/* Say where the root set came from (e.g. "the client's roots within the configured
 * directories"), so that a refusal can tell the client which case applies: every "outside
 * the allowed directories" error then ends with "(NOTE)". `note` is copied; NULL removes it.
 * With no roots and no note, refusals say that no directory is configured and how to
 * configure one. Loop thread, before ctxd_sandbox_seal. Returns 0, or -1 with errno EPERM
 * (sealed) or ENOMEM. */
int ctxd_sandbox_set_note(struct ctxd_sandbox *sb, const char *note);

/* The note set with ctxd_sandbox_set_note; for an empty root set without one, the built-in
 * "no directory is configured ..." text; otherwise NULL. Borrowed, valid until destroy.
 * Thread-safe after seal. */
const char *ctxd_sandbox_note(const struct ctxd_sandbox *sb);

/* Freeze the root set (after this, add_root fails with EPERM). Loop thread. */
void ctxd_sandbox_seal(struct ctxd_sandbox *sb);

/* Restrict the caller to the roots with Landlock. Landlock binds the calling thread and the
 * threads it creates afterwards, not threads that already exist: call it on the main
 * thread before the pool (or any other thread) starts. Every filesystem right the kernel's
 * Landlock ABI knows is handled (denied unless granted): read-write roots get all of them
 * except IOCTL_DEV, read-only roots READ_FILE|READ_DIR. `extra_ro` (NULL-terminated, may
 * be NULL) lists more paths to allow READ_FILE|READ_DIR on (a missing one is skipped with a
 * warning). Anything not covered - shared libraries loaded later with dlopen, /etc,
 * /proc - can no longer be opened, and nothing can be executed outside read-write roots.
 * Sets PR_SET_NO_NEW_PRIVS. Returns the level now in force: CTXD_SANDBOX_LANDLOCK (err
 * cleared), or CTXD_SANDBOX_PATHS when the kernel lacks Landlock or a step failed (err
 * says why, code 0). Never fails hard. Call after ctxd_sandbox_seal. */
enum ctxd_sandbox_level ctxd_sandbox_apply_landlock(struct ctxd_sandbox *sb,
						    const char *const *extra_ro,
						    struct ctxd_error *err);

/* The two halves of ctxd_sandbox_apply_landlock, for enforcing one ruleset on several
 * threads (the client-roots case, where the roots arrive after the workers started).
 * ctxd_sandbox_landlock_ruleset builds a ruleset for the roots (+ `extra_ro`) and returns
 * its fd (the caller closes it), or -1 with err set when Landlock is unavailable.
 * ctxd_sandbox_landlock_enforce restricts the calling thread (and threads it creates
 * later) with it: returns 0, or -1 with errno set. Thread-safe. */
int ctxd_sandbox_landlock_ruleset(const struct ctxd_sandbox *sb, const char *const *extra_ro,
				  struct ctxd_error *err);
int ctxd_sandbox_landlock_enforce(int ruleset);

/* sandbox.hardlinks, process-wide (call once at start-up, before workers run; tests may
 * switch it between calls). With `refuse`, every open through this module (ctxd_sandbox_open,
 * _openat) of a regular file whose link count is above 1 fails with EMLINK and a message
 * that says why: a hard link inside a root may name a file outside every root, and no path
 * check can tell. Default: allowed (package stores and git clones hard-link files
 * legitimately); the writing tools never change such an inode in place either way. */
void ctxd_sandbox_set_hardlinks(bool refuse);

/* True when sandbox.hardlinks is refuse and `st` is a regular file with several links. */
bool ctxd_sandbox_link_refused(const struct stat *st);

/* Why such a file is refused, for messages that report EMLINK from the functions here. */
#define CTXD_SANDBOX_HARDLINK_WHY                                                                  \
	"it is a hard link (the file has more than one name, and another name may lie "            \
	"outside the allowed directories) and sandbox.hardlinks is 'refuse'"

/* The same policy for an entry a writer acts on by name: 0 when `name` in `dirfd` is not a
 * regular file with several links (or the policy allows them, or it does not exist), else
 * -1 with err set (code 0, sys_errno EMLINK, the message naming `shown`). Thread-safe. */
int ctxd_sandbox_check_links(int dirfd, const char *name, const char *shown,
			     struct ctxd_error *err);

/* True when the root of `loc` is read-only. */
bool ctxd_sandbox_loc_read_only(const struct ctxd_sandbox_loc *loc);

#endif
