/* tools/memory_bank.c - the memory_bank_* tools and the memory-bank:// resources over the
 * bank (src/mb_store.c and its siblings).
 *
 * Every handler opens the bank through the sandbox (ctxd_mb_open), so a file
 * argument is only ever a name inside the bank directory. Writes go through
 * ctxd_mb_edit: locked, precondition re-checked under the lock, atomic, recorded
 * in the history. A failed precondition is an isError result whose structuredContent
 * carries currentSha256, so the agent can re-read and retry.
 */
#include "ctxd/memory_bank.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/mb_history.h"
#include "ctxd/mb_search.h"
#include "ctxd/mb_validate.h"
#include "ctxd/md_sections.h"
#include "ctxd/strbuf.h"
#include "memory_bank_priv.h"
#include "schemas/schemas.h"

#define RO_FLAGS (CTXD_TOOL_READ_ONLY | CTXD_TOOL_IDEMPOTENT)

/* ---- writing helpers ----------------------------------------------------------------- */

/* The line ending the file uses: "\r\n" when its first line ends so. */
static const char *file_eol(const char *cur, size_t len)
{
	const char *nl = cur ? memchr(cur, '\n', len) : NULL;
	return nl && nl > cur && nl[-1] == '\r' ? "\r\n" : "\n";
}

/* `s` without leading and trailing blank lines, with every line end written as `eol`. */
static void add_normalized(struct ctxd_strbuf *b, const char *s, size_t n, const char *eol)
{
	size_t a = 0;
	/* drop leading blank lines (but keep a first line's indentation) */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			a = i + 1;
		} else if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
			break;
		}
	}
	while (n > a &&
	       (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t')) {
		n--;
	}
	for (size_t i = a; i < n;) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n;
		size_t le = e > i && s[e - 1] == '\r' ? e - 1 : e;
		ctxd_strbuf_add(b, s + i, le - i);
		if (nl) {
			ctxd_strbuf_str(b, eol);
		}
		i = nl ? e + 1 : n;
	}
}

static bool blank_range(const char *s, size_t a, size_t e)
{
	for (; a < e; a++) {
		if (s[a] != ' ' && s[a] != '\t' && s[a] != '\r' && s[a] != '\n') {
			return false;
		}
	}
	return true;
}

/* Result of a write: text + structured {file, sha256, previousSha256, size, version,
 * unchanged, created}; a failed precondition: isError with currentSha256. */
static json_t *edit_result(const char *what, const char *file, int rc,
			   const struct ctxd_mb_result *res, const char *cur_sha,
			   const struct ctxd_error *err)
{
	if (rc) {
		if (err->kind != CTXD_ERR_PRECONDITION) {
			return fail_err(err);
		}
		json_t *r = ctxd_tool_result(err->msg, json_pack("{s:s, s:s, s:s}", "file", file,
								 "error", "precondition_failed",
								 "currentSha256", cur_sha));
		if (r) {
			json_object_set_new(r, "isError", json_true());
		}
		return r;
	}
	char text[512];
	if (res->unchanged) {
		snprintf(text, sizeof(text),
			 "%s: '%s' already had this content (sha256 %s); "
			 "nothing written",
			 what, file, res->sha256);
	} else {
		snprintf(text, sizeof(text),
			 "%s: wrote '%s' (%zu bytes, sha256 %s, history "
			 "version %ld)",
			 what, file, res->size, res->sha256, res->version);
	}
	return ctxd_tool_result(
	    text, json_pack("{s:s, s:s, s:s, s:I, s:I, s:b, s:b}", "file", file, "sha256",
			    res->sha256, "previousSha256", res->old_sha256, "size",
			    (json_int_t)res->size, "version", (json_int_t)res->version, "unchanged",
			    res->unchanged, "created", res->old_sha256[0] == '\0'));
}

/* ---- memory_bank_init -------------------------------------------------------------- */

struct put_arg {
	const char *data;
	size_t len;
	bool must_be_new;
	const char *file;
};

