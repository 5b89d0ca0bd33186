#!/usr/bin/python3
"""Integration test of issue 15 points 4 and 5: `escalatord status` and the stale-extract alarm.

Run:  /usr/bin/python3 tests/integration/test_status.py --escalatord /path/to/escalatord [-v]

The real escalatord, real SQLite files, the SMTP sink of tests/harness.

  TestStatusDemo (one generated demo store, tests/gen/gencases.py, and the shipped rule pack,
  shared by its tests; one team manager's mailbox refuses mail with 550):
    test_1_before_the_service_ran  status with no state store: "PROBLEM: the service has not run
        yet", exit 1, the JSON says not_run; and it creates no state store.
    test_2_after_once              a real --once (delivered to the sink): status in text and
        --json (parsed); the last pass's figures are the --once run's, the outbox's sent and
        failed counts add up to the recipients of the alerts --once printed, the one refused
        digest is listed with its recipient and the server's 550, and it is the only problem
        (exit 1); the text puts it first; the state store is byte for byte the same after, and
        no file (-wal, -shm) appeared beside it.

  TestStaleAlarm (a small store, poll_interval = 1, listen on a free port, admin = "ops"):
    test_stale_then_fresh  the case store's file set two days back, max_store_age = "26 hours":
        the admin gets exactly one "stale" email (read as a mail client reads it,
        harness/mail_check.py), /healthz answers 503 saying so, /metrics has
        escalator_case_store_stale 1 and the age, status says so (exit 1) and that ops was told;
        the overdue alert still goes out. A restart while it is still stale sends nothing
        again. A rule file edited and one added meanwhile show in status as edited and new
        since the service loaded its files.
        Then the file is touched: exactly one "fresh" email, /healthz 200, stale 0; another
        restart sends nothing.

  TestFreshnessQuery:
    test_check_compiles_it      --check reports a freshness_query that does not compile (and one
        of two columns) at its line; a bad max_store_age unit gets a did-you-mean.
    test_query_decides          freshness_query on an extract_log three days old, in a file
        just written: the query, not the file's time, raises the alarm; a new row in
        extract_log clears it (one stale, one fresh email).
"""

import datetime
import hashlib
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402
from harness import mail_check  # noqa: E402

GENCASES = os.path.join(hd.SRCDIR, "tests", "gen", "gencases.py")
PYTHON = "/usr/bin/python3"
REFUSED = "team.manager.002@demo.council.example"
ADMIN = "escalator.admin@demo.council.example"


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def parse_metrics(page):
    out = {}
    for line in page.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


# ---------------------------------------------------------------------------------------------
# status on the demo council's store
# ---------------------------------------------------------------------------------------------

class TestStatusDemo(unittest.TestCase):
    """One generated store and one --once run, shared by the tests (they run in name order)."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        from harness import SmtpSink
        cls.tmp = tempfile.mkdtemp(prefix="escstatus-")
        cls.conf = os.path.join(cls.tmp, "escalator.conf")
        cls.state = os.path.join(cls.tmp, "state.db")
        cls.cases = os.path.join(cls.tmp, "cases.db")
        subprocess.run([PYTHON, GENCASES, "--out", cls.cases, "--children", "300", "--seed", "1"],
                       check=True, capture_output=True, timeout=120)
        cls.sink = SmtpSink()
        cls.sink.start()
        cls.sink.set_fail_rcpt(550, "5.1.1 <%s>: mailbox unavailable" % REFUSED, REFUSED)
        with open(cls.conf, "w", encoding="utf-8") as f:
            f.write("""\
case_store = "cases.db";
state = "state.db";
rules = "%s";
holidays = [ "%s" ];
timezone = "Europe/London";
digest = "daily";
max_store_age = "26 hours";
allowed_domains = [ "demo.council.example" ];
admin = "escalator_admin";
contacts = {
  iro_service = { email = "iro.service@demo.council.example"; };
  escalator_admin = { email = "%s"; };
};
smtp = { url = "smtp://127.0.0.1:%d"; from = "escalator@demo.council.example";
  starttls = "opportunistic"; };
