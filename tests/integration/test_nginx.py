#!/usr/bin/python3
"""Integration test of etc/nginx/escalator.conf: the answer pages through the real nginx.

Run:  /usr/bin/python3 tests/integration/test_nginx.py --escalatord /path/to/escalatord [-v]

nginx (Debian's nginx-light) runs in the foreground with a private prefix, on a configuration
DERIVED from the shipped example: the file itself, with its placeholders (the listen address,
server name, certificate paths, escalatord's address, the monitoring network, the log files)
replaced by test values, each replacement checked to happen exactly as often as expected (so
that an edit of the example cannot leave the test running something else). escalatord runs
behind it with listen on a free port and response_url = "https://localhost:<nginx's port>";
the alert goes to the SMTP sink (tests/harness).

  test_answer_through_nginx   over HTTPS with certificate verification (a client that does not
      trust the test CA is refused): the link's page (200, the case, escalatord's own security
      headers passed through, nginx's Strict-Transport-Security); the form token flow (GET,
      the hidden "form", POST with the site's Origin) answered 303 and recorded once; the page
      it leads to says so; /metrics and /healthz served to 127.0.0.1 (the monitoring network
      of this test) and 403 to 127.0.0.2; anything else 404; a body over 16 KiB refused by
      nginx (413) and other methods 403, nothing recorded; neither nginx log holds the token.
  test_rate_limit             a burst of requests to /r/ from one address: the first 30 pass,
      then nginx answers 429 (limit_req), escalatord never sees those.
"""

import http.client
import os
import pwd
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import answers  # noqa: E402
from harness import certs  # noqa: E402
from harness import daemon as hd  # noqa: E402
from harness.answers import KEY, ago  # noqa: E402

EXAMPLE = os.path.join(hd.SRCDIR, "etc", "nginx", "escalator.conf")
TM, SM = "tm@council.example", "sm@council.example"


def nginx_binary():
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if
                                          os.access(p, os.X_OK)), None)


class Reply:
    def __init__(self, resp):
        self.status = resp.status
        self.headers = resp.headers
        self.body = resp.read()


