/* diag.c - the list of warnings and errors a parser reports. */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* Start an empty diagnostic list. */
void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof *d);
}

/* Free every message in the list. */
void
diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].text);
	free(d->v);
	diag_init(d);
}

/* Append one formatted message. */
void
diag_addv(struct diag *d, enum diag_level level, const char *fmt, va_list ap)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
	}
	d->v[d->n].level = level;
	d->v[d->n].text = xvasprintf(fmt, ap);
	d->n++;
	if (level == DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
}

/* Append one formatted message. */
void
diag_add(struct diag *d, enum diag_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_addv(d, level, fmt, ap);
	va_end(ap);
}

/* Append every entry of src to dst. */
void
diag_merge(struct diag *dst, const struct diag *src)
{
	for (size_t i = 0; i < src->n; i++)
		diag_add(dst, src->v[i].level, "%s", src->v[i].text);
}
