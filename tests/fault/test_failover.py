#!/usr/bin/python3
"""Fault suite: two escalatord nodes on one PostgreSQL state store, one leader (failover).

    /usr/bin/python3 tests/fault/test_failover.py --escalatord build/escalatord [-v]
        [--alerts N]      webhook deliveries in the kill -9 burst (default 3000)
        [--cut-alerts N]  webhook deliveries in the connection-cut test (default 600)
        [--seed N]        random seed (printed; default: from the time)

Setup of both tests.  A throwaway PostgreSQL cluster for the class (tests/harness/pgcluster.py),
a fresh SQL_ASCII database per test for the state store.  Two nodes, A and B, with the same case
store (N overdue clocks, one webhook delivery each), the same rule file and the same
`state = "postgresql://..."`, `instance = "council-a"; failover_timeout = 6; max_deliveries = 32;`
-- their configurations (etc/a.conf, etc/b.conf) differ only in the URL of the contact `hook`:
node A's points at sink A, node B's at sink B, so every request a sink receives was sent by that
node.  The sinks answer 200 after a random delay, and hold every request until A leads and B
stands by (so the burst starts with the standby in place).  The log lines looked for:

    escalatord: leading instance council-a (epoch N)
    escalatord: standby: instance council-a is led by HOST:PID (epoch N)
    escalatord: ... lost the lead of instance council-a ...

test_kill9_leader_during_burst: node A is killed with SIGKILL when sink A has seen a random
20-60% of N requests (sinks answer after 0-40 ms).  Node B says it leads within failover_timeout
+ 4 s of the kill, with the epoch one above A's (its log line and the leader table agree); every
delivery ends `sent`; no delivery is lost (the X-Escalator-Delivery ids at A and B together are
every delivery's id); the only ids seen twice are deliveries A had in flight (at most
max_deliveries of them, each once at A and then once at B, and -- when the state store could be
read before B took over -- each marked in flight at the kill); sink A receives nothing after the
kill and sink B nothing before B's "leading" line.

test_connection_cut: node A's database connections are terminated (pg_terminate_backend) when
sink A has seen a random 10-30% of N requests (sinks answer after 20-60 ms).  Node A says it lost
the lead within failover_timeout and keeps running as a standby; node B leads within
failover_timeout + 4 s with the next epoch; after the cut sink A receives at most max_deliveries
requests (those already in flight), all within 1 s; sink B nothing before B's "leading" line;
every delivery is sent, none lost, repeats only of A's last deliveries.

Times: HttpRequest.time is time.time() when the sink had read the request, so the times this
file compares with it are time.time() too.  A log line has no time of its own: it was written
between the last read of the log that did not hold it and the read that did (polled every 10 ms).
"""

import collections
import os
import random
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402
from harness.pgcluster import PgCluster  # noqa: E402
from harness import daemon as hd  # noqa: E402

INSTANCE = "council-a"
FAILOVER_TIMEOUT = 6  # seconds (escalatord's default is 30, its minimum 3)
MAX_DELIVERIES = 32
TAKEOVER_MARGIN = 4.0  # the standby leads within failover_timeout + this after the leader goes
KILL_SLACK = 0.05  # a request the killed node wrote just before SIGKILL, read a little later
FLIGHT_WINDOW = 1.0  # after a connection cut, requests already in flight arrive within this
GATE_TIMEOUT = 60.0  # the sinks hold requests until both nodes are up, at most this long
WAIT_LINE = 30.0  # how long a log line is waited for (longer than any bound asserted)

UID_RX = re.compile(r"^esc-([0-9a-f]+)-(\d+)$")
_I = re.escape(INSTANCE)
LEADING_RX = re.compile(r"^escalatord: leading instance %s \(epoch (\d+)\)" % _I, re.M)
STANDBY_RX = re.compile(r"^escalatord: standby: instance %s is led by (\S+) \(epoch (\d+)\)"
                        % _I, re.M)
LOST_RX = re.compile(r"^escalatord: .*lost the lead of instance %s" % _I, re.M)
# what a node that lost the lead says from that line on (that line included): a line naming the
# instance and saying it stands by or retries
STANDS_BY_RX = re.compile(r"^escalatord: (?=.*%s)(?=.*(?:standby|standing by|stands by|retr)).*"
                          % _I, re.M | re.I)


