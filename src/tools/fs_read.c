/* fs_read.c - more reading tools: read_media_file, read_multiple_files,
 * list_directory with sizes, directory_tree; and the MIME/URI/base64 helpers the file://
 * resource provider shares.
 *
 * read_multiple_files reads its files one after the other on the worker that runs the
 * call: a handler cannot submit sub-jobs to the pool, and starting private threads per
 * call would bypass the pool's bound on concurrency. Each read is the fast confined
 * read_text_file, so a batch of source files costs a few hundred microseconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/rpc.h"
#include "ctxd/sandbox.h"
#include "ctxd/uri.h"
#include "fs_priv.h"
#include "fs_walk.h"

#define DEFAULT_MEDIA_BYTES ((size_t)1 << 20)
#define MULTI_MAX           100

/* ---- helpers ---------------------------------------------------------------------- */

struct ext_mime {
	const char *ext;
	const char *mime;
};

static const struct ext_mime ext_table[] = {
    {"png", "image/png"},        {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},        {"webp", "image/webp"},       {"bmp", "image/bmp"},
    {"svg", "image/svg+xml"},    {"ico", "image/x-icon"},      {"tif", "image/tiff"},
    {"tiff", "image/tiff"},      {"avif", "image/avif"},       {"heic", "image/heic"},
    {"mp3", "audio/mpeg"},       {"wav", "audio/wav"},         {"ogg", "audio/ogg"},
    {"oga", "audio/ogg"},        {"flac", "audio/flac"},       {"m4a", "audio/mp4"},
    {"aac", "audio/aac"},        {"opus", "audio/opus"},       {"aif", "audio/aiff"},
    {"aiff", "audio/aiff"},      {"weba", "audio/webm"},       {"txt", "text/plain"},
    {"md", "text/markdown"},     {"json", "application/json"}, {"html", "text/html"},
    {"css", "text/css"},         {"js", "text/javascript"},    {"c", "text/x-c"},
    {"h", "text/x-c"},           {"py", "text/x-python"},      {"yaml", "application/yaml"},
    {"yml", "application/yaml"}, {"xml", "application/xml"},   {"pdf", "application/pdf"},
};

static const char *mime_by_ext(const char *name)
{
	const char *dot = name ? strrchr(name, '.') : NULL;
	if (!dot || strchr(dot, '/')) {
		return NULL;
	}
	for (size_t i = 0; i < sizeof(ext_table) / sizeof(ext_table[0]); i++) {
		if (strcasecmp(dot + 1, ext_table[i].ext) == 0) {
			return ext_table[i].mime;
		}
	}
	return NULL;
}

const char *ctxd_fs_sniff_mime(const unsigned char *p, size_t n, const char *name)
{
#define HAS(off, lit) (n >= (off) + sizeof(lit) - 1 && memcmp(p + (off), lit, sizeof(lit) - 1) == 0)
	if (HAS(0, "\x89PNG\r\n\x1a\n")) {
		return "image/png";
	}
	if (HAS(0, "\xFF\xD8\xFF")) {
		return "image/jpeg";
	}
	if (HAS(0, "GIF87a") || HAS(0, "GIF89a")) {
		return "image/gif";
	}
	if (HAS(0, "RIFF") && HAS(8, "WEBP")) {
		return "image/webp";
	}
	if (HAS(0, "RIFF") && HAS(8, "WAVE")) {
		return "audio/wav";
	}
	if (HAS(0, "BM") && n >= 14) {
		return "image/bmp";
	}
	if (HAS(0, "II*\0") || HAS(0, "MM\0*")) {
		return "image/tiff";
	}
	if (HAS(0, "\0\0\1\0") && n >= 6) {
		return "image/x-icon";
	}
	if (HAS(4, "ftypavif")) {
		return "image/avif";
	}
	if (HAS(4, "ftypheic") || HAS(4, "ftypheix") || HAS(4, "ftypmif1")) {
		return "image/heic";
	}
	if (HAS(4, "ftypM4A")) {
		return "audio/mp4";
	}
	if (HAS(0, "ID3") || (n >= 2 && p[0] == 0xFF && (p[1] & 0xE0) == 0xE0 && (p[1] & 0x06))) {
		return "audio/mpeg";
	}
	if (HAS(0, "OggS")) {
		return "audio/ogg";
	}
	if (HAS(0, "fLaC")) {
		return "audio/flac";
	}
	if (HAS(0, "FORM") && (HAS(8, "AIFF") || HAS(8, "AIFC"))) {
		return "audio/aiff";
	}
	if (HAS(0, "%PDF-")) {
		return "application/pdf";
	}
#undef HAS
	const char *e = mime_by_ext(name);
	if (e && strcmp(e, "image/svg+xml") == 0) {
		/* text: trust the extension only when the content looks like XML */
		size_t i = 0;
		while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t' ||
				 p[i] == 0xEF || p[i] == 0xBB || p[i] == 0xBF)) {
			i++;
		}
		return i < n && p[i] == '<' ? e : NULL;
	}
	return e;
}

