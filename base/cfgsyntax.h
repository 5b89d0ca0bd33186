/*
 * cfgsyntax.h - where a libconfig syntax error really is. libconfig says
 * "syntax error" at the line where it noticed, which for a missing ',' or a
 * bracket never closed can be lines (or a whole file) after the fault. Once
 * libconfig has refused a file, cfgsyntax reads it again with a small parser
 * of the same grammar and names the line of the likely cause, in words.
 */
#ifndef ESCALATOR_CFGSYNTAX_H
#define ESCALATOR_CFGSYNTAX_H

#include <stddef.h>

/* The longest explanation cfgsyntax_locate writes, with its NUL. */
#define CFGSYNTAX_MSG_MAX 200

/*
 * Find the first syntax error in the libconfig text text[0..len). On
 * success set *line (1-based) and msg (what is wrong there, without a
 * "syntax error: " prefix) and return 0; return -1 when this parser finds
 * no error (it agrees with libconfig on every valid file, but a file
 * libconfig refuses for a reason it does not model is left to libconfig's
 * own message).
 */
int cfgsyntax_locate(const char *text, size_t len, int *line, char msg[CFGSYNTAX_MSG_MAX]);

#endif
