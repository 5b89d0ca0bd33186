/* test_ruleset.c - unit tests for rules/ruleset.c, compiled against a real SQLite case store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "casestore.h"
#include "config.h"
#include "rulediff.h"
#include "ruleset.h"
#include "diag.h"
#include "testdir.h"

/* The case store every rule query is compiled against. */
static const char cases_sql[] =
    "CREATE TABLE cases (case_ref TEXT PRIMARY KEY, start TEXT, team_manager_email TEXT,"
    " iro_email TEXT, status TEXT);"
    "INSERT INTO cases VALUES ('A01', '2026-12-18', 'tm@council.example',"
    " 'iro.a@council.example', 'open');";

/* Contacts of the main configuration: iro and service_manager by email, head_of_service hook. */
static struct contact contacts[] = {
    {.name = "iro", .kind = CHANNEL_EMAIL, .address = "iro-service@council.example"},
    {.name = "service_manager",
     .kind = CHANNEL_EMAIL,
     .address = "service.manager@council.example"},
    {.name = "head_of_service",
     .kind = CHANNEL_WEBHOOK,
     .address = "https://hooks.council.example/hos"},
};

/* One test's scratch directory, case store, configuration and results. */
struct fixture {
	struct testdir *td;
	char *rules_dir;
	char *cases_path;
	struct casestore *cs;
	struct config cfg;
	struct ruleset_env env; /* the case store's compiler and cfg's contacts */
	struct diag d;
	struct ruleset *rs;
};

/* Write rules/name in the scratch directory; returns the allocated path. */
static char *
write_rule(struct fixture *fx, const char *name, const char *contents)
{
	char *rel = xasprintf("rules/%s", name);
	char *path = testdir_write(fx->td, rel, contents);

	free(rel);
	return path;
}

/* Make the scratch directory, the case store (sqlite3 API) and open it as engine.c does. */
static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);
	sqlite3 *db;
	char *cause = NULL;

	fx->td = testdir_new();
	fx->rules_dir = testdir_mkdir(fx->td, "rules");
	fx->cases_path = testdir_path(fx->td, "cases.sqlite");
	if (sqlite3_open(fx->cases_path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, cases_sql, NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	sqlite3_close(db);
	if ((fx->cs = casestore_open(fx->cases_path, &cause)) == NULL) {
		print_error("casestore_open: %s\n", cause);
		free(cause);
		return -1;
	}
	fx->cfg.path = "/etc/escalator/escalator.conf";
	fx->cfg.dir = "/etc/escalator";
	fx->cfg.contacts = contacts;
	fx->cfg.ncontacts = sizeof contacts / sizeof contacts[0];
	fx->env.compile = casestore_compile;
	fx->env.compile_arg = fx->cs;
	fx->env.contact = config_contact_channel;
	fx->env.contact_arg = &fx->cfg;
	fx->env.contacts_file = fx->cfg.path;
	diag_init(&fx->d);
	*state = fx;
	return 0;
}

/* Free everything and remove the scratch directory. */
static int
teardown(void **state)
{
	struct fixture *fx = *state;

	ruleset_free(fx->rs);
	casestore_close(fx->cs);
	diag_free(&fx->d);
	testdir_free(fx->td);
	free(fx->rules_dir);
	free(fx->cases_path);
	free(fx);
	return 0;
}

/* Print every diagnostic (shown when an assertion about them fails). */
static void
dump_diag(const struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		print_message("  diag[%zu] %s: %s\n", i,
		              d->v[i].level == DIAG_ERROR ? "error" : "warning", d->v[i].text);
}

/* Assert that an error "<path>:<line>: ..." containing text was reported. */
static void
expect_error_at(const struct diag *d, const char *path, int line, const char *text)
{
	char *prefix = line > 0 ? xasprintf("%s:%d: ", path, line) : xasprintf("%s: ", path);
	bool found = false;

	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level == DIAG_ERROR &&
		    strncmp(d->v[i].text, prefix, strlen(prefix)) == 0 &&
		    strstr(d->v[i].text + strlen(prefix), text) != NULL)
			found = true;
	if (!found) {
		dump_diag(d);
		fail_msg("no error starting \"%s\" containing \"%s\"", prefix, text);
	}
	free(prefix);
}

/* Write rules/name and load that one file as engine.c would (casestore_compile). */
static int
load_file(struct fixture *fx, const char *name, const char *contents, char **path)
{
	int rc;

	*path = write_rule(fx, name, contents);
	if (fx->rs == NULL)
		fx->rs = ruleset_new();
	rc = ruleset_load_file(fx->rs, *path, &fx->env, &fx->d);
	return rc;
}

/* Load one file that must be refused with exactly one error, at line, containing text. */
static void
expect_file_error(struct fixture *fx, const char *contents, int line, const char *text)
{
	char *path;
	int rc = load_file(fx, "10-test.conf", contents, &path);

	if (rc != -1 || fx->d.errors != 1)
		dump_diag(&fx->d);
	assert_int_equal(rc, -1);
	assert_int_equal(fx->d.errors, 1);
	assert_int_equal(fx->rs->nrules, 0);
	expect_error_at(&fx->d, path, line, text);
	free(path);
}

/* A rule file whose query (line 6) is sql; everything else is valid. */
static char *
rule_with_query(const char *sql)
{
	return xasprintf("# one rule, the query on line 6\n"             /* 1 */
	                 "rules = (\n"                                   /* 2 */
	                 "  {\n"                                         /* 3 */
	                 "    id = \"cic-first-review\";\n"              /* 4 */
	                 "    title = \"First Child in Care review\";\n" /* 5 */
	                 "    query = \"%s\";\n"                         /* 6 */
	                 "    due = \"20 working days\";\n"              /* 7 */
	                 "    stages = (\n"                              /* 8 */
	                 "      { name = \"reminder\"; at = \"-5 working days\"; notify = "
	                 "[ \"iro\" ]; },\n" /* 9 */
	                 "      { name = \"overdue\"; at = \"1 working day\"; notify = "
	                 "[ \"team_manager\", \"iro\" ]; }\n" /* 10 */
	                 "    );\n"                           /* 11 */
	                 "  }\n"                              /* 12 */
	                 ");\n",                              /* 13 */
	                 sql);
}

/* The query must be refused at line 6 with a message containing text. */
static void
expect_query_refused(struct fixture *fx, const char *sql, const char *text)
{
	char *contents = rule_with_query(sql);

	expect_file_error(fx, contents, 6, text);
	free(contents);
}

/* A valid file: every field of the rule and its stages is filled in. */
static void
test_ruleset_valid_file(void **state)
{
	struct fixture *fx = *state;
	char *path;
	char *contents =
	    rule_with_query("SELECT case_ref, start, team_manager_email FROM cases WHERE status = "
	                    "'open' ORDER BY case_ref");
	const struct rule *r;
	int rc = load_file(fx, "10-cic.conf", contents, &path);

	if (rc != 0)
		dump_diag(&fx->d);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->d.n, 0);
	assert_int_equal(fx->rs->nrules, 1);
	assert_int_equal(fx->rs->nfiles, 1);
	r = &fx->rs->rules[0];
	assert_string_equal(r->id, "cic-first-review");
	assert_string_equal(r->title, "First Child in Care review");
	assert_string_equal(r->query, "SELECT case_ref, start, team_manager_email FROM cases WHERE "
	                              "status = 'open' ORDER BY case_ref");
	assert_int_equal(r->due.n, 20);
	assert_int_equal(r->due.unit, DUR_WORKING_DAYS);
	assert_true(r->working_days_only);
	assert_string_equal(r->file, path);
	assert_int_equal(r->line, 3);
	assert_int_equal(r->ncolumns, 3);
	assert_string_equal(r->columns[0], "case_ref");
	assert_string_equal(r->columns[1], "start");
	assert_string_equal(r->columns[2], "team_manager_email");
	assert_int_equal(r->case_ref_col, 0);
	assert_int_equal(r->start_col, 1);
	assert_int_equal(r->nstages, 2);
	assert_string_equal(r->stages[0].name, "reminder");
	assert_int_equal(r->stages[0].at.n, -5);
	assert_int_equal(r->stages[0].at.unit, DUR_WORKING_DAYS);
	assert_int_equal(r->stages[0].line, 9);
	assert_int_equal(r->stages[0].nnotify, 1);
	assert_string_equal(r->stages[1].name, "overdue");
	assert_int_equal(r->stages[1].at.n, 1);
	assert_int_equal(r->stages[1].line, 10);
	assert_int_equal(r->stages[1].nnotify, 2);
	/* team_manager resolves to column 2 (team_manager_email), iro to the contact. */
	assert_string_equal(r->stages[1].notify[0].name, "team_manager");
	assert_int_equal(r->stages[1].notify[0].column, 2);
	assert_string_equal(r->stages[1].notify[1].name, "iro");
	assert_int_equal(r->stages[1].notify[1].column, -1);
	assert_string_equal(r->stages[1].notify[1].address, "iro-service@council.example");
	assert_int_equal(rule_stage_index(r, "overdue"), 1);
	assert_int_equal(rule_stage_index(r, "escalated"), -1);
	assert_int_equal(rule_column_index(r, "team_manager_email"), 2);
	assert_int_equal(rule_column_index(r, "iro_email"), -1);
	free(contents);
	free(path);
}

