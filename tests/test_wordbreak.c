/*
 * test_wordbreak.c — ICU word units for scripts written without spaces.
 */
#include "check.h"
#include "base/err.h"
#include "text/wordbreak.h"

static void test_split(void)
{
	int64_t *c = NULL;
	int n = -1;
	CHECK(wordbreak_needed("\xe4\xbd\xa0\xe5\xa5\xbd"));      /* 你好 */
	CHECK(wordbreak_needed("abc\xe0\xb8\xaa"));               /* Thai letter */
	CHECK(!wordbreak_needed("hello"));
	CHECK(!wordbreak_needed("\xe1\x8c\x88\xe1\x89\xa0"));     /* Ethiopic: spaced script */
	/* 你好世界 -> 你好 | 世界 */
	CHECK_OK(wordbreak_split("\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xb8\x96\xe7\x95\x8c", "cmn", &c, &n));
	CHECK_EQ_INT(n, 1);
	if (n == 1)
		CHECK_EQ_INT(c[0], 2);
	free(c);
	/* a spaced-script word is never cut */
	CHECK_OK(wordbreak_split("hello", NULL, &c, &n));
	CHECK_EQ_INT(n, 0);
	CHECK(c == NULL);
	/* one unit: nothing to cut (世界) */
	CHECK_OK(wordbreak_split("\xe4\xb8\x96\xe7\x95\x8c", NULL, &c, &n));
	CHECK_EQ_INT(n, 0);
	/* cuts are increasing code-point offsets inside the word (Thai, 4-byte-free) */
	const char *th = "\xe0\xb8\xaa\xe0\xb8\xa7\xe0\xb8\xb1\xe0\xb8\xaa\xe0\xb8\x94\xe0\xb8\xb5"
			 "\xe0\xb8\x84\xe0\xb8\xa3\xe0\xb8\xb1\xe0\xb8\x9a";   /* สวัสดีครับ */
	CHECK_OK(wordbreak_split(th, "tha", &c, &n));
	CHECK(n >= 1);
	for (int i = 0; i < n; i++)
		CHECK(c[i] > (i ? c[i - 1] : 0) && c[i] < 10);
	free(c);
	/* a supplementary-plane Han character counts as one code point */
	CHECK_OK(wordbreak_split("\xf0\xa0\x80\x80\xe4\xbd\xa0\xe5\xa5\xbd", NULL, &c, &n));
	for (int i = 0; i < n; i++)
		CHECK(c[i] >= 1 && c[i] <= 2);
	free(c);
}

int main(void)
{
	RUN(test_split);
	return check_summary();
}
