/* mcp.c - MCP lifecycle, both protocol eras, the method table and dispatch, capabilities,
 * tools/list and tools/call, the notifier, registration. The rest of the protocol engine is
 * in mcp_output.c (answers and batches), mcp_requests.c, mcp_resources.c, mcp_listen.c,
 * mcp_roots.c, mcp_mrtr.c, mcp_tasks.c and mcp_errors.c (mcp_priv.h).
 *
 * Era rules (one binary serves both): an `initialize` request selects the legacy
 * (handshake) era for the process; a request whose params._meta carries
 * io.modelcontextprotocol/protocolVersion selects the modern (2026-07-28, stateless) era.
 * Whichever comes first decides. `server/discover` is answered in both and decides
 * nothing, so a host may probe it and then fall back to `initialize`. */
#include "ctxd/mcp.h"

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
#include "ctxd/strbuf.h"
#include "ctxd/subs.h"
#include "ctxd/watch.h"
#include "ctxd_version.h"
#include "mcp_priv.h"

json_t ctxd_mcp_async_marker;

static const char *const legacy_versions[] = {
    "2025-11-25",
    "2025-06-18",
    "2025-03-26",
    "2024-11-05",
};
#define N_LEGACY (sizeof(legacy_versions) / sizeof(legacy_versions[0]))

/* ---- capabilities, info ---- */

static bool any_completion(const struct ctxd_mcp *m)
{
	for (size_t i = 0; i < m->n_res; i++) {
		if (m->res[i]->complete) {
			return true;
		}
	}
	for (size_t i = 0; i < m->n_prompts; i++) {
		if (m->prompts[i]->complete) {
			return true;
		}
	}
	return false;
}

/* Only what is implemented is advertised (MCP 2025-11-25 basic/lifecycle). */
static json_t *server_capabilities(const struct ctxd_mcp *m, bool modern)
{
	json_t *caps = json_pack("{s:{s:b}}", "tools", "listChanged", 1);
	if (!modern) {
		json_object_set_new(caps, "logging", json_object());
	}
	if (m->n_res > 0 || m->status.figures) {
		/* resources/subscribe (legacy) and resourceSubscriptions of subscriptions/listen
		 * (modern) are the same index: offered when changes can be watched */
		bool subscribe = m->subs != NULL;
		json_object_set_new(
		    caps, "resources",
		    json_pack("{s:b, s:b}", "subscribe", subscribe, "listChanged", 1));
	}
	if (m->n_prompts > 0) {
		json_object_set_new(caps, "prompts", json_pack("{s:b}", "listChanged", 1));
	}
	if (any_completion(m)) {
		json_object_set_new(caps, "completions", json_object());
	}
	if (m->extra_caps) {
		json_object_update(caps, m->extra_caps);
	}
	json_t *tasks = ctxd_mcp_tasks_capability(m, modern);
	if (tasks && modern) {
		json_t *ext = json_object_get(caps, "extensions");
		ext = json_is_object(ext) ? json_copy(ext) : json_object();
		json_object_set_new(ext, EXT_TASKS, tasks);
		json_object_set_new(caps, "extensions", ext);
	} else if (tasks) {
		json_object_set_new(caps, "tasks", tasks);
	}
	return caps;
}

static json_t *server_info(void)
{
	return json_pack(
	    "{s:s, s:s, s:s, s:s}", "name", "ctxd", "title", "ctxd: files, skills and memory bank",
	    "version", CTXD_VERSION, "description",
	    "Fast, sandboxed MCP server for project files, Agent Skills and memory banks");
}

/* ---- methods ---- */

