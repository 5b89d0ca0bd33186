/*
 * fuzz_oauth_response.c - notifiers/oauth.c's reading of a token endpoint's
 * answer (oauth_parse_response), as if from a hostile or broken endpoint (or
 * a proxy in front of it), then the cache times worked out from it and the
 * form encoding of the request.
 *
 * Input: the HTTP status code in decimal, a NUL byte, then the response body
 * (which may hold NUL bytes). Without a NUL byte the whole input is the body
 * and a hash of it picks the code.
 *
 * Checked: 0 exactly when the code is 200 and the body is a JSON object with a
 * non-empty string access_token (and no token_type other than Bearer), the
 * token handed back is that string and expires_in is positive; otherwise no
 * token and an error that is one clean line of at most 300 bytes starting
 * "HTTP <code>" (or the fixed HTTP 200 messages); the error code is "" or
 * "AADSTS" and digits; the same answer parses the same way twice; the token's
 * cache times are in order and in the future; the form encoding of the body
 * uses only unreserved characters and %XX and decodes back.
 */
#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "oauth.h"

/* The body as jansson reads it: a JSON object, or NULL. */
static json_t *
body_object(const char *body, size_t len)
{
	json_t *j = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;

	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	return j;
}

/* r->code is "" or "AADSTS" followed by an optional '-' and digits. */
static void
check_error_code(const struct oauth_result *r)
{
	const char *c = r->code, *p;

	FUZZ_CHECK(memchr(c, '\0', sizeof r->code) != NULL, "error code not terminated");
	if (*c == '\0')
		return;
	FUZZ_CHECK(strncmp(c, "AADSTS", 6) == 0, "error code %s", c);
	p = c + 6 + (c[6] == '-');
	FUZZ_CHECK(*p != '\0' && strspn(p, "0123456789") == strlen(p), "error code %s", c);
}

/* oauth_form_escape(s): unreserved characters and %XX only, decoding back to s. */
static void
check_form_escape(const char *s)
{
	char *e = oauth_form_escape(s), *dec = malloc(strlen(e) + 1);
	size_t o = 0;

	if (dec == NULL)
		abort();
	for (const char *p = e; *p != '\0'; p++) {
		if (*p == '%') {
			FUZZ_CHECK(isxdigit((unsigned char)p[1]) && isxdigit((unsigned char)p[2]) &&
			               !islower((unsigned char)p[1]) &&
			               !islower((unsigned char)p[2]),
			           "bad escape in %s", e);
			dec[o++] = (char)strtol((char[]){p[1], p[2], '\0'}, NULL, 16);
			p += 2;
		} else {
			FUZZ_CHECK(isalnum((unsigned char)*p) || strchr("-._~", *p) != NULL,
			           "byte 0x%02x left as is in a form value", (unsigned char)*p);
			dec[o++] = *p;
		}
	}
	dec[o] = '\0';
	FUZZ_CHECK(strcmp(dec, s) == 0, "form escape does not decode back");
	free(dec);
	free(e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long codes[] = {200, 200, 200, 400, 401, 403, 429, 500, 502, 503, 0, 302, -1};
	const uint8_t *nul = memchr(data, '\0', size);
	struct oauth_result r, again;
	long code;
	char *body;
	size_t len;
	json_t *j;
	int rc;

	if (nul != NULL) {
		char *c = fuzz_strndup(data, (size_t)(nul - data));

		code = strtol(c, NULL, 10);
		free(c);
		len = size - (size_t)(nul - data) - 1;
		body = fuzz_strndup(nul + 1, len);
	} else {
		code = codes[fuzz_hash(data, size) % (sizeof codes / sizeof codes[0])];
		len = size;
		body = fuzz_strndup(data, size);
	}

	rc = oauth_parse_response(code, body, len, &r);
	FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
	check_error_code(&r);
	j = body_object(body, len);
	if (rc == 0) {
		json_t *tok = json_object_get(j, "access_token");
		json_t *type = json_object_get(j, "token_type");
		long long usable, refresh;
		const long long now = 1000000;

		FUZZ_CHECK(code == 200, "a token from HTTP %ld", code);
		FUZZ_CHECK(r.error == NULL && r.token != NULL, "success without a token");
		FUZZ_CHECK(json_is_string(tok) && strcmp(json_string_value(tok), r.token) == 0,
		           "the token is not the answer's access_token");
		FUZZ_CHECK(*r.token != '\0', "empty token");
		FUZZ_CHECK(type == NULL || (json_is_string(type) &&
		                            strcasecmp(json_string_value(type), "Bearer") == 0),
		           "token_type not Bearer");
		FUZZ_CHECK(r.expires_in > 0, "expires_in %ld", r.expires_in);
		/* expires_in is capped at a day when parsed (seed expires-in-huge overflowed). */
		FUZZ_CHECK(r.expires_in > 0 && r.expires_in <= 86400, "expires_in %ld",
		           r.expires_in);
		oauth_times(r.expires_in, now, &usable, &refresh);
		FUZZ_CHECK(now < refresh, "refreshed at once (%ld s)", r.expires_in);
		FUZZ_CHECK(refresh <= usable && now < usable,
		           "expires_in %ld: refresh at %lld, usable until %lld", r.expires_in,
		           refresh, usable);
	} else {
		FUZZ_CHECK(r.token == NULL && r.error != NULL, "failure without an error");
		fuzz_check_line("error", r.error, 300);
		if (code == 200 && j != NULL)
			FUZZ_CHECK(strncmp(r.error, "HTTP 200 but ", 13) == 0, "error %s", r.error);
		else {
			char prefix[32];

			snprintf(prefix, sizeof prefix, "HTTP %ld", code);
			FUZZ_CHECK(
			    strncmp(r.error, prefix, strlen(prefix)) == 0 &&
			        (r.error[strlen(prefix)] == '\0' || r.error[strlen(prefix)] == ':'),
			    "error does not start with %s: %s", prefix, r.error);
		}
	}

	/* Deterministic. */
	FUZZ_CHECK(oauth_parse_response(code, body, len, &again) == rc, "second parse differs");
	FUZZ_CHECK((r.token == NULL) == (again.token == NULL) &&
	               (r.token == NULL || strcmp(r.token, again.token) == 0) &&
	               (r.error == NULL) == (again.error == NULL) &&
	               (r.error == NULL || strcmp(r.error, again.error) == 0) &&
	               strcmp(r.code, again.code) == 0 && r.expires_in == again.expires_in,
	           "second parse differs");
	oauth_result_clear(&again);
	oauth_result_clear(&r);
	FUZZ_CHECK(r.token == NULL && r.error == NULL, "result not cleared");
	json_decref(j);

	/* The request's form encoding, with the body as a client secret. */
	check_form_escape(body);
	free(oauth_request_body("client-id", body, "https://outlook.office365.com/.default"));
	free(body);
	return 0;
}
