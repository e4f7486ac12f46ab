/*
 * textnorm.c — transcript normalization profiles (ICU + PCRE2).
 *
 * Three profiles, each named "<profile>-<lang>" plus the options that differ
 * from the profile's defaults, and versioned (TEXTNORM_*_VERSION):
 *
 *   default  locale-aware: NFKC, format characters (zero-width, bidi, BOM,
 *            soft hyphen) deleted, lowercasing with the language's locale
 *            (Turkish/Azeri dotted and dotless i), apostrophe/hyphen
 *            unification, PCRE2 rules, bracketed text holding digits
 *            removed, punctuation and symbols (the MMS data_prep set plus
 *            Unicode P and Sm/Sc/So) turned into spaces with ASCII ' - and
 *            U+00B7 kept inside words, optional harakat / Latin diacritic
 *            stripping, optional digit-token dropping, whitespace collapsed,
 *            NFC.
 *   mms      fairseq examples/mms/data_prep text_normalize() step by step,
 *            with its character sets as data (below) and its quirks.
 *   none     only PCRE2 rules (when given) and whitespace collapsing.
 *
 * Work happens on an array of code points; ICU is called through UTF-16
 * and PCRE2 through UTF-8.  A textnorm keeps scratch buffers and PCRE2
 * match data, so one handle serves one thread at a time.
 */
#include "text/textnorm.h"
#include "base/err.h"
#include "base/fsutil.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uchar.h>
#include <unicode/uloc.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>
#include "base/banned.h"

enum { TN_DEFAULT, TN_MMS, TN_NONE };

/* MMS per-language tweaks from norm_config.py. */
enum { MMS_MON = 1, MMS_HEB = 2, MMS_THA = 4, MMS_JAV = 8 };

typedef struct { uint32_t lo, hi; } cprange;

/*
 * The MMS data_prep punctuation set, as data.  Origin: fairseq,
 * examples/mms/data_prep/norm_config.py (shared_punc_list = basic_punc +
 * all_punct_quotes + < > + Spanish, Armenian, Arabic, Hindi, Chinese sets)
 * and examples/mms/data_prep/punctuations.lst (the character of each line;
 * taken here from the line's code point column, because the control and
 * private-use characters of its "INVALID UNICODE" lines do not survive
 * copying).  text_normalize() replaces each of these with a space.
 * Entries that NFKC rewrites (full-width forms, fractions, U+2026 ...) can
 * never match after the NFKC step; they are kept so the set reads like its
 * source.
 */
static const cprange mms_punct[] = {
	/* norm_config.py basic_punc: . ? , : ! { } */
	{0x2E, 0x2E}, {0x3F, 0x3F}, {0x2C, 0x2C}, {0x3A, 0x3A}, {0x21, 0x21}, {0x7B, 0x7B}, {0x7D, 0x7D},
	/* all_punct_quotes: “ ” « » ‹ › „ ‚ ‟ ‛ ’ ‘ */
	{0x201C, 0x201C}, {0x201D, 0x201D}, {0xAB, 0xAB}, {0xBB, 0xBB}, {0x2039, 0x2039}, {0x203A, 0x203A},
	{0x201E, 0x201E}, {0x201A, 0x201A}, {0x201F, 0x201F}, {0x201B, 0x201B}, {0x2019, 0x2019}, {0x2018, 0x2018},
	/* > < ¿ 。 ; */
	{0x3E, 0x3E}, {0x3C, 0x3C}, {0xBF, 0xBF}, {0x3002, 0x3002}, {0x3B, 0x3B},
	/* armenian_punc U+055A..U+055F, U+0589 */
	{0x55A, 0x55F}, {0x589, 0x589},
	/* ¡ ، 、 । " ؛ ؟ */
	{0xA1, 0xA1}, {0x60C, 0x60C}, {0x3001, 0x3001}, {0x964, 0x964}, {0x22, 0x22}, {0x61B, 0x61B}, {0x61F, 0x61F},
	/* chinese_punc */
	{0xFF0C, 0xFF0C}, {0xFF01, 0xFF01}, {0xFF1F, 0xFF1F}, {0xFF1B, 0xFF1B}, {0xFF1A, 0xFF1A},
	{0xFF08, 0xFF09}, {0x300C, 0x300F}, {0xFF41, 0xFF44}, {0x3008, 0x300B}, {0xFE4F, 0xFE4F},
	{0x22EF, 0x22EF}, {0x2027, 0x2027}, {0xFF0F, 0xFF0F}, {0xFF5E, 0xFF5E}, {0x2500, 0x2500}, {0xFF3F, 0xFF3F},
	/* punctuations.lst, "INVALID UNICODE" lines: C0/C1 controls ... */
	{0x81, 0x81}, {0x90, 0x90}, {0x08, 0x08}, {0x8D, 0x8D}, {0x94, 0x94}, {0x8F, 0x8F}, {0x1A, 0x1A},
	{0x9D, 0x9D}, {0x93, 0x93}, {0x92, 0x92},
	/* ... and private-use code points */
	{0xE295, 0xE295}, {0xF21D, 0xF21D}, {0xF62D, 0xF62D}, {0xF173, 0xF173}, {0xE514, 0xE514},
	{0xE293, 0xE293}, {0xF523, 0xF523}, {0xE233, 0xE233}, {0xF50F, 0xF50F}, {0xE232, 0xE232},
	{0xEA7B, 0xEA7B}, {0xF172, 0xF172}, {0xE290, 0xE290}, {0xF519, 0xF519}, {0xE292, 0xE292},
	{0xE328, 0xE328}, {0xE2FA, 0xE2FA}, {0xE234, 0xE234}, {0xE043, 0xE043}, {0xE040, 0xE040},
	{0xE2FB, 0xE2FB}, {0xE32B, 0xE32B}, {0xE236, 0xE236}, {0xF511, 0xF511}, {0xE517, 0xE517},
	{0xE2FE, 0xE2FE}, {0xE492, 0xE492}, {0xF52D, 0xF52D}, {0xE2FC, 0xE2FC}, {0xF521, 0xF521},
	{0xE516, 0xE516}, {0xE041, 0xE041}, {0xF529, 0xF529}, {0xE2F9, 0xE2F9}, {0xE2D9, 0xE2D9},
	{0xE32A, 0xE32A}, {0xE291, 0xE291}, {0xE296, 0xE296}, {0xE518, 0xE518}, {0xE32C, 0xE32C},
	{0xE2DB, 0xE2DB}, {0xE231, 0xE231}, {0xF522, 0xF522}, {0xF518, 0xF518}, {0xF513, 0xF513},
	{0xE32D, 0xE32D}, {0xE32E, 0xE32E}, {0xE06B, 0xE06B}, {0xEA01, 0xEA01}, {0xE294, 0xE294},
	{0xE203, 0xE203}, {0xF218, 0xF218}, {0xE070, 0xE070}, {0xE013, 0xE013}, {0xE2DE, 0xE2DE},
	{0xE493, 0xE493}, {0xF7E8, 0xF7E8}, {0xF7D0, 0xF7D0}, {0xE313, 0xE313}, {0xE329, 0xE329},
	{0xE06D, 0xE06D}, {0xE003, 0xE003}, {0xF50E, 0xF50E}, {0xF171, 0xF171}, {0xE01D, 0xE01D},
	/* punctuations.lst, named lines, in file order */
	{0x206F, 0x206F}, {0x2060, 0x2060}, {0x2015, 0x2015}, {0x5BE, 0x5BE}, {0x29, 0x29}, {0x5D, 0x5D},
	{0x230B, 0x230B}, {0x3015, 0x3015}, {0x3011, 0x3011}, {0xFD3E, 0xFD3E}, {0x26, 0x26}, {0xF0D, 0xF0D},
	{0x1362, 0x1362}, {0x1365, 0x1365}, {0xF0C, 0xF0C}, {0x104B, 0x104B}, {0x2F, 0x2F}, {0x104A, 0x104A},
	{0xB7, 0xB7}, {0x2038, 0x2038}, {0x2A, 0x2A}, {0x6D4, 0x6D4}, {0x1364, 0x1364}, {0x104F, 0x104F},
	{0x17D4, 0x17D4}, {0xA4FE, 0xA4FE}, {0x166E, 0x166E}, {0xA92F, 0xA92F}, {0x2D70, 0x2D70},
	{0xA4FF, 0xA4FF}, {0x965, 0x965}, {0x61E, 0x61E}, {0x104D, 0x104D}, {0x387, 0x387}, {0x2020, 0x2020},
	{0x104C, 0x104C}, {0x1363, 0x1363}, {0x17D6, 0x17D6}, {0xA92E, 0xA92E}, {0x203B, 0x203B},
	{0x1366, 0x1366}, {0x2022, 0x2022}, {0xB6, 0xB6}, {0x104E, 0x104E}, {0xFE56, 0xFE56}, {0x37E, 0x37E},
	{0x2026, 0x2026}, {0x25, 0x25}, {0x30FB, 0x30FB}, {0xF0E, 0xF0E}, {0x2021, 0x2021}, {0x23, 0x23},
	{0x40, 0x40}, {0x1361, 0x1361}, {0x17DA, 0x17DA}, {0x17D5, 0x17D5}, {0xFE50, 0xFE50}, {0xF05, 0xF05},
	{0xF04, 0xF04}, {0xFF0E, 0xFF0E}, {0xFE57, 0xFE57}, {0xFE55, 0xFE55}, {0x2030, 0x2030},
	{0xFF65, 0xFF65}, {0x28, 0x28}, {0x5B, 0x5B}, {0x230A, 0x230A}, {0x3014, 0x3014}, {0x3010, 0x3010},
	{0xFD3F, 0xFD3F}, {0x5F, 0x5F}, {0x24, 0x24}, {0x20AC, 0x20AC}, {0xA3, 0xA3}, {0x7E, 0x7E},
	{0x3D, 0x3D}, {0x7C, 0x7C}, {0x2212, 0x2212}, {0x226B, 0x226B}, {0x226A, 0x226A}, {0x2B, 0x2B},
	{0xFF1C, 0xFF1C}, {0xFF1E, 0xFF1E}, {0xAC, 0xAC}, {0xD7, 0xD7}, {0x2192, 0x2192}, {0x166D, 0x166D},
	{0xB0, 0xB0}, {0x109F, 0x109F}, {0xFFFD, 0xFFFD}, {0x231F, 0x231F}, {0x231E, 0x231E}, {0xA9, 0xA9},
	{0x202F, 0x202F}, {0x2006, 0x2006}, {0x2DC, 0x2DC}, {0x5E, 0x5E}, {0xAF, 0xAF}, {0x2C7, 0x2C7},
	{0x207F, 0x207F}, {0x640, 0x640}, {0xE46, 0xE46}, {0x17D7, 0x17D7}, {0x3005, 0x3005}, {0xEC6, 0xEC6},
	{0x30FC, 0x30FC}, {0x2071, 0x2071}, {0x9F7, 0x9F7}, {0x2153, 0x2153}, {0xBD, 0xBD}, {0xBC, 0xBC},
	{0x215F, 0x215F}, {0x2044, 0x2044},
};

