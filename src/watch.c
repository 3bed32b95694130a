/* watch.c - change events on the loop: shared directory watches, coalesced callbacks.
 *
 * The platform's backend (src/watch_os.h: inotify, or polling) reports changes per watched
 * directory, identified by its handle. Each registration names a directory; registrations
 * of the same directory share its handle. Events are not delivered at once: each
 * (registration, name) pair is remembered with the OR of its masks, and an ev_timer fires
 * `coalesce_ms` after the last event of a burst (or the backend says when), delivering each
 * pair once. Registration may happen on any thread (mutex); callbacks and the pending table
 * are loop-thread only. */
#include "ctxd/watch.h"

#include <errno.h>
#include <ev.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "watch_os.h"

struct reg {
	int id;
	int wd; /* the backend's handle of the directory */
	char *dir;
	ctxd_watch_fn fn;
	void *ud;
	struct reg *next_id; /* chain of the id bucket */
	struct reg *next_wd; /* chain of the wd bucket */
};

struct pending {
	int id; /* registration id: looked up again at delivery, so removal is safe */
	char *name;
	uint32_t mask;
	struct pending *next;  /* delivery order */
	struct pending *hnext; /* chain of the (id, name) bucket */
};

/* Registrations are indexed twice (by id for removal and delivery, by the backend's
 * directory handle for events) and pending changes by (id, name), so one event costs the
 * registrations of its directory, not all of them: tens of thousands of registrations
 * (resource subscriptions, skill directories) stay cheap. */
struct ctxd_watch {
	struct ev_loop *loop;
	struct ctxd_watch_os *os;
	ev_timer timer;
	ev_async added; /* wakes the loop when another thread registered */
	double delay;
	pthread_mutex_t mu;
	struct reg **by_id, **by_wd; /* nbuckets each, a power of two */
	size_t nbuckets;
	int next_id;
	size_t count;
	struct pending *pend, *pend_tail; /* loop thread only */
	struct pending **pend_hash;
	size_t pend_nbuckets, pend_count;
};

static size_t mix(uint64_t h, size_t n)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return (size_t)(h & (n - 1));
}

static size_t pend_slot(int id, const char *name, size_t n)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)(unsigned)id;
	for (const char *c = name; *c; c++) {
		h ^= (unsigned char)*c;
		h *= 1099511628211ULL;
	}
	return mix(h, n);
}

static struct reg *find_reg(struct ctxd_watch *w, int id)
{
	for (struct reg *r = w->by_id[mix((uint64_t)(unsigned)id, w->nbuckets)]; r;
	     r = r->next_id) {
		if (r->id == id) {
			return r;
		}
	}
	return NULL;
}

static void link_reg(struct reg **by_id, struct reg **by_wd, size_t n, struct reg *r)
{
	size_t i = mix((uint64_t)(unsigned)r->id, n), k = mix((uint64_t)(unsigned)r->wd, n);
	r->next_id = by_id[i];
	by_id[i] = r;
	r->next_wd = by_wd[k];
	by_wd[k] = r;
}

/* Double both tables when they hold more registrations than buckets. Under `mu`. */
static int grow_regs(struct ctxd_watch *w)
{
	size_t n = w->nbuckets * 2;
	struct reg **by_id = calloc(n, sizeof(*by_id)), **by_wd = calloc(n, sizeof(*by_wd));
	if (!by_id || !by_wd) {
		free(by_id);
		free(by_wd);
		return -1;
	}
	for (size_t i = 0; i < w->nbuckets; i++) {
		for (struct reg *r = w->by_id[i], *next; r; r = next) {
			next = r->next_id;
			link_reg(by_id, by_wd, n, r);
		}
	}
	free(w->by_id);
	free(w->by_wd);
	w->by_id = by_id;
	w->by_wd = by_wd;
	w->nbuckets = n;
	return 0;
}

