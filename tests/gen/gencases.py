#!/usr/bin/python3
"""Generate a case store for a fictional council, laid out as etc/schema.sql.

    /usr/bin/python3 tests/gen/gencases.py --out FILE --children N --seed S [--today YYYY-MM-DD]
                                           [--history-years Y]

Standard library only. Everything is invented: case references are "DEMO-000123", staff are
"<role>.<n>@demo.council.example", there are no names, dates of birth or addresses.

The store is spread so that, as of --today (default: today), every stage of every clock rule of the
shipped rule pack (etc/rules.d) has been reached by some case (reminders, overdue and escalated
alike), other cases are on time (no stage reached yet), others are done (left care, plan ended,
escalation resolved, no conference needed) and so have no open clock at all, and, with 300 children
or more, at least one IRO holds more than 70 children and at least one IRO's reviews had the child
participating in fewer than 94% over the last 3 months. The generator reads the stage offsets and
due dates from etc/rules.d itself, so it follows edits to the timescales there; it must know each
rule's id.

History, for the annual report: the N children of --children have their past too (earlier reviews,
conferences, core groups, mid-point checks, decisions and records sent, IRO allocations, pathway
plan reviews, resolved escalations), and children whose care or plan ended within the last
--history-years (default 2; 0 for none beyond what the open clocks need) are added, about
0.3 x N per year. Completed clocks are mostly on time, some late by a few working days and a few
very late, so that a year's report shows figures like the councils' (reviews 92-97% in timescale).

A stage counts as reached on --today if it fires on or before that date (it fires at the configured
send_time, 08:00 by default, so evaluate with --now <today>T08:00:00 or later).

It scales (one transaction, executemany in chunks, journal_mode=OFF, synchronous=OFF, indexes built
after the rows): about 560,000 children make a million open clocks, in about a minute with
--history-years 0 (120,000 children: 12.5 s; 60,000 with the default 2 years: 12 s and 1.4 million
completed clocks); 22,000 children with --history-years 5 make a million completed clocks in 9 s. The file is written beside --out and renamed over it at the end,
as a nightly extract would be. A summary (rows, IRO caseloads, open clocks per rule and the stages
they have reached, completed clocks per rule and the share on time) goes to standard error.
"""

import argparse
import calendar
import datetime
import itertools
import math
import os
import random
import re
import sqlite3
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
SCHEMA = os.path.join(REPO, "etc", "schema.sql")
RULES_DIR = os.path.join(REPO, "etc", "rules.d")
HOLIDAYS = os.path.join(REPO, "etc", "holidays", "england-and-wales.txt")
# Every staff address is in this domain: scripts/demo sets allowed_domains = [ DOMAIN ] (and the
# shipped etc/escalator.conf allows "council.example", of which it is a subdomain).
DOMAIN = "demo.council.example"

# The clock rules the generator feeds, by id (etc/rules.d). The threshold rules iro-caseload and
# review-participation are fed by the allocation of IROs and the reviews' participation codes.
CLOCK_RULES = (
    "cic-first-review", "cic-second-review", "cic-later-review", "cic-midpoint-second",
    "cic-midpoint-later", "cic-review-decisions", "cic-review-record", "cic-iro-allocation",
    "cp-icpc", "cp-first-review", "cp-later-review", "cp-core-group-first",
    "cp-core-group-next", "practice-resolution-informal", "practice-resolution-stage-1",
    "practice-resolution-stage-2", "practice-resolution-stage-3", "practice-resolution-stage-4",
    "practice-resolution-overall", "practice-resolution-cafcass", "care-leaver-pathway-review",
)

# The share of each rule's completed clocks that completed on time; of the rest, three in four
# are a few working days late (1-5) and one in four very late (6-40). Chosen so that a year's
# report looks like the seed councils': reviews held in timescale 92-99% (Nottingham 92-95%,
# Rotherham 91.7%, Cambridgeshire over 99%), the rest a little lower.
ON_TIME = {
    "cic-first-review": 0.93, "cic-second-review": 0.95, "cic-later-review": 0.96,
    "cic-midpoint-second": 0.85, "cic-midpoint-later": 0.88, "cic-review-decisions": 0.90,
    "cic-review-record": 0.85, "cic-iro-allocation": 0.92, "cp-icpc": 0.90,
    "cp-first-review": 0.94, "cp-later-review": 0.95, "cp-core-group-first": 0.90,
    "cp-core-group-next": 0.88, "practice-resolution-informal": 0.85,
    "practice-resolution-stage-1": 0.82, "practice-resolution-stage-2": 0.80,
    "practice-resolution-stage-3": 0.80, "practice-resolution-stage-4": 0.75,
    "practice-resolution-overall": 0.85, "care-leaver-pathway-review": 0.90,
}

THEMES = (  # Cambridgeshire 2020-21 shares
    ("accountability_record_keeping", 34), ("permanence_planning", 22), ("leaving_care", 13),
    ("safeguarding", 11), ("holistic_needs", 10), ("network_communication", 4), ("funding", 3),
    ("legal_status", 3),
)
LEGAL_STATUS = (("C2", 55), ("C1", 15), ("V2", 18), ("E1", 8), ("J1", 2), ("L2", 2))
# SSDA903 REVIEW_CODE: PN0 under 4, PN1-PN6 took part, PN7 did not: about 97% of the children
# aged 4 or over take part (the seeds: 91-98%).
PARTICIPATION = (("PN1", 45), ("PN0", 15), ("PN2", 8), ("PN3", 6), ("PN4", 6), ("PN5", 6),
                 ("PN6", 9), ("PN7", 2.5))
CATEGORY = (("NEG", 48), ("EMO", 35), ("PHY", 7), ("SAB", 4), ("MUL", 6))
PLACE = (("U1", 20), ("U4", 30), ("U6", 10), ("K2", 12), ("P1", 8), ("R1", 5), ("H5", 5),
         ("U3", 10))
LEFT_CARE_REASONS = ("E13", "E4A", "E11", "E12", "E8", "E17")
# Resolved escalations by the stage they were resolved at: Cambridgeshire 2020-21, 77% of the
# formal ones resolved once the team manager had them (stage 1).
RESOLVED_AT = ((0, 15), (1, 65), (2, 12), (3, 5), (4, 3))
PR_RULE = {0: "practice-resolution-informal", 1: "practice-resolution-stage-1",
           2: "practice-resolution-stage-2", 3: "practice-resolution-stage-3",
           4: "practice-resolution-stage-4"}
