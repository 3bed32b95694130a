/* mcp_tasks.c - MCP tasks in both eras and per-call deadlines (see mcp_tasks.h).
 *
 * The model of time limits on a tools/call:
 * - limits.call_ms (default 60 s) is a search's budget while the host waits on the request:
 *   grep, search_files and directory_tree stop there and answer with what they found, marked
 *   truncated. A call that may become a task has no such budget (it becomes a task instead of
 *   cutting its search short), unless tasks.after_ms is not below limits.call_ms.
 * - limits.call_timeout_ms (default 0: none), or the request's _meta "dev.ctxd/timeoutMs",
 *   is a deadline on the work itself; a task's deadline is tasks.timeout_ms (unless the
 *   request set its own). Past it the work is stopped through the request's cancel flag (as a
 *   cancellation) and the call answers an isError result "timed out after N ms" naming the
 *   tool and what it was working on; a task ends `completed` with that result.
 * Thresholds, deadlines and expiry are checked at the engine's housekeeping tick
 * (ctxd_mcp_tick, every 0.5 s): they fire up to that much late, never early. */
#include <errno.h>
#include <nettle/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/log.h"
#include "ctxd/rpc.h"
#include "ctxd/session.h"
#include "mcp_priv.h"

#define POLL_MS 500 /* pollInterval(Ms) suggested to clients */

const char *const ctxd_task_status_names[CTXD_TASK_STATUSES] = {"working", "completed", "failed",
								"cancelled"};
_Static_assert((int)TASK_CANCELLED == (int)CTXD_TASK_CANCELLED, "task statuses in mcp.h order");

int ctxd_mcp_tasks_init(struct ctxd_mcp *m)
{
	return getentropy(m->tasks.key, sizeof(m->tasks.key)) < 0 ? -1 : 0;
}

static void task_free(struct ctxd_task *t)
{
	while (t->waiters) {
		struct task_waiter *w = t->waiters;
		t->waiters = w->next;
		json_decref(w->id);
		free(w);
	}
	json_decref(t->outcome);
	free(t->status_msg);
	free(t);
}

void ctxd_mcp_tasks_finish(struct ctxd_mcp *m)
{
	while (m->tasks.head) {
		struct ctxd_task *t = m->tasks.head;
		m->tasks.head = t->next;
		if (t->q) {
			t->q->task = NULL;
		}
		task_free(t);
	}
	m->tasks.count = 0;
}

/* ---- helpers ---- */

/* A task id: the first 128 bits of HMAC-SHA256(per-process key, serial), in hex. Unique
 * (the serial never repeats) and unguessable without the key. */
static void make_id(struct ctxd_tasks *ts, char out[33])
{
	struct hmac_sha256_ctx h;
	uint8_t digest[SHA256_DIGEST_SIZE];
	uint8_t ctr[8];
	ts->serial++;
	for (int i = 0; i < 8; i++) {
		ctr[i] = (uint8_t)(ts->serial >> (8 * i));
	}
	hmac_sha256_set_key(&h, sizeof(ts->key), ts->key);
	hmac_sha256_update(&h, sizeof(ctr), ctr);
	hmac_sha256_digest(&h, sizeof(digest), digest);
	for (int i = 0; i < 16; i++) {
		snprintf(out + 2 * i, 3, "%02x", digest[i]);
	}
}

/* ISO 8601 UTC with milliseconds. */
static void iso_time(const struct timespec *ts, char *buf, size_t n)
{
	struct tm tm;
	gmtime_r(&ts->tv_sec, &tm);
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03ldZ", ts->tv_nsec / 1000000);
}

struct ctxd_task *ctxd_mcp_task_find(struct ctxd_mcp *m, const char *id)
{
	for (struct ctxd_task *t = m->tasks.head; t; t = t->next) {
		if (strcmp(t->id, id) == 0) {
			return t;
		}
	}
	return NULL;
}

static bool was_expired(const struct ctxd_mcp *m, const char *id)
{
	size_t n = m->tasks.n_expired < TASK_TOMBSTONES ? m->tasks.n_expired : TASK_TOMBSTONES;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m->tasks.expired[i], id) == 0) {
			return true;
		}
	}
	return false;
}

