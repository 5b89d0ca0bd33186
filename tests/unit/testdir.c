/* testdir.c - a scratch directory per test, removed with everything in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "testdir.h"

struct testdir {
	char *root;
};

/* asprintf that fails the test instead of returning NULL. */
static char *td_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *
td_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		fail_msg("testdir: out of memory");
	return s;
}

/* A fresh directory under $TMPDIR. */
struct testdir *
testdir_new(void)
{
	const char *tmp = getenv("TMPDIR");
	struct testdir *td = calloc(1, sizeof *td);
	size_t len;

	if (td == NULL)
		fail_msg("testdir: out of memory");
	if (tmp == NULL || *tmp == '\0')
		tmp = "/tmp";
	/* "/tmp/" would give "/tmp//name": paths the tests compare must be written one way. */
	for (len = strlen(tmp); len > 1 && tmp[len - 1] == '/'; len--)
		;
	td->root = td_asprintf("%.*s/%s.XXXXXX", (int)len, tmp, program_invocation_short_name);
	if (mkdtemp(td->root) == NULL)
		fail_msg("testdir: mkdtemp %s: %s", td->root, strerror(errno));
	return td;
}

/* nftw, before descending: let the owner read, search and empty every directory. */
static int
td_unlock(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_D || flag == FTW_DNR)
		chmod(path, (sb->st_mode & 07777) | S_IRWXU);
	return 0;
}

/* nftw, deepest first: remove one entry. */
static int
td_remove(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		print_error("testdir: cannot remove %s: %s\n", path, strerror(errno));
	return 0;
}

/* Remove the tree and free td. */
void
testdir_free(struct testdir *td)
{
	if (td == NULL)
		return;
	nftw(td->root, td_unlock, 16, FTW_PHYS);
	nftw(td->root, td_remove, 16, FTW_DEPTH | FTW_PHYS);
	if (access(td->root, F_OK) == 0)
		print_error("testdir: %s is left behind\n", td->root);
	free(td->root);
	free(td);
}

/* The directory's path. */
const char *
testdir_root(const struct testdir *td)
{
	return td->root;
}

/* "<root>/<name>". */
char *
testdir_path(const struct testdir *td, const char *name)
{
	return td_asprintf("%s/%s", td->root, name);
}

/* mkdir that accepts an existing directory. */
static void
td_mkdir_one(const char *path)
{
	struct stat sb;

	if (mkdir(path, 0700) == 0)
		return;
	if (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return;
	fail_msg("testdir: mkdir %s: %s", path, strerror(errno));
}

/* Make every missing directory of path below the root; with last, path itself too. */
static void
td_make_parents(const struct testdir *td, char *path, int last)
{
	size_t root = strlen(td->root);

	for (char *p = path + root + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		td_mkdir_one(path);
		*p = '/';
	}
	if (last)
		td_mkdir_one(path);
}

/* Make a directory inside td. */
char *
testdir_mkdir(struct testdir *td, const char *name)
{
	char *path = testdir_path(td, name);

	td_make_parents(td, path, 1);
	return path;
}

/* Write len bytes to a file inside td. */
char *
testdir_write_len(struct testdir *td, const char *name, const void *data, size_t len)
{
	char *path = testdir_path(td, name);
	const char *p = data;
	int fd;

	td_make_parents(td, path, 0);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) == -1)
		fail_msg("testdir: open %s: %s", path, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			fail_msg("testdir: write %s: %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) != 0)
		fail_msg("testdir: close %s: %s", path, strerror(errno));
	return path;
}

/* Write a string to a file inside td. */
char *
testdir_write(struct testdir *td, const char *name, const char *text)
{
	return testdir_write_len(td, name, text, strlen(text));
}

/* cmocka setup: a new scratch directory in *state. */
int
testdir_setup(void **state)
{
	*state = testdir_new();
	return 0;
}

/* cmocka teardown: remove the scratch directory in *state. */
int
testdir_teardown(void **state)
{
	testdir_free(*state);
	*state = NULL;
	return 0;
}
