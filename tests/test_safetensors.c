/*
 * test_safetensors.c — the safetensors reader and writer: round trips,
 * float16/bfloat16 conversions, the reference byte layout, every hostile
 * header defect as a clean error, and a deterministic mutation fuzz
 * (byte flips, truncations, header-length edits of a valid file) that must
 * never crash or read outside the buffer (run it under ASan).
 */
#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "model/safetensors.h"

#include <stdint.h>

/* A buffer "8-byte length + header + data" built from a header string. */
static unsigned char *mkbuf(const char *hdr, size_t data_len, size_t *len)
{
	size_t n = strlen(hdr);
	*len = 8 + n + data_len;
	unsigned char *b = calloc(1, *len);
	uint64_t n64 = n;
	memcpy(b, &n64, 8);
	memcpy(b + 8, hdr, n);
	for (size_t i = 0; i < data_len; i++)
		b[8 + n + i] = (unsigned char)(i * 7);
	return b;
}

/* Open hdr+data; expect failure with code and a message containing want. */
static void expect_bad(const char *hdr, size_t data_len, int code, const char *want)
{
	size_t len;
	unsigned char *b = mkbuf(hdr, data_len, &len);
	safetensors_file *f = (safetensors_file *)1;
	int rc = safetensors_open_buffer(&f, b, len, "bad.safetensors");
	CHECKF(rc == code, "header %s: rc %d (%s), want %d", hdr, rc, err_msg(), code);
	CHECK(f == NULL);
	CHECKF(strstr(err_msg(), want) != NULL, "header %s: message '%s' lacks '%s'", hdr, err_msg(), want);
	CHECK(strstr(err_msg(), "bad.safetensors") != NULL);
	free(b);
}

static void test_f16_bf16_conversions(void)
{
	/* known encodings (IEEE 754 binary16 / bfloat16 tables) */
	CHECK_EQ_INT(safetensors_f32_to_f16(1.0f), 0x3c00);
	CHECK_EQ_INT(safetensors_f32_to_f16(-2.0f), 0xc000);
	CHECK_EQ_INT(safetensors_f32_to_f16(65504.0f), 0x7bff);
	CHECK_EQ_INT(safetensors_f32_to_f16(65520.0f), 0x7c00);        /* rounds to +inf */
	CHECK_EQ_INT(safetensors_f32_to_f16(0x1p-24f), 0x0001);        /* smallest subnormal */
	CHECK_EQ_INT(safetensors_f32_to_f16(0x1p-25f), 0x0000);        /* tie -> even (0) */
	CHECK_EQ_INT(safetensors_f32_to_f16(0x1.8p-25f), 0x0001);
	CHECK_EQ_INT(safetensors_f32_to_f16(0x1p-14f), 0x0400);        /* smallest normal */
	CHECK_EQ_INT(safetensors_f32_to_f16(1.0f + 0x1p-11f), 0x3c00); /* tie -> even */
	CHECK_EQ_INT(safetensors_f32_to_f16(1.0f + 0x1.8p-11f), 0x3c01);
	CHECK_EQ_INT(safetensors_f32_to_bf16(1.0f), 0x3f80);
	CHECK_EQ_INT(safetensors_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);  /* tie -> even */
	CHECK_EQ_INT(safetensors_f32_to_bf16(1.0f + 0x1.8p-8f), 0x3f81);
	CHECK_NEAR(safetensors_f16_to_f32(0x3555), 0.333251953125, 0);
	CHECK_NEAR(safetensors_bf16_to_f32(0xc0a0), -5.0, 0);
	CHECK(isinf(safetensors_f16_to_f32(0xfc00)) && safetensors_f16_to_f32(0xfc00) < 0);
	CHECK(isnan(safetensors_f16_to_f32(0x7e00)));
	CHECK(isnan(safetensors_bf16_to_f32(safetensors_f32_to_bf16(NAN))));
	/* every finite half / bfloat16 survives f32 and back */
	int bad16 = 0, badb = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		float f = safetensors_f16_to_f32((uint16_t)h);
		if (!isnan(f) && safetensors_f32_to_f16(f) != h)
			bad16++;
		f = safetensors_bf16_to_f32((uint16_t)h);
		if (!isnan(f) && safetensors_f32_to_bf16(f) != h)
			badb++;
	}
	CHECK_EQ_INT(bad16, 0);
	CHECK_EQ_INT(badb, 0);
}

