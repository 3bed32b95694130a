/* fs_walk.h - a fast, confined, depth-first directory walker (internal to the file tools).
 *
 * The walk starts at a directory fd that is already inside a sandbox root (an O_PATH fd
 * is fine) and reads each directory with getdents64, using d_type (fstatat only when the
 * file system reports DT_UNKNOWN). Every open goes through ctxd_sandbox_openat with
 * O_NOFOLLOW, so symlinked directories are reported as entries but never descended, and
 * nothing outside the start directory is ever opened. Directory fds are held only for the
 * first FS_WALK_FD_DEPTH levels; deeper directories are reopened relative to the deepest
 * held fd, so a pathological tree cannot exhaust the fd table.
 *
 * Used by list_directory, directory_tree, search_files and grep.
 */
#ifndef CTXD_FS_WALK_H
#define CTXD_FS_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxd/pool.h"
#include "ctxd/registry.h"

enum ctxd_fs_walk_type {
	CTXD_FS_WALK_FILE = 0,
	CTXD_FS_WALK_DIR,
	CTXD_FS_WALK_SYMLINK,
	CTXD_FS_WALK_OTHER,
};

/* What a callback sees. Everything is borrowed and valid only during the callback. */
struct ctxd_fs_walk_entry {
	const char *rel; /* path relative to the start directory, no leading "./" */
	size_t rel_len;
	const char *name; /* the final component (points into rel) */
	size_t name_len;
	enum ctxd_fs_walk_type type;
	unsigned depth; /* 1 for the start directory's own entries */
	/* ctxd_sandbox_openat(at_fd, at_path, flags, mode, true) opens this entry confined
	 * (at_fd is a directory fd inside the root, at_path a relative path beneath it). */
	int at_fd;
	const char *at_path;
};

/* Callback results. */
enum ctxd_fs_walk_action {
	CTXD_FS_WALK_CONTINUE = 0, /* go on (descend into a directory) */
	CTXD_FS_WALK_SKIP = 1,     /* do not descend into this directory */
	CTXD_FS_WALK_STOP = 2,     /* end the walk now; ctxd_fs_walk returns 1 */
};

/* Returns an enum ctxd_fs_walk_action. */
typedef int (*ctxd_fs_walk_fn)(const struct ctxd_fs_walk_entry *e, void *ud);

struct ctxd_fs_walk_opts {
	unsigned max_depth;             /* 0 = unlimited; 1 = the start directory only */
	bool sorted;                    /* visit each directory's entries in strcmp order */
	const struct ctxd_job *job;     /* cancel flag checked per entry; may be NULL */
	int64_t deadline_ms;            /* ctxd_clock_ms() time to stop at; 0 = none */
	struct ctxd_progress *progress; /* reported every ~1000 entries; may be NULL */
	/* Optional: return true to drop an entry entirely (not visited, not descended). */
	bool (*exclude)(const struct ctxd_fs_walk_entry *e, void *ud);
	ctxd_fs_walk_fn visit; /* required */
	void *ud;
};

/* Counters filled by ctxd_fs_walk (may be NULL). */
struct ctxd_fs_walk_stats {
	size_t entries;    /* entries seen (before exclusion) */
	size_t dirs;       /* directories read */
	size_t unreadable; /* subdirectories that could not be opened or read (skipped) */
	size_t too_long;   /* entries skipped because their path exceeded CTXD_PATH_MAX: the
			    * walk did not reach them (report the result as truncated) */
};

/* Walk the tree under `dirfd` (borrowed, not closed; any fd of a directory inside a root,
 * O_PATH allowed) depth-first, pre-order. Returns 0 when the walk completed, 1 when a
 * callback returned CTXD_FS_WALK_STOP, -ECANCELED when the job was cancelled (checked
 * before every entry), -ETIMEDOUT when opts->deadline_ms passed (checked before each
 * directory is read and every 64 entries), or another -errno when
 * the start directory itself cannot be read (-ENOMEM on allocation failure).
 * Unreadable subdirectories are skipped and counted. Thread-safe (no shared state). */