""" % (os.path.join(hd.SRCDIR, "etc", "rules.d"), hd.HOLIDAY_FILE, ADMIN, cls.sink.port))
        cls.env = dict(os.environ, LC_ALL="C")

    @classmethod
    def tearDownClass(cls):
        cls.sink.stop()
        if os.environ.get("KEEP_TMP"):
            print("kept %s" % cls.tmp, file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_escalatord(self, *args):
        return subprocess.run([hd.ESCALATORD, "-c", self.conf] + list(args), cwd=self.tmp,
                              capture_output=True, timeout=120, env=self.env)

    def status(self):
        """(exit status, text, parsed --json) of status, which writes nothing to stderr."""
        t = self.run_escalatord("status")
        j = self.run_escalatord("status", "--json")
        self.assertEqual(t.returncode, j.returncode, t.stderr + j.stderr)
        self.assertEqual((t.stderr, j.stderr), (b"", b""))
        return t.returncode, t.stdout.decode(), json.loads(j.stdout)

    def test_1_before_the_service_ran(self):
        rc, text, doc = self.status()
        self.assertEqual(rc, 1, text)
        self.assertTrue(text.startswith("PROBLEM: the service has not run yet: there is no "
                                        "state store at"), text)
        self.assertFalse(doc["ok"])
        self.assertEqual(doc["problems"][0]["what"], "not_run")
        self.assertEqual(doc["state_store"]["exists"], False)
        self.assertIsNone(doc["last_pass"])
        self.assertEqual(doc["case_store"]["stale"], False)
        self.assertEqual(doc["case_store"]["source"], "file")
        self.assertLess(doc["case_store"]["age_seconds"], 600)
        self.assertFalse(os.path.exists(self.state), "status made a state store")

    def test_2_after_once(self):
        once = self.run_escalatord("--once")
        self.assertEqual(once.returncode, 0, once.stderr.decode()[-3000:])
        alerts = [json.loads(line) for line in once.stdout.splitlines()]
        self.assertGreater(len(alerts), 50)
        recipients = sum(len(a["recipients"]) + len(a.get("copied", [])) for a in alerts)
        before = sha256(self.state)
        files = sorted(os.listdir(self.tmp))

        rc, text, doc = self.status()
        self.assertEqual(sha256(self.state), before, "status changed the state store")
        # Not even a -wal or -shm file: run as root, those would be root's, and the service
        # could not open its own store.
        self.assertEqual(sorted(os.listdir(self.tmp)), files)
        self.assertEqual(rc, 1, text)
        self.assertEqual([p["what"] for p in doc["problems"]], ["deliveries_failed"], text)
        self.assertEqual([n["what"] for n in doc["notes"]], ["not_started"], text)

        p = doc["last_pass"]
        self.assertEqual(p["why"], "start")
        self.assertEqual(p["alerts"], len(alerts))
        self.assertEqual(p["failed_rules"], 0)
        self.assertEqual(p["skipped_rows"], 0)
        self.assertGreater(p["clocks"], len(alerts))
        self.assertLess(p["ago_seconds"], 120)
        self.assertIsNone(doc["loaded"])  # only the service records what it loaded

        email = doc["outbox"]["email"]
        # Every recipient of every alert: sent, or failed with the refused digest; the one held
        # item is the admin's notice of that failure (for the admin's next digest).
        self.assertEqual(email["sent"] + email["failed"], recipients, email)
        self.assertEqual((email["pending"], email["bundled"], email["held"]), (0, 0, 1), email)
        self.assertGreater(email["failed"], 0)
        self.assertIsNotNone(email["next_digest"])
        self.assertIsNone(email["oldest_pending"])
        for other in ("webhook", "teams", "slack", "notify"):
            self.assertEqual(doc["outbox"][other]["sent"], 0)

        f = doc["failures"]
        self.assertEqual((f["days"], f["count"]), (7, 1), f)
        item = f["items"][0]
        self.assertEqual(item["recipient"], REFUSED)
        self.assertEqual(item["channel"], "email")
        self.assertIn("550 5.1.1", item["error"])
        self.assertEqual(item["digest_items"], email["failed"])
        self.assertLess(abs(item["at"] - time.time()), 300)

        self.assertEqual(doc["today"]["alerts"], len(alerts) + 1)  # and the admin's notice
        self.assertEqual(doc["today"]["sent"], len(self.sink.messages))
        self.assertEqual(doc["answers"], {"acknowledged": 0, "agreed": 0, "disagree": 0})
        self.assertEqual(doc["case_store"]["stale"], False)
        self.assertEqual(doc["case_store"]["max_age_seconds"], 26 * 3600)

        lines = text.splitlines()
        self.assertEqual(lines[0], "PROBLEM: 1 delivery failed for good in the last 7 days: the "
                         "recipient did not")
        self.assertIn("Failed for good in the last 7 days", text)
        self.assertIn(REFUSED, text)
        self.assertIn("a digest of %d items: RCPT: 550 5.1.1" % email["failed"],
                      " ".join(text.split()))
        self.assertRegex(text, r"\n  email +0 +1 +0 +%d +%d\n" % (email["sent"],
                                                                 email["failed"]))
        self.assertIn("%d alerts recorded, %d messages sent" % (len(alerts) + 1,
                                                               len(self.sink.messages)), text)
        self.assertIn("max_store_age  26 hours: the data is within it", text)
        for line in lines:
            self.assertLessEqual(len(line), 78, line)
        print("\n--- escalatord status after --once on the demo store ---\n" + text,
              file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# The stale-extract alarm
# ---------------------------------------------------------------------------------------------

RULES = """\
rules = ( {
  id = "review";
  title = "Child in Care review";
  query = "SELECT case_ref, start FROM cases";
  due = "10 days";
  working_days_only = false;
  stages = ( { name = "overdue"; at = "1 day"; notify = [ "tm" ]; } );
} );
"""


class AlarmCase(hd.DaemonCase):
    TMP_PREFIX = "escstale-"

    def configure(self, smtp, extra=""):
        self.port = hd.free_port()
        self.write_config_text(self.TREE_CONFIG + """\
