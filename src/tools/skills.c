/* tools/skills.c - the Agent Skills surface: the skill_* tools, one prompt per skill, the
 * `skill://` resources (SKILL.md and bundled files) and the SEP-2640 skills/list and
 * skills/get methods, all over the catalogue snapshot of skills.c.
 *
 * Every file read goes through ctxd_skills_open_file, confined to the skill's folder.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unistr.h>

#include "ctxd/fsutil.h"
#include "ctxd/skills.h"
#include "ctxd/strbuf.h"
#include "schemas/schemas.h"

#define BINARY_PROBE     8192u
#define RESOURCE_MAX     ((size_t)16 << 20) /* SEP-2640 per-skill total */
#define DESCRIBE_MAX     8192u
#define DEFAULT_READ_MAX ((size_t)256 << 10)

/* ---- helpers -------------------------------------------------------------------------- */

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a path cut by the buffer may end mid-sequence: drop a partial tail */
	size_t n = strlen(msg);
	for (int k = 0; k < 4 && n > 0; k++) {
		json_t *j = json_stringn(msg, n);
		if (j) {
			json_decref(j);
			break;
		}
		n--;
	}
	msg[n] = '\0';
	return ctxd_tool_error("%s", msg);
}

/* A JSON string from disk text (a path): invalid UTF-8 bytes become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	if (j) {
		return j;
	}
	char *c = strdup(s);
	if (!c) {
		return NULL;
	}
	for (unsigned char *p = (unsigned char *)c; *p; p++) {
		if (*p >= 0x80) {
			*p = '?';
		}
	}
	j = json_string(c);
	free(c);
	return j;
}

static bool is_text(const char *buf, size_t len)
{
	size_t probe = len < BINARY_PROBE ? len : BINARY_PROBE;
	if (memchr(buf, '\0', probe)) {
		return false;
	}
	/* valid UTF-8, tolerating a sequence cut at the end of a truncated read */
	json_t *j = json_stringn(buf, len);
	if (j) {
		json_decref(j);
		return true;
	}
	for (size_t cut = 1; cut < 4 && cut < len; cut++) {
		j = json_stringn(buf, len - cut);
		if (j) {
			json_decref(j);
			return true;
		}
	}
	return false;
}

static char *b64(const unsigned char *buf, size_t len)
{
	return ctxd_base64_encode(buf, len, NULL);
}

static const char *mime_of(const char *path)
{
	static const char *const map[][2] = {
		{".md", "text/markdown"},      {".markdown", "text/markdown"},
		{".txt", "text/plain"},        {".py", "text/x-python"},
		{".sh", "text/x-shellscript"}, {".js", "text/javascript"},
		{".ts", "text/x-typescript"},  {".json", "application/json"},
		{".yaml", "application/yaml"}, {".yml", "application/yaml"},
		{".html", "text/html"},        {".css", "text/css"},
		{".csv", "text/csv"},          {".xml", "application/xml"},
		{".png", "image/png"},         {".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"},       {".gif", "image/gif"},
		{".svg", "image/svg+xml"},     {".pdf", "application/pdf"},
	};
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	if (!dot || (slash && dot < slash)) {
		return NULL;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcasecmp(dot, map[i][0]) == 0) {
			return map[i][1];
		}
	}
	return NULL;
}

/* read_file's code for an entry that is not a regular file (FIFO, socket, device): such
 * files are refused (opened with O_NONBLOCK, so refusing never blocks). */
#define NOT_REGULAR ENXIO

/* Open a skill file for reading and check it is a regular file. Returns the fd (fills
 * *st) or -errno (-EISDIR, -NOT_REGULAR, -ENOENT ...). */
static int open_regular(struct ctxd_skills *sk, const struct ctxd_skill *k, const char *rel,
			struct stat *st)
{
	int fd = ctxd_skills_open_file(sk, k, rel, O_RDONLY);
	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, st) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	if (!S_ISREG(st->st_mode)) {
		int e = S_ISDIR(st->st_mode) ? EISDIR : NOT_REGULAR;
		close(fd);
		return -e;
	}
	return fd;
}

/* Why a skill file could not be read, as a phrase for a message. */
static const char *read_problem(int rc, char *buf, size_t n)
{
	switch (-rc) {
	case EACCES:
		return "the path must stay inside the skill folder (relative, no '..', no symlink "
		       "leaving it)";
	case NOT_REGULAR:
		return "it is not a regular file (a FIFO, socket or device); only files are read";
	case ENOENT:
		return "no such file in the skill folder (skill_activate lists the bundled files)";
	default:
		return ctxd_skills_why(-rc, buf, n);
	}
}

