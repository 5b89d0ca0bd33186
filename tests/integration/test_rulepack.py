#!/usr/bin/python3
"""Integration test of the shipped content: etc/schema.sql, etc/rules.d, etc/escalator.conf,
tests/gen/gencases.py and scripts/demo, run through the real escalatord.

Run:  /usr/bin/python3 tests/integration/test_rulepack.py --escalatord /path/to/escalatord
      [unittest options, e.g. -v, or a test name such as TestChildInCare]

Standard library only. Five parts:

  (a) TestShippedConfig: escalatord --check passes on the shipped rule pack and a copy of
      etc/escalator.conf (installed layout: escalator.conf, rules.d/, holidays/) pointed at a case
      store freshly created from etc/schema.sql; the views have the documented columns.
  (b) TestChildInCare, TestChildProtection, TestPracticeResolution, TestIroCaseload: every shipped
      rule fires the right stage, to the right people, on hand-made cases at the boundaries (the
      day before, the day of and the day after each stage; over Christmas and Easter; at month
      ends), with --once --dry-run --now. Expected alerts are literal; every date was counted by
      hand from a calendar, and the counting is in the comments. Cases that are done (review held,
      child left care, plan ended, conference held or not needed, escalation resolved) never
      appear.
      TestReviewDistribution, TestIroAllocation, TestCareLeavers, TestParticipation: the same
      for the rules added for the annual report (issue 16).
  (c) TestGenerator: gencases.py's store of 300 children produces, for every clock rule, an alert
      at every one of its stages (reminder, overdue, escalated...), an IRO caseload alert, a
      participation alert, and not one row warning; its history queries return the completed
      clocks its summary counts, none of them a clock that is still open.
  (e) TestHistory: every rule's history query (run with the sqlite3 module, as escalatord would
      run it) on a hand-made store returns exactly the completed clocks counted by hand: a review
      held on its due date, one late, a child with two periods of care, clocks that ended without
      completing (left care, plan ended, escalation still open) absent; and completing an open
      clock turns the live row into a history row with the same case_ref and start.
  (d) TestDemo: scripts/demo --once builds (Release, in build/demo), generates, delivers every
      alert to the test mail server and exits cleanly, leaving no server behind. Skipped when it
      cannot install packages (not root and no password-less sudo) or ESCALATOR_TEST_DEMO=0.

England & Wales bank holidays used (etc/holidays/england-and-wales.txt):
    2026: 01-01 04-03 (Good Friday) 04-06 (Easter Monday) 05-04 05-25 08-31 12-25 12-28
    2027: 01-01 03-26 (Good Friday) 03-29 (Easter Monday) 05-03 05-31 08-30 12-27 12-28
Weekdays needed:
    2026-03-23 Mon  2026-04-08 Wed  2026-04-15 Wed  2026-06-25 Thu  2026-08-31 Mon*
    2026-11-13 Fri  2026-11-25 Wed  2026-11-30 Mon  2026-12-07 Mon  2026-12-11 Fri
    2026-12-14 Mon  2026-12-18 Fri  2026-12-23 Wed  2026-12-25 Fri*  2026-12-28 Mon*
    2026-12-30 Wed  2027-01-01 Fri*  2027-01-04 Mon  2027-01-07 Thu  2027-01-29 Fri
    2027-02-15 Mon  2027-02-28 Sun  2027-03-01 Mon  2027-03-29 Mon*  2027-03-30 Tue
    2026-12-16 Wed  2026-12-21 Mon  2026-12-24 Thu  2027-01-11 Mon  2027-01-18 Mon
    2027-02-01 Mon  2026-03-02 Mon  2026-03-30 Mon  2026-06-01 Mon  2026-06-29 Mon
    (* = bank holiday)
Every stage fires at send_time 08:00 (the shipped default), Europe/London.
"""

import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
ETC = os.path.join(REPO, "etc")
SCHEMA = os.path.join(ETC, "schema.sql")
GENCASES = os.path.join(REPO, "tests", "gen", "gencases.py")
PYTHON = "/usr/bin/python3"

DIRECTOR = "director@council.example"
HOS = "hos@council.example"
SM = "sm@council.example"
TM = "tm@council.example"
TM2 = "tm2@council.example"
SW = "sw@council.example"
IROSM = "irosm@council.example"
IROM = "irom@council.example"
IRO = "iro@council.example"
IRO2 = "iro2@council.example"
PA = "pa@council.example"
IRO_SERVICE = "iro.service@example.org"  # contact "iro_service" in etc/escalator.conf

# One person in every role; social worker -> team manager -> service manager -> head of service
# -> Director; IRO -> IRO manager -> IRO service manager -> Director; personal adviser -> team
# manager. tm2 answers for an unallocated child.
STAFF_SQL = """
INSERT INTO staff (staff_id, email, role, line_manager_id) VALUES
  (1, 'director@council.example', 'director', NULL),
  (2, 'hos@council.example', 'head_of_service', 1),
  (3, 'sm@council.example', 'service_manager', 2),
  (4, 'tm@council.example', 'team_manager', 3),
  (5, 'sw@council.example', 'social_worker', 4),
  (6, 'tm2@council.example', 'team_manager', 3),
  (7, 'irosm@council.example', 'iro_service_manager', 1),
  (8, 'irom@council.example', 'iro_manager', 7),
  (9, 'iro@council.example', 'iro', 8),
  (10, 'iro2@council.example', 'iro', 8),
  (11, 'pa@council.example', 'personal_adviser', 4);
"""

TITLES = {
    "cic-first-review": "First Child in Care review",
    "cic-second-review": "Second Child in Care review",
    "cic-later-review": "Child in Care review (6-monthly)",
    "cic-midpoint-second": "IRO mid-point check before the second review",
    "cic-midpoint-later": "IRO mid-point check between 6-monthly reviews",
    "cp-icpc": "Initial child protection conference",
    "cp-first-review": "First child protection review conference",
    "cp-later-review": "Child protection review conference (6-monthly)",
    "cp-core-group-first": "First core group meeting",
    "cp-core-group-next": "Core group meeting",
    "practice-resolution-informal": "Practice resolution stage 0: informal discussion",
    "practice-resolution-stage-1": "Practice resolution stage 1: team manager response",
    "practice-resolution-stage-2": "Practice resolution stage 2: service manager response",
    "practice-resolution-stage-3": "Practice resolution stage 3: head of service response",
    "practice-resolution-stage-4": "Practice resolution stage 4: Director's response",
    "practice-resolution-overall": "Practice resolution: formal process beyond 20 working days",
    "practice-resolution-cafcass": "Practice resolution: consider a Cafcass referral",
    "iro-caseload": "IRO caseload above the IRO Handbook's 70",
    "cic-review-decisions": "Child in Care review decisions sent",
    "cic-review-record": "Child in Care review record sent",
    "cic-iro-allocation": "IRO allocated to a child coming into care",
    "care-leaver-pathway-review": "Care leaver's pathway plan review",
    "review-participation": "Children's participation in their reviews below the 94% target",
}

# Stages of every clock rule of the pack, in firing order (for the generator test).
STAGES = {
    "cic-first-review": ["reminder", "overdue", "escalated", "escalated-hos"],
    "cic-second-review": ["consultation", "reminder", "overdue", "escalated", "escalated-hos"],
    "cic-later-review": ["consultation", "reminder", "overdue", "escalated", "escalated-hos"],
    "cic-midpoint-second": ["reminder", "overdue", "escalated"],
    "cic-midpoint-later": ["reminder", "overdue", "escalated"],
    "cp-icpc": ["reminder", "overdue", "escalated", "escalated-hos"],
    "cp-first-review": ["reminder", "overdue", "escalated", "escalated-hos"],
    "cp-later-review": ["reminder", "overdue", "escalated", "escalated-hos"],
    "cp-core-group-first": ["reminder", "overdue", "escalated"],
    "cp-core-group-next": ["reminder", "overdue", "escalated"],
    "practice-resolution-informal": ["reminder", "overdue", "escalated"],
    "practice-resolution-stage-1": ["reminder", "overdue", "escalated"],
    "practice-resolution-stage-2": ["reminder", "overdue", "escalated"],
    "practice-resolution-stage-3": ["reminder", "overdue", "escalated"],
    "practice-resolution-stage-4": ["reminder", "overdue", "escalated"],
    "practice-resolution-overall": ["reminder", "overdue", "escalated"],
    "practice-resolution-cafcass": ["reminder", "overdue", "escalated"],
    "cic-review-decisions": ["reminder", "overdue", "escalated"],
    "cic-review-record": ["reminder", "overdue", "escalated"],
    "cic-iro-allocation": ["reminder", "overdue", "escalated"],
    "care-leaver-pathway-review": ["reminder", "overdue", "escalated"],
}
THRESHOLD_RULES = {"iro-caseload": "above", "review-participation": "below"}

EMAIL_COLUMNS = ["social_worker_email", "team_manager_email", "service_manager_email",
                 "head_of_service_email", "director_email", "iro_email", "iro_manager_email",
                 "iro_service_manager_email"]
OPEN_VIEWS = ["open_cic_first_review", "open_cic_next_review", "open_cic_midpoint", "open_icpc",
              "open_cp_first_review", "open_cp_next_review", "open_core_group_first",
              "open_core_group_next", "open_escalation_stage", "open_escalation_formal",
              "open_cic_review_decisions", "open_cic_review_record", "open_iro_allocation",
              "open_pathway_plan_review"]
HISTORY_VIEWS = ["cic_first_review_history", "cic_next_review_history", "cic_midpoint_history",
                 "cic_review_decisions_history", "cic_review_record_history",
                 "iro_allocation_history", "icpc_history", "cp_first_review_history",
                 "cp_next_review_history", "core_group_first_history", "core_group_next_history",
                 "escalation_stage_history", "escalation_formal_history",
                 "pathway_plan_review_history"]


def pack_queries():
    """{rule id: (query, history query or None)} from the shipped rule files."""
    sys.path.insert(0, os.path.dirname(GENCASES))
    import gencases  # noqa: E402 (its libconfig comment stripper)
    out = {}
    for name in sorted(os.listdir(os.path.join(ETC, "rules.d"))):
        if not name.endswith(".conf"):
            continue
        with open(os.path.join(ETC, "rules.d", name), encoding="utf-8") as f:
            text = gencases.strip_comments(f.read())
        ids = list(re.finditer(r'\bid\s*[=:]\s*"([^"]*)"', text))
        for k, m in enumerate(ids):
            chunk = text[m.end():ids[k + 1].start() if k + 1 < len(ids) else len(text)]
            query = re.search(r'\bquery\s*[=:]\s*"([^"]*)"', chunk).group(1)
            history = re.search(r'\bhistory\s*[=:]\s*"([^"]*)"', chunk)
            out[m.group(1)] = (query, history.group(1) if history else None)
    return out


def alert(rule, case, stage, due, fires, recipients):
    return {"rule": rule, "title": TITLES[rule], "case": case, "stage": stage, "due": due,
            "fires": fires, "recipients": recipients}


# ----------------------------------------------------------------------------------------------
# Fixture helpers
# ----------------------------------------------------------------------------------------------

def make_store(path, sql):
    """A case store created from etc/schema.sql, with the staff and then sql."""
    with open(SCHEMA, encoding="utf-8") as f:
        schema = f.read()
    con = sqlite3.connect(path)
    try:
        con.executescript(schema)
        con.executescript(STAFF_SQL)
        con.executescript(sql)
        con.commit()
    finally:
        con.close()


def shipped_config(case_store, state, rules=None, holidays=None):
    """etc/escalator.conf with case_store and state (and, if given, rules and holidays) replaced."""
    with open(os.path.join(ETC, "escalator.conf"), encoding="utf-8") as f:
        text = f.read()
    subs = [(r'^case_store = "[^"]*";', 'case_store = "%s";' % case_store),
            (r'^state = "[^"]*";', 'state = "%s";' % state)]
    if rules is not None:
        subs.append((r'^rules = "[^"]*";', 'rules = "%s";' % rules))
    if holidays is not None:
        subs.append((r'^holidays = \[ "holidays/england-and-wales.txt" \];',
                     'holidays = [ "%s" ];' % holidays))
    for pattern, new in subs:
        text, n = re.subn(pattern, new, text, flags=re.M)
        if n != 1:
            raise AssertionError("etc/escalator.conf: no line matching %r" % pattern)
    return text


def run(args, timeout=120, **kw):
    env = dict(os.environ, LC_ALL="C", TZ="UTC")
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, **kw)


def describe(proc):
    return "\n--- %s\n--- exit %s\n--- stdout:\n%s--- stderr:\n%s" % (
        " ".join(proc.args), proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:])


class Store:
    """A temporary case store + the shipped config pointed at it (rules and holidays from etc/)."""

    def __init__(self, sql):
        self.tmp = tempfile.TemporaryDirectory(prefix="escalator-rulepack-")
        root = self.tmp.name
        self.case_store = os.path.join(root, "cases.db")
        self.state = os.path.join(root, "state.db")
        self.config = os.path.join(root, "escalator.conf")
        make_store(self.case_store, sql)
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(shipped_config(self.case_store, self.state, os.path.join(ETC, "rules.d"),
                                   os.path.join(ETC, "holidays", "england-and-wales.txt")))
        self.cache = {}

    def close(self):
        self.tmp.cleanup()

    def escalatord(self, *args):
        return run([hd.ESCALATORD, "-c", self.config] + list(args))

    def once(self, now, dry_run=True):
        """All alerts owed at now (cached for dry runs); fails on any warning."""
        if dry_run and now in self.cache:
            return self.cache[now]
        proc = self.escalatord("--once", *(["--dry-run"] if dry_run else []), "--now", now)
        if proc.returncode != 0:
            raise AssertionError("escalatord failed" + describe(proc))
        # (not a warning: an alerted clock gone from its rule's rows, e.g. a plan that ended, is
        # recorded as done, "N alerted clock(s) no longer in the case store")
        warnings = [l for l in proc.stderr.splitlines() if "rule=" in l and "alert id=" not in l
                    and "delivery" not in l and "no longer in the case store" not in l]
        if warnings:
            raise AssertionError("row warnings at %s:\n%s" % (now, "\n".join(warnings)))
        alerts = [json.loads(l) for l in proc.stdout.splitlines()]
        if dry_run:
            self.cache[now] = alerts
        return alerts


class RulePackCase(unittest.TestCase):
    maxDiff = None
    SQL = ""

    @classmethod
    def setUpClass(cls):
        cls.store = Store(cls.SQL)

    @classmethod
    def tearDownClass(cls):
        cls.store.close()

    def setUp(self):
        self.nows = []  # every now this test has checked, in order (never() looks at them)

    def check(self, rule, cases, expected):
        """expected: {now: [alerts of rule for cases, in output order]}."""
        for now, want in expected.items():
            if now not in self.nows:
                self.nows.append(now)
            with self.subTest(rule=rule, now=now):
                got = [a for a in self.store.once(now) if a["rule"] == rule and a["case"] in cases]
                # Compared without "copied" (the recipients of skipped stages told late, a key
                # these hand-computed expectations predate): TestCopied checks it.
                got = [{k: v for k, v in a.items() if k != "copied"} for a in got]
                self.assertEqual(got, want, "rule %s at %s" % (rule, now))

    def never(self, cases, rules=None, nows=None):
        """None of cases is alerted (by rules, or by any rule) at any of nows (by default every
        now this test has checked): the same whichever tests ran before, since each now is
        evaluated here if no earlier test has (the cache only saves repeating a dry run)."""
        nows = self.nows if nows is None else nows
        self.assertTrue(nows, "no now to look at")
        for now in nows:
            for a in self.store.once(now):
                if rules is None or a["rule"] in rules:
                    self.assertNotIn(a["case"], cases, "%s alerted at %s: %r" % (a["case"], now, a))


