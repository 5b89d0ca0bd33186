/* explain.c - escalatord explain (being built: issue 15). */
#include "command.h"

#include <stdio.h>

int
explain_main(const struct command *c)
{
	(void)c;
	fprintf(stderr, "escalatord: explain is not built yet\n");
	return COMMAND_EXIT_FAIL;
}
