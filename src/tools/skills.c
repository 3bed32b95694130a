/* tools/skills.c - the Agent Skills surface: the skill_* tools, one prompt per skill, the
 * `skill://` resources (SKILL.md and bundled files) and the SEP-2640 skills/list and
 * skills/get methods, all over the catalogue snapshot of skills.c.
 *
 * Every file read goes through ctxd_skills_open_file, confined to the skill's folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/skills.h"

#define BINARY_PROBE     8192u
#define RESOURCE_MAX     ((size_t)16 << 20) /* SEP-2640 per-skill total */
#define DESCRIBE_MAX     8192u
#define DEFAULT_READ_MAX ((size_t)256 << 10)

/* ---- helpers -------------------------------------------------------------------------- */

static json_t *fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static json_t *fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a path cut by the buffer may end mid-sequence: drop a partial tail */
	size_t n = strlen(msg);
	for (int k = 0; k < 4 && n > 0; k++) {
		json_t *j = json_stringn(msg, n);
		if (j) {
			json_decref(j);
			break;
		}
		n--;
	}
	msg[n] = '\0';
	return ctxd_tool_error("%s", msg);
}

/* A JSON string from disk text (a path): invalid UTF-8 bytes become '?'. */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	if (j) {
		return j;
	}
	char *c = strdup(s);
	if (!c) {
		return NULL;
	}
	for (unsigned char *p = (unsigned char *)c; *p; p++) {
		if (*p >= 0x80) {
			*p = '?';
		}
	}
	j = json_string(c);
	free(c);
	return j;
}

static bool is_text(const char *buf, size_t len)
{
	size_t probe = len < BINARY_PROBE ? len : BINARY_PROBE;
	if (memchr(buf, '\0', probe)) {
		return false;
	}
	/* valid UTF-8, tolerating a sequence cut at the end of a truncated read */
	json_t *j = json_stringn(buf, len);
	if (j) {
		json_decref(j);
		return true;
	}
	for (size_t cut = 1; cut < 4 && cut < len; cut++) {
		j = json_stringn(buf, len - cut);
		if (j) {
			json_decref(j);
			return true;
		}
	}
	return false;
}

static char *b64(const unsigned char *buf, size_t len)
{
	return ctxd_base64_encode(buf, len, NULL);
}

static const char *mime_of(const char *path)
{
	static const char *const map[][2] = {
		{".md", "text/markdown"},      {".markdown", "text/markdown"},
		{".txt", "text/plain"},        {".py", "text/x-python"},
		{".sh", "text/x-shellscript"}, {".js", "text/javascript"},
		{".ts", "text/x-typescript"},  {".json", "application/json"},
		{".yaml", "application/yaml"}, {".yml", "application/yaml"},
		{".html", "text/html"},        {".css", "text/css"},
		{".csv", "text/csv"},          {".xml", "application/xml"},
		{".png", "image/png"},         {".jpg", "image/jpeg"},
		{".jpeg", "image/jpeg"},       {".gif", "image/gif"},
		{".svg", "image/svg+xml"},     {".pdf", "application/pdf"},
	};
	const char *dot = strrchr(path, '.');
	const char *slash = strrchr(path, '/');
	if (!dot || (slash && dot < slash)) {
		return NULL;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcasecmp(dot, map[i][0]) == 0) {
			return map[i][1];
		}
	}
	return NULL;
}

/* Read up to `max` bytes of a skill file. Returns 0 (sets *out, *len, *total) or -errno. */
static int read_file(struct ctxd_skills *sk, const struct ctxd_skill *k, const char *rel,
		     size_t max, char **out, size_t *len, size_t *total)
{
	int fd = ctxd_skills_open_file(sk, k, rel, O_RDONLY);
	if (fd < 0) {
		return -errno;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		close(fd);
		return -e;
	}
	size_t want = (size_t)st.st_size < max ? (size_t)st.st_size : max;
	char *buf = malloc(want + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	size_t got = 0;
	while (got < want) {
		ssize_t r = read(fd, buf + got, want - got);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			break;
		}
		got += (size_t)r;
	}
	close(fd);
	buf[got] = '\0';
	*out = buf;
	*len = got;
	*total = (size_t)st.st_size;
	return 0;
}

static bool has_file(const struct ctxd_skill *k, const char *rel)
{
	if (strcmp(rel, "SKILL.md") == 0) {
		return true;
	}
	for (size_t i = 0; i < k->n_files; i++) {
		if (strcmp(k->files[i], rel) == 0) {
			return true;
		}
	}
	return false;
}

