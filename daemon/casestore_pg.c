/*
 * casestore_pg.c - the case store on PostgreSQL (case_store = "postgresql://..."),
 * through libpq: the same promises as the SQLite store. Read-only (the session's
 * default_transaction_read_only, and every query in a READ ONLY transaction), one
 * statement per rule query, :today and :now as its only parameters, query_timeout
 * as the server's statement_timeout, values cut as casestore_rows_text cuts them.
 * No secret in the configuration: a password in the URL is refused, libpq reads
 * it from the passfile the URL names. This first version waits for each query
 * (--check, --once, explain, preview, report, and a pass of the service).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "casestore_impl.h"
#include "clock.h"
#include "db_pg.h"
#include "xalloc.h"

/* Is s a PostgreSQL connection URL rather than a file? */
bool
casestore_is_url(const char *s)
{
	return db_pg_is_url(s);
}

#ifndef ESCALATOR_HAVE_LIBPQ

struct casestore *
casestore_pg_open(const char *url, char **cause)
{
	(void)url;
	*cause = xstrdup("this escalatord was built without PostgreSQL support: rebuild it with "
	                 "libpq (apt-get install libpq-dev; cmake -DESCALATOR_POSTGRESQL=ON)");
	return NULL;
}
void
casestore_pg_close(struct casestore *cs)
{
	(void)cs;
}
int
casestore_pg_compile(struct casestore *cs, const char *sql, char ***columns, size_t *n,
                     char **cause)
{
	(void)cs, (void)sql, (void)columns, (void)n;
	*cause = xstrdup("no PostgreSQL support in this build");
	return -1;
}
struct casestore_pgrows *
casestore_pg_query(struct casestore *cs, const char *sql, char **cause)
{
	(void)cs, (void)sql;
	*cause = xstrdup("no PostgreSQL support in this build");
	return NULL;
}
size_t
casestore_pg_ncolumns(const struct casestore_pgrows *q)
{
	(void)q;
	return 0;
}
const char *
casestore_pg_column_name(const struct casestore_pgrows *q, size_t i)
{
	(void)q, (void)i;
	return "";
}
int
casestore_pg_next(struct casestore_pgrows *q, char **cause)
{
	(void)q;
	*cause = xstrdup("no PostgreSQL support in this build");
	return -1;
}
const char *
casestore_pg_value(struct casestore_pgrows *q, size_t i, size_t *len)
{
	(void)q, (void)i, (void)len;
	return NULL;
}
bool
casestore_pg_number(struct casestore_pgrows *q, size_t i, double *v)
{
	(void)q, (void)i, (void)v;
	return false;
}
bool
casestore_pg_timed_out(const struct casestore_pgrows *q)
{
	(void)q;
	return false;
}
double
casestore_pg_seconds(const struct casestore_pgrows *q)
{
	(void)q;
	return 0;
}
void
casestore_pg_rows_free(struct casestore_pgrows *q)
{
	(void)q;
}
int
casestore_pg_read_begin(struct casestore *cs, char **cause)
{
	(void)cs;
	*cause = xstrdup("no PostgreSQL support in this build");
	return -1;
}
void
casestore_pg_read_end(struct casestore *cs)
{
	(void)cs;
}

void
casestore_pg_set_async(struct casestore *cs, bool on)
{
	(void)cs, (void)on;
}
int
casestore_pg_wait_fd(const struct casestore *cs)
{
	(void)cs;
	return -1;
}

#else

#include <libpq-fe.h>

/* Type oids of the numbers a query may return (pg_type.h). */
#define PG_INT8 20
#define PG_INT2 21
#define PG_INT4 23
#define PG_FLOAT4 700
#define PG_FLOAT8 701
#define PG_NUMERIC 1700
#define PG_TEXT 25

struct casestore_pg {
	PGconn *conn;
	bool in_read; /* casestore_read_begin: one snapshot for the queries that follow */
	bool async;   /* casestore_set_async: say 2 rather than wait for a row */
};

void
casestore_pg_set_async(struct casestore *cs, bool on)
{
	cs->pg->async = on;
}