json_t *ctxd_fs_base64(const unsigned char *p, size_t n)
{
	size_t olen;
	char *o = ctxd_base64_encode(p, n, &olen);
	json_t *j = o ? json_stringn_nocheck(o, olen) : NULL; /* base64 is ASCII */
	free(o);
	return j;
}

/* ---- read_media_file -------------------------------------------------------------- */

json_t *ctxd_fs_read_media_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_fs_arg a;
	json_t *res = ctxd_fs_open_arg(ctx, args, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0, &a);
	if (res) {
		return res;
	}
	unsigned char *buf = NULL;
	struct stat st;
	if (fstat(a.fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		res = ctxd_fs_fail("'%s' is not a regular file", a.loc.abs);
		goto out;
	}
	unsigned char head[64];
	ssize_t hn = ctxd_fs_pread_full(a.fd, (char *)head, sizeof(head), 0);
	if (hn < 0) {
		res = ctxd_fs_fail("cannot read '%s': %s", a.loc.abs, strerror(errno));
		goto out;
	}
	const char *mime = ctxd_fs_sniff_mime(head, (size_t)hn, a.loc.abs);
	bool image = mime && strncmp(mime, "image/", 6) == 0;
	bool audio = mime && strncmp(mime, "audio/", 6) == 0;
	if (!image && !audio) {
		res =
		    ctxd_fs_fail("'%s' is not an image or audio file (%s); use read_text_file for "
				 "text",
				 a.loc.abs, mime ? mime : "unrecognized content");
		goto out;
	}
	size_t cap =
	    ctx->cfg && ctx->cfg->max_media_bytes ? ctx->cfg->max_media_bytes : DEFAULT_MEDIA_BYTES;
	size_t size = (size_t)st.st_size;
	char uri[3 * CTXD_PATH_MAX + 16];
	if (ctxd_path_to_file_uri(a.loc.abs, uri, sizeof(uri)) < 0) {
		res = ctxd_fs_fail("path of '%s' is too long for a URI", a.loc.abs);
		goto out;
	}
	const char *slash = strrchr(a.loc.abs, '/');
	const char *base = slash ? slash + 1 : a.loc.abs;
	if (size > cap) {
		json_t *link = json_pack("{s:s, s:s, s:o, s:s, s:I}", "type", "resource_link",
					 "uri", uri, "name", ctxd_utf8_json(base, strlen(base)),
					 "mimeType", mime, "size", (json_int_t)size);
		char note[CTXD_PATH_MAX + 200];
		snprintf(note, sizeof(note),
			 "%s is %zu bytes, over the %zu-byte inline limit (limits.media_bytes); "
			 "returned as a link to read through resources/read",
			 a.loc.abs, size, cap);
		res = link ? json_pack("{s:[{s:s, s:s}, o]}", "content", "type", "text", "text",
				       note, link)
			   : NULL;
		goto out;
	}
	buf = malloc(size + 1);
	if (!buf) {
		goto out;
	}
	ssize_t got = ctxd_fs_pread_full(a.fd, (char *)buf, size, 0);
	if (got < 0) {
		res = ctxd_fs_fail("cannot read '%s': %s", a.loc.abs, strerror(errno));
		goto out;
	}
	json_t *b64 = ctxd_fs_base64(buf, (size_t)got);
	if (b64) {
		res = json_pack("{s:[{s:s, s:o, s:s}]}", "content", "type",
				image ? "image" : "audio", "data", b64, "mimeType", mime);
	}
out:
	free(buf);
	close(a.fd);
	return res;
}

/* ---- read_multiple_files ---------------------------------------------------------- */

