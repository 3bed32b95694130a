/* strbuf.h - a growable NUL-terminated text buffer for building tool answers.
 *
 * Zero-initialise it (`struct ctxd_strbuf b = {0};`), append, then use `b.p` (NULL when
 * nothing was appended) and free it. An allocation failure sets `oom`, which sticks: later
 * appends do nothing, so callers check once at the end. A buffer may be given a limit
 * (`max`, 0 = none): an append that would take it past `max` bytes sets `too_big` and
 * `oom` instead, and no more than `max` bytes (plus the NUL) are ever allocated. Not
 * thread-safe per buffer; no global state.
 */
#ifndef CTXD_STRBUF_H
#define CTXD_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct ctxd_strbuf {
	char *p;    /* owned by the caller once done: free() it */
	size_t len; /* bytes used, without the terminating NUL */
	size_t cap;
	size_t max;   /* most bytes `len` may reach; 0 = no limit */
	bool oom;     /* an append failed: memory ran out, or `max` was reached */
	bool too_big; /* the failure was `max` (oom is set too) */
};

/* Make room for `n` more bytes (plus the terminating NUL), so that appends totalling `n`
 * bytes do not reallocate: answers whose size is known in advance reserve once. Returns
 * false (and sets oom) when the memory cannot be had, or (setting too_big as well) when
 * `n` more bytes would pass `max`. */
bool ctxd_strbuf_reserve(struct ctxd_strbuf *b, size_t n);

/* Append `n` bytes of `s` (may hold NUL bytes). */
void ctxd_strbuf_add(struct ctxd_strbuf *b, const char *s, size_t n);

/* Append the C string `s`. */
void ctxd_strbuf_str(struct ctxd_strbuf *b, const char *s);

/* Append printf-style formatted text, whole (no length limit). */
void ctxd_strbuf_printf(struct ctxd_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Grow the array *p, of *cap elements of `elem` bytes each, to hold at least `need`
 * elements: the capacity doubles, from `first` (> 0) when the array is empty, until `need`
 * fits. Nothing happens when *cap >= need. Returns 0, or -1 when memory ran out or the
 * size would overflow (then *p and *cap are unchanged and *p still owned by the caller).
 * Not thread-safe per array; no global state. */
int ctxd_grow(void **p, size_t *cap, size_t need, size_t elem, size_t first);

/* ctxd_grow for two arrays indexed alike (*p of `elem_p`-byte and *q of `elem_q`-byte
 * elements) that share one capacity *cap: both grow to the same new capacity. Returns 0, or
 * -1 when memory ran out or a size would overflow; then *cap is unchanged and both arrays
 * still hold at least *cap elements (one of them may have been moved and grown already: the
 * pointers stay the caller's). Not thread-safe per array; no global state. */
int ctxd_grow_pair(void **p, size_t elem_p, void **q, size_t elem_q, size_t *cap, size_t need,
		   size_t first);

#endif
