/* mcp_roots.c - client roots (MCP 2025-11-25 client/roots): roots/list requests and their
 * answers (resolved on a pool worker, applied on the loop thread in arrival order), the policy
 * (client roots narrow the configured directories, never widen or empty them), requests held
 * until the first answer, Landlock for client roots, the tick that times out requests the
 * server sent. */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/log.h"
#include "ctxd/rpc.h"
#include "ctxd/session.h"
#include "ctxd/subs.h"
#include "ctxd/uri.h"
#include "ctxd/watch.h"
#include "ctxd_version.h"
#include "mcp_priv.h"

/* ---- roots (MCP 2025-11-25 client/roots) ---- */

static unsigned roots_timeout_ms(const struct ctxd_mcp *m)
{
	return m->d.cfg->roots_timeout_ms ? m->d.cfg->roots_timeout_ms : 10000;
}

void ctxd_mcp_send_roots_request(struct ctxd_mcp *m)
{
	struct pending_out *p = calloc(1, sizeof(*p));
	char id[32];
	snprintf(id, sizeof(id), "ctxd-roots-%u", ++m->next_out_id);
	if (!p || !(p->id = strdup(id))) {
		free(p);
		return;
	}
	p->deadline = mono_ms() + roots_timeout_ms(m);
	if (m->roots_wait) {
		m->roots_wait_deadline = p->deadline;
	}
	p->next = m->out_reqs;
	m->out_reqs = p;
	json_t *jid = json_string(id);
	ctxd_mcp_emit_json(m, NULL, ctxd_rpc_request_new(jid, "roots/list", NULL));
	json_decref(jid);
}

/* Make `sb` (sealed, owned) the root set new requests see. */
static void roots_install(struct ctxd_mcp *m, struct ctxd_sandbox *sb)
{
	struct sbref *ref = calloc(1, sizeof(*ref));
	if (!ref) {
		ctxd_sandbox_destroy(sb);
		return;
	}
	ref->sb = sb;
	ref->owned = true;
	ref->refs = 1;
	struct sbref *old = m->sb;
	m->sb = ref;
	ctxd_mcp_sb_put(m, old);
}

/* An empty root set whose refusals say why it is empty (`why` completes "no directory is
 * configured and the client ..."). */
static struct ctxd_sandbox *roots_none(const char *why)
{
	char note[400];
	snprintf(note, sizeof(note),
		 "no directory is configured and the client %s: start ctxd with one (ctxd DIR) "
		 "or list it under roots: in the config file",
		 why);
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	if (!sb) {
		return NULL;
	}
	ctxd_sandbox_set_note(sb, note);
	ctxd_sandbox_seal(sb);
	return sb;
}

static void roots_install_none(struct ctxd_mcp *m, const char *why)
{
	struct ctxd_sandbox *sb = roots_none(why);
	if (sb) {
		roots_install(m, sb);
	}
}

/* Pool requests wait while the first roots are awaited (legacy era, roots capability),
 * so that a call made between `initialized` and the client's answer gets the answer the
 * same call gets after it, and while a roots answer is being resolved on a worker, so that
 * a call made after an answer runs on the roots it sent. Takes the request when it must
 * wait. */
bool ctxd_mcp_roots_hold(struct ctxd_mcp *m, struct mreq *q)
{
	if (!m->roots_wait && !m->roots_q) {
		return false;
	}
	q->held_next = NULL;
	if (!m->held) {
		m->held_tail = &m->held;
	}
	*m->held_tail = q;
	m->held_tail = &q->held_next;
	return true;
}

/* The first roots are settled (answered, failed, timed out, or no more input can bring
 * them): run the waiting requests, in arrival order, on the root set now in force. */
