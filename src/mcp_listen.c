/* mcp_listen.c - subscriptions of both eras: resources/subscribe and unsubscribe (2025-11-25)
 * and subscriptions/listen streams (2026-07-28 basic/patterns/subscriptions), with their cap,
 * acknowledgement, delivery of list_changed and resource updates, and closing. */
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

/* ---- subscriptions: resources/subscribe (legacy) and subscriptions/listen (modern) ----
 *
 * One index (m->subs) holds every (URI, holder) pair of both eras; the holder is the
 * legacy session (&m->sess) or a listen stream. limits.subscriptions caps the pairs plus
 * the open streams (plus those being set up) of the session. */

static size_t subs_held(const struct ctxd_mcp *m)
{
	return (m->subs ? ctxd_subs_count(m->subs) : 0) + m->n_listens + m->sub_reserved;
}

/* Room for `need` more subscriptions, or false with a -32602 error saying how to make
 * room. */
static bool subs_room(const struct ctxd_mcp *m, size_t need, struct rpc_err *e)
{
	size_t limit = m->d.cfg->max_subscriptions;
	size_t held = subs_held(m);
	if (need <= limit && held <= limit - need) {
		return true;
	}
	set_err(e, CTXD_RPC_INVALID_PARAMS,
		"Too many subscriptions: this session holds %zu of at most %zu "
		"(limits.subscriptions) and this request needs %zu more. Unsubscribe from "
		"resources or close subscriptions/listen streams first, or raise "
		"limits.subscriptions in the server's configuration",
		held, limit, need);
	e->data = json_pack("{s:I, s:I, s:I}", "held", (json_int_t)held, "limit", (json_int_t)limit,
			    "requested", (json_int_t)need);
	return false;
}

/* Worker: where changes of `uri` show on disk, as {uri, dir, name} (name "" when the URI
 * is a directory, watched itself; a file is watched through its directory). NULL when no
 * provider can watch it (unknown scheme, no such resource, outside the roots). */
static json_t *resolve_watch(const struct ctxd_mcp *m, const struct ctxd_provider_ctx *ctx,
			     const char *uri)
{
	const struct ctxd_resource_provider *p = ctxd_mcp_provider_for(m, uri);
	char path[CTXD_PATH_MAX];
	if (!p || !p->watch_path || p->watch_path(p->ud, ctx, uri, path, sizeof(path)) < 0) {
		return NULL;
	}
	struct stat st;
	const char *dir = path, *name = "";
	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
		char *slash = strrchr(path, '/');
		if (!slash) {
			return NULL;
		}
		*slash = '\0';
		name = slash + 1;
		dir = path[0] ? path : "/";
	}
	return json_pack("{s:s, s:s, s:s}", "uri", uri, "dir", dir, "name", name);
}

/* Why a directory could not be watched, in words (errno from the watch). */
static const char *watch_failure(int err)
{
	switch (err) {
	case ENOSPC:
		return "the system's limit of inotify watches is reached "
		       "(raise fs.inotify.max_user_watches)";
	case ENOENT:
	case ENOTDIR:
		return "it no longer exists";
	case EACCES:
		return "permission denied";
	case ENOMEM:
		return "out of memory";
	default:
		return "the kernel refused to watch it";
	}
}

/* Loop: replace the answer the worker built with an error. */
static void replace_with_error(struct mreq *q, int code, const char *msg)
{
	free(q->r.out);
	q->r.out = ctxd_rpc_dump_new(ctxd_rpc_error_new(q->r.id, code, msg, NULL), &q->r.out_len);
}

static json_t *w_subscribe(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			   struct rpc_err *e)
{
	const char *uri = json_string_value(json_object_get(q->r.args, "uri"));
	q->keep = resolve_watch(m, ctx, uri);
	if (!q->keep) {
		set_err(e, ctxd_mcp_error_code(CTXD_ERR_NOT_FOUND, q->r.modern),
			"Resource not found: %.300s", uri);
		e->data = json_pack("{s:s}", "uri", uri);
		return NULL;
	}
	return json_object();
}

