/* test_template.c - unit tests for rules/template.c: {{placeholder}} subjects and bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"
#include "xalloc.h"

/* Query columns of the rule the templates belong to ("start" is also a built-in). */
static const char *const columns[] = {"case_ref", "team_manager_email", "start", "legal_status"};
#define NCOLUMNS (sizeof columns / sizeof columns[0])
#define NVALUES (TPL_NBUILTIN + NCOLUMNS)

/* The message for an unknown placeholder written as {{name}}. */
#define UNKNOWN(name)                                                                              \
	"unknown placeholder {{" name "}}; use one of rule, title, case, stage, start, due, "      \
	"fires, days_late, status, expected, value, label, or a column of the query"

/* One alert's values: built-ins, then the columns. */
static const char *const values[NVALUES] = {
    [TPL_RULE] = "cic-first-review",
    [TPL_TITLE] = "First Child in Care review",
    [TPL_CASE] = "A01",
    [TPL_STAGE] = "overdue",
    [TPL_START] = "2026-12-18",
    [TPL_DUE] = "2027-01-20",
    [TPL_FIRES] = "2027-01-21T08:00:00",
    [TPL_DAYS_LATE] = "1",
    [TPL_STATUS] = "open",
    [TPL_EXPECTED] = "a review",
    [TPL_VALUE] = "71",
    [TPL_LABEL] = "Overdue: team manager",
    [TPL_NBUILTIN + 0] = "A01-column",
    [TPL_NBUILTIN + 1] = "tm.north@council.example",
    [TPL_NBUILTIN + 2] = "column start",
    [TPL_NBUILTIN + 3] = "C2",
};

/* Compile text, which must be accepted, and render it with vals. Allocated. */
static char *
render(const char *text, const char *const *vals)
{
	char *cause = NULL, *out;
	struct template *t = template_compile(text, columns, NCOLUMNS, &cause);

	if (t == NULL)
		fail_msg("\"%s\" refused: %s", text, cause);
	assert_null(cause);
	out = template_render(t, vals);
	template_free(t);
	return out;
}

/* Assert text renders with vals to want. */
static void
expect_render(const char *text, const char *const *vals, const char *want)
{
	char *got = render(text, vals);

	if (strcmp(got, want) != 0)
		fail_msg("\"%s\" rendered \"%s\", expected \"%s\"", text, got, want);
	free(got);
}

/* Assert text is refused with exactly the cause want. */
static void
expect_refused(const char *text, const char *want)
{
	char *cause = NULL;
	struct template *t = template_compile(text, columns, NCOLUMNS, &cause);

	if (t != NULL) {
		template_free(t);
		fail_msg("\"%s\" should have been refused", text);
	}
	assert_non_null(cause);
	if (strcmp(cause, want) != 0)
		fail_msg("\"%s\": cause \"%s\", expected \"%s\"", text, cause, want);
	free(cause);
}

/* Text without placeholders is copied as it is, line breaks, braces and all. */
static void
test_template_literal(void **state)
{
	(void)state;
	expect_render("", values, "");
	expect_render("Review overdue", values, "Review overdue");
	expect_render("Line one\r\nLine two\n\tindented\n", values,
	              "Line one\r\nLine two\n\tindented\n");
	expect_render("{ single } braces {x} and }} closing", values,
	              "{ single } braces {x} and }} closing");
	expect_render("Zoë owes 5 €", values, "Zoë owes 5 €");
}

/* Every built-in renders its own value; the names are in enum order. */
static void
test_template_builtins(void **state)
{
	static const char *const names[TPL_NBUILTIN] = {
	    "rule",  "title",     "case",   "stage",    "start", "due",
	    "fires", "days_late", "status", "expected", "value", "label",
	};

	(void)state;
	for (int i = 0; i < TPL_NBUILTIN; i++) {
		char *text = xasprintf("<{{%s}}>", names[i]);
		char *want = xasprintf("<%s>", values[i]);

		assert_string_equal(template_builtin_names[i], names[i]);
		expect_render(text, values, want);
		free(want);
		free(text);
	}
}

/* Query columns follow the built-ins; a built-in wins over a column of the same name. */
static void
test_template_columns(void **state)
{
	char *cause = NULL;

	(void)state;
	expect_render("{{team_manager_email}}", values, "tm.north@council.example");
	expect_render("{{legal_status}}/{{case_ref}}", values, "C2/A01-column");
	expect_render("{{start}}", values, "2026-12-18");
	/* Without columns, a column name is unknown. */
	assert_null(template_compile("{{legal_status}}", NULL, 0, &cause));
	assert_string_equal(cause, UNKNOWN("legal_status"));
	free(cause);
}