static void roots_release(struct ctxd_mcp *m)
{
	m->roots_wait = false;
	struct mreq *q = m->held;
	m->held = NULL;
	while (q) {
		struct mreq *next = q->held_next;
		ctxd_mcp_sb_put(m, q->sb);
		q->sb = ctxd_mcp_sb_get(m);
		ctxd_pool_submit(m->d.pool, &q->r.job, ctxd_mcp_req_work, ctxd_mcp_req_done);
		q = next;
	}
}

/* initialize was answered: decide whether requests must wait for the client's roots. */
void ctxd_mcp_roots_begin(struct ctxd_mcp *m)
{
	if (m->client_has_roots) {
		m->roots_wait = true;
		m->roots_wait_deadline = mono_ms() + roots_timeout_ms(m);
	} else if (ctxd_sandbox_root_count(m->configured.sb) == 0) {
		roots_install_none(m, "does not offer roots");
	}
}

/* `inner` equals `outer` or lies beneath it, component-wise (both canonical). */
static bool path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);
	if (n == 1 && outer[0] == '/') {
		return true;
	}
	return strncmp(inner, outer, n) == 0 && (inner[n] == '\0' || inner[n] == '/');
}

/* Worker: restrict this thread with the client-roots ruleset before its next job. */
static void enforce_on_worker(void *ud)
{
	if (ctxd_sandbox_landlock_enforce(*(int *)ud) < 0) {
		ctxd_log(CTXD_LOG_CRITICAL, "Landlock could not be enforced on a worker: %s",
			 strerror(errno));
	}
}

/* The first roots in client-roots mode fix the Landlock domain for the whole process:
 * later root changes can narrow within it, never widen it. Enforce ruleset `rs` (built for
 * `sb` on the worker that resolved the roots; consumed) as that domain: on the loop thread
 * here, on every worker before its next job. */
static void landlock_enforce_roots(struct ctxd_mcp *m, const struct ctxd_sandbox *sb, int rs)
{
	if (ctxd_sandbox_landlock_enforce(rs) < 0) {
		ctxd_warn("sandbox: Landlock could not be enforced: %s", strerror(errno));
		close(rs);
		return;
	}
	m->landlock_fd = rs;
	ctxd_pool_broadcast(m->d.pool, enforce_on_worker, &m->landlock_fd);
	ctxd_info("sandbox: Landlock active on the client's %zu root(s)",
		  ctxd_sandbox_root_count(sb));
}

/* Two root sets allow the same directories with the same access. */
static bool roots_same(const struct ctxd_sandbox *a, const struct ctxd_sandbox *b)
{
	size_t n = ctxd_sandbox_root_count(a);
	if (n != ctxd_sandbox_root_count(b)) {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const struct ctxd_root *x = ctxd_sandbox_root(a, i), *y = ctxd_sandbox_root(b, i);
		if (strcmp(x->path, y->path) != 0 || x->read_only != y->read_only) {
			return false;
		}
	}
	return true;
}

/* Append ", NAME" to a bounded list of root names for messages ("..." once it is full). */
static void roots_name_add(char *list, size_t n, const char *name)
{
	size_t l = strlen(list);
	if (l + 4 >= n || strcmp(list + (l > 3 ? l - 3 : 0), "...") == 0) {
		return;
	}
	int w = snprintf(list + l, n - l, "%s%s", l ? ", " : "", name);
	if (w < 0 || (size_t)w >= n - l) {
		snprintf(list + l, n - l, "%s...", l ? ", " : "");
	}
}

/* Adds to sb the overlap of root canon with each configured directory (the root when it lies
 * inside one, the directory when it lies inside the root); whether there was any. */
static bool roots_add_overlap(struct ctxd_sandbox *sb, const struct ctxd_sandbox *conf,
			      const char *canon)
{
	size_t nconf = ctxd_sandbox_root_count(conf);
	struct ctxd_error err;
	bool overlap = false;
	for (size_t k = 0; k < nconf; k++) {
		const struct ctxd_root *cr = ctxd_sandbox_root(conf, k);
		const char *keep = path_within(canon, cr->path)   ? canon
				   : path_within(cr->path, canon) ? cr->path
								  : NULL;
		overlap = overlap || keep;
		if (keep && ctxd_sandbox_add_root(sb, keep, cr->read_only, &err) < 0) {
			ctxd_warn("roots/list: %s", err.msg);
		}
	}
	return overlap;
}