int ctxd_fs_walk(int dirfd, const struct ctxd_fs_walk_opts *opts, struct ctxd_fs_walk_stats *stats);

/* The type of a directory entry from its d_type (fstatat only for DT_UNKNOWN). */
enum ctxd_fs_walk_type ctxd_fs_dirent_type(int dirfd, const char *name, unsigned char d_type);

/* Read every entry of the directory open as `fd` (but "." and "..") with getdents64 into
 * `buf` (`buf_len` bytes, reused), calling add(ud, name, len, type) for each: NUL-terminated
 * `name`, valid during the call. The cancel flag and the deadline (0 = none) are checked
 * before each getdents64. Returns 0, -ECANCELED, -ETIMEDOUT, what add returned when
 * negative, or -errno. Thread-safe. */
int ctxd_fs_read_dir(
    int fd, char *buf, size_t buf_len, const struct ctxd_job *job, int64_t deadline_ms,
    int (*add)(void *ud, const char *name, size_t len, enum ctxd_fs_walk_type type), void *ud);

/* ---- path globs -----------------------------------------------------------------------
 *
 * A path glob is matched component by component: '*', '?', '[...]' and '\\' escapes work
 * as in fnmatch(3) inside one component (a leading '.' is not special), a component that
 * is exactly '**' matches any number of components (zero or more; as the last component,
 * one or more: 'a/' + '**' matches what is inside a, not a itself), and '**' inside a longer
 * component acts like '*'. Repeated '**' components collapse into one. Matching is
 * iterative: at most (pattern components x path components) component tests, no recursion,
 * whatever the pattern. An empty component ('a//b', a trailing '/') never matches. */

/* Longest glob accepted, in bytes (tool arguments longer than this are refused with an
 * isError result; .gitignore rules longer than this are not applied). */
#define CTXD_FS_GLOB_MAX 4096

struct ctxd_fs_glob;

/* Compile `len` bytes of `pat` (need not be NUL-terminated). Returns 0 and a new glob in
 * *out (free with ctxd_fs_glob_free), -E2BIG when len > CTXD_FS_GLOB_MAX, or -ENOMEM.
 * Thread-safe. */
int ctxd_fs_glob_compile(const char *pat, size_t len, struct ctxd_fs_glob **out);

/* True when the relative path `path` (`len` bytes, components separated by single '/')
 * matches `g`. Thread-safe (the glob is read-only); never allocates for len < CTXD_PATH_MAX
 * (longer paths are copied to the heap; false when that fails). */
bool ctxd_fs_glob_match(const struct ctxd_fs_glob *g, const char *path, size_t len);

/* NULL-safe. */
void ctxd_fs_glob_free(struct ctxd_fs_glob *g);

/* A list of globs as the grep and directory_tree arguments take them: a pattern without '/'
 * matches an entry's name at any depth (fnmatch), one with '/' the path relative to the
 * search root (a leading '/' only anchors, as it always does). Zero-initialise; release
 * with ctxd_fs_globs_finish. */
struct ctxd_fs_globs {
	struct ctxd_fs_globs_item {
		char *name_pat;            /* basename pattern, or NULL */
		struct ctxd_fs_glob *path; /* path glob, or NULL */
	} * v;
	size_t n;
};

/* Add `len` bytes of `pat`. Returns 0, -E2BIG (longer than CTXD_FS_GLOB_MAX) or -ENOMEM. */
int ctxd_fs_globs_add(struct ctxd_fs_globs *gl, const char *pat, size_t len);

/* True when any glob of the list matches the entry (relative path `rel`, `rel_len` bytes,
 * final component `name`, NUL-terminated). */
bool ctxd_fs_globs_match(const struct ctxd_fs_globs *gl, const char *rel, size_t rel_len,
			 const char *name);

/* Free what the list holds and zero it. NULL-safe. */
void ctxd_fs_globs_finish(struct ctxd_fs_globs *gl);

#endif
