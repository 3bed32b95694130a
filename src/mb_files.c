/* mb_files.c - the memory bank's files: safe names, listing, reading and disk text as JSON.
 * Stateless; the bank object (src/mb_store.c) and every other memory-bank module read
 * through these.
 */
#include "ctxd/mb_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/fsutil.h"
#include "ctxd/strbuf.h"

/* ---- names ------------------------------------------------------------------------- */

static bool safe_chars(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || s[0] == '.') {
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-')) {
			return false;
		}
	}
	return true;
}

bool ctxd_mb_file_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	return n > 3 && safe_chars(name, 200) && strcmp(name + n - 3, ".md") == 0;
}

bool ctxd_mb_project_ok(const char *name)
{
	return name && safe_chars(name, 100);
}
/* ---- listing ----------------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *ctxd_mb_list(int dirfd, bool dirs, bool (*keep)(const char *), struct ctxd_error *err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		int e = errno;
		if (fd >= 0) {
			close(fd);
		}
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, e, "cannot list the memory bank: %s",
				     strerror(e));
		return NULL;
	}
	size_t n = 0, cap = 0;
	char **v = NULL;
	struct dirent *de;
	bool oom = false;
	while ((de = readdir(d))) {
		if (!keep(de->d_name)) {
			continue;
		}
		unsigned char t = de->d_type;
		if (t == DT_UNKNOWN || t == DT_LNK) {
			struct stat st;
			if (fstatat(dirfd, de->d_name, &st, 0) < 0) {
				continue;
			}
			t = S_ISDIR(st.st_mode)   ? DT_DIR
			    : S_ISREG(st.st_mode) ? DT_REG
						  : DT_UNKNOWN;
		}
		if (dirs ? t != DT_DIR : t != DT_REG) {
			continue;
		}
		if (ctxd_grow((void **)&v, &cap, n + 1, sizeof(*v), 16) < 0) {
			oom = true;
			break;
		}
		if (!(v[n] = strdup(de->d_name))) {
			oom = true;
			break;
		}
		n++;
	}
	closedir(d);
	json_t *arr = oom ? NULL : json_array();
	if (arr) {
		if (n > 1) {
			qsort(v, n, sizeof(*v), cmp_str);
		}
		for (size_t i = 0; i < n; i++) {
			json_array_append_new(arr, json_string(v[i]));
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
	if (!arr) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "out of memory");
	}
	return arr;
}

json_t *ctxd_mb_files(int dirfd, struct ctxd_error *err)
{
	return ctxd_mb_list(dirfd, false, ctxd_mb_file_ok, err);
}

/* ---- reading ----------------------------------------------------------------------- */

int ctxd_mb_not_regular_errno(mode_t m)
{
	return S_ISDIR(m) ? EISDIR : EINVAL;
}

int ctxd_mb_read_file(int dirfd, const char *name, char **out, size_t *len)
{
	/* Look before opening: even with O_NONBLOCK, opening a FIFO would release a writer
	 * blocked in open(2) on it. The fstat after the open closes the race. */
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode) &&
	    !S_ISLNK(st.st_mode)) {
		errno = ctxd_mb_not_regular_errno(st.st_mode);
		return -1;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		return -1;
	}
	int e = fstat(fd, &st) < 0    ? errno
		: S_ISREG(st.st_mode) ? 0
				      : ctxd_mb_not_regular_errno(st.st_mode);
	if (e) {
		close(fd);
		errno = e;
		return -1;
	}
	if (ctxd_sandbox_link_refused(&st)) { /* sandbox.hardlinks: refuse */
		close(fd);
		errno = EMLINK;
		return -1;
	}
	int rc = ctxd_read_all(fd, CTXD_MB_FILE_MAX, out, len);
	e = errno;
	close(fd);
	errno = e;
	return rc;
}

const char *ctxd_mb_read_error(int dirfd, const char *name, int e, char *buf, size_t n)
{
	struct stat st;
	const char *kind = NULL;
	if (e == EINVAL && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		kind = S_ISFIFO(st.st_mode)   ? "a FIFO (named pipe)"
		       : S_ISSOCK(st.st_mode) ? "a socket"
		       : S_ISCHR(st.st_mode)  ? "a character device"
		       : S_ISBLK(st.st_mode)  ? "a block device"
					      : NULL;
	}
	if (e == ENOENT) {
		snprintf(buf, n, "'%s' does not exist in the bank", name);
	} else if (e == EISDIR) {
		snprintf(buf, n, "'%s' is a directory, not a bank file", name);
	} else if (e == ELOOP) {
		snprintf(buf, n, "'%s' is a symbolic link; bank files must be regular files", name);
	} else if (e == EINVAL) {
		snprintf(buf, n, "'%s' is %s, not a regular file; bank files must be regular files",
			 name, kind ? kind : "not a regular file");
	} else if (e == EFBIG) {
		snprintf(buf, n, "'%s' is larger than %zu MiB, the most a bank file may hold", name,
			 CTXD_MB_FILE_MAX >> 20);
	} else if (e == EMLINK) {
		snprintf(buf, n, "'%s' is refused: " CTXD_SANDBOX_HARDLINK_WHY, name);
	} else {
		snprintf(buf, n, "cannot read '%s': %s", name, strerror(e));
	}
	return buf;
}
