#!/usr/bin/python3
"""Fault suite: any extract the council produces opens, and no value in it is unbounded.

    /usr/bin/python3 tests/fault/test_extract.py --escalatord build/escalatord [-v]

Issue 12, points 4 and 6.  The tests run as root; escalatord runs as nobody (setpriv), as the
shipped unit runs it as its own user under ProtectSystem=strict: the case store's directory is
owned by another user (root) and mode 0555, so escalatord can read the store but create nothing
beside it (no -wal, -shm or -journal file).

  - A store in WAL journal mode (the extract's writer closed it: no -wal, no -shm left) and a
    store in rollback-journal mode both pass --check, and --once prints every alert owed.
  - A WAL store whose writer still has it open (its -wal holds rows not yet checkpointed, the
    -shm is readable) opens and shows those rows; when the -shm cannot be read either, --check
    fails and says what to change.
  - A rollback-journal store with a hot journal (its writer died part-way): --check fails and
    says what to do.
  - The daemon (as nobody, WAL store, read-only directory) notices the extract replaced by
    rename, and a change made in place, reopens and alerts the new rows.
  - A 40 MB value in a field column: every row is alerted, the value is cut (fields, subject,
    body, expected all within their caps) and peak RSS (VmHWM of the daemon after its
    first pass)
    stays under 64 MiB (not checked under ESCALATOR_TEST_TIMING=0).
"""

import grp
import json
import os
import pwd
import shutil
import sqlite3
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402
from harness import daemon as hd  # noqa: E402

USER = "nobody"
VALUE_CAP = 2000       # characters of one value in a message (daemon/casestore.h)
BODY_CAP = 64 * 1024   # bytes of one rendered text (rules/template.h)
RSS_LIMIT_KIB = 64 * 1024
BIG = 40 * 1000 * 1000


def as_user_wrapper(path):
    """A script that runs escalatord as USER (exec: the pid stays the daemon's)."""
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec setpriv --reuid=%s --regid=%s --clear-groups %s \"$@\"\n"
                % (USER, _group(), hd.ESCALATORD))
    os.chmod(path, 0o755)
    return path


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/%d/status" % pid)


def _group():
    return grp.getgrgid(pwd.getpwnam(USER).pw_gid).gr_name


