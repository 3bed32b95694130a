/* grep.c - the grep tool: content search over a confined tree.
 *
 * Engine: PCRE2 (libpcre2-8) with its JIT, not POSIX regcomp/regexec. Reasons: (1) the
 * JIT-compiled matcher runs over a whole file buffer at once (PCRE2_MULTILINE makes ^ and
 * $ line anchors), with start-of-match optimizations (first code unit / literal prefix
 * scans with memchr), so an unanchored search costs close to a memchr pass, while glibc's
 * regexec must be called per line on NUL-terminated text and is a slow backtracking NFA;
 * (2) PCRE2 takes a length, so files with CR or invalid UTF-8 need no copying; (3) the
 * syntax (Perl/ripgrep-like: \d, \b, \s, lazy quantifiers) is what models write. PCRE2 is
 * compiled without PCRE2_UTF, so any byte sequence is searchable and column numbers are
 * byte offsets (1-based). `literal` patterns get PCRE2_LITERAL.
 *
 * The walk is the confined fs_walk (sorted, so results come out ordered by path and then
 * line), respecting .gitignore by default; each file is opened with ctxd_sandbox_openat
 * (O_NOFOLLOW: symlinks are never searched), read whole into one reusable buffer, and
 * skipped when its first 8 KiB hold a NUL byte (binary). The handler runs on one pool
 * worker and searches files sequentially: handlers cannot submit sub-jobs, and one
 * sequential pass is what grep -r does too. Cancellation is checked per file and per
 * entry, progress is reported per 1000 entries by the walk.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/sandbox.h"
#include "fs_priv.h"
#include "fs_walk.h"

#define GREP_DEFAULT_RESULTS 1000u
#define GREP_MAX_RESULTS     100000u
#define GREP_MAX_CONTEXT     20u
#define GREP_FILE_MAX        ((size_t)256 << 20)
#define GREP_LINE_SHOW       500u /* bytes of a long line shown */
#define GREP_TEXT_MAX        ((size_t)4 << 20)
#define GREP_MAX_ALTS        64

/* A glob list from include/exclude, brace-expanded. Patterns without '/' match the file
 * name, others the path relative to the search root. */
struct globs {
	char **v;
	size_t n;
};

static void globs_free(struct globs *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i]);
	}
	free(g->v);
}

