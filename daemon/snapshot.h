/*
 * snapshot.h - the rules the running service has loaded, as it recorded
 * them in the state store (runinfo: meta "loaded", the text of every rule
 * and holiday file), made loadable again for preview and --check without
 * touching the real files.
 */
#ifndef ESCALATOR_SNAPSHOT_H
#define ESCALATOR_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "calendar.h"
#include "ruleset.h"
#include "statestore.h"

/* What the service loaded, written out to a private temporary directory. */
struct snapshot {
	time_t at;       /* when the service loaded it */
	char *rules_dir; /* the rules directory it read (as its configuration named it) */
	size_t nrule_files;
	char **rule_files; /* each rule file's path when it was loaded */
	char **rule_texts; /* and its text */
	size_t nholidays;
	char **holidays; /* each holiday file's path when it was loaded */
	char **holiday_texts;

	char *dir;       /* the private copy: dir/rules/NNN-name, dir/holidays/NNN-name */
	char **rule_tmp; /* the copy of rule_files[i] */
	char **holiday_tmp;
};

/*
 * Read the service's record of what it loaded from ss and write its files
 * to a private temporary directory (mode 0700). Returns 1 with *out set; 0
 * when there is none (the service never started with this version, or the
 * store is empty) with *why saying so (static text); -1 with *cause set (it
 * cannot be read, or a file's text was not recorded).
 */
int snapshot_read(struct statestore *ss, struct snapshot **out, const char **why, char **cause);

/*
 * The snapshot's rules, loaded with env as ruleset_load_dir does; every
 * message (to d) and every rule's file names the file as the service loaded
 * it. NULL if they have errors.
 */
struct ruleset *snapshot_rules(const struct snapshot *s, const struct ruleset_env *env,
                               struct diag *d);
/* Its holiday files as a calendar (messages as above). NULL if they have errors. */
struct calendar *snapshot_calendar(const struct snapshot *s, struct diag *d);

/* Remove the private copy and free s (NULL is fine). */
void snapshot_free(struct snapshot *s);

#endif
