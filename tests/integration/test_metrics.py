#!/usr/bin/python3
"""Integration test of issue 14 point 4: /metrics and /healthz, read by the real tools.

Run:  /usr/bin/python3 tests/integration/test_metrics.py --escalatord /path/to/escalatord [-v]

The real escalatord with listen = "127.0.0.1:<free port>", its alert delivered to the SMTP sink
(tests/harness); Debian's promtool and Prometheus (/usr/bin/promtool, /usr/bin/prometheus).

  test_metrics_scraped_by_prometheus  after an alert is sent, GET /metrics: `promtool check
      metrics` finds nothing to say (exit 0, no output); the delivery is counted
      (escalator_deliveries_total{channel="email",result="sent"}), the outbox, the rule's
      clocks and stages are there, and no case reference is. Then a real Prometheus, started
      with the shipped etc/prometheus/escalator.yml (pointed at this port, scraping every
      second) and its alerting rules, scrapes it: its HTTP API returns
      escalator_last_pass_timestamp_seconds and escalator_outbox_pending, and every shipped
      alerting rule evaluates without error against the real series.
  test_shipped_prometheus_files      `promtool check config` and `promtool check rules` on
      etc/prometheus/ as shipped, and `promtool test rules`: each alert fires on the series it
      is about (an hour-old delivery, a day without a pass, an unreadable case store, a failed
      delivery) and not on a healthy service.
  test_healthz                       200 "ok" once the first pass has ended; with the case
      store renamed away, 503 and the reason after the next poll; 200 again once it is back.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import json

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402

PROM_DIR = os.path.join(hd.SRCDIR, "etc", "prometheus")
PROMTOOL = "/usr/bin/promtool"
PROMETHEUS = "/usr/bin/prometheus"
RULE = "cic-review"

RULES = """\
rules = ( {
  id = "%s";
  title = "Child in Care review";
  query = "SELECT case_ref, start, tm_email FROM cases ORDER BY case_ref";
  due = "10 days";
  working_days_only = false;
  stages = (
    { name = "reminder"; at = "-3 days"; notify = [ "tm" ]; },
    { name = "overdue"; at = "1 day"; notify = [ "tm" ]; }
  );
} );
""" % RULE


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse(page):
    """{series: value} of a text-format page (series as written: name{labels})."""
    out = {}
    for line in page.splitlines():
        if line and not line.startswith("#"):
            series, value = line.rsplit(" ", 1)
            out[series] = float(value)
    return out


def ago(days):
    return time.strftime("%Y-%m-%d", time.localtime(time.time() - days * 86400))


class TestMetrics(hd.DaemonCase):
    TMP_PREFIX = "escmetrics-"
    CASE_COLUMNS = ("case_ref", "start", "tm_email")

    def setUp(self):
        super().setUp()
        for tool in (PROMTOOL, PROMETHEUS):
            if not os.access(tool, os.X_OK):
                hd.skip_or_fail("%s is not installed (scripts/deps installs it)" % tool)
        self.port = free_port()

    def start(self):
        """The daemon, listening, with one overdue clock (O1) and one not yet due (N1)."""
        smtp = self.smtp_sink()
        self.write_config_text(self.TREE_CONFIG + """\
timezone = "Europe/London";
poll_interval = 1;
connect_timeout = 3;
delivery_timeout = 10;
allowed_domains = [ "council.example" ];
digest = "off";
listen = "127.0.0.1:%d";
smtp = { url = "smtp://127.0.0.1:%d"; from = "escalator@council.example";
  starttls = "opportunistic"; };
