/*
 * test_holidays.c - checks the shipped bank holiday files (etc/holidays/).
 *
 * Self-contained on purpose: its own file reader, Easter and weekday arithmetic,
 * so that a bug in the project's date or calendar code cannot hide a bug in the
 * data. Three checks per division:
 *   a) every year 2015-2030 equals the holidays recomputed by rule, with the
 *      one-off proclaimed changes applied from a small explicit table;
 *   b) the published years equal the lists copied verbatim from the domain notes
 *      ("Working days and bank holidays" in the shared domain.md);
 *   c) every line is a date, a comment or blank; dates are ascending, unique,
 *      under their "# YYYY" heading, and the "# covers: 2015-2030" line is there.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_YEAR 2015
#define LAST_YEAR 2030
#define MAX_DATES 1024
#define MAX_PER_YEAR 32
#define MAX_PROBLEMS 64

/* The three UK divisions, each with its own file. */
enum division { ENGLAND_AND_WALES, SCOTLAND, NORTHERN_IRELAND, N_DIVISIONS };

static const char *const division_file[N_DIVISIONS] = {
    "etc/holidays/england-and-wales.txt",
    "etc/holidays/scotland.txt",
    "etc/holidays/northern-ireland.txt",
};

/* A date is held as the integer YYYYMMDD: ordering and equality come free. */
typedef int ymd_t;

/* What was read from one holiday file. */
struct holiday_file {
	char path[4096];
	ymd_t dates[MAX_DATES]; /* every valid date, in file order */
	int n_dates;
	int n_lines;
	bool has_covers_line;
	char problems[MAX_PROBLEMS][160]; /* "line N: what is wrong" */
	int n_problems;
};

/* Encode a date. */
static ymd_t
ymd(int y, int m, int d)
{
	return y * 10000 + m * 100 + d;
}

/* Year of an encoded date. */
static int
ymd_year(ymd_t t)
{
	return t / 10000;
}

/* Month (1-12) of an encoded date. */
static int
ymd_month(ymd_t t)
{
	return t / 100 % 100;
}

/* Day of the month of an encoded date. */
static int
ymd_day(ymd_t t)
{
	return t % 100;
}

