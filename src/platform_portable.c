/* platform_portable.c - the sandbox's primitives where the kernel offers none (see
 * platform.h): every confined open is left to the sandbox's O_NOFOLLOW component walk
 * (src/sandbox.c, walk_open), and there is no kernel sandbox, which the server says in its
 * log at start-up. Linked on systems other than Linux, and on Linux with -Dportable=true.
 */
#include "platform.h"

#include <errno.h>

int ctxd_plat_open_beneath(int dirfd, const char *rel, int flags, mode_t mode, bool nofollow_last)
{
	(void)dirfd;
	(void)rel;
	(void)flags;
	(void)mode;
	(void)nofollow_last;
	return -ENOSYS;
}

int ctxd_plat_open_cached(int dirfd, const char *rel, int flags)
{
	(void)dirfd;
	(void)rel;
	(void)flags;
	return -EAGAIN; /* no way to know that an open will not wait */
}

int ctxd_plat_confine_ruleset(const struct ctxd_plat_grant *grants, size_t n,
			      const char *const *extra_ro, struct ctxd_error *err)
{
	(void)grants;
	(void)n;
	(void)extra_ro;
	ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOSYS,
			     "this build of ctxd has no kernel sandbox (built portable: "
			     "-Dportable=true, or a system without Landlock); only path "
			     "confinement applies");
	return -1;
}

int ctxd_plat_confine_enforce(int ruleset)
{
	(void)ruleset;
	errno = ENOSYS;
	return -1;
}
