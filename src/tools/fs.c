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

#include "ctxd/sandbox.h"
#include "fs_walk.h"

#define DEFAULT_READ_BYTES (256u * 1024u)
#define DEFAULT_ENTRIES    10000u
#define READ_CHUNK         65536u
#define BINARY_PROBE       8192u
/* Files up to this size are always scanned to the end so totalLines (and tail's line
 * numbers) are exact; that costs about a millisecond per 4 MiB. Larger files are read only
 * as far as the selection needs (tail backwards from the end), and the line numbers that
 * would need a full scan are omitted. */
#define LINE_COUNT_MAX (16u * 1024u * 1024u)

/* ---- small helpers ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid or cut short. */
static size_t utf8_seq(const unsigned char *s, size_t n)
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
static json_t *text_string(const char *s, size_t len)
{
	json_t *j = json_stringn(s, len);
	if (j) {
		return j;
	}
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
		size_t k = utf8_seq(u + i, len - i);
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
	j = json_stringn(o, w);
	free(o);
	return j;
}

/* Largest prefix length <= n of s that does not end inside a UTF-8 sequence. */
static size_t utf8_trim(const char *s, size_t n)
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
static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail(const char *fmt, ...)
{
	char msg[1900];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t len = n < 0 ? 0 : (size_t)n >= sizeof(msg) ? sizeof(msg) - 1 : (size_t)n;
	len = utf8_trim(msg, len);
	msg[len] = '\0';
	unsigned char *u = (unsigned char *)msg;
	for (size_t i = 0; i < len;) {
		size_t k = utf8_seq(u + i, len - i);
		if (k == 0) {
			u[i++] = '?';
		} else {
			i += k;
		}
	}
	return ctxd_tool_error("%s", msg);
}

/* A growable text buffer; `oom` sticks once an allocation failed. */
struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom) {
		return;
	}
	if (b->len + n + 1 > b->cap) {
		size_t c = b->cap ? b->cap : 256;
		while (c < b->len + n + 1) {
			c *= 2;
		}
		char *q = realloc(b->p, c);
		if (!q) {
			b->oom = true;
			return;
		}
		b->p = q;
		b->cap = c;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0) {
		sb_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
	}
}

static bool get_path(json_t *args, const char **p, size_t *len)
{
	json_t *j = json_object_get(args, "path");
	if (!json_is_string(j)) {
		return false;
	}
	*p = json_string_value(j);
	*len = json_string_length(j);
	return true;
}

