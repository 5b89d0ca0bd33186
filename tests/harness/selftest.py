"""Self-test of the harness, with Python's own clients (smtplib, http.client, ssl).

    cd tests && /usr/bin/python3 -m harness.selftest -v

Everything listens on 127.0.0.1 with ephemeral ports; the whole suite takes a few seconds.
"""

import base64
import http.client
import json
import os
import queue
import shutil
import smtplib
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from .certs import make_test_pki
from .http_sink import HttpSink
from .pgcluster import PgCluster, PgError
from .smtp_sink import SmtpSink

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_tmp = None
PKI = None


def setUpModule():
    global _tmp, PKI
    _tmp = tempfile.mkdtemp(prefix="harness-selftest-")
    PKI = make_test_pki(os.path.join(_tmp, "pki"))


def tearDownModule():
    shutil.rmtree(_tmp, ignore_errors=True)


def client_ctx():
    return ssl.create_default_context(cafile=PKI["ca_file"])


def message(subject="Overdue: review for child C-1", to="tm.north@council.example",
            body="Case C-1: statutory visit is 3 working days overdue.\n"):
    return ("From: escalator@council.example\r\nTo: %s\r\nSubject: %s\r\n"
            "Date: Mon, 02 Nov 2026 09:00:00 +0000\r\nMessage-ID: <1@test>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n%s" % (to, subject, body.replace("\n", "\r\n")))


def harness_threads():
    return [t for t in threading.enumerate() if t.name.startswith(("SmtpSink", "HttpSink"))]


class _Base(unittest.TestCase):
    def tearDown(self):
        # every sink used by a test is stopped by then: no thread may be left behind
        left = harness_threads()
        self.assertEqual(left, [], "harness threads left running")


class CertsTest(_Base):
    def test_pki_files_and_cache(self):
        again = make_test_pki(PKI["dir"])
        self.assertEqual(again, PKI)
        for key in ("ca_file", "cert_file", "key_file", "bad_cert_file", "bad_key_file"):
            self.assertTrue(os.path.getsize(PKI[key]) > 0, key)
        mtime = os.path.getmtime(PKI["cert_file"])
        make_test_pki(PKI["dir"])
        self.assertEqual(os.path.getmtime(PKI["cert_file"]), mtime)  # cached, not regenerated

    def test_openssl_verify(self):
        ok = subprocess.run(["openssl", "verify", "-CAfile", PKI["ca_file"], PKI["cert_file"]],
                            capture_output=True, timeout=30)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        bad = subprocess.run(["openssl", "verify", "-CAfile", PKI["ca_file"], PKI["bad_cert_file"]],
                             capture_output=True, timeout=30)
        self.assertNotEqual(bad.returncode, 0)


class SmtpBasicTest(_Base):
    def test_plain_message_recorded(self):
        out = os.path.join(_tmp, "smtp.jsonl")
        with SmtpSink(out=out) as sink:
            self.assertNotEqual(sink.port, 0)
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as c:
                c.ehlo("escalator.test")
                self.assertNotIn("auth", c.esmtp_features)
                self.assertNotIn("starttls", c.esmtp_features)
                c.sendmail("escalator@council.example", ["a@council.example", "b@council.example"],
                           message().encode())
            msgs = sink.wait_for(1, timeout=5)
            m = msgs[0]
            self.assertEqual(m.mail_from, "escalator@council.example")
            self.assertEqual(m.rcpt_tos, ["a@council.example", "b@council.example"])
            self.assertEqual(m.subject, "Overdue: review for child C-1")
            self.assertEqual(m.message["To"], "tm.north@council.example")
            self.assertIn("3 working days overdue", m.body_text())
            self.assertIn(b"\r\nSubject: Overdue", m.data)
            self.assertFalse(m.tls)
            self.assertIsNone(m.auth_user)
            self.assertEqual(m.helo, "escalator.test")
            self.assertEqual(sink.sessions["connections"], 1)
            self.assertEqual(sink.errors, [])
        with open(out) as f:
            rec = json.loads(f.readline())
        self.assertEqual(rec["subject"], "Overdue: review for child C-1")
        self.assertEqual(rec["rcpt_tos"], ["a@council.example", "b@council.example"])

    def test_wait_for_times_out(self):
        with SmtpSink() as sink:
            t = time.monotonic()
            with self.assertRaises(TimeoutError):
                sink.wait_for(1, timeout=0.2)
            self.assertEqual(sink.wait_for(1, timeout=0.1, strict=False), [])
            self.assertLess(time.monotonic() - t, 2)

    def test_concurrent_clients(self):
        with SmtpSink() as sink:
            def send(i):
                with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as c:
                    c.sendmail("e@x", ["r%d@x" % i], message(subject="n%d" % i).encode())
            threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            msgs = sink.wait_for(6, timeout=5)
            self.assertEqual(sorted(m.subject for m in msgs), ["n%d" % i for i in range(6)])