int
casestore_pg_wait_fd(const struct casestore *cs)
{
	return PQsocket(cs->pg->conn);
}

/* One query's rows, one at a time (libpq's single-row mode). */
struct casestore_pgrows {
	struct casestore *cs;
	PGresult *desc; /* the statement's columns */
	PGresult *row;  /* the current row, or NULL */
	bool own_txn;   /* it opened its own READ ONLY transaction */
	bool savepoint; /* inside the caller's snapshot: a savepoint, so a failure spoils nothing */
	bool failed;
	bool done; /* every result read */
	bool timed_out;
	long long spent; /* ns waiting for rows */
};

/* Open the case store on PostgreSQL. */
struct casestore *
casestore_pg_open(const char *url, char **cause)
{
	struct casestore *cs;
	char *shown = NULL;
	PGresult *res;
	PGconn *conn = db_pg_open_conn(url, "case_store", "the case store", &shown, cause);

	if (conn == NULL)
		return NULL;
	cs = xcalloc(1, sizeof *cs);
	cs->path = shown;
	cs->pg = xcalloc(1, sizeof *cs->pg);
	cs->pg->conn = conn;
	/* Reads only, whatever the role may do; ISO dates if a query formats one. */
	res = PQexec(cs->pg->conn, "SET default_transaction_read_only = on; "
	                           "SET application_name = 'escalatord'; SET DateStyle = 'ISO'");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char *first = db_pg_message(PQresultErrorMessage(res));

		*cause = xasprintf("%s: cannot set the session up: %s", cs->path, first);
		free(first);
		PQclear(res);
		casestore_close(cs);
		return NULL;
	}
	PQclear(res);
	return cs;
}

void
casestore_pg_close(struct casestore *cs)
{
	if (cs->pg == NULL)
		return;
	PQfinish(cs->pg->conn);
	free(cs->pg);
	cs->pg = NULL;
}

/*
 * The query with :today and :now as $1 and $2, skipping string literals,
 * quoted names, comments and '::' casts. Returns NULL with *cause set for any
 * other ":name" (SQLite's rule: only the clock's parameters are given).
 */
static char *
pg_translate(const char *sql, char **cause)
{
	size_t n = strlen(sql), o = 0;
	char *out = xmalloc(n + 1);

	for (size_t i = 0; i < n;) {
		char c = sql[i];
		size_t j = db_pg_skip(sql, i, n);

		if (j > i) { /* a literal, a quoted name or a comment: as it is */
			memcpy(out + o, sql + i, j - i);
			o += j - i;
			i = j;
		} else if (c == ':' && sql[i + 1] == ':') {
			out[o++] = ':';
			out[o++] = ':';
			i += 2;
		} else if (c == ':' &&
		           (sql[i + 1] == '_' || (sql[i + 1] >= 'a' && sql[i + 1] <= 'z') ||
		            (sql[i + 1] >= 'A' && sql[i + 1] <= 'Z'))) {
			size_t e = i + 1;

			while (e < n && (sql[e] == '_' || (sql[e] >= 'a' && sql[e] <= 'z') ||
			                 (sql[e] >= 'A' && sql[e] <= 'Z') ||
			                 (sql[e] >= '0' && sql[e] <= '9')))
				e++;
			if (e - i == 6 && strncmp(sql + i, ":today", 6) == 0)
				memcpy(out + o, "$1", 2);
			else if (e - i == 4 && strncmp(sql + i, ":now", 4) == 0)
				memcpy(out + o, "$2", 2);
			else {
				*cause = casestore_param_cause(sql + i, (int)(e - i));
				free(out);
				return NULL;
			}
			o += 2;
			i = e;
		} else
			out[o++] = sql[i++];
	}
	out[o] = '\0';
	return out;
}

