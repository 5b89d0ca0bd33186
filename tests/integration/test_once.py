#!/usr/bin/python3
"""Integration test of escalatord's command-line contract: --check and --once.

Run:  /usr/bin/python3 test_once.py --escalatord /path/to/escalatord [unittest options]

Standard library only. Every test builds its own temporary directory:

    <tmp>/etc/escalatord.conf           main configuration (libconfig)
    <tmp>/etc/rules/*.conf              rule files (plus files that must NOT be loaded)
    <tmp>/etc/holidays/*.txt            England & Wales bank holidays 2026 and 2027
    <tmp>/data/cases.sqlite             the case store  (config: "../data/cases.sqlite")
    <tmp>/var/escalator-state.sqlite    the state store (config: "../var/escalator-state.sqlite")
    <tmp>/run/                          the daemon's working directory (so relative paths
                                        must be resolved against the config file's directory)

Every expected date below is counted by hand from a calendar; the counting is in the comments.
England & Wales bank holidays used:
    2026: 01-01 04-03 04-06 05-04 05-25 08-31 12-25 12-28
    2027: 01-01 03-26 03-29 05-03 05-31 08-30 12-27 12-28
Weekdays needed (2026-27 calendar):
    2026-11-02 Mon   2026-11-27 Fri   2026-11-28 Sat   2026-11-30 Mon   2026-12-18 Fri
    2026-12-25 Fri*  2026-12-28 Mon*  2027-01-01 Fri*  2027-01-04 Mon   2027-01-10 Sun
    2027-01-16 Sat   2027-01-21 Thu   2027-02-28 Sun   2027-03-28 Sun   2027-03-29 Mon*
    2026-01-24 Sat   2026-07-23 Thu   (* = bank holiday)
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from harness import daemon as hd  # noqa: E402


IRO = "iro-service@council.example"            # contact "iro"
SM = "service.manager@council.example"         # contact "service_manager"
# contact "head_of_service" (webhook): recorded and printed by name, its URL carries a token
HOS = "head_of_service"
TM_NORTH = "tm.north@council.example"
TM_SOUTH = "tm.south@council.example"
TM_WEST = "tm.west@council.example"
TM_EAST = "tm.east@council.example"

# --------------------------------------------------------------------------------------------
# Fixture files
# --------------------------------------------------------------------------------------------

HOLIDAYS_2026 = """\
# England and Wales bank holidays 2026 (gov.uk)

2026-01-01
2026-04-03
2026-04-06
2026-05-04
2026-05-25
2026-08-31
# Christmas Day, then the substitute day for Boxing Day (a Saturday)
2026-12-25
2026-12-28
"""

HOLIDAYS_2027 = """\
# England and Wales bank holidays 2027 (gov.uk)
2027-01-01
2027-03-26
2027-03-29
2027-05-03
2027-05-31
2027-08-30

2027-12-27
2027-12-28
"""

CONFIG = """\
# escalatord main configuration (integration test fixture)
case_store = "../data/cases.sqlite";
state = "../var/escalator-state.sqlite";
rules = "rules";
holidays = [ "holidays/england-and-wales-2026.txt", "holidays/england-and-wales-2027.txt" ];
contacts = {
  iro = { email = "iro-service@council.example"; };
  service_manager = { email = "service.manager@council.example"; };
  head_of_service = { webhook = "https://hooks.council.example/escalations/hos"; };
};
"""
# timezone, send_time and poll_interval are left at their defaults here
# ("Europe/London", "08:00", 60); test 5 sets them.

# Loaded first (name order): so the output starts with practice-alert even though its id
# sorts after the cic-* ids.
RULES_PRACTICE = """\
# Practice resolution: team manager must respond to a stage 1 alert within 5 working days.
rules = (
  {
    id = "practice-alert";
    title = "Practice alert \\"stage 1\\": team manager response";
    query = "SELECT alert_ref AS case_ref, raised_on AS start, iro_email, team_manager_email FROM practice_alerts WHERE status = 'open' ORDER BY raised_on, alert_ref";
    due = "5 working days";
    working_days_only = false;
    stages = (
      { name = "chase"; at = "-1 day"; notify = [ "team_manager" ]; },
      { name = "escalate"; at = "2 days"; notify = [ "iro", "service_manager" ]; }
    );
  }
);
"""
PRACTICE_TITLE = 'Practice alert "stage 1": team manager response'

# Two rules in one file, loaded second.
RULES_CIC = """\
# Child in Care reviews (CPPCR Regulations 2010, reg 33).
rules = (
  {
    id = "cic-first-review";
    title = "First Child in Care review";
    query = "SELECT case_ref, became_looked_after AS start, team_manager_email FROM looked_after ORDER BY case_ref";
    due = "20 working days";
    stages = (
      { name = "reminder"; at = "-5 working days"; notify = [ "iro" ]; },
      { name = "overdue"; at = "1 working day"; notify = [ "team_manager", "iro" ]; },
      { name = "escalated"; at = "10 working days"; notify = [ "service_manager", "team_manager" ]; }
    );
  },
  {
    id = "cic-later-review";
    title = "Later Child in Care review";
    query = "SELECT case_ref, last_review AS start FROM reviews ORDER BY case_ref";
    due = "6 months";
    stages = (
      { name = "reminder"; at = "-2 weeks"; notify = [ "iro" ]; },
      { name = "review-due"; at = "0 days"; notify = [ "iro", "service_manager" ]; },
      { name = "overdue"; at = "1 month"; notify = [ "service_manager", "head_of_service" ]; }
    );
  }
);
"""
FIRST_TITLE = "First Child in Care review"
LATER_TITLE = "Later Child in Care review"

# Files in the rules directory that are not *.conf: must be ignored (they would not parse).
NOT_RULES = {
    "README.txt": "This is not a rule file { ( ;\n",
    "90-draft.conf.disabled": "rules = ( { id = \"broken\" \n",
}

CASES_SQL = """
CREATE TABLE looked_after (case_ref TEXT PRIMARY KEY, became_looked_after TEXT,
                           team_manager_email TEXT);
INSERT INTO looked_after VALUES
  ('A01', '2026-12-18', 'tm.north@council.example'),
  ('A02', '2026-11-28', 'tm.south@council.example'),
  ('A03', '2026-12-28', 'tm.north@council.example'),
  ('A04', '2026-11-02T14:30:00', 'tm.west@council.example'),
  ('A05', '2026-11-02 09:00', NULL),
  ('A06', '2026-10-30', 'service.manager@council.example'),
  ('A07', '2027-01-11', 'tm.south@council.example'),
  ('A08', NULL, 'tm.north@council.example'),
  ('A09', '', 'tm.north@council.example'),
  ('A10', '2024-02-30', 'tm.north@council.example'),
  ('A11', '31/01/2024', 'tm.north@council.example');

CREATE TABLE reviews (case_ref TEXT PRIMARY KEY, last_review TEXT);
INSERT INTO reviews VALUES
  ('B01', '2026-05-31'),
  ('B02', '2026-06-25'),
  ('B03', '2026-08-31'),
  ('B04', '2026-07-10');

CREATE TABLE practice_alerts (alert_ref TEXT PRIMARY KEY, raised_on TEXT, iro_email TEXT,
                              team_manager_email TEXT, status TEXT);
