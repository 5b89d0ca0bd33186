/* main.c - escalatord: options and modes. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <jansson.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "answers.h"
#include "clock.h"
#include "command.h"
#include "daemon.h"
#include "engine.h"
#include "evaluate.h"
#include "log.h"
#include "rename_check.h"
#include "utf8.h"
#include "db_pg.h"
#include "statestore.h"
#include "xalloc.h"

#ifndef ESCALATOR_VERSION
#define ESCALATOR_VERSION "0"
#endif
#ifndef ESCALATOR_SYSCONFDIR
#define ESCALATOR_SYSCONFDIR "/etc/escalator"
#endif

#define EXIT_CONFIG 1 /* configuration error or runtime failure */
#define EXIT_USAGE 2  /* bad command line */

struct options {
	const char *config;
	bool check;
	bool once;
	bool dry_run;
	const char *now;
	/* A read-only subcommand (explain, preview, status) and what goes with it. */
	int (*command_fn)(const struct command *c);
	const char *command_name;
	struct command command;
	const char **holidays;
	bool report_opts; /* an option of report was given */
};

/* Print the usage message. */
static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: escalatord [-c FILE] [--check | --once [--dry-run] [--now TIME]]\n"
	    "       escalatord [-c FILE] explain RULE CASE [--now TIME] [--json]\n"
	    "       escalatord [-c FILE] preview [--rules DIR] [--holidays FILE]... [--now TIME]\n"
	    "                                    [--json]\n"
	    "       escalatord [-c FILE] status [--json]\n"
	    "       escalatord [-c FILE] report [--from DATE] [--to DATE] [--by PERIOD]\n"
	    "                                   [--format FORMAT] [--table NAME] [--now TIME]\n"
	    "       escalatord [-c FILE] report --footprint [--from DATE] [--to DATE] [--case "
	    "REF]\n"
	    "\n"
	    "  -c, --config FILE  main configuration (default %s/escalator.conf)\n"
	    "      --check        validate the configuration, rule files, holiday files and\n"
	    "                     every query against the case store, then exit\n"
	    "      --once         evaluate once, record and print each alert owed as JSON\n"
	    "      --dry-run      with --once: print only, record nothing\n"
	    "      --now TIME     with --once, explain, preview, report: as of this local time\n"
	    "                     (YYYY-MM-DDTHH:MM:SS)\n"
	    "\n"
	    "  explain RULE CASE  why the case's clock of RULE is due when it is: start, due\n"
	    "                     date, days skipped, each stage, what was sent, what is next\n"
	    "  preview            what the rules on disk (or --rules DIR, --holidays FILE)\n"
	    "                     would change against what the service runs: due dates\n"
	    "                     that move, alerts newly owed or no longer owed, re-sends\n"
	    "  status             the last pass, the outbox, recent failures, the case\n"
	    "                     store's age, the rules loaded\n"
	    "      --json         explain, preview, status: one JSON document instead of text\n"
	    "  report             the annual report's figures: each rule's timeliness per\n"
	    "                     period against its target (from its history query), clocks\n"
	    "                     open and overdue, alerts by rule, stage and recipient,\n"
	    "                     clocks closed, answers, practice resolution by stage and theme\n"
	    "      --from DATE    first day (YYYY-MM-DD); default: the last whole financial\n"
	    "      --to DATE      year, 1 April to 31 March; one alone gives 12 months\n"
	    "      --by PERIOD    month, quarter (default) or year, from --from\n"
	    "      --format F     text (default), csv, json or html (one page to print)\n"
	    "      --table NAME   with csv: timeliness (default), open, alerts, recipients,\n"
	    "                     closed, answers or practice\n"
	    "      --footprint    one CSV row per alert in the range: clock, stage, dates,\n"
	    "                     recipients, delivery results, answers (--case REF: one case)\n"
	    "  These four read the state store and record nothing; they are safe to run\n"
	    "  next to the service as any user who can read its files.\n"
	    "\n"
	    "  -v, --verbose      log debugging detail\n"
	    "  -h, --help         show this help\n"
	    "  -V, --version      show the version\n",
	    ESCALATOR_SYSCONFDIR);
}

/* The read-only subcommands: name, words after it, function. */
static const struct {
	const char *name;
	size_t nargs;
	const char *args;
	int (*fn)(const struct command *c);
} commands[] = {
    {"explain", 2, "RULE CASE", explain_main},
    {"preview", 0, "", preview_main},
    {"status", 0, "", status_main},
    {"report", 0, "", report_main},
};

