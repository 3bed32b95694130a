/* loop.c - the libev loop: transport <-> MCP wiring, pool completions, signals, shutdown. */
#include "ctxd/loop.h"

#include <errno.h>
#include <ev.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctxd/http_server.h"
#include "ctxd/log.h"
#include "ctxd/mcp.h"
#include "ctxd/pool.h"
#include "ctxd/transport.h"
#include "ctxd/watch.h"
#include "loop_status.h"

/* In-flight cap: past it stop reading requests until half have completed, so a host that
 * floods us cannot queue unbounded work. Well above the 256 the issue asks for. */
#define MAX_INFLIGHT     4096
#define FLUSH_AT_EXIT_MS 2000

struct ctxd_loop {
	struct ev_loop *ev;
	ev_async wake;
	ev_signal sigint, sigterm;
	ev_timer drain_timer;
	ev_timer tick;
	const struct ctxd_config *cfg;
	struct ctxd_pool *pool;
	struct ctxd_transport *tr;
	struct ctxd_mcp *mcp;          /* stdio: the one engine (NULL in HTTP mode) */
	struct ctxd_http_server *http; /* HTTP mode: the server and its engines */
	struct ctxd_watch *watch;
	bool shutting_down, abandoned, flooded;
	bool congested, idle_said; /* bytes owed to the host over budget; said workers idle */
	/* answer bytes held for unfinished batches; ctxd://status and the minute line */
	size_t reserved;
	struct ctxd_loop_status *status;
};

static size_t inflight(const struct ctxd_loop *l)
{
	return l->http ? ctxd_http_server_inflight(l->http) : ctxd_mcp_inflight(l->mcp);
}

static void maybe_finish(struct ctxd_loop *l)
{
	/* over HTTP also every answer and closing stream written (within drain_ms) */
	if (l->shutting_down && inflight(l) == 0 &&
	    (!l->http || ctxd_http_server_flushed(l->http))) {
		ev_break(l->ev, EVBREAK_ALL);
	}
}

static void begin_shutdown(struct ctxd_loop *l, const char *why)
{
	if (l->shutting_down) {
		return;
	}
	l->shutting_down = true;
	ctxd_info("shutting down (%s), %zu request(s) in flight", why, inflight(l));
	if (l->http) {
		ctxd_http_server_shutdown(l->http);
		ev_timer_set(&l->drain_timer, l->cfg->drain_ms / 1000.0, 0.);
		ev_timer_start(l->ev, &l->drain_timer);
		maybe_finish(l);
		return;
	}
	ctxd_transport_close_input(l->tr);
	ctxd_mcp_close_streams(l->mcp); /* subscriptions/listen: graceful closing responses */
	ctxd_mcp_input_closed(l->mcp);
	/* The signal watchers stay: a host that closes stdin and sends SIGTERM at once (the
	 * stdio shutdown sequence) must not kill us before the answers are out. */
	ev_timer_set(&l->drain_timer, l->cfg->drain_ms / 1000.0, 0.);
	ev_timer_start(l->ev, &l->drain_timer);
	maybe_finish(l);
}

static void on_drain_timeout(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct ctxd_loop *l = w->data;
	(void)revents;
	size_t n = inflight(l);
	if (n > 0) {
		ctxd_warn("drain limit of %u ms reached: abandoning %zu request(s)",
			  l->cfg->drain_ms, n);
		if (l->http) {
			ctxd_http_server_cancel_all(l->http);
		} else {
			ctxd_mcp_cancel_all(l->mcp);
		}
		ctxd_pool_drain(l->pool); /* completes jobs that never started */
		l->abandoned = inflight(l) > 0;
	}
	ev_break(ev, EVBREAK_ALL);
}

static void on_frame(void *ud, const char *line, size_t len)
{
	struct ctxd_loop *l = ud;
	if (l->shutting_down && line) {
		return; /* a frame cut by EOF after shutdown began */
	}
	ctxd_mcp_handle_frame(l->mcp, line, len);
	if (!l->flooded && ctxd_mcp_inflight(l->mcp) >= MAX_INFLIGHT) {
		l->flooded = true;
		ctxd_transport_pause(l->tr, true);
	}
}

static void on_eof(void *ud)
{
	begin_shutdown(ud, "stdin closed");
}

