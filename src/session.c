/* session.c - protocol state and the in-flight request table (chained hash on id). */
#include "ctxd/session.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctxd/json_write.h"
#include "ctxd/strbuf.h"

int ctxd_session_init(struct ctxd_session *s)
{
	memset(s, 0, sizeof(*s));
	s->nbuckets = 256;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	return s->buckets ? 0 : -1;
}

void ctxd_session_finish(struct ctxd_session *s)
{
	free(s->buckets);
	json_decref(s->client_caps);
	json_decref(s->client_info);
	memset(s, 0, sizeof(*s));
}

char *ctxd_session_id_key(const json_t *id)
{
	char *key = NULL;
	if (json_is_string(id)) {
		size_t n = json_string_length(id);
		key = malloc(n + 3);
		if (key) {
			key[0] = 's';
			key[1] = ':';
			memcpy(key + 2, json_string_value(id), n);
			key[n + 2] = '\0';
		}
	} else if (json_is_integer(id)) {
		/* "i:" and the digits as "%" JSON_INTEGER_FORMAT writes them, without snprintf
		 * (this runs for every request) */
		struct ctxd_strbuf b = {0};
		ctxd_strbuf_add(&b, "i:", 2);
		ctxd_json_int(&b, json_integer_value(id));
		if (b.oom) {
			free(b.p);
		} else {
			key = b.p;
		}
	}
	return key;
}

static size_t hash(const char *k, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *k; k++) {
		h ^= (unsigned char)*k;
		h *= 1099511628211ULL;
	}
	return (size_t)(h & (n - 1));
}

static int grow(struct ctxd_session *s)
{
	size_t n = s->nbuckets * 2;
	struct ctxd_request **b = calloc(n, sizeof(*b));
	if (!b) {
		return -1;
	}
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct ctxd_request *r = s->buckets[i];
		while (r) {
			struct ctxd_request *next = r->hnext;
			size_t h = hash(r->key, n);
			r->hnext = b[h];
			b[h] = r;
			r = next;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = n;
	return 0;
}

static struct ctxd_request *lookup(struct ctxd_session *s, const char *key)
{
	for (struct ctxd_request *r = s->buckets[hash(key, s->nbuckets)]; r; r = r->hnext) {
		if (strcmp(r->key, key) == 0) {
			return r;
		}
	}
	return NULL;
}

int ctxd_session_add(struct ctxd_session *s, struct ctxd_request *req)
{
	if (lookup(s, req->key)) {
		return -EEXIST;
	}
	if (s->count + 1 > s->nbuckets && grow(s) < 0) {
		return -ENOMEM;
	}
	size_t h = hash(req->key, s->nbuckets);
	req->hnext = s->buckets[h];
	s->buckets[h] = req;
	req->in_table = true;
	s->count++;
	return 0;
}

struct ctxd_request *ctxd_session_find(struct ctxd_session *s, const json_t *id)
{
	char *key = ctxd_session_id_key(id);
	if (!key) {
		return NULL;
	}
	struct ctxd_request *r = lookup(s, key);
	free(key);
	return r;
}

struct ctxd_request *ctxd_session_find_key(struct ctxd_session *s, const char *key)
{
	return lookup(s, key);
}

void ctxd_session_remove(struct ctxd_session *s, struct ctxd_request *req)
{
	if (!req->in_table) {
		return;
	}
	struct ctxd_request **pp = &s->buckets[hash(req->key, s->nbuckets)];
	while (*pp && *pp != req) {
		pp = &(*pp)->hnext;
	}
	if (*pp) {
		*pp = req->hnext;
		s->count--;
	}
	req->in_table = false;
	req->hnext = NULL;
}

void ctxd_session_foreach(struct ctxd_session *s, void (*fn)(struct ctxd_request *, void *),
			  void *ud)
{
	for (size_t i = 0; i < s->nbuckets; i++) {
		for (struct ctxd_request *r = s->buckets[i]; r; r = r->hnext) {
			fn(r, ud);
		}
	}
}
