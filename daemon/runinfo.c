/* runinfo.c - what the service records about itself, for status and preview. */
#include "runinfo.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "statestore_impl.h"
#include "xalloc.h"

/* Set meta key to value. */
int
runinfo_set(struct statestore *ss, const char *key, const char *value, char **cause)
{
	struct dbstmt *st;
	int rc;

	if (!statestore_records(ss))
		return 0;
	if (db_prepare(ss->db,
	               "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE "
	               "SET value = excluded.value",
	               &st) != DB_OK)
		return statestore_fail(ss, cause, "recording what the service runs");
	db_bind_text(st, 1, key, -1, DB_STATIC);
	db_bind_text(st, 2, value, -1, DB_STATIC);
	rc = db_step(st);
	db_finalize(st);
	if (rc != DB_DONE)
		return statestore_fail(ss, cause, "recording what the service runs");
	return 0;
}

/* The JSON value of meta key, or NULL. */
int
runinfo_get(struct statestore *ss, const char *key, json_t **value, char **cause)
{
	struct dbstmt *st;
	json_error_t err;
	int rc;

	*value = NULL;
	if (ss->db == NULL)
		return 0;
	if (db_prepare(ss->db, "SELECT value FROM meta WHERE key = ?", &st) != DB_OK)
		return statestore_fail(ss, cause, "reading what the service runs");
	db_bind_text(st, 1, key, -1, DB_STATIC);
	rc = db_step(st);
	if (rc == DB_ROW)
		*value = json_loads(db_column_text(st, 0), 0, &err);
	db_finalize(st);
	if (rc != DB_ROW && rc != DB_DONE)
		return statestore_fail(ss, cause, "reading what the service runs");
	return 0;
}

/* The SHA-256 of data[0..n) as lower-case hex. */
static void
runinfo_sha256_hex(const void *data, size_t n, char hex[RUNINFO_SHA256_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Read a whole file; NULL with errno set. Its length in *n, its status in *sb. */
static char *
runinfo_read(const char *path, size_t *n, struct stat *sb)
{
	FILE *f = fopen(path, "r");
	char *text;

	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), sb) != 0) {
		int e = errno;

		fclose(f);
		errno = e;
		return NULL;
	}
	text = xmalloc((size_t)sb->st_size + 1);
	*n = fread(text, 1, (size_t)sb->st_size, f);
	text[*n] = '\0';
	fclose(f);
	return text;
}

/* The SHA-256 of the file at path now, as runinfo_loaded records it. */
int
runinfo_sha256_file(const char *path, char hex[RUNINFO_SHA256_HEX])
{
	struct stat sb;
	size_t n;
	char *text = runinfo_read(path, &n, &sb);

	if (text == NULL)
		return -1;
	runinfo_sha256_hex(text, n, hex);
	free(text);
	return 0;
}

/* {"file", "mtime", "sha256", "text"} for one file, or an object with "error". */
static json_t *
runinfo_file(const char *path)
{
	json_t *o = json_pack("{s:s}", "file", path), *t;
	char hex[RUNINFO_SHA256_HEX];
	struct stat sb;
	size_t n = 0;
	char *text = runinfo_read(path, &n, &sb);

	if (text == NULL) {
		json_object_set_new(o, "error", json_string(strerror(errno)));
		return o;
	}
	runinfo_sha256_hex(text, n, hex);
	json_object_set_new(o, "mtime", json_integer((json_int_t)sb.st_mtime));
	json_object_set_new(o, "sha256", json_string(hex));
	/* Not UTF-8 (libconfig does not care): kept out rather than mangled. */
	t = json_stringn(text, n);
	json_object_set_new(o, "text", t != NULL ? t : json_null());
	free(text);
	return o;
}

/* Record what e has loaded. */
int
runinfo_loaded(struct statestore *ss, const struct engine *e, time_t at, char **cause)
{
	const struct config *cfg = engine_config(e);
	const struct ruleset *rs = engine_rules(e);
	json_t *o = json_object(), *rules = json_array(), *hol = json_array();
	char *text;
	int rc;

	json_object_set_new(o, "at", json_integer((json_int_t)at));
	json_object_set_new(o, "config", json_string(cfg->path));
	json_object_set_new(o, "rules_dir", json_string(cfg->rules_dir));
	for (size_t i = 0; i < rs->nfiles; i++)
		json_array_append_new(rules, runinfo_file(rs->files[i]));
	for (size_t i = 0; i < cfg->nholidays; i++)
		json_array_append_new(hol, runinfo_file(cfg->holidays[i]));
	json_object_set_new(o, "rules", rules);
	json_object_set_new(o, "holidays", hol);
	json_object_set_new(o, "nrules", json_integer((json_int_t)rs->nrules));
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (text == NULL) {
		*cause = xstrdup("cannot encode the files loaded as JSON");
		return -1;
	}
	rc = runinfo_set(ss, RUNINFO_LOADED, text, cause);
	free(text);
	return rc;
}

/* Record a pass that ended whole. */
int
runinfo_pass(struct statestore *ss, const char *why, time_t started, double seconds,
             const struct evaluate_stats *st, char **cause)
{
	json_t *o = json_pack("{s:s, s:I, s:f, s:I, s:I, s:I, s:I, s:I}", "why", why, "started",
	                      (json_int_t)started, "seconds", seconds, "clocks",
	                      (json_int_t)st->clocks, "alerts", (json_int_t)st->alerts,
	                      "skipped_rows", (json_int_t)st->skipped_rows, "failed_rules",
	                      (json_int_t)st->failed_rules, "closed", (json_int_t)st->closed);
	char *text = json_dumps(o, JSON_COMPACT);
	int rc;

	json_decref(o);
	if (text == NULL) {
		*cause = xstrdup("cannot encode the pass as JSON");
		return -1;
	}
	rc = runinfo_set(ss, RUNINFO_LAST_PASS, text, cause);
	free(text);
	return rc;
}
