/* test_config.c - unit tests for daemon/config.c (the main configuration file). */
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

#include "config.h"
#include "diag.h"
#include "govuk_notify.h"
#include "testdir.h"

/* One test's scratch directory and the configuration file written in it. */
struct fixture {
	struct testdir *td;
	const char *dir; /* testdir_root(td) */
	char *path;
	struct diag d;
	struct config *cfg;
};

/* Make a fresh scratch directory and an empty diagnostic list. */
static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof *fx);

	fx->td = testdir_new();
	fx->dir = testdir_root(fx->td);
	diag_init(&fx->d);
	*state = fx;
	return 0;
}

/* Free everything and remove the scratch directory. */
static int
teardown(void **state)
{
	struct fixture *fx = *state;

	config_free(fx->cfg);
	diag_free(&fx->d);
	free(fx->path);
	testdir_free(fx->td);
	free(fx);
	return 0;
}

/* Write the configuration file and load it. */
static struct config *
load(struct fixture *fx, const char *contents)
{
	config_free(fx->cfg);
	diag_free(&fx->d);
	free(fx->path);
	fx->path = testdir_write(fx->td, "escalator.conf", contents);
	fx->cfg = config_load(fx->path, &fx->d);
	return fx->cfg;
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
expect_error_at(const struct fixture *fx, int line, const char *text)
{
	char *prefix =
	    line > 0 ? xasprintf("%s:%d: ", fx->path, line) : xasprintf("%s: ", fx->path);
	bool found = false;

	for (size_t i = 0; i < fx->d.n; i++)
		if (fx->d.v[i].level == DIAG_ERROR &&
		    strncmp(fx->d.v[i].text, prefix, strlen(prefix)) == 0 &&
		    strstr(fx->d.v[i].text + strlen(prefix), text) != NULL)
			found = true;
	if (!found) {
		dump_diag(&fx->d);
		fail_msg("no error starting \"%s\" containing \"%s\"", prefix, text);
	}
	free(prefix);
}

/* Assert the configuration was refused with exactly one error, at line, containing text. */
static void
expect_refused(struct fixture *fx, const char *contents, int line, const char *text)
{
	struct config *cfg = load(fx, contents);

	if (cfg != NULL || fx->d.errors != 1)
		dump_diag(&fx->d);
	assert_null(cfg);
	assert_int_equal(fx->d.errors, 1);
	expect_error_at(fx, line, text);
}

/* A full configuration: required paths, holidays and both kinds of contact; defaults applied. */
static void
test_config_full_defaults(void **state)
{
	struct fixture *fx = *state;
	const struct contact *c;
	char *want;
	struct config *cfg = load(fx, "# escalatord main configuration\n"
	                              "case_store = \"../data/cases.sqlite\";\n"
	                              "state = \"/var/lib/escalator/state.sqlite\";\n"
	                              "rules = \"rules\";\n"
	                              "holidays = [ \"holidays/england-and-wales.txt\",\n"
	                              "             \"/usr/share/escalator/scotland.txt\" ];\n"
	                              "contacts = {\n"
	                              "  iro = { email = \"iro-service@council.example\"; };\n"
	                              "  head_of_service = { webhook = "
	                              "\"https://hooks.council.example/hos\"; };\n"
	                              "};\n");

	if (cfg == NULL)
		dump_diag(&fx->d);
	assert_non_null(cfg);
	/* Without admin and allowed_domains: a warning for each (see test_config_unlimited). */
	assert_int_equal(fx->d.errors, 0);
	assert_int_equal(fx->d.warnings, 2);
	assert_string_equal(cfg->path, fx->path);
	assert_string_equal(cfg->dir, fx->dir);

	/* Relative paths resolve against the directory of the file, absolute ones stay. */
	want = xasprintf("%s/../data/cases.sqlite", fx->dir);
	assert_string_equal(cfg->case_store, want);
	free(want);
	assert_string_equal(cfg->state, "/var/lib/escalator/state.sqlite");
	want = xasprintf("%s/rules", fx->dir);
	assert_string_equal(cfg->rules_dir, want);
	free(want);
	assert_int_equal(cfg->nholidays, 2);
	want = xasprintf("%s/holidays/england-and-wales.txt", fx->dir);
	assert_string_equal(cfg->holidays[0], want);
	free(want);
	assert_string_equal(cfg->holidays[1], "/usr/share/escalator/scotland.txt");

	/* Defaults: Europe/London, 08:00, 60 seconds. */
	assert_string_equal(cfg->timezone, "Europe/London");
	assert_int_equal(cfg->send_time, 480);
	assert_int_equal(cfg->poll_interval, 60);

	assert_int_equal(cfg->ncontacts, 2);
	c = config_find_contact(cfg, "iro");
	assert_non_null(c);
	assert_int_equal(c->kind, CHANNEL_EMAIL);
	assert_string_equal(c->address, "iro-service@council.example");
	c = config_find_contact(cfg, "head_of_service");
	assert_non_null(c);
	assert_int_equal(c->kind, CHANNEL_WEBHOOK);
	/* Recorded by name: the URL (it carries a token) is looked up at each attempt. */
	assert_string_equal(c->address, "head_of_service");
	assert_string_equal(c->url, "https://hooks.council.example/hos");
	assert_null(config_find_contact(cfg, "service_manager"));
}

/* Explicit timezone, send_time and poll_interval replace the defaults; holidays may be one string.
 */
static void
test_config_explicit_settings(void **state)
{
	struct fixture *fx = *state;
	char *want;
	struct config *cfg = load(fx, "case_store = \"/srv/cases.sqlite\";\n"
	                              "state = \"state.sqlite\";\n"
	                              "rules = \"/etc/escalator/rules\";\n"
	                              "holidays = \"holidays/ni.txt\";\n"
	                              "timezone = \"Europe/Belfast\";\n"
	                              "send_time = \"07:30\";\n"
	                              "poll_interval = 300;\n");

	if (cfg == NULL)
		dump_diag(&fx->d);
	assert_non_null(cfg);
	assert_int_equal(fx->d.errors, 0);
	assert_string_equal(cfg->case_store, "/srv/cases.sqlite");
	want = xasprintf("%s/state.sqlite", fx->dir);
	assert_string_equal(cfg->state, want);
	free(want);
	assert_string_equal(cfg->rules_dir, "/etc/escalator/rules");
	assert_int_equal(cfg->nholidays, 1);
	want = xasprintf("%s/holidays/ni.txt", fx->dir);
	assert_string_equal(cfg->holidays[0], want);
	free(want);
	assert_string_equal(cfg->timezone, "Europe/Belfast");
	assert_int_equal(cfg->send_time, 7 * 60 + 30);
	assert_int_equal(cfg->poll_interval, 300);
	assert_int_equal(cfg->ncontacts, 0);
}

/* A file that does not exist is refused with its name and the system's reason. */
static void
test_config_missing_file(void **state)
{
	struct fixture *fx = *state;
	char *path = xasprintf("%s/nope.conf", fx->dir);
	char *want = xasprintf("%s: cannot read: No such file or directory", path);
	struct config *cfg = config_load(path, &fx->d);

	assert_null(cfg);
	assert_int_equal(fx->d.errors, 1);
	assert_string_equal(fx->d.v[0].text, want);
	free(want);
	free(path);
}

/* A libconfig syntax error is reported as "file:line:" and the config refused. */
static void
test_config_syntax_error(void **state)
{
	struct fixture *fx = *state;

	/* Line 3: the value is not quoted. */
	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n" /* 1 */
	               "state = \"state.sqlite\";\n"      /* 2 */
	               "rules = rules/;\n"                /* 3 */
	               "send_time = \"08:00\";\n",        /* 4 */
	               3, "syntax error");
}

