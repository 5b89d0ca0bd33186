/*
 * fuzz_config.c - the main configuration file (the input) loaded with
 * daemon/config.c's config_load, and every string in it put through the
 * validators the loader and the daemon rely on: addr_valid_email,
 * addr_valid_domain, addr_domain_in, addr_valid_url, addr_secure_url,
 * config_parse_hhmm and duration_parse.
 *
 * The file is written as escalator.conf in a private directory made once per
 * run, next to secret files a configuration may name by relative path
 * (smtp-password, hook-key, notify-api-key, client-secret, all mode 0600) and
 * an empty ca.pem. Inputs holding "@include" are skipped (libconfig would
 * open any file they name).
 *
 * Checked for the loader: a configuration comes back exactly when no error
 * was reported; every message starts with the file's name and never holds a
 * secret's text; what loaded is within the documented bounds (times, counts,
 * timeouts), every contact is valid for its channel (email addresses,
 * https:// or loopback URLs, Notify keys and template ids), admin names a
 * contact, allowed_domains are domains. Checked for the validators: an
 * accepted address has exactly one '@', only printable ASCII, no '%', '!',
 * quotes or brackets, at most 64 + 1 + 253 bytes, and a domain that passes
 * addr_valid_domain and addr_domain_in; an accepted URL has no spaces or
 * controls; an accepted plain http:// URL, as libcurl's URL parser reads it
 * (when it can), names this machine; an accepted time formats back to the
 * same "HH:MM"; an accepted duration formats and parses back the same.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libconfig.h>

#include "address.h"
#include "config.h"
#include "duration.h"
#include "fuzz_common.h"
#include "govuk_notify.h"

/* The secret files of the private directory, and what they hold. */
static const struct {
	const char *name, *text;
} secrets[] = {
    {"smtp-password", "s3cret-smtp-pa55word"},
    {"hook-key", "whsec_9b1de8d4f0c2a7e6b5f4e3d2c1b0a9f8"},
    {"notify-api-key",
     "escalator_live-0f3c1a2b-0000-4000-8000-000000000001-26785a09-ab16-4eb0-8407-a37497a57506"},
    {"client-secret", "Qx~8Q~abcdefghijklmnopqrstuvwxyz0123456"},
};

static char dir[64];

/* Remove the private directory. */
static void
remove_dir(void)
{
	char path[128];

	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, secrets[i].name);
		unlink(path);
	}
	snprintf(path, sizeof path, "%s/ca.pem", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/escalator.conf", dir);
	unlink(path);
	rmdir(dir);
}

/* Write text to dir/name with mode 0600. */
static void
write_file(const char *name, const void *text, size_t len)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "wb")) == NULL || (len > 0 && fwrite(text, 1, len, f) != len) ||
	    fclose(f) != 0 || chmod(path, 0600) != 0) {
		perror(path);
		abort();
	}
}

/* Make the private directory and its files, once. */
static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof dir, "%s/escalator-fuzz-config-XXXXXX",
	         tmp != NULL && strlen(tmp) < 24 ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	atexit(remove_dir);
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
		write_file(secrets[i].name, secrets[i].text, strlen(secrets[i].text));
	write_file("ca.pem", "", 0);
}

/* An address addr_valid_email accepted. */
static void
check_email(const char *s)
{
	const char *at = strchr(s, '@'), *domain;
	const char *const *list;

	FUZZ_CHECK(at != NULL && strchr(at + 1, '@') == NULL, "\"%s\": not exactly one '@'", s);
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f && strchr("%!\"[]()<>,;:\\", *p) == NULL,
		           "\"%s\": byte 0x%02x in an address", s, *p);
	FUZZ_CHECK(at > s && at - s <= 64 && strlen(at + 1) <= 253, "\"%s\": lengths", s);
	FUZZ_CHECK(s[0] != '.' && at[-1] != '.' && strstr(s, "..") == NULL, "\"%s\": dots", s);
	domain = at + 1;
	FUZZ_CHECK(addr_valid_domain(domain), "\"%s\": its domain is not valid alone", s);
	list = &domain;
	FUZZ_CHECK(addr_domain_in(s, list, 1), "\"%s\" is not in its own domain", s);
}

