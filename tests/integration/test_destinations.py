#!/usr/bin/python3
"""Integration test of where deliveries go and with what credentials (issue 12, point 7).

Run:  /usr/bin/python3 test_destinations.py --escalatord /path/to/escalatord [unittest options]

The real binary against real servers on 127.0.0.1 (tests/harness), with test_daemon.py's
configuration, rule file and case store:

- a pending webhook delivery follows its contact by name: the contact's URL changed on reload,
  the next attempt goes to the new URL, signed; nothing more to the old one;
- a webhook contact removed on reload fails its pending delivery for good, with a reason naming
  the contact; nothing more is sent to the old URL;
- the token in a webhook URL appears in neither the state store nor the log;
- secret files: mode 0440 owned by root (systemd's LoadCredential=) accepted by --check, 0644
  refused without the secret in the message;
- http_proxy/https_proxy/ALL_PROXY in the environment are not used: the delivery goes direct;
- a server that answers 200 and then streams a body without end does not hold the delivery
  until delivery_timeout: it is recorded as sent within seconds.
"""

import os
import signal
import socket
import sqlite3
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from harness import daemon as hd  # noqa: E402
import test_daemon as td  # noqa: E402

TOKEN = "T0K3N-9f8e7d6c5b4a"


class StreamingServer:
    """Plain HTTP on 127.0.0.1: answers every request 200 with a chunked body that never ends."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.sent = 0  # body bytes written in all
        self.stop = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        with conn:
            conn.settimeout(30)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                self.requests += 1
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Transfer-Encoding: chunked\r\n\r\n")
                piece = b"x" * 16384
                frame = b"%x\r\n" % len(piece) + piece + b"\r\n"
                while not self.stop:
                    conn.sendall(frame)
                    self.sent += len(piece)
            except OSError:
                return

    def close(self):
        self.stop = True
        self.sock.close()


class Listener:
    """A listening socket that counts the connections made to it (a would-be proxy)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self):
        self.sock.close()