/* A libconfig syntax error names the file and its line. */
static void
test_ruleset_syntax_error(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                      /* 1 */
	                  "  {\n"                            /* 2 */
	                  "    id = \"cic-first-review\";\n" /* 3 */
	                  "    title = \"First review\";\n"  /* 4 */
	                  "    due = 20 working days;\n"     /* 5 */
	                  "  }\n"                            /* 6 */
	                  ");\n",                            /* 7 */
	                  5, "syntax error");
}

/* An unknown key in a rule is reported at its own line. */
static void
test_ruleset_unknown_rule_key(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "  {\n"                                                /* 2 */
	                  "    id = \"cic-first-review\";\n"                     /* 3 */
	                  "    title = \"First review\";\n"                      /* 4 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	                  "    due = \"20 working days\";\n"                     /* 6 */
	                  "    owner = \"iro\";\n"                               /* 7 */
	                  "    stages = ( { name = \"late\"; at = \"0 days\"; notify = "
	                  "[ \"iro\" ]; } );\n" /* 8 */
	                  "  }\n"               /* 9 */
	                  ");\n",               /* 10 */
	                  7, "unknown setting \"owner\" in a rule; expected one of: ");
}

/* An unknown key in a stage is reported at its own line. */
static void
test_ruleset_unknown_stage_key(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "  {\n"                                                /* 2 */
	                  "    id = \"cic-first-review\";\n"                     /* 3 */
	                  "    title = \"First review\";\n"                      /* 4 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	                  "    due = \"20 working days\";\n"                     /* 6 */
	                  "    stages = (\n"                                     /* 7 */
	                  "      { name = \"late\";\n"                           /* 8 */
	                  "        at = \"0 days\";\n"                           /* 9 */
	                  "        notify = [ \"iro\" ];\n"                      /* 10 */
	                  "        cc = [ \"service_manager\" ]; }\n"            /* 11 */
	                  "    );\n"                                             /* 12 */
	                  "  }\n"                                                /* 13 */
	                  ");\n",                                                /* 14 */
	                  11, "unknown setting \"cc\" in a stage; expected one of: ");
}

/* A bad duration in due is reported at the due line. */
static void
test_ruleset_bad_due(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "  {\n"                                                /* 2 */
	                  "    id = \"cic-first-review\";\n"                     /* 3 */
	                  "    title = \"First review\";\n"                      /* 4 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	                  "    due = \"20 business days\";\n"                    /* 6 */
	                  "    stages = ( { name = \"late\"; at = \"0 days\"; notify = "
	                  "[ \"iro\" ]; } );\n" /* 7 */
	                  "  }\n"               /* 8 */
	                  ");\n",               /* 9 */
	                  6, "due: \"20 business days\": unknown unit \"business days\"");
}

/* A bad duration in a stage's at is reported at the at line. */
static void
test_ruleset_bad_at(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "  {\n"                                                /* 2 */
	                  "    id = \"cic-first-review\";\n"                     /* 3 */
	                  "    title = \"First review\";\n"                      /* 4 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	                  "    due = \"20 working days\";\n"                     /* 6 */
	                  "    stages = (\n"                                     /* 7 */
	                  "      { name = \"late\";\n"                           /* 8 */
	                  "        at = \"five days\";\n"                        /* 9 */
	                  "        notify = [ \"iro\" ]; }\n"                    /* 10 */
	                  "    );\n"                                             /* 11 */
	                  "  }\n"                                                /* 12 */
	                  ");\n",                                                /* 13 */
	                  9, "at: \"five days\": expected \"<number> <unit>\"");
}

/* A notify name that is neither a column <name>_email nor a contact is reported. */
static void
test_ruleset_unknown_notify(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "  {\n"                                                /* 2 */
	                  "    id = \"cic-first-review\";\n"                     /* 3 */
	                  "    title = \"First review\";\n"                      /* 4 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	                  "    due = \"20 working days\";\n"                     /* 6 */
	                  "    stages = (\n"                                     /* 7 */
	                  "      { name = \"late\";\n"                           /* 8 */
	                  "        at = \"0 days\";\n"                           /* 9 */
	                  "        notify = [ \"iro\", \"social_worker\" ]; }\n" /* 10 */
	                  "    );\n"                                             /* 11 */
	                  "  }\n"                                                /* 12 */
	                  ");\n",                                                /* 13 */
	                  10,
	                  "rule \"cic-first-review\": notify name \"social_worker\" is neither a "
	                  "column \"social_worker_email\" of the query nor a contact in "
	                  "/etc/escalator/escalator.conf");
}

/* A slip in a name the query has a column for: the column is suggested. */
static void
test_ruleset_unknown_notify_suggested(void **state)
{
	expect_file_error(
	    *state,
	    "rules = (\n"
	    "  {\n"
	    "    id = \"cic-first-review\";\n"
	    "    title = \"First review\";\n"
	    "    query = \"SELECT case_ref, start, team_manager_email FROM cases\";\n"
	    "    due = \"20 working days\";\n"
	    "    stages = (\n"
	    "      { name = \"late\";\n"
	    "        at = \"0 days\";\n"
	    "        notify = [ \"team_manger\" ]; }\n" /* 10 */
	    "    );\n"
	    "  }\n"
	    ");\n",
	    10,
	    "notify name \"team_manger\" is neither a column \"team_manger_email\" of "
	    "the query nor a contact in /etc/escalator/escalator.conf; did you mean "
	    "\"team_manager\" (the column team_manager_email)?");
}

/* In a notify list spread over lines, the unknown name is reported at its own line. */
static void
test_ruleset_unknown_notify_own_line(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "  {\n"                                                /* 2 */
	                  "    id = \"cic-first-review\";\n"                     /* 3 */
	                  "    title = \"First review\";\n"                      /* 4 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	                  "    due = \"20 working days\";\n"                     /* 6 */
	                  "    stages = (\n"                                     /* 7 */
	                  "      { name = \"late\";\n"                           /* 8 */
	                  "        at = \"0 days\";\n"                           /* 9 */
	                  "        notify = [ \"iro\",\n"                        /* 10 */
	                  "                   \"service_manager\",\n"            /* 11 */
	                  "                   \"social_worker\" ]; }\n"          /* 12 */
	                  "    );\n"                                             /* 13 */
	                  "  }\n"                                                /* 14 */
	                  ");\n",                                                /* 15 */
	                  12, "notify name \"social_worker\" is neither a column");
}

/* A query that writes with INSERT is refused. */
static void
test_ruleset_query_insert(void **state)
{
	expect_query_refused(*state, "INSERT INTO cases (case_ref) VALUES ('X99')",
	                     "rule \"cic-first-review\": the query may only read (SELECT), but it "
	                     "uses INSERT");
}

/* A query that writes with UPDATE is refused. */
static void
test_ruleset_query_update(void **state)
{
	expect_query_refused(*state, "UPDATE cases SET status = 'closed' WHERE case_ref = 'A01'",
	                     "the query may only read (SELECT), but it uses UPDATE");
}

/* A query that writes with DELETE is refused. */
static void
test_ruleset_query_delete(void **state)
{
	expect_query_refused(*state, "DELETE FROM cases",
	                     "the query may only read (SELECT), but it uses DELETE");
}

/* A query that creates a table is refused. */
static void
test_ruleset_query_create_table(void **state)
{
	expect_query_refused(*state, "CREATE TABLE notes (case_ref TEXT, note TEXT)",
	                     "rule \"cic-first-review\": the query may only read (SELECT)");
}

