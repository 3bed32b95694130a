/* fs_text.c - read_text_file: lines exactly as stored, head/tail/offset+limit windows,
 * capped at limits.read_bytes at a whole line with nextOffset, exact totalLines up to
 * 16 MiB. Also the chunked reading helpers fs_read.c uses (ctxd_fs_pread_full, ctxd_fs_count_nl).
 */
#include "ctxd/fs.h"

#include <dirent.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/json_write.h"
#include "ctxd/provider.h"
#include "ctxd/sandbox.h"
#include "ctxd/strbuf.h"
#include "fs_priv.h"
#include "fs_pwalk.h"
#include "fs_walk.h"
#include "schemas/schemas.h"

#define DEFAULT_READ_BYTES (256u * 1024u)
#define READ_CHUNK         65536u
/* Files up to this size are always scanned to the end so totalLines (and tail's line
 * numbers) are exact; that costs about a millisecond per 4 MiB. Larger files are read only
 * as far as the selection needs (tail backwards from the end), and the line numbers that
 * would need a full scan are omitted. */
#define LINE_COUNT_MAX (16u * 1024u * 1024u)

/* ---- read_text_file --------------------------------------------------------------- */

/* Count '\n' bytes, 16 at a time with SSE2 (the x86-64 baseline), else eight at a time:
 * a byte of x = w ^ "\n\n..." is zero exactly when the high bit of
 * ((x & 0x7f..) + 0x7f..) | x is clear (no carries cross byte lanes). */
size_t ctxd_fs_count_nl(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = ones * 0x80;
	const uint64_t nl = ones * '\n';
	size_t c = 0;
#if defined(__SSE2__)
	/* per-lane counts (a match is -1: subtracted), summed before a lane can overflow;
	 * no popcount, which the x86-64 baseline lacks */
	const __m128i nl16 = _mm_set1_epi8('\n'), zero = _mm_setzero_si128();
	for (size_t blocks = n / 16; blocks > 0;) {
		size_t m = blocks < 255 ? blocks : 255;
		__m128i acc = zero;
		for (size_t k = 0; k < m; k++) {
			__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
			acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(x, nl16));
		}
		__m128i sum = _mm_sad_epu8(acc, zero);
		c += (size_t)_mm_cvtsi128_si32(sum) +
		     (size_t)_mm_cvtsi128_si32(_mm_srli_si128(sum, 8));
		blocks -= m;
		p += 16 * m;
		n -= 16 * m;
	}
#endif
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		uint64_t x = w ^ nl;
		uint64_t t = ((x & ~high) + ~high) | x;
		c += (size_t)__builtin_popcountll(~t & high);
		p += 8;
		n -= 8;
	}
	while (n--) {
		c += *p++ == '\n';
	}
	return c;
}

/* Streaming line selector: bytes go in, the lines [want_start, want_end] come out into
 * `out` up to `cap` bytes, and every newline is counted so totalLines is exact. */
struct reader {
	size_t want_start, want_end; /* 1-based, inclusive; want_end may be SIZE_MAX */
	size_t cap;
	size_t line; /* line number of the next byte */
	char *out;
	size_t out_len, out_cap;
	size_t line_start; /* offset in out where the current line began */
	bool done;         /* selection complete: only count from now on */
	bool truncated;
	bool partial; /* the first selected line alone exceeded the cap */
	bool oom;
	size_t end_line; /* last line returned, when collection ended early */
	size_t next_offset;
	size_t fed;
	char last;
};

static void rd_append(struct reader *r, const char *p, size_t n)
{
	if (ctxd_grow((void **)&r->out, &r->out_cap, r->out_len + n, 1, 4096)) {
		r->oom = true;
		r->done = true;
		return;
	}
	memcpy(r->out + r->out_len, p, n);
	r->out_len += n;
}

