#!/usr/bin/python3
"""Fault suite: mail and webhook servers that misbehave.

    /usr/bin/python3 tests/fault/test_servers.py --escalatord build/escalatord [-v]
        [--cpu-window SECONDS]   CPU measuring window for the retrying faults (default 10)

Every test has one escalatord with one alert owed to one recipient whose server is broken in
one way: refusing connections, accepting and never answering (hang), answering 4xx/5xx, dropping
the connection in the middle, presenting a certificate the daemon must not trust.  With
retry_min = 1, retry_max = 2, connect_timeout = 1 and delivery_timeout = 2 each test checks:

* temporary faults (README "Nothing is lost"): a `status=retry` warning line per attempt naming
  the recipient and the reason, attempts rising 1, 2, 3, ..., the delivery row `pending` with
  attempts equal to the last logged attempt, next_attempt in the future and last_error set;
  the server saw one connection per attempt (no reconnect storm); the daemon's CPU time
  (utime+stime from /proc/PID/stat) over the window stays below 5 % of one core; and, where the
  fault can be cleared, the alert is delivered once it is;
* permanent faults: one attempt, a `status=failed` line at error priority, the delivery row
  `failed` with the server's own reply in last_error, and no second attempt for longer than
  retry_min + retry_max.

The faults are independent (each its own tree, server and escalatord), so they all run at once:
setUpClass starts every one, waits until each has logged its first retry or failure, and then
watches all of them through one shared window, reading each daemon's CPU time at its start and
end.  At the end of the window it reads what each test checks (the log, the delivery row and its
audit rows in one transaction, the server's count of connections), then clears every fault that
can be cleared and waits for those deliveries to go out.  The test methods assert on what was
seen; a scenario that went wrong in setUpClass fails its own test, not the others.  The CPU
check is not made under ESCALATOR_TEST_TIMING=0 (the asan build; it says so on stderr).
"""

import calendar
import os
import re
import sqlite3
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402

FROM = "escalator@council.example"
TM = "tm.north@council.example"
SMTP_USER = "alerts"
SMTP_PASSWORD = "Smtp-pa55word-for-the-fault-suite"
CPU_LIMIT = 0.05  # of one core
NEVER_AGAIN = 4.0  # seconds after a permanent failure with no second attempt (> retry_min + max)
RESULTS = []

RETRY_RX = re.compile(r"^escalatord: (warning: )?delivery id=(\d+) rule=\S+ case=\S+ stage=\S+ "
                      r"kind=(\w+) to=(\"[^\"]*\"|\S+) status=retry code=(\d+) attempts=(\d+) "
                      r"retry_in=(\d+)s detail=(.*)$", re.M)
FAILED_RX = re.compile(r"^escalatord: (error: )?delivery id=(\d+) rule=\S+ case=\S+ stage=\S+ "
                       r"kind=(\w+) to=(\"[^\"]*\"|\S+) status=failed code=(\d+) attempts=(\d+) "
                       r"delay=\d+s detail=(.*)$", re.M)


# ---------------------------------------------------------------------------------------------
# The faults: each function breaks a server for one scenario and returns it with the function
# that clears the fault (None: the fault stays)
# ---------------------------------------------------------------------------------------------

def smtp_sink(sc, **kw):
    kw.setdefault("tls", "starttls")
    kw.setdefault("require_starttls", True)
    kw.setdefault("auth", {SMTP_USER: SMTP_PASSWORD})
    kw.setdefault("require_auth", True)
    return sc.fx.smtp_sink(**kw)


def bad_pki(sc):
    """A certificate the daemon must not trust (sc.ca_file is the CA it trusts)."""
    from harness import make_test_pki
    pki = make_test_pki(os.path.join(sc.fx.tmp, "pki"))
    sc.ca_file = pki["ca_file"]
    return pki


def http(clears=True, **fault):
    """An HttpSink with fault settings; clearing sets them back (status 200, no hang/drop)."""
    def make(sc):
        s = sc.fx.http_sink(**{k: v for k, v in fault.items() if k != "refuse"})
        s.refuse = fault.get("refuse", False)

        def clear():
            for k in fault:
                if k == "refuse":
                    s.resume()
                elif k in ("status", "hang", "drop"):
                    setattr(s, k, 200 if k == "status" else False)
        return s, clear if clears else None
    return make


