/* config.c - the main configuration file (escalatord -c FILE). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "cfgfile.h"
#include "govuk_notify.h"

static const char *const config_keys[] = {
    "case_store",
    "state",
    "rules",
    "holidays",
    "contacts",
    "timezone",
    "send_time",
    "poll_interval",
    "smtp",
    "ca_file",
    "max_deliveries",
    "max_per_destination",
    "connect_timeout",
    "delivery_timeout",
    "retry_min",
    "retry_max",
    "shutdown_timeout",
    "admin",
    "store_alert_after",
    NULL,
};
static const char *const contact_keys[] = {"email", "webhook", "secret_file", "teams",
                                           "slack", "notify",  NULL};
static const char *const notify_keys[] = {"api_key_file", "template_id", "email", "base_url", NULL};
static const char *const smtp_keys[] = {
    "url",
    "from",
    "from_name",
    "username",
    "password_file",
    "starttls",
    "allow_plaintext_auth",
    "auth",
    "tenant",
    "client_id",
    "client_secret_file",
    "token_url",
    "scope",
    NULL,
};
/* The xoauth2 settings, refused with any other auth. */
static const char *const xoauth2_keys[] = {"tenant",    "client_id", "client_secret_file",
                                           "token_url", "scope",     NULL};
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

/* Read a secret from a file only its owner may read. */
int
config_read_secret(const char *path, char **out, char **cause)
{
	struct stat sb;
	char buf[4096];
	ssize_t n;
	size_t len = 0;
	int fd;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		*cause = xasprintf("cannot read secret file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		*cause = xasprintf("secret file %s is not a regular file", path);
		close(fd);
		return -1;
	}
	if ((sb.st_mode & 077) != 0) {
		*cause = xasprintf("secret file %s can be read by group or others (mode %04o); "
		                   "run: chmod 600 %s",
		                   path, (unsigned)(sb.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	while (len < sizeof buf - 1 && (n = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	close(fd);
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = '\0';
	if (len == 0 || memchr(buf, '\0', len) != NULL || strpbrk(buf, "\r\n") != NULL) {
		*cause = xasprintf("secret file %s must hold one line, the secret", path);
		explicit_bzero(buf, sizeof buf);
		return -1;
	}
	*out = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

/* Free a secret after wiping it. */
static void
config_free_secret(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Read the secret file named by setting key of group g, reporting problems at its line. */
static char *
config_get_secret(const struct config *cfg, const config_setting_t *g, const char *key,
                  struct diag *d)
{
	const char *v = cfg_get_string(g, key, false, cfg->path, d);
	char *path, *secret = NULL, *cause = NULL;

	if (v == NULL)
		return NULL;
	path = config_resolve_path(cfg->dir, v);
	if (config_read_secret(path, &secret, &cause) != 0) {
		cfg_error(d, config_setting_get_member(g, key), cfg->path, "%s", cause);
		free(cause);
	}
	free(path);
	return secret;
}

/* Fetch an optional whole-number setting within [lo, hi]. */
static void
config_get_int(const config_setting_t *root, const char *name, int lo, int hi, const char *unit,
               int *out, const char *path, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(root, name);
	long long v;

	if (s == NULL)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		cfg_error(d, s, path, "%s must be a whole number of %s", name, unit);
		return;
	}
	v = config_setting_type(s) == CONFIG_TYPE_INT ? config_setting_get_int(s)
	                                              : config_setting_get_int64(s);
	if (v < lo || v > hi) {
		cfg_error(d, s, path, "%s must be between %d and %d %s, not %lld", name, lo, hi,
		          unit, v);
		return;
	}
	*out = (int)v;
}

/* Is s a tenant id or domain: letters, digits, '.' and '-', at most 128? */
static bool
config_valid_tenant(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 128)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (!isalnum(*p) && *p != '.' && *p != '-')
			return false;
	return true;
}

/* Is s one printable ASCII word without spaces, at most max bytes? */
static bool
config_valid_word(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len == 0 || len > max)
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f)
			return false;
	return true;
}

/* Parse the OAuth 2.0 client credentials settings of smtp group s (auth = "xoauth2"). */
static void
config_parse_xoauth2(struct config *cfg, const config_setting_t *s, struct smtp_settings *smtp,
                     struct diag *d)
{
	const char *v;

	if ((v = cfg_get_string(s, "tenant", false, cfg->path, d)) != NULL) {
		if (!config_valid_tenant(v))
			cfg_error(d, config_setting_get_member(s, "tenant"), cfg->path,
			          "smtp tenant must be the directory (tenant) id or its domain, "
			          "e.g. \"council.onmicrosoft.com\"");
		else
			smtp->tenant = xstrdup(v);
	}
	if ((v = cfg_get_string(s, "client_id", true, cfg->path, d)) != NULL) {
		if (!config_valid_word(v, 128))
			cfg_error(d, config_setting_get_member(s, "client_id"), cfg->path,
			          "smtp client_id must be the application (client) id");
		else
			smtp->client_id = xstrdup(v);
	}
	if (config_setting_get_member(s, "client_secret_file") == NULL)
		cfg_error(d, s, cfg->path,
		          "smtp auth = \"xoauth2\" needs client_secret_file = \"...\" (the "
		          "client secret, in a file only escalatord's user can read)");
	else
		smtp->client_secret = config_get_secret(cfg, s, "client_secret_file", d);
	if ((v = cfg_get_string(s, "token_url", false, cfg->path, d)) != NULL) {
		/* The request carries the client secret. */
		if (!addr_secure_url(v))
			cfg_error(d, config_setting_get_member(s, "token_url"), cfg->path,
			          "smtp token_url must be an https:// URL (http:// only to this "
			          "machine)");
		else
			smtp->token_url = xstrdup(v);
	} else if (smtp->tenant != NULL) {
		smtp->token_url = xasprintf(SMTP_TOKEN_URL_FMT, smtp->tenant);
	} else if (config_setting_get_member(s, "tenant") == NULL) {
		cfg_error(d, s, cfg->path,
		          "smtp auth = \"xoauth2\" needs tenant = \"...\" (the directory id or "
		          "domain of the council's Microsoft 365 tenant)");
	}
	v = cfg_get_string(s, "scope", false, cfg->path, d);
	if (v != NULL && !config_valid_word(v, 512))
		cfg_error(d, config_setting_get_member(s, "scope"), cfg->path,
		          "smtp scope must be one word, e.g. \"%s\"", SMTP_DEFAULT_SCOPE);
	smtp->scope = xstrdup(v != NULL ? v : SMTP_DEFAULT_SCOPE);
	if (config_setting_get_member(s, "password_file") != NULL)
		cfg_error(d, config_setting_get_member(s, "password_file"), cfg->path,
		          "smtp password_file does not go with auth = \"xoauth2\" (it uses "
		          "client_secret_file)");
	/* The mailbox the token is for: Exchange Online wants it as the SASL user. */
	if (smtp->username == NULL && smtp->from != NULL)
		smtp->username = xstrdup(smtp->from);
}

/* Parse the smtp group. */
static void
config_parse_smtp(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(root, "smtp"), *m;
	struct smtp_settings *smtp;
	const char *v;
	size_t before = d->errors;

	if (s == NULL)
		return;
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		cfg_error(d, s, cfg->path,
		          "\"smtp\" must be a group: smtp = { url = \"smtp://...\"; from = "
		          "\"...\"; };");
		return;
	}
	cfg_check_keys(s, smtp_keys, "smtp", cfg->path, d);
	smtp = cfg->smtp = xcalloc(1, sizeof *smtp);
	if ((v = cfg_get_string(s, "url", true, cfg->path, d)) != NULL) {
		if ((strncmp(v, "smtp://", 7) != 0 && strncmp(v, "smtps://", 8) != 0) ||
		    strpbrk(v, " \t\r\n") != NULL)
			cfg_error(d, config_setting_get_member(s, "url"), cfg->path,
			          "smtp url must look like \"smtp://mail.council.example:587\" "
			          "(STARTTLS) or \"smtps://mail.council.example:465\" (TLS)");
		smtp->url = xstrdup(v);
	}
	if ((v = cfg_get_string(s, "from", true, cfg->path, d)) != NULL) {
		if (!addr_valid_email(v))
			cfg_error(d, config_setting_get_member(s, "from"), cfg->path,
			          "smtp from \"%s\" is not an email address", v);
		smtp->from = xstrdup(v);
	}
	v = cfg_get_string(s, "from_name", false, cfg->path, d);
	if (v != NULL && strpbrk(v, "\r\n\"") != NULL)
		cfg_error(d, config_setting_get_member(s, "from_name"), cfg->path,
		          "smtp from_name must be one line without double quotes");
	smtp->from_name = xstrdup(v ? v : "escalator");
	if ((v = cfg_get_string(s, "username", false, cfg->path, d)) != NULL)
		smtp->username = xstrdup(v);

	smtp->auth = smtp->username != NULL ? SMTP_AUTH_PASSWORD : SMTP_AUTH_NONE;
	if ((v = cfg_get_string(s, "auth", false, cfg->path, d)) != NULL) {
		m = config_setting_get_member(s, "auth");
		if (strcmp(v, "xoauth2") == 0)
			smtp->auth = SMTP_AUTH_XOAUTH2;
		else if (strcmp(v, "password") == 0)
			smtp->auth = SMTP_AUTH_PASSWORD;
		else if (strcmp(v, "none") == 0)
			smtp->auth = SMTP_AUTH_NONE;
		else
			cfg_error(d, m, cfg->path,
			          "smtp auth must be \"password\", \"xoauth2\" or \"none\", not "
			          "\"%s\"",
			          v);
		if (smtp->auth == SMTP_AUTH_PASSWORD && smtp->username == NULL)
			cfg_error(d, m, cfg->path,
			          "smtp auth = \"password\" needs username = \"...\" and "
			          "password_file = \"...\"");
		if (smtp->auth == SMTP_AUTH_NONE &&
		    (smtp->username != NULL ||
		     config_setting_get_member(s, "password_file") != NULL))
			cfg_error(d, m, cfg->path,
			          "smtp auth = \"none\" does not go with username or "
			          "password_file");
	}
	if (smtp->auth == SMTP_AUTH_XOAUTH2) {
		config_parse_xoauth2(cfg, s, smtp, d);
	} else {
		for (const char *const *k = xoauth2_keys; *k != NULL; k++)
			if ((m = config_setting_get_member(s, *k)) != NULL)
				cfg_error(d, m, cfg->path,
				          "smtp %s only goes with auth = \"xoauth2\"", *k);
		smtp->password = config_get_secret(cfg, s, "password_file", d);
		if (smtp->username != NULL && config_setting_get_member(s, "password_file") == NULL)
			cfg_error(d, s, cfg->path,
			          "smtp has a username but no password_file = \"...\" (the "
			          "password is read from a file only escalatord's user can read)");
	}
	smtp->starttls = STARTTLS_REQUIRED;
	if ((v = cfg_get_string(s, "starttls", false, cfg->path, d)) != NULL) {
		if (strcmp(v, "required") == 0)
			smtp->starttls = STARTTLS_REQUIRED;
		else if (strcmp(v, "opportunistic") == 0)
			smtp->starttls = STARTTLS_OPPORTUNISTIC;
		else
			cfg_error(d, config_setting_get_member(s, "starttls"), cfg->path,
			          "starttls must be \"required\" or \"opportunistic\", not \"%s\"",
			          v);
	}
	if ((m = config_setting_get_member(s, "allow_plaintext_auth")) != NULL) {
		if (config_setting_type(m) != CONFIG_TYPE_BOOL)
			cfg_error(d, m, cfg->path, "allow_plaintext_auth must be true or false");
		else
			smtp->allow_plaintext_auth = config_setting_get_bool(m);
	}
	if (d->errors == before && smtp->auth != SMTP_AUTH_NONE &&
	    smtp->starttls != STARTTLS_REQUIRED && strncmp(smtp->url, "smtps://", 8) != 0 &&
	    !smtp->allow_plaintext_auth)
		cfg_error(d, s, cfg->path,
		          "smtp: a %s could be sent without TLS (starttls = "
		          "\"opportunistic\" on smtp://); use starttls = \"required\", or "
		          "smtps://, or set allow_plaintext_auth = true if you accept that risk",
		          smtp->auth == SMTP_AUTH_XOAUTH2 ? "bearer token" : "password");
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

/* Parse the notify group of contact c (GOV.UK Notify) into ct. Returns 0 or -1. */
static int
config_parse_notify(struct config *cfg, const config_setting_t *c, struct contact *ct,
                    struct diag *d)
{
	const config_setting_t *g = config_setting_get_member(c, "notify");
	const char *name = config_setting_name(c), *v;
	size_t before = d->errors;

	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		cfg_error(d, g, cfg->path,
		          "contact \"%s\": notify must be a group: notify = { api_key_file = "
		          "\"...\"; template_id = \"...\"; email = \"...\"; };",
		          name);
		return -1;
	}
	cfg_check_keys(g, notify_keys, "a notify contact", cfg->path, d);
	if ((v = cfg_get_string(g, "email", true, cfg->path, d)) != NULL) {
		if (!addr_valid_email(v))
			cfg_error(d, config_setting_get_member(g, "email"), cfg->path,
			          "contact \"%s\": \"%s\" is not an email address", name, v);
		else
			ct->email = xstrdup(v);
	}
	if ((v = cfg_get_string(g, "template_id", true, cfg->path, d)) != NULL) {
		if (!govuk_valid_uuid(v))
			cfg_error(d, config_setting_get_member(g, "template_id"), cfg->path,
			          "contact \"%s\": template_id must be the template's id as Notify "
			          "shows it (36 characters, e.g. "
			          "\"f33517ff-2a88-4f6e-b855-c550268ce08a\")",
			          name);
		else
			ct->template_id = xstrdup(v);
	}
	if ((v = cfg_get_string(g, "base_url", false, cfg->path, d)) != NULL) {
		if (!addr_secure_url(v))
			cfg_error(d, config_setting_get_member(g, "base_url"), cfg->path,
			          "contact \"%s\": base_url must be an https:// URL (http:// only "
			          "to this machine)",
			          name);
		else
			ct->url = xstrdup(v);
	} else {
		ct->url = xstrdup(GOVUK_NOTIFY_DEFAULT_URL);
	}
	/* A trailing '/' would double up with "/v2/...". */
	if (ct->url != NULL)
		for (size_t n = strlen(ct->url); n > 8 && ct->url[n - 1] == '/'; n--)
			ct->url[n - 1] = '\0';
	if (config_setting_get_member(g, "api_key_file") == NULL) {
		cfg_error(d, g, cfg->path,
		          "contact \"%s\": notify needs api_key_file = \"...\" (the API key, in "
		          "a file only escalatord's user can read)",
		          name);
	} else if ((ct->secret = config_get_secret(cfg, g, "api_key_file", d)) != NULL &&
	           govuk_service_id(ct->secret, &ct->service_id) != 0) {
		/* Never the key itself in the message. */
		cfg_error(d, config_setting_get_member(g, "api_key_file"), cfg->path,
		          "contact \"%s\": the file does not hold a GOV.UK Notify API key (the "
		          "key name, the service id and the secret joined by '-', as Notify "
		          "shows it once when the key is created)",
		          name);
	}
	return d->errors == before ? 0 : -1;
}

/* Free what a contact holds, wiping its secret. */
static void
config_contact_clear(struct contact *ct)
{
	free(ct->name);
	free(ct->address);
	config_free_secret(ct->secret);
	free(ct->url);
	free(ct->email);
	free(ct->template_id);
	free(ct->service_id);
	memset(ct, 0, sizeof *ct);
}

/* Parse the contacts group. */
static void
config_parse_contacts(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	static const char *const kinds[] = {"email", "webhook", "teams", "slack", "notify"};
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
		const config_setting_t *c = config_setting_get_elem(s, (unsigned)i), *m;
		const char *name = config_setting_name(c), *v = NULL;
		struct contact *ct = &cfg->contacts[cfg->ncontacts];
		size_t before = d->errors;
		int kind = -1, nkinds = 0;

		if (config_setting_type(c) != CONFIG_TYPE_GROUP) {
			cfg_error(d, c, cfg->path,
			          "contact \"%s\" must be a group: %s = { email = \"...\"; }", name,
			          name);
			continue;
		}
		cfg_check_keys(c, contact_keys, "a contact", cfg->path, d);
		for (int k = 0; k < CHANNEL_COUNT; k++) {
			if (config_setting_get_member(c, kinds[k]) == NULL)
				continue;
			nkinds++;
			kind = k;
		}
		if (nkinds != 1) {
			cfg_error(
			    d, c, cfg->path,
			    "contact \"%s\" needs exactly one of email = \"...\", webhook = "
			    "\"https://...\", teams = \"https://...\", slack = \"https://...\" "
			    "or notify = { ... }",
			    name);
			continue;
		}
		if (kind != CHANNEL_GOVUK_NOTIFY &&
		    (v = cfg_get_string(c, kinds[kind], true, cfg->path, d)) == NULL)
			continue;
		if (d->errors != before)
			continue;
		m = config_setting_get_member(c, kinds[kind]);
		ct->name = xstrdup(name);
		ct->kind = (enum channel)kind;
		switch (ct->kind) {
		case CHANNEL_EMAIL:
			if (!addr_valid_email(v))
				cfg_error(d, m, cfg->path,
				          "contact \"%s\": \"%s\" is not an email address", name,
				          v);
			ct->address = xstrdup(v);
			break;
		case CHANNEL_WEBHOOK:
			if (!addr_valid_url(v)) {
				cfg_error(
				    d, m, cfg->path,
				    "contact \"%s\": webhook must be an http:// or https:// URL",
				    name);
			} else if (!addr_secure_url(v)) {
				cfg_warning(
				    d, m, cfg->path,
				    "contact \"%s\": webhook uses http://, so alerts cross the "
				    "network unencrypted; use https://",
				    name);
			}
			ct->address = xstrdup(v);
			break;
		case CHANNEL_TEAMS:
		case CHANNEL_SLACK:
			/* The URL is the credential: never in a message, never over plain HTTP. */
			if (!addr_secure_url(v))
				cfg_error(d, m, cfg->path,
				          "contact \"%s\": %s must be the https:// URL of the %s",
				          name, kinds[kind],
				          kind == CHANNEL_TEAMS
				              ? "Teams workflow's \"When a Teams "
				                "webhook request is received\" trigger"
				              : "Slack app's incoming webhook");
			ct->address = xstrdup(name);
			ct->url = xstrdup(v);
			break;
		case CHANNEL_GOVUK_NOTIFY:
			ct->address = xstrdup(name);
			config_parse_notify(cfg, c, ct, d);
			break;
		}
		if ((m = config_setting_get_member(c, "secret_file")) != NULL) {
			if (ct->kind != CHANNEL_WEBHOOK)
				cfg_error(d, m, cfg->path,
				          "contact \"%s\": secret_file only goes with webhook",
				          name);
			else
				ct->secret = config_get_secret(cfg, c, "secret_file", d);
		}
		if (d->errors != before) {
			config_contact_clear(ct);
			continue;
		}
		cfg->ncontacts++;
	}
}

/* Parse and validate the main configuration file. */
struct config *
config_load(const char *path, struct diag *d)
{
	config_t cf;
	struct config *cfg;
	const config_setting_t *root;
	const char *v;
	size_t before = d->errors;

	cfg = xcalloc(1, sizeof *cfg);
	cfg->path = xstrdup(path);
	cfg->dir = config_dirname(path);
	cfg->send_time = CONFIG_DEFAULT_SEND_TIME;
	cfg->poll_interval = CONFIG_DEFAULT_POLL_INTERVAL;
	cfg->max_deliveries = CONFIG_DEFAULT_MAX_DELIVERIES;
	cfg->max_per_destination = CONFIG_DEFAULT_MAX_PER_DESTINATION;
	cfg->connect_timeout = CONFIG_DEFAULT_CONNECT_TIMEOUT;
	cfg->delivery_timeout = CONFIG_DEFAULT_DELIVERY_TIMEOUT;
	cfg->retry_min = CONFIG_DEFAULT_RETRY_MIN;
	cfg->retry_max = CONFIG_DEFAULT_RETRY_MAX;
	cfg->shutdown_timeout = CONFIG_DEFAULT_SHUTDOWN_TIMEOUT;
	cfg->store_alert_after = CONFIG_DEFAULT_STORE_ALERT_AFTER;

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

	config_get_int(root, "poll_interval", 1, 86400, "seconds", &cfg->poll_interval, path, d);

	config_parse_smtp(cfg, root, d);
	if ((v = cfg_get_string(root, "ca_file", false, path, d)) != NULL) {
		cfg->ca_file = config_resolve_path(cfg->dir, v);
		if (access(cfg->ca_file, R_OK) != 0)
			cfg_error(d, config_setting_get_member(root, "ca_file"), path,
			          "cannot read ca_file %s: %s", cfg->ca_file, strerror(errno));
	}
	config_get_int(root, "max_deliveries", 1, 1000, "deliveries", &cfg->max_deliveries, path,
	               d);
	config_get_int(root, "max_per_destination", 1, 1000, "deliveries",
	               &cfg->max_per_destination, path, d);
	config_get_int(root, "connect_timeout", 1, 600, "seconds", &cfg->connect_timeout, path, d);
	config_get_int(root, "delivery_timeout", 1, 3600, "seconds", &cfg->delivery_timeout, path,
	               d);
	config_get_int(root, "retry_min", 1, 3600, "seconds", &cfg->retry_min, path, d);
	config_get_int(root, "retry_max", 1, 86400, "seconds", &cfg->retry_max, path, d);
	config_get_int(root, "shutdown_timeout", 0, 600, "seconds", &cfg->shutdown_timeout, path,
	               d);

	config_get_int(root, "store_alert_after", 1, 604800, "seconds", &cfg->store_alert_after,
	               path, d);
	if ((v = cfg_get_string(root, "admin", false, path, d)) != NULL) {
		if (config_find_contact(cfg, v) == NULL)
			cfg_error(d, config_setting_get_member(root, "admin"), path,
			          "admin \"%s\" is not a contact; add it to contacts = { ... }", v);
		cfg->admin = xstrdup(v);
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
	for (size_t i = 0; i < cfg->ncontacts; i++)
		config_contact_clear(&cfg->contacts[i]);
	if (cfg->smtp != NULL) {
		free(cfg->smtp->url);
		free(cfg->smtp->from);
		free(cfg->smtp->from_name);
		free(cfg->smtp->username);
		config_free_secret(cfg->smtp->password);
		free(cfg->smtp->tenant);
		free(cfg->smtp->client_id);
		config_free_secret(cfg->smtp->client_secret);
		free(cfg->smtp->token_url);
		free(cfg->smtp->scope);
		free(cfg->smtp);
	}
	free(cfg->ca_file);
	free(cfg->admin);
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

/* The channel and address of the contact called name, for the rule loader. */
int
config_contact_channel(void *arg, const char *name, enum channel *ch, const char **address)
{
	const struct contact *c = config_find_contact(arg, name);

	if (c == NULL)
		return -1;
	*ch = c->kind;
	*address = c->address;
	return 0;
}
