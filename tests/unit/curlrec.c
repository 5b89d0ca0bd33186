/* curlrec.c - the one curl option recorder of the unit tests: every curl_easy_setopt is kept. */
#include "curlrec.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include "xalloc.h"

/* Linked with -Wl,--wrap=curl_easy_setopt: every option the modules set comes here first. */
CURLcode __real_curl_easy_setopt(CURL *easy, CURLoption opt, ...);
CURLcode __wrap_curl_easy_setopt(CURL *easy, CURLoption opt, ...);

static struct curlrec recs[128];
static size_t nrecs;

/* Is opt an option whose argument is a C string? */
static int
curlrec_string_option(CURLoption opt)
{
	return opt == CURLOPT_URL || opt == CURLOPT_MAIL_FROM || opt == CURLOPT_USERNAME ||
	       opt == CURLOPT_PASSWORD || opt == CURLOPT_CAINFO || opt == CURLOPT_PROTOCOLS_STR ||
	       opt == CURLOPT_LOGIN_OPTIONS || opt == CURLOPT_XOAUTH2_BEARER ||
	       opt == CURLOPT_POSTFIELDS || opt == CURLOPT_PROXY;
}

/* Record the option, then really set it. */
CURLcode
__wrap_curl_easy_setopt(CURL *easy, CURLoption opt, ...)
{
	struct curlrec r = {.opt = opt};
	va_list ap;

	va_start(ap, opt);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		r.num = va_arg(ap, long);
	else if (opt < CURLOPTTYPE_OFF_T || opt >= CURLOPTTYPE_BLOB)
		r.ptr = va_arg(ap, void *);
	else
		r.num = (long)va_arg(ap, curl_off_t);
	va_end(ap);
	if (curlrec_string_option(opt) && r.ptr != NULL)
		r.str = xstrdup(r.ptr);
	if (nrecs < sizeof recs / sizeof recs[0])
		recs[nrecs++] = r;
	else
		free(r.str);
	if (opt < CURLOPTTYPE_OBJECTPOINT)
		return __real_curl_easy_setopt(easy, opt, r.num);
	if (opt < CURLOPTTYPE_OFF_T || opt >= CURLOPTTYPE_BLOB)
		return __real_curl_easy_setopt(easy, opt, r.ptr);
	return __real_curl_easy_setopt(easy, opt, (curl_off_t)r.num);
}

/* Forget every recorded option. */
void
curlrec_clear(void)
{
	for (size_t i = 0; i < nrecs; i++)
		free(recs[i].str);
	nrecs = 0;
}

/* The last record of opt, or NULL. */
const struct curlrec *
curlrec_find(CURLoption opt)
{
	for (size_t i = nrecs; i > 0; i--)
		if (recs[i - 1].opt == opt)
			return &recs[i - 1];
	return NULL;
}
