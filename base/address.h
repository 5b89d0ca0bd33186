/* address.h - is a string a mailbox or a URL we may send to? */
#ifndef ESCALATOR_ADDRESS_H
#define ESCALATOR_ADDRESS_H

#include <stdbool.h>

/* Is s a plausible single email address (no spaces, controls, commas; one '@')? */
bool addr_valid_email(const char *s);
/* Is s an http:// or https:// URL without spaces or control characters? */
bool addr_valid_url(const char *s);
/* Is s an https:// URL, or an http:// URL to this machine (127.0.0.1, localhost, [::1])? */
bool addr_secure_url(const char *s);

#endif