/* The activated body: arguments substituted. Returns malloc'd text or NULL (ENOMEM). */
static char *activate(const struct ctxd_skill *k, const char *args)
{
	return ctxd_skills_substitute(k->doc->body, args, k->dir);
}

static size_t read_max(const struct ctxd_skills *sk)
{
	const struct ctxd_config *cfg = ctxd_skills_config(sk);
	return cfg && cfg->max_read_bytes ? cfg->max_read_bytes : DEFAULT_READ_MAX;
}

static json_t *unknown_skill(const struct ctxd_skills_snapshot *snap, const char *name)
{
	char avail[600] = "";
	size_t w = 0;
	for (size_t i = 0; i < snap->n_skills && w + 70 < sizeof(avail); i++) {
		w += (size_t)snprintf(avail + w, sizeof(avail) - w, "%s%s", i ? ", " : "",
				      snap->skills[i].name);
	}
	return fail("unknown skill '%.64s'; available: %s (see skill_list; skill_diagnostics "
		    "explains skipped skills)", name, snap->n_skills ? avail : "none");
}

/* ---- tools ---------------------------------------------------------------------------- */

static json_t *skill_list(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_skills *sk = ctx->ud;
	const char *query = json_string_value(json_object_get(args, "query"));
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	bool cacheable = !query || !*query;
	json_t *cached = cacheable ? __atomic_load_n(&snap->list_cache, __ATOMIC_ACQUIRE) : NULL;
	if (cached) {
		/* a new top level sharing the cached parts: callers only add keys to the top
		 * level (resultType), nothing below it is ever changed */
		json_t *copy = json_copy(cached);
		ctxd_skills_snapshot_put(snap);
		return copy;
	}
	json_t *arr = json_array();
	char *text = NULL;
	size_t tn = 0;
	FILE *f = open_memstream(&text, &tn);
	size_t shown = 0, skipped = 0;
	for (size_t i = 0; i < snap->n_diags; i++) {
		skipped += snap->diags[i].error;
	}
	for (size_t i = 0; arr && f && i < snap->n_skills; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		if (query && *query && !strcasestr(k->name, query) &&
		    !strcasestr(k->doc->description, query)) {
			continue;
		}
		json_t *e = json_object();
		if (!e || json_object_set_new(e, "name", json_string(k->name)) ||
		    json_object_set_new(e, "description", json_string(k->doc->description)) ||
		    json_object_set_new(e, "location", jstr(k->skill_md)) ||
		    json_object_set_new(e, "files", json_integer((json_int_t)k->n_files)) ||
		    json_array_append_new(arr, e)) {
			json_decref(e);
			json_decref(arr);
			arr = NULL;
			break;
		}
		fprintf(f, "- %s: %s\n  (%s; %zu bundled file%s)\n", k->name,
			k->doc->description, k->skill_md, k->n_files, k->n_files == 1 ? "" : "s");
		shown++;
	}
	if (f) {
		if (shown == 0) {
			fprintf(f, "No skills%s%s%s.", query && *query ? " match '" : "",
				query && *query ? query : "", query && *query ? "'" : "");
		}
		if (skipped) {
			fprintf(f, "\n%zu skill%s skipped: see skill_diagnostics.", skipped,
				skipped == 1 ? " was" : "s were");
		}
	}
	json_t *res = NULL;
	if (f && fclose(f) == 0 && arr) {
		json_t *st = json_pack("{s:o, s:I, s:I}", "skills", arr, "total",
				       (json_int_t)snap->n_skills, "skipped", (json_int_t)skipped);
		arr = NULL;
		res = st ? ctxd_tool_result(text, st) : NULL;
	}
	json_decref(arr);
	free(text);
	if (res && cacheable) {
		/* publish for later calls; if another worker won the race, keep theirs */
		json_t *expected = NULL;
		json_t *mine = json_copy(res); /* shallow: see above */
		if (mine && !__atomic_compare_exchange_n(&snap->list_cache, &expected, mine, false,
							 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			json_decref(mine);
		}
	}
	ctxd_skills_snapshot_put(snap);
	return res;
}

static json_t *skill_activate(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_skills *sk = ctx->ud;
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *arguments = json_string_value(json_object_get(args, "arguments"));
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_skills_find(snap, name ? name : "");
	if (!k) {
		json_t *r = unknown_skill(snap, name ? name : "");
		ctxd_skills_snapshot_put(snap);
		return r;
	}
	char *body = activate(k, arguments);
	json_t *files = json_array();
	char *text = NULL;
	size_t tn = 0;
	FILE *f = body ? open_memstream(&text, &tn) : NULL;
	json_t *res = NULL;
	if (f && files) {
		fprintf(f, "Skill: %s\nBase directory: %s\n\n%s", k->name, k->dir, body);
		if (k->n_files) {
			fprintf(f, "\n\nBundled files (paths relative to the base directory; read "
				   "one with skill_read_file):");
		}
		for (size_t i = 0; i < k->n_files; i++) {
			fprintf(f, "\n- %s", k->files[i]);
			if (json_array_append_new(files, jstr(k->files[i])) < 0) {
				break;
			}
		}
		if (fclose(f) == 0) {
			json_t *st = json_pack("{s:s, s:o, s:s, s:O}", "name", k->name, "baseDir",
					       jstr(k->dir), "body", body, "files", files);
			res = st ? ctxd_tool_result(text, st) : NULL;
		}
	}
	json_decref(files);
	free(text);
	free(body);
	ctxd_skills_snapshot_put(snap);
	return res;
}

static json_t *skill_read_file(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	struct ctxd_skills *sk = ctx->ud;
	const char *name = json_string_value(json_object_get(args, "name"));
	const char *path = json_string_value(json_object_get(args, "path"));
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_skills_find(snap, name ? name : "");
	json_t *res;
	if (!k) {
		res = unknown_skill(snap, name ? name : "");
		ctxd_skills_snapshot_put(snap);
		return res;
	}
	char *buf = NULL;
	size_t len = 0, total = 0;
	int rc = read_file(sk, k, path ? path : "", read_max(sk), &buf, &len, &total);
	if (rc < 0) {
		res = fail("cannot read '%.300s' of skill '%s': %s", path ? path : "", k->name,
			   rc == -EACCES ? "the path must stay inside the skill folder (relative, "
					   "no '..', no symlink leaving it)"
					 : strerror(-rc));
		ctxd_skills_snapshot_put(snap);
		return res;
	}
	bool text = is_text(buf, len);
	bool truncated = len < total;
	const char *mime = mime_of(path);
	res = NULL;
	if (text) {
		json_t *content = json_stringn(buf, len);
		for (size_t cut = 1; !content && cut < 4 && cut < len; cut++) {
			content = json_stringn(buf, len - cut);
		}
		json_t *st = content ? json_pack("{s:s, s:s, s:I, s:s, s:O, s:b, s:s?}", "name",
						 k->name, "path", path, "size", (json_int_t)total,
						 "encoding", "utf-8", "content", content,
						 "truncated", truncated, "mimeType", mime)
				     : NULL;
		if (st) {
			char note[160] = "";
			if (truncated) {
				snprintf(note, sizeof(note),
					 "\n[truncated: %zu of %zu bytes shown]", len, total);
			}
			char *t = malloc(json_string_length(content) + strlen(note) + 1);
			if (t) {
				memcpy(t, json_string_value(content), json_string_length(content));
				strcpy(t + json_string_length(content), note);
				res = ctxd_tool_result(t, st);
				free(t);
			} else {
				json_decref(st);
			}
		}
		json_decref(content);
	} else {
		char *enc = b64((unsigned char *)buf, len);
		json_t *st = enc ? json_pack("{s:s, s:s, s:I, s:s, s:s, s:b, s:s}", "name",
					     k->name, "path", path, "size", (json_int_t)total,
					     "encoding", "base64", "content", enc, "truncated",
					     truncated, "mimeType",
					     mime ? mime : "application/octet-stream")
				 : NULL;
		if (st) {
			size_t tl = strlen(enc) + 200;
			char *t = malloc(tl);
			if (t) {
				snprintf(t, tl, "Binary file %s (%zu bytes%s), base64:\n%s", path,
					 total, truncated ? ", truncated" : "", enc);
				res = ctxd_tool_result(t, st);
				free(t);
			} else {
				json_decref(st);
			}
		}
		free(enc);
	}
	free(buf);
	ctxd_skills_snapshot_put(snap);
	return res;
}

static json_t *diag_json(const struct ctxd_skill_diag *d)
{
	json_t *o = json_pack("{s:o, s:s, s:s, s:s}", "file", jstr(d->file), "rule", d->rule,
			      "severity", d->error ? "error" : "warning", "message", d->message);
	if (o && d->line) {
		json_object_set_new(o, "line", json_integer(d->line));
		json_object_set_new(o, "column", json_integer(d->col));
	}
	if (o && d->other) {
		json_object_set_new(o, "shadowedBy", jstr(d->other));
	}
	return o;
}

static json_t *skill_diagnostics(const struct ctxd_tool_ctx *ctx, json_t *args)
{
	(void)args;
	struct ctxd_skills *sk = ctx->ud;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		return NULL;
	}
	json_t *arr = json_array();
	char *text = NULL;
	size_t tn = 0;
	FILE *f = open_memstream(&text, &tn);
	for (size_t i = 0; arr && f && i < snap->n_diags; i++) {
		const struct ctxd_skill_diag *d = &snap->diags[i];
		if (json_array_append_new(arr, diag_json(d)) < 0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
		if (d->line) {
			fprintf(f, "%s:%u:%u: %s [%s] %s\n", d->file, d->line, d->col,
				d->error ? "error" : "warning", d->rule, d->message);
		} else {
			fprintf(f, "%s: %s [%s] %s\n", d->file, d->error ? "error" : "warning",
				d->rule, d->message);
		}
	}
	json_t *res = NULL;
	if (f) {
		if (snap->n_diags == 0) {
			fprintf(f, "No problems: all %zu skill%s are valid.", snap->n_skills,
				snap->n_skills == 1 ? "" : "s");
		}
		if (fclose(f) == 0 && arr) {
			json_t *st = json_pack("{s:o, s:I, s:I}", "diagnostics", arr, "validSkills",
					       (json_int_t)snap->n_skills, "directoriesVisited",
					       (json_int_t)snap->dirs_visited);
			arr = NULL;
			res = st ? ctxd_tool_result(text, st) : NULL;
		}
	}
	json_decref(arr);
	free(text);
	ctxd_skills_snapshot_put(snap);
	return res;
}

/* The skill_activate description, with the catalogue the model chooses from. */
static char *describe_activate(void *ud)
{
	struct ctxd_skills *sk = ud;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot_peek(sk);
	if (!snap) {
		return NULL;
	}
	char *out = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&out, &n);
	if (!f) {
		ctxd_skills_snapshot_put(snap);
		return NULL;
	}
	fputs("Activate an Agent Skill: returns its instructions (SKILL.md body, with "
	      "`arguments` substituted), its base directory and its bundled files (read them "
	      "with skill_read_file). Use a skill when the task matches its description.",
	      f);
	fputs(snap->n_skills ? "\n\nAvailable skills:" : "\n\nNo skills are installed.", f);
	size_t i = 0;
	for (; i < snap->n_skills; i++) {
		long pos = ftell(f);
		if (pos > 0 && (size_t)pos > DESCRIBE_MAX) {
			break;
		}
		fprintf(f, "\n- %s: %s", snap->skills[i].name, snap->skills[i].doc->description);
	}
	if (i < snap->n_skills) {
		fprintf(f, "\n... and %zu more (see skill_list).", snap->n_skills - i);
	}
	ctxd_skills_snapshot_put(snap);
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* clang-format off */
static const char list_in[] =
	"{\"type\":\"object\",\"properties\":{\"query\":{\"type\":\"string\",\"description\":"
	"\"Only skills whose name or description contains this text (case-insensitive).\"}},"
	"\"additionalProperties\":false}";
static const char list_out[] =
	"{\"type\":\"object\",\"properties\":{\"skills\":{\"type\":\"array\",\"items\":{\"type\":"
	"\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"description\":{\"type\":"
	"\"string\"},\"location\":{\"type\":\"string\",\"description\":\"Absolute path of the "
	"SKILL.md.\"},\"files\":{\"type\":\"integer\",\"description\":\"Bundled files besides "
	"SKILL.md.\"}},\"required\":[\"name\",\"description\",\"location\",\"files\"],"
	"\"additionalProperties\":false}},\"total\":{\"type\":\"integer\",\"description\":\"Valid "
	"skills installed.\"},\"skipped\":{\"type\":\"integer\",\"description\":\"Skills skipped "
	"because of errors (see skill_diagnostics).\"}},\"required\":[\"skills\",\"total\","
	"\"skipped\"],\"additionalProperties\":false}";
static const char activate_in[] =
	"{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"description\":"
	"\"The skill's name, as listed.\"},\"arguments\":{\"type\":\"string\",\"description\":"
	"\"Arguments for the skill: replace $ARGUMENTS, $ARGUMENTS[N] and $N (zero-based, "
	"shell-style words) in its instructions, or are appended when it has no "
	"placeholder.\"}},\"required\":[\"name\"],\"additionalProperties\":false}";
static const char activate_out[] =
	"{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"baseDir\":{\"type\":"
	"\"string\",\"description\":\"The skill folder; bundled paths are relative to it.\"},"
	"\"body\":{\"type\":\"string\",\"description\":\"The instructions, frontmatter removed, "
	"arguments substituted.\"},\"files\":{\"type\":\"array\",\"items\":{\"type\":\"string\"},"
	"\"description\":\"Bundled files (not read).\"}},\"required\":[\"name\",\"baseDir\","
	"\"body\",\"files\"],\"additionalProperties\":false}";
static const char read_in[] =
	"{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"description\":"
	"\"The skill's name.\"},\"path\":{\"type\":\"string\",\"description\":\"A file inside "
	"the skill folder, relative to it (e.g. references/guide.md or SKILL.md).\"}},"
	"\"required\":[\"name\",\"path\"],\"additionalProperties\":false}";
static const char read_out[] =
	"{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},\"path\":{\"type\":"
	"\"string\"},\"size\":{\"type\":\"integer\",\"description\":\"File size in bytes.\"},"
	"\"encoding\":{\"type\":\"string\",\"enum\":[\"utf-8\",\"base64\"]},\"content\":{\"type\":"
	"\"string\"},\"truncated\":{\"type\":\"boolean\",\"description\":\"Only the first "
	"read-limit bytes are returned.\"},\"mimeType\":{\"type\":\"string\"}},\"required\":["
	"\"name\",\"path\",\"size\",\"encoding\",\"content\",\"truncated\"],"
	"\"additionalProperties\":false}";
static const char diag_in[] =
	"{\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}";
static const char diag_out[] =
	"{\"type\":\"object\",\"properties\":{\"diagnostics\":{\"type\":\"array\",\"items\":{"
	"\"type\":\"object\",\"properties\":{\"file\":{\"type\":\"string\"},\"line\":{\"type\":"
	"\"integer\"},\"column\":{\"type\":\"integer\"},\"rule\":{\"type\":\"string\"},"
	"\"severity\":{\"type\":\"string\",\"enum\":[\"error\",\"warning\"],\"description\":"
	"\"error: the skill is skipped; warning: degraded or shadowed.\"},\"message\":{\"type\":"
	"\"string\"},\"shadowedBy\":{\"type\":\"string\"}},\"required\":[\"file\",\"rule\","
	"\"severity\",\"message\"],\"additionalProperties\":false}},\"validSkills\":{\"type\":"
	"\"integer\"},\"directoriesVisited\":{\"type\":\"integer\"}},\"required\":["
	"\"diagnostics\",\"validSkills\",\"directoriesVisited\"],\"additionalProperties\":false}";
/* clang-format on */

#define RO_FLAGS (CTXD_TOOL_READ_ONLY | CTXD_TOOL_IDEMPOTENT)

const struct ctxd_tool ctxd_skills_tools[] = {
    {
        .name = "skill_list",
        .title = "List skills",
        .description = "List the installed Agent Skills (name, description, SKILL.md location, "
                       "number of bundled files), optionally filtered by a text query. Skills "
                       "with errors are not listed; skill_diagnostics says why.",
        .input_schema = list_in,
        .output_schema = list_out,
        .flags = RO_FLAGS,
        .fn = skill_list,
    },
    {
        .name = "skill_activate",
        .title = "Activate skill",
        .description = "Activate an Agent Skill: returns its instructions, base directory and "
                       "bundled files. Call skill_list for the catalogue.",
        .input_schema = activate_in,
        .output_schema = activate_out,
        .flags = RO_FLAGS,
        .fn = skill_activate,
        .describe = describe_activate,
    },
    {
        .name = "skill_read_file",
        .title = "Read skill file",
        .description = "Read a file bundled with a skill (path relative to the skill folder, "
                       "e.g. references/guide.md). Text comes back as UTF-8, other files as "
                       "base64; reads are confined to the skill folder and capped at the "
                       "server's read limit.",
        .input_schema = read_in,
        .output_schema = read_out,
        .flags = RO_FLAGS,
        .fn = skill_read_file,
    },
    {
        .name = "skill_diagnostics",
        .title = "Skill diagnostics",
        .description = "Explain every skipped (error), degraded or shadowed (warning) skill: "
                       "file, line, column, the rule broken and the exact reason.",
        .input_schema = diag_in,
        .output_schema = diag_out,
        .flags = RO_FLAGS,
        .fn = skill_diagnostics,
    },
};

const size_t ctxd_skills_tools_count = sizeof(ctxd_skills_tools) / sizeof(ctxd_skills_tools[0]);

/* ---- prompts -------------------------------------------------------------------------- */

static int prompt_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		       struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < snap->n_skills && rc == 0; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		json_t *p = json_pack("{s:s, s:s, s:[{s:s, s:s, s:b}]}", "name", k->name,
				      "description", k->doc->description, "arguments", "name",
				      "arguments", "description",
				      "Arguments for the skill ($ARGUMENTS, $0, $1 ...)", "required",
				      0);
		if (!p || json_array_append_new(out, p) < 0) {
			ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
			rc = -1;
		}
	}
	ctxd_skills_snapshot_put(snap);
	return rc;
}

