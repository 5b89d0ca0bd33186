/* report_text.c - the report as text (being written). */
#include "report.h"

void
report_text(FILE *f, const struct report *rep)
{
	(void)f;
	(void)rep;
}
