#!/usr/bin/python3
"""Integration test of issue 13: one message per person per sending time.

Run:  /usr/bin/python3 tests/integration/test_digests.py --escalatord /path/to/escalatord [-v]

The real escalatord against the real SMTP and HTTP sinks on 127.0.0.1 (tests/harness); every
email is read as a mail client reads it (harness/mail_check.py: email.message_from_bytes with
the default policy, both bodies, the HTML parsed).

  test_first_start_one_per_person  the running daemon's first pass: each person gets ONE
      multipart/alternative message (plain text and an HTML document with no remote resources,
      links only to the case URLs), Reply-To set, X-Escalator-Digest the number of items the
      state store bundled for them, each of their cases in it, the copied recipient under
      "Escalated past you" with why; an alert owed later waits ('held') for the next digest time.
  test_done_since_last_message     a clock alerted, then gone from the case store: recorded in
      closed_clock (closed on, days late), and only those told about it read it under "Done
      since your last message".
  test_immediate_and_off           a stage with immediate = true and a contact with digest =
      "off" go on their own, as single alerts, beside the digest.
  test_webhook_digest_json         a webhook contact's digest is one signed POST: "digest": true,
      its contact, and "alerts" whose elements are the objects the same alerts carry one by one.
  test_answer_links_and_answers    with response_url set: each alert of a digest has its own
      "Answer this alert" link (text, HTML, webhook "response_url"); an answer recorded for a
      clock shows in its next stage's email (with the note), webhook and --once "responses".
  test_chat_and_notify_digests     Teams, Slack and GOV.UK Notify contacts (on an HTTP sink): one
      request each holding every case, case links, Notify's digest_template with its body.
  test_parts                       a digest past the channel's limit goes in numbered parts, each
      its own delivery, the escalation in part 1.
  test_demo_council                the demo council's first start (tests/gen/gencases.py, 300
      children, the shipped rule pack): at most one message per recipient; the counts before
      (one per alert) and after are reported.
"""

import datetime
import hashlib
import hmac
import json
import os
import re
import sqlite3
import subprocess
import sys
import urllib.parse
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import answers  # noqa: E402
from harness import daemon as hd  # noqa: E402
from harness import mail_check  # noqa: E402

FROM = "escalator@council.example"
REPLY = "iro.service@council.example"
CASE_URL = "https://cms.council.example/child/"
TODAY = datetime.date.today()


def ago(days):
    return (TODAY - datetime.timedelta(days=days)).isoformat()


# Calendar days, so that the test's arithmetic does not depend on bank holidays.
RULES = """\
rules = ( {
  id = "cic-review";
  title = "Child in Care review";
  query = "SELECT case_ref, start, iro_email, tm_email, sm_email FROM cases ORDER BY case_ref";
  due = "10 days";
  working_days_only = false;
  stages = (
    { name = "reminder"; at = "-3 days"; label = "Reminder: IRO"; notify = [ "iro" ]; },
    { name = "overdue"; at = "1 day"; label = "Overdue: team manager"; notify = [ "tm", "iro" ]; },
    { name = "escalated"; at = "5 days"; label = "Escalated: service manager";
      notify = [ "sm" ]; %s}
  );
} );
"""

IRO, TM, SM = "iro@council.example", "tm@council.example", "sm@council.example"


