"""Section 6 of tests/bench/run: `escalatord report` over five years of history.

The demo generator (tests/gen/gencases.py --history-years 5) makes a council whose rule pack
history queries (etc/rules.d `history`) return about --report-rows completed clocks in all (1M by
default); the store is cached in the work directory like the others. Measured, interleaved,
--repeats times each:
  - the sqlite3 CLI running the pack's history queries to /dev/null (the issue's baseline);
  - the same CLI running the history queries and the live queries of the rules with history (what
    the report reads: the live rows count the clocks open and overdue at each period's end);
  - `escalatord report --from <5 years ago> --to <today> --by month --format csv > /dev/null`, with
    no state store (the state store's sections are measured with the eval section's store, below);
  - the same with --format html (the page and its charts);
  - the same report against the eval section's steady-state state store at the largest size, when
    there is one (alerts, recipients, closed clocks, answers), for the state store's share.
Wall and CPU seconds and peak RSS of each, and the ratio of the report to each baseline.
"""

import datetime
import os
import re
import subprocess
import time

import rulequeries

# Completed clocks (history rows of the pack) per child over 5 years, measured with seed 1
# (22,000 children: 1,002,172 rows):
# the children for --report-rows are rows / this; the rows actually measured are reported.
HISTORY_ROWS_PER_CHILD = 45.5


def ensure_history_store(ctx, rows):
    """The demo case store with 5 years of history, about `rows` history rows (cached)."""
    children = int(round(rows / HISTORY_ROWS_PER_CHILD))
    today = ctx["today"]
    path = os.path.join(ctx["work"], "history-%d-s%d-%s.db" % (children, ctx["seed"], today))
    if not os.path.exists(path):
        ctx["log"]("generating %s (%d children, 5 years of history)"
                   % (os.path.basename(path), children))
        t0 = time.monotonic()
        subprocess.run([ctx["python"], ctx["gencases"], "--out", path, "--children",
                        str(children), "--seed", str(ctx["seed"]), "--today", today,
                        "--history-years", "5"], check=True,
                       stderr=open(path + ".summary", "w"))
        ctx["log"]("generated in %.1fs" % (time.monotonic() - t0))
    return path, children


def live_queries_with_history(rules_dir):
    """The live `query` of each rule that has a `history`, in load order: the pairs come from
    the same rule blocks, so take the queries of files rule by rule."""
    out = []
    for name in sorted(os.listdir(rules_dir)):
        if name.startswith(".") or not name.endswith(".conf"):
            continue
        with open(os.path.join(rules_dir, name), encoding="utf-8") as f:
            text = f.read()
        # Split at each rule's "id =": a block holds one rule's settings.
        for block in re.split(r"\n\s*id\s*=", text)[1:]:
            if rulequeries.queries_in(block, "history"):
                out.extend(rulequeries.queries_in(block, "query"))
    return out


