/*
 * test_fsutil.c — atomic writes must never follow a symlink planted in the
 * output directory (issue 19, security 2): the old temporary name
 * "<path>.tmp.<pid>" was predictable and opened with fopen("wb").
 */
#include "check.h"
#include "base/err.h"
#include "base/fsutil.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static void put(const char *path, const char *s)
{
	FILE *f = fopen(path, "wb");
	fputs(s, f);
	fclose(f);
}

static char *slurp(const char *path)
{
	char *d = NULL;
	size_t n;
	return fs_read_all(path, &d, &n, 0) == 0 ? d : NULL;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

static void test_planted_symlink_is_not_followed(void)
{
	char dir[600], victim[700], out[700], plant[800];
	snprintf(dir, sizeof dir, "%s/exp", TEST_TMP);
	CHECK_OK(fs_mkdir_p(dir));
	snprintf(victim, sizeof victim, "%s/victim", TEST_TMP);
	put(victim, "precious\n");
	snprintf(out, sizeof out, "%s/wav.scp", dir);
	/* the name the old code used, and variants an attacker might guess */
	snprintf(plant, sizeof plant, "%s.tmp.%ld", out, (long)getpid());
	CHECK(symlink(victim, plant) == 0);
	CHECK_OK(fs_write_atomic(out, "new\n", 4));
	char *v = slurp(victim), *o = slurp(out);
	CHECK_STR(v, "precious\n");
	CHECK_STR(o, "new\n");
	free(v);
	free(o);
	/* the planted link is left alone, no temporary is left behind */
	struct stat st;
	CHECK(lstat(plant, &st) == 0 && S_ISLNK(st.st_mode));
	CHECK_EQ_INT(count_entries(dir), 2);
	unlink(plant);
}

static void test_output_symlink_is_replaced_not_written_through(void)
{
	char victim[700], out[700];
	snprintf(victim, sizeof victim, "%s/victim2", TEST_TMP);
	put(victim, "precious\n");
	snprintf(out, sizeof out, "%s/link-out", TEST_TMP);
	CHECK(symlink(victim, out) == 0);
	CHECK_OK(fs_write_atomic(out, "x", 1));
	char *v = slurp(victim);
	CHECK_STR(v, "precious\n");
	free(v);
	struct stat st;
	CHECK(lstat(out, &st) == 0 && S_ISREG(st.st_mode));
}

static void test_tmp_names_are_fresh_and_exclusive(void)
{
	char out[700], t1[4096], t2[4096];
	FILE *a = NULL, *b = NULL;
	snprintf(out, sizeof out, "%s/f.txt", TEST_TMP);
	CHECK_OK(fs_open_tmp(out, t1, &a));
	CHECK_OK(fs_open_tmp(out, t2, &b));
	CHECK(strcmp(t1, t2) != 0);
	CHECK(strncmp(t1, out, strlen(out)) == 0);   /* same directory as the target */
	struct stat st;
	CHECK(stat(t1, &st) == 0 && (st.st_mode & 0777) != 0);
	fs_abort_tmp(a, t1);
	CHECK_OK(fs_commit_tmp(b, t2, out));
	CHECK(!fs_exists(t1) && !fs_exists(t2) && fs_exists(out));
}

int main(void)
{
	RUN(test_planted_symlink_is_not_followed);
	RUN(test_output_symlink_is_replaced_not_written_through);
	RUN(test_tmp_names_are_fresh_and_exclusive);
	return check_summary();
}
