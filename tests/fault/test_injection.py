#!/usr/bin/python3
"""Fault suite: hostile values in the case store, rule files that try to write, careless secrets.

    /usr/bin/python3 tests/fault/test_injection.py --escalatord build/escalatord [-v]

test_hostile_values_*: case references and columns holding CR/LF, lone CR or LF, quotes and
backslashes, template and RFC 2047 look-alikes, ANSI escapes, C1 controls (NEL, CSI), tabs, 100 kB
values and invalid UTF-8, alerted by email (SMTP, STARTTLS) and webhook.  Every received message
has exactly the expected header fields, once each, ASCII, no line over 998 octets, and exactly the
expected envelope recipient; every webhook body is valid UTF-8 JSON whose `case` and `fields`
are the values with invalid UTF-8 replaced by U+FFFD and nothing else changed; recipient columns
holding a second address or a header are dropped (with a warning), never sent to; every log line
is one line starting `escalatord: `, with no raw control character (C0, DEL, C1) and valid UTF-8
(journald shows a non-UTF-8 line only as "[blob data]").

test_rule_queries_cannot_write: rules whose query is an INSERT/UPDATE/DELETE (with RETURNING),
ATTACH, PRAGMA, CREATE, DROP, VACUUM INTO, or a SELECT followed by a second statement are refused
by --check (exit 1, the rule file named) and by the daemon; and the case store's bytes are
unchanged after --check, --once and a daemon run, in rollback-journal and WAL mode.

test_secret_file_modes / test_secrets_never_shown: a password_file or secret_file readable by
others (or writable by the group) is refused by --check and by the daemon, naming the file and the chmod to run;
the secrets never appear in the log (even with -v and a failed login), in --check output, in the
process arguments (/proc/PID/cmdline) or in the state store.
"""

import email
import email.policy
import hashlib
import json
import os
import re
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402
from harness import mail_check  # noqa: E402

FROM = "escalator@council.example"
TM = "tm.north@council.example"
SMTP_USER = "alerts"
SMTP_PASSWORD = "Pw-7f3e9a1c-NeverLogMe"
HOOK_SECRET = "whsec-5b2d8e0f-NeverLogMeEither"
EXPECTED_HEADERS = ["content-type", "mime-version", "from", "to", "subject", "date",
                    "message-id", "auto-submitted", "x-escalator-rule", "x-escalator-case",
                    "x-escalator-stage", "x-escalator-delivery"]
RESULTS = []

HOSTILE = [
    b"CRLF-1\r\nBcc: evil@attacker.example\r\nX-Injected: yes",
    b"LF-2\nescalatord: error: forged log line",
    b"CR-3\rSubject: forged",
    b"QUOTE-4 \"double\" 'single' \\back\\slash {{title}} {{body}} =?UTF-8?B?ZXZpbA==?=",
    b"BADUTF8-5 \xff\xfe \xc3( \xe2\x82 \xed\xa0\x80 \xc0\xaf end",
    b"ANSI-6 \x1b[31mred\x1b[0m \x07bell \x7fdel",
    "NEL-7 \u0085next \u009b31m csi \u2028ls".encode(),
    b"RAWC1-8 \x85 \x9b31m",
    b"TAB-9\tafter\ttabs",
    b"LONG-10-" + b"x" * 100000,
    b"LONGUTF8-11-" + "\u00e9\u20ac".encode() * 20000,
    b"LONGCRLF-12-" + b"line\r\nBcc: evil@attacker.example\r\n" * 3000,
]
BAD_RECIPIENTS = [
    b"tm.north@council.example\r\nBcc: evil@attacker.example",
    b"tm.north@council.example, evil@attacker.example",
    b"<evil@attacker.example>",
    b"evil@attacker.example\n",
    b"tm.north@council.example;evil@attacker.example",
    b"\"Evil\" <evil@attacker.example>",
]
NOTE = b"note: \"q\" \\ \r\nX-Injected: yes \xff end " + b"n" * 100000


VALUE_MAX = 2000  # characters of one value read from the case store (daemon/casestore.h)