static json_t *m_initialize(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	struct ctxd_session *s = &m->sess;
	if (s->era == CTXD_ERA_MODERN) {
		set_err(e, CTXD_RPC_INVALID_REQUEST,
			"initialize is not used in protocol %s: this connection already serves "
			"stateless requests",
			CTXD_MCP_MODERN_VERSION);
		return NULL;
	}
	if (s->initialize_answered) {
		set_err(e, CTXD_RPC_INVALID_REQUEST, "initialize was already received");
		return NULL;
	}
	json_t *pv = json_object_get(c->params, "protocolVersion");
	if (!json_is_string(pv)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"initialize: params.protocolVersion must be a string");
		return NULL;
	}
	json_t *caps = json_object_get(c->params, "capabilities");
	if (caps && !json_is_object(caps)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"initialize: params.capabilities must be an object");
		return NULL;
	}
	const char *want = json_string_value(pv);
	const char *chosen = legacy_versions[0];
	for (size_t i = 0; i < N_LEGACY; i++) {
		if (strcmp(want, legacy_versions[i]) == 0) {
			chosen = legacy_versions[i];
		}
	}
	s->era = CTXD_ERA_LEGACY;
	s->initialize_answered = true;
	snprintf(s->version, sizeof(s->version), "%s", chosen);
	json_decref(s->client_caps);
	s->client_caps = caps ? json_incref(caps) : json_object();
	m->client_has_roots = json_is_object(json_object_get(s->client_caps, "roots"));
	ctxd_mcp_roots_begin(m);
	json_t *info = json_object_get(c->params, "clientInfo");
	json_decref(s->client_info);
	s->client_info = json_is_object(info) ? json_incref(info) : NULL;
	json_t *name = json_object_get(info, "name");
	json_t *ver = json_object_get(info, "version");
	ctxd_info("initialize: client %s %s asked for %s, using %s",
		  json_is_string(name) ? json_string_value(name) : "?",
		  json_is_string(ver) ? json_string_value(ver) : "?", want, chosen);
	return json_pack("{s:s, s:o, s:o, s:s*}", "protocolVersion", chosen, "capabilities",
			 server_capabilities(m, false), "serverInfo", server_info(), "instructions",
			 m->instructions);
}

static json_t *m_ping(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	(void)m;
	(void)c;
	(void)e;
	return json_object();
}

static json_t *m_discover(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	(void)c;
	(void)e;
	json_t *versions = json_pack("[s]", CTXD_MCP_MODERN_VERSION);
	for (size_t i = 0; i < N_LEGACY; i++) {
		json_array_append_new(versions, json_string(legacy_versions[i]));
	}
	return json_pack("{s:o, s:o, s:s*, s:{s:o}}", "supportedVersions", versions, "capabilities",
			 server_capabilities(m, true), "instructions", m->instructions, "_meta",
			 META_SERVER_INFO, server_info());
}

static json_t *m_set_level(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *lv = json_object_get(c->params, "level");
	enum ctxd_log_level level;
	if (!json_is_string(lv) || ctxd_log_level_parse(json_string_value(lv), &level) < 0 ||
	    level == CTXD_LOG_OFF || strcmp(json_string_value(lv), "warn") == 0) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"logging/setLevel: level must be one of debug, info, notice, warning, "
			"error, critical, alert, emergency");
		return NULL;
	}
	m->sess.client_log_set = true;
	m->sess.client_log_level = level;
	return json_object();
}

static json_t *w_tools_list(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			    struct rpc_err *e)
{
	(void)ctx;
	json_t *all = json_array();
	size_t n = ctxd_registry_count(m->d.registry);
	bool tasks = !q->r.modern && ctxd_mcp_tasks_on(m, false);
	for (size_t i = 0; i < n; i++) {
		json_t *entry = ctxd_registry_entry(m->d.registry, i);
		const struct ctxd_tool *tool =
		    tasks ? ctxd_registry_find(m->d.registry,
					       json_string_value(json_object_get(entry, "name")))
			  : NULL;
		if (tool && (tool->flags & CTXD_TOOL_LONG)) {
			/* 2025-11-25 basic/utilities/tasks: may run as a task (the entry is
			 * shared: add to a copy) */
			json_t *copy = json_copy(entry);
			json_decref(entry);
			entry = copy;
			json_object_set_new(entry, "execution",
					    json_pack("{s:s}", "taskSupport", "optional"));
		}
		json_array_append_new(all, entry);
	}
	return ctxd_mcp_paginate(m, q->r.args, "tools", "tools", all, e);
}

static json_t *m_tools_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	/* On a worker: descriptions may be computed (skill catalogue) and cost I/O. */
	return ctxd_mcp_submit(m, c, w_tools_list, NULL, NULL, c->params, true, e);
}