static void on_write_error(void *ud, int err)
{
	struct ctxd_loop *l = ud;
	ctxd_info("stdout closed (%s)", strerror(err));
	begin_shutdown(l, "stdout closed");
	/* nobody can read answers any more: do not wait for work to finish */
	ctxd_mcp_cancel_all(l->mcp);
}

/* Once every worker has finished what it was doing while the host does not read, nothing
 * more is built until it does: say so once (tests wait for this line). */
static void say_idle(struct ctxd_loop *l)
{
	if (l->congested && !l->idle_said && ctxd_pool_running(l->pool) == 0) {
		l->idle_said = true;
		ctxd_debug("backpressure: every worker idle, %zu byte(s) queued for the host",
			   ctxd_transport_queued(l->tr));
	}
}

/* Backpressure counts bytes, not requests: while the bytes owed to the host (queued, plus
 * held for unfinished batches) exceed limits.write_queue_bytes, the transport reads no
 * request, no worker starts a queued job and notifications are only remembered; at half
 * the budget everything resumes. Memory stays near the budget plus what the running
 * jobs build, however many requests are waiting. */
static void on_congestion(void *ud, bool on)
{
	struct ctxd_loop *l = ud;
	if (!l->mcp) {
		return;
	}
	l->congested = on;
	l->idle_said = false;
	ctxd_debug("backpressure %s: %zu byte(s) queued for the host, budget %zu",
		   on ? "on" : "off", ctxd_transport_queued(l->tr), l->cfg->write_queue_bytes);
	ctxd_pool_hold(l->pool, on);
	ctxd_mcp_congested(l->mcp, on);
	say_idle(l);
}

static void on_wake(struct ev_loop *ev, ev_async *w, int revents)
{
	struct ctxd_loop *l = w->data;
	(void)ev;
	(void)revents;
	if (l->http) {
		ctxd_http_server_poll(l->http); /* progress first: it must precede its response */
		ctxd_loop_status_ran(l->status, ctxd_pool_drain(l->pool));
		ctxd_http_server_reap(l->http);
		maybe_finish(l);
		return;
	}
	ctxd_transport_cork(l->tr, true); /* one writev for the whole batch */
	ctxd_mcp_poll(l->mcp);            /* progress first: it must precede its response */
	ctxd_loop_status_ran(l->status, ctxd_pool_drain(l->pool));
	ctxd_transport_cork(l->tr, false);
	if (l->flooded && ctxd_mcp_inflight(l->mcp) <= MAX_INFLIGHT / 2) {
		l->flooded = false;
		ctxd_transport_pause(l->tr, false);
	}
	say_idle(l);
	maybe_finish(l);
}

/* Worker thread: wake the loop (ev_async_send is thread-safe and coalesces). */
static void pool_wake(void *ud)
{
	struct ctxd_loop *l = ud;
	ev_async_send(l->ev, &l->wake);
}

/* The signals that end the session: SIGINT and SIGTERM. */
static void shutdown_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
}

static void on_signal(struct ev_loop *ev, ev_signal *w, int revents)
{
	struct ctxd_loop *l = w->data;
	(void)ev;
	(void)revents;
	const char *name = w->signum == SIGINT ? "SIGINT" : "SIGTERM";
	if (l->shutting_down) {
		ctxd_info("%s during shutdown: still finishing %zu request(s) and writing their "
			  "answers",
			  name, inflight(l));
		return;
	}
	if (l->http) {
		begin_shutdown(l, name);
		return;
	}
	/* Requests already written to us are answered: a host that closes stdin and signals
	 * at once (the stdio shutdown sequence) has sent them before the signal. */
	ctxd_transport_read_available(l->tr);
	begin_shutdown(l, name);
}

