/* test_casehealth.c - unit tests for daemon/casehealth.c (when the admin hears about the case
 * store). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "casehealth.h"
#include "xalloc.h"

/* What the alert function was told. */
struct told {
	int calls;
	enum casehealth_stage stage;
	time_t since;
	char *subject, *body;
};

/* Record one call. */
static void
tell(void *arg, enum casehealth_stage stage, time_t since, const char *subject, const char *body)
{
	struct told *t = arg;

	t->calls++;
	t->stage = stage;
	t->since = since;
	free(t->subject);
	free(t->body);
	t->subject = xstrdup(subject);
	t->body = xstrdup(body);
}

/* Free what was recorded. */
static void
told_clear(struct told *t)
{
	free(t->subject);
	free(t->body);
	memset(t, 0, sizeof *t);
}

#define PATH "/var/lib/escalator/cases.db"
#define T0 ((time_t)1764576000) /* 2025-12-01T08:00:00Z */

/* Nobody is told before alert_after has passed; once it has, once, with since and reason. */
static void
test_casehealth_tells_once_after_delay(void **state)
{
	struct told t = {0};
	struct casehealth *h = casehealth_new(tell, &t);

	(void)state;
	assert_false(casehealth_failing(h));
	assert_int_equal(casehealth_since(h), 0);
	casehealth_bad(h, PATH, 1800, T0, T0, "the file is missing");
	assert_true(casehealth_failing(h));
	assert_int_equal(casehealth_since(h), T0);
	casehealth_bad(h, PATH, 1800, T0 + 60, T0 + 1799, "the file is missing");
	assert_int_equal(t.calls, 0);
	/* A later failure does not move the start of the outage. */
	casehealth_bad(h, PATH, 1800, T0 + 1800, T0 + 1800, "it cannot be opened: not a database");
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.stage, CASEHEALTH_UNREADABLE);
	assert_int_equal(t.since, T0);
	assert_non_null(strstr(t.subject, "alerts are on hold"));
	assert_non_null(strstr(t.body, PATH " for 30 minutes"));
	assert_non_null(strstr(t.body, "Reason: it cannot be opened: not a database"));
	casehealth_bad(h, PATH, 1800, T0 + 3600, T0 + 3600, "the file is missing");
	assert_int_equal(t.calls, 1);
	casehealth_free(h);
	told_clear(&t);
}

/* Recovery after the admin was told is told too, once; the next outage starts afresh. */
static void
test_casehealth_recovery_told(void **state)
{
	struct told t = {0};
	struct casehealth *h = casehealth_new(tell, &t);

	(void)state;
	casehealth_bad(h, PATH, 60, T0, T0 + 60, "the file is missing");
	assert_int_equal(t.calls, 1);
	casehealth_ok(h, PATH, T0 + 120);
	assert_int_equal(t.calls, 2);
	assert_int_equal(t.stage, CASEHEALTH_READABLE);
	assert_int_equal(t.since, T0);
	assert_non_null(strstr(t.body, PATH " again"));
	assert_false(casehealth_failing(h));
	casehealth_ok(h, PATH, T0 + 180);
	assert_int_equal(t.calls, 2);
	casehealth_bad(h, PATH, 60, T0 + 1000, T0 + 1000, "the file is missing");
	assert_int_equal(casehealth_since(h), T0 + 1000);
	assert_int_equal(t.calls, 2);
	casehealth_free(h);
	told_clear(&t);
}

/* A short outage that ends before alert_after tells nobody, neither start nor end. */
static void
test_casehealth_short_outage_silent(void **state)
{
	struct told t = {0};
	struct casehealth *h = casehealth_new(tell, &t);

	(void)state;
	casehealth_bad(h, PATH, 1800, T0, T0, "another process holds it locked");
	casehealth_ok(h, PATH, T0 + 300);
	assert_int_equal(t.calls, 0);
	assert_false(casehealth_failing(h));
	casehealth_free(h);
	/* Without an alert function nothing is called and nothing crashes. */
	h = casehealth_new(NULL, NULL);
	casehealth_bad(h, PATH, 0, T0, T0, "the file is missing");
	casehealth_ok(h, PATH, T0 + 1);
	casehealth_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_casehealth_tells_once_after_delay),
	    cmocka_unit_test(test_casehealth_recovery_told),
	    cmocka_unit_test(test_casehealth_short_outage_silent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
