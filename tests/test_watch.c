/* Unit tests for watch.c: events arrive on the loop, bursts coalesce, removal stops them. */
#include <ev.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "ctxd/watch.h"
#include "test.h"

struct seen {
	int calls;
	char last[256];
	uint32_t mask;
};

static void on_change(void *ud, const char *dir, const char *name, uint32_t mask)
{
	struct seen *s = ud;
	(void)dir;
	s->calls++;
	snprintf(s->last, sizeof(s->last), "%s", name);
	s->mask |= mask;
}

static void stop_loop(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void run_for(struct ev_loop *loop, double seconds)
{
	ev_timer t;
	ev_timer_init(&t, stop_loop, seconds, 0.);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
}

static void test_watch_coalesces_and_removes(void)
{
	char dir[] = "/tmp/ctxd-watch-XXXXXX";
	ASSERT(mkdtemp(dir));
	struct ev_loop *loop = ev_default_loop(0);
	struct ctxd_watch *w = ctxd_watch_create(loop, 50);
	ASSERT(w);
	struct seen a = { 0 }, b = { 0 };
	int ida = ctxd_watch_add(w, dir, on_change, &a);
	int idb = ctxd_watch_add(w, dir, on_change, &b); /* shares the inotify watch */
	ASSERT(ida > 0 && idb > 0 && ida != idb);
	ASSERT_EQ(ctxd_watch_count(w), 2);

	char path[512];
	snprintf(path, sizeof(path), "%s/f.txt", dir);
	for (int i = 0; i < 10; i++) { /* one burst of ten writes */
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ASSERT(fd >= 0);
		ASSERT_EQ(write(fd, "x", 1), 1);
		close(fd);
	}
	run_for(loop, 0.3);
	ASSERT_EQ(a.calls, 1);
	ASSERT_EQ(b.calls, 1);
	ASSERT_STR_EQ(a.last, "f.txt");
	ASSERT(a.mask & IN_CLOSE_WRITE);
	ASSERT(a.mask & IN_CREATE);

	ctxd_watch_remove(w, ida);
	ctxd_watch_remove(w, 12345); /* unknown: ignored */
	ASSERT_EQ(ctxd_watch_count(w), 1);
	ASSERT_EQ(unlink(path), 0);
	run_for(loop, 0.3);
	ASSERT_EQ(a.calls, 1); /* removed: nothing more */
	ASSERT_EQ(b.calls, 2);
	ASSERT(b.mask & IN_DELETE);

	ASSERT_EQ(ctxd_watch_add(w, "/nonexistent-ctxd-dir", on_change, &a), -1);
	ctxd_watch_destroy(w);
	rmdir(dir);
}

int main(void)
{
	RUN(test_watch_coalesces_and_removes);
	return 0;
}