static void on_tick(struct ev_loop *ev, ev_timer *w, int revents)
{
	struct ctxd_loop *l = w->data;
	struct timespec ts;
	(void)ev;
	(void)revents;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (l->http) {
		ctxd_http_server_tick(l->http, ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
	} else {
		ctxd_mcp_tick(l->mcp, ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
	}
}

static void send_frame(void *ud, char *buf, size_t len)
{
	struct ctxd_loop *l = ud;
	ctxd_transport_send(l->tr, buf, len);
}

static void reserve_bytes(void *ud, size_t bytes)
{
	struct ctxd_loop *l = ud;
	l->reserved = bytes;
	ctxd_transport_reserve(l->tr, bytes);
}

static void on_idle(void *ud)
{
	maybe_finish(ud);
}

/* HTTP mode (http.listen): the Streamable HTTP server takes the place of stdio and its one
 * engine. False, with `l` destroyed and `err` set, when it cannot start. */
static bool start_http(struct ctxd_loop *l, const struct ctxd_sandbox *sb,
		       const struct ctxd_registry *reg, struct ctxd_error *err)
{
	const struct ctxd_config *cfg = l->cfg;
	struct ctxd_http_server_deps hd = {
	    .ev = l->ev,
	    .cfg = cfg,
	    .pool = l->pool,
	    .watch = l->watch,
	    .sandbox = sb,
	    .registry = reg,
	    .wake = pool_wake,
	    .wake_ud = l,
	    .idle = on_idle,
	    .idle_ud = l,
	};
	l->http = ctxd_http_server_create(&hd, err);
	if (!l->http) {
		ctxd_loop_destroy(l);
		return false;
	}
	struct ctxd_status_src src = {.ev = l->ev, .pool = l->pool, .http = l->http};
	l->status = ctxd_loop_status_start(&src);
	ctxd_info("ready: %u worker thread(s), serving Streamable HTTP", ctxd_pool_size(l->pool));
	return true;
}

struct ctxd_loop *ctxd_loop_create(const struct ctxd_config *cfg, const struct ctxd_sandbox *sb,
				   const struct ctxd_registry *reg, int in_fd, int out_fd,
				   struct ctxd_error *err)
{
	struct ctxd_loop *l = calloc(1, sizeof(*l));
	if (!l) {
		ctxd_error_set(err, CTXD_ERR_TOOL, "out of memory");
		return NULL;
	}
	l->cfg = cfg;
	l->ev = ev_default_loop(EVFLAG_AUTO | EVFLAG_NOSIGMASK);
	if (!l->ev) {
		ctxd_error_set(err, CTXD_ERR_TOOL, "cannot initialise libev");
		free(l);
		return NULL;
	}
	signal(SIGPIPE, SIG_IGN);
	ev_async_init(&l->wake, on_wake);
	l->wake.data = l;
	ev_async_start(l->ev, &l->wake);
	ev_signal_init(&l->sigint, on_signal, SIGINT);
	ev_signal_init(&l->sigterm, on_signal, SIGTERM);
	l->sigint.data = l->sigterm.data = l;
	ev_signal_start(l->ev, &l->sigint);
	ev_signal_start(l->ev, &l->sigterm);
	ev_init(&l->drain_timer, on_drain_timeout);
	l->drain_timer.data = l;
	ev_timer_init(&l->tick, on_tick, 0.5, 0.5);
	l->tick.data = l;
	ev_timer_start(l->ev, &l->tick);
	ev_unref(l->ev); /* the tick alone does not keep the loop alive */
	l->watch = ctxd_watch_create(l->ev, 50);
	if (!l->watch) {
		ctxd_warn("inotify unavailable (%s): no change notifications", strerror(errno));
	} else {
		ctxd_watch_set_poll_ms(l->watch, cfg->poll_ms);
	}

	json_object_seed(0); /* before any thread uses jansson */
	l->pool = ctxd_pool_create(cfg->threads, pool_wake, l);
	if (!l->pool) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, errno, "cannot start worker threads: %s",
				     strerror(errno));
		goto fail;
	}
	if (cfg->http.n_listen > 0) {
		return start_http(l, sb, reg, err) ? l : NULL;
	}
	static const struct ctxd_transport_ops ops = {
	    .frame = on_frame,
	    .eof = on_eof,
	    .write_error = on_write_error,
	    .congestion = on_congestion,
	};
	l->tr = ctxd_transport_create(l->ev, in_fd, out_fd, cfg->max_frame_bytes,
				      cfg->write_queue_bytes, &ops, l);
	if (l->tr) {
		ctxd_transport_set_spin(l->tr, cfg->spin_us);
	}
	struct ctxd_mcp_deps deps = {
	    .cfg = cfg,
	    .sandbox = sb,
	    .registry = reg,
	    .pool = l->pool,
	    .send = send_frame,
	    .send_ud = l,
	    .reserve = reserve_bytes,
	    .idle = on_idle,
	    .idle_ud = l,
	    .watch = l->watch,
	    .wake = pool_wake,
	    .wake_ud = l,
	};
	l->mcp = l->tr ? ctxd_mcp_create(&deps) : NULL;
	if (!l->mcp) {
		ctxd_error_set(err, CTXD_ERR_TOOL, "out of memory");
		goto fail;
	}
	struct ctxd_status_src src = {l->ev, l->pool, l->tr, l->mcp, &l->reserved, NULL};
	l->status = ctxd_loop_status_start(&src);
	ctxd_info("ready: %u worker thread(s)", ctxd_pool_size(l->pool));
	return l;
fail:
	ctxd_loop_destroy(l);
	return NULL;
}

