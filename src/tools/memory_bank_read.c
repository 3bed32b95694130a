/* tools/memory_bank_read.c - the memory bank's reading tools: memory_bank_list (files,
 * sizes, headings, missing core files) and memory_bank_read (whole files, one section, or a
 * window of lines, within limits.read_bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/mb_store.h"
#include "ctxd/utf8.h"
#include "memory_bank_priv.h"

/* ---- memory_bank_list -------------------------------------------------------------- */

static json_t *headings_json(const char *buf, size_t len)
{
	struct ctxd_md_section *s;
	size_t n;
	json_t *a = json_array();
	if (!a || ctxd_md_sections(buf, len, &s, &n)) {
		return a;
	}
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(a, json_pack("{s:i, s:o, s:I}", "level", s[i].level, "text",
						   ctxd_utf8_json(buf + s[i].title, s[i].title_len),
						   "line", (json_int_t)s[i].line));
	}
	free(s);
	return a;
}

json_t *ctxd_memory_bank_list(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_mb_dir dir;
	json_t *e = ctxd_memory_bank_begin(ctx, args, false, &dir);
	if (e) {
		return e;
	}
	struct ctxd_error err = {0};
	json_t *names = ctxd_mb_files(dir.fd, &err);
	if (!names) {
		close(dir.fd);
		return fail_err(&err);
	}
	json_t *files = json_array(), *missing = json_array();
	struct ctxd_strbuf t = {0};
	ctxd_strbuf_printf(&t, "memory bank '%s' (project %s):\n", dir.abs, dir.project);
	size_t k;
	json_t *v;
	json_array_foreach(names, k, v)
	{
		const char *f = json_string_value(v);
		char *data;
		size_t len;
		struct stat st;
		if (fstatat(dir.fd, f, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    ctxd_mb_read_file(dir.fd, f, &data, &len) < 0) {
			continue;
		}
		char sha[65], ts[32];
		ctxd_sha256_hex(data, len, sha);
		iso_time(st.st_mtim.tv_sec, ts);
		json_t *h = headings_json(data, len);
		ctxd_strbuf_printf(&t, "  %s  %zu bytes  %s  %zu headings  sha256 %s\n", f, len, ts,
				   json_array_size(h), sha);
		json_array_append_new(files, json_pack("{s:s, s:I, s:s, s:s, s:o}", "file", f,
						       "size", (json_int_t)len, "mtime", ts,
						       "sha256", sha, "headings", h));
		free(data);
	}
	for (int i = 0; i < CTXD_MB_CORE_COUNT; i++) {
		bool have = false;
		json_array_foreach(names, k, v)
		{
			have = have || strcmp(json_string_value(v), ctxd_mb_core[i]) == 0;
		}
		if (!have) {
			json_array_append_new(missing, json_string(ctxd_mb_core[i]));
		}
	}
	if (json_array_size(missing)) {
		ctxd_strbuf_str(&t, "missing core files:");
		json_array_foreach(missing, k, v)
		{
			ctxd_strbuf_printf(&t, " %s", json_string_value(v));
		}
		ctxd_strbuf_str(&t, " (memory_bank_init creates them)\n");
	}
	json_t *res = ctxd_tool_result(
	    t.p ? t.p : "", json_pack("{s:s, s:s, s:o, s:o}", "bank", dir.abs, "project",
				      dir.project, "files", files, "missingCore", missing));
	free(t.p);
	json_decref(names);
	close(dir.fd);
	return res;
}

/* ---- memory_bank_read -------------------------------------------------------------- */

struct read_opts {
	const char *section;
	size_t offset, limit; /* offset 1-based; limit 0 = all */
	bool has_limit;
	size_t cap; /* bytes left */
};

/* One file's entry, or NULL with *why set (missing file or section). */
static json_t *read_one(const struct ctxd_mb_dir *dir, const char *f, struct read_opts *o,
			struct ctxd_strbuf *why, bool *oom)
{
	char *data;
	size_t len;
	if (ctxd_mb_read_file(dir->fd, f, &data, &len) < 0) {
		char msg[400];
		ctxd_strbuf_str(why, ctxd_mb_read_error(dir->fd, f, errno, msg, sizeof(msg)));
		return NULL;
	}
	char sha[65];
	ctxd_sha256_hex(data, len, sha);
	size_t s = 0, e = len, first_line = 1;
	json_t *heading = NULL;
	if (o->section) {
		struct ctxd_md_section *secs;
		size_t n;
		if (ctxd_md_sections(data, len, &secs, &n)) {
			free(data);
			*oom = true;
			return NULL;
		}
		struct ctxd_strbuf names = {0};
		long i = ctxd_memory_bank_find_section(data, secs, n, o->section, &names);
		if (i < 0) {
			ctxd_strbuf_printf(why, "'%s' has no section '%.200s'; its headings: %s", f,
					   o->section, names.p ? names.p : "(none)");
			free(names.p);
			free(secs);
			free(data);
			return NULL;
		}
		free(names.p);
		s = secs[i].start;
		e = secs[i].end;
		first_line = secs[i].line;
		heading = ctxd_utf8_json(data + secs[i].title, secs[i].title_len);
		free(secs);
	}
	/* lines of [s, e) */
	size_t total = 0;
	for (size_t i = s; i < e; i++) {
		total += data[i] == '\n';
	}
	if (e > s && data[e - 1] != '\n') {
		total++;
	}
	size_t line = 1, p = s, from;
	while (line < o->offset && p < e) {
		const char *nl = memchr(data + p, '\n', e - p);
		p = nl ? (size_t)(nl - data) + 1 : e;
		line++;
	}
	from = p;
	size_t got = 0;
	bool truncated = false;
	while (p < e && (!o->has_limit || got < o->limit)) {
		const char *nl = memchr(data + p, '\n', e - p);
		size_t q = nl ? (size_t)(nl - data) + 1 : e;
		if (q - from > o->cap) {
			truncated = true;
			break;
		}
		p = q;
		got++;
	}
	o->cap -= p - from;
	size_t start_line = o->offset <= total ? o->offset : total + 1;
	json_t *j = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:b}", "file", f, "sha256", sha,
			      "content", ctxd_utf8_json(data + from, p - from), "totalLines",
			      (json_int_t)total, "startLine", (json_int_t)start_line, "endLine",
			      (json_int_t)(start_line + got - 1), "fileLine",
			      (json_int_t)(first_line + start_line - 1), "truncated", truncated);
	if (j && heading) {
		json_object_set_new(j, "heading", heading);
	} else {
		json_decref(heading);
	}
	if (j && truncated) {
		json_object_set_new(j, "nextOffset", json_integer((json_int_t)(start_line + got)));
	}
	free(data);
	if (!j) {
		*oom = true;
	}
	return j;
}

