/*
 * test_synth.c — the espeak-ng synthesizer (lib/synth/synth.c) and the synthetic
 * corpus writer (lib/synth/synthcorpus.c): word-timing units checked against the
 * signal's energy, order-independent determinism, every layout written and
 * checked file by file with libsndfile, bad items, formats, noise; the fork
 * server's processes and descriptors (reaped, closed, failures reported).
 */
#define _GNU_SOURCE
#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "synth/synth.h"
#include "synth/synthcorpus.h"
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <sndfile.h>
#include <sys/stat.h>

/* RMS in dBFS of x[a, b) (seconds). */
static double rms_db(const float *x, int64_t n, int rate, double a, double b)
{
	int64_t i0 = (int64_t)(a * rate), i1 = (int64_t)(b * rate);
	double e = 0;
	if (i0 < 0)
		i0 = 0;
	if (i1 > n)
		i1 = n;
	if (i1 <= i0)
		return -999;
	for (int64_t i = i0; i < i1; i++)
		e += (double)x[i] * x[i];
	e /= (double)(i1 - i0);
	return e > 0 ? 10 * log10(e) : -999;
}

static void test_timing_units(void)
{
	/* A 600 ms word gap (espeakWORDGAP is in 10 ms units) between two words:
	 * if event samples were misread (ms vs samples, wrong rate) the gap
	 * would not fall where the words say. */
	synth_voice v = { "en-us", "m3", 175, 50, 50, 60 };
	synth_audio a;
	CHECK_OK(synth_speak(&v, "one two", 0.2, 0.3, &a));
	CHECK_EQ_INT(a.sample_rate, SYNTH_RATE);
	CHECK_EQ_INT(a.n_words, 2);
	if (a.n_words == 2) {
		double dur = (double)a.n / a.sample_rate;
		CHECK_STR(a.words[0].text, "one");
		CHECK_STR(a.words[1].text, "two");
		CHECK(a.complete);
		/* first word starts after the 0.2 s of leading silence, at the first sound */
		CHECK_NEAR(a.words[0].start_s, 0.2, 0.002);
		CHECK_NEAR(a.speech_start_s, 0.2, 1e-9);
		CHECK(rms_db(a.samples, a.n, a.sample_rate, 0, 0.195) < -90);
		CHECK(a.words[0].end_s > a.words[0].start_s + 0.1);
		CHECK(a.words[1].start_s >= a.words[0].end_s);
		CHECK(a.words[1].end_s <= dur - 0.3 + 1e-6);
		CHECK_NEAR(a.words[1].end_s, a.speech_end_s, 1e-6);
		/* the pause lies between the words, not inside them */
		double gap = a.words[1].start_s - a.words[0].end_s;
		CHECKF(gap > 0.45 && gap < 0.9, "gap %.3f s for a 600 ms word gap", gap);
		CHECK(rms_db(a.samples, a.n, a.sample_rate, a.words[0].end_s + 0.01, a.words[1].start_s - 0.01) < -60);
		CHECK(rms_db(a.samples, a.n, a.sample_rate, a.words[0].start_s, a.words[0].end_s) > -35);
		CHECK(rms_db(a.samples, a.n, a.sample_rate, a.words[1].start_s, a.words[1].end_s) > -35);
		/* speech resumes within 60 ms of the second word's start (a stop
		 * closure at most), so starts are not early by the pause */
		CHECK(rms_db(a.samples, a.n, a.sample_rate, a.words[1].start_s, a.words[1].start_s + 0.06) > -45);
		/* trailing silence kept as asked */
		CHECK(rms_db(a.samples, a.n, a.sample_rate, a.speech_end_s + 0.005, dur) < -90);
	}
	synth_audio_free(&a);
}

static void test_sentence_timing(void)
{
	/* Ordinary sentence with a comma pause: words ordered, inside the speech,
	 * the comma pause outside every word. */
	synth_voice v = { "en-gb-scotland", "f2", 160, 60, 50, 0 };
	synth_audio a;
	CHECK_OK(synth_speak(&v, "The river is deep, but the bridge is new.", 0.1, 0.1, &a));
	CHECK_EQ_INT(a.n_words, 9);
	for (int i = 0; i < a.n_words; i++) {
		CHECK(a.words[i].start_s >= a.speech_start_s - 1e-9);
		CHECK(a.words[i].end_s <= a.speech_end_s + 1e-9);
		CHECK(a.words[i].end_s >= a.words[i].start_s);
		if (i)
			CHECK(a.words[i].start_s >= a.words[i - 1].end_s - 1e-9);
	}
	if (a.n_words == 9) {
		CHECK_STR(a.words[3].text, "deep");
		CHECK_STR(a.words[4].text, "but");
		double gap = a.words[4].start_s - a.words[3].end_s;
		CHECKF(gap > 0.05, "comma pause %.3f s", gap);
		CHECK(rms_db(a.samples, a.n, a.sample_rate, a.words[3].end_s + 0.005, a.words[4].start_s - 0.005) < -60);
	}
	synth_audio_free(&a);
}

