/* fuzz_md_sections.c - the memory-bank markdown section parser, ctxd_md_sections.
 *
 * Checked for every section: level 1..6; start <= body <= own_end <= end <= len; the title
 * lies inside the heading's lines and holds no '\r' (and no newline, except in a
 * multi-line setext heading); sections come in
 * document order; the section spans nest (a section ends where the next one of the same
 * or a higher level starts).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/md_sections.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bad(size_t i, const char *why)
{
	fprintf(stderr, "section %zu: %s\n", i, why);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct ctxd_md_section *s = NULL;
	size_t n = 0;
	if (ctxd_md_sections(size ? buf : NULL, size, &s, &n) < 0) {
		return 0; /* ENOMEM */
	}
	if (n && !s) {
		bad(0, "count without an array");
	}
	for (size_t i = 0; i < n; i++) {
		const struct ctxd_md_section *c = &s[i];
		if (c->level < 1 || c->level > 6) {
			bad(i, "level out of 1..6");
		}
		if (!(c->start <= c->body && c->body <= c->own_end && c->own_end <= c->end &&
		      c->end <= size)) {
			bad(i, "offsets out of order");
		}
		if (c->title < c->start || c->title + c->title_len > c->body) {
			bad(i, "title outside the heading");
		}
		/* a setext heading's text may span lines (CommonMark); never a '\r' */
		if ((!c->setext && memchr(buf + c->title, '\n', c->title_len)) ||
		    memchr(buf + c->title, '\r', c->title_len)) {
			bad(i, "newline in an ATX title, or a CR in a title");
		}
		if (c->line < 1) {
			bad(i, "line not 1-based");
		}
		if (i > 0) {
			const struct ctxd_md_section *p = &s[i - 1];
			if (c->start < p->body || c->line <= p->line) {
				bad(i, "not in document order");
			}
			if (p->own_end != c->start) {
				bad(i, "own_end of the previous section is not this start");
			}
		}
		/* the section ends at the next heading of the same or a higher level */
		size_t want = size;
		for (size_t j = i + 1; j < n; j++) {
			if (s[j].level <= c->level) {
				want = s[j].start;
				break;
			}
		}
		if (c->end != want) {
			bad(i, "end is not the next heading of the same or a higher level");
		}
	}
	free(s);
	return 0;
}
