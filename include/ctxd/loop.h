/* loop.h - the runtime: one libev loop owning stdin/stdout, signals, the pool's completion
 * wake-up (ev_async) and shutdown.
 *
 * Shutdown (stdin EOF, SIGTERM, SIGINT, or stdout gone): stop reading, let in-flight work
 * finish for at most cfg->drain_ms, flush stdout (waiting at most cfg->drain_ms, and at least
 * 2 s, for the client to read), return. Work still running after the
 * drain bound is cancelled and abandoned, so the process never lingers.
 */
#ifndef CTXD_LOOP_H
#define CTXD_LOOP_H

#include "ctxd/config.h"
#include "ctxd/error.h"
#include "ctxd/http_server.h"
#include "ctxd/registry.h"
#include "ctxd/sandbox.h"

struct ctxd_loop;

/* Build the runtime on fds `in_fd` and `out_fd`: the libev default loop, the pool
 * (cfg->threads workers), the transport and the MCP engine; with cfg->http.listen set, the
 * Streamable HTTP server (http_server.h) instead of stdio, with an engine per session. `cfg`, `sb`
 * and `reg` are borrowed and must outlive the loop. Returns NULL with err set. Call once, from the
 * main thread, after the sandbox is sealed (and Landlock applied: workers inherit it). */
struct ctxd_loop *ctxd_loop_create(const struct ctxd_config *cfg, const struct ctxd_sandbox *sb,
				   const struct ctxd_registry *reg, int in_fd, int out_fd,
				   struct ctxd_error *err);

/* The MCP engine, for registering providers before ctxd_loop_run (borrowed; NULL in HTTP
 * mode: use ctxd_loop_set_engine_setup). */
struct ctxd_mcp *ctxd_loop_mcp(struct ctxd_loop *loop);

/* Register providers on every engine: over stdio `fn` runs at once on the one engine, in
 * HTTP mode on each engine as it is created (read_only: for read-only tokens). Before
 * ctxd_loop_run. */
void ctxd_loop_set_engine_setup(struct ctxd_loop *loop, ctxd_engine_setup_fn fn, void *ud);

/* HTTP mode: the sandbox (every root read-only) and registry (no writing tool) that engines
 * for read-only tokens use (borrowed, must outlive the loop). A no-op over stdio. */
void ctxd_loop_set_read_only(struct ctxd_loop *loop, const struct ctxd_sandbox *sb,
			     const struct ctxd_registry *reg);

/* True when serving Streamable HTTP (cfg->http.listen set). */
bool ctxd_loop_is_http(const struct ctxd_loop *loop);

/* A list changed for every client (list_changed to every engine). Loop thread. */
void ctxd_loop_list_changed(struct ctxd_loop *loop, enum ctxd_list_kind kind);

/* The pool and the watcher, for families that submit work or watch files (borrowed;
 * the watcher may be NULL when inotify is unavailable). */
struct ctxd_pool *ctxd_loop_pool(struct ctxd_loop *loop);
struct ctxd_watch *ctxd_loop_watch(struct ctxd_loop *loop);

/* Client-roots mode (no directory configured): enforce Landlock once the client's first
 * roots arrive, with `extra_ro` (borrowed, must outlive the loop) also readable. A no-op in
 * HTTP mode (Landlock is process-wide; many clients' roots cannot narrow it). */
void ctxd_loop_landlock_client_roots(struct ctxd_loop *loop, const char *const *extra_ro);

/* Hold SIGINT and SIGTERM pending (block them in the calling thread and in every thread it
 * creates) until ctxd_loop_run starts handling them, so a signal during start-up ends in a
 * clean shutdown rather than a kill. Call first thing in main. */
void ctxd_loop_hold_signals(void);

/* Run until shutdown. Returns the process exit code (0 for a clean end). SIGINT and SIGTERM
 * are handled from its start until the process exits: the first begins the shutdown, later
 * ones are logged and change nothing (in-flight work still finishes within cfg->drain_ms and
 * every answer is still written), and after the loop ends they are ignored. */
int ctxd_loop_run(struct ctxd_loop *loop);

/* True when in-flight work was abandoned at the drain bound: the caller should exit with
 * _exit() rather than tear down (a worker may still be inside a system call). */
int ctxd_loop_abandoned(const struct ctxd_loop *loop);

/* Tear down (joins the workers). NULL-safe. Do not call after abandon. */
void ctxd_loop_destroy(struct ctxd_loop *loop);

#endif
