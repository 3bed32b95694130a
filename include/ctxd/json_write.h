/* json_write.h - compact JSON text written straight into a ctxd_strbuf.
 *
 * The one JSON writer of the project: ctxd_rpc_dump serialises every response with it, and
 * tools whose answers are large (grep, search_files) write their CallToolResult with it
 * directly instead of building a jansson value per match. Output is compact JSON,
 * identical to jansson's JSON_COMPACT except that reals are written with %.17g as jansson
 * does. Strings are escaped as RFC 8259 section 7 requires ('"', '\\' and control
 * characters); the search for bytes to escape looks at 16 bytes per step (SSE2) or 8
 * (elsewhere). Allocation failures set the buffer's sticky `oom` flag (strbuf.h): check it
 * once at the end. No global state; any thread (one buffer per thread at a time).
 */
#ifndef CTXD_JSON_WRITE_H
#define CTXD_JSON_WRITE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ctxd/strbuf.h"

/* Append the JSON string literal, quotes included, of `n` bytes of `s`, which must be valid
 * UTF-8 (jansson strings, ctxd's own messages); NUL bytes are written as \u0000. */
void ctxd_json_str(struct ctxd_strbuf *b, const char *s, size_t n);

/* Append the JSON string literal of `n` bytes of any text (file contents, names read from
 * disk): each byte that does not start a valid UTF-8 sequence becomes U+FFFD, as
 * ctxd_utf8_repair does (utf8.h). */
void ctxd_json_text(struct ctxd_strbuf *b, const char *s, size_t n);

/* The same without the quotes: a piece of a string written in parts between a '"' the
 * caller appends before the first piece and one after the last. A UTF-8 sequence must not
 * be split between two pieces (each piece is checked on its own). */
void ctxd_json_text_part(struct ctxd_strbuf *b, const char *s, size_t n);

/* Append the decimal digits of `v`. */
void ctxd_json_uint(struct ctxd_strbuf *b, uint64_t v);

/* Append `v` as a JSON number ("-" and the digits; INT64_MIN included). Any thread (`b` is
 * the caller's); out of memory sets b->oom. */
void ctxd_json_int(struct ctxd_strbuf *b, int64_t v);

/* Append `v` (borrowed) compactly. Returns 0, or -1 when it has no JSON form (a NaN or an
 * infinite real, or nesting deeper than 2048) or memory ran out; what was appended before
 * the failure stays in the buffer. */
int ctxd_json_value(struct ctxd_strbuf *b, const json_t *v);

#endif
