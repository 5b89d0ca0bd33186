/*
 * explain_text.c - escalatord explain for people (an IRO service manager, an
 * admin): the rule and the case, then each clock with the most important
 * first (when it is due and what happens next), then how the due date was
 * counted, every stage, the answers. Dates read "Mon 21 Dec 2026", times
 * are local. Values from the stores were made fit for a terminal on reading.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "explain.h"
#include "xalloc.h"

/* The most holidays listed one by one for a count (a rule of years would list hundreds). */
#define HOLIDAYS_SHOWN 30
/* The most weekends listed by date. */
#define WEEKENDS_SHOWN 8

/* "Mon 21 Dec 2026 08:00" for local minutes t. */
char *
explain_when(localtime_min_t t, char *buf)
{
	char when[LOCALTIME_HUMAN_LEN];

	snprintf(buf, EXPLAIN_WHEN_LEN, "%s", localtime_human(t, when));
	return buf;
}

/* A UTC time as recorded, as explain_when() says it; the text as is if it is not one. */
const char *
explain_when_utc(const char *utc, char *buf)
{
	localtime_min_t t = explain_local(utc);

	if (t < 0)
		return utc != NULL ? utc : "?";
	return explain_when(t, buf);
}

/* A recorded YYYY-MM-DD as "Mon 21 Dec 2026"; the text as is if it is not one. */
const char *
explain_day(const char *ymd, char *buf)
{
	date_t d;

	if (ymd == NULL || date_parse_strict(ymd, &d) != 0)
		return ymd != NULL ? ymd : "?";
	return date_human(d, buf);
}

/* "08:00". */
static const char *
clock_text(int minutes, char *buf)
{
	snprintf(buf, 32, "%02d:%02d", minutes / 60, minutes % 60);
	return buf;
}

/* Lines are wrapped at this width (a terminal's, or an email's if pasted). */
#define WIDTH 78

/*
 * Print one paragraph wrapped at WIDTH: the first line indented by indent
 * spaces, the next ones by hang, broken at spaces (a longer word, an
 * address say, stands alone on its line).
 */
void
explain_say(FILE *f, int indent, int hang, const char *fmt, ...)
{
	va_list ap;
	char *text, *p, *end;
	int col = 0, pad = indent;
	size_t len, chars;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	for (p = text; *p != '\0'; p = end) {
		int gap = 0;

		/* Spaces between words are kept as written ("Next:  "), but not at a break. */
		for (; *p == ' '; p++)
			gap++;
		if (*p == '\0')
			break;
		end = p + strcspn(p, " ");
		len = (size_t)(end - p);
		chars = 0;
		/* Columns are characters: UTF-8 continuation bytes take none. */
		for (size_t i = 0; i < len; i++)
			if (((unsigned char)p[i] & 0xc0) != 0x80)
				chars++;
		if (col > 0 && col + gap + (int)chars > WIDTH) {
			fputc('\n', f);
			col = 0;
			pad = hang;
		}
		if (col == 0) {
			fprintf(f, "%*s", pad, "");
			col = pad;
		} else {
			fprintf(f, "%*s", gap, "");
			col += gap;
		}
		fwrite(p, 1, len, f);
		col += (int)chars;
	}
	fputc('\n', f);
	free(text);
}

/* "2 weekend days (24-25 Oct 2026)", or NULL when none; allocated. */
static char *
weekend_words(const struct trail_step *s)
{
	char *w, *out;

	if (s->weekend_days == 0)
		return NULL;
	w = trail_weekends(s->skipped, s->nskipped, WEEKENDS_SHOWN);
	out =
	    xasprintf("%d weekend day%s (%s)", s->weekend_days, s->weekend_days == 1 ? "" : "s", w);
	free(w);
	return out;
}

/* "Fri 25 Dec 2026 Christmas Day, Mon 28 Dec 2026 ...", or NULL when none; allocated. */
static char *
holiday_words(const struct trail_skip *v, size_t n)
{
	char *out = NULL, *more, day[DATE_HUMAN_LEN];

	for (size_t i = 0; i < n; i++) {
		if (v[i].kind != TRAIL_HOLIDAY)
			continue;
		more = xasprintf("%s%s%s %s", out != NULL ? out : "", out != NULL ? ", " : "",
		                 date_human(v[i].day, day),
		                 v[i].name != NULL ? v[i].name : "(bank holiday)");
		free(out);
		out = more;
	}
	return out;
}

