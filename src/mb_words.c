/* mb_words.c - words for the memory bank's search and validation: Unicode-aware splitting
 * and folding (GNU libunistring) and English stop words.
 */
#include "ctxd/mb_words.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

/* A word character: a letter, a combining mark or a digit (Unicode general categories L, M
 * and N). Anything else (blanks, punctuation, symbols, emoji) separates words. */
static bool word_char(ucs4_t uc)
{
	if (uc < 0x80) {
		return (uc >= 'a' && uc <= 'z') || (uc >= 'A' && uc <= 'Z') ||
		       (uc >= '0' && uc <= '9');
	}
	return uc_is_general_category(uc, UC_CATEGORY_L) ||
	       uc_is_general_category(uc, UC_CATEGORY_M) ||
	       uc_is_general_category(uc, UC_CATEGORY_N);
}

/* The code point at s[i] (i < e) and its length in bytes; invalid UTF-8 gives U+FFFD (not a
 * word character) for one byte or a truncated sequence. */
size_t ctxd_mb_char_at(const char *s, size_t i, size_t e, ucs4_t *uc)
{
	if ((unsigned char)s[i] < 0x80) {
		*uc = (unsigned char)s[i];
		return 1;
	}
	int k = u8_mbtouc(uc, (const uint8_t *)s + i, e - i);
	return k > 0 ? (size_t)k : 1;
}

/* Next word in [*p, e): sets [ws, we) and returns true. */
bool ctxd_mb_word_next(const char *s, size_t *p, size_t e, size_t *ws, size_t *we)
{
	size_t i = *p, k = 0;
	ucs4_t uc;
	while (i < e) {
		k = ctxd_mb_char_at(s, i, e, &uc);
		if (word_char(uc)) {
			break;
		}
		i += k;
	}
	if (i >= e) {
		*p = e;
		return false;
	}
	*ws = i;
	while (i < e) {
		k = ctxd_mb_char_at(s, i, e, &uc);
		if (!word_char(uc)) {
			break;
		}
		i += k;
	}
	*we = i;
	*p = i;
	return true;
}

/* Letters with no decomposition that readers still see as a base letter with a mark. */
static ucs4_t base_letter(ucs4_t uc)
{
	switch (uc) {
	case 0x0111: /* đ (Vietnamese, Croatian) */
		return 'd';
	case 0x00F8: /* ø */
		return 'o';
	case 0x0142: /* ł */
		return 'l';
	default:
		return uc;
	}
}

/* Case folding and NFKD in one libunistring call, then the marks NFKD split off dropped in
 * place (the result only shrinks); see mb_words.h for the contract. */
const char *ctxd_mb_word_fold(const char *s, size_t n, char *buf, size_t cap, size_t *len,
			      char **heap)
{
	*heap = NULL;
	bool ascii = true;
	for (size_t i = 0; i < n && ascii; i++) {
		ascii = (unsigned char)s[i] < 0x80;
	}
	uint8_t *r = NULL;
	size_t rl = cap;
	if (!ascii) {
		r = u8_casefold((const uint8_t *)s, n, NULL, UNINORM_NFKD, (uint8_t *)buf, &rl);
	}
	if (!r) { /* ASCII, or not valid UTF-8: lower the ASCII letters */
		char *o = n <= cap ? buf : (*heap = malloc(n));
		if (!o) {
			return NULL;
		}
		for (size_t i = 0; i < n; i++) {
			char c = s[i];
			o[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		*len = n;
		return o;
	}
	if ((char *)r != buf) {
		*heap = (char *)r;
	}
	/* drop the combining marks NFKD split off; only ever shrinks */
	size_t w = 0;
	for (size_t i = 0; i < rl;) {
		ucs4_t uc;
		int k = u8_mbtouc(&uc, r + i, rl - i);
		if (!uc_is_general_category(uc, UC_CATEGORY_M)) {
			ucs4_t b = base_letter(uc);
			if (b != uc) {
				r[w++] = (uint8_t)b;
			} else {
				memmove(r + w, r + i, (size_t)k);
				w += (size_t)k;
			}
		}
		i += (size_t)k;
	}
	*len = w;
	return (const char *)r;
}

/* Common English words that say little about what a text is about; the search ranks by the
 * other words of a query. Folded, sorted (bsearch). "s" and "t" are what "what's" and
 * "don't" leave once the apostrophe splits them. */
static const char *const stop_words[] = {
    "a",       "about",  "above",   "after", "again",  "against", "all",     "am",      "an",
    "and",     "any",    "are",     "as",    "at",     "be",      "because", "been",    "before",
    "being",   "below",  "between", "both",  "but",    "by",      "can",     "could",   "did",
    "do",      "does",   "doing",   "down",  "during", "each",    "few",     "for",     "from",
    "further", "had",    "has",     "have",  "having", "he",      "her",     "here",    "hers",
    "him",     "his",    "how",     "i",     "if",     "in",      "into",    "is",      "it",
    "its",     "itself", "just",    "me",    "more",   "most",    "my",      "no",      "nor",
    "not",     "now",    "of",      "off",   "on",     "once",    "only",    "or",      "other",
    "our",     "ours",   "out",     "over",  "own",    "s",       "same",    "she",     "should",
    "so",      "some",   "such",    "t",     "than",   "that",    "the",     "their",   "theirs",
    "them",    "then",   "there",   "these", "they",   "this",    "those",   "through", "to",
    "too",     "under",  "until",   "up",    "very",   "was",     "we",      "were",    "what",
    "when",    "where",  "which",   "while", "who",    "whom",    "why",     "will",    "with",
    "would",   "you",    "your",    "yours",
};

struct folded {
	const char *p;
	size_t n;
};

static int cmp_stop(const void *key, const void *elem)
{
	const struct folded *k = key;
	const char *w = *(const char *const *)elem;
	size_t wl = strlen(w);
	int c = memcmp(k->p, w, k->n < wl ? k->n : wl);
	return c ? c : (k->n > wl) - (k->n < wl);
}

/* Is the folded word [w, w+n) a stop word? */
bool ctxd_mb_word_stop(const char *w, size_t n)
{
	struct folded k = {w, n};
	return bsearch(&k, stop_words, sizeof(stop_words) / sizeof(stop_words[0]),
		       sizeof(stop_words[0]), cmp_stop) != NULL;
}
