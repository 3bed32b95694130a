/* fs_write.c - the writing file tools: write_file, edit_file, append_file, copy_file,
 * move_file, delete_file, create_directory.
 *
 * Confinement: every change is made with *at() calls on a directory fd that
 * ctxd_sandbox_open_parent returned, so the kernel resolved (and confined) every component
 * but the last one, and the last one is acted on as a name in that directory. Tools that
 * change a file's content (write, edit, append, copy's destination) follow a final symlink
 * only when its target lies inside a root: the target is re-located through the sandbox
 * like a user path, so a link pointing outside (dangling or not) is refused and nothing is
 * ever created outside. move_file and delete_file act on a link itself.
 *
 * Every change of a directory entry (replace, create, rename, unlink) holds that
 * directory's write lock (ctxd_dir_lock, an flock shared with the memory bank and other
 * ctxd processes) from before the file is read until after the rename, so concurrent
 * writers to one file never lose a successful write and an expectedSha256 check cannot be
 * overtaken. Replacements go through ctxd_atomic_write / ctxd_atomic_begin+commit (temp
 * file, fsync, rename, fsync of the directory): append_file too, so no write ever changes an
 * inode in place - a hard link to the file keeps the old content.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/sandbox.h"
#include "fs_priv.h"

#define EDIT_MAX        ((size_t)64 << 20) /* largest file edit_file/write_file reads */
#define LINK_HOPS       8
#define DIFF_CONTEXT    3
#define DIFF_MAX_D      1500 /* Myers edit-distance bound before a coarse hunk */
#define RM_MAX_DEPTH    512

/* ---- locking, targets ------------------------------------------------------------- */

/* Take the write lock of the directory `dfd` (ctxd_dir_lock): NULL, or an error result. */
static json_t *lock_dir(int dfd, const struct ctxd_sandbox_loc *loc, struct ctxd_dir_lock *lk)
{
	struct ctxd_error err = {0};
	if (ctxd_dir_lock(dfd, lk, &err) < 0) {
		return fs_fail("'%s': %s", loc->abs, err.msg);
	}
	return NULL;
}

/* The hard-link policy for the entry `name` in `dfd`: NULL, or an error result. */
static json_t *refuse_hardlink(int dfd, const char *name, const struct ctxd_sandbox_loc *loc)
{
	struct ctxd_error err = {0};
	if (ctxd_sandbox_check_links(dfd, name, loc->abs, &err) < 0) {
		return fs_fail("%s", err.msg);
	}
	return NULL;
}

/* Why a write to `loc` is refused, or NULL when allowed. */
static json_t *refuse_read_only(const struct ctxd_sandbox_loc *loc)
{
	if (ctxd_sandbox_loc_read_only(loc)) {
		return fs_fail("'%s' is inside the read-only directory '%s'; writing tools cannot "
			       "change it",
			       loc->abs, loc->root->path);
	}
	return NULL;
}

static json_t *locate_failed(const char *what, const char *path, const struct ctxd_error *err)
{
	(void)path;
	return fs_fail("%s%s", what, err->msg);
}

/* The directory fd and final name a content write to `path` should change. A final symlink
 * is followed while its target stays inside a root (re-located as a user path, at most
 * LINK_HOPS times); otherwise the call fails. `loc` describes the final target. Returns the
 * fd (caller closes) or -1 with *res set to an error result. */
static int write_target(const struct ctxd_tool_ctx *ctx, const char *path, size_t plen,
			char name[CTXD_PATH_MAX], struct ctxd_sandbox_loc *loc, json_t **res)
{
	struct ctxd_error err = {0};
	char cur[CTXD_PATH_MAX];
	if (plen >= sizeof(cur)) {
		plen = sizeof(cur); /* the sandbox refuses it as too long */
	}
	int dfd = ctxd_sandbox_open_parent(ctx->sandbox, path, plen, name, loc, &err);
	if (dfd < 0) {
		*res = locate_failed("", path, &err);
		return -1;
	}
	for (int hop = 0;; hop++) {
		struct stat st;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode)) {
			break;
		}
		if (hop == LINK_HOPS) {
			close(dfd);
			*res = fs_fail("'%s': too many levels of symbolic links", loc->abs);
			return -1;
		}
		char target[CTXD_PATH_MAX];
		ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
		if (n < 0) {
			int e = errno;
			close(dfd);
			*res = fs_fail("cannot read the symlink '%s': %s", loc->abs, strerror(e));
			return -1;
		}
		target[n] = '\0';
		int k;
		if (target[0] == '/') {
			k = snprintf(cur, sizeof(cur), "%s", target);
		} else {
			const char *slash = strrchr(loc->abs, '/');
			int dl = slash ? (int)(slash - loc->abs) : 0;
			k = snprintf(cur, sizeof(cur), "%.*s/%s", dl, loc->abs, target);
		}
		char shown[CTXD_PATH_MAX];
		snprintf(shown, sizeof(shown), "%s", loc->abs);
		close(dfd);
		if (k < 0 || (size_t)k >= sizeof(cur)) {
			*res = fs_fail("'%s' is a symlink whose target path is too long", shown);
			return -1;
		}
		dfd = ctxd_sandbox_open_parent(ctx->sandbox, cur, (size_t)k, name, loc, &err);
		if (dfd < 0) {
			*res = fs_fail("'%s' is a symlink to '%s', which is outside the allowed "
				       "directories or not reachable (%s); refusing to write through "
				       "it",
				       shown, target, err.msg);
			return -1;
		}
	}
	if ((*res = refuse_hardlink(dfd, name, loc))) {
		close(dfd);
		return -1;
	}
	return dfd;
}

/* Read the regular file `name` in `dfd` (not following a symlink). Returns 0 with *buf
 * (caller frees) / *len, 1 when it does not exist, or -1 with *res set. */
static int read_existing(int dfd, const char *name, const struct ctxd_sandbox_loc *loc,
			 char **buf, size_t *len, mode_t *mode, json_t **res)
{
	int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		if (errno == ENOENT) {
			return 1;
		}
		int e = errno;
		*res = fs_fail("cannot open '%s': %s", loc->abs,
			       e == ELOOP ? "it is a symlink" : strerror(e));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*res = S_ISDIR(st.st_mode) ? fs_fail("'%s' is a directory, not a file", loc->abs)
					   : fs_fail("'%s' is not a regular file", loc->abs);
		return -1;
	}
	if (mode) {
		*mode = st.st_mode & 07777;
	}
	if (ctxd_read_all(fd, EDIT_MAX, buf, len) < 0) {
		int e = errno;
		close(fd);
		*res = e == EFBIG ? fs_fail("'%s' is larger than %zu MiB; refusing to load it",
					    loc->abs, EDIT_MAX >> 20)
				  : fs_fail("cannot read '%s': %s", loc->abs, strerror(e));
		return -1;
	}
	close(fd);
	return 0;
}

