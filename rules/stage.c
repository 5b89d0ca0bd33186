/* stage.c - a rule's stages in a rule file: when each fires, in order, and who is told. */
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "ruleset.h"
#include "ruleset_parse.h"
#include "suggest.h"

static const char *const stage_keys[] = {"name",  "at",        "notify",       "expected",
                                         "label", "immediate", "renamed_from", NULL};

/* Is s a valid stage name ([a-z0-9_-]+, at most 64)? */
bool
stage_valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_'))
			return false;
	return true;
}

/* The label of a stage called name when its rule gives none. */
char *
stage_default_label(const char *name)
{
	char *l = xstrdup(name);

	for (char *p = l; *p != '\0'; p++)
		if (*p == '-' || *p == '_')
			*p = ' ';
	if (l[0] >= 'a' && l[0] <= 'z')
		l[0] = (char)(l[0] - 'a' + 'A');
	return l;
}

/* Parse a stage's label and immediate (a threshold rule's: the rule's group g). */
void
stage_parse_label(struct rule *r, struct stage *st, const config_setting_t *g, const char *path,
                  struct diag *d)
{
	const config_setting_t *s;
	const char *label;

	if ((s = config_setting_get_member(g, "label")) != NULL) {
		label = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s)
		                                                     : NULL;
		if (label == NULL || *label == '\0' || strlen(label) > 80)
			cfg_error(d, s, path,
			          "rule \"%s\": label must be text in quotes, 1 to 80 characters, "
			          "e.g. label = \"Overdue: team manager\"",
			          r->id);
		else {
			for (const char *p = label; *p != '\0'; p++)
				if ((unsigned char)*p < 0x20 || *p == 0x7f) {
					cfg_error(d, s, path,
					          "rule \"%s\": label must be one line of text",
					          r->id);
					break;
				}
			st->label = xstrdup(label);
		}
	}
	if (st->label == NULL && st->name != NULL)
		st->label = stage_default_label(st->name);
	if ((s = config_setting_get_member(g, "immediate")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			cfg_error(d, s, path, "rule \"%s\": immediate must be true or false",
			          r->id);
		else
			st->immediate = config_setting_get_bool(s);
	}
}

/* Rough length of a duration in days, to check that stages are listed in order. */
static double
stage_approx_days(const struct duration *dur)
{
	switch (dur->unit) {
	case DUR_DAYS:
		return dur->n;
	case DUR_WEEKS:
		return dur->n * 7.0;
	case DUR_WORKING_DAYS:
		return dur->n * 7.0 / 5.0;
	case DUR_MONTHS:
		return dur->n * 30.44;
	}
	return 0;
}

/* Resolve one notify name against the query's columns and the contacts. */
static int
stage_resolve_notify(struct rule *r, struct notify_ref *ref, const config_setting_t *e,
                     const struct ruleset_env *env, bool columns_known, const char *path,
                     struct diag *d)
{
	char *col = xasprintf("%s_email", ref->name);
	const char *address;
	enum channel ch;

	ref->column = rule_column_index(r, col);
	if (ref->column >= 0) {
		free(col);
		return 0;
	}
	if (env->contact != NULL && env->contact(env->contact_arg, ref->name, &ch, &address) == 0) {
		ref->kind = ch;
		ref->address = xstrdup(address);
		free(col);
		return 0;
	}
	/* If the query did not compile its columns are unknown: that error is reported. */
	if (columns_known) {
		/* A slip in a name the query has (team_manger for team_manager_email)? */
		const char **names = xcalloc(r->ncolumns + 1, sizeof *names);
		const char *near;
		size_t nnames = 0, len;

		for (size_t i = 0; i < r->ncolumns; i++)
			if ((len = strlen(r->columns[i])) > 6 &&
			    strcmp(r->columns[i] + len - 6, "_email") == 0)
				names[nnames++] = xstrndup(r->columns[i], len - 6);
		if ((near = suggest_word(ref->name, names, nnames)) != NULL)
			cfg_error(
			    d, e, path,
			    "rule \"%s\": notify name \"%s\" is neither a column \"%s\" of the "
			    "query nor a contact in %s; did you mean \"%s\" (the column %s_email)?",
			    r->id, ref->name, col,
			    env->contacts_file != NULL ? env->contacts_file : "the configuration",
			    near, near);
		else
			cfg_error(
			    d, e, path,
			    "rule \"%s\": notify name \"%s\" is neither a column \"%s\" of the "
			    "query nor a contact in %s",
			    r->id, ref->name, col,
			    env->contacts_file != NULL ? env->contacts_file : "the configuration");
		for (size_t i = 0; i < nnames; i++)
			free((char *)names[i]);
		free(names);
	}
	free(col);
	return -1;
}

/* Parse the notify list of group g (a stage, or a threshold rule) into st. */
void
stage_parse_notify(struct rule *r, struct stage *st, const config_setting_t *g,
                   const struct ruleset_env *env, bool columns_known, const char *path,
                   struct diag *d)
{
	const config_setting_t *n;
	int count;

