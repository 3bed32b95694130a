/* skill_args.h - argument substitution in a skill's body (conventions.md "Skills"): what a
 * skill prompt or skill_activate gives the model. Pure: no file system, no protocol. */
#ifndef CTXD_SKILL_ARGS_H
#define CTXD_SKILL_ARGS_H

#include <stddef.h>

/* Substitute the argument string `args` (NULL or blank: no arguments) into `body`, with
 * the names of the frontmatter `arguments:` list (`names`, `n_names`; may be NULL/0):
 * - no arguments: the body as written, except that $ARGUMENTS and $ARGUMENTS[N] become empty;
 * - arguments: $ARGUMENTS is `args`, $ARGUMENTS[N] word N (zero-based, shell-style split:
 *   quotes group words and are removed; past the last word: empty), $name the word at the
 *   name's position; the shorthand $N is word N only when that word was given, the next
 *   character is not a digit, '.' or ',', the previous one not a letter, digit or '$', and
 *   it is not inside a fenced code block or an inline code span;
 * - `\$` directly before a placeholder that would be replaced keeps it literal (the
 *   backslash is removed); `$$` is never collapsed; anything else stays as written;
 * - with arguments and no placeholder replaced, "\n\nARGUMENTS: <args>" is appended.
 * The output is never built past `cap` bytes: beyond it the function stops and returns
 * -E2BIG (so a body of 100,000 `$0` and a 10 KB argument costs at most `cap` bytes).
 * Returns 0 with *out set to a malloc'd NUL-terminated string (caller frees) and *out_len
 * its length (may be NULL), -E2BIG, or -ENOMEM. Pure; thread-safe. */
int ctxd_skill_args_substitute(const char *body, const char *args, char *const *names,
			       size_t n_names, size_t cap, char **out, size_t *out_len);

#endif
