/*
 * renames.h - carrying history over a rename: when the service loads rules
 * that say renamed_from, what the state store recorded under the old rule
 * id or stage name is moved to the new one.
 */
#ifndef ESCALATOR_RENAMES_H
#define ESCALATOR_RENAMES_H

#include "ruleset.h"
#include "statestore.h"

/*
 * Move every record of an old name of rs's rules (rule renamed_from: the
 * clocks' stages, alerts, closed clocks, answers and threshold keys; stage
 * renamed_from: the stage's name in those) to the new name, in one
 * transaction. Idempotent: once moved, nothing matches the old name. A
 * record the new name already has is left under the old one (the look-ups
 * still count it while renamed_from stays). Sets *moved (rows changed).
 * Returns 0, or -1 with *cause set (nothing moved).
 */
int renames_apply(struct statestore *ss, const struct ruleset *rs, long long *moved, char **cause);

#endif
