/* fs_priv.h - helpers shared by the file tool sources (fs_util.c and the sources that use
 * it) and the handlers fs.c's tool table points at. Internal to src/tools; not part of the API.
 * Everything here is thread-safe (no shared state).
 */
#ifndef CTXD_FS_PRIV_H
#define CTXD_FS_PRIV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctxd/registry.h"
#include "ctxd/strbuf.h"
#include "ctxd/utf8.h"

#define FS_DEFAULT_ENTRIES 10000u
#define FS_BINARY_PROBE    8192u

/* Append a text content block holding `text` to the CallToolResult `result`. */
void ctxd_fs_add_text_block(json_t *result, const char *text);

/* An isError CallToolResult with a printf-style message made valid UTF-8. New reference. */
json_t *ctxd_fs_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Expand the {a,b} alternatives of a glob (nested, backslash escapes), calling `emit` for
 * each result; at most *budget results (-ERANGE past it). Returns 0, -ENOMEM, -ERANGE or
 * what `emit` returned when negative. */
int ctxd_fs_brace_expand(const char *pat, size_t *budget,
			 int (*emit)(void *ud, const char *p, size_t len), void *ud);

/* When `too_deep` > 0 (entries a walk skipped because their path exceeded CTXD_PATH_MAX),
 * append a line saying so to `t` and "depth" to the `why` array (truncatedReasons; may be
 * NULL). */
void ctxd_fs_report_depth_cut(struct ctxd_strbuf *t, json_t *why, size_t too_deep);

/* The compiled ignore files cache of the family state `ud` (ctxd_fs_family). */
struct ctxd_fs_ignore_cache *ctxd_fs_family_ignore_cache(void *ud);

/* The "path" string argument (borrowed) and its JSON length. False when absent. */
bool ctxd_fs_get_path(json_t *args, const char **p, size_t *len);

/* The integer argument `key` of `args` into *v (negative values as 0). False when absent or
 * not an integer. */
bool ctxd_fs_int_arg(json_t *args, const char *key, size_t *v);

/* How ctxd_fs_open_arg opens the argument and words a refusal. */
enum {
	CTXD_FS_ARG_NOFOLLOW = 1u << 0,  /* a final symlink is opened itself (with O_PATH) */
	CTXD_FS_ARG_DIR_HINT = 1u << 1,  /* a file where a directory was wanted: say so */
	CTXD_FS_ARG_FILE_HINT = 1u << 2, /* a directory where a file was wanted: say so */
};

/* A file tool's `path` argument, opened through the call's sandbox. */
struct ctxd_fs_arg {
	const char *path; /* the argument as given (borrowed from the arguments) */
	size_t len;       /* its JSON length */
	int fd;           /* the caller closes it */
	struct ctxd_sandbox_loc loc;
};

/* Open `path` (`len` bytes, as the client gave it) through the call's sandbox with `flags`
 * (ctxd_sandbox_open; `opts`: CTXD_FS_ARG_* bits) into *fd and *loc. Returns NULL, or an
 * isError result with nothing left open: the sandbox's refusal, or the hint `opts` asks
 * for. Worker thread. */
json_t *ctxd_fs_open_path(const struct ctxd_tool_ctx *ctx, const char *path, size_t len, int flags,
			  unsigned opts, int *fd, struct ctxd_sandbox_loc *loc);

/* ctxd_fs_open_path for the `path` argument of `args`, into *a; also an isError result when
 * the argument is missing. Worker thread. */
json_t *ctxd_fs_open_arg(const struct ctxd_tool_ctx *ctx, json_t *args, int flags, unsigned opts,
			 struct ctxd_fs_arg *a);

/* The configured entry cap (limits.entries), or the default without a config. */
size_t ctxd_fs_cfg_entries(const struct ctxd_tool_ctx *ctx);

/* pread until `n` bytes or EOF; returns bytes read or -1 with errno set. */
ssize_t ctxd_fs_pread_full(int fd, char *buf, size_t n, off_t off);

/* Number of '\n' bytes in p[0..n). */
size_t ctxd_fs_count_nl(const char *p, size_t n);

/* True when the first `n` bytes look binary (a NUL byte). */
bool ctxd_fs_looks_binary(const char *p, size_t n);

/* Test-only hook (NULL otherwise): read_text_file's loop-thread attempt calls it with the
 * opened file's fd between the fstat that sized the file and the one read of it, so a test
 * can change the file in that window. */
extern void (*ctxd_fs_nowait_test_hook)(int fd);

/* read_text_file (fs_text.c), reused by read_multiple_files. Worker thread. */
json_t *ctxd_fs_read_text_file(const struct ctxd_tool_ctx *ctx, json_t *args);

/* list_directory, get_file_info, list_allowed_directories (fs_info.c) and search_files
 * (fs_search.c). Worker thread. */
json_t *ctxd_fs_list_directory(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_get_file_info(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_list_allowed_directories(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_search_files(const struct ctxd_tool_ctx *ctx, json_t *args);

/* More reading tools (fs_read.c). Worker thread. */
json_t *ctxd_fs_read_media_file(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_read_multiple_files(const struct ctxd_tool_ctx *ctx, json_t *args);
/* list_directory's answer with `sizes` (or sortBy size): entries with sizes, and totals. */
json_t *ctxd_fs_list_with_sizes(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_directory_tree(const struct ctxd_tool_ctx *ctx, json_t *args);

/* MIME type of a file from its first bytes (`n` of them) and its name; NULL when neither
 * tells. Static strings. */
const char *ctxd_fs_sniff_mime(const unsigned char *p, size_t n, const char *name);

/* Base64 of p[0..n) as a new JSON string (NULL on ENOMEM). */
json_t *ctxd_fs_base64(const unsigned char *p, size_t n);

/* Writing tools (fs_write.c). Worker thread. */
json_t *ctxd_fs_write_file(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_edit_file(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_append_file(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_copy_file(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_move_file(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_delete_file(const struct ctxd_tool_ctx *ctx, json_t *args);
json_t *ctxd_fs_create_directory(const struct ctxd_tool_ctx *ctx, json_t *args);

/* Content search (grep.c). Worker thread. */
json_t *ctxd_fs_grep(const struct ctxd_tool_ctx *ctx, json_t *args);

#endif
