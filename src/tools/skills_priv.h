/* skills_priv.h - what the Agent Skills tool sources share (skills.c: the helpers, the
 * tools and their table; skills_catalogue.c: skill_activate's description;
 * skills_prompts.c; skills_resources.c: resources and SEP-2640). Internal to src/tools;
 * not part of the API. Everything here is thread-safe (no shared state).
 */
#ifndef CTXD_SKILLS_PRIV_H
#define CTXD_SKILLS_PRIV_H

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "ctxd/skills.h"
#include "ctxd/utf8.h"

#define RESOURCE_MAX ((size_t)16 << 20) /* SEP-2640 per-skill total */

/* Only regular files are served: a FIFO, socket or device in a skill folder is refused
 * with this errno (opened with O_NONBLOCK, so refusing never blocks). */
#define NOT_REGULAR ENXIO

/* The family's memo slots in a catalogue snapshot (ctxd_sk_memo). */
enum {
	SKILLS_MEMO_LIST = 0,      /* skill_list's unfiltered result (json_t *) */
	SKILLS_MEMO_CATALOGUE = 1, /* skill_activate's description (char *) */
};

/* A JSON string from disk text (a path): invalid UTF-8 bytes become '?'. NULL on ENOMEM. */
json_t *ctxd_skills_jstr(const char *s);

/* `buf` (`len` bytes) looks like text: no NUL in its first 8 KiB, valid UTF-8 (a sequence
 * cut at the end of a truncated read is tolerated). */
bool ctxd_skills_is_text(const char *buf, size_t len);

/* `buf` in base64 (malloc'd; NULL on ENOMEM). */
char *ctxd_skills_b64(const unsigned char *buf, size_t len);

/* The MIME type of `path` by its extension, or NULL. */
const char *ctxd_skills_mime(const char *path);

/* Why reading a skill file failed (`rc`: -errno of ctxd_skills_read_file), as a phrase;
 * `buf` (64 bytes or more) holds unusual texts. */
const char *ctxd_skills_read_problem(int rc, char *buf, size_t n);

/* Read up to `max` bytes of file `rel` of skill `k`. Returns 0 (sets *out, malloc'd and
 * NUL-terminated, *len, and *total, the file's size) or -errno (-NOT_REGULAR, -EISDIR,
 * -EACCES ...). Worker. */
int ctxd_skills_read_file(struct ctxd_skills *sk, const struct ctxd_skill *k, const char *rel,
			  size_t max, char **out, size_t *len, size_t *total);

/* `rel` is SKILL.md or one of the bundled files the scan listed for `k`. */
bool ctxd_skills_has_file(const struct ctxd_skill *k, const char *rel);

/* The activated body of `k` with `args` (may be NULL): 0 with *out set (caller frees),
 * -E2BIG when it would pass the cap (then `msg`, of size `n`, says so for the model), or
 * -ENOMEM. The cap is limits.read_bytes, or the body plus the arguments when that is
 * larger: arguments can never amplify a body past it. */
int ctxd_skills_activate(const struct ctxd_skills *sk, const struct ctxd_skill *k, const char *args,
			 char **out, char *msg, size_t n);

/* skill_activate's description without the catalogue, and with it (the tool's `describe`;
 * skills_catalogue.c). */
extern const char ctxd_skills_activate_description[];
char *ctxd_skills_describe_activate(void *ud);

#endif
