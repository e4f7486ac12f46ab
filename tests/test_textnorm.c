/*
 * test_textnorm.c — normalization profiles on real text in several scripts.
 *
 * Every expected string below is derived by hand from the profile's rules
 * (the derivation is in the comment next to it), never copied from output.
 */
#include "check.h"
#include "base/err.h"
#include "text/textnorm.h"

#include <pthread.h>

typedef struct {
	const char *profile, *lang, *rules;
	int strip, drop, harakat;
} cfg;

/* Defaults of each profile unless a field says otherwise (-1). */
#define DEF(lang_) ((cfg){"default", lang_, NULL, -1, -1, -1})
#define MMS(lang_) ((cfg){"mms", lang_, NULL, -1, -1, -1})

static textnorm *open_cfg(cfg c)
{
	textnorm_opts o;
	textnorm *tn = NULL;
	textnorm_opts_default(&o);
	o.profile = c.profile;
	o.lang = c.lang;
	o.rules_path = c.rules;
	o.strip_diacritics = c.strip;
	o.drop_digit_tokens = c.drop;
	o.strip_harakat = c.harakat;
	CHECK_OK(textnorm_open(&tn, &o));
	return tn;
}

/* Normalize with a fresh profile; check output and flags. */
#define EXPECT(c, in, want, want_flags) expect_at(__FILE__, __LINE__, c, in, want, want_flags)
static void expect_at(const char *file, int line, cfg c, const char *in, const char *want, int want_flags)
{
	textnorm *tn = open_cfg(c);
	char *out = NULL;
	int flags = -1;
	if (!tn)
		return;
	int rc = textnorm_apply(tn, in, &out, &flags);
	if (rc)
		check_fail(file, line, "apply(\"%s\") failed: %s", in, err_msg());
	else if (strcmp(out, want))
		check_fail(file, line, "%s-%s: \"%s\" -> \"%s\", want \"%s\"", c.profile, c.lang, in, out, want);
	else if (flags != want_flags)
		check_fail(file, line, "%s-%s: \"%s\": flags %d, want %d", c.profile, c.lang, in, flags, want_flags);
	/* the default profile is idempotent: its output is a fixed point */
	if (!rc && !strcmp(c.profile, "default")) {
		char *again = NULL;
		int f2;
		if (textnorm_apply(tn, out, &again, &f2) || strcmp(again, out))
			check_fail(file, line, "not idempotent: \"%s\" -> \"%s\"", out, again ? again : "(error)");
		free(again);
	}
	free(out);
	textnorm_close(tn);
}

enum { D = TEXTNORM_HAS_DIGITS, E = TEXTNORM_EMPTY, X = TEXTNORM_MIXED_SCRIPT };

static void test_latin_french(void)
{
	const char *in = "Café « crème » – l’été!";
	/* lowercase; ’ -> '; – -> '-' then alone between spaces -> removed;
	 * « » ! are punctuation; ' inside l'été kept */
	EXPECT(DEF("fra"), in, "café crème l'été", 0);
	cfg s = DEF("fra");
	s.strip = 1;
	EXPECT(s, in, "cafe creme l'ete", 0);
	/* MMS: ’ inside the run l’été! -> '; « » ! in its set; U+2013 is not */
	EXPECT(MMS("fra"), in, "café crème – l'été", 0);
}

static void test_latin_vietnamese(void)
{
	/* decomposed input: NFKC composes e+U+0302+U+0301 -> U+1EBF and
	 * e+U+0323+U+0302 -> U+1EC7 */
	const char *in = "Tie\xcc\x82\xcc\x81ng Vie\xcc\xa3\xcc\x82t \xc4\x90\xe1\xba\xb9p"; /* ... Đẹp */
	EXPECT(DEF("vie"), in, "ti\xe1\xba\xbfng vi\xe1\xbb\x87t \xc4\x91\xe1\xba\xb9p", 0);
	/* stripping: marks on Latin letters go; đ (U+0111) is a letter of its
	 * own, not e.g. d + mark, so it stays */
	cfg s = DEF("vie");
	s.strip = 1;
	EXPECT(s, in, "tieng viet \xc4\x91""ep", 0);
}

