/*
 * config_listen.c - the HTTP listener's settings: listen (where it binds),
 * response_url (the public base of answer links), response_key_file (the
 * key that signs them) and response_expiry (how long a link stays valid).
 */
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "cfgfile.h"
#include "config.h"
#include "config_parse.h"
#include "duration.h"
#include "token.h"
#include "xalloc.h"

/* listen = "127.0.0.1:8470" or "[::1]:8470": host and port into cfg. */
static void
config_parse_listen_address(struct config *cfg, const config_setting_t *s, const char *v,
                            struct diag *d)
{
	const char *colon, *host = v;
	size_t hostlen;
	char *end;
	long port;

	if (v[0] == '[') {
		const char *close = strchr(v, ']');

		colon = close != NULL && close[1] == ':' ? close + 1 : NULL;
		host = v + 1;
		hostlen = close != NULL ? (size_t)(close - host) : 0;
	} else {
		colon = strrchr(v, ':');
		hostlen = colon != NULL ? (size_t)(colon - v) : 0;
		if (colon != NULL && memchr(v, ':', hostlen) != NULL)
			colon = NULL; /* an IPv6 address needs its brackets */
	}
	if (colon == NULL || hostlen == 0) {
		cfg_error(d, s, cfg->path,
		          "listen \"%s\" is not an address and port; expected e.g. "
		          "\"127.0.0.1:8470\" or \"[::1]:8470\"",
		          v);
		return;
	}
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
		cfg_error(d, s, cfg->path,
		          "listen \"%s\": the port must be a number from 1 to 65535", v);
		return;
	}
	cfg->listen_host = xstrndup(host, hostlen);
	cfg->listen_port = (int)port;
	cfg->listen_line = cfg_line(s);
}

/* response_expiry = "30 days": a positive number of days or weeks, as seconds. */
static void
config_parse_expiry(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const char *v = cfg_get_string(root, "response_expiry", false, cfg->path, d);
	struct duration dur;
	char *why = NULL;

	if (v == NULL)
		return;
	if (duration_parse(v, &dur, &why) != 0 || dur.n < 1 ||
	    (dur.unit != DUR_DAYS && dur.unit != DUR_WEEKS) ||
	    (dur.unit == DUR_DAYS ? dur.n : dur.n * 7) > 366) {
		cfg_error(d, config_setting_get_member(root, "response_expiry"), cfg->path,
		          "response_expiry \"%s\" is not how long an answer link stays valid; "
		          "expected 1 to 366 days or weeks, e.g. \"30 days\"",
		          v);
		free(why);
		return;
	}
	cfg->response_expiry = (long long)(dur.unit == DUR_DAYS ? dur.n : dur.n * 7) * 86400;
}

/* Parse listen, response_url, response_key_file and response_expiry. */
void
config_parse_listen(struct config *cfg, const config_setting_t *root, struct diag *d)
{
	const config_setting_t *url_s = config_setting_get_member(root, "response_url");
	const config_setting_t *key_s = config_setting_get_member(root, "response_key_file");
	const char *v;
	char *key;

	if ((v = cfg_get_string(root, "listen", false, cfg->path, d)) != NULL)
		config_parse_listen_address(cfg, config_setting_get_member(root, "listen"), v, d);
	config_parse_expiry(cfg, root, d);
	if ((v = cfg_get_string(root, "response_url", false, cfg->path, d)) != NULL) {
		size_t n = strlen(v);

		if (!addr_valid_url(v) ||
		    (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0) ||
		    strpbrk(v, "?#") != NULL)
			cfg_error(d, url_s, cfg->path,
			          "response_url \"%s\" is not a web address people can open; "
			          "expected e.g. \"https://escalator.council.example\" (the "
			          "reverse proxy in front of listen)",
			          v);
		while (n > 0 && v[n - 1] == '/')
			n--;
		cfg->response_url = xstrndup(v, n);
		if (cfg->listen_host == NULL)
			cfg_error(d, url_s, cfg->path,
			          "response_url needs listen: answers come back to this "
			          "escalatord's listener (e.g. listen = \"127.0.0.1:8470\")");
		if (key_s == NULL)
			cfg_error(d, url_s, cfg->path,
			          "response_url needs response_key_file: the file holding the key "
			          "that signs answer links (at least %d bytes, mode 0600)",
			          TOKEN_KEY_MIN);
	}
	if ((key = config_get_secret(cfg, root, "response_key_file", d)) != NULL) {
		cfg->response_key_len = strlen(key);
		cfg->response_key = (unsigned char *)key;
		if (cfg->response_key_len < TOKEN_KEY_MIN)
			cfg_error(d, key_s, cfg->path,
			          "response_key_file: the key is %zu bytes; it must be at least %d "
			          "(make one with: head -c 32 /dev/urandom | base64 > FILE)",
			          cfg->response_key_len, TOKEN_KEY_MIN);
	}
}
