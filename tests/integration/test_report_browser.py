#!/usr/bin/python3
"""Integration test of issue 16's HTML report as people read it: in a real browser, and printed.

Run:  /usr/bin/python3 tests/integration/test_report_browser.py --escalatord PATH/escalatord [-v]

A small case store made by hand (sqlite3): reviews completed (case_ref, start, done) and still
open (case_ref, start) for a Child in Care review rule with `history` and `target = 90`, practice
alerts resolved (with theme and the stage resolved at) and open for a practice rule, and a rule
without history. The real service makes one pass (`--once`, to the SMTP sink) so that the state
store holds three alerts. The real escalatord writes `report --from 2026-01-01 --to 2026-03-31
--by month --format html --now 2026-04-15T09:00:00` to a file, and a second report over the
twelve months to today (when the state store recorded the alerts); headless Chromium
(Debian's chromium + chromium-driver, driven by python3-selenium, as test_browser.py does) opens
it from disk. The figures are read off the page (the text of the table cells) and compared with
the figures counted by hand below, which are also recomputed here from the rows with the
harness's working-day arithmetic (a second, simpler count). The chart is read as rendered: a
nonzero size, one bar per month with a figure, bar heights in proportion to the figures, the
dashed target line at 90% of the axis, labelled. The page loads nothing, runs nothing and fits
the width of A4. Screenshots (screen, and the print style at A4's width) and a PDF (Chromium's
print) go to $ESCALATOR_SCREENSHOT_DIR (default: the test's temporary directory, kept with
--keep); their paths are printed.

The hand count (England and Wales bank holidays: 2025-12-25, 2025-12-26, 2026-01-01):

Child in Care review, due 20 working days after start, target 90%:
  A0  start Thu 2025-11-20, done 2025-12-20: before the range, not counted.
  A1  start Mon 2025-12-01: Dec 2-5 (4), 8-12 (9), 15-19 (14), 22-24 (17), [25, 26 holidays],
      29-31 (20): due Wed 2025-12-31. Done Mon 2026-01-05: Jan 1 is a holiday, Fri 2 (1),
      Mon 5 (2): late by 2.
  A2  start Mon 2026-01-05: Jan 6-9 (4), 12-16 (9), 19-23 (14), 26-30 (19), Feb 2 (20): due
      Mon 2026-02-02. Done 2026-01-20: on time.
  A3  start Mon 2025-12-15: Dec 16-19 (4), 22-24 (7), 29-31 (10), Jan 2 (11), 5-9 (16),
      12-15 (20): due Thu 2026-01-15. Done that day: on time (done on the due date).
  January: 3 completed, 2 on time, 1 late: 66.7%; late by 2: median 2.0, most 2.
  A4  start Mon 2026-01-12: Jan 13-16 (4), 19-23 (9), 26-30 (14), Feb 2-6 (19), 9 (20): due
      Mon 2026-02-09. Done that day: on time.
  A5  start Mon 2026-02-02: Feb 3-6 (4), 9-13 (9), 16-20 (14), 23-27 (19), Mar 2 (20): due
      Mon 2026-03-02. Done 2026-02-20: on time.
  February: 2 completed, 2 on time: 100.0%; none late.
  A6, A7, A8  start Mon 2026-02-02 (due Mon 2026-03-02), done Tue 03-03 (late by 1), Thu 03-05
      (3: 3, 4, 5), Thu 03-12 (8: 3, 4, 5, 6, 9, 10, 11, 12).
  A9  start Mon 2026-03-02: Mar 3-6 (4), 9-13 (9), 16-20 (14), 23-27 (19), 30 (20): due Mon
      2026-03-30. Done Fri 03-27: on time.
  A10 done "2026-13-01": not a date, skipped with a warning.
  A11 start 2026-03-10, done 2026-03-09: before its start, skipped with a warning.
  March: 4 completed, 1 on time, 3 late (1, 3, 8): 25.0%; median 3.0, most 8.
  The quarter: 9 completed, 5 on time, 4 late (1, 2, 3, 8): 55.6%; median 2.5, most 8;
  target 90: not met, 34.4 points below.
  Open and overdue at each month's end (a clock is overdue on E when due < E, and, if
  completed, E < done): O1 start 2025-12-01 (due 2025-12-31) at all three; O2 start Mon
  2026-01-26 (Jan 27-30 (4), Feb 2-6 (9), 9-13 (14), 16-20 (19), 23 (20): due Mon 2026-02-23)
  at Feb and Mar; O3 start 2026-03-20 (due in April) at none; A1 was overdue Jan 1-4 only.
  So 1, 2, 2; at the quarter's end 2.

Practice alert, due 5 working days after start, no target:
  P1  start Mon 2026-01-05 (due Mon 01-12), done Wed 01-07: on time, 2 working days to
      resolve; theme "permanence planning", resolved at stage 1.
  P2  same start, done Fri 01-16: late by 4 (13, 14, 15, 16), 9 working days to resolve;
      "permanence planning", stage 2.
  P3  start Mon 2026-02-02 (due Mon 02-09), done Wed 02-04: on time, 2 days; theme "record
      keeping <b>" (markup in a value: shown as text), stage 1.
  P4  open, start Mon 2026-03-02 (due Mon 03-09), "record keeping <b>": overdue at Mar's end.
  Raised 4. By stage: "1" 2 resolved (66.7% of 3), 2 on time (100.0%), median 2.0, most 2;
  "2" 1 (33.3%), 0 on time (0.0%), 9.0, 9. By theme: "permanence planning" raised 2 (50.0%),
  resolved 2, on time 1 (50.0%), median 5.5; "record keeping <b>" raised 2 (50.0%), resolved
  1, on time 1 (100.0%), 2.0.
"""

