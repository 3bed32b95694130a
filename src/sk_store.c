/* sk_store.c - the skills store object: create and destroy, the client roots, and hot
 * reload (a watch on every directory a scan looked at, a reload job on the pool, the change
 * callback the upper layer registered). See include/ctxd/sk_store.h.
 */
#include "ctxd/sk_store.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/log.h"
#include "sk_priv.h"

struct ctxd_skills *ctxd_sk_create(const struct ctxd_config *cfg, const struct ctxd_sandbox *sb,
				   struct ctxd_pool *pool, struct ctxd_error *err)
{
	struct ctxd_skills *sk = calloc(1, sizeof(*sk));
	if (!sk) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "skills: out of memory");
		return NULL;
	}
	sk->cfg = cfg;
	sk->sb = sb;
	sk->pool = pool;
	pthread_mutex_init(&sk->scan_lock, NULL);
	pthread_mutex_init(&sk->snap_lock, NULL);
	if (ctxd_sk_dirs_init(sk) < 0) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "skills: out of memory");
		ctxd_sk_destroy(sk);
		return NULL;
	}
	return sk;
}

void ctxd_sk_destroy(struct ctxd_skills *sk)
{
	if (!sk) {
		return;
	}
	for (size_t i = 0; i < sk->n_regs; i++) {
		free(sk->regs[i]->dir);
		free(sk->regs[i]);
	}
	free(sk->regs);
	ctxd_sk_want_free(sk->rj.want, sk->rj.n_want);
	ctxd_sk_want_free(sk->want, sk->n_want);
	ctxd_sk_snapshot_put(sk->cur);
	ctxd_sk_docs_free(sk->docs, sk->n_docs);
	ctxd_sk_dirs_free(sk);
	pthread_mutex_destroy(&sk->scan_lock);
	pthread_mutex_destroy(&sk->snap_lock);
	free(sk);
}

/* ---- hot reload ----------------------------------------------------------------------- */

static void schedule(struct ctxd_skills *sk);

static void reload_work(struct ctxd_job *job)
{
	struct reload_job *rj = (struct reload_job *)job;
	struct ctxd_skills *sk = rj->sk;
	ctxd_sk_rescan(sk);
	pthread_mutex_lock(&sk->snap_lock);
	rj->changed = sk->announce;
	sk->announce = false;
	pthread_mutex_unlock(&sk->snap_lock);
	pthread_mutex_lock(&sk->scan_lock);
	rj->want = calloc(sk->n_want ? sk->n_want : 1, sizeof(*rj->want));
	rj->n_want = 0;
	for (size_t i = 0; rj->want && i < sk->n_want; i++) {
		rj->want[i].dir = strdup(sk->want[i].dir);
		rj->want[i].filter = sk->want[i].filter;
		if (!rj->want[i].dir) {
			break;
		}
		rj->n_want++;
	}
	pthread_mutex_unlock(&sk->scan_lock);
}

static int want_cmp(const char *d1, const char *f1, const char *d2, const char *f2)
{
	int c = strcmp(d1, d2);
	if (c) {
		return c;
	}
	return strcmp(f1 ? f1 : "", f2 ? f2 : "");
}

static int cmp_want(const void *a, const void *b)
{
	const struct watch_want *x = a, *y = b;
	return want_cmp(x->dir, x->filter, y->dir, y->filter);
}

static void on_watch_event(void *ud, const char *dir, const char *name, uint32_t mask)
{
	(void)dir;
	(void)mask;
	struct watch_reg *r = ud;
	if (r->filter && strcmp(name, r->filter) != 0) {
		return;
	}
	schedule(r->sk);
}

/* Make the registrations match `want` (sorted here): loop thread. Returns how many
 * directories are watched that were not before. */
static size_t sync_watches(struct ctxd_skills *sk, struct watch_want *want, size_t n)
{
	size_t added = 0;
	if (!sk->watch) {
		return 0;
	}
	if (n > 1) { /* qsort needs a valid array even for 0 items */
		qsort(want, n, sizeof(*want), cmp_want);
	}
	size_t u = 0;
	for (size_t i = 0; i < n; i++) {
		if (u > 0 && cmp_want(&want[u - 1], &want[i]) == 0) {
			free(want[i].dir);
			want[i].dir = NULL;
			continue;
		}
		want[u++] = want[i];
	}
	for (size_t i = u; i < n; i++) {
		want[i].dir = NULL;
	}
	struct watch_reg **next = calloc(n ? n : 1, sizeof(*next));
	if (!next) {
		return 0; /* keep the old registrations */
	}
	n = u;
	size_t i = 0, j = 0, k = 0;
	while (i < sk->n_regs || j < n) {
		int c = i == sk->n_regs ? 1
			: j == n        ? -1
				 : want_cmp(sk->regs[i]->dir, sk->regs[i]->filter, want[j].dir,
					    want[j].filter);
		if (c < 0) {
			ctxd_watch_remove(sk->watch, sk->regs[i]->id);
			free(sk->regs[i]->dir);
			free(sk->regs[i]);
			i++;
		} else if (c == 0) {
			next[k++] = sk->regs[i++];
			j++;
		} else {
			struct watch_reg *r = malloc(sizeof(*r));
			if (r) {
				*r = (struct watch_reg){sk, want[j].dir, want[j].filter, 0};
				r->id = ctxd_watch_add(sk->watch, r->dir, on_watch_event, r);
				if (r->id > 0) {
					want[j].dir = NULL; /* now owned by r */
					next[k++] = r;
					added++;
				} else {
					free(r);
				}
			}
			j++;
		}
	}
	free(sk->regs);
	sk->regs = next;
	sk->n_regs = k;
	return added;
}

