/* Unit tests for the frame splitter in transport_stdio.c, and for its backpressure on the
 * bytes owed to the host (queued + reserved). */
#include <ev.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/transport.h"
#include "test.h"

struct rec {
	char frames[16][64];
	size_t n, oversize;
	size_t oversize_len;
};

static void on_frame(void *ud, const char *line, size_t len)
{
	struct rec *r = ud;
	if (!line) {
		r->oversize++;
		r->oversize_len = len;
		return;
	}
	ASSERT(r->n < 16 && len < 64);
	memcpy(r->frames[r->n], line, len);
	r->frames[r->n][len] = '\0';
	r->n++;
}

static void feed(struct ctxd_splitter *s, struct rec *r, const char *data)
{
	ASSERT_EQ(ctxd_splitter_feed(s, data, strlen(data), on_frame, r), 0);
}

static void test_splitter_lines_crlf_blank(void)
{
	struct ctxd_splitter s;
	struct rec r = {0};
	ctxd_splitter_init(&s, 100);
	feed(&s, &r, "{\"a\":1}\n\n\r\n  \n{\"b\":2}\r\n{\"c\"");
	ASSERT_EQ(r.n, 2);
	ASSERT_STR_EQ(r.frames[0], "{\"a\":1}");
	ASSERT_STR_EQ(r.frames[1], "{\"b\":2}");
	ASSERT_EQ(ctxd_splitter_pending(&s), 4);
	feed(&s, &r, ":3}");
	feed(&s, &r, "\n");
	ASSERT_EQ(r.n, 3);
	ASSERT_STR_EQ(r.frames[2], "{\"c\":3}");
	ASSERT_EQ(ctxd_splitter_pending(&s), 0);
	ctxd_splitter_finish(&s);
}

static void test_splitter_byte_by_byte(void)
{
	struct ctxd_splitter s;
	struct rec r = {0};
	ctxd_splitter_init(&s, 100);
	const char *in = "abc\r\ndef\n";
	for (size_t i = 0; in[i]; i++) {
		ASSERT_EQ(ctxd_splitter_feed(&s, in + i, 1, on_frame, &r), 0);
	}
	ASSERT_EQ(r.n, 2);
	ASSERT_STR_EQ(r.frames[0], "abc");
	ASSERT_STR_EQ(r.frames[1], "def");
	ctxd_splitter_finish(&s);
}

static void test_splitter_oversize_resyncs(void)
{
	struct ctxd_splitter s;
	struct rec r = {0};
	ctxd_splitter_init(&s, 8);
	/* exactly 8 bytes passes, also with CR; 9 does not */
	feed(&s, &r, "12345678\n12345678\r\n123456789\nok\n");
	ASSERT_EQ(r.n, 3);
	ASSERT_STR_EQ(r.frames[0], "12345678");
	ASSERT_STR_EQ(r.frames[1], "12345678");
	ASSERT_STR_EQ(r.frames[2], "ok");
	ASSERT_EQ(r.oversize, 1);
	/* an oversize line arriving in pieces is reported once, then dropped to '\n' */
	r = (struct rec){0};
	feed(&s, &r, "aaaaa");
	feed(&s, &r, "bbbbb");
	feed(&s, &r, "ccccc");
	ASSERT_EQ(r.oversize, 1);
	feed(&s, &r, "ddd\nnext\n");
	ASSERT_EQ(r.oversize, 1);
	ASSERT_EQ(r.n, 1);
	ASSERT_STR_EQ(r.frames[0], "next");
	ctxd_splitter_finish(&s);
}

struct cong {
	int on, off, depth, max_depth;
	struct ctxd_transport *t;
	bool reserve_more; /* react to "on" by reserving more (as a flushing batch would) */
};

static void on_congestion(void *ud, bool on)
{
	struct cong *c = ud;
	c->depth++;
	c->max_depth = c->depth > c->max_depth ? c->depth : c->max_depth;
	*(on ? &c->on : &c->off) += 1;
	if (on && c->reserve_more) {
		c->reserve_more = false;
		ctxd_transport_reserve(c->t, 5000); /* must not call back into us */
	}
	c->depth--;
}

