/*
 * html_check.h - a strict little HTML checker for the pages escalatord
 * serves (respond_page.c) and the report's page (report_html.c), shared by
 * test_respond_page, test_report_html and the fuzz target fuzz_respond_page. Static inline, like
 * tests/fuzz/fuzz_common.h.
 *
 * It reads the document as the page writer means to write it, and refuses
 * anything else: <!DOCTYPE html> first; every '<' opens or closes an element
 * from a fixed list, with attributes from a fixed list, each value in double
 * quotes and free of '<', '>' and '"'; elements close in order (void ones
 * never); the text holds no raw '>', '"' or '\'' and every '&' starts one of
 * the five escapes the writer uses; one <style> whose sheet has no url(),
 * @import or '<'; no comments. Then the document's promises: ids unique;
 * every control (input other than hidden, textarea) has an id and a <label
 * for> it; every aria-describedby and aria-labelledby names ids that exist;
 * every link is "#id" of an existing id or one of the allowed URLs; the form
 * posts to the expected action; the whole is valid UTF-8.
 */
#ifndef ESCALATOR_HTML_CHECK_H
#define ESCALATOR_HTML_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define HTML_CHECK_MAX 512 /* ids, labels, controls, references: plenty for one page */

/* What a check found: problem is "" when the document keeps every rule. */
struct html_check {
	char problem[512];
	size_t nlinks, nforms, ncontrols, nstyles;
	char title[512]; /* the <title>'s text, as written (escaped) */
};

struct html_check_names {
	char *v[HTML_CHECK_MAX];
	size_t n;
};

