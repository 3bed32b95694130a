/* fuzz_glob.c - the path glob (ctxd_fs_glob_*), .gitignore (ctxd_fs_ignore_*) and brace
 * expansion (ctxd_fs_brace_expand) matchers of the file tools.
 *
 * Input: the first byte picks the matcher (value % 3), the rest is
 *   0  PATTERN '\n' PATH '\n' PATH ...        a path glob against each path
 *   1  GITIGNORE-TEXT '\0' PATH '\n' PATH ...  a .gitignore against each path (a trailing
 *                                             '/' marks a directory)
 *   2  PATTERN '\n' PATH '\n' PATH ...        brace expansion, each alternative as a glob
 * Checked besides "no crash, no sanitizer report, no leak, no timeout":
 *   - a glob longer than CTXD_FS_GLOB_MAX is refused (-E2BIG), every other one compiles;
 *   - every match agrees with a reference matcher (a plain dynamic program over pattern
 *     and path components, written independently of the iterative one) when the table
 *     is small;
 *   - a glob without glob characters matches exactly the path it spells;
 *   - gitignore: the same path gets the same answer twice, the same as trying every rule
 *     from the last back (the compiled buckets against the plain reading); the text plus a
 *     last rule "*" ignores every path, plus "!*" none;
 *   - brace expansion: at most 64 alternatives, each no longer than the pattern, and
 *     -E2BIG exactly when the pattern is longer than CTXD_FS_GLOB_MAX.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/tools/fs_ignore.h"
#include "../../src/tools/fs_priv.h"
#include "../../src/tools/fs_walk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_MAX_CELLS 65536

static void bad(const char *why, const char *pat, size_t plen, const char *path, size_t len)
{
	fprintf(stderr, "%s\npattern (%zu bytes): %.*s\npath (%zu bytes): %.*s\n", why, plen,
		(int)(plen > 300 ? 300 : plen), pat, len, (int)(len > 300 ? 300 : len), path);
	abort();
}

/* Split `s` (len bytes) at '/' into NUL-terminated pieces of a new buffer; *n pieces. */
static char **split(const char *s, size_t len, size_t *n, char **buf)
{
	*buf = malloc(len + 1);
	size_t cnt = 1;
	for (size_t i = 0; i < len; i++) {
		cnt += s[i] == '/';
	}
	char **v = malloc(cnt * sizeof(*v));
	if (!*buf || !v) {
		free(*buf);
		free(v);
		*buf = NULL;
		return NULL;
	}
	memcpy(*buf, s, len);
	(*buf)[len] = '\0';
	size_t k = 0;
	v[k++] = *buf;
	for (size_t i = 0; i < len; i++) {
		if ((*buf)[i] == '/') {
			(*buf)[i] = '\0';
			v[k++] = *buf + i + 1;
		}
	}
	*n = cnt;
	return v;
}

/* The reference: pattern components (a trailing "**" is "*" then "**"), "**" = zero or
 * more path components, anything else one component by fnmatch. -1 when the table would
 * be too big to build. */