/* An unknown top-level key is reported at its line, listing the keys expected. */
static void
test_config_unknown_key(void **state)
{
	struct fixture *fx = *state;

	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n" /* 1 */
	               "state = \"state.sqlite\";\n"      /* 2 */
	               "rules = \"rules\";\n"             /* 3 */
	               "\n"                               /* 4 */
	               "pol_interval = 60;\n",            /* 5 */
	               5,
	               "unknown setting \"pol_interval\" in the main configuration; did you mean "
	               "\"poll_interval\"?");
	/* Nothing near: the whole list. */
	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n"
	               "state = \"state.sqlite\";\n"
	               "rules = \"rules\";\n"
	               "colour = \"blue\";\n",
	               4,
	               "unknown setting \"colour\" in the main configuration; expected one of: "
	               "case_store, state, rules, ");
	/* Only the case differs: that is the slip. */
	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n"
	               "state = \"state.sqlite\";\n"
	               "rules = \"rules\";\n"
	               "Send_Time = \"08:00\";\n",
	               4,
	               "unknown setting \"Send_Time\" in the main configuration; did you mean "
	               "\"send_time\"?");
}

/* Each of case_store, state and rules is required. */
static void
test_config_missing_required(void **state)
{
	struct fixture *fx = *state;
	static const char *const lines[] = {
	    "case_store = \"cases.sqlite\";\n",
	    "state = \"state.sqlite\";\n",
	    "rules = \"rules\";\n",
	};
	static const char *const names[] = {"case_store", "state", "rules"};

	for (int skip = 0; skip < 3; skip++) {
		char *contents = xstrdup("# no line for one key\n");
		char *want = xasprintf("missing setting \"%s\"", names[skip]);
		char *exact;

		for (int i = 0; i < 3; i++) {
			if (i != skip) {
				char *more = xasprintf("%s%s", contents, lines[i]);
				free(contents);
				contents = more;
			}
		}
		/* The root group has no line: the message is "file: missing setting". */
		expect_refused(fx, contents, 0, want);
		exact = xasprintf("%s: %s", fx->path, want);
		assert_string_equal(fx->d.v[0].text, exact);
		free(exact);
		free(want);
		free(contents);
	}
}

/* Settings of the wrong type are reported at their line with the type expected. */
static void
test_config_wrong_types(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		const char *line4;
		const char *text;
	} cases[] = {
	    {"contacts = \"iro\";\n", "\"contacts\" must be a group"},
	    {"holidays = 2026;\n", "\"holidays\" must be a list of file names"},
	    {"holidays = [ 2026 ];\n", "\"holidays\" entries must be file names in quotes"},
	    {"timezone = 1;\n", "\"timezone\" must be a string in double quotes, not an integer"},
	    {"send_time = 800;\n",
	     "\"send_time\" must be a string in double quotes, not an integer"},
	    {"poll_interval = \"60\";\n", "poll_interval must be a whole number of seconds"},
	    {"poll_interval = 1.5;\n", "poll_interval must be a whole number of seconds"},
	    {"contacts = { iro = \"iro@council.example\"; };\n", "contact \"iro\" must be a group"},
	    {"contacts = { iro = { email = 42; }; };\n",
	     "\"email\" must be a string in double quotes, not an integer"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *contents = xasprintf("case_store = \"cases.sqlite\";\n" /* 1 */
		                           "state = \"state.sqlite\";\n"      /* 2 */
		                           "rules = \"rules\";\n"             /* 3 */
		                           "%s",                              /* 4 */
		                           cases[i].line4);

		expect_refused(fx, contents, 4, cases[i].text);
		free(contents);
	}

	/* A required path of the wrong type, on line 1. */
	expect_refused(fx,
	               "case_store = 5;\n"
	               "state = \"state.sqlite\";\n"
	               "rules = \"rules\";\n",
	               1, "\"case_store\" must be a string in double quotes, not an integer");
	/* An empty required path, on line 2. */
	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n"
	               "state = \"\";\n"
	               "rules = \"rules\";\n",
	               2, "\"state\" must not be empty");
}