static void rd_feed(struct reader *r, const char *p, size_t n)
{
	const char *e = p + n;
	if (n) {
		r->last = p[n - 1];
		r->fed += n;
	}
	if (!r->done && r->line >= r->want_start && r->want_end == SIZE_MAX &&
	    r->out_len + n <= r->cap) {
		/* every line from here to the end, and this chunk fits: take it whole (one copy,
		 * newlines counted 16 bytes at a time, not one memchr per line) */
		size_t nl = ctxd_fs_count_nl(p, n);
		if (nl) {
			const char *last = memrchr(p, '\n', n);
			r->line_start = r->out_len + (size_t)(last + 1 - p);
			r->line += nl;
		}
		rd_append(r, p, n);
		return;
	}
	while (p < e) {
		if (r->done) {
			r->line += ctxd_fs_count_nl(p, (size_t)(e - p));
			return;
		}
		const char *q = memchr(p, '\n', (size_t)(e - p));
		if (r->line < r->want_start) {
			if (!q) {
				return;
			}
			r->line++;
			p = q + 1;
			continue;
		}
		size_t seg = q ? (size_t)(q + 1 - p) : (size_t)(e - p);
		if (r->out_len + seg > r->cap) {
			r->truncated = true;
			r->done = true;
			if (r->line == r->want_start) {
				rd_append(r, p, r->cap - r->out_len);
				r->out_len = ctxd_utf8_trim(r->out, r->out_len);
				r->partial = true;
				r->end_line = r->line;
				r->next_offset = r->line + 1;
			} else {
				r->out_len = r->line_start;
				r->end_line = r->line - 1;
				r->next_offset = r->line;
			}
			continue;
		}
		rd_append(r, p, seg);
		p += seg;
		if (q) {
			r->line++;
			r->line_start = r->out_len;
			if (r->line > r->want_end) {
				r->done = true;
			}
		}
	}
}

ssize_t ctxd_fs_pread_full(int fd, char *buf, size_t n, off_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, buf + got, n - got, off + (off_t)got);
		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		if (k == 0) {
			break;
		}
		got += (size_t)k;
	}
	return (ssize_t)got;
}

/* For tail: find the byte offset where the last `n` (> 0) lines begin by scanning
 * backwards from the end; a final newline does not start an empty last line. Returns 0 or
 * -errno. */
static int tail_start(int fd, off_t size, size_t n, char *buf, size_t bufsz,
		      const struct ctxd_job *job, off_t *start)
{
	off_t pos = size;
	bool first = true;
	*start = 0;
	while (pos > 0) {
		if (ctxd_job_cancelled(job)) {
			return -ECANCELED;
		}
		size_t k = (size_t)pos < bufsz ? (size_t)pos : bufsz;
		pos -= (off_t)k;
		ssize_t got = ctxd_fs_pread_full(fd, buf, k, pos);
		if (got < 0) {
			return -errno;
		}
		size_t lim = (size_t)got;
		if (first && lim > 0 && buf[lim - 1] == '\n') {
			lim--;
		}
		first = false;
		while (lim > 0) {
			const char *q = memrchr(buf, '\n', lim);
			if (!q) {
				break;
			}
			if (--n == 0) {
				*start = pos + (off_t)(q - buf) + 1;
				return 0;
			}
			lim = (size_t)(q - buf);
		}
	}
	return 0;
}

/* Newlines in [0, end). Returns the count or -errno (as a negative value in *err). */
static int count_prefix(int fd, off_t end, char *buf, size_t bufsz, const struct ctxd_job *job,
			size_t *lines)
{
	off_t pos = 0;
	*lines = 0;
	while (pos < end) {
		if (ctxd_job_cancelled(job)) {
			return -ECANCELED;
		}
		size_t k = (size_t)(end - pos) < bufsz ? (size_t)(end - pos) : bufsz;
		ssize_t got = ctxd_fs_pread_full(fd, buf, k, pos);
		if (got < 0) {
			return -errno;
		}
		if (got == 0) {
			break;
		}
		*lines += ctxd_fs_count_nl(buf, (size_t)got);
		pos += got;
	}
	return 0;
}

