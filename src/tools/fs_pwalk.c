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
#include "fs_priv.h"

#define PW_FD_DEPTH       32
#define PW_DENTS_BUF      32768
#define PW_BATCH          32 /* files per batch task */
#define PW_PROGRESS_EVERY 1000
#define PW_CLOCK_EVERY    64
#define PW_MAX_SLOTS      64

void (*ctxd_fs_pw_test_hook)(unsigned slot);

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

unsigned ctxd_fs_pw_slots(struct ctxd_pool *pool)
{
	unsigned n = pool ? ctxd_pool_size(pool) : 1;
	return n < 1 ? 1 : (n > PW_MAX_SLOTS ? PW_MAX_SLOTS : n);
}

void *ctxd_fs_pw_ud(const struct ctxd_fs_pw *w)
{
	return w->o->ud;
}

static void set_stop(struct ctxd_fs_pw *w, int why)
{
	int none = STOP_NONE;
	atomic_compare_exchange_strong(&w->stop, &none, why);
}

void ctxd_fs_pw_abort(struct ctxd_fs_pw *w)
{
	set_stop(w, STOP_ABORT);
}

bool ctxd_fs_pw_stopping(const struct ctxd_fs_pw *w)
{
	return atomic_load_explicit(&w->stop, memory_order_relaxed) != STOP_NONE;
}

/* Look at the cancel flag (always) and the deadline (when `clock`). */
static bool check_stop(struct ctxd_fs_pw *w, bool clock);

bool ctxd_fs_pw_check(struct ctxd_fs_pw *w)
{
	return check_stop(w, true);
}

static bool check_stop(struct ctxd_fs_pw *w, bool clock)
{
	if (ctxd_job_cancelled(w->o->job)) {
		set_stop(w, STOP_CANCEL);
	} else if (clock && ctxd_deadline_passed(w->o->deadline_ms)) {
		set_stop(w, STOP_DEADLINE);
	}
	return ctxd_fs_pw_stopping(w);
}

static void report(struct ctxd_fs_pw *w, double value, const char *message)
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
	report(w, (double)atomic_load(&w->seen) + fraction, message);
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

static int heap_push(struct ctxd_fs_pw *w, struct task t)
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

static void fd_put(struct ctxd_fs_pw_node *n)
{
	if (atomic_fetch_sub(&n->fd_refs, 1) == 1 && n->fd >= 0) {
		close(n->fd);
		n->fd = -1;
	}
}