/* Read up to `max` bytes of a skill file. Returns 0 (sets *out, *len, *total) or -errno. */
static int read_file(struct ctxd_skills *sk, const struct ctxd_skill *k, const char *rel,
		     size_t max, char **out, size_t *len, size_t *total)
{
	struct stat st;
	int fd = open_regular(sk, k, rel, &st);
	if (fd < 0) {
		return fd;
	}
	size_t want = (size_t)st.st_size < max ? (size_t)st.st_size : max;
	char *buf = malloc(want + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t r = read(fd, buf + got, want - got);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	*total = (size_t)st.st_size;
	return 0;
}

static bool has_file(const struct ctxd_skill *k, const char *rel)
{
	if (strcmp(rel, "SKILL.md") == 0) {
		return true;
	}
	for (size_t i = 0; i < k->n_files; i++) {
		if (strcmp(k->files[i], rel) == 0) {
			return true;
		}
	}
	return false;
}

static size_t read_max(const struct ctxd_skills *sk)
{
	const struct ctxd_config *cfg = ctxd_skills_config(sk);
	return cfg && cfg->max_read_bytes ? cfg->max_read_bytes : DEFAULT_READ_MAX;
}

/* The activated body of `k` with `args` (may be NULL): 0 with *out set (caller frees),
 * -E2BIG when it would pass the cap (then `msg`, of size `n`, says so for the model), or
 * -ENOMEM. The cap is limits.read_bytes, or the body plus the arguments when that is
 * larger: arguments can never amplify a body past it. */
static int activate(const struct ctxd_skills *sk, const struct ctxd_skill *k, const char *args,
		    char **out, char *msg, size_t n)
{
	size_t plain = k->doc->body_len + (args ? strlen(args) : 0) + 16;
	size_t cap = read_max(sk) > plain ? read_max(sk) : plain;
	int rc = ctxd_skills_substitute(k->doc->body, args, k->doc->arg_names,
					k->doc->n_arg_names, cap, out, NULL);
	if (rc == -E2BIG) {
		snprintf(msg, n,
			 "skill '%s' with these arguments would expand to more than %zu bytes (the "
			 "read limit, limits.read_bytes): its instructions repeat the placeholders "
			 "many times. Pass shorter arguments, or activate it without arguments and "
			 "apply them yourself", k->name, cap);
	}
	return rc;
}

static json_t *unknown_skill(const struct ctxd_skills_snapshot *snap, const char *name)
{
	char avail[600] = "";
	size_t w = 0, i = 0;
	for (; i < snap->n_skills && w + 70 < sizeof(avail); i++) {
		w += (size_t)snprintf(avail + w, sizeof(avail) - w, "%s%.64s", i ? ", " : "",
				      snap->skills[i].name);
	}
	return fail("unknown skill '%.64s'; available: %s%s (see skill_list; skill_diagnostics "
		    "explains skipped skills)", name, snap->n_skills ? avail : "none",
		    i < snap->n_skills ? ", ..." : "");
}

/* ---- tools ---------------------------------------------------------------------------- */

static json_t *skill_list(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_skills *sk = ctx->ud;
	const char *query = json_string_value(json_object_get(args, "query"));
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	bool cacheable = !query || !*query;
	json_t *cached = cacheable ? __atomic_load_n(&snap->list_cache, __ATOMIC_ACQUIRE) : NULL;
	if (cached) {
		/* a new top level sharing the cached parts: callers only add keys to the top
		 * level (resultType), nothing below it is ever changed */
		json_t *copy = json_copy(cached);
		ctxd_skills_snapshot_put(snap);
		return copy;
	}
	json_t *arr = json_array();
	char *text = NULL;
	size_t tn = 0;
	FILE *f = open_memstream(&text, &tn);
	size_t shown = 0, skipped = snap->n_skipped;
	for (size_t i = 0; arr && f && i < snap->n_skills; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		if (query && *query && !strcasestr(k->name, query) &&
		    !strcasestr(k->doc->description, query)) {
			continue;
		}
		json_t *e = json_object();
		if (!e || json_object_set_new(e, "name", json_string(k->name)) ||
		    json_object_set_new(e, "description", json_string(k->doc->description)) ||
		    json_object_set_new(e, "location", jstr(k->skill_md)) ||
		    json_object_set_new(e, "files", json_integer((json_int_t)k->n_files)) ||
		    json_array_append_new(arr, e)) {
			json_decref(e);
			json_decref(arr);
			arr = NULL;
			break;
		}
		fprintf(f, "- %s: %s\n  (%s; %zu bundled file%s)\n", k->name,
			k->doc->description, k->skill_md, k->n_files, k->n_files == 1 ? "" : "s");
		shown++;
	}
	if (f) {
		if (shown == 0) {
			fprintf(f, "No skills%s%s%s.", query && *query ? " match '" : "",
				query && *query ? query : "", query && *query ? "'" : "");
		}
		if (skipped) {
			fprintf(f, "\n%zu skill%s skipped: see skill_diagnostics.", skipped,
				skipped == 1 ? " was" : "s were");
		}
	}
	json_t *res = NULL;
	if (f && fclose(f) == 0 && arr) {
		json_t *st = json_pack("{s:o, s:I, s:I}", "skills", arr, "total",
				       (json_int_t)snap->n_skills, "skipped", (json_int_t)skipped);
		arr = NULL;
		res = st ? ctxd_tool_result(text, st) : NULL;
	}
	json_decref(arr);
	free(text);
	if (res && cacheable) {
		/* publish for later calls; if another worker won the race, keep theirs */
		json_t *expected = NULL;
		json_t *mine = json_copy(res); /* shallow: see above */
		if (mine && !__atomic_compare_exchange_n(&snap->list_cache, &expected, mine, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			json_decref(mine);
		}
	}
	ctxd_skills_snapshot_put(snap);
	return res;
}

static json_t *skill_activate(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_skills *sk = ctx->ud;
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *arguments = json_string_value(json_object_get(args, "arguments"));
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_skills_find(snap, name ? name : "");
	if (!k) {
		json_t *r = unknown_skill(snap, name ? name : "");
		ctxd_skills_snapshot_put(snap);
		return r;
	}
	char *body = NULL, msg[600];
	int rc = activate(sk, k, arguments, &body, msg, sizeof(msg));
	if (rc == -E2BIG) {
		ctxd_skills_snapshot_put(snap);
		return fail("%s", msg);
	}
	json_t *files = json_array();
	struct ctxd_strbuf t = {0};
	json_t *res = NULL;
	if (rc == 0 && files) {
		ctxd_strbuf_printf(&t, "Skill: %s\nBase directory: %s\n\n", k->name, k->dir);
		ctxd_strbuf_str(&t, body);
		if (k->n_files) {
			ctxd_strbuf_str(&t, "\n\nBundled files (paths relative to the base "
					    "directory; read one with skill_read_file):");
		}
		for (size_t i = 0; i < k->n_files; i++) {
			ctxd_strbuf_printf(&t, "\n- %s", k->files[i]);
			if (json_array_append_new(files, jstr(k->files[i])) < 0) {
				t.oom = true;
				break;
			}
		}
		if (!t.oom) {
			json_t *st = json_pack("{s:s, s:o, s:s, s:O}", "name", k->name, "baseDir",
					       jstr(k->dir), "body", body, "files", files);
			res = st ? ctxd_tool_result(t.p, st) : NULL;
		}
	}
	json_decref(files);
	free(t.p);
	free(body);
	ctxd_skills_snapshot_put(snap);
	return res;
}

/* ---- skill_read_file: windows like read_text_file ------------------------------------ */

#define READ_CHUNK      ((size_t)64 << 10)
#define LINE_COUNT_MAX  ((size_t)16 << 20) /* count every line of files up to this size */

/* A copy of s[0, n) with each invalid UTF-8 byte replaced by U+FFFD; *replaced counts
 * them. NULL on ENOMEM. */
static char *utf8_repair(const char *s, size_t n, size_t *out_len, size_t *replaced)
{
	struct ctxd_strbuf b = {0};
	*replaced = 0;
	const uint8_t *p = (const uint8_t *)s, *e = p + n;
	while (p < e) {
		const uint8_t *bad = u8_check(p, (size_t)(e - p));
		size_t ok = bad ? (size_t)(bad - p) : (size_t)(e - p);
		ctxd_strbuf_add(&b, (const char *)p, ok);
		if (!bad) {
			break;
		}
		ctxd_strbuf_add(&b, "\xEF\xBF\xBD", 3);
		(*replaced)++;
		p = bad + 1;
	}
	if (b.oom || (!b.p && !(b.p = calloc(1, 1)))) {
		free(b.p);
		return NULL;
	}
	*out_len = b.len;
	return b.p;
}

/* Keep s[0, n) from ending inside a UTF-8 sequence: the length to keep. */
static size_t utf8_cut(const char *s, size_t n)
{
	size_t back = 0;
	while (back < 4 && back < n && ((unsigned char)s[n - 1 - back] & 0xC0) == 0x80) {
		back++;
	}
	if (back < n) {
		unsigned char lead = (unsigned char)s[n - 1 - back];
		size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
		if (need > back + 1) {
			return n - 1 - back;
		}
	}
	return n;
}

struct window {
	size_t offset, limit;       /* text: first line (1-based) and lines; binary: bytes */
	bool has_offset, has_limit;
};

/* The state of reading a line window from a stream of chunks. */
struct text_read {
	struct ctxd_strbuf out;
	size_t line, line_start, end_line, next;
	bool done, truncated, partial;
	char last;
	size_t fed;
};

static void text_feed(struct text_read *r, const struct window *w, size_t cap, const char *p,
		      size_t n)
{
	const char *e = p + n;
	if (n) {
		r->last = p[n - 1];
		r->fed += n;
	}
	while (p < e) {
		const char *q = memchr(p, '\n', (size_t)(e - p));
		if (r->done || r->line < w->offset) {
			if (!q) {
				return;
			}
			r->line++;
			p = q + 1;
			continue;
		}
		if (w->has_limit && r->line >= w->offset + w->limit) {
			r->done = true;
			r->end_line = r->line - 1;
			r->next = r->line;
			continue;
		}
		size_t seg = q ? (size_t)(q + 1 - p) : (size_t)(e - p);
		if (r->out.len + seg > cap) {
			r->truncated = r->done = true;
			if (r->line == w->offset) {
				ctxd_strbuf_add(&r->out, p, cap - r->out.len);
				r->out.len = utf8_cut(r->out.p ? r->out.p : "", r->out.len);
				r->partial = true;
				r->end_line = r->line;
				r->next = r->line + 1;
			} else {
				r->out.len = r->line_start;
				r->end_line = r->line - 1;
				r->next = r->line;
			}
			continue;
		}
		ctxd_strbuf_add(&r->out, p, seg);
		p += seg;
		if (q) {
			r->line++;
			r->line_start = r->out.len;
		}
	}
}

/* Lines [w->offset, w->offset + w->limit) of the open text file `fd`, at most `cap` bytes
 * (whole lines; a first line longer than the cap is cut). Fills `sc` with content,
 * truncated, startLine, endLine, totalLines (when the whole file was counted) and
 * nextOffset (when more lines follow), and `note` with the text that says so. Returns
 * `sc`, an isError result (bad offset, cancelled), or NULL on ENOMEM. */
static json_t *read_text_window(const struct ctxd_tool_ctx *ctx, int fd, const struct stat *st,
				const struct window *w, size_t cap, json_t *sc,
				struct ctxd_strbuf *note)
{
	struct text_read r = {.line = 1};
	size_t fsize = (size_t)st->st_size;
	bool count_all = fsize <= LINE_COUNT_MAX;
	char *buf = malloc(READ_CHUNK);
	if (!buf) {
		return NULL;
	}
	bool eof = false;
	for (off_t off = 0;;) {
		if (ctxd_job_cancelled(ctx->job)) {
			free(buf);
			free(r.out.p);
			return fail("read cancelled");
		}
		ssize_t got = pread(fd, buf, READ_CHUNK, off);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0) {
			eof = true;
			break;
		}
		text_feed(&r, w, cap, buf, (size_t)got);
		off += got;
		if (r.done && !count_all) {
			break;
		}
	}
	free(buf);
	size_t total = r.line - 1 + (r.fed > 0 && r.last != '\n' ? 1 : 0);
	if (eof && w->offset > 1 && w->offset > total) {
		free(r.out.p);
		return fail("argument 'offset' (%zu) is past the end of the file, which has %zu "
			    "line%s", w->offset, total, total == 1 ? "" : "s");
	}
	if (!r.done) {
		r.end_line = total >= w->offset ? total : w->offset - 1;
	}
	size_t fixed_len = 0, replaced = 0;
	char *text = r.out.oom ? NULL : utf8_repair(r.out.p ? r.out.p : "", r.out.len, &fixed_len,
						    &replaced);
	free(r.out.p);
	if (!text) {
		return NULL;
	}
	json_t *content = json_stringn(text, fixed_len);
	free(text);
	bool more = r.done && (!eof || r.next <= total);
	if (!content || json_object_set_new(sc, "content", content) < 0 ||
	    json_object_set_new(sc, "truncated", json_boolean(r.truncated)) < 0 ||
	    json_object_set_new(sc, "startLine", json_integer((json_int_t)w->offset)) < 0 ||
	    json_object_set_new(sc, "endLine", json_integer((json_int_t)r.end_line)) < 0 ||
	    (eof && json_object_set_new(sc, "totalLines", json_integer((json_int_t)total)) < 0) ||
	    (more && json_object_set_new(sc, "nextOffset", json_integer((json_int_t)r.next)) < 0)) {
		return NULL;
	}
	if (r.truncated && r.partial) {
		ctxd_strbuf_printf(note, "\n[truncated: line %zu alone is longer than the %zu-byte "
				   "read limit; only its first %zu bytes are shown", w->offset, cap,
				   fixed_len);
	} else if (r.truncated) {
		ctxd_strbuf_printf(note, "\n[truncated at the %zu-byte read limit: lines %zu-%zu "
				   "shown", cap, w->offset, r.end_line);
	}
	if (more) {
		ctxd_strbuf_printf(note, "%s; continue with offset %zu]",
				   r.truncated ? "" : "\n[more lines follow", r.next);
	} else if (r.truncated) {
		ctxd_strbuf_str(note, "]");
	}
	if (replaced) {
		ctxd_strbuf_printf(note, "\n[%zu byte%s that are not valid UTF-8 shown as U+FFFD]",
				   replaced, replaced == 1 ? "" : "s");
	}
	return sc;
}

/* Bytes [w->offset, w->offset + w->limit) of a binary file, at most `cap`, base64, with
 * truncated, offset and nextOffset in `sc`. Returns as read_text_window does. */
static json_t *read_binary_window(int fd, const struct stat *st, const struct window *w,
				  size_t cap, json_t *sc, struct ctxd_strbuf *note)
{
	size_t size = (size_t)st->st_size, off = w->has_offset ? w->offset : 0;
	if (off > size || (off == size && size > 0)) {
		return fail("argument 'offset' (%zu) is past the end of the file, which has %zu "
			    "byte%s", off, size, size == 1 ? "" : "s");
	}
	size_t n = size - off;
	bool capped = n > cap && (!w->has_limit || w->limit > cap);
	if (w->has_limit && w->limit < n) {
		n = w->limit;
	}
	if (n > cap) {
		n = cap;
	}
	char *buf = malloc(n ? n : 1);
	if (!buf) {
		return NULL;
	}
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + got));
		if (k < 0 && errno == EINTR) {
			continue;
		}
		if (k <= 0) {
			break;
		}
		got += (size_t)k;
	}
	char *enc = b64((unsigned char *)buf, got);
	free(buf);
	if (!enc) {
		return NULL;
	}
	json_t *content = json_string(enc);
	free(enc);
	bool more = off + got < size;
	if (!content || json_object_set_new(sc, "content", content) < 0 ||
	    json_object_set_new(sc, "truncated", json_boolean(capped)) < 0 ||
	    json_object_set_new(sc, "offset", json_integer((json_int_t)off)) < 0 ||
	    (more && json_object_set_new(sc, "nextOffset",
					 json_integer((json_int_t)(off + got))) < 0)) {
		return NULL;
	}
	ctxd_strbuf_printf(note, "\n[bytes %zu-%zu of %zu%s", off, off + got, size,
			   capped ? ", cut at the read limit" : "");
	if (more) {
		ctxd_strbuf_printf(note, "; continue with offset %zu", off + got);
	}
	ctxd_strbuf_str(note, "]");
	return sc;
}

