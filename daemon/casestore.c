/* casestore.c - the council's case store: SQLite, opened read-only. */
#include "casestore_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "xalloc.h"

/* Name of an authorizer action, for the error message. */
static const char *
casestore_action_name(int action)
{
	switch (action) {
	case SQLITE_INSERT:
		return "INSERT";
	case SQLITE_UPDATE:
		return "UPDATE";
	case SQLITE_DELETE:
		return "DELETE";
	case SQLITE_PRAGMA:
		return "PRAGMA";
	case SQLITE_ATTACH:
		return "ATTACH";
	case SQLITE_DETACH:
		return "DETACH";
	case SQLITE_TRANSACTION:
		return "a transaction (BEGIN/COMMIT)";
	case SQLITE_SAVEPOINT:
		return "SAVEPOINT";
	case SQLITE_CREATE_TABLE:
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_VIEW:
	case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TEMP_INDEX:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_VTABLE:
		return "CREATE";
	case SQLITE_DROP_TABLE:
	case SQLITE_DROP_TEMP_TABLE:
	case SQLITE_DROP_VIEW:
	case SQLITE_DROP_TEMP_VIEW:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TEMP_INDEX:
	case SQLITE_DROP_TRIGGER:
	case SQLITE_DROP_TEMP_TRIGGER:
	case SQLITE_DROP_VTABLE:
		return "DROP";
	case SQLITE_ALTER_TABLE:
		return "ALTER TABLE";
	case SQLITE_REINDEX:
		return "REINDEX";
	case SQLITE_ANALYZE:
		return "ANALYZE";
	default:
		return "a statement that is not a plain SELECT";
	}
}

/* While compiling rule queries, allow reading and nothing else. */
static int
casestore_authorize(void *arg, int action, const char *a, const char *b, const char *c,
                    const char *d)
{
	struct casestore *cs = arg;

	if (!cs->restricted)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_UPDATE:
		/*
		 * SQLite asks this of the schema table while it sets up an eponymous
		 * virtual table such as json_each; the statement is still checked by
		 * sqlite3_stmt_readonly and the connection is read-only.
		 */
		if (a != NULL &&
		    (strcmp(a, "sqlite_master") == 0 || strcmp(a, "sqlite_schema") == 0))
			return SQLITE_OK;
		/* FALLTHROUGH */
	default:
		/* CREATE and DROP first write the schema table: name the statement, not that. */
		if (a != NULL && strncmp(a, "sqlite_", 7) == 0 &&
		    (action == SQLITE_INSERT || action == SQLITE_DELETE || action == SQLITE_UPDATE))
			cs->schema_write = true;
		else if (cs->denied == 0)
			cs->denied = action;
		return SQLITE_DENY;
	}
}

/* stat path into *st (exists false when it is not there). */
static void
casestore_stamp(const char *path, struct casestore_stamp *st)
{
	struct stat sb;

	memset(st, 0, sizeof *st);
	if (stat(path, &sb) != 0)
		return;
	st->exists = true;
	st->dev = sb.st_dev;
	st->ino = sb.st_ino;
	st->size = sb.st_size;
	st->mtime = sb.st_mtim;
	st->ctime = sb.st_ctim;
}

/* Do two stamps differ? */
static bool
casestore_stamp_differs(const struct casestore_stamp *a, const struct casestore_stamp *b)
{
	return a->exists != b->exists || a->dev != b->dev || a->ino != b->ino ||
	       a->size != b->size || a->mtime.tv_sec != b->mtime.tv_sec ||
	       a->mtime.tv_nsec != b->mtime.tv_nsec || a->ctime.tv_sec != b->ctime.tv_sec ||
	       a->ctime.tv_nsec != b->ctime.tv_nsec;
}

/*
 * Is the file a WAL-mode SQLite database? Bytes 18 and 19 of the header (the file
 * format's read and write versions) are 2 in WAL mode, 1 in rollback-journal mode.
 */
