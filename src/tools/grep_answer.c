/* grep_answer.c - grep's walk (fs_pwalk tasks that classify entries and search files with
 * grep.c's engine), the merge of the per-file records in walk order once the walk is over,
 * and the answer written as JSON text: the same with one thread or many.
 */
#include "grep_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/json_write.h"
#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"
#include "fs_ignore.h"
#include "fs_priv.h"
#include "fs_pwalk.h"
#include "fs_walk.h"

/* ---- the walk ----------------------------------------------------------------------- */

struct gwalk {
	struct gconf *c;
	struct grep *slots; /* one per walk slot */
	unsigned n_slots;
};

static unsigned grep_classify(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
			      uint32_t i, const char *rel, size_t rel_len, void **child_state)
{
	const struct gwalk *gw = ctxd_fs_pw_ud(w);
	const struct gconf *c = gw->c;
	const struct ctxd_fs_pw_ent *e = &d->ents[i];
	const char *name = d->names + e->name_off;
	(void)slot;
	(void)child_state;
	if (e->type == CTXD_FS_WALK_DIR) {
		/* exclude globs also prune directories (by name or path) */
		bool out = c->exc.n && ctxd_fs_globs_match(&c->exc, rel, rel_len, name);
		return out ? 0 : CTXD_FS_PW_DESCEND;
	}
	if (e->type != CTXD_FS_WALK_FILE ||
	    (c->inc.n && !ctxd_fs_globs_match(&c->inc, rel, rel_len, name)) ||
	    (c->exc.n && ctxd_fs_globs_match(&c->exc, rel, rel_len, name))) {
		return 0;
	}
	return CTXD_FS_PW_KEEP | CTXD_FS_PW_FILE;
}

static void grep_walk_file(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
			   uint32_t i, const char *rel, size_t rel_len)
{
	struct gwalk *gw = ctxd_fs_pw_ud(w);
	struct grep *g = &gw->slots[slot];
	struct ctxd_fs_pw_ent *e = &d->ents[i];
	struct frec *r = ctxd_grep_blk_alloc(g, sizeof(*r));
	if (!r) {
		atomic_store(&gw->c->oom, true);
		ctxd_fs_pw_abort(w);
		return;
	}
	e->rec = r;
	g->w = w;
	int fd = ctxd_sandbox_openat(d->fd, d->names + e->name_off,
				     O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, true);
	if (fd < 0) {
		memset(r, 0, sizeof(*r));
		r->flags = F_UNREADABLE;
		return;
	}
	ctxd_grep_file(g, fd, rel, rel_len, gw->c->max, r);
	e->hits = (uint32_t)r->matches;
	if (g->oom) {
		atomic_store(&gw->c->oom, true);
		ctxd_fs_pw_abort(w);
	} else if (r->flags & F_ERROR) {
		ctxd_fs_pw_abort(w); /* the answer is that error */
	}
}

/* ---- the answer ---------------------------------------------------------------------- */

/* A regexLimit entry of the answer. */
struct lim_out {
	const struct frec *r; /* its file (the escaped path) */
	size_t line;
	bool to_end;
};

/* Totals over the files in walk order, up to maxResults; the files with hits. */
struct merge {
	struct gconf *c;
	struct grep *g0; /* the calling thread's state: the file at the cut is searched again */
	int start_fd;
	const struct frec **recs;
	size_t n_recs, cap_recs;
	size_t matches, files, files_matched, binary, unreadable, cut_files, too_deep;
	size_t lim_lines, lim_files, n_lim;
	struct lim_out lim[GREP_LIMIT_LIST];
	bool truncated, oom, cancelled, timed_out;
	const char *err;
};

/* Count one file's record into the totals; false when the answer ends with it. */
static bool merge_rec(struct merge *m, const struct frec *r)
{
	if (r->flags & F_UNREADABLE) {
		m->unreadable++;
		return true;
	}
	m->files++;
	m->binary += (r->flags & F_BINARY) != 0;
	m->cut_files += (r->flags & F_CUT) != 0;
	if (r->flags & F_ERROR) {
		m->err = r->err;
		return false;
	}
	m->files_matched += (r->flags & F_MATCHED) != 0;
	m->matches += r->matches;
	m->lim_lines += r->lim_lines;
	m->lim_files += r->lim_file;
	for (size_t k = 0; k < r->n_lim; k++) {
		if (m->n_lim < GREP_LIMIT_LIST) {
			m->lim[m->n_lim++] = (struct lim_out){r, r->lim[k].line, r->lim[k].to_end};
		} else if (r->lim[k].to_end) {
			m->lim[GREP_LIMIT_LIST - 1].to_end = true; /* keep "gave up" visible */
		}
	}
	if (r->n_hits || r->n_lim) {
		if (ctxd_grow((void **)&m->recs, &m->cap_recs, m->n_recs + 1, sizeof(*m->recs),
			      256)) {
			m->oom = true;
			return false;
		}
		m->recs[m->n_recs++] = r;
	}
	if (r->flags & F_TRUNC) {
		m->truncated = true;
		return false;
	}
	return true;
}

