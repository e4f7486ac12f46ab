/*
 * corpus.h — reading a speech corpus in any supported layout as a stream of
 * items: one audio file with the utterances (spans + transcripts + speaker
 * attributes) the layout assigns to it.  The readers never touch audio
 * content (prep's ingest decodes it) and never write into the corpus.
 *
 * Layouts (names as stored in corpora.layout):
 *   commonvoice  *.tsv with client_id, path, sentence, ..., gender, age,
 *                accents|accent, locale; clips/<path>.  validated.tsv when
 *                present, else every such TSV except invalidated/other/
 *                reported.  No quote handling.
 *   librispeech  <spk>/<chapter>/<spk>-<chapter>.trans.txt ("UTT TEXT") +
 *                UTT.flac; SPEAKERS.TXT for gender when present.
 *   kaldi        wav.scp, text, utt2spk, optional segments, spk2gender,
 *                utt2lang.  Piped commands ("... |") and ark offsets in
 *                wav.scp become rejects; they are never executed.
 *   nemo         *.json / *.jsonl lines with audio_filepath|audio_filename,
 *                duration, text, optional offset, speaker, lang.
 *   ljspeech     metadata.csv "id|text|normalized text" + wavs/<id>.wav.
 *   folder       audio files with same-stem .txt transcripts; speaker =
 *                first-level subfolder when there is one.
 *   longform     MMS style: a long audio file + same-stem .txt with one line
 *                per segment; ingest splits the audio with the VAD and keeps
 *                the lines for the align stage.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct corpus_utt {
	char  *key;          /* utterance id, unique within the corpus */
	char  *text;         /* transcript as in the corpus; NULL = none given */
	char  *speaker, *gender, *age, *accent, *lang;  /* NULL = unknown */
	double start_s, end_s;  /* span in the recording; end_s < 0 = to the end */
	char  *source;       /* where it was read, e.g. "train.tsv:17" */
	/* An utterance the reader already knows is bad (a malformed span, a
	 * conflicting duplicate): ingest records reason + message as a reject
	 * and reads nothing for it.  NULL = fine. */
	const char *reject_reason;
	char  *reject_msg;
} corpus_utt;

typedef struct corpus_item {
	char   *audio;        /* audio path relative to the root (absolute when the corpus says so) */
	char   *source;       /* where the item was read */
	double  duration_declared;  /* metadata's duration of the file (s), -1 = none */
	corpus_utt *utt;      /* utterances in this audio file */
	int     nutt;
	size_t  capu;
	int     long_form;    /* 1: whole-file transcript lines to align later (lines[]) */
	char  **lines;
	int     nlines;
	size_t  capl;
	char   *long_speaker; /* long form: speaker label (NULL = unknown) */
	/* A row rejected while parsing (no audio work): reason code + message. */
	const char *reject_reason;
	char   *reject_msg;
} corpus_item;

typedef struct corpus corpus;

/* Guess the layout of root: fills name (e.g. "librispeech").  ACC_ENOTFOUND
 * (with what was looked for) when nothing matches; ACC_EIO when root is not
 * a readable directory. */
int corpus_detect(const char *root, const char **name);

/* Open root with layout (NULL = detect).  ACC_EINVAL for an unknown layout
 * name; ACC_EFORMAT when required metadata is missing or malformed. */
int corpus_open(corpus **c, const char *root, const char *layout);
/* Next item: 1 with *it filled (release with corpus_item_clear), 0 at the
 * end, <0 on a failure that stops reading (I/O).  Malformed rows are
 * returned as items with reject_reason set, not as errors.  Audio paths are
 * checked here for every layout: a name holding a control character (line
 * break, tab, ...) is a bad_path reject (it cannot be written to line-based
 * files such as Kaldi's wav.scp); a path that leads outside the corpus
 * (absolute elsewhere, or climbing out with "..") is an outside_root reject
 * unless corpus_allow_outside() was called. */
int corpus_next(corpus *c, corpus_item *it);
/* Accept audio paths outside the corpus tree (prep --allow-outside). */
void corpus_allow_outside(corpus *c, int allow);
void corpus_close(corpus *c);
void corpus_item_clear(corpus_item *it);

