/* grep.c - the grep tool: content search over a confined tree. This file is the per-file
 * engine; grep_answer.c holds the walk, the merge in walk order and the answer.
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
 * Matches lie within one line, as ripgrep's do: the buffer is searched in chunks of up to
 * about 1 MiB that end at a line end, a match that crosses a newline (\s+ or [^x] can consume
 * one) sends that one line through the matcher again on its own, and a pattern whose answer
 * may depend on text outside the line (lookaround, \A \z \Z \G \K, verbs) is matched line
 * by line. PCRE2's match, depth and heap limits stop catastrophic backtracking ((a+)+b):
 * a line that hits them is listed in the answer (regexLimit) and the search goes on; after
 * 8 such lines the rest of that file is given up, and said so.
 *
 * The walk is fs_pwalk: the directories and batches of files are tasks that every worker of
 * the pool may take (helpers give way to requests), with .gitignore, .ignore, .rgignore and
 * .git/info/exclude applied as ripgrep applies them (the files searched are those of `rg
 * --hidden --no-require-git`). Each file is opened with ctxd_sandbox_openat (O_NOFOLLOW:
 * symlinks are never searched), read whole into the thread's buffer, and skipped as binary
 * when its first 8 KiB hold a NUL byte, or when it has a match and a NUL byte anywhere
 * (ripgrep's count). What a file gives is kept per file (its hits, and its part of
 * structuredContent already written as JSON); the answer is put together in walk order once
 * the walk is over, so it is the same with one thread or many: the files in walk order (each
 * directory's entries in strcmp order), maxResults cutting at the same match, counts the
 * same. Cancellation and the call deadline are checked per entry, per file, per chunk and
 * every 256 regex calls; progress is reported per 1000 entries and per chunk of a large file.
 *
 * The answer is written as JSON text (json_write.h) straight into the response frame when
 * the caller offers one (ctxd_tool_ctx.out), without a jansson value per match; the path of a
 * file appears once in structuredContent, with its matches under it.
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
#include "fs_priv.h"
#include "fs_pwalk.h"
#include "fs_walk.h"

void *ctxd_grep_blk_alloc(struct grep *g, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	if (!g->blocks || g->blocks->cap - g->blocks->used < n) {
		size_t cap = n > ((size_t)256 << 10) ? n : ((size_t)256 << 10);
		struct blk *b = malloc(sizeof(*b) + cap);
		if (!b) {
			g->oom = true;
			return NULL;
		}
		b->next = g->blocks;
		b->used = 0;
		b->cap = cap;
		g->blocks = b;
	}
	void *p = g->blocks->data + g->blocks->used;
	g->blocks->used += n;
	return p;
}

static size_t arena_put(struct grep *g, const char *s, size_t n)
{
	if (ctxd_grow((void **)&g->arena, &g->arena_cap, g->arena_len + n + 1, 1, 65536) < 0) {
		g->oom = true;
		return 0;
	}
	size_t off = g->arena_len;
	if (n) { /* memcpy's arguments must be valid even for 0 bytes */
		memcpy(g->arena + off, s, n);
	}
	g->arena[off + n] = '\0';
	g->arena_len += n + 1;
	return off;
}

static void add_hit(struct grep *g, size_t line, size_t col, const char *t, size_t tl)
{
	if (ctxd_grow((void **)&g->hits, &g->cap_hits, g->n_hits + 1, sizeof(*g->hits), 256)) {
		g->oom = true;
		return;
	}
	if (tl > 0 && t[tl - 1] == '\r') {
		tl--;
	}
	if (tl > GREP_LINE_SHOW) {
		tl = ctxd_utf8_trim(t, GREP_LINE_SHOW);
	}
	size_t off = arena_put(g, t, tl);
	g->hits[g->n_hits++] = (struct hit){.line = line, .col = col, .text = off, .text_len = tl};
}

/* Read the file into g->buf (at most GREP_FILE_MAX bytes; *cut when there was more). */
static int read_file(struct grep *g, int fd, size_t *len, bool *cut)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		return -1;
	}
	size_t want = (size_t)st.st_size;
	*cut = want > GREP_FILE_MAX;
	if (*cut) {
		want = GREP_FILE_MAX;
	}
	if (ctxd_grow((void **)&g->buf, &g->buf_cap, want + 1, 1, 65536)) {
		g->oom = true;
		return -1;
	}
	ssize_t got = ctxd_fs_pread_full(fd, g->buf, want, 0);
	if (got < 0) {
		return -1;
	}
	*len = (size_t)got;
	return 0;
}