/* norm_config.py shared_deletion_list: deleted (not spaced) by MMS. */
static const cprange mms_delete[] = {
	{0x200E, 0x200E}, {0x200C, 0x200C}, {0x656, 0x657}, {0x200B, 0x200B},
	{0x64B, 0x652}, {0x202C, 0x202C}, {0x200F, 0x200F}, {0x202A, 0x202A},
};

/* norm_config.py shared_digits: the digits of MMS's digit-only-token rule
 * (note: not all of Unicode Nd; Arabic-Indic U+0660.. is absent). */
static const cprange mms_digits[] = {
	{0x30, 0x39}, {0x9E6, 0x9EF}, {0x17E0, 0x17E9}, {0x966, 0x96F}, {0xB66, 0xB6F}, {0x6F0, 0x6F9},
	{0xA900, 0xA909}, {0xFF10, 0xFF19}, {0xD66, 0xD6F}, {0x1040, 0x1049}, {0x2170, 0x2179}, {0x206F, 0x206F},
};

/*
 * Members of the MMS set that are letters or word-internal marks of some
 * orthography (general category Lm): MMS turns them into spaces, which
 * splits Thai, Lao, Khmer, Japanese and Chinese words; the default profile
 * keeps them.  Tatweel (U+0640) is typographic elongation inside a word:
 * the default profile deletes it.
 */
static const cprange default_keep[] = {
	{0xE46, 0xE46},   /* THAI CHARACTER MAIYAMOK */
	{0xEC6, 0xEC6},   /* LAO KO LA */
	{0x17D7, 0x17D7}, /* KHMER SIGN LEK TOO */
	{0x3005, 0x3005}, /* IDEOGRAPHIC ITERATION MARK */
	{0x30FC, 0x30FC}, /* KATAKANA-HIRAGANA PROLONGED SOUND MARK */
	/* Po characters that are parts of words or numbers, not punctuation */
	{0xF0B, 0xF0B},   /* TIBETAN MARK INTERSYLLABIC TSHEG */
	{0x5F3, 0x5F4},   /* HEBREW PUNCTUATION GERESH, GERSHAYIM */
	{0x66B, 0x66C},   /* ARABIC DECIMAL / THOUSANDS SEPARATOR */
};

/* Python str.isspace(), which is what MMS's \s, split() and strip() use. */
static int py_isspace(uint32_t c)
{
	return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
	       c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
	       c == 0x202F || c == 0x205F || c == 0x3000;
}

static int any_space(uint32_t c)
{
	return py_isspace(c) || u_isUWhiteSpace((UChar32)c);
}

/* The sets are BMP-only: one byte of set bits per BMP code point, built
 * once per process, so the per-character test is a lookup. */
