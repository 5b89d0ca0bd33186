/*
 * respond_html.c - what the answer page and the refusal page share: the
 * document around them (head, one inline style sheet, masthead), escaping,
 * and the refusal page itself. Nothing is fetched: no script, no images, no
 * url() (the listener sends "Content-Security-Policy: default-src 'none';
 * style-src 'unsafe-inline'").
 */
#include "respond_html.h"

#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "respond_page.h"
#include "utf8.h"
#include "xalloc.h"

/* What to do instead of using a refused link. */
static const char html_advice[] = "Open the link in your latest message about this case, or "
                                  "contact the IRO service.";

/*
 * The style sheet: system fonts, 19 px text (16 on a narrow screen), ink on
 * white at 7:1 or more, a yellow-and-black focus ring no colour scheme hides,
 * controls that fill a phone's width. No url(), no @import: nothing to fetch.
 */
static const char html_css[] =
    "*,*::before,*::after{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%;text-size-adjust:100%}"
    "body{margin:0;background:#f3f2f1;color:#0b0c0c;font-family:system-ui,-apple-system,"
    "\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif;font-size:1.1875rem;"
    "line-height:1.45}"
    ".mast{background:#0b0c0c;color:#fff;margin:0;padding:.6rem 1rem;font-weight:700}"
    "main{display:block;max-width:44rem;margin:0 auto;padding:1rem 1.25rem 2rem;"
    "background:#fff;overflow-wrap:anywhere}"
    "h1{font-size:1.75rem;line-height:1.2;margin:.5rem 0 .75rem}"
    "h2{font-size:1.35rem;line-height:1.25;margin:1.75rem 0 .5rem}"
    "p{margin:0 0 .75rem}"
    "a{color:#1d70b8;text-decoration:underline;text-underline-offset:.15em}"
    "a:visited{color:#4c2c92}"
    "a:focus{outline:3px solid transparent;background:#fd0;color:#0b0c0c;"
    "box-shadow:0 -2px #fd0,0 4px #0b0c0c;text-decoration:none}"
    "input:focus,textarea:focus,button:focus{outline:3px solid #fd0;outline-offset:0;"
    "box-shadow:inset 0 0 0 2px #0b0c0c}"
    "input[type=radio]:focus{box-shadow:0 0 0 5px #0b0c0c}"
    ".status{font-weight:700;font-size:1.3rem}.late{color:#a8220e}"
    "dl{margin:0 0 1rem}dt{font-weight:700}dd{margin:0 0 .5rem}"
    ".panel{background:#00703c;color:#fff;padding:1rem 1.25rem;margin:0 0 1.25rem}"
    ".panel h2{margin:0 0 .25rem;color:#fff}.panel p{margin:0}"
    ".errors{border:5px solid #b10e1e;padding:1rem;margin:0 0 1.25rem}"
    ".errors h2{margin:0 0 .5rem}.errors ul{margin:0;padding:0;list-style:none}"
    ".errors a,.errors a:visited{color:#b10e1e;font-weight:700}"
    ".error{color:#b10e1e;font-weight:700;margin:.25rem 0}"
    ".note{border-left:5px solid #1d70b8;background:#f3f2f1;padding:.6rem 1rem;margin:0 0 1rem}"
    ".note.done{border-color:#00703c}.note.copied{border-color:#4c2c92}"
    ".hint{color:#505a5f;margin:.15rem 0 .4rem}"
    "ol,ul{margin:0 0 1rem;padding-left:1.4rem}li{margin:0 0 .4rem}"
    ".amended{color:#505a5f}"
    ".tag{display:inline-block;background:#505a5f;color:#fff;font-size:.85em;font-weight:700;"
    "padding:0 .4rem;margin-right:.35rem}"
    "form{border-top:2px solid #b1b4b6;margin-top:1.75rem;padding-top:.5rem}"
    "fieldset{border:0;margin:0 0 1.25rem;padding:0;min-width:0}"
    "legend{font-size:1.35rem;font-weight:700;padding:0;margin:1rem 0 .5rem}"
    ".choice{display:flex;align-items:flex-start;gap:.7rem;margin:0 0 .75rem}"
    ".choice input{flex:none;width:1.75rem;height:1.75rem;margin:0;accent-color:#0b0c0c}"
    ".choice label{font-weight:700;display:block}.choice .hint{margin:0;font-weight:400}"
    ".field{margin:0 0 1.25rem}.field>label{display:block;font-weight:700}"
    "input[type=date],input[type=text],textarea{font:inherit;color:#0b0c0c;background:#fff;"
    "border:2px solid #0b0c0c;border-radius:0;padding:.4rem;width:100%;max-width:100%}"
    "input[type=date]{width:auto;min-height:2.6rem}"
    "textarea{min-height:6.5rem;resize:vertical}"
    "input[aria-invalid=true],textarea[aria-invalid=true]{border:4px solid #b10e1e}"
    "button{font:inherit;font-weight:700;color:#fff;background:#00703c;border:2px solid "
    "transparent;box-shadow:0 2px 0 #002d18;padding:.6rem 1.25rem;cursor:pointer}"
    "button:hover{background:#005a30}"
    "button:focus{background:#fd0;color:#0b0c0c;box-shadow:0 2px 0 #0b0c0c}"
    ".small{font-size:1rem;color:#505a5f}"
    "@media (max-width:40rem){body{font-size:1rem}main{padding:.75rem .9rem 1.5rem}"
    "h1{font-size:1.4rem}h2,legend{font-size:1.2rem}.status{font-size:1.1rem}}"
    "@media (forced-colors:active){.tag,.panel{border:2px solid}}";

