/* provider.h - how a tool family plugs resources and prompts into the MCP engine (MCP
 * 2025-11-25 server/resources, server/prompts, server/utilities/completion); an interface
 * only, implemented by the families' *_resources.c and *_prompts.c. Change notifications
 * are the engine's (ctxd_notify_list_changed, mcp.h).
 *
 * A family (files, skills, memory bank) fills a struct ctxd_resource_provider for its URI
 * scheme and/or a struct ctxd_prompt_provider, and main.c registers them with the engine
 * (ctxd_mcp_add_resource_provider / ctxd_mcp_add_prompt_provider). The engine does
 * pagination, era shapes, error codes and subscriptions; providers only produce data.
 * Callbacks marked "worker" run on a pool thread and may block on I/O; they must be
 * thread-safe against each other. No provider knows JSON-RPC exists: failures are
 * reported through struct ctxd_error with err->kind set (error.h): CTXD_ERR_NOT_FOUND
 * for an unknown resource or prompt, CTXD_ERR_INVALID_PARAMS for bad arguments,
 * CTXD_ERR_INTERNAL (or CTXD_ERR_TOOL from a shared helper) for anything else; the engine
 * maps the kind to the code for the negotiated era (ctxd_mcp_error_code).
 */
#ifndef CTXD_PROVIDER_H
#define CTXD_PROVIDER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/config.h"
#include "ctxd/error.h"
#include "ctxd/pool.h"
#include "ctxd/registry.h"
#include "ctxd/sandbox.h"

/* What provider callbacks get. All borrowed for the duration of the call. */
struct ctxd_provider_ctx {
	const struct ctxd_config *cfg;
	const struct ctxd_sandbox *sandbox;
	const struct ctxd_job *job;     /* ctxd_job_cancelled(job): stop early; may be NULL */
	struct ctxd_progress *progress; /* may be NULL */
};

struct ctxd_resource_provider {
	const char *scheme; /* URI scheme without ':' ("file", "skill", "memory-bank") */
	void *ud;           /* the family's state, passed back to every callback */

	/* Append Resource objects {uri, name, title?, description?, mimeType?, size?} to
	 * `out` (an array). Worker. Returns 0, or -1 with err set. */
	int (*list)(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		    struct ctxd_error *err);

	/* Append ResourceTemplate objects {uriTemplate (RFC 6570), name, title?,
	 * description?, mimeType?} to `out`. Any thread; must be cheap. May be NULL. */
	int (*templates)(void *ud, json_t *out);

	/* Read `uri` (its scheme is this provider's). Returns a new array of contents
	 * [{uri, mimeType?, text} | {uri, mimeType?, blob (base64)}], or NULL with err set
	 * (CTXD_ERR_NOT_FOUND when there is no such resource). Worker. */
	json_t *(*read)(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
			struct ctxd_error *err);

	/* Subscriptions: write to `buf` (size `n`) the absolute filesystem path whose
	 * changes change `uri` (a file or a directory). Returns 0, or -1 when the URI
	 * cannot be watched or does not exist. Worker. May be NULL (no subscriptions). */
	int (*watch_path)(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri, char *buf,
			  size_t n);

	/* Completion of template variable `var` of template `uri_template` starting with
	 * `value`; `context_args` (may be NULL) holds already-resolved variables. Append
	 * up to 100 strings to `out`, set *total to the number of matches (>= appended).
	 * Worker. May be NULL. Returns 0 or -1 with err set. */
	int (*complete)(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri_template,
			const char *var, const char *value, json_t *context_args, json_t *out,
			size_t *total, struct ctxd_error *err);
};

struct ctxd_prompt_provider {
	void *ud;

	/* Append Prompt objects {name, title?, description?, arguments?: [{name,
	 * description?, required?}]} to `out`. Worker. Returns 0 or -1 with err set. */
	int (*list)(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		    struct ctxd_error *err);

	/* Get prompt `name` with `args` (object of string values; may be NULL). Returns a
	 * new GetPromptResult {description?, messages: [{role, content}]}, or NULL with err
	 * set: CTXD_ERR_NOT_FOUND for an unknown prompt (the engine tries the next
	 * provider), CTXD_ERR_INVALID_PARAMS for a missing or bad argument. Worker. */
	json_t *(*get)(void *ud, const struct ctxd_provider_ctx *ctx, const char *name,
		       json_t *args, struct ctxd_error *err);

	/* Complete argument `arg` of prompt `name` (same contract as the resource one).
	 * Worker. May be NULL. */
	int (*complete)(void *ud, const struct ctxd_provider_ctx *ctx, const char *name,
			const char *arg, const char *value, json_t *context_args, json_t *out,
			size_t *total, struct ctxd_error *err);
};

#endif
