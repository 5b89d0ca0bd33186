/*
 * fuzz_cfgsyntax.c - cfgsyntax_locate (the input as a libconfig file) checked
 * against libconfig itself: whatever libconfig reads without error,
 * cfgsyntax must find no error in (it only ever explains libconfig's
 * refusals, and must not blame a line of a valid file); whatever error it
 * reports is on a line of the input, with a message.
 */
#include <libconfig.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfgsyntax.h"
#include "fuzz_common.h"

/* libconfig 1.5 leaks a string literal's buffer after some syntax errors (see fuzz_ruleset.c). */
const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
	return "leak:libconfig.so\n";
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char msg[CFGSYNTAX_MSG_MAX];
	char *text;
	config_t cf;
	int line = 0, lines = 1, ours, theirs;

	/* @include would read files; a NUL ends libconfig's string early. */
	if (size > 65536 || memchr(data, '@', size) != NULL || memchr(data, '\0', size) != NULL)
		return 0;
	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	for (size_t i = 0; i < size; i++)
		lines += text[i] == '\n';
	config_init(&cf);
	theirs = config_read_string(&cf, text);
	config_destroy(&cf);
	msg[0] = '\0';
	ours = cfgsyntax_locate(text, size, &line, msg);
	FUZZ_CHECK(!(theirs == CONFIG_TRUE && ours == 0),
	           "libconfig reads it, but cfgsyntax says line %d: %s", line, msg);
	if (ours == 0) {
		FUZZ_CHECK(line >= 1 && line <= lines, "line %d of %d", line, lines);
		FUZZ_CHECK(msg[0] != '\0' && strlen(msg) < CFGSYNTAX_MSG_MAX, "empty message");
	}
	free(text);
	return 0;
}
