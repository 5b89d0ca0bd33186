#!/usr/bin/python3
"""Integration tests of escalatord as a long-running daemon.

Run:  /usr/bin/python3 tests/integration/test_daemon.py --escalatord /path/to/escalatord [-v]
      (any further arguments go to unittest, e.g. -k test_sd_notify)

Standard library plus the repository's test harness (tests/harness: SmtpSink, HttpSink, and
daemon.py's DaemonCase for the tree, the processes and the waits).  Every test builds its own
temporary directory:

    <tmp>/etc/escalatord.conf       main configuration (relative paths resolve against etc/)
    <tmp>/etc/rules/10-cic.conf     rule file(s)
    <tmp>/etc/holidays/...          copy of etc/holidays/england-and-wales.txt
    <tmp>/etc/*.secret              SMTP password and webhook secret (mode 0600)
    <tmp>/data/cases.sqlite         the case store, written by this test with sqlite3
    <tmp>/var/state.sqlite          the daemon's state store
    <tmp>/run/                      the daemon's working directory; its log is run/daemon.N.stderr

Dates are chosen relative to today's date in Europe/London, counting working days with the
holiday file, so that the stages under test have already passed (or fire a few seconds from now,
test_stage_fires_on_time).  The servers listen on 127.0.0.1 only; every wait has a timeout; every
daemon started is killed in tearDown.
"""

import datetime
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402
from harness.daemon import add_working_days, is_working_day  # noqa: E402

LONDON = ZoneInfo("Europe/London")

RULE_ID = "cic-first-review"
TITLE = "First Child in Care review"
IRO = "iro-service@council.example"
FROM = "escalator@council.example"
SMTP_USER = "alerts"
SMTP_PASSWORD = "s3cret-Smtp-Pa55word"
HOOK_SECRET = "whsec-7d1f0c9a2b3e4f5061728394a5b6c7d8"


# ---------------------------------------------------------------------------------------------
# Dates relative to today (working days from harness.daemon)
# ---------------------------------------------------------------------------------------------

def london_now():
    return datetime.datetime.now(LONDON)


def today():
    return london_now().date()


# The rule under test: due 20 working days after start; reminder 5 working days before;
# overdue 1 working day after.
DUE_WD, REMINDER_WD, OVERDUE_WD = 20, -5, 1


def start_overdue_reached():
    """A start date whose 'overdue' stage date is 4 working days ago (both stages passed)."""
    due = add_working_days(today(), -5)
    return add_working_days(due, -DUE_WD)


def start_reminder_only():
    """A start date whose 'reminder' passed 3 working days ago and 'overdue' is in 3."""
    due = add_working_days(today(), 2)
    return add_working_days(due, -DUE_WD)


def due_of(start):
    return add_working_days(start, DUE_WD)


def stage_date(start, stage):
    return add_working_days(due_of(start), REMINDER_WD if stage == "reminder" else OVERDUE_WD)


# ---------------------------------------------------------------------------------------------
# Fixture files
# ---------------------------------------------------------------------------------------------

def rule_file(rule_id=RULE_ID, title=TITLE, reminder=("iro",), overdue=("team_manager", "hook"),
              extra=""):
    """The rule under test. A clock first seen past its reminder copies the reminder's
    recipients who are not overdue recipients in (told late, one delivery each): the tests
    about one delivery's fate (retries, signals, reloads) give both stages the same recipients,
    so that the overdue alert's own deliveries are the only ones."""
    q = lambda names: ", ".join('"%s"' % n for n in names)  # noqa: E731
    return """\
# Child in Care first review (test fixture)
rules = (
  {
    id = "%s";
    title = "%s";
    query = "SELECT case_ref, start, team_manager_email FROM looked_after ORDER BY case_ref";
    due = "20 working days";
%s    stages = (
      { name = "reminder"; at = "-5 working days"; notify = [ %s ]; },
      { name = "overdue";  at = "1 working day";   notify = [ %s ]; }
    );
  }
);
""" % (rule_id, title, extra, q(reminder), q(overdue))


BROKEN_RULE_FILE = """\
# a rule file with a syntax error on line 5
rules = (
  {
    id = "cic-first-review";
    title = "First Child in Care review"    query = "SELECT 1";
  }
);
"""