/* Adds the client's roots to sb under the policy (all of them with nothing configured, else
 * their overlaps) and lists in outside those disjoint from the configured directories.
 * Returns how many roots were local directories. */
static size_t roots_collect(struct ctxd_mcp *m, json_t *roots, struct ctxd_sandbox *sb,
			    char *outside, size_t outside_n)
{
	const struct ctxd_sandbox *conf = m->configured.sb;
	size_t nconf = ctxd_sandbox_root_count(conf);
	size_t usable = 0;
	size_t i;
	json_t *r;
	json_array_foreach(roots, i, r)
	{
		const char *uri = json_string_value(json_object_get(r, "uri"));
		char path[CTXD_PATH_MAX];
		struct ctxd_error err;
		if (!uri || ctxd_file_uri_to_path(uri, path, sizeof(path)) < 0) {
			ctxd_warn("roots/list: ignoring root '%.200s': not a file:// URI",
				  uri ? uri : "(none)");
			continue;
		}
		char *canon = realpath(path, NULL);
		if (!canon) {
			ctxd_warn("roots/list: ignoring root %.200s: %s", path, strerror(errno));
			continue;
		}
		usable++;
		if (nconf == 0 && ctxd_sandbox_add_root(sb, canon, m->d.cfg->read_only, &err) < 0) {
			ctxd_warn("roots/list: %s", err.msg);
		}
		bool overlap = roots_add_overlap(sb, conf, canon);
		if (nconf > 0 && !overlap) {
			roots_name_add(outside, outside_n, canon);
		}
		free(canon);
	}
	return usable;
}

/* A new set holding the configured directories as configured, for when the client's roots
 * leave none of them (NULL when out of memory); its note, saying why, into note. */
static struct ctxd_sandbox *roots_keep_configured(const struct ctxd_sandbox *conf, size_t given,
						  size_t usable, const char *outside, char *note,
						  size_t note_n)
{
	size_t nconf = ctxd_sandbox_root_count(conf);
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	if (!sb) {
		return NULL;
	}
	for (size_t k = 0; k < nconf; k++) {
		const struct ctxd_root *cr = ctxd_sandbox_root(conf, k);
		struct ctxd_error err;
		if (ctxd_sandbox_add_root(sb, cr->given, cr->read_only, &err) < 0) {
			ctxd_warn("roots: %s", err.msg);
		}
	}
	if (given == 0) {
		snprintf(note, note_n, "the configured directories; the client sent no roots");
	} else if (usable == 0) {
		snprintf(note, note_n,
			 "the configured directories; none of the client's roots is a "
			 "local directory");
	} else {
		snprintf(note, note_n,
			 "the configured directories; the client's roots (%s) lie outside "
			 "them and are not allowed",
			 outside);
	}
	return sb;
}

/* Logs the set in force: one line per new situation, not one per answer (warn: a warning). */
static void roots_log(struct ctxd_mcp *m, bool warn)
{
	const struct ctxd_sandbox *now = m->sb->sb;
	const char *said = ctxd_sandbox_note(now);
	said = said ? said : "the configured directories";
	if (!m->roots_logged || strcmp(m->roots_logged, said) != 0) {
		size_t n = ctxd_sandbox_root_count(now);
		const char *dirs = n == 1 ? "directory" : "directories";
		if (warn) {
			ctxd_warn("roots: %zu allowed %s: %s", n, dirs, said);
		} else {
			ctxd_info("roots: %zu allowed %s: %s", n, dirs, said);
		}
		free(m->roots_logged);
		m->roots_logged = strdup(said);
	}
}

