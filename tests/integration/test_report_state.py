#!/usr/bin/python3
"""Integration test of issue 16's state-store figures against what was really sent.

Run:  /usr/bin/python3 tests/integration/test_report_state.py --escalatord /path/to/escalatord

The real escalatord --once sends a few alerts one by one (digest = "off") to the real SMTP sink
on 127.0.0.1, which refuses one address for good (550); then `escalatord report --footprint`
and `report --format csv --table alerts|recipients` (read-only) are read with Python's csv
module and compared with the messages the sink received (X-Escalator-Case, X-Escalator-Stage,
RCPT TO): recipients, delivered (sent), failed, waiting. The rule's label has a comma and one case reference starts with "="
(a spreadsheet formula): the export quotes both and defuses the second with an apostrophe.
One store for every test (setUpClass): the service runs once.

  test_rows_match_the_sink     one row per alert, oldest first, each one's counts as the sink saw
  test_quoting_and_formula     the label read back whole, "=E2" read back as "'=E2", raw CSV as
                               RFC 4180 (CRLF, quoted fields)
  test_one_case                --case: that case's rows alone; a range without alerts: the header
  test_alerts_table            report --table alerts: each stage's alerts, sent, failed as the
                               sink saw them
  test_recipients_table        report --table recipients: each address's alerts and messages
  test_reads_only              the state store is unchanged by the report
"""

import collections
import csv
import datetime
import hashlib
import io
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402

LONDON = ZoneInfo("Europe/London")
TODAY = datetime.datetime.now(LONDON).date()
IRO, TM, SM = "iro@council.example", "tm@council.example", "sm@council.example"
GONE = "gone@council.example"  # the sink refuses it for good
HEADER = ["alert_id", "rule", "case_ref", "clock_start", "due", "stage", "label", "fires",
          "created_at", "days_late", "recipients", "delivered", "failed", "waiting", "answers"]
OVERDUE_LABEL = "Overdue, team manager"

# Calendar days, so that the arithmetic does not depend on bank holidays.
RULES = """\
rules = ( {
  id = "cic-review";
  title = "Child in Care review";
  query = "SELECT case_ref, start, iro_email, tm_email, sm_email FROM cases ORDER BY case_ref";
  due = "10 days";
  working_days_only = false;
  stages = (
    { name = "reminder"; at = "-3 days"; label = "Reminder: IRO"; notify = [ "iro" ]; },
    { name = "overdue"; at = "1 day"; label = "%s"; notify = [ "tm", "iro" ]; },
    { name = "escalated"; at = "5 days"; label = "Escalated"; notify = [ "sm" ]; }
  );
} );
""" % OVERDUE_LABEL


def ago(days):
    return (TODAY - datetime.timedelta(days=days)).isoformat()