class DaemonTestCase(hd.DaemonCase):
    """harness.daemon.DaemonCase with this file's configuration (write_config), rule file
    (etc/rules/10-cic.conf), case store (table looked_after) and servers (HTTPS; SMTP with
    STARTTLS and AUTH required)."""
    TMP_PREFIX = "escd-"
    RULES_FILE = "10-cic.conf"
    CASE_TABLE = "looked_after"
    CASE_COLUMNS = ("case_ref", "start", "team_manager_email")
    DELIVERY_COLUMNS = ("kind", "recipient", "status", "attempts", "in_flight", "last_error")
    HTTP_DEFAULTS = {"tls": True}
    SMTP_DEFAULTS = {"tls": "starttls", "require_starttls": True,
                     "auth": {SMTP_USER: SMTP_PASSWORD}, "require_auth": True}
    STOP_TIMEOUT = 5.0

    # -- fixtures ---------------------------------------------------------------------------
    def write_config(self, smtp=None, http=None, smtp_port=None, poll_interval=1,
                     send_time="00:00", extra="", hook_path="/hook", contacts_extra="",
                     shutdown_timeout=5):
        """Main config: contacts iro (email) and hook (webhook on `http`, if any)."""
        ca = None
        contacts = ['  iro = { email = "%s"; };' % IRO]
        if http is not None:
            self.write_secret("hook.secret", HOOK_SECRET)
            contacts.append('  hook = { webhook = "%s"; secret_file = "hook.secret"; };'
                            % http.url_for(hook_path))
            ca = http.ca_file
        if contacts_extra:
            contacts.append(contacts_extra)
        smtp_block = ""
        if smtp is not None or smtp_port is not None:
            self.write_secret("smtp.secret", SMTP_PASSWORD)
            port = smtp.port if smtp is not None else smtp_port
            smtp_block = """\
smtp = {
  url = "smtp://127.0.0.1:%d";
  from = "%s";
  username = "%s";
  password_file = "smtp.secret";
  starttls = "required";
  allow_plaintext_auth = false;
};
""" % (port, FROM, SMTP_USER)
            if smtp is not None and smtp.ca_file:
                ca = smtp.ca_file
        if ca is None:
            from harness import default_pki
            ca = default_pki()["ca_file"]
        # digest = "off": these tests are about single deliveries (one message per alert,
        # its retries, its webhook JSON and audit rows); digests: tests/integration/
        # test_digests.py.
        text = "# escalatord integration test configuration\n" + self.TREE_CONFIG + """\
digest = "off";
timezone = "Europe/London";
send_time = "%s";
poll_interval = %d;
ca_file = "%s";
max_deliveries = 8;
connect_timeout = 3;
delivery_timeout = 20;
retry_min = 1;
retry_max = 2;
shutdown_timeout = %d;
%s
contacts = {
%s
};
%s""" % (send_time, poll_interval, ca, shutdown_timeout, extra, "\n".join(contacts), smtp_block)
        self.write_config_text(text)

    def write_rules(self, text=None, path=None):
        super().write_rules(text if text is not None else rule_file(), path)

    # -- assertions -------------------------------------------------------------------------
    def assert_signed(self, req):
        ts = req.headers.get("X-Escalator-Timestamp")
        sig = req.headers.get("X-Escalator-Signature")
        self.assertIsNotNone(ts, "no X-Escalator-Timestamp: %r" % dict(req.headers))
        self.assertIsNotNone(sig, "no X-Escalator-Signature: %r" % dict(req.headers))
        self.assertRegex(ts, r"^\d+$")
        self.assertLess(abs(int(ts) - req.time), 120, "timestamp far from the request time")
        want = "sha256=" + hmac.new(HOOK_SECRET.encode(), ts.encode() + b"." + req.body,
                                    hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(sig, want),
                        "bad signature %s, want %s" % (sig, want))

    def assert_no_secrets(self, *daemons):
        for d in daemons:
            data = d.log_bytes()
            for secret in (SMTP_PASSWORD, HOOK_SECRET):
                self.assertNotIn(secret.encode(), data,
                                 "a secret appears in %s" % d.stderr_path)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------

