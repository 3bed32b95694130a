/* instructions.h - the `instructions` text of the initialize and server/discover results
 * (MCP 2025-11-25 basic/lifecycle InitializeResult.instructions; 2026-07-28
 * server/discover): guidance for the model on how to use the tools this process offers.
 *
 * The text is assembled from the registry, so it names only tools that tools/list offers:
 * a family that is off (tools.toolsets), a tool in tools.disabled and a writing tool hidden
 * by --read-only are never mentioned, and a hint that needs a tool appears only with it.
 */
#ifndef CTXD_INSTRUCTIONS_H
#define CTXD_INSTRUCTIONS_H

#include "ctxd/registry.h"

/* Build the instructions for the tools registered in `reg` (borrowed). Returns a malloc'd
 * NUL-terminated string the caller frees, or NULL with errno 0 when no tool is registered
 * (then send no instructions) or errno ENOMEM. Any thread, once the registry is complete. */
char *ctxd_instructions_build(const struct ctxd_registry *reg);

#endif
