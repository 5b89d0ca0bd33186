#!/usr/bin/python3
"""Integration test of escalatord preview, --check's rename warning and renamed_from, with the
real escalatord on the shipped rule pack (etc/rules.d, etc/escalator.conf) and the demo council's
generated case store (tests/gen/gencases.py, 300 children, as of today).

Run:  /usr/bin/python3 tests/integration/test_preview.py --escalatord /path/to/escalatord
      [unittest options]

Standard library only. setUpClass generates the store, copies the rule pack, and runs the real
service (escalatord -c FILE, no SMTP server: deliveries just wait) until it has recorded what it
loaded (meta "loaded") and finished its first pass, then stops it: the state store then holds what
a running service has sent and what it runs. Each test edits a copy of the rules and compares
escalatord's answers with an oracle that needs no preview: --once --dry-run with the old and the
new rules at the same --now, diffed, and the state store read directly. Tests that record run on
a copy of the state store; preview and --check must leave it as it was, byte for byte.

  (a) a stage renamed (overdue -> overdue-tm): --check warns, preview lists the alerts sent again
      with the fix; with renamed_from, --check is quiet, preview shows no re-send, and a real
      --once sends nothing again (without it, the same --once does: the test can fail); the
      service, started on the renamed rules, moves the records to the new name;
  (a2) a rule renamed (cp-icpc): the same, by rule id;
  (b) a stage added to clocks already past it: preview shows them owed at once, backdated, with
      their recipients, before any reload, and nothing is recorded;
  (c) a due date changed: preview counts the due dates that move (computed here by hand);
  (d) unchanged rules: "No change"; a service that never recorded what it loaded: the rules on
      disk are the before, and preview says so;
  (e) --json throughout (parsed; the keys the man page documents).
"""

import datetime
import hashlib
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
ETC = os.path.join(REPO, "etc")
GENCASES = os.path.join(REPO, "tests", "gen", "gencases.py")
PYTHON = "/usr/bin/python3"
IRO_SERVICE = "iro.service@example.org"  # contact "iro_service" in etc/escalator.conf
CIC = "10-child-in-care.conf"
CP = "20-child-protection.conf"


def run(args, timeout=120):
    env = dict(os.environ, LC_ALL="C")
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)


def describe(proc):
    return "\n--- %s\n--- exit %s\n--- stdout:\n%s--- stderr:\n%s" % (
        " ".join(proc.args), proc.returncode, proc.stdout[-6000:], proc.stderr[-6000:])


def config_text(case_store, state, rules, holidays):
    """etc/escalator.conf pointed at this tree."""
    with open(os.path.join(ETC, "escalator.conf"), encoding="utf-8") as f:
        text = f.read()
    for pattern, new in ((r'^case_store = "[^"]*";', 'case_store = "%s";' % case_store),
                         (r'^state = "[^"]*";', 'state = "%s";' % state),
                         (r'^rules = "[^"]*";', 'rules = "%s";' % rules),
                         (r'^holidays = \[ "[^"]*" \];', 'holidays = [ "%s" ];' % holidays)):
        text, n = re.subn(pattern, new, text, flags=re.M)
        if n != 1:
            raise AssertionError("etc/escalator.conf: no line matching %r" % pattern)
    return text


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def edit(path, old, new, count=1):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if text.count(old) < count:
        raise AssertionError("%s: %r not found" % (path, old))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text.replace(old, new, count))


# The first stage "overdue" of cic-first-review, as etc/rules.d writes it.
OVERDUE = '{ name = "overdue"; at = "1 working day"; label = "Overdue: team manager and IRO";'
OVERDUE_TM = '{ name = "overdue-tm"; at = "1 working day"; label = "Overdue: team manager and IRO";'
OVERDUE_TM_RENAMED = ('{ name = "overdue-tm"; renamed_from = "overdue"; at = "1 working day"; '
                      'label = "Overdue: team manager and IRO";')


class PreviewCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="escalator-preview-")
        root = cls.tmp
        cls.case_store = os.path.join(root, "cases.db")
        cls.state = os.path.join(root, "state.db")
        cls.holidays = os.path.join(ETC, "holidays", "england-and-wales.txt")
        cls.rules = os.path.join(root, "rules.d")
        shutil.copytree(os.path.join(ETC, "rules.d"), cls.rules)
        proc = run([PYTHON, GENCASES, "--out", cls.case_store, "--children", "300", "--seed",
                    "1"], timeout=300)
        if proc.returncode != 0:
            raise AssertionError("gencases failed" + describe(proc))
        cls.conf = cls.config("escalator.conf", cls.rules)
        cls.start_service(cls.conf, cls.state)
        # Every preview, dry run and check is as of this local minute (escalator.conf's time
        # zone), a moment after the service's pass.
        cls.now = cls.local_now()
        cls.today = cls.now[:10]
        cls.pristine = cls.fingerprint(cls.state)
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        if os.environ.get("KEEP_TMP"):
            print("kept %s" % cls.tmp, file=sys.stderr)
        else:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- the tree ------------------------------------------------------------------------------
    @classmethod
    def config(cls, name, rules, state=None):
        path = os.path.join(cls.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(config_text(cls.case_store, state or cls.state, rules, cls.holidays))
        return path

    @classmethod
    def local_now(cls):
        """This minute in escalator.conf's time zone, as --now takes it."""
        now = datetime.datetime.now(zoneinfo.ZoneInfo("Europe/London"))
        return now.strftime("%Y-%m-%dT%H:%M:00")

    @staticmethod
    def fingerprint(path):
        """The state file (and its WAL, if any) as bytes: proof that nothing was recorded."""
        h = hashlib.sha256()
        for p in (path, path + "-wal"):
            if os.path.exists(p):
                with open(p, "rb") as f:
                    h.update(f.read())
        return h.hexdigest()

    @classmethod
    def start_service(cls, conf, state):
        """The real service: start it, wait for its first whole pass, stop it (SIGTERM)."""
        if os.path.exists(state):  # a copy: its own pass is the one to wait for
            con = sqlite3.connect(state)
            con.execute("DELETE FROM meta WHERE key = 'last_pass'")
            con.commit()
            con.close()
        err_path = os.path.join(cls.tmp, "service.%d.stderr" % time.monotonic_ns())
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LD_PRELOAD")}
        with open(err_path, "wb") as err:
            proc = subprocess.Popen([hd.ESCALATORD, "-c", conf], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise AssertionError("escalatord exited %s:\n%s" % (
                        proc.returncode, read(err_path)[-4000:]))
                if os.path.exists(state) and cls.meta(state, "last_pass") is not None:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError("no pass recorded within 60 s:\n%s" %
                                         read(err_path)[-4000:])
                time.sleep(0.1)
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        log = read(err_path)
        if rc != 0 or any(m.decode() in log for m in hd.SANITIZER_MARKERS):
            raise AssertionError("escalatord exited %s:\n%s" % (rc, log[-4000:]))
        return log

    @staticmethod
    def meta(state, key):
        try:
            con = sqlite3.connect("file:%s?mode=ro" % state, uri=True, timeout=10)
            try:
                row = con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            finally:
                con.close()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def sql(self, sql, args=(), state=None):
        con = sqlite3.connect("file:%s?mode=ro" % (state or self.state), uri=True)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def rules_copy(self):
        """A copy of the running rules to edit; returns its directory."""
        type(self).n += 1
        d = os.path.join(self.tmp, "rules-%d" % self.n)
        shutil.copytree(self.rules, d)
        return d

    def state_copy(self):
        type(self).n += 1
        path = os.path.join(self.tmp, "state-%d.db" % self.n)
        shutil.copy(self.state, path)
        return path

    # -- escalatord ----------------------------------------------------------------------------
    def escalatord(self, conf, *args, ok=True):
        proc = run([hd.ESCALATORD, "-c", conf] + list(args))
        if ok:
            self.assertEqual(proc.returncode, 0, describe(proc))
        for m in hd.SANITIZER_MARKERS:
            self.assertNotIn(m.decode(), proc.stderr, describe(proc))
        return proc

    def preview(self, rules=None, conf=None, text=False):
        args = ["preview", "--now", self.now] + (["--rules", rules] if rules else [])
        proc = self.escalatord(conf or self.conf, *args, *([] if text else ["--json"]))
        if text:
            return proc.stdout
        out = json.loads(proc.stdout)
        for key in ("no_change", "summary", "now", "rules_dir", "before", "holidays_changed",
                    "next_digest", "rules"):
            self.assertIn(key, out)
        return out

    def check(self, rules):
        conf = self.config("check-%d.conf" % self.n, rules)
        proc = self.escalatord(conf, "--check")
        self.assertEqual(proc.stdout, "configuration OK\n", describe(proc))
        return proc.stderr

    def dry_run(self, rules, state=None):
        """What --once --dry-run owes at now with these rules: {(rule, case, stage): alert}."""
        conf = self.config("dry-%d.conf" % self.n, rules, state)
        proc = self.escalatord(conf, "--once", "--dry-run", "--now", self.now)
        return {(a["rule"], a["case"], a["stage"]): a
                for a in map(json.loads, proc.stdout.splitlines())}

    def assert_unrecorded(self):
        self.assertEqual(self.fingerprint(self.state), self.pristine,
                         "preview or --check changed the state store")

    def rule(self, out, rule_id):
        for r in out["rules"]:
            if r["rule"] == rule_id:
                return r
        self.fail("rule %s not in the preview: %s" % (rule_id, json.dumps(out, indent=1)))

    def latest_overdue(self, rule="cic-first-review"):
        """Open clocks of rule whose latest alert was stage "overdue" (the state store)."""
        return {r[0] for r in self.sql(
            "SELECT cs.case_ref FROM clock_stage cs WHERE cs.rule = ? AND cs.stage = 'overdue' "
            "AND NOT EXISTS (SELECT 1 FROM clock_stage l WHERE l.rule = cs.rule AND "
            "l.case_ref = cs.case_ref AND l.start = cs.start AND l.stage IN ('escalated', "
            "'escalated-hos')) AND NOT EXISTS (SELECT 1 FROM closed_clock c WHERE c.rule = "
            "cs.rule AND c.case_ref = cs.case_ref AND c.start = cs.start AND c.reopened_on IS "
            "NULL)", (rule,))}


class TestPreview(PreviewCase):
    def test_a_stage_renamed(self):
        rules = self.rules_copy()
        edit(os.path.join(rules, CIC), OVERDUE, OVERDUE_TM)
        latest = self.latest_overdue()
        self.assertTrue(latest, "the demo store has no clock last alerted at overdue")
        # The oracle: with the new rules, the clocks last alerted at "overdue" are owed
        # "overdue-tm" (those whose clock has not moved on since the service's pass).
        new = self.dry_run(rules)
        resent = {c for (r, c, s) in new if r == "cic-first-review" and s == "overdue-tm"
                  and c in latest}
        self.assertTrue(resent, "no alert would be sent again: the test proves nothing")

        # --check warns, at the renamed stage's line, with the count and the fix.
        err = self.check(rules)
        line = next(i + 1 for i, l in enumerate(read(os.path.join(rules, CIC)).splitlines())
                    if '"overdue-tm"' in l)
        self.assertRegex(err, r'warning: %s:%d: rule "cic-first-review": stage "overdue" is '
                         r'gone but %d open clocks? (was|were) last alerted at it; if it is now '
                         r'"overdue-tm", add renamed_from = "overdue" to that stage, or those '
                         r'alerts will be sent again' % (re.escape(os.path.join(rules, CIC)),
                                                         line, len(latest)))

        # preview lists them, loudly, with the fix; the summary line comes first.
        out = self.preview(rules)
        self.assertEqual(out["summary"]["sent_again"], len(resent), json.dumps(out, indent=1))
        r = self.rule(out, "cic-first-review")
        self.assertEqual([(x["stage"], x["why"], x["gone"], x["alerts"]) for x in r["sent_again"]],
                         [("overdue-tm", "stage_renamed", "overdue", len(resent))])
        self.assertIn('renamed_from = "overdue"', r["sent_again"][0]["fix"])
        self.assertTrue({e["case"] for e in r["sent_again"][0]["examples"]} <= resent)
        self.assertEqual({w["notify"] for w in r["sent_again"][0]["recipients"]},
                         {"team_manager", "iro"})
        self.assertEqual({(c["change"], c["stage"]) for c in r["settings"]},
                         {("stage_added", "overdue-tm"), ("stage_removed", "overdue")})
        text = self.preview(rules, text=True)
        self.assertRegex(text.splitlines()[0], r"^On reload: \d+ alerts? (is|are) owed at once "
                         r"\(\d+ backdated\), \d+ due dates? moves?, %d alerts? sent again\.$"
                         % len(resent))
        self.assertIn("SENT AGAIN: fix this before you reload", text)
        self.assertIn('      renamed_from = "overdue";\n    to stage "overdue-tm"', text)

        # A real --once on the renamed rules, without renamed_from: they are sent again.
        state = self.state_copy()
        conf = self.config("once-%d.conf" % self.n, rules, state)
        proc = self.escalatord(conf, "--once", "--now", self.now)
        sent = {a["case"] for a in map(json.loads, proc.stdout.splitlines())
                if a["rule"] == "cic-first-review" and a["stage"] == "overdue-tm"}
        self.assertEqual(sent & latest, resent)

        # renamed_from: --check is quiet, preview shows no re-send, a real --once sends nothing
        # again.
        edit(os.path.join(rules, CIC), OVERDUE_TM, OVERDUE_TM_RENAMED)
        self.assertNotIn("warning", self.check(rules))
        out = self.preview(rules)
        self.assertEqual(out["summary"]["sent_again"], 0, json.dumps(out, indent=1))
        self.assertEqual(out["summary"]["at_once"], 0, json.dumps(out, indent=1))
        r = self.rule(out, "cic-first-review")
        self.assertEqual([(c["change"], c["before"], c["after"]) for c in r["settings"]],
                         [("stage_renamed", "overdue", "overdue-tm")])
        self.assertIn('stage "overdue" renamed "overdue-tm" (renamed_from: its history carries '
                      'over)', self.preview(rules, text=True))
        state = self.state_copy()
        conf = self.config("once-%d.conf" % self.n, rules, state)
        proc = self.escalatord(conf, "--once", "--now", self.now)
        again = [a for a in map(json.loads, proc.stdout.splitlines())
                 if a["rule"] == "cic-first-review" and a["case"] in latest]
        self.assertEqual(again, [])
        self.assert_unrecorded()

        # The service, started on the renamed rules, moves the records to the new name once.
        state = self.state_copy()
        conf = self.config("service-%d.conf" % self.n, rules, state)
        log = self.start_service(conf, state)
        self.assertRegex(log, r"renamed rule=cic-first-review stage=overdue-tm from=overdue: "
                         r"\d+ records moved to the new name")
        self.assertEqual(self.sql("SELECT count(*) FROM clock_stage WHERE rule = "
                                  "'cic-first-review' AND stage = 'overdue'", state=state),
                         [(0,)])
        self.assertEqual(self.sql("SELECT count(*) FROM alert WHERE rule = 'cic-first-review' "
                                  "AND stage = 'overdue'", state=state), [(0,)])
        log = self.start_service(conf, state)
        self.assertNotIn("records moved", log)

    def test_a2_rule_renamed(self):
        rules = self.rules_copy()
        edit(os.path.join(rules, CP), 'id = "cp-icpc";', 'id = "cp-initial-conference";')
        recorded = {r[0] for r in self.sql(
            "SELECT DISTINCT case_ref FROM clock_stage WHERE rule = 'cp-icpc'")}
        new = self.dry_run(rules)
        resent = {(c, s) for (r, c, s) in new if r == "cp-initial-conference" and c in recorded}
        self.assertTrue(resent, "no alert would be sent again: the test proves nothing")
        self.assertRegex(self.check(rules), r'warning: .*%s:\d+: rule "cp-icpc" is gone .* add '
                         r'renamed_from = "cp-icpc" to the rule with the new id' % CP)
        out = self.preview(rules)
        self.assertEqual(out["summary"]["sent_again"], len(resent), json.dumps(out, indent=1))
        r = self.rule(out, "cp-initial-conference")
        self.assertEqual(r["change"], "added")
        self.assertEqual({(x["why"], x["gone"]) for x in r["sent_again"]},
                         {("rule_renamed", "cp-icpc")})
        self.assertEqual(self.rule(out, "cp-icpc")["change"], "removed")
        edit(os.path.join(rules, CP), 'id = "cp-initial-conference";',
             'id = "cp-initial-conference"; renamed_from = "cp-icpc";')
        self.assertNotIn("warning", self.check(rules))
        out = self.preview(rules)
        self.assertEqual(out["summary"]["sent_again"], 0, json.dumps(out, indent=1))
        r = self.rule(out, "cp-initial-conference")
        self.assertEqual((r["change"], r["renamed_from"]), ("changed", "cp-icpc"))
        self.assert_unrecorded()

    def test_b_stage_added_backdated(self):
        rules = self.rules_copy()
        edit(os.path.join(rules, CIC),
             'expected = "First review {{status}}: make sure it is held within days and the '
             'cause of the delay is addressed."; }\n    );',
             'expected = "First review {{status}}: make sure it is held within days and the '
             'cause of the delay is addressed."; },\n'
             '      { name = "escalated-dcs"; at = "11 working days"; label = "Escalated: '
             'Director"; notify = [ "head_of_service", "iro_service" ]; }\n    );')
        old, new = self.dry_run(self.rules), self.dry_run(rules)
        owed = {k: a for k, a in new.items() if k not in old}
        added = {k: a for k, a in owed.items() if k[2] == "escalated-dcs"}
        self.assertTrue(added, "no clock is past the new stage: the test proves nothing")
        backdated = [a for a in added.values() if a["fires"][:10] < self.today]
        self.assertTrue(backdated, "none backdated: the test proves nothing")

        out = self.preview(rules)
        self.assertEqual(out["summary"]["at_once"], len(owed), json.dumps(out, indent=1))
        self.assertEqual(out["summary"]["sent_again"], 0)
        r = self.rule(out, "cic-first-review")
        [s] = [x for x in r["at_once"] if x["stage"] == "escalated-dcs"]
        self.assertEqual((s["alerts"], s["backdated"], s["label"]),
                         (len(added), len(backdated), "Escalated: Director"))
        self.assertEqual(s["first"], min(a["fires"][:10] for a in added.values()))
        hos = {rc for a in added.values() for rc in a["recipients"] if rc != IRO_SERVICE}
        who = {(w["notify"], w["kind"], w["copied"]): w for w in s["recipients"]}
        self.assertEqual(who[("head_of_service", "column", False)]["addresses"], len(hos))
        self.assertEqual(who[("iro_service", "contact", False)]["alerts"], len(added))
        self.assertNotIn("addresses", who[("iro_service", "contact", False)])
        text = self.preview(rules, text=True)
        self.assertRegex(text, r'cic-first-review, stage "escalated-dcs" \(Escalated: Director\): '
                         r'%d alerts?\n    %d backdated, dated ' % (len(added), len(backdated)))
        self.assertRegex(text, r"to: head_of_service \(%d address(es)?\), iro_service\n"
                         % len(hos))
        # Before the reload: nothing of the new stage is recorded, nothing at all is.
        self.assertEqual(self.sql("SELECT count(*) FROM clock_stage WHERE stage = "
                                  "'escalated-dcs'"), [(0,)])
        self.assert_unrecorded()
        # No address of the case store in the output: names and counts only.
        for a in added.values():
            for rc in a["recipients"]:
                self.assertNotIn(rc, text)

    def test_c_due_changed(self):
        rules = self.rules_copy()
        edit(os.path.join(rules, CIC), 'due = "3 months";', 'due = "13 weeks";')
        # By hand: calendar months (clamped to the month's end) against 91 days.
        con = sqlite3.connect("file:%s?mode=ro" % self.case_store, uri=True)
        rows = con.execute("SELECT case_ref, start FROM open_cic_next_review WHERE "
                           "next_review_number = 2 AND (legal_status IS NULL OR legal_status "
                           "NOT IN ('V3', 'V4'))").fetchall()
        con.close()
        moved = earlier = 0
        for _, start in rows:
            d = datetime.date.fromisoformat(start[:10])
            y, m = divmod(d.month - 1 + 3, 12)
            y, m = d.year + y, m + 1
            last = (datetime.date(y + m // 12, m % 12 + 1, 1) - datetime.timedelta(days=1)).day
            months = datetime.date(y, m, min(d.day, last))
            weeks = d + datetime.timedelta(days=91)
            moved += months != weeks
            earlier += weeks < months
        self.assertTrue(moved, "no due date moves: the test proves nothing")
        out = self.preview(rules)
        self.assertEqual(out["summary"]["due_moved"], moved, json.dumps(out, indent=1))
        r = self.rule(out, "cic-second-review")
        self.assertEqual((r["due_moved"]["clocks"], r["due_moved"]["earlier"]), (moved, earlier))
        self.assertEqual([(c["change"], c["before"], c["after"]) for c in r["settings"]],
                         [("due", "3 months", "13 weeks")])
        ex = r["due_moved"]["examples"][0]
        self.assertNotEqual(ex["before"], ex["after"])
        text = self.preview(rules, text=True)
        self.assertIn("due: 3 months -> 13 weeks", text)
        self.assertRegex(text, r"Due dates that move: %d\n  cic-second-review: %d clocks? \(%d "
                         r"earlier, %d later\)" % (moved, moved, earlier, moved - earlier))
        self.assert_unrecorded()

    def test_d_unchanged(self):
        text = self.preview(text=True)
        self.assertEqual(text.splitlines()[0],
                         "No change: the rules in %s are what escalatord runs." % self.rules)
        self.assertRegex(text.splitlines()[1], r"^Before: the rules escalatord loaded on "
                         r"\w{3} \d+ \w{3} \d{4} \d\d:\d\d\. As of ")
        out = self.preview()
        self.assertTrue(out["no_change"])
        self.assertEqual(out["rules"], [])
        self.assertEqual(set(out["summary"].values()), {0})
        self.assertEqual(out["before"]["source"], "loaded")
        # The same rules in another directory: still no change.
        self.assertTrue(self.preview(self.rules_copy())["no_change"])
        self.assert_unrecorded()

    def test_d3_broken_candidate(self):
        """Rules with an error are not previewed: the error at its line, exit 1, no output."""
        rules = self.rules_copy()
        edit(os.path.join(rules, CIC), 'due = "20 working days";', 'due = "20 wrking days";')
        proc = self.escalatord(self.conf, "preview", "--rules", rules, ok=False)
        self.assertEqual(proc.returncode, 1, describe(proc))
        self.assertEqual(proc.stdout, "")
        self.assertRegex(proc.stderr, r"%s:\d+: .*wrking" % re.escape(os.path.join(rules, CIC)))
        self.assertIn("nothing to compare", proc.stderr)
        self.assert_unrecorded()

    def test_d2_never_recorded(self):
        """A service that never recorded what it loaded: the rules on disk are the before."""
        state = self.state_copy()
        con = sqlite3.connect(state)
        con.execute("DELETE FROM meta WHERE key = 'loaded'")
        con.commit()
        con.close()
        conf = self.config("old-%d.conf" % self.n, self.rules, state)
        rules = self.rules_copy()
        edit(os.path.join(rules, CIC), 'due = "3 months";', 'due = "13 weeks";')
        out = self.preview(rules, conf=conf)
        self.assertEqual(out["before"]["source"], "disk")
        self.assertIn("has not recorded which rules it loaded", out["before"]["note"])
        self.assertGreater(out["summary"]["due_moved"], 0)
        self.assertIn("Before: the rules on disk in %s" % self.rules,
                      self.preview(rules, conf=conf, text=True))
        # --check falls back to the stage names recorded for each rule.
        rules = self.rules_copy()
        edit(os.path.join(rules, CIC), OVERDUE, OVERDUE_TM)
        check = self.config("check-old-%d.conf" % self.n, rules, state)
        proc = self.escalatord(check, "--check")
        self.assertRegex(proc.stderr, r'rule "cic-first-review": stage "overdue" is gone but \d+ '
                         r'open clocks? (has|have) it recorded')


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