bool ctxd_mcp_declares_tasks(const struct call *c)
{
	json_t *caps = json_object_get(json_object_get(c->params, "_meta"), META_CAPS);
	return json_is_object(json_object_get(json_object_get(caps, "extensions"), EXT_TASKS));
}

void ctxd_mcp_tasks_missing(struct rpc_err *e, const char *what)
{
	set_err(e, CTXD_RPC_MISSING_CAPABILITY,
		"Missing required client capability: %s needs the %s extension; declare it in "
		"_meta.%s.extensions of this request",
		what, EXT_TASKS, META_CAPS);
	e->data = json_pack("{s:{s:{s:{}}}}", "requiredCapabilities", "extensions", EXT_TASKS);
}

bool ctxd_mcp_tasks_on(const struct ctxd_mcp *m, bool modern)
{
	/* the legacy era's tasks exist from 2025-11-25 on */
	return m->d.cfg->tasks_max > 0 &&
	       (modern || strcmp(m->sess.version, CTXD_MCP_LATEST_LEGACY) == 0);
}

json_t *ctxd_mcp_tasks_capability(const struct ctxd_mcp *m, bool modern)
{
	if (!ctxd_mcp_tasks_on(m, modern)) {
		return NULL;
	}
	if (modern) {
		return json_object();
	}
	return json_pack("{s:{}, s:{}, s:{s:{s:{}}}}", "list", "cancel", "requests", "tools",
			 "call");
}

/* The words of a running task's progress (the worker writes them under notifier.mu). */
static void live_status(struct ctxd_mcp *m, const struct ctxd_task *t, char *buf, size_t n)
{
	const struct ctxd_tool *tool = t->q->target;
	pthread_mutex_lock(&m->notifier.mu);
	snprintf(buf, n, "%s", t->q->status_text);
	pthread_mutex_unlock(&m->notifier.mu);
	if (!buf[0]) {
		snprintf(buf, n, "%s is running", tool->name);
	}
}

/* The Task object: the 2026-07-28 shape (ttlMs, pollIntervalMs; with `detailed`, the
 * result or error of an ended task) or the 2025-11-25 one (ttl, pollInterval). */
static json_t *task_json(struct ctxd_mcp *m, const struct ctxd_task *t, bool detailed)
{
	char created[48], updated[48], live[160];
	iso_time(&t->created_wall, created, sizeof(created));
	iso_time(&t->updated_wall, updated, sizeof(updated));
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "taskId", t->id, "status",
			      ctxd_task_status_names[t->status], "createdAt", created,
			      "lastUpdatedAt", updated);
	if (!o) {
		return NULL;
	}
	const char *msg = t->status_msg;
	if (t->status == TASK_WORKING && t->q) {
		live_status(m, t, live, sizeof(live));
		msg = live;
	}
	if (msg) {
		json_object_set_new(o, "statusMessage", json_string(msg));
	}
	json_t *ttl = t->ttl_ms < 0 ? json_null() : json_integer(t->ttl_ms);
	json_object_set_new(o, t->modern ? "ttlMs" : "ttl", ttl);
	json_object_set_new(o, t->modern ? "pollIntervalMs" : "pollInterval",
			    json_integer(POLL_MS));
	if (detailed && t->modern && t->outcome) {
		json_object_set(o, t->status == TASK_COMPLETED ? "result" : "error", t->outcome);
	}
	return o;
}

static void set_status_msg(struct ctxd_task *t, const char *msg)
{
	free(t->status_msg);
	t->status_msg = msg ? strdup(msg) : NULL;
}

/* The task ended and its work is gone: it is freed keep_ms from now. */
static void task_settle(struct ctxd_mcp *m, struct ctxd_task *t)
{
	double now = mono_ms();
	t->expires_ms = now + t->keep_ms;
	t->ttl_ms = (long long)(now - t->created_ms) + t->keep_ms;
	if (m->tasks.next_expiry == 0 || t->expires_ms < m->tasks.next_expiry) {
		m->tasks.next_expiry = t->expires_ms;
	}
}

/* The answer a legacy tasks/result gets for an ended task: what the call itself would have
 * answered (a result, with the related-task _meta, or its JSON-RPC error). */
