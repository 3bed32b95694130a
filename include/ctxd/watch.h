/* watch.h - file change events, driven by the loop, for any module.
 *
 * Watches are registered on directories (a file is watched through its parent, filtered by
 * name). Events are coalesced: after the first event on a watch, the callback runs once per
 * changed name when the watch has been quiet for the coalescing delay (default 50 ms). Add/
 * remove are thread-safe; callbacks run on the loop thread and must not block (submit a pool
 * job for any I/O). The events come from inotify on Linux and from polling in a portable
 * build (src/watch_os.h): a change is then seen within two poll intervals, and once a
 * change is delivered, every change made before it has been delivered too.
 */
#ifndef CTXD_WATCH_H
#define CTXD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ev_loop;
struct ctxd_watch;

/* What changed (the bits of `mask` below; the same values as inotify's IN_* bits, so Linux
 * code may test either). A polling backend reports CREATE (with CLOSE_WRITE for a new
 * regular file), DELETE, MODIFY|CLOSE_WRITE, ATTRIB and DELETE_SELF only: a move shows as
 * DELETE and CREATE. */
#define CTXD_WATCH_MODIFY      0x00000002u /* IN_MODIFY: a file's content changed */
#define CTXD_WATCH_ATTRIB      0x00000004u /* IN_ATTRIB: mode, owner, links, times */
#define CTXD_WATCH_CLOSE_WRITE 0x00000008u /* IN_CLOSE_WRITE: closed after writing */
#define CTXD_WATCH_MOVED_FROM  0x00000040u /* IN_MOVED_FROM: moved out of the directory */
#define CTXD_WATCH_MOVED_TO    0x00000080u /* IN_MOVED_TO: moved into the directory */
#define CTXD_WATCH_CREATE      0x00000100u /* IN_CREATE: created */
#define CTXD_WATCH_DELETE      0x00000200u /* IN_DELETE: deleted */
#define CTXD_WATCH_DELETE_SELF 0x00000400u /* IN_DELETE_SELF: the directory itself went */
#define CTXD_WATCH_MOVE_SELF   0x00000800u /* IN_MOVE_SELF: the directory itself moved */
#define CTXD_WATCH_OVERFLOW    0x00004000u /* IN_Q_OVERFLOW: events lost, anything changed */

/* `dir`: the watched directory (absolute, borrowed for the call); `name`: the entry that
 * changed inside it ("" when the directory itself changed, e.g. deleted or moved);
 * `mask`: the OR of the CTXD_WATCH_* bits seen during the burst. Loop thread. */
typedef void (*ctxd_watch_fn)(void *ud, const char *dir, const char *name, uint32_t mask);

/* Create the watcher on `loop` with a coalescing delay in milliseconds (0 = 50).
 * Returns NULL with errno set (e.g. EMFILE: inotify instances exhausted). Loop thread. */
struct ctxd_watch *ctxd_watch_create(struct ev_loop *loop, unsigned coalesce_ms);

/* Stop and free; pending events are dropped. NULL-safe. Loop thread. */
void ctxd_watch_destroy(struct ctxd_watch *w);

/* Watch directory `dir` (absolute path) for creations, deletions, modifications
 * (CTXD_WATCH_CLOSE_WRITE), moves and attribute changes of its entries. Several registrations
 * of the same directory share one inotify watch (one polled directory). Returns a
 * registration id > 0, or -1 with errno set (ENOENT, ENOTDIR, ENOSPC: inotify watch limit).
 * Thread-safe. */
int ctxd_watch_add(struct ctxd_watch *w, const char *dir, ctxd_watch_fn fn, void *ud);

/* Remove a registration (no callback for it runs after this returns, when called on the
 * loop thread). Unknown ids are ignored. Thread-safe. */
void ctxd_watch_remove(struct ctxd_watch *w, int id);

/* A polling backend (portable build) looks for changes every `ms` milliseconds (> 0; the
 * default is 100, limits.poll_ms); inotify ignores it. Any thread. */
void ctxd_watch_set_poll_ms(struct ctxd_watch *w, unsigned ms);

/* Number of live registrations (for tests and diagnostics). */
size_t ctxd_watch_count(const struct ctxd_watch *w);

#endif
