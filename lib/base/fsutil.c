/*
 * fsutil.c — atomic writes, whole-file reads, SHA-256 (OpenSSL EVP), paths.
 */
#include "base/fsutil.h"
#include "base/err.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include "base/banned.h"

int fs_open_tmp(const char *path, char *tmp_path, FILE **fp)
{
	/* The temporary lives next to path (same file system, so the rename is
	 * atomic) under a name nobody can predict or pre-plant: O_EXCL refuses
	 * an existing name and O_NOFOLLOW a symlink, so a link planted in the
	 * output directory can never redirect the write to another file. */
	static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	unsigned char rnd[12];
	int fd = -1, e = 0;
	*fp = NULL;
	for (int attempt = 0; attempt < 100; attempt++) {
		char suffix[13];
		if (fs_random_bytes(rnd, sizeof rnd) != 0)
			return err_set(ACC_EIO, "cannot create a temporary name for '%s': no random bytes", path);
		for (int i = 0; i < 12; i++)
			suffix[i] = digits[rnd[i] % 36];
		suffix[12] = 0;
		int n = snprintf(tmp_path, 4096, "%s.tmp.%ld.%s", path, (long)getpid(), suffix);
		if (n < 0 || n >= 4096)
			return err_set(ACC_EINVAL, "path too long: '%s'", path);
		fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
		if (fd >= 0)
			break;
		e = errno;
		if (e != EEXIST)
			break;
	}
	if (fd < 0)
		return err_set(ACC_EIO, "cannot create '%s': %s", tmp_path, strerror(e ? e : EEXIST));
	if (!(*fp = fdopen(fd, "wb"))) {
		e = errno;
		close(fd);
		unlink(tmp_path);
		return err_set(ACC_EIO, "cannot create '%s': %s", tmp_path, strerror(e));
	}
	return 0;
}

int fs_random_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = getrandom(p + got, n - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ACC_EIO;
		}
		got += (size_t)r;
	}
	return 0;
}

int fs_commit_tmp(FILE *fp, const char *tmp_path, const char *path)
{
	int rc = 0;
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		rc = err_set(ACC_EIO, "cannot write '%s': %s", tmp_path, strerror(errno));
		fclose(fp);
		goto out;
	}
	if (fclose(fp) != 0) {
		rc = err_set(ACC_EIO, "cannot write '%s': %s", tmp_path, strerror(errno));
		goto out;
	}
	if (rename(tmp_path, path) != 0)
		rc = err_set(ACC_EIO, "cannot rename '%s' to '%s': %s", tmp_path, path, strerror(errno));
out:
	if (rc)
		unlink(tmp_path);
	return rc;
}

void fs_abort_tmp(FILE *fp, const char *tmp_path)
{
	if (fp)
		fclose(fp);
	unlink(tmp_path);
}

int fs_write_atomic(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	FILE *fp = NULL;
	int rc = fs_open_tmp(path, tmp, &fp);
	if (rc)
		return rc;
	if (len && fwrite(data, 1, len, fp) != len) {
		rc = err_set(ACC_EIO, "cannot write '%s': %s", tmp, strerror(errno));
		fs_abort_tmp(fp, tmp);
		return rc;
	}
	return fs_commit_tmp(fp, tmp, path);
}

