/*
 * statestore.h - escalator's own SQLite file (WAL): opening and closing it,
 * and its transactions. What it keeps: alertstore.h (alerts owed, stages
 * recorded, threshold keys) and queue.h (deliveries to send, their results).
 */
#ifndef ESCALATOR_STATESTORE_H
#define ESCALATOR_STATESTORE_H

#include <stdbool.h>

struct statestore;

/*
 * Open (creating if missing, WAL) the state store, bringing a file made by
 * an earlier build up to date. With readonly, an existing file is opened
 * read-only and a missing one gives an empty store that records nothing
 * (--dry-run). Returns NULL with *cause set on error.
 */
struct statestore *statestore_open(const char *path, bool readonly, char **cause);
/* Close the state store (a transaction still open is rolled back). */
void statestore_close(struct statestore *ss);

/* Does this store record anything (false for a dry run)? */
bool statestore_records(const struct statestore *ss);

/*
 * Start and end a transaction (one evaluation pass, say). They nest: inside
 * an open one, they are savepoints, and only the outermost commit writes (and
 * syncs) the file. On a read-only store, a read transaction: one snapshot.
 * When a commit fails, roll back: that ends the level the commit could not.
 */
int statestore_begin(struct statestore *ss, char **cause);
int statestore_commit(struct statestore *ss, char **cause);
void statestore_rollback(struct statestore *ss);

/*
 * Between transactions: let the next commits skip their fsync (relaxed), or
 * make them sync again. For a pass's slices: nothing they record is sent
 * before the outbox's own (synced) commit, which syncs them too; a power cut
 * before that loses only alerts that the next pass finds owed again.
 */
int statestore_relaxed(struct statestore *ss, bool relaxed, char **cause);

#endif