/* Loop: the watched path is known; add the subscription before answering. */
static void after_subscribe(struct ctxd_mcp *m, struct mreq *q)
{
	if (!q->keep) {
		return; /* the lookup failed: the error is the answer, nothing to watch */
	}
	const char *uri = json_string_value(json_object_get(q->keep, "uri"));
	const char *dir = json_string_value(json_object_get(q->keep, "dir"));
	if (ctxd_subs_add(m->subs, uri, dir, json_string_value(json_object_get(q->keep, "name")),
			  &m->sess) < 0) {
		char msg[640];
		snprintf(msg, sizeof(msg), "resources/subscribe %.200s: cannot watch %.200s: %s",
			 uri, dir, watch_failure(errno));
		ctxd_warn("%s", msg);
		replace_with_error(q, CTXD_RPC_INTERNAL_ERROR, msg);
	}
}

json_t *ctxd_mcp_m_subscribe(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	const struct ctxd_resource_provider *p = ctxd_mcp_resource_arg(m, c, false, e);
	if (!p) {
		return NULL;
	}
	if (ctxd_subs_held(m->subs, json_string_value(json_object_get(c->params, "uri")),
			   &m->sess)) {
		return json_object(); /* already subscribed: idempotent */
	}
	if (!subs_room(m, 1, e)) {
		return NULL;
	}
	struct mreq *q =
	    ctxd_mcp_submit_req(m, c, w_subscribe, after_subscribe, p, c->params, false, e);
	if (!q) {
		return NULL;
	}
	q->reserved = 1;
	m->sub_reserved += 1;
	return ASYNC;
}

json_t *ctxd_mcp_m_unsubscribe(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *uri = json_object_get(c->params, "uri");
	if (!json_is_string(uri)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Invalid params: params.uri must be a string");
		return NULL;
	}
	ctxd_subs_remove(m->subs, json_string_value(uri), &m->sess);
	return json_object();
}

/* The list_changed notifications, by enum ctxd_list_kind. */
static const char *const list_methods[] = {
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
};
static const char *const list_filter_keys[] = {
    "toolsListChanged",
    "promptsListChanged",
    "resourcesListChanged",
};

/* Which lists have a listChanged capability (bit 1 << enum ctxd_list_kind). */
static unsigned lists_offered(const struct ctxd_mcp *m)
{
	unsigned bits = 1u << CTXD_LIST_TOOLS;
	if (m->n_prompts > 0) {
		bits |= 1u << CTXD_LIST_PROMPTS;
	}
	if (m->n_res > 0) {
		bits |= 1u << CTXD_LIST_RESOURCES;
	}
	return bits;
}

/* Send `method` on stream `L`: `params` (stolen; NULL = none) gets the stream's id in
 * _meta, as every message of a subscription carries it. */
static void listen_note(struct ctxd_mcp *m, struct listen *L, const char *method, json_t *params)
{
	if (!params) {
		params = json_object();
	}
	if (params) {
		json_object_set_new(params, "_meta",
				    json_pack("{s:O}", META_SUBSCRIPTION, L->r.id));
	}
	ctxd_mcp_emit_json(m, NULL, ctxd_rpc_notification_new(method, params));
}

/* The first message of a stream: the subset of the filter the server honours. */
static void listen_ack(struct ctxd_mcp *m, struct listen *L)
{
	json_t *filter = json_object();
	for (int i = 0; i < N_LISTS; i++) {
		if (L->lists & (1u << i)) {
			json_object_set_new(filter, list_filter_keys[i], json_true());
		}
	}
	if (L->resources) {
		json_t *uris = json_array();
		for (size_t i = 0; i < L->n_uris; i++) {
			json_array_append_new(uris, json_string(L->uris[i]));
		}
		json_object_set_new(filter, "resourceSubscriptions", uris);
	}
	if (L->task_ids) {
		json_object_set(filter, "taskIds", L->task_ids);
	}
	listen_note(m, L, "notifications/subscriptions/acknowledged",
		    json_pack("{s:o}", "notifications", filter));
}

