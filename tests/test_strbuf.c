/* test_strbuf.c - the growable text buffer (src/strbuf.c): appends of every kind, the
 * terminating NUL, reserve, the byte limit and the sticky failure; the growable-array
 * helpers (ctxd_grow, ctxd_grow_pair). Links only the base layer. */
#include <stdint.h>
#include <stdlib.h>

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

/* Capacities double from `first` (or from the current one) until `need` fits; a size that
 * would overflow is refused with the array left as it was. */
static void test_grow(void)
{
	int *v = NULL;
	size_t cap = 0;
	ASSERT_EQ(ctxd_grow((void **)&v, &cap, 1, sizeof(*v), 16), 0);
	ASSERT_EQ(cap, 16);
	v[15] = 7;
	ASSERT_EQ(ctxd_grow((void **)&v, &cap, 16, sizeof(*v), 16), 0); /* fits: no change */
	ASSERT_EQ(cap, 16);
	ASSERT_EQ(ctxd_grow((void **)&v, &cap, 17, sizeof(*v), 16), 0);
	ASSERT_EQ(cap, 32);
	ASSERT_EQ(v[15], 7);
	ASSERT_EQ(ctxd_grow((void **)&v, &cap, 100, sizeof(*v), 16), 0);
	ASSERT_EQ(cap, 128);
	int *keep = v;
	ASSERT_EQ(ctxd_grow((void **)&v, &cap, SIZE_MAX / 2, sizeof(*v), 16), -1);
	ASSERT(v == keep);
	ASSERT_EQ(cap, 128);
	free(v);
}

/* Two arrays grown in step end with one shared capacity and keep their elements; a refusal
 * leaves the shared capacity as it was. */
static void test_grow_pair(void)
{
	char **names = NULL;
	uint64_t *sizes = NULL;
	size_t cap = 0;
	for (size_t n = 0; n < 100; n++) {
		ASSERT_EQ(ctxd_grow_pair((void **)&names, sizeof(*names), (void **)&sizes,
					 sizeof(*sizes), &cap, n + 1, 8),
			  0);
		ASSERT(cap >= n + 1);
		names[n] = NULL;
		sizes[n] = n;
	}
	ASSERT_EQ(cap, 128);
	for (size_t n = 0; n < 100; n++) {
		ASSERT_EQ(sizes[n], n);
	}
	ASSERT_EQ(ctxd_grow_pair((void **)&names, sizeof(*names), (void **)&sizes, sizeof(*sizes),
				 &cap, SIZE_MAX / 4, 8),
		  -1);
	ASSERT_EQ(cap, 128);
	ASSERT_EQ(sizes[99], 99);
	free(names);
	free(sizes);
}

int main(void)
{
	RUN(test_appends);
	RUN(test_reserve);
	RUN(test_max);
	RUN(test_grow);
	RUN(test_grow_pair);
	return 0;
}
