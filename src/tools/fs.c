/* fs.c - the read-only file tools: read_text_file, list_directory, get_file_info,
 * search_files, list_allowed_directories (names and arguments as in the reference
 * filesystem server).
 *
 * Every path goes through the sandbox: user paths with ctxd_sandbox_open, walk steps with
 * ctxd_sandbox_openat (inside fs_walk.c). Text from disk (file content, file names) is
 * not guaranteed to be UTF-8, while JSON strings must be; invalid sequences become U+FFFD
 * so a stray Latin-1 byte never turns into a protocol error.
 */
#include "ctxd/tools_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/json_write.h"
#include "ctxd/provider.h"
#include "ctxd/sandbox.h"
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

/* ---- small helpers ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid or cut short. */
size_t fs_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	if (c < 0x80) {
		return 1;
	}
	size_t len;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		if (c == 0xE0) {
			lo = 0xA0;
		} else if (c == 0xED) {
			hi = 0x9F;
		}
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		if (c == 0xF0) {
			lo = 0x90;
		} else if (c == 0xF4) {
			hi = 0x8F;
		}
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi) {
		return 0;
	}
	for (size_t i = 2; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) {
			return 0;
		}
	}
	return len;
}

/* A new JSON string from `len` bytes of disk text; invalid UTF-8 becomes U+FFFD. */
/* Offset of the first invalid UTF-8 byte, or SIZE_MAX. ASCII runs are skipped eight bytes
 * at a time (file text is mostly ASCII). */
static size_t utf8_invalid_at(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		uint64_t w;
		if (i + 8 <= n && (memcpy(&w, u + i, 8), (w & 0x8080808080808080ULL) == 0)) {
			i += 8;
			continue;
		}
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = fs_utf8_seq(u + i, n - i);
		if (k == 0) {
			return i;
		}
		i += k;
	}
	return SIZE_MAX;
}

json_t *fs_text(const char *s, size_t len)
{
	/* checked here, faster than jansson's byte-by-byte check, which is then skipped */
	if (utf8_invalid_at(s, len) == SIZE_MAX) {
		return json_stringn_nocheck(s, len);
	}
	json_t *j;
	/* Worst case every byte becomes the 3-byte replacement character. */
	if (len > (SIZE_MAX - 1) / 3) {
		return NULL;
	}
	char *o = malloc(len * 3 + 1);
	if (!o) {
		return NULL;
	}
	size_t w = 0;
	const unsigned char *u = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		size_t k = fs_utf8_seq(u + i, len - i);
		if (k == 0) {
			memcpy(o + w, "\xEF\xBF\xBD", 3);
			w += 3;
			i++;
		} else {
			memcpy(o + w, u + i, k);
			w += k;
			i += k;
		}
	}
	j = json_stringn_nocheck(o, w); /* valid UTF-8 by construction */
	free(o);
	return j;
}

/* Largest prefix length <= n of s that does not end inside a UTF-8 sequence. */
size_t fs_utf8_trim(const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = n;
	size_t back = 0;
	while (i > 0 && back < 4 && (u[i - 1] & 0xC0) == 0x80) {
		i--;
		back++;
	}
	if (i == 0 || u[i - 1] < 0xC0) {
		return n;
	}
	/* u[i-1] is a lead byte: keep it only when its sequence is complete. */
	size_t need = u[i - 1] >= 0xF0 ? 4 : u[i - 1] >= 0xE0 ? 3 : 2;
	return back + 1 >= need ? n : i - 1;
}

/* An isError result; the message is made valid UTF-8 (a long path may be cut mid-way). */
json_t *fs_fail(const char *fmt, ...)
{
	char msg[1900];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)n;
	len = fs_utf8_trim(msg, len);
	msg[len] = '\0';
	unsigned char *u = (unsigned char *)msg;
	for (size_t i = 0; i < len;) {
		size_t k = fs_utf8_seq(u + i, len - i);
		if (k == 0) {
			u[i++] = '?';
		} else {
			i += k;
		}
	}
	return ctxd_tool_error("%s", msg);
}

void fs_report_depth_cut(struct ctxd_strbuf *t, json_t *why, size_t too_deep)
{
	if (too_deep == 0) {
		return;
	}
	ctxd_strbuf_printf(t,
	                   "(%zu entries lie deeper than the %d-byte path limit and were not "
	                   "reached: start from a deeper directory to see them)\n",
	                   too_deep, CTXD_PATH_MAX);
	if (why) {
		json_array_append_new(why, json_string("depth"));
	}
}

bool fs_get_path(json_t *args, const char **p, size_t *len)
{
	json_t *j = json_object_get(args, "path");
	if (!json_is_string(j)) {
		return false;
	}
	*p = json_string_value(j);
	*len = json_string_length(j);
	return true;
}

size_t fs_cfg_entries(const struct ctxd_tool_ctx *ctx)
{
	return ctx->cfg && ctx->cfg->max_entries ? ctx->cfg->max_entries : FS_DEFAULT_ENTRIES;
}

bool fs_looks_binary(const char *p, size_t n)
{
	return memchr(p, '\0', n) != NULL;
}

/* Add a text block to a CallToolResult's content array. */
static void add_text_block(json_t *result, const char *text)
{
	json_t *content = json_object_get(result, "content");
	json_t *t = json_string(text);
	if (content && t) {
		json_array_append_new(content, json_pack("{s:s, s:o}", "type", "text", "text", t));
	} else {
		json_decref(t);
	}
}

/* ---- read_text_file --------------------------------------------------------------- */

/* Count '\n' bytes, eight at a time: a byte of x = w ^ "\n\n..." is zero exactly when the
 * high bit of ((x & 0x7f..) + 0x7f..) | x is clear (no carries cross byte lanes). */
