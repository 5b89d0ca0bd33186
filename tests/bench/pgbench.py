"""Section 7 of tests/bench/run: evaluation with the case store on PostgreSQL.

For each --sizes size, section 1's generated case store (the same file: run's
ensure_case_store, cached in the work directory) is loaded into its own database of a
PostgreSQL cluster started for the section (tests/harness/pgcluster.py: a throwaway cluster in a
temp directory, Unix socket only): etc/schema-postgresql.sql, every table by COPY (what
harness.pgcluster's copy_from_sqlite sends, streamed to psql as it is read rather than built in
memory first: at 1M clocks that is 190 MB of text, about 40 MB of RSS here), then VACUUM
ANALYZE (fresh statistics, and no autovacuum of the new tables in the middle of the
measurements). The load is timed, for information.
escalatord and psql connect as a role with SELECT only, as in production (docs/case-store.md).

Measured, interleaved, --repeats times each (as section 1 interleaves with sqlite3):
  - psql running the rule pack's live queries (tests/bench/rulequeries.py) to /dev/null, with
    -X -q -A -t so its formatting costs little; :today and :now are psql variables holding
    the values escalatord binds, as text ('YYYY-MM-DD' and 'YYYY-MM-DD HH:MM:SS', London time);
  - `escalatord --once --dry-run > /dev/null` with case_store = the database's URL and the
    shipped rules, cold (an empty state store: every alert owed is printed) and steady (a
    state store holding those alerts, recorded by a real daemon's first pass against the same
    database and marked sent, as section 1 prepares its own).
Wall time is the main figure. The queries run in the server, so CPU is given for the client
(GNU time) and for the server: the postmaster's reaped children (cutime + cstime of
/proc/<postmaster>/stat, which takes in every backend and parallel worker once it has exited)
and its live children, before and after, once the run's backend has gone.

Also, once per size: psql's output compared with the sqlite3 CLI's for the same queries (the
same rows in the same order), and each query timed on its own with psql's \\timing and
sqlite3's .timer, to name the queries PostgreSQL runs much slower (or faster) than SQLite.

The server runs with jit = off (see SETTINGS); psql is also run once with jit = on.
The configuration sets query_timeout = 3600: psql has no timeout, and a rule skipped after the
shipped 30 s would make escalatord's pass shorter than the work psql does. A query slower than
30 s shows in the per-query timings.
"""

import hashlib
import os
import re
import sqlite3
import subprocess
import sys
import time

import rulequeries

sys.path.insert(0, os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "..")))
from harness import pgcluster  # noqa: E402

# shared_buffers: PostgreSQL's own default (and Debian's); the harness's 32MB is a test setting.
# jit off: with PostgreSQL's default (on), compiling each rule query's plan takes about 1.5 s
# (inlining and optimisation: the views' plans are large and costed above jit_optimize_above_cost
# from 100k clocks), more than running it, and would hide both engines' work; psql is run once
# per size with jit = on to show that cost.
SETTINGS = {"shared_buffers": "'128MB'", "jit": "off"}
READER = "escalator_reader"
SHIPPED_QUERY_TIMEOUT = 30


def available():
    """None when the section can run, else why not."""
    if pgcluster.pg_bindir() is None:
        return ("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): "
                "apt-get install postgresql (scripts/deps)")
    return None


# ----------------------------------------------------------------------------------------------
# The server's CPU
# ----------------------------------------------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def _stat(pid):
    """(ppid, utime + stime, cutime + cstime, state) of pid, times in seconds, or None once it
    has gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    f = s[s.rindex(")") + 2:].split()
    return (int(f[1]), (int(f[11]) + int(f[12])) / TICK, (int(f[13]) + int(f[14])) / TICK,
            f[0])


def _children(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = _stat(int(d))
            if st is not None and st[0] == ppid:
                out.append(int(d))
    return out


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


class Server:
    """The cluster's postmaster and its children, for the server's CPU time.

    A run's backend (and any parallel worker) exits just after its client, and its CPU time
    reaches the postmaster's cutime when the postmaster reaps it: before that it is a live
    child, after it is in cutime, and in between (read one, then the other) it could be missed
    or counted twice. So a run's CPU is read once every child that was not there before the
    run has gone (reaped), the postmaster's own children (checkpointer, ...) read live."""

    def __init__(self, pg):
        with open(os.path.join(pg.data, "postmaster.pid")) as f:
            self.pid = int(f.readline())

    def _cpu(self):
        _, own, reaped, _ = _stat(self.pid)
        live = 0.0
        for p in _children(self.pid):
            st = _stat(p)
            if st is not None:
                live += st[1] + st[2]
        return own + reaped + live

    def begin(self, timeout=30):
        """Before a run: wait for the clients' processes to go (a backend's title names its
        socket, "[local]"; one that is exiting has no command line left); (children, CPU)."""
        deadline = time.monotonic() + timeout
        while True:
            kids = set(_children(self.pid))
            titles = [_cmdline(p) for p in kids]
            if (not any(t == "" or "[local]" in t or "parallel worker" in t for t in titles)
                    or time.monotonic() > deadline):
                return kids, self._cpu()
            time.sleep(0.01)

    def end(self, mark, timeout=30):
        """After a run: the server's CPU seconds since begin() returned mark, once every child
        started since has been reaped."""
        kids, c0 = mark
        deadline = time.monotonic() + timeout
        while set(_children(self.pid)) - kids and time.monotonic() < deadline:
            time.sleep(0.01)
        return self._cpu() - c0