static int globs_add(struct globs *g, const char *s, size_t len)
{
	if (g->n >= GREP_MAX_ALTS) {
		return -ERANGE;
	}
	char **v = realloc(g->v, (g->n + 1) * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	g->v = v;
	if (!(g->v[g->n] = strndup(s, len))) {
		return -ENOMEM;
	}
	g->n++;
	return 0;
}

static int globs_emit(void *ud, const char *p, size_t len)
{
	return globs_add(ud, p, len);
}

/* Expand the {a,b,...} alternatives of `p` into `g` (at most GREP_MAX_ALTS). */
static int expand(struct globs *g, const char *p)
{
	size_t budget = GREP_MAX_ALTS;
	return fs_brace_expand(p, &budget, globs_emit, g);
}

static bool globs_match(const struct globs *g, const struct ctxd_fs_walk_entry *e)
{
	for (size_t i = 0; i < g->n; i++) {
		const char *p = g->v[i];
		if (strchr(p, '/') ? ctxd_fs_glob_path(p[0] == '/' ? p + 1 : p, e->rel)
				   : fnmatch(p, e->name, 0) == 0) {
			return true;
		}
	}
	return false;
}

/* One match (or context line) recorded: offsets into the result arena. */
struct hit {
	size_t path; /* arena offset of the relative path */
	size_t line;
	size_t col; /* 0 for a context line */
	size_t text; /* arena offset of the line text */
	size_t text_len;
};

struct grep {
	const struct ctxd_tool_ctx *ctx;
	pcre2_code *re;
	pcre2_match_data *md;
	bool jit;
	struct globs inc, exc;
	struct ctxd_fs_ignore *ig;
	size_t context;
	size_t max;
	char *buf;
	size_t buf_cap;
	char *arena;
	size_t arena_len, arena_cap;
	struct hit *hits;
	size_t n_hits, cap_hits;
	size_t n_matches;
	size_t files, files_matched, binary, unreadable;
	bool truncated, oom, cancelled, match_error;
	char err[128];
};

static size_t arena_put(struct grep *g, const char *s, size_t n)
{
	if (g->arena_len + n + 1 > g->arena_cap) {
		size_t c = g->arena_cap ? g->arena_cap * 2 : 65536;
		while (c < g->arena_len + n + 1) {
			c *= 2;
		}
		char *a = realloc(g->arena, c);
		if (!a) {
			g->oom = true;
			return 0;
		}
		g->arena = a;
		g->arena_cap = c;
	}
	size_t off = g->arena_len;
	if (n) { /* memcpy's arguments must be valid even for 0 bytes */
		memcpy(g->arena + off, s, n);
	}
	g->arena[off + n] = '\0';
	g->arena_len += n + 1;
	return off;
}

static void add_hit(struct grep *g, size_t path, size_t line, size_t col, const char *t, size_t tl)
{
	if (g->n_hits == g->cap_hits) {
		size_t c = g->cap_hits ? g->cap_hits * 2 : 256;
		struct hit *h = realloc(g->hits, c * sizeof(*h));
		if (!h) {
			g->oom = true;
			return;
		}
		g->hits = h;
		g->cap_hits = c;
	}
	if (tl > 0 && t[tl - 1] == '\r') {
		tl--;
	}
	if (tl > GREP_LINE_SHOW) {
		tl = fs_utf8_trim(t, GREP_LINE_SHOW);
	}
	size_t off = arena_put(g, t, tl);
	g->hits[g->n_hits++] =
	    (struct hit){.path = path, .line = line, .col = col, .text = off, .text_len = tl};
}

static int read_file(struct grep *g, int fd, size_t *len)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		return -1;
	}
	size_t want = (size_t)st.st_size;
	if (want > GREP_FILE_MAX) {
		want = GREP_FILE_MAX;
	}
	if (want + 1 > g->buf_cap) {
		size_t c = g->buf_cap ? g->buf_cap : 65536;
		while (c < want + 1) {
			c *= 2;
		}
		char *b = realloc(g->buf, c);
		if (!b) {
			g->oom = true;
			return -1;
		}
		g->buf = b;
		g->buf_cap = c;
	}
	ssize_t got = fs_pread_full(fd, g->buf, want, 0);
	if (got < 0) {
		return -1;
	}
	*len = (size_t)got;
	return 0;
}