static void test_merged_words(void)
{
	/* espeak speaks some function-word pairs as one word ("in the"); every
	 * written word still gets a span, in order, and merged ones are marked. */
	synth_voice v = { "en-us", NULL, 175, -1, -1, 0 };
	synth_audio a;
	CHECK_OK(synth_speak(&v, "In the evening we walked home.", 0.1, 0.1, &a));
	CHECK_EQ_INT(a.n_words, 6);
	int untimed = 0;
	for (int i = 0; i < a.n_words; i++) {
		untimed += !a.words[i].timed;
		CHECK(a.words[i].end_s >= a.words[i].start_s);
		if (i)
			CHECK(a.words[i].start_s >= a.words[i - 1].end_s - 1e-9);
		if (i && !a.words[i].timed)
			CHECK_NEAR(a.words[i].start_s, a.words[i - 1].end_s, 1e-9);
	}
	CHECK_EQ_INT(a.complete, untimed == 0);
	CHECK(a.words[0].timed);
	synth_audio_free(&a);
}

static void test_amharic(void)
{
	synth_voice v = { "am", "f1", 150, -1, -1, 0 };
	synth_audio a;
	char **w = NULL;
	const char *text = "ዛሬ አየሩ ጥሩ ነው። ነገ እንገናኛለን።";
	int nw = synth_words(text, &w);
	CHECK_EQ_INT(nw, 6);
	CHECK_OK(synth_speak(&v, text, 0.25, 0.25, &a));
	CHECK_EQ_INT(a.n_words, nw);
	for (int i = 0; i < a.n_words && i < nw; i++) {
		CHECK_STR(a.words[i].text, w[i]);
		CHECK(a.words[i].timed);
		if (i)
			CHECK(a.words[i].start_s > a.words[i - 1].start_s);
	}
	if (nw == 6)
		CHECK_STR(w[3], "ነው");   /* Ethiopic full stop stripped, syllables kept */
	CHECK(a.complete);
	for (int i = 0; i < nw; i++)
		free(w[i]);
	free(w);
	synth_audio_free(&a);
}

static void test_words_and_errors(void)
{
	char **w = NULL;
	int n = synth_words("\"Hello,\" she said \xe2\x80\x94 well-known (ok)?", &w);
	CHECK_EQ_INT(n, 5);
	if (n == 5) {
		CHECK_STR(w[0], "Hello");
		CHECK_STR(w[3], "well-known");
		CHECK_STR(w[4], "ok");
	}
	for (int i = 0; i < n; i++)
		free(w[i]);
	free(w);
	synth_voice v = { "no-such-voice", NULL, 0, -1, -1, 0 }, ok = { "en-us", NULL, 0, -1, -1, 0 };
	synth_audio a;
	CHECK_EQ_INT(synth_speak(&v, "hello", 0, 0, &a), ACC_ENOTFOUND);
	CHECK_EQ_INT(synth_speak(&ok, " ... ", 0, 0, &a), ACC_EINVAL);
	CHECK_EQ_INT(synth_speak(&ok, "bad \xff utf8", 0, 0, &a), ACC_EINVAL);
	CHECK(synth_voice_exists("am"));
	CHECK(synth_voice_exists("en-us+klatt"));
	CHECK(!synth_voice_exists("xx-nothing"));
}

static void test_determinism_order(void)
{
	/* espeak carries state between calls; synth_speak must not. */
	synth_voice v = { "en-us", "m2", 180, 40, 60, 0 };
	synth_audio a1, b, a2;
	CHECK_OK(synth_speak(&v, "The kettle whistled loudly on the stove.", 0.1, 0.1, &a1));
	CHECK_OK(synth_speak(&v, "A different sentence in between.", 0.1, 0.1, &b));
	CHECK_OK(synth_speak(&v, "The kettle whistled loudly on the stove.", 0.1, 0.1, &a2));
	CHECK_EQ_INT(a1.n, a2.n);
	CHECK(a1.n == a2.n && !memcmp(a1.samples, a2.samples, (size_t)a1.n * sizeof(float)));
	CHECK_EQ_INT(a1.n_words, a2.n_words);
	for (int i = 0; i < a1.n_words && i < a2.n_words; i++)
		CHECK(a1.words[i].start_s == a2.words[i].start_s && a1.words[i].end_s == a2.words[i].end_s);
	synth_audio_free(&a1);
	synth_audio_free(&b);
	synth_audio_free(&a2);
}

/* ---- the fork server: processes, descriptors, failures ---- */

/* Children of `parent` from /proc: pids into out[], zombies counted. */
static int children_of(pid_t parent, pid_t *out, int max, int *zombies)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;
	*zombies = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char p[300], buf[512];
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
		FILE *f = fopen(p, "r");
		if (!f)
			continue;   /* exited meanwhile */
		size_t len = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[len] = 0;
		char *rp = strrchr(buf, ')'), state;
		int ppid;
		/* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
		if (!rp || sscanf(rp + 1, " %c %d", &state, &ppid) != 2 || ppid != parent)
			continue;
		if (state == 'Z')
			(*zombies)++;
		if (n < max)
			out[n] = (pid_t)atoi(e->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;   /* opendir's own */
}

/* The server's pid (our only child), -1 when not exactly one child. */
static pid_t server_pid_now(void)
{
	pid_t k[4];
	int z, n = children_of(getpid(), k, 4, &z);
	return n == 1 && !z ? k[0] : -1;
}

