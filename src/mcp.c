/* mcp.c - MCP lifecycle, both protocol eras, the method table, tools/list and tools/call.
 *
 * Era rules (one binary serves both): an `initialize` request selects the legacy
 * (handshake) era for the process; a request whose params._meta carries
 * io.modelcontextprotocol/protocolVersion selects the modern (2026-07-28, stateless) era.
 * Whichever comes first decides. `server/discover` is answered in both and decides
 * nothing, so a host may probe it and then fall back to `initialize`. */
#include "ctxd/mcp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/log.h"
#include "ctxd/rpc.h"
#include "ctxd/session.h"
#include "ctxd_version.h"

#define META_VERSION "io.modelcontextprotocol/protocolVersion"
#define META_CAPS "io.modelcontextprotocol/clientCapabilities"
#define META_INFO "io.modelcontextprotocol/clientInfo"
#define META_SERVER_INFO "io.modelcontextprotocol/serverInfo"

static const char *const legacy_versions[] = {
	"2025-11-25",
	"2025-06-18",
	"2025-03-26",
	"2024-11-05",
};
#define N_LEGACY (sizeof(legacy_versions) / sizeof(legacy_versions[0]))

static const char instructions[] =
	"ctxd gives you safe, fast access to the user's project directories. File tools "
	"(read_text_file, list_directory, get_file_info, search_files, list_allowed_directories) "
	"read and search files strictly inside the allowed directories; call "
	"list_allowed_directories first to see them. Paths may be absolute (inside an allowed "
	"directory) or relative to the first allowed directory. Prefer search_files over listing "
	"directories one by one, and read_text_file with head/tail/offset/limit to read only the "
	"lines you need; large reads are cut at a byte cap and tell you the next offset.";

struct ctxd_batch {
	size_t pending; /* answers still owed, +1 while the batch is being dispatched */
	char **frames;  /* each a response frame ending in '\n' */
	size_t *lens;
	size_t n, cap;
};

struct ctxd_mcp {
	struct ctxd_mcp_deps d;
	struct ctxd_session sess;
};

/* What a method handler sees. */
struct call {
	json_t *id;
	json_t *params; /* object or NULL */
	bool modern;
	struct ctxd_batch *batch;
};

/* A handler returns a new result object, or NULL with `e` filled (code, message, data),
 * or ASYNC when it handed the request to the pool. */
struct rpc_err {
	int code;
	char msg[CTXD_ERROR_MSG_MAX];
	json_t *data; /* new reference or NULL */
};

static json_t async_marker;
#define ASYNC (&async_marker)

enum {
	M_BEFORE_INIT = 1 << 0, /* legacy: allowed before initialize */
	M_LEGACY = 1 << 1,      /* exists in the legacy era */
	M_MODERN = 1 << 2,      /* exists in the modern era */
	M_CACHEABLE = 1 << 3,   /* modern: result carries ttlMs + cacheScope */
};

typedef json_t *(*method_fn)(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e);

struct method {
	const char *name;
	method_fn fn;
	unsigned flags;
};

