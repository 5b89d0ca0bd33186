/* config_smtp.c - the smtp group of the main configuration: the mail server and how to log in. */
#include <ctype.h>
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "cfgfile.h"
#include "config.h"
#include "config_parse.h"

static const char *const smtp_keys[] = {
    "url",       "from",          "from_name", "reply_to",
    "username",  "password_file", "starttls",  "allow_plaintext_auth",
    "auth",      "tenant",        "client_id", "client_secret_file",
    "token_url", "scope",         NULL,
};
/* The xoauth2 settings, refused with any other auth. */
static const char *const xoauth2_keys[] = {"tenant",    "client_id", "client_secret_file",
                                           "token_url", "scope",     NULL};
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
void
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
	if ((v = cfg_get_string(s, "reply_to", false, cfg->path, d)) != NULL) {
		if (!addr_valid_email(v))
			cfg_error(d, config_setting_get_member(s, "reply_to"), cfg->path,
			          "smtp reply_to \"%s\" is not an email address", v);
		else if (!config_domain_allowed(cfg, v))
			cfg_error(d, config_setting_get_member(s, "reply_to"), cfg->path,
			          "smtp reply_to \"%s\" is not in allowed_domains", v);
		smtp->reply_to = xstrdup(v);
	}
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