/* send_time must be exactly HH:MM within a day: "8:00", "24:00", "08:60" are refused. */
static void
test_config_bad_send_time(void **state)
{
	struct fixture *fx = *state;
	static const char *const bad[] = {"8:00", "24:00", "08:60", "", "08:00:00", "8am"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *contents = xasprintf("case_store = \"cases.sqlite\";\n"
		                           "state = \"state.sqlite\";\n"
		                           "rules = \"rules\";\n"
		                           "send_time = \"%s\";\n",
		                           bad[i]);
		char *want =
		    xasprintf("send_time \"%s\" is not a time; expected \"HH:MM\"", bad[i]);

		expect_refused(fx, contents, 4, want);
		free(want);
		free(contents);
	}
}

/* poll_interval must be 1..86400: 0 and 86401 are refused, the bounds accepted. */
static void
test_config_poll_interval_range(void **state)
{
	struct fixture *fx = *state;
	static const char base[] = "case_store = \"cases.sqlite\";\n"
	                           "state = \"state.sqlite\";\n"
	                           "rules = \"rules\";\n";
	char *contents;

	contents = xasprintf("%spoll_interval = 0;\n", base);
	expect_refused(fx, contents, 4, "poll_interval must be between 1 and 86400 seconds, not 0");
	free(contents);
	contents = xasprintf("%spoll_interval = 86401;\n", base);
	expect_refused(fx, contents, 4,
	               "poll_interval must be between 1 and 86400 seconds, not 86401");
	free(contents);
	contents = xasprintf("%spoll_interval = -5;\n", base);
	expect_refused(fx, contents, 4, "not -5");
	free(contents);
	contents = xasprintf("%spoll_interval = 9999999999L;\n", base);
	expect_refused(fx, contents, 4, "not 9999999999");
	free(contents);

	contents = xasprintf("%spoll_interval = 1;\n", base);
	assert_non_null(load(fx, contents));
	assert_int_equal(fx->cfg->poll_interval, 1);
	free(contents);
	contents = xasprintf("%spoll_interval = 86400;\n", base);
	assert_non_null(load(fx, contents));
	assert_int_equal(fx->cfg->poll_interval, 86400);
	free(contents);
}

/* A contact with both email and webhook, or with neither, is refused at the contact's line. */
static void
test_config_contact_both_or_neither(void **state)
{
	struct fixture *fx = *state;

	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n"                              /* 1 */
	               "state = \"state.sqlite\";\n"                                   /* 2 */
	               "rules = \"rules\";\n"                                          /* 3 */
	               "contacts = {\n"                                                /* 4 */
	               "  iro = { email = \"iro@council.example\"; };\n"               /* 5 */
	               "  hos = { email = \"hos@council.example\";\n"                  /* 6 */
	               "          webhook = \"https://hooks.council.example/h\"; };\n" /* 7 */
	               "};\n",                                                         /* 8 */
	               6,
	               "contact \"hos\" needs exactly one of email = \"...\", webhook = "
	               "\"https://...\", teams = \"https://...\", slack = \"https://...\" or "
	               "notify = { ... }");
	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n" /* 1 */
	               "state = \"state.sqlite\";\n"      /* 2 */
	               "rules = \"rules\";\n"             /* 3 */
	               "contacts = {\n"                   /* 4 */
	               "  iro = { };\n"                   /* 5 */
	               "};\n",                            /* 6 */
	               5, "contact \"iro\" needs exactly one of");
}

/* An email contact that is not an address is refused at the email line. */
static void
test_config_contact_bad_email(void **state)
{
	struct fixture *fx = *state;

	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n"       /* 1 */
	               "state = \"state.sqlite\";\n"            /* 2 */
	               "rules = \"rules\";\n"                   /* 3 */
	               "contacts = {\n"                         /* 4 */
	               "  iro = {\n"                            /* 5 */
	               "    email = \"IRO Service <iro@x>\";\n" /* 6 */
	               "  };\n"                                 /* 7 */
	               "};\n",                                  /* 8 */
	               6, "contact \"iro\": \"IRO Service <iro@x>\" is not an email address");
}

/* A webhook that is not http(s) is refused at the webhook line. */
static void
test_config_contact_bad_webhook(void **state)
{
	struct fixture *fx = *state;

	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n"                   /* 1 */
	               "state = \"state.sqlite\";\n"                        /* 2 */
	               "rules = \"rules\";\n"                               /* 3 */
	               "contacts = {\n"                                     /* 4 */
	               "  hos = {\n"                                        /* 5 */
	               "    webhook = \"ftp://hooks.council.example/h\";\n" /* 6 */
	               "  };\n"                                             /* 7 */
	               "};\n",                                              /* 8 */
	               6, "contact \"hos\": webhook must be an https:// URL with a host");
}

static void expect_not_in_diag(const struct fixture *fx, const char *text);

/*
 * A plain http:// webhook to another machine is an error, not a warning; a
 * user name in the URL is refused; http:// to this machine is accepted.
 */
static void
test_config_contact_webhook_http(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg;

	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n"                    /* 1 */
	               "state = \"state.sqlite\";\n"                         /* 2 */
	               "rules = \"rules\";\n"                                /* 3 */
	               "contacts = {\n"                                      /* 4 */
	               "  hos = {\n"                                         /* 5 */
	               "    webhook = \"http://hooks.council.example/h\";\n" /* 6 */
	               "  };\n"                                              /* 7 */
	               "};\n",                                               /* 8 */
	               6, "webhook must be an https:// URL (http:// only to this machine");
	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n"                                  /* 1 */
	               "state = \"state.sqlite\";\n"                                       /* 2 */
	               "rules = \"rules\";\n"                                              /* 3 */
	               "contacts = {\n"                                                    /* 4 */
	               "  hos = { webhook = \"http://127.0.0.1:443@evil.example/h\"; };\n" /* 5 */
	               "};\n",                                                             /* 6 */
	               5, "no user name or password");
	expect_not_in_diag(fx, "evil.example");
	cfg = load(fx, "case_store = \"cases.sqlite\";\nstate = \"state.sqlite\";\n"
	               "rules = \"rules\";\n"
	               "contacts = { hos = { webhook = \"http://127.0.0.1:8080/h\"; }; };\n");
	if (cfg == NULL)
		dump_diag(&fx->d);
	assert_non_null(cfg);
	assert_int_equal(fx->d.errors, 0);
}

