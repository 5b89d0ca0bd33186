/*
 * rulediff.c - what changed between two versions of one rule, setting by
 * setting: a pure comparison of two parsed rules, for escalatord preview.
 */
#include "rulediff.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static const char *const rulediff_names[] = {
    [RULEDIFF_ID] = "id",
    [RULEDIFF_TITLE] = "title",
    [RULEDIFF_QUERY] = "query",
    [RULEDIFF_DUE] = "due",
    [RULEDIFF_WORKING_DAYS_ONLY] = "working_days_only",
    [RULEDIFF_HOLD] = "hold",
    [RULEDIFF_MAX_HOLD] = "max_hold",
    [RULEDIFF_LIMIT] = "limit",
    [RULEDIFF_FIELDS] = "fields",
    [RULEDIFF_SUBJECT] = "subject",
    [RULEDIFF_BODY] = "body",
    [RULEDIFF_EXPECTED] = "expected",
    [RULEDIFF_CASE_URL] = "case_url",
    [RULEDIFF_STAGE_ADDED] = "stage_added",
    [RULEDIFF_STAGE_REMOVED] = "stage_removed",
    [RULEDIFF_STAGE_RENAMED] = "stage_renamed",
    [RULEDIFF_STAGE_AT] = "stage_at",
    [RULEDIFF_STAGE_NOTIFY] = "stage_notify",
    [RULEDIFF_STAGE_LABEL] = "stage_label",
    [RULEDIFF_STAGE_IMMEDIATE] = "stage_immediate",
    [RULEDIFF_STAGE_EXPECTED] = "stage_expected",
};

/* The name a change has in JSON. */
const char *
rulediff_name(enum rulediff_kind k)
{
	return rulediff_names[k];
}

/* Add a change (before and after are taken over). */
static void
rulediff_add(struct rulediff *d, enum rulediff_kind kind, const char *stage, char *before,
             char *after)
{
	d->v = xreallocarray(d->v, d->n + 1, sizeof *d->v);
	d->v[d->n].kind = kind;
	d->v[d->n].stage = stage;
	d->v[d->n].before = before;
	d->v[d->n].after = after;
	d->n++;
}

/* A duration as the rule file writes it. Allocated. */
static char *
rulediff_duration(const struct duration *dur)
{
	char buf[64];

	return xstrdup(duration_format(dur, buf, sizeof buf));
}

static bool
rulediff_same_duration(const struct duration *a, const struct duration *b)
{
	return a->n == b->n && a->unit == b->unit;
}

/* Two strings that may be NULL. */
static bool
rulediff_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * A template as text, its placeholders written back as {{name}} (how it
 * reads in the rule file, spacing inside the braces aside), or NULL.
 */
static char *
rulediff_template(const struct rule *r, const struct template *t)
{
	size_t n = TPL_NBUILTIN + r->ncolumns;
	char **names;
	char *text;

	if (t == NULL)
		return NULL;
	names = xcalloc(n, sizeof *names);
	for (size_t i = 0; i < n; i++)
		names[i] = xasprintf("{{%s}}", i < TPL_NBUILTIN ? template_builtin_names[i]
		                                                : r->columns[i - TPL_NBUILTIN]);
	text = template_render(t, (const char *const *)names);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return text;
}

/* A template setting: changed or not (the text is not repeated: it can be long). */
static void
rulediff_templates(struct rulediff *d, enum rulediff_kind kind, const char *stage,
                   const struct rule *a, const struct template *ta, const struct rule *b,
                   const struct template *tb)
{
	char *x = rulediff_template(a, ta), *y = rulediff_template(b, tb);

	if (!rulediff_same(x, y))
		rulediff_add(d, kind, stage, NULL, NULL);
	free(x);
	free(y);
}

/* A list of names as "a, b, c". Allocated. */
static char *
rulediff_list(char *const *v, size_t n, size_t stride)
{
	size_t len = 1;
	char *out;

	for (size_t i = 0; i < n; i++)
		len += strlen(*(char *const *)((const char *)v + i * stride)) + 2;
	out = xcalloc(len, 1);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			strcat(out, ", ");
		strcat(out, *(char *const *)((const char *)v + i * stride));
	}
	return out;
}

/* A stage's notify names as "iro, team_manager". Allocated. */
static char *
rulediff_notify(const struct stage *st)
{
	if (st->nnotify == 0)
		return xstrdup("");
	return rulediff_list(&st->notify[0].name, st->nnotify, sizeof st->notify[0]);
}

/* The stage of a that stage j of b is, or -1. */
int
rulediff_stage_of(const struct rule *a, const struct rule *b, size_t j)
{
	const struct stage *st = &b->stages[j];
	int i = rule_stage_index(a, st->name);

	for (size_t k = 0; i < 0 && k < st->nrenamed; k++)
		i = rule_stage_index(a, st->renamed_from[k]);
	return i;
}

