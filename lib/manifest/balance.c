/*
 * balance.c — speaker balance weights and speaker-disjoint splits (see
 * balance.h for the formulas and the guarantees).
 *
 * Both read per-speaker aggregates with one GROUP BY (a few thousand rows
 * even for a million utterances), decide in C, and write back through a
 * temporary table keyed by speaker, so the per-utterance work is two UPDATE
 * statements that SQLite runs in a single pass.
 */
#define _GNU_SOURCE
#include "manifest/balance.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/banned.h"

/* Speakers key: speaker_id, or -recording_id for utterances with no speaker
 * (each recording then stands for one unknown speaker). */
#define UNIT_KEY "coalesce(u.speaker_id, -u.recording_id)"

const char *balance_split_name(int i)
{
	static const char *names[] = { "train", "dev", "test" };
	return i >= 0 && i < 3 ? names[i] : "?";
}

/* Open a transaction, or a savepoint inside the caller's. */
static int tx_begin(manifest *m, int *nested)
{
	*nested = !sqlite3_get_autocommit(m->db);
	return manifest_exec(m, *nested ? "SAVEPOINT balance" : "BEGIN IMMEDIATE");
}

static int tx_end(manifest *m, int nested, int rc)
{
	if (!rc)
		rc = manifest_exec(m, nested ? "RELEASE balance" : "COMMIT");
	if (rc && !sqlite3_get_autocommit(m->db))
		sqlite3_exec(m->db, nested ? "ROLLBACK TO balance; RELEASE balance" : "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* In an array sorted so that equal elements are adjacent: the index past
 * the run of elements that same() says go with element i (at least i + 1).
 * Weights walk accent groups and splits walk languages with it. */
static size_t run_end(const void *v, size_t n, size_t size, size_t i, int (*same)(const void *, const void *))
{
	const char *b = v;
	size_t j = i + 1;
	while (j < n && same(b + i * size, b + j * size))
		j++;
	return j;
}

/* The end of a read loop whose last sqlite3_step gave s: the statement
 * finalized (*q NULL), and ACC_EDB (what) unless the rows ran out normally. */
static int read_done(manifest *m, sqlite3_stmt **q, int s, const char *what)
{
	int rc = s == SQLITE_DONE ? 0 : manifest_db_error(m, what);
	sqlite3_finalize(*q);
	*q = NULL;
	return rc;
}

int balance_speaker_totals(manifest *m)
{
	return manifest_exec(m,
		"UPDATE speakers SET (n_utterances, total_duration_s) = "
		"(SELECT count(*), coalesce(sum(end_s - start_s), 0) FROM utterances "
		" WHERE speaker_id = speakers.id AND status = 'ok')");
}

/* ---------------------------------------------------------------- weights */

typedef struct wspk {
	int64_t key;
	char   *group;      /* "lang\x1faccent", NULL = no accent (own group) */
	double  T;          /* total duration (s) */
	int64_t n;          /* utterances */
	double  mass, share;
	int     capped;
} wspk;

static int cmp_group(const void *a, const void *b)
{
	const wspk *x = a, *y = b;
	if (!x->group || !y->group)
		return (x->group == NULL) - (y->group == NULL);
	int c = strcmp(x->group, y->group);
	return c ? c : (x->key > y->key) - (x->key < y->key);
}

/* Same accent group (a speaker without accent is a group of its own). */
static int same_group(const void *a, const void *b)
{
	const wspk *x = a, *y = b;
	return x->group && y->group && !strcmp(x->group, y->group);
}

/* Water-filling: nobody above cap, the rest keep their relative masses. */
static int apply_cap(wspk *s, size_t n, double cap, int64_t *ncapped)
{
	if (cap * (double)n < 1.0 - 1e-12) {
		err_set(ACC_EINVAL, "speaker cap %g cannot be met by %zu speakers (it must be at least 1/%zu = %g)",
			cap, n, n, 1.0 / (double)n);
		err_hint("raise --cap or leave it out");
		return ACC_EINVAL;
	}
	for (int changed = 1; changed;) {
		double fixed = 0, free_mass = 0;
		changed = 0;
		for (size_t i = 0; i < n; i++) {
			if (s[i].capped)
				fixed += cap;
			else
				free_mass += s[i].mass;
		}
		for (size_t i = 0; i < n; i++) {
			if (s[i].capped) {
				s[i].share = cap;
				continue;
			}
			s[i].share = free_mass > 0 ? (1.0 - fixed) * s[i].mass / free_mass : 0;
			if (s[i].share > cap * (1 + 1e-12)) {
				s[i].capped = 1;
				changed = 1;
			}
		}
	}
	*ncapped = 0;
	for (size_t i = 0; i < n; i++)
		*ncapped += s[i].capped;
	return 0;
}

int balance_weights(manifest *m, const balance_opts *o, balance_stats *stout)
{
	balance_opts def = BALANCE_OPTS_DEFAULT;
	balance_stats st = { 0 };
	sqlite3_stmt *q = NULL;
	wspk *s = NULL;
	size_t n = 0, cap_n = 0;
	int rc, nested = 0, s_rc;
	double total_mass = 0;
	int64_t nutt = 0;

	if (!o)
		o = &def;
	if (!(o->alpha >= 0 && o->alpha <= 1))
		return err_set(ACC_EINVAL, "alpha must be between 0 and 1 (got %g)", o->alpha);
	if (!(o->cap >= 0 && o->cap <= 1))
		return err_set(ACC_EINVAL, "the speaker cap is a share of the total mass, between 0 and 1 (got %g)", o->cap);
	if ((rc = tx_begin(m, &nested)))
		return rc;

	rc = manifest_prepare(m,
		"SELECT " UNIT_KEY " AS k, s.lang, s.accent, sum(u.end_s - u.start_s), count(*) "
		"FROM utterances u LEFT JOIN speakers s ON s.id = u.speaker_id "
		"WHERE u.status = ?1 AND (?2 IS NULL OR u.split = ?2) AND u.end_s > u.start_s "
		"GROUP BY k ORDER BY k", &q);
	if (rc)
		goto out;
	sqlite3_bind_text(q, 1, o->status ? o->status : "ok", -1, SQLITE_STATIC);
	if (o->split)
		sqlite3_bind_text(q, 2, o->split, -1, SQLITE_STATIC);
	while ((s_rc = sqlite3_step(q)) == SQLITE_ROW) {
		if ((rc = ARRAY_GROW(s, cap_n, n + 1)))
			goto out;
		wspk *p = &s[n++];
		memset(p, 0, sizeof *p);
		p->key = sqlite3_column_int64(q, 0);
		const char *lang = (const char *)sqlite3_column_text(q, 1);
		const char *accent = (const char *)sqlite3_column_text(q, 2);
		if (o->use_accent && accent && *accent) {
			if (asprintf(&p->group, "%s\x1f%s", lang ? lang : "", accent) < 0) {
				p->group = NULL;
				rc = err_set(ACC_ENOMEM, "out of memory");
				goto out;
			}
		}
		p->T = sqlite3_column_double(q, 3);
		p->n = sqlite3_column_int64(q, 4);
		nutt += p->n;
	}
	if ((rc = read_done(m, &q, s_rc, "cannot read speaker durations")))
		goto out;

	/* Mass per speaker: T_A^alpha spread over the accent's speakers in
	 * proportion to T_s^alpha; no accent = a group of one (T_s^alpha). */
	if (n)
		qsort(s, n, sizeof *s, cmp_group);
	for (size_t i = 0, j; i < n; i = j) {
		j = run_end(s, n, sizeof *s, i, same_group);
		double TA = 0, G = 0;
		for (size_t k = i; k < j; k++) {
			TA += s[k].T;
			G += pow(s[k].T, o->alpha);
		}
		for (size_t k = i; k < j; k++)
			s[k].mass = pow(TA, o->alpha) * pow(s[k].T, o->alpha) / G;
		if (s[i].group)
			st.accents++;
	}
	for (size_t i = 0; i < n; i++)
		total_mass += s[i].mass;
	for (size_t i = 0; i < n; i++)
		s[i].share = s[i].mass / total_mass;
	if (o->cap > 0 && n && (rc = apply_cap(s, n, o->cap, &st.capped)))
		goto out;

	if ((rc = manifest_exec(m, "DROP TABLE IF EXISTS temp.balance_factor; "
				"CREATE TEMP TABLE balance_factor (k INTEGER PRIMARY KEY, f REAL NOT NULL)")))
		goto out;
	if ((rc = manifest_prepare(m, "INSERT INTO temp.balance_factor(k, f) VALUES (?1, ?2)", &q)))
		goto out;
	st.min_share = n ? 1 : 0;
	for (size_t i = 0; i < n; i++) {
		/* weight per second: the speaker's share of the N utterances' total
		 * weight N (mean 1), spread over its T_s seconds */
		double f = s[i].share * (double)nutt / s[i].T;
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, s[i].key);
		sqlite3_bind_double(q, 2, f);
		if (sqlite3_step(q) != SQLITE_DONE) {
			rc = manifest_db_error(m, "cannot store balance factors");
			goto out;
		}
		if (s[i].share < st.min_share)
			st.min_share = s[i].share;
		if (s[i].share > st.max_share)
			st.max_share = s[i].share;
	}
	sqlite3_finalize(q);
	q = NULL;
	if ((rc = manifest_exec(m, "UPDATE utterances SET weight = NULL WHERE weight IS NOT NULL")))
		goto out;
	if ((rc = manifest_prepare(m,
		"UPDATE utterances AS u SET weight = (u.end_s - u.start_s) * "
		"(SELECT f FROM temp.balance_factor b WHERE b.k = " UNIT_KEY ") "
		"WHERE u.status = ?1 AND (?2 IS NULL OR u.split = ?2) AND u.end_s > u.start_s", &q)))
		goto out;
	sqlite3_bind_text(q, 1, o->status ? o->status : "ok", -1, SQLITE_STATIC);
	if (o->split)
		sqlite3_bind_text(q, 2, o->split, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_DONE) {
		rc = manifest_db_error(m, "cannot write utterance weights");
		goto out;
	}
	sqlite3_finalize(q);
	q = NULL;
	if ((rc = manifest_exec(m, "UPDATE speakers SET weight = (SELECT f FROM temp.balance_factor b WHERE b.k = speakers.id)")))
		goto out;
	if ((rc = balance_speaker_totals(m)))
		goto out;
	rc = manifest_exec(m, "DROP TABLE temp.balance_factor");
	st.utterances = nutt;
	st.speakers = (int64_t)n;
out:
	sqlite3_finalize(q);
	for (size_t i = 0; i < n; i++)
		free(s[i].group);
	free(s);
	rc = tx_end(m, nested, rc);
	if (!rc && stout)
		*stout = st;
	return rc;
}

/* ----------------------------------------------------------------- splits */

typedef struct sunit {
	int64_t  key;
	char    *lang;
	uint64_t hash;
	double   d;
	int      split;
} sunit;

static int cmp_lang_hash(const void *a, const void *b)
{
	const sunit *x = a, *y = b;
	int c = strcmp(x->lang, y->lang);
	if (c)
		return c;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return (x->key > y->key) - (x->key < y->key);
}

static int same_lang(const void *a, const void *b)
{
	return !strcmp(((const sunit *)a)->lang, ((const sunit *)b)->lang);
}

static uint64_t unit_hash(uint64_t seed, const char *label)
{
	char hex[65], head[32];
	size_t hl = (size_t)snprintf(head, sizeof head, "%llu:", (unsigned long long)seed);
	size_t ll = strlen(label);
	char *buf = malloc(hl + ll + 1);
	uint64_t h = 0;
	if (!buf)
		return 0;
	memcpy(buf, head, hl);
	memcpy(buf + hl, label, ll);
	fs_sha256_buf(buf, hl + ll, hex);
	free(buf);
	for (int i = 0; i < 16; i++)
		h = h << 4 | (uint64_t)(hex[i] <= '9' ? hex[i] - '0' : hex[i] - 'a' + 10);
	return h;
}

/* Lay one language's units (sorted by hash) along [0,1) and cut by p. */
static void assign_lang(sunit *u, size_t n, const double p[3], int by_count)
{
	double total = 0, cum = 0, edge[3];
	int count[3] = { 0 }, last = 0;
	for (size_t i = 0; i < n; i++)
		total += by_count ? 1 : u[i].d;
	edge[0] = p[0];
	edge[1] = p[0] + p[1];
	edge[2] = 2;  /* everything left */
	for (int i = 0; i < 3; i++)
		if (p[i] > 0)
			last = i;
	for (size_t i = 0; i < n; i++) {
		double w = by_count ? 1 : u[i].d;
		double mid = total > 0 ? (cum + w / 2) / total : (i + 0.5) / n;
		int sp = last;
		for (int k = 0; k < last; k++)
			if (p[k] > 0 && mid < edge[k]) {
				sp = k;
				break;
			}
		u[i].split = sp;
		count[sp]++;
		cum += w;
	}
	/* Small languages: do not leave a wanted split empty while another has
	 * speakers to spare; the smallest such speaker moves. */
	for (int want = 0; want < 3; want++) {
		if (p[want] <= 0 || count[want] > 0)
			continue;
		ssize_t best = -1;
		for (size_t i = 0; i < n; i++)
			if (count[u[i].split] >= 2 && (best < 0 || u[i].d < u[best].d))
				best = (ssize_t)i;
		if (best < 0)
			break;
		count[u[best].split]--;
		u[best].split = want;
		count[want]++;
	}
}

/* Mass rewrites of an indexed column are cheaper as drop index, update,
 * re-create (one sorted build instead of a million B-tree moves).  Drops the
 * indexes of utterances that hold `split` and returns their SQL (NULL-
 * terminated array of malloc'ed strings) to re-create them. */
static int drop_split_indexes(manifest *m, char ***sqls)
{
	sqlite3_stmt *q = NULL;
	char **v = NULL;
	size_t cap = 0;
	int n = 0, rc, s;
	*sqls = NULL;
	rc = manifest_prepare(m, "SELECT name, sql FROM sqlite_master AS x WHERE type = 'index' AND tbl_name = 'utterances' "
			      "AND sql IS NOT NULL AND EXISTS (SELECT 1 FROM pragma_index_info(x.name) WHERE name = 'split')", &q);
	if (rc)
		return rc;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		if ((rc = ARRAY_GROW(v, cap, (size_t)n + 3)))
			break;
		v[n] = strdup((const char *)sqlite3_column_text(q, 1));
		v[n + 1] = sqlite3_mprintf("DROP INDEX \"%w\"", (const char *)sqlite3_column_text(q, 0));
		v[n + 2] = NULL;
		if (!v[n] || !v[n + 1]) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			break;
		}
		n += 2;
	}
	if (!rc && s != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot list indexes");
	sqlite3_finalize(q);
	/* v = create0, drop0, create1, drop1, ...: drop now, keep the creates */
	for (int i = 1; i < n && !rc; i += 2)
		rc = manifest_exec(m, v[i]);
	for (int i = 1; i < n; i += 2) {
		sqlite3_free(v[i]);
		v[i] = NULL;
	}
	if (v) {
		int k = 0;
		for (int i = 0; i < n; i += 2)
			v[k++] = v[i];
		v[k] = NULL;
	}
	*sqls = v;
	return rc;
}

