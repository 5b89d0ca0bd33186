/* config_contacts.c - the contacts group of the main configuration: who a rule's notify can name.
 */
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "cfgfile.h"
#include "config.h"
#include "config_parse.h"
#include "govuk_notify.h"

static const char *const contact_keys[] = {"email", "webhook", "secret_file", "teams",
                                           "slack", "notify",  "digest",      NULL};
static const char *const notify_keys[] = {"api_key_file", "template_id",     "email",
                                          "base_url",     "digest_template", NULL};

/* Report contact name's address v (at setting m) as outside allowed_domains. */
static void
config_refused(const struct config *cfg, const config_setting_t *m, const char *name, const char *v,
               struct diag *d)
{
	/* The config is the admin's own file: the address may be shown in full. */
	cfg_error(d, m, cfg->path,
	          "contact \"%s\": \"%s\" is not in allowed_domains (its domain %s is not one "
	          "of them or a subdomain); correct the address or add the domain to "
	          "allowed_domains",
	          name, v, strrchr(v, '@') + 1);
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
		else if (!config_domain_allowed(cfg, v))
			config_refused(cfg, config_setting_get_member(g, "email"), name, v, d);
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
void
config_contact_clear(struct contact *ct)
{
	free(ct->name);
	free(ct->address);
	xfree_secret(ct->secret);
	free(ct->url);
	free(ct->email);
	free(ct->template_id);
	free(ct->digest_template);
	free(ct->service_id);
	memset(ct, 0, sizeof *ct);
}

/* Parse the contacts group. */
void
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
			else if (!config_domain_allowed(cfg, v))
				config_refused(cfg, m, name, v, d);
			ct->address = xstrdup(v);
			break;
		case CHANNEL_WEBHOOK:
			/*
			 * The URL often carries a token: deliveries record the contact's
			 * name, and log lines show the name and host only.
			 */
			if (!addr_valid_url(v))
				cfg_error(d, m, cfg->path,
				          "contact \"%s\": webhook must be an https:// URL with "
				          "a host and no user name or password",
				          name);
			else if (!addr_secure_url(v))
				cfg_error(d, m, cfg->path,
				          "contact \"%s\": webhook must be an https:// URL "
				          "(http:// only to this machine: 127.0.0.1, localhost or "
				          "[::1]); alerts must not cross the network unencrypted",
				          name);
			ct->address = xstrdup(name);
			ct->url = xstrdup(v);
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
			else {
				ct->secret_required = true;
				ct->secret = config_get_secret(cfg, c, "secret_file", d);
			}
		}
		config_parse_contact_digest(cfg, c, ct, d);
		if (d->errors != before) {
			config_contact_clear(ct);
			continue;
		}
		cfg->ncontacts++;
	}
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
