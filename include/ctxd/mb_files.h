/* mb_files.h - the memory bank's files on disk: safe names, listing, reading (regular files
 * only, never through a symlink, never blocking on a FIFO) and disk text as JSON
 * (src/mb_files.c). No state: every function works on a directory descriptor and is
 * callable from any thread.
 */
#ifndef CTXD_MB_FILES_H
#define CTXD_MB_FILES_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctxd/error.h"
#include "ctxd/sandbox.h"

/* The most a bank file may hold, in bytes (larger files are refused with EFBIG). */
#define CTXD_MB_FILE_MAX ((size_t)16 << 20)

/* An open bank directory (filled by ctxd_mb_open, src/mb_store.c). */
struct ctxd_mb_dir {
	int fd;                  /* O_RDONLY|O_DIRECTORY, the caller closes it */
	bool read_only;          /* its root is read-only */
	char project[128];       /* the project name ("default" in single mode) */
	char abs[CTXD_PATH_MAX]; /* absolute path, for messages and watches */
	int root_fd;             /* the root the bank lives in (O_PATH, borrowed from the
				  * sandbox: valid while the sandbox given to open is) */
	char rel[CTXD_PATH_MAX]; /* the bank's path relative to that root ("." = the root) */
};

/* True when `name` is a safe bank file name: [A-Za-z0-9._-]+ ending in ".md", no leading
 * dot, at most 200 bytes. NULL-safe (false). */
bool ctxd_mb_file_ok(const char *name);

/* True when `name` is a safe project name: [A-Za-z0-9._-]+, no leading dot, <= 100 bytes.
 * NULL-safe (false). */
bool ctxd_mb_project_ok(const char *name);

/* The entries of `dirfd` whose names pass `keep` and that are directories (`dirs`) or
 * regular files (symlinks followed for the type only), sorted by name: a new array of
 * strings, or NULL with err set (a message naming the bank; ENOMEM or the listing's errno). */
json_t *ctxd_mb_list(int dirfd, bool dirs, bool (*keep)(const char *), struct ctxd_error *err);

/* The bank's *.md files with safe names, sorted (a new array of strings), or NULL with err
 * set. */
json_t *ctxd_mb_files(int dirfd, struct ctxd_error *err);

/* Read bank file `name` in `dirfd` (at most CTXD_MB_FILE_MAX). Only a regular file is read,
 * and never by following a symlink: the name is checked before it is opened (O_NONBLOCK)
 * and again after, so a FIFO, socket or device can neither stall the call nor be opened.
 * Returns 0 with *out (malloc'd, NUL-terminated, caller frees) and *len; -1 with errno
 * (ENOENT, EFBIG, EISDIR, ELOOP for a symlink, EINVAL for a FIFO, socket or device, EMLINK
 * for a file with several links under sandbox.hardlinks: refuse, ...). Any thread. */
int ctxd_mb_read_file(int dirfd, const char *name, char **out, size_t *len);

/* errno for a file of mode `m` that is not regular: EISDIR for a directory, EINVAL for the
 * rest (FIFO, socket, device); ctxd_mb_read_error tells them apart again. */
int ctxd_mb_not_regular_errno(mode_t m);

/* A sentence saying why ctxd_mb_read_file failed on `name` in `dirfd` with errno `e`
 * ("'x.md' is a FIFO (named pipe), not a regular file; ..."), written to `buf` (`n` bytes,
 * truncated to fit) and returned. Any thread. */
const char *ctxd_mb_read_error(int dirfd, const char *name, int e, char *buf, size_t n);

#endif
