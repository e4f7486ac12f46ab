/*
 * synth.h — speech synthesis with libespeak-ng's C API: text + voice
 * parameters -> float samples at espeak's native rate (22050 Hz) + the
 * written words with their timing, from espeak's own word events.
 *
 * Timing units (checked by tests/test_synth.c): an espeakEVENT_WORD carries
 * `sample`, the index of the first output sample of the word in the stream of
 * the current espeak_Synth() call (22050 Hz), and `audio_position`, the same
 * instant in milliseconds; `text_position` is the 1-based index of the word's
 * first CHARACTER (code point, not byte) in the UTF-8 text.  synth_speak()
 * uses `sample` (exact) and maps events to the whitespace-separated tokens of
 * the text by `text_position`.
 *
 * Word boundaries returned (seconds from the first sample of the returned
 * buffer, i.e. of the audio file when the buffer is written as is):
 *   start = the word event's sample; for the first word, no earlier than the
 *           first voiced sample (espeak starts the first word's event at 0,
 *           before any sound);
 *   end   = the next word's start, moved back over the silence that precedes
 *           it (pauses at commas and sentence ends belong to no word); for the
 *           last word, the last voiced sample.
 * "Voiced" = a 5 ms frame whose RMS is above -50 dBFS (espeak's pauses are
 * digital zeros, so the threshold only decides about fade-outs).
 *
 * Determinism and processes: espeak-ng keeps synthesis state across calls
 * (its glottal-pulse flutter and phase carry on), so the same text
 * synthesized twice in one process gives slightly different samples, and
 * espeak is not thread-safe.  So the library's process never synthesizes:
 * synth_init() initializes espeak once and forks a fork server from that
 * pristine state; the server forks one child per utterance, which sends
 * samples and events back through a pipe of the calling thread.  The result
 * depends only on (voice, parameters, text), never on call order, and any
 * number of threads may call synth_speak() at once.  The calling process
 * itself never forks after synth_init(): forking a multi-threaded process
 * (OpenMP workers) can hand the child a lock another thread held (the
 * allocator's under AddressSanitizer) and hang it, while the server is
 * single-threaded.  Hence: call synth_init() before starting threads.
 */
#pragma once
#include <stdint.h>

#define SYNTH_RATE 22050   /* espeak-ng's native output rate */

typedef struct synth_voice {
	const char *voice;    /* espeak-ng voice: "en-us", "en-gb-scotland", "am", ... */
	const char *variant;  /* espeak-ng variant: "m3", "f2", "klatt4"; NULL or "" = none */
	int rate;             /* words per minute, 80..450; 0 = espeak's default (175) */
	int pitch;            /* base pitch 0..100 (50 = normal); < 0 = default */
	int range;            /* pitch range 0..100 (50 = normal); < 0 = default */
	int wordgap;          /* extra pause between words in 10 ms units; 0 = none */
} synth_voice;

typedef struct synth_word {
	char  *text;          /* the written token, edge punctuation stripped (UTF-8) */
	double start_s, end_s;
	int    timed;         /* 1: from its own word event; 0: shares a neighbour's span */
} synth_word;

typedef struct synth_audio {
	float      *samples;  /* mono, full scale = 1.0 */
	int64_t     n;
	int         sample_rate;  /* SYNTH_RATE */
	synth_word *words;
	int         n_words;
	int         complete; /* 1 when every word got its own event, in text order */
	double      speech_start_s, speech_end_s;  /* first / last voiced sample */
} synth_audio;

/* Initialize espeak-ng once per process and start the fork server
 * (idempotent, thread-safe; after synth_shutdown() it starts a new server).
 * Call it while the process is still single-threaded, i.e. before the
 * first OpenMP parallel region or pthread_create: the server is forked here.
 * data_path: espeak-ng-data directory, NULL = the installed default (only
 * the first successful call's path counts).  ACC_EINTERNAL when espeak
 * cannot start (data missing) or the server cannot be forked. */
int synth_init(const char *data_path);

/* Stop the fork server: it finishes the utterances in progress, reaps its
 * children and exits; this waits for it.  Idempotent; registered with
 * atexit() by synth_init(), so programs need not call it.  No synth_speak()
 * may be running. */
void synth_shutdown(void);

/* Synthesize text (UTF-8, one utterance) with voice v.  The returned buffer
 * holds the speech trimmed to its voiced part plus lead_s seconds of silence
 * before and trail_s after (digital zeros); word times refer to this buffer.
 * Starts espeak and the server on first use (synth_init(NULL)).
 * ACC_EINVAL for empty text, a text without any word or over 64 KiB;
 * ACC_ENOTFOUND when the voice or variant does not exist; ACC_EINTERNAL when
 * espeak fails, the child dies or the server has gone (the message says
 * which); ACC_ENOMEM.  Release with synth_audio_free(). */
int synth_speak(const synth_voice *v, const char *text, double lead_s, double trail_s, synth_audio *out);

/* Free what synth_speak() allocated and zero *a (safe on a zeroed struct). */
void synth_audio_free(synth_audio *a);

/* 1 when espeak-ng knows the voice name (a file under voices/ or a language
 * code it lists), 0 otherwise.  Initializes espeak on first use. */
int synth_voice_exists(const char *voice);

/* Split text into whitespace-separated tokens and report, for the i-th token
 * that contains a letter or digit, its text with edge punctuation stripped.
 * words[] gets malloc'ed copies (caller frees each and the array).  This is
 * the word list synth_speak() times, so callers can match words without
 * synthesizing.  Returns the count (>= 0) or ACC_ENOMEM. */
int synth_words(const char *text, char ***words);