/* Compare `expected` with the sha256 of the current content (NULL data = missing file). */
static json_t *check_sha(const char *expected, const char *data, size_t len, bool exists,
			 const struct ctxd_sandbox_loc *loc)
{
	if (!expected) {
		return NULL;
	}
	if (!exists) {
		return fs_fail("'%s' does not exist, but expectedSha256 was given; it was deleted "
			       "or moved since it was read",
			       loc->abs);
	}
	char now[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex(data, len, now);
	if (strcasecmp(now, expected) != 0) {
		return fs_fail("'%s' changed since it was read (expectedSha256 %s, current sha256 "
			       "%s); read it again and redo the change",
			       loc->abs, expected, now);
	}
	return NULL;
}

static const char *opt_str(json_t *args, const char *key, size_t *len)
{
	json_t *j = json_object_get(args, key);
	if (!json_is_string(j)) {
		return NULL;
	}
	if (len) {
		*len = json_string_length(j);
	}
	return json_string_value(j);
}

/* ---- write_file ------------------------------------------------------------------- */

json_t *fs_write_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen, clen = 0;
	if (!fs_get_path(args, &path, &plen)) {
		return fs_fail("argument 'path' is required");
	}
	const char *content = opt_str(args, "content", &clen);
	if (!content) {
		return fs_fail("argument 'content' is required");
	}
	const char *expected = opt_str(args, "expectedSha256", NULL);
	char name[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc loc;
	json_t *res = NULL;
	int dfd = write_target(ctx, path, plen, name, &loc, &res);
	if (dfd < 0) {
		return res;
	}
	if ((res = refuse_read_only(&loc))) {
		close(dfd);
		return res;
	}
	struct ctxd_dir_lock lk;
	if ((res = lock_dir(dfd, &loc, &lk))) {
		close(dfd);
		return res;
	}
	struct stat st;
	bool exists = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (exists && S_ISDIR(st.st_mode)) {
		res = fs_fail("'%s' is a directory; write_file writes files", loc.abs);
		goto out;
	}
	if (expected) {
		char *old = NULL;
		size_t olen = 0;
		int rc = read_existing(dfd, name, &loc, &old, &olen, NULL, &res);
		if (rc < 0) {
			goto out;
		}
		res = check_sha(expected, old, olen, rc == 0, &loc);
		free(old);
		if (res) {
			goto out;
		}
	}
	struct ctxd_error err = {0};
	if (ctxd_atomic_write(dfd, name, content, clen, -1, false, &err) < 0) {
		res = fs_fail("cannot write '%s': %s", loc.abs, err.msg);
		goto out;
	}
	char sha[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex(content, clen, sha);
	char msg[CTXD_PATH_MAX + 128];
	snprintf(msg, sizeof(msg), "%s %s (%zu bytes)", exists ? "Wrote" : "Created", loc.abs,
		 clen);
	res = ctxd_tool_result(msg, json_pack("{s:s, s:I, s:s, s:b}", "path", loc.abs, "bytes",
					      (json_int_t)clen, "sha256", sha, "created",
					      !exists));
out:
	ctxd_dir_unlock(&lk);
	close(dfd);
	return res;
}

/* ---- edit_file: matching ---------------------------------------------------------- */

struct text {
	char *p;
	size_t len;
};

static void tx_free(struct text *t)
{
	free(t->p);
	t->p = NULL;
	t->len = 0;
}

/* Copy of s[0..n) with every "\r\n" turned into "\n". */
static int to_lf(const char *s, size_t n, struct text *out)
{
	out->p = malloc(n + 1);
	if (!out->p) {
		return -1;
	}
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') {
			continue;
		}
		out->p[w++] = s[i];
	}
	out->p[w] = '\0';
	out->len = w;
	return 0;
}

static int dup_n(const char *s, size_t n, struct text *out)
{
	out->p = malloc(n + 1);
	if (!out->p) {
		return -1;
	}
	memcpy(out->p, s, n);
	out->p[n] = '\0';
	out->len = n;
	return 0;
}

/* True when every '\n' is preceded by '\r' and there is at least one. */
static bool all_crlf(const char *s, size_t n)
{
	bool any = false;
	for (const char *q = memchr(s, '\n', n); q; q = memchr(q + 1, '\n', n - (size_t)(q + 1 - s))) {
		if (q == s || q[-1] != '\r') {
			return false;
		}
		any = true;
	}
	return any;
}

/* Non-overlapping occurrences of needle; positions of the first `maxpos` kept. */
static size_t count_occ(const char *h, size_t hl, const char *n, size_t nl, size_t *pos,
			size_t maxpos)
{
	size_t c = 0;
	const char *p = h, *e = h + hl;
	while ((size_t)(e - p) >= nl) {
		const char *q = memmem(p, (size_t)(e - p), n, nl);
		if (!q) {
			break;
		}
		if (c < maxpos) {
			pos[c] = (size_t)(q - h);
		}
		c++;
		p = q + nl;
	}
	return c;
}

static size_t line_of(const char *s, size_t off)
{
	size_t n = 1;
	for (const char *q = memchr(s, '\n', off); q; q = memchr(q + 1, '\n', off - (size_t)(q + 1 - s))) {
		n++;
	}
	return n;
}

/* Line table of a text: starts[i] is where line i begins; n lines (a final newline does
 * not open an empty last line). */
struct lines {
	size_t *start;
	size_t *end; /* exclusive, before '\n' */
	size_t n;
};

static int split_lines(const char *s, size_t len, struct lines *L)
{
	size_t cap = 16, n = 0;
	L->start = malloc(cap * sizeof(size_t));
	L->end = malloc(cap * sizeof(size_t));
	if (!L->start || !L->end) {
		return -1;
	}
	size_t i = 0;
	while (i < len) {
		if (n == cap) {
			cap *= 2;
			size_t *a = realloc(L->start, cap * sizeof(size_t));
			if (!a) {
				return -1;
			}
			L->start = a;
			a = realloc(L->end, cap * sizeof(size_t));
			if (!a) {
				return -1;
			}
			L->end = a;
		}
		const char *q = memchr(s + i, '\n', len - i);
		size_t e = q ? (size_t)(q - s) : len;
		L->start[n] = i;
		L->end[n] = e;
		n++;
		i = q ? e + 1 : len;
	}
	L->n = n;
	return 0;
}