class TestDelivery(DaemonTestCase):

    def test_01_every_alert_delivered_by_email_and_webhook(self):
        smtp = self.smtp_sink()
        http = self.http_sink()
        self.write_config(smtp=smtp, http=http)
        self.write_rules()
        s_over, s_rem = start_overdue_reached(), start_reminder_only()
        rows = [("C1001", s_over, "tm.north@council.example"),
                ("C1002", s_over, "tm.south@council.example"),
                ("C1003", s_over.isoformat() + "T09:30:00", "tm.west@council.example"),
                ("C2001", s_rem, "tm.east@council.example")]
        self.make_case_store(rows)
        # Owed: C100x at "overdue" (reminder skipped) -> team manager + webhook, and the
        # skipped reminder's iro copied in (told late: one email each, of the overdue alert);
        # C2001 at "reminder" -> iro.
        want_mail = {("tm.north@council.example", "C1001"): "overdue",
                     ("tm.south@council.example", "C1002"): "overdue",
                     ("tm.west@council.example", "C1003"): "overdue",
                     (IRO, "C2001"): "reminder",
                     (IRO, "C1001"): "overdue",
                     (IRO, "C1002"): "overdue",
                     (IRO, "C1003"): "overdue"}
        want_hook = {"C1001", "C1002", "C1003"}

        d = self.start_daemon()
        msgs = smtp.wait_for(len(want_mail), timeout=15)
        reqs = http.wait_for(len(want_hook), timeout=15)
        ds = self.wait_all_sent(len(want_mail) + len(want_hook))
        time.sleep(1.5)  # more than one poll: nothing else may arrive
        msgs, reqs = smtp.messages, http.requests
        self.assertEqual(len(msgs), len(want_mail), msgs)
        self.assertEqual(len(reqs), len(want_hook), reqs)

        # -- email --
        self.assertEqual(sorted((m.rcpt_tos[0], str(m.message["X-Escalator-Case"]))
                                for m in msgs), sorted(want_mail))
        ids = set()
        for m in msgs:
            self.assertEqual(len(m.rcpt_tos), 1)
            rcpt = m.rcpt_tos[0]
            case = str(m.message["X-Escalator-Case"])
            stage = want_mail[(rcpt, case)]
            hdr = m.message
            self.assertTrue(m.tls, "message not sent over TLS")
            self.assertEqual(m.auth_user, SMTP_USER)
            self.assertEqual(m.mail_from, FROM)
            self.assertEqual(hdr["To"], rcpt)
            self.assertEqual(hdr["X-Escalator-Rule"], RULE_ID)
            self.assertEqual(hdr["X-Escalator-Case"], case)
            self.assertEqual(hdr["X-Escalator-Stage"], stage)
            self.assertIn(case, hdr["Subject"])
            self.assertIn(TITLE, hdr["Subject"])
            mid = hdr["Message-ID"]
            self.assertRegex(mid, r"^<esc-[0-9a-f]+-\d+@council\.example>$")
            self.assertEqual(mid, "<%s@council.example>" % hdr["X-Escalator-Delivery"])
            ids.add(mid)
            body = m.body_text()
            self.assertIn(case, body)
            start = [r[1] for r in rows if r[0] == case][0]
            start = datetime.date.fromisoformat(str(start)[:10])
            self.assertIn(due_of(start).isoformat(), body)
            # The default body's "what is expected" is the default text (the rule sets none):
            # rules/ruleset.c ruleset_default_expected, written out here.
            self.assertIn("\r\nExpected:  make sure the %s happens by %s and is recorded.\r\n"
                          % (TITLE, due_of(start).isoformat()), body)
            for name in ("To", "From", "Subject", "Message-ID", "X-Escalator-Case"):
                self.assertEqual(len(hdr.get_all(name)), 1, name)
        self.assertEqual(len(ids), len(msgs), "Message-IDs are not unique")
        auths = smtp.auths
        self.assertTrue(auths, "no AUTH happened")
        self.assertTrue(all(a.success and a.tls and a.user == SMTP_USER for a in auths), auths)
        self.assertGreaterEqual(smtp.sessions["starttls"], 1)

        # -- webhook --
        seen = set()
        uids = set()
        for r in reqs:
            self.assertEqual(r.method, "POST")
            self.assertEqual(r.url_path, "/hook")
            self.assertTrue(r.tls, "webhook not sent over TLS")
            self.assertTrue(r.headers.get("Content-Type", "").startswith("application/json"))
            self.assert_signed(r)
            j = r.json()
            for k in ("rule", "title", "case", "stage", "due", "fires", "delivery"):
                self.assertIn(k, j)
            self.assertEqual(j["rule"], RULE_ID)
            self.assertEqual(j["title"], TITLE)
            self.assertEqual(j["stage"], "overdue")
            start = datetime.date.fromisoformat(str([x[1] for x in rows
                                                     if x[0] == j["case"]][0])[:10])
            self.assertEqual(j["due"], due_of(start).isoformat())
            self.assertEqual(j["fires"], stage_date(start, "overdue").isoformat() + "T00:00:00")
            self.assertEqual(j["delivery"], r.headers.get("X-Escalator-Delivery"))
            seen.add(j["case"])
            uids.add(j["delivery"])
        self.assertEqual(seen, want_hook)
        self.assertEqual(len(uids), len(reqs))

        # -- state store --
        self.assertTrue(all(v[2] == "sent" and v[3] == 1 and v[4] == 0 for v in ds.values()),
                        ds)
        self.assertEqual(sorted(v[1] for v in ds.values() if v[0] == "email"),
                         sorted(r for r, _ in want_mail))
        # The copies name the skipped stage (its label) and its date.
        copied = self.state_query("SELECT a.case_ref, d.recipient, d.copied, d.copied_on FROM "
                                  "delivery d JOIN alert a ON a.id = d.alert_id WHERE d.copied "
                                  "IS NOT NULL ORDER BY a.case_ref")
        self.assertEqual(copied, [(c, IRO, "Reminder", stage_date(s_over, "reminder").isoformat())
                                  for c in ("C1001", "C1002", "C1003")])
        # Webhooks are recorded by the contact's name: the URL (it carries tokens) is not stored.
        self.assertEqual(sorted(v[1] for v in ds.values() if v[0] == "webhook"), ["hook"] * 3)
        audit = self.state_query("SELECT delivery_id, recipient, result FROM audit")
        self.assertEqual(sorted((a[0], a[2]) for a in audit), sorted((i, "sent") for i in ds))
        alerts = self.state_query("SELECT case_ref, stage FROM alert ORDER BY case_ref")
        self.assertEqual(alerts, [("C1001", "overdue"), ("C1002", "overdue"),
                                  ("C1003", "overdue"), ("C2001", "reminder")])
        skipped = self.state_query("SELECT case_ref, stage FROM clock_stage WHERE status = "
                                   "'skipped' ORDER BY case_ref")
        self.assertEqual(skipped, [("C1001", "reminder"), ("C1002", "reminder"),
                                   ("C1003", "reminder")])
        d.wait_log(r"delivery id=\d+ .*status=sent", count=10)
        d.terminate()
        self.assert_no_secrets(d)

    def test_02_nothing_resent_after_restart(self):
        smtp = self.smtp_sink()
        http = self.http_sink()
        self.write_config(smtp=smtp, http=http, poll_interval=1)
        self.write_rules()
        s = start_overdue_reached()
        self.make_case_store([("C1", s, "tm1@council.example"),
                              ("C2", s, "tm2@council.example"),
                              ("C3", start_reminder_only(), "tm3@council.example")])
        # C1, C2 at overdue: team manager, hook, and the skipped reminder's iro copied in;
        # C3 at reminder: iro. 5 emails, 2 webhooks.
        d = self.start_daemon()
        self.wait_all_sent(7)
        smtp.wait_for(5)
        http.wait_for(2)
        took = d.terminate(timeout=5)
        if self.timing_checked("stopped within 3 s"):
            self.assertLess(took, 3.0)
        n_alerts = self.state_query("SELECT count(*) FROM alert")[0][0]

        d2 = self.start_daemon()
        d2.wait_log(r"starting rules=1")
        time.sleep(2.5)  # more than two poll intervals
        self.assertEqual(len(smtp.messages), 5, smtp.messages)
        self.assertEqual(len(http.requests), 2, http.requests)
        self.assertEqual(self.state_query("SELECT count(*) FROM alert")[0][0], n_alerts)
        self.assertEqual(self.state_query("SELECT count(*) FROM delivery")[0][0], 7)
        log2 = d2.log()
        self.assertNotRegex(log2, r"alert id=")
        self.assertNotRegex(log2, r"delivery id=")
        d2.terminate()

    def test_03_new_row_alerted_within_poll_interval(self):
        http = self.http_sink()
        self.write_config(http=http, poll_interval=2)
        self.write_rules(rule_file(reminder=("hook",), overdue=("hook",)))
        self.make_case_store([("C1", start_overdue_reached(), None)])
        d = self.start_daemon()
        http.wait_for(1, timeout=10)
        self.wait_all_sent(1)
        time.sleep(0.5)
        inserted = time.time()
        self.insert_cases(("C-NEW", start_overdue_reached(), None))
        reqs = http.wait_for(2, timeout=6)
        new = [r for r in reqs if r.json()["case"] == "C-NEW"]
        self.assertEqual(len(new), 1, reqs)
        latency = new[0].time - inserted
        if self.timing_checked("new row alerted within poll_interval + 1 s"):
            self.assertLessEqual(latency, 2 + 1.0, "new row alerted %.2fs after the insert "
                                 "(poll_interval 2)" % latency)
        d.wait_log(r"alert id=\d+ rule=%s case=C-NEW stage=overdue" % RULE_ID)
        self.wait_all_sent(2)
        d.terminate()

    def test_04_stage_fires_on_time(self):
        http = self.http_sink(tls=False)
        now = london_now()
        target = (now + datetime.timedelta(minutes=1)).replace(second=0, microsecond=0)
        if (target - now).total_seconds() < 5:
            target += datetime.timedelta(minutes=1)
        fire_at = target.timestamp()
        day = target.date()
        # A stage dated today fires at send_time; on a weekend or bank holiday that needs
        # working_days_only = false (it would otherwise move to the next working day).
        extra = "" if is_working_day(day) else "    working_days_only = false;\n"
        rules = """\
rules = (
  {
    id = "visit-due";
    title = "Statutory visit";
    query = "SELECT case_ref, start FROM looked_after";
    due = "0 days";
%s    stages = ( { name = "due"; at = "0 days"; notify = [ "hook" ]; } );
  }
);
""" % extra
        self.write_config(http=http, poll_interval=30, send_time=target.strftime("%H:%M"))
        self.write_rules(rules)
        self.make_case_store([("V1", day, None)])
        d = self.start_daemon()
        d.wait_log(r"starting rules=1")
        wait = fire_at - time.time()
        reqs = http.wait_for(1, timeout=wait + 5, strict=False)
        self.assertTrue(reqs, "no webhook within 5 s of the firing time %s; stderr:\n%s"
                        % (target.isoformat(), d.log()))
        late = reqs[0].time - fire_at
        self.assertGreaterEqual(late, -0.05, "delivered %.2fs BEFORE its firing time" % -late)
        if self.timing_checked("delivered within 1.5 s of its firing time"):
            self.assertLessEqual(late, 1.5, "delivered %.2fs after its firing time" % late)
        j = reqs[0].json()
        self.assertEqual((j["case"], j["stage"], j["due"]), ("V1", "due", day.isoformat()))
        self.assertEqual(j["fires"], target.strftime("%Y-%m-%dT%H:%M:00"))
        if os.environ.get("VERBOSE_TIMING"):
            print("\nfiring at %s, webhook %.3fs later" % (target.isoformat(), late),
                  file=sys.stderr)
        self.wait_all_sent(1)
        d.terminate()