static int put_fn(void *arg, const char *cur, size_t len, char **out, size_t *out_len,
		  struct ctxd_error *err)
{
	struct put_arg *a = arg;
	(void)len;
	if (cur && a->must_be_new) {
		ctxd_error_set_errno(err, CTXD_ERR_PRECONDITION, EEXIST,
				     "'%s' already exists; use mode replace (with expectedSha256 "
				     "from memory_bank_read) to overwrite it",
				     a->file);
		return -1;
	}
	*out = malloc(a->len ? a->len : 1);
	if (!*out) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "out of memory");
		return -1;
	}
	memcpy(*out, a->data, a->len);
	*out_len = a->len;
	return 0;
}

static json_t *mb_init(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_mb_dir dir;
	json_t *e = ctxd_memory_bank_begin(ctx, args, true, &dir);
	if (e) {
		return e;
	}
	bool overwrite = json_is_true(json_object_get(args, "overwrite"));
	json_t *created = json_array(), *over = json_array(), *kept = json_array();
	json_t *res = NULL;
	struct ctxd_strbuf t = {0};
	for (int i = 0; i < CTXD_MB_CORE_COUNT; i++) {
		const char *f = ctxd_mb_core[i];
		const char *tpl = ctxd_mb_template(f);
		struct put_arg a = {tpl, strlen(tpl), !overwrite, f};
		struct ctxd_mb_result r;
		struct ctxd_error err = {0};
		char cur[65];
		if (ctxd_mb_edit(ctx->ud, &dir, f, NULL, put_fn, &a, &r, cur, &err)) {
			if (err.kind == CTXD_ERR_PRECONDITION) {
				json_array_append_new(kept, json_string(f));
				continue;
			}
			res = fail_err(&err);
			goto out;
		}
		json_array_append_new(r.unchanged       ? kept
				      : r.old_sha256[0] ? over
							: created,
				      json_string(f));
	}
	ctxd_strbuf_printf(
	    &t, "memory bank '%s' (project %s): %zu created, %zu overwritten, %zu kept", dir.abs,
	    dir.project, json_array_size(created), json_array_size(over), json_array_size(kept));
	res =
	    ctxd_tool_result(t.p ? t.p : "", json_pack("{s:s, s:s, s:O, s:O, s:O}", "bank", dir.abs,
						       "project", dir.project, "created", created,
						       "overwritten", over, "kept", kept));
out:
	free(t.p);
	json_decref(created);
	json_decref(over);
	json_decref(kept);
	close(dir.fd);
	return res;
}

/* ---- memory_bank_write: the whole file ---------------------------------------------- */

static json_t *write_whole(const struct ctxd_tool_ctx *ctx, json_t *args, const char *file,
			   bool create)
{
	json_t *jc = json_object_get(args, "content");
	struct ctxd_mb_dir dir;
	json_t *e = ctxd_memory_bank_open_arg(ctx, args, false, &dir);
	if (e) {
		return e;
	}
	struct put_arg a = {json_string_value(jc), json_string_length(jc), create, file};
	struct ctxd_mb_result r;
	struct ctxd_error err = {0};
	char cur[65];
	int rc = ctxd_mb_edit(ctx->ud, &dir, file, str_arg(args, "expectedSha256"), put_fn, &a, &r,
			      cur, &err);
	close(dir.fd);
	return edit_result("memory_bank_write", file, rc, &r, cur, &err);
}

/* ---- memory_bank_write: one section ------------------------------------------------- */

enum sec_op { OP_REPLACE, OP_APPEND, OP_PREPEND };

struct sec_arg {
	const char *file, *heading, *content;
	size_t content_len;
	enum sec_op op;
	bool created;
};

/* A new section "## heading" holding the content, at the end of `cur`, after one blank
 * line. */
