/*
 * destination.c - where a delivery goes: the contact's URL and credentials
 * filled in from the configuration, and the destination that paces it.
 */
#include "destination.h"

#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "xalloc.h"

/* The contact of a chat or Notify delivery (recorded by its name), or NULL. */
static const struct contact *
destination_contact(const struct config *cfg, enum channel kind, const char *name)
{
	const struct contact *c = name != NULL ? config_find_contact(cfg, name) : NULL;

	return c != NULL && c->kind == kind ? c : NULL;
}

/*
 * The webhook contact a delivery was recorded for: by its name, or (a store
 * written before webhook deliveries recorded the name) the contact whose URL
 * is the one recorded. NULL if there is none now.
 */
static const struct contact *
destination_webhook(const struct config *cfg, const char *recorded)
{
	const struct contact *c;

	if (recorded == NULL)
		return NULL;
	if ((c = destination_contact(cfg, CHANNEL_WEBHOOK, recorded)) != NULL)
		return c;
	if (strstr(recorded, "://") == NULL)
		return NULL;
	for (size_t i = 0; i < cfg->ncontacts; i++)
		if (cfg->contacts[i].kind == CHANNEL_WEBHOOK && cfg->contacts[i].url != NULL &&
		    strcmp(cfg->contacts[i].url, recorded) == 0)
			return &cfg->contacts[i];
	return NULL;
}

/* "name (host)": how a webhook appears in log lines and audit rows (its URL carries a token). */
static char *
destination_webhook_label(const char *name, const char *url)
{
	char *host = addr_url_host(url), *label;

	label = name != NULL ? xasprintf("%s (%s)", name, host != NULL ? host : "?")
	                     : xasprintf("webhook (%s)", host != NULL ? host : "?");
	free(host);
	return label;
}

/* The destination of deliveries of kind to recipient (NULL: any email), or NULL if unknown. */
struct destination *
destination_find(struct destinations *ds, const struct config *cfg, const struct notifier *nt,
                 enum channel kind, const char *recipient)
{
	const struct contact *c;
	struct destination *dest;
	char *key;
	int count, seconds;

	switch (kind) {
	case CHANNEL_EMAIL:
		key = xstrdup("email");
		break;
	case CHANNEL_WEBHOOK:
		if ((c = destination_webhook(cfg, recipient)) == NULL)
			return NULL;
		key = xasprintf("webhook %s", c->url);
		break;
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
		if ((c = destination_contact(cfg, kind, recipient)) == NULL)
			return NULL;
		key = xasprintf("%s %s", channel_name(kind), c->url);
		break;
	case CHANNEL_GOVUK_NOTIFY:
		/* Notify's limit is per API key: contacts sharing one share it. */
		if ((c = destination_contact(cfg, kind, recipient)) == NULL)
			return NULL;
		key = xasprintf("notify %s %s", c->url, c->service_id);
		break;
	default:
		return NULL;
	}
	for (size_t i = 0; i < ds->n; i++) {
		if (strcmp(ds->v[i]->key, key) == 0) {
			free(key);
			dest = ds->v[i];
			goto found;
		}
	}
	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? ds->cap * 2 : 8;
		ds->v = xreallocarray(ds->v, ds->cap, sizeof *ds->v);
	}
	dest = xcalloc(1, sizeof *dest);
	dest->key = key;
	ds->v[ds->n++] = dest;
found:
	/* The configuration may have changed since: keep the pace, take the limits anew. */
	dest->cap = cfg->max_per_destination > 0 ? cfg->max_per_destination
	                                         : CONFIG_DEFAULT_MAX_PER_DESTINATION;
	notifier_pacing(nt, kind, &count, &seconds, &dest->cap);
	{
		long long tat = dest->rl.tat;

		ratelimit_init(&dest->rl, count, seconds);
		dest->rl.tat = tat;
	}
	return dest;
}

/* Fill in d's credentials and say what the audit row and the log show. */
int
destination_resolve(const struct config *cfg, struct delivery *d, char **recipient, char **to,
                    char **cause)
{
	const struct contact *c = NULL;

	*recipient = xstrdup(d->recipient);
	*to = xstrdup(d->recipient);
	switch (d->kind) {
	case CHANNEL_EMAIL:
		break;
	case CHANNEL_WEBHOOK:
		/* Looked up by name at each attempt: a changed URL or secret is used from now on.
		 */
		if ((c = destination_webhook(cfg, d->recipient)) == NULL) {
			if (strstr(d->recipient, "://") == NULL)
				break; /* the contact is gone: below */
			/* Recorded as a URL by an older escalatord, and no contact has it now. */
			free(*recipient);
			free(*to);
			*recipient = destination_webhook_label(NULL, d->recipient);
			*to = xstrdup(*recipient);
			*cause =
			    xasprintf("recorded for a webhook URL at %s that no webhook contact "
			              "has any more; it will not be sent",
			              *recipient);
			return DESTINATION_FAILED;
		}
		free(*recipient);
		free(*to);
		*recipient = destination_webhook_label(c->name, c->url);
		*to = xstrdup(*recipient);
		free(d->recipient);
		d->recipient = xstrdup(c->url);
		/* Never unsigned when the contact is signed: its secret, or not sent at all. */
		if (c->secret_required && c->secret == NULL) {
			*cause = xasprintf("webhook contact \"%s\" has no secret to sign with; "
			                   "not sent unsigned",
			                   c->name);
			return -1;
		}
		d->secret = xstrdup_or_null(c->secret);
		break;
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
	case CHANNEL_GOVUK_NOTIFY:
		c = destination_contact(cfg, d->kind, d->recipient);
		break;
	}
	if (d->kind != CHANNEL_EMAIL && c == NULL) {
		*cause = xasprintf("there is no %s contact \"%s\" in the configuration any more "
		                   "(removed on reload); this delivery will not be sent",
		                   channel_name(d->kind), d->recipient);
		return DESTINATION_FAILED;
	}
	switch (d->kind) {
	case CHANNEL_EMAIL:
	case CHANNEL_WEBHOOK:
		break;
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
	case CHANNEL_GOVUK_NOTIFY:
		free(d->recipient);
		if (d->kind == CHANNEL_GOVUK_NOTIFY) {
			/* The audit trail names the person: "contact <address>". */
			free(*recipient);
			*recipient = xasprintf("%s <%s>", c->name, c->email);
			d->recipient = xstrdup_or_null(c->email);
			d->secret = xstrdup_or_null(c->secret);
			/* A digest goes with its own template (config_digest_for asks for one). */
			d->template_id = xstrdup_or_null(d->digest && c->digest_template != NULL
			                                     ? c->digest_template
			                                     : c->template_id);
			d->base_url = xstrdup_or_null(c->url);
		} else
			d->recipient = xstrdup_or_null(c->url);
		break;
	}
	if (d->fields_error != NULL) {
		*cause = xstrdup(d->fields_error);
		return -1;
	}
	return 0;
}

/* Free every destination. */
void
destinations_free(struct destinations *ds)
{
	for (size_t i = 0; i < ds->n; i++) {
		free(ds->v[i]->key);
		free(ds->v[i]);
	}
	free(ds->v);
	memset(ds, 0, sizeof *ds);
}
