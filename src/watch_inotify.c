/* watch_inotify.c - the change watcher's Linux backend (src/watch_os.h): one inotify fd,
 * read by an ev_io on the loop thread; a directory's handle is its inotify watch
 * descriptor (inotify gives the same one for an inode watched twice). Every event goes to
 * the watcher at once, which delivers a burst once it has been quiet for its coalescing
 * delay. inotify keeps the order of events, so once a change is delivered, every earlier
 * change has been too. */
#include <errno.h>
#include <ev.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "ctxd/watch.h"
#include "watch_os.h"

#define WATCH_MASK                                                                                 \
	(IN_CREATE | IN_DELETE | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |        \
	 IN_DELETE_SELF | IN_MOVE_SELF | IN_MODIFY)

/* watch.h's bits are inotify's: events pass through unchanged. */
_Static_assert(CTXD_WATCH_MODIFY == IN_MODIFY && CTXD_WATCH_ATTRIB == IN_ATTRIB &&
		   CTXD_WATCH_CLOSE_WRITE == IN_CLOSE_WRITE &&
		   CTXD_WATCH_MOVED_FROM == IN_MOVED_FROM && CTXD_WATCH_MOVED_TO == IN_MOVED_TO &&
		   CTXD_WATCH_CREATE == IN_CREATE && CTXD_WATCH_DELETE == IN_DELETE &&
		   CTXD_WATCH_DELETE_SELF == IN_DELETE_SELF &&
		   CTXD_WATCH_MOVE_SELF == IN_MOVE_SELF && CTXD_WATCH_OVERFLOW == IN_Q_OVERFLOW,
	       "CTXD_WATCH_* must equal inotify's IN_* bits");

struct ctxd_watch_os {
	struct ctxd_watch *w;
	struct ev_loop *loop;
	ev_io io;
	int fd;
};

static void on_inotify(struct ev_loop *loop, ev_io *io, int revents)
{
	struct ctxd_watch_os *os = io->data;
	(void)loop;
	(void)revents;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool any = false;
	for (;;) {
		ssize_t n = read(os->fd, buf, sizeof(buf));
		if (n <= 0) {
			break;
		}
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)p;
			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				any |= ctxd_watch_os_event(os->w, -1, "", IN_Q_OVERFLOW);
			} else {
				any |= ctxd_watch_os_event(os->w, ev->wd, ev->len ? ev->name : "",
							   ev->mask);
			}
		}
	}
	if (any) {
		ctxd_watch_os_settle(os->w);
	}
}

struct ctxd_watch_os *ctxd_watch_os_create(struct ctxd_watch *w, struct ev_loop *loop)
{
	struct ctxd_watch_os *os = calloc(1, sizeof(*os));
	if (!os) {
		return NULL;
	}
	os->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (os->fd < 0) {
		int e = errno;
		free(os);
		errno = e;
		return NULL;
	}
	os->w = w;
	os->loop = loop;
	ev_io_init(&os->io, on_inotify, os->fd, EV_READ);
	os->io.data = os;
	ev_io_start(loop, &os->io);
	return os;
}

void ctxd_watch_os_destroy(struct ctxd_watch_os *os)
{
	if (!os) {
		return;
	}
	ev_io_stop(os->loop, &os->io);
	close(os->fd);
	free(os);
}

int ctxd_watch_os_add(struct ctxd_watch_os *os, const char *dir)
{
	/* inotify_add_watch on an already watched inode returns the same descriptor, which is
	 * what lets several registrations share it. IN_MASK_ADD keeps earlier bits. */
	return inotify_add_watch(os->fd, dir, WATCH_MASK | IN_ONLYDIR | IN_MASK_ADD);
}

void ctxd_watch_os_remove(struct ctxd_watch_os *os, int handle)
{
	inotify_rm_watch(os->fd, handle);
}

void ctxd_watch_os_set_interval(struct ctxd_watch_os *os, unsigned ms)
{
	(void)os;
	(void)ms; /* events come as they happen */
}
