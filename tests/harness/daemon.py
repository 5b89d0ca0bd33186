"""escalatord under test: what every Python test of the daemon shares.

    from harness import daemon as hd

    hd.run_main(add_options, doc)   the command line of a test file: --escalatord PATH (or
                                    ESCALATORD in the environment), --keep, --exclude NAME, the
                                    file's own options (--help-options lists them); everything
                                    else goes to unittest.  Returns the exit status.
    hd.ESCALATORD, hd.option(name)  the binary under test (absolute path); the file's options
    hd.DaemonCase                   a TestCase with a private temporary tree, file writers,
                                    escalatord processes and test servers stopped in tearDown,
                                    state store queries and waits with a deadline
    hd.Daemon                       one escalatord process: wait_log, wait_listening,
                                    terminate, kill9, cpu_seconds, rss_kib
    hd.free_port()                  a TCP port on 127.0.0.1 that nothing listens on
    hd.timing_checked()             False in the AddressSanitizer build (below)
    hd.skip_or_fail(reason)         skip a test that cannot run here, but fail it under CI=true
    hd.in_ci()                      is the environment variable CI "true"?
    hd.report(name, **numbers)      a `RESULT name {json}` line on stderr

Timing, CPU and memory.  tests/CMakeLists.txt sets ESCALATOR_TEST_TIMING=0 for the asan build:
there the daemon runs several times slower and its heap is ASan's, so what a test measures in
seconds, CPU time or resident memory means nothing; the Debug build checks it.  A test asks
`self.timing_checked("what")` before such an assertion: under ESCALATOR_TEST_TIMING=0 the answer
is False and a line `NOT CHECKED (ESCALATOR_TEST_TIMING=0): what` goes to stderr, and run_main
counts them at the end.  A test that measures and does nothing else is decorated
@measures("what") and is skipped there (shown as skipped by unittest; a file whose every test
was skipped exits 77, which ctest shows as "Skipped").  The functional assertions run in both.
What counts as timing: a bound on how fast something is (a latency, a stop time, CPU time,
resident memory).  A time that tells two behaviours apart by a wide margin (Retry-After honoured,
pacing, a hung channel not holding up the others, an alert owed after a clock step arriving at
all) is functional and is checked in both builds.

No silent skips in CI.  A test that cannot run in this environment (no root for scripts/demo,
a file not installed, a setting this escalatord refuses) calls hd.skip_or_fail(reason): a skip
(unittest.SkipTest) normally, a failure when CI=true, so that CI never passes with the test not
run.  The timing skips above (ESCALATOR_TEST_TIMING=0, @measures) are intended in CI and stay
skips there.

Every wait is bounded; servers listen on 127.0.0.1 only.
"""

import argparse
import datetime
import functools
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
SRCDIR = os.path.dirname(TESTS)
HOLIDAY_FILE = os.path.join(SRCDIR, "etc", "holidays", "england-and-wales.txt")
SANITIZER_MARKERS = (b"AddressSanitizer", b"LeakSanitizer", b"UndefinedBehaviorSanitizer",
                     b"runtime error:")
CLK_TCK = os.sysconf("SC_CLK_TCK")
SKIPPED_ALL = 77  # exit status when every test was skipped (ctest SKIP_RETURN_CODE)