/* Split units: a speaker (or, without one, a recording) is a unit, but
 * the speakers of one recording (a meeting, a dialogue) must share a
 * split, else its audio is in two splits (db check's audio_split_leak).
 * Union-find over the (unit, recording) pairs fills temp.split_group(k ->
 * g) with g the smallest unit key of k's group (k itself when alone). */
typedef struct upair {
	int64_t unit, rec;
} upair;

static int cmp_pair_rec(const void *a, const void *b)
{
	const upair *x = a, *y = b;
	return x->rec < y->rec ? -1 : x->rec > y->rec ? 1 : (x->unit > y->unit) - (x->unit < y->unit);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static size_t uf_find(size_t *parent, size_t i)
{
	while (parent[i] != i) {
		parent[i] = parent[parent[i]];
		i = parent[i];
	}
	return i;
}

static size_t unit_index(const int64_t *keys, size_t n, int64_t k)
{
	int64_t *p = bsearch(&k, keys, n, sizeof *keys, cmp_i64);
	return p ? (size_t)(p - keys) : 0;
}

static int build_split_groups(manifest *m)
{
	sqlite3_stmt *q = NULL;
	upair *pr = NULL;
	int64_t *keys = NULL;
	size_t *parent = NULL, np = 0, cap = 0, nk = 0;
	int rc, s;
	if ((rc = manifest_exec(m, "DROP TABLE IF EXISTS temp.split_group; "
				"CREATE TEMP TABLE split_group (k INTEGER PRIMARY KEY, g INTEGER NOT NULL)")))
		return rc;
	if ((rc = manifest_prepare(m, "SELECT DISTINCT " UNIT_KEY ", u.recording_id FROM utterances u", &q)))
		return rc;
	while ((s = sqlite3_step(q)) == SQLITE_ROW) {
		if ((rc = ARRAY_GROW(pr, cap, np + 1)))
			goto out;
		pr[np].unit = sqlite3_column_int64(q, 0);
		pr[np++].rec = sqlite3_column_int64(q, 1);
	}
	if ((rc = read_done(m, &q, s, "cannot read split units")))
		goto out;
	keys = malloc((np ? np : 1) * sizeof *keys);
	parent = malloc((np ? np : 1) * sizeof *parent);
	if (!keys || !parent) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < np; i++)
		keys[i] = pr[i].unit;
	if (np)
		qsort(keys, np, sizeof *keys, cmp_i64);
	for (size_t i = 0; i < np; i++)
		if (!nk || keys[nk - 1] != keys[i])
			keys[nk++] = keys[i];
	for (size_t i = 0; i < nk; i++)
		parent[i] = i;
	if (np)
		qsort(pr, np, sizeof *pr, cmp_pair_rec);
	for (size_t i = 1; i < np; i++)
		if (pr[i].rec == pr[i - 1].rec) {
			size_t a = uf_find(parent, unit_index(keys, nk, pr[i - 1].unit));
			size_t b = uf_find(parent, unit_index(keys, nk, pr[i].unit));
			/* the root is the smaller index = the smaller unit key */
			if (a < b)
				parent[b] = a;
			else if (b < a)
				parent[a] = b;
		}
	if ((rc = manifest_prepare(m, "INSERT INTO temp.split_group(k, g) VALUES (?1, ?2)", &q)))
		goto out;
	for (size_t i = 0; i < nk; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, keys[i]);
		sqlite3_bind_int64(q, 2, keys[uf_find(parent, i)]);
		if (sqlite3_step(q) != SQLITE_DONE) {
			rc = manifest_db_error(m, "cannot store split groups");
			goto out;
		}
	}
