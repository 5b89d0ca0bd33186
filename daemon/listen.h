/*
 * listen.h - the HTTP listener (libevent's evhttp, on the daemon's own loop):
 * answer pages under /r/<token>, /metrics and /healthz. Off unless
 * escalator.conf says listen = "host:port".
 */
#ifndef ESCALATOR_LISTEN_H
#define ESCALATOR_LISTEN_H

#include <stdbool.h>

struct daemon;
struct listener;

/*
 * Bind the configuration's listen address on dm's loop. Requests read the
 * configuration and state store through dm at the time they are served, so
 * a reload takes effect at once (but for the address: that needs a restart).
 * Returns NULL with *cause set when the address cannot be bound.
 */
struct listener *listener_start(struct daemon *dm, char **cause);
/* Is l bound to host:port (so a reload that names another address needs a restart)? */
bool listener_at(const struct listener *l, const char *host, int port);
/* Where l listens, "host:port" ("[::1]:8470" for IPv6), for the log. */
const char *listener_name(const struct listener *l);
/* Stop accepting, close every connection, free. NULL is fine. */
void listener_free(struct listener *l);

#endif
