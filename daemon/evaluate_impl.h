/*
 * evaluate_impl.h - what evaluate.c (the pass: rules, rows, slices) and
 * evaluate_emit.c (one alert owed: its recipients, text and record) share.
 * Private to those two files.
 */
#ifndef ESCALATOR_EVALUATE_IMPL_H
#define ESCALATOR_EVALUATE_IMPL_H

#include <stdint.h>

#include "casestore.h"
#include "evaluate.h"
#include "evaluate_notice.h"

/* Per-rule scratch space reused for every row. */
struct evaluate_rule {
	const struct rule *r;
	const struct calendar *cal; /* the engine's, looked up once per rule, not per row */
	int send_time;
	const char **cols;
	const char **values; /* template values: built-ins, then the columns */
	bool *recorded;
	struct recipient *rcpt;
	const struct config *cfg;     /* allowed_domains and the admin contact */
	struct eval_dropped *dropped; /* recipients the current alert lost, and why */
	long long outside;            /* clocks that used dates outside the holiday files */
	long long pass; /* threshold rules: this pass's mark on keys seen over the limit */

	date_t today;
	long long digest_at;             /* when held deliveries go: unix seconds */
	const struct template *case_url; /* the rule's, else escalator.conf's, else NULL */
	bool *held;                      /* per recipient: held for the digest */
	/* Recipients of stages skipped now, told with the alert (sized for every stage's). */
	struct recipient *copies;
	int *copy_stage;
	date_t *copy_on;
	bool *copy_held;
	struct recipient *scratch; /* one skipped stage's recipients */
	struct eval_dropped *scratch_dropped;
	/* Clock rules: the key of every row read (closing.c), to find the clocks now done. */
	uint64_t *seen;
	size_t nseen, capseen;
	struct evaluate_bad_rows bad; /* rows skipped for bad data, for the admin */
	/* Metrics (evaluate_observe): rows by latest reached stage, the pass's counts at open. */
	long long *at_stage;
	long long rows_before, skipped_before;
	bool complete, failed;
};

/*
 * Resolve recipients, render and record alert a (its stage, case, dates set)
 * for the current row of st, then tell fn. Returns 0 when recorded, 1 when
 * nobody could be sent it (not recorded), or -1 on a state store failure.
 */
int evaluate_emit(struct statestore *ss, struct evaluate_rule *er, struct casestore_rows *st,
                  struct alert *a, localtime_min_t now, const char *value, evaluate_alert_fn fn,
                  void *arg, struct evaluate_stats *stats, char **cause);

#endif
