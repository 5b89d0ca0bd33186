/*
 * preview.c - escalatord preview: what an edit of the rules would change.
 *
 * The "after" is the candidate: --rules DIR (default: escalator.conf's rules
 * directory as it is on disk now) and --holidays FILE... (default:
 * escalator.conf's). The "before" is what the running service has loaded:
 * the text of each rule and holiday file it recorded in the state store
 * (runinfo.c, meta "loaded"), loaded again from a private copy
 * (snapshot.c); the real files are never touched. A service that never
 * recorded it (not started since this version) is compared with the rules
 * on disk, and the output says so. Both sides are loaded with the same
 * escalator.conf (contacts) and case store, evaluated as of the same time
 * (--now, bound to :today and :now), against the state store opened
 * read-only (preview_compare.c). Nothing is recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "command.h"
#include "preview.h"
#include "snapshot.h"

/* Print d's errors (every one, as --check does); true if there were any. */
static bool
preview_errors(const struct diag *d, const char *what)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->v[i].level == DIAG_ERROR)
			fprintf(stderr, "%s\n", d->v[i].text);
	if (d->errors > 0)
		fprintf(stderr, "escalatord: %s: %zu error%s; nothing to compare\n", what,
		        d->errors, d->errors == 1 ? "" : "s");
	return d->errors > 0;
}

/* A calendar of the holiday files paths[0..n) (errors to d). */
static struct calendar *
preview_calendar(const char *const *paths, size_t n, struct diag *d)
{
	struct calendar *cal = calendar_new();

	for (size_t i = 0; i < n; i++)
		calendar_load_file(cal, paths[i], d);
	return cal;
}

/* Read a whole file (NULL if it cannot be read). Allocated. */
static char *
preview_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, got;
	char chunk[8192];

	if (f == NULL)
		return NULL;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		buf = xreallocarray(buf, len + got + 1, 1);
		memcpy(buf + len, chunk, got);
		len += got;
	}
	fclose(f);
	if (buf == NULL)
		buf = xstrdup("");
	else
		buf[len] = '\0';
	return buf;
}

/*
 * Do the holiday files previewed (paths[0..n)) differ from those of the
 * before: the texts the service recorded (snap), else the files was[0..nwas)?
 */
static bool
preview_holidays_changed(const struct snapshot *snap, const char *const *was, size_t nwas,
                         const char *const *paths, size_t n)
{
	bool changed = (snap != NULL ? snap->nholidays : nwas) != n;

	for (size_t i = 0; !changed && i < n; i++) {
		char *text = preview_slurp(paths[i]);
		char *old = snap != NULL ? NULL : preview_slurp(was[i]);

		changed = text == NULL || strcmp(text, snap != NULL ? snap->holiday_texts[i]
		                                       : old        ? old
		                                                    : "") != 0;
		free(text);
		free(old);
	}
	return changed;
}

/* escalatord preview. */
int
preview_main(const struct command *c)
{
	struct ruleset *before = NULL, *after = NULL;
	struct calendar *cal_before = NULL, *cal_after = NULL;
	struct snapshot *snap = NULL;
	struct casestore *cs = NULL;
	struct statestore *ss = NULL;
	struct ruleset_env env = {0};
	struct config *cfg;
	struct preview p;
	struct diag d;
	char *cause = NULL;
	const char *why = NULL;
	const char *const *hol;
	size_t nhol;
	int rc = COMMAND_EXIT_FAIL;

	memset(&p, 0, sizeof p);
	diag_init(&d);
	if ((cfg = config_load(c->config, &d)) == NULL) {
		preview_errors(&d, c->config);
		diag_free(&d);
		return COMMAND_EXIT_FAIL;
	}
	if (clock_set_timezone(cfg->timezone, &cause) != 0) {
		fprintf(stderr, "%s: timezone: %s\n", c->config, cause);
		goto done;
	}
	if (command_now(c, &p.now) != 0) {
		rc = COMMAND_EXIT_USAGE;
		goto done;
	}
	if ((cs = casestore_open(cfg->case_store, &cause)) == NULL) {
		fprintf(stderr, "%s:%d: case_store: %s\n", c->config, cfg->case_store_line, cause);
		goto done;
	}
	if ((ss = statestore_open(cfg->state, true, &cause)) == NULL) {
		fprintf(stderr, "escalatord: %s\n", cause);
		goto done;
	}
	env.compile = casestore_compile;
	env.compile_arg = cs;
	env.contact = config_contact_channel;
	env.contact_arg = cfg;
	env.contacts_file = cfg->path;

	/* After: the candidate rules and holidays. */
	p.rules_dir = c->rules_dir != NULL ? c->rules_dir : cfg->rules_dir;
	hol = c->nholidays > 0 ? c->holidays : (const char *const *)cfg->holidays;
	nhol = c->nholidays > 0 ? c->nholidays : cfg->nholidays;
	cal_after = preview_calendar(hol, nhol, &d);
	after = ruleset_load_dir(p.rules_dir, &env, &d);
	if (preview_errors(&d, "the rules and holiday files to preview"))
		goto done;
	diag_free(&d);
	diag_init(&d);

	/* Before: what the service loaded, else the rules on disk. */
	if (snapshot_read(ss, &snap, &why, &cause) < 0) {
		fprintf(stderr, "escalatord: %s\n", cause);
		goto done;
	}
	if (snap != NULL) {
		p.before_loaded = true;
		p.loaded_at = snap->at;
		before = snapshot_rules(snap, &env, &d);
		cal_before = snapshot_calendar(snap, &d);
		p.holidays_changed = preview_holidays_changed(snap, NULL, 0, hol, nhol);
		if (preview_errors(&d, "the rules escalatord runs (as it recorded them)")) {
			fprintf(stderr,
			        "escalatord: they no longer load against %s or %s as they are "
			        "now\n",
			        cfg->path, cfg->case_store);
			goto done;
		}
	} else {
		p.before_note = why;
		before = ruleset_load_dir(cfg->rules_dir, &env, &d);
		cal_before =
		    preview_calendar((const char *const *)cfg->holidays, cfg->nholidays, &d);
		if (preview_errors(&d, "the rules and holiday files on disk"))
			goto done;
		p.holidays_changed = preview_holidays_changed(
		    NULL, (const char *const *)cfg->holidays, cfg->nholidays, hol, nhol);
	}

	p.cfg = cfg;
	p.cs = cs;
	p.ss = ss;
	p.cal_before = cal_before;
	p.cal_after = cal_after;
	p.today = (date_t)(p.now / 1440);
	p.next_digest = config_next_digest(cfg, p.now);
	casestore_set_timeout(cs, cfg->query_timeout);
	if (preview_compare(&p, before, after, &cause) != 0) {
		fprintf(stderr, "escalatord: %s\n", cause);
		goto done;
	}
	if (c->json) {
		if (preview_print_json(&p, stdout) != 0) {
			fprintf(stderr, "escalatord: cannot encode the preview as JSON\n");
			goto done;
		}
	} else
		preview_print_text(&p, stdout);
	rc = fflush(stdout) == 0 ? 0 : COMMAND_EXIT_FAIL;
done:
	free(cause);
	diag_free(&d);
	preview_clear(&p);
	ruleset_free(before);
	ruleset_free(after);
	calendar_free(cal_before);
	calendar_free(cal_after);
	snapshot_free(snap);
	statestore_close(ss);
	casestore_close(cs);
	config_free(cfg);
	return rc;
}
