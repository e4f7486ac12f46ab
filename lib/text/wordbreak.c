/*
 * wordbreak.c — ICU word units for scripts without spaces (see wordbreak.h).
 */
#include "text/wordbreak.h"
#include "base/err.h"
#include <stdlib.h>
#include <string.h>
#include <unicode/ubrk.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utf8.h>
#include "base/banned.h"

int wordbreak_needed(const char *s)
{
	int32_t i = 0, len = (int32_t)strlen(s);
	while (i < len) {
		UChar32 c;
		U8_NEXT(s, i, len, c);
		if (c < 0)
			return 0;
		UErrorCode st = U_ZERO_ERROR;
		UScriptCode sc = uscript_getScript(c, &st);
		if (U_SUCCESS(st) && (sc == USCRIPT_HAN || sc == USCRIPT_HIRAGANA || sc == USCRIPT_KATAKANA ||
				      sc == USCRIPT_THAI || sc == USCRIPT_LAO || sc == USCRIPT_KHMER || sc == USCRIPT_MYANMAR))
			return 1;
	}
	return 0;
}

int wordbreak_split(const char *s, const char *locale, int64_t **cuts, int *n)
{
	UChar *u = NULL;
	UBreakIterator *bi = NULL;
	int64_t *c = NULL;
	int32_t ul = 0;
	int k = 0, rc = 0;
	*cuts = NULL;
	*n = 0;
	if (!wordbreak_needed(s))
		return 0;
	UErrorCode st = U_ZERO_ERROR;
	u_strFromUTF8(NULL, 0, &ul, s, -1, &st);
	if (st != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(st))
		return err_set(ACC_EFORMAT, "word break: not valid UTF-8");
	if (!(u = malloc(sizeof(UChar) * ((size_t)ul + 1))) || !(c = malloc(sizeof(int64_t) * ((size_t)ul + 1)))) {
		rc = err_set(ACC_ENOMEM, "word break: out of memory");
		goto out;
	}
	st = U_ZERO_ERROR;
	u_strFromUTF8(u, ul + 1, NULL, s, -1, &st);
	if (U_FAILURE(st)) {
		rc = err_set(ACC_EFORMAT, "word break: not valid UTF-8 (%s)", u_errorName(st));
		goto out;
	}
	bi = ubrk_open(UBRK_WORD, locale ? locale : "", u, ul, &st);
	if (U_FAILURE(st)) {
		rc = err_set(ACC_EINTERNAL, "word break: ICU cannot open a word iterator: %s", u_errorName(st));
		goto out;
	}
	/* boundaries in UTF-16 units -> code points */
	int64_t cp = 0;
	int32_t pos = 0;
	for (int32_t b = ubrk_next(bi); b != UBRK_DONE && b < ul; b = ubrk_next(bi)) {
		while (pos < b) {
			U16_FWD_1(u, pos, ul);
			cp++;
		}
		c[k++] = cp;
	}
	if (k > 0) {
		*cuts = c;
		*n = k;
		c = NULL;
	}
out:
	ubrk_close(bi);
	free(u);
	free(c);
	return rc;
}