static json_t *prompt_get(void *ud, const struct ctxd_provider_ctx *ctx, const char *name,
			  json_t *args, struct ctxd_error *err)
{
	(void)ctx;
	json_t *a = args ? json_object_get(args, "arguments") : NULL;
	if (a && !json_is_string(a) && !json_is_null(a)) {
		ctxd_error_set(err, CTXD_PROVIDER_INVALID, "argument 'arguments' must be a string");
		return NULL;
	}
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_skills_find(snap, name);
	json_t *res = NULL;
	if (!k) {
		ctxd_error_set(err, CTXD_PROVIDER_NOT_FOUND, "unknown prompt '%.100s'", name);
	} else {
		char *body = activate(k, json_string_value(a));
		res = body ? json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}]}", "description",
				       k->doc->description, "messages", "role", "user", "content",
				       "type", "text", "text", body)
			   : NULL;
		free(body);
		if (!res) {
			ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		}
	}
	ctxd_skills_snapshot_put(snap);
	return res;
}

const struct ctxd_prompt_provider ctxd_skills_prompt_table = {
	.ud = NULL,
	.list = prompt_list,
	.get = prompt_get,
	.complete = NULL,
};

/* ---- resources ------------------------------------------------------------------------ */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Split skill://NAME/PATH (percent-decoded) into name and path. */
static bool parse_uri(const char *uri, char *name, size_t nsz, char *path, size_t psz)
{
	if (strncmp(uri, "skill://", 8) != 0) {
		return false;
	}
	const char *s = uri + 8;
	const char *slash = strchr(s, '/');
	if (!slash || slash == s || (size_t)(slash - s) >= nsz) {
		return false;
	}
	memcpy(name, s, (size_t)(slash - s));
	name[slash - s] = '\0';
	size_t w = 0;
	for (const char *p = slash + 1; *p; p++) {
		if (w + 1 >= psz) {
			return false;
		}
		if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
			char c = (char)(hexval(p[1]) * 16 + hexval(p[2]));
			if (c == '\0') {
				return false;
			}
			path[w++] = c;
			p += 2;
		} else if (*p == '?' || *p == '#') {
			break;
		} else {
			path[w++] = *p;
		}
	}
	path[w] = '\0';
	return w > 0;
}

