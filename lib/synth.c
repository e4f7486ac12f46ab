/*
 * synth.c — espeak-ng synthesis with word timing (see synth.h for the timing
 * definitions and why every utterance is synthesized in a forked child).
 */
#include "synth.h"
#include "err.h"
#include <errno.h>
#include <espeak-ng/speak_lib.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>
#include <unistd.h>

#define FRAME 110                 /* 5 ms at 22050 Hz */
#define VOICED_DBFS (-50.0)
#define PIPE_MAGIC 0x53594e54u    /* "SYNT" */
#define MAX_SAMPLES ((int64_t)SYNTH_RATE * 600)   /* 10 minutes per utterance */
#define MAX_EVENTS 100000

/* Child -> parent message: header, int16 samples, events. */
typedef struct msg_hdr {
	uint32_t magic;
	int32_t  status;      /* 0 ok, 1 espeak failed, 2 voice not found, 3 out of memory */
	int64_t  n_samples;
	int64_t  n_events;
} msg_hdr;

typedef struct msg_event {
	int32_t type, text_position, length, sample, audio_position;
} msg_event;

static pthread_mutex_t synth_lock = PTHREAD_MUTEX_INITIALIZER;
static int synth_ready;   /* 1 after a successful espeak_Initialize */

/* ---- child side: only ever runs in a forked process ---- */

static struct {
	int16_t *s;
	int64_t n, cap;
	msg_event *ev;
	int64_t nev, capev;
	int oom;
} child;