json_t *ctxd_fs_read_multiple_files(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	json_t *paths = json_object_get(args, "paths");
	size_t n = json_array_size(paths);
	if (n == 0) {
		return ctxd_fs_fail("argument 'paths' must list at least one file");
	}
	json_t *files = json_array();
	struct ctxd_strbuf t = {0};
	size_t failed = 0;
	if (!files) {
		return NULL;
	}
	/* Every file's text is in the answer twice (content and structuredContent): stop
	 * reading once the answer could no longer fit in one message, instead of building it
	 * only for the engine to refuse it. */
	size_t frame = ctx->cfg && ctx->cfg->max_frame_bytes ? ctx->cfg->max_frame_bytes : SIZE_MAX;
	/* each file's read builds its result as a json_t (no ctx->out), on this thread */
	struct ctxd_tool_ctx one = *ctx;
	one.out = NULL;
	one.nowait = false;
	size_t i;
	json_t *p;
	json_array_foreach(paths, i, p)
	{
		if (ctxd_job_cancelled(ctx->job)) {
			json_decref(files);
			free(t.p);
			return ctxd_fs_fail("read_multiple_files cancelled after %zu of %zu files",
					    i, n);
		}
		if (t.len > frame / 2) {
			json_decref(files);
			free(t.p);
			return ctxd_fs_fail(
			    "the answer would be larger than %zu bytes, the most "
			    "one message may carry (limits.frame_bytes): only the "
			    "first %zu of the %zu files fit. Read the others in another "
			    "call, or a window of each (read_text_file with head, tail, "
			    "or offset and limit)",
			    frame, i - 1, n);
		}
		json_t *a = json_pack("{s:O}", "path", p);
		json_t *r = a ? ctxd_fs_read_text_file(&one, a) : NULL;
		json_decref(a);
		if (!r) {
			json_decref(files);
			free(t.p);
			return NULL;
		}
		json_t *sc = json_object_get(r, "structuredContent");
		const char *msg = json_string_value(
		    json_object_get(json_array_get(json_object_get(r, "content"), 0), "text"));
		json_t *f;
		if (json_is_true(json_object_get(r, "isError"))) {
			failed++;
			f = json_pack("{s:O, s:s}", "path", p, "error", msg ? msg : "failed");
			ctxd_strbuf_printf(&t, "%s%s: Error - ", i ? "\n---\n" : "",
					   json_string_value(p));
			ctxd_strbuf_str(&t, msg ? msg : "failed");
		} else {
			json_t *c = json_object_get(sc, "content");
			f = json_pack("{s:O, s:O, s:O}", "path", json_object_get(sc, "path"),
				      "content", c, "truncated", json_object_get(sc, "truncated"));
			ctxd_strbuf_printf(&t, "%s%s:\n", i ? "\n---\n" : "",
					   json_string_value(json_object_get(sc, "path")));
			ctxd_strbuf_add(&t, json_string_value(c), json_string_length(c));
		}
		json_decref(r);
		if (!f || json_array_append_new(files, f) < 0) {
			json_decref(files);
			free(t.p);
			return NULL;
		}
	}
	if (t.oom) {
		json_decref(files);
		free(t.p);
		return NULL;
	}
	json_t *res = ctxd_tool_result(
	    t.p, json_pack("{s:o, s:I}", "files", files, "failed", (json_int_t)failed));
	free(t.p);
	return res;
}

/* ---- list_directory with sizes ---------------------------------------------------- */

struct sized {
	char *name;
	int type;
	unsigned long long size;
};

struct sizes_state {
	struct sized *v;
	size_t n, cap, max;
	bool truncated, oom;
};

static int sizes_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct sizes_state *s = ud;
	if (s->n >= s->max) {
		s->truncated = true;
		return CTXD_FS_WALK_STOP;
	}
	if (ctxd_grow((void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v), 64) < 0) {
		s->oom = true;
		return CTXD_FS_WALK_STOP;
	}
	struct stat st;
	unsigned long long size = 0;
	if (e->type == CTXD_FS_WALK_FILE &&
	    fstatat(e->at_fd, e->at_path, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		size = (unsigned long long)st.st_size;
	}
	char *nm = strndup(e->name, e->name_len);
	if (!nm) {
		s->oom = true;
		return CTXD_FS_WALK_STOP;
	}
	s->v[s->n++] = (struct sized){.name = nm, .type = (int)e->type, .size = size};
	return CTXD_FS_WALK_SKIP;
}

static int by_size(const void *a, const void *b)
{
	const struct sized *x = a, *y = b;
	if (x->size != y->size) {
		return x->size < y->size ? 1 : -1; /* largest first */
	}
	return strcmp(x->name, y->name);
}

