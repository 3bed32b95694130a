/* fs_ignore.h - ignore files for the file tools' walks (src/tools/fs_ignore.c; internal to
 * the file tools): a server-wide cache of compiled ignore files, per-directory levels chained
 * towards the root, and the test of one entry against a chain.
 */
#ifndef CTXD_FS_IGNORE_H
#define CTXD_FS_IGNORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxd/pool.h"

struct ctxd_watch;

/* The files ripgrep reads, with ripgrep's precedence (rg --hidden --no-require-git):
 * .rgignore over .ignore over .gitignore over .git/info/exclude, whatever their depth; within
 * one kind the deepest directory's file decides; within a file the last matching rule wins
 * ('!' rules keep). Files of the directories above the walk's start count too, up to the
 * allowed root; .gitignore and .git/info/exclude of directories above the first one (from the
 * entry up) that holds a .git entry do not. The syntax is gitignore(5)'s: blank lines and '#'
 * comments skipped, trailing blanks trimmed unless escaped, '\#' and '\!' escapes, '!'
 * negation, a trailing '/' for directories only, a leading or inner '/' anchoring the pattern
 * to its file's directory (matched as a path glob, fs_walk.h), else the pattern matches the name
 * at any depth (fnmatch). Rules longer than CTXD_FS_GLOB_MAX bytes are not applied. Global
 * git excludes (core.excludesFile) are not read. */

/* Bits of what a directory holds (its listing tells): which ignore files to read. */
#define CTXD_FS_HAS_RGIGNORE  1u
#define CTXD_FS_HAS_IGNORE    2u
#define CTXD_FS_HAS_GITIGNORE 4u
#define CTXD_FS_HAS_GIT       8u /* a ".git" entry: a repository's top (.git/info/exclude) */

/* Compiled ignore files shared by the calls of a server (one per file tool family): files
 * are kept by (device, inode), checked against size, mtime and ctime at every use, and not
 * kept while changed within the last ctxd_fs_ignore_racy_s seconds. Thread-safe. */
struct ctxd_fs_ignore_cache;

/* NULL on ENOMEM. */
struct ctxd_fs_ignore_cache *ctxd_fs_ignore_cache_create(void);

/* NULL-safe. Detach first when attached (the watcher's callbacks point at the cache). */
void ctxd_fs_ignore_cache_destroy(struct ctxd_fs_ignore_cache *c);

/* Let the watcher drop entries whose file changes (NULL detaches). Entries cached so far
 * are dropped. Loop thread. */
void ctxd_fs_ignore_cache_attach(struct ctxd_fs_ignore_cache *c, struct ctxd_watch *w);

/* Counters for tests: files served from the cache, files read, entries held. */
void ctxd_fs_ignore_cache_stats(struct ctxd_fs_ignore_cache *c, size_t *hits, size_t *misses,
				size_t *entries);

/* Seconds after a change during which a file is not cached (default 2: file timestamps are
 * coarser than the time between two writes). Tests set 0 before any call. */
extern int ctxd_fs_ignore_racy_s;

/* What a walking thread carries while matching: the call's cancel flag and deadline,
 * checked every 256 rule tests. Once either fires, the matcher gives up: gave_up is set
 * and every later entry counts as ignored (the walk's result is then incomplete: say so).
 * Zero-initialise, one per thread. */
struct ctxd_fs_ignore_ctx {
	const struct ctxd_job *job; /* may be NULL */
	int64_t deadline_ms;        /* 0 = none */
	unsigned tested;
	bool gave_up;
};

/* One directory's ignore files in a chain towards the root. Immutable once made. */
struct ctxd_fs_ignore_level;

/* The level of the directory open as `dirfd` (borrowed) holding what `has` says
 * (CTXD_FS_HAS_* bits), above `up` (borrowed; must outlive the new level). Entries are
 * matched with the path relative to the walk's start: `skip` bytes of it are this
 * directory's own path plus its '/' (0 for the start), or for a directory above the start
 * `above` is the start's path relative to this directory followed by '/' (else NULL).
 * `abs_dir` (may be NULL) is the directory's absolute path, for the watcher. Files come
 * from `c` (may be NULL: read and compiled for this call). Returns a new level (free with
 * ctxd_fs_ignore_level_free), or NULL when the directory adds nothing (then use `up`) or
 * memory ran out (*oom). Any thread. */
struct ctxd_fs_ignore_level *ctxd_fs_ignore_enter(struct ctxd_fs_ignore_cache *c, int dirfd,
						  const char *abs_dir, unsigned has,
						  const struct ctxd_fs_ignore_level *up,
						  size_t skip, const char *above, bool *oom);

/* The level above (NULL at the top). */
const struct ctxd_fs_ignore_level *ctxd_fs_ignore_level_up(const struct ctxd_fs_ignore_level *lv);

/* Free one level (not those above it). NULL-safe. */
void ctxd_fs_ignore_level_free(struct ctxd_fs_ignore_level *lv);

/* True when the entry whose path relative to the walk's start is `rel` (`rel_len` bytes,
 * final component `name`, both NUL-terminated) is ignored by the chain ending at `lv`
 * (NULL: nothing is). `c` is the thread's context (see above). Any thread. */
bool ctxd_fs_ignore_test(const struct ctxd_fs_ignore_level *lv, struct ctxd_fs_ignore_ctx *c,
			 const char *rel, size_t rel_len, const char *name, size_t name_len,
			 bool is_dir);

/* The chain of the directories from the allowed root open as `root_fd` (absolute path
 * `root_abs`, for the watcher; may be NULL) down to the parent of the walk's start, which is
 * `start_rel` relative to the root ("." for the root itself: nothing above). Returns the
 * deepest level (free the whole chain with ctxd_fs_ignore_chain_free, after the levels made
 * below it), or NULL when none adds anything or memory ran out (*oom). Any thread. */
struct ctxd_fs_ignore_level *ctxd_fs_ignore_parents(struct ctxd_fs_ignore_cache *c, int root_fd,
						    const char *root_abs, const char *start_rel,
						    bool *oom);

/* Free `lv` and every level above it. NULL-safe. */
void ctxd_fs_ignore_chain_free(struct ctxd_fs_ignore_level *lv);

/* A single .gitignore text compiled on its own, for tests and fuzzing. */
struct ctxd_fs_ignore;

/* NULL on ENOMEM. */
struct ctxd_fs_ignore *ctxd_fs_ignore_create_text(const char *text, size_t len);

/* NULL-safe. */
void ctxd_fs_ignore_destroy(struct ctxd_fs_ignore *ig);

/* True when the rules ignore `rel` (relative to the text's directory, `len` bytes; `is_dir`:
 * the entry is a directory). Only the path itself is tested (not its parents). `c` may be
 * NULL (no cancel checks). */
bool ctxd_fs_ignore_path(struct ctxd_fs_ignore *ig, const char *rel, size_t len, bool is_dir,
			 struct ctxd_fs_ignore_ctx *c);

/* The same answer by trying every rule from the last back (the reference the compiled
 * buckets must agree with; the fuzz target compares them). */
bool ctxd_fs_ignore_path_linear(struct ctxd_fs_ignore *ig, const char *rel, size_t len,
				bool is_dir);

#endif
