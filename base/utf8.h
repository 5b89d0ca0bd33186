/* utf8.h - checking and repairing UTF-8 (every value from the case store may be invalid). */
#ifndef ESCALATOR_UTF8_H
#define ESCALATOR_UTF8_H

#include <stddef.h>

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not valid UTF-8. */
size_t utf8_seq_len(const unsigned char *p);
/* A copy of s with every byte that is not part of valid UTF-8 replaced by U+FFFD. */
char *utf8_sanitize(const char *s);

#endif
