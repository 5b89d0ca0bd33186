/* utf8.c - checking and repairing UTF-8. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Byte n of s, or before it, at the start of a character. */
size_t
utf8_boundary(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not valid. */
size_t
utf8_seq_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f))
			return 0; /* overlong, or a UTF-16 surrogate */
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* Is the sequence at p a separator or bidirectional control? */
enum utf8_hidden
utf8_hidden(const unsigned char *p, size_t len)
{
	if (len == 2)
		return p[0] == 0xd8 && p[1] == 0x9c ? UTF8_BIDI : UTF8_PLAIN; /* U+061C */
	if (len != 3 || p[0] != 0xe2)
		return UTF8_PLAIN;
	if (p[1] == 0x80) {
		if (p[2] == 0xa8 || p[2] == 0xa9)
			return UTF8_SEPARATOR; /* U+2028, U+2029 */
		if (p[2] == 0x8e || p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae))
			return UTF8_BIDI; /* U+200E, U+200F, U+202A-U+202E */
	} else if (p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9) {
		return UTF8_BIDI; /* U+2066-U+2069 */
	}
	return UTF8_PLAIN;
}

/* Copy s: invalid UTF-8 as U+FFFD, separators as spaces, bidi controls dropped. */
char *
utf8_sanitize(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1), *o = out;
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t len = utf8_seq_len(p);

		if (len == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
			continue;
		}
		switch (utf8_hidden(p, len)) {
		case UTF8_SEPARATOR:
			*o++ = ' ';
			break;
		case UTF8_BIDI:
			break;
		case UTF8_PLAIN:
			memcpy(o, p, len);
			o += len;
			break;
		}
		p += len;
	}
	*o = '\0';
	return out;
}
