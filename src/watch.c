/* watch.c - inotify on the loop: shared directory watches, coalesced callbacks.
 *
 * One inotify fd, read by an ev_io on the loop thread. Each registration names a
 * directory; registrations of the same directory share its inotify watch descriptor.
 * Events are not delivered at once: each (registration, name) pair is remembered with the
 * OR of its masks, and an ev_timer fires `coalesce_ms` after the last event of a burst,
 * delivering each pair once. Registration may happen on any thread (mutex); callbacks
 * and the pending table are loop-thread only. */
#include "ctxd/watch.h"

#include <errno.h>
#include <ev.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define WATCH_MASK                                                                          \
	(IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |   \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_MODIFY)

struct reg {
	int id;
	int wd;
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
	struct pending *next;   /* delivery order */
	struct pending *hnext;  /* chain of the (id, name) bucket */
};

/* Registrations are indexed twice (by id for removal and delivery, by inotify watch
 * descriptor for events) and pending changes by (id, name), so one event costs the
 * registrations of its directory, not all of them: tens of thousands of registrations
 * (resource subscriptions, skill directories) stay cheap. */
struct ctxd_watch {
	struct ev_loop *loop;
	ev_io io;
	ev_timer timer;
	ev_async added; /* wakes the loop when another thread registered */
	int fd;
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
	*p = (struct pending){ .id = id, .name = copy, .mask = mask, .hnext = w->pend_hash[i] };
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

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctxd_watch *w = t->data;
	(void)loop;
	(void)revents;
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

static void on_inotify(struct ev_loop *loop, ev_io *io, int revents)
{
	struct ctxd_watch *w = io->data;
	(void)revents;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;
	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));
		if (n <= 0) {
			break;
		}
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			pthread_mutex_lock(&w->mu);
			if (ev->mask & IN_Q_OVERFLOW) {
				/* events were lost: report every registration as changed */
				for (size_t i = 0; i < w->nbuckets; i++) {
					for (struct reg *r = w->by_id[i]; r; r = r->next_id) {
						add_pending(w, r->id, "", IN_Q_OVERFLOW);
						any = true;
					}
				}
			} else {
				const char *name = ev->len ? ev->name : "";
				for (struct reg *r = w->by_wd[mix((uint64_t)(unsigned)ev->wd,
								  w->nbuckets)];
				     r; r = r->next_wd) {
					if (r->wd == ev->wd) {
						add_pending(w, r->id, name, ev->mask);
						any = true;
					}
				}
			}
			pthread_mutex_unlock(&w->mu);
		}
	}
	if (any) {
		/* restart the quiet period: one delivery per burst */
		ev_timer_set(&w->timer, w->delay, 0.);
		ev_timer_start(loop, &w->timer);
	}
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
	w->fd = w->by_id && w->by_wd && w->pend_hash ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
						     : (errno = ENOMEM, -1);
	if (w->fd < 0) {
		int e = errno;
		free(w->by_id);
		free(w->by_wd);
		free(w->pend_hash);
		free(w);
		errno = e;
		return NULL;
	}
	w->loop = loop;
	w->delay = (coalesce_ms ? coalesce_ms : 50) / 1000.0;
	w->next_id = 1;
	pthread_mutex_init(&w->mu, NULL);
	ev_io_init(&w->io, on_inotify, w->fd, EV_READ);
	w->io.data = w;
	ev_io_start(loop, &w->io);
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
	ev_io_stop(w->loop, &w->io);
	ev_timer_stop(w->loop, &w->timer);
	ev_async_stop(w->loop, &w->added);
	close(w->fd);
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
	/* inotify_add_watch on an already watched inode returns the same descriptor, which is
	 * what lets several registrations share it. IN_MASK_ADD keeps earlier bits. */
	int wd = inotify_add_watch(w->fd, dir, WATCH_MASK | IN_ONLYDIR | IN_MASK_ADD);
	if (wd < 0) {
		int e = errno;
		free(r->dir);
		free(r);
		errno = e;
		return -1;
	}
	r->wd = wd;
	r->fn = fn;
	r->ud = ud;
	pthread_mutex_lock(&w->mu);
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
			inotify_rm_watch(w->fd, r->wd);
		}
	}
	pthread_mutex_unlock(&w->mu);
	if (r) {
		free(r->dir);
		free(r);
	}
}

size_t ctxd_watch_count(const struct ctxd_watch *w)
{
	return w->count;
}
