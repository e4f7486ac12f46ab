/*
 * test_transcribe.c — the transcribe core without a model: the manifest's
 * utterances it reads (status, split, language and limit filters, id
 * order, absolute audio paths, references) and the output formats of a
 * transcript.
 */
#include "base/err.h"
#include "base/fsutil.h"
#include "check.h"
#include "decode/transcribe.h"

static void test_utts(void)
{
	char db[1024], corpus[1024], want[2048];
	snprintf(db, sizeof db, "%s/data.db", TEST_TMP);
	snprintf(corpus, sizeof corpus, "%s/corpus", TEST_TMP);
	CHECK_OK(fs_mkdir_p(corpus));
	manifest *m = NULL;
	CHECK_OK(manifest_open(&m, db, 1));
	if (!m)
		return;
	int64_t cid, rid, uid;
	CHECK_OK(manifest_corpus_upsert(m, corpus, "folder", &cid));
	mf_recording rec = { .corpus_id = cid, .path = "a/rec.wav", .sha256 = "00", .size_bytes = 1, .sample_rate = 16000,
			     .channels = 1, .duration_s = 10 };
	CHECK_OK(manifest_recording_insert(m, &rec, &rid));
	/* u0 eng ok, u1 amh ok, u2 eng rejected, u3 no language ok, u4 eng ok (no text) */
	const char *langs[] = { "eng", "amh", "eng", NULL, "eng" }, *status[] = { "ok", "ok", "bad", "ok", "ok" };
	const char *texts[] = { "one", "two", "three", "four", NULL };
	for (int i = 0; i < 5; i++) {
		char key[16];
		snprintf(key, sizeof key, "u%d", i);
		mf_utterance u = { .utt_key = key, .corpus_id = cid, .recording_id = rid, .channel = -1, .start_s = i,
				   .end_s = i + 0.5, .text_raw = texts[i], .text_norm = texts[i], .lang = langs[i],
				   .status = status[i] };
		CHECK_OK(manifest_utterance_insert(m, &u, &uid));
	}
	CHECK_OK(manifest_exec(m, "UPDATE utterances SET split = 'test' WHERE utt_key IN ('u0', 'u3')"));
	transcribe_utt *u = NULL;
	int64_t n = 0;
	/* every usable utterance, in id order */
	CHECK_OK(transcribe_utts(m, NULL, NULL, 0, &u, &n));
	CHECK_EQ_INT(n, 4);
	if (n == 4) {
		CHECK_STR(u[0].key, "u0");
		CHECK_STR(u[1].key, "u1");
		CHECK_STR(u[2].key, "u3");
		CHECK_STR(u[3].key, "u4");
		CHECK_STR(u[0].rec, "a/rec.wav");
		snprintf(want, sizeof want, "%s/a/rec.wav", corpus);
		CHECK_STR(u[0].path, want);
		CHECK_STR(u[0].ref, "one");
		CHECK(u[3].ref == NULL);
		CHECK_NEAR(u[2].start, 3.0, 0);
		CHECK_NEAR(u[2].end, 3.5, 0);
	}
	transcribe_utts_free(u, n);
	/* a language: its utterances and those without one */
	CHECK_OK(transcribe_utts(m, NULL, "eng", 0, &u, &n));
	CHECK_EQ_INT(n, 3);
	if (n == 3)
		CHECK_STR(u[1].key, "u3");
	transcribe_utts_free(u, n);
	/* a split and a limit */
	CHECK_OK(transcribe_utts(m, "test", NULL, 0, &u, &n));
	CHECK_EQ_INT(n, 2);
	transcribe_utts_free(u, n);
	CHECK_OK(transcribe_utts(m, NULL, NULL, 2, &u, &n));
	CHECK_EQ_INT(n, 2);
	transcribe_utts_free(u, n);
	/* nothing matches: no rows, no error (the caller says why) */
	CHECK_OK(transcribe_utts(m, "dev", NULL, 0, &u, &n));
	CHECK_EQ_INT(n, 0);
	CHECK(u == NULL);
	manifest_close(m);
}

/* Read back what transcript_write wrote to a temporary file. */
static char *written(const char *fmt, const ax_utt *u)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ax_cue_opts cue;
	align_export_cue_opts_default(&cue);
	CHECK_OK(transcript_write(f, fmt, u, &cue));
	fclose(f);
	return buf;
}

static void test_write(void)
{
	ax_item words[2] = { { .text = "hello", .start = 0.10, .end = 0.40, .score = 0.9 },
			     { .text = "world", .start = 0.50, .end = 0.90, .score = 0.8 } };
	ax_utt u = { .key = "clip.wav", .rec = "clip.wav", .text = "hello world", .offset = 0, .duration = 1.0,
		     .words = words, .nwords = 2 };
	char *s = written("json", &u);
	CHECKF(s && strstr(s, "\"hello\"") && strstr(s, "\"world\"") && s[strlen(s) - 1] == '\n', "json: %s", s);
	free(s);
	s = written("ctm", &u);
	CHECKF(s && strstr(s, "hello") && strstr(s, " 1 "), "ctm: %s", s);
	free(s);
	s = written("vtt", &u);
	CHECKF(s && !strncmp(s, "WEBVTT", 6) && strstr(s, "hello world"), "vtt: %s", s);
	free(s);
	s = written("srt", &u);
	CHECKF(s && s[0] == '1' && strstr(s, "00:00:00,100 --> ") && strstr(s, "hello world"), "srt: %s", s);
	free(s);
}

int main(void)
{
	RUN(test_utts);
	RUN(test_write);
	return check_summary();
}
