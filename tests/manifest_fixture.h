/*
 * manifest_fixture.h — builds a small synthetic manifest through the
 * manifest API (no prep, no audio decoding) for the tests of the manifest,
 * balance, export and db tools.  Each recording is a real file of random
 * bytes under the corpus root, so `db check` can stat and hash it.
 *
 * Layout: speakers "spkNNN" (every third one Amharic 'amh', the others
 * English 'eng'; gender alternating; accents 'north'/'south'/unknown when
 * asked), 1..12 utterances each with varied durations, one recording per
 * utterance; a quarter of the texts from a small pool so identical sentences
 * occur across speakers; the 6th utterance of a speaker is 'needs_align' with no text;
 * optionally one long recording with 4 speakerless pieces.
 */
#pragma once
#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "manifest/manifest.h"
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct fixture_opts {
	int n_speakers;
	int accents;        /* give speakers accents */
	int reverse;        /* insert speakers in reverse order (ids differ, labels do not) */
	int long_recording; /* add 4 speakerless pieces of one long recording */
	int64_t corpus_id;  /* out */
} fixture_opts;

static const char *const fixture_texts[] = {
	"the cat sat on the mat", "a quick brown fox", "he said \"hi\", then left",
	"ሰላም ነው", "good morning to you", "it is raining again", "one two three",
	"where is the station", "እንደምን አደርክ", "bring me the red book", "the sun is hot",
	"we will meet tomorrow", "close the door, please", "music plays loud", "the end",
};

static uint32_t fixture_rand(uint32_t *s)
{
	*s = *s * 1664525u + 1013904223u;
	return *s >> 8;
}

/* Write n pseudo-random bytes to path (the fake audio file). */
static int fixture_file(const char *path, size_t n, uint32_t seed)
{
	FILE *fp = fopen(path, "wb");
	if (!fp)
		return -1;
	for (size_t i = 0; i < n; i++)
		fputc((int)(fixture_rand(&seed) & 0xff), fp);
	return fclose(fp);
}

static int fixture_recording(manifest *m, int64_t corpus, const char *root, const char *rel, double dur,
			     uint32_t seed, int64_t *rec)
{
	char path[4096], hex[65];
	struct stat sb;
	mf_recording r = { 0 };
	if (fs_join(path, sizeof path, root, rel))
		return -1;
	{
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash) {
			*slash = 0;
			fs_mkdir_p(dir);
		}
	}
	if (fixture_file(path, 200 + seed % 300, seed) || fs_sha256_file(path, hex) || stat(path, &sb))
		return -1;
	r.corpus_id = corpus;
	r.path = rel;
	r.sha256 = hex;
	r.size_bytes = sb.st_size;
	r.mtime = (double)sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec * 1e-9;
	r.container = "WAV";
	r.codec = "PCM_16";
	r.sample_rate = seed % 2 ? 44100 : 16000;
	r.channels = seed % 3 ? 1 : 2;
	r.duration_declared = dur;
	r.duration_s = dur;
	r.peak = 0.5;
	r.rms = 0.1;
	r.clip_ratio = 0;
	r.silence_ratio = 0.2;
	return manifest_recording_insert(m, &r, rec);
}

