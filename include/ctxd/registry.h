/* registry.h - the tool registry (src/tools/registry.c) and what a tool handler sees (MCP
 * 2025-11-25 server/tools).
 *
 * A tool family exports a const table of struct ctxd_tool. The registry parses each
 * tool's input/output schema (JSON text) once, validates `tools/call` arguments against
 * the input schema before the handler runs (so a handler sees arguments of the declared
 * types; unknown properties refused), and builds the tools/list entries with annotations.
 * Handlers run on a worker thread: they get their arguments (borrowed), a context with
 * the sandbox, the config, and the cancel flag; they return a new CallToolResult object.
 * No handler knows JSON-RPC exists: failures the model can fix are isError results.
 */
#ifndef CTXD_REGISTRY_H
#define CTXD_REGISTRY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxd/config.h"
#include "ctxd/error.h"
#include "ctxd/pool.h"
#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"

/* Annotation flags (readOnlyHint etc.). ctxd's tools touch no open world, but openWorldHint
 * is not listed (registry.c says why). */
enum {
	CTXD_TOOL_READ_ONLY = 1 << 0,   /* readOnlyHint: true */
	CTXD_TOOL_DESTRUCTIVE = 1 << 1, /* destructiveHint: true (only meaningful if writing) */
	CTXD_TOOL_IDEMPOTENT = 1 << 2,  /* idempotentHint: true */
	/* The handler has a non-blocking attempt (ctxd_tool_ctx.nowait): the engine first runs
	 * the call on the loop thread, and on a worker only when that attempt would block. */
	CTXD_TOOL_NOWAIT = 1 << 3,
	/* The work may run long (a walk of a whole tree): a call may become a task (MCP tasks,
	 * tasks.after_ms), and tools/list marks it execution.taskSupport "optional". Tools whose
	 * work is always small never are tasks. */
	CTXD_TOOL_LONG = 1 << 4,
};

/* Progress reporter handed to a handler; rate limiting and ordering are the callee's job.
 * `total` < 0 means unknown; `message` may be NULL. Worker thread; cheap when the request
 * had no progressToken. */
struct ctxd_progress {
	void (*report)(struct ctxd_progress *p, double progress, double total, const char *message);
};

/* Everything a handler may use. All pointers borrowed for the duration of the call. */
struct ctxd_tool_ctx {
	const struct ctxd_config *cfg;
	const struct ctxd_sandbox *sandbox;
	const struct ctxd_job *job;     /* for ctxd_job_cancelled(); may be NULL in tests */
	struct ctxd_progress *progress; /* may be NULL */
	void *ud;                       /* the family state given to ctxd_registry_add */
	/* The call deadline (limits.call_ms after the call started), as a ctxd_clock_ms() time;
	 * 0 = none. Long searches (grep, search_files, directory_tree) stop there and answer
	 * with what they found, marked truncated. */
	int64_t deadline_ms;
	/* May be NULL. The pool the call runs on: a long search fans its walk out over the
	 * other workers as helper jobs (ctxd_pool_submit_helper), which give way to requests. */
	struct ctxd_pool *pool;
	/* May be NULL. Where a handler may write its whole CallToolResult as one compact JSON
	 * object (json_write.h) instead of building jansson values, for answers of many
	 * thousand items (grep, search_files): it appends the object to *out and returns
	 * ctxd_tool_written(). With NULL it returns a json_t as usual. */
	struct ctxd_strbuf *out;
	/* True for the non-blocking attempt of a CTXD_TOOL_NOWAIT tool, made on the loop thread
	 * (docs/architecture.md, "small calls"): the handler must not wait for anything - it
	 * opens with ctxd_sandbox_open_cached and reads only what is in the page cache
	 * (preadv2 RWF_NOWAIT) - and returns CTXD_TOOL_WOULD_BLOCK, having changed nothing,
	 * as soon as something could wait or fail; the call then runs again on a worker with
	 * nowait false, which also gives every error its message. */
	bool nowait;
};

/* CLOCK_MONOTONIC_COARSE time in milliseconds (resolution a few ms): the clock of
 * ctxd_tool_ctx.deadline_ms. Any thread. */
int64_t ctxd_clock_ms(void);

/* True when `deadline_ms` (a ctxd_clock_ms() time, 0 = none) has passed. Any thread. */
bool ctxd_deadline_passed(int64_t deadline_ms);

/* A handler: `args` is the validated arguments object (borrowed, never NULL: {} when the
 * client sent none). Returns a new CallToolResult ({content, structuredContent?, isError?});
 * NULL means out of memory (the engine answers with an internal error). Worker thread. */
typedef json_t *(*ctxd_tool_fn)(const struct ctxd_tool_ctx *ctx, json_t *args);

/* A former tool whose work a tool now does through one of its arguments (e.g.
 * list_directory_with_sizes: list_directory's `sizes`). */
struct ctxd_tool_merged {
	const char *name;     /* the former tool's name */
	const char *argument; /* the argument that does its work now */
};