static void append_new_section(struct ctxd_strbuf *b, const char *cur, size_t len,
			       const struct sec_arg *a, const char *eol)
{
	const char *h;
	size_t hl;
	ctxd_memory_bank_heading_arg(a->heading, &h, &hl);
	ctxd_strbuf_add(b, cur, len);
	if (len && cur[len - 1] != '\n') {
		ctxd_strbuf_str(b, eol);
	}
	/* one blank line between the old text and the new heading */
	bool ends_blank = b->len >= 2 && b->p && b->p[b->len - 1] == '\n' &&
			  (b->p[b->len - 2] == '\n' ||
			   (b->len >= 3 && b->p[b->len - 2] == '\r' && b->p[b->len - 3] == '\n'));
	if (len && !ends_blank) {
		ctxd_strbuf_str(b, eol);
	}
	ctxd_strbuf_str(b, "## ");
	ctxd_strbuf_add(b, h, hl);
	ctxd_strbuf_str(b, eol);
	ctxd_strbuf_str(b, eol);
	add_normalized(b, a->content, a->content_len, eol);
	ctxd_strbuf_str(b, eol);
}

/* `cur` with section `s` replaced, appended to or prepended to (a->op). */
static void edit_section(struct ctxd_strbuf *b, const char *cur, size_t len,
			 const struct ctxd_md_section *s, const struct sec_arg *a, const char *eol)
{
	size_t body = s->body, end = s->end;
	bool more = end < len; /* another heading follows */
	/* last non-blank byte of the section, and first non-blank line start */
	size_t last = end;
	while (last > body && (cur[last - 1] == '\n' || cur[last - 1] == '\r' ||
			       cur[last - 1] == ' ' || cur[last - 1] == '\t')) {
		last--;
	}
	bool empty = last <= body || blank_range(cur, body, end);
	ctxd_strbuf_add(b, cur, body);
	if (body == len && len && cur[len - 1] != '\n') {
		ctxd_strbuf_str(b, eol); /* the heading was the last line, without a line end */
	}
	if (a->op == OP_REPLACE || empty) {
		ctxd_strbuf_str(b, eol);
		add_normalized(b, a->content, a->content_len, eol);
		if (a->content_len && !blank_range(a->content, 0, a->content_len)) {
			ctxd_strbuf_str(b, eol);
		}
		if (more) {
			ctxd_strbuf_str(b, eol);
		}
		ctxd_strbuf_add(b, cur + end, len - end);
	} else if (a->op == OP_APPEND) {
		/* after the section's last line with text, before its trailing blank lines */
		const char *nl = memchr(cur + last, '\n', end - last);
		size_t at = nl ? (size_t)(nl - cur) + 1 : end;
		ctxd_strbuf_add(b, cur + body, at - body);
		if (at == end && (at == 0 || cur[at - 1] != '\n')) {
			ctxd_strbuf_str(b, eol);
		}
		add_normalized(b, a->content, a->content_len, eol);
		ctxd_strbuf_str(b, eol);
		ctxd_strbuf_add(b, cur + at, len - at);
	} else {
		size_t at = body;
		while (at < end) {
			const char *nl = memchr(cur + at, '\n', end - at);
			size_t next = nl ? (size_t)(nl - cur) + 1 : end;
			if (!blank_range(cur, at, next)) {
				break;
			}
			at = next;
		}
		ctxd_strbuf_add(b, cur + body, at - body);
		add_normalized(b, a->content, a->content_len, eol);
		/* a blank line between the new text and the old: without it the two would run
		 * together into one paragraph (or one list) */
		ctxd_strbuf_str(b, eol);
		ctxd_strbuf_str(b, eol);
		ctxd_strbuf_add(b, cur + at, len - at);
	}
}

