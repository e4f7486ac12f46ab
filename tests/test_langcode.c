/*
 * tests/test_langcode.c — language codes: Common Voice locales to ISO 639-3
 * with ICU, macrolanguages resolved against a model's languages, interned
 * labels and their notes.
 */
#include "check.h"
#include "base/err.h"
#include "text/langcode.h"

static void test_iso3(void)
{
	char b[16];
	static const char *cases[][2] = {
		{ "en", "eng" }, { "cy", "cym" }, { "fa", "fas" }, { "sv-SE", "swe" }, { "pt_BR", "por" },
		{ "EN", "eng" }, { "eng", "eng" }, { "amh", "amh" }, { "tst", "tst" }, { "und", "und" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		CHECK_OK(langcode_iso3(cases[i][0], b, sizeof b));
		CHECK_STR(b, cases[i][1]);
	}
	CHECK_EQ_INT(langcode_iso3("", b, sizeof b), ACC_EINVAL);
	CHECK_EQ_INT(langcode_iso3("en", b, 3), ACC_EINVAL);
}

static void test_resolve(void)
{
	char *mms[] = { "eng", "cym", "pes", "prs", "swh", "cmn", "amh" };
	char b[16], why[256];
	/* the model has the code itself: nothing to say */
	CHECK_OK(langcode_resolve("amh", mms, 7, b, sizeof b, why, sizeof why));
	CHECK_STR(b, "amh");
	CHECK_STR(why, "");
	/* ISO 639-1 -> 639-3 */
	CHECK_OK(langcode_resolve("cy", mms, 7, b, sizeof b, why, sizeof why));
	CHECK_STR(b, "cym");
	CHECK_STR(why, "'cy' is ISO 639-3 'cym'");
	/* macrolanguage -> the individual language the model has, alternatives named */
	CHECK_OK(langcode_resolve("fa", mms, 7, b, sizeof b, why, sizeof why));
	CHECK_STR(b, "pes");
	CHECK(strstr(why, "macrolanguage") && strstr(why, "'pes'") && strstr(why, "also: prs"));
	CHECK_OK(langcode_resolve("sw", mms, 7, b, sizeof b, why, sizeof why));
	CHECK_STR(b, "swh");
	CHECK_OK(langcode_resolve("zh-TW", mms, 7, b, sizeof b, why, sizeof why));
	CHECK_STR(b, "cmn");
	/* no model: ISO 639-3 only */
	CHECK_OK(langcode_resolve("fa", NULL, 0, b, sizeof b, why, sizeof why));
	CHECK_STR(b, "fas");
	/* the model lacks it: ISO 639-3, and the note says so */
	CHECK_OK(langcode_resolve("de", mms, 7, b, sizeof b, why, sizeof why));
	CHECK_STR(b, "deu");
	CHECK(strstr(why, "does not have") != NULL);
}

static void test_label(void)
{
	const char *a = langcode_label("cy", NULL, 0), *b = langcode_label("cy", NULL, 0);
	CHECK_STR(a, "cym");
	CHECK(a == b);   /* interned */
	CHECK_STR(langcode_label("amh", NULL, 0), "amh");
	char notes[512];
	langcode_label_notes(notes, sizeof notes);
	CHECK(strstr(notes, "'cy' is ISO 639-3 'cym'\n") != NULL);
	CHECK(strstr(notes, "amh") == NULL);   /* unchanged codes make no note */
}

int main(void)
{
	RUN(test_iso3);
	RUN(test_resolve);
	RUN(test_label);
	return check_summary();
}
