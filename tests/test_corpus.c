/* test_corpus.c — layout detection and readers (lib/corpus*.c) on small
 * corpora written into TEST_TMP: each test builds the files it reads, so the
 * expected items are known by construction. */
#include "check.h"
#include "tmpdir.h"
#include "prep/corpus.h"
#include "base/err.h"
#include "base/fsutil.h"
#include <sndfile.h>
#include <stdarg.h>
#include <sys/stat.h>

static void put(const char *root, const char *rel, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(const char *root, const char *rel, const char *fmt, ...)
{
	char p[2048];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	char *sl = strrchr(p, '/');
	*sl = 0;
	fs_mkdir_p(p);
	*sl = '/';
	FILE *f = fopen(p, "wb");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

/* A short speech-like WAV/FLAC (never decoded here; just has to exist). */
static void audio(const char *root, const char *rel, int format, int rate, double sec)
{
	char p[2048];
	snprintf(p, sizeof p, "%s/%s", root, rel);
	char *sl = strrchr(p, '/');
	*sl = 0;
	fs_mkdir_p(p);
	*sl = '/';
	SF_INFO si = { .samplerate = rate, .channels = 1, .format = format };
	SNDFILE *sf = sf_open(p, SFM_WRITE, &si);
	int64_t n = (int64_t)(sec * rate);
	float *x = malloc(sizeof(float) * n);
	for (int64_t i = 0; i < n; i++)
		x[i] = 0.3f * sinf(2 * (float)M_PI * 220 * i / rate);
	sf_writef_float(sf, x, n);
	sf_close(sf);
	free(x);
}

typedef struct got {
	corpus_item it[64];
	int n;
} got;

static void read_all(const char *root, const char *layout, got *g)
{
	corpus *c;
	g->n = 0;
	CHECK_OK(corpus_open(&c, root, layout));
	if (!c)
		return;
	int r;
	while (g->n < 64 && (r = corpus_next(c, &g->it[g->n])) == 1)
		g->n++;
	CHECK(g->n < 64);
	corpus_close(c);
}

static void free_all(got *g)
{
	for (int i = 0; i < g->n; i++)
		corpus_item_clear(&g->it[i]);
}

static const char *detect(const char *root)
{
	const char *name = NULL;
	if (corpus_detect(root, &name) != 0)
		return "(none)";
	return name;
}

/* root is detected as layout and read into *g: true when it has n items */
static int read_as(const char *root, const char *layout, got *g, int n)
{
	CHECK_STR(detect(root), layout);
	read_all(root, NULL, g);
	CHECK_EQ_INT(g->n, n);
	return g->n == n;
}

static void test_commonvoice(void)
{
	const char *r = tmp_subdir("cv");
	const char *hdr = "client_id\tpath\tsentence_id\tsentence\tsentence_domain\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment\n";
	put(r, "train.tsv", "%s"
	    "c1\tcommon_voice_en_1.mp3\ts1\tHe said \"hello\t\t2\t0\ttwenties\tmale_masculine\tScottish English\t\ten\t\n"
	    "c2\tcommon_voice_en_2.mp3\ts2\tAn \"unbalanced quote on a line\t\t2\t0\t\t\t\t\ten\t\n"
	    "c3\n", hdr);
	put(r, "dev.tsv", "%s" "c1\tcommon_voice_en_3.mp3\ts3\tThird one.\t\t2\t0\ttwenties\tmale_masculine\t\t\ten\t\n", hdr);
	put(r, "invalidated.tsv", "%s" "c9\tcommon_voice_en_9.mp3\ts9\tbad\t\t0\t3\t\t\t\t\ten\t\n", hdr);
	put(r, "clips/common_voice_en_1.mp3", "x");
	got g;
	if (read_as(r, "commonvoice", &g, 4)) {    /* dev: 1; train: 2 rows + 1 bad row; invalidated ignored */
		/* files in name order: dev.tsv then train.tsv */
		CHECK_STR(g.it[0].audio, "clips/common_voice_en_3.mp3");
		CHECK_STR(g.it[0].source, "dev.tsv:2");
		CHECK_STR(g.it[1].utt[0].text, "He said \"hello");
		CHECK_STR(g.it[1].utt[0].key, "common_voice_en_1");
		CHECK_STR(g.it[1].utt[0].speaker, "c1");
		CHECK_STR(g.it[1].utt[0].gender, "male_masculine");
		CHECK_STR(g.it[1].utt[0].age, "twenties");
		CHECK_STR(g.it[1].utt[0].accent, "Scottish English");
		CHECK_STR(g.it[1].utt[0].lang, "en");
		/* the unbalanced quote does not swallow the next line */
		CHECK_STR(g.it[2].utt[0].text, "An \"unbalanced quote on a line");
		CHECK(g.it[2].utt[0].gender == NULL);
		CHECK_STR(g.it[3].reject_reason, "bad_row");
		CHECK_STR(g.it[3].source, "train.tsv:4");
	}
	free_all(&g);
	/* validated.tsv present: read alone (it contains train/dev/test) */
	put(r, "validated.tsv", "%s" "c1\tcommon_voice_en_1.mp3\ts1\tOnly this.\t\t2\t0\t\t\t\t\ten\t\n", hdr);
	read_all(r, "commonvoice", &g);
	CHECK_EQ_INT(g.n, 1);
	free_all(&g);
}

static void test_librispeech(void)
{
	const char *r = tmp_subdir("ls/dev-clean");
	put(r, "../SPEAKERS.TXT", "; comment line\n;ID  |SEX| SUBSET |MINUTES| NAME\n84   | F | dev-clean | 8.02 | Christie Nowak\n");
	put(r, "84/121123/84-121123.trans.txt", "84-121123-0000 GO DO YOU HEAR\n84-121123-0001 BUT IN LESS THAN FIVE MINUTES\n");
	audio(r, "84/121123/84-121123-0000.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 0.6);
	audio(r, "84/121123/84-121123-0001.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 0.6);
	audio(r, "84/121123/84-121123-0009.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 0.6);  /* not listed */
	put(r, "174/50561/174-50561.trans.txt", "174-50561-0000 FORGOTTEN TOO THE NAME OF GILLIAN\n");
	audio(r, "174/50561/174-50561-0000.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 0.6);
	got g;
	if (read_as(r, "librispeech", &g, 4)) {
		CHECK_STR(g.it[0].audio, "174/50561/174-50561-0000.flac");
		CHECK_STR(g.it[0].utt[0].speaker, "174");
		CHECK(g.it[0].utt[0].gender == NULL);
		CHECK_STR(g.it[1].utt[0].key, "84-121123-0000");
		CHECK_STR(g.it[1].utt[0].text, "GO DO YOU HEAR");
		CHECK_STR(g.it[1].utt[0].gender, "F");
		CHECK_STR(g.it[1].utt[0].source, "84/121123/84-121123.trans.txt:1");
		CHECK_STR(g.it[3].reject_reason, "no_transcript");
		CHECK_STR(g.it[3].source, "84/121123/84-121123-0009.flac");
	}
	free_all(&g);
}

static void test_kaldi(void)
{
	const char *r = tmp_subdir("kaldi/data/train");
	char marker[1100];
	snprintf(marker, sizeof marker, "%s/PWNED", TEST_TMP);
	put(r, "wav.scp", "rec1 wav/rec1.wav\nrec2 sox wav/rec1.wav -t wav - | \nrec3 /data/feats.ark:1234\nrec4 ../../audio/rec4.flac\nrec5 touch %s |\n", marker);
	put(r, "segments", "u1 rec1 0.00 1.20\nu2 rec1 1.50 2.75\nu3 rec4 0 0.5\nu4 recX 0 1\n");
	put(r, "text", "u1 hello there\nu2 general kenobi\nu3 fourth\nu9 orphan transcript\n");
	put(r, "utt2spk", "u1 spkA\nu2 spkB\nu3 spkA\n");
	put(r, "spk2gender", "spkA f\nspkB m\n");
	put(r, "utt2lang", "u1 eng\nu2 eng\nu3 amh\n");
	audio(r, "wav/rec1.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 3);
	char up[1200];
	snprintf(up, sizeof up, "%s/kaldi", TEST_TMP);
	audio(up, "audio/rec4.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 1);
	got g;
	if (read_as(r, "kaldi", &g, 7)) {   /* rec1..rec5, segment u4 on unknown recX, text u9 without audio */
		CHECK_STR(g.it[0].audio, "wav/rec1.wav");
		CHECK_EQ_INT(g.it[0].nutt, 2);
		CHECK_STR(g.it[0].utt[0].key, "u1");
		CHECK_NEAR(g.it[0].utt[1].start_s, 1.5, 1e-12);
		CHECK_NEAR(g.it[0].utt[1].end_s, 2.75, 1e-12);
		CHECK_STR(g.it[0].utt[1].text, "general kenobi");
		CHECK_STR(g.it[0].utt[1].speaker, "spkB");
		CHECK_STR(g.it[0].utt[1].gender, "m");
		CHECK_STR(g.it[0].utt[0].lang, "eng");
		CHECK_STR(g.it[1].reject_reason, "piped_command");
		CHECK(strstr(g.it[1].reject_msg, "never executes") != NULL);
		CHECK_STR(g.it[2].reject_reason, "unsupported_format");
		CHECK_STR(g.it[3].audio, "../../audio/rec4.flac");   /* resolved against the recipe root */
		CHECK_STR(g.it[3].utt[0].lang, "amh");
		CHECK_STR(g.it[4].reject_reason, "piped_command");
		CHECK_STR(g.it[5].reject_reason, "missing_file");
		CHECK(strstr(g.it[5].reject_msg, "recX") != NULL);
		CHECK_STR(g.it[6].reject_reason, "missing_file");
		CHECK(strstr(g.it[6].reject_msg, "u9") != NULL);
	}
	CHECKF(access(marker, F_OK) != 0, "a wav.scp command was executed");
	free_all(&g);
	/* without segments: one utterance per recording, keyed by the recording */
	const char *r2 = tmp_subdir("kaldi2");
	put(r2, "wav.scp", "a1 a1.wav\n");
	put(r2, "text", "a1 just one\n");
	audio(r2, "a1.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1);
	read_all(r2, NULL, &g);
	CHECK_EQ_INT(g.n, 1);
	if (g.n == 1) {
		CHECK_STR(g.it[0].utt[0].key, "a1");
		CHECK(g.it[0].utt[0].end_s < 0);
		CHECK(g.it[0].utt[0].speaker == NULL);
	}
	free_all(&g);
}

static void test_nemo(void)
{
	const char *r = tmp_subdir("nemo");
	put(r, "train_manifest.json",
	    "{\"audio_filepath\": \"audio/a.wav\", \"duration\": 1.5, \"text\": \"first one\", \"speaker\": 7, \"lang\": \"en\"}\n"
	    "{\"audio_filepath\": \"audio/long.wav\", \"offset\": 0.5, \"duration\": 1.0, \"text\": \"part one\"}\n"
	    "{\"audio_filepath\": \"audio/long.wav\", \"offset\": 2.0, \"duration\": 1.5, \"text\": \"part two\"}\n"
	    "{\"audio_filepath\": \"audio/long.wav\", \"offset\": 4.0, \"duration\": 1.0, \"text\": \"part three\"}\n"
	    "{not json at all\n"
	    "\n"
	    "{\"audio_filename\": \"audio/b.flac\", \"duration\": 2, \"text\": \"second\", \"speaker\": \"s2\"}\n");
	got g;
	if (read_as(r, "nemo", &g, 4)) {
		CHECK_STR(g.it[0].audio, "audio/a.wav");
		CHECK_NEAR(g.it[0].duration_declared, 1.5, 1e-12);
		CHECK_STR(g.it[0].utt[0].speaker, "7");
		CHECK_STR(g.it[0].utt[0].lang, "en");
		CHECK_STR(g.it[0].utt[0].key, "a");
		CHECK_EQ_INT(g.it[1].nutt, 3);    /* consecutive offsets of one file grouped */
		CHECK_NEAR(g.it[1].utt[1].start_s, 2.0, 1e-12);
		CHECK_NEAR(g.it[1].utt[1].end_s, 3.5, 1e-12);
		CHECK_STR(g.it[1].utt[1].key, "long_2.000");
		CHECK_STR(g.it[1].utt[2].text, "part three");
		CHECK_STR(g.it[2].reject_reason, "bad_row");
		CHECK_STR(g.it[2].source, "train_manifest.json:5");
		CHECK_STR(g.it[3].audio, "audio/b.flac");
		CHECK_STR(g.it[3].utt[0].speaker, "s2");
	}
	free_all(&g);
}

static void test_ljspeech(void)
{
	const char *r = tmp_subdir("LJSpeech-1.1");
	put(r, "metadata.csv", "LJ001-0001|Printing, in 1813|Printing, in eighteen thirteen\nLJ001-0002|in being \"comparatively modern.|\nLJ001-0003\n");
	audio(r, "wavs/LJ001-0001.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1);
	got g;
	if (read_as(r, "ljspeech", &g, 3)) {
		CHECK_STR(g.it[0].audio, "wavs/LJ001-0001.wav");
		CHECK_STR(g.it[0].utt[0].text, "Printing, in eighteen thirteen");
		CHECK_STR(g.it[0].utt[0].speaker, "LJSpeech-1.1");
		CHECK_STR(g.it[1].utt[0].text, "in being \"comparatively modern.");
		CHECK_STR(g.it[2].reject_reason, "bad_row");
	}
	free_all(&g);
}

static void test_folder_and_longform(void)
{
	const char *r = tmp_subdir("folder");
	audio(r, "alice/a1.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1);
	put(r, "alice/a1.txt", "hello world\n");
	audio(r, "alice/a2.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 44100, 1);   /* no transcript */
	audio(r, "top.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 1);
	put(r, "top.txt", "two\nlines\n");
	put(r, "bob/lonely.txt", "a transcript without audio\n");
	put(r, "README.md", "not data\n");
	got g;
	if (read_as(r, "folder", &g, 4)) {
		CHECK_STR(g.it[0].audio, "alice/a1.wav");
		CHECK_STR(g.it[0].utt[0].key, "alice/a1");
		CHECK_STR(g.it[0].utt[0].text, "hello world");
		CHECK_STR(g.it[0].utt[0].speaker, "alice");
		CHECK_STR(g.it[1].audio, "alice/a2.flac");
		CHECK(g.it[1].utt[0].text == NULL);
		CHECK_STR(g.it[2].reject_reason, "missing_file");
		CHECK_STR(g.it[2].source, "bob/lonely.txt");
		CHECK_STR(g.it[3].utt[0].text, "two lines");
		CHECK(g.it[3].utt[0].speaker == NULL);
	}
	free_all(&g);

	const char *l = tmp_subdir("long");
	audio(l, "talks/t1.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2);
	put(l, "talks/t1.txt", "first sentence\n\nsecond sentence\nthird\n");
	audio(l, "talks/t2.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 16000, 2);
	put(l, "talks/t2.txt", "one\ntwo\n");
	audio(l, "talks/t3.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 16000, 2);
	if (read_as(l, "longform", &g, 3)) {
		CHECK(g.it[0].long_form);
		CHECK_EQ_INT(g.it[0].nlines, 3);
		CHECK_STR(g.it[0].lines[2], "third");
		CHECK_STR(g.it[0].long_speaker, "talks");
		CHECK_EQ_INT(g.it[1].nlines, 2);
		CHECK_STR(g.it[2].reject_reason, "no_transcript");
	}
	free_all(&g);
}

/* Windows-edited metadata: UTF-8 BOM, CRLF line ends; a NUL byte in a line
 * becomes a bad_row, not a truncated field. */
static void test_bom_crlf_nul(void)
{
	const char *r = tmp_subdir("cvwin");
	char p[1100];
	put(r, "train.tsv", "\xEF\xBB\xBF" "client_id\tpath\tsentence\tlocale\r\nc1\ta.mp3\tHello there\tcy\r\n");
	snprintf(p, sizeof p, "%s/train.tsv", r);
	FILE *f = fopen(p, "ab");
	fwrite("c2\tb.mp3\tbad\0byte\tcy\n", 1, 21, f);
	fclose(f);
	got g;
	if (read_as(r, "commonvoice", &g, 2)) {
		CHECK_STR(g.it[0].utt[0].text, "Hello there");
		CHECK_STR(g.it[0].utt[0].lang, "cy");
		CHECK_STR(g.it[1].reject_reason, "bad_row");
		CHECK(strstr(g.it[1].reject_msg, "NUL") != NULL);
	}
	free_all(&g);
}

static void test_detect_errors(void)
{
	const char *name;
	const char *e = tmp_subdir("empty");
	CHECK(corpus_detect(e, &name) == ACC_ENOTFOUND);
	CHECK(err_hint_msg() != NULL);
	char p[1100];
	snprintf(p, sizeof p, "%s/nope", TEST_TMP);
	CHECK(corpus_detect(p, &name) == ACC_ENOTFOUND);
	corpus *c;
	CHECK(corpus_open(&c, e, "bogus") == ACC_EINVAL);
	CHECK(corpus_open(&c, e, "ljspeech") == ACC_ENOTFOUND);
}

int main(void)
{
	RUN(test_commonvoice);
	RUN(test_librispeech);
	RUN(test_kaldi);
	RUN(test_nemo);
	RUN(test_ljspeech);
	RUN(test_folder_and_longform);
	RUN(test_bom_crlf_nul);
	RUN(test_detect_errors);
	return check_summary();
}
