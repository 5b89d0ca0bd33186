/*
 * status.h - escalatord status: what status.c gathers (one JSON document)
 * and how status_text.c shows it to people.
 */
#ifndef ESCALATOR_STATUS_H
#define ESCALATOR_STATUS_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* Exit status when something needs the admin's attention (a problem). */
#define STATUS_EXIT_ATTENTION 1

/* Problems, most important first. */
enum {
	STATUS_PRI_STATE,  /* the state store cannot be read, or the service never ran */
	STATUS_PRI_CASES,  /* the case store cannot be read */
	STATUS_PRI_STALE,  /* its data is older than max_store_age, or its age unknown */
	STATUS_PRI_RULES,  /* rules failed in the last pass */
	STATUS_PRI_QUIET,  /* no pass for a day */
	STATUS_PRI_FAILED, /* deliveries failed for good in the last 7 days */
	STATUS_PRI_STUCK,  /* a message has waited over an hour */
	STATUS_NPRIORITIES
};

/*
 * What the service loaded (l: the state store's meta "loaded" value) against
 * the files on disk now: the document's "loaded" object. *edited counts the
 * files edited or gone since, *added the rule files new since
 * (status_files.c).
 */
json_t *status_files(const json_t *l, const char *rules_dir, time_t now, size_t *edited,
                     size_t *added);
/* The document as text for people, problems first (status_text.c). */
void status_print(FILE *f, const json_t *doc);

#endif
