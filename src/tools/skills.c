/* tools/skills.c - the Agent Skills tools (skill_list, skill_activate, skill_read_file,
 * skill_diagnostics) and their table, and the helpers the family's other files share
 * (skills_priv.h). Prompts, resources, SEP-2640 and skill_activate's catalogue are in
 * skills_prompts.c, skills_resources.c and skills_catalogue.c.
 *
 * Every file read goes through ctxd_sk_open_file, confined to the skill's folder.
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

#include "ctxd/fsutil.h"
#include "ctxd/skill_args.h"
#include "ctxd/strbuf.h"
#include "schemas/schemas.h"
#include "skills_priv.h"

#define BINARY_PROBE     8192u
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

/* A JSON string from disk text (a path): invalid UTF-8 bytes become U+FFFD. */
json_t *ctxd_skills_jstr(const char *s)
{
	return ctxd_utf8_json(s, strlen(s));
}

bool ctxd_skills_is_text(const char *buf, size_t len)
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

char *ctxd_skills_b64(const unsigned char *buf, size_t len)
{
	return ctxd_base64_encode(buf, len, NULL);
}

const char *ctxd_skills_mime(const char *path)
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

/* Open a skill file for reading and check it is a regular file. Returns the fd (fills
 * *st) or -errno (-EISDIR, -NOT_REGULAR, -ENOENT ...). */
static int open_regular(struct ctxd_skills *sk, const struct ctxd_skill *k, const char *rel,
			struct stat *st)
{
	int fd = ctxd_sk_open_file(sk, k, rel, O_RDONLY);
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
const char *ctxd_skills_read_problem(int rc, char *buf, size_t n)
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
		return ctxd_sk_why(-rc, buf, n);
	}
}

/* Read up to `max` bytes of a skill file. Returns 0 (sets *out, *len, *total) or -errno. */
int ctxd_skills_read_file(struct ctxd_skills *sk, const struct ctxd_skill *k, const char *rel,
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

bool ctxd_skills_has_file(const struct ctxd_skill *k, const char *rel)
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
	const struct ctxd_config *cfg = ctxd_sk_config(sk);
	return cfg && cfg->max_read_bytes ? cfg->max_read_bytes : DEFAULT_READ_MAX;
}

/* The activated body of `k` with `args` (may be NULL): 0 with *out set (caller frees),
 * -E2BIG when it would pass the cap (then `msg`, of size `n`, says so for the model), or
 * -ENOMEM. The cap is limits.read_bytes, or the body plus the arguments when that is
 * larger: arguments can never amplify a body past it. */
int ctxd_skills_activate(const struct ctxd_skills *sk, const struct ctxd_skill *k, const char *args,
			 char **out, char *msg, size_t n)
{
	size_t plain = k->doc->body_len + (args ? strlen(args) : 0) + 16;
	size_t cap = read_max(sk) > plain ? read_max(sk) : plain;
	int rc = ctxd_skill_args_substitute(k->doc->body, args, k->doc->arg_names,
					    k->doc->n_arg_names, cap, out, NULL);
	if (rc == -E2BIG) {
		snprintf(msg, n,
			 "skill '%s' with these arguments would expand to more than %zu bytes (the "
			 "read limit, limits.read_bytes): its instructions repeat the placeholders "
			 "many times. Pass shorter arguments, or activate it without arguments and "
			 "apply them yourself",
			 k->name, cap);
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
		    "explains skipped skills)",
		    name, snap->n_skills ? avail : "none", i < snap->n_skills ? ", ..." : "");
}

/* ---- tools ---------------------------------------------------------------------------- */

/* json_decref as a memo slot's destructor. */
static void decref(void *j)
{
	json_decref(j);
}

static json_t *skill_list(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_skills *sk = ctx->ud;
	const char *query = json_string_value(json_object_get(args, "query"));
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	bool cacheable = !query || !*query;
	json_t *cached = cacheable ? ctxd_sk_memo(snap, SKILLS_MEMO_LIST, NULL, NULL) : NULL;
	if (cached) {
		/* a new top level sharing the cached parts: callers only add keys to the top
		 * level (resultType), nothing below it is ever changed */
		json_t *copy = json_copy(cached);
		ctxd_sk_snapshot_put(snap);
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
		    json_object_set_new(e, "location", ctxd_skills_jstr(k->skill_md)) ||
		    json_object_set_new(e, "files", json_integer((json_int_t)k->n_files)) ||
		    json_array_append_new(arr, e)) {
			json_decref(e);
			json_decref(arr);
			arr = NULL;
			break;
		}
		fprintf(f, "- %s: %s\n  (%s; %zu bundled file%s)\n", k->name, k->doc->description,
			k->skill_md, k->n_files, k->n_files == 1 ? "" : "s");
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
		json_t *mine = json_copy(res); /* shallow: see above */
		if (mine) {
			ctxd_sk_memo(snap, SKILLS_MEMO_LIST, mine, decref);
		}
	}
	ctxd_sk_snapshot_put(snap);
	return res;
}

