/* test_diag.c - unit tests for base/diag.c (the list of warnings and errors) and base/xalloc.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "diag.h"
#include "xalloc.h"

/* Assert entry i of d is at level with exactly text. */
static void
expect_entry(const struct diag *d, size_t i, enum diag_level level, const char *text)
{
	assert_true(i < d->n);
	if (d->v[i].level != level || strcmp(d->v[i].text, text) != 0)
		fail_msg("entry %zu is %s \"%s\", expected %s \"%s\"", i,
		         d->v[i].level == DIAG_ERROR ? "error" : "warning", d->v[i].text,
		         level == DIAG_ERROR ? "error" : "warning", text);
}

/* Assert d holds n entries, of which errors are errors and warnings are warnings. */
static void
expect_counts(const struct diag *d, size_t n, size_t errors, size_t warnings)
{
	assert_int_equal(d->n, n);
	assert_int_equal(d->errors, errors);
	assert_int_equal(d->warnings, warnings);
}

/* diag_addv through a variadic wrapper, as cfgfile.c and the parsers call it. */
static void PRINTFLIKE(3, 4)
    add_through_v(struct diag *d, enum diag_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_addv(d, level, fmt, ap);
	va_end(ap);
}

/* A new list is empty. */
static void
test_diag_init_empty(void **state)
{
	struct diag d;

	(void)state;
	memset(&d, 0xa5, sizeof d);
	diag_init(&d);
	expect_counts(&d, 0, 0, 0);
	assert_null(d.v);
	diag_free(&d);
	expect_counts(&d, 0, 0, 0);
}

/* Entries keep their order, level and formatted text; errors and warnings are counted apart. */
static void
test_diag_add_order_and_counts(void **state)
{
	struct diag d;

	(void)state;
	diag_init(&d);
	diag_add(&d, DIAG_ERROR, "%s:%d: %s", "escalator.cfg", 12, "unknown setting \"colour\"");
	diag_add(&d, DIAG_WARNING, "%s:%d: webhook uses http://", "escalator.cfg", 30);
	diag_add(&d, DIAG_WARNING, "plain text");
	add_through_v(&d, DIAG_ERROR, "%s: cannot read: %s", "/etc/escalator/x.cfg",
	              "No such file or directory");
	add_through_v(&d, DIAG_WARNING, "100%% of %u, %05.1f, %-4s|, %c", 7u, 2.5, "ab", 'z');
	diag_add(&d, DIAG_ERROR, "%s", "");

	expect_counts(&d, 6, 3, 3);
	expect_entry(&d, 0, DIAG_ERROR, "escalator.cfg:12: unknown setting \"colour\"");
	expect_entry(&d, 1, DIAG_WARNING, "escalator.cfg:30: webhook uses http://");
	expect_entry(&d, 2, DIAG_WARNING, "plain text");
	expect_entry(&d, 3, DIAG_ERROR,
	             "/etc/escalator/x.cfg: cannot read: No such file or directory");
	expect_entry(&d, 4, DIAG_WARNING, "100% of 7, 002.5, ab  |, z");
	expect_entry(&d, 5, DIAG_ERROR, "");
	diag_free(&d);
}

/* The list grows past its first allocation without losing or reordering anything. */
static void
test_diag_add_many(void **state)
{
	struct diag d;
	char want[64];

	(void)state;
	diag_init(&d);
	for (int i = 0; i < 1000; i++)
		diag_add(&d, i % 3 == 0 ? DIAG_WARNING : DIAG_ERROR, "f.cfg:%d: problem %d", i + 1,
		         i);
	expect_counts(&d, 1000, 666, 334);
	for (int i = 0; i < 1000; i++) {
		snprintf(want, sizeof want, "f.cfg:%d: problem %d", i + 1, i);
		expect_entry(&d, (size_t)i, i % 3 == 0 ? DIAG_WARNING : DIAG_ERROR, want);
	}
	diag_free(&d);
}

