/*
 * respond.c - the answer link /r/<token>: the page of the alert it names
 * (GET) and recording an answer to it (POST). The token is the capability:
 * nothing is shown or changed without one that is genuine, unexpired and
 * signed for the delivery's recipient as recorded; a POST also needs the
 * form token of a page of the same link, shown in the last 12 hours.
 */
#include "respond.h"

#include <event2/http.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clock.h"
#include "date.h"
#include "log.h"
#include "respond_page.h"
#include "token.h"
#include "xalloc.h"

/* How long a page's form may be sent after it was shown. */
#define RESPOND_FORM_AGE (12 * 3600)

void
respond_reply_free(struct respond_reply *r)
{
	free(r->body);
	free(r->location);
	r->body = r->location = NULL;
}

/* r: a refusal page with status. */
static void
respond_refuse(struct respond_reply *r, int status, const char *title, const char *why)
{
	r->status = status;
	r->body = respond_refusal(title, why);
}

/* r: escalator could not read or write its records (logged with cause). */
static void
respond_fail(struct respond_reply *r, const char *what, char *cause)
{
	log_err("answer link: %s: %s", what, cause);
	free(cause);
	r->status = 500;
	r->body = respond_refusal("Something went wrong",
	                          "escalator could not read or record this alert just now. Try "
	                          "again in a few minutes.");
}

/* r: the refusal of a link that is not genuine or not in date (c is not TOKEN_OK). */
static void
respond_refuse_token(struct respond_reply *r, enum token_check c)
{
	switch (c) {
	case TOKEN_EXPIRED:
		respond_refuse(r, 410, "This link has expired",
		               "Answer links work for a limited time, and this one's time has "
		               "passed.");
		break;
	case TOKEN_FORGED:
		respond_refuse(r, 403, "This link cannot be used",
		               "The link has been changed, or it was made for someone else.");
		break;
	case TOKEN_OK:
	case TOKEN_MALFORMED:
		respond_refuse(r, 404, "This link is not complete",
		               "The link was cut short or changed on its way to you, so it does "
		               "not lead to an alert.");
		break;
	}
}

/*
 * The delivery token names, when token is genuine and in date for it; else
 * NULL with the refusal in r. Malformed or unknown: 404; forged: 403;
 * expired: 410.
 */
static struct delivery *
respond_target(const struct config *cfg, struct statestore *ss, const char *token, time_t now,
               struct respond_reply *r)
{
	struct delivery *d = NULL;
	long long id, expires;
	char *cause = NULL;
	enum token_check c;
	int rc;

	if (cfg->response_key == NULL || token_peek(token, &id, &expires) != 0) {
		respond_refuse_token(r, TOKEN_MALFORMED);
		return NULL;
	}
	if ((rc = answers_target(ss, id, &d, &cause)) < 0) {
		respond_fail(r, "reading the alert", cause);
		return NULL;
	}
	if (rc > 0) {
		respond_refuse(r, 404, "This alert is no longer here",
		               "escalator no longer holds the alert this link was made for (old "
		               "alerts are removed after a while).");
		return NULL;
	}
	c = token_verify(cfg->response_key, cfg->response_key_len, token, d->recipient,
	                 (long long)now);
	if (c == TOKEN_OK)
		return d;
	respond_refuse_token(r, c);
	delivery_free(d);
	return NULL;
}

/* Today's local date (the configured time zone) into buf (DATE_STRLEN). */
static char *
respond_today(time_t now, char *buf)
{
	return date_format((date_t)(clock_local(now, NULL) / 1440), buf);
}

/* r: the page of d, with f's values and error when a submission was refused. */
static void
respond_render(const struct config *cfg, const struct delivery *d, const char *token, time_t now,
               const struct respond_form *f, const char *error, bool recorded,
               struct respond_reply *r)
{
	struct respond_view v;
	char today[DATE_STRLEN];
	char *form = token_form(cfg->response_key, cfg->response_key_len, token, (long long)now);

	memset(&v, 0, sizeof v);
	v.d = d;
	v.action = token;
	v.form_token = form;
	v.today = respond_today(now, today);
	v.error = error;
	v.recorded = recorded;
	if (f != NULL) {
		v.kind = f->kind;
		v.agreed_on = f->agreed_on;
		v.reason = f->reason;
		v.note = f->note;
		v.name = f->name;
	}
	r->status = error != NULL ? 400 : 200;
	r->body = respond_page(&v);
	free(form);
}

