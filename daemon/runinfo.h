/*
 * runinfo.h - what the service records about itself in the state store's
 * meta table, for the read-only commands: the rule and holiday files it has
 * loaded (their text, so preview can compare an edit with what runs), its
 * last pass, and the case store's freshness. Read-only commands read it back.
 */
#ifndef ESCALATOR_RUNINFO_H
#define ESCALATOR_RUNINFO_H

#include <jansson.h>
#include <time.h>

#include "engine.h"
#include "evaluate.h"
#include "statestore.h"

/* meta keys */
#define RUNINFO_LOADED "loaded"       /* runinfo_loaded */
#define RUNINFO_LAST_PASS "last_pass" /* runinfo_pass */

/* SHA-256 as the "loaded" record writes it: 64 lower-case hex digits and a NUL. */
#define RUNINFO_SHA256_HEX 65
/* The SHA-256 of the file at path now (to compare with "loaded"); 0, or -1 with errno. */
int runinfo_sha256_file(const char *path, char hex[RUNINFO_SHA256_HEX]);

/* Set meta key to value (a JSON text), in its own transaction unless one is open. */
int runinfo_set(struct statestore *ss, const char *key, const char *value, char **cause);
/*
 * The JSON value of meta key, or NULL (with 0 returned) when there is none
 * or the store is empty. Returns -1 with *cause set when it cannot be read.
 */
int runinfo_get(struct statestore *ss, const char *key, json_t **value, char **cause);

/*
 * Record what e has loaded (at start and at each reload of the service):
 *
 *   {"at": unix seconds, "config": path, "rules_dir": dir,
 *    "rules": [ {"file": path, "mtime": unix seconds, "sha256": hex, "text": ...}, ...],
 *    "holidays": [ same ], "nrules": n}
 *
 * Rule files hold no secrets (those are in files escalator.conf names).
 */
int runinfo_loaded(struct statestore *ss, const struct engine *e, time_t at, char **cause);

/*
 * Record a pass that ended whole:
 *
 *   {"why": ..., "started": unix seconds, "seconds": duration, "clocks": n,
 *    "alerts": n, "skipped_rows": n, "failed_rules": n, "closed": n}
 */
int runinfo_pass(struct statestore *ss, const char *why, time_t started, double seconds,
                 const struct evaluate_stats *st, char **cause);

#endif
