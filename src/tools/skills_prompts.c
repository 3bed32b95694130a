/* tools/skills_prompts.c - one prompt per valid skill (MCP 2025-11-25 server/prompts):
 * its arguments (the `arguments:` names, else argument-hint's words, else one free-text
 * argument), the activated body as the prompt's message, and completion of arguments that
 * look like paths.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/strbuf.h"
#include "skills_priv.h"

/* ---- prompts -------------------------------------------------------------------------- */

/* The arguments a skill's prompt declares: the `arguments:` names, else the words of
 * `argument-hint`; NULL (n = 0) for one free-text `arguments` argument. */
static char *const *prompt_args(const struct ctxd_skill *k, size_t *n)
{
	if (k->doc->n_arg_names) {
		*n = k->doc->n_arg_names;
		return k->doc->arg_names;
	}
	*n = k->doc->n_hint_names;
	return k->doc->hint_names;
}

static int prompt_list(void *ud, const struct ctxd_provider_ctx *ctx, json_t *out,
		       struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < snap->n_skills && rc == 0; i++) {
		const struct ctxd_skill *k = &snap->skills[i];
		size_t n;
		char *const *names = prompt_args(k, &n);
		json_t *args = json_array();
		for (size_t j = 0; args && j < n; j++) {
			char d[120];
			snprintf(d, sizeof(d), "Argument %zu of the skill ($%s%s%zu)", j + 1,
				 k->doc->n_arg_names ? names[j] : "",
				 k->doc->n_arg_names ? ", $" : "", j);
			if (json_array_append_new(args,
						  json_pack("{s:s, s:s, s:b}", "name", names[j],
							    "description", d, "required", 0)) < 0) {
				json_decref(args);
				args = NULL;
			}
		}
		if (args && n == 0 &&
		    json_array_append_new(args, json_pack("{s:s, s:s, s:b}", "name", "arguments",
							  "description",
							  "Arguments for the skill ($ARGUMENTS, "
							  "$0, $1 ...)",
							  "required", 0)) < 0) {
			json_decref(args);
			args = NULL;
		}
		json_t *p = args ? json_pack("{s:s, s:s, s:o}", "name", k->name, "description",
					     k->doc->description, "arguments", args)
				 : NULL;
		if (!p || json_array_append_new(out, p) < 0) {
			ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
			rc = -1;
		}
	}
	ctxd_sk_snapshot_put(snap);
	return rc;
}

/* Append `v` to `b` as one shell-style word: bare when it is plain, else single-quoted
 * (a quote inside becomes '\''), so the split in substitution gives it back whole. */
static void shell_word(struct ctxd_strbuf *b, const char *v)
{
	bool plain = *v != '\0';
	for (const char *p = v; *p && plain; p++) {
		plain = !strchr(" \t\r\n'\"\\", *p);
	}
	if (plain) {
		ctxd_strbuf_str(b, v);
		return;
	}
	ctxd_strbuf_str(b, "'");
	for (const char *p = v; *p; p++) {
		if (*p == '\'') {
			ctxd_strbuf_str(b, "'\\''");
		} else {
			ctxd_strbuf_add(b, p, 1);
		}
	}
	ctxd_strbuf_str(b, "'");
}

/* The argument string for a prompts/get of `k`: with declared arguments, their values in
 * declared order, each one word (Claude Code and others send each positional word under
 * its own name, so "src/a.c" and "src/b.c" arrive whole); trailing empty ones dropped;
 * plus a free-text `arguments` value when one is sent. Returns 0 (with *out set, NULL
 * for none; caller frees) or -1 with err set. */
static int prompt_argstring(const struct ctxd_skill *k, json_t *args, char **out,
			    struct ctxd_error *err)
{
	size_t n;
	char *const *names = prompt_args(k, &n);
	const char *key;
	json_t *v;
	*out = NULL;
	json_object_foreach(args, key, v)
	{
		bool known = strcmp(key, "arguments") == 0;
		for (size_t j = 0; j < n && !known; j++) {
			known = strcmp(key, names[j]) == 0;
		}
		if (!known) {
			struct ctxd_strbuf l = {0};
			for (size_t j = 0; j < n; j++) {
				ctxd_strbuf_printf(&l, "%s%s", j ? ", " : "", names[j]);
			}
			ctxd_error_set(err, CTXD_ERR_INVALID_PARAMS,
				       "unknown argument '%.64s' for prompt '%s' (it takes: %s)",
				       key, k->name, l.p && !l.oom ? l.p : "arguments");
			free(l.p);
			return -1;
		}
		if (!json_is_string(v) && !json_is_null(v)) {
			ctxd_error_set(err, CTXD_ERR_INVALID_PARAMS,
				       "argument '%.64s' must be a string", key);
			return -1;
		}
	}
	size_t last = 0; /* declared arguments up to the last non-empty one */
	for (size_t j = 0; j < n; j++) {
		const char *s = json_string_value(json_object_get(args, names[j]));
		if (s && *s) {
			last = j + 1;
		}
	}
	struct ctxd_strbuf b = {0};
	for (size_t j = 0; j < last; j++) {
		const char *s = json_string_value(json_object_get(args, names[j]));
		if (j) {
			ctxd_strbuf_str(&b, " ");
		}
		shell_word(&b, s ? s : "");
	}
	const char *free_text = json_string_value(json_object_get(args, "arguments"));
	if (free_text && *free_text) {
		if (b.len) {
			ctxd_strbuf_str(&b, " ");
		}
		ctxd_strbuf_str(&b, free_text);
	}
	if (b.oom) {
		free(b.p);
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
		return -1;
	}
	*out = b.p;
	return 0;
}

