/* test_channel.c - unit tests for base/channel.c: channel names and parsing them back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "channel.h"

/* Every channel's name, as the config and the state store write it, and back. */
static void
test_channel_names_round_trip(void **state)
{
	static const char *const names[] = {
	    [CHANNEL_EMAIL] = "email", [CHANNEL_WEBHOOK] = "webhook",     [CHANNEL_TEAMS] = "teams",
	    [CHANNEL_SLACK] = "slack", [CHANNEL_GOVUK_NOTIFY] = "notify",
	};

	(void)state;
	assert_int_equal(sizeof names / sizeof names[0], CHANNEL_COUNT);
	for (int k = 0; k < CHANNEL_COUNT; k++) {
		assert_string_equal(channel_name((enum channel)k), names[k]);
		assert_int_equal(channel_parse(names[k]), k);
	}
}

/* Anything but an exact name is -1, and so is NULL. */
static void
test_channel_parse_unknown(void **state)
{
	static const char *const bad[] = {
	    "",       "fax",    "Email",   "EMAIL",        "emai", "emails",
	    " email", "email ", "email\n", "govuk_notify", "sms",  "unknown",
	};

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (channel_parse(bad[i]) != -1)
			fail_msg("channel_parse(\"%s\") is %d, expected -1", bad[i],
			         channel_parse(bad[i]));
	assert_int_equal(channel_parse(NULL), -1);
}

/* A value outside the enum is named "unknown", which does not parse back. */
static void
test_channel_name_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(channel_name((enum channel)CHANNEL_COUNT), "unknown");
	assert_string_equal(channel_name((enum channel)(CHANNEL_COUNT + 100)), "unknown");
	assert_string_equal(channel_name((enum channel) - 1), "unknown");
	assert_int_equal(channel_parse(channel_name((enum channel)CHANNEL_COUNT)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_channel_names_round_trip),
	    cmocka_unit_test(test_channel_parse_unknown),
	    cmocka_unit_test(test_channel_name_out_of_range),
	};

	return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
