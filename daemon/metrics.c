/*
 * metrics.c - TEMPORARY scaffold so the listener links: helper C replaces
 * this file with the real counters, /metrics and /healthz.
 */
#include "metrics.h"

#include <stdlib.h>

#include "xalloc.h"

struct metrics {
	int unused;
};

struct metrics *
metrics_new(void)
{
	return xcalloc(1, sizeof(struct metrics));
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

char *
metrics_render(struct daemon *dm)
{
	(void)dm;
	return xstrdup("");
}

int
metrics_health(struct daemon *dm, char **reason)
{
	(void)dm;
	*reason = xstrdup("not built yet");
	return -1;
}
