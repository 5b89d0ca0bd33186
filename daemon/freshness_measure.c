/* freshness_measure.c - how old the case store's data is: the file's time, or freshness_query's. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "casestore.h"
#include "freshness.h"
#include "xalloc.h"

/* A freshness_query value shown in a message: at most this many bytes of it. */
#define FRESHNESS_VALUE_SHOWN 40

/* A value from the case store fit for a message: printable ASCII, cut short. */
static char *
freshness_shown(const char *v)
{
	size_t n = strlen(v);
	char *s = xstrndup(v, n > FRESHNESS_VALUE_SHOWN ? FRESHNESS_VALUE_SHOWN : n);

	for (char *c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
			*c = '?';
	return s;
}

/* The value of freshness_query's first row, as a time, into r. */
static void
freshness_measure_query(const char *query, struct casestore *cs, struct freshness_reading *r)
{
	struct casestore_rows *q;
	char *cause = NULL, *shown;
	const char *text;
	double v;
	int rc;

	r->from_query = true;
	if ((q = casestore_query(cs, query, &cause)) == NULL) {
		r->why = xasprintf("freshness_query failed: %s", cause);
		free(cause);
		return;
	}
	rc = casestore_rows_next(q, &cause);
	if (rc == 0)
		r->why = xstrdup("freshness_query returned no row");
	else if (rc == -2)
		r->why = xstrdup("freshness_query was stopped");
	else if (rc < 0)
		r->why = xasprintf("freshness_query failed: %s", cause);
	else if (casestore_rows_number(q, 0, &v)) {
		/* Unix seconds (an integer or a real from strftime('%s', ...) arithmetic). */
		if (isfinite(v) && v >= 0 && v < 253402300800.0) {
			r->known = true;
			r->data_time = (time_t)v;
		} else
			r->why =
			    xasprintf("freshness_query returned %g, not a time in unix seconds", v);
	} else if ((text = casestore_rows_text(q, 0)) == NULL)
		r->why = xstrdup("freshness_query returned NULL (no extract recorded?)");
	else if (freshness_parse_time(text, &r->data_time) == 0)
		r->known = true;
	else {
		shown = freshness_shown(text);
		r->why = xasprintf("freshness_query returned \"%s\", not a time; expected "
		                   "\"YYYY-MM-DD HH:MM:SS\", ISO 8601 or unix seconds",
		                   shown);
		free(shown);
	}
	free(cause);
	casestore_rows_free(q);
}

/* Measure the case store's data's age. */
void
freshness_measure(const char *path, const char *query, struct casestore *cs,
                  struct freshness_reading *r)
{
	struct stat sb;
	char *wal;

	memset(r, 0, sizeof *r);
	if (query != NULL) {
		if (cs == NULL)
			r->why = xstrdup("the case store is not open");
		else
			freshness_measure_query(query, cs, r);
		return;
	}
	if (casestore_is_url(path)) {
		r->why = xstrdup("on PostgreSQL the data's age is read with freshness_query, and "
		                 "none is set");
		return;
	}
	if (stat(path, &sb) != 0) {
		r->why = xasprintf("cannot read %s: %s", path, strerror(errno));
		return;
	}
	r->known = true;
	r->data_time = sb.st_mtime;
	/* A WAL-mode extract commits into the -wal file: the main file changes at checkpoints. */
	wal = xasprintf("%s-wal", path);
	if (stat(wal, &sb) == 0 && sb.st_size > 0 && sb.st_mtime > r->data_time)
		r->data_time = sb.st_mtime;
	free(wal);
}