/* A message longer than any buffer a formatter might use comes through whole. */
static void
test_diag_add_long(void **state)
{
	struct diag d;
	char *big = xmalloc(100001);

	(void)state;
	memset(big, 'x', 100000);
	big[100000] = '\0';
	diag_init(&d);
	diag_add(&d, DIAG_ERROR, "<%s>", big);
	expect_counts(&d, 1, 1, 0);
	assert_int_equal(strlen(d.v[0].text), 100002);
	assert_int_equal(d.v[0].text[0], '<');
	assert_memory_equal(d.v[0].text + 1, big, 100000);
	assert_int_equal(d.v[0].text[100001], '>');
	diag_free(&d);
	free(big);
}

/* diag_merge appends src after dst's entries, with levels and counts; src is left as it was. */
static void
test_diag_merge(void **state)
{
	struct diag dst, src, empty;

	(void)state;
	diag_init(&dst);
	diag_init(&src);
	diag_init(&empty);
	diag_add(&dst, DIAG_WARNING, "first");
	diag_add(&src, DIAG_ERROR, "rules/a.rule:3: bad");
	diag_add(&src, DIAG_WARNING,
	         "rules/a.rule:9: 100%% sure %%s"); /* copied, not re-formatted */
	diag_add(&src, DIAG_ERROR, "rules/b.rule:1: worse");

	diag_merge(&dst, &src);
	expect_counts(&dst, 4, 2, 2);
	expect_entry(&dst, 0, DIAG_WARNING, "first");
	expect_entry(&dst, 1, DIAG_ERROR, "rules/a.rule:3: bad");
	expect_entry(&dst, 2, DIAG_WARNING, "rules/a.rule:9: 100% sure %s");
	expect_entry(&dst, 3, DIAG_ERROR, "rules/b.rule:1: worse");
	expect_counts(&src, 3, 2, 1);
	expect_entry(&src, 2, DIAG_ERROR, "rules/b.rule:1: worse");
	/* The copies are dst's own: freeing src leaves them intact. */
	assert_ptr_not_equal(dst.v[1].text, src.v[0].text);
	diag_free(&src);
	expect_entry(&dst, 1, DIAG_ERROR, "rules/a.rule:3: bad");

	/* Merging an empty list changes nothing; merging into one copies everything. */
	diag_merge(&dst, &empty);
	expect_counts(&dst, 4, 2, 2);
	diag_merge(&empty, &dst);
	expect_counts(&empty, 4, 2, 2);
	expect_entry(&empty, 3, DIAG_ERROR, "rules/b.rule:1: worse");
	diag_free(&empty);
	diag_free(&dst);
}

/* diag_free leaves an empty list that can be filled again, and freed again. */
static void
test_diag_free_reusable(void **state)
{
	struct diag d;

	(void)state;
	diag_init(&d);
	for (int i = 0; i < 20; i++)
		diag_add(&d, DIAG_ERROR, "e%d", i);
	diag_add(&d, DIAG_WARNING, "w");
	diag_free(&d);
	expect_counts(&d, 0, 0, 0);
	assert_null(d.v);
	assert_int_equal(d.cap, 0);

	diag_add(&d, DIAG_WARNING, "again");
	expect_counts(&d, 1, 0, 1);
	expect_entry(&d, 0, DIAG_WARNING, "again");
	diag_free(&d);
	diag_free(&d);
	expect_counts(&d, 0, 0, 0);
}

/* xasprintf formats like asprintf; an empty result is an empty string, not NULL. */
static void
test_xalloc_xasprintf(void **state)
{
	char *s;

	(void)state;
	s = xasprintf("%s:%d: %s", "a.cfg", 7, "bad");
	assert_string_equal(s, "a.cfg:7: bad");
	free(s);
	s = xasprintf("%s", "");
	assert_non_null(s);
	assert_string_equal(s, "");
	free(s);
	s = xasprintf("%zu|%3d|%-3s|%x|%%", (size_t)42, 5, "a", 255u);
	assert_string_equal(s, "42|  5|a  |ff|%");
	free(s);
	s = xasprintf("%.3s", "abcdef");
	assert_string_equal(s, "abc");
	free(s);
}