json_t *ctxd_mcp_w_tool(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			struct rpc_err *e)
{
	const struct ctxd_tool *tool = q->target;
	struct ctxd_error err;
	json_t *args = json_object_get(q->r.args, "arguments");
	if (!json_is_object(args)) {
		args = NULL;
	}
	if (ctxd_registry_validate(m->d.registry, tool, args, &err) < 0) {
		return ctxd_tool_error("%s: invalid arguments: %s", tool->name, err.msg);
	}
	json_t *empty = args ? NULL : json_object();
	struct ctxd_tool_ctx tctx = {
	    .cfg = ctx->cfg,
	    .sandbox = ctx->sandbox,
	    .job = ctx->job,
	    .progress = ctx->progress,
	    .ud = ctxd_registry_tool_ud(m->d.registry, tool),
	    .deadline_ms = q->budget_ms ? ctxd_clock_ms() + q->budget_ms : 0,
	    .pool = m->d.pool,
	    .out = &q->raw,
	    .nowait = q->nowait,
	};
	/* A tool that writes its result itself appends it to the frame's start, within the
	 * frame limit less what ctxd_mcp_req_work appends after it (see ctxd_mcp_frame_limit). */
	ctxd_rpc_result_open(&q->raw, q->r.id);
	size_t start = q->raw.len;
	q->raw.max = ctxd_mcp_frame_limit(m, q) - ctxd_mcp_written_tail(q);
	json_t *result = tool->fn(&tctx, args ? args : empty);
	if (result == CTXD_TOOL_WOULD_BLOCK) {
		q->raw.len = 0;
		json_decref(empty);
		q->would_block = true;
		return NULL;
	}
	if (result != CTXD_TOOL_WRITTEN || q->raw.len <= start) {
		q->raw.len = 0;
		if (result == CTXD_TOOL_WRITTEN) {
			result = NULL; /* nothing written: a bug, answered as an internal error */
		}
	}
	json_decref(empty);
	if (!result) {
		set_err(e, CTXD_RPC_INTERNAL_ERROR,
			"Internal error: the tool could not build its result");
	}
	return result;
}

static json_t *m_tools_call(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *name = json_object_get(c->params, "name");
	if (!json_is_string(name)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "tools/call: params.name must be a string");
		return NULL;
	}
	json_t *args = json_object_get(c->params, "arguments");
	if (args && !json_is_object(args) && !json_is_null(args)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"tools/call: params.arguments must be an object");
		return NULL;
	}
	const struct ctxd_tool *tool = ctxd_registry_find(m->d.registry, json_string_value(name));
	if (!tool) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Unknown tool: %s", json_string_value(name));
		e->data = json_pack("{s:O}", "name", name);
		return NULL;
	}
	struct call_plan plan; /* first: no state is held for the request until it is submitted */
	if (ctxd_mcp_call_plan(m, c, tool, &plan, e) < 0) {
		return NULL;
	}
	json_t *ir = ctxd_mcp_mrtr_roots(m, c, "tools/call", e); /* modern, no directory */
	if (ir || e->code) {
		return ir;
	}
	struct call cp = *c;
	cp.plan = &plan;
	struct mreq *q;
	json_t *r =
	    ctxd_mcp_submit_live(m, &cp, ctxd_mcp_w_tool, NULL, tool, c->params, false, e, &q);
	return r && q ? ctxd_mcp_call_started(m, q, e) : r;
}

/* ---- extension methods ---- */

static json_t *w_ext(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
		     struct rpc_err *e)
{
	const struct ctxd_method_provider *p = q->target;
	struct ctxd_error pe = {0};
	json_t *r = p->call(p->ud, ctx, p->method, q->r.args, &pe);
	if (!r) {
		ctxd_mcp_map_provider_error(
		    &pe, q->r.modern, json_string_value(json_object_get(q->r.args, "uri")), e);
	}
	return r;
}

static const struct ctxd_method_provider *find_ext(const struct ctxd_mcp *m, const char *name)
{
	for (size_t i = 0; i < m->n_ext; i++) {
		if (strcmp(m->ext[i]->method, name) == 0) {
			return m->ext[i];
		}
	}
	return NULL;
}

