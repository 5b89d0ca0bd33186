/*
 * preview_text.c - escalatord preview's output: plain text for the IRO
 * service manager who edited the rules (the most important first: what
 * would be sent again, then what goes at once, then the rest), and one JSON
 * document for machines. Cases are named by reference only; recipients by
 * their notify name (a contact's name, or the column, with how many
 * addresses), never an address or a secret.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "preview.h"

/* Room for pt_n: 20 digits, a space, the longest wording ("open clocks have") and a NUL. */
#define PT_N_LEN 48

/* "1 alert", "3 alerts". */
static const char *
pt_n(long long n, const char *one, const char *many, char *buf, size_t len)
{
	snprintf(buf, len, "%lld %s", n, n == 1 ? one : many);
	return buf;
}

/* The rule a preview rule is now (after), else was. */
static const struct rule *
pt_rule(const struct preview_rule *pr)
{
	return pr->after != NULL ? pr->after : pr->before;
}

/* "to: team_manager (3 addresses), iro_service; copied in: ..." */
static void
pt_who(FILE *f, const struct preview_alerts *al, const char *indent)
{
	for (int copied = 0; copied < 2; copied++) {
		bool first = true;

		for (size_t i = 0; i < al->nwho; i++) {
			const struct preview_who *w = &al->who[i];

			if (w->copied != (copied != 0))
				continue;
			fprintf(f, "%s%s", first ? indent : ", ",
			        first ? (copied ? "copied in: " : "to: ") : "");
			if (w->column)
				fprintf(f, "%s (%zu address%s)", w->name, w->naddresses,
				        w->naddresses == 1 ? "" : "es");
			else
				fprintf(f, "%s", w->name);
			first = false;
		}
		if (!first)
			fputc('\n', f);
	}
}

/* "e.g. C1, C2, C3" with each one's stage date. */
static void
pt_examples(FILE *f, const struct preview_alerts *al, bool dated, const char *indent)
{
	char day[32];

	for (size_t i = 0; i < al->nex; i++) {
		fprintf(f, "%s%s", i == 0 ? indent : ", ", i == 0 ? "e.g. " : "");
		if (dated)
			fprintf(f, "%s (dated %s)", al->ex[i].case_ref,
			        date_human(al->ex[i].a, day));
		else
			fprintf(f, "%s", al->ex[i].case_ref);
	}
	if (al->nex > 0)
		fputc('\n', f);
}

/* The dates alerts carry: "Mon 9 Nov 2026", or "... to ...". */
static void
pt_dates(FILE *f, const struct preview_alerts *al)
{
	char a[32], b[32];

	if (al->first == al->last)
		fprintf(f, "%s", date_human(al->first, a));
	else
		fprintf(f, "%s to %s", date_human(al->first, a), date_human(al->last, b));
}

/* The header and the fix of alerts sent again for one reason (rs) in rule r, all stages. */
static void
pt_resend_fix(FILE *f, const struct rule *r, const struct preview_resend *rs, long long alerts)
{
	const char *stage = r->stages[rs->stage].name;
	char n[PT_N_LEN];

	fprintf(f, "  %s: %s", r->id, pt_n(alerts, "alert", "alerts", n, sizeof n));
	switch (rs->why) {
	case PREVIEW_STAGE_RENAMED:
		fprintf(f,
		        " already sent as stage \"%s\", which is gone from\n"
		        "    the rule. If \"%s\" is \"%s\" renamed, add\n"
		        "      renamed_from = \"%s\";\n"
		        "    to stage \"%s\" (%s:%d).\n",
		        rs->gone, stage, rs->gone, rs->gone, stage, r->file,
		        r->stages[rs->stage].line);
		break;
	case PREVIEW_RULE_RENAMED:
		fprintf(f,
		        " already sent by rule \"%s\", which is gone.\n"
		        "    If \"%s\" is \"%s\" renamed, add\n"
		        "      renamed_from = \"%s\";\n"
		        "    to rule \"%s\" (%s:%d).\n",
		        rs->gone, r->id, rs->gone, rs->gone, r->id, r->file, r->line);
		break;
	case PREVIEW_START_CHANGED:
		fprintf(f, " already sent for the same cases: the query now\n"
		           "    gives their clocks another start, so escalator sees new clocks.\n"
		           "    Keep the start column as it was.\n");
		break;
	}
}

