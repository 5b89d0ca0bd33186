/*
 * test_config_digest.c - unit tests for daemon/config_digest.c: digest,
 * digest_times, case_url, a contact's digest and a Notify digest_template,
 * and when the next digest goes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "config.h"
#include "diag.h"
#include "testdir.h"

#define BASE                                                                                       \
	"case_store = \"cases.sqlite\";\nstate = \"state.sqlite\";\nrules = \"rules\";\n"          \
	"holidays = [ \"h.txt\" ];\n"

/* Load text as escalator.conf in a scratch directory; *d gets the diagnostics. */
static struct config *
load(struct testdir *td, const char *text, struct diag *d)
{
	char *path = testdir_write(td, "escalator.conf", text);
	struct config *cfg;

	diag_init(d);
	cfg = config_load(path, d);
	free(path);
	return cfg;
}

/* Is there a diagnostic of level at line containing text? */
static bool
has(const struct diag *d, enum diag_level level, int line, const char *text)
{
	char at[32];

	snprintf(at, sizeof at, ":%d: ", line);
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level == level && strstr(d->v[i].text, at) != NULL &&
		    strstr(d->v[i].text, text) != NULL)
			return true;
	for (size_t i = 0; i < d->n; i++)
		print_message("  %s\n", d->v[i].text);
	return false;
}

/* The defaults: daily, at send_time; every recipient goes by digest. */
static void
test_digest_defaults(void **state)
{
	struct testdir *td = testdir_new();
	struct diag d;
	struct config *cfg = load(td, BASE "send_time = \"07:30\";\n", &d);

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->digest, CONFIG_DIGEST_DAILY);
	assert_int_equal(cfg->ndigest_times, 1);
	assert_int_equal(cfg->digest_times[0], 7 * 60 + 30);
	assert_true(config_digest_for(cfg, NULL));
	assert_null(cfg->case_url);
	/* 2027-01-13 07:29 -> 07:30 the same day; 07:30 -> itself; 07:31 -> the next day. */
	assert_int_equal(config_next_digest(cfg, 20000LL * 1440 + 449), 20000LL * 1440 + 450);
	assert_int_equal(config_next_digest(cfg, 20000LL * 1440 + 450), 20000LL * 1440 + 450);
	assert_int_equal(config_next_digest(cfg, 20000LL * 1440 + 451), 20001LL * 1440 + 450);
	config_free(cfg);
	diag_free(&d);
	testdir_free(td);
}

/* Several digest times, sorted; a contact's own setting wins; off sends at once. */
static void
test_digest_times_and_contacts(void **state)
{
	struct testdir *td = testdir_new();
	struct diag d;
	struct config *cfg =
	    load(td,
	         BASE "digest = \"off\";\n"
	              "digest_times = [ \"13:00\", \"08:00\" ];\n"
	              "contacts = {\n"
	              "  tm = { email = \"tm@council.example\"; digest = \"daily\"; };\n"
	              "  desk = { email = \"desk@council.example\"; };\n"
	              "};\n",
	         &d);

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->ndigest_times, 2);
	assert_int_equal(cfg->digest_times[0], 8 * 60);
	assert_int_equal(cfg->digest_times[1], 13 * 60);
	assert_false(config_digest_for(cfg, NULL));
	assert_false(config_digest_for(cfg, "desk"));
	assert_true(config_digest_for(cfg, "tm"));
	assert_int_equal(config_next_digest(cfg, 100LL * 1440 + 9 * 60), 100LL * 1440 + 13 * 60);
	assert_int_equal(config_next_digest(cfg, 100LL * 1440 + 14 * 60), 101LL * 1440 + 8 * 60);
	config_free(cfg);
	diag_free(&d);
	testdir_free(td);
}

/* Every mistake is an error at its line. */
static void
test_digest_errors(void **state)
{
	struct testdir *td = testdir_new();
	struct diag d;
	struct config *cfg;

	(void)state;
	cfg = load(td,
	           BASE "digest = \"weekly\";\n"
	                "digest_times = [ \"8am\", \"08:00\", \"08:00\" ];\n"
	                "case_url = \"javascript:alert(1)\";\n"
	                "contacts = { x = { email = \"x@council.example\"; digest = true; }; };\n",
	           &d);
	assert_null(cfg);
	assert_true(has(&d, DIAG_ERROR, 5, "digest must be \"daily\""));
	assert_true(has(&d, DIAG_ERROR, 6, "\"8am\" is not a time"));
	assert_true(has(&d, DIAG_ERROR, 6, "08:00 is listed twice"));
	assert_true(has(&d, DIAG_ERROR, 7, "case_url must start with https://"));
	assert_true(has(&d, DIAG_ERROR, 8, "contact \"x\": digest must be"));
	diag_free(&d);
	cfg = load(td, BASE "case_url = \"https://cms.example/{{child_name}}\";\n", &d);
	assert_null(cfg);
	assert_true(has(&d, DIAG_ERROR, 5, "unknown placeholder {{child_name}}"));
	diag_free(&d);
	testdir_free(td);
}

/* A case_url with built-in values; a Notify contact without digest_template goes one by one. */
static void
test_digest_case_url_and_notify(void **state)
{
	struct testdir *td = testdir_new();
	struct diag d;
	char *key = testdir_write(td, "notify.key",
	                          "escalator_live-26785a09-ab16-4eb0-8407-a37497a57506-3d844edf-"
	                          "8d35-48ac-975b-e847b4f122b0");
	struct config *cfg;
	char *text;

	(void)state;
	chmod(key, 0600);
	text = xasprintf(BASE "case_url = \"https://cms.council.example/case/{{case}}\";\n"
	                      "contacts = {\n"
	                      "  a = { notify = { api_key_file = \"%s\"; template_id = "
	                      "\"f33517ff-2a88-4f6e-b855-c550268ce08a\"; email = "
	                      "\"a@council.example\"; }; };\n"
	                      "  b = { notify = { api_key_file = \"%s\"; template_id = "
	                      "\"f33517ff-2a88-4f6e-b855-c550268ce08a\"; digest_template = "
	                      "\"0b6f3a2e-98c7-4a8e-b3e1-3b5c4c1a9d10\"; email = "
	                      "\"b@council.example\"; }; };\n"
	                      "};\n",
	                 key, key);
	cfg = load(td, text, &d);
	assert_non_null(cfg);
	assert_string_equal(cfg->case_url_text, "https://cms.council.example/case/{{case}}");
	assert_non_null(cfg->case_url);
	assert_true(has(&d, DIAG_WARNING, 7,
	                "contact \"a\": GOV.UK Notify digests need "
	                "digest_template"));
	assert_false(config_digest_for(cfg, "a"));
	assert_true(config_digest_for(cfg, "b"));
	assert_string_equal(config_find_contact(cfg, "b")->digest_template,
	                    "0b6f3a2e-98c7-4a8e-b3e1-3b5c4c1a9d10");
	config_free(cfg);
	diag_free(&d);
	free(text);
	free(key);
	testdir_free(td);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_digest_defaults),
	    cmocka_unit_test(test_digest_times_and_contacts),
	    cmocka_unit_test(test_digest_errors),
	    cmocka_unit_test(test_digest_case_url_and_notify),
	};

	return cmocka_run_group_tests_name("config_digest", tests, NULL, NULL);
}