# ----------------------------------------------------------------------------------------------
# Loading a generated store
# ----------------------------------------------------------------------------------------------

def _psql_env(pg, db, user=pgcluster.SUPERUSER):
    env = dict(os.environ, PGHOST=pg.dir, PGPORT=str(pg.port), PGDATABASE=db, PGUSER=user,
               PGCONNECT_TIMEOUT="10")
    env.pop("PGPASSWORD", None)
    env.pop("PGOPTIONS", None)
    return env


def load_store(pg, sqlite_path, db):
    """Every table of a SQLite store into database db (its schema made already) by COPY, in one
    transaction and one psql: harness.pgcluster's copy_from_sqlite, streamed (its rows, in
    the same order, written to psql's standard input as they are read). {table: rows}."""
    src = sqlite3.connect("file:%s?mode=ro" % sqlite_path, uri=True)
    p = subprocess.Popen([pg._bin("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", "-"],
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=_psql_env(pg, db))
    q, esc = pgcluster.quote_ident, pgcluster._copy_text
    counts = {}
    try:
        tables = [r[0] for r in src.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY rowid")]
        out = p.stdin
        out.write(b"BEGIN;\n")
        for t in reversed(tables):
            out.write(("DELETE FROM %s;\n" % q(t)).encode())
        for t in tables:
            cur = src.execute("SELECT * FROM %s" % q(t))
            cols = [d[0] for d in cur.description]
            out.write(("COPY %s (%s) FROM STDIN;\n" % (q(t), ", ".join(q(c) for c in cols)))
                      .encode())
            n = 0
            while True:
                rows = cur.fetchmany(10000)
                if not rows:
                    break
                out.write("".join("\t".join(map(esc, r)) + "\n" for r in rows).encode())
                n += len(rows)
            out.write(b"\\.\n")
            counts[t] = n
        out.write(b"COMMIT;\n")
        out.close()
    except BrokenPipeError:
        pass  # psql stopped at an error: its message follows
    finally:
        src.close()
    err = p.stderr.read().decode("utf-8", "replace")
    if p.wait() != 0:
        raise RuntimeError("loading %s into PostgreSQL failed (%d): %s"
                           % (sqlite_path, p.returncode, err.strip()[-2000:]))
    return counts


# ----------------------------------------------------------------------------------------------
# The measurements
# ----------------------------------------------------------------------------------------------

def psql_vars(now):
    """psql's :today and :now, as escalatord binds them: text, in the configured timezone."""
    return ("\\set today '''%s''::text'\n\\set now '''%s''::text'\n"
            % (now.date().isoformat(), now.strftime("%Y-%m-%d %H:%M:%S")))


def sha_lines(argv, stdin_path, env=None):
    """(rows, sha256) of a command's output."""
    h, n = hashlib.sha256(), 0
    with open(stdin_path, "rb") as fin:
        p = subprocess.Popen(argv, stdin=fin, stdout=subprocess.PIPE, env=env)
        for line in p.stdout:
            h.update(line)
            n += 1
    if p.wait() != 0:
        raise RuntimeError("%s failed (%d)" % (argv[0], p.returncode))
    return n, h.hexdigest()


TIME_RX = re.compile(r"^Time: ([0-9.]+) ms", re.M)
RUNTIME_RX = re.compile(r"^Run Time: real ([0-9.]+)", re.M)


def per_query(psql_argv, env, store, queries, work, now):
    """Each query timed on its own (one run): psql's \\timing and sqlite3's .timer, in one
    process each (the query's output to /dev/null, the timing lines to stdout)."""
    pg_sql = os.path.join(work, "per-query-psql.sql")
    sq_sql = os.path.join(work, "per-query-sqlite.sql")
    script = "".join(q.strip().rstrip(";") + ";\n" for q in queries)
    with open(pg_sql, "w", encoding="utf-8") as f:
        f.write(psql_vars(now) + "\\timing on\n" + script)
    with open(sq_sql, "w", encoding="utf-8") as f:
        f.write(".timer on\n.output /dev/null\n" + script)
    with open(pg_sql, "rb") as fin:
        out = subprocess.run(psql_argv + ["-o", os.devnull], stdin=fin, env=env,
                             capture_output=True, check=True).stdout.decode()
    pg_ms = [float(x) for x in TIME_RX.findall(out)]
    with open(sq_sql, "rb") as fin:
        out = subprocess.run(["sqlite3", "-batch", "-init", os.devnull, store], stdin=fin,
                             capture_output=True, check=True).stdout.decode()
    sq_s = [float(x) for x in RUNTIME_RX.findall(out)]
    if len(pg_ms) != len(queries) or len(sq_s) != len(queries):
        raise RuntimeError("per-query timings: %d queries, %d psql and %d sqlite3 timings"
                           % (len(queries), len(pg_ms), len(sq_s)))
    out = []
    for i, (sql, p, s) in enumerate(zip(queries, pg_ms, sq_s)):
        m = re.search(r"\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)", sql)
        out.append({"n": i + 1, "from": m.group(1) if m else "?",
                    "sql": " ".join(sql.split()), "psql": p / 1000.0, "sqlite": s})
    return out


def bench_pg(args, ctx):
    log = ctx["log"]
    pg = pgcluster.PgCluster(settings=SETTINGS, name="bench-pg")
    log("pg: starting a PostgreSQL cluster")
    pg.start()
    try:
        res = {"sizes": list(args.sizes), "settings": dict(SETTINGS), "size_results": {}}
        res["server"] = pg.psql("SELECT version()").strip()
        res["jit"] = pg.psql("SELECT pg_jit_available()").strip() == "t"
        res["server_settings"] = dict(
            line.split("\t") for line in pg.psql(
                "SELECT name, setting FROM pg_settings WHERE name IN ('shared_buffers', "
                "'work_mem', 'jit', 'max_parallel_workers_per_gather', "
                "'effective_cache_size', 'random_page_cost')").splitlines())
        server = Server(pg)
        for name in args.sizes:
            res["size_results"][name] = bench_pg_size(args, ctx, pg, server, name)
        return res
    finally:
        pg.stop()


def bench_pg_size(args, ctx, pg, server, name):
    log, median, load1 = ctx["log"], ctx["median"], ctx["load1"]
    run_measured, dry_run = ctx["run_measured"], ctx["dry_run"]
    work = os.path.join(args.work, "pg", name)
    os.makedirs(work, exist_ok=True)
    store, children = ctx["ensure_case_store"](args.work, ctx["target"](name))
    db = "cases_" + name.lower()
    res = {"children": children, "store": store, "store_bytes": os.path.getsize(store),
           "database": db}

    # The load: schema, COPY, VACUUM ANALYZE.
    log("pg %s: loading %s into PostgreSQL" % (name, os.path.basename(store)))
    pg.psql("DROP DATABASE IF EXISTS %s" % pgcluster.quote_ident(db))
    pg.create_database(db)
    with open(os.path.join(ctx["repo"], "etc", "schema-postgresql.sql"), encoding="utf-8") as f:
        schema = f.read()
    t0 = time.perf_counter()
    pg.psql(schema, db=db)
    t1 = time.perf_counter()
    res["rows_loaded"] = load_store(pg, store, db)
    t2 = time.perf_counter()
    pg.psql("VACUUM ANALYZE", db=db)
    t3 = time.perf_counter()
    res["load"] = {"schema": t1 - t0, "copy": t2 - t1, "vacuum_analyze": t3 - t2,
                   "total": t3 - t0, "load": load1()}
    res["database_bytes"] = int(pg.psql("SELECT pg_database_size(current_database())",
                                        db=db).strip())
    log("pg %s: loaded {:,} rows in %.1fs (COPY %.1fs, VACUUM ANALYZE %.1fs)".format(
        sum(res["rows_loaded"].values())) % (name, t3 - t0, t2 - t1, t3 - t2))
    pg.psql("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '%s') THEN "
            "CREATE ROLE %s LOGIN; END IF; END $$;" % (READER, READER))
    pg.psql("GRANT USAGE ON SCHEMA public TO %s; "
            "GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s;" % (READER, READER), db=db)
    url = pg.url(READER, db)
    res["url"] = url

    # Configurations: section 1's, with the database for the store.
    extra = "query_timeout = 3600;"
    state = os.path.join(work, "state.db")
    nostate = os.path.join(work, "no-state.db")
    ctx["rm"](state, nostate)
    conf = os.path.join(work, "escalator.conf")
    ctx["write"](conf, ctx["main_config"](url, state, ctx["rules_dir"],
                                          smtp_port=ctx["smtp_port"], extra=extra))
    conf_cold = os.path.join(work, "escalator-cold.conf")
    ctx["write"](conf_cold, ctx["main_config"](url, nostate, ctx["rules_dir"], extra=extra))

    queries = rulequeries.rule_queries(ctx["rules_dir"])
    script = rulequeries.sql_script(ctx["rules_dir"])
    sqlite_sql = os.path.join(work, "queries-sqlite.sql")
    ctx["write"](sqlite_sql, script)
    psql_sql = os.path.join(work, "queries-psql.sql")
    env = _psql_env(pg, db, READER)
    psql_argv = [pg._bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-f", "-"]

    def write_psql_script():
        ctx["write"](psql_sql, psql_vars(ctx["now"]()) + script)

    # The same rows in the same order as the sqlite3 CLI's (unaligned, '|' between fields,
    # NULL as nothing, in both); this also warms both.
    write_psql_script()
    res["psql_rows"], pg_sha = sha_lines(psql_argv, psql_sql, env)
    res["sqlite_rows"], sq_sha = sha_lines(["sqlite3", "-batch", "-init", os.devnull, store],
                                           sqlite_sql)
    res["same_output"] = pg_sha == sq_sha
    if not res["same_output"]:
        log("pg %s: psql's output (%d rows) differs from sqlite3's (%d rows)"
            % (name, res["psql_rows"], res["sqlite_rows"]))

    def psql_run(jit=False):
        write_psql_script()
        mark = server.begin()
        wall, rss, cpu, rc = run_measured(psql_argv, stdin_path=psql_sql,
                                          env=dict(env, PGOPTIONS="-c jit=on") if jit else env)
        if rc != 0:
            raise RuntimeError("psql failed on %s (%d)" % (psql_sql, rc))
        return {"wall": wall, "rss": rss, "cpu": cpu, "server_cpu": server.end(mark),
                "load": load1()}

    def escalatord_run(conf_path, err):
        mark = server.begin()
        r = dry_run(args.escalatord, conf_path, os.path.join(work, err))
        r["server_cpu"] = server.end(mark)
        with open(os.path.join(work, err), encoding="utf-8", errors="replace") as f:
            r["errors"] = [ln.rstrip("\n") for ln in f if "error" in ln.lower()][:5]
        return r

    escalatord_run(conf_cold, "dry-warmup.err")

    # The steady state's fixture, as section 1 makes it: a real daemon's first pass.
    res["first_pass"], res["state"] = ctx["record_alerts"](args, "pg " + name, work, conf,
                                                           state)
    res["state_bytes"] = os.path.getsize(state)

    log("pg %s: each query on its own, psql and sqlite3" % name)
    res["per_query"] = per_query(psql_argv, env, store, queries, work, ctx["now"]())

    log("pg %s: psql once with jit = on (PostgreSQL's default)" % name)
    res["psql_jit_on"] = psql_run(jit=True)

    runs = {"psql": [], "cold": [], "steady": []}
    for k in range(args.repeats):
        log("pg %s: evaluation run %d/%d (load %.2f)" % (name, k + 1, args.repeats, load1()))
        runs["psql"].append(psql_run())
        runs["cold"].append(escalatord_run(conf_cold, "dry-cold.err"))
        runs["steady"].append(escalatord_run(conf, "dry-steady.err"))
    res["runs"] = runs
    base = median([x["wall"] for x in runs["psql"]])
    for kind in ("cold", "steady"):
        res["ratio_" + kind] = median([x["wall"] for x in runs[kind]]) / base
        res["clocks_" + kind] = runs[kind][-1]["clocks"]
    pg.psql("DROP DATABASE %s WITH (FORCE)" % pgcluster.quote_ident(db))
    return res


# ----------------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------------

def pg_section(R, w, fmt_s, fmt_mib, median):
    P = R.get("pg")
    if not P:
        return
    sizes = [s for s in P["sizes"] if s in P["size_results"]]
    S = P["size_results"]
    w("\n### 7. Evaluation on PostgreSQL: the case store in PostgreSQL, escalatord against psql"
      "\n\n%s; %s; escalatord and psql on its Unix socket.\n\n"
      % (P["server"].split(" on ")[0], ", ".join("%s = %s" % kv
                                                  for kv in sorted(P["server_settings"].items()))))
    w("| | %s |\n|---|%s\n" % (" | ".join(sizes), "---:|" * len(sizes)))

    def row(label, f):
        w("| %s | %s |\n" % (label, " | ".join(f(S[s]) for s in sizes)))

    def wall(r, k):
        return median([x["wall"] for x in r["runs"][k]])

    def cpu(r, k):
        xs = r["runs"][k]
        return "%s (%s + %s)" % (fmt_s(wall(r, k)), fmt_s(median([x["cpu"] for x in xs])),
                                 fmt_s(median([x["server_cpu"] for x in xs])))

    row("open clocks (rows of the %d rule queries)" % R.get("nqueries", 0),
        lambda r: "{:,}".format(r["psql_rows"]))
    row("&nbsp;&nbsp;psql's output the same as sqlite3's, row for row",
        lambda r: "yes" if r["same_output"] else "**no** (%s rows in sqlite3)"
        % "{:,}".format(r["sqlite_rows"]))
    row("case store: SQLite file / PostgreSQL database, MiB",
        lambda r: "%s / %s" % (fmt_mib(r["store_bytes"]), fmt_mib(r["database_bytes"])))
    row("load (once): schema + COPY, VACUUM ANALYZE, s",
        lambda r: "%s + %s" % (fmt_s(r["load"]["schema"] + r["load"]["copy"]),
                               fmt_s(r["load"]["vacuum_analyze"])))
    row("sqlite3 CLI, the same queries on the SQLite file (sum of one run each, .timer)",
        lambda r: fmt_s(sum(q["sqlite"] for q in r["per_query"])))
    row("psql: the rule queries > /dev/null, wall s (CPU s: psql + server)",
        lambda r: cpu(r, "psql"))
    row("&nbsp;&nbsp;psql once with jit = on (PostgreSQL's default)",
        lambda r: "%s (%s + %s)" % (fmt_s(r["psql_jit_on"]["wall"]), fmt_s(r["psql_jit_on"]["cpu"]),
                                    fmt_s(r["psql_jit_on"]["server_cpu"])))
    row("escalatord --once --dry-run, steady", lambda r: cpu(r, "steady"))
    row("&nbsp;&nbsp;ratio to psql", lambda r: "**%.2f**" % r["ratio_steady"])
    row("escalatord --once --dry-run, cold (every alert printed)", lambda r: cpu(r, "cold"))
    row("&nbsp;&nbsp;ratio to psql", lambda r: "**%.2f**" % r["ratio_cold"])
    row("clocks escalatord evaluated (steady)", lambda r: "{:,}".format(r["clocks_steady"]))
    row("first pass of the daemon recording every alert (log), s",
        lambda r: "%s (%s alerts)" % (fmt_s(r["first_pass"]["wall"]),
                                      "{:,}".format(r["first_pass"]["alerts"])))
    row("peak RSS MiB: psql / escalatord steady",
        lambda r: "%s / %s" % (fmt_mib(median([x["rss"] for x in r["runs"]["psql"]])),
                               fmt_mib(median([x["rss"] for x in r["runs"]["steady"]]))))
    errs = [(s, e) for s in sizes for k in ("cold", "steady")
            for x in S[s]["runs"][k] for e in x.get("errors", [])]
    if errs:
        w("\nescalatord logged errors: %s\n" % "; ".join("%s: %s" % e for e in errs[:5]))

    big = sizes[-1]
    pq = S[big]["per_query"]
    w("\nEach rule query on its own at %s (one run each: psql's \\timing, sqlite3's .timer; "
      "slowest on PostgreSQL first):\n\n| # | FROM | psql s | sqlite3 s | ratio |\n"
      "|---:|---|---:|---:|---:|\n" % big)
    for q in sorted(pq, key=lambda q: -q["psql"]):
        w("| %d | %s | %s | %s | %s |\n"
          % (q["n"], q["from"], fmt_s(q["psql"]), fmt_s(q["sqlite"]),
             "%.1f" % (q["psql"] / q["sqlite"]) if q["sqlite"] > 0 else "-"))
    slow = [q for q in pq if q["psql"] > SHIPPED_QUERY_TIMEOUT]
    if slow:
        w("\nOver the shipped query_timeout (%d s) on PostgreSQL: %s (this section sets 3600)\n"
          % (SHIPPED_QUERY_TIMEOUT, ", ".join("#%d %s" % (q["n"], q["from"]) for q in slow)))
