/* openat2_shim.c - for instruction counts under valgrind only (bench/RESULTS.md, "Small
 * calls, third round"): valgrind 3.19 does not know openat2(2) and fails it with ENOSYS,
 * so ctxd's loop-thread attempt for small reads (openat2 RESOLVE_CACHED) never runs under
 * callgrind. Preloaded, this maps syscall(SYS_openat2, ...) to openat(2) with the same
 * flags - without RESOLVE_BENEATH's confinement, so never use it outside a measurement.
 *
 * Build: cc -O2 -shared -fPIC -o openat2_shim.so openat2_shim.c -ldl
 * Use:   env LD_PRELOAD=$PWD/openat2_shim.so valgrind --tool=callgrind ctxd DIR
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <sys/syscall.h>

long syscall(long n, ...)
{
	va_list ap;
	va_start(ap, n);
	long a[6];
	for (int i = 0; i < 6; i++) {
		a[i] = va_arg(ap, long);
	}
	va_end(ap);
	if (n == SYS_openat2) {
		const struct open_how *h = (const struct open_how *)a[2];
		return openat((int)a[0], (const char *)a[1], (int)h->flags, (int)h->mode);
	}
	static long (*real)(long, ...);
	if (!real) {
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	}
	return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}
