/* mcp_mrtr.c - the client's roots without server requests (MCP 2026-07-28
 * basic/patterns/mrtr): with no directory configured, a modern-era tools/call or
 * resources/read from a client that declares the roots capability is answered
 * `input_required` with a roots/list input request and an authenticated requestState; the
 * client's retry carrying inputResponses.roots and that requestState runs on its own root set.
 *
 * requestState is attacker-controlled input: it is an HMAC-SHA256 (per-process random key)
 * over a version, an expiry, a digest of the request it was issued for (method and params
 * without _meta, inputResponses and requestState) and a digest of the principal it was issued
 * to (ctxd_mcp_set_principal: over HTTP, the bearer token); a forged, altered, expired,
 * oversized, misapplied or borrowed one is refused with -32602. Nothing is stored per issued
 * state. */
#include <nettle/hmac.h>
#include <nettle/memops.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ctxd/fsutil.h"
#include "ctxd/log.h"
#include "mcp_priv.h"

#define STATE_VERSION 2
#define DIGEST        SHA256_DIGEST_SIZE
#define STATE_SIGNED  (1 + 8 + DIGEST + DIGEST) /* version, expiry, request, principal */
#define STATE_RAW     (STATE_SIGNED + DIGEST)   /* + the MAC */
#define INPUT_KEY     "roots" /* the inputRequests key of our roots/list request */

/* The one process-wide secret (never leaves the process; a restart invalidates every state). */
static uint8_t state_key[32];
static bool state_key_ok;
static pthread_once_t state_key_once = PTHREAD_ONCE_INIT;

static void state_key_init(void)
{
	state_key_ok = getrandom(state_key, sizeof(state_key), 0) == (ssize_t)sizeof(state_key);
	if (!state_key_ok) {
		ctxd_warn("mrtr: no random key for requestState (getrandom failed): modern-era "
			  "clients are not asked for their roots");
	}
}

static int digest_chunk(const char *buf, size_t len, void *ud)
{
	sha256_update(ud, len, (const uint8_t *)buf);
	return 0;
}

/* What a requestState is bound to: the method and the request's own params (tool name and
 * arguments, or the URI), without _meta and the retry's fields, keys sorted. */
static int request_digest(const char *method, json_t *params, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, strlen(method) + 1, (const uint8_t *)method);
	json_t *own = json_is_object(params) ? json_copy(params) : json_object();
	if (!own) {
		return -1;
	}
	json_object_del(own, "_meta");
	json_object_del(own, "inputResponses");
	json_object_del(own, "requestState");
	int rc = json_dump_callback(own, digest_chunk, &c, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(own);
	sha256_digest(&c, SHA256_DIGEST_SIZE, out);
	return rc;
}

static void state_mac(const uint8_t *msg, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	struct hmac_sha256_ctx h;
	hmac_sha256_set_key(&h, sizeof(state_key), state_key);
	hmac_sha256_update(&h, len, msg);
	hmac_sha256_digest(&h, SHA256_DIGEST_SIZE, out);
}

/* The digest of principal `who` ("" for none). */
static void principal_digest(const char *who, uint8_t out[DIGEST])
{
	struct sha256_ctx c;
	sha256_init(&c);
	sha256_update(&c, strlen(who), (const uint8_t *)who);
	sha256_digest(&c, DIGEST, out);
}

void ctxd_mcp_set_principal(struct ctxd_mcp *m, const char *principal)
{
	snprintf(m->principal, sizeof(m->principal), "%s", principal ? principal : "");
}

/* A new requestState: base64 of version | expiry (ms, monotonic, big-endian) | request
 * digest | principal digest | MAC. */
static char *state_issue(uint64_t expiry, const uint8_t digest[DIGEST], const char *who)
{
	uint8_t raw[STATE_RAW];
	raw[0] = STATE_VERSION;
	for (int i = 0; i < 8; i++) {
		raw[1 + i] = (uint8_t)(expiry >> (56 - 8 * i));
	}
	memcpy(raw + 9, digest, DIGEST);
	principal_digest(who, raw + 9 + DIGEST);
	state_mac(raw, STATE_SIGNED, raw + STATE_SIGNED);
	return ctxd_base64_encode(raw, sizeof(raw), NULL);
}

#define RETRY_HINT                                                                                 \
	"; send the original request again without inputResponses and requestState to get a "      \
	"new input_required result"