/* How the due date was counted: the days not counted, holidays one a line. */
static void
print_due_count(FILE *f, const struct trail_step *s)
{
	char day[DATE_HUMAN_LEN], *w;
	size_t shown = 0;

	if (s->by.unit != DUR_WORKING_DAYS) {
		if (s->clamped) {
			int y, m, d;

			date_to_ymd(s->from, &y, &m, &d);
			explain_say(f, 2, 2,
			            "The month it lands in has no day %d: its last day is used.",
			            d);
		}
		explain_say(f, 2, 2, "Calendar %s: weekends and bank holidays count like any day.",
		            s->by.unit == DUR_MONTHS  ? "months"
		            : s->by.unit == DUR_WEEKS ? "weeks"
		                                      : "days");
		return;
	}
	if (s->by.n == 0)
		return;
	explain_say(f, 2, 2, "Working days are counted from the day %s the start.",
	            s->by.n > 0 ? "after" : "before");
	if (s->nskipped == 0) {
		explain_say(f, 2, 2, "No weekend or bank holiday in between.");
		return;
	}
	w = weekend_words(s);
	explain_say(f, 2, 4, "Not counted: %s%s", w != NULL ? w : "no weekend day",
	            s->holidays > 0 ? ";" : ", and no bank holiday.");
	free(w);
	if (s->holidays == 0)
		return;
	explain_say(f, 2, 4, "and %d bank holiday%s:", s->holidays, s->holidays == 1 ? "" : "s");
	for (size_t i = 0; i < s->nskipped; i++) {
		if (s->skipped[i].kind != TRAIL_HOLIDAY)
			continue;
		if (shown++ == HOLIDAYS_SHOWN) {
			explain_say(f, 4, 4, "and %d more", s->holidays - HOLIDAYS_SHOWN);
			break;
		}
		explain_say(f, 4, 6, "%s  %s", date_human(s->skipped[i].day, day),
		            s->skipped[i].name != NULL ? s->skipped[i].name : "(bank holiday)");
	}
}

/* Who the next stage goes to, and who cannot be told. */
void
explain_print_recipients(FILE *f, const struct explain *x, const struct explain_next *n)
{
	static const char *const why[] = {"is empty", "is not an email address",
	                                  "is outside allowed_domains"};

	for (size_t i = 0; i < n->nto; i++) {
		const struct explain_recipient *to = &n->to[i];
		char *copied = to->copied_stage >= 0
		                   ? xasprintf(", copied in as \"%s\" was not sent on its own",
		                               x->r->stages[to->copied_stage].label)
		                   : xstrdup("");

		if (to->address != NULL && to->column != NULL)
			explain_say(f, 2, 4, "%s (the row's %s)%s", to->address, to->column,
			            copied);
		else if (to->address != NULL)
			explain_say(f, 2, 4, "%s (contact %s)%s", to->address,
			            to->contact ? to->contact : "?", copied);
		else
			explain_say(f, 2, 4, "contact %s (%s)%s", to->contact ? to->contact : "?",
			            channel_name(to->kind), copied);
		free(copied);
	}
	for (size_t i = 0; i < n->ndropped; i++) {
		const struct eval_dropped *d = &n->dropped[i];

		explain_say(f, 2, 4, "not told: %s %s%s %s%s%s%s", d->column ? "column" : "contact",
		            d->name, d->column ? "_email" : "", why[d->why],
		            d->why == EVAL_DROP_REFUSED && d->domain != NULL ? " (it is at " : "",
		            d->why == EVAL_DROP_REFUSED && d->domain != NULL ? d->domain : "",
		            d->why == EVAL_DROP_REFUSED && d->domain != NULL ? ")" : "");
	}
}