ESCALATORD = None  # set by run_main
OPTIONS = argparse.Namespace()  # the file's own options, set by run_main
NOT_CHECKED = []  # timing assertions passed over under ESCALATOR_TEST_TIMING=0


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def run_main(add_options=None, doc=None, verbosity=1):
    """Parse --escalatord PATH and the file's own options; run unittest; return the exit code."""
    global ESCALATORD, OPTIONS
    p = argparse.ArgumentParser(add_help=False, description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--escalatord", default=os.environ.get("ESCALATORD"))
    p.add_argument("--keep", action="store_true", help="keep the temporary directories")
    p.add_argument("--exclude", action="append", default=[], metavar="NAME",
                   help="leave out the tests whose id contains NAME (repeatable)")
    p.add_argument("--state-store", choices=("sqlite", "postgresql"), default="sqlite",
                   help="where every DaemonCase keeps escalatord's state: the SQLite file, or "
                        "a database of a throwaway PostgreSQL cluster (one per run)")
    p.add_argument("--help-options", "--help-fault", action="store_true",
                   help="show this file's options")
    if add_options is not None:
        add_options(p)
    ns, rest = p.parse_known_args(sys.argv[1:])
    if ns.help_options:
        p.print_help()
        return 0
    if not ns.escalatord or not os.access(ns.escalatord, os.X_OK):
        print("usage: %s --escalatord PATH [options] [unittest options]\n"
              "       (--help-options lists this file's options)" % sys.argv[0], file=sys.stderr)
        return 2
    ESCALATORD = os.path.abspath(ns.escalatord)
    OPTIONS = ns
    if ns.keep:
        os.environ["KEEP_TMP"] = "1"
    if not timing_checked():
        print("ESCALATOR_TEST_TIMING=0: timing, CPU and memory assertions are not checked in "
              "this build (the functional ones are)", file=sys.stderr)
    excluded = ns.exclude

    class Program(unittest.TestProgram):
        def createTests(self, *a, **kw):
            super().createTests(*a, **kw)
            if excluded:
                self.test = _without(self.test, excluded)

    prog = Program(module="__main__", argv=[sys.argv[0]] + rest, exit=False,
                   verbosity=verbosity, testRunner=_Runner)
    result = prog.result
    if NOT_CHECKED:
        print("%d timing assertion(s) not checked (ESCALATOR_TEST_TIMING=0; each is named "
              "above)" % len(NOT_CHECKED), file=sys.stderr)
    if _PG["cluster"] is not None:
        _PG["cluster"].stop()
    if not result.wasSuccessful():
        return 1
    if result.testsRun == 0:
        print("no test ran", file=sys.stderr)
        return 1
    if len(result.skipped) == result.testsRun:
        return SKIPPED_ALL
    return 0


# --state-store postgresql: one cluster for the run, a database per test.
_PG = {"cluster": None, "n": 0}


def pg_state():
    """Is the state store on PostgreSQL in this run?"""
    return OPTIONS is not None and getattr(OPTIONS, "state_store", "sqlite") == "postgresql"


def _pg_state_database():
    """A new empty database on the run's cluster (started on first use); its URL."""
    from .pgcluster import PgCluster
    if _PG["cluster"] is None:
        pg = PgCluster()
        pg.start()
        _PG["cluster"] = pg
    _PG["n"] += 1
    name = "state%d" % _PG["n"]
    _PG["cluster"].create_database(name, encoding="SQL_ASCII")
    return _PG["cluster"], name


def _pg_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return "'" + str(v).replace("'", "''") + "'"


def pg_query(cluster, db, sql, args=()):
    """Rows of sql (SQLite's ? placeholders, filled in as literals) on PostgreSQL, as tuples of
    Python values (ints as ints, NULL as None); [] while the tables are not made yet."""
    import json
    from .pgcluster import PgError
    parts = sql.split("?")
    if len(parts) - 1 != len(args):
        raise ValueError("%d placeholders, %d arguments" % (len(parts) - 1, len(args)))
    text = parts[0] + "".join(_pg_literal(a) + rest for a, rest in zip(args, parts[1:]))
    wrapped = "SELECT row_to_json(q) FROM (%s) q" % text.rstrip().rstrip(";")
    try:
        out = cluster.psql(wrapped, db=db)
    except PgError as e:
        if "does not exist" in str(e):
            return []
        raise
    rows = []
    for line in out.splitlines():
        pairs = json.loads(line, object_pairs_hook=list)  # (a column name may come twice)
        rows.append(tuple(v for _, v in pairs))
    return rows


def option(name, default=None):
    """The file's own option `name` (None when not given: then default)."""
    v = getattr(OPTIONS, name, None)
    return default if v is None else v


def _without(suite, names):
    out = unittest.TestSuite()
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            out.addTest(_without(t, names))
        elif not any(n in t.id() for n in names):
            out.addTest(t)
    return out


class _Result(unittest.TextTestResult):
    """Prints how long each test took (the slowest first) after the run."""

    def startTest(self, test):
        self._t0 = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        self.__dict__.setdefault("took", []).append((time.monotonic() - self._t0, test.id()))


class _Runner(unittest.TextTestRunner):
    resultclass = _Result

    def run(self, test):
        result = super().run(test)
        took = sorted(getattr(result, "took", []), reverse=True)
        if took:
            self.stream.write("durations: %s\n" % ", ".join(
                "%s %.1fs" % (".".join(name.split(".")[-2:]), s) for s, name in took[:8]))
        return result


# ---------------------------------------------------------------------------------------------
# Timing, CPU and memory assertions
# ---------------------------------------------------------------------------------------------

def in_ci():
    """Is this CI (the environment variable CI set to "true")?"""
    return os.environ.get("CI") == "true"


def skip_or_fail(reason):
    """Skip the running test (raise unittest.SkipTest), or under CI=true fail it: in CI a test
    that cannot run is a broken environment, not something to pass over."""
    if in_ci():
        raise AssertionError("CI=true: this test must run here, but: %s" % reason)
    raise unittest.SkipTest(reason)


def timing_checked():
    """False where ESCALATOR_TEST_TIMING=0 (the asan build): see the module's docstring."""
    return os.environ.get("ESCALATOR_TEST_TIMING", "1") != "0"


def check_timing(test, what):
    """Check the timing, CPU or memory assertion `what` in test?  Not under
    ESCALATOR_TEST_TIMING=0: then say so on stderr, and False."""
    if timing_checked():
        return True
    note = "%s: %s" % (test.id().rsplit(".", 1)[-1], what)
    NOT_CHECKED.append(note)
    print("\nNOT CHECKED (ESCALATOR_TEST_TIMING=0): %s" % note, file=sys.stderr)
    return False


def measures(what):
    """Decorator: a test that only measures time, CPU or memory; skipped (visibly) where
    ESCALATOR_TEST_TIMING=0."""
    def wrap(fn):
        @functools.wraps(fn)
        def run(self, *a, **kw):
            if not timing_checked():
                self.skipTest("measures %s: not under ESCALATOR_TEST_TIMING=0" % what)
            return fn(self, *a, **kw)
        return run
    return wrap


def report(name, **numbers):
    """One machine-readable result line on stderr."""
    print("\nRESULT %s %s" % (name, json.dumps(numbers, sort_keys=True)), file=sys.stderr,
          flush=True)


def tail(text, n=60):
    lines = text.splitlines()
    if len(lines) <= n:
        return text
    return "... (%d lines before)\n" % (len(lines) - n) + "\n".join(lines[-n:])


# ---------------------------------------------------------------------------------------------
# Working days (only to choose inputs; the daemon does its own counting)
# ---------------------------------------------------------------------------------------------

def load_holidays(path=HOLIDAY_FILE):
    out = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                out.add(datetime.date.fromisoformat(line))
    return out


HOLIDAYS = load_holidays()


def is_working_day(d):
    return d.weekday() < 5 and d not in HOLIDAYS


def add_working_days(d, n):
    step = 1 if n >= 0 else -1
    left = abs(n)
    while left > 0:
        d += datetime.timedelta(days=step)
        if is_working_day(d):
            left -= 1
    return d


# ---------------------------------------------------------------------------------------------
# SQLite
# ---------------------------------------------------------------------------------------------

def connect_ro(path, timeout=10):
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=timeout)


