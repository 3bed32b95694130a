/* fs_pwalk_priv.h - the parallel walk's state, shared by fs_pwalk.c (the task queue, helpers,
 * the limit's cut, running and freeing) and fs_pwalk_dir.c (reading one directory: entries
 * sorted, ignore rules, files searched in batches, subdirectories queued). Internal to
 * src/tools.
 */
#ifndef CTXD_FS_PWALK_PRIV_H
#define CTXD_FS_PWALK_PRIV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fs_pwalk.h"

#define PW_FD_DEPTH       32
#define PW_DENTS_BUF      32768
#define PW_BATCH          32 /* files per batch task */
#define PW_PROGRESS_EVERY 1000
#define PW_CLOCK_EVERY    64
#define PW_MAX_SLOTS      64

enum { STOP_NONE = 0, STOP_CANCEL, STOP_DEADLINE, STOP_NOMEM, STOP_ABORT };
enum { H_IDLE = 0, H_QUEUED, H_RUNNING };

struct task {
	struct ctxd_fs_pw_node *node;
	uint32_t lo, hi; /* a file batch: entries [lo, hi) */
	bool dir;        /* read node (lo, hi unused) */
};

struct helper {
	struct ctxd_job job; /* first: the pool hands this back */
	struct ctxd_fs_pw *w;
	unsigned slot;
	int st;
};

/* What one thread keeps for itself. */
struct slot {
	char dents[PW_DENTS_BUF];
	char path[CTXD_PATH_MAX];
	struct ctxd_fs_pw_ent *ents; /* a directory's entries while it is read */
	size_t cap_ents;
	char *names;
	size_t cap_names;
	struct ctxd_fs_ignore_ctx ictx;
};

struct ctxd_fs_pw {
	const struct ctxd_fs_pw_opts *o;
	int start_fd;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct task *heap;
	size_t n_heap, cap_heap;
	unsigned running;
	atomic_int stop;
	int start_err;
	unsigned n_slots;
	struct slot **slots;
	struct helper *helpers; /* n_slots - 1 of them: slot i + 1 */
	atomic_size_t found;
	struct ctxd_fs_pw_node *cut_node; /* the limit's cut: (node, entry), or NULL */
	uint32_t cut_idx;
	struct ctxd_fs_pw_node *root;
	struct ctxd_fs_pw_node **all; /* every node made, for freeing */
	size_t n_all, cap_all;
	atomic_size_t seen, dirs;
	pthread_mutex_t prog_mu;
	double prog_last;
};

/* fs_pwalk.c */
/* Look at the cancel flag (always) and the deadline (when `clock`); true when the walk
 * must stop. Any walk thread. */
bool ctxd_pw_check_stop(struct ctxd_fs_pw *w, bool clock);
/* Drop one reference to node `n`'s directory fd; the last one closes it. */
void ctxd_pw_fd_put(struct ctxd_fs_pw_node *n);
/* Queue task `t` in walk order. 0, or -1 on ENOMEM. Caller holds mu. */
int ctxd_pw_heap_push(struct ctxd_fs_pw *w, struct task t);
/* Queue idle helpers for the tasks waiting. Caller holds mu. */
void ctxd_pw_post_helpers(struct ctxd_fs_pw *w);
/* Report progress `value` with `message` when it rises (never backwards); nothing without
 * a progressToken. */
void ctxd_pw_report(struct ctxd_fs_pw *w, double value, const char *message);
/* Stop the walk for reason `why` (STOP_*); the first reason wins. */
void ctxd_pw_set_stop(struct ctxd_fs_pw *w, int why);
/* A task that will not run gives back the fd references it held. */
void ctxd_pw_task_drop(struct task *t);

/* fs_pwalk_dir.c */
/* Read directory `d` on `slot`: entries sorted, ignore files entered, files searched in
 * batches, subdirectories queued. Returns the entries seen. */
size_t ctxd_pw_run_dir(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d);
/* Search the files lo..hi-1 of directory `d` on `slot`. Returns the entries seen. */
size_t ctxd_pw_run_files(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
			 uint32_t lo, uint32_t hi);

#endif
