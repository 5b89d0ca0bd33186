-- escalator reference case store (SQLite).
--
-- One schema a council can fill from the extracts it already makes for the statutory returns:
-- SSDA903 (children looked after) and the Children in Need census (child protection), plus the
-- staff structure and the IRO service's practice-resolution log. escalator only reads it
-- (read-only connection, PRAGMA query_only); the shipped rule pack in rules.d/ queries the
-- VIEWS at the end of this file, so a council that stores its data differently only has to
-- provide views with the same names and columns.
--
-- Create an empty store:   sqlite3 /var/lib/escalator-cases/cases.db < /etc/escalator/schema.sql
-- Column by column, with the SSDA903 / CIN census item each one comes from: docs/case-store.md.
--
-- Conventions
--   * Dates are TEXT 'YYYY-MM-DD' (a trailing 'T...' or ' ...' time is allowed and ignored by
--     escalator; compare dates as text, which sorts correctly in that format).
--   * Flags are INTEGER 0 or 1.
--   * Children are identified by a case reference only: no names, dates of birth or addresses
--     are needed, and the shipped rules never put anything else in an alert.
--   * A clock that is done (review held, plan ended, escalation resolved, child left care)
--     simply stops appearing in the open_* views: nothing is ever deleted to stop an alert.
--   * Keep the file in SQLite's default rollback-journal mode (not WAL): escalatord opens it
--     read-only, and a read-only reader of a WAL database needs write access to its directory.

PRAGMA foreign_keys = ON;

