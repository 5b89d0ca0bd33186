/* calendar.c - the working-day calendar: weekends and holiday files. */
#include "calendar.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"
#include "xalloc.h"

/*
 * Working-day arithmetic needs no table and no stepping. Number the working
 * days: W(x) = (Monday-Friday days before x, counted from a fixed Monday) -
 * (holidays falling Monday-Friday before x). Both terms are exact for any
 * date: the first is arithmetic on whole weeks, the second a binary search in
 * the sorted weekday holidays. W is non-decreasing and steps up by one just
 * after each working day, so "n working days after d" is the working day
 * whose number is W(d + 1) + n, found by inverting W with one more binary
 * search. Every query is O(log h) for h holidays, anywhere in years 1..9999.
 */

struct calendar {
	date_t *days; /* every holiday, sorted, no duplicates */
	char **names; /* names[i]: days[i]'s name (its file's comment), or NULL */
	size_t n, cap;
	date_t *weekdays; /* the holidays that fall Monday-Friday, sorted */
	size_t nweekdays;
	int first_year; /* years covered by the loaded files, 0 if none */
	int last_year;
};

/* A date read from a holiday file, with its line for messages. */
struct calendar_entry {
	date_t day;
	int line;
	char *name; /* the comment after the date, or NULL */
};

/* What one holiday file said, before it is merged into the calendar. */
struct calendar_file {
	const char *path;
	struct diag *d;
	size_t errors;
	struct calendar_entry *v;
	size_t n, cap;
	int covers_line; /* line of "# covers:", 0 if none */
	int covers_first;
	int covers_last;
};

/* The fixed Monday that weekday counting starts from: 1970-01-05. */
#define CALENDAR_MONDAY 4

/* A message longer than this quotes only the start of a bad line. */
#define CALENDAR_QUOTE_MAX 60

/* Longest holiday name kept, in bytes (cut on a character boundary): a name is a few words. */
#define CALENDAR_NAME_MAX 100

/* Floor division for a positive divisor. */
static int64_t
calendar_floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;

	if ((a % b) != 0 && a < 0)
		q--;
	return q;
}

/* Monday-Friday days in [CALENDAR_MONDAY, x), negative for x before it. */
static int64_t
calendar_weekdays_before(int64_t x)
{
	int64_t off = x - CALENDAR_MONDAY;
	int64_t weeks = calendar_floordiv(off, 7);
	int64_t rest = off - weeks * 7;

	return weeks * 5 + (rest < 5 ? rest : 5);
}

/* The smallest x with calendar_weekdays_before(x) >= k. */
static int64_t
calendar_weekdays_invert(int64_t k)
{
	int64_t weeks = calendar_floordiv(k, 5);
	int64_t rest = k - weeks * 5;

	/* k = 5 * weeks is already reached on the Saturday before. */
	if (rest == 0)
		return CALENDAR_MONDAY + weeks * 7 - 2;
	return CALENDAR_MONDAY + weeks * 7 + rest;
}

