/*
 * config_digest.c - how alerts are grouped for their recipients: digest
 * ("daily" or "off", in escalator.conf and per contact), digest_times, and
 * case_url (the link to the case every alert carries).
 */
#include <libconfig.h>
#include <stdlib.h>
#include <string.h>

#include "cfgfile.h"
#include "clock.h"
#include "config.h"
#include "config_parse.h"
#include "govuk_notify.h"

/* Parse a digest setting m ("daily" or "off") into *out. */
static void
config_digest_value(const struct config *cfg, const config_setting_t *m, const char *who, int *out,
                    struct diag *d)
{
	const char *v =
	    config_setting_type(m) == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL;

	if (v != NULL && strcmp(v, "daily") == 0)
		*out = CONFIG_DIGEST_DAILY;
	else if (v != NULL && strcmp(v, "off") == 0)
		*out = CONFIG_DIGEST_OFF;
	else
		cfg_error(d, m, cfg->path,
		          "%sdigest must be \"daily\" (one message per recipient at each of "
		          "digest_times) or \"off\" (each alert on its own, at once)",
		          who);
}

/* Sort ints ascending. */
static int
config_int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Parse digest_times: a list of "HH:MM". */
static void
config_parse_digest_times(struct config *cfg, const config_setting_t *s, struct diag *d)
{
	int n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		cfg_error(d, s, cfg->path,
		          "digest_times must be a list of times, e.g. [ \"08:00\", \"13:00\" ]");
		return;
	}
	if ((n = config_setting_length(s)) == 0 || n > 24) {
		cfg_error(d, s, cfg->path, "digest_times must list 1 to 24 times");
		return;
	}
	cfg->digest_times = xcalloc((size_t)n, sizeof *cfg->digest_times);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING
		                    ? config_setting_get_string(e)
		                    : "";
		int t = config_parse_hhmm(v);

		if (t < 0) {
			cfg_error(
			    d, e, cfg->path,
			    "digest_times: \"%s\" is not a time; expected \"HH:MM\" (24-hour)", v);
			continue;
		}
		for (size_t j = 0; j < cfg->ndigest_times; j++)
			if (cfg->digest_times[j] == t)
				cfg_error(d, e, cfg->path, "digest_times: %s is listed twice", v);
		cfg->digest_times[cfg->ndigest_times++] = t;
	}
	qsort(cfg->digest_times, cfg->ndigest_times, sizeof *cfg->digest_times, config_int_cmp);
}

/* Parse digest, digest_times and case_url. */
void
config_parse_digest(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const config_setting_t *m;
	const char *v;
	char *cause = NULL;

	cfg->digest = CONFIG_DIGEST_DAILY;
	if ((m = config_setting_get_member(root, "digest")) != NULL)
		config_digest_value(cfg, m, "", &cfg->digest, d);
	if ((m = config_setting_get_member(root, "digest_times")) != NULL)
		config_parse_digest_times(cfg, m, d);
	if (cfg->ndigest_times == 0) {
		free(cfg->digest_times);
		cfg->digest_times = xcalloc(1, sizeof *cfg->digest_times);
		cfg->digest_times[0] = cfg->send_time;
		cfg->ndigest_times = 1;
	}
	if ((v = cfg_get_string(root, "case_url", false, cfg->path, d)) == NULL)
		return;
	m = config_setting_get_member(root, "case_url");
	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) {
		cfg_error(d, m, cfg->path,
		          "case_url must start with https://, e.g. "
		          "\"https://cms.council.example/case/{{case}}\"");
		return;
	}
	if ((cfg->case_url = template_compile(v, NULL, 0, &cause)) == NULL) {
		cfg_error(d, m, cfg->path,
		          "case_url: %s (a rule's own case_url may use its query's "
		          "columns too)",
		          cause);
		free(cause);
		return;
	}
	cfg->case_url_text = xstrdup(v);
}

/* Parse a contact's digest (and a Notify contact's digest_template). */
void
config_parse_contact_digest(struct config *cfg, const config_setting_t *c, struct contact *ct,
                            struct diag *d)
{
	const config_setting_t *m, *g = config_setting_get_member(c, "notify");
	char *who = xasprintf("contact \"%s\": ", config_setting_name(c));
	const char *v;

	ct->digest = CONFIG_DIGEST_INHERIT;
	if ((m = config_setting_get_member(c, "digest")) != NULL)
		config_digest_value(cfg, m, who, &ct->digest, d);
	free(who);
	if (ct->kind != CHANNEL_GOVUK_NOTIFY || g == NULL ||
	    config_setting_type(g) != CONFIG_TYPE_GROUP)
		return;
	if ((v = cfg_get_string(g, "digest_template", false, cfg->path, d)) != NULL) {
		if (!govuk_valid_uuid(v))
			cfg_error(d, config_setting_get_member(g, "digest_template"), cfg->path,
			          "contact \"%s\": digest_template must be the template's id as "
			          "Notify shows it (36 characters)",
			          config_setting_name(c));
		else
			ct->digest_template = xstrdup(v);
	} else if (ct->digest != CONFIG_DIGEST_OFF) {
		cfg_warning(d, config_setting_get_member(c, "notify"), cfg->path,
		            "contact \"%s\": GOV.UK Notify digests need digest_template = \"...\" "
		            "(a template with ((subject)) and ((body))); until it is set this "
		            "contact's alerts go one by one",
		            config_setting_name(c));
	}
}

/* Does the recipient go by digest? */
bool
config_digest_for(const struct config *cfg, const char *contact)
{
	const struct contact *c = contact != NULL ? config_find_contact(cfg, contact) : NULL;

	if (c != NULL && c->kind == CHANNEL_GOVUK_NOTIFY && c->digest_template == NULL)
		return false;
	if (c != NULL && c->digest != CONFIG_DIGEST_INHERIT)
		return c->digest == CONFIG_DIGEST_DAILY;
	return cfg->digest == CONFIG_DIGEST_DAILY;
}

/* The first digest time at or after local time now. */
long long
config_next_digest(const struct config *cfg, long long now)
{
	long long day = now >= 0 ? now / 1440 : (now - 1439) / 1440;
	long long minute = now - day * 1440;

	/* A configuration not made by config_load (tests): send_time alone. */
	if (cfg->ndigest_times == 0)
		return cfg->send_time >= minute ? day * 1440 + cfg->send_time
		                                : (day + 1) * 1440 + cfg->send_time;
	for (size_t i = 0; i < cfg->ndigest_times; i++)
		if (cfg->digest_times[i] >= minute)
			return day * 1440 + cfg->digest_times[i];
	return (day + 1) * 1440 + cfg->digest_times[0];
}

/* The instant of the first digest time at or after the instant now. */
long long
config_digest_instant(const struct config *cfg, time_t now)
{
	return (long long)clock_instant(config_next_digest(cfg, clock_local(now, NULL)), 0);
}
