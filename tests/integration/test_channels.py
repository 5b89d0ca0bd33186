#!/usr/bin/python3
"""Integration tests of escalatord's delivery channels: Exchange Online (SMTP AUTH XOAUTH2 with
OAuth 2.0 client credentials), Microsoft Teams workflows, Slack incoming webhooks and GOV.UK
Notify, each against a server on 127.0.0.1 that speaks the protocol for real.

Run:  /usr/bin/python3 tests/integration/test_channels.py --escalatord /path/to/escalatord [-v]
      (any further arguments go to unittest, e.g. -k test_notify)

Built on tests/integration/test_daemon.py (its DaemonTestCase, on tests/harness/daemon.py) and
tests/harness (SmtpSink, HttpSink).  The servers here check what a real one would:

    TokenEndpoint   an identity platform token endpoint (client credentials grant): checks the
                    form, issues short-lived bearer tokens, answers 401 AADSTS... or 500 on demand
    SmtpSink        offering only AUTH XOAUTH2 after STARTTLS, checking the SASL user and that the
                    token was issued by the endpoint above and has not expired
    TeamsReceiver   a Teams workflow trigger: checks the Adaptive Card message, answers 202, 429
                    when more than 4 requests arrive within a second (or on demand)
    SlackReceiver   a Slack incoming webhook: checks text + blocks, answers "ok", 429 past one
                    message a second (or on demand), and 400/403/404/410 for its error paths
    NotifyApi       GOV.UK Notify's v2 API: checks the JWT (HS256 signature, issuer, iat within
                    30 seconds) and the body, stores notifications by reference, answers 201, 429,
                    500 or nothing (a timeout) on demand, and GET /v2/notifications?reference=
"""

import base64
import hashlib
import hmac
import json
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

from test_daemon import DaemonTestCase, start_overdue_reached, due_of  # noqa: E402
from harness import default_pki  # noqa: E402
from harness import daemon as hd  # noqa: E402

RULE_ID = "cic-first-review"
TITLE = "First Child in Care review"
EXPECTED = "hold the review and record it in LCS within 5 working days"
# A stage's own "what is expected" (overrides the rule's).
STAGE_EXPECTED = "escalate to the IRO service manager today"
FROM = "escalator@council.example"
TENANT = "council.onmicrosoft.com"
CLIENT_ID = "6731de76-14a6-49ae-97bc-6eba6914391e"
CLIENT_SECRET = "cs~Q8d7Q~Zm5uVq0cl13nt-s3cr3t-Value_x9"
TEAMS_SIG = "tEaMsSiG0123456789abcdefABCDEF-sig"
SLACK_TOKEN = "XoXbSlackHookToken123456"
NOTIFY_SERVICE = "26785a09-ab16-4eb0-8407-a37497a57506"
NOTIFY_SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
NOTIFY_KEY = "escalator_live-%s-%s" % (NOTIFY_SERVICE, NOTIFY_SECRET)
NOTIFY_TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
NOTIFY_EMAIL = "iro.manager@council.example"
SECRETS = (CLIENT_SECRET, TEAMS_SIG, SLACK_TOKEN, NOTIFY_SECRET, NOTIFY_KEY)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def max_in_window(times, window):
    """The most requests whose arrival times fall within any `window` seconds."""
    times = sorted(times)
    best = 0
    j = 0
    for i, t in enumerate(times):
        while times[j] < t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


# ---------------------------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------------------------

class TokenEndpoint:
    """A Microsoft identity platform v2.0 token endpoint on an HttpSink (HTTPS)."""

    def __init__(self, test, expires_in=3600, failures=()):
        self.expires_in = expires_in
        self.failures = list(failures)  # answers before tokens: 'aadsts' | 500
        self.lock = threading.Lock()
        self.issued = {}  # token -> (issued_at, expires_at)
        self.log = []  # (time, status, token or None)
        self.problems = []
        self.sink = test.http_sink(responses=self.respond)

    @property
    def url(self):
        return self.sink.url_for("/%s/oauth2/v2.0/token" % TENANT)

    def respond(self, req):
        now = time.time()
        form = urllib.parse.parse_qs(req.text, keep_blank_values=True)
        want = {"grant_type": ["client_credentials"], "client_id": [CLIENT_ID],
                "client_secret": [CLIENT_SECRET],
                "scope": ["https://outlook.office365.com/.default"]}
        if req.method != "POST" or req.url_path != "/%s/oauth2/v2.0/token" % TENANT:
            self.problems.append("unexpected %s %s" % (req.method, req.path))
        if not req.headers.get("Content-Type", "").startswith(
                "application/x-www-form-urlencoded"):
            self.problems.append("Content-Type %r" % req.headers.get("Content-Type"))
        if form != want:
            self.problems.append("form %r" % sorted(form))
            return (400, {"Content-Type": "application/json"},
                    {"error": "invalid_request", "error_description": "AADSTS900144: bad"})
        with self.lock:
            if self.failures:
                kind = self.failures.pop(0)
                self.log.append((now, 500 if kind == 500 else 401, None))
                if kind == 500:
                    return (500, {}, "upstream identity service unavailable\n")
                return (401, {"Content-Type": "application/json"}, {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided. "
                                         "Ensure the secret being sent in the request is the "
                                         "client secret value.\r\nTrace ID: 0e4c\r\n"
                                         "Correlation ID: 9b2f\r\nTimestamp: 2026-11-30",
                    "error_codes": [7000215], "trace_id": "0e4c"})
            token = "eyJ0eXAiOiJKV1Qi.%s.%s" % (uuid.uuid4().hex, uuid.uuid4().hex)
            self.issued[token] = (now, now + self.expires_in)
            self.log.append((now, 200, token))
        return (200, {"Content-Type": "application/json"},
                {"token_type": "Bearer", "expires_in": self.expires_in,
                 "ext_expires_in": self.expires_in, "access_token": token})

    def check(self, user, token):
        """SmtpSink's xoauth2_check: a token we issued, not expired, for the mailbox."""
        with self.lock:
            got = self.issued.get(token)
        if user != FROM:
            self.problems.append("XOAUTH2 user %r" % user)
            return False
        if got is None:
            self.problems.append("XOAUTH2 with a token never issued")
            return False
        if time.time() >= got[1]:
            self.problems.append("XOAUTH2 with an expired token (%.2fs late)"
                                 % (time.time() - got[1]))
            return False
        return True