/* Is resend entry k of pr the first with its reason and what is gone? */
static bool
pt_resend_first(const struct preview_rule *pr, size_t k)
{
	for (size_t j = 0; j < k; j++)
		if (pr->resend[j].why == pr->resend[k].why &&
		    strcmp(pr->resend[j].gone, pr->resend[k].gone) == 0)
			return false;
	return true;
}

/* The alerts that would go again: loudly, with the fix, first. */
static void
pt_resend(FILE *f, const struct preview *p)
{
	char n[PT_N_LEN];

	if (p->resent == 0)
		return;
	fprintf(f, "\nSENT AGAIN: fix this before you reload\n");
	for (size_t i = 0; i < p->nrules; i++) {
		const struct preview_rule *pr = &p->rules[i];
		const struct rule *r = pr->after;

		for (size_t k = 0; k < pr->nresend; k++) {
			const struct preview_resend *rs = &pr->resend[k];
			long long alerts = 0;

			if (!pt_resend_first(pr, k))
				continue;
			for (size_t j = k; j < pr->nresend; j++)
				if (pr->resend[j].why == rs->why &&
				    strcmp(pr->resend[j].gone, rs->gone) == 0)
					alerts += pr->resend[j].al.alerts;
			pt_resend_fix(f, r, rs, alerts);
			for (size_t j = k; j < pr->nresend; j++) {
				const struct preview_resend *x = &pr->resend[j];

				if (x->why != rs->why || strcmp(x->gone, rs->gone) != 0)
					continue;
				fprintf(f, "    stage \"%s\": %s\n", r->stages[x->stage].name,
				        pt_n(x->al.alerts, "alert", "alerts", n, sizeof n));
				pt_examples(f, &x->al, false, "      ");
				pt_who(f, &x->al, "      ");
			}
		}
	}
}

/* One setting's change, in words. */
static void
pt_change(FILE *f, const struct rulediff_item *c)
{
	static const char *const what[] = {
	    [RULEDIFF_TITLE] = "title",
	    [RULEDIFF_DUE] = "due",
	    [RULEDIFF_WORKING_DAYS_ONLY] = "working_days_only",
	    [RULEDIFF_HOLD] = "hold",
	    [RULEDIFF_MAX_HOLD] = "max_hold",
	    [RULEDIFF_LIMIT] = "limit",
	    [RULEDIFF_FIELDS] = "fields",
	    [RULEDIFF_STAGE_AT] = "at",
	    [RULEDIFF_STAGE_NOTIFY] = "notify",
	    [RULEDIFF_STAGE_LABEL] = "label",
	    [RULEDIFF_STAGE_IMMEDIATE] = "immediate",
	};
	const char *b = c->before != NULL && *c->before != '\0' ? c->before : "none";
	const char *a = c->after != NULL && *c->after != '\0' ? c->after : "none";

	fprintf(f, "    ");
	switch (c->kind) {
	case RULEDIFF_ID:
		fprintf(f, "renamed from \"%s\" (renamed_from: its history carries over)\n", b);
		return;
	case RULEDIFF_QUERY:
	case RULEDIFF_SUBJECT:
	case RULEDIFF_BODY:
	case RULEDIFF_EXPECTED:
	case RULEDIFF_CASE_URL:
		fprintf(f, "%s changed\n", rulediff_name(c->kind));
		return;
	case RULEDIFF_STAGE_ADDED:
		fprintf(f, "stage \"%s\" added, at %s\n", c->stage, a);
		return;
	case RULEDIFF_STAGE_REMOVED:
		fprintf(f, "stage \"%s\" removed (it was at %s)\n", c->stage, b);
		return;
	case RULEDIFF_STAGE_RENAMED:
		fprintf(f, "stage \"%s\" renamed \"%s\" (renamed_from: its history carries over)\n",
		        b, a);
		return;
	case RULEDIFF_STAGE_EXPECTED:
		fprintf(f, "stage \"%s\": expected changed\n", c->stage);
		return;
	default:
		break;
	}
	if (c->stage != NULL)
		fprintf(f, "stage \"%s\": ", c->stage);
	fprintf(f, "%s: %s -> %s\n", what[c->kind], b, a);
}