/* Open stream `id` (borrowed) in the in-flight table. NULL on ENOMEM or when a request
 * with this id is in flight (`*dup` set). */
static struct listen *listen_open(struct ctxd_mcp *m, json_t *id, unsigned lists, bool resources,
				  bool *dup)
{
	struct listen *L = calloc(1, sizeof(*L));
	*dup = false;
	if (!L) {
		return NULL;
	}
	L->r.id = json_incref(id);
	L->r.key = ctxd_session_id_key(id);
	L->r.stream = true;
	L->r.server = m;
	L->lists = lists;
	L->resources = resources;
	int rc = L->r.key ? ctxd_session_add(&m->sess, &L->r) : -ENOMEM;
	if (rc < 0) {
		*dup = rc == -EEXIST;
		json_decref(L->r.id);
		free(L->r.key);
		free(L);
		return NULL;
	}
	L->next = m->listens;
	if (m->listens) {
		m->listens->prev = L;
	}
	m->listens = L;
	m->n_listens++;
	return L;
}

/* The graceful end of stream `id` (borrowed): the listen request's empty result, whose
 * _meta names the stream as every message of it does. */
static void send_stream_closed(struct ctxd_mcp *m, json_t *id)
{
	ctxd_mcp_emit_json(
	    m, NULL,
	    ctxd_rpc_result_new(id, json_pack("{s:s, s:{s:O}}", "resultType", "complete", "_meta",
					      META_SUBSCRIPTION, id)));
}

/* End stream `L`: drop its subscriptions; with `respond`, answer the listen request with
 * the empty result that tells the client the stream closed gracefully (shutdown). After
 * the client's notifications/cancelled nothing more is sent for it. */
void ctxd_mcp_listen_close(struct ctxd_mcp *m, struct listen *L, bool respond)
{
	for (size_t i = 0; i < L->n_uris; i++) {
		ctxd_subs_remove(m->subs, L->uris[i], L);
		free(L->uris[i]);
	}
	free(L->uris);
	json_decref(L->task_ids);
	ctxd_session_remove(&m->sess, &L->r);
	*(L->prev ? &L->prev->next : &m->listens) = L->next;
	if (L->next) {
		L->next->prev = L->prev;
	}
	m->n_listens--;
	if (respond) {
		send_stream_closed(m, L->r.id);
	}
	json_decref(L->r.id);
	free(L->r.key);
	free(L);
}

/* Worker: resolve where each requested URI's changes show on disk. */
static json_t *w_listen(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			struct rpc_err *e)
{
	(void)e;
	json_t *uris = json_object_get(q->r.args, "uris");
	q->keep = json_array();
	size_t i;
	json_t *u;
	json_array_foreach(uris, i, u)
	{
		if ((i & 255) == 0 && ctxd_job_cancelled(ctx->job)) {
			break;
		}
		json_t *w = resolve_watch(m, ctx, json_string_value(u));
		if (w) {
			json_array_append_new(q->keep, w);
		}
	}
	return q->keep ? json_object() : NULL;
}

/* Loop: subscribe the stream to every URI that could be resolved and acknowledge it. The
 * listen request stays open: it is answered only when the server closes the stream. */
