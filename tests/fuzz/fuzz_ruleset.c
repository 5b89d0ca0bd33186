/*
 * fuzz_ruleset.c - a rule file (the input) loaded with ruleset_load_file:
 * libconfig parsing, rule validation, durations, notify resolution and
 * template compilation. Loaded twice: once with no query compiler (compile =
 * NULL, as the brief asks) and once with a stand-in compiler that takes the
 * column names from the SELECT list, so that the column-dependent checks and
 * the templates are reached too. Every rule that loads is then checked for the
 * invariants the daemon relies on, rendered and evaluated once.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "calendar.h"
#include "eval.h"
#include "fuzz_common.h"
#include "rulediff.h"
#include "ruleset.h"
#include "template.h"
#include "diag.h"

/* The main configuration's contacts a rule's notify may name. */
static const struct {
	const char *name;
	enum channel ch;
	const char *address;
} contacts[] = {
    {"iro", CHANNEL_EMAIL, "iro-service@council.example"},
    {"service_manager", CHANNEL_EMAIL, "sm@council.example"},
    {"head_of_service", CHANNEL_EMAIL, "hos@council.example"},
    {"iro_alerts", CHANNEL_WEBHOOK, "https://hooks.council.example/iro"},
};

/* The contacts above as the configuration hands them to the rule loader. */
static int
fake_contact(void *arg, const char *name, enum channel *ch, const char **address)
{
	for (size_t i = 0; i < sizeof contacts / sizeof contacts[0]; i++)
		if (strcmp(contacts[i].name, name) == 0) {
			*ch = contacts[i].ch;
			*address = contacts[i].address;
			return 0;
		}
	return -1;
}

/* Most columns a stand-in query may return. */
#define MAX_COLUMNS 32

/*
 * A stand-in for casestore_compile: only statements starting with SELECT are
 * accepted, and the columns are the last word of each comma-separated item
 * between SELECT and FROM ("a AS case_ref, b start, team_manager_email").
 */
static int
fake_compile(void *arg, const char *sql, char ***columns, size_t *ncolumns, char **cause)
{
	const char *p = sql, *end;
	char **cols;
	size_t n = 0;

	(void)arg;
	while (isspace((unsigned char)*p))
		p++;
	if (strncasecmp(p, "select", 6) != 0 || !isspace((unsigned char)p[6])) {
		*cause = xstrdup("only a single SELECT statement is allowed");
		return -1;
	}
	p += 7;
	end = strcasestr(p, " from ");
	if (end == NULL)
		end = p + strlen(p);
	cols = xcalloc(MAX_COLUMNS, sizeof *cols);
	while (p < end && n < MAX_COLUMNS) {
		const char *comma = memchr(p, ',', (size_t)(end - p)), *stop = comma ? comma : end;
		const char *e = stop, *b;

		while (e > p && !(isalnum((unsigned char)e[-1]) || e[-1] == '_'))
			e--;
		for (b = e; b > p && (isalnum((unsigned char)b[-1]) || b[-1] == '_'); b--)
			;
		if (b == e) {
			for (size_t i = 0; i < n; i++)
				free(cols[i]);
			free(cols);
			*cause = xstrdup("syntax error in the SELECT list");
			return -1;
		}
		cols[n++] = xstrndup(b, (size_t)(e - b));
		p = comma ? comma + 1 : end;
	}
	*columns = cols;
	*ncolumns = n;
	return 0;
}

/* Render every template of r with made-up values (ASan/UBSan watch). */
static void
render_all(const struct rule *r)
{
	size_t nvalues = TPL_NBUILTIN + r->ncolumns;
	const char **values = xcalloc(nvalues, sizeof *values);
	const struct template *ts[3] = {r->subject, r->body, r->expected};

	for (size_t i = 0; i < nvalues; i++)
		values[i] = i % 3 == 0 ? NULL : "v\xc3\xa9{{case}}";
	for (size_t i = 0; i < 3; i++) {
		char *s;

		if (ts[i] == NULL)
			continue;
		s = template_render(ts[i], values);
		free(s);
	}
	for (size_t i = 0; i < r->nstages; i++) {
		if (r->stages[i].expected != NULL)
			free(template_render(r->stages[i].expected, values));
	}
	free(values);
}

/*
 * eval_hold_until for a stage dated stage and agreed dates around it: never
 * before the stage; a stage after the agreed date (or a rule without hold)
 * waits for nothing; a held one waits past the agreed date or until its cap.
 */
