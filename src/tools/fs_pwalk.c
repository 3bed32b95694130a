/* fs_pwalk.c - the walk of fs_pwalk.h: one task queue, the calling worker plus helpers.
 *
 * Tasks: reading a directory (its open, getdents64, sort, ignore files, the classify
 * callback per entry; the first batch of its files right away) and a batch of a directory's
 * files (the file callback per file). Tasks wait in a heap ordered by walk position (the
 * entry indices from the start down), so the walk stays close to depth-first whatever the
 * number of threads: few directory fds stay open, and with a result limit little is done
 * past the answer.
 *
 * Directory fds are reference counted: a directory keeps its fd while its file batches or
 * the opens of its subdirectories wait. Directories deeper than PW_FD_DEPTH do not pin their
 * own fd for their subdirectories: those are opened by path from the ancestor at that depth
 * (as fs_walk does), so a deep tree cannot hold more than about PW_FD_DEPTH fds per thread.
 *
 * Result limit: every task adds the hits of its entries to `found`. Once more than `limit`
 * were found anywhere, the first limit + 1 hits among the entries finished in walk order
 * give a position past which nothing can be in the answer (entries not finished count as
 * none, so the true cut can only lie before it): tasks past it are dropped. The cut moves
 * only backwards and is recomputed when a task before it ends with hits.
 */
#include "fs_pwalk.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"
#include "fs_priv.h"
#include "fs_pwalk_priv.h"

void (*ctxd_fs_pw_test_hook)(unsigned slot);

unsigned ctxd_fs_pw_slots(struct ctxd_pool *pool)
{
	unsigned n = pool ? ctxd_pool_size(pool) : 1;
	return n < 1 ? 1 : (n > PW_MAX_SLOTS ? PW_MAX_SLOTS : n);
}

void *ctxd_fs_pw_ud(const struct ctxd_fs_pw *w)
{
	return w->o->ud;
}

void ctxd_pw_set_stop(struct ctxd_fs_pw *w, int why)
{
	int none = STOP_NONE;
	atomic_compare_exchange_strong(&w->stop, &none, why);
}

void ctxd_fs_pw_abort(struct ctxd_fs_pw *w)
{
	ctxd_pw_set_stop(w, STOP_ABORT);
}

bool ctxd_fs_pw_stopping(const struct ctxd_fs_pw *w)
{
	return atomic_load_explicit(&w->stop, memory_order_relaxed) != STOP_NONE;
}

/* Look at the cancel flag (always) and the deadline (when `clock`). */
bool ctxd_fs_pw_check(struct ctxd_fs_pw *w)
{
	return ctxd_pw_check_stop(w, true);
}

bool ctxd_pw_check_stop(struct ctxd_fs_pw *w, bool clock)
{
	if (ctxd_job_cancelled(w->o->job)) {
		ctxd_pw_set_stop(w, STOP_CANCEL);
	} else if (clock && ctxd_deadline_passed(w->o->deadline_ms)) {
		ctxd_pw_set_stop(w, STOP_DEADLINE);
	}
	return ctxd_fs_pw_stopping(w);
}

void ctxd_pw_report(struct ctxd_fs_pw *w, double value, const char *message)
{
	if (!w->o->progress) {
		return;
	}
	pthread_mutex_lock(&w->prog_mu);
	if (value > w->prog_last) {
		w->prog_last = value;
		w->o->progress->report(w->o->progress, value, -1, message);
	}
	pthread_mutex_unlock(&w->prog_mu);
}

void ctxd_fs_pw_progress(struct ctxd_fs_pw *w, double fraction, const char *message)
{
	ctxd_pw_report(w, (double)atomic_load(&w->seen) + fraction, message);
}

void ctxd_fs_pw_counts(const struct ctxd_fs_pw *w, size_t *entries, size_t *dirs)
{
	*entries = atomic_load(&((struct ctxd_fs_pw *)w)->seen);
	*dirs = atomic_load(&((struct ctxd_fs_pw *)w)->dirs);
}

/* ---- positions ------------------------------------------------------------------------- */

/* Walk order of (node a, then entry ea if has_a) against (node b, entry eb if has_b). */
static int pos_cmp(const struct ctxd_fs_pw_node *a, bool has_a, uint32_t ea,
		   const struct ctxd_fs_pw_node *b, bool has_b, uint32_t eb)
{
	unsigned na = a->depth + has_a, nb = b->depth + has_b;
	unsigned n = na < nb ? na : nb;
	for (unsigned k = 0; k < n; k++) {
		uint32_t x = k < a->depth ? a->pos[k] : ea;
		uint32_t y = k < b->depth ? b->pos[k] : eb;
		if (x != y) {
			return x < y ? -1 : 1;
		}
	}
	return na < nb ? -1 : (na > nb ? 1 : 0);
}

