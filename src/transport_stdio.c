/* transport_stdio.c - newline-delimited frames over non-blocking fds with libev.
 *
 * Reading: up to READ_BUDGET bytes per wake-up, split into frames as they arrive.
 * Writing: write first; only leftovers arm the writable watcher (Redis' habit). The write
 * queue is bounded by `high_water`: above it we stop reading input, so a host that stops
 * reading our output cannot make us buffer its requests' answers without bound. */
#include "ctxd/strbuf.h"
#include "ctxd/transport.h"

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK  (64 * 1024)
#define READ_BUDGET (1024 * 1024)
#define MAX_IOV     64

/* ---- splitter ---- */

void ctxd_splitter_init(struct ctxd_splitter *s, size_t max)
{
	memset(s, 0, sizeof(*s));
	s->max = max;
}

void ctxd_splitter_finish(struct ctxd_splitter *s)
{
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

size_t ctxd_splitter_pending(const struct ctxd_splitter *s)
{
	return s->len;
}

static void emit(const char *line, size_t len, ctxd_frame_fn fn, void *ud)
{
	if (len && line[len - 1] == '\r') {
		len--;
	}
	/* blank lines (also whitespace-only) are not frames */
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
		i++;
	}
	if (i < len) {
		fn(ud, line, len);
	}
}

static int carry(struct ctxd_splitter *s, const char *data, size_t n)
{
	if (ctxd_grow((void **)&s->buf, &s->cap, s->len + n, 1, 4096)) {
		s->len = 0;
		return -1;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	return 0;
}

int ctxd_splitter_feed(struct ctxd_splitter *s, const char *data, size_t n, ctxd_frame_fn fn,
		       void *ud)
{
	while (n > 0) {
		const char *nl = memchr(data, '\n', n);
		size_t seg = nl ? (size_t)(nl - data) : n;
		size_t total = s->len + seg;
		bool over;
		if (nl) {
			/* a CR is allowed past the limit only as part of the terminator */
			char last = seg ? data[seg - 1] : (s->len ? s->buf[s->len - 1] : 0);
			over = total - (last == '\r') > s->max;
		} else {
			over = total > s->max + 1;
		}
		if (s->discarding) {
			if (nl) {
				s->discarding = false;
			}
		} else if (over) {
			/* report once, drop the rest of this line */
			s->len = 0;
			s->discarding = !nl;
			fn(ud, NULL, total);
		} else if (nl) {
			if (s->len == 0) {
				emit(data, seg, fn, ud);
			} else {
				if (carry(s, data, seg) < 0) {
					return -1;
				}
				s->len = 0;
				emit(s->buf, total, fn, ud);
			}
		} else if (carry(s, data, seg) < 0) {
			return -1;
		}
		if (!nl) {
			break;
		}
		data += seg + 1;
		n -= seg + 1;
	}
	return 0;
}

/* ---- stdio transport ---- */

struct out_chunk {
	struct out_chunk *next;
	char *buf;
	size_t len, off;
};

struct ctxd_transport {
	struct ev_loop *loop;
	ev_io rd, wr;
	int in_fd, out_fd;
	struct ctxd_splitter sp;
	struct ctxd_transport_ops ops;
	void *ud;
	struct out_chunk *head, *tail;
	size_t queued, reserved, high_water;
	bool input_open, paused, throttled, write_failed, corked, checking;
	bool last_read;   /* ctxd_transport_read_available: read despite pause and throttle */
	ev_idle spin;     /* active during the poll window after input (ctxd_transport_set_spin) */
	ev_tstamp spin_s; /* the window's length; 0 = none */
	ev_tstamp spin_until; /* CLOCK_MONOTONIC seconds (mono_s) */
};

/* The poll window: while it is active the loop polls its descriptors without sleeping
 * (libev gives the backend a zero timeout while an idle watcher is active), so the host's
 * next request is seen without a sleep and wake-up of the loop thread. It closes when its
 * time is up, or at once when there is no input to wait for. The loop yields the CPU on
 * every turn, so a host sharing it can run. */
/* Seconds on CLOCK_MONOTONIC. The window is timed on it, not on ev_now(): libev's time is
 * the wall clock, and a step back of it (NTP, a restored VM) would keep the window, and the
 * CPU, busy for as long as the step. */
static ev_tstamp mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ev_tstamp)ts.tv_sec + (ev_tstamp)ts.tv_nsec / 1e9;
}

static void on_spin(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct ctxd_transport *t = w->data;
	(void)revents;
	if (!t->input_open || t->paused || t->throttled || mono_s() >= t->spin_until) {
		ev_idle_stop(loop, w);
		return;
	}
	sched_yield();
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0) {
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	}
}