/* Search one file's content; hits go to g. */
static void search_buf(struct grep *g, const char *rel, size_t rel_len, const char *s, size_t n)
{
	size_t path_off = 0;
	bool any = false;
	size_t line = 1, line_pos = 0; /* line number at offset line_pos */
	size_t last_shown = 0;         /* last line emitted (match or context) */
	size_t pending_after = 0, after_from = 0;
	size_t start = 0;
	while (start <= n) {
		int rc = g->jit ? pcre2_jit_match(g->re, (PCRE2_SPTR)s, n, start, 0, g->md, NULL)
				: pcre2_match(g->re, (PCRE2_SPTR)s, n, start, 0, g->md, NULL);
		if (rc == PCRE2_ERROR_NOMATCH) {
			break;
		}
		if (rc < 0) {
			g->match_error = true;
			pcre2_get_error_message(rc, (PCRE2_UCHAR *)g->err, sizeof(g->err));
			break;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(g->md);
		size_t mo = ov[0];
		if (mo == n && (n == 0 || s[n - 1] == '\n')) {
			break; /* an empty match after the final newline is on no line */
		}
		/* the line holding the match start */
		line += (size_t)fs_count_nl(s + line_pos, mo - line_pos);
		const char *ls = mo > 0 ? memrchr(s, '\n', mo) : NULL;
		size_t lstart = ls ? (size_t)(ls - s) + 1 : 0;
		const char *le = memchr(s + mo, '\n', n - mo);
		size_t lend = le ? (size_t)(le - s) : n;
		if (!any) {
			path_off = arena_put(g, rel, rel_len);
			any = true;
			g->files_matched++;
		}
		if (g->n_matches >= g->max) {
			g->truncated = true;
			break;
		}
		/* trailing context of the previous match, up to this line */
		if (g->context) {
			size_t p = after_from, ln = last_shown + 1;
			while (pending_after > 0 && ln < line && p < n) {
				const char *e = memchr(s + p, '\n', n - p);
				size_t pe = e ? (size_t)(e - s) : n;
				add_hit(g, path_off, ln, 0, s + p, pe - p);
				last_shown = ln++;
				pending_after--;
				p = pe + 1;
			}
			/* leading context: up to `context` lines before, after last_shown */
			size_t first = line > g->context ? line - g->context : 1;
			if (first <= last_shown) {
				first = last_shown + 1;
			}
			size_t bpos = lstart;
			for (size_t k = line; k > first && bpos > 0; k--) {
				const char *pb = bpos >= 2 ? memrchr(s, '\n', bpos - 1) : NULL;
				bpos = pb ? (size_t)(pb - s) + 1 : 0;
			}
			for (size_t k = first; k < line; k++) {
				const char *e = memchr(s + bpos, '\n', n - bpos);
				size_t pe = e ? (size_t)(e - s) : n;
				add_hit(g, path_off, k, 0, s + bpos, pe - bpos);
				bpos = pe + 1;
			}
		}
		add_hit(g, path_off, line, mo - lstart + 1, s + lstart, lend - lstart);
		g->n_matches++;
		last_shown = line;
		pending_after = g->context;
		after_from = lend + 1;
		if (g->oom) {
			return;
		}
		/* next search from the next line (one result per line) */
		if (lend >= n) {
			break;
		}
		start = lend + 1;
		line_pos = start;
		line++;
	}
	size_t p = after_from, ln = last_shown + 1;
	while (pending_after > 0 && p < n) {
		const char *e = memchr(s + p, '\n', n - p);
		size_t pe = e ? (size_t)(e - s) : n;
		add_hit(g, path_off, ln++, 0, s + p, pe - p);
		pending_after--;
		p = pe + 1;
	}
}

static bool grep_exclude(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct grep *g = ud;
	if (g->ig && ctxd_fs_ignore_match(g->ig, e)) {
		return true;
	}
	if (e->type == CTXD_FS_WALK_DIR) {
		/* exclude globs also prune directories (by name or path) */
		return g->exc.n && globs_match(&g->exc, e);
	}
	return false;
}

static int grep_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct grep *g = ud;
	if (e->type != CTXD_FS_WALK_FILE) {
		return CTXD_FS_WALK_CONTINUE;
	}
	if ((g->inc.n && !globs_match(&g->inc, e)) || (g->exc.n && globs_match(&g->exc, e))) {
		return CTXD_FS_WALK_CONTINUE;
	}
	if (ctxd_job_cancelled(g->ctx->job)) {
		g->cancelled = true;
		return CTXD_FS_WALK_STOP;
	}
	int fd = ctxd_sandbox_openat(e->at_fd, e->at_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0,
				     true);
	if (fd < 0) {
		g->unreadable++;
		return CTXD_FS_WALK_CONTINUE;
	}
	size_t n = 0;
	int rc = read_file(g, fd, &n);
	close(fd);
	if (rc < 0) {
		g->unreadable++;
		return g->oom ? CTXD_FS_WALK_STOP : CTXD_FS_WALK_CONTINUE;
	}
	g->files++;
	if (fs_looks_binary(g->buf, n < FS_BINARY_PROBE ? n : FS_BINARY_PROBE)) {
		g->binary++;
		return CTXD_FS_WALK_CONTINUE;
	}
	search_buf(g, e->rel, e->rel_len, g->buf, n);
	if (g->oom || g->truncated || g->match_error) {
		return CTXD_FS_WALK_STOP;
	}
	return CTXD_FS_WALK_CONTINUE;
}

static int parse_globs(json_t *args, const char *key, struct globs *g, json_t **res)
{
	json_t *j = json_object_get(args, key);
	if (!j) {
		return 0;
	}
	const char *p = json_string_value(j);
	if (!p || !p[0]) {
		*res = fs_fail("argument '%s' must be a non-empty glob such as \"*.c\" or "
			       "\"*.{c,h}\"",
			       key);
		return -1;
	}
	int rc = expand(g, p);
	if (rc == -ERANGE) {
		*res = fs_fail("argument '%s' (\"%s\") expands to more than %d alternatives", key,
			       p, GREP_MAX_ALTS);
	}
	return rc < 0 ? -1 : 0;
}

