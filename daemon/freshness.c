/*
 * freshness.c - is the case store's data recent? Parsing, the alarm, its
 * message: no I/O (freshness_measure.c measures), so the fuzzers and
 * escalator.conf's parser use it alone.
 */
#include "freshness.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "date.h"
#include "suggest.h"
#include "xalloc.h"

/* The units of max_store_age. */
static const struct {
	const char *singular, *plural;
	long long seconds;
} freshness_units[] = {
    {"minute", "minutes", 60},
    {"hour", "hours", 3600},
    {"day", "days", 86400},
    {"week", "weeks", 7 * 86400},
};
#define FRESHNESS_NUNITS (sizeof freshness_units / sizeof freshness_units[0])

/* Parse max_store_age into seconds. */
int
freshness_parse_age(const char *s, long long *seconds, char **cause)
{
	const char *p = s, *word;
	const char *spellings[2 * FRESHNESS_NUNITS], *near;
	long long n = 0;
	size_t len;
	int digits = 0;

	while (*p == ' ')
		p++;
	for (; isdigit((unsigned char)*p); p++, digits++)
		if ((n = n * 10 + (*p - '0')) > FRESHNESS_AGE_MAX)
			n = FRESHNESS_AGE_MAX + 1; /* (stays over: no overflow) */
	if (digits == 0 || *p != ' ') {
		*cause = xasprintf("\"%s\" is not an age; expected a whole number and minutes, "
		                   "hours, days or weeks, e.g. \"26 hours\"",
		                   s);
		return -1;
	}
	while (*p == ' ')
		p++;
	word = p;
	len = strlen(word);
	while (len > 0 && word[len - 1] == ' ')
		len--;
	for (size_t i = 0; i < FRESHNESS_NUNITS; i++) {
		if ((strlen(freshness_units[i].plural) == len &&
		     strncmp(word, freshness_units[i].plural, len) == 0) ||
		    (strlen(freshness_units[i].singular) == len &&
		     strncmp(word, freshness_units[i].singular, len) == 0)) {
			if (n > FRESHNESS_AGE_MAX / freshness_units[i].seconds ||
			    n * freshness_units[i].seconds < FRESHNESS_AGE_MIN) {
				*cause = xasprintf("\"%s\" is out of range; expected from 1 minute "
				                   "to 366 days",
				                   s);
				return -1;
			}
			*seconds = n * freshness_units[i].seconds;
			return 0;
		}
		spellings[2 * i] = freshness_units[i].plural;
		spellings[2 * i + 1] = freshness_units[i].singular;
	}
	{
		char *unit = xstrndup(word, len);

		/* Working days would need the calendar; the extract's age is a plain span. */
		if (strstr(unit, "working") != NULL)
			*cause =
			    xasprintf("\"%s\": the age is a plain span of time, not working "
			              "days; e.g. \"74 hours\" for an extract that does not run "
			              "at weekends",
			              s);
		else if ((near = suggest_word(unit, spellings, 2 * FRESHNESS_NUNITS)) != NULL)
			*cause = xasprintf("\"%s\": unknown unit \"%s\"; did you mean \"%s\"?", s,
			                   unit, near);
		else
			*cause = xasprintf("\"%s\": unknown unit \"%s\"; expected minutes, hours, "
			                   "days or weeks",
			                   s, unit);
		free(unit);
	}
	return -1;
}

/* Read exactly n digits at *p into *v, moving *p on; -1 if they are not there. */
static int
freshness_digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (!isdigit((unsigned char)**p))
			return -1;
		*v = *v * 10 + (**p - '0');
	}
	return 0;
}

/* A zone at p ("Z", "+HH:MM", "+HHMM", "+HH") into seconds east of UTC; -1 if it is none. */
static int
freshness_zone(const char *p, long *east)
{
	int sign, h, m = 0;

	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
		*east = 0;
		return 0;
	}
	if (*p != '+' && *p != '-')
		return -1;
	sign = *p++ == '-' ? -1 : 1;
	if (freshness_digits(&p, 2, &h) != 0 || h > 23)
		return -1;
	if (*p == ':')
		p++;
	if (*p != '\0' && (freshness_digits(&p, 2, &m) != 0 || m > 59))
		return -1;
	if (*p != '\0')
		return -1;
	*east = sign * (h * 3600L + m * 60L);
	return 0;
}

