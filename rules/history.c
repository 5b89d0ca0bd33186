/*
 * history.c - a clock rule's history query and target, for the annual report:
 * the clocks that completed (one row each: case_ref, start, done), measured
 * against the rule's own due date and the working-day calendar, and the
 * percentage on time the council aims for.
 */
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "ruleset_parse.h"

/* Index of column name among cols, or -1. */
static int
history_column(char **cols, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cols[i], name) == 0)
			return (int)i;
	return -1;
}

/* Compile the history query: one read-only statement returning case_ref, start and done. */
static void
history_compile(struct rule *r, const config_setting_t *s, const struct ruleset_env *env,
                const char *path, struct diag *d)
{
	char **cols = NULL, *cause = NULL;
	size_t n = 0;

	if (env->compile == NULL)
		return;
	if (env->compile(env->compile_arg, r->history, &cols, &n, &cause) != 0) {
		cfg_error(d, s, path, "rule \"%s\": history: %s", r->id, cause);
		free(cause);
		return;
	}
	r->history_case_col = history_column(cols, n, "case_ref");
	r->history_start_col = history_column(cols, n, "start");
	r->history_done_col = history_column(cols, n, "done");
	if (r->history_case_col < 0 || r->history_start_col < 0 || r->history_done_col < 0)
		cfg_error(d, s, path,
		          "rule \"%s\": history must return the columns case_ref, start and done "
		          "(one row per clock that completed: \"SELECT case_ref, start, done FROM "
		          "...\")",
		          r->id);
	for (size_t i = 0; i < n; i++)
		free(cols[i]);
	free(cols);
}

/* A clock rule's history query (compiled: case_ref, start, done) and target. */
void
ruleset_parse_history(struct rule *r, const config_setting_t *g, const struct ruleset_env *env,
                      const char *path, struct diag *d)
{
	const config_setting_t *h = config_setting_get_member(g, "history");
	const config_setting_t *t = config_setting_get_member(g, "target");
	double v;

	if (h != NULL) {
		if (config_setting_type(h) != CONFIG_TYPE_STRING ||
		    config_setting_get_string(h)[0] == '\0')
			cfg_error(
			    d, h, path,
			    "rule \"%s\": history must be a query in quotes: \"SELECT case_ref, "
			    "start, done FROM ...\"",
			    r->id);
		else {
			r->history = xstrdup(config_setting_get_string(h));
			r->history_line = cfg_line(h);
			history_compile(r, h, env, path, d);
		}
	}
	if (t == NULL)
		return;
	switch (config_setting_type(t)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v = (double)config_setting_get_int64(t);
		break;
	case CONFIG_TYPE_FLOAT:
		v = config_setting_get_float(t);
		break;
	default:
		v = -1;
	}
	if (!(v >= 0 && v <= 100))
		cfg_error(
		    d, t, path,
		    "rule \"%s\": target is the percentage on time aimed for, a number from 0 "
		    "to 100 (e.g. target = 90;)",
		    r->id);
	else if (r->history == NULL)
		cfg_error(d, t, path,
		          "rule \"%s\": target needs a history query to measure it against", r->id);
	else
		r->target = v;
}