class TestNginx(hd.DaemonCase):
    TMP_PREFIX = "escnginx-"
    CASE_COLUMNS = answers.CASE_COLUMNS

    def setUp(self):
        super().setUp()
        self.nginx = nginx_binary()
        if self.nginx is None:
            hd.skip_or_fail("nginx is not installed (Debian: nginx-light)")
        self.pki = certs.make_test_pki(os.path.join(self.tmp, "pki"))
        self.port = hd.free_port()      # escalatord
        self.tls_port = hd.free_port()  # nginx
        self.site = "https://localhost:%d" % self.tls_port
        self.prefix = os.path.join(self.tmp, "nginx")
        os.makedirs(os.path.join(self.prefix, "temp"))
        self.nginx_proc = None
        self.write_secret("response.key", KEY)

    def tearDown(self):
        # Only the nginx this test started, by its own process id.
        if self.nginx_proc is not None and self.nginx_proc.poll() is None:
            self.nginx_proc.send_signal(signal.SIGQUIT)
            try:
                self.nginx_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.nginx_proc.kill()
                self.nginx_proc.wait(10)
        super().tearDown()

    # -- nginx --------------------------------------------------------------------------------
    def derive(self, text, old, new, count=1):
        """text with old replaced by new, which must occur exactly count times."""
        self.assertEqual(text.count(old), count, "the example no longer has %r %d time(s): "
                         "update this test with it" % (old, count))
        return text.replace(old, new)

    def nginx_config(self):
        """The example with its placeholders replaced; the path of the main file."""
        with open(EXAMPLE, encoding="utf-8") as f:
            text = f.read()
        p = self.prefix
        for old, new, n in (
                ("listen 443 ssl http2;", "listen 127.0.0.1:%d ssl http2;" % self.tls_port, 1),
                ("    listen [::]:443 ssl http2;\n", "", 1),
                ("server_name escalator.council.example;", "server_name localhost;", 1),
                ("/etc/ssl/escalator/fullchain.pem", self.pki["cert_file"], 1),
                ("/etc/ssl/escalator/privkey.pem", self.pki["key_file"], 1),
                ("server 127.0.0.1:8470;", "server 127.0.0.1:%d;" % self.port, 1),
                ("allow 192.0.2.0/24;", "allow 127.0.0.1;", 2),
                ("/var/log/nginx/escalator.access.log", p + "/access.log", 1),
                ("/var/log/nginx/escalator.error.log", p + "/error.log", 2)):
            text = self.derive(text, old, new, n)
        site = os.path.join(p, "escalator.conf")
        with open(site, "w", encoding="utf-8") as f:
            f.write(text)
        # The rest of an nginx.conf, as Debian's wraps conf.d/*.conf.
        user = ""
        if os.geteuid() == 0:
            # Workers would otherwise run as nobody, who cannot write the private prefix.
            user = "user %s;\n" % pwd.getpwuid(0).pw_name
        main = os.path.join(p, "nginx.conf")
        with open(main, "w", encoding="utf-8") as f:
            f.write("%sworker_processes 1;\nerror_log %s/main-error.log info;\n"
                    "events { worker_connections 256; }\n"
                    "http {\n"
                    "  client_body_temp_path %s/temp/body;\n  proxy_temp_path %s/temp/proxy;\n"
                    "  fastcgi_temp_path %s/temp/fastcgi;\n  uwsgi_temp_path %s/temp/uwsgi;\n"
                    "  scgi_temp_path %s/temp/scgi;\n  access_log off;\n"
                    "  include %s;\n}\n" % (user, p, p, p, p, p, p, site))
        return main

    def start_nginx(self):
        main = self.nginx_config()
        args = [self.nginx, "-p", self.prefix + "/", "-c", main, "-e",
                self.prefix + "/startup-error.log",
                "-g", "daemon off; pid %s/nginx.pid;" % self.prefix]
        t = subprocess.run(args + ["-t"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=30)
        self.assertEqual(t.returncode, 0, "nginx -t on the derived example:\n%s"
                         % t.stdout.decode(errors="replace"))
        self.nginx_proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def up():
            if self.nginx_proc.poll() is not None:
                self.fail("nginx exited %s:\n%s" % (self.nginx_proc.returncode,
                                                    self.nginx_log("main-error.log")))
            try:
                socket.create_connection(("127.0.0.1", self.tls_port), timeout=1).close()
                return True
            except OSError:
                return False
        self.wait_for(up, timeout=15, what="nginx listening on %d" % self.tls_port)

    def nginx_log(self, name):
        path = os.path.join(self.prefix, name)
        if not os.path.exists(path):
            return ""
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()

    # -- HTTPS ------------------------------------------------------------------------------------
    def tls(self, trust=True):
        """A client context that verifies certificates: trusting the test CA, or (trust=False)
        only the system's CAs."""
        if trust:
            return ssl.create_default_context(cafile=self.pki["ca_file"])
        return ssl.create_default_context()

    def request(self, method, path, body=None, headers=None, source="127.0.0.1", host="localhost"):
        c = http.client.HTTPSConnection(host, self.tls_port, context=self.tls(), timeout=15,
                                        source_address=(source, 0))
        try:
            c.request(method, path, body=body, headers=headers or {})
            return Reply(c.getresponse())
        finally:
            c.close()

    # -- escalatord -------------------------------------------------------------------------------
    def start_escalatord(self, smtp, cases):
        return answers.start(self, smtp, cases, self.port, self.site)

    def token_for(self, msg, case, recipient):
        """The token of the link in msg, or (the notifiers' branch not merged) one minted."""
        links = answers.links_in(msg.data, self.site)
        if links:
            self.assertEqual(len(links), 1, links)
            return links[0]
        rows = self.state_query("SELECT d.id FROM delivery d JOIN alert a ON a.id = d.alert_id "
                                "WHERE a.case_ref = ? AND d.recipient = ?", (case, recipient))
        self.assertEqual(len(rows), 1)
        return answers.mint(KEY, rows[0][0], recipient, int(time.time()) + 86400)

    def responses(self):
        return self.state_query("SELECT case_ref, recipient, kind, note FROM response")

    # ---------------------------------------------------------------------------------------------
    def test_answer_through_nginx(self):
        smtp = self.smtp_sink()
        d = self.start_escalatord(smtp, [("C1", ago(5), TM, SM)])
        self.start_nginx()
        token = self.token_for(smtp.messages[0], "C1", TM)
        path = "/r/" + token

        # Certificate verification is on: a client that does not trust the test CA is refused.
        c = http.client.HTTPSConnection("localhost", self.tls_port, context=self.tls(False),
                                        timeout=10)
        with self.assertRaises(ssl.SSLCertVerificationError):
            c.request("GET", path)
        c.close()

        # The page, through nginx.
        r = self.request("GET", path)
        self.assertEqual(r.status, 200, r.body[:500])
        self.assertEqual(r.headers["Content-Type"], "text/html; charset=utf-8")
        self.assertIn("default-src 'none'", r.headers["Content-Security-Policy"] or "")
        self.assertEqual(r.headers["Cache-Control"], "no-store")
        self.assertEqual(r.headers["Strict-Transport-Security"], "max-age=31536000")
        self.assertNotIn("nginx/", r.headers["Server"] or "", "server_tokens off")
        self.assertIn(b"C1", r.body)
        form = answers.page_form(r.body)
        self.assertEqual(form["action"], token)
        self.assertEqual(form["method"], "post")
        self.assertTrue(form["form"], "no hidden form token on the page")

        # The answer: the form's own fields, from the site's own origin.
        action = urllib.parse.urljoin(path, form["action"])
        self.assertEqual(action, path)
        body = urllib.parse.urlencode({"form": form["form"], "kind": "acknowledged",
                                       "agreed_on": "", "reason": "", "note": "Seen, via nginx",
                                       "name": ""}).encode()
        r = self.request("POST", action, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Origin": self.site})
        self.assertEqual(r.status, 303, r.body[:500])
        self.assertEqual(r.headers["Location"], token + "?recorded=1")
        self.assertEqual(self.responses(), [("C1", TM, "acknowledged", "Seen, via nginx")])
        r = self.request("GET", urllib.parse.urljoin(path, r.headers["Location"]))
        self.assertEqual(r.status, 200)
        self.assertIn(b"Your answer was recorded.", r.body)

        # /metrics and /healthz: the monitoring network (127.0.0.1 here) only.
        m = self.request("GET", "/metrics")
        self.assertEqual(m.status, 200, m.body[:300])
        self.assertTrue(m.headers["Content-Type"].startswith("text/plain; version=0.0.4"),
                        m.headers["Content-Type"])
        self.assertNotIn(b"C1", m.body)
        hz = self.request("GET", "/healthz")
        self.assertIn(hz.status, (200, 503))
        for p in ("/metrics", "/healthz"):
            self.assertEqual(self.request("GET", p, source="127.0.0.2", host="127.0.0.1").status,
                             403, p)
        # Anything else: 404 from nginx, escalatord never asked.
        for p in ("/", "/index.html", "/metrics/x", "/r", "/r/", "/admin", "/r/../metrics"):
            self.assertEqual(self.request("GET", p).status, 404, p)
        # A body over 16 KiB: nginx refuses it; other methods: refused; nothing recorded.
        big = urllib.parse.urlencode({"form": form["form"], "kind": "acknowledged",
                                      "note": "n" * 17000}).encode()
        r = self.request("POST", action, body=big, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Origin": self.site})
        self.assertEqual(r.status, 413)
        for method in ("PUT", "DELETE", "OPTIONS"):
            self.assertEqual(self.request(method, path).status, 403, method)
        self.assertEqual(self.request("POST", "/metrics", body=b"").status, 403)
        self.assertEqual(len(self.responses()), 1)

        # The token never reaches nginx's logs; the requests are there, the token cut out.
        access, errors = self.nginx_log("access.log"), self.nginx_log("error.log")
        self.assertIn('"GET /r/..." 200', access)
        self.assertIn('"POST /r/..." 303', access)
        self.assertIn('"POST /r/..." 413', access)
        self.assertIn('"GET /metrics" 200', access)
        for log in (access, errors, self.nginx_log("main-error.log")):
            self.assertNotIn(token, log)
            self.assertNotIn(token[:20], log)
        self.assertNotIn(token, d.log())
        d.terminate()

    # ---------------------------------------------------------------------------------------------
    def test_rate_limit(self):
        smtp = self.smtp_sink()
        d = self.start_escalatord(smtp, [("C1", ago(5), TM, SM)])
        self.start_nginx()
        token = self.token_for(smtp.messages[0], "C1", TM)
        statuses = [self.request("GET", "/r/" + token).status for _ in range(40)]
        self.assertEqual(statuses[:30], [200] * 30, statuses)
        self.assertIn(429, statuses[30:], statuses)
        served = len(re.findall(r"http GET /r/… 200", d.log()))
        self.assertLessEqual(served, statuses.count(200) + 1, "escalatord saw limited requests")
        # Other paths are not limited by the answers' zone.
        self.assertEqual(self.request("GET", "/metrics").status, 200)
        self.assertIn('"GET /r/..." 429', self.nginx_log("access.log"))
        for log in ("access.log", "error.log", "main-error.log"):
            self.assertNotIn(token[:20], self.nginx_log(log), log)
        d.terminate()


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