class TeamsReceiver:
    """A Teams workflow "When a Teams webhook request is received" trigger."""

    def __init__(self, test, path="/workflows/7c1e/triggers/manual/paths/invoke", forced=()):
        self.path = path
        self.forced = list(forced)  # statuses answered first, e.g. [429]
        self.lock = threading.Lock()
        self.arrivals = []  # time of every request
        self.natural_429 = 0
        self.accepted = []  # decoded bodies answered 202
        self.problems = []
        self.sink = test.http_sink(responses=self.respond)

    @property
    def url(self):
        return self.sink.url_for("%s?api-version=2016-06-01&sp=%%2Ftriggers%%2Fmanual%%2Frun"
                                 "&sv=1.0&sig=%s" % (self.path, TEAMS_SIG))

    def respond(self, req):
        now = time.time()
        with self.lock:
            self.arrivals.append(now)
            recent = [t for t in self.arrivals if t > now - 0.85]
            if self.forced:
                status = self.forced.pop(0)
                return (status, {"Retry-After": "1"}, "")
            if len(recent) > 4:
                self.natural_429 += 1
                return (429, {"Retry-After": "1"}, "")
        if req.query.get("sig") != [TEAMS_SIG] or req.url_path != self.path:
            self.problems.append("bad URL %s" % req.path)
            return 401
        if len(req.body) > 28 * 1024:
            self.problems.append("message of %d bytes" % len(req.body))
            return 413
        try:
            j = req.json()
            att = j["attachments"]
            assert j["type"] == "message", j["type"]
            assert len(att) == 1 and att[0]["contentType"] == \
                "application/vnd.microsoft.card.adaptive", att
            card = att[0]["content"]
            assert card["type"] == "AdaptiveCard" and card["version"], card
            assert isinstance(card["body"], list) and card["body"], card
        except Exception as e:  # the workflow would refuse it
            self.problems.append("bad card: %r" % e)
            return 400
        with self.lock:
            self.accepted.append(j)
        return (202, {}, "")


def card_facts(card_message):
    """{title: value} of the card's facts (RichTextBlocks of a bold "title: " run and a value
    run), and the text of its other blocks."""
    body = card_message["attachments"][0]["content"]["body"]
    facts = {}
    texts = []
    for b in body:
        runs = b.get("inlines", [])
        if len(runs) == 2 and runs[0]["text"].endswith(": "):
            facts[runs[0]["text"][:-2]] = runs[1]["text"]
        elif runs:
            texts.append("".join(r["text"] for r in runs))
    return facts, texts


def card_markdown(card_message):
    """Every string in the card that Teams would render as Markdown: the text of TextBlocks
    and the titles and values of FactSets (TextRuns are never parsed)."""
    found = []

    def walk(x):
        if isinstance(x, dict):
            if x.get("type") == "TextBlock":
                found.append(x.get("text"))
            if x.get("type") == "FactSet":
                found.extend(v for f in x.get("facts", []) for v in (f["title"], f["value"]))
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(card_message)
    return found


