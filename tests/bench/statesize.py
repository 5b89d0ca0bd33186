#!/usr/bin/python3
"""The state store's size per 1M clocks per year, before and after retention.

    tests/bench/statesize.py [--escalatord build/bench/escalatord] [--children 3000]
                             [--months 24] [--alerts-per-clock-year 4] [--work DIR]

1. The demo case store (tests/gen/gencases.py, --children, seed 1) and the shipped rules
   (etc/rules.d) give real alerts: one `escalatord --once` pass records them (rendered subject,
   body, fields and expected text, recipients from the rows, skipped stages), with no mail
   server, so each email delivery is tried once and left pending.  Every delivery is then marked
   sent as the outbox would mark it (status, sent_at, last_attempt, one 'sent' audit row after
   the one 'retry' row: one row per change of state).
2. That month's alerts are copied --months times (new case references, ids in time order),
   copy k recorded and sent k months before today: a state store holding --months months of
   history, as today's code writes it.
3. `escalatord --once --now TODAY` with retention = "13 months" runs a pass (which must record
   nothing new: the stages are kept) and then retention until nothing is left to remove; the
   file shrinks (incremental auto_vacuum).

Reported: bytes per alert (the whole file, all tables and indexes, over the alerts recorded),
by table (dbstat); what is left per alert once retention has removed it (its clock_stage rows);
and, with --alerts-per-clock-year (an assumption: see docs/performance.md), the projected size
per 1M clocks: growth per year without retention, and the steady size with it (13 months of
alerts in full, plus the stages of older ones, which grow by the residual per year).
"""

import argparse
import datetime
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
GENCASES = os.path.join(REPO, "tests", "gen", "gencases.py")
RULES_DIR = os.path.join(REPO, "etc", "rules.d")
HOLIDAYS = os.path.join(REPO, "etc", "holidays", "england-and-wales.txt")
PYTHON = "/usr/bin/python3"
GB = 1e9


def log(msg):
    print("statesize: %s" % msg, file=sys.stderr, flush=True)


def sizes(path):
    """(bytes in use, file bytes, {table or index: bytes}) after a checkpoint."""
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ps = db.execute("PRAGMA page_size").fetchone()[0]
        pc = db.execute("PRAGMA page_count").fetchone()[0]
        fl = db.execute("PRAGMA freelist_count").fetchone()[0]
        try:
            by = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"))
        except sqlite3.OperationalError:
            by = {}
    finally:
        db.close()
    return (pc - fl) * ps, os.path.getsize(path), by


def counts(path):
    db = sqlite3.connect(path)
    try:
        return {t: db.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                for t in ("alert", "delivery", "audit", "clock_stage")}
    finally:
        db.close()


