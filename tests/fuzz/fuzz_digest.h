/*
 * fuzz_digest.h - a digest built from a fuzz input's values, for the targets
 * that fuzz a channel's digest form (fuzz_webhook_body, fuzz_chat_payload).
 *
 * Static inline, like fuzz_common.h.
 */
#ifndef ESCALATOR_FUZZ_DIGEST_H
#define ESCALATOR_FUZZ_DIGEST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "delivery.h"
#include "fuzz_common.h"
#include "xalloc.h"

/* A copy of one of the nv values (or NULL) chosen by the generator. */
static inline char *
fuzz_pick(const char *const *v, size_t nv, uint64_t *rng)
{
	uint64_t r = fuzz_next(rng) % (nv + 1);

	return r < nv && v[r] != NULL ? xstrdup(v[r]) : NULL;
}

/*
 * Give it 0-3 answers (owned copies) of the nv values v[] chosen by rng, any
 * kind (a known one, or a value), any of them amended.
 */
static inline void
fuzz_responses(struct delivery *it, const char *const *v, size_t nv, uint64_t *rng)
{
	static const char *const kinds[] = {"acknowledged", "agreed", "disagree"};
	uint64_t flags = fuzz_next(rng);

	it->nresponses = (size_t)(flags % 4);
	it->responses = xcalloc(it->nresponses + 1, sizeof *it->responses);
	for (size_t k = 0; k < it->nresponses; k++) {
		struct delivery_response *r = &it->responses[k];
		uint64_t f = fuzz_next(rng);

		r->who = fuzz_pick(v, nv, rng);
		r->stage = fuzz_pick(v, nv, rng);
		r->kind = f % 4 < 3 ? xstrdup(kinds[f % 4]) : fuzz_pick(v, nv, rng);
		r->agreed_on = fuzz_pick(v, nv, rng);
		r->reason = fuzz_pick(v, nv, rng);
		r->note = fuzz_pick(v, nv, rng);
		r->answered_at = fuzz_pick(v, nv, rng);
		r->amended = (f >> 2) & 1;
	}
}

/*
 * An owned digest (delivery_free it) of kind to uid with nitems items, each a
 * mix of the nv values v[] (any may be NULL) and of flags chosen by rng: an
 * alert of any urgency, a copied recipient's, a notice, a closed clock; 0-3
 * history events; the fields (when an object) on some; an answer link and 0-3
 * answers (fuzz_responses).
 */
static inline struct delivery *
fuzz_digest(enum channel kind, const char *uid, const char *const *v, size_t nv, json_t *fields,
            size_t nitems, uint64_t *rng)
{
	struct delivery *d = xcalloc(1, sizeof *d);

	d->id = 9;
	d->uid = xstrdup_or_null(uid);
	d->kind = kind;
	d->recipient = xstrdup(kind == CHANNEL_GOVUK_NOTIFY ? "iro@council.example"
	                                                    : "https://hooks.council.example/x");
	d->digest = true;
	d->contact = fuzz_pick(v, nv, rng);
	d->parts = (int)(fuzz_next(rng) % 4) + 1;
	d->part = (int)(fuzz_next(rng) % (uint64_t)d->parts) + 1;
	d->items = xcalloc(nitems + 1, sizeof *d->items);
	for (size_t i = 0; i < nitems; i++) {
		struct delivery *it = xcalloc(1, sizeof *it);
		uint64_t flags = fuzz_next(rng);

		it->id = (long long)i;
		it->rule = fuzz_pick(v, nv, rng);
		it->title = fuzz_pick(v, nv, rng);
		it->case_ref = fuzz_pick(v, nv, rng);
		it->stage = fuzz_pick(v, nv, rng);
		it->label = fuzz_pick(v, nv, rng);
		it->start = fuzz_pick(v, nv, rng);
		it->due = fuzz_pick(v, nv, rng);
		it->fires = fuzz_pick(v, nv, rng);
		it->status = fuzz_pick(v, nv, rng);
		it->expected = fuzz_pick(v, nv, rng);
		it->case_url = fuzz_pick(v, nv, rng);
		/*
		 * Working days, as eval computes them: a few thousand at most. (digest.c's
		 * order subtracts two of them: INT_MIN and INT_MAX would overflow there.)
		 */
		it->days_late = (int)(fuzz_next(rng) % 200001) - 100000;
		it->urgency = (enum delivery_urgency)(flags % 3);
		it->notice = (flags >> 2) % 5 == 0;
		if ((flags >> 5) % 4 == 0) {
			it->copied = fuzz_pick(v, nv, rng);
			it->copied_on = fuzz_pick(v, nv, rng);
		}
		if ((flags >> 8) % 4 == 0) {
			it->closed = true;
			it->closed_on = fuzz_pick(v, nv, rng);
			it->closed_late = (int)(fuzz_next(rng) % 200001) - 100000;
		}
		if (fields != NULL && (flags >> 11) % 2 == 0)
			it->fields = json_incref(fields);
		it->nhistory = (size_t)((flags >> 13) % 4);
		it->history = xcalloc(it->nhistory + 1, sizeof *it->history);
		for (size_t k = 0; k < it->nhistory; k++) {
			it->history[k].stage = fuzz_pick(v, nv, rng);
			it->history[k].when = fuzz_pick(v, nv, rng);
			it->history[k].recipient = fuzz_pick(v, nv, rng);
			it->history[k].status = fuzz_pick(v, nv, rng);
			it->history[k].copied = (flags >> (15 + k)) & 1;
		}
		/* An answer link (any value: the renderers check it) and 0-3 answers. */
		it->response_link = fuzz_pick(v, nv, rng);
		fuzz_responses(it, v, nv, rng);
		d->items[d->nitems++] = it;
	}
	return d;
}

#endif