void
respond_get(const struct config *cfg, struct statestore *ss, const char *token, bool recorded,
            time_t now, struct respond_reply *r)
{
	struct delivery *d;

	memset(r, 0, sizeof *r);
	if ((d = respond_target(cfg, ss, token, now, r)) == NULL)
		return;
	respond_render(cfg, d, token, now, NULL, NULL, recorded, r);
	delivery_free(d);
}

/*
 * Does the Origin header origin name the site of response_url (scheme, host
 * and port as a browser writes them)? A browser sends it with every POST
 * from a page; "null" (a privacy setting, a sandbox) says nothing, and the
 * form token is the check that always applies.
 */
static bool
respond_origin_ok(const char *response_url, const char *origin)
{
	struct evhttp_uri *u;
	const char *scheme, *host;
	char *want;
	int port;
	bool ok;

	if (origin == NULL || strcmp(origin, "null") == 0)
		return true;
	if (response_url == NULL || (u = evhttp_uri_parse(response_url)) == NULL)
		return false;
	scheme = evhttp_uri_get_scheme(u);
	host = evhttp_uri_get_host(u);
	port = evhttp_uri_get_port(u);
	if (scheme == NULL || host == NULL) {
		evhttp_uri_free(u);
		return false;
	}
	/* A browser leaves the scheme's own port out. */
	if ((port == 443 && strcasecmp(scheme, "https") == 0) ||
	    (port == 80 && strcasecmp(scheme, "http") == 0))
		port = -1;
	if (port >= 0)
		want = xasprintf("%s://%s:%d", scheme, host, port);
	else
		want = xasprintf("%s://%s", scheme, host);
	ok = strcasecmp(want, origin) == 0;
	free(want);
	evhttp_uri_free(u);
	return ok;
}

/* A log field's value (quoted when it needs to be), allocated. */
static char *
respond_q(const char *s)
{
	return log_quote(s != NULL ? s : "");
}

void
respond_post(const struct config *cfg, struct statestore *ss, const char *token, const char *origin,
             const char *content_type, const char *body, size_t len, time_t now,
             struct respond_reply *r)
{
	struct respond_form f;
	struct delivery *d;
	struct answer a;
	char today[DATE_STRLEN], *why = NULL, *cause = NULL, *qr, *qc, *qs;

	memset(r, 0, sizeof *r);
	if ((d = respond_target(cfg, ss, token, now, r)) == NULL)
		return;
	if (!respond_origin_ok(cfg->response_url, origin)) {
		respond_refuse(r, 403, "This answer was not recorded",
		               "It was sent from another web site, not from escalator's page.");
		goto done;
	}
	if (content_type == NULL ||
	    strncasecmp(content_type, "application/x-www-form-urlencoded", 33) != 0) {
		respond_refuse(r, 415, "This answer was not recorded",
		               "It was not sent by escalator's form.");
		goto done;
	}
	if (respond_parse_form(body, len, &f, &why) != 0) {
		/* Unreadable: not even the form token can be checked; nothing is recorded. */
		respond_render(cfg, d, token, now, NULL, why, false, r);
		goto done;
	}
	if (!token_form_ok(cfg->response_key, cfg->response_key_len, token, f.form, (long long)now,
	                   RESPOND_FORM_AGE)) {
		respond_refuse(r, 403,
		               "This form expired or did not come from the page of this link",
		               "An answer is accepted only from the page its link opens, within "
		               "12 hours of opening it.");
		respond_form_free(&f);
		goto done;
	}
	if (respond_check(&f, respond_today(now, today), &a, &why) != 0) {
		respond_render(cfg, d, token, now, &f, why, false, r);
		respond_form_free(&f);
		goto done;
	}
	if (answers_add(ss, d, &a, &cause) < 0) {
		respond_fail(r, "recording an answer", cause);
		respond_form_free(&f);
		goto done;
	}
	qr = respond_q(d->rule);
	qc = respond_q(d->case_ref);
	qs = respond_q(d->stage);
	log_info("answer rule=%s case=%s stage=%s kind=%s", qr, qc, qs, answer_kind_name(a.kind));
	free(qr);
	free(qc);
	free(qs);
	respond_form_free(&f);
	/* Relative: the browser resolves it against the link, behind any proxy prefix. */
	r->status = 303;
	r->location = xasprintf("%s?recorded=1", token);
done:
	free(why);
	delivery_free(d);
}
