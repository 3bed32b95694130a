/* json_write.c - compact JSON writer (see json_write.h).
 *
 * Why not jansson's dumper: it validates and copies strings one code point at a time, which
 * made it most of the cost of answering a file read (perf: 64% of server CPU for 4 KiB
 * reads), and building a jansson value per match made it a quarter of grep's CPU. Strings
 * up to 64 KiB are written in one pass into room for the worst case, longer ones in two
 * (count what escaping adds, reserve once); clean runs are copied as they are scanned, 16
 * bytes at a time with SSE2 (the x86-64 baseline), eight at a time in a register
 * elsewhere, and the escapes written in place.
 */
#include "ctxd/json_write.h"
#include "ctxd/utf8.h"

#include <stdbool.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdio.h>
#include <string.h>

#define ONES  0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Bytes the escaped form of a byte adds beyond itself (0 when it is copied as is). */
static const unsigned char escape_extra_tab[256] = {
    /* control characters: \u00XX, except \b \t \n \f \r */
    5, 5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 5, 1, 1, 5, 5,         5,
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, ['"'] = 1, ['\\'] = 1,
};
#define escape_extra(c) ((size_t)escape_extra_tab[(unsigned char)(c)])

/* A byte that needs a look: one to escape, or (when `utf8`) one at or above 0x80. */
static inline bool special(char c, bool utf8)
{
	return escape_extra(c) || (utf8 && (unsigned char)c >= 0x80);
}

#if !defined(__SSE2__)
/* True when one of the eight bytes needs escaping (< 0x20, '"' or '\\') or, with `utf8`,
 * has its high bit set. */
static inline bool word_special(uint64_t w, bool utf8)
{
	uint64_t ctl = (w - ONES * 0x20) & ~w;
	uint64_t q = w ^ (ONES * '"');
	uint64_t bs = w ^ (ONES * '\\');
	return ((ctl | ((q - ONES) & ~q) | ((bs - ONES) & ~bs) | (utf8 ? w : 0)) & HIGHS) != 0;
}
#endif

#if defined(__SSE2__)
/* Bit k set when byte k of the 16 in `x` is special. */
static inline unsigned block_special(__m128i x, bool utf8)
{
	const __m128i ctl = _mm_set1_epi8(0x1F), quote = _mm_set1_epi8('"'),
		      bslash = _mm_set1_epi8('\\');
	__m128i hit =
	    _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl),
			 _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)));
	unsigned mask = (unsigned)_mm_movemask_epi8(hit);
	return utf8 ? mask | (unsigned)_mm_movemask_epi8(x) : mask;
}
#endif

/* Index of the first special byte at or after `i`, or `n`. */
static inline size_t next_special(const char *s, size_t i, size_t n, bool utf8)
{
#if defined(__SSE2__)
	for (; i + 16 <= n; i += 16) {
		unsigned mask =
		    block_special(_mm_loadu_si128((const __m128i *)(const void *)(s + i)), utf8);
		if (mask) {
			return i + (size_t)__builtin_ctz(mask);
		}
	}
#else
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (word_special(w, utf8)) {
			break;
		}
	}
#endif
	while (i < n && !special(s[i], utf8)) {
		i++;
	}
	return i;
}

/* Copy s[i..j) to *op, where j is the first special byte at or after `i` (or `n`), and
 * return j; *op is advanced past the copy. Clean blocks are stored as they are scanned, a
 * whole block even when it holds the special byte (the bytes from it on are written again
 * after): the room put_body reserved holds at least one output byte per input byte left. */
static inline size_t copy_clean(char **op, const char *s, size_t i, size_t n, bool utf8)
{
	char *o = *op;
#if defined(__SSE2__)
	for (; i + 16 <= n; i += 16, o += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		unsigned mask = block_special(x, utf8);
		_mm_storeu_si128((__m128i *)(void *)o, x);
		if (mask) {
			unsigned z = (unsigned)__builtin_ctz(mask);
			*op = o + z;
			return i + z;
		}
	}
#else
	for (; i + 8 <= n; i += 8, o += 8) {
		uint64_t w;
		memcpy(&w, s + i, 8);
		if (word_special(w, utf8)) {
			break;
		}
		memcpy(o, &w, 8);
	}
#endif
	while (i < n && !special(s[i], utf8)) {
		*o++ = s[i++];
	}
	*op = o;
	return i;
}

/* Strings up to this long are escaped in one pass into room for the worst case (six bytes
 * per input byte, \u00XX); longer ones are measured first, so that a frame of many MiB
 * does not reserve six times its size. */
#define ONE_PASS_MAX 65536

