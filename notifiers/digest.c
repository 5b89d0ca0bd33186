/*
 * digest.c - what every channel's message says, in reading order: the order
 * of a digest's items, its subject, the sentences every renderer shares, and
 * the plain text of a message (digest_html.c makes the HTML).
 */
#include "digest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "utf8.h"
#include "xalloc.h"

/* Longest case_url that is made a link. */
#define DIGEST_URL_MAX 2000

static const char *const digest_days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const digest_months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A section's heading for people. */
const char *
digest_section_title(enum digest_section s)
{
	switch (s) {
	case DIGEST_ESCALATIONS:
		return "Escalated to you";
	case DIGEST_OVERDUE:
		return "Overdue";
	case DIGEST_REMINDERS:
		return "Coming due";
	case DIGEST_COPIED:
		return "Escalated past you";
	case DIGEST_DONE:
		return "Done since your last message";
	case DIGEST_NOTICES:
	case DIGEST_NSECTIONS:
		break;
	}
	return "About the service";
}

/* The section an item belongs to. */
enum digest_section
digest_section_of(const struct delivery *item)
{
	if (item->closed)
		return DIGEST_DONE;
	if (item->notice)
		return DIGEST_NOTICES;
	if (item->copied != NULL)
		return DIGEST_COPIED;
	switch (item->urgency) {
	case DELIVERY_ESCALATION:
		return DIGEST_ESCALATIONS;
	case DELIVERY_OVERDUE:
		return DIGEST_OVERDUE;
	case DELIVERY_REMINDER:
		break;
	}
	return DIGEST_REMINDERS;
}

/* How late an item is, for ordering: days late, or for a closed clock how late it closed. */
static int
digest_late(const struct delivery *item)
{
	return item->closed ? item->closed_late : item->days_late;
}

/* qsort order of two items: section, most days late, case reference, rule, id. */
static int
digest_cmp(const void *pa, const void *pb)
{
	const struct delivery *a = *(const struct delivery *const *)pa;
	const struct delivery *b = *(const struct delivery *const *)pb;
	int sa = (int)digest_section_of(a), sb = (int)digest_section_of(b), c;

	if (sa != sb)
		return sa - sb;
	if (digest_late(a) != digest_late(b))
		return digest_late(b) > digest_late(a) ? 1 : -1;
	if ((c = strcmp(a->case_ref ? a->case_ref : "", b->case_ref ? b->case_ref : "")) != 0)
		return c;
	if ((c = strcmp(a->rule ? a->rule : "", b->rule ? b->rule : "")) != 0)
		return c;
	return (a->id > b->id) - (a->id < b->id);
}

/* The items of digest d in reading order. */
void
digest_order(const struct delivery *d, const struct delivery **out, enum digest_section *sec)
{
	for (size_t i = 0; i < d->nitems; i++)
		out[i] = d->items[i];
	qsort(out, d->nitems, sizeof *out, digest_cmp);
	if (sec != NULL)
		for (size_t i = 0; i < d->nitems; i++)
			sec[i] = digest_section_of(out[i]);
}

/* How many of d's items are in each section. */
void
digest_count(const struct delivery *d, size_t *count)
{
	memset(count, 0, DIGEST_NSECTIONS * sizeof *count);
	for (size_t i = 0; i < d->nitems; i++)
		count[digest_section_of(d->items[i])]++;
}

/* A digest's subject. */
char *
digest_subject(const struct delivery *d)
{
	static const char *const what[DIGEST_NSECTIONS] = {
	    "escalated to you",   "overdue", "coming due",
	    "escalated past you", "done",    "about the service"};
	size_t count[DIGEST_NSECTIONS];
	char buf[256], *p = buf;
	size_t left = sizeof buf;
	int n;

	digest_count(d, count);
	buf[0] = '\0';
	for (int s = 0; s < DIGEST_NSECTIONS; s++) {
		if (count[s] == 0)
			continue;
		n = snprintf(p, left, "%s%zu %s", p == buf ? "" : ", ", count[s],
		             s == DIGEST_NOTICES
		                 ? (count[s] == 1 ? "service notice" : "service notices")
		                 : what[s]);
		if (n < 0 || (size_t)n >= left)
			break;
		p += n;
		left -= (size_t)n;
	}
	if (d->parts > 1)
		snprintf(p, left, " (part %d of %d)", d->part, d->parts);
	return xasprintf("escalator: %s", buf[0] != '\0' ? buf : "nothing new");
}

/* Is the character at p (valid UTF-8) a control character: C0, DEL or C1? */
static int
digest_control(const unsigned char *p)
{
	return *p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);
}

