/* suggest.c - the nearest known word by edit distance (optimal string alignment). */
#include "suggest.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

/* Longest word compared: settings and column names are short; anything longer is no slip. */
#define SUGGEST_MAX 64

/* Edit distance of a and b (lengths la, lb <= SUGGEST_MAX), case-insensitive, swaps count 1. */
static size_t
suggest_distance(const char *a, size_t la, const char *b, size_t lb)
{
	size_t d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];

	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]),
			    cb = tolower((unsigned char)b[j - 1]);
			size_t best = d[i - 1][j - 1] + (ca != cb);

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb && d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

const char *
suggest_word(const char *word, const char *const *known, size_t n)
{
	size_t lw = strlen(word), limit, best = (size_t)-1;
	const char *found = NULL;

	if (lw == 0 || lw > SUGGEST_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (known[i] != NULL && strcmp(known[i], word) == 0)
			return NULL;
	/* A known word this one is the start of ("response_key" for response_key_file), if one
	 * only. */
	for (size_t i = 0; lw >= 4 && i < n; i++) {
		if (known[i] == NULL || strlen(known[i]) <= lw ||
		    strncasecmp(known[i], word, lw) != 0)
			continue;
		if (found != NULL) {
			found = NULL;
			break;
		}
		found = known[i];
	}
	if (found != NULL)
		return found;
	limit = lw <= 4 ? 1 : lw <= 8 ? 2 : 3;
	for (size_t i = 0; i < n; i++) {
		size_t lk = known[i] != NULL ? strlen(known[i]) : 0, dist;

		if (lk == 0 || lk > SUGGEST_MAX || (lk > lw ? lk - lw : lw - lk) > limit)
			continue;
		dist = suggest_distance(word, lw, known[i], lk);
		if (dist == 0) /* the same but for case: that is the slip */
			return strcmp(word, known[i]) != 0 ? known[i] : NULL;
		if (dist <= limit && dist < best) {
			best = dist;
			found = known[i];
		}
	}
	return found;
}
