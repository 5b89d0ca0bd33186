#!/usr/bin/python3
"""Integration test of escalatord explain RULE CASE (issue 15, point 1), on the shipped rule pack.

Run:  /usr/bin/python3 tests/integration/test_explain.py --escalatord /path/to/escalatord [-v]

Standard library only; the real escalatord, the real SMTP sink (tests/harness), the shipped
etc/rules.d, etc/holidays/england-and-wales.txt and etc/escalator.conf adapted as
test_rulepack.py does (its helpers are reused). Four parts:

  TestHandMade    a case store made by hand, run through a real `--once --now` that sends to the
      SMTP sink, then explained:
      - EXP-XMAS comes into care on Mon 14 Dec 2026 (cic-first-review, 20 working days). Counted
        by hand: Dec 15(1) 16 17 18(4) [19 20] 21(5) 22 23 24(8) [25 Christmas Day, 26 27,
        28 Boxing Day (substitute day)] 29(9) 30 31(11) [Jan 1 New Year's Day, 2 3] 4(12) 5 6 7
        8(16) [9 10] 11(17) 12 13 14(20): due Thu 14 Jan 2027; 8 weekend days and 3 bank
        holidays not counted. Reminder 5 working days before: 13 12 11 [10 9] 8 7: Thu 7 Jan
        2027, sent by `--once --now 2027-01-07T09:00:00`. Overdue: 1 working day after due,
        Fri 15 Jan 2027 08:00, to the team manager and the IRO. Escalated: 15 18 19 20 21,
        Thu 21 Jan 2027. Escalated to head of service: 15 18 19 20 21 22 25 26 27 28, Thu 28
        Jan 2027.
      - EXP-XMAS/PR-1, a stage 1 practice alert since Mon 7 Dec 2026 (5 working days): 8 9 10
        11 [12 13] 14: due Mon 14 Dec; reminder Fri 11 Dec (sent by `--once --now
        2026-12-11T09:00:00`), overdue Tue 15 Dec, escalated Thu 17 Dec. The team manager
        answers "action agreed for Mon 21 Dec" (a response row as the answer page records it):
        the rule holds, so on Wed 16 Dec the overdue stage is held until the working day after,
        Tue 22 Dec 2026 (under the cap: 15 Dec + 10 working days = Thu 31 Dec). A dry run on
        Mon 21 Dec owes nothing for it, one on Tue 22 Dec 08:00 owes its escalation: explain
        and the pass agree.
      - --json: parsed, and its keys checked against the same facts.
  TestErrors      an unknown rule (did you mean, the rule ids, exit 1), an unknown case (exit 1, a
      clear message, still what the state store remembers), a bad --now (exit 2), a threshold
      key over its limit.
  TestDemoStore   the generated demo council (tests/gen/gencases.py, 300 children) after a real
      `--once` to the SMTP sink: one clock of every shipped clock rule explained without error,
      text and JSON agreeing with what --once printed (due date, stage alerted).
  Read-only: explain leaves the state store's bytes as they were.
"""

import hashlib
import json
import os
import re
import sqlite3
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from harness import daemon as hd  # noqa: E402
import test_rulepack as rp  # noqa: E402  (make_store, shipped_config, STAFF_SQL, run, describe)

HOLIDAYS = os.path.join(rp.ETC, "holidays", "england-and-wales.txt")
RULES = os.path.join(rp.ETC, "rules.d")

HAND_SQL = """
INSERT INTO children (child_id, case_ref, social_worker_id, team_manager_id, iro_id) VALUES
  (1, 'EXP-XMAS', 5, NULL, 9);
INSERT INTO care_episodes (child_id, decom, rne, ls, dec, rec) VALUES
  (1, '2026-12-14', 'S', 'C1', NULL, NULL);
INSERT INTO escalations (escalation_id, escalation_ref, child_id, raised_on, raised_by, theme,
                         stage, stage_since, formal_on, resolved_on, cafcass_referred) VALUES
  (1, 'PR-1', 1, '2026-12-07', 9, 'permanence_planning', 1, '2026-12-07', '2026-12-07', NULL, 0);
"""


