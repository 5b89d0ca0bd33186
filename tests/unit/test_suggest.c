/* test_suggest.c - "did you mean": the nearest known word, only when it is a likely slip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "suggest.h"

static const char *const keys[] = {"listen",        "response_url", "response_key_file",
                                   "poll_interval", "send_time",    "digest",
                                   "digest_times",  "case_url",     "max_deliveries"};
#define NKEYS (sizeof keys / sizeof keys[0])

/* Assert the suggestion for word is want (NULL: none). */
static void
expect(const char *word, const char *want)
{
	const char *got = suggest_word(word, keys, NKEYS);

	if (want == NULL ? got != NULL : got == NULL || strcmp(got, want) != 0)
		fail_msg("\"%s\": got %s%s%s, want %s%s%s", word, got ? "\"" : "",
		         got ? got : "NULL", got ? "\"" : "", want ? "\"" : "",
		         want ? want : "NULL", want ? "\"" : "");
}

/* A letter missing, added, changed, two swapped; a case slip; several edits on long words. */
static void
test_suggest_slips(void **state)
{
	(void)state;
	expect("pol_interval", "poll_interval");   /* one missing */
	expect("poll_intervall", "poll_interval"); /* one added */
	expect("lisden", "listen");                /* one changed */
	expect("lsiten", "listen");                /* two swapped: one edit */
	expect("Send_Time", "send_time");          /* case only */
	expect("respnse_url", "response_url");
	expect("response_key", "response_key_file"); /* the start of one word only */
	expect("digest", NULL);                      /* exact, though digest_times starts so */
	expect("dige", NULL); /* the start of two words: neither, and too far from both */
	expect("digest_time", "digest_times");    /* nearer to digest_times than to digest */
	expect("max_delivery", "max_deliveries"); /* three edits on a long word */
}

/* Nothing near, an exact word, empty and over-long words: no suggestion. */
static void
test_suggest_none(void **state)
{
	char longword[100];

	(void)state;
	expect("colour", NULL);
	expect("listen", NULL); /* exactly a known word */
	expect("", NULL);
	expect("ab", NULL); /* "ab" is 2 edits from nothing short */
	memset(longword, 'a', sizeof longword - 1);
	longword[sizeof longword - 1] = '\0';
	expect(longword, NULL);
	/* Short words allow one edit only: "dgst" is two from "digest". */
	expect("dgst", NULL);
	assert_null(suggest_word("listen", NULL, 0));
}

/* Of equally near words, the first listed. */
static void
test_suggest_ties(void **state)
{
	static const char *const two[] = {"days", "dams"};

	(void)state;
	assert_string_equal(suggest_word("dazs", two, 2), "days");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suggest_slips),
	    cmocka_unit_test(test_suggest_none),
	    cmocka_unit_test(test_suggest_ties),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
