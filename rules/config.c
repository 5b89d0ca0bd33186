/* config.c - the main configuration file (escalatord -c FILE). */
#include "config.h"

#include <ctype.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "cfgutil.h"

static const char *const config_keys[] = {
    "case_store", "state",     "rules",         "holidays", "contacts",
    "timezone",   "send_time", "poll_interval", NULL,
};
static const char *const contact_keys[] = {"email", "webhook", NULL};

/* Is s a plausible single email address? */
bool
config_valid_email(const char *s)
{
	const char *at = NULL;
	size_t len = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++, len++) {
		if (*p <= ' ' || *p == 0x7f || *p == ',' || *p == ';' || *p == '<' || *p == '>' ||
		    *p == '"' || *p == '(' || *p == ')' || *p == '\\')
			return false;
		if (*p == '@') {
			if (at != NULL)
				return false;
			at = (const char *)p;
		}
	}
	/* Local part and a domain with a dot-free or dotted name after '@'. */
	return at != NULL && at != s && at[1] != '\0' && len <= 254;
}

/* Is s an http(s) URL without spaces or control characters? */
bool
config_valid_url(const char *s)
{
	const char *rest;

	if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else
		return false;
	if (*rest == '\0' || *rest == '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return strlen(s) <= 2048;
}

/* Parse "HH:MM" into minutes after midnight. */
int
config_parse_hhmm(const char *s)
{
	if (strlen(s) != 5 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) || !isdigit((unsigned char)s[4]))
		return -1;
	int h = (s[0] - '0') * 10 + (s[1] - '0');
	int m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}

/* Resolve path against dir unless it is absolute. */
char *
config_resolve_path(const char *dir, const char *path)
{
	if (path[0] == '/' || dir == NULL || dir[0] == '\0')
		return xstrdup(path);
	return xasprintf("%s/%s", dir, path);
}

/* Directory part of a path ("." if none). */
static char *
config_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Fetch a required path setting and resolve it. */
static char *
config_get_path(struct config *cfg, const config_setting_t *root, const char *name, struct diag *d)
{
	const char *v = cfg_get_string(root, name, true, cfg->path, d);

	if (v == NULL)
		return NULL;
	if (*v == '\0') {
		cfg_error(d, config_setting_get_member(root, name), cfg->path,
		          "\"%s\" must not be empty", name);
		return NULL;
	}
	return config_resolve_path(cfg->dir, v);
}

/* Parse the holidays list. */
static void
config_parse_holidays(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(root, "holidays");
	int n;

	if (s == NULL)
		return;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		cfg->holidays = xcalloc(1, sizeof *cfg->holidays);
		cfg->holiday_lines = xcalloc(1, sizeof *cfg->holiday_lines);
		cfg->holidays[0] = config_resolve_path(cfg->dir, config_setting_get_string(s));
		cfg->holiday_lines[0] = cfg_line(s);
		cfg->nholidays = 1;
		return;
	}
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		cfg_error(d, s, cfg->path,
		          "\"holidays\" must be a list of file names, e.g. [ \"%s\" ]",
		          "holidays/england-and-wales.txt");
		return;
	}
	n = config_setting_length(s);
	cfg->holidays = xcalloc((size_t)n, sizeof *cfg->holidays);
	cfg->holiday_lines = xcalloc((size_t)n, sizeof *cfg->holiday_lines);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			cfg_error(d, e, cfg->path,
			          "\"holidays\" entries must be file names in quotes");
			continue;
		}
		cfg->holiday_lines[cfg->nholidays] = cfg_line(e);
		cfg->holidays[cfg->nholidays++] =
		    config_resolve_path(cfg->dir, config_setting_get_string(e));
	}
}

