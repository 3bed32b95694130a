/* test_mb_search.c - the memory bank's search (src/mb_search.c) and its words
 * (src/mb_words.c) on their own: splitting, folding and stop words; BM25 ranking, the phrase
 * boost, snippets, limits and the index refresh as files change or go. Links the search, the
 * words, the bank's file reading and the markdown parser only: no bank object, no tools. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctxd/mb_search.h"
#include "ctxd/mb_words.h"
#include "test.h"

static struct ctxd_mb_dir dir;

static void put(const char *name, const char *text)
{
	int fd = openat(dir.fd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ASSERT(fd >= 0);
	ASSERT_EQ(write(fd, text, strlen(text)), (long long)strlen(text));
	close(fd);
}

static json_t *search(struct ctxd_mb_search *s, const char *q, size_t limit)
{
	struct ctxd_error err = {0};
	json_t *r = ctxd_mb_search(s, &dir, q, limit, &err);
	if (!r) {
		fprintf(stderr, "search '%s': %s\n", q, err.msg);
	}
	ASSERT(r);
	return r;
}

static const char *hit(json_t *r, size_t i, const char *key)
{
	return json_string_value(json_object_get(json_array_get(r, i), key));
}

/* Search `q`: `n` hits, the first under `heading` (NULL: not checked). */
static void top_is(struct ctxd_mb_search *s, const char *q, size_t n, const char *heading)
{
	json_t *r = search(s, q, 10);
	ASSERT_EQ(json_array_size(r), n);
	if (heading) {
		ASSERT_STR_EQ(hit(r, 0, "heading"), heading);
	}
	json_decref(r);
}

static void words_of(const char *s, const char *want)
{
	char got[256] = "";
	size_t p = 0, ws, we, n = strlen(s), w = 0;
	while (ctxd_mb_word_next(s, &p, n, &ws, &we)) {
		w += (size_t)snprintf(got + w, sizeof(got) - w, "%s%.*s", w ? "|" : "",
				      (int)(we - ws), s + ws);
	}
	ASSERT_STR_EQ(got, want);
}

static void fold_is(const char *s, const char *want)
{
	char buf[8], *heap; /* small on purpose: long words take the heap path */
	size_t len;
	const char *f = ctxd_mb_word_fold(s, strlen(s), buf, sizeof(buf), &len, &heap);
	ASSERT(f);
	char got[128];
	snprintf(got, sizeof(got), "%.*s", (int)len, f);
	ASSERT_STR_EQ(got, want);
	free(heap);
}

static void test_words(void)
{
	words_of("Hello, wörld! 42x don't -- 🎯 Tổng_kết", "Hello|wörld|42x|don|t|Tổng|kết");
	words_of("", "");
	words_of("\xff\xfe ab\xc3", "ab"); /* invalid bytes separate words */
	fold_is("TỔNG", "tong");
	fold_is("Straße", "strasse");
	fold_is("ﬁle", "file");
	fold_is("Łódź", "lodz");
	fold_is("ĐØ", "do");
	fold_is("ABCDEFGHIJKLMNOP", "abcdefghijklmnop");
	fold_is("\xff"
		"AB",
		"\xef\xbf\xbd"
		"ab"); /* a byte that is no UTF-8: U+FFFD */
	ASSERT(ctxd_mb_word_stop("the", 3));
	ASSERT(ctxd_mb_word_stop("s", 1));
	ASSERT(ctxd_mb_word_stop("yours", 5));
	ASSERT(!ctxd_mb_word_stop("bank", 4));
	ASSERT(!ctxd_mb_word_stop("th", 2));
	ASSERT(!ctxd_mb_word_stop("a", 0));
}

