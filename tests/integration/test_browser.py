#!/usr/bin/python3
"""Integration test of issue 14 as people use it: an alert's answer link in a real browser.

Run:  /usr/bin/python3 tests/integration/test_browser.py --escalatord /path/to/escalatord [-v]

The real escalatord (listen on a free 127.0.0.1 port, response_url pointing at it, a 0600 key
file) delivers real alerts to the SMTP sink (tests/harness). The test reads each message as a mail
client does (harness/mail_check.py), takes the answer link out of it, and opens it in headless
Chromium (Debian's chromium + chromium-driver, driven by python3-selenium) at a phone's size
(390x844) and a desktop's (1280x900). Screenshots go to $ESCALATOR_SCREENSHOT_DIR (default: the
test's temporary directory, kept with --keep); their paths are printed.

  test_answer_in_browser   the case reference and the stage are on the page; the page loads
      nothing (no resource entries, no Content-Security-Policy report) and fits 320 pixels; a
      person picks "Action agreed", types a date and a note, sends; the page says the answer
      was recorded; the state store has it (and its audit row); on a desktop the answer is
      listed; five days on (escalatord --once --now) the next stage's email to the service
      manager carries "action agreed", the date and the note.
  test_refusals_in_browser  a tampered link, an expired link (minted with the key), and the
      form of one alert sent to another alert's link (same site, the other page's form token)
      each show a plain refusal page, with no form, and change nothing in the state store.
"""

import base64
import datetime
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import answers  # noqa: E402
from harness import daemon as hd  # noqa: E402
from harness import mail_check  # noqa: E402
from harness.answers import KEY, ago, today  # noqa: E402

TM, SM, TM2 = "tm@council.example", "sm@council.example", "tm2@council.example"
CHROMEDRIVER = "/usr/bin/chromedriver"
PHONE, DESKTOP = (390, 844), (1280, 900)

RULES = answers.practice_rules(expected="Agree the plan with the IRO")


