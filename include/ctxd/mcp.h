/* mcp.h - the MCP protocol engine: lifecycle and version negotiation in both eras,
 * capabilities, the method table, tools/list and tools/call (MCP 2025-11-25 basic/lifecycle,
 * server/tools; MCP 2026-07-28 server/discover and stateless requests).
 *
 * Change notifications reach a legacy client unsolicited (after notifications/initialized)
 * and a modern one on its subscriptions/listen streams (MCP 2026-07-28
 * basic/patterns/subscriptions), both fed by one subscription index (subs.h) capped by
 * limits.subscriptions.
 *
 * Loop thread only. Frames come in through ctxd_mcp_handle_frame; every output frame
 * leaves through the `send` callback (one complete frame ending in '\n', ownership
 * passed). Tool calls run on the pool; their completions come back through
 * ctxd_pool_drain, which calls into this module.
 */
#ifndef CTXD_MCP_H
#define CTXD_MCP_H

#include <stdbool.h>
#include <stddef.h>

#include "ctxd/config.h"
#include "ctxd/pool.h"
#include "ctxd/provider.h"
#include "ctxd/registry.h"
#include "ctxd/sandbox.h"

/* Protocol versions, newest first. */
#define CTXD_MCP_MODERN_VERSION "2026-07-28"
#define CTXD_MCP_LATEST_LEGACY  "2025-11-25"

struct ctxd_mcp;

/* Takes ownership of `buf` (malloc'd, `len` bytes, ends in '\n'). */
typedef void (*ctxd_send_fn)(void *ud, char *buf, size_t len);

struct ctxd_mcp_deps {
	const struct ctxd_config *cfg;
	const struct ctxd_sandbox *sandbox;
	const struct ctxd_registry *registry;
	struct ctxd_pool *pool;
	ctxd_send_fn send;
	void *send_ud;
	/* Answer bytes held back for unfinished 2025-03-26 batches changed to `bytes`: they
	 * are owed to the host like queued ones (backpressure). Called with send_ud. May be
	 * NULL. */
	void (*reserve)(void *ud, size_t bytes);
	void (*idle)(void *ud); /* called when the last in-flight request finished (may be NULL) */
	void *idle_ud;
	struct ctxd_watch *watch; /* for resource subscriptions (may be NULL: none offered) */
	/* Thread-safe wake-up of the loop, after which it calls ctxd_mcp_poll (the pool's
	 * wake-up serves). Required. */
	void (*wake)(void *ud);
	void *wake_ud;
	/* Do not take the process's log sink (ctxd_log_set_sink): with many engines in one
	 * process (HTTP), none forwards the server's log as notifications/message itself (the
	 * HTTP server does, see ctxd_mcp_log_wanted). */
	bool no_log_sink;
	/* Called around the completion of a request taken back from the pool: with its id
	 * (borrowed, valid until the next call), then with NULL. What the loop thread logs in
	 * between belongs to that request (the HTTP server forwards it to the request's client).
	 * Called with send_ud. May be NULL. */
	void (*scope)(void *ud, const json_t *id);
};

/* True when a record at `level` is to be sent to this engine's client as
 * notifications/message: a 2025-11-25-era client asked for them with logging/setLevel at
 * that level or below (MCP 2025-11-25 server/utilities/logging). Loop thread. */
bool ctxd_mcp_log_wanted(const struct ctxd_mcp *m, enum ctxd_log_level level);

/* An extra request method served on a worker (e.g. an extension's skills/list).
 * `call` returns a new result object, or NULL with err set (err->kind as for
 * providers, provider.h). */
struct ctxd_method_provider {
	const char *method;
	void *ud;
	json_t *(*call)(void *ud, const struct ctxd_provider_ctx *ctx, const char *method,
			json_t *params, struct ctxd_error *err);
};

/* Create the engine. All deps are borrowed and must outlive it. NULL on ENOMEM. */
struct ctxd_mcp *ctxd_mcp_create(const struct ctxd_mcp_deps *deps);

/* Free the engine. In-flight requests must have completed (drain the pool first, or
 * destroy the pool, which completes them as dropped). NULL-safe. */
void ctxd_mcp_destroy(struct ctxd_mcp *m);

/* Handle one frame (`line`, `len` bytes, no newline). `line == NULL` reports an oversize
 * frame of at least `len` bytes: answered -32700 with id null. Never fails: every problem
 * becomes a JSON-RPC error response (requests) or nothing (notifications). */