class SlackReceiver:
    """A Slack incoming webhook: hooks.slack.com/services/T/B/token, one message a second."""

    ERRORS = {"archived": (410, "channel_is_archived"), "invalid": (400, "invalid_payload"),
              "prohibited": (403, "action_prohibited"), "gone": (404, "no_service")}

    def __init__(self, test, forced=()):
        self.forced = list(forced)
        self.lock = threading.Lock()
        self.arrivals = []
        self.natural_429 = 0
        self.accepted = []
        self.problems = []
        self.sink = test.http_sink(responses=self.respond)

    def url(self, channel="ok"):
        return self.sink.url_for("/services/T0COUNCIL/B0%s/%s" % (channel.upper(), SLACK_TOKEN))

    def respond(self, req):
        now = time.time()
        parts = req.url_path.split("/")
        channel = parts[3][2:].lower() if len(parts) == 5 else ""
        with self.lock:
            self.arrivals.append(now)
            if len(parts) != 5 or parts[4] != SLACK_TOKEN:
                self.problems.append("bad URL %s" % req.path)
                return (403, {}, "invalid_token")
            if channel in self.ERRORS:
                code, text = self.ERRORS[channel]
                return (code, {}, text)
            if self.forced:
                return (self.forced.pop(0), {"Retry-After": "2"}, "rate_limited")
            previous = [t for (t, _) in self.accepted if t > now - 0.9]
            if previous:
                self.natural_429 += 1
                return (429, {"Retry-After": "1"}, "rate_limited")
        try:
            j = req.json()
            assert isinstance(j["text"], str) and j["text"], j
            assert isinstance(j["blocks"], list) and 0 < len(j["blocks"]) <= 50, j
            for b in j["blocks"]:
                assert b["type"] in ("header", "section", "context"), b
                for f in b.get("fields", []):
                    assert len(f["text"]) <= 2000, f
                assert len(b.get("fields", [])) <= 10, b
        except Exception as e:
            self.problems.append("bad message: %r" % e)
            return (400, {}, "invalid_payload")
        with self.lock:
            self.accepted.append((now, j))
        return (200, {"Content-Type": "text/plain"}, "ok")


class NotifyApi:
    """GOV.UK Notify's API v2 (the parts escalatord uses)."""

    def __init__(self, test, script=()):
        self.script = list(script)  # per POST: 201 | 429 | 500 | 'timeout' | 400
        self.timeout_delay = 8.0
        self.lock = threading.Lock()
        self.stored = {}  # reference -> notification
        self.posts = []  # (time, reference, answered)
        self.lookups = []  # (time, reference, found)
        self.problems = []
        self.sink = test.http_sink(responses=self.respond)

    @property
    def base_url(self):
        return self.sink.url

    def check_jwt(self, req):
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return "no bearer token"
        parts = auth[7:].split(".")
        if len(parts) != 3:
            return "not a JWT"
        want = b64url(hmac.new(NOTIFY_SECRET.encode(), (parts[0] + "." + parts[1]).encode(),
                               hashlib.sha256).digest())
        if not hmac.compare_digest(want, parts[2]):
            return "Invalid token: signature, api token not found"
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        if header.get("alg") != "HS256" or header.get("typ") != "JWT":
            return "header %r" % header
        if claims.get("iss") != NOTIFY_SERVICE:
            return "iss %r" % claims.get("iss")
        if not isinstance(claims.get("iat"), int) or abs(claims["iat"] - time.time()) > 30:
            return "Error: Your system clock must be accurate to within 30 seconds"
        return None

    def respond(self, req):
        problem = self.check_jwt(req)
        if problem is not None:
            self.problems.append(problem)
            return (403, {}, {"errors": [{"error": "AuthError", "message": problem}],
                              "status_code": 403})
        if req.method == "GET" and req.url_path == "/v2/notifications":
            ref = req.query.get("reference", [""])[0]
            with self.lock:
                found = self.stored.get(ref)
                self.lookups.append((time.time(), ref, found is not None))
            return (200, {}, {"notifications": [found] if found else [],
                              "links": {"current": req.path}})
        if req.method != "POST" or req.url_path != "/v2/notifications/email":
            self.problems.append("unexpected %s %s" % (req.method, req.path))
            return 404
        try:
            j = req.json()
            for k in ("email_address", "template_id", "personalisation", "reference"):
                assert k in j, k
            p = j["personalisation"]
            for k in ("title", "case", "stage", "due", "days_overdue", "expected"):
                assert isinstance(p.get(k), str), (k, p)
            ref = j["reference"]
        except Exception as e:
            self.problems.append("bad body: %r" % e)
            return (400, {}, {"errors": [{"error": "BadRequestError", "message": repr(e)}],
                              "status_code": 400})
        if j["template_id"] != NOTIFY_TEMPLATE:
            step = 400
        else:
            with self.lock:
                step = self.script.pop(0) if self.script else 201
        if step == 400:
            self.posts.append((time.time(), ref, 400))
            return (400, {}, {"errors": [{"error": "BadRequestError",
                                          "message": "Template not found"}],
                              "status_code": 400})
        if step in (429, 500):
            self.posts.append((time.time(), ref, step))
            body = {"errors": [{"error": "RateLimitError" if step == 429 else "Exception",
                                "message": "Exceeded rate limit for key type LIVE of 3000 "
                                           "requests per 60 seconds" if step == 429
                                else "Internal server error"}], "status_code": step}
            return (step, {}, body)
        note = {"id": str(uuid.uuid4()), "reference": ref, "email_address": j["email_address"],
                "type": "email", "status": "created", "personalisation": j["personalisation"],
                "template": {"id": j["template_id"], "version": 1}}
        with self.lock:
            if ref in self.stored:
                self.problems.append("notification %s sent twice" % ref)
            self.stored[ref] = note
            self.posts.append((time.time(), ref, step))
        if step == "timeout":
            time.sleep(self.timeout_delay)  # the client gives up first: outcome unknown to it
        return (201, {}, {"id": note["id"], "reference": ref,
                          "content": {"subject": "x", "body": "y"},
                          "template": note["template"]})


