#!/usr/bin/python3
"""The shipped case store schema and rule pack on both engines (issue 17): etc/schema.sql on
SQLite and etc/schema-postgresql.sql on a real PostgreSQL give the same answers.

Run:  /usr/bin/python3 tests/integration/test_pg_schema.py --escalatord /path/to/escalatord [-v]

Standard library, Debian's PostgreSQL (tests/harness/pgcluster.py: initdb + pg_ctl in a temp
directory, as nobody when run as root, on a Unix socket only). escalatord itself is not run yet
(its PostgreSQL case store is being built); --escalatord is accepted like every integration
test's.

The demo council's store (tests/gen/gencases.py --children 300 --seed 1 --today 2026-11-20
--history-years 2: every stage of every rule reached, two years of completed clocks) is
generated once, loaded into PostgreSQL with schema-postgresql.sql, and then:
  * every table and view has the same columns in the same order on both engines, and the same
    indexes (PostgreSQL has one more: staff_email, its COLLATE NOCASE);
  * SELECT * from every view, and every rule's `query` and `history` in etc/rules.d (as
    tests/bench/rulequeries.py extracts them; :today and :now replaced by the same literals on
    both sides), return the same rows: compared as sorted lists of tuples, text as text, NULL as
    None, numbers as numbers (PostgreSQL's bigint and numeric against SQLite's integer and real);
    the rule queries' own ORDER BY gives the same order too, also in a database whose default
    collation is ICU's en-GB (the schema's COLLATE "C" columns keep SQLite's byte order: without
    them 10 of the rule queries list cases in another order);
  * iro_participation's quarter moves months as SQLite's date(x, '-3 months') does;
  * a read-only role (as docs/case-store.md sets it up) reads the views and may not write; a role
    without SELECT gets PostgreSQL's 'permission denied' (escalatord will name it).
"""

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402
from harness.pgcluster import PgCluster, PgError  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
ETC = os.path.join(REPO, "etc")
PG_SCHEMA = os.path.join(ETC, "schema-postgresql.sql")
RULES_DIR = os.path.join(ETC, "rules.d")
GENCASES = os.path.join(REPO, "tests", "gen", "gencases.py")
PYTHON = "/usr/bin/python3"
sys.path.insert(0, os.path.join(REPO, "tests", "bench"))

from rulequeries import rule_queries  # noqa: E402

TODAY = "2026-11-20"
NOW = "2026-11-20 08:00:00"
NUMERIC = {"smallint", "integer", "bigint", "numeric", "real", "double precision"}


def with_clock(sql):
    """The rule's SQL with :today and :now as literals (the same text for both engines)."""
    sql = re.sub(r":today\b", "'%s'" % TODAY, sql)
    return re.sub(r":now\b", "'%s'" % NOW, sql)


def _key(v):
    """Sort key that never compares a number with text or None."""
    if v is None:
        return (0, 0, "")
    if isinstance(v, float):
        return (1, v, "")
    return (2, 0, v)


def norm_sqlite(rows):
    out = [tuple(float(v) if isinstance(v, (int, float)) else v for v in r) for r in rows]
    return out


def norm_pg(rows, types):
    return [tuple(None if v is None else float(v) if t in NUMERIC else v
                  for v, t in zip(r, types)) for r in rows]


def sort_rows(rows):
    return sorted(rows, key=lambda r: tuple(_key(v) for v in r))


SHARED = {}


