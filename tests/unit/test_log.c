/* test_log.c - unit tests for daemon/log.c: line formats, levels, escaping and quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "diag.h"
#include "log.h"
#include "testdir.h"
#include "xalloc.h"

/* One test's scratch directory, the file stderr goes to while captured, and the real stderr. */
struct fixture {
	struct testdir *td;
	char *path;
	int saved_stderr;
};

/* Plain output (no JOURNAL_STREAM) unless a test asks for the journal. */
static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);

	fx->td = testdir_new();
	fx->path = testdir_path(fx->td, "stderr.txt");
	fx->saved_stderr = -1;
	unsetenv("JOURNAL_STREAM");
	log_init();
	*state = fx;
	return 0;
}

/* Put stderr back if a test failed while capturing; the default level again. */
static int
teardown(void **state)
{
	struct fixture *fx = *state;

	if (fx->saved_stderr != -1) {
		dup2(fx->saved_stderr, STDERR_FILENO);
		close(fx->saved_stderr);
	}
	unsetenv("JOURNAL_STREAM");
	log_init();
	log_set_level(LOG_INFO);
	testdir_free(fx->td);
	free(fx->path);
	free(fx);
	return 0;
}

/* Send stderr to a fresh file until capture_end. */
static void
capture_begin(struct fixture *fx)
{
	int fd = open(fx->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd != -1);
	fflush(stderr);
	fx->saved_stderr = dup(STDERR_FILENO);
	assert_true(fx->saved_stderr != -1);
	assert_true(dup2(fd, STDERR_FILENO) != -1);
	close(fd);
}

