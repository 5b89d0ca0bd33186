/*
 * fuzz_digest_html.c - notifiers/digest*.c's renderers (digest_text and
 * digest_html) fed a digest, or a single alert, whose every value is hostile
 * (as if from the case store).
 *
 * Input: case_ref, title, label, status, expected, case_url, copied,
 * copied_on, due, fires, a history event's stage, when, recipient and status,
 * a field's name and value, body, contact, subject, closed_on, the answer
 * link, an answer's name and its note (and reason), separated by NUL bytes. A part that is exactly
 * "\x7f" (or missing) is NULL. A hash of the input picks the shape: single alert or digest, how
 * many items, each item's section, days late, history length, part of parts.
 *
 * Checked, on an HTML tokenizer written for this test: the document starts
 * with <!DOCTYPE html>, every '<' opens one of the template's own tags (from a
 * fixed list, with attributes from a fixed list and quoted values without
 * '<', '>' or '"') or one of its two Outlook conditional comments, every tag
 * is closed in order, and every '&' in text starts one of the five escapes the
 * renderer writes. Then, so that a value printed raw cannot pass for
 * template markup: the text of the document holds every item's cleaned case
 * reference (digest_clean) and every link is an item's digest_case_url or
 * digest_answer_url (one of each an item has, a notice none). Both outputs
 * are valid UTF-8 and within the size budget; the text holds each case
 * reference and each answer link too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "digest.h"
#include "fuzz_common.h"
#include "xalloc.h"

enum {
	P_REF,
	P_TITLE,
	P_LABEL,
	P_STATUS,
	P_EXPECTED,
	P_URL,
	P_COPIED,
	P_COPIED_ON,
	P_DUE,
	P_FIRES,
	P_H_STAGE,
	P_H_WHEN,
	P_H_RECIPIENT,
	P_H_STATUS,
	P_FIELD_NAME,
	P_FIELD_VALUE,
	P_BODY,
	P_CONTACT,
	P_SUBJECT,
	P_CLOSED_ON,
	P_ANSWER_URL,
	P_WHO,
	P_NOTE,
	NPARTS
};

#define MAXITEMS 7
#define MAXLINKS (2 * MAXITEMS + 2)

/* What the tokenizer found. */
struct doc {
	char *text; /* the text nodes, entities decoded, joined by '\x01' */
	size_t ntext;
	char *links[MAXLINKS + 1]; /* href values, decoded */
	size_t nlinks;
};

/* The word of list (NULL-terminated) that name (n bytes) is, or NULL. */
static const char *
in_list(const char *name, size_t n, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == n && memcmp(*list, name, n) == 0)
			return *list;
	return NULL;
}

/* Decode the escapes the renderer writes from s[0..n) into out; returns the length. */
static size_t
decode(const char *s, size_t n, char *out)
{
	static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
	static const char chars[] = "&<>\"'";
	size_t o = 0;

	for (size_t i = 0; i < n;) {
		size_t k;

		if (s[i] != '&') {
			out[o++] = s[i++];
			continue;
		}
		for (k = 0; k < 5; k++)
			if (n - i >= strlen(ents[k]) &&
			    memcmp(s + i, ents[k], strlen(ents[k])) == 0)
				break;
		FUZZ_CHECK(k < 5, "bare '&' in the HTML: %.20s", s + i);
		out[o++] = chars[k];
		i += strlen(ents[k]);
	}
	return o;
}

