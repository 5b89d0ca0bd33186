/* test_token.c - unit tests for base/token.c: answer link tokens and form tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "token.h"
#include "xalloc.h"

static const unsigned char KEY[] = "0123456789abcdef0123456789abcdef-test-key";
#define KEYLEN (sizeof KEY - 1)
#define WHO "tm@council.example"
#define NOW 1767225600LL /* 2026-01-01T00:00:00Z */
#define DAY 86400LL

/* The base64url alphabet, in order. */
static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* A token's text is TOKEN_LEN characters of base64url and says what it names. */
static void
test_token_round_trip(void **state)
{
	long long ids[] = {1, 2, 255, 256, 123456789, 9007199254740993LL, 0x7fffffffffffffffLL};

	for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
		char *t = token_make(KEY, KEYLEN, ids[i], WHO, NOW + 30 * DAY);
		long long id = 0, expires = 0;

		assert_int_equal(strlen(t), TOKEN_LEN);
		assert_int_equal(strspn(t, B64), TOKEN_LEN);
		assert_int_equal(token_peek(t, &id, &expires), 0);
		assert_true(id == ids[i]);
		assert_true(expires == NOW + 30 * DAY);
		assert_int_equal(token_verify(KEY, KEYLEN, t, WHO, NOW), TOKEN_OK);
		/* Nothing of the recipient (or any case data) is in it. */
		assert_null(strstr(t, "council"));
		free(t);
	}
	/* The same inputs give the same token; another delivery another one. */
	char *a = token_make(KEY, KEYLEN, 7, WHO, NOW), *b = token_make(KEY, KEYLEN, 7, WHO, NOW);
	char *c = token_make(KEY, KEYLEN, 8, WHO, NOW);

	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	free(a);
	free(b);
	free(c);
}

/* Every single-character change of a token is refused, never accepted. */
static void
test_token_every_change_refused(void **state)
{
	char *t = token_make(KEY, KEYLEN, 42, WHO, NOW + DAY);
	size_t forged = 0, malformed = 0;

	for (size_t i = 0; i < TOKEN_LEN; i++) {
		char orig = t[i];

		for (const char *c = B64; *c != '\0'; c++) {
			enum token_check r;

			if (*c == orig)
				continue;
			t[i] = *c;
			r = token_verify(KEY, KEYLEN, t, WHO, NOW);
			if (r != TOKEN_FORGED && r != TOKEN_MALFORMED)
				fail_msg("token with character %zu changed to '%c': %s", i, *c,
				         token_check_name(r));
			forged += r == TOKEN_FORGED;
			malformed += r == TOKEN_MALFORMED;
		}
		/* And bytes that are not base64url at all. */
		for (const char *c = "=+/.~ %\x01\x7f\xc3"; *c != '\0'; c++) {
			t[i] = *c;
			assert_int_equal(token_verify(KEY, KEYLEN, t, WHO, NOW), TOKEN_MALFORMED);
		}
		t[i] = orig;
	}
	assert_int_equal(token_verify(KEY, KEYLEN, t, WHO, NOW), TOKEN_OK);
	/* Changing the version byte makes it another format; anything else breaks the MAC. */
	assert_true(malformed > 0);
	assert_true(forged > 40 * 63);
	free(t);
}

/* Not tokens: too short, too long, empty, NULL, padded, a version this code does not know. */
static void
test_token_malformed(void **state)
{
	char *t = token_make(KEY, KEYLEN, 42, WHO, NOW + DAY);
	char buf[128];
	long long id, expires;

	snprintf(buf, sizeof buf, "%s", t);
	buf[TOKEN_LEN - 1] = '\0';
	assert_int_equal(token_verify(KEY, KEYLEN, buf, WHO, NOW), TOKEN_MALFORMED);
	assert_int_equal(token_peek(buf, &id, &expires), -1);
	snprintf(buf, sizeof buf, "%sA", t);
	assert_int_equal(token_verify(KEY, KEYLEN, buf, WHO, NOW), TOKEN_MALFORMED);
	snprintf(buf, sizeof buf, "%s=", t);
	assert_int_equal(token_verify(KEY, KEYLEN, buf, WHO, NOW), TOKEN_MALFORMED);
	assert_int_equal(token_verify(KEY, KEYLEN, "", WHO, NOW), TOKEN_MALFORMED);
	assert_int_equal(token_verify(KEY, KEYLEN, NULL, WHO, NOW), TOKEN_MALFORMED);
	assert_int_equal(token_peek(NULL, &id, &expires), -1);
	assert_int_equal(token_peek("", &id, &expires), -1);
	/* Version 2 ("Ag..." is 0x02 in the first byte). */
	snprintf(buf, sizeof buf, "%s", t);
	buf[0] = 'A';
	buf[1] = 'g';
	assert_int_equal(token_verify(KEY, KEYLEN, buf, WHO, NOW), TOKEN_MALFORMED);
	assert_int_equal(token_peek(buf, &id, &expires), -1);
	free(t);
	/* Delivery id 0 or negative is no delivery. */
	t = token_make(KEY, KEYLEN, 0, WHO, NOW + DAY);
	assert_int_equal(token_peek(t, &id, &expires), -1);
	free(t);
	t = token_make(KEY, KEYLEN, -5, WHO, NOW + DAY);
	assert_int_equal(token_peek(t, &id, &expires), -1);
	free(t);
}