def setUpModule():
    """One store, one cluster for the whole file (generating and loading take most of its time)."""
    tmp = tempfile.mkdtemp(prefix="pgschema-")
    store = os.path.join(tmp, "cases.db")
    SHARED.update(tmp=tmp, store=store)
    t0 = time.monotonic()
    p = subprocess.run([PYTHON, GENCASES, "--out", store, "--children", "300", "--seed", "1",
                        "--today", TODAY, "--history-years", "2"],
                       capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise AssertionError("gencases.py failed:\n" + p.stderr)
    t1 = time.monotonic()
    pg = SHARED["pg"] = PgCluster()
    pg.start()  # stopped by tearDownModule, or atexit if this fails half-way
    pg.create_database("cases")
    with open(PG_SCHEMA, encoding="utf-8") as f:
        pg.psql(f.read(), db="cases")
    t2 = time.monotonic()
    SHARED["counts"] = pg.copy_from_sqlite(store, "cases")
    t3 = time.monotonic()
    hd.report("pg_schema_setup", generate_s=round(t1 - t0, 2),
              cluster_and_schema_s=round(t2 - t1, 2), copy_s=round(t3 - t2, 2),
              rows=sum(SHARED["counts"].values()))


def tearDownModule():
    if "pg" in SHARED:
        SHARED["pg"].stop()
    if "tmp" in SHARED and not os.environ.get("KEEP_TMP"):
        shutil.rmtree(SHARED["tmp"], ignore_errors=True)


class PgSchemaCase(unittest.TestCase):
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        cls.tmp, cls.store, cls.pg, cls.counts = SHARED["tmp"], SHARED["store"], SHARED["pg"], \
            SHARED["counts"]

    def sqlite(self, sql):
        db = hd.connect_ro(self.store)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()

    def pg_many(self, queries, user="postgres", db="cases"):
        """Run queries on PostgreSQL in one psql: for each, its column types (\\gdesc) and rows."""
        script = []
        for i, q in enumerate(queries):
            q = q.strip().rstrip(";")
            script += ["\\echo @@desc %d" % i, q, "\\gdesc", "\\echo @@rows %d" % i, q + ";"]
        out = self.pg.psql("\n".join(script) + "\n", db=db, user=user)
        results, part, cur = {}, None, None
        for line in out.splitlines():
            m = re.fullmatch(r"@@(desc|rows) (\d+)", line)
            if m:
                part, cur = m.group(1), int(m.group(2))
                results.setdefault(cur, ([], []))
                continue
            fields = [None if v == "\\N" else v for v in line.split("\t")]
            if part == "desc":
                results[cur][0].append(fields[1])
            else:
                results[cur][1].append(tuple(fields))
        return [results[i] for i in range(len(queries))]

    def compare(self, queries, what, db="cases"):
        """Every query returns the same rows on both engines; returns the row counts."""
        pg = self.pg_many(queries, db=db)
        counts = []
        for q, (types, pg_rows) in zip(queries, pg):
            lite = norm_sqlite(self.sqlite(q))
            pgn = norm_pg(pg_rows, types)
            with self.subTest(what=what, query=" ".join(q.split())[:160]):
                self.assertEqual(len(lite), len(pgn))
                self.assertEqual(sort_rows(lite), sort_rows(pgn))
                if re.search(r"\bORDER BY\b", q, re.I):
                    # the rule's own order: the same clocks in the same order
                    self.assertEqual(lite, pgn)
            counts.append(len(lite))
        return counts


class TestSameShape(PgSchemaCase):
    def test_tables_and_views_have_the_same_columns(self):
        objs = self.sqlite("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'view') "
                           "AND name NOT LIKE 'sqlite_%' ORDER BY name")
        lite = {}
        for kind, name in objs:
            cols = [r[1] for r in self.sqlite("PRAGMA table_info(%s)" % name)]
            lite[name] = (kind, cols)
        pg = {}
        for name, kind, cols in self.pg.rows(
                "SELECT c.table_name, t.table_type, string_agg(c.column_name, ',' "
                "ORDER BY c.ordinal_position) FROM information_schema.columns AS c "
                "JOIN information_schema.tables AS t USING (table_schema, table_name) "
                "WHERE c.table_schema = 'public' GROUP BY 1, 2", db="cases"):
            pg[name] = ("view" if kind == "VIEW" else "table", cols.split(","))
        self.assertEqual(sorted(lite), sorted(pg))
        for name in lite:
            self.assertEqual(lite[name], pg[name], name)
        self.assertGreaterEqual(sum(k == "view" for k, _ in lite.values()), 39)

    def test_same_indexes(self):
        lite = {r[0] for r in self.sqlite("SELECT name FROM sqlite_master WHERE type = 'index' "
                                          "AND sql IS NOT NULL")}
        pg = {r[0] for r in self.pg.rows(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
            "AND indexname NOT LIKE '%\\_pkey' AND indexname NOT LIKE '%\\_key'", db="cases")}
        self.assertEqual(pg - lite, {"staff_email"})
        self.assertEqual(lite - pg, set())

    def test_every_row_copied(self):
        for table, n in self.counts.items():
            self.assertEqual(self.pg.rows("SELECT count(*) FROM %s" % table, db="cases"),
                             [(str(n),)], table)
        self.assertGreater(self.counts["children"], 300)


class TestSameAnswers(PgSchemaCase):
    def test_every_view(self):
        views = [r[0] for r in self.sqlite("SELECT name FROM sqlite_master WHERE type = 'view' "
                                           "ORDER BY name")]
        counts = self.compare(["SELECT * FROM %s" % v for v in views], "view")
        empty = [v for v, n in zip(views, counts) if n == 0]
        # the demo store fills every view: an empty one would compare nothing
        self.assertEqual(empty, [])

    def test_rule_queries(self):
        queries = [with_clock(q) for q in rule_queries(RULES_DIR, "query")]
        self.assertGreaterEqual(len(queries), 20)
        t0 = time.monotonic()
        counts = self.compare(queries, "query")
        hd.report("pg_schema_rule_queries", queries=len(queries), rows=sum(counts),
                  seconds=round(time.monotonic() - t0, 2))
        # every rule's clocks are in the demo store (gencases.py's promise): nothing vacuous
        self.assertEqual([q for q, n in zip(queries, counts) if n == 0], [])

    def test_rule_history(self):
        queries = [with_clock(q) for q in rule_queries(RULES_DIR, "history")]
        self.assertGreaterEqual(len(queries), 18)
        counts = self.compare(queries, "history")
        hd.report("pg_schema_rule_history", queries=len(queries), rows=sum(counts))
        self.assertGreater(sum(counts), 1000)

    def test_same_order_in_an_english_collation(self):
        # A council's database is usually created in its own locale, where 'a' < 'B' and
        # punctuation is ignored at first; the schema's COLLATE "C" columns must keep SQLite's
        # byte order for the rules' ORDER BY anyway. ICU's en-GB as the database default.
        self.pg.psql("CREATE DATABASE cases_gb TEMPLATE template0 ENCODING 'UTF8' "
                     "LOCALE_PROVIDER icu ICU_LOCALE 'en-GB' LOCALE 'C.UTF-8'")
        try:
            with open(PG_SCHEMA, encoding="utf-8") as f:
                self.pg.psql(f.read(), db="cases_gb")
            # case references whose order differs between byte order and en-GB
            self.pg.copy_from_sqlite(self.store, "cases_gb")
            self.pg.psql("UPDATE children SET case_ref = lower(case_ref) "
                         "WHERE child_id % 3 = 0", db="cases_gb")
            self.assertEqual(self.pg.rows("SELECT 'a' < 'B', 'demo-1' < 'DEMO-2'",
                                          db="cases_gb"), [("t", "t")])
            queries = [with_clock(q) for q in rule_queries(RULES_DIR, "query")]
            pg = self.pg_many(queries, db="cases_gb")
            # the same change on a copy of the SQLite store
            copy = os.path.join(self.tmp, "cases-gb.db")
            shutil.copy(self.store, copy)
            c = sqlite3.connect(copy)
            c.execute("UPDATE children SET case_ref = lower(case_ref) WHERE child_id % 3 = 0")
            c.commit()
            for q, (types, rows) in zip(queries, pg):
                with self.subTest(query=" ".join(q.split())[:160]):
                    self.assertEqual(norm_sqlite(c.execute(q).fetchall()), norm_pg(rows, types))
            c.close()
        finally:
            self.pg.psql("DROP DATABASE IF EXISTS cases_gb")

    def test_participation_window_follows_sqlite_months(self):
        # SQLite: date('2026-05-31', '-3 months') is 2026-03-03, not PostgreSQL's 02-28; the view
        # must keep SQLite's window. Checked on a store whose latest review is a 31st.
        self.pg.psql("CREATE DATABASE edge TEMPLATE cases", db="postgres")
        try:
            self.pg.psql("UPDATE cic_reviews SET review_date = '2026-05-31' WHERE review_id = "
                         "(SELECT max(review_id) FROM cic_reviews); "
                         "DELETE FROM cic_reviews WHERE review_date > '2026-05-31'", db="edge")
            self.assertEqual(self.pg.rows("SELECT DISTINCT since, until FROM iro_participation",
                                          db="edge"), [("2026-03-03", "2026-05-31")])
        finally:
            self.pg.psql("DROP DATABASE edge", db="postgres")


class TestRoles(PgSchemaCase):
    QUERY = "SELECT case_ref, start FROM open_icpc ORDER BY start, case_ref"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # docs/case-store.md "On PostgreSQL": the role escalatord reads with
        cls.pg.create_role("escalator_reader")
        cls.pg.psql("GRANT CONNECT ON DATABASE cases TO escalator_reader;"
                    "GRANT USAGE ON SCHEMA public TO escalator_reader;"
                    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO escalator_reader;"
                    "ALTER ROLE escalator_reader SET default_transaction_read_only = on;",
                    db="cases")
        cls.pg.create_role("stranger")

    def test_reader_reads_and_cannot_write(self):
        self.assertEqual(self.pg.rows(self.QUERY, db="cases", user="escalator_reader"),
                         [tuple(r) for r in self.sqlite(self.QUERY)])
        with self.assertRaises(PgError) as e:
            self.pg.psql("DELETE FROM escalations", db="cases", user="escalator_reader")
        self.assertIn("cannot execute DELETE in a read-only transaction", e.exception.stderr)

    def test_role_without_select_is_denied(self):
        with self.assertRaises(PgError) as e:
            self.pg.psql(self.QUERY, db="cases", user="stranger")
        self.assertIn("permission denied for view open_icpc", e.exception.stderr)
        with self.assertRaises(PgError) as e:
            self.pg.psql("SELECT count(*) FROM children", db="cases", user="stranger")
        self.assertIn("permission denied for table children", e.exception.stderr)


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