/* The file `rel` searched again with what is left of maxResults (it holds the cut): the
 * same search a single pass over the tree would have made of it. */
static const struct frec *research(struct merge *m, const char *rel, size_t rel_len)
{
	struct grep *g = m->g0;
	g->w = NULL; /* the walk is over */
	struct frec *r = ctxd_grep_blk_alloc(g, sizeof(*r));
	int fd =
	    r ? ctxd_sandbox_openat(m->start_fd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0, true)
	      : -1;
	if (!r) {
		m->oom = true;
		return NULL;
	}
	if (fd < 0) {
		memset(r, 0, sizeof(*r));
		r->flags = F_UNREADABLE;
		return r;
	}
	ctxd_grep_file(g, fd, rel, rel_len, m->c->max - m->matches, r);
	m->oom |= g->oom;
	m->cancelled |= g->cancelled;
	m->timed_out |= g->timed_out;
	return r;
}

static int merge_each(void *ud, const struct ctxd_fs_pw_node *d, const struct ctxd_fs_pw_ent *e,
		      const char *rel, size_t rel_len)
{
	struct merge *m = ud;
	(void)d;
	if (e->flags & CTXD_FS_PW_LONG) {
		m->too_deep++;
		return 0;
	}
	if (e->flags & CTXD_FS_PW_UNREADABLE) {
		m->unreadable++; /* a directory */
		return 0;
	}
	if (!(e->flags & CTXD_FS_PW_DONE) || !e->rec) {
		return 0; /* not searched: the walk stopped (deadline) */
	}
	const struct frec *r = e->rec;
	if (r->matches > m->c->max - m->matches && !(r->flags & (F_BINARY | F_ERROR))) {
		r = research(m, rel, rel_len);
		if (!r) {
			return 1;
		}
	}
	return merge_rec(m, r) ? 0 : 1;
}

/* The text content: path:line:column:text per match, path-line-text per context line,
 * "--" between groups when there is context; cut past GREP_TEXT_MAX bytes. */
static void write_text(struct merge *m, struct ctxd_strbuf *b)
{
	const struct gconf *c = m->c;
	size_t start = b->len;
	bool cut = false;
	for (size_t k = 0; k < m->n_recs && !cut; k++) {
		const struct frec *r = m->recs[k];
		const char *path = r->sc + PATH_AT;
		for (size_t i = 0; i < r->n_hits && !cut; i++) {
			const struct hit *h = &r->hits[i];
			if (c->context && ((i == 0 && b->len > start) ||
					   (i > 0 && h->line > r->hits[i - 1].line + 1))) {
				ctxd_strbuf_str(b, "--\\n");
			}
			ctxd_strbuf_add(b, path, r->path_len);
			ctxd_strbuf_add(b, h->col ? ":" : "-", 1);
			ctxd_json_uint(b, h->line);
			if (h->col) {
				ctxd_strbuf_add(b, ":", 1);
				ctxd_json_uint(b, h->col);
			}
			ctxd_strbuf_add(b, h->col ? ":" : "-", 1);
			ctxd_json_text_part(b, r->texts + h->text, h->text_len);
			ctxd_strbuf_str(b, "\\n");
			if (b->len - start > GREP_TEXT_MAX) {
				cut = true;
				ctxd_strbuf_str(b,
						"(text output cut at 4 MiB; structuredContent has "
						"every match)\\n");
			}
		}
	}
}

/* The lines (plain text, into t) and structuredContent members (JSON, into sc) that say
 * why an answer is incomplete. */