static json_t *skill_activate(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_skills *sk = ctx->ud;
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *arguments = json_string_value(json_object_get(args, "arguments"));
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_sk_find(snap, name ? name : "");
	if (!k) {
		json_t *r = unknown_skill(snap, name ? name : "");
		ctxd_sk_snapshot_put(snap);
		return r;
	}
	char *body = NULL, msg[600];
	int rc = ctxd_skills_activate(sk, k, arguments, &body, msg, sizeof(msg));
	if (rc == -E2BIG) {
		ctxd_sk_snapshot_put(snap);
		return fail("%s", msg);
	}
	json_t *files = json_array();
	struct ctxd_strbuf t = {0};
	json_t *res = NULL;
	if (rc == 0 && files) {
		/* folder and file names may be any bytes: shown with U+FFFD, as in the JSON */
		ctxd_strbuf_printf(&t, "Skill: %s\nBase directory: ", k->name);
		ctxd_utf8_repair(&t, k->dir, strlen(k->dir));
		ctxd_strbuf_str(&t, "\n\n");
		ctxd_strbuf_str(&t, body);
		if (k->n_files) {
			ctxd_strbuf_str(&t, "\n\nBundled files (paths relative to the base "
					    "directory; read one with skill_read_file):");
		}
		for (size_t i = 0; i < k->n_files; i++) {
			ctxd_strbuf_str(&t, "\n- ");
			ctxd_utf8_repair(&t, k->files[i], strlen(k->files[i]));
			if (json_array_append_new(files, ctxd_skills_jstr(k->files[i])) < 0) {
				t.oom = true;
				break;
			}
		}
		if (!t.oom) {
			json_t *st =
			    json_pack("{s:s, s:o, s:s, s:O}", "name", k->name, "baseDir",
				      ctxd_skills_jstr(k->dir), "body", body, "files", files);
			res = st ? ctxd_tool_result(t.p, st) : NULL;
		}
	}
	json_decref(files);
	free(t.p);
	free(body);
	ctxd_sk_snapshot_put(snap);
	return res;
}

/* ---- skill_read_file: windows like read_text_file ------------------------------------ */

#define READ_CHUNK     ((size_t)64 << 10)
#define LINE_COUNT_MAX ((size_t)16 << 20) /* count every line of files up to this size */

/* A copy of s[0, n) with each invalid UTF-8 byte replaced by U+FFFD; *replaced counts
 * them. NULL on ENOMEM. */
static char *utf8_repair(const char *s, size_t n, size_t *out_len, size_t *replaced)
{
	struct ctxd_strbuf b = {0};
	*replaced = ctxd_utf8_repair(&b, s, n);
	if (b.oom || (!b.p && !(b.p = calloc(1, 1)))) {
		free(b.p);
		return NULL;
	}
	*out_len = b.len;
	return b.p;
}