/* Check a requestState the client sent back: 0, or -1 with `e` set (-32602). */
static int state_check(json_t *state, const uint8_t digest[DIGEST], const char *who, double now,
		       unsigned ttl_ms, struct rpc_err *e)
{
	if (!json_is_string(state)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: requestState must be the string of an input_required "
			"result" RETRY_HINT);
		return -1;
	}
	size_t len = json_string_length(state);
	if (len > CTXD_MRTR_STATE_MAX) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: requestState is %zu bytes, more than the %d this server "
			"issues, so it is not one of ours" RETRY_HINT,
			len, CTXD_MRTR_STATE_MAX);
		return -1;
	}
	uint8_t raw[CTXD_MRTR_STATE_MAX];
	size_t n = 0;
	uint8_t mac[SHA256_DIGEST_SIZE];
	bool ok = len % 4 == 0 && ctxd_base64_decode(json_string_value(state), len, raw, &n) == 0 &&
		  n == STATE_RAW && raw[0] == STATE_VERSION;
	if (ok) {
		state_mac(raw, STATE_SIGNED, mac);
		ok = memeql_sec(mac, raw + STATE_SIGNED, DIGEST);
	}
	if (!ok) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: requestState was not issued by this server process or was "
			"altered" RETRY_HINT);
		return -1;
	}
	uint64_t expiry = 0;
	for (int i = 0; i < 8; i++) {
		expiry = expiry << 8 | raw[1 + i];
	}
	if (now > (double)expiry) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: requestState expired (it is valid for %u ms, "
			"limits.roots_timeout_ms)" RETRY_HINT,
			ttl_ms);
		return -1;
	}
	if (!memeql_sec(digest, raw + 9, SHA256_DIGEST_SIZE)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: requestState was issued for a different request (another "
			"method, tool, arguments or URI); send it back only with the request that "
			"received it" RETRY_HINT);
		return -1;
	}
	uint8_t mine[DIGEST];
	principal_digest(who, mine);
	if (!memeql_sec(mine, raw + 9 + DIGEST, DIGEST)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: requestState was issued to another client (another bearer "
			"token); only the client that received it may send it back" RETRY_HINT);
		return -1;
	}
	return 0;
}

/* The InputRequiredResult asking for the client's roots (MCP 2026-07-28 basic/patterns/mrtr). */
static json_t *input_required(uint64_t expiry, const uint8_t digest[DIGEST], const char *who,
			      struct rpc_err *e)
{
	char *state = state_issue(expiry, digest, who);
	json_t *r = state ? json_pack("{s:s, s:{s:{s:s, s:{}}}, s:s}", "resultType",
				      "input_required", "inputRequests", INPUT_KEY, "method",
				      "roots/list", "params", "requestState", state)
			  : NULL;
	free(state);
	if (!r) {
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
	}
	return r;
}

/* True when call `c` gets its roots through MRTR: modern era, no directory configured, the
 * request's client capabilities declare roots (and the process key could be made). */
static bool mrtr_applies(const struct ctxd_mcp *m, const struct call *c)
{
	if (!c->modern || ctxd_sandbox_root_count(m->configured.sb) > 0) {
		return false;
	}
	json_t *caps = json_object_get(json_object_get(c->params, "_meta"), META_CAPS);
	if (!json_is_object(json_object_get(caps, "roots"))) {
		return false; /* never an input request the client did not declare */
	}
	pthread_once(&state_key_once, state_key_init);
	return state_key_ok;
}

json_t *ctxd_mcp_mrtr_roots(struct ctxd_mcp *m, const struct call *c, const char *method,
			    struct rpc_err *e)
{
	if (!mrtr_applies(m, c)) {
		return NULL;
	}
	if (m->mrtr_ready) { /* the call run again: its roots were resolved (checks passed) */
		m->mrtr_sb = m->mrtr_ready;
		m->mrtr_ready = NULL;
		return NULL;
	}
	unsigned ttl = m->d.cfg->roots_timeout_ms ? m->d.cfg->roots_timeout_ms : 10000;
	double now = mono_ms();
	json_t *later = m->test_hooks ? json_object_get(json_object_get(c->params, "_meta"),
							"ctxd.test/later_ms")
				      : NULL;
	if (json_is_integer(later)) { /* test hook: the clock as it will be (expiry tests) */
		now += (double)json_integer_value(later);
	}
	uint8_t digest[SHA256_DIGEST_SIZE];
	if (request_digest(method, c->params, digest) < 0) {
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		return NULL;
	}
	json_t *state = json_object_get(c->params, "requestState");
	json_t *responses = json_object_get(c->params, "inputResponses");
	if (state && state_check(state, digest, m->principal, now, ttl, e) < 0) {
		return NULL;
	}
	if (responses && !json_is_object(responses)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: inputResponses must be an object keyed like the "
			"inputRequests it answers");
		return NULL;
	}
	json_t *answer = json_object_get(responses, INPUT_KEY);
	if (answer && !state) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: inputResponses.%s came without the requestState of the "
			"input_required result it answers; send both back unchanged" RETRY_HINT,
			INPUT_KEY);
		return NULL;
	}
	if (!answer) { /* a first call, or a retry without our answer: ask (again) */
		return input_required((uint64_t)(now + ttl), digest, m->principal, e);
	}
	json_t *roots = json_object_get(answer, "roots");
	if (!json_is_array(roots)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"Invalid params: inputResponses.%s must be a roots/list result: "
			"{\"roots\": [{\"uri\": \"file:///...\"}]}",
			INPUT_KEY);
		return NULL;
	}
	/* realpath, open and stat of the roots happen on a worker (a root on a hung network
	 * mount must not stall the loop); the call runs again once they are resolved */
	json_t *hold = m->test_hooks ? json_object_get(json_object_get(c->params, "_meta"),
						       "ctxd.test/hold_roots")
				     : NULL;
	if (ctxd_mcp_roots_defer(m, c, method, roots, json_is_true(hold)) < 0) {
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		return NULL;
	}
	return ASYNC;
}
