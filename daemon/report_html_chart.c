/*
 * report_html_chart.c - one rule's % on time per period as an inline SVG bar
 * chart, the target a dashed line across it. Every bar carries its figure as
 * text and the target line its own label, so the chart reads the same printed
 * in black and white; a <title> and <desc> say the same for a screen reader.
 * Presentation attributes rather than the page's CSS, so the chart looks the
 * same wherever it is copied to.
 */
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "report_html.h"

#define CHART_LEFT 48    /* room for the axis labels, "100%" */
#define CHART_RIGHT 100  /* room for the target's label, "Target 92.5%" */
#define CHART_TOP 28     /* room for a full bar's label */
#define CHART_PLOT 180   /* 0% to 100% */
#define CHART_BOTTOM 30  /* room for the period labels */
#define CHART_SLOT 56    /* the narrowest period */
#define CHART_CHAR 7     /* a 12px Arial character, wide enough for digits */
#define CHART_CROWDED 24 /* more periods than this: thinner, labelled every few */
#define CHART_FIGURE 13  /* a figure's height above its baseline, and then some */

#define CHART_INK "#0b0c0c"
#define CHART_GREY "#505a5f"
#define CHART_LINE "#b1b4b6"
#define CHART_BAR "#1d70b8" /* a mid grey when printed in black and white */
/* A white halo behind a label, so the target line never runs through its figures. */
#define CHART_HALO                                                                                 \
	" paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"4\" stroke-linejoin=\"round\""

/* The y of percentage p. */
static double
chart_y(double p)
{
	if (p < 0)
		p = 0;
	if (p > 100)
		p = 100;
	return CHART_TOP + CHART_PLOT * (100 - p) / 100;
}

/* The accessible description: each period's figure, then the target. */
static void
chart_desc(FILE *f, const struct report *rep, const struct report_rule *rr)
{
	char label[64], buf[32];

	for (size_t k = 0; k < rep->periods.n; k++) {
		const struct report_cell *c = &rr->cells[k];

		digest_html_esc(f, report_period_label(rep, k, label, sizeof label));
		if (c->fig.has_percent)
			fprintf(f, ": %s%% on time (%lld of %lld). ",
			        report_fmt1(c->fig.percent, buf, sizeof buf), c->tally.on_time,
			        c->tally.completed);
		else
			fputs(": none completed. ", f);
	}
	if (rr->rule->target >= 0)
		fprintf(f, "Target: %s%%.", report_html_target(rr->rule->target, buf, sizeof buf));
	else
		fputs("No target set.", f);
}

/*
 * A bar's figure: above the bar, unless the target line runs there; then
 * inside the bar's top in white when the bar is tall enough, else above the
 * line.
 */
static void
chart_figure(FILE *f, double mid, double percent, double target)
{
	double top = chart_y(percent), y = top - 6, ty = chart_y(target);
	bool inside = false;
	char buf[32];

	if (target >= 0 && ty > y - CHART_FIGURE && ty < y + 4) {
		if (chart_y(0) - top >= CHART_FIGURE + 8) {
			y = top + CHART_FIGURE + 2;
			inside = true;
		} else
			y = ty - 6;
	}
	fprintf(f,
	        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"%s\" "
	        "font-weight=\"bold\"%s>%s%%</text>\n",
	        mid, y, inside ? "#ffffff" : CHART_INK, inside ? "" : CHART_HALO,
	        report_fmt1(percent, buf, sizeof buf));
}

/* The horizontal grid and its labels: 0%, 25%, 50%, 75%, 100%. */
static void
chart_grid(FILE *f, double right)
{
	for (int p = 0; p <= 100; p += 25) {
		double y = chart_y(p);

		fprintf(f,
		        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		        "stroke-width=\"1\"></line>"
		        "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" fill=\"%s\">%d%%</text>\n",
		        CHART_LEFT, y, right, y, p == 0 ? CHART_INK : CHART_LINE, CHART_LEFT - 6,
		        y + 4, CHART_GREY, p);
	}
}

void
report_html_chart(FILE *f, const struct report *rep, const struct report_rule *rr, size_t n)
{
	size_t np = rep->periods.n, longest = 0, every = 1;
	bool crowded = np > CHART_CROWDED, any = false;
	char label[64], buf[32];
	double slot, right, width, height = CHART_TOP + CHART_PLOT + CHART_BOTTOM;

	for (size_t k = 0; k < np; k++) {
		size_t len = strlen(report_period_label(rep, k, label, sizeof label));

		if (len > longest)
			longest = len;
		any |= rr->cells[k].fig.has_percent;
	}
	/* An empty chart says nothing the table does not. */
	if (!any) {
		fputs("<p class=\"note\">None was completed in the period, so there is no "
		      "chart.</p>\n",
		      f);
		return;
	}
	slot = (double)(CHART_CHAR * longest + 12);
	if (slot < CHART_SLOT)
		slot = CHART_SLOT;
	if (crowded) {
		/* Label about twelve periods; the table below has every figure. */
		every = (np + 11) / 12;
		slot = slot / (double)every;
	}
	right = CHART_LEFT + slot * (double)np;
	width = right + CHART_RIGHT;

	fprintf(f,
	        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"chart-%zu-t chart-%zu-d\" "
	        "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
	        "font-family=\"Arial, Helvetica, sans-serif\" font-size=\"12\">\n"
	        "<title id=\"chart-%zu-t\">",
	        n, n, width, height, width, height, n);
	report_html_value(f, rr->rule->title, DIGEST_VALUE_MAX);
	fprintf(f, ": %% on time by %s</title>\n<desc id=\"chart-%zu-d\">", rep->by, n);
	chart_desc(f, rep, rr);
	fputs("</desc>\n", f);
	chart_grid(f, right);

	for (size_t k = 0; k < np; k++) {
		const struct report_cell *c = &rr->cells[k];
		double mid = CHART_LEFT + slot * ((double)k + 0.5), bar = slot * 0.6;

		if (c->fig.has_percent) {
			double top = chart_y(c->fig.percent);

			fprintf(f,
			        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			        "fill=\"%s\"></rect>\n",
			        mid - bar / 2, top, bar, chart_y(0) - top, CHART_BAR);
		}
		if (k % every == 0)
			fprintf(f,
			        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
			        "fill=\"%s\">%s</text>\n",
			        mid, chart_y(0) + 18, CHART_INK,
			        report_period_label(rep, k, label, sizeof label));
	}
	if (rr->rule->target >= 0) {
		double ty = chart_y(rr->rule->target);

		fprintf(f,
		        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
		        "stroke-width=\"2\" stroke-dasharray=\"6 4\"></line>"
		        "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">Target %s%%</text>\n",
		        CHART_LEFT, ty, right, ty, CHART_INK, right + 6, ty + 4, CHART_INK,
		        report_html_target(rr->rule->target, buf, sizeof buf));
	}
	/* The figures last, over the bars and the target line. */
	for (size_t k = 0; k < np && !crowded; k++) {
		const struct report_cell *c = &rr->cells[k];
		double mid = CHART_LEFT + slot * ((double)k + 0.5);

		if (c->fig.has_percent)
			chart_figure(f, mid, c->fig.percent, rr->rule->target);
		else
			fprintf(f,
			        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
			        "fill=\"%s\">none</text>\n",
			        mid, chart_y(0) - 6, CHART_GREY);
	}
	fputs("</svg>\n", f);
}