/* Parse a time freshness_query returned. */
int
freshness_parse_time(const char *s, time_t *out)
{
	const char *p = s;
	int y, mo, d, h = 0, mi = 0, sec = 0;
	long east = 0;
	bool zoned = false;
	date_t day;

	if (*p != '\0' && strspn(p, "0123456789") == strlen(p) && strlen(p) <= 12) {
		*out = (time_t)strtoll(p, NULL, 10);
		return 0;
	}
	if (freshness_digits(&p, 4, &y) != 0 || *p++ != '-' || freshness_digits(&p, 2, &mo) != 0 ||
	    *p++ != '-' || freshness_digits(&p, 2, &d) != 0 || !date_valid_ymd(y, mo, d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (freshness_digits(&p, 2, &h) != 0 || h > 23 || *p++ != ':' ||
		    freshness_digits(&p, 2, &mi) != 0 || mi > 59)
			return -1;
		if (*p == ':' && (p++, freshness_digits(&p, 2, &sec) != 0 || sec > 60))
			return -1;
		if (*p == '.' || *p == ',') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -1;
			while (isdigit((unsigned char)*p))
				p++;
		}
		if (*p != '\0') {
			if (freshness_zone(p, &east) != 0)
				return -1;
			zoned = true;
		}
	} else if (*p != '\0')
		return -1;
	if (sec == 60)
		sec = 59; /* a leap second: near enough */
	day = date_from_ymd(y, mo, d);
	if (zoned)
		*out = (time_t)day * 86400 + h * 3600 + mi * 60 + sec - east;
	else
		*out = clock_instant((localtime_min_t)day * 1440 + h * 60 + mi, sec);
	return 0;
}

/* Free what a reading holds. */
void
freshness_reading_clear(struct freshness_reading *r)
{
	free(r->why);
	r->why = NULL;
}

/* The age of r's data at now, -1 when unknown. */
long long
freshness_age(const struct freshness_reading *r, time_t now)
{
	if (!r->known)
		return -1;
	return now > r->data_time ? (long long)(now - r->data_time) : 0;
}

/* One reading against max_age: update st, say whether the admin should hear. */
enum freshness_event
freshness_judge(struct freshness_state *st, const struct freshness_reading *r, long long max_age,
                time_t now)
{
	long long age = freshness_age(r, now);

	if (age < 0) {
		if (st->unknown_since == 0)
			st->unknown_since = now;
		/* Not knowing for as long as the data may be old is no better than old data. */
		if (st->stale || now - st->unknown_since < max_age)
			return FRESHNESS_SAME;
		st->stale = true;
		st->since = now;
		st->data_time = 0;
		return FRESHNESS_STALE;
	}
	st->unknown_since = 0;
	if (age > max_age) {
		if (st->stale)
			return FRESHNESS_SAME;
		st->stale = true;
	} else {
		if (!st->stale)
			return FRESHNESS_SAME;
		st->stale = false;
	}
	st->since = now;
	st->data_time = r->data_time;
	return st->stale ? FRESHNESS_STALE : FRESHNESS_FRESH;
}

/* st as JSON text. */
char *
freshness_state_json(const struct freshness_state *st)
{
	json_t *o =
	    json_pack("{s:b, s:I, s:I, s:I}", "stale", st->stale, "since", (json_int_t)st->since,
	              "data_time", (json_int_t)st->data_time, "told", (json_int_t)st->told);
	char *text;

	json_object_set_new(o, "admin", st->admin != NULL ? json_string(st->admin) : json_null());
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL)
		fatalx("out of memory");
	return text;
}

