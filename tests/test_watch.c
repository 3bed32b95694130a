/* Unit tests for watch.c: events arrive on the loop, bursts coalesce, removal stops them.
 * The loop runs until the expected delivery happened (never for a fixed time); a later
 * marker file proves that nothing else was pending. */
#include <ev.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/watch.h"
#include "ctxd_version.h"
#include "test.h"

struct seen {
	int calls;        /* deliveries of any name */
	int f_calls;      /* deliveries of "f.txt" */
	int marker_calls; /* deliveries of the marker file's name */
	char last[256];
	uint32_t mask; /* OR of the masks delivered for "f.txt" */
};

static const char *marker; /* name of the marker file of the current step */
static struct seen *other; /* when set: its f_calls is copied to other_f when the marker comes */
static int other_f = -1;

static void on_change(void *ud, const char *dir, const char *name, uint32_t mask)
{
	struct seen *s = ud;
	(void)dir;
	s->calls++;
	snprintf(s->last, sizeof(s->last), "%s", name);
	if (strcmp(name, "f.txt") == 0) {
		s->f_calls++;
		s->mask |= mask;
	} else if (marker && strcmp(name, marker) == 0) {
		s->marker_calls++;
		if (other) {
			other_f = other->f_calls;
		}
	}
}

static void hang_guard(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	ASSERT(!"the expected watch delivery never came (60 s)");
}

/* Run the loop until *counter reaches `want`. */
static void run_until(struct ev_loop *loop, const int *counter, int want)
{
	ev_timer t;
	ev_timer_init(&t, hang_guard, 60., 0.);
	ev_timer_start(loop, &t);
	while (*counter < want) {
		ev_run(loop, EVRUN_ONCE);
	}
	ev_timer_stop(loop, &t);
}

/* Create the marker file `name` in `dir` and run the loop until `s` saw it. inotify
 * reports events in order, so every event of an earlier change has been delivered to `s`
 * by then, in this delivery or an earlier one. */
static void sync_marker(struct ev_loop *loop, const char *dir, const char *name, struct seen *s)
{
	char p[600];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	marker = name;
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT(fd >= 0);
	close(fd);
	run_until(loop, &s->marker_calls, 1);
	s->marker_calls = 0;
	marker = NULL;
	ASSERT_EQ(unlink(p), 0);
}

static void test_watch_coalesces_and_removes(void)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/ctxd-watch-XXXXXX", test_tmp_base());
	ASSERT(mkdtemp(dir));
	struct ev_loop *loop = ev_default_loop(0);
	struct ctxd_watch *w = ctxd_watch_create(loop, 50);
	ASSERT(w);
	struct seen a = {0}, b = {0};
	int ida = ctxd_watch_add(w, dir, on_change, &a);
	int idb = ctxd_watch_add(w, dir, on_change, &b); /* shares the inotify watch */
	ASSERT(ida > 0 && idb > 0 && ida != idb);
	ASSERT_EQ(ctxd_watch_count(w), 2);

	char path[600];
	snprintf(path, sizeof(path), "%s/f.txt", dir);
	/* One burst of ten writes, all queued in the inotify descriptor before the loop runs:
	 * the watch reads them together, so each registration gets f.txt exactly once. */
	for (int i = 0; i < 10; i++) {
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ASSERT(fd >= 0);
		ASSERT_EQ(write(fd, "x", 1), 1);
		close(fd);
	}
	run_until(loop, &a.f_calls, 1);
	run_until(loop, &b.f_calls, 1);
	ASSERT_EQ(a.calls, 1);
	ASSERT_EQ(b.calls, 1);
	ASSERT_STR_EQ(a.last, "f.txt");
	ASSERT(a.mask & CTXD_WATCH_CLOSE_WRITE);
	ASSERT(a.mask & CTXD_WATCH_CREATE);
	sync_marker(loop, dir, "marker1", &b); /* nothing of the burst was left over */
	ASSERT_EQ(a.f_calls, 1);
	ASSERT_EQ(b.f_calls, 1);

	ctxd_watch_remove(w, ida);
	ctxd_watch_remove(w, 12345); /* unknown: ignored */
	ASSERT_EQ(ctxd_watch_count(w), 1);
	int a_before = a.calls;
	ASSERT_EQ(unlink(path), 0);
	run_until(loop, &b.f_calls, 2);
	ASSERT(b.mask & CTXD_WATCH_DELETE);
	sync_marker(loop, dir, "marker2", &b);
	ASSERT_EQ(a.calls, a_before); /* removed: nothing more */
	ASSERT_EQ(b.f_calls, 2);

	ASSERT_EQ(ctxd_watch_add(w, "/nonexistent-ctxd-dir", on_change, &a), -1);
	ctxd_watch_destroy(w);
	rmdir(dir);
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	ASSERT_EQ(close(fd), 0);
}

