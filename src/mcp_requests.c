/* mcp_requests.c - requests handed to the pool: sandbox snapshots per request, the
 * worker side (progress, cancellation, the test hold, answers a tool wrote itself, answers over
 * the frame limit), completion back on the loop thread, and opaque pagination cursors. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/log.h"
#include "ctxd/rpc.h"
#include "ctxd/session.h"
#include "ctxd/subs.h"
#include "ctxd/watch.h"
#include "ctxd_version.h"
#include "mcp_priv.h"

/* ---- sandbox snapshots ---- */

struct sbref *ctxd_mcp_sb_get(struct ctxd_mcp *m)
{
	m->sb->refs++;
	return m->sb;
}

void ctxd_mcp_sb_put(struct ctxd_mcp *m, struct sbref *s)
{
	if (s && --s->refs == 0 && s != m->sb && s->owned) {
		ctxd_sandbox_destroy(s->sb);
		free(s);
	}
}

/* ---- requests on the pool ---- */

static void request_free(struct ctxd_mcp *m, struct mreq *q)
{
	json_decref(q->r.id);
	json_decref(q->r.args);
	json_decref(q->r.progress_token);
	free(q->r.key);
	free(q->r.out);
	json_decref(q->keep);
	m->sub_reserved -= q->reserved;
	free(q->raw.p);
	ctxd_mcp_sb_put(m, q->sb);
	free(q);
}

/* Test hook, only with CTXD_TEST_HOOKS=1 in the environment at start-up: a request whose
 * _meta holds "ctxd.test/hold": true pauses on its worker right after its first progress
 * notification (or, without a progressToken, before its work starts) until the loop has
 * handled one more frame from the client, then carries on. Cancellation tests use it: the
 * client's next frame is its notifications/cancelled, so the request is certainly still
 * running when the cancel takes effect, however fast or loaded the machine is; and a
 * server that ignored the cancel still finishes the request and answers it, which the
 * test sees. With "ctxd.test/hold": "until-cancelled" only cancellation (the client's, or
 * the drain limit's at shutdown) ends the pause: the drain-limit tests use it. Worker. */
void ctxd_mcp_test_hold(struct mreq *q)
{
	if (!q->hold) {
		return;
	}
	q->hold = false;
	struct ctxd_mcp *m = q->r.server;
	struct timespec tick = {0, 1000 * 1000};
	while (!ctxd_job_cancelled(&q->r.job) &&
	       (q->hold_until == 0 ||
		atomic_load_explicit(&m->frames_handled, memory_order_acquire) < q->hold_until)) {
		nanosleep(&tick, NULL);
	}
}

/* Worker: progress for this request, strictly increasing and at most ~10 per second.
 * The frame is built here and queued; the loop drops it if the response went first. */
static void progress_report(struct ctxd_progress *p, double progress, double total,
			    const char *message)
{
	struct prog *pg = (struct prog *)p;
	struct mreq *q = pg->q;
	struct ctxd_mcp *m = q->r.server;
	if (ctxd_job_cancelled(&q->r.job)) {
		return;
	}
	double now = mono_ms();
	if ((pg->any && progress <= pg->last_value) || (pg->any && now - pg->last_ms < 100.0)) {
		return;
	}
	pg->any = true;
	pg->last_ms = now;
	pg->last_value = progress;
	if (q->task_capable) { /* a task's progress shows in its statusMessage */
		char text[sizeof(q->status_text)];
		if (message) {
			snprintf(text, sizeof(text), "%s", message);
		} else if (total > 0) {
			snprintf(text, sizeof(text), "%.0f of %.0f done", progress, total);
		} else {
			snprintf(text, sizeof(text), "%.0f entries seen so far", progress);
		}
		pthread_mutex_lock(&m->notifier.mu);
		memcpy(q->status_text, text, sizeof(text));
		pthread_mutex_unlock(&m->notifier.mu);
	}
	if (!q->r.progress_token) {
		return;
	}
	json_t *params =
	    json_pack("{s:O, s:f}", "progressToken", q->r.progress_token, "progress", progress);
	if (!params) {
		return;
	}
	if (total >= 0) {
		json_object_set_new(params, "total", json_real(total));
	}
	if (message) {
		json_object_set_new(params, "message", json_string(message));
	}
	struct note *n = calloc(1, sizeof(*n));
	if (!n) {
		json_decref(params);
		return;
	}
	n->kind = NOTE_PROGRESS;
	n->key = strdup(q->r.key);
	n->frame =
	    ctxd_rpc_dump_new(ctxd_rpc_notification_new("notifications/progress", params), &n->len);
	if (!n->key || !n->frame) {
		free(n->key);
		free(n->frame);
		free(n);
		return;
	}
	struct ctxd_notifier *nt = &m->notifier;
	pthread_mutex_lock(&nt->mu);
	if (nt->tail) {
		nt->tail->next = n;
	} else {
		nt->head = n;
	}
	nt->tail = n;
	pthread_mutex_unlock(&nt->mu);
	nt->wake(nt->wake_ud);
	ctxd_mcp_test_hold(q);
}

