/* ruleset.c - rule files: what is due when, and who is told at each stage. */
#include "ruleset.h"

#include <dirent.h>
#include <errno.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfgfile.h"
#include "ruleset_parse.h"

static const char *const rule_keys[] = {
    "id",       "title",        "query",    "due",    "stages",    "working_days_only",
    "subject",  "body",         "expected", "fields", "kind",      "above",
    "below",    "notify",       "case_url", "label",  "immediate", "hold",
    "max_hold", "renamed_from", "history",  "target", NULL,
};
/* What every alert says unless the rule sets subject, body or expected. */
static const char ruleset_default_subject[] = "{{label}}: {{title}} for {{case}} ({{status}})";
static const char ruleset_default_body[] =
    "{{title}}\n"
    "\n"
    "Case:      {{case}}\n"
    "Stage:     {{label}}\n"
    "Started:   {{start}}\n"
    "Due:       {{due}} ({{status}})\n"
    "Expected:  {{expected}}\n"
    "\n"
    "This alert carries the case reference only: open the case in the case management\n"
    "system for details. Sent by escalator (rule {{rule}}, stage {{stage}}).\n";
static const char ruleset_default_threshold_subject[] =
    "{{title}}: {{case}} is at {{value}} ({{status}})";
static const char ruleset_default_threshold_body[] =
    "{{title}}\n"
    "\n"
    "Key:       {{case}}\n"
    "Value:     {{value}} ({{status}})\n"
    "Since:     {{start}}\n"
    "Expected:  {{expected}}\n"
    "\n"
    "You are told once each time the value crosses the limit. Sent by escalator (rule\n"
    "{{rule}}).\n";
static const char ruleset_default_threshold_expected[] =
    "review the {{title}} and decide what to do.";
static const char ruleset_default_expected[] =
    "make sure the {{title}} happens by {{due}} and is recorded.";

/* An empty rule set. */
struct ruleset *
ruleset_new(void)
{
	return xcalloc(1, sizeof(struct ruleset));
}

/* Free one rule's contents. */
static void
rule_clear(struct rule *r)
{
	free(r->id);
	free(r->title);
	free(r->query);
	free(r->history);
	for (size_t i = 0; i < r->nstages; i++) {
		struct stage *st = &r->stages[i];
		for (size_t j = 0; j < st->nnotify; j++) {
			free(st->notify[j].name);
			free(st->notify[j].address);
		}
		free(st->notify);
		for (size_t j = 0; j < st->nrenamed; j++)
			free(st->renamed_from[j]);
		free(st->renamed_from);
		free(st->name);
		free(st->label);
		template_free(st->expected);
	}
	free(r->stages);
	template_free(r->case_url);
	template_free(r->subject);
	template_free(r->body);
	template_free(r->expected);
	for (size_t i = 0; i < r->nfields; i++)
		free(r->fields[i]);
	free(r->fields);
	free(r->field_cols);
	for (size_t i = 0; i < r->ncolumns; i++)
		free(r->columns[i]);
	free(r->columns);
	for (size_t i = 0; i < r->nrenamed; i++)
		free(r->renamed_from[i]);
	free(r->renamed_from);
	free(r->file);
	memset(r, 0, sizeof *r);
}

/* Free a rule set. */
void
ruleset_free(struct ruleset *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nrules; i++)
		rule_clear(&rs->rules[i]);
	free(rs->rules);
	for (size_t i = 0; i < rs->nfiles; i++)
		free(rs->files[i]);
	free(rs->files);
	free(rs);
}

