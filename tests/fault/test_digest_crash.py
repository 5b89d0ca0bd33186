#!/usr/bin/python3
"""Fault suite: escalatord killed with SIGKILL while it sends a burst of digests.

    /usr/bin/python3 tests/fault/test_digest_crash.py --escalatord build/escalatord [-v]
        [--clocks N]    overdue clocks (default 300)
        [--contacts N]  webhook contacts told of every clock (default 30)
        [--kills N]     SIGKILLs during the burst (default 12)
        [--seed N]      random seed (printed; default: from the time)

test_digest_burst_kill9: N overdue clocks, each told to the same C webhook contacts with
digest = "daily".  The first pass after a start sends at once: one digest per contact, in parts
of the webhook's digest limit, to an HttpSink that answers after a random 0-60 ms, so digests are
in flight at any moment.  escalatord is killed with SIGKILL at random moments (during the
evaluation, while the digests are bundled, and when the receiver has seen a random number of
requests) and started again each time.  After every kill the state store is intact ("ok") and
every alert is whole (one delivery per contact).  At the end:
  - every delivery row is sent; every item is in exactly one digest (never bundled twice);
  - every (contact, case) pair reached the receiver inside a digest whose id the receiver saw,
    and the digest the receiver saw under an id holds exactly the items the state store has for
    it (so an accepted digest's items are the ones marked delivered);
  - a digest id seen more than once was in flight at that many kills (only in-flight digests
    repeat), and no digest carries more items than the channel's limit.
"""

import collections
import json
import os
import random
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402


