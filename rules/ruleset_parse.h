/* ruleset_parse.h - what ruleset.c and stage.c share while parsing a rule file (private). */
#ifndef ESCALATOR_RULESET_PARSE_H
#define ESCALATOR_RULESET_PARSE_H

#include <libconfig.h>
#include <stdbool.h>

#include "ruleset.h"

/* Parse duration setting key of group g (what names it in messages). Returns 0 or -1. */
int ruleset_get_duration(const config_setting_t *g, const char *key, const char *path,
                         const char *what, struct duration *out, struct diag *d);
/*
 * Compile template setting key of group g (or def when it is absent) against
 * the query's columns, reporting problems at the setting's line.
 */
struct template *ruleset_template(const struct rule *r, const config_setting_t *g, const char *key,
                                  const char *def, const char *path, struct diag *d);

/* Parse one stage group into st (stage.c). Returns 0, or -1 after reporting. */
int stage_parse(struct rule *r, struct stage *st, const config_setting_t *g,
                const struct ruleset_env *env, bool columns_known, const char *path,
                struct diag *d);
/* Parse the notify list of group g (a stage, or a threshold rule) into st. */
void stage_parse_notify(struct rule *r, struct stage *st, const config_setting_t *g,
                        const struct ruleset_env *env, bool columns_known, const char *path,
                        struct diag *d);
/* Parse a stage's label and immediate (a threshold rule's: from the rule's group g). */
void stage_parse_label(struct rule *r, struct stage *st, const config_setting_t *g,
                       const char *path, struct diag *d);
/*
 * Parse a clock rule's hold and max_hold (group g): hold true or false;
 * max_hold required with hold = true and refused without it.
 */
void stage_parse_hold(struct rule *r, const config_setting_t *g, const char *path, struct diag *d);
/* history.c: a clock rule's history query (compiled: case_ref, start, done) and target. */
void ruleset_parse_history(struct rule *r, const config_setting_t *g, const struct ruleset_env *env,
                           const char *path, struct diag *d);
/* Is s a valid stage name ([a-z0-9_-]+, at most 64)? */
bool stage_valid_name(const char *s);
/*
 * r's renamed_from (group g) against the rules of rs loaded before it, and
 * its id against their renamed_from: an old id must not be a rule still
 * defined, and carries over to one rule only.
 */
void ruleset_check_renames(const struct ruleset *rs, const struct rule *r,
                           const config_setting_t *g, const char *path, struct diag *d);
/*
 * Parse renamed_from of group g: a rule's old ids or, with stage, a stage's
 * old names; one name in quotes or a list of them, each valid as an id (a
 * stage name) and listed once. Sets *names and *n.
 */
void ruleset_parse_renamed(const struct rule *r, const config_setting_t *g, bool stage,
                           char ***names, size_t *n, const char *path, struct diag *d);
/*
 * Check the renamed_from of r's stages (the list setting stages): no old
 * name is a stage r still has, and each old name carries over to one stage.
 */
void stage_check_renames(struct rule *r, const config_setting_t *stages, const char *path,
                         struct diag *d);
/* Check that r's stages (the list setting stages) are listed in the order they fire. */
void stage_check_order(const struct rule *r, const config_setting_t *stages, const char *path,
                       struct diag *d);

#endif
