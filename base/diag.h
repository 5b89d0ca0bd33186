/* diag.h - the list of warnings and errors a parser reports, each "file:line: text". */
#ifndef ESCALATOR_DIAG_H
#define ESCALATOR_DIAG_H

#include <stdarg.h>
#include <stddef.h>

#include "xalloc.h"

enum diag_level { DIAG_WARNING, DIAG_ERROR };

/* One message: "file:line: text" already formatted. */
struct diag_entry {
	enum diag_level level;
	char *text;
};

/*
 * A growing list of warnings and errors. Parsers keep going after an error and
 * append every problem they find, so a user sees all of them at once.
 */
struct diag {
	struct diag_entry *v;
	size_t n, cap;
	size_t errors, warnings;
};

void diag_init(struct diag *d);
void diag_free(struct diag *d);
void diag_add(struct diag *d, enum diag_level level, const char *fmt, ...) PRINTFLIKE(3, 4);
void diag_addv(struct diag *d, enum diag_level level, const char *fmt, va_list ap) PRINTFLIKE(3, 0);
/* Append every entry of src to dst. */
void diag_merge(struct diag *dst, const struct diag *src);

#endif
