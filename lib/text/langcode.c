/*
 * langcode.c — language codes to ISO 639-3 (ICU) and macrolanguages to the
 * individual language a model has (see langcode.h).
 */
#include "text/langcode.h"
#include "base/err.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uloc.h>
#include "base/banned.h"

/* ISO 639-3 macrolanguages whose MMS vocabulary entries use an individual
 * language code, each with its individual languages, the most widely
 * spoken first (SIL's ISO 639-3 macrolanguage mappings; the subset that
 * Common Voice locales and MMS languages meet). */
static const struct { const char *macro; const char *members[8]; } macros[] = {
	{ "ara", { "arb", "arz", "apc", "ary", "acm", "ayl", "afb", "ars" } },
	{ "aze", { "azj", "azb" } },
	{ "est", { "ekk", "vro" } },
	{ "fas", { "pes", "prs" } },
	{ "ful", { "fuv", "fuc", "ffm", "fub", "fue", "fuf", "fuh", "fui" } },
	{ "grn", { "gug", "gui", "gun", "gnw", "nhd" } },
	{ "hbs", { "hrv", "srp", "bos", "cnr" } },
	{ "iku", { "ike", "ikt" } },
	{ "kok", { "gom", "knn" } },
	{ "kur", { "kmr", "ckb", "sdh" } },
	{ "lah", { "pnb", "skr" } },
	{ "lav", { "lvs", "ltg" } },
	{ "mlg", { "plt", "xmv", "bhr", "tkg", "msh" } },
	{ "mon", { "khk", "mvf" } },
	{ "msa", { "zsm", "ind", "min", "mui", "meo", "kvr" } },
	{ "nep", { "npi", "dty" } },
	{ "nor", { "nob", "nno" } },
	{ "ori", { "ory", "spv" } },
	{ "orm", { "gaz", "hae", "orc", "gax" } },
	{ "pus", { "pbu", "pst", "pbt" } },
	{ "que", { "quz", "quy", "qub", "qvi", "quh", "qul", "qvw", "qxn" } },
	{ "sqi", { "als", "aln", "aae", "aat" } },
	{ "swa", { "swh", "swc" } },
	{ "uzb", { "uzn", "uzs" } },
	{ "yid", { "ydd", "yih" } },
	{ "zho", { "cmn", "yue", "nan", "hak", "wuu", "hsn", "gan", "cjy" } },
	{ "zza", { "diq", "kiu" } },
};

int langcode_iso3(const char *code, char *dst, size_t cap)
{
	char lang[16];
	size_t n = 0;
	if (!code || !*code)
		return err_set(ACC_EINVAL, "empty language code");
	/* the language part of a tag: "sv-SE", "pt_BR", "rm-sursilv" */
	while (code[n] && code[n] != '-' && code[n] != '_' && n + 1 < sizeof lang) {
		lang[n] = (char)tolower((unsigned char)code[n]);
		n++;
	}
	lang[n] = 0;
	const char *iso3 = n >= 2 && n <= 3 ? uloc_getISO3Language(lang) : NULL;
	/* ICU knows the ISO 639-1 codes and the 3-letter codes it has data for;
	 * anything else ("tst", "und", "cnh") stays as the corpus wrote it */
	const char *out = iso3 && *iso3 ? iso3 : code;
	if (strlen(out) >= cap)
		return err_set(ACC_EINVAL, "language code '%s' is too long", code);
	snprintf(dst, cap, "%s", out);
	return 0;
}

static int has(char *const *targets, int n, const char *code)
{
	for (int i = 0; i < n; i++)
		if (targets[i] && !strcmp(targets[i], code))
			return 1;
	return 0;
}

int langcode_resolve(const char *code, char *const *targets, int ntargets, char *dst, size_t cap, char *why,
                     size_t whycap)
{
	char iso[64];
	int rc;
	if (why && whycap)
		why[0] = 0;
	if (!code || !*code)
		return err_set(ACC_EINVAL, "empty language code");
	if (ntargets > 0 && has(targets, ntargets, code)) {
		if (strlen(code) >= cap)
			return err_set(ACC_EINVAL, "language code '%s' is too long", code);
		snprintf(dst, cap, "%s", code);
		return 0;
	}
	if ((rc = langcode_iso3(code, iso, sizeof iso)))
		return rc;
	if (strlen(iso) >= cap)
		return err_set(ACC_EINVAL, "language code '%s' is too long", iso);
	snprintf(dst, cap, "%s", iso);
	if (ntargets <= 0 || has(targets, ntargets, iso)) {
		if (why && strcmp(iso, code))
			snprintf(why, whycap, "'%s' is ISO 639-3 '%s'", code, iso);
		return 0;
	}
	for (size_t m = 0; m < sizeof macros / sizeof *macros; m++) {
		if (strcmp(macros[m].macro, iso))
			continue;
		const char *pick = NULL;
		char also[256] = "";
		size_t k = 0;
		for (int i = 0; i < 8 && macros[m].members[i]; i++) {
			if (!has(targets, ntargets, macros[m].members[i]))
				continue;
			if (!pick)
				pick = macros[m].members[i];
			else if (k + 8 < sizeof also)
				k += snprintf(also + k, sizeof also - k, "%s%s", k ? ", " : "", macros[m].members[i]);
		}
		if (!pick)
			break;
		snprintf(dst, cap, "%s", pick);
		if (why)
			snprintf(why, whycap, "'%s' is ISO 639-3 '%s', a macrolanguage; the model has its individual "
			         "language '%s'%s%s%s", code, iso, pick, k ? " (also: " : "", also, k ? ")" : "");
		return 0;
	}
	if (why && strcmp(iso, code))
		snprintf(why, whycap, "'%s' is ISO 639-3 '%s', which the model's vocabulary does not have", code, iso);
	else if (why)
		snprintf(why, whycap, "the model's vocabulary has no '%s'", code);
	return 0;
}

/* ---- interned labels (ingest workers label many rows with few codes) ---- */

typedef struct label {
	char *code, *out, *why;
	struct label *next;
} label;

static pthread_mutex_t label_mu = PTHREAD_MUTEX_INITIALIZER;
static label *labels;

const char *langcode_label(const char *code, char *const *targets, int ntargets)
{
	const char *res = code;
	if (!code)
		return NULL;
	pthread_mutex_lock(&label_mu);
	for (label *l = labels; l; l = l->next)
		if (!strcmp(l->code, code)) {
			res = l->out;
			goto out;
		}
	char out[64], why[512];
	if (langcode_resolve(code, targets, ntargets, out, sizeof out, why, sizeof why) == 0) {
		label *l = calloc(1, sizeof *l);
		if (l && (l->code = strdup(code)) && (l->out = strdup(out)) && (l->why = strdup(why))) {
			l->next = labels;
			labels = l;
			res = l->out;
		} else if (l) {
			free(l->code);
			free(l->out);
			free(l);
		}
	}
out:
	pthread_mutex_unlock(&label_mu);
	return res;
}

void langcode_label_notes(char *dst, size_t cap)
{
	size_t k = 0;
	if (!cap)
		return;
	dst[0] = 0;
	pthread_mutex_lock(&label_mu);
	for (label *l = labels; l; l = l->next)
		if (*l->why && k + strlen(l->why) + 2 < cap)
			k += snprintf(dst + k, cap - k, "%s\n", l->why);
	pthread_mutex_unlock(&label_mu);
}