void ctxd_mcp_handle_frame(struct ctxd_mcp *m, const char *line, size_t len);

/* Handle one message already parsed by ctxd_rpc_parse (a JSON object, not a batch): what
 * ctxd_mcp_handle_frame does after its parse, so a transport that had to parse the message
 * itself (Streamable HTTP routes by id and method) does not parse it twice. `msg` is
 * borrowed (the caller keeps its reference). Loop thread. JSON-RPC 2.0 section 4. */
void ctxd_mcp_handle_message(struct ctxd_mcp *m, json_t *msg);

/* Number of requests in flight (submitted to the pool, not yet completed). */
size_t ctxd_mcp_inflight(const struct ctxd_mcp *m);

/* Requests that ran and completed since start (on the pool or answered by the loop thread's
 * small-call path; answered, cancelled or dropped alike). Loop thread. */
size_t ctxd_mcp_completed(const struct ctxd_mcp *m);

/* Mark every in-flight request cancelled (no response will be written) and ask the
 * workers to stop. Used when the shutdown drain time runs out. */
void ctxd_mcp_cancel_all(struct ctxd_mcp *m);

/* Register providers (borrowed; must outlive the engine). Loop thread, before the first
 * frame. Capabilities (resources, prompts, completions) are advertised only once a
 * provider offers them. Return 0 or -1 (ENOMEM). */
int ctxd_mcp_add_resource_provider(struct ctxd_mcp *m, const struct ctxd_resource_provider *p);
int ctxd_mcp_add_prompt_provider(struct ctxd_mcp *m, const struct ctxd_prompt_provider *p);
int ctxd_mcp_add_method(struct ctxd_mcp *m, const struct ctxd_method_provider *p);

/* Add `value` (stolen) as capabilities[`key`] (e.g. an extension's capability object).
 * Loop thread, before the first frame. Returns 0 or -1. */
int ctxd_mcp_set_capability(struct ctxd_mcp *m, const char *key, json_t *value);

/* Set the `instructions` text sent in the initialize and server/discover results (copied;
 * NULL = send none, the default). Build it with ctxd_instructions_build so that it names
 * only the tools offered. Loop thread, before the first frame. Returns 0 or -1 (ENOMEM). */
int ctxd_mcp_set_instructions(struct ctxd_mcp *m, const char *text);

/* Client-roots mode (no directory configured): the first roots/list answer builds a
 * Landlock ruleset for the client's roots (+ `extra_ro`, borrowed, read-only), enforced on
 * the loop thread and, through ctxd_pool_broadcast, on every worker before its next job.
 * Later root changes can narrow within it, never widen it. Loop thread. */
void ctxd_mcp_landlock_client_roots(struct ctxd_mcp *m, const char *const *extra_ro);

/* Called on the loop thread each time the client's roots (MCP 2025-11-25 client/roots)
 * change the allowed directories, the first answer included; `sb` is the new root set
 * (sealed; borrowed for the call only). Not called when an answer leaves the set as it was. */
typedef void (*ctxd_roots_fn)(void *ud, const struct ctxd_sandbox *sb);

/* Register the one roots callback (`fn` NULL: none). Loop thread, before the first frame. */
void ctxd_mcp_on_roots(struct ctxd_mcp *m, ctxd_roots_fn fn, void *ud);

/* No more frames will arrive (stdin closed, or shutdown began). Requests that were waiting
 * for the client's first roots answer stop waiting and run on the directories in force
 * (the configured ones, or none with a note saying the client's roots never came).
 * Loop thread. */
void ctxd_mcp_input_closed(struct ctxd_mcp *m);

/* The runtime's figures behind the read-only resource ctxd://status (both eras), borrowed. */
struct ctxd_status_ops {
	/* A new JSON object of figures (names and units in README: uptime_ms, the event loop's
	 * lag, the pool, requests in flight, bytes owed to the host, RSS), or NULL on ENOMEM.
	 * Loop thread. */
	json_t *(*figures)(void *ud);
	/* Test hook, only with CTXD_TEST_HOOKS=1: the notification "ctxd.test/minute" ends the
	 * current minute of the status log line now. May be NULL. Loop thread. */
	void (*end_minute)(void *ud);
	void *ud;
};

/* Offer ctxd://status in resources/list and resources/read (and so the resources
 * capability) with the figures of `ops` (copied). Loop thread, before the first frame. */
