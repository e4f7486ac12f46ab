/*
 * wordbreak.h — word units for scripts written without spaces (Chinese,
 * Japanese, Thai, Lao, Khmer, Burmese): ICU's word BreakIterator (its
 * dictionaries for these scripts) cuts a run of text that has no spaces
 * into words, so word tiers and subtitles show words, not sentences.
 */
#pragma once
#include <stdint.h>

/* Whether the UTF-8 string holds a letter of a script written without
 * spaces (Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar). */
int wordbreak_needed(const char *s);

/* Cut the UTF-8 word s (no whitespace) into ICU word units for locale
 * (e.g. "cmn", "ja", "tha"; NULL = root).  *cuts (malloc'ed, NULL when
 * *n == 0) gets the code-point offsets where pieces 2..n+1 start, in
 * increasing order; *n = 0 when s is one unit or holds no such script.
 * ACC_EFORMAT for invalid UTF-8, ACC_EINTERNAL for an ICU failure. */
int wordbreak_split(const char *s, const char *locale, int64_t **cuts, int *n);
