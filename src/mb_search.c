/* mb_search.c - ranked search over the memory bank's sections: an inverted index per bank
 * (terms folded by mb_words.c, one chunk per markdown section), refreshed for the files whose
 * inode, size or mtime changed, ranked by BM25 with a boost for the whole query as a phrase.
 */
#include "ctxd/mb_search.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ctxd/mb_words.h"
#include "ctxd/md_sections.h"
#include "ctxd/strbuf.h"
#include "ctxd/utf8.h"

struct posting {
	uint32_t chunk, tf;
};

struct term {
	char *w;
	uint32_t df;
	struct posting *p;
	uint32_t n, cap;
};

struct chunk {
	uint32_t file;
	bool dead;
	size_t start, end, line; /* bytes of the file's text; 1-based line of `start` */
	uint32_t len;            /* words */
	char *heading;
	uint32_t *terms; /* distinct term ids (for df upkeep) */
	uint32_t nterms;
};

struct ifile {
	char *name;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	char *text;
	size_t len;
	bool seen;
};

struct sindex {
	struct sindex *next;
	char abs[CTXD_PATH_MAX];
	struct term *terms;
	uint32_t nterms, cap_terms;
	uint32_t *table; /* open addressing: term id + 1, 0 = empty */
	uint32_t table_cap;
	struct chunk *chunks;
	uint32_t nchunks, cap_chunks, live;
	uint64_t total_len;
	struct ifile *files;
	uint32_t nfiles, cap_files;
};

static void sindex_free(struct sindex *ix)
{
	if (!ix) {
		return;
	}
	for (uint32_t i = 0; i < ix->nterms; i++) {
		free(ix->terms[i].w);
		free(ix->terms[i].p);
	}
	for (uint32_t i = 0; i < ix->nchunks; i++) {
		free(ix->chunks[i].heading);
		free(ix->chunks[i].terms);
	}
	for (uint32_t i = 0; i < ix->nfiles; i++) {
		free(ix->files[i].name);
		free(ix->files[i].text);
	}
	free(ix->terms);
	free(ix->table);
	free(ix->chunks);
	free(ix->files);
	free(ix);
}

static uint32_t word_hash(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	}
	return h;
}

/* ctxd_grow for the index's 32-bit capacities (the counts are 32-bit to keep terms and
 * postings small): a capacity past UINT32_MAX is recorded as UINT32_MAX. */
static int grow32(void **p, uint32_t *cap, size_t need, size_t elem, size_t first)
{
	size_t c = *cap;
	if (ctxd_grow(p, &c, need, elem, first) < 0) {
		return -1;
	}
	*cap = c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
	return 0;
}

/* Look up (and with `add`, insert) a word of the text; words are kept folded (ctxd_mb_word_fold),
 * so lookups match across case and accents. Returns its id or UINT32_MAX. */
