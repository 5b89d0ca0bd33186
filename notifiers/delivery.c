/* delivery.c - one delivery record: freeing it, and its fields parsed once. */
#include "delivery.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xalloc.h"

/* Free a secret after wiping it. */
static void
delivery_wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Free a delivery record. */
void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	free(d->uid);
	free(d->recipient);
	delivery_wipe_free(d->secret);
	free(d->template_id);
	free(d->base_url);
	free(d->rule);
	free(d->title);
	free(d->case_ref);
	free(d->stage);
	free(d->start);
	free(d->due);
	free(d->fires);
	free(d->status);
	free(d->subject);
	free(d->body);
	json_decref(d->fields);
	free(d->expected);
	free(d->fields_error);
	free(d);
}

/* Parse an alert's recorded fields into d->fields, or say why not. */
void
delivery_parse_fields(struct delivery *d, const char *text)
{
	json_error_t err;
	json_t *o;
	char *valid;

	if (text == NULL)
		return;
	/* Invalid bytes can only sit inside JSON strings: replacing them keeps it valid. */
	valid = utf8_sanitize(text);
	o = json_loads(valid, JSON_REJECT_DUPLICATES, &err);
	free(valid);
	if (json_is_object(o)) {
		d->fields = o;
		return;
	}
	d->fields_error = o == NULL
	                      ? xasprintf("the alert's fields are not valid JSON: %s (line %d)",
	                                  err.text, err.line)
	                      : xstrdup("the alert's fields are not a JSON object");
	json_decref(o);
}
