/* mb_validate.c - the memory bank's checks: core files present and readable, expected
 * sections present (by their words, built-in Cline/Cursor variants or configured ones), empty
 * and duplicate sections, unresolved merge conflicts, broken relative links, files over the
 * token budget, core files gone stale. Findings are data for memory_bank_validate.
 */
#include "ctxd/mb_validate.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <unictype.h>

#include "ctxd/mb_words.h"
#include "ctxd/md_sections.h"
#include "ctxd/strbuf.h"
#include "ctxd/uri.h"
#include "ctxd/utf8.h"

static void finding(json_t *arr, const char *sev, const char *code, const char *file, size_t line,
		    const char *hint, const char *fmt, ...) __attribute__((format(printf, 7, 8)));
static void finding(json_t *arr, const char *sev, const char *code, const char *file, size_t line,
		    const char *hint, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a heading with invalid UTF-8 may be quoted in the message */
	json_t *m = ctxd_utf8_json(msg, strnlen(msg, sizeof(msg)));
	json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:o, s:s}", "severity", sev,
					     "code", code, "file", file, "line", (json_int_t)line,
					     "message", m, "hint", hint));
}

/* Join `base` (a clean relative path, "." for none) and `rel` into `out` (`n` bytes),
 * resolving "." and ".." lexically. False when the result climbs above the start or does not
 * fit; "." when it is the start itself. */
static bool join_clean(const char *base, const char *rel, char *out, size_t n)
{
	size_t w = 0;
	for (int part = 0; part < 2; part++) {
		const char *p = part == 0 ? base : rel;
		while (*p) {
			const char *e = strchr(p, '/');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (l == 2 && p[0] == '.' && p[1] == '.') {
				if (w == 0) {
					return false;
				}
				while (w > 0 && out[w - 1] != '/') {
					w--;
				}
				w = w > 0 ? w - 1 : 0;
			} else if (l > 0 && !(l == 1 && p[0] == '.')) {
				if (w + (w > 0) + l + 1 > n) {
					return false;
				}
				if (w > 0) {
					out[w++] = '/';
				}
				memcpy(out + w, p, l);
				w += l;
			}
			p += l + (e != NULL);
		}
	}
	if (w == 0) {
		out[w++] = '.';
	}
	out[w] = '\0';
	return true;
}

/* Does the relative path `rel` name anything beneath the bank's root? */
static bool exists_in_root(const struct ctxd_mb_dir *dir, const char *rel)
{
	int fd = ctxd_sandbox_openat(dir->root_fd, rel, O_PATH, 0, false);
	if (fd < 0) {
		return false;
	}
	close(fd);
	return true;
}

/* Decode %XX escapes of a link target in place; false when one decodes to a NUL. */
static bool percent_decode(char *t)
{
	size_t n = strlen(t);
	return ctxd_percent_decode(t, n, t, n + 1, false) >= 0;
}

/* A relative link in a bank file is broken only when it names nothing against the bank and
 * nothing against the root the bank lives in: agents write paths from the project root
 * ("[x](src/utils/message_format.py)"), and a bank moved to .cursor/memory-bank keeps links
 * written for memory-bank/ ("../src/x.py"), so for the root a leading run of "./" and "../"
 * is dropped. A link that leaves the root from the bank cannot be checked and is not
 * reported. */
static bool link_broken(const struct ctxd_mb_dir *dir, const char *target)
{
	char cand[CTXD_PATH_MAX];
	if (!join_clean(dir->rel, target, cand, sizeof(cand))) {
		return false;
	}
	if (exists_in_root(dir, cand)) {
		return false;
	}
	const char *t = target;
	while (t[0] == '.' && (t[1] == '/' || (t[1] == '.' && t[2] == '/'))) {
		t += t[1] == '/' ? 2 : 3;
		while (*t == '/') {
			t++;
		}
	}
	return !join_clean(".", t, cand, sizeof(cand)) || !exists_in_root(dir, cand);
}