static void lines_free(struct lines *L)
{
	free(L->start);
	free(L->end);
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static void trim(const char *s, size_t a, size_t b, size_t *ta, size_t *tb)
{
	while (a < b && is_ws(s[a])) {
		a++;
	}
	while (b > a && is_ws(s[b - 1])) {
		b--;
	}
	*ta = a;
	*tb = b;
}

/* Bigram Dice similarity (0..1000) between two strings, for "closest line" hints. */
static unsigned similarity(const char *a, size_t al, const char *b, size_t bl)
{
	if (al < 2 || bl < 2) {
		return al == bl && al && a[0] == b[0] ? 1000 : 0;
	}
	if (al > 400) {
		al = 400;
	}
	if (bl > 400) {
		bl = 400;
	}
	unsigned short cnt[1024];
	memset(cnt, 0, sizeof(cnt));
	unsigned prev = (unsigned char)a[0];
	for (size_t i = 1; i < al; i++) { /* each byte read once: bigram (prev, cur) */
		unsigned cur = (unsigned char)a[i];
		cnt[(prev * 31u + cur) & 1023]++;
		prev = cur;
	}
	unsigned common = 0;
	for (size_t i = 0; i + 1 < bl; i++) {
		unsigned h = ((unsigned char)b[i] * 31u + (unsigned char)b[i + 1]) & 1023;
		if (cnt[h]) {
			cnt[h]--;
			common++;
		}
	}
	return (unsigned)(2000u * common / (unsigned)(al - 1 + bl - 1));
}

/* "closest line N: "text"" for a failed edit, into `out`. */
static void closest_line(const char *s, size_t len, const char *old, size_t olen, char *out,
			 size_t n)
{
	size_t oa = 0, ob = 0;
	/* the first non-blank line of oldText */
	for (size_t i = 0; i < olen;) {
		const char *q = memchr(old + i, '\n', olen - i);
		size_t e = q ? (size_t)(q - old) : olen;
		trim(old, i, e, &oa, &ob);
		if (ob > oa) {
			break;
		}
		i = e + 1;
	}
	out[0] = '\0';
	if (ob <= oa) {
		return;
	}
	unsigned best = 0;
	size_t best_line = 0, bl_a = 0, bl_b = 0, line = 0;
	for (size_t i = 0; i < len;) {
		const char *q = memchr(s + i, '\n', len - i);
		size_t e = q ? (size_t)(q - s) : len;
		size_t a, b;
		trim(s, i, e, &a, &b);
		line++;
		if (b > a) {
			unsigned sim = similarity(old + oa, ob - oa, s + a, b - a);
			if (sim > best) {
				best = sim;
				best_line = line;
				bl_a = a;
				bl_b = b;
			}
		}
		i = e + 1;
	}
	if (best >= 300) {
		size_t show = bl_b - bl_a > 160 ? 160 : bl_b - bl_a;
		show = fs_utf8_trim(s + bl_a, show);
		snprintf(out, n, "; the closest line is %zu: \"%.*s\"", best_line, (int)show,
			 s + bl_a);
	}
}

/* Replace [a, b) of *t by r[0..rl). */
static int tx_splice(struct text *t, size_t a, size_t b, const char *r, size_t rl)
{
	size_t nl = t->len - (b - a) + rl;
	char *p = malloc(nl + 1);
	if (!p) {
		return -1;
	}
	memcpy(p, t->p, a);
	memcpy(p + a, r, rl);
	memcpy(p + a + rl, t->p + b, t->len - b);
	p[nl] = '\0';
	free(t->p);
	t->p = p;
	t->len = nl;
	return 0;
}

/* Replace every occurrence (non-overlapping) of o by r; returns 0 or -1 on ENOMEM. */
static int replace_all(struct text *t, const char *o, size_t ol, const char *r, size_t rl,
		       size_t count)
{
	size_t nl = t->len - count * ol + count * rl;
	char *p = malloc(nl + 1);
	if (!p) {
		return -1;
	}
	size_t w = 0;
	const char *s = t->p, *e = t->p + t->len;
	while (s < e) {
		const char *q = (size_t)(e - s) >= ol ? memmem(s, (size_t)(e - s), o, ol) : NULL;
		if (!q) {
			break;
		}
		memcpy(p + w, s, (size_t)(q - s));
		w += (size_t)(q - s);
		memcpy(p + w, r, rl);
		w += rl;
		s = q + ol;
	}
	memcpy(p + w, s, (size_t)(e - s));
	w += (size_t)(e - s);
	p[w] = '\0';
	free(t->p);
	t->p = p;
	t->len = w;
	return 0;
}

static size_t indent_len(const char *s, size_t a, size_t b)
{
	size_t i = a;
	while (i < b && (s[i] == ' ' || s[i] == '\t')) {
		i++;
	}
	return i - a;
}

/* newText re-indented: a line starting with oldText's first-line indent gets the matched
 * line's indent instead; other lines are kept. */
static int reindent(const char *nt, size_t nl, const char *old_ind, size_t oil,
		    const char *act_ind, size_t ail, struct ctxd_strbuf *out)
{
	for (size_t i = 0; i < nl;) {
		const char *q = memchr(nt + i, '\n', nl - i);
		size_t e = q ? (size_t)(q - nt) : nl;
		size_t a, b;
		trim(nt, i, e, &a, &b);
		if (b > a && e - i >= oil && memcmp(nt + i, old_ind, oil) == 0) {
			ctxd_strbuf_add(out, act_ind, ail);
			ctxd_strbuf_add(out, nt + i + oil, e - i - oil);
		} else {
			ctxd_strbuf_add(out, nt + i, e - i);
		}
		if (q) {
			ctxd_strbuf_add(out, "\n", 1);
		}
		i = e + 1;
	}
	if (nl == 0) {
		ctxd_strbuf_add(out, "", 0);
	}
	return out->oom ? -1 : 0;
}

/* ---- edit_file: the whitespace-tolerant match ------------------------------------- */

/* A line trimmed of blanks, as a sort key; `id` numbers the distinct keys of oldText. */
struct tline {
	const char *p;
	size_t len;
	uint32_t id;
};

static int tline_cmp(const void *a, const void *b)
{
	const struct tline *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = n ? memcmp(x->p, y->p, n) : 0;
	return c ? c : (x->len > y->len) - (x->len < y->len);
}

#define NO_LINE   UINT32_MAX
#define CANCELLED (-2)

/* The windows of lines of `t` equal to the lines of oldText after trimming: leftmost first,
 * non-overlapping (the next search starts after a window). Each line of oldText gets the
 * number of its distinct trimmed text (sort + binary search: O((N + M) log M) comparisons,
 * each bounded by its line's length, whatever the input), then Knuth-Morris-Pratt finds
 * the windows in one pass over the file's lines. The old scan compared every start with
 * up to M lines: a 1M-line file and a 100k-line oldText that misses on its last line took
 * 10^11 line comparisons. Returns the number of windows (their first-line indexes in *wins,
 * malloc'd, caller frees), -1 on ENOMEM, CANCELLED when the job was cancelled. */
static long ws_windows(const struct text *t, const struct lines *L, const char *o,
		       const struct lines *OL, const struct ctxd_job *job, size_t **wins)
{
	*wins = NULL;
	size_t m = OL->n, n = L->n;
	if (m == 0 || n < m) {
		return 0;
	}
	long found = -1;
	struct tline *keys = malloc(m * sizeof(*keys));
	uint32_t *pid = malloc(m * sizeof(*pid));
	size_t *fail = malloc(m * sizeof(*fail));
	size_t cap = 0;
	if (!keys || !pid || !fail) {
		goto out;
	}
	for (size_t j = 0; j < m; j++) {
		size_t a, b;
		trim(o, OL->start[j], OL->end[j], &a, &b);
		keys[j] = (struct tline){.p = o + a, .len = b - a, .id = (uint32_t)j};
	}
	qsort(keys, m, sizeof(*keys), tline_cmp);
	uint32_t next = 0;
	for (size_t j = 0; j < m; j++) {
		uint32_t line = keys[j].id;
		if (j > 0 && tline_cmp(&keys[j - 1], &keys[j]) != 0) {
			next++;
		}
		keys[j].id = next;
		pid[line] = next;
	}
	fail[0] = 0;
	for (size_t j = 1, k = 0; j < m; j++) {
		while (k > 0 && pid[j] != pid[k]) {
			k = fail[k - 1];
		}
		if (pid[j] == pid[k]) {
			k++;
		}
		fail[j] = k;
	}
	found = 0;
	for (size_t i = 0, q = 0; i < n; i++) {
		if ((i & 0xffff) == 0 && ctxd_job_cancelled(job)) {
			found = CANCELLED;
			goto out;
		}
		size_t a, b;
		trim(t->p, L->start[i], L->end[i], &a, &b);
		struct tline key = {.p = t->p + a, .len = b - a};
		const struct tline *hit = bsearch(&key, keys, m, sizeof(*keys), tline_cmp);
		uint32_t id = hit ? hit->id : NO_LINE;
		while (q > 0 && pid[q] != id) {
			q = fail[q - 1];
		}
		if (pid[q] == id) {
			q++;
		}
		if (q == m) {
			if ((size_t)found == cap) {
				cap = cap ? cap * 2 : 16;
				size_t *w = realloc(*wins, cap * sizeof(**wins));
				if (!w) {
					found = -1;
					goto out;
				}
				*wins = w;
			}
			(*wins)[found++] = i + 1 - m;
			q = 0; /* windows do not overlap */
		}
	}
out:
	if (found < 0) {
		free(*wins);
		*wins = NULL;
	}
	free(keys);
	free(pid);
	free(fail);
	return found;
}

/* Apply one edit with the whitespace-tolerant fallback: when exactly one window matches,
 * or any number with `all`, every window is replaced (newText re-indented to the window's
 * indentation) in one pass over the text. Returns the windows found (the first `max`
 * first-line numbers, 1-based, in `at`), -1 on ENOMEM or CANCELLED. */
static long apply_ws(struct text *t, const char *o, size_t ol, const char *nt, size_t nl,
		     bool all, const struct ctxd_job *job, size_t *at, size_t max)
{
	/* A trailing newline in oldText (and then in newText) belongs to the last line. */
	bool o_nl = ol > 0 && o[ol - 1] == '\n';
	if (o_nl) {
		ol--;
		if (nl > 0 && nt[nl - 1] == '\n') {
			nl--;
		}
	}
	struct lines L = {0}, OL = {0};
	size_t *wins = NULL;
	struct ctxd_strbuf r = {0};
	long found = -1;
	if (split_lines(t->p, t->len, &L) < 0 || split_lines(o, ol, &OL) < 0) {
		goto out;
	}
	size_t fj = 0; /* the first non-blank line of oldText gives the indentation */
	while (fj < OL.n) {
		size_t a, b;
		trim(o, OL.start[fj], OL.end[fj], &a, &b);
		if (b > a) {
			break;
		}
		fj++;
	}
	if (fj == OL.n) { /* an all-blank oldText matches nothing */
		found = 0;
		goto out;
	}
	found = ws_windows(t, &L, o, &OL, job, &wins);
	for (long w = 0; w < found && (size_t)w < max; w++) {
		at[w] = wins[w] + 1;
	}
	if (found != 1 && !(all && found > 1)) {
		goto out;
	}
	size_t oil = indent_len(o, OL.start[fj], OL.end[fj]);
	size_t prev = 0;
	for (long w = 0; w < found; w++) {
		size_t i = wins[w];
		size_t ls = L.start[i + fj];
		ctxd_strbuf_add(&r, t->p + prev, L.start[i] - prev);
		if (reindent(nt, nl, o + OL.start[fj], oil, t->p + ls,
			     indent_len(t->p, ls, L.end[i + fj]), &r) < 0) {
			found = -1;
			goto out;
		}
		prev = L.end[i + OL.n - 1];
	}
	ctxd_strbuf_add(&r, t->p + prev, t->len - prev);
	ctxd_strbuf_add(&r, "", 0);
	if (r.oom) {
		found = -1;
		goto out;
	}
	free(t->p);
	t->p = r.p;
	t->len = r.len;
	r.p = NULL;
out:
	free(r.p);
	free(wins);
	lines_free(&L);
	lines_free(&OL);
	return found;
}

/* ---- edit_file: unified diff ------------------------------------------------------ */

struct dl {
	const char *p;
	size_t len;
	uint32_t h;
	bool nonl; /* the file's last line, without a final newline */
};

static uint32_t hash_line(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	}
	return h;
}