static int same_audio(const synth_audio *a, const synth_audio *b)
{
	if (a->n != b->n || a->n_words != b->n_words || memcmp(a->samples, b->samples, (size_t)a->n * sizeof(float)))
		return 0;
	for (int i = 0; i < a->n_words; i++)
		if (a->words[i].start_s != b->words[i].start_s || a->words[i].end_s != b->words[i].end_s)
			return 0;
	return 1;
}

typedef struct bg_call {
	const synth_voice *v;
	const char *text;
	int rc;
	char msg[512];
} bg_call;

static void *bg_speak(void *arg)
{
	bg_call *c = arg;
	synth_audio a;
	c->rc = synth_speak(c->v, c->text, 0, 0, &a);
	snprintf(c->msg, sizeof c->msg, "%s", c->rc ? err_msg() : "");
	synth_audio_free(&a);
	return NULL;
}

static void test_server_child_killed(void)
{
	/* A child that dies (here: SIGKILL while it synthesizes a long text) is
	 * a clean error naming the signal, not a hang or a half-read buffer. */
	synth_voice v = { "en-us", NULL, 450, -1, -1, 0 };
	static char text[40000];
	size_t len = 0;
	while (len + 40 < sizeof text)
		len += (size_t)snprintf(text + len, sizeof text - len, "seven hundred and twelve bottles. ");
	CHECK_OK(synth_init(NULL));
	pid_t srv = server_pid_now();
	CHECK(srv > 0);
	if (srv <= 0)
		return;
	bg_call c = { &v, text, 0, "" };
	pthread_t th;
	CHECK_EQ_INT(pthread_create(&th, NULL, bg_speak, &c), 0);
	int killed = 0;
	for (int tries = 0; tries < 5000 && !killed; tries++) {   /* up to ~5 s */
		pid_t k[4];
		int z, n = children_of(srv, k, 4, &z);
		if (n == 1 && !z)
			killed = kill(k[0], SIGKILL) == 0;
		else
			usleep(1000);
	}
	pthread_join(th, NULL);
	CHECK(killed);
	CHECK_EQ_INT(c.rc, ACC_EINTERNAL);
	CHECKF(strstr(c.msg, "signal 9"), "message: %s", c.msg);
	/* the server reaped it and goes on */
	pid_t k[4];
	int z;
	CHECK_EQ_INT(children_of(srv, k, 4, &z), 0);
	CHECK(synth_voice_exists("en-us"));
}

static void test_server_dies(void)
{
	/* The server killed: a clean error (no SIGPIPE, no hang); after
	 * synth_shutdown() a new server synthesizes the same bytes. */
	synth_voice v = { "en-gb-scotland", "f2", 170, 55, 45, 0 };
	synth_audio before, after, a;
	int fds0;
	CHECK_OK(synth_speak(&v, "A quiet harbour at dawn.", 0.1, 0.1, &before));
	pid_t srv = server_pid_now();
	CHECK(srv > 0);
	fds0 = count_fds();
	if (srv > 0) {
		CHECK_EQ_INT(kill(srv, SIGKILL), 0);
		usleep(50000);
		CHECK_EQ_INT(synth_speak(&v, "A quiet harbour at dawn.", 0.1, 0.1, &a), ACC_EINTERNAL);
		CHECKF(strstr(err_msg(), "server"), "message: %s", err_msg());
		CHECK(!synth_voice_exists("en-us"));
	}
	CHECK_EQ_INT(count_fds(), fds0);
	synth_shutdown();
	pid_t k[4];
	int z;
	CHECK_EQ_INT(children_of(getpid(), k, 4, &z), 0);   /* the dead server was reaped */
	CHECK_EQ_INT(count_fds(), fds0 - 1);                /* its socket closed */
	synth_shutdown();   /* idempotent */
	CHECK_OK(synth_speak(&v, "A quiet harbour at dawn.", 0.1, 0.1, &after));
	CHECK(server_pid_now() > 0 && server_pid_now() != srv);
	CHECK(same_audio(&before, &after));
	CHECK_EQ_INT(count_fds(), fds0);
	synth_audio_free(&before);
	synth_audio_free(&after);
	/* requests the server must refuse before forking */
	static char big[70000];
	memset(big, 'a', sizeof big - 1);
	CHECK_EQ_INT(synth_speak(&v, big, 0, 0, &a), ACC_EINVAL);
}

static void test_server_threads(void)
{
	/* Many threads at once (what synthcorpus' OpenMP loop does): the same
	 * bytes as one at a time, every child reaped, no descriptor left open. */
	static const char *texts[] = {
		"Seven ships sailed at noon.", "The garden gate was open.", "Bring two cups and a spoon.",
		"Rain fell on the tin roof.", "She counted forty steps.", "The lamp flickered twice.",
	};
	enum { N = 12 };
	synth_voice v = { "en-us", "m1", 190, 45, 50, 0 };
	synth_audio serial[6], par[N];
	int rcs[N], fds0, z;
	pid_t k[4];
	CHECK_OK(synth_init(NULL));
	pid_t srv = server_pid_now();
	CHECK(srv > 0);
	fds0 = count_fds();
	for (int i = 0; i < 6; i++)
		CHECK_OK(synth_speak(&v, texts[i], 0.05, 0.05, &serial[i]));
	#pragma omp parallel for schedule(dynamic, 1) num_threads(4)
	for (int i = 0; i < N; i++)
		rcs[i] = synth_speak(&v, texts[(i * 5) % 6], 0.05, 0.05, &par[i]);
	for (int i = 0; i < N; i++) {
		CHECK_EQ_INT(rcs[i], 0);
		CHECKF(!rcs[i] && same_audio(&serial[(i * 5) % 6], &par[i]), "utterance %d differs", i);
		synth_audio_free(&par[i]);
	}
	for (int i = 0; i < 6; i++)
		synth_audio_free(&serial[i]);
	CHECK_EQ_INT(count_fds(), fds0);
	CHECK_EQ_INT(children_of(srv, k, 4, &z), 0);
	CHECK_EQ_INT(server_pid_now(), srv);
}

