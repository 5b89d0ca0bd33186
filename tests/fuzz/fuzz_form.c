/*
 * fuzz_form.c - respond_parse_form (daemon/respond_form.c) on arbitrary bytes,
 * as anyone who can reach the listener may send them: it must never crash,
 * and what it accepts must be what the state store may keep: valid UTF-8, no
 * control characters but a newline or tab in the reason and the note, no
 * "\r", trimmed, within the lengths. respond_check then judges the fields.
 */
#include <stdint.h>
#include <string.h>

#include "date.h"
#include "fuzz_common.h"
#include "respond.h"
#include "respond_page.h"

/* Check one accepted field. */
static void
check_field(const char *name, const char *v, size_t max, int lines)
{
	const unsigned char *p = (const unsigned char *)v;
	size_t chars = 0;

	if (v == NULL)
		return;
	FUZZ_CHECK(*v != '\0', "%s is empty, not absent", name);
	FUZZ_CHECK(*v != ' ' && *v != '\n' && *v != '\t', "%s not trimmed", name);
	FUZZ_CHECK(v[strlen(v) - 1] != ' ' && v[strlen(v) - 1] != '\n' && v[strlen(v) - 1] != '\t',
	           "%s not trimmed at the end", name);
	while (*p != '\0') {
		size_t len = fuzz_utf8_len(p);

		FUZZ_CHECK(len > 0, "%s is not UTF-8 at byte %zu", name,
		           (size_t)(p - (const unsigned char *)v));
		if (*p == '\n' || *p == '\t')
			FUZZ_CHECK(lines, "%s holds a line end or tab", name);
		else
			FUZZ_CHECK(*p >= 0x20 && *p != 0x7f && !(p[0] == 0xc2 && p[1] < 0xa0),
			           "%s holds control character 0x%02x", name, *p);
		p += len;
		chars++;
	}
	FUZZ_CHECK(chars <= max, "%s has %zu characters", name, chars);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct respond_form f;
	struct answer a;
	char *why = NULL;
	date_t on, today;

	if (respond_parse_form((const char *)data, size, &f, &why) != 0) {
		FUZZ_CHECK(why != NULL && *why != '\0', "refused without a reason");
		FUZZ_CHECK(f.kind == NULL && f.agreed_on == NULL && f.reason == NULL &&
		               f.note == NULL && f.name == NULL && f.form == NULL,
		           "fields left after a refusal");
		free(why);
		return 0;
	}
	FUZZ_CHECK(why == NULL, "accepted with a reason");
	check_field("kind", f.kind, 20, 0);
	check_field("agreed_on", f.agreed_on, 10, 0);
	check_field("reason", f.reason, RESPOND_REASON_MAX, 1);
	check_field("note", f.note, RESPOND_NOTE_MAX, 1);
	check_field("name", f.name, RESPOND_NAME_MAX, 0);
	check_field("form", f.form, RESPOND_BODY_MAX, 0);

	if (respond_check(&f, "2026-03-01", &a, &why) == 0) {
		FUZZ_CHECK(why == NULL, "checked with a reason");
		FUZZ_CHECK(a.kind < ANSWER_NKINDS && strcmp(answer_kind_name(a.kind), f.kind) == 0,
		           "kind %s", f.kind);
		if (a.kind == ANSWER_AGREED) {
			FUZZ_CHECK(a.agreed_on != NULL && date_parse_strict(a.agreed_on, &on) == 0,
			           "agreed without a date");
			date_parse_strict("2026-03-01", &today);
			FUZZ_CHECK(on >= today && on <= date_add_months(today, 12), "agreed for %s",
			           a.agreed_on);
		} else {
			FUZZ_CHECK(a.agreed_on == NULL, "a date kept for %s", f.kind);
		}
		FUZZ_CHECK(a.kind == ANSWER_DISAGREE ? a.reason != NULL : a.reason == NULL,
		           "reason %s for %s", a.reason ? "kept" : "missing", f.kind);
	} else {
		FUZZ_CHECK(why != NULL, "not an answer, without a reason");
		free(why);
	}
	respond_form_free(&f);
	return 0;
}
