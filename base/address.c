/* address.c - is a string a mailbox or a URL we may send to? */
#include "address.h"

#include <string.h>

/* Is s a plausible single email address? */
bool
addr_valid_email(const char *s)
{
	const char *at = NULL;
	size_t len = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++, len++) {
		if (*p <= ' ' || *p == 0x7f || *p == ',' || *p == ';' || *p == '<' || *p == '>' ||
		    *p == '"' || *p == '(' || *p == ')' || *p == '\\')
			return false;
		if (*p == '@') {
			if (at != NULL)
				return false;
			at = (const char *)p;
		}
	}
	/* Local part and a domain with a dot-free or dotted name after '@'. */
	return at != NULL && at != s && at[1] != '\0' && len <= 254;
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
