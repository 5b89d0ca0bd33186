/*
 * fuzz_smtp_reply.c - what notifiers/email.c makes of an SMTP server's
 * replies: the reply lines curl hands to email_header_cb, the command lines
 * email_debug_cb sees, and email_classify's verdict on the last of them.
 *
 * Input: an SMTP transcript, one event per line. A line starting with '>' is
 * a command curl sent (CURLINFO_HEADER_OUT: the rest of the line, without one
 * leading space, ending in CRLF); '*' curl's informational text
 * (CURLINFO_TEXT) and '}' message content (CURLINFO_DATA_OUT), both of which
 * must be ignored; any other line is a reply line from the server, passed
 * with its own line end (consecutive reply lines are sometimes handed over in
 * one call). A hash of the input picks curl's result code.
 *
 * Checked against a model written from the comments of email.c: the command
 * kept is the verb of the last known command (never its argument, never
 * QUIT), nothing after QUIT changes anything, the reply kept is the last
 * reply with its continuation lines joined by a space (their codes dropped),
 * cut to EMAIL_REPLY_MAX - 1 bytes (and at a NUL byte); the classification gives sent only for
 * CURLE_OK, failed only for a 5xx answer to RCPT or DATA, never quotes the
 * reply to a failed login, and its detail is one clean line of at most 300
 * bytes.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "email.h"
#include "email_impl.h"
#include "fuzz_common.h"

/* What email.c should have made of the transcript so far. */
struct model {
	const char *command; /* a verb, "" before any */
	char reply[EMAIL_REPLY_MAX];
	size_t len;
	int done; /* the reply is complete: the next line starts a new one */
	int quit;
	long code; /* curl's CURLINFO_RESPONSE_CODE: of the last reply line, 0 if none */
};

/* The SMTP verb a command line starts with (written apart from email_command), or NULL. */
static const char *
model_verb(const char *line, size_t len)
{
	static const char *const verbs[] = {"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT",
	                                    "DATA", "RSET", "VRFY",     "EXPN", "NOOP", "QUIT"};
	size_t n = 0;

	while (n < len && line[n] != ' ' && line[n] != '\r' && line[n] != '\n')
		n++;
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
		if (strlen(verbs[i]) == n && strncasecmp(line, verbs[i], n) == 0)
			return verbs[i];
	return NULL;
}

/* One reply line (its line end included) as the model reads it. */
static void
model_reply(struct model *m, const char *line, size_t len)
{
	int more;

	if (m->quit)
		return;
	while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	if (len == 0)
		return;
	/* curl takes the code from each reply line that starts with three digits. */
	if (len >= 3 && isdigit((unsigned char)line[0]) && isdigit((unsigned char)line[1]) &&
	    isdigit((unsigned char)line[2]))
		m->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	/* "250-..." continues a reply, "250 ..." (or anything else) ends it. */
	more = len >= 4 && line[3] == '-';
	if (m->done) {
		m->len = 0;
		m->done = 0;
	}
	if (m->len > 0) {
		if (len > 4 && isdigit((unsigned char)line[0]))
			line += 4, len -= 4;
		if (m->len + 1 < sizeof m->reply)
			m->reply[m->len++] = ' ';
	}
	if (len > sizeof m->reply - 1 - m->len)
		len = sizeof m->reply - 1 - m->len;
	memcpy(m->reply + m->len, line, len);
	m->reply[m->len + len] = '\0';
	/* A NUL byte from the server ends the text kept (C strings). */
	m->len = strlen(m->reply);
	m->done = !more;
}

/* The state email.c keeps matches the model. */
static void
check_state(const struct email_state *st, const struct model *m)
{
	FUZZ_CHECK(memchr(st->command, '\0', sizeof st->command) != NULL, "command not terminated");
	FUZZ_CHECK(strcmp(st->command, m->command) == 0, "command \"%s\", expected \"%s\"",
	           st->command, m->command);
	FUZZ_CHECK(strcmp(st->command, "QUIT") != 0, "QUIT kept as the command");
	FUZZ_CHECK(memchr(st->reply, '\0', sizeof st->reply) != NULL, "reply not terminated");
	FUZZ_CHECK(strlen(st->reply) == m->len && memcmp(st->reply, m->reply, m->len) == 0,
	           "reply kept as \"%s\" (%zu bytes), expected \"%s\" (%zu bytes)", st->reply,
	           strlen(st->reply), m->reply, m->len);
	FUZZ_CHECK(st->quit == m->quit, "quit %d, expected %d", st->quit, m->quit);
}

