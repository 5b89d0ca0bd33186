/* config.c - the main configuration file (escalatord -c FILE). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libconfig.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "casestore.h"
#include "cfgfile.h"
#include "config_parse.h"
#include "freshness.h"

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
    "allowed_domains",
    "query_timeout",
    "retention",
    "proxy",
    "digest",
    "digest_times",
    "case_url",
    "listen",
    "response_url",
    "response_key_file",
    "response_expiry",
    "max_store_age",
    "freshness_query",
    "change_query",
    "instance",
    "failover_timeout",
    NULL,
};

/*
 * instance (the name nodes sharing a state store on PostgreSQL elect a leader
 * for: one per council) and failover_timeout (how soon a standby takes over).
 */
static void
config_parse_lead(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(root, "instance");
	const char *v = cfg_get_string(root, "instance", false, cfg->path, d);

	cfg->instance = xstrdup(CONFIG_DEFAULT_INSTANCE);
	if (v != NULL) {
		size_t n = strlen(v), ok = strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789-_.");

		if (n == 0 || n > 63 || ok != n)
			cfg_error(
			    d, s, cfg->path,
			    "instance \"%s\" is not a name: 1 to 63 lower-case letters, digits, "
			    "'-', '_' or '.' (e.g. instance = \"council-a\";)",
			    v);
		else {
			free(cfg->instance);
			cfg->instance = xstrdup(v);
		}
	}
	config_get_int(root, "failover_timeout", 3, 3600, "seconds", &cfg->failover_timeout,
	               cfg->path, d);
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
	/*
	 * Group read is allowed: systemd's LoadCredential= writes the file owned by
	 * root, mode 0400, with an ACL entry for the service's user, and ls (and
	 * st_mode) show the ACL mask in the group bits: 0440. Refusing group read
	 * refused the route the unit suggests. Group write could swap the secret
	 * and others should see nothing, so those stay refused.
	 */
	if ((sb.st_mode & 0027) != 0) {
		*cause =
		    xasprintf("secret file %s can be %s (mode %04o); run: chmod 600 %s", path,
		              (sb.st_mode & 0007) != 0 ? "read by others" : "written by its group",
		              (unsigned)(sb.st_mode & 07777), path);
		close(fd);
		return -1;
	}
	/* Whoever owns it can rewrite it: escalatord's own user or root only. */
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		*cause = xasprintf("secret file %s is owned by uid %u, not by escalatord's user "
		                   "(uid %u) or root; run: chown %u %s",
		                   path, (unsigned)sb.st_uid, (unsigned)geteuid(),
		                   (unsigned)geteuid(), path);
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

/* Read the secret file named by setting key of group g, reporting problems at its line. */
char *
config_get_secret(const struct config *cfg, const config_setting_t *g, const char *key,
                  struct diag *d)
{
	const char *v = cfg_get_string(g, key, false, cfg->path, d);
	char *path, *secret = NULL, *cause = NULL;

	if (v == NULL || cfg->without_secrets)
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
void
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

/* allowed_domains = [ "anyshire.gov.uk", ... ]: where email may go. */
static void
config_parse_allowed_domains(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(root, "allowed_domains");
	int n;

	if (s == NULL)
		return;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		cfg_error(d, s, cfg->path,
		          "allowed_domains must be a list of domains, e.g. [ \"anyshire.gov.uk\", "
		          "\"nhs.net\" ]");
		return;
	}
	n = config_setting_length(s);
	if (n == 0)
		cfg_error(d, s, cfg->path,
		          "allowed_domains is empty: no email could be sent; list the council's "
		          "domains, or remove the setting");
	cfg->allowed_domains = xcalloc((size_t)n + 1, sizeof *cfg->allowed_domains);
	for (int i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *v = config_setting_type(e) == CONFIG_TYPE_STRING
		                    ? config_setting_get_string(e)
		                    : NULL;

		if (v == NULL || !addr_valid_domain(v)) {
			cfg_error(d, e, cfg->path,
			          "allowed_domains entry %s is not a domain name; expected e.g. "
			          "\"anyshire.gov.uk\" (letters, digits, hyphens and at least one "
			          "dot; no \"@\")",
			          v ? v : "(not a string)");
			continue;
		}
		cfg->allowed_domains[cfg->nallowed_domains++] = xstrdup(v);
	}
}

/* Is address's domain allowed? */
bool
config_domain_allowed(const struct config *cfg, const char *address)
{
	if (cfg->allowed_domains == NULL)
		return true;
	return addr_domain_in(address, (const char *const *)cfg->allowed_domains,
	                      cfg->nallowed_domains);
}

/* retention = "13 months": how long finished deliveries and audit rows are kept. */
static void
config_parse_retention(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const char *v = cfg_get_string(root, "retention", false, cfg->path, d);
	char *why = NULL;
	struct duration dur;

	if (v == NULL)
		return;
	if (duration_parse(v, &dur, &why) != 0 || dur.n < 1 || dur.unit == DUR_WORKING_DAYS) {
		cfg_error(d, config_setting_get_member(root, "retention"), cfg->path,
		          "retention \"%s\" is not a period to keep records for; expected a "
		          "positive number of days, weeks or months, e.g. \"13 months\"",
		          v);
		free(why);
		return;
	}
	cfg->retention = dur;
}

/*
 * max_store_age = "26 hours": how old the case store's data may be before the
 * admin is told; freshness_query: the SQL that says how old it is (compiled
 * against the case store by engine_load).
 */
static void
config_parse_freshness(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const config_setting_t *s = config_setting_get_member(root, "max_store_age");
	const config_setting_t *q = config_setting_get_member(root, "freshness_query");
	char *why = NULL;
	const char *v;

	if (s != NULL && config_setting_type(s) != CONFIG_TYPE_STRING)
		cfg_error(d, s, cfg->path,
		          "max_store_age must be an age in quotes, e.g. max_store_age = \"26 "
		          "hours\";");
	else if (s != NULL && freshness_parse_age(config_setting_get_string(s), &cfg->max_store_age,
	                                          &why) != 0) {
		cfg_error(d, s, cfg->path, "max_store_age %s", why);
		free(why);
	} else if (s != NULL)
		cfg->max_store_age_text = xstrdup(config_setting_get_string(s));
	if ((v = cfg_get_string(root, "freshness_query", false, cfg->path, d)) == NULL)
		return;
	cfg->freshness_query_line = cfg_line(q);
	if (*v == '\0')
		cfg_error(d, q, cfg->path,
		          "freshness_query is empty; remove it to judge the case store by the "
		          "time its file last changed");
	else if (s == NULL)
		cfg_error(d, q, cfg->path,
		          "freshness_query goes with max_store_age (how old the data may be), "
		          "e.g. max_store_age = \"26 hours\";");
	else
		cfg->freshness_query = xstrdup(v);
}

/* Parse and validate the main configuration file (without_secrets: read no secret file). */
static struct config *
config_load_file(const char *path, bool without_secrets, struct diag *d)
{
	config_t cf;
	struct config *cfg;
	const config_setting_t *root, *cs_url, *st_url;
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
	cfg->query_timeout = CONFIG_DEFAULT_QUERY_TIMEOUT;
	cfg->failover_timeout = CONFIG_DEFAULT_FAILOVER_TIMEOUT;
	cfg->retention.n = CONFIG_DEFAULT_RETENTION_MONTHS;
	cfg->retention.unit = DUR_MONTHS;
	cfg->response_expiry = CONFIG_DEFAULT_RESPONSE_EXPIRY;
	cfg->without_secrets = without_secrets;

	config_init(&cf);
	if (cfg_read(&cf, path, d) != 0) {
		config_destroy(&cf);
		config_free(cfg);
		return NULL;
	}
	root = config_root_setting(&cf);
	cfg_check_keys(root, config_keys, "the main configuration", path, d);

	/* A PostgreSQL URL is taken as written; a file is resolved like every path. */
	cs_url = config_setting_get_member(root, "case_store");
	if (cs_url != NULL && config_setting_type(cs_url) == CONFIG_TYPE_STRING &&
	    casestore_is_url(config_setting_get_string(cs_url)))
		cfg->case_store = xstrdup(config_setting_get_string(cs_url));
	else
		cfg->case_store = config_get_path(cfg, root, "case_store", d);
	st_url = config_setting_get_member(root, "state");
	if (st_url != NULL && config_setting_type(st_url) == CONFIG_TYPE_STRING &&
	    casestore_is_url(config_setting_get_string(st_url)))
		cfg->state = xstrdup(config_setting_get_string(st_url));
	else
		cfg->state = config_get_path(cfg, root, "state", d);
	cfg->rules_dir = config_get_path(cfg, root, "rules", d);
	cfg->case_store_line = cfg_line(config_setting_get_member(root, "case_store"));
	cfg->rules_line = cfg_line(config_setting_get_member(root, "rules"));
	config_parse_holidays(cfg, root, d);
	config_parse_allowed_domains(cfg, root, d);
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

	config_parse_digest(cfg, root, d);
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
	config_parse_freshness(cfg, root, d);
	if ((v = cfg_get_string(root, "change_query", false, path, d)) != NULL) {
		cfg->change_query_line = cfg_line(config_setting_get_member(root, "change_query"));
		if (*v == '\0')
			cfg_error(
			    d, config_setting_get_member(root, "change_query"), path,
			    "change_query is empty; remove it to watch the case store as usual");
		else
			cfg->change_query = xstrdup(v);
	}
	/* A server has no file whose time tells how old the data is. */
	if (cfg->max_store_age_text != NULL && cfg->freshness_query == NULL &&
	    cfg->case_store != NULL && casestore_is_url(cfg->case_store))
		cfg_error(d, config_setting_get_member(root, "max_store_age"), path,
		          "max_store_age on a PostgreSQL case store needs freshness_query, the "
		          "query that says when the data was last extracted (e.g. "
		          "freshness_query = \"SELECT max(loaded_at) FROM extract_log\";)");
	if ((v = cfg_get_string(root, "admin", false, path, d)) != NULL) {
		if (config_find_contact(cfg, v) == NULL)
			cfg_error(d, config_setting_get_member(root, "admin"), path,
			          "admin \"%s\" is not a contact; add it to contacts = { ... }", v);
		cfg->admin = xstrdup(v);
	} else {
		cfg_warning(d, NULL, path,
		            "admin is not set: nobody will hear of alerts that cannot be delivered "
		            "or of the service's own problems; set admin = \"<contact name>\"");
	}
	if (cfg->allowed_domains == NULL)
		cfg_warning(d, NULL, path,
		            "allowed_domains is not set: nothing limits where email alerts go; set "
		            "allowed_domains = [ \"<the council's domain>\", ... ]");
	config_get_int(root, "query_timeout", 1, 3600, "seconds", &cfg->query_timeout, path, d);
	config_parse_lead(cfg, root, d);
	config_parse_retention(cfg, root, d);
	config_parse_listen(cfg, root, d);
	if ((v = cfg_get_string(root, "proxy", false, path, d)) != NULL) {
		if (!addr_valid_url(v))
			cfg_error(d, config_setting_get_member(root, "proxy"), path,
			          "proxy \"%s\" is not a URL; expected e.g. "
			          "\"http://proxy.council.example:3128\"",
			          v);
		cfg->proxy = xstrdup(v);
	}

	config_destroy(&cf);
	if (d->errors != before) {
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

/* Parse and validate the main configuration file. */
struct config *
config_load(const char *path, struct diag *d)
{
	return config_load_file(path, false, d);
}

/* The same, reading no secret file. */
struct config *
config_load_public(const char *path, struct diag *d)
{
	return config_load_file(path, true, d);
}

/* Free a configuration. */
void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->dir);
	free(cfg->change_query);
	free(cfg->case_store);
	free(cfg->state);
	free(cfg->instance);
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
		free(cfg->smtp->reply_to);
		free(cfg->smtp->username);
		xfree_secret(cfg->smtp->password);
		free(cfg->smtp->tenant);
		free(cfg->smtp->client_id);
		xfree_secret(cfg->smtp->client_secret);
		free(cfg->smtp->token_url);
		free(cfg->smtp->scope);
		free(cfg->smtp);
	}
	free(cfg->ca_file);
	free(cfg->admin);
	free(cfg->max_store_age_text);
	free(cfg->freshness_query);
	for (size_t i = 0; i < cfg->nallowed_domains; i++)
		free(cfg->allowed_domains[i]);
	free(cfg->allowed_domains);
	free(cfg->proxy);
	free(cfg->digest_times);
	free(cfg->case_url_text);
	template_free(cfg->case_url);
	free(cfg->listen_host);
	free(cfg->response_url);
	if (cfg->response_key != NULL)
		OPENSSL_cleanse(cfg->response_key, cfg->response_key_len);
	free(cfg->response_key);
	free(cfg->contacts);
	free(cfg->timezone);
	free(cfg);
}