static void set_err(struct rpc_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(struct rpc_err *e, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	e->code = code;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

/* ---- output ---- */

static void batch_add(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len);
static void batch_release(struct ctxd_mcp *m, struct ctxd_batch *b);

static void emit(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len)
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

static void emit_json(struct ctxd_mcp *m, struct ctxd_batch *b, json_t *msg)
{
	size_t len = 0;
	char *s = ctxd_rpc_dump_new(msg, &len);
	emit(m, b, s, len);
}

static void send_error(struct ctxd_mcp *m, struct ctxd_batch *b, json_t *id, int code,
		       const char *msg, json_t *data)
{
	emit_json(m, b, ctxd_rpc_error_new(id, code, msg, data));
}

static void batch_add(struct ctxd_mcp *m, struct ctxd_batch *b, char *frame, size_t len)
{
	(void)m;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		char **f = realloc(b->frames, cap * sizeof(*f));
		size_t *l = f ? realloc(b->lens, cap * sizeof(*l)) : NULL;
		if (f) {
			b->frames = f;
		}
		if (!f || !l) {
			free(frame);
			return;
		}
		b->lens = l;
		b->cap = cap;
	}
	b->frames[b->n] = frame;
	b->lens[b->n++] = len;
}

/* Drop one reference; the last one writes the whole batch as one JSON array frame
 * (nothing at all when every element was a notification). */
static void batch_release(struct ctxd_mcp *m, struct ctxd_batch *b)
{
	if (--b->pending > 0) {
		return;
	}
	if (b->n > 0) {
		size_t total = 2;
		for (size_t i = 0; i < b->n; i++) {
			total += b->lens[i]; /* each ends in '\n', which becomes ',' or ']' */
		}
		char *out = malloc(total + 1);
		if (out) {
			size_t o = 0;
			out[o++] = '[';
			for (size_t i = 0; i < b->n; i++) {
				memcpy(out + o, b->frames[i], b->lens[i] - 1);
				o += b->lens[i] - 1;
				out[o++] = i + 1 < b->n ? ',' : ']';
			}
			out[o++] = '\n';
			m->d.send(m->d.send_ud, out, o);
		}
	}
	for (size_t i = 0; i < b->n; i++) {
		free(b->frames[i]);
	}
	free(b->frames);
	free(b->lens);
	free(b);
}

/* ---- capabilities, info ---- */

static json_t *server_capabilities(void)
{
	return json_pack("{s:{s:b}, s:{}}", "tools", "listChanged", 0, "logging");
}

static json_t *server_info(void)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "name", "ctxd", "title",
			 "ctxd: files, skills and memory bank", "version", CTXD_VERSION,
			 "description",
			 "Fast, sandboxed MCP server for project files, Agent Skills and memory banks");
}

/* ---- methods ---- */

static json_t *m_initialize(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	struct ctxd_session *s = &m->sess;
	if (s->era == CTXD_ERA_MODERN) {
		set_err(e, CTXD_RPC_INVALID_REQUEST,
			"initialize is not used in protocol %s: this connection already serves "
			"stateless requests", CTXD_MCP_MODERN_VERSION);
		return NULL;
	}
	if (s->initialize_answered) {
		set_err(e, CTXD_RPC_INVALID_REQUEST, "initialize was already received");
		return NULL;
	}
	json_t *pv = json_object_get(c->params, "protocolVersion");
	if (!json_is_string(pv)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"initialize: params.protocolVersion must be a string");
		return NULL;
	}
	json_t *caps = json_object_get(c->params, "capabilities");
	if (caps && !json_is_object(caps)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"initialize: params.capabilities must be an object");
		return NULL;
	}
	const char *want = json_string_value(pv);
	const char *chosen = legacy_versions[0];
	for (size_t i = 0; i < N_LEGACY; i++) {
		if (strcmp(want, legacy_versions[i]) == 0) {
			chosen = legacy_versions[i];
		}
	}
	s->era = CTXD_ERA_LEGACY;
	s->initialize_answered = true;
	snprintf(s->version, sizeof(s->version), "%s", chosen);
	json_decref(s->client_caps);
	s->client_caps = caps ? json_incref(caps) : json_object();
	json_t *info = json_object_get(c->params, "clientInfo");
	json_decref(s->client_info);
	s->client_info = json_is_object(info) ? json_incref(info) : NULL;
	json_t *name = json_object_get(info, "name");
	json_t *ver = json_object_get(info, "version");
	ctxd_info("initialize: client %s %s asked for %s, using %s",
		  json_is_string(name) ? json_string_value(name) : "?",
		  json_is_string(ver) ? json_string_value(ver) : "?", want, chosen);
	return json_pack("{s:s, s:o, s:o, s:s}", "protocolVersion", chosen, "capabilities",
			 server_capabilities(), "serverInfo", server_info(), "instructions",
			 instructions);
}

static json_t *m_ping(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	(void)m;
	(void)c;
	(void)e;
	return json_object();
}

static json_t *m_discover(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	(void)m;
	(void)c;
	(void)e;
	json_t *versions = json_pack("[s]", CTXD_MCP_MODERN_VERSION);
	for (size_t i = 0; i < N_LEGACY; i++) {
		json_array_append_new(versions, json_string(legacy_versions[i]));
	}
	return json_pack("{s:o, s:o, s:s, s:{s:o}}", "supportedVersions", versions,
			 "capabilities", server_capabilities(), "instructions", instructions,
			 "_meta", META_SERVER_INFO, server_info());
}

