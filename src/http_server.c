/* http_server.c - Streamable HTTP, the runtime side (http_server.h): sessions and their
 * engines, the stateless engines, and the routing of every frame an engine sends to the
 * HTTP exchange it belongs to. Metrics in http_metrics.c (http_server_priv.h).
 *
 * Routing. An engine writes whole frames through its `send` callback. A response goes to
 * the POST that carried its request (found by its id), a progress notification to the POST
 * whose request named the progressToken (the POST's answer becomes an SSE stream), a
 * subscriptions/listen message to that listen request's stream (its _meta names the
 * stream), anything else of a session (list_changed, resources/updated, log messages,
 * roots/list) to the session's GET stream, or to an open POST stream of the session while
 * none is open, or waits (bounded) for one. The stateless engines serve requests of many
 * clients whose ids may collide: each request gets the engine-wide id "h<N>" (and the same
 * progressToken), given back its own in what is sent.
 */
#include "ctxd/http_server.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "ctxd/json_write.h"
#include "ctxd/log.h"
#include "ctxd/rpc.h"
#include "ctxd/strbuf.h"
#include "http_server_priv.h"

#define META_VERSION      "io.modelcontextprotocol/protocolVersion"
#define META_SUBSCRIPTION "io.modelcontextprotocol/subscriptionId"
#define META_LOG_LEVEL    "io.modelcontextprotocol/logLevel"
#define HEADER_MISMATCH   -32020 /* MCP 2026-07-28 HeaderMismatch */

static const char *const legacy_versions[] = {"2025-11-25", "2025-06-18", "2025-03-26",
					      "2024-11-05", NULL};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- engine output ---- */

/* The end of the JSON value starting at `p` (a string, number, or literal), or NULL. */
static const char *skip_value(const char *p, const char *end)
{
	if (p < end && *p == '"') {
		for (p++; p < end; p++) {
			if (*p == '\\') {
				p++;
			} else if (*p == '"') {
				return p + 1;
			}
		}
		return NULL;
	}
	while (p < end && *p != ',' && *p != '}') {
		p++;
	}
	return p < end ? p : NULL;
}