struct ctxd_tool {
	const char *name; /* [A-Za-z0-9_.-], unique */
	const char *title;
	const char *description;
	const char *input_schema;  /* JSON text, a JSON Schema 2020-12 object schema */
	const char *output_schema; /* JSON text or NULL */
	unsigned flags;            /* CTXD_TOOL_* */
	bool writes;               /* refused on read-only sandboxes; hidden with --read-only */
	ctxd_tool_fn fn;
	/* Optional: a description computed when tools/list is answered (e.g. one that embeds
	 * a catalogue that changes at run time). Returns a malloc'd string the caller frees,
	 * or NULL to use `description`. `ud` is the family state. A worker thread (it may wait
	 * for the family's data, e.g. the first skills scan). */
	char *(*describe)(void *ud);
	/* Optional: adjusts the parsed inputSchema `input` to `cfg` once, at registration, before
	 * it is listed and used to validate calls, e.g. removes a property that `cfg` makes
	 * meaningless, so that a call passing it gets the usual "unknown argument" refusal.
	 * `cfg` may be NULL (then leave the schema whole). Loop thread, at start-up. */
	void (*input_for_config)(json_t *input, const struct ctxd_config *cfg);
	/* The answer is a one-line status: no outputSchema is listed (the spec allows
	 * structuredContent without one). `output_schema` stays the documentation of the
	 * structuredContent, which the unit tests check results against. */
	bool output_unlisted;
	/* Optional, ended by an entry with a NULL name: the former tools merged into this one.
	 * A config naming one in tools.disabled still loads; registration warns once that it
	 * disables nothing and names this tool to disable instead. */
	const struct ctxd_tool_merged *merged;
};

struct ctxd_registry;

/* Create an empty registry. Returns NULL on ENOMEM. */
struct ctxd_registry *ctxd_registry_create(void);

/* Free. NULL-safe. */
void ctxd_registry_destroy(struct ctxd_registry *reg);

/* Register `n` tools from a static table (borrowed; must outlive the registry). `ud` is
 * the family's state, handed to each handler as ctx->ud (may be NULL). Tools named in
 * cfg->disabled_tools, and writing tools when cfg->read_only, are skipped; a former tool
 * merged into one of `tools` (ctxd_tool.merged) named in cfg->disabled_tools is logged as a
 * warning (it disables nothing) once per call. Returns 0, or
 * -1 with err set when a schema does not parse or a name is duplicated (a programming
 * error: main exits). Loop thread, at start-up. */
int ctxd_registry_add(struct ctxd_registry *reg, const struct ctxd_tool *tools, size_t n,
		      const struct ctxd_config *cfg, void *ud, struct ctxd_error *err);

/* The family state registered with `tool` (NULL when unknown). */
void *ctxd_registry_tool_ud(const struct ctxd_registry *reg, const struct ctxd_tool *tool);

/* Number of registered tools (registration order indexes ctxd_registry_entry). */
size_t ctxd_registry_count(const struct ctxd_registry *reg);

/* Find a tool by name, or NULL. */
const struct ctxd_tool *ctxd_registry_find(const struct ctxd_registry *reg, const char *name);

/* The tools/list entry for the i-th tool: {name, title, description, inputSchema,
 * outputSchema?, annotations}. A new reference: the static part is built once and shared;
 * a tool with a `describe` hook gets a fresh copy with the current description. Any
 * thread but the loop thread (a `describe` hook may wait). NULL when i is out of range. */
json_t *ctxd_registry_entry(const struct ctxd_registry *reg, size_t i);

/* Validate `args` (borrowed; may be NULL = {}) against the tool's input schema.
 * Returns 0, or -1 with err->msg naming the argument and the problem, e.g.
 * "argument 'head': expected integer, got string". Thread-safe. */
int ctxd_registry_validate(const struct ctxd_registry *reg, const struct ctxd_tool *tool,
			   json_t *args, struct ctxd_error *err);

/* Validate `instance` against a JSON Schema subset (type, properties, required,
 * additionalProperties, items, enum, minimum, maximum, minLength, maxLength, minItems,
 * maxItems). `where` names the value in messages ("arguments"). Returns 0 or -1 with err
 * set. Thread-safe. */
int ctxd_schema_validate(json_t *schema, json_t *instance, const char *where,
			 struct ctxd_error *err);

/* What a handler returns after writing its result into ctx->out (see ctxd_tool_ctx.out):
 * a marker, never a real value (do not decref or read it). */
extern json_t ctxd_tool_written_marker;
#define CTXD_TOOL_WRITTEN (&ctxd_tool_written_marker)

/* What a handler returns from a non-blocking attempt (ctxd_tool_ctx.nowait) that would have
 * to wait: a marker, never a real value. */
extern json_t ctxd_tool_would_block_marker;
#define CTXD_TOOL_WOULD_BLOCK (&ctxd_tool_would_block_marker)

/* Finish a CallToolResult a handler wrote as JSON text: bytes [from, b->len) of `b` hold
 * the object. When `b` is ctx->out the bytes stay there and CTXD_TOOL_WRITTEN is
 * returned; otherwise they are parsed into a new json_t (and b's memory is freed). NULL
 * when memory ran out (b->oom) or the text does not parse (a bug); then ctx->out is cut
 * back to `from`. Worker thread. */
json_t *ctxd_tool_written(const struct ctxd_tool_ctx *ctx, struct ctxd_strbuf *b, size_t from);

/* Build a failed CallToolResult: {content:[{type:text,text:msg}], isError:true}.
 * Returns a new reference (NULL on ENOMEM). */
json_t *ctxd_tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Build a CallToolResult from `text` (copied) and `structured` (stolen; may be NULL).
 * Returns a new reference. */
json_t *ctxd_tool_result(const char *text, json_t *structured);

#endif
