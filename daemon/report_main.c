/*
 * report_main.c - escalatord report [--from DATE] [--to DATE] [--by PERIOD]
 * [--format FORMAT] [--table NAME] | --footprint [--case REF]: the command
 * line, the defaults (the last whole financial year, by quarter, as text) and
 * the one read of each store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "log.h"
#include "report.h"
#include "statestore_impl.h"
#include "xalloc.h"

/* A --from/--to date, or -1 after saying what is wrong. */
static int
report_date(const char *opt, const char *s, date_t *d)
{
	if (date_parse_strict(s, d) != 0) {
		fprintf(stderr, "escalatord: report: %s \"%s\" is not a date: write YYYY-MM-DD\n",
		        opt, s);
		return -1;
	}
	return 0;
}

/*
 * The range: --from and --to as given; one alone gives the twelve months
 * from or to it; neither gives the last whole financial year (1 April to 31
 * March), the year an IRO annual report covers.
 */
static int
report_range(const struct command *c, date_t today, date_t *from, date_t *to)
{
	int y, m, d;

	if (c->from != NULL && report_date("--from", c->from, from) != 0)
		return -1;
	if (c->to != NULL && report_date("--to", c->to, to) != 0)
		return -1;
	if (c->from == NULL && c->to == NULL) {
		date_to_ymd(today, &y, &m, &d);
		*from = date_from_ymd(m >= 4 ? y - 1 : y - 2, 4, 1);
		*to = date_add_months(*from, 12) - 1;
	} else if (c->to == NULL)
		*to = date_add_months(*from, 12) - 1;
	else if (c->from == NULL)
		*from = date_add_months(*to + 1, -12);
	if (*to < *from) {
		fprintf(stderr, "escalatord: report: --to is before --from\n");
		return -1;
	}
	return 0;
}

/* Are there too many periods of months in from..to? Says so. */
static bool
report_too_long(date_t from, date_t to, int months)
{
	char a[DATE_STRLEN], b[DATE_STRLEN];
	int fy, fm, fd, ty, tm, td;
	long n;

	date_to_ymd(from, &fy, &fm, &fd);
	date_to_ymd(to, &ty, &tm, &td);
	n = ((long)(ty - fy) * 12 + (tm - fm)) / months + 1;
	if (n <= REPORT_MAX_PERIODS)
		return false;
	fprintf(stderr,
	        "escalatord: report: %s to %s makes %ld periods; a report holds at most %d (100 "
	        "years by month): check the years, or use --by quarter or year\n",
	        date_format(from, a), date_format(to, b), n, REPORT_MAX_PERIODS);
	return true;
}

/* --by: months per period, or -1 after saying what is wrong. */
static int
report_months(const char *by)
{
	if (by == NULL || strcmp(by, "quarter") == 0)
		return 3;
	if (strcmp(by, "month") == 0)
		return 1;
	if (strcmp(by, "year") == 0)
		return 12;
	fprintf(stderr, "escalatord: report: --by \"%s\": write month, quarter or year\n", by);
	return -1;
}

/* Check the options that go together. Returns 0 or -1 after saying why. */
static int
report_options(const struct command *c, const char **format)
{
	static const char *const formats[] = {"text", "csv", "json", "html", NULL};
	size_t i;

	*format = c->format ? c->format : c->table ? "csv" : "text";
	for (i = 0; formats[i] != NULL; i++)
		if (strcmp(formats[i], *format) == 0)
			break;
	if (formats[i] == NULL) {
		fprintf(stderr,
		        "escalatord: report: --format \"%s\": write text, csv, json or html\n",
		        *format);
		return -1;
	}
	if (c->table != NULL && strcmp(*format, "csv") != 0) {
		fprintf(stderr, "escalatord: report: --table goes with --format csv\n");
		return -1;
	}
	if (c->footprint && (c->format != NULL || c->table != NULL || c->by != NULL)) {
		fprintf(stderr, "escalatord: report: --footprint is always CSV, one row per alert: "
		                "--format, --table and --by do not go with it\n");
		return -1;
	}
	if (c->case_ref != NULL && !c->footprint) {
		fprintf(stderr, "escalatord: report: --case goes with --footprint\n");
		return -1;
	}
	return 0;
}

/* Write the report in its format. Returns 0, or COMMAND_EXIT_USAGE for an unknown table. */
static int
report_write(const struct report *rep, const char *format, const char *table)
{
	if (strcmp(format, "csv") == 0) {
		if (report_csv(stdout, rep, table ? table : "timeliness") != 0) {
			fprintf(stderr,
			        "escalatord: report: --table \"%s\": the tables are timeliness, "
			        "open, alerts, recipients, closed, answers and practice\n",
			        table);
			return COMMAND_EXIT_USAGE;
		}
	} else if (strcmp(format, "json") == 0)
		report_json(stdout, rep);
	else if (strcmp(format, "html") == 0)
		report_html(stdout, rep);
	else
		report_text(stdout, rep);
	return 0;
}

/*
 * On standard error: each bad row with its rule and case (for whoever runs the
 * report to mend; the document never names a case), and the report's own
 * warnings too when the format has no place for them (CSV), else how many.
 */
static void
report_warnings(const struct report *rep, const char *format)
{
	for (size_t i = 0; i < rep->ncase_warnings; i++)
		log_warn("%s", rep->case_warnings[i]);
	if (rep->nwarnings == 0)
		return;
	if (strcmp(format, "csv") == 0)
		for (size_t i = 0; i < rep->nwarnings; i++)
			log_warn("%s", rep->warnings[i]);
	else
		log_warn(
		    "report: %zu warning%s (rows skipped or queries failed), listed in the report",
		    rep->nwarnings, rep->nwarnings == 1 ? "" : "s");
}

int
report_main(const struct command *c)
{
	struct report rep;
	struct engine *e;
	struct statestore *ss;
	localtime_min_t now;
	const char *format;
	date_t from, to;
	char *cause = NULL;
	int months, rc = COMMAND_EXIT_FAIL;

	if (report_options(c, &format) != 0 || (months = report_months(c->by)) < 0)
		return COMMAND_EXIT_USAGE;
	if ((e = command_load(c)) == NULL)
		return COMMAND_EXIT_FAIL;
	if (command_now(c, &now) != 0 || report_range(c, (date_t)(now / 1440), &from, &to) != 0 ||
	    report_too_long(from, to, months)) {
		engine_free(e);
		return COMMAND_EXIT_USAGE;
	}
	if ((ss = command_state(e)) == NULL) {
		engine_free(e);
		return COMMAND_EXIT_FAIL;
	}
	memset(&rep, 0, sizeof rep);
	/* One snapshot of the state store for everything read (a read transaction). */
	if (ss->db != NULL && statestore_begin(ss, &cause) != 0)
		fprintf(stderr, "escalatord: report: %s\n", cause);
	else if (c->footprint) {
		if (report_footprint(stdout, ss, from, to, c->case_ref, &cause) != 0)
			fprintf(stderr, "escalatord: report: %s\n", cause);
		else
			rc = 0;
	} else if (report_build(&rep, e, ss->db != NULL ? ss : NULL, from, to, months, now,
	                        &cause) != 0)
		fprintf(stderr, "escalatord: report: %s\n", cause);
	else {
		rc = report_write(&rep, format, c->table);
		report_warnings(&rep, format);
	}
	free(cause);
	report_free(&rep);
	statestore_rollback(ss);
	statestore_close(ss);
	engine_free(e);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "escalatord: writing the report failed\n");
		rc = COMMAND_EXIT_FAIL;
	}
	return rc;
}