static struct dl *diff_lines(const char *s, size_t len, size_t *n, bool *nonl)
{
	struct lines L = {0};
	if (split_lines(s, len, &L) < 0) {
		lines_free(&L);
		return NULL;
	}
	struct dl *v = calloc(L.n + 1, sizeof(*v)); /* the sentinel entry stays zeroed */
	if (v) {
		for (size_t i = 0; i < L.n; i++) {
			v[i].p = s + L.start[i];
			v[i].len = L.end[i] - L.start[i];
			v[i].h = hash_line(v[i].p, v[i].len);
			v[i].nonl = i + 1 == L.n && len > 0 && s[len - 1] != '\n';
		}
	}
	*n = L.n;
	*nonl = len > 0 && s[len - 1] != '\n';
	lines_free(&L);
	return v;
}

static bool dl_eq(const struct dl *a, const struct dl *b)
{
	return a->h == b->h && a->len == b->len && a->nonl == b->nonl &&
	       (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Myers' greedy O((N+M)D) diff of a[0..n) and b[0..m), marking deleted lines in `del` and
 * inserted ones in `ins`. Returns 0, 1 when D exceeds DIFF_MAX_D (caller marks all), -1
 * on ENOMEM, CANCELLED when the job was cancelled (checked every round). */
static int myers(const struct dl *a, size_t n, const struct dl *b, size_t m, bool *del,
		 bool *ins, const struct ctxd_job *job)
{
	long max = (long)(n + m);
	if (max > DIFF_MAX_D) {
		max = DIFF_MAX_D;
	}
	long off = max + 1;
	long *v = calloc((size_t)(2 * max + 3), sizeof(long));
	size_t tcap = 1024, tlen = 0;
	long *trace = malloc(tcap * sizeof(long));
	size_t *tpos = malloc((size_t)(max + 2) * sizeof(size_t));
	int rc = -1;
	if (!v || !trace || !tpos) {
		goto out;
	}
	long D = -1;
	for (long d = 0; d <= max; d++) {
		if (ctxd_job_cancelled(job)) {
			rc = CANCELLED;
			goto out;
		}
		/* snapshot v[-d-1 .. d+1] before round d */
		size_t need = (size_t)(2 * d + 3);
		if (tlen + need > tcap) {
			while (tlen + need > tcap) {
				tcap *= 2;
			}
			long *t2 = realloc(trace, tcap * sizeof(long));
			if (!t2) {
				goto out;
			}
			trace = t2;
		}
		tpos[d] = tlen;
		memcpy(trace + tlen, v + off - d - 1, need * sizeof(long));
		tlen += need;
		for (long k = -d; k <= d; k += 2) {
			long x;
			if (k == -d || (k != d && v[off + k - 1] < v[off + k + 1])) {
				x = v[off + k + 1];
			} else {
				x = v[off + k - 1] + 1;
			}
			long y = x - k;
			while (x < (long)n && y < (long)m && dl_eq(&a[x], &b[y])) {
				x++;
				y++;
			}
			v[off + k] = x;
			if (x >= (long)n && y >= (long)m) {
				D = d;
				break;
			}
		}
		if (D >= 0) {
			break;
		}
	}
	if (D < 0) {
		rc = 1;
		goto out;
	}
	long x = (long)n, y = (long)m;
	for (long d = D; d > 0; d--) {
		const long *tv = trace + tpos[d]; /* tv[i] = v[i - d - 1] */
#define TV(k) tv[(k) + d + 1]
		long k = x - y;
		long pk = (k == -d || (k != d && TV(k - 1) < TV(k + 1))) ? k + 1 : k - 1;
		long px = TV(pk), py = px - pk;
#undef TV
		while (x > px && y > py) {
			x--;
			y--;
		}
		if (x == px) {
			ins[y - 1] = true;
		} else {
			del[x - 1] = true;
		}
		x = px;
		y = py;
	}
	rc = 0;
out:
	free(v);
	free(trace);
	free(tpos);
	return rc;
}

struct block {
	size_t a, al, b, bl;
};

static void emit_line(struct ctxd_strbuf *o, char tag, const struct dl *l, bool nonl)
{
	ctxd_strbuf_add(o, &tag, 1);
	ctxd_strbuf_add(o, l->p, l->len);
	ctxd_strbuf_add(o, "\n", 1);
	if (nonl) {
		ctxd_strbuf_str(o, "\\ No newline at end of file\n");
	}
}

/* Unified diff of two texts (labelled `name`) into `o`; empty when equal. Returns 0, -1 on
 * ENOMEM, CANCELLED. */
static int unified_diff(const char *name, const char *s1, size_t l1, const char *s2, size_t l2,
			const struct ctxd_job *job, struct ctxd_strbuf *o)
{
	size_t n = 0, m = 0;
	bool nonl_a, nonl_b;
	struct dl *a = diff_lines(s1, l1, &n, &nonl_a);
	struct dl *b = diff_lines(s2, l2, &m, &nonl_b);
	bool *del = NULL, *ins = NULL;
	struct block *blk = NULL;
	int rc = -1;
	if (!a || !b) {
		goto out;
	}
	/* the last lines differ when only one side has the final newline */
	size_t p = 0;
	while (p < n && p < m && dl_eq(&a[p], &b[p])) {
		p++;
	}
	size_t s = 0;
	while (s < n - p && s < m - p && dl_eq(&a[n - 1 - s], &b[m - 1 - s])) {
		s++;
	}
	size_t mn = n - p - s, mm = m - p - s;
	del = calloc(mn + 1, 1);
	ins = calloc(mm + 1, 1);
	blk = malloc((mn + mm + 1) * sizeof(*blk));
	if (!del || !ins || !blk) {
		goto out;
	}
	int mr = myers(a + p, mn, b + p, mm, del, ins, job);
	if (mr < 0) {
		rc = mr;
		goto out;
	}
	if (mr == 1) {
		memset(del, 1, mn);
		memset(ins, 1, mm);
	}
	size_t nb = 0, i = 0, j = 0;
	while (i < mn || j < mm) {
		if ((i < mn && del[i]) || (j < mm && ins[j])) {
			struct block *k = &blk[nb++];
			k->a = p + i;
			k->b = p + j;
			while (i < mn && del[i]) {
				i++;
			}
			while (j < mm && ins[j]) {
				j++;
			}
			k->al = p + i - k->a;
			k->bl = p + j - k->b;
		} else {
			i++;
			j++;
		}
	}
	if (nb > 0) {
		ctxd_strbuf_printf(o, "--- %s\n+++ %s\n", name, name);
	}
	for (size_t h = 0; h < nb;) {
		size_t e = h;
		while (e + 1 < nb && blk[e + 1].a <= blk[e].a + blk[e].al + 2 * DIFF_CONTEXT) {
			e++;
		}
		size_t as = blk[h].a > DIFF_CONTEXT ? blk[h].a - DIFF_CONTEXT : 0;
		size_t bs = blk[h].b - (blk[h].a - as);
		size_t ae = blk[e].a + blk[e].al + DIFF_CONTEXT;
		if (ae > n) {
			ae = n;
		}
		size_t be = blk[e].b + blk[e].bl + (ae - (blk[e].a + blk[e].al));
		size_t al = ae - as, bl = be - bs;
		ctxd_strbuf_printf(o, "@@ -%zu,%zu +%zu,%zu @@\n", al ? as + 1 : as, al, bl ? bs + 1 : bs,
			     bl);
		size_t x = as, y = bs;
		for (size_t q = h; q <= e; q++) {
			while (x < blk[q].a) {
				emit_line(o, ' ', &a[x], nonl_a && x == n - 1);
				x++;
				y++;
			}
			for (size_t r = 0; r < blk[q].al; r++, x++) {
				emit_line(o, '-', &a[x], nonl_a && x == n - 1);
			}
			for (size_t r = 0; r < blk[q].bl; r++, y++) {
				emit_line(o, '+', &b[y], nonl_b && y == m - 1);
			}
		}
		while (x < ae) {
			emit_line(o, ' ', &a[x], nonl_a && x == n - 1);
			x++;
		}
		h = e + 1;
	}
	rc = o->oom ? -1 : 0;
out:
	free(a);
	free(b);
	free(del);
	free(ins);
	free(blk);
	return rc;
}

/* ---- edit_file -------------------------------------------------------------------- */

#define MAX_POS 8

json_t *fs_edit_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!fs_get_path(args, &path, &plen)) {
		return fs_fail("argument 'path' is required");
	}
	json_t *edits = json_object_get(args, "edits");
	size_t ne = json_array_size(edits);
	if (ne == 0) {
		return fs_fail("argument 'edits' must hold at least one {oldText, newText} edit");
	}
	bool dry = json_is_true(json_object_get(args, "dryRun"));
	const char *expected = opt_str(args, "expectedSha256", NULL);
	char name[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc loc;
	json_t *res = NULL;
	int dfd = write_target(ctx, path, plen, name, &loc, &res);
	if (dfd < 0) {
		return res;
	}
	if (!dry && (res = refuse_read_only(&loc))) {
		close(dfd);
		return res;
	}
	/* A dry run only reads: replacements are atomic renames, so no lock is needed. */
	struct ctxd_dir_lock lk = {.fd = -1};
	if (!dry && (res = lock_dir(dfd, &loc, &lk))) {
		close(dfd);
		return res;
	}
	char *raw = NULL;
	size_t rlen = 0;
	mode_t mode = 0644;
	struct text cur = {0}, orig = {0}, on = {0}, nn = {0};
	struct ctxd_strbuf diff = {0};
	char *out = NULL;
	int rc = read_existing(dfd, name, &loc, &raw, &rlen, &mode, &res);
	if (rc == 1) {
		res = fs_fail("'%s' does not exist; use write_file to create it", loc.abs);
	}
	if (rc != 0) {
		goto out;
	}
	if ((res = check_sha(expected, raw, rlen, true, &loc))) {
		goto out;
	}
	bool bom = rlen >= 3 && memcmp(raw, "\xEF\xBB\xBF", 3) == 0;
	const char *body = raw + (bom ? 3 : 0);
	size_t blen = rlen - (bom ? 3 : 0);
	if (fs_looks_binary(body, blen < FS_BINARY_PROBE ? blen : FS_BINARY_PROBE)) {
		res = fs_fail("'%s' is a binary file (it contains NUL bytes); edit_file edits text",
			      loc.abs);
		goto out;
	}
	bool crlf = all_crlf(body, blen);
	bool has_cr = memchr(body, '\r', blen) != NULL;
	if (crlf ? to_lf(body, blen, &cur) < 0 : dup_n(body, blen, &cur) < 0) {
		goto out;
	}
	if (!(orig.p = malloc(cur.len + 1))) {
		goto out;
	}
	memcpy(orig.p, cur.p, cur.len + 1);
	orig.len = cur.len;

	size_t i;
	json_t *ed;
	size_t pos[MAX_POS];
	json_array_foreach(edits, i, ed)
	{
		if (ctxd_job_cancelled(ctx->job)) {
			res = fs_fail("edit of '%s' cancelled; nothing was written", loc.abs);
			goto out;
		}
		json_t *jo = json_object_get(ed, "oldText"), *jn = json_object_get(ed, "newText");
		if (!json_is_string(jo) || !json_is_string(jn)) {
			res = fs_fail("edit %zu of %zu needs string oldText and newText", i + 1, ne);
			goto out;
		}
		bool all = json_is_true(json_object_get(ed, "replaceAll"));
		/* the model writes LF; CR-LF in its text is normalized unless the file mixes */
		tx_free(&on);
		tx_free(&nn);
		if (!has_cr || crlf) {
			if (to_lf(json_string_value(jo), json_string_length(jo), &on) < 0 ||
			    to_lf(json_string_value(jn), json_string_length(jn), &nn) < 0) {
				goto out;
			}
		} else if (dup_n(json_string_value(jo), json_string_length(jo), &on) < 0 ||
			   dup_n(json_string_value(jn), json_string_length(jn), &nn) < 0) {
			goto out;
		}
		if (on.len == 0) {
			res = fs_fail("edit %zu of %zu: oldText is empty; give the exact text to "
				      "replace",
				      i + 1, ne);
			goto out;
		}
		size_t c = count_occ(cur.p, cur.len, on.p, on.len, pos, MAX_POS);
		if (c == 1 || (c > 1 && all)) {
			int r2 = c == 1 ? tx_splice(&cur, pos[0], pos[0] + on.len, nn.p, nn.len)
					: replace_all(&cur, on.p, on.len, nn.p, nn.len, c);
			if (r2 < 0) {
				goto out;
			}
			continue;
		}
		if (c == 0) {
			long w = apply_ws(&cur, on.p, on.len, nn.p, nn.len, all, ctx->job, pos,
					  MAX_POS);
			if (w == CANCELLED) {
				res = fs_fail("edit of '%s' cancelled; nothing was written",
					      loc.abs);
				goto out;
			}
			if (w < 0) {
				goto out;
			}
			if (w == 1 || (w > 1 && all)) {
				continue;
			}
			if (w > 1) {
				char where[128] = "";
				size_t k = 0;
				for (long q = 0; q < w && q < MAX_POS; q++) {
					k += (size_t)snprintf(where + k, sizeof(where) - k,
							      "%s%zu", q ? ", " : "", pos[q]);
					if (k >= sizeof(where)) {
						break;
					}
				}
				res = fs_fail("edit %zu of %zu: oldText matches %ld times in '%s' when "
					      "whitespace is ignored (at lines %s%s); include more "
					      "surrounding lines to make it unique, or set replaceAll",
					      i + 1, ne, w, loc.abs, where,
					      w > MAX_POS ? ", ..." : "");
				goto out;
			}
			char hint[300];
			closest_line(cur.p, cur.len, on.p, on.len, hint, sizeof(hint));
			res = fs_fail("edit %zu of %zu: oldText matches 0 times in '%s' (also with "
				      "whitespace ignored)%s%s",
				      i + 1, ne, loc.abs, hint,
				      i > 0 ? "; note that earlier edits were applied first" : "");
			goto out;
		}
		char where[128] = "";
		size_t k = 0;
		for (size_t q = 0; q < c && q < MAX_POS; q++) {
			k += (size_t)snprintf(where + k, sizeof(where) - k, "%s%zu", q ? ", " : "",
					      line_of(cur.p, pos[q]));
			if (k >= sizeof(where)) {
				break;
			}
		}
		res = fs_fail("edit %zu of %zu: oldText matches %zu times in '%s' (at lines %s%s); "
			      "include more surrounding lines to make it unique, or set "
			      "replaceAll: true",
			      i + 1, ne, c, loc.abs, where, c > MAX_POS ? ", ..." : "");
		goto out;
	}

	int dr = unified_diff(loc.abs, orig.p, orig.len, cur.p, cur.len, ctx->job, &diff);
	if (dr == CANCELLED) {
		res = fs_fail("edit of '%s' cancelled; nothing was written", loc.abs);
		goto out;
	}
	if (dr < 0) {
		goto out;
	}
	/* back to the file's conventions: CRLF and the BOM */
	size_t extra = bom ? 3 : 0;
	if (crlf) {
		for (size_t q = 0; q < cur.len; q++) {
			extra += cur.p[q] == '\n';
		}
	}
	size_t olen = cur.len + extra;
	out = malloc(olen + 1);
	if (!out) {
		goto out;
	}
	size_t w = 0;
	if (bom) {
		memcpy(out, "\xEF\xBB\xBF", 3);
		w = 3;
	}
	if (crlf) {
		for (size_t q = 0; q < cur.len; q++) {
			if (cur.p[q] == '\n') {
				out[w++] = '\r';
			}
			out[w++] = cur.p[q];
		}
	} else {
		memcpy(out + w, cur.p, cur.len);
	}
	char sha[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex(out, olen, sha);
	bool changed = olen != rlen || memcmp(out, raw, rlen) != 0;
	if (!dry && changed) {
		struct ctxd_error err = {0};
		if (ctxd_atomic_write(dfd, name, out, olen, (int)mode, false, &err) < 0) {
			res = fs_fail("cannot write '%s': %s", loc.abs, err.msg);
			goto out;
		}
	}
	const char *d = diff.p ? diff.p : "";
	json_t *dj = fs_text(d, diff.len);
	json_t *sc = dj ? json_pack("{s:s, s:o, s:I, s:b, s:s}", "path", loc.abs, "diff", dj,
				    "applied", (json_int_t)ne, "dryRun", dry, "sha256", sha)
			: NULL;
	if (!sc) {
		goto out;
	}
	struct ctxd_strbuf t = {0};
	if (!changed) {
		ctxd_strbuf_printf(&t, "No changes: the edits leave '%s' as it was", loc.abs);
	} else {
		ctxd_strbuf_str(&t, json_string_value(dj));
		if (dry) {
			ctxd_strbuf_str(&t, "(dry run: nothing was written)");
		}
	}
	if (t.oom) {
		json_decref(sc);
		goto out;
	}
	res = ctxd_tool_result(t.p, sc);
	free(t.p);
out:
	ctxd_dir_unlock(&lk);
	close(dfd);
	free(raw);
	free(out);
	free(diff.p);
	tx_free(&cur);
	tx_free(&orig);
	tx_free(&on);
	tx_free(&nn);
	return res;
}

/* ---- copies and appends: a temp file filled, then renamed ---------------------------- */

static bool job_stop(const void *job)
{
	return ctxd_job_cancelled(job);
}

static size_t copy_cap(const struct ctxd_tool_ctx *ctx)
{
	return ctx->cfg && ctx->cfg->max_copy_bytes ? ctx->cfg->max_copy_bytes : (size_t)1 << 30;
}

/* Why a copy of `data` bytes (holes not counted) is refused, or NULL when it fits. `why`
 * says why the call copies (may be ""). */
static json_t *over_cap(const struct ctxd_tool_ctx *ctx, const char *verb, const char *path,
			uint64_t data, const char *why)
{
	if (data <= copy_cap(ctx)) {
		return NULL;
	}
	return fs_fail("cannot %s '%s': it holds %llu bytes of data (holes not counted), more than "
		       "limits.copy_bytes (%zu bytes) allows one call to write%s; nothing was "
		       "written",
		       verb, path, (unsigned long long)data, copy_cap(ctx), why);
}

/* A new temp file next to `name` in `dfd` holding the first `size` bytes of `src` with
 * its holes (ctxd_copy_sparse, cancellable, capped by limits.copy_bytes). Returns 0 with
 * `a` ready to commit or abort, or -errno (ECANCELED, EFBIG, ENOSPC ...) with nothing
 * left behind. */
static int fill_copy(const struct ctxd_tool_ctx *ctx, int src, off_t size, int dfd,
		     const char *name, struct ctxd_atomic *a)
{
	struct ctxd_error err = {0};
	if (ctxd_atomic_begin(a, dfd, name, &err) < 0) {
		return -err.sys_errno;
	}
	int rc = ctxd_copy_sparse(src, a->fd, size, copy_cap(ctx), NULL, job_stop, ctx->job);
	if (rc < 0) {
		ctxd_atomic_abort(a);
	}
	return rc;
}

static const char *copy_error(int rc)
{
	if (rc == -ENOSPC || rc == -EDQUOT) {
		return rc == -ENOSPC ? "No space left on device (free some space, then retry)"
				     : "Disk quota exceeded (free some space, then retry)";
	}
	return rc == -ECANCELED ? "cancelled" : strerror(-rc);
}

/* ---- append_file ------------------------------------------------------------------ */

/* pwrite all of p[0..n) at `off`. Returns 0 or -1 with errno set. */
static int pwrite_all(int fd, const char *p, size_t n, off_t off)
{
	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, off);
		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += k;
	}
	return 0;
}