static void after_listen(struct ctxd_mcp *m, struct mreq *q)
{
	q->taken = true;
	if (m->closing) { /* shut down while the URIs were resolved: closed at once */
		send_stream_closed(m, q->r.id);
		return;
	}
	bool dup;
	unsigned lists = (unsigned)json_integer_value(json_object_get(q->r.args, "lists"));
	struct listen *L = listen_open(m, q->r.id, lists, true, &dup);
	size_t n = json_array_size(q->keep);
	if (L && n > 0 && !(L->uris = calloc(n, sizeof(*L->uris)))) {
		ctxd_mcp_listen_close(m, L, false);
		L = NULL;
	}
	if (!L) {
		ctxd_mcp_send_error(m, NULL, q->r.id,
				    dup ? CTXD_RPC_INVALID_REQUEST : CTXD_RPC_INTERNAL_ERROR,
				    dup ? "Invalid Request: a request with this id is in flight"
					: "Internal error: out of memory",
				    NULL);
		return;
	}
	L->task_ids = json_incref(json_object_get(q->r.args, "taskIds"));
	size_t i;
	json_t *w;
	json_array_foreach(q->keep, i, w)
	{
		const char *uri = json_string_value(json_object_get(w, "uri"));
		const char *dir = json_string_value(json_object_get(w, "dir"));
		char *copy = strdup(uri);
		if (!copy) {
			continue;
		}
		if (ctxd_subs_add(m->subs, uri, dir, json_string_value(json_object_get(w, "name")),
				  L) < 0) {
			ctxd_warn("subscriptions/listen: not subscribing to %.200s: cannot watch "
				  "%.200s: %s",
				  uri, dir, watch_failure(errno));
			free(copy);
			continue;
		}
		L->uris[L->n_uris++] = copy;
	}
	listen_ack(m, L);
}

/* subscriptions/listen (MCP 2026-07-28): check the filter, agree to what can be
 * delivered, and open the stream (at once, or after a worker resolved its URIs). */
/* subscriptions/listen's filter: the list_changed kinds asked for and offered into *lists,
 * resourceSubscriptions (borrowed, may be NULL) into *rsp; false with `e` set when a part
 * of it is malformed. */
static bool listen_filter(struct ctxd_mcp *m, json_t *f, unsigned *lists, json_t **rsp,
			  struct rpc_err *e)
{
	unsigned offered = lists_offered(m);
	*lists = 0;
	for (int i = 0; i < N_LISTS; i++) {
		json_t *v = json_object_get(f, list_filter_keys[i]);
		if (v && !json_is_boolean(v)) {
			set_err(e, CTXD_RPC_INVALID_PARAMS,
				"subscriptions/listen: notifications.%s must be a boolean",
				list_filter_keys[i]);
			return false;
		}
		if (json_is_true(v) && (offered & (1u << i))) {
			*lists |= 1u << i;
		}
	}
	json_t *rs = *rsp = json_object_get(f, "resourceSubscriptions");
	if (rs && !json_is_array(rs)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"subscriptions/listen: notifications.resourceSubscriptions must be an "
			"array of resource URIs");
		return false;
	}
	size_t i;
	json_t *u;
	json_array_foreach(rs, i, u)
	{
		if (!json_is_string(u) || json_string_length(u) == 0 ||
		    strlen(json_string_value(u)) != json_string_length(u)) {
			set_err(e, CTXD_RPC_INVALID_PARAMS,
				"subscriptions/listen: notifications.resourceSubscriptions[%zu] "
				"must be a non-empty URI string without NUL characters",
				i);
			return false;
		}
	}
	return true;
}

/* notifications/tasks (the tasks extension): the filter's taskIds agreed, those of tasks
 * this session holds, into *task_ids (a new array, or NULL when none were asked for); false
 * with `e` set for a malformed list or a client that did not declare the extension. */
static bool listen_task_ids(struct ctxd_mcp *m, const struct call *c, json_t *f, json_t **task_ids,
			    struct rpc_err *e)
{
	*task_ids = NULL;
	json_t *tids = json_object_get(f, "taskIds");
	if (tids && !json_is_array(tids)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"subscriptions/listen: notifications.taskIds must be an array of task ids");
		return false;
	}
	if (tids && !ctxd_mcp_declares_tasks(c)) {
		ctxd_mcp_tasks_missing(e, "subscriptions/listen with notifications.taskIds");
		return false;
	}
	*task_ids = tids ? json_array() : NULL;
	size_t i;
	json_t *u;
	json_array_foreach(tids, i, u)
	{
		if (json_is_string(u) && ctxd_mcp_task_find(m, json_string_value(u))) {
			json_array_append(*task_ids, u);
		}
	}
	return true;
}

