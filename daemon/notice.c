/* notice.c - telling the admin contact about the service's own problems, once each. */
#include "notice.h"

#include <stdlib.h>
#include <string.h>

#include "alertstore.h"
#include "clock.h"
#include "log.h"

/* Record a notice to the admin contact, once per (kind, key, day). */
int
notice_admin(struct statestore *ss, const struct config *cfg, const struct notice *n, char **cause)
{
	struct stage stage = {.name = (char *)"notice", .label = (char *)n->title};
	struct rule rule = {
	    .id = (char *)n->kind, .title = (char *)n->title, .stages = &stage, .nstages = 1};
	struct recipient rc;
	struct alert a;
	bool held;
	enum channel ch;
	const char *address;
	bool recorded = false;
	long long id;
	char *qk;

	qk = log_quote(n->key);
	if (cfg->admin == NULL ||
	    config_contact_channel((void *)cfg, cfg->admin, &ch, &address) != 0) {
		log_warn("notice=%s key=%s: %s; no admin contact is configured to tell (set admin "
		         "= \"name\" in %s)",
		         n->kind, qk, n->subject, cfg->path);
		free(qk);
		return 0;
	}
	if (!statestore_records(ss)) {
		/* A dry run: nothing is recorded, so nothing would be sent. */
		log_notice("notice=%s key=%s: %s (dry run: not recorded)", n->kind, qk, n->subject);
		free(qk);
		return 0;
	}
	if (alertstore_recorded(ss, &rule, n->key, n->day, &recorded, NULL, cause) != 0) {
		free(qk);
		return -1;
	}
	if (recorded) {
		free(qk);
		return 0;
	}
	memset(&rc, 0, sizeof rc);
	rc.kind = ch;
	rc.address = address;
	rc.contact = cfg->admin;
	/* In the admin's digest, unless it must be known now. */
	held = !n->immediate && config_digest_for(cfg, cfg->admin);
	memset(&a, 0, sizeof a);
	a.rule = &rule;
	a.case_ref = n->key;
	a.start = a.due = n->day;
	a.fires = (localtime_min_t)n->day * 1440;
	a.stage = 0;
	a.subject = n->subject;
	a.body = n->body;
	a.recipients = &rc;
	a.nrecipients = 1;
	a.held = &held;
	a.digest_at = n->digest_at > 0 ? n->digest_at : config_digest_instant(cfg, clock_now());
	a.urgency = EVAL_OVERDUE;
	if (statestore_begin(ss, cause) != 0 ||
	    alertstore_record(ss, &a, &recorded, &id, cause) != 0 ||
	    statestore_commit(ss, cause) != 0) {
		statestore_rollback(ss);
		free(qk);
		return -1;
	}
	log_notice("notice=%s key=%s to=%s alert=%lld: %s", n->kind, qk, cfg->admin, id,
	           n->subject);
	free(qk);
	return 1;
}

/* Is rule_id one of escalator's own? */
bool
notice_own(const char *rule_id)
{
	return strncmp(rule_id, NOTICE_PREFIX, sizeof NOTICE_PREFIX - 1) == 0;
}

/* Append s as notice text: printable ASCII without quotes. */
bool
notice_put(char *buf, size_t len, size_t *n, const char *s, size_t slen)
{
	for (size_t i = 0; i < slen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (*n + 1 >= len)
			return false;
		buf[(*n)++] = c >= 0x20 && c < 0x7f && c != '"' ? (char)c : '?';
	}
	buf[*n] = '\0';
	return true;
}
