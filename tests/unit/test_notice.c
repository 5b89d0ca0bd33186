/* test_notice.c - unit tests for daemon/notice.c: notices to the admin in a real state store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "notice.h"
#include "statestore.h"
#include "store_fixture.h"
#include "xalloc.h"

/* A configuration with an email admin and a webhook contact; admin names one or is NULL. */
struct nfix {
	struct fixture *fx;
	struct contact contacts[2];
	struct config cfg;
};

/* The store fixture and a configuration with two contacts and no admin yet. */
static int
nsetup(void **state)
{
	struct nfix *nf = xcalloc(1, sizeof *nf);
	void *fxs;

	if (setup(&fxs) != 0)
		return -1;
	nf->fx = fxs;
	nf->contacts[0] = (struct contact){.name = "escalator_admin",
	                                   .kind = CHANNEL_EMAIL,
	                                   .address = "it.admin@council.example"};
	nf->contacts[1] = (struct contact){
	    .name = "ops", .kind = CHANNEL_WEBHOOK, .address = "https://hooks.council.example/ops"};
	nf->cfg.path = "/etc/escalator/escalator.conf";
	nf->cfg.contacts = nf->contacts;
	nf->cfg.ncontacts = 2;
	nf->fx->ss = open_store(nf->fx, false);
	*state = nf;
	return 0;
}

/* Close the store and remove the scratch directory. */
static int
nteardown(void **state)
{
	struct nfix *nf = *state;
	void *fxs = nf->fx;

	free(nf);
	return teardown(&fxs);
}

/* A notice about key on day. */
static struct notice
about(const char *key, const char *day)
{
	return (struct notice){.kind = NOTICE_UNDELIVERABLE,
	                       .title = "an alert could not be sent",
	                       .key = key,
	                       .day = D(day),
	                       .subject = "Undeliverable: cic-first-review case A01 stage overdue",
	                       .body = "column iro_email: at gmial.com"};
}

/* Told once per (kind, key, day): the same again is not recorded; another day or key is. */
static void
test_notice_once_per_key_and_day(void **state)
{
	struct nfix *nf = *state;
	struct notice n = about("cic-first-review/A01/overdue", "2026-12-07");
	char *cause = NULL;

	nf->cfg.admin = "escalator_admin";
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 1);
	expect_sql(nf->fx->path,
	           "SELECT a.rule || '|' || a.case_ref || '|' || a.start || '|' || a.stage || '|' "
	           "|| a.subject || '|' || d.kind || '|' || d.recipient || '|' || d.status FROM "
	           "alert a JOIN delivery d ON d.alert_id = a.id",
	           "escalator-undeliverable|cic-first-review/A01/overdue|2026-12-07|notice|"
	           "Undeliverable: cic-first-review case A01 stage overdue|email|"
	           "it.admin@council.example|pending");
	expect_sql(nf->fx->path, "SELECT body FROM alert", "column iro_email: at gmial.com");

	/* Again: already told. */
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 0);
	expect_sql(nf->fx->path, "SELECT count(*) FROM alert", "1");

	/* Another day, another key, another kind: each told. */
	n = about("cic-first-review/A01/overdue", "2026-12-08");
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 1);
	n = about("cic-first-review/A02/overdue", "2026-12-07");
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 1);
	n = about("cic-first-review/A01/overdue", "2026-12-07");
	n.kind = NOTICE_FAILED;
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 1);
	expect_sql(nf->fx->path, "SELECT count(*) FROM delivery", "4");
}

/* No admin configured (or not a contact): only logged, nothing recorded. */
static void
test_notice_no_admin(void **state)
{
	struct nfix *nf = *state;
	struct notice n = about("k", "2026-12-07");
	char *cause = NULL;

	nf->cfg.admin = NULL;
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 0);
	nf->cfg.admin = "nobody";
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 0);
	expect_sql(nf->fx->path, "SELECT count(*) FROM alert", "0");
}

/* Any channel: a webhook admin gets a webhook delivery. */
static void
test_notice_webhook_admin(void **state)
{
	struct nfix *nf = *state;
	struct notice n = about("k", "2026-12-07");
	char *cause = NULL;

	nf->cfg.admin = "ops";
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 1);
	expect_sql(nf->fx->path, "SELECT kind || ' ' || recipient FROM delivery",
	           "webhook https://hooks.council.example/ops");
}

/* Inside the caller's transaction: rolled back with it, and then told again later. */
static void
test_notice_in_transaction(void **state)
{
	struct nfix *nf = *state;
	struct notice n = about("k", "2026-12-07");
	char *cause = NULL;

	nf->cfg.admin = "escalator_admin";
	assert_int_equal(statestore_begin(nf->fx->ss, &cause), 0);
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 1);
	statestore_rollback(nf->fx->ss);
	expect_sql(nf->fx->path, "SELECT count(*) FROM alert", "0");
	assert_int_equal(statestore_begin(nf->fx->ss, &cause), 0);
	assert_int_equal(notice_admin(nf->fx->ss, &nf->cfg, &n, &cause), 1);
	assert_int_equal(statestore_commit(nf->fx->ss, &cause), 0);
	expect_sql(nf->fx->path, "SELECT count(*) FROM alert", "1");
}

/* A dry run (read-only store) records nothing and says so. */
static void
test_notice_dry_run(void **state)
{
	struct nfix *nf = *state;
	struct notice n = about("k", "2026-12-07");
	struct statestore *ro;
	char *cause = NULL;

	nf->cfg.admin = "escalator_admin";
	ro = open_store(nf->fx, true);
	assert_int_equal(notice_admin(ro, &nf->cfg, &n, &cause), 0);
	statestore_close(ro);
	expect_sql(nf->fx->path, "SELECT count(*) FROM alert", "0");
}

/* Register one test with the notice fixture. */
#define T(f) cmocka_unit_test_setup_teardown(f, nsetup, nteardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_notice_once_per_key_and_day),
	    T(test_notice_no_admin),
	    T(test_notice_webhook_admin),
	    T(test_notice_in_transaction),
	    T(test_notice_dry_run),
	};

	return cmocka_run_group_tests_name("notice", tests, NULL, NULL);
}