/* The one-line answer: what happens next. */
static void
print_next_line(FILE *f, const struct explain *x, const struct explain_clock *k)
{
	const struct explain_next *n = &k->next;
	const char *label = n->stage >= 0 ? x->r->stages[n->stage].label : "";
	char w[EXPLAIN_WHEN_LEN], day[DATE_HUMAN_LEN];

	switch (n->kind) {
	case EXPLAIN_NEXT_NOT_YET:
		explain_say(f, 0, 7, "Next:  not yet due; the first stage, \"%s\", goes %s.", label,
		            explain_when(n->at, w));
		break;
	case EXPLAIN_NEXT_STAGE:
		if (n->held)
			explain_say(
			    f, 0, 7,
			    "Next:  \"%s\" (due to go on %s) is held by an agreed action: it goes "
			    "%s "
			    "if still open.",
			    label, date_human(k->trail.stages[n->stage].date, day),
			    explain_when(n->at, w));
		else
			explain_say(f, 0, 7, "Next:  \"%s\" goes %s.", label,
			            explain_when(n->at, w));
		break;
	case EXPLAIN_NEXT_OWED:
		explain_say(f, 0, 7,
		            "Next:  \"%s\" is owed now: the running service sends it at its next "
		            "pass.",
		            label);
		break;
	case EXPLAIN_NEXT_HELD:
		explain_say(
		    f, 0, 7,
		    "Next:  \"%s\" is owed, but held by an agreed action: it goes %s if still "
		    "open.",
		    label, explain_when(n->at, w));
		break;
	case EXPLAIN_NEXT_NOBODY:
		explain_say(
		    f, 0, 7,
		    "Next:  \"%s\" is owed, but nobody can be sent it: it goes once the row is "
		    "corrected (the admin is told).",
		    label);
		break;
	case EXPLAIN_NEXT_DONE:
		if (n->last_sent >= 0)
			explain_say(
			    f, 0, 7,
			    "Next:  nothing more: the last stage, \"%s\", has been alerted.",
			    x->r->stages[n->last_sent].label);
		else
			explain_say(f, 0, 7, "Next:  nothing more: every stage has passed.");
		break;
	}
}

/* The row as the query returned it: the case and start, and the rule's fields only. */
void
explain_print_row(FILE *f, const struct explain *x, const struct explain_clock *k)
{
	const struct rule *r = x->r;
	int keep = r->kind == RULE_THRESHOLD ? r->value_col : r->start_col;
	char *line = xasprintf("%s \"%s\"", r->columns[r->case_ref_col], x->case_ref), *more;

	for (int pass = 0; pass <= (int)r->nfields; pass++) {
		int c = pass == 0 ? keep : r->field_cols[pass - 1];
		char *v;

		if (c < 0 || (pass > 0 && (c == keep || c == r->case_ref_col)))
			continue;
		v = k->cols[c] != NULL ? explain_clean(k->cols[c]) : NULL;
		more = xasprintf("%s, %s %s%s%s", line, r->columns[c], v ? "\"" : "",
		                 v ? v : "NULL", v ? "\"" : "");
		free(v);
		free(line);
		line = more;
	}
	explain_say(f, 0, 2, "The row the rule's query returned:");
	explain_say(f, 2, 4, "%s", line);
	free(line);
	if (r->nfields == 0 && r->ncolumns > 2)
		explain_say(f, 2, 4, "(its other columns are not shown: the rule lists no fields)");
}

