/* fs_util.c - helpers every file tool shares: UTF-8 repair of text from disk (invalid
 * sequences become U+FFFD, so a stray Latin-1 byte never turns into a protocol error),
 * isError results, the path argument, the entry limit, binary detection, the depth-cut
 * report. Calls nothing else of the file tools.
 */
#include "ctxd/tools_fs.h"

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
#include "fs_priv.h"
#include "fs_pwalk.h"
#include "fs_walk.h"
#include "schemas/schemas.h"

/* ---- small helpers ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid or cut short. */
size_t fs_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		return 1;
	}
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0) {
			lo = 0xA0;
		} else if (c == 0xED) {
			hi = 0x9F;
		}
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0) {
			lo = 0x90;
		} else if (c == 0xF4) {
			hi = 0x8F;
		}
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			return 0;
		}
	}
	return len;
}

/* Offset of the first invalid UTF-8 byte, or SIZE_MAX. ASCII runs are skipped eight bytes
 * at a time (file text is mostly ASCII). */
size_t fs_utf8_invalid_at(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		uint64_t w;
		if (i + 8 <= n && (memcpy(&w, u + i, 8), (w & 0x8080808080808080ULL) == 0)) {
			i += 8;
			continue;
		}
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = fs_utf8_seq(u + i, n - i);
		if (k == 0) {
			return i;
		}
		i += k;
	}
	return SIZE_MAX;
}

json_t *fs_text(const char *s, size_t len)
{
	/* checked here, faster than jansson's byte-by-byte check, which is then skipped */
	if (fs_utf8_invalid_at(s, len) == SIZE_MAX) {
		return json_stringn_nocheck(s, len);
	}
	json_t *j;
	/* Worst case every byte becomes the 3-byte replacement character. */
	if (len > (SIZE_MAX - 1) / 3) {
		return NULL;
	}
	char *o = malloc(len * 3 + 1);
	if (!o) {
		return NULL;
	}
	size_t w = 0;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t k = fs_utf8_seq(u + i, len - i);
		if (k == 0) {
			memcpy(o + w, "\xEF\xBF\xBD", 3);
			w += 3;
			i++;
		} else {
			memcpy(o + w, u + i, k);
			w += k;
			i += k;
		}
	}
	j = json_stringn_nocheck(o, w); /* valid UTF-8 by construction */
	free(o);
	return j;
}

/* Largest prefix length <= n of s that does not end inside a UTF-8 sequence. */
size_t fs_utf8_trim(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = n;
	size_t back = 0;
	while (i > 0 && back < 4 && (u[i - 1] & 0xC0) == 0x80) {
		i--;
		back++;
	}
	if (i == 0 || u[i - 1] < 0xC0) {
		return n;
	}
	/* u[i-1] is a lead byte: keep it only when its sequence is complete. */
	size_t need = u[i - 1] >= 0xF0 ? 4 : u[i - 1] >= 0xE0 ? 3 : 2;
	return back + 1 >= need ? n : i - 1;
}

/* An isError result; the message is made valid UTF-8 (a long path may be cut mid-way). */
json_t *fs_fail(const char *fmt, ...)
{
	char msg[1900];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)n;
	len = fs_utf8_trim(msg, len);
	msg[len] = '\0';
	unsigned char *u = (unsigned char *)msg;
	for (size_t i = 0; i < len;) {
		size_t k = fs_utf8_seq(u + i, len - i);
		if (k == 0) {
			u[i++] = '?';
		} else {
			i += k;
		}
	}
	return ctxd_tool_error("%s", msg);
}

void fs_report_depth_cut(struct ctxd_strbuf *t, json_t *why, size_t too_deep)
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

bool fs_get_path(json_t *args, const char **p, size_t *len)
{
	json_t *j = json_object_get(args, "path");
	if (!json_is_string(j)) {
		return false;
	}
	*p = json_string_value(j);
	*len = json_string_length(j);
	return true;
}

size_t fs_cfg_entries(const struct ctxd_tool_ctx *ctx)
{
	return ctx->cfg && ctx->cfg->max_entries ? ctx->cfg->max_entries : FS_DEFAULT_ENTRIES;
}

bool fs_looks_binary(const char *p, size_t n)
{
	return memchr(p, '\0', n) != NULL;
}

/* Add a text block to a CallToolResult's content array. */
void fs_add_text_block(json_t *result, const char *text)
{
	json_t *content = json_object_get(result, "content");
	json_t *t = json_string(text);
	if (content && t) {
		json_array_append_new(content, json_pack("{s:s, s:o}", "type", "text", "text", t));
	} else {
		json_decref(t);
	}
}

bool fs_int_arg(json_t *args, const char *key, size_t *v)
{
	json_t *j = json_object_get(args, key);
	if (!json_is_integer(j)) {
		return false;
	}
	json_int_t x = json_integer_value(j);
	*v = x < 0 ? 0 : (size_t)x;
	return true;
}

json_t *fs_open_dir_failed(const char *path, const struct ctxd_error *err)
{
	if (err->sys_errno == ENOTDIR) {
		return fs_fail("'%s' is not a directory; use read_text_file or get_file_info for a "
		            "file",
		            path);
	}
	return fs_fail("%s", err->msg);
}
