/*
 * rename_check.h - --check's warning about a rename that would send alerts
 * again: a stage (or rule) the running service has alerted under a name the
 * edited rules no longer have, and no renamed_from carries over.
 */
#ifndef ESCALATOR_RENAME_CHECK_H
#define ESCALATOR_RENAME_CHECK_H

#include "diag.h"
#include "engine.h"

/*
 * Compare e's rules with what the state store (opened read-only) has
 * recorded, and warn to d, at the rule's file and line, about each stage
 * name and rule id that open clocks have recorded but the rules no longer
 * have and no renamed_from names. The names compared are those of the rules
 * the service has loaded (its record in the state store); without that
 * record, every stage name recorded for each rule. Records nothing.
 */
void rename_check(const struct engine *e, struct diag *d);

#endif
