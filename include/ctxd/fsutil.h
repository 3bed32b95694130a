/* fsutil.h - small file helpers shared by the writing tools: atomic replacement and
 * sha256 content hashes. Thread-safe; no global state.
 */
#ifndef CTXD_FSUTIL_H
#define CTXD_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctxd/error.h"

#define CTXD_SHA256_HEX_LEN 64

/* Hex sha256 of `len` bytes at `data` into `out` (65 bytes: 64 hex digits + NUL).
 * Uses GNU Nettle. Never fails for valid arguments. */
void ctxd_sha256_hex(const void *data, size_t len, char out[CTXD_SHA256_HEX_LEN + 1]);

/* Base64 (RFC 4648, padded) of `len` bytes at `data`: a new NUL-terminated string the caller
 * frees, its length in *out_len (may be NULL). NULL on ENOMEM or overflow. Uses Nettle. */
char *ctxd_base64_encode(const void *data, size_t len, size_t *out_len);

/* Decode padded base64 `s` (`len` chars) into `out` (room for at least len / 4 * 3 bytes);
 * the decoded size goes to *out_len. Returns 0, or -1 for anything that is not valid
 * padded base64. */
int ctxd_base64_decode(const char *s, size_t len, void *out, size_t *out_len);

/* Replace (or create) `name` inside the directory `dirfd` with exactly `len` bytes from
 * `data`, atomically: the bytes go to a new temp file in the same directory (created with
 * O_EXCL, name ".<name>.ctxd-XXXXXX"), which is fsync'ed, given its mode, renamed over
 * `name` and followed by an fsync of the directory. A crash at any point leaves either
 * the old or the new content, never a mix; on failure the temp file is removed and the
 * old file is untouched. `mode` is the new file's permission bits, or -1 to keep the
 * existing file's mode (0644 for a new file). When
 * `no_replace` is true an existing `name` is left alone and the call fails with EEXIST
 * (renameat2 RENAME_NOREPLACE). `name` must be a single component (no '/'); a symlink
 * named `name` is replaced by the file, never followed.
 * Returns 0, or -1 with err set (err->sys_errno: ENOSPC, EDQUOT, EEXIST, EACCES, ...). */
int ctxd_atomic_write(int dirfd, const char *name, const void *data, size_t len, int mode,
		      bool no_replace, struct ctxd_error *err);

/* Read a whole regular file opened as `fd` (from its current offset) into a malloc'd
 * buffer (NUL-terminated for convenience), at most `max` bytes: more gives EFBIG.
 * Returns 0 and sets *out and *len, or -1 with errno set. */
int ctxd_read_all(int fd, size_t max, char **out, size_t *len);

#endif
