/* strbuf.c - growable text buffer (see strbuf.h). */
#include "ctxd/strbuf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ctxd_strbuf_reserve(struct ctxd_strbuf *b, size_t n)
{
	if (b->oom) {
		return false;
	}
	if (b->p && n < b->cap - b->len) { /* room for n bytes and the NUL; cannot wrap */
		return true;
	}
	if (b->max && (n > b->max || b->len > b->max - n)) {
		b->oom = b->too_big = true;
		return false;
	}
	if (n > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return false;
	}
	size_t c = b->cap ? b->cap : 256;
	while (c < b->len + n + 1) {
		c *= 2;
	}
	if (b->max && c > b->max + 1) {
		c = b->max + 1;
	}
	char *q = realloc(b->p, c);
	if (!q) {
		b->oom = true;
		return false;
	}
	b->p = q;
	b->cap = c;
	return true;
}

void ctxd_strbuf_add(struct ctxd_strbuf *b, const char *s, size_t n)
{
	if (!ctxd_strbuf_reserve(b, n)) {
		return;
	}
	if (n) { /* memcpy's arguments must be valid even for 0 bytes */
		memcpy(b->p + b->len, s, n);
	}
	b->len += n;
	b->p[b->len] = '\0';
}

void ctxd_strbuf_str(struct ctxd_strbuf *b, const char *s)
{
	ctxd_strbuf_add(b, s, strlen(s));
}

void ctxd_strbuf_printf(struct ctxd_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !ctxd_strbuf_reserve(b, (size_t)n)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

int ctxd_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first)
{
	if (need <= *cap) {
		return 0;
	}
	size_t n = *cap ? *cap : first;
	while (n < need) {
		if (n > SIZE_MAX / 2) {
			return -1;
		}
		n *= 2;
	}
	if (elem && n > SIZE_MAX / elem) {
		return -1;
	}
	void *q = realloc(*p, n * elem);
	if (!q) {
		return -1;
	}
	*p = q;
	*cap = n;
	return 0;
}

int ctxd_grow_pair(void **p, size_t elem_p, void **q, size_t elem_q, size_t *cap, size_t need,
		   size_t first)
{
	size_t cap_p = *cap, cap_q = *cap;
	if (ctxd_grow(p, &cap_p, need, elem_p, first) < 0 ||
	    ctxd_grow(q, &cap_q, need, elem_q, first) < 0) {
		return -1;
	}
	*cap = cap_p; /* == cap_q: the same doubling from the same start */
	return 0;
}
