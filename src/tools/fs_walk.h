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
	size_t too_long;   /* entries skipped because their path exceeded CTXD_PATH_MAX */
};

/* Walk the tree under `dirfd` (borrowed, not closed; any fd of a directory inside a root,
 * O_PATH allowed) depth-first, pre-order. Returns 0 when the walk completed, 1 when a
 * callback returned CTXD_FS_WALK_STOP, -ECANCELED when the job was cancelled, or another
 * -errno when the start directory itself cannot be read (-ENOMEM on allocation failure).
 * Unreadable subdirectories are skipped and counted. Thread-safe (no shared state). */
int ctxd_fs_walk(int dirfd, const struct ctxd_fs_walk_opts *opts, struct ctxd_fs_walk_stats *stats);

/* ---- .gitignore support --------------------------------------------------------------
 *
 * The common gitignore subset, matched with fnmatch(3): blank lines and '#' comments
 * skipped, trailing blanks trimmed, '\#' and '\!' escapes, '!' negation (the last matching
 * rule wins, deeper .gitignore files over shallower ones), a trailing '/' for directories
 * only, a leading or inner '/' anchoring the pattern to the .gitignore's directory (else it
 * matches the name at any depth), '*', '?', '[...]' within a component and '**' for any
 * number of directories ('**' + '/x', 'a/' + '**', 'a/' + '**' + '/b'). Files are read from the
 * walk's start directory down; .gitignore files above it, .git/info/exclude and the global
 * excludes file are not read. A directory named .git is always ignored. */
struct ctxd_fs_ignore;

/* Create a matcher for a walk starting at `start_fd` (borrowed; its .gitignore is read
 * now). Returns NULL on ENOMEM. Free with ctxd_fs_ignore_destroy. */
struct ctxd_fs_ignore *ctxd_fs_ignore_create(int start_fd);

/* NULL-safe. */
void ctxd_fs_ignore_destroy(struct ctxd_fs_ignore *ig);

/* True when `e` is ignored. Must see every entry of the walk in walk order (use it from
 * the walk's exclude callback): it reads each directory's .gitignore, confined, when the
 * first entry inside that directory is checked. */
bool ctxd_fs_ignore_match(struct ctxd_fs_ignore *ig, const struct ctxd_fs_walk_entry *e);

/* Glob match of `pat` against the relative path `s` where '*' stays inside a component and
 * '**' spans directories as described above. */
bool ctxd_fs_glob_path(const char *pat, const char *s);

#endif
