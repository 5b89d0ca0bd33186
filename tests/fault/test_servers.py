#!/usr/bin/python3
"""Fault suite: mail and webhook servers that misbehave.

    /usr/bin/python3 tests/fault/test_servers.py --escalatord build/escalatord [-v]
        [--cpu-window SECONDS]   CPU measuring window for connection-level faults (default 10)

Every test runs one escalatord with one alert owed to one recipient whose server is broken in
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
  `failed` with the server's own reply in last_error, and no second attempt.
"""

import calendar
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402

FROM = "escalator@council.example"
TM = "tm.north@council.example"
SMTP_USER = "alerts"
SMTP_PASSWORD = "Smtp-pa55word-for-the-fault-suite"
CPU_LIMIT = 0.05  # of one core
RESULTS = []


def cpu_window():
    return float(getattr(fl.OPTIONS, "cpu_window", 10.0) or 10.0)


RETRY_RX = re.compile(r"^escalatord: (warning: )?delivery id=(\d+) rule=\S+ case=\S+ stage=\S+ "
                      r"kind=(\w+) to=(\S+) status=retry code=(\d+) attempts=(\d+) "
                      r"retry_in=(\d+)s detail=(.*)$", re.M)
FAILED_RX = re.compile(r"^escalatord: (error: )?delivery id=(\d+) rule=\S+ case=\S+ stage=\S+ "
                       r"kind=(\w+) to=(\S+) status=failed code=(\d+) attempts=(\d+) "
                       r"delay=\d+s detail=(.*)$", re.M)