# ---------------------------------------------------------------------------------------------
# Fixtures
# ---------------------------------------------------------------------------------------------

def rule_text(notify, fields=False, expected=EXPECTED, stage_expected=None):
    """The rule: its own `expected` (None: none, so the default applies) and the overdue
    stage's (None: none, so the rule's applies)."""
    names = ", ".join('"%s"' % n for n in notify)
    return """\
rules = (
  {
    id = "%s";
    title = "%s";
    query = "SELECT case_ref, start, team_manager_email, notes FROM looked_after ORDER BY case_ref";
    due = "20 working days";
%s%s    stages = (
      { name = "reminder"; at = "-5 working days"; notify = [ "team_manager" ]; },
      { name = "overdue";  at = "1 working day";   notify = [ %s ];%s }
    );
  }
);
""" % (RULE_ID, TITLE, '    expected = "%s";\n' % expected if expected is not None else "",
       '    fields = [ "notes" ];\n' if fields else "", names,
       ' expected = "%s";' % stage_expected if stage_expected is not None else "")


def default_expected(due):
    """rules/ruleset.c's ruleset_default_expected ("make sure the {{title}} happens by {{due}}
    and is recorded."), written out here so that the test does not take it from escalatord."""
    return "make sure the %s happens by %s and is recorded." % (TITLE, due.isoformat())


class ChannelTestCase(DaemonTestCase):
    CASE_COLUMNS = ("case_ref", "start", "team_manager_email", "notes")

    def setUp(self):
        super().setUp()
        self.ca = default_pki()["ca_file"]

    def tearDown(self):
        try:
            for d in self.daemons:
                self.assert_no_channel_secrets(d.log_bytes(), d.stderr_path)
        finally:
            super().tearDown()

    def assert_no_channel_secrets(self, data, where, extra=()):
        for secret in SECRETS + tuple(extra):
            self.assertNotIn(secret.encode(), data, "a secret appears in %s" % where)

    def write_channels(self, contacts, smtp=None, extra="", max_deliveries=8,
                       max_per_destination=4, delivery_timeout=5):
        # digest = "off": these tests are about single deliveries (one message, card or
        # request per alert, its pacing, retries and body); digests:
        # tests/integration/test_digests.py.
        text = "# escalatord channel test configuration\n" + self.TREE_CONFIG + """\
digest = "off";
timezone = "Europe/London";
send_time = "00:00";
poll_interval = 1;
ca_file = "%s";
max_deliveries = %d;
max_per_destination = %d;
connect_timeout = 3;
delivery_timeout = %d;
retry_min = 1;
retry_max = 2;
shutdown_timeout = 3;
%s
contacts = {
%s
};
%s""" % (self.ca, max_deliveries, max_per_destination, delivery_timeout, extra,
         "\n".join("  " + c for c in contacts), smtp or "")
        self.write_config_text(text)

    def xoauth2_smtp(self, smtp, token):
        self.write_secret("client.secret", CLIENT_SECRET)
        return """\
smtp = {
  url = "smtp://127.0.0.1:%d";
  from = "%s";
  auth = "xoauth2";
  tenant = "%s";
  client_id = "%s";
  client_secret_file = "client.secret";
  token_url = "%s";
};
""" % (smtp.port, FROM, TENANT, CLIENT_ID, token.url)

    def notify_contact(self, name="iro_manager", api=None, template=NOTIFY_TEMPLATE,
                       email=NOTIFY_EMAIL):
        self.write_secret("notify.key", NOTIFY_KEY)
        return ('%s = { notify = { api_key_file = "notify.key"; template_id = "%s"; '
                'email = "%s"; base_url = "%s"; }; };' % (name, template, email, api.base_url))

    def make_cases(self, rows):
        """rows: (case_ref, start, team_manager_email[, notes])."""
        self.make_case_store([tuple(r) + (None,) * (4 - len(r)) for r in rows])

    def by_kind(self, kind):
        return {k: v for k, v in self.deliveries().items() if v[0] == kind}

    def audit(self, kind=None):
        sql = ("SELECT a.delivery_id, a.result, a.recipient FROM audit a JOIN delivery d ON "
               "d.id = a.delivery_id")
        if kind:
            return self.state_query(sql + " WHERE d.kind = ? ORDER BY a.id", (kind,))
        return self.state_query(sql + " ORDER BY a.id")


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------