static size_t cfg_entries(const struct ctxd_tool_ctx *ctx)
{
	return ctx->cfg && ctx->cfg->max_entries ? ctx->cfg->max_entries : DEFAULT_ENTRIES;
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
static size_t count_nl(const char *p, size_t n)
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
			r->line += count_nl(p, (size_t)(e - p));
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
				r->out_len = utf8_trim(r->out, r->out_len);
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

static ssize_t pread_full(int fd, char *buf, size_t n, off_t off)
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
		ssize_t got = pread_full(fd, buf, k, pos);
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
		ssize_t got = pread_full(fd, buf, k, pos);
		if (got < 0) {
			return -errno;
		}
		if (got == 0) {
			break;
		}
		*lines += count_nl(buf, (size_t)got);
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

static json_t *read_text_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!get_path(args, &path, &plen)) {
		return fail("argument 'path' is required");
	}
	size_t head = 0, tail = 0, offset = 1, limit = 0;
	bool has_head = int_arg(args, "head", &head);
	bool has_tail = int_arg(args, "tail", &tail);
	bool has_offset = int_arg(args, "offset", &offset);
	bool has_limit = int_arg(args, "limit", &limit);
	if (has_head && has_tail) {
		return fail("arguments 'head' and 'tail' cannot be used together; use one, or "
		            "'offset' and 'limit' for a window");
	}
	if ((has_head || has_tail) && (has_offset || has_limit)) {
		return fail("argument '%s' cannot be combined with 'offset'/'limit'; use either "
		            "'%s' alone or 'offset' and 'limit'",
		            has_head ? "head" : "tail", has_head ? "head" : "tail");
	}
	if (has_offset && offset < 1) {
		return fail("argument 'offset' must be at least 1 (lines are counted from 1)");
	}

	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	int fd = ctxd_sandbox_open(ctx->sandbox, path, plen, O_RDONLY | O_NONBLOCK | O_NOCTTY, 0,
	                           false, &loc, &err);
	if (fd < 0) {
		if (err.sys_errno == EISDIR) {
			return fail("'%s' is a directory, not a file; use list_directory to see "
			            "its entries",
			            path);
		}
		return fail("%s", err.msg);
	}
	json_t *res = NULL;
	char *rbuf = NULL;
	struct reader r = {0};
	struct stat st;
	if (fstat(fd, &st) < 0) {
		res = fail("cannot read '%s': %s", loc.abs, strerror(errno));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		res = fail("'%s' is a directory, not a file; use list_directory to see its entries",
		           loc.abs);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		res = fail("'%s' is not a regular file (device, FIFO or socket); refusing to read "
		           "it",
		           loc.abs);
		goto out;
	}

	size_t cap =
	    ctx->cfg && ctx->cfg->max_read_bytes ? ctx->cfg->max_read_bytes : DEFAULT_READ_BYTES;
	size_t fsize = st.st_size > 0 ? (size_t)st.st_size : 0;
	size_t rsize = fsize + 1 < READ_CHUNK ? fsize + 1 : READ_CHUNK;
	if (rsize < BINARY_PROBE) {
		rsize = BINARY_PROBE;
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
		ssize_t got = pread_full(fd, rbuf, BINARY_PROBE < fsize ? BINARY_PROBE : fsize, 0);
		if (got < 0) {
			res = fail("cannot read '%s': %s", loc.abs, strerror(errno));
			goto out;
		}
		if (memchr(rbuf, '\0', (size_t)got)) {
			res = fail("'%s' is a binary file (it contains NUL bytes); use a media or "
			           "binary-aware tool instead of read_text_file",
			           loc.abs);
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
				          ? fail("read of '%s' cancelled", loc.abs)
				          : fail("cannot read '%s': %s", loc.abs, strerror(-rc));
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
			res = fail("read of '%s' cancelled", loc.abs);
			goto out;
		}
		ssize_t got = pread(fd, rbuf, rsize, off);
		if (got < 0) {
			if (errno == EINTR) {
				continue;
			}
			res = fail("cannot read '%s': %s", loc.abs, strerror(errno));
			goto out;
		}
		if (off == 0 &&
		    memchr(rbuf, '\0', (size_t)got < BINARY_PROBE ? (size_t)got : BINARY_PROBE)) {
			res = fail("'%s' is a binary file (it contains NUL bytes); use a media or "
			           "binary-aware tool instead of read_text_file",
			           loc.abs);
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
		res = fail("argument 'offset' (%zu) is past the end of '%s', which has %zu lines",
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

	json_t *content = text_string(r.out, r.out_len);
	if (!content) {
		goto out;
	}
	json_t *sc = json_pack("{s:s, s:O, s:b}", "path", loc.abs, "content", content, "truncated",
	                       r.truncated);
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
		struct sbuf nb = {0};
		sb_str(&nb, note);
		if (has_next) {
			sb_printf(&nb, r.partial ? "%zu]" : "; continue with offset=%zu]",
			          r.next_offset);
		} else {
			sb_str(&nb, "]");
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
	struct sbuf text;
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
	json_t *name = text_string(e->name, e->name_len);
	json_t *ent =
	    name ? json_pack("{s:O, s:s}", "name", name, "type", type_name(e->type)) : NULL;
	if (!ent || json_array_append_new(s->entries, ent) < 0) {
		json_decref(name);
		s->oom = true;
		return CTXD_FS_WALK_STOP;
	}
	sb_str(&s->text, type_tag(e->type));
	sb_add(&s->text, " ", 1);
	sb_str(&s->text, json_string_value(name));
	sb_add(&s->text, "\n", 1);
	json_decref(name);
	return CTXD_FS_WALK_SKIP;
}

static json_t *open_dir_failed(const char *path, const struct ctxd_error *err)
{
	if (err->sys_errno == ENOTDIR) {
		return fail("'%s' is not a directory; use read_text_file or get_file_info for a "
		            "file",
		            path);
	}
	return fail("%s", err->msg);
}

static json_t *list_directory(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	const char *path;
	size_t plen;
	if (!get_path(args, &path, &plen)) {
		return fail("argument 'path' is required");
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	int fd =
	    ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH | O_DIRECTORY, 0, false, &loc, &err);
	if (fd < 0) {
		return open_dir_failed(path, &err);
	}
	struct list_state s = {.entries = json_array(), .max = cfg_entries(ctx)};
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
		res = fail("listing of '%s' cancelled", loc.abs);
		goto out;
	}
	if (rc < 0) {
		res = fail("cannot list '%s': %s", loc.abs, strerror(-rc));
		goto out;
	}
	if (json_array_size(s.entries) == 0) {
		sb_str(&s.text, "(empty directory)\n");
	}
	if (s.truncated) {
		sb_printf(&s.text, "(truncated: only the first %zu entries are listed)\n", s.max);
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
	if (!get_path(args, &path, &plen)) {
		return fail("argument 'path' is required");
	}
	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	/* First the path itself (a final symlink not followed) to learn whether it is a
	 * link, then, for a link, its target when the target stays inside the root. */
	int fd = ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH, 0, true, &loc, &err);
	if (fd < 0) {
		return fail("%s", err.msg);
	}
	const unsigned mask = STATX_BASIC_STATS | STATX_BTIME;
	struct statx sx;
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, mask, &sx) < 0) {
		int e = errno;
		close(fd);
		return fail("cannot stat '%s': %s", loc.abs, strerror(e));
	}
	close(fd);
	bool is_link = S_ISLNK(sx.stx_mode);
	bool target_ok = true;
	if (is_link) {
		struct ctxd_error err2 = {0};
		int tfd =
		    ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH, 0, false, NULL, &err2);
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
	struct sbuf t = {0};
	sb_printf(&t, "path: %s\n", loc.abs);
	sb_printf(&t, "type: %s\n", mode_type(m));
	sb_printf(&t, "size: %llu\n", (unsigned long long)sx.stx_size);
	if (has_birth) {
		sb_printf(&t, "created: %s\n", btime);
	}
	sb_printf(&t, "modified: %s\naccessed: %s\n", mtime, atime);
	sb_printf(&t, "isDirectory: %s\nisFile: %s\n", S_ISDIR(m) ? "true" : "false",
	          S_ISREG(m) ? "true" : "false");
	sb_printf(&t, "permissions: %s\nisSymlink: %s", perms, is_link ? "true" : "false");
	if (is_link && !target_ok) {
		sb_str(&t, "\n(the link's target is missing or outside the allowed directories; "
		           "the link itself is described)");
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
		if (g->n == GLOB_MAX_COMPS) {
			return -E2BIG;
		}
		g->comps[g->n] = c;
		g->star2[g->n] = strcmp(c, "**") == 0;
		g->literal[g->n] = strpbrk(c, "*?[\\") == NULL;
		g->n++;
	}
	return 0;
}