/* Build the fixture corpus under root (created) into m. */
static int fixture_build(manifest *m, const char *root, fixture_opts *o)
{
	int64_t corpus, run;
	char *argv[] = { "test", "fixture" };
	int rc;
	fs_mkdir_p(root);
	if ((rc = manifest_begin(m)) || (rc = manifest_run_begin(m, "test fixture", 2, argv, &run)) ||
	    (rc = manifest_corpus_upsert(m, root, "folder", &corpus)))
		return rc;
	o->corpus_id = corpus;
	for (int k = 0; k < o->n_speakers; k++) {
		int i = o->reverse ? o->n_speakers - 1 - k : k;
		char label[32];
		int64_t spk;
		uint32_t s = 12345u + (uint32_t)i * 7919u;
		snprintf(label, sizeof label, "spk%03d", i);
		mf_speaker sp = { .corpus_id = corpus, .label = label, .gender = i % 2 ? "female" : "male",
				  .lang = i % 3 == 2 ? "amh" : "eng",
				  .accent = o->accents ? (i % 4 == 0 ? NULL : i % 4 == 1 ? "north" : "south") : NULL };
		if ((rc = manifest_speaker_upsert(m, &sp, &spk)))
			return rc;
		int n_utt = 1 + (int)(fixture_rand(&s) % 12);
		for (int j = 0; j < n_utt; j++) {
			char rel[256], key[64];
			int64_t rec, utt;
			double d = 1.0 + (double)((i * 7 + j * 3) % 17) * 0.5 + (double)(fixture_rand(&s) % 100) / 100.0;
			snprintf(rel, sizeof rel, "%s/utt%02d.wav", label, j);
			snprintf(key, sizeof key, "%s-%02d", label, j);
			if ((rc = fixture_recording(m, corpus, root, rel, d, s + (uint32_t)j, &rec)))
				return rc ? rc : -1;
			/* a quarter of the sentences are shared across speakers */
			char own[64];
			snprintf(own, sizeof own, "speaker %d says line %d", i, j);
			const char *text = (i * 5 + j) % 4 == 0 ? fixture_texts[(i * 5 + j) % 15] : own;
			mf_utterance u = { .utt_key = key, .corpus_id = corpus, .recording_id = rec, .speaker_id = spk,
					   .channel = -1, .start_s = 0, .end_s = d, .text_raw = j == 5 ? NULL : text,
					   .text_norm = j == 5 ? NULL : text, .norm_profile = "default", .norm_version = 1,
					   .lang = sp.lang, .status = j == 5 ? "needs_align" : "ok", .source = rel };
			if ((rc = manifest_utterance_insert(m, &u, &utt)))
				return rc;
		}
	}
	if (o->long_recording) {
		int64_t rec, utt;
		static const double cuts[] = { 0, 2, 5, 6.5, 9 };
		if ((rc = fixture_recording(m, corpus, root, "long/rec0.wav", 9.2, 777, &rec)))
			return rc ? rc : -1;
		for (int j = 0; j < 4; j++) {
			char key[32];
			snprintf(key, sizeof key, "long-%d", j);
			mf_utterance u = { .utt_key = key, .corpus_id = corpus, .recording_id = rec, .channel = -1,
					   .start_s = cuts[j], .end_s = cuts[j + 1], .text_raw = fixture_texts[j + 9],
					   .text_norm = fixture_texts[j + 9], .lang = "eng", .status = "ok", .source = "long/rec0.txt" };
			if ((rc = manifest_utterance_insert(m, &u, &utt)))
				return rc;
		}
	}
	if ((rc = manifest_reject(m, run, corpus, "bad/x.wav", "decode_error", "cannot decode")) ||
	    (rc = manifest_reject(m, run, corpus, "bad/y.wav", "decode_error", "cannot decode")) ||
	    (rc = manifest_reject(m, run, corpus, "meta.tsv:3", "empty_text", "empty after normalization")) ||
	    (rc = manifest_run_end(m, run, 0, "{\"fixture\":1}")))
		return rc;
	return manifest_commit(m);
}

/* sql (bound nothing) prepared and stepped: the statement when its first
 * row has a non-NULL first column (finalize it), else NULL. */
__attribute__((unused)) static sqlite3_stmt *fixture_first(manifest *m, const char *sql)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(m->db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "  SQL error: %s in %s\n", sqlite3_errmsg(m->db), sql);
		return NULL;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		return st;
	sqlite3_finalize(st);
	return NULL;
}

/* One integer from SQL (bound nothing); -999999 on error. */
__attribute__((unused)) static long long fixture_int(manifest *m, const char *sql)
{
	sqlite3_stmt *st = fixture_first(m, sql);
	long long v = st ? sqlite3_column_int64(st, 0) : -999999;
	sqlite3_finalize(st);
	return v;
}

/* NULL stays NaN so that a broken query can never pass a CHECK_NEAR */
__attribute__((unused)) static double fixture_real(manifest *m, const char *sql)
{
	sqlite3_stmt *st = fixture_first(m, sql);
	double v = st ? sqlite3_column_double(st, 0) : NAN;
	sqlite3_finalize(st);
	return v;
}

/* A fresh manifest with the fixture in TEST_TMP/<name>.db, corpus in TEST_TMP/<name>/. */
__attribute__((unused)) static manifest *fixture_open(const char *name, fixture_opts *o)
{
	char db[1024], root[1024];
	manifest *m = NULL;
	snprintf(db, sizeof db, "%s/%s.db", TEST_TMP, name);
	snprintf(root, sizeof root, "%s/%s", TEST_TMP, name);
	if (manifest_open(&m, db, 1)) {
		fprintf(stderr, "  fixture: %s\n", err_msg());
		return NULL;
	}
	if (fixture_build(m, root, o)) {
		fprintf(stderr, "  fixture: %s\n", err_msg());
		manifest_close(m);
		return NULL;
	}
	return m;
}
