/*
 * refusal.c - deliveries refused: the recipient checked again just before
 * sending, and the notices to the admin of deliveries refused for good, with
 * where they went and the server's reason (no address's local part, no URL).
 */
#include "refusal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "channel.h"
#include "clock.h"
#include "log.h"
#include "notice.h"
#include "xalloc.h"

/*
 * Where d went, for the admin, never in full: "council.example" for an email
 * address, the host of a URL, or the contact's name it is recorded under.
 */
static void
refusal_where(const struct delivery *d, char *buf, size_t len)
{
	const char *r = d->recipient != NULL ? d->recipient : "", *at;
	size_t n = 0;
	char *host;

	buf[0] = '\0';
	if (strstr(r, "://") != NULL) {
		/* As libcurl reads it: never a user name, a password, a path or a token. */
		host = addr_url_authority(r);
		notice_put(buf, len, &n, host != NULL ? host : "?",
		           host != NULL ? strlen(host) : 1);
		free(host);
	} else if ((at = strrchr(r, '@')) != NULL) {
		notice_put(buf, len, &n, at + 1, strlen(at + 1));
	} else {
		notice_put(buf, len, &n, "contact ", 8);
		notice_put(buf, len, &n, r, strlen(r));
	}
}

/*
 * The server's reason, for the admin: one line of printable ASCII, at most
 * len - 1 bytes, every email address's local part and d's URL taken out (an
 * SMTP reply often repeats the address).
 */
static void
refusal_reason(const struct delivery *d, const char *detail, char *buf, size_t len)
{
	const char *url =
	    d->recipient != NULL && strstr(d->recipient, "://") != NULL ? d->recipient : NULL;
	size_t n = 0, i = 0, dl = detail != NULL ? strlen(detail) : 0;

	buf[0] = '\0';
	while (i < dl) {
		size_t j = i;

		if (url != NULL && strncmp(detail + i, url, strlen(url)) == 0) {
			if (!notice_put(buf, len, &n, "(the URL)", 9))
				return;
			i += strlen(url);
			continue;
		}
		/* A run of local-part characters followed by '@': the local part goes. */
		while (j < dl && detail[j] != '@' && detail[j] != ' ' && detail[j] != '<' &&
		       detail[j] != '>' && detail[j] != ':' && detail[j] != '"' && detail[j] != ',')
			j++;
		if (j < dl && detail[j] == '@' && j > i) {
			if (!notice_put(buf, len, &n, "...", 3))
				return;
			i = j;
			continue;
		}
		if (!notice_put(buf, len, &n, detail + i, j > i ? j - i : 1))
			return;
		i = j > i ? j : i + 1;
	}
}

/*
 * Why d must not be sent to its (resolved) recipient, allocated, or NULL: an
 * email address is checked again just before sending, with the strict syntax
 * and the allowed_domains in force now (they may have changed on a reload).
 */
char *
refusal_check(const struct config *cfg, const struct delivery *d)
{
	char where[128];

	if (d->kind != CHANNEL_EMAIL && d->kind != CHANNEL_GOVUK_NOTIFY)
		return NULL;
	if (d->recipient == NULL || !addr_valid_email(d->recipient)) {
		return xstrdup("the recipient is not an email address escalator sends to "
		               "(strict syntax); never sent");
	}
	if (!config_domain_allowed(cfg, d->recipient)) {
		refusal_where(d, where, sizeof where);
		return xasprintf("the recipient's domain %s is not in allowed_domains; never sent",
		                 where);
	}
	return NULL;
}

/* A new notice at the end of rs (its fields to fill). */
static struct refusal *
refusal_new(struct refusals *rs)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? rs->cap * 2 : 8;
		rs->v = xreallocarray(rs->v, rs->cap, sizeof *rs->v);
	}
	return &rs->v[rs->n++];
}

/*
 * A digest refused for good: one notice naming each alert in it (a digest of
 * notices only, the admin's own, is only logged: telling of it could loop).
 */