/* An append is a replacement like write_file's: the old content (holes kept) and the new
 * bytes go to a temp file that is renamed over the name, all under the directory's write
 * lock. A crash or a full disk leaves the old file or the whole new one, never a torn
 * tail, and the rename gives the name a new inode, so a hard link to the file (perhaps
 * from outside every root) keeps the old content instead of being changed through it. */
json_t *fs_append_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen, clen = 0;
	if (!fs_get_path(args, &path, &plen)) {
		return fs_fail("argument 'path' is required");
	}
	const char *content = opt_str(args, "content", &clen);
	if (!content) {
		return fs_fail("argument 'content' is required");
	}
	char name[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc loc;
	json_t *res = NULL;
	int dfd = write_target(ctx, path, plen, name, &loc, &res);
	if (dfd < 0) {
		return res;
	}
	struct ctxd_dir_lock lk = {.fd = -1};
	if ((res = refuse_read_only(&loc)) || (res = lock_dir(dfd, &loc, &lk))) {
		close(dfd);
		return res;
	}
	struct ctxd_atomic a = {.fd = -1};
	struct ctxd_error err = {0};
	struct stat st = {.st_mode = S_IFREG | 0644};
	int src = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (src < 0 && errno != ENOENT) {
		int e = errno;
		res = fs_fail("cannot open '%s' for appending: %s", loc.abs,
			      e == ELOOP ? "it is a symlink" : strerror(e));
		goto out;
	}
	if (src >= 0 && (fstat(src, &st) < 0 || !S_ISREG(st.st_mode))) {
		res = S_ISDIR(st.st_mode)
			      ? fs_fail("cannot append to '%s': it is a directory", loc.abs)
			      : fs_fail("'%s' is not a regular file", loc.abs);
		goto out;
	}
	bool created = src < 0;
	off_t old = created ? 0 : st.st_size;
	if (!created && (res = over_cap(ctx, "append to", loc.abs, ctxd_data_bytes(src, old),
					" (an append rewrites the whole file, so that a crash "
					"never leaves it torn)"))) {
		goto out;
	}
	int rc = created ? (ctxd_atomic_begin(&a, dfd, name, &err) < 0 ? -err.sys_errno : 0)
			 : fill_copy(ctx, src, old, dfd, name, &a);
	if (rc == 0 && pwrite_all(a.fd, content, clen, old) < 0) {
		rc = -errno;
		ctxd_atomic_abort(&a);
	}
	if (rc == 0 && ctxd_atomic_commit(&a, name, (int)(st.st_mode & 07777), false, &err) < 0) {
		rc = -err.sys_errno;
	}
	if (rc < 0) {
		res = fs_fail("cannot append to '%s': %s; the file is unchanged", loc.abs,
			      copy_error(rc));
		goto out;
	}
	char msg[CTXD_PATH_MAX + 96];
	size_t size = (size_t)old + clen;
	snprintf(msg, sizeof(msg), "Appended %zu bytes to %s (now %zu bytes)", clen, loc.abs, size);
	res = ctxd_tool_result(msg, json_pack("{s:s, s:I, s:b}", "path", loc.abs, "bytes",
					      (json_int_t)size, "created", created));
out:
	if (src >= 0) {
		close(src);
	}
	ctxd_dir_unlock(&lk);
	close(dfd);
	return res;
}

