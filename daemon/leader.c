/*
 * leader.c - one leader among the nodes that share a state store on
 * PostgreSQL (leader.h).
 *
 * The lock: pg_try_advisory_lock on a key from the schema and the instance's
 * name, held by the session, so it goes when the node's connection goes (the
 * process died, or the server dropped the session: the state store's sessions
 * keep TCP keepalives, db_pg.c). The epoch: the leader table's row for the
 * instance, raised by each new leader. A write transaction reads the row FOR
 * SHARE first: it fails if the epoch moved on, and a new leader's raise waits
 * until it ends, so nothing is committed under an old epoch after a new one.
 */
#include "leader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg.h"
#include "statestore_impl.h"
#include "xalloc.h"

#define LEADER_KEY "hashtext(current_schema() || ':escalator-lead:' || ?1)"

bool
leader_shared(const struct statestore *ss)
{
	return ss->db != NULL && db_is_pg(ss->db) && !ss->readonly;
}

void
leader_require(struct statestore *ss, const char *instance)
{
	ss->fenced = leader_shared(ss);
	snprintf(ss->lead, sizeof ss->lead, "%s", instance);
}

long long
leader_epoch(const struct statestore *ss)
{
	return ss->fenced ? ss->epoch : 1;
}

/* Run sql with the instance (?1) and maybe a second text (?2), third (?3); its first row. */
static int
leader_run(struct statestore *ss, const char *sql, const char *a2, const char *a3, char **v0,
           char **v1)
{
	struct dbstmt *st;
	int rc;

	if (db_prepare(ss->db, sql, &st) != DB_OK)
		return -1;
	db_bind_text(st, 1, ss->lead, -1, DB_STATIC);
	if (a2 != NULL)
		db_bind_text(st, 2, a2, -1, DB_STATIC);
	if (a3 != NULL)
		db_bind_text(st, 3, a3, -1, DB_STATIC);
	rc = db_step(st);
	if (rc == DB_ROW) {
		if (v0 != NULL)
			*v0 = statestore_col(st, 0);
		if (v1 != NULL)
			*v1 = statestore_col(st, 1);
	}
	db_finalize(st);
	return rc == DB_ROW || rc == DB_DONE ? 0 : -1;
}

int
leader_try(struct statestore *ss, const char *node, long long *epoch, char **holder, char **cause)
{
	char *got = NULL, *v = NULL, *who = NULL, now[32];

	*holder = NULL;
	if (!ss->fenced) {
		*epoch = 1;
		return 1;
	}
	if (!db_pg_connected(ss->db) && db_pg_reconnect(ss->db, cause) != 0)
		return -1;
	if (leader_run(ss, "SELECT CAST(pg_try_advisory_lock(" LEADER_KEY ") AS text)", NULL, NULL,
	               &got, NULL) != 0)
		return statestore_fail(ss, cause, "trying for the lead");
	if (got == NULL || strcmp(got, "true") != 0) {
		free(got);
		if (leader_run(ss,
		               "SELECT node, CAST(epoch AS text) FROM leader WHERE instance = ?1",
		               NULL, NULL, &who, &v) == 0 &&
		    who != NULL)
			*holder = xasprintf("%s (epoch %s)", who, v ? v : "?");
		free(who);
		free(v);
		return 0;
	}
	free(got);
	statestore_utc_now(now, sizeof now);
	if (leader_run(ss,
	               "INSERT INTO leader (instance, epoch, node, since) VALUES (?1, 1, ?2, ?3) "
	               "ON CONFLICT (instance) DO UPDATE SET epoch = leader.epoch + 1, node = "
	               "excluded.node, since = excluded.since RETURNING CAST(epoch AS text)",
	               node, now, &v, NULL) != 0 ||
	    v == NULL) {
		free(v);
		statestore_fail(ss, cause, "raising the epoch");
		leader_release(ss);
		return -1;
	}
	ss->epoch = *epoch = strtoll(v, NULL, 10);
	free(v);
	return 1;
}

int
leader_check(struct statestore *ss, char **cause)
{
	char *v = NULL;
	char *why = NULL;

	if (!ss->fenced)
		return 1;
	if (ss->epoch == 0) {
		*cause = xstrdup("this node does not lead");
		return 0;
	}
	if (leader_run(ss, "SELECT CAST(epoch AS text) FROM leader WHERE instance = ?1", NULL, NULL,
	               &v, NULL) != 0)
		why = xasprintf("the state store cannot be read: %s", db_errmsg(ss->db));
	else if (v == NULL || strtoll(v, NULL, 10) != ss->epoch)
		why = xasprintf("another node took over (epoch %s, this node's %lld)",
		                v ? v : "none", ss->epoch);
	free(v);
	if (why == NULL && db_pg_connected(ss->db))
		return 1;
	if (why == NULL)
		why = xstrdup("the connection to the state store was lost");
	ss->epoch = 0;
	ss->depth = 0;
	if (!db_pg_connected(ss->db)) {
		char *again = NULL;

		/* The lock went with the session: a new one stands by. */
		if (db_pg_reconnect(ss->db, &again) != 0) {
			*cause = xasprintf("%s; %s", why, again);
			free(again);
			free(why);
			return 0;
		}
	} else
		leader_release(ss);
	*cause = why;
	return 0;
}

void
leader_release(struct statestore *ss)
{
	if (!ss->fenced)
		return;
	if (db_pg_connected(ss->db))
		leader_run(ss, "SELECT pg_advisory_unlock_all()", NULL, NULL, NULL, NULL);
	ss->epoch = 0;
}

int
leader_fence(struct statestore *ss, char **cause)
{
	struct dbstmt *st;
	int rc;

	if (ss->epoch == 0) {
		*cause = xasprintf("this node does not lead instance %s: another node records and "
		                   "sends",
		                   ss->lead);
		return -1;
	}
	if (ss->q_fence == NULL &&
	    db_prepare_kept(ss->db,
	                    "SELECT 1 FROM leader WHERE instance = ?1 AND epoch = ?2 FOR SHARE",
	                    &ss->q_fence) != DB_OK)
		return statestore_fail(ss, cause, "checking the lead");
	st = ss->q_fence;
	db_bind_text(st, 1, ss->lead, -1, DB_STATIC);
	db_bind_int64(st, 2, ss->epoch);
	rc = db_step(st);
	db_reset(st);
	db_clear_bindings(st);
	if (rc == DB_ROW)
		return 0;
	if (rc != DB_DONE)
		return statestore_fail(ss, cause, "checking the lead");
	*cause =
	    xasprintf("lost the lead of instance %s: another node took over (this node's "
	              "epoch %lld is no longer the current one); nothing more is recorded here",
	              ss->lead, ss->epoch);
	return -1;
}