static uint32_t term_id(struct sindex *ix, const char *s, size_t n, bool add)
{
	if (ix->table_cap == 0 || (add && (ix->nterms + 1) * 2 > ix->table_cap)) {
		if (!add && ix->table_cap == 0) {
			return UINT32_MAX;
		}
		uint32_t cap = ix->table_cap ? ix->table_cap * 2 : 1024;
		uint32_t *t = calloc(cap, sizeof(*t));
		if (!t) {
			return UINT32_MAX;
		}
		for (uint32_t i = 0; i < ix->nterms; i++) {
			const char *w = ix->terms[i].w;
			uint32_t h = word_hash(w, strlen(w)) & (cap - 1);
			while (t[h]) {
				h = (h + 1) & (cap - 1);
			}
			t[h] = i + 1;
		}
		free(ix->table);
		ix->table = t;
		ix->table_cap = cap;
	}
	char small[128], *heap;
	size_t fl;
	const char *f = ctxd_mb_word_fold(s, n, small, sizeof(small), &fl, &heap);
	if (!f) {
		return UINT32_MAX;
	}
	uint32_t id = UINT32_MAX;
	uint32_t h = word_hash(f, fl) & (ix->table_cap - 1);
	while (ix->table[h]) {
		uint32_t cand = ix->table[h] - 1;
		const char *w = ix->terms[cand].w;
		if (strncmp(w, f, fl) == 0 && w[fl] == '\0') { /* f holds no NUL */
			id = cand;
			goto out;
		}
		h = (h + 1) & (ix->table_cap - 1);
	}
	if (!add) {
		goto out;
	}
	if (grow32((void **)&ix->terms, &ix->cap_terms, ix->nterms + 1, sizeof(*ix->terms), 1024)) {
		goto out;
	}
	char *w = malloc(fl + 1);
	if (!w) {
		goto out;
	}
	memcpy(w, f, fl);
	w[fl] = '\0';
	id = ix->nterms++;
	ix->terms[id] = (struct term){.w = w};
	ix->table[h] = id + 1;
out:
	free(heap);
	return id;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Add a chunk [s, e) of file `fi`; returns 0 or -1 (ENOMEM). */
static int add_chunk(struct sindex *ix, uint32_t fi, size_t s, size_t e, size_t line,
		     const char *title, size_t title_len)
{
	const char *text = ix->files[fi].text;
	size_t words = 0, cap = 64, p = s, ws, we;
	uint32_t *ids = malloc(cap * sizeof(*ids));
	if (!ids) {
		return -1;
	}
	while (ctxd_mb_word_next(text, &p, e, &ws, &we)) {
		uint32_t id = term_id(ix, text + ws, we - ws, true);
		if (id == UINT32_MAX) {
			free(ids);
			return -1;
		}
		if (ctxd_grow((void **)&ids, &cap, words + 1, sizeof(*ids), 64)) {
			free(ids);
			return -1;
		}
		ids[words++] = id;
	}
	if (grow32((void **)&ix->chunks, &ix->cap_chunks, ix->nchunks + 1, sizeof(*ix->chunks),
		   256)) {
		free(ids);
		return -1;
	}
	uint32_t ci = ix->nchunks;
	if (words > 1) { /* qsort needs a valid array even for 0 items */
		qsort(ids, words, sizeof(*ids), cmp_u32);
	}
	uint32_t nd = 0;
	for (size_t i = 0; i < words;) {
		size_t j = i;
		while (j < words && ids[j] == ids[i]) {
			j++;
		}
		struct term *t = &ix->terms[ids[i]];
		if (grow32((void **)&t->p, &t->cap, t->n + 1, sizeof(*t->p), 4)) {
			free(ids);
			return -1;
		}
		t->p[t->n++] = (struct posting){ci, (uint32_t)(j - i)};
		t->df++;
		ids[nd++] = ids[i];
		i = j;
	}
	char *h = malloc(title_len + 1);
	if (!h) {
		free(ids);
		return -1;
	}
	memcpy(h, title, title_len);
	h[title_len] = '\0';
	ix->chunks[ci] = (struct chunk){
	    .file = fi,
	    .start = s,
	    .end = e,
	    .line = line,
	    .len = (uint32_t)words,
	    .heading = h,
	    .terms = ids,
	    .nterms = nd,
	};
	ix->nchunks++;
	ix->live++;
	ix->total_len += words;
	return 0;
}

static void kill_chunks(struct sindex *ix, uint32_t fi)
{
	for (uint32_t i = 0; i < ix->nchunks; i++) {
		struct chunk *c = &ix->chunks[i];
		if (c->dead || c->file != fi) {
			continue;
		}
		c->dead = true;
		for (uint32_t k = 0; k < c->nterms; k++) {
			ix->terms[c->terms[k]].df--;
		}
		ix->live--;
		ix->total_len -= c->len;
	}
}

static int index_file(struct sindex *ix, uint32_t fi)
{
	struct ifile *f = &ix->files[fi];
	struct ctxd_md_section *secs;
	size_t n;
	if (ctxd_md_sections(f->text, f->len, &secs, &n)) {
		return -1;
	}
	size_t pre_end = n ? secs[0].start : f->len;
	int rc = 0;
	if (!ctxd_md_blank(f->text, f->text + pre_end)) {
		rc = add_chunk(ix, fi, 0, pre_end, 1, "", 0);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = add_chunk(ix, fi, secs[i].start, secs[i].own_end, secs[i].line,
			       f->text + secs[i].title, secs[i].title_len);
	}
	free(secs);
	return rc;
}

/* Bring the index up to date with the bank directory. Under the search lock. */
static int index_refresh(struct sindex *ix, int dirfd, struct ctxd_error *err)
{
	json_t *names = ctxd_mb_files(dirfd, err);
	if (!names) {
		return -1;
	}
	for (uint32_t i = 0; i < ix->nfiles; i++) {
		ix->files[i].seen = false;
	}
	size_t k;
	json_t *v;
	int rc = 0;
	json_array_foreach(names, k, v)
	{
		const char *name = json_string_value(v);
		struct stat st;
		if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode)) {
			continue;
		}
		uint32_t fi = UINT32_MAX;
		for (uint32_t i = 0; i < ix->nfiles; i++) {
			if (ix->files[i].name && strcmp(ix->files[i].name, name) == 0) {
				fi = i;
				break;
			}
		}
		if (fi != UINT32_MAX) {
			struct ifile *f = &ix->files[fi];
			f->seen = true;
			if (f->ino == st.st_ino && f->dev == st.st_dev && f->size == st.st_size &&
			    f->mtime.tv_sec == st.st_mtim.tv_sec &&
			    f->mtime.tv_nsec == st.st_mtim.tv_nsec) {
				continue;
			}
			kill_chunks(ix, fi);
			free(f->text);
			f->text = NULL;
		} else {
			if (grow32((void **)&ix->files, &ix->cap_files, ix->nfiles + 1,
				   sizeof(*ix->files), 64)) {
				rc = -1;
				break;
			}
			fi = ix->nfiles++;
			ix->files[fi] = (struct ifile){.name = strdup(name), .seen = true};
			if (!ix->files[fi].name) {
				rc = -1;
				break;
			}
		}
		struct ifile *f = &ix->files[fi];
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		f->size = st.st_size;
		f->mtime = st.st_mtim;
		if (ctxd_mb_read_file(dirfd, name, &f->text, &f->len) < 0) {
			f->text = NULL;
			f->len = 0;
			f->size = -1; /* retry next time */
			continue;
		}
		if (index_file(ix, fi)) {
			rc = -1;
			break;
		}
	}
	json_decref(names);
	if (rc == 0) {
		for (uint32_t i = 0; i < ix->nfiles; i++) {
			if (!ix->files[i].seen && ix->files[i].text) {
				kill_chunks(ix, i);
				free(ix->files[i].text);
				ix->files[i].text = NULL;
				ix->files[i].size = -1;
			}
		}
	}
	if (rc) {
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "search index: out of memory");
	}
	return rc;
}