static void human(unsigned long long b, char *out, size_t n)
{
	static const char *const units[] = {"B", "KB", "MB", "GB", "TB"};
	double v = (double)b;
	unsigned u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0) {
		snprintf(out, n, "%llu B", b);
	} else {
		snprintf(out, n, "%.2f %s", v, units[u]);
	}
}

static const char *kind(int t)
{
	return t == CTXD_FS_WALK_FILE      ? "file"
	       : t == CTXD_FS_WALK_DIR     ? "directory"
	       : t == CTXD_FS_WALK_SYMLINK ? "symlink"
					   : "other";
}

json_t *ctxd_fs_list_with_sizes(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *sort = json_string_value(json_object_get(args, "sortBy"));
	bool size_sort = sort && strcmp(sort, "size") == 0;
	if (sort && !size_sort && strcmp(sort, "name") != 0) {
		return ctxd_fs_fail("argument 'sortBy' must be \"name\" or \"size\"");
	}
	struct ctxd_fs_arg a;
	json_t *res = ctxd_fs_open_arg(ctx, args, O_PATH | O_DIRECTORY, CTXD_FS_ARG_DIR_HINT, &a);
	if (res) {
		return res;
	}
	struct sizes_state s = {.max = ctxd_fs_cfg_entries(ctx)};
	struct ctxd_fs_walk_opts o = {
	    .max_depth = 1,
	    .sorted = true,
	    .job = ctx->job,
	    .visit = sizes_visit,
	    .ud = &s,
	};
	int rc = ctxd_fs_walk(a.fd, &o, NULL);
	close(a.fd);
	json_t *entries = NULL;
	struct ctxd_strbuf t = {0};
	if (s.oom || rc == -ENOMEM) {
		goto out;
	}
	if (rc < 0) {
		res = ctxd_fs_fail("cannot list '%s': %s", a.loc.abs, strerror(-rc));
		goto out;
	}
	if (size_sort && s.n > 1) {
		qsort(s.v, s.n, sizeof(*s.v), by_size);
	}
	entries = json_array();
	unsigned long long total = 0;
	size_t files = 0, dirs = 0;
	for (size_t i = 0; entries && i < s.n; i++) {
		const struct sized *e = &s.v[i];
		json_t *nm = ctxd_utf8_json(e->name, strlen(e->name));
		json_t *j = nm ? json_pack("{s:O, s:s, s:I}", "name", nm, "type", kind(e->type),
					   "size", (json_int_t)e->size)
			       : NULL;
		if (!j || json_array_append_new(entries, j) < 0) {
			json_decref(nm);
			goto out;
		}
		char hs[32];
		human(e->size, hs, sizeof(hs));
		if (e->type == CTXD_FS_WALK_DIR) {
			dirs++;
			ctxd_strbuf_printf(&t, "[DIR]  %s\n", json_string_value(nm));
		} else {
			files++;
			total += e->size;
			ctxd_strbuf_printf(&t, "%s %-30s %10s\n",
					   e->type == CTXD_FS_WALK_FILE      ? "[FILE]"
					   : e->type == CTXD_FS_WALK_SYMLINK ? "[LINK]"
									     : "[OTHER]",
					   json_string_value(nm),
					   e->type == CTXD_FS_WALK_FILE ? hs : "");
		}
		json_decref(nm);
	}
	if (!entries) {
		goto out;
	}
	char ts[32];
	human(total, ts, sizeof(ts));
	ctxd_strbuf_printf(&t, "\nTotal: %zu files, %zu directories\nCombined size: %s", files,
			   dirs, ts);
	if (s.truncated) {
		ctxd_strbuf_printf(&t, "\n(truncated: only the first %zu entries are listed)",
				   s.max);
	}
	if (t.oom) {
		goto out;
	}
	res = ctxd_tool_result(t.p, json_pack("{s:s, s:O, s:I, s:I, s:I, s:b}", "path", a.loc.abs,
					      "entries", entries, "totalFiles", (json_int_t)files,
					      "totalDirectories", (json_int_t)dirs, "totalSize",
					      (json_int_t)total, "truncated", s.truncated));
out:
	json_decref(entries);
	for (size_t i = 0; i < s.n; i++) {
		free(s.v[i].name);
	}
	free(s.v);
	free(t.p);
	return res;
}

/* ---- directory_tree --------------------------------------------------------------- */

