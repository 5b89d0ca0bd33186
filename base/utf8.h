/* utf8.h - checking and repairing UTF-8 (every value from the case store may be invalid). */
#ifndef ESCALATOR_UTF8_H
#define ESCALATOR_UTF8_H

#include <stddef.h>

/*
 * Where to cut s at or before byte n so that no character is split: n moved
 * back over continuation bytes to the start of its character (0 at most).
 */
size_t utf8_boundary(const char *s, size_t n);
/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not valid UTF-8. */
size_t utf8_seq_len(const unsigned char *p);
/*
 * Is the valid sequence of len bytes at p a character that can change how the text
 * around it is laid out without being seen: U+2028 LINE SEPARATOR and U+2029 PARAGRAPH
 * SEPARATOR (UTF8_SEPARATOR), or a bidirectional control, U+200E, U+200F, U+061C,
 * U+202A-U+202E or U+2066-U+2069 (UTF8_BIDI)? 0 (UTF8_PLAIN) for anything else.
 */
enum utf8_hidden { UTF8_PLAIN = 0, UTF8_SEPARATOR, UTF8_BIDI };
enum utf8_hidden utf8_hidden(const unsigned char *p, size_t len);
/*
 * A copy of s fit for message text: every byte that is not part of valid UTF-8
 * replaced by U+FFFD, each line or paragraph separator by a space, and bidirectional
 * controls removed (so a value can neither start a new line where a reader does not
 * expect one nor reorder the text after it).
 */
char *utf8_sanitize(const char *s);

#endif
