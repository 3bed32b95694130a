/* mcp_resources.c - resources/list, resources/templates/list, resources/read, prompts/list,
 * prompts/get and completion/complete over the providers the families registered. */
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

/* ---- resources ---- */

const struct ctxd_resource_provider *ctxd_mcp_provider_for(const struct ctxd_mcp *m,
							   const char *uri)
{
	const char *colon = uri ? strchr(uri, ':') : NULL;
	if (!colon) {
		return NULL;
	}
	size_t n = (size_t)(colon - uri);
	for (size_t i = 0; i < m->n_res; i++) {
		if (strlen(m->res[i]->scheme) == n && strncmp(m->res[i]->scheme, uri, n) == 0) {
			return m->res[i];
		}
	}
	return NULL;
}

static json_t *w_resources_list(struct ctxd_mcp *m, struct mreq *q,
				const struct ctxd_provider_ctx *ctx, struct rpc_err *e)
{
	json_t *all = json_array();
	if (m->status.figures) {
		json_array_append_new(
		    all, json_pack("{s:s, s:s, s:s, s:s, s:s}", "uri", CTXD_STATUS_URI, "name",
				   "status", "title", "ctxd status", "description",
				   "The server's own figures: uptime, event-loop lag (p50/p99 over "
				   "the last minute), worker pool queue and busy workers, requests "
				   "in flight, bytes owed to the host, resident memory",
				   "mimeType", "application/json"));
	}
	for (size_t i = 0; i < m->n_res; i++) {
		struct ctxd_error pe = {0};
		if (m->res[i]->list && m->res[i]->list(m->res[i]->ud, ctx, all, &pe) < 0) {
			ctxd_warn("resources/list: %s provider: %s", m->res[i]->scheme, pe.msg);
		}
		if (ctx->progress) {
			ctx->progress->report(ctx->progress, (double)(i + 1), (double)m->n_res,
					      m->res[i]->scheme);
		}
	}
	return ctxd_mcp_paginate(m, q->r.args, "resources", "resources", all, e);
}

json_t *ctxd_mcp_m_resources_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	return ctxd_mcp_submit(m, c, w_resources_list, NULL, NULL, c->params, true, e);
}

json_t *ctxd_mcp_m_templates_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *all = json_array();
	for (size_t i = 0; i < m->n_res; i++) {
		if (m->res[i]->templates) {
			m->res[i]->templates(m->res[i]->ud, all);
		}
	}
	return ctxd_mcp_paginate(m, c->params, "templates", "resourceTemplates", all, e);
}

static json_t *w_resources_read(struct ctxd_mcp *m, struct mreq *q,
				const struct ctxd_provider_ctx *ctx, struct rpc_err *e)
{
	const struct ctxd_resource_provider *p = q->target;
	const char *uri = json_string_value(json_object_get(q->r.args, "uri"));
	struct ctxd_error pe = {0};
	json_t *contents = p->read(p->ud, ctx, uri, &pe);
	if (!contents) {
		ctxd_mcp_map_provider_error(&pe, q->r.modern, uri, e);
		return NULL;
	}
	return json_pack("{s:o}", "contents", contents);
}

const struct ctxd_resource_provider *ctxd_mcp_resource_arg(struct ctxd_mcp *m, const struct call *c,
							   bool modern, struct rpc_err *e)
{
	json_t *uri = json_object_get(c->params, "uri");
	if (!json_is_string(uri) || json_string_length(uri) == 0) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Invalid params: params.uri must be a string");
		return NULL;
	}
	if (strlen(json_string_value(uri)) != json_string_length(uri)) {
		/* providers see a C string: "x.md\u0000y" would read x.md */
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: params.uri contains a NUL character; give the URI "
			"without it");
		return NULL;
	}
	const struct ctxd_resource_provider *p = ctxd_mcp_provider_for(m, json_string_value(uri));
	if (!p || !p->read) {
		set_err(e, ctxd_mcp_error_code(CTXD_ERR_NOT_FOUND, modern),
			"Resource not found: %.300s", json_string_value(uri));
		e->data = json_pack("{s:O}", "uri", uri);
		return NULL;
	}
	return p;
}

