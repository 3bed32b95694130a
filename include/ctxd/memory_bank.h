/* memory_bank.h - the memory bank's tool family: the memory_bank_* tools
 * (src/tools/memory_bank.c, the list and read tools in src/tools/memory_bank_read.c) and the
 * memory-bank:// resources (src/tools/memory_bank_resources.c), over the store in
 * mb_store.h and its siblings (mb_files.h, mb_history.h, mb_validate.h, mb_search.h,
 * md_sections.h).
 *
 * The store calls nothing here: the tools call down into it, and main.c registers the
 * tools (ctxd_registry_add with ud = the bank) and the resource provider (filled by
 * ctxd_memory_bank_provider_init into storage main.c owns) with the engine.
 */
#ifndef CTXD_MEMORY_BANK_H
#define CTXD_MEMORY_BANK_H

#include <stddef.h>

#include "ctxd/mb_store.h"
#include "ctxd/provider.h"
#include "ctxd/registry.h"

/* The memory_bank_* tools (static, borrowed). Register them with
 * ctxd_registry_add(reg, ctxd_memory_bank_tools, ctxd_memory_bank_tools_count, cfg, mb,
 * err): every handler expects ctx->ud to be the struct ctxd_mb. */
extern const struct ctxd_tool ctxd_memory_bank_tools[];
extern const size_t ctxd_memory_bank_tools_count;

/* Fill `p` (the caller's storage, which must outlive its registration) with the
 * "memory-bank" resource provider (list, read, templates, watch_path, complete) over URIs
 * memory-bank://<project>/<file> of bank `mb` (p->ud = mb; valid until ctxd_mb_destroy).
 * Its callbacks are thread-safe. Loop thread, at start-up. */
void ctxd_memory_bank_provider_init(struct ctxd_mb *mb, struct ctxd_resource_provider *p);

#endif
