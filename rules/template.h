/* template.h - {{placeholder}} templates for alert subjects and bodies. */
#ifndef ESCALATOR_TEMPLATE_H
#define ESCALATOR_TEMPLATE_H

#include <stddef.h>

/* The values every alert has, in this order; query columns follow them. */
enum template_builtin {
	TPL_RULE,
	TPL_TITLE,
	TPL_CASE,
	TPL_STAGE,
	TPL_START,
	TPL_DUE,
	TPL_FIRES,
	TPL_DAYS_LATE,
	TPL_STATUS,
	TPL_EXPECTED,
	TPL_VALUE,
	TPL_LABEL,
	TPL_NBUILTIN
};

/* Names of the built-in values ("rule", "title", "case", ...). */
extern const char *const template_builtin_names[TPL_NBUILTIN];

struct template;

/*
 * Compile text with {{name}} placeholders; name is a built-in or one of the
 * ncolumns query columns (value index TPL_NBUILTIN + column). Spaces inside
 * the braces are allowed. Returns NULL with *cause set for an unknown name or
 * an unclosed "{{".
 */
struct template *template_compile(const char *text, const char *const *columns, size_t ncolumns,
                                  char **cause);
void template_free(struct template *t);
/*
 * The most bytes template_render returns (without the NUL): 64 KiB, some twenty pages
 * of text, far beyond any alert (the default body is under 1 KB) yet small enough that
 * a few in memory at once, and one in each state store row, cost nothing. A longer
 * rendering is cut at a character boundary and ends in TEMPLATE_CUT_MARK.
 */
#define TEMPLATE_RENDER_MAX (64 * 1024)
#define TEMPLATE_CUT_MARK "\xe2\x80\xa6" /* "…" (U+2026) in UTF-8 */

/*
 * Render with values[i] for value index i (NULL renders as ""), at most
 * TEMPLATE_RENDER_MAX bytes. Allocated.
 */
char *template_render(const struct template *t, const char *const *values);

#endif
