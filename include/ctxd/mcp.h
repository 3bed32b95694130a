/* mcp.h - the MCP protocol engine: lifecycle and version negotiation in both eras,
 * capabilities, the method table, tools/list and tools/call (MCP 2025-11-25 basic/lifecycle,
 * server/tools; MCP 2026-07-28 server/discover and stateless requests).
 *
 * Loop thread only. Frames come in through ctxd_mcp_handle_frame; every output frame
 * leaves through the `send` callback (one complete frame ending in '\n', ownership
 * passed). Tool calls run on the pool; their completions come back through
 * ctxd_pool_drain, which calls into this module.
 */
#ifndef CTXD_MCP_H
#define CTXD_MCP_H

#include <stdbool.h>
#include <stddef.h>

#include "ctxd/config.h"
#include "ctxd/pool.h"
#include "ctxd/sandbox.h"
#include "ctxd/tool.h"

/* Protocol versions, newest first. */
#define CTXD_MCP_MODERN_VERSION "2026-07-28"
#define CTXD_MCP_LATEST_LEGACY "2025-11-25"

struct ctxd_mcp;

/* Takes ownership of `buf` (malloc'd, `len` bytes, ends in '\n'). */
typedef void (*ctxd_send_fn)(void *ud, char *buf, size_t len);

struct ctxd_mcp_deps {
	const struct ctxd_config *cfg;
	const struct ctxd_sandbox *sandbox;
	const struct ctxd_registry *registry;
	struct ctxd_pool *pool;
	ctxd_send_fn send;
	void *send_ud;
	void (*idle)(void *ud); /* called when the last in-flight request finished (may be NULL) */
	void *idle_ud;
};

/* Create the engine. All deps are borrowed and must outlive it. NULL on ENOMEM. */
struct ctxd_mcp *ctxd_mcp_create(const struct ctxd_mcp_deps *deps);

/* Free the engine. In-flight requests must have completed (drain the pool first, or
 * destroy the pool, which completes them as dropped). NULL-safe. */
void ctxd_mcp_destroy(struct ctxd_mcp *m);

/* Handle one frame (`line`, `len` bytes, no newline). `line == NULL` reports an oversize
 * frame of at least `len` bytes: answered -32700 with id null. Never fails: every problem
 * becomes a JSON-RPC error response (requests) or nothing (notifications). */
void ctxd_mcp_handle_frame(struct ctxd_mcp *m, const char *line, size_t len);

/* Number of requests in flight (submitted to the pool, not yet completed). */
size_t ctxd_mcp_inflight(const struct ctxd_mcp *m);

/* Mark every in-flight request cancelled (no response will be written) and ask the
 * workers to stop. Used when the shutdown drain time runs out. */
void ctxd_mcp_cancel_all(struct ctxd_mcp *m);

/* The instructions string sent to the model (static). */
const char *ctxd_mcp_instructions(void);

#endif