static const struct method methods[] = {
    {"initialize", m_initialize, M_BEFORE_INIT | M_LEGACY | M_MODERN},
    {"ping", m_ping, M_BEFORE_INIT | M_LEGACY},
    {"server/discover", m_discover, M_BEFORE_INIT | M_LEGACY | M_MODERN | M_CACHEABLE},
    {"logging/setLevel", m_set_level, M_LEGACY},
    {"tools/list", m_tools_list, M_LEGACY | M_MODERN},
    {"tools/call", m_tools_call, M_LEGACY | M_MODERN},
    {"resources/list", ctxd_mcp_m_resources_list, M_LEGACY | M_MODERN},
    {"resources/templates/list", ctxd_mcp_m_templates_list, M_LEGACY | M_MODERN | M_CACHEABLE},
    {"resources/read", ctxd_mcp_m_resources_read, M_LEGACY | M_MODERN},
    {"resources/subscribe", ctxd_mcp_m_subscribe, M_LEGACY},
    {"resources/unsubscribe", ctxd_mcp_m_unsubscribe, M_LEGACY},
    {"prompts/list", ctxd_mcp_m_prompts_list, M_LEGACY | M_MODERN},
    {"prompts/get", ctxd_mcp_m_prompts_get, M_LEGACY | M_MODERN},
    {"completion/complete", ctxd_mcp_m_complete, M_LEGACY | M_MODERN},
    {"subscriptions/listen", ctxd_mcp_m_listen, M_MODERN},
    {"tasks/get", ctxd_mcp_m_tasks_get, M_LEGACY | M_MODERN},
    {"tasks/result", ctxd_mcp_m_tasks_result, M_LEGACY},
    {"tasks/list", ctxd_mcp_m_tasks_list, M_LEGACY},
    {"tasks/cancel", ctxd_mcp_m_tasks_cancel, M_LEGACY | M_MODERN},
    {"tasks/update", ctxd_mcp_m_tasks_update, M_MODERN},
};

static const struct method *find_method(const char *name)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(methods[i].name, name) == 0) {
			return &methods[i];
		}
	}
	return NULL;
}

/* Is `meth` offered at all? Families decide resources/prompts/completion. */
static bool method_offered(const struct ctxd_mcp *m, const struct method *meth)
{
	if (strncmp(meth->name, "resources/", 10) == 0) {
		if (m->n_res == 0 && !m->status.figures) {
			return false;
		}
		return strstr(meth->name, "subscribe") == NULL || m->subs != NULL;
	}
	if (strncmp(meth->name, "prompts/", 8) == 0) {
		return m->n_prompts > 0;
	}
	if (strcmp(meth->name, "completion/complete") == 0) {
		return any_completion(m);
	}
	if (strncmp(meth->name, "tasks/", 6) == 0) {
		return ctxd_mcp_tasks_on(m, m->sess.era != CTXD_ERA_LEGACY);
	}
	return true;
}
static int check_modern(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *meta = json_object_get(c->params, "_meta");
	json_t *pv = json_object_get(meta, META_VERSION);
	if (!pv || m->sess.era == CTXD_ERA_LEGACY) {
		return 0;
	}
	if (!json_is_string(pv)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "_meta.%s must be a string", META_VERSION);
		return -1;
	}
	if (strcmp(json_string_value(pv), CTXD_MCP_MODERN_VERSION) != 0) {
		set_err(e, CTXD_RPC_UNSUPPORTED_VERSION, "Unsupported protocol version: %s",
			json_string_value(pv));
		e->data = json_pack("{s:[s], s:O}", "supported", CTXD_MCP_MODERN_VERSION,
				    "requested", pv);
		return -1;
	}
	if (!json_is_object(json_object_get(meta, META_CAPS))) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "_meta.%s is required and must be an object",
			META_CAPS);
		return -1;
	}
	return 1;
}