/* s cleaned for people and cut to max bytes. */
char *
digest_clean(const char *s, size_t max, bool multiline)
{
	char *valid = utf8_sanitize(s != NULL ? s : ""), *out;
	const unsigned char *p = (const unsigned char *)valid;
	size_t o = 0, spaces = 0, newlines = 0, k;
	int control = 0;

	out = xmalloc(strlen(valid) + 4);
	while (*p != '\0') {
		size_t len = utf8_seq_len(p);

		if (len == 0)
			len = 1; /* cannot happen after utf8_sanitize */
		if (multiline && (*p == '\r' || *p == '\n')) {
			p += *p == '\r' && p[1] == '\n' ? 2 : 1;
			/* Spaces before a line break are dropped; those after it indent. */
			newlines++;
			spaces = 0;
			control = 0;
			continue;
		}
		if (digest_control(p) || *p == ' ') {
			/* A run of control characters is one space; ordinary spaces are kept. */
			if (*p == ' ' || (multiline && *p == '\t') || !control)
				out[o + spaces++] = multiline && *p == '\t' ? '\t' : ' ';
			control = *p != ' ' && !(multiline && *p == '\t');
			p += len;
			continue;
		}
		if (o > 0) {
			/* The pending white space (kept at out + o) moves after the line breaks. */
			size_t nl = newlines < 2 ? newlines : 2;

			memmove(out + o + nl, out + o, spaces);
			memset(out + o, '\n', nl);
			o += nl + spaces;
		}
		newlines = spaces = 0;
		control = 0;
		memcpy(out + o, p, len);
		o += len;
		p += len;
	}
	out[o] = '\0';
	free(valid);
	if (max < 4)
		max = 4;
	if (o <= max)
		return out;
	/* Cut on a character boundary, leaving room for "…" (3 bytes). */
	k = utf8_boundary(out, max - 3);
	while (k > 0 && (out[k - 1] == ' ' || out[k - 1] == '\t' || out[k - 1] == '\n'))
		k--;
	memcpy(out + k, "\xe2\x80\xa6", 4);
	return out;
}

/* Parse the digits of s[0..n) into *v; 0 if any is not a digit. */
static int
digest_digits(const char *s, size_t n, int *v)
{
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		*v = *v * 10 + (s[i] - '0');
	}
	return 1;
}

/* Parse "YYYY-MM-DD" at the start of s: 1 with *y, *m (1-12), *d and *wday (0 Sunday), else 0. */
static int
digest_ymd(const char *s, int *y, int *m, int *d, int *wday)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
	int leap, yy;

	if (s == NULL || strlen(s) < 10 || s[4] != '-' || s[7] != '-' || !digest_digits(s, 4, y) ||
	    !digest_digits(s + 5, 2, m) || !digest_digits(s + 8, 2, d))
		return 0;
	leap = (*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0;
	if (*y < 1 || *m < 1 || *m > 12 || *d < 1 || *d > mdays[*m - 1] + (*m == 2 && leap))
		return 0;
	/* Sakamoto's day of the week. */
	yy = *y - (*m < 3);
	*wday = (yy + yy / 4 - yy / 100 + yy / 400 + t[*m - 1] + *d) % 7;
	return 1;
}

/* A date for people. */
char *
digest_date(const char *ymd)
{
	int y, m, d, w;

	if (!digest_ymd(ymd, &y, &m, &d, &w))
		return digest_clean(ymd, DIGEST_VALUE_MAX, false);
	return xasprintf("%s %d %s %04d", digest_days[w], d, digest_months[m - 1], y);
}

/* A time of the history for people. */
char *
digest_when(const char *utc)
{
	int y, m, d, w, hh, mm;

	if (!digest_ymd(utc, &y, &m, &d, &w) || strlen(utc) < 16 || utc[10] != 'T' ||
	    utc[13] != ':' || !digest_digits(utc + 11, 2, &hh) ||
	    !digest_digits(utc + 14, 2, &mm) || hh > 23 || mm > 59)
		return digest_clean(utc, DIGEST_VALUE_MAX, false);
	return xasprintf("%d %s %04d %02d:%02d UTC", d, digest_months[m - 1], y, hh, mm);
}

/* u when it is fit to be a link in a message (digest_case_url's rules), else NULL. */
static const char *
digest_url(const char *u)
{
	const char *rest;
	size_t len;

	if (u == NULL)
		return NULL;
	if (strncasecmp(u, "https://", 8) == 0)
		rest = u + 8;
	else if (strncasecmp(u, "http://", 7) == 0)
		rest = u + 7;
	else
		return NULL;
	len = strlen(u);
	if (*rest == '\0' || *rest == '/' || len > DIGEST_URL_MAX)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)u; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || strchr("\"'<>\\`", *p) != NULL)
			return NULL;
	return u;
}