/* A token made for one recipient is useless for another, even one differing by a byte. */
static void
test_token_wrong_recipient(void **state)
{
	char *t = token_make(KEY, KEYLEN, 42, WHO, NOW + DAY);

	assert_int_equal(token_verify(KEY, KEYLEN, t, "sm@council.example", NOW), TOKEN_FORGED);
	assert_int_equal(token_verify(KEY, KEYLEN, t, "TM@council.example", NOW), TOKEN_FORGED);
	assert_int_equal(token_verify(KEY, KEYLEN, t, WHO " ", NOW), TOKEN_FORGED);
	assert_int_equal(token_verify(KEY, KEYLEN, t, "", NOW), TOKEN_FORGED);
	/* The recipient is not a prefix trick: "tm@council.exampl" + "e" is the same text. */
	assert_int_equal(token_verify(KEY, KEYLEN, t, "tm@council.exampl", NOW), TOKEN_FORGED);
	free(t);
	/* The recipient may be a contact's name or a URL: any text. */
	t = token_make(KEY, KEYLEN, 42, "https://hooks.example/abc?x=1", NOW + DAY);
	assert_int_equal(token_verify(KEY, KEYLEN, t, "https://hooks.example/abc?x=1", NOW),
	                 TOKEN_OK);
	free(t);
}

/* Valid up to and including its expiry second; expired one second after; forged beats expired. */
static void
test_token_expiry_boundary(void **state)
{
	long long exp = NOW + 30 * DAY;
	char *t = token_make(KEY, KEYLEN, 42, WHO, exp);

	assert_int_equal(token_verify(KEY, KEYLEN, t, WHO, exp - 1), TOKEN_OK);
	assert_int_equal(token_verify(KEY, KEYLEN, t, WHO, exp), TOKEN_OK);
	assert_int_equal(token_verify(KEY, KEYLEN, t, WHO, exp + 1), TOKEN_EXPIRED);
	assert_int_equal(token_verify(KEY, KEYLEN, t, WHO, exp + 365 * DAY), TOKEN_EXPIRED);
	/* An expired token for someone else says forged: expiry is only told to its owner. */
	assert_int_equal(token_verify(KEY, KEYLEN, t, "sm@council.example", exp + 1), TOKEN_FORGED);
	free(t);
	/* The names the refusal page and the log use. */
	assert_string_equal(token_check_name(TOKEN_OK), "valid");
	assert_non_null(strstr(token_check_name(TOKEN_EXPIRED), "expired"));
	assert_non_null(strstr(token_check_name(TOKEN_FORGED), "changed"));
}