/* Classify the finished transfer as email_finish would, and check the verdict. */
static void
check_classify(const struct email_state *st, long code, CURLcode rc)
{
	struct delivery_result r;
	char *detail;
	enum delivery_status want;

	detail = email_classify(rc, code, st->command, st->reply, "curl's error text", &r);
	FUZZ_CHECK(detail == r.detail, "detail pointer");
	FUZZ_CHECK(r.code == code, "code %ld, expected %ld", r.code, code);
	fuzz_check_line("detail", detail, 300);
	if (rc == CURLE_OK)
		want = DELIVERY_SENT;
	else if (rc != CURLE_LOGIN_DENIED && rc != CURLE_USE_SSL_FAILED && code >= 500 &&
	         code <= 599 &&
	         (strcmp(st->command, "RCPT") == 0 || strcmp(st->command, "DATA") == 0))
		want = DELIVERY_FAILED;
	else
		want = DELIVERY_RETRY;
	FUZZ_CHECK(r.status == want, "rc %d, %s, SMTP %ld: status %d, expected %d", (int)rc,
	           st->command, code, (int)r.status, (int)want);
	if (rc == CURLE_LOGIN_DENIED)
		/* A server could echo the credentials it was sent: never its reply. */
		FUZZ_CHECK(strncmp(detail, "authentication failed", 21) == 0 &&
		               strstr(detail, "check username and password_file") != NULL,
		           "login failure detail: %s", detail);
	if (rc != CURLE_OK && rc != CURLE_LOGIN_DENIED && rc != CURLE_USE_SSL_FAILED &&
	    code >= 400 && code <= 599 && *st->command != '\0')
		FUZZ_CHECK(strncmp(detail, st->command, strlen(st->command)) == 0 &&
		               detail[strlen(st->command)] == ':',
		           "detail does not name the command %s: %s", st->command, detail);
	free(detail);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const CURLcode rcs[] = {CURLE_OK,
	                               CURLE_LOGIN_DENIED,
	                               CURLE_USE_SSL_FAILED,
	                               CURLE_SEND_ERROR,
	                               CURLE_RECV_ERROR,
	                               CURLE_OPERATION_TIMEDOUT,
	                               CURLE_WEIRD_SERVER_REPLY,
	                               CURLE_COULDNT_CONNECT,
	                               CURLE_SSL_CONNECT_ERROR};
	char *text = fuzz_strndup(data, size);
	uint64_t rng = fuzz_hash(data, size);
	struct email_state st;
	struct model m;
	size_t pos = 0;

	memset(&st, 0, sizeof st);
	memset(&m, 0, sizeof m);
	m.command = "";
	while (pos < size) {
		const char *line = text + pos;
		const char *nl = memchr(line, '\n', size - pos);
		size_t len = nl != NULL ? (size_t)(nl - line) + 1 : size - pos;

		if (*line == '>' || *line == '*' || *line == '}') {
			/* A command line as curl shows it: "VERB args\r\n". */
			curl_infotype type = *line == '>'   ? CURLINFO_HEADER_OUT
			                     : *line == '*' ? CURLINFO_TEXT
			                                    : CURLINFO_DATA_OUT;
			size_t skip = len > 1 && line[1] == ' ' ? 2 : 1, n = len - skip;
			char *cmd = malloc(n + 3);
			const char *verb;

			if (cmd == NULL)
				abort();
			memcpy(cmd, line + skip, n);
			while (n > 0 && (cmd[n - 1] == '\n' || cmd[n - 1] == '\r'))
				n--;
			memcpy(cmd + n, "\r\n", 2);
			const char *got = email_command(cmd, n + 2);

			FUZZ_CHECK(email_debug_cb(NULL, type, cmd, n + 2, &st) == 0, "debug cb");
			verb = model_verb(cmd, n + 2);
			FUZZ_CHECK((got == NULL && verb == NULL) ||
			               (got != NULL && verb != NULL && strcmp(got, verb) == 0),
			           "email_command gives %s for %.*s, expected %s",
			           got ? got : "NULL", (int)n, cmd, verb ? verb : "NULL");
			if (type == CURLINFO_HEADER_OUT && !m.quit && verb != NULL) {
				if (strcmp(verb, "QUIT") == 0)
					m.quit = 1;
				else
					m.command = verb;
			}
			free(cmd);
		} else {
			/* Reply lines: this one and, sometimes, the next ones in the same call. */
			size_t end = pos + len;

			model_reply(&m, line, len);
			while (end < size && fuzz_next(&rng) % 3 == 0 && text[end] != '>' &&
			       text[end] != '*' && text[end] != '}') {
				const char *l2 = text + end, *nl2 = memchr(l2, '\n', size - end);
				size_t len2 = nl2 != NULL ? (size_t)(nl2 - l2) + 1 : size - end;

				model_reply(&m, l2, len2);
				end += len2;
			}
			len = end - pos;
			FUZZ_CHECK(email_header_cb((char *)line, 1, len, &st) == len,
			           "header cb did not take %zu bytes", len);
		}
		check_state(&st, &m);
		pos += len;
	}
	check_classify(&st, m.code, rcs[fuzz_next(&rng) % (sizeof rcs / sizeof rcs[0])]);
	/* And every other verdict on the same state: cheap, and covers all branches. */
	check_classify(&st, m.code, CURLE_OK);
	check_classify(&st, m.code, CURLE_SEND_ERROR);
	free(text);
	return 0;
}