def https_untrusted(sc):
    pki = bad_pki(sc)
    return sc.fx.http_sink(tls=True, cert_file=pki["bad_cert_file"],
                           key_file=pki["bad_key_file"]), None


def smtp(clears=True, **fault):
    """An SmtpSink (STARTTLS and AUTH required) with fault settings; clearing resets them."""
    def make(sc):
        s = smtp_sink(sc, **{k: v for k, v in fault.items() if k != "refuse"})
        s.refuse = fault.get("refuse", False)

        def clear():
            for k in fault:
                setattr(s, k, False if k in ("hang", "refuse") else None)
        return s, clear if clears else None
    return make


def starttls_untrusted(sc):
    pki = bad_pki(sc)
    return smtp_sink(sc, cert_file=pki["bad_cert_file"], key_file=pki["bad_key_file"],
                     ca_file=pki["ca_file"]), None


def smtps_untrusted(sc):
    pki = bad_pki(sc)
    s = smtp_sink(sc, tls="smtps", require_starttls=False, cert_file=pki["bad_cert_file"],
                  key_file=pki["bad_key_file"], ca_file=pki["ca_file"])
    sc.smtp_url = "smtps://127.0.0.1:%d" % s.port
    return s, None


# test: (the fault's name in the results, webhook or email, retry or failed, the broken server,
#        what the server counts once per attempt: a counter, "requests", or None where the
#        attempts never reach it)
SCENARIOS = {
    "test_http_refused": ("webhook: connection refused", "webhook", "retry",
                          http(refuse=True), None),
    "test_http_hang": ("webhook: server never answers", "webhook", "retry",
                       http(hang=True), "connections"),
    "test_http_503": ("webhook: HTTP 503", "webhook", "retry",
                      http(status=503), "requests"),
    "test_http_500_with_reason": ("webhook: HTTP 500", "webhook", "retry",
                                  http(status=500, body=b"database exploded\n"), "requests"),
    "test_http_429_retry_after": ("webhook: HTTP 429 Retry-After: 3", "webhook", "retry",
                                  http(status=429, retry_after="3"), "requests"),
    "test_http_drop": ("webhook: connection closed before the answer", "webhook", "retry",
                       http(drop=True), "connections"),
    "test_http_reset": ("webhook: connection reset (RST)", "webhook", "retry",
                        http(drop="reset"), "connections"),
    "test_https_untrusted_certificate": ("webhook: untrusted certificate", "webhook", "retry",
                                         https_untrusted, "connections"),
    "test_http_404_is_permanent": ("webhook: HTTP 404", "webhook", "failed",
                                   http(False, status=404, body=b"no such hook\n"), None),
    "test_http_400_is_permanent": ("webhook: HTTP 400", "webhook", "failed",
                                   http(False, status=400,
                                        body=b"payload rejected: unknown field\n"), None),
    "test_http_401_is_permanent": ("webhook: HTTP 401", "webhook", "failed",
                                   http(False, status=401, body=b"bad signature\n"), None),
    "test_smtp_refused": ("email: connection refused", "email", "retry",
                          smtp(refuse=True), None),
    "test_smtp_hang_before_greeting": ("email: no greeting (hang)", "email", "retry",
                                       smtp(hang=True), "hung"),
    "test_smtp_hang_after_data": ("email: no reply after the message (hang)", "email", "retry",
                                  smtp(hang="after_data"), "connections"),
    "test_smtp_drop_after_rcpt": ("email: connection dropped after RCPT", "email", "retry",
                                  smtp(drop_connection="after_rcpt"), "dropped"),
    "test_smtp_drop_after_data": ("email: connection dropped after the message", "email",
                                  "retry", smtp(drop_connection="after_data"), "dropped"),
    "test_smtp_rcpt_450": ("email: RCPT 450", "email", "retry",
                           smtp(fail_rcpt=(450, "4.2.1 Mailbox busy, try later")),
                           "rcpt_rejections"),
    "test_smtp_mail_451": ("email: MAIL 451", "email", "retry",
                           smtp(fail_mail=(451, "4.3.0 Local error in processing")),
                           "mail_rejections"),
    "test_smtp_starttls_untrusted_certificate": ("email: STARTTLS with an untrusted certificate",
                                                 "email", "retry", starttls_untrusted,
                                                 "connections"),
    "test_smtps_untrusted_certificate": ("email: SMTPS with an untrusted certificate", "email",
                                         "retry", smtps_untrusted, None),
    "test_smtp_rcpt_550_is_permanent": ("email: RCPT 550", "email", "failed",
                                        smtp(False, fail_rcpt=(550, "5.1.1 No such user here")),
                                        None),
    "test_smtp_data_554_is_permanent": ("email: DATA 554", "email", "failed",
                                        smtp(False,
                                             fail_data=(554, "5.7.1 Message refused by policy")),
                                        None),
}


