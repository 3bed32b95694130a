/* fs_pwalk.h - a confined directory walk fanned out over the worker pool, with answers in a
 * fixed order (internal to the file tools: grep and search_files).
 *
 * The calling worker and up to (pool size - 1) helper jobs (ctxd_pool_submit_helper) take
 * tasks from one queue: "read this directory" and "work on these files of a directory read
 * before". Tasks are taken in walk order (depth-first, each directory's entries in strcmp
 * order), so a walk that may stop early (a result limit) does little work past the point
 * where it stops. Helpers give way to requests: between two tasks a helper that sees
 * requests waiting for a worker returns, and comes back when there is more to do.
 *
 * What a walk finds is kept as a tree of the directories it read; once it is over,
 * ctxd_fs_pw_each visits the entries in walk order, whichever thread found them, so the
 * answer built from it is the same with one thread or many.
 *
 * Confinement as in fs_walk.h: every open goes through ctxd_sandbox_openat with
 * O_NOFOLLOW beneath the start directory; symlinks are reported, never followed. Ignore
 * files are applied as fs_walk.h describes (a directory named .git is skipped then).
 */
#ifndef CTXD_FS_PWALK_H
#define CTXD_FS_PWALK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxd/registry.h"
#include "ctxd/sandbox.h"
#include "fs_ignore.h"
#include "fs_walk.h"

/* Entry flags. The classify callback returns KEEP, FILE and DESCEND; the walk adds the
 * rest. */
#define CTXD_FS_PW_KEEP       0x01u /* the entry is part of the answer (ent->hits, ent->rec) */
#define CTXD_FS_PW_FILE       0x02u /* the file callback is to run on it */
#define CTXD_FS_PW_DESCEND    0x04u /* a directory to read */
#define CTXD_FS_PW_DONE       0x08u /* the file callback ran on it (walk order complete) */
#define CTXD_FS_PW_UNREADABLE 0x10u /* a directory that could not be opened or read */
#define CTXD_FS_PW_LONG       0x20u /* its path reaches CTXD_PATH_MAX: not visited at all */

struct ctxd_fs_pw;
struct ctxd_fs_pw_node;

struct ctxd_fs_pw_ent {
	uint32_t name_off; /* into node->names, NUL-terminated */
	uint32_t name_len;
	uint8_t type; /* enum ctxd_fs_walk_type */
	uint8_t flags;
	uint32_t hits;                 /* set by the callbacks: what counts towards opts.limit */
	struct ctxd_fs_pw_node *child; /* the directory read for a DESCEND entry, or NULL */
	void *rec;                     /* the callbacks' record for the entry */
};

/* One directory read. Read-only for the callbacks but for the entry they are called on. */
struct ctxd_fs_pw_node {
	struct ctxd_fs_pw_node *parent; /* NULL for the start */
	uint32_t idx;                   /* index in the parent's entries */
	unsigned depth;                 /* 0 for the start; its entries have depth + 1 */
	const char *rel;                /* path relative to the start ("" for the start) */
	size_t rel_len;
	int fd;      /* open while callbacks run on its entries */
	void *state; /* the callbacks' per-directory state (see classify) */
	struct ctxd_fs_pw_ent *ents;
	uint32_t n;
	char *names;
	/* private to the walk */
	uint32_t *pos; /* indices from the start down to this directory (depth of them) */
	atomic_uint fd_refs;
	struct ctxd_fs_pw_node *anchor; /* where its own open starts from */
	const struct ctxd_fs_ignore_level *ign;
	struct ctxd_fs_ignore_level *own_ign;
	bool read;
};

struct ctxd_fs_pw_ops {
	/* Decide about entry `i` of `d` (ignore files already applied), whose path relative to
	 * the start is `rel`: return CTXD_FS_PW_* bits (KEEP, FILE, DESCEND; 0 drops it) and
	 * set the entry's hits and rec. For DESCEND, *child_state may get the new directory's
	 * state (freed with free_state). Any thread; `slot` (0 .. slots-1) is the calling
	 * thread's, one thread per slot at a time. */
	unsigned (*classify)(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
			     uint32_t i, const char *rel, size_t rel_len, void **child_state);
	/* Work on the FILE entry `i` of `d` (open it with ctxd_sandbox_openat(d->fd, name,
	 * ...)); may set hits and rec. Any thread, as classify. May be NULL. */
	void (*file)(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d, uint32_t i,
		     const char *rel, size_t rel_len);
	/* Free a state classify made. May be NULL. */
	void (*free_state)(void *ud, void *state);
};