static json_t *prompt_get(void *ud, const struct ctxd_provider_ctx *ctx, const char *name,
			  json_t *args, struct ctxd_error *err)
{
	(void)ctx;
	struct ctxd_skills *sk = ud;
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(sk);
	if (!snap) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
		return NULL;
	}
	const struct ctxd_skill *k = ctxd_sk_find(snap, name);
	json_t *res = NULL;
	char *argstr = NULL;
	if (!k) {
		ctxd_error_set(err, CTXD_ERR_NOT_FOUND, "unknown prompt '%.100s'", name);
	} else if (prompt_argstring(k, args, &argstr, err) == 0) {
		char *body = NULL, msg[600];
		int rc = ctxd_skills_activate(sk, k, argstr, &body, msg, sizeof(msg));
		if (rc == -E2BIG) {
			ctxd_error_set(err, CTXD_ERR_INVALID_PARAMS, "%s", msg);
		} else {
			res = rc == 0 ? json_pack("{s:s, s:[{s:s, s:{s:s, s:s}}]}", "description",
						  k->doc->description, "messages", "role", "user",
						  "content", "type", "text", "text", body)
				      : NULL;
			if (!res) {
				ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
			}
		}
		free(body);
	}
	free(argstr);
	ctxd_sk_snapshot_put(snap);
	return res;
}

/* An argument whose name says it holds a path: file, path, dir, folder (any case, as a
 * part: "file", "src_path", "outDir"). */
static bool path_like(const char *arg)
{
	static const char *const parts[] = {"file", "path", "dir", "folder"};
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (strcasestr(arg, parts[i])) {
			return true;
		}
	}
	return false;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Complete a path typed as `value` (absolute, or relative to the first root) with the
 * entries of its directory inside the roots that start with its last component;
 * directories end in '/'. Outside every root: the roots that start with it. */
static void complete_path(const struct ctxd_sandbox *sb, const char *value, json_t *out,
			  size_t *total)
{
	size_t nroots = sb ? ctxd_sandbox_root_count(sb) : 0;
	const char *slash = strrchr(value, '/');
	size_t dlen = slash ? (size_t)(slash - value) + 1 : 0;
	const char *prefix = value + dlen;
	char dir[CTXD_PATH_MAX];
	snprintf(dir, sizeof(dir), "%.*s", (int)(dlen ? dlen : 1), dlen ? value : ".");
	struct ctxd_error e;
	int fd = nroots ? ctxd_sandbox_open(sb, dir, strlen(dir),
					    O_RDONLY | O_DIRECTORY | O_NONBLOCK, 0, false, NULL, &e)
			: -1;
	if (fd < 0) {
		for (size_t i = 0; value[0] == '/' && i < nroots; i++) {
			const char *rp = ctxd_sandbox_root(sb, i)->path;
			if (strncmp(rp, value, strlen(value)) == 0 && ++*total <= 100) {
				json_array_append_new(out, ctxd_skills_jstr(rp));
			}
		}
		return;
	}
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 ||
		    strncmp(nm, prefix, strlen(prefix)) != 0 ||
		    (nm[0] == '.' && prefix[0] != '.')) {
			continue;
		}
		bool isdir = de->d_type == DT_DIR;
		if (de->d_type == DT_LNK || de->d_type == DT_UNKNOWN) {
			struct stat st;
			isdir = fstatat(dirfd(d), nm, &st, 0) == 0 && S_ISDIR(st.st_mode);
		}
		if (ctxd_grow((void **)&names, &cap, n + 1, sizeof(*names), 64)) {
			break;
		}
		size_t l = strlen(nm);
		if (!(names[n] = malloc(dlen + l + 2))) {
			break;
		}
		snprintf(names[n], dlen + l + 2, "%.*s%s%s", (int)dlen, value, nm,
			 isdir ? "/" : "");
		n++;
	}
	closedir(d);
	if (n > 1) {
		qsort(names, n, sizeof(*names), cmp_name);
	}
	for (size_t i = 0; i < n; i++) {
		if (++*total <= 100) {
			json_array_append_new(out, ctxd_skills_jstr(names[i]));
		}
		free(names[i]);
	}
	free(names);
}

/* completion/complete for a skill prompt's argument: paths inside the roots for an
 * argument named like a path, nothing otherwise. */
static int prompt_complete(void *ud, const struct ctxd_provider_ctx *ctx, const char *name,
			   const char *arg, const char *value, json_t *context_args, json_t *out,
			   size_t *total, struct ctxd_error *err)
{
	(void)context_args;
	struct ctxd_skills_snapshot *snap = ctxd_sk_snapshot(ud);
	if (!snap) {
		ctxd_error_set(err, CTXD_ERR_INTERNAL, "skills: out of memory");
		return -1;
	}
	const struct ctxd_skill *k = ctxd_sk_find(snap, name ? name : "");
	int rc = 0;
	*total = 0;
	if (!k) {
		ctxd_error_set(err, CTXD_ERR_NOT_FOUND, "unknown prompt '%.100s'",
			       name ? name : "");
		rc = -1;
	} else {
		size_t n;
		char *const *names = prompt_args(k, &n);
		bool declared = false;
		for (size_t j = 0; j < n && !declared; j++) {
			declared = strcmp(names[j], arg ? arg : "") == 0;
		}
		if (declared && path_like(arg)) {
			complete_path(ctx ? ctx->sandbox : NULL, value ? value : "", out, total);
		}
	}
	ctxd_sk_snapshot_put(snap);
	return rc;
}

void ctxd_skills_prompts_init(struct ctxd_prompt_provider *p, struct ctxd_skills *sk)
{
	*p = (struct ctxd_prompt_provider){
	    .ud = sk,
	    .list = prompt_list,
	    .get = prompt_get,
	    .complete = prompt_complete,
	};
}
