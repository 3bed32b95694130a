/* http_replay.c - Streamable HTTP, the runtime side: resumable SSE streams of 2025-11-25
 * sessions (2025-11-25 basic/transports, "Resumability and Redelivery").
 *
 * Every event sent on a session's streams carries an id "S-Q": S names the stream (0: the
 * session's GET stream; 1, 2, ...: the POST answers that became streams, in the order they
 * did), Q counts that stream's events from 1; so ids are unique within the session and name
 * the stream they belong to. A copy of each event is kept in the session's replay buffer
 * (oldest first, at most http.replay_buffer_bytes; the oldest are forgotten first), also the
 * events of a POST whose client went away before its answer (a 2025-11-25 disconnection is
 * not a cancellation). A GET carrying Last-Event-ID: S-Q replays the events of stream S after
 * Q, and only those (never another stream's), then goes on as that stream: the session's GET
 * stream, or the POST's until its response; a finished POST stream closes after the replay.
 * When an event after Q is no longer held the GET is answered 410 Gone with a JSON-RPC error
 * saying so; an id this session never issued gets 400. Loop thread (http_server_priv.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/rpc.h"
#include "http_server_priv.h"

struct revent {
	struct revent *next;
	unsigned stream;
	unsigned long long seq;
	size_t len;
	char buf[]; /* the JSON-RPC message, not NUL-terminated */
};

static size_t limit(const struct sess *x)
{
	return x->e.srv->cfg->http.replay_buffer_bytes;
}

/* Forget the events held of `stream`. */
static void forget_stream(struct sess *x, unsigned stream)
{
	struct revent **pp = &x->rq;
	x->rq_tail = &x->rq;
	while (*pp) {
		struct revent *ev = *pp;
		if (ev->stream == stream) {
			*pp = ev->next;
			x->rbytes -= ev->len;
			free(ev);
		} else {
			pp = &ev->next;
			x->rq_tail = pp;
		}
	}
}

/* Keep a copy of event (stream, seq); forget the oldest past the limit. An event larger
 * than the whole buffer is never held, and its stream's earlier events are forgotten with
 * it: a resume from before it then finds a gap at its start (410), which lost() sees, rather
 * than a replay that skips it. */
static void keep(struct sess *x, unsigned stream, unsigned long long seq, const char *buf,
		 size_t len)
{
	if (len > limit(x)) {
		forget_stream(x, stream);
		return;
	}
	while (x->rq && x->rbytes + len > limit(x)) {
		struct revent *old = x->rq;
		x->rq = old->next;
		x->rbytes -= old->len;
		free(old);
	}
	if (!x->rq) {
		x->rq_tail = &x->rq;
	}
	struct revent *ev = malloc(sizeof(*ev) + len);
	if (!ev) {
		return;
	}
	ev->next = NULL;
	ev->stream = stream;
	ev->seq = seq;
	ev->len = len;
	memcpy(ev->buf, buf, len);
	*x->rq_tail = ev;
	x->rq_tail = &ev->next;
	x->rbytes += len;
}

void ctxd_http_replay_clear(struct sess *x)
{
	while (x->rq) {
		struct revent *ev = x->rq;
		x->rq = ev->next;
		free(ev);
	}
	x->rq_tail = &x->rq;
	x->rbytes = 0;
}

int ctxd_http_emit(struct eng *e, struct pend *p, struct ctxd_http_req *r, const char *buf,
		   size_t len)
{
	struct sess *x = e->sess;
	if (!x || limit(x) == 0) {
		return r ? ctxd_http_sse_send(r, buf, len) : -1;
	}
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) {
		len--;
	}
	unsigned stream = 0;
	unsigned long long seq;
	if (p) {
		if (p->stream == 0) {
			p->stream = ++x->streams;
		}
		stream = p->stream;
		seq = ++p->seq;
	} else {
		seq = ++x->get_seq;
	}
	keep(x, stream, seq, buf, len);
	char id[48];
	snprintf(id, sizeof(id), "%u-%llu", stream, seq);
	return r ? ctxd_http_sse_send_id(r, id, buf, len) : 0;
}

