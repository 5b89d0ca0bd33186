/* evaluate_notice.c - what a pass tells the admin: recipients dropped, queries stopped. */
#include "evaluate_notice.h"

#include <stdlib.h>
#include <string.h>

#include "notice.h"
#include "xalloc.h"

/* Append to b (allocated, grown) a row value for the admin: at most 64 printable ASCII bytes. */
static void
evaluate_append_clean(char **b, const char *v)
{
	char clean[65];
	size_t n = 0, vl = strlen(v);

	notice_put(clean, sizeof clean, &n, v, vl < 64 ? vl : 64);
	*b = xasprintf("%s\"%s\"%s", *b, clean, vl > 64 ? " (cut)" : "");
}

/*
 * Tell the admin about the recipients alert a lost (all of them when none is
 * left): what was wrong with each, never an address in full. Once per
 * clock stage (key rule/case/stage, day the clock's start). Returns 0 or -1.
 */
int
evaluate_notice_dropped(struct statestore *ss, const struct config *cfg, const struct rule *r,
                        const struct alert *a, const struct eval_dropped *dropped, size_t ndropped,
                        char **cause)
{
	const char *stage = r->stages[a->stage].name;
	char due[DATE_STRLEN], start[DATE_STRLEN];
	char *key, *subject, *body, *list = xstrdup(""), *old;
	struct notice n;
	int rc;

	for (size_t i = 0; i < ndropped; i++) {
		const struct eval_dropped *x = &dropped[i];

		old = list;
		list = xasprintf("%s- %s %s%s: ", old, x->column ? "column" : "contact", x->name,
		                 x->column ? "_email" : "");
		free(old);
		old = list;
		switch (x->why) {
		case EVAL_DROP_MISSING:
			list = xasprintf("%sempty (no address in the case store)\n", old);
			break;
		case EVAL_DROP_INVALID:
			if (x->domain == NULL) {
				list = xasprintf("%snot an email address (no @ in it)\n", old);
				break;
			}
			list = xasprintf("%snot an email address escalator will send to (after "
			                 "its @: ",
			                 old);
			free(old);
			old = list;
			evaluate_append_clean(&list, x->domain);
			free(old);
			old = list;
			list = xasprintf("%s)\n", old);
			break;
		case EVAL_DROP_REFUSED:
			list =
			    xasprintf("%sat %s, which is not in allowed_domains\n", old, x->domain);
			break;
		}
		free(old);
	}
	key = xasprintf("%s/%s/%s", r->id, a->case_ref, stage);
	if (a->nrecipients == 0)
		subject = xasprintf("Undeliverable: %s case %s stage %s: nobody could be sent it",
		                    r->id, a->case_ref, stage);
	else
		subject =
		    xasprintf("Recipients refused: %s case %s stage %s", r->id, a->case_ref, stage);
	body = xasprintf(
	    "%s\n\nRule: %s (%s)\nCase: %s\nStage: %s\nStarted: %s\nDue: %s\n\n"
	    "What was wrong with each recipient:\n%s\n%s",
	    a->nrecipients == 0
	        ? "escalator could not send this alert to anyone it names. It is not marked "
	          "as delivered: once the addresses are corrected, it is sent at the next "
	          "evaluation."
	        : "escalator sent this alert to the other recipients, but not to these.",
	    r->id, r->title, a->case_ref, stage, date_format(a->start, start),
	    date_format(a->due, due), list,
	    "Correct the addresses in the case store, or, if a domain should receive "
	    "alerts, add it to allowed_domains in the configuration.\n");
	memset(&n, 0, sizeof n);
	n.kind = NOTICE_UNDELIVERABLE;
	n.title = "an alert could not be sent to the people it names";
	n.key = key;
	n.day = a->start;
	n.subject = subject;
	n.body = body;
	n.digest_at = a->digest_at; /* with the pass's own digests */
	rc = notice_admin(ss, cfg, &n, cause) < 0 ? -1 : 0;
	free(key);
	free(subject);
	free(body);
	free(list);
	return rc;
}