/* An error result when the first bytes show the file is not UTF-8 text, else NULL. */
static json_t *probe_text(const char *p, size_t n, const char *abs)
{
	if (n >= 2 && ((p[0] == '\xFF' && p[1] == '\xFE') || (p[0] == '\xFE' && p[1] == '\xFF'))) {
		return ctxd_fs_fail(
		    "'%s' is UTF-16 text (it starts with a UTF-16 byte-order mark); only "
		    "UTF-8 is read. Convert it, or use read_media_file for binary "
		    "content",
		    abs);
	}
	if (ctxd_fs_looks_binary(p, n)) {
		return ctxd_fs_fail(
		    "'%s' is a binary file (it contains NUL bytes); use read_media_file "
		    "for images and audio",
		    abs);
	}
	return NULL;
}

/* Append to `b` the text with each line prefixed by its number (cat -n style:
 * right-aligned, a tab), as the body of a JSON string (the text is valid UTF-8). */
static void numbered(struct ctxd_strbuf *b, const char *s, size_t n, size_t first)
{
	size_t line = first;
	for (size_t i = 0; i < n;) {
		const char *q = memchr(s + i, '\n', n - i);
		size_t e = q ? (size_t)(q - s) + 1 : n;
		ctxd_strbuf_printf(b, "%6zu\\t", line++);
		ctxd_json_text_part(b, s + i, e - i);
		i = e;
	}
}

/* One read_text_file call: its window arguments, the open file, and what the read found. */
struct text_read {
	size_t head, tail, offset, limit;
	bool has_head, has_tail, has_offset, has_limit;
	int fd;
	struct stat st;
	struct ctxd_sandbox_loc *loc; /* the caller's, not zeroed: two paths of 4 KiB */
	size_t cap, fsize, rsize;
	char *rbuf;
	size_t prefilled; /* bytes of the file's start already in rbuf (the loop thread's read) */
	bool has_prefill;
	struct reader r;
	bool count_all, counted, eof, has_next;
	off_t start_off;
	size_t total, start_line, end_line;
};

/* Read head/tail/offset/limit into t; false with *res set when they do not combine. */
static bool text_args(json_t *args, struct text_read *t, json_t **res)
{
	t->offset = 1;
	t->has_head = ctxd_fs_int_arg(args, "head", &t->head);
	t->has_tail = ctxd_fs_int_arg(args, "tail", &t->tail);
	t->has_offset = ctxd_fs_int_arg(args, "offset", &t->offset);
	t->has_limit = ctxd_fs_int_arg(args, "limit", &t->limit);
	if (t->has_head && t->has_tail) {
		*res =
		    ctxd_fs_fail("arguments 'head' and 'tail' cannot be used together; use one, or "
				 "'offset' and 'limit' for a window");
		return false;
	}
	if ((t->has_head || t->has_tail) && (t->has_offset || t->has_limit)) {
		*res = ctxd_fs_fail(
		    "argument '%s' cannot be combined with 'offset'/'limit'; use either "
		    "'%s' alone or 'offset' and 'limit'",
		    t->has_head ? "head" : "tail", t->has_head ? "head" : "tail");
		return false;
	}
	if (t->has_offset && t->offset < 1) {
		*res =
		    ctxd_fs_fail("argument 'offset' must be at least 1 (lines are counted from 1)");
		return false;
	}
	return true;
}

/* Open the path as a regular file into t->fd and t->st; false with *res set (and nothing
 * left open) otherwise. */