size_t fs_count_nl(const char *p, size_t n)
{
	const uint64_t ones = 0x0101010101010101ULL;
	const uint64_t high = ones * 0x80;
	const uint64_t nl = ones * '\n';
	size_t c = 0;
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
	if (r->out_len + n > r->out_cap) {
		size_t c = r->out_cap ? r->out_cap : 4096;
		while (c < r->out_len + n) {
			c *= 2;
		}
		char *q = realloc(r->out, c);
		if (!q) {
			r->oom = true;
			r->done = true;
			return;
		}
		r->out = q;
		r->out_cap = c;
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
	while (p < e) {
		if (r->done) {
			r->line += fs_count_nl(p, (size_t)(e - p));
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
				r->out_len = fs_utf8_trim(r->out, r->out_len);
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

ssize_t fs_pread_full(int fd, char *buf, size_t n, off_t off)
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
		ssize_t got = fs_pread_full(fd, buf, k, pos);
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
		ssize_t got = fs_pread_full(fd, buf, k, pos);
		if (got < 0) {
			return -errno;
		}
		if (got == 0) {
			break;
		}
		*lines += fs_count_nl(buf, (size_t)got);
		pos += got;
	}
	return 0;
}

static bool int_arg(json_t *args, const char *key, size_t *v)
{
	json_t *j = json_object_get(args, key);
	if (!json_is_integer(j)) {
		return false;
	}
	json_int_t x = json_integer_value(j);
	*v = x < 0 ? 0 : (size_t)x;
	return true;
}

/* An error result when the first bytes show the file is not UTF-8 text, else NULL. */
static json_t *probe_text(const char *p, size_t n, const char *abs)
{
	if (n >= 2 && ((p[0] == '\xFF' && p[1] == '\xFE') || (p[0] == '\xFE' && p[1] == '\xFF'))) {
		return fs_fail("'%s' is UTF-16 text (it starts with a UTF-16 byte-order mark); only "
		               "UTF-8 is read. Convert it, or use read_media_file for binary "
		               "content",
		               abs);
	}
	if (fs_looks_binary(p, n)) {
		return fs_fail("'%s' is a binary file (it contains NUL bytes); use read_media_file "
		               "for images and audio",
		               abs);
	}
	return NULL;
}

/* The text with each line prefixed by its number (cat -n style: right-aligned, a tab). */
static json_t *numbered(const char *s, size_t n, size_t first)
{
	struct ctxd_strbuf b = {0};
	size_t line = first;
	for (size_t i = 0; i < n;) {
		const char *q = memchr(s + i, '\n', n - i);
		size_t e = q ? (size_t)(q - s) + 1 : n;
		ctxd_strbuf_printf(&b, "%6zu\t", line++);
		ctxd_strbuf_add(&b, s + i, e - i);
		i = e;
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	json_t *j = fs_text(b.p ? b.p : "", b.len);
	free(b.p);
	return j;
}

json_t *fs_read_text_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!fs_get_path(args, &path, &plen)) {
		return fs_fail("argument 'path' is required");
	}
	size_t head = 0, tail = 0, offset = 1, limit = 0;
	bool has_head = int_arg(args, "head", &head);
	bool has_tail = int_arg(args, "tail", &tail);
	bool has_offset = int_arg(args, "offset", &offset);
	bool has_limit = int_arg(args, "limit", &limit);
	if (has_head && has_tail) {
		return fs_fail("arguments 'head' and 'tail' cannot be used together; use one, or "
		            "'offset' and 'limit' for a window");
	}
	if ((has_head || has_tail) && (has_offset || has_limit)) {
		return fs_fail("argument '%s' cannot be combined with 'offset'/'limit'; use either "
		            "'%s' alone or 'offset' and 'limit'",
		            has_head ? "head" : "tail", has_head ? "head" : "tail");
	}
	if (has_offset && offset < 1) {
		return fs_fail("argument 'offset' must be at least 1 (lines are counted from 1)");
	}

	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	int fd = ctxd_sandbox_open(ctx->sandbox, path, plen, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0,
	                           false, &loc, &err);
	if (fd < 0) {
		if (err.sys_errno == EISDIR) {
			return fs_fail("'%s' is a directory, not a file; use list_directory to see "
			            "its entries",
			            path);
		}
		return fs_fail("%s", err.msg);
	}
	json_t *res = NULL;
	char *rbuf = NULL;
	struct reader r = {0};
	struct stat st;
	if (fstat(fd, &st) < 0) {
		res = fs_fail("cannot read '%s': %s", loc.abs, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		res = fs_fail("'%s' is a directory, not a file; use list_directory to see its entries",
		           loc.abs);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		res = fs_fail("'%s' is not a regular file (device, FIFO or socket); refusing to read "
		           "it",
		           loc.abs);
		goto out;
	}

	size_t cap =
	    ctx->cfg && ctx->cfg->max_read_bytes ? ctx->cfg->max_read_bytes : DEFAULT_READ_BYTES;
	size_t fsize = st.st_size > 0 ? (size_t)st.st_size : 0;
	size_t rsize = fsize + 1 < READ_CHUNK ? fsize + 1 : READ_CHUNK;
	if (rsize < FS_BINARY_PROBE) {
		rsize = FS_BINARY_PROBE;
	}
	rbuf = malloc(rsize);
	if (!rbuf) {
		goto out;
	}

	bool count_all = fsize <= LINE_COUNT_MAX;
	bool counted = true; /* line numbers are absolute */
	bool eof = false;
	r.cap = cap;
	r.want_start = 1;
	r.want_end = SIZE_MAX;
	r.line = 1;
	off_t start_off = 0;
	if (has_head) {
		r.want_end = head;
	} else if (has_offset || has_limit) {
		r.want_start = offset;
		r.line = 1;
		if (has_limit) {
			r.want_end = offset + limit - 1; /* no overflow: both fit in 63 bits */
		}
	}
	if (has_tail) {
		/* The probe for binary content must look at the file's start even though the
		 * read itself begins near the end. */
		ssize_t got = fs_pread_full(fd, rbuf, FS_BINARY_PROBE < fsize ? FS_BINARY_PROBE : fsize, 0);
		if (got < 0) {
			res = fs_fail("cannot read '%s': %s", loc.abs, strerror(errno));
			goto out;
		}
		if ((res = probe_text(rbuf, (size_t)got, loc.abs))) {
			goto out;
		}
		if (tail > 0) {
			size_t before = 0;
			int rc =
			    tail_start(fd, st.st_size, tail, rbuf, rsize, ctx->job, &start_off);
			/* The prefix is counted for a small file, or when the tail itself is
			 * over the cap and nextOffset needs a real line number. */
			if (!count_all && fsize - (size_t)start_off <= cap) {
				counted = false;
			} else if (rc == 0) {
				rc = count_prefix(fd, start_off, rbuf, rsize, ctx->job, &before);
			}
			if (rc < 0) {
				res = rc == -ECANCELED
				          ? fs_fail("read of '%s' cancelled", loc.abs)
				          : fs_fail("cannot read '%s': %s", loc.abs, strerror(-rc));
				goto out;
			}
			r.line = before + 1;
			r.want_start = before + 1;
		} else {
			r.want_end = 0;
		}
	}
	if (r.want_end < r.want_start) {
		r.done = true;
	}
	size_t prealloc = fsize - ((size_t)start_off < fsize ? (size_t)start_off : fsize);
	r.out_cap = (prealloc < cap ? prealloc : cap) + 1;
	r.out = malloc(r.out_cap);
	if (!r.out) {
		goto out;
	}

	off_t off = start_off;
	for (;;) {
		if (ctxd_job_cancelled(ctx->job)) {
			res = fs_fail("read of '%s' cancelled", loc.abs);
			goto out;
		}
		ssize_t got = pread(fd, rbuf, rsize, off);
		if (got < 0) {
			if (errno == EINTR) {
				continue;
			}
			res = fs_fail("cannot read '%s': %s", loc.abs, strerror(errno));
			goto out;
		}
		if (off == 0 &&
		    (res = probe_text(rbuf, (size_t)got < FS_BINARY_PROBE ? (size_t)got
		                                                           : FS_BINARY_PROBE,
		                      loc.abs))) {
			goto out;
		}
		rd_feed(&r, rbuf, (size_t)got);
		if (r.oom) {
			goto out;
		}
		off += got;
		/* A short read at or past the size fstat reported is the end of a regular
		 * file; this saves the extra read() that would return 0. */
		if (got == 0 || ((size_t)got < rsize && off >= st.st_size)) {
			eof = true;
			break;
		}
		if (r.done && !count_all) {
			break;
		}
	}

	bool nonempty = start_off > 0 || r.fed > 0;
	size_t total = r.line - 1 + (nonempty && r.last != '\n' ? 1 : 0);
	if (has_tail && tail == 0) {
		r.want_start = total + 1;
	}
	if (eof && has_offset && offset > 1 && offset > total) {
		res = fs_fail("argument 'offset' (%zu) is past the end of '%s', which has %zu lines",
		           offset, loc.abs, total);
		goto out;
	}
	size_t start_line = r.want_start;
	size_t end_line;
	if (r.truncated) {
		end_line = r.end_line;
	} else if (r.want_end < r.want_start) {
		end_line = start_line - 1;
	} else if (eof) {
		end_line = r.want_end < total ? r.want_end : total;
	} else {
		end_line = r.want_end; /* stopped early: the selection ended before EOF */
	}
	if (end_line < start_line - 1) {
		end_line = start_line - 1;
	}

	/* Encoding: UTF-8, its BOM (at the file's start) not returned; anything else is
	 * refused rather than shown as replacement characters. */
	if (start_off == 0 && r.want_start == 1 && r.out_len >= 3 &&
	    memcmp(r.out, "\xEF\xBB\xBF", 3) == 0) {
		memmove(r.out, r.out + 3, r.out_len - 3);
		r.out_len -= 3;
	}
	size_t bad = utf8_invalid_at(r.out, r.out_len);
	if (bad != SIZE_MAX) {
		res = fs_fail("'%s' is not UTF-8 text (invalid byte 0x%02X in the selection, %zu bytes "
		              "into it); it may use another encoding (e.g. Latin-1 or UTF-16) or be "
		              "binary. Use read_media_file for images and audio",
		              loc.abs, (unsigned)(unsigned char)r.out[bad], bad);
		goto out;
	}
	json_t *content = json_stringn_nocheck(r.out, r.out_len); /* checked just above */
	if (!content) {
		goto out;
	}
	json_t *shown = NULL;
	if (json_is_true(json_object_get(args, "lineNumbers"))) {
		shown = numbered(r.out, r.out_len, start_line);
		if (!shown) {
			json_decref(content);
			goto out;
		}
	}
	json_t *sc = json_pack("{s:s, s:O, s:b}", "path", loc.abs, "content", content, "truncated",
	                       r.truncated);
	if (shown) {
		json_decref(content);
		content = shown;
	}
	/* After a partial line, a next line exists when its newline was seen and more
	 * bytes follow (known at EOF), or the read stopped before EOF. */
	bool has_next =
	    r.truncated && (eof ? r.next_offset <= total : !r.partial || r.line > r.end_line);
	if (sc && counted) {
		if (eof) {
			json_object_set_new(sc, "totalLines", json_integer((json_int_t)total));
		}
		json_object_set_new(sc, "startLine", json_integer((json_int_t)start_line));
		json_object_set_new(sc, "endLine", json_integer((json_int_t)end_line));
		if (has_next) {
			json_object_set_new(sc, "nextOffset",
			                    json_integer((json_int_t)r.next_offset));
		}
	}
	res = sc ? json_pack("{s:[{s:s, s:o}], s:o}", "content", "type", "text", "text", content,
	                     "structuredContent", sc)
	         : NULL;
	if (!res) {
		json_decref(content);
		json_decref(sc);
		goto out;
	}
	if (r.truncated) {
		char note[256];
		if (r.partial) {
			snprintf(
			    note, sizeof(note),
			    "[truncated: line %zu alone is longer than the %zu-byte read limit; "
			    "only its first %zu bytes are shown%s]",
			    start_line, cap, r.out_len,
			    has_next ? "; the next line is at offset " : "");
		} else {
			int k = snprintf(note, sizeof(note),
			                 "[truncated at the %zu-byte read limit: lines %zu-%zu",
			                 cap, start_line, end_line);
			if (k > 0 && (size_t)k < sizeof(note) && eof) {
				snprintf(note + k, sizeof(note) - (size_t)k, " of %zu shown",
				         total);
			} else if (k > 0 && (size_t)k < sizeof(note)) {
				snprintf(note + k, sizeof(note) - (size_t)k, " shown");
			}
		}
		struct ctxd_strbuf nb = {0};
		ctxd_strbuf_str(&nb, note);
		if (has_next) {
			ctxd_strbuf_printf(&nb, r.partial ? "%zu]" : "; continue with offset=%zu]",
			          r.next_offset);
		} else {
			ctxd_strbuf_str(&nb, "]");
		}
		if (nb.oom) {
			free(nb.p);
			json_decref(res);
			res = NULL;
			goto out;
		}
		add_text_block(res, nb.p);
		free(nb.p);
	}
out:
	free(r.out);
	free(rbuf);
	close(fd);
	return res;
}

/* ---- list_directory --------------------------------------------------------------- */

static const char *type_name(enum ctxd_fs_walk_type t)
{
	switch (t) {
	case CTXD_FS_WALK_FILE:
		return "file";
	case CTXD_FS_WALK_DIR:
		return "directory";
	case CTXD_FS_WALK_SYMLINK:
		return "symlink";
	default:
		return "other";
	}
}

static const char *type_tag(enum ctxd_fs_walk_type t)
{
	switch (t) {
	case CTXD_FS_WALK_FILE:
		return "[FILE]";
	case CTXD_FS_WALK_DIR:
		return "[DIR]";
	case CTXD_FS_WALK_SYMLINK:
		return "[LINK]";
	default:
		return "[OTHER]";
	}
}

struct list_state {
	json_t *entries;
	struct ctxd_strbuf text;
	size_t max;
	bool truncated;
	bool oom;
};

static int list_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct list_state *s = ud;
	if (json_array_size(s->entries) >= s->max) {
		s->truncated = true;
		return CTXD_FS_WALK_STOP;
	}
	json_t *name = fs_text(e->name, e->name_len);
	json_t *ent =
	    name ? json_pack("{s:O, s:s}", "name", name, "type", type_name(e->type)) : NULL;
	if (!ent || json_array_append_new(s->entries, ent) < 0) {
		json_decref(name);
		s->oom = true;
		return CTXD_FS_WALK_STOP;
	}
	ctxd_strbuf_str(&s->text, type_tag(e->type));
	ctxd_strbuf_add(&s->text, " ", 1);
	ctxd_strbuf_str(&s->text, json_string_value(name));
	ctxd_strbuf_add(&s->text, "\n", 1);
	json_decref(name);
	return CTXD_FS_WALK_SKIP;
}

static json_t *open_dir_failed(const char *path, const struct ctxd_error *err)
{
	if (err->sys_errno == ENOTDIR) {
		return fs_fail("'%s' is not a directory; use read_text_file or get_file_info for a "
		            "file",
		            path);
	}
	return fs_fail("%s", err->msg);
}

static json_t *list_directory(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!fs_get_path(args, &path, &plen)) {
		return fs_fail("argument 'path' is required");
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	int fd =
	    ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH | O_DIRECTORY, 0, false, &loc, &err);
	if (fd < 0) {
		return open_dir_failed(path, &err);
	}
	struct list_state s = {.entries = json_array(), .max = fs_cfg_entries(ctx)};
	json_t *res = NULL;
	if (!s.entries) {
		goto out;
	}
	struct ctxd_fs_walk_opts o = {
	    .max_depth = 1,
	    .sorted = true,
	    .job = ctx->job,
	    .progress = ctx->progress,
	    .visit = list_visit,
	    .ud = &s,
	};
	int rc = ctxd_fs_walk(fd, &o, NULL);
	if (s.oom || rc == -ENOMEM || s.text.oom) {
		goto out;
	}
	if (rc == -ECANCELED) {
		res = fs_fail("listing of '%s' cancelled", loc.abs);
		goto out;
	}
	if (rc < 0) {
		res = fs_fail("cannot list '%s': %s", loc.abs, strerror(-rc));
		goto out;
	}
	if (json_array_size(s.entries) == 0) {
		ctxd_strbuf_str(&s.text, "(empty directory)\n");
	}
	if (s.truncated) {
		ctxd_strbuf_printf(&s.text, "(truncated: only the first %zu entries are listed)\n", s.max);
	}
	if (s.text.oom) {
		goto out;
	}
	if (s.text.len > 0 && s.text.p[s.text.len - 1] == '\n') {
		s.text.p[--s.text.len] = '\0';
	}
	json_t *sc = json_pack("{s:s, s:O, s:b}", "path", loc.abs, "entries", s.entries,
	                       "truncated", s.truncated);
	if (sc) {
		res = ctxd_tool_result(s.text.p, sc);
	}
out:
	json_decref(s.entries);
	free(s.text.p);
	close(fd);
	return res;
}