static json_t *resource_entry(const struct ctxd_skill *k, const char *rel, uint64_t size)
{
	char uri[CTXD_PATH_MAX + 80];
	snprintf(uri, sizeof(uri), "skill://%s/%s", k->name, rel);
	bool md = strcmp(rel, "SKILL.md") == 0;
	char nm[CTXD_PATH_MAX + 80];
	snprintf(nm, sizeof(nm), "%s/%s", k->name, rel);
	json_t *o = json_pack("{s:o, s:o, s:I}", "uri", jstr(uri), "name",
			      md ? json_string(k->name) : jstr(nm), "size", (json_int_t)size);
	const char *mime = md ? "text/markdown" : mime_of(rel);
	if (o && mime) {
		json_object_set_new(o, "mimeType", json_string(mime));
	}
	if (o && md) {
		json_object_set_new(o, "title", json_string(k->name));
		json_object_set_new(o, "description", json_string(k->doc->description));
	}
	return o;
}

static int res_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		    struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < snap->n_skills && rc == 0; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		rc = json_array_append_new(out, resource_entry(k, "SKILL.md", k->doc->md_size));
		for (size_t j = 0; j < k->n_files && rc == 0; j++) {
			rc = json_array_append_new(out, resource_entry(k, k->files[j], k->sizes[j]));
		}
	}
	ctxd_skills_snapshot_put(snap);
	if (rc) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
	}
	return rc ? -1 : 0;
}

