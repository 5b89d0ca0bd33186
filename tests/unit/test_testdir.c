/* test_testdir.c - unit tests for the tests' own scratch-directory helper (testdir.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testdir.h"

/* The whole of a small file, NUL-terminated, its length in *len; allocated. */
static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = malloc(4096);
	size_t n;

	assert_non_null(f);
	assert_non_null(buf);
	n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	*len = n;
	return buf;
}

/* Is path a directory with exactly the permissions mode? */
static int
is_dir_mode(const char *path, mode_t mode)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode) && (sb.st_mode & 07777) == mode;
}

/* A new directory is empty and private, under $TMPDIR, named after the program. */
static void
test_testdir_new(void **state)
{
	struct testdir *outer = testdir_new(), *td;
	const char *old = getenv("TMPDIR");
	char *saved = old != NULL ? strdup(old) : NULL;
	char *slash = testdir_path(outer, "");
	const char *root, *base;

	(void)state;
	assert_true(is_dir_mode(testdir_root(outer), 0700));
	assert_int_equal(rmdir(testdir_root(outer)), 0); /* it was empty */
	assert_int_equal(mkdir(testdir_root(outer), 0700), 0);

	/* "<outer>/" as TMPDIR: the new directory is inside it, with one separator. */
	setenv("TMPDIR", slash, 1);
	td = testdir_new();
	if (saved != NULL)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	root = testdir_root(td);
	assert_int_equal(strncmp(root, slash, strlen(slash)), 0);
	base = root + strlen(slash);
	assert_int_equal(strncmp(base, "test_testdir.", 13), 0);
	assert_int_equal(strlen(base), 13 + 6);
	assert_null(strchr(base, '/'));
	assert_true(is_dir_mode(root, 0700));

	/* Two directories are never the same. */
	struct testdir *other = testdir_new();
	assert_string_not_equal(testdir_root(other), testdir_root(outer));
	testdir_free(other);

	testdir_free(td);
	testdir_free(outer);
	free(slash);
	free(saved);
}

/* testdir_path names a file without making it. */
static void
test_testdir_path(void **state)
{
	struct testdir *td = testdir_new();
	char *path = testdir_path(td, "a/b.txt");
	char *want = malloc(strlen(testdir_root(td)) + 9);

	(void)state;
	assert_non_null(want);
	sprintf(want, "%s/a/b.txt", testdir_root(td));
	assert_string_equal(path, want);
	assert_int_equal(access(path, F_OK), -1);
	free(want);
	free(path);
	testdir_free(td);
}

/* Files are written whole (NUL bytes too), parents made, and rewritten shorter. */
static void
test_testdir_write(void **state)
{
	static const char bytes[] = "one\0two\n";
	struct testdir *td = testdir_new();
	char *path, *again, *got, *sub;
	size_t len;

	(void)state;
	path = testdir_write(td, "deep/er/file.txt", "first contents, quite long\n");
	got = slurp(path, &len);
	assert_string_equal(got, "first contents, quite long\n");
	free(got);
	sub = testdir_path(td, "deep/er");
	assert_true(is_dir_mode(sub, 0700));
	free(sub);

	again = testdir_write(td, "deep/er/file.txt", "short\n");
	assert_string_equal(again, path);
	got = slurp(path, &len);
	assert_int_equal(len, 6);
	assert_string_equal(got, "short\n");
	free(got);
	free(again);

	again = testdir_write_len(td, "deep/er/file.txt", bytes, sizeof bytes - 1);
	got = slurp(path, &len);
	assert_int_equal(len, sizeof bytes - 1);
	assert_memory_equal(got, bytes, sizeof bytes - 1);
	free(got);
	free(again);

	again = testdir_write(td, "empty", "");
	got = slurp(again, &len);
	assert_int_equal(len, 0);
	free(got);
	free(again);
	free(path);
	testdir_free(td);
}

/* testdir_mkdir makes every level and accepts a directory that exists. */
static void
test_testdir_mkdir(void **state)
{
	struct testdir *td = testdir_new();
	char *path = testdir_mkdir(td, "x/y/z"), *again;

	(void)state;
	assert_true(is_dir_mode(path, 0700));
	again = testdir_mkdir(td, "x/y");
	assert_true(is_dir_mode(again, 0700));
	free(again);
	free(path);
	testdir_free(td);
}

/* testdir_free removes the whole tree, read-only and unreadable directories included. */
static void
test_testdir_free(void **state)
{
	struct testdir *td = testdir_new();
	char *root = strdup(testdir_root(td));
	char *ro = testdir_mkdir(td, "ro"), *locked = testdir_mkdir(td, "ro/locked");

	(void)state;
	free(testdir_write(td, "ro/locked/file", "x"));
	free(testdir_write(td, "ro/file", "x"));
	assert_int_equal(chmod(locked, 0), 0);
	assert_int_equal(chmod(ro, 0500), 0);
	testdir_free(td);
	assert_int_equal(access(root, F_OK), -1);
	testdir_free(NULL);
	free(locked);
	free(ro);
	free(root);
}

/* testdir_setup gives the test a scratch directory in *state; testdir_teardown removes it. */
static void
test_testdir_fixture(void **state)
{
	struct testdir *td = *state;

	assert_non_null(td);
	assert_true(is_dir_mode(testdir_root(td), 0700));
	free(testdir_write(td, "left/behind", "for the teardown"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_testdir_new),
	    cmocka_unit_test(test_testdir_path),
	    cmocka_unit_test(test_testdir_write),
	    cmocka_unit_test(test_testdir_mkdir),
	    cmocka_unit_test(test_testdir_free),
	    cmocka_unit_test_setup_teardown(test_testdir_fixture, testdir_setup, testdir_teardown),
	};

	return cmocka_run_group_tests_name("testdir", tests, NULL, NULL);
}