/* ctxd://status, answered on the loop thread (its figures are the loop's). */
static json_t *status_read(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *fig = m->status.figures(m->status.ud);
	char *text = fig ? json_dumps(fig, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(fig);
	json_t *r = text ? json_pack("{s:[{s:s, s:s, s:s}]}", "contents", "uri", CTXD_STATUS_URI,
				     "mimeType", "application/json", "text", text)
			 : NULL;
	free(text);
	if (!r) {
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
	} else if (c->modern) { /* as every resources/read result */
		json_object_set_new(r, "ttlMs", json_integer(0));
		json_object_set_new(r, "cacheScope", json_string("private"));
	}
	return r;
}

json_t *ctxd_mcp_m_resources_read(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	const char *uri = json_string_value(json_object_get(c->params, "uri"));
	if (m->status.figures && uri && strcmp(uri, CTXD_STATUS_URI) == 0) {
		return status_read(m, c, e);
	}
	const struct ctxd_resource_provider *p = ctxd_mcp_resource_arg(m, c, c->modern, e);
	if (!p) {
		return NULL;
	}
	json_t *ir = ctxd_mcp_mrtr_roots(m, c, "resources/read", e); /* modern, no directory */
	if (ir || e->code) {
		return ir;
	}
	return ctxd_mcp_submit(m, c, w_resources_read, NULL, p, c->params, true, e);
}

/* ---- prompts ---- */

static json_t *w_prompts_list(struct ctxd_mcp *m, struct mreq *q,
			      const struct ctxd_provider_ctx *ctx, struct rpc_err *e)
{
	json_t *all = json_array();
	for (size_t i = 0; i < m->n_prompts; i++) {
		struct ctxd_error pe = {0};
		if (m->prompts[i]->list(m->prompts[i]->ud, ctx, all, &pe) < 0) {
			ctxd_warn("prompts/list: %s", pe.msg);
		}
	}
	return ctxd_mcp_paginate(m, q->r.args, "prompts", "prompts", all, e);
}

json_t *ctxd_mcp_m_prompts_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	return ctxd_mcp_submit(m, c, w_prompts_list, NULL, NULL, c->params, true, e);
}

static json_t *w_prompts_get(struct ctxd_mcp *m, struct mreq *q,
			     const struct ctxd_provider_ctx *ctx, struct rpc_err *e)
{
	const char *name = json_string_value(json_object_get(q->r.args, "name"));
	json_t *args = json_object_get(q->r.args, "arguments");
	for (size_t i = 0; i < m->n_prompts; i++) {
		struct ctxd_error pe = {0};
		json_t *r = m->prompts[i]->get(m->prompts[i]->ud, ctx, name, args, &pe);
		if (r) {
			return r;
		}
		if (pe.kind != CTXD_ERR_NOT_FOUND) {
			ctxd_mcp_map_provider_error(&pe, q->r.modern, NULL, e);
			return NULL;
		}
	}
	set_err(e, CTXD_RPC_INVALID_PARAMS, "Unknown prompt: %.200s", name);
	return NULL;
}

json_t *ctxd_mcp_m_prompts_get(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *name = json_object_get(c->params, "name");
	json_t *args = json_object_get(c->params, "arguments");
	if (!json_is_string(name)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Invalid params: params.name must be a string");
		return NULL;
	}
	if (args && !json_is_null(args)) {
		const char *k;
		json_t *v;
		if (!json_is_object(args)) {
			set_err(e, CTXD_RPC_INVALID_PARAMS,
				"Invalid params: params.arguments must be an object");
			return NULL;
		}
		json_object_foreach(args, k, v)
		{
			if (!json_is_string(v)) {
				set_err(e, CTXD_RPC_INVALID_PARAMS,
					"Invalid params: argument '%.100s' must be a string", k);
				return NULL;
			}
		}
	}
	return ctxd_mcp_submit(m, c, w_prompts_get, NULL, NULL, c->params, false, e);
}