class ServerFaults(fl.FaultCase):

    # -- fixtures ---------------------------------------------------------------------------
    def start(self, kind, target, ca_file=None, smtp_url=None):
        """One rule, one case C1 overdue since 2024, one delivery to `target`."""
        if kind == "webhook":
            contacts = {"tm": target}
            smtp = None
        else:
            contacts = {"tm": TM}
            self.write_secret("smtp.secret", SMTP_PASSWORD)
            smtp = {"url": smtp_url or "smtp://127.0.0.1:%d" % target.port, "from": FROM,
                    "username": SMTP_USER, "password_file": "smtp.secret",
                    "starttls": "required"}
            ca_file = ca_file or target.ca_file
        if ca_file is None:
            from harness import default_pki
            ca_file = default_pki()["ca_file"]
        self.write_config(contacts, poll_interval=1, smtp=smtp, ca_file=ca_file,
                          max_deliveries=4, connect_timeout=1, delivery_timeout=2, retry_min=1,
                          retry_max=2, shutdown_timeout=1)
        self.write_rules(fl.rule_text(notify=("tm",)))
        self.make_case_store([("C1", "2024-01-02")])
        return self.start_daemon()

    def smtp(self, **kw):
        kw.setdefault("tls", "starttls")
        kw.setdefault("require_starttls", True)
        kw.setdefault("auth", {SMTP_USER: SMTP_PASSWORD})
        kw.setdefault("require_auth", True)
        return self.smtp_sink(**kw)

    def bad_pki(self):
        from harness import make_test_pki
        return make_test_pki(os.path.join(self.tmp, "pki"))

    # -- checks -----------------------------------------------------------------------------
    def check_retrying(self, name, d, detail_rx, window=None, code=None, server_attempts=None,
                       min_attempts=3, min_retry_in=None):
        """Watch the daemon retry for `window` seconds; check log, row, CPU."""
        window = window or cpu_window()
        d.wait_log(r"status=retry", timeout=15)
        c0, t0 = d.cpu_seconds(), time.monotonic()
        time.sleep(window)
        c1, t1 = d.cpu_seconds(), time.monotonic()
        cpu = (c1 - c0) / (t1 - t0)
        self.assertTrue(d.alive(), "escalatord died while retrying; log:\n%s" % fl.tail(d.log()))
        log = d.log()
        lines = RETRY_RX.findall(log)
        self.assertGreaterEqual(len(lines), min_attempts,
                                "fewer than %d retries in %.0fs; log:\n%s"
                                % (min_attempts, window, fl.tail(log)))
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
        # and its audit rows, read in one transaction while it is not in flight
        row, audit = self.row_and_audit()
        logged = RETRY_RX.findall(d.log())
        self.assertEqual(row["status"], "pending", row)
        self.assertLessEqual(row["attempts"], len(logged), row)
        self.assertGreaterEqual(row["attempts"], len(lines), row)
        self.assertRegex(row["last_error"] or "", detail_rx)
        self.assertEqual([a[1] for a in audit], ["retry"] * len(audit), audit)
        self.assertEqual(len(audit), row["attempts"], "one audit row per attempt: %r" % audit)
        # next_attempt was set in the future when the last attempt was recorded: compare it
        # with that attempt's audit time (comparing with "now" would race with the retry timer)
        at = calendar.timegm(time.strptime(audit[-1][0], "%Y-%m-%dT%H:%M:%SZ"))
        retry_in = int(logged[row["attempts"] - 1][6])
        self.assertGreater(row["next_attempt"], at,
                           "next_attempt %d is not after the attempt at %s"
                           % (row["next_attempt"], audit[-1][0]))
        self.assertLessEqual(abs(row["next_attempt"] - at - retry_in), 1,
                             "next_attempt %d does not match the logged retry_in=%ds after %s"
                             % (row["next_attempt"], retry_in, audit[-1][0]))
        if server_attempts is not None:
            seen = server_attempts()
            self.assertLessEqual(seen, row["attempts"] + 1,
                                 "the server saw %d connections for %d attempts (a reconnect "
                                 "loop?)" % (seen, row["attempts"]))
            self.assertGreaterEqual(seen, len(lines) - 1,
                                    "the server saw %d connections for %d logged attempts: "
                                    "some attempts went over an old connection that had "
                                    "timed out (reused from curl's connection cache); log:\n%s"
                                    % (seen, len(lines), fl.tail(d.log())))
        self.assertLess(cpu, CPU_LIMIT,
                        "escalatord used %.1f%% of a core while retrying (%s)" % (cpu * 100, name))
        RESULTS.append(dict(fault=name, outcome="retry", attempts=row["attempts"],
                            window_s=round(t1 - t0, 1), cpu_pct=round(cpu * 100, 2),
                            detail=lines[-1][7][:120]))
        return row

    def row_and_audit(self, timeout=10):
        keys = ("status", "attempts", "next_attempt", "in_flight", "last_error")
        deadline = time.monotonic() + timeout
        while True:
            db = fl.connect_ro(self.state)
            try:
                db.execute("BEGIN")
                r = db.execute("SELECT status, attempts, next_attempt, in_flight, last_error "
                               "FROM delivery WHERE id = 1").fetchone()
                audit = db.execute("SELECT at, result FROM audit WHERE delivery_id = 1 "
                                   "ORDER BY id").fetchall()
                db.execute("COMMIT")
            finally:
                db.close()
            row = dict(zip(keys, r))
            if row["in_flight"] == 0:
                return row, audit
            self.assertLess(time.monotonic(), deadline, "delivery stays in flight: %r" % row)
            time.sleep(0.05)

    def check_recovers(self, d, name):
        ds = self.wait_state(lambda ds: ds[1]["status"] == "sent", timeout=15,
                             what="%s: sent once the fault was cleared" % name)
        d.wait_log(r"delivery id=1 .*status=sent", timeout=5)
        for r in RESULTS:
            if r["fault"] == name:
                r["recovered"] = True
                r["attempts_total"] = ds[1]["attempts"]
        return ds

    def check_failed(self, name, d, reply_rx, code, requests):
        line = d.wait_log(r"status=failed", timeout=15)
        ds = self.wait_state(lambda ds: ds[1]["status"] == "failed", timeout=10,
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
        time.sleep(4)  # longer than retry_min + retry_max: never tried again
        self.assertEqual(requests(), 1, "a permanent failure was tried again")
        self.assertNotRegex(d.log(), r"status=retry")
        self.assertEqual(self.deliveries()[1]["status"], "failed")
        self.assertTrue(d.alive())
        RESULTS.append(dict(fault=name, outcome="failed", attempts=1,
                            last_error=row["last_error"][:120]))
        del line

    # -- webhook ----------------------------------------------------------------------------
    def test_http_refused(self):
        s = self.http_sink()
        s.pause()
        d = self.start("webhook", s.url_for("/hook"))
        self.check_retrying("webhook: connection refused", d, r"(?i)connect|refused")
        s.resume()
        self.check_recovers(d, "webhook: connection refused")
        self.assertEqual(len(s.requests), 1)
        d.terminate()

    def test_http_hang(self):
        s = self.http_sink(hang=True)
        d = self.start("webhook", s.url_for("/hook"))
        self.check_retrying("webhook: server never answers", d, r"(?i)timed? ?out",
                            server_attempts=lambda: s.counters["connections"])
        s.hang = False
        self.check_recovers(d, "webhook: server never answers")
        d.terminate()

    def test_http_503(self):
        s = self.http_sink(status=503)
        d = self.start("webhook", s.url_for("/hook"))
        self.check_retrying("webhook: HTTP 503", d, r"HTTP 503", window=8, code=503,
                            server_attempts=lambda: len(s.requests))
        s.status = 200
        self.check_recovers(d, "webhook: HTTP 503")
        d.terminate()

    def test_http_500_with_reason(self):
        s = self.http_sink(status=500, body=b"database exploded\n")
        d = self.start("webhook", s.url_for("/hook"))
        self.check_retrying("webhook: HTTP 500", d, r"HTTP 500: database exploded", window=8,
                            code=500, server_attempts=lambda: len(s.requests))
        s.status = 200
        self.check_recovers(d, "webhook: HTTP 500")
        d.terminate()

    def test_http_429_retry_after(self):
        s = self.http_sink(status=429, retry_after="3")
        d = self.start("webhook", s.url_for("/hook"))
        row = self.check_retrying("webhook: HTTP 429 Retry-After: 3", d, r"HTTP 429", window=8,
                                  code=429, min_attempts=2, min_retry_in=3,
                                  server_attempts=lambda: len(s.requests))
        del row
        reqs = s.requests
        gaps = [b.time - a.time for a, b in zip(reqs, reqs[1:])]
        self.assertTrue(gaps and min(gaps) >= 2.5, "Retry-After: 3 not honoured: gaps %r" % gaps)
        s.status = 200
        self.check_recovers(d, "webhook: HTTP 429 Retry-After: 3")
        d.terminate()

    def test_http_drop(self):
        s = self.http_sink(drop=True)
        d = self.start("webhook", s.url_for("/hook"))
        self.check_retrying("webhook: connection closed before the answer", d,
                            r"(?i)empty reply|closed|reset|recv", server_attempts=lambda:
                            s.counters["connections"])
        s.drop = False
        self.check_recovers(d, "webhook: connection closed before the answer")
        d.terminate()

    def test_http_reset(self):
        s = self.http_sink(drop="reset")
        d = self.start("webhook", s.url_for("/hook"))
        self.check_retrying("webhook: connection reset (RST)", d,
                            r"(?i)reset|recv|empty reply|closed",
                            server_attempts=lambda: s.counters["connections"])
        s.drop = False
        self.check_recovers(d, "webhook: connection reset (RST)")
        d.terminate()

    def test_https_untrusted_certificate(self):
        pki = self.bad_pki()
        s = self.http_sink(tls=True, cert_file=pki["bad_cert_file"], key_file=pki["bad_key_file"])
        d = self.start("webhook", s.url_for("/hook"), ca_file=pki["ca_file"])
        self.check_retrying("webhook: untrusted certificate", d, r"(?i)certificate",
                            server_attempts=lambda: s.counters["connections"])
        self.assertEqual(s.requests, [], "a request was sent over an untrusted connection")
        self.assertGreaterEqual(s.counters["tls_failures"], 2)
        d.terminate()

    def test_http_404_is_permanent(self):
        s = self.http_sink(status=404, body=b"no such hook\n")
        d = self.start("webhook", s.url_for("/hook"))
        self.check_failed("webhook: HTTP 404", d, r"HTTP 404: no such hook", 404,
                          lambda: len(s.requests))
        d.terminate()

    def test_http_400_is_permanent(self):
        s = self.http_sink(status=400, body=b"payload rejected: unknown field\n")
        d = self.start("webhook", s.url_for("/hook"))
        self.check_failed("webhook: HTTP 400", d, r"HTTP 400: payload rejected: unknown field",
                          400, lambda: len(s.requests))
        d.terminate()

    def test_http_401_is_permanent(self):
        s = self.http_sink(status=401, body=b"bad signature\n")
        d = self.start("webhook", s.url_for("/hook"))
        self.check_failed("webhook: HTTP 401", d, r"HTTP 401: bad signature", 401,
                          lambda: len(s.requests))
        d.terminate()

    # -- email ------------------------------------------------------------------------------
    def test_smtp_refused(self):
        s = self.smtp()
        s.refuse = True
        d = self.start("email", s)
        self.check_retrying("email: connection refused", d, r"(?i)connect|refused")
        s.refuse = False
        self.check_recovers(d, "email: connection refused")
        self.assertEqual(len(s.messages), 1)
        d.terminate()

    def test_smtp_hang_before_greeting(self):
        s = self.smtp(hang=True)
        d = self.start("email", s)
        self.check_retrying("email: no greeting (hang)", d, r"(?i)timed? ?out",
                            server_attempts=lambda: s.sessions["hung"])
        s.hang = False
        self.check_recovers(d, "email: no greeting (hang)")
        d.terminate()

    def test_smtp_hang_after_data(self):
        s = self.smtp(hang="after_data")
        d = self.start("email", s)
        self.check_retrying("email: no reply after the message (hang)", d, r"(?i)timed? ?out",
                            server_attempts=lambda: s.sessions["connections"])
        s.hang = False
        self.check_recovers(d, "email: no reply after the message (hang)")
        self.assertEqual(len(s.messages), 1)
        d.terminate()

    def test_smtp_drop_after_rcpt(self):
        s = self.smtp(drop_connection="after_rcpt")
        d = self.start("email", s)
        self.check_retrying("email: connection dropped after RCPT", d,
                            r"(?i)closed|reset|recv|died|fail|disconnect|server",
                            server_attempts=lambda: s.sessions["dropped"])
        s.drop_connection = None
        self.check_recovers(d, "email: connection dropped after RCPT")
        self.assertEqual(len(s.messages), 1)
        d.terminate()

    def test_smtp_drop_after_data(self):
        s = self.smtp(drop_connection="after_data")
        d = self.start("email", s)
        self.check_retrying("email: connection dropped after the message", d,
                            r"(?i)closed|reset|recv|died|fail|disconnect|server",
                            server_attempts=lambda: s.sessions["dropped"])
        s.drop_connection = None
        self.check_recovers(d, "email: connection dropped after the message")
        self.assertEqual(len(s.messages), 1)
        d.terminate()

    def test_smtp_rcpt_450(self):
        s = self.smtp(fail_rcpt=(450, "4.2.1 Mailbox busy, try later"))
        d = self.start("email", s)
        self.check_retrying("email: RCPT 450", d, r"450 4\.2\.1 Mailbox busy", window=8,
                            code=450, server_attempts=lambda: s.sessions["rcpt_rejections"])
        s.fail_rcpt = None
        self.check_recovers(d, "email: RCPT 450")
        d.terminate()

    def test_smtp_mail_451(self):
        s = self.smtp(fail_mail=(451, "4.3.0 Local error in processing"))
        d = self.start("email", s)
        self.check_retrying("email: MAIL 451", d, r"451 4\.3\.0 Local error", window=8,
                            code=451, server_attempts=lambda: s.sessions["mail_rejections"])
        s.fail_mail = None
        self.check_recovers(d, "email: MAIL 451")
        d.terminate()

    def test_smtp_starttls_untrusted_certificate(self):
        pki = self.bad_pki()
        s = self.smtp(cert_file=pki["bad_cert_file"], key_file=pki["bad_key_file"],
                      ca_file=pki["ca_file"])
        d = self.start("email", s, ca_file=pki["ca_file"])
        self.check_retrying("email: STARTTLS with an untrusted certificate", d,
                            r"(?i)certificate",
                            server_attempts=lambda: s.sessions["connections"])
        self.assertEqual(s.messages, [])
        self.assertEqual(s.auths, [], "the password was sent over an untrusted connection")
        d.terminate()

    def test_smtps_untrusted_certificate(self):
        pki = self.bad_pki()
        s = self.smtp(tls="smtps", require_starttls=False, cert_file=pki["bad_cert_file"],
                      key_file=pki["bad_key_file"], ca_file=pki["ca_file"])
        d = self.start("email", s, ca_file=pki["ca_file"],
                       smtp_url="smtps://127.0.0.1:%d" % s.port)
        self.check_retrying("email: SMTPS with an untrusted certificate", d, r"(?i)certificate")
        self.assertEqual(s.messages, [])
        self.assertEqual(s.auths, [])
        d.terminate()

    def test_smtp_rcpt_550_is_permanent(self):
        s = self.smtp(fail_rcpt=(550, "5.1.1 No such user here"))
        d = self.start("email", s)
        self.check_failed("email: RCPT 550", d, r"550 5\.1\.1 No such user here", 550,
                          lambda: s.sessions["rcpt_rejections"])
        self.assertEqual(s.messages, [])
        d.terminate()

    def test_smtp_data_554_is_permanent(self):
        s = self.smtp(fail_data=(554, "5.7.1 Message refused by policy"))
        d = self.start("email", s)
        self.check_failed("email: DATA 554", d, r"554 5\.7\.1 Message refused by policy", 554,
                          lambda: s.sessions["data_rejections"])
        self.assertEqual(s.messages, [])
        d.terminate()

    @classmethod
    def tearDownClass(cls):
        for r in RESULTS:
            fl.report("servers", **r)


def add_options(p):
    p.add_argument("--cpu-window", type=float, default=10.0)


if __name__ == "__main__":
    sys.exit(fl.run_main(add_options, __doc__))
