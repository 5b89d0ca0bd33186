/* cfgfile.h - libconfig helpers that report problems as "file:line: message". */
#ifndef ESCALATOR_CFGFILE_H
#define ESCALATOR_CFGFILE_H

#include <libconfig.h>
#include <stdbool.h>

#include "diag.h"

/*
 * Read a libconfig file into cf (already config_init'ed). On failure report
 * "path: reason" (I/O) or "file:line: reason" (syntax) to d and return -1.
 */
int cfg_read(config_t *cf, const char *path, struct diag *d);

/* Report an error located at setting s: "file:line: " + message. */
void cfg_error(struct diag *d, const config_setting_t *s, const char *fallback_file,
               const char *fmt, ...) PRINTFLIKE(4, 5);
/* Report a warning located at setting s. */
void cfg_warning(struct diag *d, const config_setting_t *s, const char *fallback_file,
                 const char *fmt, ...) PRINTFLIKE(4, 5);

/*
 * Report every member of group s whose name is not in the NULL-terminated
 * list allowed. Returns the number of unknown keys.
 */
int cfg_check_keys(const config_setting_t *s, const char *const *allowed, const char *what,
                   const char *fallback_file, struct diag *d);

/*
 * Fetch member name of group s as a string. Returns the string (borrowed, valid
 * until config_destroy), or NULL: if missing and required, or present with the
 * wrong type, an error is reported.
 */
const char *cfg_get_string(const config_setting_t *s, const char *name, bool required,
                           const char *fallback_file, struct diag *d);

/* Source line of a setting, walking up to a parent with a line if needed. */
int cfg_line(const config_setting_t *s);
/* Source file of a setting, or fallback. */
const char *cfg_file(const config_setting_t *s, const char *fallback);
/* Human name of a libconfig type ("a string", "a list", ...). */
const char *cfg_type_name(int type);

#endif