static void reload_done(struct ctxd_job *job, bool dropped)
{
	struct reload_job *rj = (struct reload_job *)job;
	struct ctxd_skills *sk = rj->sk;
	sk->busy = false;
	if (!dropped && !sk->detached) {
		if (rj->changed && sk->on_change) {
			sk->on_change(sk->on_change_ud);
		}
		/* A directory the scan found is watched only from now on: what was written in
		 * it between the scan's listing and this registration (a SKILL.md right after
		 * its new directory) would never be reported. Scan once more when anything new
		 * is watched; that scan registers nothing new unless more appeared. */
		if (sync_watches(sk, rj->want, rj->n_want) > 0) {
			sk->dirty = true;
		}
	}
	ctxd_sk_want_free(rj->want, rj->n_want);
	rj->want = NULL;
	rj->n_want = 0;
	if (!dropped && sk->dirty && !sk->detached) {
		sk->dirty = false;
		schedule(sk);
	}
}

static void schedule(struct ctxd_skills *sk)
{
	if (sk->detached || !sk->pool) {
		return;
	}
	if (sk->busy) {
		sk->dirty = true;
		return;
	}
	sk->busy = true;
	memset(&sk->rj.job, 0, sizeof(sk->rj.job));
	atomic_init(&sk->rj.job.cancel, false);
	sk->rj.sk = sk;
	sk->rj.changed = false;
	ctxd_pool_submit(sk->pool, &sk->rj.job, reload_work, reload_done);
}

void ctxd_sk_set_roots(struct ctxd_skills *sk, const struct ctxd_sandbox *roots)
{
	if (!sk || (sk->sb && ctxd_sandbox_root_count(sk->sb) > 0)) {
		return; /* configured directories: the client's roots do not move the skills */
	}
	size_t n = roots ? ctxd_sandbox_root_count(roots) : 0;
	char **v = calloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; v && i < n; i++) {
		if (!(v[i] = strdup(ctxd_sandbox_root(roots, i)->path))) {
			while (i > 0) {
				free(v[--i]);
			}
			free(v);
			v = NULL;
		}
	}
	if (!v) {
		ctxd_warn("skills: out of memory: the skills keep following the previous roots");
		return;
	}
	pthread_mutex_lock(&sk->snap_lock);
	for (size_t i = 0; i < sk->n_client_roots; i++) {
		free(sk->client_roots[i]);
	}
	free(sk->client_roots);
	sk->client_roots = v;
	sk->n_client_roots = n;
	sk->roots_pending = sk->stale = true;
	sk->roots_gen++;
	pthread_mutex_unlock(&sk->snap_lock);
	schedule(sk);
}

void ctxd_sk_set_pool(struct ctxd_skills *sk, struct ctxd_pool *pool)
{
	sk->pool = pool;
}

void ctxd_sk_on_change(struct ctxd_skills *sk, void (*fn)(void *ud), void *ud)
{
	sk->on_change = fn;
	sk->on_change_ud = ud;
}

void ctxd_sk_attach(struct ctxd_skills *sk, struct ctxd_watch *w)
{
	if (!sk || sk->attached) {
		return;
	}
	sk->attached = true;
	sk->watch = w;
	schedule(sk);
}

void ctxd_sk_detach(struct ctxd_skills *sk)
{
	if (!sk || sk->detached) {
		return;
	}
	sk->detached = true;
	for (size_t i = 0; i < sk->n_regs; i++) {
		if (sk->watch) {
			ctxd_watch_remove(sk->watch, sk->regs[i]->id);
		}
		free(sk->regs[i]->dir);
		free(sk->regs[i]);
	}
	free(sk->regs);
	sk->regs = NULL;
	sk->n_regs = 0;
}

const struct ctxd_config *ctxd_sk_config(const struct ctxd_skills *sk)
{
	return sk->cfg;
}
