/* engine.c - one loaded configuration: config, calendar, case store, rules. */
#include "engine.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

struct engine {
	struct config *cfg;
	struct calendar *cal;
	struct casestore *cs;
	struct ruleset *rules;
};

/*
 * freshness_query and change_query compile against the case store as one
 * read-only query of one column (what: the setting's name; line: its line).
 */
static void
engine_check_one_column(const struct engine *e, const char *what, const char *sql, int line,
                        const char *example, struct diag *d)
{
	char **cols = NULL, *cause = NULL;
	size_t n = 0;

	if (casestore_compile(e->cs, sql, &cols, &n, &cause) != 0) {
		diag_add(d, DIAG_ERROR, "%s:%d: %s: %s", e->cfg->path, line, what, cause);
		free(cause);
		return;
	}
	if (n != 1)
		diag_add(d, DIAG_ERROR, "%s:%d: %s returns %zu columns; it must return one: %s",
		         e->cfg->path, line, what, n, example);
	for (size_t i = 0; i < n; i++)
		free(cols[i]);
	free(cols);
}

/* Load and validate everything (without the secret files: for read-only commands). */
static struct engine *
engine_load_as(const char *config_path, bool public, struct diag *d)
{
	struct engine *e = xcalloc(1, sizeof *e);
	size_t before = d->errors;
	char *cause = NULL;

	e->cfg = public ? config_load_public(config_path, d) : config_load(config_path, d);
	if (e->cfg == NULL) {
		engine_free(e);
		return NULL;
	}
	if (clock_check_timezone(e->cfg->timezone, &cause) != 0) {
		diag_add(d, DIAG_ERROR, "%s: timezone: %s", config_path, cause);
		free(cause);
	}
	e->cal = calendar_new();
	for (size_t i = 0; i < e->cfg->nholidays; i++) {
		/* Name the config line that points at a missing file, not just the file. */
		if (access(e->cfg->holidays[i], R_OK) != 0)
			diag_add(d, DIAG_ERROR, "%s:%d: cannot read holidays file %s: %s",
			         config_path, e->cfg->holiday_lines[i], e->cfg->holidays[i],
			         strerror(errno));
		else
			calendar_load_file(e->cal, e->cfg->holidays[i], d);
	}
	if (e->cfg->nholidays == 0)
		diag_add(d, DIAG_WARNING,
		         "%s: no holidays files: only weekends count as non-working days; add e.g. "
		         "holidays = [ \"holidays/england-and-wales.txt\" ];",
		         config_path);

	if ((e->cs = casestore_open(e->cfg->case_store, &cause)) == NULL) {
		diag_add(d, DIAG_ERROR, "%s:%d: case_store: %s", config_path,
		         e->cfg->case_store_line, cause);
		free(cause);
	} else {
		if (e->cfg->freshness_query != NULL)
			engine_check_one_column(e, "freshness_query", e->cfg->freshness_query,
			                        e->cfg->freshness_query_line,
			                        "the time of the last extract, e.g. SELECT "
			                        "max(extracted_at) FROM extract_log",
			                        d);
		if (e->cfg->change_query != NULL)
			engine_check_one_column(
			    e, "change_query", e->cfg->change_query, e->cfg->change_query_line,
			    "a value that changes with each extract, e.g. SELECT "
			    "max(loaded_at) FROM extract_log",
			    d);
		casestore_set_change_query(e->cs, e->cfg->change_query);
	}
	if (access(e->cfg->rules_dir, R_OK | X_OK) != 0)
		diag_add(d, DIAG_ERROR, "%s:%d: rules: cannot read the directory %s: %s",
		         config_path, e->cfg->rules_line, e->cfg->rules_dir, strerror(errno));
	else
	/* Without a case store, still parse the rule files to report every mistake. */
	{
		struct ruleset_env env = {
		    .compile = e->cs ? casestore_compile : NULL,
		    .compile_arg = e->cs,
		    .contact = config_contact_channel,
		    .contact_arg = e->cfg,
		    .contacts_file = e->cfg->path,
		};

		e->rules = ruleset_load_dir(e->cfg->rules_dir, &env, d);
	}
	if (d->errors != before) {
		engine_free(e);
		return NULL;
	}
	return e;
}

/* Load and validate everything. */
struct engine *
engine_load(const char *config_path, struct diag *d)
{
	return engine_load_as(config_path, false, d);
}

/* The same, leaving out the secret files (engine_config(e)->without_secrets). */
struct engine *
engine_load_public(const char *config_path, struct diag *d)
{
	return engine_load_as(config_path, true, d);
}

/* Make e the configuration in force: its time zone applies from now on. */
void
engine_activate(struct engine *e)
{
	char *cause = NULL;

	if (clock_set_timezone(e->cfg->timezone, &cause) != 0)
		fatalx("%s", cause); /* checked by engine_load */
}

/* Reopen the case store after its file was replaced. Returns 0 or -1 with *cause set. */
int
engine_reopen_casestore(struct engine *e, char **cause)
{
	struct casestore *cs = casestore_open(e->cfg->case_store, cause);

	if (cs == NULL)
		return -1;
	casestore_close(e->cs);
	e->cs = cs;
	casestore_set_change_query(cs, e->cfg->change_query);
	return 0;
}

/* Free a loaded configuration. */
void
engine_free(struct engine *e)
{
	if (e == NULL)
		return;
	ruleset_free(e->rules);
	casestore_close(e->cs);
	calendar_free(e->cal);
	config_free(e->cfg);
	free(e);
}

/* Warn when the holiday files end within 12 months of today. */
void
engine_check_calendar(const struct engine *e, date_t today, struct diag *d)
{
	int last = calendar_last_year(e->cal);

	if (last == 0)
		return;
	if (date_add_months(today, 12) > date_from_ymd(last, 12, 31))
		diag_add(d, DIAG_WARNING,
		         "the holiday files end with %d: working days after that ignore bank "
		         "holidays; add next year's dates from GOV.UK to the files in %s",
		         last, e->cfg->path);
}

/* The main configuration of e. */
const struct config *
engine_config(const struct engine *e)
{
	return e->cfg;
}

/* The working-day calendar of e. */
const struct calendar *
engine_calendar(const struct engine *e)
{
	return e->cal;
}

/* The case store of e. */
struct casestore *
engine_casestore(const struct engine *e)
{
	return e->cs;
}

/* The rules of e. */
const struct ruleset *
engine_rules(const struct engine *e)
{
	return e->rules;
}
