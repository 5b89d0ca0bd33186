/*
 * fuzz_freshness.c - what a freshness_query may return (daemon/freshness.c
 * freshness_parse_time: a value from the case store, untrusted) and
 * max_store_age (freshness_parse_age), on arbitrary text. An accepted time in
 * a documented form means what it says: unix seconds are the number, a time
 * with a zone is that instant, a local time is on the date written; an
 * accepted age is whole minutes within the limits.
 */
#include <stdint.h>
#include <string.h>

#include "clock.h"
#include "date.h"
#include "freshness.h"
#include "fuzz_common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool zoned;
	char *s = fuzz_strndup(data, size), *cause = NULL;
	size_t len = strlen(s);
	long long age = -1;
	time_t t = 0;
	date_t day;

	if (!zoned) {
		/* The service's zone: local times with daylight saving. */
		FUZZ_CHECK(clock_set_timezone("Europe/London", &cause) == 0, "%s", cause);
		zoned = true;
	}
	if (freshness_parse_time(s, &t) == 0) {
		FUZZ_CHECK(len > 0, "the empty string is a time");
		if (strspn(s, "0123456789") == len) {
			FUZZ_CHECK(len <= 12 && t == (time_t)strtoll(s, NULL, 10), "\"%s\" is %lld",
			           s, (long long)t);
		} else {
			char ymd[DATE_STRLEN] = "";

			if (len >= 10)
				memcpy(ymd, s, 10);
			ymd[10] = '\0';
			FUZZ_CHECK(date_parse_strict(ymd, &day) == 0, "\"%s\" has no date", s);
			if (len == 10 || strpbrk(s + 10, "Zz+-") == NULL) {
				/* Local: within a day of that date's midnight (a zone's offset). */
				long long mid = (long long)day * 86400;

				FUZZ_CHECK((long long)t >= mid - 86400 &&
				               (long long)t < mid + 2 * 86400,
				           "\"%s\" is %lld, not on its day", s, (long long)t);
			}
		}
	}
	if (freshness_parse_age(s, &age, &cause) == 0) {
		FUZZ_CHECK(age >= FRESHNESS_AGE_MIN && age <= FRESHNESS_AGE_MAX && age % 60 == 0,
		           "\"%s\" is %lld seconds", s, age);
	} else {
		FUZZ_CHECK(cause != NULL && strlen(cause) > 0, "\"%s\" refused without a reason",
		           s);
		free(cause);
	}
	free(s);
	return 0;
}
