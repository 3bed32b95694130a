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
 * Used by list_directory, list_directory_with_sizes, directory_tree, search_files and grep.
 */
#ifndef CTXD_FS_WALK_H
#define CTXD_FS_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxd/pool.h"
#include "ctxd/tool.h"

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

/* ---- .gitignore support --------------------------------------------------------------
 *
 * The common gitignore subset: blank lines and '#' comments skipped, trailing blanks
 * trimmed, '\\#' and '\\!' escapes, '!' negation (the last matching rule wins, deeper
 * .gitignore files over shallower ones), a trailing '/' for directories only, a leading or
 * inner '/' anchoring the pattern to the .gitignore's directory (matched as a path glob,
 * above), else the pattern matches the name at any depth (fnmatch). Files are read from the
 * walk's start directory down; .gitignore files above it, .git/info/exclude and the global
 * excludes file are not read. A directory named .git is always ignored. Rules longer than
 * CTXD_FS_GLOB_MAX bytes are not applied. */
struct ctxd_fs_ignore;

/* Create a matcher for a walk starting at `start_fd` (borrowed; its .gitignore is read
 * now). `job` (may be NULL) and `deadline_ms` (0 = none) are checked every 256 rule tests:
 * once cancelled or past the deadline the matcher gives up and every later entry counts as
 * ignored (ctxd_fs_ignore_gave_up then says so: the walk's result is incomplete). Returns
 * NULL on ENOMEM. Free with ctxd_fs_ignore_destroy. */
struct ctxd_fs_ignore *ctxd_fs_ignore_create(int start_fd, const struct ctxd_job *job,
                                             int64_t deadline_ms);

/* A matcher holding `len` bytes of `text` as the start directory's .gitignore and nothing
 * else (no file is read). For tests and fuzzing. NULL on ENOMEM. */
struct ctxd_fs_ignore *ctxd_fs_ignore_create_text(const char *text, size_t len);

/* NULL-safe. */
void ctxd_fs_ignore_destroy(struct ctxd_fs_ignore *ig);

/* True when the matcher gave up (cancelled or past its deadline) and ignored entries it did
 * not test. NULL-safe (false). */
bool ctxd_fs_ignore_gave_up(const struct ctxd_fs_ignore *ig);

/* True when `e` is ignored. Must see every entry of the walk in walk order (use it from
 * the walk's exclude callback): it reads each directory's .gitignore, confined, when the
 * first entry inside that directory is checked. */
bool ctxd_fs_ignore_match(struct ctxd_fs_ignore *ig, const struct ctxd_fs_walk_entry *e);

/* For a matcher made by ctxd_fs_ignore_create_text: true when its rules ignore `rel`
 * (relative to the start directory, `len` bytes; `is_dir`: the entry is a directory).
 * Only the path itself is tested (not its parent directories). Reads no file. */
bool ctxd_fs_ignore_path(struct ctxd_fs_ignore *ig, const char *rel, size_t len, bool is_dir);

#endif
