/*
 * test_export.c — NeMo, Kaldi, Lhotse and HF CSV exports, each parsed back
 * and compared with the manifest: one line per utterance of the split,
 * absolute existing audio paths, spans and texts, Kaldi sort order and
 * utt2spk/spk2utt consistency, Lhotse recording/supervision references;
 * and the all-or-nothing replacement of the files.
 */
#include "manifest/balance.h"
#include "check.h"
#include "base/err.h"
#include "manifest/export.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include "manifest_fixture.h"
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static manifest *M;
static const char *const SPLITS[] = { "train", "dev", "test" };

/* Lines of a file (modified in place: '\n' -> NUL); returns count. */
static int read_lines(const char *path, char **buf, char ***lines)
{
	size_t len;
	int n = 0, cap = 0;
	*lines = NULL;
	if (fs_read_all(path, buf, &len, 0))
		return -1;
	for (char *p = *buf; *p;) {
		char *nl = strchr(p, '\n');
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			*lines = realloc(*lines, (size_t)cap * sizeof **lines);
		}
		(*lines)[n++] = p;
		if (!nl)
			break;
		*nl = 0;
		p = nl + 1;
	}
	return n;
}

static long long split_count(const char *split)
{
	char q[256];
	snprintf(q, sizeof q, "SELECT count(*) FROM utterances WHERE status = 'ok' AND split = '%s'", split);
	return fixture_int(M, q);
}

static double split_seconds(const char *split)
{
	char q[256];
	snprintf(q, sizeof q, "SELECT sum(end_s - start_s) FROM utterances WHERE status = 'ok' AND split = '%s'", split);
	return fixture_real(M, q);
}

