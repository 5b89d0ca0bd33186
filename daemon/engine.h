/* engine.h - one loaded configuration: config, calendar, case store, rules. */
#ifndef ESCALATOR_ENGINE_H
#define ESCALATOR_ENGINE_H

#include "calendar.h"
#include "casestore.h"
#include "config.h"
#include "ruleset.h"
#include "diag.h"

/*
 * Everything a pass needs, loaded and validated together so a reload either
 * replaces all of it or none of it.
 */
struct engine;

/*
 * Load and validate the main config, the holiday files, the case store and
 * every rule file (compiling each query). Every problem goes to d; returns
 * NULL if there was any error.
 */
struct engine *engine_load(const char *config_path, struct diag *d);
/*
 * The same without reading the secret files (passwords, keys): for the
 * read-only commands, which send nothing and may be run by an admin who
 * cannot read them. Nothing loaded this way may deliver.
 */
struct engine *engine_load_public(const char *config_path, struct diag *d);
void engine_free(struct engine *e);
/* The main configuration of e. */
const struct config *engine_config(const struct engine *e);
/* The working-day calendar of e (its holiday files). */
const struct calendar *engine_calendar(const struct engine *e);
/* The case store of e, open read-only. */
struct casestore *engine_casestore(const struct engine *e);
/* The rules of e. */
const struct ruleset *engine_rules(const struct engine *e);
/* Make e the configuration in force: its time zone applies from now on. */
void engine_activate(struct engine *e);
/* Reopen the case store after its file was replaced. Returns 0 or -1 with *cause set. */
int engine_reopen_casestore(struct engine *e, char **cause);

/*
 * Warnings that depend on today's date: the holiday files ending within 12
 * months of today (or already ended).
 */
void engine_check_calendar(const struct engine *e, date_t today, struct diag *d);

#endif
