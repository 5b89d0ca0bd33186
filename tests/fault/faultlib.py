"""Shared fixtures of the fault and abuse suite (tests/fault/test_*.py).

Each test file is a plain unittest module run by /usr/bin/python3:

    /usr/bin/python3 tests/fault/test_crash.py --escalatord build/escalatord [-v] [-k NAME]

`--escalatord PATH` (or ESCALATORD in the environment) names the binary under test; each file may
add options of its own (see its docstring, or --help-options).  Everything else goes to unittest.
The exit status is 0 only if every test passed.

The processes, the temporary tree, the waits and the command line are tests/harness/daemon.py's
(re-exported here: run_main, option, measures, report, tail, integrity_check, connect_ro,
query).  This
module adds what only the fault suite uses:

  FaultCase                DaemonCase with the fault suite's configuration writer (contacts
                           given as a dict) and its rule file name
  rule_text(...)           one clock rule with one stage
  supports_setting(name)   does this escalatord accept a newer top-level setting?  (No: said
                           on stderr, and under CI=true the test fails)

Servers listen on 127.0.0.1 only; every wait is bounded in count and time.
"""

import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from harness import daemon as hd  # noqa: E402
from harness.daemon import (  # noqa: E402,F401 (the fault tests' names for them)
    connect_ro, insert_rows, integrity_check, measures, option, query, report, run_main, tail)

_SUPPORTED = {}


def supports_setting(name, value="1"):
    """Does this escalatord accept the top-level setting `name` (newer settings, e.g.
    max_per_destination)?  Probed once with --check on a minimal tree.  A test leaves the
    setting out when the answer is no, so a no is never silent: it is said on stderr each time,
    and under CI=true (hd.in_ci()) it fails the test, --check's complaint attached."""
    if (name, value) not in _SUPPORTED:
        _SUPPORTED[(name, value)] = _probe_setting(name, value)
    ok, why = _SUPPORTED[(name, value)]
    if not ok:
        print("\nSETTING DROPPED: this escalatord refuses %s = %s (--check: %s); the test runs "
              "without it" % (name, value, why), file=sys.stderr)
        if hd.in_ci():
            raise AssertionError("CI=true: escalatord refuses the setting %s = %s, which the "
                                 "test needs: %s" % (name, value, why))
    return ok


def _probe_setting(name, value):
    """(accepted, --check's standard error) for `name = value` on a minimal tree."""
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
        p = subprocess.run([hd.ESCALATORD, "-c", os.path.join(tmp, "e.conf"), "--check"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        return (p.returncode == 0, p.stderr.decode("utf-8", "replace").strip())
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# Rule files and configuration
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


def make_big_store(path, n, prefix="C"):
    """A case store of n overdue clocks (table cases: case_ref, start), made anew at path."""
    if os.path.exists(path):
        os.unlink(path)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE cases (case_ref TEXT, start TEXT)")
    db.executemany("INSERT INTO cases VALUES (?, ?)",
                   (("%s%06d" % (prefix, i), "2024-%02d-%02d" % (1 + i % 12, 1 + i % 28))
                    for i in range(n)))
    db.commit()
    db.close()


class FaultCase(hd.DaemonCase):
    """harness.daemon.DaemonCase (the private tree, daemons, servers, state store) with the fault
    suite's configuration: write_config(contacts, ...) below, rule file etc/rules/10-fault.conf,
    plain-HTTP servers by default."""
    TMP_PREFIX = "escfault-"
    RULES_FILE = "10-fault.conf"

    def seed_rng(self):
        """self.seed (--seed, else from the time, printed) and self.rng from it."""
        self.seed = option("seed", None)
        if self.seed is None:
            self.seed = int(time.time() * 1000) % 1000000
        self.rng = random.Random(self.seed)
        print("\n%s: seed %d" % (self.id(), self.seed), file=sys.stderr)

    def has_schema(self):
        """Does the state store exist with its tables? A kill early in start-up may land after
        the file is created (auto_vacuum is set before the first table) but before the
        schema; the next start creates it."""
        if self.pg is not None:
            return self.state_query("SELECT count(*) FROM pg_tables WHERE tablename = "
                                    "'delivery'")[0][0] == 1
        return os.path.exists(self.state) and self.state_query(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'delivery'"
        )[0][0] == 1

    def write_config(self, contacts, poll_interval=1, send_time="00:00", smtp=None,
                     ca_file=None, timezone="Europe/London", **settings):
        """contacts: {name: 'email@x' | 'http(s)://...' | (url, secret_file)}.

        smtp: None or a dict of the smtp group's settings (strings or booleans).
        settings: any other top-level setting (ints, or strings already quoted as needed).
        """
        # digest = "off" (unless a test asks otherwise): these tests are about single
        # deliveries (each alert's delivery, retried, counted, recovered after a crash);
        # digests: tests/integration/test_digests.py.
        lines = ["# fault suite configuration",
                 self.TREE_CONFIG.rstrip("\n"),
                 'digest = "%s";' % settings.pop("digest", "off"),
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
        self.write_config_text("\n".join(lines) + "\n")