static int section_fn(void *arg, const char *cur, size_t len, char **out, size_t *out_len,
		      struct ctxd_error *err)
{
	struct sec_arg *a = arg;
	if (!cur) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOENT,
				     "'%s' does not exist in the bank; create it with "
				     "memory_bank_write (mode create, no section) or "
				     "memory_bank_init",
				     a->file);
		return -1;
	}
	struct ctxd_md_section *secs;
	size_t n;
	if (ctxd_md_sections(cur, len, &secs, &n)) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "out of memory");
		return -1;
	}
	const char *eol = file_eol(cur, len);
	struct ctxd_strbuf b = {0}, names = {0};
	long i = ctxd_memory_bank_find_section(cur, secs, n, a->heading, &names);
	int rc = 0;
	if (i < 0 && a->op != OP_APPEND) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOENT,
				     "argument 'section': '%s' has no section '%.200s' (only "
				     "mode append creates one); its headings: %s",
				     a->file, a->heading, names.p ? names.p : "(none)");
		rc = -1;
	} else if (i < 0) {
		append_new_section(&b, cur, len, a, eol);
		a->created = true;
	} else {
		edit_section(&b, cur, len, &secs[i], a, eol);
	}
	if (rc == 0 && b.oom) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "out of memory");
		rc = -1;
	}
	if (rc == 0) {
		*out = b.p ? b.p : strdup("");
		*out_len = b.len;
		b.p = NULL;
	}
	free(b.p);
	free(names.p);
	free(secs);
	return rc;
}

static json_t *write_section(const struct ctxd_tool_ctx *ctx, json_t *args, const char *file,
			     enum sec_op op)
{
	const char *heading = str_arg(args, "section");
	const char *hs;
	size_t hl;
	ctxd_memory_bank_heading_arg(heading, &hs, &hl);
	if (hl == 0 || memchr(hs, '\n', hl) || memchr(hs, '\r', hl)) {
		return ctxd_tool_error("argument 'section': give the heading's text without the "
				       "'#' marks, on one line (e.g. \"Current Focus\")");
	}
	json_t *jc = json_object_get(args, "content");
	struct sec_arg a = {
	    .file = file,
	    .heading = heading,
	    .content = json_string_value(jc),
	    .content_len = json_string_length(jc),
	    .op = op,
	};
	if (a.op != OP_REPLACE && blank_range(a.content, 0, a.content_len)) {
		return ctxd_tool_error("argument 'content' is empty: nothing to %s",
				       a.op == OP_APPEND ? "append" : "prepend");
	}
	struct ctxd_mb_dir dir;
	json_t *e = ctxd_memory_bank_open_arg(ctx, args, false, &dir);
	if (e) {
		return e;
	}
	struct ctxd_mb_result r;
	struct ctxd_error err = {0};
	char cur[65];
	int rc = ctxd_mb_edit(ctx->ud, &dir, file, str_arg(args, "expectedSha256"), section_fn, &a,
			      &r, cur, &err);
	close(dir.fd);
	json_t *res = edit_result("memory_bank_write", file, rc, &r, cur, &err);
	if (rc == 0 && res) {
		json_t *sc = json_object_get(res, "structuredContent");
		json_object_set_new(sc, "sectionCreated", json_boolean(a.created));
	}
	return res;
}

/* ---- memory_bank_search / validate ------------------------------------------------- */

static json_t *mb_search(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	json_t *bad = ctxd_memory_bank_check_chars(args);
	if (bad) {
		return bad;
	}
	const char *query = str_arg(args, "query");
	json_t *jl = json_object_get(args, "limit");
	size_t limit = jl ? (size_t)json_integer_value(jl) : 10;
	if (limit < 1 || limit > 100) {
		return ctxd_tool_error("argument 'limit' must be from 1 to 100");
	}
	struct ctxd_mb_dir dir;
	json_t *e = ctxd_memory_bank_open_arg(ctx, args, false, &dir);
	if (e) {
		return e;
	}
	struct ctxd_error err = {0};
	json_t *hits = ctxd_mb_search(ctxd_mb_index(ctx->ud), &dir, query, limit, &err);
	close(dir.fd);
	if (!hits) {
		return fail_err(&err);
	}
	struct ctxd_strbuf t = {0};
	ctxd_strbuf_printf(&t, "%zu match%s for '%.200s'%s\n", json_array_size(hits),
			   json_array_size(hits) == 1 ? "" : "es", query,
			   json_array_size(hits) ? "" : " (no bank text contains those words)");
	size_t k;
	json_t *v;
	json_array_foreach(hits, k, v)
	{
		const char *h = json_string_value(json_object_get(v, "heading"));
		ctxd_strbuf_printf(
		    &t, "%s:%lld%s%s: ", json_string_value(json_object_get(v, "file")),
		    (long long)json_integer_value(json_object_get(v, "line")), *h ? " # " : "", h);
		ctxd_strbuf_str(&t, json_string_value(json_object_get(v, "snippet")));
		ctxd_strbuf_str(&t, "\n");
	}
	json_t *res =
	    ctxd_tool_result(t.p ? t.p : "", json_pack("{s:s, s:s, s:o}", "project", dir.project,
						       "query", query, "results", hits));
	free(t.p);
	return res;
}

