/* test_respond_form.c - unit tests for daemon/respond_form.c: the answer form's body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "respond.h"
#include "respond_page.h"
#include "xalloc.h"

/* Parse s (a C string); fail the test unless it parses. */
static void
parse_ok(const char *s, struct respond_form *f)
{
	char *why = NULL;

	if (respond_parse_form(s, strlen(s), f, &why) != 0)
		fail_msg("\"%s\" refused: %s", s, why);
	assert_null(why);
}

/* Parse len bytes of s; fail the test unless it is refused with words in the reason. */
static void
parse_bad(const char *s, size_t len, const char *words)
{
	struct respond_form f;
	char *why = NULL;

	if (respond_parse_form(s, len, &f, &why) == 0)
		fail_msg("\"%.*s\" accepted", (int)len, s);
	assert_non_null(why);
	if (strstr(why, words) == NULL)
		fail_msg("\"%.*s\": \"%s\" does not say \"%s\"", (int)len, s, why, words);
	/* Nothing is left in the form on failure. */
	assert_null(f.kind);
	assert_null(f.note);
	assert_null(f.form);
	free(why);
}

/* A browser's form: '+' is a space, %XX a byte, "\r\n" one line end, values trimmed. */
static void
test_form_browser_body(void **state)
{
	struct respond_form f;

	parse_ok("form=AbC-_0&kind=agreed&agreed_on=2026-03-14&reason=&note=Review+booked%0D%0A"
	         "with+the+family%3A+%C3%A9t%C3%A9+%E2%9C%93&name=+Tess+Manager+&submit=Send",
	         &f);
	assert_string_equal(f.form, "AbC-_0");
	assert_string_equal(f.kind, "agreed");
	assert_string_equal(f.agreed_on, "2026-03-14");
	assert_null(f.reason); /* empty is absent */
	assert_string_equal(f.note,
	                    "Review booked\nwith the family: \xc3\xa9t\xc3\xa9 \xe2\x9c\x93");
	assert_string_equal(f.name, "Tess Manager");
	respond_form_free(&f);
	assert_null(f.kind);

	/* A lone CR is a line end too; tabs stay in a note; a literal '+' arrives as %2B. */
	parse_ok("note=a%0Db%09c%2Bd", &f);
	assert_string_equal(f.note, "a\nb\tc+d");
	respond_form_free(&f);
	/* Nothing at all, and white space only, are no fields. */
	parse_ok("", &f);
	assert_null(f.kind);
	parse_ok("kind=+++&note=%0D%0A%20", &f);
	assert_null(f.kind);
	assert_null(f.note);
}

/* What cannot be recorded is refused with a sentence that says which field. */
static void
test_form_refused(void **state)
{
	char big[RESPOND_BODY_MAX + 2];

	parse_bad("note=%FF", 8, "Your note is not valid text");
	parse_bad("note=%C3%28", 11, "not valid text");
	parse_bad("note=%ED%A0%80", 14, "not valid text"); /* a UTF-16 surrogate */
	parse_bad("note=%C0%AF", 11, "not valid text");    /* overlong */
	parse_bad("note=a%07b", 10, "control character");
	parse_bad("note=a%7Fb", 10, "control character");
	parse_bad("note=a%C2%85b", 13, "control character"); /* C1: NEL */
	parse_bad("note=a%1Bb", 10, "control character");    /* ESC */
	parse_bad("note=a%00b", 10, "control character");    /* would cut the value short */
	parse_bad("note=a\0b", 8, "control character");      /* a raw NUL */
	parse_bad("name=a%0Ab", 10, "Your name holds a control character");
	parse_bad("name=a%09b", 10, "Your name holds a control character");
	parse_bad("kind=a%0Db", 10, "The answer holds a control character");
	parse_bad("kind=agreed&kind=disagree", 25, "sent twice");
	parse_bad("note=&note=x", 12, "sent twice");
	parse_bad("kind", 4, "could not be read");
	parse_bad("=x", 2, "could not be read");
	memset(big, 'a', sizeof big);
	memcpy(big, "note=", 5);
	parse_bad(big, sizeof big, "too long");
}