struct hit {
	uint32_t chunk;
	double score;
	size_t phrase; /* offset of the query phrase in the chunk, SIZE_MAX when absent */
};

static int cmp_hit(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->score != y->score) {
		return x->score < y->score ? 1 : -1;
	}
	return x->chunk < y->chunk ? -1 : x->chunk > y->chunk;
}

/* Where in [s, e) the query words q[0..nq) appear consecutively; SIZE_MAX when not. */
static size_t find_phrase(const struct sindex *ix, const char *text, size_t s, size_t e,
			  const uint32_t *q, size_t nq)
{
	size_t p = s, ws, we, match = 0, first = 0;
	while (ctxd_mb_word_next(text, &p, e, &ws, &we)) {
		uint32_t id = term_id((struct sindex *)ix, text + ws, we - ws, false);
		if (id == q[match]) {
			if (match == 0) {
				first = ws;
			}
			if (++match == nq) {
				return first;
			}
		} else {
			match = id == q[0] ? 1 : 0;
			first = ws;
		}
	}
	return SIZE_MAX;
}

static bool in_query(uint32_t id, const uint32_t *q, size_t nq)
{
	for (size_t i = 0; i < nq; i++) {
		if (q[i] == id) {
			return true;
		}
	}
	return false;
}

/* The snippet: line [ls, le) of `text`, cut to about 240 bytes around the first match,
 * query words wrapped in « ». */