/* ---- corpus checks ---- */

typedef struct table {
	char *data;
	char **line;
	int n;
} table;

/* Lines of a text file (header included as line 0). */
static int table_read(table *t, const char *dir, const char *rel)
{
	char p[4096];
	size_t len;
	memset(t, 0, sizeof *t);
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	if (fs_read_all(p, &t->data, &len, 0))
		return -1;
	int cap = 16;
	t->line = malloc((size_t)cap * sizeof *t->line);
	for (char *s = t->data; s && *s;) {
		char *nl = strchr(s, '\n');
		if (nl)
			*nl = 0;
		if (t->n == cap)
			t->line = realloc(t->line, (size_t)(cap *= 2) * sizeof *t->line);
		t->line[t->n++] = s;
		s = nl ? nl + 1 : NULL;
	}
	return 0;
}

static void table_free(table *t)
{
	free(t->data);
	free(t->line);
}

/* Split a line in place on tabs; returns field count. */
static int split(char *s, char **f, int max)
{
	int n = 0;
	while (n < max) {
		f[n++] = s;
		char *tab = strchr(s, '\t');
		if (!tab)
			break;
		*tab = 0;
		s = tab + 1;
	}
	return n;
}

static int count_lines(const char *dir, const char *rel)
{
	table t;
	if (table_read(&t, dir, rel))
		return -1;
	int n = t.n;
	table_free(&t);
	return n;
}

/* Read a file with libsndfile: frames, rate, channels; -1 frames when it
 * cannot be opened. */
static int64_t sf_frames(const char *dir, const char *rel, int *rate, int *ch, float **x)
{
	char p[4096];
	SF_INFO info = { 0 };
	snprintf(p, sizeof p, "%s/%s", dir, rel);
	SNDFILE *sf = sf_open(p, SFM_READ, &info);
	if (!sf)
		return -1;
	*rate = info.samplerate;
	*ch = info.channels;
	/* count by decoding: headers of compressed formats may estimate */
	float buf[4096 * 2];
	int64_t n = 0, cap = 0;
	if (x)
		*x = NULL;
	for (;;) {
		sf_count_t got = sf_readf_float(sf, buf, 4096 / info.channels);
		if (got <= 0)
			break;
		if (x) {
			if (n + got > cap) {
				cap = (n + got) * 2;
				*x = realloc(*x, (size_t)cap * sizeof **x);
			}
			for (sf_count_t i = 0; i < got; i++)
				(*x)[n + i] = buf[i * info.channels];
		}
		n += got;
	}
	sf_close(sf);
	return n;
}

