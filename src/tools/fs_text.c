/* fs_text.c - read_text_file: lines exactly as stored, head/tail/offset+limit windows,
 * capped at limits.read_bytes at a whole line with nextOffset, exact totalLines up to
 * 16 MiB. Also the chunked reading helpers fs_read.c uses (fs_pread_full, fs_count_nl).
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
	json_t *j = ctxd_utf8_json(b.p ? b.p : "", b.len);
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
	bool has_head = fs_int_arg(args, "head", &head);
	bool has_tail = fs_int_arg(args, "tail", &tail);
	bool has_offset = fs_int_arg(args, "offset", &offset);
	bool has_limit = fs_int_arg(args, "limit", &limit);
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
	size_t bad = ctxd_utf8_invalid_at(r.out, r.out_len);
	if (bad != r.out_len) {
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
		fs_add_text_block(res, nb.p);
		free(nb.p);
	}
out:
	free(r.out);
	free(rbuf);
	close(fd);
	return res;
}

