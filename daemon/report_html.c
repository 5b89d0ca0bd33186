/* report_html.c - the report as one printable page (helper B replaces this stub). */
#include "report.h"

void
report_html(FILE *f, const struct report *rep)
{
	(void)rep;
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><title>IRO report</title></html>\n", f);
}