# ----------------------------------------------------------------------------------------------
# (a) The shipped configuration and schema
# ----------------------------------------------------------------------------------------------

class TestShippedConfig(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="escalator-rulepack-")
        self.addCleanup(self.tmp.cleanup)

    def install(self):
        """The installed layout: <tmp>/etc/escalator/{escalator.conf, rules.d, holidays, ...}."""
        root = self.tmp.name
        conf_dir = os.path.join(root, "etc", "escalator")
        shutil.copytree(ETC, conf_dir)
        case_store = os.path.join(root, "cases", "cases.db")
        os.makedirs(os.path.dirname(case_store))
        make_store(case_store, "")
        state = os.path.join(root, "state", "state.db")
        os.makedirs(os.path.dirname(state))
        config = os.path.join(conf_dir, "escalator.conf")
        with open(config, "w", encoding="utf-8") as f:
            f.write(shipped_config(case_store, state))
        return config, case_store, state

    def test_check_passes_on_the_installed_layout(self):
        config, _, state = self.install()
        proc = run([hd.ESCALATORD, "-c", config, "--check"])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout.strip(), "configuration OK", describe(proc))
        self.assertNotIn("warning", proc.stderr, describe(proc))
        # 21 clock rules and the caseload and participation threshold rules, from six files.
        self.assertIn("23 rules from 6 files", proc.stderr, describe(proc))
        self.assertFalse(os.path.exists(state), "--check created the state file")

    def test_empty_store_owes_nothing(self):
        config, _, _ = self.install()
        proc = run([hd.ESCALATORD, "-c", config, "--once", "--dry-run", "--now",
                    "2027-01-04T09:00:00"])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, "", describe(proc))

    def test_rule_files_are_commented_with_sources(self):
        names = sorted(os.listdir(os.path.join(ETC, "rules.d")))
        self.assertEqual(names, ["10-child-in-care.conf", "20-child-protection.conf",
                                 "30-practice-resolution.conf", "40-iro-caseload.conf",
                                 "45-review-participation.conf", "50-care-leavers.conf"])
        for name in names:
            with open(os.path.join(ETC, "rules.d", name), encoding="utf-8") as f:
                text = f.read()
            with self.subTest(name):
                self.assertRegex(text, r"\[S\]|\[P\]")
                if name != "40-iro-caseload.conf":
                    self.assertIn("[L]", text)
                    self.assertIn("Adjust to your protocol", text)

    def test_every_clock_rule_has_history_but_the_cafcass_prompt(self):
        queries = pack_queries()
        self.assertEqual(set(queries), set(STAGES) | set(THRESHOLD_RULES))
        for rule in STAGES:
            with self.subTest(rule):
                if rule == "practice-resolution-cafcass":
                    self.assertIsNone(queries[rule][1])
                else:
                    self.assertRegex(queries[rule][1] or "",
                                     r"^SELECT case_ref, start, done(, theme(, stage)?)?\s+FROM "
                                     r"\w+_history\b")

    def test_only_practice_resolution_stages_hold(self):
        # hold = true only where the pack says why: the practice-resolution stage rules; never
        # the statutory review and conference rules, the overall limit or the Cafcass reminder.
        sys.path.insert(0, os.path.dirname(GENCASES))
        import gencases  # noqa: E402 (its libconfig comment stripper)
        holding, capped = set(), set()
        for name in sorted(os.listdir(os.path.join(ETC, "rules.d"))):
            with open(os.path.join(ETC, "rules.d", name), encoding="utf-8") as f:
                text = gencases.strip_comments(f.read())
            ids = list(re.finditer(r'\bid\s*[=:]\s*"([^"]*)"', text))
            for k, m in enumerate(ids):
                chunk = text[m.end():ids[k + 1].start() if k + 1 < len(ids) else len(text)]
                if re.search(r"\bhold\s*[=:]\s*true\b", chunk, re.I):
                    holding.add(m.group(1))
                if re.search(r'\bmax_hold\s*[=:]\s*"10 working days"', chunk):
                    capped.add(m.group(1))
        stages = {"practice-resolution-informal"} | {
            "practice-resolution-stage-%d" % i for i in range(1, 5)}
        self.assertEqual(holding, stages)
        self.assertEqual(capped, stages)

    def test_views_have_the_documented_columns(self):
        _, case_store, _ = self.install()
        con = sqlite3.connect(case_store)
        self.addCleanup(con.close)
        for view in OPEN_VIEWS:
            with self.subTest(view):
                cols = [d[0] for d in con.execute("SELECT * FROM %s LIMIT 0" % view).description]
                for c in ["case_ref", "start"] + EMAIL_COLUMNS:
                    self.assertIn(c, cols)
                self.assertEqual(len(cols), len(set(cols)), cols)
        for view in HISTORY_VIEWS:
            with self.subTest(view):
                cols = [d[0] for d in con.execute("SELECT * FROM %s LIMIT 0" % view).description]
                self.assertEqual(cols[:3], ["case_ref", "start", "done"])
                self.assertEqual(len(cols), len(set(cols)), cols)
        cols = [d[0] for d in con.execute("SELECT * FROM iro_caseload LIMIT 0").description]
        for c in ("iro_email", "looked_after", "child_protection", "caseload",
                  "iro_manager_email", "iro_service_manager_email"):
            self.assertIn(c, cols)
        cols = [d[0] for d in con.execute("SELECT * FROM iro_participation LIMIT 0").description]
        self.assertEqual(cols, ["iro_id", "iro_email", "reviews", "participated",
                                "participation", "since", "until", "iro_manager_email",
                                "iro_service_manager_email"])


# ----------------------------------------------------------------------------------------------
# (b) Child in Care reviews (rules.d/10-child-in-care.conf)
# ----------------------------------------------------------------------------------------------
#
# cic-first-review: due = start + 20 working days; reminder -5 wd (IRO), overdue +1 wd (team
# manager, IRO), escalated +5 wd (service manager), escalated-hos +10 wd (head of service).
#   start Mon 2026-12-07: Tue 8 (1), Wed 9 (2), Thu 10 (3), Fri 11 (4), Mon 14 (5), Tue 15 (6),
#     Wed 16 (7), Thu 17 (8), Fri 18 (9), Mon 21 (10), Tue 22 (11), Wed 23 (12), Thu 24 (13),
#     [Fri 25 Christmas, Sat 26, Sun 27, Mon 28 Boxing Day substitute], Tue 29 (14), Wed 30 (15),
#     Thu 31 (16), [Fri 2027-01-01 New Year, Sat 2, Sun 3], Mon 4 (17), Tue 5 (18), Wed 6 (19),
#     Thu 7 (20) -> due Thu 2027-01-07.
#   reminder: Wed 6 (1), Tue 5 (2), Mon 4 (3), [Sun 3, Sat 2, Fri 1 hol], Thu 2026-12-31 (4),
#     Wed 2026-12-30 (5) -> 2026-12-30.
#   overdue: Fri 2027-01-08.
#   escalated: Fri 8 (1), Mon 11 (2), Tue 12 (3), Wed 13 (4), Thu 14 (5) -> 2027-01-14.
#   escalated-hos: Fri 15 (6), Mon 18 (7), Tue 19 (8), Wed 20 (9), Thu 21 (10) -> 2027-01-21.
# Cases with that start: CIC-C1 (one 'S' episode), CIC-C5-RETURN (an earlier period of care
# 2025-01-06..2025-09-30 with a review 2025-02-03 that must not count), CIC-C6-UNALLOC (no social
# worker: team manager tm2, whose line manager is sm), CIC-C7-MOVES ('S' episode ended 'X1' on
# 2026-12-15, then an 'L' episode: the clock still runs from the 'S' episode).
# Done: CIC-C2-HELD (first review held 2027-01-06), CIC-C3-LEFT (left care 2026-12-20),
# CIC-C4-SHORTBREAK (legal status V3: left out by the shipped queries).
#
# cic-second-review: due = first review + 3 months; consultation -30 days (IRO, iro_service
# contact), reminder -10 wd (IRO), overdue +1 wd, escalated +5 wd, escalated-hos +10 wd.
#   CIC-S1-FEB: first review Mon 2026-11-30 -> 2027-02-30 does not exist -> due Sun 2027-02-28.
#     consultation: 2027-02-28 - 30 days = Fri 2027-01-29 (Feb 28 - 28 = Jan 31, - 2 = Jan 29).
#     reminder: Fri 26 (1), Thu 25 (2), Wed 24 (3), Tue 23 (4), Mon 22 (5), Fri 19 (6),
#       Thu 18 (7), Wed 17 (8), Tue 16 (9), Mon 15 (10) -> 2027-02-15.
#     overdue: Mon 2027-03-01 (the first working day after Sunday 28).
#     escalated: Mon 1 (1), Tue 2 (2), Wed 3 (3), Thu 4 (4), Fri 5 (5) -> 2027-03-05.
#     escalated-hos: Mon 8 (6), Tue 9 (7), Wed 10 (8), Thu 11 (9), Fri 12 (10) -> 2027-03-12.
#   CIC-S2-EASTER: first review Wed 2026-12-30 -> due Tue 2027-03-30 (the day after Easter Monday).
#     consultation: 2027-03-30 - 30 days = Sun 2027-02-28 -> fires Mon 2027-03-01.
#     reminder: [Mon 29 Easter Monday, Sun, Sat, Fri 26 Good Friday], Thu 25 (1), Wed 24 (2),
#       Tue 23 (3), Mon 22 (4), Fri 19 (5), Thu 18 (6), Wed 17 (7), Tue 16 (8), Mon 15 (9),
#       Fri 12 (10) -> 2027-03-12.
#     overdue: Wed 2027-03-31.
#     escalated: Wed 31 (1), Thu Apr 1 (2), Fri 2 (3), Mon 5 (4), Tue 6 (5) -> 2027-04-06.
#     escalated-hos: Wed 7 (6), Thu 8 (7), Fri 9 (8), Mon 12 (9), Tue 13 (10) -> 2027-04-13.
#
# cic-later-review: due = last review + 6 months; stages as cic-second-review.
#   CIC-L1-FEB: reviews 2026-03-02, 2026-05-29, 2026-08-31 (a bank holiday, as recorded) ->
#     2027-02-31 does not exist -> due Sun 2027-02-28: the same stage dates as CIC-S1-FEB.
#   CIC-L2-XMAS: reviews 2025-12-01, 2026-02-27, 2026-06-25 -> due Fri 2026-12-25 (Christmas).
#     consultation: 2026-12-25 - 30 days = Wed 2026-11-25.
#     reminder: Thu 24 (1), Wed 23 (2), Tue 22 (3), Mon 21 (4), Fri 18 (5), Thu 17 (6),
#       Wed 16 (7), Tue 15 (8), Mon 14 (9), Fri 11 (10) -> 2026-12-11.
#     overdue: [Sat 26, Sun 27, Mon 28 hol] Tue 2026-12-29.
#     escalated: Tue 29 (1), Wed 30 (2), Thu 31 (3), [Fri 1 hol], Mon 4 (4), Tue 5 (5)
#       -> 2027-01-05.
#     escalated-hos: Wed 6 (6), Thu 7 (7), Fri 8 (8), Mon 11 (9), Tue 12 (10) -> 2027-01-12.
#
# cic-midpoint-second: due = first review + 6 weeks; reminder -5 wd (IRO), overdue +1 wd (IRO,
# IRO manager), escalated +10 wd (IRO service manager).
#   CIC-M1-MID2: first review Fri 2026-11-13 + 42 days -> due Fri 2026-12-25 (Christmas).
#     reminder: Thu 24 (1), Wed 23 (2), Tue 22 (3), Mon 21 (4), Fri 18 (5) -> 2026-12-18.
#     overdue: Tue 2026-12-29.
#     escalated: Tue 29 (1), Wed 30 (2), Thu 31 (3), Mon 4 (4), Tue 5 (5), Wed 6 (6), Thu 7 (7),
#       Fri 8 (8), Mon 11 (9), Tue 12 (10) -> 2027-01-12.
# cic-midpoint-later: due = last review + 3 months; stages as cic-midpoint-second.
#   CIC-M2-MID3: reviews 2026-05-01, 2026-07-31, 2026-11-30; a mid-point check on 2026-09-15 is
#     before the last review, so it does not count -> due Sun 2027-02-28 (Nov 30 + 3 months).
#     reminder: Fri 26 (1), Thu 25 (2), Wed 24 (3), Tue 23 (4), Mon 22 (5) -> 2027-02-22.
#     overdue: Mon 2027-03-01.
#     escalated: Mon 1 (1), ... Fri 5 (5), Mon 8 (6), Tue 9 (7), Wed 10 (8), Thu 11 (9),
#       Fri 12 (10) -> 2027-03-12.
#   CIC-M3-DONE: the same reviews, and a mid-point check on 2027-01-15: no mid-point clock.

CIC_SQL = """
INSERT INTO children (child_id, case_ref, social_worker_id, team_manager_id, iro_id) VALUES
  (1, 'CIC-C1', 5, NULL, 9), (2, 'CIC-C2-HELD', 5, NULL, 9), (3, 'CIC-C3-LEFT', 5, NULL, 9),
  (4, 'CIC-C4-SHORTBREAK', 5, NULL, 9), (5, 'CIC-C5-RETURN', 5, NULL, 9),
  (6, 'CIC-C6-UNALLOC', NULL, 6, 9), (7, 'CIC-C7-MOVES', 5, NULL, 9), (8, 'CIC-S1-FEB', 5, NULL, 9),
  (9, 'CIC-S2-EASTER', 5, NULL, 9), (10, 'CIC-L1-FEB', 5, NULL, 9), (11, 'CIC-L2-XMAS', 5, NULL, 9),
  (12, 'CIC-M1-MID2', 5, NULL, 9), (13, 'CIC-M2-MID3', 5, NULL, 9), (14, 'CIC-M3-DONE', 5, NULL, 9);
INSERT INTO care_episodes (child_id, decom, rne, ls, dec, rec) VALUES
  (1, '2026-12-07', 'S', 'C1', NULL, NULL),
  (2, '2026-12-07', 'S', 'C1', NULL, NULL),
  (3, '2026-12-07', 'S', 'V2', '2026-12-20', 'E13'),
  (4, '2026-12-07', 'S', 'V3', NULL, NULL),
  (5, '2025-01-06', 'S', 'V2', '2025-09-30', 'E13'),
  (5, '2026-12-07', 'S', 'C1', NULL, NULL),
  (6, '2026-12-07', 'S', 'C1', NULL, NULL),
  (7, '2026-12-07', 'S', 'V2', '2026-12-15', 'X1'),
  (7, '2026-12-15', 'L', 'C1', NULL, NULL),
  (8, '2026-11-02', 'S', 'C2', NULL, NULL),
  (9, '2026-12-01', 'S', 'C2', NULL, NULL),
  (10, '2026-02-02', 'S', 'C2', NULL, NULL),
  (11, '2025-11-03', 'S', 'C2', NULL, NULL),
  (12, '2026-10-19', 'S', 'C2', NULL, NULL),
  (13, '2026-04-07', 'S', 'C2', NULL, NULL),
  (14, '2026-04-07', 'S', 'C2', NULL, NULL);
INSERT INTO cic_reviews (child_id, review_date, review_code) VALUES
  (2, '2027-01-06', 'PN1'),
  (5, '2025-02-03', 'PN1'),
  (8, '2026-11-30', 'PN1'),
  (9, '2026-12-30', 'PN0'),
  (10, '2026-03-02', 'PN1'), (10, '2026-05-29', 'PN6'), (10, '2026-08-31', 'PN1'),
  (11, '2025-12-01', 'PN2'), (11, '2026-02-27', 'PN1'), (11, '2026-06-25', 'PN1'),
  (12, '2026-11-13', 'PN1'),
  (13, '2026-05-01', 'PN1'), (13, '2026-07-31', 'PN1'), (13, '2026-11-30', 'PN7'),
  (14, '2026-05-01', 'PN1'), (14, '2026-07-31', 'PN1'), (14, '2026-11-30', 'PN1');
INSERT INTO cic_midpoint_checks (child_id, done_on, iro_id) VALUES
  (13, '2026-09-15', 9),
  (14, '2027-01-15', 9);
"""