static bool text_open(const struct ctxd_tool_ctx *ctx, const char *path, size_t plen,
		      struct text_read *t, json_t **res)
{
	*res = ctxd_fs_open_path(ctx, path, plen, O_RDONLY | O_NONBLOCK | O_NOCTTY,
				 CTXD_FS_ARG_FILE_HINT, &t->fd, t->loc);
	if (*res) {
		return false;
	}
	if (fstat(t->fd, &t->st) < 0) {
		*res = ctxd_fs_fail("cannot read '%s': %s", t->loc->abs, strerror(errno));
	} else if (S_ISDIR(t->st.st_mode)) {
		*res = ctxd_fs_fail(
		    "'%s' is a directory, not a file; use list_directory to see its entries",
		    t->loc->abs);
	} else if (!S_ISREG(t->st.st_mode)) {
		*res = ctxd_fs_fail(
		    "'%s' is not a regular file (device, FIFO or socket); refusing to read "
		    "it",
		    t->loc->abs);
	} else {
		return true;
	}
	close(t->fd);
	return false;
}

/* The most bytes a file may have for the loop thread's attempt (ctx->nowait): reading it
 * there costs a few microseconds, against two thread switches saved. */
#define NOWAIT_MAX (64 * 1024)

void (*ctxd_fs_nowait_test_hook)(int fd);

/* The loop thread's attempt (ctx->nowait): open the path from the kernel's caches, and keep
 * it only when it is a regular file of at most NOWAIT_MAX bytes that is wholly in the page
 * cache. Its one read (preadv2 RWF_NOWAIT, which never waits for a disk) is the read the
 * answer is made of: the bytes stay in t->rbuf (t->prefilled) for text_scan. False, with
 * nothing left open or allocated, when any of that does not hold: a short read (bytes not
 * cached, or the file shrank since the fstat) and a long one (it grew) alike. */
static bool text_open_cached(const struct ctxd_tool_ctx *ctx, const char *path, size_t plen,
			     struct text_read *t)
{
	t->fd = ctxd_sandbox_open_cached(ctx->sandbox, path, plen, O_RDONLY | O_NONBLOCK | O_NOCTTY,
					 t->loc, &t->st);
	if (t->fd < 0) {
		return false;
	}
	if (S_ISREG(t->st.st_mode) && t->st.st_size <= NOWAIT_MAX) {
		/* one byte more than the size: a file that grew since the fstat shows */
		size_t want = (size_t)t->st.st_size + 1;
		t->rsize = want < FS_BINARY_PROBE ? FS_BINARY_PROBE : want;
		t->rbuf = malloc(t->rsize);
		if (ctxd_fs_nowait_test_hook) {
			ctxd_fs_nowait_test_hook(t->fd);
		}
		if (t->rbuf) {
			struct iovec iov = {t->rbuf, want};
			ssize_t n = preadv2(t->fd, &iov, 1, 0, RWF_NOWAIT);
			if (n == (ssize_t)t->st.st_size) {
				t->prefilled = (size_t)n;
				t->has_prefill = true;
				return true;
			}
		}
		free(t->rbuf);
		t->rbuf = NULL;
	}
	close(t->fd);
	return false;
}

/* For tail: check the file's start for binary content, then place the reader at the
 * first of the last `tail` lines (counting the lines before it when needed). */
static bool text_tail_start(const struct ctxd_tool_ctx *ctx, struct text_read *t, json_t **res)
{
	struct reader *r = &t->r;
	/* The probe for binary content must look at the file's start even though the
	 * read itself begins near the end. */
	t->has_prefill = false; /* rbuf is the tail search's scratch space from here */
	ssize_t got = ctxd_fs_pread_full(
	    t->fd, t->rbuf, FS_BINARY_PROBE < t->fsize ? FS_BINARY_PROBE : t->fsize, 0);
	if (got < 0) {
		*res = ctxd_fs_fail("cannot read '%s': %s", t->loc->abs, strerror(errno));
		return false;
	}
	if ((*res = probe_text(t->rbuf, (size_t)got, t->loc->abs))) {
		return false;
	}
	if (t->tail == 0) {
		r->want_end = 0;
		return true;
	}
	size_t before = 0;
	int rc =
	    tail_start(t->fd, t->st.st_size, t->tail, t->rbuf, t->rsize, ctx->job, &t->start_off);
	/* The prefix is counted for a small file, or when the tail itself is
	 * over the cap and nextOffset needs a real line number. */
	if (!t->count_all && t->fsize - (size_t)t->start_off <= t->cap) {
		t->counted = false;
	} else if (rc == 0) {
		rc = count_prefix(t->fd, t->start_off, t->rbuf, t->rsize, ctx->job, &before);
	}
	if (rc < 0) {
		*res = rc == -ECANCELED
			   ? ctxd_fs_fail("read of '%s' cancelled", t->loc->abs)
			   : ctxd_fs_fail("cannot read '%s': %s", t->loc->abs, strerror(-rc));
		return false;
	}
	r->line = before + 1;
	r->want_start = before + 1;
	return true;
}