class TestRetries(DaemonTestCase):

    def test_05a_retried_until_servers_come_back(self):
        smtp = self.smtp_sink(fail_rcpt=(451, "4.3.0 Mailbox temporarily unavailable"))
        http = self.http_sink()
        http.pause()  # connection refused
        self.write_config(smtp=smtp, http=http)
        self.write_rules(rule_file(reminder=("team_manager", "hook")))
        self.make_case_store([("C1", start_overdue_reached(), "tm1@council.example")])
        d = self.start_daemon()
        d.wait_log(r"delivery id=\d+ rule=%s case=C1 stage=overdue kind=webhook .*status=retry"
                   % RULE_ID, timeout=10, count=2)
        d.wait_log(r"delivery id=\d+ rule=%s case=C1 stage=overdue kind=email .*status=retry "
                   r"code=451" % RULE_ID, timeout=10, count=2)
        ds = self.wait_state(lambda ds: len(ds) == 2 and all(v[3] >= 3 for v in ds.values()),
                             timeout=15, what="attempts >= 3")
        self.assertTrue(all(v[2] == "pending" for v in ds.values()), ds)
        email = [v for v in ds.values() if v[0] == "email"][0]
        self.assertIn("451", email[5] or "")
        self.assertEqual(smtp.messages, [])
        # attempts must rise in the log too: attempts=1, 2, ...
        att = [int(x) for x in re.findall(r"kind=webhook .*status=retry .*attempts=(\d+)",
                                          d.log())]
        self.assertEqual(att[:2], [1, 2], d.log())

        smtp.clear_faults()
        http.resume()
        ds = self.wait_all_sent(2, timeout=15)
        self.assertEqual(len(smtp.wait_for(1)), 1)
        self.assertEqual(len(http.wait_for(1)), 1)
        d.wait_log(r"kind=webhook .*status=sent")
        d.wait_log(r"kind=email .*status=sent")
        audit = self.state_query("SELECT result FROM audit")
        self.assertIn(("retry",), audit)
        self.assertIn(("sent",), audit)
        time.sleep(1.5)
        self.assertEqual(len(smtp.messages), 1)
        self.assertEqual(len(http.requests), 1)
        d.terminate()

    def test_05b_http_503_then_200(self):
        http = self.http_sink(responses=[503, 503], retry_after="1")
        self.write_config(http=http)
        self.write_rules(rule_file(reminder=("hook",), overdue=("hook",)))
        self.make_case_store([("C1", start_overdue_reached(), None)])
        d = self.start_daemon()
        self.wait_all_sent(1, timeout=15)
        reqs = http.requests
        self.assertEqual([r.status for r in reqs], [503, 503, 200])
        self.assertEqual(len({r.json()["delivery"] for r in reqs}), 1,
                         "retries must carry the same delivery id")
        self.assertEqual(list(self.deliveries().values())[0][3], 3)
        d.wait_log(r"status=retry code=503 attempts=1", count=1)
        d.wait_log(r"status=retry code=503 attempts=2", count=1)
        d.terminate()

    def test_05c_permanent_failures_not_retried(self):
        smtp = self.smtp_sink()
        smtp.set_fail_rcpt(550, "5.1.1 No such user", address="gone@council.example")

        def respond(req):
            return 404 if req.url_path == "/gone" else 200

        http = self.http_sink(responses=respond)
        self.write_config(smtp=smtp, http=http, hook_path="/gone")
        self.write_rules(rule_file(reminder=("team_manager", "hook")))
        self.make_case_store([("C1", start_overdue_reached(), "gone@council.example")])
        d = self.start_daemon()
        ds = self.wait_state(lambda ds: len(ds) == 2 and all(v[2] == "failed"
                                                             for v in ds.values()),
                             timeout=10, what="both deliveries failed")
        d.wait_log(r"error: delivery id=\d+ .*kind=webhook .*status=failed code=404")
        d.wait_log(r"error: delivery id=\d+ .*kind=email .*status=failed code=550")
        time.sleep(3.5)  # longer than retry_min + retry_max: nothing is tried again
        ds = self.deliveries()
        self.assertEqual(sorted((v[0], v[2], v[3]) for v in ds.values()),
                         [("email", "failed", 1), ("webhook", "failed", 1)])
        self.assertEqual(len(http.requests), 1)
        self.assertEqual(smtp.sessions["rcpt_rejections"], 1)
        self.assertEqual(smtp.messages, [])
        self.assertNotRegex(d.log(), r"status=retry")
        audit = self.state_query("SELECT result FROM audit ORDER BY id")
        self.assertEqual(audit, [("failed",), ("failed",)])
        d.terminate()


