/*
 * chat.c - one alert as a Microsoft Teams Adaptive Card or a Slack message
 * (incoming webhooks); a digest is chat_digest.c's.
 */
#include "chat.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chat_impl.h"
#include "digest.h"
#include "transport.h"
#include "xalloc.h"

/* Per-value caps tried in turn until a message fits, in bytes. */
static const size_t chat_value_caps[] = {2000, 1000, 500, 250, 120, 60, 30};
#define CHAT_NCAPS (sizeof chat_value_caps / sizeof chat_value_caps[0])

/* A rule field: its name and value, both cleaned. */
struct chat_field {
	char *name;
	char *value;
};

/* What every message shows, cleaned to one line each. */
struct chat_alert {
	const struct delivery *d;
	struct chat_field *fields;
	size_t nfields;
};

/* Copy d->fields into a; -1 with *cause set if they are not a JSON object. */
static int
chat_alert_init(struct chat_alert *a, const struct delivery *d, char **cause)
{
	const char *key;
	json_t *v;

	memset(a, 0, sizeof *a);
	a->d = d;
	if (d->fields == NULL)
		return 0;
	if (!json_is_object(d->fields)) {
		*cause = xstrdup("the alert's fields are not a JSON object");
		return -1;
	}
	a->fields = xcalloc(json_object_size(d->fields) + 1, sizeof *a->fields);
	json_object_foreach(d->fields, key, v)
	{
		struct chat_field *f = &a->fields[a->nfields++];

		f->name = transport_clean_text(key, 200, 0);
		if (json_is_string(v))
			f->value = xstrdup(json_string_value(v));
		else if (json_is_null(v))
			f->value = xstrdup("");
		else
			f->value = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	}
	return 0;
}

/* Free what chat_alert_init made. */
static void
chat_alert_clear(struct chat_alert *a)
{
	for (size_t i = 0; i < a->nfields; i++) {
		free(a->fields[i].name);
		free(a->fields[i].value);
	}
	free(a->fields);
}

/* One fact as a block of two runs: "name: " in bold, then the value (a link to url if set). */
static json_t *
teams_fact(const char *name, const char *value, size_t max, const char *url)
{
	char *cut = chat_cut(name, 100), *label = xasprintf("%s: ", cut);
	json_t *title = chat_teams_run(json_string(label)), *b, *v;

	json_object_set_new(title, "weight", json_string("Bolder"));
	b = chat_teams_block(title);
	v = chat_teams_run(chat_str(value, max));
	if (url != NULL)
		chat_teams_link(v, url);
	json_array_append_new(json_object_get(b, "inlines"), v);
	free(label);
	free(cut);
	return b;
}

/* The card's button that opens where the recipient answers the alert, or NULL when none. */
static json_t *
teams_answer_action(const struct delivery *d)
{
	json_t *a;

	if (!chat_link_ok(d->response_link, CHAT_LINK_MAX))
		return NULL;
	a = json_object();
	json_object_set_new(a, "type", json_string("Action.OpenUrl"));
	json_object_set_new(a, "title", json_string(CHAT_ANSWER_TEXT));
	json_object_set_new(a, "url", json_string(d->response_link));
	return json_pack("[o]", a);
}