static json_t *mb_validate(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_mb_dir dir;
	json_t *e = ctxd_memory_bank_begin(ctx, args, false, &dir);
	if (e) {
		return e;
	}
	struct ctxd_error err = {0};
	json_t *f = ctxd_mb_validate(ctx->ud, &dir, &err);
	close(dir.fd);
	if (!f) {
		return fail_err(&err);
	}
	size_t nerr = 0, nwarn = 0, ninfo = 0, k;
	json_t *v;
	struct ctxd_strbuf t = {0};
	json_array_foreach(f, k, v)
	{
		const char *sev = json_string_value(json_object_get(v, "severity"));
		nerr += sev[0] == 'e';
		nwarn += sev[0] == 'w';
		ninfo += sev[0] == 'i';
	}
	ctxd_strbuf_printf(&t, "%zu error(s), %zu warning(s), %zu note(s) in '%s'\n", nerr, nwarn,
			   ninfo, dir.abs);
	json_array_foreach(f, k, v)
	{
		ctxd_strbuf_printf(&t, "%s:%lld: %s: %s (%s)\n",
				   json_string_value(json_object_get(v, "file")),
				   (long long)json_integer_value(json_object_get(v, "line")),
				   json_string_value(json_object_get(v, "severity")),
				   json_string_value(json_object_get(v, "message")),
				   json_string_value(json_object_get(v, "hint")));
	}
	json_t *res = ctxd_tool_result(t.p ? t.p : "",
				       json_pack("{s:s, s:b, s:{s:I, s:I, s:I}, s:o}", "project",
						 dir.project, "ok", nerr == 0, "counts", "error",
						 (json_int_t)nerr, "warning", (json_int_t)nwarn,
						 "info", (json_int_t)ninfo, "findings", f));
	free(t.p);
	return res;
}

/* ---- memory_bank_history ----------------------------------------------------------- */

static json_t *mb_history(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *file;
	json_t *e = ctxd_memory_bank_file_args(args, &file);
	if (e) {
		return e;
	}
	struct ctxd_mb_dir dir;
	if ((e = ctxd_memory_bank_open_arg(ctx, args, false, &dir))) {
		return e;
	}
	struct ctxd_error err = {0};
	json_t *vs = ctxd_mb_history(&dir, file, &err);
	close(dir.fd);
	if (!vs) {
		return fail_err(&err);
	}
	struct ctxd_strbuf t = {0};
	ctxd_strbuf_printf(&t, "%zu version(s) of '%s' kept (at most %u)\n", json_array_size(vs),
			   file, ctxd_mb_history_max(ctx->ud));
	size_t k;
	json_t *v;
	json_array_foreach(vs, k, v)
	{
		ctxd_strbuf_printf(&t, "  v%lld  %s  %lld bytes  +%lld -%lld  sha256 %s\n",
				   (long long)json_integer_value(json_object_get(v, "version")),
				   json_string_value(json_object_get(v, "time")),
				   (long long)json_integer_value(json_object_get(v, "size")),
				   (long long)json_integer_value(json_object_get(v, "added")),
				   (long long)json_integer_value(json_object_get(v, "removed")),
				   json_string_value(json_object_get(v, "sha256")));
	}
	json_t *res =
	    ctxd_tool_result(t.p ? t.p : "", json_pack("{s:s, s:o}", "file", file, "versions", vs));
	free(t.p);
	return res;
}

