"""Answer links (issue 14) for the tests that follow one: the service they run (its rules, its
escalatord.conf, started with the listener up), minting a token, finding the links in a message
as a mail client shows it, reading the answer page's form.

    KEY, CASE_URL, FROM                          the response key (48 bytes, as a key file holds
                                                 it), the case_url base, the sender
    RULES, practice_rules(expected)              the "practice-alert" rule: stage 1 (tm) due on the
                                                 start date + 5 days, stage 2 (sm) five days later
    today(), ago(days)                           the date in London; days before it (ISO text)
    escalator_conf(smtp_port, listen_port, base, digest, extra)
                                                 escalatord.conf after TREE_CONFIG: the SMTP sink,
                                                 listen, response_url = base, response.key
    listen_conf(port, base, key_file)            those last three settings alone
    start(case, smtp, cases, port, base, ...)    configure, start escalatord -v, wait for the
                                                 listener and the messages sent
    mint(key, delivery_id, recipient, expires)   a response token as base/token.c makes it
    links_in(data, base)                         the tokens of base + "/r/<token>" links in a raw
                                                 message (its plain text and its HTML's <a href>)
    page_form(html)                              the answer page's form: action, hidden "form"
"""

import base64
import datetime
import hashlib
import hmac
import re
import struct
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

from . import mail_check

LONDON = ZoneInfo("Europe/London")
FROM = "escalator@council.example"
CASE_URL = "https://cms.council.example/child/"
KEY = "k" * 8 + "Zm9yIHRlc3RzIG9ubHk6IG5vdCBhIHJlYWwga2V5"  # 48 bytes, as a key file holds


def practice_rules(expected=None):
    """The rule file: "practice-alert", in calendar days. Stage 1 (notify tm) falls due on the
    start date + 5 days and alerts at once; stage 2 (notify sm) fires five days after that.
    expected: the rule's "expected" text, if any."""
    return """\
rules = ( {
  id = "practice-alert";
  title = "Practice alert";
  query = "SELECT case_ref, start, tm_email, sm_email FROM cases ORDER BY case_ref";
  due = "5 days";
  working_days_only = false;
%s  stages = (
    { name = "stage1"; at = "0 days"; label = "Stage 1: team manager"; notify = [ "tm" ]; },
    { name = "stage2"; at = "5 days"; label = "Stage 2: service manager"; notify = [ "sm" ]; }
  );
} );
""" % ('  expected = "%s";\n' % expected if expected is not None else "")


RULES = practice_rules()
CASE_COLUMNS = ("case_ref", "start", "tm_email", "sm_email")  # the cases table RULES reads


def today():
    """Today in London (the daemon's timezone)."""
    return datetime.datetime.now(LONDON).date()


def ago(days):
    """The date `days` before today (negative: after), ISO text."""
    return (today() - datetime.timedelta(days=days)).isoformat()


def escalator_conf(smtp_port, listen_port, base, digest="off", extra=""):
    """escalatord.conf's text after DaemonCase.TREE_CONFIG: London, quick polls and retries,
    council.example only, case_url = CASE_URL + case, the SMTP sink on smtp_port, then extra;
    then the listener on 127.0.0.1:listen_port with response_url = base and the key file
    etc/response.key (none of the three when listen_port is None)."""
    text = """\
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
smtp = { url = "smtp://127.0.0.1:%d"; from = "%s"; starttls = "opportunistic"; };
%s""" % (digest, CASE_URL, smtp_port, FROM, extra)
    if listen_port is not None:
        text += listen_conf(listen_port, base)
    return text


def listen_conf(port, base, key_file="response.key"):
    """The settings that answer links take: listen on 127.0.0.1:port, response_url = base,
    response_key_file = key_file (relative to etc/)."""
    return ('listen = "127.0.0.1:%d";\nresponse_url = "%s";\nresponse_key_file = "%s";\n'
            % (port, base, key_file))


def start(case, smtp, cases, port, base, digest="off", messages=None, rules=RULES):
    """In case (a harness.daemon.DaemonCase whose etc/response.key is written): escalatord.conf
    (escalator_conf: the listener on port, response_url = base), the rules, a case store of
    cases; escalatord -v started; wait for its listener, then for `messages` messages (one per
    case by default) at the SMTP sink and as many "status=sent" in the log. Returns the
    harness.daemon.Daemon."""
    case.write_config_text(case.TREE_CONFIG + escalator_conf(smtp.port, port, base, digest))
    case.write_rules(rules)
    case.make_case_store(cases)
    d = case.start_daemon(["-v"])
    d.wait_listening(port)
    n = messages or len(cases)
    smtp.wait_for(n, timeout=20)
    d.wait_log(r"status=sent", timeout=10, count=n)
    return d

TOKEN_RX = r"/r/([A-Za-z0-9_-]{44})"


def _b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def mint(key, delivery_id, recipient, expires):
    """A response token as base/token.c makes it: version 1, the delivery id and the expiry (unix
    seconds) as 8 bytes big-endian each, then the first 16 bytes of HMAC-SHA256 over
    b"escalator-response\\0", those 17 bytes and the recipient as recorded; base64url without
    padding (44 characters)."""
    if isinstance(key, str):
        key = key.encode()
    body = bytes([1]) + struct.pack(">qq", delivery_id, expires)
    mac = hmac.new(key, b"escalator-response\0" + body + recipient.encode(),
                   hashlib.sha256).digest()[:16]
    return _b64url(body + mac)


def links_in(data, base):
    """The tokens of the answer links (base + "/r/" + token) a mail client shows in the raw
    message data (bytes): its plain text and its HTML's links, in order, each once."""
    out = mail_check.check_message(data, [])
    found = re.findall(re.escape(base) + TOKEN_RX, out["plain"] or "")
    found += [m for href in out["links"]
              for m in re.findall("^" + re.escape(base) + TOKEN_RX + "$", href)]
    seen = []
    for t in found:
        if t not in seen:
            seen.append(t)
    return seen


class _Form(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.action = None
        self.form = None
        self.method = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
            self.method = a.get("method")
        if tag == "input" and a.get("name") == "form":
            self.form = a.get("value")


def page_form(html):
    """The answer page's form as a dict: action, method, form (the hidden token); None each
    where the page has none."""
    p = _Form()
    p.feed(html if isinstance(html, str) else html.decode("utf-8"))
    p.close()
    return {"action": p.action, "method": p.method, "form": p.form}
