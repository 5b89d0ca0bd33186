/* address.c - is a string a mailbox or a URL we may send to? */
#include "address.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "xalloc.h"

/* Characters a dot-atom local part may hold: RFC 5322 atext less '%' and '!' (old relaying). */
static bool
addr_local_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("#$&'*+-/=?^_`{|}~", c) != NULL);
}

/* Is [s, s+n) a DNS host name with at least two labels and a letter-only top level? */
static bool
addr_domain_span(const char *s, size_t n)
{
	size_t label = 0, labels = 1, tld_start = 0;
	bool tld_alpha = true;

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return false;
			label = 0;
			labels++;
			tld_start = i + 1;
			tld_alpha = true;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
			tld_alpha = false;
		if (++label > 63)
			return false;
	}
	return labels >= 2 && label >= 2 && s[n - 1] != '-' && tld_alpha && tld_start > 0;
}

/* Is s a plain address: a dot-atom local part, '@', a dotted DNS domain; ASCII only? */
bool
addr_valid_email(const char *s)
{
	const char *at = strchr(s, '@');
	size_t local, len = strlen(s);

	if (at == NULL || len > 254)
		return false;
	local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
		return false;
	for (size_t i = 0; i < local; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!addr_local_char((unsigned char)s[i]))
			return false;
	}
	return addr_domain_span(at + 1, strlen(at + 1));
}

/* Is s a DNS domain name with a dot ("anyshire.gov.uk")? */
bool
addr_valid_domain(const char *s)
{
	return addr_domain_span(s, strlen(s));
}

/* Is the domain of address (after its '@') one of domains[0..n), or a subdomain of one? */
bool
addr_domain_in(const char *address, const char *const *domains, size_t n)
{
	const char *at = strrchr(address, '@');
	size_t dl;

	if (at == NULL)
		return false;
	at++;
	dl = strlen(at);
	for (size_t i = 0; i < n; i++) {
		size_t al = strlen(domains[i]);

		if (dl == al && strcasecmp(at, domains[i]) == 0)
			return true;
		if (dl > al && at[dl - al - 1] == '.' && strcasecmp(at + dl - al, domains[i]) == 0)
			return true;
	}
	return false;
}

/*
 * libcurl's own reading of s, the URL it will connect to, or NULL if s is not
 * an http(s) URL with a host and without a user name or password. Deciding on
 * the text ("does it start with 127.0.0.1?") is how "http://127.0.0.1:443@
 * evil.example/" passed for this machine: every decision is made on the parts
 * libcurl finds, because libcurl is what connects.
 */
static CURLU *
addr_url_parse(const char *s)
{
	CURLU *u;
	const char *rest;
	char *part = NULL;
	bool ok = false;

	if (strlen(s) > 2048 || (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0))
		return NULL;
	/* libcurl would take "https:///x" as the host "x": a slash too many is refused. */
	rest = s + (s[4] == 's' ? 8 : 7);
	if (*rest == '\0' || *rest == '/')
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '\\')
			return NULL;
	if ((u = curl_url()) == NULL)
		return NULL;
	if (curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK)
		goto done;
	/* A user name or password in the URL: refused (and what the old check tripped on). */
	if (curl_url_get(u, CURLUPART_USER, &part, 0) != CURLUE_NO_USER)
		goto done;
	if (curl_url_get(u, CURLUPART_PASSWORD, &part, 0) != CURLUE_NO_PASSWORD)
		goto done;
	if (curl_url_get(u, CURLUPART_HOST, &part, 0) != CURLUE_OK || *part == '\0')
		goto done;
	ok = true;
done:
	curl_free(part);
	if (!ok) {
		curl_url_cleanup(u);
		return NULL;
	}
	return u;
}

/* Part which of u (lowercased by libcurl where it normalises), allocated; NULL if absent. */
static char *
addr_url_part(CURLU *u, CURLUPart which)
{
	char *part = NULL, *copy;

	if (curl_url_get(u, which, &part, 0) != CURLUE_OK)
		return NULL;
	copy = xstrdup(part);
	curl_free(part);
	return copy;
}

/* Is s an http(s) URL with a host, no user name or password, spaces or control characters? */
bool
addr_valid_url(const char *s)
{
	CURLU *u = addr_url_parse(s);

	curl_url_cleanup(u);
	return u != NULL;
}

/* Is s an https:// URL, or an http:// URL to this machine? */
bool
addr_secure_url(const char *s)
{
	static const char *const loopback[] = {"127.0.0.1", "localhost", "[::1]"};
	CURLU *u = addr_url_parse(s);
	char *scheme, *host;
	bool ok = false;

	if (u == NULL)
		return false;
	scheme = addr_url_part(u, CURLUPART_SCHEME);
	host = addr_url_part(u, CURLUPART_HOST);
	if (scheme != NULL && strcasecmp(scheme, "https") == 0)
		ok = true;
	else if (scheme != NULL && strcasecmp(scheme, "http") == 0 && host != NULL)
		for (size_t i = 0; i < sizeof loopback / sizeof loopback[0]; i++)
			if (strcasecmp(host, loopback[i]) == 0)
				ok = true;
	free(scheme);
	free(host);
	curl_url_cleanup(u);
	return ok;
}

/* The host of URL s as libcurl reads it (what a log line may show), or NULL. Allocated. */
char *
addr_url_host(const char *s)
{
	CURLU *u = addr_url_parse(s);
	char *host;

	if (u == NULL)
		return NULL;
	host = addr_url_part(u, CURLUPART_HOST);
	curl_url_cleanup(u);
	return host;
}

/*
 * The host of URL s, with ":port" when it names one, as libcurl reads it, or
 * NULL. For showing where something went, not for deciding on it: a user name
 * or password in s (refused by addr_valid_url) is skipped, never shown.
 * Allocated.
 */
char *
addr_url_authority(const char *s)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *out;

	if (u == NULL || curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK ||
	    (host = addr_url_part(u, CURLUPART_HOST)) == NULL) {
		curl_url_cleanup(u);
		return NULL;
	}
	port = addr_url_part(u, CURLUPART_PORT); /* NULL unless the URL names one */
	out = port != NULL ? xasprintf("%s:%s", host, port) : xstrdup(host);
	free(host);
	free(port);
	curl_url_cleanup(u);
	return out;
}
