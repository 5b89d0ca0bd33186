#!/usr/bin/python3
"""Integration test of escalatord report: the real escalatord on small hand-made case stores whose
figures are worked out by hand below, on the real England and Wales holiday file
(etc/holidays/england-and-wales.txt).

Run:  /usr/bin/python3 tests/integration/test_report.py --escalatord /path/to/escalatord
      [unittest options]

Standard library only. One rule, "review", is due 20 working days after its start (counted from
the day after, as the calendar counts them for stages); its history query returns the completed
clocks of table done_clocks, its live query the open ones of open_clocks. Every row below says
its due date and how late it was, counted by hand on a calendar: the comments are the oracle.
Covered: a done on the due date, a done one working day late at a month's end, the leap day,
Easter (Good Friday and Easter Monday not counted), Christmas and New Year, a done before its
start and a done that is not a date (skipped, with a warning naming rule and case), open and
overdue at each period's end from history and open clocks together, periods that start on the
31st, and practice resolution by theme and stage.
"""

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
HOLIDAYS = os.path.join(REPO, "etc", "holidays", "england-and-wales.txt")
NOW = "2025-01-15T09:00:00"

CONFIG = """\
case_store = "cases.sqlite";
state = "state.sqlite";
rules = "rules";
holidays = [ "holidays.txt" ];
contacts = { iro = { email = "iro@council.example"; }; };
"""

RULES = """\
rules = (
  {
    id = "review";
    title = "Child in Care review";
    query = "SELECT case_ref, start FROM open_clocks";
    history = "SELECT case_ref, start, done FROM done_clocks";
    target = 90;
    due = "20 working days";
    stages = ( { name = "overdue"; at = "1 working day"; notify = [ "iro" ]; } );
  },
  {
    id = "escalation";
    title = "Practice escalation";
    query = "SELECT case_ref, start, theme FROM open_escalations";
    history = "SELECT case_ref, start, done, theme, stage FROM done_escalations";
    due = "5 working days";
    stages = ( { name = "overdue"; at = "1 working day"; notify = [ "iro" ]; } );
  },
  {
    id = "no-history";
    title = "A rule without a history query";
    query = "SELECT case_ref, start FROM open_clocks";
    due = "10 days";
    stages = ( { name = "overdue"; at = "1 day"; notify = [ "iro" ]; } );
  }
);
"""

# (case_ref, start, done): due dates and lateness counted by hand.
DONE = [
    # start Fri 29 Dec 2023: 30-31 Dec weekend, 1 Jan holiday; day 1 is Tue 2 Jan, day 20 Mon 29
    # Jan = due. Done Wed 31 Jan: late 2 (30, 31 Jan).
    ("C0", "2023-12-29", "2024-01-31"),
    # start Tue 2 Jan 2024: day 1 Wed 3 Jan ... day 20 Tue 30 Jan = due. Done Wed 31 Jan: late 1.
    ("C1", "2024-01-02", "2024-01-31"),
    # the same start, done on the due date itself: on time.
    ("C2", "2024-01-02", "2024-01-30"),
    # start Thu 1 Feb 2024: day 1 Fri 2 Feb, day 17 Mon 26 Feb ... day 20 Thu 29 Feb (leap
    # day) = due. Done on the leap day: on time.
    ("C3a", "2024-02-01", "2024-02-29"),
    # the same clock done Fri 1 Mar: late 1.
    ("C3b", "2024-02-01", "2024-03-01"),
    # start Fri 1 Mar 2024: day 19 Thu 28 Mar; Good Friday 29 Mar, the weekend, Easter Monday 1
    # Apr not counted; day 20 Tue 2 Apr = due. Done Thu 4 Apr: late 2 (3, 4 Apr).
    ("C4", "2024-03-01", "2024-04-04"),
    # the same start, done on the due date (Tue 2 Apr): on time.
    ("C4b", "2024-03-01", "2024-04-02"),
    # done before its start: bad data, skipped with a warning.
    ("C6", "2024-05-10", "2024-05-01"),
    # done is not a date: skipped with a warning.
    ("C7", "2024-05-10", "2024-13-01"),
    ("C8", "2024-05-10", "soon"),
    # start Wed 20 Nov 2024: day 20 Wed 18 Dec = due. Done Thu 2 Jan 2025 (after the range):
    # open and overdue at the end of December, not counted as completed in 2024.
    ("C5b", "2024-11-20", "2025-01-02"),
    # the same start, done Fri 27 Dec: 25, 26 Dec are holidays; late 5 (19, 20, 23, 24, 27 Dec).
    ("C5c", "2024-11-20", "2024-12-27"),
    # start Mon 2 Dec 2024: day 16 Tue 24 Dec; 25, 26 Dec holidays; 27 Dec day 17, 30 and 31 Dec
    # days 18, 19; 1 Jan holiday; day 20 Thu 2 Jan 2025 = due. Done Tue 31 Dec: on time.
    ("C5a", "2024-12-02", "2024-12-31"),
]