static void test_roundtrip(void)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/rt.safetensors", TEST_TMP);
	float a[6] = {1, -2.5f, 3.25f, 0, 1e-3f, 65504};
	int64_t ids[3] = {-1, 0, 1LL << 40};
	int32_t small[2] = {7, -9};
	safetensors_writer *w;
	CHECK_OK(safetensors_writer_new(&w));
	int64_t s23[2] = {2, 3}, s3[1] = {3}, s2[1] = {2}, s0[1] = {0};
	CHECK_OK(safetensors_writer_add_f32(w, "b.f32", ST_F32, 2, s23, a));
	CHECK_OK(safetensors_writer_add_f32(w, "a.bf16", ST_BF16, 2, s23, a));
	CHECK_OK(safetensors_writer_add_f32(w, "c.f16", ST_F16, 2, s23, a));
	CHECK_OK(safetensors_writer_add(w, "ids", ST_I64, 1, s3, ids));
	CHECK_OK(safetensors_writer_add(w, "small", ST_I32, 1, s2, small));
	CHECK_OK(safetensors_writer_add(w, "empty", ST_F32, 1, s0, NULL));
	CHECK_OK(safetensors_writer_add_f32(w, "scalar", ST_F32, 0, NULL, a));
	CHECK_OK(safetensors_writer_meta(w, "format", "pt"));
	CHECK_EQ_INT(safetensors_writer_add(w, "ids", ST_I64, 1, s3, ids), ACC_EINVAL); /* duplicate */
	CHECK_EQ_INT(safetensors_writer_add_f32(w, "x", ST_I32, 1, s3, a), ACC_EINVAL);
	CHECK_OK(safetensors_writer_write(w, path));
	safetensors_writer_free(w);

	/* reference layout: header padded with spaces to 8 bytes, __metadata__
	 * first, 8-byte dtypes first, then 4-byte, then 2-byte, each by name */
	char *raw;
	size_t len;
	CHECK_OK(fs_read_all(path, &raw, &len, 0));
	uint64_t n;
	memcpy(&n, raw, 8);
	CHECK_EQ_INT(n % 8, 0);
	CHECK(!strncmp(raw + 8, "{\"__metadata__\":{\"format\":\"pt\"},\"ids\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]},"
	                        "\"b.f32\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[24,48]},", 140));
	CHECK(raw[8 + n - 1] == ' ' || raw[8 + n - 1] == '}');
	CHECK_EQ_INT(len, 8 + n + 24 + 24 + 0 + 4 + 8 + 12 + 12);
	free(raw);

	safetensors_file *f;
	CHECK_OK(safetensors_open(&f, path));
	if (!f)
		return;
	CHECK_EQ_INT(safetensors_count(f), 7);
	CHECK_STR(safetensors_meta(f, "format"), "pt");
	CHECK(safetensors_meta(f, "nope") == NULL);
	CHECK_STR(safetensors_at(f, 0)->name, "a.bf16"); /* sorted by name */
	float *x;
	size_t nx;
	int64_t want23[2] = {2, 3};
	CHECK_OK(safetensors_read_f32(f, "b.f32", 2, want23, &x, &nx));
	CHECK(x && nx == 6 && !memcmp(x, a, sizeof a));
	free(x);
	CHECK_OK(safetensors_read_f32(f, "a.bf16", 2, want23, &x, &nx));
	for (int i = 0; x && i < 6; i++)
		CHECK_NEAR(x[i], a[i], fabs(a[i]) / 256 + 1e-30);
	free(x);
	CHECK_OK(safetensors_read_f32(f, "c.f16", 2, want23, &x, &nx));
	for (int i = 0; x && i < 6; i++)
		CHECK_NEAR(x[i], a[i], fabs(a[i]) / 2048 + 1e-30);
	free(x);
	int64_t *iv;
	CHECK_OK(safetensors_read_i64(f, "ids", &iv, &nx));
	CHECK(iv && nx == 3 && iv[0] == -1 && iv[2] == (1LL << 40));
	free(iv);
	CHECK_OK(safetensors_read_i64(f, "small", &iv, &nx));
	CHECK(iv && iv[0] == 7 && iv[1] == -9);
	free(iv);
	const safetensors_tensor *t = safetensors_find(f, "empty");
	CHECK(t && t->numel == 0 && t->ndim == 1);
	t = safetensors_find(f, "scalar");
	CHECK(t && t->numel == 1 && t->ndim == 0);
	/* conversions that make no sense are errors, not garbage */
	CHECK_EQ_INT(safetensors_read_f32(f, "ids", 0, NULL, &x, &nx), ACC_EUNSUPPORTED);
	CHECK(strstr(err_msg(), "'ids'") && strstr(err_msg(), "I64"));
	CHECK_EQ_INT(safetensors_read_i64(f, "b.f32", &iv, &nx), ACC_EUNSUPPORTED);
	int64_t wrong[2] = {3, 2};
	CHECK_EQ_INT(safetensors_read_f32(f, "b.f32", 2, wrong, &x, &nx), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "[2, 3]") && strstr(err_msg(), "[3, 2]"));
	CHECK_EQ_INT(safetensors_read_f32(f, "nope", 0, NULL, &x, &nx), ACC_ENOTFOUND);
	safetensors_close(f);
}