json_t *fs_grep(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!fs_get_path(args, &path, &plen)) {
		return fs_fail("argument 'path' is required");
	}
	json_t *jp = json_object_get(args, "pattern");
	if (!json_is_string(jp) || json_string_length(jp) == 0) {
		return fs_fail("argument 'pattern' must be a non-empty regular expression");
	}
	const char *pattern = json_string_value(jp);
	struct grep g = {.ctx = ctx, .max = GREP_DEFAULT_RESULTS};
	json_t *jm = json_object_get(args, "maxResults");
	if (json_is_integer(jm) && json_integer_value(jm) > 0) {
		json_int_t v = json_integer_value(jm);
		g.max = v > GREP_MAX_RESULTS ? GREP_MAX_RESULTS : (size_t)v;
	}
	json_t *jc = json_object_get(args, "contextLines");
	if (json_is_integer(jc) && json_integer_value(jc) > 0) {
		json_int_t v = json_integer_value(jc);
		g.context = v > (json_int_t)GREP_MAX_CONTEXT ? GREP_MAX_CONTEXT : (size_t)v;
	}
	json_t *res = NULL;
	int fd = -1;
	if (parse_globs(args, "include", &g.inc, &res) < 0 ||
	    parse_globs(args, "exclude", &g.exc, &res) < 0) {
		goto out;
	}
	uint32_t opts = PCRE2_MULTILINE;
	if (json_is_true(json_object_get(args, "literal"))) {
		opts = PCRE2_LITERAL; /* PCRE2 refuses MULTILINE with LITERAL; no anchors anyway */
	}
	if (json_is_true(json_object_get(args, "caseInsensitive"))) {
		opts |= PCRE2_CASELESS;
	}
	int ecode;
	PCRE2_SIZE eoff;
	g.re = pcre2_compile((PCRE2_SPTR)pattern, json_string_length(jp), opts, &ecode, &eoff,
			     NULL);
	if (!g.re) {
		char msg[160];
		pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
		res = fs_fail("argument 'pattern' (\"%s\") is not a valid regular expression: %s "
			      "at offset %zu (set literal: true to search for the text as is)",
			      pattern, msg, (size_t)eoff);
		goto out;
	}
	g.jit = pcre2_jit_compile(g.re, PCRE2_JIT_COMPLETE) == 0;
	g.md = pcre2_match_data_create_from_pattern(g.re, NULL);
	if (!g.md) {
		goto out;
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	fd = ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH, 0, false, &loc, &err);
	if (fd < 0) {
		res = fs_fail("%s", err.msg);
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		/* a single file */
		int rfd = ctxd_sandbox_open(ctx->sandbox, path, plen, O_RDONLY | O_NONBLOCK, 0,
					    false, NULL, &err);
		size_t n = 0;
		const char *slash = strrchr(loc.abs, '/');
		const char *base = slash ? slash + 1 : loc.abs;
		if (rfd < 0 || read_file(&g, rfd, &n) < 0) {
			if (rfd >= 0) {
				close(rfd);
			}
			res = g.oom ? NULL : fs_fail("cannot read '%s'", loc.abs);
			goto out;
		}
		close(rfd);
		g.files = 1;
		if (fs_looks_binary(g.buf, n < FS_BINARY_PROBE ? n : FS_BINARY_PROBE)) {
			g.binary++;
		} else {
			search_buf(&g, base, strlen(base), g.buf, n);
		}
		/* display paths are relative to the file's directory */
		if (slash) {
			loc.abs[slash - loc.abs == 0 ? 1 : slash - loc.abs] = '\0';
		}
	} else {
		bool gi = !json_is_false(json_object_get(args, "respectGitignore"));
		if (gi && !(g.ig = ctxd_fs_ignore_create(fd))) {
			goto out;
		}
		struct ctxd_fs_walk_opts o = {
		    .sorted = true,
		    .job = ctx->job,
		    .progress = ctx->progress,
		    .exclude = grep_exclude,
		    .visit = grep_visit,
		    .ud = &g,
		};
		struct ctxd_fs_walk_stats ws = {0};
		int rc = ctxd_fs_walk(fd, &o, &ws);
		g.unreadable += ws.unreadable; /* directories that could not be opened */
		if (rc == -ECANCELED) {
			g.cancelled = true;
		} else if (rc == -ENOMEM) {
			g.oom = true;
		} else if (rc < 0) {
			res = fs_fail("cannot search '%s': %s", loc.abs, strerror(-rc));
			goto out;
		}
	}
	if (g.oom) {
		goto out;
	}
	if (g.cancelled) {
		res = fs_fail("grep in '%s' cancelled", loc.abs);
		goto out;
	}
	if (g.match_error) {
		res = fs_fail("grep of \"%s\" failed: %s (simplify the pattern)", pattern, g.err);
		goto out;
	}

	/* text: path:line:column:text for matches, path-line-text for context */
	size_t blen = strlen(loc.abs);
	bool slash_root = blen == 1 && loc.abs[0] == '/';
	json_t *matches = json_array();
	struct ctxd_strbuf t = {0};
	bool text_cut = false;
	if (!matches) {
		goto out;
	}
	for (size_t i = 0; i < g.n_hits; i++) {
		const struct hit *h = &g.hits[i];
		const char *rel = g.arena + h->path;
		const char *line = g.arena + h->text;
		if (h->col == 0) {
			continue;
		}
		char full[2 * CTXD_PATH_MAX];
		snprintf(full, sizeof(full), "%s%s%s", loc.abs, slash_root ? "" : "/", rel);
		json_t *m = json_pack("{s:o, s:I, s:I, s:o}", "path", fs_text(full, strlen(full)),
				      "line", (json_int_t)h->line, "column", (json_int_t)h->col,
				      "text", fs_text(line, h->text_len));
		if (!m || json_array_append_new(matches, m) < 0) {
			json_decref(matches);
			free(t.p);
			goto out;
		}
		if (g.context) {
			json_t *before = json_array(), *after = json_array();
			for (size_t k = i; k-- > 0 && g.hits[k].col == 0 && g.hits[k].path == h->path &&
					   g.hits[k].line < h->line;) {
				json_array_insert_new(before, 0,
						      fs_text(g.arena + g.hits[k].text,
							      g.hits[k].text_len));
			}
			for (size_t k = i + 1; k < g.n_hits && g.hits[k].col == 0 &&
					       g.hits[k].path == h->path;
			     k++) {
				json_array_append_new(after, fs_text(g.arena + g.hits[k].text,
								     g.hits[k].text_len));
			}
			json_object_set_new(m, "before", before);
			json_object_set_new(m, "after", after);
		}
	}
	for (size_t i = 0; i < g.n_hits && !text_cut; i++) {
		const struct hit *h = &g.hits[i];
		if (g.context && i > 0 && h->path == g.hits[i - 1].path &&
		    h->line > g.hits[i - 1].line + 1) {
			ctxd_strbuf_str(&t, "--\n");
		} else if (g.context && i > 0 && h->path != g.hits[i - 1].path) {
			ctxd_strbuf_str(&t, "--\n");
		}
		ctxd_strbuf_str(&t, loc.abs);
		if (!slash_root) {
			ctxd_strbuf_add(&t, "/", 1);
		}
		ctxd_strbuf_str(&t, g.arena + h->path);
		if (h->col) {
			ctxd_strbuf_printf(&t, ":%zu:%zu:", h->line, h->col);
		} else {
			ctxd_strbuf_printf(&t, "-%zu-", h->line);
		}
		ctxd_strbuf_add(&t, g.arena + h->text, h->text_len);
		ctxd_strbuf_add(&t, "\n", 1);
		if (t.len > GREP_TEXT_MAX) {
			text_cut = true;
			ctxd_strbuf_str(&t, "(text output cut at 4 MiB; structuredContent has every "
				      "match)\n");
		}
	}
	if (g.n_matches == 0) {
		ctxd_strbuf_printf(&t, "No matches found for \"%s\" (%zu files searched", pattern,
			     g.files);
		if (g.binary) {
			ctxd_strbuf_printf(&t, ", %zu binary files skipped", g.binary);
		}
		ctxd_strbuf_str(&t, ")\n");
	}
	if (g.truncated) {
		ctxd_strbuf_printf(&t, "(stopped after %zu matches: raise maxResults or narrow the "
				 "search)\n",
			     g.max);
	}
	if (g.unreadable) {
		ctxd_strbuf_printf(&t, "(%zu files or directories could not be read and were skipped: the "
				 "result may be incomplete)\n",
			     g.unreadable);
	}
	if (t.oom || !t.p) {
		json_decref(matches);
		free(t.p);
		goto out;
	}
	t.p[--t.len] = '\0';
	json_t *sc = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:b, s:I}", "path", loc.abs,
			       "pattern", pattern, "matches", matches, "count",
			       (json_int_t)g.n_matches, "filesSearched", (json_int_t)g.files,
			       "filesMatched", (json_int_t)g.files_matched, "binarySkipped",
			       (json_int_t)g.binary, "truncated", g.truncated, "unreadable",
			       (json_int_t)g.unreadable);
	if (sc) {
		json_t *tx = fs_text(t.p, t.len);
		if (tx) {
			res = json_pack("{s:[{s:s, s:o}], s:o}", "content", "type", "text", "text", tx,
					"structuredContent", sc);
		} else {
			json_decref(sc);
		}
	}
	free(t.p);
