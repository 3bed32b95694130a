/* mb_history.h - the memory bank's write transaction and file history (src/mb_history.c).
 *
 * Every write takes an exclusive flock on <bank>/.history/.lock, re-checks the caller's
 * expected sha256 under the lock, replaces the file atomically (ctxd_atomic_write) and
 * records the new content as a version under <bank>/.history/<file>/<n>.md (the last
 * memory_bank.history kept; n counts from 1 and is never reused). <bank>/.history/.gitignore
 * ("*", written when missing) keeps the lock and history out of git. A bank whose lock is
 * still <bank>/.lock (older ctxd) is migrated on its next write. After a write that changed
 * the file, the bank's change callback (ctxd_mb_on_change) is called.
 */
#ifndef CTXD_MB_HISTORY_H
#define CTXD_MB_HISTORY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/error.h"
#include "ctxd/mb_files.h"
#include "ctxd/mb_store.h"

/* A change computed under the lock: given the current content (`cur`, `len`; cur NULL
 * when the file does not exist), produce the new content in *out (malloc'd; the
 * transaction frees it) or return -1 with err set (nothing is written). */
typedef int (*ctxd_mb_edit_fn)(void *arg, const char *cur, size_t len, char **out, size_t *out_len,
			       struct ctxd_error *err);

/* What a successful edit did. */
struct ctxd_mb_result {
	char sha256[65];     /* of the new content */
	char old_sha256[65]; /* of the previous content, "" when the file was created */
	size_t size;
	long version;   /* history version recorded (0 when history is disabled) */
	bool unchanged; /* the new content equals the old: nothing written */
};

/* The write transaction: flock(<bank>/.history/.lock, LOCK_EX); read `file`; when `expected` is
 * non-NULL compare it with the current sha256 (missing file: only "" matches) and fail
 * with err->kind CTXD_ERR_PRECONDITION and `cur_sha` (65 bytes, may be NULL) filled with
 * the current one ("" when the file does not exist); run `fn`;
 * atomically replace the file; record history (a changed on-disk version not yet in the
 * history is recorded first, so external edits are kept too); unlock; report the change
 * (ctxd_mb_on_change) unless nothing changed. Refused on a read-only root. Returns 0 with
 * `res` filled, or -1 with err set. Worker thread; serialises with every other writer of
 * the bank, in any process. */
int ctxd_mb_edit(struct ctxd_mb *mb, const struct ctxd_mb_dir *dir, const char *file,
		 const char *expected, ctxd_mb_edit_fn fn, void *arg, struct ctxd_mb_result *res,
		 char *cur_sha, struct ctxd_error *err);

/* History of `file`: a new array [{version, time (ISO-8601 UTC), size, sha256, added,
 * removed}] oldest first (added/removed: lines versus the previous kept version). NULL
 * with err set on failure; an empty array when there is none. Any thread. */
json_t *ctxd_mb_history(const struct ctxd_mb_dir *dir, const char *file, struct ctxd_error *err);

/* Read version `version` of `file` from the history. Returns 0 with *out and *len (malloc'd)
 * or -1 with err set (sys_errno ENOENT for an unknown version). Any thread. */
int ctxd_mb_version(const struct ctxd_mb_dir *dir, const char *file, long version, char **out,
		    size_t *len, struct ctxd_error *err);

#endif