/* Placeholders among text, side by side, repeated, with spaces inside the braces. */
static void
test_template_mixed(void **state)
{
	(void)state;
	expect_render("[{{case}}] {{title}}: {{stage}} since {{due}}", values,
	              "[A01] First Child in Care review: overdue since 2027-01-20");
	expect_render("{{case}}{{stage}}{{case}}", values, "A01overdueA01");
	expect_render("{{ case }}|{{case   }}|{{   case}}", values, "A01|A01|A01");
	expect_render("{{case}}}", values, "A01}");
	expect_render("{{case}} {", values, "A01 {");
}

/* A NULL value renders as nothing. */
static void
test_template_null_value(void **state)
{
	const char *vals[NVALUES];

	(void)state;
	memcpy(vals, values, sizeof vals);
	vals[TPL_DAYS_LATE] = NULL;
	vals[TPL_NBUILTIN + 3] = NULL;
	expect_render("late by {{days_late}} days, status {{legal_status}}.", vals,
	              "late by  days, status .");
}

/* A value is one line: its control characters become spaces; the text's own stay. */
static void
test_template_value_controls(void **state)
{
	const char *vals[NVALUES];
	char c0[33];

	(void)state;
	memcpy(vals, values, sizeof vals);
	vals[TPL_CASE] = "A01\r\nBcc: victim@example.com";
	expect_render("Subject: {{case}}\n", vals, "Subject: A01  Bcc: victim@example.com\n");
	vals[TPL_CASE] = "tab\there\x1b[31mred\x7f!";
	expect_render("{{case}}", vals, "tab here [31mred !");
	/* Every C0 control character, one by one. */
	for (int i = 1; i < 0x20; i++)
		c0[i - 1] = (char)i;
	c0[31] = 'x';
	c0[32] = '\0';
	vals[TPL_CASE] = c0;
	expect_render("{{case}}", vals, "                               x");
	/* UTF-8 (bytes 0x80 and up) is not mistaken for control characters. */
	vals[TPL_CASE] = "Zoë Ørsted – 5 € 😀";
	expect_render("{{case}}", vals, "Zoë Ørsted – 5 € 😀");
}

/* A value that looks like a placeholder is not expanded again. */
static void
test_template_value_not_expanded(void **state)
{
	const char *vals[NVALUES];

	(void)state;
	memcpy(vals, values, sizeof vals);
	vals[TPL_TITLE] = "{{case}} {{nope}} {{";
	expect_render("{{title}}", vals, "{{case}} {{nope}} {{");
}

/* One compiled template renders many alerts, each with its own values. */
static void
test_template_reuse(void **state)
{
	const char *vals[NVALUES];
	char *cause = NULL, *a, *b, *c;
	struct template *t = template_compile("{{case}}: {{stage}}", columns, NCOLUMNS, &cause);

	(void)state;
	assert_non_null(t);
	memcpy(vals, values, sizeof vals);
	a = template_render(t, vals);
	vals[TPL_CASE] = "B02 with a much longer case reference than before";
	vals[TPL_STAGE] = "escalated";
	b = template_render(t, vals);
	c = template_render(t, values);
	assert_string_equal(a, "A01: overdue");
	assert_string_equal(b, "B02 with a much longer case reference than before: escalated");
	assert_string_equal(c, a);
	free(a);
	free(b);
	free(c);
	template_free(t);
	template_free(NULL);
}

/* Many placeholders in one long template. */
static void
test_template_many(void **state)
{
	char *text = xstrdup(""), *want = xstrdup(""), *more;

	(void)state;
	for (int i = 0; i < 500; i++) {
		more = xasprintf("%s{{case}}-%d,", text, i);
		free(text);
		text = more;
		more = xasprintf("%sA01-%d,", want, i);
		free(want);
		want = more;
	}
	expect_render(text, values, want);
	free(text);
	free(want);
}

