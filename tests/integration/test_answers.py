#!/usr/bin/python3
"""Integration test of issue 14's listener: answering an alert from the link in its message.

Run:  /usr/bin/python3 tests/integration/test_answers.py --escalatord /path/to/escalatord [-v]

The real escalatord with listen on a free 127.0.0.1 port, response_url pointing at it, a 0600
response key file and the SMTP sink (tests/harness). The link is taken out of the message as a
mail client shows it (harness/mail_check.py); where a message carries no link yet (the notifiers
that write it are on another branch), the test mints the token itself from the specification in
base/token.c, so that the listener is tested either way (the tests that need the link in the
message say so and are skipped, or fail under CI=true).

  test_page                the link's page: 200, the case reference, no outside resources, the
      security headers (CSP, Referrer-Policy, nosniff, X-Frame-Options, no-store); HEAD; /healthz
      and /metrics answer; anything else is a plain 404; the log has "http GET /r/… 200" and
      never the token.
  test_form_token          a POST without a form token, with a made-up one, or with the form
      token of ANOTHER alert's page: 403, and no answer recorded.
  test_answer_and_amend    a valid POST: 303 to "<token>?recorded=1", one response row, one
      audit row 'answered', the log line; a second POST amends it (two rows, amends set);
      validation errors re-render the page with 400 and record nothing; a foreign Origin is
      refused, the site's own is accepted.
  test_refusals            one character of the token changed: 403; an expired token: 410; a
      validly signed token for a delivery that does not exist: 404; not a token at all: 404;
      each a plain refusal page, each changing nothing.
  test_limits              a body over 16 KiB: 413; headers over 8 KiB: refused; other methods:
      refused; the 65th connection with a request open is answered 503 and closed.
  test_slow_clients        while 50 idle, half-sent connections are open a new alert is still
      delivered and /healthz still answers; the idle connections are closed after the timeout.
  test_digest_items        a digest: each alert item has its own link, leading to its own case;
      an answer through one is recorded for that clock only.
  test_next_stage_shows_answer  the next stage's email carries the answer (needs the
      notifiers' branch: skipped without the link in the message).
  (The same flows in a real browser: tests/integration/test_browser.py.)
  test_bind_and_reload     an address in use is fatal at start (exit 1, the address and the OS
      error in the log); a reload that sets listen starts the listener; one that moves it says it
      takes a restart.
"""

import datetime
import http.client
import os
import re
import signal
import socket
import sys
import time
import urllib.parse
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import answers  # noqa: E402
from harness import daemon as hd  # noqa: E402
from harness import mail_check  # noqa: E402
from harness.answers import CASE_URL, KEY, RULES, ago, links_in, mint, today  # noqa: E402

TM, SM, TM2 = "tm@council.example", "sm@council.example", "tm2@council.example"
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")