static int res_templates(void *ud, json_t *out)
{
	(void)ud;
	json_t *a = json_pack("{s:s, s:s, s:s, s:s}", "uriTemplate", "skill://{name}/SKILL.md",
			      "name", "skill", "description",
			      "A skill's SKILL.md (frontmatter and instructions)", "mimeType",
			      "text/markdown");
	json_t *b = json_pack("{s:s, s:s, s:s}", "uriTemplate", "skill://{name}/{+path}", "name",
			      "skill-file", "description",
			      "A file bundled with a skill, path relative to its folder");
	if (!a || !b || json_array_append_new(out, a) < 0 || json_array_append_new(out, b) < 0) {
		json_decref(b);
		return -1;
	}
	return 0;
}

static json_t *res_read(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
			struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills *sk = ud;
	char name[CTXD_SKILL_NAME_MAX + 1], path[CTXD_PATH_MAX];
	if (!parse_uri(uri, name, sizeof(name), path, sizeof(path))) {
		ctxd_error_set(err, CTXD_PROVIDER_NOT_FOUND, "not a skill resource: %.300s", uri);
		return NULL;
	}
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_skills_find(snap, name);
	json_t *res = NULL;
	char *buf = NULL;
	size_t len = 0, total = 0;
	int rc = k ? read_file(sk, k, path, RESOURCE_MAX, &buf, &len, &total) : -ENOENT;
	if (rc < 0) {
		ctxd_error_set(err, rc == -ENOENT || rc == -EACCES || rc == -EISDIR
					    ? CTXD_PROVIDER_NOT_FOUND : CTXD_PROVIDER_FAILED,
			       "resource not found: %.300s (%s)", uri, strerror(-rc));
	} else if (len < total) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "%.300s is larger than 16 MiB", uri);
	} else {
		const char *mime = strcmp(path, "SKILL.md") == 0 ? "text/markdown" : mime_of(path);
		if (is_text(buf, len)) {
			res = json_pack("[{s:s, s:s, s:s%}]", "uri", uri, "mimeType",
					mime ? mime : "text/plain", "text", buf, len);
		} else {
			char *enc = b64((unsigned char *)buf, len);
			res = enc ? json_pack("[{s:s, s:s, s:s}]", "uri", uri, "mimeType",
					      mime ? mime : "application/octet-stream", "blob", enc)
				  : NULL;
			free(enc);
		}
		if (!res) {
			ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		}
	}
	free(buf);
	ctxd_skills_snapshot_put(snap);
	return res;
}