/* The golden fixtures written by the Python reference open and read. */
static void test_reads_reference_files(void)
{
	safetensors_file *f;
	CHECK_OK(safetensors_open(&f, TEST_DATA("data/hf-wav2vec2/mms-tiny/golden.safetensors")));
	if (!f)
		return;
	int64_t *fl;
	size_t n;
	CHECK_OK(safetensors_read_i64(f, "feature_lengths", &fl, &n));
	CHECK(fl && n == 2 && fl[0] == 49 && fl[1] == 37); /* README: (49, 37) */
	free(fl);
	float *w0;
	int64_t s[1] = {16000};
	CHECK_OK(safetensors_read_f32(f, "wave0", 1, s, &w0, &n));
	free(w0);
	const safetensors_tensor *t = safetensors_find(f, "logits");
	CHECK(t && t->ndim == 3 && t->shape[0] == 2 && t->shape[1] == 49 && t->shape[2] == 12 && t->dtype == ST_F32);
	safetensors_close(f);
	CHECK_OK(safetensors_open(&f, TEST_DATA("data/hf-wav2vec2/ctc/ctc.safetensors")));
	if (f) {
		CHECK(safetensors_find(f, "targets") && safetensors_find(f, "targets")->dtype == ST_I32);
		safetensors_close(f);
	}
}

