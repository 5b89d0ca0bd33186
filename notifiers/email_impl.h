/*
 * email_impl.h - email.c's per-delivery SMTP state and the curl callbacks that
 * fill it (private to email.c; shared with tests/fuzz/fuzz_smtp_reply.c).
 */
#ifndef ESCALATOR_EMAIL_IMPL_H
#define ESCALATOR_EMAIL_IMPL_H

#include <curl/curl.h>
#include <stddef.h>

/* Longest reply text kept from the server. */
#define EMAIL_REPLY_MAX 512

struct email_state {
	char command[16];            /* verb of the last command sent, "" before any */
	char reply[EMAIL_REPLY_MAX]; /* the last (possibly multi-line) reply, lines joined */
	int reply_done; /* the reply above is complete: the next line starts a new one */
	int quit;       /* QUIT was sent: what follows is not the delivery's answer */
	int xoauth2;    /* logs in with an OAuth bearer token */
};

/* CURLOPT_HEADERFUNCTION: the server's reply lines (arg: the struct email_state). */
size_t email_header_cb(char *data, size_t size, size_t n, void *arg);
/* CURLOPT_DEBUGFUNCTION: remember which command the next reply answers (arg: the state). */
int email_debug_cb(CURL *easy, curl_infotype type, char *data, size_t size, void *arg);

#endif