/* A task that will not run gives back the fd references it held. */
static void task_drop(struct task *t)
{
	fd_put(t->dir ? t->node->anchor : t->node);
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
static void post_helpers(struct ctxd_fs_pw *w)
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

/* ---- reading a directory --------------------------------------------------------------- */

static int cmp_ent(const void *a, const void *b, void *arg)
{
	const char *names = arg;
	const struct ctxd_fs_pw_ent *x = a, *y = b;
	return strcmp(names + x->name_off, names + y->name_off);
}

struct reading {
	struct slot *s;
	size_t n, nb;
};

static int reading_add(void *ud, const char *nm, size_t len, enum ctxd_fs_walk_type type)
{
	struct reading *r = ud;
	struct slot *s = r->s;
	if (r->n >= UINT32_MAX - 1 || r->nb + len + 1 > UINT32_MAX ||
	    ctxd_grow((void **)&s->ents, &s->cap_ents, r->n + 1, sizeof(*s->ents), 64) < 0 ||
	    ctxd_grow((void **)&s->names, &s->cap_names, r->nb + len + 1, 1, 64) < 0) {
		return -ENOMEM;
	}
	s->ents[r->n++] = (struct ctxd_fs_pw_ent){
	    .name_off = (uint32_t)r->nb,
	    .name_len = (uint32_t)len,
	    .type = (uint8_t)type,
	};
	memcpy(s->names + r->nb, nm, len + 1);
	r->nb += len + 1;
	return 0;
}

/* Read every entry of `fd` into node `d` (sorted). Returns 0 or -errno. */
static int read_entries(struct ctxd_fs_pw *w, struct slot *s, int fd, struct ctxd_fs_pw_node *d)
{
	struct reading r = {.s = s};
	int rc = ctxd_fs_read_dir(fd, s->dents, sizeof(s->dents), w->o->job, w->o->deadline_ms,
				  reading_add, &r);
	if (rc == -ECANCELED || rc == -ETIMEDOUT) {
		check_stop(w, true);
		return -ECANCELED;
	}
	if (rc < 0) {
		return rc;
	}
	size_t n = r.n, nb = r.nb;
	d->ents = malloc((n ? n : 1) * sizeof(*d->ents));
	d->names = malloc(nb ? nb : 1);
	if (!d->ents || !d->names) {
		return -ENOMEM;
	}
	if (n) {
		memcpy(d->ents, s->ents, n * sizeof(*d->ents));
		memcpy(d->names, s->names, nb);
	}
	d->n = (uint32_t)n;
	if (n > 1) {
		qsort_r(d->ents, n, sizeof(*d->ents), cmp_ent, d->names);
	}
	atomic_fetch_add(&w->dirs, 1);
	return 0;
}

/* A node for entry `i` of `d` (a directory to read). NULL on ENOMEM. */
static struct ctxd_fs_pw_node *node_new(struct ctxd_fs_pw *w, struct ctxd_fs_pw_node *d, uint32_t i,
					const char *rel, size_t rel_len)
{
	struct ctxd_fs_pw_node *c = calloc(1, sizeof(*c));
	char *r = c ? malloc(rel_len + 1) : NULL;
	uint32_t *pos = r ? malloc((d->depth + 1) * sizeof(*pos)) : NULL;
	if (!pos) {
		free(c);
		free(r);
		return NULL;
	}
	memcpy(r, rel, rel_len + 1);
	if (d->depth) {
		memcpy(pos, d->pos, d->depth * sizeof(*pos));
	}
	pos[d->depth] = i;
	c->parent = d;
	c->idx = i;
	c->depth = d->depth + 1;
	c->rel = r;
	c->rel_len = rel_len;
	c->pos = pos;
	c->fd = -1;
	c->ign = d->ign;
	/* beyond PW_FD_DEPTH, directories open from the ancestor at that depth */
	c->anchor = d->depth < PW_FD_DEPTH ? d : d->anchor;
	pthread_mutex_lock(&w->mu);
	int rc = ctxd_grow((void **)&w->all, &w->cap_all, w->n_all + 1, sizeof(*w->all), 64);
	if (rc == 0) {
		w->all[w->n_all++] = c;
	}
	pthread_mutex_unlock(&w->mu);
	if (rc < 0) {
		free(r);
		free(pos);
		free(c);
		return NULL;
	}
	return c;
}

static unsigned ignore_bits(const struct ctxd_fs_pw_node *d)
{
	unsigned has = 0;
	for (uint32_t i = 0; i < d->n; i++) {
		const char *nm = d->names + d->ents[i].name_off;
		if (nm[0] != '.') {
			continue;
		}
		if (strcmp(nm, ".gitignore") == 0) {
			has |= CTXD_FS_HAS_GITIGNORE;
		} else if (strcmp(nm, ".ignore") == 0) {
			has |= CTXD_FS_HAS_IGNORE;
		} else if (strcmp(nm, ".rgignore") == 0) {
			has |= CTXD_FS_HAS_RGIGNORE;
		} else if (strcmp(nm, ".git") == 0) {
			has |= CTXD_FS_HAS_GIT;
		}
	}
	return has;
}

/* The file callback on the FILE entries of d[lo, hi); their DONE flags are published under
 * mu at the end. Returns the hits they got. */
static size_t run_files(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d, uint32_t lo,
			uint32_t hi)
{
	struct slot *s = w->slots[slot];
	size_t hits = 0;
	uint32_t i = lo;
	for (; i < hi; i++) {
		struct ctxd_fs_pw_ent *e = &d->ents[i];
		if (!(e->flags & CTXD_FS_PW_FILE)) {
			continue;
		}
		if (check_stop(w, false)) {
			break;
		}
		size_t sep = d->rel_len ? 1 : 0;
		memcpy(s->path, d->rel, d->rel_len);
		s->path[d->rel_len] = '/';
		memcpy(s->path + d->rel_len + sep, d->names + e->name_off, e->name_len + 1);
		w->o->ops->file(w, slot, d, i, s->path, d->rel_len + sep + e->name_len);
		hits += e->hits;
	}
	pthread_mutex_lock(&w->mu);
	for (uint32_t k = lo; k < i; k++) {
		if (d->ents[k].flags & CTXD_FS_PW_FILE) {
			d->ents[k].flags |= CTXD_FS_PW_DONE;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return hits;
}

/* The tasks a directory's read makes: its subdirectories, then its later file batches. */
struct kid_list {
	struct task *kids;
	size_t n_kids, cap_kids;
};

/* Opens directory d and reads its entries into it (d->fd holds the descriptor); false when it
 * cannot, once the failure is recorded and d->anchor's reference given back. */
static bool dir_open_read(struct ctxd_fs_pw *w, struct slot *s, struct ctxd_fs_pw_node *d)
{
	int fd;
	if (!d->parent) {
		fd = ctxd_sandbox_openat(w->start_fd, ".", O_RDONLY | O_DIRECTORY, 0, false);
	} else {
		const struct ctxd_fs_pw_node *a = d->anchor;
		const char *path = d->rel + (a->rel_len ? a->rel_len + 1 : 0);
		fd = ctxd_sandbox_openat(a->fd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, true);
	}
	int rc = fd < 0 ? -errno : read_entries(w, s, fd, d);
	if (rc < 0) {
		if (d->parent) {
			fd_put(d->anchor);
		}
		if (fd >= 0) {
			close(fd);
		}
		if (rc == -ENOMEM) {
			set_stop(w, STOP_NOMEM);
		} else if (rc != -ECANCELED && !d->parent) {
			w->start_err = rc;
		} else if (rc != -ECANCELED) {
			pthread_mutex_lock(&w->mu);
			d->parent->ents[d->idx].flags |= CTXD_FS_PW_UNREADABLE;
			pthread_mutex_unlock(&w->mu);
		}
		return false;
	}
	d->fd = fd;
	atomic_store(&d->fd_refs, 1);
	return true;
}

/* Loads the ignore files directory d holds (if any) on top of the rules it inherits. */
static void dir_enter_ignores(struct ctxd_fs_pw *w, struct ctxd_fs_pw_node *d)
{
	const struct ctxd_fs_pw_opts *o = w->o;
	unsigned has = ignore_bits(d);
	if (!has) {
		return;
	}
	char abs[2 * CTXD_PATH_MAX];
	const char *ap = NULL;
	if (o->abs && o->cache) {
		snprintf(abs, sizeof(abs), "%s%s%s", o->abs, d->rel_len ? "/" : "", d->rel);
		ap = abs;
	}
	bool oom;
	d->own_ign = ctxd_fs_ignore_enter(o->cache, d->fd, ap, has, d->ign,
					  d->rel_len ? d->rel_len + 1 : 0, NULL, &oom);
	if (oom) {
		set_stop(w, STOP_NOMEM);
	}
	if (d->own_ign) {
		d->ign = d->own_ign;
	}
}

/* Whether entry e of d (its path in s->path, rel_len bytes) is skipped as .git or by an ignore
 * rule: 0 = no, 1 = skipped, -1 = the ignore matcher gave up and the walk stops. */
static int entry_ignored(struct ctxd_fs_pw *w, struct slot *s, const struct ctxd_fs_pw_node *d,
			 const struct ctxd_fs_pw_ent *e, size_t rel_len)
{
	const char *name = d->names + e->name_off;
	if (e->name_len == 4 && memcmp(name, ".git", 4) == 0) {
		return 1;
	}
	if (d->ign &&
	    ctxd_fs_ignore_test(d->ign, &s->ictx, s->path, rel_len, s->path + rel_len - e->name_len,
				e->name_len, e->type == CTXD_FS_WALK_DIR)) {
		if (s->ictx.gave_up) {
			check_stop(w, true);
			if (!ctxd_fs_pw_stopping(w)) {
				set_stop(w, STOP_DEADLINE);
			}
			return -1;
		}
		return 1;
	}
	return 0;
}

/* Classifies entry i of d (its path in s->path; the flags in *fp) and, when it is a directory
 * to read, makes its node a task in k; false when out of memory (the walk then stops). */
static bool entry_classify(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
			   uint32_t i, size_t rel_len, struct kid_list *k, unsigned *fp)
{
	const struct ctxd_fs_pw_opts *o = w->o;
	struct slot *s = w->slots[slot];
	struct ctxd_fs_pw_ent *e = &d->ents[i];
	void *child_state = NULL;
	unsigned f = o->ops->classify(w, slot, d, i, s->path, rel_len, &child_state);
	e->flags = (uint8_t)f;
	*fp = f;
	if ((f & CTXD_FS_PW_DESCEND) && e->type == CTXD_FS_WALK_DIR &&
	    !(o->max_depth && d->depth + 1 >= o->max_depth)) {
		struct ctxd_fs_pw_node *c = node_new(w, d, i, s->path, rel_len);
		if (!c || ctxd_grow((void **)&k->kids, &k->cap_kids, k->n_kids + 1,
				    sizeof(*k->kids), 64) < 0) {
			if (o->ops->free_state) {
				o->ops->free_state(o->ud, child_state);
			}
			set_stop(w, STOP_NOMEM);
			return false;
		}
		c->state = child_state;
		e->child = c;
		k->kids[k->n_kids++] = (struct task){.node = c, .dir = true};
	} else {
		e->flags &= (uint8_t)~CTXD_FS_PW_DESCEND;
		if (child_state && o->ops->free_state) {
			o->ops->free_state(o->ud, child_state);
		}
	}
	return true;
}

/* Reads d's entries in order: skips the ignored, classifies the others, makes the
 * subdirectories to read tasks in k; the first file to search in *first_file and their count in
 * *files. Returns the hits of the entries kept. */
static size_t scan_entries(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
			   struct kid_list *k, uint32_t *first_file, uint32_t *files)
{
	const struct ctxd_fs_pw_opts *o = w->o;
	struct slot *s = w->slots[slot];
	size_t hits = 0;
	size_t sep = d->rel_len ? 1 : 0;
	memcpy(s->path, d->rel, d->rel_len);
	s->path[d->rel_len] = '/';
	for (uint32_t i = 0; i < d->n && !ctxd_fs_pw_stopping(w); i++) {
		struct ctxd_fs_pw_ent *e = &d->ents[i];
		size_t seen = atomic_fetch_add(&w->seen, 1) + 1;
		if (check_stop(w, seen % PW_CLOCK_EVERY == 0)) {
			break;
		}
		if (seen % PW_PROGRESS_EVERY == 0) {
			report(w, (double)seen, NULL);
		}
		const char *name = d->names + e->name_off;
		size_t rel_len = d->rel_len + sep + e->name_len;
		if (rel_len >= CTXD_PATH_MAX) {
			e->flags = CTXD_FS_PW_LONG;
			continue;
		}
		memcpy(s->path + d->rel_len + sep, name, e->name_len + 1);
		if (o->ignore) {
			int ign = entry_ignored(w, s, d, e, rel_len);
			if (ign < 0) {
				break;
			}
			if (ign) {
				continue;
			}
		}
		unsigned f;
		bool ok = entry_classify(w, slot, d, i, rel_len, k, &f);
		hits += (f & CTXD_FS_PW_KEEP) ? e->hits : 0;
		if (!ok) {
			break;
		}
		if (f & CTXD_FS_PW_FILE) {
			(*files)++;
			if (*first_file == UINT32_MAX) {
				*first_file = i;
			}
		}
	}
	return hits;
}

/* File batches of PW_BATCH files: the first runs here (its directory's fd is warm), the others
 * become tasks in k; each ends where the next begins. Returns where the first batch ends. */
static uint32_t batch_files(struct ctxd_fs_pw *w, struct ctxd_fs_pw_node *d, struct kid_list *k,
			    uint32_t first_file, uint32_t files)
{
	uint32_t inline_hi = d->n;
	struct task *last = NULL;
	for (uint32_t i = first_file, cnt = 0; files > PW_BATCH && i < d->n; i++) {
		if (!(d->ents[i].flags & CTXD_FS_PW_FILE) || cnt++ == 0 || (cnt - 1) % PW_BATCH) {
			continue;
		}
		if (ctxd_grow((void **)&k->kids, &k->cap_kids, k->n_kids + 1, sizeof(*k->kids),
			      64) < 0) {
			set_stop(w, STOP_NOMEM);
			break;
		}
		if (last) {
			last->hi = i;
		} else {
			inline_hi = i;
		}
		k->kids[k->n_kids] = (struct task){.node = d, .lo = i, .hi = d->n};
		last = &k->kids[k->n_kids++];
	}
	return inline_hi;
}

/* Marks d read and queues the tasks in k (each takes a reference on the fd it opens from),
 * waking the helpers and waiters. */
static void push_kids(struct ctxd_fs_pw *w, struct ctxd_fs_pw_node *d, struct kid_list *k)
{
	pthread_mutex_lock(&w->mu);
	d->read = true;
	bool pushed = true;
	for (size_t i = 0; i < k->n_kids; i++) {
		struct task *t = &k->kids[i];
		atomic_fetch_add(t->dir ? &t->node->anchor->fd_refs : &d->fd_refs, 1);
		if (heap_push(w, *t) < 0) {
			task_drop(t);
			pushed = false;
		}
	}
	if (!pushed) {
		set_stop(w, STOP_NOMEM);
	}
	if (k->n_kids && w->o->pool) {
		post_helpers(w);
	}
	if (k->n_kids) {
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

/* Read directory `d` (its open reference on d->anchor is ours to give back). Returns the
 * hits its entries got. */
static size_t run_dir(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d)
{
	if (!dir_open_read(w, w->slots[slot], d)) {
		return 0;
	}
	if (w->o->ignore) {
		dir_enter_ignores(w, d);
	}
	struct kid_list k = {0};
	uint32_t first_file = UINT32_MAX, files = 0;
	size_t hits = scan_entries(w, slot, d, &k, &first_file, &files);
	uint32_t inline_hi = batch_files(w, d, &k, first_file, files);
	push_kids(w, d, &k);
	free(k.kids);
	if (d->parent) {
		fd_put(d->anchor); /* after the subdirectories that open from it took theirs */
	}
	if (files && !ctxd_fs_pw_stopping(w)) {
		hits += run_files(w, slot, d, first_file, inline_hi);
	}
	fd_put(d);
	return hits;
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
				task_drop(&t);
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
			task_drop(&t);
			continue;
		}
		w->running++;
		pthread_mutex_unlock(&w->mu);
		if (ctxd_fs_pw_test_hook) {
			ctxd_fs_pw_test_hook(slot);
		}
		size_t hits = t.dir ? run_dir(w, slot, t.node) : 0;
		if (!t.dir) {
			if (!ctxd_fs_pw_stopping(w)) {
				hits = run_files(w, slot, t.node, t.lo, t.hi);
			}
			fd_put(t.node);
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
	heap_push(w, (struct task){.node = w->root, .dir = true});
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
			if (n == cap) {
				const struct ctxd_fs_pw_node **s2 =
				    realloc(st, 2 * cap * sizeof(*st));
				if (s2) {
					st = s2;
				}
				uint32_t *a2 = s2 ? realloc(at, 2 * cap * sizeof(*at)) : NULL;
				if (!a2) {
					rc = -ENOMEM;
					break;
				}
				at = a2;
				cap *= 2;
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