json_t *ctxd_mcp_w_tool(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			struct rpc_err *e);

/* The most bytes one answer frame may have (its newline not counted): the frame limit
 * bounds our answers as it bounds the host's requests; inside a batch, leave room for the
 * array's brackets. */
size_t ctxd_mcp_frame_limit(const struct ctxd_mcp *m, const struct mreq *q)
{
	/* a call that may become a task leaves room for the task's fields around its result
	 * (tasks/get, notifications/tasks) */
	return m->d.cfg->max_frame_bytes - (q->r.batch ? 2 : 0) - (q->task_capable ? 1024 : 0);
}

/* What ctxd_mcp_req_work appends after a result a tool wrote itself (CTXD_TOOL_WRITTEN): the
 * modern era's resultType inside the result object, then the frame's closing brace. */
#define WRITTEN_MODERN ",\"resultType\":\"complete\"}"
size_t ctxd_mcp_written_tail(const struct mreq *q)
{
	return 1 + (q->r.modern ? sizeof(WRITTEN_MODERN) - 2 : 0);
}

/* Worker: the answer to `q` would pass `limit` bytes. A tool call gets an isError result
 * telling the model how to ask for less; any other request a JSON-RPC error. */
static char *too_big_answer(struct ctxd_mcp *m, struct mreq *q, size_t limit, size_t *len)
{
	(void)m;
	json_t *resp;
	if (q->work == ctxd_mcp_w_tool) {
		const struct ctxd_tool *tool = q->target;
		json_t *r = ctxd_tool_error(
		    "%s: the answer is larger than %zu bytes, the most one message may "
		    "carry (limits.frame_bytes), so it was not sent. Ask for less in each "
		    "call: fewer files per call, a window of a file (head, tail, offset and "
		    "limit), a smaller maxDepth or maxResults, or a narrower path or pattern.",
		    tool->name, limit);
		if (r && q->r.modern) {
			json_object_set_new(r, "resultType", json_string("complete"));
		}
		resp = r ? ctxd_rpc_result_new(q->r.id, r) : NULL;
	} else {
		char msg[CTXD_ERROR_MSG_MAX];
		snprintf(msg, sizeof(msg),
			 "Internal error: the answer is larger than %zu bytes, the most one "
			 "message may carry (limits.frame_bytes); ask for less, e.g. a narrower "
			 "request",
			 limit);
		resp = ctxd_rpc_error_new(q->r.id, CTXD_RPC_INTERNAL_ERROR, msg, NULL);
	}
	return ctxd_rpc_dump_new(resp, len);
}