/* An unknown key inside a contact is reported at its line with the keys expected. */
static void
test_config_contact_unknown_key(void **state)
{
	struct fixture *fx = *state;

	expect_refused(fx,
	               "case_store = \"cases.sqlite\";\n"       /* 1 */
	               "state = \"state.sqlite\";\n"            /* 2 */
	               "rules = \"rules\";\n"                   /* 3 */
	               "contacts = {\n"                         /* 4 */
	               "  iro = {\n"                            /* 5 */
	               "    email = \"iro@council.example\";\n" /* 6 */
	               "    phone = \"0115 000 0000\";\n"       /* 7 */
	               "  };\n"                                 /* 8 */
	               "};\n",                                  /* 9 */
	               7, "unknown setting \"phone\" in a contact; expected one of: ");
}

/* A bad timezone name (empty, absolute, with "..") is refused at its line. */
static void
test_config_bad_timezone(void **state)
{
	struct fixture *fx = *state;
	static const char *const bad[] = {"", "/etc/localtime", "../../etc/passwd"};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *contents = xasprintf("case_store = \"cases.sqlite\";\n"
		                           "state = \"state.sqlite\";\n"
		                           "rules = \"rules\";\n"
		                           "timezone = \"%s\";\n",
		                           bad[i]);

		expect_refused(fx, contents, 4, "is not a time zone name");
		free(contents);
	}
}

/* Every problem in one file is reported at once, each at its own line. */
static void
test_config_all_errors_reported(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load(fx, "case_store = \"cases.sqlite\";\n" /* 1 */
	                              "rules = \"rules\";\n"             /* 2 */
	                              "send_time = \"24:00\";\n"         /* 3 */
	                              "poll_interval = 0;\n"             /* 4 */
	                              "colour = \"blue\";\n"             /* 5 */
	                              "contacts = {\n"                   /* 6 */
	                              "  iro = { email = \"iro\"; };\n"  /* 7 */
	                              "};\n");                           /* 8 */

	assert_null(cfg);
	if (fx->d.errors != 5)
		dump_diag(&fx->d);
	assert_int_equal(fx->d.errors, 5);
	expect_error_at(fx, 0, "missing setting \"state\"");
	expect_error_at(fx, 3, "send_time \"24:00\" is not a time");
	expect_error_at(fx, 4, "not 0");
	expect_error_at(fx, 5, "unknown setting \"colour\"");
	expect_error_at(fx, 7, "\"iro\" is not an email address");
}

/* config_parse_hhmm: exactly HH:MM, 00:00 to 23:59. */
static void
test_config_parse_hhmm(void **state)
{
	static const char *const bad[] = {
	    "",       "8:00",   "08:0",  "24:00", "08:60", "99:99",    "08-00", "0800",
	    "08:00 ", " 08:00", "+8:00", "08:0a", "ab:cd", "08:00:00", "-1:00",
	};

	(void)state;
	assert_int_equal(config_parse_hhmm("00:00"), 0);
	assert_int_equal(config_parse_hhmm("08:00"), 480);
	assert_int_equal(config_parse_hhmm("07:30"), 450);
	assert_int_equal(config_parse_hhmm("12:05"), 725);
	assert_int_equal(config_parse_hhmm("23:59"), 1439);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (config_parse_hhmm(bad[i]) != -1)
			fail_msg("\"%s\" should not parse, got %d", bad[i],
			         config_parse_hhmm(bad[i]));
}

#define NOTIFY_SERVICE "26785a09-ab16-4eb0-8407-a37497a57506"
#define NOTIFY_KEY "escalator_live-" NOTIFY_SERVICE "-3d844edf-8d35-48ac-975b-e847b4f122b0"
#define CONFIG_HEAD "case_store = \"cases.sqlite\";\nstate = \"state.sqlite\";\nrules = \"r\";\n"

/* Write a secret file (mode 0600) into the scratch directory. */
static void
write_secret(const struct fixture *fx, const char *name, const char *value)
{
	char *path = testdir_write(fx->td, name, value);

	assert_int_equal(chmod(path, 0600), 0);
	free(path);
}

/* Assert that no diagnostic contains text (a secret or a credential-bearing URL). */
static void
expect_not_in_diag(const struct fixture *fx, const char *text)
{
	for (size_t i = 0; i < fx->d.n; i++)
		if (strstr(fx->d.v[i].text, text) != NULL) {
			dump_diag(&fx->d);
			fail_msg("a diagnostic repeats \"%s\"", text);
		}
}

/*
 * Secret files: owned by escalatord's user or root, group read allowed
 * (systemd's LoadCredential= shows as 0440), nothing for others, no group
 * write, never another owner. The secret is never in the message.
 */
