/* http_batch.c - Streamable HTTP, the runtime side: JSON-RPC batches POSTed to a session
 * that negotiated 2025-03-26 (2025-03-26 basic/transports: the body of a POST may be an
 * array of requests and notifications, or of responses; with no request in it the answer
 * is 202, else the responses, as one JSON array or on an SSE stream). The engine answers a
 * batch with one array frame, or with several when its answers pass the frame limit; the
 * batch's POST is found by the id of the array's first response. Later eras have no
 * batches: http_server.c answers an array 400 with -32600. Loop thread
 * (http_server_priv.h). */
#include <stdlib.h>
#include <string.h>

#include "ctxd/rpc.h"
#include "http_server_priv.h"

static void batch_error(struct ctxd_http_req *r, const char *msg)
{
	size_t len = 0;
	char *body =
	    ctxd_rpc_dump_new(ctxd_rpc_error_new(NULL, CTXD_RPC_INVALID_REQUEST, msg, NULL), &len);
	ctxd_http_respond(r, 400, "application/json", body, body ? len : 0, NULL);
}

/* The pending batch of `e` that holds a request whose id has the JSON text `key`. */
static struct pend *batch_find(struct eng *e, const char *key)
{
	for (struct pend *p = e->pend; p; p = p->next) {
		for (size_t i = 0; i < p->n_bkeys; i++) {
			if (strcmp(p->bkeys[i], key) == 0) {
				return p;
			}
		}
	}
	return NULL;
}

/* Whether a request with id `key` is owed an answer in `e` (alone or in a batch). */
static bool in_flight(struct eng *e, const char *key)
{
	return ctxd_http_pend_find(e, key, strlen(key), false) || batch_find(e, key);
}

void ctxd_http_batch_submit(struct eng *e, struct ctxd_http_req *r, json_t *arr, const char *body,
			    size_t len)
{
	struct pend *p = calloc(1, sizeof(*p));
	size_t n = json_array_size(arr);
	if (!p || !(p->bkeys = calloc(n ? n : 1, sizeof(*p->bkeys))) || !(p->key = strdup("")) ||
	    !(p->method = strdup("batch"))) {
		if (p) {
			free(p->bkeys);
			free(p->key);
		}
		free(p);
		json_decref(arr);
		batch_error(r, "out of memory");
		return;
	}
	p->e = e;
	const char *bad = NULL;
	for (size_t i = 0; i < n && !bad; i++) {
		json_t *el = json_array_get(arr, i);
		json_t *id = json_object_get(el, "id");
		if (!json_is_string(json_object_get(el, "method")) || !id || json_is_null(id)) {
			continue; /* a notification or a response: the engine's alone */
		}
		char *key = ctxd_http_json_key(id);
		if (!key) {
			bad = "out of memory";
		} else if (in_flight(e, key)) {
			bad = "Invalid Request: a request of this batch has the id of a request "
			      "still in flight in this session; use new ids";
		} else {
			for (size_t j = 0; j < p->n_bkeys && !bad; j++) {
				if (strcmp(p->bkeys[j], key) == 0) {
					bad =
					    "Invalid Request: two requests of this batch have the "
					    "same id";
				}
			}
		}
		if (key && !bad) {
			p->bkeys[p->n_bkeys++] = key;
		} else {
			free(key);
		}
	}
	json_decref(arr);
	if (bad) {
		ctxd_http_pend_free(p); /* not linked yet: only freed */
		batch_error(r, bad);
		return;
	}
	if (p->n_bkeys == 0) {
		ctxd_http_pend_free(p);
		ctxd_mcp_handle_frame(e->mcp, body, len);
		ctxd_http_respond(r, 202, NULL, NULL, 0, NULL);
		return;
	}
	p->req = r;
	p->accept_sse = !ctxd_http_req_header(r, "Accept") ||
			strstr(ctxd_http_req_header(r, "Accept"), "text/event-stream");
	p->next = e->pend;
	if (e->pend) {
		e->pend->prev = p;
	}
	e->pend = p;
	ctxd_http_req_set_ud(r, p);
	ctxd_mcp_handle_frame(e->mcp, body, len);
}

void ctxd_http_batch_route(struct eng *e, char *buf, size_t len)
{
	json_t *arr = json_loadb(buf, len, 0, NULL);
	char *key = ctxd_http_json_key(json_object_get(json_array_get(arr, 0), "id"));
	struct pend *p = key ? batch_find(e, key) : NULL;
	free(key);
	if (!p) {
		json_decref(arr);
		free(buf);
		return;
	}
	p->n_answered += json_array_size(arr);
	json_decref(arr);
	bool last = p->n_answered >= p->n_bkeys;
	if (!p->req) {
		free(buf);
	} else if (p->sse || (!last && ctxd_http_pend_stream(p))) {
		/* a send past http.max_queued_bytes drops the connection (p->req then NULL) */
		if (ctxd_http_emit(e, p, p->req, buf, len) == 0 && last && p->req) {
			ctxd_http_sse_close(p->req);
		}
		free(buf);
	} else {
		/* the whole answer, or a first part for a client that takes no stream: the
		 * rest has nowhere to go */
		const char *hdr[] = {"Mcp-Session-Id", e->sess->id, NULL};
		ctxd_http_respond(p->req, 200, "application/json", buf, len, hdr);
		last = true;
	}
	if (last) {
		ctxd_http_pend_free(p);
	}
}