static int ref_match(const char *pat, size_t plen, const char *path, size_t len)
{
	if (memchr(pat, '\0', plen)) {
		return 0;
	}
	char *pb, *sb;
	size_t np, ns;
	char **pc = split(pat, plen, &np, &pb);
	char **sc = split(path, len, &ns, &sb);
	int res = -1;
	const char *comp[2 * CTXD_FS_GLOB_MAX + 4];
	bool star[2 * CTXD_FS_GLOB_MAX + 4];
	size_t n = 0;
	if (!pc || !sc) {
		goto out;
	}
	for (size_t i = 0; i < np; i++) {
		if (pc[i][0] == '\0') {
			res = 0;
			goto out;
		}
		bool s2 = strcmp(pc[i], "**") == 0;
		if (s2 && i + 1 == np) {
			comp[n] = "*";
			star[n++] = false;
		}
		comp[n] = pc[i];
		star[n++] = s2;
	}
	if ((n + 1) * (ns + 1) > REF_MAX_CELLS) {
		goto out;
	}
	/* dp[p * (ns + 1) + i]: comp[p..] matches path components [i..] */
	bool *dp = calloc((n + 1) * (ns + 1), 1);
	if (!dp) {
		goto out;
	}
	dp[n * (ns + 1) + ns] = true;
	for (size_t p = n; p-- > 0;) {
		for (size_t i = ns + 1; i-- > 0;) {
			bool v;
			if (star[p]) {
				v = dp[(p + 1) * (ns + 1) + i] ||
				    (i < ns && dp[p * (ns + 1) + i + 1]);
			} else {
				v = i < ns && dp[(p + 1) * (ns + 1) + i + 1] &&
				    fnmatch(comp[p], sc[i], 0) == 0;
			}
			dp[p * (ns + 1) + i] = v;
		}
	}
	res = dp[0];
	free(dp);
out:
	free(pc);
	free(pb);
	free(sc);
	free(sb);
	return res;
}

/* The pieces of `s` separated by '\n', each handed to fn. */
static void each_line(const char *s, size_t n, void (*fn)(void *ud, const char *p, size_t len),
		      void *ud)
{
	while (n > 0) {
		const char *nl = memchr(s, '\n', n);
		size_t l = nl ? (size_t)(nl - s) : n;
		fn(ud, s, l);
		if (!nl) {
			break;
		}
		s += l + 1;
		n -= l + 1;
	}
}

struct glob_case {
	const struct ctxd_fs_glob *g;
	const char *pat;
	size_t plen;
};

static void glob_one(void *ud, const char *path, size_t len)
{
	const struct glob_case *c = ud;
	if (memchr(path, '\0', len)) {
		return; /* no path holds a NUL byte */
	}
	bool m = ctxd_fs_glob_match(c->g, path, len);
	if (len < CTXD_PATH_MAX) {
		int r = ref_match(c->pat, c->plen, path, len);
		if (r >= 0 && r != (int)m) {
			bad(m ? "matched, the reference did not"
			      : "the reference matched, the glob not",
			    c->pat, c->plen, path, len);
		}
	}
}

/* Compile `pat` and match it against every path in `paths`. */
static void glob_case(const char *pat, size_t plen, const char *paths, size_t n)
{
	struct ctxd_fs_glob *g = NULL;
	int rc = ctxd_fs_glob_compile(pat, plen, &g);
	if (plen > CTXD_FS_GLOB_MAX) {
		if (rc != -E2BIG) {
			bad("an over-long glob was not refused", pat, plen, "", 0);
		}
		return;
	}
	if (rc == -ENOMEM) {
		return;
	}
	if (rc != 0 || !g) {
		bad("a glob within the length cap did not compile", pat, plen, "", 0);
	}
	struct glob_case c = {g, pat, plen};
	each_line(paths, n, glob_one, &c);
	/* a pattern without glob characters matches the path it spells */
	bool plain = plen > 0 && !memchr(pat, '\0', plen);
	for (size_t i = 0; plain && i < plen; i++) {
		plain =
		    !strchr("*?[\\", pat[i]) && !(pat[i] == '/' && (i == 0 || pat[i - 1] == '/'));
	}
	if (plain && pat[plen - 1] != '/' && !ctxd_fs_glob_match(g, pat, plen)) {
		bad("a plain glob does not match its own text", pat, plen, pat, plen);
	}
	ctxd_fs_glob_free(g);
}

struct ignore_case {
	struct ctxd_fs_ignore *ig, *all, *none;
};