/* True when the call must stop now (cancelled, past its deadline, or, during a walk,
 * stopped by another thread); says which in g when no walk runs. */
bool ctxd_grep_must_stop(struct grep *g)
{
	if (g->w) {
		return ctxd_fs_pw_check(g->w);
	}
	if (ctxd_job_cancelled(g->c->ctx->job)) {
		g->cancelled = true;
	} else if (ctxd_deadline_passed(g->c->ctx->deadline_ms)) {
		g->timed_out = true;
	}
	return g->cancelled || g->timed_out;
}

/* Does the pattern look outside the line it matches in? Lookaround, \A \z \Z \G, \K
 * (a reported start after a newline the match consumed) and verbs can give a different
 * answer on the whole buffer than on the line alone, so such patterns are matched line by
 * line. Conservative: an escaped "(?=" in a
 * character class also counts (it only costs speed). */
bool ctxd_grep_needs_per_line(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] == '\\') {
			char c = p[i + 1];
			if (c == 'A' || c == 'z' || c == 'Z' || c == 'G' || c == 'K') {
				return true;
			}
			i++;
		} else if (p[i] == '(' && p[i + 1] == '*') {
			return true;
		} else if (p[i] == '(' && p[i + 1] == '?' && i + 2 < n &&
			   (p[i + 2] == '=' || p[i + 2] == '!' ||
			    (p[i + 2] == '<' && i + 3 < n &&
			     (p[i + 3] == '=' || p[i + 3] == '!')))) {
			return true;
		}
	}
	return false;
}

/* Count a regex call; every GREP_CHECK_CALLS calls, must_stop. */
static bool tick(struct grep *g)
{
	if (++g->calls < GREP_CHECK_CALLS) {
		return false;
	}
	g->calls = 0;
	return ctxd_grep_must_stop(g);
}

/* The coarse clock: 8 ns a read instead of 57 (read around every chunk); its few-ms
 * resolution is enough to tell slow work. */