/* Size the buffers and set the reader's line window from the arguments; false with *res
 * set (NULL when out of memory) otherwise. */
static bool text_window(const struct ctxd_tool_ctx *ctx, struct text_read *t, json_t **res)
{
	struct reader *r = &t->r;
	t->cap =
	    ctx->cfg && ctx->cfg->max_read_bytes ? ctx->cfg->max_read_bytes : DEFAULT_READ_BYTES;
	t->fsize = t->st.st_size > 0 ? (size_t)t->st.st_size : 0;
	if (!t->rbuf) { /* not read already by text_open_cached */
		t->rsize = t->fsize + 1 < READ_CHUNK ? t->fsize + 1 : READ_CHUNK;
		if (t->rsize < FS_BINARY_PROBE) {
			t->rsize = FS_BINARY_PROBE;
		}
		t->rbuf = malloc(t->rsize);
		if (!t->rbuf) {
			return false;
		}
	}

	t->count_all = t->fsize <= LINE_COUNT_MAX;
	t->counted = true; /* line numbers are absolute */
	r->cap = t->cap;
	r->want_start = 1;
	r->want_end = SIZE_MAX;
	r->line = 1;
	if (t->has_head) {
		r->want_end = t->head;
	} else if (t->has_offset || t->has_limit) {
		r->want_start = t->offset;
		r->line = 1;
		if (t->has_limit) {
			r->want_end =
			    t->offset + t->limit - 1; /* no overflow: both fit in 63 bits */
		}
	}
	if (t->has_tail && !text_tail_start(ctx, t, res)) {
		return false;
	}
	if (r->want_end < r->want_start) {
		r->done = true;
	}
	size_t prealloc =
	    t->fsize - ((size_t)t->start_off < t->fsize ? (size_t)t->start_off : t->fsize);
	r->out_cap = (prealloc < t->cap ? prealloc : t->cap) + 1;
	r->out = malloc(r->out_cap);
	return r->out != NULL;
}

/* Feed the file from t->start_off through the reader until the selection (and, for a file
 * whose lines are all counted, the end) is reached; false with *res set otherwise. */
static bool text_scan(const struct ctxd_tool_ctx *ctx, struct text_read *t, json_t **res)
{
	off_t off = t->start_off;
	for (;;) {
		if (ctxd_job_cancelled(ctx->job)) {
			*res = ctxd_fs_fail("read of '%s' cancelled", t->loc->abs);
			return false;
		}
		ssize_t got;
		if (t->has_prefill && off == 0) {
			got = (ssize_t)t->prefilled; /* the whole file (text_open_cached) */
			t->has_prefill = false;
		} else {
			got = pread(t->fd, t->rbuf, t->rsize, off);
		}
		if (got < 0) {
			if (errno == EINTR) {
				continue;
			}
			*res = ctxd_fs_fail("cannot read '%s': %s", t->loc->abs, strerror(errno));
			return false;
		}
		if (off == 0 &&
		    (*res = probe_text(
			 t->rbuf, (size_t)got < FS_BINARY_PROBE ? (size_t)got : FS_BINARY_PROBE,
			 t->loc->abs))) {
			return false;
		}
		rd_feed(&t->r, t->rbuf, (size_t)got);
		if (t->r.oom) {
			return false;
		}
		off += got;
		/* A short read at or past the size fstat reported is the end of a regular
		 * file; this saves the extra read() that would return 0. */
		if (got == 0 || ((size_t)got < t->rsize && off >= t->st.st_size)) {
			t->eof = true;
			return true;
		}
		if (t->r.done && !t->count_all) {
			return true;
		}
	}
}