int ctxd_loop_run(struct ctxd_loop *l)
{
	/* From here on SIGINT/SIGTERM reach the loop thread's watchers (a signal that came
	 * during start-up was held pending by ctxd_loop_hold_signals and is handled now). The
	 * workers started with them blocked and keep them so. */
	sigset_t set;
	shutdown_signals(&set);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	ev_run(l->ev, 0);
	if (l->http) {
		return 0;
	}
	int flush_ms = FLUSH_AT_EXIT_MS;
	if (l->cfg->drain_ms > FLUSH_AT_EXIT_MS) {
		flush_ms = (int)l->cfg->drain_ms;
	}
	if (ctxd_transport_queued(l->tr)) {
		ctxd_info("shutdown: waiting up to %d ms for the client to read the last %zu "
			  "byte(s)",
			  flush_ms, ctxd_transport_queued(l->tr));
	}
	if (ctxd_transport_flush(l->tr, flush_ms) < 0 && ctxd_transport_queued(l->tr)) {
		ctxd_warn("exiting with %zu byte(s) of output the client did not read",
			  ctxd_transport_queued(l->tr));
	}
	return 0; /* every shutdown path (EOF, signal, stdout gone) is a clean one */
}

void ctxd_loop_hold_signals(void)
{
	sigset_t set;
	shutdown_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

struct ctxd_mcp *ctxd_loop_mcp(struct ctxd_loop *l)
{
	return l->mcp;
}

struct ctxd_pool *ctxd_loop_pool(struct ctxd_loop *l)
{
	return l->pool;
}

struct ctxd_watch *ctxd_loop_watch(struct ctxd_loop *l)
{
	return l->watch;
}

void ctxd_loop_landlock_client_roots(struct ctxd_loop *l, const char *const *extra_ro)
{
	if (l->mcp) {
		ctxd_mcp_landlock_client_roots(l->mcp, extra_ro);
	}
}

void ctxd_loop_set_engine_setup(struct ctxd_loop *l, ctxd_engine_setup_fn fn, void *ud)
{
	if (l->http) {
		ctxd_http_server_set_setup(l->http, fn, ud);
	} else {
		fn(ud, l->mcp, false);
	}
}

void ctxd_loop_set_read_only(struct ctxd_loop *l, const struct ctxd_sandbox *sb,
			     const struct ctxd_registry *reg)
{
	if (l->http) {
		ctxd_http_server_set_read_only(l->http, sb, reg);
	}
}

bool ctxd_loop_is_http(const struct ctxd_loop *l)
{
	return l->http != NULL;
}

void ctxd_loop_list_changed(struct ctxd_loop *l, enum ctxd_list_kind kind)
{
	if (l->http) {
		ctxd_http_server_list_changed(l->http, kind);
	} else {
		ctxd_notify_list_changed(ctxd_mcp_notifier(l->mcp), kind);
	}
}

int ctxd_loop_abandoned(const struct ctxd_loop *l)
{
	return l->abandoned;
}

void ctxd_loop_destroy(struct ctxd_loop *l)
{
	if (!l) {
		return;
	}
	ctxd_loop_status_stop(l->status);
	ctxd_pool_destroy(l->pool); /* completes queued jobs as dropped, joins workers */
	ctxd_mcp_destroy(l->mcp);
	ctxd_http_server_destroy(l->http);
	ctxd_watch_destroy(l->watch);
	ctxd_transport_destroy(l->tr);
	ev_async_stop(l->ev, &l->wake);
	/* Until the process exits a late SIGINT/SIGTERM must not kill it (the answers are out,
	 * the exit status is decided): block them, let libev restore the default action, then
	 * ignore them (which also discards one that arrived meanwhile). */
	sigset_t set, old;
	shutdown_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	ev_signal_stop(l->ev, &l->sigint);
	ev_signal_stop(l->ev, &l->sigterm);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	ev_timer_stop(l->ev, &l->drain_timer);
	ev_ref(l->ev);
	ev_timer_stop(l->ev, &l->tick);
	free(l);
}
