/*
 * synthcorpus.h — writing a whole synthetic speech corpus (espeak-ng voices,
 * lib/synth/synth.h) in one of the layouts prep ingests, with ground truth beside
 * it.  Used by tests, `make demo` and the ingest benchmark (tools/synth).
 *
 * Speakers: per language, N speakers, each a distinct espeak-ng variant
 * (m1..m8, f1..f5, klatt1..6, named variants) with its own rate, pitch,
 * pitch range, loudness, made-up age, gender from the variant, and, for
 * English, an accent = the espeak voice (en-us, en-gb, en-gb-scotland,
 * en-029, en-us-nyc, en-gb-x-rp, en-gb-x-gbclan, en-gb-x-gbcwmd).  Everything
 * (speakers, sentence choice, pauses, noise, formats) derives from the seed
 * and the item's (language, speaker, index), and espeak output does not
 * depend on call order (synth.h), so the same options give the same bytes
 * for WAV and FLAC (MP3 too with this libsndfile; Ogg streams carry random
 * serial numbers).  Synthesis (a request to synth's fork server per
 * utterance), resampling (soxr HQ) and encoding run on OpenMP threads
 * (opts.jobs); finished units are committed in order, so the
 * output is the same for any thread count.  MP3 is written by libsndfile 1.2
 * (LAME) and decodes gaplessly: decoded frames = frames written (tested), so
 * truth times hold for MP3 too.
 *
 * Layouts (prep's names; aliases: cv = commonvoice, mms-long = longform):
 *   commonvoice  validated.tsv (client_id path sentence up_votes down_votes
 *                age gender accents variant locale segment) + clips/<name>.mp3
 *                (48 kHz); client_id = 64 hex chars; locale = "en", "am".
 *   librispeech  <spk>/<chapter>/<spk>-<chapter>-NNNN.flac (16 kHz) +
 *                <spk>-<chapter>.trans.txt (upper case, punctuation removed
 *                except apostrophes) + SPEAKERS.TXT; numeric speaker ids.
 *   kaldi        wav.scp text utt2spk spk2utt spk2gender utt2lang (sorted,
 *                C locale) + wav/<utt>.wav (16 kHz); with long recordings also
 *                segments (every utterance then has a segment; short files
 *                get one covering the whole file).
 *   nemo         manifest.jsonl (audio_filepath relative to the manifest,
 *                duration, text, speaker, lang; offset for the pieces of long
 *                recordings, written consecutively) + audio/<spk>/<utt>.wav.
 *   ljspeech     metadata.csv ("id|text|text", no header) + wavs/<id>.wav at
 *                22050 Hz; speakers are not represented in this layout.
 *   folder       <spk>/<utt>.wav + <utt>.txt (one line).
 *   longform     <spk>/<spk>-LNN.wav: one long recording per speaker session
 *                (utterances joined with 0.3-1.5 s pauses, background noise
 *                at --noise-snr, default 30 dB) + same-stem .txt, one line
 *                per utterance (>= 2 lines, so prep detects the layout).
 * Extra long recordings (n_long per language) are possible in kaldi
 * (segments) and nemo (offset); in longform n_long is the number of
 * sessions per speaker.  Languages: ISO 639-3 codes ("eng", "amh"; the
 * aliases "en", "am" work); kaldi utt2lang, nemo lang and the ground truth
 * use the 639-3 code, commonvoice the CV locale.
 *
 * Ground truth in <out>/_truth/ (outside every layout's own files; all
 * tab-separated with a header line, UTF-8, times in seconds, 6 decimals):
 *   utterances.tsv  utt_key speaker lang gender accent text file start_s end_s
 *                   speech_start_s speech_end_s words_complete
 *       file: audio path relative to <out>.  [start_s, end_s): the
 *       utterance's span in that file: 0 .. file duration for one-utterance
 *       files; for long recordings the speech span widened by up to 0.15 s
 *       (never past half the neighbouring pause) = what kaldi segments / nemo
 *       offsets say.  speech_*: first/last voiced sample (-50 dBFS).
 *       words_complete: 1 when espeak gave every word its own event (0 when some
 *       word has timed = 0 in words.tsv).
 *       speaker: the label the layout uses (CV client_id, LibriSpeech number,
 *       "eng_s003" elsewhere).
 *   words.tsv       utt_key index word start_s end_s timed
 *       word: the whitespace token with edge punctuation stripped; timed: 1
 *       when espeak gave the word its own event, 0 when espeak spoke it
 *       merged with the previous word ("in the", digit groups): then its
 *       start and the previous word's end are a proportional split, not a
 *       measurement, so score boundaries only between timed words.  Times
 *       relative to the START OF THE AUDIO FILE named in utterances.tsv (so
 *       for long recordings, relative to the long recording), see synth.h
 *       for what a word boundary is.
 *   speakers.tsv    speaker lang gender age accent voice variant rate pitch range
 *   recordings.tsv  file kind container codec sample_rate channels frames duration_s n_utts
 *       kind: short | long.  frames at the file's own rate.
 *   bad.tsv         kind file key expected_reason (with --with-bad): corrupt,
 *       empty_text, missing_file, duplicate_audio — items deliberately broken
 *       so ingest's reject paths can be checked; not in utterances.tsv.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct synthcorpus_opts {
	const char *out_dir;        /* created when missing */
	const char *layout;         /* see above */
	const char *langs;          /* comma list, e.g. "eng,amh" */
	const char *text_dir;       /* <lang>.txt sentence files (NULL = "data/text") */
	int speakers;               /* per language (>= 1) */
	int utts_per_speaker;       /* short utterances per speaker; longform: per speaker over all sessions */
	int n_long;                 /* kaldi/nemo: extra long recordings per language; longform: sessions per speaker */
	int utts_per_long;          /* utterances joined in one extra long recording (default 8) */
	double noise_snr_db;        /* < 0 = default: clean short files, 30 dB in long recordings */
	double hours;               /* > 0: keep adding rounds until this much audio (overrides utts_per_speaker) */
	uint64_t seed;
	int mix_formats;            /* vary container, rate, channels per file */
	const char *format;         /* wav|flac|ogg|mp3|opus; NULL = layout default */
	int sample_rate;            /* 0 = layout default */
	int channels;               /* 0 = 1 */
	int with_bad;               /* add the bad items of bad.tsv */
	int force;                  /* write into a non-empty out_dir */
	int jobs;                   /* worker threads; 0 = OpenMP's default (all cores).  Output is the same for any value. */
	/* Called after every written audio file (may be NULL). */
	void (*progress)(void *ctx, int64_t files_done, double audio_s_done);
	void *progress_ctx;
} synthcorpus_opts;