/*
 * A submitted value as it was typed, to show again after an error: valid
 * UTF-8, controls other than line breaks and tabs removed, nothing cut (the
 * listener has already bounded the body). Allocated; NULL gives "".
 */
char *
respond_html_typed(const char *s)
{
	char *v = utf8_sanitize(s != NULL ? s : ""), *o = v;

	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p >= 0x20 || *p == '\n' || *p == '\t') {
			if (*p != 0x7f)
				*o++ = (char)*p;
		}
	*o = '\0';
	return v;
}

/* The document's head and the masthead; title is freed. */
static void
html_begin(FILE *f, char *title)
{
	fputs("<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta name=\"referrer\" content=\"no-referrer\">\n"
	      "<meta name=\"robots\" content=\"noindex, nofollow\">\n<title>",
	      f);
	digest_html_put(f, title);
	fprintf(f, "</title>\n<style>%s</style>\n</head>\n<body>\n", html_css);
	fputs("<p class=\"mast\">escalator \xc2\xb7 IRO service</p>\n<main id=\"main\">\n", f);
}

/* The end of the document. */
static void
html_end(FILE *f)
{
	fputs("</main>\n</body>\n</html>\n", f);
}

/* Run body(f, arg) between a document's beginning (title freed) and end; the document. */
char *
respond_html_document(char *title, void (*body)(FILE *, const void *), const void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		fatalx("out of memory building a page");
	html_begin(f, title);
	body(f, arg);
	html_end(f);
	if (fclose(f) != 0)
		fatalx("out of memory building a page");
	return buf;
}

/* What a refusal page says. */
struct html_refusal {
	const char *title, *why;
};

/* The refusal page's body: what happened, what to do, and that nothing changed. */
static void
html_refusal_body(FILE *f, const void *arg)
{
	const struct html_refusal *r = arg;

	fputs("<h1>", f);
	digest_html_put(f, digest_clean(r->title, DIGEST_VALUE_MAX, false));
	fputs("</h1>\n", f);
	if (r->why != NULL && *r->why != '\0') {
		fputs("<p>", f);
		digest_html_put(f, digest_clean(r->why, DIGEST_BODY_MAX, true));
		fputs("</p>\n", f);
	}
	fprintf(f, "<p>%s</p>\n", html_advice);
	fputs("<p class=\"small\">Nothing was recorded or changed.</p>\n", f);
}

char *
respond_refusal(const char *title, const char *why)
{
	struct html_refusal r = {title != NULL ? title : "This link cannot be used", why};

	return respond_html_document(digest_clean(r.title, DIGEST_VALUE_MAX, false),
	                             html_refusal_body, &r);
}
