/*
 * command.h - the read-only subcommands an admin or rule editor runs next to
 * the service: explain (why a clock is due when it is), preview (what an
 * edit of the rules would change), status (how the service stands). Each
 * opens the state store read-only and records nothing.
 */
#ifndef ESCALATOR_COMMAND_H
#define ESCALATOR_COMMAND_H

#include <stdbool.h>
#include <stddef.h>

#include "date.h"
#include "engine.h"
#include "statestore.h"

/* Exit statuses, as main.c's. */
#define COMMAND_EXIT_FAIL 1  /* configuration error, or the command could not do its work */
#define COMMAND_EXIT_USAGE 2 /* bad command line */

/* What the command line asked for. */
struct command {
	const char *config;          /* -c FILE */
	const char *now;             /* --now YYYY-MM-DDTHH:MM:SS, or NULL: the clock */
	bool json;                   /* --json: one JSON document on stdout */
	const char *rules_dir;       /* preview --rules DIR, or NULL: escalator.conf's */
	const char *const *holidays; /* preview --holidays FILE (repeatable), or NULL */
	size_t nholidays;            /* 0: escalator.conf's holiday files */
	/* report: --from, --to (dates), --by, --format, --table, --footprint, --case. */
	const char *from, *to, *by, *format, *table, *case_ref;
	bool footprint;
	const char *const *args; /* the words after the subcommand's name */
	size_t nargs;
};

/* escalatord explain RULE CASE: the clock's computation trail (explain.c). */
int explain_main(const struct command *c);
/* escalatord preview: what the candidate rules change against the state (preview.c). */
int preview_main(const struct command *c);
/* escalatord status: the state store and the case store at a glance (status.c). */
int status_main(const struct command *c);
/* escalatord report: the annual report's figures (report_main.c). */
int report_main(const struct command *c);

/*
 * Load and validate the configuration at c->config without its secret files
 * (engine_load_public; printing every problem to stderr as --check does) and
 * make it the one in force. NULL when it has
 * errors (after saying how many).
 */
struct engine *command_load(const struct command *c);
/*
 * The local time the command works as of: --now (the clock is then fixed
 * there, as --once --now does) or now. Returns 0, or -1 after printing why
 * --now is not a time.
 */
int command_now(const struct command *c, localtime_min_t *now);
/*
 * The state store of e, opened read-only (a missing file is an empty store).
 * NULL after printing why to stderr.
 */
struct statestore *command_state(const struct engine *e);

#endif