static bool uint_arg(json_t *args, const char *key, size_t *v)
{
	json_t *j = json_object_get(args, key);
	if (!json_is_integer(j)) {
		return false;
	}
	json_int_t x = json_integer_value(j);
	*v = x < 0 ? 0 : (size_t)x;
	return true;
}

static json_t *skill_read_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_skills *sk = ctx->ud;
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *path = json_string_value(json_object_get(args, "path"));
	struct window w = {.offset = 1};
	w.has_offset = uint_arg(args, "offset", &w.offset);
	w.has_limit = uint_arg(args, "limit", &w.limit);
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_skills_find(snap, name ? name : "");
	json_t *res;
	if (!k) {
		res = unknown_skill(snap, name ? name : "");
		ctxd_skills_snapshot_put(snap);
		return res;
	}
	struct stat st;
	int fd = open_regular(sk, k, path ? path : "", &st);
	if (fd < 0) {
		char why[64];
		res = fail("cannot read '%.300s' of skill '%s': %s", path ? path : "", k->name,
			   read_problem(fd, why, sizeof(why)));
		ctxd_skills_snapshot_put(snap);
		return res;
	}
	/* text or binary, decided by the file's first bytes whatever the window */
	char probe[BINARY_PROBE];
	ssize_t pn = pread(fd, probe, sizeof(probe), 0);
	bool text = pn >= 0 && is_text(probe, (size_t)pn);
	const char *mime = mime_of(path);
	size_t cap = read_max(sk);
	json_t *sc = json_pack("{s:s, s:s, s:I, s:s}", "name", k->name, "path", path, "size",
			       (json_int_t)st.st_size, "encoding", text ? "utf-8" : "base64");
	if (sc && (mime || !text)) {
		json_object_set_new(sc, "mimeType",
				    json_string(mime ? mime : "application/octet-stream"));
	}
	struct ctxd_strbuf note = {0};
	json_t *got = NULL;
	if (sc && text && w.has_offset && w.offset < 1) {
		got = fail("argument 'offset' must be at least 1 for a text file (lines are "
			   "counted from 1)");
	} else if (sc) {
		got = text ? read_text_window(ctx, fd, &st, &w, cap, sc, &note)
			   : read_binary_window(fd, &st, &w, cap, sc, &note);
	}
	close(fd);
	res = NULL;
	if (got && got != sc) {
		res = got; /* an error result */
		json_decref(sc);
	} else if (got) {
		struct ctxd_strbuf t = {0};
		if (!text) {
			ctxd_strbuf_printf(&t, "Binary file %s (%jd bytes), base64:\n", path,
					   (intmax_t)st.st_size);
		}
		json_t *c = json_object_get(sc, "content");
		ctxd_strbuf_add(&t, json_string_value(c), json_string_length(c));
		ctxd_strbuf_add(&t, note.p ? note.p : "", note.len);
		res = t.oom || note.oom ? NULL : ctxd_tool_result(t.p ? t.p : "", sc);
		if (!res) {
			json_decref(sc);
		}
		free(t.p);
	} else {
		json_decref(sc);
	}
	free(note.p);
	ctxd_skills_snapshot_put(snap);
	return res;
}