class TestChildInCare(RulePackCase):
    SQL = CIC_SQL

    def test_first_review(self):
        rule = "cic-first-review"
        cases = ["CIC-C1", "CIC-C5-RETURN", "CIC-C6-UNALLOC", "CIC-C7-MOVES"]

        def four(stage, fires, rcpt, rcpt_unallocated):
            return [alert(rule, c, stage, "2027-01-07", fires,
                          rcpt_unallocated if c == "CIC-C6-UNALLOC" else rcpt) for c in cases]

        reminder = four("reminder", "2026-12-30T08:00:00", [IRO], [IRO])
        overdue = four("overdue", "2027-01-08T08:00:00", [TM, IRO], [TM2, IRO])
        escalated = four("escalated", "2027-01-14T08:00:00", [SM], [SM])
        hos = four("escalated-hos", "2027-01-21T08:00:00", [HOS], [HOS])
        self.check(rule, cases, {
            "2026-12-29T08:00:00": [],         # the day before the reminder
            "2026-12-30T07:59:00": [],         # a minute before send_time
            "2026-12-30T08:00:00": reminder,   # the day of
            "2026-12-31T08:00:00": reminder,   # the day after
            "2027-01-01T08:00:00": reminder,   # New Year's Day
            "2027-01-07T08:00:00": reminder,   # the due date: still in time
            "2027-01-08T07:59:00": reminder,
            "2027-01-08T08:00:00": overdue,
            "2027-01-13T08:00:00": overdue,
            "2027-01-14T08:00:00": escalated,
            "2027-01-15T08:00:00": escalated,
            "2027-01-20T08:00:00": escalated,
            "2027-01-21T08:00:00": hos,
            "2027-01-22T08:00:00": hos,
        })
        self.never(["CIC-C2-HELD"], rules=[rule])
        self.never(["CIC-C3-LEFT", "CIC-C4-SHORTBREAK"])

    def test_second_review(self):
        rule = "cic-second-review"
        cases = ["CIC-S1-FEB", "CIC-S2-EASTER"]

        def s1(stage, fires, rcpt):
            return alert(rule, "CIC-S1-FEB", stage, "2027-02-28", fires, rcpt)

        def s2(stage, fires, rcpt):
            return alert(rule, "CIC-S2-EASTER", stage, "2027-03-30", fires, rcpt)

        s1_hos = s1("escalated-hos", "2027-03-12T08:00:00", [HOS])
        s2_consult = s2("consultation", "2027-03-01T08:00:00", [IRO, IRO_SERVICE])
        s2_reminder = s2("reminder", "2027-03-12T08:00:00", [IRO])
        self.check(rule, cases, {
            "2027-01-28T08:00:00": [],
            "2027-01-29T08:00:00": [s1("consultation", "2027-01-29T08:00:00", [IRO, IRO_SERVICE])],
            "2027-02-14T08:00:00": [s1("consultation", "2027-01-29T08:00:00", [IRO, IRO_SERVICE])],
            "2027-02-15T08:00:00": [s1("reminder", "2027-02-15T08:00:00", [IRO])],
            # the due date is a Sunday; S2's consultation date (Sun 02-28) fires on Monday
            "2027-02-28T08:00:00": [s1("reminder", "2027-02-15T08:00:00", [IRO])],
            "2027-03-01T08:00:00": [s1("overdue", "2027-03-01T08:00:00", [TM, IRO]), s2_consult],
            "2027-03-04T08:00:00": [s1("overdue", "2027-03-01T08:00:00", [TM, IRO]), s2_consult],
            "2027-03-05T08:00:00": [s1("escalated", "2027-03-05T08:00:00", [SM]), s2_consult],
            "2027-03-11T08:00:00": [s1("escalated", "2027-03-05T08:00:00", [SM]), s2_consult],
            "2027-03-12T08:00:00": [s1_hos, s2_reminder],
            "2027-03-26T08:00:00": [s1_hos, s2_reminder],   # Good Friday
            "2027-03-29T08:00:00": [s1_hos, s2_reminder],   # Easter Monday
            "2027-03-30T08:00:00": [s1_hos, s2_reminder],   # S2's due date
            "2027-03-31T08:00:00": [s1_hos, s2("overdue", "2027-03-31T08:00:00", [TM, IRO])],
            "2027-04-05T08:00:00": [s1_hos, s2("overdue", "2027-03-31T08:00:00", [TM, IRO])],
            "2027-04-06T08:00:00": [s1_hos, s2("escalated", "2027-04-06T08:00:00", [SM])],
            "2027-04-12T08:00:00": [s1_hos, s2("escalated", "2027-04-06T08:00:00", [SM])],
            "2027-04-13T08:00:00": [s1_hos, s2("escalated-hos", "2027-04-13T08:00:00", [HOS])],
        })

    def test_later_review(self):
        rule = "cic-later-review"
        cases = ["CIC-L1-FEB", "CIC-L2-XMAS"]

        def l1(stage, fires, rcpt):
            return alert(rule, "CIC-L1-FEB", stage, "2027-02-28", fires, rcpt)

        def l2(stage, fires, rcpt):
            return alert(rule, "CIC-L2-XMAS", stage, "2026-12-25", fires, rcpt)

        l2_reminder = [l2("reminder", "2026-12-11T08:00:00", [IRO])]
        l2_overdue = [l2("overdue", "2026-12-29T08:00:00", [TM, IRO])]
        l2_hos = l2("escalated-hos", "2027-01-12T08:00:00", [HOS])
        self.check(rule, cases, {
            "2026-11-24T08:00:00": [],
            "2026-11-25T08:00:00": [l2("consultation", "2026-11-25T08:00:00", [IRO, IRO_SERVICE])],
            "2026-12-10T08:00:00": [l2("consultation", "2026-11-25T08:00:00", [IRO, IRO_SERVICE])],
            "2026-12-11T08:00:00": l2_reminder,
            "2026-12-24T08:00:00": l2_reminder,
            "2026-12-25T08:00:00": l2_reminder,   # due on Christmas Day
            "2026-12-28T08:00:00": l2_reminder,   # Boxing Day substitute: not yet overdue
            "2026-12-29T08:00:00": l2_overdue,
            "2027-01-04T08:00:00": l2_overdue,
            "2027-01-05T08:00:00": [l2("escalated", "2027-01-05T08:00:00", [SM])],
            "2027-01-11T08:00:00": [l2("escalated", "2027-01-05T08:00:00", [SM])],
            "2027-01-12T08:00:00": [l2_hos],
            # rows in start order: L2 (last review 2026-06-25) before L1 (2026-08-31)
            "2027-01-29T08:00:00": [l2_hos, l1("consultation", "2027-01-29T08:00:00",
                                               [IRO, IRO_SERVICE])],
            "2027-02-15T08:00:00": [l2_hos, l1("reminder", "2027-02-15T08:00:00", [IRO])],
            "2027-03-01T08:00:00": [l2_hos, l1("overdue", "2027-03-01T08:00:00", [TM, IRO])],
            "2027-03-05T08:00:00": [l2_hos, l1("escalated", "2027-03-05T08:00:00", [SM])],
            "2027-03-12T08:00:00": [l2_hos, l1("escalated-hos", "2027-03-12T08:00:00", [HOS])],
        })

    def test_midpoint_second(self):
        rule = "cic-midpoint-second"

        def m1(stage, fires, rcpt):
            return [alert(rule, "CIC-M1-MID2", stage, "2026-12-25", fires, rcpt)]

        self.check(rule, ["CIC-M1-MID2"], {
            "2026-12-17T08:00:00": [],
            "2026-12-18T08:00:00": m1("reminder", "2026-12-18T08:00:00", [IRO]),
            "2026-12-24T08:00:00": m1("reminder", "2026-12-18T08:00:00", [IRO]),
            "2026-12-28T08:00:00": m1("reminder", "2026-12-18T08:00:00", [IRO]),
            "2026-12-29T08:00:00": m1("overdue", "2026-12-29T08:00:00", [IRO, IROM]),
            "2027-01-11T08:00:00": m1("overdue", "2026-12-29T08:00:00", [IRO, IROM]),
            "2027-01-12T08:00:00": m1("escalated", "2027-01-12T08:00:00", [IROSM]),
        })

    def test_midpoint_later(self):
        rule = "cic-midpoint-later"

        def m2(stage, fires, rcpt):
            return [alert(rule, "CIC-M2-MID3", stage, "2027-02-28", fires, rcpt)]

        self.check(rule, ["CIC-M2-MID3", "CIC-M3-DONE"], {
            "2027-02-19T08:00:00": [],
            "2027-02-22T08:00:00": m2("reminder", "2027-02-22T08:00:00", [IRO]),
            "2027-02-28T08:00:00": m2("reminder", "2027-02-22T08:00:00", [IRO]),
            "2027-03-01T08:00:00": m2("overdue", "2027-03-01T08:00:00", [IRO, IROM]),
            "2027-03-11T08:00:00": m2("overdue", "2027-03-01T08:00:00", [IRO, IROM]),
            "2027-03-12T08:00:00": m2("escalated", "2027-03-12T08:00:00", [IROSM]),
        })


# ----------------------------------------------------------------------------------------------
# (b) Child protection (rules.d/20-child-protection.conf)
# ----------------------------------------------------------------------------------------------
#
# cp-icpc: due = strategy discussion + 15 working days; reminder -5 wd (team manager, chair),
# overdue +1 wd (team manager, chair), escalated +3 wd (service manager), escalated-hos +5 wd
# (head of service).
#   start Mon 2026-03-23 (Easter 2026: Good Friday 04-03, Easter Monday 04-06): Tue 24 (1),
#     Wed 25 (2), Thu 26 (3), Fri 27 (4), Mon 30 (5), Tue 31 (6), Wed Apr 1 (7), Thu 2 (8),
#     [Fri 3, Sat 4, Sun 5, Mon 6], Tue 7 (9), Wed 8 (10), Thu 9 (11), Fri 10 (12), Mon 13 (13),
#     Tue 14 (14), Wed 15 (15) -> due Wed 2026-04-15.
#   reminder: Tue 14 (1), Mon 13 (2), Fri 10 (3), Thu 9 (4), Wed 8 (5) -> 2026-04-08.
#   overdue: Thu 2026-04-16.
#   escalated: Thu 16 (1), Fri 17 (2), Mon 20 (3) -> 2026-04-20.
#   escalated-hos: Tue 21 (4), Wed 22 (5) -> 2026-04-22.
# Cases: CP-I1-EASTER; CP-I4-SECOND (an earlier enquiry of 2025 had its ICPC; the new one of
# 2026-03-23 has none). Done: CP-I2-HELD (ICPC held 2026-04-10, no plan), CP-I3-NOTREQ (ICPC not
# required).
#
# cp-first-review: due = plan start + 3 months; reminder -10 wd (chair), overdue +1 wd (team
# manager, chair), escalated +3 wd (service manager), escalated-hos +5 wd (head of service).
#   CP-P1-FEB: ICPC and plan Mon 2026-11-30 (core group held 2026-12-07) -> due Sun 2027-02-28.
#     reminder 2027-02-15 (counted above for CIC-S1-FEB); overdue Mon 2027-03-01;
#     escalated: Mon 1 (1), Tue 2 (2), Wed 3 (3) -> 2027-03-03;
#     escalated-hos: Thu 4 (4), Fri 5 (5) -> 2027-03-05.
# cp-later-review: due = last review conference + 6 months; stages as cp-first-review.
#   CP-P2-XMAS: plan 2026-03-02, review conference 2026-06-25 -> due Fri 2026-12-25.
#     reminder 2026-12-11 (counted above for CIC-L2-XMAS); overdue Tue 2026-12-29;
#     escalated: Tue 29 (1), Wed 30 (2), Thu 31 (3) -> 2026-12-31;
#     escalated-hos: [Fri 2027-01-01 hol, Sat, Sun], Mon 4 (4), Tue 5 (5) -> 2027-01-05.
#   Done: CP-P3-ENDED (the same plan dates, ended 2026-09-01).
# cp-core-group-first: due = plan start + 10 working days; reminder -3 wd (social worker),
# overdue +1 wd (team manager, chair), escalated +5 wd (service manager).
#   CP-G1-XMAS: plan Mon 2026-12-14, no core group yet: Tue 15 (1), Wed 16 (2), Thu 17 (3),
#     Fri 18 (4), Mon 21 (5), Tue 22 (6), Wed 23 (7), Thu 24 (8), [Fri 25, Sat, Sun, Mon 28],
#     Tue 29 (9), Wed 30 (10) -> due Wed 2026-12-30.
#     reminder: Tue 29 (1), [Mon 28, Sun, Sat, Fri 25], Thu 24 (2), Wed 23 (3) -> 2026-12-23.
#     overdue: Thu 2026-12-31.
#     escalated: Thu 31 (1), [Fri 1 hol, Sat, Sun], Mon 4 (2), Tue 5 (3), Wed 6 (4), Thu 7 (5)
#       -> 2027-01-07.
# cp-core-group-next: due = last core group + 4 weeks; reminder -3 wd (social worker), overdue
# +1 wd (team manager), escalated +5 wd (service manager, chair).
#   CP-G2-EASTER: core groups 2026-11-13 and Mon 2027-03-01 -> due Mon 2027-03-29 (Easter Mon).
#     reminder: [Sun 28, Sat 27, Fri 26 Good Friday], Thu 25 (1), Wed 24 (2), Tue 23 (3)
#       -> 2027-03-23.
#     overdue: Tue 2027-03-30.
#     escalated: Tue 30 (1), Wed 31 (2), Thu Apr 1 (3), Fri 2 (4), Mon 5 (5) -> 2027-04-05.