# Open now (15 Jan 2025). start Tue 1 Oct 2024: day 20 Tue 29 Oct = due: open and overdue at the
# ends of October, November and December. start Fri 20 Dec 2024: not due until January.
OPEN = [("O1", "2024-10-01"), ("O2", "2024-12-20")]

# Practice escalations, due 5 working days after start.
DONE_ESC = [
    # start Mon 1 Jul 2024: due Mon 8 Jul. Done Fri 5 Jul: on time, 4 working days to done.
    ("E1", "2024-07-01", "2024-07-05", "safeguarding", "1 team manager"),
    # start Mon 1 Jul: due Mon 8 Jul. Done Wed 10 Jul: late 2, 7 working days to done.
    ("E2", "2024-07-01", "2024-07-10", "funding", "2 service manager"),
    # start Mon 8 Jul: due Mon 15 Jul. Done on the due date: on time, 5 to done.
    ("E3", "2024-07-08", "2024-07-15", "safeguarding", "1 team manager"),
]
OPEN_ESC = [("E4", "2024-08-01", "safeguarding")]

# By month over 2024: the figures above, month by month.
#   period, completed, on_time, late, percent, median late, max late
MONTHS = {
    "2024-01-01": ("3", "1", "2", "33.3", "1.5", "2"),   # C0 (2), C1 (1), C2 on time
    "2024-02-01": ("1", "1", "0", "100.0", "", ""),      # C3a
    "2024-03-01": ("1", "0", "1", "0.0", "1.0", "1"),    # C3b
    "2024-04-01": ("2", "1", "1", "50.0", "2.0", "2"),   # C4b, C4 (2)
    "2024-12-01": ("2", "1", "1", "50.0", "5.0", "5"),   # C5a, C5c (5)
}
OPEN_AT_END = {"2024-10-01": "1", "2024-11-01": "1", "2024-12-01": "2"}  # O1; O1 and C5b
STARTED = {"2024-01-01": "2", "2024-02-01": "2", "2024-03-01": "2", "2024-10-01": "1",
           "2024-11-01": "2", "2024-12-01": "2"}


class ReportTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="escalatord-report-")
        os.mkdir(os.path.join(cls.tmp, "rules"))
        shutil.copy(HOLIDAYS, os.path.join(cls.tmp, "holidays.txt"))
        with open(os.path.join(cls.tmp, "escalator.conf"), "w", encoding="utf-8") as f:
            f.write(CONFIG)
        with open(os.path.join(cls.tmp, "rules", "10-review.conf"), "w", encoding="utf-8") as f:
            f.write(RULES)
        con = sqlite3.connect(os.path.join(cls.tmp, "cases.sqlite"))
        con.executescript("""
            CREATE TABLE done_clocks (case_ref TEXT, start TEXT, done TEXT);
            CREATE TABLE open_clocks (case_ref TEXT, start TEXT);
            CREATE TABLE done_escalations (case_ref TEXT, start TEXT, done TEXT, theme TEXT,
                                           stage TEXT);
            CREATE TABLE open_escalations (case_ref TEXT, start TEXT, theme TEXT,
                                           iro_email TEXT);
        """)
        con.executemany("INSERT INTO done_clocks VALUES (?, ?, ?)", DONE)
        con.executemany("INSERT INTO open_clocks VALUES (?, ?)", OPEN)
        con.executemany("INSERT INTO done_escalations VALUES (?, ?, ?, ?, ?)", DONE_ESC)
        con.executemany("INSERT INTO open_escalations (case_ref, start, theme) VALUES (?, ?, ?)",
                        OPEN_ESC)
        con.commit()
        con.close()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def report(self, *args, expect=0):
        cmd = [hd.ESCALATORD, "-c", os.path.join(self.tmp, "escalator.conf"), "report",
               "--now", NOW] + list(args)
        env = dict(os.environ, TZ="Pacific/Auckland", LC_ALL="C")
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(proc.returncode, expect, "%s\n--- stdout:\n%s--- stderr:\n%s" % (
            " ".join(cmd), proc.stdout, proc.stderr))
        return proc

    def csv_rows(self, *args):
        proc = self.report("--format", "csv", *args)
        return list(csv.DictReader(io.StringIO(proc.stdout))), proc

    def test_timeliness_by_month(self):
        rows, proc = self.csv_rows("--from", "2024-01-01", "--to", "2024-12-31", "--by", "month")
        self.assertEqual(proc.stdout.splitlines()[0],
                         "rule,period,completed,on_time,late,percent_on_time,"
                         "median_working_days_late,max_working_days_late")
        review = [r for r in rows if r["rule"] == "review"]
        self.assertEqual([r["period"] for r in review],
                         ["2024-%02d-01" % m for m in range(1, 13)])
        for r in review:
            want = MONTHS.get(r["period"], ("0", "0", "0", "", "", ""))
            got = (r["completed"], r["on_time"], r["late"], r["percent_on_time"],
                   r["median_working_days_late"], r["max_working_days_late"])
            self.assertEqual(got, want, r["period"])
        # The rule without a history query has no rows; the escalation rule has its own.
        self.assertEqual({r["rule"] for r in rows}, {"review", "escalation"})
        # Bad rows: a warning each, naming the rule and the case.
        for case, what in (("C6", "before its start"), ("C7", '"2024-13-01" is not a date'),
                           ("C8", '"soon" is not a date')):
            self.assertRegex(proc.stderr, r'rule "review".*case %s: .*%s' % (case, what))

    def test_by_quarter_and_year(self):
        rows, _ = self.csv_rows("--from", "2024-01-01", "--to", "2024-12-31")  # quarter default
        got = {r["period"]: (r["completed"], r["on_time"], r["late"], r["percent_on_time"],
                             r["median_working_days_late"], r["max_working_days_late"])
               for r in rows if r["rule"] == "review"}
        self.assertEqual(got, {
            "2024-01-01": ("5", "2", "3", "40.0", "1.0", "2"),  # late 2, 1, 1
            "2024-04-01": ("2", "1", "1", "50.0", "2.0", "2"),
            "2024-07-01": ("0", "0", "0", "", "", ""),
            "2024-10-01": ("2", "1", "1", "50.0", "5.0", "5"),
        })
        rows, _ = self.csv_rows("--from", "2024-01-01", "--to", "2024-12-31", "--by", "year")
        got = [(r["period"], r["completed"], r["on_time"], r["percent_on_time"])
               for r in rows if r["rule"] == "review"]
        self.assertEqual(got, [("2024-01-01", "9", "4", "44.4")])

    def test_periods_from_the_31st(self):
        # 31 Jan + 1 month is 29 Feb (leap year), + 2 is 31 Mar: each from --from itself.
        rows, _ = self.csv_rows("--from", "2024-01-31", "--to", "2024-04-29", "--by", "month")
        got = [(r["period"], r["completed"], r["on_time"], r["median_working_days_late"])
               for r in rows if r["rule"] == "review"]
        self.assertEqual(got, [
            ("2024-01-31", "2", "0", "1.5"),   # C0, C1 done 31 Jan; C2 (30 Jan) is before
            ("2024-02-29", "2", "1", "1.0"),   # C3a on the leap day, C3b
            ("2024-03-31", "2", "1", "2.0"),   # C4b, C4
        ])

    def test_open_overdue_and_started(self):
        rows, proc = self.csv_rows("--from", "2024-01-01", "--to", "2024-12-31", "--by", "month",
                                   "--table", "open")
        self.assertEqual(proc.stdout.splitlines()[0],
                         "rule,period,period_end,started,open_overdue_at_end,target_percent")
        review = {r["period"]: r for r in rows if r["rule"] == "review"}
        for period, r in review.items():
            self.assertEqual(r["open_overdue_at_end"], OPEN_AT_END.get(period, "0"), period)
            self.assertEqual(r["started"], STARTED.get(period, "0"), period)
            self.assertEqual(r["target_percent"], "90.0")
        self.assertEqual(review["2024-02-01"]["period_end"], "2024-02-29")

    def test_practice_by_theme_and_stage(self):
        rows, _ = self.csv_rows("--from", "2024-04-01", "--to", "2025-03-31", "--table",
                                "practice")
        got = {(r["by"], r["value"]): (r["raised"], r["completed"], r["on_time"],
                                      r["percent_on_time"], r["median_working_days_to_done"],
                                      r["max_working_days_to_done"])
               for r in rows if r["rule"] == "escalation"}
        self.assertEqual(got, {
            # E1 (4 to done), E3 (5), and E4 raised, still open
            ("theme", "safeguarding"): ("3", "2", "2", "100.0", "4.5", "5"),
            ("theme", "funding"): ("1", "1", "0", "0.0", "7.0", "7"),       # E2
            ("stage", "1 team manager"): ("2", "2", "2", "100.0", "4.5", "5"),
            ("stage", "2 service manager"): ("1", "1", "0", "0.0", "7.0", "7"),
        })

    def test_text(self):
        proc = self.report("--from", "2024-01-01", "--to", "2024-12-31")
        out = proc.stdout
        self.assertIn("1 Jan 2024 to 31 Dec 2024", out)
        self.assertIn("Child in Care review", out)
        self.assertRegex(out, r"Jan-Mar 2024 +5 +2 +3 +40\.0%")
        self.assertIn("target 90%", out)
        self.assertIn("44.4%", out)   # the year: 4 of 9
        self.assertIn("no-history", out)
        # The warnings, at the end: counted per rule; the cases are named on standard error
        # only, never in a document meant for the annual report.
        self.assertIn('rule "review": 3 rows skipped as bad data: 2 with a case, start or done '
                      'missing or not a date, 1 done before the start', out)
        for case in ("C6", "C7", "C8"):
            self.assertNotIn(case, out)
            self.assertIn("case %s:" % case, proc.stderr)

    def test_json(self):
        proc = self.report("--from", "2024-01-01", "--to", "2024-12-31", "--format", "json")
        doc = json.loads(proc.stdout)
        self.assertEqual((doc["from"], doc["to"], doc["by"]), ("2024-01-01", "2024-12-31",
                                                                "quarter"))
        review = [r for r in doc["rules"] if r["id"] == "review"][0]
        self.assertEqual(review["target"], 90)
        q1 = review["periods"][0]
        self.assertEqual((q1["start"], q1["end"], q1["completed"], q1["on_time"], q1["late"],
                          q1["percent_on_time"], q1["median_working_days_late"]),
                         ("2024-01-01", "2024-03-31", 5, 2, 3, 40.0, 1.0))
        self.assertEqual(review["total"]["completed"], 9)
        self.assertEqual(review["skipped_rows"], 3)
        self.assertEqual(len([w for w in doc["warnings"] if "3 rows skipped" in w]), 1)
        self.assertNotIn("C6", proc.stdout)
        nh = [r for r in doc["rules"] if r["id"] == "no-history"][0]
        self.assertIs(nh["history"], False)

    def test_default_range_is_last_financial_year(self):
        proc = self.report("--format", "json")
        doc = json.loads(proc.stdout)
        self.assertEqual((doc["from"], doc["to"]), ("2023-04-01", "2024-03-31"))

    def test_records_nothing(self):
        # A state store the real service wrote (--once records the alerts owed), then the report
        # on it, for every format: the file is byte for byte the same, and no -wal or -shm is
        # left behind.
        tmp = tempfile.mkdtemp(prefix="escalatord-report-state-")
        self.addCleanup(shutil.rmtree, tmp, True)
        for name in ("escalator.conf", "cases.sqlite", "holidays.txt"):
            shutil.copy(os.path.join(self.tmp, name), tmp)
        shutil.copytree(os.path.join(self.tmp, "rules"), os.path.join(tmp, "rules"))
        conf = os.path.join(tmp, "escalator.conf")
        env = dict(os.environ, LC_ALL="C")
        once = subprocess.run([hd.ESCALATORD, "-c", conf, "--once", "--now", NOW],
                              capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(once.returncode, 0, once.stderr)
        alerts = [json.loads(line) for line in once.stdout.splitlines()]
        # review: O1; escalation: E4; no-history: O1 and O2 (10 days after start).
        self.assertEqual(len(alerts), 4, once.stdout)
        state = os.path.join(tmp, "state.sqlite")
        with open(state, "rb") as f:
            before = f.read()
        for args in (["--format", "text"], ["--format", "json"], ["--format", "html"],
                     ["--format", "csv", "--table", "alerts"], ["--footprint"]):
            proc = subprocess.run([hd.ESCALATORD, "-c", conf, "report", "--now", NOW,
                                   "--from", "2024-01-01"] + args,
                                  capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            with open(state, "rb") as f:
                self.assertEqual(f.read(), before, args)
            for suffix in ("-wal", "-shm", "-journal"):
                self.assertFalse(os.path.exists(state + suffix), (args, suffix))

    def test_usage_errors(self):
        for args, words in ((["--from", "2024-02-30"], "not a date"),
                            (["--from", "2024-03-01", "--to", "2024-02-01"], "before"),
                            (["--by", "week"], "month, quarter or year"),
                            (["--format", "pdf"], "text, csv, json or html"),
                            (["--case", "C1"], "--case goes with --footprint"),
                            (["--format", "text", "--table", "open"], "--table goes with"),
                            (["--format", "csv", "--table", "nope"], "the tables are"),
                            (["--from", "0202-04-01", "--to", "2026-03-31", "--by", "month"],
                             "0202-04-01 to 2026-03-31 makes 21888 periods; a report holds at "
                             "most 1200")):
            proc = self.report(*args, expect=2)
            self.assertIn(words, proc.stderr, args)
            self.assertEqual(proc.stdout, "")


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