/* Work out totalLines and the lines shown, then check the selection is UTF-8 (dropping a
 * BOM at the file's start); false with *res set when it is not, or the offset is past the
 * end. */
static bool text_bounds(struct text_read *t, json_t **res)
{
	struct reader *r = &t->r;
	bool nonempty = t->start_off > 0 || r->fed > 0;
	t->total = r->line - 1 + (nonempty && r->last != '\n' ? 1 : 0);
	if (t->has_tail && t->tail == 0) {
		r->want_start = t->total + 1;
	}
	if (t->eof && t->has_offset && t->offset > 1 && t->offset > t->total) {
		*res = ctxd_fs_fail(
		    "argument 'offset' (%zu) is past the end of '%s', which has %zu lines",
		    t->offset, t->loc->abs, t->total);
		return false;
	}
	t->start_line = r->want_start;
	if (r->truncated) {
		t->end_line = r->end_line;
	} else if (r->want_end < r->want_start) {
		t->end_line = t->start_line - 1;
	} else if (t->eof) {
		t->end_line = r->want_end < t->total ? r->want_end : t->total;
	} else {
		t->end_line = r->want_end; /* stopped early: the selection ended before EOF */
	}
	if (t->end_line < t->start_line - 1) {
		t->end_line = t->start_line - 1;
	}

	/* Encoding: UTF-8, its BOM (at the file's start) not returned; anything else is
	 * refused rather than shown as replacement characters. */
	if (t->start_off == 0 && r->want_start == 1 && r->out_len >= 3 &&
	    memcmp(r->out, "\xEF\xBB\xBF", 3) == 0) {
		memmove(r->out, r->out + 3, r->out_len - 3);
		r->out_len -= 3;
	}
	size_t bad = ctxd_utf8_invalid_at(r->out, r->out_len);
	if (bad != r->out_len) {
		*res = ctxd_fs_fail(
		    "'%s' is not UTF-8 text (invalid byte 0x%02X in the selection, %zu "
		    "bytes into it); it may use another encoding (e.g. Latin-1 or UTF-16) "
		    "or be binary. Use read_media_file for images and audio",
		    t->loc->abs, (unsigned)(unsigned char)r->out[bad], bad);
		return false;
	}
	return true;
}

/* Append to `b`, as the body of a JSON string, the note saying where a truncated read
 * stopped and how to continue. */
static void text_note(const struct text_read *t, struct ctxd_strbuf *b)
{
	const struct reader *r = &t->r;
	if (r->partial) {
		ctxd_strbuf_printf(b,
				   "[truncated: line %zu alone is longer than the %zu-byte read "
				   "limit; only its first %zu bytes are shown",
				   t->start_line, t->cap, r->out_len);
		if (t->has_next) {
			ctxd_strbuf_printf(b, "; the next line is at offset %zu", r->next_offset);
		}
	} else {
		ctxd_strbuf_printf(b, "[truncated at the %zu-byte read limit: lines %zu-%zu",
				   t->cap, t->start_line, t->end_line);
		if (t->eof) {
			ctxd_strbuf_printf(b, " of %zu", t->total);
		}
		ctxd_strbuf_str(b, " shown");
		if (t->has_next) {
			ctxd_strbuf_printf(b, "; continue with offset=%zu", r->next_offset);
		}
	}
	ctxd_strbuf_str(b, "]");
}

/* The tool result for the selection, written as JSON text (json_write.h) into ctx->out, or
 * built as a json_t when the handler is called without one: its text (numbered on
 * request), a truncation note, and structuredContent with the line numbers. NULL when out
 * of memory. */
