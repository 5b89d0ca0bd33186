/*
 * fuzz_template.c - template_compile and template_render against a plain
 * reference renderer, and utf8_sanitize against an independent UTF-8 decoder.
 *
 * Input: the template text, then up to TPL_NBUILTIN + NCOLUMNS values, all
 * separated by NUL bytes. A value that is exactly "\x7f" stands for NULL.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "template.h"
#include "utf8.h"

/* Query columns the templates may use ("start" is also a built-in, which wins). */
static const char *const columns[] = {"case_ref", "start", "legal_status", "team_manager_email"};
#define NCOLUMNS (sizeof columns / sizeof columns[0])
#define NVALUES (TPL_NBUILTIN + NCOLUMNS)

/* A growing string. */
struct out {
	char *s;
	size_t len, cap;
};

static void
out_add(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->s = realloc(o->s, o->cap);
		if (o->s == NULL)
			abort();
	}
	memcpy(o->s + o->len, s, n);
	o->len += n;
	o->s[o->len] = '\0';
}

/* The value index of a name, built-ins first; -1 if unknown. */
static int
ref_lookup(const char *name, size_t len)
{
	for (int i = 0; i < TPL_NBUILTIN; i++)
		if (strlen(template_builtin_names[i]) == len &&
		    memcmp(template_builtin_names[i], name, len) == 0)
			return i;
	for (size_t i = 0; i < NCOLUMNS; i++)
		if (strlen(columns[i]) == len && memcmp(columns[i], name, len) == 0)
			return TPL_NBUILTIN + (int)i;
	return -1;
}

/*
 * What the template should render to: "{{", optional spaces, a name, optional
 * spaces, "}}". Returns 0, 1 for an unclosed "{{", 2 for an unknown name.
 */
static int
ref_render(const char *text, const char *const *values, struct out *o)
{
	size_t len = strlen(text), i = 0;

	out_add(o, "", 0);
	while (i < len) {
		size_t j, b, e;
		int v;

		if (!(i + 1 < len && text[i] == '{' && text[i + 1] == '{')) {
			out_add(o, text + i, 1);
			i++;
			continue;
		}
		for (j = i + 2; j + 1 < len && !(text[j] == '}' && text[j + 1] == '}'); j++)
			;
		if (j + 1 >= len)
			return 1;
		for (b = i + 2; b < j && text[b] == ' '; b++)
			;
		for (e = j; e > b && text[e - 1] == ' '; e--)
			;
		if ((v = ref_lookup(text + b, e - b)) < 0)
			return 2;
		if (values[v] != NULL)
			/* Values are one line: control characters become spaces. */
			for (const char *c = values[v]; *c != '\0'; c++)
				out_add(o, ((unsigned char)*c < 0x20 || *c == 0x7f) ? " " : c, 1);
		i = j + 2;
	}
	return 0;
}

/* utf8_sanitize(s) against a decoder written separately (fuzz_common.h). */
static void
check_sanitize(const char *s)
{
	char *got = utf8_sanitize(s);
	struct out want = {0};

	out_add(&want, "", 0);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0';) {
		size_t n = fuzz_utf8_len(p);

		if (n == 0) {
			out_add(&want, "\xef\xbf\xbd", 3);
			p++;
		} else {
			unsigned cp =
			    n == 1   ? p[0]
			    : n == 2 ? (p[0] & 0x1fu) << 6 | (p[1] & 0x3fu)
			    : n == 3 ? (p[0] & 0x0fu) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu)
			             : 0x10000; /* 4 bytes: never hidden */

			/* Line/paragraph separators become spaces; bidi controls go. */
			if (cp == 0x2028 || cp == 0x2029)
				out_add(&want, " ", 1);
			else if (!(cp == 0x200e || cp == 0x200f || cp == 0x061c ||
			           (cp >= 0x202a && cp <= 0x202e) ||
			           (cp >= 0x2066 && cp <= 0x2069)))
				out_add(&want, (const char *)p, n);
			p += n;
		}
	}
	FUZZ_CHECK(fuzz_valid_utf8(got), "utf8_sanitize output is not valid UTF-8");
	FUZZ_CHECK(strcmp(got, want.s) == 0,
	           "utf8_sanitize differs from the reference (%zu bytes vs %zu)", strlen(got),
	           want.len);
	free(got);
	free(want.s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[1 + NVALUES];
	const char *values[NVALUES];
	size_t nparts;
	char *buf = fuzz_split(data, size, parts, 1 + NVALUES, &nparts);
	char *cause = NULL, *got;
	struct template *t;
	struct out want = {0};
	char *first;
	int ref;

	for (size_t i = 0; i < NVALUES; i++)
		values[i] =
		    parts[1 + i] != NULL && strcmp(parts[1 + i], "\x7f") != 0 ? parts[1 + i] : NULL;

	t = template_compile(parts[0], columns, NCOLUMNS, &cause);
	ref = ref_render(parts[0], values, &want);
	if (t == NULL) {
		FUZZ_CHECK(ref != 0, "template_compile rejected a good template: %s",
		           cause ? cause : "?");
		FUZZ_CHECK(cause != NULL && *cause != '\0', "no cause");
		FUZZ_CHECK((ref == 2) == (strncmp(cause, "unknown placeholder", 19) == 0),
		           "reference says %d, cause says %s", ref, cause);
		free(cause);
	} else {
		FUZZ_CHECK(ref == 0, "template_compile accepted a bad template (reference: %d)",
		           ref);
		first = template_render(t, values);
		got = first;
		if (want.len > TEMPLATE_RENDER_MAX) {
			/* Past the cap: a prefix of the whole, cut at a character, then the mark.
			 */
			size_t n = strlen(got), mark = sizeof TEMPLATE_CUT_MARK - 1;

			FUZZ_CHECK(n <= TEMPLATE_RENDER_MAX && n >= mark &&
			               strcmp(got + n - mark, TEMPLATE_CUT_MARK) == 0 &&
			               memcmp(got, want.s, n - mark) == 0,
			           "render past the cap gave %zu bytes of %zu", n, want.len);
		} else {
			FUZZ_CHECK(strcmp(got, want.s) == 0, "render gave %zu bytes, expected %zu",
			           strlen(got), want.len);
		}
		/* Rendering twice gives the same text (no state kept between renders). */
		got = template_render(t, values);
		FUZZ_CHECK(strcmp(got, first) == 0, "second render differs");
		free(got);
		free(first);
		template_free(t);
	}
	free(want.s);

	check_sanitize(parts[0]);
	for (size_t i = 1; i < nparts; i++)
		check_sanitize(parts[i]);
	free(buf);
	return 0;
}