CP_SQL = """
INSERT INTO children (child_id, case_ref, social_worker_id, team_manager_id, iro_id) VALUES
  (1, 'CP-I1-EASTER', 5, NULL, 9), (2, 'CP-I2-HELD', 5, NULL, 9), (3, 'CP-I3-NOTREQ', 5, NULL, 9),
  (4, 'CP-I4-SECOND', 5, NULL, 9), (5, 'CP-P1-FEB', 5, NULL, 9), (6, 'CP-P2-XMAS', 5, NULL, 9),
  (7, 'CP-P3-ENDED', 5, NULL, 9), (8, 'CP-G1-XMAS', 5, NULL, 9), (9, 'CP-G2-EASTER', 5, NULL, 9);
INSERT INTO s47_enquiries (s47_id, child_id, started_on, icpc_not_required) VALUES
  (1, 1, '2026-03-23', 0),
  (2, 2, '2026-03-23', 0),
  (3, 3, '2026-03-23', 1),
  (4, 4, '2025-06-02', 0),
  (5, 4, '2026-03-23', 0),
  (6, 5, '2026-11-16', 0),
  (7, 6, '2026-02-16', 0);
INSERT INTO cp_initial_conferences (icpc_id, s47_id, held_on, plan_made) VALUES
  (1, 2, '2026-04-10', 0),
  (2, 4, '2025-06-20', 0),
  (3, 6, '2026-11-30', 1),
  (4, 7, '2026-03-02', 1);
INSERT INTO cp_plans (plan_id, child_id, icpc_id, started_on, ended_on, initial_category) VALUES
  (1, 5, 3, '2026-11-30', NULL, 'NEG'),
  (2, 6, 4, '2026-03-02', NULL, 'EMO'),
  (3, 7, NULL, '2026-03-02', '2026-09-01', 'NEG'),
  (4, 8, NULL, '2026-12-14', NULL, 'PHY'),
  (5, 9, NULL, '2026-11-02', NULL, 'MUL');
INSERT INTO cp_review_conferences (plan_id, held_on) VALUES
  (2, '2026-06-25'),
  (3, '2026-06-25');
INSERT INTO core_group_meetings (plan_id, held_on) VALUES
  (1, '2026-12-07'),
  (2, '2026-12-01'),
  (3, '2026-04-01'),
  (5, '2026-11-13'), (5, '2027-03-01');
"""


class TestChildProtection(RulePackCase):
    SQL = CP_SQL

    def test_icpc(self):
        rule = "cp-icpc"
        cases = ["CP-I1-EASTER", "CP-I4-SECOND"]

        def two(stage, fires, rcpt):
            return [alert(rule, c, stage, "2026-04-15", fires, rcpt) for c in cases]

        reminder = two("reminder", "2026-04-08T08:00:00", [TM, IRO])
        overdue = two("overdue", "2026-04-16T08:00:00", [TM, IRO])
        escalated = two("escalated", "2026-04-20T08:00:00", [SM])
        self.check(rule, cases, {
            "2026-04-03T08:00:00": [],                  # Good Friday
            "2026-04-07T08:00:00": [],
            "2026-04-08T08:00:00": reminder,
            "2026-04-09T08:00:00": reminder,
            "2026-04-15T08:00:00": reminder,            # the due date
            "2026-04-16T07:59:00": reminder,
            "2026-04-16T08:00:00": overdue,
            "2026-04-17T08:00:00": overdue,
            "2026-04-20T08:00:00": escalated,
            "2026-04-21T08:00:00": escalated,
            "2026-04-22T08:00:00": two("escalated-hos", "2026-04-22T08:00:00", [HOS]),
        })
        self.never(["CP-I2-HELD", "CP-I3-NOTREQ"])

    def test_first_review(self):
        rule = "cp-first-review"

        def p1(stage, fires, rcpt):
            return [alert(rule, "CP-P1-FEB", stage, "2027-02-28", fires, rcpt)]

        self.check(rule, ["CP-P1-FEB"], {
            "2027-02-12T08:00:00": [],
            "2027-02-15T08:00:00": p1("reminder", "2027-02-15T08:00:00", [IRO]),
            "2027-02-28T08:00:00": p1("reminder", "2027-02-15T08:00:00", [IRO]),
            "2027-03-01T08:00:00": p1("overdue", "2027-03-01T08:00:00", [TM, IRO]),
            "2027-03-02T08:00:00": p1("overdue", "2027-03-01T08:00:00", [TM, IRO]),
            "2027-03-03T08:00:00": p1("escalated", "2027-03-03T08:00:00", [SM]),
            "2027-03-04T08:00:00": p1("escalated", "2027-03-03T08:00:00", [SM]),
            "2027-03-05T08:00:00": p1("escalated-hos", "2027-03-05T08:00:00", [HOS]),
        })

    def test_later_review(self):
        rule = "cp-later-review"

        def p2(stage, fires, rcpt):
            return [alert(rule, "CP-P2-XMAS", stage, "2026-12-25", fires, rcpt)]

        self.check(rule, ["CP-P2-XMAS", "CP-P3-ENDED"], {
            "2026-12-10T08:00:00": [],
            "2026-12-11T08:00:00": p2("reminder", "2026-12-11T08:00:00", [IRO]),
            "2026-12-28T08:00:00": p2("reminder", "2026-12-11T08:00:00", [IRO]),
            "2026-12-29T08:00:00": p2("overdue", "2026-12-29T08:00:00", [TM, IRO]),
            "2026-12-30T08:00:00": p2("overdue", "2026-12-29T08:00:00", [TM, IRO]),
            "2026-12-31T08:00:00": p2("escalated", "2026-12-31T08:00:00", [SM]),
            "2027-01-01T08:00:00": p2("escalated", "2026-12-31T08:00:00", [SM]),
            "2027-01-04T08:00:00": p2("escalated", "2026-12-31T08:00:00", [SM]),
            "2027-01-05T08:00:00": p2("escalated-hos", "2027-01-05T08:00:00", [HOS]),
        })
        self.never(["CP-P3-ENDED"])

    def test_core_group_first(self):
        rule = "cp-core-group-first"

        def g1(stage, fires, rcpt):
            return [alert(rule, "CP-G1-XMAS", stage, "2026-12-30", fires, rcpt)]

        self.check(rule, ["CP-G1-XMAS", "CP-P1-FEB", "CP-G2-EASTER"], {
            "2026-12-22T08:00:00": [],
            "2026-12-23T08:00:00": g1("reminder", "2026-12-23T08:00:00", [SW]),
            "2026-12-24T08:00:00": g1("reminder", "2026-12-23T08:00:00", [SW]),
            "2026-12-30T08:00:00": g1("reminder", "2026-12-23T08:00:00", [SW]),
            "2026-12-31T08:00:00": g1("overdue", "2026-12-31T08:00:00", [TM, IRO]),
            "2027-01-06T08:00:00": g1("overdue", "2026-12-31T08:00:00", [TM, IRO]),
            "2027-01-07T08:00:00": g1("escalated", "2027-01-07T08:00:00", [SM]),
        })

    def test_core_group_next(self):
        rule = "cp-core-group-next"

        def g2(stage, fires, rcpt):
            return [alert(rule, "CP-G2-EASTER", stage, "2027-03-29", fires, rcpt)]

        self.check(rule, ["CP-G2-EASTER"], {
            "2027-03-22T08:00:00": [],
            "2027-03-23T08:00:00": g2("reminder", "2027-03-23T08:00:00", [SW]),
            "2027-03-29T08:00:00": g2("reminder", "2027-03-23T08:00:00", [SW]),
            "2027-03-30T08:00:00": g2("overdue", "2027-03-30T08:00:00", [TM]),
            "2027-04-02T08:00:00": g2("overdue", "2027-03-30T08:00:00", [TM]),
            "2027-04-05T08:00:00": g2("escalated", "2027-04-05T08:00:00", [SM, IRO]),
        })


# ----------------------------------------------------------------------------------------------
# (b) Practice resolution (rules.d/30-practice-resolution.conf)
# ----------------------------------------------------------------------------------------------
#
# Every open escalation below reached its current stage on Wed 2026-12-23; the response window
# is 5 working days: Thu 24 (1), [Fri 25, Sat, Sun, Mon 28], Tue 29 (2), Wed 30 (3), Thu 31 (4),
# [Fri 2027-01-01, Sat, Sun], Mon 4 (5) -> due Mon 2027-01-04.
#   reminder -1 wd: Thu 2026-12-31.  overdue +1 wd: Tue 2027-01-05.
#   escalated +3 wd: Tue 5 (1), Wed 6 (2), Thu 7 (3) -> 2027-01-07 (stages 1-4).
#   escalated +5 wd: ..., Fri 8 (4), Mon 11 (5) -> 2027-01-11 (informal, Cafcass).
# The formal process (practice-resolution-overall) began on Mon 2026-12-07 (formal_on; for E1,
# whose formal_on is missing, raised_on): 20 working days -> due Thu 2027-01-07 (counted above for
# cic-first-review); reminder -5 wd Wed 2026-12-30; overdue Fri 2027-01-08; escalated +10 wd
# Thu 2027-01-21.
# All raised by iro2 (not the child's allocated IRO): iro_email is the raiser's. C-LAC is looked
# after; C-CP is on a child protection plan only. The case is "<case_ref>/<escalation_ref>".
# Done: C-LAC/E5 (resolved 2026-12-30). E4REF is already referred to Cafcass; E4CP is not looked
# after: neither has a Cafcass clock.

PR_SQL = """
INSERT INTO children (child_id, case_ref, social_worker_id, team_manager_id, iro_id) VALUES
  (1, 'C-LAC', 5, NULL, 9), (2, 'C-CP', 5, NULL, 9);
INSERT INTO care_episodes (child_id, decom, rne, ls) VALUES (1, '2026-06-01', 'S', 'C2');
INSERT INTO cic_reviews (child_id, review_date) VALUES (1, '2026-06-26'), (1, '2026-09-25');
INSERT INTO cp_plans (plan_id, child_id, started_on) VALUES (1, 2, '2026-10-01');
INSERT INTO escalations (escalation_id, escalation_ref, child_id, raised_on, raised_by, theme,
                         stage, stage_since, formal_on, resolved_on, cafcass_referred) VALUES
  (1, 'E0', 1, '2026-12-23', 10, 'permanence_planning', 0, '2026-12-23', NULL, NULL, 0),
  (2, 'E1', 1, '2026-12-07', 10, 'accountability_record_keeping', 1, '2026-12-23', NULL, NULL, 0),
  (3, 'E2', 1, '2026-12-01', 10, 'leaving_care', 2, '2026-12-23', '2026-12-07', NULL, 0),
  (4, 'E3', 2, '2026-12-01', 10, 'safeguarding', 3, '2026-12-23', '2026-12-07', NULL, 0),
  (5, 'E4', 1, '2026-12-01', 10, 'legal_status', 4, '2026-12-23', '2026-12-07', NULL, 0),
  (6, 'E4CP', 2, '2026-12-01', 10, 'funding', 4, '2026-12-23', '2026-12-07', NULL, 0),
  (7, 'E4REF', 1, '2026-12-01', 10, 'holistic_needs', 4, '2026-12-23', '2026-12-07', NULL, 1),
  (8, 'E5', 1, '2026-12-01', 10, 'network_communication', 2, '2026-12-23', '2026-12-07',
   '2026-12-30', 0);
"""

PR_NOWS_STAGES = {
    # now: (stage reached by the stage rules 1-4, by the informal and Cafcass rules)
    "2026-12-30T08:00:00": (None, None),
    "2026-12-31T08:00:00": ("reminder", "reminder"),
    "2027-01-04T08:00:00": ("reminder", "reminder"),     # the due date
    "2027-01-05T07:59:00": ("reminder", "reminder"),
    "2027-01-05T08:00:00": ("overdue", "overdue"),
    "2027-01-06T08:00:00": ("overdue", "overdue"),
    "2027-01-07T08:00:00": ("escalated", "overdue"),
    "2027-01-08T08:00:00": ("escalated", "overdue"),
    "2027-01-11T08:00:00": ("escalated", "escalated"),
}
PR_FIRES = {"reminder": "2026-12-31T08:00:00", "overdue": "2027-01-05T08:00:00",
            "escalated": "2027-01-07T08:00:00"}
PR_FIRES_5 = {"reminder": "2026-12-31T08:00:00", "overdue": "2027-01-05T08:00:00",
              "escalated": "2027-01-11T08:00:00"}


class TestPracticeResolution(RulePackCase):
    SQL = PR_SQL

    def stage_rule(self, rule, cases, recipients, informal=False, done=()):
        """cases are expected, in this order; done are cases of the same rule that never are."""
        fires = PR_FIRES_5 if informal else PR_FIRES
        expected = {}
        for now, (formal_stage, slow_stage) in PR_NOWS_STAGES.items():
            stage = slow_stage if informal else formal_stage
            expected[now] = [] if stage is None else [
                alert(rule, c, stage, "2027-01-04", fires[stage], recipients[stage])
                for c in cases]
        self.check(rule, list(cases) + list(done), expected)

    def test_informal(self):
        self.stage_rule("practice-resolution-informal", ["C-LAC/E0"],
                        {"reminder": [SW, TM], "overdue": [IRO2], "escalated": [IROM]},
                        informal=True)

    def test_stage_1(self):
        self.stage_rule("practice-resolution-stage-1", ["C-LAC/E1"],
                        {"reminder": [TM], "overdue": [TM, IRO2, IROM],
                         "escalated": [SM, IROM]})

    def test_stage_2(self):
        # C-LAC/E5, at the same stage since the same day, is resolved: only E2.
        self.stage_rule("practice-resolution-stage-2", ["C-LAC/E2"],
                        {"reminder": [SM], "overdue": [SM, IRO2, IROM],
                         "escalated": [HOS, IROM]}, done=["C-LAC/E5"])
        self.never(["C-LAC/E5"])

    def test_stage_3(self):
        self.stage_rule("practice-resolution-stage-3", ["C-CP/E3"],
                        {"reminder": [HOS], "overdue": [HOS, IRO2, IROM],
                         "escalated": [DIRECTOR, IROM]})

    def test_stage_4(self):
        # rows in case_ref order (same start): C-CP/E4CP, C-LAC/E4, C-LAC/E4REF
        self.stage_rule("practice-resolution-stage-4", ["C-CP/E4CP", "C-LAC/E4", "C-LAC/E4REF"],
                        {"reminder": [DIRECTOR], "overdue": [DIRECTOR, IRO2, IROM],
                         "escalated": [IROSM]})

    def test_cafcass(self):
        rule = "practice-resolution-cafcass"
        # Only the looked-after child's stage 4 escalation with no referral.
        self.stage_rule(rule, ["C-LAC/E4"],
                        {"reminder": [IRO2], "overdue": [IROM, IRO2], "escalated": [IROSM]},
                        informal=True, done=["C-CP/E4CP", "C-LAC/E4REF"])

    def test_overall(self):
        rule = "practice-resolution-overall"
        cases = ["C-CP/E3", "C-LAC/E1"]   # case_ref order

        def both(stage, fires, rcpt):
            return [alert(rule, c, stage, "2027-01-07", fires, rcpt) for c in cases]

        reminder = both("reminder", "2026-12-30T08:00:00", [IRO2, IROM])
        overdue = both("overdue", "2027-01-08T08:00:00", [IROM, HOS])
        self.check(rule, cases + ["C-LAC/E0"], {
            "2026-12-29T08:00:00": [],
            "2026-12-30T08:00:00": reminder,
            "2027-01-07T08:00:00": reminder,
            "2027-01-08T08:00:00": overdue,
            "2027-01-20T08:00:00": overdue,
            "2027-01-21T08:00:00": both("escalated", "2027-01-21T08:00:00", [IROSM, DIRECTOR]),
        })