/* Worker: run the method, serialise the whole response frame. */
void ctxd_mcp_req_work(struct ctxd_job *job)
{
	struct mreq *q = (struct mreq *)job;
	struct ctxd_mcp *m = q->r.server;
	if (!q->r.progress_token) {
		ctxd_mcp_test_hold(q);
	}
	if (ctxd_job_cancelled(job)) {
		return;
	}
	q->prog.base.report = progress_report;
	q->prog.q = q;
	struct ctxd_provider_ctx ctx = {
	    .cfg = m->d.cfg,
	    .sandbox = q->sb->sb,
	    .job = job,
	    .progress = q->r.progress_token || q->task_capable ? &q->prog.base : NULL,
	};
	struct rpc_err e = {0};
	json_t *result = q->work(m, q, &ctx, &e);
	if (q->would_block) {
		return; /* the loop thread's attempt: the call goes to a worker instead */
	}
	if (ctxd_job_cancelled(job)) {
		json_decref(result);
		json_decref(e.data);
		return;
	}
	if (result == CTXD_TOOL_WRITTEN) {
		/* the tool wrote the frame's result into q->raw after ctxd_rpc_result_open, and
		 * left room for what follows (q->raw.max) */
		q->raw.max = 0;
		if (q->r.modern) {
			q->raw.len--; /* the result object's '}' */
			ctxd_strbuf_str(&q->raw, WRITTEN_MODERN);
		}
		ctxd_rpc_result_close(&q->raw);
		if (!q->raw.oom) {
			q->r.out = q->raw.p;
			q->r.out_len = q->raw.len;
			q->raw = (struct ctxd_strbuf){0};
		}
		return;
	}
	bool written_too_big = q->raw.too_big;
	free(q->raw.p);
	q->raw = (struct ctxd_strbuf){0};
	if (!result && written_too_big) {
		/* a tool writing its result itself reached the frame limit */
		json_decref(e.data);
		q->r.out = too_big_answer(m, q, ctxd_mcp_frame_limit(m, q), &q->r.out_len);
		return;
	}
	json_t *resp;
	if (!result) {
		resp = ctxd_rpc_error_new(q->r.id, e.code ? e.code : CTXD_RPC_INTERNAL_ERROR,
					  e.msg[0] ? e.msg : "Internal error", e.data);
	} else {
		if (q->r.modern) {
			json_object_set_new(result, "resultType", json_string("complete"));
			if (q->cacheable) {
				json_object_set_new(result, "ttlMs", json_integer(0));
				json_object_set_new(result, "cacheScope", json_string("private"));
			}
		}
		resp = ctxd_rpc_result_new(q->r.id, result);
	}
	/* Never build a line the host cannot read: the frame limit bounds our answers as it
	 * bounds the host's requests (inside a batch, leave room for the array's brackets). */
	size_t limit = ctxd_mcp_frame_limit(m, q);
	q->r.out = ctxd_rpc_dump_max(resp, limit, &q->r.out_len);
	bool too_big = !q->r.out && errno == E2BIG;
	json_decref(resp);
	if (too_big) {
		q->r.out = too_big_answer(m, q, limit, &q->r.out_len);
	}
}

/* Loop: the job finished (or was dropped before it ran). */
void ctxd_mcp_req_done(struct ctxd_job *job, bool dropped)
{
	struct mreq *q = (struct mreq *)job;
	struct ctxd_mcp *m = q->r.server;
	if (m->d.scope) {
		m->d.scope(m->d.send_ud, q->r.id);
	}
	m->completed++;
	ctxd_session_remove(&m->sess, &q->r);
	if (ctxd_mcp_call_done(m, q, dropped)) {
		/* a task: its outcome is kept for tasks/get; the request was answered */
	} else if (!q->r.cancelled) {
		if (q->after && q->r.out) {
			q->after(m, q);
		}
		if (q->taken) {
			/* the after hook answered, or the request stays open (a listen stream) */
		} else if (q->r.out) {
			ctxd_mcp_emit(m, q->r.batch, q->r.out, q->r.out_len);
			q->r.out = NULL;
		} else if (!dropped) {
			ctxd_mcp_send_error(m, q->r.batch, q->r.id, CTXD_RPC_INTERNAL_ERROR,
					    "Internal error: out of memory", NULL);
		}
	}
	if (q->r.batch && !q->batch_released) {
		ctxd_mcp_batch_release(m, q->r.batch);
	}
	if (m->d.scope) {
		m->d.scope(m->d.send_ud, NULL);
	}
	request_free(m, q);
	if (ctxd_mcp_inflight(m) == 0 && m->d.idle) {
		m->d.idle(m->d.idle_ud);
	}
}