/* Lengths count characters, after trimming. */
static void
test_form_lengths(void **state)
{
	struct respond_form f;
	size_t n = RESPOND_NAME_MAX;
	/* "name=" + n two-byte characters as %C3%A9 (6 bytes each) + one more. */
	char *body = xmalloc(5 + (n + 1) * 6 + 1), *p = body;
	char *why = NULL;

	p += sprintf(p, "name=");
	for (size_t i = 0; i < n; i++)
		p += sprintf(p, "%%C3%%A9");
	parse_ok(body, &f);
	assert_int_equal(strlen(f.name), 2 * n);
	respond_form_free(&f);
	sprintf(p, "+++"); /* trailing spaces do not count */
	parse_ok(body, &f);
	respond_form_free(&f);
	sprintf(p, "%%C3%%A9");
	assert_int_equal(respond_parse_form(body, strlen(body), &f, &why), -1);
	assert_non_null(strstr(why, "longer than 100 characters"));
	free(why);
	free(body);
}

/* A parsed form from fields (NULL: absent). */
static struct respond_form
form(const char *kind, const char *on, const char *reason)
{
	struct respond_form f;

	memset(&f, 0, sizeof f);
	f.kind = (char *)kind;
	f.agreed_on = (char *)on;
	f.reason = (char *)reason;
	f.note = (char *)"a note";
	f.name = (char *)"Tess";
	return f;
}

/* Expect respond_check to refuse f on today with words in the reason. */
static void
check_bad(struct respond_form f, const char *today, const char *words)
{
	struct answer a;
	char *why = NULL;

	assert_int_equal(respond_check(&f, today, &a, &why), -1);
	if (why == NULL || strstr(why, words) == NULL)
		fail_msg("kind %s on %s: \"%s\" does not say \"%s\"", f.kind ? f.kind : "(none)",
		         f.agreed_on ? f.agreed_on : "(none)", why ? why : "(nothing)", words);
	free(why);
}

/* An answer: a kind; agreed needs a date from today to a year ahead; disagree a reason. */
static void
test_form_check(void **state)
{
	struct respond_form f;
	struct answer a;
	char *why = NULL;

	f = form("agreed", "2026-03-14", "ignored");
	assert_int_equal(respond_check(&f, "2026-03-01", &a, &why), 0);
	assert_int_equal(a.kind, ANSWER_AGREED);
	assert_string_equal(a.agreed_on, "2026-03-14");
	assert_null(a.reason); /* only a disagreement keeps a reason */
	assert_string_equal(a.note, "a note");
	assert_string_equal(a.name, "Tess");
	f = form("agreed", "2026-03-01", NULL); /* today itself */
	assert_int_equal(respond_check(&f, "2026-03-01", &a, &why), 0);
	f = form("agreed", "2027-03-01", NULL); /* a year ahead exactly */
	assert_int_equal(respond_check(&f, "2026-03-01", &a, &why), 0);
	f = form("agreed", "2025-02-28", NULL); /* from 29 February: a year is 28 February */
	assert_int_equal(respond_check(&f, "2024-02-29", &a, &why), 0);
	f = form("disagree", "2026-03-14", "Held on time");
	assert_int_equal(respond_check(&f, "2026-03-01", &a, &why), 0);
	assert_int_equal(a.kind, ANSWER_DISAGREE);
	assert_null(a.agreed_on);
	assert_string_equal(a.reason, "Held on time");
	f = form("acknowledged", "junk", NULL); /* a date not asked for is not checked */
	assert_int_equal(respond_check(&f, "2026-03-01", &a, &why), 0);
	assert_int_equal(a.kind, ANSWER_ACKNOWLEDGED);
	assert_null(a.agreed_on);

	check_bad(form(NULL, NULL, NULL), "2026-03-01", "Choose an answer");
	check_bad(form("Agreed", NULL, NULL), "2026-03-01", "Choose one of the three");
	check_bad(form("agreed", NULL, NULL), "2026-03-01", "Give the date");
	check_bad(form("agreed", "2026-02-28", NULL), "2026-03-01", "before today (2026-03-01)");
	check_bad(form("agreed", "2027-03-02", NULL), "2026-03-01", "more than a year ahead");
	check_bad(form("agreed", "2026-02-30", NULL), "2026-03-01", "not a date");
	check_bad(form("agreed", "14/03/2026", NULL), "2026-03-01", "not a date");
	check_bad(form("agreed", "2026-03-14T10:00", NULL), "2026-03-01", "not a date");
	check_bad(form("disagree", NULL, NULL), "2026-03-01", "why you disagree");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_form_browser_body),
	    cmocka_unit_test(test_form_refused),
	    cmocka_unit_test(test_form_lengths),
	    cmocka_unit_test(test_form_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