/* Append the escaped body of s[0..n): see the header for `utf8`. */
static void put_body(struct ctxd_strbuf *b, const char *s, size_t n, bool utf8, size_t quotes)
{
	static const char hex[] = "0123456789abcdef";
	size_t extra = 0;
	bool measure = n > ONE_PASS_MAX ||
		       (b->max && (n * 6 + quotes > b->max || b->len > b->max - (n * 6 + quotes)));
	if (measure) {
		for (size_t i = next_special(s, 0, n, utf8); i < n;) {
			if ((unsigned char)s[i] >= 0x80) {
				size_t k = ctxd_utf8_seq(s + i, n - i);
				extra += k ? 0 : 2; /* one byte becomes the three of U+FFFD */
				i = next_special(s, i + (k ? k : 1), n, utf8);
			} else {
				extra += escape_extra(s[i]);
				i = next_special(s, i + 1, n, utf8);
			}
		}
	}
	if (!ctxd_strbuf_reserve(b, measure ? n + extra + quotes : n * 6 + quotes)) {
		return;
	}
	char *o = b->p + b->len;
	if (quotes) {
		*o++ = '"';
	}
	size_t i = 0;
	if (measure && !extra) {
		memcpy(o, s, n);
		o += n;
		i = n;
	}
	while ((i = copy_clean(&o, s, i, n, utf8)) < n) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			size_t k = ctxd_utf8_seq(s + i, n - i);
			if (k) { /* valid: copied as it is */
				memcpy(o, s + i, k);
				o += k;
				i += k;
				continue;
			}
			memcpy(o, CTXD_UTF8_REPLACEMENT, CTXD_UTF8_REPLACEMENT_LEN);
			o += CTXD_UTF8_REPLACEMENT_LEN;
			i++;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		case '\b':
			*o++ = 'b';
			break;
		case '\f':
			*o++ = 'f';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
		i++;
	}
	if (quotes) {
		*o++ = '"';
	}
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
}

void ctxd_json_str(struct ctxd_strbuf *b, const char *s, size_t n)
{
	put_body(b, s, n, false, 2);
}

void ctxd_json_text(struct ctxd_strbuf *b, const char *s, size_t n)
{
	put_body(b, s, n, true, 2);
}

void ctxd_json_text_part(struct ctxd_strbuf *b, const char *s, size_t n)
{
	put_body(b, s, n, true, 0);
}

void ctxd_json_uint(struct ctxd_strbuf *b, uint64_t v)
{
	char d[20];
	size_t k = sizeof(d);
	do {
		d[--k] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	ctxd_strbuf_add(b, d + k, sizeof(d) - k);
}

void ctxd_json_int(struct ctxd_strbuf *b, int64_t v)
{
	if (v < 0) {
		ctxd_strbuf_add(b, "-", 1);
	}
	/* the magnitude as unsigned: no overflow for the most negative value */
	ctxd_json_uint(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
}

static int put_value(struct ctxd_strbuf *b, const json_t *v, int depth)
{
	char num[64];
	int n;
	if (depth > 2048) {
		return -1; /* jansson values we build are never this deep */
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		ctxd_strbuf_add(b, "{", 1);
		bool first = true;
		const char *key;
		json_t *val;
		json_object_foreach((json_t *)v, key, val)
		{
			if (!first) {
				ctxd_strbuf_add(b, ",", 1);
			}
			ctxd_json_str(b, key, strlen(key));
			ctxd_strbuf_add(b, ":", 1);
			if (put_value(b, val, depth + 1) < 0) {
				return -1;
			}
			first = false;
		}
		ctxd_strbuf_add(b, "}", 1);
		return b->oom ? -1 : 0;
	}
	case JSON_ARRAY: {
		ctxd_strbuf_add(b, "[", 1);
		size_t i;
		json_t *val;
		json_array_foreach(v, i, val)
		{
			if (i > 0) {
				ctxd_strbuf_add(b, ",", 1);
			}
			if (put_value(b, val, depth + 1) < 0) {
				return -1;
			}
		}
		ctxd_strbuf_add(b, "]", 1);
		return b->oom ? -1 : 0;
	}
	case JSON_STRING:
		ctxd_json_str(b, json_string_value(v), json_string_length(v));
		return b->oom ? -1 : 0;
	case JSON_INTEGER:
		ctxd_json_int(b, json_integer_value(v));
		return b->oom ? -1 : 0;
	case JSON_REAL: {
		double x = json_real_value(v);
		if (x != x || x - x != 0) {
			return -1; /* NaN and infinities have no JSON form */
		}
		n = snprintf(num, sizeof(num), "%.17g", x);
		char *e = strchr(num, 'e');
		if (!e && !strchr(num, '.')) {
			num[n++] = '.';
			num[n++] = '0';
		} else if (e) {
			/* like jansson: 1e300, 1e-07 -> 1e-7: no '+', no leading zeros */
			char *src = e + 1, *dst = e + 1;
			if (*src == '+') {
				src++;
			} else if (*src == '-') {
				*dst++ = *src++;
			}
			while (*src == '0' && src[1]) {
				src++;
			}
			memmove(dst, src, strlen(src) + 1);
			n = (int)strlen(num);
		}
		ctxd_strbuf_add(b, num, (size_t)n);
		return b->oom ? -1 : 0;
	}
	case JSON_TRUE:
		ctxd_strbuf_add(b, "true", 4);
		return b->oom ? -1 : 0;
	case JSON_FALSE:
		ctxd_strbuf_add(b, "false", 5);
		return b->oom ? -1 : 0;
	case JSON_NULL:
		ctxd_strbuf_add(b, "null", 4);
		return b->oom ? -1 : 0;
	}
	return -1;
}

int ctxd_json_value(struct ctxd_strbuf *b, const json_t *v)
{
	return put_value(b, v, 0);
}
