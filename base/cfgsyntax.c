/*
 * cfgsyntax.c - where a libconfig syntax error really is.
 *
 * libconfig (1.5) reports the line of the token where its parser stopped.
 * For the slips people make editing a rule file that is often not where the
 * fault is: a ',' missing between two stages is reported at the next stage's
 * '{' (after any blank and comment lines), a '}' or ')' never written at the
 * end of the file, a '"' never closed where the next string starts. This is
 * a small recursive-descent parser of the same grammar:
 *
 *   file     := setting*
 *   setting  := NAME ('=' | ':') value (';' | ',')?
 *   value    := scalar | '[' scalars ']' | '(' values ')' | '{' setting* '}'
 *   scalar   := BOOL | NUMBER | STRING+          (adjacent strings join)
 *
 * with elements of lists and arrays separated by ',' (no trailing one), and
 * '#', '//' and C comments. It runs only after libconfig has refused a file,
 * and explains the first error in words at the line where it most likely is.
 */
#include "cfgsyntax.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

enum tok {
	T_EOF,
	T_NAME,
	T_STRING,
	T_SCALAR, /* a number or a boolean */
	T_INCLUDE,
	T_PUNCT, /* = : ; , { } ( ) [ ] */
	T_BAD,   /* a character libconfig does not accept here */
};

struct token {
	enum tok type;
	char c;       /* T_PUNCT, T_BAD: the character */
	int line;     /* where it starts */
	int end_line; /* where it ends (strings span lines) */
	/* A string whose last line reads like the start of a setting ("  y = "): its '"' was
	 * probably never closed and it swallowed text up to the next string's opening quote. */
	bool suspect;
	const char *text;
	size_t len;
};

struct parser {
	const char *p, *end;
	int line;
	struct token tok, prev;
	int err_line;
	char *msg;
	struct token suspect; /* the first suspect string (have_suspect) */
	bool have_suspect;
	/* libconfig takes a string or comment never closed as the end of the file: its line. */
	int open_line;
	const char *open_what;
	int depth;
};

/* Does the last line of a string's text look like "name =" or "name :"? */
static bool
string_suspect(const char *s, size_t n)
{
	const char *last = s, *q;

	for (q = s; q < s + n; q++)
		if (*q == '\n')
			last = q + 1;
	if (last == s)
		return false; /* one line: an ordinary string */
	q = last;
	while (q < s + n && (*q == ' ' || *q == '\t'))
		q++;
	if (q == s + n || !(isalpha((unsigned char)*q) || *q == '*'))
		return false;
	while (q < s + n && (isalnum((unsigned char)*q) || *q == '-' || *q == '_' || *q == '*'))
		q++;
	while (q < s + n && (*q == ' ' || *q == '\t'))
		q++;
	if (q == s + n || (*q != '=' && *q != ':'))
		return false;
	for (q++; q < s + n; q++)
		if (*q != ' ' && *q != '\t')
			return false;
	return true;
}

/* Skip blanks and comments (to the end of the file at a C comment never closed). */
static void
skip_space(struct parser *ps)
{
	while (ps->p < ps->end) {
		char c = *ps->p;

		if (c == '\n') {
			ps->line++;
			ps->p++;
		} else if (isspace((unsigned char)c))
			ps->p++;
		else if (c == '#' || (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '/')) {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else if (c == '/' && ps->p + 1 < ps->end && ps->p[1] == '*') {
			int start = ps->line;

			for (ps->p += 2; ps->p < ps->end; ps->p++) {
				if (*ps->p == '\n')
					ps->line++;
				else if (*ps->p == '*' && ps->p + 1 < ps->end && ps->p[1] == '/')
					break;
			}
			if (ps->p >= ps->end) {
				ps->open_line = start;
				ps->open_what = "comment that starts here is never closed ('*/' is "
				                "missing)";
				return;
			}
			ps->p += 2;
		} else
			break;
	}
}

/* Decimal digits at s (before end): how many. */
static size_t
digits(const char *s, const char *end)
{
	size_t n = 0;

	while (s + n < end && isdigit((unsigned char)s[n]))
		n++;
	return n;
}

/*
 * The length of the number at s, as libconfig 1.5's scanner reads it (the
 * longest of: [-+]?[0-9]+L?L?, 0[Xx][0-9A-Fa-f]+L?L?, and floats
 * [-+]?[0-9]*\.[0-9]*([eE][-+]?[0-9]+)? or [-+]?[0-9]+(\.[0-9]*)?[eE][-+]?[0-9]+),
 * or 0 if none starts there.
 */
static size_t
number_len(const char *s, const char *end)
{
	const char *p = s, *q;
	size_t intpart, n;

	if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    isxdigit((unsigned char)s[2])) {
		for (p = s + 2; p < end && isxdigit((unsigned char)*p); p++)
			;
	} else {
		if (p < end && (*p == '-' || *p == '+'))
			p++;
		intpart = digits(p, end);
		p += intpart;
		if (p < end && *p == '.') {
			p++;
			p += digits(p, end);
		} else if (intpart == 0)
			return 0;
		else if (p == end || (*p != 'e' && *p != 'E'))
			goto suffix;
		/* An exponent counts only with a digit in it; else the float ends before the e. */
		q = p;
		if (q < end && (*q == 'e' || *q == 'E')) {
			q++;
			if (q < end && (*q == '-' || *q == '+'))
				q++;
			if ((n = digits(q, end)) > 0)
				p = q + n;
		}
		return (size_t)(p - s);
	}
suffix:
	if (p < end && *p == 'L') {
		p++;
		if (p < end && *p == 'L')
			p++;
	}
	return (size_t)(p - s);
}