static void handle_request(struct ctxd_mcp *m, const struct ctxd_rpc_msg *msg, struct ctxd_batch *b)
{
	struct call c = {.id = msg->id, .batch = b};
	struct rpc_err e = {0};
	if (msg->params && !json_is_object(msg->params)) {
		ctxd_mcp_send_error(m, b, msg->id, CTXD_RPC_INVALID_PARAMS,
				    "Invalid params: MCP params must be an object", NULL);
		return;
	}
	c.params = msg->params;
	int modern = check_modern(m, &c, &e);
	if (modern < 0) {
		ctxd_mcp_send_error(m, b, msg->id, e.code, e.msg, e.data);
		return;
	}
	c.modern = modern == 1;
	const struct method *meth = find_method(msg->method);
	const struct ctxd_method_provider *ext = meth ? NULL : find_ext(m, msg->method);
	unsigned need = c.modern ? M_MODERN : M_LEGACY;
	if (!ext && (!meth || !(meth->flags & need) || !method_offered(m, meth))) {
		char text[300];
		snprintf(text, sizeof(text), "Method not found: %.200s", msg->method);
		ctxd_mcp_send_error(m, b, msg->id, CTXD_RPC_METHOD_NOT_FOUND, text, NULL);
		return;
	}
	bool before_init_ok = meth && (meth->flags & M_BEFORE_INIT);
	if (!c.modern && !m->sess.initialize_answered && !before_init_ok) {
		ctxd_mcp_send_error(m, b, msg->id, CTXD_RPC_INVALID_PARAMS,
				    "Server not initialized: send initialize first, or carry "
				    "_meta." META_VERSION " (2026-07-28) in params",
				    NULL);
		return;
	}
	if (c.modern && m->sess.era == CTXD_ERA_NONE && strcmp(msg->method, "server/discover")) {
		m->sess.era = CTXD_ERA_MODERN;
		ctxd_info("serving the stateless %s era", CTXD_MCP_MODERN_VERSION);
	}
	json_t *result = meth ? meth->fn(m, &c, &e)
			      : ctxd_mcp_submit(m, &c, w_ext, NULL, ext, c.params, true, &e);
	if (result == ASYNC) {
		return;
	}
	if (!result) {
		ctxd_mcp_send_error(m, b, msg->id, e.code ? e.code : CTXD_RPC_INTERNAL_ERROR,
				    e.msg[0] ? e.msg : NULL, e.data);
		return;
	}
	if ((c.modern || strcmp(msg->method, "server/discover") == 0) &&
	    !json_object_get(
		result, "resultType")) { /* input_required (MRTR), task (CreateTaskResult) kept */
		json_object_set_new(result, "resultType", json_string("complete"));
		if (meth && (meth->flags & M_CACHEABLE)) {
			json_object_set_new(result, "ttlMs", json_integer(0));
			json_object_set_new(result, "cacheScope", json_string("private"));
		}
	}
	ctxd_mcp_emit_json(m, b, ctxd_rpc_result_new(msg->id, result));
}

static void cancel_one(struct ctxd_mcp *m, struct ctxd_request *r)
{
	r->cancelled = true;
	ctxd_pool_cancel(m->d.pool, &r->job);
}

static void handle_notification(struct ctxd_mcp *m, const struct ctxd_rpc_msg *msg)
{
	const char *method = msg->method;
	if (strcmp(method, "notifications/initialized") == 0) {
		if (m->sess.era == CTXD_ERA_LEGACY && !m->sess.initialized && m->client_has_roots) {
			ctxd_mcp_send_roots_request(m);
		}
		m->sess.initialized = true;
	} else if (strcmp(method, "notifications/roots/list_changed") == 0) {
		if (m->sess.era == CTXD_ERA_LEGACY && m->sess.initialized && m->client_has_roots) {
			ctxd_mcp_send_roots_request(m);
		}
	} else if (strcmp(method, "notifications/cancelled") == 0) {
		json_t *rid = json_object_get(msg->params, "requestId");
		struct ctxd_request *r = rid ? ctxd_session_find(&m->sess, rid) : NULL;
		if (r) {
			json_t *reason = json_object_get(msg->params, "reason");
			ctxd_debug("request %s cancelled by the client%s%s", r->key,
				   json_is_string(reason) ? ": " : "",
				   json_is_string(reason) ? json_string_value(reason) : "");
			if (r->stream) {
				ctxd_mcp_listen_close(m, (struct listen *)r, false);
			} else {
				cancel_one(m, r);
			}
		}
	} else if (m->test_hooks && strcmp(method, "ctxd.test/minute") == 0 &&
		   m->status.end_minute) {
		m->status.end_minute(m->status.ud); /* see struct ctxd_status_ops */
	} else {
		ctxd_debug("ignoring notification %.200s", method);
	}
}
static void handle_message(struct ctxd_mcp *m, json_t *v, struct ctxd_batch *b)
{
	struct ctxd_rpc_msg msg;
	struct ctxd_error err;
	switch (ctxd_rpc_classify(v, &msg, &err)) {
	case CTXD_RPC_REQUEST:
		handle_request(m, &msg, b);
		break;
	case CTXD_RPC_NOTIFICATION:
		handle_notification(m, &msg);
		break;
	case CTXD_RPC_RESPONSE:
		ctxd_mcp_handle_response(m, &msg);
		break;
	case CTXD_RPC_INVALID:
		/* A malformed notification (method, no id) is still never answered. */
		if (json_is_object(v) && json_object_get(v, "method") &&
		    !json_object_get(v, "id")) {
			ctxd_debug("ignoring a malformed notification: %s", err.msg);
			break;
		}
		ctxd_mcp_send_error(m, b, msg.id,
				    ctxd_mcp_error_code(err.kind, m->sess.era == CTXD_ERA_MODERN),
				    err.msg, NULL);
		break;
	}
}