class TestSignals(DaemonTestCase):

    def test_06_broken_rule_file_on_sighup_keeps_old_rules(self):
        http = self.http_sink()
        self.write_config(http=http, poll_interval=1)
        self.write_rules(rule_file(reminder=("hook",), overdue=("hook",)))
        self.make_case_store([("C1", start_overdue_reached(), None)])
        d = self.start_daemon()
        http.wait_for(1)
        self.wait_all_sent(1)

        self.write_rules(BROKEN_RULE_FILE)
        d.signal(signal.SIGHUP)
        d.wait_log(r"reload failed")
        log = d.log()
        self.assertRegex(log, r"10-cic\.conf:\d+:", "the error does not name file:line")
        self.assertRegex(log, r"10-cic\.conf:5:", "the error does not name line 5")
        self.assertIsNone(d.proc.poll(), "the daemon exited after a failed reload")

        self.insert_cases(("C2", start_overdue_reached(), None))
        reqs = http.wait_for(2, timeout=6)
        j = reqs[1].json()
        self.assertEqual((j["rule"], j["case"], j["title"]), (RULE_ID, "C2", TITLE))
        d.wait_log(r"alert id=\d+ rule=%s case=C2 stage=overdue" % RULE_ID)

        self.write_rules(rule_file(title="First CiC review (v2)", reminder=("hook",),
                                   overdue=("hook",)))
        d.signal(signal.SIGHUP)
        d.wait_log(r"reloaded rules=1 files=1")
        self.insert_cases(("C3", start_overdue_reached(), None))
        reqs = http.wait_for(3, timeout=6)
        j = reqs[2].json()
        self.assertEqual((j["rule"], j["case"], j["title"]),
                         (RULE_ID, "C3", "First CiC review (v2)"))
        time.sleep(1.2)
        self.assertEqual(len(http.requests), 3, "a reload must not re-send earlier alerts")
        d.terminate()

    def test_07a_sigterm_idle_is_prompt(self):
        self.write_config()
        self.write_rules(rule_file(overdue=("iro",)))
        self.make_case_store([])
        d = self.start_daemon()
        d.wait_log(r"starting rules=1")
        time.sleep(0.5)
        took = d.terminate(timeout=5)
        if self.timing_checked("idle daemon stopped within 2 s"):
            self.assertLess(took, 2.0, "idle daemon took %.2fs to stop" % took)
        d.wait_log(r"stopped")

    def test_07b_sigterm_with_hung_delivery(self):
        http = self.http_sink(hang=True)
        self.write_config(http=http, shutdown_timeout=2)
        self.write_rules(rule_file(reminder=("hook",), overdue=("hook",)))
        self.make_case_store([("C1", start_overdue_reached(), None)])
        d = self.start_daemon()
        http.wait_for(1, timeout=10)
        self.wait_state(lambda ds: len(ds) == 1 and list(ds.values())[0][4] == 1,
                        what="delivery in flight")
        took = d.terminate(timeout=6)
        self.assertGreaterEqual(took, 1.5, "did not wait for the in-flight delivery")
        if self.timing_checked("stopped within 3.5 s with shutdown_timeout = 2"):
            self.assertLess(took, 3.5, "took %.2fs with shutdown_timeout = 2" % took)
        ds = self.deliveries()
        self.assertEqual([v[2] for v in ds.values()], ["pending"], ds)
        self.assertEqual([v[3] for v in ds.values()], [1], ds)
        self.assertRegex(d.log(), r"still in flight")
        first_uid = http.requests[0].headers.get("X-Escalator-Delivery")

        # After a restart the interrupted delivery is sent again, under the same delivery id.
        http.hang = False
        d2 = self.start_daemon()
        d2.wait_log(r"1 deliveries were in flight when escalatord last stopped")
        self.wait_all_sent(1, timeout=10)
        answered = [r for r in http.requests if r.status == 200]
        self.assertEqual(len(answered), 1, http.requests)
        self.assertEqual(answered[0].headers.get("X-Escalator-Delivery"), first_uid)
        self.assertEqual([v[3] for v in self.deliveries().values()], [2])
        d2.terminate()

    def test_07c_sigterm_exits_once_in_flight_deliveries_finish(self):
        # The webhook answers after 1 s; shutdown_timeout is 5 s.  SIGTERM while the delivery
        # is in flight must let it finish (recorded as sent) and then exit at once, not wait
        # out the whole shutdown_timeout.
        http = self.http_sink(delay=1.0)
        self.write_config(http=http, shutdown_timeout=5)
        self.write_rules(rule_file(reminder=("hook",), overdue=("hook",)))
        self.make_case_store([("C1", start_overdue_reached(), None)])
        d = self.start_daemon()
        http.wait_for(1, timeout=10)
        d.signal(signal.SIGTERM)
        rc, took = d.wait_exit(8)
        self.assertEqual(rc, 0, d.log())
        ds = self.deliveries()
        self.assertEqual([(v[2], v[3]) for v in ds.values()], [("sent", 1)], ds)
        if self.timing_checked("exited within 2.5 s, not after shutdown_timeout (5 s)"):
            self.assertLess(took, 2.5, "exited %.2fs after SIGTERM although the only delivery "
                            "in flight finished after ~1 s (shutdown_timeout = 5); stderr:\n%s"
                            % (took, d.log()))

    def test_08_sd_notify(self):
        sock_path = os.path.join(self.tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        self.addCleanup(sock.close)
        msgs = []
        cond = threading.Condition()
        stop = threading.Event()

        def reader():
            sock.settimeout(0.2)
            while not stop.is_set():
                try:
                    data = sock.recv(4096)
                except socket.timeout:
                    continue
                except OSError:
                    return
                with cond:
                    msgs.extend(data.decode("utf-8", "replace").split("\n"))
                    cond.notify_all()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        self.addCleanup(t.join, 2)
        self.addCleanup(stop.set)

        def wait_msg(pred, timeout=10, after=0):
            deadline = time.monotonic() + timeout
            with cond:
                while True:
                    for i in range(after, len(msgs)):
                        if pred(msgs[i]):
                            return i
                    left = deadline - time.monotonic()
                    if left <= 0:
                        self.fail("no matching notify message after #%d; got %r" % (after, msgs))
                    cond.wait(left)

        http = self.http_sink()
        self.write_config(http=http)
        self.write_rules(rule_file(reminder=("hook",), overdue=("hook",)))
        self.make_case_store([("C1", start_overdue_reached(), None)])
        env = dict(self.env, NOTIFY_SOCKET=sock_path)
        d = self.start_daemon(env=env)
        i_ready = wait_msg(lambda m: m == "READY=1")
        wait_msg(lambda m: m.startswith("STATUS="))
        status = [m for m in msgs if m.startswith("STATUS=")]
        self.assertTrue(any("rules=1" in m for m in status), status)
        # READY=1 before the first evaluation, which runs in slices on the loop (a long first
        # pass cannot trip the unit's start timeout); its alert follows.
        d.wait_log(r"alert id=\d+ rule=%s case=C1" % RULE_ID)
        self.wait_all_sent(1)

        d.signal(signal.SIGHUP)
        i_rel = wait_msg(lambda m: m == "RELOADING=1", after=i_ready + 1)
        wait_msg(lambda m: m == "READY=1", after=i_rel + 1)
        d.wait_log(r"reloaded rules=1")

        n = len(msgs)
        d.signal(signal.SIGTERM)
        rc, _ = d.wait_exit(5)
        self.assertEqual(rc, 0)
        wait_msg(lambda m: m == "STOPPING=1", after=n, timeout=2)


class TestDataProtection(DaemonTestCase):

    def test_09_hostile_case_refs(self):
        smtp = self.smtp_sink()
        http = self.http_sink()
        self.write_config(smtp=smtp, http=http)
        self.write_rules()
        s = start_overdue_reached()
        inject = "C9\r\nBcc: evil@example.org"
        long_ref = "L" + "0123456789" * 500  # 5001 characters
        bad_utf8 = b"BAD\xff\xfe\xc3(REF"
        rows = [(inject, s, "tm1@council.example"),
                (long_ref, s, "tm2@council.example"),
                (bad_utf8, s, "tm3@council.example"),
                # an address that would start a new header: dropped with a warning
                ("C-ADDR", s, "tm4@council.example\r\nBcc: evil@example.org")]
        self.make_case_store(rows)
        d = self.start_daemon()
        # 3 emails to team managers (the C-ADDR address is dropped) + 4 webhooks, and for each
        # of the 4 clocks (first seen at overdue) an email to the skipped reminder's iro, copied
        # in: 7 emails, all carrying a hostile case reference in their headers.
        ds = self.wait_all_sent(11, timeout=15)
        msgs = smtp.wait_for(7)
        reqs = http.wait_for(4)
        time.sleep(1.2)
        msgs, reqs = smtp.messages, http.requests
        self.assertEqual(len(msgs), 7, msgs)
        self.assertEqual(len(reqs), 4, reqs)
        self.assertEqual(sorted(v[1] for v in ds.values() if v[0] == "email"),
                         [IRO] * 4 + ["tm1@council.example", "tm2@council.example",
                                      "tm3@council.example"])

        allowed = {"from", "to", "subject", "date", "message-id", "auto-submitted",
                   "x-escalator-rule", "x-escalator-case", "x-escalator-stage",
                   "x-escalator-delivery", "mime-version", "content-type",
                   "content-transfer-encoding"}
        for m in msgs:
            self.assertEqual(len(m.rcpt_tos), 1, m.rcpt_tos)
            self.assertNotIn("evil", " ".join(m.rcpt_tos))
            names = [k.lower() for k in m.message.keys()]
            self.assertFalse(set(names) - allowed, "unexpected headers %r" % names)
            self.assertEqual(len(names), len(set(names)), "a header repeats: %r" % names)
            self.assertIsNone(m.message["Bcc"])
            self.assertIsNone(m.message["Cc"])
            head = m.data.split(b"\r\n\r\n", 1)[0]
            self.assertNotIn(b"\nBcc", head)
            for line in m.data.split(b"\r\n"):
                self.assertLessEqual(len(line), 998, "line over 998 octets")
                self.assertNotIn(b"\r", line)
                self.assertNotIn(b"\n", line)
            head.decode("ascii")  # headers are 7-bit (encoded words)
            case = str(m.message["X-Escalator-Case"])
            self.assertNotIn("\n", case)
            self.assertNotIn("\r", case)
        by_rcpt = {m.rcpt_tos[0]: m for m in msgs}
        self.assertTrue(str(by_rcpt["tm1@council.example"].message["X-Escalator-Case"])
                        .startswith("C9"))

        cases = []
        for r in reqs:
            self.assert_signed(r)
            r.body.decode("utf-8")  # strict: valid UTF-8
            j = json.loads(r.body)
            cases.append(j["case"])
        self.assertIn(inject, cases, "the webhook should carry the case reference as data")
        # A value longer than 2,000 characters keeps 2,000, cut on a character, and an ellipsis.
        self.assertIn(long_ref[:2000] + "\u2026", cases)
        self.assertIn("C-ADDR", cases)
        self.assertTrue(any(c.startswith("BAD") and c.endswith("REF") for c in cases), cases)

        d.terminate()
        data = d.log_bytes()
        self.assertNotIn(b"\r", data, "raw CR in the log")
        for line in data.split(b"\n"):
            if line:
                self.assertTrue(line.startswith(b"escalatord: "),
                                "a log line does not start with the prefix: %r" % line[:200])
            self.assertFalse(line.lstrip().startswith(b"Bcc"), line)
        self.assertIn(b"\\x0d\\x0aBcc: evil@example.org", data)
        self.assertRegex(data.decode("utf-8", "replace"),
                         r"column team_manager_email is not an email address")
        self.assert_no_secrets(d)


class TestOnce(DaemonTestCase):

    def run_once(self, timeout=30):
        self.nruns += 1
        t0 = time.monotonic()
        try:
            p = subprocess.run([hd.ESCALATORD, "-c", self.conf, "--once"], cwd=self.run_dir,
                               stdin=subprocess.DEVNULL, capture_output=True, env=self.env,
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            self.fail("escalatord --once still running after %ds; stderr:\n%s"
                      % (timeout, (e.stderr or b"").decode("utf-8", "replace")))
        took = time.monotonic() - t0
        for m in hd.SANITIZER_MARKERS:
            self.assertNotIn(m, p.stderr, p.stderr.decode("utf-8", "replace"))
        return p, took

    def test_10a_once_delivers_and_exits(self):
        smtp = self.smtp_sink()
        http = self.http_sink()
        self.write_config(smtp=smtp, http=http)
        self.write_rules()
        s = start_overdue_reached()
        self.make_case_store([("C1", s, "tm1@council.example"),
                              ("C2", s, "tm2@council.example")])
        p, took = self.run_once()
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, err)
        lines = [json.loads(x) for x in p.stdout.decode().splitlines() if x.strip()]
        self.assertEqual(sorted((a["case"], a["stage"]) for a in lines),
                         [("C1", "overdue"), ("C2", "overdue")])
        for a in lines:
            self.assertEqual(len(a["recipients"]), 2, a)
            # the skipped reminder's iro, copied in (one more email per clock)
            self.assertEqual(a.get("copied"), [IRO], a)
        self.assertEqual(len(smtp.messages), 4)
        self.assertEqual(len(http.requests), 2)
        ds = self.deliveries()
        self.assertEqual(len(ds), 6)
        self.assertTrue(all(v[2] == "sent" and v[4] == 0 for v in ds.values()), ds)
        self.assertEqual(self.state_query("SELECT count(*) FROM delivery WHERE status = "
                                          "'pending'")[0][0], 0)
        self.assertNotIn(SMTP_PASSWORD, err)
        self.assertNotIn(HOOK_SECRET, err)
        # a second --once owes nothing
        p2, _ = self.run_once()
        self.assertEqual(p2.returncode, 0)
        self.assertEqual(p2.stdout.strip(), b"")
        self.assertEqual(len(smtp.messages), 4)

    def test_10b_once_with_smtp_down_exits(self):
        http = self.http_sink()
        self.write_config(http=http, smtp_port=free_port())
        self.write_rules()
        s = start_overdue_reached()
        self.make_case_store([("C1", s, "tm1@council.example"),
                              ("C2", s, "tm2@council.example")])
        p, took = self.run_once(timeout=30)
        err = p.stderr.decode("utf-8", "replace")
        self.assertLess(took, 15, err)
        # man/escalatord.8: delivery failures do not change --once's exit status.
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(len(p.stdout.decode().splitlines()), 2)
        ds = self.deliveries()
        # the team managers' and the iro's (copied in for the skipped reminder) emails
        email = sorted((v[2], v[3], v[4]) for v in ds.values() if v[0] == "email")
        self.assertEqual(email, [("pending", 1, 0)] * 4, ds)
        hooks = [v[2] for v in ds.values() if v[0] == "webhook"]
        self.assertEqual(hooks, ["sent", "sent"])
        self.assertRegex(err, r"kind=email .*status=retry")


# ---------------------------------------------------------------------------------------------

if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
