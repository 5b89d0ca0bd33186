#!/usr/bin/python3
"""Integration test of issue 12 points 1 and 2: recipients stay inside allowed_domains, and no
alert is dropped in silence.

Run:  /usr/bin/python3 tests/integration/test_recipients.py --escalatord /path/to/escalatord [-v]

The real escalatord (--once and --check) against the real SMTP sink on 127.0.0.1
(tests/harness).  The configuration allows council.example only and names an admin contact.

  test_undeliverable_then_corrected  a row whose every address is missing, invalid or outside
      allowed_domains (jane.smith@gmial.com, victim%evil.example@council.example, a@[10.0.0.1],
      x@y, empty): nobody outside is mailed; the admin gets one notice naming the rule, case,
      stage and each column with its domain (never the address); the stage is not recorded;
      a second run does not tell the admin again; the corrected row (the case store rewritten,
      as the nightly extract does) gets the person the stage.
  test_refused_550_told              SMTP 550 for a manager who has left: the delivery fails for
      good and the admin is told (the domain and the server's reason, not the address).
  test_check_contact_outside         --check fails with file:line for a contact outside
      allowed_domains; without allowed_domains and admin it warns.
"""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402

ADMIN = "it.admin@council.example"
FROM = "escalator@council.example"
RULE = "cic-review"
BAD = ("jane.smith@gmial.com", "victim%evil.example@council.example", "a@[10.0.0.1]", "x@y", "")
NAMES = ("social_worker", "team_manager", "iro", "manager", "deputy")
# Far enough back that the stage has fired whatever today is.
START = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()

RULES = """\
rules = ( {
  id = "%s";
  title = "Child in Care review";
  query = "SELECT case_ref, start, %s FROM cases ORDER BY case_ref";
  due = "1 day";
  stages = ( { name = "overdue"; at = "0 days"; notify = [ %s ]; } );
} );
""" % (RULE, ", ".join(n + "_email" for n in NAMES), ", ".join('"%s"' % n for n in NAMES))


class TestRecipients(hd.DaemonCase):
    TMP_PREFIX = "escrcpt-"
    CASE_TABLE = "cases"
    CASE_COLUMNS = ("case_ref", "start") + tuple(n + "_email" for n in NAMES)

    def write_config(self, smtp, allowed='[ "council.example" ]', admin="escalator_admin",
                     contacts=""):
        # digest = "off" (last, so that the line numbers --check names stay put): these tests
        # are about single deliveries (each alert's delivery refused, failed or sent, and the
        # admin's notice of it); digests: tests/integration/test_digests.py.
        text = self.TREE_CONFIG + """\
timezone = "Europe/London";
send_time = "00:00";
connect_timeout = 3;
delivery_timeout = 10;
%s%s
contacts = {
  escalator_admin = { email = "%s"; };
%s};
smtp = {
  url = "smtp://127.0.0.1:%d";
  from = "%s";
  starttls = "opportunistic";
};
digest = "off";
""" % ("allowed_domains = %s;\n" % allowed if allowed else "",
       'admin = "%s";' % admin if admin else "", ADMIN, contacts, smtp.port, FROM)
        self.write_config_text(text)
        self.write_rules(RULES)

    def once(self):
        p = self.run_escalatord(["--once"], timeout=30)
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, err)
        for m in hd.SANITIZER_MARKERS:
            self.assertNotIn(m, p.stderr, err)
        return err

    def stages(self, case_ref):
        return self.state_query("SELECT stage, status FROM clock_stage WHERE rule = ? AND "
                                "case_ref = ?", (RULE, case_ref))

    def test_undeliverable_then_corrected(self):
        smtp = self.smtp_sink()
        self.write_config(smtp)
        self.make_case_store([("C1", START) + BAD])
        err = self.once()
        msgs = smtp.messages
        rcpts = sorted(r for m in msgs for r in m.rcpt_tos)
        self.assertEqual(rcpts, [ADMIN], "someone other than the admin was mailed:\n" + err)
        notice = msgs[0]
        text = notice.subject + "\n" + notice.body_text()
        for want in (RULE, "C1", "overdue", "gmial.com", "[10.0.0.1]", '"y"',
                     "column social_worker_email", "column deputy_email: empty",
                     "not in allowed_domains", "not an email address", "not marked as delivered"):
            self.assertIn(want, text)
        for address in BAD[:4]:
            self.assertNotIn(address, text, "an address in full in the admin's notice")
            self.assertNotIn(address, err, "an address in full in the log")
        self.assertNotIn("victim", text)
        self.assertNotIn("jane.smith", text)
        self.assertEqual(self.stages("C1"), [], "the stage was recorded as alerted")
        self.assertEqual(self.state_query(
            "SELECT count(*) FROM delivery WHERE recipient NOT LIKE '%@council.example'")[0][0],
            0)

        # Another pass: still owed, the admin not told twice.
        self.once()
        self.assertEqual(len(smtp.messages), 1)
        self.assertEqual(self.stages("C1"), [])

        # The nightly extract corrects the row: the person gets the stage.
        self.make_case_store([("C1", START, "jane.smith@council.example", "", "", "", "")])
        self.once()
        msgs = smtp.messages
        self.assertEqual(len(msgs), 2, [m.rcpt_tos for m in msgs])
        self.assertEqual(msgs[1].rcpt_tos, ["jane.smith@council.example"])
        self.assertIn("C1", msgs[1].subject + msgs[1].body_text())
        self.assertEqual(self.stages("C1"), [("overdue", "alerted")])
        hd.report("recipients_undeliverable", outside_mailed=0, admin_notices=1,
                  person_mailed_after_correction=1)

    def test_refused_550_told(self):
        smtp = self.smtp_sink()
        smtp.set_fail_rcpt(550, "5.1.1 <left@council.example>: Recipient address rejected: "
                           "User unknown in local recipient table",
                           address="left@council.example")
        self.write_config(smtp)
        self.make_case_store([("C2", START, "left@council.example", "", "", "", "")])
        err = self.once()
        ds = self.state_query("SELECT d.status, d.last_error FROM delivery d JOIN alert a ON "
                              "a.id = d.alert_id WHERE a.rule = ?", (RULE,))
        self.assertEqual(len(ds), 1, err)
        self.assertEqual(ds[0][0], "failed", err)
        msgs = smtp.messages
        self.assertEqual([m.rcpt_tos for m in msgs], [[ADMIN]], err)
        text = msgs[0].subject + "\n" + msgs[0].body_text()
        for want in ("Delivery failed", RULE, "C2", "overdue", "email at council.example",
                     "550", "User unknown"):
            self.assertIn(want, text)
        self.assertNotIn("left@", text, "the address in full in the admin's notice")
        # Told once: another run sends nothing more.
        self.once()
        self.assertEqual(len(smtp.messages), 1)

    def test_check_contact_outside(self):
        smtp = self.smtp_sink()
        self.make_case_store([])
        self.write_config(smtp, contacts='  partner = { email = "someone@partner.example"; };\n')
        p = self.run_escalatord(["--check"])
        err = p.stderr.decode("utf-8", "replace")
        self.assertNotEqual(p.returncode, 0, err)
        # escalatord.conf line 13: the partner contact.
        self.assertRegex(err, r"escalatord\.conf:13: .*contact \"partner\".*not in "
                              r"allowed_domains")
        self.write_config(smtp, allowed=None, admin=None)
        p = self.run_escalatord(["--check"])
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("allowed_domains is not set", err)
        self.assertIn("admin is not set", err)


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
