/*
 * err.h — library error codes and the per-thread detail message.
 *
 * Library functions never print and never exit: they return 0 on success or a
 * negative ACC_E* code, and record a human-readable detail message (including
 * the foreign cause: SQLite, libsndfile, ICU, oneDNN, errno) with err_set().
 * Binaries print it git-style with err_print():
 *     error: cannot decode 'clips/x.mp3': File contains data in an unknown format.
 *     hint: convert it with ffmpeg, or check that the file is not truncated
 */
#pragma once
#include <stdarg.h>
#include <stddef.h>

enum {
	ACC_OK          =  0,
	ACC_EINVAL      = -1,  /* bad argument or option value */
	ACC_EIO         = -2,  /* read/write/open failure (errno cause) */
	ACC_ENOMEM      = -3,  /* allocation failed */
	ACC_EFORMAT     = -4,  /* malformed input file (audio, JSON, TSV, safetensors) */
	ACC_EDB         = -5,  /* SQLite failure */
	ACC_ENOTFOUND   = -6,  /* named thing does not exist */
	ACC_EUNSUPPORTED= -7,  /* valid but not supported (e.g. PyTorch pickle) */
	ACC_EINTERNAL   = -8,  /* a bug or a foreign library failure (oneDNN, ICU) */
	ACC_EINTR       = -9,  /* interrupted by the user (SIGINT) */
};

/* Record the detail message for the calling thread; returns code so that
 * `return err_set(ACC_EIO, "cannot open '%s': %s", p, strerror(errno));`
 * works.  Clears any previous hint. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with more context: "ctx: old message".
 * Returns code unchanged.  Used when an error crosses a layer boundary. */
int err_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Attach a hint to the current error (printed as "hint: ..."). */
void err_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The calling thread's last detail message ("" when none) and hint (NULL). */
const char *err_msg(void);
const char *err_hint_msg(void);

/* Short name of a code ("EIO", ...). */
const char *err_name(int code);

/* Forget the current message and hint. */
void err_clear(void);

/* Print "error: <msg>" and, when set, "hint: <hint>" to stderr. */
void err_print(void);

/* Map a library code to a process exit status for the binaries, as the
 * README documents: 0 ok, 2 usage (EINVAL), 3 data problems (EFORMAT,
 * ENOTFOUND: a missing file, language, adapter or utterance; EUNSUPPORTED),
 * 4 I/O or database (EIO, EDB), 130 interrupted (EINTR), 1 internal
 * failures only (ENOMEM, EINTERNAL). */
int err_exit_code(int code);

/* The one cleanup idiom of the library: inside a function with an `int rc`
 * and an `out:` label, TRY(call) stores call's code in rc and jumps to out
 * on failure, so every resource is released on one path. */
#define TRY(call) do { if ((rc = (call))) goto out; } while (0)

/* Grow the array *pp of *cap elements so that it holds at least need
 * (doubling, starting at 16); elements keep their values, new ones are
 * uninitialized.  0, or ACC_ENOMEM with the message set (*pp untouched,
 * still owned by the caller).  Use through ARRAY_GROW, which passes the
 * element size. */
int err_array_grow(void **pp, size_t *cap, size_t need, size_t elem);
#define ARRAY_GROW(p, cap, need) err_array_grow((void **)&(p), &(cap), (need), sizeof *(p))
