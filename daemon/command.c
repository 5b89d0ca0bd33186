/* command.c - what the read-only subcommands (explain, preview, status) share. */
#include "command.h"

#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"

/*
 * Load, validate and activate the configuration, without its secret files
 * (nothing here sends; an admin may not be able to read them); NULL after
 * printing its errors.
 */
struct engine *
command_load(const struct command *c)
{
	struct engine *e;
	struct diag d;

	diag_init(&d);
	e = engine_load_public(c->config, &d);
	for (size_t i = 0; i < d.n; i++)
		fprintf(stderr, "%s%s\n",
		        d.v[i].level == DIAG_ERROR ? "" : "warning: ", d.v[i].text);
	if (e == NULL)
		fprintf(stderr, "%s: %zu error%s; run escalatord --check -c %s\n", c->config,
		        d.errors, d.errors == 1 ? "" : "s", c->config);
	diag_free(&d);
	if (e != NULL)
		engine_activate(e);
	return e;
}

/* The local time the command works as of: --now, or now. */
int
command_now(const struct command *c, localtime_min_t *now)
{
	int sec = 0;

	if (c->now == NULL) {
		*now = clock_local(clock_now(), NULL);
		return 0;
	}
	if (localtime_parse(c->now, now, &sec) != 0) {
		fprintf(stderr,
		        "escalatord: --now \"%s\" is not a time; expected YYYY-MM-DDTHH:MM:SS\n",
		        c->now);
		return -1;
	}
	clock_fix(clock_instant(*now, sec));
	return 0;
}

/* The state store of e, read-only; NULL after saying why. */
struct statestore *
command_state(const struct engine *e)
{
	char *cause = NULL;
	struct statestore *ss = statestore_open(engine_config(e)->state, true, &cause);

	if (ss == NULL) {
		fprintf(stderr, "escalatord: %s\n", cause);
		free(cause);
	}
	return ss;
}
