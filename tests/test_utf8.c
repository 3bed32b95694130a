/* Unit tests for utf8.c: the one UTF-8 validator and repairer (base layer). */
#include "ctxd/strbuf.h"
#include "ctxd/utf8.h"
#include "test.h"

static void test_seq_and_invalid_at(void)
{
	ASSERT_EQ(ctxd_utf8_seq("a", 1), 1);
	ASSERT_EQ(ctxd_utf8_seq("\xc3\xa9", 2), 2);
	ASSERT_EQ(ctxd_utf8_seq("\xe2\x82\xac", 3), 3);
	ASSERT_EQ(ctxd_utf8_seq("\xf0\x9f\x98\x80", 4), 4);
	ASSERT_EQ(ctxd_utf8_seq("\xc3", 1), 0);             /* cut short */
	ASSERT_EQ(ctxd_utf8_seq("\xc0\xaf", 2), 0);         /* overlong */
	ASSERT_EQ(ctxd_utf8_seq("\xed\xa0\x80", 3), 0);     /* surrogate */
	ASSERT_EQ(ctxd_utf8_seq("\xf4\x90\x80\x80", 4), 0); /* past U+10FFFF */
	const char ok[] = "plain ASCII text, longer than eight bytes \xc3\xa9";
	ASSERT_EQ(ctxd_utf8_invalid_at(ok, sizeof(ok) - 1), sizeof(ok) - 1);
	const char bad[] = "0123456789abcdef\xff tail";
	ASSERT_EQ(ctxd_utf8_invalid_at(bad, sizeof(bad) - 1), 16);
	/* a bad byte, and a valid sequence, at every position of the 32- and 8-byte ASCII
	 * runs and the tail after them */
	char text[100];
	for (size_t at = 0; at < sizeof(text); at++) {
		memset(text, 'a', sizeof(text));
		text[at] = '\xff';
		ASSERT_EQ(ctxd_utf8_invalid_at(text, sizeof(text)), at);
		if (at + 2 <= sizeof(text)) {
			text[at] = '\xc3';
			text[at + 1] = '\xa9';
			ASSERT_EQ(ctxd_utf8_invalid_at(text, sizeof(text)), sizeof(text));
			ASSERT_EQ(ctxd_utf8_invalid_at(text, at + 1), at); /* cut short */
		}
	}
}

static void test_trim_and_repair(void)
{
	/* a trailing sequence cut in the middle is left out; a whole one kept */
	ASSERT_EQ(ctxd_utf8_trim("ab\xe2\x82", 4), 2);
	ASSERT_EQ(ctxd_utf8_trim("ab\xe2\x82\xac", 5), 5);
	struct ctxd_strbuf b = {0};
	/* each byte that starts no valid sequence becomes one U+FFFD */
	ASSERT_EQ(ctxd_utf8_repair(&b,
				   "a\xff\xfe"
				   "b\xc3",
				   5),
		  3);
	ASSERT_STR_EQ(b.p, "a\xef\xbf\xbd\xef\xbf\xbd"
			   "b\xef\xbf\xbd");
	free(b.p);
	json_t *j = ctxd_utf8_json("x\x80y", 3);
	ASSERT(j);
	ASSERT_STR_EQ(json_string_value(j), "x\xef\xbf\xbdy");
	json_decref(j);
}

int main(void)
{
	RUN(test_seq_and_invalid_at);
	RUN(test_trim_and_repair);
	return 0;
}