static int child_cb(short *wav, int numsamples, espeak_EVENT *events)
{
	if (wav && numsamples > 0 && !child.oom) {
		if (child.n + numsamples > child.cap) {
			int64_t cap = child.cap ? child.cap * 2 : 65536;
			while (cap < child.n + numsamples)
				cap *= 2;
			int16_t *p = realloc(child.s, (size_t)cap * sizeof *p);
			if (!p) {
				child.oom = 1;
				return 1;
			}
			child.s = p;
			child.cap = cap;
		}
		memcpy(child.s + child.n, wav, (size_t)numsamples * sizeof *wav);
		child.n += numsamples;
	}
	for (; events && events->type != espeakEVENT_LIST_TERMINATED && !child.oom; events++) {
		if (events->type != espeakEVENT_WORD && events->type != espeakEVENT_END &&
		    events->type != espeakEVENT_MSG_TERMINATED)
			continue;
		if (child.nev == child.capev) {
			int64_t cap = child.capev ? child.capev * 2 : 256;
			msg_event *p = realloc(child.ev, (size_t)cap * sizeof *p);
			if (!p) {
				child.oom = 1;
				return 1;
			}
			child.ev = p;
			child.capev = cap;
		}
		child.ev[child.nev++] = (msg_event){ events->type, events->text_position, events->length,
						     events->sample, events->audio_position };
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static void child_run(int fd, const synth_voice *v, const char *text)
{
	msg_hdr h = { PIPE_MAGIC, 0, 0, 0 };
	char name[256];
	if (v->variant && *v->variant)
		snprintf(name, sizeof name, "%s+%s", v->voice, v->variant);
	else
		snprintf(name, sizeof name, "%s", v->voice);
	if (espeak_SetVoiceByName(name) != EE_OK) {
		h.status = 2;
		goto send;
	}
	espeak_SetParameter(espeakRATE, v->rate > 0 ? v->rate : espeakRATE_NORMAL, 0);
	if (v->pitch >= 0)
		espeak_SetParameter(espeakPITCH, v->pitch, 0);
	if (v->range >= 0)
		espeak_SetParameter(espeakRANGE, v->range, 0);
	espeak_SetParameter(espeakWORDGAP, v->wordgap > 0 ? v->wordgap : 0, 0);
	espeak_SetSynthCallback(child_cb);
	if (espeak_Synth(text, strlen(text) + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, NULL, NULL) != EE_OK ||
	    espeak_Synchronize() != EE_OK)
		h.status = 1;
	if (child.oom)
		h.status = 3;
	if (!h.status) {
		h.n_samples = child.n;
		h.n_events = child.nev;
	}
send:
	if (write_all(fd, &h, sizeof h) == 0 && !h.status) {
		if (h.n_samples)
			write_all(fd, child.s, (size_t)h.n_samples * sizeof *child.s);
		if (h.n_events)
			write_all(fd, child.ev, (size_t)h.n_events * sizeof *child.ev);
	}
	close(fd);
}

/* ---- parent side ---- */

int synth_init(const char *data_path)
{
	int rc = 0;
	pthread_mutex_lock(&synth_lock);
	if (!synth_ready) {
		int sr = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data_path, espeakINITIALIZE_DONT_EXIT);
		if (sr != SYNTH_RATE) {
			rc = err_set(ACC_EINTERNAL, "espeak-ng failed to initialize (returned %d, expected %d Hz)%s%s",
				     sr, SYNTH_RATE, data_path ? " with data at " : "", data_path ? data_path : "");
			err_hint("install espeak-ng-data (make deps) or set ESPEAK_DATA_PATH");
		} else {
			synth_ready = 1;
		}
	}
	pthread_mutex_unlock(&synth_lock);
	return rc;
}

/* Run child_run() in a child; read its whole message into *buf. */
static int run_child(const synth_voice *v, const char *text, char **buf, size_t *len)
{
	int fds[2], rc = 0, status = 0;
	pid_t pid;
	size_t cap = 0;
	char *b = NULL;
	*buf = NULL;
	*len = 0;
	if (pipe(fds) != 0)
		return err_set(ACC_EINTERNAL, "cannot create a pipe for espeak: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		rc = err_set(ACC_EINTERNAL, "cannot fork for espeak: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return rc;
	}
	if (pid == 0) {
		close(fds[0]);
		signal(SIGPIPE, SIG_DFL);
		child_run(fds[1], v, text);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		if (*len == cap) {
			size_t nc = cap ? cap * 2 : 1 << 16;
			char *p = nc > (size_t)1 << 31 ? NULL : realloc(b, nc);
			if (!p) {
				rc = err_set(ACC_ENOMEM, "out of memory reading espeak output");
				break;
			}
			b = p;
			cap = nc;
		}
		ssize_t r = read(fds[0], b + *len, cap - *len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = err_set(ACC_EINTERNAL, "cannot read espeak output: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		*len += (size_t)r;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!rc && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		rc = err_set(ACC_EINTERNAL, "espeak child process died (status 0x%x) on \"%.60s\"", status, text);
	if (rc) {
		free(b);
		*len = 0;
		return rc;
	}
	*buf = b;
	return 0;
}

int synth_voice_exists(const char *voice)
{
	synth_voice v = { voice, NULL, 0, -1, -1, 0 };
	char *buf;
	size_t len;
	msg_hdr h;
	int ok;
	if (!voice || !*voice || synth_init(NULL))
		return 0;
	/* An empty text is not spoken but the voice is still looked up. */
	if (run_child(&v, "", &buf, &len))
		return 0;
	ok = len >= sizeof h && (memcpy(&h, buf, sizeof h), h.magic == PIPE_MAGIC && h.status != 2);
	free(buf);
	return ok;
}

/* ---- tokens ---- */

typedef struct token {
	int32_t cstart, cend;      /* code point indices [cstart, cend) in the text */
	int32_t bstart, bend;      /* stripped word's byte range */
	int     is_word;
	int64_t sample;            /* first word event's sample, -1 = none */
} token;

static int is_word_char(UChar32 c)
{
	if (c < 0)
		return 0;
	int8_t t = u_charType(c);
	return u_isalnum(c) || t == U_NON_SPACING_MARK || t == U_COMBINING_SPACING_MARK || t == U_ENCLOSING_MARK;
}

/* Tokenize on Unicode white space.  *out malloc'ed.  Returns count or <0. */
static int tokenize(const char *text, token **out)
{
	int32_t len = (int32_t)strlen(text), i = 0, ci = 0;
	int n = 0, cap = 0;
	token *t = NULL;
	*out = NULL;
	while (i < len) {
		UChar32 c;
		int32_t at = i;
		U8_NEXT(text, i, len, c);
		if (c >= 0 && u_isUWhiteSpace(c)) {
			ci++;
			continue;
		}
		/* a token starts at byte `at`, character ci */
		token tk = { ci, 0, -1, -1, 0, -1 };
		int32_t j = at, cj = ci;
		while (j < len) {
			int32_t b = j;
			U8_NEXT(text, j, len, c);
			if (c >= 0 && u_isUWhiteSpace(c)) {
				j = b;
				break;
			}
			if (is_word_char(c)) {
				if (tk.bstart < 0)
					tk.bstart = b;
				tk.bend = j;
				tk.is_word = 1;
			}
			cj++;
		}
		tk.cend = cj;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			token *p = realloc(t, (size_t)cap * sizeof *p);
			if (!p) {
				free(t);
				return err_set(ACC_ENOMEM, "out of memory");
			}
			t = p;
		}
		t[n++] = tk;
		i = j;
		ci = cj;
	}
	*out = t;
	return n;
}

int synth_words(const char *text, char ***words)
{
	token *t;
	int n = tokenize(text, &t), nw = 0;
	char **w;
	*words = NULL;
	if (n < 0)
		return n;
	w = calloc((size_t)n + 1, sizeof *w);
	if (!w) {
		free(t);
		return err_set(ACC_ENOMEM, "out of memory");
	}
	for (int i = 0; i < n; i++) {
		if (!t[i].is_word)
			continue;
		w[nw] = strndup(text + t[i].bstart, (size_t)(t[i].bend - t[i].bstart));
		if (!w[nw]) {
			for (int k = 0; k < nw; k++)
				free(w[k]);
			free(w);
			free(t);
			return err_set(ACC_ENOMEM, "out of memory");
		}
		nw++;
	}
	free(t);
	*words = w;
	return nw;
}

/* ---- timing ---- */

typedef struct voicing {
	const float *x;
	int64_t n;
	float thr_amp;     /* sample amplitude threshold */
	double thr_ms;     /* frame mean-square threshold */
} voicing;

static int frame_voiced(const voicing *vc, int64_t f)
{
	int64_t a = f * FRAME, b = a + FRAME;
	double e = 0;
	if (b > vc->n)
		b = vc->n;
	if (a >= b)
		return 0;
	for (int64_t i = a; i < b; i++)
		e += (double)vc->x[i] * vc->x[i];
	return e / (double)(b - a) >= vc->thr_ms;
}

/* End (exclusive) of the last voiced sample in [lo, hi); lo when none. */
static int64_t last_voiced(const voicing *vc, int64_t lo, int64_t hi)
{
	if (hi > vc->n)
		hi = vc->n;
	for (int64_t f = (hi - 1) / FRAME; hi > lo && f >= lo / FRAME && f >= 0; f--) {
		if (!frame_voiced(vc, f))
			continue;
		int64_t a = f * FRAME > lo ? f * FRAME : lo, b = (f + 1) * FRAME < hi ? (f + 1) * FRAME : hi;
		for (int64_t i = b - 1; i >= a; i--)
			if (fabsf(vc->x[i]) >= vc->thr_amp)
				return i + 1;
	}
	return lo;
}

/* First voiced sample in [lo, hi); hi when none. */
static int64_t first_voiced(const voicing *vc, int64_t lo, int64_t hi)
{
	if (hi > vc->n)
		hi = vc->n;
	for (int64_t f = lo / FRAME; f * FRAME < hi; f++) {
		if (!frame_voiced(vc, f))
			continue;
		int64_t a = f * FRAME > lo ? f * FRAME : lo, b = (f + 1) * FRAME < hi ? (f + 1) * FRAME : hi;
		for (int64_t i = a; i < b; i++)
			if (fabsf(vc->x[i]) >= vc->thr_amp)
				return i;
	}
	return hi;
}

void synth_audio_free(synth_audio *a)
{
	if (!a)
		return;
	for (int i = 0; i < a->n_words; i++)
		free(a->words[i].text);
	free(a->words);
	free(a->samples);
	memset(a, 0, sizeof *a);
}

int synth_speak(const synth_voice *v, const char *text, double lead_s, double trail_s, synth_audio *out)
{
	int rc = 0, ntok = 0, nw = 0, last_tok = -1;
	char *buf = NULL;
	size_t len = 0;
	msg_hdr h;
	token *tok = NULL;
	float *raw = NULL;
	int64_t *wstart = NULL, *wend = NULL;
	int *wtok = NULL;
	memset(out, 0, sizeof *out);
	if (!v || !v->voice || !*v->voice || !text)
		return err_set(ACC_EINVAL, "synth_speak: no voice or text");
	if (lead_s < 0 || trail_s < 0 || lead_s > 60 || trail_s > 60)
		return err_set(ACC_EINVAL, "synth_speak: silence padding out of range (%g, %g s)", lead_s, trail_s);
	{
		int32_t l = (int32_t)strlen(text), i = 0;
		UChar32 c;
		while (i < l) {
			U8_NEXT(text, i, l, c);
			if (c < 0)
				return err_set(ACC_EINVAL, "text is not valid UTF-8: \"%.60s\"", text);
		}
	}
	if ((ntok = tokenize(text, &tok)) < 0)
		return ntok;
	for (int i = 0; i < ntok; i++)
		nw += tok[i].is_word;
	if (!nw) {
		rc = err_set(ACC_EINVAL, "text has no word to speak: \"%.60s\"", text);
		goto out;
	}
	if ((rc = synth_init(NULL)) != 0)
		goto out;
	if ((rc = run_child(v, text, &buf, &len)) != 0)
		goto out;
	if (len < sizeof h) {
		rc = err_set(ACC_EINTERNAL, "espeak child sent a short message (%zu bytes)", len);
		goto out;
	}
	memcpy(&h, buf, sizeof h);
	if (h.magic != PIPE_MAGIC) {
		rc = err_set(ACC_EINTERNAL, "espeak child sent a malformed message");
		goto out;
	}
	if (h.status == 2) {
		rc = err_set(ACC_ENOTFOUND, "espeak-ng has no voice '%s%s%s'", v->voice,
			     v->variant && *v->variant ? "+" : "", v->variant && *v->variant ? v->variant : "");
		err_hint("list voices with: espeak-ng --voices; variants with: espeak-ng --voices=variant");
		goto out;
	}
	if (h.status) {
		rc = err_set(h.status == 3 ? ACC_ENOMEM : ACC_EINTERNAL, "espeak-ng failed to synthesize \"%.60s\"", text);
		goto out;
	}
	if (h.n_samples < 0 || h.n_samples > MAX_SAMPLES || h.n_events < 0 || h.n_events > MAX_EVENTS ||
	    len != sizeof h + (size_t)h.n_samples * sizeof(int16_t) + (size_t)h.n_events * sizeof(msg_event)) {
		rc = err_set(ACC_EINTERNAL, "espeak child message has inconsistent sizes");
		goto out;
	}
	if (h.n_samples == 0) {
		rc = err_set(ACC_EINTERNAL, "espeak-ng produced no audio for \"%.60s\"", text);
		goto out;
	}

	/* Samples to float. */
	raw = malloc((size_t)h.n_samples * sizeof *raw);
	wstart = malloc((size_t)nw * sizeof *wstart);
	wend = malloc((size_t)nw * sizeof *wend);
	wtok = malloc((size_t)nw * sizeof *wtok);
	if (!raw || !wstart || !wend || !wtok) {
		rc = err_set(ACC_ENOMEM, "out of memory");
		goto out;
	}
	{
		const char *p = buf + sizeof h;
		for (int64_t i = 0; i < h.n_samples; i++) {
			int16_t s;
			memcpy(&s, p + i * 2, 2);
			raw[i] = (float)s / 32768.0f;
		}
	}

	/* Word events -> tokens by character position, keeping text order:
	 * espeak reports several events for one token (numbers, abbreviations)
	 * and sometimes points back into an earlier token; those are ignored. */
	{
		const char *p = buf + sizeof h + (size_t)h.n_samples * sizeof(int16_t);
		for (int64_t e = 0; e < h.n_events; e++) {
			msg_event ev;
			memcpy(&ev, p + e * (int64_t)sizeof ev, sizeof ev);
			if (ev.type != espeakEVENT_WORD || ev.text_position < 1 || ev.sample < 0 || ev.sample > h.n_samples)
				continue;
			int32_t c0 = ev.text_position - 1;
			int t = 0;
			while (t < ntok && tok[t].cend <= c0)
				t++;
			while (t < ntok && !tok[t].is_word)
				t++;
			if (t >= ntok || t <= last_tok)
				continue;
			tok[t].sample = ev.sample;
			last_tok = t;
		}
	}

	voicing vc = { raw, h.n_samples, (float)pow(10.0, VOICED_DBFS / 20.0), pow(10.0, VOICED_DBFS / 10.0) };
	int64_t sp_start = first_voiced(&vc, 0, h.n_samples), sp_end = last_voiced(&vc, 0, h.n_samples);
	if (sp_end <= sp_start) {
		rc = err_set(ACC_EINTERNAL, "espeak-ng produced only silence for \"%.60s\"", text);
		goto out;
	}

	/* Timed words: start = event; end = last voiced sample before the next timed start. */
	{
		int k = 0, ntimed = 0;
		for (int t = 0; t < ntok; t++) {
			if (!tok[t].is_word)
				continue;
			wtok[k] = t;
			wstart[k] = tok[t].sample;
			ntimed += tok[t].sample >= 0;
			k++;
		}
		if (!ntimed) {
			rc = err_set(ACC_EINTERNAL, "espeak-ng reported no word events for \"%.60s\"", text);
			goto out;
		}
		out->complete = ntimed == nw;
		int first = 1;
		for (int i = 0; i < nw; i++) {
			if (wstart[i] < 0)
				continue;
			int j = i + 1;
			while (j < nw && wstart[j] < 0)
				j++;
			int64_t next = j < nw ? wstart[j] : sp_end;
			if (first && wstart[i] < sp_start)
				wstart[i] = sp_start < next ? sp_start : wstart[i];
			first = 0;
			wend[i] = last_voiced(&vc, wstart[i], next);
			if (wend[i] <= wstart[i])
				wend[i] = next > wstart[i] ? next : wstart[i];
		}
		/* Untimed words share the span of the timed word before them (or
		 * after them, at the start), split in proportion to their length. */
		for (int i = 0; i < nw;) {
			if (wstart[i] >= 0) {
				i++;
				continue;
			}
			int a = i, b = i;
			while (b < nw && wstart[b] < 0)
				b++;
			int owner = a > 0 ? a - 1 : b;   /* b < nw when a == 0 since ntimed > 0 */
			int lo = owner < a ? owner : a, hi = owner < a ? b : b + 1;   /* words [lo, hi) share */
			int64_t s0 = wstart[owner], s1 = wend[owner];
			int total = 0, acc = 0;
			for (int q = lo; q < hi; q++)
				total += tok[wtok[q]].bend - tok[wtok[q]].bstart;
			for (int q = lo; q < hi; q++) {
				int l = tok[wtok[q]].bend - tok[wtok[q]].bstart;
				wstart[q] = s0 + (s1 - s0) * acc / total;
				acc += l;
				wend[q] = s0 + (s1 - s0) * acc / total;
			}
			i = b;
		}
	}

	/* Trim to the voiced part and pad. */
	{
		int64_t lead = (int64_t)llround(lead_s * SYNTH_RATE), trail = (int64_t)llround(trail_s * SYNTH_RATE);
		int64_t n = lead + (sp_end - sp_start) + trail, shift = lead - sp_start;
		out->samples = calloc((size_t)n, sizeof *out->samples);
		out->words = calloc((size_t)nw, sizeof *out->words);
		if (!out->samples || !out->words) {
			rc = err_set(ACC_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(out->samples + lead, raw + sp_start, (size_t)(sp_end - sp_start) * sizeof *raw);
		out->n = n;
		out->sample_rate = SYNTH_RATE;
		out->speech_start_s = (double)lead / SYNTH_RATE;
		out->speech_end_s = (double)(lead + sp_end - sp_start) / SYNTH_RATE;
		for (int i = 0; i < nw; i++) {
			token *t = &tok[wtok[i]];
			int64_t s = wstart[i] + shift, e = wend[i] + shift;
			/* samples before sp_start / after sp_end are silence and were cut */
			if (s < lead)
				s = lead;
			if (e > lead + sp_end - sp_start)
				e = lead + sp_end - sp_start;
			if (e < s)
				e = s;
			out->words[i].text = strndup(text + t->bstart, (size_t)(t->bend - t->bstart));
			if (!out->words[i].text) {
				rc = err_set(ACC_ENOMEM, "out of memory");
				out->n_words = i;
				goto out;
			}
			out->words[i].start_s = (double)s / SYNTH_RATE;
			out->words[i].end_s = (double)e / SYNTH_RATE;
			out->words[i].timed = t->sample >= 0;
		}
		out->n_words = nw;
	}
out:
	if (rc)
		synth_audio_free(out);
	free(buf);
	free(tok);
	free(raw);
	free(wstart);
	free(wend);
	free(wtok);
	return rc;
}
