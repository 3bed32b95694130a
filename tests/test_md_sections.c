/* test_md_sections.c - markdown structure (src/md_sections.c) alone: ATX and setext
 * headings, fences, front matter, CommonMark line ends, section extents, lines, blank text,
 * the fence mask. Links md_sections.c only: the parser needs nothing else. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/md_sections.h"
#include "test.h"

/* ---- section parser ---------------------------------------------------------------- */

static struct ctxd_md_section *secs_of(const char *s, size_t *n)
{
	struct ctxd_md_section *v;
	ASSERT_EQ(ctxd_md_sections(s, strlen(s), &v, n), 0);
	return v;
}

static void title_eq(const char *buf, const struct ctxd_md_section *s, const char *t)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%.*s", (int)s->title_len, buf + s->title);
	ASSERT_STR_EQ(tmp, t);
}

/* CommonMark line endings: a lone CR ends a line too, and never lands in a title. */
static void test_md_lone_cr(void)
{
	const char *d = "# A\rbody\r## B\r\nx\r\rSetext\r\nsecond\r===\r";
	size_t n;
	struct ctxd_md_section *s = secs_of(d, &n);
	ASSERT_EQ(n, 3);
	title_eq(d, &s[0], "A");
	title_eq(d, &s[1], "B");
	title_eq(d, &s[2], "Setext");
	ASSERT_EQ(s[1].line, 3);
	free(s);
}

static void test_md_atx(void)
{
	const char *d = "# Title\n\nintro\n\n## A ##\n\ntext\n### A.1\nsub\n## B\n#nohash\n"
			"####### seven\n    ## indented code\n   ## Three spaces #not closing\n"
			"##\n";
	size_t n;
	struct ctxd_md_section *s = secs_of(d, &n);
	ASSERT_EQ(n, 6);
	title_eq(d, &s[0], "Title");
	ASSERT_EQ(s[0].level, 1);
	ASSERT_EQ(s[0].line, 1);
	ASSERT_EQ(s[0].end, strlen(d));
	title_eq(d, &s[1], "A");
	ASSERT_EQ(s[1].level, 2);
	ASSERT_EQ(s[1].line, 5);
	title_eq(d, &s[2], "A.1");
	ASSERT_EQ(s[2].level, 3);
	/* section A ends where B starts; A's own text ends at A.1 */
	ASSERT_EQ(s[1].end, s[3].start);
	ASSERT_EQ(s[1].own_end, s[2].start);
	ASSERT_EQ(s[1].body, (size_t)(strstr(d, "\ntext") - d));
	title_eq(d, &s[3], "B");
	title_eq(d, &s[4], "Three spaces #not closing");
	title_eq(d, &s[5], "");
	ASSERT_EQ(s[5].level, 2);
	free(s);
}

static void test_md_setext_and_fences(void)
{
	const char *d = "Top\n===\n\nSub heading\n---\n\n- item\n---\n\n````md\n# not a heading\n"
			"Fake\n---\n```\n## still code\n````\n## After\n~~~\n# tilde code\n~~~~\n"
			"| a | b |\n|---|---|\n\n---\n\nText\nmore text\n-----\n";
	size_t n;
	struct ctxd_md_section *s = secs_of(d, &n);
	ASSERT_EQ(n, 4);
	title_eq(d, &s[0], "Top");
	ASSERT_EQ(s[0].level, 1);
	ASSERT(s[0].setext);
	title_eq(d, &s[1], "Sub heading");
	ASSERT_EQ(s[1].level, 2);
	ASSERT_EQ(s[1].line, 4);
	title_eq(d, &s[2], "After");
	ASSERT_EQ(s[2].line, 17);
	/* a two-line paragraph underlined: the heading spans both lines */
	title_eq(d, &s[3], "Text"); /* a multi-line setext heading is titled by its first line */
	free(s);

	/* an unclosed fence hides everything after it */
	const char *u = "## One\n```\n## Two\n";
	s = secs_of(u, &n);
	ASSERT_EQ(n, 1);
	free(s);
	/* a backtick fence line with a backtick in its info string is not a fence */
	const char *bt = "``` a`b\n## Real\n";
	s = secs_of(bt, &n);
	ASSERT_EQ(n, 1);
	free(s);
}