/* ---- get_file_info ---------------------------------------------------------------- */

static void iso_time(const struct statx_timestamp *ts, char *buf, size_t n)
{
	struct tm tm;
	time_t t = (time_t)ts->tv_sec;
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, n, "1970-01-01T00:00:00.000Z");
		return;
	}
	size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + k, n - k, ".%03uZ", (unsigned)(ts->tv_nsec / 1000000u));
}

static const char *mode_type(mode_t m)
{
	if (S_ISREG(m)) {
		return "file";
	}
	if (S_ISDIR(m)) {
		return "directory";
	}
	if (S_ISLNK(m)) {
		return "symlink";
	}
	return "other";
}

static json_t *get_file_info(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!fs_get_path(args, &path, &plen)) {
		return fs_fail("argument 'path' is required");
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	/* First the path itself (a final symlink not followed) to learn whether it is a
	 * link, then, for a link, its target when the target stays inside the root. */
	int fd = ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH, 0, true, &loc, &err);
	if (fd < 0) {
		return fs_fail("%s", err.msg);
	}
	const unsigned mask = STATX_BASIC_STATS | STATX_BTIME;
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, mask, &sx) < 0) {
		int e = errno;
		close(fd);
		return fs_fail("cannot stat '%s': %s", loc.abs, strerror(e));
	}
	close(fd);
	bool is_link = S_ISLNK(sx.stx_mode);
	bool target_ok = true;
	if (is_link) {
		/* A link whose target leaves the allowed directories is refused as every other
		 * tool refuses it (describing the link would still confirm what lies outside);
		 * only a dangling link inside a root is described itself. */
		struct ctxd_error err2 = {0};
		int tfd =
		    ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH, 0, false, NULL, &err2);
		if (tfd < 0 && err2.sys_errno != ENOENT) {
			return fs_fail("%s", err2.msg);
		}
		struct statx tx;
		if (tfd >= 0 && statx(tfd, "", AT_EMPTY_PATH, mask, &tx) == 0) {
			sx = tx;
		} else {
			target_ok = false;
		}
		if (tfd >= 0) {
			close(tfd);
		}
	}
	char mtime[40], atime[40], btime[40], perms[8];
	iso_time(&sx.stx_mtime, mtime, sizeof(mtime));
	iso_time(&sx.stx_atime, atime, sizeof(atime));
	bool has_birth = (sx.stx_mask & STATX_BTIME) != 0;
	if (has_birth) {
		iso_time(&sx.stx_btime, btime, sizeof(btime));
	}
	snprintf(perms, sizeof(perms), "%03o", (unsigned)(sx.stx_mode & 0777));
	mode_t m = sx.stx_mode;
	json_t *sc = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s, s:b, s:b, s:b}", "path", loc.abs,
	                       "type", mode_type(m), "size", (json_int_t)sx.stx_size, "modified",
	                       mtime, "accessed", atime, "permissions", perms, "isDirectory",
	                       S_ISDIR(m), "isFile", S_ISREG(m), "isSymlink", is_link);
	if (!sc) {
		return NULL;
	}
	if (has_birth) {
		json_object_set_new(sc, "created", json_string(btime));
	}
	struct ctxd_strbuf t = {0};
	ctxd_strbuf_printf(&t, "path: %s\n", loc.abs);
	ctxd_strbuf_printf(&t, "type: %s\n", mode_type(m));
	ctxd_strbuf_printf(&t, "size: %llu\n", (unsigned long long)sx.stx_size);
	if (has_birth) {
		ctxd_strbuf_printf(&t, "created: %s\n", btime);
	}
	ctxd_strbuf_printf(&t, "modified: %s\naccessed: %s\n", mtime, atime);
	ctxd_strbuf_printf(&t, "isDirectory: %s\nisFile: %s\n", S_ISDIR(m) ? "true" : "false",
	          S_ISREG(m) ? "true" : "false");
	ctxd_strbuf_printf(&t, "permissions: %s\nisSymlink: %s", perms, is_link ? "true" : "false");
	if (is_link && !target_ok) {
		ctxd_strbuf_str(&t, "\n(the link's target is missing; the link itself is "
				    "described)");
	}
	if (t.oom) {
		json_decref(sc);
		return NULL;
	}
	json_t *res = ctxd_tool_result(t.p, sc);
	free(t.p);
	return res;
}

