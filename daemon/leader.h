/*
 * leader.h - exactly one node leads: several escalatord nodes on one state
 * store on PostgreSQL, for one instance (a council). The node that holds
 * PostgreSQL's session-level advisory lock for the instance leads: it raises
 * the instance's fencing epoch in the leader table, and every write
 * transaction it begins checks the epoch is still its own (statestore_begin),
 * so a node that lost the lead cannot commit. The others stand by, their
 * rules loaded, and try for the lock again every failover_timeout / 3.
 * On SQLite there is one node: it always leads and nothing here applies.
 */
#ifndef ESCALATOR_LEADER_H
#define ESCALATOR_LEADER_H

#include <stdbool.h>

struct statestore;

/* Is the store shared by nodes that must elect a leader (PostgreSQL, written to)? */
bool leader_shared(const struct statestore *ss);
/* Make every write transaction on ss need the lead of instance (from now on). */
void leader_require(struct statestore *ss, const char *instance);

/*
 * Try to lead. 1: this node leads now (*epoch its epoch); 0: another node
 * leads (*holder "node (epoch N)" if it is known, free); -1 with *cause.
 */
int leader_try(struct statestore *ss, const char *node, long long *epoch, char **holder,
               char **cause);
/*
 * Does this node still lead? 1 yes; 0 no, or the connection is gone (*cause
 * says what happened; the lead is dropped, and the connection made again if it
 * can be).
 */
int leader_check(struct statestore *ss, char **cause);
/* Give the lead up (the lock and epoch: another node takes over at once). */
void leader_release(struct statestore *ss);
/* The epoch this node leads with, 0 when it does not. */
long long leader_epoch(const struct statestore *ss);

/* statestore_begin: is the epoch still this node's? 0, or -1 with *cause. */
int leader_fence(struct statestore *ss, char **cause);

#endif
