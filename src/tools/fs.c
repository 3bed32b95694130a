/* fs.c - the file tools' family state and table. The tools live beside it: fs_text.c
 * (read_text_file), fs_info.c (list_directory, get_file_info, list_allowed_directories),
 * fs_read.c (the other reading tools), fs_search.c (search_files), grep.c, fs_write.c (the
 * writing tools), fs_resources.c (file:// resources); fs_util.c holds their shared helpers.
 *
 * Every path goes through the sandbox: user paths with ctxd_sandbox_open, walk steps with
 * ctxd_sandbox_openat (inside fs_walk.c). Text from disk (file content, file names) is
 * not guaranteed to be UTF-8, while JSON strings must be; invalid sequences become U+FFFD
 * so a stray Latin-1 byte never turns into a protocol error.
 */
#include "ctxd/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/json_write.h"
#include "ctxd/provider.h"
#include "ctxd/sandbox.h"
#include "fs_ignore.h"
#include "fs_priv.h"
#include "fs_pwalk.h"
#include "fs_walk.h"
#include "schemas/schemas.h"

/* ---- the family's state ------------------------------------------------------------- */

struct ctxd_fs_family {
	struct ctxd_fs_ignore_cache *ignore;
};

struct ctxd_fs_family *ctxd_fs_family_create(void)
{
	struct ctxd_fs_family *f = calloc(1, sizeof(*f));
	if (f && !(f->ignore = ctxd_fs_ignore_cache_create())) {
		free(f);
		return NULL;
	}
	return f;
}

void ctxd_fs_family_attach(struct ctxd_fs_family *f, struct ctxd_watch *w)
{
	if (f) {
		ctxd_fs_ignore_cache_attach(f->ignore, w);
	}
}

void ctxd_fs_family_destroy(struct ctxd_fs_family *f)
{
	if (f) {
		ctxd_fs_ignore_cache_destroy(f->ignore);
		free(f);
	}
}

struct ctxd_fs_ignore_cache *ctxd_fs_family_ignore_cache(void *ud)
{
	return ((struct ctxd_fs_family *)ud)->ignore;
}

/* ---- the table -------------------------------------------------------------------- */

#define RO_FLAGS (CTXD_TOOL_READ_ONLY | CTXD_TOOL_IDEMPOTENT)