static json_t *text_result(const struct ctxd_tool_ctx *ctx, struct text_read *t, json_t *args)
{
	const struct reader *r = &t->r;
	/* After a partial line, a next line exists when its newline was seen and more
	 * bytes follow (known at EOF), or the read stopped before EOF. */
	t->has_next = r->truncated &&
		      (t->eof ? r->next_offset <= t->total : !r->partial || r->line > r->end_line);
	struct ctxd_strbuf local = {0}, *b = ctx->out ? ctx->out : &local;
	size_t from = b->len;
	bool lines = json_is_true(json_object_get(args, "lineNumbers"));
	/* room for the worst case of both copies (json_write.h escapes into room for six bytes
	 * per byte), so that the buffer grows once, not once per copy - within the frame limit */
	size_t room = (lines ? 18 : 12) * r->out_len + 512 + 6 * strlen(t->loc->abs);
	if (b->max && room > b->max - b->len) {
		room = b->max - b->len;
	}
	ctxd_strbuf_reserve(b, room);
	ctxd_strbuf_str(b, "{\"content\":[{\"type\":\"text\",\"text\":");
	size_t esc = b->len; /* where the escaped text starts, quotes included */
	if (lines) {
		ctxd_strbuf_add(b, "\"", 1);
		numbered(b, r->out, r->out_len, t->start_line);
		ctxd_strbuf_add(b, "\"", 1);
	} else {
		ctxd_json_str(b, r->out, r->out_len); /* valid UTF-8: checked before */
	}
	size_t esc_len = b->len - esc;
	ctxd_strbuf_str(b, "}");
	if (r->truncated) {
		ctxd_strbuf_str(b, ",{\"type\":\"text\",\"text\":\"");
		text_note(t, b);
		ctxd_strbuf_str(b, "\"}");
	}
	ctxd_strbuf_str(b, "],\"structuredContent\":{\"path\":");
	ctxd_json_text(b, t->loc->abs, strlen(t->loc->abs));
	ctxd_strbuf_str(b, ",\"content\":");
	if (lines) {
		ctxd_json_str(b, r->out, r->out_len);
	} else if (!b->oom && ctxd_strbuf_reserve(b, esc_len)) {
		/* the same text, escaped once above: copy it (the buffer may have moved) */
		memcpy(b->p + b->len, b->p + esc, esc_len);
		b->len += esc_len;
		b->p[b->len] = '\0';
	}
	ctxd_strbuf_str(b, r->truncated ? ",\"truncated\":true" : ",\"truncated\":false");
	if (t->counted) {
		if (t->eof) {
			ctxd_strbuf_str(b, ",\"totalLines\":");
			ctxd_json_uint(b, t->total);
		}
		ctxd_strbuf_str(b, ",\"startLine\":");
		ctxd_json_uint(b, t->start_line);
		ctxd_strbuf_str(b, ",\"endLine\":");
		ctxd_json_uint(b, t->end_line);
		if (t->has_next) {
			ctxd_strbuf_str(b, ",\"nextOffset\":");
			ctxd_json_uint(b, r->next_offset);
		}
	}
	ctxd_strbuf_str(b, "}}");
	return ctxd_tool_written(ctx, b, from);
}

json_t *ctxd_fs_read_text_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!ctxd_fs_get_path(args, &path, &plen)) {
		return ctxd_fs_fail("argument 'path' is required");
	}
	struct ctxd_sandbox_loc loc;
	struct text_read t = {.loc = &loc};
	json_t *res = NULL;
	if (!text_args(args, &t, &res)) {
		return res;
	}
	if (ctx->nowait ? !text_open_cached(ctx, path, plen, &t)
			: !text_open(ctx, path, plen, &t, &res)) {
		return ctx->nowait ? CTXD_TOOL_WOULD_BLOCK : res;
	}
	if (text_window(ctx, &t, &res) && text_scan(ctx, &t, &res) && text_bounds(&t, &res)) {
		res = text_result(ctx, &t, args);
	}
	free(t.r.out);
	free(t.rbuf);
	close(t.fd);
	return res;
}
