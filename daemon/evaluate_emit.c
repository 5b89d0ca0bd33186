/*
 * evaluate_emit.c - one alert owed, for the current row: who is told (and
 * who is copied in because their stage was skipped), held for a digest or
 * sent at once, its text and link, recorded with its deliveries.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "evaluate_impl.h"
#include "evaluate_notice.h"
#include "log.h"
#include "utf8.h"

/* The rule's fields of this row as a JSON object, or NULL if it has none. */
static char *
evaluate_fields(const struct rule *r, const char *const *cols)
{
	json_t *o;
	char *text;

	if (r->nfields == 0)
		return NULL;
	o = json_object();
	for (size_t i = 0; i < r->nfields; i++) {
		const char *v = cols[r->field_cols[i]];
		char *clean = v ? utf8_sanitize(v) : NULL;

		json_object_set_new(o, r->fields[i], clean ? json_string(clean) : json_null());
		free(clean);
	}
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		fatalx("cannot encode an alert's fields as JSON");
	return text;
}

/*
 * The link to the case for alert a: er's case_url rendered with every value
 * percent-encoded (a case reference "A/1 2" is one path segment), kept only
 * if the result is still an http(s) URL. NULL when there is none. Allocated.
 */
static char *
evaluate_case_url(struct evaluate_rule *er)
{
	size_t n = TPL_NBUILTIN + er->r->ncolumns;
	const char **enc;
	char *url;

	if (er->case_url == NULL)
		return NULL;
	enc = xcalloc(n, sizeof *enc);
	for (size_t i = 0; i < n; i++)
		if (er->values[i] != NULL &&
		    (enc[i] = curl_easy_escape(NULL, er->values[i], 0)) == NULL)
			fatalx("out of memory");
	url = template_render(er->case_url, enc);
	for (size_t i = 0; i < n; i++)
		curl_free((char *)enc[i]);
	free(enc);
	if (!addr_valid_url(url)) {
		free(url);
		return NULL;
	}
	return url;
}

/*
 * Render the subject, body, what is expected, the status and the link to the
 * case of alert a for one row (the values point into this frame: render here).
 */
static void
evaluate_render(struct evaluate_rule *er, struct alert *a, localtime_min_t now, char **subject,
                char **body, char **expected, char *status, char **case_url)
{
	const struct rule *r = er->r;
	const struct stage *st = &r->stages[a->stage];
	char start[DATE_STRLEN], due[DATE_STRLEN], fires[DATETIME_STRLEN], late[16];
	const char **v = er->values;

	v[TPL_RULE] = r->id;
	v[TPL_TITLE] = r->title;
	v[TPL_CASE] = a->case_ref;
	v[TPL_STAGE] = st->name;
	v[TPL_START] = date_format(a->start, start);
	v[TPL_DUE] = date_format(a->due, due);
	v[TPL_FIRES] = localtime_format(a->fires, fires);
	snprintf(late, sizeof late, "%d", a->days_late);
	v[TPL_DAYS_LATE] = late;
	if (r->kind == RULE_THRESHOLD)
		snprintf(status, EVAL_STATUS_LEN, "%s the limit of %.15g",
		         r->below ? "below" : "above", r->limit);
	else
		eval_status(er->cal, a->due, (date_t)(now / 1440), status, EVAL_STATUS_LEN);
	v[TPL_STATUS] = status;
	v[TPL_LABEL] = st->label;
	v[TPL_EXPECTED] = "";
	for (size_t i = 0; i < r->ncolumns; i++)
		v[TPL_NBUILTIN + i] = er->cols[i];
	*expected = template_render(st->expected ? st->expected : r->expected, v);
	v[TPL_EXPECTED] = *expected;
	*subject = template_render(r->subject, v);
	*body = template_render(r->body, v);
	*case_url = evaluate_case_url(er);
}

/*
 * The line told in order: the recipients of each stage of alert a skipped
 * now (escalator first saw the clock after it), less those told anyway, into
 * er->copies. Their addresses are checked as the stage's own are; a dropped
 * one is only logged (the admin hears of the stage's own recipients).
 */
