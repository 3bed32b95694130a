/* test.h - tiny assertion macros for unit tests (libuv task.h style). Exit 77 = skip. */
#ifndef CTXD_TEST_H
#define CTXD_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ASSERT(expr)                                                                        \
	do {                                                                                \
		if (!(expr)) {                                                              \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__, \
				#expr);                                                     \
			abort();                                                            \
		}                                                                           \
	} while (0)

#define ASSERT_EQ(a, b)                                                                     \
	do {                                                                                \
		long long a_ = (long long)(a), b_ = (long long)(b);                         \
		if (a_ != b_) {                                                             \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,  \
				__LINE__, #a, #b, a_, b_);                                  \
			abort();                                                            \
		}                                                                           \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                                 \
	do {                                                                                \
		const char *a_ = (a), *b_ = (b);                                            \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                    \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__, \
				__LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");  \
			abort();                                                            \
		}                                                                           \
	} while (0)

#define ASSERT_CONTAINS(hay, needle)                                                        \
	do {                                                                                \
		const char *h_ = (hay), *n_ = (needle);                                     \
		if (!h_ || !strstr(h_, n_)) {                                               \
			fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,  \
				__LINE__, h_ ? h_ : "(null)", n_);                          \
			abort();                                                            \
		}                                                                           \
	} while (0)

/* Where a test creates its temporary files: $CTXD_TEST_SCRATCH (scripts/test.sh points it
 * at a tmpfs when there is one; see tests/README.md), else $CTXD_TEST_TMP (the build
 * directory, set by meson), else $TMPDIR, else /tmp. */
static inline const char *test_tmp_base(void)
{
	const char *vars[] = {"CTXD_TEST_SCRATCH", "CTXD_TEST_TMP", "TMPDIR"};
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *v = getenv(vars[i]);
		if (v && *v) {
			return v;
		}
	}
	return "/tmp";
}

#define RUN(fn)                                                                             \
	do {                                                                                \
		fprintf(stderr, "-- %s\n", #fn);                                            \
		fn();                                                                       \
	} while (0)

/* Make a fresh directory `name`-XXXXXX under test_tmp_base() and
 * write its canonical path (symlinks resolved) into `out` (`cap` bytes). Aborts on
 * failure. */
#include <limits.h>
#include <unistd.h>
static inline void test_tmp_root(char *out, size_t cap, const char *name)
{
	char tmpl[PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/%s-XXXXXX", test_tmp_base(), name);
	ASSERT(mkdtemp(tmpl));
	/* realpath() may write PATH_MAX bytes: resolve into a buffer that large */
	char canon[PATH_MAX];
	ASSERT(realpath(tmpl, canon));
	ASSERT(strlen(canon) < cap);
	snprintf(out, cap, "%s", canon);
}

#endif