static json_t *diag_json(const struct ctxd_skill_diag *d)
{
	json_t *o = json_pack("{s:o, s:s, s:s, s:s}", "file", jstr(d->file), "rule", d->rule,
			      "severity", d->error ? "error" : "warning", "message", d->message);
	if (o && d->line) {
		json_object_set_new(o, "line", json_integer(d->line));
		json_object_set_new(o, "column", json_integer(d->col));
	}
	if (o && d->other) {
		json_object_set_new(o, "shadowedBy", jstr(d->other));
	}
	return o;
}

static json_t *skill_diagnostics(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	(void)args;
	struct ctxd_skills *sk = ctx->ud;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	json_t *arr = json_array();
	char *text = NULL;
	size_t tn = 0;
	FILE *f = open_memstream(&text, &tn);
	for (size_t i = 0; arr && f && i < snap->n_diags; i++) {
		const struct ctxd_skill_diag *d = &snap->diags[i];
		if (json_array_append_new(arr, diag_json(d)) < 0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
		if (d->line) {
			fprintf(f, "%s:%u:%u: %s [%s] %s\n", d->file, d->line, d->col,
				d->error ? "error" : "warning", d->rule, d->message);
		} else {
			fprintf(f, "%s: %s [%s] %s\n", d->file, d->error ? "error" : "warning",
				d->rule, d->message);
		}
	}
	json_t *res = NULL;
	if (f) {
		if (snap->n_diags == 0) {
			fprintf(f, "No problems: all %zu skill%s are valid.", snap->n_skills,
				snap->n_skills == 1 ? "" : "s");
		}
		if (fclose(f) == 0 && arr) {
			json_t *st = json_pack("{s:o, s:I, s:I}", "diagnostics", arr, "validSkills",
					       (json_int_t)snap->n_skills, "directoriesVisited",
					       (json_int_t)snap->dirs_visited);
			arr = NULL;
			res = st ? ctxd_tool_result(text, st) : NULL;
		}
	}
	json_decref(arr);
	free(text);
	ctxd_skills_snapshot_put(snap);
	return res;
}

/* ---- the catalogue in skill_activate's description ---------------------------------- */

#define DESC_MIN 48 /* descriptions are never shortened below this many bytes */

/* One catalogue entry: the description flattened to one line (blanks collapsed). */
struct centry {
	const char *name;
	char *desc;
	size_t name_len, desc_len;
	double specificity; /* information of its description's words (see specificity) */
	bool keep;          /* listed with a description (else by name only) */
};

/* Bytes of the description cut to `cap` bytes (at a UTF-8 boundary, preferably a blank)
 * plus an ellipsis; the whole description when it fits. */
static size_t cut_len(const struct centry *e, size_t cap)
{
	if (e->desc_len <= cap) {
		return e->desc_len;
	}
	size_t n = utf8_cut(e->desc, cap);
	for (size_t k = n; k > 0 && n - k < 24; k--) {
		if (e->desc[k - 1] == ' ') {
			return k - 1;
		}
	}
	return n;
}

/* Size of a catalogue: "\n- name: desc" for kept entries (descriptions cut to `cap`, with
 * "..." when cut), and "\nAlso installed ...: a, b, c" for the names-only ones. */
#define ALSO_HEAD "\nAlso installed (call skill_list for their descriptions): "

static size_t cat_size(const struct centry *e, size_t n, size_t cap)
{
	size_t total = 0, others = 0;
	for (size_t i = 0; i < n; i++) {
		if (e[i].keep) {
			size_t d = cut_len(&e[i], cap);
			total += 5 + e[i].name_len + d + (d < e[i].desc_len ? 3 : 0);
		} else {
			total += e[i].name_len + (others++ ? 2 : 0);
		}
	}
	return total + (others ? strlen(ALSO_HEAD) : 0);
}

static int cmp_word(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A byte of a word: ASCII letters and digits, and every byte of a non-ASCII character. */
static bool ident_like(char c)
{
	unsigned char u = (unsigned char)c;
	return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
	       u >= 0x80;
}

static int cmp_pair(const void *a, const void *b)
{
	const struct {
		char *w;
		size_t i;
	} *x = a, *y = b;
	int c = strcmp(x->w, y->w);
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Words that say nothing about what a skill is for: English function words and the
 * generic verbs and nouns of skill descriptions. Sorted (bsearch). */
static const char *const generic_words[] = {
	"about", "all", "and", "any", "are", "assist", "assists", "can", "for", "from",
	"general", "help", "helper", "helpful", "helps", "how", "into", "its", "make", "many",
	"more", "other", "purpose", "should", "skill", "skills", "some", "such", "task",
	"tasks", "that", "the", "their", "them", "these", "thing", "things", "this", "tool",
	"tools", "use", "used", "useful", "user", "uses", "using", "various", "what", "when",
	"which", "with", "work", "working", "you", "your",
};

static bool generic_word(const char *w)
{
	return bsearch(&w, generic_words, sizeof(generic_words) / sizeof(generic_words[0]),
		       sizeof(generic_words[0]), cmp_word) != NULL;
}

/* Specificity of each description: the sum over its distinct words (3+ letters or digits,
 * lowercased, generic words left out) of log(N / number of skills using the word), the
 * information it gives the model to tell the skill apart. Generic descriptions ("helps
 * with tasks") score near 0. Returns -1 on ENOMEM. */
static int specificity(struct centry *e, size_t n)
{
	struct pair {
		char *w;
		size_t i;
	} *v = NULL;
	size_t nv = 0, cap = 0;
	char **words = calloc(n ? n : 1, sizeof(*words));
	if (!words) {
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		words[i] = strdup(e[i].desc);
		if (!words[i]) {
			rc = -1;
			break;
		}
		for (char *p = words[i]; *p;) {
			while (*p && !ident_like(*p)) {
				p++;
			}
			char *s = p;
			while (*p && ident_like(*p)) {
				*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
				p++;
			}
			bool shortw = p - s < 3;
			if (*p) {
				*p++ = '\0';
			}
			if (shortw || generic_word(s)) {
				continue;
			}
			if (nv == cap) {
				cap = cap ? cap * 2 : 256;
				struct pair *g = realloc(v, cap * sizeof(*g));
				if (!g) {
					rc = -1;
					break;
				}
				v = g;
			}
			v[nv++] = (struct pair){s, i};
		}
	}
	if (rc == 0 && nv > 1) {
		qsort(v, nv, sizeof(*v), cmp_pair);
	}
	for (size_t a = 0; rc == 0 && a < nv;) {
		size_t b = a, df = 0;
		while (b < nv && strcmp(v[b].w, v[a].w) == 0) {
			df += b == a || v[b].i != v[b - 1].i;
			b++;
		}
		double idf = log((double)n / (double)df);
		for (size_t k = a; k < b; k++) {
			if (k == a || v[k].i != v[k - 1].i) {
				e[v[k].i].specificity += idf;
			}
		}
		a = b;
	}
	free(v);
	for (size_t i = 0; i < n; i++) {
		free(words[i]);
	}
	free(words);
	return rc;
}

static int cmp_specific(const void *a, const void *b)
{
	const struct centry *x = *(const struct centry *const *)a;
	const struct centry *y = *(const struct centry *const *)b;
	if (x->specificity != y->specificity) {
		return x->specificity < y->specificity ? -1 : 1;
	}
	return strcmp(y->name, x->name); /* ties: later names lose their description first */
}

/* Choose what fits `budget`: every description whole; else all cut to the largest common
 * length >= DESC_MIN; else the least specific lose their description (listed by name only)
 * until the rest fits at DESC_MIN, then the common length is raised again. Returns the cut
 * length to use, or 0 when even the names alone do not fit. */
static size_t cat_plan(struct centry *e, size_t n, size_t budget)
{
	size_t longest = 0;
	for (size_t i = 0; i < n; i++) {
		e[i].keep = true;
		longest = e[i].desc_len > longest ? e[i].desc_len : longest;
	}
	if (cat_size(e, n, SIZE_MAX) <= budget) {
		return SIZE_MAX;
	}
	if (cat_size(e, n, DESC_MIN) > budget) {
		struct centry **order = malloc((n ? n : 1) * sizeof(*order));
		if (!order || specificity(e, n) < 0) {
			free(order);
			for (size_t i = 0; i < n; i++) {
				e[i].keep = false;
			}
			return cat_size(e, n, DESC_MIN) <= budget ? DESC_MIN : 0;
		}
		for (size_t i = 0; i < n; i++) {
			order[i] = &e[i];
		}
		qsort(order, n, sizeof(*order), cmp_specific);
		/* drop one description at a time, tracking the size incrementally */
		size_t size = cat_size(e, n, DESC_MIN), others = 0;
		for (size_t k = 0; k < n && size > budget; k++) {
			struct centry *x = order[k];
			size_t d = cut_len(x, DESC_MIN);
			size -= 5 + x->name_len + d + (d < x->desc_len ? 3 : 0);
			size += x->name_len + (others ? 2 : strlen(ALSO_HEAD));
			others++;
			x->keep = false;
		}
		free(order);
		if (size > budget) {
			return 0;
		}
	}
	size_t lo = DESC_MIN, hi = longest;
	while (lo < hi) { /* the largest cut that fits */
		size_t mid = lo + (hi - lo + 1) / 2;
		if (cat_size(e, n, mid) <= budget) {
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	return lo;
}

/* The catalogue text for `snap` under `budget` bytes (see cat_plan): every skill's name
 * appears unless the names alone exceed the budget, and then the text says how many are
 * missing and points to skill_list. */
static char *catalogue(const struct ctxd_skills_snapshot *snap, size_t budget)
{
	size_t n = snap->n_skills;
	struct centry *e = calloc(n ? n : 1, sizeof(*e));
	struct ctxd_strbuf b = {0};
	if (!e) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		e[i].name = k->name;
		e[i].name_len = strlen(k->name);
		e[i].desc = strdup(k->doc->description);
		if (!e[i].desc) {
			b.oom = true;
			break;
		}
		/* one line: collapse runs of blanks and newlines */
		size_t w = 0;
		for (const char *p = k->doc->description; *p; p++) {
			bool blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
			if (blank && (w == 0 || e[i].desc[w - 1] == ' ')) {
				continue;
			}
			e[i].desc[w++] = blank ? ' ' : *p;
		}
		while (w > 0 && e[i].desc[w - 1] == ' ') {
			w--;
		}
		e[i].desc[w] = '\0';
		e[i].desc_len = w;
	}
	size_t cut = b.oom ? 0 : cat_plan(e, n, budget);
	if (cut) {
		for (size_t i = 0; i < n; i++) {
			if (e[i].keep) {
				size_t d = cut_len(&e[i], cut);
				ctxd_strbuf_printf(&b, "\n- %s: %.*s%s", e[i].name, (int)d, e[i].desc,
						   d < e[i].desc_len ? "..." : "");
			}
		}
		size_t others = 0;
		for (size_t i = 0; i < n; i++) {
			if (!e[i].keep) {
				ctxd_strbuf_str(&b, others++ ? ", " : ALSO_HEAD);
				ctxd_strbuf_str(&b, e[i].name);
			}
		}
	} else if (!b.oom) {
		/* the names alone exceed the budget: as many as fit, then how many more */
		char tail[160];
		size_t shown = 0;
		ctxd_strbuf_str(&b, "\nInstalled skills (names only): ");
		for (; shown < n; shown++) {
			int tl = snprintf(tail, sizeof(tail), "... and %zu more: call skill_list "
					  "(with a query to narrow it) to see them all.", n - shown);
			if (b.len + e[shown].name_len + 2 + (size_t)tl > budget) {
				break;
			}
			ctxd_strbuf_str(&b, e[shown].name);
			ctxd_strbuf_str(&b, ", ");
		}
		snprintf(tail, sizeof(tail), "... and %zu more: call skill_list (with a query to "
			 "narrow it) to see them all.", n - shown);
		ctxd_strbuf_str(&b, tail);
	}
	for (size_t i = 0; i < n; i++) {
		free(e[i].desc);
	}
	free(e);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p ? b.p : strdup("");
}

static size_t catalogue_budget(const struct ctxd_skills *sk)
{
	const struct ctxd_config *cfg = ctxd_skills_config(sk);
	return cfg && cfg->skills_catalogue_bytes ? cfg->skills_catalogue_bytes : DESCRIBE_MAX;
}

/* skill_activate's description; describe_activate appends the catalogue to it. */
static const char activate_description[] =
	"Load an Agent Skill: its instructions, base directory and bundled files (read those with "
	"skill_read_file). Use a skill when the task matches its description.";

/* The skill_activate description, with the catalogue the model chooses from; built once
 * per snapshot. It waits for the first scan (and for a rescan after the client roots
 * changed), so tools/list never shows a catalogue that is about to change without a
 * list_changed. Worker (tools/list). */
static char *describe_activate(void *ud)
{
	struct ctxd_skills *sk = ud;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	char *cached = __atomic_load_n(&snap->catalogue_cache, __ATOMIC_ACQUIRE);
	if (!cached) {
		char *cat = snap->n_skills ? catalogue(snap, catalogue_budget(sk)) : NULL;
		struct ctxd_strbuf b = {0};
		ctxd_strbuf_str(&b, activate_description);
		ctxd_strbuf_str(&b, snap->n_skills ? "\n\nAvailable skills:"
						   : "\n\nNo skills are installed.");
		if (cat) {
			ctxd_strbuf_str(&b, cat);
		}
		free(cat);
		if (b.oom || (snap->n_skills && !cat)) {
			free(b.p);
			ctxd_skills_snapshot_put(snap);
			return NULL;
		}
		char *expected = NULL;
		if (__atomic_compare_exchange_n(&snap->catalogue_cache, &expected, b.p, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			cached = b.p;
		} else {
			free(b.p);
			cached = expected;
		}
	}
	char *out = strdup(cached);
	ctxd_skills_snapshot_put(snap);
	return out;
}

#define RO_FLAGS (CTXD_TOOL_READ_ONLY | CTXD_TOOL_IDEMPOTENT)

const struct ctxd_tool ctxd_skills_tools[] = {
    {
        .name = "skill_list",
        .title = "List skills",
        .description = "List installed Agent Skills (name, description, location, file count), "
                       "optionally filtered. Broken skills are in skill_diagnostics.",
        .input_schema = ctxd_schema_skill_list_input,
        .output_schema = ctxd_schema_skill_list_output,
        .flags = RO_FLAGS,
        .fn = skill_list,
    },
    {
        .name = "skill_activate",
        .title = "Activate skill",
        .description = activate_description,
        .input_schema = ctxd_schema_skill_activate_input,
        .output_schema = ctxd_schema_skill_activate_output,
        .flags = RO_FLAGS,
        .fn = skill_activate,
        .describe = describe_activate,
    },
    {
        .name = "skill_read_file",
        .title = "Read skill file",
        .description = "Read a file bundled with a skill: text as lines, other files as "
                       "base64; nextOffset continues a capped answer.",
        .input_schema = ctxd_schema_skill_read_file_input,
        .output_schema = ctxd_schema_skill_read_file_output,
        .flags = RO_FLAGS,
        .fn = skill_read_file,
    },
    {
        .name = "skill_diagnostics",
        .title = "Skill diagnostics",
        .description = "Why each skill was skipped, degraded or shadowed: file, line, rule and "
                       "reason.",
        .input_schema = ctxd_schema_skill_diagnostics_input,
        .output_schema = ctxd_schema_skill_diagnostics_output,
        .flags = RO_FLAGS,
        .fn = skill_diagnostics,
    },
};

const size_t ctxd_skills_tools_count = sizeof(ctxd_skills_tools) / sizeof(ctxd_skills_tools[0]);

/* ---- prompts -------------------------------------------------------------------------- */

/* The arguments a skill's prompt declares: the `arguments:` names, else the words of
 * `argument-hint`; NULL (n = 0) for one free-text `arguments` argument. */
static char *const *prompt_args(const struct ctxd_skill *k, size_t *n)
{
	if (k->doc->n_arg_names) {
		*n = k->doc->n_arg_names;
		return k->doc->arg_names;
	}
	*n = k->doc->n_hint_names;
	return k->doc->hint_names;
}

static int prompt_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		       struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < snap->n_skills && rc == 0; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		size_t n;
		char *const *names = prompt_args(k, &n);
		json_t *args = json_array();
		for (size_t j = 0; args && j < n; j++) {
			char d[120];
			snprintf(d, sizeof(d), "Argument %zu of the skill ($%s%s%zu)", j + 1,
				 k->doc->n_arg_names ? names[j] : "", k->doc->n_arg_names ? ", $" : "",
				 j);
			if (json_array_append_new(args, json_pack("{s:s, s:s, s:b}", "name",
								  names[j], "description", d,
								  "required", 0)) < 0) {
				json_decref(args);
				args = NULL;
			}
		}
		if (args && n == 0 &&
		    json_array_append_new(args, json_pack("{s:s, s:s, s:b}", "name", "arguments",
							  "description",
							  "Arguments for the skill ($ARGUMENTS, "
							  "$0, $1 ...)", "required", 0)) < 0) {
			json_decref(args);
			args = NULL;
		}
		json_t *p = args ? json_pack("{s:s, s:s, s:o}", "name", k->name, "description",
					     k->doc->description, "arguments", args)
				 : NULL;
		if (!p || json_array_append_new(out, p) < 0) {
			ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
			rc = -1;
		}
	}
	ctxd_skills_snapshot_put(snap);
	return rc;
}

/* Append `v` to `b` as one shell-style word: bare when it is plain, else single-quoted
 * (a quote inside becomes '\''), so the split in substitution gives it back whole. */
static void shell_word(struct ctxd_strbuf *b, const char *v)
{
	bool plain = *v != '\0';
	for (const char *p = v; *p && plain; p++) {
		plain = !strchr(" \t\r\n'\"\\", *p);
	}
	if (plain) {
		ctxd_strbuf_str(b, v);
		return;
	}
	ctxd_strbuf_str(b, "'");
	for (const char *p = v; *p; p++) {
		if (*p == '\'') {
			ctxd_strbuf_str(b, "'\\''");
		} else {
			ctxd_strbuf_add(b, p, 1);
		}
	}
	ctxd_strbuf_str(b, "'");
}

/* The argument string for a prompts/get of `k`: with declared arguments, their values in
 * declared order, each one word (Claude Code and others send each positional word under
 * its own name, so "src/a.c" and "src/b.c" arrive whole); trailing empty ones dropped;
 * plus a free-text `arguments` value when one is sent. Returns 0 (with *out set, NULL
 * for none; caller frees) or -1 with err set. */
static int prompt_argstring(const struct ctxd_skill *k, json_t *args, char **out,
			    struct ctxd_error *err)
{
	size_t n;
	char *const *names = prompt_args(k, &n);
	const char *key;
	json_t *v;
	*out = NULL;
	json_object_foreach(args, key, v) {
		bool known = strcmp(key, "arguments") == 0;
		for (size_t j = 0; j < n && !known; j++) {
			known = strcmp(key, names[j]) == 0;
		}
		if (!known) {
			struct ctxd_strbuf l = {0};
			for (size_t j = 0; j < n; j++) {
				ctxd_strbuf_printf(&l, "%s%s", j ? ", " : "", names[j]);
			}
			ctxd_error_set(err, CTXD_PROVIDER_INVALID,
				       "unknown argument '%.64s' for prompt '%s' (it takes: %s)", key,
				       k->name, l.p && !l.oom ? l.p : "arguments");
			free(l.p);
			return -1;
		}
		if (!json_is_string(v) && !json_is_null(v)) {
			ctxd_error_set(err, CTXD_PROVIDER_INVALID, "argument '%.64s' must be a string",
				       key);
			return -1;
		}
	}
	size_t last = 0; /* declared arguments up to the last non-empty one */
	for (size_t j = 0; j < n; j++) {
		const char *s = json_string_value(json_object_get(args, names[j]));
		if (s && *s) {
			last = j + 1;
		}
	}
	struct ctxd_strbuf b = {0};
	for (size_t j = 0; j < last; j++) {
		const char *s = json_string_value(json_object_get(args, names[j]));
		if (j) {
			ctxd_strbuf_str(&b, " ");
		}
		shell_word(&b, s ? s : "");
	}
	const char *free_text = json_string_value(json_object_get(args, "arguments"));
	if (free_text && *free_text) {
		if (b.len) {
			ctxd_strbuf_str(&b, " ");
		}
		ctxd_strbuf_str(&b, free_text);
	}
	if (b.oom) {
		free(b.p);
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return -1;
	}
	*out = b.p;
	return 0;
}

static json_t *prompt_get(void *ud, const struct ctxd_provider_ctx *ctx, const char *name,
			  json_t *args, struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills *sk = ud;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_skills_find(snap, name);
	json_t *res = NULL;
	char *argstr = NULL;
	if (!k) {
		ctxd_error_set(err, CTXD_PROVIDER_NOT_FOUND, "unknown prompt '%.100s'", name);
	} else if (prompt_argstring(k, args, &argstr, err) == 0) {
		char *body = NULL, msg[600];
		int rc = activate(sk, k, argstr, &body, msg, sizeof(msg));
		if (rc == -E2BIG) {
			ctxd_error_set(err, CTXD_PROVIDER_INVALID, "%s", msg);
		} else {
			res = rc == 0 ? json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}]}", "description",
						  k->doc->description, "messages", "role", "user",
						  "content", "type", "text", "text", body)
				      : NULL;
			if (!res) {
				ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
			}
		}
		free(body);
	}
	free(argstr);
	ctxd_skills_snapshot_put(snap);
	return res;
}

