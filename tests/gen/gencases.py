#!/usr/bin/python3
"""Generate a case store for a fictional council, laid out as etc/schema.sql.

    /usr/bin/python3 tests/gen/gencases.py --out FILE --children N --seed S [--today YYYY-MM-DD]

Standard library only. Everything is invented: case references are "DEMO-000123", staff are
"<role>.<n>@demo.council.example", there are no names, dates of birth or addresses.

The store is spread so that, as of --today (default: today), every stage of every clock rule of the
shipped rule pack (etc/rules.d) has been reached by some case (reminders, overdue and escalated
alike), other cases are on time (no stage reached yet), others are done (left care, plan ended,
escalation resolved, no conference needed) and so have no open clock at all, and, with 300 children
or more, at least one IRO holds more than 70 children. The generator reads the stage offsets from
etc/rules.d itself, so it follows edits to the timescales there; it must know each rule's id.

A stage counts as reached on --today if it fires on or before that date (it fires at the configured
send_time, 08:00 by default, so evaluate with --now <today>T08:00:00 or later).

It scales: about 600,000 children make a million open clocks, generated in well under a minute
(one transaction, executemany in chunks, journal_mode=OFF, synchronous=OFF, indexes built after
the rows). The file is written beside --out and renamed over it at the end, as a nightly extract
would be. A summary (rows, IRO caseloads, open clocks per rule and the stages they have reached)
goes to standard error.
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

# The clock rules the generator feeds, by id (etc/rules.d). The threshold rule iro-caseload is fed
# by the allocation of IROs.
CLOCK_RULES = (
    "cic-first-review", "cic-second-review", "cic-later-review", "cic-midpoint-second",
    "cic-midpoint-later", "cp-icpc", "cp-first-review", "cp-later-review", "cp-core-group-first",
    "cp-core-group-next", "practice-resolution-informal", "practice-resolution-stage-1",
    "practice-resolution-stage-2", "practice-resolution-stage-3", "practice-resolution-stage-4",
    "practice-resolution-overall", "practice-resolution-cafcass",
)

THEMES = (  # Cambridgeshire 2020-21 shares
    ("accountability_record_keeping", 34), ("permanence_planning", 22), ("leaving_care", 13),
    ("safeguarding", 11), ("holistic_needs", 10), ("network_communication", 4), ("funding", 3),
    ("legal_status", 3),
)
LEGAL_STATUS = (("C2", 55), ("C1", 15), ("V2", 18), ("E1", 8), ("J1", 2), ("L2", 2))
PARTICIPATION = (("PN1", 45), ("PN0", 15), ("PN2", 8), ("PN3", 6), ("PN4", 6), ("PN5", 6),
                 ("PN6", 9), ("PN7", 5))
CATEGORY = (("NEG", 48), ("EMO", 35), ("PHY", 7), ("SAB", 4), ("MUL", 6))
PLACE = (("U1", 20), ("U4", 30), ("U6", 10), ("K2", 12), ("P1", 8), ("R1", 5), ("H5", 5),
         ("U3", 10))
LEFT_CARE_REASONS = ("E13", "E4A", "E11", "E12", "E8", "E17")
PR_STAGE = {"practice-resolution-informal": 0, "practice-resolution-stage-1": 1,
            "practice-resolution-stage-2": 2, "practice-resolution-stage-3": 3,
            "practice-resolution-stage-4": 4, "practice-resolution-cafcass": 4}


# ----------------------------------------------------------------------------------------------
# Calendar: working days as escalator counts them (Monday-Friday, not a bank holiday).
# ----------------------------------------------------------------------------------------------

class Calendar:
    def __init__(self, path):
        self.holidays = set()
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    self.holidays.add(datetime.date.fromisoformat(line).toordinal())
        self._wd = {}

    def is_working(self, o):
        w = self._wd.get(o)
        if w is None:
            # date.fromordinal(o).weekday(): ordinal 1 (0001-01-01) is a Monday.
            w = (o - 1) % 7 < 5 and o not in self.holidays
            self._wd[o] = w
        return w

    def add_working_days(self, o, n):
        step = 1 if n > 0 else -1
        while n != 0:
            o += step
            if self.is_working(o):
                n -= step
        return o

    def next_working_day(self, o):
        while not self.is_working(o):
            o += 1
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
    def __init__(self, rid, due, stages, working_days_only):
        self.id, self.due, self.stages, self.wdo = rid, due, stages, working_days_only

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
            rules[m.group(1)] = Rule(m.group(1), parse_duration(due.group(1)), stages, wdo)
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
        self.cal = Calendar(HOLIDAYS)
        self.rules = load_rules(RULES_DIR)
        self.targets = {rid: Targets(self.cal, self.rules[rid], self.today) for rid in CLOCK_RULES}
        self.clocks = {rid: 0 for rid in CLOCK_RULES}
        self.reached = {rid: {} for rid in CLOCK_RULES}
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
            "reviews": Table(db, "INSERT INTO cic_reviews (child_id, review_date, review_code) "
                                 "VALUES (?, ?, ?)"),
            "midpoints": Table(db, "INSERT INTO cic_midpoint_checks (child_id, done_on, iro_id) "
                                   "VALUES (?, ?, ?)"),
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
        self.make_escalations()
        for tb in self.t.values():
            tb.flush()
        t1 = time.time()
        for s in indexes:
            db.execute(s)
        db.execute("COMMIT")
        db.execute("ANALYZE")
        db.close()
        os.replace(tmp, out)
        self.summary(out, t1 - t0, time.time() - t1)

    # who is who -------------------------------------------------------------------------------
    def plan_children(self):
        """Decide each child's situation: fixed quotas, so small stores cover every stage."""
        n = self.n
        quota = {"lac": 0.50, "cp": 0.30, "s47": 0.08}
        kinds = []
        for k, share in quota.items():
            kinds += [k] * int(round(n * share))
        kinds = kinds[:n]
        kinds += ["closed"] * (n - len(kinds))
        self.rng.shuffle(kinds)
        self.kinds = kinds
        # IRO caseloads: looked-after children (any legal status) and children on plans count.
        self.active = sum(1 for k in kinds if k in ("lac", "cp"))

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
        self.staff_counts = {"director": 1, "head_of_service": n_hos, "service_manager": n_sm,
                             "team_manager": n_tm, "social_worker": n_sw,
                             "iro_service_manager": n_irosm, "iro_manager": n_irom,
                             "iro": n_iro}
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

    # children ---------------------------------------------------------------------------------
    def make_children(self):
        rng = self.rng
        # Which clock decides each child's dates, in a fixed rotation (so that even a small store
        # has enough children per rule to reach every stage): Child in Care 15% before the first
        # review, 20% before the second, 65% later; child protection 50% before the first review
        # conference.
        self.lac_pattern = itertools.cycle(
            [("first", None)] * 3 + [("second", "review"), ("later", "review"),
                                     ("second", "midpoint"), ("later", "midpoint")] * 2 +
            [("later", "review")] * 6 + [("later", "midpoint")] * 3)
        self.cp_pattern = itertools.cycle([
            ("first", "cp-first-review"), ("later", "cp-later-review"),
            ("first", "cp-core-group-first"), ("later", "cp-core-group-next"),
            ("first", "cp-first-review"), ("later", "cp-later-review"),
            ("first", "cp-core-group-first"), ("later", "cp-core-group-next"),
            ("first", "cp-core-group-next"), ("later", "cp-later-review")])
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
            legal = None
            self.t["children"].add((cid, "DEMO-%06d" % cid, sw, tm_id, iro, legal))
            if kind == "lac":
                self.make_lac(cid, iro)
                if sw is not None:
                    self.lac_children.append((cid, iro))
            elif kind == "cp":
                self.make_cp(cid)
                self.cp_children.append((cid, iro))
            elif kind == "s47":
                self.make_s47(cid)
            else:
                self.make_closed(cid)

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

    def review(self, cid, o):
        self.t["reviews"].add((cid, self.ds(o), weighted(self.rng, PARTICIPATION)))

    def make_lac(self, cid, iro):
        rng = self.rng
        ls = weighted(rng, LEGAL_STATUS)
        if rng.random() < 0.03:
            ls = rng.choice(("V3", "V4"))  # short breaks: the shipped rules leave them out
        short_break = ls in ("V3", "V4")
        phase, driven_by = next(self.lac_pattern)
        if phase == "first":
            period, _ = self.targets["cic-first-review"].pick(rng, not short_break)
            reviews = []
        else:
            review_rule = "cic-second-review" if phase == "second" else "cic-later-review"
            mid_rule = "cic-midpoint-second" if phase == "second" else "cic-midpoint-later"
            driver = review_rule if driven_by == "review" else mid_rule
            last, _ = self.targets[driver].pick(rng, not short_break)
            reviews = [last]
            if phase == "later":
                for _ in range(rng.randint(1, 5)):  # earlier reviews, about 6 months apart
                    reviews.append(reviews[-1] - rng.randint(150, 182))
                # the first review, 2 to 3 months before the second
                reviews[-1] = reviews[-2] - rng.randint(60, 91)
                reviews.reverse()
            period = self.wd(reviews[0], -rng.randint(12, 20))
            midpoint_done = driver == review_rule and rng.random() < 0.8
            if midpoint_done:
                half = 42 if phase == "second" else 91
                done = last + half - rng.randint(0, 12)
                if done <= self.today:
                    self.t["midpoints"].add((cid, self.ds(done), iro))
                else:
                    midpoint_done = False
            if not short_break:
                if not midpoint_done:
                    self.note(mid_rule, last)
        if rng.random() < 0.04:
            # an earlier period of care, with its own reviews: none of them count now
            old_end = period - rng.randint(60, 400)
            old_start = old_end - rng.randint(100, 500)
            self.episodes(cid, old_start, old_end, rng.choice(LEFT_CARE_REASONS), "V2")
            self.review(cid, self.wd(old_start, 15))
        self.episodes(cid, period, None, None, ls)
        for o in reviews:
            self.review(cid, o)
        if not short_break:
            if phase == "first":
                self.note("cic-first-review", period)
            elif phase == "second":
                self.note("cic-second-review", reviews[-1])
            else:
                self.note("cic-later-review", reviews[-1])

    def new_s47(self, cid, started, not_required=0):
        self.s47_id += 1
        self.t["s47"].add((self.s47_id, cid, self.ds(started), not_required))
        return self.s47_id

    def new_plan(self, cid, started, ended=None):
        """An ICPC on started (after a strategy discussion) and the plan it made."""
        s47 = self.new_s47(cid, self.wd(started, -self.rng.randint(6, 15)))
        self.icpc_id += 1
        self.t["icpc"].add((self.icpc_id, s47, self.ds(started), 1))
        self.plan_id += 1
        cat = weighted(self.rng, CATEGORY)
        self.t["plans"].add((self.plan_id, cid, self.icpc_id, self.ds(started),
                             self.ds(ended) if ended is not None else None, cat,
                             cat if self.rng.random() < 0.8 else weighted(self.rng, CATEGORY)))
        return self.plan_id

    def core_groups(self, plan, first, last):
        """Core groups from first to last, about every 4 weeks; only the last three stored."""
        dates = [first]
        while dates[-1] + 35 < last:
            dates.append(dates[-1] + self.rng.randint(21, 30))
        if dates[-1] != last and last > dates[-1]:
            dates.append(last)
        for o in dates[-3:] if len(dates) > 3 else dates:
            self.t["core_groups"].add((plan, self.ds(o)))
        if len(dates) > 3 and dates[0] not in dates[-3:]:
            self.t["core_groups"].add((plan, self.ds(dates[0])))

    def make_cp(self, cid):
        rng = self.rng
        phase, driver = next(self.cp_pattern)
        if phase == "first":  # no review conference yet
            if driver == "cp-first-review":
                start, _ = self.targets[driver].pick(rng)
                first_cg = self.wd(start, rng.randint(5, 10))
                last_cg = None
                if first_cg <= self.today:
                    last_cg = self.today - rng.randint(0, 27)
                    last_cg = max(last_cg, first_cg)
            elif driver == "cp-core-group-first":
                start, _ = self.targets[driver].pick(rng)
                first_cg = last_cg = None
            else:
                last_cg, _ = self.targets[driver].pick(rng)
                start = last_cg - rng.randint(7, 40)
                first_cg = self.wd(start, rng.randint(5, 10))
                if first_cg >= last_cg:
                    first_cg = last_cg
            plan = self.new_plan(cid, start)
            if last_cg is not None:
                self.core_groups(plan, first_cg, last_cg)
                self.note("cp-core-group-next", last_cg)
            else:
                self.note("cp-core-group-first", start)
            self.note("cp-first-review", start)
        else:
            if driver == "cp-later-review":
                last_rc, _ = self.targets[driver].pick(rng)
                last_cg = max(last_rc, self.today - rng.randint(0, 27))
            else:
                last_cg, _ = self.targets[driver].pick(rng)
                last_rc = min(last_cg, self.today - rng.randint(10, 150))
            rcs = [last_rc]
            for _ in range(rng.randint(0, 2)):
                rcs.append(rcs[-1] - rng.randint(150, 182))
            rcs.reverse()
            start = rcs[0] - rng.randint(75, 91)
            plan = self.new_plan(cid, start)
            for o in rcs:
                self.t["cp_reviews"].add((plan, self.ds(o)))
            self.core_groups(plan, self.wd(start, rng.randint(5, 10)), last_cg)
            self.note("cp-later-review", last_rc)
            self.note("cp-core-group-next", last_cg)

    def make_s47(self, cid):
        start, _ = self.targets["cp-icpc"].pick(self.rng)
        self.new_s47(cid, start)
        self.note("cp-icpc", start)

    def make_closed(self, cid):
        """Done cases: nothing open, so no clock at all."""
        rng = self.rng
        kind = rng.choice(("left_care", "left_care", "plan_ended", "no_icpc", "no_plan"))
        if kind == "left_care":
            end = self.today - rng.randint(0, 200)
            start = end - rng.randint(30, 900)
            self.episodes(cid, start, end, rng.choice(LEFT_CARE_REASONS),
                          weighted(rng, LEGAL_STATUS))
            o = self.wd(start, rng.randint(10, 20))
            while o < end:
                self.review(cid, o)
                o += rng.randint(80, 180)
        elif kind == "plan_ended":
            end = self.today - rng.randint(0, 200)
            start = end - rng.randint(60, 500)
            plan = self.new_plan(cid, start, end)
            o = start + rng.randint(60, 91)
            while o < end:
                self.t["cp_reviews"].add((plan, self.ds(o)))
                o += rng.randint(150, 182)
            self.core_groups(plan, self.wd(start, rng.randint(5, 10)), max(start + 10, end - 10))
        elif kind == "no_icpc":
            self.new_s47(cid, self.today - rng.randint(0, 120), 1)
        else:
            s47 = self.new_s47(cid, self.today - rng.randint(20, 200))
            self.icpc_id += 1
            started = self.ds(self.today - rng.randint(0, 15))
            self.t["icpc"].add((self.icpc_id, s47, started, 0))

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
        # Resolved escalations: no clock. Some stage 4 ones ended in a Cafcass referral.
        n_resolved = int(round(self.n * 0.15))
        for _ in range(n_resolved):
            cid, iro = rng.choice(pool_all)
            stage = weighted(rng, ((0, 30), (1, 45), (2, 14), (3, 7), (4, 4)))
            raised = self.today - rng.randint(10, 400)
            since = self.wd(raised, rng.randint(0, 4 * stage))
            formal = None if stage == 0 else self.wd(raised, rng.randint(0, 3))
            formal = min(formal, since) if formal is not None else None
            resolved = min(self.today, self.wd(since, rng.randint(0, 7)))
            referred = 1 if stage == 4 and rng.random() < 0.5 else 0
            eid += 1
            self.t["escalations"].add((
                eid, "PR-%06d" % eid, cid, self.ds(raised), iro, weighted(rng, THEMES), stage,
                self.ds(since), self.ds(formal) if formal is not None else None,
                self.ds(resolved), referred, self.ds(resolved) if referred else None))
        self.n_resolved_esc = n_resolved

    def note_escalation(self, cid, stage, since, formal, referred):
        names = {0: "practice-resolution-informal", 1: "practice-resolution-stage-1",
                 2: "practice-resolution-stage-2", 3: "practice-resolution-stage-3",
                 4: "practice-resolution-stage-4"}
        self.note(names[stage], since)
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
        w("gencases: wrote %s as of %s: %d children (seed %d) in %.1fs, indexes %.1fs\n"
          % (out, self.ds(self.today), self.n, self.seed, t_rows, t_index))
        w("  staff: %s\n" % ", ".join("%d %s" % (v, k) for k, v in self.staff_counts.items()))
        w("  children: %s\n" % ", ".join("%d %s" % (self.kinds.count(k), k)
                                        for k in ("lac", "cp", "s47", "closed")))
        w("  rows: %s\n" % ", ".join("%s=%d" % (k, v.total) for k, v in self.t.items()))
        w("  escalations: %d open, %d resolved\n" % (self.n_open_esc, self.n_resolved_esc))
        over = sorted((x for x in self.iro_load if x > 70), reverse=True)
        w("  IRO caseloads: max %d, mean %.1f; %d IRO%s above 70%s\n" % (
            max(self.iro_load), sum(self.iro_load) / len(self.iro_load), len(over),
            "" if len(over) == 1 else "s", (" (%s)" % ", ".join(map(str, over[:10]))) if over
            else ""))
        w("  open clocks: %d\n" % total)
        for rid in CLOCK_RULES:
            order = ["(on time)"] + [s for s, _ in self.rules[rid].stages]
            parts = ["%s %d" % (s, self.reached[rid][s]) for s in order if s in self.reached[rid]]
            w("    %-30s %7d  %s\n" % (rid, self.clocks[rid], ", ".join(parts)))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="the case store to write (replaced)")
    p.add_argument("--children", type=int, required=True, help="number of children (>= 1)")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--today", type=datetime.date.fromisoformat, default=datetime.date.today(),
                   help="the day the stages are spread around (default: today)")
    args = p.parse_args(argv)
    if args.children < 1:
        p.error("--children must be at least 1")
    Generator(args).run(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