class Scenario:
    """One fault, from the start of its daemon to what setUpClass saw of it."""

    def __init__(self, test, name, kind, outcome, make, counter):
        self.test, self.name, self.kind, self.outcome = test, name, kind, outcome
        self.counter = counter
        self.fx = fl.FaultCase()  # its private tree, server and escalatord (never run as a test)
        self.fx.setUp()
        self.ca_file = None  # the CA the daemon trusts, where not the server's own
        self.smtp_url = None  # where not smtp://127.0.0.1:PORT
        self.torn_down = False
        self.error = None  # what went wrong in setUpClass: the test fails with it
        self.first_seen = None  # monotonic time its first retry/failure line was seen
        self.cpu = None  # CPU time over the window / the window
        self.window = None
        self.seen = None  # at the end of the window: what check_retrying looks at
        self.recovered = None  # the deliveries once sent after the fault was cleared
        self.sink, self.clear = make(self)
        self.daemon = self.start()

    def start(self):
        """One rule, one case C1 overdue since 2024, one delivery to the broken server."""
        fx, target, ca_file = self.fx, self.sink, self.ca_file
        if self.kind == "webhook":
            contacts = {"tm": target.url_for("/hook")}
            smtp = None
        else:
            contacts = {"tm": TM}
            fx.write_secret("smtp.secret", SMTP_PASSWORD)
            smtp = {"url": self.smtp_url or "smtp://127.0.0.1:%d" % target.port, "from": FROM,
                    "username": SMTP_USER, "password_file": "smtp.secret",
                    "starttls": "required"}
            ca_file = ca_file or target.ca_file
        if ca_file is None:
            from harness import default_pki
            ca_file = default_pki()["ca_file"]
        fx.write_config(contacts, poll_interval=1, smtp=smtp, ca_file=ca_file,
                        max_deliveries=4, connect_timeout=1, delivery_timeout=2, retry_min=1,
                        retry_max=2, shutdown_timeout=1)
        fx.write_rules(fl.rule_text(notify=("tm",)))
        fx.make_case_store([("C1", "2024-01-02")])
        return fx.start_daemon()

    def first_line(self):
        return re.search(r"status=%s" % self.outcome, self.daemon.log()) is not None

    def row_and_audit(self, timeout=10):
        """The delivery row and its audit rows, read in one transaction while it is not in
        flight."""
        keys = ("status", "attempts", "next_attempt", "in_flight", "last_error", "last_attempt")
        deadline = time.monotonic() + timeout
        while True:
            db = fl.connect_ro(self.fx.state)
            try:
                db.execute("BEGIN")
                r = db.execute("SELECT status, attempts, next_attempt, in_flight, last_error, "
                               "last_attempt FROM delivery WHERE id = 1").fetchone()
                audit = db.execute("SELECT at, result, detail FROM audit WHERE delivery_id = 1 "
                                   "ORDER BY id").fetchall()
                db.execute("COMMIT")
            finally:
                db.close()
            row = dict(zip(keys, r))
            if row["in_flight"] == 0:
                return row, audit
            if time.monotonic() > deadline:
                raise AssertionError("delivery stays in flight: %r" % row)
            time.sleep(0.05)

    def server_attempts(self):
        """What the server counts once per attempt (None: the attempts never reach it)."""
        if self.counter is None:
            return None
        if self.counter == "requests":
            return len(self.sink.requests)
        return self.sink.sessions[self.counter]

    def look(self):
        """What the test checks, read at the end of the window: the log, the row with its audit
        rows, the log again, then the server's count of attempts.  That count can lag behind
        the log on a busy machine (one Python process serves all 22 servers): it is read once it
        has caught up with the attempts logged before it (5 s at most; an attempt that went
        over an old connection never shows up, and fails the test), and the log is read once
        more after it, for the attempts made meanwhile."""
        lines = RETRY_RX.findall(self.daemon.log())
        row, audit = self.row_and_audit()
        logged = RETRY_RX.findall(self.daemon.log())
        server = self.server_attempts()
        if server is not None:
            deadline = time.monotonic() + 5
            while server < len(lines) - 1 and time.monotonic() < deadline:
                time.sleep(0.05)
                server = self.server_attempts()
        self.seen = dict(lines=lines, row=row, audit=audit, logged=logged, server=server,
                         logged_after_server=RETRY_RX.findall(self.daemon.log()),
                         alive=self.daemon.alive(),
                         requests=list(getattr(self.sink, "requests", [])))

    def teardown(self):
        if not self.torn_down:
            self.torn_down = True
            self.fx.tearDown()


