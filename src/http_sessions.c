/* http_sessions.c - Streamable HTTP, the runtime side: the requests an engine owes an answer
 * to (struct pend: found by id or progressToken) and the 2025-11-25 sessions (their queued
 * output for the GET stream, their end). Loop thread (http_server_priv.h). */
#include <stdlib.h>
#include <string.h>

#include "ctxd/json_write.h"
#include "ctxd/log.h"
#include "ctxd/mcp.h"
#include "ctxd/rpc.h"
#include "http_server_priv.h"

/* ---- pending requests ---- */

void ctxd_http_pend_free(struct pend *p)
{
	struct eng *e = p->e;
	if (e->srv->log_p == p) {
		e->srv->log_p = NULL;
	}
	if (p->prev) {
		p->prev->next = p->next;
	} else if (e->pend == p) {
		e->pend = p->next;
	}
	if (p->next) {
		p->next->prev = p->prev;
	}
	if (p->req) {
		ctxd_http_req_set_ud(p->req, NULL);
	}
	json_decref(p->orig_id);
	json_decref(p->orig_ptok);
	free(p->key);
	free(p->ptok);
	free(p->method);
	free(p->tool);
	free(p);
}

struct pend *ctxd_http_pend_find(struct eng *e, const char *key, size_t len, bool by_ptok)
{
	for (struct pend *p = e->pend; p; p = p->next) {
		const char *k = by_ptok ? p->ptok : p->key;
		if (k && strlen(k) == len && memcmp(k, key, len) == 0) {
			return p;
		}
	}
	return NULL;
}

/* The JSON text of `v` (as the engine writes it), malloc'd, or NULL. */
char *ctxd_http_json_key(const json_t *v)
{
	struct ctxd_strbuf b = {0};
	if (ctxd_json_value(&b, v) < 0 || b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Turn the POST of `p` into an SSE stream (when its client accepts one). */
bool ctxd_http_pend_stream(struct pend *p)
{
	if (!p->req) {
		return false;
	}
	if (!p->sse) {
		if (!p->accept_sse) {
			return false;
		}
		const char *hdr[] = {"Mcp-Session-Id", p->e->sess ? p->e->sess->id : NULL, NULL};
		if (ctxd_http_sse_open(p->req, p->e->sess ? hdr : NULL) < 0) {
			return false;
		}
		p->sse = true;
	}
	return true;
}

/* ---- sessions ---- */

static void sess_unlink(struct ctxd_http_server *s, struct sess *x)
{
	if (x->prev) {
		x->prev->next = x->next;
	} else if (s->sessions == x) {
		s->sessions = x->next;
	}
	if (x->next) {
		x->next->prev = x->prev;
	}
	x->prev = x->next = NULL;
}

static void outq_clear(struct sess *x)
{
	while (x->q) {
		struct outq *o = x->q;
		x->q = o->next;
		free(o->buf);
		free(o);
	}
	x->qtail = &x->q;
	x->qbytes = 0;
}

/* A frame for the session's GET stream: sent at once, on a POST stream of the session
 * while no GET stream is open, or kept (up to http.max_queued_bytes) until one opens. */
void ctxd_http_sess_push(struct sess *x, char *buf, size_t len)
{
	struct ctxd_http_server *s = x->e.srv;
	if (x->get) {
		ctxd_http_emit(&x->e, NULL, x->get, buf, len);
		free(buf);
		return;
	}
	for (struct pend *p = x->e.pend; p; p = p->next) {
		if (!p->listen && ctxd_http_pend_stream(p)) {
			ctxd_http_emit(&x->e, p, p->req, buf, len);
			free(buf);
			return;
		}
	}
	struct outq *o = malloc(sizeof(*o));
	if (!o || x->qbytes + len > s->cfg->http.max_queued_bytes) {
		ctxd_debug("http: session %.8s...: no stream open, a message of %zu byte(s) "
			   "dropped",
			   x->id, len);
		free(o);
		free(buf);
		return;
	}
	o->buf = buf;
	o->len = len;
	o->next = NULL;
	*x->qtail = o;
	x->qtail = &o->next;
	x->qbytes += len;
}

/* End session `x`: no more requests; its engine is freed once nothing is in flight. */
void ctxd_http_sess_end(struct ctxd_http_server *s, struct sess *x)
{
	if (x->ended) {
		return;
	}
	x->ended = true;
	sess_unlink(s, x);
	s->n_sessions--;
	if (x->get) {
		ctxd_http_req_set_ud(x->get, NULL);
		ctxd_http_sse_close(x->get);
		x->get = NULL;
		s->get_streams--;
	}
	outq_clear(x);
	ctxd_http_replay_clear(x);
	ctxd_mcp_close_streams(x->e.mcp);
	ctxd_mcp_cancel_all(x->e.mcp);
	/* Cancelled legacy requests get no answer from the engine: end their exchanges here,
	 * or their POSTs would stay suspended, each holding a connection, until the client
	 * gave up. */
	for (struct pend *p = x->e.pend; p; p = p->next) {
		if (!p->req) {
			continue;
		}
		struct ctxd_http_req *r = p->req;
		ctxd_http_req_set_ud(r, NULL);
		p->req = NULL;
		if (ctxd_http_req_answered(r)) {
			ctxd_http_sse_close(r);
			continue;
		}
		json_t *id = json_loads(p->key, JSON_DECODE_ANY, NULL);
		size_t len = 0;
		char *body = ctxd_rpc_dump_new(
		    ctxd_rpc_error_new(id, CTXD_RPC_INVALID_REQUEST,
				       "Session ended (DELETE) before this request was answered",
				       NULL),
		    &len);
		json_decref(id);
		ctxd_http_respond(r, 404, "application/json", body, body ? len : 0, NULL);
	}
	x->next = s->ended;
	s->ended = x;
}

/* notifications/cancelled for a POSTed request of engine `e`: end its exchange. */
void ctxd_http_sess_cancelled(struct eng *e, json_t *msg)
{
	const char *method = json_string_value(json_object_get(msg, "method"));
	json_t *rid = json_object_get(json_object_get(msg, "params"), "requestId");
	if (!method || strcmp(method, "notifications/cancelled") != 0 || !rid) {
		return;
	}
	char *key = ctxd_http_json_key(rid);
	struct pend *p = key ? ctxd_http_pend_find(e, key, strlen(key), false) : NULL;
	free(key);
	if (!p || p->listen) {
		return;
	}
	/* The answer, should the work still produce one, finds no pending request and is
	 * dropped; the id is free for a new request at once. */
	struct ctxd_http_req *r = p->req;
	if (r && (p->sse || ctxd_http_pend_stream(p))) {
		ctxd_http_sse_close(r);
	} else if (r && !ctxd_http_req_answered(r)) {
		size_t len = 0;
		char *body = ctxd_rpc_dump_new(
		    ctxd_rpc_error_new(rid, CTXD_RPC_INVALID_REQUEST,
				       "Request cancelled (notifications/cancelled) before it was "
				       "answered",
				       NULL),
		    &len);
		const char *hdr[] = {"Mcp-Session-Id", e->sess->id, NULL};
		ctxd_http_respond(r, 200, "application/json", body, body ? len : 0, hdr);
	}
	ctxd_http_pend_free(p);
}
