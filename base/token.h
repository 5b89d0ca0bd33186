/*
 * token.h - the capability in an alert's answer link, and the form token
 * that goes with the page it opens.
 *
 * A response token names one delivery (its state store id) and an expiry,
 * and is signed with HMAC-SHA256 over those and the delivery's recipient as
 * recorded, under the service's response key. It carries no case data and
 * not the recipient: the server reads the delivery's recipient from the
 * state store and checks the signature against it, so a token is useless for
 * any other delivery, and changing any byte of it makes it fail. Text form:
 * base64url without padding, TOKEN_LEN characters.
 *
 * A form token binds one response token to the time its page was shown; the
 * page's form sends it back, and a POST without a valid one for the same
 * response token is refused (cross-site request forgery; a form of one alert
 * replayed on another).
 */
#ifndef ESCALATOR_TOKEN_H
#define ESCALATOR_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

/* Shortest response key accepted (bytes of the key file). */
#define TOKEN_KEY_MIN 32
/* Characters of a response token and of a form token. */
#define TOKEN_LEN 44
#define TOKEN_FORM_LEN 32

enum token_check {
	TOKEN_OK,
	TOKEN_MALFORMED, /* not a token of this format at all */
	TOKEN_FORGED,    /* the signature does not match (tampered, another key or recipient) */
	TOKEN_EXPIRED,   /* genuine, but past its expiry */
};

/* The response token for delivery id to recipient (as recorded), valid until expires (unix s). */
char *token_make(const unsigned char *key, size_t keylen, long long id, const char *recipient,
                 long long expires);
/*
 * The delivery id and expiry a token claims, unverified (to look the delivery
 * up before token_verify). -1 when it is not a token of this format.
 */
int token_peek(const char *token, long long *id, long long *expires);
/* Check token against recipient at time now; the signature compared in constant time. */
enum token_check token_verify(const unsigned char *key, size_t keylen, const char *token,
                              const char *recipient, long long now);
/* What a check result means, for the refusal page and the log. */
const char *token_check_name(enum token_check c);

/* A form token for the page of response token token, shown at now. */
char *token_form(const unsigned char *key, size_t keylen, const char *token, long long now);
/*
 * Is form a form token this key made for token, no older than max_age
 * seconds at now (and not from the future)?
 */
bool token_form_ok(const unsigned char *key, size_t keylen, const char *token, const char *form,
                   long long now, long long max_age);

#endif