/* Gregorian leap year? */
static bool
is_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Number of days in month m of year y. */
static int
days_in_month(int y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Days since 1970-01-01 (Howard Hinnant's days_from_civil). */
static long
day_number(ymd_t t)
{
	int y = ymd_year(t), m = ymd_month(t), d = ymd_day(t);
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Inverse of day_number (civil_from_days). */
static ymd_t
from_day_number(long z)
{
	z += 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	long doe = z - era * 146097;
	long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	long y = yoe + era * 400;
	long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	long mp = (5 * doy + 2) / 153;
	long d = doy - (153 * mp + 2) / 5 + 1;
	long m = mp < 10 ? mp + 3 : mp - 9;
	return ymd((int)(y + (m <= 2)), (int)m, (int)d);
}

/* t plus n days. */
static ymd_t
add_days(ymd_t t, int n)
{
	return from_day_number(day_number(t) + n);
}

/* Day of the week, 0 = Sunday .. 6 = Saturday (1970-01-01 was a Thursday). */
static int
weekday(ymd_t t)
{
	long w = (day_number(t) + 4) % 7;
	return (int)(w < 0 ? w + 7 : w);
}

/* Saturday or Sunday? */
static bool
is_weekend(ymd_t t)
{
	int w = weekday(t);
	return w == 0 || w == 6;
}

/* Easter Sunday: the anonymous Gregorian algorithm (Meeus/Jones/Butcher). */
static ymd_t
easter_sunday(int y)
{
	int a = y % 19, b = y / 100, c = y % 100;
	int d = b / 4, e = b % 4, f = (b + 8) / 25, g = (b - f + 1) / 3;
	int h = (19 * a + b - d - g + 15) % 30;
	int i = c / 4, k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7;
	int m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31;
	int day = (h + l - 7 * m + 114) % 31 + 1;
	return ymd(y, month, day);
}

/* First Monday of month m. */
static ymd_t
first_monday(int y, int m)
{
	ymd_t t = ymd(y, m, 1);
	while (weekday(t) != 1)
		t = add_days(t, 1);
	return t;
}

/* Last Monday of month m. */
static ymd_t
last_monday(int y, int m)
{
	ymd_t t = ymd(y, m, days_in_month(y, m));
	while (weekday(t) != 1)
		t = add_days(t, -1);
	return t;
}

/* A small set of dates (one division, one year). */
struct dateset {
	ymd_t d[MAX_PER_YEAR];
	int n;
};

/* Is t in s? */
static bool
set_has(const struct dateset *s, ymd_t t)
{
	for (int i = 0; i < s->n; i++)
		if (s->d[i] == t)
			return true;
	return false;
}

/* Add t to s (no-op if present). */
static void
set_add(struct dateset *s, ymd_t t)
{
	if (set_has(s, t))
		return;
	assert_true(s->n < MAX_PER_YEAR);
	s->d[s->n++] = t;
}

/* Remove t from s; it must be there (a one-off table entry that removes nothing is a bug). */
static void
set_remove(struct dateset *s, ymd_t t)
{
	for (int i = 0; i < s->n; i++) {
		if (s->d[i] == t) {
			s->d[i] = s->d[--s->n];
			return;
		}
	}
	fail_msg("one-off table removes %08d, which the rules did not produce", t);
}

/* qsort comparator for ymd_t. */
static int
cmp_ymd(const void *a, const void *b)
{
	ymd_t x = *(const ymd_t *)a, y = *(const ymd_t *)b;
	return (x > y) - (x < y);
}

/* Sort s ascending. */
static void
set_sort(struct dateset *s)
{
	qsort(s->d, (size_t)s->n, sizeof s->d[0], cmp_ymd);
}

/*
 * Fixed-date holidays with substitutes (Banking and Financial Dealings Act 1971
 * practice): each day that falls on a weekday is kept; each that falls at a
 * weekend moves to the next weekday that is not already a holiday. So Christmas
 * on a Sunday gives 26 and 27 December, and in Scotland 1 January on a Saturday
 * gives 3 and 4 January.
 */
static void
add_fixed_group(struct dateset *s, const ymd_t *days, int n)
{
	for (int i = 0; i < n; i++)
		if (!is_weekend(days[i]))
			set_add(s, days[i]);
	for (int i = 0; i < n; i++) {
		if (!is_weekend(days[i]))
			continue;
		ymd_t t = days[i];
		while (is_weekend(t) || set_has(s, t))
			t = add_days(t, 1);
		set_add(s, t);
	}
}

/* Divisions a one-off change applies to. */
#define IN_EW (1 << ENGLAND_AND_WALES)
#define IN_SCOT (1 << SCOTLAND)
#define IN_NI (1 << NORTHERN_IRELAND)
#define IN_UK (IN_EW | IN_SCOT | IN_NI)

/* A change made by proclamation: remove the regular day (0: none) and add another (0: none). */
struct one_off {
	int divisions;
	ymd_t remove;
	ymd_t add;
	const char *why;
};

static const struct one_off one_offs[] = {
    {IN_UK, 20200504, 20200508, "early May bank holiday moved to VE Day"},
    {IN_UK, 20220530, 20220602, "spring bank holiday moved for the Platinum Jubilee"},
    {IN_UK, 0, 20220603, "Platinum Jubilee bank holiday"},
    {IN_UK, 0, 20220919, "State Funeral of Queen Elizabeth II"},
    {IN_UK, 0, 20230508, "Coronation of King Charles III"},
    /* Royal proclamation of 4 February 2026, after domain.md listed 2026. */
    {IN_SCOT, 0, 20260615, "World Cup bank holiday (Scotland)"},
};

/* The holidays of one division and year, recomputed by rule plus the one-off table. */
static void
rule_holidays(enum division div, int y, struct dateset *s)
{
	ymd_t easter = easter_sunday(y);
	s->n = 0;

	if (div == SCOTLAND) {
		ymd_t ny[] = {ymd(y, 1, 1), ymd(y, 1, 2)};
		add_fixed_group(s, ny, 2);
	} else {
		ymd_t ny[] = {ymd(y, 1, 1)};
		add_fixed_group(s, ny, 1);
	}
	if (div == NORTHERN_IRELAND) {
		ymd_t patrick[] = {ymd(y, 3, 17)};
		add_fixed_group(s, patrick, 1);
	}
	set_add(s, add_days(easter, -2)); /* Good Friday */
	if (div != SCOTLAND)
		set_add(s, add_days(easter, 1)); /* Easter Monday */
	set_add(s, first_monday(y, 5));          /* early May */
	set_add(s, last_monday(y, 5));           /* spring */
	if (div == NORTHERN_IRELAND) {
		ymd_t boyne[] = {ymd(y, 7, 12)};
		add_fixed_group(s, boyne, 1);
	}
	set_add(s, div == SCOTLAND ? first_monday(y, 8) : last_monday(y, 8)); /* summer */
	if (div == SCOTLAND) {
		ymd_t andrew[] = {ymd(y, 11, 30)};
		add_fixed_group(s, andrew, 1);
	}
	ymd_t christmas[] = {ymd(y, 12, 25), ymd(y, 12, 26)};
	add_fixed_group(s, christmas, 2);

	for (size_t i = 0; i < sizeof one_offs / sizeof one_offs[0]; i++) {
		const struct one_off *o = &one_offs[i];
		if (!(o->divisions & (1 << div)))
			continue;
		if (o->remove && ymd_year(o->remove) == y)
			set_remove(s, o->remove);
		if (o->add && ymd_year(o->add) == y)
			set_add(s, o->add);
	}
	set_sort(s);
}

/* Path of a division's file: under $SRCDIR, else under the first relative root that has it. */
static void
holiday_path(enum division div, char *buf, size_t size)
{
	const char *root = getenv("SRCDIR");
	if (root && *root) {
		snprintf(buf, size, "%s/%s", root, division_file[div]);
		return;
	}
	static const char *const candidates[] = {".", "..", "../..", "../../.."};
	for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
		snprintf(buf, size, "%s/%s", candidates[i], division_file[div]);
		FILE *f = fopen(buf, "r");
		if (f) {
			fclose(f);
			return;
		}
	}
	snprintf(buf, size, "../../%s", division_file[div]);
}

/* Note a problem with line lineno of hf. */
static void
add_problem(struct holiday_file *hf, int lineno, const char *what)
{
	if (hf->n_problems < MAX_PROBLEMS)
		snprintf(hf->problems[hf->n_problems], sizeof hf->problems[0], "line %d: %s",
		         lineno, what);
	hf->n_problems++;
}

/* Parse exactly "YYYY-MM-DD" at s; 0 if it is not a valid calendar date. */
static ymd_t
parse_date(const char *s)
{
	for (int i = 0; i < 10; i++) {
		if (i == 4 || i == 7) {
			if (s[i] != '-')
				return 0;
		} else if (!isdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return 0;
	return ymd(y, m, d);
}

/*
 * Read one holiday file. Accepted lines: blank (spaces/tabs only), a comment
 * starting with '#' in column one, or a date in column one optionally followed
 * by whitespace and a '#' comment. Also checks the ordering rules of check (c).
 */
static void
read_holiday_file(enum division div, struct holiday_file *hf)
{
	memset(hf, 0, sizeof *hf);
	holiday_path(div, hf->path, sizeof hf->path);
	FILE *f = fopen(hf->path, "r");
	if (!f)
		fail_msg("cannot open %s", hf->path);

	char line[1024];
	int heading_year = 0;
	while (fgets(line, sizeof line, f)) {
		int lineno = ++hf->n_lines;
		size_t len = strlen(line);
		if (len == sizeof line - 1 && line[len - 1] != '\n') {
			add_problem(hf, lineno, "line too long");
			break;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';

		if (line[0] == '#') {
			int y;
			char extra;
			if (strcmp(line, "# covers: 2015-2030") == 0)
				hf->has_covers_line = true;
			if (sscanf(line, "# %4d%c", &y, &extra) == 1 && strlen(line) == 6)
				heading_year = y;
			continue;
		}
		if (strspn(line, " \t") == len)
			continue;

		ymd_t t = parse_date(line);
		if (!t) {
			add_problem(hf, lineno,
			            "not a valid YYYY-MM-DD date, comment or blank line");
			continue;
		}
		const char *rest = line + 10;
		rest += strspn(rest, " \t");
		if (*rest != '\0' && *rest != '#') {
			add_problem(hf, lineno, "text after the date that is not a '#' comment");
			continue;
		}
		if (rest == line + 10 && *rest == '#')
			add_problem(hf, lineno, "no whitespace between date and comment");
		if (hf->n_dates > 0 && t <= hf->dates[hf->n_dates - 1])
			add_problem(hf, lineno,
			            "date not after the previous one (unsorted or duplicate)");
		if (ymd_year(t) < FIRST_YEAR || ymd_year(t) > LAST_YEAR)
			add_problem(hf, lineno, "date outside the covered years");
		if (ymd_year(t) != heading_year)
			add_problem(hf, lineno, "date not under its own \"# YYYY\" heading");
		if (is_weekend(t))
			add_problem(hf, lineno,
			            "holiday on a Saturday or Sunday (substitute missing?)");
		if (hf->n_dates < MAX_DATES)
			hf->dates[hf->n_dates++] = t;
		else
			add_problem(hf, lineno, "too many dates");
	}
	fclose(f);
}

/* The dates of one year from a file. */
static void
file_year(const struct holiday_file *hf, int y, struct dateset *s)
{
	s->n = 0;
	for (int i = 0; i < hf->n_dates; i++)
		if (ymd_year(hf->dates[i]) == y)
			set_add(s, hf->dates[i]);
	set_sort(s);
}

/* Compare two sets; print every date in only one of them. Returns true if equal. */
static bool
same_dates(const char *what, int y, const struct dateset *file, const char *other_name,
           const struct dateset *other)
{
	bool same = true;
	for (int i = 0; i < file->n; i++) {
		if (!set_has(other, file->d[i])) {
			print_error("%s %d: %04d-%02d-%02d is in the file but not in the %s\n",
			            what, y, ymd_year(file->d[i]), ymd_month(file->d[i]),
			            ymd_day(file->d[i]), other_name);
			same = false;
		}
	}
	for (int i = 0; i < other->n; i++) {
		if (!set_has(file, other->d[i])) {
			print_error("%s %d: %04d-%02d-%02d is in the %s but not in the file\n",
			            what, y, ymd_year(other->d[i]), ymd_month(other->d[i]),
			            ymd_day(other->d[i]), other_name);
			same = false;
		}
	}
	return same;
}

/* Check (a): every covered year of the file equals the rules plus one-offs. */
static void
check_rules(enum division div)
{
	static struct holiday_file hf;
	read_holiday_file(div, &hf);
	int bad_years = 0;
	for (int y = FIRST_YEAR; y <= LAST_YEAR; y++) {
		struct dateset in_file, by_rule;
		file_year(&hf, y, &in_file);
		rule_holidays(div, y, &by_rule);
		if (!same_dates(hf.path, y, &in_file, "rules", &by_rule))
			bad_years++;
	}
	if (bad_years)
		fail_msg("%s: %d year(s) differ from the rules", hf.path, bad_years);
}

/* One year of a published list, "MM-DD MM-DD ..." as in domain.md. */
struct published {
	int year;
	const char *days;
};

/* England and Wales as published, copied verbatim from domain.md. */
static const struct published published_ew[] = {
    {2015, "01-01 04-03 04-06 05-04 05-25 08-31 12-25 12-28"},
    {2016, "01-01 03-25 03-28 05-02 05-30 08-29 12-26 12-27"},
    {2017, "01-02 04-14 04-17 05-01 05-29 08-28 12-25 12-26"},
    {2018, "01-01 03-30 04-02 05-07 05-28 08-27 12-25 12-26"},
    {2019, "01-01 04-19 04-22 05-06 05-27 08-26 12-25 12-26"},
    {2020, "01-01 04-10 04-13 05-08 05-25 08-31 12-25 12-28"},
    {2021, "01-01 04-02 04-05 05-03 05-31 08-30 12-27 12-28"},
    {2022, "01-03 04-15 04-18 05-02 06-02 06-03 08-29 09-19 12-26 12-27"},
    {2023, "01-02 04-07 04-10 05-01 05-08 05-29 08-28 12-25 12-26"},
    {2024, "01-01 03-29 04-01 05-06 05-27 08-26 12-25 12-26"},
    {2025, "01-01 04-18 04-21 05-05 05-26 08-25 12-25 12-26"},
    {2026, "01-01 04-03 04-06 05-04 05-25 08-31 12-25 12-28"},
    {2027, "01-01 03-26 03-29 05-03 05-31 08-30 12-27 12-28"},
    {0, NULL},
};

/* Scotland as published, copied verbatim from domain.md. */
static const struct published published_scot[] = {
    {2024, "01-01 01-02 03-29 05-06 05-27 08-05 12-02 12-25 12-26"},
    {2025, "01-01 01-02 04-18 05-05 05-26 08-04 12-01 12-25 12-26"},
    {2026, "01-01 01-02 04-03 05-04 05-25 08-03 11-30 12-25 12-28"},
    {2027, "01-01 01-04 03-26 05-03 05-31 08-02 11-30 12-27 12-28"},
    {0, NULL},
};

/* Northern Ireland as published, copied verbatim from domain.md. */
static const struct published published_ni[] = {
    {2024, "01-01 03-18 03-29 04-01 05-06 05-27 07-12 08-26 12-25 12-26"},
    {2025, "01-01 03-17 04-18 04-21 05-05 05-26 07-14 08-25 12-25 12-26"},
    {2026, "01-01 03-17 04-03 04-06 05-04 05-25 07-13 08-31 12-25 12-28"},
    {2027, "01-01 03-17 03-26 03-29 05-03 05-31 07-12 08-30 12-27 12-28"},
    {0, NULL},
};

/*
 * Days proclaimed after domain.md's lists were written, added to them here
 * (and nowhere else) so the verbatim copies above stay verbatim.
 */
static const struct one_off published_later[] = {
    {IN_SCOT, 0, 20260615, "World Cup bank holiday, royal proclamation of 4 February 2026"},
};

/* Parse a published year's "MM-DD ..." list into s. */
static void
parse_published(const struct published *p, struct dateset *s)
{
	s->n = 0;
	const char *c = p->days;
	while (*c) {
		int m, d, used;
		assert_int_equal(sscanf(c, "%2d-%2d%n", &m, &d, &used), 2);
		set_add(s, ymd(p->year, m, d));
		c += used;
		c += strspn(c, " ");
	}
}

/* Check (b): the file's published years equal domain.md's lists (plus later proclamations). */
static void
check_published(enum division div, const struct published *table)
{
	static struct holiday_file hf;
	read_holiday_file(div, &hf);
	int bad_years = 0, years = 0;
	for (const struct published *p = table; p->days; p++, years++) {
		struct dateset in_file, listed;
		file_year(&hf, p->year, &in_file);
		parse_published(p, &listed);
		for (size_t i = 0; i < sizeof published_later / sizeof published_later[0]; i++)
			if ((published_later[i].divisions & (1 << div)) &&
			    ymd_year(published_later[i].add) == p->year)
				set_add(&listed, published_later[i].add);
		if (!same_dates(hf.path, p->year, &in_file, "published list", &listed))
			bad_years++;
	}
	assert_true(years > 0);
	if (bad_years)
		fail_msg("%s: %d year(s) differ from the published list", hf.path, bad_years);
}

/* Check (c): the file is well formed. */
static void
check_format(enum division div)
{
	static struct holiday_file hf;
	read_holiday_file(div, &hf);
	for (int i = 0; i < hf.n_problems && i < MAX_PROBLEMS; i++)
		print_error("%s: %s\n", hf.path, hf.problems[i]);
	if (!hf.has_covers_line)
		print_error("%s: no \"# covers: 2015-2030\" line\n", hf.path);
	assert_true(hf.n_dates > 0);
	assert_int_equal(hf.n_problems, 0);
	assert_true(hf.has_covers_line);
	assert_int_equal(ymd_year(hf.dates[0]), FIRST_YEAR);
	assert_int_equal(ymd_year(hf.dates[hf.n_dates - 1]), LAST_YEAR);
}

/* Self-test of the helpers against known dates, so a helper bug cannot mask a data bug. */
static void
test_helpers(void **state)
{
	(void)state;
	assert_int_equal(easter_sunday(2016), 20160327);
	assert_int_equal(easter_sunday(2019), 20190421);
	assert_int_equal(easter_sunday(2024), 20240331);
	assert_int_equal(easter_sunday(2038), 20380425); /* latest possible */
	assert_int_equal(easter_sunday(2285), 22850322); /* earliest possible */
	assert_int_equal(weekday(20260101), 4);          /* Thursday */
	assert_int_equal(weekday(20241130), 6);          /* Saturday */
	assert_int_equal(add_days(20241231, 1), 20250101);
	assert_int_equal(add_days(20240301, -1), 20240229);
	assert_int_equal(first_monday(2027, 8), 20270802);
	assert_int_equal(last_monday(2026, 8), 20260831);
	assert_int_equal(parse_date("2023-02-29"), 0);
	assert_int_equal(parse_date("2024-02-29"), 20240229);
}

/* (a) England and Wales against the rules. */
static void
test_rules_england_and_wales(void **state)
{
	(void)state;
	check_rules(ENGLAND_AND_WALES);
}

/* (a) Scotland against the rules. */
static void
test_rules_scotland(void **state)
{
	(void)state;
	check_rules(SCOTLAND);
}

/* (a) Northern Ireland against the rules. */
static void
test_rules_northern_ireland(void **state)
{
	(void)state;
	check_rules(NORTHERN_IRELAND);
}

/* (b) England and Wales against the published list, 2015-2027. */
static void
test_published_england_and_wales(void **state)
{
	(void)state;
	check_published(ENGLAND_AND_WALES, published_ew);
}

/* (b) Scotland against the published list, 2024-2027. */
static void
test_published_scotland(void **state)
{
	(void)state;
	check_published(SCOTLAND, published_scot);
}

/* (b) Northern Ireland against the published list, 2024-2027. */
static void
test_published_northern_ireland(void **state)
{
	(void)state;
	check_published(NORTHERN_IRELAND, published_ni);
}

/* (c) England and Wales file format. */
static void
test_format_england_and_wales(void **state)
{
	(void)state;
	check_format(ENGLAND_AND_WALES);
}

/* (c) Scotland file format. */
static void
test_format_scotland(void **state)
{
	(void)state;
	check_format(SCOTLAND);
}

/* (c) Northern Ireland file format. */
static void
test_format_northern_ireland(void **state)
{
	(void)state;
	check_format(NORTHERN_IRELAND);
}

/* Run the checks: helpers first, then format, rules and published lists per division. */
int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_helpers),
	    cmocka_unit_test(test_format_england_and_wales),
	    cmocka_unit_test(test_format_scotland),
	    cmocka_unit_test(test_format_northern_ireland),
	    cmocka_unit_test(test_rules_england_and_wales),
	    cmocka_unit_test(test_rules_scotland),
	    cmocka_unit_test(test_rules_northern_ireland),
	    cmocka_unit_test(test_published_england_and_wales),
	    cmocka_unit_test(test_published_scotland),
	    cmocka_unit_test(test_published_northern_ireland),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