class SmtpTlsAuthTest(_Base):
    def test_starttls_login_plain_and_login(self):
        with SmtpSink(tls="starttls", cert_file=PKI["cert_file"], key_file=PKI["key_file"],
                      auth={"alerts": "s3cret"}, require_starttls=True, require_auth=True) as sink:
            with smtplib.SMTP("localhost", sink.port, timeout=5) as c:
                c.ehlo("client")
                self.assertIn("starttls", c.esmtp_features)
                self.assertNotIn("auth", c.esmtp_features)  # only after TLS
                code, text = c.mail("e@x")
                self.assertEqual(code, 530)  # require_starttls
                c.starttls(context=client_ctx())
                c.ehlo("client")
                self.assertEqual(set(c.esmtp_features["auth"].split()), {"PLAIN", "LOGIN"})
                code, _ = c.mail("e@x")
                self.assertEqual(code, 530)  # require_auth
                c.rset()
                c.login("alerts", "s3cret")  # smtplib picks PLAIN
                c.sendmail("e@x", ["r@x"], message().encode())
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as c:  # IP SAN
                c.starttls(context=client_ctx())
                c.user, c.password = "alerts", "s3cret"
                c.ehlo("client")
                c.auth("LOGIN", c.auth_login, initial_response_ok=False)
                c.sendmail("e@x", ["r2@x"], message().encode())
            msgs = sink.wait_for(2)
            self.assertTrue(all(m.tls for m in msgs))
            self.assertEqual([m.auth_user for m in msgs], ["alerts", "alerts"])
            self.assertEqual([m.auth_mechanism for m in msgs], ["PLAIN", "LOGIN"])
            auths = sink.auths
            self.assertEqual([(a.mechanism, a.user, a.secret, a.success) for a in auths],
                             [("PLAIN", "alerts", "s3cret", True), ("LOGIN", "alerts", "s3cret", True)])
            self.assertEqual(auths[0].sasl, "\0alerts\0s3cret")
            self.assertEqual(auths[1].responses, ["alerts", "s3cret"])
            self.assertEqual(sink.sessions["starttls"], 2)

    def test_bad_password(self):
        with SmtpSink(tls="starttls", auth={"alerts": "s3cret"}) as sink:
            with smtplib.SMTP("localhost", sink.port, timeout=5) as c:
                c.starttls(context=ssl.create_default_context(cafile=sink.ca_file))
                with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                    c.login("alerts", "wrong")
                self.assertEqual(cm.exception.smtp_code, 535)
            self.assertGreaterEqual(sink.sessions["auth_failures"], 1)
            self.assertFalse(sink.auths[0].success)

    def test_auth_without_tls_when_allowed(self):
        with SmtpSink(auth={"u": "p"}) as sink:  # no TLS configured: AUTH offered in clear
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as c:
                c.login("u", "p")
                c.sendmail("e@x", ["r@x"], message().encode())
            m = sink.wait_for(1)[0]
            self.assertEqual((m.tls, m.auth_user), (False, "u"))
        with SmtpSink(tls="starttls", auth={"u": "p"}, auth_require_tls=False) as sink:
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as c:
                c.ehlo("x")
                self.assertIn("auth", c.esmtp_features)
                c.login("u", "p")

    def test_smtps(self):
        with SmtpSink(tls="smtps", cert_file=PKI["cert_file"], key_file=PKI["key_file"],
                      auth={"u": "p"}, require_auth=True) as sink:
            with smtplib.SMTP_SSL("localhost", sink.port, timeout=5, context=client_ctx()) as c:
                c.ehlo("x")
                self.assertNotIn("starttls", c.esmtp_features)
                c.login("u", "p")
                c.sendmail("e@x", ["r@x"], message().encode())
            m = sink.wait_for(1)[0]
            self.assertTrue(m.tls)
            self.assertEqual(m.auth_user, "u")

    def test_untrusted_certificate_starttls(self):
        with SmtpSink(tls="starttls", cert_file=PKI["bad_cert_file"],
                      key_file=PKI["bad_key_file"]) as sink:
            with smtplib.SMTP("localhost", sink.port, timeout=5) as c:
                with self.assertRaises(ssl.SSLCertVerificationError):
                    c.starttls(context=client_ctx())
            self.assertTrue(sink.wait_until(lambda s: s.sessions["tls_failures"] == 1, 5))
            self.assertEqual(sink.messages, [])
            self.assertEqual(sink.errors, [])

    def test_untrusted_certificate_smtps(self):
        with SmtpSink(tls="smtps", cert_file=PKI["bad_cert_file"],
                      key_file=PKI["bad_key_file"]) as sink:
            with self.assertRaises(ssl.SSLCertVerificationError):
                smtplib.SMTP_SSL("localhost", sink.port, timeout=5, context=client_ctx())
            self.assertTrue(sink.wait_until(lambda s: s.sessions["tls_failures"] == 1, 5))
            self.assertEqual(sink.sessions["connections"], 0)
            self.assertEqual(sink.errors, [])

    def test_xoauth2(self):
        tokens = {"alerts@council.example": "ya29.good"}
        seen = []

        def check(user, token):
            seen.append((user, token))
            return tokens.get(user) == token

        def xoauth2(user, token):
            return lambda challenge=None: (
                "user=%s\x01auth=Bearer %s\x01\x01" % (user, token) if challenge is None else "")

        with SmtpSink(tls="starttls", xoauth2_check=check, auth_mechanisms=["XOAUTH2"]) as sink:
            with smtplib.SMTP("localhost", sink.port, timeout=5) as c:
                c.starttls(context=ssl.create_default_context(cafile=sink.ca_file))
                c.ehlo("x")
                self.assertEqual(c.esmtp_features["auth"].split(), ["XOAUTH2"])
                with self.assertRaises(smtplib.SMTPAuthenticationError):
                    c.auth("XOAUTH2", xoauth2("alerts@council.example", "expired"))
                c.auth("XOAUTH2", xoauth2("alerts@council.example", "ya29.good"))
                c.sendmail("alerts@council.example", ["r@x"], message().encode())
            m = sink.wait_for(1)[0]
            self.assertEqual((m.auth_mechanism, m.auth_user), ("XOAUTH2", "alerts@council.example"))
            bad, good = sink.auths
            self.assertEqual(bad.sasl, "user=alerts@council.example\x01auth=Bearer expired\x01\x01")
            self.assertFalse(bad.success)
            self.assertEqual(len(bad.responses), 2)  # after the Gmail-style 334 error challenge
            self.assertEqual((good.user, good.secret, good.success),
                             ("alerts@council.example", "ya29.good", True))
            self.assertEqual(seen[-1], ("alerts@council.example", "ya29.good"))
            # a client that hangs up on the error challenge (as curl 7.88 does) is recorded too
            c = smtplib.SMTP("localhost", sink.port, timeout=5)
            try:
                c.starttls(context=ssl.create_default_context(cafile=sink.ca_file))
                c.ehlo("x")
                sasl = base64.b64encode(b"user=u@x\x01auth=Bearer nope\x01\x01").decode()
                self.assertEqual(c.docmd("AUTH", "XOAUTH2 " + sasl)[0], 334)
            finally:
                c.close()  # hang up, no QUIT
            self.assertTrue(sink.wait_until(lambda s: len(s.auths) == 3, 5))
            self.assertEqual((sink.auths[2].user, sink.auths[2].success), ("u@x", False))