static bool starts(const char *p, const char *end, const char *lit)
{
	size_t n = strlen(lit);
	return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

/* Deliver a response frame to `p` (the buffer is consumed). */
static void deliver_response(struct eng *e, struct pend *p, char *buf, size_t len)
{
	struct ctxd_http_server *s = e->srv;
	ctxd_http_metrics_done(s, p, buf, len);
	if (p->sse && (p->req || e->sess)) {
		/* a send past http.max_queued_bytes drops the connection: p->req is gone then
		 * (on_done); a session keeps the event for a resumption (http_replay.c) */
		if (ctxd_http_emit(e, p, p->req, buf, len) == 0 && p->req) {
			ctxd_http_sse_close(p->req);
		}
		free(buf);
	} else if (p->req) {
		const char *hdr[] = {"Mcp-Session-Id", e->sess ? e->sess->id : NULL, NULL};
		ctxd_http_respond(p->req, 200, "application/json", buf, len, e->sess ? hdr : NULL);
	} else {
		free(buf);
	}
	ctxd_http_pend_free(p);
}

/* Replace the bytes [a, b) of frame *buf with `with`. */
static int splice(char **buf, size_t *len, size_t a, size_t b, const char *with)
{
	size_t w = strlen(with);
	char *out = malloc(*len - (b - a) + w);
	if (!out) {
		return -1;
	}
	memcpy(out, *buf, a);
	memcpy(out + a, with, w);
	memcpy(out + a + w, *buf + b, *len - b);
	free(*buf);
	*buf = out;
	*len = *len - (b - a) + w;
	return 0;
}

/* A notification (or, from a session, a server request) that is not a response. */
static void route_other(struct eng *e, char *buf, size_t len, bool request)
{
	json_t *msg = request ? NULL : json_loadb(buf, len, 0, NULL);
	json_t *params = json_object_get(msg, "params");
	json_t *tok = json_object_get(params, "progressToken");
	json_t *sub = json_object_get(json_object_get(params, "_meta"), META_SUBSCRIPTION);
	json_t *which = tok ? tok : sub;
	struct pend *p = NULL;
	if (which) {
		char *k = ctxd_http_json_key(which);
		p = k ? ctxd_http_pend_find(e, k, strlen(k), tok != NULL) : NULL;
		free(k);
	}
	if (p && !e->sess) { /* give the client back its own token or stream id */
		json_t *orig = tok ? p->orig_ptok : p->orig_id;
		if (tok) {
			json_object_set(params, "progressToken", orig);
		} else {
			json_object_set(json_object_get(params, "_meta"), META_SUBSCRIPTION, orig);
		}
		size_t n;
		char *again = ctxd_rpc_dump(msg, &n);
		free(buf);
		buf = again;
		len = n;
	}
	json_decref(msg);
	if (!buf) {
		return;
	}
	if (p) {
		if (ctxd_http_pend_stream(p) || (p->sse && e->sess)) {
			ctxd_http_emit(e, p, p->req, buf, len);
		}
		free(buf);
		return;
	}
	if (e->sess && !e->sess->ended) {
		ctxd_http_sess_push(e->sess, buf, len);
		return;
	}
	free(buf); /* a stateless engine's message for no open stream */
}

/* The closing result of a stateless listen stream: the client's id back in its id and in
 * its _meta's subscriptionId. Returns the new frame (the old one consumed), or NULL. */
static char *listen_result(const struct pend *q, char *buf, size_t *len)
{
	json_t *msg = json_loadb(buf, *len, 0, NULL);
	free(buf);
	json_t *meta = json_object_get(json_object_get(msg, "result"), "_meta");
	json_object_set(msg, "id", q->orig_id);
	if (json_object_get(meta, META_SUBSCRIPTION)) {
		json_object_set(meta, META_SUBSCRIPTION, q->orig_id);
	}
	char *out = msg ? ctxd_rpc_dump(msg, len) : NULL;
	json_decref(msg);
	return out;
}

/* Route one frame of engine `e` (ownership passed). */
static void eng_route(struct eng *e, char *buf, size_t len)
{
	static const char pfx[] = "{\"jsonrpc\":\"2.0\",";
	const char *end = buf + len;
	const char *p = buf + sizeof(pfx) - 1;
	if (len > sizeof(pfx) && memcmp(buf, pfx, sizeof(pfx) - 1) == 0 &&
	    starts(p, end, "\"id\":")) {
		const char *a = p + 5;
		const char *b = skip_value(a, end);
		if (b && !starts(b, end, ",\"method\"")) {
			struct pend *q = ctxd_http_pend_find(e, a, (size_t)(b - a), false);
			if (!q) {
				free(buf);
				return;
			}
			if (!e->sess && q->listen) {
				buf = listen_result(q, buf, &len);
			} else if (!e->sess && q->orig_id) {
				char *orig = ctxd_http_json_key(q->orig_id);
				if (!orig || splice(&buf, &len, (size_t)(a - buf),
						    (size_t)(b - buf), orig) < 0) {
					free(orig);
					free(buf);
					return;
				}
				free(orig);
			}
			if (!buf) {
				ctxd_http_pend_free(q);
				return;
			}
			deliver_response(e, q, buf, len);
			return;
		}
		route_other(e, buf, len, b != NULL);
		return;
	}
	route_other(e, buf, len, false);
}

/* The engine's send callback. */
static void eng_send(void *ud, char *buf, size_t len)
{
	struct eng *e = ud;
	bool was = e->srv->log_mute;
	e->srv->log_mute = true;
	eng_route(e, buf, len);
	e->srv->log_mute = was;
}

/* ---- log forwarding ---- */

/* The loop thread works for engine `e` (and request `p`, or NULL) until log_leave: a
 * record it logs meanwhile is that client's (log_sink). */
static void log_enter(struct ctxd_http_server *s, struct eng *e, struct pend *p)
{
	s->log_e = e;
	s->log_p = p;
}

static void log_leave(struct ctxd_http_server *s)
{
	s->log_e = NULL;
	s->log_p = NULL;
	s->log_id = NULL;
	s->log_scoped = false;
}

/* The engine's scope callback: a request of `e` completes (id), or is done (NULL). Inside
 * another context (a request answered on the loop thread at once) that one stands. */
static void eng_scope(void *ud, const json_t *id)
{
	struct eng *e = ud;
	struct ctxd_http_server *s = e->srv;
	if (id && !s->log_e) {
		log_enter(s, e, NULL);
		s->log_id = id;
		s->log_scoped = true;
	} else if (!id && s->log_scoped) {
		log_leave(s);
	}
}

/* The log sink (loop thread): a record written while the loop thread works for a client's
 * engine goes to that client as notifications/message (never a record of the server's own,
 * which may name other clients), as its era says: 2025-11-25, at or above the session's
 * logging/setLevel, on the stream of the request it belongs to, else on the session's GET
 * stream (ctxd_http_sess_push); 2026-07-28, only for a request whose _meta carried
 * io.modelcontextprotocol/logLevel, at or above it, on that request's stream. */
static void log_sink(void *ud, enum ctxd_log_level level, const char *logger, const char *msg)
{
	struct ctxd_http_server *s = ud;
	struct eng *e = s->log_e;
	struct pend *p = s->log_p && s->log_p->e == e ? s->log_p : NULL;
	if (!e || !e->mcp || s->log_mute || level >= CTXD_LOG_OFF) {
		return;
	}
	if (!p && s->log_id) { /* a completion: the request's pending answer, if any */
		char *k = ctxd_http_json_key(s->log_id);
		p = k ? ctxd_http_pend_find(e, k, strlen(k), false) : NULL;
		free(k);
	}
	bool wanted = e->sess ? !e->sess->ended && ctxd_mcp_log_wanted(e->mcp, level)
			      : p && p->log_on && level >= p->log_level;
	if (!wanted) {
		return;
	}
	size_t len = 0;
	char *frame =
	    ctxd_rpc_dump_new(ctxd_rpc_notification_new("notifications/message",
							json_pack("{s:s, s:s, s:s}", "level",
								  ctxd_log_level_name(level),
								  "logger", logger, "data", msg)),
			      &len);
	if (!frame) {
		return;
	}
	s->log_mute = true;
	if (p && !p->listen && ctxd_http_pend_stream(p)) {
		ctxd_http_emit(e, p, p->req, frame, len); /* in a session: with its event id */
		free(frame);
	} else if (e->sess) {
		ctxd_http_sess_push(e->sess, frame, len);
	} else {
		free(frame);
	}
	s->log_mute = false;
}

/* The engine's wake-up (any thread): mark it for ctxd_http_server_poll, wake the loop. */
static void eng_wake(void *ud)
{
	struct eng *e = ud;
	struct ctxd_http_server *s = e->srv;
	pthread_mutex_lock(&s->mu);
	if (!e->dirty) {
		e->dirty = true;
		e->dirty_next = s->dirty;
		s->dirty = e;
	}
	pthread_mutex_unlock(&s->mu);
	s->d.wake(s->d.wake_ud);
}

static void eng_idle(void *ud)
{
	struct eng *e = ud;
	if (e->srv->d.idle) {
		e->srv->d.idle(e->srv->d.idle_ud);
	}
}

static int eng_init(struct ctxd_http_server *s, struct eng *e, bool ro)
{
	e->srv = s;
	e->ro = ro;
	struct ctxd_mcp_deps deps = {
	    .cfg = ro ? &s->cfg_ro : s->cfg, /* client roots of a read-only token: read-only */
	    .sandbox = ro && s->sb_ro ? s->sb_ro : s->d.sandbox,
	    .registry = ro && s->reg_ro ? s->reg_ro : s->d.registry,
	    .pool = s->d.pool,
	    .send = eng_send,
	    .send_ud = e,
	    .idle = eng_idle,
	    .idle_ud = e,
	    .watch = s->d.watch,
	    .wake = eng_wake,
	    .wake_ud = e,
	    .no_log_sink = true,
	    .scope = eng_scope,
	};
	e->mcp = ctxd_mcp_create(&deps);
	if (!e->mcp) {
		return -1;
	}
	if (s->setup) {
		s->setup(s->setup_ud, e->mcp, ro);
	}
	if (s->status.figures) {
		ctxd_mcp_set_status(e->mcp, &s->status);
	}
	return 0;
}

static void eng_finish(struct ctxd_http_server *s, struct eng *e)
{
	pthread_mutex_lock(&s->mu);
	for (struct eng **pp = &s->dirty; *pp; pp = &(*pp)->dirty_next) {
		if (*pp == e) {
			*pp = e->dirty_next;
			break;
		}
	}
	pthread_mutex_unlock(&s->mu);
	while (e->pend) {
		ctxd_http_pend_free(e->pend);
	}
	s->completed_gone += ctxd_mcp_completed(e->mcp);
	ctxd_mcp_destroy(e->mcp);
	e->mcp = NULL;
}

/* ---- requests ---- */

static void reply_error(struct ctxd_http_req *r, unsigned status, json_t *id, int code,
			const char *msg)
{
	size_t len = 0;
	char *body = ctxd_rpc_dump_new(ctxd_rpc_error_new(id, code, msg, NULL), &len);
	ctxd_http_respond(r, status, "application/json", body, body ? len : 0, NULL);
}

static bool accepts_sse(const struct ctxd_http_req *r)
{
	const char *a = ctxd_http_req_header(r, "Accept");
	return !a || strstr(a, "text/event-stream") || strstr(a, "*/*");
}

static bool legacy_version(const char *v)
{
	for (size_t i = 0; legacy_versions[i]; i++) {
		if (strcmp(v, legacy_versions[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* Hand request `msg` (stolen) of `r` to engine `e`: record where its answer goes. With
 * `rewrite` (stateless engines) its id and progressToken become engine-wide ones. */
static void submit(struct eng *e, struct ctxd_http_req *r, json_t *msg, const char *method,
		   bool rewrite)
{
	struct ctxd_http_server *s = e->srv;
	struct pend *p = calloc(1, sizeof(*p));
	json_t *id = json_object_get(msg, "id");
	json_t *meta = json_object_get(json_object_get(msg, "params"), "_meta");
	json_t *tok = json_object_get(meta, "progressToken");
	if (!p || !(p->method = strdup(method))) {
		free(p);
		json_decref(msg);
		reply_error(r, 500, id, CTXD_RPC_INTERNAL_ERROR, "out of memory");
		return;
	}
	p->e = e;
	p->req = r;
	p->accept_sse = accepts_sse(r);
	p->listen = strcmp(method, "subscriptions/listen") == 0;
	p->t0 = now_ms();
	p->tool = ctxd_http_metrics_tool(msg);
	const char *lv = json_string_value(json_object_get(meta, META_LOG_LEVEL));
	p->log_on = rewrite && lv && ctxd_log_level_parse(lv, &p->log_level) == 0;
	if (rewrite) {
		char internal[32];
		snprintf(internal, sizeof(internal), "h%llu", ++s->next_id);
		p->orig_id = json_incref(id);
		json_object_set_new(msg, "id", json_string(internal));
		if (tok) {
			p->orig_ptok = json_incref(tok);
			json_object_set_new(meta, "progressToken", json_string(internal));
		}
	}
	p->key = ctxd_http_json_key(json_object_get(msg, "id"));
	tok = json_object_get(meta, "progressToken");
	p->ptok = tok ? ctxd_http_json_key(tok) : NULL;
	if (!p->key || (tok && !p->ptok)) {
		reply_error(r, 500, NULL, CTXD_RPC_INTERNAL_ERROR, "out of memory");
		ctxd_http_pend_free(p); /* not linked yet: only freed */
		json_decref(msg);
		return;
	}
	if (ctxd_http_pend_find(e, p->key, strlen(p->key), false)) {
		reply_error(r, 200, id, CTXD_RPC_INVALID_REQUEST,
			    "Invalid Request: a request with this id is still in flight in this "
			    "session; use a new id");
		ctxd_http_pend_free(p);
		json_decref(msg);
		return;
	}
	p->next = e->pend;
	if (e->pend) {
		e->pend->prev = p;
	}
	e->pend = p;
	ctxd_http_req_set_ud(r, p);
	if (p->listen) {
		ctxd_http_pend_stream(p);
	}
	char who[24] = ""; /* the principal an MRTR requestState is bound to: the token */
	if (ctxd_http_req_token(r) >= 0) {
		snprintf(who, sizeof(who), "token:%d", ctxd_http_req_token(r));
	}
	ctxd_mcp_set_principal(e->mcp, who);
	/* the message parsed here (its id rewritten for a stateless engine), not parsed again */
	log_enter(s, e, p);
	ctxd_mcp_handle_message(e->mcp, msg);
	log_leave(s);
	json_decref(msg);
}

/* A notification or a response from the client: to the engine, 202. */
static void feed(struct eng *e, struct ctxd_http_req *r, const char *body, size_t len)
{
	log_enter(e->srv, e, NULL);
	ctxd_mcp_handle_frame(e->mcp, body, len);
	log_leave(e->srv);
	ctxd_http_respond(r, 202, NULL, NULL, 0, NULL);
}

/* The 2026-07-28 request metadata headers: MCP-Protocol-Version, Mcp-Method and, for
 * tools/call, prompts/get (params.name) and resources/read (params.uri), Mcp-Name, each
 * present and equal to the body. NULL when they agree, else what is wrong. */
static const char *modern_headers(const struct ctxd_http_req *r, const char *method, json_t *params,
				  bool request)
{
	const char *pv = ctxd_http_req_header(r, "MCP-Protocol-Version");
	const char *mm = ctxd_http_req_header(r, "Mcp-Method");
	const char *mn = ctxd_http_req_header(r, "Mcp-Name");
	const char *body_pv =
	    json_string_value(json_object_get(json_object_get(params, "_meta"), META_VERSION));
	if (pv && body_pv && strcmp(pv, body_pv) != 0) {
		return "MCP-Protocol-Version header does not match _meta protocolVersion";
	}
	if (request && !mm) {
		return "Mcp-Method header is required";
	}
	if (mm && strcmp(mm, method) != 0) {
		return "Mcp-Method header does not match the body's method";
	}
	const char *name = NULL;
	if (strcmp(method, "tools/call") == 0 || strcmp(method, "prompts/get") == 0) {
		name = json_string_value(json_object_get(params, "name"));
	} else if (strcmp(method, "resources/read") == 0) {
		name = json_string_value(json_object_get(params, "uri"));
	} else if (strcmp(method, "tasks/get") == 0 || strcmp(method, "tasks/update") == 0 ||
		   strcmp(method, "tasks/cancel") == 0) {
		/* the tasks extension: Mcp-Name carries the taskId (routing to its instance) */
		name = json_string_value(json_object_get(params, "taskId"));
	}
	if (name && request && !mn) {
		return "Mcp-Name header is required for this method";
	}
	if (name && mn && strcmp(mn, name) != 0) {
		return "Mcp-Name header does not match the body";
	}
	return NULL;
}

static struct sess *sess_find(struct ctxd_http_server *s, const char *id)
{
	for (struct sess *x = s->sessions; x; x = x->next) {
		if (strcmp(x->id, id) == 0) {
			return x;
		}
	}
	return NULL;
}

static struct sess *sess_new(struct ctxd_http_server *s, struct ctxd_http_req *r)
{
	if (s->n_sessions >= s->cfg->http.max_sessions) {
		return NULL;
	}
	unsigned char raw[16];
	struct sess *x = calloc(1, sizeof(*x));
	if (!x || getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		free(x);
		return NULL;
	}
	const char *prefix = s->cfg->http.session_prefix;
	size_t at = prefix ? (size_t)snprintf(x->id, sizeof(x->id), "%s-", prefix) : 0;
	for (size_t i = 0; i < sizeof(raw); i++) {
		snprintf(x->id + at + 2 * i, 3, "%02x", raw[i]);
	}
	x->token = ctxd_http_req_token(r);
	x->qtail = &x->q;
	x->last_ms = now_ms();
	x->e.sess = x;
	if (eng_init(s, &x->e, ctxd_http_req_read_only(r)) < 0) {
		free(x);
		return NULL;
	}
	x->next = s->sessions;
	if (s->sessions) {
		s->sessions->prev = x;
	}
	s->sessions = x;
	s->n_sessions++;
	s->sessions_total++;
	return x;
}

/* The stateless engine of the token `r` authenticated with (created on first use). Each
 * token has its own, so a task (its id leaked or guessed) or a listen stream of one token
 * is unknown to every other: tasks/get and tasks/cancel answer "Task not found". NULL on
 * ENOMEM, or with *full set when http.max_sessions engines are live already. */
static struct eng *stateless_eng(struct ctxd_http_server *s, struct ctxd_http_req *r, bool *full)
{
	int tok = ctxd_http_req_token(r);
	size_t i = tok < 0 ? 0 : (size_t)tok;
	*full = false;
	if (i >= s->n_stateless) {
		return NULL;
	}
	struct eng *e = s->stateless[i];
	if (!e && s->stateless_live >= s->cfg->http.max_sessions) {
		*full = true;
		return NULL;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e || eng_init(s, e, ctxd_http_req_read_only(r)) < 0) {
			free(e);
			return NULL;
		}
		s->stateless[i] = e;
		s->stateless_live++;
	}
	e->last_ms = now_ms();
	return e;
}

/* POST with a parsed single message `msg` (stolen). */
static void on_post_msg(struct ctxd_http_server *s, struct ctxd_http_req *r, json_t *msg,
			const char *body, size_t len)
{
	struct ctxd_rpc_msg m = {0};
	struct ctxd_error err = {0};
	enum ctxd_rpc_kind kind = ctxd_rpc_classify(msg, &m, &err);
	if (kind == CTXD_RPC_INVALID) {
		reply_error(r, 400, m.id, CTXD_RPC_INVALID_REQUEST, err.msg);
		json_decref(msg);
		return;
	}
	const char *sid = ctxd_http_req_header(r, "Mcp-Session-Id");
	const char *pv = ctxd_http_req_header(r, "MCP-Protocol-Version");
	json_t *params = json_is_object(m.params) ? m.params : NULL;
	bool modern = json_object_get(json_object_get(params, "_meta"), META_VERSION) ||
		      (pv && strcmp(pv, CTXD_MCP_MODERN_VERSION) == 0) ||
		      (m.method && strcmp(m.method, "server/discover") == 0);
	if (sid && !modern) {
		struct sess *x = sess_find(s, sid);
		if (!x || x->token != ctxd_http_req_token(r)) {
			reply_error(r, 404, m.id, CTXD_RPC_INVALID_REQUEST,
				    "Session not found: it ended or never existed; initialize a "
				    "new session");
			json_decref(msg);
			return;
		}
		if (pv && !legacy_version(pv)) {
			reply_error(r, 400, m.id, CTXD_RPC_INVALID_REQUEST,
				    "Bad Request: unsupported MCP-Protocol-Version header");
			json_decref(msg);
			return;
		}
		x->last_ms = now_ms();
		if (kind == CTXD_RPC_REQUEST) {
			submit(&x->e, r, msg, m.method, false);
		} else {
			feed(&x->e, r, body, len);
			ctxd_http_sess_cancelled(&x->e, msg);
			json_decref(msg);
		}
		return;
	}
	if (!modern && kind == CTXD_RPC_REQUEST && strcmp(m.method, "initialize") == 0) {
		struct sess *x = sess_new(s, r);
		if (!x) {
			reply_error(r, 503, m.id, CTXD_RPC_INTERNAL_ERROR,
				    "Service Unavailable: too many sessions (http.max_sessions)");
			json_decref(msg);
			return;
		}
		submit(&x->e, r, msg, m.method, false);
		return;
	}
	if (!modern) {
		reply_error(r, 400, m.id, CTXD_RPC_INVALID_REQUEST,
			    "Bad Request: Mcp-Session-Id header is required (send initialize "
			    "first), or carry _meta." META_VERSION " (2026-07-28)");
		json_decref(msg);
		return;
	}
	bool full;
	struct eng *e = stateless_eng(s, r, &full);
	if (!e && full) {
		reply_error(r, 503, m.id, CTXD_RPC_INTERNAL_ERROR,
			    "Service Unavailable: too many tokens in use at once (each has its own "
			    "stateless engine; http.max_sessions)");
		json_decref(msg);
		return;
	}
	if (!e) {
		reply_error(r, 500, m.id, CTXD_RPC_INTERNAL_ERROR, "out of memory");
		json_decref(msg);
		return;
	}
	if (kind == CTXD_RPC_RESPONSE) {
		json_decref(msg);
		reply_error(r, 400, NULL, CTXD_RPC_INVALID_REQUEST,
			    "Bad Request: the 2026-07-28 era has no server-to-client requests to "
			    "answer");
		return;
	}
	const char *bad = modern_headers(r, m.method, params, kind == CTXD_RPC_REQUEST);
	if (bad) {
		reply_error(r, 400, m.id, HEADER_MISMATCH, bad);
		json_decref(msg);
		return;
	}
	if (kind == CTXD_RPC_REQUEST) {
		submit(e, r, msg, m.method, true);
	} else {
		/* notifications/cancelled names the client's id, which the stateless engine
		 * does not know: closing the request's stream is how it cancels */
		json_decref(msg);
		ctxd_http_respond(r, 202, NULL, NULL, 0, NULL);
	}
}

static void on_post(struct ctxd_http_server *s, struct ctxd_http_req *r)
{
	size_t len;
	const char *body = ctxd_http_req_body(r, &len);
	struct ctxd_error err = {0};
	json_t *msg = body ? ctxd_rpc_parse(body, len, &err) : NULL;
	if (!msg) {
		reply_error(r, 400, NULL, CTXD_RPC_PARSE_ERROR,
			    body ? err.msg : "Parse error: the body is empty");
		return;
	}
	if (json_is_array(msg)) {
		/* 2025-06-18 removed batches; a 2025-03-26 session over stdio takes them, over
		 * HTTP it sends one message per POST (README, "Protocol support") */
		json_decref(msg);
		reply_error(r, 400, NULL, CTXD_RPC_INVALID_REQUEST,
			    "Invalid Request: JSON-RPC batches are not accepted over HTTP (MCP "
			    "2025-06-18 removed them); send one message per POST");
		return;
	}
	on_post_msg(s, r, msg, body, len);
}

static void on_get(struct ctxd_http_server *s, struct ctxd_http_req *r)
{
	const char *sid = ctxd_http_req_header(r, "Mcp-Session-Id");
	struct sess *x = sid ? sess_find(s, sid) : NULL;
	if (!sid) {
		const char *allow[] = {"Allow", "POST, DELETE", NULL};
		ctxd_http_respond(r, 405, NULL, NULL, 0, allow);
		return;
	}
	if (!x || x->token != ctxd_http_req_token(r)) {
		reply_error(r, 404, NULL, CTXD_RPC_INVALID_REQUEST, "Session not found");
		return;
	}
	const char *last = ctxd_http_req_header(r, "Last-Event-ID");
	if (last && s->cfg->http.replay_buffer_bytes && ctxd_http_sess_resume(x, r, last)) {
		return; /* refused, or a POST's stream resumed */
	}
	if (x->get && !ctxd_http_req_answered(r)) {
		reply_error(r, 409, NULL, CTXD_RPC_INVALID_REQUEST,
			    "Conflict: this session's GET stream is already open");
		return;
	}
	const char *hdr[] = {"Mcp-Session-Id", x->id, NULL};
	if (!ctxd_http_req_answered(r) && ctxd_http_sse_open(r, hdr) < 0) {
		return;
	}
	x->get = r;
	x->last_ms = now_ms();
	ctxd_http_req_set_ud(r, x);
	s->get_streams++;
	while (x->q) {
		struct outq *o = x->q;
		x->q = o->next;
		ctxd_http_emit(&x->e, NULL, r, o->buf, o->len);
		free(o->buf);
		free(o);
	}
	x->qtail = &x->q;
	x->qbytes = 0;
}

static void on_delete(struct ctxd_http_server *s, struct ctxd_http_req *r)
{
	const char *sid = ctxd_http_req_header(r, "Mcp-Session-Id");
	struct sess *x = sid ? sess_find(s, sid) : NULL;
	if (!x || x->token != ctxd_http_req_token(r)) {
		reply_error(r, sid ? 404 : 400, NULL, CTXD_RPC_INVALID_REQUEST,
			    sid ? "Session not found" : "Bad Request: Mcp-Session-Id is required");
		return;
	}
	ctxd_http_sess_end(s, x);
	ctxd_http_respond(r, 200, NULL, NULL, 0, NULL);
}

static void on_request(void *ud, struct ctxd_http_req *r)
{
	struct ctxd_http_server *s = ud;
	const char *method = ctxd_http_req_method(r);
	s->http_requests++;
	if (strcmp(ctxd_http_req_path(r), "/metrics") == 0 && strcmp(method, "GET") == 0) {
		ctxd_http_metrics_serve(s, r);
	} else if (strcmp(ctxd_http_req_path(r), "/metrics") == 0) {
		const char *allow[] = {"Allow", "GET", NULL};
		ctxd_http_respond(r, 405, NULL, NULL, 0, allow);
	} else if (s->closing) {
		reply_error(r, 503, NULL, CTXD_RPC_INTERNAL_ERROR,
			    "Service Unavailable: the server is shutting down");
	} else if (strcmp(method, "POST") == 0) {
		on_post(s, r);
	} else if (strcmp(method, "GET") == 0) {
		on_get(s, r);
	} else if (strcmp(method, "DELETE") == 0) {
		on_delete(s, r);
	} else {
		const char *allow[] = {"Allow", "GET, POST, DELETE", NULL};
		ctxd_http_respond(r, 405, NULL, NULL, 0, allow);
	}
}

static void on_done_owner(struct ctxd_http_server *s, struct ctxd_http_req *r, bool aborted);
static struct pend *unlink_req(struct ctxd_http_server *s, struct ctxd_http_req *r);

static void on_done(void *ud, struct ctxd_http_req *r, bool aborted)
{
	struct ctxd_http_server *s = ud;
	if (s->destroying) { /* the exchange is freed: only cut the links to it */
		unlink_req(s, r);
		return;
	}
	on_done_owner(s, r, aborted);
	if (s->closing && s->d.idle) { /* shutdown waits for the last exchange */
		s->d.idle(s->d.idle_ud);
	}
}

/* Exchange `r` ends: nothing keeps pointing at it. The POST's pending request it answered,
 * or NULL (a session's GET stream, or no owner). */
static struct pend *unlink_req(struct ctxd_http_server *s, struct ctxd_http_req *r)
{
	void *owner = ctxd_http_req_ud(r);
	if (!owner) {
		return NULL;
	}
	for (struct sess *x = s->sessions; x; x = x->next) {
		if (x->get == r) {
			x->get = NULL;
			s->get_streams--;
			return NULL;
		}
	}
	struct pend *p = owner;
	p->req = NULL;
	return p;
}

static void on_done_owner(struct ctxd_http_server *s, struct ctxd_http_req *r, bool aborted)
{
	struct pend *p = unlink_req(s, r);
	if (!p || !aborted) {
		return;
	}
	s->aborted++;
	/* 2026-07-28: closing the stream cancels the request (for a listen stream, ends it).
	 * 2025-11-25: a disconnection is not a cancellation; the answer is dropped. */
	if (!p->e->sess) {
		json_t *n = ctxd_rpc_notification_new(
		    "notifications/cancelled", json_pack("{s:s, s:{s:s}}", "requestId", "", "_meta",
							 META_VERSION, CTXD_MCP_MODERN_VERSION));
		json_t *params = json_object_get(n, "params");
		json_t *id = json_loads(p->key, JSON_DECODE_ANY, NULL);
		if (params && id) {
			json_object_set_new(params, "requestId", id);
			size_t len;
			char *frame = ctxd_rpc_dump(n, &len);
			if (frame) {
				log_enter(s, p->e, NULL);
				ctxd_mcp_handle_frame(p->e->mcp, frame, len - 1);
				log_leave(s);
				free(frame);
			}
		} else {
			json_decref(id);
		}
		json_decref(n);
	}
}

/* ---- the server ---- */

static const struct ctxd_http_ops http_ops = {
    .request = on_request,
    .done = on_done,
};

struct ctxd_http_server *ctxd_http_server_create(const struct ctxd_http_server_deps *deps,
						 struct ctxd_error *err)
{
	struct ctxd_http_server *s = calloc(1, sizeof(*s));
	if (!s) {
		ctxd_error_set(err, 0, "out of memory");
		return NULL;
	}
	s->d = *deps;
	s->cfg = deps->cfg;
	s->cfg_ro = *deps->cfg; /* shallow: the lists stay the configuration's */
	s->cfg_ro.read_only = true;
	pthread_mutex_init(&s->mu, NULL);
	s->http = ctxd_http_create(deps->ev, &deps->cfg->http, &http_ops, s, err);
	size_t n = s->http ? ctxd_http_token_count(s->http) : 0;
	s->n_stateless = n ? n : 1;
	s->stateless = s->http ? calloc(s->n_stateless, sizeof(*s->stateless)) : NULL;
	if (!s->stateless) {
		if (s->http) {
			ctxd_error_set(err, 0, "out of memory");
		}
		s->destroying = true;
		ctxd_http_destroy(s->http);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	ctxd_log_set_sink(log_sink, s);
	for (size_t i = 0; i < deps->cfg->http.n_listen; i++) {
		ctxd_info("listening on http%s://%s (port %u), endpoint %s",
			  deps->cfg->http.tls_cert ? "s" : "", deps->cfg->http.listen[i],
			  ctxd_http_port(s->http, i),
			  deps->cfg->http.path ? deps->cfg->http.path : "/mcp");
	}
	return s;
}

void ctxd_http_server_set_setup(struct ctxd_http_server *s, ctxd_engine_setup_fn fn, void *ud)
{
	s->setup = fn;
	s->setup_ud = ud;
}

void ctxd_http_server_set_read_only(struct ctxd_http_server *s, const struct ctxd_sandbox *sb,
				    const struct ctxd_registry *reg)
{
	s->sb_ro = sb;
	s->reg_ro = reg;
}

void ctxd_http_server_poll(struct ctxd_http_server *s)
{
	pthread_mutex_lock(&s->mu);
	struct eng *e = s->dirty;
	s->dirty = NULL;
	for (struct eng *x = e; x; x = x->dirty_next) {
		x->dirty = false;
	}
	pthread_mutex_unlock(&s->mu);
	while (e) {
		struct eng *next = e->dirty_next;
		if (e->mcp) {
			log_enter(s, e, NULL);
			ctxd_mcp_poll(e->mcp);
			log_leave(s);
		}
		e = next;
	}
}

void ctxd_http_server_reap(struct ctxd_http_server *s)
{
	for (struct sess **pp = &s->ended; *pp;) {
		struct sess *x = *pp;
		if (ctxd_mcp_inflight(x->e.mcp) == 0) {
			*pp = x->next;
			eng_finish(s, &x->e);
			free(x);
		} else {
			pp = &x->next;
		}
	}
}

static size_t eng_inflight(const struct eng *e)
{
	return e->mcp ? ctxd_mcp_inflight(e->mcp) : 0;
}

size_t ctxd_http_server_inflight(const struct ctxd_http_server *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n_stateless; i++) {
		n += s->stateless[i] ? eng_inflight(s->stateless[i]) : 0;
	}
	for (const struct sess *x = s->sessions; x; x = x->next) {
		n += eng_inflight(&x->e);
	}
	for (const struct sess *x = s->ended; x; x = x->next) {
		n += eng_inflight(&x->e);
	}
	return n;
}

static void eng_figures(const struct eng *e, struct ctxd_http_figures *f)
{
	f->inflight += ctxd_mcp_inflight(e->mcp);
	f->tasks += ctxd_mcp_tasks_live(e->mcp);
	f->completed += ctxd_mcp_completed(e->mcp);
	ctxd_mcp_tasks_by_status(e->mcp, f->tasks_by);
}

void ctxd_http_server_figures(const struct ctxd_http_server *s, struct ctxd_http_figures *f)
{
	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < s->n_stateless; i++) {
		if (s->stateless[i]) {
			eng_figures(s->stateless[i], f);
		}
	}
	for (const struct sess *x = s->sessions; x; x = x->next) {
		eng_figures(&x->e, f);
	}
	for (const struct sess *x = s->ended; x; x = x->next) {
		eng_figures(&x->e, f);
	}
	f->completed += s->completed_gone;
	f->sessions = s->n_sessions;
	f->owed = ctxd_http_owed(s->http);
	f->connections = ctxd_http_connections(s->http);
}

void ctxd_http_server_set_status(struct ctxd_http_server *s, const struct ctxd_status_ops *ops,
				 struct ctxd_loop_status *st)
{
	s->status = *ops;
	s->loop_stat = st;
}

static void each_engine(struct ctxd_http_server *s, void (*fn)(struct ctxd_mcp *m, void *ud),
			void *ud)
{
	for (size_t i = 0; i < s->n_stateless; i++) {
		if (s->stateless[i]) {
			fn(s->stateless[i]->mcp, ud);
		}
	}
	for (struct sess *x = s->sessions; x; x = x->next) {
		fn(x->e.mcp, ud);
	}
}

static void close_streams(struct ctxd_mcp *m, void *ud)
{
	(void)ud;
	ctxd_mcp_close_streams(m);
	ctxd_mcp_input_closed(m);
}

void ctxd_http_server_shutdown(struct ctxd_http_server *s)
{
	s->closing = true;
	ctxd_http_stop_listening(s->http);
	each_engine(s, close_streams, NULL);
	for (struct sess *x = s->sessions; x; x = x->next) {
		if (x->get) {
			ctxd_http_req_set_ud(x->get, NULL);
			ctxd_http_sse_close(x->get);
			x->get = NULL;
			s->get_streams--;
		}
	}
}

static void cancel_engine(struct ctxd_mcp *m, void *ud)
{
	(void)ud;
	ctxd_mcp_cancel_all(m);
}

bool ctxd_http_server_flushed(const struct ctxd_http_server *s)
{
	return ctxd_http_live(s->http) == 0;
}

void ctxd_http_server_cancel_all(struct ctxd_http_server *s)
{
	each_engine(s, cancel_engine, NULL);
}

static void list_changed(struct ctxd_mcp *m, void *ud)
{
	ctxd_notify_list_changed(ctxd_mcp_notifier(m), *(enum ctxd_list_kind *)ud);
}

void ctxd_http_server_list_changed(struct ctxd_http_server *s, enum ctxd_list_kind kind)
{
	each_engine(s, list_changed, &kind);
}

void ctxd_http_server_tick(struct ctxd_http_server *s, double now)
{
	for (size_t i = 0; i < s->n_stateless; i++) {
		struct eng *e = s->stateless[i];
		if (!e) {
			continue;
		}
		log_enter(s, e, NULL);
		ctxd_mcp_tick(e->mcp, now);
		log_leave(s);
		/* idle: nothing owed, running or held (tasks keep their results until
		 * tasks.ttl_ms), unused for http.session_timeout_ms */
		if (!e->pend && eng_inflight(e) == 0 && ctxd_mcp_tasks_live(e->mcp) == 0 &&
		    now - e->last_ms > (double)s->cfg->http.session_timeout_ms) {
			ctxd_debug("http: stateless engine %zu unused for %u ms: freed", i,
				   s->cfg->http.session_timeout_ms);
			eng_finish(s, e);
			free(e);
			s->stateless[i] = NULL;
			s->stateless_live--;
		}
	}
	for (struct sess *x = s->sessions, *next; x; x = next) {
		next = x->next;
		log_enter(s, &x->e, NULL);
		ctxd_mcp_tick(x->e.mcp, now);
		log_leave(s);
		if (!x->get && !x->e.pend &&
		    now - x->last_ms > (double)s->cfg->http.session_timeout_ms) {
			ctxd_info("http: session %.8s... unused for %u ms: ended", x->id,
				  s->cfg->http.session_timeout_ms);
			ctxd_http_sess_end(s, x);
		}
	}
	ctxd_http_server_reap(s);
}

unsigned ctxd_http_server_port(const struct ctxd_http_server *s, size_t i)
{
	return ctxd_http_port(s->http, i);
}

void ctxd_http_server_destroy(struct ctxd_http_server *s)
{
	if (!s) {
		return;
	}
	s->destroying = true;
	ctxd_log_set_sink(NULL, NULL);
	ctxd_http_destroy(s->http); /* every exchange ends (aborted), the engines unbothered */
	while (s->sessions) {
		ctxd_http_sess_end(s, s->sessions);
	}
	while (s->ended) {
		struct sess *x = s->ended;
		s->ended = x->next;
		eng_finish(s, &x->e);
		free(x);
	}
	for (size_t i = 0; i < s->n_stateless; i++) {
		if (s->stateless[i]) {
			eng_finish(s, s->stateless[i]);
			free(s->stateless[i]);
		}
	}
	free(s->stateless);
	ctxd_http_metrics_free(s);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
