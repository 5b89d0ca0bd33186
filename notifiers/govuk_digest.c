/*
 * govuk_digest.c - a digest in GOV.UK Notify's formatting: the "body" the
 * contact's digest template shows as ((body)).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "digest.h"
#include "govuk_notify.h"
#include "transport.h"
#include "utf8.h"
#include "xalloc.h"

/*
 * What an item may hold, tried in turn until the body fits: each value's
 * bytes, the history's, and whether the link to the case is kept. At the
 * first nothing a council writes is cut.
 */
struct govuk_caps {
	size_t value;
	size_t history;
	size_t answers;
	bool link;
};
static const struct govuk_caps govuk_caps[] = {
    {300, 800, 800, true}, {160, 400, 400, true}, {80, 0, 160, true}, {40, 0, 80, false}};
#define GOVUK_NLEVELS (sizeof govuk_caps / sizeof govuk_caps[0])

/*
 * Characters Notify reads as formatting at the start of a line: a heading,
 * a bullet, inset text, a horizontal rule. Stripped from the start of every
 * value, though a value never starts a line of the body.
 */
#define GOVUK_LEAD " #*^->+"

/*
 * s as one line for a Notify body, at most max bytes (ending in "…" when cut):
 * clean (transport_clean_text), no formatting characters at its start, "["
 * and "]" as "(" and ")" (no Markdown link), "://" as ": //" (no autolink).
 */
char *
govuk_value(const char *s, size_t max)
{
	char *clean = transport_clean_text(s, SIZE_MAX, 0), *out, *cut;
	const char *p = clean;
	size_t o = 0;

	out = xmalloc(2 * strlen(clean) + 1);
	for (;;) {
		if (*p != '\0' && strchr(GOVUK_LEAD, *p) != NULL)
			p++;
		else if (strncmp(p, "\xe2\x80\xa2", 3) == 0) /* "•", a bullet too */
			p += 3;
		else
			break;
	}
	for (; *p != '\0'; p++) {
		if (strncmp(p, "://", 3) == 0) {
			memcpy(out + o, ": //", 4);
			o += 4;
			p += 2;
		} else {
			out[o++] = *p == '[' ? '(' : *p == ']' ? ')' : *p;
		}
	}
	out[o] = '\0';
	free(clean);
	if (o <= max)
		return out;
	cut = transport_clean_text(out, max > 3 ? max - 3 : 0, 0);
	free(out);
	out = xasprintf("%s\xe2\x80\xa6", cut);
	free(cut);
	return out;
}

/* Append sep (none at the start) and the value s cut to max to *line, when s is set. */
static void
govuk_add(char **line, const char *sep, const char *s, size_t max)
{
	char *v, *next;

	if (s == NULL || *s == '\0')
		return;
	v = govuk_value(s, max);
	/* "late." and ". " make one full stop. */
	if (**line != '\0' && *sep == '.' && (*line)[strlen(*line) - 1] == '.')
		sep++;
	next = xasprintf("%s%s%s", *line, **line != '\0' ? sep : "", v);
	free(*line);
	free(v);
	*line = next;
}

/* The history in one line: "<stage> <date> to <recipient> (<status>)" oldest first. */
static char *
govuk_history(const struct delivery *it, size_t max)
{
	char *line = xstrdup(""), *e, *out;

	for (size_t i = 0; i < it->nhistory && strlen(line) < max; i++) {
		const struct delivery_event *h = &it->history[i];

		e = xasprintf("%s %.10s to %s (%s%s)", h->stage != NULL ? h->stage : "",
		              h->when != NULL ? h->when : "",
		              h->recipient != NULL ? h->recipient : "",
		              h->status != NULL ? h->status : "", h->copied ? ", copied" : "");
		govuk_add(&line, "; ", e, max);
		free(e);
	}
	out = govuk_value(line, max);
	free(line);
	return out;
}

/* Is url one of ours fit for Notify to make a link of (no Markdown around it)? */
bool
govuk_url_ok(const char *url)
{
	if (url == NULL || strpbrk(url, "[]()<>\"") != NULL)
		return false;
	/* Printable ASCII only: Notify would show a byte past it as U+FFFD in the link. */
	for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return false;
	return addr_valid_url(url);
}

/* The answers so far of it, each its short form made one Notify value, joined by sep. */
char *
govuk_answers(const struct delivery *it, size_t max, const char *sep)
{
	const struct delivery_response *shown[DIGEST_ANSWERS_MAX];
	size_t earlier, n = digest_answers_list(it, shown, &earlier);
	char *line = earlier > 0 ? xasprintf("(%zu earlier not shown)", earlier) : xstrdup("");
	char *next;

	for (size_t i = 0; i < n && strlen(line) < max; i++) {
		char *a = digest_answer(shown[i], DIGEST_ANSWER_SHORT), *v = govuk_value(a, max);

		next = xasprintf("%s%s%s", line, *line != '\0' ? sep : "", v);
		free(line);
		free(a);
		free(v);
		line = next;
	}
	if (strlen(line) > max) {
		/* Cut whole, on a character: the separators may be line breaks. */
		next = xasprintf("%.*s\xe2\x80\xa6",
		                 (int)utf8_boundary(line, max > 3 ? max - 3 : 0), line);
		free(line);
		line = next;
	}
	return line;
}