static void ignore_eof(void *ud)
{
	(void)ud;
}

/* Reserved bytes count like queued ones; congestion turns on above the high-water mark and
 * off at half of it, once per change, never re-entered. */
static void test_transport_congestion_counts_bytes(void)
{
	int in[2], out[2];
	ASSERT_EQ(pipe(in), 0);
	ASSERT_EQ(pipe(out), 0);
	ASSERT(fcntl(out[1], F_SETPIPE_SZ, 4096) >= 4096);
	long cap = fcntl(out[1], F_GETPIPE_SZ);
	struct ev_loop *loop = ev_default_loop(0);
	struct cong c = {0};
	struct ctxd_transport_ops ops = {
	    .frame = on_frame, .eof = ignore_eof, .congestion = on_congestion};
	c.t = ctxd_transport_create(loop, in[0], out[1], 1024, 1000, &ops, &c);
	ASSERT(c.t);
	ctxd_transport_reserve(c.t, 1000);
	ASSERT_EQ(c.on, 0); /* at the mark: not above it */
	ctxd_transport_reserve(c.t, 1001);
	ASSERT_EQ(c.on, 1);
	ctxd_transport_reserve(c.t, 600); /* above half: still on */
	ASSERT_EQ(c.off, 0);
	ctxd_transport_reserve(c.t, 500);
	ASSERT_EQ(c.off, 1);

	/* queued bytes: fill the pipe, the rest stays queued */
	size_t n = (size_t)cap + 3000;
	char *buf = malloc(n);
	ASSERT(buf);
	memset(buf, 'x', n - 1);
	buf[n - 1] = '\n';
	ASSERT_EQ(ctxd_transport_send(c.t, buf, n), 0);
	ASSERT_EQ(ctxd_transport_queued(c.t), 3000);
	ASSERT_EQ(c.on, 2);
	/* the host reads everything: the writable watcher flushes, owed falls to 500 */
	char sink[8192];
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(out[0], sink, sizeof(sink));
		ASSERT(k > 0);
		got += (size_t)k;
		ev_run(loop, EVRUN_NOWAIT);
	}
	ASSERT_EQ(ctxd_transport_queued(c.t), 0);
	ASSERT_EQ(c.off, 2);

	/* the reaction to "on" reserves more: handled by the outer check, not re-entered */
	ctxd_transport_reserve(c.t, 0);
	c.reserve_more = true;
	ctxd_transport_reserve(c.t, 2000);
	ASSERT_EQ(c.on, 3);
	ASSERT_EQ(c.max_depth, 1);
	ctxd_transport_reserve(c.t, 0);
	ASSERT_EQ(c.off, 3);

	ctxd_transport_destroy(c.t);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}

struct rec_eof {
	struct rec r; /* first: on_frame takes the same pointer */
	int eofs;
};

static void count_eof(void *ud)
{
	((struct rec_eof *)ud)->eofs++;
}

/* The poll window after input (ctxd_transport_set_spin): opened by a read of input, not
 * opened at all when turned off, closed by turning it off and by the end of input; frames
 * and EOF are delivered as without it. Its length (60 s here) is never waited for. */