static json_t *payload(const struct ctxd_task *t, json_t *id)
{
	if (t->status == TASK_COMPLETED) {
		json_t *r = json_copy(t->outcome);
		if (r) {
			json_t *meta = json_object_get(r, "_meta");
			meta = json_is_object(meta) ? json_copy(meta) : json_object();
			json_object_set_new(meta, "io.modelcontextprotocol/related-task",
					    json_pack("{s:s}", "taskId", t->id));
			json_object_set_new(r, "_meta", meta);
		}
		return r ? ctxd_rpc_result_new(id, r) : NULL;
	}
	if (t->status == TASK_FAILED) {
		json_t *code = json_object_get(t->outcome, "code");
		json_t *msg = json_object_get(t->outcome, "message");
		json_t *data = json_object_get(t->outcome, "data");
		return ctxd_rpc_error_new(id,
					  json_is_integer(code) ? (int)json_integer_value(code)
								: CTXD_RPC_INTERNAL_ERROR,
					  json_is_string(msg) ? json_string_value(msg) : NULL,
					  data ? json_incref(data) : NULL);
	}
	char text[160];
	snprintf(text, sizeof(text), "Task %s was cancelled: it has no result", t->id);
	return ctxd_rpc_error_new(id, CTXD_RPC_INVALID_PARAMS, text, NULL);
}

/* The task reached a terminal status: tell whoever asked (listen streams, the legacy
 * session, blocked tasks/result requests). */
static void task_ended(struct ctxd_mcp *m, struct ctxd_task *t)
{
	clock_gettime(CLOCK_REALTIME, &t->updated_wall);
	ctxd_debug("task %s: %s", t->id, ctxd_task_status_names[t->status]);
	if (t->modern) {
		json_t *params = task_json(m, t, true);
		if (params) {
			ctxd_mcp_listen_task(m, t->id, params);
		}
	} else if (m->sess.era == CTXD_ERA_LEGACY && m->sess.initialized) {
		json_t *params = task_json(m, t, false);
		if (params) {
			ctxd_mcp_emit_json(
			    m, NULL,
			    ctxd_rpc_notification_new("notifications/tasks/status", params));
		}
	}
	while (t->waiters) {
		struct task_waiter *w = t->waiters;
		t->waiters = w->next;
		ctxd_mcp_emit_json(m, w->batch, payload(t, w->id));
		if (w->batch) {
			ctxd_mcp_batch_release(m, w->batch);
		}
		json_decref(w->id);
		free(w);
	}
}

/* ---- the requests that may become tasks, and deadlines ---- */

static void timed_add(struct ctxd_mcp *m, struct mreq *q)
{
	if (q->timed) {
		return;
	}
	q->timed = true;
	q->tprev = NULL;
	q->tnext = m->tasks.timed;
	if (m->tasks.timed) {
		m->tasks.timed->tprev = q;
	}
	m->tasks.timed = q;
}

static void timed_remove(struct ctxd_mcp *m, struct mreq *q)
{
	if (!q->timed) {
		return;
	}
	*(q->tprev ? &q->tprev->tnext : &m->tasks.timed) = q->tnext;
	if (q->tnext) {
		q->tnext->tprev = q->tprev;
	}
	q->timed = false;
}

static void cap_error(const struct ctxd_mcp *m, struct rpc_err *e)
{
	unsigned max = m->d.cfg->tasks_max;
	set_err(e, CTXD_RPC_INVALID_PARAMS,
		"Too many tasks: this session holds %zu of at most %u (tasks.max). A task is held "
		"until tasks.ttl_ms after it ends; cancel running ones (tasks/cancel), call "
		"without params.task, or raise tasks.max in the server's configuration",
		m->tasks.count, max);
	e->data =
	    json_pack("{s:I, s:I}", "held", (json_int_t)m->tasks.count, "limit", (json_int_t)max);
}