/* text_norm and span of an utterance by key; 0 when found. */
static int utt_by_key(const char *key, char *text, size_t cap, double *start, double *end)
{
	sqlite3_stmt *st;
	int rc = -1;
	sqlite3_prepare_v2(M->db, "SELECT text_norm, start_s, end_s FROM utterances WHERE utt_key = ?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(text, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		*start = sqlite3_column_double(st, 1);
		*end = sqlite3_column_double(st, 2);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

/* default options for format, writing to TEST_TMP/name (its path in dir, 1024 bytes) */
static export_opts opts_in(char *dir, const char *name, export_format format)
{
	export_opts o = EXPORT_OPTS_DEFAULT;
	snprintf(dir, 1024, "%s/%s", TEST_TMP, name);
	o.format = format;
	o.out_dir = dir;
	return o;
}

static void test_nemo(void)
{
	char dir[1024], path[1200];
	export_stats st;
	export_opts o = opts_in(dir, "out_nemo", EXPORT_NEMO);
	CHECK_OK(export_write(M, &o, &st));
	CHECK_EQ_INT(st.files, 3);
	CHECK_EQ_INT(st.utterances, fixture_int(M, "SELECT count(*) FROM utterances WHERE status = 'ok' AND split <> 'excluded'"));
	for (int s = 0; s < 3; s++) {
		char *buf = NULL, **lines = NULL;
		double total = 0;
		int checked = 0;
		snprintf(path, sizeof path, "%s/%s_manifest.json", dir, SPLITS[s]);
		int n = read_lines(path, &buf, &lines);
		CHECK_EQ_INT(n, split_count(SPLITS[s]));
		for (int i = 0; i < n; i++) {
			json_error_t je;
			json_t *j = json_loads(lines[i], 0, &je);
			CHECKF(j != NULL, "%s:%d: %s", path, i + 1, je.text);
			if (!j)
				continue;
			const char *audio = json_string_value(json_object_get(j, "audio_filepath"));
			const char *id = json_string_value(json_object_get(j, "utt_id"));
			const char *text = json_string_value(json_object_get(j, "text"));
			double off = json_number_value(json_object_get(j, "offset"));
			double dur = json_number_value(json_object_get(j, "duration"));
			CHECK(audio && audio[0] == '/' && fs_exists(audio));
			CHECK(text && id);
			total += dur;
			char want[256];
			double a, b;
			if (id && text && !utt_by_key(id, want, sizeof want, &a, &b)) {
				CHECK_STR(text, want);
				CHECK_NEAR(off, a, 1e-6);
				CHECK_NEAR(dur, b - a, 1e-6);
				checked++;
			}
			json_decref(j);
		}
		CHECK(checked > 0);
		CHECK_NEAR(total, split_seconds(SPLITS[s]), 1e-4);
		free(buf);
		free(lines);
	}
	/* the speakerless long recording exported with its offsets */
	snprintf(path, sizeof path, "%s/%s_manifest.json", dir, "train");
	/* filters */
	o.split = "dev";
	o.lang = "amh";
	snprintf(dir, sizeof dir, "%s/out_nemo_dev_amh", TEST_TMP);
	CHECK_OK(export_write(M, &o, &st));
	CHECK_EQ_INT(st.files, 1);
	CHECK_EQ_INT(st.utterances, fixture_int(M, "SELECT count(*) FROM utterances WHERE status = 'ok' AND split = 'dev' AND lang = 'amh'"));
	o.lang = "xxx";
	CHECK_EQ_INT(export_write(M, &o, &st), ACC_ENOTFOUND);
}

/* first whitespace-separated field of a line into buf */
static void field1(const char *line, char *buf, size_t cap)
{
	size_t n = strcspn(line, " ");
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, line, n);
	buf[n] = 0;
}

static void test_kaldi(void)
{
	char dir[1024], path[1200];
	export_stats st;
	export_opts o = opts_in(dir, "out_kaldi", EXPORT_KALDI);
	CHECK_OK(export_write(M, &o, &st));
	/* spk2gender only where every speaker has one: not in the split of the
	 * speakerless long recording */
	long long with_gender = fixture_int(M, "SELECT count(*) FROM (SELECT u.split FROM utterances u LEFT JOIN speakers s "
					    "ON s.id = u.speaker_id WHERE u.status = 'ok' AND u.split <> 'excluded' GROUP BY u.split "
					    "HAVING count(s.gender) = count(*))");
	CHECK_EQ_INT(st.files, 21 + with_gender);
	int s2g_files = 0;
	for (int s = 0; s < 3; s++) {
		char *b = NULL, **l = NULL;
		snprintf(path, sizeof path, "%s/%s/spk2gender", dir, SPLITS[s]);
		int n = read_lines(path, &b, &l);
		if (n < 0)
			continue;
		s2g_files++;
		char q[256];
		snprintf(q, sizeof q, "SELECT count(DISTINCT speaker_id) FROM utterances WHERE status = 'ok' AND split = '%s'", SPLITS[s]);
		CHECK_EQ_INT(n, fixture_int(M, q));
		for (int i = 0; i < n; i++) {
			char spk[256], g = 0;
			CHECK(sscanf(l[i], "%255s %c", spk, &g) == 2);
			sqlite3_stmt *q2;
			sqlite3_prepare_v2(M->db, "SELECT substr(gender, 1, 1) FROM speakers WHERE label = ?1", -1, &q2, NULL);
			sqlite3_bind_text(q2, 1, spk, -1, SQLITE_STATIC);
			CHECK(sqlite3_step(q2) == SQLITE_ROW && sqlite3_column_text(q2, 0) && sqlite3_column_text(q2, 0)[0] == (unsigned char)g);
			sqlite3_finalize(q2);
		}
		free(b);
		free(l);
	}
	CHECK_EQ_INT(s2g_files, with_gender);
	for (int s = 0; s < 3; s++) {
		static const char *files[] = { "wav.scp", "segments", "text", "utt2spk", "spk2utt", "utt2dur", "reco2dur" };
		char *buf[7] = { 0 }, **lines[7] = { 0 };
		int n[7];
		for (int f = 0; f < 7; f++) {
			snprintf(path, sizeof path, "%s/%s/%s", dir, SPLITS[s], files[f]);
			n[f] = read_lines(path, &buf[f], &lines[f]);
			CHECKF(n[f] >= 0, "missing %s", path);
			/* sorted by the first field in C byte order, no duplicates */
			for (int i = 1; i < n[f]; i++) {
				char a[512], b[512];
				field1(lines[f][i - 1], a, sizeof a);
				field1(lines[f][i], b, sizeof b);
				CHECKF(strcmp(a, b) < 0, "%s not sorted at line %d: %s >= %s", path, i + 1, a, b);
			}
		}
		long long want = split_count(SPLITS[s]);
		CHECK_EQ_INT(n[1], want);
		CHECK_EQ_INT(n[2], want);
		CHECK_EQ_INT(n[3], want);
		CHECK_EQ_INT(n[5], want);
		CHECK_EQ_INT(n[0], n[6]);
		/* wav.scp: absolute existing paths */
		for (int i = 0; i < n[0]; i++) {
			const char *p = strchr(lines[0][i], ' ');
			CHECK(p && p[1] == '/' && fs_exists(p + 1));
		}
		/* segments point into wav.scp; utterance ids start with their speaker */
		int spk2utt_total = 0;
		for (int i = 0; i < n[1]; i++) {
			char utt[512], rec[512];
			double a, b;
			CHECK(sscanf(lines[1][i], "%511s %511s %lf %lf", utt, rec, &a, &b) == 4);
			CHECK(b > a);
			int found = 0;
			for (int k = 0; k < n[0] && !found; k++) {
				char r[512];
				field1(lines[0][k], r, sizeof r);
				found = !strcmp(r, rec);
			}
			CHECKF(found, "segment %s: recording %s not in wav.scp", utt, rec);
		}
		for (int i = 0; i < n[3]; i++) {
			char utt[512], spk[512];
			CHECK(sscanf(lines[3][i], "%511s %511s", utt, spk) == 2);
			CHECKF(!strncmp(utt, spk, strlen(spk)) && utt[strlen(spk)] == '-', "%s not prefixed by %s", utt, spk);
			/* spk2utt lists it on its speaker's line */
			int found = 0;
			for (int k = 0; k < n[4] && !found; k++) {
				char sp[512];
				field1(lines[4][k], sp, sizeof sp);
				if (strcmp(sp, spk))
					continue;
				char pat[600];
				snprintf(pat, sizeof pat, " %s", utt);
				const char *hit = strstr(lines[4][k], pat);
				found = hit && (hit[strlen(pat)] == ' ' || hit[strlen(pat)] == 0);
			}
			CHECKF(found, "%s missing from spk2utt", utt);
		}
		for (int k = 0; k < n[4]; k++)
			for (const char *p = lines[4][k]; (p = strchr(p, ' ')); p++)
				spk2utt_total++;
		CHECK_EQ_INT(spk2utt_total, want);
		for (int f = 0; f < 7; f++) {
			free(buf[f]);
			free(lines[f]);
		}
	}
	/* a sentence with a comma and quotes survives on one line */
	char *b = NULL, **l = NULL;
	int found = 0;
	for (int s = 0; s < 3; s++) {
		snprintf(path, sizeof path, "%s/%s/text", dir, SPLITS[s]);
		int n = read_lines(path, &b, &l);
		for (int i = 0; i < n; i++)
			found += strstr(l[i], " he said \"hi\", then left") != NULL;
		free(b);
		free(l);
	}
	CHECK_EQ_INT(found, fixture_int(M, "SELECT count(*) FROM utterances WHERE text_norm = 'he said \"hi\", then left' "
				     "AND status = 'ok' AND split <> 'excluded'"));
}

static void test_lhotse(void)
{
	char dir[1024], path[1200];
	export_stats st;
	export_opts o = opts_in(dir, "out_lhotse", EXPORT_LHOTSE);
	o.raw_text = 1;
	CHECK_OK(export_write(M, &o, &st));
	CHECK_EQ_INT(st.files, 6);
	int stereo_lists = 0;
	for (int s = 0; s < 3; s++) {
		char *rb = NULL, **rl = NULL, *sb = NULL, **sl = NULL;
		snprintf(path, sizeof path, "%s/recordings_%s.jsonl", dir, SPLITS[s]);
		int nr = read_lines(path, &rb, &rl);
		snprintf(path, sizeof path, "%s/supervisions_%s.jsonl", dir, SPLITS[s]);
		int ns = read_lines(path, &sb, &sl);
		CHECK_EQ_INT(ns, split_count(SPLITS[s]));
		char q[256];
		snprintf(q, sizeof q, "SELECT count(DISTINCT recording_id) FROM utterances WHERE status = 'ok' AND split = '%s'", SPLITS[s]);
		CHECK_EQ_INT(nr, fixture_int(M, q));
		json_t *recs = json_object();
		for (int i = 0; i < nr; i++) {
			json_t *r = json_loads(rl[i], 0, NULL);
			CHECK(r != NULL);
			if (!r)
				continue;
			double sr = json_number_value(json_object_get(r, "sampling_rate"));
			double dur = json_number_value(json_object_get(r, "duration"));
			json_int_t ns_ = json_integer_value(json_object_get(r, "num_samples"));
			CHECK(sr > 0);
			CHECK_EQ_INT(ns_, llround(dur * sr));
			json_t *src = json_array_get(json_object_get(r, "sources"), 0);
			const char *p = json_string_value(json_object_get(src, "source"));
			CHECK_STR(json_string_value(json_object_get(src, "type")), "file");
			CHECK(p && p[0] == '/' && fs_exists(p));
			CHECK_EQ_INT(json_array_size(json_object_get(src, "channels")), json_array_size(json_object_get(r, "channel_ids")));
			json_object_set(recs, json_string_value(json_object_get(r, "id")), r);
			json_decref(r);
		}
		for (int i = 0; i < ns; i++) {
			json_t *u = json_loads(sl[i], 0, NULL);
			CHECK(u != NULL);
			if (!u)
				continue;
			json_t *r = json_object_get(recs, json_string_value(json_object_get(u, "recording_id")));
			CHECKF(r != NULL, "supervision %s: unknown recording", json_string_value(json_object_get(u, "id")));
			double start = json_number_value(json_object_get(u, "start"));
			double dur = json_number_value(json_object_get(u, "duration"));
			if (r)
				CHECK(start >= 0 && start + dur <= json_number_value(json_object_get(r, "duration")) + 1e-6);
			json_t *ch = json_object_get(u, "channel");
			if (json_is_array(ch)) {
				CHECK_EQ_INT(json_array_size(ch), 2);
				stereo_lists++;
			} else {
				CHECK(json_is_integer(ch));
			}
			const char *key = json_string_value(json_object_get(json_object_get(u, "custom"), "utt_key"));
			const char *text = json_string_value(json_object_get(u, "text"));
			CHECK(key && text);
			if (key && text) {
				sqlite3_stmt *q2;
				sqlite3_prepare_v2(M->db, "SELECT text_raw FROM utterances WHERE utt_key = ?1", -1, &q2, NULL);
				sqlite3_bind_text(q2, 1, key, -1, SQLITE_STATIC);
				CHECK(sqlite3_step(q2) == SQLITE_ROW);
				CHECK_STR(text, (const char *)sqlite3_column_text(q2, 0));
				sqlite3_finalize(q2);
			}
			json_decref(u);
		}
		json_decref(recs);
		free(rb); free(rl); free(sb); free(sl);
	}
	CHECK(stereo_lists > 0);  /* the fixture has stereo recordings */
}

/* Minimal RFC 4180 reader: fields of one record; advances *p. */
static int csv_record(const char **p, char fields[][256], int max)
{
	int n = 0;
	const char *s = *p;
	if (!*s)
		return 0;
	for (;;) {
		char *d = fields[n];
		size_t k = 0;
		if (*s == '"') {
			s++;
			for (;;) {
				if (*s == '"' && s[1] == '"') {
					d[k++] = '"';
					s += 2;
				} else if (*s == '"') {
					s++;
					break;
				} else if (!*s) {
					break;
				} else {
					d[k++] = *s++;
				}
			}
		} else {
			while (*s && *s != ',' && *s != '\n')
				d[k++] = *s++;
		}
		d[k] = 0;
		n++;
		if (*s == ',' && n < max) {
			s++;
			continue;
		}
		if (*s == '\n')
			s++;
		break;
	}
	*p = s;
	return n;
}

static void test_hf_csv(void)
{
	char dir[1024], path[1200];
	export_stats st;
	static char f[16][256];
	export_opts o = opts_in(dir, "out_csv", EXPORT_HF_CSV);
	CHECK_OK(export_write(M, &o, &st));
	CHECK_EQ_INT(st.files, 3);
	int quoted = 0;
	for (int s = 0; s < 3; s++) {
		char *buf = NULL;
		size_t len;
		snprintf(path, sizeof path, "%s/%s.csv", dir, SPLITS[s]);
		CHECK_OK(fs_read_all(path, &buf, &len, 0));
		if (!buf)
			continue;
		const char *p = buf;
		CHECK_EQ_INT(csv_record(&p, f, 16), 12);
		CHECK_STR(f[0], "audio");
		CHECK_STR(f[5], "text");
		CHECK_STR(f[11], "weight");
		int rows = 0;
		while (*p) {
			int n = csv_record(&p, f, 16);
			CHECK_EQ_INT(n, 12);
			CHECK(f[0][0] == '/' && fs_exists(f[0]));
			CHECK_STR(f[10], SPLITS[s]);
			CHECK(f[11][0] != 0);  /* weights were computed */
			quoted += !strcmp(f[5], "he said \"hi\", then left");
			CHECK_NEAR(atof(f[3]) - atof(f[2]), atof(f[4]), 1e-5);
			rows++;
		}
		CHECK_EQ_INT(rows, split_count(SPLITS[s]));
		free(buf);
	}
	CHECK_EQ_INT(quoted, fixture_int(M, "SELECT count(*) FROM utterances WHERE text_norm = 'he said \"hi\", then left' "
				      "AND status = 'ok' AND split <> 'excluded'"));
}

static int count_tmp_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += strstr(e->d_name, ".tmp.") != NULL;
	closedir(d);
	return n;
}