/* A domain addr_valid_domain accepted. */
static void
check_domain(const char *s)
{
	char *addr;

	FUZZ_CHECK(strchr(s, '.') != NULL && strlen(s) <= 253, "domain \"%s\"", s);
	FUZZ_CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") ==
	               strlen(s),
	           "domain \"%s\" has other characters", s);
	addr = xasprintf("x@%s", s);
	FUZZ_CHECK(addr_valid_email(addr), "\"%s\" refused though its domain is valid", addr);
	free(addr);
}

/* A URL addr_secure_url accepted: https://, or http:// that libcurl reads as this machine. */
static void
check_secure_url(const char *s)
{
	CURLU *u;
	char *host = NULL;

	FUZZ_CHECK(addr_valid_url(s), "secure but not valid: %s", s);
	if (strncmp(s, "https://", 8) == 0)
		return;
	FUZZ_CHECK(strncmp(s, "http://", 7) == 0, "secure URL %s", s);
	if ((u = curl_url()) == NULL)
		abort();
	if (curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		FUZZ_CHECK(strcmp(host, "127.0.0.1") == 0 || strcasecmp(host, "localhost") == 0 ||
		               strcmp(host, "[::1]") == 0,
		           "%s counts as this machine, but libcurl would connect to %s", s, host);
	curl_free(host);
	curl_url_cleanup(u);
}

/* Every validator on s. */
static void
validate(const char *s)
{
	struct duration dur, again;
	char *cause = NULL, buf[64];
	int t;

	if (addr_valid_email(s))
		check_email(s);
	if (addr_valid_domain(s))
		check_domain(s);
	if (addr_valid_url(s)) {
		FUZZ_CHECK(strlen(s) <= 2048 &&
		               (strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0),
		           "URL %s", s);
		for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
			FUZZ_CHECK(*p > ' ' && *p != 0x7f, "byte 0x%02x in URL %s", *p, s);
	}
	if (addr_secure_url(s))
		check_secure_url(s);
	if ((t = config_parse_hhmm(s)) >= 0) {
		FUZZ_CHECK(t < 24 * 60, "\"%s\" is minute %d", s, t);
		snprintf(buf, sizeof buf, "%02d:%02d", t / 60, t % 60);
		FUZZ_CHECK(strcmp(buf, s) == 0, "\"%s\" read as %s", s, buf);
	}
	if (duration_parse(s, &dur, &cause) == 0) {
		duration_format(&dur, buf, sizeof buf);
		FUZZ_CHECK(duration_parse(buf, &again, &cause) == 0 && again.n == dur.n &&
		               again.unit == dur.unit,
		           "\"%s\" -> \"%s\" does not parse back", s, buf);
	} else {
		FUZZ_CHECK(cause != NULL, "no cause for \"%s\"", s);
		free(cause);
	}
}

/* Every string value in the tree under s (libconfig's own reading of the input). */
static void
validate_tree(const config_setting_t *s)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		validate(config_setting_get_string(s));
		return;
	}
	for (int i = 0; i < config_setting_length(s); i++)
		validate_tree(config_setting_get_elem(s, (unsigned)i));
}

