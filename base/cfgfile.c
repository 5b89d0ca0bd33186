/* cfgfile.c - libconfig helpers that report problems as "file:line: message". */
#include "cfgfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfgsyntax.h"
#include "suggest.h"

/* Files larger than this are not read again to explain a syntax error. */
#define CFG_SYNTAX_READ_MAX (4 * 1024 * 1024)

/*
 * A syntax error libconfig found in path (or a file it includes): at the line
 * of its likely cause, in words (cfgsyntax), saying where libconfig stopped
 * when that is elsewhere; libconfig's own words when cfgsyntax finds nothing.
 */
static void
cfg_syntax_error(const config_t *cf, const char *path, struct diag *d)
{
	const char *file = config_error_file(cf) ? config_error_file(cf) : path;
	int stopped = config_error_line(cf), line = 0;
	char msg[CFGSYNTAX_MSG_MAX], *text = NULL;
	size_t len = 0;
	FILE *f;

	if (config_error_type(cf) == CONFIG_ERR_PARSE &&
	    strcmp(config_error_text(cf), "syntax error") == 0 && (f = fopen(file, "r")) != NULL) {
		text = xmalloc(CFG_SYNTAX_READ_MAX);
		len = fread(text, 1, CFG_SYNTAX_READ_MAX, f);
		fclose(f);
	}
	if (text != NULL && len < CFG_SYNTAX_READ_MAX &&
	    cfgsyntax_locate(text, len, &line, msg) == 0 && line <= stopped) {
		if (line == stopped)
			diag_add(d, DIAG_ERROR, "%s:%d: syntax error: %s", file, line, msg);
		else
			diag_add(d, DIAG_ERROR,
			         "%s:%d: syntax error: %s (libconfig stopped at line %d)", file,
			         line, msg, stopped);
	} else
		diag_add(d, DIAG_ERROR, "%s:%d: %s", file, stopped, config_error_text(cf));
	free(text);
}

/* Read a libconfig file, reporting I/O and syntax errors with their location. */
int
cfg_read(config_t *cf, const char *path, struct diag *d)
{
	FILE *f;

	/*
	 * Try the file ourselves first so an I/O error carries errno's text;
	 * libconfig only says "file I/O error".
	 */
	if ((f = fopen(path, "r")) == NULL) {
		diag_add(d, DIAG_ERROR, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	fclose(f);
	if (config_read_file(cf, path) == CONFIG_TRUE)
		return 0;
	if (config_error_type(cf) == CONFIG_ERR_FILE_IO) {
		diag_add(d, DIAG_ERROR, "%s: cannot read: %s", path, config_error_text(cf));
		return -1;
	}
	cfg_syntax_error(cf, path, d);
	return -1;
}

/* Source line of a setting, walking up to a parent with a line if needed. */
int
cfg_line(const config_setting_t *s)
{
	while (s != NULL && config_setting_source_line(s) == 0)
		s = config_setting_parent(s);
	return s ? (int)config_setting_source_line(s) : 0;
}

/* Source file of a setting, or fallback. */
const char *
cfg_file(const config_setting_t *s, const char *fallback)
{
	const char *f = s ? config_setting_source_file(s) : NULL;

	return f ? f : fallback;
}

/* Add a located message. */
static void PRINTFLIKE(5, 0)
    cfg_vreport(struct diag *d, enum diag_level level, const config_setting_t *s,
                const char *fallback_file, const char *fmt, va_list ap)
{
	char *msg = xvasprintf(fmt, ap);
	int line = cfg_line(s);

	if (line > 0)
		diag_add(d, level, "%s:%d: %s", cfg_file(s, fallback_file), line, msg);
	else
		diag_add(d, level, "%s: %s", cfg_file(s, fallback_file), msg);
	free(msg);
}

/* Report an error located at setting s. */
void
cfg_error(struct diag *d, const config_setting_t *s, const char *fallback_file, const char *fmt,
          ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vreport(d, DIAG_ERROR, s, fallback_file, fmt, ap);
	va_end(ap);
}

/* Report a warning located at setting s. */
void
cfg_warning(struct diag *d, const config_setting_t *s, const char *fallback_file, const char *fmt,
            ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_vreport(d, DIAG_WARNING, s, fallback_file, fmt, ap);
	va_end(ap);
}

/* Human name of a libconfig type. */
const char *
cfg_type_name(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP:
		return "a group { ... }";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number with a decimal point";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "true or false";
	case CONFIG_TYPE_ARRAY:
		return "an array [ ... ]";
	case CONFIG_TYPE_LIST:
		return "a list ( ... )";
	default:
		return "nothing";
	}
}

/* Report members of a group that are not in the allowed list. */
int
cfg_check_keys(const config_setting_t *s, const char *const *allowed, const char *what,
               const char *fallback_file, struct diag *d)
{
	int n = config_setting_length(s), unknown = 0;

	for (int i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(m);
		const char *const *a;
		const char *near;
		size_t len = 0;
		char *expected;

		if (name == NULL)
			continue;
		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, name) == 0)
				break;
		if (*a != NULL)
			continue;
		for (a = allowed; *a != NULL; a++)
			len += strlen(*a) + 2;
		if ((near = suggest_word(name, allowed, (size_t)(a - allowed))) != NULL) {
			cfg_error(d, m, fallback_file,
			          "unknown setting \"%s\" in %s; did you mean \"%s\"?", name, what,
			          near);
			unknown++;
			continue;
		}
		expected = xmalloc(len + 1);
		expected[0] = '\0';
		for (a = allowed; *a != NULL; a++) {
			if (a != allowed)
				strcat(expected, ", ");
			strcat(expected, *a);
		}
		cfg_error(d, m, fallback_file, "unknown setting \"%s\" in %s; expected one of: %s",
		          name, what, expected);
		free(expected);
		unknown++;
	}
	return unknown;
}

/* Fetch a string member, reporting a missing or mistyped one. */
const char *
cfg_get_string(const config_setting_t *s, const char *name, bool required,
               const char *fallback_file, struct diag *d)
{
	const config_setting_t *m = config_setting_get_member(s, name);

	if (m == NULL) {
		if (required)
			cfg_error(d, s, fallback_file, "missing setting \"%s\"", name);
		return NULL;
	}
	if (config_setting_type(m) != CONFIG_TYPE_STRING) {
		cfg_error(d, m, fallback_file, "\"%s\" must be a string in double quotes, not %s",
		          name, cfg_type_name(config_setting_type(m)));
		return NULL;
	}
	return config_setting_get_string(m);
}