/* A day for people from a UTC time, as the local date. */
char *
digest_day(const char *utc)
{
	int y, m, d, w, hh, mm;
	struct tm tm = {0};
	time_t t;

	if (!digest_ymd(utc, &y, &m, &d, &w) || strlen(utc) < 16 || utc[10] != 'T' ||
	    utc[13] != ':' || !digest_digits(utc + 11, 2, &hh) ||
	    !digest_digits(utc + 14, 2, &mm) || hh > 23 || mm > 59)
		return digest_clean(utc, DIGEST_VALUE_MAX, false);
	/* Recorded in UTC; read where the council is (an answer at 23:30 in summer is the next
	 * day). */
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	t = timegm(&tm);
	if (t != (time_t)-1 && localtime_r(&t, &tm) != NULL)
		return xasprintf("%d %s %04d", tm.tm_mday, digest_months[tm.tm_mon % 12],
		                 tm.tm_year + 1900);
	return xasprintf("%d %s %04d", d, digest_months[m - 1], y);
}

/* Where item's case reference links to, or NULL. */
const char *
digest_case_url(const struct delivery *item)
{
	return digest_url(item->case_url);
}

/* Where item's recipient answers it, or NULL. */
const char *
digest_answer_url(const struct delivery *item)
{
	return digest_url(item->response_link);
}

/* How many actionable items d has (needing the recipient), and in how many cases. */
static size_t
digest_actionable(const struct delivery *d, size_t *ncases)
{
	size_t n = 0;

	*ncases = 0;
	for (size_t i = 0; i < d->nitems; i++) {
		const struct delivery *it = d->items[i];
		enum digest_section s = digest_section_of(it);
		size_t j;

		if (s == DIGEST_DONE || s == DIGEST_NOTICES)
			continue;
		n++;
		/* A case counts once, at its first actionable item. */
		for (j = 0; j < i; j++) {
			enum digest_section t = digest_section_of(d->items[j]);

			if (t != DIGEST_DONE && t != DIGEST_NOTICES &&
			    strcmp(d->items[j]->case_ref ? d->items[j]->case_ref : "",
			           it->case_ref ? it->case_ref : "") == 0)
				break;
		}
		if (j == i)
			(*ncases)++;
	}
	return n;
}

/* A digest's headline. */
char *
digest_headline(const struct delivery *d)
{
	size_t ncases;

	if (digest_actionable(d, &ncases) == 0)
		return xstrdup("Nothing new needs you today");
	return xasprintf("%zu case%s need%s you today", ncases, ncases == 1 ? "" : "s",
	                 ncases == 1 ? "s" : "");
}

/* What follows a digest's headline. */
char *
digest_summary(const struct delivery *d)
{
	static const char *const what[] = {"escalated to you", "overdue", "coming due",
	                                   "escalated past you (told late)"};
	size_t count[DIGEST_NSECTIONS], shown = 0, nkinds = 0;
	char *s = xstrdup(""), *t;

	digest_count(d, count);
	for (int k = 0; k <= DIGEST_COPIED; k++)
		nkinds += count[k] > 0;
	for (int k = 0; k <= DIGEST_COPIED; k++) {
		if (count[k] == 0)
			continue;
		shown++;
		t = xasprintf("%s%s%zu %s", s,
		              shown == 1        ? ""
		              : shown == nkinds ? " and "
		                                : ", ",
		              count[k], what[k]);
		free(s);
		s = t;
	}
	if (shown > 0) {
		t = xasprintf("%s.", s);
		free(s);
		s = t;
	}
	if (count[DIGEST_DONE] > 0) {
		t = xasprintf("%s%s%zu done since your last message.", s, *s != '\0' ? " " : "",
		              count[DIGEST_DONE]);
		free(s);
		s = t;
	}
	if (count[DIGEST_NOTICES] > 0) {
		t = xasprintf("%s%s%zu notice%s about escalator itself.", s, *s != '\0' ? " " : "",
		              count[DIGEST_NOTICES], count[DIGEST_NOTICES] == 1 ? "" : "s");
		free(s);
		s = t;
	}
	return s;
}

/* "N working day(s)". */
static const char *
digest_plural(int n)
{
	return n == 1 ? "" : "s";
}

/* How an item stands. */
char *
digest_status(const struct delivery *item)
{
	char *date, *s;

	if (item->closed) {
		if (item->closed_on == NULL)
			return xstrdup("Done");
		date = digest_date(item->closed_on);
		if (item->closed_late > 0)
			s = xasprintf("Done %s, %d working day%s late", date, item->closed_late,
			              digest_plural(item->closed_late));
		else
			s = xasprintf("Done %s, in time", date);
		free(date);
		return s;
	}
	if (item->status != NULL && *item->status != '\0')
		return digest_clean(item->status, DIGEST_VALUE_MAX, false);
	if (item->days_late > 0)
		return xasprintf("%d working day%s overdue", item->days_late,
		                 digest_plural(item->days_late));
	return xstrdup("Not yet due");
}