/* ---- search_files: glob patterns -------------------------------------------------- */

#define GLOB_MAX_COMPS 63
#define GLOB_MAX_ALTS  64

/* One brace-free pattern split into path components. State i of its matcher means "the
 * next path component must match comps[i]"; state n means "matched completely". */
struct glob {
	char *buf;
	char *comps[GLOB_MAX_COMPS];
	bool star2[GLOB_MAX_COMPS];   /* the component is exactly "**" */
	bool literal[GLOB_MAX_COMPS]; /* no glob characters: strcmp is enough */
	unsigned n;
	bool dir_only; /* written with a trailing '/' */
	bool basename; /* exclude pattern without '/': matches any entry's name */
	bool exclude;
};

struct globset {
	struct glob *v;
	size_t n, cap;
};

static void globset_free(struct globset *gs)
{
	for (size_t i = 0; i < gs->n; i++) {
		free(gs->v[i].buf);
	}
	free(gs->v);
}

static uint64_t glob_closure(const struct glob *g, uint64_t m)
{
	for (unsigned i = 0; i < g->n; i++) {
		if ((m >> i & 1) && g->star2[i]) {
			m |= (uint64_t)1 << (i + 1);
		}
	}
	return m;
}

static uint64_t glob_step(const struct glob *g, uint64_t m, const char *comp)
{
	uint64_t out = 0;
	for (unsigned i = 0; i < g->n; i++) {
		if (!(m >> i & 1)) {
			continue;
		}
		if (g->star2[i]) {
			out |= (uint64_t)1 << i;
		} else if (g->literal[i] ? strcmp(g->comps[i], comp) == 0
		                         : fnmatch(g->comps[i], comp, 0) == 0) {
			out |= (uint64_t)1 << (i + 1);
		}
	}
	return glob_closure(g, out);
}

