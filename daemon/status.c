/* status.c - escalatord status (being built: issue 15). */
#include "command.h"

#include <stdio.h>

int
status_main(const struct command *c)
{
	(void)c;
	fprintf(stderr, "escalatord: status is not built yet\n");
	return COMMAND_EXIT_FAIL;
}
