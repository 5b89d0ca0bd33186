#!/usr/bin/env python3
"""Run escalatord under valgrind through a delivery burst and 100 reloads: no leak, no error.

    /usr/bin/python3 tests/integration/test_valgrind.py --escalatord PATH [--alerts N] [--reloads N]
"""
import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from harness import HttpSink, SmtpSink  # noqa: E402

RULE = """rules = ( {
  id = "burst";
  title = "Burst review";
  query = "SELECT ref AS case_ref, started AS start, tm AS team_manager_email FROM cases ORDER BY ref";
  due = "20 working days";
  stages = (
    { name = "overdue"; at = "1 working day"; notify = [ "team_manager", "hook" ]; }
  );
} );
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--escalatord", required=True)
    ap.add_argument("--alerts", type=int, default=200)
    ap.add_argument("--reloads", type=int, default=100)
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="esc-valgrind-") as tmp, \
            HttpSink() as http, SmtpSink() as smtp:
        db = sqlite3.connect(os.path.join(tmp, "cases.db"))
        db.execute("CREATE TABLE cases (ref TEXT, started TEXT, tm TEXT)")
        db.executemany("INSERT INTO cases VALUES (?, '2025-01-06', ?)",
                       [("V%05d" % i, "tm%d@council.example" % (i % 7))
                        for i in range(args.alerts)])
        db.commit()
        db.close()
        os.mkdir(os.path.join(tmp, "rules.d"))
        with open(os.path.join(tmp, "rules.d", "10-burst.conf"), "w") as f:
            f.write(RULE)
        # digest = "off": this test is about single deliveries (a burst of one email and one
        # webhook per alert); digests: tests/integration/test_digests.py.
        with open(os.path.join(tmp, "escalator.conf"), "w") as f:
            f.write(f"""digest = "off";
case_store = "cases.db";
state = "state.db";
rules = "rules.d";
holidays = [ "{os.environ.get('SRCDIR', '.')}/etc/holidays/england-and-wales.txt" ];
poll_interval = 1;
retry_min = 1;
smtp = {{ url = "smtp://127.0.0.1:{smtp.port}"; from = "escalator@council.example";
          starttls = "opportunistic"; }};
contacts = {{ hook = {{ webhook = "{http.url}/hook"; }}; }};
""")
        log = open(os.path.join(tmp, "valgrind.log"), "w+")
        cmd = ["valgrind", "--leak-check=full", "--show-leak-kinds=definite,indirect",
               "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
               args.escalatord, "-c", os.path.join(tmp, "escalator.conf")]
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        try:
            http.wait_for(args.alerts, timeout=180)
            smtp.wait_for(args.alerts, timeout=180)
            # One SIGHUP at a time, each once the previous reload is done: signals that arrive
            # while one is pending are merged into one (a busy machine made 99 of 100). Under
            # valgrind a reload takes about a second; on a loaded 2-core machine (the whole
            # suite at -j8) 120 s made 62 of 100, so the time allowed is generous: the test is
            # about leaks and errors across reloads, not their speed.
            deadline = time.time() + 300
            for n in range(1, args.reloads + 1):
                p.send_signal(signal.SIGHUP)
                while time.time() < deadline:
                    log.seek(0)
                    if log.read().count("reloaded rules=") >= n:
                        break
                    time.sleep(0.02)
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=120)
        finally:
            if p.poll() is None:
                p.kill()
        log.seek(0)
        text = log.read()
        reloads = text.count("reloaded rules=")
        summary = [line for line in text.splitlines()
                   if "ERROR SUMMARY" in line or "definitely lost" in line
                   or "indirectly lost" in line]
        print("\n".join(summary))
        print(f"alerts delivered: {len(http.requests)} webhooks, {len(smtp.messages)} emails; "
              f"reloads: {reloads}; exit status {rc}")
        ok = (rc == 0 and reloads >= args.reloads and "ERROR SUMMARY: 0 errors" in text
              and len(http.requests) >= args.alerts and len(smtp.messages) >= args.alerts)
        if not ok:
            print(text[-6000:], file=sys.stderr)
            print("0 passed, 1 failed")
            return 1
        print("1 passed, 0 failed")
        return 0


if __name__ == "__main__":
    sys.exit(main())