static void test_hostile_headers(void)
{
	size_t len;
	safetensors_file *f;
	/* shorter than the length prefix */
	unsigned char tiny[5] = {1, 0, 0, 0, 0};
	CHECK_EQ_INT(safetensors_open_buffer(&f, tiny, sizeof tiny, "bad.safetensors"), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "too short"));
	/* header length beyond the file, and absurdly large */
	unsigned char *b = mkbuf("{}", 0, &len);
	uint64_t big = 1000;
	memcpy(b, &big, 8);
	CHECK_EQ_INT(safetensors_open_buffer(&f, b, len, "bad.safetensors"), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "beyond the end of the file"));
	big = UINT64_MAX;
	memcpy(b, &big, 8);
	CHECK_EQ_INT(safetensors_open_buffer(&f, b, len, "bad.safetensors"), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "exceeds"));
	free(b);
	/* an empty header and an empty object are fine */
	b = mkbuf("{}", 0, &len);
	CHECK_OK(safetensors_open_buffer(&f, b, len, "ok"));
	if (f) {
		CHECK_EQ_INT(safetensors_count(f), 0);
		safetensors_close(f);
	}
	free(b);

	expect_bad("", 0, ACC_EFORMAT, "does not start with a JSON object");
	expect_bad("[1,2]", 0, ACC_EFORMAT, "does not start with a JSON object");
	expect_bad("{\"a\":", 0, ACC_EFORMAT, "JSON invalid");
	expect_bad("{\"a\":{}} xx", 0, ACC_EFORMAT, "JSON invalid");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}\x01}", 4, ACC_EFORMAT, "JSON invalid");
	expect_bad("{\"a\":1}", 0, ACC_EFORMAT, "'a': header entry is not an object");
	expect_bad("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT, "'a': missing 'dtype'");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT, "'a': missing 'shape'");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, ACC_EFORMAT, "'a': missing 'data_offsets'");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4, ACC_EFORMAT, "unknown field 'x'");
	expect_bad("{\"a\":{\"dtype\":\"F31\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT, "unknown dtype 'F31'");
	expect_bad("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT, "unknown dtype");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT, "shape[0] is not a non-negative integer");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT, "shape[0]");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT, "shape is not an array");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
	           ACC_EFORMAT, "overflows");
	expect_bad("{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT,
	           "byte size overflows");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT,
	           "JSON invalid");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, ACC_EFORMAT,
	           "9 dimensions");
	/* wrong dtype size: F32 [2] needs 8 bytes, the span has 4 */
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, ACC_EFORMAT,
	           "needs 8 bytes but data_offsets span 4");
	expect_bad("{\"a\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, ACC_EFORMAT,
	           "needs 6 bytes");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 8, ACC_EFORMAT, "end 0 < begin 4");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8, ACC_EFORMAT, "data_offsets must be");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8, ACC_EFORMAT, "data_offsets must be");
	/* spans past the data area (truncated file) */
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}", 12, ACC_EFORMAT,
	           "beyond the data area (12 bytes");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,0]}}", 12, ACC_EFORMAT,
	           "JSON invalid");
	/* overlapping spans */
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, ACC_EFORMAT,
	           "'a' [0, 8] and 'b' [4, 12] overlap");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	           "\"b\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,4]}}", 12, ACC_EFORMAT, "overlap");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, ACC_EFORMAT, "overlap");
	/* duplicate names */
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
	           "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, ACC_EFORMAT, "duplicate");
	expect_bad("{\"__metadata__\":{\"k\":1}}", 0, ACC_EFORMAT, "__metadata__ value of 'k' is not a string");
	expect_bad("{\"__metadata__\":[]}", 0, ACC_EFORMAT, "__metadata__ is not an object");
	/* a gap between spans and trailing bytes are tolerated */
	b = mkbuf("{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
	          "\"b\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[4,6]}}", 9, &len);
	CHECK_OK(safetensors_open_buffer(&f, b, len, "gap"));
	if (f) {
		int64_t *v;
		size_t n;
		CHECK_OK(safetensors_read_i64(f, "b", &v, &n));
		CHECK(v && v[0] == 28 && v[1] == 35); /* data byte i = i * 7 */
		free(v);
		safetensors_close(f);
	}
	free(b);
}

static void test_files_on_disk(void)
{
	safetensors_file *f;
	char p[4096];
	CHECK_EQ_INT(safetensors_open(&f, "/nonexistent/x.safetensors"), ACC_ENOTFOUND);
	CHECK(strstr(err_msg(), "/nonexistent/x.safetensors"));
	CHECK_EQ_INT(safetensors_open(&f, TEST_TMP), ACC_EIO);
	snprintf(p, sizeof p, "%s/empty.safetensors", TEST_TMP);
	CHECK_OK(fs_write_atomic(p, "", 0));
	CHECK_EQ_INT(safetensors_open(&f, p), ACC_EFORMAT);
	/* a truncated real checkpoint */
	char *raw;
	size_t len;
	CHECK_OK(fs_read_all(TEST_DATA("data/hf-wav2vec2/mms-tiny/adapter.amh.safetensors"), &raw, &len, 0));
	snprintf(p, sizeof p, "%s/trunc.safetensors", TEST_TMP);
	CHECK_OK(fs_write_atomic(p, raw, len - 100));
	CHECK_EQ_INT(safetensors_open(&f, p), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "beyond the data area") && strstr(err_msg(), "truncated"));
	CHECK_OK(fs_write_atomic(p, raw, 1000));
	CHECK_EQ_INT(safetensors_open(&f, p), ACC_EFORMAT);
	CHECK(strstr(err_msg(), "beyond the end of the file"));
	free(raw);
}