/* Expand {a,b} alternatives (nested allowed, backslash escapes) and compile each result.
 * A '{' without a matching '}' or without a top-level ',' is literal. */
static int glob_expand(struct globset *gs, const char *pat, bool exclude, size_t *budget)
{
	size_t len = strlen(pat);
	for (size_t i = 0; i < len; i++) {
		if (pat[i] == '\\') {
			i++;
			continue;
		}
		if (pat[i] != '{') {
			continue;
		}
		size_t depth = 0, j, commas = 0;
		for (j = i; j < len; j++) {
			if (pat[j] == '\\') {
				j++;
			} else if (pat[j] == '{') {
				depth++;
			} else if (pat[j] == '}') {
				if (--depth == 0) {
					break;
				}
			} else if (pat[j] == ',' && depth == 1) {
				commas++;
			}
		}
		if (j >= len || commas == 0) {
			continue;
		}
		/* Alternatives are the top-level comma-separated pieces of pat[i+1, j). */
		size_t a = i + 1;
		depth = 0;
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
				int rc = glob_expand(gs, alt, exclude, budget);
				free(alt);
				if (rc < 0) {
					return rc;
				}
				a = k + 1;
			}
		}
		return 0;
	}
	if (*budget == 0) {
		return -ERANGE;
	}
	(*budget)--;
	return glob_compile(gs, pat, len, exclude);
}

