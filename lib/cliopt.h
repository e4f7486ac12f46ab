/*
 * cliopt.h — parsing of numeric option values for the binaries, so every
 * command accepts and refuses the same spellings ("1e-3" yes; "", "3x",
 * "nan", "inf" and out-of-range integers no).  Messages stay with the
 * caller, which knows the option's name and meaning.
 */
#pragma once

/* The whole of s as a finite number: 0 and *out set, or -1 (*out untouched). */
int cliopt_number(const char *s, double *out);

/* The whole of s as a decimal integer that fits a long long: 0 and *out
 * set, or -1 (*out untouched). */
int cliopt_integer(const char *s, long long *out);