	n = config_setting_get_member(g, "notify");
	if (n == NULL) {
		cfg_error(d, g, path, "rule \"%s\": stage has no notify = [ \"...\" ]", r->id);
	} else if (config_setting_type(n) == CONFIG_TYPE_ARRAY ||
	           config_setting_type(n) == CONFIG_TYPE_LIST ||
	           config_setting_type(n) == CONFIG_TYPE_STRING) {
		bool single = config_setting_type(n) == CONFIG_TYPE_STRING;

		count = single ? 1 : config_setting_length(n);
		if (count == 0)
			cfg_error(d, n, path,
			          "rule \"%s\": notify must name at least one recipient", r->id);
		st->notify = xcalloc((size_t)count, sizeof *st->notify);
		for (int i = 0; i < count; i++) {
			const config_setting_t *e =
			    single ? n : config_setting_get_elem(n, (unsigned)i);
			struct notify_ref *ref = &st->notify[st->nnotify];

			if (config_setting_type(e) != CONFIG_TYPE_STRING ||
			    *config_setting_get_string(e) == '\0') {
				cfg_error(d, e, path,
				          "rule \"%s\": notify entries must be names in quotes",
				          r->id);
				continue;
			}
			ref->name = xstrdup(config_setting_get_string(e));
			st->nnotify++;
			stage_resolve_notify(r, ref, e, env, columns_known, path, d);
		}
	} else {
		cfg_error(d, n, path,
		          "rule \"%s\": notify must be a list of names, e.g. [ \"iro\" ]", r->id);
	}
}

/* Parse one stage group into st. */
int
stage_parse(struct rule *r, struct stage *st, const config_setting_t *g,
            const struct ruleset_env *env, bool columns_known, const char *path, struct diag *d)
{
	size_t before = d->errors;
	const char *name;

	st->line = cfg_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		cfg_error(d, g, path,
		          "rule \"%s\": each stage must be a group { name = ...; at = ...; notify "
		          "= [ ... ]; }",
		          r->id);
		return -1;
	}
	cfg_check_keys(g, stage_keys, "a stage", path, d);
	if ((name = cfg_get_string(g, "name", true, path, d)) != NULL) {
		if (!stage_valid_name(name))
			cfg_error(d, config_setting_get_member(g, "name"), path,
			          "rule \"%s\": stage name \"%s\" must be lower-case letters, "
			          "digits, '-' or '_'",
			          r->id, name);
		else if (rule_stage_index(r, name) >= 0)
			cfg_error(d, config_setting_get_member(g, "name"), path,
			          "rule \"%s\": stage \"%s\" is listed twice", r->id, name);
		else
			st->name = xstrdup(name);
	}
	ruleset_get_duration(g, "at", path, "at", &st->at, d);
	if (columns_known)
		st->expected = ruleset_template(r, g, "expected", NULL, path, d);

	stage_parse_label(r, st, g, path, d);
	stage_parse_notify(r, st, g, env, columns_known, path, d);
	ruleset_parse_renamed(r, g, true, &st->renamed_from, &st->nrenamed, path, d);
	if (st->nrenamed > 0)
		r->stage_renames = true;
	return d->errors == before ? 0 : -1;
}

/* Check that stages are listed in the order they fire. */
void
stage_check_order(const struct rule *r, const config_setting_t *stages, const char *path,
                  struct diag *d)
{
	for (size_t i = 1; i < r->nstages; i++) {
		const struct duration *a = &r->stages[i - 1].at, *b = &r->stages[i].at;
		bool bad;

		if (a->unit == b->unit)
			bad = b->n <= a->n;
		else
			bad = stage_approx_days(b) + 3 < stage_approx_days(a);
		if (bad)
			cfg_error(
			    d, config_setting_get_elem(stages, (unsigned)i), path,
			    "rule \"%s\": stage \"%s\" must come later than stage \"%s\"; list "
			    "stages in the order they fire",
			    r->id, r->stages[i].name ? r->stages[i].name : "?",
			    r->stages[i - 1].name ? r->stages[i - 1].name : "?");
	}
}

/* Parse a clock rule's hold and max_hold. */
void
stage_parse_hold(struct rule *r, const config_setting_t *g, const char *path, struct diag *d)
{
	const config_setting_t *h = config_setting_get_member(g, "hold");
	const config_setting_t *m = config_setting_get_member(g, "max_hold");
	struct duration cap;

	if (h != NULL) {
		if (config_setting_type(h) != CONFIG_TYPE_BOOL) {
			cfg_error(d, h, path, "rule \"%s\": hold must be true or false", r->id);
			return;
		}
		r->hold = config_setting_get_bool(h);
	}
	if (m == NULL) {
		/* No default: how long an agreement may hold an escalation is the council's call.
		 */
		if (r->hold)
			cfg_error(d, h, path,
			          "rule \"%s\": hold = true needs a limit on how long a stage may "
			          "wait, e.g. max_hold = \"10 working days\"",
			          r->id);
		return;
	}
	if (!r->hold) {
		cfg_error(d, m, path,
		          "rule \"%s\": max_hold is only used with hold = true; add hold = true or "
		          "remove max_hold",
		          r->id);
		return;
	}
	if (ruleset_get_duration(g, "max_hold", path, "max_hold", &cap, d) != 0)
		return;
	/* Months would make the longest wait depend on the month; a hold is days to weeks. */
	if (cap.n <= 0 || cap.unit == DUR_MONTHS) {
		cfg_error(d, m, path,
		          "rule \"%s\": max_hold must be a positive number of days, working days "
		          "or weeks, e.g. \"10 working days\"",
		          r->id);
		return;
	}
	r->max_hold = cap;
}