/* Put stderr back; everything written to it since capture_begin, allocated. */
static char *
capture_end(struct fixture *fx)
{
	char buf[65536];
	FILE *f;
	size_t n;

	fflush(stderr);
	assert_true(dup2(fx->saved_stderr, STDERR_FILENO) != -1);
	close(fx->saved_stderr);
	fx->saved_stderr = -1;
	f = fopen(fx->path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	assert_true(n < sizeof buf - 1);
	buf[n] = '\0';
	assert_int_equal(strlen(buf), n); /* no NUL byte was written */
	return xstrdup(buf);
}

/* Assert what was captured is exactly want (and free it). */
static void
expect_output(char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		fail_msg("logged\n\"%s\"\nexpected\n\"%s\"", got, want);
	free(got);
}

/* Log one line with the value s in it, captured. */
static char *
log_value(struct fixture *fx, int pri, const char *s)
{
	capture_begin(fx);
	log_msg(pri, "value=%s", s);
	return capture_end(fx);
}

/* Messages at or above LOG_INFO are logged by default; debug is not. */
static void
test_log_default_level(void **state)
{
	struct fixture *fx = *state;

	capture_begin(fx);
	log_info("info");
	log_debug("debug");
	log_notice("notice");
	expect_output(capture_end(fx), "escalatord: info\nescalatord: notice\n");
}

/* Every priority, with the line "m" makes at it in each format. */
static const struct {
	int pri;
	const char *plain, *journal;
} priorities[] = {
    {LOG_EMERG, "escalatord: error: m\n", "<0>m\n"},
    {LOG_ALERT, "escalatord: error: m\n", "<1>m\n"},
    {LOG_CRIT, "escalatord: error: m\n", "<2>m\n"},
    {LOG_ERR, "escalatord: error: m\n", "<3>m\n"},
    {LOG_WARNING, "escalatord: warning: m\n", "<4>m\n"},
    {LOG_NOTICE, "escalatord: m\n", "<5>m\n"},
    {LOG_INFO, "escalatord: m\n", "<6>m\n"},
    {LOG_DEBUG, "escalatord: debug: m\n", "<7>m\n"},
};

/* Log "m" at every priority, each line checked against the plain or the journal form. */
static void
expect_every_priority(struct fixture *fx, int journal)
{
	log_set_level(LOG_DEBUG);
	for (size_t i = 0; i < sizeof priorities / sizeof priorities[0]; i++) {
		capture_begin(fx);
		log_msg(priorities[i].pri, "%c", 'm');
		expect_output(capture_end(fx),
		              journal ? priorities[i].journal : priorities[i].plain);
	}
}

/* Plain format: "escalatord: ", a level word for errors, warnings and debug, the message. */
static void
test_log_plain_format(void **state)
{
	expect_every_priority(*state, 0);
}

/* With JOURNAL_STREAM set: "<N>" and the message, nothing else. */
static void
test_log_journal_format(void **state)
{
	setenv("JOURNAL_STREAM", "8:123456", 1);
	log_init();
	expect_every_priority(*state, 1);
}

/* log_init decides again each time: an empty or missing JOURNAL_STREAM means plain. */
static void
test_log_journal_decided_by_init(void **state)
{
	struct fixture *fx = *state;

	setenv("JOURNAL_STREAM", "8:1", 1);
	log_init();
	capture_begin(fx);
	log_err("journal");
	setenv("JOURNAL_STREAM", "", 1);
	log_err("still journal until log_init");
	log_init();
	log_err("plain");
	setenv("JOURNAL_STREAM", "8:1", 1);
	log_init();
	log_err("journal again");
	unsetenv("JOURNAL_STREAM");
	log_init();
	log_err("plain again");
	expect_output(capture_end(fx), "<3>journal\n<3>still journal until log_init\n"
	                               "escalatord: error: plain\n<3>journal again\n"
	                               "escalatord: error: plain again\n");
}

/* log_set_level drops everything less urgent than the level. */
static void
test_log_level(void **state)
{
	struct fixture *fx = *state;

	log_set_level(LOG_WARNING);
	capture_begin(fx);
	log_debug("d");
	log_info("i");
	log_notice("n");
	log_warn("w");
	log_err("e");
	log_set_level(LOG_ERR);
	log_warn("w2");
	log_err("e2");
	log_msg(LOG_CRIT, "c2");
	log_set_level(LOG_DEBUG);
	log_debug("d3");
	expect_output(capture_end(fx), "escalatord: warning: w\nescalatord: error: e\n"
	                               "escalatord: error: e2\nescalatord: error: c2\n"
	                               "escalatord: debug: d3\n");
}

/* C0 controls, DEL and C1 controls in a logged value become \xNN: the line stays one line. */
static void
test_log_escape_controls(void **state)
{
	struct fixture *fx = *state;
	char all_c0[33];

	expect_output(log_value(fx, LOG_INFO, "a\nb"), "escalatord: value=a\\x0ab\n");
	expect_output(log_value(fx, LOG_INFO, "a\r\nb\tc\x1b[31md\x7f"),
	              "escalatord: value=a\\x0d\\x0ab\\x09c\\x1b[31md\\x7f\n");
	/* C1: U+0085 NEL, U+0080 and U+009F, as UTF-8. */
	expect_output(log_value(fx, LOG_INFO, "x\xc2\x85y\xc2\x80\xc2\x9fz"),
	              "escalatord: value=x\\xc2\\x85y\\xc2\\x80\\xc2\\x9fz\n");
	/* Every C0 control. */
	for (int i = 1; i < 0x20; i++)
		all_c0[i - 1] = (char)i;
	all_c0[31] = '!';
	all_c0[32] = '\0';
	expect_output(log_value(fx, LOG_INFO, all_c0),
	              "escalatord: value=\\x01\\x02\\x03\\x04\\x05\\x06\\x07\\x08\\x09\\x0a\\x0b"
	              "\\x0c\\x0d\\x0e\\x0f\\x10\\x11\\x12\\x13\\x14\\x15\\x16\\x17\\x18\\x19\\x1a"
	              "\\x1b\\x1c\\x1d\\x1e\\x1f!\n");
}

/* Bytes that are not valid UTF-8 become \xNN; valid UTF-8 (NBSP, emoji) is kept. */
static void
test_log_escape_invalid_utf8(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"\xff", "\\xff"},
	    {"caf\xe9", "caf\\xe9"},                              /* Latin-1 */
	    {"\x80x", "\\x80x"},                                  /* lone continuation byte */
	    {"\xe2\x82x", "\\xe2\\x82x"},                         /* cut short */
	    {"end\xe2\x82", "end\\xe2\\x82"},                     /* cut short at the end */
	    {"\xf0\x9f\x98", "\\xf0\\x9f\\x98"},                  /* cut short at the end */
	    {"\xc0\xaf", "\\xc0\\xaf"},                           /* overlong '/' */
	    {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},                  /* overlong '/' */
	    {"\xed\xa0\x80", "\\xed\\xa0\\x80"},                  /* UTF-16 surrogate */
	    {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},         /* beyond U+10FFFF */
	    {"\xc2\xa0 Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80", /* NBSP, ë, €, emoji */
	     "\xc2\xa0 Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *want = xasprintf("escalatord: value=%s\n", cases[i].out);

		expect_output(log_value(fx, LOG_INFO, cases[i].in), want);
		free(want);
	}
}

/* A value cannot start a line of its own: no forged priority, no forged daemon line. */
static void
test_log_no_forged_line(void **state)
{
	struct fixture *fx = *state;
	char *got;

	setenv("JOURNAL_STREAM", "8:1", 1);
	log_init();
	got = log_value(fx, LOG_INFO, "A01\n<0>escalatord: error: forged\r\n\xc2\x85<3>x");
	assert_int_equal(got[strlen(got) - 1], '\n');
	assert_ptr_equal(strchr(got, '\n'), got + strlen(got) - 1);
	assert_null(strchr(got, '\r'));
	expect_output(got,
	              "<6>value=A01\\x0a<0>escalatord: error: forged\\x0d\\x0a\\xc2\\x85<3>x\n");

	unsetenv("JOURNAL_STREAM");
	log_init();
	expect_output(log_value(fx, LOG_WARNING, "x\nescalatord: error: forged"),
	              "escalatord: warning: value=x\\x0aescalatord: error: forged\n");
}

