/*
 * suggest.h - "did you mean": the known word nearest to a misspelt one, for
 * configuration errors (settings, units, notify names).
 */
#ifndef ESCALATOR_SUGGEST_H
#define ESCALATOR_SUGGEST_H

#include <stddef.h>

/*
 * The word of known[0..n) word is the start of (at least 4 characters, and
 * the only such word), else the nearest to word, compared without regard to
 * case, when it is close enough to be a likely slip: at most 1 edit for words of up
 * to 4 characters, 2 up to 8, 3 beyond (an edit: a character added, removed,
 * changed, or two neighbours swapped; a word that differs only in case is the
 * nearest of all). The first of equally near ones; NULL when none is that
 * near, or word is exactly one of them.
 */
const char *suggest_word(const char *word, const char *const *known, size_t n);

#endif