/* xorshift64*: deterministic mutations */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* Touch every byte a successfully opened file claims, so that ASan sees
 * any span the validator let through outside the buffer. */
static double touch_all(const safetensors_file *f)
{
	double acc = 0;
	for (int i = 0; i < safetensors_count(f); i++) {
		const safetensors_tensor *t = safetensors_at(f, i);
		if (t->numel > (1 << 20))
			continue;
		float *x = malloc(t->numel * sizeof *x + 1);
		int64_t *y = malloc(t->numel * sizeof *y + 1);
		if (!safetensors_to_f32(t, x))
			for (size_t j = 0; j < t->numel; j++)
				acc += x[j] == x[j] ? 0 : 1;
		if (!safetensors_to_i64(t, y))
			for (size_t j = 0; j < t->numel; j++)
				acc += (double)y[j];
		const unsigned char *p = t->data;
		for (size_t j = 0; j < t->nbytes; j++)
			acc += p[j];
		free(x);
		free(y);
	}
	return acc;
}

static void test_mutation_fuzz(void)
{
	char *orig;
	size_t olen;
	CHECK_OK(fs_read_all(TEST_DATA("data/hf-wav2vec2/mms-tiny/adapter.amh.safetensors"), &orig, &olen, 0));
	if (!orig)
		return;
	uint64_t hlen;
	memcpy(&hlen, orig, 8);
	uint64_t s = 0x9e3779b97f4a7c15ull;
	int opened = 0, rejected = 0;
	volatile double sink = 0;
	for (int it = 0; it < 4000; it++) {
		size_t len = olen;
		unsigned char *b = malloc(olen);
		memcpy(b, orig, olen);
		int kind = (int)(rnd(&s) % 6);
		if (kind == 0) { /* truncate anywhere */
			len = rnd(&s) % olen;
		} else if (kind == 1) { /* flip bytes inside the JSON header */
			int k = 1 + (int)(rnd(&s) % 8);
			for (int j = 0; j < k; j++)
				b[8 + rnd(&s) % hlen] = (unsigned char)rnd(&s);
		} else if (kind == 2) { /* digits in the header: shapes and offsets */
			for (int j = 0; j < 4; j++) {
				size_t pos = 8 + rnd(&s) % hlen;
				if (b[pos] >= '0' && b[pos] <= '9')
					b[pos] = (unsigned char)('0' + rnd(&s) % 10);
			}
		} else if (kind == 3) { /* header length field */
			uint64_t v = hlen + (rnd(&s) % 64) - 32;
			if (rnd(&s) % 4 == 0)
				v = rnd(&s);
			memcpy(b, &v, 8);
		} else if (kind == 4) { /* flip anywhere */
			b[rnd(&s) % olen] ^= (unsigned char)(1u << (rnd(&s) % 8));
		} else { /* structural characters swapped */
			static const char sy[] = "{}[]\":,-0 ";
			for (int j = 0; j < 2; j++)
				b[8 + rnd(&s) % hlen] = (unsigned char)sy[rnd(&s) % (sizeof sy - 1)];
		}
		/* an exact-size heap copy so ASan catches any overread */
		unsigned char *exact = malloc(len ? len : 1);
		memcpy(exact, b, len);
		free(b);
		safetensors_file *f = NULL;
		int rc = safetensors_open_buffer(&f, exact, len, "fuzz");
		if (rc == 0) {
			opened++;
			sink += touch_all(f);
			safetensors_close(f);
		} else {
			rejected++;
			CHECK(rc == ACC_EFORMAT || rc == ACC_ENOMEM);
			CHECK(f == NULL && err_msg()[0]);
		}
		free(exact);
	}
	(void)sink;
	printf("# mutation fuzz: %d opened, %d rejected cleanly\n", opened, rejected);
	CHECK(opened > 50 && rejected > 1000);
	free(orig);
}

int main(void)
{
	RUN(test_f16_bf16_conversions);
	RUN(test_roundtrip);
	RUN(test_reads_reference_files);
	RUN(test_hostile_headers);
	RUN(test_files_on_disk);
	RUN(test_mutation_fuzz);
	return check_summary();
}