struct search_state {
	struct globset gs;
	uint64_t *rows; /* rows[depth * gs.n + i]: matcher state after `depth` components */
	size_t row_depths;
	char *arena; /* matched relative paths, NUL-separated */
	size_t arena_len, arena_cap;
	size_t *offs;
	size_t n_matches, cap_matches;
	size_t max;
	bool truncated;
	bool oom;
};

static int search_visit(const struct ctxd_fs_walk_entry *e, void *ud)
{
	struct search_state *s = ud;
	size_t ng = s->gs.n;
	if (e->depth + 1 > s->row_depths) {
		size_t nd = s->row_depths * 2;
		while (nd < e->depth + 1) {
			nd *= 2;
		}
		uint64_t *r = realloc(s->rows, nd * ng * sizeof(*r));
		if (!r) {
			s->oom = true;
			return CTXD_FS_WALK_STOP;
		}
		s->rows = r;
		s->row_depths = nd;
	}
	const uint64_t *up = s->rows + (size_t)(e->depth - 1) * ng;
	uint64_t *row = s->rows + (size_t)e->depth * ng;
	bool is_dir = e->type == CTXD_FS_WALK_DIR;
	bool matched = false, descend = false;
	for (size_t i = 0; i < ng; i++) {
		const struct glob *g = &s->gs.v[i];
		if (g->exclude && g->basename) {
			if (g->n == 1 && fnmatch(g->comps[0], e->name, 0) == 0) {
				return CTXD_FS_WALK_SKIP;
			}
			continue;
		}
		row[i] = glob_step(g, up[i], e->name);
		bool full = (row[i] >> g->n & 1) && (!g->dir_only || is_dir);
		if (g->exclude) {
			if (full) {
				return CTXD_FS_WALK_SKIP;
			}
			continue;
		}
		matched |= full;
		descend |= (row[i] & (((uint64_t)1 << g->n) - 1)) != 0;
	}
	if (matched) {
		if (s->n_matches == s->max) {
			s->truncated = true;
			return CTXD_FS_WALK_STOP;
		}
		if (s->n_matches == s->cap_matches) {
			size_t c = s->cap_matches ? s->cap_matches * 2 : 64;
			size_t *o = realloc(s->offs, c * sizeof(*o));
			if (!o) {
				s->oom = true;
				return CTXD_FS_WALK_STOP;
			}
			s->offs = o;
			s->cap_matches = c;
		}
		if (s->arena_len + e->rel_len + 1 > s->arena_cap) {
			size_t c = s->arena_cap ? s->arena_cap * 2 : 4096;
			while (c < s->arena_len + e->rel_len + 1) {
				c *= 2;
			}
			char *a = realloc(s->arena, c);
			if (!a) {
				s->oom = true;
				return CTXD_FS_WALK_STOP;
			}
			s->arena = a;
			s->arena_cap = c;
		}
		s->offs[s->n_matches++] = s->arena_len;
		memcpy(s->arena + s->arena_len, e->rel, e->rel_len + 1);
		s->arena_len += e->rel_len + 1;
	}
	return is_dir && descend ? CTXD_FS_WALK_CONTINUE : CTXD_FS_WALK_SKIP;
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
	if (!get_path(args, &path, &plen)) {
		return fail("argument 'path' is required");
	}
	const char *pattern = json_string_value(json_object_get(args, "pattern"));
	if (!pattern || pattern[0] == '\0') {
		return fail("argument 'pattern' must be a non-empty glob, e.g. \"**/*.c\"");
	}
	struct search_state s = {.max = cfg_entries(ctx), .row_depths = 16};
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
				res = fail(
				    "argument 'excludePatterns[%zu]' must be a non-empty glob", i);
				goto out;
			}
			budget = GLOB_MAX_ALTS;
			rc = glob_expand(&s.gs, xp, true, &budget);
			if (rc < 0) {
				if (rc != -ENOMEM) {
					res =
					    fail("argument 'excludePatterns[%zu]' (\"%s\") is not "
					         "a usable glob: %s",
					         i, xp,
					         rc == -E2BIG ? "more than 63 path components"
					                      : "more than 64 brace alternatives");
				}
				goto out;
			}
		}
	} else if (rc != -ENOMEM) {
		res = fail("argument 'pattern' (\"%s\") is not a usable glob: %s", pattern,
		           rc == -E2BIG ? "more than 63 path components"
		                        : "more than 64 brace alternatives");
		goto out;
	} else {
		goto out;
	}
	s.rows = malloc(s.row_depths * s.gs.n * sizeof(*s.rows));
	if (!s.rows) {
		goto out;
	}
	for (size_t i = 0; i < s.gs.n; i++) {
		s.rows[i] = glob_closure(&s.gs.v[i], 1);
	}

	struct ctxd_error err = {0};
	struct ctxd_sandbox_loc loc;
	fd =
	    ctxd_sandbox_open(ctx->sandbox, path, plen, O_PATH | O_DIRECTORY, 0, false, &loc, &err);
	if (fd < 0) {
		res = open_dir_failed(path, &err);
		goto out;
	}
	struct ctxd_fs_walk_opts o = {
	    .sorted = true,
	    .job = ctx->job,
	    .progress = ctx->progress,
	    .visit = search_visit,
	    .ud = &s,
	};
	rc = ctxd_fs_walk(fd, &o, NULL);
	if (s.oom || rc == -ENOMEM) {
		goto out;
	}
	if (rc == -ECANCELED) {
		res = fail("search in '%s' cancelled", loc.abs);
		goto out;
	}
	if (rc < 0) {
		res = fail("cannot search '%s': %s", loc.abs, strerror(-rc));
		goto out;
	}
	if (s.n_matches > 1) {
		qsort_r(s.offs, s.n_matches, sizeof(*s.offs), cmp_rel, s.arena);
	}

	/* Absolute path = the location's display path + "/" + rel ("/" root: no doubling). */
	size_t blen = strlen(loc.abs);
	bool slash_root = blen == 1 && loc.abs[0] == '/';
	json_t *matches = json_array();
	struct sbuf text = {0};
	char *full = malloc(blen + 1 + CTXD_PATH_MAX);
	if (!matches || !full) {
		json_decref(matches);
		free(full);
		goto out;
	}
	memcpy(full, loc.abs, blen);
	if (!slash_root) {
		full[blen++] = '/';
	}
	for (size_t i = 0; i < s.n_matches; i++) {
		const char *rel = s.arena + s.offs[i];
		size_t rl = strlen(rel);
		memcpy(full + blen, rel, rl);
		json_t *js = text_string(full, blen + rl);
		if (!js || json_array_append_new(matches, js) < 0) {
			text.oom = true;
			break;
		}
		sb_str(&text, json_string_value(js));
		sb_add(&text, "\n", 1);
	}
	free(full);
	if (s.n_matches == 0) {
		sb_str(&text, "No matches found\n");
	}
	if (s.truncated) {
		sb_printf(&text, "(truncated after %zu matches; narrow the pattern or the path)\n",
		          s.max);
	}
	if (text.oom) {
		json_decref(matches);
		free(text.p);
		goto out;
	}
	text.p[--text.len] = '\0';
	json_t *sc =
	    json_pack("{s:s, s:s, s:o, s:I, s:b}", "path", loc.abs, "pattern", pattern, "matches",
	              matches, "count", (json_int_t)s.n_matches, "truncated", s.truncated);
	if (sc) {
		res = ctxd_tool_result(text.p, sc);
	}
	free(text.p);