/* argv[optind] names a subcommand: check it and what goes with it; exits on a usage error. */
static void
parse_command(int argc, char **argv, struct options *o)
{
	const char *name = argv[optind];
	size_t i, n = (size_t)(argc - optind - 1);

	for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(commands[i].name, name) == 0)
			break;
	if (i == sizeof commands / sizeof commands[0]) {
		fprintf(stderr,
		        "escalatord: unknown command \"%s\"; the commands are explain, "
		        "preview, status and report\n",
		        name);
		usage(stderr);
		exit(EXIT_USAGE);
	}
	if (n != commands[i].nargs) {
		fprintf(stderr, "escalatord: usage: escalatord [-c FILE] %s%s%s\n", name,
		        commands[i].nargs ? " " : "", commands[i].args);
		exit(EXIT_USAGE);
	}
	if (o->check || o->once || o->dry_run) {
		fprintf(stderr, "escalatord: %s does not go with --check, --once or --dry-run\n",
		        name);
		exit(EXIT_USAGE);
	}
	if ((o->command.rules_dir || o->command.nholidays > 0) && commands[i].fn != preview_main) {
		fprintf(stderr, "escalatord: --rules and --holidays go with preview\n");
		exit(EXIT_USAGE);
	}
	if (o->report_opts && commands[i].fn != report_main) {
		fprintf(stderr,
		        "escalatord: --from, --to, --by, --format, --table, --footprint and "
		        "--case go with report\n");
		exit(EXIT_USAGE);
	}
	if (o->command.json && commands[i].fn == report_main) {
		fprintf(stderr, "escalatord: report: write --format json\n");
		exit(EXIT_USAGE);
	}
	if (o->now != NULL && commands[i].fn == status_main) {
		fprintf(stderr, "escalatord: status shows how things stand now; --now does not go "
		                "with it\n");
		exit(EXIT_USAGE);
	}
	o->command_fn = commands[i].fn;
	o->command_name = name;
	o->command.args = (const char *const *)&argv[optind + 1];
	o->command.nargs = n;
}