static void check_links(const struct ctxd_mb_dir *dir, const char *file, const char *buf,
			size_t len, const bool *mask, json_t *out)
{
	size_t li = 0;
	for (size_t pos = 0; pos < len; li++) {
		struct ctxd_md_line l;
		ctxd_md_line(buf, len, pos, &l);
		pos = l.next;
		if (mask && mask[li]) {
			continue;
		}
		bool code = false;
		for (size_t i = l.s; i < l.e; i++) {
			if (buf[i] == '`') {
				code = !code;
				continue;
			}
			if (code || buf[i] != ']' || i + 1 >= l.e || buf[i + 1] != '(') {
				continue;
			}
			size_t ts = i + 2, te = ts;
			bool angle = ts < l.e && buf[ts] == '<';
			if (angle) {
				ts++;
				te = ts;
				while (te < l.e && buf[te] != '>') {
					te++;
				}
			} else {
				while (te < l.e && buf[te] != ')' && buf[te] != ' ' &&
				       buf[te] != '\t') {
					te++;
				}
			}
			char target[512];
			size_t tl = te - ts;
			if (tl == 0 || tl >= sizeof(target)) {
				continue;
			}
			memcpy(target, buf + ts, tl);
			target[tl] = '\0';
			char *cut = strpbrk(target, "#?");
			if (cut) {
				*cut = '\0';
			}
			if (!target[0] || target[0] == '/' || strchr(target, ':') ||
			    !percent_decode(target) || !target[0]) {
				continue; /* anchors, absolute paths and URLs are not checked */
			}
			if (link_broken(dir, target)) {
				finding(
				    out, "warning", "broken_link", file, li + 1,
				    "fix the link target, or create the file it names",
				    "link to '%s' points to nothing in the bank or in the root it "
				    "lives in",
				    target);
			}
		}
	}
}

static void check_conflicts(const char *file, const char *buf, size_t len, const bool *mask,
			    json_t *out)
{
	size_t li = 0;
	bool open = false;
	for (size_t pos = 0; pos < len; li++) {
		struct ctxd_md_line l;
		ctxd_md_line(buf, len, pos, &l);
		pos = l.next;
		if (mask && mask[li]) {
			continue;
		}
		size_t n = l.e - l.s;
		const char *p = buf + l.s;
		if (n >= 7 && memcmp(p, "<<<<<<<", 7) == 0 && (n == 7 || p[7] == ' ')) {
			open = true;
			finding(out, "error", "conflict_marker", file, li + 1,
				"resolve the merge conflict: keep the right side, delete the "
				"<<<<<<< ======= >>>>>>> lines",
				"leftover merge-conflict marker '<<<<<<<'");
		} else if (n >= 7 && memcmp(p, ">>>>>>>", 7) == 0 && (n == 7 || p[7] == ' ')) {
			if (!open) {
				finding(out, "error", "conflict_marker", file, li + 1,
					"delete the stray conflict marker",
					"leftover merge-conflict marker '>>>>>>>'");
			}
			open = false;
		} else if (!open && n == 7 && memcmp(p, "|||||||", 7) == 0) {
			finding(out, "error", "conflict_marker", file, li + 1,
				"delete the stray conflict marker",
				"leftover merge-conflict marker '|||||||'");
		}
	}
}

/* Other headings that count as a core section, as Cline's and Cursor's memory bank
 * instructions word them and as real banks write them. A variant matches a heading that
 * begins with its words (see heading_matches), so "What Works" also covers "What Works
 * (Implemented)" and "Architecture" covers "Architecture Overview". */
