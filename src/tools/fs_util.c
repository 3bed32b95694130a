/* fs_util.c - helpers every file tool shares: isError results (made valid UTF-8, invalid
 * sequences as U+FFFD), the path argument, the entry limit, binary detection, the depth-cut
 * report. Calls nothing else of the file tools.
 */
#include "ctxd/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/json_write.h"
#include "ctxd/provider.h"
#include "ctxd/sandbox.h"
#include "ctxd/utf8.h"
#include "fs_priv.h"
#include "fs_pwalk.h"
#include "fs_walk.h"
#include "schemas/schemas.h"

/* ---- small helpers ---------------------------------------------------------------- */

/* An isError result; the message is made valid UTF-8 (a long path may be cut mid-way). */
json_t *ctxd_fs_fail(const char *fmt, ...)
{
	char msg[1900];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)n;
	struct ctxd_strbuf b = {0};
	ctxd_utf8_repair(&b, msg, ctxd_utf8_trim(msg, len));
	json_t *r = b.oom ? NULL : ctxd_tool_error("%s", b.p ? b.p : "");
	free(b.p);
	return r;
}

void ctxd_fs_report_depth_cut(struct ctxd_strbuf *t, json_t *why, size_t too_deep)
{
	if (too_deep == 0) {
		return;
	}
	ctxd_strbuf_printf(t,
			   "(%zu entries lie deeper than the %d-byte path limit and were not "
			   "reached: start from a deeper directory to see them)\n",
			   too_deep, CTXD_PATH_MAX);
	if (why) {
		json_array_append_new(why, json_string("depth"));
	}
}

bool ctxd_fs_get_path(json_t *args, const char **p, size_t *len)
{
	json_t *j = json_object_get(args, "path");
	if (!json_is_string(j)) {
		return false;
	}
	*p = json_string_value(j);
	*len = json_string_length(j);
	return true;
}

size_t ctxd_fs_cfg_entries(const struct ctxd_tool_ctx *ctx)
{
	return ctx->cfg && ctx->cfg->max_entries ? ctx->cfg->max_entries : FS_DEFAULT_ENTRIES;
}

bool ctxd_fs_looks_binary(const char *p, size_t n)
{
	return memchr(p, '\0', n) != NULL;
}

/* Add a text block to a CallToolResult's content array. */
void ctxd_fs_add_text_block(json_t *result, const char *text)
{
	json_t *content = json_object_get(result, "content");
	json_t *t = json_string(text);
	if (content && t) {
		json_array_append_new(content, json_pack("{s:s, s:o}", "type", "text", "text", t));
	} else {
		json_decref(t);
	}
}

bool ctxd_fs_int_arg(json_t *args, const char *key, size_t *v)
{
	json_t *j = json_object_get(args, key);
	if (!json_is_integer(j)) {
		return false;
	}
	json_int_t x = json_integer_value(j);
	*v = x < 0 ? 0 : (size_t)x;
	return true;
}

/* The isError result for a directory argument ctxd_sandbox_open refused with `err` (a file
 * given where a directory was wanted is said so). */
static json_t *open_dir_failed(const char *path, const struct ctxd_error *err)
{
	if (err->sys_errno == ENOTDIR) {
		return ctxd_fs_fail(
		    "'%s' is not a directory; use read_text_file or get_file_info for a "
		    "file",
		    path);
	}
	return ctxd_fs_fail("%s", err->msg);
}

json_t *ctxd_fs_open_path(const struct ctxd_tool_ctx *ctx, const char *path, size_t len, int flags,
			  unsigned opts, int *fd, struct ctxd_sandbox_loc *loc)
{
	struct ctxd_error err = {0};
	*fd = ctxd_sandbox_open(ctx->sandbox, path, len, flags, 0,
				(opts & CTXD_FS_ARG_NOFOLLOW) != 0, loc, &err);
	if (*fd >= 0) {
		return NULL;
	}
	if (opts & CTXD_FS_ARG_DIR_HINT) {
		return open_dir_failed(path, &err);
	}
	if ((opts & CTXD_FS_ARG_FILE_HINT) && err.sys_errno == EISDIR) {
		return ctxd_fs_fail("'%s' is a directory, not a file; use list_directory to see "
				    "its entries",
				    path);
	}
	return ctxd_fs_fail("%s", err.msg);
}

json_t *ctxd_fs_open_arg(const struct ctxd_tool_ctx *ctx, json_t *args, int flags, unsigned opts,
			 struct ctxd_fs_arg *a)
{
	a->fd = -1;
	if (!ctxd_fs_get_path(args, &a->path, &a->len)) {
		return ctxd_fs_fail("argument 'path' is required");
	}
	return ctxd_fs_open_path(ctx, a->path, a->len, flags, opts, &a->fd, &a->loc);
}
