/* Unit tests for subs.c: the subscription index. Work is counted, not timed: a change
 * among 40,000 subscriptions examines a handful of them and tells exactly the right
 * holders; a directory is watched once however many URIs lie in it. */
#include <errno.h>
#include <ev.h>
#include <stdint.h>
#include <unistd.h>

#include "ctxd/subs.h"
#include "ctxd/watch.h"
#include "test.h"

#define N 40000

struct told {
	size_t n;
	char uri[N + 64][64];
	void *holder[N + 64];
};

static struct told got;

static void on_told(void *ud, const char *uri, void *holder)
{
	(void)ud;
	ASSERT(got.n < N + 64);
	snprintf(got.uri[got.n], sizeof(got.uri[0]), "%s", uri);
	got.holder[got.n++] = holder;
}

static int legacy, listen_a, listen_b; /* holders: only their addresses matter */

static void uri_of(char *buf, size_t n, int i)
{
	snprintf(buf, n, "file:///w/dir/f%06d.txt", i);
}

static void test_subs_one_change_among_many(void)
{
	struct ctxd_subs *s = ctxd_subs_create(NULL, on_told, NULL);
	ASSERT(s);
	char uri[64], name[32];
	for (int i = 0; i < N; i++) {
		uri_of(uri, sizeof(uri), i);
		snprintf(name, sizeof(name), "f%06d.txt", i);
		ASSERT_EQ(ctxd_subs_add(s, uri, "/w/dir", name, &legacy), 1);
	}
	/* a second holder on a few of them; the same holder again changes nothing */
	for (int i = 0; i < 10; i++) {
		uri_of(uri, sizeof(uri), i * 1000);
		snprintf(name, sizeof(name), "f%06d.txt", i * 1000);
		ASSERT_EQ(ctxd_subs_add(s, uri, "/w/dir", name, &listen_a), 1);
		ASSERT_EQ(ctxd_subs_add(s, uri, "/w/dir", name, &listen_a), 0);
	}
	/* the directory itself, and a file of the same name elsewhere */
	ASSERT_EQ(ctxd_subs_add(s, "file:///w/dir", "/w/dir", "", &listen_b), 1);
	ASSERT_EQ(
	    ctxd_subs_add(s, "file:///w/other/f003000.txt", "/w/other", "f003000.txt", &listen_b),
	    1);
	ASSERT_EQ(ctxd_subs_count(s), N + 10 + 2);
	ASSERT_EQ(ctxd_subs_dirs(s), 2);

	got.n = 0;
	size_t work0 = ctxd_subs_work(s);
	ASSERT_EQ(ctxd_subs_changed(s, "/w/dir", "f003000.txt"), 3);
	size_t work = ctxd_subs_work(s) - work0;
	ASSERT_EQ(got.n, 3);
	int seen_legacy = 0, seen_a = 0, seen_dir = 0;
	for (size_t i = 0; i < got.n; i++) {
		if (strcmp(got.uri[i], "file:///w/dir") == 0) {
			ASSERT(got.holder[i] == &listen_b);
			seen_dir++;
		} else {
			ASSERT_STR_EQ(got.uri[i], "file:///w/dir/f003000.txt");
			seen_legacy += got.holder[i] == &legacy;
			seen_a += got.holder[i] == &listen_a;
		}
	}
	ASSERT(seen_legacy == 1 && seen_a == 1 && seen_dir == 1);
	/* two hash chains, not 40,000 subscriptions */
	fprintf(stderr, "one change among %d subscriptions examined %zu\n", N + 12, work);
	ASSERT(work >= 2 && work <= 16);

	/* a name nobody subscribed to: only the directory's own subscriber */
	got.n = 0;
	ASSERT_EQ(ctxd_subs_changed(s, "/w/dir", "nobody.txt"), 1);
	ASSERT_STR_EQ(got.uri[0], "file:///w/dir");
	/* an unwatched directory: nothing */
	ASSERT_EQ(ctxd_subs_changed(s, "/w/nowhere", "f003000.txt"), 0);
	/* the directory itself changed (deleted, moved, events lost): everything in it */
	got.n = 0;
	ASSERT_EQ(ctxd_subs_changed(s, "/w/dir", ""), N + 10 + 1);
	/* a provider's notification by URI */
	got.n = 0;
	ASSERT_EQ(ctxd_subs_uri_changed(s, "file:///w/dir/f000007.txt"), 1);
	ASSERT(got.holder[0] == &legacy);

	/* unsubscribe one holder: the other keeps hearing */
	uri_of(uri, sizeof(uri), 3000);
	ASSERT_EQ(ctxd_subs_remove(s, uri, &legacy), 1);
	ASSERT_EQ(ctxd_subs_remove(s, uri, &legacy), 0);
	ASSERT(!ctxd_subs_held(s, uri, &legacy));
	ASSERT(ctxd_subs_held(s, uri, &listen_a));
	got.n = 0;
	ASSERT_EQ(ctxd_subs_changed(s, "/w/dir", "f003000.txt"), 2);
	ASSERT(got.holder[0] != &legacy && got.holder[1] != &legacy);

	/* removing everything leaves no directory watched */
	for (int i = 0; i < N; i++) {
		uri_of(uri, sizeof(uri), i);
		ctxd_subs_remove(s, uri, &legacy);
		ctxd_subs_remove(s, uri, &listen_a);
	}
	ASSERT_EQ(ctxd_subs_dirs(s), 2);
	ASSERT_EQ(ctxd_subs_remove(s, "file:///w/dir", &listen_b), 1);
	ASSERT_EQ(ctxd_subs_remove(s, "file:///w/other/f003000.txt", &listen_b), 1);
	ASSERT_EQ(ctxd_subs_count(s), 0);
	ASSERT_EQ(ctxd_subs_dirs(s), 0);
	ctxd_subs_destroy(s);
}