static void test_turkish(void)
{
	const struct { cfg c; const char *in, *want; } t[] = {
		{ DEF("tur"), "İSTANBUL IĞDIR", "istanbul ığdır" },
		{ DEF("tr"), "İSTANBUL IĞDIR", "istanbul ığdır" },
		{ DEF("aze"), "IĞDIR", "ığdır" },
		/* MMS lowercases locale-free: İ -> i + U+0307, I -> i */
		{ MMS("tur"), "İSTANBUL IĞDIR", "i\xcc\x87stanbul iğdir" },
		/* default profile elsewhere drops the dot that lowercasing İ leaves... */
		{ DEF("eng"), "İSTANBUL", "istanbul" },
		/* ...but Lithuanian keeps it (İ -> i + U+0307 in lt) */
		{ DEF("lit"), "İ", "i\xcc\x87" },
		/* Greek final sigma */
		{ DEF("ell"), "ΟΔΟΣ", "\xce\xbf\xce\xb4\xce\xbf\xcf\x82" },   /* ...ς */
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		EXPECT(t[i].c, t[i].in, t[i].want, 0);
}

static void test_ethiopic(void)
{
	/* ፣ (U+1363) and ። (U+1362) are in the MMS set -> spaces */
	EXPECT(DEF("amh"), "ሰላም፣ እንዴት ነህ።", "ሰላም እንዴት ነህ", 0);
	EXPECT(MMS("amh"), "ሰላም፣ እንዴት ነህ።", "ሰላም እንዴት ነህ", 0);
	/* ፡ wordspace U+1361 separates words */
	EXPECT(MMS("amh"), "ሰላም፡እንዴት", "ሰላም እንዴት", 0);
	/* ፧ U+1367 is Unicode Po (default removes it) but not in MMS's set */
	EXPECT(DEF("amh"), "ሰላም፧", "ሰላም", 0);
	EXPECT(MMS("amh"), "ሰላም፧", "ሰላም፧", 0);
	/* diacritic stripping is Latin-only: Ethiopic survives untouched */
	cfg s = DEF("amh");
	s.strip = 1;
	EXPECT(s, "ሰላም፣ እንዴት ነህ።", "ሰላም እንዴት ነህ", 0);
	/* Ethiopic numerals are No, not Nd: still flagged */
	EXPECT(DEF("amh"), "፲፪ ሰዎች", "፲፪ ሰዎች", D);
}

static void test_devanagari(void)
{
	/* । U+0964 and ॥ U+0965 are punctuation; matras, virama and the
	 * conjunct survive stripping, which only touches Latin */
	cfg s = DEF("hin");
	s.strip = 1;
	EXPECT(s, "नमस्ते, दुनिया। क्षत्रिय॥", "नमस्ते दुनिया क्षत्रिय", 0);
	/* U+0958 is a composition exclusion: NFKC gives क + nukta U+093C, and
	 * the nukta (Mn on a Devanagari base) is kept */
	EXPECT(s, "\xe0\xa5\x98", "\xe0\xa4\x95\xe0\xa4\xbc", 0);
}

/* السَّلَامُ عَلَيْكُمْ؟ written as code points: seen + shadda + fatha */
#define SALAM "\xd8\xa7\xd9\x84\xd8\xb3\xd9\x91\xd9\x8e\xd9\x84\xd9\x8e\xd8\xa7\xd9\x85\xd9\x8f " \
              "\xd8\xb9\xd9\x8e\xd9\x84\xd9\x8e\xd9\x8a\xd9\x92\xd9\x83\xd9\x8f\xd9\x85\xd9\x92\xd8\x9f"

static void test_arabic(void)
{
	/* kept harakat: NFKC puts fatha (ccc 30) before shadda (ccc 33); ؟ goes */
	EXPECT(DEF("ara"), SALAM,
	       "\xd8\xa7\xd9\x84\xd8\xb3\xd9\x8e\xd9\x91\xd9\x84\xd9\x8e\xd8\xa7\xd9\x85\xd9\x8f "
	       "\xd8\xb9\xd9\x8e\xd9\x84\xd9\x8e\xd9\x8a\xd9\x92\xd9\x83\xd9\x8f\xd9\x85\xd9\x92", 0);
	cfg h = DEF("ara");
	h.harakat = 1;
	EXPECT(h, SALAM, "السلام عليكم", 0);
	/* MMS deletes U+064B..U+0652 always */
	EXPECT(MMS("ara"), SALAM, "السلام عليكم", 0);
	/* presentation form lam-alef U+FEFB -> NFKC لا */
	EXPECT(DEF("ara"), "\xef\xbb\xbb", "لا", 0);
	/* tatweel: deleted inside the word (default), a space for MMS */
	EXPECT(DEF("ara"), "عـــربي", "عربي", 0);
	EXPECT(MMS("ara"), "عـــربي", "ع ربي", 0);
	/* MMS maps alef wasla ٱ -> ا (for every language: shared dict) */
	EXPECT(MMS("eng"), "ٱلله", "الله", 0);
	EXPECT(DEF("ara"), "ٱلله", "ٱلله", 0);
}

static void test_cjk(void)
{
	/* NFKC: ， -> ',', ＡＢＣ１２３ -> ABC123 (then lowercased);
	 * 、。「」 are in MMS's set; Latin next to Han -> mixed */
	const char *in = "你好，世界。「こんにちは」、ＡＢＣ１２３";
	EXPECT(DEF("zho"), in, "你好 世界 こんにちは abc123", D | X);
	EXPECT(MMS("zho"), in, "你好 世界 こんにちは abc123", D | X);
	/* ー U+30FC is a letter (Lm) kept by default; MMS spaces it */
	EXPECT(DEF("jpn"), "コーヒー、ください。", "コーヒー ください", 0);
	EXPECT(MMS("jpn"), "コーヒー、ください。", "コ ヒ ください", 0);
	/* 【】 are in MMS's set, 〖〗 (Ps/Pe) only in the default profile's */
	EXPECT(DEF("zho"), "【注意】〖重要〗", "注意 重要", 0);
	EXPECT(MMS("zho"), "【注意】〖重要〗", "注意 〖重要〗", 0);
}

static void test_zero_width(void)
{
	EXPECT(DEF("eng"), "foo\xe2\x80\x8b""bar", "foobar", 0);
	EXPECT(MMS("eng"), "foo\xe2\x80\x8b""bar", "foobar", 0);
	/* ZWJ inside क्‍ष: removed by default, kept by MMS (not in its lists) */
	EXPECT(DEF("hin"), "क्\xe2\x80\x8dष", "क्ष", 0);
	EXPECT(MMS("hin"), "क्\xe2\x80\x8dष", "क्\xe2\x80\x8dष", 0);
	/* MMS Thai: ZWJ is punctuation -> space */
	EXPECT(MMS("tha"), "ส\xe2\x80\x8dว", "ส ว", 0);
	/* BOM: a format character (default), untouched by MMS */
	EXPECT(DEF("eng"), "\xef\xbb\xbfhello", "hello", 0);
	EXPECT(MMS("eng"), "\xef\xbb\xbfhello", "\xef\xbb\xbfhello", 0);
	/* soft hyphen: default deletes, MMS only for Mongolian */
	EXPECT(DEF("eng"), "co\xc2\xad""operate", "cooperate", 0);
	EXPECT(MMS("eng"), "co\xc2\xad""operate", "co\xc2\xad""operate", 0);
	EXPECT(MMS("mon"), "co\xc2\xad""operate", "cooperate", 0);
}

static void test_brackets(void)
{
	EXPECT(DEF("eng"), "He said (Sam 23:17) hello (world)", "he said hello world", 0);
	EXPECT(MMS("eng"), "He said (Sam 23:17) hello (world)", "he said hello world", 0);
	/* default also removes [..] holding digits; MMS spaces [ ] and then
	 * drops the digit-only token "12" */
	EXPECT(DEF("eng"), "Note [12] and [a1] and [ab]", "note and and ab", 0);
	EXPECT(MMS("eng"), "Note [12] and [a1] and [ab]", "note and a1 and ab", D);
	/* leftmost match: "(a (b1)" goes, the stray ")" is punctuation */
	EXPECT(DEF("eng"), "(a (b1) c)", "c", 0);
	EXPECT(MMS("eng"), "(a (b1) c)", "c", 0);
	/* unclosed: nothing removed as a bracket */
	EXPECT(DEF("eng"), "(12 abc", "12 abc", D);
	EXPECT(MMS("eng"), "(12 abc", "abc", 0);
}

static void test_digits(void)
{
	cfg d = DEF("eng");
	d.drop = 1;
	EXPECT(d, "Chapter 12 verse 3b", "chapter verse 3b", D);
	EXPECT(d, "123", "", E);
	EXPECT(d, "١٢٣ abc", "abc", 0);
	EXPECT(DEF("eng"), "I have 2 cats", "i have 2 cats", D);
	/* MMS: on by default, its digit set lacks Arabic-Indic U+0660.., and a
	 * text that is one digit token is left alone by its regex */
	EXPECT(MMS("eng"), "Chapter 12 verse 3b", "chapter verse 3b", D);
	EXPECT(MMS("eng"), "123", "123", D);
	EXPECT(MMS("eng"), "1 2 3", "", E);
	EXPECT(MMS("eng"), "١٢٣ abc", "١٢٣ abc", D);
	cfg k = MMS("eng");
	k.drop = 0;
	EXPECT(k, "Chapter 12", "chapter 12", D);
}

static void test_apostrophes_hyphens(void)
{
	const char *in = "‘Rock ’n’ roll’ — don’t stop - well-known x-";
	/* quotes unified to ', kept only between letters; em dash and the
	 * lone/trailing hyphens are punctuation */
	EXPECT(DEF("eng"), in, "rock n roll don't stop well-known x", 0);
	/* MMS: only a quote with a character on each side in its run becomes
	 * '; the others are punctuation; — and ASCII - are not in its set */
	EXPECT(MMS("eng"), in, "rock n roll — don't stop - well-known x-", 0);
	/* Catalan l·l keeps its middle dot; Greek ano teleia (NFKC -> U+00B7)
	 * after a word is punctuation */
	EXPECT(DEF("cat"), "Col·lecció", "col·lecció", 0);
	EXPECT(MMS("cat"), "Col·lecció", "col lecció", 0);
	EXPECT(DEF("ell"), "Καλημέρα\xce\x87 τι", "καλημέρα τι", 0);
}

static void test_symbols_entities(void)
{
	/* &lt; &gt; &nbsp deleted; the ';' left by "&nbsp;" is punctuation */
	EXPECT(DEF("eng"), "a &lt;b&gt; c&nbsp;d", "a b c d", 0);
	EXPECT(MMS("eng"), "a &lt;b&gt; c&nbsp;d", "a b c d", 0);
	/* % @ $ are in MMS's set, the emoji (So) only in the default's */
	EXPECT(DEF("eng"), "50% off @ $5 \xf0\x9f\x98\x80", "50 off 5", D);
	EXPECT(MMS("eng"), "50% off @ $5 \xf0\x9f\x98\x80", "off \xf0\x9f\x98\x80", 0);
}

static void test_whitespace_empty_flags(void)
{
	EXPECT(DEF("eng"), "  a \t\n b\xc2\xa0""c  ", "a b c", 0);
	EXPECT(DEF("eng"), "!!! ... ???", "", E);
	EXPECT(DEF("eng"), "", "", E);
	EXPECT(MMS("eng"), " \t ", "", E);
	EXPECT(DEF("eng"), "hello ሰላም", "hello ሰላም", X);
	EXPECT(DEF("rus"), "Привет hello", "привет hello", X);
	EXPECT(DEF("eng"), "hello world 42", "hello world 42", D);
	EXPECT(DEF("jpn"), "日本語とカタカナ", "日本語とカタカナ", 0);
	cfg none = {"none", "eng", NULL, -1, -1, -1};
	EXPECT(none, "  Hello,  World!  ", "Hello, World!", 0);
}

static void test_bad_utf8(void)
{
	static const char *bad[] = {
		"abc\xc3\x28",         /* bad continuation */
		"\xc0\xaf",            /* overlong '/' */
		"\xed\xa0\x80",        /* surrogate */
		"\xf4\x90\x80\x80",    /* > U+10FFFF */
		"ok \xe2\x82",         /* truncated */
		"\xff",
	};
	textnorm *tn = open_cfg(DEF("eng"));
	if (!tn)
		return;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char *out = (char *)1;
		int flags = 0;
		CHECK_EQ_INT(textnorm_apply(tn, bad[i], &out, &flags), ACC_EFORMAT);
		CHECK_EQ_INT(flags, TEXTNORM_BAD_UTF8);
		CHECK(out == NULL);
		CHECK(strstr(err_msg(), "UTF-8") != NULL);
	}
	char *r = NULL;
	CHECK_EQ_INT(textnorm_romanize("\xc0\xaf", &r), ACC_EFORMAT);
	textnorm_close(tn);
}