static void test_md_crlf_frontmatter(void)
{
	const char *d = "---\r\ntitle: x\r\n---\r\n# Head #\r\n\r\nbody\r\n\r\nSet\r\n===\r\n";
	size_t n;
	struct ctxd_md_section *s = secs_of(d, &n);
	ASSERT_EQ(n, 2);
	title_eq(d, &s[0], "Head");
	ASSERT_EQ(s[0].line, 4);
	ASSERT_EQ(d[s[0].body - 1], '\n');
	title_eq(d, &s[1], "Set");
	ASSERT_EQ(s[1].line, 8);
	free(s);
	/* without a closing line it is no front matter: "title: x" + "---" is a heading */
	const char *nf = "---\ntitle: x\n---";
	s = secs_of("---\ntitle\n", &n);
	ASSERT_EQ(n, 0);
	free(s);
	s = secs_of(nf, &n);
	ASSERT_EQ(n, 0);
	free(s);
	ASSERT_EQ(ctxd_md_sections(NULL, 0, &s, &n), 0);
	ASSERT_EQ(n, 0);
	ASSERT(s == NULL);
	s = secs_of("# only", &n);
	ASSERT_EQ(n, 1);
	ASSERT_EQ(s[0].body, 6);
	free(s);
	/* arbitrary bytes never crash */
	char junk[4096];
	unsigned r = 12345;
	for (int round = 0; round < 200; round++) {
		for (size_t i = 0; i < sizeof(junk); i++) {
			r = r * 1103515245u + 12345u;
			static const char alpha[] = "#=-`~ \t\r\n>|a1*_.";
			junk[i] = (r >> 16) % 5 == 0 ? (char)(r >> 8) : alpha[(r >> 16) % 17];
		}
		ASSERT_EQ(ctxd_md_sections(junk, sizeof(junk), &s, &n), 0);
		for (size_t i = 0; i < n; i++) {
			ASSERT(s[i].start <= s[i].body && s[i].body <= sizeof(junk));
			ASSERT(s[i].own_end <= s[i].end && s[i].end <= sizeof(junk));
			ASSERT(s[i].title + s[i].title_len <= sizeof(junk));
		}
		free(s);
	}
}

/* Section extents: `end` stops at the next heading of the same or a higher level, `own_end`
 * at the next heading of any level; the last section runs to the end of the buffer. */
static void test_md_extents(void)
{
	const char *d = "# T\nintro\n## A\na\n### A1\na1\n#### A1x\nx\n## B\nb\n# U\nu\n";
	size_t n;
	struct ctxd_md_section *s = secs_of(d, &n);
	ASSERT_EQ(n, 6);
	size_t at_b = (size_t)(strstr(d, "## B") - d), at_u = (size_t)(strstr(d, "# U") - d);
	ASSERT_EQ(s[0].end, at_u);           /* T: up to the next level-1 heading */
	ASSERT_EQ(s[0].own_end, s[1].start); /* its own text: up to ## A */
	ASSERT_EQ(s[1].end, at_b);           /* A: up to ## B, over A1 and A1x */
	ASSERT_EQ(s[2].end, at_b);           /* A1: up to ## B too */
	ASSERT_EQ(s[3].level, 4);
	ASSERT_EQ(s[3].end, at_b);
	ASSERT_EQ(s[3].own_end, at_b);
	ASSERT_EQ(s[4].end, at_u);
	ASSERT_EQ(s[5].end, strlen(d));
	ASSERT_EQ(s[5].own_end, strlen(d));
	ASSERT_EQ(s[5].line, 11);
	for (size_t i = 0; i < n; i++) {
		ASSERT(!s[i].setext);
		ASSERT_EQ(d[s[i].body - 1], '\n');
	}
	free(s);
}

/* What a paragraph's underline does and does not turn into a heading. */
static void test_md_setext_rules(void)
{
	size_t n;
	struct ctxd_md_section *s;
	/* block quotes, table rows, HTML and ordered list items are no heading text */
	const char *d = "> quote\n---\n\n| a |\n---\n\n<div>\n===\n\n1. one\n---\n\n12) two\n===\n";
	s = secs_of(d, &n);
	ASSERT_EQ(n, 0);
	free(s);
	/* an underline with text after it, or indented four columns, is none either */
	d = "Para\n--- x\n\nPara\n    ===\n";
	s = secs_of(d, &n);
	ASSERT_EQ(n, 0);
	free(s);
	/* "***" ends a paragraph (a break), so the "===" below it underlines nothing */
	d = "Para\n***\n===\n";
	s = secs_of(d, &n);
	ASSERT_EQ(n, 0);
	free(s);
	/* up to three columns of indent still make a heading; the title is trimmed */
	d = "   Title  \n   ===  \n";
	s = secs_of(d, &n);
	ASSERT_EQ(n, 1);
	title_eq(d, &s[0], "Title");
	ASSERT_EQ(s[0].start, 0);
	ASSERT_EQ(s[0].body, strlen(d));
	free(s);
	/* a 10-digit number is no list marker: the paragraph can be a heading */
	d = "1234567890. big\n===\n";
	s = secs_of(d, &n);
	ASSERT_EQ(n, 1);
	free(s);
}

