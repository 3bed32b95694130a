/* watch.h - inotify change events, driven by the loop, for any module.
 *
 * Watches are registered on directories (inotify watches directories; a file is watched
 * through its parent, filtered by name). Events are coalesced: after the first event on a
 * watch, the callback runs once per changed name when the watch has been quiet for the
 * coalescing delay (default 50 ms). Add/remove are thread-safe; callbacks run on the loop
 * thread and must not block (submit a pool job for any I/O).
 */
#ifndef CTXD_WATCH_H
#define CTXD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ctxd_watch;

/* `dir`: the watched directory (absolute, borrowed for the call); `name`: the entry that
 * changed inside it ("" when the directory itself changed, e.g. deleted or moved);
 * `mask`: the OR of inotify IN_* bits seen during the burst. Loop thread. */
typedef void (*ctxd_watch_fn)(void *ud, const char *dir, const char *name, uint32_t mask);

/* Create the watcher on `loop` with a coalescing delay in milliseconds (0 = 50).
 * Returns NULL with errno set (e.g. EMFILE: inotify instances exhausted). Loop thread. */
struct ctxd_watch *ctxd_watch_create(struct ev_loop *loop, unsigned coalesce_ms);

/* Stop and free; pending events are dropped. NULL-safe. Loop thread. */
void ctxd_watch_destroy(struct ctxd_watch *w);

/* Watch directory `dir` (absolute path, or NULL with `dirfd` an open directory fd whose
 * /proc/self/fd path is used; pass -1 otherwise) for creations, deletions, modifications
 * (IN_CLOSE_WRITE), moves and attribute changes of its entries. Several registrations of
 * the same directory share one inotify watch. Returns a registration id > 0, or -1 with
 * errno set (ENOENT, ENOSPC: inotify watch limit). Thread-safe. */
int ctxd_watch_add(struct ctxd_watch *w, const char *dir, ctxd_watch_fn fn, void *ud);

/* Remove a registration (no callback for it runs after this returns, when called on the
 * loop thread). Unknown ids are ignored. Thread-safe. */
void ctxd_watch_remove(struct ctxd_watch *w, int id);

/* Number of live registrations (for tests and diagnostics). */
size_t ctxd_watch_count(const struct ctxd_watch *w);

#endif
