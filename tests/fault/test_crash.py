#!/usr/bin/python3
"""Fault suite: escalatord killed with SIGKILL (power cut, OOM killer, kill -9).

    /usr/bin/python3 tests/fault/test_crash.py --escalatord build/escalatord [-v]
        [--alerts N]   webhook deliveries in the burst (default 3000)
        [--kills N]    SIGKILLs during the burst (default 24, at least 20 asked for)
        [--clocks N]   clocks in the large case store of the evaluation test (default 50000)
        [--eval-kills N]  SIGKILLs during evaluation passes (default 6)
        [--seed N]     random seed (printed; default: from the time)

test_burst_kill9: N overdue clocks, one webhook delivery each, to an HttpSink that answers after a
random 0-40 ms (so deliveries are in flight at any moment), max_deliveries = 32.  The daemon is
killed with SIGKILL at random moments -- a few during start-up and evaluation, the rest when the
receiver has seen a random number of requests -- and started again each time.  After every kill:
PRAGMA integrity_check on the state store is "ok", and the deliveries marked in flight are
remembered.  At the end every alert was delivered (distinct X-Escalator-Delivery ids == alerts,
every delivery row `sent`), and every repeat of a delivery id is accounted for by a kill that
caught that delivery in flight (repeats of an id <= kills that found it in flight).

test_evaluation_kill9: a case store of M clocks (all owed) and a SIGKILL in the middle of the
first evaluation pass, several times: after each kill the state store is intact and every alert
in it is whole (alerts == deliveries == alerted stages; a pass commits in slices, so 0 to M of
them, kept across kills); the next start records the rest, each clock once, M in all.
"""

import collections
import os
import random
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402

UID_RX = re.compile(r"^esc-[0-9a-f]+-(\d+)$")


