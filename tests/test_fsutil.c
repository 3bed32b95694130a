/* test_fsutil.c - the base layer's file helpers (src/fsutil.c): atomic replacement (whole
 * and in two halves), the directory write lock, sparse copies, whole-file reads, sha256 and
 * base64. Links only the base layer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "ctxd/fsutil.h"
#include "test.h"

static char root[PATH_MAX];

/* A fresh directory root/`name`, opened. */
static int fresh_dir(const char *name)
{
	tree_mkdir(root, name);
	char p[PATH_MAX + 64];
	snprintf(p, sizeof(p), "%s/%s", root, name);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT(fd >= 0);
	return fd;
}

/* Entries of `dfd` not starting with '.', and whether a ctxd temp file is among the rest. */
static int visible_entries(int dfd, bool *temp_left)
{
	/* a descriptor of its own: a dup() would share (and leave at the end) the offset */
	DIR *dir = fdopendir(openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	ASSERT(dir);
	struct dirent *de;
	int n = 0;
	*temp_left = false;
	while ((de = readdir(dir))) {
		if (de->d_name[0] != '.') {
			n++;
		} else if (strstr(de->d_name, ".ctxd-")) {
			*temp_left = true;
		}
	}
	closedir(dir);
	return n;
}

/* Whether another descriptor of the directory could take its flock now. */
static bool lock_free(int dfd)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT(fd >= 0);
	int rc = flock(fd, LOCK_EX | LOCK_NB);
	int e = errno;
	close(fd);
	if (rc < 0) {
		ASSERT_EQ(e, EWOULDBLOCK);
	}
	return rc == 0;
}

/* ---- ctxd_atomic_write ------------------------------------------------------------- */