class TestBrowser(hd.DaemonCase):
    TMP_PREFIX = "escbrowser-"
    CASE_COLUMNS = answers.CASE_COLUMNS

    def setUp(self):
        super().setUp()
        try:
            import selenium  # noqa: F401
        except ImportError:
            hd.skip_or_fail("python3-selenium is not installed")
        if not os.access(CHROMEDRIVER, os.X_OK) or shutil.which("chromium") is None:
            hd.skip_or_fail("chromium and chromium-driver are not installed")
        self.port = hd.free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.write_secret("response.key", KEY)
        self.shots = os.environ.get("ESCALATOR_SCREENSHOT_DIR") or os.path.join(self.tmp, "shots")
        os.makedirs(self.shots, exist_ok=True)
        self.drivers = []

    def tearDown(self):
        for d in self.drivers:
            try:
                d.quit()
            except Exception as e:  # keep tearing down
                print("warning: quitting chromedriver: %r" % e, file=sys.stderr)
        super().tearDown()

    # -- the browser ------------------------------------------------------------------------------
    def browser(self, size):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
        o = webdriver.ChromeOptions()
        o.binary_location = shutil.which("chromium")
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-gpu", "--lang=en-GB", "--hide-scrollbars",
                    "--window-size=%d,%d" % size, "--user-data-dir=" +
                    os.path.join(self.tmp, "chromium-%d" % len(self.drivers))):
            o.add_argument(arg)
        o.add_experimental_option("prefs", {"intl.accept_languages": "en-GB"})
        o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        d = webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)
        self.drivers.append(d)
        d.set_page_load_timeout(20)
        self.viewport(d, size)
        return d

    def viewport(self, d, size):
        """The page's viewport exactly size (CSS pixels); a phone's is a mobile one (the page's
        meta viewport applies, as on a phone)."""
        d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": size[0], "height": size[1], "deviceScaleFactor": 1,
            "mobile": size[0] < 800})

    def shot(self, d, name, full=False):
        """A screenshot in the screenshot directory: the viewport from the top of the page, or
        (full) the whole page."""
        path = os.path.join(self.shots, name + ".png")
        d.execute_script("window.scrollTo(0, 0)")
        if full:
            size = d.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
            png = d.execute_cdp_cmd("Page.captureScreenshot", {
                "format": "png", "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"],
                         "scale": 1}})["data"]
            with open(path, "wb") as f:
                f.write(base64.b64decode(png))
        else:
            d.save_screenshot(path)
        print("screenshot: %s" % path, file=sys.stderr)
        return path

    def wait(self, d, predicate, what, timeout=15):
        from selenium.webdriver.support.ui import WebDriverWait
        return WebDriverWait(d, timeout).until(lambda drv: predicate(drv), what)

    def text(self, d):
        from selenium.webdriver.common.by import By
        return d.find_element(By.TAG_NAME, "body").text

    def assert_self_contained(self, d):
        """The page loaded nothing and the browser reported no policy violation."""
        self.assertEqual(d.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"), [])
        # (A refusal's own status, 403 or 410, is reported too: that is not a complaint.)
        bad = [e["message"] for e in d.get_log("browser")
               if "Content Security Policy" in e["message"] or "Refused to" in e["message"]
               or (e["level"] == "SEVERE" and "the server responded with a status" not in
                   e["message"])]
        self.assertEqual(bad, [], "the browser complained")

    def assert_refusal(self, d, title):
        from selenium.webdriver.common.by import By
        self.assertEqual(d.find_element(By.TAG_NAME, "h1").text, title)
        self.assertEqual(d.find_elements(By.TAG_NAME, "form"), [], "a refusal has no form")
        self.assertEqual(d.find_elements(By.TAG_NAME, "input"), [])
        body = self.text(d)
        self.assertIn("latest message about this case", body)
        for case in ("C1", "C2"):
            self.assertNotIn(case, body, "a refusal shows no case")

    # -- escalatord -------------------------------------------------------------------------------
    def start(self, smtp, cases):
        return answers.start(self, smtp, cases, self.port, self.base, rules=RULES)

    def link_in(self, msg):
        """The answer link of msg, as a mail client shows it (plain text and HTML agree)."""
        out = mail_check.check_message(msg.data, [])
        tokens = answers.links_in(msg.data, self.base)
        if not tokens:
            hd.skip_or_fail("the message carries no answer link (the notifiers' branch, "
                            "ans-notifiers, writes it)")
        self.assertEqual(len(tokens), 1, tokens)
        self.assertIn(self.base + "/r/" + tokens[0], out["links"], "no <a href> in the HTML")
        return self.base + "/r/" + tokens[0]

    def delivery_of(self, case, recipient):
        rows = self.state_query("SELECT d.id FROM delivery d JOIN alert a ON a.id = d.alert_id "
                                "WHERE a.case_ref = ? AND d.recipient = ?", (case, recipient))
        self.assertEqual(len(rows), 1, rows)
        return rows[0][0]

    def records(self):
        """What an answer could change: the answers and the audit trail."""
        return (self.state_query("SELECT * FROM response ORDER BY id"),
                self.state_query("SELECT * FROM audit ORDER BY id"))

    # ---------------------------------------------------------------------------------------------
    def test_answer_in_browser(self):
        from selenium.webdriver.common.by import By
        smtp = self.smtp_sink()
        dm = self.start(smtp, [("C1", ago(5), TM, SM)])
        msg = smtp.messages[0]
        self.assertEqual(msg.rcpt_tos, [TM])
        link = self.link_in(msg)
        agreed = today() + datetime.timedelta(days=14)

        # A team manager opens it on a phone.
        b = self.browser(PHONE)
        b.get(link)
        h1 = b.find_element(By.TAG_NAME, "h1").text
        self.assertIn("C1", h1)
        self.assertIn("Stage 1: team manager", h1)
        self.assertIn("Practice alert", b.title + h1)
        body = self.text(b)
        self.assertIn("Agree the plan with the IRO", body)
        self.assertIn("No one has answered yet.", body)
        self.assert_self_contained(b)
        # Nothing wider than the screen, even at 320 pixels.
        self.viewport(b, (320, 640))
        self.assertLessEqual(b.execute_script("return document.documentElement.scrollWidth"),
                             320)
        self.viewport(b, PHONE)

        # "Action agreed", a date, a note, a name; as a person does it: labels and keys.
        b.find_element(By.CSS_SELECTOR, "label[for=kind-agreed]").click()
        self.assertTrue(b.find_element(By.ID, "kind-agreed").is_selected())
        date = b.find_element(By.ID, "agreed_on")
        self.assertEqual(date.get_attribute("min"), today().isoformat())
        # Typed as the browser's date field lays it out (its locale's order of day, month and
        # year), from its first part (a click would land in the middle, or on the picker).
        order = b.execute_script(
            "return new Intl.DateTimeFormat().formatToParts(new Date(2026, 11, 21))"
            ".filter(p => p.type != 'literal').map(p => p.type)")
        self.assertEqual(sorted(order), ["day", "month", "year"], order)
        date.send_keys(agreed.strftime("".join({"day": "%d", "month": "%m", "year": "%Y"}[t]
                                               for t in order)))
        self.assertEqual(date.get_attribute("value"), agreed.isoformat(),
                         "the date typed in the order %r" % order)
        b.find_element(By.ID, "note").send_keys("Review booked with the family")
        b.find_element(By.ID, "name").send_keys("Tess Manager")
        self.shot(b, "answer-phone-form", full=True)
        b.find_element(By.XPATH, "//button[normalize-space()='Send answer']").click()
        self.wait(b, lambda drv: "?recorded=1" in drv.current_url, "the recorded page")
        body = self.text(b)
        self.assertIn("Your answer was recorded. Everyone told about this case will see it in "
                      "their next message.", body)
        self.assertIn("action agreed for %s" % agreed.strftime("%a %-d %b %Y"), body)
        self.assertIn("Tess Manager", body)
        self.assert_self_contained(b)
        self.shot(b, "answer-phone-recorded")

        # The state store has it, with its audit row.
        did = self.delivery_of("C1", TM)
        rows = self.state_query("SELECT delivery_id, case_ref, recipient, name, kind, agreed_on, "
                                "reason, note, amends FROM response")
        self.assertEqual(rows, [(did, "C1", TM, "Tess Manager", "agreed", agreed.isoformat(),
                                 None, "Review booked with the family", None)])
        self.assertEqual(len(self.state_query(
            "SELECT 1 FROM audit WHERE result = 'answered' AND delivery_id = ?", (did,))), 1)

        # On a desktop, the same link lists the answer.
        b2 = self.browser(DESKTOP)
        b2.get(link)
        self.assertIn("Tess Manager", self.text(b2))
        self.assert_self_contained(b2)
        self.shot(b2, "answer-desktop", full=True)
        dm.terminate()

        # Five days on, stage 2 goes to the service manager, carrying the answer.
        later = (today() + datetime.timedelta(days=5)).isoformat() + "T12:00:00"
        p = self.run_escalatord(["--once", "--now", later], timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
        smtp.wait_for(2, timeout=15)
        to_sm = [m for m in smtp.messages if m.rcpt_tos == [SM]]
        self.assertEqual(len(to_sm), 1, [m.rcpt_tos for m in smtp.messages])
        out = mail_check.check_message(to_sm[0].data, [])
        for part in (out["plain"], out["html"]):
            self.assertIn("action agreed", part)
            self.assertTrue(agreed.strftime("%-d %b %Y") in part or agreed.isoformat() in part,
                            part)
            self.assertIn("Review booked with the family", part)

    # ---------------------------------------------------------------------------------------------
    def test_refusals_in_browser(self):
        from selenium.webdriver.common.by import By
        smtp = self.smtp_sink()
        dm = self.start(smtp, [("C1", ago(5), TM, SM), ("C2", ago(5), TM2, SM)])
        by = {m.rcpt_tos[0]: m for m in smtp.messages}
        link1, link2 = self.link_in(by[TM]), self.link_in(by[TM2])
        token1 = link1.rsplit("/", 1)[1]
        before = self.records()
        b = self.browser(PHONE)

        # One character of the signature changed.
        i = 30
        tampered = token1[:i] + ("A" if token1[i] != "A" else "B") + token1[i + 1:]
        b.get(self.base + "/r/" + tampered)
        self.assert_refusal(b, "This link cannot be used")
        self.assert_self_contained(b)
        self.shot(b, "refusal-tampered")

        # Genuine, but past its time.
        expired = answers.mint(KEY, self.delivery_of("C1", TM), TM, int(time.time()) - 60)
        b.get(self.base + "/r/" + expired)
        self.assert_refusal(b, "This link has expired")

        # The form of C2's page sent to C1's link: same site, the other alert's form token.
        b.get(link2)
        self.assertIn("C2", b.find_element(By.TAG_NAME, "h1").text)
        b.find_element(By.CSS_SELECTOR, "label[for=kind-acknowledged]").click()
        b.find_element(By.ID, "note").send_keys("replayed")
        # What a replay does: the page's form, pointed at the other link.
        b.execute_script("document.querySelector('form').setAttribute('action', arguments[0])",
                         token1)
        b.find_element(By.XPATH, "//button[normalize-space()='Send answer']").click()
        self.wait(b, lambda drv: not drv.find_elements(By.TAG_NAME, "form"), "a refusal")
        self.assert_refusal(b, "This form expired or did not come from the page of this link")
        self.shot(b, "refusal-replayed")

        self.assertEqual(self.records(), before, "a refused link changed the state store")
        self.assertNotIn(tampered, dm.log())
        dm.terminate()


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