#define TREE_MAX_DEPTH 256

struct tree_state {
	json_t *stack[TREE_MAX_DEPTH + 1]; /* stack[d]: children array at depth d (borrowed) */
	struct ctxd_fs_globs ex;           /* excludePatterns, compiled */
	json_t *kinds[4];                  /* shared "type" strings, one per kind */
	struct ctxd_strbuf text;           /* the indented listing for the text block */
	size_t n, max;
	unsigned max_depth;
	size_t too_deep; /* entries below TREE_MAX_DEPTH, not shown */
	bool truncated, oom;
};

static bool tree_exclude(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct tree_state *s = ud;
	return ctxd_fs_globs_match(&s->ex, e->rel, e->rel_len, e->name);
}

static int tree_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct tree_state *s = ud;
	if (s->n >= s->max) {
		s->truncated = true;
		return CTXD_FS_WALK_STOP;
	}
	if (e->depth > TREE_MAX_DEPTH) {
		s->too_deep++;
		return CTXD_FS_WALK_SKIP;
	}
	/* Built with the plain API (json_pack parses its format on every call) and one shared
	 * string per type: a 10,000-entry tree makes 10,000 nodes. */
	int k = (int)e->type;
	if (k < 0 || k > 3) {
		k = 3;
	}
	if (!s->kinds[k]) {
		s->kinds[k] = json_string(kind(k));
	}
	json_t *name = ctxd_utf8_json(e->name, e->name_len);
	json_t *node = json_object();
	if (!name || !node || !s->kinds[k] || json_object_set_new_nocheck(node, "name", name) < 0 ||
	    json_object_set_nocheck(node, "type", s->kinds[k]) < 0 ||
	    json_array_append_new(s->stack[e->depth - 1], node) < 0) {
		if (!node) {
			json_decref(name);
		}
		s->oom = true;
		return CTXD_FS_WALK_STOP;
	}
	/* text: two spaces per level, directories end in '/' */
	for (unsigned d = 1; d < e->depth; d++) {
		ctxd_strbuf_add(&s->text, "  ", 2);
	}
	ctxd_strbuf_add(&s->text, json_string_value(name), json_string_length(name));
	ctxd_strbuf_add(&s->text, e->type == CTXD_FS_WALK_DIR ? "/\n" : "\n",
			e->type == CTXD_FS_WALK_DIR ? 2 : 1);
	s->n++;
	if (e->type == CTXD_FS_WALK_DIR && (s->max_depth == 0 || e->depth < s->max_depth) &&
	    e->depth < TREE_MAX_DEPTH) {
		json_t *kids = json_array();
		if (!kids || json_object_set_new(node, "children", kids) < 0) {
			s->oom = true;
			return CTXD_FS_WALK_STOP;
		}
		s->stack[e->depth] = kids;
	}
	return CTXD_FS_WALK_CONTINUE;
}

/* Compile excludePatterns into s->ex; false with *res set (NULL when out of memory) when
 * one is not a non-empty glob of a usable length. */
static bool tree_excludes(json_t *args, struct tree_state *s, json_t **res)
{
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(args, "excludePatterns"), i, v)
	{
		if (!json_is_string(v) || json_string_length(v) == 0) {
			*res = ctxd_fs_fail(
			    "argument 'excludePatterns[%zu]' must be a non-empty glob", i);
			return false;
		}
		int rc = ctxd_fs_globs_add(&s->ex, json_string_value(v), json_string_length(v));
		if (rc < 0) {
			*res = rc == -E2BIG
				   ? ctxd_fs_fail("argument 'excludePatterns[%zu]' is longer than "
						  "%d bytes: shorten the glob",
						  i, CTXD_FS_GLOB_MAX)
				   : NULL;
			return false;
		}
	}
	return true;
}