/* ---- memory_bank_write: a version from the history -------------------------------- */

static json_t *write_version(const struct ctxd_tool_ctx *ctx, json_t *args, const char *file)
{
	json_int_t version = json_integer_value(json_object_get(args, "fromVersion"));
	if (version < 1) {
		return ctxd_tool_error("argument 'fromVersion' must be at least 1");
	}
	struct ctxd_mb_dir dir;
	json_t *e = ctxd_memory_bank_open_arg(ctx, args, false, &dir);
	if (e) {
		return e;
	}
	struct ctxd_error err = {0};
	char *data;
	size_t len;
	if (ctxd_mb_version(&dir, file, (long)version, &data, &len, &err)) {
		close(dir.fd);
		return fail_err(&err);
	}
	struct put_arg a = {data, len, false, file};
	struct ctxd_mb_result r;
	char cur[65];
	int rc = ctxd_mb_edit(ctx->ud, &dir, file, str_arg(args, "expectedSha256"), put_fn, &a, &r,
			      cur, &err);
	free(data);
	close(dir.fd);
	json_t *res = edit_result("memory_bank_write", file, rc, &r, cur, &err);
	if (rc == 0 && res) {
		json_object_set_new(json_object_get(res, "structuredContent"), "restoredVersion",
				    json_integer(version));
	}
	return res;
}

/* ---- memory_bank_write: which of the three ----------------------------------------- */

/* What a bad combination of memory_bank_write arguments is told. */
static const char write_forms[] =
    "memory_bank_write takes {file, content, mode: create|replace} (the whole file), {file, "
    "section, content, mode: replace|append|prepend} (one section) or {file, fromVersion} (a "
    "version from memory_bank_history), each with expectedSha256 if you like";

static json_t *mb_write(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *file;
	json_t *e = ctxd_memory_bank_file_args(args, &file);
	if (e) {
		return e;
	}
	bool content = json_object_get(args, "content") != NULL;
	bool section = json_object_get(args, "section") != NULL;
	const char *mode = str_arg(args, "mode");
	if (json_object_get(args, "fromVersion")) {
		if (content || section || mode) {
			return ctxd_tool_error(
			    "fromVersion restores a whole version: leave out %s. "
			    "%s",
			    content   ? "content"
			    : section ? "section"
				      : "mode",
			    write_forms);
		}
		return write_version(ctx, args, file);
	}
	if (!content) {
		return ctxd_tool_error("argument 'content' is missing. %s", write_forms);
	}
	if (!mode) {
		return ctxd_tool_error("argument 'mode' is missing: %s. %s",
				       section ? "replace, append or prepend the section"
					       : "create (a new file) or replace",
				       write_forms);
	}
	if (section) {
		enum sec_op op = strcmp(mode, "append") == 0    ? OP_APPEND
				 : strcmp(mode, "prepend") == 0 ? OP_PREPEND
								: OP_REPLACE;
		if (op == OP_REPLACE && strcmp(mode, "replace") != 0) {
			return ctxd_tool_error(
			    "argument 'mode': with section it is replace, append "
			    "or prepend, not '%.40s'. %s",
			    mode, write_forms);
		}
		return write_section(ctx, args, file, op);
	}
	bool create = strcmp(mode, "create") == 0;
	if (!create && strcmp(mode, "replace") != 0) {
		return ctxd_tool_error("argument 'mode': '%.40s' edits one section: add section "
				       "(its heading), or write the whole file with mode create or "
				       "replace. %s",
				       mode, write_forms);
	}
	return write_whole(ctx, args, file, create);
}

