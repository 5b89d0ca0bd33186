/* report_footprint.c - one CSV row per alert (helper D replaces this stub). */
#include "report.h"
#include "xalloc.h"

int
report_footprint(FILE *f, struct statestore *ss, date_t from, date_t to, const char *case_ref,
                 char **cause)
{
	(void)f;
	(void)ss;
	(void)from;
	(void)to;
	(void)case_ref;
	*cause = xstrdup("the footprint export is not written yet");
	return -1;
}
