/*
 * db_pg.c - db.h on PostgreSQL, through libpq, and what both PostgreSQL
 * stores share: reading the URL (never a password in it), connecting, and
 * saying why a connection failed in words an admin acts on.
 *
 * A statement's ?N parameters become $N, and SQLite's index hints (NOT
 * INDEXED, INDEXED BY name) are dropped. A statement kept for the
 * connection's life is prepared on the server (named) the first time it runs;
 * any other is sent with its values each time. Values go as text, their types
 * inferred by the server from where they stand, so a parameter whose type
 * nothing around it decides needs a CAST in the SQL (which SQLite ignores).
 */
#include "db.h"
#include "db_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "xalloc.h"

bool
db_pg_is_url(const char *s)
{
	return strncmp(s, "postgresql://", 13) == 0 || strncmp(s, "postgres://", 11) == 0;
}

#ifndef ESCALATOR_HAVE_LIBPQ

struct db *
db_pg_connect(const char *url, const char *what, char **cause)
{
	(void)url;
	*cause = xasprintf("%s: this escalatord was built without PostgreSQL (libpq): rebuild "
	                   "with -DESCALATOR_POSTGRESQL=ON, or use an SQLite file",
	                   what);
	return NULL;
}

/* Never called: no db is ever on PostgreSQL in this build. */
void
db_pg_close(struct db_pg *pg)
{
	(void)pg;
}
int
db_pg_prepare(struct db *db, const char *sql, struct dbstmt *st, bool kept)
{
	(void)db;
	(void)sql;
	(void)st;
	(void)kept;
	return DB_ERROR;
}
int
db_pg_exec(struct db *db, const char *sql, char **err)
{
	(void)db;
	(void)sql;
	(void)err;
	return DB_ERROR;
}
const char *
db_pg_errmsg(struct db *db)
{
	(void)db;
	return "no PostgreSQL in this build";
}
long long
db_pg_changes(struct db *db)
{
	(void)db;
	return 0;
}
bool
db_pg_in_transaction(struct db *db)
{
	(void)db;
	return false;
}
bool
db_pg_transaction_failed(struct db *db)
{
	(void)db;
	return false;
}
int
db_pg_reconnect(struct db *db, char **cause)
{
	(void)db;
	*cause = xstrdup("no PostgreSQL in this build");
	return -1;
}
bool
db_pg_connected(struct db *db)
{
	(void)db;
	return false;
}
long long
db_pg_stmt_changes(struct dbstmt *st)
{
	(void)st;
	return 0;
}
int
db_pg_step(struct dbstmt *st)
{
	(void)st;
	return DB_ERROR;
}
int
db_pg_reset(struct dbstmt *st)
{
	(void)st;
	return DB_OK;
}
void
db_pg_clear_bindings(struct dbstmt *st)
{
	(void)st;
}
void
db_pg_finalize(struct dbstmt *st)
{
	(void)st;
}
int
db_pg_bind(struct dbstmt *st, int i, const char *text, int n)
{
	(void)st;
	(void)i;
	(void)text;
	(void)n;
	return DB_ERROR;
}
int
db_pg_bind_int64(struct dbstmt *st, int i, long long v)
{
	(void)st;
	(void)i;
	(void)v;
	return DB_ERROR;
}
const char *
db_pg_column_text(struct dbstmt *st, int i)
{
	(void)st;
	(void)i;
	return NULL;
}
long long
db_pg_column_int64(struct dbstmt *st, int i)
{
	(void)st;
	(void)i;
	return 0;
}
bool
db_pg_column_null(struct dbstmt *st, int i)
{
	(void)st;
	(void)i;
	return true;
}
int
db_pg_parameter_count(struct dbstmt *st)
{
	(void)st;
	return 0;
}

#else

#include <libpq-fe.h>

#define DB_PG_TEXT 25 /* the type oid of text (pg_type.h) */

struct db_pg {
	PGconn *conn;
	char *shown;              /* the URL as messages name it */
	char *err;                /* the last error's first line */
	long long changes;        /* rows the last INSERT, UPDATE or DELETE changed */
	unsigned long named;      /* server-side statements prepared so far: their names */
	unsigned long generation; /* sessions since the first (db_pg_reconnect) */
};