import base64
import datetime
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402

CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP = (1280, 900)
A4_CSS_WIDTH = 720  # A4's 210 mm less the page's 12 mm margins, at 96 CSS pixels to the inch
DASH = "\u2013"

CONFIG = """\
case_store = "../data/cases.sqlite";
state = "../var/state.sqlite";
rules = "rules";
holidays = [ "holidays/england-and-wales.txt" ];
contacts = {
  iro = { email = "iro-service@council.example"; };
};
"""

RULES = """\
rules = (
  {
    id = "cic-review";
    title = "Child in Care review";
    query = "SELECT case_ref, start FROM reviews_open ORDER BY case_ref";
    history = "SELECT case_ref, start, done FROM reviews_done";
    target = 90;
    due = "20 working days";
    stages = ( { name = "overdue"; at = "1 working day"; notify = [ "iro" ]; } );
  },
  {
    id = "practice-alert";
    title = "Practice alert";
    query = "SELECT case_ref, start, theme FROM alerts_open";
    history = "SELECT case_ref, start, done, theme, stage FROM alerts_done";
    due = "5 working days";
    stages = ( { name = "overdue"; at = "1 working day"; notify = [ "iro" ]; } );
  },
  {
    id = "cp-visit";
    title = "Child protection visit";
    query = "SELECT case_ref, start FROM reviews_open WHERE 0";
    due = "10 working days";
    stages = ( { name = "overdue"; at = "1 working day"; notify = [ "iro" ]; } );
  }
);
"""

REVIEWS_DONE = [
    ("A0", "2025-11-20", "2025-12-20"), ("A1", "2025-12-01", "2026-01-05"),
    ("A2", "2026-01-05", "2026-01-20"), ("A3", "2025-12-15", "2026-01-15"),
    ("A4", "2026-01-12", "2026-02-09"), ("A5", "2026-02-02", "2026-02-20"),
    ("A6", "2026-02-02", "2026-03-03"), ("A7", "2026-02-02", "2026-03-05"),
    ("A8", "2026-02-02", "2026-03-12"), ("A9", "2026-03-02", "2026-03-27"),
    ("A10", "2026-03-02", "2026-13-01"), ("A11", "2026-03-10", "2026-03-09"),
]
REVIEWS_OPEN = [("O1", "2025-12-01"), ("O2", "2026-01-26"), ("O3", "2026-03-20")]
ALERTS_DONE = [
    ("P1", "2026-01-05", "2026-01-07", "permanence planning", "1"),
    ("P2", "2026-01-05", "2026-01-16", "permanence planning", "2"),
    ("P3", "2026-02-02", "2026-02-04", "record keeping <b>", "1"),
]
ALERTS_OPEN = [("P4", "2026-03-02", "record keeping <b>")]

