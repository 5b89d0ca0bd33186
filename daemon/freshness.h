/*
 * freshness.h - is the case store's data recent? A nightly extract that
 * silently stops arriving leaves escalator alerting from old data: reviews
 * already held still look overdue, children new to care are not watched.
 * max_store_age says how old the data may be; its age is the file's last
 * change (or its -wal file's), or the time freshness_query returns. The pure
 * parts (parsing, the alarm's transitions, the admin's message) are here;
 * freshness_watch.c runs them in the service, status.c reads them back.
 */
#ifndef ESCALATOR_FRESHNESS_H
#define ESCALATOR_FRESHNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "casestore.h"

/* The state store's meta key holding the alarm (freshness_state_json). */
#define FRESHNESS_META "store_stale"

/* max_store_age: at least a minute, at most a year. */
#define FRESHNESS_AGE_MIN 60LL
#define FRESHNESS_AGE_MAX (366LL * 86400)

/*
 * Parse max_store_age: "<n> <unit>", unit minute(s), hour(s), day(s) or
 * week(s), into seconds (FRESHNESS_AGE_MIN..FRESHNESS_AGE_MAX). Returns 0, or
 * -1 with *cause (allocated) saying what was expected, with a "did you mean"
 * for a misspelt unit.
 */
int freshness_parse_age(const char *s, long long *seconds, char **cause);

/*
 * Parse a time freshness_query returned: unix seconds ("1766282400"),
 * "YYYY-MM-DD HH:MM[:SS[.fff]]", ISO 8601 "YYYY-MM-DDTHH:MM[:SS[.fff]]" with
 * an optional "Z", "+HH:MM" or "+HHMM", or "YYYY-MM-DD" (its midnight).
 * Without a zone it is local time in the configured time zone, as :now is.
 * Returns 0, or -1 when s is none of these.
 */
int freshness_parse_time(const char *s, time_t *out);

/* How old the case store's data is, as measured once. */
struct freshness_reading {
	bool known;       /* data_time is known */
	bool from_query;  /* from freshness_query, else the file's last change */
	time_t data_time; /* when the data is from */
	char *why;        /* !known: why not (allocated, one line) */
};

/*
 * Measure the case store at path: with query (may be NULL), the one value
 * its first row returns, run through cs (which must be open); else the
 * newest modification time of the file and its -wal file. Never fails: an
 * unusable value gives !known with why set.
 */
void freshness_measure(const char *path, const char *query, struct casestore *cs,
                       struct freshness_reading *r);
void freshness_reading_clear(struct freshness_reading *r);

/* The alarm, as the service keeps it (and records it in meta FRESHNESS_META). */
struct freshness_state {
	bool stale;           /* raised */
	time_t since;         /* when it was last raised (stale) or cleared; 0: never */
	time_t data_time;     /* the data's time then; 0: unknown */
	time_t told;          /* when the admin was told of that change; 0: not told */
	char *admin;          /* the contact told, or NULL */
	time_t unknown_since; /* in memory only: the age has been unknown since, 0: known */
};

enum freshness_event {
	FRESHNESS_SAME,  /* nothing to tell */
	FRESHNESS_STALE, /* the data is now older than max_store_age (or its age unknown as long) */
	FRESHNESS_FRESH, /* new data after the alarm was raised */
};

/*
 * One reading r at now against max_age (seconds): update st and say whether
 * the admin should hear. Data older than max_age raises the alarm once; data
 * within it clears a raised alarm once. An unknown age changes nothing
 * (unknown is not fresh) until it has been unknown for max_age: then it
 * raises the alarm too. A time in the future counts as age 0.
 */
enum freshness_event freshness_judge(struct freshness_state *st, const struct freshness_reading *r,
                                     long long max_age, time_t now);

/* The age of r's data at now in seconds, or -1 when unknown. */
long long freshness_age(const struct freshness_reading *r, time_t now);

/* st as the meta value (JSON text, allocated): stale, since, data_time, told, admin. */
char *freshness_state_json(const struct freshness_state *st);
/* Fill st from that JSON value (NULL: nothing recorded: not stale). 0, or -1 if it is not one. */
int freshness_state_load(const json_t *j, struct freshness_state *st);
void freshness_state_clear(struct freshness_state *st);

/*
 * The admin's message about ev (STALE or FRESH) for the case store at path,
 * st as freshness_judge left it, r the reading, max_store_age as written
 * ("26 hours"), at now. Allocated subject (one line) and body.
 */
void freshness_message(enum freshness_event ev, const struct freshness_state *st,
                       const struct freshness_reading *r, const char *path,
                       const char *max_age_text, time_t now, char **subject, char **body);

/* "2 days 6 hours", "5 minutes", "40 seconds": a span for people (two units at most). */
char *freshness_span(long long seconds, char *buf, size_t len);
/* "Mon 21 Dec 2026 02:10": a local time for people. */
char *freshness_when(time_t t, char *buf, size_t len);

#endif