bool ctxd_mcp_roots_hold(struct ctxd_mcp *m, struct mreq *q);
void ctxd_mcp_roots_begin(struct ctxd_mcp *m);

/* Small calls (docs/architecture.md): a tool with a non-blocking attempt (CTXD_TOOL_NOWAIT)
 * runs first here, on the loop thread, and is answered at once unless it would have to
 * wait; then it goes to the pool as every other call does. That saves the two thread
 * switches of the hand-off, most of a small call's cost. Not for calls with a
 * progressToken or a test hold, nor when answers are already held back (congested). True
 * when the call was answered here (q is freed then). */
static bool try_on_loop(struct ctxd_mcp *m, struct mreq *q)
{
	const struct ctxd_tool *tool = q->target;
	if (q->work != ctxd_mcp_w_tool || !(tool->flags & CTXD_TOOL_NOWAIT) ||
	    q->r.progress_token || q->hold || m->congested) {
		return false;
	}
	q->nowait = true;
	ctxd_mcp_req_work(&q->r.job);
	q->nowait = false;
	if (q->would_block) {
		q->would_block = false;
		return false;
	}
	ctxd_mcp_req_done(&q->r.job, false);
	return true;
}

/* A new request, in the session's in-flight table and counted in its batch. Returns it, or
 * NULL with `e` set. */
static struct mreq *new_req(struct ctxd_mcp *m, const struct call *c, work_fn work, after_fn after,
			    const void *target, json_t *params, bool cacheable, struct rpc_err *e)
{
	struct sbref *own = m->mrtr_sb; /* the call's own root set (MRTR), or NULL */
	m->mrtr_sb = NULL;
	struct mreq *q = calloc(1, sizeof(*q));
	if (!q) {
		ctxd_mcp_sb_put(m, own);
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		return NULL;
	}
	/* The worker gets its own references, not copies: the loop drops the frame's root
	 * right after dispatch and never touches these values again, and jansson's reference
	 * counts are atomic, so sharing the read-only subtree is safe. */
	q->r.id = json_incref(c->id);
	q->r.key = ctxd_session_id_key(c->id);
	q->r.args = json_is_object(params) ? json_incref(params) : json_object();
	q->r.modern = c->modern;
	q->r.server = m;
	q->r.batch = c->batch;
	q->work = work;
	q->after = after;
	q->target = target;
	q->cacheable = cacheable;
	q->sb = own ? own : ctxd_mcp_sb_get(m);
	if (c->plan) {
		ctxd_mcp_plan_apply(q, c->plan);
	}
	json_t *meta = json_object_get(c->params, "_meta");
	json_t *tok = json_object_get(meta, "progressToken");
	if (json_is_string(tok) || json_is_integer(tok)) {
		q->r.progress_token = json_incref(tok);
	}
	json_t *hold = m->test_hooks ? json_object_get(meta, "ctxd.test/hold") : NULL;
	q->hold = json_is_true(hold) ||
		  (json_is_string(hold) && strcmp(json_string_value(hold), "until-cancelled") == 0);
	/* the frame carrying this request counts once it is handled: wait for the one after
	 * (0: until cancelled) */
	q->hold_until = json_is_true(hold)
			    ? atomic_load_explicit(&m->frames_handled, memory_order_relaxed) + 2
			    : 0;
	if (!q->r.id || !q->r.key || !q->r.args) {
		request_free(m, q);
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		return NULL;
	}
	int rc = ctxd_session_add(&m->sess, &q->r);
	if (rc < 0) {
		request_free(m, q);
		if (rc == -EEXIST) {
			set_err(e, CTXD_RPC_INVALID_REQUEST,
				"Invalid Request: a request with this id is still in flight");
		} else {
			set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		}
		return NULL;
	}
	if (q->r.batch) {
		q->r.batch->pending++;
	}
	return q;
}

/* Hand the request to the pool. Returns it, or NULL with `e` set. */
struct mreq *ctxd_mcp_submit_req(struct ctxd_mcp *m, const struct call *c, work_fn work,
				 after_fn after, const void *target, json_t *params, bool cacheable,
				 struct rpc_err *e)
{
	struct mreq *q = new_req(m, c, work, after, target, params, cacheable, e);
	if (q && !ctxd_mcp_roots_hold(m, q)) {
		ctxd_pool_submit(m->d.pool, &q->r.job, ctxd_mcp_req_work, ctxd_mcp_req_done);
	}
	return q;
}

