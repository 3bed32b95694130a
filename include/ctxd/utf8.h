/* utf8.h - the one UTF-8 validator and repairer of the project.
 *
 * Text from disk (file contents, names, paths, SKILL.md, memory-bank files) is not
 * guaranteed to be UTF-8, while JSON strings must be (RFC 8259 section 8.1). Every place
 * that checks or repairs such text uses these functions, so that the rule is the same
 * everywhere: a byte that does not start a valid UTF-8 sequence (RFC 3629: no overlong
 * forms, surrogates or code points past U+10FFFF; a sequence cut short by the end counts
 * as invalid) becomes one U+FFFD, and the next byte is looked at afresh. Validity is
 * libunistring's (u8_mbtoucr); ASCII runs are skipped eight bytes at a time, as most text
 * is ASCII. Pure functions, no global state: any thread.
 */
#ifndef CTXD_UTF8_H
#define CTXD_UTF8_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <unistr.h>

#include "ctxd/strbuf.h"

/* The replacement character U+FFFD in UTF-8, and its length in bytes. */
#define CTXD_UTF8_REPLACEMENT     "\xEF\xBF\xBD"
#define CTXD_UTF8_REPLACEMENT_LEN 3

/* Length in bytes (1 to 4) of the valid UTF-8 sequence that starts s[0..n), n > 0; 0 when
 * s[0] starts none (an invalid byte, or a sequence cut short by n). Inline: json_write.c
 * calls it once per non-ASCII character. */
static inline size_t ctxd_utf8_seq(const char *s, size_t n)
{
	if ((unsigned char)s[0] < 0x80) {
		return 1;
	}
	ucs4_t uc;
	int k = u8_mbtoucr(&uc, (const uint8_t *)s, n);
	return k > 0 ? (size_t)k : 0;
}

/* Offset of the first byte of s[0..n) that starts no valid UTF-8 sequence, or `n` when
 * all of it is valid UTF-8. */
size_t ctxd_utf8_invalid_at(const char *s, size_t n);

/* The largest length <= n such that s[0..length) does not end inside a UTF-8 sequence
 * (for cutting text at a byte limit). Only the last four bytes are looked at; text that
 * was invalid before the cut stays invalid. */
size_t ctxd_utf8_trim(const char *s, size_t n);

/* Append s[0..n) to `b`, each byte that starts no valid sequence replaced by U+FFFD.
 * Returns the number of bytes replaced. Allocation failure sets b->oom (strbuf.h). */
size_t ctxd_utf8_repair(struct ctxd_strbuf *b, const char *s, size_t n);

/* A new jansson string holding s[0..n) repaired as ctxd_utf8_repair does (NUL bytes are
 * kept: jansson strings may hold them). NULL when memory ran out. */
json_t *ctxd_utf8_json(const char *s, size_t n);

#endif