/* Is s a valid rule id? */
bool
ruleset_valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64 || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* Index of the stage called name in r, or -1. */
int
rule_stage_index(const struct rule *r, const char *name)
{
	for (size_t i = 0; i < r->nstages; i++)
		if (r->stages[i].name != NULL && strcmp(r->stages[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* Index of the column called name in r's query, or -1. */
int
rule_column_index(const struct rule *r, const char *name)
{
	for (size_t i = 0; i < r->ncolumns; i++)
		if (strcmp(r->columns[i], name) == 0)
			return (int)i;
	return -1;
}

/* Parse a duration setting, reporting errors at its line. */
int
ruleset_get_duration(const config_setting_t *g, const char *key, const char *path, const char *what,
                     struct duration *out, struct diag *d)
{
	const char *v = cfg_get_string(g, key, true, path, d);
	char *cause;

	if (v == NULL)
		return -1;
	if (duration_parse(v, out, &cause) != 0) {
		cfg_error(d, config_setting_get_member(g, key), path, "%s: %s", what, cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * Compile template setting key of group g (or def when it is absent) against
 * the query's columns, reporting problems at the setting's line.
 */
struct template *
ruleset_template(const struct rule *r, const config_setting_t *g, const char *key, const char *def,
                 const char *path, struct diag *d)
{
	const char *v = cfg_get_string(g, key, false, path, d);
	struct template *t;
	char *cause = NULL;

	if (v == NULL && def == NULL)
		return NULL;
	t = template_compile(v ? v : def, (const char *const *)r->columns, r->ncolumns, &cause);
	if (t == NULL) {
		cfg_error(d, config_setting_get_member(g, key), path, "rule \"%s\": %s: %s", r->id,
		          key, cause);
		free(cause);
	}
	return t;
}

/* Parse case_url: a link to the case, a template of an http(s) URL. */
static void
ruleset_parse_case_url(struct rule *r, const config_setting_t *g, const char *path, struct diag *d)
{
	const char *v = cfg_get_string(g, "case_url", false, path, d);

	if (v == NULL)
		return;
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
		cfg_error(d, config_setting_get_member(g, "case_url"), path,
		          "rule \"%s\": case_url must start with https:// (e.g. "
		          "\"https://cms.council.example/case/{{case}}\")",
		          r->id);
		return;
	}
	r->case_url = ruleset_template(r, g, "case_url", NULL, path, d);
}

/* Parse the fields list: query columns a webhook payload may carry. */
static void
ruleset_parse_fields(struct rule *r, const config_setting_t *g, const char *path, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(g, "fields");
	int n;

	if (s == NULL)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		cfg_error(d, s, path,
		          "rule \"%s\": fields must be a list of query columns, e.g. [ "
		          "\"legal_status\" ]",
		          r->id);
		return;
	}
	n = config_setting_length(s);
	r->fields = xcalloc((size_t)n, sizeof *r->fields);
	r->field_cols = xcalloc((size_t)n, sizeof *r->field_cols);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *name;
		int col;

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			cfg_error(d, e, path,
			          "rule \"%s\": fields entries must be column names in quotes",
			          r->id);
			continue;
		}
		name = config_setting_get_string(e);
		if ((col = rule_column_index(r, name)) < 0) {
			cfg_error(d, e, path,
			          "rule \"%s\": field \"%s\" is not a column of the query", r->id,
			          name);
			continue;
		}
		r->fields[r->nfields] = xstrdup(name);
		r->field_cols[r->nfields++] = col;
	}
}

/* Is the rule id used already? Returns the rule or NULL. */
static const struct rule *
ruleset_find(const struct ruleset *rs, const char *id)
{
	for (size_t i = 0; i < rs->nrules; i++)
		if (strcmp(rs->rules[i].id, id) == 0)
			return &rs->rules[i];
	return NULL;
}

/* Compile the query and record its columns. Returns true if the columns are known. */
static bool
ruleset_compile(struct rule *r, const config_setting_t *g, const struct ruleset_env *env,
                const char *path, struct diag *d)
{
	const config_setting_t *q = config_setting_get_member(g, "query");
	char *cause = NULL;

	if (env->compile == NULL || r->query == NULL)
		return false;
	if (env->compile(env->compile_arg, r->query, &r->columns, &r->ncolumns, &cause) != 0) {
		cfg_error(d, q, path, "rule \"%s\": %s", r->id, cause);
		free(cause);
		return false;
	}
	for (size_t i = 0; i < r->ncolumns; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->columns[i], r->columns[j]) == 0)
				cfg_error(d, q, path,
				          "rule \"%s\": the query returns two columns called "
				          "\"%s\"; give each its own name with AS",
				          r->id, r->columns[i]);
	/* A column named like a built-in placeholder would be hidden by it in templates. */
	for (size_t i = 0; i < r->ncolumns; i++)
		for (int b = 0; b < TPL_NBUILTIN; b++)
			if (strcmp(r->columns[i], template_builtin_names[b]) == 0 &&
			    strcmp(r->columns[i], "start") != 0 &&
			    strcmp(r->columns[i], "value") != 0)
				cfg_warning(
				    d, q, path,
				    "rule \"%s\": query column \"%s\" has the name of a "
				    "built-in placeholder, so {{%s}} shows the built-in value; "
				    "rename the column with AS to use it in templates",
				    r->id, r->columns[i], r->columns[i]);
	if (r->kind == RULE_THRESHOLD) {
		r->case_ref_col = rule_column_index(r, "key");
		r->value_col = rule_column_index(r, "value");
		if (r->case_ref_col < 0 || r->value_col < 0)
			cfg_error(d, q, path,
			          "rule \"%s\": a threshold query must return the columns key and "
			          "value (add \"... AS key, ... AS value\")",
			          r->id);
		return true;
	}
	r->case_ref_col = rule_column_index(r, "case_ref");
	r->start_col = rule_column_index(r, "start");
	if (r->case_ref_col < 0)
		cfg_error(d, q, path,
		          "rule \"%s\": the query must return a column called case_ref (add \"... "
		          "AS case_ref\")",
		          r->id);
	if (r->start_col < 0)
		cfg_error(d, q, path,
		          "rule \"%s\": the query must return a column called start (add \"... AS "
		          "start\")",
		          r->id);
	return true;
}

/* The rest of a kind = "threshold" rule: the limit, notify, templates. */
static void
ruleset_parse_threshold(struct ruleset *rs, struct rule *r, const config_setting_t *g,
                        const struct ruleset_env *env, const char *path, struct diag *d)
{
	static const char *const not_here[] = {"due", "stages", "working_days_only", NULL};
	static const char *const clock_only[] = {"hold", "max_hold", "history", "target", NULL};
	const config_setting_t *above = config_setting_get_member(g, "above");
	const config_setting_t *below = config_setting_get_member(g, "below");
	const config_setting_t *lim = above ? above : below;
	bool columns_known;
	struct stage *st;

	for (const char *const *k = not_here; *k != NULL; k++)
		if (config_setting_get_member(g, *k) != NULL)
			cfg_error(
			    d, config_setting_get_member(g, *k), path,
			    "rule \"%s\": a threshold rule has no %s; it alerts when the value "
			    "crosses above (or below)",
			    r->id, *k);
	for (const char *const *k = clock_only; *k != NULL; k++)
		if (config_setting_get_member(g, *k) != NULL)
			cfg_error(d, config_setting_get_member(g, *k), path,
			          "rule \"%s\": %s belongs to clock rules (a threshold rule has no "
			          "later stages to hold and no clocks that complete)",
			          r->id, *k);
	if ((above == NULL) == (below == NULL))
		cfg_error(
		    d, g, path,
		    "rule \"%s\": a threshold rule needs exactly one of above = N or below = N",
		    r->id);
	else if (config_setting_type(lim) != CONFIG_TYPE_INT &&
	         config_setting_type(lim) != CONFIG_TYPE_INT64 &&
	         config_setting_type(lim) != CONFIG_TYPE_FLOAT)
		cfg_error(d, lim, path, "rule \"%s\": %s must be a number", r->id,
		          above ? "above" : "below");
	else {
		r->limit = config_setting_get_float(lim);
		if (config_setting_type(lim) == CONFIG_TYPE_INT)
			r->limit = config_setting_get_int(lim);
		else if (config_setting_type(lim) == CONFIG_TYPE_INT64)
			r->limit = (double)config_setting_get_int64(lim);
		r->below = below != NULL;
	}
	columns_known = ruleset_compile(r, g, env, path, d);
	r->stages = st = xcalloc(1, sizeof *st);
	r->nstages = 1;
	st->name = xstrdup(r->below ? "below" : "above");
	st->line = cfg_line(g);
	stage_parse_label(r, st, g, path, d);
	if (config_setting_get_member(g, "notify") == NULL)
		cfg_error(d, g, path, "rule \"%s\": missing notify = [ \"...\" ]", r->id);
	else
		stage_parse_notify(r, st, g, env, columns_known, path, d);
	if (columns_known) {
		r->subject =
		    ruleset_template(r, g, "subject", ruleset_default_threshold_subject, path, d);
		r->body = ruleset_template(r, g, "body", ruleset_default_threshold_body, path, d);
		r->expected =
		    ruleset_template(r, g, "expected", ruleset_default_threshold_expected, path, d);
		ruleset_parse_fields(r, g, path, d);
		ruleset_parse_case_url(r, g, path, d);
	}
	(void)rs;
}

/* Parse one rule group; on success append it to rs. */
static void
ruleset_parse_rule(struct ruleset *rs, const config_setting_t *g, const struct ruleset_env *env,
                   const char *path, struct diag *d)
{
	struct rule r;
	const config_setting_t *s;
	const struct rule *other;
	const char *v;
	size_t before = d->errors;
	bool columns_known;

	memset(&r, 0, sizeof r);
	r.working_days_only = true;
	r.case_ref_col = r.start_col = r.value_col = -1;
	r.history_case_col = r.history_start_col = r.history_done_col = -1;
	r.target = -1;
	r.file = xstrdup(path);
	r.line = cfg_line(g);
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		cfg_error(d, g, path, "each rule must be a group { id = ...; ... }");
		rule_clear(&r);
		return;
	}
	cfg_check_keys(g, rule_keys, "a rule", path, d);

	if ((v = cfg_get_string(g, "id", true, path, d)) != NULL) {
		if (!ruleset_valid_id(v))
			cfg_error(d, config_setting_get_member(g, "id"), path,
			          "rule id \"%s\" must be lower-case letters, digits and '-' (at "
			          "most 64)",
			          v);
		else if ((other = ruleset_find(rs, v)) != NULL)
			cfg_error(
			    d, config_setting_get_member(g, "id"), path,
			    "rule id \"%s\" is already used at %s:%d; ids must be unique across "
			    "all rule files",
			    v, other->file, other->line);
	}
	r.id = xstrdup(v && ruleset_valid_id(v) ? v : "?");
	if ((v = cfg_get_string(g, "title", true, path, d)) != NULL) {
		if (*v == '\0' || strpbrk(v, "\r\n") != NULL)
			cfg_error(d, config_setting_get_member(g, "title"), path,
			          "rule \"%s\": title must be one non-empty line", r.id);
		r.title = xstrdup(v);
	}
	if ((v = cfg_get_string(g, "kind", false, path, d)) != NULL) {
		if (strcmp(v, "threshold") == 0)
			r.kind = RULE_THRESHOLD;
		else if (strcmp(v, "clock") != 0)
			cfg_error(
			    d, config_setting_get_member(g, "kind"), path,
			    "rule \"%s\": kind must be \"clock\" (the default) or \"threshold\"",
			    r.id);
	}
	if ((v = cfg_get_string(g, "query", true, path, d)) != NULL)
		r.query = xstrdup(v);
	ruleset_parse_renamed(&r, g, false, &r.renamed_from, &r.nrenamed, path, d);
	if ((s = config_setting_get_member(g, "renamed_from")) != NULL)
		r.renamed_line = cfg_line(s);
	ruleset_check_renames(rs, &r, g, path, d);
	if (r.kind == RULE_THRESHOLD) {
		ruleset_parse_threshold(rs, &r, g, env, path, d);
		goto done;
	}
	if (config_setting_get_member(g, "above") != NULL ||
	    config_setting_get_member(g, "below") != NULL ||
	    config_setting_get_member(g, "notify") != NULL)
		cfg_error(d, g, path,
		          "rule \"%s\": above, below and a rule-level notify belong to kind = "
		          "\"threshold\" rules; a clock rule lists notify in each stage",
		          r.id);
	if (config_setting_get_member(g, "label") != NULL ||
	    config_setting_get_member(g, "immediate") != NULL)
		cfg_error(d, g, path,
		          "rule \"%s\": label and immediate belong in each stage of a clock rule",
		          r.id);
	ruleset_get_duration(g, "due", path, "due", &r.due, d);
	if ((s = config_setting_get_member(g, "working_days_only")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			cfg_error(d, s, path,
			          "rule \"%s\": working_days_only must be true or false", r.id);
		else
			r.working_days_only = config_setting_get_bool(s);
	}
	stage_parse_hold(&r, g, path, d);
	ruleset_parse_history(&r, g, env, path, d);
	columns_known = ruleset_compile(&r, g, env, path, d);
	if (columns_known) {
		r.subject = ruleset_template(&r, g, "subject", ruleset_default_subject, path, d);
		r.body = ruleset_template(&r, g, "body", ruleset_default_body, path, d);
		r.expected = ruleset_template(&r, g, "expected", ruleset_default_expected, path, d);
		ruleset_parse_fields(&r, g, path, d);
		ruleset_parse_case_url(&r, g, path, d);
	}

	s = config_setting_get_member(g, "stages");
	if (s == NULL) {
		cfg_error(d, g, path, "rule \"%s\": missing setting \"stages\"", r.id);
	} else if (config_setting_type(s) != CONFIG_TYPE_LIST || config_setting_length(s) == 0) {
		cfg_error(d, s, path,
		          "rule \"%s\": stages must be a non-empty list ( { name = ...; at = ...; "
		          "notify = [ ... ]; }, ... )",
		          r.id);
	} else {
		int n = config_setting_length(s);

		r.stages = xcalloc((size_t)n, sizeof *r.stages);
		for (int i = 0; i < n; i++) {
			struct stage *st = &r.stages[r.nstages++];
			stage_parse(&r, st, config_setting_get_elem(s, (unsigned)i), env,
			            columns_known, path, d);
		}
		if (d->errors == before)
			stage_check_order(&r, s, path, d);
		if (d->errors == before)
			stage_check_renames(&r, s, path, d);
	}

done:
	if (d->errors != before) {
		rule_clear(&r);
		return;
	}
	rs->rules = xreallocarray(rs->rules, rs->nrules + 1, sizeof *rs->rules);
	rs->rules[rs->nrules++] = r;
}

/* Load one rule file into rs. */
int
ruleset_load_file(struct ruleset *rs, const char *path, const struct ruleset_env *env,
                  struct diag *d)
{
	static const char *const file_keys[] = {"rules", NULL};
	config_t cf;
	const config_setting_t *root, *list;
	size_t before = d->errors;

	rs->files = xreallocarray(rs->files, rs->nfiles + 1, sizeof *rs->files);
	rs->files[rs->nfiles++] = xstrdup(path);
	config_init(&cf);
	if (cfg_read(&cf, path, d) != 0) {
		config_destroy(&cf);
		return -1;
	}
	root = config_root_setting(&cf);
	cfg_check_keys(root, file_keys, "a rule file", path, d);
	list = config_setting_get_member(root, "rules");
	if (list == NULL) {
		diag_add(d, DIAG_ERROR, "%s: no \"rules = ( ... );\" list in this file", path);
	} else if (config_setting_type(list) != CONFIG_TYPE_LIST &&
	           config_setting_type(list) != CONFIG_TYPE_GROUP) {
		cfg_error(d, list, path,
		          "\"rules\" must be a list: rules = ( { id = ...; }, ... );");
	} else if (config_setting_type(list) == CONFIG_TYPE_GROUP) {
		/* A single rule written as a group is a common slip; accept it. */
		ruleset_parse_rule(rs, list, env, path, d);
	} else {
		int n = config_setting_length(list);
		for (int i = 0; i < n; i++)
			ruleset_parse_rule(rs, config_setting_get_elem(list, (unsigned)i), env,
			                   path, d);
	}
	config_destroy(&cf);
	return d->errors == before ? 0 : -1;
}

/* Does name end in ".conf" and not start with '.' (editor and backup files)? */
static int
ruleset_is_rule_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".conf") == 0;
}

/* Sort names bytewise, independent of the locale. */
static int
ruleset_name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Load every rule file in dir. */
struct ruleset *
ruleset_load_dir(const char *dir, const struct ruleset_env *env, struct diag *d)
{
	struct dirent **names;
	struct ruleset *rs;
	size_t before = d->errors;
	int n;

	if ((n = scandir(dir, &names, ruleset_is_rule_file, ruleset_name_cmp)) < 0) {
		diag_add(d, DIAG_ERROR, "%s: cannot read the rules directory: %s", dir,
		         strerror(errno));
		return NULL;
	}
	rs = ruleset_new();
	for (int i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]->d_name);
		struct stat sb;

		if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			ruleset_load_file(rs, path, env, d);
		free(path);
		free(names[i]);
	}
	free(names);
	if (rs->nfiles == 0)
		diag_add(d, DIAG_WARNING, "%s: no rule files (*.conf) in this directory", dir);
	if (d->errors != before) {
		ruleset_free(rs);
		return NULL;
	}
	return rs;
}