/* Check memory_bank_read's arguments into `o`, *file and *list. Returns an isError result,
 * or NULL when they are good. */
static json_t *read_args(const struct ctxd_tool_ctx *ctx, json_t *args, struct read_opts *o,
			 const char **file, json_t **list)
{
	*file = str_arg(args, "file");
	*list = json_object_get(args, "files");
	bool core = json_is_true(json_object_get(args, "core"));
	int sel = (*file != NULL) + (*list != NULL) + core;
	if (sel != 1) {
		return ctxd_tool_error(
		    "give exactly one of 'file', 'files' or 'core': true (got %d)", sel);
	}
	json_t *bad = *file ? ctxd_memory_bank_check_file(*file) : NULL;
	if (bad) {
		return bad;
	}
	size_t k;
	json_t *v;
	json_array_foreach(*list, k, v)
	{
		if (!json_is_string(v) || !ctxd_mb_file_ok(json_string_value(v))) {
			return ctxd_tool_error("argument 'files': item %zu is not a bank file name "
					       "(letters, digits, '.', '_', '-', ending in .md)",
					       k);
		}
	}
	*o = (struct read_opts){
	    .section = str_arg(args, "section"),
	    .offset = 1,
	    .cap = ctx->cfg->max_read_bytes,
	};
	json_t *jo = json_object_get(args, "offset"), *jl = json_object_get(args, "limit");
	if (jo) {
		if (json_integer_value(jo) < 1) {
			return ctxd_tool_error("argument 'offset' must be at least 1 (lines count "
					       "from 1)");
		}
		o->offset = (size_t)json_integer_value(jo);
	}
	if (jl) {
		o->has_limit = true;
		o->limit = json_integer_value(jl) < 0 ? 0 : (size_t)json_integer_value(jl);
	}
	return NULL;
}