/* The Teams message with every value cut to vmax and the first nfields fields. */
static char *
teams_build(const struct chat_alert *a, size_t vmax, size_t nfields)
{
	const struct delivery *d = a->d;
	json_t *body = json_array(), *r;
	const char *url = chat_link_ok(d->case_url, vmax + 200) ? d->case_url : NULL;
	char late[16], *line;

	/* Title, and the one line that says what is late. */
	r = chat_teams_run(chat_str(d->title, vmax));
	json_object_set_new(r, "weight", json_string("Bolder"));
	json_object_set_new(r, "size", json_string("Medium"));
	json_array_append_new(body, chat_teams_block(r));
	line = xasprintf("Case %s: %s", d->case_ref != NULL ? d->case_ref : "",
	                 d->status != NULL ? d->status : "");
	r = chat_teams_run(chat_str(line, vmax));
	if (d->days_late > 0)
		json_object_set_new(r, "color", json_string("Attention"));
	json_array_append_new(body, chat_teams_block(r));
	free(line);

	snprintf(late, sizeof late, "%d", d->days_late);
	json_array_append_new(body, teams_fact("Case", d->case_ref, vmax, url));
	/* The stage as people read it ("Overdue: team manager"), else its id. */
	json_array_append_new(
	    body, teams_fact("Stage", d->label != NULL ? d->label : d->stage, vmax, NULL));
	json_array_append_new(body, teams_fact("Due", d->due, vmax, NULL));
	json_array_append_new(body, teams_fact("Days overdue", late, vmax, NULL));
	if (d->start != NULL)
		json_array_append_new(body, teams_fact("Started", d->start, vmax, NULL));
	for (size_t i = 0; i < nfields && i < a->nfields; i++)
		json_array_append_new(
		    body, teams_fact(a->fields[i].name, a->fields[i].value, vmax, NULL));
	if (nfields < a->nfields) {
		line = xasprintf("%zu more not shown (message size limit)", a->nfields - nfields);
		json_array_append_new(body, teams_fact("Fields", line, vmax, NULL));
		free(line);
	}
	/* Who answered, what and when: never the reason or the note (a third party's platform). */
	if (digest_answers_shown(d) > 0) {
		line = chat_answers(d, vmax);
		json_array_append_new(body, teams_fact("Answers so far", line, vmax, NULL));
		free(line);
	}
	if (d->nhistory > 0) {
		line = chat_history(d, vmax);
		json_array_append_new(body, teams_fact("History", line, vmax, NULL));
		free(line);
	}

	if (d->expected != NULL && *d->expected != '\0') {
		line = xasprintf("Expected: %s", d->expected);
		json_array_append_new(body, chat_teams_block(chat_teams_run(chat_str(line, vmax))));
		free(line);
	}
	line = xasprintf("Rule %s \xc2\xb7 delivery %s", d->rule != NULL ? d->rule : "",
	                 d->uid != NULL ? d->uid : "");
	r = chat_teams_run(chat_str(line, 200));
	json_object_set_new(r, "isSubtle", json_true());
	json_object_set_new(r, "size", json_string("Small"));
	json_array_append_new(body, chat_teams_block(r));
	free(line);
	return chat_teams_message(body, teams_answer_action(d));
}

/* Build with smaller values, then fewer fields, until the body fits in max bytes. */
static char *
chat_fit(const struct chat_alert *a, size_t max,
         char *(*build)(const struct chat_alert *, size_t, size_t))
{
	size_t nfields = a->nfields;
	char *out = NULL;

	for (size_t i = 0; i < CHAT_NCAPS; i++) {
		free(out);
		out = build(a, chat_value_caps[i], nfields);
		if (strlen(out) <= max)
			return out;
	}
	/* Still too big: many fields. Halve them until it fits. */
	while (nfields > 0) {
		nfields /= 2;
		free(out);
		out = build(a, chat_value_caps[CHAT_NCAPS - 1], nfields);
		if (strlen(out) <= max)
			return out;
	}
	return out;
}

/* The Teams workflow request body for d. */
char *
chat_teams_body(const struct delivery *d, size_t max, char **cause)
{
	struct chat_alert a;
	char *out;

	if (d->digest)
		return chat_teams_digest(d, max);
	if (chat_alert_init(&a, d, cause) != 0)
		return NULL;
	out = chat_fit(&a, max, teams_build);
	chat_alert_clear(&a);
	return out;
}

/* A mrkdwn text object: "*label*\nvalue" (or value alone), value escaped and cut to max. */
static json_t *
slack_mrkdwn(const char *label, const char *value, size_t max)
{
	json_t *o = json_object();
	char *esc = chat_slack_text(value, max), *text;

	text = label != NULL ? xasprintf("*%s*\n%s", label, esc) : xstrdup(esc);
	json_object_set_new(o, "type", json_string("mrkdwn"));
	json_object_set_new(o, "text", json_string(text));
	/* No URL in a value becomes a link, no channel name or mention is parsed. */
	json_object_set_new(o, "verbatim", json_true());
	free(text);
	free(esc);
	return o;
}

/*
 * The Case field: "*Case*\n<url|case>", a link to the case when it has one
 * that fits in a field, else the case reference alone.
 */