timezone = "Europe/London";
poll_interval = 1;
digest = "off";
retry_min = 1;
allowed_domains = [ "council.example" ];
listen = "127.0.0.1:%d";
admin = "ops";
contacts = { ops = { email = "ops@council.example"; }; tm = { email = "tm@council.example"; }; };
smtp = { url = "smtp://127.0.0.1:%d"; from = "escalator@council.example";
  starttls = "opportunistic"; };
%s""" % (self.port, smtp.port, extra))
        self.write_rules(RULES)

    def admin_mail(self, smtp, stage=None):
        """The messages to ops (of one stage), checked as a mail client reads them."""
        out = []
        for m in smtp.messages:
            if m.rcpt_tos != ["ops@council.example"]:
                continue
            checked = mail_check.check_message(m.data, [])
            self.assertEqual(checked["problems"], [], checked)
            self.assertEqual(m.message["X-Escalator-Rule"], "escalator-case-store-age")
            if stage is None or m.message["X-Escalator-Stage"] == stage:
                out.append(checked)
        return out

    def wait_admin(self, smtp, stage, n=1, timeout=15):
        self.wait_for(lambda: len(self.admin_mail(smtp, stage)) >= n, timeout=timeout,
                      what="%d %r email(s) to the admin" % (n, stage))
        return self.admin_mail(smtp, stage)

    def get(self, path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def status(self):
        t = self.run_escalatord(["status"])
        j = self.run_escalatord(["status", "--json"])
        self.assertEqual(t.returncode, j.returncode)
        self.assertEqual((t.stderr, j.stderr), (b"", b""))  # (a sanitizer's report, too)
        return t.returncode, t.stdout.decode(), json.loads(j.stdout)


class TestStaleAlarm(AlarmCase):

    def test_stale_then_fresh(self):
        smtp = self.smtp_sink()
        self.configure(smtp, 'max_store_age = "26 hours";\n')
        today = datetime.date.today()
        self.make_case_store([("C1", today - datetime.timedelta(days=20)),
                              ("C2", today + datetime.timedelta(days=30))])
        old = time.time() - 2 * 86400
        os.utime(self.case_store, (old, old))

        # systemd's notify socket: systemctl status shows the alarm on the STATUS= line.
        notify_path = os.path.join(self.run_dir, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        self.addCleanup(notify.close)
        d = self.start_daemon(env=dict(self.env, NOTIFY_SOCKET=notify_path))
        d.wait_listening(self.port)
        stale = self.wait_admin(smtp, "stale")
        self.assertEqual(len(stale), 1)
        m = stale[0]
        self.assertEqual(m["subject"], "escalator: the case store's data is 2 days old; check "
                         "the extract")
        plain = " ".join(m["plain"].split())
        configured = os.path.join(self.etc, "..", "data", "cases.sqlite")  # as escalator.conf
        self.assertIn("The data in the case store %s is 2 days old: the file last changed on "
                      % configured, plain)
        self.assertIn("at least every 26 hours (max_store_age)", plain)
        self.assertIn("Alerts keep going out from the data escalator has; check the extract.",
                      plain)
        self.assertIn("escalator tells you again when new data arrives.", plain)
        d.wait_log(r"warning: case store stale path=\S+ data_time=\S+ age=1728\d\ds "
                   r"max_store_age=93600s source=file: alerts keep going out")
        d.wait_log(r"alert id=\d+ rule=escalator-case-store-age stage=stale to=ops")
        # Alerts keep going out: the overdue review reached its team manager.
        smtp.wait_until(lambda s: any(x.rcpt_tos == ["tm@council.example"]
                                      for x in s.messages), timeout=10)
        print("\n--- the stale email ---\nSubject: %s\n\n%s" % (m["subject"], m["plain"]),
              file=sys.stderr)

        notify.settimeout(0.2)
        statuses, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and not any("case_store=stale" in m
                                                      for m in statuses):
            try:
                statuses += [m for m in notify.recv(4096).decode().split("\n")
                             if m.startswith("STATUS=")]
            except socket.timeout:
                pass
        self.assertTrue(any(m.endswith(" case_store=stale") for m in statuses), statuses)

        status, body = self.get("/healthz")
        self.assertEqual(status, 503, body)
        self.assertRegex(body, r"^case store stale: its data is 1728\d\ds old, over "
                         r"max_store_age \(93600s\); alerts keep going out\n$")
        metrics = parse_metrics(self.get("/metrics")[1])
        self.assertEqual(metrics["escalator_case_store_stale"], 1)
        self.assertEqual(metrics["escalator_case_store_max_age_seconds"], 93600)
        self.assertGreaterEqual(metrics["escalator_case_store_age_seconds"], 2 * 86400)
        self.assertEqual(metrics['escalator_alerts_total{rule="escalator-case-store-age",'
                                 'stage="stale"}'], 1)

        # A rule file edited, and one added, while the service runs show as such.
        with open(self.rules_path, "a", encoding="utf-8") as f:
            f.write("# a comment added after the service loaded it\n")
        self.write_rules(RULES.replace('"review"', '"later"').replace("FROM cases",
                                                                      "FROM cases WHERE 0"),
                         os.path.join(self.etc, "rules", "20-later.conf"))
        rc, text, doc = self.status()
        self.assertEqual(rc, 1, text)
        self.assertEqual(doc["problems"][0]["what"], "case_store_stale", text)
        self.assertTrue(text.startswith("PROBLEM: the case store's data is 2 days"), text)
        cs = doc["case_store"]
        self.assertEqual((cs["stale"], cs["max_store_age"], cs["source"]),
                         (True, "26 hours", "file"))
        self.assertEqual((cs["alarm"]["raised"], cs["alarm"]["admin"]), (True, "ops"))
        self.assertLess(abs(cs["alarm"]["told"] - time.time()), 60)
        self.assertRegex(text, r"Alarm +raised \w{3} \d+ \w{3} \d{4} \d\d:\d\d; ops was told")
        self.assertRegex(" ".join(text.split()), r"^PROBLEM: the case store's data is 2 days old "
                         r"\(from .*\), over max_store_age \(26 hours\): check the extract; "
                         r"alerts keep going out from the data escalator has; ops was told on ")
        files = {os.path.basename(f["file"]): f["state"] for f in doc["loaded"]["files"]}
        self.assertEqual(files, {"10-rules.conf": "edited", "england-and-wales.txt": "same"})
        self.assertEqual([os.path.basename(f) for f in doc["loaded"]["new_files"]],
                         ["20-later.conf"])
        self.assertIn("files_edited", [n["what"] for n in doc["notes"]])
        flat = " ".join(text.split())
        self.assertIn("Note: rule or holiday files changed since the service loaded them (1 "
                      "edited or removed, 1 new): run escalatord preview, then reload", flat)
        self.assertIn("- 10-rules.conf: edited since the service loaded it", flat)
        self.assertIn("- 20-later.conf: new, not loaded yet: run escalatord preview, then "
                      "reload", flat)
        # The admin's -c spelt otherwise than the service's (relative, from /etc): the same files.
        rel = subprocess.run([hd.ESCALATORD, "-c", os.path.basename(self.conf), "status", "--json"],
                             cwd=os.path.dirname(self.conf), capture_output=True, timeout=60)
        self.assertEqual([os.path.basename(f) for f in json.loads(rel.stdout)["loaded"]["new_files"]],
                         ["20-later.conf"], rel.stderr)

        # Restarted while still stale: not told again.
        d.terminate()
        d = self.start_daemon()
        d.wait_log(r"starting rules=2", timeout=10)
        time.sleep(2)  # two polls
        self.assertEqual(len(self.admin_mail(smtp)), 1, "told twice after a restart")

        # New data: told once that it is fresh again.
        os.utime(self.case_store, None)
        fresh = self.wait_admin(smtp, "fresh")
        self.assertEqual(fresh[0]["subject"], "escalator: the case store has new data again")
        self.assertIn("Alerts are worked out from current data again.", fresh[0]["plain"])
        d.wait_log(r"case store fresh again path=\S+ data_time=\S+ age=\d+s source=file")
        self.wait_for(lambda: self.get("/healthz") == (200, "ok\n"), timeout=5,
                      what="/healthz ok again")
        self.assertEqual(parse_metrics(self.get("/metrics")[1])["escalator_case_store_stale"], 0)
        rc, text, doc = self.status()
        self.assertEqual(doc["case_store"]["stale"], False)
        self.assertEqual(doc["case_store"]["alarm"]["raised"], False)
        # Nothing else is wrong (the restart loaded the edited rule file): all is well.
        self.assertEqual((rc, doc["ok"], doc["problems"], doc["notes"]), (0, True, [], []), text)
        self.assertRegex(" ".join(text.split()), r"^OK: last pass \d+ seconds? ago; the case "
                         r"store's data is \d+ seconds? old; nothing waiting to be sent\. The "
                         r"service ")

        # And restarted fresh: nothing more.
        d.terminate()
        d = self.start_daemon()
        d.wait_listening(self.port)
        time.sleep(2)
        self.assertEqual([x["subject"] for x in self.admin_mail(smtp)],
                         [stale[0]["subject"], fresh[0]["subject"]])
        self.assertEqual(len([x for x in smtp.messages if x.rcpt_tos == ["tm@council.example"]]),
                         1, "the overdue alert went twice")
        d.terminate()
        self.assert_log_lines_clean(d)


class TestFreshnessQuery(AlarmCase):
    CASE_TABLE = "cases"

    def extract_log(self, *times):
        db = sqlite3.connect(self.case_store, timeout=10)
        db.execute("CREATE TABLE IF NOT EXISTS extract_log (extracted_at TEXT)")
        db.executemany("INSERT INTO extract_log VALUES (?)", [(t,) for t in times])
        db.commit()
        db.close()

    def test_check_compiles_it(self):
        smtp = self.smtp_sink()
        self.make_case_store([])
        self.extract_log()
        for extra, line, want in (
                ('max_store_age = "26 hours";\nfreshness_query = "SELECT max(x) FROM nope";\n',
                 16, "freshness_query: "),
                ('max_store_age = "26 hours";\nfreshness_query = '
                 '"SELECT extracted_at, 1 FROM extract_log";\n', 16, "returns 2 columns"),
                ('max_store_age = "26 hours";\nfreshness_query = '
                 '"DELETE FROM extract_log";\n', 16, "may only read"),
                ('max_store_age = "26 hous";\n', 15, 'did you mean "hours"?')):
            with self.subTest(want=want):
                self.configure(smtp, extra)
                p = self.run_escalatord(["--check"])
                err = p.stdout.decode() + p.stderr.decode()
                self.assertEqual(p.returncode, 1, err)
                self.assertRegex(err, r"escalatord\.conf:%d: [^\n]*%s" % (line, want.replace(
                    "(", r"\(")), err)
        self.configure(smtp, 'max_store_age = "26 hours";\nfreshness_query = '
                             '"SELECT max(extracted_at) FROM extract_log";\n')
        p = self.run_escalatord(["--check"])
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())

    def test_query_decides(self):
        smtp = self.smtp_sink()
        self.configure(smtp, 'max_store_age = "26 hours";\nfreshness_query = '
                             '"SELECT max(extracted_at) FROM extract_log";\n')
        self.make_case_store([])
        three_days = (datetime.datetime.now() - datetime.timedelta(days=3))
        self.extract_log(three_days.strftime("%Y-%m-%d %H:%M:%S"))
        d = self.start_daemon()
        stale = self.wait_admin(smtp, "stale")
        plain = " ".join(stale[0]["plain"].split())
        self.assertIn("is 3 days old: its freshness_query says it is from", plain)
        d.wait_log(r"case store stale path=\S+ data_time=\S+ age=2592\d\ds "
                   r"max_store_age=93600s source=freshness_query")
        rc, text, doc = self.status()
        self.assertEqual(rc, 1, text)
        self.assertEqual((doc["case_store"]["source"], doc["case_store"]["stale"]),
                         ("freshness_query", True))
        self.assertLess(abs(doc["case_store"]["data_time"] - three_days.timestamp()), 2)
        self.assertIn("as freshness_query says", text)

        self.extract_log(datetime.datetime.now(datetime.timezone.utc).strftime(
            "%Y-%m-%dT%H:%M:%SZ"))
        fresh = self.wait_admin(smtp, "fresh")
        self.assertIn("its freshness_query says it is from", " ".join(fresh[0]["plain"].split()))
        time.sleep(2)
        self.assertEqual(len(self.admin_mail(smtp)), 2)
        rc, text, doc = self.status()
        self.assertEqual((rc, doc["case_store"]["stale"]), (0, False), text)
        d.terminate()


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__, verbosity=2))