struct db_pgstmt {
	struct db *db;
	char *sql;                /* with $N */
	char name[24];            /* kept: its server-side name once prepared, "" before */
	unsigned long generation; /* the session it was prepared in */
	bool kept;
	int nparams;   /* the highest N */
	char **values; /* nparams, owned; NULL is SQL NULL */
	Oid *types;    /* nparams: 0 (the server infers it), or text for one the SQL never uses */
	PGresult *res; /* the result being walked, or NULL before the statement ran */
	int row;       /* the current row (res), -1 before the first */
};

char *
db_pg_message(const char *msg)
{
	size_t n;

	if (msg == NULL || *msg == '\0')
		return xstrdup("(no message)");
	if (strncmp(msg, "ERROR:  ", 8) == 0)
		msg += 8;
	else if (strncmp(msg, "FATAL:  ", 8) == 0)
		msg += 8;
	n = strcspn(msg, "\n");
	return xasprintf("%.*s", (int)n, msg);
}

static const char *
db_pg_option(PQconninfoOption *opts, const char *name)
{
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, name) == 0 && o->val != NULL && o->val[0] != '\0')
			return o->val;
	return NULL;
}

/*
 * Why the connection failed, in words an admin acts on; libpq's own first
 * line at the end (it names the host, port or socket tried).
 */
static char *
db_pg_connect_cause(const char *shown, const char *to, PGconn *conn, const char *user)
{
	const char *msg = PQerrorMessage(conn);
	char *first = db_pg_message(msg), *out;
	const char *why;

	if (strstr(msg, "password authentication failed") != NULL)
		why = "the server refused the password: check that the passfile the URL names "
		      "(passfile=..., mode 0600) holds this user's password";
	else if (strstr(msg, "no password supplied") != NULL)
		why = "the server wants a password and none was found: add passfile=/path/to/file "
		      "(mode 0600, lines host:port:database:user:password) to the URL";
	else if (strstr(msg, "Connection refused") != NULL)
		why = "nothing is listening there: is PostgreSQL running, and listening on that "
		      "address and port?";
	else if (strstr(msg, "No such file or directory") != NULL)
		why = "no server socket there: is PostgreSQL running, and is host= its socket "
		      "directory?";
	else if (strstr(msg, "does not exist") != NULL)
		why = "the server has no such database or role";
	else
		why = "the connection failed";
	out = xasprintf("%s: cannot connect to %s as %s: %s (%s)", shown, to,
	                user ? user : "the default user", why, first);
	free(first);
	return out;
}

void *
db_pg_open_conn(const char *url, const char *what, const char *to, char **shown, char **cause)
{
	PQconninfoOption *opts;
	char *err = NULL;
	const char *host, *port, *dbname, *user;
	PGconn *conn;

	if ((opts = PQconninfoParse(url, &err)) == NULL) {
		char *first = db_pg_message(err);

		*cause = xasprintf("%s: not a PostgreSQL URL libpq can read: %s", what, first);
		free(first);
		PQfreemem(err);
		return NULL;
	}
	if (db_pg_option(opts, "password") != NULL) {
		*cause = xasprintf("%s: the URL holds a password; secrets never go in the "
		                   "configuration: remove it and add passfile=/path/to/file (mode "
		                   "0600) to the URL instead",
		                   what);
		PQconninfoFree(opts);
		return NULL;
	}
	host = db_pg_option(opts, "host");
	port = db_pg_option(opts, "port");
	dbname = db_pg_option(opts, "dbname");
	user = db_pg_option(opts, "user");
	/* The URL as messages name it: never a password (there is none), nor other options. */
	*shown = xasprintf("postgresql://%s%s%s%s%s/%s", user ? user : "", user ? "@" : "",
	                   host && host[0] != '/' ? host : "", port ? ":" : "", port ? port : "",
	                   dbname ? dbname : "");
	{
		/*
		 * TCP keepalives unless the URL says otherwise (it comes last, and
		 * overrides): a connection cut without a word is found dead in
		 * about 15 seconds, not the kernel's two hours.
		 */
		static const char *const keys[] = {"keepalives",
		                                   "keepalives_idle",
		                                   "keepalives_interval",
		                                   "keepalives_count",
		                                   "tcp_user_timeout",
		                                   "dbname",
		                                   NULL};
		const char *values[] = {"1", "5", "2", "3", "15000", url, NULL};

		conn = PQconnectdbParams(keys, values, 1);
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		*cause = db_pg_connect_cause(*shown, to, conn, user);
		PQfinish(conn);
		PQconninfoFree(opts);
		free(*shown);
		*shown = NULL;
		return NULL;
	}
	PQconninfoFree(opts);
	return conn;
}

