/* test_utf8.c - unit tests for base/utf8.c: which byte sequences are UTF-8, and repairing them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"
#include "xalloc.h"

/* U+FFFD REPLACEMENT CHARACTER, what utf8_sanitize puts in place of each invalid byte. */
#define R "\xef\xbf\xbd"

/*
 * The reference the sweeps compare with, written differently from utf8.c: decode the code
 * point, then refuse overlong forms, surrogates and values above U+10FFFF by their value.
 * p is NUL-terminated, so a NUL ends a truncated sequence.
 */
static size_t
ref_seq_len(const unsigned char *p)
{
	size_t n;
	uint32_t cp, min;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2, cp = p[0] & 0x1fu, min = 0x80;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3, cp = p[0] & 0x0fu, min = 0x800;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4, cp = p[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Encode cp (any value below 2^21, surrogates included) in n bytes, n 1 to 4; returns out+n. */
static char *
encode(char *out, uint32_t cp, size_t n)
{
	static const unsigned char lead[] = {0, 0x00, 0xc0, 0xe0, 0xf0};

	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		out[i] = (char)(0x80 | (cp & 0x3f));
	out[0] = (char)(lead[n] | cp);
	return out + n;
}

/* The shortest encoding's length of cp. */
static size_t
enc_len(uint32_t cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Printable form of s for failure messages: "\xNN" for every byte outside ASCII. */
static char *
show(const char *s)
{
	char *out = xmalloc(strlen(s) * 4 + 1), *o = out;

	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
		o += *p >= 0x20 && *p < 0x7f ? sprintf(o, "%c", *p) : sprintf(o, "\\x%02x", *p);
	*o = '\0';
	return out;
}

/* Assert utf8_sanitize(in) is exactly want. */
static void
expect_sanitized(const char *in, const char *want)
{
	char *got = utf8_sanitize(in);

	if (strcmp(got, want) != 0) {
		char *a = show(in), *b = show(got), *c = show(want);

		fail_msg("utf8_sanitize(\"%s\") gave \"%s\", expected \"%s\"", a, b, c);
	}
	free(got);
}

/* Valid text of every length, including the edges of each range, comes back byte for byte. */
static void
test_utf8_valid_kept(void **state)
{
	static const struct {
		const char *s;
		size_t len; /* utf8_seq_len of the first character */
	} cases[] = {
	    {"plain ASCII, with punctuation!~", 1},
	    {"\x01\x1f\x7f", 1},
	    {"\xc2\x80", 2},                                 /* U+0080, the first 2-byte */
	    {"\xc3\xa9t\xc3\xa9", 2},                        /* été */
	    {"\xdf\xbf", 2},                                 /* U+07FF, the last 2-byte */
	    {"\xe0\xa0\x80", 3},                             /* U+0800, the first 3-byte */
	    {"\xe2\x82\xac 10", 3},                          /* € 10 */
	    {"\xed\x9f\xbf", 3},                             /* U+D7FF, just below surrogates */
	    {"\xee\x80\x80", 3},                             /* U+E000, just above them */
	    {"\xef\xbf\xbd", 3},                             /* U+FFFD itself */
	    {"\xef\xbf\xbf", 3},                             /* U+FFFF */
	    {"\xf0\x90\x80\x80", 4},                         /* U+10000, the first 4-byte */
	    {"\xf0\x9f\x98\x80!", 4},                        /* 😀! */
	    {"\xf4\x8f\xbf\xbf", 4},                         /* U+10FFFF, the last code point */
	    {"\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5", 2}, /* Привет */
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(utf8_seq_len((const unsigned char *)cases[i].s), cases[i].len);
		expect_sanitized(cases[i].s, cases[i].s);
	}
	expect_sanitized("", "");
}

/* Every class of invalid sequence: each byte that is not part of valid UTF-8 becomes U+FFFD. */
static void
test_utf8_invalid_replaced(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    /* Lone continuation bytes. */
	    {"\x80", R},
	    {"\xbf", R},
	    {"a\x80z", "a" R "z"},
	    {"\x80\x80\x80", R R R},
	    {"\xc3\xa9\xa9", "\xc3\xa9" R}, /* one continuation too many */
	    /* Truncated sequences, at the end and before ASCII. */
	    {"\xc3", R},
	    {"\xc3z", R "z"},
	    {"\xe2\x82", R R},
	    {"\xe2", R},
	    {"\xe2\x82z", R R "z"},
	    {"\xf0\x9f\x98", R R R},
	    {"\xf0\x9f", R R},
	    {"\xf0", R},
	    {"\xf0\x9f\x98z", R R R "z"},
	    /* A lead byte cut short by another lead byte: the second sequence survives. */
	    {"\xe2\xe2\x82\xac", R "\xe2\x82\xac"},
	    {"\xf0\x9f\xc3\xa9", R R "\xc3\xa9"},
	    /* Overlong 2-byte forms: C0 and C1 can only start one. */
	    {"\xc0\x80", R R},
	    {"\xc0\xaf", R R},
	    {"\xc1\xbf", R R},
	    /* Overlong 3-byte forms (E0 80-9F). */
	    {"\xe0\x80\x80", R R R},
	    {"\xe0\x80\xaf", R R R},
	    {"\xe0\x9f\xbf", R R R},
	    /* Overlong 4-byte forms (F0 80-8F). */
	    {"\xf0\x80\x80\x80", R R R R},
	    {"\xf0\x80\x80\xaf", R R R R},
	    {"\xf0\x8f\xbf\xbf", R R R R},
	    /* UTF-16 surrogates D800-DFFF (ED A0-BF). */
	    {"\xed\xa0\x80", R R R},
	    {"\xed\xad\xbf", R R R},
	    {"\xed\xb0\x80", R R R},
	    {"\xed\xbf\xbf", R R R},
	    {"\xed\xa0\xbd\xed\xb8\x80", R R R R R R}, /* a CESU-8 surrogate pair */
	    /* Above U+10FFFF. */
	    {"\xf4\x90\x80\x80", R R R R},
	    {"\xf4\xbf\xbf\xbf", R R R R},
	    {"\xf7\xbf\xbf\xbf", R R R R},
	    /* Bytes F5 to FF never appear in UTF-8. */
	    {"\xf5", R},
	    {"\xf5\x80\x80\x80", R R R R},
	    {"\xf8\x88\x80\x80\x80", R R R R R},
	    {"\xfc\x84\x80\x80\x80\x80", R R R R R R},
	    {"\xfe", R},
	    {"\xff", R},
	    {"\xfe\xff", R R},
	    /* Invalid bytes among valid text. */
	    {"caf\xc3\xa9 \xff ok", "caf\xc3\xa9 " R " ok"},
	    {"caf\xe9", "caf" R}, /* Latin-1 é */
	    {"\xe2\x82\xac\x80\xe2\x82\xac", "\xe2\x82\xac" R "\xe2\x82\xac"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_sanitized(cases[i].in, cases[i].want);
	for (int b = 0xf5; b <= 0xff; b++) {
		char in[2] = {(char)b, '\0'};

		expect_sanitized(in, R);
	}
}

/* utf8_seq_len agrees with the reference on every first two bytes and representative rest. */
static void
test_utf8_seq_len_sweep(void **state)
{
	/* Bytes around every boundary the rules care about, and the NUL that ends a string. */
	static const unsigned char tail[] = {0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90,
	                                     0x9f, 0xa0, 0xbf, 0xc0, 0xf4, 0xff};
	const size_t nt = sizeof tail;

	(void)state;
	for (unsigned b0 = 1; b0 < 256; b0++)
		for (unsigned b1 = 0; b1 < 256; b1++)
			for (size_t i = 0; i < nt; i++)
				for (size_t j = 0; j < nt; j++) {
					/* What follows a NUL must not change the answer. */
					unsigned char p[5] = {(unsigned char)b0, (unsigned char)b1,
					                      tail[i], tail[j], 0};
					size_t got = utf8_seq_len(p), want = ref_seq_len(p);

					if (got != want)
						fail_msg(
						    "utf8_seq_len(%02x %02x %02x %02x) is %zu, "
						    "expected %zu",
						    p[0], p[1], p[2], p[3], got, want);
				}
}

/* The reference's list of what utf8_sanitize takes out of message text. */
static int
ref_hidden(uint32_t cp)
{
	if (cp == 0x2028 || cp == 0x2029)
		return 1; /* line and paragraph separators: a space instead */
	if (cp == 0x200e || cp == 0x200f || cp == 0x061c || (cp >= 0x202a && cp <= 0x202e) ||
	    (cp >= 0x2066 && cp <= 0x2069))
		return 2; /* bidirectional controls: removed */
	return 0;
}

/*
 * Every code point, shortest form, is accepted with its length and survives sanitizing,
 * except the separators (a space each) and the bidirectional controls (removed).
 */
static void
test_utf8_every_code_point(void **state)
{
	/* 0x10ffff code points of at most 4 bytes each (surrogates are left out). */
	char *all = xmalloc(0x110000 * 4 + 1), *o = all, *got;
	char *want = xmalloc(0x110000 * 4 + 1), *w = want;
	size_t nhidden = 0;

	(void)state;
	for (uint32_t cp = 1; cp <= 0x10ffff; cp++) {
		char *start = o;
		int h = ref_hidden(cp);

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		o = encode(o, cp, enc_len(cp));
		*o = '\0';
		if (utf8_seq_len((const unsigned char *)start) != enc_len(cp))
			fail_msg("U+%04X: utf8_seq_len is %zu, expected %zu", cp,
			         utf8_seq_len((const unsigned char *)start), enc_len(cp));
		if ((int)utf8_hidden((const unsigned char *)start, enc_len(cp)) !=
		    (h == 0   ? UTF8_PLAIN
		     : h == 1 ? UTF8_SEPARATOR
		              : UTF8_BIDI))
			fail_msg("U+%04X: utf8_hidden is %d", cp,
			         (int)utf8_hidden((const unsigned char *)start, enc_len(cp)));
		if (h == 1)
			*w++ = ' ';
		else if (h == 0)
			w = encode(w, cp, enc_len(cp));
		nhidden += h != 0;
	}
	*o = '\0';
	*w = '\0';
	assert_int_equal(nhidden, 14);
	got = utf8_sanitize(all);
	assert_int_equal(strlen(got), (size_t)(w - want));
	assert_memory_equal(got, want, (size_t)(w - want));
	free(got);
	free(want);
	free(all);
}

/*
 * A value cannot start a line a reader does not expect, or reorder what follows it
 * ("Trojan Source"): separators become spaces, bidirectional controls go.
 */
static void
test_utf8_hidden_removed(void **state)
{
	(void)state;
	expect_sanitized("C1042\xe2\x80\xa8Stage: closed", "C1042 Stage: closed");
	expect_sanitized("a\xe2\x80\xa9"
	                 "b",
	                 "a b");
	/* U+202E RIGHT-TO-LEFT OVERRIDE ... U+202C POP DIRECTIONAL FORMATTING */
	expect_sanitized("C\xe2\x80\xae"
	                 "2401\xe2\x80\xac"
	                 "9",
	                 "C24019");
	expect_sanitized("\xe2\x80\xaa\xe2\x80\xab\xe2\x80\xad\xe2\x81\xa6\xe2\x81\xa7\xe2\x81\xa8"
	                 "\xe2\x81\xa9\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c"
	                 "x",
	                 "x");
	/* Neighbours that stay: U+2027, U+202F, U+2065, U+206A, U+200D (ZWJ joins emoji). */
	expect_sanitized("\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa\xe2\x80\x8d",
	                 "\xe2\x80\xa7\xe2\x80\xaf\xe2\x81\xa5\xe2\x81\xaa\xe2\x80\x8d");
	/* A truncated control is invalid bytes, each replaced, never a hidden character. */
	expect_sanitized("\xe2\x80", R R);
	expect_sanitized("\xe2\x80\xae", "");
}

/* Surrogates, values past U+10FFFF and overlong forms: every byte of each is replaced. */
static void
test_utf8_every_invalid_code_point(void **state)
{
	char buf[8], *got;

	(void)state;
	/* Surrogates, in the 3 bytes that would spell them. */
	for (uint32_t cp = 0xd800; cp <= 0xdfff; cp++) {
		*encode(buf, cp, 3) = '\0';
		if (utf8_seq_len((const unsigned char *)buf) != 0)
			fail_msg("surrogate U+%04X should not be UTF-8", cp);
	}
	/* Every value past U+10FFFF that 4 bytes can spell. */
	for (uint32_t cp = 0x110000; cp <= 0x1fffff; cp++) {
		*encode(buf, cp, 4) = '\0';
		if (utf8_seq_len((const unsigned char *)buf) != 0)
			fail_msg("U+%X should not be UTF-8", cp);
	}
	/* Overlong: every code point below 0x10000 in more bytes than it needs. */
	for (uint32_t cp = 0; cp < 0x10000; cp++)
		for (size_t n = enc_len(cp) + 1; n <= 4; n++) {
			*encode(buf, cp, n) = '\0';
			if (utf8_seq_len((const unsigned char *)buf) != 0)
				fail_msg("U+%04X in %zu bytes is overlong", cp, n);
		}
	/* Sanitizing one of each replaces every byte. */
	*encode(buf, 0xdabc, 3) = '\0';
	got = utf8_sanitize(buf);
	assert_string_equal(got, R R R);
	free(got);
	*encode(buf, 0x1abcde, 4) = '\0';
	got = utf8_sanitize(buf);
	assert_string_equal(got, R R R R);
	free(got);
	*encode(buf, 0x7ff, 3) = '\0';
	got = utf8_sanitize(buf);
	assert_string_equal(got, R R R);
	free(got);
}

/* The reference's sanitizing: each valid sequence kept, each other byte replaced. */
static char *
ref_sanitize(const unsigned char *p)
{
	char *out = xmalloc(strlen((const char *)p) * 3 + 1), *o = out;

	while (*p != '\0') {
		size_t n = ref_seq_len(p);

		if (n == 0) {
			memcpy(o, R, 3), o += 3, p++;
		} else {
			memcpy(o, p, n), o += n, p += n;
		}
	}
	*o = '\0';
	return out;
}

/* Is all of s valid UTF-8 by the reference? */
static int
ref_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;

	while (*p != '\0') {
		if ((n = ref_seq_len(p)) == 0)
			return 0;
		p += n;
	}
	return 1;
}

/*
 * Random strings, mostly of bytes that start or continue sequences: the output is valid UTF-8,
 * matches the reference, sanitizing it again changes nothing, and valid input comes back as is.
 */
static void
test_utf8_sanitize_sweep(void **state)
{
	static const unsigned char bytes[] = {'a',  0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
	                                      0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xed, 0xee,
	                                      0xef, 0xf0, 0xf1, 0xf4, 0xf5, 0xf8, 0xfe, 0xff};
	uint64_t x = 0x9e3779b97f4a7c15u; /* xorshift64: the same strings every run */
	size_t nvalid = 0;

	(void)state;
	for (int t = 0; t < 100000; t++) {
		unsigned char in[12];
		size_t len;
		char *exact, *got, *want, *again;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		len = (size_t)(x % sizeof in);
		for (size_t i = 0; i < len; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			in[i] = bytes[x % sizeof bytes];
		}
		in[len] = '\0';
		/* On the heap at its exact size, so ASan sees any read past the NUL. */
		exact = xstrdup((const char *)in);
		got = utf8_sanitize(exact);
		free(exact);
		want = ref_sanitize(in);
		if (strcmp(got, want) != 0 || !ref_valid(got)) {
			char *a = show((const char *)in), *b = show(got), *c = show(want);

			fail_msg("utf8_sanitize(\"%s\") gave \"%s\", expected \"%s\"", a, b, c);
		}
		again = utf8_sanitize(got);
		assert_string_equal(again, got);
		if (ref_valid((const char *)in)) {
			assert_string_equal(got, (const char *)in);
			nvalid++;
		}
		free(again);
		free(want);
		free(got);
	}
	/* The sweep did meet valid multi-byte input, not only garbage. */
	assert_true(nvalid > 1000);
}

/* A cut point moves back to the start of its character, never into one. */
static void
test_utf8_boundary(void **state)
{
	static const char s[] = "a\xc3\xa9\xe2\x82\xac"; /* a, é (2 bytes), € (3 bytes) */

	(void)state;
	assert_int_equal(utf8_boundary(s, 0), 0);
	assert_int_equal(utf8_boundary(s, 1), 1);
	assert_int_equal(utf8_boundary(s, 2), 1);
	assert_int_equal(utf8_boundary(s, 3), 3);
	assert_int_equal(utf8_boundary(s, 4), 3);
	assert_int_equal(utf8_boundary(s, 5), 3);
	assert_int_equal(utf8_boundary(s, 6), 6);
	assert_int_equal(utf8_boundary("\x80\x80", 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_valid_kept),
	    cmocka_unit_test(test_utf8_invalid_replaced),
	    cmocka_unit_test(test_utf8_seq_len_sweep),
	    cmocka_unit_test(test_utf8_every_code_point),
	    cmocka_unit_test(test_utf8_hidden_removed),
	    cmocka_unit_test(test_utf8_every_invalid_code_point),
	    cmocka_unit_test(test_utf8_sanitize_sweep),
	    cmocka_unit_test(test_utf8_boundary),
	};

	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