/* A PRAGMA (here one that would lift query_only) is refused. */
static void
test_ruleset_query_pragma(void **state)
{
	expect_query_refused(*state, "PRAGMA query_only = 0",
	                     "the query may only read (SELECT), but it uses PRAGMA");
}

/* ATTACH is refused. */
static void
test_ruleset_query_attach(void **state)
{
	expect_query_refused(*state, "ATTACH DATABASE '/tmp/other.sqlite' AS other",
	                     "the query may only read (SELECT), but it uses ATTACH");
}

/* Two statements, the second a DELETE, are refused. */
static void
test_ruleset_query_two_statements(void **state)
{
	expect_query_refused(*state, "SELECT case_ref, start FROM cases; DELETE FROM cases",
	                     "the query must be exactly one SQL statement");
}

/* A query without a case_ref column is refused at the query line. */
static void
test_ruleset_query_no_case_ref(void **state)
{
	expect_query_refused(*state, "SELECT start, team_manager_email FROM cases",
	                     "rule \"cic-first-review\": the query must return a column called "
	                     "case_ref");
}

/* A query without a start column is refused at the query line. */
static void
test_ruleset_query_no_start(void **state)
{
	expect_query_refused(*state, "SELECT case_ref, team_manager_email FROM cases",
	                     "rule \"cic-first-review\": the query must return a column called "
	                     "start");
}

/* A query that does not compile (unknown table) is refused with SQLite's reason. */
static void
test_ruleset_query_unknown_table(void **state)
{
	struct fixture *fx = *state;
	char *want = xasprintf("rule \"cic-first-review\": the query does not compile against %s: "
	                       "no such table: looked_after",
	                       fx->cases_path);

	expect_query_refused(fx, "SELECT case_ref, start FROM looked_after", want);
	free(want);
}

/* A rule id used in two files of a directory: the second names the first's file and line. */
static void
test_ruleset_duplicate_id_across_files(void **state)
{
	struct fixture *fx = *state;
	char *first = write_rule(fx, "10-first.conf",
	                         "# first file\n"                                       /* 1 */
	                         "rules = (\n"                                          /* 2 */
	                         "  {\n"                                                /* 3 */
	                         "    id = \"cic-review\";\n"                           /* 4 */
	                         "    title = \"Review\";\n"                            /* 5 */
	                         "    query = \"SELECT case_ref, start FROM cases\";\n" /* 6 */
	                         "    due = \"6 months\";\n"                            /* 7 */
	                         "    stages = ( { name = \"due\"; at = \"0 days\"; notify = "
	                         "\"iro\"; } );\n" /* 8 */
	                         "  }\n"           /* 9 */
	                         ");\n");          /* 10 */
	char *second = write_rule(fx, "20-second.conf",
	                          "rules = (\n"                                          /* 1 */
	                          "  {\n"                                                /* 2 */
	                          "    title = \"Review again\";\n"                      /* 3 */
	                          "    query = \"SELECT case_ref, start FROM cases\";\n" /* 4 */
	                          "    id = \"cic-review\";\n"                           /* 5 */
	                          "    due = \"3 months\";\n"                            /* 6 */
	                          "    stages = ( { name = \"due\"; at = \"0 days\"; notify = "
	                          "\"iro\"; } );\n" /* 7 */
	                          "  }\n"           /* 8 */
	                          ");\n");          /* 9 */
	char *want = xasprintf("rule id \"cic-review\" is already used at %s:3; ids must be "
	                       "unique across all rule files",
	                       first);

	fx->rs = ruleset_load_dir(fx->rules_dir, &fx->env, &fx->d);
	assert_null(fx->rs);
	if (fx->d.errors != 1)
		dump_diag(&fx->d);
	assert_int_equal(fx->d.errors, 1);
	expect_error_at(&fx->d, second, 5, want);
	free(want);
	free(first);
	free(second);
}

/* Stages listed out of firing order are reported at the later-listed stage. */
static void
test_ruleset_stages_out_of_order(void **state)
{
	expect_file_error(
	    *state,
	    "rules = (\n"                                          /* 1 */
	    "  {\n"                                                /* 2 */
	    "    id = \"cic-first-review\";\n"                     /* 3 */
	    "    title = \"First review\";\n"                      /* 4 */
	    "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	    "    due = \"20 working days\";\n"                     /* 6 */
	    "    stages = (\n"                                     /* 7 */
	    "      { name = \"overdue\"; at = \"1 working day\"; notify = "
	    "[ \"iro\" ]; },\n" /* 8 */
	    "      { name = \"reminder\"; at = \"-5 working days\"; notify = "
	    "[ \"iro\" ]; }\n" /* 9 */
	    "    );\n"         /* 10 */
	    "  }\n"            /* 11 */
	    ");\n",            /* 12 */
	    9,
	    "rule \"cic-first-review\": stage \"reminder\" must come later than stage "
	    "\"overdue\"");
}

/* A stage name used twice in one rule is reported at the second name. */
static void
test_ruleset_duplicate_stage(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "  {\n"                                                /* 2 */
	                  "    id = \"cic-first-review\";\n"                     /* 3 */
	                  "    title = \"First review\";\n"                      /* 4 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	                  "    due = \"20 working days\";\n"                     /* 6 */
	                  "    stages = (\n"                                     /* 7 */
	                  "      { name = \"chase\"; at = \"-5 working days\"; notify = "
	                  "[ \"iro\" ]; },\n"                 /* 8 */
	                  "      { at = \"1 working day\";\n" /* 9 */
	                  "        name = \"chase\";\n"       /* 10 */
	                  "        notify = [ \"iro\" ]; }\n" /* 11 */
	                  "    );\n"                          /* 12 */
	                  "  }\n"                             /* 13 */
	                  ");\n",                             /* 14 */
	                  10, "rule \"cic-first-review\": stage \"chase\" is listed twice");
}

/* An id with characters outside [a-z0-9-] is reported at the id line. */
static void
test_ruleset_bad_id(void **state)
{
	expect_file_error(
	    *state,
	    "rules = (\n"                                          /* 1 */
	    "  {\n"                                                /* 2 */
	    "    title = \"First review\";\n"                      /* 3 */
	    "    id = \"CIC_First Review\";\n"                     /* 4 */
	    "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	    "    due = \"20 working days\";\n"                     /* 6 */
	    "    stages = ( { name = \"late\"; at = \"0 days\"; notify = "
	    "[ \"iro\" ]; } );\n" /* 7 */
	    "  }\n"               /* 8 */
	    ");\n",               /* 9 */
	    4, "rule id \"CIC_First Review\" must be lower-case letters, digits and '-'");
}

/* A rule without a title is reported at the rule's line. */
static void
test_ruleset_missing_title(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "\n"                                                   /* 2 */
	                  "  {\n"                                                /* 3 */
	                  "    id = \"cic-first-review\";\n"                     /* 4 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	                  "    due = \"20 working days\";\n"                     /* 6 */
	                  "    stages = ( { name = \"late\"; at = \"0 days\"; notify = "
	                  "[ \"iro\" ]; } );\n" /* 7 */
	                  "  }\n"               /* 8 */
	                  ");\n",               /* 9 */
	                  3, "missing setting \"title\"");
}

/* A rule without a query is reported at the rule's line. */
static void
test_ruleset_missing_query(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                      /* 1 */
	                  "\n"                               /* 2 */
	                  "  {\n"                            /* 3 */
	                  "    id = \"cic-first-review\";\n" /* 4 */
	                  "    title = \"First review\";\n"  /* 5 */
	                  "    due = \"20 working days\";\n" /* 6 */
	                  "    stages = ( { name = \"late\"; at = \"0 days\"; notify = "
	                  "[ \"iro\" ]; } );\n" /* 7 */
	                  "  }\n"               /* 8 */
	                  ");\n",               /* 9 */
	                  3, "missing setting \"query\"");
}

/* A rule without a due is reported at the rule's line. */
static void
test_ruleset_missing_due(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "\n"                                                   /* 2 */
	                  "  {\n"                                                /* 3 */
	                  "    id = \"cic-first-review\";\n"                     /* 4 */
	                  "    title = \"First review\";\n"                      /* 5 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 6 */
	                  "    stages = ( { name = \"late\"; at = \"0 days\"; notify = "
	                  "[ \"iro\" ]; } );\n" /* 7 */
	                  "  }\n"               /* 8 */
	                  ");\n",               /* 9 */
	                  3, "missing setting \"due\"");
}

