/* fsutil.h - file helpers shared by the writing tools (src/tools/fs_write.c) and the memory
 * bank: atomic replacement, the per-directory write lock every writer takes, sparse-aware
 * copies, sha256 content hashes and base64. Thread-safe; any thread.
 */
#ifndef CTXD_FSUTIL_H
#define CTXD_FSUTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* A replacement in progress: a temp file next to the target (see ctxd_atomic_write). */
struct ctxd_atomic {
	int dirfd;     /* borrowed */
	int fd;        /* the temp file, open for writing; -1 once sealed or aborted */
	char tmp[512]; /* its name in dirfd; "" once renamed or removed */
};

/* The two halves of ctxd_atomic_write, for writers that fill the temp file themselves
 * (copies, appends). ctxd_atomic_begin creates the temp file for `name` in `dirfd` (a
 * single component) and fills `a`; the caller writes to a->fd (never closes it). Then
 * exactly one of: ctxd_atomic_commit (mode as in ctxd_atomic_write; seals, renames over
 * `name` - with RENAME_NOREPLACE when `no_replace` - and flushes the directory; on failure
 * the temp file is gone), or ctxd_atomic_abort (closes and removes the temp file; keeps
 * errno). Both return 0, or -1 with err set and errno kept. */
int ctxd_atomic_begin(struct ctxd_atomic *a, int dirfd, const char *name, struct ctxd_error *err);
int ctxd_atomic_commit(struct ctxd_atomic *a, const char *name, int mode, bool no_replace,
		       struct ctxd_error *err);
void ctxd_atomic_abort(struct ctxd_atomic *a);

/* The write lock: every writer that rewrites, creates, renames or removes an entry of a
 * directory holds an exclusive flock(2) on that directory (on a descriptor of its own, so
 * threads of one process exclude each other as well as other processes) from before it
 * reads what it will change until after its rename or unlink. It is the one lock domain
 * of the file tools and the memory bank, so no successful write is lost to a concurrent
 * one. The directory, not the file, is locked because a replacement renames a new inode
 * over the name (an inode lock would have to be re-checked against the name after every
 * wait) and because a file that does not exist yet has no inode to lock; the price is that
 * writes to different files of one directory take turns. Where the file system cannot
 * flock a directory (NFS), a process-local mutex keyed by the directory stands in and a
 * warning is logged once. Never take a second lock while holding one, except through
 * ctxd_dir_lock_pair (fixed order). Blocks until the lock is free.
 * `lk` is filled; release with ctxd_dir_unlock. Returns 0, or -1 with err set (code 0:
 * the directory cannot be opened for reading, or flock failed). */
struct ctxd_dir_lock {
	int fd;              /* the flock'ed descriptor, or -1 */
	pthread_mutex_t *mu; /* the process-local stand-in, or NULL */
};
int ctxd_dir_lock(int dirfd, struct ctxd_dir_lock *lk, struct ctxd_error *err);

/* Lock two directories (move_file's source and destination) in (device, inode) order; the
 * same directory twice is locked once (lk[1] then holds nothing). Release both with
 * ctxd_dir_unlock. Returns 0 or -1 with err set (then nothing is held). */
int ctxd_dir_lock_pair(int a, int b, struct ctxd_dir_lock lk[2], struct ctxd_error *err);

/* Release a lock taken by ctxd_dir_lock or ctxd_dir_lock_pair; one that holds nothing is
 * left alone. */
void ctxd_dir_unlock(struct ctxd_dir_lock *lk);

/* Copy the first `size` bytes of the regular file `src` into `dst` (an empty regular file,
 * written at the same offsets) keeping holes: only the data segments SEEK_DATA/SEEK_HOLE
 * report are copied (copy_file_range, or pread/pwrite where it is not supported), then
 * `dst` is truncated to `size`. At most `max_data` bytes of data: past it -EFBIG. `stop`
 * (may be NULL) is asked before each 1 MiB chunk; true stops with -ECANCELED. *data (may
 * be NULL) gets the data bytes seen. Returns 0 or -errno; `dst` then holds a partial copy
 * the caller discards. */
int ctxd_copy_sparse(int src, int dst, off_t size, uint64_t max_data, uint64_t *data,
		     bool (*stop)(const void *ud), const void *ud);

/* Bytes of data (outside holes) in the first `size` bytes of `fd`; everything counts as
 * data where the file system cannot tell. */
uint64_t ctxd_data_bytes(int fd, off_t size);

/* Read a whole regular file opened as `fd` (at offset 0: the size check counts the whole
 * file) into a malloc'd buffer (NUL-terminated for convenience), at most `max` bytes: a
 * larger file gives EFBIG.
 * Returns 0 and sets *out and *len, or -1 with errno set. */
int ctxd_read_all(int fd, size_t max, char **out, size_t *len);

#endif