def query(path, sql, args=(), tries=50):
    """Rows of sql on the SQLite file at path (read-only), retrying while it is busy."""
    last = None
    for _ in range(tries):
        try:
            db = connect_ro(path)
            try:
                return db.execute(sql, args).fetchall()
            finally:
                db.close()
        except sqlite3.OperationalError as e:
            last = e
            if "locked" not in str(e) and "busy" not in str(e) and "no such table" not in str(e):
                raise
            time.sleep(0.1)
    raise last


def integrity_check(path):
    """'ok' or the problems found.  Read-only first (so the daemon itself recovers the WAL)."""
    try:
        db = connect_ro(path)
        try:
            return "\n".join(r[0] for r in db.execute("PRAGMA integrity_check").fetchall())
        finally:
            db.close()
    except sqlite3.OperationalError as e:
        # A read-only connection cannot always run WAL recovery; say so rather than hide it.
        return "cannot open read-only: %s" % e


def insert_rows(db, rows, table="cases", ncols=2):
    """rows: tuples of ncols values; dates become ISO text, bytes are stored as TEXT as they
    are (maybe not UTF-8, as an extract could hold them)."""
    marks = ", ".join("CAST(? AS TEXT)" for _ in range(ncols))
    db.executemany("INSERT INTO %s VALUES (%s)" % (table, marks),
                   ([v.isoformat() if isinstance(v, datetime.date) else v for v in row]
                    for row in rows))


