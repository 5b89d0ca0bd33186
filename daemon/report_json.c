/* report_json.c - the report as json (being written). */
#include "report.h"

void
report_json(FILE *f, const struct report *rep)
{
	(void)f;
	(void)rep;
}
