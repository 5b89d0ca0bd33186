/* curlrec.h - the one curl option recorder of the unit tests (-Wl,--wrap=curl_easy_setopt). */
#ifndef ESCALATOR_CURLREC_H
#define ESCALATOR_CURLREC_H

#include <curl/curl.h>

/* One option set on an easy handle. */
struct curlrec {
	CURLoption opt;
	long num;        /* long and curl_off_t options */
	const void *ptr; /* pointer options (objects, functions, strings) */
	char *str;       /* a copy, for string options */
};

/* Forget every recorded option. */
void curlrec_clear(void);
/* The last record of opt, or NULL if it was never set since curlrec_clear. */
const struct curlrec *curlrec_find(CURLoption opt);

#endif