/* ---- completion ---- */

static json_t *w_complete(struct ctxd_mcp *m, struct mreq *q, const struct ctxd_provider_ctx *ctx,
			  struct rpc_err *e)
{
	json_t *ref = json_object_get(q->r.args, "ref");
	json_t *arg = json_object_get(q->r.args, "argument");
	const char *type = json_string_value(json_object_get(ref, "type"));
	const char *aname = json_string_value(json_object_get(arg, "name"));
	const char *value = json_string_value(json_object_get(arg, "value"));
	json_t *context = json_object_get(json_object_get(q->r.args, "context"), "arguments");
	json_t *values = json_array();
	size_t total = 0;
	struct ctxd_error pe = {0};
	int rc = 0;
	bool known = false;
	if (strcmp(type, "ref/prompt") == 0) {
		const char *name = json_string_value(json_object_get(ref, "name"));
		for (size_t i = 0; i < m->n_prompts && !known; i++) {
			if (!m->prompts[i]->complete) {
				/* no completion offered: a prompt it lists completes to nothing */
				json_t *all = json_array();
				m->prompts[i]->list(m->prompts[i]->ud, ctx, all, &pe);
				size_t k;
				json_t *pr;
				json_array_foreach(all, k, pr)
				{
					const char *pn =
					    json_string_value(json_object_get(pr, "name"));
					known |= pn && strcmp(pn, name) == 0;
				}
				json_decref(all);
				pe = (struct ctxd_error){0};
				continue;
			}
			rc = m->prompts[i]->complete(m->prompts[i]->ud, ctx, name, aname, value,
						     context, values, &total, &pe);
			if (rc == 0 || pe.kind != CTXD_ERR_NOT_FOUND) {
				known = true; /* answered, or a real failure */
				break;
			}
			rc = 0; /* not this provider's prompt: try the next one */
			pe = (struct ctxd_error){0};
		}
	} else {
		const char *uri = json_string_value(json_object_get(ref, "uri"));
		const struct ctxd_resource_provider *p = ctxd_mcp_provider_for(m, uri);
		if (p && p->complete) {
			rc = p->complete(p->ud, ctx, uri, aname, value, context, values, &total,
					 &pe);
			known = true;
		}
	}
	if (!known || rc < 0) {
		json_decref(values);
		if (!known) {
			set_err(e, CTXD_RPC_INVALID_PARAMS,
				"Invalid params: no prompt or resource template matches this ref");
		} else {
			ctxd_mcp_map_provider_error(&pe, q->r.modern, NULL, e);
		}
		return NULL;
	}
	while (json_array_size(values) > 100) {
		json_array_remove(values, json_array_size(values) - 1);
	}
	size_t n = json_array_size(values);
	if (total < n) {
		total = n;
	}
	return json_pack("{s:{s:o, s:I, s:b}}", "completion", "values", values, "total",
			 (json_int_t)total, "hasMore", total > n);
}

json_t *ctxd_mcp_m_complete(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *ref = json_object_get(c->params, "ref");
	json_t *arg = json_object_get(c->params, "argument");
	const char *type = json_string_value(json_object_get(ref, "type"));
	bool prompt = type && strcmp(type, "ref/prompt") == 0;
	bool resource = type && strcmp(type, "ref/resource") == 0;
	if ((!prompt && !resource) ||
	    !json_is_string(json_object_get(ref, prompt ? "name" : "uri")) ||
	    !json_is_string(json_object_get(arg, "name")) ||
	    !json_is_string(json_object_get(arg, "value"))) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: completion/complete needs ref {type: ref/prompt, name} or "
			"{type: ref/resource, uri} and argument {name, value}");
		return NULL;
	}
	return ctxd_mcp_submit(m, c, w_complete, NULL, NULL, c->params, false, e);
}