int ctxd_mcp_call_plan(struct ctxd_mcp *m, const struct call *c, const void *tool_v,
		       struct call_plan *p, struct rpc_err *e)
{
	const struct ctxd_tool *tool = tool_v;
	const struct ctxd_config *cfg = m->d.cfg;
	memset(p, 0, sizeof(*p));
	p->ttl_req = -1;
	bool on = ctxd_mcp_tasks_on(m, c->modern);
	bool eligible = on && (tool->flags & CTXD_TOOL_LONG);
	json_t *to = json_object_get(json_object_get(c->params, "_meta"), META_TIMEOUT);
	if (to) {
		json_int_t v = json_is_integer(to) ? json_integer_value(to) : 0;
		if (v < 1 || v > 86400000) {
			set_err(
			    e, CTXD_RPC_INVALID_PARAMS,
			    "Invalid params: _meta.%s must be an integer number of milliseconds "
			    "from 1 to 86400000 (a deadline on this call's work)",
			    META_TIMEOUT);
			return -1;
		}
		p->timeout_ms = (unsigned)v;
		p->timeout_key = "_meta." META_TIMEOUT;
		p->timeout_override = true;
	} else if (cfg->call_timeout_ms) {
		p->timeout_ms = cfg->call_timeout_ms;
		p->timeout_key = "limits.call_timeout_ms";
	}
	if (c->modern) {
		p->task_capable = eligible && ctxd_mcp_declares_tasks(c);
		p->task_now = p->task_capable && cfg->tasks_after_ms == 0;
	} else {
		json_t *task = json_object_get(c->params, "task");
		if (task && on) { /* without the tasks capability params.task is ignored */
			if (!json_is_object(task)) {
				set_err(e, CTXD_RPC_INVALID_PARAMS,
					"tools/call: params.task must be an object");
				return -1;
			}
			if (!eligible) {
				set_err(
				    e, CTXD_RPC_METHOD_NOT_FOUND,
				    "Method not found: %s does not run as a task (its "
				    "execution.taskSupport is \"forbidden\": its work is always "
				    "small); call it without params.task",
				    tool->name);
				return -1;
			}
			json_t *ttl = json_object_get(task, "ttl");
			if (json_is_integer(ttl) && json_integer_value(ttl) > 0) {
				p->ttl_req = (long long)json_integer_value(ttl);
			}
			p->task_capable = p->task_now = true;
		}
	}
	if (p->task_now && m->tasks.count >= cfg->tasks_max) {
		if (!c->modern) { /* the client asked for a task: say why there is none */
			cap_error(m, e);
			return -1;
		}
		p->task_now = p->task_capable = false; /* the server's choice: a plain request */
	}
	p->budget_ms = cfg->call_ms;
	if (p->task_capable && (p->task_now || cfg->tasks_after_ms < cfg->call_ms)) {
		p->budget_ms = 0; /* a long search becomes a task rather than stop short */
	}
	return 0;
}

void ctxd_mcp_plan_apply(struct mreq *q, const struct call_plan *p)
{
	q->task_capable = p->task_capable;
	q->task_now = p->task_now;
	q->ttl_req = p->ttl_req;
	q->budget_ms = p->budget_ms;
	q->timeout_ms = p->timeout_ms;
	q->timeout_key = p->timeout_key;
	q->timeout_override = p->timeout_override;
	q->start_ms = mono_ms();
}

/* Make running request `q` a task. NULL on ENOMEM (it stays a plain request). */
static struct ctxd_task *become_task(struct ctxd_mcp *m, struct mreq *q)
{
	const struct ctxd_config *cfg = m->d.cfg;
	struct ctxd_task *t = calloc(1, sizeof(*t));
	if (!t) {
		return NULL;
	}
	make_id(&m->tasks, t->id);
	t->status = TASK_WORKING;
	t->modern = q->r.modern;
	clock_gettime(CLOCK_REALTIME, &t->created_wall);
	t->updated_wall = t->created_wall;
	t->created_ms = mono_ms();
	t->keep_ms = cfg->tasks_ttl_ms;
	if (q->ttl_req > 0 && q->ttl_req < (long long)t->keep_ms) {
		t->keep_ms = (unsigned)q->ttl_req;
	}
	if (!q->timeout_override) { /* a task's work has its own, longer limit */
		q->timeout_ms = cfg->tasks_timeout_ms;
		q->timeout_key = "tasks.timeout_ms";
		q->deadline_at = q->timeout_ms ? q->start_ms + q->timeout_ms : 0;
	}
	/* held at most until its deadline, then tasks.ttl_ms; no deadline: no bound known */
	t->ttl_ms = q->deadline_at
			? (long long)(q->deadline_at - t->created_ms) + (long long)t->keep_ms
			: -1;
	if (q->deadline_at) {
		timed_add(m, q);
	}
	t->q = q;
	q->task = t;
	t->next = m->tasks.head;
	m->tasks.head = t;
	m->tasks.count++;
	m->tasks.jobs++;
	/* the request is answered: its id is free for the client to use again */
	ctxd_session_remove(&m->sess, &q->r);
	if (q->r.batch) {
		ctxd_mcp_batch_release(m, q->r.batch);
		q->batch_released = true;
	}
	ctxd_debug("tools/call %s became task %s", q->r.key, t->id);
	return t;
}

