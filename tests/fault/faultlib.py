"""Shared fixtures of the fault and abuse suite (tests/fault/test_*.py).

Each test file is a plain unittest module run by /usr/bin/python3:

    /usr/bin/python3 tests/fault/test_crash.py --escalatord build/escalatord [-v] [-k NAME]

`--escalatord PATH` (or ESCALATORD in the environment) names the binary under test; each file may
add options of its own (see its docstring).  Everything else goes to unittest.  The exit status is
0 only if every test passed.

What this module gives the tests:

  run_main(options)        parse the command line, run unittest, exit non-zero on failure
  FaultCase                a TestCase with a private temporary tree, config/rule/case store
                           writers, daemons started in the foreground (stderr to a file) and killed
                           in tearDown, servers stopped in tearDown, state store queries
  Daemon                   one escalatord process: wait_log, kill9, cpu_seconds, rss_kib
  integrity_check(path)    PRAGMA integrity_check on an SQLite file, read-only
  report(name, **numbers)  print a `RESULT name {json}` line on stderr (docs/reliability.md is
                           filled from these lines)

Servers listen on 127.0.0.1 only; every wait is bounded in count and time.
"""

import argparse
import datetime
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
SRCDIR = os.path.dirname(TESTS)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

HOLIDAY_FILE = os.path.join(SRCDIR, "etc", "holidays", "england-and-wales.txt")
SANITIZER_MARKERS = (b"AddressSanitizer", b"LeakSanitizer", b"UndefinedBehaviorSanitizer",
                     b"runtime error:")
CLK_TCK = os.sysconf("SC_CLK_TCK")

ESCALATORD = None  # set by run_main
OPTIONS = argparse.Namespace()  # the file's own options, set by run_main


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------