static const char *const builtin_variants[][20] = {
    /* projectbrief.md */
    {"Overview", "Project Overview", "Summary", "Project Summary", "Introduction", "Description",
     "Project Description", "Purpose", "Project Purpose", "Core Purpose", "About", NULL},
    {"Core Requirements", "Requirements", "Key Requirements", "Functional Requirements",
     "Technical Requirements", "Core Features", "Key Features", "Features", "Must Have", NULL},
    {"Goals", "Key Goals", "Project Goals", "Objectives", "Key Objectives", "Project Objectives",
     "Success Criteria", "Vision", NULL},
    {"Scope", "Project Scope", "Technical Scope", "In Scope", "Boundaries", NULL},
    /* productContext.md */
    {"Why This Project Exists", "Why", "Purpose", "Product Purpose", "Project Purpose",
     "Background", "Motivation", NULL},
    {"Problems It Solves", "Problems Solved", "Problem Statement", "Problem Space", "The Problem",
     "Problems", "Problem", "Pain Points", NULL},
    {"How It Should Work", "How It Works", "How", "Solution", "Core Functionality", "Functionality",
     "Key Features", "Features", "Use Cases", "User Journeys", "Key User Journeys", NULL},
    {"User Experience Goals", "User Experience", "UX Goals", "UX", "Experience Goals",
     "Target User Experience", NULL},
    /* activeContext.md */
    {"Current Focus", "Current Work Focus", "Current Work", "Current Development Focus",
     "Current Task", "Current Tasks", "Active Focus", "Focus", "Current Sprint", NULL},
    {"Recent Changes", "Recent Updates", "Latest Changes", "Latest Updates", "Recent Work",
     "Recently Completed", "Recent Progress", "Changes", NULL},
    {"Next Steps", "Next Actions", "Immediate Next Steps", "Upcoming", "To Do", "Todo", "Next",
     "Immediate Tasks", "Planned Work", NULL},
    {"Active Decisions", "Decisions", "Key Decisions", "Recent Decisions", "Current Decisions",
     "Decision Log", "Open Decisions", "Considerations", "Current Considerations", "Open Questions",
     NULL},
    /* systemPatterns.md */
    {"Architecture", "System Architecture", "Architectural Overview", "High Level Architecture",
     "Overall Architecture", "Technical Architecture", "Software Architecture",
     "Application Architecture", "System Design", "System Overview", "Project Structure", NULL},
    {"Key Technical Decisions", "Technical Decisions", "Key Decisions", "Design Decisions",
     "Architecture Decisions", "Architectural Decisions", "Key Design Decisions",
     "Technology Decisions", "Decisions", NULL},
    {"Design Patterns", "Patterns", "Core Design Patterns", "Key Patterns", "Key Design Patterns",
     "Patterns in Use", "Code Patterns", "Coding Patterns", "Architectural Patterns",
     "Architecture Patterns", "Common Patterns", NULL},
    {"Component Relationships", "Components", "Component Structure", "Component Architecture",
     "Key Components", "System Components", "Key System Components", "Core Components",
     "Component Overview", "Component Interactions", "Relationships", "Data Flow",
     "Module Relationships", "Modules", NULL},
    /* techContext.md */
    {"Technologies Used", "Technology Stack", "Tech Stack", "Technologies", "Technology", "Stack",
     "Core Technologies", "Core Stack", "Core Technology Stack", "Key Technologies",
     "Languages and Frameworks", "Frameworks", "Tools and Technologies", "Built With", NULL},
    {"Development Setup", "Development Environment", "Dev Setup", "Dev Environment", "Setup",
     "Local Development", "Local Setup", "Getting Started", "Environment Setup", "Installation",
     "Development Workflow", "Build and Run", "Running Locally", NULL},
    {"Technical Constraints", "Constraints", "Limitations", "Technical Limitations",
     "Known Constraints", NULL},
    {"Dependencies", "Key Dependencies", "Core Dependencies", "Main Dependencies",
     "External Dependencies", "Project Dependencies", "Runtime Dependencies",
     "Third Party Dependencies", "Libraries", "Packages", NULL},
    /* progress.md */
    {"What Works", "What's Working", "Working Features", "Completed", "Completed Features",
     "Completed Work", "Completed Tasks", "Done", "Implemented", "Implemented Features", "Working",
     "Achievements", "Accomplishments", "Features Completed", "Finished", NULL},
    {"What's Left to Build",
     "What's Left",
     "What Is Left",
     "Remaining Work",
     "Remaining Tasks",
     "Remaining",
     "Left to Build",
     "To Do",
     "Todo",
     "Pending",
     "In Progress",
     "Planned Features",
     "Planned",
     "Backlog",
     "Upcoming",
     "Coming Soon",
     "Next Steps",
     "Roadmap",
     "Future Work",
     NULL},
    {"Current Status", "Status", "Overall Status", "Project Status", "Overall Progress",
     "Current State", "Status Overview", "Development Status", "Current Progress", NULL},
    {"Known Issues", "Issues", "Known Bugs", "Bugs", "Known Problems", "Limitations",
     "Known Limitations", "Current Limitations", "Current Issues", "Open Issues", "Blockers",
     "Technical Debt", NULL},
};

/* A heading as a person reads it: leading emoji, numbering ("1.", "2.3", "IV.", "a)") and
 * punctuation dropped, the words folded (ctxd_mb_word_fold) and joined by single spaces, so
 * "## 🎯 2. Current Work Focus:" reads "current work focus". Writes at most `n` bytes to
 * `out` (NUL-terminated, whole words only) and returns the length. */
