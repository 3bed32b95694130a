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
	struct reg *next;
};

struct pending {
	int id; /* registration id: looked up again at delivery, so removal is safe */
	char *name;
	uint32_t mask;
	struct pending *next;
};

struct ctxd_watch {
	struct ev_loop *loop;
	ev_io io;
	ev_timer timer;
	ev_async added; /* wakes the loop when another thread registered */
	int fd;
	double delay;
	pthread_mutex_t mu;
	struct reg *regs;
	int next_id;
	size_t count;
	struct pending *pend;
};

static struct reg *find_reg(struct ctxd_watch *w, int id)
{
	for (struct reg *r = w->regs; r; r = r->next) {
		if (r->id == id) {
			return r;
		}
	}
	return NULL;
}

static void add_pending(struct ctxd_watch *w, int id, const char *name, uint32_t mask)
{
	for (struct pending *p = w->pend; p; p = p->next) {
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
	*p = (struct pending){ .id = id, .name = copy, .mask = mask, .next = w->pend };
	w->pend = p;
}

static void on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct ctxd_watch *w = t->data;
	(void)loop;
	(void)revents;
	struct pending *p = w->pend;
	w->pend = NULL;
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
			if (ev->mask & IN_Q_OVERFLOW) {
				/* events were lost: report every registration as changed */
				pthread_mutex_lock(&w->mu);
				for (struct reg *r = w->regs; r; r = r->next) {
					add_pending(w, r->id, "", IN_Q_OVERFLOW);
				}
				pthread_mutex_unlock(&w->mu);
				any = true;
				continue;
			}
			const char *name = ev->len ? ev->name : "";
			pthread_mutex_lock(&w->mu);
			for (struct reg *r = w->regs; r; r = r->next) {
				if (r->wd == ev->wd) {
					add_pending(w, r->id, name, ev->mask);
					any = true;
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

struct ctxd_watch *ctxd_watch_create(struct ev_loop *loop, unsigned coalesce_ms)
{
	struct ctxd_watch *w = calloc(1, sizeof(*w));
	if (!w) {
		return NULL;
	}
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		int e = errno;
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
	while (w->regs) {
		struct reg *r = w->regs;
		w->regs = r->next;
		free(r->dir);
		free(r);
	}
	while (w->pend) {
		struct pending *p = w->pend;
		w->pend = p->next;
		free(p->name);
		free(p);
	}
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
	r->id = w->next_id++;
	r->next = w->regs;
	w->regs = r;
	w->count++;
	int id = r->id;
	pthread_mutex_unlock(&w->mu);
	ev_async_send(w->loop, &w->added);
	return id;
}

void ctxd_watch_remove(struct ctxd_watch *w, int id)
{
	pthread_mutex_lock(&w->mu);
	struct reg **pp = &w->regs, *r = NULL;
	while (*pp && (*pp)->id != id) {
		pp = &(*pp)->next;
	}
	if (*pp) {
		r = *pp;
		*pp = r->next;
		w->count--;
		bool shared = false;
		for (struct reg *o = w->regs; o; o = o->next) {
			shared |= o->wd == r->wd;
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
