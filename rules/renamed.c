/*
 * renamed.c - renamed_from on rules and stages: the ids and stage names a
 * rule file says a rule or stage had before, checked while the file loads,
 * and the look-up that lets what the state store recorded under an old name
 * count as the new one's.
 */
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "ruleset.h"
#include "ruleset_parse.h"

/* Parse renamed_from: one old name or a list of them. */
void
ruleset_parse_renamed(const struct rule *r, const config_setting_t *g, bool stage, char ***names,
                      size_t *n, const char *path, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(g, "renamed_from"), *e;
	bool single;
	int count;

	*names = NULL;
	*n = 0;
	if (s == NULL)
		return;
	single = config_setting_type(s) == CONFIG_TYPE_STRING;
	if (!single && config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		cfg_error(d, s, path,
		          "rule \"%s\": renamed_from must be the old %s in quotes, e.g. "
		          "renamed_from = \"%s\"",
		          r->id, stage ? "stage name" : "rule id", stage ? "overdue" : "old-id");
		return;
	}
	count = single ? 1 : config_setting_length(s);
	*names = xcalloc((size_t)count + 1, sizeof **names);
	for (int i = 0; i < count; i++) {
		const char *v;
		bool twice = false;

		e = single ? s : config_setting_get_elem(s, (unsigned)i);
		v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e)
		                                                 : NULL;
		if (v == NULL || (stage ? !stage_valid_name(v) : !ruleset_valid_id(v))) {
			cfg_error(d, e, path,
			          "rule \"%s\": renamed_from: \"%s\" is not a %s (lower-case "
			          "letters, digits and '-'%s)",
			          r->id, v != NULL ? v : "?", stage ? "stage name" : "rule id",
			          stage ? " or '_'" : "");
			continue;
		}
		for (size_t j = 0; j < *n; j++)
			if (strcmp((*names)[j], v) == 0)
				twice = true;
		if (twice) {
			cfg_error(d, e, path, "rule \"%s\": renamed_from lists \"%s\" twice", r->id,
			          v);
			continue;
		}
		(*names)[(*n)++] = xstrdup(v);
	}
}

/* Check the stages' renamed_from against each other and the stage names. */
void
stage_check_renames(struct rule *r, const config_setting_t *stages, const char *path,
                    struct diag *d)
{
	for (size_t i = 0; i < r->nstages; i++) {
		const struct stage *st = &r->stages[i];
		const config_setting_t *g = config_setting_get_elem(stages, (unsigned)i);
		const config_setting_t *s = config_setting_get_member(g, "renamed_from");

		for (size_t k = 0; k < st->nrenamed; k++) {
			const char *old = st->renamed_from[k];
			int other = rule_stage_index(r, old);

			if (other == (int)i)
				cfg_error(
				    d, s, path,
				    "rule \"%s\": stage \"%s\" says renamed_from its own name; "
				    "renamed_from is the name the stage had before",
				    r->id, old);
			else if (other >= 0)
				cfg_error(
				    d, s, path,
				    "rule \"%s\": stage \"%s\": renamed_from = \"%s\" names a "
				    "stage the rule still has (line %d); history carries over only "
				    "from a name no longer used",
				    r->id, st->name, old, r->stages[other].line);
			for (size_t j = 0; j < i; j++)
				for (size_t m = 0; m < r->stages[j].nrenamed; m++)
					if (strcmp(r->stages[j].renamed_from[m], old) == 0)
						cfg_error(
						    d, s, path,
						    "rule \"%s\": stages \"%s\" and \"%s\" "
						    "both say renamed_from = \"%s\"; the old "
						    "name's history can carry over to one stage "
						    "only",
						    r->id, r->stages[j].name, st->name, old);
		}
	}
}

/*
 * r's renamed_from against the rules loaded before it, and its id against
 * theirs: an old id must not be a rule still defined, and carries over to
 * one rule only. (Rules loaded later are checked when they are.)
 */
void
ruleset_check_renames(const struct ruleset *rs, const struct rule *r, const config_setting_t *g,
                      const char *path, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(g, "renamed_from");
	const struct rule *other;

	for (size_t i = 0; i < r->nrenamed; i++) {
		const char *old = r->renamed_from[i];

		other = NULL;
		for (size_t j = 0; j < rs->nrules; j++)
			if (strcmp(rs->rules[j].id, old) == 0)
				other = &rs->rules[j];
		if (strcmp(old, r->id) == 0)
			cfg_error(
			    d, s, path,
			    "rule \"%s\" says renamed_from its own id; renamed_from is the id "
			    "the rule had before",
			    r->id);
		else if (other != NULL)
			cfg_error(
			    d, s, path,
			    "rule \"%s\": renamed_from = \"%s\" names a rule still defined at "
			    "%s:%d; history carries over only from an id no longer used",
			    r->id, old, other->file, other->line);
		for (size_t j = 0; j < rs->nrules; j++)
			if (rule_renamed_from(&rs->rules[j], old))
				cfg_error(
				    d, s, path,
				    "rule \"%s\": rule \"%s\" (%s:%d) also says renamed_from = "
				    "\"%s\"; the old id's history can carry over to one rule only",
				    r->id, rs->rules[j].id, rs->rules[j].file,
				    rs->rules[j].renamed_line, old);
	}
	for (size_t j = 0; j < rs->nrules; j++)
		if (rule_renamed_from(&rs->rules[j], r->id))
			cfg_error(d, config_setting_get_member(g, "id"), path,
			          "rule id \"%s\" is the old id of rule \"%s\" (renamed_from at "
			          "%s:%d); history carries over only from an id no longer used",
			          r->id, rs->rules[j].id, rs->rules[j].file,
			          rs->rules[j].renamed_line);
}

/* Index of the stage a record naming stage name belongs to, or -1. */
int
rule_stage_recorded(const struct rule *r, const char *name)
{
	int i = rule_stage_index(r, name);

	if (i >= 0 || !r->stage_renames)
		return i;
	for (size_t j = 0; j < r->nstages; j++)
		for (size_t k = 0; k < r->stages[j].nrenamed; k++)
			if (strcmp(r->stages[j].renamed_from[k], name) == 0)
				return (int)j;
	return -1;
}

/* Is id one of the ids r was renamed from? */
bool
rule_renamed_from(const struct rule *r, const char *id)
{
	for (size_t i = 0; i < r->nrenamed; i++)
		if (strcmp(r->renamed_from[i], id) == 0)
			return true;
	return false;
}