out:
	if (fd >= 0) {
		close(fd);
	}
	ctxd_fs_ignore_destroy(g.ig);
	globs_free(&g.inc);
	globs_free(&g.exc);
	pcre2_match_data_free(g.md);
	pcre2_code_free(g.re);
	free(g.buf);
	free(g.arena);
	free(g.hits);
	return res;
}

/* clang-format off */
const char fs_grep_in[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	"\"description\":\"Directory (searched recursively) or single file. Absolute, or "
	"relative to the first allowed directory.\"},"
	"\"pattern\":{\"type\":\"string\",\"minLength\":1,\"description\":\"PCRE2 (Perl-style) "
	"regular expression, matched within each line ('^' and '$' are line anchors).\"},"
	"\"literal\":{\"type\":\"boolean\",\"description\":\"Treat pattern as plain text.\"},"
	"\"caseInsensitive\":{\"type\":\"boolean\"},"
	"\"include\":{\"type\":\"string\",\"description\":\"Only files whose name (or, with a "
	"'/', relative path) matches this glob; braces allowed: \\\"*.{c,h}\\\".\"},"
	"\"exclude\":{\"type\":\"string\",\"description\":\"Skip files and directories whose "
	"name (or, with a '/', relative path) matches this glob.\"},"
	"\"contextLines\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":20,"
	"\"description\":\"Lines of context before and after each match.\"},"
	"\"maxResults\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":100000,"
	"\"description\":\"Stop after this many matching lines (default 1000).\"},"
	"\"respectGitignore\":{\"type\":\"boolean\",\"description\":\"Skip .gitignore'd "
	"paths and .git (default true).\"}},\"required\":[\"path\",\"pattern\"],"
	"\"additionalProperties\":false}";

const char fs_grep_out[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	"\"pattern\":{\"type\":\"string\"},\"matches\":{\"type\":\"array\",\"items\":{"
	"\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"},"
	"\"line\":{\"type\":\"integer\"},\"column\":{\"type\":\"integer\",\"description\":"
	"\"1-based byte column of the match start.\"},\"text\":{\"type\":\"string\"},"
	"\"before\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}},"
	"\"after\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
	"\"required\":[\"path\",\"line\",\"column\",\"text\"],\"additionalProperties\":false}},"
	"\"count\":{\"type\":\"integer\"},\"filesSearched\":{\"type\":\"integer\"},"
	"\"filesMatched\":{\"type\":\"integer\"},\"binarySkipped\":{\"type\":\"integer\"},"
	"\"unreadable\":{\"type\":\"integer\",\"description\":\"Files and directories that "
	"could not be read (skipped): when not 0 the result may be incomplete.\"},"
	"\"truncated\":{\"type\":\"boolean\"}},\"required\":[\"path\",\"pattern\",\"matches\","
	"\"count\",\"truncated\"],\"additionalProperties\":false}";
/* clang-format on */
