/* address.c - is a string a mailbox or a URL we may send to? */
#include "address.h"

#include <string.h>
#include <strings.h>

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

/* Is s an http(s) URL without spaces or control characters? */
bool
addr_valid_url(const char *s)
{
	const char *rest;

	if (strncmp(s, "https://", 8) == 0)
		rest = s + 8;
	else if (strncmp(s, "http://", 7) == 0)
		rest = s + 7;
	else
		return false;
	if (*rest == '\0' || *rest == '/')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f)
			return false;
	return strlen(s) <= 2048;
}

/* Does the URL after its scheme name this machine? */
static bool
addr_loopback_host(const char *rest)
{
	static const char *const hosts[] = {"127.0.0.1", "localhost", "[::1]"};

	/* An '@' before the path makes what precedes it a user name: the host comes after it. */
	if (rest[strcspn(rest, "@/?#")] == '@')
		return false;
	for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
		size_t n = strlen(hosts[i]);

		if (strncmp(rest, hosts[i], n) == 0 &&
		    (rest[n] == '\0' || rest[n] == ':' || rest[n] == '/' || rest[n] == '?'))
			return true;
	}
	return false;
}

/* Is s an https:// URL, or an http:// URL to this machine? */
bool
addr_secure_url(const char *s)
{
	if (!addr_valid_url(s))
		return false;
	return strncmp(s, "https://", 8) == 0 || addr_loopback_host(s + 7);
}