def with_smtp(config_text, port):
    """The shipped configuration with its smtp block pointed at the sink (plain, local)."""
    return config_text + """
smtp = {
  url = "smtp://127.0.0.1:%d";
  from = "escalator@council.example";
  starttls = "opportunistic";
};
""" % port


def flat(text):
    """The text with its line wrapping undone: each line break and the indent after it one
    space (the spaces within a line are kept)."""
    return re.sub(r"\n *", " ", text)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class ExplainCase(unittest.TestCase):
    maxDiff = None

    @classmethod
    def start_sink(cls):
        from harness import SmtpSink
        cls.smtp = SmtpSink()
        cls.smtp.start()

    @classmethod
    def tearDownClass(cls):
        cls.smtp.stop()
        cls.tmp.cleanup()

    @classmethod
    def write_config(cls, case_store):
        cls.state = os.path.join(cls.tmp.name, "state.db")
        cls.config = os.path.join(cls.tmp.name, "escalator.conf")
        with open(cls.config, "w", encoding="utf-8") as f:
            f.write(with_smtp(rp.shipped_config(case_store, cls.state, RULES, HOLIDAYS),
                              cls.smtp.port))

    @classmethod
    def once(cls, now, *extra):
        proc = rp.run([hd.ESCALATORD, "-c", cls.config, "--once", *extra, "--now", now])
        if proc.returncode != 0:
            raise AssertionError("--once failed" + rp.describe(proc))
        return [json.loads(line) for line in proc.stdout.splitlines()]

    def explain(self, rule, case, now, *extra, code=0):
        proc = rp.run([hd.ESCALATORD, "-c", self.config, "explain", rule, case, "--now", now,
                       *extra])
        self.assertEqual(proc.returncode, code, rp.describe(proc))
        for marker in hd.SANITIZER_MARKERS:
            self.assertNotIn(marker, proc.stderr.encode(), rp.describe(proc))
        return proc