def copies_by_id(sinks):
    """sinks: {name: [HttpRequest]} -> ({delivery id: [(time, name, uid)] in time order},
    [(name, what is wrong)] for requests without a well-formed id, {instance hex parts})."""
    copies = collections.defaultdict(list)
    bad = []
    prefixes = set()
    for name, reqs in sinks.items():
        for r in reqs:
            uid = r.headers.get("X-Escalator-Delivery")
            m = UID_RX.match(uid or "")
            if m is None:
                bad.append((name, "X-Escalator-Delivery %r" % uid))
                continue
            try:
                body_uid = r.json().get("delivery")
            except ValueError as e:
                body_uid = "unreadable body: %s" % e
            if body_uid != uid:
                bad.append((name, "header %r, body's delivery %r" % (uid, body_uid)))
            prefixes.add(m.group(1))
            copies[int(m.group(2))].append((r.time, name, uid))
    for v in copies.values():
        v.sort()
    return dict(copies), bad, prefixes


class FailoverFaults(fl.FaultCase):
    cluster = None
    ndb = 0

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = PgCluster(name="failover-pg")
        cls.cluster.start()  # (no PostgreSQL here: hd.skip_or_fail)

    @classmethod
    def tearDownClass(cls):
        if cls.cluster is not None:
            cls.cluster.stop()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.seed_rng()
        self.gate = threading.Event()
        # The state store: a fresh database of the class's cluster.  (DaemonCase's own
        # --state-store postgresql database, if any, is not used: these settings replace it, and
        # write_config_text and state_query follow them.)
        type(self).ndb += 1
        self.pg = self.cluster
        self.pg_db = "failover%d" % self.ndb
        self.pg.create_database(self.pg_db, encoding="SQL_ASCII")
        self.state_url = self.pg.url(db=self.pg_db)
        self.hostname = socket.gethostname()

    def tearDown(self):
        self.gate.set()  # release held requests, so the sinks stop at once
        super().tearDown()

    # -- the two nodes --------------------------------------------------------------------------
    def make_sink(self, low, high, salt):
        """An HttpSink answering 200 after a random low-high seconds, once the gate is open."""
        rng = random.Random(self.seed + salt)
        gate = self.gate

        def respond(req):
            gate.wait(GATE_TIMEOUT)
            time.sleep(rng.uniform(low, high))
            return 200

        return self.http_sink(responses=respond, idle_timeout=5)

    def write_node_config(self, path, sink, per_dest, **extra):
        old = self.conf
        self.conf = path
        try:
            self.write_config({"hook": sink.url_for("/hook")}, poll_interval=1,
                              max_deliveries=MAX_DELIVERIES, connect_timeout=2,
                              delivery_timeout=30, retry_min=1, retry_max=2, shutdown_timeout=2,
                              instance=INSTANCE, failover_timeout=FAILOVER_TIMEOUT, **per_dest,
                              **extra)
        finally:
            self.conf = old
        with open(path, encoding="utf-8") as f:
            text = f.read()
        self.assertIn('state = "%s";' % self.state_url, text,
                      "%s does not point at the PostgreSQL state store" % path)

    def start_node(self, path, name):
        old = self.conf
        self.conf = path
        try:
            return self.start_daemon(name=name)
        finally:
            self.conf = old

    def node_name(self, daemon):
        """How a node names itself (the standby line, the leader table): HOST:PID."""
        return "%s:%d" % (self.hostname, daemon.pid)

    def check_takeover(self, m, takeover, after, epoch_a, b):
        """Node B's "leading" line (match m) came within failover_timeout (+ margin) of the
        fault, with the next epoch, and the leader table names it. Returns B's epoch."""
        self.assertLessEqual(takeover, FAILOVER_TIMEOUT + TAKEOVER_MARGIN,
                             "node B led %.1f s after %s (failover_timeout %d s + %.0f s)"
                             % (takeover, after, FAILOVER_TIMEOUT, TAKEOVER_MARGIN))
        epoch_b = int(m.group(1))
        self.assertEqual(epoch_b, epoch_a + 1, "node B's epoch (its 'leading' line)")
        self.assertEqual(self.leader_row(), (epoch_b, self.node_name(b)),
                         "the leader table after node B's 'leading' line: (epoch, node)")
        return epoch_b

    def assert_no_errors_yet(self, a, b):
        """Before the fault, neither node logged an error (a standby starting beside a busy
        leader once deadlocked the leader's inserts with its schema DDL)."""
        for name, d in (("A", a), ("B", b)):
            errors = [line for line in d.log().splitlines()
                      if line.startswith("escalatord: error:")]
            self.assertEqual(errors, [], "node %s logged errors before the fault" % name)

    def two_nodes(self, n_alerts, low, high, extra_a=None, extra_b=None):
        """Sinks A and B, configurations etc/a.conf and etc/b.conf, the case store; node A
        started and leading, node B started and standing by; the sinks still hold requests
        (open them with self.gate.set()).  Returns a dict: a, b (the Daemons), sink_a, sink_b,
        epoch_a (node A's epoch), pids_a (node A's sessions, read before node B started)."""
        sink_a = self.make_sink(low, high, 1)
        sink_b = self.make_sink(low, high, 2)
        # all 32 slots to the one webhook (newer escalatord caps each destination, default 4)
        per_dest = {"max_per_destination": MAX_DELIVERIES} \
            if fl.supports_setting("max_per_destination") else {}
        conf_a = os.path.join(self.etc, "a.conf")
        conf_b = os.path.join(self.etc, "b.conf")
        self.write_node_config(conf_a, sink_a, per_dest, **(extra_a or {}))
        self.write_node_config(conf_b, sink_b, per_dest, **(extra_b or {}))
        self.write_rules(fl.rule_text(notify=("hook",)))
        fl.make_big_store(self.case_store, n_alerts)

        old = self.conf
        self.conf = conf_a
        try:
            p = self.run_escalatord(["--check"], timeout=60)
        finally:
            self.conf = old
        self.assertEqual(p.returncode, 0,
                         "escalatord --check refuses the two-node configuration (instance = "
                         "\"%s\"; failover_timeout = %d; on a PostgreSQL state store): is leader "
                         "election in this build?\n%s"
                         % (INSTANCE, FAILOVER_TIMEOUT,
                            p.stderr.decode("utf-8", "replace").strip()))

        a = self.start_node(conf_a, "nodeA")
        m, _, _ = self.wait_line(a, LEADING_RX, WAIT_LINE, "node A (alone) leading")
        epoch_a = int(m.group(1))
        self.assertEqual(self.leader_row(), (epoch_a, self.node_name(a)),
                         "the leader table after node A's 'leading' line: (epoch, node)")
        pids_a = self.backends()
        self.assertTrue(pids_a, "node A leads with no session named escalatord on the state "
                        "database (pg_stat_activity.application_name)")

        b = self.start_node(conf_b, "nodeB")
        (m, _, _), = self.wait_lines([(b, STANDBY_RX, "node B standing by", 0, None)],
                                     WAIT_LINE, forbid=[(b, LEADING_RX, 0, "node B leads while "
                                                         "node A does")])
        self.assertEqual((m.group(1), int(m.group(2))), (self.node_name(a), epoch_a),
                         "node B's standby line names the leader and its epoch")
        self.assertIsNone(LEADING_RX.search(b.log()), "node B leads while node A does")
        self.assertTrue(a.alive(), "node A exited; log:\n%s" % fl.tail(a.log()))
        self.assertEqual(len(LEADING_RX.findall(a.log())), 1, "node A logged 'leading' again")
        self.assertEqual(self.leader_row(), (epoch_a, self.node_name(a)),
                         "the leader table once node B stands by")
        return dict(a=a, b=b, sink_a=sink_a, sink_b=sink_b, epoch_a=epoch_a, pids_a=pids_a)

    # -- logs -----------------------------------------------------------------------------------
    def wait_line(self, d, rx, timeout, what, start=0, absent_at=None):
        """Poll d's log every 10 ms until rx matches at or after offset `start`.  Returns (match,
        t_absent, t_seen), time.time() values: the line was written after t_absent (the start of
        the last read without it; absent_at if the first read had it) and by t_seen."""
        return self.wait_lines([(d, rx, what, start, absent_at)], timeout)[0]

    def wait_lines(self, waits, timeout, forbid=()):
        """wait_line for several (daemon, rx, what, start, absent_at) at once, so that the time
        each line is seen does not depend on the others; returns their (match, t_absent,
        t_seen) in the same order.  forbid: (daemon, rx, n, what): fail as soon as rx matches
        more than n times in that daemon's log."""
        deadline = time.monotonic() + timeout
        found = [None] * len(waits)
        t_absent = [w[4] for w in waits]
        while True:
            for d, rx, n, what in forbid:
                text = d.log()
                got = rx.findall(text)
                if len(got) > n:
                    self.fail("%s: %d lines matching %r in %s:\n%s"
                              % (what, len(got), rx.pattern, os.path.basename(d.stderr_path),
                                 fl.tail(text, 80)))
            for i, (d, rx, what, start, _) in enumerate(waits):
                if found[i] is not None:
                    continue
                t_read = time.time()
                m = rx.search(d.log(), start)
                if m is None and not d.alive():
                    m = rx.search(d.log(), start)
                    if m is None:
                        self.fail("%s: escalatord (%s) exited with status %s before logging a "
                                  "line matching %r; its log:\n%s"
                                  % (what, os.path.basename(d.stderr_path), d.proc.returncode,
                                     rx.pattern, fl.tail(d.log(), 80)))
                if m is not None:
                    found[i] = (m, t_absent[i], time.time())
                else:
                    t_absent[i] = t_read
            if all(f is not None for f in found):
                return found
            if time.monotonic() > deadline:
                i = found.index(None)
                d, rx, what = waits[i][:3]
                self.fail("%s: no line matching %r within %.1f s; log of %s (pid %d, %s):\n%s"
                          % (what, rx.pattern, timeout, os.path.basename(d.stderr_path), d.pid,
                             "running" if d.alive() else "exited", fl.tail(d.log(), 80)))
            time.sleep(0.01)

    # -- the state database ---------------------------------------------------------------------
    def leader_row(self):
        rows = self.state_query("SELECT epoch, node FROM leader WHERE instance = ?", (INSTANCE,))
        return tuple(rows[0]) if rows else None

    def backends(self):
        """pids of the escalatord sessions on the state database."""
        return {r[0] for r in self.state_query(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'escalatord' "
            "AND datname = current_database()")}

    def advisory_holders(self):
        """pids holding an advisory lock on the state database."""
        return {r[0] for r in self.state_query(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")}

    def in_flight_snapshot(self):
        """(the leader table's epoch, ids of deliveries in flight), read in one statement (one
        snapshot)."""
        rows = self.state_query(
            "SELECT (SELECT epoch FROM leader WHERE instance = ?) AS epoch, "
            "(SELECT string_agg(CAST(id AS text), ',') FROM delivery WHERE in_flight <> 0) AS ids",
            (INSTANCE,))
        if not rows:
            return None, set()
        epoch, ids = rows[0]
        return epoch, {int(i) for i in ids.split(",")} if ids else set()

    def leases_left(self, gone, epoch_a):
        """The deliveries node A left in flight: read once A's sessions `gone` have ended (at
        most 2 s), with the leader table's epoch in the same statement.  Returns (valid, ids):
        valid when the epoch is still A's, i.e. B had not taken over yet (the new leader bumps
        the epoch before it touches a lease)."""
        deadline = time.monotonic() + 2.0
        while gone & self.backends():
            if time.monotonic() > deadline:
                print("\nnote: node A's sessions %r still on the server 2 s later: A's "
                      "deliveries in flight not read" % sorted(gone & self.backends()),
                      file=sys.stderr)
                return False, set()
            time.sleep(0.02)
        epoch, ids = self.in_flight_snapshot()
        if epoch != epoch_a:
            print("\nnote: node B had taken over (epoch %r) when the state store was read: A's "
                  "deliveries in flight not known" % epoch, file=sys.stderr)
            return False, set()
        self.assertLessEqual(len(ids), MAX_DELIVERIES,
                             "deliveries node A left in flight (max_deliveries = %d)"
                             % MAX_DELIVERIES)
        return True, ids

    def wait_all_sent(self, n, timeout, nodes):
        """Every one of the n deliveries `sent`; returns their ids."""
        deadline = time.monotonic() + timeout
        counts = None
        while True:
            rows = self.state_query("SELECT count(*) AS n, "
                                    "count(*) FILTER (WHERE status = 'sent') AS sent "
                                    "FROM delivery")
            counts = tuple(rows[0]) if rows else (0, 0)
            if counts == (n, n):
                break
            if counts[0] > n:
                self.fail("%d deliveries in the state store for %d alerts" % (counts[0], n))
            if time.monotonic() > deadline:
                self.fail("not every delivery sent within %.0f s: %d deliveries, %d sent, of %d; "
                          "by status %r\n%s" % (
                              timeout, counts[0], counts[1], n,
                              self.state_query("SELECT status, count(*) FROM delivery "
                                               "GROUP BY status ORDER BY status"),
                              "\n".join("%s (%s):\n%s" % (
                                  name, "running" if d.alive() else "exited",
                                  fl.tail(d.log(), 30)) for name, d in nodes.items())))
            time.sleep(0.5)
        return {r[0] for r in self.state_query("SELECT id FROM delivery")}

    # -- what both tests check ------------------------------------------------------------------
    def check_copies(self, sink_a, sink_b, ids, n_alerts):
        """Every delivery reached sink A or sink B under one instance's ids, none lost, and the
        repeats are A's then B's.  Returns (copies, repeated ids)."""
        self.assertEqual(len(ids), n_alerts, "deliveries in the state store")
        copies, bad, prefixes = copies_by_id({"A": sink_a.requests, "B": sink_b.requests})
        self.assertEqual(bad, [], "requests without a proper delivery id")
        self.assertEqual(len(prefixes), 1,
                         "the delivery ids of the two nodes differ in their instance part: %r"
                         % sorted(prefixes))
        lost = sorted(ids - set(copies))
        self.assertEqual(len(lost), 0, "%d deliveries reached neither sink (lost), e.g. %r"
                         % (len(lost), lost[:20]))
        unknown = sorted(set(copies) - ids)
        self.assertEqual(unknown, [], "ids at the sinks that are no delivery of the state store")
        repeated = {i: c for i, c in copies.items() if len(c) > 1}
        self.assertLessEqual(len(repeated), MAX_DELIVERIES,
                             "%d delivery ids were received more than once (more than "
                             "max_deliveries = %d could have been in flight)"
                             % (len(repeated), MAX_DELIVERIES))
        wrong = {i: [(round(t, 3), s) for t, s, _ in c] for i, c in repeated.items()
                 if [s for _, s, _ in c] != ["A", "B"]}
        self.assertEqual(wrong, {}, "a repeated delivery must be one copy at A, then one at B: "
                         "{id: [(time, sink), ...]}")
        return copies, repeated

    def check_not_before(self, reqs, t, what):
        early = sorted(r.time for r in reqs if r.time < t)
        self.assertEqual(len(early), 0, "%s: %d request(s) received %.3f s to %.3f s before it"
                         % (what, len(early), t - early[0], t - early[-1]) if early else what)

    # -------------------------------------------------------------------------------------------
    def test_kill9_leader_during_burst(self):
        n_alerts = fl.option("alerts", 3000)
        rng = self.rng
        nodes = self.two_nodes(n_alerts, 0.0, 0.04)
        a, b, sink_a, sink_b = nodes["a"], nodes["b"], nodes["sink_a"], nodes["sink_b"]
        epoch_a = nodes["epoch_a"]
        target = rng.randint(int(n_alerts * 0.2), int(n_alerts * 0.6))
        self.gate.set()
        ok = sink_a.wait_until(lambda s: s.counters["requests"] >= target, timeout=60)
        self.assertTrue(ok, "sink A saw %d of %d requests in 60 s (waiting for %d); node A's "
                        "log:\n%s" % (sink_a.counters["requests"], n_alerts, target,
                                      fl.tail(a.log())))
        time.sleep(rng.uniform(0.0, 0.02))

        # B must not lead yet: read its log, then kill A.
        t_check = time.time()
        self.assertIsNone(LEADING_RX.search(b.log()), "node B leads while node A does")
        self.assert_no_errors_yet(a, b)
        self.assertTrue(a.alive(), "node A exited before the kill; log:\n%s" % fl.tail(a.log()))
        received_at_kill = sink_a.counters["requests"]
        a.kill9()
        t_kill = time.time()
        snap_valid, flying = self.leases_left(nodes["pids_a"], epoch_a)

        m, t_absent, t_seen = self.wait_line(b, LEADING_RX, WAIT_LINE, "node B taking over",
                                             absent_at=t_check)
        takeover = t_seen - t_kill
        epoch_b = self.check_takeover(m, takeover, "node A was killed", epoch_a, b)

        ids = self.wait_all_sent(n_alerts, 120, {"node A": a, "node B": b})
        time.sleep(1.0)  # nothing else may arrive
        self.assertTrue(b.alive(), "node B exited; log:\n%s" % fl.tail(b.log()))
        self.assertEqual(self.leader_row(), (epoch_b, self.node_name(b)),
                         "the leader table at the end")
        self.assertEqual(len(LEADING_RX.findall(b.log())), 1, "node B's 'leading' lines")
        b.terminate()

        reqs_a, reqs_b = sink_a.requests, sink_b.requests
        late = sorted(r.time - t_kill for r in reqs_a if r.time > t_kill + KILL_SLACK)
        self.assertEqual(len(late), 0, "sink A received %d request(s) after node A was killed "
                         "(%.3f s to %.3f s after)" % (len(late), late[0], late[-1])
                         if late else "")
        self.check_not_before(reqs_b, t_absent,
                              "sink B before node B's 'leading' line")
        copies, repeated = self.check_copies(sink_a, sink_b, ids, n_alerts)
        if snap_valid:
            unexplained = sorted(set(repeated) - flying)
            self.assertEqual(unexplained, [], "delivery ids received twice that were not in "
                             "flight when node A was killed (in flight: %d)" % len(flying))
        fl.report("failover_kill9", seed=self.seed, alerts=n_alerts,
                  takeover_seconds=round(takeover, 2), repeats=len(repeated),
                  received_at_kill=received_at_kill,
                  in_flight_at_kill=len(flying) if snap_valid else None,
                  requests_a=len(reqs_a), requests_b=len(reqs_b),
                  epoch_a=epoch_a, epoch_b=epoch_b)

    # -------------------------------------------------------------------------------------------
    def test_connection_cut(self):
        n_alerts = fl.option("cut_alerts", 600)
        rng = self.rng
        nodes = self.two_nodes(n_alerts, 0.02, 0.06)
        a, b, sink_a, sink_b = nodes["a"], nodes["b"], nodes["sink_a"], nodes["sink_b"]
        epoch_a = nodes["epoch_a"]
        # Node A's sessions: the escalatord sessions on the state database while A ran alone
        # (what the cut ends; B's are left alone).  The session holding the advisory lock (the
        # lead) must be one of them.
        pids_a = nodes["pids_a"]
        held = self.advisory_holders()
        self.assertTrue(held, "no advisory lock held on the state database while node A leads")
        self.assertTrue(held <= pids_a, "the advisory lock is held by sessions %r, node A's are "
                        "%r" % (sorted(held), sorted(pids_a)))

        target = rng.randint(int(n_alerts * 0.1), int(n_alerts * 0.3))
        self.gate.set()
        ok = sink_a.wait_until(lambda s: s.counters["requests"] >= target, timeout=60)
        self.assertTrue(ok, "sink A saw %d of %d requests in 60 s (waiting for %d); node A's "
                        "log:\n%s" % (sink_a.counters["requests"], n_alerts, target,
                                      fl.tail(a.log())))

        t_check = time.time()
        self.assertIsNone(LEADING_RX.search(b.log()), "node B leads while node A does")
        self.assert_no_errors_yet(a, b)
        t_cut0 = time.time()
        rows = self.state_query(
            "SELECT pid, pg_terminate_backend(pid) AS done FROM pg_stat_activity "
            "WHERE application_name = 'escalatord' AND datname = current_database() AND pid IN "
            "(%s)" % ", ".join(str(p) for p in sorted(pids_a)))
        t_cut = time.time()
        received_at_cut = sink_a.counters["requests"]
        self.assertTrue(rows, "none of node A's sessions %r was left to terminate"
                        % sorted(pids_a))
        self.assertTrue(all(done for _, done in rows), "pg_terminate_backend: %r" % rows)
        snap_valid, flying = self.leases_left(pids_a, epoch_a)

        # A's "lost" line and B's "leading" line, watched for together
        (m_lost, _, t_lost), (m, t_absent, t_seen) = self.wait_lines(
            [(a, LOST_RX, "node A losing the lead", 0, None),
             (b, LEADING_RX, "node B taking over", 0, t_check)], WAIT_LINE,
            forbid=[(a, LEADING_RX, 1, "node A took the lead back after its connection was "
                     "cut, before node B (a node that lost the lead must leave the standby the "
                     "time to take it)")])
        self.assertLessEqual(t_lost - t_cut, FAILOVER_TIMEOUT,
                             "node A said it lost the lead %.1f s after its connection was cut "
                             "(failover_timeout %d s)" % (t_lost - t_cut, FAILOVER_TIMEOUT))
        takeover = t_seen - t_cut0
        epoch_b = self.check_takeover(m, takeover, "node A's connection was cut", epoch_a, b)

        ids = self.wait_all_sent(n_alerts, 120, {"node A": a, "node B": b})
        time.sleep(1.0)  # nothing else may arrive
        # Node A stays up as a standby: it says so (or that it retries) from its "lost" line on.
        self.wait_line(a, STANDS_BY_RX, FAILOVER_TIMEOUT + TAKEOVER_MARGIN,
                       "node A standing by (or retrying) after it lost the lead",
                       start=m_lost.start())
        self.assertTrue(a.alive(), "node A exited after it lost the lead; log:\n%s"
                        % fl.tail(a.log()))
        self.assertEqual(len(LEADING_RX.findall(a.log())), 1,
                         "node A's 'leading' lines (it must not take the lead back from B)")
        self.assertEqual(len(LEADING_RX.findall(b.log())), 1, "node B's 'leading' lines")
        self.assertEqual(self.leader_row(), (epoch_b, self.node_name(b)),
                         "the leader table at the end")
        b.terminate()
        a.terminate()

        reqs_a, reqs_b = sink_a.requests, sink_b.requests
        after = sorted(r.time - t_cut for r in reqs_a if r.time > t_cut)
        self.assertLessEqual(len(after), MAX_DELIVERIES,
                             "sink A received %d requests after node A's connection was cut "
                             "(only those in flight, at most max_deliveries = %d, may arrive)"
                             % (len(after), MAX_DELIVERIES))
        late = [t for t in after if t > FLIGHT_WINDOW]
        self.assertEqual(late, [], "sink A received requests more than %.1f s after the cut "
                         "(seconds after it; node A said it lost the lead %.2f s after)"
                         % (FLIGHT_WINDOW, t_lost - t_cut))
        self.check_not_before(reqs_b, t_absent, "sink B before node B's 'leading' line")
        self.assertGreater(len(reqs_b), 0, "node B sent nothing: the burst was over before the "
                           "cut (%d of %d received at A); a larger --cut-alerts is needed"
                           % (received_at_cut, n_alerts))
        copies, repeated = self.check_copies(sink_a, sink_b, ids, n_alerts)
        if snap_valid:
            # nothing new at A after the cut: only what A had leased, as the state store says
            new = sorted({i for i, c in copies.items()
                          if any(s == "A" and t > t_cut for t, s, _ in c)} - flying)
            self.assertEqual(new, [], "deliveries sink A received after the cut that node A "
                             "had not in flight at the cut (in flight: %d)" % len(flying))
            unexplained = sorted(set(repeated) - flying)
            self.assertEqual(unexplained, [], "delivery ids received twice that node A had not "
                             "in flight at the cut (in flight: %d)" % len(flying))
        fl.report("failover_cut", seed=self.seed, alerts=n_alerts,
                  lost_lead_seconds=round(t_lost - t_cut, 2),
                  takeover_seconds=round(takeover, 2), repeats=len(repeated),
                  received_at_cut=received_at_cut, requests_a_after_cut=len(after),
                  in_flight_at_cut=len(flying) if snap_valid else None,
                  requests_a=len(reqs_a), requests_b=len(reqs_b), sessions_cut=len(rows),
                  epoch_a=epoch_a, epoch_b=epoch_b)

    def test_database_restart(self):
        """The state store's server restarted (a DBA patching it) in the middle of a burst:
        every session of both nodes ends at once. The nodes connect again by themselves, one
        of them leads (with the next epoch), and every delivery is sent: none lost, repeats at
        most the deliveries in flight at the restart."""
        n_alerts = fl.option("cut_alerts", 600)
        nodes = self.two_nodes(n_alerts, 0.02, 0.06)
        a, b, sink_a, sink_b = nodes["a"], nodes["b"], nodes["sink_a"], nodes["sink_b"]
        epoch_a = nodes["epoch_a"]
        target = self.rng.randint(int(n_alerts * 0.1), int(n_alerts * 0.3))
        self.gate.set()
        ok = sink_a.wait_until(lambda s: s.counters["requests"] >= target, timeout=60)
        self.assertTrue(ok, "sink A saw %d of %d requests in 60 s; node A's log:\n%s"
                        % (sink_a.counters["requests"], n_alerts, fl.tail(a.log())))
        self.assert_no_errors_yet(a, b)
        t0 = time.monotonic()
        self.cluster.restart()
        restart_s = time.monotonic() - t0
        ids = self.wait_all_sent(n_alerts, 120, {"node A": a, "node B": b})
        recovered_s = time.monotonic() - t0
        time.sleep(1.0)  # nothing else may arrive
        self.assertTrue(a.alive() and b.alive(), "a node exited after the restart")
        epoch, node = self.leader_row()
        self.assertEqual(epoch, epoch_a + 1, "the epoch after the restart (one new lead)")
        self.assertIn(node, (self.node_name(a), self.node_name(b)))
        held = self.advisory_holders()
        self.assertEqual(len(held), 1, "sessions holding the lead after the restart: %r" % held)
        _, repeated = self.check_copies(sink_a, sink_b, ids, n_alerts)
        self.assertLessEqual(len(repeated), MAX_DELIVERIES,
                             "%d ids repeated: more than were in flight" % len(repeated))
        hd.report("failover_db_restart", alerts=n_alerts, restart_seconds=round(restart_s, 2),
                  all_sent_seconds=round(recovered_s, 2), repeats=len(repeated),
                  new_leader="A" if node == self.node_name(a) else "B")
        a.terminate()
        b.terminate()

    def test_standby_refuses_answers(self):
        """A standby's listener does not record answers: a POST to an answer link gets 503
        with Retry-After (a reverse proxy then tries the leader: proxy_next_upstream), while
        the leader's listener handles it (here a made-up token: refused as not genuine). The
        standby's /healthz is 200, and /metrics' escalator_leader is 1 and 0."""
        import urllib.error
        import urllib.request
        port_a, port_b = hd.free_port(), hd.free_port()
        nodes = self.two_nodes(20, 0.0, 0.01, extra_a={"listen": "127.0.0.1:%d" % port_a},
                               extra_b={"listen": "127.0.0.1:%d" % port_b})
        self.gate.set()

        def post(port):
            req = urllib.request.Request("http://127.0.0.1:%d/r/not-a-real-token" % port,
                                         data=b"kind=acknowledged", method="POST",
                                         headers={"Content-Type":
                                                  "application/x-www-form-urlencoded"})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    return r.status, dict(r.headers), r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, dict(e.headers), e.read().decode()

        nodes["b"].wait_listening(port_b)
        nodes["a"].wait_listening(port_a)
        status, headers, body = post(port_b)
        self.assertEqual(status, 503, body)
        self.assertEqual(headers.get("Retry-After"), "30")
        self.assertIn("standing by", body)
        status, _, body = post(port_a)
        self.assertNotEqual(status, 503, "the leader refused as a standby would: " + body)
        self.assertIn(status, (400, 403, 404, 410), body)
        # The standby is healthy (its loop turns; it evaluates nothing by design).
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port_b, timeout=10) as r:
            self.assertEqual(r.status, 200)
        metrics = {}
        for port in (port_a, port_b):
            with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
                text = r.read().decode()
            metrics[port] = re.findall(r"^escalator_leader (\d)$", text, re.M)
        self.assertEqual((metrics[port_a], metrics[port_b]), (["1"], ["0"]),
                         "escalator_leader on the leader and on the standby")


def add_options(p):
    p.add_argument("--alerts", type=int)
    p.add_argument("--cut-alerts", type=int)
    p.add_argument("--seed", type=int)


if __name__ == "__main__":
    sys.exit(fl.run_main(add_options, __doc__))