static void
test_config_read_secret_modes(void **state)
{
	static const struct {
		mode_t mode;
		bool ok;
	} modes[] = {{0600, true},  {0400, true},  {0440, true},  {0640, true},
	             {0644, false}, {0604, false}, {0660, false}, {0602, false}};
	struct fixture *fx = *state;
	char *path = testdir_write(fx->td, "s.secret", "S3CRET-VALUE\n");
	char *out, *cause;

	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		out = cause = NULL;
		assert_int_equal(chmod(path, modes[i].mode), 0);
		if (config_read_secret(path, &out, &cause) != (modes[i].ok ? 0 : -1))
			fail_msg("mode %04o: %s", (unsigned)modes[i].mode,
			         cause ? cause : "accepted");
		if (modes[i].ok) {
			assert_string_equal(out, "S3CRET-VALUE");
		} else {
			assert_null(out);
			assert_non_null(strstr(cause, "chmod 600"));
			assert_null(strstr(cause, "S3CRET"));
		}
		free(out);
		free(cause);
	}
	/* Owned by someone else (only root can give a file away). */
	if (geteuid() == 0) {
		assert_int_equal(chmod(path, 0440), 0);
		assert_int_equal(chown(path, 0, 0), 0);
		out = cause = NULL;
		assert_int_equal(config_read_secret(path, &out, &cause), 0);
		free(out);
		assert_int_equal(chown(path, 4242, 0), 0);
		assert_int_equal(config_read_secret(path, &out, &cause), -1);
		assert_non_null(strstr(cause, "owned by uid 4242"));
		assert_null(strstr(cause, "S3CRET"));
		free(cause);
	}
	free(path);
}

/* Teams, Slack and Notify contacts: recorded by name, their URL and key kept aside. */
static void
test_config_channel_contacts(void **state)
{
	struct fixture *fx = *state;
	const struct contact *c;
	struct config *cfg;

	write_secret(fx, "notify.key", NOTIFY_KEY "\n");
	cfg = load(fx, CONFIG_HEAD
	           "max_per_destination = 2;\n"
	           "contacts = {\n"
	           "  managers = { teams = \"https://council.example/workflows/1?sig=abc\"; };\n"
	           "  team = { slack = \"https://hooks.slack.com/services/T0/B0/XYZ\"; };\n"
	           "  iro = { notify = { api_key_file = \"notify.key\";\n"
	           "    template_id = \"f33517ff-2a88-4f6e-b855-c550268ce08a\";\n"
	           "    email = \"iro.manager@council.example\"; }; };\n"
	           "  local = { notify = { api_key_file = \"notify.key\";\n"
	           "    template_id = \"F33517FF-2A88-4F6E-B855-C550268CE08A\";\n"
	           "    email = \"a@b.example\"; base_url = \"http://127.0.0.1:8080/\"; }; };\n"
	           "};\n");
	if (cfg == NULL)
		dump_diag(&fx->d);
	assert_non_null(cfg);
	assert_int_equal(fx->d.errors, 0);
	assert_int_equal(cfg->max_per_destination, 2);
	c = config_find_contact(cfg, "managers");
	assert_int_equal(c->kind, CHANNEL_TEAMS);
	assert_string_equal(c->address, "managers");
	assert_string_equal(c->url, "https://council.example/workflows/1?sig=abc");
	c = config_find_contact(cfg, "team");
	assert_int_equal(c->kind, CHANNEL_SLACK);
	assert_string_equal(c->address, "team");
	assert_string_equal(c->url, "https://hooks.slack.com/services/T0/B0/XYZ");
	c = config_find_contact(cfg, "iro");
	assert_int_equal(c->kind, CHANNEL_GOVUK_NOTIFY);
	assert_string_equal(c->address, "iro");
	assert_string_equal(c->email, "iro.manager@council.example");
	assert_string_equal(c->template_id, "f33517ff-2a88-4f6e-b855-c550268ce08a");
	assert_string_equal(c->url, GOVUK_NOTIFY_DEFAULT_URL);
	assert_string_equal(c->secret, NOTIFY_KEY);
	assert_string_equal(c->service_id, NOTIFY_SERVICE);
	c = config_find_contact(cfg, "local");
	assert_string_equal(c->url, "http://127.0.0.1:8080");

	/* Defaults. */
	cfg = load(fx, CONFIG_HEAD);
	assert_int_equal(cfg->max_per_destination, CONFIG_DEFAULT_MAX_PER_DESTINATION);
}

/* Channel contacts that are wrong are refused without repeating their URL or key. */
static void
test_config_channel_errors(void **state)
{
	struct fixture *fx = *state;

	expect_refused(fx,
	               CONFIG_HEAD
	               "contacts = {\n" /* 4 */
	               "  m = { teams = \"http://council.example/wf?sig=SIGSECRET\"; };\n"
	               "};\n",
	               5, "teams must be the https:// URL");
	expect_not_in_diag(fx, "SIGSECRET");
	expect_refused(fx,
	               CONFIG_HEAD "contacts = {\n"
	                           "  m = { slack = \"https://hooks.slack.com/services/T/B/X\";\n"
	                           "        secret_file = \"x\"; };\n" /* 6 */
	                           "};\n",
	               6, "secret_file only goes with webhook");
	expect_refused(fx,
	               CONFIG_HEAD
	               "contacts = {\n"
	               "  m = { slack = \"https://h/1\"; teams = \"https://h/2\"; };\n" /* 5 */
	               "};\n",
	               5, "needs exactly one of");

	write_secret(fx, "bad.key", "not-a-notify-key-KEYSECRET");
	expect_refused(fx,
	               CONFIG_HEAD "contacts = { n = { notify = {\n" /* 4 */
	                           "  api_key_file = \"bad.key\";\n" /* 5 */
	                           "  template_id = \"f33517ff-2a88-4f6e-b855-c550268ce08a\";\n"
	                           "  email = \"a@b.example\"; }; }; };\n",
	               5, "does not hold a GOV.UK Notify API key");
	expect_not_in_diag(fx, "KEYSECRET");

	write_secret(fx, "notify.key", NOTIFY_KEY);
	expect_refused(fx,
	               CONFIG_HEAD "contacts = { n = { notify = {\n"
	                           "  api_key_file = \"notify.key\";\n"
	                           "  template_id = \"welcome-email\";\n" /* 6 */
	                           "  email = \"a@b.example\"; }; }; };\n",
	               6, "template_id must be the template's id");
	expect_refused(fx,
	               CONFIG_HEAD "contacts = { n = { notify = {\n" /* 4 */
	                           "  template_id = \"f33517ff-2a88-4f6e-b855-c550268ce08a\";\n"
	                           "  email = \"a@b.example\"; }; }; };\n",
	               4, "notify needs api_key_file");
	/* A misspelt key: reported, and so is the missing one. */
	assert_null(load(fx,
	                 CONFIG_HEAD "contacts = { n = { notify = {\n"
	                             "  api_key_file = \"notify.key\";\n"
	                             "  template_id = \"f33517ff-2a88-4f6e-b855-c550268ce08a\";\n"
	                             "  emial = \"a@b.example\"; }; }; };\n")); /* 7 */
	expect_error_at(fx, 7, "unknown setting \"emial\" in a notify contact");
	expect_error_at(fx, 4, "missing setting \"email\"");
	expect_refused(fx,
	               CONFIG_HEAD "contacts = { n = { notify = {\n"
	                           "  api_key_file = \"notify.key\";\n"
	                           "  template_id = \"f33517ff-2a88-4f6e-b855-c550268ce08a\";\n"
	                           "  email = \"a@b.example\";\n"
	                           "  base_url = \"http://notify.example\"; }; }; };\n", /* 8 */
	               8, "base_url must be an https:// URL");
	expect_refused(fx, CONFIG_HEAD "contacts = { n = { notify = \"x\"; }; };\n", 4,
	               "notify must be a group");
	expect_refused(fx, CONFIG_HEAD "max_per_destination = 0;\n", 4,
	               "max_per_destination must be between 1 and 1000");
}

