/*
 * banned.h — C library functions the library must not call (after git's
 * banned.h).  Each one writes without a bound (strcpy, strcat, sprintf,
 * vsprintf) or has a bound that silently truncates without NUL-termination
 * (strncpy, strncat); use snprintf, memcpy with a checked length, or the
 * helpers in base/fsutil.h instead.  Calling one is a compile error that
 * names it: "sorry_strcpy_is_a_banned_function".
 *
 * Included as the last #include of every lib/ source file (after the
 * system headers, whose declarations the macros would otherwise rewrite);
 * tests/layout.sh checks that it is.
 */
#pragma once

#define BANNED(func) sorry_##func##_is_a_banned_function

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(x) BANNED(gets)