INSERT INTO practice_alerts VALUES
  ('P-050', '2026-12-01', 'iro.patel@council.example', 'tm.east@council.example', 'closed'),
  ('P-100', '2027-01-07', 'iro.jones@council.example', 'tm.east@council.example', 'open'),
  ('P-200', '2026-12-23', 'iro.patel@council.example', 'tm.east@council.example', 'open'),
  ('P-300', '2027-01-06', '', 'tm.west@council.example', 'open');
"""


def alert(rule, title, case, stage, due, fires, recipients):
    return {"rule": rule, "title": title, "case": case, "stage": stage, "due": due,
            "fires": fires, "recipients": recipients}


def pa(case, stage, due, fires, recipients):
    return alert("practice-alert", PRACTICE_TITLE, case, stage, due, fires, recipients)


def first(case, stage, due, fires, recipients):
    return alert("cic-first-review", FIRST_TITLE, case, stage, due, fires, recipients)


def later(case, stage, due, fires, recipients):
    return alert("cic-later-review", LATER_TITLE, case, stage, due, fires, recipients)


# --------------------------------------------------------------------------------------------
# Hand computation of every clock in CASES_SQL (send_time 08:00, Europe/London).
#
# practice-alert: due = start + 5 working days; chase = due - 1 day; escalate = due + 2 days;
# working_days_only = false, so a stage fires on its calendar date even at a weekend.
#   P-200 start Wed 2026-12-23: Thu 24 (1), [Fri 25 hol, Sat 26, Sun 27, Mon 28 hol],
#         Tue 29 (2), Wed 30 (3), Thu 31 (4), [Fri 2027-01-01 hol, Sat 2, Sun 3], Mon 01-04 (5)
#         -> due 2027-01-04; chase Sun 2027-01-03; escalate Wed 2027-01-06.
#         recipients of escalate: row iro_email (the column wins over contact "iro"), then SM.
#   P-300 start Wed 2027-01-06: Thu 7 (1), Fri 8 (2), Mon 11 (3), Tue 12 (4), Wed 13 (5)
#         -> due 2027-01-13; chase Tue 2027-01-12; escalate Fri 2027-01-15.
#         iro_email is '' -> dropped with a warning; recipients [SM].
#   P-100 start Thu 2027-01-07: Fri 8 (1), Mon 11 (2), Tue 12 (3), Wed 13 (4), Thu 14 (5)
#         -> due 2027-01-14; chase Wed 2027-01-13; escalate SATURDAY 2027-01-16, fires that
#         Saturday at 08:00 because working_days_only = false.
#   P-050 is closed: not returned by the query.
#   Row order (ORDER BY raised_on): P-200, P-300, P-100.
#
# cic-first-review: due = start + 20 working days; reminder = due - 5 wd; overdue = due + 1 wd;
# escalated = due + 10 wd.
#   A01 start Fri 2026-12-18: Mon 21 (1), Tue 22 (2), Wed 23 (3), Thu 24 (4),
#         [Fri 25 hol, Sat, Sun, Mon 28 hol], Tue 29 (5), Wed 30 (6), Thu 31 (7),
#         [Fri 01-01 hol, Sat, Sun], Mon 01-04 (8), Tue 5 (9), Wed 6 (10), Thu 7 (11),
#         Fri 8 (12), Mon 11 (13), Tue 12 (14), Wed 13 (15), Thu 14 (16), Fri 15 (17),
#         Mon 18 (18), Tue 19 (19), Wed 20 (20) -> due 2027-01-20.
#         reminder: Tue 19 (1), Mon 18 (2), Fri 15 (3), Thu 14 (4), Wed 13 (5) -> 2027-01-13.
#         overdue: Thu 2027-01-21.
#         escalated: Thu 21 (1), Fri 22 (2), Mon 25 (3), Tue 26 (4), Wed 27 (5), Thu 28 (6),
#         Fri 29 (7), Mon 02-01 (8), Tue 2 (9), Wed 3 (10) -> 2027-02-03.
#   A02 start SATURDAY 2026-11-28: Mon 11-30 (1), Tue 12-01 (2), Wed 2 (3), Thu 3 (4),
#         Fri 4 (5), Mon 7 (6), Tue 8 (7), Wed 9 (8), Thu 10 (9), Fri 11 (10), Mon 14 (11),
#         Tue 15 (12), Wed 16 (13), Thu 17 (14), Fri 18 (15), Mon 21 (16), Tue 22 (17),
#         Wed 23 (18), Thu 24 (19), [Fri 25 hol, Sat, Sun, Mon 28 hol], Tue 29 (20)
#         -> due 2026-12-29.
#         reminder: Thu 24 (1), Wed 23 (2), Tue 22 (3), Mon 21 (4), Fri 18 (5) -> 2026-12-18.
#         overdue: Wed 2026-12-30.
#         escalated: Wed 30 (1), Thu 31 (2), [Fri 01-01 hol, Sat, Sun], Mon 4 (3), Tue 5 (4),
#         Wed 6 (5), Thu 7 (6), Fri 8 (7), Mon 11 (8), Tue 12 (9), Wed 13 (10) -> 2027-01-13.
#   A03 start BANK HOLIDAY Mon 2026-12-28: Tue 29 (1), Wed 30 (2), Thu 31 (3),
#         [Fri 01-01 hol, Sat, Sun], Mon 4 (4), Tue 5 (5), Wed 6 (6), Thu 7 (7), Fri 8 (8),
#         Mon 11 (9), Tue 12 (10), Wed 13 (11), Thu 14 (12), Fri 15 (13), Mon 18 (14),
#         Tue 19 (15), Wed 20 (16), Thu 21 (17), Fri 22 (18), Mon 25 (19), Tue 26 (20)
#         -> due 2027-01-26.
#         reminder: Mon 25 (1), Fri 22 (2), Thu 21 (3), Wed 20 (4), Tue 19 (5) -> 2027-01-19.
#         overdue: Wed 2027-01-27.
#         escalated: Wed 27 (1), Thu 28 (2), Fri 29 (3), Mon 02-01 (4), Tue 2 (5), Wed 3 (6),
#         Thu 4 (7), Fri 5 (8), Mon 8 (9), Tue 9 (10) -> 2027-02-09.
#   A04 start '2026-11-02T14:30:00' (Mon 2026-11-02; the time is ignored):
#         Tue 3 (1), Wed 4 (2), Thu 5 (3), Fri 6 (4), Mon 9 (5), Tue 10 (6), Wed 11 (7),
#         Thu 12 (8), Fri 13 (9), Mon 16 (10), Tue 17 (11), Wed 18 (12), Thu 19 (13),
#         Fri 20 (14), Mon 23 (15), Tue 24 (16), Wed 25 (17), Thu 26 (18), Fri 27 (19),
#         Mon 30 (20) -> due 2026-11-30.
#         reminder: Fri 27 (1), Thu 26 (2), Wed 25 (3), Tue 24 (4), Mon 23 (5) -> 2026-11-23.
#         overdue: Tue 2026-12-01.
#         escalated: Tue 12-01 (1), Wed 2 (2), Thu 3 (3), Fri 4 (4), Mon 7 (5), Tue 8 (6),
#         Wed 9 (7), Thu 10 (8), Fri 11 (9), Mon 14 (10) -> 2026-12-14.
#   A05 start '2026-11-02 09:00': same dates as A04. team_manager_email NULL -> dropped with a
#         warning; escalated recipients [SM].
#   A06 start Fri 2026-10-30: Mon 11-02 (1), Tue 3 (2), Wed 4 (3), Thu 5 (4), Fri 6 (5),
#         Mon 9 (6), Tue 10 (7), Wed 11 (8), Thu 12 (9), Fri 13 (10), Mon 16 (11), Tue 17 (12),
#         Wed 18 (13), Thu 19 (14), Fri 20 (15), Mon 23 (16), Tue 24 (17), Wed 25 (18),
#         Thu 26 (19), Fri 27 (20) -> due 2026-11-27.
#         escalated: Mon 30 (1), Tue 12-01 (2), Wed 2 (3), Thu 3 (4), Fri 4 (5), Mon 7 (6),
#         Tue 8 (7), Wed 9 (8), Thu 10 (9), Fri 11 (10) -> 2026-12-11.
#         team_manager_email == SM's address -> recipients deduplicated to [SM].
#   A07 start Mon 2027-01-11: Tue 12 (1), Wed 13 (2), Thu 14 (3), Fri 15 (4), Mon 18 (5),
#         Tue 19 (6), Wed 20 (7), Thu 21 (8), Fri 22 (9), Mon 25 (10), Tue 26 (11), Wed 27 (12),
#         Thu 28 (13), Fri 29 (14), Mon 02-01 (15), Tue 2 (16), Wed 3 (17), Thu 4 (18),
#         Fri 5 (19), Mon 8 (20) -> due 2027-02-08.
#         reminder: Fri 5 (1), Thu 4 (2), Wed 3 (3), Tue 2 (4), Mon 1 (5) -> 2027-02-01.
#         overdue: Tue 2027-02-09.
#         escalated: Tue 9 (1), Wed 10 (2), Thu 11 (3), Fri 12 (4), Mon 15 (5), Tue 16 (6),
#         Wed 17 (7), Thu 18 (8), Fri 19 (9), Mon 22 (10) -> 2027-02-22.
#   A08 NULL, A09 '', A10 '2024-02-30', A11 '31/01/2024': skipped, one warning each.
#
# cic-later-review: due = start + 6 months (clamped); reminder = due - 2 weeks (14 days);
# review-due = due + 0 days; overdue = due + 1 month. A stage date that is not a working day
# fires at 08:00 on the next working day.
#   B01 start 2026-05-31 -> 2026-11-31 does not exist -> due Mon 2026-11-30.
#         reminder Mon 2026-11-16; review-due Mon 2026-11-30;
#         overdue = 2026-11-30 + 1 month = Wed 2026-12-30 (NOT start + 7 months = 2026-12-31).
#   B02 start 2026-06-25 -> due Fri 2026-12-25 (Christmas Day).
#         reminder Fri 2026-12-11; review-due 2026-12-25 is a holiday -> [Sat 26, Sun 27,
#         Mon 28 hol] -> fires Tue 2026-12-29; overdue Mon 2027-01-25.
#   B03 start BANK HOLIDAY Mon 2026-08-31 -> 2027-02-31 does not exist -> due Sun 2027-02-28.
#         reminder Sun 2027-02-14 -> fires Mon 2027-02-15; review-due Sun 2027-02-28 -> fires
#         Mon 2027-03-01; overdue = 2027-02-28 + 1 month = Sun 2027-03-28 -> [Mon 29 Easter
#         Monday hol] -> fires Tue 2027-03-30.
#   B04 start Fri 2026-07-10 -> due Sun 2027-01-10.
#         reminder Sun 2026-12-27 -> [Mon 28 hol] -> fires Tue 2026-12-29;
#         review-due Sun 2027-01-10 -> fires Mon 2027-01-11; overdue Wed 2027-02-10.
# --------------------------------------------------------------------------------------------

NOW_1 = "2027-01-21T08:00:00"  # Thursday; A01's overdue fires exactly now (inclusive)

# Alerts owed at NOW_1 with an empty state: the latest stage reached by each clock.
EXPECTED_NOW_1 = [
    # practice-alert, rows in ORDER BY raised_on order
    pa("P-200", "escalate", "2027-01-04", "2027-01-06T08:00:00",
       ["iro.patel@council.example", SM]),
    pa("P-300", "escalate", "2027-01-13", "2027-01-15T08:00:00", [SM]),
    pa("P-100", "escalate", "2027-01-14", "2027-01-16T08:00:00",  # a Saturday
       ["iro.jones@council.example", SM]),
    # cic-first-review
    first("A01", "overdue", "2027-01-20", "2027-01-21T08:00:00", [TM_NORTH, IRO]),
    first("A02", "escalated", "2026-12-29", "2027-01-13T08:00:00", [SM, TM_SOUTH]),
    first("A03", "reminder", "2027-01-26", "2027-01-19T08:00:00", [IRO]),
    first("A04", "escalated", "2026-11-30", "2026-12-14T08:00:00", [SM, TM_WEST]),
    first("A05", "escalated", "2026-11-30", "2026-12-14T08:00:00", [SM]),
    first("A06", "escalated", "2026-11-27", "2026-12-11T08:00:00", [SM]),
    # A07: first stage (reminder) only on 2027-02-01 -> nothing yet
    # cic-later-review
    later("B01", "overdue", "2026-11-30", "2026-12-30T08:00:00", [SM, HOS]),
    later("B02", "review-due", "2026-12-25", "2026-12-29T08:00:00", [IRO, SM]),
    # B03: first stage fires 2027-02-15 -> nothing yet
    later("B04", "review-due", "2027-01-10", "2027-01-11T08:00:00", [IRO, SM]),
]

# One minute earlier, A01's overdue (fires 2027-01-21T08:00) is not reached yet: A01 is at
# its reminder (2027-01-13). Nothing else fires on 2027-01-21.
NOW_0759 = "2027-01-21T07:59:00"
EXPECTED_NOW_0759 = [
    x if x["case"] != "A01" else
    first("A01", "reminder", "2027-01-20", "2027-01-13T08:00:00", [IRO])
    for x in EXPECTED_NOW_1
]

# Later run, state holding everything of EXPECTED_NOW_1.
NOW_2 = "2027-02-09T08:00:00"  # Tuesday
EXPECTED_NOW_2 = [
    # practice-alert: every open alert is already at its last stage (escalate) -> nothing.
    # A01: reminder 01-13 (skipped), overdue 01-21 (alerted), escalated 02-03 -> new.
    first("A01", "escalated", "2027-01-20", "2027-02-03T08:00:00", [SM, TM_NORTH]),
    # A02, A04, A05, A06: already alerted at their last stage.
    # A03: reminder alerted; overdue 01-27 passed unalerted -> skipped; escalated 02-09 08:00
    #      is exactly now -> only escalated.
    first("A03", "escalated", "2027-01-26", "2027-02-09T08:00:00", [SM, TM_NORTH]),
    # A07: reminder 02-01 never alerted -> skipped; overdue 02-09 08:00 exactly now.
    first("A07", "overdue", "2027-02-08", "2027-02-09T08:00:00", [TM_SOUTH, IRO]),
    # B01 already at its last stage. B02: overdue Mon 2027-01-25 -> new.
    later("B02", "overdue", "2026-12-25", "2027-01-25T08:00:00", [SM, HOS]),
    # B03: reminder fires 2027-02-15 -> nothing. B04: overdue 2027-02-10 -> not yet.
]

NOW_3 = "2027-03-31T08:00:00"  # Wednesday
EXPECTED_NOW_3 = [
    # A07: escalated Mon 2027-02-22 -> new (A03's skipped overdue is never printed).
    first("A07", "escalated", "2027-02-08", "2027-02-22T08:00:00", [SM, TM_SOUTH]),
    # B03: reminder (fires 02-15) and review-due (fires 03-01) never alerted -> skipped;
    #      overdue 2027-03-28 (Sun) -> Mon 29 Easter Monday -> fires Tue 2027-03-30.
    later("B03", "overdue", "2027-02-28", "2027-03-30T08:00:00", [SM, HOS]),
    # B04: overdue Wed 2027-02-10 -> new.
    later("B04", "overdue", "2027-01-10", "2027-02-10T08:00:00", [SM, HOS]),
]

NOW_4 = "2027-06-30T08:00:00"  # every clock is past its last stage: nothing new

# --------------------------------------------------------------------------------------------
# Test 5: send_time "09:30", timezone "Europe/London".
# cp-icpc: due = start + 15 working days; reminder = due - 3 wd; overdue = due + 1 day.
#   S1 start Wed 2026-07-01: Thu 2 (1), Fri 3 (2), Mon 6 (3), Tue 7 (4), Wed 8 (5), Thu 9 (6),
#      Fri 10 (7), Mon 13 (8), Tue 14 (9), Wed 15 (10), Thu 16 (11), Fri 17 (12), Mon 20 (13),
#      Tue 21 (14), Wed 22 (15) -> due 2026-07-22 (British Summer Time).
#      reminder: Tue 21 (1), Mon 20 (2), Fri 17 (3) -> 2026-07-17; overdue Thu 2026-07-23.
#   S2 start Fri 2026-01-02: Mon 5 (1), Tue 6 (2), Wed 7 (3), Thu 8 (4), Fri 9 (5), Mon 12 (6),
#      Tue 13 (7), Wed 14 (8), Thu 15 (9), Fri 16 (10), Mon 19 (11), Tue 20 (12), Wed 21 (13),
#      Thu 22 (14), Fri 23 (15) -> due 2026-01-23 (GMT); overdue Sat 2026-01-24 -> fires
#      Mon 2026-01-26.
#   S3 start Wed 2026-07-08: Thu 9 (1), Fri 10 (2), Mon 13 (3), Tue 14 (4), Wed 15 (5),
#      Thu 16 (6), Fri 17 (7), Mon 20 (8), Tue 21 (9), Wed 22 (10), Thu 23 (11), Fri 24 (12),
#      Mon 27 (13), Tue 28 (14), Wed 29 (15) -> due 2026-07-29; reminder Tue 28 (1), Mon 27 (2),
#      Fri 24 (3) -> 2026-07-24: nothing on 2026-07-23.
# --------------------------------------------------------------------------------------------

CONFIG_0930 = CONFIG + """\
timezone = "Europe/London";
send_time = "09:30";
poll_interval = 300;
"""

RULES_CP = """\
rules = (
  {
    id = "cp-icpc";
    title = "Initial child protection conference";
    query = "SELECT case_ref, strategy_discussion AS start, team_manager_email FROM child_protection ORDER BY case_ref";
    due = "15 working days";
    stages = (
      { name = "reminder"; at = "-3 working days"; notify = [ "iro" ]; },
      { name = "overdue"; at = "1 day"; notify = [ "team_manager", "service_manager" ]; }
    );
  }
);
"""

CASES_CP_SQL = """
CREATE TABLE child_protection (case_ref TEXT PRIMARY KEY, strategy_discussion TEXT,
                               team_manager_email TEXT);