/* xstrndup copies at most n bytes, stops at a NUL, and always terminates. */
static void
test_xalloc_xstrndup(void **state)
{
	/* Not NUL-terminated: xstrndup must not read past n. */
	static const char unterminated[3] = {'a', 'b', 'c'};
	static const struct {
		const char *s;
		size_t n;
		const char *want;
	} cases[] = {
	    {"abcdef", 3, "abc"}, {"abc", 10, "abc"},  {"abc", 3, "abc"},
	    {"abc", 0, ""},       {"ab\0cd", 5, "ab"}, {unterminated, sizeof unterminated, "abc"},
	};
	char *s, *heap;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		s = xstrndup(cases[i].s, cases[i].n);
		assert_string_equal(s, cases[i].want);
		free(s);
	}
	/* The same on the heap, where ASan would see a read past the third byte. */
	heap = xmalloc(3);
	memcpy(heap, "xyz", 3);
	s = xstrndup(heap, 3);
	assert_string_equal(s, "xyz");
	free(s);
	free(heap);
	s = xstrdup("copy");
	assert_string_equal(s, "copy");
	free(s);
	/* xstrdup_or_null: a copy (not the same pointer), or NULL for NULL. */
	heap = xstrdup("kept");
	s = xstrdup_or_null(heap);
	assert_string_equal(s, "kept");
	assert_ptr_not_equal(s, heap);
	free(s);
	free(heap);
	assert_null(xstrdup_or_null(NULL));
}

/* xreallocarray: NULL starts an array, growing keeps the contents, zero sizes are not NULL. */
static void
test_xalloc_xreallocarray(void **state)
{
	int *v = NULL;
	void *z;

	(void)state;
	v = xreallocarray(v, 4, sizeof *v);
	for (int i = 0; i < 4; i++)
		v[i] = i * 11;
	v = xreallocarray(v, 100000, sizeof *v);
	for (int i = 0; i < 4; i++)
		assert_int_equal(v[i], i * 11);
	v[99999] = 7;
	v = xreallocarray(v, 2, sizeof *v);
	assert_int_equal(v[0], 0);
	assert_int_equal(v[1], 11);
	free(v);

	z = xreallocarray(NULL, 0, 8);
	assert_non_null(z);
	z = xreallocarray(z, 8, 0);
	assert_non_null(z);
	free(z);
	z = xmalloc(0);
	assert_non_null(z);
	free(z);
	z = xcalloc(0, 0);
	assert_non_null(z);
	free(z);
	v = xcalloc(16, sizeof *v);
	for (int i = 0; i < 16; i++)
		assert_int_equal(v[i], 0);
	free(v);
}

/*
 * n * size that does not fit in a size_t is fatal: in a child, xreallocarray must exit with
 * status 2 and say so on stderr, not wrap around to a small allocation.
 */
static void
test_xalloc_xreallocarray_overflow(void **state)
{
	const size_t n = SIZE_MAX / 16 + 1;
	char buf[256], *want;
	int fds[2], status;
	ssize_t got;
	size_t len = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	/* Nothing buffered may be written twice, by the child's exit as well. */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDERR_FILENO);
		xreallocarray(NULL, n, 16);
		_exit(0); /* not reached unless the check is missing */
	}
	close(fds[1]);
	while (len < sizeof buf - 1 && (got = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)got;
	buf[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
	want = xasprintf("escalatord: fatal: allocation overflow (%zu x 16)\n", n);
	assert_string_equal(buf, want);
	free(want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_diag_init_empty),
	    cmocka_unit_test(test_diag_add_order_and_counts),
	    cmocka_unit_test(test_diag_add_many),
	    cmocka_unit_test(test_diag_add_long),
	    cmocka_unit_test(test_diag_merge),
	    cmocka_unit_test(test_diag_free_reusable),
	    cmocka_unit_test(test_xalloc_xasprintf),
	    cmocka_unit_test(test_xalloc_xstrndup),
	    cmocka_unit_test(test_xalloc_xreallocarray),
	    cmocka_unit_test(test_xalloc_xreallocarray_overflow),
	};

	return cmocka_run_group_tests_name("diag", tests, NULL, NULL);
}
