/*
 * test_vocab.c — vocabulary loading and HF Wav2Vec2CTCTokenizer parity
 * (tests/data/hf-wav2vec2/tokenizer, generated with transformers), nested
 * vocab selection and merging, out-of-vocabulary reporting.
 */
#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "model/vocab.h"
#include <jansson.h>

#define VOCAB TEST_DATA("data/hf-wav2vec2/tokenizer/vocab.json")
#define CASES TEST_DATA("data/hf-wav2vec2/tokenizer/tokenizer_cases.json")

static json_t *load_cases(void)
{
	json_error_t je;
	json_t *j = json_load_file(CASES, 0, &je);
	CHECKF(j != NULL, "cannot load %s: %s", CASES, je.text);
	return j;
}

static void test_hf_encode_decode(void)
{
	json_t *cases = load_cases();
	if (!cases)
		return;
	const char *langs[] = { "eng", "amh" };
	int ncase = 0;
	for (int li = 0; li < 2; li++) {
		vocab *v = NULL;
		CHECK_OK(vocab_load(&v, VOCAB, langs[li]));
		if (!v)
			continue;
		CHECK_EQ_INT(vocab_pad_id(v), 0);
		CHECK_EQ_INT(vocab_unk_id(v), 3);
		CHECK_EQ_INT(vocab_delim_id(v), 4);
		json_t *arr = json_object_get(cases, langs[li]);
		size_t i;
		json_t *c;
		json_array_foreach(arr, i, c) {
			const char *text = json_string_value(json_object_get(c, "text"));
			json_t *jids = json_object_get(c, "ids");
			int *ids = NULL;
			int64_t n = 0;
			vocab_oov oov = { 0 };
			CHECK_OK(vocab_encode(v, text, &ids, &n, &oov));
			CHECK_EQ_INT(n, json_array_size(jids));
			for (int64_t k = 0; k < n && k < (int64_t)json_array_size(jids); k++)
				CHECKF(ids[k] == json_integer_value(json_array_get(jids, k)), "%s: id %lld: %d", text, (long long)k, ids[k]);
			char *dec = NULL;
			CHECK_OK(vocab_decode(v, ids, n, 1, &dec));
			CHECK_STR(dec, json_string_value(json_object_get(c, "decoded")));
			free(dec);
			free(ids);
			vocab_oov_free(&oov);
			ncase++;
		}
		char key[16];
		snprintf(key, sizeof key, "%s_ctc", langs[li]);
		json_array_foreach(json_object_get(cases, key), i, c) {
			json_t *fr = json_object_get(c, "frames");
			int64_t n = json_array_size(fr);
			int *ids = malloc(sizeof(int) * n);
			for (int64_t k = 0; k < n; k++)
				ids[k] = (int)json_integer_value(json_array_get(fr, k));
			char *dec = NULL;
			CHECK_OK(vocab_decode(v, ids, n, 1, &dec));
			CHECK_STR(dec, json_string_value(json_object_get(c, "decoded")));
			free(dec);
			CHECK_OK(vocab_decode(v, ids, n, 0, &dec));
			CHECK_STR(dec, json_string_value(json_object_get(c, "decoded_no_group")));
			free(dec);
			free(ids);
			ncase++;
		}
		vocab_free(v);
	}
	CHECK_EQ_INT(ncase, 7);
	json_decref(cases);
}

static void test_oov_report(void)
{
	vocab *v = NULL;
	CHECK_OK(vocab_load(&v, VOCAB, "eng"));
	if (!v)
		return;
	vocab_oov oov = { 0 };
	int *ids = NULL;
	int64_t n = 0;
	CHECK_OK(vocab_encode(v, "naïve café!!", &ids, &n, &oov));
	CHECK_EQ_INT(n, 12); /* code points, space -> | */
	CHECK_EQ_INT(ids[2], 3);
	CHECK_EQ_INT(oov.n, 3);
	CHECK_EQ_INT(oov.total, 4);
	CHECK_STR(oov.chars[0].ch, "ï");
	CHECK_STR(oov.chars[1].ch, "é");
	CHECK_STR(oov.chars[2].ch, "!");
	CHECK_EQ_INT(oov.chars[2].count, 2);
	char buf[64];
	vocab_oov_describe(&oov, buf, sizeof buf);
	CHECK_STR(buf, "'ï'x1, 'é'x1, '!'x2");
	vocab_oov all = { 0 };
	CHECK_OK(vocab_oov_merge(&all, &oov));
	CHECK_OK(vocab_oov_merge(&all, &oov));
	vocab_oov_sort(&all);
	vocab_oov_describe(&all, buf, sizeof buf);
	CHECK_STR(buf, "'!'x4, 'ï'x2, 'é'x2");
	CHECK_EQ_INT(all.total, 8);
	vocab_oov_free(&all);
	free(ids);
	/* an explicit <unk> in the text stays one token, spaces around it stripped */
	CHECK_OK(vocab_encode(v, "a <unk> b", &ids, &n, NULL));
	CHECK_EQ_INT(n, 3);
	if (n == 3) {
		CHECK_EQ_INT(ids[0], 5);
		CHECK_EQ_INT(ids[1], 3);
		CHECK_EQ_INT(ids[2], 6);
	}
	free(ids);
	/* invalid UTF-8 is an error, not a silent drop */
	CHECK_EQ_INT(vocab_encode(v, "ab\xff", &ids, &n, NULL), ACC_EFORMAT);
	vocab_oov_free(&oov);
	vocab_free(v);
}