/* A rewrite that leaves size and mtime as they were (as two writes within one tick of a
 * coarse file-system clock do) is still a modification: the polling backend compares such
 * "racy" files by content. inotify sees the write itself. */
static void test_watch_same_size_rewrite(void)
{
	char dir[512], path[600];
	snprintf(dir, sizeof(dir), "%s/ctxd-watch-XXXXXX", test_tmp_base());
	ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f.txt", dir);
	write_text(path, "aaaa");
	struct stat st;
	ASSERT_EQ(stat(path, &st), 0);
	struct ev_loop *loop = ev_default_loop(0);
	struct ctxd_watch *w = ctxd_watch_create(loop, 20);
	ASSERT(w);
	ctxd_watch_set_poll_ms(w, 10);
	struct seen s = {0};
	ASSERT(ctxd_watch_add(w, dir, on_change, &s) > 0);
	write_text(path, "bbbb");
	struct timespec times[2] = {{.tv_nsec = UTIME_OMIT}, st.st_mtim};
	ASSERT_EQ(utimensat(AT_FDCWD, path, times, 0), 0);
	run_until(loop, &s.f_calls, 1);
	ASSERT(s.mask & CTXD_WATCH_MODIFY);
	ctxd_watch_destroy(w);
	unlink(path);
	rmdir(dir);
}

#if CTXD_PORTABLE_BUILD
void ctxd_watch_poll_test_hook(void (*fn)(const char *dir));

static char order_a[512], order_b[512];
static bool order_done;

/* Between two listings of one pass: a change in A (already listed), then the marker in B
 * (listed next). The pass sees the marker, not the change. */
static void change_between(const char *dir)
{
	char p[600];
	if (order_done || strcmp(dir, order_a) != 0) {
		return;
	}
	order_done = true;
	snprintf(p, sizeof(p), "%s/f.txt", order_a);
	write_text(p, "x");
	snprintf(p, sizeof(p), "%s/marker", order_b);
	write_text(p, "m");
}

/* The polling backend keeps inotify's order: when the marker's change is delivered, the
 * change made before it in another directory has been delivered already, although one pass
 * listed that directory before the change and the marker's directory after both. */
static void test_watch_poll_order(void)
{
	snprintf(order_a, sizeof(order_a), "%s/ctxd-watch-a-XXXXXX", test_tmp_base());
	snprintf(order_b, sizeof(order_b), "%s/ctxd-watch-b-XXXXXX", test_tmp_base());
	ASSERT(mkdtemp(order_a) && mkdtemp(order_b));
	struct ev_loop *loop = ev_default_loop(0);
	struct ctxd_watch *w = ctxd_watch_create(loop, 20);
	ASSERT(w);
	ctxd_watch_set_poll_ms(w, 10);
	struct seen a = {0}, b = {0};
	/* the newest directory is listed first: A, then B */
	ASSERT(ctxd_watch_add(w, order_b, on_change, &b) > 0);
	ASSERT(ctxd_watch_add(w, order_a, on_change, &a) > 0);
	marker = "marker";
	other = &a;
	ctxd_watch_poll_test_hook(change_between);
	run_until(loop, &b.marker_calls, 1);
	ctxd_watch_poll_test_hook(NULL);
	marker = NULL;
	other = NULL;
	ASSERT(order_done);
	ASSERT_EQ(other_f, 1); /* A's change came before the marker's */
	ctxd_watch_destroy(w);
	char p[600];
	snprintf(p, sizeof(p), "%s/f.txt", order_a);
	unlink(p);
	snprintf(p, sizeof(p), "%s/marker", order_b);
	unlink(p);
	rmdir(order_a);
	rmdir(order_b);
}
#endif

int main(void)
{
	RUN(test_watch_coalesces_and_removes);
	RUN(test_watch_same_size_rewrite);
#if CTXD_PORTABLE_BUILD
	RUN(test_watch_poll_order);
#endif
	return 0;
}
