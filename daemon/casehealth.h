/* casehealth.h - is the case store readable? Since when not, and when to tell the admin. */
#ifndef ESCALATOR_CASEHEALTH_H
#define ESCALATOR_CASEHEALTH_H

#include <stdbool.h>
#include <time.h>

enum casehealth_stage {
	CASEHEALTH_UNREADABLE, /* it has been unreadable for store_alert_after seconds */
	CASEHEALTH_READABLE,   /* it is readable again after the admin was told */
};

/*
 * Told when the admin should hear about the case store: the stage, since when
 * it has been unreadable, a subject and a plain-text body.
 */
typedef void (*casehealth_alert_fn)(void *arg, enum casehealth_stage stage, time_t since,
                                    const char *subject, const char *body);

struct casehealth;

/* Health of the case store at path; fn (may be NULL) is told when the admin should hear. */
struct casehealth *casehealth_new(casehealth_alert_fn fn, void *arg);
void casehealth_free(struct casehealth *h);

/*
 * The case store at path could not be read (first found so at since) for
 * reason. Logs the first failure; tells fn once the outage has lasted
 * alert_after seconds at now.
 */
void casehealth_bad(struct casehealth *h, const char *path, int alert_after, time_t since,
                    time_t now, const char *reason);
/* The case store at path was read at now: logs a recovery and tells fn if it had been told. */
void casehealth_ok(struct casehealth *h, const char *path, time_t now);
/* Is the case store failing (unreadable since some time)? */
bool casehealth_failing(const struct casehealth *h);
/* Since when it has been failing, 0 if it is not. */
time_t casehealth_since(const struct casehealth *h);

#endif