static void grow_pending(struct ctxd_watch *w)
{
	size_t n = w->pend_nbuckets * 2;
	struct pending **h = calloc(n, sizeof(*h));
	if (!h) {
		return; /* keep the smaller table: only slower */
	}
	for (struct pending *p = w->pend; p; p = p->next) {
		size_t i = pend_slot(p->id, p->name, n);
		p->hnext = h[i];
		h[i] = p;
	}
	free(w->pend_hash);
	w->pend_hash = h;
	w->pend_nbuckets = n;
}

static void add_pending(struct ctxd_watch *w, int id, const char *name, uint32_t mask)
{
	size_t i = pend_slot(id, name, w->pend_nbuckets);
	for (struct pending *p = w->pend_hash[i]; p; p = p->hnext) {
		if (p->id == id && strcmp(p->name, name) == 0) {
			p->mask |= mask;
			return;
		}
	}
	struct pending *p = malloc(sizeof(*p));
	char *copy = p ? strdup(name) : NULL;
	if (!copy) {
		free(p);
		return; /* out of memory: this change is not reported */
	}
	*p = (struct pending){.id = id, .name = copy, .mask = mask, .hnext = w->pend_hash[i]};
	w->pend_hash[i] = p;
	if (w->pend_tail) {
		w->pend_tail->next = p;
	} else {
		w->pend = p;
	}
	w->pend_tail = p;
	if (++w->pend_count > w->pend_nbuckets) {
		grow_pending(w);
	}
}