class TestCopied(unittest.TestCase):
    """Recipients of skipped stages are "copied" in (told late): those of each stage passed
    before escalator first saw the clock, less the recipients of the stage alerted now, each
    once, latest skipped stage first. A stage skipped in an earlier run copies nobody again.
    The stage lists are those of TestPracticeResolution (PR_SQL, its own state store here)."""

    RULES = ("practice-resolution-stage-1", "practice-resolution-stage-4",
             "practice-resolution-cafcass")

    def setUp(self):
        self.store = Store(PR_SQL)
        self.addCleanup(self.store.close)

    def copied(self, now, dry_run):
        """{(rule, case): copied} for the alerts of RULES owed at now (no key: [])."""
        return {(a["rule"], a["case"]): a.get("copied", [])
                for a in self.store.once(now, dry_run) if a["rule"] in self.RULES}

    def test_first_seen_past_stages(self):
        # 2027-01-11, nothing recorded: every clock at its escalated stage.
        #   stage 1: escalated [SM, IROM]; skipped overdue [TM, IRO2, IROM], reminder [TM]
        #     -> [TM, IRO2] (IROM is a recipient; TM once).
        #   stage 4: escalated [IROSM]; skipped overdue [DIRECTOR, IRO2, IROM], reminder
        #     [DIRECTOR] -> [DIRECTOR, IRO2, IROM].
        #   Cafcass: escalated [IROSM]; skipped overdue [IROM, IRO2], reminder [IRO2]
        #     -> [IROM, IRO2].
        stage4 = [DIRECTOR, IRO2, IROM]
        self.assertEqual(self.copied("2027-01-11T08:00:00", dry_run=True), {
            ("practice-resolution-stage-1", "C-LAC/E1"): [TM, IRO2],
            ("practice-resolution-stage-4", "C-CP/E4CP"): stage4,
            ("practice-resolution-stage-4", "C-LAC/E4"): stage4,
            ("practice-resolution-stage-4", "C-LAC/E4REF"): stage4,
            ("practice-resolution-cafcass", "C-LAC/E4"): [IROM, IRO2],
        })

    def test_earlier_stages_alerted_copy_nobody(self):
        # 2027-01-05: overdue (stages 1-4 and Cafcass); the skipped reminders' recipients are
        # all overdue recipients ([TM] in [TM, IRO2, IROM]; [DIRECTOR] in [DIRECTOR, ...];
        # [IRO2] in [IROM, IRO2]) -> nobody copied.
        self.assertEqual(self.copied("2027-01-05T08:00:00", dry_run=False), {
            ("practice-resolution-stage-1", "C-LAC/E1"): [],
            ("practice-resolution-stage-4", "C-CP/E4CP"): [],
            ("practice-resolution-stage-4", "C-LAC/E4"): [],
            ("practice-resolution-stage-4", "C-LAC/E4REF"): [],
            ("practice-resolution-cafcass", "C-LAC/E4"): [],
        })
        # 2027-01-07: stages 1-4 escalated; overdue alerted, reminder recorded as skipped on
        # 01-05 -> nobody copied (Cafcass still overdue: nothing new).
        self.assertEqual(self.copied("2027-01-07T08:00:00", dry_run=False), {
            ("practice-resolution-stage-1", "C-LAC/E1"): [],
            ("practice-resolution-stage-4", "C-CP/E4CP"): [],
            ("practice-resolution-stage-4", "C-LAC/E4"): [],
            ("practice-resolution-stage-4", "C-LAC/E4REF"): [],
        })
        # 2027-01-11: Cafcass escalated after its overdue was alerted -> nobody.
        self.assertEqual(self.copied("2027-01-11T08:00:00", dry_run=False), {
            ("practice-resolution-cafcass", "C-LAC/E4"): [],
        })
        con = sqlite3.connect(self.store.state)
        try:
            n = con.execute("SELECT count(*) FROM delivery d JOIN alert a ON a.id = d.alert_id "
                            "WHERE d.copied IS NOT NULL AND a.rule IN (?, ?, ?)",
                            self.RULES).fetchone()[0]
        finally:
            con.close()
        self.assertEqual(n, 0)


class TestHold(unittest.TestCase):
    """An "action agreed" answer holds the later stages of the practice-resolution stage rules
    (hold = true; max_hold = "10 working days") and of no other rule. Dates as in
    TestPracticeResolution: each escalation reached its stage on Wed 2026-12-23, due Mon
    2027-01-04; stages 1-4: reminder Thu 2026-12-31, overdue Tue 01-05, escalated Thu 01-07;
    the overall rule: reminder Wed 2026-12-30, overdue Fri 2027-01-08. The reminders are
    recorded by a real run; the answers are written as daemon/answers.c writes them."""

    def setUp(self):
        self.store = Store(PR_SQL)
        self.addCleanup(self.store.close)
        self.store.once("2026-12-31T08:00:00", dry_run=False)

    def answer(self, rule, case, stage, agreed_on):
        con = sqlite3.connect(self.store.state)
        try:
            with con:
                row = con.execute(
                    "SELECT d.id, a.id, a.start, a.label, d.recipient FROM delivery d JOIN alert "
                    "a ON a.id = d.alert_id WHERE a.rule = ? AND a.case_ref = ? AND a.stage = ? "
                    "ORDER BY d.id LIMIT 1", (rule, case, stage)).fetchone()
                self.assertIsNotNone(row, "no delivery of %s %s %s" % (rule, case, stage))
                con.execute(
                    "INSERT INTO response (delivery_id, alert_id, rule, case_ref, start, stage, "
                    "label, recipient, kind, agreed_on, answered_at) VALUES (?, ?, ?, ?, ?, ?, "
                    "?, ?, 'agreed', ?, '2027-01-01T10:00:00Z')",
                    (row[0], row[1], rule, case, row[2], stage, row[3], row[4], agreed_on))
        finally:
            con.close()

    def owed(self, now, *keys):
        """Which of keys (rule suffix, case) are owed at now, with their stage."""
        got = {("practice-resolution-" + r, c): None for r, c in keys}
        for a in self.store.once(now):
            if (a["rule"], a["case"]) in got:
                got[(a["rule"], a["case"])] = a["stage"]
        return {"%s %s" % k: v for k, v in got.items()}

    def test_agreed_date_holds_later_stages(self):
        # Stage 1: agreed for Tue 01-05 (the overdue date): overdue waits until Wed 01-06.
        self.answer("practice-resolution-stage-1", "C-LAC/E1", "reminder", "2027-01-05")
        # Stage 2: agreed for March: overdue may wait 10 working days, to Tue 01-19 (01-06,
        # 07, 08, 11..15, 18, 19); the escalation (01-07) then goes, overdue skipped.
        self.answer("practice-resolution-stage-2", "C-LAC/E2", "reminder", "2027-03-01")
        # The overall limit never holds: agreed for its own overdue date, it goes on that date.
        self.answer("practice-resolution-overall", "C-LAC/E1", "reminder", "2027-01-08")
        keys = [("stage-1", "C-LAC/E1"), ("stage-2", "C-LAC/E2"), ("stage-3", "C-CP/E3"),
                ("overall", "C-LAC/E1")]
        self.assertEqual(self.owed("2027-01-05T08:00:00", *keys), {
            "practice-resolution-stage-1 C-LAC/E1": None,
            "practice-resolution-stage-2 C-LAC/E2": None,
            "practice-resolution-stage-3 C-CP/E3": "overdue",   # no answer: as ever
            "practice-resolution-overall C-LAC/E1": None})
        self.assertEqual(self.owed("2027-01-06T08:00:00", *keys[:2]), {
            "practice-resolution-stage-1 C-LAC/E1": "overdue",
            "practice-resolution-stage-2 C-LAC/E2": None})
        self.assertEqual(self.owed("2027-01-08T08:00:00", *keys), {
            "practice-resolution-stage-1 C-LAC/E1": "escalated",  # dated after 01-05
            "practice-resolution-stage-2 C-LAC/E2": None,
            "practice-resolution-stage-3 C-CP/E3": "escalated",
            "practice-resolution-overall C-LAC/E1": "overdue"})
        self.assertEqual(self.owed("2027-01-18T08:00:00", ("stage-2", "C-LAC/E2")),
                         {"practice-resolution-stage-2 C-LAC/E2": None})
        self.assertEqual(self.owed("2027-01-19T08:00:00", ("stage-2", "C-LAC/E2")),
                         {"practice-resolution-stage-2 C-LAC/E2": "escalated"})


# ----------------------------------------------------------------------------------------------
# (b) Review decisions and records sent (rules.d/10-child-in-care.conf)
# ----------------------------------------------------------------------------------------------
#
# Every clock below runs from a review held on Wed 2026-12-16.
# cic-review-decisions: due = 5 working days: Thu 17 (1), Fri 18 (2), Mon 21 (3), Tue 22 (4),
#   Wed 23 (5) -> due Wed 2026-12-23. reminder -2 wd: Tue 22 (1), Mon 21 (2) -> Mon 2026-12-21
#   (IRO). overdue +1 wd: Thu 2026-12-24 (IRO, IRO manager). escalated +5 wd: Thu 24 (1),
#   [Fri 25 Christmas, Sat, Sun, Mon 28 Boxing Day substitute], Tue 29 (2), Wed 30 (3), Thu 31
#   (4), [Fri 2027-01-01], Mon 4 (5) -> Mon 2027-01-04 (IRO service manager).
# cic-review-record: due = 20 working days: ..., Thu 24 (6), Tue 29 (7), Wed 30 (8), Thu 31 (9),
#   Mon Jan 4 (10), Tue 5 (11), Wed 6 (12), Thu 7 (13), Fri 8 (14), Mon 11 (15), Tue 12 (16),
#   Wed 13 (17), Thu 14 (18), Fri 15 (19), Mon 18 (20) -> due Mon 2027-01-18. reminder -5 wd:
#   Fri 15 (1), Thu 14 (2), Wed 13 (3), Tue 12 (4), Mon 11 (5) -> Mon 2027-01-11. overdue +1 wd:
#   Tue 2027-01-19. escalated +10 wd: Tue 19 (1), Wed 20 (2), Thu 21 (3), Fri 22 (4), Mon 25 (5),
#   Tue 26 (6), Wed 27 (7), Thu 28 (8), Fri 29 (9), Mon Feb 1 (10) -> Mon 2027-02-01.
# DR-1: nothing sent after its last review: both clocks. DR-2-DEC-SENT: the decisions went on
# 2026-12-22: the record's clock only. DR-5-EARLIER: an earlier review (2026-06-30) whose
# decisions and record never went: still one clock per rule, from the last review. Done:
# DR-3-LEFT (left care on 2026-12-20), DR-4-SHORTBREAK (V3: left out, as by the review rules).
# DR-1's first review has both dates, so the store records them (a store with none has no
# clocks: TestChildInCare's reviews have no dates and owe nothing).

DR_SQL = """
INSERT INTO children (child_id, case_ref, social_worker_id, team_manager_id, iro_id) VALUES
  (1, 'DR-1', 5, NULL, 9), (2, 'DR-2-DEC-SENT', 5, NULL, 9), (3, 'DR-3-LEFT', 5, NULL, 9),
  (4, 'DR-4-SHORTBREAK', 5, NULL, 9), (5, 'DR-5-EARLIER', 5, NULL, 9);
INSERT INTO care_episodes (child_id, decom, rne, ls, dec, rec) VALUES
  (1, '2026-06-01', 'S', 'C2', NULL, NULL),
  (2, '2026-06-01', 'S', 'C2', NULL, NULL),
  (3, '2026-06-01', 'S', 'C2', '2026-12-20', 'E13'),
  (4, '2026-06-01', 'S', 'V3', NULL, NULL),
  (5, '2026-06-01', 'S', 'C2', NULL, NULL);
INSERT INTO cic_reviews (child_id, review_date, review_code, decisions_sent_on,
                         record_sent_on) VALUES
  (1, '2026-06-29', 'PN1', '2026-07-02', '2026-07-20'), (1, '2026-12-16', 'PN1', NULL, NULL),
  (2, '2026-06-29', 'PN1', '2026-07-02', '2026-07-20'),
  (2, '2026-12-16', 'PN1', '2026-12-22', NULL),
  (3, '2026-06-29', 'PN1', NULL, NULL), (3, '2026-12-16', 'PN1', NULL, NULL),
  (4, '2026-12-16', 'PN1', NULL, NULL),
  (5, '2026-06-30', 'PN1', NULL, NULL), (5, '2026-12-16', 'PN1', NULL, NULL);
"""


class TestReviewDistribution(RulePackCase):
    SQL = DR_SQL

    def test_decisions(self):
        rule = "cic-review-decisions"
        cases = ["DR-1", "DR-5-EARLIER"]

        def both(stage, fires, rcpt):
            return [alert(rule, c, stage, "2026-12-23", fires, rcpt) for c in cases]

        reminder = both("reminder", "2026-12-21T08:00:00", [IRO])
        overdue = both("overdue", "2026-12-24T08:00:00", [IRO, IROM])
        self.check(rule, cases + ["DR-2-DEC-SENT"], {
            "2026-12-18T08:00:00": [],
            "2026-12-21T07:59:00": [],
            "2026-12-21T08:00:00": reminder,
            "2026-12-23T08:00:00": reminder,        # the due date
            "2026-12-24T07:59:00": reminder,
            "2026-12-24T08:00:00": overdue,
            "2026-12-31T08:00:00": overdue,
            "2027-01-01T08:00:00": overdue,        # New Year's Day
            "2027-01-04T08:00:00": both("escalated", "2027-01-04T08:00:00", [IROSM]),
        })
        self.never(["DR-3-LEFT", "DR-4-SHORTBREAK"])

    def test_record(self):
        rule = "cic-review-record"
        cases = ["DR-1", "DR-2-DEC-SENT", "DR-5-EARLIER"]

        def three(stage, fires, rcpt):
            return [alert(rule, c, stage, "2027-01-18", fires, rcpt) for c in cases]

        reminder = three("reminder", "2027-01-11T08:00:00", [IRO])
        overdue = three("overdue", "2027-01-19T08:00:00", [IRO, IROM])
        self.check(rule, cases, {
            "2027-01-08T08:00:00": [],
            "2027-01-11T08:00:00": reminder,
            "2027-01-18T08:00:00": reminder,       # the due date
            "2027-01-19T08:00:00": overdue,
            "2027-01-29T08:00:00": overdue,
            "2027-02-01T08:00:00": three("escalated", "2027-02-01T08:00:00", [IROSM]),
        })
        self.never(["DR-3-LEFT", "DR-4-SHORTBREAK"])


class TestNoDatesNoClocks(RulePackCase):
    """A case store that records no distribution dates and no allocations (TestChildInCare's):
    the decisions, record and allocation rules owe nothing, whatever the date."""
    SQL = CIC_SQL

    def test_silent(self):
        for now in ("2027-01-08T08:00:00", "2027-03-30T08:00:00"):
            got = [a for a in self.store.once(now) if a["rule"] in (
                "cic-review-decisions", "cic-review-record", "cic-iro-allocation")]
            self.assertEqual(got, [], now)