/* ---- copy_file / move_file -------------------------------------------------------- */

/* Open a writable parent for `key` (destination side): read-only refused, and an entry
 * with several links under sandbox.hardlinks: refuse. */
static int parent_rw(const struct ctxd_tool_ctx *ctx, json_t *args, const char *key,
		     char name[CTXD_PATH_MAX], struct ctxd_sandbox_loc *loc, json_t **res)
{
	size_t len = 0;
	const char *p = opt_str(args, key, &len);
	if (!p) {
		*res = fs_fail("argument '%s' is required", key);
		return -1;
	}
	struct ctxd_error err = {0};
	int dfd = ctxd_sandbox_open_parent(ctx->sandbox, p, len, name, loc, &err);
	if (dfd < 0) {
		*res = fs_fail("%s: %s", key, err.msg);
		return -1;
	}
	if ((*res = refuse_read_only(loc)) || (*res = refuse_hardlink(dfd, name, loc))) {
		close(dfd);
		return -1;
	}
	return dfd;
}

/* The copy is made without the lock (it may be large) and only the rename is locked: a
 * copy does not read what it replaces. */
json_t *fs_copy_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	size_t slen = 0, dlen = 0;
	const char *src = opt_str(args, "source", &slen);
	const char *dst = opt_str(args, "destination", &dlen);
	if (!src || !dst) {
		return fs_fail("arguments 'source' and 'destination' are required");
	}
	bool overwrite = json_is_true(json_object_get(args, "overwrite"));
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc sloc, dloc;
	int sfd = ctxd_sandbox_open(ctx->sandbox, src, slen, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0,
				    false, &sloc, &err);
	if (sfd < 0) {
		return fs_fail("source: %s", err.msg);
	}
	struct stat st;
	if (fstat(sfd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(sfd);
		return fs_fail("source '%s' is not a regular file; copy_file copies files", sloc.abs);
	}
	char name[CTXD_PATH_MAX];
	json_t *res = NULL;
	int dfd = write_target(ctx, dst, dlen, name, &dloc, &res);
	if (dfd < 0 || (res = refuse_read_only(&dloc))) {
		close(sfd);
		if (dfd >= 0) {
			close(dfd);
		}
		return res;
	}
	struct stat dt;
	if (fstatat(dfd, name, &dt, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!overwrite) {
			res = fs_fail("destination '%s' already exists; pass overwrite: true to "
				      "replace it",
				      dloc.abs);
			goto out;
		}
		if (!S_ISREG(dt.st_mode)) {
			res = fs_fail("destination '%s' exists and is not a regular file", dloc.abs);
			goto out;
		}
		if (dt.st_dev == st.st_dev && dt.st_ino == st.st_ino) {
			res = fs_fail("source and destination are the same file ('%s')", dloc.abs);
			goto out;
		}
	}
	uint64_t data = ctxd_data_bytes(sfd, st.st_size);
	if ((res = over_cap(ctx, "copy", sloc.abs, data, ""))) {
		goto out;
	}
	struct ctxd_atomic a;
	int rc = fill_copy(ctx, sfd, st.st_size, dfd, name, &a);
	if (rc == 0) {
		struct ctxd_dir_lock lk;
		if ((res = lock_dir(dfd, &dloc, &lk))) {
			ctxd_atomic_abort(&a);
			goto out;
		}
		if (ctxd_atomic_commit(&a, name, (int)(st.st_mode & 07777), !overwrite, &err) < 0) {
			rc = -err.sys_errno;
		}
		ctxd_dir_unlock(&lk);
	}
	if (rc < 0) {
		res = rc == -EEXIST ? fs_fail("destination '%s' already exists", dloc.abs)
				    : fs_fail("cannot copy '%s' to '%s': %s", sloc.abs, dloc.abs,
					      copy_error(rc));
		goto out;
	}
	char msg[2 * CTXD_PATH_MAX + 64];
	snprintf(msg, sizeof(msg), "Copied %s to %s (%lld bytes)", sloc.abs, dloc.abs,
		 (long long)st.st_size);
	res = ctxd_tool_result(msg, json_pack("{s:s, s:s, s:I}", "path", sloc.abs, "destination",
					      dloc.abs, "bytes", (json_int_t)st.st_size));
out:
	close(sfd);
	close(dfd);
	return res;
}