static void
refusal_keep_digest(struct refusals *rs, const struct delivery *d, const struct delivery_result *r)
{
	char where[128], reason[256];
	const char *kind = channel_name(d->kind);
	struct refusal *n;
	char *list = xstrdup(""), *line;
	size_t alerts = 0, shown = 0;

	for (size_t i = 0; i < d->nitems; i++) {
		const struct delivery *it = d->items[i];

		if (it->notice)
			continue;
		alerts++;
		if (shown == 40)
			continue;
		shown++;
		line = xasprintf("%s  %s case %s: %s%s\n", list, it->rule ? it->rule : "",
		                 it->case_ref ? it->case_ref : "",
		                 it->closed  ? "done"
		                 : it->stage ? it->stage
		                             : "",
		                 it->copied ? " (copied)" : "");
		free(list);
		list = line;
	}
	if (alerts == 0) {
		free(list);
		return;
	}
	refusal_where(d, where, sizeof where);
	refusal_reason(d, r->detail, reason, sizeof reason);
	n = refusal_new(rs);
	n->key = xasprintf("digest %s %s/%s", kind, where, d->uid ? d->uid : "");
	n->subject = xasprintf("Delivery failed: a digest of %zu alert%s (%s at %s)", alerts,
	                       alerts == 1 ? "" : "s", kind, where);
	n->body = xasprintf(
	    "A digest (%s, part %d of %d) was refused for good: it will not be tried again, and "
	    "the person it was for has not been told of these:\n\n%s%s\n"
	    "To: %s at %s (the recipient in full is in the state store's audit)\nAttempts: "
	    "%d\nCode: %ld\nReason: %s\nDelivery: %s\n\n"
	    "Correct the address or the contact (a person who has left, a mistyped address), "
	    "then tell the person another way.\n",
	    kind, d->part, d->parts, list,
	    alerts > shown ? "  (and more: see the state store)\n" : "", kind, where, d->attempts,
	    r->code, reason[0] ? reason : "(none given)", d->uid ? d->uid : "");
	free(list);
}

/* Keep a notice to the admin about delivery d, failed for good with result r. */
void
refusal_keep(struct refusals *rs, const struct delivery *d, const struct delivery_result *r)
{
	char where[128], reason[256];
	const char *kind = channel_name(d->kind);
	struct refusal *n;

	if (d->digest) {
		refusal_keep_digest(rs, d, r);
		return;
	}
	/* A notice's own failure is only logged: telling the admin of it could loop. */
	if (d->rule == NULL || notice_own(d->rule))
		return;
	refusal_where(d, where, sizeof where);
	refusal_reason(d, r->detail, reason, sizeof reason);
	n = refusal_new(rs);
	n->key = xasprintf("%s/%s/%s %s %s", d->rule, d->case_ref ? d->case_ref : "",
	                   d->stage ? d->stage : "", kind, where);
	n->subject =
	    xasprintf("Delivery failed: %s case %s stage %s (%s at %s)", d->rule,
	              d->case_ref ? d->case_ref : "", d->stage ? d->stage : "", kind, where);
	n->body = xasprintf(
	    "A delivery of this alert (%s) was refused for good: it will not be tried again, and "
	    "the person it was for has not been told.\n\n"
	    "Rule: %s (%s)\nCase: %s\nStage: %s\nDue: %s\nTo: %s at %s (the recipient in "
	    "full is in the state store's audit)\nAttempts: %d\nCode: %ld\nReason: %s\n"
	    "Delivery: %s\n\n"
	    "Correct the address or the contact (a person who has left, a mistyped address), "
	    "then tell the person another way.\n",
	    kind, d->rule, d->title ? d->title : "", d->case_ref ? d->case_ref : "",
	    d->stage ? d->stage : "", d->due ? d->due : "", kind, where, d->attempts, r->code,
	    reason[0] ? reason : "(none given)", d->uid ? d->uid : "");
}

/* Forget the notices kept. */
void
refusal_clear(struct refusals *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].key);
		free(rs->v[i].subject);
		free(rs->v[i].body);
	}
	rs->n = 0;
}

/* Forget the notices kept and free their storage. */
void
refusal_free(struct refusals *rs)
{
	refusal_clear(rs);
	free(rs->v);
	rs->v = NULL;
	rs->cap = 0;
}

/* Record a notice to the admin for each delivery failed for good (their results recorded). */
void
refusal_tell(const struct refusals *rs, struct statestore *ss, const struct config *cfg)
{
	date_t today = (date_t)(clock_local(clock_now(), NULL) / 1440);
	char *cause = NULL;

	for (size_t i = 0; i < rs->n; i++) {
		struct notice n = {
		    .kind = NOTICE_FAILED,
		    .title = "a delivery was refused for good",
		    .key = rs->v[i].key,
		    .day = today,
		    .subject = rs->v[i].subject,
		    .body = rs->v[i].body,
		};

		if (notice_admin(ss, cfg, &n, &cause) < 0) {
			log_err("cannot record the notice of a failed delivery for the admin: %s",
			        cause);
			free(cause);
			cause = NULL;
		}
	}
}
