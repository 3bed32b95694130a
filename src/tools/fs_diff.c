/* fs_diff.c - line tables of a text and the unified diff edit_file returns: lines hashed,
 * Myers' algorithm within an edit-distance bound, then coarse hunks.
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
#include "ctxd/strbuf.h"
#include "fs_priv.h"
#include "fs_write_priv.h"

#define DIFF_CONTEXT 3
#define DIFF_MAX_D   1500 /* Myers edit-distance bound before a coarse hunk */

int ctxd_fs_split_lines(const char *s, size_t len, struct lines *L)
{
	size_t cap = 16, n = 0;
	L->start = malloc(cap * sizeof(size_t));
	L->end = malloc(cap * sizeof(size_t));
	if (!L->start || !L->end) {
		return -1;
	}
	size_t i = 0;
	while (i < len) {
		if (ctxd_grow_pair((void **)&L->start, sizeof(*L->start), (void **)&L->end,
				   sizeof(*L->end), &cap, n + 1, 16)) {
			return -1;
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

void ctxd_fs_lines_free(struct lines *L)
{
	free(L->start);
	free(L->end);
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
	if (ctxd_fs_split_lines(s, len, &L) < 0) {
		ctxd_fs_lines_free(&L);
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
	ctxd_fs_lines_free(&L);
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
static int myers(const struct dl *a, size_t n, const struct dl *b, size_t m, bool *del, bool *ins,
		 const struct ctxd_job *job)
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
		if (ctxd_grow((void **)&trace, &tcap, tlen + need, sizeof(*trace), 1024)) {
			goto out;
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

/* The changed runs of the middle part (lines p.. of both sides), from the Myers marks `del`
 * (mn lines of a) and `ins` (mm lines of b), into `blk`. Returns their number. */
static size_t diff_blocks(const bool *del, size_t mn, const bool *ins, size_t mm, size_t p,
			  struct block *blk)
{
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
	return nb;
}

/* Print the unified diff of the `nb` changed blocks `blk` between a (n lines) and b (m lines)
 * into `o`: the file header, then hunks with DIFF_CONTEXT lines of context, blocks closer
 * than twice that merged into one hunk. */
static void diff_hunks(struct ctxd_strbuf *o, const char *name, const struct dl *a, size_t n,
		       bool nonl_a, const struct dl *b, size_t m, bool nonl_b,
		       const struct block *blk, size_t nb)
{
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
		ctxd_strbuf_printf(o, "@@ -%zu,%zu +%zu,%zu @@\n", al ? as + 1 : as, al,
				   bl ? bs + 1 : bs, bl);
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
}

/* Unified diff of two texts (labelled `name`) into `o`; empty when equal. Returns 0, -1 on
 * ENOMEM, CANCELLED. */
int ctxd_fs_unified_diff(const char *name, const char *s1, size_t l1, const char *s2, size_t l2,
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
	size_t nb = diff_blocks(del, mn, ins, mm, p, blk);
	diff_hunks(o, name, a, n, nonl_a, b, m, nonl_b, blk, nb);
	rc = o->oom ? -1 : 0;
out:
	free(a);
	free(b);
	free(del);
	free(ins);
	free(blk);
	return rc;
}
