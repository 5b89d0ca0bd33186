/* test_address.c - unit tests for base/address.c: email addresses, URLs and secure URLs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "address.h"
#include "xalloc.h"

/* Fail unless check(s) is want for every s in v[0..n). */
static void
expect_all(bool (*check)(const char *), const char *name, const char *const *v, size_t n, bool want)
{
	for (size_t i = 0; i < n; i++)
		if (check(v[i]) != want)
			fail_msg("%s(\"%s\") should be %s", name, v[i], want ? "true" : "false");
}

#define EXPECT_ALL(check, v, want) expect_all(check, #check, v, sizeof v / sizeof v[0], want)

/* addr_valid_email: a dot-atom local part, '@', a dotted DNS domain; nothing that relays. */
static void
test_address_valid_email(void **state)
{
	static const char *const good[] = {
	    "iro@council.example",
	    "first.last+tag@sub.council.gov.uk",
	    "o'brien@x.example",
	    "jane.smith@gmial.com", /* well formed: allowed_domains is what refuses it */
	    "a-b_c@mail-1.anyshire.gov.uk",
	};
	static const char *const bad[] = {
	    "",
	    "iro",
	    "@council.example",
	    "iro@",
	    "a@b@c.example",
	    "a b@c.example",
	    "a@b c.example",
	    "a,b@c.example",
	    "a@b;c.example",
	    "<a@b.example>",
	    "\"a\"@b.example",
	    "a(b)@c.example",
	    "a\\b@c.example",
	    "a\t@b.example",
	    "a@b.example\n",
	    "a\x7f@b.example",
	    " a@b.example",
	    "a@b.example ",
	    "@",
	    "a@@b.example",
	    "x@y",                                 /* no dot in the domain */
	    "victim%evil.example@council.example", /* % relaying */
	    "a!b@council.example",                 /* bang path */
	    "a@[10.0.0.1]",                        /* address literal */
	    "a@10.0.0.1",                          /* numeric top level */
	    "j\xc3\xb6rg@council.example",         /* non-ASCII local part */
	    "jane@c\xc3\xb6uncil.example",         /* non-ASCII domain */
	    ".jane@council.example",
	    "jane.@council.example",
	    "ja..ne@council.example",
	    "jane@-council.example",
	    "jane@council-.example",
	    "jane@council..example",
	    "jane@council.example.",
	    "jane@.council.example",
	    "jane@council.x",
	};
	char long_ok[255], long_bad[256];

	(void)state;
	EXPECT_ALL(addr_valid_email, good, true);
	EXPECT_ALL(addr_valid_email, bad, false);

	/* 254 characters is the most an address may have: 10 + '@' + labels of 63. */
	memset(long_ok, 'a', sizeof long_ok - 1);
	long_ok[sizeof long_ok - 1] = '\0';
	long_ok[10] = '@';
	for (size_t i = 11 + 60; i < sizeof long_ok - 3; i += 60)
		long_ok[i] = '.';
	assert_int_equal(strlen(long_ok), 254);
	assert_true(addr_valid_email(long_ok));
	memcpy(long_bad, long_ok, 254);
	long_bad[254] = 'a';
	long_bad[255] = '\0';
	assert_false(addr_valid_email(long_bad));
}

/* addr_valid_domain and addr_domain_in: exact or subdomain, never a look-alike suffix. */
static void
test_address_domain_in(void **state)
{
	static const char *const allowed[] = {"anyshire.gov.uk", "NHS.net"};

	(void)state;
	assert_true(addr_valid_domain("anyshire.gov.uk"));
	assert_false(addr_valid_domain("localhost"));
	assert_false(addr_valid_domain("a@anyshire.gov.uk"));
	assert_false(addr_valid_domain(""));
	assert_true(addr_domain_in("jo@anyshire.gov.uk", allowed, 2));
	assert_true(addr_domain_in("jo@Mail.Anyshire.GOV.uk", allowed, 2));
	assert_true(addr_domain_in("jo@nhs.net", allowed, 2));
	assert_false(addr_domain_in("jo@evilanyshire.gov.uk", allowed, 2));
	assert_false(addr_domain_in("jo@anyshire.gov.uk.evil.example", allowed, 2));
	assert_false(addr_domain_in("jo@gov.uk", allowed, 2));
	assert_false(addr_domain_in("jo@gmial.com", allowed, 2));
	assert_false(addr_domain_in("anyshire.gov.uk", allowed, 2));
	assert_false(addr_domain_in("jo@anyshire.gov.uk", allowed, 0));
}