/* How one stage stands. */
static void
print_stage(FILE *f, const struct explain *x, const struct explain_clock *k, size_t i)
{
	const struct stage *st = &x->r->stages[i];
	const struct trail_stage *ts = &k->trail.stages[i];
	const struct explain_stage *es = &k->stages[i];
	char off[96], day[DATE_HUMAN_LEN], day2[DATE_HUMAN_LEN], w[EXPLAIN_WHEN_LEN];
	char *we = ts->at.weekend_days > 0
	               ? trail_weekends(ts->at.skipped, ts->at.nskipped, WEEKENDS_SHOWN)
	               : NULL;
	char *hol = holiday_words(ts->at.skipped, ts->at.nskipped);
	const char *later = NULL;

	explain_say(f, 2, 5, "%zu. \"%s\" (%s)", i + 1, st->label, st->name);
	explain_say(f, 5, 7, "%s: %s%s%s%s%s%s%s", trail_offset(&st->at, "due", off, sizeof off),
	            date_human(ts->at.to, day), we || hol ? ", not counting " : "",
	            we ? (strchr(we, ',') != NULL ? "the weekends " : "the weekend ") : "",
	            we ? we : "", we && hol ? " and " : "",
	            hol ? (ts->at.holidays > 1 ? "the bank holidays " : "the bank holiday ") : "",
	            hol ? hol : "");
	free(we);
	free(hol);
	if (ts->nmoved > 0) {
		hol = holiday_words(ts->moved, ts->nmoved);
		explain_say(f, 5, 7, "%s is not a working day%s%s%s: moved to %s.",
		            date_human(ts->at.to, day), hol ? " (" : "", hol ? hol : "",
		            hol ? ")" : "", date_human(ts->date, day2));
		free(hol);
	}
	if (ts->outside)
		explain_say(f, 5, 7,
		            "Warning: this date is outside the years the holiday files cover; bank "
		            "holidays there are not known.");
	explain_say(f, 5, 7, "Fires %s: %s.", explain_when(es->fires, w),
	            es->fires <= x->now ? "reached" : "not reached yet");
	switch (es->state) {
	case EXPLAIN_ALERTED:
		if (es->alert != NULL)
			explain_print_alert(f, 5, es->alert);
		else
			explain_say(f, 5, 7,
			            "Alerted %s (the alert itself was removed by retention).",
			            explain_when_utc(es->record->recorded_at, w));
		break;
	case EXPLAIN_SKIPPED:
		/* The alert recorded with it is the later stage that was due instead. */
		for (size_t a = 0; a < k->mem.nalerts; a++)
			for (size_t r = 0; r < k->mem.nrecords; r++)
				if (k->mem.records[r].alert_id == k->mem.alerts[a].id &&
				    k->mem.records[r].recorded_at != NULL &&
				    es->record->recorded_at != NULL &&
				    strcmp(k->mem.records[r].recorded_at,
				           es->record->recorded_at) == 0)
					later = k->mem.alerts[a].label;
		explain_say(
		    f, 5, 7,
		    "Skipped, recorded %s: a later stage was already due when escalator first saw "
		    "this clock; its recipients were told with %s%s%s instead.",
		    explain_when_utc(es->record->recorded_at, w), later ? "\"" : "",
		    later ? later : "that stage's alert", later ? "\"" : "");
		break;
	case EXPLAIN_OWED:
		explain_say(f, 5, 7,
		            "Owed now, not yet recorded: the service's next pass sends it.");
		break;
	case EXPLAIN_HELD:
		explain_say(f, 5, 7, "Owed, but held by an agreed action until %s.",
		            date_human(es->held_until, day));
		break;
	case EXPLAIN_PASSED:
		explain_say(
		    f, 5, 7,
		    "Not sent on its own: a later stage goes instead, and its recipients are "
		    "copied in on it.");
		break;
	case EXPLAIN_NOT_REACHED:
		if (es->held)
			explain_say(f, 5, 7, "Held by an agreed action: it waits until %s.",
			            date_human(es->held_until, day));
		break;
	}
}

