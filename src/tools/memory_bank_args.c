/* tools/memory_bank_args.c - argument checks shared by every memory_bank_* tool: control
 * characters, bank file names, opening the bank a `project` argument names, heading
 * arguments and finding a section by its heading.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctxd/mb_store.h"
#include "memory_bank_priv.h"

/* The first NUL or control character in string `v` that `what` may not hold: none at all in
 * a name (file, files, project), only tab in other text (heading, section, query); SIZE_MAX
 * when there is none. json_string_value() ends at a NUL, so without this check
 * "nul.md\u0000.txt" would act on "nul.md". */
static size_t bad_char(json_t *v, bool name)
{
	const unsigned char *p = (const unsigned char *)json_string_value(v);
	size_t n = json_string_length(v);
	for (size_t i = 0; i < n; i++) {
		if ((p[i] < 0x20 && (name || p[i] != '\t')) || p[i] == 0x7f) {
			return i;
		}
	}
	return SIZE_MAX;
}

static json_t *bad_char_error(const char *key, size_t item, json_t *v, size_t at)
{
	unsigned char c = (unsigned char)json_string_value(v)[at];
	char where[48] = "";
	if (item != SIZE_MAX) {
		snprintf(where, sizeof(where), " item %zu", item);
	}
	return ctxd_tool_error("argument '%s'%s contains %s (0x%02x at byte %zu); give %s without "
			       "control characters",
			       key, where, c ? "a control character" : "a NUL byte", c, at,
			       strcmp(key, "heading") == 0 || strcmp(key, "section") == 0
				   ? "the heading's text"
			       : strcmp(key, "query") == 0 ? "the words to look for"
							   : "the name");
}

json_t *ctxd_memory_bank_check_chars(json_t *args)
{
	const char *key;
	json_t *v;
	json_object_foreach(args, key, v)
	{
		bool name = strcmp(key, "file") == 0 || strcmp(key, "project") == 0;
		size_t at;
		if (json_is_string(v) && strcmp(key, "content") != 0 &&
		    (at = bad_char(v, name)) != SIZE_MAX) {
			return bad_char_error(key, SIZE_MAX, v, at);
		}
		size_t i;
		json_t *item;
		json_array_foreach(strcmp(key, "files") == 0 ? v : NULL, i, item)
		{
			if (json_is_string(item) && (at = bad_char(item, true)) != SIZE_MAX) {
				return bad_char_error(key, i, item, at);
			}
		}
	}
	return NULL;
}

json_t *ctxd_memory_bank_open_arg(const struct ctxd_tool_ctx *ctx, json_t *args, bool create,
				  struct ctxd_mb_dir *dir)
{
	struct ctxd_error err = {0};
	if (ctxd_mb_open(ctx->ud, ctx->sandbox, str_arg(args, "project"), create, dir, &err)) {
		return fail_err(&err);
	}
	return NULL;
}

json_t *ctxd_memory_bank_begin(const struct ctxd_tool_ctx *ctx, json_t *args, bool create,
			       struct ctxd_mb_dir *dir)
{
	json_t *bad = ctxd_memory_bank_check_chars(args);
	return bad ? bad : ctxd_memory_bank_open_arg(ctx, args, create, dir);
}

json_t *ctxd_memory_bank_check_file(const char *file)
{
	if (!ctxd_mb_file_ok(file)) {
		return ctxd_tool_error(
		    "argument 'file': '%.200s' is not a bank file name (letters, "
		    "digits, '.', '_', '-', ending in .md, no leading dot; no "
		    "directories)",
		    file);
	}
	return NULL;
}

json_t *ctxd_memory_bank_file_args(json_t *args, const char **file)
{
	json_t *bad = ctxd_memory_bank_check_chars(args);
	if (bad) {
		return bad;
	}
	*file = str_arg(args, "file");
	return ctxd_memory_bank_check_file(*file);
}

void ctxd_memory_bank_heading_arg(const char *h, const char **s, size_t *n)
{
	size_t a = 0, e = strlen(h);
	while (a < e && (h[a] == ' ' || h[a] == '\t')) {
		a++;
	}
	size_t hs = a;
	while (a < e && h[a] == '#') {
		a++;
	}
	if (a > hs && a < e && (h[a] == ' ' || h[a] == '\t')) {
		while (a < e && (h[a] == ' ' || h[a] == '\t')) {
			a++;
		}
	} else {
		a = hs;
	}
	while (e > a && (h[e - 1] == ' ' || h[e - 1] == '\t')) {
		e--;
	}
	*s = h + a;
	*n = e - a;
}

long ctxd_memory_bank_find_section(const char *buf, const struct ctxd_md_section *secs, size_t n,
				   const char *heading, struct ctxd_strbuf *names)
{
	const char *h;
	size_t hl;
	ctxd_memory_bank_heading_arg(heading, &h, &hl);
	for (size_t i = 0; i < n; i++) {
		if (secs[i].title_len == hl && memcmp(buf + secs[i].title, h, hl) == 0) {
			return (long)i;
		}
	}
	for (size_t i = 0; names && i < n && i < 40; i++) {
		ctxd_strbuf_printf(names, "%s'%.*s'", i ? ", " : "",
				   (int)(secs[i].title_len > 100 ? 100 : secs[i].title_len),
				   buf + secs[i].title);
	}
	return -1;
}