/* One roots/list answer. Its roots are resolved (realpath, open, stat, the Landlock
 * ruleset) on a pool worker, never on the loop thread: a root on a hung network mount would
 * stall every client. The answers take effect on the loop thread in the order they came
 * (one resolved at a time); until the first has, requests wait as before (roots_hold). */
struct roots_job {
	struct ctxd_job job; /* first: the pool hands it back */
	struct ctxd_mcp *m;
	struct roots_job *next;
	json_t *roots;   /* the answer's roots array (owned), or NULL: the answer failed */
	json_t *request; /* MRTR: the call to run again once resolved (owned), else NULL */
	bool submitted, want_ruleset;
	unsigned long hold_until; /* test hook: resolve once this many frames were handled */
	/* results, made by the worker */
	struct ctxd_sandbox *sb; /* sealed; NULL: none (none_why), or out of memory */
	const char *none_why;
	char note[400];
	bool warn;
	int ruleset; /* client-roots mode: the Landlock ruleset for sb, or -1 */
	char rs_err[sizeof(((struct ctxd_error *)0)->msg)];
};

/* The policy (the client's roots may narrow the configured directories, never widen them,
 * never empty them):
 * - directories configured, the client sends no roots ([]): keep the configured ones;
 * - directories configured, roots overlapping them: the overlap (a root inside a configured
 *   directory, or a configured directory inside a root);
 * - directories configured, every root disjoint from them (or unusable): keep the configured
 *   ones, with a warning; a disjoint root is never allowed;
 * - nothing configured: the client's roots are the allowed set; with none usable, nothing
 *   is allowed and refusals say why.
 * Each resulting set carries a note naming its case, which refusals quote. Landlock, applied
 * at start-up to the configured directories, keeps holding whatever the client says; in
 * client-roots mode the first roots fix the Landlock domain. Worker: reads only what does
 * not change (the configured set, the configuration). */
static void roots_build(struct roots_job *j)
{
	struct ctxd_mcp *m = j->m;
	const struct ctxd_sandbox *conf = m->configured.sb;
	size_t nconf = ctxd_sandbox_root_count(conf);
	size_t given = json_array_size(j->roots);
	char outside[240] = "";
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	if (!sb) {
		return;
	}
	size_t usable = roots_collect(m, j->roots, sb, outside, sizeof(outside));
	j->warn = outside[0] != '\0';
	if (nconf > 0 && ctxd_sandbox_root_count(sb) == 0) {
		/* never empty a configured set: keep it, as configured */
		ctxd_sandbox_destroy(sb);
		sb = roots_keep_configured(conf, given, usable, outside, j->note, sizeof(j->note));
		if (!sb) {
			return;
		}
	} else if (nconf > 0) {
		snprintf(j->note, sizeof(j->note),
			 "the client's roots within the configured directories%s%s%s",
			 j->warn ? "; the client's roots (" : "", outside,
			 j->warn ? ") lie outside them and are not allowed" : "");
	} else if (ctxd_sandbox_root_count(sb) > 0) {
		snprintf(j->note, sizeof(j->note), "the client's roots");
	} else {
		ctxd_sandbox_destroy(sb);
		j->none_why =
		    given == 0 ? "sent no roots" : "sent no root that is a local directory";
		j->warn = true;
		return;
	}
	ctxd_sandbox_set_note(sb, j->note);
	ctxd_sandbox_seal(sb);
	j->sb = sb;
}

/* MRTR: a call's own root set (nothing configured): the client's roots, or none. Worker. */
static void mrtr_build(struct roots_job *j)
{
	char outside[240] = "";
	struct ctxd_sandbox *sb = ctxd_sandbox_create();
	if (!sb) {
		return;
	}
	roots_collect(j->m, j->roots, sb, outside, sizeof(outside)); /* nothing configured: all */
	if (ctxd_sandbox_root_count(sb) == 0) {
		ctxd_sandbox_destroy(sb);
		j->none_why = json_array_size(j->roots) == 0
				  ? "sent no roots"
				  : "sent no root that is a local directory";
		return;
	}
	ctxd_sandbox_set_note(sb, "the client's roots");
	ctxd_sandbox_seal(sb);
	j->sb = sb;
}