/* One clock, most important first. */
static void
print_clock(FILE *f, const struct explain *x, const struct explain_clock *k)
{
	const struct rule *r = x->r;
	char day[DATE_HUMAN_LEN], day2[DATE_HUMAN_LEN], dur[48], t[32];

	if (k->bad_start) {
		explain_say(
		    f, 0, 2,
		    "The row's %s is not a date (expected YYYY-MM-DD): the service skips it and "
		    "tells the admin.",
		    r->columns[r->start_col]);
		explain_print_row(f, x, k);
		return;
	}
	explain_say(f, 0, 7, "Clock started %s: due %s, %s.", date_human(k->start, day),
	            date_human(k->ev.due, day2), k->status);
	print_next_line(f, x, k);
	if (k->mem.closed && k->mem.reopened_on == NULL)
		explain_say(
		    f, 0, 7,
		    "Note:  it was recorded as done on %s, but its row is back in the case store: "
		    "the service opens it again.",
		    explain_day(k->mem.closed_on, day));
	fprintf(f, "\n");
	explain_print_row(f, x, k);

	fprintf(f, "\n");
	explain_say(f, 0, 2, "Due date: %s + %s = %s", date_human(k->start, day),
	            duration_format(&r->due, dur, sizeof dur), date_human(k->ev.due, day2));
	print_due_count(f, &k->trail.due);
	if (k->trail.due_outside)
		explain_say(
		    f, 2, 4,
		    "Warning: this count runs outside %d-%d, the years the holiday files cover: "
		    "bank holidays there are not known, only weekends were skipped.",
		    calendar_first_year(x->cal), calendar_last_year(x->cal));

	fprintf(f, "\n");
	explain_say(f, 0, 2,
	            "Stages (each goes out at %s on its day%s):", clock_text(x->send_time, t),
	            r->working_days_only ? ", a working day" : ", weekends and holidays included");
	for (size_t i = 0; i < r->nstages; i++)
		print_stage(f, x, k, i);
	if (r->hold)
		explain_say(
		    f, 2, 3,
		    "(An \"action agreed\" answer holds the later stages until the working day "
		    "after the agreed date, at most %s after each stage's date.)",
		    duration_format(&r->max_hold, dur, sizeof dur));
	/* Alerts of stages renamed or removed since: they no longer count, but they were sent. */
	for (size_t a = 0; a < k->mem.nalerts; a++) {
		const struct explain_alert *al = &k->mem.alerts[a];

		if (al->stage != NULL && rule_stage_recorded(r, al->stage) >= 0)
			continue;
		explain_say(
		    f, 2, 5,
		    "Also recorded, for a stage the rule no longer has (\"%s\": removed, or "
		    "renamed without renamed_from; it no longer counts):",
		    al->stage != NULL ? al->stage : "?");
		explain_print_alert(f, 5, al);
	}
	fprintf(f, "\n");
	explain_print_answers(f, 0, &k->mem);
	if (k->next.stage >= 0 && (k->next.nto > 0 || k->next.ndropped > 0)) {
		fprintf(f, "\n");
		explain_say(f, 0, 2, "\"%s\" goes to:", r->stages[k->next.stage].label);
		explain_print_recipients(f, x, &k->next);
	}
}

/* Print x for people. */
void
explain_text(FILE *f, const struct explain *x)
{
	const struct rule *r = x->r;
	char w[EXPLAIN_WHEN_LEN];

	explain_say(f, 0, 7, "Rule:  %s \"%s\"", r->id, r->title);
	explain_say(f, 7, 7, "%s, line %d", r->file, r->line);
	if (r->kind == RULE_THRESHOLD)
		explain_say(f, 7, 7, "a threshold rule: it alerts when a key's value goes %s %.15g",
		            r->below ? "below" : "above", r->limit);
	explain_say(f, 0, 7, "%s %s", r->kind == RULE_THRESHOLD ? "Key:  " : "Case: ", x->case_ref);
	explain_say(f, 0, 7, "As of: %s", explain_when(x->now, w));
	if (x->state_missing)
		explain_say(f, 0, 0,
		            "(There is no state file yet: the service has recorded nothing.)");

	if (x->nclocks == 0) {
		fprintf(f, "\n");
		explain_say(
		    f, 0, 0,
		    "No row of this rule has %s \"%s\" now: the rule's query does not return it. "
		    "That is so when it is not open for this rule (never was, or is done), or when "
		    "the reference is spelt differently (it must match exactly).",
		    r->kind == RULE_THRESHOLD ? "key" : "case", x->case_ref);
	}
	for (size_t i = 0; i < x->nclocks; i++) {
		fprintf(f, "\n");
		if (x->nclocks > 1)
			explain_say(f, 0, 0, "=== Clock %zu of %zu ===", i + 1, x->nclocks);
		if (r->kind == RULE_THRESHOLD)
			explain_print_threshold(f, x, &x->clocks[i]);
		else
			print_clock(f, x, &x->clocks[i]);
	}
	if (x->ngone > 0) {
		fprintf(f, "\n");
		explain_say(f, 0, 0, "%s:",
		            x->nclocks > 0
		                ? "The state store also remembers (no row in the case store now)"
		                : "What the state store remembers of it");
		for (size_t i = 0; i < x->ngone; i++)
			explain_print_memory(f, x, &x->gone[i]);
	} else if (x->nclocks == 0) {
		explain_say(f, 0, 0,
		            "The state store has nothing recorded for it under this rule.");
	}
}