static void handle_batch(struct ctxd_mcp *m, json_t *arr)
{
	if (json_array_size(arr) == 0) {
		ctxd_mcp_send_error(m, NULL, NULL, CTXD_RPC_INVALID_REQUEST,
				    "Invalid Request: empty batch", NULL);
		return;
	}
	struct ctxd_batch *b = calloc(1, sizeof(*b));
	if (!b) {
		ctxd_mcp_send_error(m, NULL, NULL, CTXD_RPC_INTERNAL_ERROR,
				    "Internal error: out of memory", NULL);
		return;
	}
	b->pending = 1;
	b->next = m->batches;
	if (m->batches) {
		m->batches->prev = b;
	}
	m->batches = b;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		/* initialize may not be batched (2025-03-26 basic/lifecycle) */
		json_t *meth = json_object_get(v, "method");
		if (json_is_string(meth) && strcmp(json_string_value(meth), "initialize") == 0) {
			json_t *id = json_object_get(v, "id");
			ctxd_mcp_send_error(
			    m, b, json_is_string(id) || json_is_integer(id) ? id : NULL,
			    CTXD_RPC_INVALID_REQUEST,
			    "Invalid Request: initialize cannot be part of a batch", NULL);
			continue;
		}
		handle_message(m, v, b);
	}
	ctxd_mcp_batch_release(m, b);
}

static void handle_frame(struct ctxd_mcp *m, const char *line, size_t len)
{
	if (!line) {
		char text[160];
		snprintf(text, sizeof(text),
			 "Parse error: message exceeds the %zu-byte frame limit and was dropped",
			 m->d.cfg->max_frame_bytes);
		ctxd_warn("%s", text);
		ctxd_mcp_send_error(m, NULL, NULL, CTXD_RPC_PARSE_ERROR, text, NULL);
		return;
	}
	struct ctxd_error err;
	json_t *v = ctxd_rpc_parse(line, len, &err);
	if (!v) {
		ctxd_mcp_send_error(m, NULL, NULL,
				    ctxd_mcp_error_code(err.kind, m->sess.era == CTXD_ERA_MODERN),
				    err.msg, NULL);
		return;
	}
	if (json_is_array(v)) {
		if (ctxd_mcp_accepts_batches(m)) {
			handle_batch(m, v);
		} else {
			ctxd_mcp_send_error(
			    m, NULL, NULL, CTXD_RPC_INVALID_REQUEST,
			    "Invalid Request: JSON-RPC batches are only accepted with "
			    "protocol 2025-03-26",
			    NULL);
		}
	} else {
		handle_message(m, v, NULL);
	}
	json_decref(v);
}

void ctxd_mcp_handle_frame(struct ctxd_mcp *m, const char *line, size_t len)
{
	handle_frame(m, line, len);
	if (m->test_hooks) { /* after the frame took effect: see ctxd_mcp_test_hold */
		atomic_fetch_add_explicit(&m->frames_handled, 1, memory_order_release);
	}
}

void ctxd_mcp_handle_message(struct ctxd_mcp *m, json_t *msg)
{
	handle_message(m, msg, NULL);
	if (m->test_hooks) { /* as for a frame: see ctxd_mcp_test_hold */
		atomic_fetch_add_explicit(&m->frames_handled, 1, memory_order_release);
	}
}

/* ---- log forwarding (logging capability) ---- */

bool ctxd_mcp_log_wanted(const struct ctxd_mcp *m, enum ctxd_log_level level)
{
	return m->sess.era == CTXD_ERA_LEGACY && m->sess.client_log_set &&
	       level >= m->sess.client_log_level && level < CTXD_LOG_OFF;
}

static void log_sink(void *ud, enum ctxd_log_level level, const char *logger, const char *msg)
{
	struct ctxd_mcp *m = ud;
	if (!ctxd_mcp_log_wanted(m, level)) {
		return;
	}
	json_t *params = json_pack("{s:s, s:s, s:s}", "level", ctxd_log_level_name(level), "logger",
				   logger, "data", msg);
	if (params) {
		ctxd_mcp_emit_json(m, NULL,
				   ctxd_rpc_notification_new("notifications/message", params));
	}
}

/* ---- notifier ---- */

static void notifier_push(struct ctxd_notifier *n, struct note *note)
{
	pthread_mutex_lock(&n->mu);
	if (n->tail) {
		n->tail->next = note;
	} else {
		n->head = note;
	}
	n->tail = note;
	pthread_mutex_unlock(&n->mu);
	n->wake(n->wake_ud);
}