out:
	if (fd >= 0) {
		close(fd);
	}
	globset_free(&s.gs);
	free(s.rows);
	free(s.arena);
	free(s.offs);
	return res;
}

/* ---- list_allowed_directories ----------------------------------------------------- */

static json_t *list_allowed_directories(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	(void)args;
	json_t *dirs = json_array();
	struct sbuf t = {0};
	sb_str(&t, "Allowed directories:");
	size_t n = ctxd_sandbox_root_count(ctx->sandbox);
	for (size_t i = 0; dirs && i < n; i++) {
		const struct ctxd_root *r = ctxd_sandbox_root(ctx->sandbox, i);
		json_t *p = text_string(r->path, strlen(r->path));
		json_t *d = p ? json_pack("{s:O, s:b}", "path", p, "readOnly", r->read_only) : NULL;
		if (!d || json_array_append_new(dirs, d) < 0) {
			json_decref(p);
			json_decref(dirs);
			dirs = NULL;
			break;
		}
		sb_add(&t, "\n", 1);
		sb_str(&t, json_string_value(p));
		if (r->read_only) {
			sb_str(&t, " (read-only)");
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

/* ---- the table -------------------------------------------------------------------- */

/* The schemas, as JSON text (parsed once by the registry at start-up). */
/* clang-format off */
static const char read_in[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	"\"description\":\"The text file to read. Absolute, or relative to the first allowed "
	"directory; must lie inside an allowed directory.\"},\"head\":{\"type\":\"integer\","
	"\"minimum\":0,\"description\":\"Return only the first N lines. Not combinable with tail,"
	" offset or limit.\"},\"tail\":{\"type\":\"integer\",\"minimum\":0,"
	"\"description\":\"Return only the last N lines (a final newline does not count as an "
	"empty line). Not combinable with head, offset or limit.\"},"
	"\"offset\":{\"type\":\"integer\",\"minimum\":1,\"description\":\"1-based line number to "
	"start at (default 1); use the nextOffset of a truncated read to continue.\"},"
	"\"limit\":{\"type\":\"integer\",\"minimum\":0,\"description\":\"Maximum number of lines "
	"to return from offset (default: to the end).\"}},\"required\":[\"path\"],"
	"\"additionalProperties\":false}";

static const char read_out[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	"\"description\":\"Absolute path of the file read.\"},\"content\":{\"type\":\"string\","
	"\"description\":\"The selected lines exactly as on disk (line endings kept).\"},"
	"\"totalLines\":{\"type\":\"integer\",\"description\":\"Lines in the whole file; omitted "
	"for files over 16 MiB when the read stopped before the end.\"},"
	"\"startLine\":{\"type\":\"integer\",\"description\":\"1-based number of the first line "
	"returned; omitted for a tail of a file over 16 MiB (lines not counted).\"},"
	"\"endLine\":{\"type\":\"integer\",\"description\":\"Number of the last line returned "
	"(startLine-1 when no line was returned); omitted with startLine.\"},"
	"\"truncated\":{\"type\":\"boolean\",\"description\":\"True when the byte limit cut the "
	"selection short.\"},\"nextOffset\":{\"type\":\"integer\",\"description\":\"When "
	"truncated: the offset to pass to continue reading.\"}},\"required\":[\"path\","
	"\"content\",\"truncated\"],\"additionalProperties\":false}";

static const char list_in[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	"\"description\":\"The directory to list. Absolute, or relative to the first allowed "
	"directory; must lie inside an allowed directory.\"}},\"required\":[\"path\"],"
	"\"additionalProperties\":false}";

static const char list_out[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	"\"description\":\"Absolute path of the directory.\"},\"entries\":{\"type\":\"array\","
	"\"description\":\"Entries sorted by name.\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"name\":{\"type\":\"string\",\"description\":\"Entry name.\"},"
	"\"type\":{\"type\":\"string\",\"enum\":[\"file\",\"directory\",\"symlink\",\"other\"],"
	"\"description\":\"Entry type; symlinks are not followed.\"}},\"required\":[\"name\","
	"\"type\"],\"additionalProperties\":false}},\"truncated\":{\"type\":\"boolean\","
	"\"description\":\"True when the entry limit was reached.\"}},\"required\":[\"path\","
	"\"entries\",\"truncated\"],\"additionalProperties\":false}";

static const char info_in[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	"\"description\":\"The file or directory to describe. Absolute, or relative to the first "
	"allowed directory; must lie inside an allowed directory.\"}},\"required\":[\"path\"],"
	"\"additionalProperties\":false}";

static const char info_out[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	"\"description\":\"Absolute path.\"},\"type\":{\"type\":\"string\",\"enum\":[\"file\","
	"\"directory\",\"symlink\",\"other\"],\"description\":\"Type (of the target, for a "
	"symlink whose target is reachable).\"},\"size\":{\"type\":\"integer\","
	"\"description\":\"Size in bytes.\"},\"created\":{\"type\":\"string\","
	"\"description\":\"Birth time, ISO-8601 UTC; absent when the file system does not record "
	"it.\"},\"modified\":{\"type\":\"string\",\"description\":\"Modification time, ISO-8601 "
	"UTC.\"},\"accessed\":{\"type\":\"string\",\"description\":\"Access time, ISO-8601 "
	"UTC.\"},\"permissions\":{\"type\":\"string\",\"description\":\"Permission bits in octal,"
	" e.g. 644.\"},\"isDirectory\":{\"type\":\"boolean\",\"description\":\"True for a "
	"directory.\"},\"isFile\":{\"type\":\"boolean\",\"description\":\"True for a regular "
	"file.\"},\"isSymlink\":{\"type\":\"boolean\",\"description\":\"True when the path "
	"itself is a symbolic link.\"}},\"required\":[\"path\",\"type\",\"size\",\"modified\","
	"\"accessed\",\"permissions\",\"isDirectory\",\"isFile\",\"isSymlink\"],"
	"\"additionalProperties\":false}";

static const char search_in[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	"\"description\":\"The directory to search under. Absolute, or relative to the first "
	"allowed directory; must lie inside an allowed directory.\"},"
	"\"pattern\":{\"type\":\"string\",\"minLength\":1,\"description\":\"Glob matched against "
	"paths relative to path: '*', '?', '[...]' and {a,b} within a component, '**' for any "
	"number of directories. '*.txt' matches only directly under path; '**/*.txt' matches at "
	"any depth. Dot files are matched.\"},\"excludePatterns\":{\"type\":\"array\","
	"\"items\":{\"type\":\"string\"},\"description\":\"Globs to leave out. Without '/', "
	"matched against each entry's name (e.g. 'node_modules', '*.log'); with '/', against the "
	"relative path. Excluded directories are not searched.\"}},\"required\":[\"path\","
	"\"pattern\"],\"additionalProperties\":false}";

static const char search_out[] =
	"{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\","
	"\"description\":\"Absolute path searched.\"},\"pattern\":{\"type\":\"string\","
	"\"description\":\"The pattern as given.\"},\"matches\":{\"type\":\"array\","
	"\"items\":{\"type\":\"string\"},\"description\":\"Absolute paths of matching files and "
	"directories, sorted.\"},\"count\":{\"type\":\"integer\",\"description\":\"Number of "
	"matches returned.\"},\"truncated\":{\"type\":\"boolean\",\"description\":\"True when "
	"the match limit was reached.\"}},\"required\":[\"path\",\"pattern\",\"matches\","
	"\"count\",\"truncated\"],\"additionalProperties\":false}";

static const char allowed_in[] =
	"{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}";

static const char allowed_out[] =
	"{\"type\":\"object\",\"properties\":{\"directories\":{\"type\":\"array\","
	"\"description\":\"The allowed directories.\",\"items\":{\"type\":\"object\","
	"\"properties\":{\"path\":{\"type\":\"string\",\"description\":\"Canonical absolute "
	"path.\"},\"readOnly\":{\"type\":\"boolean\",\"description\":\"True when writing there "
	"is refused.\"}},\"required\":[\"path\",\"readOnly\"],\"additionalProperties\":false}}},"
	"\"required\":[\"directories\"],\"additionalProperties\":false}";

/* clang-format on */

#define RO_FLAGS (CTXD_TOOL_READ_ONLY | CTXD_TOOL_IDEMPOTENT)

const struct ctxd_tool ctxd_fs_tools[] = {
    {
        .name = "read_text_file",
        .title = "Read text file",
        .description = "Read a text file and return its lines exactly as stored (line endings "
                       "kept). Use head or tail for the first or last N lines, or offset "
                       "(1-based line) with limit for a window; head and tail cannot be "
                       "combined with each other or with offset/limit. Output is capped at the "
                       "server's read limit (256 KiB by default): a longer selection stops at "
                       "the last whole line that fits and reports truncated with nextOffset to "
                       "continue. totalLines is exact, except that for files over 16 MiB it is "
                       "reported only when the read reached the end (and a tail of such a file "
                       "has no line numbers). Refuses directories and binary files (NUL bytes "
                       "in the first 8 KiB). The path must be inside an allowed directory "
                       "(see list_allowed_directories).",
        .input_schema = read_in,
        .output_schema = read_out,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = read_text_file,
    },
    {
        .name = "list_directory",
        .title = "List directory",
        .description = "List the entries of one directory, sorted by name, each marked [DIR], "
                       "[FILE], [LINK] (symlink, not followed) or [OTHER]. Not recursive. At "
                       "most the server's entry limit (10000 by default) is returned, with "
                       "truncated set when there are more. The path must be inside an allowed "
                       "directory.",
        .input_schema = list_in,
        .output_schema = list_out,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = list_directory,
    },
    {
        .name = "get_file_info",
        .title = "Get file info",
        .description = "Describe a file or directory without reading it: type, size, created "
                       "(when the file system records it), modified and accessed times "
                       "(ISO-8601 UTC), octal permissions, and whether the path is a symlink "
                       "(then the target is described when it is inside an allowed directory). "
                       "The path must be inside an allowed directory.",
        .input_schema = info_in,
        .output_schema = info_out,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = get_file_info,
    },
    {
        .name = "search_files",
        .title = "Search files by name",
        .description = "Find files and directories under path whose relative path matches a "
                       "glob: '*.md' matches only directly under path, '**/*.md' at any depth, "
                       "'src/**' everything under src. Dot files are included; symlinked "
                       "directories are listed but not entered. excludePatterns drop entries "
                       "(and whole directories) by name or relative path. Returns sorted "
                       "absolute paths, at most the server's entry limit (10000 by default), "
                       "with truncated set when there were more. Finding nothing is not an "
                       "error. To search file contents use a grep tool instead.",
        .input_schema = search_in,
        .output_schema = search_out,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = search_files,
    },
    {
        .name = "list_allowed_directories",
        .title = "List allowed directories",
        .description = "List the directories this server may access (read-only ones are "
                       "marked). Every path argument of the file tools must lie inside one of "
                       "them; a relative path is taken relative to the first.",
        .input_schema = allowed_in,
        .output_schema = allowed_out,
        .flags = RO_FLAGS,
        .writes = false,
        .fn = list_allowed_directories,
    },
};

const size_t ctxd_fs_tools_count = sizeof(ctxd_fs_tools) / sizeof(ctxd_fs_tools[0]);
