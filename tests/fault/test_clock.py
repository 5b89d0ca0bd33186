#!/usr/bin/python3
"""Fault suite: the wall clock steps back and forward under a running escalatord.

    /usr/bin/python3 tests/fault/test_clock.py --escalatord build/escalatord [-v]
        [--libfaketime PATH]   default: the Debian package's libfaketime.so.1

Needs libfaketime (Debian package `libfaketime`; `faketime` is its command-line wrapper).  The
daemon runs with LD_PRELOAD=libfaketime.so.1, FAKETIME_TIMESTAMP_FILE pointing at a file this
test rewrites to step the clock (an offset in seconds from the real time), FAKETIME_NO_CACHE=1 so
every time() sees the file as it is now, and FAKETIME_DONT_FAKE_MONOTONIC=1: only the wall clock
steps, as with an NTP step or an operator's `date -s`; the monotonic clock behind the event loop's
timers runs on.

The fake days are fixed (Wednesday 2026-03-04 = D, in GMT) and the rule fires a stage at
send_time 08:00 on each clock's start date (calendar days), for clocks A (D-1), B (D), C (D+1)
and E (D+2).  The clock steps an hour and a day forward and back, to before everything and past
it again, and the daemon is restarted with a different fake time.  Every stage is alerted exactly
once, as soon as the clock has passed its firing time (within a few poll intervals), never
before, and never again after a step back.  A second test steps across the October change from
BST to GMT with send_time 01:30, a local time that happens twice that night.
"""

import calendar
import collections
import datetime
import glob
import os
import sys
import time
from zoneinfo import ZoneInfo

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as fl  # noqa: E402

LONDON = ZoneInfo("Europe/London")
D = datetime.date(2026, 3, 4)
QUIET = 4.0  # seconds of silence that show nothing is (re)sent after a step
PROMPT = 6.0  # seconds within which an alert owed after a step must arrive (poll_interval 1)
RESULTS = []


def libfaketime():
    given = fl.option("libfaketime")
    if given:
        return given
    for pattern in ("/usr/lib/*/faketime/libfaketime.so.1", "/usr/lib/faketime/libfaketime.so.1",
                    "/usr/local/lib/faketime/libfaketime.so.1"):
        found = sorted(glob.glob(pattern))
        if found:
            return found[0]
    return None


def epoch(local):
    """Unix time of a naive local (Europe/London) datetime; fold=1 for the second 01:30."""
    return local.replace(tzinfo=LONDON).timestamp()


class FakeClock:
    """The FAKETIME_TIMESTAMP_FILE: fake time = real time + offset."""

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def set(self, target_epoch):
        self.offset = int(round(target_epoch - time.time()))
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%+d\n" % self.offset)
        os.rename(tmp, self.path)

    def step(self, seconds):
        self.offset += int(seconds)
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            f.write("%+d\n" % self.offset)
        os.rename(tmp, self.path)

    def now(self):
        return time.time() + self.offset

    def local(self):
        return datetime.datetime.fromtimestamp(self.now(), LONDON).strftime("%Y-%m-%d %H:%M:%S %Z")

    def env(self, base):
        lib = libfaketime()
        env = dict(base)
        env.update(LD_PRELOAD=lib, FAKETIME_TIMESTAMP_FILE=self.path, FAKETIME_NO_CACHE="1",
                   FAKETIME_DONT_FAKE_MONOTONIC="1", FAKETIME_DONT_RESET="1")
        env.pop("FAKETIME", None)
        # an AddressSanitizer build insists on coming first in the library list
        env["ASAN_OPTIONS"] = ":".join(x for x in (base.get("ASAN_OPTIONS"),
                                                   "verify_asan_link_order=0") if x)
        return env


