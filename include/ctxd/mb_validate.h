/* mb_validate.h - checking a memory bank (src/mb_validate.c). */
#ifndef CTXD_MB_VALIDATE_H
#define CTXD_MB_VALIDATE_H

#include <jansson.h>

#include "ctxd/error.h"
#include "ctxd/mb_files.h"
#include "ctxd/mb_store.h"

/* Validate the bank `dir` of `mb`: a new array of findings {severity: error|warning|info,
 * code, file, line (0 = the file as a whole), message, hint}, or NULL with err set. The
 * sections a file must hold are memory_bank.sections' list for it, else a core file's
 * template sections; a section is present when a heading other than the title, or a line
 * that is all bold, begins with its words or those of a variant (built-in Cline/Cursor
 * wording, plus memory_bank.section_variants), compared after dropping leading emoji,
 * numbering and punctuation and folding case and accents. A file with two or more headings
 * and none of its expected sections gets one info finding "unrecognised_sections" instead
 * of a "missing_section" warning per section. A relative link is "broken_link" only when it
 * names nothing against the bank nor against the root the bank lives in (a leading run of
 * "../" dropped), and is not checked when it leaves that root. Files over
 * memory_bank.token_budget (bytes / 4) and core files older than the newest change by more
 * than memory_bank.stale_days are warned about. Worker thread. */
json_t *ctxd_mb_validate(struct ctxd_mb *mb, const struct ctxd_mb_dir *dir, struct ctxd_error *err);

#endif
