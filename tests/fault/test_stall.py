#!/usr/bin/python3
"""Fault suite: no rule query can stall the service (issue 12, point 3).

    /usr/bin/python3 tests/fault/test_stall.py --escalatord build/escalatord [-v]

A rule whose query never ends (a recursive CTE without a stop) is loaded next to ordinary rules;
`--check` cannot tell (it compiles queries, it does not run them).  Alerts go by email to a real
SMTP sink on 127.0.0.1; the admin contact `ops` is an email address on the same sink.

- With query_timeout = 2 the query is stopped after 2 s of execution: the log names the rule and
  says why, the admin is told once (not again at the next pass, the same day), and the other
  rules' alerts are delivered, at every pass.
- SIGTERM while that query runs (before its time limit) ends the process within 2 s; READY=1 was
  sent before the first pass, and WATCHDOG=1 keeps coming while the query runs.
- A large case store (400,000 clocks made with SQL, 40,000 of them owed): deliveries reach the
  sink while the first pass is still going on, and SIGTERM in the middle of it ends the process
  within 2 s.
"""

import os
import re
import signal
import socket
import sqlite3
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402

TM = "tm@council.example"
OPS = "ops@council.example"
RUNAWAY = "runaway-cte"
# Never ends and never returns a row: n only grows.
RUNAWAY_QUERY = ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                 "SELECT 'R' || n AS case_ref, '2099-01-01' AS start FROM r WHERE n < 0")
STOPPED_RX = (r"error: rule=%s: the query ran longer than query_timeout \(2 s\) and was "
              r"stopped; rule skipped this pass" % RUNAWAY)
EXIT_WITHIN = 2.0
RESULTS = []


def two_rules(runaway_first=True):
    """The runaway rule and an ordinary one (visits, to tm), as one rule file."""
    runaway = fl.rule_text(rule_id=RUNAWAY, title="Runaway query", query=RUNAWAY_QUERY,
                           notify=("tm",))
    visits = fl.rule_text(rule_id="visits", title="Statutory visit", notify=("tm",))
    body = lambda t: t.split("rules = (\n", 1)[1].rsplit(");\n", 1)[0].rstrip().rstrip(",")
    rules = [body(runaway), body(visits)]
    if not runaway_first:
        rules.reverse()
    return "rules = (\n" + ",\n".join(rules) + "\n);\n"


class NotifySocket:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET: (monotonic, message) pairs."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        while not self.stop.is_set():
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            for m in data.decode("utf-8", "replace").split("\n"):
                self.msgs.append((now, m))

    def times(self, message):
        return [t for t, m in list(self.msgs) if m == message]

    def close(self):
        self.stop.set()
        self.thread.join(2)
        self.sock.close()