/* Compile one brace-free pattern. Returns 0, or -1 when it has too many components. */
static int glob_compile(struct globset *gs, const char *pat, size_t len, bool exclude)
{
	if (gs->n == gs->cap) {
		size_t c = gs->cap ? gs->cap * 2 : 8;
		struct glob *v = realloc(gs->v, c * sizeof(*v));
		if (!v) {
			return -ENOMEM;
		}
		gs->v = v;
		gs->cap = c;
	}
	struct glob *g = &gs->v[gs->n];
	memset(g, 0, sizeof(*g));
	g->buf = strndup(pat, len);
	if (!g->buf) {
		return -ENOMEM;
	}
	gs->n++;
	g->exclude = exclude;
	g->basename = exclude && !memchr(pat, '/', len);
	char *s = g->buf;
	while (s[0] == '.' && s[1] == '/') {
		s += 2;
	}
	size_t sl = strlen(s);
	if (sl > 0 && s[sl - 1] == '/') {
		g->dir_only = true;
	}
	char *save = NULL;
	for (char *c = strtok_r(s, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
		bool star2 = strcmp(c, "**") == 0;
		if (star2 && g->n > 0 && g->star2[g->n - 1]) {
			continue; /* '**' after '**' adds nothing */
		}
		if (g->n == GLOB_MAX_COMPS) {
			return -E2BIG;
		}
		g->comps[g->n] = c;
		g->star2[g->n] = star2;
		g->literal[g->n] = strpbrk(c, "*?[\\") == NULL;
		g->n++;
	}
	return 0;
}

/* The first '{' (leftmost) that has a matching '}' and a ',' at its own level, found in one
 * pass with a stack of open braces (a scan from every '{' was quadratic: 4 s for 100,000
 * unmatched '{'). Sets *open and *close; false when there is none. `st` holds len slots. */
static bool brace_group(const char *pat, size_t len, size_t *st, bool *comma, size_t *open,
                        size_t *close)
{
	size_t depth = 0;
	bool found = false;
	for (size_t i = 0; i < len; i++) {
		if (pat[i] == '\\') {
			i++;
		} else if (pat[i] == '{') {
			comma[depth] = false;
			st[depth++] = i;
		} else if (pat[i] == ',' && depth > 0) {
			comma[depth - 1] = true;
		} else if (pat[i] == '}' && depth > 0) {
			depth--;
			if (comma[depth] && (!found || st[depth] < *open)) {
				found = true;
				*open = st[depth];
				*close = i;
			}
		}
	}
	return found;
}

static int brace_expand(const char *pat, size_t *budget,
                        int (*emit)(void *ud, const char *p, size_t len), void *ud)
{
	size_t len = strlen(pat), i = 0, j = 0;
	size_t *st = malloc((len + 1) * sizeof(*st));
	bool *comma = malloc(len + 1);
	bool found = st && comma && brace_group(pat, len, st, comma, &i, &j);
	free(st);
	free(comma);
	if (!st || !comma) {
		return -ENOMEM;
	}
	if (!found) {
		if (*budget == 0) {
			return -ERANGE;
		}
		(*budget)--;
		return emit(ud, pat, len);
	}
	/* Alternatives are the top-level comma-separated pieces of pat[i+1, j). */
	size_t a = i + 1, depth = 0;
	for (size_t k = i + 1; k <= j; k++) {
		if (k < j && pat[k] == '\\') {
			k++;
			continue;
		}
		if (k < j && pat[k] == '{') {
			depth++;
		} else if (k < j && pat[k] == '}') {
			depth--;
		}
		if (k == j || (pat[k] == ',' && depth == 0)) {
			size_t nl = i + (k - a) + (len - j - 1);
			char *alt = malloc(nl + 1);
			if (!alt) {
				return -ENOMEM;
			}
			memcpy(alt, pat, i);
			memcpy(alt + i, pat + a, k - a);
			memcpy(alt + i + (k - a), pat + j + 1, len - j - 1);
			alt[nl] = '\0';
			int rc = brace_expand(alt, budget, emit, ud);
			free(alt);
			if (rc < 0) {
				return rc;
			}
			a = k + 1;
		}
	}
	return 0;
}

/* Expand {a,b} alternatives of `pat` (nested allowed, backslash escapes), calling `emit`
 * for each resulting pattern; at most *budget results (-ERANGE past it). A '{' without a
 * matching '}' or without a top-level ',' is literal. Patterns longer than
 * CTXD_FS_GLOB_MAX are refused (-E2BIG) before any work. Shared by search_files and grep. */
int fs_brace_expand(const char *pat, size_t *budget,
                    int (*emit)(void *ud, const char *p, size_t len), void *ud)
{
	if (strlen(pat) > CTXD_FS_GLOB_MAX) {
		return -E2BIG;
	}
	return brace_expand(pat, budget, emit, ud);
}

struct glob_emit_ud {
	struct globset *gs;
	bool exclude;
};

static int glob_emit(void *ud, const char *p, size_t len)
{
	struct glob_emit_ud *u = ud;
	return glob_compile(u->gs, p, len, u->exclude);
}

/* Expand `pat`'s alternatives and compile each into `gs`. */
static int glob_expand(struct globset *gs, const char *pat, bool exclude, size_t *budget)
{
	struct glob_emit_ud u = {gs, exclude};
	return fs_brace_expand(pat, budget, glob_emit, &u);
}

struct search_state {
	struct globset gs;
	uint64_t *rows; /* per walk slot: the matcher state of the entry being classified */
	size_t max;
};

/* The matcher state after the entry's name, from its directory's state; the entry's
 * walk flags (KEEP when it matches, DESCEND when a glob may match below it). */
static unsigned search_classify(struct ctxd_fs_pw *w, unsigned slot, struct ctxd_fs_pw_node *d,
                                uint32_t i, const char *rel, size_t rel_len, void **child_state)
{
	struct search_state *s = ctxd_fs_pw_ud(w);
	struct ctxd_fs_pw_ent *e = &d->ents[i];
	const char *name = d->names + e->name_off;
	size_t ng = s->gs.n;
	const uint64_t *up = d->state;
	uint64_t *row = s->rows + (size_t)slot * ng;
	bool is_dir = e->type == CTXD_FS_WALK_DIR;
	bool matched = false, descend = false;
	(void)rel;
	(void)rel_len;
	for (size_t k = 0; k < ng; k++) {
		const struct glob *g = &s->gs.v[k];
		if (g->exclude && g->basename) {
			if (g->n == 1 && fnmatch(g->comps[0], name, 0) == 0) {
				return 0;
			}
			continue;
		}
		row[k] = glob_step(g, up[k], name);
		bool full = (row[k] >> g->n & 1) && (!g->dir_only || is_dir);
		if (g->exclude) {
			if (full) {
				return 0;
			}
			continue;
		}
		matched |= full;
		descend |= (row[k] & (((uint64_t)1 << g->n) - 1)) != 0;
	}
	unsigned f = 0;
	if (matched) {
		e->hits = 1;
		f |= CTXD_FS_PW_KEEP;
	}
	if (is_dir && descend) {
		uint64_t *st = malloc(ng * sizeof(*st));
		if (!st) {
			ctxd_fs_pw_abort(w);
			return f;
		}
		memcpy(st, row, ng * sizeof(*st));
		*child_state = st;
		f |= CTXD_FS_PW_DESCEND;
	}
	return f;
}

static void search_free_state(void *ud, void *state)
{
	(void)ud;
	free(state);
}

/* The matches in walk order, up to the limit (walk order decides which are kept, as one
 * pass over the tree would), with the counts that say what was not reached. */
struct search_merge {
	size_t max;
	char *arena; /* relative paths, NUL-separated */
	size_t arena_len, arena_cap;
	size_t *offs;
	size_t n, cap;
	size_t unreadable, too_long;
	bool truncated, oom;
};

static int search_each(void *ud, const struct ctxd_fs_pw_node *d, const struct ctxd_fs_pw_ent *e,
                       const char *rel, size_t rel_len)
{
	struct search_merge *m = ud;
	(void)d;
	if (e->flags & CTXD_FS_PW_LONG) {
		m->too_long++;
		return 0;
	}
	if (e->flags & CTXD_FS_PW_KEEP) {
		if (m->n == m->max) {
			m->truncated = true;
			return 1;
		}
		if (m->n == m->cap) {
			size_t c = m->cap ? m->cap * 2 : 64;
			size_t *o = realloc(m->offs, c * sizeof(*o));
			if (!o) {
				m->oom = true;
				return 1;
			}
			m->offs = o;
			m->cap = c;
		}
		if (m->arena_len + rel_len + 1 > m->arena_cap) {
			size_t c = m->arena_cap ? m->arena_cap * 2 : 4096;
			while (c < m->arena_len + rel_len + 1) {
				c *= 2;
			}
			char *a = realloc(m->arena, c);
			if (!a) {
				m->oom = true;
				return 1;
			}
			m->arena = a;
			m->arena_cap = c;
		}
		m->offs[m->n++] = m->arena_len;
		memcpy(m->arena + m->arena_len, rel, rel_len + 1);
		m->arena_len += rel_len + 1;
	}
	if (e->flags & CTXD_FS_PW_UNREADABLE) {
		m->unreadable++;
	}
	return 0;
}

/* The isError result for a glob glob_expand refused (rc -E2BIG or -ERANGE); `arg` names
 * the argument. At most 200 bytes of the glob are echoed back. */
static json_t *glob_refused(const char *arg, const char *pat, int rc)
{
	if (strlen(pat) > CTXD_FS_GLOB_MAX) {
		return fs_fail("argument '%s' is longer than %d bytes: shorten the glob", arg,
		               CTXD_FS_GLOB_MAX);
	}
	size_t len = strlen(pat);
	return fs_fail("argument '%s' (\"%.*s%s\") is not a usable glob: %s", arg,
	               (int)(len > 200 ? 200 : len), pat, len > 200 ? "..." : "",
	               rc == -ERANGE ? "more than 64 brace alternatives"
	                             : "more than 63 path components");
}

static int cmp_rel(const void *a, const void *b, void *arena)
{
	const char *base = arena;
	return strcmp(base + *(const size_t *)a, base + *(const size_t *)b);
}

static json_t *search_files(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!fs_get_path(args, &path, &plen)) {
		return fs_fail("argument 'path' is required");
	}
	const char *pattern = json_string_value(json_object_get(args, "pattern"));
	if (!pattern || pattern[0] == '\0') {
		return fs_fail("argument 'pattern' must be a non-empty glob, e.g. \"**/*.c\"");
	}
	struct search_state s = {.max = fs_cfg_entries(ctx)};
	struct search_merge m = {.max = s.max};
	struct ctxd_fs_pw *w = NULL;
	struct ctxd_fs_ignore_level *above = NULL;
	uint64_t *root_state = NULL;
	json_t *res = NULL;
	int fd = -1;
	size_t budget = GLOB_MAX_ALTS;
	int rc = glob_expand(&s.gs, pattern, false, &budget);
	if (rc == 0) {
		json_t *ex = json_object_get(args, "excludePatterns");
		size_t i;
		json_t *v;
		json_array_foreach(ex, i, v)
		{
			const char *xp = json_string_value(v);
			if (!xp || xp[0] == '\0') {
				res = fs_fail(
				    "argument 'excludePatterns[%zu]' must be a non-empty glob", i);
				goto out;
			}
			budget = GLOB_MAX_ALTS;
			rc = glob_expand(&s.gs, xp, true, &budget);
			if (rc < 0) {
				if (rc != -ENOMEM) {
					char arg[48];
					snprintf(arg, sizeof(arg), "excludePatterns[%zu]", i);
					res = glob_refused(arg, xp, rc);
				}
				goto out;
			}
		}
	} else if (rc != -ENOMEM) {
		res = glob_refused("pattern", pattern, rc);
		goto out;
	} else {
		goto out;
	}
	unsigned n_slots = ctxd_fs_pw_slots(ctx->pool);
	s.rows = malloc(n_slots * s.gs.n * sizeof(*s.rows));
	root_state = malloc(s.gs.n * sizeof(*root_state));
	if (!s.rows || !root_state) {
		goto out;
	}
	for (size_t i = 0; i < s.gs.n; i++) {
		root_state[i] = glob_closure(&s.gs.v[i], 1);
	}

	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	fd =
	    ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH | O_DIRECTORY, 0, false, &loc, &err);
	if (fd < 0) {
		res = open_dir_failed(path, &err);
		goto out;
	}
	size_t max_depth = 0;
	int_arg(args, "maxDepth", &max_depth);
	static const struct ctxd_fs_pw_ops ops = {.classify = search_classify,
	                                          .free_state = search_free_state};
	struct ctxd_fs_pw_opts o = {
	    .max_depth = (unsigned)(max_depth > 4096 ? 4096 : max_depth),
	    .limit = s.max,
	    .ops = &ops,
	    .ud = &s,
	    .root_state = root_state,
	};
	char abs[2 * CTXD_PATH_MAX];
	if (ctxd_fs_pw_prepare(&o, ctx, &loc, !json_is_false(json_object_get(args, "respectGitignore")),
	                       abs, sizeof(abs), &above) < 0) {
		goto out;
	}
	rc = ctxd_fs_pw_run(fd, &o, &w);
	if (rc == -ENOMEM || rc == -ECONNABORTED) {
		goto out;
	}
	if (rc == -ECANCELED) {
		res = fs_fail("search in '%s' cancelled", loc.abs);
		goto out;
	}
	bool timed_out = rc == -ETIMEDOUT;
	if (rc < 0 && !timed_out) {
		res = fs_fail("cannot search '%s': %s", loc.abs, strerror(-rc));
		goto out;
	}
	if (ctxd_fs_pw_each(w, search_each, &m) == -ENOMEM || m.oom) {
		goto out;
	}
	if (m.n > 1) {
		qsort_r(m.offs, m.n, sizeof(*m.offs), cmp_rel, m.arena);
	}

	/* Absolute path = the location's display path + "/" + rel ("/" root: no doubling).
	 * Each path is escaped once and written twice: in the text and in matches. */
	size_t blen = strlen(loc.abs);
	bool slash_root = blen == 1 && loc.abs[0] == '/';
	struct ctxd_strbuf esc = {0}, notes = {0};
	size_t *eoff = malloc((m.n + 1) * sizeof(*eoff));
	char *full = malloc(blen + 1 + CTXD_PATH_MAX);
	if (!eoff || !full) {
		free(eoff);
		free(full);
		goto out;
	}
	memcpy(full, loc.abs, blen);
	if (!slash_root) {
		full[blen++] = '/';
	}
	ctxd_strbuf_reserve(&esc, m.arena_len + m.n * blen + m.arena_len / 8);
	for (size_t i = 0; i < m.n; i++) {
		const char *rel = m.arena + m.offs[i];
		size_t rl = strlen(rel);
		memcpy(full + blen, rel, rl);
		eoff[i] = esc.len;
		ctxd_json_text_part(&esc, full, blen + rl);
	}
	eoff[m.n] = esc.len;
	free(full);
	if (m.n == 0) {
		ctxd_strbuf_str(&notes, "No matches found\n");
	}
	struct ctxd_strbuf why = {0};
	if (m.truncated) {
		ctxd_strbuf_printf(&notes,
		                   "(truncated after %zu matches; narrow the pattern or the path)\n",
		                   s.max);
		ctxd_strbuf_str(&why, ",\"maxResults\"");
	}
	if (timed_out) {
		ctxd_strbuf_str(&notes, "(stopped at the call's time limit (limits.call_ms): the "
		                        "result is incomplete; search a smaller directory)\n");
		ctxd_strbuf_str(&why, ",\"deadline\"");
	}
	if (m.too_long) {
		fs_report_depth_cut(&notes, NULL, m.too_long);
		ctxd_strbuf_str(&why, ",\"depth\"");
	}
	if (m.unreadable) {
		ctxd_strbuf_printf(&notes,
		                   "(%zu directories could not be read and were skipped: the "
		                   "result may be incomplete)\n",
		                   m.unreadable);
	}

	struct ctxd_strbuf local = {0}, *b = ctx->out ? ctx->out : &local;
	size_t from = b->len;
	ctxd_strbuf_reserve(b, 2 * esc.len + 4 * m.n + 2 * notes.len + 2 * blen + 4 * strlen(pattern) +
	                           256);
	ctxd_strbuf_str(b, "{\"content\":[{\"type\":\"text\",\"text\":\"");
	for (size_t i = 0; i < m.n; i++) {
		ctxd_strbuf_add(b, esc.p + eoff[i], eoff[i + 1] - eoff[i]);
		ctxd_strbuf_add(b, "\\n", 2);
	}
	if (notes.len) {
		ctxd_json_text_part(b, notes.p, notes.len);
	}
	b->len -= 2; /* the text's last "\n" */
	ctxd_strbuf_str(b, "\"}],\"structuredContent\":{\"path\":");
	ctxd_json_text(b, loc.abs, strlen(loc.abs));
	ctxd_strbuf_str(b, ",\"pattern\":");
	ctxd_json_text(b, pattern, strlen(pattern));
	ctxd_strbuf_str(b, ",\"matches\":[");
	for (size_t i = 0; i < m.n; i++) {
		ctxd_strbuf_add(b, i ? ",\"" : "\"", i ? 2 : 1);
		ctxd_strbuf_add(b, esc.p + eoff[i], eoff[i + 1] - eoff[i]);
		ctxd_strbuf_add(b, "\"", 1);
	}
	ctxd_strbuf_printf(b, "],\"count\":%zu,\"truncated\":%s,\"unreadable\":%zu", m.n,
	                   why.len ? "true" : "false", m.unreadable);
	if (why.len) {
		ctxd_strbuf_str(b, ",\"truncatedReasons\":[");
		ctxd_strbuf_add(b, why.p + 1, why.len - 1);
		ctxd_strbuf_str(b, "]");
	}
	ctxd_strbuf_str(b, "}}");
	if (esc.oom || notes.oom || why.oom) {
		b->oom = true;
	}
	free(esc.p);
	free(notes.p);
	free(why.p);
	free(eoff);
	res = ctxd_tool_written(ctx, b, from);