out:
	sqlite3_finalize(q);
	free(pr);
	free(keys);
	free(parent);
	return rc;
}

/* The split unit (group) of utterance u. */
#define GROUP_KEY "(SELECT g FROM temp.split_group WHERE k = " UNIT_KEY ")"

/* From temp.split_assign (unit -> split): the new split of every utterance,
 * 'excluded' where distinct_text and its sentence is in a higher split;
 * only the rows that change are written. */
static int write_splits(manifest *m, int distinct_text)
{
	char **indexes = NULL;
	int rc;
	int64_t changed, total;
	rc = manifest_exec(m,
		"DROP TABLE IF EXISTS temp.split_text; DROP TABLE IF EXISTS temp.split_new;"
		"CREATE TEMP TABLE split_text (text_norm TEXT PRIMARY KEY, top INTEGER NOT NULL) WITHOUT ROWID;"
		"CREATE TEMP TABLE split_new (id INTEGER PRIMARY KEY, split TEXT NOT NULL)");
	if (rc)
		return rc;
	/* sentences in several splits, with the highest: test > dev > train */
	if (distinct_text && (rc = manifest_exec(m,
		"INSERT INTO temp.split_text(text_norm, top) "
		"SELECT u.text_norm, max(CASE a.split WHEN 'train' THEN 1 WHEN 'dev' THEN 2 ELSE 3 END) "
		"FROM utterances u JOIN temp.split_assign a ON a.k = " GROUP_KEY " "
		"WHERE u.text_norm <> '' GROUP BY u.text_norm HAVING count(DISTINCT a.split) > 1")))
		return rc;
	rc = manifest_exec(m,
		"INSERT INTO temp.split_new(id, split) SELECT id, s FROM ("
		" SELECT u.id, u.split AS old, CASE WHEN t.top > (CASE a.split WHEN 'train' THEN 1 WHEN 'dev' THEN 2 ELSE 3 END) "
		"   THEN 'excluded' ELSE a.split END AS s "
		" FROM utterances u JOIN temp.split_assign a ON a.k = " GROUP_KEY " "
		" LEFT JOIN temp.split_text t ON t.text_norm = u.text_norm) WHERE old IS NOT s");
	if (rc)
		return rc;
	changed = sqlite3_changes64(m->db);
	if (!changed)
		return 0;
	total = 0;
	{
		sqlite3_stmt *q = NULL;
		if ((rc = manifest_prepare(m, "SELECT count(*) FROM utterances", &q)))
			return rc;
		if (sqlite3_step(q) == SQLITE_ROW)
			total = sqlite3_column_int64(q, 0);
		sqlite3_finalize(q);
	}
	if (changed > 50000 && changed > total / 5 && (rc = drop_split_indexes(m, &indexes)))
		goto out;
	if ((rc = manifest_exec(m, "UPDATE utterances SET split = n.split FROM temp.split_new AS n WHERE n.id = utterances.id")))
		goto out;
	for (int i = 0; indexes && indexes[i] && !rc; i++)
		rc = manifest_exec(m, indexes[i]);
out:
	for (int i = 0; indexes && indexes[i]; i++)
		free(indexes[i]);
	free(indexes);
	return rc;
}