""" % (self.port, smtp.port))
        self.write_rules(RULES)
        self.make_case_store([("O1", ago(15), "tm@council.example"),
                              ("N1", ago(1), "tm@council.example")])
        d = self.start_daemon()
        d.wait_log(r"evaluated why=start", timeout=10)
        return d, smtp

    def get(self, path):
        """(status, body) of GET path on the listener."""
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (self.port, path),
                                        timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def metrics(self):
        status, page = self.get("/metrics")
        self.assertEqual(status, 200, page)
        return page

    def promtool(self, *args, stdin=None):
        p = subprocess.run([PROMTOOL] + list(args), input=stdin, capture_output=True,
                           timeout=30, cwd=self.tmp)
        return p.returncode, (p.stdout + p.stderr).decode()

    # -------------------------------------------------------------------------------------------
    def test_metrics_scraped_by_prometheus(self):
        d, smtp = self.start()
        smtp.wait_for(1, timeout=10)
        sent = 'escalator_deliveries_total{channel="email",result="sent"}'
        page = self.wait_for(lambda: (lambda p: p if parse(p).get(sent, 0) >= 1 else None)(
            self.metrics()), timeout=10, what="the sent delivery counted")
        rc, out = self.promtool("check", "metrics", stdin=page.encode())
        self.assertEqual((rc, out), (0, ""), "promtool check metrics:\n" + page)
        m = parse(page)
        self.assertGreaterEqual(m[sent], 1)
        self.assertEqual(m['escalator_outbox_pending{channel="email"}'], 0)
        self.assertIn('escalator_outbox_held{channel="email"}', m)
        self.assertEqual(m["escalator_outbox_oldest_pending_seconds"], 0)
        self.assertEqual(m["escalator_last_pass_success"], 1)
        self.assertGreater(m["escalator_last_pass_timestamp_seconds"], time.time() - 60)
        self.assertGreaterEqual(m['escalator_passes_total{result="ok"}'], 1)
        self.assertEqual(m['escalator_open_clocks{rule="%s"}' % RULE], 2)
        self.assertEqual(m['escalator_clocks_at_stage{rule="%s",stage="overdue"}' % RULE], 1)
        self.assertEqual(m['escalator_clocks_at_stage{rule="%s",stage="reminder"}' % RULE], 0)
        self.assertEqual(m['escalator_alerts_total{rule="%s",stage="overdue"}' % RULE], 1)
        self.assertIn('escalator_rule_query_seconds{rule="%s"}' % RULE, m)
        self.assertEqual(m['escalator_rule_failures_total{rule="%s"}' % RULE], 0)
        self.assertEqual(m["escalator_case_store_readable"], 1)
        self.assertLess(m["escalator_case_store_age_seconds"], 120)
        self.assertEqual(m['escalator_reloads_total{result="ok"}'], 0)
        self.assertEqual(m['escalator_responses_total{kind="agreed"}'], 0)
        self.assertEqual(m["escalator_deliveries_in_flight"], 0)
        self.assertRegex(page, r'escalator_build_info\{version="[0-9.]+"\} 1\n')
        for case in ("O1", "N1", "tm@council.example"):
            self.assertNotIn(case, page)

        # A reload is counted.
        d.signal(signal.SIGHUP)
        d.wait_log(r"reloaded rules=1", timeout=10)
        self.wait_for(lambda: parse(self.metrics()).get('escalator_reloads_total{result="ok"}')
                      == 1, timeout=5, what="the reload counted")

        # A real Prometheus with the shipped configuration and rules, scraping every second.
        prom = os.path.join(self.tmp, "prometheus")
        os.makedirs(prom)
        with open(os.path.join(PROM_DIR, "escalator.yml"), encoding="utf-8") as f:
            conf = f.read()
        conf = conf.replace("scrape_interval: 30s", "scrape_interval: 1s").replace(
            "evaluation_interval: 30s", "evaluation_interval: 1s").replace(
            '"127.0.0.1:8470"', '"127.0.0.1:%d"' % self.port)
        self.assertIn("127.0.0.1:%d" % self.port, conf)
        with open(os.path.join(prom, "escalator.yml"), "w", encoding="utf-8") as f:
            f.write(conf)
        shutil.copy(os.path.join(PROM_DIR, "escalator-rules.yml"), prom)
        web = free_port()
        log = open(os.path.join(prom, "log"), "wb")
        p = subprocess.Popen([PROMETHEUS, "--config.file=" + os.path.join(prom, "escalator.yml"),
                              "--storage.tsdb.path=" + os.path.join(prom, "data"),
                              "--web.listen-address=127.0.0.1:%d" % web],
                             stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

        def stop():
            p.kill()
            p.wait(10)
            log.close()
        self.addCleanup(stop)

        def api(path, **params):
            url = "http://127.0.0.1:%d/api/v1/%s?%s" % (web, path, urllib.parse.urlencode(params))
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    return json.load(r)["data"]
            except (OSError, ValueError):
                if p.poll() is not None:
                    with open(os.path.join(prom, "log"), encoding="utf-8",
                              errors="replace") as f:
                        self.fail("prometheus exited:\n" + f.read())
                return None

        def series(name):
            data = api("query", query=name)
            return data["result"] if data and data["result"] else None

        last = self.wait_for(lambda: series("escalator_last_pass_timestamp_seconds"),
                             timeout=15, what="Prometheus scraped escalator_last_pass_"
                             "timestamp_seconds", poll=0.25)
        self.assertEqual(last[0]["metric"]["job"], "escalator")
        self.assertAlmostEqual(float(last[0]["value"][1]),
                               m["escalator_last_pass_timestamp_seconds"], delta=30)
        pending = series("escalator_outbox_pending")
        self.assertEqual(sorted(s["metric"]["channel"] for s in pending),
                         ["email", "notify", "slack", "teams", "webhook"])
        self.assertEqual(series("up")[0]["value"][1], "1")

        # Every shipped alerting rule evaluated against the real series without an error.
        def evaluated():
            data = api("rules")
            rules = [r for g in (data or {}).get("groups", []) for r in g["rules"]]
            return rules if rules and all(r.get("lastEvaluation", "").startswith("2")
                                          and not r["lastEvaluation"].startswith("0001")
                                          for r in rules) else None

        rules = self.wait_for(evaluated, timeout=10, what="the alerting rules evaluated",
                              poll=0.25)
        self.assertEqual(len(rules), 8)
        for r in rules:
            self.assertEqual(r["health"], "ok", r)
            self.assertEqual(r["state"], "inactive", r)
        d.terminate()

    # -------------------------------------------------------------------------------------------
    def test_shipped_prometheus_files(self):
        # Copied: promtool check config reads the rule files beside the config.
        for name in ("escalator.yml", "escalator-rules.yml"):
            shutil.copy(os.path.join(PROM_DIR, name), self.tmp)
        rc, out = self.promtool("check", "config", "escalator.yml")
        self.assertEqual(rc, 0, out)
        self.assertIn("1 rule files found", out)
        rc, out = self.promtool("check", "rules", "escalator-rules.yml")
        self.assertEqual(rc, 0, out)
        # Each alert fires on what it is about, and a healthy service fires none.
        with open(os.path.join(self.tmp, "test.yml"), "w", encoding="utf-8") as f:
            f.write(RULE_TESTS)
        rc, out = self.promtool("test", "rules", "test.yml")
        self.assertEqual(rc, 0, out)
        self.assertIn("SUCCESS", out)

    # -------------------------------------------------------------------------------------------
    def test_healthz(self):
        d, _ = self.start()
        self.assertEqual(self.get("/healthz"), (200, "ok\n"))
        away = self.case_store + ".away"
        os.rename(self.case_store, away)
        t0 = time.monotonic()
        status, body = self.wait_for(lambda: (lambda r: r if r[0] != 200 else None)(
            self.get("/healthz")), timeout=5, what="/healthz to say the case store is missing",
            poll=0.1)
        self.assertLess(time.monotonic() - t0, 3.5, "not seen at the next poll")
        self.assertEqual(status, 503)
        self.assertRegex(body, r"^case store unreadable for \d+s: the file is missing\n?$")
        self.assertEqual(parse(self.metrics())["escalator_case_store_readable"], 0)
        self.assertNotRegex(self.metrics(), r"(?m)^escalator_case_store_age_seconds ")
        os.rename(away, self.case_store)
        self.wait_for(lambda: self.get("/healthz") == (200, "ok\n"), timeout=5,
                      what="/healthz ok again", poll=0.1)
        self.assertEqual(parse(self.metrics())["escalator_case_store_readable"], 1)
        d.terminate()


# promtool test rules: each alert on its own series, and a healthy service that fires none.
RULE_TESTS = """\
rule_files: [escalator-rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'up{job="escalator", instance="h:8470"}'
        values: '1x90'
      - series: 'escalator_outbox_oldest_pending_seconds{job="escalator", instance="h:8470"}'
        values: '0 3000+60x89'
      - series: 'escalator_last_pass_timestamp_seconds{job="escalator", instance="h:8470"}'
        values: '0+60x90'
      - series: 'escalator_case_store_readable{job="escalator", instance="h:8470"}'
        values: '1x30 0x60'
      - series: 'escalator_case_store_stale{job="escalator", instance="h:8470"}'
        values: '0x40 1x50'
      - series: 'escalator_case_store_age_seconds{job="escalator", instance="h:8470"}'
        values: '0+60x40 100000+60x50'
      - series: 'escalator_deliveries_total{job="escalator", instance="h:8470", channel="email", result="failed"}'
        values: '0x60 1x30'
      - series: 'escalator_last_pass_success{job="escalator", instance="h:8470"}'
        values: '1x90'
      - series: 'escalator_rule_failures_total{job="escalator", instance="h:8470", rule="cic"}'
        values: '0x90'
    alert_rule_test:
      - eval_time: 5m
        alertname: EscalatorOutboxStuck
      - eval_time: 30m
        alertname: EscalatorOutboxStuck
        exp_alerts:
          - exp_labels: {severity: warning, job: escalator, instance: "h:8470"}
            exp_annotations:
              summary: "escalator alerts have waited over an hour to be sent"
              description: "The oldest alert waiting in the outbox has waited 1h 19m 0s. Check the mail server and webhooks: journalctl -u escalatord | grep status=retry."
      - eval_time: 30m
        alertname: EscalatorCaseStoreUnreadable
      - eval_time: 50m
        alertname: EscalatorCaseStoreUnreadable
        exp_alerts:
          - exp_labels: {severity: critical, job: escalator, instance: "h:8470"}
            exp_annotations:
              summary: "escalator cannot read the case store"
              description: "Statutory timescales are not being watched until it can. Check the extract and the file's permissions; /healthz gives the reason. escalatord recovers by itself."
      - eval_time: 43m
        alertname: EscalatorCaseStoreStale
      - eval_time: 50m
        alertname: EscalatorCaseStoreStale
        exp_alerts:
          - exp_labels: {severity: warning, job: escalator, instance: "h:8470"}
            exp_annotations:
              summary: "escalator is working from old case data"
              description: "The case store's data is 1d 3h 55m 40s old, over max_store_age: reviews held since are not known and new children are not watched. Check the extract; escalatord status says more."
      - eval_time: 62m
        alertname: EscalatorDeliveriesFailing
        exp_alerts:
          - exp_labels: {severity: warning, instance: "h:8470", channel: email}
            exp_annotations:
              summary: "escalator email deliveries are failing"
              description: "1 email deliveries failed for good in the last hour. journalctl -u escalatord | grep status=failed says why."
      - eval_time: 50m
        alertname: EscalatorDeliveriesFailing
      - eval_time: 80m
        alertname: EscalatorNoPassForADay
      - eval_time: 80m
        alertname: EscalatorDown
      - eval_time: 80m
        alertname: EscalatorPassFailing
      - eval_time: 80m
        alertname: EscalatorRuleFailing
  # A service whose last pass is older than a day, down, failing its passes and a rule.
  - interval: 1m
    input_series:
      - series: 'up{job="escalator", instance="h:8470"}'
        values: '0x30'
      - series: 'escalator_last_pass_timestamp_seconds{job="escalator", instance="h:8470"}'
        values: '-90000x30'
      - series: 'escalator_last_pass_success{job="escalator", instance="h:8470"}'
        values: '0x30'
      - series: 'escalator_rule_failures_total{job="escalator", instance="h:8470", rule="cic"}'
        values: '0+1x30'
    alert_rule_test:
      - eval_time: 20m
        alertname: EscalatorNoPassForADay
        exp_alerts:
          - exp_labels: {severity: warning, job: escalator, instance: "h:8470"}
            exp_annotations:
              summary: "escalator has not evaluated the case store for a day"
              description: "The last evaluation ended 1d 1h 20m 0s ago. Check that the nightly extract still replaces the case store, and journalctl -u escalatord."
      - eval_time: 20m
        alertname: EscalatorDown
        exp_alerts:
          - exp_labels: {severity: critical, job: escalator, instance: "h:8470"}
            exp_annotations:
              summary: "escalatord is not answering on /metrics"
              description: "Prometheus has not reached h:8470 for 5 minutes: no alerts about late reviews are being worked out or sent. Check: systemctl status escalatord."
      - eval_time: 20m
        alertname: EscalatorPassFailing
        exp_alerts:
          - exp_labels: {severity: critical, job: escalator, instance: "h:8470"}
            exp_annotations:
              summary: "escalator cannot record its evaluations"
              description: "The state store failed the last evaluation for 15 minutes: check the disk and /var/lib/escalator, and journalctl -u escalatord."
      - eval_time: 20m
        alertname: EscalatorRuleFailing
        exp_alerts:
          - exp_labels: {severity: warning, job: escalator, instance: "h:8470", rule: cic}
            exp_annotations:
              summary: "escalator rule cic keeps failing"
              description: "Its query failed 20 times in the last hour, so its clocks are not evaluated. journalctl -u escalatord | grep rule=cic."
"""


if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__))