/* ---- schemas and the table --------------------------------------------------------- */

/* `project` chooses a bank only with memory_bank.multi_project; with one bank the property
 * is neither listed nor accepted (a call passing it is refused as an unknown argument). */
static void mb_input_for_config(json_t *input, const struct ctxd_config *cfg)
{
	if (cfg && !cfg->memory_bank_multi_project) {
		json_object_del(json_object_get(input, "properties"), "project");
	}
}

const struct ctxd_tool ctxd_memory_bank_tools[] = {
    {
	.name = "memory_bank_init",
	.title = "Initialise memory bank",
	.description = "Create the bank's six core files from templates (existing kept unless "
		       "overwrite).",
	.input_schema = ctxd_schema_memory_bank_init_input,
	.output_schema = ctxd_schema_memory_bank_init_output,
	.flags = CTXD_TOOL_IDEMPOTENT,
	.writes = true,
	.input_for_config = mb_input_for_config,
	.fn = mb_init,
    },
    {
	.name = "memory_bank_list",
	.title = "List memory bank",
	.description = "Bank files with sha256 and headings; missing core files.",
	.input_schema = ctxd_schema_memory_bank_project_input,
	.output_schema = ctxd_schema_memory_bank_list_output,
	.flags = RO_FLAGS,
	.input_for_config = mb_input_for_config,
	.fn = ctxd_memory_bank_list,
    },
    {
	.name = "memory_bank_read",
	.title = "Read memory bank",
	.description = "Read bank files (file, files, or core: the six core files), optionally one "
		       "section and a line window, with sha256.",
	.input_schema = ctxd_schema_memory_bank_read_input,
	.output_schema = ctxd_schema_memory_bank_read_output,
	.flags = RO_FLAGS,
	.input_for_config = mb_input_for_config,
	.fn = ctxd_memory_bank_read,
    },
    {
	.name = "memory_bank_write",
	.title = "Write memory bank file",
	.description =
	    "Write a bank file (locked, versioned): whole (content, mode create|replace), "
	    "one section (section, content, mode replace|append|prepend) or a history "
	    "version (fromVersion).",
	.input_schema = ctxd_schema_memory_bank_write_input,
	.output_schema = ctxd_schema_memory_bank_change_output,
	.flags = CTXD_TOOL_DESTRUCTIVE,
	.writes = true,
	.input_for_config = mb_input_for_config,
	.fn = mb_write,
	.merged = (const struct ctxd_tool_merged[]){{"memory_bank_update_section", "section"},
						    {"memory_bank_restore", "fromVersion"},
						    {0}},
    },
    {
	.name = "memory_bank_search",
	.title = "Search memory bank",
	.description = "Ranked search of the bank's sections.",
	.input_schema = ctxd_schema_memory_bank_search_input,
	.output_schema = ctxd_schema_memory_bank_search_output,
	.flags = RO_FLAGS,
	.input_for_config = mb_input_for_config,
	.fn = mb_search,
    },
    {
	.name = "memory_bank_validate",
	.title = "Validate memory bank",
	.description = "Check the bank (missing files or sections, staleness, broken links, "
		       "conflicts...) with fix hints.",
	.input_schema = ctxd_schema_memory_bank_project_input,
	.output_schema = ctxd_schema_memory_bank_validate_output,
	.flags = RO_FLAGS,
	.input_for_config = mb_input_for_config,
	.fn = mb_validate,
    },
    {
	.name = "memory_bank_history",
	.title = "Memory bank file history",
	.description = "A bank file's kept versions (time, size, sha256, lines changed).",
	.input_schema = ctxd_schema_memory_bank_history_input,
	.output_schema = ctxd_schema_memory_bank_history_output,
	.flags = RO_FLAGS,
	.input_for_config = mb_input_for_config,
	.fn = mb_history,
    },
};

const size_t ctxd_memory_bank_tools_count =
    sizeof(ctxd_memory_bank_tools) / sizeof(ctxd_memory_bank_tools[0]);