void ctxd_watch_os_deliver(struct ctxd_watch *w)
{
	ev_timer_stop(w->loop, &w->timer);
	struct pending *p = w->pend;
	w->pend = w->pend_tail = NULL;
	w->pend_count = 0;
	memset(w->pend_hash, 0, w->pend_nbuckets * sizeof(*w->pend_hash));
	while (p) {
		struct pending *next = p->next;
		pthread_mutex_lock(&w->mu);
		struct reg *r = find_reg(w, p->id);
		ctxd_watch_fn fn = r ? r->fn : NULL;
		void *ud = r ? r->ud : NULL;
		char *dir = r ? strdup(r->dir) : NULL;
		pthread_mutex_unlock(&w->mu);
		if (fn && dir) {
			fn(ud, dir, p->name, p->mask);
		}
		free(dir);
		free(p->name);
		free(p);
		p = next;
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	ctxd_watch_os_deliver(t->data);
}

bool ctxd_watch_os_event(struct ctxd_watch *w, int handle, const char *name, uint32_t mask)
{
	bool any = false;
	pthread_mutex_lock(&w->mu);
	if (handle < 0) {
		/* events were lost: report every registration as changed */
		for (size_t i = 0; i < w->nbuckets; i++) {
			for (struct reg *r = w->by_id[i]; r; r = r->next_id) {
				add_pending(w, r->id, "", mask);
				any = true;
			}
		}
	} else {
		for (struct reg *r = w->by_wd[mix((uint64_t)(unsigned)handle, w->nbuckets)]; r;
		     r = r->next_wd) {
			if (r->wd == handle) {
				add_pending(w, r->id, name, mask);
				any = true;
			}
		}
	}
	pthread_mutex_unlock(&w->mu);
	return any;
}

void ctxd_watch_os_settle(struct ctxd_watch *w)
{
	/* restart the quiet period: one delivery per burst */
	ev_timer_set(&w->timer, w->delay, 0.);
	ev_timer_start(w->loop, &w->timer);
}

static void on_added(struct ev_loop *loop, ev_async *a, int revents)
{
	(void)loop;
	(void)a;
	(void)revents; /* nothing to do: the wake-up only makes the loop re-check its fds */
}

#define INITIAL_BUCKETS 64

struct ctxd_watch *ctxd_watch_create(struct ev_loop *loop, unsigned coalesce_ms)
{
	struct ctxd_watch *w = calloc(1, sizeof(*w));
	if (!w) {
		return NULL;
	}
	w->nbuckets = w->pend_nbuckets = INITIAL_BUCKETS;
	w->by_id = calloc(w->nbuckets, sizeof(*w->by_id));
	w->by_wd = calloc(w->nbuckets, sizeof(*w->by_wd));
	w->pend_hash = calloc(w->pend_nbuckets, sizeof(*w->pend_hash));
	w->loop = loop;
	w->os = w->by_id && w->by_wd && w->pend_hash ? ctxd_watch_os_create(w, loop)
						     : (errno = ENOMEM, NULL);
	if (!w->os) {
		int e = errno;
		free(w->by_id);
		free(w->by_wd);
		free(w->pend_hash);
		free(w);
		errno = e;
		return NULL;
	}
	w->delay = (coalesce_ms ? coalesce_ms : 50) / 1000.0;
	w->next_id = 1;
	pthread_mutex_init(&w->mu, NULL);
	ev_init(&w->timer, on_timer);
	w->timer.data = w;
	ev_async_init(&w->added, on_added);
	ev_async_start(loop, &w->added);
	return w;
}

void ctxd_watch_destroy(struct ctxd_watch *w)
{
	if (!w) {
		return;
	}
	ctxd_watch_os_destroy(w->os);
	ev_timer_stop(w->loop, &w->timer);
	ev_async_stop(w->loop, &w->added);
	for (size_t i = 0; i < w->nbuckets; i++) {
		for (struct reg *r = w->by_id[i], *next; r; r = next) {
			next = r->next_id;
			free(r->dir);
			free(r);
		}
	}
	while (w->pend) {
		struct pending *p = w->pend;
		w->pend = p->next;
		free(p->name);
		free(p);
	}
	free(w->by_id);
	free(w->by_wd);
	free(w->pend_hash);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

int ctxd_watch_add(struct ctxd_watch *w, const char *dir, ctxd_watch_fn fn, void *ud)
{
	struct reg *r = calloc(1, sizeof(*r));
	if (!r || !(r->dir = strdup(dir))) {
		free(r);
		errno = ENOMEM;
		return -1;
	}
	/* Under the lock, so that a concurrent removal of the directory's last registration
	 * cannot drop the handle between the backend's answer and the link below. */
	pthread_mutex_lock(&w->mu);
	int wd = ctxd_watch_os_add(w->os, dir);
	if (wd < 0) {
		int e = errno;
		pthread_mutex_unlock(&w->mu);
		free(r->dir);
		free(r);
		errno = e;
		return -1;
	}
	r->wd = wd;
	r->fn = fn;
	r->ud = ud;
	if (w->count + 1 > w->nbuckets) {
		grow_regs(w); /* on failure the chains only get longer */
	}
	r->id = w->next_id++;
	link_reg(w->by_id, w->by_wd, w->nbuckets, r);
	w->count++;
	int id = r->id;
	pthread_mutex_unlock(&w->mu);
	ev_async_send(w->loop, &w->added);
	return id;
}

void ctxd_watch_remove(struct ctxd_watch *w, int id)
{
	pthread_mutex_lock(&w->mu);
	struct reg **pp = &w->by_id[mix((uint64_t)(unsigned)id, w->nbuckets)], *r = NULL;
	while (*pp && (*pp)->id != id) {
		pp = &(*pp)->next_id;
	}
	if (*pp) {
		r = *pp;
		*pp = r->next_id;
		w->count--;
		bool shared = false;
		struct reg **wp = &w->by_wd[mix((uint64_t)(unsigned)r->wd, w->nbuckets)];
		for (struct reg **q = wp; *q;) {
			if (*q == r) {
				*q = r->next_wd;
				continue;
			}
			shared |= (*q)->wd == r->wd;
			q = &(*q)->next_wd;
		}
		if (!shared) {
			ctxd_watch_os_remove(w->os, r->wd);
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (r) {
		free(r->dir);
		free(r);
	}
}

void ctxd_watch_set_poll_ms(struct ctxd_watch *w, unsigned ms)
{
	ctxd_watch_os_set_interval(w->os, ms);
}

size_t ctxd_watch_count(const struct ctxd_watch *w)
{
	return w->count;
}