FROM, TO, NOW = "2026-01-01", "2026-03-31", "2026-04-15T09:00:00"
# The service's one pass before the report: O1 (due 2025-12-31), O2 (due 2026-02-23) and P4 (due
# 2026-03-09) are overdue on 20 Mar 2026, a stage 1 working day after due: three alerts to the
# IRO service's address, sent in one digest. O3 (due in April) is not. The state store records
# them at the real time of the run (created_at), so the service's section is read from a
# second report over the twelve months to the real today.
ONCE_NOW = "2026-03-20T09:00:00"
SMTP = """
smtp = {
  url = "smtp://127.0.0.1:%d";
  from = "escalator@council.example";
  starttls = "opportunistic";
};
"""
IRO = "iro-service@council.example"
MONTHS = ["Jan 2026", "Feb 2026", "Mar 2026"]

# The hand count above, as the page's rows: period, completed, on time, late, % on time,
# median and most working days late, open and overdue at the end.
CIC_ROWS = [
    ["Jan 2026", "3", "2", "1", "66.7%", "2.0", "2", "1"],
    ["Feb 2026", "2", "2", "0", "100.0%", DASH, DASH, "2"],
    ["Mar 2026", "4", "1", "3", "25.0%", "3.0", "8", "2"],
]
CIC_TOTAL = ["Whole period", "9", "5", "4", "55.6%", "2.5", "8", "2"]
PRACTICE_ROWS = [
    ["Jan 2026", "2", "1", "1", "50.0%", "4.0", "4", "0"],
    ["Feb 2026", "1", "1", "0", "100.0%", DASH, DASH, "0"],
    ["Mar 2026", "0", "0", "0", DASH, DASH, DASH, "1"],
]
PRACTICE_TOTAL = ["Whole period", "3", "2", "1", "66.7%", "4.0", "4", "1"]
PRACTICE_STAGES = [
    ["1", "2", "66.7%", "2", "100.0%", "2.0", "2"],
    ["2", "1", "33.3%", "0", "0.0%", "9.0", "9"],
]
PRACTICE_THEMES = [
    ["permanence planning", "2", "50.0%", "2", "1", "50.0%", "5.5"],
    ["record keeping <b>", "2", "50.0%", "1", "1", "100.0%", "2.0"],
]


def day(s):
    return datetime.date.fromisoformat(s)


def working_days_between(a, b):
    """Working days after a up to and including b (0 when b <= a)."""
    n, d = 0, a
    while d < b:
        d += datetime.timedelta(days=1)
        n += hd.is_working_day(d)
    return n


def fmt1(v):
    return "%.1f" % v


def recount(done_rows, open_rows, due_days):
    """The timeliness rows recomputed from the store's rows with the harness's calendar: a
    second count, to check the hand count's arithmetic."""
    ends = [day("2026-01-31"), day("2026-02-28"), day("2026-03-31")]
    rows = [[m, 0, 0, 0, [], 0] for m in MONTHS]
    dues = []
    for _, start, done, *rest in done_rows:
        try:
            s, d = day(start), day(done)
        except ValueError:
            continue
        if d < s:
            continue
        due = hd.add_working_days(s, due_days)
        dues.append((due, d))
        if not day(FROM) <= d <= day(TO):
            continue
        r = rows[d.month - 1]
        r[1] += 1
        if d <= due:
            r[2] += 1
        else:
            r[3] += 1
            r[4].append(working_days_between(due, d))
    for _, start, *rest in open_rows:
        dues.append((hd.add_working_days(day(start), due_days), datetime.date.max))
    out = []
    for i, (m, completed, on_time, late, days, _) in enumerate(rows):
        open_overdue = sum(1 for due, done in dues if due < ends[i] < done)
        out.append([m, str(completed), str(on_time), str(late),
                    fmt1(100.0 * on_time / completed) + "%" if completed else DASH,
                    fmt1(statistics.median(days)) if days else DASH,
                    str(max(days)) if days else DASH, str(open_overdue)])
    return out


# Every table on the page: caption and rows of cell texts, as rendered.
TABLES_JS = """
return Array.from(document.querySelectorAll('table')).map(t => ({
  caption: t.caption ? t.caption.innerText.trim() : '',
  head: t.tHead ? Array.from(t.tHead.rows[0].cells).map(c => c.innerText.trim()) : [],
  body: Array.from(t.tBodies).flatMap(b => Array.from(b.rows)).map(
    r => Array.from(r.cells).map(c => c.innerText.trim())),
  foot: t.tFoot ? Array.from(t.tFoot.rows).map(
    r => Array.from(r.cells).map(c => c.innerText.trim())) : [],
  elements: t.querySelectorAll('tbody *:not(tr):not(th):not(td)').length,
}));
"""