void ctxd_mcp_set_status(struct ctxd_mcp *m, const struct ctxd_status_ops *ops);

/* The URI of the status resource. */
#define CTXD_STATUS_URI "ctxd://status"

/* Change notifications, callable from ANY thread (they are queued and handed to the loop
 * thread, which coalesces them and writes notifications/.../list_changed or
 * notifications/resources/updated when the client may receive them). */
enum ctxd_list_kind {
	CTXD_LIST_TOOLS = 0,
	CTXD_LIST_PROMPTS = 1,
	CTXD_LIST_RESOURCES = 2,
};

struct ctxd_notifier;

/* The tools, prompts or resources list changed. Thread-safe. NULL-safe (no-op). */
void ctxd_notify_list_changed(struct ctxd_notifier *n, enum ctxd_list_kind kind);

/* The resource `uri` (copied) changed: sent only if a client subscribed to it.
 * Thread-safe. NULL-safe (no-op). */
void ctxd_notify_resource_updated(struct ctxd_notifier *n, const char *uri);

/* The change notifier (thread-safe; see ctxd_notify_list_changed above). Borrowed. */
struct ctxd_notifier *ctxd_mcp_notifier(struct ctxd_mcp *m);

/* Deliver queued notifications (progress, list_changed, resources/updated). Loop thread;
 * call on every wake-up, before ctxd_pool_drain, so progress precedes its response. */
void ctxd_mcp_poll(struct ctxd_mcp *m);

/* The host stopped reading (`on`: the bytes owed to it passed their budget) or caught up
 * (!on). While on, held batch answers are written out at once (in parts), resource
 * updates and list_changed notifications are only remembered (each URI and each list
 * once), and are delivered when it ends. Loop thread. */
void ctxd_mcp_congested(struct ctxd_mcp *m, bool on);

/* Shutdown: end every open subscriptions/listen stream with its graceful closing
 * response (MCP 2026-07-28 basic/patterns/subscriptions, "Graceful Closure"): an empty
 * result whose _meta carries io.modelcontextprotocol/subscriptionId; a stream still being
 * set up is closed the same way as soon as it is ready. Loop thread. */
void ctxd_mcp_close_streams(struct ctxd_mcp *m);

/* Periodic housekeeping (timeouts of our own requests to the client; tools/call calls
 * becoming tasks after tasks.after_ms, deadlines on their work, expiry of ended tasks).
 * Loop thread; `now_ms` is a monotonic clock (CLOCK_MONOTONIC) in milliseconds. */
void ctxd_mcp_tick(struct ctxd_mcp *m, double now_ms);

/* Tasks this engine holds (MCP tasks, both eras): working ones and ended ones whose result
 * is kept until tasks.ttl_ms after they ended; at most tasks.max. Loop thread. */
size_t ctxd_mcp_tasks_live(const struct ctxd_mcp *m);

/* The statuses of a task (MCP tasks, both eras), in this order. */
enum ctxd_task_status {
	CTXD_TASK_WORKING,
	CTXD_TASK_COMPLETED,
	CTXD_TASK_FAILED,
	CTXD_TASK_CANCELLED,
	CTXD_TASK_STATUSES
};

/* The status names ("working", "completed", "failed", "cancelled"), by enum
 * ctxd_task_status. */
extern const char *const ctxd_task_status_names[CTXD_TASK_STATUSES];

/* Add the tasks this engine holds to `counts`, by status. Loop thread. */
void ctxd_mcp_tasks_by_status(const struct ctxd_mcp *m, size_t counts[CTXD_TASK_STATUSES]);

/* Who sends the frames handed to the engine from now on (the transport's principal, e.g.
 * "token:3" for the bearer token on line 3 of http.tokens_file; NULL or "": nobody in
 * particular). Bound into every MRTR requestState the engine issues (2026-07-28
 * basic/patterns/mrtr), so that a retry carrying it from another principal is refused with
 * -32602. Copied (at most 63 bytes kept). Loop thread, before ctxd_mcp_handle_frame. */
void ctxd_mcp_set_principal(struct ctxd_mcp *m, const char *principal);

/* Whether this engine takes a JSON-RPC batch (an array of messages) as one frame: only a
 * session that negotiated 2025-03-26 (2025-03-26 basic, "JSON-RPC batching"; removed in
 * 2025-06-18, where an array is answered -32600). Loop thread. */
bool ctxd_mcp_accepts_batches(const struct ctxd_mcp *m);

#endif
