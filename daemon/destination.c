/*
 * destination.c - where a delivery goes: the contact's URL and credentials
 * filled in from the configuration, and the destination that paces it.
 */
#include "destination.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* The contact of a chat or Notify delivery (recorded by its name), or NULL. */
static const struct contact *
destination_contact(const struct config *cfg, enum channel kind, const char *name)
{
	const struct contact *c = name != NULL ? config_find_contact(cfg, name) : NULL;

	return c != NULL && c->kind == kind ? c : NULL;
}

/* The secret of the webhook contact with this URL, or NULL. */
static const char *
destination_secret(const struct config *cfg, const char *url)
{
	for (size_t i = 0; i < cfg->ncontacts; i++)
		if (cfg->contacts[i].kind == CHANNEL_WEBHOOK &&
		    strcmp(cfg->contacts[i].address, url) == 0)
			return cfg->contacts[i].secret;
	return NULL;
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
		if (recipient == NULL)
			return NULL;
		key = xasprintf("webhook %s", recipient);
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
	const struct contact *c;

	*recipient = xstrdup(d->recipient);
	*to = xstrdup(d->recipient);
	switch (d->kind) {
	case CHANNEL_EMAIL:
		break;
	case CHANNEL_WEBHOOK:
		d->secret = xstrdup_or_null(destination_secret(cfg, d->recipient));
		break;
	case CHANNEL_TEAMS:
	case CHANNEL_SLACK:
	case CHANNEL_GOVUK_NOTIFY:
		if ((c = destination_contact(cfg, d->kind, d->recipient)) == NULL) {
			*cause = xasprintf("there is no %s contact \"%s\" in the configuration any "
			                   "more; add it back (and reload) to send this alert",
			                   channel_name(d->kind), d->recipient);
			return -1;
		}
		free(d->recipient);
		if (d->kind == CHANNEL_GOVUK_NOTIFY) {
			/* The audit trail names the person: "contact <address>". */
			free(*recipient);
			*recipient = xasprintf("%s <%s>", c->name, c->email);
			d->recipient = xstrdup_or_null(c->email);
			d->secret = xstrdup_or_null(c->secret);
			d->template_id = xstrdup_or_null(c->template_id);
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
