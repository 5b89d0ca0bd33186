/*
 * listen.h - the HTTP listener (libevent's evhttp, on the daemon's own loop):
 * answer pages under /r/<token>, /metrics and /healthz. Off unless
 * escalator.conf says listen = "host:port".
 */
#ifndef ESCALATOR_LISTEN_H
#define ESCALATOR_LISTEN_H

struct daemon;
struct listener;

/*
 * Bind the configuration's listen address on dm's loop. Requests read the
 * configuration and state store through dm at the time they are served, so
 * a reload takes effect at once (but for the address: that needs a restart).
 * Returns NULL with *cause set when the address cannot be bound.
 */
struct listener *listener_start(struct daemon *dm, char **cause);
/* Stop accepting, close every connection, free. NULL is fine. */
void listener_free(struct listener *l);

#endif