/* One item's bullet line at caps c. */
static char *
govuk_line(const struct delivery *it, const struct govuk_caps *c)
{
	char *line = xstrdup(""), *text, *out;

	govuk_add(&line, " \xe2\x80\x93 ", it->case_ref, c->value);
	govuk_add(&line, " \xe2\x80\x93 ", it->label != NULL ? it->label : it->stage, c->value);
	govuk_add(&line, " \xe2\x80\x93 ", it->title, c->value);
	if (it->closed) {
		const char *on = it->closed_on != NULL ? it->closed_on : "?";

		text = it->closed_late > 0
		           ? xasprintf("done %s (%d working day%s late)", on, it->closed_late,
		                       it->closed_late == 1 ? "" : "s")
		           : xasprintf("done %s (in time)", on);
		govuk_add(&line, " \xe2\x80\x93 ", text, c->value);
		free(text);
	} else {
		govuk_add(&line, " \xe2\x80\x93 ", it->status, c->value);
		if (it->due != NULL && *it->due != '\0') {
			text = xasprintf("due %s", it->due);
			govuk_add(&line, ", ", text, c->value);
			free(text);
		}
	}
	if (it->copied != NULL) {
		text =
		    xasprintf("You were not told earlier: escalator first saw this case after %s",
		              it->copied_on != NULL ? it->copied_on : "its due date");
		govuk_add(&line, ". ", text, c->value);
		free(text);
	}
	if (!it->closed && it->expected != NULL && *it->expected != '\0') {
		text = xasprintf("Expected: %s", it->expected);
		govuk_add(&line, ". ", text, c->value);
		free(text);
	}
	if (c->history > 0 && it->nhistory > 0) {
		char *h = govuk_history(it, c->history);

		text = xasprintf("History: %s", h);
		govuk_add(&line, ". ", text, c->history + 10);
		free(text);
		free(h);
	}
	/* Who answered, what and when: never the reason or the note (a third party's service). */
	if (digest_answers_shown(it) > 0) {
		char *a = govuk_answers(it, c->answers, "; ");

		text = xasprintf("Answers so far: %s", a);
		govuk_add(&line, ". ", text, c->answers + 20);
		free(text);
		free(a);
	}
	/* The link is ours (the rule's case_url): Notify makes it a link. */
	if (c->link && govuk_url_ok(it->case_url)) {
		text = xasprintf("%s. Open the case: %s", line, it->case_url);
		free(line);
		line = text;
	}
	/* Where to answer: kept at every size (it is what the reader can do). */
	if (govuk_url_ok(it->response_link)) {
		text = xasprintf("%s. Answer this alert: %s", line, it->response_link);
		free(line);
		line = text;
	}
	out = xasprintf("* %s\n", line);
	free(line);
	return out;
}

/* The body at caps c with the first nshow items (of n in reading order). */
static char *
govuk_build(const struct delivery *const *items, const enum digest_section *sec, size_t n,
            const struct govuk_caps *c, size_t nshow)
{
	char *body = NULL, *line;
	size_t len = 0;
	FILE *f = open_memstream(&body, &len);
	int section = -1;

	if (f == NULL)
		fatalx("open_memstream failed");
	for (size_t i = 0; i < nshow && i < n; i++) {
		if ((int)sec[i] != section) {
			section = (int)sec[i];
			fprintf(f, "%s# %s\n\n", i > 0 ? "\n" : "", digest_section_title(sec[i]));
		}
		line = govuk_line(items[i], c);
		fputs(line, f);
		free(line);
	}
	if (nshow < n)
		fprintf(f, "\n\xe2\x80\xa6 and %zu more not shown here (message size limit)\n",
		        n - nshow);
	if (fclose(f) != 0 || body == NULL)
		fatalx("open_memstream failed");
	return body;
}

/* Digest d in Notify's formatting, at most max bytes. */
char *
govuk_digest_body(const struct delivery *d, size_t max)
{
	const struct delivery **items = xcalloc(d->nitems + 1, sizeof *items);
	enum digest_section *sec = xcalloc(d->nitems + 1, sizeof *sec);
	const struct govuk_caps *last = &govuk_caps[GOVUK_NLEVELS - 1];
	size_t lo = 0, hi = d->nitems;
	char *out = NULL;

	digest_order(d, items, sec);
	for (size_t i = 0; i < GOVUK_NLEVELS; i++) {
		out = govuk_build(items, sec, d->nitems, &govuk_caps[i], d->nitems);
		if (strlen(out) <= max)
			goto done;
		free(out);
	}
	/* Leave out as few trailing items as will do: the body grows with the items shown. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		out = govuk_build(items, sec, d->nitems, last, mid);
		if (strlen(out) <= max)
			lo = mid;
		else
			hi = mid;
		free(out);
	}
	out = govuk_build(items, sec, d->nitems, last, lo);
done:
	free(items);
	free(sec);
	return out;
}
