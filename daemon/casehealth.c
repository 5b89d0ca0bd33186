/* casehealth.c - is the case store readable? Since when not, and when to tell the admin. */
#include "casehealth.h"

#include <stdlib.h>

#include "log.h"
#include "xalloc.h"

struct casehealth {
	casehealth_alert_fn fn;
	void *arg;
	time_t bad_since; /* 0: readable */
	bool alerted;     /* the admin was told about this outage */
};

/* Health of the case store, readable until told otherwise. */
struct casehealth *
casehealth_new(casehealth_alert_fn fn, void *arg)
{
	struct casehealth *h = xcalloc(1, sizeof *h);

	h->fn = fn;
	h->arg = arg;
	return h;
}

/* Free h. */
void
casehealth_free(struct casehealth *h)
{
	free(h);
}

/* The case store could not be read: remember since when, tell the admin once it lasts. */
void
casehealth_bad(struct casehealth *h, const char *path, int alert_after, time_t since, time_t now,
               const char *reason)
{
	char *text;

	if (h->bad_since == 0) {
		h->bad_since = since;
		log_err("case store %s cannot be read: %s; no alerts are evaluated until it can "
		        "(deliveries already owed continue)",
		        path, reason);
	}
	if (h->alerted || now - h->bad_since < alert_after)
		return;
	h->alerted = true;
	text = xasprintf("escalator has not been able to read the case store %s for %lld "
	                 "minutes.\n\nReason: %s\n\nUntil it can, no new alerts are worked out: "
	                 "statutory timescales are not being watched. Check the nightly extract "
	                 "and the file's permissions; escalator recovers by itself when the file "
	                 "is readable again.\n",
	                 path, (long long)(now - h->bad_since) / 60, reason);
	if (h->fn != NULL)
		h->fn(h->arg, CASEHEALTH_UNREADABLE, h->bad_since,
		      "escalator cannot read the case store: alerts are on hold", text);
	free(text);
}

/* The case store is readable (again). */
void
casehealth_ok(struct casehealth *h, const char *path, time_t now)
{
	char *text;

	if (h->bad_since == 0)
		return;
	log_notice("case store %s can be read again after %llds", path,
	           (long long)(now - h->bad_since));
	if (h->alerted) {
		text = xasprintf("escalator can read the case store %s again; alerts are being "
		                 "worked out as normal.\n",
		                 path);
		if (h->fn != NULL)
			h->fn(h->arg, CASEHEALTH_READABLE, h->bad_since,
			      "escalator can read the case store again", text);
		free(text);
	}
	h->bad_since = 0;
	h->alerted = false;
}

/* Is the case store failing? */
bool
casehealth_failing(const struct casehealth *h)
{
	return h->bad_since != 0;
}

/* Since when it has been failing, 0 if it is not. */
time_t
casehealth_since(const struct casehealth *h)
{
	return h->bad_since;
}
