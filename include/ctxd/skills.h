/* skills.h - the Agent Skills tool family (src/tools/skills*.c): the skill_* tools, one
 * prompt per skill, the `skill://` resources (SKILL.md and bundled files) and the SEP-2640
 * skills/list and skills/get methods, all over the store's catalogue (sk_store.h,
 * sk_catalog.h). The family knows no JSON-RPC: its failures are error kinds (error.h),
 * which the protocol engine maps to error codes.
 */
#ifndef CTXD_SKILLS_H
#define CTXD_SKILLS_H

#include <jansson.h>

#include "ctxd/error.h"
#include "ctxd/provider.h"
#include "ctxd/registry.h"
#include "ctxd/sk_catalog.h"
#include "ctxd/sk_dirs.h"
#include "ctxd/sk_store.h"

/* skill_list, skill_activate, skill_read_file, skill_diagnostics: register with
 * ud = the struct ctxd_skills *. */
extern const struct ctxd_tool ctxd_skills_tools[];
extern const size_t ctxd_skills_tools_count;

/* Fill `p` (owned by the caller, who registers it with the engine and keeps it as long as
 * the engine) with the `skill` resource provider (MCP 2025-11-25 server/resources:
 * skill://<name>/SKILL.md and skill://<name>/<path>, templates, subscriptions, completion),
 * bound to `sk`. Loop thread. */
void ctxd_skills_resources_init(struct ctxd_resource_provider *p, struct ctxd_skills *sk);

/* Fill `p` (owned by the caller, as above) with the prompt provider (MCP 2025-11-25
 * server/prompts: one prompt per valid skill, its arguments substituted into the body),
 * bound to `sk`. Loop thread. */
void ctxd_skills_prompts_init(struct ctxd_prompt_provider *p, struct ctxd_skills *sk);

/* SEP-2640 "skills/list" ({cursor?} -> {skills, nextCursor?}) and "skills/get"
 * ({uri} -> {skill}), with the signature of struct ctxd_method_provider's `call` (`ud` is
 * the struct ctxd_skills *; `method` is not looked at: the engine dispatched on it).
 * `params` is borrowed (may be NULL). Return a new result object (without the
 * era-specific resultType/ttlMs/cacheScope, which the engine adds), or NULL with err->kind
 * set to CTXD_ERR_INVALID_PARAMS (params not an object, an invalid cursor, a missing or
 * unknown skill URI) or CTXD_ERR_INTERNAL (out of memory).
 * Worker thread. */
json_t *ctxd_skills_list_method(void *ud, const struct ctxd_provider_ctx *ctx, const char *method,
				json_t *params, struct ctxd_error *err);
json_t *ctxd_skills_get_method(void *ud, const struct ctxd_provider_ctx *ctx, const char *method,
			       json_t *params, struct ctxd_error *err);

/* The capability value to advertise under capabilities.extensions
 * ["io.modelcontextprotocol/skills"] (a new object: {} - no directoryRead). */
json_t *ctxd_skills_capability(void);

#endif