/* Tokenize html (the renderer's output) strictly; fill d. */
static void
tokenize(const char *html, struct doc *d)
{
	static const char *const tags[] = {"html", "head", "meta", "title", "body",   "table",
	                                   "tr",   "td",   "h1",   "h2",    "h3",     "p",
	                                   "a",    "ul",   "li",   "br",    "strong", NULL};
	static const char *const voids[] = {"meta", "br", NULL};
	static const char *const attrs[] = {
	    "lang",        "charset",     "name",   "content", "style", "role", "width",
	    "cellpadding", "cellspacing", "border", "align",   "href",  NULL};
	static const char doctype[] = "<!DOCTYPE html>";
	const char *stack[64];
	size_t depth = 0, len = strlen(html);
	const char *p = html, *end = html + len;

	d->text = xmalloc(len + 1);
	d->ntext = 0;
	d->nlinks = 0;
	FUZZ_CHECK(strncmp(html, doctype, sizeof doctype - 1) == 0, "no doctype");
	p += sizeof doctype - 1;
	while (p < end) {
		const char *name;
		size_t n;
		int closing, is_a;

		if (*p != '<') {
			size_t run = strcspn(p, "<");

			FUZZ_CHECK(memchr(p, '>', run) == NULL, "raw '>' in text: %.40s", p);
			d->ntext += decode(p, run, d->text + d->ntext);
			d->text[d->ntext++] = '\x01';
			p += run;
			continue;
		}
		if (strncmp(p, "<!--", 4) == 0) {
			const char *e = strstr(p + 4, "-->");

			FUZZ_CHECK(e != NULL, "unterminated comment");
			FUZZ_CHECK(strncmp(p + 4, "[if mso]>", 9) == 0 &&
			               strncmp(e - 9, "<![endif]", 9) == 0,
			           "a comment the template does not write: %.60s", p);
			p = e + 3;
			continue;
		}
		closing = p[1] == '/';
		name = p + 1 + closing;
		n = strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789");
		FUZZ_CHECK(n > 0 && in_list(name, n, tags) != NULL,
		           "'<' that opens no template tag: %.40s", p);
		is_a = n == 1 && name[0] == 'a';
		p = name + n;
		if (closing) {
			FUZZ_CHECK(*p == '>', "junk in a closing tag: %.40s", p);
			FUZZ_CHECK(depth > 0 && strlen(stack[depth - 1]) == n &&
			               memcmp(stack[depth - 1], name, n) == 0,
			           "</%.*s> closes %s", (int)n, name,
			           depth ? stack[depth - 1] : "nothing");
			depth--;
			p++;
			continue;
		}
		while (*p == ' ') {
			const char *an = p + 1, *v, *ve;
			size_t alen = strspn(an, "abcdefghijklmnopqrstuvwxyz-");

			FUZZ_CHECK(alen > 0 && in_list(an, alen, attrs) != NULL, "attribute %.20s",
			           an);
			FUZZ_CHECK(an[alen] == '=' && an[alen + 1] == '"',
			           "unquoted attribute %.20s", an);
			v = an + alen + 2;
			ve = strchr(v, '"');
			FUZZ_CHECK(ve != NULL, "unterminated attribute value");
			FUZZ_CHECK(memchr(v, '<', (size_t)(ve - v)) == NULL &&
			               memchr(v, '>', (size_t)(ve - v)) == NULL,
			           "'<' or '>' in an attribute: %.*s", (int)(ve - v), v);
			if (alen == 4 && memcmp(an, "href", 4) == 0) {
				char *u = xmalloc((size_t)(ve - v) + 1);

				FUZZ_CHECK(is_a, "href outside <a>");
				u[decode(v, (size_t)(ve - v), u)] = '\0';
				FUZZ_CHECK(d->nlinks < MAXLINKS, "too many links");
				d->links[d->nlinks++] = u;
			} else {
				/* No value ever reaches another attribute. */
				FUZZ_CHECK(memchr(v, '&', (size_t)(ve - v)) == NULL,
				           "escaped text in a template attribute: %.*s",
				           (int)(ve - v), v);
			}
			p = ve + 1;
		}
		FUZZ_CHECK(*p == '>', "junk in a tag: %.40s", p);
		p++;
		if (in_list(name, n, voids) == NULL) {
			FUZZ_CHECK(depth < 64, "nesting too deep");
			stack[depth++] = in_list(name, n, tags);
		}
	}
	FUZZ_CHECK(depth == 0, "%zu tags left open (%s)", depth, depth ? stack[depth - 1] : "");
	d->text[d->ntext] = '\0';
}

/* A part, or NULL for a missing one or "\x7f". */
static const char *
part(char **parts, int i)
{
	return parts[i] != NULL && strcmp(parts[i], "\x7f") != 0 ? parts[i] : NULL;
}