class TestExchangeOnline(ChannelTestCase):

    def test_01_xoauth2_token_refresh_and_recovery(self):
        # First token request: a wrong client secret (AADSTS7000215); second: a 500; then
        # 10-second tokens, refreshed ahead of time (after 5 s) and never used past 8 s.
        token = TokenEndpoint(self, expires_in=10, failures=("aadsts", 500))
        smtp = self.smtp_sink(auth=None, auth_mechanisms=["XOAUTH2"],
                              xoauth2_check=token.check)
        self.write_channels(['iro = { email = "iro@council.example"; };'],
                            smtp=self.xoauth2_smtp(smtp, token))
        self.write_rules(rule_text(["team_manager"]))
        s = start_overdue_reached()
        self.make_cases([("C1", s, "tm1@council.example"), ("C2", s, "tm2@council.example")])

        check = self.run_escalatord(["--check"], timeout=30)
        self.assertEqual(check.returncode, 0, check.stderr)
        self.assert_no_channel_secrets(check.stdout + check.stderr, "--check output")

        d = self.start_daemon()
        ds = self.wait_state(lambda ds: len(ds) == 2 and all(v[2] == "sent" for v in ds.values()),
                             timeout=30, what="both emails sent after the token recovers")
        # The failures were temporary, logged once each with the identity platform's code.
        failed = d.wait_log(r"oauth token=failed [^\n]*", count=2)
        self.assertEqual(len(re.findall(r"oauth token=failed", d.log())), 2, d.log())
        self.assertIn("error_code=AADSTS7000215", failed[0])
        self.assertIn("invalid_client", failed[0])
        self.assertIn("HTTP 500", failed[1])
        d.wait_log(r"kind=email .*status=retry .*no OAuth access token")
        self.assertTrue(all(v[3] >= 2 for v in ds.values()), ds)

        msgs = smtp.wait_for(2, timeout=5)
        for m in msgs:
            self.assertTrue(m.tls)
            self.assertEqual(m.auth_mechanism, "XOAUTH2")
            self.assertEqual(m.auth_user, FROM)
            # The default body, with the rule's own "what is expected".
            self.assertIn("\r\nExpected:  %s\r\n" % EXPECTED, m.body_text())
        self.assertEqual(sorted(r for m in msgs for r in m.rcpt_tos),
                         ["tm1@council.example", "tm2@council.example"])
        auths = smtp.auths
        self.assertTrue(auths and all(a.mechanism == "XOAUTH2" and a.tls for a in auths), auths)
        self.assertTrue(all(a.success for a in auths), auths)
        self.assertTrue(all(a.sasl == "user=%s\x01auth=Bearer %s\x01\x01" % (FROM, a.secret)
                            for a in auths), [a.sasl for a in auths])

        # Refresh ahead of time: an alert 5.5 s after the token came is sent at once with it,
        # while a new token is fetched before the old one expires.
        first = [t for t in token.log if t[1] == 200][0]
        time.sleep(max(0.0, first[0] + 5.5 - time.time()))
        self.insert_cases(("C3", s, "tm3@council.example", None))
        smtp.wait_for(3, timeout=10)
        self.wait_all_sent(3, timeout=10)
        token.sink.wait_until(lambda _: len([t for t in token.log if t[1] == 200]) >= 2,
                              timeout=5)
        issued = [t for t in token.log if t[1] == 200]
        self.assertGreaterEqual(len(issued), 2, token.log)
        self.assertLess(issued[1][0], token.issued[issued[0][2]][1],
                        "the next token was not fetched before the first expired")
        third = smtp.auths[-1]
        self.assertEqual(third.secret, issued[0][2], "the cached token was not used while "
                         "the next one was fetched")
        self.assertEqual(token.problems, [])
        self.assertEqual(smtp.errors, [])
        d.wait_log(r"oauth token=obtained expires_in=10s", count=2)
        d.terminate()
        self.assert_no_channel_secrets(d.log_bytes(), d.stderr_path,
                                       [t[2] for t in token.log if t[2]])

    def test_02_check_refuses_bad_xoauth2_settings(self):
        self.write_secret("client.secret", CLIENT_SECRET)
        os.chmod(os.path.join(self.etc, "client.secret"), 0o644)
        self.write_channels(['iro = { email = "iro@council.example"; };'], smtp="""\
smtp = {
  url = "smtp://127.0.0.1:2525";
  from = "%s";
  auth = "xoauth2";
  client_id = "%s";
  client_secret_file = "client.secret";
  token_url = "http://login.example/token";
  password_file = "client.secret";
};
""" % (FROM, CLIENT_ID))
        self.write_rules(rule_text(["iro"]))
        self.make_cases([])
        p = self.run_escalatord(["--check"], timeout=30)
        err = p.stderr.decode()
        self.assertEqual(p.returncode, 1, err)
        self.assertIn("can be read by others", err)
        self.assertIn("token_url must be an https:// URL", err)
        self.assertIn("password_file does not go with auth = \"xoauth2\"", err)
        self.assert_no_channel_secrets(p.stdout + p.stderr, "--check output")


