/* fuzz_splitter.c - the stdio frame splitter (ctxd_splitter_feed).
 *
 * Input layout: byte 0 picks the frame limit (1..256 bytes), byte 1 seeds the chunk sizes;
 * the rest is the byte stream. The stream is split twice: fed whole, and fed in chunks of
 * pseudo-random sizes (1..64 bytes). Both must produce the same events (frames byte for
 * byte, oversize events at the same places) and the same pending tail: how reads happen
 * to cut the stream must not change what the server sees. Every frame holds no '\n', is
 * not blank and fits the limit; every oversize event reports more than the limit.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct events {
	char *bytes; /* frames concatenated, each as "F<len>:<bytes>" or "O" for oversize */
	size_t len, cap;
	size_t max;
};

static void put(struct events *e, const void *p, size_t n)
{
	if (e->len + n > e->cap) {
		size_t cap = e->cap ? e->cap : 256;
		while (cap < e->len + n) {
			cap *= 2;
		}
		e->bytes = realloc(e->bytes, cap);
		if (!e->bytes) {
			abort();
		}
		e->cap = cap;
	}
	memcpy(e->bytes + e->len, p, n);
	e->len += n;
}

static void on_frame(void *ud, const char *line, size_t len)
{
	struct events *e = ud;
	if (!line) {
		if (len <= e->max) {
			fprintf(stderr, "oversize event of %zu bytes <= limit %zu\n", len, e->max);
			abort();
		}
		put(e, "O", 1);
		return;
	}
	if (len == 0 || len > e->max || memchr(line, '\n', len)) {
		fprintf(stderr, "bad frame: %zu bytes, limit %zu\n", len, e->max);
		abort();
	}
	size_t i = 0;
	while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) {
		i++;
	}
	if (i == len) {
		fprintf(stderr, "blank frame of %zu bytes\n", len);
		abort();
	}
	char hdr[32];
	int h = snprintf(hdr, sizeof(hdr), "F%zu:", len);
	put(e, hdr, (size_t)h);
	put(e, line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2) {
		return 0;
	}
	size_t max = (size_t)data[0] + 1;
	uint32_t seed = data[1] * 2654435761u + 1;
	const char *stream = (const char *)data + 2;
	size_t n = size - 2;

	struct events whole = {.max = max}, chunked = {.max = max};
	struct ctxd_splitter a, b;
	ctxd_splitter_init(&a, max);
	ctxd_splitter_init(&b, max);

	if (ctxd_splitter_feed(&a, stream, n, on_frame, &whole) < 0) {
		abort();
	}
	size_t off = 0;
	while (off < n) {
		seed = seed * 1103515245u + 12345u;
		size_t k = 1 + (seed >> 16) % 64;
		if (k > n - off) {
			k = n - off;
		}
		/* a private copy, exactly k bytes, so reads past the chunk are caught */
		char *chunk = malloc(k);
		if (!chunk) {
			abort();
		}
		memcpy(chunk, stream + off, k);
		if (ctxd_splitter_feed(&b, chunk, k, on_frame, &chunked) < 0) {
			abort();
		}
		free(chunk);
		off += k;
	}
	if (whole.len != chunked.len ||
	    (whole.len && memcmp(whole.bytes, chunked.bytes, whole.len) != 0)) {
		fprintf(stderr, "whole and chunked feeds disagree (%zu vs %zu event bytes)\n",
			whole.len, chunked.len);
		abort();
	}
	if (ctxd_splitter_pending(&a) != ctxd_splitter_pending(&b)) {
		fprintf(stderr, "pending differs: %zu vs %zu\n", ctxd_splitter_pending(&a),
			ctxd_splitter_pending(&b));
		abort();
	}
	if (ctxd_splitter_pending(&a) > max + 1) {
		fprintf(stderr, "pending %zu above limit %zu\n", ctxd_splitter_pending(&a), max);
		abort();
	}
	ctxd_splitter_finish(&a);
	ctxd_splitter_finish(&b);
	free(whole.bytes);
	free(chunked.bytes);
	return 0;
}