/* Does the statement start with a word that only reads (after blanks and comments)? */
static bool
pg_reads(const char *sql)
{
	static const char *const words[] = {"select", "with", "values", "table", "(", NULL};

	for (;;) {
		sql += strspn(sql, " \t\r\n");
		if (strncmp(sql, "--", 2) == 0)
			sql += strcspn(sql, "\n");
		else if (strncmp(sql, "/*", 2) == 0) {
			const char *end = strstr(sql + 2, "*/");

			if (end == NULL)
				return false;
			sql = end + 2;
		} else
			break;
	}
	for (const char *const *w = words; *w != NULL; w++)
		if (strncasecmp(sql, *w, strlen(*w)) == 0)
			return true;
	return false;
}

/* Run a command that returns no rows; -1 with *cause set. */
static int
pg_command(struct casestore *cs, const char *sql, char **cause)
{
	PGresult *res = PQexec(cs->pg->conn, sql);
	int rc = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		char *first = db_pg_message(PQresultErrorMessage(res));

		*cause = xasprintf("%s: %s", cs->path, first);
		free(first);
		rc = -1;
	}
	PQclear(res);
	return rc;
}

/* The same, for a clean-up whose failure changes nothing. */
static void
pg_quiet(struct casestore *cs, const char *sql)
{
	char *cause = NULL;

	if (pg_command(cs, sql, &cause) != 0)
		free(cause);
}

/* The types of $1 (:today) and $2 (:now). */
static const Oid pg_types[2] = {PG_TEXT, PG_TEXT};

/* A server's refusal in words, with what to do about a privilege. */
static char *
pg_query_cause(const struct casestore *cs, const char *msg)
{
	char *first = db_pg_message(msg), *out;

	if (strstr(first, "permission denied") != NULL)
		out = xasprintf("the query cannot run against %s: %s (grant SELECT on it to the "
		                "role escalatord connects as)",
		                cs->path, first);
	else if (strstr(first, "multiple commands") != NULL)
		out = xstrdup(CASESTORE_NOT_ONE_STATEMENT);
	else
		out = xasprintf("the query does not compile against %s: %s", cs->path, first);
	free(first);
	return out;
}

/*
 * Prepare sql (unnamed) and describe it: its columns; with *translated, the
 * text the server runs. NULL with *cause set.
 */
static PGresult *
pg_describe(struct casestore *cs, const char *sql, char **translated, char **cause)
{
	char *pg;
	PGresult *res;

	if (!pg_reads(sql)) {
		*cause = xstrdup(CASESTORE_NOT_A_READ);
		return NULL;
	}
	if ((pg = pg_translate(sql, cause)) == NULL)
		return NULL;
	res = PQprepare(cs->pg->conn, "", pg, 2, pg_types);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*cause = pg_query_cause(cs, PQresultErrorMessage(res));
		PQclear(res);
		free(pg);
		return NULL;
	}
	if (translated != NULL)
		*translated = pg;
	else
		free(pg);
	PQclear(res);
	res = PQdescribePrepared(cs->pg->conn, "");
	if (PQresultStatus(res) != PGRES_COMMAND_OK || PQnfields(res) == 0) {
		*cause = xstrdup(CASESTORE_NOT_A_READ);
		PQclear(res);
		if (translated != NULL) {
			free(*translated);
			*translated = NULL;
		}
		return NULL;
	}
	return res;
}

int
casestore_pg_compile(struct casestore *cs, const char *sql, char ***columns, size_t *ncolumns,
                     char **cause)
{
	char *pg = NULL;
	PGresult *res = pg_describe(cs, sql, &pg, cause), *plan;
	const char *values[2];
	char *explain;
	int n;

	if (res == NULL)
		return -1;
	/*
	 * Privileges are checked when a statement is planned for running, not when it
	 * is prepared: EXPLAIN plans it (without running it), in a read-only
	 * transaction, so --check names a view the role may not read.
	 */
	if (cs->today[0] == '\0')
		casestore_set_clock(cs, clock_local(clock_now(), NULL));
	values[0] = cs->today;
	values[1] = cs->now;
	explain = xasprintf("EXPLAIN %s", pg);
	free(pg);
	if (pg_command(cs, "BEGIN READ ONLY", cause) != 0) {
		free(explain);
		PQclear(res);
		return -1;
	}
	plan = PQexecParams(cs->pg->conn, explain, 2, pg_types, values, NULL, NULL, 0);
	free(explain);
	if (PQresultStatus(plan) != PGRES_TUPLES_OK) {
		*cause = pg_query_cause(cs, PQresultErrorMessage(plan));
		PQclear(plan);
		PQclear(res);
		pg_quiet(cs, "ROLLBACK");
		return -1;
	}
	PQclear(plan);
	if (pg_command(cs, "ROLLBACK", cause) != 0) {
		PQclear(res);
		return -1;
	}
	n = PQnfields(res);
	*columns = xcalloc((size_t)n, sizeof **columns);
	for (int i = 0; i < n; i++)
		(*columns)[i] = xstrdup(PQfname(res, i));
	*ncolumns = (size_t)n;
	PQclear(res);
	return 0;
}