/* Read the next token into ps->tok (the one before goes to ps->prev). */
static void
next(struct parser *ps)
{
	struct token *t = &ps->tok;
	const char *s;

	ps->prev = *t;
	memset(t, 0, sizeof *t);
	skip_space(ps);
	t->line = t->end_line = ps->line;
	t->text = s = ps->p;
	if (ps->p >= ps->end) {
		t->type = T_EOF;
		return;
	}
	if (*s == '"') {
		for (ps->p++; ps->p < ps->end && *ps->p != '"'; ps->p++) {
			if (*ps->p == '\\' && ps->p + 1 < ps->end)
				ps->p++;
			if (*ps->p == '\n')
				ps->line++;
		}
		t->end_line = ps->line;
		if (ps->p >= ps->end) {
			t->type = T_EOF;
			ps->open_line = t->line;
			ps->open_what =
			    "string that starts here is never closed (a '\"' is missing)";
			return;
		}
		ps->p++;
		t->type = T_STRING;
		t->len = (size_t)(ps->p - s);
		t->suspect = string_suspect(s + 1, t->len - 2);
		return;
	}
	if (isalpha((unsigned char)*s) || *s == '*') {
		while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) || *ps->p == '-' ||
		                           *ps->p == '_' || *ps->p == '*'))
			ps->p++;
		t->len = (size_t)(ps->p - s);
		t->type = (t->len == 4 && strncasecmp(s, "true", 4) == 0) ||
		                  (t->len == 5 && strncasecmp(s, "false", 5) == 0)
		              ? T_SCALAR
		              : T_NAME;
		return;
	}
	if ((t->len = number_len(s, ps->end)) > 0) {
		ps->p += t->len;
		t->type = T_SCALAR;
		return;
	}
	if (*s == '@' && (size_t)(ps->end - s) >= 8 && strncmp(s, "@include", 8) == 0) {
		ps->p += 8;
		t->type = T_INCLUDE;
		t->len = 8;
		return;
	}
	t->c = *s;
	t->len = 1;
	ps->p++;
	t->type = strchr("=:;,{}()[]", *s) != NULL ? T_PUNCT : T_BAD;
}