static json_t *m_set_level(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *lv = json_object_get(c->params, "level");
	enum ctxd_log_level level;
	if (!json_is_string(lv) || ctxd_log_level_parse(json_string_value(lv), &level) < 0 ||
	    level == CTXD_LOG_OFF || strcmp(json_string_value(lv), "warn") == 0) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"logging/setLevel: level must be one of debug, info, notice, warning, "
			"error, critical, alert, emergency");
		return NULL;
	}
	m->sess.client_log_set = true;
	m->sess.client_log_level = level;
	return json_object();
}

static json_t *m_tools_list(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *cursor = json_object_get(c->params, "cursor");
	if (cursor && !json_is_null(cursor)) {
		/* tools/list fits one page: any cursor is one we never issued */
		set_err(e, CTXD_RPC_INVALID_PARAMS, "tools/list: unknown cursor");
		return NULL;
	}
	json_t *tools = json_array();
	size_t n = ctxd_registry_count(m->d.registry);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(tools, ctxd_registry_entry(m->d.registry, i));
	}
	return json_pack("{s:o}", "tools", tools);
}

/* Worker: validate, run the tool, serialise the whole response frame. */
static void call_work(struct ctxd_job *job)
{
	struct ctxd_request *r = (struct ctxd_request *)job;
	struct ctxd_mcp *m = r->server;
	const struct ctxd_tool *tool = r->handler;
	if (ctxd_job_cancelled(job)) {
		return;
	}
	struct ctxd_error err;
	json_t *result;
	if (ctxd_registry_validate(m->d.registry, tool, r->args, &err) < 0) {
		result = ctxd_tool_error("%s: invalid arguments: %s", tool->name, err.msg);
	} else {
		struct ctxd_tool_ctx ctx = {
			.cfg = m->d.cfg,
			.sandbox = m->d.sandbox,
			.job = job,
			.progress = NULL,
			.ud = ctxd_registry_tool_ud(m->d.registry, tool),
		};
		result = tool->fn(&ctx, r->args);
	}
	if (ctxd_job_cancelled(job)) {
		json_decref(result);
		return;
	}
	json_t *resp;
	if (!result) {
		resp = ctxd_rpc_error_new(r->id, CTXD_RPC_INTERNAL_ERROR,
					  "Internal error: the tool could not build its result", NULL);
	} else {
		if (r->modern) {
			json_object_set_new(result, "resultType", json_string("complete"));
		}
		resp = ctxd_rpc_result_new(r->id, result);
	}
	r->out = ctxd_rpc_dump_new(resp, &r->out_len);
}

static void request_free(struct ctxd_request *r)
{
	json_decref(r->id);
	json_decref(r->args);
	json_decref(r->progress_token);
	free(r->key);
	free(r->out);
	free(r);
}

/* Loop: the job finished (or was dropped before it ran). */
static void call_done(struct ctxd_job *job, bool dropped)
{
	struct ctxd_request *r = (struct ctxd_request *)job;
	struct ctxd_mcp *m = r->server;
	ctxd_session_remove(&m->sess, r);
	if (!r->cancelled) {
		if (r->out) {
			emit(m, r->batch, r->out, r->out_len);
			r->out = NULL;
		} else if (!dropped) {
			send_error(m, r->batch, r->id, CTXD_RPC_INTERNAL_ERROR,
				   "Internal error: out of memory", NULL);
		}
	}
	if (r->batch) {
		batch_release(m, r->batch);
	}
	request_free(r);
	if (m->sess.count == 0 && m->d.idle) {
		m->d.idle(m->d.idle_ud);
	}
}

