/*
 * fuzz_respond_page.c - daemon/respond_page.c and respond_html.c (the answer
 * page and the refusal page) fed an alert, its history and answers, and a
 * submission whose every value is hostile (the alert's from the case store,
 * the submission's typed by anyone holding a link).
 *
 * Input: the values below (enum part), separated by NUL bytes; a part that
 * is exactly "\x7f" (or missing) is NULL. A hash of the input picks the
 * shape: how many history events and answers, which are amended, closed or
 * copied, recorded or not, the days late.
 *
 * Checked with tests/unit/html_check.h (the checker test_respond_page uses):
 * only the writer's own elements and attributes, quoted values free of '<',
 * '>' and '"', balanced tags, text with no raw '>' or quotes and only the
 * five escapes, one style sheet without url(), ids unique, every control
 * labelled, every aria reference and #link to an id that exists, the only
 * other link the alert's digest_case_url, one form posting to the token;
 * valid UTF-8. And the cleaned case reference is in the <h1>.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "digest.h"
#include "fuzz_common.h"
#include "html_check.h"
#include "respond_html.h"
#include "respond_page.h"
#include "xalloc.h"

enum part {
	P_REF,
	P_TITLE,
	P_LABEL,
	P_STATUS,
	P_EXPECTED,
	P_URL,
	P_DUE,
	P_FIRES,
	P_COPIED,
	P_COPIED_ON,
	P_CLOSED_ON,
	P_H_STAGE,
	P_H_WHEN,
	P_H_RECIPIENT,
	P_H_STATUS,
	P_R_WHO,
	P_R_KIND,
	P_R_AGREED_ON,
	P_R_REASON,
	P_R_NOTE,
	P_R_AT,
	P_FIELD_NAME,
	P_FIELD_VALUE,
	P_ERROR,
	P_ERROR_FIELD,
	P_KIND,
	P_AGREED_ON,
	P_REASON,
	P_NOTE,
	P_NAME,
	P_TODAY,
	P_FORM,
	NPARTS
};

#define TOKEN "AQAAAAAAAAAqAAAAAGdAbCdefGhijKlmnOpqRstuvWx"

/* A part, or NULL for a missing one or "\x7f". */
static const char *
part(char **parts, int i)
{
	return parts[i] != NULL && strcmp(parts[i], "\x7f") != 0 ? parts[i] : NULL;
}

/* s escaped as the page writes it (html_check compares attribute values as written). */
static char *
escaped(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		abort();
	digest_html_esc(f, s);
	fclose(f);
	return buf;
}