class TestDigests(hd.DaemonCase):
    TMP_PREFIX = "escdigest-"
    CASE_COLUMNS = ("case_ref", "start", "iro_email", "tm_email", "sm_email")

    def write_config(self, smtp=None, http=None, digest="daily", contacts="", extra="",
                     escalated_extra=""):
        text = self.TREE_CONFIG + """\
timezone = "Europe/London";
send_time = "00:00";
poll_interval = 1;
connect_timeout = 3;
delivery_timeout = 10;
retry_min = 1;
retry_max = 2;
allowed_domains = [ "council.example" ];
digest = "%s";
case_url = "%s{{case}}";
%s
contacts = {
%s};
""" % (digest, CASE_URL, extra, contacts)
        if smtp is not None:
            text += """smtp = {
  url = "smtp://127.0.0.1:%d";
  from = "%s";
  reply_to = "%s";
  starttls = "opportunistic";
};
""" % (smtp.port, FROM, REPLY)
        self.write_config_text(text)
        self.write_rules(RULES % escalated_extra)

    def once(self, *args):
        p = self.run_escalatord(["--once"] + list(args), timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, err)
        for m in hd.SANITIZER_MARKERS:
            self.assertNotIn(m, p.stderr, err)
        return [json.loads(line) for line in p.stdout.decode().splitlines() if line], err

    def read(self, msg, cases=()):
        """A message as a mail client reads it; fails on any broken rule of mail_check."""
        # A case reference is one path segment of the link, URL-encoded ("A/1" -> "A%2F1").
        out = mail_check.check_message(msg.data, [CASE_URL + urllib.parse.quote(c, safe="")
                                                  for c in cases])
        self.assertEqual(out["problems"], [], "%s\n%s" % (out["subject"], out["plain"]))
        return out

    def items_of(self, uid):
        """(recipient, case, copied) of every item the state store bundled into digest uid."""
        did = int(uid.rsplit("-", 1)[1])
        return self.state_query(
            "SELECT m.recipient, coalesce(a.case_ref, c.case_ref), m.copied FROM delivery m "
            "LEFT JOIN alert a ON a.id = m.alert_id LEFT JOIN closed_clock c ON c.id = "
            "m.closed_id WHERE m.digest_id = ? ORDER BY m.id", (did,))

    # -------------------------------------------------------------------------------------------
    def test_first_start_one_per_person(self):
        smtp = self.smtp_sink()
        self.write_config(smtp)
        self.make_case_store([
            # Reminder reached (due in 2 days): IRO only.
            ("R1", ago(8), IRO, TM, SM),
            # Overdue (due 2 days ago): team manager and IRO.
            ("O1", ago(12), IRO, TM, SM),
            # Past escalated: the service manager; the skipped stages' IRO and TM copied in.
            ("E1", ago(20), IRO, TM, SM),
            # Another IRO's reminder.
            ("R2", ago(8), "iro2@council.example", TM, SM),
        ])
        d = self.start_daemon()
        d.wait_log(r"digests=\d+", timeout=20)
        people = {IRO, TM, SM, "iro2@council.example"}
        smtp.wait_for(len(people), timeout=20)
        d.wait_log(r"status=sent", timeout=10, count=len(people))
        msgs = smtp.messages
        self.assertEqual(sorted(r for m in msgs for r in m.rcpt_tos), sorted(people),
                         "not exactly one message per person")
        by = {m.rcpt_tos[0]: m for m in msgs}
        cases_for = {IRO: ("R1", "O1", "E1"), TM: ("O1", "E1"), SM: ("E1",),
                     "iro2@council.example": ("R2",)}
        for who, msg in by.items():
            out = self.read(msg, cases_for[who])
            self.assertEqual(out["reply_to"], REPLY)
            items = self.items_of(out["x_delivery"])
            self.assertEqual(int(out["x_digest"]), len(items))
            self.assertEqual(sorted(c for _, c, _ in items), sorted(cases_for[who]), who)
            self.assertTrue(all(r == who for r, _, _ in items))
            self.assertIsNone(out["x_case"], "a digest names no single case in its headers")
            for case in cases_for[who]:
                self.assertIn(case, out["plain"])
                self.assertIn(CASE_URL + case, out["links"])
        iro = self.read(by[IRO], cases_for[IRO])
        # Most urgent first: E1 (copied in) is after the IRO's own overdue and reminder.
        self.assertLess(iro["plain"].index("Overdue"), iro["plain"].index("Coming due"))
        self.assertIn("Escalated past you", iro["plain"])
        self.assertRegex(iro["plain"], r"you were not told at .Overdue: team manager.")
        self.assertIn("escalator: 1 overdue, 1 coming due, 1 escalated past you",
                      iro["subject"])
        sm = self.read(by[SM], cases_for[SM])
        self.assertIn("Escalated to you", sm["plain"])
        self.assertEqual(self.state_query(
            "SELECT group_concat(recipient || ':' || copied, ' ') FROM (SELECT * FROM delivery "
            "WHERE copied IS NOT NULL ORDER BY recipient)")[0][0],
            "%s:Overdue: team manager %s:Overdue: team manager" % (IRO, TM))

        # Owed after the first pass: held for the next digest time (send_time 00:00), not sent.
        self.insert_cases(("O2", ago(12), IRO, TM, SM))
        rows = self.wait_for(lambda: self.state_query(
            "SELECT d.status, d.next_attempt FROM delivery d JOIN alert a ON a.id = d.alert_id "
            "WHERE a.case_ref = 'O2'"), timeout=15, what="O2 recorded")
        midnight = datetime.datetime.combine(TODAY + datetime.timedelta(days=1),
                                             datetime.time(0, 0), ZoneInfo("Europe/London"))
        self.assertEqual({r[0] for r in rows}, {"held"})
        self.assertEqual({r[1] for r in rows}, {int(midnight.timestamp())})
        d.wait_log(r"evaluated why=", timeout=10, count=2)
        self.assertEqual(len(smtp.messages), len(people), "a held alert was sent early")
        d.terminate()
        hd.report("digest_first_start", people=len(people), messages=len(msgs),
                  alerts=self.state_query("SELECT count(*) FROM alert")[0][0])

    # -------------------------------------------------------------------------------------------
    def test_done_since_last_message(self):
        smtp = self.smtp_sink()
        self.write_config(smtp)
        self.make_case_store([("O1", ago(12), IRO, TM, SM), ("O2", ago(13), IRO, TM, SM),
                              ("R1", ago(8), "iro2@council.example", TM, SM)])
        self.once()
        first = len(smtp.messages)
        self.assertEqual(first, 3)  # IRO, TM (O1, O2) and iro2 (R1)
        # The review of O1 was held: the nightly extract no longer has it.
        self.make_case_store([("O2", ago(13), IRO, TM, SM),
                              ("R1", ago(8), "iro2@council.example", TM, SM)])
        _, err = self.once()
        self.assertIn("1 alerted clock no longer in the case store", err)
        closed = self.state_query("SELECT case_ref, due, closed_on, days_late, last_stage FROM "
                                  "closed_clock")
        due = (TODAY - datetime.timedelta(days=2)).isoformat()
        self.assertEqual(closed, [("O1", due, TODAY.isoformat(), closed[0][3], "overdue")])
        self.assertGreaterEqual(closed[0][3], 1)
        msgs = smtp.messages[first:]
        self.assertEqual(sorted(r for m in msgs for r in m.rcpt_tos), [IRO, TM],
                         "only those told about O1 hear it is done")
        for m in msgs:
            out = self.read(m, ["O1"])
            self.assertIn("Done since your last message", out["plain"])
            self.assertIn("O1", out["plain"])
            self.assertNotIn("O2", out["plain"])
            self.assertIn("escalator: 1 done", out["subject"])
        # Recorded once: a third run changes nothing and sends nothing.
        self.once()
        self.assertEqual(len(smtp.messages), first + 2)
        self.assertEqual(self.state_query("SELECT count(*) FROM closed_clock")[0][0], 1)

    # -------------------------------------------------------------------------------------------
    def test_immediate_and_off(self):
        smtp = self.smtp_sink()
        self.write_config(smtp, escalated_extra="immediate = true; ",
                          contacts='  desk = { email = "desk@council.example"; digest = "off"; };\n')
        self.write_rules((RULES % "immediate = true; ").replace('notify = [ "iro" ]; }',
                                                                 'notify = [ "iro", "desk" ]; }'))
        self.make_case_store([("E1", ago(20), IRO, TM, SM), ("R1", ago(8), IRO, TM, SM)])
        self.once()
        msgs = smtp.messages
        singles = [m for m in msgs if m.message["X-Escalator-Digest"] is None]
        digests = [m for m in msgs if m.message["X-Escalator-Digest"] is not None]
        # E1 escalated (immediate): SM alone, and the copied IRO and TM also at once, alone.
        # R1's reminder: the IRO's digest; the desk (digest off) alone.
        # (The desk is told at the reminder, so it is copied in on E1 too.)
        self.assertEqual(sorted((m.rcpt_tos[0], m.message["X-Escalator-Case"]) for m in singles),
                         [("desk@council.example", "E1"), ("desk@council.example", "R1"),
                          (IRO, "E1"), (SM, "E1"), (TM, "E1")])
        self.assertEqual([m.rcpt_tos for m in digests], [[IRO]])
        self.assertEqual([c for _, c, _ in self.items_of(
            digests[0].message["X-Escalator-Delivery"])], ["R1"])
        for m in singles:
            out = self.read(m, ["E1", "R1"])
            self.assertIn(out["x_case"], out["subject"])

    # -------------------------------------------------------------------------------------------
    def test_webhook_digest_json(self):
        http = self.http_sink()
        secret = self.write_secret("hook-secret", "s3cret-hook-key")
        contacts = '  hook = { webhook = "%s"; secret_file = "%s"; };\n' % (
            http.url_for("/hook"), secret)
        self.write_config(contacts=contacts)
        self.write_rules((RULES % "").replace('notify = [ "sm" ]', 'notify = [ "sm", "hook" ]')
                         .replace('notify = [ "tm", "iro" ]', 'notify = [ "tm", "iro", "hook" ]'))
        rows = [("O1", ago(12), IRO, TM, SM), ("E1", ago(20), IRO, TM, SM)]
        self.make_case_store(rows)
        self.once()
        reqs = http.wait_for(1, timeout=10)
        self.assertEqual(len(http.requests), 1, "more than one POST for one contact")
        r = reqs[0]
        ts = r.headers["X-Escalator-Timestamp"]
        want = hmac.new(b"s3cret-hook-key", ts.encode() + b"." + r.body, hashlib.sha256)
        self.assertEqual(r.headers["X-Escalator-Signature"], "sha256=" + want.hexdigest())
        body = r.json()
        self.assertIs(body["digest"], True)
        self.assertEqual(body["contact"], "hook")
        self.assertEqual((body["part"], body["parts"]), (1, 1))
        self.assertEqual(body["delivery"], r.headers["X-Escalator-Delivery"])
        self.assertEqual(sorted((a["case"], a["stage"]) for a in body["alerts"]),
                         [("E1", "escalated"), ("O1", "overdue")])
        self.assertEqual(body.get("closed", []), [])
        # The same alerts one by one (digest = "off"): the same objects, but their ids.
        http2 = self.http_sink()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.state + suffix):
                os.unlink(self.state + suffix)
        self.write_config(digest="off", contacts='  hook = { webhook = "%s"; secret_file = "%s"; '
                          '};\n' % (http2.url_for("/hook"), secret))
        self.write_rules((RULES % "").replace('notify = [ "sm" ]', 'notify = [ "sm", "hook" ]')
                         .replace('notify = [ "tm", "iro" ]', 'notify = [ "tm", "iro", "hook" ]'))
        self.once()
        singles = http2.wait_for(2, timeout=10)

        def strip(o):
            # Their ids and the times in their histories differ between the two runs.
            o = {k: v for k, v in o.items() if k != "delivery"}
            o["history"] = [{k: v for k, v in h.items() if k != "when"}
                            for h in o.get("history", [])]
            return json.dumps(o, sort_keys=True)
        self.assertEqual(sorted(strip(a) for a in body["alerts"]),
                         sorted(strip(s.json()) for s in singles))
        # First alerts of their clocks: no earlier stage to show.
        self.assertEqual([a["history"] for a in body["alerts"]], [[], []])

    # -------------------------------------------------------------------------------------------
    def test_answer_links_and_answers(self):
        """With response_url set, every alert of a digest carries its own answer link (email
        text and HTML, webhook "response_url"); an answer recorded for the clock shows in the
        next stage's message (email: with its note; webhook and --once: "responses")."""
        smtp, http = self.smtp_sink(), self.http_sink()
        key = self.write_secret("response.key", "k" * 40)
        base = "https://escalator.council.example"
        port = hd.free_port()  # a port nothing listens on, should a listener start
        self.write_config(smtp, extra=answers.listen_conf(port, base + "/", key),
                          contacts='  hook = { webhook = "%s"; };\n' % http.url_for("/hook"))
        self.write_rules((RULES % "").replace('notify = [ "sm" ]', 'notify = [ "sm", "hook" ]')
                         .replace('notify = [ "tm", "iro" ]', 'notify = [ "tm", "iro", "hook" ]'))
        # O1: overdue now (due 2 days ago), escalated in 3 days; O2 the same, never answered.
        self.make_case_store([("O1", ago(12), IRO, TM, SM), ("O2", ago(12), IRO, TM, SM)])
        link = re.compile(re.escape(base) + r"/r/[A-Za-z0-9_-]{44}")
        self.once()
        smtp.wait_for(2, timeout=20)
        hook = http.wait_for(1, timeout=10)[0].json()
        for msg in smtp.messages:
            plain = msg.message.get_body(preferencelist=("plain",)).get_content()
            plain = plain.replace("\r\n", "\n")
            links = link.findall(plain)
            self.assertEqual(len(links), 2, plain)  # one per alert, each its own
            self.assertEqual(len(set(links)), 2, plain)
            for case in ("O1", "O2"):
                self.assertRegex(plain, r"\* %s: [^\n]*\n(  [^\n]*\n)*  Answer this alert: %s\n"
                                 % (case, link.pattern))
            out = mail_check.check_message(msg.data, [CASE_URL + "O1", CASE_URL + "O2"] + links)
            self.assertEqual(out["problems"], [], plain)
            self.assertEqual(out["links"], [CASE_URL + "O1", links[0], CASE_URL + "O2", links[1]])
            self.assertNotIn("Answers so far", plain)
        self.assertEqual([a["case"] for a in hook["alerts"]], ["O1", "O2"])
        for a in hook["alerts"]:
            self.assertRegex(a["response_url"], "^" + link.pattern + "$")
            self.assertNotIn("responses", a)

        # The team manager answers O1 (as the listener records it); its escalation says so.
        (did, alert_id, start, label), = self.state_query(
            "SELECT d.id, a.id, a.start, a.label FROM delivery d JOIN delivery m ON m.digest_id "
            "= d.id JOIN alert a ON a.id = m.alert_id WHERE d.recipient = ? AND a.case_ref = "
            "'O1'", (TM,))
        db = sqlite3.connect(self.state)
        db.execute("INSERT INTO response (delivery_id, alert_id, rule, case_ref, start, stage, "
                   "label, recipient, name, kind, agreed_on, note, answered_at) VALUES (?, ?, "
                   "'cic-review', 'O1', ?, 'overdue', ?, ?, 'Jo Bloggs', 'agreed', ?, "
                   "'Review booked with the IRO', '2026-12-03T11:00:00Z')",
                   (did, alert_id, start, label, TM, ago(-7)))
        db.commit()
        db.close()
        smtp.clear()
        http.clear()
        later = (TODAY + datetime.timedelta(days=4)).isoformat() + "T00:00:00"
        alerts, _ = self.once("--now", later)
        o1 = [a for a in alerts if a["case"] == "O1"]
        self.assertEqual([a["stage"] for a in o1], ["escalated"])
        self.assertEqual(o1[0]["responses"], [{
            "who": "Jo Bloggs", "stage": "Overdue: team manager", "kind": "agreed",
            "agreed_on": ago(-7), "reason": None, "note": "Review booked with the IRO",
            "answered_at": "2026-12-03T11:00:00Z", "amended": False}])
        self.assertNotIn("responses", [a for a in alerts if a["case"] == "O2"][0])
        smtp.wait_for(1, timeout=20)
        plain = smtp.messages[0].message.get_body(preferencelist=("plain",)).get_content()
        plain = plain.replace("\r\n", "\n")
        self.assertIn("Answers so far:\n  - Jo Bloggs answered on 3 Dec 2026 (Overdue: team "
                      "manager): action agreed for", plain)
        self.assertIn("Note: Review booked with the IRO\n", plain)
        hook = http.wait_for(1, timeout=10)[0].json()
        o1 = [a for a in hook["alerts"] if a["case"] == "O1"][0]
        self.assertEqual(o1["responses"][0]["note"], "Review booked with the IRO")

    # -------------------------------------------------------------------------------------------
    def test_chat_and_notify_digests(self):
        notify_key = ("escalator_live-26785a09-ab16-4eb0-8407-a37497a57506-"
                      "3d844edf-8d35-48ac-975b-e847b4f122b0")
        digest_template = "0b6f3a2e-98c7-4a8e-b3e1-3b5c4c1a9d10"

        def respond(req):
            if req.url_path == "/v2/notifications/email":
                return (201, {"Content-Type": "application/json"},
                        json.dumps({"id": "5f0d1b8e-0000-4000-8000-000000000001",
                                    "reference": req.json()["reference"]}))
            return (200, {"Content-Type": "text/plain"}, "ok")
        http = self.http_sink(responses=respond)
        self.write_secret("notify.key", notify_key)
        contacts = ('  managers = { teams = "%s"; };\n'
                    '  team = { slack = "%s"; };\n'
                    '  nm = { notify = { api_key_file = "notify.key"; template_id = '
                    '"f33517ff-2a88-4f6e-b855-c550268ce08a"; digest_template = "%s"; email = '
                    '"nm@council.example"; base_url = "%s"; }; };\n'
                    % (http.url_for("/teams"), http.url_for("/slack"), digest_template,
                       http.url))
        self.write_config(contacts=contacts)
        self.write_rules((RULES % "").replace('notify = [ "tm", "iro" ]',
                                              'notify = [ "managers", "team", "nm" ]'))
        self.make_case_store([("O1", ago(12), IRO, TM, SM), ("O2", ago(13), IRO, TM, SM),
                              ("O3", ago(14), IRO, TM, SM)])
        self.once()
        reqs = http.wait_for(3, timeout=10)
        self.assertEqual(sorted(r.url_path for r in http.requests),
                         ["/slack", "/teams", "/v2/notifications/email"],
                         "not one request per contact")
        by = {r.url_path: r for r in reqs}
        teams = json.dumps(by["/teams"].json())
        slack = by["/slack"].json()
        notify = by["/v2/notifications/email"].json()
        for case in ("O1", "O2", "O3"):
            self.assertIn(case, teams)
            self.assertIn(case, json.dumps(slack["blocks"]))
            self.assertIn(case, notify["personalisation"]["body"])
        self.assertIn("Overdue", teams)
        self.assertIn(CASE_URL + "O1", teams)
        self.assertLessEqual(len(slack["blocks"]), 50)
        self.assertIn("<%sO2|" % CASE_URL, json.dumps(slack["blocks"]).replace("\\u003c", "<"))
        self.assertEqual(notify["template_id"], digest_template)
        self.assertEqual(notify["email_address"], "nm@council.example")
        self.assertEqual(notify["personalisation"]["count"], "3")
        self.assertIn("overdue", notify["personalisation"]["subject"])
        self.assertEqual(notify["reference"], by["/v2/notifications/email"].headers.get(
            "X-Escalator-Delivery", notify["reference"]))

    # -------------------------------------------------------------------------------------------
    def test_parts(self):
        http = self.http_sink()
        self.write_config(contacts='  hook = { webhook = "%s"; };\n' % http.url_for("/hook"))
        self.write_rules((RULES % "").replace('notify = [ "sm" ]', 'notify = [ "hook" ]')
                         .replace('notify = [ "tm", "iro" ]', 'notify = [ "hook" ]')
                         .replace('notify = [ "iro" ]', 'notify = [ "hook" ]'))
        # 250 overdue clocks and one escalated: more than one webhook message holds.
        rows = [("O%03d" % i, ago(12), IRO, TM, SM) for i in range(250)]
        rows.append(("E1", ago(20), IRO, TM, SM))
        self.make_case_store(rows)
        self.once()
        n = self.state_query("SELECT count(*) FROM delivery WHERE alert_id IS NULL")[0][0]
        self.assertGreaterEqual(n, 2)
        reqs = http.wait_for(n, timeout=10)
        self.assertEqual(len(http.requests), n)
        parts = sorted((r.json() for r in reqs), key=lambda b: b["part"])
        self.assertEqual([(b["part"], b["parts"]) for b in parts],
                         [(i + 1, n) for i in range(n)])
        sizes = [len(b["alerts"]) for b in parts]
        self.assertEqual(sum(sizes), 251)
        self.assertEqual(len(set(sizes[:-1])), 1, "parts before the last are not full")
        self.assertLessEqual(sizes[-1], sizes[0])
        self.assertIn("E1", [a["case"] for a in parts[0]["alerts"]], "the escalation not first")
        self.assertEqual(len({b["delivery"] for b in parts}), n)
        self.assertEqual(len({a["case"] for b in parts for a in b["alerts"]}), 251)

    # -------------------------------------------------------------------------------------------
    def test_demo_council(self):
        smtp = self.smtp_sink()
        # As scripts/demo: stages fire at 08:00, so before then spread the cases around yesterday.
        now = datetime.datetime.now(ZoneInfo("Europe/London"))
        day = now.date() if now.hour >= 8 else now.date() - datetime.timedelta(days=1)
        today = day.isoformat()
        gen = subprocess.run([sys.executable, os.path.join(hd.SRCDIR, "tests", "gen",
                                                           "gencases.py"),
                              "--out", self.case_store, "--children", "300", "--seed", "1",
                              "--today", today], capture_output=True, timeout=120)
        self.assertEqual(gen.returncode, 0, gen.stderr.decode())
        pack = os.path.join(hd.SRCDIR, "etc", "rules.d")
        self.write_config_text("""\
case_store = "../data/cases.sqlite";
state = "../var/state.sqlite";
rules = "%s";
holidays = [ "holidays/england-and-wales.txt" ];
timezone = "Europe/London";
digest = "daily";
case_url = "%s{{case}}";
allowed_domains = [ "demo.council.example" ];
admin = "escalator_admin";
contacts = {
  iro_service = { email = "iro.service@demo.council.example"; };
  escalator_admin = { email = "escalator.admin@demo.council.example"; };
};
smtp = { url = "smtp://127.0.0.1:%d"; from = "%s"; starttls = "opportunistic"; };
""" % (pack, CASE_URL, smtp.port, FROM))
        # What the demo's first start sends.
        alerts, err = self.once()
        per_alert = self.state_query("SELECT count(*) FROM delivery WHERE alert_id IS NOT NULL "
                                     "AND copied IS NULL")[0][0]
        people = self.state_query("SELECT count(DISTINCT recipient) FROM delivery WHERE "
                                  "alert_id IS NOT NULL")[0][0]
        msgs = smtp.messages
        rcpts = [r for m in msgs for r in m.rcpt_tos]
        self.assertGreater(per_alert, 100, "the demo council owes too little to measure")
        self.assertEqual(len(rcpts), len(set(rcpts)), "someone got two messages")
        self.assertEqual(len(set(rcpts)), people)
        for m in msgs[:5]:
            self.read(m, [c for _, c, _ in self.items_of(m.message["X-Escalator-Delivery"])])
        hd.report("digest_demo_council", alerts=len(alerts), messages_before=per_alert,
                  messages_after=len(msgs), recipients=people)


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