static void refuse(struct ctxd_http_req *r, unsigned status, const char *msg)
{
	size_t len = 0;
	char *body =
	    ctxd_rpc_dump_new(ctxd_rpc_error_new(NULL, CTXD_RPC_INVALID_REQUEST, msg, NULL), &len);
	ctxd_http_respond(r, status, "application/json", body, body ? len : 0, NULL);
}

/* The live POST of session `x` whose stream is `stream`, or NULL. */
static struct pend *stream_pend(struct sess *x, unsigned stream)
{
	for (struct pend *p = x->e.pend; p; p = p->next) {
		if (p->stream == stream) {
			return p;
		}
	}
	return NULL;
}

/* Whether events of `stream` after `seq` are missing from the buffer: the first one held
 * after it is not seq + 1, or none is held though the stream went further (`last`; a
 * finished POST stream's last event, its response, is unknown: any is missing then). */
static bool lost(const struct sess *x, unsigned stream, unsigned long long seq,
		 const unsigned long long *last)
{
	for (const struct revent *ev = x->rq; ev; ev = ev->next) {
		if (ev->stream == stream && ev->seq > seq) {
			return ev->seq != seq + 1;
		}
	}
	return !last || *last > seq;
}

bool ctxd_http_sess_resume(struct sess *x, struct ctxd_http_req *r, const char *last_id)
{
	struct ctxd_http_server *s = x->e.srv;
	unsigned stream;
	unsigned long long seq;
	int used = 0;
	if (sscanf(last_id, "%u-%llu%n", &stream, &seq, &used) != 2 || last_id[used] != '\0' ||
	    stream > x->streams) {
		refuse(r, 400,
		       "Bad Request: Last-Event-ID names no event of this session; open the GET "
		       "stream without it");
		return true;
	}
	struct pend *p = stream ? stream_pend(x, stream) : NULL;
	unsigned long long *last = stream ? (p ? &p->seq : NULL) : &x->get_seq;
	if (last && seq > *last) {
		refuse(r, 400,
		       "Bad Request: Last-Event-ID names no event of this session; open the GET "
		       "stream without it");
		return true;
	}
	if (lost(x, stream, seq, last)) {
		refuse(r, 410,
		       "Gone: events after Last-Event-ID are no longer held (the session keeps "
		       "http.replay_buffer_bytes of them); the messages of that stream are lost: "
		       "send the request again, or open the GET stream without Last-Event-ID");
		return true;
	}
	struct ctxd_http_req *old = stream ? (p ? p->req : NULL) : x->get;
	if (old) { /* the client resumes: the connection we still hold for it is stale */
		ctxd_http_req_set_ud(old, NULL);
		ctxd_http_sse_close(old);
		if (!stream) {
			x->get = NULL;
			s->get_streams--;
		}
	}
	const char *hdr[] = {"Mcp-Session-Id", x->id, NULL};
	if (ctxd_http_sse_open(r, hdr) < 0) {
		if (p) {
			p->req = NULL;
		}
		return true;
	}
	for (const struct revent *ev = x->rq; ev; ev = ev->next) {
		if (ev->stream == stream && ev->seq > seq) {
			char id[48];
			snprintf(id, sizeof(id), "%u-%llu", ev->stream, ev->seq);
			ctxd_http_sse_send_id(r, id, ev->buf, ev->len);
		}
	}
	if (!stream) {
		return false; /* the caller makes it the session's GET stream */
	}
	if (p) { /* the rest of the request's messages, its response last, come here */
		p->req = r;
		p->sse = true;
		ctxd_http_req_set_ud(r, p);
	} else {
		ctxd_http_sse_close(r);
	}
	return true;
}