/* Read the bank files `names` of `dir` into the tool's answer; `one_file`: a single file was
 * asked for, whose absence is the call's failure. NULL on ENOMEM. */
static json_t *read_files(const struct ctxd_mb_dir *dir, json_t *names, bool one_file,
			  struct read_opts *o)
{
	json_t *files = json_array(), *missing = json_array(), *res = NULL;
	struct ctxd_strbuf t = {0}, why = {0};
	bool oom = false;
	size_t k;
	json_t *v;
	json_array_foreach(names, k, v)
	{
		const char *f = json_string_value(v);
		why.len = 0;
		json_t *one = read_one(dir, f, o, &why, &oom);
		if (oom) {
			goto out;
		}
		if (!one) {
			if (one_file) {
				res = ctxd_tool_error("%s", why.p ? why.p : "cannot read");
				goto out;
			}
			json_array_append_new(missing, json_string(f));
			continue;
		}
		const char *h = json_string_value(json_object_get(one, "heading"));
		ctxd_strbuf_printf(
		    &t, "==> %s%s%s%s (sha256 %s, lines %lld-%lld of %lld%s) <==\n", f,
		    h ? " # " : "", h ? h : "", "",
		    json_string_value(json_object_get(one, "sha256")),
		    (long long)json_integer_value(json_object_get(one, "startLine")),
		    (long long)json_integer_value(json_object_get(one, "endLine")),
		    (long long)json_integer_value(json_object_get(one, "totalLines")),
		    json_is_true(json_object_get(one, "truncated")) ? ", truncated" : "");
		ctxd_strbuf_str(&t, json_string_value(json_object_get(one, "content")));
		if (t.len && t.p[t.len - 1] != '\n') {
			ctxd_strbuf_str(&t, "\n");
		}
		json_array_append_new(files, one);
	}
	if (json_array_size(missing)) {
		ctxd_strbuf_str(&t, o->section ? "without that section or missing:" : "missing:");
		json_array_foreach(missing, k, v)
		{
			ctxd_strbuf_printf(&t, " %s", json_string_value(v));
		}
		ctxd_strbuf_str(&t, "\n");
	}
	res = ctxd_tool_result(t.p ? t.p : "", json_pack("{s:s, s:O, s:O}", "project", dir->project,
							 "files", files, "missing", missing));
out:
	free(t.p);
	free(why.p);
	json_decref(files);
	json_decref(missing);
	return res;
}

json_t *ctxd_memory_bank_read(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	json_t *bad = ctxd_memory_bank_check_chars(args);
	if (bad) {
		return bad;
	}
	struct read_opts o = {0};
	const char *file;
	json_t *list;
	bad = read_args(ctx, args, &o, &file, &list);
	if (bad) {
		return bad;
	}
	struct ctxd_mb_dir dir;
	json_t *e = ctxd_memory_bank_open_arg(ctx, args, false, &dir);
	if (e) {
		return e;
	}
	json_t *names = json_array();
	if (file) {
		json_array_append_new(names, json_string(file));
	} else if (list) {
		json_array_extend(names, list);
	} else {
		for (int i = 0; i < CTXD_MB_CORE_COUNT; i++) {
			json_array_append_new(names, json_string(ctxd_mb_core[i]));
		}
	}
	json_t *res = read_files(&dir, names, file != NULL, &o);
	json_decref(names);
	close(dir.fd);
	return res;
}
