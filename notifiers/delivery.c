/* delivery.c - one delivery record: freeing it, and its fields parsed once. */
#include "delivery.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "xalloc.h"

/* Free a delivery record. */
void
delivery_free(struct delivery *d)
{
	if (d == NULL)
		return;
	free(d->uid);
	free(d->recipient);
	xfree_secret(d->secret);
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
	free(d->label);
	free(d->case_url);
	free(d->copied);
	free(d->copied_on);
	for (size_t i = 0; i < d->nhistory; i++) {
		free(d->history[i].stage);
		free(d->history[i].when);
		free(d->history[i].recipient);
		free(d->history[i].status);
	}
	free(d->history);
	for (size_t i = 0; i < d->nresponses; i++) {
		free(d->responses[i].who);
		free(d->responses[i].stage);
		free(d->responses[i].kind);
		free(d->responses[i].agreed_on);
		free(d->responses[i].reason);
		free(d->responses[i].note);
		free(d->responses[i].answered_at);
	}
	free(d->responses);
	free(d->response_link);
	free(d->closed_on);
	free(d->contact);
	for (size_t i = 0; i < d->nitems; i++)
		delivery_free(d->items[i]);
	free(d->items);
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

/* A JSON string of s with invalid UTF-8 replaced, or null. */
json_t *
delivery_json(const char *s)
{
	json_t *j;
	char *valid;

	if (s == NULL)
		return json_null();
	valid = utf8_sanitize(s);
	j = json_string(valid);
	free(valid);
	if (j == NULL)
		fatalx("json_string failed on sanitised text");
	return j;
}

/* d's answers as JSON, amended ones marked. */
json_t *
delivery_responses_json(const struct delivery *d)
{
	json_t *a = json_array();

	for (size_t i = 0; i < d->nresponses; i++) {
		const struct delivery_response *r = &d->responses[i];
		json_t *o = json_object();

		json_object_set_new(o, "who", delivery_json(r->who));
		json_object_set_new(o, "stage", delivery_json(r->stage));
		json_object_set_new(o, "kind", delivery_json(r->kind));
		json_object_set_new(o, "agreed_on", delivery_json(r->agreed_on));
		json_object_set_new(o, "reason", delivery_json(r->reason));
		json_object_set_new(o, "note", delivery_json(r->note));
		json_object_set_new(o, "answered_at", delivery_json(r->answered_at));
		json_object_set_new(o, "amended", json_boolean(r->amended));
		json_array_append_new(a, o);
	}
	return a;
}