/* A new item (or single alert) with the fuzz values, shaped by the generator. */
static struct delivery *
make_item(char **parts, uint64_t *rng, size_t i)
{
	struct delivery *it = xcalloc(1, sizeof *it);
	uint64_t r = fuzz_next(rng), ra;
	size_t nh = (size_t)(r >> 8) % 4;

	it->id = (long long)i;
	it->rule = xstrdup("cic-first-review");
	it->case_ref = xstrdup_or_null(part(parts, P_REF));
	it->title = xstrdup_or_null(part(parts, P_TITLE));
	it->label = xstrdup_or_null(part(parts, P_LABEL));
	it->stage = xstrdup("overdue");
	it->status = xstrdup_or_null(part(parts, P_STATUS));
	it->expected = xstrdup_or_null(part(parts, P_EXPECTED));
	it->case_url = xstrdup_or_null(part(parts, P_URL));
	it->due = xstrdup_or_null(part(parts, P_DUE));
	it->fires = xstrdup_or_null(part(parts, P_FIRES));
	it->subject = xstrdup_or_null(part(parts, P_SUBJECT));
	it->body = xstrdup_or_null(part(parts, P_BODY));
	it->urgency = (enum delivery_urgency)(r % 3);
	it->days_late = (int)((r >> 4) % 40) - 5;
	if (r & 0x10000) {
		it->copied = xstrdup_or_null(part(parts, P_COPIED));
		it->copied_on = xstrdup_or_null(part(parts, P_COPIED_ON));
	}
	if ((r & 0x60000) == 0x20000) {
		it->closed = true;
		it->closed_on = xstrdup_or_null(part(parts, P_CLOSED_ON));
		it->closed_late = (int)((r >> 20) % 30);
	} else if ((r & 0x60000) == 0x40000) {
		it->notice = true;
	}
	if (r & 0x80000) {
		it->fields = json_object();
		for (int k = 0; k < (int)((r >> 24) % 13); k++) {
			char *key = xasprintf(
			    "%s%d", part(parts, P_FIELD_NAME) ? part(parts, P_FIELD_NAME) : "", k);
			const char *v = part(parts, P_FIELD_VALUE);
			/* The fields are valid UTF-8 (delivery_parse_fields); a number now and
			 * then. */
			json_t *j = k % 3 == 2  ? json_integer(k)
			            : v != NULL ? json_string(v)
			                        : NULL;

			json_object_set_new(it->fields, key, j != NULL ? j : json_null());
			free(key);
		}
	}
	/* An answer link and 0-3 answers of any kind, some amended. */
	it->response_link = xstrdup_or_null(part(parts, P_ANSWER_URL));
	ra = fuzz_next(rng);
	it->nresponses = (size_t)(ra % 4);
	it->responses = xcalloc(it->nresponses + 1, sizeof *it->responses);
	for (size_t k = 0; k < it->nresponses; k++) {
		static const char *const kinds[] = {"acknowledged", "agreed", "disagree"};
		struct delivery_response *a = &it->responses[k];

		a->who = xstrdup_or_null(part(parts, P_WHO));
		a->stage = xstrdup_or_null(part(parts, P_LABEL));
		a->kind =
		    xstrdup_or_null((ra >> (2 + 3 * k)) % 4 < 3 ? kinds[(ra >> (2 + 3 * k)) % 4]
		                                                : part(parts, P_STATUS));
		a->agreed_on = xstrdup_or_null(part(parts, P_DUE));
		a->reason = xstrdup_or_null(part(parts, P_NOTE));
		a->note = xstrdup_or_null(part(parts, P_NOTE));
		a->answered_at = xstrdup_or_null(part(parts, P_H_WHEN));
		a->amended = (ra >> (20 + k)) & 1;
	}
	it->history = xcalloc(nh + 1, sizeof *it->history);
	it->nhistory = nh;
	for (size_t k = 0; k < nh; k++) {
		it->history[k].stage = xstrdup_or_null(part(parts, P_H_STAGE));
		it->history[k].when = xstrdup_or_null(part(parts, P_H_WHEN));
		it->history[k].recipient = xstrdup_or_null(part(parts, P_H_RECIPIENT));
		it->history[k].status = xstrdup_or_null(k == 0 ? part(parts, P_H_STATUS) : "sent");
		it->history[k].copied = (r >> (30 + k)) & 1;
	}
	return it;
}