struct window {
	size_t offset, limit; /* text: first line (1-based) and lines; binary: bytes */
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
				r->out.len = ctxd_utf8_trim(r->out.p ? r->out.p : "", r->out.len);
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
			    "line%s",
			    w->offset, total, total == 1 ? "" : "s");
	}
	if (!r.done) {
		r.end_line = total >= w->offset ? total : w->offset - 1;
	}
	size_t fixed_len = 0, replaced = 0;
	char *text = r.out.oom
			 ? NULL
			 : utf8_repair(r.out.p ? r.out.p : "", r.out.len, &fixed_len, &replaced);
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
		ctxd_strbuf_printf(note,
				   "\n[truncated: line %zu alone is longer than the %zu-byte "
				   "read limit; only its first %zu bytes are shown",
				   w->offset, cap, fixed_len);
	} else if (r.truncated) {
		ctxd_strbuf_printf(note,
				   "\n[truncated at the %zu-byte read limit: lines %zu-%zu "
				   "shown",
				   cap, w->offset, r.end_line);
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
static json_t *read_binary_window(int fd, const struct stat *st, const struct window *w, size_t cap,
				  json_t *sc, struct ctxd_strbuf *note)
{
	size_t size = (size_t)st->st_size, off = w->has_offset ? w->offset : 0;
	if (off > size || (off == size && size > 0)) {
		return fail("argument 'offset' (%zu) is past the end of the file, which has %zu "
			    "byte%s",
			    off, size, size == 1 ? "" : "s");
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
	char *enc = ctxd_skills_b64((unsigned char *)buf, got);
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
	    (more &&
	     json_object_set_new(sc, "nextOffset", json_integer((json_int_t)(off + got))) < 0)) {
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
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_sk_find(snap, name ? name : "");
	json_t *res;
	if (!k) {
		res = unknown_skill(snap, name ? name : "");
		ctxd_sk_snapshot_put(snap);
		return res;
	}
	struct stat st;
	int fd = open_regular(sk, k, path ? path : "", &st);
	if (fd < 0) {
		char why[64];
		res = fail("cannot read '%.300s' of skill '%s': %s", path ? path : "", k->name,
			   ctxd_skills_read_problem(fd, why, sizeof(why)));
		ctxd_sk_snapshot_put(snap);
		return res;
	}
	/* text or binary, decided by the file's first bytes whatever the window */
	char probe[BINARY_PROBE];
	ssize_t pn = pread(fd, probe, sizeof(probe), 0);
	bool text = pn >= 0 && ctxd_skills_is_text(probe, (size_t)pn);
	const char *mime = ctxd_skills_mime(path);
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
	ctxd_sk_snapshot_put(snap);
	return res;
}

static json_t *diag_json(const struct ctxd_skill_diag *d)
{
	json_t *o =
	    json_pack("{s:o, s:s, s:s, s:s}", "file", ctxd_skills_jstr(d->file), "rule", d->rule,
		      "severity", d->error ? "error" : "warning", "message", d->message);
	if (o && d->line) {
		json_object_set_new(o, "line", json_integer(d->line));
		json_object_set_new(o, "column", json_integer(d->col));
	}
	if (o && d->other) {
		json_object_set_new(o, "shadowedBy", ctxd_skills_jstr(d->other));
	}
	return o;
}

static json_t *skill_diagnostics(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	(void)args;
	struct ctxd_skills *sk = ctx->ud;
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(sk);
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
	ctxd_sk_snapshot_put(snap);
	return res;
}

#define RO_FLAGS (CTXD_TOOL_READ_ONLY | CTXD_TOOL_IDEMPOTENT)

const struct ctxd_tool ctxd_skills_tools[] = {
    {
	.name = "skill_list",
	.title = "List skills",
	.description = "List installed Agent Skills; broken ones are in skill_diagnostics.",
	.input_schema = ctxd_schema_skill_list_input,
	.output_schema = ctxd_schema_skill_list_output,
	.flags = RO_FLAGS,
	.fn = skill_list,
    },
    {
	.name = "skill_activate",
	.title = "Activate skill",
	.description = ctxd_skills_activate_description,
	.input_schema = ctxd_schema_skill_activate_input,
	.output_schema = ctxd_schema_skill_activate_output,
	.flags = RO_FLAGS,
	.fn = skill_activate,
	.describe = ctxd_skills_describe_activate,
    },
    {
	.name = "skill_read_file",
	.title = "Read skill file",
	.description = "Read a file bundled with a skill (text lines or base64); continue from "
		       "nextOffset.",
	.input_schema = ctxd_schema_skill_read_file_input,
	.output_schema = ctxd_schema_skill_read_file_output,
	.flags = RO_FLAGS,
	.fn = skill_read_file,
    },
    {
	.name = "skill_diagnostics",
	.title = "Skill diagnostics",
	.description = "Why skills were skipped, degraded or shadowed.",
	.input_schema = ctxd_schema_skill_diagnostics_input,
	.output_schema = ctxd_schema_skill_diagnostics_output,
	.flags = RO_FLAGS | CTXD_TOOL_LONG,
	.fn = skill_diagnostics,
    },
};

const size_t ctxd_skills_tools_count = sizeof(ctxd_skills_tools) / sizeof(ctxd_skills_tools[0]);
