/* test.h - the unit tests' one harness (tests/harness.c, built once as a static library and
 * linked into every unit test): assertion macros, a runner, temporary directories, and file
 * tree builders and removal. Single-threaded helpers unless said otherwise; every helper
 * aborts with the file and line of the failed call on failure (exit 77 = skip). libc only,
 * so a test of any layer can link it. */
#ifndef CTXD_TEST_H
#define CTXD_TEST_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ASSERT(expr)                                                                               \
	do {                                                                                       \
		if (!(expr)) {                                                                     \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__, __LINE__,       \
				#expr);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define ASSERT_EQ(a, b)                                                                            \
	do {                                                                                       \
		long long a_ = (long long)(a), b_ = (long long)(b);                                \
		if (a_ != b_) {                                                                    \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", __FILE__,        \
				__LINE__, #a, #b, a_, b_);                                         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define ASSERT_STR_EQ(a, b)                                                                        \
	do {                                                                                       \
		const char *a_ = (a), *b_ = (b);                                                   \
		if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                           \
			fprintf(stderr, "%s:%d: %s == %s failed: \"%s\" != \"%s\"\n", __FILE__,    \
				__LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");         \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

#define ASSERT_CONTAINS(hay, needle)                                                               \
	do {                                                                                       \
		const char *h_ = (hay), *n_ = (needle);                                            \
		if (!h_ || !strstr(h_, n_)) {                                                      \
			fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__,       \
				__LINE__, h_ ? h_ : "(null)", n_);                                 \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* ---- the runner ---- */

/* Start one test case: prints "-- name" on stderr, so that a failure's output says which
 * case it came from. RUN(fn) and RUN_ARG(fn, arg) announce the case after the function's
 * name and call it (with `arg`: any type fn takes). */
void test_case(const char *name);
#define RUN(fn)                                                                                    \
	do {                                                                                       \
		test_case(#fn);                                                                    \
		fn();                                                                              \
	} while (0)
#define RUN_ARG(fn, arg)                                                                           \
	do {                                                                                       \
		test_case(#fn);                                                                    \
		fn(arg);                                                                           \
	} while (0)

/* ---- temporary directories ---- */

/* Where a test creates its temporary files: $CTXD_TEST_SCRATCH (scripts/test.sh points it
 * at a tmpfs when there is one; see tests/README.md), else $CTXD_TEST_TMP (the build
 * directory, set by meson), else $TMPDIR, else /tmp. The string belongs to the
 * environment. */
const char *test_tmp_base(void);

/* Make a fresh directory `name`-XXXXXX under test_tmp_base() and write its canonical path
 * (symlinks resolved) into `out` (`cap` bytes). Aborts on failure (or when it does not
 * fit). Remove it with tree_rm_rf(). */
void test_tmp_root(char *out, size_t cap, const char *name);

/* ---- file trees ----
 * Every path is `dir`/`rel`, or `rel` alone when `dir` is NULL. */

/* Create (or truncate) the file and write `len` bytes of `data` into it (mode 0644 less the
 * umask). */
void tree_write(const char *dir, const char *rel, const void *data, size_t len);

/* tree_write() of the NUL-terminated string `s`. */
void tree_put(const char *dir, const char *rel, const char *s);

/* mkdir(0755) that must succeed (the directory must not exist yet). */
void tree_mkdir(const char *dir, const char *rel);

/* mkdir -p: every missing directory of the path, 0755; existing ones are fine. */
void tree_mkdirs(const char *dir, const char *rel);

/* symlink(target, path) that must succeed. */
void tree_symlink(const char *target, const char *dir, const char *rel);

/* Whether the path names anything (lstat: a dangling symlink exists). */
bool tree_exists(const char *dir, const char *rel);

/* The whole file, malloc'd and NUL-terminated (the caller frees it); its size in *len when
 * `len` is not NULL. NULL when it cannot be opened (errno says why); aborts on a read
 * error. */
char *tree_slurp(const char *dir, const char *rel, size_t *len);

/* rm -rf without following symlinks. 0 when everything went, -1 when something could not be
 * removed (or `path` did not exist). */
int tree_rm_rf(const char *path);

/* The frames an engine under test sent through its deps.send, in order (owned). */
struct test_frames {
	char **v;
	size_t n;
};

/* A ctxd_send_fn: append `buf` (taken; `len` bytes) to the struct test_frames `ud`. */
void test_frames_send(void *ud, char *buf, size_t len);

/* Free every frame of `f`, leaving it empty. */
void test_frames_clear(struct test_frames *f);

/* The first frame of `f` holding `a` (and `b`, when not NULL), or NULL. */
const char *test_frames_find(const struct test_frames *f, const char *a, const char *b);

#endif