enum { SET_MMS_PUNCT = 1, SET_MMS_DELETE = 2, SET_MMS_DIGIT = 4, SET_DEFAULT_KEEP = 8 };
static uint8_t bmp_sets[0x10000];
static pthread_once_t bmp_once = PTHREAD_ONCE_INIT;

static void bmp_mark(const cprange *r, size_t n, uint8_t bit)
{
	for (size_t i = 0; i < n; i++)
		for (uint32_t c = r[i].lo; c <= r[i].hi && c < 0x10000; c++)
			bmp_sets[c] |= bit;
}

static void bmp_init(void)
{
	bmp_mark(mms_punct, sizeof mms_punct / sizeof *mms_punct, SET_MMS_PUNCT);
	bmp_mark(mms_delete, sizeof mms_delete / sizeof *mms_delete, SET_MMS_DELETE);
	bmp_mark(mms_digits, sizeof mms_digits / sizeof *mms_digits, SET_MMS_DIGIT);
	bmp_mark(default_keep, sizeof default_keep / sizeof *default_keep, SET_DEFAULT_KEEP);
}

static int in_set(uint32_t c, int set)
{
	return c < 0x10000 && (bmp_sets[c] & set);
}

/* ---- code point buffers ------------------------------------------------ */

typedef struct { uint32_t *c; size_t n, cap; } u32buf;

/* Strict UTF-8 decoding (no overlongs, surrogates or values past U+10FFFF).
 * Returns the byte offset of the first bad sequence, or -1 when valid. */
static long utf8_decode(const unsigned char *s, size_t len, u32buf *out)
{
	size_t i = 0;
	out->n = 0;
	if (ARRAY_GROW(out->c, out->cap, len + 1))
		return -2;
	while (i < len) {
		uint32_t c = s[i], min;
		int k;
		if (c < 0x80) { out->c[out->n++] = c; i++; continue; }
		else if ((c & 0xE0) == 0xC0) { k = 1; c &= 0x1F; min = 0x80; }
		else if ((c & 0xF0) == 0xE0) { k = 2; c &= 0x0F; min = 0x800; }
		else if ((c & 0xF8) == 0xF0) { k = 3; c &= 0x07; min = 0x10000; }
		else return (long)i;
		for (int j = 1; j <= k; j++) {
			if (i + j >= len || (s[i + j] & 0xC0) != 0x80)
				return (long)i;
			c = (c << 6) | (s[i + j] & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return (long)i;
		out->c[out->n++] = c;
		i += k + 1;
	}
	return -1;
}

static size_t utf8_encode_len(const u32buf *b)
{
	size_t n = 0;
	for (size_t i = 0; i < b->n; i++)
		n += b->c[i] < 0x80 ? 1 : b->c[i] < 0x800 ? 2 : b->c[i] < 0x10000 ? 3 : 4;
	return n;
}

static void utf8_encode(const u32buf *b, char *dst)
{
	unsigned char *o = (unsigned char *)dst;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->c[i];
		if (c < 0x80) {
			*o++ = (unsigned char)c;
		} else if (c < 0x800) {
			*o++ = 0xC0 | (c >> 6);
			*o++ = 0x80 | (c & 0x3F);
		} else if (c < 0x10000) {
			*o++ = 0xE0 | (c >> 12);
			*o++ = 0x80 | ((c >> 6) & 0x3F);
			*o++ = 0x80 | (c & 0x3F);
		} else {
			*o++ = 0xF0 | (c >> 18);
			*o++ = 0x80 | ((c >> 12) & 0x3F);
			*o++ = 0x80 | ((c >> 6) & 0x3F);
			*o++ = 0x80 | (c & 0x3F);
		}
	}
	*o = 0;
}

/* ---- the compiled profile ---------------------------------------------- */

typedef struct {
	pcre2_code *re;
	PCRE2_UCHAR *repl;
	size_t repl_len;
	int line;
} tn_rule;

struct textnorm {
	int profile;
	char lang[16];        /* primary language subtag as given, lowercased */
	char lang3[16];       /* ISO 639-3 where ICU knows it, else lang */
	int strip_diacritics; /* resolved: 0/1 */
	int strip_harakat;
	int drop_digits;
	int mms_lang;         /* MMS_* tweaks */
	int keep_dot_above;   /* Lithuanian keeps i + U+0307 from lowercasing */
	tn_rule *rules;
	int nrules;
	char *rules_path;
	pcre2_match_data *md;
	char name[160];
	int version;
	const UNormalizer2 *nfkc, *nfc, *nfd;
	/* scratch, reused across calls */
	u32buf a, b;
	UChar *w16, *x16;
	size_t w16cap, x16cap;
	char *s8, *t8;
	size_t s8cap, t8cap;
};

/* tn->a -> tn->w16 (UTF-16), length in *n16. */
static int a_to_u16(textnorm *tn, int32_t *n16)
{
	int32_t n = 0;
	if (ARRAY_GROW(tn->w16, tn->w16cap, tn->a.n * 2 + 1))
		return ACC_ENOMEM;
	for (size_t i = 0; i < tn->a.n; i++) {
		uint32_t c = tn->a.c[i];
		if (c >= 0x10000) {
			tn->w16[n++] = (UChar)(0xD7C0 + (c >> 10));
			tn->w16[n++] = (UChar)(0xDC00 | (c & 0x3FF));
		} else {
			tn->w16[n++] = (UChar)c;
		}
	}
	*n16 = n;
	return 0;
}

static int u16_to_a(textnorm *tn, const UChar *s, int32_t n)
{
	if (ARRAY_GROW(tn->a.c, tn->a.cap, (size_t)n + 1))
		return ACC_ENOMEM;
	tn->a.n = 0;
	for (int32_t i = 0; i < n;) {
		UChar32 c;
		U16_NEXT(s, i, n, c);
		tn->a.c[tn->a.n++] = (uint32_t)c;
	}
	return 0;
}

static int icu_fail(UErrorCode st, const char *what)
{
	return err_set(ACC_EINTERNAL, "textnorm: ICU %s failed: %s", what, u_errorName(st));
}

/* Apply an ICU normalizer to tn->a. */
static int apply_norm(textnorm *tn, const UNormalizer2 *nz, const char *what)
{
	int32_t n16, m;
	UErrorCode st = U_ZERO_ERROR;
	if (a_to_u16(tn, &n16))
		return ACC_ENOMEM;
	m = unorm2_normalize(nz, tn->w16, n16, tn->x16, (int32_t)tn->x16cap, &st);
	if (st == U_BUFFER_OVERFLOW_ERROR || (U_SUCCESS(st) && (size_t)m >= tn->x16cap)) {
		st = U_ZERO_ERROR;
		if (ARRAY_GROW(tn->x16, tn->x16cap, (size_t)m + 1))
			return ACC_ENOMEM;
		m = unorm2_normalize(nz, tn->w16, n16, tn->x16, (int32_t)tn->x16cap, &st);
	}
	if (U_FAILURE(st))
		return icu_fail(st, what);
	return u16_to_a(tn, tn->x16, m);
}

/* Full lowercase mapping of tn->a with ICU locale loc ("" = root, which is
 * what Python's str.lower() does). */
static int apply_lower(textnorm *tn, const char *loc)
{
	int32_t n16, m;
	UErrorCode st = U_ZERO_ERROR;
	if (a_to_u16(tn, &n16))
		return ACC_ENOMEM;
	m = u_strToLower(tn->x16, (int32_t)tn->x16cap, tn->w16, n16, loc, &st);
	if (st == U_BUFFER_OVERFLOW_ERROR || (U_SUCCESS(st) && (size_t)m >= tn->x16cap)) {
		st = U_ZERO_ERROR;
		if (ARRAY_GROW(tn->x16, tn->x16cap, (size_t)m + 1))
			return ACC_ENOMEM;
		m = u_strToLower(tn->x16, (int32_t)tn->x16cap, tn->w16, n16, loc, &st);
	}
	if (U_FAILURE(st))
		return icu_fail(st, "lowercasing");
	return u16_to_a(tn, tn->x16, m);
}

/* ---- rule files ---------------------------------------------------------- */

static void pcre2_msg(int code, char *buf, size_t cap)
{
	if (pcre2_get_error_message(code, (PCRE2_UCHAR *)buf, cap) < 0)
		snprintf(buf, cap, "PCRE2 error %d", code);
}

/*
 * Check a replacement string with PCRE2's own parser: substitute it into an
 * empty match of a pattern that has the same groups (all unset), so unknown
 * group numbers/names and bad $ syntax are caught when the file is loaded,
 * not on the first utterance that happens to match.
 */
static int rule_check_replacement(const tn_rule *r, const char *path, char *msg, size_t cap)
{
	uint32_t ncap = 0, nname = 0, esize = 0;
	PCRE2_SPTR table = NULL;
	char *pat = NULL;
	pcre2_code *fake = NULL;
	pcre2_match_data *md = NULL;
	int rc = 0;

	pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &ncap);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMECOUNT, &nname);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(r->re, PCRE2_INFO_NAMETABLE, &table);
	size_t plen = 8 + (size_t)ncap * 4 + (size_t)nname * (esize + 8);
	pat = malloc(plen);
	if (!pat)
		return err_set(ACC_ENOMEM, "textnorm: out of memory");
	size_t o = 0;
	o += (size_t)snprintf(pat + o, plen - o, "(?J)");
	for (uint32_t g = 1; g <= ncap; g++) {
		const char *name = NULL;
		for (uint32_t k = 0; k < nname; k++) {
			const unsigned char *e = table + (size_t)k * esize;
			if ((uint32_t)((e[0] << 8) | e[1]) == g) {
				name = (const char *)e + 2;
				break;
			}
		}
		if (name)
			o += (size_t)snprintf(pat + o, plen - o, "(?<%s>)", name);
		else
			o += (size_t)snprintf(pat + o, plen - o, "()");
	}
	int ec;
	PCRE2_SIZE eo;
	fake = pcre2_compile((PCRE2_SPTR)pat, o, PCRE2_UTF, &ec, &eo, NULL);
	if (!fake)
		goto out; /* cannot build the probe: leave the check to run time */
	md = pcre2_match_data_create_from_pattern(fake, NULL);
	if (!md) {
		rc = err_set(ACC_ENOMEM, "textnorm: out of memory");
		goto out;
	}
	{
		PCRE2_UCHAR buf[64];
		PCRE2_SIZE blen = sizeof buf;
		int n = pcre2_substitute(fake, (PCRE2_SPTR) "", 0, 0,
		                         PCRE2_SUBSTITUTE_UNSET_EMPTY | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH,
		                         md, NULL, r->repl, r->repl_len, buf, &blen);
		if (n < 0 && n != PCRE2_ERROR_NOMEMORY) {
			pcre2_msg(n, msg, cap);
			rc = err_set(ACC_EFORMAT, "%s:%d: bad replacement: %s", path, r->line, msg);
		}
	}
