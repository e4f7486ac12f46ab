/*
 * export.h — write the manifest's utterances in the formats other toolkits
 * read: NeMo JSONL manifests, Kaldi data directories, Lhotse recordings +
 * supervisions JSONL, and a CSV for Hugging Face `datasets`.
 *
 * One set of files per split ('train', 'dev', 'test', and 'unassigned' for
 * utterances with no split; 'excluded' ones are never exported):
 *   nemo    OUT/<split>_manifest.json   {"audio_filepath","offset","duration","text",...} per line
 *   kaldi   OUT/<split>/{wav.scp,segments,text,utt2spk,spk2utt,utt2dur,reco2dur}
 *           (+ spk2gender when every speaker's gender is known as m/f)
 *           (sorted in C byte order, utterance ids prefixed by their speaker id)
 *   lhotse  OUT/recordings_<split>.jsonl, OUT/supervisions_<split>.jsonl
 *   hf-csv  OUT/<split>.csv  (audio,utt_id,start_s,end_s,duration_s,text,speaker,gender,accent,lang,split,weight)
 * Audio paths are absolute (corpora.root + recordings.path).  Kaldi's
 * wav.scp names WAV files directly and every other format through the
 * standard pipe "sox 'PATH' -t wav -b 16 -e signed-integer - |" (PATH
 * shell-quoted: no file name can inject a command).  Every file is
 * written under a temporary name and all are renamed into place only when
 * every one was written, so a failed export leaves the previous files.
 */
#pragma once
#include "manifest/manifest.h"
#include <stdint.h>

typedef enum export_format {
	EXPORT_NEMO, EXPORT_KALDI, EXPORT_LHOTSE, EXPORT_HF_CSV,
} export_format;

typedef struct export_opts {
	export_format format;
	const char   *out_dir;   /* created when missing */
	const char   *split;     /* only this split; NULL = every split */
	const char   *lang;      /* only this language; NULL = all */
	const char   *status;    /* only this status (default "ok") */
	int           raw_text;  /* 1: text_raw instead of text_norm */
} export_opts;
#define EXPORT_OPTS_DEFAULT { .format = EXPORT_NEMO, .out_dir = NULL, .split = NULL, .lang = NULL, .status = "ok", .raw_text = 0 }

typedef struct export_stats {
	int64_t utterances;
	int64_t recordings;      /* distinct recordings referenced (summed over splits) */
	int     files;           /* files written */
	int     splits;          /* split groups written */
} export_stats;

/* "nemo", "kaldi", "lhotse", "hf-csv" -> format; ACC_EINVAL otherwise. */
int export_parse_format(const char *name, export_format *f);
const char *export_format_name(export_format f);

/* Export; ACC_ENOTFOUND when nothing matches the filters, ACC_EIO on write
 * errors (no file replaced).  st may be NULL. */
int export_write(manifest *m, const export_opts *o, export_stats *st);
