/* caserows.c - a rule query's rows from the case store, read within the time limits of a pass. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "casestore_impl.h"
#include "clock.h"
#include "xalloc.h"

/* One rule query's rows, read in a pass. */
struct casestore_rows {
	struct casestore *cs;
	struct casestore_pgrows *pg; /* on PostgreSQL: its rows (st is then NULL) */
	sqlite3_stmt *st;
	char **cut;        /* per column: the current row's value, cut (casestore_rows_text) */
	long long spent;   /* ns spent inside sqlite3_step so far */
	long long started; /* monotonic ns at the start of the step in progress */
	bool timed_out;    /* stopped: its steps took longer than the time limit */
	bool stopped;      /* stopped: the tick asked to stop */
};

/*
 * How many virtual machine instructions between two calls of the progress
 * handler: a few microseconds of work, so a time limit or a stop request is
 * seen within a millisecond, for a cost too small to measure.
 */
#define CASESTORE_PROGRESS_OPS 1000
/* How often the tick is asked while a query runs. */
#define CASESTORE_TICK_NS (10 * 1000 * 1000LL)

/* Has q run out of time, or does the tick ask to stop? Sets q's reason. */
static bool
casestore_rows_must_stop(struct casestore_rows *q, long long now)
{
	struct casestore *cs = q->cs;

	if (cs->timeout_ns > 0 && q->spent + (q->started ? now - q->started : 0) > cs->timeout_ns) {
		q->timed_out = true;
		return true;
	}
	if (cs->tick != NULL && now - cs->last_tick >= CASESTORE_TICK_NS) {
		cs->last_tick = now;
		if (cs->tick(cs->tick_arg)) {
			q->stopped = true;
			return true;
		}
	}
	return false;
}

/* SQLite's progress handler: a nonzero return interrupts the step in progress. */
static int
casestore_progress(void *arg)
{
	struct casestore *cs = arg;

	if (cs->stepping == NULL)
		return 0;
	return casestore_rows_must_stop(cs->stepping, clock_monotonic_ns()) ? 1 : 0;
}

/* Set how long the steps of one query may take in all (seconds; 0 no limit). */
void
casestore_set_timeout(struct casestore *cs, double seconds)
{
	cs->timeout_ns = seconds > 0 ? (long long)(seconds * 1e9) : 0;
}

/* Set the function asked every few milliseconds while a query runs (NULL: none). */
void
casestore_set_tick(struct casestore *cs, casestore_tick_fn tick, void *arg)
{
	cs->tick = tick;
	cs->tick_arg = arg;
	cs->last_tick = clock_monotonic_ns();
}

/* Start reading the rows of a rule query. */
struct casestore_rows *
casestore_query(struct casestore *cs, const char *sql, char **cause)
{
	struct casestore_rows *q;
	sqlite3_stmt *st;

	if (cs->pg != NULL) {
		struct casestore_pgrows *pg = casestore_pg_query(cs, sql, cause);

		if (pg == NULL)
			return NULL;
		q = xcalloc(1, sizeof *q);
		q->cs = cs;
		q->pg = pg;
		return q;
	}
	if ((st = casestore_prepare(cs, sql, cause)) == NULL)
		return NULL;
	q = xcalloc(1, sizeof *q);
	q->cs = cs;
	q->st = st;
	/* The clock's parameters (casestore_prepare allows no others); unset: this moment. */
	if (cs->today[0] == '\0')
		casestore_set_clock(cs, clock_local(clock_now(), NULL));
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":today"), cs->today, -1,
	                  SQLITE_STATIC);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":now"), cs->now, -1, SQLITE_STATIC);
	/* Idempotent; here rather than at open, so the limit holds whoever opened the file. */
	sqlite3_progress_handler(cs->db, CASESTORE_PROGRESS_OPS, casestore_progress, cs);
	return q;
}

/* The number of columns the query returns. */
size_t
casestore_rows_ncolumns(const struct casestore_rows *q)
{
	if (q->pg != NULL)
		return casestore_pg_ncolumns(q->pg);
	return (size_t)sqlite3_column_count(q->st);
}

/* The name of column i, as the query gives it. */
const char *
casestore_rows_column_name(const struct casestore_rows *q, size_t i)
{
	if (q->pg != NULL)
		return casestore_pg_column_name(q->pg, i);
	return sqlite3_column_name(q->st, (int)i);
}

void
casestore_set_async(struct casestore *cs, bool on)
{
	if (cs->pg != NULL)
		casestore_pg_set_async(cs, on);
}

int
casestore_wait_fd(const struct casestore *cs)
{
	return cs->pg != NULL ? casestore_pg_wait_fd(cs) : -1;
}