out:
	pcre2_match_data_free(md);
	pcre2_code_free(fake);
	free(pat);
	return rc;
}

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

static int rules_load(textnorm *tn, const char *path, uint32_t *hash)
{
	char *data = NULL, msg[256];
	size_t len = 0;
	int rc = fs_read_all(path, &data, &len, 16u << 20);
	if (rc)
		return err_wrap(rc, "textnorm rules");
	*hash = fnv1a(data, len);
	{
		/* whole-file UTF-8 check first, so the message can give the line */
		u32buf tmp = {0};
		long bad = utf8_decode((const unsigned char *)data, len, &tmp);
		free(tmp.c);
		if (bad == -2) {
			rc = ACC_ENOMEM;
			goto out;
		}
		if (bad >= 0) {
			int line = 1;
			for (long i = 0; i < bad; i++)
				line += data[i] == '\n';
			rc = err_set(ACC_EFORMAT, "%s:%d: not valid UTF-8", path, line);
			goto out;
		}
	}
	char *p = data;
	if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
		p += 3;
	int line = 0;
	size_t cap = 0;
	while (p < data + len) {
		char *nl = memchr(p, '\n', (size_t)(data + len - p));
		char *end = nl ? nl : data + len;
		char *s = p;
		line++;
		p = nl ? nl + 1 : data + len;
		if (end > s && end[-1] == '\r')
			end--;
		*end = 0;
		if (*s == '#' || s[strspn(s, " \t")] == 0)
			continue; /* comment or blank */
		char *tab = strchr(s, '\t');
		if (!tab) {
			rc = err_set(ACC_EFORMAT, "%s:%d: expected 'regex<TAB>replacement'", path, line);
			goto out;
		}
		if (strchr(tab + 1, '\t')) {
			rc = err_set(ACC_EFORMAT, "%s:%d: more than one TAB (a literal TAB in a regex is \\t)", path, line);
			goto out;
		}
		if (tab == s) {
			rc = err_set(ACC_EFORMAT, "%s:%d: empty regex", path, line);
			goto out;
		}
		if ((rc = ARRAY_GROW(tn->rules, cap, (size_t)tn->nrules + 1)))
			goto out;
		tn_rule *r = &tn->rules[tn->nrules];
		memset(r, 0, sizeof *r);
		r->line = line;
		int ec;
		PCRE2_SIZE eo;
		r->re = pcre2_compile((PCRE2_SPTR)s, (size_t)(tab - s),
		                      PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C, &ec, &eo, NULL);
		if (!r->re) {
			pcre2_msg(ec, msg, sizeof msg);
			rc = err_set(ACC_EFORMAT, "%s:%d: regex error at offset %zu: %s", path, line, (size_t)eo, msg);
			goto out;
		}
		tn->nrules++;
		pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE); /* optional speed-up; interpreter otherwise */
		r->repl_len = strlen(tab + 1);
		r->repl = malloc(r->repl_len + 1);
		if (!r->repl) {
			rc = err_set(ACC_ENOMEM, "textnorm: out of memory");
			goto out;
		}
		memcpy(r->repl, tab + 1, r->repl_len + 1);
		if ((rc = rule_check_replacement(r, path, msg, sizeof msg)))
			goto out;
	}
