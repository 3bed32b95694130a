/* mb_store.h - the memory bank: a project's markdown files in a directory inside an allowed
 * root, and the object that finds and opens it (src/mb_store.c). The write transaction and
 * history are in mb_history.h, validation in mb_validate.h, search in mb_search.h, the
 * files themselves in mb_files.h, markdown structure in md_sections.h.
 *
 * Layout: the bank is a directory inside an allowed root: memory_bank.path when configured,
 * else the first of memory-bank/, .cursor/memory-bank/, .cortex/memory-bank/ that exists in
 * the first root, else memory-bank/ (created by ctxd_mb_open with `create`). With
 * memory_bank.multi_project every project is a subdirectory of that directory; otherwise
 * there is one project, named "default". Bank files have safe names (ctxd_mb_file_ok).
 * All access goes through the sandbox.
 *
 * The store knows no protocol and no tools: the memory_bank_* tools and the memory-bank://
 * resources (src/tools/memory_bank*.c) sit above it and call down; the store reports its
 * writes upward only through the callback registered with ctxd_mb_on_change.
 */
#ifndef CTXD_MB_STORE_H
#define CTXD_MB_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/config.h"
#include "ctxd/error.h"
#include "ctxd/mb_files.h"
#include "ctxd/sandbox.h"

/* The project name used when memory_bank.multi_project is off. */
#define CTXD_MB_DEFAULT_PROJECT "default"

struct ctxd_mb;
struct ctxd_mb_search;

/* Create the memory bank from `cfg` (the memory_bank.* keys, defaults applied by
 * ctxd_config_init; borrowed, must outlive the bank) and `sb` (sealed; borrowed likewise).
 * Nothing is touched on disk: the bank directory is found (or created) when a tool runs.
 * Returns NULL with err set on ENOMEM. Loop thread, at start-up. */
struct ctxd_mb *ctxd_mb_create(const struct ctxd_config *cfg, const struct ctxd_sandbox *sb,
			       struct ctxd_error *err);

/* Free the bank, its search indexes included. NULL-safe. After every call using it has
 * returned. */
void ctxd_mb_destroy(struct ctxd_mb *mb);

/* Called after a write changed `file` of the bank `dir` (new content on disk, recorded as
 * history version `version`, 0 when history is off or failed), with the `ud` given to
 * ctxd_mb_on_change. Runs on the writing thread (a pool worker), after the bank's lock is
 * released; must be thread-safe and must not call back into the bank's write path. */
typedef void (*ctxd_mb_change_fn)(void *ud, const struct ctxd_mb_dir *dir, const char *file,
				  long version);

/* Register the upper layer's change callback (NULL `fn`: none). Loop thread, before the
 * first write (not synchronised with writers). */
void ctxd_mb_on_change(struct ctxd_mb *mb, ctxd_mb_change_fn fn, void *ud);

/* Report a change of `file` in `dir` to the registered callback, if any (the write path in
 * src/mb_history.c calls it). Any thread. */
void ctxd_mb_changed(const struct ctxd_mb *mb, const struct ctxd_mb_dir *dir, const char *file,
		     long version);

/* The configuration the bank was created with (borrowed). */
const struct ctxd_config *ctxd_mb_config(const struct ctxd_mb *mb);

/* memory_bank.history: versions kept per file. */
unsigned ctxd_mb_history_max(const struct ctxd_mb *mb);

/* memory_bank.multi_project: one bank per project. */
bool ctxd_mb_multi(const struct ctxd_mb *mb);

/* The bank's search indexes (owned by the bank; see mb_search.h). */
struct ctxd_mb_search *ctxd_mb_index(struct ctxd_mb *mb);

/* Open the bank of `project` (NULL = the default project; in multi-project mode a project
 * is required) through `sb`, the sandbox of the current call (the client's roots may have
 * narrowed the configured ones; NULL = the sandbox given at create). With `create`,
 * missing directories are created (refused on read-only roots with EROFS). Returns 0, or
 * -1 with err set (a message naming the argument or the path; sys_errno ENOENT when the
 * bank does not exist yet). Thread-safe. */
int ctxd_mb_open(struct ctxd_mb *mb, const struct ctxd_sandbox *sb, const char *project,
		 bool create, struct ctxd_mb_dir *dir, struct ctxd_error *err);

/* Names of the projects (multi mode: subdirectories of the bank root with safe names;
 * single mode: ["default"]), looked up through `sb` (as for ctxd_mb_open). Returns a new
 * array of strings, or NULL with err set. */
json_t *ctxd_mb_projects(struct ctxd_mb *mb, const struct ctxd_sandbox *sb, struct ctxd_error *err);

/* The six core files in their standard order, and the "##" sections their templates
 * define (NULL-terminated lists; NULL for a file that is not a core file). */
#define CTXD_MB_CORE_COUNT 6
extern const char *const ctxd_mb_core[CTXD_MB_CORE_COUNT];
const char *const *ctxd_mb_core_sections(const char *file);

/* The index of core file `file` in ctxd_mb_core, or -1. */
int ctxd_mb_core_index(const char *file);

/* The template text of core file `file` (static), or NULL when it is not a core file.
 * Thread-safe. */
const char *ctxd_mb_template(const char *file);

#endif