static void update_reading(struct ctxd_transport *t)
{
	bool want = t->input_open && !t->paused && !t->throttled;
	if (want && !ev_is_active(&t->rd)) {
		ev_io_start(t->loop, &t->rd);
	} else if (!want && ev_is_active(&t->rd)) {
		ev_io_stop(t->loop, &t->rd);
	}
}

static void input_closed(struct ctxd_transport *t)
{
	if (!t->input_open) {
		return;
	}
	t->input_open = false;
	update_reading(t);
	/* A frame cut by EOF is still handed up: the upper layer answers a parse error
	 * if it is incomplete JSON, or serves it if only the newline was missing. */
	if (t->sp.len > 0 && !t->sp.discarding) {
		size_t len = t->sp.len;
		t->sp.len = 0;
		emit(t->sp.buf, len, t->ops.frame, t->ud);
	}
	t->ops.eof(t->ud);
}

static void read_some(struct ctxd_transport *t);

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctxd_transport *t = w->data;
	(void)loop;
	(void)revents;
	/* Answers to the frames of one wake-up leave together. */
	bool was_corked = t->corked;
	t->corked = true;
	read_some(t);
	ctxd_transport_cork(t, was_corked);
	if (t->spin_s > 0 && t->input_open) {
		t->spin_until = mono_s() + t->spin_s;
		if (!ev_is_active(&t->spin)) {
			ev_idle_start(t->loop, &t->spin);
		}
	}
}

static void read_some(struct ctxd_transport *t)
{
	char buf[READ_CHUNK];
	size_t budget = READ_BUDGET;
	/* The callbacks may stop reading (throttle, shutdown): re-check after each chunk. */
	while (budget > 0 && t->input_open && (t->last_read || (!t->paused && !t->throttled))) {
		ssize_t n = read(t->in_fd, buf, sizeof(buf));
		if (n > 0) {
			if (ctxd_splitter_feed(&t->sp, buf, (size_t)n, t->ops.frame, t->ud) < 0) {
				/* out of memory for a partial line: it is lost; resync */
				t->sp.discarding = true;
				t->ops.frame(t->ud, NULL, 0);
			}
			budget -= (size_t)n < budget ? (size_t)n : budget;
			if ((size_t)n < sizeof(buf) && !t->last_read) {
				/* a short read emptied the pipe: no read that says EAGAIN (the
				 * watcher is level-triggered, so more input wakes the loop again)
				 */
				return;
			}
			continue;
		}
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return;
		}
		input_closed(t); /* EOF or a hard read error */
		return;
	}
}

static void drop_queue(struct ctxd_transport *t)
{
	while (t->head) {
		struct out_chunk *c = t->head;
		t->head = c->next;
		free(c->buf);
		free(c);
	}
	t->tail = NULL;
	t->queued = 0;
}

/* Write as much as possible without blocking. Returns 0 when the queue is empty, 1 when
 * bytes remain, -1 on a write error (queue dropped). */
static int flush_some(struct ctxd_transport *t)
{
	while (t->head) {
		struct iovec iov[MAX_IOV];
		int cnt = 0;
		for (struct out_chunk *c = t->head; c && cnt < MAX_IOV; c = c->next) {
			iov[cnt].iov_base = c->buf + c->off;
			iov[cnt].iov_len = c->len - c->off;
			cnt++;
		}
		ssize_t n = writev(t->out_fd, iov, cnt);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				return 1;
			}
			int e = errno;
			t->write_failed = true;
			drop_queue(t);
			if (t->ops.write_error) {
				t->ops.write_error(t->ud, e);
			}
			return -1;
		}
		size_t left = (size_t)n;
		t->queued -= left;
		while (left > 0 && t->head) {
			struct out_chunk *c = t->head;
			size_t avail = c->len - c->off;
			if (left < avail) {
				c->off += left;
				break;
			}
			left -= avail;
			t->head = c->next;
			if (!t->head) {
				t->tail = NULL;
			}
			free(c->buf);
			free(c);
		}
	}
	return 0;
}

/* Backpressure on the bytes owed to the host (queued + reserved): above the high-water
 * mark stop reading input and tell the upper layer; at half of it resume. The upper
 * layer's reaction may queue or reserve more, so this loops until the state is stable and
 * never calls back into itself. */