out:
	free(data);
	return rc;
}

/* Run every rule, in file order, over tn->a. */
static int rules_apply(textnorm *tn)
{
	if (!tn->nrules)
		return 0;
	size_t n8 = utf8_encode_len(&tn->a);
	if (ARRAY_GROW(tn->s8, tn->s8cap, n8 + 1))
		return ACC_ENOMEM;
	utf8_encode(&tn->a, tn->s8);
	for (int i = 0; i < tn->nrules; i++) {
		tn_rule *r = &tn->rules[i];
		PCRE2_SIZE olen;
		int n;
		for (;;) {
			if (!tn->t8cap && ARRAY_GROW(tn->t8, tn->t8cap, 256))
				return ACC_ENOMEM;
			olen = tn->t8cap;
			n = pcre2_substitute(r->re, (PCRE2_SPTR)tn->s8, n8, 0,
			                     PCRE2_SUBSTITUTE_GLOBAL | PCRE2_SUBSTITUTE_OVERFLOW_LENGTH |
			                     PCRE2_SUBSTITUTE_UNSET_EMPTY | PCRE2_NO_UTF_CHECK,
			                     tn->md, NULL, r->repl, r->repl_len, (PCRE2_UCHAR *)tn->t8, &olen);
			if (n != PCRE2_ERROR_NOMEMORY)
				break;
			if (ARRAY_GROW(tn->t8, tn->t8cap, olen + 1))
				return ACC_ENOMEM;
		}
		if (n < 0) {
			char msg[256];
			pcre2_msg(n, msg, sizeof msg);
			return err_set(ACC_EFORMAT, "%s:%d: %s", tn->rules_path, r->line, msg);
		}
		if (n > 0) {
			char *t = tn->s8;
			size_t c = tn->s8cap;
			tn->s8 = tn->t8, tn->s8cap = tn->t8cap;
			tn->t8 = t, tn->t8cap = c;
			n8 = olen;
			tn->s8[n8] = 0;
		}
	}
	/* the result is valid UTF-8: UTF-mode substitution of valid input with
	 * a validated replacement */
	if (utf8_decode((const unsigned char *)tn->s8, n8, &tn->a) != -1)
		return err_set(ACC_EINTERNAL, "textnorm: rule output is not UTF-8");
	return 0;
}

/* ---- passes over tn->a ---------------------------------------------------- */

static int is_word_char(uint32_t c)
{
	return (U_GET_GC_MASK((UChar32)c) & (U_GC_L_MASK | U_GC_M_MASK | U_GC_N_MASK)) != 0;
}

static int is_mark(uint32_t c)
{
	return (U_GET_GC_MASK((UChar32)c) & U_GC_M_MASK) != 0;
}

/* Default profile: format characters (Cf: zero-width space/joiners, bidi
 * controls, BOM, soft hyphen, word joiner) deleted; other controls (Cc)
 * become spaces so words on either side stay apart. */
static void pass_format(u32buf *b)
{
	size_t o = 0;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->c[i];
		int t = u_charType((UChar32)c);
		if (t == U_FORMAT_CHAR)
			continue;
		b->c[o++] = t == U_CONTROL_CHAR && !any_space(c) ? ' ' : c;
	}
	b->n = o;
}

/* Lowercasing İ outside Turkic locales gives i + U+0307; the default
 * profile drops that dot (Lithuanian keeps it: there it is meaningful). */
static void pass_drop_dot_above(u32buf *b)
{
	size_t o = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (b->c[i] == 0x307 && o > 0 && b->c[o - 1] == 'i')
			continue;
		b->c[o++] = b->c[i];
	}
	b->n = o;
}

/* Apostrophe and hyphen look-alikes to ASCII (the default profile). */
static void pass_unify(u32buf *b)
{
	for (size_t i = 0; i < b->n; i++) {
		switch (b->c[i]) {
		case 0x2018: case 0x2019: case 0x201B: case 0x02BC: case 0x60: case 0xFF07:
			b->c[i] = '\'';
			break;
		case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2212: case 0xFE63: case 0xFF0D:
			b->c[i] = '-';
			break;
		}
	}
}

/* MMS: "\([^\)]*\d[^\)]*\)" -> " " (leftmost, non-overlapping); with
 * square too, "[...]" holding a digit also goes (default profile). */
static void pass_brackets(u32buf *b, int square)
{
	size_t o = 0, i = 0;
	while (i < b->n) {
		uint32_t c = b->c[i];
		uint32_t close = c == '(' ? ')' : (square && c == '[') ? ']' : 0;
		if (close) {
			size_t j = i + 1;
			int digit = 0;
			while (j < b->n && b->c[j] != close) {
				digit |= u_isdigit((UChar32)b->c[j]);
				j++;
			}
			if (j < b->n && digit) {
				b->c[o++] = ' ';
				i = j + 1;
				continue;
			}
		}
		b->c[o++] = c;
		i++;
	}
	b->n = o;
}

/* Delete literal s (ASCII, already lowercase) everywhere. */
static void pass_delete_literal(u32buf *b, const char *s)
{
	size_t k = strlen(s), o = 0, i = 0;
	while (i < b->n) {
		if (i + k <= b->n) {
			size_t j = 0;
			while (j < k && b->c[i + j] == (unsigned char)s[j])
				j++;
			if (j == k) {
				i += k;
				continue;
			}
		}
		b->c[o++] = b->c[i++];
	}
	b->n = o;
}

static int mms_quote(uint32_t c)
{
	return c == 0x201B || c == 0x2019 || c == 0x2018;
}

/* MMS mapping "(\S+)[‛’‘](\S+)" -> "\1'\2": per run of non-spaces, the
 * greedy first group makes it the rightmost quote that has a character on
 * each side within the run; other quotes stay (and become spaces later). */
static void pass_mms_quotes(u32buf *b)
{
	size_t i = 0;
	while (i < b->n) {
		if (py_isspace(b->c[i])) {
			i++;
			continue;
		}
		size_t s = i;
		while (i < b->n && !py_isspace(b->c[i]))
			i++;
		/* run is [s, i) */
		if (i - s >= 3)
			for (size_t k = i - 2; k >= s + 1; k--)
				if (mms_quote(b->c[k])) {
					b->c[k] = '\'';
					break;
				}
	}
}

/* MMS: punctuation -> space, then the deletion list -> nothing. */
static void pass_mms_punct(u32buf *b, int mms_lang)
{
	size_t o = 0;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->c[i];
		if (in_set(c, SET_MMS_PUNCT) || ((mms_lang & MMS_THA) && c == 0x200D))
			c = ' ';
		b->c[i] = c;
	}
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->c[i];
		if (in_set(c, SET_MMS_DELETE))
			continue;
		if ((mms_lang & MMS_MON) && c == 0xAD)
			continue;
		if ((mms_lang & MMS_HEB) && c >= 0x5B0 && c <= 0x5CF)
			continue;
		b->c[o++] = c;
	}
	b->n = o;
}