static int task_cmp(const struct task *x, const struct task *y)
{
	return pos_cmp(x->node, !x->dir, x->lo, y->node, !y->dir, y->lo);
}

/* True when the task lies past the limit's cut (caller holds mu). */
static bool past_cut(const struct ctxd_fs_pw *w, const struct task *t)
{
	return w->cut_node && pos_cmp(t->node, !t->dir, t->lo, w->cut_node, true, w->cut_idx) > 0;
}

/* ---- the heap (caller holds mu) -------------------------------------------------------- */

int ctxd_pw_heap_push(struct ctxd_fs_pw *w, struct task t)
{
	if (ctxd_grow((void **)&w->heap, &w->cap_heap, w->n_heap + 1, sizeof(*w->heap), 64) < 0) {
		return -1;
	}
	size_t i = w->n_heap++;
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (task_cmp(&w->heap[p], &t) <= 0) {
			break;
		}
		w->heap[i] = w->heap[p];
		i = p;
	}
	w->heap[i] = t;
	return 0;
}

static struct task heap_pop(struct ctxd_fs_pw *w)
{
	struct task top = w->heap[0];
	struct task last = w->heap[--w->n_heap];
	size_t i = 0, n = w->n_heap;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n) {
			break;
		}
		if (c + 1 < n && task_cmp(&w->heap[c + 1], &w->heap[c]) < 0) {
			c++;
		}
		if (task_cmp(&last, &w->heap[c]) <= 0) {
			break;
		}
		w->heap[i] = w->heap[c];
		i = c;
	}
	if (n) {
		w->heap[i] = last;
	}
	return top;
}

/* ---- fds ------------------------------------------------------------------------------- */

void ctxd_pw_fd_put(struct ctxd_fs_pw_node *n)
{
	if (atomic_fetch_sub(&n->fd_refs, 1) == 1 && n->fd >= 0) {
		close(n->fd);
		n->fd = -1;
	}
}

/* A task that will not run gives back the fd references it held. */
void ctxd_pw_task_drop(struct task *t)
{
	ctxd_pw_fd_put(t->dir ? t->node->anchor : t->node);
}

/* ---- helpers --------------------------------------------------------------------------- */

static void run_tasks(struct ctxd_fs_pw *w, unsigned slot, bool helper);

static void helper_work(struct ctxd_job *job)
{
	struct helper *h = (struct helper *)job;
	struct ctxd_fs_pw *w = h->w;
	pthread_mutex_lock(&w->mu);
	h->st = H_RUNNING;
	run_tasks(w, h->slot, true);
	h->st = H_IDLE;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu); /* the last touch: the owner may free w now */
}

/* Queue idle helpers for the tasks waiting (caller holds mu). */
void ctxd_pw_post_helpers(struct ctxd_fs_pw *w)
{
	size_t want = w->n_heap;
	for (unsigned i = 0; i + 1 < w->n_slots && want > 0; i++) {
		struct helper *h = &w->helpers[i];
		if (h->st == H_IDLE) {
			h->st = H_QUEUED;
			ctxd_pool_submit_helper(w->o->pool, &h->job, helper_work);
			want--;
		} else if (h->st == H_QUEUED) {
			want--;
		}
	}
}

/* ---- the limit's cut ------------------------------------------------------------------- */

/* Recompute the cut from the finished entries in walk order (caller holds mu). */
static void recompute_cut(struct ctxd_fs_pw *w)
{
	struct frame {
		struct ctxd_fs_pw_node *d;
		uint32_t i;
	};
	struct frame stack[64];
	struct frame *st = stack;
	size_t cap = 64, n = 0;
	size_t sum = 0;
	if (!w->root->read) {
		return;
	}
	st[n++] = (struct frame){w->root, 0};
	while (n > 0) {
		struct frame *f = &st[n - 1];
		if (f->i >= f->d->n) {
			n--;
			continue;
		}
		uint32_t i = f->i++;
		struct ctxd_fs_pw_ent *e = &f->d->ents[i];
		if ((e->flags & CTXD_FS_PW_KEEP) &&
		    (!(e->flags & CTXD_FS_PW_FILE) || (e->flags & CTXD_FS_PW_DONE))) {
			sum += e->hits;
			if (sum > w->o->limit) {
				w->cut_node = f->d;
				w->cut_idx = i;
				break;
			}
		}
		if (e->child && e->child->read) {
			if (n == cap) {
				struct frame *bigger = malloc(2 * cap * sizeof(*bigger));
				if (!bigger) {
					break; /* keep the old cut: it is still a valid bound */
				}
				memcpy(bigger, st, n * sizeof(*st));
				if (st != stack) {
					free(st);
				}
				st = bigger;
				cap *= 2;
			}
			st[n++] = (struct frame){e->child, 0};
		}
	}
	if (st != stack) {
		free(st);
	}
}