/* Every check on one message. */
static void
check(const struct delivery *d)
{
	char *html = digest_html(d), *text = digest_text(d);
	const struct delivery *one[1] = {d};
	const struct delivery *const *items =
	    d->digest ? (const struct delivery *const *)d->items : one;
	size_t n = d->digest ? d->nitems : 1, want_links = 0;
	struct doc doc;

	FUZZ_CHECK(fuzz_valid_utf8(html), "the HTML is not valid UTF-8");
	FUZZ_CHECK(fuzz_valid_utf8(text), "the text is not valid UTF-8");
	FUZZ_CHECK(strlen(html) < DIGEST_HTML_BUDGET + 512 * 1024, "HTML of %zu bytes",
	           strlen(html));
	FUZZ_CHECK(strlen(text) < DIGEST_TEXT_BUDGET + 256 * 1024, "text of %zu bytes",
	           strlen(text));
	FUZZ_CHECK(strcasestr(html, "<script") == NULL, "<script in the HTML");
	tokenize(html, &doc);
	for (size_t i = 0; i < n; i++) {
		const struct delivery *it = items[i];
		char *ref = digest_clean(it->case_ref, DIGEST_VALUE_MAX, false);
		const char *url = digest_case_url(it);

		if (!it->notice && *ref != '\0') {
			char *t = xasprintf("\x01%s", ref);

			/* The reference is a text node of its own, or starts one. */
			FUZZ_CHECK(strstr(doc.text, t) != NULL ||
			               strncmp(doc.text, ref, strlen(ref)) == 0,
			           "case reference \"%s\" is not in the document's text", ref);
			free(t);
			if (d->digest) {
				t = xasprintf("* %s", ref);
				FUZZ_CHECK(strstr(text, t) != NULL,
				           "case reference \"%s\" not in the text", ref);
				free(t);
			}
			if (url != NULL)
				want_links++;
		}
		if (!it->notice && digest_answer_url(it) != NULL) {
			char *t = xasprintf("Answer this alert: %s\n", digest_answer_url(it));

			FUZZ_CHECK(strstr(text, t) != NULL, "answer link %s not in the text",
			           digest_answer_url(it));
			free(t);
			want_links++;
		}
		free(ref);
	}
	FUZZ_CHECK(doc.nlinks == want_links, "%zu links, %zu expected", doc.nlinks, want_links);
	for (size_t k = 0; k < doc.nlinks; k++) {
		size_t i;

		for (i = 0; i < n; i++)
			if ((digest_case_url(items[i]) != NULL &&
			     strcmp(digest_case_url(items[i]), doc.links[k]) == 0) ||
			    (digest_answer_url(items[i]) != NULL &&
			     strcmp(digest_answer_url(items[i]), doc.links[k]) == 0))
				break;
		FUZZ_CHECK(i < n, "link to %s is no item's case_url or answer link", doc.links[k]);
		FUZZ_CHECK(strncasecmp(doc.links[k], "https://", 8) == 0 ||
		               strncasecmp(doc.links[k], "http://", 7) == 0,
		           "link %s", doc.links[k]);
		free(doc.links[k]);
	}
	free(doc.text);
	free(html);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[NPARTS];
	size_t nparts;
	char *buf = fuzz_split(data, size, parts, NPARTS, &nparts);
	uint64_t rng = fuzz_hash(data, size);
	uint64_t shape = fuzz_next(&rng);
	struct delivery *d;

	if (shape & 1) {
		size_t nitems = (size_t)(shape >> 1) % (MAXITEMS + 1);

		d = xcalloc(1, sizeof *d);
		d->digest = true;
		d->contact = xstrdup_or_null(part(parts, P_CONTACT));
		d->parts = (int)((shape >> 8) % 3) + 1;
		d->part = (int)((shape >> 12) % (uint64_t)d->parts) + 1;
		d->items = xcalloc(nitems + 1, sizeof *d->items);
		for (size_t i = 0; i < nitems; i++)
			d->items[d->nitems++] = make_item(parts, &rng, i);
	} else {
		d = make_item(parts, &rng, 0);
	}
	check(d);
	delivery_free(d);
	free(buf);
	return 0;
}