/* Parse the command line; exits on a usage error. */
static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check", no_argument, NULL, 'k'},
	    {"once", no_argument, NULL, 'o'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"now", required_argument, NULL, 't'},
	    {"json", no_argument, NULL, 'j'},
	    {"rules", required_argument, NULL, 'r'},
	    {"holidays", required_argument, NULL, 'H'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {"from", required_argument, NULL, 'F'},
	    {"to", required_argument, NULL, 'T'},
	    {"by", required_argument, NULL, 'B'},
	    {"format", required_argument, NULL, 'f'},
	    {"table", required_argument, NULL, 'b'},
	    {"footprint", no_argument, NULL, 'p'},
	    {"case", required_argument, NULL, 'C'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	memset(o, 0, sizeof *o);
	o->config = ESCALATOR_SYSCONFDIR "/escalator.conf";
	while ((ch = getopt_long(argc, argv, "c:vhV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'k':
			o->check = true;
			break;
		case 'o':
			o->once = true;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case 't':
			o->now = optarg;
			break;
		case 'j':
			o->command.json = true;
			break;
		case 'r':
			o->command.rules_dir = optarg;
			break;
		case 'H':
			o->holidays = xreallocarray(o->holidays, o->command.nholidays + 1,
			                            sizeof *o->holidays);
			o->holidays[o->command.nholidays++] = optarg;
			break;
		case 'F':
			o->command.from = optarg;
			o->report_opts = true;
			break;
		case 'T':
			o->command.to = optarg;
			o->report_opts = true;
			break;
		case 'B':
			o->command.by = optarg;
			o->report_opts = true;
			break;
		case 'f':
			o->command.format = optarg;
			o->report_opts = true;
			break;
		case 'b':
			o->command.table = optarg;
			o->report_opts = true;
			break;
		case 'p':
			o->command.footprint = true;
			o->report_opts = true;
			break;
		case 'C':
			o->command.case_ref = optarg;
			o->report_opts = true;
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("escalatord %s\n", ESCALATOR_VERSION);
			exit(0);
		default:
			usage(stderr);
			exit(EXIT_USAGE);
		}
	}
	if (optind != argc)
		parse_command(argc, argv, o);
	else if (o->report_opts) {
		fprintf(stderr,
		        "escalatord: --from, --to, --by, --format, --table, --footprint and "
		        "--case go with report\n");
		exit(EXIT_USAGE);
	} else if (o->command.json || o->command.rules_dir || o->command.nholidays > 0) {
		fprintf(stderr,
		        "escalatord: --json, --rules and --holidays go with explain, preview "
		        "or status\n");
		exit(EXIT_USAGE);
	}
	if (o->check && o->once) {
		fprintf(stderr, "escalatord: --check and --once cannot be used together\n");
		exit(EXIT_USAGE);
	}
	if (o->dry_run && !o->once) {
		fprintf(stderr, "escalatord: --dry-run only goes with --once\n");
		exit(EXIT_USAGE);
	}
	if (o->now && !o->once && o->command_fn == NULL) {
		fprintf(stderr, "escalatord: --now goes with --once, explain, preview or report\n");
		exit(EXIT_USAGE);
	}
}

/* A JSON string for a value that may come from the case store. */
static json_t *
json_text(const char *s)
{
	char *clean = utf8_sanitize(s);
	json_t *j = json_string(clean);

	free(clean);
	return j;
}

/*
 * The answers to a's clock so far (delivery_responses_json, amended ones
 * marked), or NULL when there are none (the key is then left out, as
 * "copied" is) or the state store is not at hand.
 */
static json_t *
once_responses(struct statestore *ss, const struct alert *a)
{
	struct delivery *d;
	char start[DATE_STRLEN];
	json_t *j = NULL;

	if (ss == NULL)
		return NULL;
	d = xcalloc(1, sizeof *d);
	if (answers_of_clock(ss, a->rule->id, a->case_ref, date_format(a->start, start), d) != 0)
		log_warn("rule=%s: cannot read the answers to a clock for --once", a->rule->id);
	else if (d->nresponses > 0)
		j = delivery_responses_json(d);
	delivery_free(d);
	return j;
}

/* Print one alert owed as a JSON line; arg is the state store (or NULL). */
static void
print_alert_cb(void *arg, const struct alert *a, long long alert_id)
{
	char due[DATE_STRLEN], fires[DATETIME_STRLEN];
	json_t *responses = once_responses(arg, a);
	json_t *o = json_object(), *rc = json_array();
	char *line;

	json_object_set_new(o, "rule", json_string(a->rule->id));
	json_object_set_new(o, "title", json_text(a->rule->title));
	json_object_set_new(o, "case", json_text(a->case_ref));
	json_object_set_new(o, "stage", json_string(a->rule->stages[a->stage].name));
	json_object_set_new(o, "due", json_string(date_format(a->due, due)));
	json_object_set_new(o, "fires", json_string(localtime_format(a->fires, fires)));
	for (size_t i = 0; i < a->nrecipients; i++)
		json_array_append_new(rc, json_text(a->recipients[i].address));
	json_object_set_new(o, "recipients", rc);
	/* Told late, because escalator first saw the clock after their stage (skipped now). */
	if (a->ncopied > 0) {
		json_t *cp = json_array();

		for (size_t i = 0; i < a->ncopied; i++)
			json_array_append_new(cp, json_text(a->copied[i].address));
		json_object_set_new(o, "copied", cp);
	}
	/* The answers to the clock so far: who, when, what (the council's own output). */
	if (responses != NULL)
		json_object_set_new(o, "responses", responses);
	if (a->rule->kind == RULE_THRESHOLD)
		json_object_set_new(o, "value",
		                    a->value == (double)(json_int_t)a->value
		                        ? json_integer((json_int_t)a->value)
		                        : json_real(a->value));
	line = json_dumps(o, JSON_PRESERVE_ORDER);
	if (line == NULL)
		fatalx("cannot encode an alert as JSON");
	puts(line);
	free(line);
	json_decref(o);
}

/*
 * A state store on PostgreSQL: can escalatord reach it, and is its database
 * one it can keep case references in? (A file is made at the first start.)
 * 0, or -1 with the error added to d.
 */
static int
check_state_server(struct engine *e, struct diag *d)
{
	const struct config *cfg = engine_config(e);
	struct statestore *ss;
	char *cause = NULL;

	if (!db_pg_is_url(cfg->state))
		return 0;
	if ((ss = statestore_open(cfg->state, true, &cause)) == NULL) {
		diag_add(d, DIAG_ERROR, "%s: state: %s", cfg->path, cause);
		free(cause);
		return -1;
	}
	statestore_close(ss);
	return 0;
}

/* --check: validate everything and say so. */
static int
run_check(const struct options *o)
{
	struct diag d;
	struct engine *e;

	diag_init(&d);
	e = engine_load(o->config, &d);
	if (e != NULL) {
		engine_activate(e);
		engine_check_calendar(e, (date_t)(clock_local(clock_now(), NULL) / 1440), &d);
		if (check_state_server(e, &d) == 0)
			rename_check(e, &d);
	}
	for (size_t i = 0; i < d.n; i++) {
		if (d.v[i].level == DIAG_ERROR)
			fprintf(stderr, "%s\n", d.v[i].text);
		else
			fprintf(stderr, "warning: %s\n", d.v[i].text);
	}
	if (e == NULL || d.errors > 0) {
		/* The last line answers the check, as "configuration OK" does. */
		fprintf(stderr, "%zu error%s\n", d.errors, d.errors == 1 ? "" : "s");
		engine_free(e);
		diag_free(&d);
		return EXIT_CONFIG;
	}
	printf("configuration OK\n");
	log_info("%zu rule%s from %zu file%s, %d holidays covering %d-%d", engine_rules(e)->nrules,
	         engine_rules(e)->nrules == 1 ? "" : "s", engine_rules(e)->nfiles,
	         engine_rules(e)->nfiles == 1 ? "" : "s", calendar_count(engine_calendar(e)),
	         calendar_first_year(engine_calendar(e)), calendar_last_year(engine_calendar(e)));
	engine_free(e);
	diag_free(&d);
	return 0;
}

/* --once: evaluate once, record unless --dry-run, print each alert owed. */
static int
run_once(const struct options *o)
{
	struct evaluate_stats stats;
	struct statestore *ss;
	struct engine *e;
	struct diag d;
	localtime_min_t now;
	char *cause = NULL;
	int sec = 0, rc;

	diag_init(&d);
	e = engine_load(o->config, &d);
	log_diag(&d);
	if (e == NULL) {
		log_err("%s: configuration has %zu error%s; run escalatord --check for details",
		        o->config, d.errors, d.errors == 1 ? "" : "s");
		diag_free(&d);
		return EXIT_CONFIG;
	}
	diag_free(&d);
	engine_activate(e);
	/* One JSON object per line, even when piped next to other output. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o->now != NULL) {
		if (localtime_parse(o->now, &now, &sec) != 0) {
			log_err("--now \"%s\" is not a time; expected YYYY-MM-DDTHH:MM:SS", o->now);
			engine_free(e);
			return EXIT_USAGE;
		}
		clock_fix(clock_instant(now, sec));
	} else
		now = clock_local(clock_now(), NULL);

	if (!o->dry_run) {
		/* A one-shot run has nothing to reload: a stray SIGHUP must not end it. */
		signal(SIGHUP, SIG_IGN);
		rc = daemon_run(o->config, e, true, print_alert_cb);
		fflush(stdout);
		return rc;
	}
	if ((ss = statestore_open(engine_config(e)->state, true, &cause)) == NULL) {
		log_err("%s", cause);
		free(cause);
		engine_free(e);
		return EXIT_CONFIG;
	}
	rc = evaluate_pass(e, ss, now, print_alert_cb, ss, &stats, &cause);
	fflush(stdout);
	if (rc != 0) {
		log_err("%s; nothing from this evaluation was recorded", cause);
		free(cause);
	} else {
		log_info("evaluated clocks=%lld alerts=%lld skipped_rows=%lld failed_rules=%lld%s",
		         stats.clocks, stats.alerts, stats.skipped_rows, stats.failed_rules,
		         " dry_run=yes");
	}
	statestore_close(ss);
	engine_free(e);
	if (rc != 0)
		return EXIT_CONFIG;
	return stats.failed_rules > 0 ? EXIT_CONFIG : 0;
}

/* The long-running service. */
static int
run_daemon(const struct options *o)
{
	struct engine *e;
	struct diag d;

	diag_init(&d);
	e = engine_load(o->config, &d);
	log_diag(&d);
	if (e == NULL) {
		log_err("%s has %zu error%s; not starting (run escalatord --check -c %s)",
		        o->config, d.errors, d.errors == 1 ? "" : "s", o->config);
		diag_free(&d);
		return EXIT_CONFIG;
	}
	diag_free(&d);
	engine_activate(e);
	return daemon_run(o->config, e, false, NULL);
}

/*
 * Before anything is read or written: files escalatord creates (the state store, its
 * WAL and journal files) are private to its user whatever umask it was started with,
 * and a crash leaves no core file holding case data or secrets, nor can another process
 * of the same user read its memory (ptrace, /proc/PID/mem and environ need root).
 */
static void
process_setup(void)
{
	struct rlimit no_core = {0, 0};

	umask(077);
	/* A seccomp filter may refuse setrlimit: then the limit must already be 0 (LimitCORE=0). */
	if (setrlimit(RLIMIT_CORE, &no_core) != 0 &&
	    (getrlimit(RLIMIT_CORE, &no_core) != 0 || no_core.rlim_cur != 0))
		fatalx("cannot turn core dumps off: setrlimit(RLIMIT_CORE): %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fatalx("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
}

int
main(int argc, char **argv)
{
	struct options o;

	process_setup();

	/*
	 * A pass that records many alerts frees and reallocates SQLite's buffers all the
	 * time; glibc's default trimming then shrinks and regrows the heap with brk for each,
	 * which dominated a large first pass. Keep a little slack instead.
	 */
	mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
	mallopt(M_TOP_PAD, 4 * 1024 * 1024);
	log_init();
	parse_options(argc, argv, &o);
	if (o.command_fn != NULL) {
		int rc;

		o.command.config = o.config;
		o.command.now = o.now;
		o.command.holidays = o.holidays;
		rc = o.command_fn(&o.command);
		free(o.holidays);
		return rc;
	}
	if (o.check)
		return run_check(&o);
	if (o.once)
		return run_once(&o);
	return run_daemon(&o);
}