class _Page(HTMLParser):
    """The answer page: its form token, its text, and anything that would load from outside."""

    LOADS = {"script", "img", "link", "iframe", "frame", "object", "embed", "audio", "video",
             "source", "track", "base", "svg", "math"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.form = None
        self.action = None
        self.problems = []
        self.texts = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in self.LOADS:
            self.problems.append("<%s>" % tag)
        for name, value in attrs:
            value = value or ""
            if name in ("src", "srcset", "background", "poster", "formaction") or \
                    name.startswith("on"):
                self.problems.append("%s= on <%s>" % (name, tag))
            # A link to the case in the council's system is followed, not loaded: allowed.
            if re.search(r"(https?:)?//", value) and name in ("href", "action") and not (
                    tag == "a" and name == "href" and value.startswith(CASE_URL)):
                self.problems.append("outside address %s=%r on <%s>" % (name, value, tag))
            if name == "style" and re.search(r"url\s*\(|@import", value, re.I):
                self.problems.append("outside resource in style: %r" % value)
        if tag == "input" and a.get("name") == "form":
            self.form = a.get("value")
        if tag == "form":
            self.action = a.get("action")
        if tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        self.texts.append(data)

    def text(self):
        return " ".join(" ".join(self.texts).split())


def parse_page(body):
    p = _Page()
    p.feed(body.decode("utf-8"))
    p.close()
    # A <style> element may hold CSS: nothing in it may load from elsewhere.
    for css in re.findall(rb"<style[^>]*>(.*?)</style>", body, re.S | re.I):
        if re.search(rb"url\s*\(|@import", css, re.I):
            p.problems.append("outside resource in <style>")
    return p


class Reply:
    def __init__(self, resp):
        self.status = resp.status
        self.headers = resp.headers
        self.body = resp.read()

    def header(self, name):
        return self.headers.get(name)


class TestAnswers(hd.DaemonCase):
    TMP_PREFIX = "escanswer-"
    CASE_COLUMNS = answers.CASE_COLUMNS

    def setUp(self):
        super().setUp()
        self.port = hd.free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.key_path = self.write_secret("response.key", KEY)

    def write_config(self, smtp, digest="off", listen=True, port=None, extra=""):
        port = port or self.port
        self.write_config_text(self.TREE_CONFIG + answers.escalator_conf(
            smtp.port, port if listen else None, "http://127.0.0.1:%d" % port, digest, extra))
        self.write_rules(RULES)

    # -- HTTP ---------------------------------------------------------------------------------
    def request(self, method, path, body=None, headers=None, port=None):
        c = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            return Reply(c.getresponse())
        finally:
            c.close()

    def get(self, token, query=""):
        return self.request("GET", "/r/" + token + query)

    def post(self, token, fields, headers=None, raw=None):
        body = raw if raw is not None else urllib.parse.urlencode(fields).encode()
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", "/r/" + token, body=body, headers=h)

    def form_token(self, token):
        r = self.get(token)
        self.assertEqual(r.status, 200, r.body[:500])
        page = parse_page(r.body)
        self.assertIsNotNone(page.form, "no hidden form field on the page")
        return page.form

    # -- the running service --------------------------------------------------------------------
    def start(self, smtp, cases, digest="off", messages=None):
        """Start escalatord on cases; wait for its messages (one per case by default)."""
        return answers.start(self, smtp, cases, self.port, self.base, digest=digest,
                             messages=messages)

    def responses(self):
        return self.state_query("SELECT delivery_id, case_ref, stage, recipient, name, kind, "
                                "agreed_on, reason, note, amends, id FROM response ORDER BY id")

    def answered_audits(self):
        return self.state_query("SELECT delivery_id, recipient, detail FROM audit WHERE result "
                                "= 'answered' ORDER BY id")

    def delivery_of(self, case, recipient):
        rows = self.state_query("SELECT d.id FROM delivery d JOIN alert a ON a.id = d.alert_id "
                                "WHERE a.case_ref = ? AND d.recipient = ? ORDER BY d.id",
                                (case, recipient))
        self.assertEqual(len(rows), 1, "deliveries of %s to %s: %r" % (case, recipient, rows))
        return rows[0][0]

    def links_in(self, msg):
        """The answer links a mail client shows in msg (plain text and HTML), in order."""
        seen = links_in(msg.data, self.base)
        if seen:
            # Read as a mail client: the HTML may link to the cases (one or a digest's) and to
            # these pages only.
            cases = [c for (c,) in self.state_query("SELECT DISTINCT case_ref FROM alert")]
            links = [CASE_URL + urllib.parse.quote(c, safe="") for c in cases]
            links += [self.base + "/r/" + t for t in seen]
            checked = mail_check.check_message(msg.data, links)
            self.assertEqual(checked["problems"], [], checked["subject"])
        return seen

    def token_for(self, msg, case, recipient):
        """The token of the link in msg, or one minted for the delivery when msg has none."""
        links = self.links_in(msg)
        if links:
            self.assertEqual(len(links), 1, "one alert, one link: %r" % links)
            return links[0]
        return mint(KEY, self.delivery_of(case, recipient), recipient,
                    int(time.time()) + 30 * 86400)

    def assert_healthy(self, r):
        """/healthz says "ok" (a pass has run: the service is healthy). (Before metrics.c was
        written, its placeholder said 503 "not built yet": the listener answered, which is what
        these tests are about.)"""
        if r.status == 503 and r.body == b"not built yet\n":
            return
        self.assertEqual((r.status, r.body), (200, b"ok\n"))

    def assert_refusal(self, r, status, words):
        self.assertEqual(r.status, status, r.body[:800])
        self.assertTrue(r.header("Content-Type").startswith("text/html"), r.headers)
        self.assertEqual(r.header("Content-Security-Policy"), CSP)
        page = parse_page(r.body)
        self.assertEqual(page.problems, [])
        self.assertIsNone(page.form, "a refusal page has no form")
        self.assertIn(words.lower(), page.text().lower())
        self.assertIn("latest message about this case", page.text())
        for case in ("C1", "C2", "D1", "D2"):
            self.assertNotIn(case, page.text(), "a refusal shows no case")

    # ---------------------------------------------------------------------------------------------
    def test_page(self):
        smtp = self.smtp_sink()
        d = self.start(smtp, [("C1", ago(5), TM, SM)])
        token = self.token_for(smtp.messages[0], "C1", TM)
        r = self.get(token)
        self.assertEqual(r.status, 200, r.body[:500])
        self.assertEqual(r.header("Content-Type"), "text/html; charset=utf-8")
        self.assertEqual(r.header("Content-Security-Policy"), CSP)
        self.assertEqual(r.header("Referrer-Policy"), "no-referrer")
        self.assertEqual(r.header("X-Content-Type-Options"), "nosniff")
        self.assertEqual(r.header("X-Frame-Options"), "DENY")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        page = parse_page(r.body)
        self.assertEqual(page.problems, [], "the page loads something from outside")
        self.assertIn("C1", page.text())
        # The form posts back to the link itself, relative (works behind a proxy's prefix).
        self.assertEqual(page.action, token)
        self.assertRegex(page.form or "", r"^[A-Za-z0-9_-]{32}$")
        # HEAD: the headers and the length GET sends, no body.
        h = self.request("HEAD", "/r/" + token)
        self.assertEqual((h.status, h.body), (200, b""))
        self.assertEqual(int(h.header("Content-Length")), len(r.body))
        # /healthz and /metrics answer without a token, with no case in them.
        hz = self.request("GET", "/healthz")
        self.assert_healthy(hz)
        self.assertTrue(hz.header("Content-Type").startswith("text/plain"))
        self.assertTrue(hz.body.endswith(b"\n"))
        m = self.request("GET", "/metrics")
        self.assertEqual(m.status, 200)
        self.assertEqual(m.header("Content-Type"), "text/plain; version=0.0.4; charset=utf-8")
        self.assertNotIn(b"C1", m.body + hz.body)
        # Anything else: a plain 404, whatever the method.
        for method, path in (("GET", "/"), ("GET", "/r/"), ("GET", "/r"), ("POST", "/metrics"),
                             ("GET", "/healthz/x"), ("GET", "/../etc/passwd")):
            nf = self.request(method, path, body=b"" if method == "POST" else None)
            self.assertIn(nf.status, (404,), (method, path, nf.body))
        nf = self.request("GET", "/nothing-here")
        self.assertEqual(nf.header("Content-Type"), "text/plain; charset=utf-8")
        self.assertEqual(nf.body, b"Not found.\n")
        d.wait_log(r"http GET /r/… 200", timeout=5)
        d.wait_log(r"http HEAD /r/… 200", timeout=5)
        d.wait_log(r"http GET /nothing-here 404", timeout=5)
        self.assertNotIn(token, d.log(), "the token reached the log")
        self.assertNotIn(token[:20], d.log(), "part of the token reached the log")
        self.assert_log_lines_clean(d)
        d.terminate()

    # ---------------------------------------------------------------------------------------------
    def test_form_token(self):
        smtp = self.smtp_sink()
        self.start(smtp, [("C1", ago(5), TM, SM), ("C2", ago(5), TM2, SM)])
        by = {m.rcpt_tos[0]: m for m in smtp.messages}
        t1 = self.token_for(by[TM], "C1", TM)
        t2 = self.token_for(by[TM2], "C2", TM2)
        other_form = self.form_token(t2)
        answer = {"kind": "acknowledged", "note": "seen"}
        for why, fields in (("no form token", answer),
                            ("a made-up form token", dict(answer, form="A" * 32)),
                            ("another alert's form token", dict(answer, form=other_form)),
                            ("a response token as form token", dict(answer, form=t1))):
            r = self.post(t1, fields)
            self.assertEqual(r.status, 403, "%s: %r" % (why, r.body[:300]))
            page = parse_page(r.body)
            self.assertIn("did not come from the page of this link", page.text(), why)
            self.assertEqual(self.responses(), [], why)
        # The other alert's own form token still works there: it is bound to its link.
        self.assertEqual(self.post(t2, dict(answer, form=other_form)).status, 303)
        self.assertEqual([r[1] for r in self.responses()], ["C2"])
        self.assertEqual(len(self.answered_audits()), 1)

    # ---------------------------------------------------------------------------------------------
    def test_answer_and_amend(self):
        smtp = self.smtp_sink()
        d = self.start(smtp, [("C1", ago(5), TM, SM)])
        token = self.token_for(smtp.messages[0], "C1", TM)
        did = self.delivery_of("C1", TM)
        form = self.form_token(token)
        soon = (today() + datetime.timedelta(days=9)).isoformat()

        # Validation errors: the page again with 400, what was wrong, the values; nothing kept.
        for fields, words in (
                ({"kind": "agreed", "note": "booked"}, "Give the date"),
                ({"kind": "agreed", "agreed_on": ago(1)}, "before today"),
                ({"kind": "agreed", "agreed_on": (today() + datetime.timedelta(days=400))
                  .isoformat()}, "more than a year ahead"),
                ({"kind": "agreed", "agreed_on": "14/12/2025"}, "not a date"),
                ({"kind": "disagree", "note": "my own words"}, "why you disagree"),
                ({"kind": "maybe"}, "Choose one of the three"),
                ({"note": "no kind"}, "Choose an answer"),
                ({"kind": "acknowledged", "note": "bell\x07"}, "control character"),
                ({"kind": "acknowledged", "name": "x" * 101}, "longer than 100")):
            r = self.post(token, dict(fields, form=form))
            self.assertEqual(r.status, 400, "%r: %r" % (fields, r.body[:300]))
            page = parse_page(r.body)
            self.assertIn(words, page.text(), fields)
            self.assertEqual(page.problems, [])
            self.assertIsNotNone(page.form, "the page again, with its form")
            self.assertEqual(self.responses(), [], fields)
        r = self.post(token, {}, raw=b"kind=acknowledged&note=%FF%FE&form=" + form.encode())
        self.assertEqual(r.status, 400)
        self.assertIn("not valid text", parse_page(r.body).text())
        # Not a form post.
        r = self.post(token, {}, raw=b'{"kind": "acknowledged"}',
                      headers={"Content-Type": "application/json"})
        self.assertEqual(r.status, 415)
        # From another site: refused; from the site itself (the Origin of response_url): fine.
        r = self.post(token, {"kind": "acknowledged", "form": form},
                      headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)
        self.assertIn("another web site", parse_page(r.body).text())
        self.assertEqual(self.responses(), [])

        r = self.post(token, {"kind": "agreed", "agreed_on": soon, "note": "Review booked\r\n"
                              "with the family", "name": "Tess Manager", "form": form},
                      headers={"Origin": self.base})
        self.assertEqual(r.status, 303, r.body[:300])
        self.assertEqual(r.header("Location"), token + "?recorded=1")
        rows = self.responses()
        self.assertEqual(len(rows), 1)
        self.assertEqual(rows[0][:10], (did, "C1", "stage1", TM, "Tess Manager", "agreed", soon,
                                        None, "Review booked\nwith the family", None))
        self.assertEqual(self.answered_audits(), [(did, TM, "agreed for %s" % soon)])
        # The answer names the alert its delivery was of.
        self.assertEqual(self.state_query(
            "SELECT r.alert_id = d.alert_id AND r.alert_id IS NOT NULL FROM response r "
            "JOIN delivery d ON d.id = r.delivery_id"), [(1,)])
        d.wait_log(r"answer rule=practice-alert case=C1 stage=stage1 kind=agreed", timeout=5)
        d.wait_log(r"http POST /r/… 303", timeout=5)
        # The page it leads to says so (a fresh form on it).
        r = self.get(token, "?recorded=1")
        self.assertEqual(r.status, 200)
        self.assertIsNotNone(parse_page(r.body).form)

        # A second answer from the same link amends the first; both are kept. A browser that
        # sends Origin: null (a privacy setting) still needs the form token, and has it.
        r = self.post(token, {"kind": "disagree", "reason": "The review was held on time",
                              "form": self.form_token(token)}, headers={"Origin": "null"})
        self.assertEqual(r.status, 303)
        rows = self.responses()
        self.assertEqual(len(rows), 2)
        self.assertEqual(rows[1][5:10], ("disagree", None, "The review was held on time", None,
                                         rows[0][10]))
        self.assertEqual(len(self.answered_audits()), 2)
        self.assertIn("amends", self.answered_audits()[1][2])
        d.terminate()

    # ---------------------------------------------------------------------------------------------
    def test_refusals(self):
        smtp = self.smtp_sink()
        d = self.start(smtp, [("C1", ago(5), TM, SM)])
        token = self.token_for(smtp.messages[0], "C1", TM)
        did = self.delivery_of("C1", TM)
        form = self.form_token(token)
        before = self.state_query("SELECT count(*) FROM audit")[0][0]

        # One character of the signature changed (characters 23-43 are the HMAC's alone).
        i = 30
        tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        self.assert_refusal(self.get(tampered), 403, "has been changed")
        self.assert_refusal(self.post(tampered, {"kind": "acknowledged", "form": form}), 403,
                            "has been changed")
        # Every single character changed: refused, never served.
        for j in range(len(token)):
            t = token[:j] + ("x" if token[j] != "x" else "y") + token[j + 1:]
            self.assertIn(self.get(t).status, (403, 404), j)
        # Made for someone else (the recipient is part of the signature).
        self.assert_refusal(self.get(mint(KEY, did, SM, int(time.time()) + 3600)), 403,
                            "made for someone else")
        # Signed with another key.
        self.assertEqual(self.get(mint("x" * 40, did, TM, int(time.time()) + 3600)).status, 403)
        # Expired: genuine, but past its time.
        self.assert_refusal(self.get(mint(KEY, did, TM, int(time.time()) - 60)), 410, "expired")
        self.assert_refusal(self.post(mint(KEY, did, TM, int(time.time()) - 60),
                                      {"kind": "acknowledged", "form": form}), 410, "expired")
        # Validly signed, but no such delivery.
        self.assert_refusal(self.get(mint(KEY, did + 1000, TM, int(time.time()) + 3600)), 404,
                            "no longer holds")
        # Not a token at all.
        for bad in ("abc", token[:-1], token + "A", "%41" * 44, token[:20] + "." + token[21:]):
            self.assert_refusal(self.get(bad), 404, "not complete")
        self.assertEqual(self.responses(), [])
        self.assertEqual(self.state_query("SELECT count(*) FROM audit")[0][0], before)
        self.assertNotIn(tampered, d.log())
        d.terminate()

    # ---------------------------------------------------------------------------------------------
    def test_limits(self):
        smtp = self.smtp_sink()
        d = self.start(smtp, [("C1", ago(5), TM, SM)])
        token = self.token_for(smtp.messages[0], "C1", TM)
        form = self.form_token(token)
        # A body over 16 KiB: 413 (read and dropped, so the client sees the answer).
        big = urllib.parse.urlencode({"kind": "acknowledged", "form": form,
                                      "note": "n" * 17000}).encode()
        r = self.post(token, {}, raw=big)
        self.assertEqual(r.status, 413)
        # Headers over 8 KiB.
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n")
        status = s.recv(4096).split(b"\r\n")[0]
        s.close()
        self.assertRegex(status, rb"^HTTP/1\.1 4\d\d ")
        # Other methods are not served.
        for method in ("PUT", "DELETE", "OPTIONS", "TRACE"):
            self.assertGreaterEqual(self.request(method, "/r/" + token).status, 400, method)
        self.assertEqual(self.responses(), [])

        # 64 connections that have sent a request are kept; a request on the 65th is 503.
        conns = []
        for i in range(64):
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.request("GET", "/healthz")
            r = c.getresponse()
            r.read()
            self.assertIn(r.status, (200, 503))
            self.assertNotEqual(r.getheader("Connection"), "close", i)
            conns.append(c)
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        c.request("GET", "/healthz")
        r = c.getresponse()
        self.assertEqual(r.status, 503)
        self.assertEqual(r.getheader("Connection"), "close")
        self.assertIn(b"too many open connections", r.read())
        c.close()
        # A connection already counted is still served; when one closes, a new one is too.
        conns[0].request("GET", "/r/" + token)
        self.assertEqual(conns[0].getresponse().status, 200)
        conns[1].close()
        ok = False
        for _ in range(50):
            r = self.request("GET", "/healthz")
            if r.status != 503 or b"too many" not in r.body:
                ok = True
                break
            time.sleep(0.1)
        self.assertTrue(ok, "a closed connection was not counted out")
        for c in conns:
            c.close()
        d.wait_log(r"http GET \(over the connection limit\) 503", timeout=5)
        d.terminate()

    # ---------------------------------------------------------------------------------------------
    def test_slow_clients(self):
        smtp = self.smtp_sink()
        d = self.start(smtp, [("C1", ago(5), TM, SM)])
        idle = []
        for i in range(50):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=20)
            if i % 2:
                s.sendall(b"GET /r/")  # a request begun and never finished
            idle.append(s)
        t0 = time.monotonic()
        # A new alert goes out meanwhile, and the health check answers.
        self.insert_cases(("C2", ago(5), TM2, SM))
        smtp.wait_for(2, timeout=15)
        self.assert_healthy(self.request("GET", "/healthz"))
        took = time.monotonic() - t0
        self.assertLess(took, 8, "a delivery waited for idle connections")
        # The idle ones are closed by the listener after its 10 s timeout.
        closed = 0
        for s in idle:
            s.settimeout(max(1, 25 - (time.monotonic() - t0)))
            try:
                while s.recv(4096) != b"":
                    pass
                closed += 1
            except (socket.timeout, TimeoutError):
                pass
            except ConnectionResetError:
                closed += 1
            s.close()
        self.assertEqual(closed, 50, "idle connections left open past the timeout")
        self.assertLess(time.monotonic() - t0, 25)
        d.wait_log(r"status=sent", timeout=5, count=2)
        d.terminate()

    # ---------------------------------------------------------------------------------------------
    def test_digest_items(self):
        smtp = self.smtp_sink()
        self.start(smtp, [("D1", ago(5), TM, SM), ("D2", ago(5), TM, SM)], digest="daily",
                   messages=1)
        msg = smtp.messages[0]
        self.assertIsNotNone(msg.message["X-Escalator-Digest"], "not a digest")
        items = {c: self.delivery_of(c, TM) for c in ("D1", "D2")}
        links = self.links_in(msg)
        if links:
            self.assertEqual(len(links), 2, "each item has its own link: %r" % links)
            tokens = {}
            for t in links:
                # The page as a person reads it: the raw HTML also holds the link's and the
                # form's tokens, random base64url that can contain "D1" or "D2" (it did, in CI).
                text = parse_page(self.get(t).body).text()
                case = "D1" if "D1" in text and "D2" not in text else \
                    "D2" if "D2" in text and "D1" not in text else None
                self.assertIsNotNone(case, "a digest item's page shows its own case only")
                tokens[case] = t
            self.assertEqual(sorted(tokens), ["D1", "D2"])
        else:
            tokens = {c: mint(KEY, i, TM, int(time.time()) + 86400) for c, i in items.items()}
        for case, t in tokens.items():
            page = parse_page(self.get(t).body)
            self.assertIn(case, page.text())
            self.assertNotIn({"D1": "D2", "D2": "D1"}[case], page.text())
        t = tokens["D2"]
        r = self.post(t, {"kind": "acknowledged", "form": self.form_token(t)})
        self.assertEqual(r.status, 303)
        self.assertEqual([(row[0], row[1]) for row in self.responses()], [(items["D2"], "D2")])
        # A form of one item's page does not answer the other.
        r = self.post(tokens["D1"], {"kind": "acknowledged", "form": self.form_token(t)})
        self.assertEqual(r.status, 403)
        self.assertEqual(len(self.responses()), 1)

    def test_bind_and_reload(self):
        smtp = self.smtp_sink()
        # The address in use: fatal at start, with the address and the OS's reason.
        taken = socket.socket()
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", self.port))
        taken.listen(1)
        self.write_config(smtp)
        self.make_case_store([("C1", ago(5), TM, SM)])
        d = self.start_daemon()
        rc, _ = d.wait_exit(15)
        self.assertEqual(rc, 1, d.log())
        self.assertRegex(d.log(), r"escalatord\.conf:\d+: cannot listen on 127\.0\.0\.1 port "
                         r"%d: Address already in use" % self.port)
        self.assertEqual(len(smtp.messages), 0, "alerts sent by a service that did not start")
        taken.close()

        # Started without listen; a reload that sets it starts the listener.
        self.write_config(smtp, listen=False)
        d = self.start_daemon()
        smtp.wait_for(1, timeout=20)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        self.write_config(smtp)
        d.signal(signal.SIGHUP)
        d.wait_listening(self.port)
        self.assertEqual(self.request("GET", "/nothing").status, 404)
        # Moved: takes a restart (it stays where it is, and says so).
        other = hd.free_port()
        self.write_config(smtp, port=other)
        d.signal(signal.SIGHUP)
        d.wait_log(r"listen changed, but the listener stays on 127\.0\.0\.1:%d until "
                   r"escalatord restarts" % self.port, timeout=10)
        self.assertEqual(self.request("GET", "/nothing").status, 404)
        # Removed: stopped.
        self.write_config(smtp, listen=False)
        d.signal(signal.SIGHUP)
        d.wait_log(r"listen is no longer set: the listener on 127\.0\.0\.1:%d stopped"
                   % self.port, timeout=10)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.port), timeout=2).close()
        self.assert_log_lines_clean(d)
        d.terminate()


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