static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The window grows after quick work (a chunk, or one call of a long line's windows) and
 * shrinks after slow work. `t0` is when the work began (now_us). */
static void adapt(struct grep *g, int64_t t0)
{
	int64_t took = now_us() - t0;
	if (took < GREP_CALL_FAST_US && g->window < GREP_WINDOW_MAX) {
		g->window *= 2;
	} else if (took >= GREP_CALL_SLOW_US) {
		g->window = g->window / 16 > GREP_WINDOW_MIN ? g->window / 16 : GREP_WINDOW_MIN;
	}
}

static int call_re(struct grep *g, const pcre2_code *re, bool jit, const char *s, size_t n,
		   size_t start)
{
	return jit ? pcre2_jit_match(re, (PCRE2_SPTR)s, n, start, 0, g->md, g->mc)
		   : pcre2_match(re, (PCRE2_SPTR)s, n, start, 0, g->md, g->mc);
}

/* The first match in the subject s[0..n) that starts at `start` or later: one call when
 * at most twice the window of start positions remain, else a window at a time with
 * must_stop between windows. Returns PCRE2's answer, or GREP_STOPPED; *at (may be NULL)
 * is where the call of that answer began. */
static int run_match(struct grep *g, const char *s, size_t n, size_t start, size_t *at)
{
	if (at) {
		*at = start;
	}
	if (n - start <= 2 * g->window) {
		return call_re(g, g->c->re, g->c->jit, s, n, start);
	}
	for (;;) {
		size_t lim = n - start > g->window ? start + g->window : n;
		pcre2_set_offset_limit(g->mc, lim);
		if (at) {
			*at = start;
		}
		int64_t t0 = now_us();
		int rc = call_re(g, g->c->rew, g->c->jitw, s, n, start);
		adapt(g, t0);
		if (rc != PCRE2_ERROR_NOMATCH || lim >= n) {
			return rc;
		}
		start = lim + 1;
		if (ctxd_grep_must_stop(g)) {
			return GREP_STOPPED;
		}
	}
}

static bool is_limit(int rc)
{
	return rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	       rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT;
}

/* Advance f->line to the line that starts at `lstart`. */
static void seek_line(struct scan *f, size_t lstart)
{
	f->line += ctxd_fs_count_nl(f->s + f->line_pos, lstart - f->line_pos);
	f->line_pos = lstart;
}

/* Trailing context of the previous match, up to (not including) line `upto`. */
static void flush_after(struct grep *g, struct scan *f, size_t upto)
{
	size_t p = f->after_from, ln = f->last_shown + 1;
	while (f->pending_after > 0 && ln < upto && p < f->n) {
		const char *e = memchr(f->s + p, '\n', f->n - p);
		size_t pe = e ? (size_t)(e - f->s) : f->n;
		add_hit(g, ln, 0, f->s + p, pe - p);
		f->last_shown = ln++;
		f->pending_after--;
		p = pe + 1;
	}
	f->after_from = p;
}

/* Before the first thing reported of a file: a NUL byte anywhere (the probe saw only the
 * first 8 KiB) makes it binary, as ripgrep counts it. Checked only in files with something
 * to report, so files without a match cost no extra pass. True when the file is dropped. */
static bool late_binary(struct grep *g, struct scan *f)
{
	if (!f->checked) {
		f->checked = true;
		if (f->n > FS_BINARY_PROBE &&
		    memchr(f->s + FS_BINARY_PROBE, '\0', f->n - FS_BINARY_PROBE)) {
			g->binary = true;
			f->stop = true;
		}
	}
	return f->stop;
}

/* Record a match in the line [lstart, lend) at byte column `col` (1-based). */
static void record_match(struct grep *g, struct scan *f, size_t lstart, size_t lend, size_t col)
{
	if (late_binary(g, f)) {
		return;
	}
	seek_line(f, lstart);
	f->any = true;
	g->matched = true;
	if (g->n_matches >= g->max) {
		g->truncated = true;
		f->stop = true;
		return;
	}
	const char *s = f->s;
	size_t line = f->line;
	size_t context = g->c->context;
	if (context) {
		flush_after(g, f, line);
		/* leading context: up to `context` lines before, after last_shown */
		size_t first = line > context ? line - context : 1;
		if (first <= f->last_shown) {
			first = f->last_shown + 1;
		}
		size_t bpos = lstart;
		for (size_t k = line; k > first && bpos > 0; k--) {
			const char *pb = bpos >= 2 ? memrchr(s, '\n', bpos - 1) : NULL;
			bpos = pb ? (size_t)(pb - s) + 1 : 0;
		}
		for (size_t k = first; k < line; k++) {
			const char *e = memchr(s + bpos, '\n', f->n - bpos);
			size_t pe = e ? (size_t)(e - s) : f->n;
			add_hit(g, k, 0, s + bpos, pe - bpos);
			bpos = pe + 1;
		}
	}
	add_hit(g, line, col, s + lstart, lend - lstart);
	g->n_matches++;
	f->last_shown = line;
	f->pending_after = context;
	f->after_from = lend + 1;
	if (g->oom) {
		f->stop = true;
	}
}

/* The limits stopped the line starting at `lstart`: list it; after GREP_LIMIT_PER_FILE such
 * lines the rest of the file is given up (and listed as such). */
static void record_limit(struct grep *g, struct scan *f, size_t lstart)
{
	if (late_binary(g, f)) {
		return;
	}
	seek_line(f, lstart);
	f->any = true;
	bool to_end = ++f->lim_here >= GREP_LIMIT_PER_FILE;
	g->lim_lines++;
	if (to_end) {
		g->lim_file = true;
		f->stop = true;
	}
	g->lim[g->n_lim++] = (struct limit_hit){.line = f->line, .to_end = to_end};
}

/* Match the line [ls, le) alone (the subject ends before its newline). */
static void match_line(struct grep *g, struct scan *f, size_t ls, size_t le)
{
	int rc = run_match(g, f->s + ls, le - ls, 0, NULL);
	if (rc == GREP_STOPPED) {
		f->stop = true;
	} else if (rc >= 0) {
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(g->md);
		record_match(g, f, ls, le, ov[0] + 1);
	} else if (is_limit(rc)) {
		record_limit(g, f, ls);
	} else if (rc != PCRE2_ERROR_NOMATCH) {
		g->match_error = true;
		pcre2_get_error_message(rc, (PCRE2_UCHAR *)g->err, sizeof(g->err));
		f->stop = true;
	}
}

/* Every line starting in [from, to), one by one. */
static void scan_lines(struct grep *g, struct scan *f, size_t from, size_t to)
{
	for (size_t ls = from; ls < to && !f->stop;) {
		if (tick(g)) {
			f->stop = true;
			return;
		}
		const char *e = memchr(f->s + ls, '\n', f->n - ls);
		size_t le = e ? (size_t)(e - f->s) : f->n;
		match_line(g, f, ls, le);
		ls = le + 1;
	}
}

/* The lines starting in [pos, end) (end is just past a newline, or the end of the file),
 * searched as one subject: the JIT's first-code-unit and literal scans run over the whole
 * chunk, and only a line that holds a match is looked at. A match that crosses a newline is
 * not a match within a line: that line is matched again alone. */
static void scan_chunk(struct grep *g, struct scan *f, size_t pos, size_t end)
{
	const char *s = f->s;
	size_t start = pos;
	while (!f->stop) {
		if (tick(g)) {
			f->stop = true;
			return;
		}
		size_t at = start;
		int rc = run_match(g, s, end, start, &at);
		if (rc == PCRE2_ERROR_NOMATCH) {
			return;
		}
		if (rc == GREP_STOPPED) {
			f->stop = true;
			return;
		}
		if (is_limit(rc)) {
			/* from the line of the window that hit it: the lines one by one */
			const char *nl = at > pos ? memrchr(s + pos, '\n', at - pos) : NULL;
			scan_lines(g, f, nl ? (size_t)(nl - s) + 1 : pos, end);
			return;
		}
		if (rc < 0) {
			g->match_error = true;
			pcre2_get_error_message(rc, (PCRE2_UCHAR *)g->err, sizeof(g->err));
			f->stop = true;
			return;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(g->md);
		size_t mo = ov[0];
		if (mo == end && (end == 0 || s[end - 1] == '\n')) {
			return; /* an empty match after the chunk's final newline is on no line here
				 */
		}
		const char *ls = mo > pos ? memrchr(s + pos, '\n', mo - pos) : NULL;
		size_t lstart = ls ? (size_t)(ls - s) + 1 : pos;
		const char *le = memchr(s + mo, '\n', end - mo);
		size_t lend = le ? (size_t)(le - s) : end;
		if (ov[1] > lend) {
			match_line(g, f, lstart, lend);
		} else {
			record_match(g, f, lstart, lend, mo - lstart + 1);
		}
		if (lend >= end) {
			return;
		}
		start = lend + 1; /* one result per line: go on with the next line */
	}
}

/* Search one file's content; hits go to g. */
static void search_buf(struct grep *g, const char *s, size_t n)
{
	struct scan f = {.s = s, .n = n, .line = 1};
	const struct ctxd_tool_ctx *ctx = g->c->ctx;
	g->window = GREP_WINDOW_FILE;
	/* the caller looked at must_stop just before; a file of one chunk is not timed (the
	 * window starts afresh with the next file anyway) */
	for (size_t pos = 0; pos < n && !f.stop;) {
		if (pos > 0 && ctxd_grep_must_stop(g)) {
			break;
		}
		size_t end = n;
		if (n - pos > 2 * g->window) {
			const char *e = memchr(s + pos + g->window, '\n', n - pos - g->window);
			end = e ? (size_t)(e - s) + 1 : n;
		}
		int64_t t0 = end < n ? now_us() : 0;
		if (g->c->per_line) {
			scan_lines(g, &f, pos, end);
		} else {
			scan_chunk(g, &f, pos, end);
		}
		if (end < n) {
			adapt(g, t0);
		}
		pos = end;
		if (pos < n && g->w) {
			/* a big file: entries seen so far plus the part of this one done */
			ctxd_fs_pw_progress(g->w, (double)pos / (double)n,
					    "searching a large file");
		} else if (pos < n && ctx->progress) {
			ctx->progress->report(ctx->progress, (double)pos / (double)n, -1,
					      "searching a large file");
		}
	}
	if (f.any && !g->oom) {
		flush_after(g, &f, SIZE_MAX);
	}
}

/* Make slot state `g` usable (match data and JIT stack are per thread). False on ENOMEM. */
bool ctxd_grep_ready(struct grep *g)
{
	if (g->ready) {
		return true;
	}
	const struct gconf *c = g->c;
	g->md = pcre2_match_data_create_from_pattern(c->re, NULL);
	g->mc = pcre2_match_context_create(NULL);
	if (!g->md || !g->mc) {
		return false;
	}
	pcre2_set_match_limit(g->mc, GREP_MATCH_LIMIT);
	pcre2_set_depth_limit(g->mc, GREP_DEPTH_LIMIT);
	pcre2_set_heap_limit(g->mc, GREP_HEAP_LIMIT);
	if (c->jit && (g->js = pcre2_jit_stack_create(32 * 1024, GREP_JIT_STACK, NULL))) {
		pcre2_jit_stack_assign(g->mc, NULL, g->js);
	}
	g->ready = true;
	return true;
}

void ctxd_grep_finish(struct grep *g)
{
	pcre2_match_data_free(g->md);
	pcre2_match_context_free(g->mc);
	pcre2_jit_stack_free(g->js);
	free(g->buf);
	free(g->arena);
	free(g->hits);
	free(g->sc.p);
	while (g->blocks) {
		struct blk *b = g->blocks;
		g->blocks = b->next;
		free(b);
	}
}

/* The display path of `rel`, escaped as JSON string content, appended to b. */
static void put_path(const struct gconf *c, struct ctxd_strbuf *b, const char *rel, size_t rel_len)
{
	char full[2 * CTXD_PATH_MAX];
	size_t n = c->root_len;
	memcpy(full, c->root, n);
	if (!c->slash_root) {
		full[n++] = '/';
	}
	memcpy(full + n, rel, rel_len);
	ctxd_json_text_part(b, full, n + rel_len);
}

/* Write the file's part of structuredContent ({path, matches}) into g->sc. */
static void write_sc(struct grep *g, const char *rel, size_t rel_len, size_t *path_len)
{
	struct ctxd_strbuf *b = &g->sc;
	b->len = 0;
	ctxd_strbuf_str(b, "{\"path\":\"");
	put_path(g->c, b, rel, rel_len);
	*path_len = b->len - PATH_AT;
	ctxd_strbuf_str(b, "\",\"matches\":[");
	bool first = true;
	for (size_t i = 0; i < g->n_hits; i++) {
		const struct hit *h = &g->hits[i];
		if (h->col == 0) {
			continue;
		}
		ctxd_strbuf_str(b, first ? "{\"line\":" : ",{\"line\":");
		first = false;
		ctxd_json_uint(b, h->line);
		ctxd_strbuf_str(b, ",\"column\":");
		ctxd_json_uint(b, h->col);
		ctxd_strbuf_str(b, ",\"text\":");
		ctxd_json_text(b, g->arena + h->text, h->text_len);
		if (g->c->context) {
			/* the context lines next to it (a line between two matches is in both) */
			size_t k = i;
			while (k > 0 && g->hits[k - 1].col == 0 && g->hits[k - 1].line < h->line) {
				k--;
			}
			ctxd_strbuf_str(b, ",\"before\":[");
			for (size_t j = k; j < i; j++) {
				if (j > k) {
					ctxd_strbuf_add(b, ",", 1);
				}
				ctxd_json_text(b, g->arena + g->hits[j].text, g->hits[j].text_len);
			}
			ctxd_strbuf_str(b, "],\"after\":[");
			for (size_t j = i + 1; j < g->n_hits && g->hits[j].col == 0; j++) {
				if (j > i + 1) {
					ctxd_strbuf_add(b, ",", 1);
				}
				ctxd_json_text(b, g->arena + g->hits[j].text, g->hits[j].text_len);
			}
			ctxd_strbuf_add(b, "]", 1);
		}
		ctxd_strbuf_add(b, "}", 1);
	}
	ctxd_strbuf_str(b, "]}");
	if (b->oom) {
		g->oom = true;
	}
}

/* Search the open file `fd` (closed here) as `rel` with a budget of `budget` matches;
 * the outcome goes to `r`. */
void ctxd_grep_file(struct grep *g, int fd, const char *rel, size_t rel_len, size_t budget,
		    struct frec *r)
{
	memset(r, 0, sizeof(*r));
	if (!ctxd_grep_ready(g)) {
		close(fd);
		g->oom = true;
		return;
	}
	g->n_hits = g->arena_len = g->n_matches = g->n_lim = g->lim_lines = 0;
	g->truncated = g->binary = g->matched = g->lim_file = g->match_error = false;
	g->max = budget;
	size_t n = 0;
	bool cut = false;
	int rc = read_file(g, fd, &n, &cut);
	close(fd);
	if (rc < 0) {
		r->flags = F_UNREADABLE;
		return;
	}
	r->flags = F_SEARCHED;
	if (ctxd_fs_looks_binary(g->buf, n < FS_BINARY_PROBE ? n : FS_BINARY_PROBE)) {
		r->flags |= F_BINARY;
		return;
	}
	if (cut) {
		r->flags |= F_CUT;
	}
	search_buf(g, g->buf, n);
	if (g->binary) {
		r->flags |= F_BINARY;
		return;
	}
	if (g->match_error) {
		size_t el = strlen(g->err);
		char *e = ctxd_grep_blk_alloc(g, el + 1);
		if (e) {
			memcpy(e, g->err, el + 1);
		}
		r->flags |= F_ERROR;
		r->err = e ? e : "out of memory";
		return;
	}
	r->flags |= (g->matched ? F_MATCHED : 0) | (g->truncated ? F_TRUNC : 0);
	r->matches = g->n_matches;
	r->lim_lines = g->lim_lines;
	r->lim_file = g->lim_file;
	r->n_lim = g->n_lim;
	memcpy(r->lim, g->lim, g->n_lim * sizeof(*g->lim));
	if (g->n_hits == 0 || g->oom) {
		return;
	}
	write_sc(g, rel, rel_len, &r->path_len);
	struct hit *hits = ctxd_grep_blk_alloc(g, g->n_hits * sizeof(*hits));
	char *texts = ctxd_grep_blk_alloc(g, g->arena_len);
	char *sc = ctxd_grep_blk_alloc(g, g->sc.len);
	if (!hits || !texts || !sc || g->oom) {
		g->oom = true;
		return;
	}
	memcpy(hits, g->hits, g->n_hits * sizeof(*hits));
	memcpy(texts, g->arena, g->arena_len);
	memcpy(sc, g->sc.p, g->sc.len);
	r->hits = hits;
	r->n_hits = g->n_hits;
	r->texts = texts;
	r->sc = sc;
	r->sc_len = g->sc.len;
}

static int globs_emit(void *ud, const char *p, size_t len)
{
	return ctxd_fs_globs_add(ud, p, len);
}

int ctxd_grep_parse_globs(json_t *args, const char *key, struct ctxd_fs_globs *g, json_t **res)
{
	json_t *j = json_object_get(args, key);
	if (!j) {
		return 0;
	}
	const char *p = json_string_value(j);
	if (!p || !p[0]) {
		*res = ctxd_fs_fail("argument '%s' must be a non-empty glob such as \"*.c\" or "
				    "\"*.{c,h}\"",
				    key);
		return -1;
	}
	/* refused before any work: brace expansion and matching cost grows with the length */
	size_t budget = GREP_MAX_ALTS;
	int rc = json_string_length(j) > CTXD_FS_GLOB_MAX
		     ? -E2BIG
		     : ctxd_fs_brace_expand(p, &budget, globs_emit, g);
	if (rc == -ERANGE) {
		*res = ctxd_fs_fail("argument '%s' (\"%s\") expands to more than %d alternatives",
				    key, p, GREP_MAX_ALTS);
	} else if (rc == -E2BIG) {
		*res = ctxd_fs_fail("argument '%s' is longer than %d bytes: shorten the glob", key,
				    CTXD_FS_GLOB_MAX);
	}
	return rc < 0 ? -1 : 0;
}