class CrashFaults(fl.FaultCase):

    def setUp(self):
        super().setUp()
        self.seed_rng()

    def in_flight(self):
        return {r[0] for r in self.state_query("SELECT id FROM delivery WHERE in_flight = 1")}

    # -----------------------------------------------------------------------------------------
    def test_burst_kill9(self):
        n_alerts = fl.option("alerts", 3000)
        n_kills = fl.option("kills", 24)
        rng = self.rng
        delay_rng = random.Random(self.seed + 1)

        def respond(req):
            time.sleep(delay_rng.uniform(0.0, 0.04))
            return 200

        sink = self.http_sink(responses=respond, idle_timeout=5)
        # all 32 slots to the one webhook (newer escalatord caps each destination, default 4)
        per_dest = {"max_per_destination": 32} if fl.supports_setting("max_per_destination") \
            else {}
        self.write_config({"hook": sink.url_for("/hook")}, poll_interval=1, max_deliveries=32,
                          connect_timeout=2, delivery_timeout=10, retry_min=1, retry_max=2,
                          shutdown_timeout=2, **per_dest)
        self.write_rules(fl.rule_text(notify=("hook",)))
        fl.make_big_store(self.case_store, n_alerts)

        # The kill plan: 3 kills at a random time after the start (start-up, evaluation, first
        # deliveries); the rest when the receiver has seen a random number of requests.
        n_early = min(3, n_kills)
        targets = sorted(rng.sample(range(20, int(n_alerts * 0.97)), n_kills - n_early))
        plan = [("time", rng.uniform(0.0, 0.6)) for _ in range(n_early)] + \
               [("requests", t) for t in targets]
        kills = []  # dicts: what each kill found
        in_flight_at_kill = collections.Counter()
        deadline = time.monotonic() + 240
        for kind, value in plan:
            self.assertLess(time.monotonic(), deadline, "the kill plan took too long")
            d = self.start_daemon()
            if kind == "time":
                time.sleep(value)
            else:
                ok = sink.wait_until(lambda s: s.counters["requests"] >= value, timeout=60)
                self.assertTrue(ok, "the receiver never saw %d requests; log:\n%s"
                                % (value, fl.tail(d.log())))
                time.sleep(rng.uniform(0.0, 0.02))
            was_running = d.alive()
            d.kill9()
            self.assertTrue(was_running, "escalatord exited by itself before the kill; log:\n%s"
                            % fl.tail(d.log()))
            # (a kill early in start-up may come before the file)
            self.assertEqual(self.state_intact(), "ok",
                             "state store damaged by kill %d" % (len(kills) + 1))
            flying = self.in_flight() if self.has_schema() else set()
            in_flight_at_kill.update(flying)
            counts = self.state_query("SELECT (SELECT count(*) FROM alert), "
                                      "(SELECT count(*) FROM delivery), "
                                      "(SELECT count(*) FROM delivery WHERE status = 'sent')") \
                if self.has_schema() else [(0, 0, 0)]
            alerts, deliveries, sent = counts[0]
            # A pass commits in slices: some of it may be recorded, each alert whole.
            self.assertTrue(0 <= alerts <= n_alerts, "%d alerts of %d" % (alerts, n_alerts))
            self.assertEqual(alerts, deliveries, "alerts without their deliveries")
            kills.append(dict(kind=kind, at=value, received=sink.counters["requests"],
                              sent=sent, in_flight=len(flying)))

        # Final run: everything must go out.
        d = self.start_daemon()
        ds = self.wait_state(lambda ds: len(ds) == n_alerts and
                             all(v["status"] == "sent" for v in ds.values()),
                             timeout=180, poll=0.5, what="every delivery sent")
        time.sleep(1.5)  # nothing else may arrive
        d.terminate()
        self.assertEqual(self.state_intact(), "ok")

        reqs = sink.requests
        per_id = collections.Counter()
        bad_ids = []
        for r in reqs:
            uid = r.headers.get("X-Escalator-Delivery")
            m = UID_RX.match(uid or "")
            if m is None:
                bad_ids.append(uid)
                continue
            self.assertEqual(r.json()["delivery"], uid)
            per_id[int(m.group(1))] += 1
        self.assertEqual(bad_ids, [], "requests without a delivery id")
        instance = {UID_RX.match(r.headers["X-Escalator-Delivery"]).group(0).split("-")[1]
                    for r in reqs}
        self.assertEqual(len(instance), 1, "the delivery ids changed instance: %r" % instance)
        lost = sorted(set(ds) - set(per_id))
        self.assertEqual(lost, [], "%d alerts never reached the receiver" % len(lost))
        self.assertEqual(len(per_id), n_alerts)
        self.assertEqual(set(per_id), set(ds))
        repeats = {i: c - 1 for i, c in per_id.items() if c > 1}
        unexplained = {i: (r, in_flight_at_kill[i]) for i, r in repeats.items()
                       if r > in_flight_at_kill[i]}
        self.assertEqual(unexplained, {}, "repeats not explained by a kill: "
                         "{id: (repeats, kills that found it in flight)}")
        dup_total = sum(repeats.values())
        max_flight = max(k["in_flight"] for k in kills)
        self.assertLessEqual(max_flight, 32, "more than max_deliveries in flight")
        fl.report("crash_burst", seed=self.seed, alerts=n_alerts, kills=len(kills),
                  requests=len(reqs), distinct=len(per_id), lost=len(lost),
                  duplicate_requests=dup_total, ids_repeated=len(repeats),
                  max_repeats_of_one_id=max(repeats.values()) if repeats else 0,
                  in_flight_at_kills=sum(k["in_flight"] for k in kills),
                  max_in_flight_at_a_kill=max_flight,
                  kills_detail=[(k["kind"], k["received"], k["in_flight"]) for k in kills])

    # -----------------------------------------------------------------------------------------
    def test_evaluation_kill9(self):
        n = fl.option("clocks", 50000)
        n_kills = fl.option("eval_kills", 6)
        rng = self.rng
        sink = self.http_sink(hang=True)  # deliveries, once recorded, stay in flight
        self.write_config({"hook": sink.url_for("/hook")}, poll_interval=1, max_deliveries=32,
                          connect_timeout=2, delivery_timeout=60, retry_min=1, retry_max=2,
                          shutdown_timeout=1)
        self.write_rules(fl.rule_text(notify=("hook",)))
        t0 = time.monotonic()
        fl.make_big_store(self.case_store, n)
        made = time.monotonic() - t0

        # Calibrate: how long does the first pass take (from the "starting" line)?
        d = self.start_daemon()
        d.wait_log(r"starting rules=", timeout=60, poll=0.005)
        t_start = time.monotonic()
        d.wait_log(r"evaluated why=start clocks=%d alerts=%d" % (n, n), timeout=300, poll=0.01)
        pass_s = time.monotonic() - t_start
        d.kill9()
        self.assertEqual(self.state_query("SELECT count(*) FROM alert")[0][0], n)
        self.reset_state()

        # Kills at a random point of the pass.  The pass is timed once above; on a busy machine
        # later passes can be shorter than that, so a kill that finds its pass already ended
        # shortens the estimate, and up to 2 * n_kills more kills are made until at least half
        # of n_kills have landed inside a pass (every kill is checked the same way).
        need = max(1, n_kills // 2)
        mid_pass = 0
        partial = 0
        k = 0
        while k < n_kills or (mid_pass < need and k < 3 * n_kills):
            d = self.start_daemon()
            d.wait_log(r"starting rules=", timeout=60, poll=0.002)
            delay = rng.uniform(0.05, 0.9) * pass_s
            time.sleep(delay)
            d.kill9()
            finished = re.search(r"evaluated why=start", d.log()) is not None
            mid_pass += not finished
            self.assertEqual(self.state_intact(), "ok", "after kill %d" % (k + 1))
            alerts, deliveries, alerted, skipped = self.state_query(
                "SELECT (SELECT count(*) FROM alert), (SELECT count(*) FROM delivery), "
                "(SELECT count(*) FROM clock_stage WHERE status = 'alerted'), "
                "(SELECT count(*) FROM clock_stage WHERE status = 'skipped')")[0]
            self.assertEqual(skipped, 0)
            self.assertTrue(0 <= alerts <= n, "%d of %d alerts after kill %d"
                            % (alerts, n, k + 1))
            self.assertEqual((deliveries, alerted), (alerts, alerts),
                             "alerts, deliveries and alerted stages disagree after kill %d"
                             % (k + 1))
            if not finished and alerts == n:
                # Killed between the pass's COMMIT and its log line: the pass did end.
                finished = True
                mid_pass -= 1
            if not finished and 0 < alerts < n:
                # The slices committed before the kill stay; the next start goes on from them.
                partial += 1
            if alerts == n:
                # the pass was committed before this kill: start again from nothing
                self.reset_state()
                pass_s = min(pass_s, delay)
            k += 1
        self.assertGreaterEqual(mid_pass, need, "too few kills landed inside the pass (%d of %d)"
                                % (mid_pass, k))

        d = self.start_daemon()
        d.wait_log(r"evaluated why=start clocks=%d alerts=\d+" % n, timeout=300)
        alerts, deliveries, alerted = self.state_query(
            "SELECT (SELECT count(*) FROM alert), (SELECT count(*) FROM delivery), "
            "(SELECT count(*) FROM clock_stage WHERE status = 'alerted')")[0]
        self.assertEqual((alerts, deliveries, alerted), (n, n, n))
        dup = self.state_query("SELECT count(*) FROM (SELECT case_ref FROM alert GROUP BY "
                               "case_ref HAVING count(*) > 1) d")[0][0]
        self.assertEqual(dup, 0)
        d.terminate(timeout=20)
        fl.report("crash_evaluation", seed=self.seed, clocks=n, kills=k,
                  kills_mid_pass=mid_pass, pass_seconds=round(pass_s, 2),
                  store_build_seconds=round(made, 1), kills_after_some_slices=partial)


def add_options(p):
    p.add_argument("--alerts", type=int)
    p.add_argument("--kills", type=int)
    p.add_argument("--clocks", type=int)
    p.add_argument("--eval-kills", type=int)
    p.add_argument("--seed", type=int)


if __name__ == "__main__":
    sys.exit(fl.run_main(add_options, __doc__))
