"""A throwaway PostgreSQL cluster for tests: Debian's own server binaries, a temp directory, a Unix
socket only.

    from harness.pgcluster import PgCluster

    with PgCluster() as pg:                       # initdb + pg_ctl start; stopped and removed after
        pg.create_database("cases")
        pg.psql("SELECT 1", db="cases")           # -> "1\\n" (unaligned, tuples only)
        pg.create_role("escalator_reader", password="s3cret")
        pg.conninfo("escalator_reader", "cases")  # "host=/tmp/pg-... port=... dbname=cases user=..."
        pg.url("escalator_reader", "cases")       # "postgresql://escalator_reader@/cases?host=..."
        pg.copy_from_sqlite("cases.db", "cases")  # every table of a SQLite store, by COPY

Why this shape:
  * The real server (issue 17: tested with the real thing), the newest major version found under
    /usr/lib/postgresql/<N>/bin (Debian 12 ships 15). Missing binaries: hd.skip_or_fail, so CI
    (CI=true) fails rather than passing without PostgreSQL.
  * initdb and the server refuse to run as root, and the tests run as root: when we are root they
    run as `nobody` (runuser), which owns the temp directory. psql runs as us: the socket is open
    to everyone in that directory.
  * listen_addresses = '': no TCP port at all, so two test runs, or a council's own server on the
    same machine, never meet; the port number only names the socket file (.s.PGSQL.<port>), and
    is still a free TCP port so a later test may switch TCP on without a clash.
  * fsync off, no WAL archiving, small shared buffers: a cluster starts in about a second and is
    thrown away; durability is not what these tests measure.
  * Authentication: the superuser `postgres` is trusted on the socket (the harness's own psql);
    with passwords=True every other role must give its password (scram-sha-256), so a wrong
    password fails as it would in production; with the default passwords=False they are trusted.
  * stop() always runs (context manager, and atexit for a test that dies between start and stop):
    pg_ctl stop -m immediate, then the directory is removed (unless KEEP_TMP=1).

No secret reaches argv: a role's password goes to psql on stdin.
"""

import atexit
import glob
import io
import os
import pwd
import re
import shutil
import sqlite3
import subprocess
import tempfile

from . import daemon as hd

SUPERUSER = "postgres"
RUN_AS = "nobody"  # the unprivileged user the server runs as when we are root


def pg_bindir():
    """The bin directory of the newest PostgreSQL installed the Debian way, or None."""
    found = []
    for d in glob.glob("/usr/lib/postgresql/*/bin"):
        ver = os.path.basename(os.path.dirname(d))
        if re.fullmatch(r"\d+(\.\d+)?", ver) and os.access(os.path.join(d, "initdb"), os.X_OK):
            found.append((tuple(int(x) for x in ver.split(".")), d))
    return max(found)[1] if found else None


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


def _copy_text(value):
    """One value in COPY's text format: \\N for NULL; backslash, tab, newline and CR escaped."""
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    s = value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    return (s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            .replace("\r", "\\r"))


class PgError(Exception):
    """psql failed; .stderr holds the server's message (e.g. 'permission denied for view ...')."""

    def __init__(self, sql, returncode, stderr):
        super().__init__("psql exited %d: %s\n(SQL: %.300s)" % (returncode, stderr.strip(), sql))
        self.returncode = returncode
        self.stderr = stderr


