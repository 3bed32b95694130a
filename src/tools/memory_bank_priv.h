/* memory_bank_priv.h - helpers shared by the memory bank's tool sources: the argument checks
 * of memory_bank_args.c, used by memory_bank.c and memory_bank_read.c, and the reading
 * handlers of memory_bank_read.c that memory_bank.c's tool table points at (the arrows run
 * one way: memory_bank.c -> memory_bank_read.c -> memory_bank_args.c). Internal to
 * src/tools; not part of the API. Everything here is thread-safe (no shared state).
 */
#ifndef CTXD_MEMORY_BANK_PRIV_H
#define CTXD_MEMORY_BANK_PRIV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "ctxd/mb_files.h"
#include "ctxd/md_sections.h"
#include "ctxd/registry.h"
#include "ctxd/strbuf.h"

/* A string argument (borrowed), or NULL when absent or not a string. */
static inline const char *str_arg(json_t *args, const char *key)
{
	return json_string_value(json_object_get(args, key));
}

/* An isError result saying err->msg. */
static inline json_t *fail_err(const struct ctxd_error *err)
{
	return ctxd_tool_error("%s", err->msg);
}

/* `t` as ISO-8601 UTC ("2026-01-02T03:04:05Z") into `out`. */
static inline void iso_time(time_t t, char out[32])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- memory_bank_args.c ---- */

/* Refuse, in every bank tool, string arguments holding NUL or control characters: names
 * (file, files, project) may hold none, other text none but tab. `content` is the file's
 * text and is written as given. Returns an isError result, or NULL when all are clean. */
json_t *ctxd_memory_bank_check_chars(json_t *args);

/* Open the bank named by the `project` argument (ctx->ud is the bank, ctx->sandbox the
 * call's sandbox) into `dir` (close dir->fd). Returns an isError result, or NULL. */
json_t *ctxd_memory_bank_open_arg(const struct ctxd_tool_ctx *ctx, json_t *args, bool create,
				  struct ctxd_mb_dir *dir);

/* ctxd_memory_bank_check_chars, then ctxd_memory_bank_open_arg: for the tools that check
 * nothing else before opening the bank. Returns an isError result, or NULL with `dir` open. */
json_t *ctxd_memory_bank_begin(const struct ctxd_tool_ctx *ctx, json_t *args, bool create,
			       struct ctxd_mb_dir *dir);

/* An isError result when `file` is not a bank file name, else NULL. */
json_t *ctxd_memory_bank_check_file(const char *file);

/* The checks of a tool acting on one bank file: ctxd_memory_bank_check_chars, then the
 * `file` argument (into *file, borrowed from `args`) by ctxd_memory_bank_check_file.
 * Returns an isError result, or NULL. */
json_t *ctxd_memory_bank_file_args(json_t *args, const char **file);

/* Trim a heading argument to [*s, *s + *n): blanks around, and '#' marks an agent may have
 * included. */
void ctxd_memory_bank_heading_arg(const char *h, const char **s, size_t *n);

/* Index of the first of the `n` sections `secs` of `buf` titled `heading` (trimmed as by
 * ctxd_memory_bank_heading_arg), or -1; then the headings are listed in `names` (may be
 * NULL). */
long ctxd_memory_bank_find_section(const char *buf, const struct ctxd_md_section *secs, size_t n,
				   const char *heading, struct ctxd_strbuf *names);

/* The memory_bank_list and memory_bank_read handlers (src/tools/memory_bank_read.c). */
json_t *ctxd_memory_bank_list(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_memory_bank_read(const struct ctxd_tool_ctx *ctx, json_t *args);

#endif