PR_STAGE = {"practice-resolution-informal": 0, "practice-resolution-stage-1": 1,
            "practice-resolution-stage-2": 2, "practice-resolution-stage-3": 3,
            "practice-resolution-stage-4": 4, "practice-resolution-cafcass": 4}


# ----------------------------------------------------------------------------------------------
# Calendar: working days as escalator counts them (Monday-Friday, not a bank holiday).
# ----------------------------------------------------------------------------------------------

class Calendar:
    """Working days between lo and hi (ordinals) from tables, so that adding working days is an
    index, not a walk (the generator does it for every completed clock); outside, day by day."""

    def __init__(self, path, lo, hi):
        self.holidays = set()
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    self.holidays.add(datetime.date.fromisoformat(line).toordinal())
        self.lo, self.hi = lo, hi
        self.work = bytearray(self._is_working(o) for o in range(lo, hi + 1))
        self.days = [o for o in range(lo, hi + 1) if self.work[o - lo]]
        # before[o - lo]: how many working days lie in lo..o-1 (the index in days of the first
        # working day on or after o)
        self.before, c = [], 0
        for w in self.work:
            self.before.append(c)
            c += w

    def _is_working(self, o):
        # date.fromordinal(o).weekday(): ordinal 1 (0001-01-01) is a Monday.
        return (o - 1) % 7 < 5 and o not in self.holidays

    def is_working(self, o):
        if self.lo <= o <= self.hi:
            return self.work[o - self.lo] == 1
        return self._is_working(o)

    def add_working_days(self, o, n):
        if n == 0:
            return o
        if self.lo <= o <= self.hi:
            i = self.before[o - self.lo]
            i = i + self.work[o - self.lo] + n - 1 if n > 0 else i + n
            if 0 <= i < len(self.days):
                return self.days[i]
        step = 1 if n > 0 else -1
        while n != 0:
            o += step
            if self._is_working(o):
                n -= step
        return o

    def next_working_day(self, o):
        """o, or the first working day after it."""
        while not self.is_working(o):
            o += 1
        return o

    def prev_working_day(self, o):
        """o, or the last working day before it."""
        while not self.is_working(o):
            o -= 1
        return o


def add_months(o, n):
    d = datetime.date.fromordinal(o)
    m = d.month - 1 + n
    y = d.year + m // 12
    m = m % 12 + 1
    return datetime.date(y, m, min(d.day, calendar.monthrange(y, m)[1])).toordinal()


DURATION_RE = re.compile(r"^\s*([+-]?\d+)\s+(day|days|working day|working days|week|weeks|"
                         r"month|months)\s*$")


def parse_duration(s):
    m = DURATION_RE.match(s)
    if not m:
        raise ValueError("not a duration: %r" % s)
    unit = m.group(2).rstrip("s")
    return int(m.group(1)), unit


def apply_duration(cal, dur, o):
    n, unit = dur
    if unit == "day":
        return o + n
    if unit == "working day":
        return cal.add_working_days(o, n)
    if unit == "week":
        return o + 7 * n
    return add_months(o, n)


# ----------------------------------------------------------------------------------------------
# The rule pack's timings, read from etc/rules.d (only what the generator needs).
# ----------------------------------------------------------------------------------------------

def strip_comments(text):
    """Remove '#', '//' and '/* */' comments outside strings (libconfig syntax)."""
    out, i, n, in_str = [], 0, len(text), False
    while i < n:
        c = text[i]
        if in_str:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


class Rule:
    def __init__(self, rid, due, stages, working_days_only, history):
        self.id, self.due, self.stages, self.wdo = rid, due, stages, working_days_only
        self.history = history  # the history query, or None

    def due_date(self, cal, start):
        return apply_duration(cal, self.due, start)

    def stage_dates(self, cal, start):
        due = apply_duration(cal, self.due, start)
        out = []
        for _name, at in self.stages:
            d = apply_duration(cal, at, due)
            out.append(cal.next_working_day(d) if self.wdo else d)
        return out


def load_rules(rules_dir):
    rules = {}
    for name in sorted(os.listdir(rules_dir)):
        if name.startswith(".") or not name.endswith(".conf"):
            continue
        with open(os.path.join(rules_dir, name), encoding="utf-8") as f:
            text = strip_comments(f.read())
        ids = list(re.finditer(r'\bid\s*[=:]\s*"([^"]*)"', text))
        for k, m in enumerate(ids):
            chunk = text[m.end():ids[k + 1].start() if k + 1 < len(ids) else len(text)]
            due = re.search(r'\bdue\s*[=:]\s*"([^"]*)"', chunk)
            if due is None:
                continue  # a threshold rule
            stages = [(s.group(1), parse_duration(s.group(2))) for s in re.finditer(
                r'\bname\s*[=:]\s*"([^"]*)"\s*;\s*at\s*[=:]\s*"([^"]*)"', chunk)]
            wdo = re.search(r"\bworking_days_only\s*[=:]\s*false", chunk, re.I) is None
            history = re.search(r'\bhistory\s*[=:]\s*"([^"]*)"', chunk)
            rules[m.group(1)] = Rule(m.group(1), parse_duration(due.group(1)), stages, wdo,
                                     history.group(1) if history else None)
    missing = [r for r in CLOCK_RULES if r not in rules]
    if missing:
        sys.exit("gencases: rule(s) %s not found in %s; the generator feeds the shipped rule "
                 "pack" % (", ".join(missing), rules_dir))
    return rules


class Targets:
    """For one rule: start dates (ordinals) grouped by the stage reached as of today.

    Stage -1 means nothing has fired yet (on time). Starts for the last stage are limited to
    ones that reached it in the last few weeks, so nothing is absurdly late.
    """

    def __init__(self, cal, rule, today, back=420):
        self.rule = rule
        self.nstages = len(rule.stages)
        self.by_stage = {k: [] for k in range(-1, self.nstages)}
        for start in range(today - back, today + 1):
            dates = rule.stage_dates(cal, start)
            reached = -1
            for k, d in enumerate(dates):
                if d <= today:
                    reached = k
            if reached == self.nstages - 1 and today - dates[-1] > 45:
                continue
            if reached == -1 and dates[0] - today > 400:
                continue
            self.by_stage[reached].append(start)
        for k, v in self.by_stage.items():
            if not v:
                sys.exit("gencases: rule %s: no start date reaches stage %d on the chosen day"
                         % (rule.id, k))
        self.cycle = [k for k in range(self.nstages)] + [-1]
        self.count = 0

    def pick(self, rng, count=True):
        """A start date: cycling through every stage first, then weighted at random. With
        count=False (for a row the rule leaves out), at random without using up the cycle."""
        if count and self.count < len(self.cycle):
            k = self.cycle[self.count]
        else:
            k = rng.choices(range(-1, self.nstages), self.default_weights())[0]
        if count:
            self.count += 1
        return rng.choice(self.by_stage[k]), k

    def default_weights(self):
        # Mostly on time; the rest spread over the stages, fewer the later the stage.
        return [55] + [max(4, 18 - 4 * k) for k in range(self.nstages)]