class PgCluster:
    """One PostgreSQL cluster in a temp directory; see the module's documentation."""

    def __init__(self, passwords=False, settings=None, name="pgcluster"):
        self.bindir = pg_bindir()
        self.passwords = passwords
        self.settings = dict(settings or {})
        self.name = name
        self.dir = None
        self.port = None
        self.running = False

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _as_server_user(self, argv):
        """argv, run as the unprivileged user when we are root (initdb refuses root)."""
        if os.geteuid() == 0:
            return ["runuser", "-u", RUN_AS, "--"] + argv
        return argv

    def _bin(self, name):
        return os.path.join(self.bindir, name)

    def start(self, timeout=60):
        """initdb, configure, pg_ctl start; skip_or_fail when PostgreSQL is not installed."""
        if self.bindir is None:
            hd.skip_or_fail("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/"
                            "initdb): install Debian's postgresql package (scripts/deps)")
        self.dir = tempfile.mkdtemp(prefix="pg-")
        # atexit first: whatever happens from here on, the server and the directory go.
        atexit.register(self.stop)
        self.data = os.path.join(self.dir, "data")
        self.log_file = os.path.join(self.dir, "server.log")
        if os.geteuid() == 0:
            pw = pwd.getpwnam(RUN_AS)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        # the socket directory must be reachable by us as well as the server (mkdtemp is 0700)
        os.chmod(self.dir, 0o755)
        self.port = hd.free_port()
        hba = ["local all %s trust" % SUPERUSER,
               "local all all %s" % ("scram-sha-256" if self.passwords else "trust")]
        self._run(self._as_server_user(
            [self._bin("initdb"), "-D", self.data, "-U", SUPERUSER, "-E", "UTF8",
             # C collation: text (dates, case references) sorts byte by byte, as in SQLite
             "--locale=C", "--auth=trust", "--no-sync"]), "initdb")
        conf = {
            "listen_addresses": "''",
            "port": str(self.port),
            "unix_socket_directories": quote_literal(self.dir),
            "unix_socket_permissions": "0777",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "shared_buffers": "'32MB'",
            "max_connections": "50",
            "logging_collector": "off",
            "log_min_messages": "warning",
            "password_encryption": "'scram-sha-256'",
        }
        conf.update({k: str(v) for k, v in self.settings.items()})
        with open(os.path.join(self.data, "postgresql.conf"), "a", encoding="utf-8") as f:
            f.write("\n# harness.pgcluster\n")
            f.writelines("%s = %s\n" % kv for kv in conf.items())
        with open(os.path.join(self.data, "pg_hba.conf"), "w", encoding="utf-8") as f:
            f.write("# harness.pgcluster: Unix socket only\n" + "\n".join(hba) + "\n")
        # the log file must be the server user's to write
        open(self.log_file, "w").close()
        if os.geteuid() == 0:
            os.chown(self.log_file, pw.pw_uid, pw.pw_gid)
        self._run(self._as_server_user(
            [self._bin("pg_ctl"), "-D", self.data, "-l", self.log_file, "-w",
             "-t", str(timeout), "start"]), "pg_ctl start")
        self.running = True
        return self

    def restart(self, timeout=60):
        """Restart the server (fast: sessions are ended, as when a DBA restarts it to patch)."""
        self._run(self._as_server_user(
            [self._bin("pg_ctl"), "-D", self.data, "-l", self.log_file, "-m", "fast", "-w",
             "-t", str(timeout), "restart"]), "pg_ctl restart")

    def stop(self):
        """Stop the server (immediate: nothing here is worth a checkpoint) and remove the
        directory. Safe to call twice, and from atexit."""
        if self.running:
            self.running = False
            subprocess.run(self._as_server_user(
                [self._bin("pg_ctl"), "-D", self.data, "-m", "immediate", "-w", "-t", "30",
                 "stop"]), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        if self.dir is not None:
            d, self.dir = self.dir, None
            atexit.unregister(self.stop)
            if os.environ.get("KEEP_TMP") == "1":
                print("%s kept: %s" % (self.name, d))
            else:
                shutil.rmtree(d, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_file, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def _run(self, argv, what):
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
        if p.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s\n%s" % (what, p.returncode, p.stdout,
                                                            hd.tail(self.log(), 20)))
        return p.stdout

    # -- clients ------------------------------------------------------------------------------

    def conninfo(self, user=SUPERUSER, db="postgres"):
        """libpq key=value connection string for a role (the socket directory as host; no
        password: a test gives it by PGPASSWORD or a passfile, never in argv)."""
        return "host=%s port=%d dbname=%s user=%s" % (self.dir, self.port, db, user)

    def url(self, user=SUPERUSER, db="postgres"):
        """postgresql:// URL for a role (no password: a test gives it by file or environment)."""
        from urllib.parse import quote
        return "postgresql://%s@/%s?host=%s&port=%d" % (quote(user, safe=""), quote(db, safe=""),
                                                        quote(self.dir, safe=""), self.port)

    def psql(self, sql, db="postgres", user=SUPERUSER, password=None, check=True, args=()):
        """Run SQL (several statements allowed) with psql; return its stdout (unaligned, tuples
        only, fields split by a tab, NULL printed as \\N). ON_ERROR_STOP: the first error ends
        it; a non-zero exit raises PgError unless check=False (then (code, out, err))."""
        env = dict(os.environ, PGHOST=self.dir, PGPORT=str(self.port), PGDATABASE=db,
                   PGUSER=user, PGAPPNAME="harness", PGCONNECT_TIMEOUT="10")
        env.pop("PGPASSWORD", None)
        if password is not None:
            env["PGPASSWORD"] = password  # environment, not argv
        argv = [self._bin("psql"), "-X", "-q", "-A", "-t", "-F", "\t", "-P", "null=\\N",
                "-v", "ON_ERROR_STOP=1", "-f", "-"] + list(args)
        p = subprocess.run(argv, input=sql, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=300)
        if not check:
            return p.returncode, p.stdout, p.stderr
        if p.returncode != 0:
            raise PgError(sql, p.returncode, p.stderr)
        return p.stdout

    def rows(self, sql, db="postgres", user=SUPERUSER, password=None):
        """A query's rows as tuples of text (None for NULL). Values must not hold tabs or
        newlines (the test data's do not)."""
        out = self.psql(sql, db=db, user=user, password=password)
        return [tuple(None if v == "\\N" else v for v in line.split("\t"))
                for line in out.splitlines()]

    def create_database(self, name, owner=SUPERUSER, encoding="UTF8"):
        """encoding SQL_ASCII: bytes kept as given (escalatord's state store wants it)."""
        self.psql("CREATE DATABASE %s OWNER %s TEMPLATE template0 ENCODING '%s' "
                  "LC_COLLATE 'C' LC_CTYPE 'C'" % (quote_ident(name), quote_ident(owner),
                                                   encoding))

    def create_role(self, name, password=None, login=True):
        sql = "CREATE ROLE %s %s" % (quote_ident(name), "LOGIN" if login else "NOLOGIN")
        if password is not None:
            sql += " PASSWORD %s" % quote_literal(password)
        self.psql(sql + ";\n")  # stdin: the password stays out of argv and the process list

    # -- loading a SQLite case store ----------------------------------------------------------

    def copy_from_sqlite(self, sqlite_path, db):
        """Copy every table of a SQLite store into the same-named tables of database db (which
        must have them: etc/schema-postgresql.sql), replacing their rows, in one transaction
        and one psql: COPY ... FROM STDIN, tables in the order they were created (so a foreign
        key's target is filled first). Returns {table: rows}."""
        src = sqlite3.connect("file:%s?mode=ro" % sqlite_path, uri=True)
        try:
            tables = [r[0] for r in src.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
            counts = {}
            out = io.StringIO()
            out.write("BEGIN;\n")
            # emptied children first, so the schema's own rows (escalation_themes) give way
            for t in reversed(tables):
                out.write("DELETE FROM %s;\n" % quote_ident(t))
            for t in tables:
                cur = src.execute("SELECT * FROM %s" % quote_ident(t))
                cols = [d[0] for d in cur.description]
                out.write("COPY %s (%s) FROM STDIN;\n" % (
                    quote_ident(t), ", ".join(quote_ident(c) for c in cols)))
                n = 0
                for row in cur:
                    out.write("\t".join(_copy_text(v) for v in row) + "\n")
                    n += 1
                out.write("\\.\n")
                counts[t] = n
            out.write("COMMIT;\nANALYZE;\n")
            self.psql(out.getvalue(), db=db)
            return counts
        finally:
            src.close()
