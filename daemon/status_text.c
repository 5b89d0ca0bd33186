/*
 * status_text.c - escalatord status for people: the document status.c
 * gathered, as short plain lines, problems first ("PROBLEM: ..."), or one
 * "OK: ..." line when there is none; then the service, the outbox, recent
 * failures, the case store, answers and today's figures. Every value from
 * the stores is shown cleaned (no control characters) and cut short.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "freshness.h"
#include "status.h"
#include "xalloc.h"

/* Lines are wrapped at this width. */
#define STATUS_WIDTH 78
/* The longest error text shown. */
#define STATUS_ERROR_MAX 160
/* The failures listed in text (the document has more). */
#define STATUS_FAILURES_SHOWN 10

/* Integer member key of o (0 if absent). */
static long long
num(const json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* String member key of o, or NULL. */
static const char *
str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* s cleaned for a line: control characters as spaces, cut at max bytes with "...". */
static char *
clean(const char *s, size_t max)
{
	size_t n = s != NULL ? strlen(s) : 0;
	char *out = xstrndup(s != NULL ? s : "", n > max ? max : n);

	for (char *p = out; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (n > max) {
		/* Not in the middle of a UTF-8 character. */
		size_t m = strlen(out);

		while (m > 0 && ((unsigned char)out[m] & 0xc0) == 0x80)
			m--;
		out[m] = '\0';
		char *cut = xasprintf("%s...", out);

		free(out);
		return cut;
	}
	return out;
}

/* Print text wrapped at STATUS_WIDTH: first after prefix, the rest indented as far. */
static void
wrap(FILE *f, const char *prefix, const char *text)
{
	size_t indent = strlen(prefix), col = indent;
	const char *p = text;

	fputs(prefix, f);
	while (*p != '\0') {
		size_t w = strcspn(p, " ");

		if (col > indent && col + 1 + w > STATUS_WIDTH) {
			fprintf(f, "\n%*s", (int)indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, w, f);
		col += w;
		p += w;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* "Mon 21 Dec 2026 08:00 (2 minutes ago)" into buf. */
static const char *
when_ago(long long t, long long now, char *buf, size_t len)
{
	char w[64], span[64];

	if (t > now)
		snprintf(buf, len, "%s (in %s)", freshness_when((time_t)t, w, sizeof w),
		         freshness_span(t - now, span, sizeof span));
	else
		snprintf(buf, len, "%s (%s ago)", freshness_when((time_t)t, w, sizeof w),
		         freshness_span(now - t, span, sizeof span));
	return buf;
}

/* Why a pass ran, for people. */
static const char *
why_words(const char *why)
{
	static const struct {
		const char *why, *words;
	} w[] = {
	    {"start", "at start"},
	    {"changed", "because the case store changed"},
	    {"clock", "because a stage fell due"},
	    {"firing", "because a stage fell due"},
	    {"reload", "after a reload"},
	    {"retry", "retrying the case store"},
	};

	for (size_t i = 0; why != NULL && i < sizeof w / sizeof w[0]; i++)
		if (strcmp(why, w[i].why) == 0)
			return w[i].words;
	return "";
}

/* "1 rule", "2 rules". */
static const char *
plural(long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* The headline: every problem, or one OK line; then the notes. */
static void
print_headline(FILE *f, const json_t *doc, long long now)
{
	const json_t *problems = json_object_get(doc, "problems"), *p;
	const json_t *pass = json_object_get(doc, "last_pass");
	const json_t *cs = json_object_get(doc, "case_store");
	const json_t *out = json_object_get(doc, "outbox"), *ch;
	const char *key;
	long long waiting = 0;
	char span[64], *line;
	size_t i;

	json_array_foreach(problems, i, p) wrap(f, "PROBLEM: ", str(p, "text"));
	if (json_array_size(problems) == 0) {
		json_object_foreach((json_t *)out, key, ch) waiting += num(ch, "waiting_messages");
		if (json_is_object(pass))
			line =
			    xasprintf("last pass %s ago", freshness_span(now - num(pass, "started"),
			                                                 span, sizeof span));
		else
			line = xstrdup("no pass recorded yet");
		if (json_is_integer(json_object_get(cs, "age_seconds"))) {
			char *more =
			    xasprintf("%s; the case store's data is %s old", line,
			              freshness_span(num(cs, "age_seconds"), span, sizeof span));

			free(line);
			line = more;
		}
		char *all = waiting == 0 ? xasprintf("%s; nothing waiting to be sent.", line)
		                         : xasprintf("%s; %lld message%s waiting to be sent.", line,
		                                     waiting, plural(waiting, "", "s"));

		wrap(f, "OK: ", all);
		free(all);
		free(line);
	}
	json_array_foreach(json_object_get(doc, "notes"), i, p) wrap(f, "Note: ", str(p, "text"));
}

/* The service: its last pass and the files it loaded. */
static void
print_service(FILE *f, const json_t *doc, long long now)
{
	const json_t *pass = json_object_get(doc, "last_pass");
	const json_t *l = json_object_get(doc, "loaded"), *file;
	char buf[128], *text;
	size_t i;

	fputs("\nThe service\n", f);
	if (!json_is_object(pass)) {
		fputs("  Last pass      none recorded yet\n", f);
	} else {
		double took = json_number_value(json_object_get(pass, "seconds"));

		text = xasprintf(
		    "%s %s: took %.*f seconds; %lld open clock%s, %lld alert%s "
		    "recorded, %lld row%s skipped, %lld rule%s failed",
		    when_ago(num(pass, "started"), now, buf, sizeof buf),
		    why_words(str(pass, "why")), took < 1 ? 2 : 1, took, num(pass, "clocks"),
		    plural(num(pass, "clocks"), "", "s"), num(pass, "alerts"),
		    plural(num(pass, "alerts"), "", "s"), num(pass, "skipped_rows"),
		    plural(num(pass, "skipped_rows"), "", "s"), num(pass, "failed_rules"),
		    plural(num(pass, "failed_rules"), "", "s"));
		wrap(f, "  Last pass      ", text);
		free(text);
	}
	if (json_is_object(json_object_get(doc, "leader"))) {
		const json_t *ld = json_object_get(doc, "leader");

		if (str(ld, "node") == NULL)
			text = xasprintf("none yet for instance %s", str(ld, "instance"));
		else
			text = xasprintf("%s, epoch %lld, since %s%s; instance %s", str(ld, "node"),
			                 num(ld, "epoch"), str(ld, "since"),
			                 json_is_true(json_object_get(ld, "held"))
			                     ? ""
			                     : " (it no longer holds the lead: no node leads now)",
			                 str(ld, "instance"));
		wrap(f, "  Leader         ", text);
		free(text);
	}
	if (!json_is_object(l))
		return;
	text = xasprintf("%s: %lld rule%s from %s", when_ago(num(l, "at"), now, buf, sizeof buf),
	                 num(l, "nrules"), plural(num(l, "nrules"), "", "s"),
	                 str(l, "rules_dir") != NULL ? str(l, "rules_dir") : "?");
	wrap(f, "  Loaded         ", text);
	free(text);
	json_array_foreach(json_object_get(l, "files"), i, file)
	{
		const char *path = str(file, "file"), *state = str(file, "state");
		const char *slash = path != NULL ? strrchr(path, '/') : NULL;
		char *name = clean(slash != NULL ? slash + 1 : path, 60), *line;

		if (strcmp(state, "missing") == 0)
			line =
			    xasprintf("%s: cannot be read now (removed?): run escalatord preview, "
			              "then reload",
			              name);
		else if (strcmp(state, "edited") == 0)
			line = xasprintf("%s: edited since the service loaded it (changed %s): run "
			                 "escalatord preview, then reload",
			                 name,
			                 freshness_when(num(file, "now_mtime"), buf, sizeof buf));
		else
			line = xasprintf("%s: as loaded (changed %s)", name,
			                 freshness_when(num(file, "mtime"), buf, sizeof buf));
		wrap(f, "    - ", line);
		free(line);
		free(name);
	}
	json_array_foreach(json_object_get(l, "new_files"), i, file)
	{
		const char *path = json_string_value(file), *slash = strrchr(path, '/');
		char *name = clean(slash != NULL ? slash + 1 : path, 60);

		text =
		    xasprintf("%s: new, not loaded yet: run escalatord preview, then reload", name);
		wrap(f, "    - ", text);
		free(text);
		free(name);
	}
}

/* The outbox: a table by channel and status, the oldest message waiting, the next digest. */
static void
print_outbox(FILE *f, const json_t *doc, long long now)
{
	static const char *const cols[] = {"pending", "held", "bundled", "sent", "failed"};
	const json_t *out = json_object_get(doc, "outbox"), *ch;
	char buf[128], span[64], *text, *err;
	bool any = false;

	if (!json_is_object(out))
		return;
	fprintf(f, "\nOutbox (alerts to each recipient)\n  %-9s", "");
	for (size_t c = 0; c < 5; c++)
		fprintf(f, "%9s", cols[c]);
	fputc('\n', f);
	for (int k = 0; k < CHANNEL_COUNT; k++) {
		long long total = 0;

		ch = json_object_get(out, channel_name(k));
		for (size_t c = 0; c < 5; c++)
			total += num(ch, cols[c]);
		/* Email always; another channel only when it was used. */
		if (total == 0 && k != CHANNEL_EMAIL)
			continue;
		fprintf(f, "  %-9s", channel_name(k));
		for (size_t c = 0; c < 5; c++)
			fprintf(f, "%9lld", num(ch, cols[c]));
		fputc('\n', f);
	}
	wrap(f, "  ",
	     "(pending: to go on its own; held: waiting for the recipient's next digest; "
	     "bundled: in a digest on its way)");
	for (int k = 0; k < CHANNEL_COUNT; k++) {
		const json_t *o;

		ch = json_object_get(out, channel_name(k));
		if (json_is_object(o = json_object_get(ch, "oldest_pending"))) {
			long long next = num(o, "next_attempt");

			any = true;
			err = str(o, "last_error") != NULL
			          ? clean(str(o, "last_error"), STATUS_ERROR_MAX)
			          : NULL;
			text =
			    xasprintf("%s: %lld message%s waiting; the oldest has waited %s (%lld "
			              "attempt%s)%s%s; %s%s",
			              channel_name(k), num(ch, "waiting_messages"),
			              plural(num(ch, "waiting_messages"), "", "s"),
			              freshness_span(num(o, "waited_seconds"), span, sizeof span),
			              num(o, "attempts"), plural(num(o, "attempts"), "", "s"),
			              err != NULL ? ", last error: " : "", err != NULL ? err : "",
			              next > now ? "next attempt " : "due now",
			              next > now ? when_ago(next, now, buf, sizeof buf) : "");
			wrap(f, "  - ", text);
			free(text);
			free(err);
		}
		if (json_is_integer(json_object_get(ch, "next_digest"))) {
			any = true;
			text = xasprintf("%s: the held ones go in the next digest, %s",
			                 channel_name(k),
			                 when_ago(num(ch, "next_digest"), now, buf, sizeof buf));
			wrap(f, "  - ", text);
			free(text);
		}
	}
	if (!any)
		fputs("  Nothing is waiting to be sent.\n", f);
}

/* Deliveries failed for good lately, newest first. */
static void
print_failures(FILE *f, const json_t *doc)
{
	const json_t *fl = json_object_get(doc, "failures"), *it;
	char buf[64], *text, *who, *err, *what;
	size_t i;

	if (!json_is_object(fl) || num(fl, "count") == 0)
		return;
	fprintf(f, "\nFailed for good in the last %lld days\n", num(fl, "days"));
	json_array_foreach(json_object_get(fl, "items"), i, it)
	{
		if (i >= STATUS_FAILURES_SHOWN)
			break;
		who = clean(str(it, "recipient"), 80);
		err = clean(str(it, "error") != NULL ? str(it, "error") : "no reason recorded",
		            STATUS_ERROR_MAX);
		if (str(it, "rule") != NULL) {
			char *c = clean(str(it, "case"), 40);

			what = xasprintf("%s %s %s", str(it, "rule"), c, str(it, "stage"));
			free(c);
		} else if (json_is_integer(json_object_get(it, "digest_items")))
			what = xasprintf("a digest of %lld item%s", num(it, "digest_items"),
			                 plural(num(it, "digest_items"), "", "s"));
		else
			what = xstrdup("a message");
		text = xasprintf("%s %s to %s: %s: %s",
		                 num(it, "at") > 0 ? freshness_when(num(it, "at"), buf, sizeof buf)
		                                   : "?",
		                 str(it, "channel"), who, what, err);
		wrap(f, "  - ", text);
		free(text);
		free(who);
		free(err);
		free(what);
	}
	if ((size_t)num(fl, "count") > STATUS_FAILURES_SHOWN)
		fprintf(f, "  ... and %lld more (escalatord status --json lists up to 50)\n",
		        num(fl, "count") - STATUS_FAILURES_SHOWN);
}

/* The case store: its file, how old its data is, max_store_age and the alarm. */
static void
print_case_store(FILE *f, const json_t *doc, long long now)
{
	const json_t *cs = json_object_get(doc, "case_store");
	const json_t *alarm = json_object_get(cs, "alarm");
	char buf[128], *text;

	fputs("\nThe case store\n", f);
	wrap(f, "  File           ", str(cs, "file"));
	if (json_is_integer(json_object_get(cs, "mtime"))) {
		text = xasprintf("%s", when_ago(num(cs, "mtime"), now, buf, sizeof buf));
		wrap(f, "  Last changed   ", text);
		free(text);
	}
	if (json_is_false(json_object_get(cs, "readable")))
		wrap(f, "  Readable       ", "no: no alerts are worked out until it is");
	if (strcmp(str(cs, "source"), "freshness_query") == 0) {
		if (json_is_integer(json_object_get(cs, "data_time")))
			text = xasprintf("%s, as freshness_query says",
			                 when_ago(num(cs, "data_time"), now, buf, sizeof buf));
		else
			text = clean(str(cs, "why"), 200);
		wrap(f, "  Data from      ", text);
		free(text);
	}
	if (!json_is_string(json_object_get(cs, "max_store_age"))) {
		wrap(f, "  max_store_age  ",
		     "not set: nobody is told if the extract stops arriving");
		return;
	}
	text = xasprintf("%s: %s", str(cs, "max_store_age"),
	                 json_is_true(json_object_get(cs, "stale"))    ? "the data is older"
	                 : json_is_false(json_object_get(cs, "stale")) ? "the data is within it"
	                                                               : "not judged");
	wrap(f, "  max_store_age  ", text);
	free(text);
	if (!json_is_object(alarm))
		return;
	if (json_is_true(json_object_get(alarm, "raised")))
		text = str(alarm, "admin") != NULL
		           ? xasprintf("raised %s; %s was told",
		                       freshness_when(num(alarm, "since"), buf, sizeof buf),
		                       str(alarm, "admin"))
		           : xasprintf("raised %s; nobody was told: admin is not set",
		                       freshness_when(num(alarm, "since"), buf, sizeof buf));
	else
		text = xasprintf("cleared %s%s%s",
		                 freshness_when(num(alarm, "since"), buf, sizeof buf),
		                 str(alarm, "admin") != NULL ? "; told " : "",
		                 str(alarm, "admin") != NULL ? str(alarm, "admin") : "");
	wrap(f, "  Alarm          ", text);
	free(text);
}

/* Answers by kind, and today's figures. */
static void
print_answers_today(FILE *f, const json_t *doc)
{
	const json_t *a = json_object_get(doc, "answers"), *t = json_object_get(doc, "today");
	char *text;

	if (json_is_object(a)) {
		if (num(a, "acknowledged") + num(a, "agreed") + num(a, "disagree") == 0)
			text = xstrdup("none yet");
		else
			text =
			    xasprintf("%lld acknowledged, %lld action agreed, %lld disagree",
			              num(a, "acknowledged"), num(a, "agreed"), num(a, "disagree"));
		fputc('\n', f);
		wrap(f, "Answers          ", text);
		free(text);
	}
	if (json_is_object(t)) {
		text = xasprintf("%lld alert%s recorded, %lld message%s sent", num(t, "alerts"),
		                 plural(num(t, "alerts"), "", "s"), num(t, "sent"),
		                 plural(num(t, "sent"), "", "s"));
		wrap(f, "Today            ", text);
		free(text);
	}
}

/* The document as text. */
void
status_print(FILE *f, const json_t *doc)
{
	long long now = num(doc, "now");

	print_headline(f, doc, now);
	print_service(f, doc, now);
	print_outbox(f, doc, now);
	print_failures(f, doc);
	print_case_store(f, doc, now);
	print_answers_today(f, doc);
}