/* Append to the listing t the notes on what the tree leaves out, and each reason to why. */
static void tree_notes(const struct tree_state *s, const struct ctxd_fs_walk_stats *st,
		       bool timed_out, struct ctxd_strbuf *t, json_t *why)
{
	if (s->n == 0) {
		ctxd_strbuf_str(t, "(empty directory)\n");
	}
	if (s->truncated) {
		ctxd_strbuf_printf(
		    t, "\n(truncated after %zu entries: use maxDepth or excludePatterns)", s->max);
		json_array_append_new(why, json_string("entries"));
	}
	if (timed_out) {
		ctxd_strbuf_str(t, "\n(stopped at the call's time limit (limits.call_ms): the tree "
				   "is incomplete; list a smaller directory)");
		json_array_append_new(why, json_string("deadline"));
	}
	if (s->too_deep + st->too_long) {
		ctxd_strbuf_printf(t,
				   "\n(%zu entries lie deeper than %d levels or the %d-byte path "
				   "limit and are not shown: call directory_tree on a deeper "
				   "directory to see them)",
				   s->too_deep + st->too_long, TREE_MAX_DEPTH, CTXD_PATH_MAX);
		json_array_append_new(why, json_string("depth"));
	}
	if (st->unreadable) {
		ctxd_strbuf_printf(
		    t,
		    "\n(%zu directories could not be read and were skipped: the tree "
		    "may be incomplete)",
		    st->unreadable);
	}
}

/* The tool result: the indented listing as text, the JSON tree (borrowed, not stolen) in
 * structuredContent; NULL when out of memory. */
static json_t *tree_result(struct tree_state *s, const char *base, json_t *tree,
			   const struct ctxd_fs_walk_stats *st, bool timed_out)
{
	/* The text block is an indented listing (same facts as the JSON tree, far fewer
	 * tokens than escaped JSON); names were made valid UTF-8 by ctxd_utf8_json. */
	struct ctxd_strbuf t = s->text;
	s->text = (struct ctxd_strbuf){0};
	json_t *why = json_array();
	tree_notes(s, st, timed_out, &t, why);
	json_t *text = t.oom ? NULL : json_stringn_nocheck(t.p, t.len);
	free(t.p);
	json_t *sc =
	    text ? json_pack("{s:s, s:O, s:I, s:b, s:I}", "path", base, "tree", tree, "entries",
			     (json_int_t)s->n, "truncated", json_array_size(why) > 0, "unreadable",
			     (json_int_t)st->unreadable)
		 : NULL;
	if (sc && json_array_size(why)) {
		json_object_set(sc, "truncatedReasons", why);
	}
	json_decref(why);
	json_t *res = sc ? json_pack("{s:[{s:s, s:o}], s:o}", "content", "type", "text", "text",
				     text, "structuredContent", sc)
			 : NULL;
	if (!sc) {
		json_decref(text);
	}
	return res;
}

json_t *ctxd_fs_directory_tree(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct tree_state s = {.max = ctxd_fs_cfg_entries(ctx)};
	json_t *res = NULL;
	if (!tree_excludes(args, &s, &res)) {
		ctxd_fs_globs_finish(&s.ex);
		return res;
	}
	json_t *md = json_object_get(args, "maxDepth");
	if (json_is_integer(md) && json_integer_value(md) > 0) {
		s.max_depth = json_integer_value(md) > TREE_MAX_DEPTH
				  ? TREE_MAX_DEPTH
				  : (unsigned)json_integer_value(md);
	}
	struct ctxd_fs_arg a;
	res = ctxd_fs_open_arg(ctx, args, O_PATH | O_DIRECTORY, 0, &a);
	if (res) {
		ctxd_fs_globs_finish(&s.ex);
		return res;
	}
	json_t *tree = json_array();
	s.stack[0] = tree;
	struct ctxd_fs_walk_opts o = {
	    .max_depth = s.max_depth,
	    .sorted = true,
	    .job = ctx->job,
	    .deadline_ms = ctx->deadline_ms,
	    .progress = ctx->progress,
	    .exclude = s.ex.n ? tree_exclude : NULL,
	    .visit = tree_visit,
	    .ud = &s,
	};
	struct ctxd_fs_walk_stats st = {0};
	int rc = tree ? ctxd_fs_walk(a.fd, &o, &st) : -ENOMEM;
	close(a.fd);
	bool timed_out = rc == -ETIMEDOUT;
	if (s.oom || rc == -ENOMEM) {
		res = NULL;
	} else if (rc == -ECANCELED) {
		res = ctxd_fs_fail("directory_tree of '%s' cancelled", a.loc.abs);
	} else if (rc < 0 && !timed_out) {
		res = ctxd_fs_fail("cannot read '%s': %s", a.loc.abs, strerror(-rc));
	} else {
		res = tree_result(&s, a.loc.abs, tree, &st, timed_out);
	}
	json_decref(tree);
	for (int k = 0; k < 4; k++) {
		json_decref(s.kinds[k]);
	}
	free(s.text.p);
	ctxd_fs_globs_finish(&s.ex);
	return res;
}