static void
check_hold(const struct rule *r, const struct calendar *cal, date_t stage)
{
	static const int offsets[] = {-3, -1, 0, 1, 2, 7, 30, 400};

	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		date_t agreed = stage + offsets[i];
		date_t until = eval_hold_until(r, cal, stage, agreed);
		date_t cap = duration_apply(&r->max_hold, cal, stage);

		FUZZ_CHECK(until >= stage, "rule %s: held until before the stage", r->id);
		if (!r->hold || agreed < stage)
			FUZZ_CHECK(until == stage, "rule %s: held when it may not be", r->id);
		else
			FUZZ_CHECK(
			    until > agreed || until >= cap,
			    "rule %s: hold ends on or before the agreed date, before its cap",
			    r->id);
	}
}

/* The invariants of one loaded rule. */
static void
check_rule(const struct ruleset *rs, size_t k, bool compiled, const struct calendar *cal)
{
	const struct rule *r = &rs->rules[k];
	char buf[64];

	FUZZ_CHECK(r->id != NULL && ruleset_valid_id(r->id), "rule %zu has id %s", k,
	           r->id ? r->id : "(null)");
	for (size_t j = 0; j < k; j++)
		FUZZ_CHECK(strcmp(rs->rules[j].id, r->id) != 0, "rule id %s loaded twice", r->id);
	FUZZ_CHECK(r->title != NULL && *r->title != '\0' && strpbrk(r->title, "\r\n") == NULL,
	           "rule %s: bad title", r->id);
	FUZZ_CHECK(r->query != NULL, "rule %s: no query", r->id);
	FUZZ_CHECK(r->nstages >= 1 && r->stages != NULL, "rule %s: %zu stages", r->id, r->nstages);
	if (r->kind == RULE_THRESHOLD)
		FUZZ_CHECK(r->nstages == 1, "threshold rule %s: %zu stages", r->id, r->nstages);
	for (size_t i = 0; i < r->nstages; i++) {
		const struct stage *st = &r->stages[i];

		FUZZ_CHECK(st->name != NULL && rule_stage_index(r, st->name) == (int)i,
		           "rule %s: stage %zu name", r->id, i);
		FUZZ_CHECK(st->nnotify >= 1, "rule %s: stage %s notifies nobody", r->id, st->name);
		for (size_t j = 0; j < st->nnotify; j++) {
			const struct notify_ref *ref = &st->notify[j];

			FUZZ_CHECK(ref->name != NULL && *ref->name != '\0', "rule %s: notify name",
			           r->id);
			FUZZ_CHECK(ref->column < (int)r->ncolumns,
			           "rule %s: notify column %d of %zu", r->id, ref->column,
			           r->ncolumns);
			if (compiled)
				FUZZ_CHECK(ref->column >= 0 || ref->address != NULL,
				           "rule %s: notify \"%s\" resolves to nothing", r->id,
				           ref->name);
		}
		duration_format(&st->at, buf, sizeof buf);
		if (i > 0 && r->kind == RULE_CLOCK && st->at.unit == r->stages[i - 1].at.unit)
			FUZZ_CHECK(st->at.n > r->stages[i - 1].at.n,
			           "rule %s: stage %s is not after the one before", r->id,
			           st->name);
	}
	duration_format(&r->due, buf, sizeof buf);
	/*
	 * renamed_from: an old stage name is no stage of the rule and maps to its stage; an
	 * old id is no rule's id. A rule compared with itself has no change.
	 */
	for (size_t i = 0; i < r->nstages; i++)
		for (size_t j = 0; j < r->stages[i].nrenamed; j++) {
			const char *old = r->stages[i].renamed_from[j];

			FUZZ_CHECK(
			    rule_stage_index(r, old) < 0 && rule_stage_recorded(r, old) == (int)i,
			    "rule %s: stage %s renamed from %s", r->id, r->stages[i].name, old);
		}
	for (size_t j = 0; j < r->nrenamed; j++)
		for (size_t i = 0; i < rs->nrules; i++)
			FUZZ_CHECK(strcmp(rs->rules[i].id, r->renamed_from[j]) != 0,
			           "rule %s renamed from %s, which is loaded", r->id,
			           r->renamed_from[j]);
	{
		struct rulediff same;

		rulediff_rules(r, r, &same);
		FUZZ_CHECK(same.n == 0, "rule %s differs from itself (%s)", r->id,
		           same.n > 0 ? rulediff_name(same.v[0].kind) : "");
		rulediff_free(&same);
	}
	/* A hold only on a clock rule, always with a cap of days, working days or weeks. */
	if (r->hold)
		FUZZ_CHECK(r->kind == RULE_CLOCK && r->max_hold.n > 0 &&
		               r->max_hold.unit != DUR_MONTHS,
		           "rule %s: hold with max_hold %d (unit %d)", r->id, r->max_hold.n,
		           (int)r->max_hold.unit);
	else
		FUZZ_CHECK(r->max_hold.n == 0, "rule %s: max_hold without hold", r->id);
	if (!compiled) {
		FUZZ_CHECK(r->ncolumns == 0 && r->subject == NULL && r->body == NULL,
		           "rule %s: templates compiled without columns", r->id);
		return;
	}
	FUZZ_CHECK(r->subject != NULL && r->body != NULL && r->expected != NULL,
	           "rule %s: a template is missing", r->id);
	FUZZ_CHECK(r->case_ref_col >= 0 && r->case_ref_col < (int)r->ncolumns,
	           "rule %s: case_ref column %d", r->id, r->case_ref_col);
	if (r->kind == RULE_THRESHOLD)
		FUZZ_CHECK(r->value_col >= 0 && r->value_col < (int)r->ncolumns,
		           "rule %s: value column %d", r->id, r->value_col);
	else
		FUZZ_CHECK(r->start_col >= 0 && r->start_col < (int)r->ncolumns,
		           "rule %s: start column %d", r->id, r->start_col);
	for (size_t i = 0; i < r->nfields; i++)
		FUZZ_CHECK(r->field_cols[i] >= 0 && r->field_cols[i] < (int)r->ncolumns &&
		               strcmp(r->fields[i], r->columns[r->field_cols[i]]) == 0,
		           "rule %s: field %zu", r->id, i);
	render_all(r);

	if (r->kind == RULE_CLOCK) {
		static const char *const starts[] = {"2026-10-01", "2024-02-29", "2026-12-24"};

		for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
			struct eval_clock ec;
			date_t start;
			localtime_min_t now;

			if (date_parse_strict(starts[i], &start) != 0)
				abort();
			now = ((localtime_min_t)start + 40) * 1440 + 8 * 60;
			eval_clock(r, cal, 8 * 60, start, now, &ec);
			FUZZ_CHECK(ec.reached >= -1 && ec.reached < (int)r->nstages,
			           "rule %s: reached %d", r->id, ec.reached);
			FUZZ_CHECK(ec.next_stage >= -1 && ec.next_stage < (int)r->nstages,
			           "rule %s: next stage %d", r->id, ec.next_stage);
			FUZZ_CHECK(ec.reached < 0 || ec.fires <= now, "rule %s: fires after now",
			           r->id);
			FUZZ_CHECK(ec.next_stage < 0 || ec.next > now, "rule %s: next before now",
			           r->id);
			eval_status(cal, ec.due, start + 40, buf, sizeof buf);
			check_hold(r, cal, ec.due + (date_t)i * 3);
		}
	}
}

