/* mb_search.h - ranked search over a memory bank's sections (src/mb_search.c). */
#ifndef CTXD_MB_SEARCH_H
#define CTXD_MB_SEARCH_H

#include <jansson.h>
#include <stddef.h>

#include "ctxd/error.h"
#include "ctxd/mb_files.h"

/* Search state: one index per bank directory, each behind one mutex. */
struct ctxd_mb_search;

/* A new, empty search state (indexes are built on first use), or NULL on ENOMEM. The bank
 * object creates one (ctxd_mb_index). */
struct ctxd_mb_search *ctxd_mb_search_create(void);

/* Free the state and its indexes. NULL-safe. After every search has returned. */
void ctxd_mb_search_destroy(struct ctxd_mb_search *s);

/* BM25 search over the sections of bank `dir` (words; a boost when the whole query appears
 * as a phrase). The index of each bank directory is built on first use and refreshed for
 * files whose inode, size or mtime changed; a mutex serialises searches of one state.
 * Returns a new array of at most `limit` hits {file, heading, line, score, snippet} best
 * first (the matched words in the snippet are wrapped in « and »), or NULL with err set.
 * Worker thread. */
json_t *ctxd_mb_search(struct ctxd_mb_search *s, const struct ctxd_mb_dir *dir, const char *query,
		       size_t limit, struct ctxd_error *err);

#endif
