/*
 * closing.h - clocks that were alerted and are now done: a clock whose row
 * has left its rule's rows (the review was held, the child left care) is
 * recorded closed on the day it was first seen gone, with how late that was,
 * and everyone who was told about it hears it was done in their next digest.
 */
#ifndef ESCALATOR_CLOSING_H
#define ESCALATOR_CLOSING_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "config.h"
#include "ruleset.h"
#include "statestore.h"

/*
 * The key a clock (case_ref, start) is remembered by while a pass reads its
 * rule's rows: 64 bits of hash, 8 bytes a row. Two clocks with the same key
 * (about 1 in 10^19 for any pair) would only delay a closure.
 */
uint64_t closing_key(const char *case_ref, date_t start);

/*
 * After clock rule r's rows were all read (seen[0..n): the key of every row,
 * sorted here): record as closed every clock of r that was alerted, is not
 * already closed, and whose key is not in seen, as closed on today, days
 * late against its due date on cal; each recipient of its alerts (not one
 * that failed for good) gets a note held for the digest at digest_at (unix
 * seconds), except a GOV.UK Notify contact cfg (may be NULL) sends no
 * digests to (it has no digest_template). Inside the caller's transaction.
 * Adds the number closed to *nclosed. Returns 0, or -1 with *cause set.
 */
int closing_sweep(struct statestore *ss, const struct config *cfg, const struct rule *r,
                  const struct calendar *cal, uint64_t *seen, size_t n, date_t today,
                  long long digest_at, long long *nclosed, char **cause);

/*
 * A clock recorded closed has a row again (the extract was wrong, or the
 * clock restarted on the same date): mark it reopened on today, so that it is
 * alerted and closed again like any open clock. Returns 0 or -1.
 */
int closing_reopen(struct statestore *ss, const char *rule, const char *case_ref, date_t start,
                   date_t today, char **cause);

#endif
