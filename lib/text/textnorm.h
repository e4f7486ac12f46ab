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
	TEXTNORM_HAS_DIGITS   = 1 << 0, /* digits (Unicode Nd/No) remain: needs verbalizing */
	TEXTNORM_EMPTY        = 1 << 1, /* nothing left after normalization */
	TEXTNORM_BAD_UTF8     = 1 << 2, /* input is not valid UTF-8 (nothing normalized) */
	TEXTNORM_MIXED_SCRIPT = 1 << 3, /* letters from more than one script (code-switching) */
};

/* Profile versions: bumped whenever a profile's output for some input
 * changes, so manifests can tell which utterances need re-normalizing. */
#define TEXTNORM_DEFAULT_VERSION 1
#define TEXTNORM_MMS_VERSION     1
#define TEXTNORM_NONE_VERSION    1

/* Integer options: -1 = the profile's default, 0 = off, 1 = on. */
typedef struct textnorm_opts {
	const char *lang;          /* ISO 639-3 or -1 code, e.g. "amh", "tr", "eng" (NULL = "und") */
	const char *profile;       /* "default" (locale-aware), "mms" (MMS data_prep compatible), "none" (NULL = "default") */
	int strip_diacritics;      /* Latin-script marks only (café -> cafe); default: off, mms: on for jav only */
	int drop_digit_tokens;     /* MMS rule: drop tokens made only of digits; default: off, mms: on */
	const char *rules_path;    /* optional PCRE2 rule file: "regex<TAB>replacement" lines */
	int strip_harakat;         /* Arabic harakat U+064B..U+065F, U+0670 (mms always drops U+064B..U+0652) */
} textnorm_opts;

/* Fill *o with NULL strings and every integer option -1 (profile default).
 * Start from this: a zeroed struct means "explicitly off" for each option. */
void textnorm_opts_default(textnorm_opts *o);

typedef struct textnorm textnorm;  /* compiled profile; thread-safe to use from one thread each */

/* Compile a profile.  Errors: ACC_EINVAL (unknown profile, bad language
 * code), ACC_EIO/ACC_ENOTFOUND (rule file), ACC_EFORMAT ("file:line: " +
 * PCRE2's message).  Cost: cheap, ~0.3 ms with rules/eng.rules (ICU
 * normalizer singletons, one PCRE2 compile + JIT per rule line; no
 * transliterator): open one per worker thread. */
int textnorm_open(textnorm **tn, const textnorm_opts *opts);
void textnorm_close(textnorm *tn);

/* Profile identity stored with each utterance: "<profile>-<lang3>" plus the
 * options that differ from the profile's defaults ("+strip", "+nostrip",
 * "+harakat", "+dropdigits", "+keepdigits", "+rules:<name>@<fnv1a of the
 * rule file>"), e.g. "default-tur" / 1, "mms-amh+rules:amh@1c9a04f2" / 1. */
const char *textnorm_profile_name(const textnorm *tn);
int textnorm_profile_version(const textnorm *tn);

/* Normalize NUL-terminated UTF-8 `in`; *out is malloc'ed UTF-8 (NFC in the
 * default profile; NULL on error).  *flags gets TEXTNORM_* bits; an empty result is TEXTNORM_EMPTY
 * and returns 0.  Returns ACC_EFORMAT for invalid UTF-8 (flags has
 * TEXTNORM_BAD_UTF8) and for a rule that fails at run time (PCRE2 match
 * limit; the message names file:line). */
int textnorm_apply(textnorm *tn, const char *in, char **out, int *flags);

/* Romanize (ICU "Any-Latin; Latin-ASCII"), for romanized aligner models.
 * Thread-safe: the transliterator is opened once per process (~15 ms) and
 * cloned once per calling thread.  A few Latin letters with no ASCII
 * mapping (e.g. U+01DD from Ethiopic) can remain.  ACC_EFORMAT for invalid
 * UTF-8. */
int textnorm_romanize(const char *in, char **out);