/* An argument whose name says it holds a path: file, path, dir, folder (any case, as a
 * part: "file", "src_path", "outDir"). */
static bool path_like(const char *arg)
{
	static const char *const parts[] = {"file", "path", "dir", "folder"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (strcasestr(arg, parts[i])) {
			return true;
		}
	}
	return false;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Complete a path typed as `value` (absolute, or relative to the first root) with the
 * entries of its directory inside the roots that start with its last component;
 * directories end in '/'. Outside every root: the roots that start with it. */
static void complete_path(const struct ctxd_sandbox *sb, const char *value, json_t *out,
			  size_t *total)
{
	size_t nroots = sb ? ctxd_sandbox_root_count(sb) : 0;
	const char *slash = strrchr(value, '/');
	size_t dlen = slash ? (size_t)(slash - value) + 1 : 0;
	const char *prefix = value + dlen;
	char dir[CTXD_PATH_MAX];
	snprintf(dir, sizeof(dir), "%.*s", (int)(dlen ? dlen : 1), dlen ? value : ".");
	struct ctxd_error e;
	int fd = nroots ? ctxd_sandbox_open(sb, dir, strlen(dir), O_RDONLY | O_DIRECTORY |
					    O_NONBLOCK, 0, false, NULL, &e)
			: -1;
	if (fd < 0) {
		for (size_t i = 0; value[0] == '/' && i < nroots; i++) {
			const char *rp = ctxd_sandbox_root(sb, i)->path;
			if (strncmp(rp, value, strlen(value)) == 0 && ++*total <= 100) {
				json_array_append_new(out, jstr(rp));
			}
		}
		return;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 ||
		    strncmp(nm, prefix, strlen(prefix)) != 0 || (nm[0] == '.' && prefix[0] != '.')) {
			continue;
		}
		bool isdir = de->d_type == DT_DIR;
		if (de->d_type == DT_LNK || de->d_type == DT_UNKNOWN) {
			struct stat st;
			isdir = fstatat(dirfd(d), nm, &st, 0) == 0 && S_ISDIR(st.st_mode);
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **g = realloc(names, cap * sizeof(*g));
			if (!g) {
				break;
			}
			names = g;
		}
		size_t l = strlen(nm);
		if (!(names[n] = malloc(dlen + l + 2))) {
			break;
		}
		snprintf(names[n], dlen + l + 2, "%.*s%s%s", (int)dlen, value, nm, isdir ? "/" : "");
		n++;
	}
	closedir(d);
	if (n > 1) {
		qsort(names, n, sizeof(*names), cmp_name);
	}
	for (size_t i = 0; i < n; i++) {
		if (++*total <= 100) {
			json_array_append_new(out, jstr(names[i]));
		}
		free(names[i]);
	}
	free(names);
}