static void test_profile_names(void)
{
	struct { cfg c; const char *name; } cases[] = {
		{DEF("en"), "default-eng"},
		{DEF("tr"), "default-tur"},
		{MMS("amh"), "mms-amh"},
		{MMS("jav"), "mms-jav"},
		{{"mms", "amh", NULL, -1, 0, -1}, "mms-amh+keepdigits"},
		{{"mms", "jav", NULL, 0, -1, -1}, "mms-jav+nostrip"},
		{{"default", "fra", NULL, 1, -1, -1}, "default-fra+strip"},
		{{"default", "ara", NULL, -1, 1, 1}, "default-ara+harakat+dropdigits"},
		{{NULL, NULL, NULL, -1, -1, -1}, "default-und"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		textnorm *tn = open_cfg(cases[i].c);
		if (!tn)
			continue;
		CHECK_STR(textnorm_profile_name(tn), cases[i].name);
		CHECK_EQ_INT(textnorm_profile_version(tn), 1);
		textnorm_close(tn);
	}
	textnorm_opts o;
	textnorm *tn = NULL;
	textnorm_opts_default(&o);
	o.profile = "fancy";
	CHECK_EQ_INT(textnorm_open(&tn, &o), ACC_EINVAL);
	CHECK(tn == NULL);
	o.profile = "default";
	o.lang = "e";
	CHECK_EQ_INT(textnorm_open(&tn, &o), ACC_EINVAL);
	o.lang = "en;drop";
	CHECK_EQ_INT(textnorm_open(&tn, &o), ACC_EINVAL);
	o.lang = "eng";
	o.profile = "none";
	o.drop_digit_tokens = 1;
	CHECK_EQ_INT(textnorm_open(&tn, &o), ACC_EINVAL);
}

static char *write_rules(const char *name, const char *text)
{
	static char path[600];
	snprintf(path, sizeof path, "%s/%s", TEST_TMP, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_rule_files(void)
{
	const char *p = write_rules("en.rules",
	                            "# expansions\n"
	                            "\n"
	                            "&\t and \r\n"
	                            "(\\d+)\\s*%\t$1 percent\n"
	                            "\\bdr\\.\tdoctor\n"
	                            "(?<w>colou?r)s\t${w}\n");
	cfg c = DEF("eng");
	c.rules = p;
	/* after lowercasing: & -> and, 50% -> 50 percent, dr. -> doctor,
	 * colours -> colour; '.' of "more." is then punctuation */
	EXPECT(c, "Dr. Smith & 50% more colours.", "doctor smith and 50 percent more colour", D);
	textnorm *tn = open_cfg(c);
	if (tn) {
		const char *name = textnorm_profile_name(tn);
		CHECK(!strncmp(name, "default-eng+rules:en@", 21));
		CHECK_EQ_INT(strlen(name), 21 + 8);
		/* another rule text -> another identity */
		const char *p2 = write_rules("en2.rules", "&\t and \n");
		cfg c2 = c;
		c2.rules = p2;
		textnorm *tn2 = open_cfg(c2);
		if (tn2) {
			CHECK(strncmp(textnorm_profile_name(tn2), "default-eng+rules:en2@", 22) == 0);
			textnorm_close(tn2);
		}
		textnorm_close(tn);
	}
	/* the none profile runs only the rules */
	cfg n = {"none", "eng", p, -1, -1, -1};
	EXPECT(n, "Tom & Jerry", "Tom and Jerry", 0);
}

static void rule_error(const char *text, const char *want1, const char *want2)
{
	const char *p = write_rules("bad.rules", text);
	textnorm_opts o;
	textnorm *tn = NULL;
	textnorm_opts_default(&o);
	o.lang = "eng";
	o.rules_path = p;
	int rc = textnorm_open(&tn, &o);
	CHECK_EQ_INT(rc, ACC_EFORMAT);
	CHECK(tn == NULL);
	CHECKF(strstr(err_msg(), want1) && strstr(err_msg(), want2), "message \"%s\" lacks \"%s\"/\"%s\"",
	       err_msg(), want1, want2);
}

static void test_rule_errors(void)
{
	rule_error("# c\nok\tfine\n(ab\tx\n", "bad.rules:3:", "missing closing parenthesis");
	rule_error("abc\n", "bad.rules:1:", "regex<TAB>replacement");
	rule_error("a\tb\tc\n", "bad.rules:1:", "more than one TAB");
	rule_error("#\n\n(a)\t$2\n", "bad.rules:3:", "bad replacement");
	rule_error("(?<x>a)\t${y}\n", "bad.rules:1:", "bad replacement");
	rule_error("a\tb\n\xff\tc\n", "bad.rules:2:", "UTF-8");
	textnorm_opts o;
	textnorm *tn = NULL;
	textnorm_opts_default(&o);
	o.rules_path = "/nonexistent/x.rules";
	CHECK(textnorm_open(&tn, &o) < 0);
	CHECK(strstr(err_msg(), "/nonexistent/x.rules") != NULL);
}

static void test_shipped_rules(void)
{
	cfg e = DEF("eng");
	e.rules = "rules/eng.rules";
	EXPECT(e, "Mr. & Mrs. Smith e.g. 5 % vs. Dr. Who", "mister and missus smith for example 5 percent versus doctor who", D);
	cfg a = MMS("amh");
	a.rules = "rules/amh.rules";
	/* ሐ->ሀ, ሠ->ሰ, ዐ->አ (ዕ->እ), ፀ->ጸ; ፧ -> space */
	EXPECT(a, "ሐበሻ ሠላም ዐይን ዕድል ፀሐይ፧", "ሀበሻ ሰላም አይን እድል ጸሀይ", 0);
}

static void test_romanize(void)
{
	char *r = NULL;
	/* Cyrillic letter by letter; Vietnamese loses its marks (Latin-ASCII),
	 * đ -> d */
	CHECK_OK(textnorm_romanize("Привет, мир", &r));
	CHECK_STR(r, "Privet, mir");
	free(r);
	CHECK_OK(textnorm_romanize("Tiếng Việt đẹp", &r));
	CHECK_STR(r, "Tieng Viet dep");
	free(r);
	CHECK_OK(textnorm_romanize("", &r));
	CHECK_STR(r, "");
	free(r);
	/* Ethiopic and Han become Latin letters (no Ethiopic/Han left) */
	static const char *other[] = {"ሰላም እንዴት ነህ", "你好世界", "नमस्ते"};
	for (size_t i = 0; i < 3; i++) {
		CHECK_OK(textnorm_romanize(other[i], &r));
		if (!r)
			continue;
		int foreign = 0, latin = 0;
		for (const unsigned char *p = (const unsigned char *)r; *p; p++) {
			if (*p >= 0xE0) /* 3-byte lead: U+0800 and up */
				foreign = 1;
			if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z')
				latin = 1;
		}
		CHECKF(!foreign && latin, "romanize(\"%s\") = \"%s\"", other[i], r);
		free(r);
	}
}

/* Each thread owns its textnorm; romanize shares the process-wide
 * transliterator through per-thread clones. */
static const char *mt_inputs[] = {"İSTANBUL IĞDIR", "ሰላም፣ እንዴት ነህ።", "Café « crème »", "你好，世界。"};
static char *mt_expect[4];

static void *mt_worker(void *arg)
{
	long bad = 0;
	textnorm_opts o;
	textnorm *tn = NULL;
	textnorm_opts_default(&o);
	o.lang = "tur";
	if (textnorm_open(&tn, &o))
		return (void *)1;
	for (int it = 0; it < 300; it++) {
		for (int i = 0; i < 4; i++) {
			char *out = NULL, *rom = NULL;
			int f;
			if (textnorm_apply(tn, mt_inputs[i], &out, &f) || strcmp(out, mt_expect[i]))
				bad++;
			if (textnorm_romanize(mt_inputs[i], &rom))
				bad++;
			free(out);
			free(rom);
		}
	}
	textnorm_close(tn);
	return (void *)bad;
}

static void test_threads(void)
{
	textnorm *tn = open_cfg(DEF("tur"));
	if (!tn)
		return;
	for (int i = 0; i < 4; i++) {
		int f;
		CHECK_OK(textnorm_apply(tn, mt_inputs[i], &mt_expect[i], &f));
	}
	textnorm_close(tn);
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&th[i], NULL, mt_worker, NULL) == 0);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		CHECK_EQ_INT((long)r, 0);
	}
	for (int i = 0; i < 4; i++)
		free(mt_expect[i]);
}

int main(void)
{
	RUN(test_latin_french);
	RUN(test_latin_vietnamese);
	RUN(test_turkish);
	RUN(test_ethiopic);
	RUN(test_devanagari);
	RUN(test_arabic);
	RUN(test_cjk);
	RUN(test_zero_width);
	RUN(test_brackets);
	RUN(test_digits);
	RUN(test_apostrophes_hyphens);
	RUN(test_symbols_entities);
	RUN(test_whitespace_empty_flags);
	RUN(test_bad_utf8);
	RUN(test_profile_names);
	RUN(test_rule_files);
	RUN(test_rule_errors);
	RUN(test_shipped_rules);
	RUN(test_romanize);
	RUN(test_threads);
	return check_summary();
}
