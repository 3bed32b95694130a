/* subs.h - the index of resource subscriptions: who hears about which URI, and which
 * URIs a change on disk concerns (MCP 2025-11-25 server/resources "Subscriptions";
 * MCP 2026-07-28 basic/patterns/subscriptions, `resourceSubscriptions`).
 *
 * A subscription is a (URI, holder) pair. The holder is opaque to the index: the MCP
 * engine uses the legacy session (resources/subscribe) and each subscriptions/listen
 * stream, so one index serves both protocol eras. Each URI is watched at a filesystem
 * path: a directory (any change in it) or an entry `name` of a directory. Directories are
 * watched once each, however many URIs lie in them (one inotify watch per directory).
 *
 * Lookups are hashed: by URI (subscribe, unsubscribe, provider notifications) and by
 * (directory, name) (a change on disk), so one change costs the subscriptions it
 * concerns, not all of them. Loop thread only (the watch's callbacks run there too).
 */
#ifndef CTXD_SUBS_H
#define CTXD_SUBS_H

#include <stdbool.h>
#include <stddef.h>

struct ctxd_watch;
struct ctxd_subs;

/* A change of `uri` for `holder` (both borrowed for the call). Must not add or remove
 * subscriptions. Loop thread. */
typedef void (*ctxd_subs_fn)(void *ud, const char *uri, void *holder);

/* Create an empty index. `watch` (borrowed; may be NULL: nothing is watched and changes
 * come only through ctxd_subs_changed / ctxd_subs_uri_changed) reports changes on disk;
 * `fn(ud, ...)` hears each (uri, holder) a change concerns. NULL on ENOMEM. */
struct ctxd_subs *ctxd_subs_create(struct ctxd_watch *watch, ctxd_subs_fn fn, void *ud);

/* Remove every subscription (and watch) and free. NULL-safe. */
void ctxd_subs_destroy(struct ctxd_subs *s);

/* Subscribe `holder` (non-NULL) to `uri`, whose changes are those of entry `name` of the
 * absolute directory `dir` (`name` "" = any change in `dir`, for a URI that is a
 * directory). All strings are copied. A URI already in the index keeps the path it was
 * first added with. Returns 1 when added, 0 when `holder` already held it, -1 with errno
 * set (ENOMEM, or the watch's errno such as ENOSPC when the inotify watch limit is
 * reached or ENOENT when `dir` is gone); then nothing changed. */
int ctxd_subs_add(struct ctxd_subs *s, const char *uri, const char *dir, const char *name,
		  void *holder);

/* Unsubscribe `holder` from `uri`. The URI's directory stops being watched with its last
 * subscription. Returns 1 when removed, 0 when `holder` did not hold it. */
int ctxd_subs_remove(struct ctxd_subs *s, const char *uri, void *holder);

/* True when `holder` holds `uri`. */
bool ctxd_subs_held(const struct ctxd_subs *s, const char *uri, const void *holder);

/* Number of (URI, holder) pairs, and of directories watched. */
size_t ctxd_subs_count(const struct ctxd_subs *s);
size_t ctxd_subs_dirs(const struct ctxd_subs *s);

/* Entry `name` of directory `dir` changed ("" = the directory itself, or events were
 * lost): tell every holder of every URI watched there (what the watch calls). Returns the
 * number of (URI, holder) pairs told or, while deferred, marked. */
size_t ctxd_subs_changed(struct ctxd_subs *s, const char *dir, const char *name);

/* `uri` changed (a provider said so): tell its holders. Returns the pairs told/marked. */
size_t ctxd_subs_uri_changed(struct ctxd_subs *s, const char *uri);

/* Defer delivery (on = true): changes only mark their URIs, each at most once, however
 * often it changes. Turning deferral off delivers every marked URI once to the holders it
 * has then. Used while the host does not read its output, so changes cannot queue
 * without bound. */
void ctxd_subs_defer(struct ctxd_subs *s, bool on);

/* Subscriptions examined by change lookups since creation, including those in the same
 * hash chain that did not match: the work a change costs (tests, diagnostics). */
size_t ctxd_subs_work(const struct ctxd_subs *s);

#endif
