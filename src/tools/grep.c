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
 * Matches lie within one line, as ripgrep's do: the buffer is searched in chunks of up to
 * about 1 MiB that end at a line end, a match that crosses a newline (\s+ or [^x] can consume
 * one) sends that one line through the matcher again on its own, and a pattern whose answer
 * may depend on text outside the line (lookaround, \A \z \Z \G \K, verbs) is matched line
 * by line. PCRE2's match, depth and heap limits stop catastrophic backtracking ((a+)+b):
 * a line that hits them is listed in the answer (regexLimit) and the search goes on; after
 * 8 such lines the rest of that file is given up, and said so.
 *
 * The walk is the confined fs_walk (sorted, so results come out ordered by path and then
 * line), respecting .gitignore by default; each file is opened with ctxd_sandbox_openat
 * (O_NOFOLLOW: symlinks are never searched), read whole into one reusable buffer, and
 * skipped as binary when its first 8 KiB hold a NUL byte, or when it has a match and a NUL
 * byte anywhere (ripgrep's count). The handler runs on one pool worker and searches files
 * sequentially: handlers cannot submit sub-jobs, and one sequential pass is what grep -r
 * does too. Cancellation and the call deadline are checked per entry, per chunk and every
 * 256 regex calls; progress is reported per 1000 entries by the walk and per chunk of a
 * large file.
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
#include <time.h>
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
/* Regex calls (one per line matched alone, one per match in a chunk) between two checks. */
#define GREP_CHECK_CALLS 256u
/* PCRE2 cannot be interrupted inside a call, and below the match limit every start
 * position may still cost up to that limit, so a call must not cover too many start
 * positions. A file is searched in chunks that end at a line end, about `window` bytes
 * each; the window grows while calls are quick and shrinks when one is slow (timed on
 * the coarse clock), and each file starts small. A line longer than twice the window is
 * searched a window of start positions at a time (PCRE2's offset limit, with a second
 * compilation of the pattern: the option costs the JIT 2-3 % everywhere else). Matches
 * are the same whatever the windows: only how often cancellation and the deadline are
 * looked at changes. */
#define GREP_WINDOW_MIN   ((size_t)64)
#define GREP_WINDOW_FILE  ((size_t)32768)
#define GREP_WINDOW_MAX   ((size_t)1 << 20)
#define GREP_CALL_FAST_US 1000 /* on the coarse clock: within the same tick */
#define GREP_CALL_SLOW_US 8000 /* two ticks of 4 ms or more */
/* run_match's answer when the call must stop (cancelled or past the deadline). */
#define GREP_STOPPED INT32_MIN
/* PCRE2 limits per start position: backtracking steps, nesting depth (interpreter), heap
 * (KiB, interpreter), JIT stack (bytes). A pathological pattern such as (a+)+b hits the
 * step limit in about a millisecond instead of running for minutes. */
#define GREP_MATCH_LIMIT 1000000u
#define GREP_DEPTH_LIMIT 10000u
#define GREP_HEAP_LIMIT  65536u
#define GREP_JIT_STACK   ((size_t)1 << 20)
/* Lines of one file on which the limits may be hit before the rest of the file is given up,
 * and how many such lines the answer lists. */
#define GREP_LIMIT_PER_FILE 8u
#define GREP_LIMIT_LIST     100u

static int globs_emit(void *ud, const char *p, size_t len)
{
	return ctxd_fs_globs_add(ud, p, len);
}

/* One match (or context line) recorded: offsets into the result arena. */
struct hit {
	size_t path; /* arena offset of the relative path */
	size_t line;
	size_t col; /* 0 for a context line */
	size_t text; /* arena offset of the line text */
	size_t text_len;
};

/* A line the regex limits stopped (with to_end, the rest of its file was skipped too). */
struct limit_hit {
	size_t path; /* arena offset */
	size_t line;
	bool to_end;
};

struct grep {
	const struct ctxd_tool_ctx *ctx;
	pcre2_code *re, *rew; /* the pattern, and the same with PCRE2_USE_OFFSET_LIMIT */
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
	bool jit, jitw;
	bool per_line; /* the pattern looks around or uses \A \z \Z \G: match each line alone */
	struct ctxd_fs_globs inc, exc;
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
	size_t files, files_matched, binary, unreadable, too_deep, cut_files;
	struct limit_hit lim[GREP_LIMIT_LIST];
	size_t n_lim;     /* entries in lim */
	size_t lim_lines; /* lines skipped because of the limits, all files */
	size_t lim_files; /* files given up after GREP_LIMIT_PER_FILE such lines */
	unsigned calls;   /* regex calls since the last must_stop check */
	size_t window;    /* start positions per regex call (GREP_WINDOW_*) */
	const struct ctxd_fs_walk_stats *ws; /* the walk's counters (progress), or NULL */
	bool truncated, oom, cancelled, timed_out, match_error;
	char err[128];
};

/* The per-file search state: the file's text and where the report of it stands. */
struct scan {
	const char *s;
	size_t n;
	const char *rel;
	size_t rel_len;
	size_t path_off;       /* arena offset of rel, once `any` */
	bool any;              /* rel is in the arena */
	bool matched;          /* counted in files_matched */
	size_t line, line_pos; /* line number of the line starting at offset line_pos */
	size_t last_shown;     /* last line emitted (match or context) */
	size_t pending_after, after_from;
	size_t lim_here; /* lines of this file the limits stopped */
	bool checked;    /* the whole file was checked for a NUL byte */
	bool stop;       /* stop this file (and, when g says so, the walk) */
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

/* True when the call must stop now (cancelled, or past its deadline); says which in g. */
static bool must_stop(struct grep *g)
{
	if (ctxd_job_cancelled(g->ctx->job)) {
		g->cancelled = true;
	} else if (ctxd_deadline_passed(g->ctx->deadline_ms)) {
		g->timed_out = true;
	}
	return g->cancelled || g->timed_out;
}

/* Does the pattern look outside the line it matches in? Lookaround, \A \z \Z \G, \K
 * (a reported start after a newline the match consumed) and verbs can give a different
 * answer on the whole buffer than on the line alone, so such patterns are matched line by
 * line. Conservative: an escaped "(?=" in a
 * character class also counts (it only costs speed). */
static bool needs_per_line(const char *p, size_t n)
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
	return must_stop(g);
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
		return call_re(g, g->re, g->jit, s, n, start);
	}
	for (;;) {
		size_t lim = n - start > g->window ? start + g->window : n;
		pcre2_set_offset_limit(g->mc, lim);
		if (at) {
			*at = start;
		}
		int64_t t0 = now_us();
		int rc = call_re(g, g->rew, g->jitw, s, n, start);
		adapt(g, t0);
		if (rc != PCRE2_ERROR_NOMATCH || lim >= n) {
			return rc;
		}
		start = lim + 1;
		if (must_stop(g)) {
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
	f->line += fs_count_nl(f->s + f->line_pos, lstart - f->line_pos);
	f->line_pos = lstart;
}

static void note_path(struct grep *g, struct scan *f)
{
	if (!f->any) {
		f->path_off = arena_put(g, f->rel, f->rel_len);
		f->any = true;
	}
}

/* Trailing context of the previous match, up to (not including) line `upto`. */
static void flush_after(struct grep *g, struct scan *f, size_t upto)
{
	size_t p = f->after_from, ln = f->last_shown + 1;
	while (f->pending_after > 0 && ln < upto && p < f->n) {
		const char *e = memchr(f->s + p, '\n', f->n - p);
		size_t pe = e ? (size_t)(e - f->s) : f->n;
		add_hit(g, f->path_off, ln, 0, f->s + p, pe - p);
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
			g->binary++;
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
	note_path(g, f);
	if (!f->matched) {
		f->matched = true;
		g->files_matched++;
	}
	if (g->n_matches >= g->max) {
		g->truncated = true;
		f->stop = true;
		return;
	}
	const char *s = f->s;
	size_t line = f->line;
	if (g->context) {
		flush_after(g, f, line);
		/* leading context: up to `context` lines before, after last_shown */
		size_t first = line > g->context ? line - g->context : 1;
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
			add_hit(g, f->path_off, k, 0, s + bpos, pe - bpos);
			bpos = pe + 1;
		}
	}
	add_hit(g, f->path_off, line, col, s + lstart, lend - lstart);
	g->n_matches++;
	f->last_shown = line;
	f->pending_after = g->context;
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
	note_path(g, f);
	bool to_end = ++f->lim_here >= GREP_LIMIT_PER_FILE;
	g->lim_lines++;
	if (to_end) {
		g->lim_files++;
		f->stop = true;
	}
	if (g->n_lim < GREP_LIMIT_LIST) {
		g->lim[g->n_lim++] =
		    (struct limit_hit){.path = f->path_off, .line = f->line, .to_end = to_end};
	} else if (to_end) {
		g->lim[GREP_LIMIT_LIST - 1].to_end = true; /* keep "gave up" visible */
	}
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
static void search_buf(struct grep *g, const char *rel, size_t rel_len, const char *s, size_t n)
{
	struct scan f = {.s = s, .n = n, .rel = rel, .rel_len = rel_len, .line = 1};
	g->window = GREP_WINDOW_FILE;
	/* the caller looked at must_stop just before; a file of one chunk is not timed (the
	 * window starts afresh with the next file anyway) */
	for (size_t pos = 0; pos < n && !f.stop;) {
		if (pos > 0 && must_stop(g)) {
			break;
		}
		size_t end = n;
		if (n - pos > 2 * g->window) {
			const char *e = memchr(s + pos + g->window, '\n', n - pos - g->window);
			end = e ? (size_t)(e - s) + 1 : n;
		}
		int64_t t0 = end < n ? now_us() : 0;
		if (g->per_line) {
			scan_lines(g, &f, pos, end);
		} else {
			scan_chunk(g, &f, pos, end);
		}
		if (end < n) {
			adapt(g, t0);
		}
		pos = end;
		if (pos < n && g->ctx->progress) {
			/* a big file: entries seen so far plus the part of this one done (the
			 * walk's next report, at a later entry, is larger still) */
			double seen = g->ws ? (double)g->ws->entries : 0;
			g->ctx->progress->report(g->ctx->progress, seen + (double)pos / (double)n,
			                         -1, "searching a large file");
		}
	}
	if (f.any && !g->oom) {
		flush_after(g, &f, SIZE_MAX);
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
		return g->exc.n && ctxd_fs_globs_match(&g->exc, e->rel, e->rel_len, e->name);
	}
	return false;
}

/* Search the open file `fd` (closed here) as `rel`. */
static void grep_fd(struct grep *g, int fd, const char *rel, size_t rel_len)
{
	size_t n = 0;
	bool cut = false;
	int rc = read_file(g, fd, &n, &cut);
	close(fd);
	if (rc < 0) {
		g->unreadable++;
		return;
	}
	g->files++;
	if (fs_looks_binary(g->buf, n < FS_BINARY_PROBE ? n : FS_BINARY_PROBE)) {
		g->binary++;
		return;
	}
	g->cut_files += cut;
	search_buf(g, rel, rel_len, g->buf, n);
}

static int grep_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct grep *g = ud;
	if (e->type != CTXD_FS_WALK_FILE) {
		return CTXD_FS_WALK_CONTINUE;
	}
	if ((g->inc.n && !ctxd_fs_globs_match(&g->inc, e->rel, e->rel_len, e->name)) ||
	    (g->exc.n && ctxd_fs_globs_match(&g->exc, e->rel, e->rel_len, e->name))) {
		return CTXD_FS_WALK_CONTINUE;
	}
	if (must_stop(g)) {
		return CTXD_FS_WALK_STOP;
	}
	int fd = ctxd_sandbox_openat(e->at_fd, e->at_path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0,
				     true);
	if (fd < 0) {
		g->unreadable++;
		return CTXD_FS_WALK_CONTINUE;
	}
	grep_fd(g, fd, e->rel, e->rel_len);
	if (g->oom || g->truncated || g->match_error || g->cancelled || g->timed_out) {
		return CTXD_FS_WALK_STOP;
	}
	return CTXD_FS_WALK_CONTINUE;
}

static int parse_globs(json_t *args, const char *key, struct ctxd_fs_globs *g, json_t **res)
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
	/* refused before any work: brace expansion and matching cost grows with the length */
	size_t budget = GREP_MAX_ALTS;
	int rc = json_string_length(j) > CTXD_FS_GLOB_MAX
	             ? -E2BIG
	             : fs_brace_expand(p, &budget, globs_emit, g);
	if (rc == -ERANGE) {
		*res = fs_fail("argument '%s' (\"%s\") expands to more than %d alternatives", key,
			       p, GREP_MAX_ALTS);
	} else if (rc == -E2BIG) {
		*res = fs_fail("argument '%s' is longer than %d bytes: shorten the glob", key,
		               CTXD_FS_GLOB_MAX);
	}
	return rc < 0 ? -1 : 0;
}

/* The text lines and structuredContent fields that say why an answer is incomplete. */
static void grep_report_cuts(const struct grep *g, const char *root, bool slash_root,
                             struct ctxd_strbuf *t, json_t *sc)
{
	json_t *why = json_array();
	if (g->truncated) {
		ctxd_strbuf_printf(t,
		                   "(stopped after %zu matches: raise maxResults or narrow the "
		                   "search)\n",
		                   g->max);
		json_array_append_new(why, json_string("maxResults"));
	}
	if (g->timed_out) {
		ctxd_strbuf_printf(t,
		                   "(stopped at the call's time limit (limits.call_ms): the result "
		                   "is incomplete; narrow the path or add an include glob)\n");
		json_array_append_new(why, json_string("deadline"));
	}
	fs_report_depth_cut(t, why, g->too_deep);
	if (g->cut_files) {
		ctxd_strbuf_printf(t,
		                   "(%zu files are larger than %zu MiB: only their first %zu MiB "
		                   "were searched)\n",
		                   g->cut_files, GREP_FILE_MAX >> 20, GREP_FILE_MAX >> 20);
		json_array_append_new(why, json_string("fileSize"));
	}
	if (g->lim_lines) {
		json_t *at = json_array();
		ctxd_strbuf_printf(t,
		                   "(%zu lines were not searched: the pattern hit the regex "
		                   "backtracking limit there",
		                   g->lim_lines);
		if (g->lim_files) {
			ctxd_strbuf_printf(t,
			                   "; the rest of %zu files was skipped after %u such "
			                   "lines each",
			                   g->lim_files, GREP_LIMIT_PER_FILE);
		}
		ctxd_strbuf_str(t, ". Rewrite the pattern without nested or adjacent unbounded "
		                   "quantifiers such as (a+)+ or \\w+\\w+. Lines:");
		for (size_t i = 0; i < g->n_lim; i++) {
			const struct limit_hit *h = &g->lim[i];
			char full[2 * CTXD_PATH_MAX];
			snprintf(full, sizeof(full), "%s%s%s", root, slash_root ? "" : "/",
			         g->arena + h->path);
			ctxd_strbuf_printf(t, " %s:%zu%s", full, h->line,
			                   h->to_end ? " (and every line after it)" : "");
			json_array_append_new(
			    at, json_pack("{s:o, s:I, s:b}", "path", fs_text(full, strlen(full)),
			                  "line", (json_int_t)h->line, "restOfFile", h->to_end));
		}
		if (g->lim_lines > g->n_lim) {
			ctxd_strbuf_str(t, " ...");
		}
		ctxd_strbuf_str(t, ")\n");
		json_object_set_new(sc, "regexLimit",
		                    json_pack("{s:I, s:I, s:o}", "lines", (json_int_t)g->lim_lines,
		                              "filesGivenUp", (json_int_t)g->lim_files, "at", at));
		json_array_append_new(why, json_string("regexLimit"));
	}
	if (json_array_size(why)) {
		json_object_set_new(sc, "truncated", json_true());
		json_object_set_new(sc, "truncatedReasons", why);
	} else {
		json_decref(why);
	}
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
	bool literal = json_is_true(json_object_get(args, "literal"));
	if (literal) {
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
	g.rew = pcre2_compile((PCRE2_SPTR)pattern, json_string_length(jp),
	                      opts | PCRE2_USE_OFFSET_LIMIT, &ecode, &eoff, NULL);
	g.per_line = !literal && needs_per_line(pattern, json_string_length(jp));
	g.jit = pcre2_jit_compile(g.re, PCRE2_JIT_COMPLETE) == 0;
	g.jitw = g.rew && pcre2_jit_compile(g.rew, PCRE2_JIT_COMPLETE) == 0;
	g.md = pcre2_match_data_create_from_pattern(g.re, NULL);
	g.mc = pcre2_match_context_create(NULL);
	if (!g.rew || !g.md || !g.mc) {
		goto out;
	}
	pcre2_set_match_limit(g.mc, GREP_MATCH_LIMIT);
	pcre2_set_depth_limit(g.mc, GREP_DEPTH_LIMIT);
	pcre2_set_heap_limit(g.mc, GREP_HEAP_LIMIT);
	if (g.jit && (g.js = pcre2_jit_stack_create(32 * 1024, GREP_JIT_STACK, NULL))) {
		pcre2_jit_stack_assign(g.mc, NULL, g.js);
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
		const char *slash = strrchr(loc.abs, '/');
		const char *base = slash ? slash + 1 : loc.abs;
		if (rfd < 0) {
			res = fs_fail("cannot read '%s'", loc.abs);
			goto out;
		}
		if (must_stop(&g)) {
			close(rfd);
		} else {
			grep_fd(&g, rfd, base, strlen(base));
		}
		if (g.unreadable) {
			res = g.oom ? NULL : fs_fail("cannot read '%s'", loc.abs);
			goto out;
		}
		/* display paths are relative to the file's directory */
		if (slash) {
			loc.abs[slash - loc.abs == 0 ? 1 : slash - loc.abs] = '\0';
		}
	} else {
		bool gi = !json_is_false(json_object_get(args, "respectGitignore"));
		if (gi && !(g.ig = ctxd_fs_ignore_create(fd, ctx->job, ctx->deadline_ms))) {
			goto out;
		}
		struct ctxd_fs_walk_opts o = {
		    .sorted = true,
		    .job = ctx->job,
		    .deadline_ms = ctx->deadline_ms,
		    .progress = ctx->progress,
		    .exclude = grep_exclude,
		    .visit = grep_visit,
		    .ud = &g,
		};
		struct ctxd_fs_walk_stats ws = {0};
		g.ws = &ws;
		int rc = ctxd_fs_walk(fd, &o, &ws);
		g.ws = NULL;
		g.unreadable += ws.unreadable; /* directories that could not be opened */
		g.too_deep = ws.too_long;
		if (rc == -ECANCELED) {
			g.cancelled = true;
		} else if (rc == -ETIMEDOUT || ctxd_fs_ignore_gave_up(g.ig)) {
			/* a matcher that gave up ignored entries it did not test */
			g.cancelled = ctxd_job_cancelled(ctx->job);
			g.timed_out = !g.cancelled;
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
	json_t *sc = json_pack(
	    "{s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:b, s:I}", "path", loc.abs, "pattern", pattern,
	    "matches", matches, "count", (json_int_t)g.n_matches, "filesSearched",
	    (json_int_t)g.files, "filesMatched", (json_int_t)g.files_matched, "binarySkipped",
	    (json_int_t)g.binary, "truncated", false, "unreadable", (json_int_t)g.unreadable);
	if (!sc) {
		free(t.p);
		goto out;
	}
	grep_report_cuts(&g, loc.abs, slash_root, &t, sc);
	if (g.unreadable) {
		ctxd_strbuf_printf(&t, "(%zu files or directories could not be read and were skipped: the "
				 "result may be incomplete)\n",
			     g.unreadable);
	}
	if (t.oom || !t.p) {
		json_decref(sc);
		free(t.p);
		goto out;
	}
	t.p[--t.len] = '\0';
	json_t *tx = fs_text(t.p, t.len);
	if (tx) {
		res = json_pack("{s:[{s:s, s:o}], s:o}", "content", "type", "text", "text", tx,
		                "structuredContent", sc);
	} else {
		json_decref(sc);
	}
	free(t.p);
out:
	if (fd >= 0) {
		close(fd);
	}
	ctxd_fs_ignore_destroy(g.ig);
	ctxd_fs_globs_finish(&g.inc);
	ctxd_fs_globs_finish(&g.exc);
	pcre2_match_data_free(g.md);
	pcre2_match_context_free(g.mc);
	pcre2_jit_stack_free(g.js);
	pcre2_code_free(g.re);
	pcre2_code_free(g.rew);
	free(g.buf);
	free(g.arena);
	free(g.hits);
	return res;
}