class SmtpFaultTest(_Base):
    def test_fail_rcpt_all_and_one(self):
        with SmtpSink(fail_rcpt=(550, "5.1.1 no such user")) as sink:
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as c:
                with self.assertRaises(smtplib.SMTPRecipientsRefused) as cm:
                    c.sendmail("e@x", ["a@x"], message().encode())
                self.assertEqual(cm.exception.recipients["a@x"][0], 550)
                sink.fail_rcpt = None
                sink.set_fail_rcpt(451, "4.2.0 mailbox busy", address="B@x")
                refused = c.sendmail("e@x", ["a@x", "b@x"], message().encode())
                self.assertEqual(refused, {"b@x": (451, b"4.2.0 mailbox busy")})
            m = sink.wait_for(1)[0]
            self.assertEqual(m.rcpt_tos, ["a@x"])
            self.assertEqual(sink.sessions["rcpt_rejections"], 2)

    def test_fail_data(self):
        with SmtpSink(fail_data=(451, "4.3.0 try later")) as sink:
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as c:
                with self.assertRaises(smtplib.SMTPDataError) as cm:
                    c.sendmail("e@x", ["a@x"], message().encode())
                self.assertEqual(cm.exception.smtp_code, 451)
                sink.fail_data = (554, "5.6.0 rejected")
                with self.assertRaises(smtplib.SMTPDataError) as cm:
                    c.sendmail("e@x", ["a@x"], message().encode())
                self.assertEqual(cm.exception.smtp_code, 554)
                sink.clear_faults()
                c.sendmail("e@x", ["a@x"], message().encode())
            self.assertEqual(len(sink.wait_for(1)), 1)

    def test_drop_connection(self):
        with SmtpSink(drop_connection="after_mail") as sink:
            c = smtplib.SMTP("127.0.0.1", sink.port, timeout=5)
            c.ehlo("x")
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                c.mail("e@x")
            c.close()
            sink.drop_connection = "after_data"
            c = smtplib.SMTP("127.0.0.1", sink.port, timeout=5)
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                c.sendmail("e@x", ["a@x"], message().encode())
            c.close()
            sink.drop_connection = "connect"
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                smtplib.SMTP("127.0.0.1", sink.port, timeout=5)
            self.assertTrue(sink.wait_until(lambda s: s.sessions["dropped"] == 3, 5))
            self.assertEqual(sink.messages, [])

    def test_refuse_resume(self):
        with SmtpSink() as sink:
            port = sink.port
            sink.refuse = True
            with self.assertRaises(ConnectionRefusedError):
                smtplib.SMTP("127.0.0.1", port, timeout=5)
            sink.resume()
            self.assertEqual(sink.port, port)
            with smtplib.SMTP("127.0.0.1", port, timeout=5) as c:
                c.sendmail("e@x", ["a@x"], message().encode())
            self.assertEqual(len(sink.wait_for(1)), 1)
            sink.refuse = True  # stop() while refusing must work too

    def test_hang_on_connect_and_at_data(self):
        with SmtpSink(hang=True) as sink:
            t = time.monotonic()
            with self.assertRaises(smtplib.SMTPServerDisconnected) as cm:
                smtplib.SMTP("127.0.0.1", sink.port, timeout=0.5)
            self.assertIn("timed out", str(cm.exception))
            self.assertLess(time.monotonic() - t, 3)
            sink.hang = "data"
            c = smtplib.SMTP("127.0.0.1", sink.port, timeout=0.5)
            c.ehlo("x")
            c.mail("e@x")
            c.rcpt("a@x")
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                c.data(message().encode())
            c.close()
            sink.hang = "after_data"
            c = smtplib.SMTP("127.0.0.1", sink.port, timeout=0.5)
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                c.sendmail("e@x", ["a@x"], message().encode())
            c.close()
            self.assertEqual(sink.sessions["hung"], 3)
            self.assertEqual(sink.messages, [])
            # a client that is still connected to a hung server does not block stop()
            sink.hang = True
            s = socket.create_connection(("127.0.0.1", sink.port), timeout=5)
        s.close()