const struct ctxd_tool ctxd_fs_tools[] = {
    {
	.name = "read_text_file",
	.title = "Read text file",
	.description = "Lines of a text file (head, tail or offset+limit); a capped read ends with "
		       "nextOffset.",
	.input_schema = ctxd_schema_read_text_file_input,
	.output_schema = ctxd_schema_read_text_file_output,
	.flags = RO_FLAGS | CTXD_TOOL_NOWAIT,
	.writes = false,
	.fn = ctxd_fs_read_text_file,
    },
    {
	.name = "list_directory",
	.title = "List directory",
	.description = "Entries of a directory; sizes adds sizes and totals.",
	.input_schema = ctxd_schema_list_directory_input,
	.output_schema = ctxd_schema_list_directory_output,
	.flags = RO_FLAGS,
	.writes = false,
	.fn = ctxd_fs_list_directory,
	.merged = (const struct ctxd_tool_merged[]){{"list_directory_with_sizes", "sizes"}, {0}},
    },
    {
	.name = "get_file_info",
	.title = "Get file info",
	.description = "Type, size, times and permissions of a path.",
	.input_schema = ctxd_schema_get_file_info_input,
	.output_schema = ctxd_schema_get_file_info_output,
	.flags = RO_FLAGS,
	.writes = false,
	.fn = ctxd_fs_get_file_info,
    },
    {
	.name = "search_files",
	.title = "Search files by name",
	.description =
	    "Find paths under path matching a glob (.gitignore'd skipped). For contents use "
	    "grep.",
	.input_schema = ctxd_schema_search_files_input,
	.output_schema = ctxd_schema_search_files_output,
	.flags = RO_FLAGS | CTXD_TOOL_LONG,
	.writes = false,
	.fn = ctxd_fs_search_files,
    },
    {
	.name = "list_allowed_directories",
	.title = "List allowed directories",
	.description = "Directories the file tools may access; relative paths start at the first.",
	.input_schema = ctxd_schema_list_allowed_directories_input,
	.output_schema = ctxd_schema_list_allowed_directories_output,
	.flags = RO_FLAGS,
	.writes = false,
	.fn = ctxd_fs_list_allowed_directories,
    },
    {
	.name = "read_media_file",
	.title = "Read image or audio file",
	.description = "An image or audio file as base64; over the media limit, a resource_link.",
	.input_schema = ctxd_schema_read_media_file_input,
	.output_schema = NULL,
	.flags = RO_FLAGS,
	.fn = ctxd_fs_read_media_file,
    },
    {
	.name = "read_multiple_files",
	.title = "Read multiple files",
	.description = "Read up to 100 text files at once.",
	.input_schema = ctxd_schema_read_multiple_files_input,
	.output_schema = ctxd_schema_read_multiple_files_output,
	.flags = RO_FLAGS,
	.fn = ctxd_fs_read_multiple_files,
    },
    {
	.name = "directory_tree",
	.title = "Directory tree",
	.description = "Recursive tree of a directory (JSON in structuredContent).",
	.input_schema = ctxd_schema_directory_tree_input,
	.output_schema = ctxd_schema_directory_tree_output,
	.flags = RO_FLAGS | CTXD_TOOL_LONG,
	.fn = ctxd_fs_directory_tree,
    },
    {
	.name = "grep",
	.title = "Search file contents",
	.description = "Search file contents for a PCRE2 regex or literal text, as rg (binary and "
		       ".gitignore'd files skipped). Answers path:line:column:text.",
	.input_schema = ctxd_schema_grep_input,
	.output_schema = ctxd_schema_grep_output,
	.flags = RO_FLAGS | CTXD_TOOL_LONG,
	.fn = ctxd_fs_grep,
    },
    {
	.name = "write_file",
	.title = "Write file",
	.description = "Create or replace a file atomically. Prefer edit_file for partial changes.",
	.input_schema = ctxd_schema_write_file_input,
	.output_schema = ctxd_schema_write_file_output,
	.output_unlisted = true,
	.flags = CTXD_TOOL_DESTRUCTIVE | CTXD_TOOL_IDEMPOTENT,
	.writes = true,
	.fn = ctxd_fs_write_file,
    },
    {
	.name = "edit_file",
	.title = "Edit file",
	.description = "Replace text in a file; returns a diff. Edits apply in order, all or none; "
		       "oldText must match once (or replaceAll).",
	.input_schema = ctxd_schema_edit_file_input,
	.output_schema = ctxd_schema_edit_file_output,
	.flags = CTXD_TOOL_DESTRUCTIVE,
	.writes = true,
	.fn = ctxd_fs_edit_file,
    },
    {
	.name = "append_file",
	.title = "Append to file",
	.description = "Append text to a file, creating it if missing.",
	.input_schema = ctxd_schema_append_file_input,
	.output_schema = ctxd_schema_file_change_output,
	.output_unlisted = true,
	.flags = 0,
	.writes = true,
	.fn = ctxd_fs_append_file,
    },
    {
	.name = "copy_file",
	.title = "Copy file",
	.description = "Copy a regular file; an existing destination needs overwrite.",
	.input_schema = ctxd_schema_copy_file_input,
	.output_schema = ctxd_schema_file_change_output,
	.output_unlisted = true,
	.flags = CTXD_TOOL_DESTRUCTIVE,
	.writes = true,
	.fn = ctxd_fs_copy_file,
    },
    {
	.name = "move_file",
	.title = "Move or rename",
	.description = "Move or rename; the destination must not exist.",
	.input_schema = ctxd_schema_move_file_input,
	.output_schema = ctxd_schema_file_change_output,
	.output_unlisted = true,
	.flags = CTXD_TOOL_DESTRUCTIVE,
	.writes = true,
	.fn = ctxd_fs_move_file,
    },
    {
	.name = "delete_file",
	.title = "Delete file or directory",
	.description =
	    "Delete a file, symlink (not its target) or directory (non-empty: recursive).",
	.input_schema = ctxd_schema_delete_file_input,
	.output_schema = ctxd_schema_file_change_output,
	.output_unlisted = true,
	.flags = CTXD_TOOL_DESTRUCTIVE,
	.writes = true,
	.fn = ctxd_fs_delete_file,
    },
    {
	.name = "create_directory",
	.title = "Create directory",
	.description = "Create a directory and its parents; fine if it exists.",
	.input_schema = ctxd_schema_create_directory_input,
	.output_schema = ctxd_schema_file_change_output,
	.output_unlisted = true,
	.flags = CTXD_TOOL_IDEMPOTENT,
	.writes = true,
	.fn = ctxd_fs_create_directory,
    },
};

const size_t ctxd_fs_tools_count = sizeof(ctxd_fs_tools) / sizeof(ctxd_fs_tools[0]);
