/* token.c - response and form tokens: HMAC-SHA256 capabilities, base64url text. */
#include "token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "xalloc.h"

#define TOKEN_VERSION 1
#define TOKEN_MAC 16           /* bytes of the HMAC kept: 128 bits */
#define TOKEN_BODY (1 + 8 + 8) /* version, delivery id, expiry */
#define TOKEN_BYTES (TOKEN_BODY + TOKEN_MAC)
#define TOKEN_FORM_BYTES (8 + 16) /* time shown, HMAC */

/* Write v big-endian into p[0..8). */
static void
token_put64(unsigned char *p, unsigned long long v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)(v & 0xff);
}

/* Read a big-endian 64-bit value. */
static unsigned long long
token_get64(const unsigned char *p)
{
	unsigned long long v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* n bytes as base64url without padding (OpenSSL's encoder, then the URL alphabet). */
static char *
token_encode(const unsigned char *b, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	int len = EVP_EncodeBlock((unsigned char *)out, b, (int)n);

	while (len > 0 && out[len - 1] == '=')
		len--;
	out[len] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/* Decode exactly n bytes from base64url text s (of exactly the length n encodes to); -1 if not. */
static int
token_decode(const char *s, unsigned char *out, size_t n)
{
	size_t len = strlen(s), want = (4 * n + 2) / 3;
	char buf[128];
	unsigned char raw[96];

	if (len != want || len + 3 >= sizeof buf || n > sizeof raw - 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		           (c >= '0' && c <= '9')))
			return -1;
		buf[i] = c;
	}
	while (len % 4 != 0)
		buf[len++] = '=';
	buf[len] = '\0';
	if (EVP_DecodeBlock(raw, (const unsigned char *)buf, (int)len) < (int)n)
		return -1;
	memcpy(out, raw, n);
	return 0;
}

/* HMAC-SHA256 of (label, a, b) under key, its first TOKEN_MAC (or 16) bytes into mac. */
static void
token_mac(const unsigned char *key, size_t keylen, const char *label, const void *a, size_t alen,
          const void *b, size_t blen, unsigned char mac[16])
{
	unsigned char full[EVP_MAX_MD_SIZE];
	unsigned int fulllen = 0;
	size_t llen = strlen(label) + 1; /* with its NUL: no label is a prefix of another */
	size_t n = llen + alen + blen;
	unsigned char *msg = xmalloc(n);

	memcpy(msg, label, llen);
	memcpy(msg + llen, a, alen);
	if (blen > 0)
		memcpy(msg + llen + alen, b, blen);
	HMAC(EVP_sha256(), key, (int)keylen, msg, n, full, &fulllen);
	memcpy(mac, full, 16);
	OPENSSL_cleanse(full, sizeof full);
	free(msg);
}

char *
token_make(const unsigned char *key, size_t keylen, long long id, const char *recipient,
           long long expires)
{
	unsigned char t[TOKEN_BYTES];

	t[0] = TOKEN_VERSION;
	token_put64(t + 1, (unsigned long long)id);
	token_put64(t + 9, (unsigned long long)expires);
	token_mac(key, keylen, "escalator-response", t, TOKEN_BODY, recipient, strlen(recipient),
	          t + TOKEN_BODY);
	return token_encode(t, sizeof t);
}

int
token_peek(const char *token, long long *id, long long *expires)
{
	unsigned char t[TOKEN_BYTES];

	if (token == NULL || token_decode(token, t, sizeof t) != 0 || t[0] != TOKEN_VERSION)
		return -1;
	*id = (long long)token_get64(t + 1);
	*expires = (long long)token_get64(t + 9);
	return *id > 0 ? 0 : -1;
}

enum token_check
token_verify(const unsigned char *key, size_t keylen, const char *token, const char *recipient,
             long long now)
{
	unsigned char t[TOKEN_BYTES], mac[16];

	if (token == NULL || token_decode(token, t, sizeof t) != 0 || t[0] != TOKEN_VERSION)
		return TOKEN_MALFORMED;
	token_mac(key, keylen, "escalator-response", t, TOKEN_BODY, recipient, strlen(recipient),
	          mac);
	if (CRYPTO_memcmp(mac, t + TOKEN_BODY, TOKEN_MAC) != 0)
		return TOKEN_FORGED;
	if ((long long)token_get64(t + 9) < now)
		return TOKEN_EXPIRED;
	return TOKEN_OK;
}

const char *
token_check_name(enum token_check c)
{
	switch (c) {
	case TOKEN_OK:
		return "valid";
	case TOKEN_MALFORMED:
		return "not a link escalator made";
	case TOKEN_FORGED:
		return "the link has been changed, or is for someone else";
	case TOKEN_EXPIRED:
		return "the link has expired";
	}
	return "invalid";
}

char *
token_form(const unsigned char *key, size_t keylen, const char *token, long long now)
{
	unsigned char f[TOKEN_FORM_BYTES];

	token_put64(f, (unsigned long long)now);
	token_mac(key, keylen, "escalator-form", f, 8, token, strlen(token), f + 8);
	return token_encode(f, sizeof f);
}

bool
token_form_ok(const unsigned char *key, size_t keylen, const char *token, const char *form,
              long long now, long long max_age)
{
	unsigned char f[TOKEN_FORM_BYTES], mac[16];
	long long shown;

	if (token == NULL || form == NULL || token_decode(form, f, sizeof f) != 0)
		return false;
	token_mac(key, keylen, "escalator-form", f, 8, token, strlen(token), mac);
	if (CRYPTO_memcmp(mac, f + 8, 16) != 0)
		return false;
	shown = (long long)token_get64(f);
	return shown <= now + 60 && now - shown <= max_age;
}