static bool
casestore_is_wal(const char *path)
{
	unsigned char h[20];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, h, sizeof h);
	close(fd);
	return n == (ssize_t)sizeof h && memcmp(h, "SQLite format 3", 16) == 0 &&
	       (h[18] == 2 || h[19] == 2);
}

/* A "file:" URI for path with immutable=1: every byte outside [A-Za-z0-9/._~-] escaped. */
static char *
casestore_immutable_uri(const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	char *uri = xmalloc(5 + 3 * strlen(path) + sizeof "?immutable=1"), *q = uri;

	memcpy(q, "file:", 5);
	q += 5;
	/* "file://x" would name a host: one leading slash is the same path. */
	while (path[0] == '/' && path[1] == '/')
		path++;
	for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || strchr("/._~-", *p) != NULL) {
			*q++ = (char)*p;
		} else {
			*q++ = '%';
			*q++ = hex[*p >> 4];
			*q++ = hex[*p & 15];
		}
	}
	strcpy(q, "?immutable=1");
	return uri;
}

/*
 * The file is untrusted input: SQLite's defensive mode, no function or virtual table
 * in its schema (views, defaults, generated columns) that is not marked innocuous,
 * and limits (casestore.h explains each).
 */
static void
casestore_harden(sqlite3 *db)
{
	sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
	sqlite3_limit(db, SQLITE_LIMIT_LENGTH, CASESTORE_MAX_LENGTH);
	sqlite3_limit(db, SQLITE_LIMIT_SQL_LENGTH, CASESTORE_MAX_SQL_LENGTH);
	sqlite3_limit(db, SQLITE_LIMIT_COLUMN, CASESTORE_MAX_COLUMNS);
	sqlite3_limit(db, SQLITE_LIMIT_EXPR_DEPTH, CASESTORE_MAX_EXPR_DEPTH);
	sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
}

/*
 * Open name (a path, or a URI when uri) read-only, hardened, and read its schema.
 * Returns the connection, or NULL with *err (from sqlite3_malloc) and *rc set.
 */
static sqlite3 *
casestore_connect(const char *name, bool uri, char **err, int *rc)
{
	int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | (uri ? SQLITE_OPEN_URI : 0);
	sqlite3 *db = NULL;

	*err = NULL;
	if ((*rc = sqlite3_open_v2(name, &db, flags, NULL)) != SQLITE_OK) {
		*err = sqlite3_mprintf("%s", db ? sqlite3_errmsg(db) : sqlite3_errstr(*rc));
		sqlite3_close(db);
		return NULL;
	}
	casestore_harden(db);
	/*
	 * Short: a pass runs on the event loop, and a writer holding the store (the nightly
	 * extract) must not stall deliveries; a locked pass fails fast and is retried at the
	 * next poll.
	 */
	sqlite3_busy_timeout(db, 100);
	/* query_only also refuses writes through any path the read-only open might miss. */
	if ((*rc = sqlite3_exec(db, "PRAGMA query_only = 1; SELECT count(*) FROM sqlite_schema;",
	                        NULL, NULL, err)) != SQLITE_OK) {
		*rc = sqlite3_extended_errcode(db);
		if (*err == NULL)
			*err = sqlite3_mprintf("%s", sqlite3_errmsg(db));
		sqlite3_close(db);
		return NULL;
	}
	return db;
}

/*
 * Why a WAL-mode store whose -wal file holds changes cannot be read here, and what to
 * change. (SQLite reads a -wal file only through its -shm index, which it must be able
 * to read, or to create beside the database.)
 */
static char *
casestore_wal_cause(const char *path, const char *err)
{
	char *shm = xasprintf("%s-shm", path), *what;
	int fd = open(shm, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		what = xasprintf("SQLite refused it (%s)", err);
	} else if (errno == ENOENT)
		what = xstrdup("it does not exist and this service cannot create it (the directory "
		               "is read-only for it)");
	else
		what = xasprintf("this service cannot read it (%s)", strerror(errno));
	free(shm);
	shm = xasprintf("%s: cannot open the case store: it is in WAL journal mode and its -wal "
	                "file holds changes not yet written into it, which SQLite reads through "
	                "%s-shm, but %s. Either have the program that writes the extract finish "
	                "with \"PRAGMA journal_mode = DELETE\" (or close every connection to it, "
	                "so that SQLite folds the -wal file in and removes it), or let this "
	                "service create files in the directory (ReadWritePaths= in the unit)",
	                path, path, what);
	free(what);
	return shm;
}