class TestChat(ChannelTestCase):

    def test_03_teams_cards_paced_and_throttled(self):
        teams = TeamsReceiver(self, forced=[429])
        self.write_channels(['managers = { teams = "%s"; };' % teams.url])
        self.write_rules(rule_text(["managers"], fields=True))
        s = start_overdue_reached()
        notes = "Placement review notes " + "x" * 60000  # far over Teams' 28 KB
        rows = [("C%02d" % i, s, None, notes if i == 0 else "short note %d" % i)
                for i in range(10)]
        self.make_cases(rows)
        d = self.start_daemon()
        ds = self.wait_state(lambda ds: len(ds) == 10 and all(v[2] == "sent"
                                                              for v in ds.values()),
                             timeout=30, what="10 Teams cards accepted")
        self.assertEqual(teams.problems, [])
        self.assertEqual(len(teams.accepted), 10)
        # 4 requests a second at most, so the receiver never had to throttle by itself.
        self.assertEqual(teams.natural_429, 0, teams.arrivals)
        self.assertLessEqual(max_in_window(teams.arrivals, 0.85), 4)
        # The forced 429 (Retry-After: 1) held the whole destination back for a second.
        gap = teams.arrivals[1] - teams.arrivals[0]
        self.assertGreaterEqual(gap, 0.9, teams.arrivals[:3])
        # Waiting for a slot is not an attempt: one retry (the 429), every other took one try.
        self.assertEqual(sorted(v[3] for v in ds.values()), [1] * 9 + [2])
        self.assertEqual([r[1] for r in self.audit("teams")].count("retry"), 1)
        for j in teams.accepted:
            facts, texts = card_facts(j)
            self.assertIn("Expected: " + EXPECTED, texts)  # the rule's own
            self.assertEqual(texts[0], TITLE)
            self.assertRegex(facts["Case"], r"^C\d\d$")
            self.assertEqual(facts["Stage"], "Overdue")  # the stage's label (default: its name)
            self.assertEqual(facts["Due"], due_of(s).isoformat())
            self.assertRegex(facts["Days overdue"], r"^\d+$")
            self.assertIn("notes", facts)
            self.assertTrue(any(t.startswith("Case %s: " % facts["Case"]) for t in texts))
            if facts["Case"] == "C00":
                self.assertTrue(facts["notes"].endswith("\u2026"), facts["notes"][-10:])
                self.assertLess(len(json.dumps(j)), 28000)
            # Only the configured data: no child names, no team manager addresses.
            self.assertNotIn("team_manager", json.dumps(j))
        # Recorded and logged under the contact's name, never its URL (a credential).
        self.assertEqual({v[1] for v in ds.values()}, {"managers"})
        d.wait_log(r"kind=teams to=managers status=sent", count=10)
        d.terminate()

    def test_04_slack_one_a_second_and_permanent_errors(self):
        slack = SlackReceiver(self, forced=[429])
        self.write_channels(['team = { slack = "%s"; };' % slack.url("ok"),
                             'archived = { slack = "%s"; };' % slack.url("archived"),
                             'invalid = { slack = "%s"; };' % slack.url("invalid"),
                             'prohibited = { slack = "%s"; };' % slack.url("prohibited"),
                             'gone = { slack = "%s"; };' % slack.url("gone")])
        self.write_rules(rule_text(["team", "archived", "invalid", "prohibited", "gone"],
                                   stage_expected=STAGE_EXPECTED))
        s = start_overdue_reached()
        self.make_cases([("S1", s, None), ("S2", s, None), ("S3", s, None)])
        d = self.start_daemon()
        ds = self.wait_state(lambda ds: len(ds) == 15 and all(v[2] != "pending"
                                                              for v in ds.values()),
                             timeout=30, what="15 Slack deliveries settled")
        self.assertEqual(slack.problems, [])
        sent = {k: v for k, v in ds.items() if v[1] == "team"}
        self.assertEqual(sorted(v[2] for v in sent.values()), ["sent"] * 3)
        for name in ("archived", "invalid", "prohibited", "gone"):
            rows = [v for v in ds.values() if v[1] == name]
            self.assertEqual([(v[2], v[3]) for v in rows], [("failed", 1)] * 3, (name, rows))
        self.assertIn("channel_is_archived", " ".join(v[5] or "" for v in ds.values()))
        # One message a second, and Retry-After: 2 honoured after the 429.
        self.assertEqual(slack.natural_429, 0)
        team_times = sorted(t for t in slack.arrivals)
        ok_arrivals = [t for (t, _) in slack.accepted]
        self.assertEqual(len(ok_arrivals), 3)
        gaps = [b - a for a, b in zip(ok_arrivals, ok_arrivals[1:])]
        self.assertTrue(all(g >= 0.9 for g in gaps), gaps)
        self.assertGreaterEqual(len(team_times), 16)
        for _, j in slack.accepted:
            self.assertIn(TITLE, j["text"])
            self.assertEqual(j["blocks"][0]["type"], "header")
            fields = {f["text"].split("\n")[0]: f["text"].split("\n", 1)[1]
                      for f in j["blocks"][1]["fields"]}
            self.assertEqual(fields["*Stage*"], "Overdue")  # the label
            self.assertEqual(fields["*Due*"], due_of(s).isoformat())
            # The overdue stage's own text, not the rule's.
            self.assertIn("Expected: " + STAGE_EXPECTED, json.dumps(j))
            self.assertNotIn(EXPECTED, json.dumps(j))
        d.wait_log(r"error: delivery id=\d+ .*kind=slack to=archived status=failed code=410")
        d.terminate()

    def test_08_case_data_stays_text(self):
        """A case reference with Markdown, a Slack link, a line separator and a bidi override
        reaches Teams and Slack as plain text, and forges no field in the log."""
        teams = TeamsReceiver(self)
        slack = SlackReceiver(self)
        self.write_channels(['managers = { teams = "%s"; };' % teams.url,
                             'team = { slack = "%s"; };' % slack.url("ok")])
        self.write_rules(rule_text(["managers", "team"], fields=True))
        s = start_overdue_reached()
        refs = {"[click](https://evil.example)": "[click](https://evil.example)",
                "**x** <https://evil.example|y>": "**x** <https://evil.example|y>",
                "X rule=other\u2028case=Y\u202e": "X rule=other case=Y"}
        self.make_cases([(r, s, None, "see [here](https://evil.example) \u2066\u2029ok")
                         for r in refs])
        d = self.start_daemon()
        self.wait_state(lambda ds: len(ds) == 6 and all(v[2] == "sent" for v in ds.values()),
                        timeout=30, what="3 Teams cards and 3 Slack messages sent")
        self.assertEqual(teams.problems + slack.problems, [])
        # Teams: nothing is in an element that renders Markdown; the text is as it was.
        cases = set()
        for j in teams.accepted:
            self.assertEqual(card_markdown(j), [])
            facts, texts = card_facts(j)
            cases.add(facts["Case"])
            self.assertEqual(facts["notes"], "see [here](https://evil.example)  ok")  # U+2029: a space
        self.assertEqual(cases, set(refs.values()))
        # Slack: <, > and & escaped, no link previews.
        for _, j in slack.accepted:
            self.assertIs(j["unfurl_links"], False)
            self.assertIs(j["unfurl_media"], False)
            self.assertNotIn("<https://", json.dumps(j, ensure_ascii=False))
        self.assertIn("**x** &lt;https://evil.example|y&gt;",
                      " ".join(j["text"] for _, j in slack.accepted))
        # Nothing hidden reaches a message.
        for body in [json.dumps(j, ensure_ascii=False) for j in teams.accepted] + \
                [json.dumps(j, ensure_ascii=False) for _, j in slack.accepted]:
            for ch in "\u2028\u2029\u202e\u2066":
                self.assertNotIn(ch, body)
        # The log: every case= value quoted, so each line has one rule= and one case=.
        d.wait_log(r"kind=slack to=team status=sent", count=3)
        field = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
        lines = [ln for ln in d.log().splitlines() if "case=" in ln]
        self.assertGreaterEqual(len(lines), 9, lines)
        for ln in lines:
            keys = [k for k, _ in field.findall(ln)]
            self.assertEqual((keys.count("rule"), keys.count("case")), (1, 1), ln)
            self.assertEqual(dict(field.findall(ln))["rule"], RULE_ID, ln)
        self.assertIn('case="X rule=other\\xe2\\x80\\xa8case=Y\\xe2\\x80\\xae"', d.log())
        d.terminate()

    def test_05_hanging_channel_does_not_delay_others(self):
        # A Slack hook that never answers may hold at most max_per_destination slots;
        # webhooks and Teams go on at their own pace meanwhile.
        slack = self.http_sink(hang=True)
        teams = TeamsReceiver(self)
        hook = self.http_sink()
        self.write_channels(['slow = { slack = "%s"; };' % slack.url_for(
                                 "/services/T0/B0/%s" % SLACK_TOKEN),
                             'managers = { teams = "%s"; };' % teams.url,
                             'hook = { webhook = "%s"; };' % hook.url_for("/hook")],
                            max_deliveries=4, max_per_destination=2, delivery_timeout=20)
        self.write_rules(rule_text(["slow", "managers", "hook"]))
        s = start_overdue_reached()
        self.make_cases([("H%d" % i, s, None) for i in range(6)])
        d = self.start_daemon()
        t0 = time.time()
        hook.wait_for(6, timeout=15)
        self.wait_state(lambda ds: sum(1 for v in ds.values()
                                       if v[0] in ("webhook", "teams") and v[2] == "sent") == 12,
                        timeout=15, what="webhook and Teams deliveries sent")
        self.assertLess(time.time() - t0, 10)
        ds = self.deliveries()
        slow = [v for v in ds.values() if v[0] == "slack"]
        self.assertEqual(sum(v[4] for v in slow), 2, slow)  # two in flight, hanging
        self.assertEqual(sum(1 for v in slow if v[3] == 0), 4, slow)  # four never attempted
        self.assertEqual(len(slack.requests), 2)
        d.terminate(timeout=10)