/* ATX details: tabs after the marks, closing sequences and what stays in a title. */
static void test_md_atx_closing(void)
{
	const char *d = "#\tTab\n## Keep# this\n## Trailing ###   \n### ###\n## a \\#\n";
	size_t n;
	struct ctxd_md_section *s = secs_of(d, &n);
	ASSERT_EQ(n, 5);
	title_eq(d, &s[0], "Tab");
	title_eq(d, &s[1], "Keep# this");
	title_eq(d, &s[2], "Trailing");
	title_eq(d, &s[3], "");
	title_eq(d, &s[4], "a \\#");
	free(s);
	/* a tilde fence closes only with tildes, at least as many, and nothing after them */
	d = "~~~~\n# a\n~~~\n# b\n~~~~ x\n# c\n~~~~~\n# d\n";
	s = secs_of(d, &n);
	ASSERT_EQ(n, 1);
	title_eq(d, &s[0], "d");
	free(s);
}

static void test_md_line(void)
{
	const char *d = "a\r\nbb\rccc\n\nlast";
	size_t len = strlen(d);
	struct ctxd_md_line l;
	ctxd_md_line(d, len, 0, &l);
	ASSERT_EQ(l.s, 0);
	ASSERT_EQ(l.e, 1);
	ASSERT_EQ(l.next, 3); /* past "\r\n" */
	ctxd_md_line(d, len, l.next, &l);
	ASSERT_EQ(l.e - l.s, 2);
	ASSERT_EQ(l.next, 6); /* a lone CR ends the line */
	ctxd_md_line(d, len, l.next, &l);
	ASSERT_EQ(l.e - l.s, 3);
	ctxd_md_line(d, len, l.next, &l);
	ASSERT_EQ(l.e, l.s); /* the empty line */
	ctxd_md_line(d, len, l.next, &l);
	ASSERT_EQ(l.e, len); /* no line end after the last line */
	ASSERT_EQ(l.next, len);
	/* a CR as the last byte */
	ctxd_md_line("x\r", 2, 0, &l);
	ASSERT_EQ(l.e, 1);
	ASSERT_EQ(l.next, 2);
}

static void test_md_blank_trim(void)
{
	const char *b = " \t\r\n<!-- hint -->\n  <!--x-->";
	ASSERT(ctxd_md_blank(b, b + strlen(b)));
	b = "<!-- unclosed";
	ASSERT(ctxd_md_blank(b, b + strlen(b)));
	b = "<!-- a --> text";
	ASSERT(!ctxd_md_blank(b, b + strlen(b)));
	b = "<!-";
	ASSERT(!ctxd_md_blank(b, b + strlen(b)));
	ASSERT(ctxd_md_blank(b, b)); /* empty */
	const char *t = " \t a b \t ";
	size_t s = 0, e = strlen(t);
	ctxd_md_trim(t, &s, &e);
	ASSERT_EQ(s, 3);
	ASSERT_EQ(e, 6);
	s = 0;
	e = 2;
	ctxd_md_trim("  ", &s, &e);
	ASSERT_EQ(s, e);
}

static void test_md_fence_mask(void)
{
	const char *d = "text\n```c\ncode\n~~~\n```\nafter\n   ~~~\n# in\n~~~~\n    ```\nx\n";
	size_t n;
	bool *m = ctxd_md_fence_mask(d, strlen(d), &n);
	ASSERT(m);
	ASSERT_EQ(n, 12); /* 11 line ends: 12 lines, the last one empty */
	static const bool want[12] = {false, true, true, true,  true,  false,
				      true,  true, true, false, false, false};
	for (size_t i = 0; i < n; i++) {
		ASSERT(m[i] == want[i]);
	}
	free(m);
	m = ctxd_md_fence_mask("", 0, &n);
	ASSERT(m);
	ASSERT_EQ(n, 1);
	ASSERT(!m[0]);
	free(m);
}

int main(void)
{
	RUN(test_md_atx);
	RUN(test_md_setext_and_fences);
	RUN(test_md_crlf_frontmatter);
	RUN(test_md_lone_cr);
	RUN(test_md_extents);
	RUN(test_md_setext_rules);
	RUN(test_md_atx_closing);
	RUN(test_md_line);
	RUN(test_md_blank_trim);
	RUN(test_md_fence_mask);
	return 0;
}
