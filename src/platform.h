/* platform.h - the operating-system primitives the sandbox needs, behind one seam.
 *
 * Each build links exactly one implementation: src/platform_linux.c (openat2 with
 * RESOLVE_BENEATH, Landlock) or src/platform_portable.c (neither: the sandbox's own
 * O_NOFOLLOW component walk confines paths, and there is no kernel sandbox). meson picks
 * the portable one for any system other than Linux and, on Linux, with -Dportable=true.
 * The change watcher's platform half is the other seam (src/watch_os.h). A port to another
 * system adds its own file here (e.g. FreeBSD's O_RESOLVE_BENEATH, macOS without either)
 * and touches nothing above. Internal to src/: not part of include/.
 */
#ifndef CTXD_PLATFORM_H
#define CTXD_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "ctxd/error.h"

/* Open `rel` beneath the directory `dirfd` with the kernel refusing every step that leaves
 * it (`..` above dirfd, absolute symlinks, symlinks out, magic links). `flags` are open(2)
 * flags (O_CLOEXEC is added; `mode` is used with O_CREAT/O_TMPFILE); `nofollow_last` adds
 * O_NOFOLLOW. Returns a new fd (caller closes) or -errno: -EXDEV/-ELOOP for a refused
 * escape, -ENOSYS when this system has no such call (the caller then walks the path
 * itself, and keeps walking). Thread-safe. */
int ctxd_plat_open_beneath(int dirfd, const char *rel, int flags, mode_t mode, bool nofollow_last);

/* Like ctxd_plat_open_beneath for reading (`flags` without O_CREAT/O_TMPFILE), but only
 * when the whole lookup can be served from the kernel's caches, so that the call never
 * waits for a disk or a network filesystem (openat2 RESOLVE_CACHED, Linux 5.12). Returns
 * a new fd or -errno; -EAGAIN when the lookup would need I/O or this system cannot promise
 * that (the caller then opens it the ordinary way, on a worker). Thread-safe. */
int ctxd_plat_open_cached(int dirfd, const char *rel, int flags);

/* One directory the kernel sandbox admits: `fd` an open directory (or file) descriptor,
 * borrowed; `path` for messages; `writable` grants every right, else read only. */
struct ctxd_plat_grant {
	int fd;
	const char *path;
	bool writable;
};

/* Build a kernel sandbox ruleset (Landlock) that admits `grants` (n of them) and, read only,
 * the paths in `extra_ro` (NULL-terminated, may be NULL; a missing one is skipped with a
 * warning). Returns the ruleset's fd (caller closes), or -1 with `err` set (code 0) saying
 * why only path confinement applies: the kernel lacks the sandbox, it is disabled, or this
 * build has none (platform_portable.c, sys_errno ENOSYS). Thread-safe. */
int ctxd_plat_confine_ruleset(const struct ctxd_plat_grant *grants, size_t n,
			      const char *const *extra_ro, struct ctxd_error *err);

/* Restrict the calling thread, and threads it creates later, to `ruleset` (also sets
 * no-new-privileges). Returns 0, or -1 with errno set (ENOSYS in a build without a kernel
 * sandbox). Thread-safe. */
int ctxd_plat_confine_enforce(int ruleset);

#endif