/* Record the first error: at line, msg. Returns -1. */
static int PRINTFLIKE(3, 4) fail(struct parser *ps, int line, const char *fmt, ...)
{
	va_list ap;

	if (ps->err_line == 0) {
		ps->err_line = line;
		va_start(ap, fmt);
		vsnprintf(ps->msg, CFGSYNTAX_MSG_MAX, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Is the current token punctuation c? */
static bool
is(const struct parser *ps, char c)
{
	return ps->tok.type == T_PUNCT && ps->tok.c == c;
}

/* Can the current token start a value? */
static bool
starts_value(const struct parser *ps)
{
	return ps->tok.type == T_STRING || ps->tok.type == T_SCALAR || is(ps, '{') || is(ps, '(') ||
	       is(ps, '[');
}

/* What the current token is, for messages: "'}'", "\"name\"", "the end of the file". */
static const char *
what(const struct parser *ps, char *buf, size_t len)
{
	const struct token *t = &ps->tok;

	switch (t->type) {
	case T_EOF:
		return "the end of the file";
	case T_NAME:
		snprintf(buf, len, "\"%.*s\"", (int)(t->len > 40 ? 40 : t->len), t->text);
		return buf;
	case T_STRING:
		return "a string";
	case T_SCALAR:
		snprintf(buf, len, "%.*s", (int)(t->len > 40 ? 40 : t->len), t->text);
		return buf;
	case T_INCLUDE:
		return "@include";
	default:
		snprintf(buf, len, "'%c'", t->c);
		return buf;
	}
}

/* A token the lexer itself refuses; 0 if the current one is fine. */
static int
lex_error(struct parser *ps)
{
	switch (ps->tok.type) {
	case T_BAD:
		return fail(ps, ps->tok.line, "'%c' cannot appear here", ps->tok.c);
	default:
		if (ps->tok.suspect && !ps->have_suspect) {
			ps->suspect = ps->tok;
			ps->have_suspect = true;
		}
		return 0;
	}
}

static int parse_value(struct parser *ps, const char *name);

/* The bracket close matching open. */
static char
closer(char open)
{
	return open == '{' ? '}' : open == '(' ? ')' : open == '[' ? ']' : 0;
}

/* What a bracket opens, for messages. */
static const char *
opened(char open)
{
	return open == '{' ? "group" : open == '(' ? "list" : "array";
}

/*
 * The current token cannot come next inside the bracket open (opened on
 * open_line) after the element that ended at ps->prev: explain it.
 */
static int
inside_error(struct parser *ps, char open, int open_line)
{
	char buf[64];

	if (ps->tok.type == T_EOF)
		return fail(ps, open_line,
		            "the %s opened here with '%c' is never closed (a '%c' is "
		            "missing)",
		            opened(open), open, closer(open));
	if (ps->tok.type == T_PUNCT && strchr("})]", ps->tok.c) != NULL)
		return fail(ps, ps->prev.end_line,
		            "'%c' missing after this line: the %s opened on line %d is still open "
		            "where a '%c' comes on line %d",
		            closer(open), opened(open), open_line, ps->tok.c, ps->tok.line);
	if (ps->tok.type == T_NAME)
		return fail(ps, ps->prev.end_line,
		            "'%c' missing after this line: the %s opened on line %d is still open "
		            "where the setting %s starts on line %d",
		            closer(open), opened(open), open_line, what(ps, buf, sizeof buf),
		            ps->tok.line);
	return fail(ps, ps->tok.line, "%s cannot come here, inside the %s opened on line %d",
	            what(ps, buf, sizeof buf), opened(open), open_line);
}

/* Elements of a list or array after its opening bracket, up to its closing one. */
static int
parse_elements(struct parser *ps, char open, int open_line)
{
	char buf[64];

	next(ps);
	if (lex_error(ps) != 0)
		return -1;
	if (is(ps, closer(open)))
		return 0;
	for (;;) {
		if (!starts_value(ps)) {
			if (ps->prev.type == T_PUNCT && ps->prev.c == ',' && is(ps, closer(open)))
				return fail(ps, ps->prev.line,
				            "a ',' after the last element of the %s opened on line "
				            "%d: remove it",
				            opened(open), open_line);
			return inside_error(ps, open, open_line);
		}
		if (open == '[' && ps->tok.type != T_STRING && ps->tok.type != T_SCALAR)
			return fail(ps, ps->tok.line,
			            "an array [ ... ] holds only strings, numbers or true/false; "
			            "use a list ( ... ) for groups");
		if (parse_value(ps, NULL) != 0)
			return -1;
		/* parse_value leaves the token after the value current. */
		if (lex_error(ps) != 0)
			return -1;
		if (is(ps, closer(open)))
			return 0;
		if (is(ps, ',')) {
			next(ps);
			if (lex_error(ps) != 0)
				return -1;
			continue;
		}
		if (starts_value(ps))
			return fail(
			    ps, ps->prev.end_line,
			    "',' missing after this line: the elements of a %s are separated "
			    "by commas (the next one starts with %s on line %d)",
			    opened(open), what(ps, buf, sizeof buf), ps->tok.line);
		if (is(ps, ';'))
			return fail(
			    ps, ps->tok.line,
			    "';' inside the %s opened on line %d: separate its elements with "
			    "',', and close it with '%c' before the ';'",
			    opened(open), open_line, closer(open));
		return inside_error(ps, open, open_line);
	}
}

/* Settings up to close (0: the end of the file), the current token being the first. */
static int
parse_settings(struct parser *ps, char open, int open_line)
{
	char buf[64];

	for (;;) {
		/* libconfig ends the file quietly at a string or comment left open after a setting.
		 */
		if (lex_error(ps) != 0)
			return -1;
		if (open == 0 && ps->tok.type == T_EOF)
			return 0;
		if (open != 0 && is(ps, '}'))
			return 0;
		if (ps->tok.type == T_INCLUDE) {
			next(ps);
			if (ps->tok.type != T_STRING)
				return fail(ps, ps->prev.line,
				            "@include needs a file name in quotes");
			next(ps);
			continue;
		}
		if (ps->tok.type != T_NAME) {
			if (open != 0)
				return inside_error(ps, open, open_line);
			if (is(ps, '}') || is(ps, ')') || is(ps, ']'))
				return fail(ps, ps->tok.line,
				            "'%c' here closes nothing that is open", ps->tok.c);
			if (is(ps, ';') || is(ps, ','))
				return fail(ps, ps->tok.line,
				            "'%c' with no setting before it (two in a row?)",
				            ps->tok.c);
			return fail(ps, ps->tok.line, "a setting name is expected here, not %s",
			            what(ps, buf, sizeof buf));
		}
		{
			struct token name = ps->tok;

			next(ps);
			if (lex_error(ps) != 0)
				return -1;
			if (!is(ps, '=') && !is(ps, ':'))
				return fail(ps, name.line, "'=' missing after the name \"%.*s\"",
				            (int)(name.len > 40 ? 40 : name.len), name.text);
			next(ps);
			if (lex_error(ps) != 0)
				return -1;
			snprintf(buf, sizeof buf, "%.*s", (int)(name.len > 40 ? 40 : name.len),
			         name.text);
			if (parse_value(ps, buf) != 0)
				return -1;
		}
		if (is(ps, ';') || is(ps, ','))
			next(ps);
	}
}

/* One value, the current token being its first; leaves the token after it current. */
static int
parse_value(struct parser *ps, const char *name)
{
	struct token t = ps->tok;
	char buf[64];
	int rc;

	if (ps->depth > 200)
		return fail(ps, t.line, "brackets nested too deep");
	if (t.type == T_STRING) {
		do {
			next(ps);
			if (lex_error(ps) != 0)
				return -1;
		} while (ps->tok.type == T_STRING);
		return 0;
	}
	if (t.type == T_SCALAR) {
		next(ps);
		return 0;
	}
	if (is(ps, '{') || is(ps, '(') || is(ps, '[')) {
		ps->depth++;
		if (t.c == '{') {
			next(ps);
			rc = parse_settings(ps, '{', t.line);
		} else
			rc = parse_elements(ps, t.c, t.line);
		ps->depth--;
		if (rc != 0)
			return -1;
		next(ps); /* past the closing bracket */
		return 0;
	}
	if (name == NULL)
		return inside_error(ps, '(', t.line);
	if (t.type == T_NAME)
		return fail(ps, t.line,
		            "%s after \"%s =\" is not a value: text goes in double quotes",
		            what(ps, buf, sizeof buf), name);
	return fail(ps, ps->prev.line, "\"%s =\" has no value (found %s)", name,
	            what(ps, buf, sizeof buf));
}

/* Find the first syntax error in text. */
int
cfgsyntax_locate(const char *text, size_t len, int *line, char msg[CFGSYNTAX_MSG_MAX])
{
	struct parser ps;

	memset(&ps, 0, sizeof ps);
	ps.p = text;
	ps.end = text + len;
	ps.line = 1;
	ps.msg = msg;
	next(&ps);
	if (parse_settings(&ps, 0, 0) == 0)
		return -1;
	/* Stopped at an end of the file that a string or comment never closed made early. */
	if (ps.tok.type == T_EOF && ps.open_line != 0) {
		snprintf(msg, CFGSYNTAX_MSG_MAX, "the %s", ps.open_what);
		ps.err_line = ps.open_line;
	}
	/* An unclosed string swallows text up to the next '"': the fault is where it starts. */
	if (ps.have_suspect && ps.suspect.end_line <= ps.err_line) {
		snprintf(msg, CFGSYNTAX_MSG_MAX,
		         "the string that starts here is not closed where it should be: a '\"' is "
		         "missing, so everything up to line %d was read as its text",
		         ps.suspect.end_line);
		ps.err_line = ps.suspect.line;
	}
	*line = ps.err_line;
	return 0;
}