/* Step to the next row, within the time limit. */
int
casestore_rows_next(struct casestore_rows *q, char **cause)
{
	struct casestore *cs = q->cs;
	long long now = clock_monotonic_ns();
	int rc;

	if (q->pg != NULL)
		return casestore_pg_next(q->pg, cause);
	/* Checked here too: a query of many short steps never reaches the progress handler. */
	q->started = 0;
	if (q->timed_out || q->stopped || casestore_rows_must_stop(q, now))
		rc = SQLITE_INTERRUPT;
	else {
		q->started = now;
		cs->stepping = q;
		rc = sqlite3_step(q->st);
		cs->stepping = NULL;
		q->spent += clock_monotonic_ns() - q->started;
		q->started = 0;
	}
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	if (q->stopped)
		return -2;
	if (q->timed_out)
		*cause =
		    xasprintf("the query ran longer than query_timeout (%.3g s) and was stopped",
		              (double)cs->timeout_ns / 1e9);
	else
		*cause = xstrdup(sqlite3_errmsg(cs->db));
	return -1;
}

/* Did the query stop because its steps took longer than the time limit? */
bool
casestore_rows_timed_out(const struct casestore_rows *q)
{
	if (q->pg != NULL)
		return casestore_pg_timed_out(q->pg);
	return q->timed_out;
}

/* Time spent inside the query's steps so far, in seconds. */
double
casestore_rows_seconds(const struct casestore_rows *q)
{
	if (q->pg != NULL)
		return casestore_pg_seconds(q->pg);
	return (double)q->spent / 1e9;
}

/* The number of bytes of s to keep: at most max characters, cut on a character boundary. */
size_t
casestore_cut_len(const char *s, size_t len, size_t max)
{
	size_t n = 0, chars = 0;

	/*
	 * A character starts at every byte that is not a continuation byte (10xxxxxx); bytes
	 * that are not UTF-8 count as characters. Invalid runs of continuation bytes are
	 * bounded by bytes as well: never more than 4 bytes a character.
	 */
	while (n < len && s[n] != '\0' && n < 4 * max) {
		if (((unsigned char)s[n] & 0xc0) != 0x80 && chars++ == max)
			break;
		n++;
	}
	/* Never end in the middle of a character: back up to its start (at most 3 bytes). */
	for (size_t back = 0; n < len && n > 0 && back < 3 && ((unsigned char)s[n] & 0xc0) == 0x80;
	     back++)
		n--;
	return n;
}

/* Column i of the current row as text, at most CASESTORE_VALUE_MAX characters. */
const char *
casestore_rows_text(struct casestore_rows *q, size_t i)
{
	const char *s;
	size_t len = 0, keep;

	if (q->pg != NULL)
		s = casestore_pg_value(q->pg, i, &len);
	else if ((s = (const char *)sqlite3_column_text(q->st, (int)i)) != NULL)
		len = (size_t)sqlite3_column_bytes(q->st, (int)i);
	if (s == NULL)
		return NULL;
	/* Fewer bytes than the cap in characters: nothing to cut, no copy. */
	if (len <= CASESTORE_VALUE_MAX)
		return s;
	if ((keep = casestore_cut_len(s, len, CASESTORE_VALUE_MAX)) >= len || s[keep] == '\0')
		return s;
	/*
	 * A capped copy, in one buffer per column rewritten at each call: reading the same
	 * column again in the same row writes the same bytes, so earlier pointers stay good.
	 */
	if (q->cut == NULL)
		q->cut = xcalloc(casestore_rows_ncolumns(q), sizeof *q->cut);
	if (q->cut[i] == NULL)
		q->cut[i] = xmalloc(4 * CASESTORE_VALUE_MAX + sizeof CASESTORE_CUT_MARK);
	memcpy(q->cut[i], s, keep);
	memcpy(q->cut[i] + keep, CASESTORE_CUT_MARK, sizeof CASESTORE_CUT_MARK);
	return q->cut[i];
}

/* Column i of the current row as a number, if it is one. */
bool
casestore_rows_number(struct casestore_rows *q, size_t i, double *value)
{
	int type;

	if (q->pg != NULL)
		return casestore_pg_number(q->pg, i, value);
	type = sqlite3_column_type(q->st, (int)i);
	if (type != SQLITE_INTEGER && type != SQLITE_FLOAT)
		return false;
	*value = sqlite3_column_double(q->st, (int)i);
	return true;
}

/* Stop reading and free q. */
void
casestore_rows_free(struct casestore_rows *q)
{
	if (q == NULL)
		return;
	if (q->cut != NULL)
		for (size_t i = 0; i < casestore_rows_ncolumns(q); i++)
			free(q->cut[i]);
	free(q->cut);
	casestore_pg_rows_free(q->pg);
	sqlite3_finalize(q->st);
	free(q);
}