static int res_watch_path(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri,
			  char *buf, size_t n)
{
	(void)ctx;
	char name[CTXD_SKILL_NAME_MAX + 1], path[CTXD_PATH_MAX];
	if (!parse_uri(uri, name, sizeof(name), path, sizeof(path))) {
		return -1;
	}
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	const struct ctxd_skill *k = ctxd_skills_find(snap, name);
	int rc = -1;
	if (k && has_file(k, path) && (size_t)snprintf(buf, n, "%s/%s", k->dir, path) < n) {
		rc = 0;
	}
	ctxd_skills_snapshot_put(snap);
	return rc;
}

static int res_complete(void *ud, const struct ctxd_provider_ctx *ctx, const char *uri_template,
			const char *var, const char *value, json_t *context_args, json_t *out,
			size_t *total, struct ctxd_error *err)
{
	(void)ctx;
	(void)uri_template;
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_PROVIDER_FAILED, "skills: out of memory");
		return -1;
	}
	size_t vl = value ? strlen(value) : 0;
	*total = 0;
	if (strcmp(var, "name") == 0) {
		for (size_t i = 0; i < snap->n_skills; i++) {
			if (strncmp(snap->skills[i].name, value ? value : "", vl) == 0) {
				if (++*total <= 100) {
					json_array_append_new(out, json_string(snap->skills[i].name));
				}
			}
		}
	} else if (strcmp(var, "path") == 0) {
		const char *nm = json_string_value(json_object_get(context_args, "name"));
		const struct ctxd_skill *k = nm ? ctxd_skills_find(snap, nm) : NULL;
		for (size_t i = 0; k && i <= k->n_files; i++) {
			const char *f = i == 0 ? "SKILL.md" : k->files[i - 1];
			if (strncmp(f, value ? value : "", vl) == 0 && ++*total <= 100) {
				json_array_append_new(out, jstr(f));
			}
		}
	}
	ctxd_skills_snapshot_put(snap);
	return 0;
}