static json_t *create_result(struct ctxd_mcp *m, const struct ctxd_task *t)
{
	json_t *task = task_json(m, t, false);
	if (!task) {
		return NULL;
	}
	if (t->modern) {
		json_object_set_new(task, "resultType", json_string("task"));
		return task;
	}
	return json_pack("{s:o}", "task", task);
}

json_t *ctxd_mcp_call_started(struct ctxd_mcp *m, struct mreq *q, struct rpc_err *e)
{
	(void)e;
	if (q->timeout_ms) {
		q->deadline_at = q->start_ms + q->timeout_ms;
	}
	if (q->task_capable && !q->task_now) {
		q->task_at = q->start_ms + m->d.cfg->tasks_after_ms;
	}
	if (q->deadline_at || q->task_at) {
		timed_add(m, q);
	}
	if (q->task_now) {
		struct ctxd_task *t = become_task(m, q);
		json_t *r = t ? create_result(m, t) : NULL;
		if (r) {
			return r;
		}
		/* out of memory: the call answers as a plain request */
	}
	return ASYNC;
}

/* The isError result of a call whose deadline passed. */
static json_t *timeout_result(const struct mreq *q)
{
	const struct ctxd_tool *tool = q->target;
	json_t *args = json_object_get(q->r.args, "arguments");
	const char *path = json_string_value(json_object_get(args, "path"));
	const char *pattern = json_string_value(json_object_get(args, "pattern"));
	const char *query = json_string_value(json_object_get(args, "query"));
	char what[300] = "";
	int n = 0;
	if (path) {
		n = snprintf(what, sizeof(what), " on %.120s", path);
	}
	if (pattern || query) {
		snprintf(what + n, sizeof(what) - (size_t)n, " for %.120s",
			 pattern ? pattern : query);
	}
	return ctxd_tool_error(
	    "%s%s timed out after %u ms (%s): its work was stopped before it finished, so there "
	    "is no result. Ask for less (a narrower path or pattern, a smaller maxDepth or "
	    "maxResults), or allow more time (%s).",
	    tool->name, what, q->timeout_ms, q->timeout_key,
	    q->timeout_override ? "a larger _meta." META_TIMEOUT
				: "raise it in the server's configuration");
}

