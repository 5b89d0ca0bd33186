/* utf8.c - checking and repairing UTF-8. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

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

/* Copy s, replacing invalid UTF-8 with U+FFFD. */
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
		} else {
			memcpy(o, p, len);
			o += len;
			p += len;
		}
	}
	*o = '\0';
	return out;
}
