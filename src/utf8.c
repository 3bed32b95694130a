/* utf8.c - the one UTF-8 validator and repairer (see utf8.h). */
#include "ctxd/utf8.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

#define HIGHS 0x8080808080808080ULL

size_t ctxd_utf8_invalid_at(const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint64_t w;
		/* ASCII runs 32 bytes at a time (the usual text), then 8, then one sequence */
		while (i + 32 <= n) {
#if defined(__SSE2__)
			__m128i a = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
			__m128i b = _mm_loadu_si128((const __m128i *)(const void *)(s + i + 16));
			if (_mm_movemask_epi8(_mm_or_si128(a, b)) != 0) {
				break;
			}
#else
			uint64_t a, b, c, d;
			memcpy(&a, s + i, 8);
			memcpy(&b, s + i + 8, 8);
			memcpy(&c, s + i + 16, 8);
			memcpy(&d, s + i + 24, 8);
			if (((a | b | c | d) & HIGHS) != 0) {
				break;
			}
#endif
			i += 32;
		}
		if (i == n) {
			break;
		}
		if (i + 8 <= n && (memcpy(&w, s + i, 8), (w & HIGHS) == 0)) {
			i += 8;
			continue;
		}
		size_t k = ctxd_utf8_seq(s + i, n - i);
		if (k == 0) {
			return i;
		}
		i += k;
	}
	return n;
}

size_t ctxd_utf8_trim(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = n;
	size_t back = 0;
	while (i > 0 && back < 4 && (u[i - 1] & 0xC0) == 0x80) {
		i--;
		back++;
	}
	if (i == 0 || u[i - 1] < 0xC0) {
		return n;
	}
	/* u[i-1] is a lead byte: keep it only when its sequence is complete. */
	size_t need = u[i - 1] >= 0xF0 ? 4 : u[i - 1] >= 0xE0 ? 3 : 2;
	return back + 1 >= need ? n : i - 1;
}

size_t ctxd_utf8_repair(struct ctxd_strbuf *b, const char *s, size_t n)
{
	size_t replaced = 0;
	for (size_t i = 0;;) {
		size_t bad = i + ctxd_utf8_invalid_at(s + i, n - i);
		ctxd_strbuf_add(b, s + i, bad - i);
		if (bad == n) {
			return replaced;
		}
		ctxd_strbuf_add(b, CTXD_UTF8_REPLACEMENT, CTXD_UTF8_REPLACEMENT_LEN);
		replaced++;
		i = bad + 1;
	}
}

json_t *ctxd_utf8_json(const char *s, size_t n)
{
	/* checked here, faster than jansson's byte-by-byte check, which is then skipped */
	size_t bad = ctxd_utf8_invalid_at(s, n);
	if (bad == n) {
		return json_stringn_nocheck(s, n);
	}
	struct ctxd_strbuf b = {0};
	ctxd_strbuf_add(&b, s, bad);
	ctxd_strbuf_add(&b, CTXD_UTF8_REPLACEMENT, CTXD_UTF8_REPLACEMENT_LEN);
	ctxd_utf8_repair(&b, s + bad + 1, n - bad - 1);
	json_t *j = b.oom ? NULL : json_stringn_nocheck(b.p, b.len); /* valid by construction */
	free(b.p);
	return j;
}