/* A copied item's note, or NULL. */
char *
digest_copied_note(const struct delivery *item)
{
	char *label, *copied, *on = NULL, *copied_on = NULL, *s;

	if (item->copied == NULL)
		return NULL;
	label =
	    digest_clean(item->label != NULL ? item->label : item->stage, DIGEST_VALUE_MAX, false);
	copied = digest_clean(item->copied, DIGEST_VALUE_MAX, false);
	if (item->fires != NULL) {
		char *date = digest_date(item->fires);

		on = xasprintf(" on %s", date);
		free(date);
	}
	if (item->copied_on != NULL) {
		char *date = digest_date(item->copied_on);

		copied_on = xasprintf(" on %s", date);
		free(date);
	}
	s = xasprintf("This case reached \xe2\x80\x9c%s\xe2\x80\x9d%s; you were not told at "
	              "\xe2\x80\x9c%s\xe2\x80\x9d%s because escalator first saw this case after "
	              "that date (a new case in the extract, or escalatord not running).",
	              *label != '\0' ? label : "a later stage", on != NULL ? on : "", copied,
	              copied_on != NULL ? copied_on : "");
	free(label);
	free(copied);
	free(on);
	free(copied_on);
	return s;
}

/* One event of the history. */
char *
digest_event(const struct delivery_event *e)
{
	char *when = digest_when(e->when), *stage = digest_clean(e->stage, DIGEST_VALUE_MAX, false);
	char *to = digest_clean(e->recipient, DIGEST_VALUE_MAX, false), *status, *s;
	const char *st = e->status != NULL ? e->status : "";

	if (strcmp(st, "sent") == 0)
		status = xstrdup("sent");
	else if (strcmp(st, "waiting") == 0)
		status = xstrdup("not sent yet");
	else if (strcmp(st, "failed") == 0)
		status = xstrdup("could not be delivered");
	else
		status = digest_clean(st, DIGEST_VALUE_MAX, false);
	s = xasprintf("%s: %s%s%s%s%s%s", when, *stage != '\0' ? stage : "a stage",
	              *to != '\0' ? " \xe2\x86\x92 " : "", to, e->copied ? " (told late)" : "",
	              *status != '\0' ? ", " : "", status);
	free(when);
	free(stage);
	free(to);
	free(status);
	return s;
}

/* A value of the rule's fields, cleaned and cut. */
char *
digest_field_value(const json_t *value)
{
	char *dump, *v;

	if (json_is_string(value))
		return digest_clean(json_string_value(value), DIGEST_VALUE_MAX, false);
	if (value == NULL || json_is_null(value))
		return xstrdup("");
	dump = json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT);
	v = digest_clean(dump, DIGEST_VALUE_MAX, false);
	free(dump);
	return v;
}

/* The footer, one sentence a line. */
char *
digest_footer(const struct delivery *d)
{
	char *who, *why, *s;
	const char *privacy =
	    d->digest ? "To protect children's privacy it names each case by its reference only: "
	                "open the case in your case management system for details."
	              : "To protect children's privacy it names the case by its reference only: "
	                "open the case in your case management system for details.";

	if (d->digest) {
		who = d->contact != NULL ? digest_clean(d->contact, 64, false) : NULL;
		why = xasprintf("You get this message because escalator's rules name you%s%s%s for "
		                "these cases; everything for you is gathered into one message at "
		                "each sending time.",
		                who != NULL ? " (" : "", who != NULL ? who : "",
		                who != NULL ? ")" : "");
		free(who);
	} else {
		char *title =
		    digest_clean(d->title != NULL ? d->title : d->rule, DIGEST_VALUE_MAX, false);
		char *label =
		    digest_clean(d->label != NULL ? d->label : d->stage, DIGEST_VALUE_MAX, false);

		why = xasprintf("You get this message because the rule \xe2\x80\x9c%s\xe2\x80\x9d "
		                "names you at its stage \xe2\x80\x9c%s\xe2\x80\x9d.",
		                title, label);
		free(title);
		free(label);
	}
	if (d->digest && d->parts > 1)
		s = xasprintf("%s\n%s\nThis is part %d of %d; the other parts come as separate "
		              "messages.",
		              why, privacy, d->part, d->parts);
	else
		s = xasprintf("%s\n%s", why, privacy);
	free(why);
	return s;
}