/* A rule without stages is reported at the rule's line. */
static void
test_ruleset_missing_stages(void **state)
{
	expect_file_error(*state,
	                  "rules = (\n"                                          /* 1 */
	                  "\n"                                                   /* 2 */
	                  "  {\n"                                                /* 3 */
	                  "    id = \"cic-first-review\";\n"                     /* 4 */
	                  "    title = \"First review\";\n"                      /* 5 */
	                  "    query = \"SELECT case_ref, start FROM cases\";\n" /* 6 */
	                  "    due = \"20 working days\";\n"                     /* 7 */
	                  "  }\n"                                                /* 8 */
	                  ");\n",                                                /* 9 */
	                  3, "rule \"cic-first-review\": missing setting \"stages\"");
}

/* A column <name>_email wins over a contact of the same name; other names go to contacts. */
static void
test_ruleset_notify_column_before_contact(void **state)
{
	struct fixture *fx = *state;
	char *path;
	const struct stage *st;
	int rc =
	    load_file(fx, "10-alert.conf",
	              "rules = ( {\n"
	              "  id = \"practice-alert\";\n"
	              "  title = \"Practice alert\";\n"
	              "  query = \"SELECT case_ref, start, iro_email FROM cases\";\n"
	              "  due = \"5 working days\";\n"
	              "  stages = ( { name = \"escalate\"; at = \"0 days\";\n"
	              "    notify = [ \"iro\", \"service_manager\", \"head_of_service\" ]; } );\n"
	              "} );\n",
	              &path);

	if (rc != 0)
		dump_diag(&fx->d);
	assert_int_equal(rc, 0);
	assert_int_equal(fx->rs->nrules, 1);
	st = &fx->rs->rules[0].stages[0];
	assert_int_equal(st->nnotify, 3);
	/* "iro" is both a contact and the column iro_email (index 2): the column wins. */
	assert_string_equal(st->notify[0].name, "iro");
	assert_int_equal(st->notify[0].column, 2);
	assert_null(st->notify[0].address);
	/* No service_manager_email column: the contact's address. */
	assert_string_equal(st->notify[1].name, "service_manager");
	assert_int_equal(st->notify[1].column, -1);
	assert_int_equal(st->notify[1].kind, CHANNEL_EMAIL);
	assert_string_equal(st->notify[1].address, "service.manager@council.example");
	assert_string_equal(st->notify[2].name, "head_of_service");
	assert_int_equal(st->notify[2].column, -1);
	assert_int_equal(st->notify[2].kind, CHANNEL_WEBHOOK);
	assert_string_equal(st->notify[2].address, "https://hooks.council.example/hos");
	free(path);
}

/* Without a column <name>_email, a notify name resolves to the contact. */
static void
test_ruleset_notify_contact(void **state)
{
	struct fixture *fx = *state;
	char *path;
	const struct stage *st;
	int rc = load_file(fx, "10-alert.conf",
	                   "rules = ( {\n"
	                   "  id = \"practice-alert\";\n"
	                   "  title = \"Practice alert\";\n"
	                   "  query = \"SELECT case_ref, start, team_manager_email FROM cases\";\n"
	                   "  due = \"5 working days\";\n"
	                   "  stages = ( { name = \"escalate\"; at = \"0 days\";\n"
	                   "    notify = \"iro\"; } );\n"
	                   "} );\n",
	                   &path);

	if (rc != 0)
		dump_diag(&fx->d);
	assert_int_equal(rc, 0);
	st = &fx->rs->rules[0].stages[0];
	assert_int_equal(st->nnotify, 1);
	assert_string_equal(st->notify[0].name, "iro");
	assert_int_equal(st->notify[0].column, -1);
	assert_int_equal(st->notify[0].kind, CHANNEL_EMAIL);
	assert_string_equal(st->notify[0].address, "iro-service@council.example");
	free(path);
}

/* A small valid rule file with the given id. */
static char *
small_rule(const char *id)
{
	return xasprintf("rules = ( { id = \"%s\"; title = \"T\"; query = \"SELECT case_ref, "
	                 "start FROM cases\"; due = \"1 day\"; stages = ( { name = \"s\"; at = "
	                 "\"0 days\"; notify = [ \"iro\" ]; } ); } );\n",
	                 id);
}

/* Files load in bytewise name order; non-.conf files, dot-files and directories are ignored. */
static void
test_ruleset_dir_order_and_filter(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *file, *id;
	} good[] = {
	    {"20-b.conf", "rule-b"},
	    {"9-c.conf", "rule-c"},
	    {"10-a.conf", "rule-a"},
	};
	static const char *const ignored[] = {
	    ".05-hidden.conf", "README.txt", "40-d.conf.bak", "40-d.conf~", "50-e.CONF", ".conf",
	};

	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char *contents = small_rule(good[i].id);
		free(write_rule(fx, good[i].file, contents));
		free(contents);
	}
	/* Each ignored file would be a syntax error if it were read. */
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		free(write_rule(fx, ignored[i], "rules = ( { id = \"broken\" \n"));
	free(testdir_mkdir(fx->td, "rules/60-dir.conf"));

	fx->rs = ruleset_load_dir(fx->rules_dir, &fx->env, &fx->d);
	if (fx->rs == NULL)
		dump_diag(&fx->d);
	assert_non_null(fx->rs);
	assert_int_equal(fx->d.n, 0);
	assert_int_equal(fx->rs->nfiles, 3);
	assert_int_equal(fx->rs->nrules, 3);
	/* "10-a" < "20-b" < "9-c" bytewise. */
	assert_string_equal(fx->rs->rules[0].id, "rule-a");
	assert_string_equal(fx->rs->rules[1].id, "rule-b");
	assert_string_equal(fx->rs->rules[2].id, "rule-c");
	assert_non_null(strstr(fx->rs->rules[0].file, "/10-a.conf"));
	assert_non_null(strstr(fx->rs->rules[2].file, "/9-c.conf"));
}

/* One bad file makes the whole directory load nothing, and every error of every file is told. */
static void
test_ruleset_dir_bad_file_loads_nothing(void **state)
{
	struct fixture *fx = *state;
	char *good = small_rule("rule-good");
	char *p_good = write_rule(fx, "10-good.conf", good);
	char *p_bad = write_rule(fx, "20-bad.conf",
	                         "rules = (\n"                                          /* 1 */
	                         "  {\n"                                                /* 2 */
	                         "    id = \"rule-bad\";\n"                             /* 3 */
	                         "    title = \"Bad\";\n"                               /* 4 */
	                         "    query = \"SELECT case_ref, start FROM cases\";\n" /* 5 */
	                         "    due = \"20 wrking days\";\n"                      /* 6 */
	                         "    colour = \"red\";\n"                              /* 7 */
	                         "    stages = ( { name = \"late\"; at = \"0 days\"; notify = "
	                         "[ \"iro\" ]; } );\n" /* 8 */
	                         "  }\n"               /* 9 */
	                         ");\n");              /* 10 */
	char *p_syntax = write_rule(fx, "30-syntax.conf",
	                            "rules = (\n"         /* 1 */
	                            "  { id = \"x\"; }\n" /* 2 */
	                            "  { id = \"y\"; }\n" /* 3 */
	                            ");\n");              /* 4 */

	fx->rs = ruleset_load_dir(fx->rules_dir, &fx->env, &fx->d);
	assert_null(fx->rs);
	if (fx->d.errors != 3)
		dump_diag(&fx->d);
	assert_int_equal(fx->d.errors, 3);
	expect_error_at(&fx->d, p_bad, 6, "due: \"20 wrking days\": unknown unit");
	expect_error_at(&fx->d, p_bad, 7, "unknown setting \"colour\" in a rule");
	/* The fault is the missing comma at the end of line 2 (libconfig stops at line 3). */
	expect_error_at(&fx->d, p_syntax, 2, "syntax error: ',' missing after this line");
	free(good);
	free(p_good);
	free(p_bad);
	free(p_syntax);
}

/* A comment after the single statement is accepted. */
static void
test_ruleset_query_trailing_comment(void **state)
{
	struct fixture *fx = *state;
	static const char *const queries[] = {
	    "SELECT case_ref, start, team_manager_email FROM cases; -- open cases only",
	    "SELECT case_ref, start, team_manager_email FROM cases /* all */ ;  /* end */ ",
	    "SELECT case_ref, start, team_manager_email FROM cases;\\n\\n",
	};

	for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
		char *contents = rule_with_query(queries[i]);
		char *name = xasprintf("%zu.conf", i);
		char *path;
		int rc;

		ruleset_free(fx->rs);
		fx->rs = NULL;
		rc = load_file(fx, name, contents, &path);
		if (rc != 0)
			dump_diag(&fx->d);
		assert_int_equal(rc, 0);
		assert_int_equal(fx->d.errors, 0);
		assert_int_equal(fx->rs->nrules, 1);
		assert_int_equal(fx->rs->rules[0].ncolumns, 3);
		free(path);
		free(name);
		free(contents);
	}
}

