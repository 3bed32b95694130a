/* platform_linux.c - the sandbox's primitives on Linux: openat2(RESOLVE_BENEATH) for
 * kernel-confined opens, Landlock for the kernel sandbox (see platform.h). The portable
 * build links src/platform_portable.c instead.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ctxd/log.h"

/* Older uapi headers (Debian 12 ships 6.1) stop at ABI 2. */
#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif

#define ERRBUF 128

/* strerror, thread-safe (GNU strerror_r may return a static string instead of `buf`). */
static const char *errstr(int e, char *buf)
{
	return strerror_r(e, buf, ERRBUF);
}

/* ---- openat2 --------------------------------------------------------------------------- */

int ctxd_plat_open_beneath(int dirfd, const char *rel, int flags, mode_t mode, bool nofollow_last)
{
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(unsigned int)(flags | O_CLOEXEC | (nofollow_last ? O_NOFOLLOW : 0));
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE) {
		how.mode = mode;
	}
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
	/* EAGAIN means a concurrent rename raced a ".." lookup; the kernel asks for a retry. */
	for (int tries = 0;; tries++) {
		long r = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
		if (r >= 0) {
			return (int)r;
		}
		if (errno == EINTR || (errno == EAGAIN && tries < 16)) {
			continue;
		}
		return -errno;
	}
}

int ctxd_plat_open_cached(int dirfd, const char *rel, int flags)
{
	struct open_how how;
	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)(unsigned int)(flags | O_CLOEXEC);
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_CACHED;
	long r = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (r >= 0) {
		return (int)r;
	}
	/* EINVAL: a kernel without RESOLVE_CACHED; ENOSYS: without openat2 */
	return errno == EINVAL || errno == ENOSYS ? -EAGAIN : -errno;
}

/* ---- Landlock -------------------------------------------------------------------------- */

/* Every filesystem right Landlock ABI `abi` knows. */
static uint64_t landlock_fs_rights(long abi)
{
	uint64_t r = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* ABI 1: bits 0..12 */
	if (abi >= 2) {
		r |= LANDLOCK_ACCESS_FS_REFER;
	}
	if (abi >= 3) {
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	}
	if (abi >= 5) {
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	}
	return r;
}

/* Rights that make sense on a non-directory (Landlock refuses directory rights there). */
#define FILE_RIGHTS                                                                                \
	(LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |                              \
	 LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_TRUNCATE |                              \
	 LANDLOCK_ACCESS_FS_IOCTL_DEV)

static int add_rule(int ruleset, int fd, uint64_t rights)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		rights &= FILE_RIGHTS;
	}
	struct landlock_path_beneath_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.allowed_access = rights;
	attr.parent_fd = fd;
	return (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0);
}

int ctxd_plat_confine_ruleset(const struct ctxd_plat_grant *grants, size_t n,
			      const char *const *extra_ro, struct ctxd_error *err)
{
	char buf[ERRBUF];
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 0) {
		int e = errno;
		if (e == EOPNOTSUPP) {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
					     "Landlock is disabled in this kernel (not "
					     "in the lsm= list); only path confinement applies");
		} else {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
					     "Landlock is unavailable (%s); only path "
					     "confinement applies",
					     errstr(e, buf));
		}
		return -1;
	}
	uint64_t all = landlock_fs_rights(abi);
	uint64_t ro = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	uint64_t rw = all & ~(uint64_t)LANDLOCK_ACCESS_FS_IOCTL_DEV;

	struct landlock_ruleset_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = all;
	int rs = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (rs < 0) {
		int e = errno;
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
				     "Landlock ruleset creation failed (ABI %ld): %s", abi,
				     errstr(e, buf));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (add_rule(rs, grants[i].fd, grants[i].writable ? rw : ro) < 0) {
			int e = errno;
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
					     "Landlock rule for root %s failed: %s", grants[i].path,
					     errstr(e, buf));
			close(rs);
			return -1;
		}
	}
	for (size_t i = 0; extra_ro && extra_ro[i]; i++) {
		int fd = open(extra_ro[i], O_PATH | O_CLOEXEC);
		if (fd < 0) {
			ctxd_warn("Landlock: skipping read-only path %s: %s", extra_ro[i],
				  errstr(errno, buf));
			continue;
		}
		int rc = add_rule(rs, fd, ro);
		int e = errno;
		close(fd);
		if (rc < 0) {
			ctxd_error_set_errno(err, CTXD_ERR_TOOL, e,
					     "Landlock rule for %s failed: %s", extra_ro[i],
					     errstr(e, buf));
			close(rs);
			return -1;
		}
	}
	return rs;
}

int ctxd_plat_confine_enforce(int ruleset)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    syscall(SYS_landlock_restrict_self, ruleset, 0) < 0) {
		return -1;
	}
	return 0;
}