/* Check the _truth tables against the files on disk. */
static void check_truth(const char *out, int expect_utts, int with_bad)
{
	table rec, ut, wd;
	CHECK(table_read(&rec, out, "_truth/recordings.tsv") == 0);
	CHECK(table_read(&ut, out, "_truth/utterances.tsv") == 0);
	CHECK(table_read(&wd, out, "_truth/words.tsv") == 0);
	CHECK_EQ_INT(ut.n - 1, expect_utts);
	CHECK_STR(rec.line[0], "file\tkind\tcontainer\tcodec\tsample_rate\tchannels\tframes\tduration_s\tn_utts");
	/* every file: what libsndfile decodes = what the truth says */
	for (int i = 1; i < rec.n; i++) {
		char *f[10], copy[8192];
		snprintf(copy, sizeof copy, "%s", rec.line[i]);
		CHECK_EQ_INT(split(copy, f, 10), 9);
		int rate = 0, ch = 0;
		int64_t frames = sf_frames(out, f[0], &rate, &ch, NULL);
		CHECKF(frames == atoll(f[6]), "%s: decoded %lld frames, truth %s", f[0], (long long)frames, f[6]);
		CHECK_EQ_INT(rate, atoi(f[4]));
		CHECK_EQ_INT(ch, atoi(f[5]));
		CHECK_NEAR(atof(f[7]), (double)frames / (rate ? rate : 1), 1e-5);
	}
	/* every utterance inside its file; its words ordered inside its span */
	int wi = 1;
	for (int i = 1; i < ut.n; i++) {
		char *f[13], copy[8192];
		snprintf(copy, sizeof copy, "%s", ut.line[i]);
		CHECK_EQ_INT(split(copy, f, 13), 12);
		double start = atof(f[7]), end = atof(f[8]), ss = atof(f[9]), se = atof(f[10]);
		int rate = 0, ch = 0;
		float *x = NULL;
		int64_t frames = sf_frames(out, f[6], &rate, &ch, &x);
		CHECKF(frames > 0, "%s missing", f[6]);
		double dur = frames > 0 ? (double)frames / rate : 0;
		CHECK(start >= 0 && start < ss && ss < se && se < end && end <= dur + 1e-3);
		double prev_end = start;
		int nw = 0;
		for (; wi < wd.n; wi++, nw++) {
			char *w[7], wc[4096];
			snprintf(wc, sizeof wc, "%s", wd.line[wi]);
			CHECK_EQ_INT(split(wc, w, 7), 6);
			if (strcmp(w[0], f[0]))
				break;
			double a = atof(w[3]), b = atof(w[4]);
			CHECKF(a >= prev_end - 1e-6 && b >= a && a >= ss - 1e-6 && b <= se + 1e-6,
			       "%s word %s [%.3f %.3f] span [%.3f %.3f] prev end %.3f", f[0], w[2], a, b, ss, se, prev_end);
			/* an untimed word shares its neighbour's span: contiguous with it */
			if (!atoi(w[5]) && nw > 0)
				CHECK_NEAR(a, prev_end, 2e-6);
			/* a timed word holds speech (lossy codecs and noise included) */
			if (atoi(w[5]) && b - a > 0.05 && x)
				CHECKF(rms_db(x, frames, rate, a, b) > -45, "%s word %s silent", f[0], w[2]);
			prev_end = b;
		}
		CHECKF(nw > 0, "%s has no words", f[0]);
		/* before the first word: silence or noise well below the speech */
		if (x && ss - start > 0.1)
			CHECK(rms_db(x, frames, rate, start, ss - 0.02) < rms_db(x, frames, rate, ss, se) - 15);
		free(x);
	}
	CHECK_EQ_INT(wi, wd.n);
	if (with_bad) {
		table bad;
		CHECK(table_read(&bad, out, "_truth/bad.tsv") == 0);
		CHECK_EQ_INT(bad.n, 5);
		for (int i = 1; i < bad.n; i++) {
			char *f[5], copy[4096], p[4096];
			int rate, ch;
			snprintf(copy, sizeof copy, "%s", bad.line[i]);
			split(copy, f, 5);
			snprintf(p, sizeof p, "%s/%s", out, f[1]);
			if (!strcmp(f[0], "corrupt"))
				CHECK(fs_exists(p) && sf_frames(out, f[1], &rate, &ch, NULL) < 0);
			else if (!strcmp(f[0], "missing_file"))
				CHECK(!fs_exists(p));
			else if (!strcmp(f[0], "empty_text"))
				CHECK(sf_frames(out, f[1], &rate, &ch, NULL) > 0);
			else if (!strcmp(f[0], "duplicate_audio")) {
				char h[65], h2[65];
				int same = 0;
				CHECK_OK(fs_sha256_file(p, h));
				for (int r = 1; r < rec.n && !same; r++) {
					char q[4096], *tab = strchr(rec.line[r], '\t');
					snprintf(q, sizeof q, "%s/%.*s", out, (int)(tab - rec.line[r]), rec.line[r]);
					same = fs_sha256_file(q, h2) == 0 && !strcmp(h, h2);
				}
				CHECK(same);
			} else
				CHECKF(0, "unknown bad kind %s", f[0]);
		}
		table_free(&bad);
	}
	table_free(&rec);
	table_free(&ut);
	table_free(&wd);
}

static void make(synthcorpus_opts *o, const char *name, const char *layout)
{
	static char path[4096];
	synthcorpus_opts_init(o);
	snprintf(path, sizeof path, "%s/%s", TEST_TMP, name);
	o->out_dir = path;
	o->layout = layout;
	o->speakers = 2;
	o->utts_per_speaker = 2;
	o->text_dir = "data/text";
	o->seed = 11;
}

static void test_layout_cv(void)
{
	synthcorpus_opts o;
	synthcorpus_stats st;
	make(&o, "cv", "cv");
	o.with_bad = 1;
	CHECK_OK(synthcorpus_write(&o, &st));
	CHECK_EQ_INT(st.utterances, 8);
	CHECK_EQ_INT(st.bad_items, 4);
	table t;
	CHECK(table_read(&t, o.out_dir, "validated.tsv") == 0);
	CHECK_STR(t.line[0], "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tvariant\tlocale\tsegment");
	CHECK_EQ_INT(t.n, 1 + 8 + 4);
	for (int i = 1; i < t.n; i++) {
		char *f[12];
		CHECK_EQ_INT(split(t.line[i], f, 12), 11);
		CHECK_EQ_INT(strlen(f[0]), 64);
		CHECK(!strncmp(f[1], "common_voice_", 13) && strstr(f[1], ".mp3"));
		CHECK(!strcmp(f[9], "en") || !strcmp(f[9], "am"));
		CHECK(!strcmp(f[6], "male") || !strcmp(f[6], "female"));
	}
	table_free(&t);
	check_truth(o.out_dir, 8, 1);
}