# ----------------------------------------------------------------------------------------------
# (b) IRO allocated (rules.d/10-child-in-care.conf)
# ----------------------------------------------------------------------------------------------
#
# cic-iro-allocation: due = 5 working days from the day the child became looked after, Mon
# 2026-12-21: Tue 22 (1), Wed 23 (2), Thu 24 (3), [Fri 25 .. Mon 28], Tue 29 (4), Wed 30 (5) ->
# due Wed 2026-12-30. reminder -2 wd: Tue 29 (1), Thu 24 (2) -> Thu 2026-12-24 (the IRO
# service's mailbox). overdue +1 wd: Thu 2026-12-31 (IRO service, team manager). escalated +5 wd:
# Thu 31 (1), Mon 4 (2), Tue 5 (3), Wed 6 (4), Thu 7 (5) -> Thu 2027-01-07 (IRO service manager:
# AL-1-NOIRO and AL-7-SHORTBREAK have no IRO, so the store's IRO service manager).
# Clocks: AL-1-NOIRO, AL-2 (children.iro_id set, no allocation recorded), AL-4-EARLIER (allocated
# in an earlier period of care: does not count), AL-7-SHORTBREAK (short breaks included).
# Done: AL-3-DONE (allocated 2026-12-23), AL-5-SAMEDAY (allocated on the day), AL-6-LEFT (left
# care 2026-12-23 unallocated).

AL_SQL = """
INSERT INTO children (child_id, case_ref, social_worker_id, team_manager_id, iro_id) VALUES
  (1, 'AL-1-NOIRO', 5, NULL, NULL), (2, 'AL-2', 5, NULL, 9), (3, 'AL-3-DONE', 5, NULL, 9),
  (4, 'AL-4-EARLIER', 5, NULL, 9), (5, 'AL-5-SAMEDAY', 5, NULL, 9), (6, 'AL-6-LEFT', 5, NULL, 9),
  (7, 'AL-7-SHORTBREAK', 5, NULL, NULL);
INSERT INTO care_episodes (child_id, decom, rne, ls, dec, rec) VALUES
  (1, '2026-12-21', 'S', 'C2', NULL, NULL), (2, '2026-12-21', 'S', 'C2', NULL, NULL),
  (3, '2026-12-21', 'S', 'C2', NULL, NULL),
  (4, '2025-03-03', 'S', 'V2', '2025-10-31', 'E13'), (4, '2026-12-21', 'S', 'C2', NULL, NULL),
  (5, '2026-12-21', 'S', 'C2', NULL, NULL), (6, '2026-12-21', 'S', 'V2', '2026-12-23', 'E13'),
  (7, '2026-12-21', 'S', 'V3', NULL, NULL);
INSERT INTO iro_allocations (child_id, iro_id, allocated_on) VALUES
  (3, 9, '2026-12-23'), (4, 9, '2025-03-05'), (5, 9, '2026-12-21');
"""


class TestIroAllocation(RulePackCase):
    SQL = AL_SQL

    def test_allocation(self):
        rule = "cic-iro-allocation"
        cases = ["AL-1-NOIRO", "AL-2", "AL-4-EARLIER", "AL-7-SHORTBREAK"]

        def four(stage, fires, rcpt):
            return [alert(rule, c, stage, "2026-12-30", fires, rcpt) for c in cases]

        reminder = four("reminder", "2026-12-24T08:00:00", [IRO_SERVICE])
        overdue = four("overdue", "2026-12-31T08:00:00", [IRO_SERVICE, TM])
        self.check(rule, cases, {
            "2026-12-23T08:00:00": [],
            "2026-12-24T07:59:00": [],
            "2026-12-24T08:00:00": reminder,
            "2026-12-29T08:00:00": reminder,
            "2026-12-30T08:00:00": reminder,       # the due date
            "2026-12-31T08:00:00": overdue,
            "2027-01-06T08:00:00": overdue,
            "2027-01-07T08:00:00": four("escalated", "2027-01-07T08:00:00", [IROSM]),
        })
        self.never(["AL-3-DONE", "AL-5-SAMEDAY", "AL-6-LEFT"])


# ----------------------------------------------------------------------------------------------
# (b) Care leavers' pathway plan reviews (rules.d/50-care-leavers.conf)
# ----------------------------------------------------------------------------------------------
#
# care-leaver-pathway-review: due = 6 months; reminder -10 wd (personal adviser), overdue +1 wd
# (personal adviser, their team manager), escalated +10 wd (service manager).
#   CL-1: plan started Tue 2026-06-30, no review -> due Wed 2026-12-30. reminder: Tue 29 (1),
#     Thu 24 (2), Wed 23 (3), Tue 22 (4), Mon 21 (5), Fri 18 (6), Thu 17 (7), Wed 16 (8),
#     Tue 15 (9), Mon 14 (10) -> 2026-12-14. overdue: Thu 2026-12-31. escalated: Thu 31 (1),
#     Mon 4 (2), Tue 5 (3), Wed 6 (4), Thu 7 (5), Fri 8 (6), Mon 11 (7), Tue 12 (8), Wed 13 (9),
#     Thu 14 (10) -> 2027-01-14.
#   CL-4-OLDREVIEW: the same plan start; a review on 2026-05-15, before the plan started (while
#     still looked after), does not count: the same dates.
#   CL-2-FEB: plan started 2025-08-29, reviews 2026-02-27 and Mon 2026-08-31 -> 2027-02-31 does
#     not exist -> due Sun 2027-02-28: the stage dates of CIC-S1-FEB (reminder Mon 2027-02-15,
#     overdue Mon 2027-03-01, escalated Fri 2027-03-12).
# Done: CL-3-ENDED (support ended 2026-12-01).

CL_SQL = """
INSERT INTO children (child_id, case_ref, social_worker_id, team_manager_id, iro_id) VALUES
  (1, 'CL-1', NULL, NULL, NULL), (2, 'CL-2-FEB', NULL, NULL, NULL),
  (3, 'CL-3-ENDED', NULL, NULL, NULL), (4, 'CL-4-OLDREVIEW', NULL, NULL, NULL);
INSERT INTO care_leavers (child_id, personal_adviser_id, plan_started_on, ended_on) VALUES
  (1, 11, '2026-06-30', NULL), (2, 11, '2025-08-29', NULL), (3, 11, '2026-01-05', '2026-12-01'),
  (4, 11, '2026-06-30', NULL);
INSERT INTO pathway_plan_reviews (child_id, reviewed_on) VALUES
  (2, '2026-02-27'), (2, '2026-08-31'), (4, '2026-05-15');
"""


class TestCareLeavers(RulePackCase):
    SQL = CL_SQL

    def test_first_review(self):
        rule = "care-leaver-pathway-review"
        cases = ["CL-1", "CL-4-OLDREVIEW"]

        def two(stage, fires, rcpt):
            return [alert(rule, c, stage, "2026-12-30", fires, rcpt) for c in cases]

        reminder = two("reminder", "2026-12-14T08:00:00", [PA])
        overdue = two("overdue", "2026-12-31T08:00:00", [PA, TM])
        self.check(rule, cases, {
            "2026-12-11T08:00:00": [],
            "2026-12-14T08:00:00": reminder,
            "2026-12-30T08:00:00": reminder,       # the due date
            "2026-12-31T07:59:00": reminder,
            "2026-12-31T08:00:00": overdue,
            "2027-01-13T08:00:00": overdue,
            "2027-01-14T08:00:00": two("escalated", "2027-01-14T08:00:00", [SM]),
        })
        self.never(["CL-3-ENDED"])

    def test_february(self):
        rule = "care-leaver-pathway-review"

        def c2(stage, fires, rcpt):
            return [alert(rule, "CL-2-FEB", stage, "2027-02-28", fires, rcpt)]

        self.check(rule, ["CL-2-FEB"], {
            "2027-02-12T08:00:00": [],
            "2027-02-15T08:00:00": c2("reminder", "2027-02-15T08:00:00", [PA]),
            "2027-02-28T08:00:00": c2("reminder", "2027-02-15T08:00:00", [PA]),
            "2027-03-01T08:00:00": c2("overdue", "2027-03-01T08:00:00", [PA, TM]),
            "2027-03-11T08:00:00": c2("overdue", "2027-03-01T08:00:00", [PA, TM]),
            "2027-03-12T08:00:00": c2("escalated", "2027-03-12T08:00:00", [SM]),
        })


# ----------------------------------------------------------------------------------------------
# (b) IRO caseloads (rules.d/40-iro-caseload.conf): a threshold rule, above 70.
# ----------------------------------------------------------------------------------------------
#
# iro@ holds 40 looked-after children, 30 on child protection plans and 1 who is both: 71
# (41 looked after, 31 on plans). Not counted: 3 children who left care, 2 whose plan ended and 2
# with only a section 47 enquiry. iro2@ holds exactly 70 looked-after children: not above.

def caseload_sql():
    rows, eps, plans, s47 = [], [], [], []
    cid = 0

    def child(iro):
        nonlocal cid
        cid += 1
        rows.append("(%d, 'CL-%03d', 5, NULL, %d)" % (cid, cid, iro))
        return cid

    for _ in range(40):
        eps.append("(%d, '2026-06-01', 'S', 'C2', NULL)" % child(9))
    for _ in range(30):
        plans.append("(%d, '2026-06-01', NULL)" % child(9))
    both = child(9)
    eps.append("(%d, '2026-06-01', 'S', 'C2', NULL)" % both)
    plans.append("(%d, '2026-06-01', NULL)" % both)
    for _ in range(3):
        eps.append("(%d, '2026-01-05', 'S', 'V2', '2026-05-29')" % child(9))
    for _ in range(2):
        plans.append("(%d, '2026-01-05', '2026-07-01')" % child(9))
    for _ in range(2):
        s47.append("(%d, '2026-11-02')" % child(9))
    for _ in range(70):
        eps.append("(%d, '2026-06-01', 'S', 'C2', NULL)" % child(10))
    return ("INSERT INTO children (child_id, case_ref, social_worker_id, team_manager_id, iro_id) "
            "VALUES %s;\nINSERT INTO care_episodes (child_id, decom, rne, ls, dec) VALUES %s;\n"
            "INSERT INTO cp_plans (child_id, started_on, ended_on) VALUES %s;\n"
            "INSERT INTO s47_enquiries (child_id, started_on) VALUES %s;\n"
            % (", ".join(rows), ", ".join(eps), ", ".join(plans), ", ".join(s47)))


def caseload(iro, value, now):
    return {"rule": "iro-caseload", "title": TITLES["iro-caseload"], "case": iro, "stage": "above",
            "due": now[:10], "fires": now, "recipients": [IROSM], "value": value}