class TestHandMade(ExplainCase):
    @classmethod
    def setUpClass(cls):
        cls.start_sink()
        cls.tmp = tempfile.TemporaryDirectory(prefix="escalator-explain-")
        case_store = os.path.join(cls.tmp.name, "cases.db")
        rp.make_store(case_store, HAND_SQL)
        cls.write_config(case_store)
        # The first review's reminder, sent for real to the SMTP sink (--once delivers before
        # it exits).
        cls.alerts = [a for a in cls.once("2027-01-07T09:00:00") if a["case"] == "EXP-XMAS"]
        cls.smtp.wait_for(1, timeout=10)

    def test_christmas_text(self):
        self.assertEqual([(a["rule"], a["stage"], a["due"]) for a in self.alerts],
                         [("cic-first-review", "reminder", "2027-01-14")])
        self.assertTrue(any(rp.IRO in m.rcpt_tos and "EXP-XMAS" in m.body_text()
                            for m in self.smtp.messages))
        before = digest(self.state)
        out = self.explain("cic-first-review", "EXP-XMAS", "2027-01-08T09:00:00").stdout
        self.assertEqual(digest(self.state), before, "explain changed the state store")
        lines = out.splitlines()
        text = flat(out)
        # Most important first: when it is due and what comes next.
        self.assertIn('Rule:  cic-first-review "First Child in Care review"', lines[0])
        self.assertIn("10-child-in-care.conf, line ", out)
        self.assertIn("Case:  EXP-XMAS", text)
        self.assertIn("As of: Fri 8 Jan 2027 09:00", text)
        self.assertIn("Clock started Mon 14 Dec 2026: due Thu 14 Jan 2027, due in 4 working "
                      "days.", text)
        self.assertIn('Next:  "Overdue: team manager and IRO" goes Fri 15 Jan 2027 08:00.', text)
        self.assertLess(out.index("Next:"), out.index("Due date:"))
        # The row: case and start only (the rule lists no fields).
        self.assertIn('case_ref "EXP-XMAS", start "2026-12-14"', text)
        self.assertNotIn("council.example", out.split("Due date:")[0])
        # The count, with the days it passed over.
        self.assertIn("Due date: Mon 14 Dec 2026 + 20 working days = Thu 14 Jan 2027", text)
        self.assertIn("Not counted: 8 weekend days (19-20 Dec, 26-27 Dec 2026, 2-3 Jan, 9-10 "
                      "Jan 2027);", text)
        self.assertIn("and 3 bank holidays:", text)
        self.assertIn("Fri 25 Dec 2026  Christmas Day", text)
        self.assertIn("Mon 28 Dec 2026  Boxing Day (substitute day)", text)
        self.assertIn("Fri 1 Jan 2027  New Year's Day", text)
        # Every stage, its offset and date; the reminder sent to the IRO by the SMTP sink.
        stages = out.split("Stages (each goes out at 08:00 on its day, a working day):")[1]
        self.assertIn('1. "Reminder: IRO" (reminder)', flat(stages))
        self.assertIn("5 working days before due: Thu 7 Jan 2027, not counting the weekend 9-10 "
                      "Jan 2027", flat(stages))
        self.assertIn("Fires Thu 7 Jan 2027 08:00: reached.", flat(stages))
        reminder = stages.split("2. ")[0]
        self.assertIn("Alerted ", flat(reminder))
        self.assertRegex(reminder, r"%s: sent( in digest \d+)?" % rp.IRO.replace(".", r"\."))
        self.assertIn('2. "Overdue: team manager and IRO" (overdue)', flat(stages))
        self.assertIn("1 working day after due: Fri 15 Jan 2027", flat(stages))
        self.assertIn("Fires Fri 15 Jan 2027 08:00: not reached yet.", flat(stages))
        self.assertIn("5 working days after due: Thu 21 Jan 2027", flat(stages))
        self.assertIn("10 working days after due: Thu 28 Jan 2027", flat(stages))
        self.assertIn("Answers: none recorded.", text)
        # To whom the next stage goes, from the row.
        nxt = out.split('"Overdue: team manager and IRO" goes to:')[1]
        self.assertIn("%s (the row's team_manager_email)" % rp.TM, flat(nxt))
        self.assertIn("%s (the row's iro_email)" % rp.IRO, flat(nxt))
        self.assertTrue(all(len(line) <= 78 for line in lines),
                        [line for line in lines if len(line) > 78])

    def test_christmas_json(self):
        doc = json.loads(self.explain("cic-first-review", "EXP-XMAS", "2027-01-08T09:00:00",
                                      "--json").stdout)
        self.assertEqual(doc["rule"]["id"], "cic-first-review")
        self.assertEqual(doc["rule"]["due"], "20 working days")
        self.assertEqual(doc["case"], "EXP-XMAS")
        self.assertEqual(doc["now"], "2027-01-08T09:00")
        self.assertTrue(doc["found"])
        self.assertEqual(len(doc["clocks"]), 1)
        clock = doc["clocks"][0]
        self.assertEqual(clock["row"], {"case_ref": "EXP-XMAS", "start": "2026-12-14"})
        self.assertEqual((clock["start"], clock["due"]), ("2026-12-14", "2027-01-14"))
        count = clock["due_count"]
        self.assertEqual((count["weekend_days"], count["holidays"]), (8, 3))
        self.assertEqual([(s["date"], s["name"]) for s in count["skipped"]
                          if s["kind"] == "holiday"],
                         [("2026-12-25", "Christmas Day"),
                          ("2026-12-28", "Boxing Day (substitute day)"),
                          ("2027-01-01", "New Year's Day")])
        self.assertEqual([(s["name"], s["date"], s["fires"], s["state"])
                          for s in clock["stages"]],
                         [("reminder", "2027-01-07", "2027-01-07T08:00", "alerted"),
                          ("overdue", "2027-01-15", "2027-01-15T08:00", "not_reached"),
                          ("escalated", "2027-01-21", "2027-01-21T08:00", "not_reached"),
                          ("escalated-hos", "2027-01-28", "2027-01-28T08:00", "not_reached")])
        self.assertEqual(clock["next"]["what"], "stage")
        self.assertEqual((clock["next"]["stage"], clock["next"]["at"]),
                         ("overdue", "2027-01-15T08:00"))
        self.assertEqual(sorted((r["address"], r["column"]) for r in clock["next"]["recipients"]),
                         sorted([(rp.TM, "team_manager_email"), (rp.IRO, "iro_email")]))
        alerts = clock["recorded"]["alerts"]
        self.assertEqual([a["stage"] for a in alerts], ["reminder"])
        self.assertEqual(clock["stages"][0]["alert"], alerts[0]["id"])
        self.assertEqual([(d["recipient"], d["status"]) for d in alerts[0]["deliveries"]],
                         [(rp.IRO, "sent")])
        self.assertRegex(alerts[0]["deliveries"][0]["sent_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d$")

class TestHold(ExplainCase):
    @classmethod
    def setUpClass(cls):
        cls.start_sink()
        cls.tmp = tempfile.TemporaryDirectory(prefix="escalator-explain-")
        case_store = os.path.join(cls.tmp.name, "cases.db")
        rp.make_store(case_store, HAND_SQL)
        cls.write_config(case_store)
        # The practice alert's reminder on Fri 11 Dec, sent for real.
        cls.once("2026-12-11T09:00:00")
        con = sqlite3.connect(cls.state)
        try:
            # The team manager answers it: action agreed for Mon 21 Dec (the row the answer
            # page records, daemon/answers.c).
            did, aid = con.execute(
                "SELECT d.id, a.id FROM delivery d JOIN alert a ON a.id = d.alert_id WHERE "
                "a.rule = 'practice-resolution-stage-1' AND d.recipient = ?",
                (rp.TM,)).fetchone()
            con.execute(
                "INSERT INTO response (delivery_id, alert_id, rule, case_ref, start, stage, "
                "label, recipient, name, kind, agreed_on, answered_at) VALUES (?, ?, "
                "'practice-resolution-stage-1', 'EXP-XMAS/PR-1', '2026-12-07', 'reminder', "
                "'Reminder: team manager', ?, 'Team Manager', 'agreed', '2026-12-21', "
                "'2026-12-11T10:30:00Z')", (did, aid, rp.TM))
            con.commit()
        finally:
            con.close()

    def test_hold_agrees_with_the_pass(self):
        out = self.explain("practice-resolution-stage-1", "EXP-XMAS/PR-1",
                           "2026-12-16T09:00:00").stdout
        self.assertIn("Clock started Mon 7 Dec 2026: due Mon 14 Dec 2026, 2 working days "
                      "overdue.", flat(out))
        self.assertIn('Next:  "Overdue: team manager, IRO and IRO manager" is owed, but held by '
                      'an agreed action: it goes Tue 22 Dec 2026 08:00 if still open.',
                      flat(out))
        self.assertIn('theme "permanence planning"', flat(out))   # the rule's field
        self.assertIn("Owed, but held by an agreed action until Tue 22 Dec 2026.", flat(out))
        self.assertRegex(flat(out), r"Team Manager: action agreed for Mon 21 "
                         r"Dec 2026 \(to \"Reminder: team manager\"\)")
        doc = json.loads(self.explain("practice-resolution-stage-1", "EXP-XMAS/PR-1",
                                      "2026-12-16T09:00:00", "--json").stdout)
        nxt = doc["clocks"][0]["next"]
        self.assertEqual((nxt["what"], nxt["stage"], nxt["held_until"], nxt["at"]),
                         ("held", "overdue", "2026-12-22", "2026-12-22T08:00"))
        self.assertEqual(doc["clocks"][0]["recorded"]["agreed_on"], "2026-12-21")
        # The pass agrees: nothing owed for it the day before, its escalation at 08:00 that day.
        for now, want in (("2026-12-21T09:00:00", []),
                          ("2026-12-22T07:59:00", []),
                          ("2026-12-22T08:00:00", ["escalated"])):
            got = [a["stage"] for a in self.once(now, "--dry-run")
                   if a["case"] == "EXP-XMAS/PR-1" and a["rule"] == "practice-resolution-stage-1"]
            self.assertEqual(got, want, now)



class TestErrors(ExplainCase):
    @classmethod
    def setUpClass(cls):
        cls.start_sink()
        cls.tmp = tempfile.TemporaryDirectory(prefix="escalator-explain-")
        case_store = os.path.join(cls.tmp.name, "cases.db")
        # 71 looked-after children for IRO 2: one above the Handbook's 70.
        sql = HAND_SQL + "".join(
            "INSERT INTO children (child_id, case_ref, social_worker_id, iro_id) VALUES "
            "(%d, 'EXP-%d', 5, 10);\nINSERT INTO care_episodes (child_id, decom, rne, ls) "
            "VALUES (%d, '2026-06-01', 'S', 'C2');\n" % (i, i, i) for i in range(2, 73))
        rp.make_store(case_store, sql)
        cls.write_config(case_store)
        cls.once("2026-12-11T09:00:00")

    def test_unknown_rule(self):
        proc = self.explain("cic-first-reveiw", "EXP-XMAS", "2027-01-08T09:00:00", code=1)
        self.assertEqual(proc.stdout, "")
        self.assertIn('there is no rule "cic-first-reveiw"', proc.stderr)
        self.assertIn('did you mean "cic-first-review"?', proc.stderr)
        self.assertIn("The rules are:", proc.stderr)
        for rule in ("cic-later-review", "practice-resolution-cafcass", "iro-caseload"):
            self.assertIn(rule, proc.stderr)
        proc = self.explain("zzz", "EXP-XMAS", "2027-01-08T09:00:00", code=1)
        self.assertNotIn("did you mean", proc.stderr)
        self.assertIn("The rules are:", proc.stderr)

    def test_unknown_case(self):
        proc = self.explain("cic-first-review", "EXP-NOBODY", "2027-01-08T09:00:00", code=1)
        self.assertIn('No row of this rule has case "EXP-NOBODY" now', proc.stdout)
        self.assertIn("The state store has nothing recorded for it under this rule.",
                      proc.stdout)
        # No other child's reference is offered.
        self.assertNotIn("EXP-XMAS", proc.stdout + proc.stderr)
        doc = json.loads(self.explain("cic-first-review", "EXP-NOBODY", "2027-01-08T09:00:00",
                                      "--json", code=1).stdout)
        self.assertEqual((doc["found"], doc["clocks"], doc["remembered"]), (False, [], []))

    def test_case_gone_but_remembered(self):
        # The practice alert was alerted on 11 Dec; asked under the overall rule's identity
        # it has a clock too. A case whose row has gone: the stage-2 rule never had it.
        proc = self.explain("practice-resolution-stage-2", "EXP-XMAS/PR-1",
                            "2026-12-16T09:00:00", code=1)
        self.assertIn("No row of this rule", proc.stdout)
        # Remembered: the stage 1 rule's clock, asked as of a day its row is gone (resolved).
        con = sqlite3.connect(os.path.join(self.tmp.name, "cases.db"))
        con.execute("UPDATE escalations SET resolved_on = '2026-12-15'")
        con.commit()
        con.close()
        try:
            proc = self.explain("practice-resolution-stage-1", "EXP-XMAS/PR-1",
                                "2026-12-16T09:00:00", code=1)
            self.assertIn("What the state store remembers of it:", proc.stdout)
            self.assertIn("Clock started Mon 7 Dec 2026:", proc.stdout)
            self.assertIn('"Reminder: team manager" (reminder):', proc.stdout)
            doc = json.loads(self.explain("practice-resolution-stage-1", "EXP-XMAS/PR-1",
                                          "2026-12-16T09:00:00", "--json", code=1).stdout)
            self.assertEqual([m["start"] for m in doc["remembered"]], ["2026-12-07"])
            self.assertEqual([a["stage"] for a in doc["remembered"][0]["alerts"]], ["reminder"])
        finally:
            con = sqlite3.connect(os.path.join(self.tmp.name, "cases.db"))
            con.execute("UPDATE escalations SET resolved_on = NULL")
            con.commit()
            con.close()

    def test_bad_now(self):
        proc = self.explain("cic-first-review", "EXP-XMAS", "2027-13-45", code=2)
        self.assertIn("is not a time", proc.stderr)

    def test_threshold_key(self):
        # IRO 1 holds one child, well within 70: nothing to alert.
        out = self.explain("iro-caseload", rp.IRO, "2026-12-11T09:00:00").stdout
        self.assertIn("a threshold rule: it alerts when a key's value goes above 70", out)
        self.assertIn("Value: 1, within the limit of 70.", out)
        self.assertIn("Next:  nothing: an alert goes when it goes above 70.", out)
        # IRO 2 holds 71: alerted to the IRO service manager by the pass in setUpClass.
        out = self.explain("iro-caseload", rp.IRO2, "2026-12-11T09:00:00").stdout
        self.assertIn("Value: 71, above the limit of 70.", out)
        self.assertIn("Recorded above the limit since ", out)
        self.assertIn("Next:  no new alert while it stays above 70", out)
        self.assertIn('key "%s", value "71"' % rp.IRO2, out)
        self.assertRegex(out, r"%s: sent" % rp.IROSM.replace(".", r"\."))
        doc = json.loads(self.explain("iro-caseload", rp.IRO2, "2026-12-11T09:00:00",
                                      "--json").stdout)
        clock = doc["clocks"][0]
        self.assertEqual((clock["value"], clock["over"]), (71, True))
        self.assertEqual(doc["rule"]["kind"], "threshold")
        self.assertEqual([(a["stage"], [d["recipient"] for d in a["deliveries"]])
                          for a in clock["recorded"]["alerts"]], [("above", [rp.IROSM])])


class TestDemoStore(ExplainCase):
    TODAY = "2026-11-20"

    @classmethod
    def setUpClass(cls):
        cls.start_sink()
        cls.tmp = tempfile.TemporaryDirectory(prefix="escalator-explain-demo-")
        case_store = os.path.join(cls.tmp.name, "cases.db")
        proc = rp.run([rp.PYTHON, rp.GENCASES, "--out", case_store, "--children", "300",
                       "--seed", "1", "--today", cls.TODAY], timeout=300)
        if proc.returncode != 0:
            raise AssertionError("gencases failed" + rp.describe(proc))
        cls.write_config(case_store)
        cls.alerts = cls.once(cls.TODAY + "T08:00:00")

    def test_one_clock_of_every_rule(self):
        now = self.TODAY + "T09:00:00"
        for rule in rp.STAGES:
            with self.subTest(rule=rule):
                a = next(a for a in self.alerts if a["rule"] == rule)
                proc = self.explain(rule, a["case"], now)
                self.assertEqual(proc.stderr, "", rp.describe(proc))
                out = proc.stdout
                self.assertIn("Case:  " + a["case"], out)
                self.assertRegex(out, r"Clock started \w{3} \d+ \w{3} \d{4}: due ")
                self.assertIn("Due date: ", out)
                doc = json.loads(self.explain(rule, a["case"], now, "--json").stdout)
                clock = next(c for c in doc["clocks"]
                             if c["recorded"]["alerts"] and c["due"] == a["due"])
                stage = next(s for s in clock["stages"] if s["name"] == a["stage"])
                self.assertEqual(stage["state"], "alerted")
                self.assertEqual(stage["fires"], a["fires"][:16])
                alert = next(x for x in clock["recorded"]["alerts"] if x["stage"] == a["stage"])
                self.assertEqual(sorted(d["recipient"] for d in alert["deliveries"]
                                        if d["copied_in"] is None), sorted(a["recipients"]))
                # Never a URL or a key, never a column the rule does not list.
                self.assertNotIn("://", out)
                self.assertEqual(set(clock["row"]),
                                 {"case_ref", "start"} | set(doc["rule"]["fields"]))


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