/* Set the first problem found (later ones are not kept). */
static inline void html_check_fail(struct html_check *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static inline void
html_check_fail(struct html_check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->problem[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(c->problem, sizeof c->problem, fmt, ap);
	va_end(ap);
}

/* Is name (of n bytes) one of the NULL-ended list? */
static inline bool
html_check_in(const char *name, size_t n, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strlen(*list) == n && strncmp(*list, name, n) == 0)
			return true;
	return false;
}

/* Add a copy of s (n bytes) to names. */
static inline void
html_check_add(struct html_check_names *names, const char *s, size_t n)
{
	char *copy;

	if (names->n == HTML_CHECK_MAX)
		return;
	copy = malloc(n + 1);
	if (copy == NULL)
		abort();
	memcpy(copy, s, n);
	copy[n] = '\0';
	names->v[names->n++] = copy;
}

/* Is s one of names? */
static inline bool
html_check_has(const struct html_check_names *names, const char *s)
{
	for (size_t i = 0; i < names->n; i++)
		if (strcmp(names->v[i], s) == 0)
			return true;
	return false;
}

static inline void
html_check_free(struct html_check_names *names)
{
	for (size_t i = 0; i < names->n; i++)
		free(names->v[i]);
	names->n = 0;
}

/* Check text (between tags) from p to end: escapes only, no raw '>', '"' or '\''. */
static inline void
html_check_text(struct html_check *c, const char *p, const char *end)
{
	static const char *const escapes[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};

	for (; p < end; p++) {
		if (*p == '>' || *p == '"' || *p == '\'') {
			html_check_fail(c, "raw '%c' in text: %.40s", *p, p);
			return;
		}
		if (*p == '&') {
			bool ok = false;

			for (size_t i = 0; i < sizeof escapes / sizeof escapes[0]; i++)
				if ((size_t)(end - p) >= strlen(escapes[i]) &&
				    strncmp(p, escapes[i], strlen(escapes[i])) == 0)
					ok = true;
			if (!ok) {
				html_check_fail(c, "'&' that is no escape: %.40s", p);
				return;
			}
		}
	}
}

/*
 * Check doc. links: the URLs a link may lead to besides "#id" (NULL-ended,
 * may be NULL); action: what the form must post to, or NULL for no form.
 * Returns true when the document keeps every rule; else c->problem says why.
 */
static inline bool
html_check(const char *doc, const char *const *links, const char *action, struct html_check *c)
{
	static const char *const elements[] = {
	    "html", "head", "meta", "title", "style", "body", "p", "main", "div", "h1", "h2", "ul",
	    "ol", "li", "a", "dl", "dt", "dd", "strong", "span", "form", "input", "fieldset",
	    "legend", "label", "textarea", "button", "br",
	    /* the report's page (report_html.c): tables and inline SVG charts */
	    "section", "h3", "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td", "svg",
	    "desc", "g", "line", "rect", "text", NULL};
	static const char *const voids[] = {"meta", "input", "br", NULL};
	static const char *const attributes[] = {"lang",
	                                         "charset",
	                                         "name",
	                                         "content",
	                                         "class",
	                                         "id",
	                                         "href",
	                                         "role",
	                                         "method",
	                                         "action",
	                                         "novalidate",
	                                         "type",
	                                         "value",
	                                         "min",
	                                         "maxlength",
	                                         "rows",
	                                         "autocomplete",
	                                         "spellcheck",
	                                         "checked",
	                                         "for",
	                                         "aria-describedby",
	                                         "aria-labelledby",
	                                         "aria-invalid",
	                                         "scope",
	                                         "viewBox",
	                                         "width",
	                                         "height",
	                                         "x",
	                                         "y",
	                                         "x1",
	                                         "y1",
	                                         "x2",
	                                         "y2",
	                                         "fill",
	                                         "stroke",
	                                         "stroke-width",
	                                         "stroke-dasharray",
	                                         "stroke-linejoin",
	                                         "paint-order",
	                                         "text-anchor",
	                                         "font-family",
	                                         "font-size",
	                                         "font-weight",
	                                         NULL};
	static const char prologue[] = "<!DOCTYPE html>\n";
	struct html_check_names ids = {0}, fors = {0}, controls = {0}, refs = {0}, hrefs = {0};
	char stack[64][16];
	size_t depth = 0;
	const char *p = doc;
	char *clean = utf8_sanitize(doc);

	memset(c, 0, sizeof *c);
	if (strcmp(clean, doc) != 0)
		html_check_fail(c, "not valid UTF-8 (or holds a hidden control)");
	free(clean);
	if (strncmp(doc, prologue, strlen(prologue)) != 0)
		html_check_fail(c, "does not start with <!DOCTYPE html>");
	else
		p += strlen(prologue);
	while (*p != '\0' && c->problem[0] == '\0') {
		const char *lt = strchr(p, '<'), *name;
		size_t n;
		bool end = false, isvoid;
		char type[32] = "", id[256] = "";
		bool hidden_input = false;

		if (lt == NULL)
			lt = p + strlen(p);
		html_check_text(c, p, lt);
		if (*lt == '\0')
			break;
		p = lt + 1;
		if (*p == '/') {
			end = true;
			p++;
		}
		name = p;
		while ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))
			p++;
		n = (size_t)(p - name);
		if (n == 0 || !html_check_in(name, n, elements)) {
			html_check_fail(c, "unexpected markup: %.40s", lt);
			break;
		}
		isvoid = html_check_in(name, n, voids);
		if (end) {
			if (*p != '>' || isvoid || depth == 0 || strlen(stack[depth - 1]) != n ||
			    strncmp(stack[depth - 1], name, n) != 0) {
				html_check_fail(c, "</%.*s> does not close the open <%s>", (int)n,
				                name, depth > 0 ? stack[depth - 1] : "(nothing)");
				break;
			}
			depth--;
			p++;
			continue;
		}
		/* Attributes: name or name="value", one space before each. */
		while (*p == ' ') {
			const char *an = ++p, *val = NULL;
			size_t an_n, vn = 0;

			/* SVG's attributes: viewBox, x1 */
			while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			       (*p >= '0' && *p <= '9') || *p == '-')
				p++;
			an_n = (size_t)(p - an);
			if (an_n == 0 || !html_check_in(an, an_n, attributes)) {
				html_check_fail(c, "unexpected attribute in <%.*s>: %.40s", (int)n,
				                name, an);
				break;
			}
			if (*p == '=') {
				if (p[1] != '"') {
					html_check_fail(c, "unquoted attribute value: %.40s", an);
					break;
				}
				val = p + 2;
				vn = strcspn(val, "\"<>");
				if (val[vn] != '"') {
					html_check_fail(c, "'%c' in an attribute value: %.40s",
					                val[vn], an);
					break;
				}
				p = val + vn + 1;
				html_check_text(c, val, val + vn);
			}
#define ATTR(s) (an_n == strlen(s) && strncmp(an, s, an_n) == 0)
			if (val == NULL)
				continue;
			if (ATTR("id")) {
				char idv[256];

				snprintf(idv, sizeof idv, "%.*s", (int)vn, val);
				if (html_check_has(&ids, idv))
					html_check_fail(c, "id \"%s\" twice", idv);
				html_check_add(&ids, val, vn);
				snprintf(id, sizeof id, "%s", idv);
			} else if (ATTR("for")) {
				html_check_add(&fors, val, vn);
			} else if (ATTR("type")) {
				snprintf(type, sizeof type, "%.*s", (int)vn, val);
				hidden_input = strcmp(type, "hidden") == 0;
			} else if (ATTR("aria-describedby") || ATTR("aria-labelledby")) {
				for (size_t i = 0; i < vn;) {
					size_t w = strcspn(val + i, " \"");

					if (w > vn - i)
						w = vn - i;
					if (w > 0)
						html_check_add(&refs, val + i, w);
					i += w + 1;
				}
			} else if (ATTR("href")) {
				if (n != 1 || *name != 'a')
					html_check_fail(c, "href on <%.*s>", (int)n, name);
				html_check_add(&hrefs, val, vn);
				c->nlinks++;
			} else if (ATTR("action")) {
				c->nforms++;
				if (action == NULL || strlen(action) != vn ||
				    strncmp(action, val, vn) != 0)
					html_check_fail(c, "the form posts to \"%.*s\"", (int)vn,
					                val);
			}
#undef ATTR
		}
		if (c->problem[0] != '\0')
			break;
		if (*p != '>') {
			html_check_fail(c, "<%.*s> not closed by '>': %.40s", (int)n, name, p);
			break;
		}
		p++;
		if ((n == 5 && strncmp(name, "input", 5) == 0 && !hidden_input &&
		     strcmp(type, "submit") != 0) ||
		    (n == 8 && strncmp(name, "textarea", 8) == 0)) {
			c->ncontrols++;
			if (id[0] == '\0')
				html_check_fail(c, "a <%.*s> without an id", (int)n, name);
			else
				html_check_add(&controls, id, strlen(id));
		}
		/* The raw text elements: read to their end tag. */
		if ((n == 5 && strncmp(name, "style", 5) == 0) ||
		    (n == 5 && strncmp(name, "title", 5) == 0) ||
		    (n == 8 && strncmp(name, "textarea", 8) == 0)) {
			char close[16];
			const char *e;

			snprintf(close, sizeof close, "</%.*s>", (int)n, name);
			if ((e = strstr(p, close)) == NULL) {
				html_check_fail(c, "<%.*s> never closed", (int)n, name);
				break;
			}
			if (*name == 's') {
				char *sheet = strndup(p, (size_t)(e - p));

				c->nstyles++;
				if (strstr(sheet, "url(") != NULL ||
				    strstr(sheet, "@import") != NULL || strchr(sheet, '<') != NULL)
					html_check_fail(c,
					                "the style sheet fetches or holds markup");
				free(sheet);
			} else {
				if (memchr(p, '<', (size_t)(e - p)) != NULL)
					html_check_fail(c, "'<' inside <%.*s>", (int)n, name);
				html_check_text(c, p, e);
				/* The document's own title: an SVG chart's come later. */
				if (*name == 't' && name[1] == 'i' && c->title[0] == '\0')
					snprintf(c->title, sizeof c->title, "%.*s", (int)(e - p),
					         p);
			}
			p = e + strlen(close);
			continue;
		}
		if (!isvoid) {
			if (depth == sizeof stack / sizeof stack[0]) {
				html_check_fail(c, "nested too deep");
				break;
			}
			snprintf(stack[depth++], sizeof stack[0], "%.*s", (int)n, name);
		}
	}
	if (c->problem[0] == '\0' && depth != 0)
		html_check_fail(c, "<%s> left open", stack[depth - 1]);
	for (size_t i = 0; i < controls.n; i++)
		if (!html_check_has(&fors, controls.v[i]))
			html_check_fail(c, "control \"%s\" has no <label for>", controls.v[i]);
	for (size_t i = 0; i < fors.n; i++)
		if (!html_check_has(&controls, fors.v[i]))
			html_check_fail(c, "<label for=\"%s\"> labels no control", fors.v[i]);
	for (size_t i = 0; i < refs.n; i++)
		if (!html_check_has(&ids, refs.v[i]))
			html_check_fail(c, "aria reference to a missing id \"%s\"", refs.v[i]);
	for (size_t i = 0; i < hrefs.n; i++) {
		const char *h = hrefs.v[i];
		bool ok = h[0] == '#' && html_check_has(&ids, h + 1);

		for (const char *const *l = links; !ok && l != NULL && *l != NULL; l++)
			ok = strcmp(h, *l) == 0;
		if (!ok)
			html_check_fail(c, "a link to \"%s\"", h);
	}
	if (action != NULL && c->nforms != 1)
		html_check_fail(c, "%zu forms, not one", c->nforms);
	if (c->nstyles != 1)
		html_check_fail(c, "%zu style sheets, not one", c->nstyles);
	html_check_free(&ids);
	html_check_free(&fors);
	html_check_free(&controls);
	html_check_free(&refs);
	html_check_free(&hrefs);
	return c->problem[0] == '\0';
}

#endif