class ClockSteps(fl.FaultCase):

    @classmethod
    def setUpClass(cls):
        lib = libfaketime()
        if lib is None or not os.path.exists(lib):
            raise AssertionError("libfaketime.so.1 not found: install the Debian package "
                                 "libfaketime (scripts/deps) or pass --libfaketime PATH")

    def setUp(self):
        super().setUp()
        self.clock = FakeClock(os.path.join(self.tmp, "faketime.rc"))
        self.sink = self.http_sink()
        self.timeline = []

    def alerts(self):
        return collections.Counter(r.json()["case"] for r in self.sink.requests)

    def note(self, what):
        self.timeline.append("%s  %s  webhooks=%s" % (self.clock.local(), what,
                                                     dict(sorted(self.alerts().items()))))

    def expect(self, d, want, what, within=PROMPT, quiet=QUIET):
        """After a step: exactly `want` ({case: count}) has arrived, and nothing more."""
        ok = self.sink.wait_until(lambda s: self.alerts() == collections.Counter(want) or
                                  any(self.alerts()[c] > want.get(c, 0) for c in self.alerts()),
                                  timeout=within)
        time.sleep(quiet)
        self.note(what)
        got = self.alerts()
        self.assertTrue(d.alive(), "escalatord died; log:\n%s" % fl.tail(d.log()))
        self.assertEqual(dict(got), want, "%s (fake time now %s): webhooks per case differ; "
                         "timeline:\n%s\nlog:\n%s" % (what, self.clock.local(),
                                                      "\n".join(self.timeline),
                                                      fl.tail(d.log(), 30)))
        del ok

    def check_fire_times(self):
        """No alert went out before its firing time (fake time of the webhook's timestamp)."""
        for r in self.sink.requests:
            j = r.json()
            fires = datetime.datetime.fromisoformat(j["fires"])
            ts = int(r.headers["X-Escalator-Timestamp"])  # the daemon's (fake) clock
            self.assertGreaterEqual(ts, epoch(fires) - 1,
                                    "case %s sent at %s, before it fires at %s"
                                    % (j["case"], datetime.datetime.fromtimestamp(ts, LONDON),
                                       j["fires"]))

    def test_steps_hour_and_day(self):
        day = datetime.timedelta(days=1)
        rows = [("A", D - day), ("B", D), ("C", D + day), ("E", D + 2 * day)]
        self.write_config({"hook": self.sink.url_for("/hook")}, poll_interval=1,
                          send_time="08:00", retry_min=1, retry_max=2, shutdown_timeout=2)
        self.write_rules(fl.rule_text(notify=("hook",)))
        self.make_case_store(rows)
        at = lambda d, hh, mm=0: epoch(datetime.datetime.combine(d, datetime.time(hh, mm)))  # noqa
        self.clock.set(at(D, 7, 30))
        env = self.clock.env(self.env)
        d = self.start_daemon(env=env)
        steps = 0
        self.expect(d, {"A": 1}, "start at D 07:30: A (D-1 08:00) owed")
        self.clock.step(3600)
        steps += 1
        self.expect(d, {"A": 1, "B": 1}, "+1 hour to D 08:30: B fires")
        self.clock.step(-3600)
        steps += 1
        self.expect(d, {"A": 1, "B": 1}, "-1 hour back to D 07:30: nothing")
        self.clock.step(3600)
        steps += 1
        self.expect(d, {"A": 1, "B": 1}, "+1 hour to D 08:30 again: B not again")
        self.clock.step(86400)
        steps += 1
        self.expect(d, {"A": 1, "B": 1, "C": 1}, "+1 day to D+1 08:30: C fires")
        self.clock.step(-86400)
        steps += 1
        self.expect(d, {"A": 1, "B": 1, "C": 1}, "-1 day to D 08:30: nothing")
        self.clock.set(at(D - 2 * day, 7, 0))
        steps += 1
        self.expect(d, {"A": 1, "B": 1, "C": 1}, "back to D-2 07:00: nothing")
        self.clock.set(at(D + day, 9, 0))
        steps += 1
        self.expect(d, {"A": 1, "B": 1, "C": 1}, "forward to D+1 09:00: nothing again")
        # just before E fires: a step to 07:59:57 on D+2, then the clock runs past 08:00
        self.clock.set(at(D + 2 * day, 7, 59) + 57)
        steps += 1
        self.expect(d, {"A": 1, "B": 1, "C": 1, "E": 1},
                    "to D+2 07:59:57 and on past 08:00: E fires", within=PROMPT + 3)
        d.terminate()

        # restarts with a different fake time
        self.clock.set(at(D - day, 12, 0))
        d = self.start_daemon(env=self.clock.env(self.env))
        d.wait_log(r"starting rules=1")
        self.expect(d, {"A": 1, "B": 1, "C": 1, "E": 1}, "restart at D-1 12:00: nothing")
        d.terminate()
        self.clock.set(at(D + 30 * day, 8, 30))
        d = self.start_daemon(env=self.clock.env(self.env))
        d.wait_log(r"starting rules=1")
        self.expect(d, {"A": 1, "B": 1, "C": 1, "E": 1}, "restart at D+30 08:30: nothing")
        d.terminate()

        self.check_fire_times()
        alerts = self.state_query("SELECT case_ref, count(*) FROM alert GROUP BY case_ref")
        self.assertEqual(sorted(alerts), [("A", 1), ("B", 1), ("C", 1), ("E", 1)])
        print("\n" + "\n".join(self.timeline), file=sys.stderr)
        RESULTS.append(dict(fault="wall clock steps +-1 hour, +-1 day, to D-2, to D+1, and "
                            "two restarts at other fake times", steps=steps, restarts=2,
                            stages=4, alerted_once=4, lost=0, duplicates=0))

    def dst_setup(self, day, send_time="01:30"):
        self.write_config({"hook": self.sink.url_for("/hook")}, poll_interval=1,
                          send_time=send_time, retry_min=1, retry_max=2, shutdown_timeout=2)
        self.write_rules(fl.rule_text(notify=("hook",)))
        self.make_case_store([("F", day)])

    def test_dst_autumn_repeated_hour_alerted_once(self):
        """2026-10-25: 01:00-02:00 happens twice (BST, then GMT); send_time 01:30: one alert."""
        self.dst_setup(datetime.date(2026, 10, 25))
        first = epoch(datetime.datetime(2026, 10, 25, 1, 29, 57, fold=0))   # 00:29:57Z, BST
        second = epoch(datetime.datetime(2026, 10, 25, 1, 29, 57, fold=1))  # 01:29:57Z, GMT
        self.assertEqual(second - first, 3600)
        self.clock.set(first)
        d = self.start_daemon(env=self.clock.env(self.env))
        self.sink.wait_until(lambda s: len(s.requests) >= 1, timeout=PROMPT + 3)
        time.sleep(QUIET)
        self.note("first 01:29:57 (BST) and on past 01:30 BST")
        fired_first = self.alerts()["F"]
        self.clock.set(second)
        self.expect(d, {"F": 1}, "second 01:29:57 (GMT) and on past 01:30 GMT: F once in all",
                    within=PROMPT + 3)
        d.terminate()
        self.check_fire_times()
        print("\n" + "\n".join(self.timeline), file=sys.stderr)
        RESULTS.append(dict(fault="the repeated hour at the end of BST (send_time 01:30)",
                            steps=2, stages=1, alerted_once=1, lost=0, duplicates=0,
                            fired_at="first 01:30 (BST)" if fired_first else
                            "second 01:30 (GMT), an hour late"))

    def on_time_or_late(self, start_epoch, what, late_epoch, late_what):
        """Start at start_epoch; the alert must come within PROMPT + 3 s.  If it does not, step
        to late_epoch to show when it does come (evidence for the failure message)."""
        self.clock.set(start_epoch)
        d = self.start_daemon(env=self.clock.env(self.env))
        self.sink.wait_until(lambda s: len(s.requests) >= 1, timeout=PROMPT + 3)
        self.note(what)
        on_time = self.alerts()["F"]
        late = None
        if not on_time:
            self.clock.set(late_epoch)
            self.sink.wait_until(lambda s: len(s.requests) >= 1, timeout=PROMPT + 3)
            self.note(late_what)
            if self.alerts()["F"]:
                late = datetime.datetime.fromtimestamp(
                    int(self.sink.requests[0].headers["X-Escalator-Timestamp"]), LONDON)
        d.terminate()
        self.assertEqual(on_time, 1, "%s: no alert; it came only at %s\n%s"
                         % (what, late.strftime("%H:%M:%S %Z") if late else "(not at all)",
                            "\n".join(self.timeline)))

    def test_dst_autumn_fires_at_first_0130(self):
        """send_time 01:30 on 2026-10-25 is reached at 01:30 BST; it must not wait for GMT.

        daemon/clock.c clock_instant takes the first of a repeated local time (01:30 BST), so
        the alert goes out then, not an hour later.  (Fixed in 0a93c98: mktime with
        tm_isdst = -1 picked the second, GMT, 01:30 and the alert went out an hour late.)
        """
        self.dst_setup(datetime.date(2026, 10, 25))
        self.on_time_or_late(epoch(datetime.datetime(2026, 10, 25, 1, 29, 57, fold=0)),
                             "first 01:29:57 (BST) and on past 01:30 BST",
                             epoch(datetime.datetime(2026, 10, 25, 1, 29, 57, fold=1)),
                             "second 01:29:57 (GMT) and on past 01:30 GMT")

    def test_dst_spring_fires_when_0130_is_skipped(self):
        """send_time 01:30 on 2026-03-29 does not exist (01:00 GMT -> 02:00 BST).

        The stage is reached the moment the local clock jumps to 02:00 BST, and the alert goes
        out then: daemon/clock.c clock_instant gives a time in the gap the first instant at or
        after it.  (Fixed in 0a93c98: mktime turned the missing 01:30 into 01:30Z, 02:30 BST,
        and the daemon waited until then.)
        """
        self.dst_setup(datetime.date(2026, 3, 29))
        self.on_time_or_late(calendar.timegm((2026, 3, 29, 0, 59, 57, 0, 0, 0)),
                             "00:59:57 GMT and on past 02:00 BST",
                             calendar.timegm((2026, 3, 29, 1, 29, 57, 0, 0, 0)),
                             "02:29:57 BST and on past 02:30 BST")

    @classmethod
    def tearDownClass(cls):
        for r in RESULTS:
            fl.report("clock", **r)


def add_options(p):
    p.add_argument("--libfaketime")


if __name__ == "__main__":
    sys.exit(fl.run_main(add_options, __doc__))