/* Default profile punctuation: the MMS set (less default_keep), all of
 * Unicode P*, Sm, Sc and So become spaces; ASCII ' and - and the middle dot
 * (Catalan l·l) stay when both neighbours are letters, marks or digits. */
static int pass_default_punct(textnorm *tn)
{
	u32buf *in = &tn->a, *out = &tn->b;
	if (ARRAY_GROW(out->c, out->cap, in->n + 1))
		return ACC_ENOMEM;
	out->n = 0;
	for (size_t i = 0; i < in->n; i++) {
		uint32_t c = in->c[i];
		if (c == '\'' || c == '-' || c == 0xB7) {
			int inside = i > 0 && i + 1 < in->n && is_word_char(in->c[i - 1]) && is_word_char(in->c[i + 1]);
			out->c[out->n++] = inside ? c : ' ';
			continue;
		}
		if (c == 0x640) /* tatweel */
			continue;
		if (in_set(c, SET_DEFAULT_KEEP)) {
			out->c[out->n++] = c;
			continue;
		}
		uint32_t mask = U_GET_GC_MASK((UChar32)c);
		if (in_set(c, SET_MMS_PUNCT) || (mask & (U_GC_P_MASK | U_GC_SM_MASK | U_GC_SC_MASK | U_GC_SO_MASK)))
			c = ' ';
		out->c[out->n++] = c;
	}
	u32buf t = *in;
	*in = *out;
	*out = t;
	return 0;
}

/* Arabic harakat and related vowel marks (U+064B..U+065F, superscript
 * alef U+0670). */
static void pass_harakat(u32buf *b)
{
	size_t o = 0;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->c[i];
		if ((c >= 0x64B && c <= 0x65F) || c == 0x670)
			continue;
		b->c[o++] = c;
	}
	b->n = o;
}

/* Latin diacritics: NFD, drop the non-spacing marks whose base letter is
 * Latin script, NFC.  Marks on any other script (Devanagari matras and
 * virama, Ethiopic, Arabic, Hebrew points...) are left alone. */
static int pass_strip_latin(textnorm *tn)
{
	int rc = apply_norm(tn, tn->nfd, "NFD");
	if (rc)
		return rc;
	u32buf *b = &tn->a;
	size_t o = 0;
	int latin_base = 0;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->c[i];
		if (u_charType((UChar32)c) == U_NON_SPACING_MARK) {
			if (latin_base)
				continue;
		} else {
			UErrorCode st = U_ZERO_ERROR;
			latin_base = uscript_getScript((UChar32)c, &st) == USCRIPT_LATIN;
		}
		b->c[o++] = c;
	}
	b->n = o;
	return apply_norm(tn, tn->nfc, "NFC");
}

/* Combining marks with nothing to combine with (at the start or after a
 * space, e.g. from NFKC of a spacing accent) are dropped. */
static void pass_orphan_marks(u32buf *b)
{
	size_t o = 0;
	int after_space = 1;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->c[i];
		if (is_mark(c)) {
			if (after_space)
				continue;
		} else {
			after_space = any_space(c);
		}
		b->c[o++] = c;
	}
	b->n = o;
}

/* Digit-only tokens -> space.  MMS (mms=1): the digits are MMS's set and
 * its regex "^D+(?=\s)|(?<=\s)D+(?=\s)|(?<=\s)D+$" leaves a text that is a
 * single such token alone.  Default: any Unicode decimal digit, always. */
static void pass_drop_digits(u32buf *b, int mms)
{
	size_t i = 0;
	while (i < b->n) {
		if (py_isspace(b->c[i]) || (!mms && any_space(b->c[i]))) {
			i++;
			continue;
		}
		size_t s = i;
		int all = 1;
		while (i < b->n && !(py_isspace(b->c[i]) || (!mms && any_space(b->c[i])))) {
			uint32_t c = b->c[i];
			if (!(mms ? in_set(c, SET_MMS_DIGIT) : u_isdigit((UChar32)c)))
				all = 0;
			i++;
		}
		if (all && !(mms && s == 0 && i == b->n))
			for (size_t k = s; k < i; k++)
				b->c[k] = ' ';
	}
}

/* Runs of whitespace -> one space; trimmed. */
static void pass_spaces(u32buf *b, int mms)
{
	size_t o = 0;
	int pending = 0;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->c[i];
		if (mms ? py_isspace(c) : any_space(c)) {
			pending = o > 0;
			continue;
		}
		if (pending)
			b->c[o++] = ' ';
		pending = 0;
		b->c[o++] = c;
	}
	b->n = o;
}

static void pass_alef_wasla(u32buf *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->c[i] == 0x671)
			b->c[i] = 0x627;
}

/* Script group of a letter for the mixed-script flag: Japanese and Korean
 * writing mix Han with kana/hangul as a matter of course, so those count as
 * one group. */
static int script_group(uint32_t c)
{
	UErrorCode st = U_ZERO_ERROR;
	UScriptCode s = uscript_getScript((UChar32)c, &st);
	switch (s) {
	case USCRIPT_COMMON: case USCRIPT_INHERITED: case USCRIPT_UNKNOWN:
		return -1;
	case USCRIPT_HAN: case USCRIPT_HIRAGANA: case USCRIPT_KATAKANA:
	case USCRIPT_KATAKANA_OR_HIRAGANA: case USCRIPT_BOPOMOFO: case USCRIPT_HANGUL:
		return USCRIPT_HAN;
	default:
		return (int)s;
	}
}

static int compute_flags(const u32buf *b)
{
	int flags = 0, first = -1;
	if (!b->n)
		flags |= TEXTNORM_EMPTY;
	for (size_t i = 0; i < b->n; i++) {
		uint32_t c = b->c[i];
		/* Nd and No: Ethiopic and Tamil numerals are No, and need
		 * verbalizing just the same */
		if ((U_GET_GC_MASK((UChar32)c) & (U_GC_ND_MASK | U_GC_NO_MASK)) || in_set(c, SET_MMS_DIGIT))
			flags |= TEXTNORM_HAS_DIGITS;
		if (u_isalpha((UChar32)c)) {
			int g = script_group(c);
			if (g < 0)
				continue;
			if (first < 0)
				first = g;
			else if (g != first)
				flags |= TEXTNORM_MIXED_SCRIPT;
		}
	}
	return flags;
}

/* ---- public API ----------------------------------------------------------- */

static int parse_lang(textnorm *tn, const char *lang)
{
	if (!lang || !*lang)
		lang = "und";
	size_t n = strcspn(lang, "-_");
	if (n < 2 || n > 8)
		return err_set(ACC_EINVAL, "textnorm: bad language code '%s' (want ISO 639-1/-3, e.g. 'amh', 'tr')", lang);
	for (size_t i = 0; lang[i]; i++) {
		char c = lang[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i >= n && ((c >= '0' && c <= '9') || c == '-' || c == '_'));
		if (!ok)
			return err_set(ACC_EINVAL, "textnorm: bad language code '%s' (want ISO 639-1/-3, e.g. 'amh', 'tr')", lang);
	}
	for (size_t i = 0; i < n; i++)
		tn->lang[i] = (char)(lang[i] | 0x20);
	tn->lang[n] = 0;
	const char *l3 = n == 2 ? uloc_getISO3Language(tn->lang) : NULL;
	snprintf(tn->lang3, sizeof tn->lang3, "%s", l3 && *l3 ? l3 : tn->lang);
	return 0;
}