static void test_rank(void)
{
	struct ctxd_mb_search *s = ctxd_mb_search_create();
	ASSERT(s);
	put("a.md", "# Alpha\n\n## Storage\n\nThe cache keeps entries in memory.\n\n"
		    "## Network\n\nSockets and ports.\n");
	put("b.md", "# Beta\n\n## Cache design\n\nCache sizes, cache eviction policy.\n");
	put("notes.txt", "cache cache cache\n"); /* not a bank file: never indexed */
	json_t *r = search(s, "cache", 10);
	ASSERT_EQ(json_array_size(r), 2);
	ASSERT_STR_EQ(hit(r, 0, "file"), "b.md");
	ASSERT_STR_EQ(hit(r, 0, "heading"), "Cache design");
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(r, 0), "line")), 5);
	ASSERT_CONTAINS(hit(r, 0, "snippet"), "«Cache»");
	ASSERT_STR_EQ(hit(r, 1, "file"), "a.md");
	ASSERT_STR_EQ(hit(r, 1, "heading"), "Storage");
	double s0 = json_real_value(json_object_get(json_array_get(r, 0), "score"));
	double s1 = json_real_value(json_object_get(json_array_get(r, 1), "score"));
	ASSERT(s0 > s1 && s1 > 0);
	json_decref(r);
	/* limit */
	r = search(s, "cache", 1);
	ASSERT_EQ(json_array_size(r), 1);
	json_decref(r);
	/* words are matched folded */
	top_is(s, "KEEPS", 1, "Storage");
	/* two sections with the same words, as often and as long: the one holding the query
	 * as a phrase comes first (on a tie, the earlier section would) */
	put("p.md", "## One\n\ngreen apple red pear\n\n## Two\n\nred apple green pear\n");
	r = search(s, "green pear", 10);
	ASSERT_EQ(json_array_size(r), 2);
	ASSERT_STR_EQ(hit(r, 0, "heading"), "Two");
	ASSERT_CONTAINS(hit(r, 0, "snippet"), "«green» «pear»");
	json_decref(r);
	top_is(s, "pear apple", 2, "One"); /* no phrase anywhere: the tie keeps document order */
	ASSERT_EQ(unlinkat(dir.fd, "p.md", 0), 0);
	/* stop words do not rank, unless the query has nothing else */
	top_is(s, "the sockets", 1, "Network");
	top_is(s, "the", 1, "Storage");
	/* nothing known, nothing at all */
	top_is(s, "zebra", 0, NULL);
	top_is(s, "  ,; ", 0, NULL);
	ctxd_mb_search_destroy(s);
	ctxd_mb_search_destroy(NULL);
}

/* The index follows the files: a changed file is indexed again, a removed one drops out,
 * a new one comes in. */
static void test_refresh(void)
{
	struct ctxd_mb_search *s = ctxd_mb_search_create();
	ASSERT(s);
	top_is(s, "zebra", 0, NULL);
	put("a.md", "# Alpha\n\n## Animals\n\nA zebra and a tổng kết.\n");
	top_is(s, "zebra", 1, "Animals");
	top_is(s, "TONG", 1, NULL); /* accents and case folded both ways */
	ASSERT_EQ(unlinkat(dir.fd, "b.md", 0), 0);
	top_is(s, "eviction", 0, NULL);
	put("c.md", "Text before any heading about eviction.\n\n# C\n");
	json_t *r = search(s, "eviction", 10);
	ASSERT_EQ(json_array_size(r), 1);
	ASSERT_STR_EQ(hit(r, 0, "file"), "c.md");
	ASSERT_STR_EQ(hit(r, 0, "heading"), "");
	ASSERT_EQ(json_integer_value(json_object_get(json_array_get(r, 0), "line")), 1);
	json_decref(r);
	ctxd_mb_search_destroy(s);
}

int main(void)
{
	char tmpl[CTXD_PATH_MAX];
	snprintf(tmpl, sizeof(tmpl), "%s/ctxd-mbsearch-XXXXXX", test_tmp_base());
	ASSERT(mkdtemp(tmpl));
	dir.fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ASSERT(dir.fd >= 0);
	snprintf(dir.abs, sizeof(dir.abs), "%s", tmpl);
	snprintf(dir.project, sizeof(dir.project), "default");

	RUN(test_words);
	RUN(test_rank);
	RUN(test_refresh);

	static const char *const names[] = {"a.md", "b.md", "c.md", "notes.txt"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		unlinkat(dir.fd, names[i], 0);
	}
	close(dir.fd);
	ASSERT_EQ(rmdir(tmpl), 0);
	return 0;
}
