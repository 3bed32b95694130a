/* instructions.c - the model's guidance, built from the tools actually offered.
 *
 * Each family with at least one offered tool contributes a heading, one sentence about the
 * family, and hints (tools/list already lists every tool: the text does not repeat it). A
 * hint names tools only from its `needs` list and is kept only when every one of them is
 * offered (or, with `any`, at least one: such a hint names none), so no text ever points
 * the model at a tool it cannot call. */
#include "ctxd/instructions.h"

#include <errno.h>
#include <stdlib.h>

#include "ctxd/fs.h"
#include "ctxd/memory_bank.h"
#include "ctxd/skills.h"
#include "ctxd/strbuf.h"

struct hint {
	const char *text;
	const char *needs[3]; /* NULL-terminated */
	bool any;             /* one of `needs` suffices (the text names none of them) */
};

struct family {
	const char *label;
	const struct ctxd_tool *tools;
	const size_t *count;
	const char *about;
	struct hint hints[6]; /* ends with text == NULL */
};

static const struct family families[] = {
    {
	"FILES",
	ctxd_fs_tools,
	&ctxd_fs_tools_count,
	"the file tools work strictly inside the allowed directories; relative paths are "
	"resolved against the first one.",
	{
	    {"Call list_allowed_directories first.", {"list_allowed_directories"}},
	    {"Find files by name with search_files rather than listing directories one "
	     "by one.",
	     {"search_files"}},
	    {"Find text with grep rather than reading files one by one.", {"grep"}},
	    {"With read_text_file read only the lines you need (head, tail, "
	     "offset/limit).",
	     {"read_text_file"}},
	    {"When you rewrite a file you read earlier, pass expectedSha256.",
	     {"write_file", "edit_file"},
	     true},
	},
    },
    {
	"SKILLS",
	ctxd_skills_tools,
	&ctxd_skills_tools_count,
	"Agent Skills are instructions for specific tasks, with bundled files.",
	{
	    {"When a task matches a skill's description, call skill_activate and "
	     "follow its instructions.",
	     {"skill_activate"}},
	    {"Read a skill's bundled files with skill_read_file only when needed.",
	     {"skill_read_file"}},
	},
    },
    {
	"MEMORY BANK",
	ctxd_memory_bank_tools,
	&ctxd_memory_bank_tools_count,
	"the project's persistent context in markdown files (projectbrief, productContext, "
	"activeContext, systemPatterns, techContext, progress).",
	{
	    {"Read it at the start of a task (memory_bank_read with core: true).",
	     {"memory_bank_read"}},
	    {"Search it with memory_bank_search.", {"memory_bank_search"}},
	    {"Record decisions and progress with memory_bank_write on one section "
	     "rather than rewriting whole files.",
	     {"memory_bank_write"}},
	},
    },
};

static bool hint_applies(const struct ctxd_registry *reg, const struct hint *h)
{
	bool all = true, one = false;
	for (size_t i = 0; i < 3 && h->needs[i]; i++) {
		bool have = ctxd_registry_find(reg, h->needs[i]) != NULL;
		all = all && have;
		one = one || have;
	}
	return h->any ? one : all;
}

char *ctxd_instructions_build(const struct ctxd_registry *reg)
{
	struct ctxd_strbuf b = {0};
	bool any_family = false;
	ctxd_strbuf_str(&b, "ctxd gives you safe, fast access to the user's project.");
	for (size_t f = 0; f < sizeof(families) / sizeof(families[0]); f++) {
		const struct family *fam = &families[f];
		size_t offered = 0;
		for (size_t i = 0; i < *fam->count; i++) {
			offered += ctxd_registry_find(reg, fam->tools[i].name) != NULL;
		}
		if (offered == 0) {
			continue;
		}
		any_family = true;
		ctxd_strbuf_printf(&b, " %s: %s", fam->label, fam->about);
		for (const struct hint *h = fam->hints; h->text; h++) {
			if (hint_applies(reg, h)) {
				ctxd_strbuf_printf(&b, " %s", h->text);
			}
		}
	}
	if (b.oom || !any_family) {
		free(b.p);
		errno = b.oom ? ENOMEM : 0;
		return NULL;
	}
	return b.p;
}
