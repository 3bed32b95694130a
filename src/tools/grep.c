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
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <pcre2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/json_write.h"
#include "ctxd/sandbox.h"
#include "fs_priv.h"
#include "fs_pwalk.h"
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


/* One line of a file's answer: a match, or a context line (col 0). */
struct hit {
	size_t line;
	size_t col;
	size_t text; /* offset of the line's text in the file's arena */
	size_t text_len;
};

/* A line the regex limits stopped (with to_end, the rest of its file was skipped too). */
struct limit_hit {
	size_t line;
	bool to_end;
};

/* Record flags. */
#define F_SEARCHED   0x01u /* read: counts in filesSearched */
#define F_BINARY     0x02u
#define F_UNREADABLE 0x04u
#define F_CUT        0x08u /* larger than GREP_FILE_MAX: searched in part */
#define F_MATCHED    0x10u /* counts in filesMatched */
#define F_TRUNC      0x20u /* stopped at its budget of matches */
#define F_ERROR      0x40u /* the regex engine failed (err) */

/* What one file gave, kept until the answer is written (in its thread's blocks). */
struct frec {
	unsigned flags;
	size_t matches;
	size_t n_hits;
	struct hit *hits; /* matches and context lines, in line order */
	const char *texts;
	const char *sc; /* {"path":...,"matches":[...]}: its part of structuredContent */
	size_t sc_len;
	size_t path_len;  /* bytes of the escaped path, at sc + PATH_AT */
	size_t lim_lines; /* lines the regex limits stopped */
	bool lim_file;    /* and the rest of the file was given up */
	size_t n_lim;
	struct limit_hit lim[GREP_LIMIT_PER_FILE];
	const char *err; /* F_ERROR: PCRE2's message */
};

#define PATH_AT (sizeof("{\"path\":\"") - 1)

/* A block of memory records and answer parts live in until the answer is written. */
struct blk {
	struct blk *next;
	size_t used, cap;
	_Alignas(16) char data[];
};

/* The call's settings, read-only while the walk runs. */
struct gconf {
	const struct ctxd_tool_ctx *ctx;
	pcre2_code *re, *rew; /* the pattern, and the same with PCRE2_USE_OFFSET_LIMIT */
	bool jit, jitw;
	bool per_line; /* the pattern looks around or uses \A \z \Z \G: match each line alone */
	struct ctxd_fs_globs inc, exc;
	size_t context;
	size_t max;
	const char *root; /* the display path of the search root */
	size_t root_len;
	bool slash_root;
	atomic_bool oom;
};

/* One thread's search state (a walk slot). */
struct grep {
	const struct gconf *c;
	struct ctxd_fs_pw *w; /* the walk of the file being searched, or NULL */
	bool ready;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	pcre2_jit_stack *js;
	char *buf;
	size_t buf_cap;
	/* the file being searched */
	char *arena;
	size_t arena_len, arena_cap;
	struct hit *hits;
	size_t n_hits, cap_hits;
	size_t n_matches;
	size_t max; /* this file's budget of matches */
	bool truncated, binary, matched;
	struct limit_hit lim[GREP_LIMIT_PER_FILE];
	size_t n_lim, lim_lines;
	bool lim_file;
	unsigned calls; /* regex calls since the last must_stop check */
	size_t window;  /* start positions per regex call (GREP_WINDOW_*) */
	bool oom, cancelled, timed_out, match_error;
	char err[128];
	struct ctxd_strbuf sc; /* a file's part of structuredContent, while it is written */
	struct blk *blocks;
};

/* The per-file search state: the file's text and where the report of it stands. */
struct scan {
	const char *s;
	size_t n;
	bool matched;          /* counted in files_matched */
	size_t line, line_pos; /* line number of the line starting at offset line_pos */
	size_t last_shown;     /* last line emitted (match or context) */
	size_t pending_after, after_from;
	size_t lim_here; /* lines of this file the limits stopped */
	bool checked;    /* the whole file was checked for a NUL byte */
	bool stop;       /* stop this file */
	bool any;        /* something was reported */
};

static void *blk_alloc(struct grep *g, size_t n)
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

static void add_hit(struct grep *g, size_t line, size_t col, const char *t, size_t tl)
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

/* True when the call must stop now (cancelled, past its deadline, or, during a walk,
 * stopped by another thread); says which in g when no walk runs. */