/* Open the case store read-only. */
struct casestore *
casestore_open(const char *path, char **cause)
{
	struct casestore *cs;
	struct stat sb;
	char *err = NULL, *wal;
	int rc;

	if (casestore_is_url(path))
		return casestore_pg_open(path, cause);
	if (stat(path, &sb) != 0) {
		*cause = xasprintf("%s: cannot open the case store: %s", path, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(sb.st_mode)) {
		*cause = xasprintf("%s: the case store is not a regular file", path);
		return NULL;
	}
	cs = xcalloc(1, sizeof *cs);
	cs->path = xstrdup(path);
	wal = xasprintf("%s-wal", path);
	casestore_stamp(path, &cs->file);
	casestore_stamp(wal, &cs->wal);
	if ((cs->db = casestore_connect(path, false, &err, &rc)) == NULL &&
	    casestore_is_wal(path)) {
		/*
		 * WAL mode, and SQLite could not make or use the -shm file: this service may
		 * not write the directory (ProtectSystem=strict, another user's directory).
		 * With no -wal file, or an empty one, the database file holds every committed
		 * change and can be read as immutable (no -shm, no locks); casestore_changed
		 * then watches the file and its -wal by stat, and the caller reopens.
		 */
		if (!cs->wal.exists || cs->wal.size == 0) {
			char *uri = casestore_immutable_uri(path), *err2 = NULL;

			if ((cs->db = casestore_connect(uri, true, &err2, &rc)) != NULL) {
				cs->immutable = true;
				sqlite3_free(err);
				err = NULL;
			} else {
				sqlite3_free(err);
				err = err2;
			}
			free(uri);
		} else {
			*cause = casestore_wal_cause(path, err ? err : "?");
			sqlite3_free(err);
			free(wal);
			casestore_close(cs);
			return NULL;
		}
	}
	free(wal);
	if (cs->db == NULL) {
		if ((rc & 0xff) == SQLITE_READONLY && access(path, W_OK) != 0) {
			char *journal = xasprintf("%s-journal", path);

			if (access(journal, F_OK) == 0)
				*cause = xasprintf("%s: cannot read the case store: %s-journal was "
				                   "left by a writer "
				                   "that stopped part-way, and SQLite must roll it "
				                   "back, which this "
				                   "service may not do; open the file once as its "
				                   "owner (e.g. sqlite3 "
				                   "%s \"PRAGMA quick_check\"), and have the "
				                   "extract replace the file "
				                   "by rename",
				                   path, path, path);
			else
				*cause = xasprintf("%s: cannot read the case store: %s", path,
				                   err ? err : "?");
			free(journal);
		} else
			*cause =
			    xasprintf("%s: cannot read the case store: %s", path, err ? err : "?");
		sqlite3_free(err);
		casestore_close(cs);
		return NULL;
	}
	sqlite3_set_authorizer(cs->db, casestore_authorize, cs);
	cs->dev = sb.st_dev;
	cs->ino = sb.st_ino;
	casestore_changed(cs, &(bool){false}, &(bool){false});
	return cs;
}

/* Close the case store. */
void
casestore_close(struct casestore *cs)
{
	if (cs == NULL)
		return;
	casestore_pg_close(cs);
	free(cs->change_query);
	free(cs->change_token);
	sqlite3_close(cs->db);
	free(cs->path);
	free(cs);
}

/* The path the case store was opened from. */
const char *
casestore_path(const struct casestore *cs)
{
	return cs->path;
}

/* Is the rest of a statement only whitespace and comments? */
static bool
casestore_only_comments(sqlite3 *db, const char *tail)
{
	sqlite3_stmt *st = NULL;
	const char *next = NULL;

	while (tail != NULL && *tail != '\0') {
		if (sqlite3_prepare_v2(db, tail, -1, &st, &next) != SQLITE_OK)
			return false;
		if (st != NULL) {
			sqlite3_finalize(st);
			return false;
		}
		if (next == tail)
			break;
		tail = next;
	}
	return true;
}

/* Prepare a rule query: one statement, reads only. */
sqlite3_stmt *
casestore_prepare(struct casestore *cs, const char *sql, char **cause)
{
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	int rc;

	cs->restricted = true;
	cs->denied = 0;
	cs->schema_write = false;
	rc = sqlite3_prepare_v2(cs->db, sql, -1, &st, &tail);
	if (rc != SQLITE_OK) {
		if (cs->denied != 0)
			*cause = xasprintf("the query may only read (SELECT), but it uses %s",
			                   casestore_action_name(cs->denied));
		else if (cs->schema_write)
			*cause = xstrdup("the query may only read (SELECT), but it uses CREATE or "
			                 "DROP (it changes the schema)");
		else
			*cause = xasprintf("the query does not compile against %s: %s", cs->path,
			                   sqlite3_errmsg(cs->db));
		cs->restricted = false;
		return NULL;
	}
	if (st == NULL) {
		*cause = xstrdup("the query is empty");
		cs->restricted = false;
		return NULL;
	}
	if (!casestore_only_comments(cs->db, tail)) {
		*cause = xstrdup(CASESTORE_NOT_ONE_STATEMENT);
		sqlite3_finalize(st);
		cs->restricted = false;
		return NULL;
	}
	cs->restricted = false;
	if (!sqlite3_stmt_readonly(st) || sqlite3_column_count(st) == 0) {
		*cause = xstrdup(CASESTORE_NOT_A_READ);
		sqlite3_finalize(st);
		return NULL;
	}
	/* Only the clock's parameters are bound: any other would silently be NULL. */
	for (int i = 1; i <= sqlite3_bind_parameter_count(st); i++) {
		const char *name = sqlite3_bind_parameter_name(st, i);

		if (name == NULL || (strcmp(name, ":today") != 0 && strcmp(name, ":now") != 0)) {
			*cause = casestore_param_cause(name != NULL ? name : "?", -1);
			sqlite3_finalize(st);
			return NULL;
		}
	}
	return st;
}

/* A parameter other than the clock's: it would silently be NULL, so the query is refused. */
char *
casestore_param_cause(const char *name, int len)
{
	return xasprintf("the query uses the parameter %.*s; only :today (the date evaluated as "
	                 "of, \"YYYY-MM-DD\") and :now (\"YYYY-MM-DD HH:MM:SS\") are given a "
	                 "value",
	                 len < 0 ? (int)strlen(name) : len, name);
}

/* The date and time the next queries are evaluated as of (:today, :now). */
void
casestore_set_clock(struct casestore *cs, localtime_min_t now)
{
	char date[DATE_STRLEN], dt[DATETIME_STRLEN];

	date_format((date_t)(now / 1440), date);
	localtime_format(now, dt);
	snprintf(cs->today, sizeof cs->today, "%s", date);
	/* SQLite's date functions read "YYYY-MM-DD HH:MM:SS" (a space rather than a T). */
	snprintf(cs->now, sizeof cs->now, "%s", dt);
	if (strlen(cs->now) > 10)
		cs->now[10] = ' ';
}

/* Compile a rule query and return its column names. */
int
casestore_compile(void *arg, const char *sql, char ***columns, size_t *ncolumns, char **cause)
{
	struct casestore *cs = arg;
	sqlite3_stmt *st;
	int n;

	if (cs->pg != NULL)
		return casestore_pg_compile(cs, sql, columns, ncolumns, cause);
	if ((st = casestore_prepare(cs, sql, cause)) == NULL)
		return -1;
	n = sqlite3_column_count(st);
	*columns = xcalloc((size_t)n, sizeof **columns);
	for (int i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		(*columns)[i] = xstrdup(name ? name : "");
	}
	*ncolumns = (size_t)n;
	sqlite3_finalize(st);
	return 0;
}

/* Has change_query's value moved since the last call? A failure counts as a change. */
static bool
casestore_token_moved(struct casestore *cs)
{
	struct casestore_rows *q;
	char *cause = NULL, *token = NULL;
	bool moved;

	if ((q = casestore_query(cs, cs->change_query, &cause)) != NULL) {
		int rc = casestore_rows_next(q, &cause);

		if (rc >= 0) {
			const char *v = rc == 1 ? casestore_rows_text(q, 0) : NULL;

			token = xstrdup(v ? v : "");
		}
		casestore_rows_free(q);
	}
	free(cause);
	if (token == NULL)
		return true;
	moved = cs->change_token == NULL || strcmp(token, cs->change_token) != 0;
	free(cs->change_token);
	cs->change_token = token;
	return moved;
}

/*
 * Watch changes by change_query. Its value now is the baseline, read before
 * the first pass: a load between that pass and the first poll is then seen.
 */
void
casestore_set_change_query(struct casestore *cs, const char *sql)
{
	free(cs->change_query);
	cs->change_query = sql ? xstrdup(sql) : NULL;
	free(cs->change_token);
	cs->change_token = NULL;
	if (sql != NULL)
		(void)casestore_token_moved(cs);
}

/* Has the case store changed since the last call? */
bool
casestore_changed(struct casestore *cs, bool *replaced, bool *missing)
{
	sqlite3_stmt *st;
	struct stat sb;
	long long v = -1;

	*replaced = *missing = false;
	/*
	 * PostgreSQL: no file to watch. With change_query, its value tells; without,
	 * every poll counts as a change and re-evaluates (alerts are owed once all the
	 * same).
	 */
	if (cs->pg != NULL)
		return cs->change_query == NULL || casestore_token_moved(cs);
	if (stat(cs->path, &sb) != 0) {
		*missing = true;
		return false;
	}
	if (sb.st_dev != cs->dev || sb.st_ino != cs->ino) {
		*replaced = true;
		return true;
	}
	if (cs->immutable) {
		/*
		 * SQLite assumes an immutable file never changes: any change to it or to its
		 * -wal (a writer opened it in place) is a new file to reopen.
		 */
		struct casestore_stamp file, wal;
		char *walpath = xasprintf("%s-wal", cs->path);

		casestore_stamp(cs->path, &file);
		casestore_stamp(walpath, &wal);
		free(walpath);
		if (casestore_stamp_differs(&file, &cs->file) ||
		    casestore_stamp_differs(&wal, &cs->wal)) {
			*replaced = true;
			return true;
		}
		return false;
	}
	if (cs->change_query != NULL)
		return casestore_token_moved(cs);
	if (sqlite3_prepare_v2(cs->db, "PRAGMA data_version", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	if (v != cs->data_version) {
		cs->data_version = v;
		return true;
	}
	return false;
}

/* Did the last operation fail because another process holds the case store? */
bool
casestore_busy(const struct casestore *cs)
{
	int rc;

	if (cs->pg != NULL)
		return false; /* readers never wait for writers there */
	rc = sqlite3_errcode(cs->db);
	return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* One read snapshot: BEGIN, then the first read takes SQLite's read lock and keeps it. */
int
casestore_read_begin(struct casestore *cs, char **cause)
{
	char *err = NULL;

	if (cs->pg != NULL)
		return casestore_pg_read_begin(cs, cause);
	if (sqlite3_exec(cs->db, "BEGIN", NULL, NULL, &err) != SQLITE_OK) {
		*cause = xasprintf("cannot start a read of %s: %s", cs->path,
		                   err ? err : sqlite3_errmsg(cs->db));
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

void
casestore_read_end(struct casestore *cs)
{
	if (cs->pg != NULL)
		casestore_pg_read_end(cs);
	else if (!sqlite3_get_autocommit(cs->db))
		sqlite3_exec(cs->db, "COMMIT", NULL, NULL, NULL);
}