out:
	ctxd_fs_pw_free(w);
	ctxd_fs_ignore_chain_free(above);
	if (fd >= 0) {
		close(fd);
	}
	globset_free(&s.gs);
	free(s.rows);
	free(root_state);
	free(m.arena);
	free(m.offs);
	return res;
}

/* ---- the family's state ------------------------------------------------------------- */

struct ctxd_fs_family {
	struct ctxd_fs_ignore_cache *ignore;
};

struct ctxd_fs_family *ctxd_fs_family_create(void)
{
	struct ctxd_fs_family *f = calloc(1, sizeof(*f));
	if (f && !(f->ignore = ctxd_fs_ignore_cache_create())) {
		free(f);
		return NULL;
	}
	return f;
}

void ctxd_fs_family_attach(struct ctxd_fs_family *f, struct ctxd_watch *w)
{
	if (f) {
		ctxd_fs_ignore_cache_attach(f->ignore, w);
	}
}

void ctxd_fs_family_destroy(struct ctxd_fs_family *f)
{
	if (f) {
		ctxd_fs_ignore_cache_destroy(f->ignore);
		free(f);
	}
}

struct ctxd_fs_ignore_cache *fs_family_ignore_cache(void *ud)
{
	return ((struct ctxd_fs_family *)ud)->ignore;
}

/* ---- list_allowed_directories ----------------------------------------------------- */

static json_t *list_allowed_directories(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	(void)args;
	json_t *dirs = json_array();
	struct ctxd_strbuf t = {0};
	ctxd_strbuf_str(&t, "Allowed directories:");
	size_t n = ctxd_sandbox_root_count(ctx->sandbox);
	for (size_t i = 0; dirs && i < n; i++) {
		const struct ctxd_root *r = ctxd_sandbox_root(ctx->sandbox, i);
		json_t *p = fs_text(r->path, strlen(r->path));
		json_t *d = p ? json_pack("{s:O, s:b}", "path", p, "readOnly", r->read_only) : NULL;
		if (!d || json_array_append_new(dirs, d) < 0) {
			json_decref(p);
			json_decref(dirs);
			dirs = NULL;
			break;
		}
		ctxd_strbuf_add(&t, "\n", 1);
		ctxd_strbuf_str(&t, json_string_value(p));
		if (r->read_only) {
			ctxd_strbuf_str(&t, " (read-only)");
		}
		json_decref(p);
	}
	json_t *res = NULL;
	if (dirs && !t.oom) {
		res = ctxd_tool_result(t.p, json_pack("{s:o}", "directories", dirs));
	} else {
		json_decref(dirs);
	}
	free(t.p);
	return res;
}

/* ---- file:// resources ------------------------------------------------------------ */

#define RES_LIST_MAX 1000u

/* The absolute path in a file:// URI ("file:///p" or "file://localhost/p"), percent-
 * decoded into `out`. Returns its length or -1. */