class TestIroCaseload(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.store = Store(caseload_sql())
        self.addCleanup(self.store.close)

    def caseload_alerts(self, now, dry_run=True):
        return [a for a in self.store.once(now, dry_run) if a["rule"] == "iro-caseload"]

    def sql(self, statement):
        con = sqlite3.connect(self.store.case_store)
        try:
            con.execute(statement)
            con.commit()
        finally:
            con.close()

    def test_view(self):
        con = sqlite3.connect(self.store.case_store)
        self.addCleanup(con.close)
        rows = con.execute("SELECT iro_email, looked_after, child_protection, caseload, "
                           "iro_service_manager_email FROM iro_caseload "
                           "ORDER BY iro_email").fetchall()
        self.assertEqual(rows, [("iro2@council.example", 70, 0, 70, IROSM),
                                ("iro@council.example", 41, 31, 71, IROSM)])

    def test_above_70_alerts_once_per_crossing(self):
        now = "2027-01-05T09:00:00"
        self.assertEqual(self.caseload_alerts(now), [caseload(IRO, 71, now)])
        # Recorded: the second evaluation owes nothing.
        self.assertEqual(self.caseload_alerts(now, dry_run=False), [caseload(IRO, 71, now)])
        later = "2027-01-06T09:00:00"
        self.assertEqual(self.caseload_alerts(later, dry_run=False), [])
        # One plan ends (CL-041 is on a plan only): iro@ is back to 70, not above: nothing.
        self.sql("UPDATE cp_plans SET ended_on = '2027-01-06' WHERE child_id = 41")
        self.assertEqual(self.caseload_alerts("2027-01-07T09:00:00", dry_run=False), [])
        # CL-041's alerted child protection clocks left their rules' rows with the plan: done.
        con = sqlite3.connect(self.store.state)
        try:
            closed = con.execute("SELECT rule, closed_on FROM closed_clock WHERE case_ref = "
                                 "'CL-041' ORDER BY rule").fetchall()
            others = con.execute("SELECT count(*) FROM closed_clock WHERE case_ref != 'CL-041'"
                                 ).fetchone()[0]
        finally:
            con.close()
        self.assertEqual(closed, [("cp-core-group-first", "2027-01-07"),
                                  ("cp-first-review", "2027-01-07")])
        self.assertEqual(others, 0)
        # A new child for each IRO: iro@ crosses 70 again (alerted again), iro2@ for the first time.
        self.sql("INSERT INTO children (child_id, case_ref, social_worker_id, iro_id) VALUES "
                 "(500, 'CL-500', 5, 9), (501, 'CL-501', 5, 10)")
        self.sql("INSERT INTO care_episodes (child_id, decom, rne) VALUES "
                 "(500, '2027-01-07', 'S'), (501, '2027-01-07', 'S')")
        now = "2027-01-08T09:00:00"
        self.assertEqual(self.caseload_alerts(now, dry_run=False),
                         [caseload(IRO2, 71, now), caseload(IRO, 71, now)])


# ----------------------------------------------------------------------------------------------
# (b) Participation (rules.d/45-review-participation.conf): a threshold rule, below 94%.
# ----------------------------------------------------------------------------------------------
#
# The latest review in the store is 2027-01-15, so the window is 2026-10-15 (excluded) to
# 2027-01-15. iro@: 10 reviews of children aged 4 or over in it, 9 with the child taking part
# (PN1) and 1 not (PN7): 90.0%, below 94: alerted (to the IRO manager). Not counted: a PN7 on
# 2026-10-15 (the window's excluded first day: counted, 9 of 11 = 81.8%), a PN0 (under 4:
# counted, 10 of 11 = 90.9%) and a PN7 in September. iro2@: 17 reviews, 16 PN1 (one of them
# chaired by iro2@ for a child allocated to iro@: counted for the chair; for the child's IRO,
# iro@ would be 10 of 11 = 90.9% and iro2@ 15 of 16 = 93.8%) and 1 PN7: 94.1%, not below.
# iro3@: 3 reviews, all PN7: fewer than 10, left out.

def participation_sql():
    kids, reviews = [], []
    cid = 0

    def child(iro):
        nonlocal cid
        cid += 1
        kids.append("(%d, 'PT-%02d', 5, %d)" % (cid, cid, iro))
        return cid

    def review(c, day, code, chair="NULL"):
        reviews.append("(%d, '%s', '%s', %s)" % (c, day, code, chair))

    first = None
    for k in range(10):  # iro@: 9 PN1, 1 PN7 in the window
        c = child(9)
        first = first or c
        review(c, "2026-11-%02d" % (2 + k), "PN7" if k == 0 else "PN1")
    review(first, "2026-10-15", "PN7")
    review(first + 1, "2026-12-01", "PN0")
    review(first + 2, "2026-09-01", "PN7")
    for k in range(16):  # iro2@: 15 PN1 and 1 PN7 of their own children...
        review(child(10), "2026-12-%02d" % (1 + k), "PN7" if k == 0 else "PN1")
    review(first + 3, "2027-01-15", "PN1", 10)  # ... and 1 PN1 they chaired for iro@'s child
    for k in range(3):
        review(child(12), "2026-12-%02d" % (20 + k), "PN7")
    return ("INSERT INTO staff (staff_id, email, role, line_manager_id) VALUES "
            "(12, 'iro3@council.example', 'iro', 8);\n"
            "INSERT INTO children (child_id, case_ref, social_worker_id, iro_id) VALUES %s;\n"
            "INSERT INTO cic_reviews (child_id, review_date, review_code, iro_id) VALUES %s;\n"
            % (", ".join(kids), ", ".join(reviews)))


class TestParticipation(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        self.store = Store(participation_sql())
        self.addCleanup(self.store.close)

    def test_view(self):
        con = sqlite3.connect(self.store.case_store)
        self.addCleanup(con.close)
        rows = con.execute("SELECT iro_email, reviews, participated, participation, since, until, "
                           "iro_manager_email FROM iro_participation "
                           "ORDER BY iro_email").fetchall()
        self.assertEqual(rows, [
            ("iro2@council.example", 17, 16, 94.1, "2026-10-15", "2027-01-15", IROM),
            ("iro3@council.example", 3, 0, 0.0, "2026-10-15", "2027-01-15", IROM),
            ("iro@council.example", 10, 9, 90.0, "2026-10-15", "2027-01-15", IROM)])

    def test_below_94_alerts_once(self):
        now = "2027-01-18T09:00:00"
        want = [{"rule": "review-participation", "title": TITLES["review-participation"],
                 "case": IRO, "stage": "below", "due": now[:10], "fires": now,
                 "recipients": [IROM], "value": 90}]
        got = [a for a in self.store.once(now, dry_run=False)
               if a["rule"] == "review-participation"]
        self.assertEqual(got, want)
        got = [a for a in self.store.once("2027-01-19T09:00:00", dry_run=False)
               if a["rule"] == "review-participation"]
        self.assertEqual(got, [])


# ----------------------------------------------------------------------------------------------
# (c) The generator's store
# ----------------------------------------------------------------------------------------------

class TestGenerator(unittest.TestCase):
    maxDiff = None

    def generate(self, root, n, seed, today, *extra):
        out = os.path.join(root, "cases.db")
        proc = run([PYTHON, GENCASES, "--out", out, "--children", str(n), "--seed", str(seed),
                    "--today", today] + list(extra), timeout=300)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn("open clocks", proc.stderr, describe(proc))
        self.summary = proc.stderr
        config = os.path.join(root, "escalator.conf")
        with open(config, "w", encoding="utf-8") as f:
            f.write(shipped_config(out, os.path.join(root, "state.db"),
                                   os.path.join(ETC, "rules.d"),
                                   os.path.join(ETC, "holidays", "england-and-wales.txt")))
        return config

    def evaluate(self, config, now):
        proc = run([hd.ESCALATORD, "-c", config, "--check"])
        self.assertEqual(proc.returncode, 0, describe(proc))
        proc = run([hd.ESCALATORD, "-c", config, "--once", "--dry-run", "--now", now])
        self.assertEqual(proc.returncode, 0, describe(proc))
        warnings = [l for l in proc.stderr.splitlines() if "rule=" in l or "warning" in l]
        self.assertEqual(warnings, [], "row warnings:" + describe(proc))
        self.assertRegex(proc.stderr, r"skipped_rows=0 failed_rules=0", describe(proc))
        return [json.loads(l) for l in proc.stdout.splitlines()]

    def check_every_stage(self, today):
        with tempfile.TemporaryDirectory(prefix="escalator-gen-") as root:
            config = self.generate(root, 300, 1, today)
            alerts = self.evaluate(config, today + "T08:00:00")
            self.check_history(os.path.join(root, "cases.db"), today)
        seen = {}
        for a in alerts:
            seen.setdefault(a["rule"], set()).add(a["stage"])
        for rule, stages in STAGES.items():
            with self.subTest(today=today, rule=rule):
                self.assertEqual(seen.get(rule, set()), set(stages))
        # At least one IRO above 70, and one whose reviews had the child taking part in fewer
        # than 94%.
        for rule, stage in THRESHOLD_RULES.items():
            self.assertEqual(seen.get(rule, set()), {stage}, rule)
        for a in alerts:
            self.assertTrue(a["recipients"], a)
            for r in a["recipients"]:
                self.assertRegex(r, r"@(demo\.council\.example|example\.org)$", a)
        self.assertTrue(all(a["case"].startswith("DEMO-") for a in alerts
                            if a["rule"] not in THRESHOLD_RULES))

    def check_history(self, store, today):
        """Every history query returns what the summary counted, no clock both completed and
        open, and a year's Child in Care reviews mostly in timescale, as the seeds report."""
        counted = dict(re.findall(r"^    ([a-z0-9-]+) +(\d+)  last year", self.summary, re.M))
        queries = pack_queries()
        self.assertEqual(set(counted), {r for r in STAGES if queries[r][1] is not None})
        con = sqlite3.connect(store)
        self.addCleanup(con.close)
        for rule, n in counted.items():
            with self.subTest(today=today, rule=rule):
                done = con.execute(queries[rule][1]).fetchall()
                self.assertEqual(len(done), int(n))
                self.assertGreater(len(done), 0)
                live = {tuple(r[:2]) for r in con.execute(queries[rule][0])}
                self.assertEqual({tuple(r[:2]) for r in done} & live, set())
                self.assertTrue(all(r[1] <= r[2] <= today for r in done))
        # Reviews held in the last year, in timescale (Nottingham 92-95%, Cambridgeshire >99%).
        on_time = re.findall(r"^    cic-(?:first|second|later)-review +\d+  last year (\d+), "
                             r"([\d.]+)% on time", self.summary, re.M)
        held = sum(int(n) for n, _ in on_time)
        pct = sum(int(n) * float(p) for n, p in on_time) / held
        self.assertGreater(held, 100)
        self.assertTrue(85 <= pct <= 99, pct)

    def test_every_stage_of_every_rule(self):
        self.check_every_stage("2026-11-20")   # an ordinary Friday

    def test_history_years(self):
        # --history-years 0: no children whose care ended; 3: history back beyond 3 years.
        with tempfile.TemporaryDirectory(prefix="escalator-gen-") as root:
            self.generate(root, 120, 3, "2026-11-20", "--history-years", "0")
            self.assertIn("and 0 whose care or plan ended", self.summary)
            self.generate(root, 120, 3, "2026-11-20", "--history-years", "3")
            self.assertIn("and 108 whose care or plan ended in the last 3 years", self.summary)
            con = sqlite3.connect(os.path.join(root, "cases.db"))
            self.addCleanup(con.close)
            first = con.execute("SELECT min(done) FROM cic_next_review_history").fetchone()[0]
            ended = con.execute("SELECT min(dec) FROM care_episodes WHERE child_id > 120 AND "
                                "rec IS NOT NULL AND rec <> 'X1'").fetchone()[0]
        self.assertLess(first, "2023-11-20")
        self.assertGreaterEqual(ended, "2023-11-20")

    def test_every_stage_on_a_bank_holiday(self):
        self.check_every_stage("2027-03-29")   # Easter Monday

    def test_same_seed_same_store(self):
        outs = []
        for _ in range(2):
            with tempfile.TemporaryDirectory(prefix="escalator-gen-") as root:
                config = self.generate(root, 120, 42, "2026-11-20")
                outs.append(self.evaluate(config, "2026-11-20T08:00:00"))
        self.assertEqual(outs[0], outs[1])
        self.assertTrue(outs[0])


# ----------------------------------------------------------------------------------------------
# (e) History: the completed clocks each rule's history query returns
# ----------------------------------------------------------------------------------------------
#
# Child in Care (cic_* history views):
#   H1: two periods of care. The first, from Mon 2025-01-06 to 2025-09-30 (left care): reviews
#     2025-02-03 (first) and 2025-05-01 (second); the third was never held (left care): no row.
#     The second, from Mon 2026-03-02: the first review on its due date, Mon 2026-03-30 (20
#     working days: Tue 3 (1), ..., Fri 27 (19), Mon 30 (20)); the second on Thu 2026-07-02,
#     late (due Tue 2026-06-30: Wed Jul 1 (1), Thu 2 (2): 2 working days). Its IRO allocated
#     in each period: 2025-01-08, and Mon 2026-03-09, the due date (5 working days: Tue 3,
#     Wed 4, Thu 5, Fri 6, Mon 9). Its last review's decisions and record were never sent: open.
#   H2-LEFT: looked after from 2026-01-05 to 2026-01-20, left before the first review; a review
#     recorded on 2026-02-10, after it left care, and an allocation on 2026-01-30: no row.
#   H3-SHORTBREAK: legal status V3, first review 2026-02-02: in the view, left out by the rules.
#   H4: one period from Mon 2025-06-02 (a placement change on 2025-11-14 does not start a new
#     one). Reviews 2025-06-30 (first), 2025-09-29 (second), 2026-03-27 and 2026-09-25 (later).
#     Mid-point checks: 2025-08-11 (6 weeks after the first review: on its due date),
#     2025-12-20, 2026-09-25 (the day of the fourth review: counts for the clock before it) and
#     2026-10-20 (after the fourth). Decisions: 2025-07-07 (5 working days after 2025-06-30:
#     Jul 1, 2, 3, 4, 7: on the due date), 2025-10-08 (late), 2026-10-01 for the third review
#     (after the fourth was held: that clock had ended, no row), none yet for the fourth (open).
#     Records: 2025-07-28, never for the second (no row), 2026-04-20, 2026-10-20. Its only IRO
#     allocation, 2025-05-20, is before the period began: no row, the clock is open.
# Child protection (P1, P2):
#   P1: enquiry Mon 2026-01-05, ICPC Mon 2026-01-26 (15 working days: on the due date), plan 1
#     ended 2026-03-20 before a review (no row); core groups 2026-02-06, 2026-03-06 and
#     2026-03-25 (after the plan ended: no row). An enquiry of 2026-05-04 that needed no
#     conference, with one held anyway on 2026-05-20: no row. Enquiry Mon 2026-06-01, ICPC Mon
#     2026-06-29 (due Mon 2026-06-22: 5 working days late), plan 2 in force: first review
#     conference 2026-09-28, core groups 2026-07-10 and 2026-08-07.
#   P2: enquiry 2025-03-10, ICPC and plan 2025-04-01 to 2026-04-30: review conferences
#     2025-06-30, 2025-12-22 and 2026-05-05 (after the plan ended: no row).
# Practice resolution (child E, raised by iro2): E1 resolved informally; E2 at stage 1; E3 at
#   stage 3 (formal_on missing: the formal process runs from raised_on); E5 at stage 4; E4 still
#   open at stage 2 (no row). A stage an escalation moved on from is no row.
# Care leavers: L1, plan 2025-03-03, reviews 2025-09-01 and 2026-03-02 (one on 2025-01-10, before
#   the plan, does not count); L2-ENDED, plan 2025-01-06, support ended 2026-01-31, reviews
#   2025-07-01 and 2026-02-15 (after it ended: no row).

HIST_SQL = """
INSERT INTO children (child_id, case_ref, social_worker_id, team_manager_id, iro_id) VALUES
  (1, 'H1', 5, NULL, 9), (2, 'H2-LEFT', 5, NULL, 9), (3, 'H3-SHORTBREAK', 5, NULL, 9),
  (4, 'H4', 5, NULL, 9), (5, 'P1', 5, NULL, 9), (6, 'P2', 5, NULL, 9), (7, 'E', 5, NULL, 9),
  (8, 'L1', NULL, NULL, NULL), (9, 'L2-ENDED', NULL, NULL, NULL);
INSERT INTO care_episodes (child_id, decom, rne, ls, dec, rec) VALUES
  (1, '2025-01-06', 'S', 'C2', '2025-09-30', 'E13'), (1, '2026-03-02', 'S', 'C2', NULL, NULL),
  (2, '2026-01-05', 'S', 'C2', '2026-01-20', 'E13'),
  (3, '2026-01-05', 'S', 'V3', NULL, NULL),
  (4, '2025-06-02', 'S', 'C2', '2025-11-14', 'X1'), (4, '2025-11-14', 'P', 'C2', NULL, NULL);
INSERT INTO cic_reviews (child_id, review_date, review_code, decisions_sent_on,
                         record_sent_on) VALUES
  (1, '2025-02-03', 'PN1', NULL, NULL), (1, '2025-05-01', 'PN1', NULL, NULL),
  (1, '2026-03-30', 'PN1', NULL, NULL), (1, '2026-07-02', 'PN1', NULL, NULL),
  (2, '2026-02-10', 'PN1', NULL, NULL),
  (3, '2026-02-02', 'PN1', NULL, NULL),
  (4, '2025-06-30', 'PN1', '2025-07-07', '2025-07-28'),
  (4, '2025-09-29', 'PN1', '2025-10-08', NULL),
  (4, '2026-03-27', 'PN1', '2026-10-01', '2026-04-20'),
  (4, '2026-09-25', 'PN1', NULL, '2026-10-20');
INSERT INTO cic_midpoint_checks (child_id, done_on) VALUES
  (4, '2025-08-11'), (4, '2025-12-20'), (4, '2026-09-25'), (4, '2026-10-20');
INSERT INTO iro_allocations (child_id, iro_id, allocated_on) VALUES
  (1, 9, '2025-01-08'), (1, 9, '2026-03-09'), (2, 9, '2026-01-30'), (4, 9, '2025-05-20');
INSERT INTO s47_enquiries (s47_id, child_id, started_on, icpc_not_required) VALUES
  (1, 5, '2026-01-05', 0), (2, 5, '2026-05-04', 1), (3, 5, '2026-06-01', 0),
  (4, 6, '2025-03-10', 0);
INSERT INTO cp_initial_conferences (icpc_id, s47_id, held_on, plan_made) VALUES
  (1, 1, '2026-01-26', 1), (2, 2, '2026-05-20', 1), (3, 3, '2026-06-29', 1),
  (4, 4, '2025-04-01', 1);
INSERT INTO cp_plans (plan_id, child_id, icpc_id, started_on, ended_on) VALUES
  (1, 5, 1, '2026-01-26', '2026-03-20'), (2, 5, 3, '2026-06-29', NULL),
  (3, 6, 4, '2025-04-01', '2026-04-30');
INSERT INTO cp_review_conferences (plan_id, held_on) VALUES
  (2, '2026-09-28'), (3, '2025-06-30'), (3, '2025-12-22'), (3, '2026-05-05');
INSERT INTO core_group_meetings (plan_id, held_on) VALUES
  (1, '2026-02-06'), (1, '2026-03-06'), (1, '2026-03-25'), (2, '2026-07-10'), (2, '2026-08-07');
INSERT INTO escalations (escalation_id, escalation_ref, child_id, raised_on, raised_by, theme,
                         stage, stage_since, formal_on, resolved_on, cafcass_referred,
                         cafcass_referred_on) VALUES
  (1, 'E1', 7, '2026-03-02', 10, 'permanence_planning', 0, '2026-03-02', NULL, '2026-03-05', 0,
   NULL),
  (2, 'E2', 7, '2026-03-25', 10, 'safeguarding', 1, '2026-04-01', '2026-04-01', '2026-04-10',
   0, NULL),
  (3, 'E3', 7, '2026-05-01', 10, 'funding', 3, '2026-05-20', NULL, '2026-06-15', 0, NULL),
  (4, 'E4', 7, '2026-06-01', 10, 'legal_status', 2, '2026-06-10', '2026-06-03', NULL, 0, NULL),
  (5, 'E5', 7, '2026-02-02', 10, 'holistic_needs', 4, '2026-03-02', '2026-02-09', '2026-03-06',
   1, '2026-03-06');
INSERT INTO care_leavers (child_id, personal_adviser_id, plan_started_on, ended_on) VALUES
  (8, 11, '2025-03-03', NULL), (9, 11, '2025-01-06', '2026-01-31');
INSERT INTO pathway_plan_reviews (child_id, reviewed_on) VALUES
  (8, '2025-01-10'), (8, '2025-09-01'), (8, '2026-03-02'), (9, '2025-07-01'), (9, '2026-02-15');
"""

HOLISTIC = "child's holistic rights or needs"
HISTORY = {
    "cic-first-review": [("H1", "2025-01-06", "2025-02-03"), ("H1", "2026-03-02", "2026-03-30"),
                         ("H4", "2025-06-02", "2025-06-30")],
    "cic-second-review": [("H1", "2025-02-03", "2025-05-01"),
                          ("H1", "2026-03-30", "2026-07-02"),
                          ("H4", "2025-06-30", "2025-09-29")],
    "cic-later-review": [("H4", "2025-09-29", "2026-03-27"), ("H4", "2026-03-27", "2026-09-25")],
    "cic-midpoint-second": [("H4", "2025-06-30", "2025-08-11")],
    "cic-midpoint-later": [("H4", "2025-09-29", "2025-12-20"), ("H4", "2026-03-27", "2026-09-25"),
                           ("H4", "2026-09-25", "2026-10-20")],
    "cic-review-decisions": [("H4", "2025-06-30", "2025-07-07"),
                             ("H4", "2025-09-29", "2025-10-08")],
    "cic-review-record": [("H4", "2025-06-30", "2025-07-28"), ("H4", "2026-03-27", "2026-04-20"),
                          ("H4", "2026-09-25", "2026-10-20")],
    "cic-iro-allocation": [("H1", "2025-01-06", "2025-01-08"), ("H1", "2026-03-02", "2026-03-09")],
    "cp-icpc": [("P1", "2026-01-05", "2026-01-26"), ("P1", "2026-06-01", "2026-06-29"),
                ("P2", "2025-03-10", "2025-04-01")],
    "cp-first-review": [("P1", "2026-06-29", "2026-09-28"), ("P2", "2025-04-01", "2025-06-30")],
    "cp-later-review": [("P2", "2025-06-30", "2025-12-22")],
    "cp-core-group-first": [("P1", "2026-01-26", "2026-02-06"),
                            ("P1", "2026-06-29", "2026-07-10")],
    "cp-core-group-next": [("P1", "2026-02-06", "2026-03-06"), ("P1", "2026-07-10", "2026-08-07")],
    "practice-resolution-informal": [("E/E1", "2026-03-02", "2026-03-05", "permanence planning",
                                      "0 informal")],
    "practice-resolution-stage-1": [("E/E2", "2026-04-01", "2026-04-10", "safeguarding")],
    "practice-resolution-stage-2": [],
    "practice-resolution-stage-3": [("E/E3", "2026-05-20", "2026-06-15", "funding decisions")],
    "practice-resolution-stage-4": [("E/E5", "2026-03-02", "2026-03-06", HOLISTIC)],
    "practice-resolution-overall": [
        ("E/E2", "2026-04-01", "2026-04-10", "safeguarding", "1 team manager"),
        ("E/E3", "2026-05-01", "2026-06-15", "funding decisions", "3 head of service"),
        ("E/E5", "2026-02-09", "2026-03-06", HOLISTIC, "4 Director")],
    "care-leaver-pathway-review": [("L1", "2025-03-03", "2025-09-01"),
                                   ("L1", "2025-09-01", "2026-03-02"),
                                   ("L2-ENDED", "2025-01-06", "2025-07-01")],
}

# The clocks open in HIST_SQL (each rule's query: case_ref, start), and a change that completes
# one of them (SQL, the rule, its case_ref, start and done): the live row must become a history
# row with the same case_ref and start.
OPEN = {
    "cic-first-review": [],
    "cic-second-review": [],
    "cic-later-review": [("H1", "2026-07-02"), ("H4", "2026-09-25")],
    "cic-midpoint-second": [],
    "cic-midpoint-later": [("H1", "2026-07-02")],
    "cic-review-decisions": [("H1", "2026-07-02"), ("H4", "2026-09-25")],
    "cic-review-record": [("H1", "2026-07-02")],
    "cic-iro-allocation": [("H3-SHORTBREAK", "2026-01-05"), ("H4", "2025-06-02")],
    "cp-icpc": [],
    "cp-first-review": [],
    "cp-later-review": [("P1", "2026-09-28")],
    "cp-core-group-first": [],
    "cp-core-group-next": [("P1", "2026-08-07")],
    "practice-resolution-informal": [],
    "practice-resolution-stage-1": [],
    "practice-resolution-stage-2": [("E/E4", "2026-06-10")],
    "practice-resolution-stage-3": [],
    "practice-resolution-stage-4": [],
    "practice-resolution-overall": [("E/E4", "2026-06-03")],
    "practice-resolution-cafcass": [],
    "care-leaver-pathway-review": [("L1", "2026-03-02")],
}
COMPLETE = [
    ("INSERT INTO cic_reviews (child_id, review_date) VALUES (1, '2026-12-18')",
     "cic-later-review", "H1", "2026-07-02", "2026-12-18"),
    ("INSERT INTO cic_midpoint_checks (child_id, done_on) VALUES (1, '2026-10-01')",
     "cic-midpoint-later", "H1", "2026-07-02", "2026-10-01"),
    ("UPDATE cic_reviews SET decisions_sent_on = '2026-07-08' WHERE child_id = 1 AND "
     "review_date = '2026-07-02'", "cic-review-decisions", "H1", "2026-07-02", "2026-07-08"),
    ("UPDATE cic_reviews SET record_sent_on = '2026-07-30' WHERE child_id = 1 AND "
     "review_date = '2026-07-02'", "cic-review-record", "H1", "2026-07-02", "2026-07-30"),
    ("INSERT INTO iro_allocations (child_id, allocated_on) VALUES (4, '2025-06-05')",
     "cic-iro-allocation", "H4", "2025-06-02", "2025-06-05"),
    ("INSERT INTO cp_review_conferences (plan_id, held_on) VALUES (2, '2027-03-20')",
     "cp-later-review", "P1", "2026-09-28", "2027-03-20"),
    ("INSERT INTO core_group_meetings (plan_id, held_on) VALUES (2, '2026-09-04')",
     "cp-core-group-next", "P1", "2026-08-07", "2026-09-04"),
    ("UPDATE escalations SET resolved_on = '2026-06-15' WHERE escalation_ref = 'E4'",
     "practice-resolution-stage-2", "E/E4", "2026-06-10", "2026-06-15"),
    ("UPDATE escalations SET resolved_on = '2026-06-15' WHERE escalation_ref = 'E4'",
     "practice-resolution-overall", "E/E4", "2026-06-03", "2026-06-15"),
    ("INSERT INTO pathway_plan_reviews (child_id, reviewed_on) VALUES (8, '2026-08-20')",
     "care-leaver-pathway-review", "L1", "2026-03-02", "2026-08-20"),
]
# Changes that end an open clock without completing it: the live row goes, no history row comes.
END = [
    ("UPDATE care_episodes SET dec = '2026-11-30', rec = 'E13' WHERE child_id = 1 AND "
     "dec IS NULL", ["cic-later-review", "cic-midpoint-later", "cic-review-decisions",
                     "cic-review-record"], "H1"),
    ("UPDATE cp_plans SET ended_on = '2026-12-01' WHERE plan_id = 2",
     ["cp-later-review", "cp-core-group-next"], "P1"),
    ("UPDATE escalations SET stage = 3, stage_since = '2026-06-17' WHERE escalation_ref = 'E4'",
     ["practice-resolution-stage-2"], "E/E4"),
    ("UPDATE care_leavers SET ended_on = '2026-08-01' WHERE child_id = 8",
     ["care-leaver-pathway-review"], "L1"),
]


class TestHistory(unittest.TestCase):
    """The shipped history queries, run with the sqlite3 module on HIST_SQL (no escalatord)."""

    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.queries = pack_queries()
        with open(SCHEMA, encoding="utf-8") as f:
            cls.schema = f.read()

    def store(self, *changes):
        con = sqlite3.connect(":memory:")
        self.addCleanup(con.close)
        con.executescript(self.schema)
        con.executescript(STAFF_SQL)
        con.executescript(HIST_SQL)
        for sql in changes:
            con.execute(sql)
        return con

    def history(self, con, rule):
        return sorted(con.execute(self.queries[rule][1]).fetchall())

    def live(self, con, rule):
        return sorted((r[0], r[1]) for r in con.execute(
            "SELECT case_ref, start FROM (%s)" % self.queries[rule][0]))

    def test_completed_clocks(self):
        con = self.store()
        for rule, want in HISTORY.items():
            with self.subTest(rule):
                self.assertEqual(self.history(con, rule), sorted(want))
        self.assertEqual(set(HISTORY), {r for r in STAGES if r != "practice-resolution-cafcass"})

    def test_views_keep_what_the_rules_leave_out(self):
        # The short break's first review is in the view (the rule's condition leaves it out);
        # the review after leaving care and the clocks that ended are in no view.
        con = self.store()
        self.assertEqual(con.execute("SELECT case_ref, start, done, legal_status FROM "
                                     "cic_first_review_history WHERE case_ref LIKE 'H3%' OR "
                                     "case_ref LIKE 'H2%'").fetchall(),
                         [("H3-SHORTBREAK", "2026-01-05", "2026-02-02", "V3")])
        self.assertEqual(con.execute("SELECT count(*) FROM cic_reviews_in_care WHERE child_id "
                                     "= 2").fetchone()[0], 0)
        self.assertEqual(con.execute("SELECT child_id, period_no, period_start, period_end FROM "
                                     "care_periods ORDER BY 1, 2").fetchall(),
                         [(1, 1, "2025-01-06", "2025-09-30"), (1, 2, "2026-03-02", None),
                          (2, 1, "2026-01-05", "2026-01-20"), (3, 1, "2026-01-05", None),
                          (4, 1, "2025-06-02", None)])

    def test_open_clocks_are_not_history(self):
        con = self.store()
        for rule, want in OPEN.items():
            with self.subTest(rule):
                got = self.live(con, rule)
                self.assertEqual(got, sorted(want))
                if self.queries[rule][1] is not None:
                    done = {(r[0], r[1]) for r in self.history(con, rule)}
                    self.assertEqual(done & set(got), set())

    def test_completing_an_open_clock_makes_it_history(self):
        for sql, rule, case, start, done in COMPLETE:
            with self.subTest(rule=rule, sql=sql):
                before = self.history(self.store(), rule)
                con = self.store(sql)
                self.assertNotIn((case, start), self.live(con, rule))
                added = [r for r in self.history(con, rule) if r not in before]
                self.assertEqual([r[:3] for r in added], [(case, start, done)])
                self.assertEqual(len(self.history(con, rule)), len(before) + 1)

    def test_ending_an_open_clock_adds_no_history(self):
        for sql, rules, case in END:
            for rule in rules:
                with self.subTest(rule=rule, sql=sql):
                    before = self.history(self.store(), rule)
                    self.assertIn(case, [c for c, _ in self.live(self.store(), rule)])
                    con = self.store(sql)
                    self.assertNotIn(case, [c for c, _ in self.live(con, rule)])
                    self.assertEqual(self.history(con, rule), before)


# ----------------------------------------------------------------------------------------------
# (d) scripts/demo --once
# ----------------------------------------------------------------------------------------------

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class TestDemo(unittest.TestCase):
    def test_demo_once(self):
        if os.environ.get("ESCALATOR_TEST_DEMO") == "0":
            hd.skip_or_fail("ESCALATOR_TEST_DEMO=0")
        if os.geteuid() != 0 and (shutil.which("sudo") is None or
                                  run(["sudo", "-n", "true"]).returncode != 0):
            hd.skip_or_fail("scripts/demo may need to install packages: run as root (or with "
                            "password-less sudo)")
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="escalator-demo-") as demo_dir:
            env = dict(os.environ, DEMO_SMTP_PORT=str(port), DEMO_DIR=demo_dir)
            # Standard error interleaves two writers (the mail server's printout through tee,
            # and escalatord's log): one may split the other's UTF-8 character, so it is read
            # with replacement rather than failing the test on a byte it does not check.
            proc = subprocess.run([os.path.join(REPO, "scripts", "demo"), "--once"],
                                  capture_output=True, text=True, errors="replace",
                                  timeout=900, env=env)
            self.assertEqual(proc.returncode, 0, describe(proc))
            # Standard output: one JSON line per alert owed (the mail server prints to stderr).
            alerts = [json.loads(l) for l in proc.stdout.splitlines() if l.startswith("{")]
            self.assertGreater(len(alerts), 50, describe(proc))
            rules = {a["rule"] for a in alerts}
            self.assertEqual(rules, set(STAGES) | set(THRESHOLD_RULES), describe(proc))
            # The demo's configuration leaves digest at its default ("daily"), and --once sends
            # what is held at once: every alert's delivery to each recipient (and to each
            # recipient of a skipped stage copied in) is bundled into its recipient's digest,
            # one message per recipient (in numbered parts if it is long). Every one was
            # accepted by the test mail server, which printed each message.
            owed = {}
            for a in alerts:
                for r in a["recipients"] + a.get("copied", []):
                    owed[r] = owed.get(r, 0) + 1
            con = sqlite3.connect(os.path.join(demo_dir, "state.db"))
            try:
                status = dict(con.execute("SELECT status, count(*) FROM delivery GROUP BY status"))
                items = dict(con.execute(
                    "SELECT recipient, count(*) FROM delivery WHERE alert_id IS NOT NULL AND "
                    "status = 'sent' AND digest_id IN (SELECT id FROM delivery WHERE status = "
                    "'sent' AND alert_id IS NULL AND closed_id IS NULL AND recipient = "
                    "delivery.recipient) GROUP BY recipient"))
                digests = con.execute(
                    "SELECT recipient, count(*), min(part), max(part), min(parts), max(parts) "
                    "FROM delivery WHERE alert_id IS NULL AND closed_id IS NULL "
                    "GROUP BY recipient").fetchall()
            finally:
                con.close()
            self.assertEqual(items, owed, describe(proc))
            self.assertEqual({d[0] for d in digests}, set(owed), describe(proc))
            for recipient, n, first, last, parts, parts2 in digests:
                self.assertEqual((first, last, parts, parts2), (1, n, n, n), recipient)
            messages = sum(d[1] for d in digests)
            self.assertEqual(status, {"sent": sum(owed.values()) + messages}, describe(proc))
            self.assertEqual(len(re.findall(r"^Subject: ", proc.stderr, re.M)), messages,
                             describe(proc))
            self.assertNotIn("status=failed", proc.stderr)
        # The mail server is gone: nothing listens on the port (connections may be in TIME_WAIT).
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        finally:
            s.close()


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
