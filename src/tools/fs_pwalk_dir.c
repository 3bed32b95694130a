/* fs_pwalk_dir.c - one directory task of the parallel walk (fs_pwalk.h): its entries read and
 * sorted, the ignore files it holds entered, each entry classified, its files searched in
 * batches of PW_BATCH, its subdirectories queued as tasks in walk order.
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
#include "fs_pwalk_priv.h"

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
		ctxd_pw_check_stop(w, true);
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
size_t ctxd_pw_run_files(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
			 uint32_t lo, uint32_t hi)
{
	struct slot *s = w->slots[slot];
	size_t hits = 0;
	uint32_t i = lo;
	for (; i < hi; i++) {
		struct ctxd_fs_pw_ent *e = &d->ents[i];
		if (!(e->flags & CTXD_FS_PW_FILE)) {
			continue;
		}
		if (ctxd_pw_check_stop(w, false)) {
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
			ctxd_pw_fd_put(d->anchor);
		}
		if (fd >= 0) {
			close(fd);
		}
		if (rc == -ENOMEM) {
			ctxd_pw_set_stop(w, STOP_NOMEM);
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
		ctxd_pw_set_stop(w, STOP_NOMEM);
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
			ctxd_pw_check_stop(w, true);
			if (!ctxd_fs_pw_stopping(w)) {
				ctxd_pw_set_stop(w, STOP_DEADLINE);
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
			ctxd_pw_set_stop(w, STOP_NOMEM);
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
		if (ctxd_pw_check_stop(w, seen % PW_CLOCK_EVERY == 0)) {
			break;
		}
		if (seen % PW_PROGRESS_EVERY == 0) {
			ctxd_pw_report(w, (double)seen, NULL);
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
			ctxd_pw_set_stop(w, STOP_NOMEM);
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
		if (ctxd_pw_heap_push(w, *t) < 0) {
			ctxd_pw_task_drop(t);
			pushed = false;
		}
	}
	if (!pushed) {
		ctxd_pw_set_stop(w, STOP_NOMEM);
	}
	if (k->n_kids && w->o->pool) {
		ctxd_pw_post_helpers(w);
	}
	if (k->n_kids) {
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
}

/* Read directory `d` (its open reference on d->anchor is ours to give back). Returns the
 * hits its entries got. */
size_t ctxd_pw_run_dir(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d)
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
		ctxd_pw_fd_put(
		    d->anchor); /* after the subdirectories that open from it took theirs */
	}
	if (files && !ctxd_fs_pw_stopping(w)) {
		hits += ctxd_pw_run_files(w, slot, d, first_file, inline_hi);
	}
	ctxd_pw_fd_put(d);
	return hits;
}