class Row(tuple):
    """A state store row: by position (row[2]) or by column name (row["status"])."""

    def __new__(cls, columns, values):
        row = super().__new__(cls, values)
        row.columns = columns
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self.columns.index(key))
        return tuple.__getitem__(self, key)

    def __repr__(self):
        return repr(dict(zip(self.columns, self)))


# ---------------------------------------------------------------------------------------------
# Ports
# ---------------------------------------------------------------------------------------------

def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on (free when asked), picked below the
    ephemeral range (sink.LISTEN_PORTS) so no client's local port takes it before it is used."""
    from .sink import bind_listener
    with socket.socket() as s:
        bind_listener(s, "127.0.0.1", 0)
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------------------------

class Daemon:
    """One escalatord process in the foreground; stderr (the log) and stdout to files."""

    def __init__(self, case, args=(), env=None, name="daemon"):
        self.case = case
        case.nruns += 1
        self.n = case.nruns
        self.stderr_path = os.path.join(case.run_dir, "%s.%d.stderr" % (name, self.n))
        self.stdout_path = os.path.join(case.run_dir, "%s.%d.stdout" % (name, self.n))
        self._err = open(self.stderr_path, "wb")
        self._out = open(self.stdout_path, "wb")
        self.argv = [ESCALATORD, "-c", case.conf] + list(args)
        self.proc = subprocess.Popen(self.argv, cwd=case.run_dir, stdin=subprocess.DEVNULL,
                                     stdout=self._out, stderr=self._err,
                                     env=env if env is not None else case.env)
        self.started = time.monotonic()
        case.daemons.append(self)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def log_bytes(self):
        with open(self.stderr_path, "rb") as f:
            return f.read()

    def log(self):
        return self.log_bytes().decode("utf-8", errors="replace")

    def wait_log(self, pattern, timeout=10.0, count=1, poll=0.05):
        """Wait until regex `pattern` matches `count` times in the log; return the matches."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            found = rx.findall(self.log())
            if len(found) >= count:
                return found
            if not self.alive():
                found = rx.findall(self.log())
                if len(found) >= count:
                    return found
                self.case.fail("escalatord exited (status %s) before logging %r %d time(s); "
                               "log:\n%s" % (self.proc.returncode, pattern, count,
                                             tail(self.log(), 200)))
            if time.monotonic() > deadline:
                self.case.fail("escalatord did not log %r %d time(s) within %.1fs (%d found); "
                               "log:\n%s" % (pattern, count, timeout, len(found),
                                             tail(self.log(), 200)))
            time.sleep(poll)

    def wait_listening(self, port, timeout=10.0):
        """Wait until the log says the listener is up on 127.0.0.1:port."""
        return self.wait_log(r"listening address=127\.0\.0\.1:%d" % port, timeout=timeout)

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait_exit(self, timeout):
        """Wait for the process to end; return (status, seconds waited)."""
        t0 = time.monotonic()
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.case.fail("escalatord (pid %d) still running %.1fs later; log:\n%s"
                           % (self.pid, timeout, tail(self.log())))
        return rc, time.monotonic() - t0

    def terminate(self, timeout=None):
        """SIGTERM; assert it exits 0 within timeout (the case's STOP_TIMEOUT); return the
        seconds it took."""
        if self.alive():
            self.signal(signal.SIGTERM)
        rc, took = self.wait_exit(timeout or self.case.STOP_TIMEOUT)
        self.case.assertEqual(rc, 0, "escalatord exited %s on SIGTERM; log:\n%s"
                              % (rc, tail(self.log())))
        return took

    def kill9(self):
        """SIGKILL and reap; returns the exit status (-9 if it was running)."""
        if self.alive():
            try:
                os.kill(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.case.fail("escalatord pid %d survived SIGKILL for 10 s" % self.pid)

    def stat_fields(self):
        with open("/proc/%d/stat" % self.pid) as f:
            data = f.read()
        # the command name is in parentheses and may hold spaces: split after the last ')'
        return data[data.rindex(")") + 2:].split()

    def cpu_seconds(self):
        """utime + stime of the process so far, in seconds."""
        f = self.stat_fields()
        # fields 14 and 15 of /proc/PID/stat; f[0] is field 3 (state)
        return (int(f[11]) + int(f[12])) / CLK_TCK

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cmdline(self):
        with open("/proc/%d/cmdline" % self.pid, "rb") as f:
            return f.read()

    def close(self):
        if self.alive():
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._err.close()
        self._out.close()


# ---------------------------------------------------------------------------------------------
# Test case base
# ---------------------------------------------------------------------------------------------

class DaemonCase(unittest.TestCase):
    """A private tree:

        <tmp>/etc/escalatord.conf   main configuration (relative paths resolve against etc/)
        <tmp>/etc/rules/RULES_FILE  rule file(s)
        <tmp>/etc/holidays/         copy of etc/holidays/england-and-wales.txt
        <tmp>/etc/*.secret          secrets (mode 0600)
        <tmp>/data/cases.sqlite     the case store, written by the test
        <tmp>/var/state.sqlite      the daemon's state store
        <tmp>/run/                  working directory; daemon.N.stderr are the logs

    Subclasses set the class attributes below; the configuration text is theirs, starting with
    TREE_CONFIG (the settings that point escalatord at this tree).
    """
    TREE_CONFIG = ('case_store = "../data/cases.sqlite";\n'
                   'state = "../var/state.sqlite";\n'
                   'rules = "rules";\n'
                   'holidays = [ "holidays/england-and-wales.txt" ];\n')
    maxDiff = None
    TMP_PREFIX = "escd-"
    RULES_FILE = "10-rules.conf"
    CASE_TABLE = "cases"
    CASE_COLUMNS = ("case_ref", "start")
    # delivery rows as deliveries() gives them (after the id)
    DELIVERY_COLUMNS = ("kind", "recipient", "status", "attempts", "next_attempt", "in_flight",
                        "last_error")
    HTTP_DEFAULTS = {"tls": False}
    SMTP_DEFAULTS = {}
    STOP_TIMEOUT = 15.0  # seconds a daemon has to exit 0 after SIGTERM (terminate())

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=self.TMP_PREFIX)
        self.etc = os.path.join(self.tmp, "etc")
        self.run_dir = os.path.join(self.tmp, "run")
        for d in ("etc/rules", "etc/holidays", "data", "var", "run"):
            os.makedirs(os.path.join(self.tmp, d))
        shutil.copy(HOLIDAY_FILE, os.path.join(self.etc, "holidays", "england-and-wales.txt"))
        self.conf = os.path.join(self.etc, "escalatord.conf")
        self.rules_path = os.path.join(self.etc, "rules", self.RULES_FILE)
        self.case_store = os.path.join(self.tmp, "data", "cases.sqlite")
        self.state = os.path.join(self.tmp, "var", "state.sqlite")
        self.pg = self.pg_db = None
        if pg_state():
            self.pg, self.pg_db = _pg_state_database()
            self.state_url = self.pg.url(db=self.pg_db)
        self.daemons = []
        self.sinks = []
        self.nruns = 0
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM", "WATCHDOG_USEC",
                                 "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LD_PRELOAD",
                                 "FAKETIME")}
        self.env["LC_ALL"] = "C"

    def tearDown(self):
        for d in self.daemons:
            d.close()
        for s in self.sinks:
            try:
                s.stop()
            except Exception as e:  # keep tearing down
                print("warning: stopping %r: %r" % (s, e), file=sys.stderr)
        reports = []
        for d in self.daemons:
            data = d.log_bytes()
            if any(m in data for m in SANITIZER_MARKERS):
                reports.append("%s:\n%s" % (d.stderr_path, data.decode("utf-8", "replace")))
        if os.environ.get("KEEP_TMP"):
            print("kept %s" % self.tmp, file=sys.stderr)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if reports:
            self.fail("sanitizer report in escalatord's log:\n" + "\n".join(reports))

    # -- timing -----------------------------------------------------------------------------
    def timing_checked(self, what):
        return check_timing(self, what)

    # -- servers ----------------------------------------------------------------------------
    def http_sink(self, **kw):
        from harness import HttpSink
        for k, v in self.HTTP_DEFAULTS.items():
            kw.setdefault(k, v)
        sink = HttpSink(**kw)
        sink.start()
        self.sinks.append(sink)
        return sink

    def smtp_sink(self, **kw):
        from harness import SmtpSink
        for k, v in self.SMTP_DEFAULTS.items():
            kw.setdefault(k, v)
        sink = SmtpSink(**kw)
        sink.start()
        self.sinks.append(sink)
        return sink

    # -- files ------------------------------------------------------------------------------
    def write_secret(self, name, value, mode=0o600):
        """etc/<name> holding value and a newline; returns its path."""
        path = os.path.join(self.etc, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        os.chmod(path, mode)
        return path

    def write_config_text(self, text):
        if self.pg is not None:
            text = text.replace('state = "../var/state.sqlite";',
                                'state = "%s";' % self.state_url)
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)

    def write_rules(self, text, path=None):
        with open(path or self.rules_path, "w", encoding="utf-8") as f:
            f.write(text)

    def make_case_store(self, rows, path=None, journal_mode=None, table=None, columns=None):
        """A new case store: one table (CASE_TABLE, CASE_COLUMNS, all TEXT) holding rows."""
        path = path or self.case_store
        table = table or self.CASE_TABLE
        columns = columns or self.CASE_COLUMNS
        if os.path.exists(path):
            os.unlink(path)
        db = sqlite3.connect(path)
        if journal_mode:
            db.execute("PRAGMA journal_mode = %s" % journal_mode)
        db.execute("CREATE TABLE %s (%s)" % (table, ", ".join("%s TEXT" % c for c in columns)))
        insert_rows(db, rows, table, len(columns))
        db.commit()
        db.close()
        return path

    def insert_cases(self, *rows):
        """Add rows to the case store from another connection (while the daemon runs)."""
        db = sqlite3.connect(self.case_store, timeout=10)
        insert_rows(db, rows, self.CASE_TABLE, len(self.CASE_COLUMNS))
        db.commit()
        db.close()

    # -- daemons ----------------------------------------------------------------------------
    def start_daemon(self, args=(), env=None, name="daemon"):
        return Daemon(self, args=args, env=env, name=name)

    def run_escalatord(self, args, timeout=120, env=None):
        """Run escalatord to completion (--check, --once); return CompletedProcess (bytes)."""
        return subprocess.run([ESCALATORD, "-c", self.conf] + list(args), cwd=self.run_dir,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout,
                              env=env if env is not None else self.env)

    # -- waiting ----------------------------------------------------------------------------
    def wait_for(self, probe, timeout=10.0, what="condition", poll=0.1):
        """Call probe() until it returns something true; return that.  Fails after timeout."""
        deadline = time.monotonic() + timeout
        while True:
            got = probe()
            if got:
                return got
            if time.monotonic() > deadline:
                self.fail("%s not reached within %.1fs" % (what, timeout))
            time.sleep(poll)

    # -- state store ------------------------------------------------------------------------
    def state_query(self, sql, args=()):
        if self.pg is not None:
            return pg_query(self.pg, self.pg_db, sql, args)
        if not os.path.exists(self.state):
            return []
        return query(self.state, sql, args)

    def state_intact(self):
        """The state store's own check: SQLite's PRAGMA integrity_check ("ok" when the file is
        whole, or not made yet); on PostgreSQL "ok" (the server keeps its own pages whole)."""
        if self.pg is not None or not os.path.exists(self.state):
            return "ok"
        return query(self.state, "PRAGMA integrity_check")[0][0]

    def reset_state(self):
        """Start the next run from an empty state store (the file removed, or the tables
        dropped)."""
        if self.pg is not None:
            self.pg.psql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;", db=self.pg_db)
            return
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.state + suffix):
                os.unlink(self.state + suffix)

    def deliveries(self):
        """{id: Row(DELIVERY_COLUMNS)}"""
        rows = self.state_query("SELECT id, %s FROM delivery ORDER BY id"
                                % ", ".join(self.DELIVERY_COLUMNS))
        return {r[0]: Row(self.DELIVERY_COLUMNS, r[1:]) for r in rows}

    def wait_state(self, predicate, timeout=10.0, what="state store condition", poll=0.1):
        """Wait until predicate(deliveries()) is true; return those deliveries."""
        deadline = time.monotonic() + timeout
        ds = None
        while True:
            try:
                ds = self.deliveries()
            except sqlite3.OperationalError:  # busy, or tables not created yet
                ds = None
            if ds is not None and predicate(ds):
                return ds
            if time.monotonic() > deadline:
                self.fail("%s not reached within %.1fs; deliveries: %r"
                          % (what, timeout, ds if ds is None or len(ds) < 20 else
                             "%d rows" % len(ds)))
            time.sleep(poll)

    def wait_all_sent(self, n, timeout=15.0):
        return self.wait_state(
            lambda ds: len(ds) == n and all(v["status"] == "sent" for v in ds.values()),
            timeout, "%d deliveries all sent" % n)

    # -- assertions -------------------------------------------------------------------------
    def assert_log_lines_clean(self, daemon):
        """Every log line is one line: the expected prefix, no raw control characters."""
        data = daemon.log_bytes()
        for i, line in enumerate(data.split(b"\n")[:-1], 1):
            self.assertTrue(line.startswith(b"escalatord: "),
                            "%s line %d does not start with 'escalatord: ' (a value broke a "
                            "line?): %r" % (daemon.stderr_path, i, line[:300]))
            bad = [c for c in line if c < 0x20 or c == 0x7f]
            self.assertFalse(bad, "%s line %d holds raw control characters %r: %r"
                             % (daemon.stderr_path, i, sorted(set(bad)), line[:300]))
        self.assertTrue(data == b"" or data.endswith(b"\n"), "log does not end with a newline")
