/* config_parse.h - what config.c, config_smtp.c and config_contacts.c share while parsing
 * (private). */
#ifndef ESCALATOR_CONFIG_PARSE_H
#define ESCALATOR_CONFIG_PARSE_H

#include <libconfig.h>

#include "config.h"
#include "diag.h"

/* Read the secret file named by setting key of group g, reporting problems at its line. */
char *config_get_secret(const struct config *cfg, const config_setting_t *g, const char *key,
                        struct diag *d);
/* Fetch an optional whole-number setting within [lo, hi]. */
void config_get_int(const config_setting_t *root, const char *name, int lo, int hi,
                    const char *unit, int *out, const char *path, struct diag *d);

/* Parse the smtp group into cfg->smtp (config_smtp.c). */
void config_parse_smtp(struct config *cfg, const config_setting_t *root, struct diag *d);
/* Parse digest, digest_times and case_url (config_digest.c). */
void config_parse_digest(struct config *cfg, const config_setting_t *root, struct diag *d);
/* Parse a contact's digest (and a Notify contact's digest_template) into ct (config_digest.c). */
void config_parse_contact_digest(struct config *cfg, const config_setting_t *c, struct contact *ct,
                                 struct diag *d);
/* Parse listen, response_url, response_key_file and response_expiry (config_listen.c). */
void config_parse_listen(struct config *cfg, const config_setting_t *root, struct diag *d);
/* Parse the contacts group into cfg->contacts (config_contacts.c). */
void config_parse_contacts(struct config *cfg, const config_setting_t *root, struct diag *d);
/* Free what a contact holds, wiping its secret. */
void config_contact_clear(struct contact *ct);

#endif