void ctxd_notify_list_changed(struct ctxd_notifier *n, enum ctxd_list_kind kind)
{
	struct note *note = n ? calloc(1, sizeof(*note)) : NULL;
	if (note) {
		note->kind = NOTE_LIST;
		note->list = (int)kind;
		notifier_push(n, note);
	}
}

void ctxd_notify_resource_updated(struct ctxd_notifier *n, const char *uri)
{
	struct note *note = n ? calloc(1, sizeof(*note)) : NULL;
	if (note && !(note->uri = strdup(uri))) {
		free(note);
		return;
	}
	if (note) {
		note->kind = NOTE_UPDATED;
		notifier_push(n, note);
	}
}

void ctxd_mcp_poll(struct ctxd_mcp *m)
{
	pthread_mutex_lock(&m->notifier.mu);
	struct note *n = m->notifier.head;
	m->notifier.head = m->notifier.tail = NULL;
	pthread_mutex_unlock(&m->notifier.mu);
	unsigned lists = 0;
	while (n) {
		struct note *next = n->next;
		if (n->kind == NOTE_PROGRESS) {
			struct ctxd_request *r = ctxd_session_find_key(&m->sess, n->key);
			if (r && !r->cancelled && !r->stream) { /* none after the response */
				ctxd_mcp_emit(m, NULL, n->frame, n->len);
				n->frame = NULL;
			}
		} else if (n->kind == NOTE_LIST && n->list >= 0 && n->list < N_LISTS) {
			lists |= 1u << n->list;
		} else if (n->kind == NOTE_UPDATED && m->subs) {
			ctxd_subs_uri_changed(m->subs, n->uri); /* held back while congested */
		}
		free(n->uri);
		free(n->key);
		free(n->frame);
		free(n);
		n = next;
	}
	/* Server-initiated notifications only to whom may receive them: a legacy client
	 * after notifications/initialized, a stream that asked for them. While the host is
	 * not reading they are only remembered, each kind once. */
	if (m->congested) {
		m->lists_deferred |= lists;
	} else if (lists) {
		ctxd_mcp_deliver_lists(m, lists);
	}
}

void ctxd_mcp_congested(struct ctxd_mcp *m, bool on)
{
	m->congested = on;
	if (m->subs) {
		ctxd_subs_defer(m->subs, on);
	}
	if (on) {
		/* answers held for unfinished batches leave now, so that the workers the loop
		 * holds are not needed before the host can drain what it is owed */
		for (struct ctxd_batch *b = m->batches; b; b = b->next) {
			ctxd_mcp_batch_flush(m, b);
		}
	} else if (m->lists_deferred) {
		unsigned bits = m->lists_deferred;
		m->lists_deferred = 0;
		ctxd_mcp_deliver_lists(m, bits);
	}
}

void ctxd_mcp_close_streams(struct ctxd_mcp *m)
{
	m->closing = true;
	while (m->listens) {
		ctxd_mcp_listen_close(m, m->listens, true);
	}
}

void ctxd_mcp_landlock_client_roots(struct ctxd_mcp *m, const char *const *extra_ro)
{
	m->landlock_pending = true;
	m->landlock_extra = extra_ro;
}

void ctxd_mcp_set_status(struct ctxd_mcp *m, const struct ctxd_status_ops *ops)
{
	m->status = *ops;
}

struct ctxd_notifier *ctxd_mcp_notifier(struct ctxd_mcp *m)
{
	return &m->notifier;
}

/* ---- registration ---- */

#define APPEND(arr, n, item)                                                                       \
	do {                                                                                       \
		void *grown_ = realloc((void *)(arr), ((n) + 1) * sizeof(*(arr)));                 \
		if (!grown_) {                                                                     \
			return -1;                                                                 \
		}                                                                                  \
		(arr) = grown_;                                                                    \
		(arr)[(n)++] = (item);                                                             \
	} while (0)

int ctxd_mcp_add_resource_provider(struct ctxd_mcp *m, const struct ctxd_resource_provider *p)
{
	APPEND(m->res, m->n_res, p);
	return 0;
}

int ctxd_mcp_add_prompt_provider(struct ctxd_mcp *m, const struct ctxd_prompt_provider *p)
{
	APPEND(m->prompts, m->n_prompts, p);
	return 0;
}

int ctxd_mcp_add_method(struct ctxd_mcp *m, const struct ctxd_method_provider *p)
{
	APPEND(m->ext, m->n_ext, p);
	return 0;
}