int fs_read_all(const char *path, char **data, size_t *len, size_t max_len)
{
	int rc = 0;
	char *buf = NULL;
	struct stat st;
	size_t got = 0;
	FILE *fp = fopen(path, "rb");
	if (!max_len)
		max_len = (size_t)1 << 30;
	*data = NULL;
	*len = 0;
	if (!fp)
		return err_set(errno == ENOENT ? ACC_ENOTFOUND : ACC_EIO, "cannot open '%s': %s", path, strerror(errno));
	if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = err_set(ACC_EIO, "'%s' is not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max_len) {
		rc = err_set(ACC_EFORMAT, "'%s' is too large (%lld bytes, limit %zu)", path, (long long)st.st_size, max_len);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = err_set(ACC_ENOMEM, "out of memory reading '%s'", path);
		goto out;
	}
	got = fread(buf, 1, (size_t)st.st_size, fp);
	if (got != (size_t)st.st_size && ferror(fp)) {
		rc = err_set(ACC_EIO, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	buf[got] = 0;
	*data = buf;
	*len = got;
	buf = NULL;
out:
	free(buf);
	fclose(fp);
	return rc;
}

void fs_hex(const void *bytes, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *b = bytes;
	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[b[i] >> 4];
		hex[2 * i + 1] = digits[b[i] & 15];
	}
	hex[2 * n] = 0;
}

int fs_sha256_file(const char *path, char hex[65])
{
	int rc = 0;
	unsigned char md[32];
	unsigned int mdlen = 0;
	unsigned char *buf = NULL;
	EVP_MD_CTX *ctx = NULL;
	FILE *fp = fopen(path, "rb");
	if (!fp)
		return err_set(errno == ENOENT ? ACC_ENOTFOUND : ACC_EIO, "cannot open '%s': %s", path, strerror(errno));
	buf = malloc(1 << 16);
	ctx = EVP_MD_CTX_new();
	if (!buf || !ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rc = err_set(ACC_ENOMEM, "cannot start SHA-256 for '%s'", path);
		goto out;
	}
	for (;;) {
		size_t n = fread(buf, 1, 1 << 16, fp);
		if (n)
			EVP_DigestUpdate(ctx, buf, n);
		if (n < (1 << 16)) {
			if (ferror(fp)) {
				rc = err_set(ACC_EIO, "cannot read '%s': %s", path, strerror(errno));
				goto out;
			}
			break;
		}
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	fs_hex(md, 32, hex);
out:
	EVP_MD_CTX_free(ctx);
	free(buf);
	fclose(fp);
	return rc;
}

void fs_sha256_buf(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	fs_hex(md, 32, hex);
}

int fs_join(char *dst, size_t cap, const char *dir, const char *rel)
{
	int n;
	if (rel[0] == '/' || !dir || !dir[0])
		n = snprintf(dst, cap, "%s", rel);
	else
		n = snprintf(dst, cap, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", rel);
	if (n < 0 || (size_t)n >= cap)
		return err_set(ACC_EINVAL, "path too long: '%s/%s'", dir, rel);
	return 0;
}

int fs_path_normalize(const char *path, char *out, size_t cap)
{
	size_t n = 0, lead = 0;   /* lead: bytes of leading "../" kept in a relative path */
	int abs = path[0] == '/';
	if (cap < 2)
		return err_set(ACC_EINVAL, "path too long: '%s'", path);
	if (abs)
		out[n++] = '/';
	lead = n;
	for (const char *p = path; *p;) {
		while (*p == '/')
			p++;
		const char *e = p;
		while (*e && *e != '/')
			e++;
		size_t len = (size_t)(e - p);
		if (!len)
			break;
		if (len == 1 && p[0] == '.') {
			/* "." adds nothing */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n > lead) {
				/* drop the last component */
				while (n > lead && out[n - 1] != '/')
					n--;
				if (n > lead)
					n--;   /* its separator */
				if (abs && n == 0)
					n = 1;
			} else if (!abs) {
				/* a relative path climbing above its start keeps the ".." */
				if (n + 3 + 1 > cap)
					return err_set(ACC_EINVAL, "path too long: '%s'", path);
				if (n)
					out[n++] = '/';
				out[n++] = '.';
				out[n++] = '.';
				lead = n;
			}
			/* an absolute path cannot climb above "/" */
		} else {
			if (n + len + 2 > cap)
				return err_set(ACC_EINVAL, "path too long: '%s'", path);
			if (n && out[n - 1] != '/')
				out[n++] = '/';
			memcpy(out + n, p, len);
			n += len;
		}
		p = e;
	}
	if (!n)
		out[n++] = '.';
	out[n] = 0;
	return 0;
}

int fs_path_within(const char *path, const char *dir)
{
	char a[8192], b[8192];
	if (fs_path_normalize(path, a, sizeof a) || fs_path_normalize(dir, b, sizeof b))
		return 0;
	if ((a[0] == '/') != (b[0] == '/'))
		return 0;
	if (!strcmp(b, "/"))
		return 1;
	if (!strcmp(b, "."))
		return strcmp(a, "..") && strncmp(a, "../", 3);
	size_t n = strlen(b);
	return !strncmp(a, b, n) && (a[n] == 0 || a[n] == '/');
}

int fs_mkdir_p(const char *path)
{
	char tmp[4096];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp)
		return err_set(ACC_EINVAL, "bad directory path '%s'", path);
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
			return err_set(ACC_EIO, "cannot create directory '%s': %s", tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
		return err_set(ACC_EIO, "cannot create directory '%s': %s", tmp, strerror(errno));
	return 0;
}

int fs_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}