static json_t *snippet(struct sindex *ix, const char *text, size_t ls, size_t le, const uint32_t *q,
		       size_t nq)
{
	while (ls < le && (text[ls] == ' ' || text[ls] == '\t')) {
		ls++;
	}
	size_t p = ls, ws, we, firstm = SIZE_MAX;
	while (ctxd_mb_word_next(text, &p, le, &ws, &we)) {
		if (in_query(term_id(ix, text + ws, we - ws, false), q, nq)) {
			firstm = ws;
			break;
		}
	}
	if (le - ls > 240) {
		size_t c = firstm == SIZE_MAX ? ls : firstm;
		size_t from = c > ls + 80 ? c - 80 : ls;
		while (from > ls && ((unsigned char)text[from] & 0xC0) == 0x80) {
			from--;
		}
		size_t to = from + 240 < le ? from + 240 : le;
		while (to < le && ((unsigned char)text[to] & 0xC0) == 0x80) {
			to++;
		}
		ls = from;
		le = to;
	}
	size_t cap = (le - ls) * 2 + 64;
	char *o = malloc(cap);
	if (!o) {
		return NULL;
	}
	size_t w = 0;
	p = ls;
	size_t copied = ls;
	while (ctxd_mb_word_next(text, &p, le, &ws, &we)) {
		if (!in_query(term_id(ix, text + ws, we - ws, false), q, nq)) {
			continue;
		}
		memcpy(o + w, text + copied, ws - copied);
		w += ws - copied;
		memcpy(o + w, "\xC2\xAB", 2);
		w += 2;
		memcpy(o + w, text + ws, we - ws);
		w += we - ws;
		memcpy(o + w, "\xC2\xBB", 2);
		w += 2;
		copied = we;
		if (w + (le - copied) + 8 > cap) {
			break;
		}
	}
	memcpy(o + w, text + copied, le - copied);
	w += le - copied;
	json_t *j = ctxd_utf8_json(o, w);
	free(o);
	return j;
}

/* The best line of chunk c: the phrase's line, else the one with most query words. */
static void best_line(struct sindex *ix, const struct chunk *c, const uint32_t *q, size_t nq,
		      size_t phrase_at, size_t *line, size_t *ls, size_t *le)
{
	const char *text = ix->files[c->file].text;
	size_t best = 0, lineno = c->line, pos = c->start;
	*line = c->line;
	*ls = c->start;
	*le = c->start;
	while (pos < c->end) {
		struct ctxd_md_line l;
		ctxd_md_line(text, c->end, pos, &l);
		size_t score = 0, p = l.s, ws, we;
		if (phrase_at != SIZE_MAX && phrase_at >= l.s && phrase_at < l.next) {
			score = 1000;
		}
		while (ctxd_mb_word_next(text, &p, l.e, &ws, &we)) {
			score += in_query(term_id(ix, text + ws, we - ws, false), q, nq);
		}
		if (score > best) {
			best = score;
			*line = lineno;
			*ls = l.s;
			*le = l.e;
		}
		pos = l.next;
		lineno++;
	}
}

struct ctxd_mb_search {
	pthread_mutex_t lock; /* guards `indexes` and every index in it */
	struct sindex *indexes;
};