/* Load the file once with the given compiler and check what loaded. */
static void
load(const char *path, ruleset_query_fn compile, const struct calendar *cal)
{
	struct ruleset_env env = {
	    .compile = compile,
	    .contact = fake_contact,
	    .contacts_file = "/etc/escalator/escalator.conf",
	};
	struct ruleset *rs = ruleset_new();
	struct diag d;
	int rc;

	diag_init(&d);
	rc = ruleset_load_file(rs, path, &env, &d);
	FUZZ_CHECK(rc == 0 || rc == -1, "ruleset_load_file returned %d", rc);
	FUZZ_CHECK((rc == 0) == (d.errors == 0), "returned %d with %zu errors", rc, d.errors);
	FUZZ_CHECK(rs->nfiles == 1, "%zu files", rs->nfiles);
	for (size_t i = 0; i < d.n; i++)
		FUZZ_CHECK(d.v[i].text != NULL && strncmp(d.v[i].text, path, strlen(path)) == 0,
		           "message %zu does not start with the file name: %s", i,
		           d.v[i].text ? d.v[i].text : "(null)");
	for (size_t k = 0; k < rs->nrules; k++)
		check_rule(rs, k, compile != NULL, cal);
	diag_free(&d);
	ruleset_free(rs);
}

/*
 * libconfig 1.5 (Debian 12) leaks the buffer of a string literal when a syntax
 * error follows it (e.g. a file holding just ""): its bug, not ours, and a few
 * bytes per failed load. Tell LeakSanitizer to ignore leaks from inside it.
 */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct calendar *cal;
	const char *path;

	/* libconfig would open any file named by @include: keep the fuzzer on its input. */
	if (memmem(data, size, "@include", 8) != NULL)
		return 0;
	if (cal == NULL) {
		date_t h;

		cal = calendar_new();
		if (date_parse_strict("2026-12-25", &h) != 0)
			abort();
		calendar_add_holiday(cal, h);
	}
	path = fuzz_write_tmp("escalator-fuzz-rules", data, size);
	load(path, NULL, cal);
	load(path, fake_compile, cal);
	return 0;
}