-- ---------------------------------------------------------------------------------------------
-- Staff: who is told. Roles and line management, one row per person.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE staff (
    staff_id        INTEGER PRIMARY KEY,     -- the case management system's worker id
    email           TEXT NOT NULL UNIQUE COLLATE NOCASE,
                                             -- work email address alerts go to (a personal
                                             -- mailbox; shared team boxes belong in the main
                                             -- config's contacts)
    role            TEXT NOT NULL CHECK (role IN (
                        'social_worker',     -- allocated social worker
                        'team_manager',      -- social work team manager
                        'service_manager',   -- service manager over several teams
                        'head_of_service',   -- head of service / assistant director
                        'director',          -- Director of Children's Services
                        'iro',               -- Independent Reviewing Officer (or CP chair)
                        'iro_manager',       -- IRO team manager
                        'iro_service_manager')), -- manager of the whole IRO service
    line_manager_id INTEGER REFERENCES staff (staff_id),
                                             -- the person this one reports to: social worker ->
                                             -- team manager -> service manager -> head of
                                             -- service -> director; iro -> iro_manager ->
                                             -- iro_service_manager (-> ...). NULL at the top.
                                             -- A council without one level points past it;
                                             -- the views follow up to six levels.
    name            TEXT,                    -- optional display name, for people reading the
                                             -- store; the shipped rules never send it
    team            TEXT                     -- optional team or service name, for reports
);

-- ---------------------------------------------------------------------------------------------
-- Children: one row per child the rules may concern (looked after, subject to a section 47
-- enquiry or child protection plan, or the subject of a practice-resolution escalation).
-- ---------------------------------------------------------------------------------------------

CREATE TABLE children (
    child_id         INTEGER PRIMARY KEY,    -- internal key
    case_ref         TEXT NOT NULL UNIQUE,   -- the case reference alerts carry (SSDA903 CHILD,
                                             -- CIN census LAchildID); never a name
    social_worker_id INTEGER REFERENCES staff (staff_id),
                                             -- allocated social worker; NULL while unallocated
    team_manager_id  INTEGER REFERENCES staff (staff_id),
                                             -- the responsible team manager while no social
                                             -- worker is allocated (ignored when one is: then
                                             -- the social worker's line manager is used)
    iro_id           INTEGER REFERENCES staff (staff_id),
                                             -- allocated IRO (for a child protection case, the
                                             -- conference chair); NULL while unallocated
    legal_status     TEXT                    -- optional current legal status (SSDA903 LS code,
                                             -- e.g. 'C2'); the open care episode's ls wins
);

-- ---------------------------------------------------------------------------------------------
-- Looked after children (SSDA903).
-- ---------------------------------------------------------------------------------------------

-- One row per SSDA903 episode. A period of care starts with an episode whose rne is 'S' and
-- runs through every following episode that ended with rec 'X1' (a new episode began the same
-- day); it ends with the dec of the last episode. A child is looked after now while one of their
-- episodes has no dec.
CREATE TABLE care_episodes (
    episode_id INTEGER PRIMARY KEY,          -- internal key
    child_id   INTEGER NOT NULL REFERENCES children (child_id),
    decom      TEXT NOT NULL,                -- SSDA903 DECOM: date the episode commenced
    rne        TEXT NOT NULL CHECK (rne IN ('S', 'L', 'P', 'T', 'U', 'B')),
                                             -- SSDA903 RNE: reason for new episode; 'S' =
                                             -- started to be looked after (a new period of care)
    ls         TEXT,                         -- SSDA903 LS: legal status (C1, C2, D1, E1, J1-J3,
                                             -- L1-L3, V2, V3, V4)
    cin        TEXT,                         -- SSDA903 CIN: category of need (N1-N8), optional
    place      TEXT,                         -- SSDA903 PLACE: placement type, optional
    dec        TEXT,                         -- SSDA903 DEC: date the episode ceased; NULL while
                                             -- it is open
    rec        TEXT                          -- SSDA903 REC: reason episode ceased ('X1' = a new
                                             -- episode follows in the same period of care)
);
CREATE INDEX care_episodes_child ON care_episodes (child_id, rne, decom);
CREATE INDEX care_episodes_open ON care_episodes (child_id) WHERE dec IS NULL;

-- Child in Care reviews held (CPPCR Regulations 2010, reg 33). Only reviews that took place.
CREATE TABLE cic_reviews (
    review_id   INTEGER PRIMARY KEY,         -- internal key
    child_id    INTEGER NOT NULL REFERENCES children (child_id),
    review_date TEXT NOT NULL,               -- SSDA903 REVIEW: date the review was held
    review_code TEXT CHECK (review_code IN ('PN0', 'PN1', 'PN2', 'PN3', 'PN4', 'PN5', 'PN6', 'PN7'))
                                             -- SSDA903 REVIEW_CODE: the child's participation
);
CREATE INDEX cic_reviews_child ON cic_reviews (child_id, review_date);

-- The IRO's mid-point check between two reviews (local practice, e.g. Nottingham 2022/23).
CREATE TABLE cic_midpoint_checks (
    check_id INTEGER PRIMARY KEY,            -- internal key
    child_id INTEGER NOT NULL REFERENCES children (child_id),
    done_on  TEXT NOT NULL,                  -- date the IRO recorded the mid-point check
    iro_id   INTEGER REFERENCES staff (staff_id)
                                             -- the IRO who did it (optional)
);
CREATE INDEX cic_midpoint_checks_child ON cic_midpoint_checks (child_id, done_on);

-- ---------------------------------------------------------------------------------------------
-- Child protection (Children in Need census; Working Together to Safeguard Children).
-- ---------------------------------------------------------------------------------------------

-- Strategy discussions that started a section 47 enquiry.
CREATE TABLE s47_enquiries (
    s47_id            INTEGER PRIMARY KEY,   -- internal key
    child_id          INTEGER NOT NULL REFERENCES children (child_id),
    started_on        TEXT NOT NULL,         -- CIN census S47ActualStartDate: the strategy
                                             -- discussion at which the enquiry started
    icpc_not_required INTEGER NOT NULL DEFAULT 0 CHECK (icpc_not_required IN (0, 1))
                                             -- CIN census ICPCnotRequired: 1 when the enquiry
                                             -- concluded that no conference is needed
);
CREATE INDEX s47_enquiries_child ON s47_enquiries (child_id);

-- Initial child protection conferences held.
CREATE TABLE cp_initial_conferences (
    icpc_id   INTEGER PRIMARY KEY,           -- internal key
    s47_id    INTEGER NOT NULL REFERENCES s47_enquiries (s47_id),
                                             -- the enquiry that led to it
    held_on   TEXT NOT NULL,                 -- CIN census DateOfInitialCPC
    plan_made INTEGER NOT NULL DEFAULT 1 CHECK (plan_made IN (0, 1))
                                             -- 1 if the conference made a child protection plan
);
CREATE INDEX cp_initial_conferences_s47 ON cp_initial_conferences (s47_id);

-- Child protection plans.
CREATE TABLE cp_plans (
    plan_id          INTEGER PRIMARY KEY,    -- internal key
    child_id         INTEGER NOT NULL REFERENCES children (child_id),
    icpc_id          INTEGER REFERENCES cp_initial_conferences (icpc_id),
                                             -- the conference that made the plan (optional)
    started_on       TEXT NOT NULL,          -- CIN census CPPstartDate (the ICPC's date)
    ended_on         TEXT,                   -- CIN census CPPendDate; NULL while the plan lasts
    initial_category TEXT,                   -- CIN census InitialCategoryOfAbuse (NEG, PHY,
                                             -- SAB, EMO, MUL), optional
    latest_category  TEXT                    -- CIN census LatestCategoryOfAbuse, optional
);
CREATE INDEX cp_plans_child ON cp_plans (child_id);
CREATE INDEX cp_plans_open ON cp_plans (child_id) WHERE ended_on IS NULL;

-- Review child protection conferences held.
CREATE TABLE cp_review_conferences (
    review_id INTEGER PRIMARY KEY,           -- internal key
    plan_id   INTEGER NOT NULL REFERENCES cp_plans (plan_id),
    held_on   TEXT NOT NULL                  -- CIN census CPPreviewDate
);
CREATE INDEX cp_review_conferences_plan ON cp_review_conferences (plan_id, held_on);

-- Core group meetings held (not in the CIN census; from the case management system).
CREATE TABLE core_group_meetings (
    meeting_id INTEGER PRIMARY KEY,          -- internal key
    plan_id    INTEGER NOT NULL REFERENCES cp_plans (plan_id),
    held_on    TEXT NOT NULL                 -- date the core group met
);
CREATE INDEX core_group_meetings_plan ON core_group_meetings (plan_id, held_on);

-- ---------------------------------------------------------------------------------------------
-- Practice resolution (IRO Handbook chapter 6 and the council's protocol): an IRO's concern
-- that climbs through stages 0 (informal) to 4 (Director) until it is resolved.
-- ---------------------------------------------------------------------------------------------

-- The themes councils report on (Cambridgeshire's eight categories, 2020-21).
CREATE TABLE escalation_themes (
    theme TEXT PRIMARY KEY,                  -- code stored in escalations.theme
    label TEXT NOT NULL                      -- words used in alerts and reports
);
INSERT INTO escalation_themes (theme, label) VALUES
    ('accountability_record_keeping', 'accountability and record keeping'),
    ('permanence_planning',           'permanence planning'),
    ('leaving_care',                  'preparation for leaving care'),
    ('safeguarding',                  'safeguarding'),
    ('holistic_needs',                'child''s holistic rights or needs'),
    ('network_communication',         'professional network / communication'),
    ('funding',                       'funding decisions'),
    ('legal_status',                  'child''s legal status');

CREATE TABLE escalations (
    escalation_id    INTEGER PRIMARY KEY,    -- internal key
    escalation_ref   TEXT NOT NULL UNIQUE,   -- the alert's own reference in the case system
                                             -- (e.g. 'PR-000123'); alerts show
                                             -- '<case_ref>/<escalation_ref>'
    child_id         INTEGER NOT NULL REFERENCES children (child_id),
    raised_on        TEXT NOT NULL,          -- date the IRO first raised the concern
    raised_by        INTEGER NOT NULL REFERENCES staff (staff_id),
                                             -- the IRO who raised it
    theme            TEXT NOT NULL REFERENCES escalation_themes (theme),
                                             -- category of the concern
    stage            INTEGER NOT NULL CHECK (stage BETWEEN 0 AND 4),
                                             -- current stage: 0 informal, 1 team manager,
                                             -- 2 service manager, 3 head of service,
                                             -- 4 Director (the IRO may skip stages)
    stage_since      TEXT NOT NULL,          -- date the current stage began (raised to that
                                             -- level); its response window runs from here
    formal_on        TEXT,                   -- date the formal process began (stage 1 or
                                             -- higher first reached); NULL while informal
    resolved_on      TEXT,                   -- date resolved; NULL while open
    cafcass_referred INTEGER NOT NULL DEFAULT 0 CHECK (cafcass_referred IN (0, 1)),
                                             -- 1 once the IRO service referred the case to
                                             -- Cafcass (looked-after children only)
    cafcass_referred_on TEXT                 -- date of the Cafcass referral, optional
);
CREATE INDEX escalations_open ON escalations (child_id) WHERE resolved_on IS NULL;
CREATE INDEX escalations_child ON escalations (child_id);

-- =============================================================================================
-- VIEWS used by the shipped rule pack. Every open_* view returns one row per open clock, with
-- case_ref, start (the date the timescale runs from) and the recipients' addresses as
-- <role>_email columns: social_worker_email, team_manager_email, service_manager_email,
-- head_of_service_email, director_email, iro_email, iro_manager_email,
-- iro_service_manager_email. A rule selects the ones its stages notify.
-- =============================================================================================

-- For each member of staff, the nearest person at or above them (themselves included) in each
-- role, following line_manager_id up to six levels. MATERIALIZED: worked out once per query
-- (tens of milliseconds for 50,000 staff), then looked up per row.
CREATE VIEW staff_chain AS
WITH chain AS MATERIALIZED (
    SELECT s0.staff_id,
           CASE 'social_worker' WHEN s0.role THEN s0.email WHEN s1.role THEN s1.email
                WHEN s2.role THEN s2.email WHEN s3.role THEN s3.email WHEN s4.role THEN s4.email
                WHEN s5.role THEN s5.email WHEN s6.role THEN s6.email END AS social_worker_email,
           CASE 'team_manager' WHEN s0.role THEN s0.email WHEN s1.role THEN s1.email
                WHEN s2.role THEN s2.email WHEN s3.role THEN s3.email WHEN s4.role THEN s4.email
                WHEN s5.role THEN s5.email WHEN s6.role THEN s6.email END AS team_manager_email,
           CASE 'service_manager' WHEN s0.role THEN s0.email WHEN s1.role THEN s1.email
                WHEN s2.role THEN s2.email WHEN s3.role THEN s3.email WHEN s4.role THEN s4.email
                WHEN s5.role THEN s5.email WHEN s6.role THEN s6.email END AS service_manager_email,
           CASE 'head_of_service' WHEN s0.role THEN s0.email WHEN s1.role THEN s1.email
                WHEN s2.role THEN s2.email WHEN s3.role THEN s3.email WHEN s4.role THEN s4.email
                WHEN s5.role THEN s5.email WHEN s6.role THEN s6.email END AS head_of_service_email,
           CASE 'director' WHEN s0.role THEN s0.email WHEN s1.role THEN s1.email
                WHEN s2.role THEN s2.email WHEN s3.role THEN s3.email WHEN s4.role THEN s4.email
                WHEN s5.role THEN s5.email WHEN s6.role THEN s6.email END AS director_email,
           CASE 'iro' WHEN s0.role THEN s0.email WHEN s1.role THEN s1.email
                WHEN s2.role THEN s2.email WHEN s3.role THEN s3.email WHEN s4.role THEN s4.email
                WHEN s5.role THEN s5.email WHEN s6.role THEN s6.email END AS iro_email,
           CASE 'iro_manager' WHEN s0.role THEN s0.email WHEN s1.role THEN s1.email
                WHEN s2.role THEN s2.email WHEN s3.role THEN s3.email WHEN s4.role THEN s4.email
                WHEN s5.role THEN s5.email WHEN s6.role THEN s6.email END AS iro_manager_email,
           CASE 'iro_service_manager' WHEN s0.role THEN s0.email WHEN s1.role THEN s1.email
                WHEN s2.role THEN s2.email WHEN s3.role THEN s3.email WHEN s4.role THEN s4.email
                WHEN s5.role THEN s5.email WHEN s6.role THEN s6.email END AS iro_service_manager_email
      FROM staff AS s0
      LEFT JOIN staff AS s1 ON s1.staff_id = s0.line_manager_id
      LEFT JOIN staff AS s2 ON s2.staff_id = s1.line_manager_id
      LEFT JOIN staff AS s3 ON s3.staff_id = s2.line_manager_id
      LEFT JOIN staff AS s4 ON s4.staff_id = s3.line_manager_id
      LEFT JOIN staff AS s5 ON s5.staff_id = s4.line_manager_id
      LEFT JOIN staff AS s6 ON s6.staff_id = s5.line_manager_id
)
SELECT * FROM chain;

-- Every child with the people responsible: the social work line from the allocated social
-- worker (or, while unallocated, the responsible team manager) and the IRO line from the IRO.
CREATE VIEW child_contacts AS
SELECT c.child_id, c.case_ref, c.legal_status,
       w.social_worker_email, w.team_manager_email, w.service_manager_email,
       w.head_of_service_email, w.director_email,
       i.iro_email, i.iro_manager_email, i.iro_service_manager_email
  FROM children AS c
  LEFT JOIN staff_chain AS w ON w.staff_id = coalesce(c.social_worker_id, c.team_manager_id)
  LEFT JOIN staff_chain AS i ON i.staff_id = c.iro_id;

-- Children looked after now: their open episode, and the date the current period of care
-- started (the latest 'S' episode; the earliest episode if the extract lacks it).
CREATE VIEW looked_after_now AS
SELECT e.child_id,
       coalesce((SELECT max(s.decom) FROM care_episodes AS s
                  WHERE s.child_id = e.child_id AND s.rne = 'S' AND s.decom <= e.decom),
                (SELECT min(f.decom) FROM care_episodes AS f WHERE f.child_id = e.child_id))
           AS became_looked_after,
       e.ls AS legal_status
  FROM care_episodes AS e
 WHERE e.dec IS NULL;

-- Reviews held in the current period of care of each child looked after now.
CREATE VIEW cic_review_status AS
SELECT l.child_id, l.became_looked_after, l.legal_status,
       (SELECT count(*) FROM cic_reviews AS r
         WHERE r.child_id = l.child_id AND r.review_date >= l.became_looked_after)
           AS reviews_held,
       (SELECT max(r.review_date) FROM cic_reviews AS r
         WHERE r.child_id = l.child_id AND r.review_date >= l.became_looked_after)
           AS last_review
  FROM looked_after_now AS l;

-- First Child in Care review not yet held: start = the day the child became looked after.
CREATE VIEW open_cic_first_review AS
SELECT c.case_ref, s.became_looked_after AS start,
       coalesce(s.legal_status, c.legal_status) AS legal_status,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM cic_review_status AS s
  JOIN child_contacts AS c ON c.child_id = s.child_id
 WHERE s.reviews_held = 0;

-- The next Child in Care review: start = the last review held; next_review_number is 2 for the
-- second review (due within 3 months) and 3 or more after that (due within 6 months).
CREATE VIEW open_cic_next_review AS
SELECT c.case_ref, s.last_review AS start, s.reviews_held + 1 AS next_review_number,
       s.became_looked_after,
       coalesce(s.legal_status, c.legal_status) AS legal_status,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM cic_review_status AS s
  JOIN child_contacts AS c ON c.child_id = s.child_id
 WHERE s.reviews_held >= 1;

-- The IRO's mid-point check since the last review, not yet recorded: start = the last review.
CREATE VIEW open_cic_midpoint AS
SELECT c.case_ref, s.last_review AS start, s.reviews_held + 1 AS next_review_number,
       coalesce(s.legal_status, c.legal_status) AS legal_status,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM cic_review_status AS s
  JOIN child_contacts AS c ON c.child_id = s.child_id
 WHERE s.reviews_held >= 1
   AND NOT EXISTS (SELECT 1 FROM cic_midpoint_checks AS m
                    WHERE m.child_id = s.child_id AND m.done_on > s.last_review);

-- Initial child protection conference not yet held: start = the strategy discussion.
CREATE VIEW open_icpc AS
SELECT c.case_ref, q.started_on AS start,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM s47_enquiries AS q
  JOIN child_contacts AS c ON c.child_id = q.child_id
 WHERE q.icpc_not_required = 0
   AND NOT EXISTS (SELECT 1 FROM cp_initial_conferences AS i WHERE i.s47_id = q.s47_id);

-- Child protection plans in force, with their conferences and core groups so far.
CREATE VIEW cp_plan_status AS
SELECT p.plan_id, p.child_id, p.started_on,
       (SELECT max(r.held_on) FROM cp_review_conferences AS r
         WHERE r.plan_id = p.plan_id AND r.held_on >= p.started_on) AS last_review,
       (SELECT max(g.held_on) FROM core_group_meetings AS g
         WHERE g.plan_id = p.plan_id AND g.held_on >= p.started_on) AS last_core_group
  FROM cp_plans AS p
 WHERE p.ended_on IS NULL;

-- First review conference not yet held: start = the plan's start (the ICPC).
CREATE VIEW open_cp_first_review AS
SELECT c.case_ref, p.started_on AS start,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM cp_plan_status AS p
  JOIN child_contacts AS c ON c.child_id = p.child_id
 WHERE p.last_review IS NULL;

-- The next review conference: start = the last review conference held under the plan.
CREATE VIEW open_cp_next_review AS
SELECT c.case_ref, p.last_review AS start, p.started_on AS plan_started_on,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM cp_plan_status AS p
  JOIN child_contacts AS c ON c.child_id = p.child_id
 WHERE p.last_review IS NOT NULL;

-- First core group meeting not yet held: start = the plan's start (the ICPC).
CREATE VIEW open_core_group_first AS
SELECT c.case_ref, p.started_on AS start,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM cp_plan_status AS p
  JOIN child_contacts AS c ON c.child_id = p.child_id
 WHERE p.last_core_group IS NULL;

-- The next core group meeting: start = the last core group held under the plan.
CREATE VIEW open_core_group_next AS
SELECT c.case_ref, p.last_core_group AS start, p.started_on AS plan_started_on,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM cp_plan_status AS p
  JOIN child_contacts AS c ON c.child_id = p.child_id
 WHERE p.last_core_group IS NOT NULL;

-- Open escalations at their current stage: start = the day the current stage began.
-- case_ref is '<child case_ref>/<escalation_ref>', so two escalations on one child are two
-- clocks. iro_email and the IRO line are those of the IRO who raised it.
CREATE VIEW open_escalation_stage AS
SELECT c.case_ref || '/' || e.escalation_ref AS case_ref, e.stage_since AS start,
       e.stage AS pr_stage, e.escalation_ref, c.case_ref AS child_case_ref,
       e.raised_on, e.formal_on, t.label AS theme,
       EXISTS (SELECT 1 FROM care_episodes AS x WHERE x.child_id = e.child_id AND x.dec IS NULL)
           AS looked_after,
       e.cafcass_referred,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       r.iro_email, r.iro_manager_email, r.iro_service_manager_email
  FROM escalations AS e
  JOIN child_contacts AS c ON c.child_id = e.child_id
  LEFT JOIN escalation_themes AS t ON t.theme = e.theme
  LEFT JOIN staff_chain AS r ON r.staff_id = e.raised_by
 WHERE e.resolved_on IS NULL;

-- Open escalations in the formal process (stage 1 or higher): start = the day it began (the
-- formal process should take no more than 20 working days in total).
CREATE VIEW open_escalation_formal AS
SELECT case_ref, coalesce(formal_on, raised_on) AS start, pr_stage, escalation_ref,
       child_case_ref, raised_on, formal_on, theme, looked_after, cafcass_referred,
       social_worker_email, team_manager_email, service_manager_email,
       head_of_service_email, director_email,
       iro_email, iro_manager_email, iro_service_manager_email
  FROM open_escalation_stage
 WHERE pr_stage >= 1;

-- IRO caseloads: children allocated to each IRO who are looked after now or subject to a child
-- protection plan (the IRO Handbook recommends 50-70). One row per member of staff whose role is
-- 'iro', including those with no children (caseload 0).
CREATE VIEW iro_caseload AS
WITH per_iro AS MATERIALIZED (
    SELECT c.iro_id, sum(a.looked_after) AS looked_after,
           sum(a.child_protection) AS child_protection, count(*) AS caseload
      FROM (SELECT child_id, max(looked_after) AS looked_after,
                   max(child_protection) AS child_protection
              FROM (SELECT child_id, 1 AS looked_after, 0 AS child_protection
                      FROM care_episodes WHERE dec IS NULL
                    UNION ALL
                    SELECT child_id, 0, 1 FROM cp_plans WHERE ended_on IS NULL)
             GROUP BY child_id) AS a
      JOIN children AS c ON c.child_id = a.child_id
     WHERE c.iro_id IS NOT NULL
     GROUP BY c.iro_id
)
SELECT s.staff_id AS iro_id, ch.iro_email, s.name AS iro_name,
       coalesce(p.looked_after, 0) AS looked_after,
       coalesce(p.child_protection, 0) AS child_protection,
       coalesce(p.caseload, 0) AS caseload,
       ch.iro_manager_email, ch.iro_service_manager_email
  FROM staff AS s
  JOIN staff_chain AS ch ON ch.staff_id = s.staff_id
  LEFT JOIN per_iro AS p ON p.iro_id = s.staff_id
 WHERE s.role = 'iro';