/* Worker: resolve the answer's roots. */
static void roots_resolve(struct ctxd_job *job)
{
	struct roots_job *j = (struct roots_job *)job;
	struct timespec tick = {0, 1000 * 1000};
	while (j->hold_until &&
	       atomic_load_explicit(&j->m->frames_handled, memory_order_acquire) < j->hold_until) {
		nanosleep(&tick, NULL);
	}
	if (j->request) {
		mrtr_build(j);
	} else {
		roots_build(j);
	}
	if (j->sb && j->want_ruleset && ctxd_sandbox_root_count(j->m->configured.sb) == 0) {
		struct ctxd_error err = {0};
		j->ruleset = ctxd_sandbox_landlock_ruleset(j->sb, j->m->landlock_extra, &err);
		if (j->ruleset < 0) {
			snprintf(j->rs_err, sizeof(j->rs_err), "%s", err.msg);
		}
	}
}

/* The client's roots could not be had (an error answer, or none in time). The set in
 * force stays; with nothing configured and no roots yet, refusals say what happened. */
static void roots_failed(struct ctxd_mcp *m, const char *why)
{
	if (m->roots_wait && ctxd_sandbox_root_count(m->configured.sb) == 0) {
		roots_install_none(m, why);
	}
}

/* A new root set is in force: tell the families (skills follow the roots) and, when it
 * differs from one the client could already have listed, the client. */
static void roots_changed(struct ctxd_mcp *m, const struct ctxd_sandbox *before, bool first)
{
	const struct ctxd_sandbox *now = m->sb->sb;
	if (roots_same(before, now)) {
		return;
	}
	if (m->roots_fn) {
		m->roots_fn(m->roots_ud, now);
	}
	if (!first) { /* before the first roots every list request waited for them */
		ctxd_notify_list_changed(&m->notifier, CTXD_LIST_RESOURCES);
	}
}

static void roots_job_free(struct ctxd_mcp *m, struct roots_job *j)
{
	json_decref(j->roots);
	json_decref(j->request);
	ctxd_sandbox_destroy(j->sb);
	if (j->ruleset >= 0) {
		close(j->ruleset);
	}
	free(j);
	m->roots_jobs--;
}

/* Loop: the answer of `j` takes effect (the set in force, Landlock, the log, the families,
 * the requests waiting for the first roots). */
static void roots_apply(struct ctxd_mcp *m, struct roots_job *j)
{
	struct sbref *before = ctxd_mcp_sb_get(m);
	bool first = m->roots_wait;
	if (!j->roots) {
		roots_failed(m, "answered roots/list with an error");
	} else if (j->sb) {
		if (j->ruleset >= 0 && m->landlock_pending && m->landlock_fd < 0) {
			landlock_enforce_roots(m, j->sb, j->ruleset);
			j->ruleset = -1;
		} else if (j->rs_err[0]) {
			ctxd_warn("sandbox: %s", j->rs_err);
		}
		roots_install(m, j->sb);
		j->sb = NULL;
		roots_log(m, j->warn);
	} else if (j->none_why) {
		roots_install_none(m, j->none_why);
		roots_log(m, j->warn);
	}
	roots_changed(m, before->sb, first);
	ctxd_mcp_sb_put(m, before);
	if (first || !m->roots_q) { /* m->roots_q: the answers after this one */
		roots_release(m);
	}
}

static void roots_next(struct ctxd_mcp *m);

