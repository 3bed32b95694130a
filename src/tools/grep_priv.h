/* grep_priv.h - what grep.c (the per-file search engine) and grep_answer.c (the walk, the
 * merge of per-file records in walk order, and the answer) share. Internal to src/tools.
 */
#ifndef CTXD_GREP_PRIV_H
#define CTXD_GREP_PRIV_H

#define PCRE2_CODE_UNIT_WIDTH 8

#include <pcre2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/registry.h"
#include "ctxd/strbuf.h"
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

/* ---- grep.c: the per-file engine (worker threads; `g` is one walk slot's state) ---- */

/* `n` bytes (16-aligned) from g's blocks, which live until the answer is written; NULL on
 * ENOMEM. */
void *ctxd_grep_blk_alloc(struct grep *g, size_t n);

/* True when the call must stop now (cancelled, past its deadline, or, during a walk,
 * stopped by another thread); says which in g when no walk runs. */
bool ctxd_grep_must_stop(struct grep *g);

/* True when pattern p[0..n) must be matched line by line (lookaround, \A \z \Z \G \K,
 * verbs). */
bool ctxd_grep_needs_per_line(const char *p, size_t n);

/* Make slot state `g` usable (match data and JIT stack are per thread). False on ENOMEM. */
bool ctxd_grep_ready(struct grep *g);

/* Free what ctxd_grep_ready made. */
void ctxd_grep_finish(struct grep *g);

/* Search the open file `fd` (closed here) as `rel` with a budget of `budget` matches; the
 * outcome goes to `r`. */
void ctxd_grep_file(struct grep *g, int fd, const char *rel, size_t rel_len, size_t budget,
		    struct frec *r);

/* The include or exclude glob argument `key` compiled into `g`: 0, or -1 with *res set to an
 * isError result. */
int ctxd_grep_parse_globs(json_t *args, const char *key, struct ctxd_fs_globs *g, json_t **res);

#endif
