/*
 * fuzz_common.h - helpers shared by the libFuzzer targets in tests/fuzz/.
 *
 * Everything here is static inline so each target includes only what it uses
 * without -Wunused-function or -Wmissing-prototypes complaints.
 */
#ifndef ESCALATOR_FUZZ_COMMON_H
#define ESCALATOR_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The libFuzzer entry point (declared here for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken invariant and abort, so libFuzzer records the input. */
#define FUZZ_CHECK(cond, ...)                                                                      \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);   \
			fprintf(stderr, __VA_ARGS__);                                              \
			fputc('\n', stderr);                                                       \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A NUL-terminated copy of the input. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/*
 * Split data at NUL bytes into at most max parts (anything after the max-th
 * part is ignored). Each part is a NUL-terminated string inside the returned
 * buffer; parts[i] is NULL for parts that are missing. Returns the buffer to
 * free.
 */
static inline char *
fuzz_split(const uint8_t *data, size_t size, char **parts, size_t max, size_t *nparts)
{
	char *buf = fuzz_strndup(data, size), *p = buf, *end = buf + size;
	size_t n = 0;

	for (size_t i = 0; i < max; i++)
		parts[i] = NULL;
	while (n < max && p <= end) {
		parts[n++] = p;
		p += strlen(p) + 1;
	}
	*nparts = n;
	return buf;
}

/* A private temporary file, created once per process and removed at exit. */
static char fuzz_tmp_path[64];

static inline void
fuzz_tmp_remove(void)
{
	if (fuzz_tmp_path[0] != '\0')
		unlink(fuzz_tmp_path);
}

/* Write data to the temporary file (truncating it) and return its path. */
static inline const char *
fuzz_write_tmp(const char *tag, const uint8_t *data, size_t size)
{
	FILE *f;

	if (fuzz_tmp_path[0] == '\0') {
		const char *dir = getenv("TMPDIR");
		char tmpl[64];
		int fd;

		snprintf(tmpl, sizeof tmpl, "%s/%s-XXXXXX",
		         dir != NULL && strlen(dir) < 32 ? dir : "/tmp", tag);
		if ((fd = mkstemp(tmpl)) < 0) {
			perror("mkstemp");
			abort();
		}
		close(fd);
		memcpy(fuzz_tmp_path, tmpl, sizeof fuzz_tmp_path);
		atexit(fuzz_tmp_remove);
	}
	if ((f = fopen(fuzz_tmp_path, "wb")) == NULL) {
		perror(fuzz_tmp_path);
		abort();
	}
	if (size > 0 && fwrite(data, 1, size, f) != size) {
		perror(fuzz_tmp_path);
		abort();
	}
	if (fclose(f) != 0) {
		perror(fuzz_tmp_path);
		abort();
	}
	return fuzz_tmp_path;
}

/*
 * Length of the well-formed UTF-8 sequence at p (Unicode 15, table 3-7), or 0.
 * Written independently of base/utf8.c on purpose.
 */
static inline size_t
fuzz_utf8_len(const unsigned char *p)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* Is the NUL-terminated s well-formed UTF-8? */
static inline bool
fuzz_valid_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p != '\0') {
		size_t n = fuzz_utf8_len(p);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

/* Is the first n bytes of s well-formed UTF-8 (s need not be NUL-terminated)? */
static inline bool
fuzz_valid_utf8_n(const char *s, size_t n)
{
	char *copy = malloc(n + 1);
	bool ok;

	if (copy == NULL)
		abort();
	memcpy(copy, s, n);
	copy[n] = '\0';
	ok = strlen(copy) == n && fuzz_valid_utf8(copy);
	free(copy);
	return ok;
}

/*
 * s is one clean line of at most max bytes, as transport_clean_text makes it:
 * valid UTF-8, no C0 or C1 control characters or DEL, no outer spaces.
 */
static inline void
fuzz_check_line(const char *what, const char *s, size_t max)
{
	size_t n = strlen(s);

	FUZZ_CHECK(n <= max, "%s of %zu bytes, max %zu", what, n, max);
	FUZZ_CHECK(fuzz_valid_utf8(s), "%s is not valid UTF-8", what);
	FUZZ_CHECK(n == 0 || (s[0] != ' ' && s[n - 1] != ' '), "%s has outer spaces", what);
	for (size_t i = 0; i < n; i++) {
		unsigned char b = (unsigned char)s[i];

		FUZZ_CHECK(b >= 0x20 && b != 0x7f, "control 0x%02x at byte %zu of %s", b, i, what);
		FUZZ_CHECK(!(b == 0xc2 && (unsigned char)s[i + 1] >= 0x80 &&
		             (unsigned char)s[i + 1] <= 0x9f),
		           "C1 control at byte %zu of %s", i, what);
	}
}

/* A 64-bit FNV-1a hash of the input: a deterministic source of "random" choices. */
static inline uint64_t
fuzz_hash(const uint8_t *data, size_t size)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < size; i++) {
		h ^= data[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* The next value of a small xorshift generator. */
static inline uint64_t
fuzz_next(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x;
}

#endif