static void test_layout_librispeech(void)
{
	synthcorpus_opts o;
	make(&o, "ls", "librispeech");
	o.with_bad = 1;
	CHECK_OK(synthcorpus_write(&o, NULL));
	char rel[256];
	/* speaker 100 = first English speaker, chapter 1000 */
	snprintf(rel, sizeof rel, "100/1000/100-1000.trans.txt");
	table t;
	CHECK(table_read(&t, o.out_dir, rel) == 0);
	CHECK_EQ_INT(t.n, 2 + 4);
	for (int i = 0; i < t.n; i++) {
		CHECK(!strncmp(t.line[i], "100-1000-", 9));
		for (const char *p = t.line[i]; *p; p++)
			CHECK(!(*p >= 'a' && *p <= 'z') && *p != ',' && *p != '.');
	}
	table_free(&t);
	CHECK_EQ_INT(count_lines(o.out_dir, "SPEAKERS.TXT"), 1 + 4);
	check_truth(o.out_dir, 8, 1);
}

static void test_layout_kaldi(void)
{
	synthcorpus_opts o;
	make(&o, "kaldi", "kaldi");
	o.n_long = 1;
	o.utts_per_long = 3;
	o.with_bad = 1;
	CHECK_OK(synthcorpus_write(&o, NULL));
	/* 8 short + 2 x 3 long pieces + 4 bad rows (the missing one included) */
	CHECK_EQ_INT(count_lines(o.out_dir, "text"), 8 + 6 + 4);
	CHECK_EQ_INT(count_lines(o.out_dir, "utt2spk"), 18);
	CHECK_EQ_INT(count_lines(o.out_dir, "utt2lang"), 18);
	CHECK_EQ_INT(count_lines(o.out_dir, "segments"), 18);
	CHECK_EQ_INT(count_lines(o.out_dir, "wav.scp"), 8 + 2 + 4);
	CHECK_EQ_INT(count_lines(o.out_dir, "spk2gender"), 4);
	table t;
	CHECK(table_read(&t, o.out_dir, "text") == 0);
	for (int i = 1; i < t.n; i++)
		CHECK(strcmp(t.line[i - 1], t.line[i]) < 0);   /* sorted, C locale */
	table_free(&t);
	check_truth(o.out_dir, 14, 1);
}

static void test_layout_nemo_mixed(void)
{
	synthcorpus_opts o;
	make(&o, "nemo", "nemo");
	o.n_long = 1;
	o.utts_per_long = 2;
	o.mix_formats = 1;
	o.utts_per_speaker = 4;
	CHECK_OK(synthcorpus_write(&o, NULL));
	table t;
	CHECK(table_read(&t, o.out_dir, "manifest.jsonl") == 0);
	CHECK_EQ_INT(t.n, 16 + 4);
	int offsets = 0;
	for (int i = 0; i < t.n; i++) {
		CHECK(strstr(t.line[i], "\"audio_filepath\":") && strstr(t.line[i], "\"duration\":") &&
		      strstr(t.line[i], "\"lang\":"));
		offsets += strstr(t.line[i], "\"offset\":") != NULL;
	}
	CHECK_EQ_INT(offsets, 4);
	table_free(&t);
	/* mixed: more than one container and rate among the files */
	table r;
	CHECK(table_read(&r, o.out_dir, "_truth/recordings.tsv") == 0);
	int wav = 0, other = 0, r16 = 0, rother = 0, stereo = 0;
	for (int i = 1; i < r.n; i++) {
		char *f[10];
		split(r.line[i], f, 10);
		wav += !strcmp(f[2], "WAV");
		other += strcmp(f[2], "WAV") != 0;
		r16 += atoi(f[4]) == 16000;
		rother += atoi(f[4]) != 16000;
		stereo += atoi(f[5]) == 2;
	}
	CHECK(wav && other && r16 && rother && stereo);
	table_free(&r);
	check_truth(o.out_dir, 20, 0);
}

static void test_layout_ljspeech(void)
{
	synthcorpus_opts o;
	make(&o, "lj", "ljspeech");
	CHECK_OK(synthcorpus_write(&o, NULL));
	table t;
	CHECK(table_read(&t, o.out_dir, "metadata.csv") == 0);
	CHECK_EQ_INT(t.n, 8);
	for (int i = 0; i < t.n; i++) {
		char *a = strchr(t.line[i], '|'), *b = a ? strchr(a + 1, '|') : NULL;
		CHECK(a && b && !strchr(b + 1, '|'));
		char wav[512];
		snprintf(wav, sizeof wav, "wavs/%.*s.wav", a ? (int)(a - t.line[i]) : 0, t.line[i]);
		int rate = 0, ch = 0;
		CHECK(sf_frames(o.out_dir, wav, &rate, &ch, NULL) > 0);
		CHECK_EQ_INT(rate, 22050);
	}
	table_free(&t);
	check_truth(o.out_dir, 8, 0);
}

static void test_layout_folder(void)
{
	synthcorpus_opts o;
	make(&o, "folder", "folder");
	o.with_bad = 1;
	CHECK_OK(synthcorpus_write(&o, NULL));
	table u;
	CHECK(table_read(&u, o.out_dir, "_truth/utterances.tsv") == 0);
	for (int i = 1; i < u.n; i++) {
		char *f[13], txt[4096];
		split(u.line[i], f, 13);
		snprintf(txt, sizeof txt, "%.*s.txt", (int)(strrchr(f[6], '.') - f[6]), f[6]);
		table t;
		CHECK(table_read(&t, o.out_dir, txt) == 0);
		CHECK(t.n == 1 && !strcmp(t.line[0], f[5]));
		CHECK(!strncmp(f[6], f[1], strlen(f[1])));   /* speaker subfolder */
		table_free(&t);
	}
	table_free(&u);
	check_truth(o.out_dir, 8, 1);
}