static void check_throttle(struct ctxd_transport *t)
{
	if (t->checking) {
		return; /* the outer call re-checks after its callback */
	}
	t->checking = true;
	for (;;) {
		size_t owed = t->queued + t->reserved;
		bool want = t->throttled ? owed > t->high_water / 2 : owed > t->high_water;
		if (want == t->throttled) {
			break;
		}
		t->throttled = want;
		update_reading(t);
		if (t->ops.congestion) {
			t->ops.congestion(t->ud, want);
		}
	}
	t->checking = false;
}

static void after_flush(struct ctxd_transport *t, int rc)
{
	if (rc > 0) {
		if (!ev_is_active(&t->wr)) {
			ev_io_start(t->loop, &t->wr);
		}
	} else if (ev_is_active(&t->wr)) {
		ev_io_stop(t->loop, &t->wr);
	}
	check_throttle(t);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct ctxd_transport *t = w->data;
	(void)loop;
	(void)revents;
	after_flush(t, flush_some(t));
}

struct ctxd_transport *ctxd_transport_create(struct ev_loop *loop, int in_fd, int out_fd,
					     size_t max_frame, size_t high_water,
					     const struct ctxd_transport_ops *ops, void *ud)
{
	struct ctxd_transport *t = calloc(1, sizeof(*t));
	if (!t) {
		return NULL;
	}
	t->loop = loop;
	t->in_fd = in_fd;
	t->out_fd = out_fd;
	t->ops = *ops;
	t->ud = ud;
	t->high_water = high_water ? high_water : 1;
	t->input_open = true;
	ctxd_splitter_init(&t->sp, max_frame);
	set_nonblock(in_fd);
	set_nonblock(out_fd);
	ev_io_init(&t->rd, on_read, in_fd, EV_READ);
	ev_io_init(&t->wr, on_write, out_fd, EV_WRITE);
	t->rd.data = t;
	t->wr.data = t;
	ev_idle_init(&t->spin, on_spin);
	t->spin.data = t;
	update_reading(t);
	return t;
}

void ctxd_transport_destroy(struct ctxd_transport *t)
{
	if (!t) {
		return;
	}
	ev_io_stop(t->loop, &t->rd);
	ev_io_stop(t->loop, &t->wr);
	ev_idle_stop(t->loop, &t->spin);
	drop_queue(t);
	ctxd_splitter_finish(&t->sp);
	free(t);
}

int ctxd_transport_send(struct ctxd_transport *t, char *buf, size_t len)
{
	if (t->write_failed) {
		free(buf);
		return -1;
	}
	struct out_chunk *c = malloc(sizeof(*c));
	if (!c) {
		free(buf);
		return -1;
	}
	*c = (struct out_chunk){.buf = buf, .len = len};
	if (t->tail) {
		t->tail->next = c;
	} else {
		t->head = c;
	}
	t->tail = c;
	t->queued += len;
	if (!t->corked && !ev_is_active(&t->wr)) {
		/* write first; arm the watcher only for leftovers */
		int rc = flush_some(t);
		if (rc < 0) {
			return -1;
		}
		if (rc > 0) {
			ev_io_start(t->loop, &t->wr);
		}
	}
	check_throttle(t);
	return 0;
}

void ctxd_transport_cork(struct ctxd_transport *t, bool corked)
{
	t->corked = corked;
	if (!corked && t->head && !ev_is_active(&t->wr) && !t->write_failed) {
		after_flush(t, flush_some(t));
	}
}

void ctxd_transport_set_spin(struct ctxd_transport *t, unsigned us)
{
	t->spin_s = us / 1e6;
	if (us == 0) {
		ev_idle_stop(t->loop, &t->spin);
	}
}

bool ctxd_transport_spinning(const struct ctxd_transport *t)
{
	return ev_is_active(&t->spin);
}

void ctxd_transport_read_available(struct ctxd_transport *t)
{
	t->last_read = true;
	read_some(t);
	t->last_read = false;
}

void ctxd_transport_close_input(struct ctxd_transport *t)
{
	t->input_open = false;
	update_reading(t);
}

void ctxd_transport_pause(struct ctxd_transport *t, bool paused)
{
	t->paused = paused;
	update_reading(t);
}

size_t ctxd_transport_queued(const struct ctxd_transport *t)
{
	return t->queued;
}

void ctxd_transport_reserve(struct ctxd_transport *t, size_t bytes)
{
	t->reserved = bytes;
	check_throttle(t);
}

int ctxd_transport_flush(struct ctxd_transport *t, int timeout_ms)
{
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int rc = flush_some(t);
		if (rc <= 0) {
			return rc;
		}
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent =
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (spent >= timeout_ms) {
			return -1;
		}
		struct pollfd pfd = {.fd = t->out_fd, .events = POLLOUT};
		poll(&pfd, 1, (int)(timeout_ms - spent));
	}
}