bool ctxd_mcp_call_done(struct ctxd_mcp *m, struct mreq *q, bool dropped)
{
	timed_remove(m, q);
	struct ctxd_task *t = q->task;
	if (!t) {
		if (q->timed_out && !q->r.out && !q->r.cancelled) {
			json_t *r = timeout_result(q);
			if (r && q->r.modern) {
				json_object_set_new(r, "resultType", json_string("complete"));
			}
			q->r.out =
			    r ? ctxd_rpc_dump_new(ctxd_rpc_result_new(q->r.id, r), &q->r.out_len)
			      : NULL;
		}
		return false;
	}
	m->tasks.jobs--;
	t->q = NULL;
	q->task = NULL;
	if (t->status != TASK_WORKING) { /* cancelled: the outcome of the work is dropped */
		ctxd_debug("task %s: its work stopped", t->id);
		task_settle(m, t);
		return true;
	}
	json_t *v = q->r.out ? json_loadb(q->r.out, q->r.out_len, 0, NULL) : NULL;
	json_t *result = json_object_get(v, "result");
	json_t *error = json_object_get(v, "error");
	char msg[200];
	if (json_is_object(result)) {
		t->status = TASK_COMPLETED;
		t->outcome = json_incref(result);
		json_object_del(t->outcome, "resultType");
		snprintf(msg, sizeof(msg), "Completed in %.0f ms", mono_ms() - q->start_ms);
	} else if (json_is_object(error)) {
		t->status = TASK_FAILED;
		t->outcome = json_incref(error);
		snprintf(msg, sizeof(msg), "Failed: %.180s",
			 json_string_value(json_object_get(error, "message"))
			     ? json_string_value(json_object_get(error, "message"))
			     : "error");
	} else if (q->timed_out && (t->outcome = timeout_result(q))) {
		t->status = TASK_COMPLETED;
		snprintf(msg, sizeof(msg), "Timed out after %u ms (%s)", q->timeout_ms,
			 q->timeout_key);
	} else {
		t->status = TASK_FAILED;
		snprintf(msg, sizeof(msg), "Internal error: %s",
			 dropped ? "the server stopped before the work ran" : "out of memory");
		t->outcome =
		    json_pack("{s:i, s:s}", "code", CTXD_RPC_INTERNAL_ERROR, "message", msg);
	}
	json_decref(v);
	set_status_msg(t, msg);
	task_settle(m, t);
	task_ended(m, t);
	return true;
}

/* ---- housekeeping ---- */

static void expire(struct ctxd_mcp *m, double now)
{
	double next = 0;
	for (struct ctxd_task **pp = &m->tasks.head; *pp;) {
		struct ctxd_task *t = *pp;
		if (t->expires_ms == 0 || t->q) {
			pp = &t->next;
			continue;
		}
		if (t->expires_ms > now) {
			if (next == 0 || t->expires_ms < next) {
				next = t->expires_ms;
			}
			pp = &t->next;
			continue;
		}
		*pp = t->next;
		ctxd_debug("task %s expired (%s)", t->id, ctxd_task_status_names[t->status]);
		memcpy(m->tasks.expired[m->tasks.n_expired++ % TASK_TOMBSTONES], t->id,
		       sizeof(t->id));
		m->tasks.count--;
		task_free(t);
	}
	m->tasks.next_expiry = next;
}

void ctxd_mcp_tasks_tick(struct ctxd_mcp *m, double now)
{
	for (struct mreq *q = m->tasks.timed, *next; q; q = next) {
		next = q->tnext;
		if (q->r.cancelled) { /* notifications/cancelled: nothing more is owed */
			timed_remove(m, q);
			continue;
		}
		if (q->task_at != 0 && now >= q->task_at && !q->task) {
			q->task_at = 0;
			if (m->tasks.count >= m->d.cfg->tasks_max) {
				ctxd_info("tools/call %s still runs after tasks.after_ms but %zu "
					  "tasks are held (tasks.max): it stays a plain request",
					  q->r.key, m->tasks.count);
			} else {
				struct ctxd_task *t = become_task(m, q);
				json_t *r = t ? create_result(m, t) : NULL;
				if (r) {
					ctxd_mcp_emit_json(m, NULL,
							   ctxd_rpc_result_new(q->r.id, r));
				}
			}
		}
		if (q->deadline_at != 0 && now >= q->deadline_at && !q->timed_out) {
			q->timed_out = true;
			ctxd_info("tools/call %s: cut off after %u ms (%s)", q->r.key,
				  q->timeout_ms, q->timeout_key);
			ctxd_pool_cancel(m->d.pool, &q->r.job);
		}
		if (q->task_at == 0 && (q->deadline_at == 0 || q->timed_out)) {
			timed_remove(m, q); /* nothing more to wait for */
		}
	}
	if (m->tasks.next_expiry != 0 && now >= m->tasks.next_expiry) {
		expire(m, now);
	}
}

/* Cancel working task `t`; with `tell`, say so to whoever asked (not at shutdown: nobody
 * is left to read it). */
static void cancel_task(struct ctxd_mcp *m, struct ctxd_task *t, const char *why, bool tell)
{
	t->status = TASK_CANCELLED;
	set_status_msg(t, why);
	if (t->q) {
		ctxd_pool_cancel(m->d.pool, &t->q->r.job);
	} else {
		task_settle(m, t);
	}
	if (tell) {
		task_ended(m, t);
	}
}