static void test_nested_errors(void)
{
	vocab *v = NULL;
	CHECK_EQ_INT(vocab_load(&v, VOCAB, NULL), ACC_EINVAL);
	CHECKF(strstr(err_msg(), "amh") && strstr(err_msg(), "eng"), "message lists languages: %s", err_msg());
	CHECK_EQ_INT(vocab_load(&v, VOCAB, "fra"), ACC_ENOTFOUND);
	CHECKF(strstr(err_msg(), "amh, eng") != NULL, "message lists languages: %s", err_msg());
	CHECK(v == NULL);
	char p[4096];
	snprintf(p, sizeof p, "%s/bad.json", TEST_TMP);
	const char *bad[] = { "{\"a\": 0, \"b\": 2}", "{\"a\": 0, \"b\": 0}", "{\"a\": \"x\"}", "[1]", "{\"a\": 0", "{}" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		CHECK_OK(fs_write_atomic(p, bad[i], strlen(bad[i])));
		int rc = vocab_load(&v, p, NULL);
		CHECKF(rc == ACC_EFORMAT, "case %zu: rc %d", i, rc);
		CHECK(v == NULL);
	}
	CHECK_EQ_INT(vocab_load(&v, "/nonexistent/vocab.json", NULL) < 0, 1);
	/* flat vocabulary: accepted with or without a language */
	const char *flat = "{\"<pad>\": 0, \"|\": 1, \"a\": 2}";
	CHECK_OK(fs_write_atomic(p, flat, strlen(flat)));
	CHECK_OK(vocab_load(&v, p, "xyz"));
	if (v) {
		CHECK_EQ_INT(vocab_size(v), 3);
		CHECK_EQ_INT(vocab_unk_id(v), -1);
		CHECK_STR(vocab_token(v, 2), "a");
		CHECK(vocab_token(v, 3) == NULL);
		vocab_free(v);
	}
}

static void test_build_and_merge(void)
{
	char p[4096];
	snprintf(p, sizeof p, "%s/vocab.json", TEST_TMP);
	/* start from the fixture's nested file */
	char *src = NULL;
	size_t len = 0;
	CHECK_OK(fs_read_all(VOCAB, &src, &len, 0));
	CHECK_OK(fs_write_atomic(p, src, len));
	free(src);
	const char *texts[] = { "bab ça", "zz a" };
	vocab *nv = NULL;
	CHECK_OK(vocab_build_from_texts(&nv, texts, 2));
	if (!nv)
		return;
	/* specials then code points in order: a b z ç */
	const char *want[] = { "<pad>", "<s>", "</s>", "<unk>", "|", "a", "b", "z", "ç" };
	CHECK_EQ_INT(vocab_size(nv), 9);
	for (int i = 0; i < 9 && i < vocab_size(nv); i++)
		CHECK_STR(vocab_token(nv, i), want[i]);
	CHECK_OK(vocab_save_merged(nv, p, "xyz"));
	char **langs = NULL;
	int nl = 0;
	CHECK_OK(vocab_languages(p, &langs, &nl));
	CHECK_EQ_INT(nl, 3);
	if (nl == 3) {
		CHECK_STR(langs[0], "amh");
		CHECK_STR(langs[1], "eng");
		CHECK_STR(langs[2], "xyz");
	}
	for (int i = 0; i < nl; i++)
		free(langs[i]);
	free(langs);
	/* other languages untouched: every id identical */
	vocab *a = NULL, *b = NULL, *x = NULL;
	CHECK_OK(vocab_load(&a, VOCAB, "eng"));
	CHECK_OK(vocab_load(&b, p, "eng"));
	CHECK_OK(vocab_load(&x, p, "xyz"));
	if (a && b && x) {
		CHECK_EQ_INT(vocab_size(a), vocab_size(b));
		for (int i = 0; i < vocab_size(a); i++)
			CHECK_STR(vocab_token(a, i), vocab_token(b, i));
		CHECK_EQ_INT(vocab_id(x, "ç"), 8);
	}
	vocab_free(a);
	vocab_free(b);
	vocab_free(x);
	/* replacing the language again keeps the file valid */
	CHECK_OK(vocab_save_merged(nv, p, "xyz"));
	CHECK_OK(vocab_languages(p, &langs, &nl));
	CHECK_EQ_INT(nl, 3);
	for (int i = 0; i < nl; i++)
		free(langs[i]);
	free(langs);
	/* a flat file cannot take a language */
	const char *flat = "{\"<pad>\": 0, \"|\": 1}";
	CHECK_OK(fs_write_atomic(p, flat, strlen(flat)));
	CHECK_EQ_INT(vocab_save_merged(nv, p, "xyz"), ACC_EUNSUPPORTED);
	vocab_free(nv);
}

int main(void)
{
	RUN(test_hf_encode_decode);
	RUN(test_oov_report);
	RUN(test_nested_errors);
	RUN(test_build_and_merge);
	return check_summary();
}
