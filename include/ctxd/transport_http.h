/* transport_http.h - the HTTP side of the Streamable HTTP transport (MCP 2025-11-25 and
 * 2026-07-28 basic/transports, "Streamable HTTP"): GNU libmicrohttpd driven from the libev
 * loop, the checks every request passes before the protocol sees it, JSON answers and
 * Server-Sent Events streams.
 *
 * What this layer does, before a request reaches the upper layer:
 *   - only the configured endpoint (http.path) and, with http.metrics, GET /metrics are
 *     served (404 otherwise);
 *   - Host must be one of the bound names (a loopback bind also accepts localhost) or
 *     http.allowed_hosts, else 421 Misdirected Request (DNS rebinding);
 *   - Origin, when present, must be a loopback origin of a loopback bind or one of
 *     http.allowed_origins, else 403 Forbidden;
 *   - with http.tokens_file, `Authorization: Bearer TOKEN` must name one of its tokens
 *     (compared in constant time), else 401 with `WWW-Authenticate: Bearer`; no token is
 *     ever logged;
 *   - a body larger than http.max_body_bytes gets 413.
 * Connections are limited by http.max_connections (per listening address) and by
 * http.max_connections_per_ip (per client address: a further one is closed at once), and
 * closed after http.idle_timeout_ms without traffic (not while the upper layer owes an
 * answer). A
 * connection owing its client more than http.max_queued_bytes of stream output is dropped.
 * A client that closes its connection while an answer is owed is reported at once
 * (ops.done with aborted), so the upper layer can cancel the work.
 *
 * Loop thread only. The libev loop drives libmicrohttpd (MHD_USE_EPOLL, no thread of its
 * own): its epoll descriptor is watched by an ev_io, its timeout by an ev_timer, and a
 * request whose answer is not ready is suspended until the upper layer answers.
 */
#ifndef CTXD_TRANSPORT_HTTP_H
#define CTXD_TRANSPORT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "ctxd/config.h"
#include "ctxd/error.h"

struct ev_loop;
struct ctxd_http;
struct ctxd_http_req;

struct ctxd_http_ops {
	/* A whole request that passed the checks above: the upper layer answers it now or
	 * later (ctxd_http_respond, or ctxd_http_sse_open then _send/_close). `r` stays valid
	 * until `done` is called for it. */
	void (*request)(void *ud, struct ctxd_http_req *r);
	/* The exchange of `r` is over: its answer was sent (aborted false), or the client
	 * went away or the connection was dropped first (aborted true). The upper layer must
	 * forget `r`. Called once per request handed to `request`. */
	void (*done)(void *ud, struct ctxd_http_req *r, bool aborted);
};

/* Load GNU libmicrohttpd (CTXD_MHD_SONAME) and resolve the functions the transport calls;
 * done once, before ctxd_http_create, and before Landlock is applied (the library file
 * must still be readable). Idempotent. Returns 0, or -1 with err set (kind
 * CTXD_ERR_TOOL: the library is missing or too old; the message says what to install).
 * Main thread, at start-up. */
int ctxd_http_lib_load(struct ctxd_error *err);

/* Bind every address of cfg->listen ("HOST:PORT", "[V6]:PORT"; port 0 = any free port,
 * see ctxd_http_port), load cfg->tokens_file and the TLS files, and start serving on
 * `loop`. `cfg` is borrowed and must outlive the server. Returns NULL with err set (a
 * message naming the address or file and what to do). Loop thread. */
struct ctxd_http *ctxd_http_create(struct ev_loop *loop, const struct ctxd_config_http *cfg,
				   const struct ctxd_http_ops *ops, void *ud,
				   struct ctxd_error *err);

/* Stop accepting connections (shutdown); open exchanges go on. Loop thread. */
void ctxd_http_stop_listening(struct ctxd_http *h);

/* End every exchange (aborted), stop the daemons and free. NULL-safe. Loop thread. */
void ctxd_http_destroy(struct ctxd_http *h);

/* The port listening address `i` (in cfg->listen order) is bound to, or 0. */
unsigned ctxd_http_port(const struct ctxd_http *h, size_t i);

/* Number of tokens loaded from http.tokens_file (0: no authentication). */
size_t ctxd_http_token_count(const struct ctxd_http *h);

/* Bytes queued for clients' streams and not yet written (metrics). */
size_t ctxd_http_owed(const struct ctxd_http *h);

/* Requests whose exchange is not over (reading, computing, or answer not yet written):
 * 0 once every answer and stream has been written out (shutdown). */
size_t ctxd_http_live(const struct ctxd_http *h);

/* Open connections (metrics). */
size_t ctxd_http_connections(const struct ctxd_http *h);

/* The request line and headers of `r` (borrowed, valid until `done`): the method
 * ("GET", "POST", "DELETE", ...), the path, a header by name (case-insensitive; NULL
 * when absent) and the body (`*len` bytes, not NUL-terminated; NULL when empty). */
const char *ctxd_http_req_method(const struct ctxd_http_req *r);
const char *ctxd_http_req_path(const struct ctxd_http_req *r);
const char *ctxd_http_req_header(const struct ctxd_http_req *r, const char *name);
const char *ctxd_http_req_body(const struct ctxd_http_req *r, size_t *len);

/* The token the request authenticated with: its index in the tokens file (-1: none
 * configured) and whether it is marked read-only. */
int ctxd_http_req_token(const struct ctxd_http_req *r);
bool ctxd_http_req_read_only(const struct ctxd_http_req *r);

/* One pointer of the upper layer's per request (NULL until set). */
void ctxd_http_req_set_ud(struct ctxd_http_req *r, void *ud);
void *ctxd_http_req_ud(const struct ctxd_http_req *r);

/* Answer `r` with `status` and `body` (`len` bytes, malloc'd, ownership passed; may be NULL
 * with len 0) of type `ctype` (NULL: none), plus `headers`: NULL or a NULL-terminated list of
 * name, value pairs (copied). Ends the exchange (done follows once sent). Returns 0, or -1
 * when `r` already has an answer (body freed). */
int ctxd_http_respond(struct ctxd_http_req *r, unsigned status, const char *ctype, char *body,
		      size_t len, const char *const *headers);

/* Answer `r` with 200 and a text/event-stream body (Cache-Control: no-cache,
 * X-Accel-Buffering: no, plus `headers` as above), to which events are added by
 * ctxd_http_sse_send until ctxd_http_sse_close. A comment line is sent every
 * http.keepalive_ms while the stream is open. Returns 0 or -1 (already answered). */
int ctxd_http_sse_open(struct ctxd_http_req *r, const char *const *headers);

/* Queue one event whose data is `json` (`len` bytes; one JSON-RPC message; a trailing
 * newline is dropped). Returns 0, or -1 when the stream is gone or the connection now
 * owes more than http.max_queued_bytes: then it is dropped (done with aborted follows). */
int ctxd_http_sse_send(struct ctxd_http_req *r, const char *json, size_t len);

/* As ctxd_http_sse_send, the event carrying the SSE field `id: ID` first (`id`: NULL for
 * none; no newline in it), which a client sends back as Last-Event-ID to resume
 * (2025-11-25 basic/transports, "Resumability and Redelivery"). */
int ctxd_http_sse_send_id(struct ctxd_http_req *r, const char *id, const char *json, size_t len);

/* End the stream once what is queued is written. */
void ctxd_http_sse_close(struct ctxd_http_req *r);

/* True once ctxd_http_respond or ctxd_http_sse_open was called for `r`. */
bool ctxd_http_req_answered(const struct ctxd_http_req *r);

#endif
