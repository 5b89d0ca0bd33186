/* report_state.c - the report's sections from the state store (helper D replaces this stub). */
#include "report.h"

int
report_state(struct report *rep, struct statestore *ss, char **cause)
{
	(void)rep;
	(void)ss;
	(void)cause;
	return 0;
}