/* Exchange Online with OAuth 2.0: the token URL from the tenant, the scope, the mailbox. */
static void
test_config_xoauth2(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg;

	write_secret(fx, "client.secret", "cs~CLIENTSECRET\n");
	cfg = load(fx, CONFIG_HEAD "smtp = {\n"
	                           "  url = \"smtp://smtp.office365.com:587\";\n"
	                           "  auth = \"xoauth2\";\n"
	                           "  tenant = \"council.onmicrosoft.com\";\n"
	                           "  client_id = \"6731de76-14a6-49ae-97bc-6eba6914391e\";\n"
	                           "  client_secret_file = \"client.secret\";\n"
	                           "  from = \"escalator@council.example\";\n"
	                           "};\n");
	if (cfg == NULL)
		dump_diag(&fx->d);
	assert_non_null(cfg);
	assert_int_equal(cfg->smtp->auth, SMTP_AUTH_XOAUTH2);
	assert_string_equal(cfg->smtp->token_url, "https://login.microsoftonline.com/"
	                                          "council.onmicrosoft.com/oauth2/v2.0/token");
	assert_string_equal(cfg->smtp->scope, "https://outlook.office365.com/.default");
	assert_string_equal(cfg->smtp->client_secret, "cs~CLIENTSECRET");
	assert_string_equal(cfg->smtp->username, "escalator@council.example");
	assert_null(cfg->smtp->password);

	cfg =
	    load(fx, CONFIG_HEAD "smtp = {\n"
	                         "  url = \"smtp://127.0.0.1:2525\"; auth = \"xoauth2\";\n"
	                         "  client_id = \"app\"; client_secret_file = \"client.secret\";\n"
	                         "  token_url = \"http://127.0.0.1:8443/t/oauth2/v2.0/token\";\n"
	                         "  username = \"shared.mailbox@council.example\";\n"
	                         "  from = \"escalator@council.example\";\n"
	                         "};\n");
	assert_non_null(cfg);
	assert_string_equal(cfg->smtp->token_url, "http://127.0.0.1:8443/t/oauth2/v2.0/token");
	assert_string_equal(cfg->smtp->username, "shared.mailbox@council.example");

	/* A relay connector or direct send: no AUTH at all. */
	cfg = load(fx, CONFIG_HEAD "smtp = { url = \"smtp://council-example.mail.protection."
	                           "outlook.com:25\"; from = \"escalator@council.example\"; };\n");
	assert_non_null(cfg);
	assert_int_equal(cfg->smtp->auth, SMTP_AUTH_NONE);
}

/* xoauth2 settings that are wrong or missing; the client secret never appears. */
static void
test_config_xoauth2_errors(void **state)
{
	struct fixture *fx = *state;

	write_secret(fx, "client.secret", "cs~CLIENTSECRET");
	expect_refused(fx,
	               CONFIG_HEAD
	               "smtp = {\n" /* 4 */
	               "  url = \"smtp://h:587\"; auth = \"xoauth2\"; from = \"a@b.example\";\n"
	               "  client_id = \"app\"; client_secret_file = \"client.secret\";\n"
	               "};\n",
	               4, "needs tenant");
	expect_refused(fx,
	               CONFIG_HEAD
	               "smtp = {\n" /* 4 */
	               "  url = \"smtp://h:587\"; auth = \"xoauth2\"; from = \"a@b.example\";\n"
	               "  tenant = \"t\"; client_id = \"app\";\n"
	               "};\n",
	               4, "needs client_secret_file");
	expect_refused(fx,
	               CONFIG_HEAD
	               "smtp = {\n"
	               "  url = \"smtp://h:587\"; auth = \"xoauth2\"; from = \"a@b.example\";\n"
	               "  tenant = \"t\"; client_id = \"app\"; client_secret_file = "
	               "\"client.secret\";\n"
	               "  token_url = \"http://login.example/token\";\n" /* 7 */
	               "};\n",
	               7, "token_url must be an https:// URL");
	expect_refused(fx,
	               CONFIG_HEAD
	               "smtp = {\n"
	               "  url = \"smtp://h:587\"; auth = \"xoauth2\"; from = \"a@b.example\";\n"
	               "  tenant = \"bad tenant\"; client_id = \"app\";\n" /* 6 */
	               "  client_secret_file = \"client.secret\";\n"
	               "};\n",
	               6, "tenant must be the directory");
	expect_refused(fx,
	               CONFIG_HEAD
	               "smtp = {\n"
	               "  url = \"smtp://h:587\"; auth = \"xoauth2\"; from = \"a@b.example\";\n"
	               "  tenant = \"t\"; client_id = \"app\"; client_secret_file = "
	               "\"client.secret\";\n"
	               "  password_file = \"client.secret\";\n" /* 7 */
	               "};\n",
	               7, "password_file does not go with auth = \"xoauth2\"");
	expect_refused(fx,
	               CONFIG_HEAD
	               "smtp = {\n" /* 4 */
	               "  url = \"smtp://h:587\"; auth = \"xoauth2\"; from = \"a@b.example\";\n"
	               "  tenant = \"t\"; client_id = \"app\"; client_secret_file = "
	               "\"client.secret\";\n"
	               "  starttls = \"opportunistic\";\n"
	               "};\n",
	               4, "a bearer token could be sent without TLS");
	expect_refused(fx,
	               CONFIG_HEAD "smtp = {\n"
	                           "  url = \"smtp://h:587\"; from = \"a@b.example\";\n"
	                           "  tenant = \"t\";\n" /* 6 */
	                           "};\n",
	               6, "tenant only goes with auth = \"xoauth2\"");
	expect_refused(fx,
	               CONFIG_HEAD "smtp = {\n"
	                           "  url = \"smtp://h:587\"; from = \"a@b.example\";\n"
	                           "  auth = \"oauth\";\n" /* 6 */
	                           "};\n",
	               6, "smtp auth must be \"password\", \"xoauth2\" or \"none\"");
	expect_refused(fx,
	               CONFIG_HEAD "smtp = {\n"
	                           "  url = \"smtp://h:587\"; from = \"a@b.example\";\n"
	                           "  auth = \"password\";\n" /* 6 */
	                           "};\n",
	               6, "needs username");
	expect_not_in_diag(fx, "CLIENTSECRET");
}