int ctxd_mcp_set_capability(struct ctxd_mcp *m, const char *key, json_t *value)
{
	if (!m->extra_caps && !(m->extra_caps = json_object())) {
		json_decref(value);
		return -1;
	}
	return json_object_set_new(m->extra_caps, key, value);
}

int ctxd_mcp_set_instructions(struct ctxd_mcp *m, const char *text)
{
	char *copy = NULL;
	if (text && !(copy = strdup(text))) {
		return -1;
	}
	free(m->instructions);
	m->instructions = copy;
	return 0;
}

/* ---- life cycle ---- */

struct ctxd_mcp *ctxd_mcp_create(const struct ctxd_mcp_deps *deps)
{
	struct ctxd_mcp *m = calloc(1, sizeof(*m));
	if (!m) {
		return NULL;
	}
	m->d = *deps;
	if (ctxd_session_init(&m->sess) < 0) {
		free(m);
		return NULL;
	}
	pthread_mutex_init(&m->notifier.mu, NULL);
	m->notifier.wake = deps->wake;
	m->notifier.wake_ud = deps->wake_ud;
	/* the configured sandbox is borrowed; it is never freed through a reference */
	m->configured.sb = (struct ctxd_sandbox *)deps->sandbox;
	m->configured.refs = 1;
	m->sb = &m->configured;
	m->landlock_fd = -1;
	if (deps->watch &&
	    !(m->subs = ctxd_subs_create(deps->watch, ctxd_mcp_on_resource_changed, m))) {
		ctxd_mcp_destroy(m);
		return NULL;
	}
	if (ctxd_mcp_tasks_init(m) < 0) {
		ctxd_mcp_destroy(m);
		return NULL;
	}
	const char *hooks = getenv("CTXD_TEST_HOOKS");
	m->test_hooks = hooks && strcmp(hooks, "1") == 0;
	atomic_init(&m->frames_handled, 0);
	if (!deps->no_log_sink) {
		ctxd_log_set_sink(log_sink, m);
	}
	return m;
}

void ctxd_mcp_destroy(struct ctxd_mcp *m)
{
	if (!m) {
		return;
	}
	if (!m->d.no_log_sink) {
		ctxd_log_set_sink(NULL, NULL);
	}
	while (m->listens) {
		ctxd_mcp_listen_close(m, m->listens, false);
	}
	ctxd_subs_destroy(m->subs);
	ctxd_mcp_tasks_finish(m);
	ctxd_mcp_roots_finish(m);
	while (m->out_reqs) {
		struct pending_out *p = m->out_reqs;
		m->out_reqs = p->next;
		free(p->id);
		free(p);
	}
	for (struct note *n = m->notifier.head; n;) { /* undelivered: drop */
		struct note *next = n->next;
		free(n->uri);
		free(n->key);
		free(n->frame);
		free(n);
		n = next;
	}
	if (m->sb != &m->configured) {
		struct sbref *s = m->sb;
		m->sb = &m->configured;
		ctxd_mcp_sb_put(m, s);
	}
	pthread_mutex_destroy(&m->notifier.mu);
	free(m->roots_logged);
	if (m->landlock_fd >= 0) {
		close(m->landlock_fd);
	}
	json_decref(m->extra_caps);
	free(m->instructions);
	free(m->res);
	free(m->prompts);
	free(m->ext);
	ctxd_session_finish(&m->sess);
	free(m);
}
size_t ctxd_mcp_completed(const struct ctxd_mcp *m)
{
	return m->completed;
}

size_t ctxd_mcp_inflight(const struct ctxd_mcp *m)
{
	/* open streams are not work in flight; the work of tasks is */
	return m->sess.count - m->n_listens + m->tasks.jobs + m->roots_jobs;
}

size_t ctxd_mcp_tasks_live(const struct ctxd_mcp *m)
{
	return m->tasks.count;
}

bool ctxd_mcp_accepts_batches(const struct ctxd_mcp *m)
{
	return m->sess.era == CTXD_ERA_LEGACY && strcmp(m->sess.version, "2025-03-26") == 0;
}

static void cancel_cb(struct ctxd_request *r, void *ud)
{
	if (!r->stream) {
		cancel_one(ud, r);
	}
}

void ctxd_mcp_cancel_all(struct ctxd_mcp *m)
{
	ctxd_session_foreach(&m->sess, cancel_cb, m);
	ctxd_mcp_tasks_cancel_all(m);
}