static void
evaluate_copies(struct evaluate_rule *er, struct alert *a, const struct eval_domains *allowed,
                const char *qcase)
{
	const struct rule *r = er->r;
	size_t n = 0, got, ndropped;
	struct diag d;

	a->ncopied = 0;
	if (r->kind != RULE_CLOCK)
		return;
	diag_init(&d);
	/* The latest skipped stage first: "not told at Overdue" says more than "at Reminder". */
	for (int j = a->stage - 1; j >= 0; j--) {
		if (er->recorded[j])
			continue;
		ndropped = 0;
		got = eval_recipients(r, &r->stages[j], er->cols, qcase, allowed, er->scratch,
		                      er->scratch_dropped, &ndropped, &d);
		for (size_t i = 0; i < got; i++) {
			if (eval_recipient_in(a->recipients, a->nrecipients, &er->scratch[i]) ||
			    eval_recipient_in(er->copies, n, &er->scratch[i]))
				continue;
			er->copies[n] = er->scratch[i];
			er->copy_stage[n] = j;
			er->copy_on[n] = eval_stage_date(r, er->cal, a->due, (size_t)j);
			er->copy_held[n] = !r->stages[a->stage].immediate && er->cfg != NULL &&
			                   config_digest_for(er->cfg, er->scratch[i].contact);
			n++;
		}
	}
	log_diag(&d);
	diag_free(&d);
	a->copied = er->copies;
	a->copied_stage = er->copy_stage;
	a->copied_on = er->copy_on;
	a->copied_held = er->copy_held;
	a->ncopied = n;
}

/*
 * Resolve recipients, render and record alert a (its stage, case, dates set)
 * for the current row of st, then tell fn. A recipient dropped for a bad or
 * refused address is reported to the admin; an alert left with nobody is not
 * recorded at all, so that it is sent once the row is corrected. Returns 0
 * when recorded, 1 when nobody could be sent it (not recorded), or -1 on a
 * state store failure.
 */
int
evaluate_emit(struct statestore *ss, struct evaluate_rule *er, struct casestore_rows *st,
              struct alert *a, localtime_min_t now, const char *value, evaluate_alert_fn fn,
              void *arg, struct evaluate_stats *stats, char **cause)
{
	const struct rule *r = er->r;
	char *subject, *body, *expected, *fields, *case_url, *qcase, status[EVAL_STATUS_LEN];
	struct eval_domains allowed = {NULL, 0};
	long long alert_id;
	size_t ndropped = 0;
	bool tell = false;
	struct diag d;
	int ret = 0;

	for (size_t i = 0; i < r->ncolumns; i++)
		er->cols[i] = casestore_rows_text(st, i);
	a->case_ref = er->cols[r->case_ref_col];
	a->rule = r;
	a->digest_at = er->digest_at;
	if (er->cfg != NULL && er->cfg->allowed_domains != NULL) {
		allowed.v = (const char *const *)er->cfg->allowed_domains;
		allowed.n = er->cfg->nallowed_domains;
	}
	diag_init(&d);
	a->recipients = er->rcpt;
	/* The case reference in eval_recipients' warnings: quoted, like every log line's. */
	qcase = log_quote(a->case_ref);
	a->nrecipients = eval_recipients(r, &r->stages[a->stage], er->cols, qcase, &allowed,
	                                 er->rcpt, er->dropped, &ndropped, &d);
	log_diag(&d);
	diag_free(&d);
	/* An empty column beside others who are told is normal; a bad address is not. */
	for (size_t i = 0; i < ndropped; i++)
		if (a->nrecipients == 0 || er->dropped[i].why != EVAL_DROP_MISSING)
			tell = true;
	if (a->nrecipients == 0) {
		log_warn("rule=%s case=%s stage=%s: nobody could be sent this alert; it is not "
		         "recorded as alerted (it is sent once the addresses are corrected) and "
		         "the admin is told",
		         r->id, qcase, r->stages[a->stage].name);
		free(qcase);
		if (statestore_records(ss) && er->cfg != NULL &&
		    evaluate_notice_dropped(ss, er->cfg, r, a, er->dropped, ndropped, cause) != 0)
			return -1;
		return 1;
	}
	evaluate_copies(er, a, &allowed, qcase);
	free(qcase);
	if (tell && statestore_records(ss) && er->cfg != NULL &&
	    evaluate_notice_dropped(ss, er->cfg, r, a, er->dropped, ndropped, cause) != 0)
		return -1;
	for (size_t i = 0; i < a->nrecipients; i++)
		er->held[i] = !r->stages[a->stage].immediate && er->cfg != NULL &&
		              config_digest_for(er->cfg, a->recipients[i].contact);
	a->held = er->held;
	a->label = r->stages[a->stage].label;
	a->urgency = eval_urgency(r, er->cal, a->due, (size_t)a->stage);
	er->values[TPL_VALUE] = value;
	subject = body = expected = fields = case_url = NULL;
	/* A dry run records nothing, so it needs no message text. */
	if (statestore_records(ss)) {
		evaluate_render(er, a, now, &subject, &body, &expected, status, &case_url);
		a->fields = fields = evaluate_fields(r, er->cols);
		a->status = status;
		a->case_url = case_url;
	}
	a->subject = subject;
	a->body = body;
	a->expected = expected;
	if (alertstore_record(ss, a, er->recorded, &alert_id, cause) != 0) {
		ret = -1;
	} else {
		stats->alerts++;
		if (fn != NULL)
			fn(arg, a, alert_id);
	}
	free(subject);
	free(body);
	free(expected);
	free(fields);
	free(case_url);
	return ret;
}