def run_main(add_options=None, doc=None):
    """Parse --escalatord PATH and the file's own options; run unittest; return the exit code."""
    global ESCALATORD, OPTIONS
    p = argparse.ArgumentParser(add_help=False, description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--escalatord", default=os.environ.get("ESCALATORD"))
    p.add_argument("--keep", action="store_true", help="keep the temporary directories")
    p.add_argument("--help-fault", action="store_true", help="show this file's options")
    if add_options is not None:
        add_options(p)
    ns, rest = p.parse_known_args(sys.argv[1:])
    if ns.help_fault:
        p.print_help()
        return 0
    if not ns.escalatord or not os.access(ns.escalatord, os.X_OK):
        print("usage: %s --escalatord PATH [options] [unittest options]\n"
              "       (--help-fault lists this file's options)" % sys.argv[0], file=sys.stderr)
        return 2
    ESCALATORD = os.path.abspath(ns.escalatord)
    OPTIONS = ns
    if ns.keep:
        os.environ["KEEP_TMP"] = "1"
    prog = unittest.main(argv=[sys.argv[0]] + rest, exit=False)
    return 0 if prog.result.wasSuccessful() else 1


_SUPPORTED = {}


def supports_setting(name, value="1"):
    """Does this escalatord accept the top-level setting `name` (newer settings, e.g.
    max_per_destination)?  Probed once with --check on a minimal tree."""
    if name in _SUPPORTED:
        return _SUPPORTED[name]
    tmp = tempfile.mkdtemp(prefix="escfault-probe-")
    try:
        os.makedirs(os.path.join(tmp, "rules"))
        db = sqlite3.connect(os.path.join(tmp, "cases.sqlite"))
        db.execute("CREATE TABLE cases (case_ref TEXT, start TEXT)")
        db.commit()
        db.close()
        with open(os.path.join(tmp, "rules", "r.conf"), "w") as f:
            f.write(rule_text(notify=("hook",)))
        with open(os.path.join(tmp, "e.conf"), "w") as f:
            f.write('case_store = "cases.sqlite"; state = "state.sqlite"; rules = "rules";\n'
                    'contacts = { hook = { webhook = "http://127.0.0.1:9/x"; }; };\n'
                    "%s = %s;\n" % (name, value))
        p = subprocess.run([ESCALATORD, "-c", os.path.join(tmp, "e.conf"), "--check"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        _SUPPORTED[name] = p.returncode == 0
        return _SUPPORTED[name]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def report(name, **numbers):
    """One machine-readable result line on stderr."""
    print("\nRESULT %s %s" % (name, json.dumps(numbers, sort_keys=True)), file=sys.stderr,
          flush=True)


# ---------------------------------------------------------------------------------------------
# SQLite helpers
# ---------------------------------------------------------------------------------------------

def connect_ro(path, timeout=10):
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=timeout)


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


# ---------------------------------------------------------------------------------------------
# Rule files
# ---------------------------------------------------------------------------------------------

def rule_text(rule_id="fault-rule", title="Statutory visit", query="SELECT case_ref, start FROM cases",
              notify=("hook",), due="0 days", at="0 days", stage="overdue", extra=""):
    """One clock rule with one stage, calendar days (a stage date is never moved)."""
    return """\
# fault suite rule
rules = (
  {
    id = "%s";
    title = "%s";
    query = "%s";
    due = "%s";
    working_days_only = false;
%s    stages = ( { name = "%s"; at = "%s"; notify = [ %s ]; } );
  }
);
""" % (rule_id, title, query, due, extra, stage, at, ", ".join('"%s"' % n for n in notify))


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
            text = self.log()
            found = rx.findall(text)
            if len(found) >= count:
                return found
            if not self.alive():
                found = rx.findall(self.log())
                if len(found) >= count:
                    return found
                self.case.fail("escalatord exited (status %s) before logging %r %d time(s); "
                               "log:\n%s" % (self.proc.returncode, pattern, count,
                                             tail(self.log())))
            if time.monotonic() > deadline:
                self.case.fail("escalatord did not log %r %d time(s) within %.1fs (%d found); "
                               "log:\n%s" % (pattern, count, timeout, len(found),
                                             tail(self.log())))
            time.sleep(poll)

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

    def terminate(self, timeout=15.0):
        """SIGTERM; assert it exits 0 within timeout."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.case.fail("escalatord pid %d still running %.0fs after SIGTERM; log:\n%s"
                           % (self.pid, timeout, tail(self.log())))
        self.case.assertEqual(rc, 0, "escalatord exited %s on SIGTERM; log:\n%s"
                              % (rc, tail(self.log())))
        return rc

    def signal(self, sig):
        self.proc.send_signal(sig)

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


def tail(text, n=60):
    lines = text.splitlines()
    if len(lines) <= n:
        return text
    return "... (%d lines before)\n" % (len(lines) - n) + "\n".join(lines[-n:])


# ---------------------------------------------------------------------------------------------
# Test case base
# ---------------------------------------------------------------------------------------------

class FaultCase(unittest.TestCase):
    """A private tree:

        <tmp>/etc/escalatord.conf   main configuration (relative paths resolve against etc/)
        <tmp>/etc/rules/*.conf      rule files
        <tmp>/etc/holidays/         copy of etc/holidays/england-and-wales.txt
        <tmp>/data/cases.sqlite     the case store
        <tmp>/var/state.sqlite      the state store
        <tmp>/run/                  working directory; daemon.N.stderr are the logs
    """
    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="escfault-")
        self.etc = os.path.join(self.tmp, "etc")
        self.run_dir = os.path.join(self.tmp, "run")
        for d in ("etc/rules", "etc/holidays", "data", "var", "run"):
            os.makedirs(os.path.join(self.tmp, d))
        shutil.copy(HOLIDAY_FILE, os.path.join(self.etc, "holidays", "england-and-wales.txt"))
        self.conf = os.path.join(self.etc, "escalatord.conf")
        self.rules_path = os.path.join(self.etc, "rules", "10-fault.conf")
        self.case_store = os.path.join(self.tmp, "data", "cases.sqlite")
        self.state = os.path.join(self.tmp, "var", "state.sqlite")
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

    # -- servers ----------------------------------------------------------------------------
    def http_sink(self, **kw):
        from harness import HttpSink
        kw.setdefault("tls", False)
        sink = HttpSink(**kw)
        sink.start()
        self.sinks.append(sink)
        return sink

    def smtp_sink(self, **kw):
        from harness import SmtpSink
        sink = SmtpSink(**kw)
        sink.start()
        self.sinks.append(sink)
        return sink

    # -- files ------------------------------------------------------------------------------
    def write_secret(self, name, value, mode=0o600):
        path = os.path.join(self.etc, name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(value + "\n")
        os.chmod(path, mode)
        return path

    def write_config(self, contacts, poll_interval=1, send_time="00:00", smtp=None,
                     ca_file=None, timezone="Europe/London", **settings):
        """contacts: {name: 'email@x' | 'http(s)://...' | (url, secret_file)}.

        smtp: None or a dict of the smtp group's settings (strings or booleans).
        settings: any other top-level setting (ints, or strings already quoted as needed).
        """
        lines = ["# fault suite configuration",
                 'case_store = "../data/cases.sqlite";',
                 'state = "../var/state.sqlite";',
                 'rules = "rules";',
                 'holidays = [ "holidays/england-and-wales.txt" ];',
                 'timezone = "%s";' % timezone,
                 'send_time = "%s";' % send_time,
                 "poll_interval = %d;" % poll_interval]
        if ca_file:
            lines.append('ca_file = "%s";' % ca_file)
        for k, v in settings.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            elif isinstance(v, str):
                v = '"%s"' % v
            lines.append("%s = %s;" % (k, v))
        lines.append("contacts = {")
        for name, target in contacts.items():
            if isinstance(target, tuple):
                lines.append('  %s = { webhook = "%s"; secret_file = "%s"; };'
                             % (name, target[0], target[1]))
            elif target.startswith(("http://", "https://")):
                lines.append('  %s = { webhook = "%s"; };' % (name, target))
            else:
                lines.append('  %s = { email = "%s"; };' % (name, target))
        lines.append("};")
        if smtp:
            lines.append("smtp = {")
            for k, v in smtp.items():
                if isinstance(v, bool):
                    lines.append("  %s = %s;" % (k, "true" if v else "false"))
                else:
                    lines.append('  %s = "%s";' % (k, v))
            lines.append("};")
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")

    def write_rules(self, text, path=None):
        with open(path or self.rules_path, "w", encoding="utf-8") as f:
            f.write(text)

    def make_case_store(self, rows, path=None, journal_mode=None, table="cases",
                        columns=("case_ref", "start")):
        """rows: tuples matching columns; bytes values are stored as TEXT (maybe not UTF-8)."""
        path = path or self.case_store
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

    # -- daemons ----------------------------------------------------------------------------
    def start_daemon(self, args=(), env=None, name="daemon"):
        return Daemon(self, args=args, env=env, name=name)

    def run_escalatord(self, args, timeout=120, env=None):
        """Run escalatord to completion (--check, --once); return CompletedProcess (bytes)."""
        return subprocess.run([ESCALATORD, "-c", self.conf] + list(args), cwd=self.run_dir,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=timeout,
                              env=env if env is not None else self.env)

    # -- state store ------------------------------------------------------------------------
    def state_query(self, sql, args=()):
        if not os.path.exists(self.state):
            return []
        return query(self.state, sql, args)

    def deliveries(self):
        """{id: dict(kind, recipient, status, attempts, next_attempt, in_flight, last_error)}"""
        rows = self.state_query("SELECT id, kind, recipient, status, attempts, next_attempt, "
                                "in_flight, last_error FROM delivery ORDER BY id")
        keys = ("kind", "recipient", "status", "attempts", "next_attempt", "in_flight",
                "last_error")
        return {r[0]: dict(zip(keys, r[1:])) for r in rows}

    def wait_state(self, predicate, timeout=10.0, what="state store condition", poll=0.1):
        deadline = time.monotonic() + timeout
        ds = None
        while True:
            try:
                ds = self.deliveries()
            except sqlite3.OperationalError:
                ds = None
            if ds is not None and predicate(ds):
                return ds
            if time.monotonic() > deadline:
                self.fail("%s not reached within %.1fs; deliveries: %r"
                          % (what, timeout, ds if ds is None or len(ds) < 20 else
                             "%d rows" % len(ds)))
            time.sleep(poll)

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


def insert_rows(db, rows, table="cases", ncols=2):
    marks = ", ".join("CAST(? AS TEXT)" for _ in range(ncols))
    db.executemany("INSERT INTO %s VALUES (%s)" % (table, marks),
                   ([v.isoformat() if isinstance(v, datetime.date) else v for v in row]
                    for row in rows))