/* Hand the request to the pool, or answer it on the loop thread (try_on_loop). Returns
 * ASYNC, or NULL with `e` set. */
json_t *ctxd_mcp_submit(struct ctxd_mcp *m, const struct call *c, work_fn work, after_fn after,
			const void *target, json_t *params, bool cacheable, struct rpc_err *e)
{
	struct mreq *live;
	return ctxd_mcp_submit_live(m, c, work, after, target, params, cacheable, e, &live);
}

json_t *ctxd_mcp_submit_live(struct ctxd_mcp *m, const struct call *c, work_fn work, after_fn after,
			     const void *target, json_t *params, bool cacheable, struct rpc_err *e,
			     struct mreq **live)
{
	struct mreq *q = new_req(m, c, work, after, target, params, cacheable, e);
	*live = NULL;
	if (!q) {
		return NULL;
	}
	if (ctxd_mcp_roots_hold(m, q)) {
		*live = q;
	} else if (!try_on_loop(m, q)) {
		ctxd_pool_submit(m->d.pool, &q->r.job, ctxd_mcp_req_work, ctxd_mcp_req_done);
		*live = q;
	}
	return ASYNC;
}

/* ---- pagination: opaque cursors (base64 of "ctxd:<list>:<offset>") ---- */

static json_t *make_cursor(const char *list, size_t offset)
{
	char raw[64];
	int n = snprintf(raw, sizeof(raw), "ctxd:%s:%zu", list, offset);
	char *enc = ctxd_base64_encode(raw, (size_t)n, NULL);
	json_t *cursor = enc ? json_string(enc) : NULL;
	free(enc);
	return cursor;
}

/* Returns the offset, or -1 for a cursor we did not issue. */
static long parse_cursor(json_t *cursor, const char *list, size_t total)
{
	if (!cursor || json_is_null(cursor)) {
		return 0;
	}
	if (!json_is_string(cursor) || json_string_length(cursor) == 0 ||
	    json_string_length(cursor) > 80 || json_string_length(cursor) % 4 != 0) {
		return -1;
	}
	char dec[96] = {0};
	size_t n;
	if (ctxd_base64_decode(json_string_value(cursor), json_string_length(cursor), dec, &n) <
		0 ||
	    n >= sizeof(dec)) {
		return -1;
	}
	char prefix[40];
	snprintf(prefix, sizeof(prefix), "ctxd:%s:", list);
	size_t pl = strlen(prefix);
	if (strncmp(dec, prefix, pl) != 0) {
		return -1;
	}
	char *end;
	errno = 0;
	unsigned long off = strtoul(dec + pl, &end, 10);
	if (errno || end == dec + pl || *end != '\0' || off == 0 || off > total) {
		return -1;
	}
	return (long)off;
}

/* Cut `all` (stolen) to the page the cursor names; sets `key` (and nextCursor) in a new
 * result object. NULL with `e` set for a bad cursor. */
json_t *ctxd_mcp_paginate(struct ctxd_mcp *m, json_t *params, const char *list, const char *key,
			  json_t *all, struct rpc_err *e)
{
	size_t total = json_array_size(all);
	long off = parse_cursor(json_object_get(params, "cursor"), list, total);
	if (off < 0) {
		json_decref(all);
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Invalid params: unknown or expired cursor");
		return NULL;
	}
	size_t page = m->d.cfg->page_size ? m->d.cfg->page_size : 100;
	json_t *items = json_array();
	for (size_t i = (size_t)off; i < total && i < (size_t)off + page; i++) {
		json_array_append(items, json_array_get(all, i));
	}
	json_decref(all);
	json_t *result = json_pack("{s:o}", key, items);
	if (result && (size_t)off + page < total) {
		json_object_set_new(result, "nextCursor", make_cursor(list, (size_t)off + page));
	}
	return result;
}