void textnorm_opts_default(textnorm_opts *o)
{
	memset(o, 0, sizeof *o);
	o->strip_diacritics = -1;
	o->drop_digit_tokens = -1;
	o->strip_harakat = -1;
}

int textnorm_open(textnorm **out, const textnorm_opts *opts)
{
	textnorm *tn = NULL;
	UErrorCode st = U_ZERO_ERROR;
	uint32_t rules_hash = 0;
	int rc = 0;

	*out = NULL;
	if (!opts)
		return err_set(ACC_EINVAL, "textnorm: no options");
	pthread_once(&bmp_once, bmp_init);
	tn = calloc(1, sizeof *tn);
	if (!tn)
		return err_set(ACC_ENOMEM, "textnorm: out of memory");
	const char *prof = opts->profile && *opts->profile ? opts->profile : "default";
	if (!strcmp(prof, "default"))
		tn->profile = TN_DEFAULT, tn->version = TEXTNORM_DEFAULT_VERSION;
	else if (!strcmp(prof, "mms"))
		tn->profile = TN_MMS, tn->version = TEXTNORM_MMS_VERSION;
	else if (!strcmp(prof, "none"))
		tn->profile = TN_NONE, tn->version = TEXTNORM_NONE_VERSION;
	else {
		rc = err_set(ACC_EINVAL, "textnorm: unknown profile '%s'", prof);
		err_hint("profiles are: default, mms, none");
		goto out;
	}
	if ((rc = parse_lang(tn, opts->lang)))
		goto out;
	const char *l3 = tn->lang3;
	if (!strcmp(l3, "mon") || !strcmp(l3, "khk")) tn->mms_lang |= MMS_MON;
	if (!strcmp(l3, "heb")) tn->mms_lang |= MMS_HEB;
	if (!strcmp(l3, "tha")) tn->mms_lang |= MMS_THA;
	if (!strcmp(l3, "jav")) tn->mms_lang |= MMS_JAV;
	tn->keep_dot_above = !strcmp(l3, "lit");

	/* options: -1 = profile default; name records what differs from it */
	int def_strip = tn->profile == TN_MMS && (tn->mms_lang & MMS_JAV);
	int def_drop = tn->profile == TN_MMS;
	tn->strip_diacritics = opts->strip_diacritics < 0 ? def_strip : !!opts->strip_diacritics;
	tn->drop_digits = opts->drop_digit_tokens < 0 ? def_drop : !!opts->drop_digit_tokens;
	tn->strip_harakat = opts->strip_harakat < 0 ? 0 : !!opts->strip_harakat;
	if (tn->profile == TN_NONE && (tn->strip_diacritics || tn->drop_digits || tn->strip_harakat)) {
		rc = err_set(ACC_EINVAL, "textnorm: profile 'none' takes no diacritic, harakat or digit options");
		goto out;
	}

	if (opts->rules_path && *opts->rules_path) {
		tn->rules_path = strdup(opts->rules_path);
		if (!tn->rules_path) {
			rc = err_set(ACC_ENOMEM, "textnorm: out of memory");
			goto out;
		}
		if ((rc = rules_load(tn, opts->rules_path, &rules_hash)))
			goto out;
		tn->md = pcre2_match_data_create(32, NULL);
		if (!tn->md) {
			rc = err_set(ACC_ENOMEM, "textnorm: out of memory");
			goto out;
		}
	}

	tn->nfkc = unorm2_getNFKCInstance(&st);
	tn->nfc = unorm2_getNFCInstance(&st);
	tn->nfd = unorm2_getNFDInstance(&st);
	if (U_FAILURE(st)) {
		rc = icu_fail(st, "normalizer data");
		goto out;
	}

	int o = snprintf(tn->name, sizeof tn->name, "%s-%s", prof, tn->lang3);
	if (tn->strip_diacritics != def_strip)
		o += snprintf(tn->name + o, sizeof tn->name - o, tn->strip_diacritics ? "+strip" : "+nostrip");
	if (tn->strip_harakat)
		o += snprintf(tn->name + o, sizeof tn->name - o, "+harakat");
	if (tn->drop_digits != def_drop)
		o += snprintf(tn->name + o, sizeof tn->name - o, tn->drop_digits ? "+dropdigits" : "+keepdigits");
	if (tn->rules_path) {
		const char *base = strrchr(tn->rules_path, '/');
		base = base ? base + 1 : tn->rules_path;
		size_t bl = strlen(base);
		if (bl > 6 && !strcmp(base + bl - 6, ".rules"))
			bl -= 6;
		if (bl > 48)
			bl = 48;
		snprintf(tn->name + o, sizeof tn->name - o, "+rules:%.*s@%08x", (int)bl, base, rules_hash);
	}
	*out = tn;
	tn = NULL;
out:
	textnorm_close(tn);
	return rc;
}

void textnorm_close(textnorm *tn)
{
	if (!tn)
		return;
	for (int i = 0; i < tn->nrules; i++) {
		pcre2_code_free(tn->rules[i].re);
		free(tn->rules[i].repl);
	}
	free(tn->rules);
	free(tn->rules_path);
	pcre2_match_data_free(tn->md);
	free(tn->a.c);
	free(tn->b.c);
	free(tn->w16);
	free(tn->x16);
	free(tn->s8);
	free(tn->t8);
	free(tn);
}

const char *textnorm_profile_name(const textnorm *tn)
{
	return tn->name;
}

int textnorm_profile_version(const textnorm *tn)
{
	return tn->version;
}

static int run_default(textnorm *tn)
{
	int rc;
	if ((rc = apply_norm(tn, tn->nfkc, "NFKC")))
		return rc;
	pass_format(&tn->a);
	if ((rc = apply_lower(tn, tn->lang)))
		return rc;
	if (!tn->keep_dot_above)
		pass_drop_dot_above(&tn->a);
	pass_unify(&tn->a);
	if ((rc = rules_apply(tn)))
		return rc;
	pass_delete_literal(&tn->a, "&lt;");
	pass_delete_literal(&tn->a, "&gt;");
	pass_delete_literal(&tn->a, "&nbsp");
	pass_brackets(&tn->a, 1);
	if ((rc = pass_default_punct(tn)))
		return rc;
	if (tn->strip_harakat)
		pass_harakat(&tn->a);
	if (tn->strip_diacritics && (rc = pass_strip_latin(tn)))
		return rc;
	pass_orphan_marks(&tn->a);
	if (tn->drop_digits)
		pass_drop_digits(&tn->a, 0);
	pass_spaces(&tn->a, 0);
	return apply_norm(tn, tn->nfc, "NFC");
}