struct ctxd_mb_search *ctxd_mb_search_create(void)
{
	struct ctxd_mb_search *s = calloc(1, sizeof(*s));
	if (s) {
		pthread_mutex_init(&s->lock, NULL);
	}
	return s;
}

void ctxd_mb_search_destroy(struct ctxd_mb_search *s)
{
	if (!s) {
		return;
	}
	while (s->indexes) {
		struct sindex *n = s->indexes->next;
		sindex_free(s->indexes);
		s->indexes = n;
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* The index of the bank at `abs`, created when there is none, started over when dead
 * chunks outnumber live ones. NULL on ENOMEM. Under s->lock. */
static struct sindex *index_of(struct ctxd_mb_search *s, const char *abs)
{
	struct sindex *ix = s->indexes;
	while (ix && strcmp(ix->abs, abs) != 0) {
		ix = ix->next;
	}
	if (!ix) {
		ix = calloc(1, sizeof(*ix));
		if (!ix) {
			return NULL;
		}
		snprintf(ix->abs, sizeof(ix->abs), "%s", abs);
		ix->next = s->indexes;
		s->indexes = ix;
	}
	/* many edits leave many dead chunks: start over rather than scan tombstones */
	if (ix->nchunks > 1024 && ix->nchunks - ix->live > ix->live) {
		struct sindex *fresh = calloc(1, sizeof(*fresh));
		if (fresh) {
			memcpy(fresh->abs, ix->abs, sizeof(ix->abs));
			fresh->next = ix->next;
			struct sindex **pp = &s->indexes;
			while (*pp != ix) {
				pp = &(*pp)->next;
			}
			*pp = fresh;
			sindex_free(ix);
			ix = fresh;
		}
	}
	return ix;
}

/* A query as term ids: q, its words found in the index, in order (the phrase); qs, those
 * that rank: the same without stop words, unless the query has nothing but stop words.
 * `unknown`: some word is in no indexed text (so no phrase can match). */
struct query {
	uint32_t q[64], qs[64];
	size_t nq, nqs;
	bool unknown;
};

static void parse_query(struct sindex *ix, const char *query, struct query *qr)
{
	size_t p = 0, ws, we, qlen = strlen(query), content_words = 0;
	qr->nq = qr->nqs = 0;
	qr->unknown = false;
	while (qr->nq < 64 && ctxd_mb_word_next(query, &p, qlen, &ws, &we)) {
		char small[128], *heap;
		size_t fl;
		const char *f =
		    ctxd_mb_word_fold(query + ws, we - ws, small, sizeof(small), &fl, &heap);
		bool stop = f && ctxd_mb_word_stop(f, fl);
		free(heap);
		content_words += !stop;
		uint32_t id = term_id(ix, query + ws, we - ws, false);
		if (id == UINT32_MAX) {
			qr->unknown = true;
			continue;
		}
		qr->q[qr->nq++] = id;
		if (!stop) {
			qr->qs[qr->nqs++] = id;
		}
	}
	if (content_words == 0) {
		memcpy(qr->qs, qr->q, qr->nq * sizeof(qr->q[0]));
		qr->nqs = qr->nq;
	}
}

/* BM25 (k1 1.2, b 0.75) of every live chunk for the ranking words: the chunks that score,
 * best first, in a new array of *nh hits. NULL on ENOMEM. */
static struct hit *rank(const struct sindex *ix, const struct query *qr, size_t *nh)
{
	*nh = 0;
	double *score = calloc(ix->nchunks, sizeof(*score));
	struct hit *hits = malloc(ix->nchunks * sizeof(*hits));
	if (!score || !hits) {
		free(score);
		free(hits);
		return NULL;
	}
	const double k1 = 1.2, b = 0.75;
	double N = ix->live, avgdl = (double)ix->total_len / ix->live;
	if (avgdl <= 0) {
		avgdl = 1;
	}
	for (size_t i = 0; i < qr->nqs; i++) {
		if (in_query(qr->qs[i], qr->qs, i)) {
			continue; /* a repeated word counts once */
		}
		const struct term *t = &ix->terms[qr->qs[i]];
		double idf = log1p((N - t->df + 0.5) / (t->df + 0.5));
		for (uint32_t k = 0; k < t->n; k++) {
			const struct chunk *c = &ix->chunks[t->p[k].chunk];
			if (c->dead) {
				continue;
			}
			double tf = t->p[k].tf;
			score[t->p[k].chunk] +=
			    idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * c->len / avgdl));
		}
	}
	for (uint32_t i = 0; i < ix->nchunks; i++) {
		if (score[i] > 0) {
			hits[(*nh)++] = (struct hit){i, score[i], SIZE_MAX};
		}
	}
	free(score);
	if (*nh > 1) { /* qsort needs a valid array even for 0 items */
		qsort(hits, *nh, sizeof(*hits), cmp_hit);
	}
	return hits;
}

