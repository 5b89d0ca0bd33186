/* transport.c - one libcurl multi handle driven by a libevent event_base (curl's hiperfifo). */
#include "transport.h"

#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "utf8.h"
#include "xalloc.h"

/* The libevent event curl asked us to watch one socket with. */
struct sockinfo {
	struct transport *tp;
	curl_socket_t fd;
	struct event *ev;
	LIST_ENTRY(sockinfo) entry;
};

/* Something a transfer owns until it is freed. */
struct kept {
	void *p;
	void (*free_fn)(void *);
};

struct transfer {
	struct transport *tp; /* NULL until started */
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	transfer_done_fn done;
	void *arg;
	struct kept *kept;
	size_t nkept, capkept;
	LIST_ENTRY(transfer) entry;
};

struct transport {
	struct event_base *base;
	CURLM *multi;
	struct event *timer; /* the single timer CURLMOPT_TIMERFUNCTION arms */
	LIST_HEAD(, transfer) transfers;
	LIST_HEAD(, sockinfo) socks;
	size_t running;
	int dispatching; /* inside check_multi_info: done functions may run */
	int dead;        /* transport_free was called from a done function */
};

static void check_multi_info(struct transport *tp);

/* Stop watching a socket and free its event. */
static void
sockinfo_free(struct sockinfo *si)
{
	LIST_REMOVE(si, entry);
	event_free(si->ev);
	free(si);
}

/* A socket curl watches is readable or writable: tell curl, then collect finished transfers. */
static void
sock_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sockinfo *si = arg;
	struct transport *tp = si->tp;
	int action = 0, running;
	CURLMcode mc;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	/* si may be freed inside this call (CURL_POLL_REMOVE): do not touch it afterwards. */
	mc = curl_multi_socket_action(tp->multi, fd, action, &running);
	if (mc == CURLM_OUT_OF_MEMORY)
		fatalx("curl_multi_socket_action: %s", curl_multi_strerror(mc));
	check_multi_info(tp);
}

/* curl's timeout expired: tell curl, then collect finished transfers. */
static void
timer_event_cb(evutil_socket_t fd, short what, void *arg)
{
	struct transport *tp = arg;
	int running;
	CURLMcode mc;

	mc = curl_multi_socket_action(tp->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	if (mc == CURLM_OUT_OF_MEMORY)
		fatalx("curl_multi_socket_action: %s", curl_multi_strerror(mc));
	check_multi_info(tp);
}

/* CURLMOPT_SOCKETFUNCTION: create, update or free the event watching socket s. */
static int
multi_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct transport *tp = userp;
	struct sockinfo *si = socketp;
	short kind = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (si != NULL)
			sockinfo_free(si);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;

	if (si == NULL) {
		si = xcalloc(1, sizeof *si);
		si->tp = tp;
		si->fd = s;
		si->ev = event_new(tp->base, s, kind, sock_event_cb, si);
		if (si->ev == NULL)
			fatalx("event_new failed for socket %d", (int)s);
		LIST_INSERT_HEAD(&tp->socks, si, entry);
		curl_multi_assign(tp->multi, s, si);
	} else {
		/* event_assign must not be used on a pending event. */
		event_del(si->ev);
		if (event_assign(si->ev, tp->base, s, kind, sock_event_cb, si) != 0)
			fatalx("event_assign failed for socket %d", (int)s);
	}
	if (kind & (EV_READ | EV_WRITE))
		event_add(si->ev, NULL);
	return 0;
}

/*
 * CURLMOPT_TIMERFUNCTION: arm or delete the single timer. Never calls curl:
 * a timeout of 0 means "act soon", so it becomes a 0-delay timer.
 */
static int
multi_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct transport *tp = userp;
	struct timeval tv;

	if (timeout_ms < 0) {
		evtimer_del(tp->timer);
		return 0;
	}
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (timeout_ms % 1000) * 1000;
	evtimer_add(tp->timer, &tv);
	return 0;
}

