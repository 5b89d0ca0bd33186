/*
 * fuzz_token.c - base/token.c on arbitrary bytes: token_peek, token_verify and
 * token_form_ok must never crash, never accept what the key did not make,
 * and agree with each other; tokens made from values in the input round-trip
 * and fail once any character is changed.
 *
 * Input: token \0 recipient \0 form token \0 (the rest: values for a round trip).
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_common.h"
#include "token.h"

static const unsigned char KEY[] = "fuzz-key-fuzz-key-fuzz-key-fuzz-key!";
#define KEYLEN (sizeof KEY - 1)
#define NOW 1767225600LL
#define B64 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

/* 8 bytes of data from offset at (zeros past the end), as a number. */
static long long
take64(const uint8_t *data, size_t size, size_t at)
{
	unsigned long long v = 0;

	for (size_t i = 0; i < 8; i++)
		v = v << 8 | (at + i < size ? data[at + i] : 0);
	return (long long)v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[3], *buf;
	size_t n;
	const char *token, *who, *form;
	long long id = 0, expires = 0;
	enum token_check c;
	int peek;

	buf = fuzz_split(data, size, parts, 3, &n);
	token = parts[0];
	who = parts[1] != NULL ? parts[1] : "";
	form = parts[2];

	peek = token_peek(token, &id, &expires);
	c = token_verify(KEY, KEYLEN, token, who, NOW);
	if (c != TOKEN_MALFORMED)
		FUZZ_CHECK(strlen(token) == TOKEN_LEN && strspn(token, B64) == TOKEN_LEN,
		           "\"%s\" is not a token's text but verified as %s", token,
		           token_check_name(c));
	if (peek == 0) {
		FUZZ_CHECK(c != TOKEN_MALFORMED, "token_peek took \"%s\", token_verify did not",
		           token);
		FUZZ_CHECK(id > 0, "token_peek gave delivery %lld", id);
	}
	if (c == TOKEN_OK || c == TOKEN_EXPIRED) {
		/* Genuine: exactly what token_make gives for what it names. */
		char *again;

		FUZZ_CHECK(token_peek(token, &id, &expires) == 0 || id <= 0, "peek");
		again = token_make(KEY, KEYLEN, id, who, expires);
		FUZZ_CHECK(strcmp(again, token) == 0, "\"%s\" accepted but not made by the key",
		           token);
		FUZZ_CHECK((c == TOKEN_OK) == (expires >= NOW), "expiry %lld judged %s", expires,
		           token_check_name(c));
		free(again);
	}
	/* A form token is never accepted unless the key made it for this token. */
	if (form != NULL && token_form_ok(KEY, KEYLEN, token, form, NOW, 12 * 3600)) {
		int ok = 0;

		for (long long t = NOW - 12 * 3600; t <= NOW + 60 && !ok; t++) {
			char *f = token_form(KEY, KEYLEN, token, t);

			ok = strcmp(f, form) == 0;
			free(f);
		}
		FUZZ_CHECK(ok, "form token \"%s\" for \"%s\" accepted", form, token);
	}

	/* Made from the input's values: round trip; every changed character is refused. */
	{
		long long mid = take64(data, size, 0), mexp = take64(data, size, 8);
		char *t = token_make(KEY, KEYLEN, mid, who, mexp), *f;
		size_t i = size > 0 ? data[size - 1] % TOKEN_LEN : 0;
		char orig = t[i];
		long long gid, gexp;

		FUZZ_CHECK(strlen(t) == TOKEN_LEN, "token_make gave \"%s\"", t);
		FUZZ_CHECK(token_verify(KEY, KEYLEN, t, who, mexp) == TOKEN_OK, "round trip");
		FUZZ_CHECK(mexp == LLONG_MAX ||
		               token_verify(KEY, KEYLEN, t, who, mexp + 1) == TOKEN_EXPIRED,
		           "expiry");
		if (mid > 0)
			FUZZ_CHECK(token_peek(t, &gid, &gexp) == 0 && gid == mid && gexp == mexp,
			           "peek after make");
		t[i] = orig == 'A' ? 'B' : 'A';
		c = token_verify(KEY, KEYLEN, t, who, mexp);
		FUZZ_CHECK(c == TOKEN_FORGED || c == TOKEN_MALFORMED, "character %zu changed: %s",
		           i, token_check_name(c));
		t[i] = orig;
		f = token_form(KEY, KEYLEN, t, NOW);
		FUZZ_CHECK(token_form_ok(KEY, KEYLEN, t, f, NOW, 0), "form round trip");
		f[i % TOKEN_FORM_LEN] = f[i % TOKEN_FORM_LEN] == 'A' ? 'B' : 'A';
		FUZZ_CHECK(!token_form_ok(KEY, KEYLEN, t, f, NOW, 3600), "changed form token");
		free(f);
		free(t);
	}
	free(buf);
	return 0;
}