/* The answer: the leading hits boosted when they hold the query as a phrase, ranked again,
 * the best `limit` as {file, heading, line, score, snippet}. Appends to `out`; -1 on
 * ENOMEM. */
static int render(struct sindex *ix, const struct query *qr, struct hit *hits, size_t nh,
		  size_t limit, json_t *out)
{
	size_t cand = limit * 4 > 64 ? limit * 4 : 64;
	if (cand > nh) {
		cand = nh;
	}
	for (size_t i = 0; i < cand && qr->nq >= 2 && !qr->unknown; i++) {
		const struct chunk *c = &ix->chunks[hits[i].chunk];
		hits[i].phrase =
		    find_phrase(ix, ix->files[c->file].text, c->start, c->end, qr->q, qr->nq);
		if (hits[i].phrase != SIZE_MAX) {
			hits[i].score = hits[i].score * 2.0 + 1.0;
		}
	}
	if (cand > 1) { /* qsort needs a valid array even for 0 items */
		qsort(hits, cand, sizeof(*hits), cmp_hit);
	}
	for (size_t i = 0; i < cand && i < limit; i++) {
		const struct chunk *c = &ix->chunks[hits[i].chunk];
		size_t line, ls, le;
		best_line(ix, c, qr->qs, qr->nqs, hits[i].phrase, &line, &ls, &le);
		json_t *snip = snippet(ix, ix->files[c->file].text, ls, le, qr->qs, qr->nqs);
		json_t *h =
		    json_pack("{s:s, s:o, s:I, s:f, s:o}", "file", ix->files[c->file].name,
			      "heading", ctxd_utf8_json(c->heading, strlen(c->heading)), "line",
			      (json_int_t)line, "score", round(hits[i].score * 1000) / 1000,
			      "snippet", snip ? snip : json_string(""));
		if (!h || json_array_append_new(out, h)) {
			return -1;
		}
	}
	return 0;
}

json_t *ctxd_mb_search(struct ctxd_mb_search *s, const struct ctxd_mb_dir *dir, const char *query,
		       size_t limit, struct ctxd_error *err)
{
	pthread_mutex_lock(&s->lock);
	struct sindex *ix = index_of(s, dir->abs);
	if (!ix) {
		pthread_mutex_unlock(&s->lock);
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "search index: out of memory");
		return NULL;
	}
	json_t *out = NULL;
	struct hit *hits = NULL;
	struct query qr;
	size_t nh = 0;
	if (index_refresh(ix, dir->fd, err)) {
		goto done;
	}
	parse_query(ix, query, &qr);
	out = json_array();
	if (!out || qr.nqs == 0 || ix->live == 0) {
		goto done;
	}
	hits = rank(ix, &qr, &nh);
	if (!hits || render(ix, &qr, hits, nh, limit, out)) {
		json_decref(out);
		out = NULL;
		ctxd_error_set_errno(err, CTXD_ERR_TOOL, ENOMEM, "search: out of memory");
	}
done:
	free(hits);
	pthread_mutex_unlock(&s->lock);
	return out;
}