static json_t *m_tools_call(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *name = json_object_get(c->params, "name");
	if (!json_is_string(name)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "tools/call: params.name must be a string");
		return NULL;
	}
	json_t *args = json_object_get(c->params, "arguments");
	if (args && !json_is_object(args) && !json_is_null(args)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"tools/call: params.arguments must be an object");
		return NULL;
	}
	const struct ctxd_tool *tool = ctxd_registry_find(m->d.registry, json_string_value(name));
	if (!tool) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "Unknown tool: %s", json_string_value(name));
		e->data = json_pack("{s:O}", "name", name);
		return NULL;
	}
	struct ctxd_request *r = calloc(1, sizeof(*r));
	if (!r) {
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		return NULL;
	}
	r->id = json_deep_copy(c->id);
	r->key = ctxd_session_id_key(c->id);
	/* The worker owns a private copy: the frame's JSON tree stays with the loop. */
	r->args = json_is_object(args) ? json_deep_copy(args) : json_object();
	r->modern = c->modern;
	r->handler = tool;
	r->server = m;
	r->batch = c->batch;
	json_t *meta = json_object_get(c->params, "_meta");
	json_t *tok = json_object_get(meta, "progressToken");
	if (json_is_string(tok) || json_is_integer(tok)) {
		r->progress_token = json_incref(tok);
	}
	if (!r->id || !r->key || !r->args) {
		request_free(r);
		set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		return NULL;
	}
	int rc = ctxd_session_add(&m->sess, r);
	if (rc < 0) {
		request_free(r);
		if (rc == -EEXIST) {
			set_err(e, CTXD_RPC_INVALID_REQUEST,
				"Invalid Request: a request with this id is still in flight");
		} else {
			set_err(e, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory");
		}
		return NULL;
	}
	if (r->batch) {
		r->batch->pending++;
	}
	ctxd_pool_submit(m->d.pool, &r->job, call_work, call_done);
	return ASYNC;
}

static const struct method methods[] = {
	{ "initialize", m_initialize, M_BEFORE_INIT | M_LEGACY | M_MODERN },
	{ "ping", m_ping, M_BEFORE_INIT | M_LEGACY },
	{ "server/discover", m_discover, M_BEFORE_INIT | M_LEGACY | M_MODERN | M_CACHEABLE },
	{ "logging/setLevel", m_set_level, M_LEGACY },
	{ "tools/list", m_tools_list, M_LEGACY | M_MODERN | M_CACHEABLE },
	{ "tools/call", m_tools_call, M_LEGACY | M_MODERN },
};

static const struct method *find_method(const char *name)
{
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(methods[i].name, name) == 0) {
			return &methods[i];
		}
	}
	return NULL;
}

/* Modern era request check (2026-07-28 basic/versioning): returns 1 when the request is
 * a valid modern one, 0 when it carries no modern _meta, -1 with `e` set when it is a
 * modern request we must refuse. */
static int check_modern(struct ctxd_mcp *m, const struct call *c, struct rpc_err *e)
{
	json_t *meta = json_object_get(c->params, "_meta");
	json_t *pv = json_object_get(meta, META_VERSION);
	if (!pv || m->sess.era == CTXD_ERA_LEGACY) {
		return 0;
	}
	if (!json_is_string(pv)) {
		set_err(e, CTXD_RPC_INVALID_PARAMS, "_meta.%s must be a string", META_VERSION);
		return -1;
	}
	if (strcmp(json_string_value(pv), CTXD_MCP_MODERN_VERSION) != 0) {
		set_err(e, CTXD_RPC_UNSUPPORTED_VERSION, "Unsupported protocol version: %s",
			json_string_value(pv));
		e->data = json_pack("{s:[s], s:O}", "supported", CTXD_MCP_MODERN_VERSION,
				    "requested", pv);
		return -1;
	}
	if (!json_is_object(json_object_get(meta, META_CAPS))) {
		set_err(e, CTXD_RPC_INVALID_PARAMS,
			"_meta.%s is required and must be an object", META_CAPS);
		return -1;
	}
	return 1;
}

