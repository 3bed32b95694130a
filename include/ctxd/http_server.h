/* http_server.h - the runtime side of the Streamable HTTP transport (MCP 2025-11-25 and
 * 2026-07-28 basic/transports, "Streamable HTTP"): one endpoint serving both eras.
 *
 *   - 2025-11-25 (and 2025-06-18, 2025-03-26) sessions: `initialize` creates a session with
 *     its own engine (struct ctxd_mcp: protocol state, client roots and sandbox snapshot),
 *     named by a random Mcp-Session-Id (getrandom, 128 bits). Each POSTed request is
 *     answered as application/json, or as an SSE stream when a progress notification or a
 *     server request (roots/list) comes before its response; GET opens the session's
 *     stream for notifications and server requests; DELETE ends the session; an unknown or
 *     ended session gets 404, a session used with another token too.
 *   - 2026-07-28 stateless requests: served without session state by one engine per bearer
 *     token (one in all without http.tokens_file), created on first use and freed once idle,
 *     so tasks (and listen streams) are bound to the token that made them: another token's
 *     tasks/get or tasks/cancel of the same taskId answers "Task not
 *     found". The request metadata headers are checked against the body
 *     (MCP-Protocol-Version, Mcp-Method, Mcp-Name; 400 with -32020 HeaderMismatch
 *     otherwise). subscriptions/listen is a long-lived SSE stream; a client closing a
 *     request's connection cancels the request.
 *   - Resumption (2025-11-25 sessions): every SSE event carries an id "STREAM-SEQ" and is
 *     kept (http.replay_buffer_bytes); a GET with Last-Event-ID replays what that stream
 *     missed and goes on as it; 410 Gone when the events were forgotten (http_replay.c).
 *   - JSON-RPC batches: 400 with -32600, id null, in every era (batches were removed in
 *     2025-06-18; a 2025-03-26 client sends one message per POST over HTTP).
 *   - Notifications and responses POSTed get 202. A session's notifications/cancelled for
 *     a request whose POST is still open ends that POST (an SSE answer closes without a
 *     response; a JSON one gets a JSON-RPC error), since the engine does not answer it.
 * The pool, the registry, the skills catalogue, the memory banks and the watcher are shared
 * by every engine. Landlock is process-wide, so in HTTP mode it covers the configured
 * directories only; a session's roots only narrow its own sandbox snapshot.
 *
 * Loop thread only, except where a function says otherwise.
 */
#ifndef CTXD_HTTP_SERVER_H
#define CTXD_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "ctxd/config.h"
#include "ctxd/error.h"
#include "ctxd/mcp.h"
#include "ctxd/pool.h"
#include "ctxd/provider.h"
#include "ctxd/registry.h"
#include "ctxd/sandbox.h"

struct ev_loop;
struct ctxd_watch;
struct ctxd_http_server;

/* Called for every engine the server creates, before its first frame: register the
 * providers, methods, capabilities and instructions (as for the stdio engine). `read_only`
 * tells an engine for read-only tokens. */
typedef void (*ctxd_engine_setup_fn)(void *ud, struct ctxd_mcp *m, bool read_only);

struct ctxd_http_server_deps {
	struct ev_loop *ev;
	const struct ctxd_config *cfg;
	struct ctxd_pool *pool;
	struct ctxd_watch *watch;             /* may be NULL */
	const struct ctxd_sandbox *sandbox;   /* the configured directories */
	const struct ctxd_registry *registry; /* every tool */
	void (*wake)(void *ud);               /* the loop's thread-safe wake-up */
	void *wake_ud;
	void (*idle)(void *ud); /* the last request in flight finished (may be NULL) */
	void *idle_ud;
};

/* Listen on cfg->http.listen and serve. All deps are borrowed and must outlive the server.
 * Refuses (NULL, err set) a non-loopback address without http.tokens_file. */
struct ctxd_http_server *ctxd_http_server_create(const struct ctxd_http_server_deps *deps,
						 struct ctxd_error *err);

/* The engine set-up hook (see ctxd_engine_setup_fn), and the sandbox (every root read-only)
 * and registry (no writing tool) for clients whose token is read-only (NULL: read-only
 * tokens get the full ones; borrowed). Before the first request. */
void ctxd_http_server_set_setup(struct ctxd_http_server *s, ctxd_engine_setup_fn fn, void *ud);
void ctxd_http_server_set_read_only(struct ctxd_http_server *s, const struct ctxd_sandbox *sb,
				    const struct ctxd_registry *reg);

/* After a wake-up: deliver the engines' queued notifications (before ctxd_pool_drain). */
void ctxd_http_server_poll(struct ctxd_http_server *s);

/* After ctxd_pool_drain: free the engines of ended sessions that have nothing in flight. */
void ctxd_http_server_reap(struct ctxd_http_server *s);

/* Requests in flight over every engine. */
size_t ctxd_http_server_inflight(const struct ctxd_http_server *s);

/* The daemon's figures for ctxd://status, the minute log line and GET /metrics: open
 * 2025-11-25 sessions; requests in flight, tasks held (working, or ended and kept until
 * tasks.ttl_ms; `tasks_by` split by status as enum ctxd_task_status) and requests completed
 * since start, over every engine (freed ones included for `completed`); bytes queued for
 * clients' streams; open connections. */
struct ctxd_http_figures {
	size_t sessions, inflight, tasks, completed, owed, connections;
	size_t tasks_by[CTXD_TASK_STATUSES];
};
void ctxd_http_server_figures(const struct ctxd_http_server *s, struct ctxd_http_figures *f);

struct ctxd_loop_status;

/* Offer ctxd://status on every engine created from now on with the figures of `ops`
 * (copied; the loop's, see ctxd_mcp_set_status), and the event-loop lag of `st` (borrowed)
 * in GET /metrics. Before the first request. */
void ctxd_http_server_set_status(struct ctxd_http_server *s, const struct ctxd_status_ops *ops,
				 struct ctxd_loop_status *st);

/* Shutdown: stop listening, end every stream (subscriptions/listen gracefully, GET streams),
 * let requests in flight finish. */
void ctxd_http_server_shutdown(struct ctxd_http_server *s);

/* Shutdown: true once every HTTP exchange is over (answers and closed streams written). */
bool ctxd_http_server_flushed(const struct ctxd_http_server *s);

/* Cancel every request in flight (drain bound reached). */
void ctxd_http_server_cancel_all(struct ctxd_http_server *s);

/* A list changed for every client (e.g. the skills catalogue): notify every engine. */
void ctxd_http_server_list_changed(struct ctxd_http_server *s, enum ctxd_list_kind kind);

/* Periodic housekeeping: the engines' timeouts, idle sessions ended
 * (http.session_timeout_ms). `now_ms`: monotonic milliseconds. */
void ctxd_http_server_tick(struct ctxd_http_server *s, double now_ms);

/* The port of listening address `i` (cfg->http.listen order). */
unsigned ctxd_http_server_port(const struct ctxd_http_server *s, size_t i);

/* Free everything (every exchange ends aborted). Requests must not be in flight (destroy
 * the pool first). NULL-safe. */
void ctxd_http_server_destroy(struct ctxd_http_server *s);

#endif