/* Index of the first element of v (sorted, n long) that is >= x. */
static size_t
calendar_lower_bound(const date_t *v, size_t n, int64_t x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* W(x): working days before x, numbered from the fixed Monday. */
static int64_t
calendar_number(const struct calendar *cal, int64_t x)
{
	int64_t w = calendar_weekdays_before(x);

	if (cal != NULL)
		w -= (int64_t)calendar_lower_bound(cal->weekdays, cal->nweekdays, x);
	return w;
}

/* The smallest x with W(x) >= k. */
static int64_t
calendar_invert(const struct calendar *cal, int64_t k)
{
	size_t lo = 0, hi = cal != NULL ? cal->nweekdays : 0;

	/*
	 * W(h[j]) = weekdays_before(h[j]) - j grows with j, so the holidays
	 * before the answer are exactly those with W(h[j]) < k: count them (m),
	 * then the answer is where the weekdays alone reach k + m.
	 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (calendar_weekdays_before(cal->weekdays[mid]) - (int64_t)mid < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return calendar_weekdays_invert(k + (int64_t)lo);
}

/* Clamp a day number to the range of date_t. */
static date_t
calendar_clamp(int64_t x)
{
	if (x < INT32_MIN)
		return INT32_MIN;
	if (x > INT32_MAX)
		return INT32_MAX;
	return (date_t)x;
}

/* Keep only the holidays that fall Monday-Friday in the weekday list. */
static void
calendar_rebuild(struct calendar *cal)
{
	free(cal->weekdays);
	cal->weekdays = xreallocarray(NULL, cal->n, sizeof *cal->weekdays);
	cal->nweekdays = 0;
	for (size_t i = 0; i < cal->n; i++) {
		if (date_weekday(cal->days[i]) <= 5)
			cal->weekdays[cal->nweekdays++] = cal->days[i];
	}
}

/* An empty calendar: Monday to Friday are working days, no holidays. */
struct calendar *
calendar_new(void)
{
	return xcalloc(1, sizeof(struct calendar));
}

/* Free a calendar. */
void
calendar_free(struct calendar *cal)
{
	if (cal == NULL)
		return;
	for (size_t i = 0; i < cal->n; i++)
		free(cal->names[i]);
	free(cal->names);
	free(cal->days);
	free(cal->weekdays);
	free(cal);
}

/*
 * Insert one holiday into the sorted list without rebuilding, taking name
 * (allocated, or NULL); 1 if it was new. A day already listed keeps the name
 * it has, or takes this one if it had none (the first file loaded names it).
 */
static int
calendar_insert(struct calendar *cal, date_t day, char *name)
{
	size_t i = calendar_lower_bound(cal->days, cal->n, day);

	if (i < cal->n && cal->days[i] == day) {
		if (cal->names[i] == NULL)
			cal->names[i] = name;
		else
			free(name);
		return 0;
	}
	if (cal->n == cal->cap) {
		cal->cap = cal->cap ? cal->cap * 2 : 64;
		cal->days = xreallocarray(cal->days, cal->cap, sizeof *cal->days);
		cal->names = xreallocarray(cal->names, cal->cap, sizeof *cal->names);
	}
	memmove(cal->days + i + 1, cal->days + i, (cal->n - i) * sizeof *cal->days);
	memmove(cal->names + i + 1, cal->names + i, (cal->n - i) * sizeof *cal->names);
	cal->days[i] = day;
	cal->names[i] = name;
	cal->n++;
	return 1;
}

/* Add one holiday. */
void
calendar_add_holiday(struct calendar *cal, date_t day)
{
	if (calendar_insert(cal, day, NULL))
		calendar_rebuild(cal);
}

/* Add one holiday with its name. */
void
calendar_add_named_holiday(struct calendar *cal, date_t day, const char *name)
{
	if (calendar_insert(cal, day, name != NULL && *name != '\0' ? xstrdup(name) : NULL))
		calendar_rebuild(cal);
}

/* The name of a listed holiday, or NULL. */
const char *
calendar_holiday_name(const struct calendar *cal, date_t day)
{
	size_t i;

	if (cal == NULL)
		return NULL;
	i = calendar_lower_bound(cal->days, cal->n, day);
	return i < cal->n && cal->days[i] == day ? cal->names[i] : NULL;
}

/* Is day a listed holiday? */
bool
calendar_is_holiday(const struct calendar *cal, date_t day)
{
	size_t i;

	if (cal == NULL)
		return false;
	i = calendar_lower_bound(cal->days, cal->n, day);
	return i < cal->n && cal->days[i] == day;
}

/* Monday-Friday and not a holiday? */
bool
calendar_is_working_day(const struct calendar *cal, date_t day)
{
	return date_weekday(day) <= 5 && !calendar_is_holiday(cal, day);
}

/* day itself if it is a working day, otherwise the next working day. */
date_t
calendar_next_working_day(const struct calendar *cal, date_t day)
{
	/* The first working day after day - 1. */
	return calendar_clamp(calendar_invert(cal, calendar_number(cal, day) + 1) - 1);
}

/* n working days after day (before it for negative n); day itself for 0. */
date_t
calendar_add_working_days(const struct calendar *cal, date_t day, int n)
{
	int64_t target;

	if (n == 0)
		return day;
	/*
	 * Forwards: the working day numbered W(day + 1) + n, counting from
	 * the day after. Backwards: the last x with W(x) = W(day) + n, whose
	 * working day is x itself, so one before the first x with one more.
	 */
	if (n > 0)
		target = calendar_number(cal, (int64_t)day + 1) + n;
	else
		target = calendar_number(cal, day) + n + 1;
	return calendar_clamp(calendar_invert(cal, target) - 1);
}

/* Working days d with from < d <= to (0 if to <= from). */
int
calendar_working_days_between(const struct calendar *cal, date_t from, date_t to)
{
	if (to <= from)
		return 0;
	return (int)(calendar_number(cal, (int64_t)to + 1) -
	             calendar_number(cal, (int64_t)from + 1));
}

/* First year covered by the loaded files; 0 if no file was loaded. */
int
calendar_first_year(const struct calendar *cal)
{
	return cal->first_year;
}

/* Last year covered by the loaded files; 0 if no file was loaded. */
int
calendar_last_year(const struct calendar *cal)
{
	return cal->last_year;
}

/* Number of holidays loaded. */
int
calendar_count(const struct calendar *cal)
{
	return (int)cal->n;
}

static void calendar_file_error(struct calendar_file *, int, const char *, ...) PRINTFLIKE(3, 4);

/* Report one bad line of a holiday file. */
static void
calendar_file_error(struct calendar_file *cf, int line, const char *fmt, ...)
{
	va_list ap;
	char *text;

	cf->errors++;
	if (cf->d == NULL)
		return;
	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(cf->d, DIAG_ERROR, "%s:%d: %s", cf->path, line, text);
	free(text);
}

/* Parse exactly four digits. */
static int
calendar_year(const char *s, int *out)
{
	int y = 0;

	for (int i = 0; i < 4; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		y = y * 10 + (s[i] - '0');
	}
	*out = y;
	return 0;
}

/* Skip spaces and tabs. */
static const char *
calendar_skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Handle a comment line: ordinary, or "# covers: YYYY-YYYY". */
static void
calendar_comment(struct calendar_file *cf, int line, const char *s)
{
	int first, last;

	s = calendar_skip_space(s + 1);
	if (strncasecmp(s, "covers", 6) != 0)
		return;
	s = calendar_skip_space(s + 6);
	if (*s != ':')
		return;
	s = calendar_skip_space(s + 1);
	if (calendar_year(s, &first) != 0)
		goto bad;
	s = calendar_skip_space(s + 4);
	if (*s != '-')
		goto bad;
	s = calendar_skip_space(s + 1);
	if (calendar_year(s, &last) != 0 || s[4] != '\0')
		goto bad;
	if (first < 1 || last < 1) {
		calendar_file_error(cf, line,
		                    "covers: year 0000 does not exist; expected years "
		                    "0001 to 9999");
		return;
	}
	if (first > last) {
		calendar_file_error(cf, line,
		                    "covers: first year %04d is after last year %04d; expected "
		                    "\"# covers: FIRST-LAST\"",
		                    first, last);
		return;
	}
	if (cf->covers_line != 0) {
		calendar_file_error(cf, line,
		                    "second \"# covers:\" line (the first is line %d); expected at "
		                    "most one per file",
		                    cf->covers_line);
		return;
	}
	cf->covers_line = line;
	cf->covers_first = first;
	cf->covers_last = last;
	return;

bad:
	calendar_file_error(cf, line,
	                    "bad covers line; expected \"# covers: YYYY-YYYY\", e.g. "
	                    "\"# covers: 2015-2030\"");
}

/* Explain why a YYYY-MM-DD shaped token is not a real date, or "" if it is not that shape. */
static const char *
calendar_why_not(const char *s, size_t len, char *buf, size_t size)
{
	static const char *months[12] = {"January",   "February", "March",    "April",
	                                 "May",       "June",     "July",     "August",
	                                 "September", "October",  "November", "December"};
	int y, m, dd;

	if (len != 10 || calendar_year(s, &y) != 0 || s[4] != '-' || s[7] != '-')
		return "";
	if (!isdigit((unsigned char)s[5]) || !isdigit((unsigned char)s[6]) ||
	    !isdigit((unsigned char)s[8]) || !isdigit((unsigned char)s[9]))
		return "";
	m = (s[5] - '0') * 10 + (s[6] - '0');
	dd = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1)
		snprintf(buf, size, " (there is no year 0000)");
	else if (m < 1 || m > 12)
		snprintf(buf, size, " (there is no month %02d)", m);
	else if (dd < 1)
		snprintf(buf, size, " (there is no day 00)");
	else
		snprintf(buf, size, " (%s %04d has %d days)", months[m - 1], y,
		         date_days_in_month(y, m));
	return buf;
}

/*
 * The holiday's name from the comment after its date (s: the text after
 * '#', the line already stripped at its end): control characters made
 * spaces, then spaces around it dropped, at most CALENDAR_NAME_MAX bytes
 * (and no space at the end of what is kept). NULL when empty. Allocated.
 */
static char *
calendar_name(const char *s)
{
	char *name = xstrdup(s), *p = name;
	size_t len;

	/* It is printed for people (escalatord explain): no tab or escape may reach a terminal. */
	for (char *q = name; *q != '\0'; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f)
			*q = ' ';
	while (*p == ' ')
		p++;
	len = strlen(p);
	if (len > CALENDAR_NAME_MAX)
		len = utf8_boundary(p, CALENDAR_NAME_MAX);
	while (len > 0 && p[len - 1] == ' ')
		len--;
	if (len == 0) {
		free(name);
		return NULL;
	}
	memmove(name, p, len);
	name[len] = '\0';
	return name;
}

/* Parse one line of a holiday file (already stripped of surrounding space). */
static void
calendar_line(struct calendar_file *cf, int line, const char *s)
{
	size_t len = strcspn(s, " \t");
	const char *rest = calendar_skip_space(s + len);
	int quoted = len > CALENDAR_QUOTE_MAX ? CALENDAR_QUOTE_MAX : (int)len;
	char why[64];
	date_t day;
	char token[16];

	if (*s == '#') {
		calendar_comment(cf, line, s);
		return;
	}
	if (len >= sizeof token) {
		calendar_file_error(
		    cf, line, "\"%.*s%s\" is not a date; expected one YYYY-MM-DD date per line",
		    quoted, s, len > (size_t)quoted ? "..." : "");
		return;
	}
	memcpy(token, s, len);
	token[len] = '\0';
	if (date_parse_strict(token, &day) != 0) {
		calendar_file_error(cf, line,
		                    "\"%s\" is not a date%s; expected one YYYY-MM-DD date per line",
		                    token, calendar_why_not(token, len, why, sizeof why));
		return;
	}
	if (*rest != '\0' && *rest != '#') {
		len = strlen(rest);
		quoted = len > CALENDAR_QUOTE_MAX ? CALENDAR_QUOTE_MAX : (int)len;
		calendar_file_error(cf, line,
		                    "unexpected \"%.*s%s\" after the date; expected one YYYY-MM-DD "
		                    "date per line, optionally followed by a # comment",
		                    quoted, rest, len > (size_t)quoted ? "..." : "");
		return;
	}
	if (cf->n == cf->cap) {
		cf->cap = cf->cap ? cf->cap * 2 : 64;
		cf->v = xreallocarray(cf->v, cf->cap, sizeof *cf->v);
	}
	cf->v[cf->n].day = day;
	cf->v[cf->n].line = line;
	cf->v[cf->n].name = *rest == '#' ? calendar_name(rest + 1) : NULL;
	cf->n++;
}

/* Read every line of an open holiday file into cf. */
static void
calendar_read(struct calendar_file *cf, FILE *f)
{
	char *buf = NULL, *s, *end;
	size_t size = 0;
	ssize_t got;
	int line = 0;

	while ((got = getline(&buf, &size, f)) != -1) {
		line++;
		s = buf;
		if (line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
			s += 3; /* a UTF-8 byte order mark */
		if (strlen(buf) != (size_t)got) {
			calendar_file_error(
			    cf, line, "contains a NUL byte; expected one YYYY-MM-DD date per line");
			continue;
		}
		while (*s != '\0' && isspace((unsigned char)*s))
			s++;
		end = s + strlen(s);
		while (end > s && isspace((unsigned char)end[-1]))
			end--;
		*end = '\0';
		if (*s != '\0')
			calendar_line(cf, line, s);
	}
	free(buf);
}

/* Add the holidays of one file; -1 (calendar unchanged) on any error. */
int
calendar_load_file(struct calendar *cal, const char *path, struct diag *d)
{
	struct calendar_file cf;
	FILE *f;
	int first = 0, last = 0, y, m, day, saved;
	char buf[DATE_STRLEN];

	memset(&cf, 0, sizeof cf);
	cf.path = path;
	cf.d = d;

	if ((f = fopen(path, "r")) == NULL) {
		if (d != NULL)
			diag_add(d, DIAG_ERROR, "%s: %s", path, strerror(errno));
		return -1;
	}
	errno = 0;
	calendar_read(&cf, f);
	if (ferror(f)) {
		saved = errno != 0 ? errno : EIO;
		if (d != NULL)
			diag_add(d, DIAG_ERROR, "%s: %s", path, strerror(saved));
		cf.errors++;
	}
	fclose(f);
	if (cf.errors != 0) {
		for (size_t i = 0; i < cf.n; i++)
			free(cf.v[i].name);
		free(cf.v);
		return -1;
	}

	/* Coverage: as stated, or from the first to the last date. */
	if (cf.covers_line != 0) {
		first = cf.covers_first;
		last = cf.covers_last;
	}
	for (size_t i = 0; i < cf.n; i++) {
		date_to_ymd(cf.v[i].day, &y, &m, &day);
		if (cf.covers_line == 0) {
			if (first == 0 || y < first)
				first = y;
			if (last == 0 || y > last)
				last = y;
		} else if ((y < first || y > last) && d != NULL) {
			diag_add(d, DIAG_WARNING,
			         "%s:%d: %s is outside the years the file covers (%04d-%04d, line "
			         "%d)",
			         path, cf.v[i].line, date_format(cf.v[i].day, buf), first, last,
			         cf.covers_line);
		}
		calendar_insert(cal, cf.v[i].day, cf.v[i].name);
	}
	free(cf.v);
	calendar_rebuild(cal);

	if (first != 0) {
		if (cal->first_year == 0 || first < cal->first_year)
			cal->first_year = first;
		if (cal->last_year == 0 || last > cal->last_year)
			cal->last_year = last;
	}
	return 0;
}