def bench_report(args, ctx):
    run_measured, log, median, load1 = (ctx["run_measured"], ctx["log"], ctx["median"],
                                        ctx["load1"])
    work = os.path.join(args.work, "report")
    os.makedirs(work, exist_ok=True)
    store, children = ensure_history_store(ctx, args.report_rows)
    hist_sql = os.path.join(work, "history.sql")
    both_sql = os.path.join(work, "history-and-live.sql")
    hist = rulequeries.sql_script(ctx["rules_dir"], "history")
    live = "".join(q.strip().rstrip(";") + ";\n"
                   for q in live_queries_with_history(ctx["rules_dir"]))
    with open(hist_sql, "w") as f:
        f.write(hist)
    with open(both_sql, "w") as f:
        f.write(hist + live)
    conf = os.path.join(work, "escalator.conf")
    with open(conf, "w") as f:
        f.write(ctx["main_config"](store, os.path.join(work, "no-state.db"), ctx["rules_dir"]))
    today = datetime.date.fromisoformat(ctx["today"])
    frm = today.replace(year=today.year - 5) + datetime.timedelta(days=1)
    base = [args.escalatord, "-c", conf, "report", "--from", frm.isoformat(), "--to",
            today.isoformat(), "--by", "month"]
    res = {"children": children, "store": store, "store_bytes": os.path.getsize(store),
           "from": frm.isoformat(), "to": today.isoformat()}

    def count(sql_path):
        out = subprocess.run("sqlite3 '%s' < '%s' | wc -l" % (store, sql_path), shell=True,
                             check=True, capture_output=True, text=True).stdout
        return int(out.strip())

    res["history_rows"] = count(hist_sql)
    res["history_and_live_rows"] = count(both_sql)
    res["history_queries"] = len(rulequeries.rule_queries(ctx["rules_dir"], "history"))

    def sqlite_run(path):
        wall, rss, cpu, rc = run_measured(["sqlite3", "-batch", "-init", os.devnull, store],
                                          stdin_path=path)
        if rc != 0:
            raise RuntimeError("sqlite3 failed on %s" % path)
        return {"wall": wall, "rss": rss, "cpu": cpu, "load": load1()}

    def report_run(fmt, conf_path=conf, name="report"):
        err = os.path.join(work, "%s-%s.err" % (name, fmt))
        argv = list(base)
        argv[2] = conf_path
        out = os.path.join(work, "%s.%s" % (name, fmt))
        wall, rss, cpu, rc = run_measured(argv + ["--format", fmt], stdout_path=out,
                                          stderr_path=err)
        if rc != 0:
            raise RuntimeError("escalatord report failed (%d); see %s" % (rc, err))
        return {"wall": wall, "rss": rss, "cpu": cpu, "load": load1(),
                "bytes": os.path.getsize(out)}

    # Warm the page cache and check the report runs.
    report_run("csv")
    state = None
    big = args.sizes[-1] if args.sizes else None
    if big and os.path.exists(os.path.join(args.work, big, "state.db")):
        state = os.path.join(args.work, big, "state.db")
        res["state_store"] = state
        res["state_bytes"] = os.path.getsize(state)
    conf_state = os.path.join(work, "escalator-state.conf")
    if state:
        with open(conf_state, "w") as f:
            f.write(ctx["main_config"](store, state, ctx["rules_dir"]))
    runs = {"sqlite_history": [], "sqlite_both": [], "csv": [], "html": [], "with_state": []}
    for k in range(args.repeats):
        log("report: run %d/%d (load %.2f)" % (k + 1, args.repeats, load1()))
        runs["sqlite_history"].append(sqlite_run(hist_sql))
        runs["sqlite_both"].append(sqlite_run(both_sql))
        runs["csv"].append(report_run("csv"))
        runs["html"].append(report_run("html"))
        if state:
            runs["with_state"].append(report_run("csv", conf_state, "report-state"))
    res["runs"] = runs
    res["ratio_history"] = (median([x["wall"] for x in runs["csv"]])
                            / median([x["wall"] for x in runs["sqlite_history"]]))
    res["ratio_both"] = (median([x["wall"] for x in runs["csv"]])
                         / median([x["wall"] for x in runs["sqlite_both"]]))
    return res


def report_section(R, w, fmt_s, fmt_mib, median):
    r = R.get("report")
    if not r:
        return
    runs = r["runs"]

    def both(k):
        xs = runs[k]
        return "%s (%s)" % (fmt_s(median([x["wall"] for x in xs])),
                            fmt_s(median([x["cpu"] for x in xs])))

    def rss(k):
        return fmt_mib(median([x["rss"] for x in runs[k]]))

    w("\n### 6. Report: `escalatord report` over five years, by month (%s to %s)\n\n"
      % (r["from"], r["to"]))
    w("| | wall s (CPU s) | peak RSS MiB |\n|---|---:|---:|\n")
    w("| completed clocks (rows of the %d history queries) | {:,} | |\n".format(
        r["history_rows"]) % r["history_queries"])
    w("| rows of the history and live queries together | {:,} | |\n".format(
        r["history_and_live_rows"]))
    w("| children generated (gencases.py --history-years 5) | {:,} | |\n".format(r["children"]))
    w("| case store size | %s MiB | |\n" % fmt_mib(r["store_bytes"]))
    w("| sqlite3 CLI: the history queries > /dev/null | %s | %s |\n"
      % (both("sqlite_history"), rss("sqlite_history")))
    w("| sqlite3 CLI: the history and live queries > /dev/null | %s | %s |\n"
      % (both("sqlite_both"), rss("sqlite_both")))
    w("| escalatord report --format csv (no state store) | %s | %s |\n" % (both("csv"), rss("csv")))
    w("| &nbsp;&nbsp;ratio to the history queries (target <= 2) | **%.2f** | |\n"
      % r["ratio_history"])
    w("| &nbsp;&nbsp;ratio to the history and live queries | %.2f | |\n" % r["ratio_both"])
    w("| escalatord report --format html | %s | %s |\n" % (both("html"), rss("html")))
    if runs.get("with_state"):
        w("| escalatord report --format csv with the eval section's state store (%s MiB) "
          "| %s | %s |\n" % (fmt_mib(r["state_bytes"]), both("with_state"), rss("with_state")))


def report_targets(R):
    r = R.get("report")
    if not r:
        return []
    return [("report over 5 years within 2x of sqlite3 running the history queries "
             "({:,} completed clocks)".format(r["history_rows"]), r["ratio_history"] <= 2.0,
             "%.2fx" % r["ratio_history"])]