def c_cut(b):
    """What daemon/casestore.c's casestore_rows_text makes of b (a C string): at most VALUE_MAX
    characters (each byte that is not a continuation byte starts one), then "…"."""
    b = b.split(b"\0", 1)[0]
    if len(b) <= VALUE_MAX:
        return b
    n = chars = 0
    while n < len(b) and n < 4 * VALUE_MAX:
        if b[n] & 0xc0 != 0x80:
            if chars == VALUE_MAX:
                break
            chars += 1
        n += 1
    back = 0
    while n < len(b) and n > 0 and back < 3 and b[n] & 0xc0 == 0x80:
        n -= 1
        back += 1
    return b if n >= len(b) else b[:n] + "…".encode()


BIDI_CONTROLS = set("\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e"
                    "\u2066\u2067\u2068\u2069")


def c_sanitize(b):
    """What escalator makes of b (a C string) read from the case store: cut (c_cut), then
    utf8_sanitize: each byte that does not start a valid UTF-8 sequence becomes U+FFFD, the line
    and paragraph separators U+2028/U+2029 become spaces and bidi controls are removed."""
    b = c_cut(b)
    out, i = [], 0
    while i < len(b):
        c = b[i]
        n = 0
        if c < 0x80:
            n = 1
        elif 0xc2 <= c <= 0xdf:
            n = 2 if i + 1 < len(b) and b[i + 1] & 0xc0 == 0x80 else 0
        elif 0xe0 <= c <= 0xef:
            ok = i + 2 < len(b) and b[i + 1] & 0xc0 == 0x80 and b[i + 2] & 0xc0 == 0x80
            if ok and ((c == 0xe0 and b[i + 1] < 0xa0) or (c == 0xed and b[i + 1] > 0x9f)):
                ok = False
            n = 3 if ok else 0
        elif 0xf0 <= c <= 0xf4:
            ok = i + 3 < len(b) and all(b[i + k] & 0xc0 == 0x80 for k in (1, 2, 3))
            if ok and ((c == 0xf0 and b[i + 1] < 0x90) or (c == 0xf4 and b[i + 1] > 0x8f)):
                ok = False
            n = 4 if ok else 0
        if n == 0:
            out.append("\ufffd")
            i += 1
        else:
            ch = b[i:i + n].decode("utf-8")
            if ch in "\u2028\u2029":
                ch = " "
            elif ch in BIDI_CONTROLS:
                ch = ""
            out.append(ch)
            i += n
    return "".join(out)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Injection(fl.FaultCase):

    def smtp(self, **kw):
        kw.setdefault("tls", "starttls")
        kw.setdefault("require_starttls", True)
        kw.setdefault("auth", {SMTP_USER: SMTP_PASSWORD})
        kw.setdefault("require_auth", True)
        return self.smtp_sink(**kw)

    def configure(self, smtp_sink, http_sink, **settings):
        self.write_secret("smtp.secret", SMTP_PASSWORD)
        self.write_secret("hook.secret", HOOK_SECRET)
        ca = (smtp_sink.ca_file if smtp_sink is not None else None)
        if ca is None:
            from harness import default_pki
            ca = default_pki()["ca_file"]
        smtp = None
        if smtp_sink is not None:
            smtp = {"url": "smtp://127.0.0.1:%d" % smtp_sink.port, "from": FROM,
                    "username": SMTP_USER, "password_file": "smtp.secret",
                    "starttls": "required"}
        self.write_config({"hook": (http_sink.url_for("/hook"), "hook.secret")}, smtp=smtp,
                          ca_file=ca, poll_interval=1, retry_min=1, retry_max=2,
                          connect_timeout=2, delivery_timeout=20, shutdown_timeout=2,
                          **settings)

    HOSTILE_RULE = fl.rule_text(
        query="SELECT case_ref, start, tm_email, note FROM cases",
        notify=("tm", "hook"), extra='    fields = [ "note" ];\n')

    def log_problems(self, daemon_or_bytes):
        """Lines of the log that are not one clean line (empty list: all good)."""
        data = daemon_or_bytes if isinstance(daemon_or_bytes, bytes) else \
            daemon_or_bytes.log_bytes()
        problems = []
        if data and not data.endswith(b"\n"):
            problems.append(("end", "no newline at the end"))
        for i, line in enumerate(data.split(b"\n")[:-1], 1):
            why = []
            if not line.startswith(b"escalatord: "):
                why.append("does not start with 'escalatord: ' (a broken line?)")
            c0 = sorted({c for c in line if c < 0x20 or c == 0x7f})
            if c0:
                why.append("raw C0/DEL bytes %r" % [hex(c) for c in c0])
            try:
                text = line.decode("utf-8")
                c1 = sorted({hex(ord(ch)) for ch in text if 0x80 <= ord(ch) <= 0x9f})
                if c1:
                    why.append("raw C1 control characters %r" % c1)
            except UnicodeDecodeError as e:
                why.append("not valid UTF-8 (%s)" % e.reason)
            if why:
                problems.append((i, "; ".join(why), line[:160]))
        return problems

    # -- hostile values ---------------------------------------------------------------------
    hostile = None  # (smtp, http, daemon, rows) of the one run the four tests below look at

    def run_hostile(self):
        """One daemon run over the hostile rows, made by the first test_hostile_values_* test
        in a tree of its own (kept until the end of the class: the log and the state store are
        there) and looked at by all four: the inputs are the same for each."""
        cls = type(self)
        if cls.hostile is None:
            fx = cls()  # a holder for the shared run's tree, servers and daemon
            fx.setUp()
            cls.hostile_tree = fx
            smtp = fx.smtp()
            http = fx.http_sink()
            fx.configure(smtp, http)
            fx.write_rules(self.HOSTILE_RULE)
            rows = [(v, "2024-01-02", TM.encode(), NOTE) for v in HOSTILE]
            rows += [(b"BADRCPT-%d" % i, "2024-01-02", r, b"n") for i, r in
                     enumerate(BAD_RECIPIENTS, 1)]
            fx.make_case_store(rows, columns=("case_ref", "start", "tm_email", "note"))
            d = fx.start_daemon(args=["-v"])
            n_mail, n_hook = len(HOSTILE), len(rows)
            smtp.wait_for(n_mail, timeout=60)
            http.wait_for(n_hook, timeout=60)
            fx.wait_state(lambda ds: len(ds) == n_mail + n_hook and
                          all(v["status"] == "sent" for v in ds.values()), timeout=60,
                          what="every delivery sent")
            time.sleep(2)
            d.terminate()
            cls.hostile = (smtp, http, d, rows)
        return cls.hostile

    def test_hostile_values_email_headers_and_recipients(self):
        smtp, http, d, rows = self.run_hostile()
        msgs = smtp.messages
        self.assertEqual(len(msgs), len(HOSTILE), "one message per hostile case, no more")
        longest = 0
        seen_cases = set()
        for m in msgs:
            self.assertEqual(m.rcpt_tos, [TM], "envelope recipients altered")
            self.assertEqual(m.mail_from, FROM)
            head = m.data.split(b"\r\n\r\n", 1)[0]
            for raw in head.split(b"\r\n"):
                longest = max(longest, len(raw))
                self.assertLessEqual(len(raw), 998, "header line over 998 octets: %r"
                                     % raw[:120])
                self.assertTrue(all(0x20 <= c < 0x7f or c == 0x09 for c in raw),
                                "non-ASCII or control byte in a header line: %r" % raw[:200])
            msg = email.message_from_bytes(m.data, policy=email.policy.default)
            names = [k.lower() for k in msg.keys()]
            self.assertEqual(sorted(names), sorted(EXPECTED_HEADERS),
                             "header fields differ (injected or missing): %r" % names)
            self.assertEqual(str(msg["To"]), TM)
            for k in ("Bcc", "Cc", "X-Injected", "Reply-To"):
                self.assertIsNone(msg[k])
            subject = str(msg["Subject"])
            self.assertNotRegex(subject, r"[\r\n]")
            case_h = str(msg["X-Escalator-Case"])
            self.assertLessEqual(len(case_h), 200)
            seen_cases.add(case_h.split()[0] if case_h else "")
            parts = list(msg.walk())
            self.assertEqual([p.get_content_type() for p in parts],
                             ["multipart/alternative", "text/plain", "text/html"])
            for part in parts[1:]:
                self.assertEqual(sorted(k.lower() for k in part.keys()),
                                 ["content-transfer-encoding", "content-type"])
            # The HTML part, parsed: every hostile value is text, never markup or a link.
            checked = mail_check.check_html(parts[2].get_content(), [])
            self.assertEqual(checked["problems"], [])
            self.assertEqual(checked["links"], [])
        self.assertEqual(len(seen_cases), len(HOSTILE), seen_cases)
        self.assertEqual(smtp.sessions["rcpt_rejections"], 0)
        RESULTS.append(dict(check="email headers and recipients", messages=len(msgs),
                            hostile_values=len(HOSTILE), injected_headers=0,
                            wrong_recipients=0, longest_header_line=longest))

    def test_hostile_values_bad_recipient_columns_dropped(self):
        smtp, http, d, rows = self.run_hostile()
        rcpts = sorted({r for m in smtp.messages for r in m.rcpt_tos})
        self.assertEqual(rcpts, [TM], "someone other than the team manager was mailed")
        log = d.log()
        for i in range(1, len(BAD_RECIPIENTS) + 1):
            self.assertRegex(log, r"BADRCPT-%d" % i)
        warned = re.findall(r"warning: .*BADRCPT-\d+.*", log)
        self.assertGreaterEqual(len(warned), len(BAD_RECIPIENTS),
                                "each dropped address gets a warning naming the case")
        self.assertNotIn(b"attacker.example\r\n", d.log_bytes())
        deliveries = d.case.state_query("SELECT kind, recipient FROM delivery")
        self.assertFalse([r for r in deliveries if "attacker" in r[1]],
                         "a hostile address is in the outbox")
        RESULTS.append(dict(check="recipient columns with a second address or a header",
                            rows=len(BAD_RECIPIENTS), sent_to_wrong_person=0))

    def test_hostile_values_webhook_json(self):
        smtp, http, d, rows = self.run_hostile()
        reqs = http.requests
        self.assertEqual(len(reqs), len(rows))
        want = {c_sanitize(r[0]) for r in rows}
        got = set()
        for r in reqs:
            text = r.body.decode("utf-8")  # strict: the body must be valid UTF-8
            j = json.loads(text)
            self.assertEqual(sorted(j), sorted(["rule", "title", "case", "stage", "start", "due",
                                                "fires", "days_late", "delivery", "fields",
                                                "label", "urgency", "status", "history"]))
            got.add(j["case"])
            row = [x for x in rows if c_sanitize(x[0]) == j["case"]]
            self.assertEqual(len(row), 1, "JSON case %r is not a sanitised case reference"
                             % j["case"][:80])
            self.assertEqual(j["fields"], {"note": c_sanitize(row[0][3])})
            self.assertEqual(r.headers["Content-Type"], "application/json")
        self.assertEqual(got, want, "JSON values differ from the sanitised case references")
        RESULTS.append(dict(check="webhook JSON", requests=len(reqs), invalid_json=0,
                            altered_values=0))

    def test_hostile_values_log_lines(self):
        smtp, http, d, rows = self.run_hostile()
        data = d.log_bytes()
        problems = self.log_problems(data)
        for v in (b"escalatord: error: forged log line", b"Subject: forged"):
            for line in data.split(b"\n"):
                self.assertFalse(line.startswith(v), "a forged log line: %r" % line[:200])
        lines = data.count(b"\n")
        RESULTS.append(dict(check="log lines", lines=lines, bad_lines=len(problems),
                            examples=[p[1] for p in problems[:3]]))
        self.assertEqual(problems, [], "%d log lines are not one clean line (first: %r)"
                         % (len(problems), problems[:4]))

    # -- rule queries -----------------------------------------------------------------------
    WRITES = [
        ("insert", "INSERT INTO cases (case_ref, start) VALUES ('X', '2024-01-01') "
                   "RETURNING case_ref, start"),
        ("update", "UPDATE cases SET start = '2020-01-01' RETURNING case_ref, start"),
        ("delete", "DELETE FROM cases RETURNING case_ref, start"),
        ("cte-delete", "WITH d AS (SELECT 1) DELETE FROM cases RETURNING case_ref, start"),
        ("replace", "REPLACE INTO cases (case_ref, start) VALUES ('X', '2024-01-01') "
                    "RETURNING case_ref, start"),
        ("attach", "ATTACH DATABASE 'other.sqlite' AS other"),
        ("pragma", "PRAGMA writable_schema = 1"),
        ("pragma-journal", "PRAGMA journal_mode = DELETE"),
        ("pragma-query", "PRAGMA query_only = 0"),
        ("create", "CREATE TABLE stolen AS SELECT case_ref, start FROM cases"),
        ("drop", "DROP TABLE cases"),
        ("vacuum-into", "VACUUM INTO 'copy.sqlite'"),
        ("second-statement", "SELECT case_ref, start FROM cases; DELETE FROM cases"),
        ("second-statement-comment", "SELECT case_ref, start FROM cases; /* x */ DROP TABLE "
                                     "cases"),
        ("begin", "BEGIN IMMEDIATE"),
        ("savepoint", "SAVEPOINT s"),
    ]

    def test_rule_queries_cannot_write(self):
        http = self.http_sink()
        self.configure(None, http)
        for mode in ("DELETE", "WAL"):
            self.make_case_store([("C1", "2024-01-02"), ("C2", "2024-01-03")],
                                 journal_mode=mode)
            before = sha256(self.case_store)
            refused = []
            for name, q in self.WRITES:
                with self.subTest(query=name, journal_mode=mode):
                    self.write_rules(fl.rule_text(query=q.replace('"', '\\"'),
                                                  notify=("hook",)))
                    p = self.run_escalatord(["--check"])
                    out = (p.stdout + p.stderr).decode("utf-8", "replace")
                    self.assertEqual(p.returncode, 1, "--check accepted %s:\n%s" % (q, out))
                    self.assertIn("10-fault.conf:", out, "the rule file is not named")
                    self.assertRegex(out, r"may only read|exactly one SQL statement|"
                                          r"must be a SELECT", out)
                    p = self.run_escalatord(["--once"])
                    self.assertEqual(p.returncode, 1, "--once ran a rule that writes")
                    self.assertEqual(sha256(self.case_store), before,
                                     "the case store changed (%s)" % name)
                    for f in ("copy.sqlite", "other.sqlite"):
                        self.assertFalse(os.path.exists(os.path.join(self.etc, f)) or
                                         os.path.exists(os.path.join(self.run_dir, f)),
                                         "%s created a file" % name)
                    refused.append(name)
            # a legitimate run: --check, --once, the daemon; the bytes stay the same
            self.write_rules(fl.rule_text(notify=("hook",)))
            st0 = os.stat(self.case_store)
            self.assertEqual(self.run_escalatord(["--check"]).returncode, 0)
            self.assertEqual(self.run_escalatord(["--once"]).returncode, 0)
            d = self.start_daemon()
            http.wait_for(2, timeout=15)
            time.sleep(2.5)
            d.terminate()
            st1 = os.stat(self.case_store)
            self.assertEqual(sha256(self.case_store), before,
                             "the case store's bytes changed after a run (%s mode)" % mode)
            self.assertEqual(st0.st_mtime_ns, st1.st_mtime_ns)
            extra = sorted(f for f in os.listdir(os.path.dirname(self.case_store))
                           if f.startswith("cases.sqlite-") and
                           os.path.getsize(os.path.join(os.path.dirname(self.case_store), f)))
            RESULTS.append(dict(check="rule queries that write (%s journal)" % mode,
                                refused=len(refused), of=len(self.WRITES),
                                case_store_bytes_changed=False,
                                side_files_left=extra))
            for f in os.listdir(os.path.dirname(self.case_store)):
                os.unlink(os.path.join(os.path.dirname(self.case_store), f))
            for f in os.listdir(os.path.dirname(self.state)):
                os.unlink(os.path.join(os.path.dirname(self.state), f))
            http.clear()

    # -- secrets ----------------------------------------------------------------------------
    def test_secret_file_modes(self):
        smtp = self.smtp()
        http = self.http_sink()
        self.configure(smtp, http)
        self.write_rules(fl.rule_text(notify=("hook",)))
        self.make_case_store([("C1", "2024-01-02")])
        tried = 0
        for name in ("smtp.secret", "hook.secret"):
            for mode in (0o644, 0o620, 0o604, 0o660, 0o666):  # 0640/0440 (LoadCredential=) are allowed
                with self.subTest(file=name, mode=oct(mode)):
                    path = os.path.join(self.etc, name)
                    os.chmod(path, mode)
                    p = self.run_escalatord(["--check"])
                    out = (p.stdout + p.stderr).decode("utf-8", "replace")
                    self.assertEqual(p.returncode, 1, "mode %o accepted:\n%s" % (mode, out))
                    self.assertIn(path, out, "the file is not named")
                    self.assertIn("chmod 600 %s" % path, out, "the chmod to run is not given")
                    self.assertNotIn("configuration OK", out)
                    for secret in (SMTP_PASSWORD, HOOK_SECRET):
                        self.assertNotIn(secret, out)
                    p = self.run_escalatord([], timeout=20)  # the daemon refuses to start
                    self.assertEqual(p.returncode, 1)
                    self.assertIn(b"chmod 600 " + path.encode(), p.stderr)
                    os.chmod(path, 0o600)
                    tried += 1
        self.assertEqual(self.run_escalatord(["--check"]).returncode, 0)
        # a secret file with two lines: refused without echoing either
        path = self.write_secret("hook.secret", HOOK_SECRET + "\nsecond-line-" + HOOK_SECRET)
        p = self.run_escalatord(["--check"])
        self.assertEqual(p.returncode, 1)
        self.assertNotIn(HOOK_SECRET.encode(), p.stdout + p.stderr)
        self.assertIn(path.encode(), p.stderr)
        RESULTS.append(dict(check="secret files readable by others or writable by group", tried=tried,
                            refused=tried))

    def test_secrets_never_shown(self):
        smtp = self.smtp(auth={SMTP_USER: "not-the-configured-password"})  # login fails
        http = self.http_sink(status=500, body=b"temporarily unavailable\n")
        self.configure(smtp, http)
        self.write_rules(fl.rule_text(query="SELECT case_ref, start, tm_email FROM cases",
                                      notify=("tm", "hook")))
        self.make_case_store([("C1", "2024-01-02", TM)],
                             columns=("case_ref", "start", "tm_email"))
        p = self.run_escalatord(["--check"])
        self.assertEqual(p.returncode, 0, p.stderr)
        d = self.start_daemon(args=["-v"])
        d.wait_log(r"kind=email .*status=retry", timeout=20)
        d.wait_log(r"kind=webhook .*status=retry", timeout=20)
        cmdline = d.cmdline()
        with open("/proc/%d/environ" % d.pid, "rb") as f:
            environ = f.read()
        time.sleep(1)
        d.terminate()
        self.assertTrue(smtp.auths and not smtp.auths[0].success, "no failed login happened")
        self.assertEqual(smtp.auths[0].secret, SMTP_PASSWORD)  # it was sent, over TLS
        self.assertTrue(smtp.auths[0].tls)
        places = {"log (-v)": d.log_bytes(), "--check output": p.stdout + p.stderr,
                  "/proc/PID/cmdline": cmdline, "/proc/PID/environ": environ}
        for f in sorted(os.listdir(os.path.dirname(self.state))):
            with open(os.path.join(os.path.dirname(self.state), f), "rb") as fh:
                places["state store %s" % f] = fh.read()
        for where, data in places.items():
            for secret in (SMTP_PASSWORD, HOOK_SECRET):
                self.assertNotIn(secret.encode(), data, "a secret appears in %s" % where)
        self.assertRegex(d.log(), r"authentication failed")
        RESULTS.append(dict(check="secrets in logs, --check, cmdline, environ, state store",
                            places=len(places), found=0))

    @classmethod
    def tearDownClass(cls):
        tree = getattr(cls, "hostile_tree", None)
        cls.hostile = cls.hostile_tree = None
        for r in RESULTS:
            fl.report("injection", **r)
        if tree is not None:
            tree.tearDown()  # (fails the class on a sanitizer report in the shared run's log)


if __name__ == "__main__":
    sys.exit(fl.run_main(None, __doc__))