/* Across file systems: a copy (holes kept, capped) renamed into place, then the source
 * removed; both directories are locked by the caller. Returns NULL or an error result. */
static json_t *move_by_copy(const struct ctxd_tool_ctx *ctx, int sfd, const char *sname,
			    const struct stat *st, const struct ctxd_sandbox_loc *sloc, int dfd,
			    const char *dname, const struct ctxd_sandbox_loc *dloc)
{
	if (!S_ISREG(st->st_mode)) {
		return fs_fail("'%s' and '%s' are on different file systems and only regular files "
			       "can be moved across them",
			       sloc->abs, dloc->abs);
	}
	int fd = openat(sfd, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		return fs_fail("cannot open '%s': %s", sloc->abs, strerror(errno));
	}
	json_t *res = over_cap(ctx, "move", sloc->abs, ctxd_data_bytes(fd, st->st_size),
			       " (a move across file systems is a copy)");
	struct ctxd_atomic a;
	struct ctxd_error err = {0};
	int rc = res ? 0 : fill_copy(ctx, fd, st->st_size, dfd, dname, &a);
	close(fd);
	if (!res && rc == 0 &&
	    ctxd_atomic_commit(&a, dname, (int)(st->st_mode & 07777), true, &err) < 0) {
		rc = -err.sys_errno;
	}
	if (res || rc < 0) {
		return res ? res
		       : rc == -EEXIST
			   ? fs_fail("destination '%s' already exists", dloc->abs)
			   : fs_fail("cannot move '%s' to '%s': %s", sloc->abs, dloc->abs,
				     copy_error(rc));
	}
	if (unlinkat(sfd, sname, 0) < 0) {
		return fs_fail("copied '%s' to '%s' but cannot remove the source: %s", sloc->abs,
			       dloc->abs, strerror(errno));
	}
	fsync(sfd);
	return NULL;
}