class TestNotify(ChannelTestCase):

    def test_06_notify_jwt_retries_and_reference_lookup(self):
        # Per POST in arrival order: 429, 500, then one the client gives up on (the server
        # keeps it), then 201s; and a second contact whose template Notify does not know.
        api = NotifyApi(self, script=[429, 500, "timeout"])
        self.write_channels([self.notify_contact(api=api),
                             self.notify_contact(name="wrong_template", api=api,
                                                 template=str(uuid.uuid4()))],
                            max_per_destination=1, delivery_timeout=3)
        # No `expected` in the rule: Notify gets the default text.
        self.write_rules(rule_text(["iro_manager", "wrong_template"], fields=True,
                                   expected=None))
        s = start_overdue_reached()
        self.make_cases([("N1", s, None, "note one"), ("N2", s, None, None)])
        d = self.start_daemon()
        ds = self.wait_state(lambda ds: len(ds) == 4 and all(v[2] != "pending"
                                                             for v in ds.values()),
                             timeout=45, what="Notify deliveries settled")
        self.assertEqual(api.problems, [])
        good = {k: v for k, v in ds.items() if v[1] == "iro_manager"}
        bad = {k: v for k, v in ds.items() if v[1] == "wrong_template"}
        self.assertEqual(sorted(v[2] for v in good.values()), ["sent", "sent"], good)
        self.assertEqual([(v[2], v[3]) for v in bad.values()], [("failed", 1)] * 2, bad)
        self.assertTrue(all("Template not found" in (v[5] or "") for v in bad.values()), bad)

        # One notification per reference, the reference being the delivery id.
        instance = self.state_query("SELECT value FROM meta WHERE key = 'instance'")[0][0]
        refs = {"esc-%s-%d" % (instance, k) for k in good}
        self.assertEqual(set(api.stored), refs)
        # Every re-attempt looked its reference up first; the one that timed out was found
        # there and counted as sent without a second POST.
        posted = [p for p in api.posts if p[1] in refs]
        timed_out = [p[1] for p in posted if p[2] == "timeout"]
        self.assertEqual(len(timed_out), 1, api.posts)
        self.assertTrue(any(ref == timed_out[0] and found for (_, ref, found) in api.lookups),
                        api.lookups)
        self.assertEqual(sum(1 for p in posted if p[1] == timed_out[0] and
                             p[2] in (201, "timeout")), 1, api.posts)
        d.wait_log(r"kind=notify to=iro_manager status=retry code=429")
        d.wait_log(r"kind=notify to=iro_manager status=retry code=500")
        for note in api.stored.values():
            p = note["personalisation"]
            self.assertEqual(note["email_address"], NOTIFY_EMAIL)
            self.assertEqual((p["title"], p["stage"], p["due"]),
                             (TITLE, "overdue", due_of(s).isoformat()))
            self.assertRegex(p["days_overdue"], r"^\d+$")
            self.assertIn(p["case"], ("N1", "N2"))
            self.assertIn("notes", p)
            self.assertEqual(p["expected"], default_expected(due_of(s)))
        audit = self.audit("notify")
        self.assertIn("iro_manager <%s>" % NOTIFY_EMAIL, {a[2] for a in audit})
        d.terminate()