int
casestore_pg_read_begin(struct casestore *cs, char **cause)
{
	if (pg_command(cs, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", cause) != 0)
		return -1;
	cs->pg->in_read = true;
	return 0;
}

void
casestore_pg_read_end(struct casestore *cs)
{
	char *cause = NULL;

	if (cs->pg->in_read && pg_command(cs, "COMMIT", &cause) != 0)
		free(cause);
	cs->pg->in_read = false;
}

struct casestore_pgrows *
casestore_pg_query(struct casestore *cs, const char *sql, char **cause)
{
	const char *values[2];
	struct casestore_pgrows *q;
	PGresult *desc;

	if (cs->today[0] == '\0')
		casestore_set_clock(cs, clock_local(clock_now(), NULL));
	if (!cs->pg->in_read &&
	    pg_command(cs, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", cause) != 0)
		return NULL;
	q = xcalloc(1, sizeof *q);
	q->cs = cs;
	q->own_txn = !cs->pg->in_read;
	q->done = true; /* nothing sent yet */
	/*
	 * In the caller's snapshot (the report), a failed query would abort the whole
	 * transaction and every rule after it: a savepoint keeps the failure its own.
	 */
	if (!q->own_txn) {
		if (pg_command(cs, "SAVEPOINT escalator_query", cause) != 0) {
			free(q);
			return NULL;
		}
		q->savepoint = true;
	}
	if (cs->timeout_ns > 0) {
		char set[96];

		/* SET LOCAL: inside the transaction only (the report's snapshot included). */
		snprintf(set, sizeof set, "SET LOCAL statement_timeout = %lld",
		         cs->timeout_ns / 1000000 > 0 ? cs->timeout_ns / 1000000 : 1);
		if (pg_command(cs, set, cause) != 0) {
			q->failed = true;
			casestore_pg_rows_free(q);
			return NULL;
		}
	}
	if ((desc = pg_describe(cs, sql, NULL, cause)) == NULL) {
		q->failed = true;
		casestore_pg_rows_free(q);
		return NULL;
	}
	q->desc = desc;
	values[0] = cs->today;
	values[1] = cs->now;
	if (!PQsendQueryPrepared(cs->pg->conn, "", 2, values, NULL, NULL, 0) ||
	    !PQsetSingleRowMode(cs->pg->conn)) {
		char *first = db_pg_message(PQerrorMessage(cs->pg->conn));

		*cause = xasprintf("%s: %s", cs->path, first);
		free(first);
		q->failed = true;
		casestore_pg_rows_free(q);
		return NULL;
	}
	q->done = false;
	return q;
}

size_t
casestore_pg_ncolumns(const struct casestore_pgrows *q)
{
	return (size_t)PQnfields(q->desc);
}

const char *
casestore_pg_column_name(const struct casestore_pgrows *q, size_t i)
{
	return PQfname(q->desc, (int)i);
}

/* Read what is left of the results, so the connection is ready for the next command. */
static void
pg_drain(struct casestore_pgrows *q)
{
	PGresult *res;

	while ((res = PQgetResult(q->cs->pg->conn)) != NULL)
		PQclear(res);
	q->done = true;
}

int
casestore_pg_next(struct casestore_pgrows *q, char **cause)
{
	long long t0 = clock_monotonic_ns();
	PGresult *res;
	int rc;

	PQclear(q->row);
	q->row = NULL;
	if (q->done)
		return 0;
	/*
	 * Only what has arrived: the loop serves deliveries while the server works.
	 * Read the socket only when no whole row is buffered (PQconsumeInput moves
	 * what is unread: once per row it made a pass quadratic in its rows).
	 */
	if (q->cs->pg->async && PQisBusy(q->cs->pg->conn) && PQconsumeInput(q->cs->pg->conn) &&
	    PQisBusy(q->cs->pg->conn)) {
		q->spent += clock_monotonic_ns() - t0;
		return 2;
	}
	res = PQgetResult(q->cs->pg->conn);
	q->spent += clock_monotonic_ns() - t0;
	switch (PQresultStatus(res)) {
	case PGRES_SINGLE_TUPLE:
		q->row = res;
		return 1;
	case PGRES_TUPLES_OK:
		rc = 0;
		break;
	default: {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		char *first = db_pg_message(res ? PQresultErrorMessage(res)
		                                : PQerrorMessage(q->cs->pg->conn));

		/* 57014: query_canceled, which statement_timeout raises. */
		if (state != NULL && strcmp(state, "57014") == 0) {
			q->timed_out = true;
			*cause =
			    xasprintf("the query ran longer than query_timeout (%.3g s) and was "
			              "stopped",
			              (double)q->cs->timeout_ns / 1e9);
		} else if (strstr(first, "permission denied") != NULL)
			*cause = xasprintf("%s (grant SELECT on it to the role escalatord connects "
			                   "as)",
			                   first);
		else
			*cause = xstrdup(first);
		free(first);
		rc = -1;
		q->failed = true;
	}
	}
	PQclear(res);
	pg_drain(q);
	return rc;
}

const char *
casestore_pg_value(struct casestore_pgrows *q, size_t i, size_t *len)
{
	if (q->row == NULL || PQgetisnull(q->row, 0, (int)i))
		return NULL;
	*len = (size_t)PQgetlength(q->row, 0, (int)i);
	return PQgetvalue(q->row, 0, (int)i);
}

bool
casestore_pg_number(struct casestore_pgrows *q, size_t i, double *value)
{
	Oid t;
	char *end;
	const char *s;

	if (q->row == NULL || PQgetisnull(q->row, 0, (int)i))
		return false;
	t = PQftype(q->row, (int)i);
	if (t != PG_INT2 && t != PG_INT4 && t != PG_INT8 && t != PG_FLOAT4 && t != PG_FLOAT8 &&
	    t != PG_NUMERIC)
		return false;
	s = PQgetvalue(q->row, 0, (int)i);
	*value = strtod(s, &end);
	return end != s;
}

bool
casestore_pg_timed_out(const struct casestore_pgrows *q)
{
	return q->timed_out;
}

double
casestore_pg_seconds(const struct casestore_pgrows *q)
{
	return (double)q->spent / 1e9;
}

void
casestore_pg_rows_free(struct casestore_pgrows *q)
{
	char *cause = NULL;

	if (q == NULL)
		return;
	PQclear(q->row);
	PQclear(q->desc);
	if (!q->done) {
		/* Stopped early: cancel the rest rather than read it. */
		PGcancel *c = PQgetCancel(q->cs->pg->conn);
		char buf[256];

		if (c != NULL) {
			PQcancel(c, buf, sizeof buf);
			PQfreeCancel(c);
		}
		pg_drain(q);
	}
	if (q->own_txn && pg_command(q->cs, q->failed ? "ROLLBACK" : "COMMIT", &cause) != 0)
		free(cause);
	else if (q->savepoint && pg_command(q->cs,
	                                    q->failed ? "ROLLBACK TO SAVEPOINT escalator_query"
	                                              : "RELEASE SAVEPOINT escalator_query",
	                                    &cause) != 0)
		free(cause);
	free(q);
}

#endif