/* Loop: the worker resolved the oldest answer (dropped: the pool is going away). */
static void roots_done(struct ctxd_job *job, bool dropped)
{
	struct roots_job *j = (struct roots_job *)job;
	struct ctxd_mcp *m = j->m;
	m->roots_q = j->next;
	if (!dropped) {
		roots_apply(m, j);
	}
	roots_job_free(m, j);
	if (!dropped) {
		roots_next(m);
	}
}

/* Start on the oldest answer not yet under way; failed answers need no worker. */
static void roots_next(struct ctxd_mcp *m)
{
	while (m->roots_q && !m->roots_q->submitted) {
		struct roots_job *j = m->roots_q;
		j->submitted = true;
		j->want_ruleset = m->landlock_pending && m->landlock_fd < 0;
		if (j->roots &&
		    ctxd_pool_submit(m->d.pool, &j->job, roots_resolve, roots_done) == 0) {
			return;
		}
		if (j->roots) { /* the pool took no job: resolve it here */
			roots_resolve(&j->job);
		}
		m->roots_q = j->next;
		roots_apply(m, j);
		roots_job_free(m, j);
	}
}

/* Loop: an MRTR retry's roots are resolved: run the call again on them. */
static void mrtr_apply(struct ctxd_mcp *m, struct roots_job *j)
{
	struct ctxd_sandbox *sb = j->sb;
	j->sb = NULL;
	if (sb && j->ruleset >= 0 && m->landlock_pending && m->landlock_fd < 0) {
		landlock_enforce_roots(m, sb, j->ruleset);
		j->ruleset = -1;
	} else if (sb && j->rs_err[0]) {
		ctxd_warn("sandbox: %s", j->rs_err);
	}
	if (!sb && j->none_why) {
		sb = roots_none(j->none_why);
	}
	struct sbref *ref = sb ? calloc(1, sizeof(*ref)) : NULL;
	if (!ref) {
		ctxd_sandbox_destroy(sb);
		json_t *id = json_object_get(j->request, "id");
		ctxd_mcp_send_error(m, NULL, id, CTXD_RPC_INTERNAL_ERROR,
				    "Internal error: out of memory", NULL);
		return;
	}
	ref->sb = sb;
	ref->owned = true;
	ref->refs = 1;
	ctxd_mcp_sb_put(m, m->mrtr_ready);
	m->mrtr_ready = ref;
	ctxd_mcp_handle_message(m, j->request);
	ctxd_mcp_sb_put(m, m->mrtr_ready); /* not taken (the call failed before its MRTR step) */
	m->mrtr_ready = NULL;
}

static void mrtr_done(struct ctxd_job *job, bool dropped)
{
	struct roots_job *j = (struct roots_job *)job;
	if (!dropped) {
		mrtr_apply(j->m, j);
	}
	roots_job_free(j->m, j);
}

int ctxd_mcp_roots_defer(struct ctxd_mcp *m, const struct call *c, const char *method,
			 json_t *roots, bool hold)
{
	struct roots_job *j = calloc(1, sizeof(*j));
	if (!j) {
		return -1;
	}
	j->m = m;
	j->ruleset = -1;
	j->roots = json_deep_copy(roots);
	j->request = ctxd_rpc_request_new(c->id, method, json_deep_copy(c->params));
	if (!j->roots || !j->request) {
		json_decref(j->roots);
		json_decref(j->request);
		free(j);
		return -1;
	}
	if (hold) { /* see ctxd_mcp_test_hold: the next frame */
		j->hold_until = atomic_load_explicit(&m->frames_handled, memory_order_relaxed) + 2;
	}
	m->roots_jobs++;
	j->want_ruleset = m->landlock_pending && m->landlock_fd < 0;
	if (ctxd_pool_submit(m->d.pool, &j->job, roots_resolve, mrtr_done) < 0) {
		roots_resolve(&j->job); /* the pool took no job: resolve it here */
		mrtr_done(&j->job, false);
	}
	return 0;
}

