/* harness.c - the unit tests' one harness: see test.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>

#include "test.h"

void test_case(const char *name)
{
	fprintf(stderr, "-- %s\n", name);
}

const char *test_tmp_base(void)
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

void test_tmp_root(char *out, size_t cap, const char *name)
{
	char tmpl[PATH_MAX];
	ASSERT(snprintf(tmpl, sizeof(tmpl), "%s/%s-XXXXXX", test_tmp_base(), name) <
	       (int)sizeof(tmpl));
	ASSERT(mkdtemp(tmpl));
	/* realpath() may write PATH_MAX bytes: resolve into a buffer that large */
	char canon[PATH_MAX];
	ASSERT(realpath(tmpl, canon));
	ASSERT(strlen(canon) < cap);
	snprintf(out, cap, "%s", canon);
}

/* `dir`/`rel` (or `rel`) into p (PATH_MAX bytes); aborts when it does not fit. */
static void join(char *p, const char *dir, const char *rel)
{
	int n = dir ? snprintf(p, PATH_MAX, "%s/%s", dir, rel) : snprintf(p, PATH_MAX, "%s", rel);
	ASSERT(n >= 0 && n < PATH_MAX);
}

void tree_write(const char *dir, const char *rel, const void *data, size_t len)
{
	char p[PATH_MAX];
	join(p, dir, rel);
	FILE *f = fopen(p, "wb");
	if (!f) {
		fprintf(stderr, "test_write: cannot create %s: %s\n", p, strerror(errno));
		abort();
	}
	ASSERT_EQ(fwrite(data, 1, len, f), len);
	ASSERT_EQ(fclose(f), 0);
}

void tree_put(const char *dir, const char *rel, const char *s)
{
	tree_write(dir, rel, s, strlen(s));
}

void tree_mkdir(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	join(p, dir, rel);
	if (mkdir(p, 0755) != 0) {
		fprintf(stderr, "test_mkdir: %s: %s\n", p, strerror(errno));
		abort();
	}
}

void tree_mkdirs(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	join(p, dir, rel);
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) != 0 && errno != EEXIST) {
				fprintf(stderr, "test_mkdirs: %s: %s\n", p, strerror(errno));
				abort();
			}
			*s = c;
			if (!c) {
				break;
			}
		}
	}
}

void tree_symlink(const char *target, const char *dir, const char *rel)
{
	char p[PATH_MAX];
	join(p, dir, rel);
	if (symlink(target, p) != 0) {
		fprintf(stderr, "test_symlink: %s -> %s: %s\n", p, target, strerror(errno));
		abort();
	}
}

bool tree_exists(const char *dir, const char *rel)
{
	char p[PATH_MAX];
	struct stat st;
	join(p, dir, rel);
	return lstat(p, &st) == 0;
}

char *tree_slurp(const char *dir, const char *rel, size_t *len)
{
	char p[PATH_MAX];
	join(p, dir, rel);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ASSERT(buf);
	for (;;) {
		if (n + 1 >= cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			ASSERT(buf);
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		ASSERT(r >= 0);
		if (r == 0) {
			break;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len) {
		*len = n;
	}
	return buf;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

int tree_rm_rf(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) == 0 ? 0 : -1;
}

void test_frames_send(void *ud, char *buf, size_t len)
{
	struct test_frames *f = ud;
	(void)len;
	char **v = realloc(f->v, (f->n + 1) * sizeof(*v));
	ASSERT(v);
	f->v = v;
	f->v[f->n++] = buf;
}

void test_frames_clear(struct test_frames *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->v[i]);
	}
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

const char *test_frames_find(const struct test_frames *f, const char *a, const char *b)
{
	for (size_t i = 0; i < f->n; i++) {
		if (strstr(f->v[i], a) && (!b || strstr(f->v[i], b))) {
			return f->v[i];
		}
	}
	return NULL;
}
