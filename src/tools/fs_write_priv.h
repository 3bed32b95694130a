/* fs_write_priv.h - what the writing tool sources share: fs_write.c's locking and targets
 * (used by fs_edit.c and fs_ops.c) and fs_diff.c's line tables and unified diff (used by
 * fs_edit.c).
 * Internal to src/tools; not part of the API. Worker threads; no shared state.
 */
#ifndef CTXD_FS_WRITE_PRIV_H
#define CTXD_FS_WRITE_PRIV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctxd/fsutil.h"
#include "ctxd/registry.h"
#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"

/* Take the write lock of the directory `dfd` (ctxd_dir_lock): NULL, or an error result. */
json_t *ctxd_fs_lock_dir(int dfd, const struct ctxd_sandbox_loc *loc, struct ctxd_dir_lock *lk);

/* The hard-link policy (sandbox.hardlinks) for the entry `name` in `dfd`: NULL, or an error
 * result. */
json_t *ctxd_fs_refuse_hardlink(int dfd, const char *name, const struct ctxd_sandbox_loc *loc);

/* Why a write to `loc` is refused (a read-only root), or NULL when allowed. */
json_t *ctxd_fs_refuse_read_only(const struct ctxd_sandbox_loc *loc);

/* The error result for a `path` (argument `what`) the sandbox could not locate. */
json_t *ctxd_fs_locate_failed(const char *what, const char *path, const struct ctxd_error *err);

/* The directory fd and final name a content write to `path` should change. A final symlink
 * is followed while its target stays inside a root; otherwise the call fails. `loc`
 * describes the final target. Returns the fd (caller closes) or -1 with *res set to an
 * error result. */
int ctxd_fs_write_target(const struct ctxd_tool_ctx *ctx, const char *path, size_t plen,
			 char name[CTXD_PATH_MAX], struct ctxd_sandbox_loc *loc, json_t **res);

/* The `path` and `content` arguments of a content write (write_file, append_file) and its
 * target (ctxd_fs_write_target), refused on a read-only root, its directory locked
 * (ctxd_fs_lock_dir). Returns the directory fd (caller closes it after releasing `lk`) with
 * *content (borrowed from `args`), *clen, `name` and `loc` filled, or -1 with *res set to an
 * error result (nothing left open or locked). */
int ctxd_fs_content_target(const struct ctxd_tool_ctx *ctx, json_t *args, const char **content,
			   size_t *clen, char name[CTXD_PATH_MAX], struct ctxd_sandbox_loc *loc,
			   struct ctxd_dir_lock *lk, json_t **res);

/* Read the regular file `name` in `dfd` (not following a symlink). Returns 0 with *buf
 * (caller frees) / *len / *mode, 1 when it does not exist, or -1 with *res set. */
int ctxd_fs_read_existing(int dfd, const char *name, const struct ctxd_sandbox_loc *loc, char **buf,
			  size_t *len, mode_t *mode, json_t **res);

/* Compare `expected` (hex sha256, may be NULL = no check) with the sha256 of the current
 * content (`exists` false = missing file): NULL when it matches, else an error result. */
json_t *ctxd_fs_check_sha(const char *expected, const char *data, size_t len, bool exists,
			  const struct ctxd_sandbox_loc *loc);

/* What a cancelled edit's steps return (besides 0 and -1 for ENOMEM). */
#define CANCELLED (-2)

/* Line table of a text: start[i] is where line i begins, end[i] where it ends (before the
 * '\n'); n lines (a final newline does not open an empty last line). */
struct lines {
	size_t *start;
	size_t *end;
	size_t n;
};

/* Fill `L` with the lines of s[0..len). Returns 0, or -1 on ENOMEM (free L anyway). */
int ctxd_fs_split_lines(const char *s, size_t len, struct lines *L);

/* Free the tables of `L`. */
void ctxd_fs_lines_free(struct lines *L);

/* Unified diff of two texts (labelled `name`) into `o`; empty when equal. Returns 0, -1 on
 * ENOMEM, or CANCELLED when `job` was cancelled. */
int ctxd_fs_unified_diff(const char *name, const char *s1, size_t l1, const char *s2, size_t l2,
			 const struct ctxd_job *job, struct ctxd_strbuf *o);

/* The optional string argument `key` (borrowed) and its length, or NULL when absent. */
const char *ctxd_fs_opt_str(json_t *args, const char *key, size_t *len);

#endif