# ----------------------------------------------------------------------------------------------
# Output: chunked executemany per table.
# ----------------------------------------------------------------------------------------------

class Table:
    CHUNK = 50000

    def __init__(self, db, sql):
        self.db, self.sql, self.rows, self.total = db, sql, [], 0

    def add(self, row):
        self.rows.append(row)
        if len(self.rows) >= self.CHUNK:
            self.flush()

    def flush(self):
        if self.rows:
            self.db.executemany(self.sql, self.rows)
            self.total += len(self.rows)
            self.rows = []


def split_schema(path):
    """The schema's statements, indexes apart (built after the rows, which is much faster)."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    stmts, buf = [], ""
    for line in lines:
        buf += line
        if sqlite3.complete_statement(buf):
            stmts.append(buf.strip())
            buf = ""
    if buf.strip() and not re.fullmatch(r"(\s*--[^\n]*\n?)*\s*", buf):
        stmts.append(buf.strip())
    body = lambda s: re.sub(r"^(\s*--[^\n]*\n)*", "", s + "\n").lstrip()  # noqa: E731
    indexes = [s for s in stmts if re.match(r"CREATE\s+(UNIQUE\s+)?INDEX", body(s), re.I)]
    others = [s for s in stmts if s not in indexes]
    return others, indexes


def weighted(rng, table):
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


# ----------------------------------------------------------------------------------------------
# The council.
# ----------------------------------------------------------------------------------------------

class Generator:
    def __init__(self, args):
        self.rng = random.Random(args.seed)
        self.seed = args.seed
        self.n = args.children
        self.today = args.today.toordinal()
        self.years = args.history_years
        # How far back history goes: completed clocks, ended periods of care and plans, resolved
        # escalations. With no history years, still a little over a year (as before history).
        self.horizon = add_months(self.today, -12 * self.years) if self.years else \
            self.today - 400
        self.year_ago = add_months(self.today, -12)
        self.cal = Calendar(HOLIDAYS, self.horizon - 366 * 8, self.today + 1200)
        self.rules = load_rules(RULES_DIR)
        self.targets = {rid: Targets(self.cal, self.rules[rid], self.today) for rid in CLOCK_RULES}
        self.clocks = {rid: 0 for rid in CLOCK_RULES}
        self.reached = {rid: {} for rid in CLOCK_RULES}
        # completed clocks, as each rule's history query returns them: all, and the last year's
        self.done_all = {rid: [0, 0] for rid in CLOCK_RULES}   # [completed, on time]
        self.done_year = {rid: [0, 0] for rid in CLOCK_RULES}
        self._ds = {}

    # dates ------------------------------------------------------------------------------------
    def ds(self, o):
        s = self._ds.get(o)
        if s is None:
            s = self._ds[o] = datetime.date.fromordinal(o).isoformat()
        return s

    def wd(self, o, n):
        return self.cal.add_working_days(o, n)

    def note(self, rid, start):
        """Count an open clock of rule rid, and the stage it has reached (for the summary)."""
        self.clocks[rid] += 1
        dates = self.rules[rid].stage_dates(self.cal, start)
        k = -1
        for i, d in enumerate(dates):
            if d <= self.today:
                k = i
        name = self.rules[rid].stages[k][0] if k >= 0 else "(on time)"
        self.reached[rid][name] = self.reached[rid].get(name, 0) + 1

    # completed clocks -------------------------------------------------------------------------
    def lateness(self, rid):
        """0 (on time) or the working days late of a completed clock of rid, drawn from its mix."""
        r, p = self.rng.random(), ON_TIME[rid]
        if r < p:
            return 0
        if r < p + (1 - p) * 0.75:
            return self.rng.randint(1, 5)
        return self.rng.randint(6, 40)

    def done_after(self, rid, start):
        """When a clock of rid that started on start completes: on a working day a little before
        its due date (up to a sixth of its span), or some working days after it."""
        due = self.rules[rid].due_date(self.cal, start)
        k = self.lateness(rid)
        if k:
            return self.cal.add_working_days(due, k)
        done = self.cal.prev_working_day(due - self.rng.randint(0, max(1, (due - start) // 6)))
        return done if done > start else self.cal.next_working_day(start + 1)

    def start_before(self, rid, done):
        """The start of a clock of rid that completed on done (done_after backwards, as near as
        month ends allow): a working day."""
        n, unit = self.rules[rid].due
        k = self.lateness(rid)
        if k:
            due = self.cal.add_working_days(done, -k)
        else:
            span = {"day": n, "working day": n * 7 // 5, "week": 7 * n}.get(unit, 30 * n)
            due = done + self.rng.randint(0, max(1, span // 6))
        if unit == "working day":
            start = self.cal.add_working_days(due, -n)
        elif unit == "day":
            start = due - n
        elif unit == "week":
            start = due - 7 * n
        else:
            start = add_months(due, -n)
        return self.cal.prev_working_day(start)

    def completed(self, rid, start, done):
        """Count a clock of rid its history query returns (for the summary), on time or late."""
        on_time = 1 if done <= self.rules[rid].due_date(self.cal, start) else 0
        c = self.done_all[rid]
        c[0] += 1
        c[1] += on_time
        if done >= self.year_ago:
            c = self.done_year[rid]
            c[0] += 1
            c[1] += on_time

    # run --------------------------------------------------------------------------------------
    def run(self, out):
        t0 = time.time()
        tmp = out + ".tmp-%d" % os.getpid()
        for p in (tmp, tmp + "-journal"):
            if os.path.exists(p):
                os.unlink(p)
        db = sqlite3.connect(tmp, isolation_level=None)
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -200000")
        db.execute("PRAGMA temp_store = MEMORY")
        others, indexes = split_schema(SCHEMA)
        for s in others:
            db.execute(s)
        db.execute("PRAGMA foreign_keys = OFF")  # rows go in in a consistent order
        db.execute("BEGIN")
        self.t = {
            "staff": Table(db, "INSERT INTO staff (staff_id, email, role, line_manager_id, name, "
                               "team) VALUES (?, ?, ?, ?, ?, ?)"),
            "children": Table(db, "INSERT INTO children (child_id, case_ref, social_worker_id, "
                                  "team_manager_id, iro_id, legal_status) "
                                  "VALUES (?, ?, ?, ?, ?, ?)"),
            "episodes": Table(db, "INSERT INTO care_episodes (child_id, decom, rne, ls, cin, "
                                  "place, dec, rec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
            "reviews": Table(db, "INSERT INTO cic_reviews (child_id, review_date, review_code, "
                                 "iro_id, decisions_sent_on, record_sent_on) "
                                 "VALUES (?, ?, ?, ?, ?, ?)"),
            "midpoints": Table(db, "INSERT INTO cic_midpoint_checks (child_id, done_on, iro_id) "
                                   "VALUES (?, ?, ?)"),
            "allocations": Table(db, "INSERT INTO iro_allocations (child_id, iro_id, "
                                     "allocated_on) VALUES (?, ?, ?)"),
            "s47": Table(db, "INSERT INTO s47_enquiries (s47_id, child_id, started_on, "
                             "icpc_not_required) VALUES (?, ?, ?, ?)"),
            "icpc": Table(db, "INSERT INTO cp_initial_conferences (icpc_id, s47_id, held_on, "
                              "plan_made) VALUES (?, ?, ?, ?)"),
            "plans": Table(db, "INSERT INTO cp_plans (plan_id, child_id, icpc_id, started_on, "
                               "ended_on, initial_category, latest_category) "
                               "VALUES (?, ?, ?, ?, ?, ?, ?)"),
            "cp_reviews": Table(db, "INSERT INTO cp_review_conferences (plan_id, held_on) "
                                    "VALUES (?, ?)"),
            "core_groups": Table(db, "INSERT INTO core_group_meetings (plan_id, held_on) "
                                     "VALUES (?, ?)"),
            "leavers": Table(db, "INSERT INTO care_leavers (child_id, personal_adviser_id, "
                                 "plan_started_on, ended_on) VALUES (?, ?, ?, ?)"),
            "pathway_reviews": Table(db, "INSERT INTO pathway_plan_reviews (child_id, "
                                         "reviewed_on) VALUES (?, ?)"),
            "escalations": Table(db, "INSERT INTO escalations (escalation_id, escalation_ref, "
                                     "child_id, raised_on, raised_by, theme, stage, stage_since, "
                                     "formal_on, resolved_on, cafcass_referred, "
                                     "cafcass_referred_on) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                                     "?, ?)"),
        }
        self.s47_id = self.icpc_id = self.plan_id = 0
        self.plan_children()
        self.make_staff()
        self.make_children()
        self.make_past_children()
        self.make_escalations()
        for tb in self.t.values():
            tb.flush()
        t1 = time.time()
        for s in indexes:
            db.execute(s)
        db.execute("COMMIT")
        db.execute("ANALYZE")
        self.low_participation = db.execute(
            "SELECT count(*) FROM iro_participation WHERE reviews >= 10 AND participation < 94"
        ).fetchone()[0]
        db.close()
        os.replace(tmp, out)
        self.summary(out, t1 - t0, time.time() - t1)

    # who is who -------------------------------------------------------------------------------
    def plan_children(self):
        """Decide each child's situation: fixed quotas, so small stores cover every stage."""
        n = self.n
        quota = {"lac": 0.46, "cp": 0.28, "s47": 0.08, "leaver": 0.06}
        kinds = []
        for k, share in quota.items():
            kinds += [k] * int(round(n * share))
        kinds = kinds[:n]
        kinds += ["closed"] * (n - len(kinds))
        self.rng.shuffle(kinds)
        self.kinds = kinds
        # IRO caseloads: looked-after children (any legal status) and children on plans count.
        self.active = sum(1 for k in kinds if k in ("lac", "cp"))
        # Children whose care or plan ended within the history years: about 0.3 x N a year.
        self.n_past = int(round(n * 0.3 * self.years))

    def make_staff(self):
        rng = self.rng
        sid = 0
        staff = self.t["staff"]

        def add(role, email, manager, name, team=None):
            nonlocal sid
            sid += 1
            staff.add((sid, email, role, manager, name, team))
            return sid

        allocated = max(1, self.n - self.kinds.count("closed") // 2)
        n_sw = max(2, math.ceil(allocated / 16))
        n_tm = max(1, math.ceil(n_sw / 6))
        n_sm = max(1, math.ceil(n_tm / 4))
        n_hos = max(1, math.ceil(n_sm / 3))
        n_iro = max(1, math.ceil(self.active / 62))
        n_irom = max(1, math.ceil(n_iro / 8))
        n_irosm = max(1, math.ceil(n_irom / 10))
        n_pa = max(1, math.ceil(self.kinds.count("leaver") / 20))

        director = add("director", "director@" + DOMAIN, None, "Director of Children's Services")
        hos = [add("head_of_service", "head.of.service.%d@%s" % (i + 1, DOMAIN), director,
                   "Head of Service %d" % (i + 1)) for i in range(n_hos)]
        sm = [add("service_manager", "service.manager.%02d@%s" % (i + 1, DOMAIN),
                  hos[i % n_hos], "Service Manager %02d" % (i + 1)) for i in range(n_sm)]
        tm = [add("team_manager", "team.manager.%03d@%s" % (i + 1, DOMAIN), sm[i % n_sm],
                  "Team Manager %03d" % (i + 1), "Team %03d" % (i + 1)) for i in range(n_tm)]
        self.sw = [add("social_worker", "social.worker.%04d@%s" % (i + 1, DOMAIN), tm[i % n_tm],
                       "Social Worker %04d" % (i + 1), "Team %03d" % (i % n_tm + 1))
                   for i in range(n_sw)]
        self.tm = tm
        irosm = [add("iro_service_manager", "iro.service.manager.%d@%s" % (i + 1, DOMAIN),
                     director, "IRO Service Manager %d" % (i + 1), "IRO service")
                 for i in range(n_irosm)]
        irom = [add("iro_manager", "iro.manager.%02d@%s" % (i + 1, DOMAIN), irosm[i % n_irosm],
                    "IRO Manager %02d" % (i + 1), "IRO service") for i in range(n_irom)]
        self.iro = [add("iro", "iro.%03d@%s" % (i + 1, DOMAIN), irom[i % n_irom],
                        "IRO %03d" % (i + 1), "IRO service") for i in range(n_iro)]
        # Personal advisers, in the leaving care teams (here: the social work teams in turn).
        self.pa = [add("personal_adviser", "personal.adviser.%03d@%s" % (i + 1, DOMAIN),
                       tm[i % n_tm], "Personal Adviser %03d" % (i + 1), "Leaving care")
                   for i in range(n_pa)]
        self.staff_counts = {"director": 1, "head_of_service": n_hos, "service_manager": n_sm,
                             "team_manager": n_tm, "social_worker": n_sw,
                             "iro_service_manager": n_irosm, "iro_manager": n_irom,
                             "iro": n_iro, "personal_adviser": n_pa}
        # IRO allocation of the active children: uneven on purpose (weights 0.8 to 1.25), and
        # with 300 children or more the first IRO is made to hold more than 70.
        weights = [(1.25, 1.0, 0.85, 1.15, 0.8, 1.05, 0.95, 1.1)[i % 8] for i in range(n_iro)]
        active_iro = rng.choices(range(n_iro), weights, k=self.active)
        load = [0] * n_iro
        for i in active_iro:
            load[i] += 1
        if self.n >= 300 and max(load) <= 70 and n_iro > 1:
            need = 72 - load[0]
            for j, i in enumerate(active_iro):
                if need <= 0:
                    break
                if i != 0:
                    load[i] -= 1
                    load[0] += 1
                    active_iro[j] = 0
                    need -= 1
        self.active_iro = active_iro
        self.iro_load = load
        # One IRO whose children took part in fewer of their recent reviews (review-participation):
        # in the last 100 days, one review in four of theirs is PN7.
        self.low_iro = self.iro[min(1, n_iro - 1)]
        self.low_count = 0

    # children ---------------------------------------------------------------------------------
    def make_children(self):
        rng = self.rng
        # Which clock decides each child's dates, in a fixed rotation (so that even a small store
        # has enough children per rule to reach every stage): Child in Care about 17% before the
        # first review, 17% before the second, 65% later; child protection 50% before the first
        # review conference; care leavers 25% before their first pathway plan review.
        self.lac_pattern = itertools.cycle(
            [("first", "review")] * 3 + [("first", "allocation")] +
            [("second", "review"), ("later", "review"),
             ("second", "midpoint"), ("later", "midpoint")] * 2 +
            [("later", "review")] * 6 + [("later", "midpoint")] * 3 +
            [("later", "decisions"), ("later", "record")])
        self.cp_pattern = itertools.cycle([
            ("first", "cp-first-review"), ("later", "cp-later-review"),
            ("first", "cp-core-group-first"), ("later", "cp-core-group-next"),
            ("first", "cp-first-review"), ("later", "cp-later-review"),
            ("first", "cp-core-group-first"), ("later", "cp-core-group-next"),
            ("first", "cp-core-group-next"), ("later", "cp-later-review")])
        self.leaver_pattern = itertools.cycle(["first", "later", "later", "later"])
        self.lac_children, self.cp_children = [], []
        ai = 0
        for idx, kind in enumerate(self.kinds):
            cid = idx + 1
            if kind in ("lac", "cp"):
                iro = self.iro[self.active_iro[ai]]
                ai += 1
            else:
                iro = rng.choice(self.iro)
            sw = rng.choice(self.sw)
            tm_id = None
            if kind == "lac" and rng.random() < 0.03:
                # unallocated: no social worker, the team manager answers for the case
                tm_id, sw = rng.choice(self.tm), None
            self.t["children"].add((cid, "DEMO-%06d" % cid, sw, tm_id, iro, None))
            if kind == "lac":
                self.make_lac(cid, iro)
                if sw is not None:
                    self.lac_children.append((cid, iro))
            elif kind == "cp":
                self.make_cp(cid)
                self.cp_children.append((cid, iro))
            elif kind == "s47":
                self.make_s47(cid)
            elif kind == "leaver":
                self.make_leaver(cid, iro)
            else:
                self.make_closed(cid, iro)

    def make_past_children(self):
        """Children whose care or plan ended within the history years: history only."""
        rng = self.rng
        span = self.today - self.horizon
        for k in range(self.n_past):
            cid = self.n + k + 1
            iro = rng.choice(self.iro)
            self.t["children"].add((cid, "DEMO-%06d" % cid, rng.choice(self.sw), None, iro,
                                    None))
            end = self.today - rng.randint(0, span)
            if rng.random() < 0.55:
                self.care_period(cid, iro, end - rng.randint(30, 1500), end,
                                 weighted(rng, LEGAL_STATUS))
            else:
                self.plan(cid, end - rng.randint(60, 700), end)

    def episodes(self, cid, start, end, rec, ls):
        """A period of care from start to end (None: still looked after), maybe with a placement
        change in between."""
        rng, ep = self.rng, self.t["episodes"]
        cin = rng.choice(("N1", "N1", "N1", "N2", "N4", "N5", "N8"))
        last = end if end is not None else self.today
        if last - start > 120 and rng.random() < 0.4:
            change = start + rng.randint(30, last - start - 20)
            ep.add((cid, self.ds(start), "S", ls, cin, weighted(rng, PLACE), self.ds(change), "X1"))
            ep.add((cid, self.ds(change), "P", ls, cin, weighted(rng, PLACE),
                    self.ds(end) if end is not None else None, rec))
        else:
            ep.add((cid, self.ds(start), "S", ls, cin, weighted(rng, PLACE),
                    self.ds(end) if end is not None else None, rec))

    def review_code(self, iro, o):
        if iro == self.low_iro and o > self.today - 100:
            self.low_count += 1
            return "PN7" if self.low_count % 4 == 1 else "PN1"
        return weighted(self.rng, PARTICIPATION)

    # looked-after children --------------------------------------------------------------------
    def make_lac(self, cid, iro):
        rng = self.rng
        ls = weighted(rng, LEGAL_STATUS)
        if rng.random() < 0.03:
            ls = rng.choice(("V3", "V4"))  # short breaks: the review rules leave them out
        short_break = ls in ("V3", "V4")
        phase, driven_by = next(self.lac_pattern)
        if phase == "first":
            if driven_by == "allocation":  # short breaks count: the rule includes them
                period, _ = self.targets["cic-iro-allocation"].pick(rng)
            else:
                period, _ = self.targets["cic-first-review"].pick(rng, not short_break)
            reviews = []
        else:
            review_rule = "cic-second-review" if phase == "second" else "cic-later-review"
            mid_rule = "cic-midpoint-second" if phase == "second" else "cic-midpoint-later"
            driver = {"review": review_rule, "midpoint": mid_rule,
                      "decisions": "cic-review-decisions", "record": "cic-review-record"}[driven_by]
            last, _ = self.targets[driver].pick(rng, not short_break)
            reviews = [last]
            if phase == "later":
                # earlier reviews about 6 months apart, back to a period of care that started up
                # to the history years and a year and a half ago (at least a second review)
                oldest = self.today - int(rng.uniform(0, self.years + 1.5) * 365)
                while len(reviews) < 60:
                    prev = self.start_before("cic-later-review", reviews[-1])
                    if prev - 120 < oldest:
                        break
                    reviews.append(prev)
                reviews.append(self.start_before("cic-second-review", reviews[-1]))
                reviews.reverse()
            period = self.start_before("cic-first-review", reviews[0])
        if rng.random() < 0.04:
            # an earlier period of care, with its own reviews: none of them count now
            old_end = period - rng.randint(60, 400)
            self.care_period(cid, iro, old_end - rng.randint(100, 900), old_end, "V2")
        self.care_period(cid, iro, period, None, ls, reviews, driven_by)

    def care_period(self, cid, iro, start, end, ls, reviews=None, driven_by=None):
        """A period of care from start to end (None: looked after now) with its reviews (given,
        else held one after the other until the end), the IRO's allocation, mid-point checks and
        the decisions and records sent. Counts the clocks that completed as the history views
        return them and, for the current period, notes the open ones."""
        rng = self.rng
        current = end is None
        short_break = ls in ("V3", "V4")
        count = not short_break  # the review rules leave short breaks out
        if end is not None:
            self.episodes(cid, start, end, rng.choice(LEFT_CARE_REASONS), ls)
        else:
            self.episodes(cid, start, None, None, ls)
        limit = min(end, self.today) if end is not None else self.today
        if reviews is None:
            reviews = []
            o = self.done_after("cic-first-review", start)
            while o <= limit:
                reviews.append(o)
                o = self.done_after("cic-second-review" if len(reviews) == 1
                                    else "cic-later-review", o)
        # the IRO allocated for this period
        if driven_by == "allocation":
            self.note("cic-iro-allocation", start)
        else:
            a = self.done_after("cic-iro-allocation", start)
            if a <= limit:
                self.t["allocations"].add((cid, iro, self.ds(a)))
                self.completed("cic-iro-allocation", start, a)
            elif current:
                self.note("cic-iro-allocation", start)
        if current and not reviews and count:
            self.note("cic-first-review", start)
        prev = start
        for i, r in enumerate(reviews):
            nxt = reviews[i + 1] if i + 1 < len(reviews) else None
            bound = nxt if nxt is not None else end  # a clock from r ends by then
            last_now = current and nxt is None
            mid_rule = "cic-midpoint-second" if i == 0 else "cic-midpoint-later"
            if count:
                rule = ("cic-first-review", "cic-second-review")[i] if i < 2 else \
                    "cic-later-review"
                self.completed(rule, prev, r)
                if last_now:
                    self.note("cic-second-review" if i == 0 else "cic-later-review", r)
            prev = r
            # decisions and the full record, the record after the decisions
            dec = self.done_after("cic-review-decisions", r)
            rec = max(dec, self.done_after("cic-review-record", r))
            if last_now and driven_by == "decisions":
                dec = rec = None
            elif last_now and driven_by == "record":
                rec = None
            if dec is not None and dec > self.today:
                dec = rec = None
            if rec is not None and rec > self.today:
                rec = None
            self.t["reviews"].add((cid, self.ds(r), self.review_code(iro, r), iro,
                                   self.ds(dec) if dec is not None else None,
                                   self.ds(rec) if rec is not None else None))
            if count:
                for rule, d in (("cic-review-decisions", dec), ("cic-review-record", rec)):
                    if d is not None and (bound is None or d <= bound):
                        self.completed(rule, r, d)
                    elif d is None and last_now:
                        self.note(rule, r)
            # the IRO's mid-point check before the next review
            if last_now:
                m = None
                if driven_by != "midpoint" and rng.random() < 0.8:
                    m = self.done_after(mid_rule, r)
                    if m > self.today:
                        m = None
                if m is not None:
                    self.t["midpoints"].add((cid, self.ds(m), iro))
                    if count:
                        self.completed(mid_rule, r, m)
                elif count:
                    self.note(mid_rule, r)
            elif rng.random() < 0.95:
                m = self.done_after(mid_rule, r)
                if m <= bound and m <= self.today:
                    self.t["midpoints"].add((cid, self.ds(m), iro))
                    if count:
                        self.completed(mid_rule, r, m)

    # child protection -------------------------------------------------------------------------
    def new_s47(self, cid, started, not_required=0):
        self.s47_id += 1
        self.t["s47"].add((self.s47_id, cid, self.ds(started), not_required))
        return self.s47_id

    def new_plan(self, cid, started, ended=None):
        """A strategy discussion, the ICPC on started that it led to, and the plan it made."""
        strategy = self.start_before("cp-icpc", started)
        s47 = self.new_s47(cid, strategy)
        self.completed("cp-icpc", strategy, started)
        self.icpc_id += 1
        self.t["icpc"].add((self.icpc_id, s47, self.ds(started), 1))
        self.plan_id += 1
        cat = weighted(self.rng, CATEGORY)
        self.t["plans"].add((self.plan_id, cid, self.icpc_id, self.ds(started),
                             self.ds(ended) if ended is not None else None, cat,
                             cat if self.rng.random() < 0.8 else weighted(self.rng, CATEGORY)))
        return self.plan_id

    def chain_forward(self, first_rule, next_rule, start, limit):
        """Meetings held one after the other from start, none after limit."""
        out = []
        o = self.done_after(first_rule, start)
        while o <= limit:
            out.append(o)
            o = self.done_after(next_rule, o)
        return out

    def chain_back(self, first_rule, next_rule, start, last):
        """Meetings ending with last: the first after start, then back from last (each the
        start of the next one's clock) to it."""
        first = self.done_after(first_rule, start)
        if first >= last:
            return [last]
        back = [last]
        while True:
            prev = self.start_before(next_rule, back[-1])
            if prev <= first + 7:
                break
            back.append(prev)
        return [first] + back[::-1]

    def plan(self, cid, start, end, rcs=None, cgs=None):
        """A child protection plan from start to end (None: in force) with its review
        conferences and core groups (given, else held one after the other until the end).
        Counts the completed clocks; returns (rcs, cgs)."""
        limit = min(end, self.today) if end is not None else self.today
        pid = self.new_plan(cid, start, end)
        if rcs is None:
            rcs = self.chain_forward("cp-first-review", "cp-later-review", start, limit)
        if cgs is None:
            cgs = self.chain_forward("cp-core-group-first", "cp-core-group-next", start, limit)
        for rule1, rule2, dates, table in (
                ("cp-first-review", "cp-later-review", rcs, "cp_reviews"),
                ("cp-core-group-first", "cp-core-group-next", cgs, "core_groups")):
            prev = start
            for i, o in enumerate(dates):
                self.t[table].add((pid, self.ds(o)))
                self.completed(rule1 if i == 0 else rule2, prev, o)
                prev = o
        return rcs, cgs

    def make_cp(self, cid):
        rng = self.rng
        phase, driver = next(self.cp_pattern)
        if phase == "first":  # no review conference yet
            if driver == "cp-first-review":
                start, _ = self.targets[driver].pick(rng)
                cgs = None
            elif driver == "cp-core-group-first":
                start, _ = self.targets[driver].pick(rng)
                cgs = []
            else:
                last_cg, _ = self.targets[driver].pick(rng)
                start = last_cg - rng.randint(7, 40)
                cgs = self.chain_back("cp-core-group-first", "cp-core-group-next", start,
                                      last_cg)
            _, cgs = self.plan(cid, start, None, [], cgs)
            self.note("cp-first-review", start)
        else:
            if driver == "cp-later-review":
                last_rc, _ = self.targets[driver].pick(rng)
                last_cg = max(last_rc, self.today - rng.randint(0, 27))
            else:
                last_cg, _ = self.targets[driver].pick(rng)
                last_rc = min(last_cg, self.today - rng.randint(10, 150))
            rcs = [last_rc]
            for _ in range(rng.randint(0, 3)):
                rcs.append(self.start_before("cp-later-review", rcs[-1]))
            rcs.reverse()
            start = self.start_before("cp-first-review", rcs[0])
            cgs = self.chain_back("cp-core-group-first", "cp-core-group-next", start, last_cg)
            self.plan(cid, start, None, rcs, cgs)
            self.note("cp-later-review", last_rc)
        if cgs:
            self.note("cp-core-group-next", cgs[-1])
        else:
            self.note("cp-core-group-first", start)

    def make_s47(self, cid):
        start, _ = self.targets["cp-icpc"].pick(self.rng)
        self.new_s47(cid, start)
        self.note("cp-icpc", start)

    def make_closed(self, cid, iro):
        """Done cases: nothing open, so no clock at all."""
        rng = self.rng
        kind = rng.choice(("left_care", "left_care", "plan_ended", "no_icpc", "no_plan"))
        if kind == "left_care":
            end = self.today - rng.randint(0, 200)
            self.care_period(cid, iro, end - rng.randint(30, 900), end,
                             weighted(rng, LEGAL_STATUS))
        elif kind == "plan_ended":
            end = self.today - rng.randint(0, 200)
            self.plan(cid, end - rng.randint(60, 500), end)
        elif kind == "no_icpc":
            self.new_s47(cid, self.today - rng.randint(0, 120), 1)
        else:
            strategy = self.today - rng.randint(90, 400)
            s47 = self.new_s47(cid, strategy)
            self.icpc_id += 1
            held = self.done_after("cp-icpc", strategy)
            self.t["icpc"].add((self.icpc_id, s47, self.ds(held), 0))
            self.completed("cp-icpc", strategy, held)

    # care leavers -----------------------------------------------------------------------------
    def make_leaver(self, cid, iro):
        """A care leaver: left care on the day the pathway plan started, reviews since."""
        rng = self.rng
        rule = "care-leaver-pathway-review"
        if next(self.leaver_pattern) == "first":
            start, _ = self.targets[rule].pick(rng)
            reviews = []
        else:
            last, _ = self.targets[rule].pick(rng)
            reviews = [last]
            oldest = self.today - int(rng.uniform(0.5, 3.5) * 365)  # from 18 to 21 at most
            while len(reviews) < 10:
                prev = self.start_before(rule, reviews[-1])
                if prev < oldest:
                    break
                reviews.append(prev)
            reviews.reverse()
            start = self.start_before(rule, reviews[0])
        self.care_period(cid, iro, start - rng.randint(200, 1500), start,
                         weighted(rng, LEGAL_STATUS))
        self.t["leavers"].add((cid, rng.choice(self.pa), self.ds(start), None))
        prev = start
        for o in reviews:
            self.t["pathway_reviews"].add((cid, self.ds(o)))
            self.completed(rule, prev, o)
            prev = o
        self.note(rule, prev)

    # practice resolution ----------------------------------------------------------------------
    def make_escalations(self):
        rng = self.rng
        pool_lac = list(self.lac_children)
        self.lac_set = {c for c, _ in self.lac_children}
        pool_all = list(self.lac_children) + list(self.cp_children)
        if not pool_all:
            self.n_open_esc = self.n_resolved_esc = 0
            return
        n_open = max(40, int(round(self.n * 0.12)))
        # Every stage of every practice-resolution rule first, then a realistic mix: most open
        # escalations sit at stage 0 or 1 (77% are resolved once the team manager has them).
        slots = []
        for rid in ("practice-resolution-informal", "practice-resolution-stage-1",
                    "practice-resolution-stage-2", "practice-resolution-stage-3",
                    "practice-resolution-stage-4", "practice-resolution-overall",
                    "practice-resolution-cafcass"):
            slots += [rid] * (self.targets[rid].nstages + 1)
        mix = (("practice-resolution-informal", 30), ("practice-resolution-stage-1", 35),
               ("practice-resolution-stage-2", 14), ("practice-resolution-stage-3", 7),
               ("practice-resolution-stage-4", 4), ("practice-resolution-overall", 8),
               ("practice-resolution-cafcass", 2))
        while len(slots) < n_open:
            slots.append(weighted(rng, mix))
        eid = 0
        for rid in slots:
            if rid == "practice-resolution-cafcass" or (rid == "practice-resolution-stage-4"
                                                        and pool_lac and rng.random() < 0.7):
                cid, iro = rng.choice(pool_lac or pool_all)
            else:
                cid, iro = rng.choice(pool_all)
            if rid == "practice-resolution-overall":
                formal, _ = self.targets[rid].pick(rng)
                stage = rng.randint(1, 4)
                since = self.wd(formal, rng.randint(0, 6 * (stage - 1)))
                since = max(formal, min(self.today, since))
            else:
                since, _ = self.targets[rid].pick(rng)
                stage = PR_STAGE[rid]
                if stage == 0:
                    formal = None
                elif stage == 1:
                    formal = since
                else:
                    formal = self.wd(since, -rng.randint(2, 6 * (stage - 1)))
            # the concern was first raised informally, a few working days before
            raised = since if stage == 0 else self.wd(formal, -rng.randint(0, 8))
            # some stage 4 escalations on looked-after children are already with Cafcass
            referred = (stage == 4 and rid != "practice-resolution-cafcass" and
                        self.is_lac(cid) and rng.random() < 0.3)
            eid += 1
            self.t["escalations"].add((
                eid, "PR-%06d" % eid, cid, self.ds(raised), iro, weighted(rng, THEMES), stage,
                self.ds(since), self.ds(formal) if formal is not None else None, None,
                1 if referred else 0, self.ds(self.wd(since, 1)) if referred else None))
            self.note_escalation(cid, stage, since, formal, referred)
        self.n_open_esc = eid
        # Resolved escalations, about 0.15 per child a year over the history years: each moved
        # through its stages about as each stage's window allows and was resolved at the last.
        # Some stage 4 ones ended in a Cafcass referral.
        span = self.today - self.horizon
        n_resolved = int(round(self.n * 0.15 * span / 365))
        for _ in range(n_resolved):
            cid, iro = rng.choice(pool_all)
            stage = weighted(rng, RESOLVED_AT)
            raised = self.today - rng.randint(10, span)
            formal = None if stage == 0 else self.wd(raised, rng.randint(0, 8))
            since = raised if stage == 0 else formal
            for k in range(1, stage):
                since = self.done_after(PR_RULE[k], since)
            resolved = self.done_after(PR_RULE[stage], since)
            if resolved > self.today:
                continue
            referred = 1 if stage == 4 and rng.random() < 0.5 else 0
            eid += 1
            self.t["escalations"].add((
                eid, "PR-%06d" % eid, cid, self.ds(raised), iro, weighted(rng, THEMES), stage,
                self.ds(since), self.ds(formal) if formal is not None else None,
                self.ds(resolved), referred, self.ds(resolved) if referred else None))
            self.completed(PR_RULE[stage], since, resolved)
            if formal is not None:
                self.completed("practice-resolution-overall", formal, resolved)
        self.n_resolved_esc = eid - self.n_open_esc

    def note_escalation(self, cid, stage, since, formal, referred):
        self.note(PR_RULE[stage], since)
        if formal is not None:
            self.note("practice-resolution-overall", formal)
        if stage == 4 and not referred and self.is_lac(cid):
            self.note("practice-resolution-cafcass", since)

    def is_lac(self, cid):
        return cid in self.lac_set

    # summary ----------------------------------------------------------------------------------
    def summary(self, out, t_rows, t_index):
        w = sys.stderr.write
        total = sum(self.clocks.values())
        w("gencases: wrote %s as of %s: %d children (seed %d) and %d whose care or plan ended "
          "in the last %g year%s, in %.1fs, indexes %.1fs\n"
          % (out, self.ds(self.today), self.n, self.seed, self.n_past, self.years,
             "" if self.years == 1 else "s", t_rows, t_index))
        w("  staff: %s\n" % ", ".join("%d %s" % (v, k) for k, v in self.staff_counts.items()))
        w("  children: %s\n" % ", ".join("%d %s" % (self.kinds.count(k), k)
                                        for k in ("lac", "cp", "s47", "leaver", "closed")))
        w("  rows: %s\n" % ", ".join("%s=%d" % (k, v.total) for k, v in self.t.items()))
        w("  escalations: %d open, %d resolved\n" % (self.n_open_esc, self.n_resolved_esc))
        over = sorted((x for x in self.iro_load if x > 70), reverse=True)
        w("  IRO caseloads: max %d, mean %.1f; %d IRO%s above 70%s\n" % (
            max(self.iro_load), sum(self.iro_load) / len(self.iro_load), len(over),
            "" if len(over) == 1 else "s", (" (%s)" % ", ".join(map(str, over[:10]))) if over
            else ""))
        w("  participation: %d IRO%s below 94%% in the last 3 months\n" % (
            self.low_participation, "" if self.low_participation == 1 else "s"))
        w("  open clocks: %d\n" % total)
        for rid in CLOCK_RULES:
            order = ["(on time)"] + [s for s, _ in self.rules[rid].stages]
            parts = ["%s %d" % (s, self.reached[rid][s]) for s in order if s in self.reached[rid]]
            w("    %-30s %7d  %s\n" % (rid, self.clocks[rid], ", ".join(parts)))
        done = sum(c[0] for c in self.done_all.values())
        w("  completed clocks (history queries): %d; the last year's, on time:\n" % done)
        for rid in CLOCK_RULES:
            if self.rules[rid].history is None:
                continue
            (n, _), (ny, oky) = self.done_all[rid], self.done_year[rid]
            w("    %-30s %7d  last year %d, %s on time\n" % (
                rid, n, ny, "%.1f%%" % (100.0 * oky / ny) if ny else "-"))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="the case store to write (replaced)")
    p.add_argument("--children", type=int, required=True, help="number of children (>= 1)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--today", type=datetime.date.fromisoformat, default=datetime.date.today(),
                   help="the day the stages are spread around (default: today)")
    p.add_argument("--history-years", type=int, default=2, metavar="Y",
                   help="years of completed clocks and ended cases before --today (default 2; "
                        "0: only what the open clocks need)")
    args = p.parse_args(argv)
    if args.children < 1:
        p.error("--children must be at least 1")
    if not 0 <= args.history_years <= 20:
        p.error("--history-years must be from 0 to 20")
    Generator(args).run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
