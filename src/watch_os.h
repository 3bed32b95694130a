/* watch_os.h - the platform half of the change watcher, behind one seam.
 *
 * src/watch.c owns what every platform shares: the registrations, the pending changes
 * coalesced per (registration, name), and their delivery on the loop thread. One backend per
 * build tells it what changed, in directories it identifies by a handle (an int >= 0):
 * src/watch_inotify.c (Linux: inotify, events as they come) or src/watch_poll.c (portable:
 * each directory listed and its entries stat'ed every `limits.poll_ms`). meson picks the
 * polling one on systems other than Linux and with -Dportable=true; a kqueue backend would be
 * a third file here, touching nothing above. Internal to src/: not part of include/.
 */
#ifndef CTXD_WATCH_OS_H
#define CTXD_WATCH_OS_H

#include <stdbool.h>
#include <stdint.h>

struct ev_loop;
struct ctxd_watch;
struct ctxd_watch_os;

/* ---- implemented by the backend --------------------------------------------------------- */

/* Start the backend for watcher `w` on `loop` (loop thread). Returns NULL with errno set
 * (e.g. EMFILE). */
struct ctxd_watch_os *ctxd_watch_os_create(struct ctxd_watch *w, struct ev_loop *loop);

/* Stop it and free everything; nothing is reported afterwards. Loop thread. */
void ctxd_watch_os_destroy(struct ctxd_watch_os *os);

/* Watch directory `dir` (absolute; symlinks followed). The same directory added twice gives
 * the same handle; the watcher calls ctxd_watch_os_remove once its last registration of the
 * handle is gone. Returns the handle (>= 0), or -1 with errno set (ENOENT, ENOTDIR, EACCES,
 * ENOSPC: a system limit). Called under the watcher's lock, from any thread. */
int ctxd_watch_os_add(struct ctxd_watch_os *os, const char *dir);

/* Stop watching `handle`. Called under the watcher's lock, from any thread. */
void ctxd_watch_os_remove(struct ctxd_watch_os *os, int handle);

/* How often a polling backend looks (milliseconds, > 0); event backends ignore it. Any
 * thread. */
void ctxd_watch_os_set_interval(struct ctxd_watch_os *os, unsigned ms);

/* ---- implemented by src/watch.c, called by the backend on the loop thread ---------------- */

/* Entry `name` ("" = the directory itself) of the directory `handle` changed by `mask`
 * (CTXD_WATCH_* bits, include/ctxd/watch.h); handle -1 = every directory (events were
 * lost). Remembered for delivery; returns true when a registration takes it. */
bool ctxd_watch_os_event(struct ctxd_watch *w, int handle, const char *name, uint32_t mask);

/* Deliver what is pending once the watcher's coalescing delay has passed without another
 * call to this (restarts the delay): for backends that see events as they happen. */
void ctxd_watch_os_settle(struct ctxd_watch *w);

/* Deliver what is pending now (a polling backend that has its own quiet period). */
void ctxd_watch_os_deliver(struct ctxd_watch *w);

#endif