/* ---- the task loop --------------------------------------------------------------------- */

/* Take and run tasks until there are none (helpers: or requests wait for a worker). Called
 * with mu held; returns with it held. */
static void run_tasks(struct ctxd_fs_pw *w, unsigned slot, bool helper)
{
	for (;;) {
		if (ctxd_fs_pw_stopping(w)) {
			while (w->n_heap) {
				struct task t = heap_pop(w);
				ctxd_pw_task_drop(&t);
			}
		}
		if (helper && (w->n_heap == 0 || ctxd_pool_contended(w->o->pool))) {
			return;
		}
		if (w->n_heap == 0) {
			if (w->running == 0) {
				return;
			}
			pthread_cond_wait(&w->cv, &w->mu);
			continue;
		}
		struct task t = heap_pop(w);
		if (past_cut(w, &t)) {
			ctxd_pw_task_drop(&t);
			continue;
		}
		w->running++;
		pthread_mutex_unlock(&w->mu);
		if (ctxd_fs_pw_test_hook) {
			ctxd_fs_pw_test_hook(slot);
		}
		size_t hits = t.dir ? ctxd_pw_run_dir(w, slot, t.node) : 0;
		if (!t.dir) {
			if (!ctxd_fs_pw_stopping(w)) {
				hits = ctxd_pw_run_files(w, slot, t.node, t.lo, t.hi);
			}
			ctxd_pw_fd_put(t.node);
		}
		size_t found = hits ? atomic_fetch_add(&w->found, hits) + hits : 0;
		pthread_mutex_lock(&w->mu);
		w->running--;
		if (w->o->limit && found > w->o->limit &&
		    (!w->cut_node ||
		     pos_cmp(t.node, !t.dir, t.lo, w->cut_node, true, w->cut_idx) < 0)) {
			recompute_cut(w);
		}
		if (w->running == 0 && w->n_heap == 0) {
			pthread_cond_broadcast(&w->cv);
		}
	}
}

/* ---- running and freeing ----------------------------------------------------------------- */