def digest_of(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class TestReportState(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        from harness import SmtpSink
        cls.tmp = tempfile.TemporaryDirectory(prefix="escreport-")
        cls.smtp = SmtpSink(fail_rcpt={GONE: (550, "5.1.1 no such user")})
        cls.smtp.start()
        try:
            cls.build()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.smtp.stop()
        cls.tmp.cleanup()

    @classmethod
    def build(cls):
        """The tree, one --once (the alerts sent for real), the year's footprint read."""
        root = cls.tmp.name
        os.makedirs(os.path.join(root, "rules"))
        shutil.copy(hd.HOLIDAY_FILE, os.path.join(root, "holidays.txt"))
        cls.state = os.path.join(root, "state.sqlite")
        cls.config = os.path.join(root, "escalatord.conf")
        with open(cls.config, "w", encoding="utf-8") as f:
            f.write("""\
case_store = "cases.sqlite";
state = "state.sqlite";
rules = "rules";
holidays = [ "holidays.txt" ];
timezone = "Europe/London";
send_time = "00:00";
connect_timeout = 3;
delivery_timeout = 10;
allowed_domains = [ "council.example" ];
digest = "off";
smtp = { url = "smtp://127.0.0.1:%d"; from = "escalator@council.example";
         starttls = "opportunistic"; };
""" % cls.smtp.port)
        with open(os.path.join(root, "rules", "10-rules.conf"), "w", encoding="utf-8") as f:
            f.write(RULES)
        db = sqlite3.connect(os.path.join(root, "cases.sqlite"))
        db.execute("CREATE TABLE cases (case_ref TEXT, start TEXT, iro_email TEXT, "
                   "tm_email TEXT, sm_email TEXT)")
        db.executemany("INSERT INTO cases VALUES (?, ?, ?, ?, ?)", [
            ("R1", ago(8), IRO, TM, SM),        # reminder (due in 2 days): the IRO
            ("O1", ago(12), IRO, TM, SM),       # overdue: team manager and IRO
            ("=E2", ago(12), IRO, GONE, SM),    # overdue: the team manager's address refused
            ("E1", ago(20), IRO, TM, GONE),     # escalated, refused; IRO and TM copied in
        ])
        db.commit()
        db.close()
        p = cls.run_escalatord("--once")
        if p.returncode != 0:
            raise AssertionError("--once failed:\n" + p.stderr)
        cls.messages = list(cls.smtp.messages)
        cls.state_sha = digest_of(cls.state)
        cls.csv_raw = cls.footprint("--from", ago(3), "--to", ago(-1))
        cls.rows = list(csv.reader(io.StringIO(cls.csv_raw, newline="")))

    @classmethod
    def run_escalatord(cls, *args):
        p = subprocess.run([hd.ESCALATORD, "-c", cls.config] + list(args), cwd=cls.tmp.name,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=60,
                           env=dict(os.environ, LC_ALL="C"))
        out = subprocess.CompletedProcess(p.args, p.returncode,
                                          p.stdout.decode("utf-8", "replace"),
                                          p.stderr.decode("utf-8", "replace"))
        for m in hd.SANITIZER_MARKERS:
            if m in p.stderr:
                raise AssertionError("sanitizer report:\n" + out.stderr)
        return out

    @classmethod
    def footprint(cls, *args):
        p = cls.run_escalatord("report", "--footprint", *args)
        if p.returncode != 0:
            raise AssertionError("report --footprint failed:\n" + p.stderr)
        return p.stdout

    # ------------------------------------------------------------------------------------------
    def sent_to(self, case, stage):
        """The addresses the sink accepted a message for about case at stage."""
        return sorted(r for m in self.messages
                      if m.message["X-Escalator-Case"] == case
                      and m.message["X-Escalator-Stage"] == stage for r in m.rcpt_tos)

    def test_rows_match_the_sink(self):
        self.assertEqual(self.rows[0], HEADER)
        rows = [dict(zip(HEADER, r)) for r in self.rows[1:]]
        self.assertTrue(all(len(r) == len(HEADER) for r in self.rows))
        # One row per alert: R1 reminder, O1 and =E2 overdue, E1 escalated (the stages E1
        # skipped are not alerts of their own: their recipients are copied into it).
        got = sorted((r["case_ref"], r["stage"]) for r in rows)
        self.assertEqual(got, [("'=E2", "overdue"), ("E1", "escalated"), ("O1", "overdue"),
                               ("R1", "reminder")])
        ids = [int(r["alert_id"]) for r in rows]
        self.assertEqual(ids, sorted(ids), "oldest first (one pass: in the order recorded)")
        want = {
            # case: (every recipient told, delivered by the sink, refused)
            "R1": ({IRO}, [IRO], 0),
            "O1": ({TM, IRO}, [IRO, TM], 0),
            "=E2": ({GONE, IRO}, [IRO], 1),
            "E1": ({GONE, IRO, TM}, [IRO, TM], 1),
        }
        for r in rows:
            case = r["case_ref"].lstrip("'")
            told, delivered, refused = want[case]
            recipients = r["recipients"].split("; ")
            self.assertEqual(sorted(recipients), sorted("email:" + a for a in told), case)
            # What the sink really received for this case and stage: the same addresses.
            self.assertEqual(self.sent_to(case, r["stage"]), sorted(delivered), case)
            self.assertEqual(int(r["delivered"]), len(self.sent_to(case, r["stage"])), case)
            self.assertEqual(int(r["failed"]), refused, case)
            self.assertEqual(int(r["waiting"]), 0, case)
            self.assertEqual(r["rule"], "cic-review")
            self.assertEqual(r["answers"], "")
            # The clock's dates: start, due = start + 10 days; created today (London).
            self.assertEqual(r["due"], (datetime.date.fromisoformat(r["clock_start"])
                                        + datetime.timedelta(days=10)).isoformat())
            self.assertTrue(r["created_at"].startswith(TODAY.isoformat()), r["created_at"])
        starts = {r["case_ref"].lstrip("'"): r["clock_start"] for r in rows}
        self.assertEqual(starts, {"R1": ago(8), "O1": ago(12), "=E2": ago(12), "E1": ago(20)})
        # The sink saw exactly the deliveries the export counts as delivered.
        self.assertEqual(sum(int(r["delivered"]) for r in rows),
                         sum(len(m.rcpt_tos) for m in self.messages))

    def test_quoting_and_formula(self):
        rows = [dict(zip(HEADER, r)) for r in self.rows[1:]]
        o1 = next(r for r in rows if r["case_ref"] == "O1")
        self.assertEqual(o1["label"], OVERDUE_LABEL)
        self.assertIn('"%s"' % OVERDUE_LABEL, self.csv_raw, "a value with a comma is quoted")
        self.assertIn(',"\'=E2",', self.csv_raw, "a formula is defused with an apostrophe")
        self.assertNotIn(",=E2,", self.csv_raw)
        self.assertTrue(self.csv_raw.endswith("\r\n"))
        self.assertEqual(self.csv_raw.count("\r\n"), len(self.rows), "CRLF after every record")

    def test_one_case(self):
        out = self.footprint("--case", "E1", "--from", ago(3), "--to", ago(-1))
        rows = list(csv.reader(io.StringIO(out, newline="")))
        self.assertEqual(rows[0], HEADER)
        self.assertEqual([r[2] for r in rows[1:]], ["E1"])
        self.assertEqual(rows[1], next(r for r in self.rows if r[2] == "E1"))
        # Alerts are in a range by the day they were raised: none a year ago.
        out = self.footprint("--from", ago(400), "--to", ago(300))
        self.assertEqual(out, ",".join(HEADER) + "\r\n")

    def table(self, name):
        p = self.run_escalatord("report", "--format", "csv", "--table", name, "--from", ago(3),
                                "--to", ago(-1))
        self.assertEqual(p.returncode, 0, p.stderr)
        return list(csv.reader(io.StringIO(p.stdout, newline="")))

    def test_alerts_table(self):
        """--table alerts: per stage (in the rule's order) the alerts and what the sink saw."""
        rows = self.table("alerts")
        self.assertEqual(rows[0], ["rule", "stage", "label", "alerts", "sent", "failed",
                                   "waiting"])
        sent = collections.Counter(m.message["X-Escalator-Stage"] for m in self.messages
                                   for _ in m.rcpt_tos)
        # Refused for good: =E2's team manager (overdue), E1's service manager (escalated).
        want = [["cic-review", "reminder", "Reminder: IRO", "1", str(sent["reminder"]), "0", "0"],
                ["cic-review", "overdue", OVERDUE_LABEL, "2", str(sent["overdue"]), "1", "0"],
                ["cic-review", "escalated", "Escalated", "1", str(sent["escalated"]), "1", "0"]]
        self.assertEqual(rows[1:], want)
        self.assertEqual((sent["reminder"], sent["overdue"], sent["escalated"]), (1, 3, 2))

    def test_recipients_table(self):
        """--table recipients: most alerts first, each one's messages as the sink saw them."""
        rows = self.table("recipients")
        self.assertEqual(rows[0], ["kind", "recipient", "alerts", "sent", "failed", "answered"])
        sent = collections.Counter(r for m in self.messages for r in m.rcpt_tos)
        # The IRO: R1, O1, =E2 and E1 (copied in); the team manager O1 and E1 (copied in); the
        # refused address =E2's team manager and E1's service manager. Ties by name.
        want = [["email", IRO, "4", str(sent[IRO]), "0", "0"],
                ["email", GONE, "2", "0", "2", "0"],
                ["email", TM, "2", str(sent[TM]), "0", "0"]]
        self.assertEqual(rows[1:], want)
        self.assertEqual((sent[IRO], sent[TM], sent[GONE]), (4, 2, 0))

    def test_reads_only(self):
        """Nothing recorded: the state file is byte for byte as --once left it."""
        self.footprint("--from", ago(3), "--to", ago(-1))
        self.assertEqual(digest_of(self.state), self.state_sha)


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