static void ignore_one(void *ud, const char *path, size_t len)
{
	const struct ignore_case *c = ud;
	bool dir = len > 0 && path[len - 1] == '/';
	if (dir) {
		len--;
	}
	if (len == 0 || len >= CTXD_PATH_MAX || memchr(path, '\0', len)) {
		return;
	}
	bool a = ctxd_fs_ignore_path(c->ig, path, len, dir, NULL);
	if (ctxd_fs_ignore_path(c->ig, path, len, dir, NULL) != a) {
		bad("two answers for one path", "", 0, path, len);
	}
	if (ctxd_fs_ignore_path_linear(c->ig, path, len, dir) != a) {
		bad("the compiled rules and the rules one by one disagree", "", 0, path, len);
	}
	if (c->all && !ctxd_fs_ignore_path(c->all, path, len, dir, NULL)) {
		bad("a last rule '*' did not ignore the path", "", 0, path, len);
	}
	if (c->none && ctxd_fs_ignore_path(c->none, path, len, dir, NULL)) {
		bad("a last rule '!*' did not keep the path", "", 0, path, len);
	}
}

/* `text` plus `rule` on a line of its own, as a matcher. */
static struct ctxd_fs_ignore *with_rule(const char *text, size_t n, const char *rule)
{
	size_t rl = strlen(rule);
	char *t = malloc(n + rl + 2);
	if (!t) {
		return NULL;
	}
	memcpy(t, text, n);
	t[n] = '\n';
	memcpy(t + n + 1, rule, rl + 1);
	struct ctxd_fs_ignore *ig = ctxd_fs_ignore_create_text(t, n + 1 + rl);
	free(t);
	return ig;
}

static void ignore_case(const char *text, size_t n, const char *paths, size_t pn)
{
	struct ignore_case c = {ctxd_fs_ignore_create_text(text, n), with_rule(text, n, "*"),
				with_rule(text, n, "!*")};
	if (c.ig) {
		each_line(paths, pn, ignore_one, &c);
	}
	ctxd_fs_ignore_destroy(c.ig);
	ctxd_fs_ignore_destroy(c.all);
	ctxd_fs_ignore_destroy(c.none);
}

struct brace_case {
	size_t plen, count;
	const char *pat, *paths;
	size_t n;
};

static int brace_emit(void *ud, const char *p, size_t len)
{
	struct brace_case *c = ud;
	c->count++;
	if (len > c->plen) {
		bad("an alternative is longer than its pattern", c->pat, c->plen, p, len);
	}
	glob_case(p, len, c->paths, c->n);
	return 0;
}

static void brace_case(const char *pat, size_t plen, const char *paths, size_t n)
{
	char *z = malloc(plen + 1); /* ctxd_fs_brace_expand takes a C string */
	if (!z) {
		return;
	}
	memcpy(z, pat, plen);
	z[plen] = '\0';
	size_t zl = strlen(z);
	struct brace_case c = {.plen = zl, .pat = z, .paths = paths, .n = n};
	size_t budget = 64;
	int rc = ctxd_fs_brace_expand(z, &budget, brace_emit, &c);
	if ((rc == -E2BIG) != (zl > CTXD_FS_GLOB_MAX)) {
		bad("-E2BIG does not follow the length cap", z, zl, "", 0);
	}
	if (c.count > 64 || (rc == 0 && c.count == 0)) {
		bad("alternatives out of 1..64", z, zl, "", 0);
	}
	free(z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0) {
		return 0;
	}
	unsigned mode = data[0] % 3;
	const char *s = (const char *)data + 1;
	size_t n = size - 1;
	const char *sep = memchr(s, mode == 1 ? '\0' : '\n', n);
	size_t head = sep ? (size_t)(sep - s) : n;
	const char *rest = sep ? sep + 1 : s + n;
	size_t rn = sep ? n - head - 1 : 0;
	switch (mode) {
	case 0:
		glob_case(s, head, rest, rn);
		break;
	case 1:
		ignore_case(s, head, rest, rn);
		break;
	default:
		brace_case(s, head, rest, rn);
		break;
	}
	return 0;
}