/* Names of all layouts, NULL-terminated. */
extern const char *const corpus_layout_names[];

/* ---- for the layout implementations (lib/corpus_<layout>.c) ---- */

typedef struct corpus_layout {
	const char *name;
	int  (*detect)(const char *root);        /* confidence 0..100 */
	int  (*open)(corpus *c);
	int  (*next)(corpus *c, corpus_item *it);
	void (*close)(corpus *c);
} corpus_layout;

struct corpus {
	char root[4096];
	/* The tree audio paths must stay in (outside_root otherwise): the root,
	 * for Kaldi the recipe root two levels above the data directory. */
	char base[4096];
	int  allow_outside;
	const corpus_layout *L;
	void *st;            /* layout state */
};

extern const corpus_layout corpus_commonvoice, corpus_librispeech, corpus_kaldi, corpus_nemo,
	corpus_ljspeech, corpus_folder, corpus_longform;

/* Item building helpers; all return 0 or ACC_ENOMEM. */
int corpus_item_init(corpus_item *it, const char *audio, const char *source);
corpus_utt *corpus_item_add_utt(corpus_item *it, const char *key, const char *text, const char *source);
int corpus_item_add_line(corpus_item *it, const char *line);
int corpus_item_reject(corpus_item *it, const char *source, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Mark u as a reject (see corpus_utt.reject_reason); 0 or ACC_ENOMEM. */
int corpus_utt_reject(corpus_utt *u, const char *reason, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* strdup that maps "" to NULL (unknown attribute). */
char *corpus_strdup_opt(const char *s);

/* 1 when name ends with an audio extension (including ones libsndfile
 * cannot read: they are listed so that they get rejected, not ignored). */
int corpus_is_audio_name(const char *name);

/* The names in directory dir, except dot files, for which keep(dir, name,
 * ctx) is 1 (keep NULL: all), sorted bytewise.  Returns their count, with
 * *names (NULL when none) and each name for the caller to free; ACC_EIO when
 * dir cannot be listed, ACC_ENOMEM (nothing to free in both cases). */
int corpus_list_dir(const char *dir, int (*keep)(const char *dir, const char *name, void *ctx), void *ctx,
		    char ***names);

/* Depth-first walk of regular files under root in sorted order, one path
 * (relative to root) at a time.  Memory: the open directory listings and
 * the (device, inode) of every directory entered.  Each directory is read
 * once: a symbolic link back to a directory already entered (a loop, or a
 * second way to the same tree) is skipped, and so is a subdirectory that
 * cannot be listed; the walk then goes on with the next entry. */
typedef struct corpus_walk corpus_walk;
int corpus_walk_open(corpus_walk **w, const char *root);
/* 1 with *rel (valid until the next call) for a file; 2 for a directory
 * skipped, with *rel its path and corpus_walk_skip() why; 0 at the end;
 * <0 on error (out of memory). */
int corpus_walk_next(corpus_walk *w, const char **rel);
/* For the last 2 from corpus_walk_next: the reject reason ("symlink_loop",
 * "unreadable") and a message naming the directory. */
const char *corpus_walk_skip(const corpus_walk *w, const char **msg);
void corpus_walk_close(corpus_walk *w);

/* A string -> string hash map (for Kaldi's keyed files and speaker tables). */
typedef struct strmap strmap;
strmap *strmap_new(void);
int strmap_put(strmap *m, const char *key, const char *val);  /* replaces; ACC_ENOMEM */
const char *strmap_get(const strmap *m, const char *key);
size_t strmap_size(const strmap *m);  /* number of keys (0 for NULL) */
void strmap_free(strmap *m);

/* Read a whole small text file, trimmed; NULL when it cannot be used, with
 * *why (may be NULL) set to CORPUS_TEXT_UNREADABLE (err_msg() says why) or
 * CORPUS_TEXT_NUL (the file holds a NUL byte: not text). */
enum { CORPUS_TEXT_OK = 0, CORPUS_TEXT_UNREADABLE = 1, CORPUS_TEXT_NUL = 2 };
char *corpus_read_text(const char *path, int *nlines_nonempty, int *why);