/*
 * Set a state-store session up: messages in English whatever the server's
 * locale (if the role may), ISO dates, named in pg_stat_activity; and the
 * server's own keepalives, so that the server drops the session (and the
 * lead it holds) of a node cut off without a word. NULL, or why not (free).
 */
static char *
db_pg_session(PGconn *conn)
{
	static const char base[] =
	    "SET application_name = 'escalatord'; SET DateStyle = 'ISO'; "
	    "SET client_min_messages = 'warning'; SET tcp_keepalives_idle = 5; "
	    "SET tcp_keepalives_interval = 2; SET tcp_keepalives_count = 3";
	PGresult *res = PQexec(conn, base);
	char *why = NULL;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		why = db_pg_message(PQresultErrorMessage(res));
	PQclear(res);
	/* lc_messages needs a superuser on some servers: not worth failing for. */
	if (why == NULL)
		PQclear(PQexec(conn, "SET lc_messages = 'C'"));
	return why;
}

struct db *
db_pg_connect(const char *url, const char *what, char **cause)
{
	char *shown = NULL, *why;
	PGconn *conn = db_pg_open_conn(url, what, "the state store", &shown, cause);
	struct db *db;

	if (conn == NULL)
		return NULL;
	if ((why = db_pg_session(conn)) != NULL) {
		*cause = xasprintf("%s: cannot set the session up: %s", shown, why);
		free(why);
		PQfinish(conn);
		free(shown);
		return NULL;
	}
	db = xcalloc(1, sizeof *db);
	db->pg = xcalloc(1, sizeof *db->pg);
	db->pg->conn = conn;
	db->pg->shown = shown;
	return db;
}

int
db_pg_reconnect(struct db *db, char **cause)
{
	struct db_pg *pg = db->pg;
	char *why;

	PQreset(pg->conn);
	if (PQstatus(pg->conn) != CONNECTION_OK) {
		why = db_pg_message(PQerrorMessage(pg->conn));
		*cause = xasprintf("%s: cannot connect again: %s", pg->shown, why);
		free(why);
		return -1;
	}
	/* A new session: its statements are prepared again when next run. */
	pg->generation++;
	if ((why = db_pg_session(pg->conn)) != NULL) {
		*cause = xasprintf("%s: cannot set the session up: %s", pg->shown, why);
		free(why);
		return -1;
	}
	return 0;
}

bool
db_pg_connected(struct db *db)
{
	return PQstatus(db->pg->conn) == CONNECTION_OK;
}

const char *
db_pg_shown(const struct db *db)
{
	return db->pg->shown;
}

void *
db_pg_conn(const struct db *db)
{
	return db->pg->conn;
}

void
db_pg_close(struct db_pg *pg)
{
	PQfinish(pg->conn);
	free(pg->shown);
	free(pg->err);
	free(pg);
}

static void
db_pg_set_error(struct db_pg *pg, const char *msg)
{
	free(pg->err);
	pg->err = db_pg_message(msg);
}

size_t
db_pg_skip(const char *sql, size_t i, size_t n)
{
	char c = sql[i];

	if (c == '\'' || c == '"') { /* a literal or a quoted name, doubled quotes inside */
		size_t j = i + 1;

		while (j < n && !(sql[j] == c && sql[j + 1] != c))
			j += sql[j] == c ? 2 : 1;
		return j < n ? j + 1 : n;
	}
	if (c == '-' && sql[i + 1] == '-')
		return i + strcspn(sql + i, "\n");
	if (c == '/' && sql[i + 1] == '*') {
		const char *end = strstr(sql + i + 2, "*/");

		return end ? (size_t)(end - sql) + 2 : n;
	}
	return i;
}