/* Forget the rules and diagnostics loaded so far. */
static void
reset(struct fixture *fx)
{
	ruleset_free(fx->rs);
	fx->rs = NULL;
	diag_free(&fx->d);
	diag_init(&fx->d);
}

/* A clock rule's history query for the annual report, and its target (issue 16). */
static void
test_ruleset_history_and_target(void **state)
{
	struct fixture *fx = *state;
	static const char head[] =
	    "rules = ( {\n"                                            /* 1 */
	    "  id = \"cic\"; title = \"Review\";\n"                    /* 2 */
	    "  query = \"SELECT case_ref, start FROM cases\";\n"       /* 3 */
	    "  due = \"20 working days\";\n"                           /* 4 */
	    "  stages = ( { name = \"late\"; at = \"1 working day\"; " /* 5 */
	    "notify = \"iro\"; } );\n";
	char *path, *text;
	int rc;

	/* Compiled against the case store: the columns are found wherever they are. */
	text = xasprintf("%s  history = \"SELECT status, start, case_ref, start AS done FROM "
	                 "cases\";\n  target = 90;\n} );\n",
	                 head);
	rc = load_file(fx, "10-h.conf", text, &path);
	if (rc != 0)
		dump_diag(&fx->d);
	assert_int_equal(rc, 0);
	assert_string_equal(fx->rs->rules[0].history,
	                    "SELECT status, start, case_ref, start AS done FROM cases");
	assert_int_equal(fx->rs->rules[0].history_case_col, 2);
	assert_int_equal(fx->rs->rules[0].history_start_col, 1);
	assert_int_equal(fx->rs->rules[0].history_done_col, 3);
	assert_true(fx->rs->rules[0].target == 90.0);
	free(text);
	free(path);
	reset(fx);

	/* Each mistake at its line, in words. */
	text = xasprintf("%s  history = \"SELECT case_ref, start FROM cases\";\n} );\n", head);
	expect_file_error(fx, text, 6, "history must return the columns case_ref, start and done");
	free(text);
	reset(fx);
	text =
	    xasprintf("%s  history = \"SELECT case_ref, start, done FROM nowhere\";\n} );\n", head);
	expect_file_error(fx, text, 6, "rule \"cic\": history: ");
	free(text);
	reset(fx);
	text = xasprintf("%s  history = \"SELECT case_ref, start, start AS done FROM cases\";\n"
	                 "  target = 101;\n} );\n",
	                 head);
	expect_file_error(fx, text, 7, "target is the percentage on time aimed for");
	free(text);
	reset(fx);
	text = xasprintf("%s  target = 90;\n} );\n", head);
	expect_file_error(fx, text, 6, "target needs a history query");
	free(text);
	reset(fx);
	text = xasprintf("%s  history = 3;\n} );\n", head);
	expect_file_error(fx, text, 6, "history must be a query in quotes");
	free(text);
}

/* working_days_only defaults to true and may be turned off. */
static void
test_ruleset_working_days_only(void **state)
{
	struct fixture *fx = *state;
	char *path;
	int rc = load_file(
	    fx, "10-pa.conf",
	    "rules = ( {\n"
	    "  id = \"practice-alert\";\n"
	    "  title = \"Practice alert\";\n"
	    "  query = \"SELECT case_ref, start FROM cases\";\n"
	    "  due = \"5 working days\";\n"
	    "  working_days_only = false;\n"
	    "  stages = ( { name = \"chase\"; at = \"-1 day\"; notify = \"iro\"; },\n"
	    "             { name = \"escalate\"; at = \"2 days\"; notify = \"iro\"; } );\n"
	    "} );\n",
	    &path);

	if (rc != 0)
		dump_diag(&fx->d);
	assert_int_equal(rc, 0);
	assert_false(fx->rs->rules[0].working_days_only);
	assert_int_equal(fx->rs->rules[0].stages[0].at.n, -1);
	assert_int_equal(fx->rs->rules[0].stages[0].at.unit, DUR_DAYS);
	free(path);
}

/* ruleset_valid_id: [a-z0-9-]+, not starting with '-', at most 64 characters. */
static void
test_ruleset_valid_id(void **state)
{
	static const char *const good[] = {"cic-first-review", "a", "9", "cp-icpc-15wd", "x-"};
	static const char *const bad[] = {"",           "-cic",       "CIC",        "cic_review",
	                                  "cic review", "cic.review", "cic/review", "é"};
	char id[66];

	(void)state;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		if (!ruleset_valid_id(good[i]))
			fail_msg("\"%s\" should be a valid id", good[i]);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (ruleset_valid_id(bad[i]))
			fail_msg("\"%s\" should not be a valid id", bad[i]);
	memset(id, 'a', 64);
	id[64] = '\0';
	assert_true(ruleset_valid_id(id));
	id[64] = 'a';
	id[65] = '\0';
	assert_false(ruleset_valid_id(id));
}

/* Register one test with the case store fixture. */
/* A threshold rule's query must return key and value. */
static void
test_ruleset_threshold_no_value(void **state)
{
	expect_file_error(
	    *state,
	    "rules = ( {\n"                                                      /* 1 */
	    "  id = \"caseload\"; title = \"Caseload\"; kind = \"threshold\";\n" /* 2 */
	    "  query = \"SELECT case_ref AS key FROM cases\";\n"                 /* 3 */
	    "  above = 70; notify = [ \"service_manager\" ];\n"                  /* 4 */
	    "} );\n",
	    3, "a threshold query must return the columns key and value");
}

/* A threshold rule needs exactly one of above and below, as a number. */
static void
test_ruleset_threshold_limits(void **state)
{
	expect_file_error(
	    *state,
	    "rules = ( {\n"                                                      /* 1 */
	    "  id = \"caseload\"; title = \"Caseload\"; kind = \"threshold\";\n" /* 2 */
	    "  query = \"SELECT case_ref AS key, 1 AS value FROM cases\";\n"     /* 3 */
	    "  above = \"seventy\"; notify = [ \"service_manager\" ];\n"         /* 4 */
	    "} );\n",
	    4, "above must be a number");
}

/* A threshold rule with both above and below is refused. */
static void
test_ruleset_threshold_both_limits(void **state)
{
	expect_file_error(
	    *state,
	    "rules = ( {\n"                                                      /* 1 */
	    "  id = \"caseload\"; title = \"Caseload\"; kind = \"threshold\";\n" /* 2 */
	    "  query = \"SELECT case_ref AS key, 1 AS value FROM cases\";\n"     /* 3 */
	    "  above = 70; below = 10; notify = [ \"service_manager\" ];\n"      /* 4 */
	    "} );\n",
	    1, "needs exactly one of above = N or below = N");
}

/* Clock-rule settings in a threshold rule, and threshold settings in a clock rule, are errors. */
static void
test_ruleset_threshold_mixed_keys(void **state)
{
	expect_file_error(
	    *state,
	    "rules = ( {\n"                                                      /* 1 */
	    "  id = \"caseload\"; title = \"Caseload\"; kind = \"threshold\";\n" /* 2 */
	    "  query = \"SELECT case_ref AS key, 1 AS value FROM cases\";\n"     /* 3 */
	    "  above = 70; notify = [ \"service_manager\" ];\n"                  /* 4 */
	    "  due = \"5 days\";\n"                                              /* 5 */
	    "} );\n",
	    5, "a threshold rule has no due");
}

