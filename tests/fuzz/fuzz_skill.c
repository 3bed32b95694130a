/* fuzz_skill.c - the SKILL.md parser (frontmatter YAML + body), ctxd_skill_parse.
 *
 * Byte 0 picks the folder name the name rule compares with (from a small list, so a
 * matching `name:` is reachable); the rest is the file. The parser must always return a
 * doc; a valid doc has a name and a description within the spec's limits, a frontmatter
 * object and a body inside the input; every diagnostic has a rule and a message.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/log.h"
#include "ctxd/skills.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const folders[] = { "demo", "pdf-tools", "a", "x-y-z", "", "Demo" };
	static int quiet;
	if (!quiet) {
		ctxd_log_set_level(CTXD_LOG_OFF);
		quiet = 1;
	}
	if (size < 1) {
		return 0;
	}
	const char *folder = folders[data[0] % (sizeof(folders) / sizeof(folders[0]))];
	struct ctxd_skill_doc *doc =
		ctxd_skill_parse((const char *)data + 1, size - 1, folder, "/fuzz/SKILL.md");
	if (!doc) {
		fprintf(stderr, "ctxd_skill_parse returned NULL\n");
		abort();
	}
	if (doc->valid) {
		if (!doc->name || !doc->description || !json_is_object(doc->frontmatter) ||
		    strlen(doc->name) > CTXD_SKILL_NAME_MAX ||
		    strlen(doc->description) > CTXD_SKILL_DESC_MAX) {
			fprintf(stderr, "a valid doc breaks the limits\n");
			abort();
		}
	}
	if (doc->body && (doc->body_len > size || strlen(doc->body) > doc->body_len)) {
		fprintf(stderr, "body longer than the input\n");
		abort();
	}
	for (size_t i = 0; i < doc->n_diags; i++) {
		const struct ctxd_skill_diag *d = &doc->diags[i];
		if (!d->rule || !d->message || !d->message[0]) {
			fprintf(stderr, "diagnostic %zu without rule or message\n", i);
			abort();
		}
		if (d->error && doc->valid) {
			fprintf(stderr, "valid doc with an error diagnostic (%s)\n", d->rule);
			abort();
		}
	}
	ctxd_skill_doc_put(doc);
	return 0;
}