/* The key: a token verifies under its own key only, whatever the lengths. */
static void
test_token_key_length(void **state)
{
	unsigned char k32[TOKEN_KEY_MIN], k33[TOKEN_KEY_MIN + 1], k100[100];
	char *t;

	memset(k32, 'k', sizeof k32);
	memset(k33, 'k', sizeof k33);
	memset(k100, 'k', sizeof k100);
	t = token_make(k32, sizeof k32, 42, WHO, NOW + DAY);
	assert_int_equal(token_verify(k32, sizeof k32, t, WHO, NOW), TOKEN_OK);
	/* The same bytes, one more or one fewer: another key. */
	assert_int_equal(token_verify(k33, sizeof k33, t, WHO, NOW), TOKEN_FORGED);
	assert_int_equal(token_verify(k32, sizeof k32 - 1, t, WHO, NOW), TOKEN_FORGED);
	assert_int_equal(token_verify(KEY, KEYLEN, t, WHO, NOW), TOKEN_FORGED);
	free(t);
	/* A key longer than SHA-256's block (HMAC hashes it first) still works, and only itself. */
	t = token_make(k100, sizeof k100, 42, WHO, NOW + DAY);
	assert_int_equal(token_verify(k100, sizeof k100, t, WHO, NOW), TOKEN_OK);
	assert_int_equal(token_verify(k100, 99, t, WHO, NOW), TOKEN_FORGED);
	free(t);
	assert_int_equal(TOKEN_KEY_MIN, 32);
}

/* A form token belongs to one response token and to the time its page was shown. */
static void
test_token_form(void **state)
{
	char *t1 = token_make(KEY, KEYLEN, 1, WHO, NOW + DAY);
	char *t2 = token_make(KEY, KEYLEN, 2, WHO, NOW + DAY);
	char *f1 = token_form(KEY, KEYLEN, t1, NOW);
	char *f2 = token_form(KEY, KEYLEN, t2, NOW);
	long long h12 = 12 * 3600;
	char bad[64];

	assert_int_equal(strlen(f1), TOKEN_FORM_LEN);
	assert_int_equal(strspn(f1, B64), TOKEN_FORM_LEN);
	assert_true(token_form_ok(KEY, KEYLEN, t1, f1, NOW, h12));
	/* Bound to its response token: another alert's form does not answer this one. */
	assert_false(token_form_ok(KEY, KEYLEN, t1, f2, NOW, h12));
	assert_false(token_form_ok(KEY, KEYLEN, t2, f1, NOW, h12));
	/* Another key. */
	assert_false(token_form_ok(KEY + 1, KEYLEN - 1, t1, f1, NOW, h12));
	/* Its age: up to max_age, not after; a minute's clock skew into the future, not more. */
	assert_true(token_form_ok(KEY, KEYLEN, t1, f1, NOW + h12, h12));
	assert_false(token_form_ok(KEY, KEYLEN, t1, f1, NOW + h12 + 1, h12));
	assert_true(token_form_ok(KEY, KEYLEN, t1, f1, NOW - 60, h12));
	assert_false(token_form_ok(KEY, KEYLEN, t1, f1, NOW - 61, h12));
	/* Every single-character change refused. */
	for (size_t i = 0; i < TOKEN_FORM_LEN; i++) {
		char orig = f1[i];

		for (const char *c = B64; *c != '\0'; c++) {
			if (*c == orig)
				continue;
			f1[i] = *c;
			if (token_form_ok(KEY, KEYLEN, t1, f1, NOW, h12))
				fail_msg("form token with character %zu changed to '%c' accepted",
				         i, *c);
		}
		f1[i] = orig;
	}
	/* Not form tokens at all. */
	assert_false(token_form_ok(KEY, KEYLEN, t1, NULL, NOW, h12));
	assert_false(token_form_ok(KEY, KEYLEN, NULL, f1, NOW, h12));
	assert_false(token_form_ok(KEY, KEYLEN, t1, "", NOW, h12));
	assert_false(token_form_ok(KEY, KEYLEN, t1, t1, NOW, h12));
	snprintf(bad, sizeof bad, "%sA", f1);
	assert_false(token_form_ok(KEY, KEYLEN, t1, bad, NOW, h12));
	memcpy(bad, f1, TOKEN_FORM_LEN - 1);
	bad[TOKEN_FORM_LEN - 1] = '\0';
	assert_false(token_form_ok(KEY, KEYLEN, t1, bad, NOW, h12));
	/* A response token and a form token are made under different labels: neither is the other.
	 */
	assert_int_equal(token_verify(KEY, KEYLEN, f1, WHO, NOW), TOKEN_MALFORMED);
	free(t1);
	free(t2);
	free(f1);
	free(f2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_round_trip),
	    cmocka_unit_test(test_token_every_change_refused),
	    cmocka_unit_test(test_token_malformed),
	    cmocka_unit_test(test_token_wrong_recipient),
	    cmocka_unit_test(test_token_expiry_boundary),
	    cmocka_unit_test(test_token_key_length),
	    cmocka_unit_test(test_token_form),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
