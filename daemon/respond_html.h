/*
 * respond_html.h - inside the answer pages (respond_page.c, respond_html.c):
 * the document shell they share (values are escaped by digest_html_esc).
 */
#ifndef ESCALATOR_RESPOND_HTML_H
#define ESCALATOR_RESPOND_HTML_H

#include <stdio.h>

/*
 * A submitted value as it was typed, to show again after an error: valid
 * UTF-8, no hidden controls, nothing cut. Allocated; NULL gives "".
 */
char *respond_html_typed(const char *s);
/*
 * A complete document: the head with title (freed) and the style sheet, the
 * masthead, then what body(f, arg) writes inside <main>. Allocated.
 */
char *respond_html_document(char *title, void (*body)(FILE *, const void *), const void *arg);

#endif