void ctxd_mcp_handle_response(struct ctxd_mcp *m, const struct ctxd_rpc_msg *msg)
{
	const char *id = json_string_value(msg->id);
	struct pending_out **pp = &m->out_reqs;
	while (id && *pp && strcmp((*pp)->id, id) != 0) {
		pp = &(*pp)->next;
	}
	if (!id || !*pp) {
		ctxd_debug("dropping a response nobody waits for");
		return;
	}
	struct pending_out *p = *pp;
	*pp = p->next;
	free(p->id);
	free(p);
	struct roots_job *j = calloc(1, sizeof(*j));
	if (!j) {
		ctxd_err("roots/list: out of memory taking the client's answer");
		return;
	}
	j->m = m;
	j->ruleset = -1;
	json_t *roots = json_object_get(msg->result, "roots");
	if (msg->error || !json_is_array(roots)) {
		const char *why = "the answer has no roots array";
		if (msg->error) {
			why = json_string_value(json_object_get(msg->error, "message"));
		}
		ctxd_warn("roots/list failed: %.200s; keeping the current directories",
			  why ? why : "(no message)");
	} else if (!(j->roots = json_deep_copy(roots))) {
		free(j);
		ctxd_err("roots/list: out of memory taking the client's answer");
		return;
	}
	json_t *hold = json_object_get(json_object_get(msg->result, "_meta"), "ctxd.test/hold");
	if (m->test_hooks && json_is_true(hold)) { /* see ctxd_mcp_test_hold: the next frame */
		j->hold_until = atomic_load_explicit(&m->frames_handled, memory_order_relaxed) + 2;
	}
	struct roots_job **tail = &m->roots_q;
	while (*tail) {
		tail = &(*tail)->next;
	}
	*tail = j;
	m->roots_jobs++;
	roots_next(m);
}

void ctxd_mcp_roots_finish(struct ctxd_mcp *m)
{
	while (m->roots_q) {
		struct roots_job *j = m->roots_q;
		m->roots_q = j->next;
		roots_job_free(m, j);
	}
}

void ctxd_mcp_tick(struct ctxd_mcp *m, double now_ms)
{
	ctxd_mcp_tasks_tick(m, now_ms);
	for (struct pending_out **pp = &m->out_reqs; *pp;) {
		struct pending_out *p = *pp;
		if (p->deadline > now_ms) {
			pp = &p->next;
			continue;
		}
		ctxd_warn("roots/list: no answer from the client within %u ms; keeping the current "
			  "directories",
			  roots_timeout_ms(m));
		json_t *params = json_pack("{s:s, s:s}", "requestId", p->id, "reason", "timeout");
		ctxd_mcp_emit_json(m, NULL,
				   ctxd_rpc_notification_new("notifications/cancelled", params));
		*pp = p->next;
		free(p->id);
		free(p);
	}
	if (m->roots_wait && m->roots_wait_deadline <= now_ms) {
		char why[80];
		snprintf(why, sizeof(why), "did not answer roots/list within %u ms",
			 roots_timeout_ms(m));
		struct sbref *before = ctxd_mcp_sb_get(m);
		roots_failed(m, why);
		roots_changed(m, before->sb, true);
		ctxd_mcp_sb_put(m, before);
		roots_release(m);
	}
}

void ctxd_mcp_input_closed(struct ctxd_mcp *m)
{
	ctxd_mcp_tasks_cancel_all(m); /* nobody is left to fetch their results */
	if (m->roots_wait) {
		ctxd_info("roots: input closed before the client's roots arrived; waiting "
			  "requests run on the current directories");
		struct sbref *before = ctxd_mcp_sb_get(m);
		roots_failed(m, "closed its input before sending roots");
		roots_changed(m, before->sb, true);
		ctxd_mcp_sb_put(m, before);
		roots_release(m);
	}
}

void ctxd_mcp_on_roots(struct ctxd_mcp *m, ctxd_roots_fn fn, void *ud)
{
	m->roots_fn = fn;
	m->roots_ud = ud;
}