class DigestCrashFaults(fl.FaultCase):

    def setUp(self):
        super().setUp()
        self.seed_rng()

    def test_digest_burst_kill9(self):
        n_clocks = fl.option("clocks", 300)
        n_contacts = fl.option("contacts", 30)
        n_kills = fl.option("kills", 12)
        rng = self.rng
        delay_rng = random.Random(self.seed + 1)

        def respond(req):
            time.sleep(delay_rng.uniform(0.0, 0.06))
            return 200

        sink = self.http_sink(responses=respond, idle_timeout=5)
        contacts = {"c%02d" % i: sink.url_for("/c%02d" % i) for i in range(n_contacts)}
        self.write_config(contacts, poll_interval=1, max_deliveries=16, connect_timeout=2,
                          delivery_timeout=10, retry_min=1, retry_max=2, shutdown_timeout=2,
                          digest="daily")
        self.write_rules(fl.rule_text(notify=tuple(contacts)))
        db = sqlite3.connect(self.case_store)
        db.execute("CREATE TABLE cases (case_ref TEXT, start TEXT)")
        db.executemany("INSERT INTO cases VALUES (?, ?)",
                       (("D%05d" % i, "2024-%02d-%02d" % (1 + i % 12, 1 + i % 28))
                        for i in range(n_clocks)))
        db.commit()
        db.close()

        # Calibrate: how many digest requests does a clean run make? (parts of the limit.)
        plan = [("time", rng.uniform(0.0, 0.4)) for _ in range(min(3, n_kills))]
        in_flight_at_kill = collections.Counter()
        kills = []
        expected_requests = None
        deadline = time.monotonic() + 240
        while len(kills) < n_kills:
            self.assertLess(time.monotonic(), deadline, "the kill plan took too long")
            kind, value = plan[len(kills)] if len(kills) < len(plan) else ("requests", None)
            if kind == "requests":
                # A random number of requests beyond what the receiver has seen so far.
                if expected_requests is None:
                    expected_requests = self.state_query(
                        "SELECT count(*) FROM delivery WHERE alert_id IS NULL AND closed_id IS "
                        "NULL")[0][0] if self.has_schema() else 0
                seen = sink.counters["requests"]
                value = seen + rng.randint(1, 6)
            d = self.start_daemon()
            if kind == "time":
                time.sleep(value)
            else:
                if not sink.wait_until(lambda s: s.counters["requests"] >= value, timeout=20):
                    d.kill9()
                    break  # everything went out: the burst is over
                time.sleep(rng.uniform(0.0, 0.03))
            was_running = d.alive()
            d.kill9()
            self.assertTrue(was_running, "escalatord exited by itself before the kill; log:\n%s"
                            % fl.tail(d.log()))
            if os.path.exists(self.state):
                self.assertEqual(fl.integrity_check(self.state), "ok",
                                 "state store damaged by kill %d" % (len(kills) + 1))
            if self.has_schema():
                flying = {r[0] for r in self.state_query(
                    "SELECT id FROM delivery WHERE in_flight = 1")}
                in_flight_at_kill.update(flying)
                alerts, items = self.state_query(
                    "SELECT (SELECT count(*) FROM alert), (SELECT count(*) FROM delivery WHERE "
                    "alert_id IS NOT NULL)")[0]
                self.assertEqual(items, alerts * n_contacts, "an alert without its deliveries")
                twice = self.state_query(
                    "SELECT count(*) FROM delivery WHERE alert_id IS NOT NULL AND status = "
                    "'held' AND digest_id IS NOT NULL")[0][0]
                self.assertEqual(twice, 0, "a held delivery already in a digest")
            else:
                flying = set()
            kills.append(dict(kind=kind, received=sink.counters["requests"],
                              in_flight=len(flying)))

        # Final run: everything must go out.
        d = self.start_daemon()
        self.wait_state(lambda ds: sum(1 for v in ds.values() if v["status"] == "sent") == len(ds)
                        and len(ds) >= n_clocks * n_contacts,
                        timeout=120, poll=0.5, what="every delivery sent")
        time.sleep(1.5)  # nothing else may arrive
        d.terminate()
        self.assertEqual(fl.integrity_check(self.state), "ok")

        # The state store: every item in exactly one digest, all sent.
        items = self.state_query(
            "SELECT m.id, m.recipient, a.case_ref, m.digest_id, m.status FROM delivery m JOIN "
            "alert a ON a.id = m.alert_id")
        self.assertEqual(len(items), n_clocks * n_contacts)
        self.assertTrue(all(r[3] is not None and r[4] == "sent" for r in items),
                        "an item not bundled, or not sent")
        store = collections.defaultdict(set)  # digest id -> {(contact, case)}
        for _, contact, case, digest, _ in items:
            store[digest].add((contact, case))
        instance = self.state_query("SELECT value FROM meta WHERE key = 'instance'")[0][0]
        limit = max(len(v) for v in store.values())

        # The receiver: what each digest id carried.
        per_id = collections.Counter()
        got = {}
        for r in sink.requests:
            body = json.loads(r.text)
            self.assertTrue(body.get("digest"), "a request that is not a digest: %.200s" % r.text)
            uid = r.headers.get("X-Escalator-Delivery")
            self.assertEqual(body.get("delivery"), uid)
            prefix = "esc-%s-" % instance
            self.assertTrue(uid.startswith(prefix), uid)
            did = int(uid[len(prefix):])
            pairs = {(body["contact"], a["case"]) for a in body["alerts"]}
            self.assertEqual(r.url_path, "/" + body["contact"])
            if did in got:
                self.assertEqual(got[did], pairs, "digest %d changed between attempts" % did)
            got[did] = pairs
            per_id[did] += 1
        self.assertEqual(set(got), set(store), "digests the receiver never saw, or unknown ids")
        for did, pairs in got.items():
            self.assertEqual(pairs, store[did], "digest %d: the receiver's items differ" % did)
        everything = set().union(*got.values())
        self.assertEqual(len(everything), n_clocks * n_contacts, "alerts never received")
        repeats = {i: c - 1 for i, c in per_id.items() if c > 1}
        unexplained = {i: (r, in_flight_at_kill[i]) for i, r in repeats.items()
                       if r > in_flight_at_kill[i]}
        self.assertEqual(unexplained, {}, "repeats not explained by a kill")
        fl.report("digest_crash", seed=self.seed, clocks=n_clocks, contacts=n_contacts,
                  kills=len(kills), digests=len(store), largest_digest=limit,
                  requests=len(sink.requests), ids_repeated=len(repeats),
                  duplicate_requests=sum(repeats.values()),
                  in_flight_at_kills=sum(k["in_flight"] for k in kills))


def add_options(p):
    p.add_argument("--clocks", type=int)
    p.add_argument("--contacts", type=int)
    p.add_argument("--kills", type=int)
    p.add_argument("--seed", type=int)


if __name__ == "__main__":
    sys.exit(fl.run_main(add_options, __doc__))