/* sql with ?N (or ?) as $N, outside quotes and comments; *nparams the highest N. */
static char *
db_pg_translate(const char *sql, int *nparams, Oid **types)
{
	size_t n = strlen(sql), o = 0;
	char *out = xmalloc(3 * n + 1);
	int next = 1, max = 0;
	unsigned char used[100] = {0}; /* (SQLite allows ?1..?99 in these statements) */

	for (size_t i = 0; i < n;) {
		char c = sql[i];
		size_t j = db_pg_skip(sql, i, n);

		if (j > i) { /* copied as it is */
			memcpy(out + o, sql + i, j - i);
			o += j - i;
			i = j;
		} else if ((c == 'N' || c == 'n') && (i == 0 || sql[i - 1] == ' ') &&
		           strncasecmp(sql + i, "NOT INDEXED", 11) == 0 &&
		           (sql[i + 11] == ' ' || sql[i + 11] == '\0')) {
			i += 11; /* SQLite's hint to scan in rowid order: PostgreSQL plans on its
			            own */
		} else if ((c == 'I' || c == 'i') && (i == 0 || sql[i - 1] == ' ') &&
		           strncasecmp(sql + i, "INDEXED BY ", 11) == 0) {
			i += 11; /* and its hint to use an index, with the index's name */
			while (i < n && sql[i] != ' ')
				i++;
		} else if (c == '?') {
			int k = 0;

			i++;
			if (sql[i] >= '0' && sql[i] <= '9')
				while (sql[i] >= '0' && sql[i] <= '9')
					k = 10 * k + (sql[i++] - '0');
			else
				k = next;
			next = k + 1;
			if (k > max)
				max = k;
			if (k < (int)sizeof used)
				used[k] = 1;
			o += (size_t)sprintf(out + o, "$%d", k);
		} else
			out[o++] = sql[i++];
	}
	out[o] = '\0';
	*nparams = max;
	/* A parameter bound but never used: PostgreSQL cannot infer its type, so say text. */
	*types = xcalloc((size_t)max + 1, sizeof **types);
	for (int k = 1; k <= max; k++)
		if (k >= (int)sizeof used || !used[k])
			(*types)[k - 1] = DB_PG_TEXT;
	return out;
}

int
db_pg_prepare(struct db *db, const char *sql, struct dbstmt *st, bool kept)
{
	struct db_pgstmt *p = xcalloc(1, sizeof *p);

	p->db = db;
	p->kept = kept;
	p->sql = db_pg_translate(sql, &p->nparams, &p->types);
	p->values = xcalloc((size_t)p->nparams + 1, sizeof *p->values);
	p->row = -1;
	st->pg = p;
	return DB_OK;
}

int
db_pg_exec(struct db *db, const char *sql, char **err)
{
	PGresult *res = PQexec(db->pg->conn, sql);
	ExecStatusType s = PQresultStatus(res);

	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY) {
		if (*PQcmdTuples(res) != '\0')
			db->pg->changes = strtoll(PQcmdTuples(res), NULL, 10);
		PQclear(res);
		return DB_OK;
	}
	db_pg_set_error(db->pg, PQresultErrorMessage(res));
	if (err != NULL)
		*err = xstrdup(db->pg->err);
	PQclear(res);
	return DB_ERROR;
}

const char *
db_pg_errmsg(struct db *db)
{
	if (PQstatus(db->pg->conn) == CONNECTION_BAD && db->pg->err == NULL)
		return "the connection to PostgreSQL was lost";
	return db->pg->err ? db->pg->err : "no error";
}

long long
db_pg_changes(struct db *db)
{
	return db->pg->changes;
}