/* The changes of stage j of b from stage i of a. */
static void
rulediff_stage(struct rulediff *d, const struct rule *a, size_t i, const struct rule *b, size_t j)
{
	const struct stage *sa = &a->stages[i], *sb = &b->stages[j];
	char *x, *y;

	if (strcmp(sa->name, sb->name) != 0)
		rulediff_add(d, RULEDIFF_STAGE_RENAMED, sb->name, xstrdup(sa->name),
		             xstrdup(sb->name));
	if (!rulediff_same_duration(&sa->at, &sb->at))
		rulediff_add(d, RULEDIFF_STAGE_AT, sb->name, rulediff_duration(&sa->at),
		             rulediff_duration(&sb->at));
	x = rulediff_notify(sa);
	y = rulediff_notify(sb);
	if (strcmp(x, y) != 0)
		rulediff_add(d, RULEDIFF_STAGE_NOTIFY, sb->name, x, y);
	else {
		free(x);
		free(y);
	}
	if (!rulediff_same(sa->label, sb->label))
		rulediff_add(d, RULEDIFF_STAGE_LABEL, sb->name, xstrdup_or_null(sa->label),
		             xstrdup_or_null(sb->label));
	if (sa->immediate != sb->immediate)
		rulediff_add(d, RULEDIFF_STAGE_IMMEDIATE, sb->name,
		             xstrdup(sa->immediate ? "true" : "false"),
		             xstrdup(sb->immediate ? "true" : "false"));
	rulediff_templates(d, RULEDIFF_STAGE_EXPECTED, sb->name, a, sa->expected, b, sb->expected);
}

/* A yes/no setting's change. */
static void
rulediff_bool(struct rulediff *d, enum rulediff_kind kind, bool a, bool b)
{
	if (a != b)
		rulediff_add(d, kind, NULL, xstrdup(a ? "true" : "false"),
		             xstrdup(b ? "true" : "false"));
}

/* What changed from a to b. */
void
rulediff_rules(const struct rule *a, const struct rule *b, struct rulediff *out)
{
	char buf[64], *x, *y;

	memset(out, 0, sizeof *out);
	if (strcmp(a->id, b->id) != 0)
		rulediff_add(out, RULEDIFF_ID, NULL, xstrdup(a->id), xstrdup(b->id));
	if (!rulediff_same(a->title, b->title))
		rulediff_add(out, RULEDIFF_TITLE, NULL, xstrdup(a->title), xstrdup(b->title));
	if (!rulediff_same(a->query, b->query))
		rulediff_add(out, RULEDIFF_QUERY, NULL, NULL, NULL);
	if (a->kind == RULE_CLOCK && b->kind == RULE_CLOCK &&
	    !rulediff_same_duration(&a->due, &b->due))
		rulediff_add(out, RULEDIFF_DUE, NULL, rulediff_duration(&a->due),
		             rulediff_duration(&b->due));
	rulediff_bool(out, RULEDIFF_WORKING_DAYS_ONLY, a->working_days_only, b->working_days_only);
	rulediff_bool(out, RULEDIFF_HOLD, a->hold, b->hold);
	if (a->hold && b->hold && !rulediff_same_duration(&a->max_hold, &b->max_hold))
		rulediff_add(out, RULEDIFF_MAX_HOLD, NULL, rulediff_duration(&a->max_hold),
		             rulediff_duration(&b->max_hold));
	if (a->kind == RULE_THRESHOLD && b->kind == RULE_THRESHOLD &&
	    (a->limit != b->limit || a->below != b->below)) {
		snprintf(buf, sizeof buf, "%s %.15g", a->below ? "below" : "above", a->limit);
		x = xstrdup(buf);
		snprintf(buf, sizeof buf, "%s %.15g", b->below ? "below" : "above", b->limit);
		rulediff_add(out, RULEDIFF_LIMIT, NULL, x, xstrdup(buf));
	}
	x = rulediff_list(a->fields, a->nfields, sizeof *a->fields);
	y = rulediff_list(b->fields, b->nfields, sizeof *b->fields);
	if (strcmp(x, y) != 0)
		rulediff_add(out, RULEDIFF_FIELDS, NULL, x, y);
	else {
		free(x);
		free(y);
	}
	rulediff_templates(out, RULEDIFF_SUBJECT, NULL, a, a->subject, b, b->subject);
	rulediff_templates(out, RULEDIFF_BODY, NULL, a, a->body, b, b->body);
	rulediff_templates(out, RULEDIFF_EXPECTED, NULL, a, a->expected, b, b->expected);
	rulediff_templates(out, RULEDIFF_CASE_URL, NULL, a, a->case_url, b, b->case_url);
	if (a->kind != RULE_CLOCK || b->kind != RULE_CLOCK) {
		/* A threshold rule's one stage: who is told, and how it reads. */
		if (a->nstages == 1 && b->nstages == 1)
			rulediff_stage(out, a, 0, b, 0);
		return;
	}
	for (size_t j = 0; j < b->nstages; j++) {
		int i = rulediff_stage_of(a, b, j);

		if (i < 0)
			rulediff_add(out, RULEDIFF_STAGE_ADDED, b->stages[j].name, NULL,
			             rulediff_duration(&b->stages[j].at));
		else
			rulediff_stage(out, a, (size_t)i, b, j);
	}
	for (size_t i = 0; i < a->nstages; i++) {
		bool kept = false;

		for (size_t j = 0; j < b->nstages && !kept; j++)
			kept = rulediff_stage_of(a, b, j) == (int)i;
		if (!kept)
			rulediff_add(out, RULEDIFF_STAGE_REMOVED, a->stages[i].name,
			             rulediff_duration(&a->stages[i].at), NULL);
	}
}

/* Free the changes. */
void
rulediff_free(struct rulediff *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].before);
		free(d->v[i].after);
	}
	free(d->v);
	memset(d, 0, sizeof *d);
}
