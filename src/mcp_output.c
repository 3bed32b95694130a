/* mcp_output.c - the protocol engine's output: answers and notifications handed to the
 * transport, and 2025-03-26 batches, whose answers are held until the last one is ready
 * (written out in parts while the host is congested). Loop thread (mcp_priv.h). */
#include <stdlib.h>
#include <string.h>

#include "ctxd/rpc.h"
#include "mcp_priv.h"

static void batch_add(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len);

void ctxd_mcp_emit(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len)
{
	if (!frame) {
		ctxd_err("out of memory serialising a response");
		return;
	}
	if (b) {
		batch_add(m, b, frame, len);
	} else {
		m->d.send(m->d.send_ud, frame, len);
	}
}

void ctxd_mcp_emit_json(struct ctxd_mcp *m, struct ctxd_batch *b, json_t *msg)
{
	size_t len = 0;
	char *s = ctxd_rpc_dump_new(msg, &len);
	ctxd_mcp_emit(m, b, s, len);
}

void ctxd_mcp_send_error(struct ctxd_mcp *m, struct ctxd_batch *b, json_t *id, int code,
			 const char *msg, json_t *data)
{
	ctxd_mcp_emit_json(m, b, ctxd_rpc_error_new(id, code, msg, data));
}

/* Tell the transport how many answer bytes unfinished batches hold: they are owed to
 * the host as much as queued ones. */
static void held_changed(struct ctxd_mcp *m)
{
	if (m->d.reserve) {
		m->d.reserve(m->d.send_ud, m->held_bytes);
	}
}

/* Write the answers a batch holds as one JSON array frame (one part of the batch's
 * answer). */
void ctxd_mcp_batch_flush(struct ctxd_mcp *m, struct ctxd_batch *b)
{
	if (b->n == 0) {
		return;
	}
	/* Take the answers out first: sending may call back into the engine (congestion)
	 * and flush batches again. */
	size_t n = b->n, bytes = b->bytes;
	b->n = 0;
	b->bytes = 0;
	size_t total = 2;
	for (size_t i = 0; i < n; i++) {
		total += b->lens[i]; /* each ends in '\n', which becomes ',' or ']' */
	}
	char *out = malloc(total + 1);
	size_t o = 0;
	if (out) {
		out[o++] = '[';
		for (size_t i = 0; i < n; i++) {
			memcpy(out + o, b->frames[i], b->lens[i] - 1);
			o += b->lens[i] - 1;
			out[o++] = i + 1 < n ? ',' : ']';
		}
		out[o++] = '\n';
	} else {
		ctxd_err("out of memory writing the answers of a batch");
	}
	for (size_t i = 0; i < n; i++) {
		free(b->frames[i]);
	}
	m->held_bytes -= bytes;
	if (out) {
		m->d.send(m->d.send_ud, out, o);
	}
	held_changed(m);
}

/* Keep one answer of a batch. A batch's answer leaves as one array frame when it is
 * complete, unless that array would pass the frame limit or the host is not reading
 * (the held bytes must not wait for workers that are held): then the answers held so far
 * leave as one part, an array of their own, and the rest follows in later parts. */
static void batch_add(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len)
{
	size_t limit = m->d.cfg->max_frame_bytes;
	if (b->n > 0 && b->bytes + len + 1 > limit) {
		ctxd_mcp_batch_flush(m, b);
	}
	if (ctxd_grow_pair((void **)&b->frames, sizeof(*b->frames), (void **)&b->lens,
			   sizeof(*b->lens), &b->cap, b->n + 1, 8)) {
		free(frame);
		return;
	}
	b->frames[b->n] = frame;
	b->lens[b->n++] = len;
	b->bytes += len;
	m->held_bytes += len;
	held_changed(m);
	if (m->congested) {
		ctxd_mcp_batch_flush(m, b);
	}
}

/* Drop one reference; the last one writes the rest of the batch's answer (nothing at all
 * when every element was a notification). */
void ctxd_mcp_batch_release(struct ctxd_mcp *m, struct ctxd_batch *b)
{
	if (--b->pending > 0) {
		return;
	}
	ctxd_mcp_batch_flush(m, b);
	*(b->prev ? &b->prev->next : &m->batches) = b->next;
	if (b->next) {
		b->next->prev = b->prev;
	}
	free(b->frames);
	free(b->lens);
	free(b);
}