/* Parse the contacts group. */
static void
config_parse_contacts(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(root, "contacts");
	int n;

	if (s == NULL)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		cfg_error(
		    d, s, cfg->path,
		    "\"contacts\" must be a group: contacts = { name = { email = \"...\"; }; }");
		return;
	}
	n = config_setting_length(s);
	cfg->contacts = xcalloc((size_t)n, sizeof *cfg->contacts);
	for (int i = 0; i < n; i++) {
		const config_setting_t *c = config_setting_get_elem(s, (unsigned)i);
		const char *name = config_setting_name(c), *email, *hook;
		size_t before = d->errors;

		if (config_setting_type(c) != CONFIG_TYPE_GROUP) {
			cfg_error(d, c, cfg->path,
			          "contact \"%s\" must be a group: %s = { email = \"...\"; }", name,
			          name);
			continue;
		}
		cfg_check_keys(c, contact_keys, "a contact", cfg->path, d);
		email = cfg_get_string(c, "email", false, cfg->path, d);
		hook = cfg_get_string(c, "webhook", false, cfg->path, d);
		if (d->errors != before)
			continue;
		if ((email == NULL) == (hook == NULL)) {
			cfg_error(
			    d, c, cfg->path,
			    "contact \"%s\" needs exactly one of email = \"...\" or webhook = "
			    "\"https://...\"",
			    name);
			continue;
		}
		if (email != NULL && !config_valid_email(email)) {
			cfg_error(d, config_setting_get_member(c, "email"), cfg->path,
			          "contact \"%s\": \"%s\" is not an email address", name, email);
			continue;
		}
		if (hook != NULL && !config_valid_url(hook)) {
			cfg_error(d, config_setting_get_member(c, "webhook"), cfg->path,
			          "contact \"%s\": webhook must be an http:// or https:// URL",
			          name);
			continue;
		}
		cfg->contacts[cfg->ncontacts].name = xstrdup(name);
		cfg->contacts[cfg->ncontacts].kind = email ? CONTACT_EMAIL : CONTACT_WEBHOOK;
		cfg->contacts[cfg->ncontacts].address = xstrdup(email ? email : hook);
		cfg->ncontacts++;
	}
}

/* Parse and validate the main configuration file. */
struct config *
config_load(const char *path, struct diag *d)
{
	config_t cf;
	struct config *cfg;
	const config_setting_t *root, *s;
	const char *v;
	size_t before = d->errors;

	cfg = xcalloc(1, sizeof *cfg);
	cfg->path = xstrdup(path);
	cfg->dir = config_dirname(path);
	cfg->send_time = CONFIG_DEFAULT_SEND_TIME;
	cfg->poll_interval = CONFIG_DEFAULT_POLL_INTERVAL;

	config_init(&cf);
	if (cfg_read(&cf, path, d) != 0) {
		config_destroy(&cf);
		config_free(cfg);
		return NULL;
	}
	root = config_root_setting(&cf);
	cfg_check_keys(root, config_keys, "the main configuration", path, d);

	cfg->case_store = config_get_path(cfg, root, "case_store", d);
	cfg->state = config_get_path(cfg, root, "state", d);
	cfg->rules_dir = config_get_path(cfg, root, "rules", d);
	cfg->case_store_line = cfg_line(config_setting_get_member(root, "case_store"));
	cfg->rules_line = cfg_line(config_setting_get_member(root, "rules"));
	config_parse_holidays(cfg, root, d);
	config_parse_contacts(cfg, root, d);

	v = cfg_get_string(root, "timezone", false, path, d);
	cfg->timezone = xstrdup(v ? v : CONFIG_DEFAULT_TIMEZONE);
	if (v != NULL && (*v == '\0' || strstr(v, "..") != NULL || v[0] == '/'))
		cfg_error(d, config_setting_get_member(root, "timezone"), path,
		          "\"%s\" is not a time zone name; expected e.g. \"Europe/London\"", v);

	if ((v = cfg_get_string(root, "send_time", false, path, d)) != NULL &&
	    (cfg->send_time = config_parse_hhmm(v)) < 0)
		cfg_error(d, config_setting_get_member(root, "send_time"), path,
		          "send_time \"%s\" is not a time; expected \"HH:MM\" (24-hour), e.g. "
		          "\"08:00\"",
		          v);

	if ((s = config_setting_get_member(root, "poll_interval")) != NULL) {
		if (config_setting_type(s) != CONFIG_TYPE_INT &&
		    config_setting_type(s) != CONFIG_TYPE_INT64)
			cfg_error(d, s, path, "poll_interval must be a whole number of seconds");
		else {
			long long pi = config_setting_get_int64(s);
			if (config_setting_type(s) == CONFIG_TYPE_INT)
				pi = config_setting_get_int(s);
			if (pi < 1 || pi > 86400)
				cfg_error(d, s, path,
				          "poll_interval must be between 1 and 86400 seconds, not "
				          "%lld",
				          pi);
			else
				cfg->poll_interval = (int)pi;
		}
	}

	config_destroy(&cf);
	if (d->errors != before) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Free a configuration. */
void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->case_store);
	free(cfg->state);
	free(cfg->rules_dir);
	for (size_t i = 0; i < cfg->nholidays; i++)
		free(cfg->holidays[i]);
	free(cfg->holidays);
	free(cfg->holiday_lines);
	for (size_t i = 0; i < cfg->ncontacts; i++) {
		free(cfg->contacts[i].name);
		free(cfg->contacts[i].address);
	}
	free(cfg->contacts);
	free(cfg->timezone);
	free(cfg);
}

/* The contact called name, or NULL. */
const struct contact *
config_find_contact(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->ncontacts; i++)
		if (strcmp(cfg->contacts[i].name, name) == 0)
			return &cfg->contacts[i];
	return NULL;
}