/* The rules added, removed and changed. */
static void
pt_rules(FILE *f, const struct preview *p)
{
	if (p->added + p->removed + p->changed == 0 && !p->holidays_changed)
		return;
	fprintf(f, "\nRules changed\n");
	for (size_t i = 0; i < p->nrules; i++) {
		const struct preview_rule *pr = &p->rules[i];
		const struct rule *r = pt_rule(pr);

		if (pr->before == NULL)
			fprintf(f, "  %s: added (%s:%d), %lld open clocks\n", r->id, r->file,
			        r->line, pr->clocks_after);
		else if (pr->after == NULL)
			fprintf(f,
			        "  %s: removed; its %lld open clocks are no longer watched (it was "
			        "at %s:%d)\n",
			        r->id, pr->removed_watching, r->file, r->line);
		else if (pr->diff.n > 0) {
			fprintf(f, "  %s (%s:%d)\n", r->id, r->file, r->line);
			for (size_t k = 0; k < pr->diff.n; k++)
				pt_change(f, &pr->diff.v[k]);
		}
	}
	if (p->holidays_changed)
		fprintf(f, "  holiday files: changed\n");
}

/* The alerts owed at once on reload that are not owed now. */
static void
pt_at_once(FILE *f, const struct preview *p)
{
	long long n = p->at_once - p->resent;
	char buf[64], when[48];

	if (n == 0)
		return;
	fprintf(f, "\nOwed at once on reload: %s (%lld backdated)\n",
	        pt_n(n, "alert", "alerts", buf, sizeof buf), p->backdated);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct preview_rule *pr = &p->rules[i];
		const struct rule *r = pr->after;

		for (size_t s = 0; r != NULL && s < r->nstages; s++) {
			const struct preview_alerts *al = &pr->owed[s];

			if (al->alerts == 0)
				continue;
			fprintf(f, "  %s, stage \"%s\" (%s): %s\n", r->id, r->stages[s].name,
			        r->stages[s].label,
			        pt_n(al->alerts, "alert", "alerts", buf, sizeof buf));
			if (r->kind == RULE_CLOCK) {
				if (al->backdated > 0)
					fprintf(f, "    %lld backdated, dated ", al->backdated);
				else
					fprintf(f, "    dated ");
				pt_dates(f, al);
				fputc('\n', f);
			}
			pt_examples(f, al, false, "    ");
			pt_who(f, al, "    ");
		}
	}
	fprintf(f,
	        "  They go in the next digest, %s; at once to anyone who takes\n"
	        "  no digest, for stages with immediate = true, and to everyone if escalatord\n"
	        "  is restarted instead of reloaded.\n",
	        localtime_human(p->next_digest, when));
}

/* Due dates that move. */
static void
pt_due(FILE *f, const struct preview *p)
{
	char a[32], b[32], n[PT_N_LEN];

	if (p->due_moved == 0)
		return;
	fprintf(f, "\nDue dates that move: %lld\n", p->due_moved);
	for (size_t i = 0; i < p->nrules; i++) {
		const struct preview_rule *pr = &p->rules[i];

		if (pr->due_moved == 0)
			continue;
		fprintf(f, "  %s: %s (%lld earlier, %lld later)\n", pr->after->id,
		        pt_n(pr->due_moved, "clock", "clocks", n, sizeof n), pr->due_earlier,
		        pr->due_moved - pr->due_earlier);
		for (size_t k = 0; k < pr->ndue_ex; k++)
			fprintf(f, "    %s: %s -> %s\n", pr->due_ex[k].case_ref,
			        date_human(pr->due_ex[k].a, a), date_human(pr->due_ex[k].b, b));
	}
}