static void test_layout_longform_noise(void)
{
	synthcorpus_opts o;
	make(&o, "long", "mms-long");
	o.utts_per_speaker = 3;
	o.noise_snr_db = 20;
	o.with_bad = 1;
	CHECK_OK(synthcorpus_write(&o, NULL));
	table u;
	CHECK(table_read(&u, o.out_dir, "_truth/utterances.tsv") == 0);
	CHECK_EQ_INT(u.n, 1 + 12);
	/* pauses between utterances: noise present, about 20 dB below speech */
	for (int i = 1; i + 1 < u.n; i++) {
		char *a[13], *b[13], ca[4096], cb[4096];
		snprintf(ca, sizeof ca, "%s", u.line[i]);
		snprintf(cb, sizeof cb, "%s", u.line[i + 1]);
		split(ca, a, 13);
		split(cb, b, 13);
		if (strcmp(a[6], b[6]))
			continue;
		int rate, ch;
		float *x = NULL;
		int64_t n = sf_frames(o.out_dir, a[6], &rate, &ch, &x);
		double pause = rms_db(x, n, rate, atof(a[10]) + 0.02, atof(b[9]) - 0.02);
		double speech = rms_db(x, n, rate, atof(a[9]), atof(a[10]));
		CHECKF(pause > -90 && speech - pause > 12 && speech - pause < 30, "speech %.1f dB, pause %.1f dB", speech,
		       pause);
		free(x);
		/* the text file has one line per utterance of the recording */
		char txt[4096];
		snprintf(txt, sizeof txt, "%.*s.txt", (int)(strrchr(a[6], '.') - a[6]), a[6]);
		CHECK_EQ_INT(count_lines(o.out_dir, txt), 3);
	}
	table_free(&u);
	check_truth(o.out_dir, 12, 1);
}