static void test_subs_defer_marks_once(void)
{
	struct ctxd_subs *s = ctxd_subs_create(NULL, on_told, NULL);
	ASSERT(s);
	ASSERT_EQ(ctxd_subs_add(s, "file:///a/x", "/a", "x", &legacy), 1);
	ASSERT_EQ(ctxd_subs_add(s, "file:///a/x", "/a", "x", &listen_a), 1);
	ASSERT_EQ(ctxd_subs_add(s, "file:///a/y", "/a", "y", &legacy), 1);
	ASSERT_EQ(ctxd_subs_add(s, "file:///a/z", "/a", "z", &legacy), 1);
	got.n = 0;
	ctxd_subs_defer(s, true);
	for (int i = 0; i < 1000; i++) {
		ctxd_subs_changed(s, "/a", "x");
		ctxd_subs_uri_changed(s, "file:///a/y");
		ctxd_subs_changed(s, "/a", "z");
	}
	ASSERT_EQ(got.n, 0);
	/* z is gone before delivery: nobody hears about it */
	ASSERT_EQ(ctxd_subs_remove(s, "file:///a/z", &legacy), 1);
	ctxd_subs_defer(s, false);
	ASSERT_EQ(got.n, 3); /* x to two holders, y to one, once each */
	ctxd_subs_changed(s, "/a", "y");
	ASSERT_EQ(got.n, 4); /* no longer deferred: told at once */
	ctxd_subs_destroy(s);
}

/* With a real watcher: one inotify registration per directory, whatever the number of
 * URIs in it; a missing directory fails with the watch's errno and leaves nothing. */
static void test_subs_one_watch_per_directory(void)
{
	char dir[256];
	ASSERT((size_t)snprintf(dir, sizeof(dir), "%s/ctxd-subs-XXXXXX", test_tmp_base()) <
	       sizeof(dir));
	ASSERT(mkdtemp(dir));
	struct ev_loop *loop = ev_default_loop(0);
	struct ctxd_watch *w = ctxd_watch_create(loop, 1);
	if (!w) {
		fprintf(stderr, "inotify unavailable: skipping the watch part\n");
		rmdir(dir);
		return;
	}
	struct ctxd_subs *s = ctxd_subs_create(w, on_told, NULL);
	ASSERT(s);
	char uri[300], name[32];
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		snprintf(uri, sizeof(uri), "file://%s/%s", dir, name);
		ASSERT_EQ(ctxd_subs_add(s, uri, dir, name, &legacy), 1);
	}
	ASSERT_EQ(ctxd_watch_count(w), 1);
	errno = 0;
	ASSERT_EQ(ctxd_subs_add(s, "file:///nonexistent-ctxd/x", "/nonexistent-ctxd", "x", &legacy),
		  -1);
	ASSERT_EQ(errno, ENOENT);
	ASSERT_EQ(ctxd_watch_count(w), 1);
	ASSERT_EQ(ctxd_subs_count(s), 1000);
	for (int i = 0; i < 1000; i++) {
		snprintf(uri, sizeof(uri), "file://%s/f%d", dir, i);
		ASSERT_EQ(ctxd_subs_remove(s, uri, &legacy), 1);
	}
	ASSERT_EQ(ctxd_watch_count(w), 0);
	ctxd_subs_destroy(s);
	ctxd_watch_destroy(w);
	rmdir(dir);
}

int main(void)
{
	RUN(test_subs_one_change_among_many);
	RUN(test_subs_defer_marks_once);
	RUN(test_subs_one_watch_per_directory);
	return 0;
}