/* fairseq examples/mms/data_prep/text_normalization.py, in its order. */
static int run_mms(textnorm *tn)
{
	int rc;
	if ((rc = apply_norm(tn, tn->nfkc, "NFKC")))
		return rc;
	if ((rc = apply_lower(tn, "")))
		return rc;
	if ((rc = rules_apply(tn)))
		return rc;
	pass_brackets(&tn->a, 0);
	/* the "mapping" dict, in its order; the alef wasla entry is added for
	 * "ara" through a shallow copy of the shared dict, so MMS applies it to
	 * every language */
	pass_delete_literal(&tn->a, "&lt;");
	pass_delete_literal(&tn->a, "&gt;");
	pass_delete_literal(&tn->a, "&nbsp");
	pass_mms_quotes(&tn->a);
	pass_alef_wasla(&tn->a);
	pass_mms_punct(&tn->a, tn->mms_lang);
	if (tn->strip_harakat)
		pass_harakat(&tn->a);
	if (tn->drop_digits)
		pass_drop_digits(&tn->a, 1);
	/* MMS uses unidecode for jav; Latin-script mark stripping is the part
	 * of it that applies to Latin-script Javanese */
	if (tn->strip_diacritics && (rc = pass_strip_latin(tn)))
		return rc;
	pass_spaces(&tn->a, 1);
	return 0;
}

int textnorm_apply(textnorm *tn, const char *in, char **out, int *flags)
{
	int rc;
	*out = NULL;
	*flags = 0;
	if (!in)
		return err_set(ACC_EINVAL, "textnorm: NULL text");
	size_t len = strlen(in);
	long bad = utf8_decode((const unsigned char *)in, len, &tn->a);
	if (bad == -2)
		return ACC_ENOMEM;
	if (bad >= 0) {
		*flags = TEXTNORM_BAD_UTF8;
		return err_set(ACC_EFORMAT, "text is not valid UTF-8 (byte 0x%02x at offset %ld)",
		               (unsigned char)in[bad], bad);
	}
	switch (tn->profile) {
	case TN_DEFAULT:
		rc = run_default(tn);
		break;
	case TN_MMS:
		rc = run_mms(tn);
		break;
	default:
		rc = rules_apply(tn);
		if (!rc)
			pass_spaces(&tn->a, 0);
		break;
	}
	if (rc)
		return rc;
	*flags = compute_flags(&tn->a);
	char *s = malloc(utf8_encode_len(&tn->a) + 1);
	if (!s)
		return err_set(ACC_ENOMEM, "textnorm: out of memory");
	utf8_encode(&tn->a, s);
	*out = s;
	return 0;
}

/* ---- romanization ------------------------------------------------------- */

/*
 * Opening "Any-Latin; Latin-ASCII" builds a compound of many rule-based
 * transliterators (~15 ms the first time in a process).  It is opened once
 * per process; each thread uses its own clone (~15 us), because ICU does not
 * promise that one transliterator may be used by several threads at once.
 */
static pthread_once_t translit_once = PTHREAD_ONCE_INIT;
static pthread_key_t translit_key;
static UTransliterator *translit_proto;
static UErrorCode translit_status = U_ZERO_ERROR;
static char translit_err[160];

static void translit_free(void *p)
{
	utrans_close(p);
}

static void translit_init(void)
{
	UParseError pe;
	static const UChar id[] = {'A','n','y','-','L','a','t','i','n',';',' ','L','a','t','i','n','-','A','S','C','I','I',0};
	if (pthread_key_create(&translit_key, translit_free)) {
		translit_status = U_MEMORY_ALLOCATION_ERROR;
		snprintf(translit_err, sizeof translit_err, "pthread_key_create failed");
		return;
	}
	translit_proto = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, &pe, &translit_status);
	if (U_FAILURE(translit_status))
		snprintf(translit_err, sizeof translit_err, "%s", u_errorName(translit_status));
}

int textnorm_romanize(const char *in, char **out)
{
	UChar *buf = NULL;
	char *res = NULL;
	u32buf cps = {0};
	int rc = 0;
	UErrorCode st = U_ZERO_ERROR;

	*out = NULL;
	if (!in)
		return err_set(ACC_EINVAL, "textnorm_romanize: NULL text");
	pthread_once(&translit_once, translit_init);
	if (U_FAILURE(translit_status))
		return err_set(ACC_EINTERNAL, "cannot open ICU transliterator 'Any-Latin; Latin-ASCII': %s", translit_err);
	UTransliterator *tr = pthread_getspecific(translit_key);
	if (!tr) {
		tr = utrans_clone(translit_proto, &st);
		if (U_FAILURE(st))
			return icu_fail(st, "transliterator clone");
		pthread_setspecific(translit_key, tr);
	}
	size_t len = strlen(in);
	long bad = utf8_decode((const unsigned char *)in, len, &cps);
	if (bad == -2) {
		rc = ACC_ENOMEM;
		goto out;
	}
	if (bad >= 0) {
		rc = err_set(ACC_EFORMAT, "text is not valid UTF-8 (offset %ld)", bad);
		goto out;
	}
	int32_t n16 = 0;
	UErrorCode st2 = U_ZERO_ERROR;
	u_strFromUTF8(NULL, 0, &n16, in, (int32_t)len, &st2);
	/* transliteration expands (one Han character -> a syllable): retry with
	 * more room until it fits */
	for (int32_t cap = n16 * 4 + 16;; cap *= 2) {
		free(buf);
		buf = malloc((size_t)cap * sizeof *buf);
		if (!buf) {
			rc = err_set(ACC_ENOMEM, "textnorm_romanize: out of memory");
			goto out;
		}
		int32_t n;
		st = U_ZERO_ERROR;
		u_strFromUTF8(buf, cap, &n, in, (int32_t)len, &st);
		if (U_FAILURE(st)) {
			rc = icu_fail(st, "UTF-8 conversion");
			goto out;
		}
		int32_t limit = n;
		utrans_transUChars(tr, buf, &n, cap, 0, &limit, &st);
		if (st == U_BUFFER_OVERFLOW_ERROR && cap < (1 << 28))
			continue;
		if (U_FAILURE(st)) {
			rc = icu_fail(st, "transliteration");
			goto out;
		}
		int32_t n8 = 0;
		st = U_ZERO_ERROR;
		u_strToUTF8(NULL, 0, &n8, buf, n, &st);
		res = malloc((size_t)n8 + 1);
		if (!res) {
			rc = err_set(ACC_ENOMEM, "textnorm_romanize: out of memory");
			goto out;
		}
		st = U_ZERO_ERROR;
		u_strToUTF8(res, n8 + 1, NULL, buf, n, &st);
		if (U_FAILURE(st)) {
			rc = icu_fail(st, "UTF-8 conversion");
			goto out;
		}
		break;
	}
	*out = res;
	res = NULL;
out:
	free(res);
	free(buf);
	free(cps.c);
	return rc;
}