const struct ctxd_resource_provider ctxd_skills_resource_table = {
	.scheme = "skill",
	.ud = NULL,
	.list = res_list,
	.templates = res_templates,
	.read = res_read,
	.watch_path = res_watch_path,
	.complete = res_complete,
};

/* ---- SEP-2640 ------------------------------------------------------------------------- */

static json_t *digest_entry(struct ctxd_skills *sk, const struct ctxd_skill *k, const char *rel)
{
	char *buf = NULL;
	size_t len = 0, total = 0;
	if (read_file(sk, k, rel, RESOURCE_MAX, &buf, &len, &total) < 0) {
		return NULL;
	}
	char hex[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex(buf, len, hex);
	free(buf);
	char uri[CTXD_PATH_MAX + 80], dg[CTXD_SHA256_HEX_LEN + 8];
	snprintf(uri, sizeof(uri), "skill://%s/%s", k->name, rel);
	snprintf(dg, sizeof(dg), "sha256:%s", hex);
	return json_pack("{s:o, s:s, s:I}", "uri", jstr(uri), "digest", dg, "size",
			 (json_int_t)len);
}

/* A Skill entry {uri, frontmatter, resources}; files that vanished since the scan are left
 * out of the manifest. */
static json_t *skill_entry(struct ctxd_skills *sk, const struct ctxd_skill *k)
{
	json_t *res = json_array();
	for (size_t i = 0; res && i <= k->n_files; i++) {
		json_t *e = digest_entry(sk, k, i == 0 ? "SKILL.md" : k->files[i - 1]);
		if (e && json_array_append_new(res, e) < 0) {
			json_decref(res);
			res = NULL;
		}
	}
	char uri[CTXD_SKILL_NAME_MAX + 32];
	snprintf(uri, sizeof(uri), "skill://%s/SKILL.md", k->name);
	return res ? json_pack("{s:s, s:O, s:o}", "uri", uri, "frontmatter", k->doc->frontmatter,
			       "resources", res)
		   : NULL;
}

json_t *ctxd_skills_method(struct ctxd_skills *sk, const struct ctxd_provider_ctx *ctx,
			   const char *method, json_t *params, struct ctxd_error *err)
{
	bool list = strcmp(method, "skills/list") == 0;
	if (!list && strcmp(method, "skills/get") != 0) {
		ctxd_error_set(err, -32601, "method not found: %.100s", method);
		return NULL;
	}
	if (params && !json_is_object(params)) {
		ctxd_error_set(err, -32602, "params must be an object");
		return NULL;
	}
	struct ctxd_skills_snapshot *snap = ctxd_skills_snapshot(sk);
	if (!snap) {
		ctxd_error_set(err, -32603, "skills: out of memory");
		return NULL;
	}
	json_t *out = NULL;
	if (list) {
		json_t *cur = json_object_get(params, "cursor");
		size_t start = 0;
		if (cur && !json_is_null(cur)) {
			const char *c = json_string_value(cur);
			char *end = NULL;
			unsigned long long v = c && *c >= '0' && *c <= '9' ? strtoull(c, &end, 10) : 0;
			if (!c || !end || *end || v > snap->n_skills) {
				ctxd_error_set(err, -32602, "invalid cursor");
				ctxd_skills_snapshot_put(snap);
				return NULL;
			}
			start = (size_t)v;
		}
		const struct ctxd_config *cfg = ctx && ctx->cfg ? ctx->cfg : ctxd_skills_config(sk);
		size_t page = cfg && cfg->page_size ? cfg->page_size : 100;
		json_t *arr = json_array();
		size_t i = start;
		for (; arr && i < snap->n_skills && i < start + page; i++) {
			if (ctx && ctxd_job_cancelled(ctx->job)) {
				break;
			}
			if (json_array_append_new(arr, skill_entry(sk, &snap->skills[i])) < 0) {
				json_decref(arr);
				arr = NULL;
			}
		}
		out = arr ? json_pack("{s:o}", "skills", arr) : NULL;
		if (out && i < snap->n_skills) {
			char c[32];
			snprintf(c, sizeof(c), "%zu", i);
			json_object_set_new(out, "nextCursor", json_string(c));
		}
	} else {
		const char *uri = json_string_value(json_object_get(params, "uri"));
		char name[CTXD_SKILL_NAME_MAX + 1], path[CTXD_PATH_MAX];
		const struct ctxd_skill *k = NULL;
		if (uri && parse_uri(uri, name, sizeof(name), path, sizeof(path)) &&
		    strcmp(path, "SKILL.md") == 0) {
			k = ctxd_skills_find(snap, name);
		}
		if (!uri) {
			ctxd_error_set(err, -32602, "params.uri (string) is required");
		} else if (!k) {
			ctxd_error_set(err, -32602, "not a skill served here: %.300s", uri);
		} else {
			json_t *e = skill_entry(sk, k);
			out = e ? json_pack("{s:o}", "skill", e) : NULL;
		}
		if (!uri || !k) {
			ctxd_skills_snapshot_put(snap);
			return NULL;
		}
	}
	if (!out) {
		ctxd_error_set(err, -32603, "skills: out of memory");
	}
	ctxd_skills_snapshot_put(snap);
	return out;
}

json_t *ctxd_skills_capability(void)
{
	return json_object();
}
