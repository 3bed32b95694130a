/* fuzz_skill.c - the SKILL.md parser (frontmatter YAML + body), ctxd_skill_md_parse.
 *
 * Byte 0 picks the folder name the name rule compares with (from a small list, so a
 * matching `name:` is reachable) and the arguments the body is then activated with; the
 * rest is the file. The parser must always return a doc; a valid doc has a name that can
 * stand in a prompt name and a URI (no blank, '/', ':' or control character), a non-blank
 * description, a frontmatter object and a body inside the input; every diagnostic has a
 * rule and a message. Substitution (ctxd_skill_args_substitute) never returns more than its
 * cap, and without arguments gives back a body holding no "$ARGUMENTS" exactly as written.
 */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/log.h"
#include "ctxd/skill_args.h"
#include "ctxd/skill_md.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const folders[] = {"demo", "pdf-tools", "a", "x-y-z", "", "Demo"};
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
	    ctxd_skill_md_parse((const char *)data + 1, size - 1, folder, "/fuzz/SKILL.md");
	if (!doc) {
		fprintf(stderr, "ctxd_skill_md_parse returned NULL\n");
		abort();
	}
	if (doc->valid) {
		if (!doc->name || !doc->name[0] || strpbrk(doc->name, " \t\r\n/:%?#") ||
		    !doc->description || !doc->description[strspn(doc->description, " \t\r\n")] ||
		    !json_is_object(doc->frontmatter)) {
			fprintf(stderr, "a valid doc without a usable name or description\n");
			abort();
		}
		for (const unsigned char *c = (const unsigned char *)doc->name; *c; c++) {
			if (*c < 0x20 || *c == 0x7f) {
				fprintf(stderr, "a control character in a served name\n");
				abort();
			}
		}
		static const char *const argv[] = {NULL, "a b", "'x y' \"z\" w\\ v", "",
						   "0123456789abcdef0123456789abcdef"};
		const char *args = argv[(data[0] / 8) % (sizeof(argv) / sizeof(argv[0]))];
		const size_t cap = 4096;
		char *out = NULL;
		size_t len = 0;
		int rc = ctxd_skill_args_substitute(doc->body, args, doc->arg_names,
						    doc->n_arg_names, cap, &out, &len);
		if (rc == 0 && (len > cap || strlen(out) != len)) {
			fprintf(stderr, "substitution past its cap: %zu > %zu\n", len, cap);
			abort();
		}
		if (rc == 0 && !args && !strstr(doc->body, "$ARGUMENTS") &&
		    strcmp(out, doc->body) != 0) {
			fprintf(stderr, "no arguments, no $ARGUMENTS, yet the body changed\n");
			abort();
		}
		if (rc != 0 && rc != -E2BIG && rc != -ENOMEM) {
			fprintf(stderr, "substitution returned %d\n", rc);
			abort();
		}
		free(out);
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
	ctxd_skill_md_put(doc);
	return 0;
}
