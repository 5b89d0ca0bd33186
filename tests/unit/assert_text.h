/*
 * assert_text.h - cmocka assertions on text a writer produced (a page, a
 * digest, a report): that it contains or lacks a piece, showing both when it
 * does not; and how many times a piece occurs. Include after <cmocka.h>.
 */
#ifndef ESCALATOR_ASSERT_TEXT_H
#define ESCALATOR_ASSERT_TEXT_H

#include <string.h>

#define assert_contains(haystack, needle)                                                          \
	do {                                                                                       \
		if (strstr((haystack), (needle)) == NULL)                                          \
			fail_msg("%s\nnot found in:\n%s", (needle), (haystack));                   \
	} while (0)
#define assert_lacks(haystack, needle)                                                             \
	do {                                                                                       \
		if (strstr((haystack), (needle)) != NULL)                                          \
			fail_msg("%s\nfound in:\n%s", (needle), strstr((haystack), (needle)));     \
	} while (0)

/* How many times needle occurs in s. */
static inline size_t
text_count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

#endif
