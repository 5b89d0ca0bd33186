#!/usr/bin/python3
"""Fault suite: a large case store, steady deliveries and reloads for a bounded time.

    /usr/bin/python3 tests/fault/test_load.py --escalatord build/escalatord [-v]
        [--clocks N]          open clocks in the case store (default 200000)
        [--minutes M]         how long the daemon runs under load (default 1.5)
        [--growth-kib K]      allowed VmRSS growth between the first and last third after
                              warm-up (default 4096, i.e. 4 MiB)
    The issue's long run (by hand, about 10.5 minutes on 2 cores):
        /usr/bin/python3 tests/fault/test_load.py --escalatord build/escalatord \\
            --clocks 1000000 --minutes 10

The case store holds N clocks, 1% of them owed at the start (one webhook delivery each), the rest
not yet due.  escalatord runs with poll_interval = 1 while the test, for the whole run:
inserts 3 owed rows every second (the store changes, so every poll re-evaluates all N clocks and
delivers the new alerts), sends SIGHUP every 5 s (a full reload and re-evaluation), and every
20 s replaces the store by rename with a copy holding 3 more owed rows (the nightly extract).
VmRSS is read from /proc/PID/status every second.  After a warm-up (the first quarter of the run,
at least until the initial deliveries are done) the median RSS of the last third of the samples
may exceed that of the first third by at most --growth-kib.  At the end every owed row was
delivered exactly once and the daemon stops cleanly on SIGTERM.
"""

import collections
import os
import shutil
import signal
import sqlite3
import statistics
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402


class Load(fl.FaultCase):

    def make_store(self, n):
        owed = max(1, n // 100)
        db = sqlite3.connect(self.case_store)
        db.execute("PRAGMA journal_mode = DELETE")
        db.execute("CREATE TABLE cases (case_ref TEXT, start TEXT)")
        db.executemany("INSERT INTO cases VALUES (?, ?)",
                       (("C%07d" % i,
                         "2024-%02d-%02d" % (1 + i % 12, 1 + i % 28) if i < owed else
                         "2099-%02d-%02d" % (1 + i % 12, 1 + i % 28)) for i in range(n)))
        db.execute("CREATE INDEX cases_ref ON cases (case_ref)")
        db.commit()
        db.close()
        return owed

    @fl.measures("resident memory under load")
    def test_memory_steady_under_load(self):
        n = fl.option("clocks", 200000)
        minutes = fl.option("minutes", 1.5)
        growth_limit = fl.option("growth_kib", 4096)
        duration = minutes * 60
        sink = self.http_sink()
        self.write_config({"hook": sink.url_for("/hook")}, poll_interval=1, max_deliveries=16,
                          connect_timeout=2, delivery_timeout=10, retry_min=1, retry_max=2,
                          shutdown_timeout=5)
        self.write_rules(fl.rule_text(notify=("hook",)))
        t0 = time.monotonic()
        owed0 = self.make_store(n)
        build_s = time.monotonic() - t0

        d = self.start_daemon()
        d.wait_log(r"evaluated why=start clocks=%d alerts=%d" % (n, owed0), timeout=600)
        first_pass_s = time.monotonic() - d.started
        start = time.monotonic()
        samples = []  # (seconds since start, VmRSS KiB)
        inserted = []
        next_insert = next_hup = next_replace = start
        hups = replaces = inserts = 0
        seq = 0
        initial_done_at = None
        while True:
            now = time.monotonic()
            el = now - start
            if el >= duration:
                break
            self.assertTrue(d.alive(), "escalatord died under load; log:\n%s"
                            % fl.tail(d.log()))
            samples.append((el, d.rss_kib()))
            if initial_done_at is None and len(sink.requests) >= owed0:
                initial_done_at = el
            if now >= next_insert:
                rows = []
                for _ in range(3):
                    seq += 1
                    rows.append(("N%07d" % seq, "2024-06-%02d" % (1 + seq % 28)))
                db = sqlite3.connect(self.case_store, timeout=30)
                db.executemany("INSERT INTO cases VALUES (?, ?)", rows)
                db.commit()
                db.close()
                inserted += rows
                inserts += 1
                next_insert += 1.0
            if now >= next_hup:
                if el >= 1:
                    d.signal(signal.SIGHUP)
                    hups += 1
                next_hup += 5.0
            if now >= next_replace and el > 1:
                tmp = self.case_store + ".extract"
                shutil.copyfile(self.case_store, tmp)
                rows = []
                for _ in range(3):
                    seq += 1
                    rows.append(("N%07d" % seq, "2024-07-%02d" % (1 + seq % 28)))
                db = sqlite3.connect(tmp)
                db.executemany("INSERT INTO cases VALUES (?, ?)", rows)
                db.commit()
                db.close()
                os.rename(tmp, self.case_store)
                inserted += rows
                replaces += 1
                next_replace += 20.0
            time.sleep(max(0.0, 1.0 - (time.monotonic() - now)))

        # everything owed goes out, exactly once
        want = owed0 + len(inserted)
        ok = sink.wait_until(lambda s: len(s.requests) >= want, timeout=120)
        self.assertTrue(ok, "only %d of %d alerts delivered; log:\n%s"
                        % (len(sink.requests), want, fl.tail(d.log())))
        time.sleep(2)
        per_case = collections.Counter(r.json()["case"] for r in sink.requests)
        missing = [c for c, _ in inserted if per_case[c] != 1]
        self.assertEqual(missing, [], "rows inserted under load not delivered exactly once")
        self.assertEqual(len(per_case), want)
        self.assertEqual(sum(per_case.values()), want, "duplicates under load")
        hwm = 0
        with open("/proc/%d/status" % d.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        passes = d.log().count("evaluated why=")  # passes that recorded alerts (info level)
        reloads = d.log().count("reloaded rules=")
        d.terminate(timeout=30)

        warm = max(duration / 4, (initial_done_at or 0) + 5)
        steady = [kib for el, kib in samples if el >= warm]
        self.assertGreaterEqual(len(steady), 9, "too few samples after warm-up")
        third = len(steady) // 3
        first, last = steady[:third], steady[-third:]
        m_first, m_last = statistics.median(first), statistics.median(last)
        growth = m_last - m_first
        fl.report("load", clocks=n, minutes=minutes, store_build_s=round(build_s, 1),
                  first_pass_s=round(first_pass_s, 1), samples=len(samples),
                  warmup_s=round(warm, 1), rss_first_third_median_kib=m_first,
                  rss_last_third_median_kib=m_last, rss_growth_kib=growth,
                  rss_min_kib=min(steady), rss_max_kib=max(steady), vm_hwm_kib=hwm,
                  inserts=inserts, sighups=hups, reloads_logged=reloads, replaces=replaces,
                  passes_with_alerts=passes, delivered=want, lost=0, duplicates=0,
                  growth_limit_kib=growth_limit)
        self.assertLessEqual(growth, growth_limit,
                             "VmRSS grew by %d KiB (median %d -> %d KiB) between the first and "
                             "last third of the run after warm-up" % (growth, m_first, m_last))
        self.assertEqual(reloads, hups, "not every SIGHUP was a successful reload")


def add_options(p):
    p.add_argument("--clocks", type=int)
    p.add_argument("--minutes", type=float)
    p.add_argument("--growth-kib", type=int)


if __name__ == "__main__":
    sys.exit(fl.run_main(add_options, __doc__))
