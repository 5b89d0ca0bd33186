/*
 * fuzz_notify_response.c - notifiers/govuk_notify.c's reading of GOV.UK
 * Notify's answers: to a send (govuk_classify) and to a reference lookup
 * before sending again (govuk_lookup_result), as if from a broken server or a
 * proxy in front of it.
 *
 * Input: the HTTP status code in decimal, a NUL byte, the Retry-After header
 * value ("\x7f" for none), a NUL byte, then the response body (which may hold
 * NUL bytes). With fewer parts a hash of the input picks the code and the
 * whole input is the body. The hash also picks curl's result (mostly
 * CURLE_OK).
 *
 * Checked, for the send: sent exactly for CURLE_OK and 2xx; retried for a
 * curl error, 403, 408, 429, 5xx and codes outside 200-599; failed for good
 * otherwise; Retry-After bounded and only on a retry; the detail is one clean
 * line of at most 300 bytes, "HTTP <code>..." for an HTTP failure. For the
 * lookup: 1 (found) or 0 (not found) only for CURLE_OK and 200, and, when
 * the body is whole JSON, exactly as its "notifications" array says (the
 * text heuristics are for a body cut short, never for one that parsed);
 * otherwise -1, a temporary failure with a clean detail.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fuzz_common.h"
#include "govuk_notify.h"

#define DETAIL_MAX 300

/* A send's verdict. */
static void
check_send(CURLcode rc, const struct http_response *resp, time_t now)
{
	struct delivery_result r;
	enum delivery_status want;
	long code = resp->code;
	char *detail = govuk_classify(rc, resp, now, "curl's error text", &r);

	FUZZ_CHECK(detail == r.detail, "detail pointer");
	FUZZ_CHECK(r.code == code, "code %ld, expected %ld", r.code, code);
	fuzz_check_line("detail", detail, DETAIL_MAX);
	if (rc != CURLE_OK)
		want = DELIVERY_RETRY;
	else if (code >= 200 && code <= 299)
		want = DELIVERY_SENT;
	else if (code == 403 || code == 408 || code == 429 || code >= 500 || code < 200)
		want = DELIVERY_RETRY;
	else
		want = DELIVERY_FAILED;
	FUZZ_CHECK(r.status == want, "rc %d HTTP %ld: status %d, expected %d", (int)rc, code,
	           (int)r.status, (int)want);
	FUZZ_CHECK(r.retry_after >= 0 && r.retry_after <= HTTP_RETRY_AFTER_MAX, "retry_after %d",
	           r.retry_after);
	FUZZ_CHECK(r.retry_after == 0 || r.status == DELIVERY_RETRY, "retry_after on status %d",
	           (int)r.status);
	if (rc == CURLE_OK && !(code >= 200 && code <= 299)) {
		char prefix[32];

		snprintf(prefix, sizeof prefix, "HTTP %ld", code);
		FUZZ_CHECK(strncmp(detail, prefix, strlen(prefix)) == 0 &&
		               (detail[strlen(prefix)] == '\0' || detail[strlen(prefix)] == ':'),
		           "detail does not start with %s: %s", prefix, detail);
	}
	free(detail);
}

/* A lookup's verdict. */
static void
check_lookup(CURLcode rc, const struct http_response *resp, time_t now)
{
	static const char prefix[] = "looking up the reference before sending again: ";
	struct delivery_result r;
	char *detail = (char *)"unset";
	int found = govuk_lookup_result(rc, resp, now, "curl's error text", &r, &detail);
	json_t *j = resp->len > 0 ? json_loadb(resp->body, resp->len, 0, NULL) : NULL;

	FUZZ_CHECK(found >= -1 && found <= 1, "lookup returned %d", found);
	if (found >= 0) {
		FUZZ_CHECK(rc == CURLE_OK && resp->code == 200, "found %d from rc %d HTTP %ld",
		           found, (int)rc, resp->code);
		FUZZ_CHECK(detail == NULL, "detail with an answer");
	} else {
		FUZZ_CHECK(detail != NULL && detail == r.detail, "detail pointer");
		FUZZ_CHECK(r.status == DELIVERY_RETRY, "lookup failure is status %d",
		           (int)r.status);
		fuzz_check_line("detail", detail, DETAIL_MAX);
		FUZZ_CHECK(strncmp(detail, prefix, strlen(prefix) - 1) == 0, "lookup detail: %s",
		           detail);
		FUZZ_CHECK(r.retry_after >= 0 && r.retry_after <= HTTP_RETRY_AFTER_MAX,
		           "retry_after %d", r.retry_after);
		free(detail);
	}
	if (rc == CURLE_OK && resp->code == 200 && j != NULL) {
		/* A whole JSON answer is read as JSON, never guessed at. */
		json_t *list = json_object_get(j, "notifications");

		if (json_is_array(list))
			FUZZ_CHECK(found == (json_array_size(list) > 0),
			           "lookup says %d for %zu notifications", found,
			           json_array_size(list));
		else
			FUZZ_CHECK(found == -1, "lookup says %d for an answer without a list",
			           found);
	}
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long codes[] = {200, 201, 400, 403, 404, 429, 500, 503, 0, 302, 999, -1};
	static const CURLcode rcs[] = {
	    CURLE_OK, CURLE_OK, CURLE_OK, CURLE_OK, CURLE_OPERATION_TIMEDOUT, CURLE_RECV_ERROR};
	uint64_t rng = fuzz_hash(data, size);
	const uint8_t *nul1 = memchr(data, '\0', size), *nul2 = NULL;
	const time_t now = (time_t)1793779200; /* 2026-11-05T08:00:00Z */
	struct http_response resp;
	char *code = NULL, *retry = NULL, *body;
	CURLcode rc = rcs[fuzz_next(&rng) % (sizeof rcs / sizeof rcs[0])];

	if (nul1 != NULL)
		nul2 = memchr(nul1 + 1, '\0', size - (size_t)(nul1 + 1 - data));
	memset(&resp, 0, sizeof resp);
	if (nul2 != NULL) {
		code = fuzz_strndup(data, (size_t)(nul1 - data));
		retry = fuzz_strndup(nul1 + 1, (size_t)(nul2 - nul1 - 1));
		resp.len = size - (size_t)(nul2 + 1 - data);
		body = fuzz_strndup(nul2 + 1, resp.len);
		resp.code = strtol(code, NULL, 10);
		resp.retry_after = strcmp(retry, "\x7f") != 0 ? retry : NULL;
	} else {
		resp.len = size;
		body = fuzz_strndup(data, size);
		resp.code = codes[fuzz_next(&rng) % (sizeof codes / sizeof codes[0])];
	}
	resp.body = body; /* NUL-terminated, as http_get_response gives it */

	check_send(rc, &resp, now);
	check_lookup(rc, &resp, now);
	free(code);
	free(retry);
	free(body);
	return 0;
}