class HttpSinkTest(_Base):
    def _post(self, sink, path="/hook", body=None, timeout=5, ctx=None, host="127.0.0.1"):
        if sink.tls:
            c = http.client.HTTPSConnection(host, sink.port, timeout=timeout,
                                            context=ctx or client_ctx())
        else:
            c = http.client.HTTPConnection(host, sink.port, timeout=timeout)
        try:
            c.request("POST", path, body=json.dumps(body or {"case": "C-1"}),
                      headers={"Content-Type": "application/json", "X-Escalator": "1"})
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def test_request_recorded(self):
        out = os.path.join(_tmp, "http.jsonl")
        with HttpSink(out=out) as sink:
            t0 = time.time()
            status, _, body = self._post(sink, "/hooks/hos?x=1", {"case": "C-9", "days": 3})
            self.assertEqual((status, body), (200, b"ok\n"))
            req = sink.wait_for(1)[0]
            self.assertEqual((req.method, req.path, req.url_path), ("POST", "/hooks/hos?x=1", "/hooks/hos"))
            self.assertEqual(req.query, {"x": ["1"]})
            self.assertEqual(req.headers["content-type"], "application/json")
            self.assertEqual(req.headers["X-Escalator"], "1")
            self.assertEqual(req.json(), {"case": "C-9", "days": 3})
            self.assertGreaterEqual(req.time, t0)
            self.assertEqual((req.status, req.outcome, req.tls), (200, "answered", False))
        with open(out) as f:
            self.assertEqual(json.loads(f.readline())["path"], "/hooks/hos?x=1")

    def test_https_and_untrusted(self):
        with HttpSink(tls=True, cert_file=PKI["cert_file"], key_file=PKI["key_file"]) as sink:
            self.assertTrue(sink.url.startswith("https://127.0.0.1:"))
            self.assertEqual(self._post(sink, host="localhost")[0], 200)
            self.assertEqual(self._post(sink, host="127.0.0.1")[0], 200)
            self.assertTrue(all(r.tls for r in sink.wait_for(2)))
        with HttpSink(tls=True, cert_file=PKI["bad_cert_file"], key_file=PKI["bad_key_file"]) as sink:
            with self.assertRaises(ssl.SSLCertVerificationError):
                self._post(sink, host="localhost")
            self.assertTrue(sink.wait_until(lambda s: s.counters["tls_failures"] == 1, 5))
            self.assertEqual(sink.requests, [])

    def test_status_sequence_retry_after_and_runtime_status(self):
        with HttpSink(responses=[500, 429, (503, {"X-Why": "maint"}, b"down"), "drop"],
                      retry_after="7") as sink:
            s1, h1, _ = self._post(sink)
            s2, h2, _ = self._post(sink)
            s3, h3, b3 = self._post(sink)
            self.assertEqual((s1, s2, s3), (500, 429, 503))
            self.assertNotIn("Retry-After", h1)
            self.assertEqual((h2["Retry-After"], h3["Retry-After"], h3["X-Why"], b3), ("7", "7", "maint", b"down"))
            with self.assertRaises(http.client.RemoteDisconnected):
                self._post(sink)
            self.assertEqual(self._post(sink)[0], 200)  # sequence used up: default status
            sink.status = 404
            self.assertEqual(self._post(sink)[0], 404)
            sink.responses = lambda req: (201, {}, {"got": req.json()["case"]})
            st, hd, body = self._post(sink, body={"case": "C-5"})
            self.assertEqual((st, json.loads(body), hd["Content-Type"]), (201, {"got": "C-5"}, "application/json"))
            self.assertEqual([r.status for r in sink.requests], [500, 429, 503, None, 200, 404, 201])

    def test_delay(self):
        with HttpSink(delay=0.4) as sink:
            t = time.monotonic()
            self.assertEqual(self._post(sink)[0], 200)
            self.assertGreaterEqual(time.monotonic() - t, 0.4)
            sink.delay = 2.0
            with self.assertRaises(TimeoutError):
                self._post(sink, timeout=0.3)

    def test_hang_drop_refuse_resume(self):
        with HttpSink(hang=True) as sink:
            t = time.monotonic()
            with self.assertRaises(TimeoutError):
                self._post(sink, timeout=0.5)
            self.assertLess(time.monotonic() - t, 3)
            self.assertTrue(sink.wait_until(lambda s: s.requests and s.requests[0].outcome == "hung", 3))
            # a hung request is answered once hang is switched off
            res = {}
            th = threading.Thread(target=lambda: res.update(r=self._post(sink, timeout=5)))
            th.start()
            sink.wait_for(2)
            sink.hang = False
            th.join(5)
            self.assertEqual(res["r"][0], 200)
            sink.drop = True
            with self.assertRaises(http.client.RemoteDisconnected):
                self._post(sink)
            sink.drop = "reset"
            with self.assertRaises((ConnectionResetError, http.client.RemoteDisconnected)):
                self._post(sink)
            sink.drop = False
            port = sink.port
            sink.refuse = True
            with self.assertRaises(ConnectionRefusedError):
                self._post(sink)
            sink.resume()
            self.assertEqual(sink.port, port)
            self.assertEqual(self._post(sink)[0], 200)
            self.assertEqual(sink.counters["dropped"], 2)
            # stop() with a client still waiting on a hung request
            sink.hang = True
            waiting = {}

            def wait_hung():
                try:
                    waiting["result"] = self._post(sink, timeout=5)
                except Exception as e:  # the connection is closed by stop()
                    waiting["error"] = e

            th = threading.Thread(target=wait_hung)
            th.start()
            sink.wait_for(6)
        th.join(5)
        self.assertFalse(th.is_alive())
        self.assertIn("error", waiting)

    def test_chunked_and_expect_continue(self):
        with HttpSink() as sink:
            c = http.client.HTTPConnection("127.0.0.1", sink.port, timeout=5)
            c.request("POST", "/c", body=iter([b"hello ", b"world"]), encode_chunked=True,
                      headers={"Transfer-Encoding": "chunked"})
            self.assertEqual(c.getresponse().status, 200)
            c.close()
            s = socket.create_connection(("127.0.0.1", sink.port), timeout=5)
            s.sendall(b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                      b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
            self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 100"))
            s.sendall(b"12345")
            resp = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                resp += chunk
            s.close()
            self.assertTrue(resp.startswith(b"HTTP/1.1 200"))
            self.assertEqual([r.body for r in sink.wait_for(2)], [b"hello world", b"12345"])


class _Cli:
    """Runs a sink's command line; lines of stdout arrive on a queue."""

    def __init__(self, module, *args):
        env = dict(os.environ, PYTHONPATH=TESTS_DIR)
        self.proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=TESTS_DIR,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def line(self, timeout=10):
        line = self.lines.get(timeout=timeout)
        if line is None:
            raise AssertionError("CLI exited: %s" % self.proc.stderr.read())
        return line

    def until(self, predicate, timeout=10):
        seen = []
        deadline = time.monotonic() + timeout
        while True:
            line = self.line(max(0.1, deadline - time.monotonic()))
            seen.append(line)
            if predicate(line):
                return seen

    def stop(self):
        self.proc.terminate()
        try:
            return self.proc.wait(10)
        finally:
            self.reader.join(5)
            self.proc.stdout.close()
            self.proc.stderr.close()


class CliTest(_Base):
    def test_smtp_cli(self):
        cli = _Cli("harness.smtp_sink", "--port", "0", "--starttls", "--pki-dir", PKI["dir"],
                   "--auth", "alerts:pw", "--print")
        try:
            ready = cli.line()
            self.assertRegex(ready, r"^READY \d+$")
            port = int(ready.split()[1])
            with smtplib.SMTP("localhost", port, timeout=5) as c:
                c.starttls(context=client_ctx())
                c.login("alerts", "pw")
                c.sendmail("escalator@council.example", ["tm@x"], message().encode())
            block = "\n".join(cli.until(lambda l: l.startswith("Case C-1")))
            self.assertIn("Subject:       Overdue: review for child C-1", block)
            self.assertIn("Envelope-To:   tm@x", block)
            self.assertIn("TLS, auth PLAIN/alerts", block)
        finally:
            self.assertEqual(cli.stop(), 0)

    def test_http_cli(self):
        cli = _Cli("harness.http_sink", "--port", "0", "--tls", "--pki-dir", PKI["dir"],
                   "--responses", "503", "--retry-after", "1", "--print")
        try:
            ready = cli.line()
            self.assertRegex(ready, r"^READY \d+$")
            port = int(ready.split()[1])
            statuses = []
            for _ in range(2):
                c = http.client.HTTPSConnection("localhost", port, timeout=5, context=client_ctx())
                c.request("POST", "/hook", body=b'{"case":"C-7"}',
                          headers={"Content-Type": "application/json"})
                r = c.getresponse()
                statuses.append(r.status)
                r.read()
                c.close()
            self.assertEqual(statuses, [503, 200])
            out = "\n".join(cli.until(lambda l: "answered 200" in l))
            out += "\n".join(cli.until(lambda l: '"case": "C-7"' in l))
            self.assertIn("POST /hook  (HTTPS, connection 1, answered 503)", out)
        finally:
            self.assertEqual(cli.stop(), 0)


def _running(pid):
    """Is pid a live process? (A zombie is not: in a container, PID 1 may never reap the
    server, which pg_ctl left to it.)"""
    try:
        with open("/proc/%d/status" % pid) as f:
            return "\nState:\tZ" not in f.read()
    except FileNotFoundError:
        return False


class PgClusterTest(unittest.TestCase):
    """The throwaway PostgreSQL cluster: starts, answers on its socket only, enforces passwords
    when asked, and leaves nothing behind (no server, no directory)."""

    def test_start_query_stop(self):
        pg = PgCluster(passwords=True)
        with pg:
            d, data = pg.dir, pg.data
            pg.create_database("cases")
            self.assertEqual(pg.rows("SELECT 1 + 1, NULL, current_setting('listen_addresses')",
                                     db="cases"), [("2", None, "")])
            pg.create_role("reader", password="pw")
            self.assertEqual(pg.psql("SELECT current_user", db="cases", user="reader",
                                     password="pw"), "reader\n")
            code, _, err = pg.psql("SELECT 1", db="cases", user="reader", password="wrong",
                                   check=False)
            self.assertNotEqual(code, 0)
            self.assertIn("password authentication failed", err)
            with self.assertRaises(PgError):
                pg.psql("SELECT * FROM no_such_table", db="cases")
            pid = int(open(os.path.join(data, "postmaster.pid")).readline())
            self.assertTrue(_running(pid))
        self.assertFalse(os.path.exists(d))
        self.assertFalse(_running(pid), "the server outlived stop()")
        pg.stop()  # a second stop does nothing

    def test_copy_from_sqlite(self):
        src = os.path.join(_tmp, "small.db")
        db = sqlite3.connect(src)
        db.executescript("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT, x REAL);"
                         "INSERT INTO t VALUES (1, 'a\tb\\c', 1.5), (2, NULL, NULL);")
        db.commit()
        db.close()
        with PgCluster() as pg:
            pg.create_database("c")
            pg.psql("CREATE TABLE t (id bigint PRIMARY KEY, s text, x double precision)", db="c")
            self.assertEqual(pg.copy_from_sqlite(src, "c"), {"t": 2})
            self.assertEqual(pg.psql("SELECT s = E'a\\tb\\\\c', x FROM t ORDER BY id",
                                     db="c"), "t\t1.5\n\\N\t\\N\n")


if __name__ == "__main__":
    unittest.main()