bool
db_pg_in_transaction(struct db *db)
{
	PGTransactionStatusType t = PQtransactionStatus(db->pg->conn);

	return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

bool
db_pg_transaction_failed(struct db *db)
{
	return PQtransactionStatus(db->pg->conn) == PQTRANS_INERROR;
}

long long
db_pg_stmt_changes(struct dbstmt *st)
{
	return st->pg->db->pg->changes;
}

int
db_pg_step(struct dbstmt *st)
{
	struct db_pgstmt *p = st->pg;
	struct db_pg *pg = p->db->pg;
	ExecStatusType s;

	if (p->res == NULL) {
		const char *const *values = (const char *const *)p->values;

		if (p->kept && (p->name[0] == '\0' || p->generation != pg->generation)) {
			char name[24];
			PGresult *r;

			snprintf(name, sizeof name, "esc%lu", ++pg->named);
			r = PQprepare(pg->conn, name, p->sql, p->nparams, p->types);
			if (PQresultStatus(r) != PGRES_COMMAND_OK) {
				db_pg_set_error(pg, PQresultErrorMessage(r));
				PQclear(r);
				return DB_ERROR;
			}
			PQclear(r);
			memcpy(p->name, name, sizeof name);
			p->generation = pg->generation;
		}
		if (p->kept)
			p->res =
			    PQexecPrepared(pg->conn, p->name, p->nparams, values, NULL, NULL, 0);
		else
			p->res = PQexecParams(pg->conn, p->sql, p->nparams, p->types, values, NULL,
			                      NULL, 0);
		s = PQresultStatus(p->res);
		if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK) {
			db_pg_set_error(pg, PQresultErrorMessage(p->res));
			return DB_ERROR;
		}
		if (*PQcmdTuples(p->res) != '\0' && strncmp(PQcmdStatus(p->res), "SELECT", 6) != 0)
			pg->changes = strtoll(PQcmdTuples(p->res), NULL, 10);
		p->row = -1;
	} else if (PQresultStatus(p->res) != PGRES_COMMAND_OK &&
	           PQresultStatus(p->res) != PGRES_TUPLES_OK)
		return DB_ERROR;
	if (++p->row < PQntuples(p->res))
		return DB_ROW;
	p->row = PQntuples(p->res);
	return DB_DONE;
}

int
db_pg_reset(struct dbstmt *st)
{
	PQclear(st->pg->res);
	st->pg->res = NULL;
	st->pg->row = -1;
	return DB_OK;
}

void
db_pg_clear_bindings(struct dbstmt *st)
{
	for (int i = 0; i < st->pg->nparams; i++) {
		free(st->pg->values[i]);
		st->pg->values[i] = NULL;
	}
}

void
db_pg_finalize(struct dbstmt *st)
{
	struct db_pgstmt *p = st->pg;

	db_pg_reset(st);
	db_pg_clear_bindings(st);
	if (p->name[0] != '\0' && p->generation == p->db->pg->generation &&
	    PQstatus(p->db->pg->conn) == CONNECTION_OK) {
		char *sql = xasprintf("DEALLOCATE %s", p->name);

		PQclear(PQexec(p->db->pg->conn, sql));
		free(sql);
	}
	free(p->values);
	free(p->types);
	free(p->sql);
	free(p);
}

int
db_pg_bind(struct dbstmt *st, int i, const char *text, int n)
{
	struct db_pgstmt *p = st->pg;

	if (i < 1 || i > p->nparams)
		return DB_ERROR;
	free(p->values[i - 1]);
	p->values[i - 1] = text == NULL ? NULL : n < 0 ? xstrdup(text) : xasprintf("%.*s", n, text);
	return DB_OK;
}

int
db_pg_bind_int64(struct dbstmt *st, int i, long long v)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%lld", v);
	return db_pg_bind(st, i, buf, -1);
}

const char *
db_pg_column_text(struct dbstmt *st, int i)
{
	struct db_pgstmt *p = st->pg;

	if (p->res == NULL || p->row < 0 || p->row >= PQntuples(p->res) ||
	    PQgetisnull(p->res, p->row, i))
		return NULL;
	return PQgetvalue(p->res, p->row, i);
}

long long
db_pg_column_int64(struct dbstmt *st, int i)
{
	const char *v = db_pg_column_text(st, i);

	return v ? strtoll(v, NULL, 10) : 0;
}

bool
db_pg_column_null(struct dbstmt *st, int i)
{
	return db_pg_column_text(st, i) == NULL;
}

int
db_pg_parameter_count(struct dbstmt *st)
{
	return st->pg->nparams;
}

#endif