static void handle_request(struct ctxd_mcp *m, const struct ctxd_rpc_msg *msg,
			   struct ctxd_batch *b)
{
	struct call c = { .id = msg->id, .batch = b };
	struct rpc_err e = { 0 };
	if (msg->params && !json_is_object(msg->params)) {
		send_error(m, b, msg->id, CTXD_RPC_INVALID_PARAMS,
			   "Invalid params: MCP params must be an object", NULL);
		return;
	}
	c.params = msg->params;
	int modern = check_modern(m, &c, &e);
	if (modern < 0) {
		send_error(m, b, msg->id, e.code, e.msg, e.data);
		return;
	}
	c.modern = modern == 1;
	const struct method *meth = find_method(msg->method);
	unsigned need = c.modern ? M_MODERN : M_LEGACY;
	if (!meth || !(meth->flags & need)) {
		char text[300];
		snprintf(text, sizeof(text), "Method not found: %.200s", msg->method);
		send_error(m, b, msg->id, CTXD_RPC_METHOD_NOT_FOUND, text, NULL);
		return;
	}
	if (!c.modern && !m->sess.initialize_answered && !(meth->flags & M_BEFORE_INIT)) {
		send_error(m, b, msg->id, CTXD_RPC_INVALID_PARAMS,
			   "Server not initialized: send initialize first, or carry "
			   "_meta." META_VERSION " (2026-07-28) in params",
			   NULL);
		return;
	}
	if (c.modern && m->sess.era == CTXD_ERA_NONE && strcmp(msg->method, "server/discover")) {
		m->sess.era = CTXD_ERA_MODERN;
		ctxd_info("serving the stateless %s era", CTXD_MCP_MODERN_VERSION);
	}
	json_t *result = meth->fn(m, &c, &e);
	if (result == ASYNC) {
		return;
	}
	if (!result) {
		send_error(m, b, msg->id, e.code ? e.code : CTXD_RPC_INTERNAL_ERROR,
			   e.msg[0] ? e.msg : NULL, e.data);
		return;
	}
	if (c.modern || strcmp(msg->method, "server/discover") == 0) {
		json_object_set_new(result, "resultType", json_string("complete"));
		if (meth->flags & M_CACHEABLE) {
			json_object_set_new(result, "ttlMs", json_integer(0));
			json_object_set_new(result, "cacheScope", json_string("private"));
		}
	}
	emit_json(m, b, ctxd_rpc_result_new(msg->id, result));
}

static void cancel_one(struct ctxd_mcp *m, struct ctxd_request *r)
{
	r->cancelled = true;
	ctxd_pool_cancel(m->d.pool, &r->job);
}

static void handle_notification(struct ctxd_mcp *m, const struct ctxd_rpc_msg *msg)
{
	const char *method = msg->method;
	if (strcmp(method, "notifications/initialized") == 0) {
		m->sess.initialized = true;
	} else if (strcmp(method, "notifications/cancelled") == 0) {
		json_t *rid = json_object_get(msg->params, "requestId");
		struct ctxd_request *r = rid ? ctxd_session_find(&m->sess, rid) : NULL;
		if (r) {
			json_t *reason = json_object_get(msg->params, "reason");
			ctxd_debug("request %s cancelled by the client%s%s", r->key,
				   json_is_string(reason) ? ": " : "",
				   json_is_string(reason) ? json_string_value(reason) : "");
			cancel_one(m, r);
		}
	} else {
		ctxd_debug("ignoring notification %.200s", method);
	}
}

static void handle_message(struct ctxd_mcp *m, json_t *v, struct ctxd_batch *b)
{
	struct ctxd_rpc_msg msg;
	struct ctxd_error err;
	switch (ctxd_rpc_classify(v, &msg, &err)) {
	case CTXD_RPC_REQUEST:
		handle_request(m, &msg, b);
		break;
	case CTXD_RPC_NOTIFICATION:
		handle_notification(m, &msg);
		break;
	case CTXD_RPC_RESPONSE:
		/* replies to our own requests arrive here; none are outstanding yet */
		ctxd_debug("dropping a response nobody waits for");
		break;
	case CTXD_RPC_INVALID:
		/* A malformed notification (method, no id) is still never answered. */
		if (json_is_object(v) && json_object_get(v, "method") && !json_object_get(v, "id")) {
			ctxd_debug("ignoring a malformed notification: %s", err.msg);
			break;
		}
		send_error(m, b, msg.id, err.code, err.msg, NULL);
		break;
	}
}