/* What config_load gave back is within its documented bounds. */
static void
check_config(const struct config *cfg)
{
	FUZZ_CHECK(cfg->send_time >= 0 && cfg->send_time < 1440, "send_time %d", cfg->send_time);
	FUZZ_CHECK(cfg->poll_interval >= 1 && cfg->poll_interval <= 86400, "poll_interval");
	FUZZ_CHECK(cfg->max_deliveries >= 1 && cfg->max_deliveries <= 1000, "max_deliveries");
	FUZZ_CHECK(cfg->max_per_destination >= 1 && cfg->max_per_destination <= 1000,
	           "max_per_destination");
	FUZZ_CHECK(cfg->connect_timeout >= 1 && cfg->delivery_timeout >= 1 && cfg->retry_min >= 1 &&
	               cfg->retry_max >= 1 && cfg->shutdown_timeout >= 0 &&
	               cfg->query_timeout >= 1 && cfg->query_timeout <= 3600,
	           "a timeout out of range");
	FUZZ_CHECK(cfg->timezone != NULL && *cfg->timezone != '\0', "timezone");
	FUZZ_CHECK(cfg->retention.n >= 1 && cfg->retention.unit != DUR_WORKING_DAYS, "retention");
	FUZZ_CHECK(cfg->proxy == NULL || addr_valid_url(cfg->proxy), "proxy %s", cfg->proxy);
	FUZZ_CHECK(cfg->admin == NULL || config_find_contact(cfg, cfg->admin) != NULL,
	           "admin %s is not a contact", cfg->admin);
	for (size_t i = 0; i < cfg->nallowed_domains; i++)
		FUZZ_CHECK(addr_valid_domain(cfg->allowed_domains[i]), "allowed domain %s",
		           cfg->allowed_domains[i]);
	if (cfg->smtp != NULL)
		FUZZ_CHECK(cfg->smtp->url != NULL && cfg->smtp->from != NULL, "smtp without url");
	for (size_t i = 0; i < cfg->ncontacts; i++) {
		const struct contact *c = &cfg->contacts[i];
		enum channel ch;
		const char *address;

		FUZZ_CHECK(c->name != NULL && config_find_contact(cfg, c->name) != NULL,
		           "contact %zu", i);
		FUZZ_CHECK(config_contact_channel((void *)cfg, c->name, &ch, &address) == 0,
		           "contact %s", c->name);
		switch (c->kind) {
		case CHANNEL_EMAIL:
			FUZZ_CHECK(addr_valid_email(c->address), "contact %s: %s", c->name,
			           c->address);
			(void)config_domain_allowed(cfg, c->address);
			break;
		case CHANNEL_WEBHOOK: /* recorded by name, like Teams and Slack; http only locally
		                       */
		case CHANNEL_TEAMS:
		case CHANNEL_SLACK:
			FUZZ_CHECK(addr_secure_url(c->url), "contact %s: %s", c->name, c->url);
			FUZZ_CHECK(strcmp(c->address, c->name) == 0, "contact %s: address %s",
			           c->name, c->address);
			break;
		case CHANNEL_GOVUK_NOTIFY:
			FUZZ_CHECK(c->email != NULL && addr_valid_email(c->email), "contact %s",
			           c->name);
			FUZZ_CHECK(c->template_id != NULL && govuk_valid_uuid(c->template_id),
			           "contact %s: template", c->name);
			FUZZ_CHECK(c->secret != NULL && c->service_id != NULL, "contact %s: no key",
			           c->name);
			FUZZ_CHECK(c->url != NULL && addr_secure_url(c->url),
			           "contact %s: base_url", c->name);
			break;
		default:
			FUZZ_CHECK(0, "contact %s of kind %d", c->name, (int)c->kind);
		}
	}
}

/* libconfig 1.5 leaks a string literal's buffer after some syntax errors (see fuzz_ruleset.c). */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[128], *text;
	struct config *cfg;
	struct diag d;
	config_t cf;

	if (memmem(data, size, "@include", 8) != NULL)
		return 0;
	if (dir[0] == '\0')
		setup();
	snprintf(path, sizeof path, "%s/escalator.conf", dir);
	write_file("escalator.conf", data, size);

	diag_init(&d);
	cfg = config_load(path, &d);
	FUZZ_CHECK((cfg != NULL) == (d.errors == 0), "config %p with %zu errors", (void *)cfg,
	           d.errors);
	if (getenv("FUZZ_CONFIG_VERBOSE") != NULL) /* to see what a seed reaches */
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%s\n", d.v[i].text);
	for (size_t i = 0; i < d.n; i++) {
		FUZZ_CHECK(d.v[i].text != NULL && strncmp(d.v[i].text, path, strlen(path)) == 0,
		           "message does not start with the file name: %s",
		           d.v[i].text ? d.v[i].text : "(null)");
		/* (Unless the input holds that text itself.) */
		for (size_t k = 0; k < sizeof secrets / sizeof secrets[0]; k++)
			FUZZ_CHECK(memmem(data, size, secrets[k].text, strlen(secrets[k].text)) !=
			                   NULL ||
			               strstr(d.v[i].text, secrets[k].text) == NULL,
			           "a secret in the message: %s", d.v[i].text);
	}
	if (cfg != NULL)
		check_config(cfg);
	config_free(cfg);
	diag_free(&d);

	/* The validators, on every string libconfig reads from the input. */
	text = fuzz_strndup(data, size);
	config_init(&cf);
	if (config_read_string(&cf, text) == CONFIG_TRUE)
		validate_tree(config_root_setting(&cf));
	config_destroy(&cf);
	/* And on the input itself, as one string. */
	validate(text);
	free(text);
	return 0;
}
