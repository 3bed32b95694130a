/* uri.h - the file:// URI codec (RFC 8089 local file URIs, RFC 3986 percent-encoding), used
 * for client roots, file:// resources and resource links, and the percent-decoding that
 * skill:// URIs and memory-bank links share. Pure functions; any thread.
 */
#ifndef CTXD_URI_H
#define CTXD_URI_H

#include <stdbool.h>
#include <stddef.h>

/* Percent-decode s[0..n) into `out` (`cap` bytes, NUL-terminated; `out` may be `s`: decoding
 * never writes ahead of what it reads). A '%' not followed by two hex digits is an error
 * when `strict`, else kept as it is. Returns the decoded length, or -1 when an escape decodes
 * to a NUL byte, a strict escape is malformed, or the result does not fit. */
long ctxd_percent_decode(const char *s, size_t n, char *out, size_t cap, bool strict);

/* The absolute path of a local file URI ("file:///p" or "file://localhost/p"; a query or
 * fragment ends the path), percent-decoded into `out` (`cap` bytes, NUL-terminated).
 * Returns the path's length (> 0), or -1 when `uri` is not a local file URI, a '%' is not
 * followed by two hex digits, it decodes to a NUL byte, or the path does not fit. */
long ctxd_file_uri_to_path(const char *uri, char *out, size_t cap);

/* The file:// URI of the absolute path `abs` into `out` (`cap` bytes, NUL-terminated),
 * percent-encoding every byte outside RFC 3986's unreserved characters and '/'. Returns 0,
 * or -1 when it does not fit. */
int ctxd_path_to_file_uri(const char *abs, char *out, size_t cap);

#endif