/* completion/complete for a skill prompt's argument: paths inside the roots for an
 * argument named like a path, nothing otherwise. */
static int prompt_complete(void *ud, const struct ctxd_provider_ctx *ctx, const char *name,
			   const char *arg, const char *value, json_t *context_args, json_t *out,
			   size_t *total, struct ctxd_error *err)
{
	(void)context_args;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return -1;
	}
	const struct ctxd_skill *k = ctxd_skills_find(snap, name ? name : "");
	int rc = 0;
	*total = 0;
	if (!k) {
		ctxd_error_set(err, CTXD_PROVIDER_NOT_FOUND, "unknown prompt '%.100s'",
			       name ? name : "");
		rc = -1;
	} else {
		size_t n;
		char *const *names = prompt_args(k, &n);
		bool declared = false;
		for (size_t j = 0; j < n && !declared; j++) {
			declared = strcmp(names[j], arg ? arg : "") == 0;
		}
		if (declared && path_like(arg)) {
			complete_path(ctx ? ctx->sandbox : NULL, value ? value : "", out, total);
		}
	}
	ctxd_skills_snapshot_put(snap);
	return rc;
}

const struct ctxd_prompt_provider ctxd_skills_prompt_table = {
	.ud = NULL,
	.list = prompt_list,
	.get = prompt_get,
	.complete = prompt_complete,
};