static void report_cuts(const struct merge *m, struct ctxd_strbuf *t, struct ctxd_strbuf *sc)
{
	const struct gconf *c = m->c;
	struct ctxd_strbuf why = {0};
	if (m->truncated) {
		ctxd_strbuf_printf(t,
				   "(stopped after %zu matches: raise maxResults or narrow the "
				   "search)\n",
				   c->max);
		ctxd_strbuf_str(&why, ",\"maxResults\"");
	}
	if (m->timed_out) {
		ctxd_strbuf_printf(t,
				   "(stopped at the call's time limit (limits.call_ms): the result "
				   "is incomplete; narrow the path or add an include glob)\n");
		ctxd_strbuf_str(&why, ",\"deadline\"");
	}
	if (m->too_deep) {
		ctxd_strbuf_printf(t,
				   "(%zu entries lie deeper than the path-length limit (%d bytes) "
				   "and were not searched: start from a deeper directory)\n",
				   m->too_deep, CTXD_PATH_MAX);
		ctxd_strbuf_str(&why, ",\"depth\"");
	}
	if (m->cut_files) {
		ctxd_strbuf_printf(t,
				   "(%zu files are larger than %zu MiB: only their first %zu MiB "
				   "were searched)\n",
				   m->cut_files, GREP_FILE_MAX >> 20, GREP_FILE_MAX >> 20);
		ctxd_strbuf_str(&why, ",\"fileSize\"");
	}
	if (m->lim_lines) {
		ctxd_strbuf_printf(t,
				   "(%zu lines were not searched: the pattern hit the regex "
				   "backtracking limit there",
				   m->lim_lines);
		if (m->lim_files) {
			ctxd_strbuf_printf(t,
					   "; the rest of %zu files was skipped after %u such "
					   "lines each",
					   m->lim_files, GREP_LIMIT_PER_FILE);
		}
		ctxd_strbuf_str(t, ". Rewrite the pattern without nested or adjacent unbounded "
				   "quantifiers such as (a+)+ or \\w+\\w+. Lines:");
		ctxd_strbuf_printf(sc,
				   ",\"regexLimit\":{\"lines\":%zu,\"filesGivenUp\":%zu,\"at\":[",
				   m->lim_lines, m->lim_files);
		for (size_t i = 0; i < m->n_lim; i++) {
			const struct lim_out *h = &m->lim[i];
			/* the path is kept escaped: undo the escapes for the plain text */
			json_t *p = json_loadb(h->r->sc + PATH_AT - 1, h->r->path_len + 2,
					       JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
			ctxd_strbuf_printf(t, " %s:%zu%s", p ? json_string_value(p) : "?", h->line,
					   h->to_end ? " (and every line after it)" : "");
			json_decref(p);
			ctxd_strbuf_str(sc, i ? ",{\"path\":\"" : "{\"path\":\"");
			ctxd_strbuf_add(sc, h->r->sc + PATH_AT, h->r->path_len);
			ctxd_strbuf_printf(sc, "\",\"line\":%zu,\"restOfFile\":%s}", h->line,
					   h->to_end ? "true" : "false");
		}
		if (m->lim_lines > m->n_lim) {
			ctxd_strbuf_str(t, " ...");
		}
		ctxd_strbuf_str(t, ")\n");
		ctxd_strbuf_str(sc, "]}");
		ctxd_strbuf_str(&why, ",\"regexLimit\"");
	}
	if (m->unreadable) {
		ctxd_strbuf_printf(
		    t,
		    "(%zu files or directories could not be read and were skipped: the "
		    "result may be incomplete)\n",
		    m->unreadable);
	}
	if (why.len) {
		ctxd_strbuf_str(sc, ",\"truncatedReasons\":[");
		ctxd_strbuf_add(sc, why.p + 1, why.len - 1);
		ctxd_strbuf_str(sc, "]");
	}
	if (why.oom) {
		sc->oom = true;
	}
	free(why.p);
}

/* The CallToolResult, written as JSON into b: the text, then structuredContent. */
static void write_answer(struct merge *m, const char *pattern, size_t pattern_len,
			 struct ctxd_strbuf *b)
{
	const struct gconf *c = m->c;
	/* reserve once: the parts are known but for the text, which stops at GREP_TEXT_MAX */
	size_t want = 1024 + 2 * c->root_len + 6 * pattern_len;
	size_t text = 0;
	for (size_t k = 0; k < m->n_recs; k++) {
		const struct frec *r = m->recs[k];
		want += r->sc_len + 1;
		for (size_t i = 0; i < r->n_hits && text <= GREP_TEXT_MAX; i++) {
			text += r->path_len + 24 + r->hits[i].text_len + r->hits[i].text_len / 8;
		}
	}
	want += text < GREP_TEXT_MAX ? text : GREP_TEXT_MAX + 4096;
	ctxd_strbuf_reserve(b, want);

	struct ctxd_strbuf trail = {0}, sc_tail = {0};
	if (m->matches == 0) {
		ctxd_strbuf_printf(&trail, "No matches found for \"%s\" (%zu files searched",
				   pattern, m->files);
		if (m->binary) {
			ctxd_strbuf_printf(&trail, ", %zu binary files skipped", m->binary);
		}
		ctxd_strbuf_str(&trail, ")\n");
	}
	report_cuts(m, &trail, &sc_tail);

	ctxd_strbuf_str(b, "{\"content\":[{\"type\":\"text\",\"text\":\"");
	size_t text_at = b->len;
	write_text(m, b);
	if (trail.p) {
		ctxd_json_text_part(b, trail.p, trail.len);
	}
	if (b->len >= text_at + 2) {
		b->len -= 2; /* the text's last "\n" */
	}
	ctxd_strbuf_str(b, "\"}],\"structuredContent\":{\"path\":");
	ctxd_json_text(b, c->root, c->root_len);
	ctxd_strbuf_str(b, ",\"pattern\":");
	ctxd_json_text(b, pattern, pattern_len);
	ctxd_strbuf_str(b, ",\"files\":[");
	for (size_t k = 0; k < m->n_recs; k++) {
		const struct frec *r = m->recs[k];
		if (!r->n_hits) {
			continue; /* only regexLimit lines: listed there */
		}
		if (b->p[b->len - 1] == '}') {
			ctxd_strbuf_add(b, ",", 1);
		}
		ctxd_strbuf_add(b, r->sc, r->sc_len);
	}
	ctxd_strbuf_printf(b,
			   "],\"count\":%zu,\"filesSearched\":%zu,\"filesMatched\":%zu,"
			   "\"binarySkipped\":%zu,\"truncated\":%s,\"unreadable\":%zu",
			   m->matches, m->files, m->files_matched, m->binary,
			   strstr(sc_tail.p ? sc_tail.p : "", "\"truncatedReasons\"") ? "true"
										      : "false",
			   m->unreadable);
	if (sc_tail.p) {
		ctxd_strbuf_add(b, sc_tail.p, sc_tail.len);
	}
	ctxd_strbuf_str(b, "}}");
	if (trail.oom || sc_tail.oom) {
		b->oom = true;
	}
	free(trail.p);
	free(sc_tail.p);
}

/* maxResults and contextLines into c, clamped to their ceilings. */
static void grep_parse_limits(json_t *args, struct gconf *c)
{
	json_t *jm = json_object_get(args, "maxResults");
	if (json_is_integer(jm) && json_integer_value(jm) > 0) {
		json_int_t v = json_integer_value(jm);
		c->max = v > GREP_MAX_RESULTS ? GREP_MAX_RESULTS : (size_t)v;
	}
	json_t *jc = json_object_get(args, "contextLines");
	if (json_is_integer(jc) && json_integer_value(jc) > 0) {
		json_int_t v = json_integer_value(jc);
		c->context = v > (json_int_t)GREP_MAX_CONTEXT ? GREP_MAX_CONTEXT : (size_t)v;
	}
}

/* Compiles the pattern into c->re and c->rew (with JIT where it works); -1 with *res set
 * when the pattern is not a valid regular expression, -1 alone when out of memory. */
static int grep_compile(struct gconf *c, json_t *args, const char *pattern, size_t pattern_len,
			json_t **res)
{
	uint32_t opts = PCRE2_MULTILINE;
	bool literal = json_is_true(json_object_get(args, "literal"));
	if (literal) {
		opts = PCRE2_LITERAL; /* PCRE2 refuses MULTILINE with LITERAL; no anchors anyway */
	}
	if (json_is_true(json_object_get(args, "caseInsensitive"))) {
		opts |= PCRE2_CASELESS;
	}
	int ecode;
	PCRE2_SIZE eoff;
	c->re = pcre2_compile((PCRE2_SPTR)pattern, pattern_len, opts, &ecode, &eoff, NULL);
	if (!c->re) {
		char msg[160];
		pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
		*res = ctxd_fs_fail(
		    "argument 'pattern' (\"%s\") is not a valid regular expression: %s "
		    "at offset %zu (set literal: true to search for the text as is)",
		    pattern, msg, (size_t)eoff);
		return -1;
	}
	c->rew = pcre2_compile((PCRE2_SPTR)pattern, pattern_len, opts | PCRE2_USE_OFFSET_LIMIT,
			       &ecode, &eoff, NULL);
	c->per_line = !literal && ctxd_grep_needs_per_line(pattern, pattern_len);
	c->jit = pcre2_jit_compile(c->re, PCRE2_JIT_COMPLETE) == 0;
	c->jitw = c->rew && pcre2_jit_compile(c->rew, PCRE2_JIT_COMPLETE) == 0;
	return c->rew ? 0 : -1;
}

/* Searches the single regular file at path (loc) into m, display paths relative to its
 * directory; -1 (with *res set unless out of memory) when the answer is a failure. */
static int grep_one_file(struct merge *m, const struct ctxd_tool_ctx *ctx, const char *path,
			 size_t plen, const struct ctxd_sandbox_loc *loc, json_t **res)
{
	struct gconf *c = m->c;
	struct ctxd_error err = {0};
	int rfd = ctxd_sandbox_open(ctx->sandbox, path, plen, O_RDONLY | O_NONBLOCK, 0, false, NULL,
				    &err);
	if (rfd < 0) {
		*res = ctxd_fs_fail("cannot read '%s'", loc->abs);
		return -1;
	}
	const char *slash = strrchr(loc->abs, '/');
	const char *base = slash ? slash + 1 : loc->abs;
	char name[CTXD_PATH_MAX];
	snprintf(name, sizeof(name), "%s", base);
	if (slash) {
		c->root_len = slash - loc->abs == 0 ? 1 : (size_t)(slash - loc->abs);
		c->slash_root = c->root_len == 1;
	}
	struct frec *r = ctxd_grep_blk_alloc(m->g0, sizeof(*r));
	if (!r) {
		close(rfd);
		return -1;
	}
	if (ctxd_grep_must_stop(m->g0)) {
		close(rfd);
		memset(r, 0, sizeof(*r));
	} else {
		ctxd_grep_file(m->g0, rfd, name, strlen(name), c->max, r);
	}
	m->cancelled = m->g0->cancelled;
	m->timed_out = m->g0->timed_out;
	if (m->g0->oom) {
		return -1;
	}
	if (r->flags & F_UNREADABLE) {
		*res = ctxd_fs_fail("cannot read '%s'", loc->abs);
		return -1;
	}
	if (r->flags & F_SEARCHED) {
		merge_rec(m, r);
	}
	return 0;
}

/* A directory search's walk: the walk reads its options until ctxd_fs_pw_free, so they live
 * as long as it does (in ctxd_fs_grep's frame). */
struct gtree {
	struct gwalk gw;
	struct ctxd_fs_pw_opts o;
	char abs[2 * CTXD_PATH_MAX];
	struct ctxd_fs_pw *w;
	struct ctxd_fs_ignore_level *above;
};

/* Walks the directory fd (loc) with the slots' searchers and merges the records into m in
 * walk order; t->w and t->above are the caller's to free; -1 (with *res set unless out of
 * memory) when the answer is a failure. */
static int grep_walk_tree(struct merge *m, const struct ctxd_tool_ctx *ctx, json_t *args, int fd,
			  const struct ctxd_sandbox_loc *loc, struct gtree *t, json_t **res)
{
	struct gconf *c = m->c;
	bool gi = !json_is_false(json_object_get(args, "respectGitignore"));
	static const struct ctxd_fs_pw_ops ops = {.classify = grep_classify,
						  .file = grep_walk_file};
	t->o = (struct ctxd_fs_pw_opts){.limit = c->max, .ops = &ops, .ud = &t->gw};
	if (ctxd_fs_pw_prepare(&t->o, ctx, loc, gi, t->abs, sizeof(t->abs), &t->above) < 0) {
		return -1;
	}
	int rc = ctxd_fs_pw_run(fd, &t->o, &t->w);
	if (rc == -ECANCELED) {
		m->cancelled = true;
	} else if (rc == -ETIMEDOUT) {
		m->timed_out = true;
	} else if (rc == -ENOMEM || atomic_load(&c->oom)) {
		return -1;
	} else if (rc < 0 && rc != -ECONNABORTED) {
		*res = ctxd_fs_fail("cannot search '%s': %s", loc->abs, strerror(-rc));
		return -1;
	}
	if (!m->cancelled) {
		m->start_fd = fd;
		if (ctxd_fs_pw_each(t->w, merge_each, m) == -ENOMEM) {
			m->oom = true;
		}
	}
	return 0;
}

/* The tool's answer once the search is over: NULL when out of memory, the failure when it was
 * cancelled or the engine gave up, else the CallToolResult written for the matches. */
static json_t *grep_result(const struct ctxd_tool_ctx *ctx, struct merge *m, const char *where,
			   const char *pattern, size_t pattern_len)
{
	if (m->oom) {
		return NULL;
	}
	if (m->cancelled) {
		return ctxd_fs_fail("grep in '%s' cancelled", where);
	}
	if (m->err) {
		return ctxd_fs_fail("grep of \"%s\" failed: %s (simplify the pattern)", pattern,
				    m->err);
	}
	struct ctxd_strbuf local = {0}, *b = ctx->out ? ctx->out : &local;
	size_t from = b->len;
	write_answer(m, pattern, pattern_len, b);
	return ctxd_tool_written(ctx, b, from);
}

/* Frees what a search made: the walk, the start's fd, the merged list, the globs, the slots'
 * searchers and the compiled patterns. */
static void grep_free(struct gconf *c, struct merge *m, struct gtree *t, struct grep *slots,
		      unsigned n_slots, int fd)
{
	ctxd_fs_pw_free(t->w);
	ctxd_fs_ignore_chain_free(t->above);
	if (fd >= 0) {
		close(fd);
	}
	free(m->recs);
	ctxd_fs_globs_finish(&c->inc);
	ctxd_fs_globs_finish(&c->exc);
	for (unsigned i = 0; i < n_slots; i++) {
		ctxd_grep_finish(&slots[i]);
	}
	free(slots);
	pcre2_code_free(c->re);
	pcre2_code_free(c->rew);
}

json_t *ctxd_fs_grep(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	json_t *jp = json_object_get(args, "pattern");
	if (!json_is_string(jp) || json_string_length(jp) == 0) {
		return ctxd_fs_fail("argument 'pattern' must be a non-empty regular expression");
	}
	const char *pattern = json_string_value(jp);
	size_t pattern_len = json_string_length(jp);
	struct gconf c = {.ctx = ctx, .max = GREP_DEFAULT_RESULTS};
	grep_parse_limits(args, &c);
	unsigned n_slots = ctxd_fs_pw_slots(ctx->pool);
	struct grep *slots = calloc(n_slots, sizeof(*slots));
	struct merge m = {.c = &c, .start_fd = -1};
	struct gtree t = {.gw = {.c = &c, .slots = slots, .n_slots = n_slots}};
	json_t *res = NULL;
	struct ctxd_fs_arg a; /* not zeroed: a path of 4 KiB */
	a.fd = -1;
	if (!slots) {
		return NULL;
	}
	for (unsigned i = 0; i < n_slots; i++) {
		slots[i].c = &c;
	}
	m.g0 = &slots[0];
	if (ctxd_grep_parse_globs(args, "include", &c.inc, &res) < 0 ||
	    ctxd_grep_parse_globs(args, "exclude", &c.exc, &res) < 0) {
		goto out;
	}
	if (grep_compile(&c, args, pattern, pattern_len, &res) < 0 || !ctxd_grep_ready(m.g0)) {
		goto out;
	}
	res = ctxd_fs_open_arg(ctx, args, O_PATH, 0, &a);
	if (res) {
		goto out;
	}
	c.root = a.loc.abs;
	c.root_len = strlen(a.loc.abs);
	c.slash_root = c.root_len == 1 && a.loc.abs[0] == '/';
	struct stat st;
	if (fstat(a.fd, &st) == 0 && S_ISREG(st.st_mode)) {
		if (grep_one_file(&m, ctx, a.path, a.len, &a.loc, &res) < 0) {
			goto out;
		}
	} else if (grep_walk_tree(&m, ctx, args, a.fd, &a.loc, &t, &res) < 0) {
		goto out;
	}
	res = grep_result(ctx, &m, a.loc.abs, pattern, pattern_len);
out:
	grep_free(&c, &m, &t, slots, n_slots, a.fd);
	return res;
}