class Stall(fl.FaultCase):

    def setUp(self):
        super().setUp()
        self.sink = self.smtp_sink()

    def configure(self, **settings):
        smtp = {"url": "smtp://127.0.0.1:%d" % self.sink.port, "from": "escalator@council.example",
                "starttls": "opportunistic"}
        self.write_config({"tm": TM, "ops": OPS}, smtp=smtp, poll_interval=1, admin="ops",
                          retry_min=1, retry_max=2, connect_timeout=2, delivery_timeout=5,
                          shutdown_timeout=1, **settings)

    def to(self, address):
        return [m for m in self.sink.messages if address in m.rcpt_tos]

    def wait_messages(self, address, n, timeout, d):
        ok = self.sink.wait_until(lambda s: len(self.to(address)) >= n, timeout=timeout)
        self.assertTrue(ok, "%d message(s) to %s not received within %ds (got %d); log:\n%s"
                        % (n, address, timeout, len(self.to(address)), fl.tail(d.log())))

    def sigterm_exits(self, d, what):
        """SIGTERM; the process must exit 0 within EXIT_WITHIN seconds. Returns the time."""
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        rc, _ = d.wait_exit(30)
        took = time.monotonic() - t0
        self.assertEqual(rc, 0, "%s: exit status %s; log:\n%s" % (what, rc, fl.tail(d.log())))
        if self.timing_checked("%s: exit within %.0f s of SIGTERM" % (what, EXIT_WITHIN)):
            self.assertLess(took, EXIT_WITHIN, "%s: SIGTERM took %.2f s to end escalatord; "
                            "log:\n%s" % (what, took, fl.tail(d.log())))
        return took

    # -- tests ------------------------------------------------------------------------------
    def test_runaway_query_stopped_other_rules_run(self):
        """query_timeout = 2: the runaway rule fails each pass, named; the admin is told once;
        the other rule's alerts are delivered; SIGTERM while the query runs exits at once."""
        self.configure(query_timeout=2)
        self.write_rules(two_rules())
        self.make_case_store([("C%d" % i, "2024-01-0%d" % i) for i in range(1, 6)] +
                             [("F%d" % i, "2099-01-01") for i in range(1, 50)])
        t0 = time.monotonic()
        d = self.start_daemon()
        d.wait_log(STOPPED_RX, timeout=30)
        stopped_after = time.monotonic() - t0
        self.wait_messages(TM, 5, 20, d)
        self.wait_messages(OPS, 1, 20, d)
        told = self.to(OPS)[0]
        self.assertIn(RUNAWAY, told.subject)
        self.assertIn("query_timeout", told.subject)
        d.wait_log(r"evaluated why=start clocks=5\d alerts=5 skipped_rows=0 failed_rules=1")

        # The next pass (a new row): stopped again, the new row alerted, the admin not told again.
        self.insert_cases(("C6", "2024-01-06"))
        d.wait_log(STOPPED_RX, count=2, timeout=30)
        self.wait_messages(TM, 6, 20, d)
        time.sleep(1.5)  # the outbox would have sent a second notice by now
        self.assertEqual(len(self.to(OPS)), 1, "the admin must be told once a day: %r"
                         % [m.subject for m in self.to(OPS)])

        # SIGTERM in the middle of the runaway query (before its 2 s are up).
        self.insert_cases(("C7", "2024-01-07"))
        time.sleep(1.5)  # the next poll (<= 1 s) has started the pass; the query runs for 2 s
        self.assertEqual(len(re.findall(STOPPED_RX, d.log())), 2,
                         "the third pass's query was not running when SIGTERM was sent")
        took = self.sigterm_exits(d, "during the runaway query")
        self.assertEqual(len(re.findall(STOPPED_RX, d.log())), 2, "SIGTERM must stop the "
                         "query as a stop, not as a time-out")
        self.assert_log_lines_clean(d)
        RESULTS.append(dict(fault="runaway query, query_timeout=2",
                            stopped_after_s=round(stopped_after, 1), admin_told=1,
                            other_rule_alerts=6, sigterm_exit_s=round(took, 2)))

    def test_sigterm_and_watchdog_during_one_long_step(self):
        """query_timeout 30 s (the default): during the one long step of the runaway query
        READY=1 has been sent, WATCHDOG=1 keeps coming, and SIGTERM ends the process."""
        self.configure()
        self.write_rules(two_rules())
        self.make_case_store([("C1", "2024-01-01")])
        ns = NotifySocket(os.path.join(self.tmp, "notify.sock"))
        self.addCleanup(ns.close)
        env = dict(self.env, NOTIFY_SOCKET=ns.path, WATCHDOG_USEC="400000")
        d = self.start_daemon(env=env)
        d.wait_log(r"starting rules=2")
        time.sleep(2.5)
        self.assertNotRegex(d.log(), r"evaluated why=start", "the runaway query ended?")
        self.assertTrue(ns.times("READY=1"), "READY=1 must come before the first pass ends: "
                        "%r" % ns.msgs)
        t_ready = ns.times("READY=1")[0]
        pings = [t for t in ns.times("WATCHDOG=1") if t > t_ready + 0.5]
        self.assertGreaterEqual(len(pings), 3, "WATCHDOG=1 must go on during a long query "
                                "step: %r" % ns.msgs)
        gaps = [b - a for a, b in zip(pings, pings[1:])]
        took = self.sigterm_exits(d, "during one long query step")
        self.assertIn("STOPPING=1", [m for _, m in ns.msgs])
        RESULTS.append(dict(fault="one never-ending query step (query_timeout 30)",
                            ready_before_first_pass=1, watchdog_pings=len(pings),
                            longest_ping_gap_s=round(max(gaps), 2) if gaps else None,
                            sigterm_exit_s=round(took, 2)))

    def test_large_store_deliveries_during_pass_and_sigterm(self):
        """400,000 clocks, 40,000 owed: deliveries arrive while the first pass runs; SIGTERM in
        the middle of the pass ends the process within 2 s."""
        self.configure()
        self.write_rules(fl.rule_text(rule_id="big", notify=("tm",)))
        self.make_case_store([])
        db = sqlite3.connect(self.case_store)
        db.execute("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r "
                   "WHERE n < 400000) INSERT INTO cases SELECT printf('C%06d', n), "
                   "CASE WHEN n % 10 = 0 THEN '2024-01-01' ELSE '2099-01-01' END FROM r")
        db.commit()
        db.close()
        t0 = time.monotonic()
        d = self.start_daemon()
        self.wait_messages(TM, 1, 30, d)
        first = time.monotonic() - t0
        self.wait_messages(TM, 3, 30, d)
        still = "evaluated why=start" not in d.log()
        self.assertTrue(still, "the first pass ended before 3 deliveries arrived: either "
                        "deliveries waited for the pass, or the pass is too short to tell; "
                        "log:\n%s" % fl.tail(d.log()))
        n_during = len(self.to(TM))
        took = self.sigterm_exits(d, "in the middle of a 400,000-clock pass")
        self.assertRegex(d.log(), r"evaluation why=start stopped before its end")
        self.assertNotRegex(d.log(), r"evaluated why=start")
        # What was recorded is whole: every alert has its delivery.
        orphans = fl.query(self.state, "SELECT count(*) FROM alert a WHERE NOT EXISTS "
                           "(SELECT 1 FROM delivery d WHERE d.alert_id = a.id)")[0][0]
        self.assertEqual(orphans, 0)
        self.assertEqual(fl.integrity_check(self.state), "ok")
        RESULTS.append(dict(fault="400k clocks, first pass", first_delivery_s=round(first, 2),
                            delivered_during_pass=n_during, sigterm_exit_s=round(took, 2)))

    @classmethod
    def tearDownClass(cls):
        for r in RESULTS:
            fl.report("stall", **r)


if __name__ == "__main__":
    sys.exit(fl.run_main(None, __doc__))