static size_t norm_heading(const char *s, size_t len, char *out, size_t n)
{
	size_t i = 0, w = 0;
	for (int pass = 0; pass < 2; pass++) {
		/* skip up to the first letter: emoji, marks, digits, punctuation, blanks */
		while (i < len) {
			ucs4_t uc;
			size_t k = ctxd_mb_char_at(s, i, len, &uc);
			if (uc_is_general_category(uc, UC_CATEGORY_L)) {
				break;
			}
			i += k;
		}
		/* then a roman numeral or a single letter that numbers the heading */
		size_t r = i;
		while (r < len && r - i < 4 && s[r] && strchr("IVXivx", s[r])) {
			r++;
		}
		if (r == i && i < len &&
		    ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) {
			r = i + 1;
		}
		if (r > i && r + 1 < len && (s[r] == '.' || s[r] == ')') && s[r + 1] == ' ') {
			i = r + 1;
		} else {
			break;
		}
	}
	size_t p = i, ws, we;
	while (ctxd_mb_word_next(s, &p, len, &ws, &we)) {
		char small[128], *heap;
		size_t fl;
		const char *f =
		    ctxd_mb_word_fold(s + ws, we - ws, small, sizeof(small), &fl, &heap);
		if (f && w + (w > 0) + fl < n) {
			if (w > 0) {
				out[w++] = ' ';
			}
			memcpy(out + w, f, fl);
			w += fl;
		}
		free(heap);
		if (!f || w + 1 >= n) {
			break;
		}
	}
	out[w] = '\0';
	return w;
}

/* Does the normalised heading `h` begin with the words of the normalised name `want`? */
static bool heading_matches(const char *h, size_t hl, const char *want, size_t wl)
{
	return wl > 0 && hl >= wl && memcmp(h, want, wl) == 0 && (hl == wl || h[wl] == ' ');
}

/* A heading to match sections against: a real heading (not the file's title), or a line
 * that is all bold, "**Current Focus:**" (banks written that way use them as headings). */
struct mheading {
	char norm[256];
	size_t len;
};

/* The headings of `buf` that can stand for a section, normalised; a new array (free()) of
 * *n, NULL on ENOMEM. */
static struct mheading *match_headings(const char *buf, size_t len,
				       const struct ctxd_md_section *secs, size_t nsecs,
				       const bool *mask, size_t *n)
{
	size_t cap = nsecs + 16, li = 0;
	struct mheading *v = malloc(cap * sizeof(*v));
	*n = 0;
	if (!v) {
		return NULL;
	}
	for (size_t i = 0; i < nsecs; i++) {
		if (i == 0 && secs[i].level == 1) {
			continue; /* the file's title */
		}
		v[*n].len = norm_heading(buf + secs[i].title, secs[i].title_len, v[*n].norm,
					 sizeof(v[*n].norm));
		(*n)++;
	}
	for (size_t pos = 0; pos < len; li++) {
		struct ctxd_md_line l;
		ctxd_md_line(buf, len, pos, &l);
		pos = l.next;
		size_t a = l.s, e = l.e;
		ctxd_md_trim(buf, &a, &e);
		if ((mask && mask[li]) || e - a < 5 || memcmp(buf + a, "**", 2) != 0) {
			continue;
		}
		if (buf[e - 1] == ':') { /* **Title**: */
			e--;
		}
		if (e - a < 5 || memcmp(buf + e - 2, "**", 2) != 0 ||
		    memmem(buf + a + 2, e - a - 4, "**", 2)) {
			continue;
		}
		if (ctxd_grow((void **)&v, &cap, *n + 1, sizeof(*v), 16)) {
			free(v);
			return NULL;
		}
		v[*n].len = norm_heading(buf + a + 2, e - a - 4, v[*n].norm, sizeof(v[*n].norm));
		(*n)++;
	}
	return v;
}

/* Is section `want` among the headings `hs`, by its own words, a built-in variant or one
 * configured in memory_bank.section_variants? */
static bool section_present(const struct ctxd_config *cfg, const char *want,
			    const struct mheading *hs, size_t nh)
{
	const char *const *builtin = NULL;
	for (size_t i = 0; i < sizeof(builtin_variants) / sizeof(builtin_variants[0]); i++) {
		if (strcmp(builtin_variants[i][0], want) == 0) {
			builtin = builtin_variants[i] + 1;
		}
	}
	const struct ctxd_config_names *conf = NULL;
	for (size_t i = 0; i < cfg->n_memory_bank_variants; i++) {
		if (strcmp(cfg->memory_bank_variants[i].key, want) == 0) {
			conf = &cfg->memory_bank_variants[i];
		}
	}
	size_t nb = 0;
	while (builtin && builtin[nb]) {
		nb++;
	}
	size_t total = 1 + nb + (conf ? conf->n : 0);
	for (size_t c = 0; c < total; c++) {
		const char *name = c == 0    ? want
				   : c <= nb ? builtin[c - 1]
					     : conf->names[c - 1 - nb];
		char norm[256];
		size_t nl = norm_heading(name, strlen(name), norm, sizeof(norm));
		for (size_t i = 0; i < nh; i++) {
			if (heading_matches(hs[i].norm, hs[i].len, norm, nl)) {
				return true;
			}
		}
	}
	return false;
}

