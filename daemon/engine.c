/* engine.c - one loaded configuration: config, calendar, case store, rules. */
#include "engine.h"

#include <stdlib.h>

#include "clock.h"

/* Load and validate everything. */
struct engine *
engine_load(const char *config_path, struct diag *d)
{
	struct engine *e = xcalloc(1, sizeof *e);
	size_t before = d->errors;
	char *cause = NULL;

	if ((e->cfg = config_load(config_path, d)) == NULL) {
		engine_free(e);
		return NULL;
	}
	if (clock_set_timezone(e->cfg->timezone, &cause) != 0) {
		diag_add(d, DIAG_ERROR, "%s: timezone: %s", config_path, cause);
		free(cause);
	}
	e->cal = calendar_new();
	for (size_t i = 0; i < e->cfg->nholidays; i++)
		calendar_load_file(e->cal, e->cfg->holidays[i], d);
	if (e->cfg->nholidays == 0)
		diag_add(d, DIAG_WARNING,
		         "%s: no holidays files: only weekends count as non-working days; add e.g. "
		         "holidays = [ \"holidays/england-and-wales.txt\" ];",
		         config_path);

	if ((e->cs = casestore_open(e->cfg->case_store, &cause)) == NULL) {
		diag_add(d, DIAG_ERROR, "%s", cause);
		free(cause);
		/* Still parse the rule files so every other mistake is reported too. */
		e->rules = ruleset_load_dir(e->cfg->rules_dir, e->cfg, NULL, NULL, d);
	} else {
		e->rules = ruleset_load_dir(e->cfg->rules_dir, e->cfg, casestore_compile, e->cs, d);
	}
	if (d->errors != before) {
		engine_free(e);
		return NULL;
	}
	return e;
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
