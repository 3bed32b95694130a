/* transport.h - stdio transport: bytes to frames, frames to bytes (MCP stdio transport).
 *
 * A frame is one line; "\r\n" is accepted; blank lines are skipped. The splitter enforces
 * the maximum frame size while reading: once a line grows past it, the rest of that line
 * is discarded and one oversize event is reported, so the stream resynchronises at the
 * next newline. The splitter is pure (fuzzable); the transport wraps it around fds 0/1
 * with libev and a bounded write queue.
 */
#ifndef CTXD_TRANSPORT_H
#define CTXD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>

/* One complete frame (no newline, no trailing CR), or an oversize event (line == NULL,
 * len = bytes seen before the limit hit). `line` is borrowed for the call. */
typedef void (*ctxd_frame_fn)(void *ud, const char *line, size_t len);

struct ctxd_splitter {
	char *buf; /* partial line carried between feeds (owned) */
	size_t len, cap;
	size_t max;      /* maximum frame bytes (excluding the newline) */
	bool discarding; /* inside an oversize line: drop bytes until '\n' */
};

/* Initialise with a maximum frame size in bytes (> 0). Release with finish. */
void ctxd_splitter_init(struct ctxd_splitter *s, size_t max);

/* Free the carried buffer. */
void ctxd_splitter_finish(struct ctxd_splitter *s);

/* Feed `n` bytes; calls `fn` for each complete frame and for each oversize line (once per
 * line, when the limit is crossed). Returns 0, or -1 on ENOMEM (the partial line is
 * dropped). Whole frames inside `data` are passed without copying. */
int ctxd_splitter_feed(struct ctxd_splitter *s, const char *data, size_t n, ctxd_frame_fn fn,
		       void *ud);

/* Bytes of an unterminated line still held (a frame cut by EOF). */
size_t ctxd_splitter_pending(const struct ctxd_splitter *s);

struct ev_loop;
struct ctxd_transport;

struct ctxd_transport_ops {
	ctxd_frame_fn frame;                    /* a frame or an oversize event */
	void (*eof)(void *ud);                  /* input closed (EOF or read error); called once */
	void (*write_error)(void *ud, int err); /* EPIPE etc.: output is gone (may be NULL) */
	/* The bytes owed to the host (queued + reserved) passed the high-water mark (`on`),
	 * or fell back to half of it (!on). Reading input stops and resumes by itself; this
	 * tells the upper layer to stop or resume producing output. Never called from inside
	 * itself. May be NULL. */
	void (*congestion)(void *ud, bool on);
};

/* Wrap `in_fd`/`out_fd` (made non-blocking) on `loop`. `max_frame` bounds a frame;
 * `high_water` bounds the bytes owed to the host (queued output plus what the upper layer
 * reserved for answers it holds): above it reading stops until they fall to half of it.
 * Returns NULL with errno set. Loop thread only. */
struct ctxd_transport *ctxd_transport_create(struct ev_loop *loop, int in_fd, int out_fd,
					     size_t max_frame, size_t high_water,
					     const struct ctxd_transport_ops *ops, void *ud);

/* Stop watchers and free queued output (not flushed) and the splitter. NULL-safe. */
void ctxd_transport_destroy(struct ctxd_transport *t);

/* Queue one frame (must end in '\n') for stdout. Takes ownership of `buf` (malloc'd).
 * Writes at once when the queue is empty; leftovers arm the writable watcher. After a
 * write error the bytes are dropped. Returns 0, or -1 after a write error. */
int ctxd_transport_send(struct ctxd_transport *t, char *buf, size_t len);

/* Cork: while corked, ctxd_transport_send only queues; uncorking writes everything
 * queued with as few writev calls as possible. Used around a batch of completions. */
void ctxd_transport_cork(struct ctxd_transport *t, bool corked);

/* The poll window after input (limits.spin_us; docs/architecture.md, "Small calls"): for
 * `us` microseconds after each read of input the loop keeps polling its descriptors
 * instead of sleeping, yielding the CPU on each turn, so that a host's next request costs
 * no sleep and wake-up of the loop thread. The window closes early when input ends,
 * pauses or is throttled. 0 turns it off (and closes an open one). Loop thread. */
void ctxd_transport_set_spin(struct ctxd_transport *t, unsigned us);

/* True while the poll window is open (for tests). Loop thread. */
bool ctxd_transport_spinning(const struct ctxd_transport *t);

/* Read, without waiting, what the peer has already written (at most 1 MiB), even while
 * reading is paused or throttled, handing complete frames to ops.frame and reporting EOF
 * through ops.eof as usual. Used when a signal ends the session: requests a client sent
 * before it closed its end and signalled us still get their answers. Loop thread. */
void ctxd_transport_read_available(struct ctxd_transport *t);

/* Stop reading input for good (shutdown). */
void ctxd_transport_close_input(struct ctxd_transport *t);

/* Pause/resume reading (in addition to the write-queue backpressure). */
void ctxd_transport_pause(struct ctxd_transport *t, bool paused);

/* Bytes queued and not yet written. */
size_t ctxd_transport_queued(const struct ctxd_transport *t);

/* The upper layer holds `bytes` of output it has not queued yet (e.g. the answers of an
 * unfinished batch): they count as owed to the host for backpressure. Replaces the
 * previous figure. Loop thread. */
void ctxd_transport_reserve(struct ctxd_transport *t, size_t bytes);

/* Try to write everything queued, blocking up to `timeout_ms` (poll). Returns 0 when the
 * queue is empty, -1 otherwise. Used at exit. */
int ctxd_transport_flush(struct ctxd_transport *t, int timeout_ms);

#endif