/* An unknown kind is refused at its line. */
static void
test_ruleset_unknown_kind(void **state)
{
	expect_file_error(
	    *state,
	    "rules = ( {\n"                                                  /* 1 */
	    "  id = \"review\"; title = \"Review\"; kind = \"sometimes\";\n" /* 2 */
	    "  query = \"SELECT case_ref, start FROM cases\";\n"             /* 3 */
	    "  due = \"5 days\";\n"                                          /* 4 */
	    "  stages = ( { name = \"late\"; at = \"0 days\"; notify = [ \"iro\" ]; } );\n"
	    "} );\n",
	    2, "kind must be \"clock\" (the default) or \"threshold\"");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Stage labels (with a readable default), immediate, and a rule's case_url. */
static void
test_ruleset_label_immediate_case_url(void **state)
{
	struct fixture *fx = *state;
	char *path;
	const struct rule *r;
	int rc =
	    load_file(fx, "10-cic.conf",
	              "rules = ( {\n"
	              "  id = \"cic-first-review\";\n"
	              "  title = \"First Child in Care review\";\n"
	              "  query = \"SELECT case_ref, start, team_manager_email FROM cases\";\n"
	              "  due = \"20 working days\";\n"
	              "  case_url = "
	              "\"https://cms.council.example/child/{{case}}?tm={{team_manager_email}}\";\n"
	              "  stages = (\n"
	              "    { name = \"overdue-tm\"; at = \"1 working day\"; notify = [ "
	              "\"team_manager\" ]; },\n"
	              "    { name = \"escalated\"; at = \"5 working days\"; notify = [ \"iro\" ];\n"
	              "      label = \"Escalated: IRO service manager\"; immediate = true; }\n"
	              "  );\n"
	              "} );\n",
	              &path);

	if (rc != 0)
		dump_diag(&fx->d);
	assert_int_equal(rc, 0);
	r = &fx->rs->rules[0];
	assert_string_equal(r->stages[0].label, "Overdue tm");
	assert_false(r->stages[0].immediate);
	assert_string_equal(r->stages[1].label, "Escalated: IRO service manager");
	assert_true(r->stages[1].immediate);
	assert_non_null(r->case_url);
	free(path);
	reset(fx);

	expect_file_error(fx,
	                  "rules = ( { id = \"r\"; title = \"t\";\n"
	                  "  query = \"SELECT case_ref, start FROM cases\"; due = \"1 day\";\n"
	                  "  stages = ( { name = \"s\"; at = \"0 days\"; notify = [ \"iro\" ];\n"
	                  "    label = \"\"; } ); } );\n",
	                  4, "label must be text in quotes");
	reset(fx);
	expect_file_error(fx,
	                  "rules = ( { id = \"r\"; title = \"t\";\n"
	                  "  query = \"SELECT case_ref, start FROM cases\"; due = \"1 day\";\n"
	                  "  stages = ( { name = \"s\"; at = \"0 days\"; notify = [ \"iro\" ];\n"
	                  "    immediate = \"yes\"; } ); } );\n",
	                  4, "immediate must be true or false");
	reset(fx);
	expect_file_error(fx,
	                  "rules = ( { id = \"r\"; title = \"t\";\n"
	                  "  query = \"SELECT case_ref, start FROM cases\"; due = \"1 day\";\n"
	                  "  case_url = \"ftp://cms/{{case}}\";\n"
	                  "  stages = ( { name = \"s\"; at = \"0 days\"; notify = [ \"iro\" ]; "
	                  "} ); } );\n",
	                  3, "case_url must start with https://");
	reset(fx);
	expect_file_error(fx,
	                  "rules = ( { id = \"r\"; title = \"t\";\n"
	                  "  query = \"SELECT case_ref, start FROM cases\"; due = \"1 day\";\n"
	                  "  case_url = \"https://cms/{{nope}}\";\n"
	                  "  stages = ( { name = \"s\"; at = \"0 days\"; notify = [ \"iro\" ]; "
	                  "} ); } );\n",
	                  3, "unknown placeholder {{nope}}");
}

/* A clock rule of one stage with extra (the hold settings) on line 3, for hold's tests. */
static char *
rule_with_hold(const char *extra)
{
	return xasprintf(
	    "rules = ( { id = \"pr\"; title = \"Practice alert\";\n"               /* 1 */
	    "  query = \"SELECT case_ref, start FROM cases\"; due = \"5 days\";\n" /* 2 */
	    "%s\n"                                                                 /* 3 */
	    "  stages = ( { name = \"s\"; at = \"1 day\"; notify = [ \"iro\" ]; } "
	    "); } );\n", /* 4 */
	    extra);
}

/* hold and max_hold: parsed on a clock rule, off by default. */
static void
test_ruleset_hold(void **state)
{
	struct fixture *fx = *state;
	char *path, *text = rule_with_hold("  hold = true; max_hold = \"10 working days\";");

	if (load_file(fx, "10-pr.conf", text, &path) != 0)
		dump_diag(&fx->d);
	assert_int_equal(fx->d.n, 0);
	assert_true(fx->rs->rules[0].hold);
	assert_int_equal(fx->rs->rules[0].max_hold.n, 10);
	assert_int_equal(fx->rs->rules[0].max_hold.unit, DUR_WORKING_DAYS);
	free(text);
	free(path);
	reset(fx);
	text = rule_with_hold("  hold = true; max_hold = \"2 weeks\";");
	assert_int_equal(load_file(fx, "10-pr.conf", text, &path), 0);
	assert_int_equal(fx->rs->rules[0].max_hold.unit, DUR_WEEKS);
	free(text);
	free(path);
	reset(fx);
	/* hold = false says what the default does; no max_hold needed. */
	text = rule_with_hold("  hold = false;");
	assert_int_equal(load_file(fx, "10-pr.conf", text, &path), 0);
	assert_false(fx->rs->rules[0].hold);
	free(text);
	free(path);
	reset(fx);
	text = rule_with_hold("");
	assert_int_equal(load_file(fx, "10-pr.conf", text, &path), 0);
	assert_false(fx->rs->rules[0].hold);
	free(text);
	free(path);
}

/* Each mistake in hold and max_hold is refused at its own line, with what to write. */
static void
test_ruleset_hold_errors(void **state)
{
	static const struct {
		const char *extra;
		const char *error;
	} cases[] = {
	    {"  hold = \"yes\"; max_hold = \"5 days\";", "rule \"pr\": hold must be true or false"},
	    {"  hold = true;",
	     "rule \"pr\": hold = true needs a limit on how long a stage may wait, e.g. max_hold = "
	     "\"10 working days\""},
	    {"  max_hold = \"10 working days\";",
	     "rule \"pr\": max_hold is only used with hold = true"},
	    {"  hold = false; max_hold = \"10 working days\";",
	     "rule \"pr\": max_hold is only used with hold = true"},
	    {"  hold = true; max_hold = \"1 month\";",
	     "rule \"pr\": max_hold must be a positive number of days, working days or weeks"},
	    {"  hold = true; max_hold = \"0 working days\";",
	     "max_hold must be a positive number of days, working days or weeks"},
	    {"  hold = true; max_hold = \"-3 days\";",
	     "max_hold must be a positive number of days, working days or weeks"},
	    {"  hold = true; max_hold = \"ten days\";", "max_hold: \"ten days\": expected"},
	    {"  hold = true; max_hold = 10;", "max_hold"},
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = rule_with_hold(cases[i].extra);

		expect_file_error(fx, text, 3, cases[i].error);
		free(text);
		reset(fx);
	}
	/* On its own line, the error names that line. */
	expect_file_error(fx,
	                  "rules = ( { id = \"pr\"; title = \"Practice alert\";\n"
	                  "  query = \"SELECT case_ref, start FROM cases\"; due = \"5 days\";\n"
	                  "  hold = true;\n"
	                  "  max_hold = \"3 months\";\n"
	                  "  stages = ( { name = \"s\"; at = \"1 day\"; notify = [ \"iro\" ]; } "
	                  "); } );\n",
	                  4, "max_hold must be a positive number");
	reset(fx);
	/* A threshold rule has nothing later to hold. */
	expect_file_error(
	    fx,
	    "rules = ( {\n"                                                      /* 1 */
	    "  id = \"caseload\"; title = \"Caseload\"; kind = \"threshold\";\n" /* 2 */
	    "  query = \"SELECT case_ref AS key, 1 AS value FROM cases\";\n"     /* 3 */
	    "  above = 70; notify = [ \"service_manager\" ];\n"                  /* 4 */
	    "  hold = true;\n"                                                   /* 5 */
	    "} );\n",
	    5, "rule \"caseload\": hold belongs to clock rules");
	reset(fx);
	expect_file_error(
	    fx,
	    "rules = ( {\n"                                                      /* 1 */
	    "  id = \"caseload\"; title = \"Caseload\"; kind = \"threshold\";\n" /* 2 */
	    "  query = \"SELECT case_ref AS key, 1 AS value FROM cases\";\n"     /* 3 */
	    "  above = 70; notify = [ \"service_manager\" ];\n"                  /* 4 */
	    "  max_hold = \"5 days\";\n"                                         /* 5 */
	    "} );\n",
	    5, "max_hold belongs to clock rules");
	reset(fx);
	/* In a stage it is an unknown setting: hold belongs to the rule. */
	expect_file_error(fx,
	                  "rules = ( { id = \"pr\"; title = \"Practice alert\";\n"
	                  "  query = \"SELECT case_ref, start FROM cases\"; due = \"5 days\";\n"
	                  "  stages = ( { name = \"s\"; at = \"1 day\"; notify = [ \"iro\" ];\n"
	                  "    hold = true; } ); } );\n",
	                  4, "unknown setting \"hold\" in a stage");
}

/* A two-rule file: rule "pr" (stages reminder, overdue-tm) with extra at line 4, and "other". */
static char *
rule_with_rename(const char *rule_extra, const char *stage_extra)
{
	return xasprintf(
	    "rules = (\n"                                                              /* 1 */
	    "  { id = \"pr\"; title = \"Practice alert\";\n"                           /* 2 */
	    "    query = \"SELECT case_ref, start, team_manager_email FROM cases\";\n" /* 3 */
	    "    due = \"5 working days\";%s\n"                                        /* 4 */
	    "    stages = (\n"                                                         /* 5 */
	    "      { name = \"reminder\"; at = \"-2 working days\"; notify = [ \"iro\" ]; },\n" /* 6
	                                                                                         */
	    "      { name = \"overdue-tm\"; at = \"1 working day\";\n"                      /* 7 */
	    "        notify = [ \"team_manager\" ];%s }\n"                                  /* 8 */
	    "    ); },\n"                                                                   /* 9 */
	    "  { id = \"other\"; title = \"Other\";\n"                                      /* 10 */
	    "    query = \"SELECT case_ref, start FROM cases\"; due = \"5 days\";\n"        /* 11 */
	    "    stages = ( { name = \"s\"; at = \"1 day\"; notify = [ \"iro\" ]; } ); }\n" /* 12 */
	    ");\n",
	    rule_extra, stage_extra);
}

/* renamed_from on a rule and a stage: kept, and records under the old names map to the new. */
static void
test_ruleset_renamed_from(void **state)
{
	struct fixture *fx = *state;
	char *text = rule_with_rename(" renamed_from = \"practice-alert\";",
	                              " renamed_from = [ \"overdue\", \"late\" ];");
	const struct rule *r, *other;
	char *path;

	if (load_file(fx, "10-pr.conf", text, &path) != 0)
		dump_diag(&fx->d);
	assert_int_equal(fx->d.errors, 0);
	assert_int_equal(fx->rs->nrules, 2);
	r = &fx->rs->rules[0];
	other = &fx->rs->rules[1];
	assert_int_equal(r->nrenamed, 1);
	assert_string_equal(r->renamed_from[0], "practice-alert");
	assert_int_equal(r->renamed_line, 4);
	assert_true(rule_renamed_from(r, "practice-alert"));
	assert_false(rule_renamed_from(r, "pr"));
	assert_true(r->stage_renames);
	assert_int_equal(r->stages[0].nrenamed, 0);
	assert_int_equal(r->stages[1].nrenamed, 2);
	assert_string_equal(r->stages[1].renamed_from[1], "late");
	/* A record's stage name: its own, an old name of a stage, or none of this rule's. */
	assert_int_equal(rule_stage_recorded(r, "reminder"), 0);
	assert_int_equal(rule_stage_recorded(r, "overdue-tm"), 1);
	assert_int_equal(rule_stage_recorded(r, "overdue"), 1);
	assert_int_equal(rule_stage_recorded(r, "late"), 1);
	assert_int_equal(rule_stage_recorded(r, "escalated"), -1);
	/* Only the stage's own name is a stage of the rule. */
	assert_int_equal(rule_stage_index(r, "overdue"), -1);
	/* A rule without renamed_from pays one look-up, and maps nothing else. */
	assert_false(other->stage_renames);
	assert_int_equal(other->nrenamed, 0);
	assert_int_equal(rule_stage_recorded(other, "overdue"), -1);
	free(text);
	free(path);
}

/* Each mistake in renamed_from is refused at its own line, saying what is wrong. */
static void
test_ruleset_renamed_from_errors(void **state)
{
	static const struct {
		const char *rule_extra, *stage_extra;
		int line;
		const char *error;
	} cases[] = {
	    /* A stage's old name must be gone from the rule. */
	    {"", " renamed_from = \"reminder\";", 8,
	     "rule \"pr\": stage \"overdue-tm\": renamed_from = \"reminder\" names a stage the "
	     "rule still has (line 6); history carries over only from a name no longer used"},
	    {"", " renamed_from = \"overdue-tm\";", 8,
	     "stage \"overdue-tm\" says renamed_from its own name"},
	    {"", " renamed_from = \"Overdue\";", 8,
	     "renamed_from: \"Overdue\" is not a stage name"},
	    {"", " renamed_from = [ \"overdue\", \"overdue\" ];", 8,
	     "rule \"pr\": renamed_from lists \"overdue\" twice"},
	    {"", " renamed_from = 3;", 8, "renamed_from must be the old stage name in quotes"},
	    /* A rule's old id must be gone from every rule file. */
	    /* ("other" loads after "pr": the error is at its id) */
	    {" renamed_from = \"other\";", "", 10,
	     "rule id \"other\" is the old id of rule \"pr\" (renamed_from at "},
	    {" renamed_from = \"pr\";", "", 4, "rule \"pr\" says renamed_from its own id"},
	    {" renamed_from = \"Old id\";", "", 4, "renamed_from: \"Old id\" is not a rule id"},
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = rule_with_rename(cases[i].rule_extra, cases[i].stage_extra);
		char *path;

		assert_int_equal(load_file(fx, "10-pr.conf", text, &path), -1);
		if (fx->d.errors != 1)
			dump_diag(&fx->d);
		assert_int_equal(fx->d.errors, 1);
		expect_error_at(&fx->d, path, cases[i].line, cases[i].error);
		free(text);
		free(path);
		reset(fx);
	}
}

/* Two stages cannot take over the same old name. */
static void
test_ruleset_renamed_from_claimed_twice(void **state)
{
	struct fixture *fx = *state;

	expect_file_error(fx,
	                  "rules = ( { id = \"pr\"; title = \"Practice alert\";\n"
	                  "  query = \"SELECT case_ref, start FROM cases\"; due = \"5 days\";\n"
	                  "  stages = ( { name = \"a\"; at = \"1 day\"; notify = [ \"iro\" ];\n"
	                  "               renamed_from = \"old\"; },\n"
	                  "             { name = \"b\"; at = \"2 days\"; notify = [ \"iro\" ];\n"
	                  "               renamed_from = \"old\"; } ); } );\n",
	                  6,
	                  "rule \"pr\": stages \"a\" and \"b\" both say renamed_from = \"old\"; "
	                  "the old name's history can carry over to one stage only");
}

/* A rule's old id is checked against the other files, whichever loads first. */
static void
test_ruleset_renamed_from_across_files(void **state)
{
	struct fixture *fx = *state;
	static const char renamed[] =
	    "rules = ( { id = \"new-id\"; title = \"Renamed\"; renamed_from = \"old-id\";\n"
	    "  query = \"SELECT case_ref, start FROM cases\"; due = \"5 days\";\n"
	    "  stages = ( { name = \"s\"; at = \"1 day\"; notify = [ \"iro\" ]; } ); } );\n";
	static const char old[] =
	    "rules = ( { id = \"old-id\"; title = \"Still here\";\n"
	    "  query = \"SELECT case_ref, start FROM cases\"; due = \"5 days\";\n"
	    "  stages = ( { name = \"s\"; at = \"1 day\"; notify = [ \"iro\" ]; } ); } );\n";
	static const char also[] =
	    "rules = ( { id = \"third\"; title = \"Also renamed\";\n"
	    "  renamed_from = [ \"older\", \"old-id\" ];\n"
	    "  query = \"SELECT case_ref, start FROM cases\"; due = \"5 days\";\n"
	    "  stages = ( { name = \"s\"; at = \"1 day\"; notify = [ \"iro\" ]; } ); } );\n";
	char *a = write_rule(fx, "10-renamed.conf", renamed);
	char *b = write_rule(fx, "20-old.conf", old);
	char *want;

	/* The old id is defined in a later file: the error is at its id. */
	fx->rs = ruleset_load_dir(fx->rules_dir, &fx->env, &fx->d);
	assert_null(fx->rs);
	assert_int_equal(fx->d.errors, 1);
	want = xasprintf(
	    "rule id \"old-id\" is the old id of rule \"new-id\" (renamed_from at %s:1)", a);
	expect_error_at(&fx->d, b, 1, want);
	free(want);
	reset(fx);
	/* The renamed rule loads after the old one: the error is at its renamed_from. */
	unlink(a);
	free(a);
	a = write_rule(fx, "30-renamed.conf", renamed);
	fx->rs = ruleset_load_dir(fx->rules_dir, &fx->env, &fx->d);
	assert_null(fx->rs);
	assert_int_equal(fx->d.errors, 1);
	want = xasprintf("rule \"new-id\": renamed_from = \"old-id\" names a rule still defined "
	                 "at %s:1; history carries over only from an id no longer used",
	                 b);
	expect_error_at(&fx->d, a, 1, want);
	free(want);
	reset(fx);
	/* Gone from its file, but a third rule (loaded before) claims the same old id. */
	unlink(b);
	free(b);
	b = write_rule(fx, "20-old.conf", also);
	fx->rs = ruleset_load_dir(fx->rules_dir, &fx->env, &fx->d);
	assert_null(fx->rs);
	assert_int_equal(fx->d.errors, 1);
	want = xasprintf("rule \"new-id\": rule \"third\" (%s:2) also says renamed_from = "
	                 "\"old-id\"; the old id's history can carry over to one rule only",
	                 b);
	expect_error_at(&fx->d, a, 1, want);
	free(want);
	free(a);
	free(b);
}

/* rulediff: every setting that changed between two versions of a rule, in words, and no more. */
static void
test_ruleset_rulediff(void **state)
{
	static const char before[] =
	    "rules = ( { id = \"pr\"; title = \"Practice alert\";\n"
	    "  query = \"SELECT case_ref, start, team_manager_email FROM cases\";\n"
	    "  due = \"5 working days\";\n"
	    "  stages = ( { name = \"reminder\"; at = \"-2 working days\"; notify = [ \"iro\" ]; "
	    "},\n"
	    "             { name = \"overdue\"; at = \"1 working day\"; notify = [ "
	    "\"team_manager\" "
	    "]; },\n"
	    "             { name = \"escalated\"; at = \"5 working days\"; notify = [ "
	    "\"service_manager\" ]; } ); } );\n";
	static const char after[] =
	    "rules = ( { id = \"practice\"; renamed_from = \"pr\"; title = \"Practice alert\";\n"
	    "  query = \"SELECT case_ref, start, team_manager_email FROM cases\";\n"
	    "  due = \"10 working days\"; expected = \"Act.\";\n"
	    "  stages = ( { name = \"reminder\"; at = \"-3 working days\"; notify = [ \"iro\", "
	    "\"team_manager\" ]; },\n"
	    "             { name = \"overdue-tm\"; renamed_from = \"overdue\"; at = \"1 working "
	    "day\";"
	    " notify = [ \"team_manager\" ]; label = \"Overdue: TM\"; },\n"
	    "             { name = \"escalated-hos\"; at = \"10 working days\"; notify = [ "
	    "\"head_of_service\" ]; } ); } );\n";
	static const struct {
		enum rulediff_kind kind;
		const char *stage, *before, *after;
	} want[] = {
	    {RULEDIFF_ID, NULL, "pr", "practice"},
	    {RULEDIFF_DUE, NULL, "5 working days", "10 working days"},
	    {RULEDIFF_EXPECTED, NULL, NULL, NULL},
	    {RULEDIFF_STAGE_AT, "reminder", "-2 working days", "-3 working days"},
	    {RULEDIFF_STAGE_NOTIFY, "reminder", "iro", "iro, team_manager"},
	    {RULEDIFF_STAGE_RENAMED, "overdue-tm", "overdue", "overdue-tm"},
	    /* The label was the default made from the name. */
	    {RULEDIFF_STAGE_LABEL, "overdue-tm", "Overdue", "Overdue: TM"},
	    {RULEDIFF_STAGE_ADDED, "escalated-hos", NULL, "10 working days"},
	    {RULEDIFF_STAGE_REMOVED, "escalated", "5 working days", NULL},
	};
	struct fixture *fx = *state;
	struct ruleset *a;
	struct rulediff d;
	char *path;

	assert_int_equal(load_file(fx, "10-pr.conf", before, &path), 0);
	free(path);
	a = fx->rs;
	fx->rs = NULL;
	if (load_file(fx, "10-pr.conf", after, &path) != 0)
		dump_diag(&fx->d);
	free(path);
	assert_int_equal(fx->d.errors, 0);
	rulediff_rules(&a->rules[0], &fx->rs->rules[0], &d);
	for (size_t i = 0; i < d.n; i++)
		print_message("  %s %s: %s -> %s\n", rulediff_name(d.v[i].kind),
		              d.v[i].stage ? d.v[i].stage : "-",
		              d.v[i].before ? d.v[i].before : "-",
		              d.v[i].after ? d.v[i].after : "-");
	assert_int_equal(d.n, sizeof want / sizeof want[0]);
	for (size_t i = 0; i < d.n; i++) {
		assert_int_equal(d.v[i].kind, want[i].kind);
		if (want[i].stage == NULL)
			assert_null(d.v[i].stage);
		else
			assert_string_equal(d.v[i].stage, want[i].stage);
		if (want[i].before == NULL)
			assert_null(d.v[i].before);
		else
			assert_string_equal(d.v[i].before, want[i].before);
		if (want[i].after == NULL)
			assert_null(d.v[i].after);
		else
			assert_string_equal(d.v[i].after, want[i].after);
	}
	assert_int_equal(rulediff_stage_of(&a->rules[0], &fx->rs->rules[0], 1), 1);
	assert_int_equal(rulediff_stage_of(&a->rules[0], &fx->rs->rules[0], 2), -1);
	rulediff_free(&d);
	/* A rule against itself: nothing. */
	rulediff_rules(&a->rules[0], &a->rules[0], &d);
	assert_int_equal(d.n, 0);
	rulediff_free(&d);
	ruleset_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_ruleset_valid_file),
	    T(test_ruleset_threshold_no_value),
	    T(test_ruleset_threshold_limits),
	    T(test_ruleset_threshold_mixed_keys),
	    T(test_ruleset_threshold_both_limits),
	    T(test_ruleset_unknown_kind),
	    T(test_ruleset_syntax_error),
	    T(test_ruleset_unknown_rule_key),
	    T(test_ruleset_unknown_stage_key),
	    T(test_ruleset_bad_due),
	    T(test_ruleset_bad_at),
	    T(test_ruleset_unknown_notify),
	    T(test_ruleset_unknown_notify_suggested),
	    T(test_ruleset_unknown_notify_own_line),
	    T(test_ruleset_query_insert),
	    T(test_ruleset_query_update),
	    T(test_ruleset_query_delete),
	    T(test_ruleset_query_create_table),
	    T(test_ruleset_query_pragma),
	    T(test_ruleset_query_attach),
	    T(test_ruleset_query_two_statements),
	    T(test_ruleset_query_no_case_ref),
	    T(test_ruleset_query_no_start),
	    T(test_ruleset_query_unknown_table),
	    T(test_ruleset_duplicate_id_across_files),
	    T(test_ruleset_stages_out_of_order),
	    T(test_ruleset_duplicate_stage),
	    T(test_ruleset_bad_id),
	    T(test_ruleset_missing_title),
	    T(test_ruleset_missing_query),
	    T(test_ruleset_missing_due),
	    T(test_ruleset_missing_stages),
	    T(test_ruleset_notify_column_before_contact),
	    T(test_ruleset_notify_contact),
	    T(test_ruleset_dir_order_and_filter),
	    T(test_ruleset_dir_bad_file_loads_nothing),
	    T(test_ruleset_query_trailing_comment),
	    T(test_ruleset_working_days_only),
	    T(test_ruleset_history_and_target),
	    T(test_ruleset_label_immediate_case_url),
	    T(test_ruleset_hold),
	    T(test_ruleset_hold_errors),
	    T(test_ruleset_renamed_from),
	    T(test_ruleset_renamed_from_errors),
	    T(test_ruleset_renamed_from_claimed_twice),
	    T(test_ruleset_renamed_from_across_files),
	    T(test_ruleset_rulediff),
	    cmocka_unit_test(test_ruleset_valid_id),
	};

	return cmocka_run_group_tests_name("ruleset", tests, NULL, NULL);
}
