/*
 * status_files.c - escalatord status: the rule and holiday files the service
 * loaded (as it recorded them: runinfo.h) against the files on disk now, by
 * content (SHA-256), and rule files added since.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runinfo.h"
#include "status.h"
#include "xalloc.h"

/* One file the service loaded, compared with the file on disk now. */
static json_t *
status_loaded_file(const char *kind, const json_t *f, size_t *edited)
{
	const char *path = json_string_value(json_object_get(f, "file"));
	const char *sum = json_string_value(json_object_get(f, "sha256"));
	json_t *o = json_pack("{s:s, s:s?, s:O?, s:s?}", "kind", kind, "file", path, "mtime",
	                      json_object_get(f, "mtime"), "sha256", sum);
	char hex[RUNINFO_SHA256_HEX];
	const char *state = "same";
	struct stat sb;

	if (path == NULL || stat(path, &sb) != 0 || runinfo_sha256_file(path, hex) != 0) {
		state = "missing";
		json_object_set_new(o, "now_mtime", json_null());
		json_object_set_new(o, "now_sha256", json_null());
	} else {
		json_object_set_new(o, "now_mtime", json_integer((json_int_t)sb.st_mtime));
		json_object_set_new(o, "now_sha256", json_string(hex));
		/* The content decides: a file saved unchanged (a new mtime) runs as loaded. */
		if (sum == NULL || strcmp(sum, hex) != 0)
			state = "edited";
	}
	if (strcmp(state, "same") != 0)
		(*edited)++;
	json_object_set_new(o, "state", json_string(state));
	return o;
}

/* Is a directory entry a rule file (as the rule loader reads them)? */
static int
status_is_rule_file(const struct dirent *e)
{
	size_t n = strlen(e->d_name);

	return e->d_name[0] != '.' && n > 5 && strcmp(e->d_name + n - 5, ".conf") == 0;
}

/* Are a and b the same file (by device and inode, else by name)? */
static bool
status_same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	if (strcmp(a, b) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Rule files in the rules directory now that the service has not loaded. */
static json_t *
status_new_rule_files(const char *rules_dir, const json_t *files)
{
	json_t *out = json_array();
	struct dirent **names;
	int n = scandir(rules_dir, &names, status_is_rule_file, alphasort);

	for (int i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", rules_dir, names[i]->d_name);
		bool known = false;
		size_t j;
		json_t *f;

		/* The same file, however its path was spelt (the service may have been given
		 * an absolute -c, the admin a relative one). */
		json_array_foreach(files, j, f)
		{
			if (json_is_string(json_object_get(f, "file")) &&
			    status_same_file(json_string_value(json_object_get(f, "file")), path))
				known = true;
		}
		if (!known)
			json_array_append_new(out, json_string(path));
		free(path);
		free(names[i]);
	}
	if (n >= 0)
		free(names);
	return out;
}

/* What the service loaded, against the files on disk now. */
json_t *
status_files(const json_t *l, const char *rules_dir, time_t now, size_t *edited, size_t *added)
{
	json_t *files = json_array(), *fresh, *f;
	time_t at = (time_t)json_integer_value(json_object_get(l, "at"));
	size_t i;

	*edited = 0;
	json_array_foreach(json_object_get(l, "rules"), i, f)
	    json_array_append_new(files, status_loaded_file("rules", f, edited));
	json_array_foreach(json_object_get(l, "holidays"), i, f)
	    json_array_append_new(files, status_loaded_file("holidays", f, edited));
	fresh = status_new_rule_files(rules_dir, files);
	*added = json_array_size(fresh);
	return json_pack("{s:I, s:I, s:O?, s:O?, s:O?, s:o, s:o}", "at", (json_int_t)at,
	                 "ago_seconds", (json_int_t)(now > at ? now - at : 0), "config",
	                 json_object_get(l, "config"), "rules_dir", json_object_get(l, "rules_dir"),
	                 "nrules", json_object_get(l, "nrules"), "files", files, "new_files",
	                 fresh);
}