int balance_split(manifest *m, const split_opts *o, split_stats *stout)
{
	split_opts def = SPLIT_OPTS_DEFAULT;
	split_stats st = { 0 };
	sqlite3_stmt *q = NULL;
	sunit *u = NULL;
	size_t n = 0, cap_n = 0;
	double p[3], sum;
	int rc, nested = 0, s_rc;

	if (!o)
		o = &def;
	p[0] = o->train;
	p[1] = o->dev;
	p[2] = o->test;
	sum = p[0] + p[1] + p[2];
	if (!(p[0] >= 0 && p[1] >= 0 && p[2] >= 0) || !(sum > 0))
		return err_set(ACC_EINVAL, "split proportions must be non-negative with a positive sum (got %g/%g/%g)", p[0], p[1], p[2]);
	for (int i = 0; i < 3; i++)
		p[i] /= sum;
	if ((rc = tx_begin(m, &nested)))
		return rc;

	/* One row per (unit, language), the unit's main language first; a unit
	 * is a group of speakers sharing recordings (build_split_groups),
	 * hashed by its smallest label. */
	if ((rc = build_split_groups(m)))
		goto out;
	rc = manifest_prepare(m,
		"SELECT " GROUP_KEY " AS k, coalesce(u.lang, s.lang, '') AS lg, sum(u.end_s - u.start_s) AS d, "
		"min(coalesce(s.label, 'rec:' || (SELECT path FROM recordings WHERE id = u.recording_id))) "
		"FROM utterances u LEFT JOIN speakers s ON s.id = u.speaker_id "
		"GROUP BY k, lg ORDER BY k, d DESC, lg", &q);
	if (rc)
		goto out;
	while ((s_rc = sqlite3_step(q)) == SQLITE_ROW) {
		int64_t key = sqlite3_column_int64(q, 0);
		if (n && u[n - 1].key == key) {
			u[n - 1].d += sqlite3_column_double(q, 2);
			continue;
		}
		if ((rc = ARRAY_GROW(u, cap_n, n + 1)))
			goto out;
		sunit *x = &u[n];
		x->key = key;
		x->lang = strdup((const char *)sqlite3_column_text(q, 1));
		x->d = sqlite3_column_double(q, 2);
		x->hash = unit_hash(o->seed, (const char *)sqlite3_column_text(q, 3));
		if (!x->lang) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	if ((rc = read_done(m, &q, s_rc, "cannot read speakers")))
		goto out;

	if (n)
		qsort(u, n, sizeof *u, cmp_lang_hash);
	for (size_t i = 0, j; i < n; i = j) {
		j = run_end(u, n, sizeof *u, i, same_lang);
		assign_lang(u + i, j - i, p, o->by_count);
		st.langs++;
	}

	if ((rc = manifest_exec(m, "DROP TABLE IF EXISTS temp.split_assign; "
				"CREATE TEMP TABLE split_assign (k INTEGER PRIMARY KEY, split TEXT NOT NULL)")))
		goto out;
	if ((rc = manifest_prepare(m, "INSERT INTO temp.split_assign(k, split) VALUES (?1, ?2)", &q)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, u[i].key);
		sqlite3_bind_text(q, 2, balance_split_name(u[i].split), -1, SQLITE_STATIC);
		if (sqlite3_step(q) != SQLITE_DONE) {
			rc = manifest_db_error(m, "cannot store split assignments");
			goto out;
		}
	}
	sqlite3_finalize(q);
	q = NULL;
	if ((rc = write_splits(m, o->distinct_text)))
		goto out;
	if ((rc = manifest_exec(m, "DROP TABLE temp.split_assign; DROP TABLE temp.split_text; DROP TABLE temp.split_new; "
				"DROP TABLE temp.split_group")))
		goto out;

	if ((rc = manifest_prepare(m,
		"SELECT split, count(DISTINCT " UNIT_KEY "), count(*), coalesce(sum(end_s - start_s), 0) / 3600.0 "
		"FROM utterances u GROUP BY split", &q)))
		goto out;
	while ((s_rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(q, 0);
		if (!name)
			continue;
		if (!strcmp(name, "excluded")) {
			st.excluded = sqlite3_column_int64(q, 2);
			continue;
		}
		for (int i = 0; i < 3; i++)
			if (!strcmp(name, balance_split_name(i))) {
				st.speakers[i] = sqlite3_column_int64(q, 1);
				st.utterances[i] = sqlite3_column_int64(q, 2);
				st.hours[i] = sqlite3_column_double(q, 3);
			}
	}
	if (s_rc != SQLITE_DONE)
		rc = manifest_db_error(m, "cannot count the splits");
out:
	sqlite3_finalize(q);
	for (size_t i = 0; i < n; i++)
		free(u[i].lang);
	free(u);
	rc = tx_end(m, nested, rc);
	if (!rc && stout)
		*stout = st;
	return rc;
}
