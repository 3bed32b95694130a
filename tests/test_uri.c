/* Unit tests for uri.c: the one file:// codec and percent-decoding. */
#include "ctxd/uri.h"
#include "test.h"

static void test_file_uri_to_path(void)
{
	char out[64];
	ASSERT_EQ(ctxd_file_uri_to_path("file:///a%20b/c", out, sizeof(out)), 6);
	ASSERT_STR_EQ(out, "/a b/c");
	ASSERT_EQ(ctxd_file_uri_to_path("file://localhost/x", out, sizeof(out)), 2);
	ASSERT_STR_EQ(out, "/x");
	/* a query or fragment ends the path; hex digits of both cases */
	ASSERT_EQ(ctxd_file_uri_to_path("file:///d%C3%a9j%C3%A0?q=1#f", out, sizeof(out)), 7);
	ASSERT_STR_EQ(out, "/d\xc3\xa9j\xc3\xa0");
	/* not a local file URI */
	ASSERT_EQ(ctxd_file_uri_to_path("file://host/x", out, sizeof(out)), -1);
	ASSERT_EQ(ctxd_file_uri_to_path("https://x/y", out, sizeof(out)), -1);
	/* malformed or NUL escapes, an escape cut by the end, no room */
	ASSERT_EQ(ctxd_file_uri_to_path("file:///a%zz", out, sizeof(out)), -1);
	ASSERT_EQ(ctxd_file_uri_to_path("file:///a% 1", out, sizeof(out)), -1);
	ASSERT_EQ(ctxd_file_uri_to_path("file:///a%00b", out, sizeof(out)), -1);
	ASSERT_EQ(ctxd_file_uri_to_path("file:///a%2", out, sizeof(out)), -1);
	ASSERT_EQ(ctxd_file_uri_to_path("file:///abcdef", out, 4), -1);
}

static void test_percent_decode_lenient(void)
{
	char out[32];
	/* a '%' without two hex digits is kept as written */
	ASSERT_EQ(ctxd_percent_decode("50%zz%4", 7, out, sizeof(out), false), 7);
	ASSERT_STR_EQ(out, "50%zz%4");
	ASSERT_EQ(ctxd_percent_decode("50%zz", 5, out, sizeof(out), true), -1);
	/* only n bytes are read: an escape straddling n is not decoded */
	ASSERT_EQ(ctxd_percent_decode("a%41", 3, out, sizeof(out), false), 3);
	ASSERT_STR_EQ(out, "a%4");
	/* in place */
	char t[] = "a%20b%2Fc";
	ASSERT_EQ(ctxd_percent_decode(t, strlen(t), t, sizeof(t), false), 5);
	ASSERT_STR_EQ(t, "a b/c");
	ASSERT_EQ(ctxd_percent_decode("x%00", 4, out, sizeof(out), false), -1);
}

static void test_path_to_file_uri(void)
{
	char uri[64], back[64];
	ASSERT_EQ(ctxd_path_to_file_uri("/a b/%/d\xc3\xa9.txt", uri, sizeof(uri)), 0);
	ASSERT_STR_EQ(uri, "file:///a%20b/%25/d%C3%A9.txt");
	ASSERT_EQ(ctxd_file_uri_to_path(uri, back, sizeof(back)), 14);
	ASSERT_STR_EQ(back, "/a b/%/d\xc3\xa9.txt");
	ASSERT_EQ(ctxd_path_to_file_uri("/abc", uri, 8), -1);
	ASSERT_EQ(ctxd_path_to_file_uri("/abc", uri, 12), 0);
	ASSERT_STR_EQ(uri, "file:///abc");
}

int main(void)
{
	RUN(test_file_uri_to_path);
	RUN(test_percent_decode_lenient);
	RUN(test_path_to_file_uri);
	return 0;
}