static void test_transport_spin_window(void)
{
	int in[2], out[2];
	ASSERT_EQ(pipe(in), 0);
	ASSERT_EQ(pipe(out), 0);
	struct ev_loop *loop = ev_default_loop(0);
	struct rec_eof re = {0};
	struct rec *rp = &re.r;
	struct ctxd_transport_ops ops = {.frame = on_frame, .eof = count_eof};
	struct ctxd_transport *t =
	    ctxd_transport_create(loop, in[0], out[1], 1024, 1 << 20, &ops, &re);
	ASSERT(t);
	/* off (the default of the transport itself): input opens no window */
	ASSERT_EQ(write(in[1], "a\n", 2), 2);
	ev_run(loop, EVRUN_NOWAIT);
	ASSERT_EQ(rp->n, 1);
	ASSERT(!ctxd_transport_spinning(t));
	ctxd_transport_set_spin(t, 60u * 1000 * 1000);
	ASSERT(!ctxd_transport_spinning(t)); /* opened by input only */
	ASSERT_EQ(write(in[1], "b\n", 2), 2);
	ev_run(loop, EVRUN_NOWAIT);
	ASSERT_EQ(rp->n, 2);
	ASSERT_STR_EQ(rp->frames[1], "b");
	ASSERT(ctxd_transport_spinning(t));
	ev_run(loop, EVRUN_NOWAIT); /* turns of the open window, no input: it stays open */
	ASSERT(ctxd_transport_spinning(t));
	ctxd_transport_set_spin(t, 0);
	ASSERT(!ctxd_transport_spinning(t));
	/* open again, then the host closes its end: EOF is delivered and the window closes */
	ctxd_transport_set_spin(t, 60u * 1000 * 1000);
	ASSERT_EQ(write(in[1], "c\n", 2), 2);
	ev_run(loop, EVRUN_NOWAIT);
	ASSERT(ctxd_transport_spinning(t));
	close(in[1]);
	for (int i = 0; i < 4 && (re.eofs == 0 || ctxd_transport_spinning(t)); i++) {
		ev_run(loop, EVRUN_NOWAIT);
	}
	ASSERT_EQ(rp->n, 3);
	ASSERT_EQ(re.eofs, 1);
	ASSERT(!ctxd_transport_spinning(t));
	ctxd_transport_destroy(t);
	close(in[0]);
	close(out[0]);
	close(out[1]);
}

/* The wall clock as this test binary sees it, stepped back by wall_step_s: these
 * definitions take the place of libc's for the process, libev included. */
static time_t wall_step_s;

int clock_gettime(clockid_t id, struct timespec *ts)
{
	long r = syscall(SYS_clock_gettime, id, ts);
	if (r == 0 && id == CLOCK_REALTIME) {
		ts->tv_sec -= wall_step_s;
	}
	return (int)r;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;
	(void)tz;
	int r = clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return r;
}

/* The poll window is timed on the monotonic clock: with the wall clock stepped back an hour
 * (NTP, a restored VM) while it is open, it still closes after its own length (1 s here),
 * instead of spinning for the hour. libev re-reads the wall clock about every 0.5 s, so
 * its time steps back within the window. */
static void test_transport_spin_clock_step(void)
{
	int in[2], out[2];
	ASSERT_EQ(pipe(in), 0);
	ASSERT_EQ(pipe(out), 0);
	struct ev_loop *loop = ev_default_loop(0);
	struct rec_eof re = {0};
	struct ctxd_transport_ops ops = {.frame = on_frame, .eof = count_eof};
	struct ctxd_transport *t =
	    ctxd_transport_create(loop, in[0], out[1], 1024, 1 << 20, &ops, &re);
	ASSERT(t);
	ctxd_transport_set_spin(t, 1000u * 1000);
	ASSERT_EQ(write(in[1], "a\n", 2), 2);
	ev_run(loop, EVRUN_NOWAIT);
	ASSERT_EQ(re.r.n, 1);
	ASSERT(ctxd_transport_spinning(t));
	wall_step_s = 3600;
	struct timespec t0, now;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t0);
	do { /* hang guard: 5 s of turns, each a zero-timeout poll while the window is open */
		ev_run(loop, EVRUN_NOWAIT);
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &now);
	} while (ctxd_transport_spinning(t) && now.tv_sec - t0.tv_sec < 5);
	ASSERT(!ctxd_transport_spinning(t));
	wall_step_s = 0;
	ctxd_transport_destroy(t);
	close(in[0]);
	close(in[1]);
	close(out[0]);
	close(out[1]);
}

int main(void)
{
	RUN(test_splitter_lines_crlf_blank);
	RUN(test_splitter_byte_by_byte);
	RUN(test_splitter_oversize_resyncs);
	RUN(test_transport_congestion_counts_bytes);
	RUN(test_transport_spin_window);
	RUN(test_transport_spin_clock_step);
	return 0;
}