INSERT INTO child_protection VALUES
  ('S1', '2026-07-01', 'tm.north@council.example'),
  ('S2', '2026-01-02', 'tm.south@council.example'),
  ('S3', '2026-07-08', 'tm.west@council.example');
"""


def cp(case, stage, due, fires, recipients):
    return alert("cp-icpc", "Initial child protection conference", case, stage, due, fires,
                 recipients)


EXPECTED_0930 = [
    cp("S1", "overdue", "2026-07-22", "2026-07-23T09:30:00", [TM_NORTH, SM]),
    cp("S2", "overdue", "2026-01-23", "2026-01-26T09:30:00", [TM_SOUTH, SM]),
]
EXPECTED_0929 = [
    cp("S1", "reminder", "2026-07-22", "2026-07-17T09:30:00", [IRO]),
    cp("S2", "overdue", "2026-01-23", "2026-01-26T09:30:00", [TM_SOUTH, SM]),
]


# --------------------------------------------------------------------------------------------
# Harness
# --------------------------------------------------------------------------------------------

def line_of(text, needle):
    """1-based number of the only line of text containing needle (a fixture helper)."""
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    if len(hits) != 1:
        raise AssertionError("fixture: %r found on lines %r" % (needle, hits))
    return hits[0]


class Fixture:
    def __init__(self, root):
        self.root = root
        self.etc = os.path.join(root, "etc")
        self.rules_dir = os.path.join(self.etc, "rules")
        self.holidays_dir = os.path.join(self.etc, "holidays")
        self.data = os.path.join(root, "data")
        self.var = os.path.join(root, "var")
        self.run_dir = os.path.join(root, "run")
        for d in (self.rules_dir, self.holidays_dir, self.data, self.var, self.run_dir):
            os.makedirs(d)
        self.config_path = os.path.join(self.etc, "escalatord.conf")
        self.case_store = os.path.join(self.data, "cases.sqlite")
        self.state_path = os.path.join(self.var, "escalator-state.sqlite")

    @staticmethod
    def write(path, text):
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)

    def write_config(self, text):
        self.write(self.config_path, text)

    def write_rule(self, name, text):
        path = os.path.join(self.rules_dir, name)
        self.write(path, text)
        return path

    def write_holidays(self):
        self.write(os.path.join(self.holidays_dir, "england-and-wales-2026.txt"), HOLIDAYS_2026)
        self.write(os.path.join(self.holidays_dir, "england-and-wales-2027.txt"), HOLIDAYS_2027)

    def make_case_store(self, sql):
        con = sqlite3.connect(self.case_store)
        try:
            con.executescript(sql)
            con.commit()
        finally:
            con.close()

    def case_store_bytes(self):
        with open(self.case_store, "rb") as f:
            return f.read()

    def standard(self, config=CONFIG):
        """The main setup: three rules in two files, 19 rows, holidays, contacts."""
        self.write_config(config)
        self.write_holidays()
        # Written in reverse name order: loading must follow names, not creation order.
        self.write_rule("20-child-in-care.conf", RULES_CIC)
        self.write_rule("10-practice-alert.conf", RULES_PRACTICE)
        for name, text in NOT_RULES.items():
            self.write_rule(name, text)
        self.make_case_store(CASES_SQL)


class EscalatordTestCase(unittest.TestCase):
    maxDiff = None

    def setUp(self):
        tmp = tempfile.TemporaryDirectory(prefix="escalatord-test-")
        self.addCleanup(tmp.cleanup)
        self.fx = Fixture(tmp.name)

    def run_escalatord(self, *args, config=None, cwd=None):
        env = dict(os.environ)
        # The daemon must use the config's timezone, never the process's.
        env["TZ"] = "Pacific/Auckland"
        env["LC_ALL"] = "C"
        cmd = [hd.ESCALATORD, "-c", config or self.fx.config_path] + list(args)
        try:
            return subprocess.run(cmd, cwd=cwd or self.fx.run_dir, env=env, capture_output=True,
                                  text=True, timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("timed out: %s" % " ".join(cmd))

    @staticmethod
    def describe(proc):
        return "\n--- exit %s\n--- stdout:\n%s--- stderr:\n%s" % (
            proc.returncode, proc.stdout, proc.stderr)

    def parse_alerts(self, proc):
        alerts = []
        for line in proc.stdout.splitlines():
            try:
                obj = json.loads(line)
            except ValueError:
                self.fail("stdout line is not JSON: %r%s" % (line, self.describe(proc)))
            self.assertIsInstance(obj, dict, "not a JSON object: %r" % line)
            alerts.append(obj)
        return alerts

    def once(self, now, dry_run=False, expect_exit=0):
        args = ["--once"] + (["--dry-run"] if dry_run else []) + ["--now", now]
        proc = self.run_escalatord(*args)
        self.assertEqual(proc.returncode, expect_exit, self.describe(proc))
        return proc, self.parse_alerts(proc)

    def assertAlerts(self, proc, got, expected):
        """got (parsed --once lines) equals expected. Expectations written without any
        "copied" key (the hand-computed lists, from before skipped stages' recipients were
        copied in) are compared without that key; TestCopied checks it."""
        if not any("copied" in a for a in expected):
            got = [{k: v for k, v in a.items() if k != "copied"} for a in got]
        self.assertEqual(got, expected, self.describe(proc))

    def assertWarnedOnce(self, stderr, rule, case):
        """Exactly one stderr line containing rule=<id> and case=<case_ref>."""
        rule_re = re.compile(r"rule=%s(?![\w-])" % re.escape(rule))
        case_re = re.compile(r"case=%s(?![\w-])" % re.escape(case))
        lines = [l for l in stderr.splitlines() if rule_re.search(l) and case_re.search(l)]
        self.assertEqual(len(lines), 1, "expected one warning with rule=%s case=%s in stderr:\n%s"
                         % (rule, case, stderr))

    def assertWarnedAbout(self, stderr, rule, case):
        """At least one stderr line naming both the rule and the case."""
        rule_re = re.compile(r"(?<![\w-])%s(?![\w-])" % re.escape(rule))
        case_re = re.compile(r"(?<![\w-])%s(?![\w-])" % re.escape(case))
        lines = [l for l in stderr.splitlines() if rule_re.search(l) and case_re.search(l)]
        self.assertTrue(lines, "expected a warning naming %s and %s in stderr:\n%s"
                        % (rule, case, stderr))


# --------------------------------------------------------------------------------------------
# 1. --check on a valid setup
# --------------------------------------------------------------------------------------------

class TestCheckValid(EscalatordTestCase):
    def test_check_ok_absolute_config_path(self):
        self.fx.standard()
        proc = self.run_escalatord("--check")
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        self.assertEqual(proc.stdout.strip(), "configuration OK", self.describe(proc))
        self.assertFalse(os.path.exists(self.fx.state_path), "--check created the state file")

    def test_check_ok_relative_config_path(self):
        # -c relative to the working directory; the paths inside relative to the config's dir.
        self.fx.standard()
        proc = self.run_escalatord("--check", config="../etc/escalatord.conf")
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        self.assertEqual(proc.stdout.strip(), "configuration OK", self.describe(proc))

    def test_check_ok_explicit_settings(self):
        self.fx.write_config(CONFIG_0930)
        self.fx.write_holidays()
        self.fx.write_rule("10-cp.conf", RULES_CP)
        self.fx.make_case_store(CASES_CP_SQL)
        proc = self.run_escalatord("--check")
        self.assertEqual(proc.returncode, 0, self.describe(proc))
        self.assertEqual(proc.stdout.strip(), "configuration OK", self.describe(proc))


# --------------------------------------------------------------------------------------------
# 2. --check errors: exit 1, nothing on stdout, stderr names file and line.
# --------------------------------------------------------------------------------------------

class TestCheckErrors(EscalatordTestCase):
    def setUp(self):
        super().setUp()
        self.fx.standard()

    def break_cic(self, old, new):
        """Replace old by new in 20-child-in-care.conf; return the text written."""
        self.assertEqual(RULES_CIC.count(old), 1, "fixture: %r" % old)
        text = RULES_CIC.replace(old, new)
        self.fx.write_rule("20-child-in-care.conf", text)
        return text

    def assertCheckError(self, filename, line, *also):
        proc = self.run_escalatord("--check")
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertEqual(proc.stdout, "", self.describe(proc))
        pattern = r"(?:^|[\s/'\"])%s:%d:" % (re.escape(filename), line)
        self.assertRegex(proc.stderr, re.compile(pattern, re.M),
                         "stderr should name %s line %d%s" % (filename, line, self.describe(proc)))
        for s in also:
            self.assertIn(s, proc.stderr, self.describe(proc))
        # The last line answers the check: "N errors" ("1 error"), as "configuration OK" does.
        n = len([l for l in proc.stderr.splitlines()[:-1] if not l.startswith("warning: ")])
        self.assertEqual(proc.stderr.splitlines()[-1], "%d error%s" % (n, "" if n == 1 else "s"),
                         self.describe(proc))
        return proc

    def test_rule_syntax_error(self):
        text = self.break_cic('due = "20 working days";', 'due = = "20 working days";')
        self.assertCheckError("20-child-in-care.conf", line_of(text, 'due = = '))

    def test_unknown_key_in_rule(self):
        text = self.break_cic('due = "20 working days";',
                              'due = "20 working days";\n    dew = "5 days";')
        self.assertCheckError("20-child-in-care.conf", line_of(text, "dew = "))

    def test_bad_duration(self):
        text = self.break_cic('due = "20 working days";', 'due = "5 wrking days";')
        self.assertCheckError("20-child-in-care.conf", line_of(text, "wrking"))

    def test_bad_duration_in_stage(self):
        text = self.break_cic('at = "-2 weeks";', 'at = "-2 fortnights";')
        self.assertCheckError("20-child-in-care.conf", line_of(text, "fortnights"))

    def test_unknown_notify_name(self):
        # "iro_manager": no iro_manager_email column in the query, no contact of that name.
        text = self.break_cic('notify = [ "team_manager", "iro" ];',
                              'notify = [ "team_manager", "iro_manager" ];')
        self.assertCheckError("20-child-in-care.conf", line_of(text, '"iro_manager"'))

    def test_notify_column_of_other_rule_is_unknown(self):
        # team_manager_email is a column of cic-first-review, not of cic-later-review.
        text = self.break_cic('notify = [ "service_manager", "head_of_service" ];',
                              'notify = [ "team_manager", "head_of_service" ];')
        self.assertCheckError("20-child-in-care.conf",
                              line_of(text, 'notify = [ "team_manager", "head_of_service" ]'))

    def test_query_that_writes(self):
        old = ('query = "SELECT case_ref, became_looked_after AS start, team_manager_email '
               'FROM looked_after ORDER BY case_ref";')
        writers = {
            "delete": 'query = "DELETE FROM looked_after";',
            "insert": "query = \"INSERT INTO looked_after VALUES ('X1', '2026-01-05', NULL)\";",
            # A write that even returns the right columns must be refused.
            "update-returning": 'query = "UPDATE looked_after SET team_manager_email = NULL '
                                'RETURNING case_ref, became_looked_after AS start, '
                                'team_manager_email";',
            "two-statements": 'query = "SELECT case_ref, became_looked_after AS start, '
                              'team_manager_email FROM looked_after; DELETE FROM looked_after";',
        }
        before = self.fx.case_store_bytes()
        for label, new in writers.items():
            with self.subTest(label):
                text = self.break_cic(old, new)
                self.assertCheckError("20-child-in-care.conf", line_of(text, new))
                self.assertEqual(self.fx.case_store_bytes(), before, "the case store changed")
                proc = self.run_escalatord("--once", "--now", NOW_1)
                self.assertEqual(proc.returncode, 1, self.describe(proc))
                self.assertEqual(proc.stdout, "", self.describe(proc))
                self.assertEqual(self.fx.case_store_bytes(), before, "the case store changed")

    def test_query_without_case_ref(self):
        text = self.break_cic("SELECT case_ref, became_looked_after AS start",
                              "SELECT case_ref AS ref, became_looked_after AS start")
        self.assertCheckError("20-child-in-care.conf", line_of(text, "case_ref AS ref"))

    def test_query_without_start(self):
        text = self.break_cic("SELECT case_ref, became_looked_after AS start,",
                              "SELECT case_ref, became_looked_after AS started,")
        self.assertCheckError("20-child-in-care.conf", line_of(text, "AS started"))

    def test_query_does_not_compile(self):
        text = self.break_cic("FROM reviews ORDER BY case_ref", "FROM no_such_table")
        self.assertCheckError("20-child-in-care.conf", line_of(text, "no_such_table"))

    def test_duplicate_rule_id_across_files(self):
        dup = RULES_CP.replace('id = "cp-icpc";', 'id = "cic-first-review";')
        dup = dup.replace("FROM child_protection", "FROM looked_after").replace(
            "strategy_discussion", "became_looked_after")
        self.fx.write_rule("30-duplicate.conf", dup)
        # The second occurrence (in name order) is the error.
        self.assertCheckError("30-duplicate.conf", line_of(dup, 'id = "cic-first-review"'))

    def test_unknown_key_in_main_config(self):
        text = CONFIG + 'colour = "blue";\n'
        self.fx.write_config(text)
        self.assertCheckError("escalatord.conf", line_of(text, "colour"))

    def test_missing_holiday_file(self):
        text = CONFIG.replace("holidays/england-and-wales-2027.txt", "holidays/no-such-file.txt")
        self.fx.write_config(text)
        self.assertCheckError("escalatord.conf", line_of(text, "holidays = "), "no-such-file.txt")

    def test_bad_date_in_holiday_file(self):
        text = HOLIDAYS_2027.replace("2027-05-31", "2027-02-30")
        self.fx.write(os.path.join(self.fx.holidays_dir, "england-and-wales-2027.txt"), text)
        self.assertCheckError("england-and-wales-2027.txt", line_of(text, "2027-02-30"))

    def test_broken_rule_file_refuses_once(self):
        self.break_cic('due = "20 working days";', 'due = = "20 working days";')
        proc = self.run_escalatord("--once", "--dry-run", "--now", NOW_1)
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertEqual(proc.stdout, "", self.describe(proc))
        self.assertFalse(os.path.exists(self.fx.state_path))
        proc = self.run_escalatord("--once", "--now", NOW_1)
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertEqual(proc.stdout, "", self.describe(proc))

    def test_config_error_refuses_once(self):
        self.fx.write_config(CONFIG + 'colour = "blue";\n')
        proc = self.run_escalatord("--once", "--dry-run", "--now", NOW_1)
        self.assertEqual(proc.returncode, 1, self.describe(proc))
        self.assertEqual(proc.stdout, "", self.describe(proc))


class TestUsage(EscalatordTestCase):
    def test_usage_errors_exit_2(self):
        self.fx.standard()
        for args in (["--no-such-option"], ["--once", "--now"]):
            with self.subTest(args=args):
                proc = self.run_escalatord(*args)
                self.assertEqual(proc.returncode, 2, self.describe(proc))
                self.assertEqual(proc.stdout, "", self.describe(proc))
        env = dict(os.environ, TZ="Pacific/Auckland", LC_ALL="C")
        proc = subprocess.run([hd.ESCALATORD, "-c"], cwd=self.fx.run_dir, env=env,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.returncode, 2, self.describe(proc))


# --------------------------------------------------------------------------------------------
# 3. --once --dry-run with a fixed --now
# --------------------------------------------------------------------------------------------

class TestOnceDryRun(EscalatordTestCase):
    def setUp(self):
        super().setUp()
        self.fx.standard()

    def test_alerts_owed_at_now(self):
        before = self.fx.case_store_bytes()
        proc, got = self.once(NOW_1, dry_run=True)
        self.assertAlerts(proc, got, EXPECTED_NOW_1)
        self.assertFalse(os.path.exists(self.fx.state_path), "--dry-run created the state file")
        self.assertEqual(self.fx.case_store_bytes(), before, "the case store changed")
        # Bad start dates: skipped, one warning each naming rule and case.
        for case in ("A08", "A09", "A10", "A11"):
            self.assertWarnedOnce(proc.stderr, "cic-first-review", case)
        # NULL and empty addresses: dropped with a warning naming rule and case.
        self.assertWarnedAbout(proc.stderr, "cic-first-review", "A05")
        self.assertWarnedAbout(proc.stderr, "practice-alert", "P-300")

    def test_today_parameter_follows_now(self):
        """A query may use :today (and :now): the clock --now gives, not the machine's, so a
        dry run "as of" a date agrees with the daemon (date('now') would not)."""
        proc, plain = self.once(NOW_1, dry_run=True)
        self.fx.write_rule("20-child-in-care.conf", RULES_CIC.replace(
            "FROM reviews ORDER BY case_ref",
            "FROM reviews WHERE :today = '2027-01-21' AND :now LIKE '2027-01-21 08:00:%' "
            "ORDER BY case_ref"))
        proc, got = self.once(NOW_1, dry_run=True)
        self.assertAlerts(proc, got, plain)
        self.assertTrue([a for a in got if a["rule"] == "cic-later-review"], got)
        # A day later the same WHERE keeps nothing of that rule.
        proc, later = self.once("2027-01-22T08:00:00", dry_run=True)
        self.assertFalse([a for a in later if a["rule"] == "cic-later-review"], later)

    def test_one_minute_before_a_firing_time(self):
        proc, got = self.once(NOW_0759, dry_run=True)
        self.assertAlerts(proc, got, EXPECTED_NOW_0759)
        self.assertFalse(os.path.exists(self.fx.state_path), "--dry-run created the state file")

    def test_dry_run_twice_prints_the_same(self):
        proc1, got1 = self.once(NOW_1, dry_run=True)
        proc2, got2 = self.once(NOW_1, dry_run=True)
        self.assertAlerts(proc1, got1, EXPECTED_NOW_1)
        self.assertAlerts(proc2, got2, EXPECTED_NOW_1)
        self.assertFalse(os.path.exists(self.fx.state_path), "--dry-run created the state file")


# --------------------------------------------------------------------------------------------
# 4. --once without --dry-run: the state store
# --------------------------------------------------------------------------------------------

class TestOnceState(EscalatordTestCase):
    def setUp(self):
        super().setUp()
        self.fx.standard()

    def test_dry_run_does_not_create_state(self):
        self.once(NOW_1, dry_run=True)
        self.assertFalse(os.path.exists(self.fx.state_path))

    def test_state_sequence(self):
        before = self.fx.case_store_bytes()

        # First real run: everything owed, state file created.
        proc, got = self.once(NOW_1)
        self.assertAlerts(proc, got, EXPECTED_NOW_1)
        self.assertTrue(os.path.exists(self.fx.state_path), "state file not created")

        # Same --now again: nothing new (and not with --dry-run either).
        proc, got = self.once(NOW_1)
        self.assertAlerts(proc, got, [])
        proc, got = self.once(NOW_1, dry_run=True)
        self.assertAlerts(proc, got, [])

        # Dry run at a later time shows what is owed, but records nothing...
        proc, got = self.once(NOW_2, dry_run=True)
        self.assertAlerts(proc, got, EXPECTED_NOW_2)
        # ...so the real run at that time prints the same.
        proc, got = self.once(NOW_2)
        self.assertAlerts(proc, got, EXPECTED_NOW_2)
        proc, got = self.once(NOW_2)
        self.assertAlerts(proc, got, [])

        # Catch-up: skipped stages (A03 overdue, A07 reminder, B03 reminder and review-due)
        # are never printed later.
        proc, got = self.once(NOW_3)
        self.assertAlerts(proc, got, EXPECTED_NOW_3)
        proc, got = self.once(NOW_3)
        self.assertAlerts(proc, got, [])
        proc, got = self.once(NOW_4)
        self.assertAlerts(proc, got, [])

        self.assertEqual(self.fx.case_store_bytes(), before, "the case store changed")

    def test_catch_up_straight_to_last_stage(self):
        # No run before NOW_3: every clock is at its latest stage; nothing earlier is printed,
        # and nothing is printed later.
        expected = [
            # practice-alert: all at escalate (same as at NOW_1)
            EXPECTED_NOW_1[0], EXPECTED_NOW_1[1], EXPECTED_NOW_1[2],
            # A01 escalated 2027-02-03; A02 2027-01-13; A03 2027-02-09; A04, A05 2026-12-14;
            # A06 2026-12-11; A07 2027-02-22.
            first("A01", "escalated", "2027-01-20", "2027-02-03T08:00:00", [SM, TM_NORTH]),
            first("A02", "escalated", "2026-12-29", "2027-01-13T08:00:00", [SM, TM_SOUTH]),
            first("A03", "escalated", "2027-01-26", "2027-02-09T08:00:00", [SM, TM_NORTH]),
            first("A04", "escalated", "2026-11-30", "2026-12-14T08:00:00", [SM, TM_WEST]),
            first("A05", "escalated", "2026-11-30", "2026-12-14T08:00:00", [SM]),
            first("A06", "escalated", "2026-11-27", "2026-12-11T08:00:00", [SM]),
            first("A07", "escalated", "2027-02-08", "2027-02-22T08:00:00", [SM, TM_SOUTH]),
            # B01 overdue 2026-12-30; B02 overdue 2027-01-25; B03 overdue fires 2027-03-30;
            # B04 overdue 2027-02-10.
            later("B01", "overdue", "2026-11-30", "2026-12-30T08:00:00", [SM, HOS]),
            later("B02", "overdue", "2026-12-25", "2027-01-25T08:00:00", [SM, HOS]),
            later("B03", "overdue", "2027-02-28", "2027-03-30T08:00:00", [SM, HOS]),
            later("B04", "overdue", "2027-01-10", "2027-02-10T08:00:00", [SM, HOS]),
        ]
        proc, got = self.once(NOW_3)
        self.assertAlerts(proc, got, expected)
        for now in (NOW_3, NOW_4):
            proc, got = self.once(now)
            self.assertAlerts(proc, got, [])


# --------------------------------------------------------------------------------------------
# 4b. Recipients of skipped stages "copied" in
#
# A stage passed before escalator first saw its clock is skipped; its recipients who are not
# recipients of the stage alerted now are copied in (told late), each once, and the line says
# so: "copied": [addresses] (the key only when there are any). A stage skipped in an earlier
# run (recorded) copies nobody again. From the stage lists in RULES_PRACTICE and RULES_CIC:
#   practice-alert escalate [iro_email|iro, SM]; skipped chase [team_manager]:
#       P-200 -> [TM_EAST]; P-300 -> [TM_WEST]; P-100 -> [TM_EAST].
#   cic-first-review escalated [SM, team_manager]; skipped overdue [team_manager, iro] and
#       reminder [iro]: IRO once (A02, A04, A05, A06: A05's team manager is NULL, A06's is SM).
#       A01 overdue [team_manager, iro]: its skipped reminder's IRO is a recipient -> nobody.
#       A03 at its first stage (reminder) -> nobody.
#   cic-later-review overdue [SM, HOS]; skipped review-due [iro, SM] and reminder [iro]:
#       B01 -> [IRO]. B02, B04 review-due [iro, SM]: the reminder's IRO is a recipient.
# --------------------------------------------------------------------------------------------

COPIED_NOW_1 = {"P-200": [TM_EAST], "P-300": [TM_WEST], "P-100": [TM_EAST], "A02": [IRO],
                "A04": [IRO], "A05": [IRO], "A06": [IRO], "B01": [IRO]}
# After NOW_1 was recorded: A03's overdue (01-27) is skipped now, its team manager (tm.north)
# is an escalated recipient, IRO is not -> [IRO]. A01 (reminder recorded as skipped at NOW_1,
# overdue alerted), A07 (reminder's IRO is an overdue recipient) and B02 (reminder recorded at
# NOW_1, review-due alerted) copy nobody.
COPIED_NOW_2 = {"A03": [IRO]}
# B03 first seen at its overdue: reminder and review-due skipped -> [IRO]. A07 (overdue alerted
# at NOW_2) and B04 (review-due alerted at NOW_1) copy nobody.
COPIED_NOW_3 = {"B03": [IRO]}


class TestCopied(EscalatordTestCase):
    def setUp(self):
        super().setUp()
        self.fx.standard()

    def assertCopied(self, proc, got, expected):
        self.assertEqual({a["case"]: a["copied"] for a in got if "copied" in a}, expected,
                         self.describe(proc))
        for a in got:
            if "copied" in a:
                # never a recipient of the stage itself, never twice
                self.assertFalse(set(a["copied"]) & set(a["recipients"]), a)
                self.assertEqual(len(set(a["copied"])), len(a["copied"]), a)

    def copied_rows(self):
        """(case, recipient, copied, copied_on) of every delivery with copied set."""
        con = sqlite3.connect(self.fx.state_path)
        try:
            return sorted(con.execute(
                "SELECT a.case_ref, d.recipient, d.copied, d.copied_on FROM delivery d "
                "JOIN alert a ON a.id = d.alert_id WHERE d.copied IS NOT NULL").fetchall())
        finally:
            con.close()

    def test_skipped_stages_copied_once(self):
        proc, got = self.once(NOW_1, dry_run=True)
        self.assertCopied(proc, got, COPIED_NOW_1)
        proc, got = self.once(NOW_1)
        self.assertCopied(proc, got, COPIED_NOW_1)
        # One extra delivery per copied recipient, naming the latest skipped stage it belongs
        # to (its label: by default the name capitalised, '-' as a space) and that stage's
        # date: A02's IRO is in both reminder (12-18) and overdue (12-30) -> one row, for
        # overdue.
        self.assertEqual(self.copied_rows(), sorted([
            ("A02", IRO, "Overdue", "2026-12-30"),
            ("A04", IRO, "Overdue", "2026-12-01"),
            ("A05", IRO, "Overdue", "2026-12-01"),
            # A06: due Fri 2026-11-27, overdue 1 working day later: Mon 2026-11-30
            ("A06", IRO, "Overdue", "2026-11-30"),
            ("B01", IRO, "Review due", "2026-11-30"),
            ("P-100", TM_EAST, "Chase", "2027-01-13"),
            ("P-200", TM_EAST, "Chase", "2027-01-03"),
            ("P-300", TM_WEST, "Chase", "2027-01-12"),
        ]))
        proc, got = self.once(NOW_1)
        self.assertEqual(got, [], self.describe(proc))
        proc, got = self.once(NOW_2)
        self.assertCopied(proc, got, COPIED_NOW_2)
        proc, got = self.once(NOW_3)
        self.assertCopied(proc, got, COPIED_NOW_3)
        self.assertEqual(len(self.copied_rows()), 8 + 1 + 1)


# --------------------------------------------------------------------------------------------
# 5. send_time and timezone
# --------------------------------------------------------------------------------------------

class TestSendTime(EscalatordTestCase):
    def setUp(self):
        super().setUp()
        self.fx.write_config(CONFIG_0930)
        self.fx.write_holidays()
        self.fx.write_rule("10-cp.conf", RULES_CP)
        self.fx.make_case_store(CASES_CP_SQL)

    def test_fires_at_send_time(self):
        # 09:30 local in summer (BST, S1) and in winter (GMT, S2) alike.
        proc, got = self.once("2026-07-23T09:30:00", dry_run=True)
        self.assertAlerts(proc, got, EXPECTED_0930)

    def test_before_send_time(self):
        for now in ("2026-07-23T09:29:00", "2026-07-23T09:29:59"):
            with self.subTest(now=now):
                proc, got = self.once(now, dry_run=True)
                self.assertAlerts(proc, got, EXPECTED_0929)

    def test_recorded_then_later(self):
        proc, got = self.once("2026-07-23T09:29:00")
        self.assertAlerts(proc, got, EXPECTED_0929)
        # At 09:30 S1's overdue is newly reached; S2 was already alerted.
        proc, got = self.once("2026-07-23T09:30:00")
        self.assertAlerts(proc, got, [EXPECTED_0930[0]])


# --------------------------------------------------------------------------------------------
# 6. The answers to a clock: "responses"
#
# An alert whose clock has been answered (through the link in an earlier stage's message) says
# so: "responses": [{"who", "stage", "kind", "agreed_on", "reason", "note", "answered_at",
# "amended"}], oldest first, every answer (a replaced one marked "amended": true). The key is
# left out when there are none, as "copied" is.
# --------------------------------------------------------------------------------------------

class TestResponses(EscalatordTestCase):
    def setUp(self):
        super().setUp()
        self.fx.standard()

    def answer(self, case, rows):
        """Record rows (name, kind, agreed_on, reason, note, answered_at) as answers to the
        first delivery of case's recorded alert, each amending the one before (as answers.c
        records a second answer from the same link)."""
        db = sqlite3.connect(self.fx.state_path)
        try:
            alert_id, rule, start, label, delivery_id, recipient = db.execute(
                "SELECT a.id, a.rule, a.start, a.label, d.id, d.recipient FROM alert a "
                "JOIN delivery d ON d.alert_id = a.id WHERE a.case_ref = ? "
                "ORDER BY d.id LIMIT 1", (case,)).fetchone()
            amends = None
            for name, kind, agreed_on, reason, note, at in rows:
                cur = db.execute(
                    "INSERT INTO response (delivery_id, alert_id, rule, case_ref, start, "
                    "stage, label, recipient, name, kind, agreed_on, reason, note, "
                    "answered_at, amends) VALUES (?, ?, ?, ?, ?, 'overdue', ?, ?, ?, ?, ?, ?, "
                    "?, ?, ?)",
                    (delivery_id, alert_id, rule, case, start, label, recipient, name, kind,
                     agreed_on, reason, note, at, amends))
                amends = cur.lastrowid
            db.commit()
            return label, recipient
        finally:
            db.close()

    def test_responses_of_the_clock(self):
        proc, got = self.once(NOW_1)
        self.assertAlerts(proc, got, EXPECTED_NOW_1)
        self.assertFalse([a for a in got if "responses" in a], got)
        label, recipient = self.answer("A01", [
            (None, "acknowledged", None, None, None, "2027-01-22T09:00:00Z"),
            ("Jo Bloggs", "agreed", "2027-02-12", None, "Review booked \"with\" <the IRO>",
             "2027-01-22T10:30:00Z"),
        ])
        want = [
            {"who": recipient, "stage": label, "kind": "acknowledged", "agreed_on": None,
             "reason": None, "note": None, "answered_at": "2027-01-22T09:00:00Z",
             "amended": True},
            {"who": "Jo Bloggs", "stage": label, "kind": "agreed", "agreed_on": "2027-02-12",
             "reason": None, "note": 'Review booked "with" <the IRO>',
             "answered_at": "2027-01-22T10:30:00Z", "amended": False},
        ]
        # A01's next stage carries its clock's answers, in a dry run and a recorded run alike;
        # the other alerts have none, and no key.
        for dry_run in (True, False):
            with self.subTest(dry_run=dry_run):
                proc, got = self.once(NOW_2, dry_run=dry_run)
                a01 = [a for a in got if a["case"] == "A01"]
                self.assertEqual(len(a01), 1, got)
                self.assertEqual(a01[0].pop("responses"), want, self.describe(proc))
                self.assertAlerts(proc, got, EXPECTED_NOW_2)


# --------------------------------------------------------------------------------------------

if __name__ == "__main__":
    sys.exit(hd.run_main(doc=__doc__, verbosity=2))