static bool must_stop(struct grep *g)
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
		if (pos > 0 && must_stop(g)) {
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
			ctxd_fs_pw_progress(g->w, (double)pos / (double)n, "searching a large file");
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
static bool grep_ready(struct grep *g)
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

static void grep_finish(struct grep *g)
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
static void grep_file(struct grep *g, int fd, const char *rel, size_t rel_len, size_t budget,
                      struct frec *r)
{
	memset(r, 0, sizeof(*r));
	if (!grep_ready(g)) {
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
	if (fs_looks_binary(g->buf, n < FS_BINARY_PROBE ? n : FS_BINARY_PROBE)) {
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
		char *e = blk_alloc(g, el + 1);
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
	struct hit *hits = blk_alloc(g, g->n_hits * sizeof(*hits));
	char *texts = blk_alloc(g, g->arena_len);
	char *sc = blk_alloc(g, g->sc.len);
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
	struct frec *r = blk_alloc(g, sizeof(*r));
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
	grep_file(g, fd, rel, rel_len, gw->c->max, r);
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
		if (m->n_recs == m->cap_recs) {
			size_t c = m->cap_recs ? m->cap_recs * 2 : 256;
			const struct frec **v = realloc(m->recs, c * sizeof(*v));
			if (!v) {
				m->oom = true;
				return false;
			}
			m->recs = v;
			m->cap_recs = c;
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
	struct frec *r = blk_alloc(g, sizeof(*r));
	int fd = r ? ctxd_sandbox_openat(m->start_fd, rel, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0,
	                                 true)
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
	grep_file(g, fd, rel, rel_len, m->c->max - m->matches, r);
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
				ctxd_strbuf_str(b, "(text output cut at 4 MiB; structuredContent has "
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
		ctxd_strbuf_printf(sc, ",\"regexLimit\":{\"lines\":%zu,\"filesGivenUp\":%zu,\"at\":[",
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
		ctxd_strbuf_printf(t,
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
		ctxd_strbuf_printf(&trail, "No matches found for \"%s\" (%zu files searched", pattern,
		                   m->files);
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
	size_t pattern_len = json_string_length(jp);
	struct gconf c = {.ctx = ctx, .max = GREP_DEFAULT_RESULTS};
	json_t *jm = json_object_get(args, "maxResults");
	if (json_is_integer(jm) && json_integer_value(jm) > 0) {
		json_int_t v = json_integer_value(jm);
		c.max = v > GREP_MAX_RESULTS ? GREP_MAX_RESULTS : (size_t)v;
	}
	json_t *jc = json_object_get(args, "contextLines");
	if (json_is_integer(jc) && json_integer_value(jc) > 0) {
		json_int_t v = json_integer_value(jc);
		c.context = v > (json_int_t)GREP_MAX_CONTEXT ? GREP_MAX_CONTEXT : (size_t)v;
	}
	unsigned n_slots = ctxd_fs_pw_slots(ctx->pool);
	struct grep *slots = calloc(n_slots, sizeof(*slots));
	struct merge m = {.c = &c, .start_fd = -1};
	struct ctxd_fs_pw *w = NULL;
	struct ctxd_fs_ignore_level *above = NULL;
	json_t *res = NULL;
	int fd = -1;
	if (!slots) {
		return NULL;
	}
	for (unsigned i = 0; i < n_slots; i++) {
		slots[i].c = &c;
	}
	m.g0 = &slots[0];
	if (parse_globs(args, "include", &c.inc, &res) < 0 ||
	    parse_globs(args, "exclude", &c.exc, &res) < 0) {
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
	c.re = pcre2_compile((PCRE2_SPTR)pattern, pattern_len, opts, &ecode, &eoff, NULL);
	if (!c.re) {
		char msg[160];
		pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
		res = fs_fail("argument 'pattern' (\"%s\") is not a valid regular expression: %s "
			      "at offset %zu (set literal: true to search for the text as is)",
			      pattern, msg, (size_t)eoff);
		goto out;
	}
	c.rew = pcre2_compile((PCRE2_SPTR)pattern, pattern_len, opts | PCRE2_USE_OFFSET_LIMIT,
	                      &ecode, &eoff, NULL);
	c.per_line = !literal && needs_per_line(pattern, pattern_len);
	c.jit = pcre2_jit_compile(c.re, PCRE2_JIT_COMPLETE) == 0;
	c.jitw = c.rew && pcre2_jit_compile(c.rew, PCRE2_JIT_COMPLETE) == 0;
	if (!c.rew || !grep_ready(m.g0)) {
		goto out;
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	fd = ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH, 0, false, &loc, &err);
	if (fd < 0) {
		res = fs_fail("%s", err.msg);
		goto out;
	}
	c.root = loc.abs;
	c.root_len = strlen(loc.abs);
	c.slash_root = c.root_len == 1 && loc.abs[0] == '/';
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
		/* a single file; display paths are relative to the file's directory */
		int rfd = ctxd_sandbox_open(ctx->sandbox, path, plen, O_RDONLY | O_NONBLOCK, 0,
		                            false, NULL, &err);
		if (rfd < 0) {
			res = fs_fail("cannot read '%s'", loc.abs);
			goto out;
		}
		const char *slash = strrchr(loc.abs, '/');
		const char *base = slash ? slash + 1 : loc.abs;
		char name[CTXD_PATH_MAX];
		snprintf(name, sizeof(name), "%s", base);
		if (slash) {
			c.root_len = slash - loc.abs == 0 ? 1 : (size_t)(slash - loc.abs);
			c.slash_root = c.root_len == 1;
		}
		struct frec *r = blk_alloc(m.g0, sizeof(*r));
		if (!r) {
			close(rfd);
			goto out;
		}
		if (must_stop(m.g0)) {
			close(rfd);
			memset(r, 0, sizeof(*r));
		} else {
			grep_file(m.g0, rfd, name, strlen(name), c.max, r);
		}
		m.cancelled = m.g0->cancelled;
		m.timed_out = m.g0->timed_out;
		if (m.g0->oom) {
			goto out;
		}
		if (r->flags & F_UNREADABLE) {
			res = fs_fail("cannot read '%s'", loc.abs);
			goto out;
		}
		if (r->flags & F_SEARCHED) {
			merge_rec(&m, r);
		}
	} else {
		bool gi = !json_is_false(json_object_get(args, "respectGitignore"));
		struct gwalk gw = {.c = &c, .slots = slots, .n_slots = n_slots};
		static const struct ctxd_fs_pw_ops ops = {.classify = grep_classify,
		                                          .file = grep_walk_file};
		char abs[2 * CTXD_PATH_MAX];
		struct ctxd_fs_pw_opts o = {.limit = c.max, .ops = &ops, .ud = &gw};
		if (ctxd_fs_pw_prepare(&o, ctx, &loc, gi, abs, sizeof(abs), &above) < 0) {
			goto out;
		}
		int rc = ctxd_fs_pw_run(fd, &o, &w);
		if (rc == -ECANCELED) {
			m.cancelled = true;
		} else if (rc == -ETIMEDOUT) {
			m.timed_out = true;
		} else if (rc == -ENOMEM || atomic_load(&c.oom)) {
			goto out;
		} else if (rc < 0 && rc != -ECONNABORTED) {
			res = fs_fail("cannot search '%s': %s", loc.abs, strerror(-rc));
			goto out;
		}
		if (!m.cancelled) {
			m.start_fd = fd;
			if (ctxd_fs_pw_each(w, merge_each, &m) == -ENOMEM) {
				m.oom = true;
			}
		}
	}
	if (m.oom) {
		goto out;
	}
	if (m.cancelled) {
		res = fs_fail("grep in '%s' cancelled", loc.abs);
		goto out;
	}
	if (m.err) {
		res = fs_fail("grep of \"%s\" failed: %s (simplify the pattern)", pattern, m.err);
		goto out;
	}
	struct ctxd_strbuf local = {0}, *b = ctx->out ? ctx->out : &local;
	size_t from = b->len;
	write_answer(&m, pattern, pattern_len, b);
	res = ctxd_tool_written(ctx, b, from);
out:
	ctxd_fs_pw_free(w);
	ctxd_fs_ignore_chain_free(above);
	if (fd >= 0) {
		close(fd);
	}
	free(m.recs);
	ctxd_fs_globs_finish(&c.inc);
	ctxd_fs_globs_finish(&c.exc);
	for (unsigned i = 0; i < n_slots; i++) {
		grep_finish(&slots[i]);
	}
	free(slots);
	pcre2_code_free(c.re);
	pcre2_code_free(c.rew);
	return res;
}
