/* sandbox_priv.h - what sandbox.c (roots, locate, open) and sandbox_walk.c (the
 * component-by-component walk: the fallback without openat2 and the retry of absolute
 * symlinks) share. Internal to the platform layer.
 */
#ifndef CTXD_SANDBOX_PRIV_H
#define CTXD_SANDBOX_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctxd/error.h"
#include "ctxd/sandbox.h"

/* Same limit as the kernel (MAXSYMLINKS). */
#define MAX_SYMLINKS 40
/* Deepest directory stack the walk keeps (each entry is a dev/ino pair). */
#define MAX_WALK_DEPTH 4096
/* How much of a user path goes into an error message. */
#define SHOW_MAX 200
/* Why an empty root set is empty when nobody said otherwise (ctxd_sandbox_set_note). */
#define NO_ROOTS_NOTE                                                                              \
	"no directory is configured: start ctxd with one (ctxd DIR) or list it under roots: "      \
	"in the config file"

/* A root plus the other spellings it was configured with (merged duplicates). The public
 * part comes first so a `struct ctxd_root *` can be handed out. Entries are allocated one
 * by one so borrowed pointers stay valid while more roots are added. */
struct root_entry {
	struct ctxd_root pub;
	char **aliases; /* further `given` paths of merged duplicates, owned */
	size_t naliases;
};

/* sandbox.c */
/* Lexically clean `in` (`len` bytes, no NUL inside) into `out` (at least len + 2 bytes):
 * runs of '/' collapse, "." components go, trailing '/' goes, ".." stays. */
void ctxd_sb_clean_path(const char *in, size_t len, char *out);
/* The part of the absolute `p` below root `e` (or one of its aliases), with its length in
 * *plen; NULL when `p` is not under it. */
const char *ctxd_sb_under_root(const char *p, const struct root_entry *e, size_t *plen);

/* sandbox_walk.c */
/* Open `rel` beneath `base` (root `root`) by walking one component at a time with
 * O_NOFOLLOW, following symlinks ourselves; `flags`/`mode` apply to the last component (not
 * followed when `nofollow_last`). Returns a new fd or -errno. Any thread. */
int ctxd_sb_walk_open(int base, const struct root_entry *root, const char *rel, int flags,
		      mode_t mode, bool nofollow_last);

#endif