static long uri_path(const char *uri, char *out, size_t cap)
{
	const char *p;
	if (strncmp(uri, "file:///", 8) == 0) {
		p = uri + 7;
	} else if (strncmp(uri, "file://localhost/", 17) == 0) {
		p = uri + 16;
	} else {
		return -1;
	}
	size_t w = 0;
	for (; *p && *p != '?' && *p != '#'; p++) {
		if (w + 1 >= cap) {
			return -1;
		}
		char c = *p;
		if (c == '%') {
			char hx[3] = {p[1], p[1] ? p[2] : '\0', '\0'};
			char *end;
			long v = strtol(hx, &end, 16);
			if (end != hx + 2) {
				return -1;
			}
			c = (char)v;
			p += 2;
		}
		out[w++] = c;
	}
	out[w] = '\0';
	return (long)w;
}

static int res_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
                    struct ctxd_error *err)
{
	(void)ud;
	size_t added = 0;
	size_t nr = ctxd_sandbox_root_count(ctx->sandbox);
	for (size_t r = 0; r < nr && added < RES_LIST_MAX; r++) {
		const struct ctxd_root *root = ctxd_sandbox_root(ctx->sandbox, r);
		int dfd = ctxd_sandbox_openat(root->fd, ".", O_RDONLY | O_DIRECTORY, 0, false);
		if (dfd < 0) {
			continue;
		}
		DIR *d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			continue;
		}
		struct dirent *de;
		while ((de = readdir(d)) && added < RES_LIST_MAX) {
			struct stat st;
			if (de->d_name[0] == '.' ||
			    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
			    !S_ISREG(st.st_mode)) {
				continue;
			}
			char abs[CTXD_PATH_MAX], uri[3 * CTXD_PATH_MAX + 16];
			bool slash = strcmp(root->path, "/") == 0;
			if ((size_t)snprintf(abs, sizeof(abs), "%s%s%s", root->path, slash ? "" : "/",
			                     de->d_name) >= sizeof(abs) ||
			    fs_file_uri(abs, uri, sizeof(uri)) < 0) {
				continue;
			}
			const char *mime = fs_sniff_mime(NULL, 0, de->d_name);
			json_t *j = json_pack("{s:s, s:o, s:I}", "uri", uri, "name",
			                      fs_text(de->d_name, strlen(de->d_name)), "size",
			                      (json_int_t)st.st_size);
			if (j && mime) {
				json_object_set_new(j, "mimeType", json_string(mime));
			}
			if (!j || json_array_append_new(out, j) < 0) {
				closedir(d);
				ctxd_error_set(err, CTXD_PROVIDER_FAILED, "out of memory");
				return -1;
			}
			added++;
		}
		closedir(d);
	}
	return 0;
}

static int res_templates(void *ud, json_t *out)
{
	(void)ud;
	return json_array_append_new(
	    out, json_pack("{s:s, s:s, s:s, s:s}", "uriTemplate", "file:///{+path}", "name",
	                   "file", "title", "Files in the allowed directories", "description",
	                   "Any file inside an allowed directory, by absolute path."));
}

static json_t *res_read(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
                        struct ctxd_error *err)
{
	(void)ud;
	char path[CTXD_PATH_MAX];
	long pl = uri_path(uri, path, sizeof(path));
	if (pl <= 0) {
		ctxd_error_set(err, CTXD_PROVIDER_NOT_FOUND, "not a file:// URI: %s", uri);
		return NULL;
	}
	struct ctxd_error e2 = {0};
	struct ctxd_sandbox_loc loc;
	int fd = ctxd_sandbox_open(ctx->sandbox, path, (size_t)pl, O_RDONLY | O_NONBLOCK | O_NOCTTY,
	                           0, false, &loc, &e2);
	if (fd < 0) {
		ctxd_error_set(err, CTXD_PROVIDER_NOT_FOUND, "Resource not found: %s", uri);
		return NULL;
	}
	struct stat st;
	size_t cap = ctx->cfg && ctx->cfg->max_media_bytes > ctx->cfg->max_read_bytes
	                 ? ctx->cfg->max_media_bytes
	                 : ctx->cfg && ctx->cfg->max_read_bytes ? ctx->cfg->max_read_bytes
	                                                        : (size_t)1 << 20;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		ctxd_error_set(err, CTXD_PROVIDER_NOT_FOUND, "Resource not found: %s (not a file)",
		               uri);
		return NULL;
	}
	char *buf = NULL;
	size_t n = 0;
	if (ctxd_read_all(fd, cap, &buf, &n) < 0) {
		int e = errno;
		close(fd);
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "cannot read %s: %s", uri,
		               e == EFBIG ? "larger than the server's read limit" : strerror(e));
		return NULL;
	}
	close(fd);
	const char *mime = fs_sniff_mime((const unsigned char *)buf, n, loc.abs);
	bool text = !fs_looks_binary(buf, n) && utf8_invalid_at(buf, n) == SIZE_MAX &&
	            (!mime || strncmp(mime, "text/", 5) == 0 || strstr(mime, "json") ||
	             strstr(mime, "xml") || strstr(mime, "yaml"));
	json_t *c = text ? json_pack("{s:s, s:s, s:s%}", "uri", uri, "mimeType",
	                             mime ? mime : "text/plain", "text", buf, n)
	                 : json_pack("{s:s, s:s, s:o}", "uri", uri, "mimeType",
	                             mime ? mime : "application/octet-stream", "blob",
	                             fs_base64((const unsigned char *)buf, n));
	free(buf);
	json_t *arr = c ? json_pack("[o]", c) : NULL;
	if (!arr) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "out of memory");
	}
	return arr;
}

static int res_watch_path(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
                          char *buf, size_t n)
{
	(void)ud;
	char path[CTXD_PATH_MAX];
	long pl = uri_path(uri, path, sizeof(path));
	if (pl <= 0) {
		return -1;
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	int fd = ctxd_sandbox_open(ctx->sandbox, path, (size_t)pl, O_PATH, 0, false, &loc, &err);
	if (fd < 0) {
		return -1;
	}
	close(fd);
	if (strlen(loc.abs) >= n) {
		return -1;
	}
	memcpy(buf, loc.abs, strlen(loc.abs) + 1);
	return 0;
}

struct complete_state {
	json_t *out;
	const char *dir; /* value up to and including its last '/' */
	size_t dir_len;
	const char *prefix;
	size_t prefix_len;
	size_t total;
};

static int complete_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct complete_state *s = ud;
	if (e->name_len < s->prefix_len || memcmp(e->name, s->prefix, s->prefix_len) != 0) {
		return CTXD_FS_WALK_SKIP;
	}
	s->total++;
	if (json_array_size(s->out) < 100) {
		struct ctxd_strbuf b = {0};
		ctxd_strbuf_add(&b, s->dir, s->dir_len);
		ctxd_strbuf_add(&b, e->name, e->name_len);
		if (e->type == CTXD_FS_WALK_DIR) {
			ctxd_strbuf_add(&b, "/", 1);
		}
		if (!b.oom) {
			json_array_append_new(s->out, fs_text(b.p, b.len));
		}
		free(b.p);
	}
	return CTXD_FS_WALK_SKIP;
}

/* Completion of {path} in file:///{+path}: the value is an absolute path without its
 * leading '/'. Entries of the directory it names that start with its last component; with
 * no directory inside a root yet, the roots themselves. */
static int res_complete(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri_template,
                        const char *var, const char *value, json_t *context_args, json_t *out,
                        size_t *total, struct ctxd_error *err)
{
	(void)ud;
	(void)uri_template;
	(void)context_args;
	*total = 0;
	if (strcmp(var, "path") != 0) {
		return 0;
	}
	const char *v = value ? value : "";
	while (*v == '/') {
		v++;
	}
	const char *slash = strrchr(v, '/');
	struct complete_state s = {.out = out,
	                           .dir = v,
	                           .dir_len = slash ? (size_t)(slash - v) + 1 : 0,
	                           .prefix = slash ? slash + 1 : v};
	s.prefix_len = strlen(s.prefix);
	char dir[CTXD_PATH_MAX];
	int k = snprintf(dir, sizeof(dir), "/%.*s", (int)s.dir_len, v);
	int fd = -1;
	struct ctxd_error e2 = {0};
	if (k > 0 && (size_t)k < sizeof(dir)) {
		fd = ctxd_sandbox_open(ctx->sandbox, dir, (size_t)k, O_PATH | O_DIRECTORY, 0, false,
		                       NULL, &e2);
	}
	if (fd < 0) {
		/* not inside a root yet: offer the roots */
		size_t nr = ctxd_sandbox_root_count(ctx->sandbox);
		for (size_t i = 0; i < nr; i++) {
			const char *rp = ctxd_sandbox_root(ctx->sandbox, i)->path + 1;
			if (strncmp(rp, v, strlen(v)) == 0) {
				(*total)++;
				if (json_array_size(out) < 100) {
					json_array_append_new(out, fs_text(rp, strlen(rp)));
				}
			}
		}
		return 0;
	}
	struct ctxd_fs_walk_opts o = {
	    .max_depth = 1,
	    .sorted = true,
	    .job = ctx->job,
	    .visit = complete_visit,
	    .ud = &s,
	};
	int rc = ctxd_fs_walk(fd, &o, NULL);
	close(fd);
	if (rc < 0 && rc != -ECANCELED) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "cannot list %s: %s", dir, strerror(-rc));
		return -1;
	}
	*total = s.total;
	return 0;
}

