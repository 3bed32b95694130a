/* sk_dirs.h - where the skills store looks for skills (the bases: configured directories,
 * the roots' .claude/skills and .agents/skills, the client roots', the user-level ones),
 * what Landlock must allow for them, and how skill files are opened under the symlink
 * rules of sk_store.h. */
#ifndef CTXD_SK_DIRS_H
#define CTXD_SK_DIRS_H

#include <stddef.h>

#include "ctxd/sk_catalog.h"

struct ctxd_skills;

/* The extra directories (canonical absolute paths, borrowed until destroy) outside every
 * root that skills are read from: to allow read-only in Landlock. Writes up to `max` to
 * `out`; returns the total count. Valid right after create. Any thread. */
size_t ctxd_sk_extra_dirs(struct ctxd_skills *sk, const char **out, size_t max);

/* Open a file of `skill`: `rel` is relative to the skill folder ("SKILL.md" is the skill's
 * SKILL.md or skill.md, opened under the same symlink rules as during discovery;
 * "references/x.md" ...). Bundled files are confined to the skill folder (no "..", no
 * absolute path, no symlink leaving it). O_NONBLOCK is added to `flags`, so a FIFO never
 * blocks; the caller checks the file type. Returns an fd (caller closes) or -1 with errno
 * set (EACCES for a path that leaves the folder, ENOENT ...). Worker thread. */
int ctxd_sk_open_file(struct ctxd_skills *sk, const struct ctxd_skill *skill, const char *rel,
		      int flags);

/* Why an open or read failed, as a phrase for a message ("it does not exist", ...), never
 * the raw strerror text. `buf` (at least 64 bytes) holds the text for unusual errnos.
 * Returns `buf` or a static string. Any thread. */
const char *ctxd_sk_why(int err, char *buf, size_t n);

#endif