/* A "{{" that is never closed is refused, wherever it is. */
static void
test_template_unclosed(void **state)
{
	static const char *const bad[] = {
	    "{{", "Case {{case", "{{case}", "{{case} }", "{{case}} and {{", "{{case}} {{ stage",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_refused(bad[i], "a \"{{\" has no closing \"}}\"");
}

/* An unknown name is refused, quoting the name without its surrounding spaces. */
static void
test_template_unknown(void **state)
{
	(void)state;
	expect_refused("{{nope}}", UNKNOWN("nope"));
	expect_refused("Case {{ case_reference }} is late", UNKNOWN("case_reference"));
	expect_refused("{{}}", UNKNOWN(""));
	expect_refused("{{   }}", UNKNOWN(""));
	/* Names are exact: case, spaces inside and other blanks matter. */
	expect_refused("{{Case}}", UNKNOWN("Case"));
	expect_refused("{{ca se}}", UNKNOWN("ca se"));
	expect_refused("{{\tcase}}", UNKNOWN("\tcase"));
	expect_refused("{{cas}}", UNKNOWN("cas"));
	expect_refused("{{cases}}", UNKNOWN("cases"));
	/* The first "}}" closes: "{{{case}}}" names "{case". */
	expect_refused("{{{case}}}", UNKNOWN("{case"));
	/* The first bad placeholder is the one reported, after good ones. */
	expect_refused("{{case}} {{stage}} {{bad}} {{worse}}", UNKNOWN("bad"));
}

/* A value as long as the cap, of n-byte characters ("é" is 2 bytes, "€" 3, "😀" 4). */
static char *
long_value(const char *ch, size_t bytes)
{
	size_t n = strlen(ch), count = bytes / n;
	char *v = xmalloc(count * n + 1);

	for (size_t i = 0; i < count; i++)
		memcpy(v + i * n, ch, n);
	v[count * n] = '\0';
	return v;
}

/* A rendering longer than TEMPLATE_RENDER_MAX is cut on a character boundary, with "…". */
static void
test_template_cap(void **state)
{
	static const char *const chars[] = {"x", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
	const char *vals[NVALUES];

	(void)state;
	memcpy(vals, values, sizeof vals);
	for (size_t c = 0; c < sizeof chars / sizeof chars[0]; c++) {
		for (size_t pre = 0; pre < 4; pre++) {
			/* pre bytes of literal text shift where the cut falls in a character. */
			char *text =
			    xasprintf("%.*s{{legal_status}}{{legal_status}}", (int)pre, "abc");
			char *v = long_value(chars[c], TEMPLATE_RENDER_MAX);
			char *out;
			size_t len, n = strlen(chars[c]);

			vals[TPL_NBUILTIN + 3] = v;
			out = render(text, vals);
			len = strlen(out);
			assert_true(len <= TEMPLATE_RENDER_MAX);
			assert_true(len > TEMPLATE_RENDER_MAX - 3 - 4);
			assert_string_equal(out + len - 3, TEMPLATE_CUT_MARK);
			/* Whole characters before the marker: the text, then copies of the
			 * character. */
			assert_memory_equal(out, "abc", pre);
			assert_int_equal((len - 3 - pre) % n, 0);
			for (size_t i = pre; i + n <= len - 3; i += n)
				assert_memory_equal(out + i, chars[c], n);
			free(out);
			free(v);
			free(text);
		}
	}
	/* Exactly at the cap: nothing cut, no marker. */
	{
		char *v = long_value("x", TEMPLATE_RENDER_MAX - 4), *out;

		vals[TPL_NBUILTIN + 3] = v;
		out = render("[{{legal_status}}]..", vals);
		assert_int_equal(strlen(out), TEMPLATE_RENDER_MAX);
		assert_string_equal(out + TEMPLATE_RENDER_MAX - 3, "]..");
		free(out);
		/* One byte more: cut. */
		out = render("[{{legal_status}}]...", vals);
		assert_int_equal(strlen(out), TEMPLATE_RENDER_MAX);
		assert_string_equal(out + TEMPLATE_RENDER_MAX - 4, "x" TEMPLATE_CUT_MARK);
		free(out);
		free(v);
	}
	/* A long literal text is cut as well, and control characters in values still go. */
	{
		char *lit = long_value("ab", 2 * TEMPLATE_RENDER_MAX), *text, *out;

		text = xasprintf("{{case}}%s", lit);
		vals[TPL_CASE] = "A\n1";
		out = render(text, vals);
		assert_int_equal(strlen(out), TEMPLATE_RENDER_MAX);
		assert_memory_equal(out, "A 1abab", 7);
		free(out);
		free(text);
		free(lit);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_template_literal),
	    cmocka_unit_test(test_template_builtins),
	    cmocka_unit_test(test_template_columns),
	    cmocka_unit_test(test_template_mixed),
	    cmocka_unit_test(test_template_null_value),
	    cmocka_unit_test(test_template_value_controls),
	    cmocka_unit_test(test_template_value_not_expanded),
	    cmocka_unit_test(test_template_reuse),
	    cmocka_unit_test(test_template_many),
	    cmocka_unit_test(test_template_unclosed),
	    cmocka_unit_test(test_template_unknown),
	    cmocka_unit_test(test_template_cap),
	};

	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
