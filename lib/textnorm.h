/*
 * textnorm.h — transcript normalization: named, versioned, per-language
 * profiles built on ICU (NFKC, locale-aware lowercasing, transliteration)
 * and PCRE2 (per-language rule files).  The raw text is always kept by the
 * caller; a profile's name and version are stored with every utterance.
 */
#pragma once
#include <stddef.h>

/* Flags reported for a normalized text. */
enum {
	TEXTNORM_HAS_DIGITS   = 1 << 0, /* digits remain: needs verbalizing */
	TEXTNORM_EMPTY        = 1 << 1, /* nothing left after normalization */
	TEXTNORM_BAD_UTF8     = 1 << 2, /* input is not valid UTF-8 (nothing normalized) */
	TEXTNORM_MIXED_SCRIPT = 1 << 3, /* letters from more than one script (code-switching) */
};

typedef struct textnorm_opts {
	const char *lang;          /* ISO 639-3 or -1 code, e.g. "amh", "tr", "eng" */
	const char *profile;       /* "default" (locale-aware), "mms" (MMS data_prep compatible), "none" */
	int strip_diacritics;      /* -1 = profile default (Latin-script only when on) */
	int drop_digit_tokens;     /* MMS rule: drop tokens made only of digits */
	const char *rules_path;    /* optional PCRE2 rule file: "regex<TAB>replacement" lines */
} textnorm_opts;

typedef struct textnorm textnorm;  /* compiled profile; thread-safe to use from one thread each */

/* Compile a profile.  Errors name the ICU or PCRE2 cause (with rule file
 * line number). */
int textnorm_open(textnorm **tn, const textnorm_opts *opts);
void textnorm_close(textnorm *tn);

/* Profile identity stored with each utterance, e.g. "default-tur" / 1. */
const char *textnorm_profile_name(const textnorm *tn);
int textnorm_profile_version(const textnorm *tn);

/* Normalize NUL-terminated UTF-8 `in`; *out is malloc'ed UTF-8.  *flags gets
 * TEXTNORM_* bits.  Returns ACC_EFORMAT for invalid UTF-8 (flags has
 * TEXTNORM_BAD_UTF8). */
int textnorm_apply(textnorm *tn, const char *in, char **out, int *flags);

/* Romanize (ICU "Any-Latin; Latin-ASCII"), for romanized aligner models. */
int textnorm_romanize(const char *in, char **out);