static const struct ctxd_resource_provider fs_provider = {
    .scheme = "file",
    .ud = NULL,
    .list = res_list,
    .templates = res_templates,
    .read = res_read,
    .watch_path = res_watch_path,
    .complete = res_complete,
};

const struct ctxd_resource_provider *ctxd_fs_resources(void)
{
	return &fs_provider;
}

/* ---- the table -------------------------------------------------------------------- */

#define RO_FLAGS (CTXD_TOOL_READ_ONLY | CTXD_TOOL_IDEMPOTENT)

const struct ctxd_tool ctxd_fs_tools[] = {
    {
        .name = "read_text_file",
        .title = "Read text file",
        .description = "Read a text file's lines exactly as stored. head, tail, or "
                       "offset+limit pick lines; a read over the size limit stops at a whole "
                       "line with truncated and nextOffset. Refuses binary files.",
        .input_schema = ctxd_schema_read_text_file_input,
        .output_schema = ctxd_schema_read_text_file_output,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = fs_read_text_file,
    },
    {
        .name = "list_directory",
        .title = "List directory",
        .description = "List one directory's entries, sorted by name, marked [DIR], [FILE], "
                       "[LINK] (not followed) or [OTHER].",
        .input_schema = ctxd_schema_list_directory_input,
        .output_schema = ctxd_schema_list_directory_output,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = list_directory,
    },
    {
        .name = "get_file_info",
        .title = "Get file info",
        .description = "Type, size, times (ISO-8601 UTC), octal permissions and symlink status "
                       "of a path, without reading it.",
        .input_schema = ctxd_schema_get_file_info_input,
        .output_schema = ctxd_schema_get_file_info_output,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = get_file_info,
    },
    {
        .name = "search_files",
        .title = "Search files by name",
        .description = "Find files and directories whose path relative to path matches a glob "
                       "('*.md' directly under path, '**/*.md' at any depth). Sorted absolute "
                       "paths; hidden files included, ignored paths (.gitignore, .ignore, "
                       ".rgignore, as rg) skipped by default. For file contents use grep.",
        .input_schema = ctxd_schema_search_files_input,
        .output_schema = ctxd_schema_search_files_output,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = search_files,
    },
    {
        .name = "list_allowed_directories",
        .title = "List allowed directories",
        .description = "The directories the file tools may access (read-only ones marked). "
                       "Paths may be absolute or relative to the first.",
        .input_schema = ctxd_schema_list_allowed_directories_input,
        .output_schema = ctxd_schema_list_allowed_directories_output,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = list_allowed_directories,
    },
    {
        .name = "read_media_file",
        .title = "Read image or audio file",
        .description = "Read an image or audio file as a base64 block (type from its content); "
                       "a file over the media limit comes back as a resource_link.",
        .input_schema = ctxd_schema_read_media_file_input,
        .output_schema = NULL,
        .flags = RO_FLAGS,
        .fn = fs_read_media_file,
    },
    {
        .name = "read_multiple_files",
        .title = "Read multiple files",
        .description = "Read up to 100 text files in one call; each under its path, a failure "
                       "reported for that file only.",
        .input_schema = ctxd_schema_read_multiple_files_input,
        .output_schema = ctxd_schema_read_multiple_files_output,
        .flags = RO_FLAGS,
        .fn = fs_read_multiple_files,
    },
    {
        .name = "list_directory_with_sizes",
        .title = "List directory with sizes",
        .description = "List one directory's entries with sizes and totals, sorted by name or "
                       "size.",
        .input_schema = ctxd_schema_list_directory_with_sizes_input,
        .output_schema = ctxd_schema_list_directory_with_sizes_output,
        .flags = RO_FLAGS,
        .fn = fs_list_with_sizes,
    },
    {
        .name = "directory_tree",
        .title = "Directory tree",
        .description = "Recursive tree of a directory, sorted by name: indented text and a "
                       "JSON tree in structuredContent; symlinked directories not entered.",
        .input_schema = ctxd_schema_directory_tree_input,
        .output_schema = ctxd_schema_directory_tree_output,
        .flags = RO_FLAGS,
        .fn = fs_directory_tree,
    },
    {
        .name = "grep",
        .title = "Search file contents",
        .description = "Search file contents for a PCRE2 regex (or literal text). Hidden "
                       "files are searched; binary and ignored files (.gitignore, .ignore, "
                       ".rgignore, as rg) skipped by default. Matches sorted by path and "
                       "line as path:line:column:text, with optional context lines.",
        .input_schema = ctxd_schema_grep_input,
        .output_schema = ctxd_schema_grep_output,
        .flags = RO_FLAGS,
        .fn = fs_grep,
    },
    {
        .name = "write_file",
        .title = "Write file",
        .description = "Create or replace a file atomically (permissions kept). expectedSha256 "
                       "refuses the write if the file changed since you read it. Prefer "
                       "edit_file for partial changes.",
        .input_schema = ctxd_schema_write_file_input,
        .output_schema = ctxd_schema_write_file_output,
        .flags = CTXD_TOOL_DESTRUCTIVE | CTXD_TOOL_IDEMPOTENT,
        .writes = true,
        .fn = fs_write_file,
    },
    {
        .name = "edit_file",
        .title = "Edit file",
        .description = "Replace text in a file: edits apply in order, all or nothing, and a "
                       "unified diff is returned. oldText must match once (or replaceAll); if "
                       "none matches exactly, a match ignoring each line's indentation is "
                       "tried.",
        .input_schema = ctxd_schema_edit_file_input,
        .output_schema = ctxd_schema_edit_file_output,
        .flags = CTXD_TOOL_DESTRUCTIVE,
        .writes = true,
        .fn = fs_edit_file,
    },
    {
        .name = "append_file",
        .title = "Append to file",
        .description = "Append text to a file, creating it if missing.",
        .input_schema = ctxd_schema_append_file_input,
        .output_schema = ctxd_schema_file_change_output,
        .flags = 0,
        .writes = true,
        .fn = fs_append_file,
    },
    {
        .name = "copy_file",
        .title = "Copy file",
        .description = "Copy a regular file atomically; an existing destination needs "
                       "overwrite.",
        .input_schema = ctxd_schema_copy_file_input,
        .output_schema = ctxd_schema_file_change_output,
        .flags = CTXD_TOOL_DESTRUCTIVE,
        .writes = true,
        .fn = fs_copy_file,
    },
    {
        .name = "move_file",
        .title = "Move or rename",
        .description = "Move or rename a file, directory or symlink; the destination must not "
                       "exist.",
        .input_schema = ctxd_schema_move_file_input,
        .output_schema = ctxd_schema_file_change_output,
        .flags = CTXD_TOOL_DESTRUCTIVE,
        .writes = true,
        .fn = fs_move_file,
    },
    {
        .name = "delete_file",
        .title = "Delete file or directory",
        .description = "Delete a file or symlink (never its target); a directory only with "
                       "recursive.",
        .input_schema = ctxd_schema_delete_file_input,
        .output_schema = ctxd_schema_file_change_output,
        .flags = CTXD_TOOL_DESTRUCTIVE,
        .writes = true,
        .fn = fs_delete_file,
    },
    {
        .name = "create_directory",
        .title = "Create directory",
        .description = "Create a directory and missing parents; succeeds if it exists.",
        .input_schema = ctxd_schema_create_directory_input,
        .output_schema = ctxd_schema_file_change_output,
        .flags = CTXD_TOOL_IDEMPOTENT,
        .writes = true,
        .fn = fs_create_directory,
    },
};

const size_t ctxd_fs_tools_count = sizeof(ctxd_fs_tools) / sizeof(ctxd_fs_tools[0]);