static json_t *
slack_case(const struct delivery *d, size_t max)
{
	json_t *o;
	char *link, *text;

	if (!chat_link_ok(d->case_url, CHAT_LINK_MAX))
		return slack_mrkdwn("Case", d->case_ref, max);
	link = chat_slack_link(d->case_url, d->case_ref, max < 200 ? max : 200);
	if (strlen(link) + 8 > CHAT_SLACK_FIELD_MAX) {
		free(link);
		return slack_mrkdwn("Case", d->case_ref, max);
	}
	o = json_object();
	text = xasprintf("*Case*\n%s", link);
	json_object_set_new(o, "type", json_string("mrkdwn"));
	json_object_set_new(o, "text", json_string(text));
	json_object_set_new(o, "verbatim", json_true());
	free(text);
	free(link);
	return o;
}

/* A section block of one mrkdwn text: "*label*\nvalue", value escaped and cut to max. */
static json_t *
slack_text_section(const char *label, const char *value, size_t max)
{
	json_t *b = json_object();

	json_object_set_new(b, "type", json_string("section"));
	json_object_set_new(b, "text", slack_mrkdwn(label, value, max));
	return b;
}

/* A section block holding fields. */
static json_t *
slack_section(json_t *fields)
{
	json_t *b = json_object();

	json_object_set_new(b, "type", json_string("section"));
	json_object_set_new(b, "fields", fields);
	return b;
}

