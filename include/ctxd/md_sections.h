/* md_sections.h - markdown structure for the memory bank: headings and the sections they
 * open, lines, fenced code and blank text (src/md_sections.c). Pure functions over a byte
 * buffer: no I/O, no state, safe on any bytes (fuzzed: tests/fuzz/fuzz_md_sections.c) and
 * callable from any thread. Markdown as CommonMark reads it (https://spec.commonmark.org/),
 * as far as headings and fences go.
 */
#ifndef CTXD_MD_SECTIONS_H
#define CTXD_MD_SECTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* One heading of a markdown document and the section it opens. Offsets are bytes into the
 * parsed buffer; lines are 1-based. */
struct ctxd_md_section {
	int level;        /* 1..6 (setext: '=' underline 1, '-' underline 2) */
	bool setext;      /* underlined heading rather than '#' marks */
	size_t line;      /* line of the heading (setext: its text line) */
	size_t start;     /* first byte of the heading */
	size_t body;      /* first byte after the heading's line(s) (after its newline) */
	size_t end;       /* end of the section: the start of the next heading of the same
			   * or a higher level (lower number), or the buffer's length */
	size_t own_end;   /* end of the text before the next heading of any level */
	size_t title;     /* the heading text, trimmed, '#' marks and closing sequence */
	size_t title_len; /* removed: buf[title .. title+title_len) */
};

/* Find the headings of markdown text `buf` (`len` bytes, need not be NUL-terminated; NULL
 * with len 0 is empty). ATX ("## Title", up to 3 spaces indent, optional closing #s) and
 * setext (a paragraph line underlined with = or -) headings count; lines inside fenced code
 * blocks (``` or ~~~, closed by a fence of the same character at least as long) and a
 * leading YAML front matter block (--- ... --- or ...) do not. Line ends are "\n", "\r\n"
 * or a lone "\r" (CommonMark); a title never holds one: a setext heading whose text spans
 * several lines is titled by its first line. On success *out is a new array (free()
 * it; NULL when *n is 0) of *n sections in document order. Returns 0, or -1 with errno
 * ENOMEM. Pure and thread-safe: safe on any bytes (fuzzed). */
int ctxd_md_sections(const char *buf, size_t len, struct ctxd_md_section **out, size_t *n);

/* One line of a buffer: content [s, e) without its line end; the next line starts at
 * `next` (== the buffer's length after the last line). */
struct ctxd_md_line {
	size_t s, e, next;
};

/* The line of `buf` (`len` bytes) starting at byte `pos` (< len) into *l. Line ends as in
 * CommonMark: "\n", "\r\n", or a "\r" not followed by "\n". Pure. */
void ctxd_md_line(const char *buf, size_t len, size_t pos, struct ctxd_md_line *l);

/* Narrow [*s, *e) of `buf` past leading and trailing spaces and tabs. Pure. */
void ctxd_md_trim(const char *buf, size_t *s, size_t *e);

/* True when [s, e) holds only blanks (space, tab, CR, LF) and HTML comments ("<!-- -->"; an
 * unclosed comment runs to the end). Pure. */
bool ctxd_md_blank(const char *s, const char *e);

/* Which lines of `buf` (`len` bytes) are fenced code: a new array (free() it) of *nlines
 * flags, one per "\n"-separated line (0-based), true for a fence line or a line inside a
 * fenced block. NULL on ENOMEM (*nlines still set). Pure. */
bool *ctxd_md_fence_mask(const char *buf, size_t len, size_t *nlines);

#endif