/* An input of log_escape or log_quote and what it must give. */
struct text_case {
	const char *in, *out;
};

/* Assert fn(in) is out for every case. */
static void
expect_each(char *(*fn)(const char *), const char *name, const struct text_case *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *s = fn(c[i].in);

		if (strcmp(s, c[i].out) != 0)
			fail_msg("%s(\"%s\") = %s, expected %s", name, c[i].in, s, c[i].out);
		free(s);
	}
}

/* fn of 1000 bytes b: assert its length (the buffer's worst case); returns it, allocated. */
static char *
expect_worst(char *(*fn)(const char *), char b, size_t want_len)
{
	char big[1001], *s;

	memset(big, b, 1000);
	big[1000] = '\0';
	s = fn(big);
	assert_int_equal(strlen(s), want_len);
	return s;
}

/* log_escape escapes only controls and invalid bytes: quotes and backslashes stay. */
static void
test_log_escape(void **state)
{
	static const struct text_case cases[] = {
	    {"plain \"quoted\" back\\slash = Zo\xc3\xab",
	     "plain \"quoted\" back\\slash = Zo\xc3\xab"},
	    {"", ""},
	    {"\x01\xff\n", "\\x01\\xff\\x0a"},
	};
	char *s;

	(void)state;
	expect_each(log_escape, "log_escape", cases, sizeof cases / sizeof cases[0]);
	/* The worst case: every byte becomes four. */
	s = expect_worst(log_escape, '\x01', 4000);
	assert_memory_equal(s, "\\x01\\x01", 8);
	free(s);
	s = expect_worst(log_escape, '\x85', 4000);
	assert_memory_equal(s + 3996, "\\x85", 4);
	free(s);
}

/* log_quote: a plain value as it is; anything else in quotes with '"' and '\' escaped. */
static void
test_log_quote(void **state)
{
	static const struct text_case cases[] = {
	    {"plain", "plain"},
	    {"tm.north@council.example", "tm.north@council.example"},
	    {"cic-first-review", "cic-first-review"},
	    {"", "\"\""},
	    {"two words", "\"two words\""},
	    {"a=b", "\"a=b\""},
	    {"say \"hi\"", "\"say \\\"hi\\\"\""},
	    {"back\\slash", "\"back\\\\slash\""},
	    {"tab\there", "\"tab\\x09here\""},
	    {"line\nbreak", "\"line\\x0abreak\""},
	    {"\x7f", "\"\\x7f\""},
	    {"Zo\xc3\xab", "\"Zo\xc3\xab\""},
	    {"\xc2\x85", "\"\\xc2\\x85\""},
	    {"bad\xff", "\"bad\\xff\""},
	    {"x\" forged=\"1", "\"x\\\" forged=\\\"1\""},
	};
	char *s;

	(void)state;
	expect_each(log_quote, "log_quote", cases, sizeof cases / sizeof cases[0]);
	/* The worst cases: every byte escaped, plus the quotes. */
	s = expect_worst(log_quote, '\xff', 4002);
	assert_int_equal(s[0], '"');
	assert_int_equal(s[4001], '"');
	free(s);
	free(expect_worst(log_quote, '"', 2002));
}

/*
 * The key=value fields of one logged line as "key=value;" (value unquoted), read the way a
 * log tool reads them: fields split at spaces outside double quotes, '\' escaping inside.
 */
static char *
fields_of(const char *line)
{
	char *out = xcalloc(1, strlen(line) * 2 + 1), *o = out;
	const char *p = line;

	while (*p != '\0') {
		const char *k = p, *eq;

		while (*p != '\0' && *p != ' ' && *p != '=' && *p != '"')
			p++;
		if (*p != '=') {
			/* Not a field: skip the word (a quoted run as one). */
			while (*p != '\0' && *p != ' ') {
				if (*p++ == '"')
					while (*p != '\0' && *p++ != '"')
						if (p[-1] == '\\' && *p != '\0')
							p++;
			}
			while (*p == ' ')
				p++;
			continue;
		}
		eq = p++;
		memcpy(o, k, (size_t)(eq - k));
		o += eq - k;
		*o++ = '=';
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
					p++;
				*o++ = *p;
			}
			if (*p == '"')
				p++;
		} else {
			while (*p != '\0' && *p != ' ')
				*o++ = *p++;
		}
		*o++ = ';';
		while (*p == ' ')
			p++;
	}
	*o = '\0';
	return out;
}

