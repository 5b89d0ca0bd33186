/*
 * report_html.h - inside the report's HTML page (report_html.c, its sections
 * and its charts): the few helpers they share. Every value from the case
 * store or the state store is written through report_html_value: cleaned
 * (digest_clean: invalid UTF-8, controls) and escaped (digest_html_esc).
 */
#ifndef ESCALATOR_REPORT_HTML_H
#define ESCALATOR_REPORT_HTML_H

#include <stdbool.h>
#include <stdio.h>

#include "report.h"

/* U+2013, what a cell shows when its figure is undefined (the table's note says why). */
#define REPORT_HTML_DASH "\xe2\x80\x93"

/* One table being written: was a dash shown in it (then its note is owed)? */
struct report_html {
	FILE *f;
	const struct report *rep;
	bool dash;
};

/* A value from a store: cleaned, cut to one line of at most max bytes, escaped. */
void report_html_value(FILE *f, const char *s, size_t max);
/* "1 Apr 2025" (no weekday: a range reads better without) into buf (DATE_HUMAN_LEN). */
const char *report_html_day(date_t d, char *buf);
/* A count in a numeric cell. */
void report_html_count(struct report_html *h, long long v);
/* "66.7%" in a numeric cell, or the dash. */
void report_html_percent(struct report_html *h, bool has, double v);
/* A one-decimal figure ("2.5") in a numeric cell, or the dash. */
void report_html_fig(struct report_html *h, bool has, double v);
/* A whole-number figure in a numeric cell, or the dash. */
void report_html_int(struct report_html *h, bool has, int v);
/* A table's caption and header row from "|"-separated names: ntext text columns, then numbers. */
void report_html_head(FILE *f, const char *caption, const char *columns, int ntext);
/* Close the table, then its note when a dash was shown (what the dash means there). */
void report_html_end(struct report_html *h, const char *note);
/* The title of the rule with this id, or the id itself (a rule no longer loaded). */
const char *report_html_rule_title(const struct report *rep, const char *id);
/* The target as the rule file writes it: "90" or "92.5". */
const char *report_html_target(double target, char *buf, size_t len);

/* The sections: practice resolution, what the service sent (report_html_sections.c). */
void report_html_practice(FILE *f, const struct report *rep);
void report_html_service(FILE *f, const struct report *rep);
/* The chart of one rule's % on time per period against its target (report_html_chart.c). */
void report_html_chart(FILE *f, const struct report *rep, const struct report_rule *rr, size_t n);

#endif