/* Compare every file under two trees byte for byte. */
static int same_tree(const char *a, const char *b, const char *rel, int *nfiles)
{
	char pa[4096], pb[4096];
	snprintf(pa, sizeof pa, "%s%s%s", a, *rel ? "/" : "", rel);
	snprintf(pb, sizeof pb, "%s%s%s", b, *rel ? "/" : "", rel);
	DIR *d = opendir(pa);
	struct dirent *e;
	int ok = 1;
	if (!d)
		return 0;
	while ((e = readdir(d)) && ok) {
		char r[4096], fa[8400], fb[8400], ha[65], hb[65];
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		snprintf(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(fa, sizeof fa, "%s/%s", a, r);
		snprintf(fb, sizeof fb, "%s/%s", b, r);
		if (stat(fa, &st) != 0)
			return 0;
		if (S_ISDIR(st.st_mode))
			ok = same_tree(a, b, r, nfiles);
		else {
			ok = fs_sha256_file(fa, ha) == 0 && fs_sha256_file(fb, hb) == 0 && !strcmp(ha, hb);
			if (!ok && getenv("SYNTH_TEST_VERBOSE"))
				fprintf(stderr, "  differs: %s\n", r);
			(*nfiles)++;
		}
	}
	closedir(d);
	return ok;
}

static void test_determinism_corpus(void)
{
	synthcorpus_opts o1, o2;
	char p1[4096];
	int n = 0;
	make(&o1, "det1", "kaldi");
	o1.jobs = 1;   /* one thread vs two: same bytes */
	o1.format = "flac";
	o1.n_long = 1;
	o1.utts_per_long = 2;
	CHECK_OK(synthcorpus_write(&o1, NULL));
	snprintf(p1, sizeof p1, "%s", o1.out_dir);
	make(&o2, "det2", "kaldi");
	o2.jobs = 2;
	o2.format = "flac";
	o2.n_long = 1;
	o2.utts_per_long = 2;
	CHECK_OK(synthcorpus_write(&o2, NULL));
	CHECK(same_tree(p1, o2.out_dir, "", &n));
	CHECK(n > 20);
	/* another seed changes the corpus */
	synthcorpus_opts o3;
	make(&o3, "det3", "kaldi");
	o3.format = "flac";
	o3.seed = 12;
	CHECK_OK(synthcorpus_write(&o3, NULL));
	n = 0;
	CHECK(!same_tree(p1, o3.out_dir, "", &n));
}

/* Every language synth knows, once (1 speaker x 1 utterance): the voice
 * exists, the sentence file (data/text/<lang>.txt; a line written here for
 * those without one) is read, and the truth has one row per written word,
 * in order, for every script (Latin, Cyrillic, Greek, Devanagari, Tamil,
 * Ethiopic).  Two corpora: one holds 16 languages at most. */
static void test_every_language(void)
{
	static const char *const langs[] = { "eng", "amh", "deu", "fra", "spa", "hin", "swh", "ita", "por",
					     "pol", "ces", "ron", "rus", "bul", "ukr", "ell", "tam" };
	static const char *const fallback[][2] = { { "fra", "Le chat dort sur la chaise près de la fenêtre." },
						   { "swh", "Mtoto anasoma kitabu kizuri shuleni leo." } };
	const int nl = (int)(sizeof langs / sizeof langs[0]);
	char dir[4096], list[2][256] = { "", "" };
	snprintf(dir, sizeof dir, "%s/alltext", TEST_TMP);
	CHECK(mkdir(dir, 0755) == 0);
	for (int i = 0; i < nl; i++) {
		char src[4096], dst[4200], line[4096] = "";
		snprintf(src, sizeof src, "data/text/%s.txt", langs[i]);
		FILE *f = fopen(src, "r");
		while (f && fgets(line, sizeof line, f))   /* the file's first sentence */
			if (line[0] != '#' && line[0] != '\n')
				break;
		if (f)
			fclose(f);
		for (int k = 0; k < 2; k++)
			if (!f && !strcmp(langs[i], fallback[k][0]))
				snprintf(line, sizeof line, "%s\n", fallback[k][1]);
		CHECKF(line[0] && line[0] != '#', "no sentence for %s", langs[i]);
		snprintf(dst, sizeof dst, "%s/%s.txt", dir, langs[i]);
		f = fopen(dst, "w");
		CHECK(f && fputs(line, f) >= 0);
		if (f)
			fclose(f);
		char *l = list[i >= nl / 2];
		snprintf(l + strlen(l), sizeof list[0] - strlen(l), "%s%s", *l ? "," : "", langs[i]);
	}
	for (int c = 0; c < 2; c++) {
		synthcorpus_opts o;
		make(&o, c ? "every2" : "every1", "folder");
		o.langs = list[c];
		o.speakers = 1;
		o.utts_per_speaker = 1;
		o.text_dir = dir;
		CHECKF(synthcorpus_write(&o, NULL) == 0, "synthesizing %s", list[c]);
		table u, w;
		CHECK(table_read(&u, o.out_dir, "_truth/utterances.tsv") == 0);
		CHECK(table_read(&w, o.out_dir, "_truth/words.tsv") == 0);
		CHECK_EQ_INT(u.n - 1, c ? nl - nl / 2 : nl / 2);
		for (int i = 1; i < u.n; i++) {
			char *f[13], **sw = NULL;
			CHECK_EQ_INT(split(u.line[i], f, 13), 12);
			int nw = synth_words(f[5], &sw), rows = 0;
			CHECKF(nw >= 1, "%s: %d words in '%s'", f[2], nw, f[5]);
			for (int j = 1; j < w.n; j++) {
				char copy[4096], *g[6];
				snprintf(copy, sizeof copy, "%s", w.line[j]);
				if (split(copy, g, 6) != 6 || strcmp(g[0], f[0]))
					continue;
				CHECKF(rows < nw && atoi(g[1]) == rows && !strcmp(g[2], sw[rows]), "%s: word %d '%s'", f[2],
				       rows, g[2]);
				rows++;
			}
			CHECKF(rows == nw, "%s: %d truth words for %d in '%s'", f[2], rows, nw, f[5]);
			if (strcmp(f[2], "eng"))   /* English merges some word pairs ("in the") */
				CHECKF(!strcmp(f[11], "1"), "%s: words not all timed in '%s'", f[2], f[5]);
			for (int k = 0; k < nw; k++)
				free(sw[k]);
			free(sw);
		}
		table_free(&u);
		table_free(&w);
	}
}

static void test_bad_options(void)
{
	synthcorpus_opts o;
	make(&o, "bad1", "cv");
	o.n_long = 1;
	CHECK_EQ_INT(synthcorpus_write(&o, NULL), ACC_EINVAL);
	make(&o, "bad2", "no-such-layout");
	CHECK_EQ_INT(synthcorpus_write(&o, NULL), ACC_EINVAL);
	make(&o, "bad3", "folder");
	o.langs = "eng,xyz";
	CHECK_EQ_INT(synthcorpus_write(&o, NULL), ACC_EINVAL);
	make(&o, "bad4", "folder");
	o.langs = "deu";   /* known to espeak, no sentence file shipped */
	o.text_dir = TEST_TMP;
	CHECK_EQ_INT(synthcorpus_write(&o, NULL), ACC_ENOTFOUND);
	/* an existing non-empty directory is refused without force */
	make(&o, "cv", "folder");
	CHECK_EQ_INT(synthcorpus_write(&o, NULL), ACC_EINVAL);
	CHECK_STR(synthcorpus_layout("mms-long"), "longform");
	CHECK_STR(synthcorpus_layout("cv"), "commonvoice");
}

int main(void)
{
	RUN(test_timing_units);
	RUN(test_sentence_timing);
	RUN(test_merged_words);
	RUN(test_amharic);
	RUN(test_words_and_errors);
	RUN(test_determinism_order);
	RUN(test_server_child_killed);
	RUN(test_server_dies);
	RUN(test_server_threads);
	RUN(test_layout_cv);
	RUN(test_layout_librispeech);
	RUN(test_layout_kaldi);
	RUN(test_layout_nemo_mixed);
	RUN(test_layout_ljspeech);
	RUN(test_layout_folder);
	RUN(test_layout_longform_noise);
	RUN(test_determinism_corpus);
	RUN(test_every_language);
	RUN(test_bad_options);
	return check_summary();
}