/* The alert of the fuzz values, shaped by the generator. */
static struct delivery *
make_alert(char **parts, uint64_t *rng)
{
	struct delivery *d = xcalloc(1, sizeof *d);
	uint64_t r = fuzz_next(rng);
	size_t nh = (size_t)(r % 5), na = (size_t)((r >> 4) % 5);

	d->id = 42;
	d->rule = xstrdup("cic-review");
	d->stage = xstrdup("overdue");
	d->case_ref = xstrdup_or_null(part(parts, P_REF));
	d->title = xstrdup_or_null(part(parts, P_TITLE));
	d->label = xstrdup_or_null(part(parts, P_LABEL));
	d->status = xstrdup_or_null(part(parts, P_STATUS));
	d->expected = xstrdup_or_null(part(parts, P_EXPECTED));
	d->case_url = xstrdup_or_null(part(parts, P_URL));
	d->due = xstrdup_or_null(part(parts, P_DUE));
	d->fires = xstrdup_or_null(part(parts, P_FIRES));
	d->days_late = (int)((r >> 8) % 60) - 10;
	if (r & 0x10000) {
		d->copied = xstrdup_or_null(part(parts, P_COPIED));
		d->copied_on = xstrdup_or_null(part(parts, P_COPIED_ON));
	}
	if (r & 0x20000) {
		d->closed = true;
		d->closed_on = xstrdup_or_null(part(parts, P_CLOSED_ON));
	}
	if (r & 0x40000) {
		const char *v = part(parts, P_FIELD_VALUE);

		d->fields = json_object();
		for (int k = 0; k < (int)((r >> 20) % 13); k++) {
			char *key = xasprintf(
			    "%s%d", part(parts, P_FIELD_NAME) ? part(parts, P_FIELD_NAME) : "", k);
			json_t *j = k % 3 == 2  ? json_integer(k)
			            : v != NULL ? json_string(v)
			                        : NULL;

			json_object_set_new(d->fields, key, j != NULL ? j : json_null());
			free(key);
		}
	}
	d->history = xcalloc(nh + 1, sizeof *d->history);
	d->nhistory = nh;
	for (size_t k = 0; k < nh; k++) {
		d->history[k].stage = xstrdup_or_null(part(parts, P_H_STAGE));
		d->history[k].when = xstrdup_or_null(part(parts, P_H_WHEN));
		d->history[k].recipient = xstrdup_or_null(part(parts, P_H_RECIPIENT));
		d->history[k].status = xstrdup_or_null(k == 0 ? part(parts, P_H_STATUS) : "sent");
		d->history[k].copied = (r >> (30 + k)) & 1;
	}
	d->responses = xcalloc(na + 1, sizeof *d->responses);
	d->nresponses = na;
	for (size_t k = 0; k < na; k++) {
		static const char *const kinds[] = {"acknowledged", "agreed", "disagree"};
		struct delivery_response *a = &d->responses[k];

		a->who = xstrdup_or_null(part(parts, P_R_WHO));
		a->stage = xstrdup_or_null(part(parts, P_LABEL));
		a->kind = xstrdup_or_null(k == 0 ? part(parts, P_R_KIND) : kinds[k % 3]);
		a->agreed_on = xstrdup_or_null(part(parts, P_R_AGREED_ON));
		a->reason = xstrdup_or_null(part(parts, P_R_REASON));
		a->note = xstrdup_or_null(part(parts, P_R_NOTE));
		a->answered_at = xstrdup_or_null(part(parts, P_R_AT));
		a->amended = (r >> (40 + k)) & 1;
	}
	return d;
}

/* Every check on one page. */
static void
check(const char *doc, const struct delivery *d, const char *action)
{
	char *url = digest_case_url(d) != NULL ? escaped(digest_case_url(d)) : NULL;
	const char *links[] = {url, NULL};
	struct html_check c;

	FUZZ_CHECK(html_check(doc, links, action, &c), "%s", c.problem);
	if (d != NULL) {
		char *ref = digest_clean(d->case_ref, DIGEST_VALUE_MAX, false), *esc = escaped(ref);
		const char *h1 = strstr(doc, "<h1>"), *h1end = strstr(doc, "</h1>");
		char *t = xasprintf(" for %s</h1>", *esc != '\0' ? esc : "(no case reference)");

		FUZZ_CHECK(h1 != NULL && h1end != NULL && strstr(h1, t) == h1end - strlen(t) + 5,
		           "the case reference \"%s\" does not end the <h1>", ref);
		free(t);
		free(esc);
		free(ref);
	}
	free(url);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[NPARTS];
	size_t nparts;
	char *buf = fuzz_split(data, size, parts, NPARTS, &nparts), *doc;
	uint64_t rng = fuzz_hash(data, size);
	struct delivery *d = make_alert(parts, &rng);
	uint64_t shape = fuzz_next(&rng);
	struct respond_view v = {
	    .d = d,
	    .action = TOKEN,
	    .form_token = part(parts, P_FORM),
	    .today = part(parts, P_TODAY),
	    .error = part(parts, P_ERROR),
	    .error_field = part(parts, P_ERROR_FIELD),
	    .kind = part(parts, P_KIND),
	    .agreed_on = part(parts, P_AGREED_ON),
	    .reason = part(parts, P_REASON),
	    .note = part(parts, P_NOTE),
	    .name = part(parts, P_NAME),
	    .recorded = shape & 1,
	};

	doc = respond_page(&v);
	check(doc, d, TOKEN);
	free(doc);
	doc = respond_refusal(part(parts, P_TITLE), part(parts, P_ERROR));
	{
		struct html_check c;

		FUZZ_CHECK(html_check(doc, NULL, NULL, &c), "refusal: %s", c.problem);
	}
	free(doc);
	delivery_free(d);
	free(buf);
	return 0;
}