int ctxd_fs_pw_run(int dirfd, const struct ctxd_fs_pw_opts *o, struct ctxd_fs_pw **out)
{
	*out = NULL;
	struct ctxd_fs_pw *w = calloc(1, sizeof(*w));
	if (!w) {
		return -ENOMEM;
	}
	w->o = o;
	w->start_fd = dirfd;
	w->n_slots = o->pool ? ctxd_fs_pw_slots(o->pool) : 1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_mutex_init(&w->prog_mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->prog_last = -1;
	w->slots = calloc(w->n_slots, sizeof(*w->slots));
	w->helpers = calloc(w->n_slots, sizeof(*w->helpers));
	w->root = calloc(1, sizeof(*w->root));
	if (!w->slots || !w->helpers || !w->root) {
		ctxd_fs_pw_free(w);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < w->n_slots; i++) {
		if (!(w->slots[i] = calloc(1, sizeof(*w->slots[i])))) {
			ctxd_fs_pw_free(w);
			return -ENOMEM;
		}
		w->slots[i]->ictx.job = o->job;
		w->slots[i]->ictx.deadline_ms = o->deadline_ms;
	}
	for (unsigned i = 0; i + 1 < w->n_slots; i++) {
		w->helpers[i].w = w;
		w->helpers[i].slot = i + 1;
	}
	w->root->rel = "";
	w->root->fd = -1;
	w->root->state = o->root_state;
	w->root->ign = o->above;
	w->root->anchor = w->root;

	pthread_mutex_lock(&w->mu);
	ctxd_pw_heap_push(w, (struct task){.node = w->root, .dir = true});
	atomic_store(&w->root->fd_refs, 1); /* the root task's reference, given back unused */
	run_tasks(w, 0, false);
	/* Every task has ended; take back the helpers that did not start and wait for the
	 * others to leave. */
	for (;;) {
		bool busy = false;
		for (unsigned i = 0; i + 1 < w->n_slots; i++) {
			struct helper *h = &w->helpers[i];
			if (h->st == H_QUEUED) {
				pthread_mutex_unlock(&w->mu);
				int rc = ctxd_pool_withdraw(o->pool, &h->job);
				pthread_mutex_lock(&w->mu);
				if (rc == 0) {
					h->st = H_IDLE;
				}
			}
			busy |= h->st != H_IDLE;
		}
		if (!busy) {
			break;
		}
		pthread_cond_wait(&w->cv, &w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	*out = w;
	switch (atomic_load(&w->stop)) {
	case STOP_CANCEL:
		return -ECANCELED;
	case STOP_DEADLINE:
		return -ETIMEDOUT;
	case STOP_NOMEM:
		return -ENOMEM;
	case STOP_ABORT:
		return -ECONNABORTED;
	default:
		return w->start_err;
	}
}

int ctxd_fs_pw_prepare(struct ctxd_fs_pw_opts *o, const struct ctxd_tool_ctx *ctx,
		       const struct ctxd_sandbox_loc *loc, bool ignore, char *abs, size_t abs_cap,
		       struct ctxd_fs_ignore_level **above)
{
	bool at_root = strcmp(loc->rel, ".") == 0;
	snprintf(abs, abs_cap, "%s%s%s", loc->root->path, at_root ? "" : "/",
		 at_root ? "" : loc->rel);
	o->job = ctx->job;
	o->deadline_ms = ctx->deadline_ms;
	o->progress = ctx->progress;
	o->pool = ctx->pool;
	o->ignore = ignore;
	o->cache = ctx->ud ? ctxd_fs_family_ignore_cache(ctx->ud) : NULL;
	o->abs = abs;
	*above = NULL;
	if (ignore) {
		bool oom;
		*above = ctxd_fs_ignore_parents(o->cache, loc->root->fd, loc->root->path, loc->rel,
						&oom);
		if (oom) {
			return -ENOMEM;
		}
	}
	o->above = *above;
	return 0;
}

int ctxd_fs_pw_each(const struct ctxd_fs_pw *w,
		    int (*fn)(void *ud, const struct ctxd_fs_pw_node *d,
			      const struct ctxd_fs_pw_ent *e, const char *rel, size_t rel_len),
		    void *ud)
{
	if (!w || !w->root->read) {
		return 0;
	}
	const struct ctxd_fs_pw_node **st = malloc(64 * sizeof(*st));
	uint32_t *at = malloc(64 * sizeof(*at));
	char *path = malloc(CTXD_PATH_MAX);
	size_t cap = 64, n = 0;
	int rc = 0;
	if (!st || !at || !path) {
		rc = -ENOMEM;
		goto out;
	}
	st[n] = w->root;
	at[n++] = 0;
	while (n > 0 && rc == 0) {
		const struct ctxd_fs_pw_node *d = st[n - 1];
		if (at[n - 1] >= d->n) {
			n--;
			continue;
		}
		const struct ctxd_fs_pw_ent *e = &d->ents[at[n - 1]++];
		if (e->flags & (CTXD_FS_PW_KEEP | CTXD_FS_PW_UNREADABLE | CTXD_FS_PW_LONG)) {
			size_t sep = d->rel_len ? 1 : 0;
			size_t len = d->rel_len + sep + e->name_len;
			if (len < CTXD_PATH_MAX) {
				memcpy(path, d->rel, d->rel_len);
				path[d->rel_len] = '/';
				memcpy(path + d->rel_len + sep, d->names + e->name_off,
				       e->name_len + 1);
			} else {
				path[0] = '\0';
				len = 0;
			}
			rc = fn(ud, d, e, path, len);
		}
		if (rc == 0 && e->child && e->child->read) {
			if (ctxd_grow_pair((void **)&st, sizeof(*st), (void **)&at, sizeof(*at),
					   &cap, n + 1, 64)) {
				rc = -ENOMEM;
				break;
			}
			st[n] = e->child;
			at[n++] = 0;
		}
	}
out:
	free(st);
	free(at);
	free(path);
	return rc;
}

static void node_free(const struct ctxd_fs_pw_opts *o, struct ctxd_fs_pw_node *d, bool root)
{
	if (!d) {
		return;
	}
	if (d->fd >= 0) {
		close(d->fd);
	}
	if (!root && d->state && o->ops->free_state) {
		o->ops->free_state(o->ud, d->state);
	}
	ctxd_fs_ignore_level_free(d->own_ign);
	free(d->ents);
	free(d->names);
	free(d->pos);
	if (!root) {
		free((char *)d->rel);
	}
	free(d);
}

void ctxd_fs_pw_free(struct ctxd_fs_pw *w)
{
	if (!w) {
		return;
	}
	/* deepest first, so that no level is freed before those made below it */
	for (size_t i = w->n_all; i-- > 0;) {
		node_free(w->o, w->all[i], false);
	}
	node_free(w->o, w->root, true);
	for (unsigned i = 0; w->slots && i < w->n_slots; i++) {
		if (w->slots[i]) {
			free(w->slots[i]->ents);
			free(w->slots[i]->names);
			free(w->slots[i]);
		}
	}
	free(w->slots);
	free(w->helpers);
	free(w->heap);
	free(w->all);
	pthread_mutex_destroy(&w->mu);
	pthread_mutex_destroy(&w->prog_mu);
	pthread_cond_destroy(&w->cv);
	free(w);
}
