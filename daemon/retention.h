/*
 * retention.h - what the state store keeps no longer than the retention
 * setting: audit rows, answers, finished deliveries and the alerts (with
 * their rendered text) all of whose deliveries are gone, removed a small
 * batch at a time, the space given back to the file system a few pages at a
 * time.
 * Never removed: the stages recorded of each clock (they stop a re-alert)
 * and pending deliveries.
 */
#ifndef ESCALATOR_RETENTION_H
#define ESCALATOR_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "duration.h"
#include "statestore.h"

/* Rows each kind of removal takes in one step (one short transaction). */
#define RETENTION_BATCH 256
/* Seconds between sweeps once nothing is left to remove. */
#define RETENTION_INTERVAL 3600

/*
 * The UTC time ("YYYY-MM-DDTHH:MM:SSZ") keep before now: now's UTC date moved
 * back on the calendar (months keep the day of the month, clamped to the
 * month's end), same time of day. Returns 0, or -1 for a duration that is not
 * a positive number of days, weeks or months.
 */
int retention_cutoff(const struct duration *keep, time_t now, char *buf, size_t len);

/*
 * One step, in one transaction: remove up to batch of each of audit rows,
 * answers (by the time answered), finished (sent or failed) deliveries and
 * alerts older than keep as of now, then give up to 4 x batch freed pages
 * back (a store made with incremental auto_vacuum). Rows are taken in the order they were written,
 * so each step reads about batch rows of each table however big the file is. Returns how many rows
 * it removed (0: nothing more to do for now; also 0 when a transaction is open, to try later), or
 * -1 with *cause set.
 */
int retention_step(struct statestore *ss, const struct duration *keep, time_t now, int batch,
                   char **cause);

/*
 * Does the store give freed space back to the file system (made by a build
 * with incremental auto_vacuum)? An older one reuses its freed pages instead.
 */
bool retention_reclaims(struct statestore *ss);

#endif