class Destinations(td.DaemonTestCase):
    TMP_PREFIX = "escdest-"

    def rules_to(self, *names):
        self.write_rules(td.rule_file(reminder=names, overdue=names))

    def webhook_state(self):
        rows = self.state_query("SELECT recipient, status, attempts, last_error FROM delivery "
                                "WHERE kind = 'webhook'")
        self.assertEqual(len(rows), 1, rows)
        return rows[0]

    def assert_token_nowhere(self, d):
        """The URL's token is in no table of the state store and no log line."""
        db = sqlite3.connect("file:%s?mode=ro" % self.state_path, uri=True)
        try:
            dump = "\n".join(db.iterdump())
        finally:
            db.close()
        self.assertNotIn(TOKEN, dump, "the webhook URL's token is in the state store")
        self.assertNotIn(TOKEN.encode(), d.log_bytes(), "the webhook URL's token is logged")

    @property
    def state_path(self):
        return self.state

    def test_url_changed_on_reload_followed(self):
        old = self.http_sink(status=503)
        new = self.http_sink()
        self.write_config(http=old, hook_path="/old/" + TOKEN)
        self.rules_to("hook")
        self.make_case_store([("C1", td.start_overdue_reached(), "tm1@council.example")])
        d = self.start_daemon()
        d.wait_log(r"kind=webhook to=\"?hook \(127\.0\.0\.1\)\"? status=retry", timeout=10)
        self.assertEqual(self.webhook_state()[0], "hook")

        self.write_config(http=new, hook_path="/new/" + TOKEN)
        d.signal(signal.SIGHUP)
        d.wait_log(r"reloaded rules=1")
        before = len(old.requests)
        reqs = new.wait_for(1, timeout=15)
        self.assertEqual(reqs[0].path, "/new/" + TOKEN)
        self.assert_signed(reqs[0])
        self.wait_state(lambda ds: [v[2] for v in ds.values() if v[0] == "webhook"] == ["sent"],
                        timeout=10, what="the webhook delivery sent")
        self.assertEqual(len(old.requests), before, "sent to the old URL after reload")
        audit = self.state_query("SELECT recipient FROM audit")
        self.assertTrue(audit and all(r[0] == "hook (127.0.0.1)" for r in audit), audit)
        self.assert_token_nowhere(d)

    def test_contact_removed_on_reload_fails(self):
        old = self.http_sink(status=503)
        self.write_config(http=old, hook_path="/old/" + TOKEN)
        self.rules_to("hook")
        self.make_case_store([("C1", td.start_overdue_reached(), "tm1@council.example")])
        d = self.start_daemon()
        d.wait_log(r"kind=webhook .*status=retry", timeout=10)

        # The contact goes, and with it every rule's mention of it.
        self.write_config(http=None)
        self.rules_to("iro")
        d.signal(signal.SIGHUP)
        d.wait_log(r"reloaded rules=1")
        ds = self.wait_state(lambda ds: [v[2] for v in ds.values() if v[0] == "webhook"]
                             == ["failed"], timeout=10, what="the webhook delivery failed")
        before = len(old.requests)
        err = [v[5] for v in ds.values() if v[0] == "webhook"][0]
        self.assertIn('webhook contact "hook"', err)
        self.assertIn("removed on reload", err)
        d.wait_log(r"kind=webhook .*status=failed")
        # retry_min = 1 s: a retry would have come by now.
        time.sleep(3)
        self.assertEqual(len(old.requests), before, "sent to a removed contact's URL")
        self.assert_token_nowhere(d)

    def test_secret_file_modes(self):
        http = self.http_sink()
        self.write_config(http=http)
        self.rules_to("hook")
        self.make_case_store([("C1", td.start_overdue_reached(), "tm1@council.example")])
        path = [os.path.join(r, f) for r, _, fs in os.walk(self.tmp) for f in fs
                if f == "hook.secret"][0]
        if os.geteuid() == 0:
            os.chown(path, 0, 0)
        os.chmod(path, 0o440)  # as systemd's LoadCredential= shows it (the ACL mask)
        p = self.run_escalatord(["--check"])
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        os.chmod(path, 0o644)
        p = self.run_escalatord(["--check"])
        err = p.stderr.decode()
        self.assertNotEqual(p.returncode, 0, err)
        self.assertIn("can be read by others", err)
        self.assertNotIn(td.HOOK_SECRET, err + p.stdout.decode())

    def test_proxy_environment_ignored(self):
        proxy = Listener()
        self.addCleanup(proxy.close)
        http = self.http_sink()
        self.write_config(http=http)
        self.rules_to("hook")
        self.make_case_store([("C1", td.start_overdue_reached(), "tm1@council.example")])
        env = dict(self.env)
        url = "http://127.0.0.1:%d" % proxy.port
        for k in ("http_proxy", "https_proxy", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
            env[k] = url
        env.pop("NO_PROXY", None)
        env.pop("no_proxy", None)
        d = self.start_daemon(env=env)
        self.assertEqual(len(http.wait_for(1, timeout=15)), 1)
        self.wait_state(lambda ds: [v[2] for v in ds.values() if v[0] == "webhook"] == ["sent"],
                        timeout=10, what="the webhook delivery sent")
        self.assertEqual(proxy.connections, 0, "a connection went to the proxy in the env")
        d.terminate()

    def test_endless_body_does_not_hold_delivery(self):
        srv = StreamingServer()
        self.addCleanup(srv.close)
        self.write_config(http=None, contacts_extra='  stream = { webhook = '
                          '"http://127.0.0.1:%d/s"; };' % srv.port)
        self.rules_to("stream")
        self.make_case_store([("C1", td.start_overdue_reached(), "tm1@council.example")])
        start = time.monotonic()
        d = self.start_daemon()
        # delivery_timeout is 20 s: sent well before it means the body was cut, not timed out.
        self.wait_state(lambda ds: [v[2] for v in ds.values() if v[0] == "webhook"] == ["sent"],
                        timeout=10, what="the webhook delivery sent despite the endless body")
        took = time.monotonic() - start
        self.assertEqual(srv.requests, 1)
        hd.report("endless_body", seconds_to_sent=round(took, 2),
                  body_bytes_written=srv.sent)
        print("\nendless body: recorded sent after %.2f s; server wrote %d bytes before the "
              "connection closed" % (took, srv.sent), file=sys.stderr)
        d.terminate()


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