struct ctxd_fs_pw_opts {
	unsigned max_depth;                 /* 0 = unlimited; 1 = the start directory only */
	const struct ctxd_job *job;         /* cancel flag, checked per entry; may be NULL */
	int64_t deadline_ms;                /* ctxd_clock_ms() time to stop at; 0 = none */
	struct ctxd_progress *progress;     /* entries seen, every ~1000; may be NULL */
	struct ctxd_pool *pool;             /* helpers come from here; NULL = the caller alone */
	bool ignore;                        /* apply ignore files, skip .git directories */
	struct ctxd_fs_ignore_cache *cache; /* may be NULL */
	const struct ctxd_fs_ignore_level *above; /* the start's parents (borrowed), or NULL */
	const char *abs; /* absolute path of the start (the watcher), or NULL */
	/* 0 = none. Else the walk may stop once the entries that hold the first limit + 1
	 * hits in walk order are known: work past them is skipped. */
	size_t limit;
	const struct ctxd_fs_pw_ops *ops;
	void *ud;         /* ctxd_fs_pw_ud() */
	void *root_state; /* the start directory's state (borrowed) */
};

/* Threads a walk may use with `pool` (the caller plus helpers): size the per-slot state the
 * callbacks keep. */
unsigned ctxd_fs_pw_slots(struct ctxd_pool *pool);

/* Walk the tree under `dirfd` (borrowed; any fd of a directory inside a root, O_PATH
 * allowed). Runs on the calling thread (a pool worker, or any thread without a pool) and
 * returns when every task has ended and no helper is left. Returns 0 when the walk
 * completed (or stopped at the limit), -ECANCELED, -ETIMEDOUT (the deadline), -ENOMEM,
 * -ECONNABORTED when a callback called ctxd_fs_pw_abort, or another -errno when the start
 * directory cannot be read. *out gets the walk's tree (also after a stop: what was found),
 * or NULL; free with ctxd_fs_pw_free. */
int ctxd_fs_pw_run(int dirfd, const struct ctxd_fs_pw_opts *o, struct ctxd_fs_pw **out);

/* Fill what a tool call sets the same way in every walk: the call's job, deadline, progress
 * and pool, `ignore`, the family's ignore cache (ctx->ud), the start's absolute path (written
 * into `abs`, `abs_cap` bytes) and, when `ignore`, the ignore files of the start's parent
 * directories up to its root (*above: free with ctxd_fs_ignore_chain_free after the walk).
 * Returns 0 or -ENOMEM. Worker thread. */
int ctxd_fs_pw_prepare(struct ctxd_fs_pw_opts *o, const struct ctxd_tool_ctx *ctx,
		       const struct ctxd_sandbox_loc *loc, bool ignore, char *abs, size_t abs_cap,
		       struct ctxd_fs_ignore_level **above);

/* The opts->ud of the walk. */
void *ctxd_fs_pw_ud(const struct ctxd_fs_pw *w);

/* From a callback: stop the walk (the run returns -ECONNABORTED). Any thread. */
void ctxd_fs_pw_abort(struct ctxd_fs_pw *w);

/* True when the walk is stopping (cancelled, past the deadline, aborted): long callbacks
 * check it between pieces of work. Any thread. */
bool ctxd_fs_pw_stopping(const struct ctxd_fs_pw *w);

/* Look at the call's cancel flag and deadline now (a callback's long work between pieces):
 * true when the walk is stopping. Any thread. */
bool ctxd_fs_pw_check(struct ctxd_fs_pw *w);

/* Report progress from a callback: the entries seen so far plus `fraction` (0..1) of the
 * current file; reports never go backwards. Any thread. */
void ctxd_fs_pw_progress(struct ctxd_fs_pw *w, double fraction, const char *message);

/* Counters: entries seen, directories read. */
void ctxd_fs_pw_counts(const struct ctxd_fs_pw *w, size_t *entries, size_t *dirs);

/* Visit, after the run, every entry with KEEP, UNREADABLE or LONG set, in walk order
 * (a directory's entry before what is under it); `rel` is its path relative to the start.
 * `fn` returns 0 to go on, anything else to stop (returned). */
int ctxd_fs_pw_each(const struct ctxd_fs_pw *w,
		    int (*fn)(void *ud, const struct ctxd_fs_pw_node *d,
			      const struct ctxd_fs_pw_ent *e, const char *rel, size_t rel_len),
		    void *ud);

/* Free the tree and the states. NULL-safe. */
void ctxd_fs_pw_free(struct ctxd_fs_pw *w);

/* Test-only: when set, called at the start of every task with the slot of the thread that
 * runs it (0 = the calling worker). NULL in production. */
extern void (*ctxd_fs_pw_test_hook)(unsigned slot);

#endif
