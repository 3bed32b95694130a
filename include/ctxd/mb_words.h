/* mb_words.h - words as the memory bank's search and validation see them: Unicode-aware
 * splitting, folding for matching, and English stop words (src/mb_words.c, GNU
 * libunistring). Pure functions, any thread.
 */
#ifndef CTXD_MB_WORDS_H
#define CTXD_MB_WORDS_H

#include <stdbool.h>
#include <stddef.h>
#include <unitypes.h>

/* The code point at s[i] (i < e) into *uc and its length in bytes; invalid UTF-8 gives
 * U+FFFD (not a word character) for one byte or a truncated sequence. */
size_t ctxd_mb_char_at(const char *s, size_t i, size_t e, ucs4_t *uc);

/* The next word of s in [*p, e): a run of letters, combining marks and digits (Unicode
 * general categories L, M, N); anything else separates words. Sets [*ws, *we), moves *p past
 * it and returns true; false (with *p = e) when there is none. */
bool ctxd_mb_word_next(const char *s, size_t *p, size_t e, size_t *ws, size_t *we);

/* A word folded for matching: full Unicode case folding and compatibility decomposition
 * (u8_casefold with NFKD), then combining marks dropped and the few stroked letters mapped
 * to their base, so "Tổng" and "TONG" both become "tong", "Straße" "strasse" and "ﬁle"
 * "file". Returns the folded bytes (*len of them, not NUL-terminated): `buf` when they fit
 * in `cap`, else a malloc'd buffer left in *heap (free it; NULL otherwise); NULL on ENOMEM.
 * In a word that is not all ASCII, bytes that are not UTF-8 come out as U+FFFD
 * (libunistring's u8_casefold); should it refuse the word, the bytes are kept as they are
 * with the ASCII letters lowered. */
const char *ctxd_mb_word_fold(const char *s, size_t n, char *buf, size_t cap, size_t *len,
			      char **heap);

/* Is the folded word [w, w+n) a common English word that says little about what a text is
 * about ("the", "what", "s" of "what's", ...)? */
bool ctxd_mb_word_stop(const char *w, size_t n);

#endif