# Each chart as drawn: its box, its bars, its lines and its texts, in page pixels.
CHARTS_JS = """
const box = e => { const r = e.getBoundingClientRect();
                   return {x: r.x, y: r.y, w: r.width, h: r.height}; };
return Array.from(document.querySelectorAll('svg')).map(s => ({
  box: box(s),
  title: s.querySelector('title') ? s.querySelector('title').textContent : '',
  desc: s.querySelector('desc') ? s.querySelector('desc').textContent : '',
  labelledby: s.getAttribute('aria-labelledby'),
  role: s.getAttribute('role'),
  bars: Array.from(s.querySelectorAll('rect')).map(box),
  lines: Array.from(s.querySelectorAll('line')).map(l => Object.assign(box(l), {
    dash: l.getAttribute('stroke-dasharray')})),
  texts: Array.from(s.querySelectorAll('text')).map(t => Object.assign(box(t), {
    text: t.textContent})),
}));
"""


class TestReportBrowser(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        try:
            import selenium  # noqa: F401
        except ImportError:
            hd.skip_or_fail("python3-selenium is not installed")
        if not os.access(CHROMEDRIVER, os.X_OK) or shutil.which("chromium") is None:
            hd.skip_or_fail("chromium and chromium-driver are not installed")
        cls.tmp = tempfile.mkdtemp(prefix="escreport-")
        etc = os.path.join(cls.tmp, "etc")
        for d in ("etc/rules", "etc/holidays", "data", "var"):
            os.makedirs(os.path.join(cls.tmp, d))
        shutil.copy(hd.HOLIDAY_FILE, os.path.join(etc, "holidays", "england-and-wales.txt"))
        cls.conf = os.path.join(etc, "escalatord.conf")
        with open(cls.conf, "w", encoding="utf-8") as f:
            f.write(CONFIG)
        with open(os.path.join(etc, "rules", "10-rules.conf"), "w", encoding="utf-8") as f:
            f.write(RULES)
        db = sqlite3.connect(os.path.join(cls.tmp, "data", "cases.sqlite"))
        db.executescript("""
            CREATE TABLE reviews_done (case_ref TEXT, start TEXT, done TEXT);
            CREATE TABLE reviews_open (case_ref TEXT, start TEXT);
            CREATE TABLE alerts_done (case_ref TEXT, start TEXT, done TEXT, theme TEXT,
                                      stage TEXT);
            CREATE TABLE alerts_open (case_ref TEXT, start TEXT, theme TEXT);
        """)
        db.executemany("INSERT INTO reviews_done VALUES (?, ?, ?)", REVIEWS_DONE)
        db.executemany("INSERT INTO reviews_open VALUES (?, ?)", REVIEWS_OPEN)
        db.executemany("INSERT INTO alerts_done VALUES (?, ?, ?, ?, ?)", ALERTS_DONE)
        db.executemany("INSERT INTO alerts_open VALUES (?, ?, ?)", ALERTS_OPEN)
        db.commit()
        db.close()

        cls.env = dict(os.environ, LC_ALL="C", TZ="UTC")
        cls.once = cls.service_pass(etc)
        cls.html = os.path.join(cls.tmp, "report.html")
        cls.proc, cls.stderr = cls.report(cls.html, "--from", FROM, "--to", TO, "--by", "month",
                                          "--now", NOW)
        with open(cls.html, "rb") as f:
            cls.source = f.read().decode("utf-8")
        cls.today = datetime.date.today()
        cls.service_html = os.path.join(cls.tmp, "service.html")
        cls.service_proc, _ = cls.report(cls.service_html, "--to", cls.today.isoformat(), "--by",
                                         "year")
        cls.shots = os.environ.get("ESCALATOR_SCREENSHOT_DIR") or os.path.join(cls.tmp, "shots")
        os.makedirs(cls.shots, exist_ok=True)
        cls.driver = None
        if cls.proc.returncode == 0:
            cls.driver = cls.browser()
            cls.driver.get("file://" + cls.html)

    @classmethod
    def service_pass(cls, etc):
        """The real service's one pass (--once) to the SMTP sink: the state store's records."""
        from harness import SmtpSink
        sink = SmtpSink()
        sink.start()
        try:
            with open(cls.conf, "a", encoding="utf-8") as f:
                f.write(SMTP % sink.port)
            proc = subprocess.run([hd.ESCALATORD, "-c", cls.conf, "--once", "--now", ONCE_NOW],
                                  capture_output=True, text=True, timeout=60, env=cls.env)
            if proc.returncode == 0:
                sink.wait_for(1, timeout=10, strict=False)
            return proc, [m.rcpt_tos for m in sink.messages]
        finally:
            sink.stop()

    @classmethod
    def report(cls, path, *args):
        """escalatord report --format html ARGS into path: (the process, its stderr)."""
        with open(path, "wb") as out:
            proc = subprocess.run([hd.ESCALATORD, "-c", cls.conf, "report", "--format", "html",
                                   *args], stdout=out, stderr=subprocess.PIPE, timeout=60,
                                  env=cls.env)
        return proc, proc.stderr.decode("utf-8", "replace")

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "driver", None) is not None:
            try:
                cls.driver.quit()
            except Exception as e:  # keep tearing down
                print("warning: quitting chromedriver: %r" % e, file=sys.stderr)
        if not hasattr(cls, "tmp"):
            return
        if os.environ.get("KEEP_TMP"):
            print("kept %s" % cls.tmp, file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def browser(cls):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        o = webdriver.ChromeOptions()
        o.binary_location = shutil.which("chromium")
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-gpu", "--lang=en-GB", "--hide-scrollbars",
                    "--window-size=%d,%d" % DESKTOP,
                    "--user-data-dir=" + os.path.join(cls.tmp, "chromium")):
            o.add_argument(arg)
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
        d.set_page_load_timeout(20)
        cls.viewport(d, DESKTOP[0], DESKTOP[1])
        return d

    @staticmethod
    def viewport(d, width, height):
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})

    def setUp(self):
        proc, rcpts = self.once
        self.assertEqual(proc.returncode, 0, "escalatord --once failed:\n" + proc.stderr)
        self.assertEqual(rcpts, [[IRO]], "the SMTP sink's messages")
        self.assertEqual(self.proc.returncode, 0, "escalatord report failed:\n" + self.stderr)
        for marker in hd.SANITIZER_MARKERS:
            self.assertNotIn(marker.decode(), self.stderr)

    def shot(self, name):
        """The whole page as a PNG in the screenshot directory."""
        d = self.driver
        path = os.path.join(self.shots, name + ".png")
        size = d.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        png = d.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                     "scale": 1}})["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(png))
        print("\nscreenshot: %s" % path, file=sys.stderr)
        return path

    def tables(self):
        return {t["caption"]: t for t in self.driver.execute_script(TABLES_JS)}

    # ---------------------------------------------------------------------------------------------
    def test_hand_count_agrees_with_recount(self):
        """The hand count's arithmetic, checked by a second count from the rows."""
        self.assertEqual(recount(REVIEWS_DONE, REVIEWS_OPEN, 20), CIC_ROWS)
        self.assertEqual(recount(ALERTS_DONE, ALERTS_OPEN, 5), PRACTICE_ROWS)

    def test_title_and_summary(self):
        from selenium.webdriver.common.by import By
        d = self.driver
        self.assertEqual(d.title, "IRO service report: 1 Jan 2026 to 31 Mar 2026")
        self.assertEqual(d.find_element(By.TAG_NAME, "h1").text,
                         "IRO service report: 1 Jan 2026 to 31 Mar 2026")
        made = d.find_element(By.CLASS_NAME, "made").text
        self.assertIn("Made Wed 15 Apr 2026 09:00 from ", made)
        self.assertIn("escalatord.conf", made)
        summary = self.tables()["Completed on time over the whole period"]
        self.assertEqual(summary["head"], [
            "Rule", "Completed", "On time", "% on time", "Target", "Against target",
            "Open and overdue on 31 Mar 2026"])
        self.assertEqual(summary["body"], [
            ["Child in Care review", "9", "5", "55.6%", "90%", "not met (34.4 points below)",
             "2"],
            ["Practice alert", "3", "2", "66.7%", "none set", "", "1"],
        ])
        body = d.find_element(By.TAG_NAME, "body").text
        self.assertIn("Not measured (no history query): Child protection visit.", body)
        # The service's alerts were recorded today, outside the range: said in words.
        if not day(FROM) <= self.today <= day(TO):
            service = body.split("\nWhat the service sent\n")[1].split("\nWarnings\n")[0]
            self.assertIn("No alert was raised in the period.", service)
            self.assertIn("No alert was sent to anyone in the period.", service)

    def test_timeliness_tables(self):
        tables = self.tables()
        cic = tables["Child in Care review by month"]
        self.assertEqual(cic["head"], [
            "Period", "Completed", "On time", "Late", "% on time", "Median working days late",
            "Most working days late", "Open and overdue at the end"])
        self.assertEqual(cic["body"], CIC_ROWS)
        self.assertEqual(cic["foot"], [CIC_TOTAL])
        practice = tables["Practice alert by month"]
        self.assertEqual(practice["body"], PRACTICE_ROWS)
        self.assertEqual(practice["foot"], [PRACTICE_TOTAL])
        from selenium.webdriver.common.by import By
        body = self.driver.find_element(By.TAG_NAME, "body").text
        self.assertIn("Due 20 working days after the clock starts. Target: 90% on time; over "
                      "the whole period 55.6%, not met (34.4 points below).", body)
        self.assertIn(DASH + " none completed in the period (no percentage), or none was late",
                      body)
        # The two skipped rows: counted under the table and in the warnings (at the end).
        self.assertIn("Rows left out: 1 with a missing or bad date, 1 completed before they "
                      "started", body)
        warnings = body.split("\nWarnings\n")[1]
        # Counted on the page, which is pasted into an annual report; the cases are named on
        # standard error only.
        self.assertIn("2 rows skipped as bad data: 1 with a case, start or done missing or not "
                      "a date, 1 done before the start", warnings)
        self.assertNotIn("A10", body)
        self.assertNotIn("A11", body)
        self.assertIn('case A10: done "2026-13-01" is not a date', self.stderr)
        self.assertIn("case A11: done 2026-03-09 is before its start 2026-03-10", self.stderr)
        self.assertIn("report: 1 warning", self.stderr)

    def test_practice_tables(self):
        tables = self.tables()
        stages = tables["Practice alert: resolved at each stage"]
        self.assertEqual(stages["body"], PRACTICE_STAGES)
        themes = tables["Practice alert: by theme"]
        self.assertEqual(themes["body"], PRACTICE_THEMES)
        # The theme's markup is text: no element was made of it.
        self.assertEqual(themes["elements"], 0)
        from selenium.webdriver.common.by import By
        self.assertIn("Raised in the period: 4. Resolved: 3, 66.7% on time; median 2.0 working "
                      "days to resolve.", self.driver.find_element(By.TAG_NAME, "body").text)

    def test_chart(self):
        charts = self.driver.execute_script(CHARTS_JS)
        self.assertEqual(len(charts), 2)
        c = charts[0]
        self.assertEqual(c["role"], "img")
        self.assertEqual(c["title"], "Child in Care review: % on time by month")
        self.assertEqual(c["desc"], "Jan 2026: 66.7% on time (2 of 3). Feb 2026: 100.0% on time "
                         "(2 of 2). Mar 2026: 25.0% on time (1 of 4). Target: 90%.")
        self.assertGreater(c["box"]["w"], 200)
        self.assertGreater(c["box"]["h"], 150)
        texts = [t["text"] for t in c["texts"]]
        for label in MONTHS + ["66.7%", "100.0%", "25.0%", "Target 90%", "0%", "100%"]:
            self.assertIn(label, texts)
        # One bar a month, left to right, each nonzero, heights in proportion to the figures.
        bars = sorted(c["bars"], key=lambda b: b["x"])
        self.assertEqual(len(bars), 3)
        full = bars[1]["h"]  # February: 100%
        self.assertGreater(full, 100)
        for bar, pct in zip(bars, (200 / 3, 100.0, 25.0)):
            self.assertAlmostEqual(bar["h"] / full, pct / 100, delta=0.01)
        axis = bars[1]["y"] + bars[1]["h"]  # the 0% line: the bars' common foot
        for bar in bars:
            self.assertAlmostEqual(bar["y"] + bar["h"], axis, delta=0.5)
        # Each figure sits above its own bar.
        for bar, label in zip(bars, ("66.7%", "100.0%", "25.0%")):
            t = next(t for t in c["texts"] if t["text"] == label)
            self.assertLess(abs((t["x"] + t["w"] / 2) - (bar["x"] + bar["w"] / 2)), 1)
            self.assertLessEqual(t["y"] + t["h"], bar["y"] + 2)
        # The target: a dashed line across all the bars, at 90% of the axis, labelled.
        dashed = [ln for ln in c["lines"] if ln["dash"]]
        self.assertEqual(len(dashed), 1)
        target = dashed[0]
        self.assertLessEqual(target["x"], bars[0]["x"])
        self.assertGreaterEqual(target["x"] + target["w"], bars[-1]["x"] + bars[-1]["w"])
        level = target["y"] + target["h"] / 2
        self.assertAlmostEqual((axis - level) / full, 0.9, delta=0.01)
        label = next(t for t in c["texts"] if t["text"] == "Target 90%")
        self.assertAlmostEqual(label["y"] + label["h"] / 2, level, delta=label["h"])
        # The practice rule has no target: no dashed line; March has no bar and says so.
        p = charts[1]
        self.assertEqual([ln for ln in p["lines"] if ln["dash"]], [])
        self.assertEqual(len(p["bars"]), 2)
        self.assertIn("none", [t["text"] for t in p["texts"]])

    def test_service_section(self):
        """What the service sent: the pass's three alerts, read from the state store, on the
        page of the twelve months to today."""
        from selenium.webdriver.common.by import By
        self.assertEqual(self.service_proc.returncode, 0)
        d = self.driver
        try:
            d.get("file://" + self.service_html)
            tables = self.tables()
            self.assertEqual(tables["Alerts by rule and stage"]["head"],
                             ["Rule", "Stage", "Alerts", "Delivered", "Failed", "Waiting"])
            self.assertEqual(tables["Alerts by rule and stage"]["body"], [
                ["Child in Care review", "Overdue", "2", "2", "0", "0"],
                ["Practice alert", "Overdue", "1", "1", "0", "0"],
            ])
            self.assertEqual(tables["Alerts by recipient"]["body"],
                             [[IRO, "email", "3", "3", "0", "0"]])
            body = d.find_element(By.TAG_NAME, "body").text
            self.assertIn("No alerted clock closed in the period.", body)
            self.assertIn("No alert was answered in the period.", body)
            self.assertNotIn("no record yet", body)
            self.shot("report-service")
        finally:
            d.get("file://" + self.html)

    def test_self_contained(self):
        d = self.driver
        self.assertEqual(d.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"), [])
        self.assertEqual(d.execute_script("return document.scripts.length"), 0)
        self.assertEqual(d.execute_script(
            "return document.querySelectorAll('img, link, iframe, object, embed').length"), 0)
        for needle in ("http:", "https:", "src=", "url(", "@import", "<script"):
            self.assertNotIn(needle, self.source)
        bad = [e["message"] for e in d.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
        self.assertEqual(bad, [], "the browser complained")

    def test_screen_and_print(self):
        d = self.driver
        self.viewport(d, DESKTOP[0], DESKTOP[1])
        self.shot("report-screen")
        # Printed: A4's width holds every table and chart (nothing cut off at the side), the
        # print style applies, no dark backgrounds.
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
        try:
            self.viewport(d, A4_CSS_WIDTH, 1000)
            self.assertLessEqual(
                d.execute_script("return document.documentElement.scrollWidth"), A4_CSS_WIDTH)
            self.assertEqual(d.execute_script(
                "return getComputedStyle(document.body).fontSize"), "14px")  # 10.5pt
            dark = d.execute_script("""
                const lum = c => { const m = c.match(/[\\d.]+/g);
                  if (!m || (m.length > 3 && +m[3] === 0)) return 1;
                  return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255; };
                return Array.from(document.querySelectorAll('*')).filter(
                  e => lum(getComputedStyle(e).backgroundColor) < 0.8).map(e => e.tagName);""")
            self.assertEqual(dark, [], "dark backgrounds")
            self.shot("report-print-a4")
        finally:
            d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
            self.viewport(d, DESKTOP[0], DESKTOP[1])
        pdf = base64.b64decode(d.execute_cdp_cmd("Page.printToPDF", {
            "preferCSSPageSize": True, "printBackground": True})["data"])
        self.assertTrue(pdf.startswith(b"%PDF-"))
        # On A4 (595 x 842 points), as the page's @page asks.
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        self.assertGreaterEqual(len(boxes), 1)
        for w, h in boxes:
            self.assertAlmostEqual(float(w), 595.3, delta=1.5)
            self.assertAlmostEqual(float(h), 841.9, delta=1.5)
        path = os.path.join(self.shots, "report.pdf")
        with open(path, "wb") as f:
            f.write(pdf)
        print("\npdf: %s" % path, file=sys.stderr)


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