/* The Slack message with every value cut to vmax and the first nfields fields. */
static char *
slack_build(const struct chat_alert *a, size_t vmax, size_t nfields)
{
	const struct delivery *d = a->d;
	json_t *root = json_object(), *blocks = json_array(), *b, *t, *fields;
	size_t fmax = vmax < CHAT_SLACK_FIELD_MAX - 110 ? vmax : CHAT_SLACK_FIELD_MAX - 110;
	/* The stage as people read it ("Overdue: team manager"), else its id. */
	const char *stage = d->label != NULL ? d->label : d->stage;
	char late[16], *line, *esc, *cut;
	size_t nsections = 0, shown = 0;

	/* The notification text: one line saying what is late, for which case. */
	line = xasprintf("%s: case %s, %s, due %s (%s)", d->title != NULL ? d->title : "",
	                 d->case_ref != NULL ? d->case_ref : "", stage != NULL ? stage : "",
	                 d->due != NULL ? d->due : "", d->status != NULL ? d->status : "");
	esc = chat_slack_text(line, vmax + 100);
	json_object_set_new(root, "text", json_string(esc));
	free(esc);
	free(line);

	b = json_object();
	t = json_object();
	json_object_set_new(t, "type", json_string("plain_text"));
	json_object_set_new(t, "text", chat_str(d->title, CHAT_SLACK_HEADER_MAX));
	json_object_set_new(t, "emoji", json_false());
	json_object_set_new(b, "type", json_string("header"));
	json_object_set_new(b, "text", t);
	json_array_append_new(blocks, b);

	snprintf(late, sizeof late, "%d", d->days_late);
	fields = json_array();
	json_array_append_new(fields, slack_case(d, fmax));
	json_array_append_new(fields, slack_mrkdwn("Stage", stage, fmax));
	json_array_append_new(fields, slack_mrkdwn("Due", d->due, fmax));
	json_array_append_new(fields, slack_mrkdwn("Days overdue", late, fmax));
	if (d->start != NULL)
		json_array_append_new(fields, slack_mrkdwn("Started", d->start, fmax));
	json_array_append_new(blocks, slack_section(fields));

	/* The rule's fields, ten to a section, within Slack's block limit. */
	fields = NULL;
	for (size_t i = 0; i < nfields && i < a->nfields; i++) {
		char *label;

		if (fields != NULL && json_array_size(fields) == CHAT_SLACK_FIELDS_PER_SECTION) {
			json_array_append_new(blocks, slack_section(fields));
			fields = NULL;
		}
		if (fields == NULL) {
			/* This one, and room for expected, the answer link, answers, history
			 * and context. */
			if (2 + nsections + 1 + 5 > CHAT_SLACK_BLOCKS_MAX)
				break;
			fields = json_array();
			nsections++;
		}
		cut = chat_cut(a->fields[i].name, 100);
		label = chat_slack_escape(cut);
		json_array_append_new(fields, slack_mrkdwn(label, a->fields[i].value, fmax));
		free(label);
		free(cut);
		shown++;
	}
	if (fields != NULL)
		json_array_append_new(blocks, slack_section(fields));

	if (d->expected != NULL && *d->expected != '\0') {
		line = xasprintf("Expected: %s", d->expected);
		json_array_append_new(blocks,
		                      slack_text_section(NULL, line, CHAT_SLACK_TEXT_MAX - 100));
		free(line);
	}
	if (chat_link_ok(d->response_link, CHAT_LINK_MAX)) {
		/* A link, not a button: a button wants an app with interactivity to answer it. */
		b = json_object();
		t = json_object();
		line = chat_slack_link(d->response_link, CHAT_ANSWER_TEXT, 100);
		esc = xasprintf("*%s*", line);
		json_object_set_new(t, "type", json_string("mrkdwn"));
		json_object_set_new(t, "text", json_string(esc));
		json_object_set_new(t, "verbatim", json_true());
		json_object_set_new(b, "type", json_string("section"));
		json_object_set_new(b, "text", t);
		json_array_append_new(blocks, b);
		free(esc);
		free(line);
	}
	/* Who answered, what and when: never the reason or the note (a third party's platform). */
	if (digest_answers_shown(d) > 0) {
		line = chat_answers(d, vmax);
		json_array_append_new(
		    blocks, slack_text_section("Answers so far", line, CHAT_SLACK_TEXT_MAX - 100));
		free(line);
	}
	if (d->nhistory > 0) {
		line = chat_history(d, vmax);
		json_array_append_new(
		    blocks, slack_text_section("History", line, CHAT_SLACK_TEXT_MAX - 100));
		free(line);
	}
	if (shown < a->nfields)
		line = xasprintf("rule %s \xc2\xb7 delivery %s \xc2\xb7 %zu more fields not shown",
		                 d->rule != NULL ? d->rule : "", d->uid != NULL ? d->uid : "",
		                 a->nfields - shown);
	else
		line = xasprintf("rule %s \xc2\xb7 delivery %s", d->rule != NULL ? d->rule : "",
		                 d->uid != NULL ? d->uid : "");
	b = json_object();
	json_object_set_new(b, "type", json_string("context"));
	json_object_set_new(b, "elements", json_pack("[o]", slack_mrkdwn(NULL, line, 300)));
	json_array_append_new(blocks, b);
	free(line);

	json_object_set_new(root, "blocks", blocks);
	/* No link previews: a URL in a case value must not be fetched by Slack or shown big. */
	json_object_set_new(root, "unfurl_links", json_false());
	json_object_set_new(root, "unfurl_media", json_false());
	line = chat_dump(root);
	json_decref(root);
	return line;
}

/* The Slack request body for d. */
char *
chat_slack_body(const struct delivery *d, size_t max, char **cause)
{
	struct chat_alert a;
	char *out;

	if (d->digest)
		return chat_slack_digest(d, max);
	if (chat_alert_init(&a, d, cause) != 0)
		return NULL;
	out = chat_fit(&a, max, slack_build);
	chat_alert_clear(&a);
	return out;
}

/* Set up t to POST d to its Teams or Slack URL. */
struct http_state *
chat_setup(struct transfer *t, const struct notifier_settings *s, const struct delivery *d,
           char **cause)
{
	struct curl_slist *h;
	char *body;

	if (d->kind == CHANNEL_TEAMS)
		body =
		    chat_teams_body(d, d->digest ? CHAT_TEAMS_DIGEST_MAX : CHAT_TEAMS_MAX, cause);
	else
		body =
		    chat_slack_body(d, d->digest ? CHAT_SLACK_DIGEST_MAX : CHAT_SLACK_MAX, cause);
	if (body == NULL)
		return NULL;
	transfer_keep(t, body, free);
	h = http_json_headers(d->uid);
	transfer_keep_slist(t, h);
	return http_request(t, s, d->recipient, body, h, 0, cause);
}