def query1(path, sql):
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def utc(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def months_back(d, k):
    y, m = divmod(d.year * 12 + d.month - 1 - k, 12)
    return d.replace(year=y, month=m + 1, day=min(d.day, 28))


def fill(path, months, now):
    """Mark the pass's deliveries sent; copy the month's alerts back over `months` months, ids
    in time order (as the daemon writes them): copy k months back in id slot months - k."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA foreign_keys = OFF")
    db.execute("BEGIN")
    (na,) = db.execute("SELECT max(id) FROM alert").fetchone()
    (nd,) = db.execute("SELECT max(id) FROM delivery").fetchone()
    (nu,) = db.execute("SELECT ifnull(max(id), 0) FROM audit").fetchone()
    nu2 = nu + nd  # with the 'sent' rows added below
    # the outbox's 'sent' result for each (after the 'retry' row of the attempt made)
    t0 = utc(now)
    db.execute("UPDATE delivery SET status = 'sent', in_flight = 0, next_attempt = 0, "
               "last_error = NULL, attempts = attempts + 1, sent_at = ?, last_attempt = ?",
               (t0, t0))
    db.execute("INSERT INTO audit (id, delivery_id, at, recipient, result, detail) SELECT "
               "? + id, id, ?, recipient, 'sent', '250 2.0.0 Ok: queued as 4Xk2Lq0bTz' "
               "FROM delivery", (nu, t0))
    # the pass itself (today) to the last slot
    ta, td, tu = months * na, months * nd, months * nu2
    db.execute("UPDATE audit SET id = id + ?, delivery_id = delivery_id + ?", (tu, td))
    db.execute("UPDATE delivery SET id = id + ?, alert_id = alert_id + ?", (td, ta))
    db.execute("UPDATE alert SET id = id + ?", (ta,))
    db.execute("UPDATE clock_stage SET alert_id = alert_id + ? WHERE alert_id IS NOT NULL", (ta,))
    for k in range(months - 1, 0, -1):
        slot = months - k
        when = utc(months_back(now, k))
        oa, od, ou = (slot - months) * na, (slot - months) * nd, (slot - months) * nu2
        suffix = "~%d" % k
        db.execute("INSERT INTO alert (id, rule, title, case_ref, start, stage, due, fires, "
                   "days_late, subject, body, fields, created_at, expected, status) SELECT "
                   "id + ?, rule, title, case_ref || ?, start, stage, due, fires, days_late, "
                   "subject, body, fields, ?, expected, status FROM alert WHERE id > ?",
                   (oa, suffix, when, ta))
        db.execute("INSERT INTO delivery (id, alert_id, kind, recipient, status, attempts, "
                   "next_attempt, in_flight, last_error, sent_at, last_attempt) SELECT id + ?, "
                   "alert_id + ?, kind, recipient, status, attempts, next_attempt, in_flight, "
                   "last_error, ?, ? FROM delivery WHERE id > ?", (od, oa, when, when, td))
        db.execute("INSERT INTO audit (id, delivery_id, at, recipient, result, detail) SELECT "
                   "id + ?, delivery_id + ?, ?, recipient, result, detail FROM audit WHERE "
                   "id > ?", (ou, od, when, tu))
        db.execute("INSERT INTO clock_stage (rule, case_ref, start, stage, status, alert_id, "
                   "recorded_at) SELECT rule, case_ref || ?, start, stage, status, alert_id + "
                   "?, ? FROM clock_stage WHERE case_ref NOT LIKE '%~%'", (suffix, oa, when))
    db.execute("COMMIT")
    db.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--escalatord", default=os.path.join(REPO, "build", "bench", "escalatord"))
    ap.add_argument("--children", type=int, default=3000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--alerts-per-clock-year", type=float, default=4.0)
    ap.add_argument("--work", default=os.path.join(REPO, "build", "bench", "statesize"))
    a = ap.parse_args()

    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    cases = os.path.join(a.work, "cases.db")
    state = os.path.join(a.work, "state.sqlite")
    conf = os.path.join(a.work, "escalatord.conf")
    today = datetime.date.today()
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    subprocess.run([PYTHON, GENCASES, "--out", cases, "--children", str(a.children), "--seed",
                    "1", "--today", today.isoformat()], check=True,
                   stderr=subprocess.DEVNULL)
    with open(conf, "w") as f:
        f.write('case_store = "%s";\nstate = "%s";\nrules = "%s";\nholidays = [ "%s" ];\n'
                'timezone = "Europe/London";\nretention = "13 months";\n'
                'contacts = {\n  iro_service = { email = "iro.service@bench.example"; };\n'
                '  mail = { email = "alerts@bench.example"; };\n};\n'
                % (cases, state, RULES_DIR, HOLIDAYS))
    log("first pass over %d children" % a.children)
    subprocess.run([a.escalatord, "-c", conf, "--once"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    month = counts(state)
    if month["alert"] == 0:
        sys.exit("statesize: the pass recorded no alerts")
    fill(state, a.months, now)
    before = counts(state)
    max_id = query1(state, "SELECT max(id) FROM alert")
    used_b, file_b, by_b = sizes(state)
    log("%d months of history: %d alerts, %d bytes" % (a.months, before["alert"], file_b))

    t0 = time.monotonic()
    p = subprocess.run([a.escalatord, "-c", conf, "--once", "--now",
                        datetime.datetime.now().strftime("%Y-%m-%dT%H:%M:%S")],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    took = time.monotonic() - t0
    after = counts(state)
    used_a, file_a, by_a = sizes(state)
    new = query1(state, "SELECT count(*) FROM alert WHERE id > %d" % max_id)
    stage_bytes = by_a.get("clock_stage", 0) + by_a.get("sqlite_autoindex_clock_stage_1", 0)
    bpa = used_b / before["alert"]
    residual = stage_bytes / before["alert"]
    rate = a.alerts_per_clock_year * 1e6  # alerts a year per 1M clocks
    kept_months = 13
    R = {
        "children": a.children, "alerts_one_month": month["alert"],
        "deliveries_per_alert": month["delivery"] / month["alert"],
        "stages_per_alert": month["clock_stage"] / month["alert"],
        "months": a.months, "before": before, "after": after,
        "file_bytes_before": file_b, "file_bytes_after": file_a,
        "bytes_per_alert": bpa, "residual_bytes_per_alert": residual,
        "by_table_before": by_b, "by_table_after": by_a,
        "retention_seconds": took, "escalatord_rc": p.returncode, "alerted_again": new,
        "alerts_per_clock_year": a.alerts_per_clock_year,
        "gb_per_1M_clocks_year_without_retention": bpa * rate / GB,
        "gb_per_1M_clocks_steady_with_retention": bpa * rate * kept_months / 12 / GB,
        "gb_per_1M_clocks_year_residual_growth": residual * rate / GB,
    }
    w = sys.stdout
    w.write("one pass: %d alerts, %.2f deliveries and %.2f stage rows per alert\n"
            % (month["alert"], R["deliveries_per_alert"], R["stages_per_alert"]))
    w.write("%d months of history: %d alerts, %d deliveries, %d audit rows, %d stage rows; "
            "file %.1f MB\n" % (a.months, before["alert"], before["delivery"], before["audit"],
                                before["clock_stage"], file_b / 1e6))
    w.write("bytes per alert, everything kept: %.0f (by table: %s)\n"
            % (bpa, ", ".join("%s %.0f" % (k, v / before["alert"])
                              for k, v in sorted(by_b.items(), key=lambda x: -x[1])[:6])))
    w.write("retention (escalatord --once, 13 months): %.1f s; left %d alerts, %d deliveries, "
            "%d audit rows, %d stage rows; file %.1f MB (exit %d)\n"
            % (took, after["alert"], after["delivery"], after["audit"], after["clock_stage"],
               file_a / 1e6, p.returncode))
    w.write("left of an alert removed (its stage rows): %.0f bytes; alerted again: %d\n"
            % (residual, new))
    w.write("per 1M clocks at %.1f alerts per clock per year: %.1f GB a year without retention; "
            "with it, about %.1f GB steady (13 months) plus %.2f GB a year of stage rows\n"
            % (a.alerts_per_clock_year, R["gb_per_1M_clocks_year_without_retention"],
               R["gb_per_1M_clocks_steady_with_retention"],
               R["gb_per_1M_clocks_year_residual_growth"]))
    if p.returncode not in (0, 1):
        w.write("escalatord: %s\n" % p.stderr.decode(errors="replace")[-2000:])
    with open(os.path.join(a.work, "results.json"), "w") as f:
        json.dump(R, f, indent=1)
    if new:
        sys.exit("statesize: %d alerts recorded again after retention" % new)


if __name__ == "__main__":
    main()