static void test_atomic(void)
{
	char dir[1024], path[1200];
	export_stats st;
	export_opts o = opts_in(dir, "out_atomic", EXPORT_HF_CSV);
	/* dev.csv cannot be replaced (a directory is in the way): nothing is */
	snprintf(path, sizeof path, "%s/dev.csv/blocker", dir);
	CHECK_OK(fs_mkdir_p(path));
	CHECK(export_write(M, &o, &st) < 0);
	snprintf(path, sizeof path, "%s/train.csv", dir);
	CHECK(!fs_exists(path));
	snprintf(path, sizeof path, "%s/test.csv", dir);
	CHECK(!fs_exists(path));
	CHECK_EQ_INT(count_tmp_files(dir), 0);
	/* once it is out of the way the export succeeds, and a rerun replaces */
	snprintf(path, sizeof path, "rm -rf '%s/dev.csv'", dir);
	CHECK(system(path) == 0);
	CHECK_OK(export_write(M, &o, &st));
	CHECK_EQ_INT(count_tmp_files(dir), 0);
	CHECK_OK(manifest_exec(M, "UPDATE utterances SET status = 'held' WHERE split = 'test' AND id % 2 = 0"));
	CHECK_OK(export_write(M, &o, &st));
	char *buf = NULL, **lines = NULL;
	snprintf(path, sizeof path, "%s/test.csv", dir);
	int n = read_lines(path, &buf, &lines);
	CHECK_EQ_INT(n - 1, split_count("test"));
	free(buf);
	free(lines);
	CHECK_OK(manifest_exec(M, "UPDATE utterances SET status = 'ok' WHERE status = 'held'"));
	/* bad arguments */
	export_format f;
	CHECK_EQ_INT(export_parse_format("espnet", &f), ACC_EINVAL);
	CHECK_OK(export_parse_format("hf-csv", &f));
	CHECK_EQ_INT(f, EXPORT_HF_CSV);
	o.split = "excluded";
	CHECK_EQ_INT(export_write(M, &o, &st), ACC_EINVAL);
}

int main(void)
{
	fixture_opts fo = { .n_speakers = 24, .accents = 1, .long_recording = 1 };
	M = fixture_open("export", &fo);
	if (!M) {
		printf("not ok - fixture\n");
		return 1;
	}
	split_opts so = SPLIT_OPTS_DEFAULT;
	so.distinct_text = 1;
	balance_opts bo = BALANCE_OPTS_DEFAULT;
	if (balance_split(M, &so, NULL) || balance_weights(M, &bo, NULL)) {
		printf("not ok - split/weights: %s\n", err_msg());
		return 1;
	}
	RUN(test_nemo);
	RUN(test_kaldi);
	RUN(test_lhotse);
	RUN(test_hf_csv);
	RUN(test_atomic);
	manifest_close(M);
	return check_summary();
}
