#!/usr/bin/python3
"""escalatord with its case store on PostgreSQL (issue 17, point 1): the real escalatord, the
shipped rule pack and a real PostgreSQL 15 (tests/harness/pgcluster.py: a throwaway cluster in a
temp directory on a Unix socket, passwords required).

Run:  /usr/bin/python3 tests/integration/test_pg_casestore.py --escalatord /path/to/escalatord

The demo council (tests/gen/gencases.py --children 300 --seed 1 --today 2026-11-20
--history-years 2) is generated once as SQLite and copied into PostgreSQL
(etc/schema-postgresql.sql). A read-only role escalator_reader reads it, its password in a
passfile (mode 0600) the URL names. Then, with case_store = "postgresql://..." against the same
configuration with the SQLite file:
  * --check compiles every rule's query and history on PostgreSQL: "configuration OK";
  * --once --dry-run --now prints exactly the same alerts, in the same order;
  * explain of one clock and report --format csv (every table) print the same;
  * without change_query the service evaluates at every poll; with it, only when its value moves
    (a row added to extract_log);
  * max_store_age needs freshness_query there (no file to stat), which then compiles;
  * a password in the URL is refused (secrets from files); a server not there, a wrong password
    and a role without SELECT each give a message that says what to do; nothing is printed that
    holds the password.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402
from harness.pgcluster import PgCluster  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
ETC = os.path.join(REPO, "etc")
GENCASES = os.path.join(REPO, "tests", "gen", "gencases.py")
PYTHON = "/usr/bin/python3"
TODAY = "2026-11-20"
NOW = "2026-11-20T09:00:00"
PASSWORD = "s3cret-only-in-the-passfile"

CONFIG = """\
case_store = "%(store)s";
state = "%(state)s";
rules = "%(rules)s";
holidays = [ "%(holidays)s" ];
allowed_domains = [ "demo.council.example", "example.org" ];
contacts = {
  iro_service = { email = "iro.service@example.org"; };
};
"""

SHARED = {}


def setUpModule():
    tmp = tempfile.mkdtemp(prefix="pgcase-")
    store = os.path.join(tmp, "cases.db")
    p = subprocess.run([PYTHON, GENCASES, "--out", store, "--children", "300", "--seed", "1",
                        "--today", TODAY, "--history-years", "2"],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError("gencases.py failed:\n" + p.stderr)
    pg = PgCluster(passwords=True)
    pg.start()
    SHARED.update(tmp=tmp, store=store, pg=pg)
    pg.create_database("cases")
    with open(os.path.join(ETC, "schema-postgresql.sql"), encoding="utf-8") as f:
        pg.psql(f.read(), db="cases")
    pg.copy_from_sqlite(store, "cases")
    # What a nightly load records: change_query reads it.
    pg.psql("CREATE TABLE extract_log (loaded_at text);"
            "INSERT INTO extract_log VALUES ('2026-11-20 02:00:00');", db="cases")
    pg.create_role("escalator_reader", password=PASSWORD)
    pg.psql("GRANT USAGE ON SCHEMA public TO escalator_reader;"
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO escalator_reader;", db="cases")
    pg.create_role("nobody_reader", password=PASSWORD)
    passfile = os.path.join(tmp, "pgpass")
    with open(passfile, "w") as f:
        f.write("*:*:*:escalator_reader:%s\n*:*:*:nobody_reader:%s\n" % (PASSWORD, PASSWORD))
    os.chmod(passfile, 0o600)
    wrong = os.path.join(tmp, "pgpass-wrong")
    with open(wrong, "w") as f:
        f.write("*:*:*:escalator_reader:not-the-password\n")
    os.chmod(wrong, 0o600)
    SHARED.update(passfile=passfile, wrong=wrong)


def tearDownModule():
    if "pg" in SHARED:
        SHARED["pg"].stop()
    if "tmp" in SHARED:
        shutil.rmtree(SHARED["tmp"], ignore_errors=True)


class PgCaseStore(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        cls.tmp, cls.pg = SHARED["tmp"], SHARED["pg"]

    def url(self, user="escalator_reader", passfile=None, port=None):
        u = self.pg.url(user=user, db="cases")
        if port is not None:
            u = u.replace("port=%d" % self.pg.port, "port=%d" % port)
        return u + "&passfile=" + (passfile or SHARED["passfile"])

    def conf(self, name, store):
        path = os.path.join(self.tmp, name + ".conf")
        with open(path, "w") as f:
            f.write(CONFIG % {"store": store, "state": os.path.join(self.tmp, name + ".state"),
                              "rules": os.path.join(ETC, "rules.d"),
                              "holidays": os.path.join(ETC, "holidays",
                                                       "england-and-wales.txt")})
        return path

    def run_esc(self, conf, *args, expect=0):
        env = dict(os.environ, LC_ALL="C", TZ="Pacific/Auckland")
        env.pop("PGPASSWORD", None)
        p = subprocess.run([hd.ESCALATORD, "-c", conf] + list(args), capture_output=True,
                           text=True, timeout=300, env=env)
        if expect is not None:
            self.assertEqual(p.returncode, expect, "%s\n--- stdout:\n%s--- stderr:\n%s" % (
                " ".join(args), p.stdout[-3000:], p.stderr[-3000:]))
        self.assertNotIn(PASSWORD, p.stdout + p.stderr)
        return p

    def both(self, *args):
        a = self.run_esc(self.conf("sqlite", SHARED["store"]), *args)
        b = self.run_esc(self.conf("pg", self.url()), *args)
        return a, b

    def test_check(self):
        p = self.run_esc(self.conf("pg", self.url()), "--check")
        self.assertIn("configuration OK", p.stdout + p.stderr)

    def test_once_dry_run_same_alerts(self):
        a, b = self.both("--once", "--dry-run", "--now", NOW)
        self.assertGreater(len(a.stdout.splitlines()), 100)
        self.assertEqual(b.stdout, a.stdout)

    def test_report_same(self):
        for table in ("timeliness", "open", "practice"):
            a, b = self.both("report", "--from", "2025-04-01", "--to", "2026-03-31",
                             "--now", NOW, "--format", "csv", "--table", table)
            self.assertGreater(len(a.stdout.splitlines()), 5, table)
            self.assertEqual(b.stdout, a.stdout, table)

    def test_explain_same(self):
        first = self.run_esc(self.conf("sqlite", SHARED["store"]), "--once", "--dry-run",
                             "--now", NOW).stdout.splitlines()[0]
        import json
        alert = json.loads(first)
        a, b = self.both("explain", alert["rule"], alert["case"], "--now", NOW)
        self.assertIn(alert["case"], a.stdout)
        self.assertEqual(b.stdout.replace(self.conf("pg", self.url()), "CONF"),
                         a.stdout.replace(self.conf("sqlite", SHARED["store"]), "CONF"))

    def test_password_in_url_refused(self):
        u = self.pg.url(user="escalator_reader", db="cases").replace(
            "escalator_reader@", "escalator_reader:%s@" % PASSWORD)
        p = self.run_esc(self.conf("pgpw", u), "--check", expect=1)
        self.assertIn("the URL holds a password", p.stderr)

    def test_service_passes_and_stops(self):
        # The service itself on PostgreSQL: a first pass (which records the alerts the dry run
        # printed), then SIGTERM stops it cleanly. Deliveries just wait: no mail server here.
        import signal
        import time
        conf = self.conf("pgsvc", self.url())
        env = dict(os.environ, LC_ALL="C")
        env.pop("PGPASSWORD", None)
        p = subprocess.Popen([hd.ESCALATORD, "-c", conf], stderr=subprocess.PIPE, text=True,
                             env=env)
        lines = []
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                line = p.stderr.readline()
                if not line:
                    break
                lines.append(line)
                if "evaluated why=start" in line:
                    break
            self.assertTrue(any("evaluated why=start" in ln for ln in lines), "".join(lines))
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=60), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
        dry = self.run_esc(self.conf("sqlite", SHARED["store"]), "--once", "--dry-run")
        line = [ln for ln in lines if "evaluated why=start" in ln][0]
        self.assertIn("alerts=%d" % len(dry.stdout.splitlines()), line)

    def service_passes(self, extra, seconds, then=None, after=0):
        """Run the service (-v: every pass logged) with poll_interval 1 and `extra` settings
        for `seconds`; call then() and go on for `after` seconds; SIGTERM. Its passes after
        the start: (before then, after then)."""
        import signal
        import threading
        import time
        conf = self.conf("pgpoll", self.url())
        with open(conf, "a") as f:
            f.write("poll_interval = 1;\n" + extra)
        env = dict(os.environ, LC_ALL="C")
        env.pop("PGPASSWORD", None)
        p = subprocess.Popen([hd.ESCALATORD, "-v", "-c", conf], stderr=subprocess.PIPE,
                             text=True, env=env)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(p.stderr.readline, "")))
        reader.start()
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not any("evaluated why=start" in ln
                                                          for ln in lines):
                time.sleep(0.1)
            self.assertTrue(any("evaluated why=start" in ln for ln in lines), "".join(lines))
            time.sleep(seconds)
            before = sum("evaluated why=changed" in ln for ln in list(lines))
            if then is not None:
                then()
                time.sleep(after)
            total = sum("evaluated why=changed" in ln for ln in list(lines))
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=60), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            reader.join(timeout=10)
            p.stderr.close()
        return before, total - before

    def test_change_query(self):
        # Without change_query every poll (1 s here) evaluates again; with it, only when its
        # value moves: a new row in extract_log, as a nightly load would write.
        every, _ = self.service_passes("", 3.5)
        self.assertGreaterEqual(every, 2)
        quiet, moved = self.service_passes(
            'change_query = "SELECT max(loaded_at) FROM extract_log";\n', 3.5,
            then=lambda: self.pg.psql("INSERT INTO extract_log VALUES "
                                      "('2026-11-21 02:00:00');", db="cases"), after=3.5)
        self.assertEqual(quiet, 0)
        self.assertEqual(moved, 1)

    def test_store_age_needs_a_query(self):
        # A server has no file whose time tells the data's age: --check says what to add.
        conf = self.conf("pgage", self.url())
        with open(conf, "a") as f:
            f.write('max_store_age = "26 hours";\n')
        p = self.run_esc(conf, "--check", expect=1)
        self.assertIn("max_store_age on a PostgreSQL case store needs freshness_query", p.stderr)
        with open(conf, "a") as f:
            f.write('freshness_query = "SELECT max(review_date) FROM cic_reviews";\n')
        p = self.run_esc(conf, "--check")
        self.assertIn("configuration OK", p.stdout + p.stderr)

    def test_wrong_password(self):
        p = self.run_esc(self.conf("pgwrong", self.url(passfile=SHARED["wrong"])), "--check",
                         expect=1)
        self.assertIn("the server refused the password", p.stderr)

    def test_no_server(self):
        p = self.run_esc(self.conf("pgnone", self.url(port=self.pg.port + 1)), "--check",
                         expect=1)
        self.assertIn("no server socket there", p.stderr)

    def test_role_without_select(self):
        p = self.run_esc(self.conf("pgnosel", self.url(user="nobody_reader")), "--check",
                         expect=1)
        self.assertRegex(p.stderr, r"permission denied for (view|table) \w+ \(grant SELECT")

    def test_state_on_the_server_checked(self):
        # state = "postgresql://...": --check connects, and names a database whose encoding
        # would refuse a case reference that is not UTF-8 (the service would fail on it).
        self.pg.create_database("state_utf8")
        self.pg.create_database("state_bytes", encoding="SQL_ASCII")
        self.pg.psql("GRANT ALL ON DATABASE state_bytes TO escalator_reader;")
        for db, ok in (("state_utf8", False), ("state_bytes", True)):
            conf = self.conf("pgstate-" + db, self.url())
            with open(conf) as f:
                text = f.read()
            state = self.pg.url(user="escalator_reader", db=db) + "&passfile=" + \
                SHARED["passfile"]
            text = re.sub(r'state = "[^"]*";', 'state = "%s";' % state, text)
            with open(conf, "w") as f:
                f.write(text)
            p = self.run_esc(conf, "--check", expect=0 if ok else 1)
            if ok:
                self.assertIn("configuration OK", p.stdout)
            else:
                self.assertIn("state: postgresql://escalator_reader@:%d/state_utf8: the state "
                              "store's database has encoding UTF8" % self.pg.port, p.stderr)
                self.assertIn("ENCODING 'SQL_ASCII'", p.stderr)
                self.assertNotIn("configuration OK", p.stdout)


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
