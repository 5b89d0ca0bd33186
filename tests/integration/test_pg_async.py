#!/usr/bin/python3
"""A slow rule query on a PostgreSQL case store never stalls deliveries (issue 17): the service
reads a PostgreSQL query's rows as they arrive, on the loop, and delivers meanwhile.

Run:  /usr/bin/python3 tests/integration/test_pg_async.py --escalatord build/escalatord

The case store is a throwaway PostgreSQL cluster (tests/harness/pgcluster.py). Two rules: the
first reads 20 overdue clocks at once; the second's query takes SLOW seconds (pg_sleep) before
its one row. Each clock has one webhook delivery to an HttpSink. The first pass records the
first rule's 20 alerts in a slice, and while the second rule's query runs on the server, those
20 webhooks must arrive: all of them before the pass ends, and the first well within SLOW of the
pass starting. Then the slow rule's alert arrives after the pass. With waiting reads (checked
by hand: casestore_set_async off in pass.c) the test fails: the pass ends first.
"""

import datetime
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402
from harness.pgcluster import PgCluster  # noqa: E402

SLOW = 4.0  # seconds the slow rule's query sleeps on the server
N_FAST = 20

RULES = """\
rules = (
  {
    id = "fast-rule";
    title = "Fast rule";
    query = "SELECT case_ref, start FROM cases WHERE kind = 'fast' ORDER BY case_ref";
    due = "1 day";
    stages = ( { name = "overdue"; at = "0 days"; notify = [ "hook" ]; } );
  },
  {
    id = "slow-rule";
    title = "Slow rule";
    query = "SELECT c.case_ref, c.start FROM cases c CROSS JOIN (SELECT pg_sleep(%.1f)) s WHERE c.kind = 'slow'";
    due = "1 day";
    stages = ( { name = "overdue"; at = "0 days"; notify = [ "hook" ]; } );
  }
);
""" % SLOW


class SlowQuery(hd.DaemonCase):
    TMP_PREFIX = "escpgasync-"

    @classmethod
    def setUpClass(cls):
        cls.cluster = PgCluster()
        cls.cluster.start()
        cls.cluster.create_database("cases")

    @classmethod
    def tearDownClass(cls):
        cls.cluster.stop()

    def test_deliveries_go_while_a_query_runs(self):
        pg = self.cluster
        start = (datetime.date.today() - datetime.timedelta(days=30)).isoformat()
        pg.psql("DROP TABLE IF EXISTS cases; CREATE TABLE cases (case_ref text, start text, "
                "kind text);", db="cases")
        rows = ["('F%02d', '%s', 'fast')" % (i, start) for i in range(N_FAST)]
        rows.append("('S01', '%s', 'slow')" % start)
        pg.psql("INSERT INTO cases VALUES %s;" % ", ".join(rows), db="cases")
        http = self.http_sink()
        self.write_secret("hook.secret", "s3cret-hook-key")
        text = self.TREE_CONFIG.replace('"../data/cases.sqlite"',
                                        '"%s"' % pg.url(db="cases")) + """\
digest = "off";
send_time = "00:00";
poll_interval = 3600;
query_timeout = 60;
ca_file = "%s";
max_deliveries = 8;
contacts = {
  hook = { webhook = "%s"; secret_file = "hook.secret"; };
};
""" % (__import__("harness").default_pki()["ca_file"], http.url_for("/hook"))
        self.write_config_text(text)
        self.write_rules(RULES)
        check = self.run_escalatord(["--check"])
        self.assertEqual(check.returncode, 0, check.stderr.decode())
        d = self.start_daemon()
        d.wait_log(r"starting rules=2", timeout=20)
        t0 = time.monotonic()
        # All of the fast rule's webhooks arrive while the slow query is still running.
        http.wait_for(N_FAST, timeout=SLOW + 20)
        t_fast = time.monotonic() - t0
        passed = re.search(r"evaluated why=start", d.log())
        self.assertIsNone(passed, "the pass had ended when the fast rule's %d webhooks had "
                          "arrived (%.1f s): they waited for the slow query" % (N_FAST, t_fast))
        d.wait_log(r"evaluated why=start clocks=%d alerts=%d" % (N_FAST + 1, N_FAST + 1),
                   timeout=SLOW + 30)
        t_pass = time.monotonic() - t0
        self.assertGreaterEqual(t_pass, SLOW * 0.9, "the slow query did not take its time")
        self.assertLess(t_fast, t_pass, "deliveries waited for the slow query")
        reqs = http.wait_for(N_FAST + 1, timeout=20)
        cases = sorted(r.json()["case"] for r in reqs)
        self.assertEqual(cases, sorted(["F%02d" % i for i in range(N_FAST)] + ["S01"]))
        hd.report("pg_async", fast_deliveries_seconds=round(t_fast, 2),
                  pass_seconds=round(t_pass, 2), slow_query_seconds=SLOW)
        d.terminate()


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