/* The sections `file` is expected to hold: memory_bank.sections when it names the file, else
 * the core file's template sections, else none. *n gets the count. */
static const char *const *expected_sections(const struct ctxd_config *cfg, const char *file,
					    size_t *n)
{
	for (size_t i = 0; i < cfg->n_memory_bank_sections; i++) {
		const struct ctxd_config_names *e = &cfg->memory_bank_sections[i];
		if (strcmp(e->key, file) == 0) {
			*n = e->n;
			return (const char *const *)e->names;
		}
	}
	const char *const *req = ctxd_mb_core_sections(file);
	*n = 0;
	while (req && req[*n]) {
		(*n)++;
	}
	return req;
}

/* Report the expected sections `file` lacks. When it has headings of its own (two or more)
 * and not one of them is an expected section, the file follows another outline (another
 * language, say): one note says so instead of a warning per section. */
static void check_sections(const struct ctxd_config *cfg, const char *file, const char *buf,
			   size_t len, const struct ctxd_md_section *secs, size_t nsecs,
			   const bool *mask, json_t *out)
{
	size_t nreq, nh;
	const char *const *req = expected_sections(cfg, file, &nreq);
	if (nreq == 0) {
		return;
	}
	struct mheading *hs = match_headings(buf, len, secs, nsecs, mask, &nh);
	if (!hs) {
		return;
	}
	bool *have = calloc(nreq, sizeof(*have));
	size_t found = 0;
	for (size_t k = 0; have && k < nreq; k++) {
		have[k] = section_present(cfg, req[k], hs, nh);
		found += have[k];
	}
	if (have && found == 0 && nreq >= 2 && nh >= 2) {
		char names[400] = "";
		size_t w = 0;
		for (size_t k = 0; k < nreq && w < sizeof(names); k++) {
			w += (size_t)snprintf(names + w, sizeof(names) - w, "%s'%s'", k ? ", " : "",
					      req[k]);
		}
		finding(out, "info", "unrecognised_sections", file, 0,
			"if these sections go by other names (another language, say), list them "
			"under memory_bank.section_variants in the config; else add the sections",
			"none of the %zu headings is one of the expected sections (%s)", nh, names);
	} else {
		for (size_t k = 0; have && k < nreq; k++) {
			if (!have[k]) {
				finding(out, "warning", "missing_section", file, 0,
					"add the section with memory_bank_write (section and mode "
					"append create it), or name the heading it goes by in "
					"memory_bank.section_variants",
					"required section '## %s' is missing", req[k]);
			}
		}
	}
	free(have);
	free(hs);
}

static void validate_file(const struct ctxd_config *cfg, const struct ctxd_mb_dir *dir,
			  const char *file, const char *buf, size_t len, json_t *out)
{
	struct ctxd_md_section *secs;
	size_t n;
	if (ctxd_md_sections(buf, len, &secs, &n)) {
		return;
	}
	size_t nl;
	bool *mask = ctxd_md_fence_mask(buf, len, &nl);
	check_sections(cfg, file, buf, len, secs, n, mask, out);
	for (size_t i = 0; i < n; i++) {
		const struct ctxd_md_section *s = &secs[i];
		if (ctxd_md_blank(buf + s->body, buf + s->end)) {
			finding(out, "info", "empty_section", file, s->line,
				"write the section's content, or remove the heading",
				"section '%.*s' is empty",
				(int)(s->title_len > 200 ? 200 : s->title_len), buf + s->title);
		}
		for (size_t j = 0; j < i; j++) {
			if (secs[j].level == s->level && secs[j].title_len == s->title_len &&
			    memcmp(buf + secs[j].title, buf + s->title, s->title_len) == 0) {
				finding(
				    out, "warning", "duplicate_heading", file, s->line,
				    "merge the two sections or rename one: section edits act on "
				    "the first",
				    "heading '%.*s' repeats the one on line %zu",
				    (int)(s->title_len > 200 ? 200 : s->title_len), buf + s->title,
				    secs[j].line);
				break;
			}
		}
	}
	free(secs);
	check_conflicts(file, buf, len, mask, out);
	check_links(dir, file, buf, len, mask, out);
	free(mask);
	size_t tokens = len / 4;
	if (tokens > cfg->memory_bank_token_budget) {
		finding(out, "warning", "over_budget", file, 0,
			"condense the file or move detail into a separate bank file",
			"about %zu tokens (%zu bytes / 4), over the budget of %zu", tokens, len,
			cfg->memory_bank_token_budget);
	}
}