/* Alerts owed now that will not be, stages that will never fire, clocks that leave. */
static void
pt_lost(FILE *f, const struct preview *p)
{
	char n[PT_N_LEN];

	if (p->lost > 0) {
		fprintf(f, "\nNo longer owed: %s owed now will not go\n",
		        pt_n(p->lost, "alert", "alerts", n, sizeof n));
		for (size_t i = 0; i < p->nrules; i++) {
			const struct preview_rule *pr = &p->rules[i];
			const struct rule *r = pr->before;

			for (size_t s = 0; r != NULL && s < r->nstages; s++)
				if (pr->lost[s].alerts > 0) {
					fprintf(f, "  %s, stage \"%s\": %s\n", r->id,
					        r->stages[s].name,
					        pt_n(pr->lost[s].alerts, "alert", "alerts", n,
					             sizeof n));
					pt_examples(f, &pr->lost[s], false, "    ");
				}
		}
	}
	if (p->unfired > 0) {
		fprintf(f, "\nStages that will no longer fire\n");
		for (size_t i = 0; i < p->nrules; i++) {
			const struct preview_rule *pr = &p->rules[i];

			for (size_t s = 0; pr->unfired != NULL && s < pr->before->nstages; s++)
				if (pr->unfired[s] > 0)
					fprintf(f, "  %s, stage \"%s\": %s not reached it yet\n",
					        pr->before->id, pr->before->stages[s].name,
					        pt_n(pr->unfired[s], "open clock has",
					             "open clocks have", n, sizeof n));
		}
	}
	for (size_t i = 0; i < p->nrules; i++) {
		const struct preview_rule *pr = &p->rules[i];

		if (pr->leaving == 0)
			continue;
		fprintf(f, "\n%s: %s no longer in the rule's rows", pr->after->id,
		        pt_n(pr->leaving, "open clock is", "open clocks are", n, sizeof n));
		if (pr->start_changed > 0)
			fprintf(f, " (%lld with another start)", pr->start_changed);
		fprintf(f, ".\n");
		if (pr->leaving_alerted > 0)
			fprintf(
			    f,
			    "  %lld of them were alerted: the next pass records them as done and "
			    "tells those people so.\n",
			    pr->leaving_alerted);
	}
	for (size_t i = 0; i < p->nrules; i++)
		if (p->rules[i].failed != NULL)
			fprintf(f, "\n%s: not compared: its query failed: %s\n",
			        pt_rule(&p->rules[i])->id, p->rules[i].failed);
}

/* Write the preview for people. */
void
preview_print_text(const struct preview *p, FILE *f)
{
	char now[48], at[48], n1[32], n2[32], n3[32];
	localtime_min_t loaded = clock_local(p->loaded_at, NULL);

	if (preview_no_change(p) && p->before_loaded)
		fprintf(f, "No change: the rules in %s are what escalatord runs.\n", p->rules_dir);
	else if (preview_no_change(p) && strcmp(p->rules_dir, p->cfg->rules_dir) != 0)
		fprintf(f, "No change: the rules in %s are the same as those in %s.\n",
		        p->rules_dir, p->cfg->rules_dir);
	else if (preview_no_change(p))
		fprintf(f, "No change.\n");
	else
		fprintf(f, "On reload: %s at once (%lld backdated), %s, %s.\n",
		        pt_n(p->at_once, "alert is owed", "alerts are owed", n1, sizeof n1),
		        p->backdated,
		        pt_n(p->due_moved, "due date moves", "due dates move", n2, sizeof n2),
		        pt_n(p->resent, "alert sent again", "alerts sent again", n3, sizeof n3));
	if (p->before_loaded)
		fprintf(f, "Before: the rules escalatord loaded on %s. As of %s.\n",
		        localtime_human(loaded, at), localtime_human(p->now, now));
	else
		fprintf(f, "Before: the rules on disk in %s, as\n%s.\nAs of %s.\n",
		        p->cfg->rules_dir, p->before_note, localtime_human(p->now, now));
	pt_resend(f, p);
	pt_at_once(f, p);
	pt_rules(f, p);
	pt_due(f, p);
	pt_lost(f, p);
}