static void handle_batch(struct ctxd_mcp *m, json_t *arr)
{
	if (json_array_size(arr) == 0) {
		send_error(m, NULL, NULL, CTXD_RPC_INVALID_REQUEST,
			   "Invalid Request: empty batch", NULL);
		return;
	}
	struct ctxd_batch *b = calloc(1, sizeof(*b));
	if (!b) {
		send_error(m, NULL, NULL, CTXD_RPC_INTERNAL_ERROR, "Internal error: out of memory",
			   NULL);
		return;
	}
	b->pending = 1;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		/* initialize may not be batched (2025-03-26 basic/lifecycle) */
		json_t *meth = json_object_get(v, "method");
		if (json_is_string(meth) && strcmp(json_string_value(meth), "initialize") == 0) {
			json_t *id = json_object_get(v, "id");
			send_error(m, b, json_is_string(id) || json_is_integer(id) ? id : NULL,
				   CTXD_RPC_INVALID_REQUEST,
				   "Invalid Request: initialize cannot be part of a batch", NULL);
			continue;
		}
		handle_message(m, v, b);
	}
	batch_release(m, b);
}

void ctxd_mcp_handle_frame(struct ctxd_mcp *m, const char *line, size_t len)
{
	if (!line) {
		char text[160];
		snprintf(text, sizeof(text),
			 "Parse error: message exceeds the %zu-byte frame limit and was dropped",
			 m->d.cfg->max_frame_bytes);
		ctxd_warn("%s", text);
		send_error(m, NULL, NULL, CTXD_RPC_PARSE_ERROR, text, NULL);
		return;
	}
	struct ctxd_error err;
	json_t *v = ctxd_rpc_parse(line, len, &err);
	if (!v) {
		send_error(m, NULL, NULL, CTXD_RPC_PARSE_ERROR, err.msg, NULL);
		return;
	}
	if (json_is_array(v)) {
		if (m->sess.era == CTXD_ERA_LEGACY && strcmp(m->sess.version, "2025-03-26") == 0) {
			handle_batch(m, v);
		} else {
			send_error(m, NULL, NULL, CTXD_RPC_INVALID_REQUEST,
				   "Invalid Request: JSON-RPC batches are only accepted with "
				   "protocol 2025-03-26",
				   NULL);
		}
	} else {
		handle_message(m, v, NULL);
	}
	json_decref(v);
}

/* ---- log forwarding (logging capability) ---- */

static void log_sink(void *ud, enum ctxd_log_level level, const char *logger, const char *msg)
{
	struct ctxd_mcp *m = ud;
	if (m->sess.era != CTXD_ERA_LEGACY || !m->sess.client_log_set ||
	    level < m->sess.client_log_level || level >= CTXD_LOG_OFF) {
		return;
	}
	json_t *params = json_pack("{s:s, s:s, s:s}", "level", ctxd_log_level_name(level),
				   "logger", logger, "data", msg);
	if (params) {
		emit_json(m, NULL, ctxd_rpc_notification_new("notifications/message", params));
	}
}

struct ctxd_mcp *ctxd_mcp_create(const struct ctxd_mcp_deps *deps)
{
	struct ctxd_mcp *m = calloc(1, sizeof(*m));
	if (!m) {
		return NULL;
	}
	m->d = *deps;
	if (ctxd_session_init(&m->sess) < 0) {
		free(m);
		return NULL;
	}
	ctxd_log_set_sink(log_sink, m);
	return m;
}

void ctxd_mcp_destroy(struct ctxd_mcp *m)
{
	if (!m) {
		return;
	}
	ctxd_log_set_sink(NULL, NULL);
	ctxd_session_finish(&m->sess);
	free(m);
}

size_t ctxd_mcp_inflight(const struct ctxd_mcp *m)
{
	return m->sess.count;
}

static void cancel_cb(struct ctxd_request *r, void *ud)
{
	cancel_one(ud, r);
}

void ctxd_mcp_cancel_all(struct ctxd_mcp *m)
{
	ctxd_session_foreach(&m->sess, cancel_cb, m);
}

const char *ctxd_mcp_instructions(void)
{
	return instructions;
}
