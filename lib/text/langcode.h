/*
 * langcode.h — language codes as corpora write them (Common Voice's
 * 2-letter locales "en", "cy", "fa", tags like "sv-SE") mapped to the ISO
 * 639-3 codes MMS vocabularies use ("eng", "cym"), with ICU's
 * uloc_getISO3Language; and, given the languages a model's vocab.json
 * has, a macrolanguage resolved to the individual language the model has
 * ("fa" -> "fas" -> "pes").
 */
#pragma once
#include <stddef.h>

/* ISO 639-3 code of a language code or locale tag ("en", "en-US", "pt_BR",
 * "eng"): ICU's 3-letter code of its language part; a code ICU does not
 * know ("tst", "und", "cnh") is kept as it is.  Lowercase on output.
 * ACC_EINVAL for an empty code or one that does not fit cap. */
int langcode_iso3(const char *code, char *dst, size_t cap);

/* Resolve code against a model's languages (targets, NULL/0 = no model):
 *   1. code itself when the model has it;
 *   2. its ISO 639-3 code (langcode_iso3);
 *   3. when that is a macrolanguage the model lacks, the first of its
 *      individual languages (ISO 639-3 macrolanguage mappings, most widely
 *      spoken first) that the model has.
 * dst gets the chosen code; why (may be NULL) a sentence saying what was
 * chosen and why when it differs from code ("" otherwise), e.g. "'fa' is
 * ISO 639-3 'fas', a macrolanguage; the model has its individual language
 * 'pes' (also: prs)".  Without a model match the ISO 639-3 code is chosen
 * and why says the model lacks it.  ACC_EINVAL as langcode_iso3. */
int langcode_resolve(const char *code, char *const *targets, int ntargets, char *dst, size_t cap, char *why,
                     size_t whycap);

/* Interned langcode_resolve for the many rows of a corpus: the same
 * pointer for the same code, valid until the process ends; thread-safe.
 * Returns code itself when resolution fails (the caller's string). */
const char *langcode_label(const char *code, char *const *targets, int ntargets);

/* The mappings langcode_label made that changed a code, one "why"
 * sentence per line, for the binaries to print ("" when none). */
void langcode_label_notes(char *dst, size_t cap);