/*
 * A case reference from the case store cannot forge a field: "X rule=other case=Y" and one
 * with a line break stay one case= value of one line.
 */
static void
test_log_no_forged_field(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *ref, *fields;
	} cases[] = {
	    {"C1042", "alert=1;rule=cic-first-review;case=C1042;stage=overdue;"},
	    {"X rule=other case=Y", "alert=1;rule=cic-first-review;case=X rule=other case=Y;"
	                            "stage=overdue;"},
	    {"X\" rule=\"other", "alert=1;rule=cic-first-review;case=X\" rule=\"other;"
	                         "stage=overdue;"},
	    {"X\\", "alert=1;rule=cic-first-review;case=X\\;stage=overdue;"},
	    {"X\nescalatord: alert=2 rule=other",
	     "alert=1;rule=cic-first-review;case=X\\x0aescalatord: alert=2 rule=other;"
	     "stage=overdue;"},
	    {"", "alert=1;rule=cic-first-review;case=;stage=overdue;"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *q = log_quote(cases[i].ref), *got, *f;

		capture_begin(fx);
		log_info("alert=1 rule=%s case=%s stage=%s", "cic-first-review", q, "overdue");
		got = capture_end(fx);
		assert_ptr_equal(strchr(got, '\n'), got + strlen(got) - 1);
		got[strlen(got) - 1] = '\0';
		f = fields_of(got);
		if (strcmp(f, cases[i].fields) != 0)
			fail_msg("case=%s logged as [%s]: fields %s, expected %s", q, got, f,
			         cases[i].fields);
		free(f);
		free(got);
		free(q);
	}
}

/*
 * Line and paragraph separators and bidirectional controls are escaped like controls: a
 * value cannot break a line in a viewer, nor reorder the fields after it on screen.
 */
static void
test_log_escape_hidden(void **state)
{
	struct fixture *fx = *state;
	static const struct text_case cases[] = {
	    {"a\xe2\x80\xa8"
	     "b",
	     "\"a\\xe2\\x80\\xa8b\""},
	    {"a\xe2\x80\xa9"
	     "b",
	     "\"a\\xe2\\x80\\xa9b\""},
	    {"C\xe2\x80\xae"
	     "1042",
	     "\"C\\xe2\\x80\\xae1042\""},
	    {"\xe2\x81\xa6x\xe2\x81\xa9", "\"\\xe2\\x81\\xa6x\\xe2\\x81\\xa9\""},
	    {"\xe2\x80\x8f\xd8\x9c", "\"\\xe2\\x80\\x8f\\xd8\\x9c\""},
	    {"\xe2\x80\xa7", "\"\xe2\x80\xa7\""}, /* U+2027 HYPHENATION POINT stays */
	};

	expect_each(log_quote, "log_quote", cases, sizeof cases / sizeof cases[0]);
	/* In the line itself too, even when the caller did not quote. */
	expect_output(log_value(fx, LOG_INFO, "x\xe2\x80\xaey=1"),
	              "escalatord: value=x\\xe2\\x80\\xaey=1\n");
}

/* log_diag logs errors as errors and warnings as warnings, in order, escaped. */
static void
test_log_diag(void **state)
{
	struct fixture *fx = *state;
	struct diag d;

	diag_init(&d);
	diag_add(&d, DIAG_WARNING, "%s:%d: %s", "/etc/escalator/rules.d/10.conf", 3, "old");
	diag_add(&d, DIAG_ERROR, "%s:%d: %s", "/etc/escalator/rules.d/10.conf", 7, "bad\nline");
	diag_add(&d, DIAG_WARNING, "last");
	capture_begin(fx);
	log_diag(&d);
	expect_output(capture_end(fx),
	              "escalatord: warning: /etc/escalator/rules.d/10.conf:3: old\n"
	              "escalatord: error: /etc/escalator/rules.d/10.conf:7: "
	              "bad\\x0aline\n"
	              "escalatord: warning: last\n");
	/* An empty list logs nothing. */
	diag_free(&d);
	diag_init(&d);
	capture_begin(fx);
	log_diag(&d);
	expect_output(capture_end(fx), "");
	diag_free(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_log_default_level),
	    T(test_log_plain_format),
	    T(test_log_journal_format),
	    T(test_log_journal_decided_by_init),
	    T(test_log_level),
	    T(test_log_escape_controls),
	    T(test_log_escape_invalid_utf8),
	    T(test_log_no_forged_line),
	    T(test_log_escape),
	    T(test_log_quote),
	    T(test_log_no_forged_field),
	    T(test_log_escape_hidden),
	    T(test_log_diag),
	};

	return cmocka_run_group_tests_name("log", tests, NULL, NULL);
}
