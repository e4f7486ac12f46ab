/*
 * relabel.h — `prep relabel`: change the language of utterances already in
 * the manifest and normalize their transcripts again from text_raw (a
 * language's lowercasing and rules differ, and re-running `prep ingest`
 * with another --lang adds nothing for files already there).
 *
 * The selected utterances (every one, or those of one language, or of one
 * corpus root) get utterances.lang = the new label, and text_norm,
 * norm_profile, norm_version and the TEXTNORM flags recomputed with the
 * profile and options given; their speakers' lang and their long
 * recordings' long_texts lines follow.  Alignments become stale by
 * themselves (align_hash covers text and language).  One transaction, one
 * runs row (stage 'relabel').
 */
#pragma once
#include <stdint.h>

typedef struct relabel_opts {
	const char *manifest_path;  /* default data.db */
	const char *lang;           /* the new label; NULL = each utterance's own label resolved
	                             * again (ISO 639-3, against model_langs when given) */
	const char *from;           /* only utterances whose lang is this (NULL = any) */
	const char *corpus;         /* only utterances of the corpus with this root (NULL = any) */
	const char *norm_profile;   /* textnorm profile (NULL = default) */
	const char *rules_path;
	int strip_diacritics, drop_digit_tokens, strip_harakat;   /* -1 = the profile's default */
	char *const *model_langs;   /* languages of a model's vocab.json (langcode_resolve) */
	int n_model_langs;
	int argc;                   /* command line for the runs row */
	char **argv;
} relabel_opts;

typedef struct relabel_summary {
	int64_t utterances;         /* selected */
	int64_t relabeled;          /* whose lang changed */
	int64_t text_changed;       /* whose text_norm changed */
	int64_t lines;              /* long_texts lines normalized again */
} relabel_summary;

/* Fill o: every string NULL, textnorm options -1. */
void relabel_opts_default(relabel_opts *o);

/* Relabel (see above).  ACC_EINVAL for bad options (no lang and no model,
 * textnorm errors), ACC_ENOTFOUND when nothing is selected (the message
 * names the languages the manifest has), manifest errors. */
int relabel_run(const relabel_opts *o, relabel_summary *s);
