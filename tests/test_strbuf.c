/* test_strbuf.c - the growable text buffer (src/strbuf.c): appends of every kind, the
 * terminating NUL, reserve, the byte limit and the sticky failure. Links only the base
 * layer. */
#include <stdint.h>

#include "ctxd/strbuf.h"
#include "test.h"

static void test_appends(void)
{
	struct ctxd_strbuf b = {0};
	ASSERT(!b.p);
	ctxd_strbuf_str(&b, "ab");
	ctxd_strbuf_add(&b, "c\0d", 3); /* NUL bytes are kept */
	ctxd_strbuf_printf(&b, "%d-%s", 42, "x");
	ctxd_strbuf_add(&b, NULL, 0); /* nothing, and no access */
	ASSERT_EQ(b.len, 2 + 3 + 4);
	ASSERT(memcmp(b.p, "abc\0d42-x", 10) == 0); /* the NUL terminator included */
	ASSERT(!b.oom && !b.too_big);
	free(b.p);

	/* growth across many doublings keeps every byte */
	b = (struct ctxd_strbuf){0};
	for (int i = 0; i < 10000; i++) {
		ctxd_strbuf_printf(&b, "%04d", i);
	}
	ASSERT_EQ(b.len, 40000);
	ASSERT(b.cap > b.len);
	ASSERT_EQ(b.p[b.len], '\0');
	ASSERT(memcmp(b.p + 4 * 1234, "1234", 4) == 0);
	ASSERT(memcmp(b.p + b.len - 4, "9999", 4) == 0);
	free(b.p);

	/* an empty string still gives a terminated buffer */
	b = (struct ctxd_strbuf){0};
	ctxd_strbuf_str(&b, "");
	ASSERT(b.p);
	ASSERT_STR_EQ(b.p, "");
	free(b.p);
}

static void test_reserve(void)
{
	struct ctxd_strbuf b = {0};
	ASSERT(ctxd_strbuf_reserve(&b, 1000));
	ASSERT(b.cap >= 1001);
	char *before = b.p;
	for (int i = 0; i < 100; i++) {
		ctxd_strbuf_str(&b, "0123456789");
	}
	ASSERT(b.p == before); /* no reallocation within what was reserved */
	ASSERT_EQ(b.len, 1000);
	free(b.p);
	/* a size that cannot be had: oom, not too_big, and it sticks */
	b = (struct ctxd_strbuf){0};
	ASSERT(!ctxd_strbuf_reserve(&b, SIZE_MAX - 8));
	ASSERT(b.oom && !b.too_big);
	ctxd_strbuf_str(&b, "more");
	ASSERT_EQ(b.len, 0);
	ASSERT(!ctxd_strbuf_reserve(&b, 1));
	free(b.p);
	/* a huge reserve on a buffer holding bytes: before the fix, len + n + 1 wrapped around
	 * and the reserve "succeeded" without room */
	b = (struct ctxd_strbuf){0};
	for (int i = 0; i < 100; i++) {
		ctxd_strbuf_str(&b, "0123456789");
	}
	ASSERT(!ctxd_strbuf_reserve(&b, SIZE_MAX - 8));
	ASSERT(b.oom);
	free(b.p);
}

static void test_max(void)
{
	struct ctxd_strbuf b = {.max = 10};
	ctxd_strbuf_str(&b, "0123456789"); /* exactly max fits */
	ASSERT(!b.oom);
	ASSERT_EQ(b.len, 10);
	ASSERT(b.cap <= 11); /* never more than max plus the NUL */
	ctxd_strbuf_str(&b, "x");
	ASSERT(b.oom && b.too_big);
	ASSERT_EQ(b.len, 10);
	ASSERT_STR_EQ(b.p, "0123456789");
	ctxd_strbuf_printf(&b, "%s", ""); /* sticky: even an empty append does nothing */
	ASSERT_EQ(b.len, 10);
	free(b.p);

	b = (struct ctxd_strbuf){.max = 8};
	ctxd_strbuf_printf(&b, "%s", "123456789"); /* one printf past max: nothing written */
	ASSERT(b.oom && b.too_big);
	ASSERT_EQ(b.len, 0);
	free(b.p);

	b = (struct ctxd_strbuf){.max = 100};
	ASSERT(!ctxd_strbuf_reserve(&b, 101));
	ASSERT(b.too_big);
	ASSERT(!b.p); /* nothing allocated for a refused reserve */
	b = (struct ctxd_strbuf){.max = 100};
	ASSERT(!ctxd_strbuf_reserve(&b, SIZE_MAX)); /* no overflow in the limit check */
	ASSERT(b.too_big);
}

int main(void)
{
	RUN(test_appends);
	RUN(test_reserve);
	RUN(test_max);
	return 0;
}
