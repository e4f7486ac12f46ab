/*
 * fsutil.h — file helpers every stage shares: atomic writes (temporary name
 * + fsync + rename, so a killed process never leaves a half-written file),
 * whole-file reads, content hashing, path joins.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Write len bytes to path atomically: a fresh temporary (fs_open_tmp) is written, fsync'ed and
 * renamed over path.  Returns 0 or ACC_EIO with the errno cause. */
int fs_write_atomic(const char *path, const void *data, size_t len);

/* Create "<path>.tmp.<pid>.<random>" in path's directory with
 * O_CREAT|O_EXCL|O_NOFOLLOW (never an existing file, never through a
 * symlink) and open it for writing; fs_commit_tmp() fsyncs, closes and
 * renames it over path; fs_abort_tmp() closes and unlinks it.  For writers
 * that stream (safetensors, exports).  tmp_path must hold 4096 bytes. */
#include <stdio.h>
int fs_open_tmp(const char *path, char *tmp_path, FILE **fp);
int fs_commit_tmp(FILE *fp, const char *tmp_path, const char *path);
void fs_abort_tmp(FILE *fp, const char *tmp_path);

/* Fill buf with n bytes from the kernel's random source (getrandom).
 * Returns 0 or ACC_EIO. */
int fs_random_bytes(void *buf, size_t n);

/* Read a whole file into a malloc'ed, NUL-terminated buffer (len excludes
 * the NUL).  max_len guards against hostile sizes (0 = 1 GiB). */
int fs_read_all(const char *path, char **data, size_t *len, size_t max_len);

/* bytes[0..n) as 2n lowercase hex digits + NUL into hex (2n + 1 bytes). */
void fs_hex(const void *bytes, size_t n, char *hex);

/* SHA-256 of a file's bytes as 64 lowercase hex chars + NUL. */
int fs_sha256_file(const char *path, char hex[65]);
/* SHA-256 of a buffer. */
void fs_sha256_buf(const void *data, size_t len, char hex[65]);

/* dst = dir + "/" + rel (rel returned as is when absolute).  Returns
 * ACC_EINVAL when it does not fit in cap. */
int fs_join(char *dst, size_t cap, const char *dir, const char *rel);

/* Lexical normalization (no file system access, symlinks not resolved):
 * repeated '/', "." and "name/.." collapse; a relative path keeps the ".."
 * that climb above its start; "/.." is "/".  "" -> ".".  ACC_EINVAL when
 * it does not fit in cap. */
int fs_path_normalize(const char *path, char *out, size_t cap);

/* 1 when path, normalized lexically, is dir or lies under it (both
 * absolute or both relative to the same place), else 0. */
int fs_path_within(const char *path, const char *dir);

/* mkdir -p.  Returns 0 when the directory exists afterwards. */
int fs_mkdir_p(const char *path);

/* 1 when path exists (any type), 0 otherwise. */
int fs_exists(const char *path);