typedef struct synthcorpus_stats {
	int64_t utterances;         /* good utterances (rows of utterances.tsv) */
	int64_t files;              /* audio files written (bad ones included) */
	int64_t speakers, long_recordings, bad_items, words;
	double audio_s;             /* duration of all good audio files */
	double synth_wall_s;        /* wall time spent in espeak (synth_speak) */
	double wall_s;              /* total wall time */
} synthcorpus_stats;

/* Defaults: layout "folder", langs "eng,amh", 4 speakers x 5 utterances,
 * utts_per_long 8, noise -1, seed 1, text_dir NULL. */

/* Where the sentence files (<lang>.txt) are when --text-dir is not given,
 * so that synth works from anywhere: ./data/text (a source-tree working
 * directory), then next to the running binary — <exe>/../data/text (bin/ of
 * a source tree) and <exe>/../share/accent/text (an installed prefix) —
 * then installed_dir (the build's PREFIX/share/accent/text).  The first
 * that exists goes to dst; ACC_ENOTFOUND naming every place tried, with a
 * hint, when none does. */
int synthcorpus_text_dir(const char *installed_dir, char *dst, size_t cap);
void synthcorpus_opts_init(synthcorpus_opts *o);

/* Canonical layout name for name or alias; NULL when unknown. */
const char *synthcorpus_layout(const char *name);

/* Write the corpus.  ACC_EINVAL for bad options (unknown layout/language, a
 * layout that cannot hold long recordings, a non-empty out_dir without
 * force), ACC_ENOTFOUND for a missing sentence file or espeak voice, ACC_EIO
 * for write failures (libsndfile's message).  st (optional) gets counts. */
int synthcorpus_write(const synthcorpus_opts *o, synthcorpus_stats *st);