/* ---- resources ------------------------------------------------------------------------ */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Split skill://NAME/PATH (percent-decoded) into name and path. */
static bool parse_uri(const char *uri, char *name, size_t nsz, char *path, size_t psz)
{
	if (strncmp(uri, "skill://", 8) != 0) {
		return false;
	}
	const char *s = uri + 8;
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || (size_t)(slash - s) >= nsz) {
		return false;
	}
	memcpy(name, s, (size_t)(slash - s));
	name[slash - s] = '\0';
	size_t w = 0;
	for (const char *p = slash + 1; *p; p++) {
		if (w + 1 >= psz) {
			return false;
		}
		if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			char c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			if (c == '\0') {
				return false;
			}
			path[w++] = c;
			p += 2;
		} else if (*p == '?' || *p == '#') {
			break;
		} else {
			path[w++] = *p;
		}
	}
	path[w] = '\0';
	return w > 0;
}

static json_t *resource_entry(const struct ctxd_skill *k, const char *rel, uint64_t size)
{
	char uri[CTXD_PATH_MAX + 80];
	snprintf(uri, sizeof(uri), "skill://%s/%s", k->name, rel);
	bool md = strcmp(rel, "SKILL.md") == 0;
	char nm[CTXD_PATH_MAX + 80];
	snprintf(nm, sizeof(nm), "%s/%s", k->name, rel);
	json_t *o = json_pack("{s:o, s:o, s:I}", "uri", jstr(uri), "name",
			      md ? json_string(k->name) : jstr(nm), "size", (json_int_t)size);
	const char *mime = md ? "text/markdown" : mime_of(rel);
	if (o && mime) {
		json_object_set_new(o, "mimeType", json_string(mime));
	}
	if (o && md) {
		json_object_set_new(o, "title", json_string(k->name));
		json_object_set_new(o, "description", json_string(k->doc->description));
	}
	return o;
}

static int res_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		    struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < snap->n_skills && rc == 0; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		rc = json_array_append_new(out, resource_entry(k, "SKILL.md", k->doc->md_size));
		for (size_t j = 0; j < k->n_files && rc == 0; j++) {
			rc = json_array_append_new(out, resource_entry(k, k->files[j], k->sizes[j]));
		}
	}
	ctxd_skills_snapshot_put(snap);
	if (rc) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
	}
	return rc ? -1 : 0;
}

static int res_templates(void *ud, json_t *out)
{
	(void)ud;
	json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "uriTemplate", "skill://{name}/SKILL.md",
			      "name", "skill", "description",
			      "A skill's SKILL.md (frontmatter and instructions)", "mimeType",
			      "text/markdown");
	json_t *b = json_pack("{s:s, s:s, s:s}", "uriTemplate", "skill://{name}/{+path}", "name",
			      "skill-file", "description",
			      "A file bundled with a skill, path relative to its folder");
	if (!a || !b || json_array_append_new(out, a) < 0 || json_array_append_new(out, b) < 0) {
		json_decref(b);
		return -1;
	}
	return 0;
}

static json_t *res_read(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
			struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills *sk = ud;
	char name[CTXD_SKILL_NAME_BYTES + 1], path[CTXD_PATH_MAX];
	if (!parse_uri(uri, name, sizeof(name), path, sizeof(path))) {
		ctxd_error_set(err, CTXD_PROVIDER_NOT_FOUND, "not a skill resource: %.300s", uri);
		return NULL;
	}
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_skills_find(snap, name);
	json_t *res = NULL;
	char *buf = NULL;
	size_t len = 0, total = 0;
	int rc = k ? read_file(sk, k, path, RESOURCE_MAX, &buf, &len, &total) : -ENOENT;
	if (rc < 0) {
		char why[64];
		ctxd_error_set(err, rc == -ENOENT || rc == -EACCES || rc == -EISDIR ||
					    rc == -NOT_REGULAR
				       ? CTXD_PROVIDER_NOT_FOUND : CTXD_PROVIDER_FAILED,
			       "resource not found: %.300s (%s)", uri,
			       read_problem(rc, why, sizeof(why)));
	} else if (len < total) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "%.300s is larger than 16 MiB", uri);
	} else {
		const char *mime = strcmp(path, "SKILL.md") == 0 ? "text/markdown" : mime_of(path);
		if (is_text(buf, len)) {
			res = json_pack("[{s:s, s:s, s:s%}]", "uri", uri, "mimeType",
					mime ? mime : "text/plain", "text", buf, len);
		} else {
			char *enc = b64((unsigned char *)buf, len);
			res = enc ? json_pack("[{s:s, s:s, s:s}]", "uri", uri, "mimeType",
					      mime ? mime : "application/octet-stream", "blob", enc)
				  : NULL;
			free(enc);
		}
		if (!res) {
			ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		}
	}
	free(buf);
	ctxd_skills_snapshot_put(snap);
	return res;
}