class ServerFaults(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.scenarios = {}
        try:
            cls.start_all()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def start_all(cls):
        window = fl.option("cpu_window", 10.0)
        for test, (name, kind, outcome, make, counter) in SCENARIOS.items():
            cls.scenarios[test] = Scenario(test, name, kind, outcome, make, counter)
        every = list(cls.scenarios.values())

        # Each logs its first retry (or failure) within 15 s, all at the same time.
        deadline = time.monotonic() + 15
        waiting = list(every)
        while waiting and time.monotonic() < deadline:
            for sc in list(waiting):
                if sc.first_line():
                    sc.first_seen = time.monotonic()
                    waiting.remove(sc)
                elif not sc.daemon.alive():
                    sc.error = "escalatord exited (%s) before its first status=%s; log:\n%s" % (
                        sc.daemon.proc.returncode, sc.outcome, fl.tail(sc.daemon.log()))
                    waiting.remove(sc)
            time.sleep(0.05)
        for sc in waiting:
            sc.error = "escalatord did not log status=%s within 15 s; log:\n%s" % (
                sc.outcome, fl.tail(sc.daemon.log()))

        # One window for all: each daemon's CPU time at its start and its end.
        watched = [sc for sc in every if sc.error is None]
        c0 = {}
        for sc in watched:
            c0[sc.test] = sc.daemon.cpu_seconds() if sc.daemon.alive() else None
        t0 = time.monotonic()
        time.sleep(window)
        t1 = time.monotonic()
        for sc in watched:
            if c0[sc.test] is not None and sc.daemon.alive():
                sc.cpu = (sc.daemon.cpu_seconds() - c0[sc.test]) / (t1 - t0)
            sc.window = t1 - t0

        # What the retry checks look at, then clear the faults and wait for the deliveries.
        for sc in watched:
            if sc.outcome == "retry":
                try:
                    sc.look()
                except (AssertionError, sqlite3.Error, OSError, TypeError) as e:
                    sc.error = "reading the state store at the end of the window: %r" % e
        clearing = [sc for sc in watched if sc.outcome == "retry" and sc.clear is not None
                    and sc.error is None]
        for sc in clearing:
            sc.clear()
            sc.cleared_at = time.monotonic()
        deadline = time.monotonic() + 15
        while clearing and time.monotonic() < deadline:
            for sc in list(clearing):
                try:
                    ds = sc.fx.deliveries()
                except sqlite3.OperationalError:
                    continue
                if ds and ds[1]["status"] == "sent":
                    sc.recovered = ds
                    clearing.remove(sc)
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        for sc in cls.scenarios.values():
            sc.teardown()
        for r in RESULTS:
            fl.report("servers", **r)

    def scenario(self):
        sc = self.scenarios[self._testMethodName]
        self.addCleanup(sc.teardown)  # stops its daemon and server; fails on a sanitizer report
        if sc.error:
            self.fail("%s: %s" % (sc.name, sc.error))
        return sc

    # -- checks -----------------------------------------------------------------------------
    def check_retrying(self, sc, detail_rx, code=None, min_attempts=3, min_retry_in=None):
        """What the daemon did through the window: log lines, row, audit, server, CPU."""
        seen, d = sc.seen, sc.daemon
        self.assertTrue(seen["alive"], "escalatord died while retrying; log:\n%s"
                        % fl.tail(d.log()))
        lines = seen["lines"]
        self.assertGreaterEqual(len(lines), min_attempts,
                                "fewer than %d retries in %.0fs; log:\n%s"
                                % (min_attempts, sc.window, fl.tail(d.log())))
        attempts = [int(m[5]) for m in lines]
        self.assertEqual(attempts, list(range(1, len(attempts) + 1)),
                         "attempts must rise 1, 2, 3, ...: %r" % attempts)
        for m in lines:
            self.assertEqual(m[0], "warning: ", "a retry is logged as a warning: %r" % (m,))
            self.assertRegex(m[7], detail_rx, "unclear retry reason in the log")
            if code is not None:
                self.assertEqual(int(m[4]), code)
        if min_retry_in is not None:
            self.assertTrue(all(int(m[6]) >= min_retry_in for m in lines),
                            "Retry-After not honoured: retry_in %r" % [m[6] for m in lines])
        # the row (pending, attempts as logged, next attempt in the future, last_error set)
        # and its audit rows, read in one transaction while it was not in flight
        row, audit, logged = seen["row"], seen["audit"], seen["logged"]
        self.assertEqual(row["status"], "pending", row)
        self.assertLessEqual(row["attempts"], len(logged), row)
        self.assertGreaterEqual(row["attempts"], len(lines), row)
        self.assertRegex(row["last_error"] or "", detail_rx)
        self.assertEqual([a[1] for a in audit], ["retry"] * len(audit), audit)
        # an audit row per change of state, not per identical retry (the time or bytes an
        # attempt took, in curl's errors, are not a change)
        def shape(detail):
            return re.sub(r"\d+(?= ms| millisecond| second| byte| out of )", "#", detail or "")
        self.assertTrue(1 <= len(audit) <= row["attempts"], audit)
        self.assertTrue(all((audit[i][1], shape(audit[i][2])) !=
                            (audit[i + 1][1], shape(audit[i + 1][2]))
                            for i in range(len(audit) - 1)),
                        "an audit row repeats the one before: %r" % audit)
        self.assertEqual(shape(audit[-1][2]), shape(row["last_error"]), audit)
        # next_attempt was set in the future when the last attempt was recorded: compare it
        # with that attempt's time (comparing with "now" would race with the retry timer)
        at = calendar.timegm(time.strptime(row["last_attempt"], "%Y-%m-%dT%H:%M:%SZ"))
        retry_in = int(logged[row["attempts"] - 1][6])
        self.assertGreater(row["next_attempt"], at,
                           "next_attempt %d is not after the attempt at %s"
                           % (row["next_attempt"], row["last_attempt"]))
        self.assertLessEqual(abs(row["next_attempt"] - at - retry_in), 1,
                             "next_attempt %d does not match the logged retry_in=%ds after %s"
                             % (row["next_attempt"], retry_in, row["last_attempt"]))
        seen_by_server = seen["server"]
        if seen_by_server is not None:
            made = max(row["attempts"], len(seen["logged_after_server"]))
            self.assertLessEqual(seen_by_server, made + 1,
                                 "the server saw %d connections for %d attempts (a reconnect "
                                 "loop?)" % (seen_by_server, made))
            self.assertGreaterEqual(seen_by_server, len(lines) - 1,
                                    "the server saw %d connections for %d logged attempts: "
                                    "some attempts went over an old connection that had "
                                    "timed out (reused from curl's connection cache); log:\n%s"
                                    % (seen_by_server, len(lines), fl.tail(d.log())))
        cpu_pct = None
        if sc.cpu is not None:
            cpu_pct = round(sc.cpu * 100, 2)
        if fl.hd.check_timing(self, "CPU time while retrying (%s)" % sc.name):
            self.assertIsNotNone(sc.cpu, "the CPU time was not read")
            self.assertLess(sc.cpu, CPU_LIMIT, "escalatord used %.1f%% of a core while "
                            "retrying (%s)" % (sc.cpu * 100, sc.name))
        RESULTS.append(dict(fault=sc.name, outcome="retry", attempts=row["attempts"],
                            window_s=round(sc.window, 1), cpu_pct=cpu_pct,
                            detail=lines[-1][7][:120]))
        return row

    def check_recovers(self, sc):
        self.assertIsNotNone(sc.recovered, "%s: not sent within 15 s once the fault was "
                             "cleared; deliveries: %r; log:\n%s"
                             % (sc.name, sc.fx.deliveries(), fl.tail(sc.daemon.log())))
        sc.daemon.wait_log(r"delivery id=1 .*status=sent", timeout=5)
        for r in RESULTS:
            if r["fault"] == sc.name:
                r["recovered"] = True
                r["attempts_total"] = sc.recovered[1]["attempts"]
        return sc.recovered

    def check_failed(self, sc, reply_rx, code, requests):
        d = sc.daemon
        d.wait_log(r"status=failed", timeout=15)
        ds = sc.fx.wait_state(lambda ds: ds[1]["status"] == "failed", timeout=10,
                              what="delivery marked failed")
        row = ds[1]
        m = FAILED_RX.findall(d.log())
        self.assertEqual(len(m), 1, "one failed line expected:\n%s" % d.log())
        self.assertEqual(m[0][0], "error: ", "a permanent failure is logged as an error")
        self.assertEqual(int(m[0][4]), code)
        self.assertEqual(int(m[0][5]), 1)
        self.assertRegex(m[0][6], reply_rx, "the server's reply is not in the log line")
        self.assertEqual(row["attempts"], 1, row)
        self.assertRegex(row["last_error"] or "", reply_rx,
                         "the server's reply is not in delivery.last_error")
        # never tried again: watched for longer than retry_min + retry_max since the failure
        # was seen (the shared window is longer than that; wait out the rest if it was not)
        quiet = time.monotonic() - sc.first_seen
        if quiet < NEVER_AGAIN:
            time.sleep(NEVER_AGAIN - quiet)
        self.assertEqual(requests(), 1, "a permanent failure was tried again")
        self.assertNotRegex(d.log(), r"status=retry")
        self.assertEqual(sc.fx.deliveries()[1]["status"], "failed")
        self.assertTrue(d.alive())
        RESULTS.append(dict(fault=sc.name, outcome="failed", attempts=1,
                            last_error=row["last_error"][:120]))

    # -- webhook ----------------------------------------------------------------------------
    def test_http_refused(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)connect|refused")
        self.check_recovers(sc)
        self.assertEqual(len(sc.sink.requests), 1)
        sc.daemon.terminate()

    def test_http_hang(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)timed? ?out")
        self.check_recovers(sc)
        sc.daemon.terminate()

    def test_http_503(self):
        sc = self.scenario()
        self.check_retrying(sc, r"HTTP 503", code=503)
        self.check_recovers(sc)
        sc.daemon.terminate()

    def test_http_500_with_reason(self):
        sc = self.scenario()
        self.check_retrying(sc, r"HTTP 500: database exploded", code=500)
        self.check_recovers(sc)
        sc.daemon.terminate()

    def test_http_429_retry_after(self):
        sc = self.scenario()
        self.check_retrying(sc, r"HTTP 429", code=429, min_attempts=2, min_retry_in=3)
        reqs = sc.seen["requests"]  # the 429 answers, before the fault was cleared
        gaps = [b.time - a.time for a, b in zip(reqs, reqs[1:])]
        self.assertTrue(gaps and min(gaps) >= 2.5, "Retry-After: 3 not honoured: gaps %r" % gaps)
        self.check_recovers(sc)
        sc.daemon.terminate()

    def test_http_drop(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)empty reply|closed|reset|recv")
        self.check_recovers(sc)
        sc.daemon.terminate()

    def test_http_reset(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)reset|recv|empty reply|closed")
        self.check_recovers(sc)
        sc.daemon.terminate()

    def test_https_untrusted_certificate(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)certificate")
        self.assertEqual(sc.sink.requests, [], "a request was sent over an untrusted connection")
        self.assertGreaterEqual(sc.sink.counters["tls_failures"], 2)
        sc.daemon.terminate()

    def test_http_404_is_permanent(self):
        sc = self.scenario()
        self.check_failed(sc, r"HTTP 404: no such hook", 404, lambda: len(sc.sink.requests))
        sc.daemon.terminate()

    def test_http_400_is_permanent(self):
        sc = self.scenario()
        self.check_failed(sc, r"HTTP 400: payload rejected: unknown field", 400,
                          lambda: len(sc.sink.requests))
        sc.daemon.terminate()

    def test_http_401_is_permanent(self):
        sc = self.scenario()
        self.check_failed(sc, r"HTTP 401: bad signature", 401, lambda: len(sc.sink.requests))
        sc.daemon.terminate()

    # -- email ------------------------------------------------------------------------------
    def test_smtp_refused(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)connect|refused")
        self.check_recovers(sc)
        self.assertEqual(len(sc.sink.messages), 1)
        sc.daemon.terminate()

    def test_smtp_hang_before_greeting(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)timed? ?out")
        self.check_recovers(sc)
        sc.daemon.terminate()

    def test_smtp_hang_after_data(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)timed? ?out")
        self.check_recovers(sc)
        self.assertEqual(len(sc.sink.messages), 1)
        sc.daemon.terminate()

    def test_smtp_drop_after_rcpt(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)closed|reset|recv|died|fail|disconnect|server")
        self.check_recovers(sc)
        self.assertEqual(len(sc.sink.messages), 1)
        sc.daemon.terminate()

    def test_smtp_drop_after_data(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)closed|reset|recv|died|fail|disconnect|server")
        self.check_recovers(sc)
        self.assertEqual(len(sc.sink.messages), 1)
        sc.daemon.terminate()

    def test_smtp_rcpt_450(self):
        sc = self.scenario()
        self.check_retrying(sc, r"450 4\.2\.1 Mailbox busy", code=450)
        self.check_recovers(sc)
        sc.daemon.terminate()

    def test_smtp_mail_451(self):
        sc = self.scenario()
        self.check_retrying(sc, r"451 4\.3\.0 Local error", code=451)
        self.check_recovers(sc)
        sc.daemon.terminate()

    def test_smtp_starttls_untrusted_certificate(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)certificate")
        self.assertEqual(sc.sink.messages, [])
        self.assertEqual(sc.sink.auths, [], "the password was sent over an untrusted connection")
        sc.daemon.terminate()

    def test_smtps_untrusted_certificate(self):
        sc = self.scenario()
        self.check_retrying(sc, r"(?i)certificate")
        self.assertEqual(sc.sink.messages, [])
        self.assertEqual(sc.sink.auths, [])
        sc.daemon.terminate()

    def test_smtp_rcpt_550_is_permanent(self):
        sc = self.scenario()
        self.check_failed(sc, r"550 5\.1\.1 No such user here", 550,
                          lambda: sc.sink.sessions["rcpt_rejections"])
        self.assertEqual(sc.sink.messages, [])
        sc.daemon.terminate()

    def test_smtp_data_554_is_permanent(self):
        sc = self.scenario()
        self.check_failed(sc, r"554 5\.7\.1 Message refused by policy", 554,
                          lambda: sc.sink.sessions["data_rejections"])
        self.assertEqual(sc.sink.messages, [])
        sc.daemon.terminate()


def add_options(p):
    p.add_argument("--cpu-window", type=float, default=10.0)


if __name__ == "__main__":
    sys.exit(fl.run_main(add_options, __doc__))