/*
 * Tell the admin notice kind (title) about rule r, once a day (day), in the
 * digest at digest_at (0: the next digest time); subject and body are freed.
 * Returns notice_admin's answer, -1 on a state store failure.
 */
static int
evaluate_notice_rule(struct statestore *ss, const struct config *cfg, const char *kind,
                     const char *title, const struct rule *r, date_t day, long long digest_at,
                     char *subject, char *body, char **cause)
{
	struct notice n;
	int rc;

	memset(&n, 0, sizeof n);
	n.kind = kind;
	n.title = title;
	n.key = r->id;
	n.day = day;
	n.subject = subject;
	n.body = body;
	n.digest_at = digest_at;
	rc = notice_admin(ss, cfg, &n, cause);
	free(subject);
	free(body);
	return rc < 0 ? -1 : rc;
}

/* Tell the admin (once a day) that rule r's query was stopped. */
int
evaluate_notice_timeout(struct statestore *ss, const struct config *cfg, const struct rule *r,
                        date_t day, char **cause)
{
	char *subject, *body;

	subject = xasprintf("escalator: rule %s was stopped: its query ran longer than "
	                    "query_timeout (%d s)",
	                    r->id, cfg->query_timeout);
	body = xasprintf("The query of rule %s (%s) ran longer than query_timeout (%d s) and was "
	                 "stopped, so the rule was skipped in this evaluation; every other rule "
	                 "ran. It will be tried again at each evaluation and fail the same way "
	                 "until the query is made faster (an index, a narrower WHERE, a recursive "
	                 "query that ends) or query_timeout is raised in %s.\n",
	                 r->id, r->title, cfg->query_timeout, cfg->path);
	return evaluate_notice_rule(ss, cfg, NOTICE_RULE_FAILED, "a rule query was stopped", r, day,
	                            0, subject, body, cause);
}

/* Note one row skipped for bad data. */
void
evaluate_bad_row(struct evaluate_bad_rows *b, const char *ref)
{
	b->count++;
	if (b->nrefs < EVALUATE_BAD_REFS)
		b->refs[b->nrefs++] = xstrdup(ref != NULL && *ref != '\0' ? ref : "(empty)");
}

/* Forget the rows noted. */
void
evaluate_bad_clear(struct evaluate_bad_rows *b)
{
	for (size_t i = 0; i < b->nrefs; i++)
		free(b->refs[i]);
	memset(b, 0, sizeof *b);
}

/* Tell the admin that rule r skipped rows for bad data. */
int
evaluate_notice_bad_rows(struct statestore *ss, const struct config *cfg, const struct rule *r,
                         const struct evaluate_bad_rows *b, date_t day, long long digest_at,
                         char **cause)
{
	char refs[1024];
	size_t n = 0;
	char *subject, *body;

	refs[0] = '\0';
	for (size_t i = 0; i < b->nrefs; i++) {
		/* Case references come from the extract: printable ASCII only, each cut short. */
		size_t len = strlen(b->refs[i]);

		if ((i > 0 && !notice_put(refs, sizeof refs, &n, ", ", 2)) ||
		    !notice_put(refs, sizeof refs, &n, b->refs[i], len > 40 ? 40 : len))
			break;
	}
	subject = xasprintf("escalator: rule %s skipped %lld row%s with bad data", r->id, b->count,
	                    b->count == 1 ? "" : "s");
	body = xasprintf("Rule %s (%s) skipped %lld row%s of the case store because the case "
	                 "reference was empty or the start was not a date (YYYY-MM-DD); nobody "
	                 "is chased for those clocks until the rows are corrected.\n\n"
	                 "Case references%s: %s\n\n"
	                 "The journal has one line per row (journalctl -u escalatord "
	                 "--grep 'rule=%s'). Ask whoever runs the nightly extract to correct "
	                 "them.\n",
	                 r->id, r->title, b->count, b->count == 1 ? "" : "s",
	                 b->count > (long long)b->nrefs ? " (the first few)" : "", refs, r->id);
	return evaluate_notice_rule(ss, cfg, NOTICE_BAD_ROWS, "rows skipped for bad data", r, day,
	                            digest_at, subject, body, cause);
}