/* Kind names, UUIDs and Notify keys. */
static void
test_config_channel_helpers(void **state)
{
	char *sid = NULL;

	for (int k = 0; k < CHANNEL_COUNT; k++)
		assert_int_equal(channel_parse(channel_name((enum channel)k)), k);
	assert_string_equal(channel_name(CHANNEL_GOVUK_NOTIFY), "notify");
	assert_int_equal(channel_parse("fax"), -1);
	assert_int_equal(channel_parse(NULL), -1);

	assert_true(govuk_valid_uuid("f33517ff-2a88-4f6e-b855-c550268ce08a"));
	assert_false(govuk_valid_uuid("f33517ff-2a88-4f6e-b855-c550268ce08"));
	assert_false(govuk_valid_uuid("f33517ff-2a88-4f6e-b855-c550268ce08aa"));
	assert_false(govuk_valid_uuid("f33517ff+2a88-4f6e-b855-c550268ce08a"));

	assert_int_equal(govuk_service_id(NOTIFY_KEY, &sid), 0);
	assert_string_equal(sid, NOTIFY_SERVICE);
	free(sid);
	assert_int_equal(govuk_service_id("x " NOTIFY_KEY, &sid), -1);
	assert_null(sid);
}

/* config_resolve_path: absolute paths and an empty or missing dir leave the path as it is. */
static void
test_config_resolve_path(void **state)
{
	static const struct {
		const char *dir, *path, *want;
	} cases[] = {
	    {"/etc/escalator", "rules", "/etc/escalator/rules"},
	    {"/etc/escalator", "../data/cases.sqlite", "/etc/escalator/../data/cases.sqlite"},
	    {"/etc/escalator", "/var/lib/state.sqlite", "/var/lib/state.sqlite"},
	    {".", "rules", "./rules"},
	    {"", "rules", "rules"},
	    {NULL, "rules", "rules"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *got = config_resolve_path(cases[i].dir, cases[i].path);

		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

/* Assert that a warning containing text was reported. */
static void
expect_warning(const struct fixture *fx, const char *text)
{
	for (size_t i = 0; i < fx->d.n; i++)
		if (fx->d.v[i].level == DIAG_WARNING && strstr(fx->d.v[i].text, text) != NULL)
			return;
	dump_diag(&fx->d);
	fail_msg("no warning containing \"%s\"", text);
}

/* No allowed_domains, no admin: --check warns about each; set, no warning. */
static void
test_config_unlimited(void **state)
{
	struct fixture *fx = *state;

	assert_non_null(load(fx, CONFIG_HEAD));
	assert_int_equal(fx->d.errors, 0);
	assert_int_equal(fx->d.warnings, 2);
	expect_warning(fx, "allowed_domains is not set: nothing limits where email alerts go");
	expect_warning(fx, "admin is not set: nobody will hear of alerts that cannot be delivered");

	assert_non_null(load(fx, CONFIG_HEAD "allowed_domains = [ \"council.example\" ];\n"
	                                     "admin = \"it\";\n"
	                                     "contacts = { it = { email = \"it@council.example\"; "
	                                     "}; };\n"));
	if (fx->d.n != 0)
		dump_diag(&fx->d);
	assert_int_equal(fx->d.n, 0);
	assert_true(config_domain_allowed(fx->cfg, "a.b@Social.Council.Example"));
	assert_false(config_domain_allowed(fx->cfg, "jane.smith@gmial.com"));
}

/* An email or Notify contact outside allowed_domains fails --check at its line. */
static void
test_config_contact_outside_allowed(void **state)
{
	struct fixture *fx = *state;

	write_secret(fx, "notify.key", NOTIFY_KEY "\n");
	assert_null(load(fx, CONFIG_HEAD "allowed_domains = [ \"anyshire.gov.uk\", \"nhs.net\" ];\n"
	                                 "contacts = {\n"
	                                 "  ok = { email = \"iro@mail.anyshire.gov.uk\"; };\n"
	                                 "  gp = { email = \"gp@nhs.net\"; };\n"
	                                 "  typo = { email = \"jane.smith@gmial.com\"; };\n"
	                                 "  lookalike = { email = \"x@evilanyshire.gov.uk\"; };\n"
	                                 "  iro = { notify = { api_key_file = \"notify.key\";\n"
	                                 "    template_id = "
	                                 "\"f33517ff-2a88-4f6e-b855-c550268ce08a\";\n"
	                                 "    email = \"iro@partner.example\"; }; };\n"
	                                 "};\n"));
	assert_int_equal(fx->d.errors, 3);
	expect_error_at(fx, 8,
	                "contact \"typo\": \"jane.smith@gmial.com\" is not in allowed_domains");
	expect_error_at(fx, 8, "gmial.com");
	expect_error_at(fx, 9, "contact \"lookalike\"");
	expect_error_at(fx, 12,
	                "contact \"iro\": \"iro@partner.example\" is not in allowed_domains");
}

/* max_store_age and freshness_query: read, and their defaults (nothing checked). */
static void
test_config_max_store_age(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg = load(fx, CONFIG_HEAD);

	assert_non_null(cfg);
	assert_int_equal(cfg->max_store_age, 0);
	assert_null(cfg->max_store_age_text);
	assert_null(cfg->freshness_query);
	cfg = load(fx, CONFIG_HEAD
	           "max_store_age = \"26 hours\";\n"
	           "freshness_query = \"SELECT max(extracted_at) FROM extract_log\";\n");
	assert_non_null(cfg);
	assert_int_equal(cfg->max_store_age, 26 * 3600);
	assert_string_equal(cfg->max_store_age_text, "26 hours");
	assert_string_equal(cfg->freshness_query, "SELECT max(extracted_at) FROM extract_log");
	assert_int_equal(cfg->freshness_query_line, 5);
	cfg = load(fx, CONFIG_HEAD "max_store_age = \"3 days\";\n");
	assert_non_null(cfg);
	assert_int_equal(cfg->max_store_age, 3 * 86400);
	assert_null(cfg->freshness_query);
}

/* Each mistake in max_store_age or freshness_query is one error at its line. */
static void
test_config_max_store_age_errors(void **state)
{
	struct fixture *fx = *state;

	expect_refused(fx, CONFIG_HEAD "max_store_age = \"26 hous\";\n", 4,
	               "max_store_age \"26 hous\": unknown unit \"hous\"; did you mean "
	               "\"hours\"?");
	expect_refused(fx, CONFIG_HEAD "max_store_age = \"2 fortnights\";\n", 4,
	               "expected minutes, hours, days or weeks");
	expect_refused(
	    fx, CONFIG_HEAD "max_store_age = 26;\n", 4,
	    "max_store_age must be an age in quotes, e.g. max_store_age = \"26 hours\";");
	expect_refused(fx, CONFIG_HEAD "max_store_age = \"0 days\";\n", 4, "out of range");
	expect_refused(fx, CONFIG_HEAD "max_store_age = \"3 working days\";\n", 4,
	               "not working days");
	expect_refused(fx, CONFIG_HEAD "freshness_query = \"SELECT 1\";\n", 4,
	               "freshness_query goes with max_store_age");
	expect_refused(fx, CONFIG_HEAD "max_store_age = \"1 day\";\nfreshness_query = \"\";\n", 5,
	               "freshness_query is empty");
	expect_refused(fx, CONFIG_HEAD "max_store_age = \"1 day\";\nfreshness_query = 1;\n", 5,
	               "freshness_query");
	expect_refused(fx, CONFIG_HEAD "max_stor_age = \"1 day\";\n", 4,
	               "did you mean \"max_store_age\"?");
}

/*
 * config_load_public reads no secret file: a password file the service's
 * checks refuse (others can read it) loads, its secret left NULL, and the
 * rest is checked as ever.
 */
static void
test_config_load_public(void **state)
{
	struct fixture *fx = *state;
	const char *text = CONFIG_HEAD "smtp = { url = \"smtp://mail.example:587\";\n"
	                               "  from = \"e@council.example\"; username = \"u\";\n"
	                               "  password_file = \"pw\"; };\n";
	char *pw = testdir_write(fx->td, "pw", "PASSWORD\n");

	assert_int_equal(chmod(pw, 0644), 0);
	assert_null(load(fx, text));
	expect_error_at(fx, 6, "can be read by others");
	diag_free(&fx->d);
	fx->cfg = config_load_public(fx->path, &fx->d);
	assert_non_null(fx->cfg);
	assert_int_equal(fx->d.errors, 0);
	assert_true(fx->cfg->without_secrets);
	assert_non_null(fx->cfg->smtp);
	assert_null(fx->cfg->smtp->password);
	expect_not_in_diag(fx, "PASSWORD");
	config_free(fx->cfg);
	/* Other mistakes are still found. */
	free(testdir_write(fx->td, "escalator.conf", CONFIG_HEAD "send_time = \"8am\";\n"));
	diag_free(&fx->d);
	fx->cfg = config_load_public(fx->path, &fx->d);
	assert_null(fx->cfg);
	assert_int_equal(fx->d.errors, 1);
	free(pw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_full_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_explicit_settings, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_missing_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_syntax_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_unknown_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_missing_required, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_wrong_types, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_bad_send_time, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_poll_interval_range, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_contact_both_or_neither, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_contact_bad_email, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_contact_webhook_http, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_read_secret_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_contact_bad_webhook, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_contact_unknown_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_bad_timezone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_all_errors_reported, setup, teardown),
	    cmocka_unit_test(test_config_parse_hhmm),
	    cmocka_unit_test(test_config_resolve_path),
	    cmocka_unit_test_setup_teardown(test_config_channel_contacts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_channel_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_xoauth2, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_xoauth2_errors, setup, teardown),
	    cmocka_unit_test(test_config_channel_helpers),
	    cmocka_unit_test_setup_teardown(test_config_unlimited, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_contact_outside_allowed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_max_store_age, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_max_store_age_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_load_public, setup, teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