class Extract(fl.FaultCase):

    def setUp(self):
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            hd.skip_or_fail("needs root and setpriv to run escalatord as %s" % USER)
        super().setUp()
        self.sink = self.http_sink()
        self.write_config({"hook": self.sink.url_for("/hook")}, poll_interval=1, retry_min=1,
                          retry_max=2, connect_timeout=2, delivery_timeout=5,
                          shutdown_timeout=2)
        self.write_rules(fl.rule_text(notify=("hook",)))
        self.owed = ["C%03d" % i for i in range(1, 31)]
        self.rows = [(c, "2024-01-%02d" % (1 + i % 28)) for i, c in enumerate(self.owed)] + \
            [("F%03d" % i, "2099-01-01") for i in range(1, 11)]
        # nobody may read the tree and write its state store and working directory; the case
        # store's directory stays root's
        uid = pwd.getpwnam(USER).pw_uid
        gid = pwd.getpwnam(USER).pw_gid
        os.chmod(self.tmp, 0o755)
        for d in ("var", "run"):
            os.chown(os.path.join(self.tmp, d), uid, gid)
        self.data = os.path.join(self.tmp, "data")
        self.wrapper = as_user_wrapper(os.path.join(self.tmp, "escalatord-as-user"))
        self._real = hd.ESCALATORD

    def tearDown(self):
        if hasattr(self, "data"):
            os.chmod(self.data, 0o755)
        super().tearDown()

    # -- helpers ----------------------------------------------------------------------------
    def store(self, journal_mode):
        os.chmod(self.data, 0o755)
        self.make_case_store(self.rows, journal_mode=journal_mode)
        os.chmod(self.case_store, 0o644)
        os.chmod(self.data, 0o555)
        self.assertEqual(sorted(os.listdir(self.data)), ["cases.sqlite"])

    def as_user(self, args, timeout=60):
        hd.ESCALATORD = self.wrapper
        try:
            return self.run_escalatord(args, timeout=timeout)
        finally:
            hd.ESCALATORD = self._real

    def once_cases(self, p):
        self.assertEqual(p.returncode, 0, "--once failed: %s" % p.stderr.decode(errors="replace"))
        return sorted(json.loads(line)["case"] for line in p.stdout.decode().splitlines())

    def hooks(self):
        return sorted(r.json()["case"] for r in self.sink.requests if r.url_path == "/hook")

    def wait_hooks(self, n, timeout=30):
        self.sink.wait_until(lambda s: len(self.hooks()) >= n, timeout)
        return self.hooks()

    def check_and_once(self):
        p = self.as_user(["--check"])
        self.assertEqual(p.returncode, 0, "--check as %s failed:\n%s"
                         % (USER, p.stderr.decode(errors="replace")))
        self.assertEqual(self.once_cases(self.as_user(["--once"])), self.owed)
        self.assertEqual(sorted(os.listdir(self.data)), ["cases.sqlite"],
                         "escalatord left files beside the case store")

    # -- point 4: the extract opens ---------------------------------------------------------
    def test_wal_store_in_readonly_directory(self):
        self.store("WAL")
        with open(self.case_store, "rb") as f:
            self.assertEqual(f.read(20)[18:20], b"\x02\x02", "not a WAL-mode file")
        self.check_and_once()

    def test_rollback_journal_store_in_readonly_directory(self):
        self.store("DELETE")
        self.check_and_once()

    def test_wal_store_with_writer_open(self):
        """The writer still has it open: rows only in the -wal file are seen (no stale read)."""
        self.store("WAL")
        os.chmod(self.data, 0o755)
        w = sqlite3.connect(self.case_store)
        try:
            w.execute("PRAGMA wal_autocheckpoint = 0")
            fl.insert_rows(w, [("W001", "2024-02-01")])
            w.commit()
            os.chmod(self.data, 0o555)
            self.assertTrue(os.path.getsize(self.case_store + "-wal") > 0)
            for f in ("-wal", "-shm"):
                os.chmod(self.case_store + f, 0o644)
            p = self.as_user(["--check"])
            self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace"))
            self.assertEqual(self.once_cases(self.as_user(["--once"])),
                             sorted(self.owed + ["W001"]))
            # the -shm cannot be read: SQLite cannot read the -wal, and reading the main file
            # alone would miss W001: --check says what to change
            os.chmod(self.case_store + "-shm", 0o600)
            p = self.as_user(["--check"])
            err = p.stderr.decode(errors="replace")
            self.assertNotEqual(p.returncode, 0, "opened without the rows in the -wal file")
            self.assertIn("WAL", err)
            self.assertIn("journal_mode", err, err)
        finally:
            w.close()

    def test_rollback_hot_journal_says_what_to_do(self):
        """A writer stopped part-way: SQLite must roll back its -journal, which needs write
        access.  --check fails (reading it as it is would read half a transaction) and says
        what to do."""
        self.store("DELETE")
        os.chmod(self.data, 0o755)
        pid = os.fork()
        if pid == 0:  # the writer: dies in the middle of a transaction
            try:
                w = sqlite3.connect(self.case_store)
                w.execute("PRAGMA cache_size = 1")
                w.execute("BEGIN")
                w.execute("UPDATE cases SET start = '2099-12-31'")
                # enough pages that the cache spills them into the file before commit
                w.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                          "WHERE i < 3000) INSERT INTO cases SELECT 'X' || i, "
                          "hex(randomblob(200)) FROM n")
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        os.chmod(self.data, 0o555)
        self.assertIn("cases.sqlite-journal", os.listdir(self.data))
        p = self.as_user(["--check"])
        err = p.stderr.decode(errors="replace")
        self.assertNotEqual(p.returncode, 0, err)
        self.assertIn("-journal was left by a writer that stopped part-way", err)
        self.assertIn("by rename", err)

    def test_daemon_notices_replaced_and_changed_extract(self):
        self.store("WAL")
        hd.ESCALATORD = self.wrapper
        try:
            d = self.start_daemon()
        finally:
            hd.ESCALATORD = self._real
        hooks = self.hooks
        self.assertTrue(self.sink.wait_until(lambda s: len(hooks()) >= len(self.owed), 30),
                        "alerts did not arrive; log:\n%s" % fl.tail(d.log()))
        # the nightly extract: a new file renamed over the old one (root may write the
        # directory; the daemon may not)
        tmp = os.path.join(self.data, ".cases.new")
        self.make_case_store(self.rows + [("N001", "2024-03-01")], path=tmp, journal_mode="WAL")
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.case_store)
        self.assertTrue(self.sink.wait_until(lambda s: "N001" in hooks(), 20),
                        "the replaced extract was not read; log:\n%s" % fl.tail(d.log()))
        d.wait_log(r"was replaced; reopened")
        # a change in place (the writer opens it in WAL mode and commits: checkpointed on close)
        self.insert_cases(("N002", "2024-03-02"))
        self.assertTrue(self.sink.wait_until(lambda s: "N002" in hooks(), 20),
                        "the change in place was not noticed; log:\n%s" % fl.tail(d.log()))
        self.assertEqual(hooks(), sorted(self.owed + ["N001", "N002"]))
        self.assertTrue(d.alive())
        d.terminate()

    # -- point 6: bounded values ------------------------------------------------------------
    def test_40mb_value(self):
        cols = ("case_ref", "start", "note")
        self.write_rules(fl.rule_text(
            query="SELECT case_ref, start, note FROM cases", notify=("hook",),
            extra='    fields = [ "note" ];\n    subject = "{{note}}";\n'
                  '    body = "%s";\n    expected = "{{note}}";\n' % ("{{note}} " * 40)))
        big = "é" + "x" * (BIG - 3) + "é"   # 2 + 40e6 - 3 + 2 bytes: starts and ends in UTF-8
        rows = [(c, s, "short note") for c, s in self.rows]
        rows.insert(5, ("BIG01", "2024-01-15", big))
        self.make_case_store(rows, columns=cols, journal_mode="DELETE")
        self.assertGreaterEqual(os.path.getsize(self.case_store), BIG)
        # the daemon, not --once: VmHWM is read from /proc while it runs (the ru_maxrss of a
        # child also counts the forked test process before exec)
        d = self.start_daemon()
        d.wait_log(r"evaluated why=\S+ clocks=%d alerts=%d " % (len(rows), len(self.owed) + 1),
                   timeout=60)
        peak_kib = vm_hwm_kib(d.pid)
        fl.report("extract_40mb_value", peak_rss_kib=peak_kib)
        self.assertEqual(self.wait_hooks(len(self.owed) + 1), sorted(self.owed + ["BIG01"]),
                         "an alert was lost")
        d.terminate()
        got = fl.query(self.state, "SELECT subject, body, expected, fields FROM alert "
                       "WHERE case_ref = 'BIG01'")
        self.assertEqual(len(got), 1)
        subject, body, expected, fields = got[0]
        for name, text in (("subject", subject), ("body", body), ("expected", expected)):
            self.assertLessEqual(len(text.encode()), BODY_CAP, name)
        self.assertLessEqual(len(expected), VALUE_CAP + 1)
        self.assertTrue(expected.startswith("éxxx") and expected.endswith("…"), expected[:20])
        note = json.loads(fields)["note"]
        self.assertEqual(len(note), VALUE_CAP + 1, "the field is not cut at the cap")
        self.assertTrue(note.endswith("x…"))
        self.assertTrue(body.endswith("…"), body[-20:])
        # dates and case references (short) are read whole
        ok = fl.query(self.state, "SELECT fields, subject FROM alert WHERE case_ref = 'C001'")
        self.assertEqual(json.loads(ok[0][0]), {"note": "short note"})
        if self.timing_checked("peak RSS < 64 MiB with a 40 MB value"):
            self.assertLess(peak_kib, RSS_LIMIT_KIB,
                            "peak RSS %d KiB with a 40 MB value" % peak_kib)


if __name__ == "__main__":
    sys.exit(fl.run_main(doc=__doc__))