/* Fill st from the JSON value recorded. */
int
freshness_state_load(const json_t *j, struct freshness_state *st)
{
	const json_t *admin;

	freshness_state_clear(st);
	if (j == NULL)
		return 0;
	if (!json_is_object(j) || !json_is_boolean(json_object_get(j, "stale")))
		return -1;
	st->stale = json_is_true(json_object_get(j, "stale"));
	st->since = (time_t)json_integer_value(json_object_get(j, "since"));
	st->data_time = (time_t)json_integer_value(json_object_get(j, "data_time"));
	st->told = (time_t)json_integer_value(json_object_get(j, "told"));
	if (json_is_string(admin = json_object_get(j, "admin")))
		st->admin = xstrdup(json_string_value(admin));
	return 0;
}

/* Forget everything st holds. */
void
freshness_state_clear(struct freshness_state *st)
{
	free(st->admin);
	memset(st, 0, sizeof *st);
}

/* The admin's message. */
void
freshness_message(enum freshness_event ev, const struct freshness_state *st,
                  const struct freshness_reading *r, const char *path, const char *max_age_text,
                  time_t now, char **subject, char **body)
{
	char when[64], span[64], since[64];
	long long age = freshness_age(r, now);
	char *what;

	if (ev == FRESHNESS_FRESH) {
		*subject = xstrdup("escalator: the case store has new data again");
		*body = xasprintf(
		    "The case store %s has new data again: %s %s (%s old), within max_store_age "
		    "(%s).\n\nAlerts are worked out from current data again.\n",
		    path, r->from_query ? "its freshness_query says it is from" : "it changed on",
		    freshness_when(r->data_time, when, sizeof when),
		    freshness_span(age, span, sizeof span), max_age_text);
		return;
	}
	if (age < 0) {
		*subject = xstrdup("escalator cannot tell how old the case store's data is; check "
		                   "the extract");
		what = xasprintf("escalator has not been able to tell how old the data in the "
		                 "case store %s is since %s (%s): %s.",
		                 path, freshness_when(st->unknown_since, since, sizeof since),
		                 freshness_span(now - st->unknown_since, span, sizeof span),
		                 r->why != NULL ? r->why : "unknown");
	} else {
		*subject =
		    xasprintf("escalator: the case store's data is %s old; check the extract",
		              freshness_span(age, span, sizeof span));
		what =
		    xasprintf("The data in the case store %s is %s old: %s %s. escalator expects "
		              "new data at least every %s (max_store_age).",
		              path, span,
		              r->from_query ? "its freshness_query says it is from"
		                            : "the file last changed on",
		              freshness_when(r->data_time, when, sizeof when), max_age_text);
	}
	*body = xasprintf(
	    "%s\n\nThe extract from the case management system may have stopped arriving. "
	    "Alerts keep going out from the data escalator has; check the extract. Until new data "
	    "arrives, a review or conference held since then is not known to escalator, so an "
	    "\"overdue\" alert may be about one already held, and a child who came into care "
	    "since then is not being watched.\n\nescalator tells you again when new data "
	    "arrives.\n",
	    what);
	free(what);
}

/* A span for people. */
char *
freshness_span(long long s, char *buf, size_t len)
{
	static const struct {
		long long seconds;
		const char *one, *many;
	} u[] = {{86400, "day", "days"},
	         {3600, "hour", "hours"},
	         {60, "minute", "minutes"},
	         {1, "second", "seconds"}};
	size_t i;
	long long a, b;

	if (s < 0)
		s = 0;
	for (i = 0; i < 3 && s < u[i].seconds; i++)
		;
	a = s / u[i].seconds;
	b = i < 3 ? (s % u[i].seconds) / u[i + 1].seconds : 0;
	/* Seconds only when they are all there is. */
	if (i == 2)
		b = 0;
	if (b > 0)
		snprintf(buf, len, "%lld %s %lld %s", a, a == 1 ? u[i].one : u[i].many, b,
		         b == 1 ? u[i + 1].one : u[i + 1].many);
	else
		snprintf(buf, len, "%lld %s", a, a == 1 ? u[i].one : u[i].many);
	return buf;
}

/* A local time for people. */
char *
freshness_when(time_t t, char *buf, size_t len)
{
	char when[LOCALTIME_HUMAN_LEN];

	snprintf(buf, len, "%s", localtime_human(clock_local(t, NULL), when));
	return buf;
}
