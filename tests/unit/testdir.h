/*
 * testdir.h - a scratch directory for one test (or one group): made with mkdtemp under
 * $TMPDIR (else /tmp), removed with everything in it by testdir_free. Every function fails
 * the running test, with the system's error text, when the file system refuses; none
 * returns NULL. Include it after <cmocka.h>.
 */
#ifndef ESCALATOR_TESTDIR_H
#define ESCALATOR_TESTDIR_H

#include <stddef.h>

struct testdir;

/* A fresh, empty directory "$TMPDIR/<program name>.XXXXXX". */
struct testdir *testdir_new(void);
/* Remove the directory and everything in it (even read-only parts), and free td. NULL is
 * ignored. */
void testdir_free(struct testdir *td);
/* The directory's path, borrowed until testdir_free. */
const char *testdir_root(const struct testdir *td);
/* "<root>/<name>", allocated; nothing is created. */
char *testdir_path(const struct testdir *td, const char *name);
/* Make the directory name (and any missing parents) inside td; returns its allocated path. */
char *testdir_mkdir(struct testdir *td, const char *name);
/*
 * Write text to the file name inside td (replacing it, making missing parent directories);
 * returns its allocated path.
 */
char *testdir_write(struct testdir *td, const char *name, const char *text);
/* The same with len bytes of data, which may hold NUL bytes. */
char *testdir_write_len(struct testdir *td, const char *name, const void *data, size_t len);

/*
 * cmocka fixtures for a test that needs nothing but a scratch directory:
 * cmocka_unit_test_setup_teardown(f, testdir_setup, testdir_teardown) gives f a struct
 * testdir * in *state.
 */
int testdir_setup(void **state);
int testdir_teardown(void **state);

#endif