json_t *fs_move_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	char sname[CTXD_PATH_MAX], dname[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc sloc, dloc;
	json_t *res = NULL;
	int sfd = parent_rw(ctx, args, "source", sname, &sloc, &res);
	if (sfd < 0) {
		return res;
	}
	int dfd = parent_rw(ctx, args, "destination", dname, &dloc, &res);
	if (dfd < 0) {
		close(sfd);
		return res;
	}
	struct ctxd_dir_lock lk[2];
	struct ctxd_error err = {0};
	if (ctxd_dir_lock_pair(sfd, dfd, lk, &err) < 0) {
		res = fs_fail("cannot move '%s': %s", sloc.abs, err.msg);
		close(sfd);
		close(dfd);
		return res;
	}
	struct stat st;
	if (fstatat(sfd, sname, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		res = fs_fail("source '%s': %s", sloc.abs, strerror(errno));
		goto out;
	}
	if (renameat2(sfd, sname, dfd, dname, RENAME_NOREPLACE) == 0) {
		fsync(dfd);
		fsync(sfd);
	} else if (errno == EEXIST || errno == ENOTEMPTY) {
		res = fs_fail("destination '%s' already exists; move_file never replaces anything "
			      "(delete it first if that is intended)",
			      dloc.abs);
		goto out;
	} else if (errno == EXDEV) {
		if ((res = move_by_copy(ctx, sfd, sname, &st, &sloc, dfd, dname, &dloc))) {
			goto out;
		}
	} else {
		res = fs_fail("cannot move '%s' to '%s': %s", sloc.abs, dloc.abs, strerror(errno));
		goto out;
	}
	char msg[2 * CTXD_PATH_MAX + 32];
	snprintf(msg, sizeof(msg), "Moved %s to %s", sloc.abs, dloc.abs);
	res = ctxd_tool_result(msg, json_pack("{s:s, s:s}", "path", sloc.abs, "destination",
					      dloc.abs));
out:
	ctxd_dir_unlock(&lk[0]);
	ctxd_dir_unlock(&lk[1]);
	close(sfd);
	close(dfd);
	return res;
}

/* ---- delete_file ------------------------------------------------------------------ */

/* Remove everything inside the directory `fd` (closed here); symlinks are unlinked, never
 * followed. Returns 0 or -errno; *count counts removed entries. */
static int rm_tree(int fd, unsigned depth, const struct ctxd_job *job, size_t *count)
{
	if (depth > RM_MAX_DEPTH) {
		close(fd);
		return -ELOOP;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		return -e;
	}
	int rc = 0;
	struct dirent *de;
	size_t pass = 1;
	/* Passes until one removes nothing: entries removed during a listing never make
	 * readdir skip a survivor on Linux, but a second look costs little. */
	while (rc == 0 && pass > 0) {
		pass = 0;
		rewinddir(d);
		while ((de = readdir(d))) {
			const char *n = de->d_name;
			if (n[0] == '.' && (n[1] == '\0' || (n[1] == '.' && n[2] == '\0'))) {
				continue;
			}
			if (ctxd_job_cancelled(job)) {
				rc = -ECANCELED;
				break;
			}
			bool is_dir = de->d_type == DT_DIR;
			if (de->d_type == DT_UNKNOWN) {
				struct stat st;
				is_dir = fstatat(dirfd(d), n, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
					 S_ISDIR(st.st_mode);
			}
			if (is_dir) {
				int cfd = openat(dirfd(d), n,
						 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (cfd < 0) {
					rc = -errno;
					break;
				}
				rc = rm_tree(cfd, depth + 1, job, count);
				if (rc < 0) {
					break;
				}
			}
			if (unlinkat(dirfd(d), n, is_dir ? AT_REMOVEDIR : 0) < 0) {
				rc = -errno;
				break;
			}
			(*count)++;
			pass++;
		}
	}
	closedir(d);
	return rc;
}

/* unlinkat under the directory's write lock, so a removal is never undone by a concurrent
 * replacement that read the file before it. Returns 0 or -errno; *res is set when the lock
 * could not be taken. */
static int unlink_locked(int dfd, const char *name, int flags, const struct ctxd_sandbox_loc *loc,
			 json_t **res)
{
	struct ctxd_dir_lock lk;
	if ((*res = lock_dir(dfd, loc, &lk))) {
		return -1;
	}
	int rc = unlinkat(dfd, name, flags) < 0 ? -errno : 0;
	ctxd_dir_unlock(&lk);
	return rc;
}

json_t *fs_delete_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	char name[CTXD_PATH_MAX];
	struct ctxd_sandbox_loc loc;
	json_t *res = NULL;
	if (!json_is_string(json_object_get(args, "path"))) {
		return fs_fail("argument 'path' is required");
	}
	int dfd = parent_rw(ctx, args, "path", name, &loc, &res);
	if (dfd < 0) {
		return res;
	}
	bool recursive = json_is_true(json_object_get(args, "recursive"));
	struct stat st;
	size_t removed = 0;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		res = fs_fail("cannot delete '%s': %s", loc.abs, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		if (!recursive) {
			res = fs_fail("'%s' is a directory; pass recursive: true to delete it and "
				      "everything in it",
				      loc.abs);
			goto out;
		}
		int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		int rc = fd < 0 ? -errno : rm_tree(fd, 0, ctx->job, &removed);
		if (rc == 0) {
			rc = unlink_locked(dfd, name, AT_REMOVEDIR, &loc, &res);
		}
		if (res) {
			goto out;
		}
		if (rc < 0) {
			res = fs_fail("cannot delete '%s'%s: %s (%zu entries inside were removed)",
				      loc.abs, rc == -ECANCELED ? "" : " completely",
				      rc == -ECANCELED ? "cancelled" : strerror(-rc), removed);
			goto out;
		}
	} else {
		int rc = unlink_locked(dfd, name, 0, &loc, &res);
		if (res || rc < 0) {
			res = res ? res : fs_fail("cannot delete '%s': %s", loc.abs, strerror(-rc));
			goto out;
		}
	}
	fsync(dfd);
	char msg[CTXD_PATH_MAX + 96];
	const char *what = S_ISDIR(st.st_mode) ? "directory" : S_ISLNK(st.st_mode) ? "symlink"
										 : "file";
	if (S_ISDIR(st.st_mode)) {
		snprintf(msg, sizeof(msg), "Deleted directory %s and %zu entries inside it", loc.abs,
			 removed);
	} else {
		snprintf(msg, sizeof(msg), "Deleted %s %s", what, loc.abs);
	}
	res = ctxd_tool_result(msg, json_pack("{s:s, s:s, s:I}", "path", loc.abs, "type", what,
					      "removed", (json_int_t)removed + 1));
out:
	close(dfd);
	return res;
}

/* ---- create_directory ------------------------------------------------------------- */

json_t *fs_create_directory(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!fs_get_path(args, &path, &plen)) {
		return fs_fail("argument 'path' is required");
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	if (ctxd_sandbox_locate(ctx->sandbox, path, plen, &loc, &err) < 0) {
		return fs_fail("%s", err.msg);
	}
	json_t *res = refuse_read_only(&loc);
	if (res) {
		return res;
	}
	/* One level at a time, each through the sandbox from the root: a component that is a
	 * symlink leading out (dangling or not) makes the next open fail, so nothing is made
	 * outside. */
	size_t created = 0;
	char prefix[CTXD_PATH_MAX];
	const char *rel = loc.rel;
	size_t rl = strlen(rel);
	for (size_t i = 0; strcmp(rel, ".") != 0 && i <= rl; i++) {
		if (i < rl && rel[i] != '/') {
			continue;
		}
		int k = snprintf(prefix, sizeof(prefix), "%s/%.*s", loc.root->path, (int)i, rel);
		if (k < 0 || (size_t)k >= sizeof(prefix)) {
			return fs_fail("path '%s' is too long", path);
		}
		const char *last = prefix + k;
		while (last > prefix && last[-1] != '/') {
			last--;
		}
		if (strcmp(last, "..") == 0) {
			continue;
		}
		char name[CTXD_PATH_MAX];
		int dfd = ctxd_sandbox_open_parent(ctx->sandbox, prefix, (size_t)k, name, NULL, &err);
		if (dfd < 0) {
			return fs_fail("cannot create '%s': %s", loc.abs, err.msg);
		}
		if (mkdirat(dfd, name, 0777) == 0) {
			created++;
			fsync(dfd);
		} else if (errno != EEXIST) {
			int e = errno;
			close(dfd);
			return fs_fail("cannot create '%.*s/%.*s': %s", (int)strlen(loc.root->path),
				       loc.root->path, (int)i, rel, strerror(e));
		}
		close(dfd);
		int fd = ctxd_sandbox_open(ctx->sandbox, prefix, (size_t)k, O_PATH | O_DIRECTORY, 0,
					   false, NULL, &err);
		if (fd < 0) {
			return fs_fail("cannot create '%s': '%s' exists and is not a directory inside "
				       "the allowed directories (%s)",
				       loc.abs, prefix, err.msg);
		}
		close(fd);
	}
	char msg[CTXD_PATH_MAX + 64];
	snprintf(msg, sizeof(msg), created ? "Created directory %s" : "Directory %s already exists",
		 loc.abs);
	return ctxd_tool_result(msg, json_pack("{s:s, s:I}", "path", loc.abs, "createdLevels",
					       (json_int_t)created));
}