void ctxd_mcp_tasks_cancel_all(struct ctxd_mcp *m)
{
	for (struct ctxd_task *t = m->tasks.head; t; t = t->next) {
		if (t->status == TASK_WORKING) {
			cancel_task(m, t, "Cancelled: the server is shutting down", false);
		}
	}
}

void ctxd_mcp_tasks_by_status(const struct ctxd_mcp *m, size_t counts[CTXD_TASK_STATUSES])
{
	for (const struct ctxd_task *t = m->tasks.head; t; t = t->next) {
		counts[t->status]++;
	}
}

/* ---- methods ---- */

/* The task named by params.taskId, or NULL with `e` set (-32602, or -32021 for a modern
 * request that did not declare the extension). */
static struct ctxd_task *task_arg(struct ctxd_mcp *m, const struct call *c, const char *method,
				  struct rpc_err *e)
{
	if (c->modern && !ctxd_mcp_declares_tasks(c)) {
		ctxd_mcp_tasks_missing(e, method);
		return NULL;
	}
	json_t *id = json_object_get(c->params, "taskId");
	if (!json_is_string(id)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "%s: params.taskId must be a string", method);
		return NULL;
	}
	struct ctxd_task *t = ctxd_mcp_task_find(m, json_string_value(id));
	if (!t) {
		bool gone = was_expired(m, json_string_value(id));
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			gone ? "Failed to retrieve task: Task has expired (its result was freed "
			       "tasks.ttl_ms after it ended)"
			     : "Failed to retrieve task: Task not found");
		e->data = json_pack("{s:O}", "taskId", id);
	}
	return t;
}

json_t *ctxd_mcp_m_tasks_get(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	struct ctxd_task *t = task_arg(m, c, "tasks/get", e);
	return t ? task_json(m, t, true) : NULL;
}

json_t *ctxd_mcp_m_tasks_result(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	struct ctxd_task *t = task_arg(m, c, "tasks/result", e);
	if (!t) {
		return NULL;
	}
	if (t->status == TASK_WORKING) { /* answered when it ends */
		struct task_waiter *w = calloc(1, sizeof(*w));
		if (!w) {
			set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
			return NULL;
		}
		w->id = json_incref(c->id);
		w->batch = c->batch;
		if (w->batch) {
			w->batch->pending++;
		}
		w->next = t->waiters;
		t->waiters = w;
		return ASYNC;
	}
	json_t *msg = payload(t, c->id);
	json_t *r = json_object_get(msg, "result");
	json_t *err = json_object_get(msg, "error");
	json_t *out = NULL;
	if (r) {
		out = json_incref(r);
	} else if (err) {
		json_t *data = json_object_get(err, "data");
		set_err(e, (int)json_integer_value(json_object_get(err, "code")), "%s",
			json_string_value(json_object_get(err, "message")));
		e->data = data ? json_incref(data) : NULL;
	} else {
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
	}
	json_decref(msg);
	return out;
}

json_t *ctxd_mcp_m_tasks_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *all = json_array();
	for (struct ctxd_task *t = m->tasks.head; t && all; t = t->next) {
		json_array_append_new(all, task_json(m, t, false));
	}
	return ctxd_mcp_paginate(m, c->params, "tasks", "tasks", all, e);
}

json_t *ctxd_mcp_m_tasks_cancel(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	struct ctxd_task *t = task_arg(m, c, "tasks/cancel", e);
	if (!t) {
		return NULL;
	}
	if (t->status == TASK_WORKING) {
		cancel_task(m, t, "Cancelled by the client (tasks/cancel)", true);
	} else if (!c->modern) { /* 2025-11-25: a terminal task cannot be cancelled */
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Cannot cancel task: it already ended (%s); its result stays until "
			"tasks.ttl_ms after it ended",
			ctxd_task_status_names[t->status]);
		return NULL;
	}
	return c->modern ? json_object() : task_json(m, t, false);
}

json_t *ctxd_mcp_m_tasks_update(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	/* ctxd's tasks never ask for input: every inputResponses key is one that is not
	 * outstanding, which the spec says to ignore */
	return task_arg(m, c, "tasks/update", e) ? json_object() : NULL;
}
