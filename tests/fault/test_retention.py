#!/usr/bin/python3
"""Fault suite: the state store is kept bounded (retention) without ever alerting twice.

    /usr/bin/python3 tests/fault/test_retention.py --escalatord build/escalatord [-v]

Two rules over the same 20 owed clocks: "visit" alerts a webhook that answers 200, "review" one
that answers 503 forever (its deliveries stay pending, retried).  After a first run has sent the
one and retried the other, every row is made to look two years old (alerts recorded, deliveries
finished, audit rows written then) and escalatord is started again with retention = "13 months":
the sent deliveries, their audit rows and their alerts go (a timer on the loop, in small
batches), the pending deliveries and their alerts stay, the stages recorded for every clock stay
(so nothing is alerted again: a case added later is the only new request the receiver sees),
and the file passes integrity_check and foreign_key_check.  Then escalatord --once, which runs
retention before it exits, removes what has aged since.
"""

import os
import sqlite3
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402

N = 20
OLD = "2023-01-02T08:00:00Z"


class RetentionFaults(fl.FaultCase):

    def age(self, where="1"):
        """Make the alerts matching where (and all about them) look recorded and finished at OLD."""
        db = sqlite3.connect(self.state, timeout=10)
        ids = "SELECT id FROM alert WHERE %s" % where
        db.execute("UPDATE alert SET created_at = ? WHERE id IN (%s)" % ids, (OLD,))
        db.execute("UPDATE delivery SET last_attempt = ?, sent_at = CASE WHEN sent_at IS NULL "
                   "THEN NULL ELSE ? END WHERE alert_id IN (%s)" % ids, (OLD, OLD))
        db.execute("UPDATE audit SET at = ? WHERE delivery_id IN (SELECT id FROM delivery "
                   "WHERE alert_id IN (%s))" % ids, (OLD,))
        db.commit()
        db.close()

    def stages(self):
        return sorted(self.state_query("SELECT rule, case_ref, start, stage, status "
                                       "FROM clock_stage"))

    def test_old_rows_go_pending_and_stages_stay(self):
        ok = self.http_sink()
        down = self.http_sink(status=503)
        self.write_config({"hook": ok.url_for("/hook"), "down": down.url_for("/down")},
                          poll_interval=1, retry_min=1, retry_max=2, connect_timeout=2,
                          delivery_timeout=5, shutdown_timeout=2, retention="13 months")
        self.write_rules(fl.rule_text(rule_id="visit", notify=("hook",)))
        self.write_rules(fl.rule_text(rule_id="review", notify=("down",)),
                         path=os.path.join(self.etc, "rules", "20-review.conf"))
        self.make_case_store([("C%02d" % i, "2024-01-%02d" % i) for i in range(1, N + 1)])

        # First run: 20 sent, 20 retried (an audit row each: identical retries add none).
        d = self.start_daemon()
        self.wait_state(lambda ds: sum(r["status"] == "sent" for r in ds.values()) == N and
                        sum(r["status"] == "pending" and r["attempts"] >= 2
                            for r in ds.values()) == N, timeout=20, what="sent and retried")
        d.terminate()
        self.assertEqual(len(ok.requests), N)
        stages = self.stages()
        self.assertEqual(len(stages), 2 * N)
        self.assertEqual(self.state_query("SELECT count(*) FROM audit")[0][0], 2 * N)

        # Two years on (as the rows see it): the second run removes what is older than 13 months.
        self.age()
        d = self.start_daemon()
        self.wait_for(lambda: self.state_query(
            "SELECT count(*) FROM delivery WHERE status = 'sent'")[0][0] == 0,
            timeout=15, what="old sent deliveries removed")
        self.wait_for(lambda: self.state_query("SELECT count(*) FROM alert")[0][0] == N,
                      timeout=10, what="their alerts removed")
        self.assertEqual(self.state_query(
            "SELECT count(*) FROM audit WHERE at < '2024'")[0][0], 0)
        # pending deliveries and their alerts (with the text still to send) stay
        pending = self.state_query("SELECT a.rule, d.status, length(a.body) > 0 FROM delivery d "
                                   "JOIN alert a ON a.id = d.alert_id")
        self.assertEqual(sorted(set(pending)), [("review", "pending", 1)])
        self.assertEqual(len(pending), N)
        # every stage recorded stays
        self.assertEqual(self.stages(), stages)
        self.assertEqual(self.state_query(
            "SELECT count(*) FROM clock_stage WHERE rule = 'visit' AND alert_id IS NULL")[0][0],
            N)

        # A pass after retention: only the new case is alerted, nobody is told twice.
        self.insert_cases(("C99", "2024-02-01"))
        ok.wait_for(N + 1, timeout=15)
        time.sleep(2.5)  # two more polls: nothing else
        self.assertEqual(sorted(r.json()["case"] for r in ok.requests),
                         sorted(["C%02d" % i for i in range(1, N + 1)] + ["C99"]))
        self.assertEqual(self.state_query(
            "SELECT count(*) FROM alert WHERE rule = 'visit'")[0][0], 1)
        d.terminate()
        # a store made by this build gives space back: no notice that it cannot
        self.assertNotIn("does not shrink", d.log())
        self.assertEqual(fl.integrity_check(self.state), "ok")
        self.assertEqual(self.state_query("PRAGMA foreign_key_check"), [])

        # --once runs retention before it exits: C99's alert has aged too.
        self.age("case_ref = 'C99'")
        p = self.run_escalatord(["--once"], timeout=60)
        self.assertIn(p.returncode, (0, 1), p.stderr.decode())
        self.assertEqual(self.state_query(
            "SELECT count(*) FROM alert WHERE rule = 'visit'")[0][0], 0)
        self.assertEqual(len(ok.requests), N + 1)
        self.assertEqual(len(self.stages()), 2 * (N + 1))


if __name__ == "__main__":
    sys.exit(fl.run_main(None, __doc__))
