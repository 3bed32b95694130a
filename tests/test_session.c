/* test_session.c - the in-flight request table (src/session.c): keys that keep "1" and 1
 * apart, add/find/remove, duplicate ids, growth past the first bucket count, the walk.
 * Links only the protocol layer. */
#include <errno.h>
#include <stdint.h>

#include "ctxd/session.h"
#include "test.h"

static void test_keys(void)
{
	json_t *s = json_string("1"), *i = json_integer(1), *neg = json_integer(-7);
	json_t *nul = json_stringn("a\0b", 3);
	char *ks = ctxd_session_id_key(s), *ki = ctxd_session_id_key(i);
	char *kn = ctxd_session_id_key(neg), *kz = ctxd_session_id_key(nul);
	ASSERT_STR_EQ(ks, "s:1");
	ASSERT_STR_EQ(ki, "i:1");
	ASSERT_STR_EQ(kn, "i:-7");
	ASSERT_EQ(memcmp(kz, "s:a\0b", 6), 0);
	json_t *other[] = {json_null(), json_real(1.0), json_true(), json_object()};
	for (size_t k = 0; k < 4; k++) {
		ASSERT(!ctxd_session_id_key(other[k]));
		json_decref(other[k]);
	}
	/* integer keys are written by hand: the ends of the range, zero, as printf writes them */
	json_int_t ends[] = {0, -1, 10, INT64_MAX, INT64_MIN};
	for (size_t k = 0; k < sizeof(ends) / sizeof(ends[0]); k++) {
		json_t *id = json_integer(ends[k]);
		char want[32], *got = ctxd_session_id_key(id);
		snprintf(want, sizeof(want), "i:%" JSON_INTEGER_FORMAT, ends[k]);
		ASSERT_STR_EQ(got, want);
		free(got);
		json_decref(id);
	}
	free(ks);
	free(ki);
	free(kn);
	free(kz);
	json_decref(s);
	json_decref(i);
	json_decref(neg);
	json_decref(nul);
}

static struct ctxd_request *req_new(json_t *id)
{
	struct ctxd_request *r = calloc(1, sizeof(*r));
	ASSERT(r);
	r->id = id;
	r->key = ctxd_session_id_key(id);
	ASSERT(r->key);
	return r;
}

static void req_free(struct ctxd_request *r)
{
	json_decref(r->id);
	free(r->key);
	free(r);
}

static void count_cb(struct ctxd_request *r, void *ud)
{
	ASSERT(r->in_table);
	(*(size_t *)ud)++;
}

static void test_table(void)
{
	struct ctxd_session s;
	ASSERT_EQ(ctxd_session_init(&s), 0);
	ASSERT_EQ(s.era, CTXD_ERA_NONE);
	size_t first_buckets = s.nbuckets;
	struct ctxd_request *str1 = req_new(json_string("1"));
	struct ctxd_request *int1 = req_new(json_integer(1));
	ASSERT_EQ(ctxd_session_add(&s, str1), 0);
	ASSERT_EQ(ctxd_session_add(&s, int1), 0); /* "1" and 1 are two requests */
	ASSERT(str1->in_table && int1->in_table);
	struct ctxd_request *dup = req_new(json_integer(1));
	ASSERT_EQ(ctxd_session_add(&s, dup), -EEXIST);
	ASSERT(!dup->in_table);
	ASSERT_EQ(s.count, 2);
	json_t *q = json_integer(1);
	ASSERT(ctxd_session_find(&s, q) == int1);
	json_decref(q);
	q = json_string("1");
	ASSERT(ctxd_session_find(&s, q) == str1);
	json_decref(q);
	q = json_null();
	ASSERT(!ctxd_session_find(&s, q));
	ASSERT(ctxd_session_find_key(&s, "s:1") == str1);
	ASSERT(!ctxd_session_find_key(&s, "s:2"));

	/* many more requests than buckets: the table grows and finds every one */
	size_t n = first_buckets * 4 + 3;
	struct ctxd_request **many = calloc(n, sizeof(*many));
	ASSERT(many);
	for (size_t k = 0; k < n; k++) {
		many[k] = req_new(json_sprintf("r%zu", k));
		ASSERT_EQ(ctxd_session_add(&s, many[k]), 0);
	}
	ASSERT(s.nbuckets > first_buckets);
	ASSERT_EQ(s.count, n + 2);
	for (size_t k = 0; k < n; k++) {
		ASSERT(ctxd_session_find_key(&s, many[k]->key) == many[k]);
	}
	size_t walked = 0;
	ctxd_session_foreach(&s, count_cb, &walked);
	ASSERT_EQ(walked, n + 2);

	/* removal: the rest stay findable; removing twice, or an absent one, is a no-op */
	for (size_t k = 0; k < n; k += 2) {
		ctxd_session_remove(&s, many[k]);
		ASSERT(!many[k]->in_table);
	}
	ctxd_session_remove(&s, many[0]);
	ctxd_session_remove(&s, dup);
	ASSERT_EQ(s.count, n + 2 - (n + 1) / 2);
	for (size_t k = 0; k < n; k++) {
		ASSERT((ctxd_session_find_key(&s, many[k]->key) == many[k]) == (k % 2 == 1));
	}
	ctxd_session_remove(&s, int1);
	ASSERT(!ctxd_session_find(&s, int1->id));
	ASSERT(ctxd_session_find(&s, str1->id) == str1);
	ASSERT_EQ(ctxd_session_add(&s, dup), 0); /* the id is free again */
	ASSERT(ctxd_session_find(&s, dup->id) == dup);

	s.client_caps = json_object(); /* owned: finish frees it */
	s.client_info = json_object();
	ctxd_session_finish(&s);
	ASSERT(!s.buckets && !s.client_caps && s.count == 0);
	for (size_t k = 0; k < n; k++) {
		req_free(many[k]);
	}
	free(many);
	req_free(str1);
	req_free(int1);
	req_free(dup);
}

int main(void)
{
	RUN(test_keys);
	RUN(test_table);
	return 0;
}
