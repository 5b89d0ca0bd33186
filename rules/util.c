/* util.c - allocation helpers and the diagnostic list. */
#include "util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Print a message to stderr and exit. */
void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("escalatord: fatal: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/* malloc that never fails. */
void *
xmalloc(size_t size)
{
	void *p = malloc(size == 0 ? 1 : size);

	if (p == NULL)
		fatalx("out of memory (%zu bytes)", size);
	return p;
}

/* calloc that never fails. */
void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);

	if (p == NULL)
		fatalx("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

/* reallocarray that checks for overflow and never fails. */
void *
xreallocarray(void *ptr, size_t n, size_t size)
{
	void *p;

	if (size != 0 && n > SIZE_MAX / size)
		fatalx("allocation overflow (%zu x %zu)", n, size);
	p = realloc(ptr, n * size == 0 ? 1 : n * size);
	if (p == NULL)
		fatalx("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

/* strdup that never fails. */
char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

/* strndup that never fails. */
char *
xstrndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = xmalloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

/* vasprintf that never fails. */
char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) == -1)
		fatalx("out of memory formatting a message");
	return s;
}

/* asprintf that never fails. */
char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/* Start an empty diagnostic list. */
void
diag_init(struct diag *d)
{
	memset(d, 0, sizeof *d);
}

/* Free every message in the list. */
void
diag_free(struct diag *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].text);
	free(d->v);
	diag_init(d);
}

/* Append one formatted message. */
void
diag_addv(struct diag *d, enum diag_level level, const char *fmt, va_list ap)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 8;
		d->v = xreallocarray(d->v, d->cap, sizeof *d->v);
	}
	d->v[d->n].level = level;
	d->v[d->n].text = xvasprintf(fmt, ap);
	d->n++;
	if (level == DIAG_ERROR)
		d->errors++;
	else
		d->warnings++;
}

/* Append one formatted message. */
void
diag_add(struct diag *d, enum diag_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_addv(d, level, fmt, ap);
	va_end(ap);
}

/* Append every entry of src to dst. */
void
diag_merge(struct diag *dst, const struct diag *src)
{
	for (size_t i = 0; i < src->n; i++)
		diag_add(dst, src->v[i].level, "%s", src->v[i].text);
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 if it is not valid. */
size_t
utf8_seq_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		return (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (p[0] >= 0xe0 && p[0] <= 0xef) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f))
			return 0; /* overlong, or a UTF-16 surrogate */
		return 3;
	}
	if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		if ((p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
			return 0;
		if ((p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

/* Copy s, replacing invalid UTF-8 with U+FFFD. */
char *
utf8_sanitize(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n * 3 + 1), *o = out;
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t len = utf8_seq_len(p);

		if (len == 0) {
			memcpy(o, "\xef\xbf\xbd", 3);
			o += 3;
			p++;
		} else {
			memcpy(o, p, len);
			o += len;
			p += len;
		}
	}
	*o = '\0';
	return out;
}
