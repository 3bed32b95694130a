/* Unit tests for the frame splitter in transport_stdio.c. */
#include "ctxd/transport.h"
#include "test.h"

struct rec {
	char frames[16][64];
	size_t n, oversize;
	size_t oversize_len;
};

static void on_frame(void *ud, const char *line, size_t len)
{
	struct rec *r = ud;
	if (!line) {
		r->oversize++;
		r->oversize_len = len;
		return;
	}
	ASSERT(r->n < 16 && len < 64);
	memcpy(r->frames[r->n], line, len);
	r->frames[r->n][len] = '\0';
	r->n++;
}

static void feed(struct ctxd_splitter *s, struct rec *r, const char *data)
{
	ASSERT_EQ(ctxd_splitter_feed(s, data, strlen(data), on_frame, r), 0);
}

static void test_splitter_lines_crlf_blank(void)
{
	struct ctxd_splitter s;
	struct rec r = { 0 };
	ctxd_splitter_init(&s, 100);
	feed(&s, &r, "{\"a\":1}\n\n\r\n  \n{\"b\":2}\r\n{\"c\"");
	ASSERT_EQ(r.n, 2);
	ASSERT_STR_EQ(r.frames[0], "{\"a\":1}");
	ASSERT_STR_EQ(r.frames[1], "{\"b\":2}");
	ASSERT_EQ(ctxd_splitter_pending(&s), 4);
	feed(&s, &r, ":3}");
	feed(&s, &r, "\n");
	ASSERT_EQ(r.n, 3);
	ASSERT_STR_EQ(r.frames[2], "{\"c\":3}");
	ASSERT_EQ(ctxd_splitter_pending(&s), 0);
	ctxd_splitter_finish(&s);
}

static void test_splitter_byte_by_byte(void)
{
	struct ctxd_splitter s;
	struct rec r = { 0 };
	ctxd_splitter_init(&s, 100);
	const char *in = "abc\r\ndef\n";
	for (size_t i = 0; in[i]; i++) {
		ASSERT_EQ(ctxd_splitter_feed(&s, in + i, 1, on_frame, &r), 0);
	}
	ASSERT_EQ(r.n, 2);
	ASSERT_STR_EQ(r.frames[0], "abc");
	ASSERT_STR_EQ(r.frames[1], "def");
	ctxd_splitter_finish(&s);
}

static void test_splitter_oversize_resyncs(void)
{
	struct ctxd_splitter s;
	struct rec r = { 0 };
	ctxd_splitter_init(&s, 8);
	/* exactly 8 bytes passes, also with CR; 9 does not */
	feed(&s, &r, "12345678\n12345678\r\n123456789\nok\n");
	ASSERT_EQ(r.n, 3);
	ASSERT_STR_EQ(r.frames[0], "12345678");
	ASSERT_STR_EQ(r.frames[1], "12345678");
	ASSERT_STR_EQ(r.frames[2], "ok");
	ASSERT_EQ(r.oversize, 1);
	/* an oversize line arriving in pieces is reported once, then dropped to '\n' */
	r = (struct rec){ 0 };
	feed(&s, &r, "aaaaa");
	feed(&s, &r, "bbbbb");
	feed(&s, &r, "ccccc");
	ASSERT_EQ(r.oversize, 1);
	feed(&s, &r, "ddd\nnext\n");
	ASSERT_EQ(r.oversize, 1);
	ASSERT_EQ(r.n, 1);
	ASSERT_STR_EQ(r.frames[0], "next");
	ctxd_splitter_finish(&s);
}

int main(void)
{
	RUN(test_splitter_lines_crlf_blank);
	RUN(test_splitter_byte_by_byte);
	RUN(test_splitter_oversize_resyncs);
	return 0;
}