/* The core files: an error for each one missing, or there but not a regular file. */
static void check_core_files(const struct ctxd_mb_dir *dir, json_t *files, json_t *out)
{
	for (int i = 0; i < CTXD_MB_CORE_COUNT; i++) {
		bool have = false;
		size_t k;
		json_t *v;
		json_array_foreach(files, k, v)
		{
			have = have || strcmp(json_string_value(v), ctxd_mb_core[i]) == 0;
		}
		struct stat st;
		const char *f = ctxd_mb_core[i];
		if (!have && fstatat(dir->fd, f, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			/* there, but not a regular file: say what it is */
			char why[300];
			int e = S_ISLNK(st.st_mode) ? ELOOP : ctxd_mb_not_regular_errno(st.st_mode);
			finding(out, "error", "unreadable", f, 0,
				"replace it with a regular file (memory_bank_init creates the core "
				"files)",
				"%s", ctxd_mb_read_error(dir->fd, f, e, why, sizeof(why)));
		} else if (!have) {
			finding(out, "error", "missing_core_file", f, 0,
				"create it with memory_bank_init (existing files are kept)",
				"core file '%s' is missing", f);
		}
	}
}

/* Modification times seen while validating: the newest file's, and each core file's. */
struct ages {
	struct timespec newest;
	char newest_file[256];
	struct timespec mt[CTXD_MB_CORE_COUNT];
	bool have_mt[CTXD_MB_CORE_COUNT];
};

/* activeContext.md and progress.md: a warning when either is older than the newest change
 * in the bank by more than memory_bank.stale_days. */
static void check_stale(const struct ctxd_config *cfg, const struct ages *a, json_t *out)
{
	static const int stale_files[] = {2, 5}; /* activeContext.md, progress.md */
	for (size_t i = 0; i < 2; i++) {
		int ci = stale_files[i];
		if (!a->have_mt[ci]) {
			continue;
		}
		double age = difftime(a->newest.tv_sec, a->mt[ci].tv_sec);
		if (age > (double)cfg->memory_bank_stale_days * 86400.0) {
			finding(out, "warning", "stale", ctxd_mb_core[ci], 0,
				"bring it up to date with the latest work (memory_bank_write with "
				"section)",
				"last changed %.0f days before the newest change in the bank (%s); "
				"the limit is %u days",
				age / 86400.0, a->newest_file, cfg->memory_bank_stale_days);
		}
	}
}

json_t *ctxd_mb_validate(struct ctxd_mb *mb, const struct ctxd_mb_dir *dir, struct ctxd_error *err)
{
	const struct ctxd_config *cfg = ctxd_mb_config(mb);
	json_t *files = ctxd_mb_files(dir->fd, err);
	if (!files) {
		return NULL;
	}
	json_t *out = json_array();
	check_core_files(dir, files, out);
	struct ages a = {.newest = {0, 0}};
	size_t k;
	json_t *v;
	json_array_foreach(files, k, v)
	{
		const char *f = json_string_value(v);
		char *buf;
		size_t len;
		struct stat st;
		if (fstatat(dir->fd, f, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    ctxd_mb_read_file(dir->fd, f, &buf, &len) < 0) {
			char why[300];
			finding(out, "error", "unreadable", f, 0,
				"make it a regular, readable file of at most 16 MiB", "%s",
				ctxd_mb_read_error(dir->fd, f, errno, why, sizeof(why)));
			continue;
		}
		if (st.st_mtim.tv_sec > a.newest.tv_sec) {
			a.newest = st.st_mtim;
			snprintf(a.newest_file, sizeof(a.newest_file), "%s", f);
		}
		int ci = ctxd_mb_core_index(f);
		if (ci >= 0) {
			a.mt[ci] = st.st_mtim;
			a.have_mt[ci] = true;
		}
		validate_file(cfg, dir, f, buf, len, out);
		free(buf);
	}
	check_stale(cfg, &a, out);
	json_decref(files);
	return out;
}
