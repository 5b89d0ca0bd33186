/*
 * snapshot.c - the rules the running service has loaded, from its record in
 * the state store, written to a private temporary directory so that the
 * ordinary loaders (ruleset_load_dir, calendar_load_file) read them exactly
 * as the service did. Messages and rules name the files as the service
 * loaded them, never the copy.
 */
#include "snapshot.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runinfo.h"
#include "xalloc.h"

/* Write text to path, readable by this user only. Returns 0, or -1 with *cause set. */
static int
snapshot_write(const char *path, const char *text, char **cause)
{
	FILE *f = fopen(path, "wx");
	size_t n = strlen(text);

	if (f == NULL || fwrite(text, 1, n, f) != n || fclose(f) != 0) {
		*cause = xasprintf("%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The last component of path. */
static const char *
snapshot_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

/*
 * Read the files of list (the "rules" or "holidays" array) into paths and
 * texts, and write each to dir/sub/NNN-name (NNN keeps the load order).
 */
static int
snapshot_files(struct snapshot *s, json_t *list, const char *sub, char ***paths, char ***texts,
               char ***tmp, size_t *n, char **cause)
{
	size_t i, count = json_is_array(list) ? json_array_size(list) : 0;
	char *subdir = xasprintf("%s/%s", s->dir, sub);
	json_t *f;

	*paths = xcalloc(count + 1, sizeof **paths);
	*texts = xcalloc(count + 1, sizeof **texts);
	*tmp = xcalloc(count + 1, sizeof **tmp);
	if (mkdir(subdir, 0700) != 0) {
		*cause = xasprintf("%s: %s", subdir, strerror(errno));
		free(subdir);
		return -1;
	}
	json_array_foreach(list, i, f)
	{
		const char *path = json_string_value(json_object_get(f, "file"));
		const char *text = json_string_value(json_object_get(f, "text"));

		if (path == NULL || text == NULL) {
			/* Unreadable when it was recorded, or not UTF-8: the copy would differ. */
			*cause = xasprintf("the service's record of %s has no text%s%s",
			                   path != NULL ? path : "a file",
			                   json_object_get(f, "error") ? ": " : "",
			                   json_object_get(f, "error")
			                       ? json_string_value(json_object_get(f, "error"))
			                       : "");
			free(subdir);
			return -1;
		}
		(*paths)[*n] = xstrdup(path);
		(*texts)[*n] = xstrdup(text);
		(*tmp)[*n] = xasprintf("%s/%03zu-%s", subdir, i, snapshot_base(path));
		(*n)++;
		if (snapshot_write((*tmp)[*n - 1], text, cause) != 0) {
			free(subdir);
			return -1;
		}
	}
	free(subdir);
	return 0;
}

/* Read what the service loaded and write it to a private directory. */
int
snapshot_read(struct statestore *ss, struct snapshot **out, const char **why, char **cause)
{
	struct snapshot *s;
	const char *tmpdir = getenv("TMPDIR");
	json_t *loaded = NULL;

	*out = NULL;
	*why = NULL;
	if (runinfo_get(ss, RUNINFO_LOADED, &loaded, cause) != 0)
		return -1;
	if (loaded == NULL) {
		*why = "escalatord has not recorded which rules it loaded (not started since this "
		       "version was installed)";
		return 0;
	}
	s = xcalloc(1, sizeof *s);
	s->at = (time_t)json_integer_value(json_object_get(loaded, "at"));
	s->rules_dir = xstrdup_or_null(json_string_value(json_object_get(loaded, "rules_dir")));
	s->dir = xasprintf("%s/escalator-rules.XXXXXX",
	                   tmpdir != NULL && *tmpdir == '/' ? tmpdir : "/tmp");
	if (mkdtemp(s->dir) == NULL) {
		*cause = xasprintf("cannot make a private directory for the rules the service "
		                   "loaded: %s: %s",
		                   s->dir, strerror(errno));
		free(s->dir);
		s->dir = NULL;
		goto fail;
	}
	if (snapshot_files(s, json_object_get(loaded, "rules"), "rules", &s->rule_files,
	                   &s->rule_texts, &s->rule_tmp, &s->nrule_files, cause) != 0 ||
	    snapshot_files(s, json_object_get(loaded, "holidays"), "holidays", &s->holidays,
	                   &s->holiday_texts, &s->holiday_tmp, &s->nholidays, cause) != 0)
		goto fail;
	json_decref(loaded);
	*out = s;
	return 1;
fail:
	json_decref(loaded);
	snapshot_free(s);
	return -1;
}

/* text with every copy's path replaced by the file's own. Allocated. */
static char *
snapshot_unmap(const struct snapshot *s, const char *text)
{
	char *out = xstrdup(text), *p, *next;

	for (size_t k = 0; k < s->nrule_files + s->nholidays; k++) {
		const char *from =
		    k < s->nrule_files ? s->rule_tmp[k] : s->holiday_tmp[k - s->nrule_files];
		const char *to =
		    k < s->nrule_files ? s->rule_files[k] : s->holidays[k - s->nrule_files];

		while ((p = strstr(out, from)) != NULL) {
			next = xasprintf("%.*s%s%s", (int)(p - out), out, to, p + strlen(from));
			free(out);
			out = next;
		}
	}
	return out;
}

/* Append src's messages to d, naming the files as the service loaded them. */
static void
snapshot_merge(const struct snapshot *s, struct diag *d, const struct diag *src)
{
	for (size_t i = 0; i < src->n; i++) {
		char *text = snapshot_unmap(s, src->v[i].text);

		diag_add(d, src->v[i].level, "%s", text);
		free(text);
	}
}

/* The snapshot's rules, loaded with env. */
struct ruleset *
snapshot_rules(const struct snapshot *s, const struct ruleset_env *env, struct diag *d)
{
	char *dir = xasprintf("%s/rules", s->dir);
	struct ruleset *rs;
	struct diag own;
	char *name;

	diag_init(&own);
	rs = ruleset_load_dir(dir, env, &own);
	free(dir);
	snapshot_merge(s, d, &own);
	diag_free(&own);
	if (rs == NULL)
		return NULL;
	for (size_t i = 0; i < rs->nrules; i++) {
		name = snapshot_unmap(s, rs->rules[i].file);
		free(rs->rules[i].file);
		rs->rules[i].file = name;
	}
	for (size_t i = 0; i < rs->nfiles; i++) {
		name = snapshot_unmap(s, rs->files[i]);
		free(rs->files[i]);
		rs->files[i] = name;
	}
	return rs;
}

/* Its holiday files as a calendar. */
struct calendar *
snapshot_calendar(const struct snapshot *s, struct diag *d)
{
	struct calendar *cal = calendar_new();
	struct diag own;
	int bad = 0;

	diag_init(&own);
	for (size_t i = 0; i < s->nholidays; i++)
		if (calendar_load_file(cal, s->holiday_tmp[i], &own) != 0)
			bad++;
	snapshot_merge(s, d, &own);
	diag_free(&own);
	if (bad > 0) {
		calendar_free(cal);
		return NULL;
	}
	return cal;
}

/* Free a list of n strings. */
static void
snapshot_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* Remove the private copy and free s. */
void
snapshot_free(struct snapshot *s)
{
	char *sub;

	if (s == NULL)
		return;
	for (size_t i = 0; i < s->nrule_files; i++)
		unlink(s->rule_tmp[i]);
	for (size_t i = 0; i < s->nholidays; i++)
		unlink(s->holiday_tmp[i]);
	if (s->dir != NULL) {
		sub = xasprintf("%s/rules", s->dir);
		rmdir(sub);
		free(sub);
		sub = xasprintf("%s/holidays", s->dir);
		rmdir(sub);
		free(sub);
		rmdir(s->dir);
	}
	/* A list cut short by a failure still ends where its count says. */
	snapshot_strings(s->rule_files, s->nrule_files);
	snapshot_strings(s->rule_texts, s->nrule_files);
	snapshot_strings(s->rule_tmp, s->nrule_files);
	snapshot_strings(s->holidays, s->nholidays);
	snapshot_strings(s->holiday_texts, s->nholidays);
	snapshot_strings(s->holiday_tmp, s->nholidays);
	free(s->rules_dir);
	free(s->dir);
	free(s);
}