static int res_watch_path(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
			  char *buf, size_t n)
{
	(void)ctx;
	char name[CTXD_SKILL_NAME_BYTES + 1], path[CTXD_PATH_MAX];
	if (!parse_uri(uri, name, sizeof(name), path, sizeof(path))) {
		return -1;
	}
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	const struct ctxd_skill *k = ctxd_skills_find(snap, name);
	int rc = -1;
	if (k && strcmp(path, "SKILL.md") == 0) {
		if ((size_t)snprintf(buf, n, "%s", k->skill_md) < n) { /* SKILL.md or skill.md */
			rc = 0;
		}
	} else if (k && has_file(k, path) && (size_t)snprintf(buf, n, "%s/%s", k->dir, path) < n) {
		rc = 0;
	}
	ctxd_skills_snapshot_put(snap);
	return rc;
}

static int res_complete(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri_template,
			const char *var, const char *value, json_t *context_args, json_t *out,
			size_t *total, struct ctxd_error *err)
{
	(void)ctx;
	(void)uri_template;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return -1;
	}
	size_t vl = value ? strlen(value) : 0;
	*total = 0;
	if (strcmp(var, "name") == 0) {
		for (size_t i = 0; i < snap->n_skills; i++) {
			if (strncmp(snap->skills[i].name, value ? value : "", vl) == 0) {
				if (++*total <= 100) {
					json_array_append_new(out, json_string(snap->skills[i].name));
				}
			}
		}
	} else if (strcmp(var, "path") == 0) {
		const char *nm = json_string_value(json_object_get(context_args, "name"));
		const struct ctxd_skill *k = nm ? ctxd_skills_find(snap, nm) : NULL;
		for (size_t i = 0; k && i <= k->n_files; i++) {
			const char *f = i == 0 ? "SKILL.md" : k->files[i - 1];
			if (strncmp(f, value ? value : "", vl) == 0 && ++*total <= 100) {
				json_array_append_new(out, jstr(f));
			}
		}
	}
	ctxd_skills_snapshot_put(snap);
	return 0;
}

const struct ctxd_resource_provider ctxd_skills_resource_table = {
	.scheme = "skill",
	.ud = NULL,
	.list = res_list,
	.templates = res_templates,
	.read = res_read,
	.watch_path = res_watch_path,
	.complete = res_complete,
};

/* ---- SEP-2640 ------------------------------------------------------------------------- */

static json_t *digest_entry(struct ctxd_skills *sk, const struct ctxd_skill *k, const char *rel)
{
	char *buf = NULL;
	size_t len = 0, total = 0;
	if (read_file(sk, k, rel, RESOURCE_MAX, &buf, &len, &total) < 0) {
		return NULL;
	}
	char hex[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex(buf, len, hex);
	free(buf);
	char uri[CTXD_PATH_MAX + 80], dg[CTXD_SHA256_HEX_LEN + 8];
	snprintf(uri, sizeof(uri), "skill://%s/%s", k->name, rel);
	snprintf(dg, sizeof(dg), "sha256:%s", hex);
	return json_pack("{s:o, s:s, s:I}", "uri", jstr(uri), "digest", dg, "size",
			 (json_int_t)len);
}

/* A Skill entry {uri, frontmatter, resources}; files that vanished since the scan are left
 * out of the manifest. */
static json_t *skill_entry(struct ctxd_skills *sk, const struct ctxd_skill *k)
{
	json_t *res = json_array();
	for (size_t i = 0; res && i <= k->n_files; i++) {
		json_t *e = digest_entry(sk, k, i == 0 ? "SKILL.md" : k->files[i - 1]);
		if (e && json_array_append_new(res, e) < 0) {
			json_decref(res);
			res = NULL;
		}
	}
	char uri[CTXD_SKILL_NAME_BYTES + 32];
	snprintf(uri, sizeof(uri), "skill://%s/SKILL.md", k->name);
	return res ? json_pack("{s:s, s:O, s:o}", "uri", uri, "frontmatter", k->doc->frontmatter,
			       "resources", res)
		   : NULL;
}

json_t *ctxd_skills_method(struct ctxd_skills *sk, const struct ctxd_provider_ctx *ctx,
			   const char *method, json_t *params, struct ctxd_error *err)
{
	bool list = strcmp(method, "skills/list") == 0;
	if (!list && strcmp(method, "skills/get") != 0) {
		ctxd_error_set(err, -32601, "method not found: %.100s", method);
		return NULL;
	}
	if (params && !json_is_object(params)) {
		ctxd_error_set(err, -32602, "params must be an object");
		return NULL;
	}
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		ctxd_error_set(err, -32603, "skills: out of memory");
		return NULL;
	}
	json_t *out = NULL;
	if (list) {
		json_t *cur = json_object_get(params, "cursor");
		size_t start = 0;
		if (cur && !json_is_null(cur)) {
			const char *c = json_string_value(cur);
			char *end = NULL;
			unsigned long long v = c && *c >= '0' && *c <= '9' ? strtoull(c, &end, 10) : 0;
			if (!c || !end || *end || v > snap->n_skills) {
				ctxd_error_set(err, -32602, "invalid cursor");
				ctxd_skills_snapshot_put(snap);
				return NULL;
			}
			start = (size_t)v;
		}
		const struct ctxd_config *cfg = ctx && ctx->cfg ? ctx->cfg : ctxd_skills_config(sk);
		size_t page = cfg && cfg->page_size ? cfg->page_size : 100;
		json_t *arr = json_array();
		size_t i = start;
		for (; arr && i < snap->n_skills && i < start + page; i++) {
			if (ctx && ctxd_job_cancelled(ctx->job)) {
				break;
			}
			if (json_array_append_new(arr, skill_entry(sk, &snap->skills[i])) < 0) {
				json_decref(arr);
				arr = NULL;
			}
		}
		out = arr ? json_pack("{s:o}", "skills", arr) : NULL;
		if (out && i < snap->n_skills) {
			char c[32];
			snprintf(c, sizeof(c), "%zu", i);
			json_object_set_new(out, "nextCursor", json_string(c));
		}
	} else {
		const char *uri = json_string_value(json_object_get(params, "uri"));
		char name[CTXD_SKILL_NAME_BYTES + 1], path[CTXD_PATH_MAX];
		const struct ctxd_skill *k = NULL;
		if (uri && parse_uri(uri, name, sizeof(name), path, sizeof(path)) &&
		    strcmp(path, "SKILL.md") == 0) {
			k = ctxd_skills_find(snap, name);
		}
		if (!uri) {
			ctxd_error_set(err, -32602, "params.uri (string) is required");
		} else if (!k) {
			ctxd_error_set(err, -32602, "not a skill served here: %.300s", uri);
		} else {
			json_t *e = skill_entry(sk, k);
			out = e ? json_pack("{s:o}", "skill", e) : NULL;
		}
		if (!uri || !k) {
			ctxd_skills_snapshot_put(snap);
			return NULL;
		}
	}
	if (!out) {
		ctxd_error_set(err, -32603, "skills: out of memory");
	}
	ctxd_skills_snapshot_put(snap);
	return out;
}

json_t *ctxd_skills_capability(void)
{
	return json_object();
}
