/* preview.c - escalatord preview (being built: issue 15). */
#include "command.h"

#include <stdio.h>

int
preview_main(const struct command *c)
{
	(void)c;
	fprintf(stderr, "escalatord: preview is not built yet\n");
	return COMMAND_EXIT_FAIL;
}