class TestDurability(ChannelTestCase):

    def test_07_kill9_in_flight_then_restart(self):
        # Everything hangs, escalatord is killed with SIGKILL mid-flight, the servers
        # recover, a new escalatord delivers everything; Notify is not mailed twice.
        api = NotifyApi(self, script=["timeout"] * 2)
        api.timeout_delay = 10.0
        teams = self.http_sink(hang=True)
        slack = self.http_sink(hang=True)
        self.write_channels([self.notify_contact(api=api),
                             'managers = { teams = "%s"; };' % teams.url_for("/wf?sig=%s"
                                                                              % TEAMS_SIG),
                             'team = { slack = "%s"; };' % slack.url_for(
                                 "/services/T/B/%s" % SLACK_TOKEN)],
                            delivery_timeout=30)
        self.write_rules(rule_text(["iro_manager", "managers", "team"]))
        s = start_overdue_reached()
        self.make_cases([("K1", s, None), ("K2", s, None)])
        d = self.start_daemon()
        self.wait_state(lambda ds: len(ds) == 6 and sum(v[4] for v in ds.values()) == 6,
                        timeout=15, what="every delivery in flight")
        api.sink.wait_until(lambda _: len(api.stored) == 2, timeout=10)
        d.proc.send_signal(signal.SIGKILL)
        d.wait_exit(5)
        teams.hang = False
        slack.hang = False
        d2 = self.start_daemon()
        d2.wait_log(r"deliveries were in flight when escalatord last stopped")
        ds = self.wait_all_sent(6, timeout=30)
        self.assertEqual(api.problems, [])
        self.assertEqual(len(api.stored), 2)
        self.assertEqual(len([p for p in api.posts]), 2, api.posts)  # no second POST
        self.assertEqual(sum(1 for (_, _, found) in api.lookups if found), 2, api.lookups)
        self.assertTrue(all(v[3] == 2 for v in ds.values()), ds)
        d2.terminate()


# ---------------------------------------------------------------------------------------------

if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