/* A transport on base. */
struct transport *
transport_new(struct event_base *base)
{
	struct transport *tp;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fatalx("curl_global_init failed");
	tp = xcalloc(1, sizeof *tp);
	tp->base = base;
	LIST_INIT(&tp->transfers);
	LIST_INIT(&tp->socks);
	if ((tp->timer = evtimer_new(base, timer_event_cb, tp)) == NULL)
		fatalx("evtimer_new failed");
	if ((tp->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	curl_multi_setopt(tp->multi, CURLMOPT_SOCKETFUNCTION, multi_socket_cb);
	curl_multi_setopt(tp->multi, CURLMOPT_SOCKETDATA, tp);
	curl_multi_setopt(tp->multi, CURLMOPT_TIMERFUNCTION, multi_timer_cb);
	curl_multi_setopt(tp->multi, CURLMOPT_TIMERDATA, tp);
	return tp;
}

/* Free the multi handle, the socket events and the timer. */
static void
transport_destroy(struct transport *tp)
{
	struct sockinfo *si;

	/* Closing cached connections may call multi_socket_cb with CURL_POLL_REMOVE. */
	curl_multi_cleanup(tp->multi);
	while ((si = LIST_FIRST(&tp->socks)) != NULL)
		sockinfo_free(si);
	event_free(tp->timer);
	free(tp);
	curl_global_cleanup();
}

/* Abort every transfer without calling its done function and free everything. */
void
transport_free(struct transport *tp)
{
	struct sockinfo *si;
	struct transfer *t;

	if (tp == NULL)
		return;
	/*
	 * Removing an unfinished SMTP transfer makes curl finish the protocol
	 * (end of data, QUIT) and wait for the server's answer in a blocking
	 * poll, for up to the whole timeout. Shutting the sockets down first
	 * makes those writes fail at once. The descriptors stay open: curl
	 * still owns and closes them.
	 */
	for (si = LIST_FIRST(&tp->socks); si != NULL; si = LIST_NEXT(si, entry))
		shutdown(si->fd, SHUT_RDWR);
	while ((t = LIST_FIRST(&tp->transfers)) != NULL) {
		LIST_REMOVE(t, entry);
		curl_multi_remove_handle(tp->multi, t->easy);
		transfer_free(t);
	}
	tp->running = 0;
	if (tp->dispatching > 0) {
		/* Inside a done function: check_multi_info finishes the job when it returns. */
		tp->dead = 1;
		return;
	}
	transport_destroy(tp);
}

/*
 * Drain curl's messages: each finished transfer is removed from the multi
 * handle, its done function called, then it is freed.
 */
static void
check_multi_info(struct transport *tp)
{
	struct transfer *t;
	CURLMsg *msg;
	CURL *easy;
	CURLcode rc;
	char *priv;
	int left;

	tp->dispatching++;
	while (!tp->dead && (msg = curl_multi_info_read(tp->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg is invalid once the handle is removed: copy what we need first. */
		easy = msg->easy_handle;
		rc = msg->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		t = (struct transfer *)(void *)priv;
		curl_multi_remove_handle(tp->multi, easy);
		if (t == NULL)
			continue;
		LIST_REMOVE(t, entry);
		tp->running--;
		if (t->done != NULL)
			t->done(t, rc, t->arg);
		transfer_free(t);
	}
	tp->dispatching--;
	if (tp->dead && tp->dispatching == 0)
		transport_destroy(tp);
}

/* Hand t to the multi handle. */
int
transport_start(struct transport *tp, struct transfer *t, char **cause)
{
	CURLMcode mc;

	/* curl_multi_add_handle only arms the timer (0 delay): nothing finishes in here. */
	if ((mc = curl_multi_add_handle(tp->multi, t->easy)) != CURLM_OK) {
		*cause = xasprintf("curl_multi_add_handle: %s", curl_multi_strerror(mc));
		transfer_free(t);
		return -1;
	}
	t->tp = tp;
	LIST_INSERT_HEAD(&tp->transfers, t, entry);
	tp->running++;
	return 0;
}

/* Transfers started and not yet finished. */
size_t
transport_running(const struct transport *tp)
{
	return tp->running;
}

/* A new transfer with its own easy handle and error buffer. */
struct transfer *
transfer_new(void)
{
	struct transfer *t = xcalloc(1, sizeof *t);

	if ((t->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, (void *)t);
	curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf);
	curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L);
	return t;
}

/* Free the easy handle first (it may still point at kept data), then everything kept. */
void
transfer_free(struct transfer *t)
{
	if (t == NULL)
		return;
	curl_easy_cleanup(t->easy);
	while (t->nkept > 0) {
		struct kept *k = &t->kept[--t->nkept];

		k->free_fn(k->p);
	}
	free(t->kept);
	free(t);
}

/* The easy handle. */
CURL *
transfer_easy(struct transfer *t)
{
	return t->easy;
}

/* curl's error text for this transfer. */
const char *
transfer_error(const struct transfer *t)
{
	return t->errbuf;
}

/* Set the done function. */
void
transfer_set_done(struct transfer *t, transfer_done_fn fn, void *arg)
{
	t->done = fn;
	t->arg = arg;
}

/* Keep p until the transfer is freed. */
void
transfer_keep(struct transfer *t, void *p, void (*free_fn)(void *))
{
	if (p == NULL)
		return;
	if (t->nkept == t->capkept) {
		t->capkept = t->capkept ? t->capkept * 2 : 8;
		t->kept = xreallocarray(t->kept, t->capkept, sizeof *t->kept);
	}
	t->kept[t->nkept].p = p;
	t->kept[t->nkept].free_fn = free_fn;
	t->nkept++;
}

/* curl_slist_free_all with a void * argument. */
static void
free_slist(void *p)
{
	curl_slist_free_all(p);
}

/* curl_mime_free with a void * argument. */
static void
free_mime(void *p)
{
	curl_mime_free(p);
}

/* Keep a list until the transfer is freed. */
void
transfer_keep_slist(struct transfer *t, struct curl_slist *l)
{
	transfer_keep(t, l, free_slist);
}

/* Keep a MIME structure until the transfer is freed. */
void
transfer_keep_mime(struct transfer *t, curl_mime *m)
{
	transfer_keep(t, m, free_mime);
}

/* Length of the UTF-8 sequence led by c (the text is already valid UTF-8). */
static size_t
utf8_lead_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c < 0xe0)
		return 2;
	if (c < 0xf0)
		return 3;
	return 4;
}

/* A one-line, bounded, valid UTF-8 copy of s. */
char *
transport_clean_text(const char *s, size_t max, int ascii_only)
{
	char *valid, *out;
	const unsigned char *p;
	size_t o = 0;
	int space = 0;

	if (s == NULL)
		return xstrdup("");
	valid = utf8_sanitize(s);
	out = xmalloc(strlen(valid) + 1);
	for (p = (const unsigned char *)valid; *p != '\0';) {
		size_t len = utf8_lead_len(*p);
		int control =
		    *p < 0x20 || *p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f);

		if (*p == ' ' && o == 0) {
			p++;
			continue;
		}
		if (control) {
			/* CR, LF and friends could start a new header or log line: one space
			 * instead. */
			space = 1;
			p += len;
			continue;
		}
		if (space && o > 0) {
			if (o + 1 > max)
				break;
			out[o++] = ' ';
		}
		space = 0;
		if (ascii_only && len > 1) {
			if (o + 1 > max)
				break;
			out[o++] = '?';
		} else {
			if (o + len > max)
				break;
			memcpy(out + o, p, len);
			o += len;
		}
		p += len;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
	free(valid);
	return out;
}

/* Append the header line s to list, then free s. */
struct curl_slist *
transport_add_header(struct curl_slist *list, char *s)
{
	struct curl_slist *l = curl_slist_append(list, s);

	if (l == NULL)
		fatalx("out of memory building request headers");
	free(s);
	return l;
}