json_t *ctxd_mcp_m_listen(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *f = json_object_get(c->params, "notifications");
	if (!json_is_object(f)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"subscriptions/listen: params.notifications (the notification filter) must "
			"be an object");
		return NULL;
	}
	unsigned lists;
	json_t *rs, *task_ids;
	if (!listen_filter(m, f, &lists, &rs, e) || !listen_task_ids(m, c, f, &task_ids, e)) {
		return NULL;
	}
	size_t i;
	json_t *u;
	/* resource updates are agreed when changes can be watched; each URI once */
	bool resources = rs && m->subs && m->n_res > 0;
	json_t *uris = json_array(), *seen = json_object();
	json_array_foreach(resources ? rs : NULL, i, u)
	{
		if (!json_object_get(seen, json_string_value(u))) {
			json_object_set_new(seen, json_string_value(u), json_true());
			json_array_append(uris, u);
		}
	}
	json_decref(seen);
	size_t n = json_array_size(uris);
	if (!subs_room(m, 1 + n, e)) {
		json_decref(uris);
		json_decref(task_ids);
		return NULL;
	}
	if (n == 0) {
		json_decref(uris);
		bool dup;
		struct listen *L = listen_open(m, c->id, lists, resources, &dup);
		if (!L) {
			json_decref(task_ids);
			set_err(e, dup ? CTXD_RPC_INVALID_REQUEST : CTXD_RPC_INTERNAL_ERROR,
				dup ? "Invalid Request: a request with this id is still in flight"
				    : "Internal error: out of memory");
			return NULL;
		}
		L->task_ids = task_ids;
		listen_ack(m, L);
		return ASYNC; /* answered only when the stream ends */
	}
	/* the providers resolve URIs against the filesystem: on a worker */
	json_t *args = json_pack("{s:o, s:I, s:o*}", "uris", uris, "lists", (json_int_t)lists,
				 "taskIds", task_ids);
	struct mreq *q =
	    args ? ctxd_mcp_submit_req(m, c, w_listen, after_listen, NULL, args, false, e) : NULL;
	json_decref(args);
	if (!q) {
		if (!args) {
			set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		}
		return NULL;
	}
	q->reserved = 1 + n;
	m->sub_reserved += q->reserved;
	return ASYNC;
}

/* Loop: `uri` changed for `holder` (the legacy session or a listen stream). */
void ctxd_mcp_on_resource_changed(void *ud, const char *uri, void *holder)
{
	struct ctxd_mcp *m = ud;
	json_t *params = json_pack("{s:s}", "uri", uri);
	if (holder != &m->sess) {
		listen_note(m, holder, "notifications/resources/updated", params);
	} else if (m->sess.era == CTXD_ERA_LEGACY && m->sess.initialized) {
		ctxd_mcp_emit_json(
		    m, NULL, ctxd_rpc_notification_new("notifications/resources/updated", params));
	} else {
		json_decref(params);
	}
}

/* Loop: the lists in `bits` changed: tell the legacy client (once it is initialized) and
 * every stream that asked for them. */
void ctxd_mcp_deliver_lists(struct ctxd_mcp *m, unsigned bits)
{
	bits &= lists_offered(m);
	bool legacy = m->sess.era == CTXD_ERA_LEGACY && m->sess.initialized;
	for (int i = 0; i < N_LISTS; i++) {
		if (!(bits & (1u << i))) {
			continue;
		}
		if (legacy) {
			ctxd_mcp_emit_json(m, NULL,
					   ctxd_rpc_notification_new(list_methods[i], NULL));
		}
		for (struct listen *L = m->listens; L; L = L->next) {
			if (L->lists & (1u << i)) {
				listen_note(m, L, list_methods[i], NULL);
			}
		}
	}
}

void ctxd_mcp_listen_task(struct ctxd_mcp *m, const char *id, json_t *params)
{
	for (struct listen *L = m->listens; L; L = L->next) {
		size_t i;
		json_t *v;
		json_array_foreach(L->task_ids, i, v)
		{
			if (strcmp(json_string_value(v), id) == 0) {
				listen_note(m, L, "notifications/tasks", json_copy(params));
				break;
			}
		}
	}
	json_decref(params);
}