/* addr_valid_url: http:// or https:// with a host; no spaces or controls; at most 2048. */
static void
test_address_valid_url(void **state)
{
	static const char *const good[] = {
	    "https://hooks.council.example/escalations/hos",
	    "http://localhost:8080/hook",
	    "https://h",
	    "https://hooks.example/x?a=1&b=2#frag",
	    "http://hooks.example",
	    "https://[2001:db8::1]:8443/x",
	};
	static const char *const bad[] = {
	    "",
	    "https://",
	    "http://",
	    "https:///path",
	    "http:///",
	    "ftp://hooks.example/",
	    "mailto:iro@council.example",
	    "hooks.example/x",
	    "https//hooks.example",
	    "https:/hooks.example",
	    "https:hooks.example",
	    "https://hooks.example/a b",
	    "https://hooks.example/\tx",
	    "https://hooks.example/\n",
	    "https://hooks.example/\x7f",
	    "https://hooks.example/\x1b[31m",
	    " https://hooks.example/",
	    /* A user name or password in the URL is refused: it is where tricks hide. */
	    "https://user@hooks.example/x",
	    "https://user:pass@hooks.example/x",
	    "https://:pass@hooks.example/x",
	    "http://127.0.0.1:443@evil.example/x",
	    "https://hooks.example\\@evil.example/x",
	};
	char *long_url;

	(void)state;
	EXPECT_ALL(addr_valid_url, good, true);
	EXPECT_ALL(addr_valid_url, bad, false);

	/* 2048 characters is accepted, 2049 is not. */
	long_url = xmalloc(2050);
	memcpy(long_url, "https://", 8);
	memset(long_url + 8, 'h', 2048 - 8);
	long_url[2048] = '\0';
	assert_true(addr_valid_url(long_url));
	long_url[2048] = 'h';
	long_url[2049] = '\0';
	assert_false(addr_valid_url(long_url));
	free(long_url);
}

/* addr_secure_url: any valid https:// URL; http:// only to 127.0.0.1, localhost or [::1]. */
static void
test_address_secure_url(void **state)
{
	static const char *const good[] = {
	    "https://hooks.slack.com/services/T/B/X",
	    "https://hooks.example",
	    "https://h",
	    "http://127.0.0.1:8080/x",
	    "http://127.0.0.1",
	    "http://127.0.0.1/",
	    "http://localhost/x",
	    "http://localhost",
	    "http://localhost:8080/x",
	    "http://localhost?x=1",
	    "http://localhost/mail/iro@council.example",
	    "http://127.0.0.1:8080/?to=iro@council.example",
	    "http://[::1]:80",
	    "http://[::1]/",
	    "http://[::1]",
	};
	static const char *const bad[] = {
	    /* Not to this machine, though they start like it. */
	    "http://127.0.0.1.evil.example/x",
	    "http://127.0.0.1.evil.example/",
	    "http://localhost.evil.example/",
	    "http://localhostx/",
	    "http://localhost-evil.example/",
	    "http://127.0.0.10/",
	    "http://127.0.0.2/",
	    "http://[::1]x/",
	    "http://[::10]/",
	    /* The host is evil.example; what comes before '@' is a user name. */
	    "http://localhost@evil.example/",
	    "http://127.0.0.1@evil.example/",
	    "http://localhost:8080@evil.example/",
	    "http://127.0.0.1:80@evil.example/",
	    "http://[::1]:1@evil.example/x",
	    /* Plain http elsewhere, other schemes, and not URLs at all. */
	    "http://hooks.example/x",
	    "ftp://hooks.example/x",
	    "ftp://localhost/x",
	    "https://",
	    "http://",
	    "https:///x",
	    "",
	    "localhost",
	    "https://hooks.example/a b",
	    "http://localhost/a b",
	    "http://localhost/\n",
	    /* libcurl would connect to evil.example: not this machine. */
	    "http://127.0.0.1:443@evil.example/hook",
	    "http://127.0.0.1:443@evil.example",
	    "http://127.0.0.1\\@evil.example/",
	    "http://[::1]@evil.example/",
	};

	(void)state;
	EXPECT_ALL(addr_secure_url, good, true);
	EXPECT_ALL(addr_secure_url, bad, false);
}

/* addr_url_host: the host libcurl connects to, never the path or the token in it. */
static void
test_address_url_host(void **state)
{
	static const struct {
		const char *url, *host;
	} cases[] = {
	    {"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "hooks.slack.com"},
	    {"https://h.example:8443/x?token=abc", "h.example"},
	    {"http://127.0.0.1:8080/hook", "127.0.0.1"},
	    {"https://[2001:db8::1]:8443/x", "[2001:db8::1]"},
	    {"http://127.0.0.1:443@evil.example/x", NULL},
	    {"not a url", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *h = addr_url_host(cases[i].url);

		if (cases[i].host == NULL)
			assert_null(h);
		else
			assert_string_equal(h, cases[i].host);
		free(h);
	}
}

/* addr_url_authority: host and a named port, never a user name, password, path or token. */
static void
test_address_url_authority(void **state)
{
	static const struct {
		const char *url, *where;
	} cases[] = {
	    {"https://hooks.slack.com/services/T000/B000/XXXXSECRET", "hooks.slack.com"},
	    {"https://h.example:8443/x?token=abc", "h.example:8443"},
	    {"http://127.0.0.1:8080/hook", "127.0.0.1:8080"},
	    {"https://user:pw@hooks.council.example/secret?x=1", "hooks.council.example"},
	    {"http://127.0.0.1:443@evil.example/x", "evil.example"},
	    {"not a url", NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *w = addr_url_authority(cases[i].url);

		if (cases[i].where == NULL)
			assert_null(w);
		else
			assert_string_equal(w, cases[i].where);
		free(w);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address_valid_email),
	    cmocka_unit_test(test_address_domain_in),
	    cmocka_unit_test(test_address_valid_url),
	    cmocka_unit_test(test_address_secure_url),
	    cmocka_unit_test(test_address_url_host),
	    cmocka_unit_test(test_address_url_authority),
	};

	return cmocka_run_group_tests_name("address", tests, NULL, NULL);
}
