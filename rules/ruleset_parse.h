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
/* Check that r's stages (the list setting stages) are listed in the order they fire. */
void stage_check_order(const struct rule *r, const config_setting_t *stages, const char *path,
                       struct diag *d);

#endif
