/* template.c - {{placeholder}} templates for alert subjects and bodies. */
#include "template.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xalloc.h"

const char *const template_builtin_names[TPL_NBUILTIN] = {
    "rule",  "title",     "case",   "stage",    "start", "due",
    "fires", "days_late", "status", "expected", "value", "label",
};

/* A literal run of text, or a value to insert. */
struct template_seg {
	char *text; /* NULL for a value */
	int value;
};

struct template
{
	struct template_seg *segs;
	size_t n;
};

/* Append a segment. */
static void
template_add(struct template *t, char *text, int value)
{
	t->segs = xreallocarray(t->segs, t->n + 1, sizeof *t->segs);
	t->segs[t->n].text = text;
	t->segs[t->n].value = value;
	t->n++;
}

/* The value index of a placeholder name, or -1. */
static int
template_lookup(const char *name, size_t len, const char *const *columns, size_t ncolumns)
{
	for (int i = 0; i < TPL_NBUILTIN; i++)
		if (strlen(template_builtin_names[i]) == len &&
		    strncmp(template_builtin_names[i], name, len) == 0)
			return i;
	for (size_t i = 0; i < ncolumns; i++)
		if (strlen(columns[i]) == len && strncmp(columns[i], name, len) == 0)
			return TPL_NBUILTIN + (int)i;
	return -1;
}

/* Compile a template. */
struct template *
template_compile(const char *text, const char *const *columns, size_t ncolumns, char **cause)
{
	struct template *t = xcalloc(1, sizeof *t);
	const char *p = text;

	while (*p != '\0') {
		const char *open = strstr(p, "{{"), *close, *b, *e;
		int v;

		if (open == NULL) {
			template_add(t, xstrdup(p), -1);
			break;
		}
		if (open > p)
			template_add(t, xstrndup(p, (size_t)(open - p)), -1);
		if ((close = strstr(open + 2, "}}")) == NULL) {
			*cause = xstrdup("a \"{{\" has no closing \"}}\"");
			template_free(t);
			return NULL;
		}
		for (b = open + 2; b < close && *b == ' '; b++)
			;
		for (e = close; e > b && e[-1] == ' '; e--)
			;
		if ((v = template_lookup(b, (size_t)(e - b), columns, ncolumns)) < 0) {
			*cause = xasprintf("unknown placeholder {{%.*s}}; use one of rule, title, "
			                   "case, stage, start, due, fires, days_late, status, "
			                   "expected, value, label, or a column of the query",
			                   (int)(e - b), b);
			template_free(t);
			return NULL;
		}
		template_add(t, NULL, v);
		p = close + 2;
	}
	return t;
}

/* Free a template. */
void
template_free(struct template *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->segs[i].text);
	free(t->segs);
	free(t);
}

/* Copy a value into out, turning control characters into spaces: one value, one line. */
static void
template_put_value(char *out, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? ' ' : s[i];
}

/* Render a template, at most TEMPLATE_RENDER_MAX bytes. */
char *
template_render(const struct template *t, const char *const *values)
{
	size_t len = 0, off = 0, room;
	bool cut = false;
	char *out;

	for (size_t i = 0; i < t->n && len <= TEMPLATE_RENDER_MAX; i++) {
		const char *s = t->segs[i].text ? t->segs[i].text : values[t->segs[i].value];
		len += s ? strnlen(s, TEMPLATE_RENDER_MAX + 1) : 0;
	}
	/* Longer than the cap: keep what fits before the marker, then the marker. */
	if (len > TEMPLATE_RENDER_MAX) {
		len = TEMPLATE_RENDER_MAX;
		cut = true;
	}
	room = cut ? TEMPLATE_RENDER_MAX - (sizeof TEMPLATE_CUT_MARK - 1) : len;
	out = xmalloc(len + 1);
	for (size_t i = 0; i < t->n && off < room; i++) {
		const char *s = t->segs[i].text ? t->segs[i].text : values[t->segs[i].value];
		size_t n = s ? strnlen(s, room - off + 1) : 0;

		if (n > room - off) {
			/* Cut here, at the start of a character (a UTF-8 lead byte). */
			n = utf8_boundary(s, room - off);
			room = off + n;
		}
		/* Values come from the case store: a line break in one must not forge lines. */
		if (t->segs[i].text != NULL)
			memcpy(out + off, s, n);
		else if (s != NULL)
			template_put_value(out + off, s, n);
		off += n;
	}
	if (cut) {
		memcpy(out + off, TEMPLATE_CUT_MARK, sizeof TEMPLATE_CUT_MARK - 1);
		off += sizeof TEMPLATE_CUT_MARK - 1;
	}
	out[off] = '\0';
	return out;
}