static void test_atomic_write(void)
{
	char d[PATH_MAX + 8];
	snprintf(d, sizeof(d), "%s/aw", root);
	ASSERT_EQ(mkdir(d, 0755), 0);
	int dfd = open(d, O_RDONLY | O_DIRECTORY);
	ASSERT(dfd >= 0);
	struct ctxd_error err;
	ASSERT_EQ(ctxd_atomic_write(dfd, "f.txt", "one", 3, 0600, false, &err), 0);
	struct stat st;
	ASSERT_EQ(fstatat(dfd, "f.txt", &st, 0), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(st.st_size, 3);
	/* mode -1 keeps the existing mode */
	ASSERT_EQ(ctxd_atomic_write(dfd, "f.txt", "second", 6, -1, false, &err), 0);
	ASSERT_EQ(fstatat(dfd, "f.txt", &st, 0), 0);
	ASSERT_EQ(st.st_mode & 0777, 0600);
	ASSERT_EQ(st.st_size, 6);
	/* no_replace refuses an existing name and leaves it alone */
	ASSERT_EQ(ctxd_atomic_write(dfd, "f.txt", "x", 1, -1, true, &err), -1);
	ASSERT_EQ(err.sys_errno, EEXIST);
	ASSERT_EQ(fstatat(dfd, "f.txt", &st, 0), 0);
	ASSERT_EQ(st.st_size, 6);
	/* a symlink is replaced by the file, its target untouched */
	ASSERT_EQ(symlinkat("f.txt", dfd, "link"), 0);
	ASSERT_EQ(ctxd_atomic_write(dfd, "link", "new", 3, -1, false, &err), 0);
	ASSERT_EQ(fstatat(dfd, "link", &st, AT_SYMLINK_NOFOLLOW), 0);
	ASSERT(S_ISREG(st.st_mode));
	ASSERT_EQ(fstatat(dfd, "f.txt", &st, 0), 0);
	ASSERT_EQ(st.st_size, 6);
	/* names with '/' or dots are refused */
	ASSERT_EQ(ctxd_atomic_write(dfd, "a/b", "x", 1, -1, false, &err), -1);
	ASSERT_EQ(err.sys_errno, EINVAL);
	ASSERT_EQ(ctxd_atomic_write(dfd, "..", "x", 1, -1, false, &err), -1);
	/* an empty file, and no temp files left behind */
	ASSERT_EQ(ctxd_atomic_write(dfd, "empty", "", 0, -1, false, &err), 0);
	ASSERT_EQ(fstatat(dfd, "empty", &st, 0), 0);
	ASSERT_EQ(st.st_size, 0);
	DIR *dir = fdopendir(dup(dfd));
	ASSERT(dir);
	struct dirent *de;
	int entries = 0;
	while ((de = readdir(dir))) {
		if (de->d_name[0] != '.') {
			entries++;
		} else {
			ASSERT(!strstr(de->d_name, ".ctxd-"));
		}
	}
	closedir(dir);
	ASSERT_EQ(entries, 3);
	close(dfd);
	tree_rm_rf(d);
}

/* The two halves: the temp file is invisible until the commit; an abort leaves nothing;
 * a commit with no_replace over an existing name fails and removes the temp file. */
static void test_atomic_halves(void)
{
	int dfd = fresh_dir("halves");
	struct ctxd_error err;
	struct ctxd_atomic a;
	bool temp;
	ASSERT_EQ(ctxd_atomic_begin(&a, dfd, "f", &err), 0);
	ASSERT(a.fd >= 0);
	ASSERT_CONTAINS(a.tmp, ".f.ctxd-");
	ASSERT_EQ(write(a.fd, "half", 4), 4);
	ASSERT(!tree_exists(root, "halves/f"));
	ASSERT_EQ(ctxd_atomic_commit(&a, "f", 0640, false, &err), 0);
	ASSERT_EQ(visible_entries(dfd, &temp), 1);
	ASSERT(!temp);
	char *got = tree_slurp(root, "halves/f", NULL);
	ASSERT_STR_EQ(got, "half");
	free(got);
	struct stat st;
	ASSERT_EQ(fstatat(dfd, "f", &st, 0), 0);
	ASSERT_EQ(st.st_mode & 0777, 0640);

	ASSERT_EQ(ctxd_atomic_begin(&a, dfd, "g", &err), 0);
	ASSERT_EQ(write(a.fd, "gone", 4), 4);
	errno = ENOSPC; /* abort keeps errno for the caller's message */
	ctxd_atomic_abort(&a);
	ASSERT_EQ(errno, ENOSPC);
	ASSERT_EQ(visible_entries(dfd, &temp), 1);
	ASSERT(!temp);

	ASSERT_EQ(ctxd_atomic_begin(&a, dfd, "f", &err), 0);
	ASSERT_EQ(write(a.fd, "other", 5), 5);
	ASSERT_EQ(ctxd_atomic_commit(&a, "f", -1, true, &err), -1);
	ASSERT_EQ(err.sys_errno, EEXIST);
	ASSERT_EQ(visible_entries(dfd, &temp), 1);
	ASSERT(!temp);
	got = tree_slurp(root, "halves/f", NULL);
	ASSERT_STR_EQ(got, "half");
	free(got);

	ASSERT_EQ(ctxd_atomic_begin(&a, dfd, "a/b", &err), -1);
	ASSERT_EQ(err.sys_errno, EINVAL);
	close(dfd);
}

/* The write lock excludes every other descriptor of the directory (another thread's or
 * process's lock) while held, and only then; a pair of one directory locks it once; a
 * pair of two locks both. Checked with a non-blocking flock probe: no thread timing. */
static void test_dir_lock(void)
{
	int a = fresh_dir("lock-a"), b = fresh_dir("lock-b");
	struct ctxd_error err;
	struct ctxd_dir_lock lk, pair[2];
	ASSERT(lock_free(a));
	ASSERT_EQ(ctxd_dir_lock(a, &lk, &err), 0);
	ASSERT(lk.fd >= 0 || lk.mu);
	if (lk.fd >= 0) {
		ASSERT(!lock_free(a));
		ASSERT(lock_free(b));
	}
	ctxd_dir_unlock(&lk);
	ASSERT(lock_free(a));

	ASSERT_EQ(ctxd_dir_lock_pair(a, b, pair, &err), 0);
	ASSERT(!lock_free(a));
	ASSERT(!lock_free(b));
	ctxd_dir_unlock(&pair[0]);
	ctxd_dir_unlock(&pair[1]);
	ASSERT(lock_free(a));
	ASSERT(lock_free(b));

	/* the same directory twice (two descriptors): locked once, lk[1] holds nothing */
	int a2 = openat(a, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT(a2 >= 0);
	ASSERT_EQ(ctxd_dir_lock_pair(a, a2, pair, &err), 0);
	ASSERT_EQ(pair[1].fd, -1);
	ASSERT(!pair[1].mu);
	ASSERT(!lock_free(a));
	ctxd_dir_unlock(&pair[1]); /* holds nothing: a no-op */
	ASSERT(!lock_free(a));
	ctxd_dir_unlock(&pair[0]);
	ASSERT(lock_free(a));
	close(a2);
	close(a);
	close(b);
}

static bool stop_at_once(const void *ud)
{
	(void)ud;
	return true;
}

/* A sparse copy: the data at the same offsets, zeros in the holes, the size; the data
 * counted (not the holes) against max_data; a stop callback cancels. */
static void test_copy_sparse(void)
{
	int dfd = fresh_dir("sparse");
	int src = openat(dfd, "src", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ASSERT(src >= 0);
	const off_t size = (off_t)8 << 20;
	ASSERT_EQ(ftruncate(src, size), 0);
	const off_t at[2] = {4096, size - 8192};
	char blk[4096];
	for (int i = 0; i < 2; i++) {
		memset(blk, 'x' + i, sizeof(blk));
		ASSERT_EQ(pwrite(src, blk, sizeof(blk), at[i]), (ssize_t)sizeof(blk));
	}
	uint64_t src_data = ctxd_data_bytes(src, size);
	ASSERT(src_data >= 8192 && src_data <= (uint64_t)size);

	int dst = openat(dfd, "dst", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	ASSERT(dst >= 0);
	uint64_t data = 0;
	ASSERT_EQ(ctxd_copy_sparse(src, dst, size, UINT64_MAX, &data, NULL, NULL), 0);
	ASSERT_EQ(data, src_data);
	struct stat st;
	ASSERT_EQ(fstat(dst, &st), 0);
	ASSERT_EQ(st.st_size, size);
	ASSERT_EQ(ctxd_data_bytes(dst, size), src_data);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(pread(dst, blk, sizeof(blk), at[i]), (ssize_t)sizeof(blk));
		ASSERT(blk[0] == 'x' + i && blk[4095] == 'x' + i);
	}
	ASSERT_EQ(pread(dst, blk, 1, 0), 1);
	ASSERT_EQ(blk[0], 0);
	ASSERT_EQ(pread(dst, blk, 1, (off_t)4 << 20), 1);
	ASSERT_EQ(blk[0], 0);

	/* the cap counts data: one byte less than the data there is fails */
	ASSERT_EQ(ftruncate(dst, 0), 0);
	ASSERT_EQ(ctxd_copy_sparse(src, dst, size, src_data - 1, NULL, NULL, NULL), -EFBIG);
	ASSERT_EQ(ftruncate(dst, 0), 0);
	ASSERT_EQ(ctxd_copy_sparse(src, dst, size, src_data, NULL, NULL, NULL), 0);
	ASSERT_EQ(ftruncate(dst, 0), 0);
	ASSERT_EQ(ctxd_copy_sparse(src, dst, size, UINT64_MAX, NULL, stop_at_once, NULL),
		  -ECANCELED);
	close(src);
	close(dst);
	close(dfd);
}

/* A whole file (opened at offset 0), NUL-terminated; a file over `max` bytes is EFBIG. */
static void test_read_all(void)
{
	tree_put(root, "ten", "0123456789");
	char p[PATH_MAX + 8];
	snprintf(p, sizeof(p), "%s/ten", root);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	ASSERT(fd >= 0);
	char *buf;
	size_t len;
	ASSERT_EQ(ctxd_read_all(fd, 10, &buf, &len), 0);
	ASSERT_EQ(len, 10);
	ASSERT_STR_EQ(buf, "0123456789");
	free(buf);
	ASSERT_EQ(lseek(fd, 4, SEEK_SET), 4);
	/* max is held against the whole file's size, not the bytes left after the offset */
	ASSERT_EQ(ctxd_read_all(fd, 10, &buf, &len), 0);
	ASSERT_EQ(len, 6);
	ASSERT_STR_EQ(buf, "456789");
	free(buf);
	ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	errno = 0;
	ASSERT_EQ(ctxd_read_all(fd, 9, &buf, &len), -1);
	ASSERT_EQ(errno, EFBIG);
	close(fd);
	tree_put(root, "empty", "");
	snprintf(p, sizeof(p), "%s/empty", root);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	ASSERT(fd >= 0);
	ASSERT_EQ(ctxd_read_all(fd, 0, &buf, &len), 0);
	ASSERT_EQ(len, 0);
	ASSERT_STR_EQ(buf, "");
	free(buf);
	close(fd);
}

/* sha256 (FIPS 180-2 test vectors) and padded base64 (RFC 4648 section 10). */
static void test_hashes(void)
{
	char hex[CTXD_SHA256_HEX_LEN + 1];
	ctxd_sha256_hex("abc", 3, hex);
	ASSERT_STR_EQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	ctxd_sha256_hex("", 0, hex);
	ASSERT_STR_EQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	static const char *const coded[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
					    "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
	for (size_t i = 0; i < 7; i++) {
		size_t n = 99;
		char *e = ctxd_base64_encode(plain[i], strlen(plain[i]), &n);
		ASSERT_STR_EQ(e, coded[i]);
		ASSERT_EQ(n, strlen(coded[i]));
		char out[16];
		size_t m = 99;
		ASSERT_EQ(ctxd_base64_decode(e, n, out, &m), 0);
		ASSERT_EQ(m, strlen(plain[i]));
		ASSERT(memcmp(out, plain[i], m) == 0);
		free(e);
	}
	char out[16];
	size_t m;
	ASSERT_EQ(ctxd_base64_decode("Zm9", 3, out, &m), -1);      /* not padded */
	ASSERT_EQ(ctxd_base64_decode("Zm9v!", 5, out, &m), -1);    /* not base64 */
	ASSERT_EQ(ctxd_base64_decode("Zg==Zg==", 8, out, &m), -1); /* data after padding */
}

int main(void)
{
	test_tmp_root(root, sizeof(root), "ctxd-fsutil");
	RUN(test_atomic_write);
	RUN(test_atomic_halves);
	RUN(test_dir_lock);
	RUN(test_copy_sparse);
	RUN(test_read_all);
	RUN(test_hashes);
	ASSERT_EQ(tree_rm_rf(root), 0);
	return 0;
}
