/* address.h - is a string a mailbox or a URL we may send to? */
#ifndef ESCALATOR_ADDRESS_H
#define ESCALATOR_ADDRESS_H

#include <stdbool.h>

#include <stddef.h>

/*
 * Is s a plain email address we may send to: a dot-atom local part of ASCII
 * letters, digits and RFC 5322 atext (not '%' or '!'), '@', and a DNS domain
 * with at least one dot and a letters-only top level? Quoted local parts,
 * address literals ("[10.0.0.1]") and non-ASCII are refused.
 */
bool addr_valid_email(const char *s);
/* Is s a DNS domain name with at least one dot ("anyshire.gov.uk")? */
bool addr_valid_domain(const char *s);
/*
 * Is the domain of address (after its '@') one of domains[0..n) or a
 * subdomain of one ("mail.anyshire.gov.uk" is in "anyshire.gov.uk";
 * "evilanyshire.gov.uk" is not)? Case-insensitive.
 */
bool addr_domain_in(const char *address, const char *const *domains, size_t n);
/*
 * Is s an http:// or https:// URL with a host, as libcurl's URL parser reads
 * it, without a user name or password, spaces, backslashes or control
 * characters, at most 2048 characters?
 */
bool addr_valid_url(const char *s);
/*
 * Is s a valid URL (above) that is https://, or http:// to this machine
 * (127.0.0.1, localhost, [::1]) as the host libcurl would connect to?
 */
bool addr_secure_url(const char *s);
/* The host of the valid URL s as libcurl reads it, allocated; NULL if s is not valid. */
char *addr_url_host(const char *s);
/*
 * The host of URL s and its port when the URL names one ("127.0.0.1:8080"),
 * as libcurl reads it, for showing where something went (a user name or
 * password is never part of it); NULL if libcurl cannot read s. Allocated.
 */
char *addr_url_authority(const char *s);

#endif
