-- escalator reference case store (PostgreSQL): the same store as etc/schema.sql (SQLite).
--
-- The same tables, columns, indexes and views as schema.sql, written for PostgreSQL 12 or later
-- (tested with Debian 12's PostgreSQL 15), so that the shipped rule pack in rules.d/ runs
-- unchanged on either engine and every view returns the same rows and columns on the same data
-- (tests/integration/test_pg_schema.py loads a generated store into both and compares every
-- rule's query and history row by row). Keep the two files in step: a change to one is a
-- change to the other. Why escalatord reads PostgreSQL: issue 17 (being built).
--
-- Create an empty store, then a read-only role for escalatord (docs/case-store.md, "On
-- PostgreSQL"):
--     createdb cases && psql -d cases -f /etc/escalator/schema-postgresql.sql
-- Column by column, with the SSDA903 / CIN census item each one comes from: docs/case-store.md.
--
-- Conventions (as schema.sql, and what differs)
--   * Dates stay TEXT 'YYYY-MM-DD', not DATE: the extracts and escalatord's date parsing are the
--     same for both engines (a trailing 'T...' or ' ...' time is allowed and ignored by
--     escalator; compare dates as text, which sorts correctly in that format). The one view
--     that does date arithmetic (iro_participation) casts to date and back with to_char, and
--     reproduces SQLite's month arithmetic.
--   * Every text column is COLLATE "C": text compares and sorts byte by byte, as in SQLite,
--     whatever the database's locale (so ORDER BY case_ref puts cases in the same order).
--   * Flags are INTEGER 0 or 1 (not boolean: rules compare them with = 1 on both engines; the
--     views' computed flags are 0/1 integers too). Keys are BIGINT (SQLite's are 64-bit).
--   * staff.email is unique whatever its case: a unique index on lower(email), where SQLite has
--     COLLATE NOCASE.
--   * Children are identified by a case reference only: no names, dates of birth or addresses
--     are needed, and the shipped rules never put anything else in an alert.
--   * A clock that is done (review held, plan ended, escalation resolved, child left care)
--     simply stops appearing in the open_* views: nothing is ever deleted to stop an alert.
--   * No view reads the clock (no now() or current_date): a rule that needs the date uses the
--     :today and :now parameters escalatord binds, on both engines.

-- ---------------------------------------------------------------------------------------------
-- Staff: who is told. Roles and line management, one row per person.
-- ---------------------------------------------------------------------------------------------

CREATE TABLE staff (
    staff_id        BIGINT PRIMARY KEY,      -- the case management system's worker id
    email           TEXT COLLATE "C" NOT NULL,
                                             -- work email address alerts go to (a personal
                                             -- mailbox; shared team boxes belong in the main
                                             -- config's contacts)
    role            TEXT COLLATE "C" NOT NULL CHECK (role IN (
                        'social_worker',     -- allocated social worker
                        'team_manager',      -- social work team manager
                        'service_manager',   -- service manager over several teams
                        'head_of_service',   -- head of service / assistant director
                        'director',          -- Director of Children's Services
                        'iro',               -- Independent Reviewing Officer (or CP chair)
                        'iro_manager',       -- IRO team manager
                        'iro_service_manager', -- manager of the whole IRO service
                        'personal_adviser')), -- care leavers' personal adviser (leaving
                                             -- care service)
    line_manager_id BIGINT REFERENCES staff (staff_id),
                                             -- the person this one reports to: social worker ->
                                             -- team manager -> service manager -> head of
                                             -- service -> director; iro -> iro_manager ->
                                             -- iro_service_manager (-> ...); personal
                                             -- adviser -> team manager (of the leaving care
                                             -- team) -> ... NULL at the top.
                                             -- A council without one level points past it;
                                             -- the views follow up to six levels.
    name            TEXT COLLATE "C",        -- optional display name, for people reading the
                                             -- store; the shipped rules never send it
    team            TEXT COLLATE "C"         -- optional team or service name, for reports
);
-- Unique whatever the case, as SQLite's UNIQUE COLLATE NOCASE (both fold ASCII letters only).
CREATE UNIQUE INDEX staff_email ON staff (lower(email));

-- ---------------------------------------------------------------------------------------------
-- Children: one row per child the rules may concern (looked after, subject to a section 47
-- enquiry or child protection plan, or the subject of a practice-resolution escalation).
-- ---------------------------------------------------------------------------------------------

CREATE TABLE children (
    child_id         BIGINT PRIMARY KEY,     -- internal key
    case_ref         TEXT COLLATE "C" NOT NULL UNIQUE,
                                             -- the case reference alerts carry (SSDA903 CHILD,
                                             -- CIN census LAchildID); never a name
    social_worker_id BIGINT REFERENCES staff (staff_id),
                                             -- allocated social worker; NULL while unallocated
    team_manager_id  BIGINT REFERENCES staff (staff_id),
                                             -- the responsible team manager while no social
                                             -- worker is allocated (ignored when one is: then
                                             -- the social worker's line manager is used)
    iro_id           BIGINT REFERENCES staff (staff_id),
                                             -- allocated IRO (for a child protection case, the
                                             -- conference chair); NULL while unallocated
    legal_status     TEXT COLLATE "C"        -- optional current legal status (SSDA903 LS code,
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
    episode_id BIGINT PRIMARY KEY,           -- internal key
    child_id   BIGINT NOT NULL REFERENCES children (child_id),
    decom      TEXT COLLATE "C" NOT NULL,    -- SSDA903 DECOM: date the episode commenced
    rne        TEXT COLLATE "C" NOT NULL CHECK (rne IN ('S', 'L', 'P', 'T', 'U', 'B')),
                                             -- SSDA903 RNE: reason for new episode; 'S' =
                                             -- started to be looked after (a new period of care)
    ls         TEXT COLLATE "C",             -- SSDA903 LS: legal status (C1, C2, D1, E1, J1-J3,
                                             -- L1-L3, V2, V3, V4)
    cin        TEXT COLLATE "C",             -- SSDA903 CIN: category of need (N1-N8), optional
    place      TEXT COLLATE "C",             -- SSDA903 PLACE: placement type, optional
    dec        TEXT COLLATE "C",             -- SSDA903 DEC: date the episode ceased; NULL while
                                             -- it is open
    rec        TEXT COLLATE "C"              -- SSDA903 REC: reason episode ceased ('X1' = a new
                                             -- episode follows in the same period of care)
);
CREATE INDEX care_episodes_child ON care_episodes (child_id, rne, decom);
CREATE INDEX care_episodes_open ON care_episodes (child_id) WHERE dec IS NULL;
CREATE INDEX care_episodes_child_decom ON care_episodes (child_id, decom);

-- Child in Care reviews held (CPPCR Regulations 2010, reg 33). Only reviews that took place,
-- one row each.
CREATE TABLE cic_reviews (
    review_id   BIGINT PRIMARY KEY,          -- internal key
    child_id    BIGINT NOT NULL REFERENCES children (child_id),
    review_date TEXT COLLATE "C" NOT NULL,   -- SSDA903 REVIEW: date the review was held
    review_code TEXT COLLATE "C"
                CHECK (review_code IN ('PN0', 'PN1', 'PN2', 'PN3', 'PN4', 'PN5', 'PN6', 'PN7')),
                                             -- SSDA903 REVIEW_CODE: the child's participation
    iro_id      BIGINT REFERENCES staff (staff_id),
                                             -- the IRO who chaired it (optional; the child's
                                             -- allocated IRO is used when NULL)
    decisions_sent_on TEXT COLLATE "C",      -- date the review's decisions were sent out
                                             -- (CMS); NULL until they are
    record_sent_on    TEXT COLLATE "C"       -- date the full record of the review was sent
                                             -- out (CMS); NULL until it is
);
CREATE INDEX cic_reviews_child ON cic_reviews (child_id, review_date);
CREATE INDEX cic_reviews_date ON cic_reviews (review_date);
CREATE INDEX cic_reviews_decisions_sent ON cic_reviews (decisions_sent_on)
    WHERE decisions_sent_on IS NOT NULL;
CREATE INDEX cic_reviews_record_sent ON cic_reviews (record_sent_on)
    WHERE record_sent_on IS NOT NULL;

-- IROs allocated to a child for a period of care (CMS). Record one for each period of care,
-- even when the child's IRO stays the same (e.g. their child protection chair), dated the day
-- the IRO was allocated to the looked-after child.
CREATE TABLE iro_allocations (
    allocation_id BIGINT PRIMARY KEY,        -- internal key
    child_id      BIGINT NOT NULL REFERENCES children (child_id),
    iro_id        BIGINT REFERENCES staff (staff_id),
                                             -- the IRO allocated (optional)
    allocated_on  TEXT COLLATE "C" NOT NULL  -- date of the allocation
);
CREATE INDEX iro_allocations_child ON iro_allocations (child_id, allocated_on);

-- The IRO's mid-point check between two reviews (local practice, e.g. Nottingham 2022/23).
CREATE TABLE cic_midpoint_checks (
    check_id BIGINT PRIMARY KEY,             -- internal key
    child_id BIGINT NOT NULL REFERENCES children (child_id),
    done_on  TEXT COLLATE "C" NOT NULL,      -- date the IRO recorded the mid-point check
    iro_id   BIGINT REFERENCES staff (staff_id)
                                             -- the IRO who did it (optional)
);
CREATE INDEX cic_midpoint_checks_child ON cic_midpoint_checks (child_id, done_on);

-- ---------------------------------------------------------------------------------------------
-- Child protection (Children in Need census; Working Together to Safeguard Children).
-- ---------------------------------------------------------------------------------------------

-- Strategy discussions that started a section 47 enquiry.
CREATE TABLE s47_enquiries (
    s47_id            BIGINT PRIMARY KEY,    -- internal key
    child_id          BIGINT NOT NULL REFERENCES children (child_id),
    started_on        TEXT COLLATE "C" NOT NULL, -- CIN census S47ActualStartDate: the strategy
                                             -- discussion at which the enquiry started
    icpc_not_required INTEGER NOT NULL DEFAULT 0 CHECK (icpc_not_required IN (0, 1))
                                             -- CIN census ICPCnotRequired: 1 when the enquiry
                                             -- concluded that no conference is needed
);
CREATE INDEX s47_enquiries_child ON s47_enquiries (child_id);

-- Initial child protection conferences held.
CREATE TABLE cp_initial_conferences (
    icpc_id   BIGINT PRIMARY KEY,            -- internal key
    s47_id    BIGINT NOT NULL REFERENCES s47_enquiries (s47_id),
                                             -- the enquiry that led to it
    held_on   TEXT COLLATE "C" NOT NULL,     -- CIN census DateOfInitialCPC
    plan_made INTEGER NOT NULL DEFAULT 1 CHECK (plan_made IN (0, 1))
                                             -- 1 if the conference made a child protection plan
);
CREATE INDEX cp_initial_conferences_s47 ON cp_initial_conferences (s47_id);

-- Child protection plans.
CREATE TABLE cp_plans (
    plan_id          BIGINT PRIMARY KEY,     -- internal key
    child_id         BIGINT NOT NULL REFERENCES children (child_id),
    icpc_id          BIGINT REFERENCES cp_initial_conferences (icpc_id),
                                             -- the conference that made the plan (optional)
    started_on       TEXT COLLATE "C" NOT NULL, -- CIN census CPPstartDate (the ICPC's date)
    ended_on         TEXT COLLATE "C",       -- CIN census CPPendDate; NULL while the plan lasts
    initial_category TEXT COLLATE "C",       -- CIN census InitialCategoryOfAbuse (NEG, PHY,
                                             -- SAB, EMO, MUL), optional
    latest_category  TEXT COLLATE "C"        -- CIN census LatestCategoryOfAbuse, optional
);
CREATE INDEX cp_plans_child ON cp_plans (child_id);
CREATE INDEX cp_plans_open ON cp_plans (child_id) WHERE ended_on IS NULL;

-- Review child protection conferences held.
CREATE TABLE cp_review_conferences (
    review_id BIGINT PRIMARY KEY,            -- internal key
    plan_id   BIGINT NOT NULL REFERENCES cp_plans (plan_id),
    held_on   TEXT COLLATE "C" NOT NULL      -- CIN census CPPreviewDate
);
CREATE INDEX cp_review_conferences_plan ON cp_review_conferences (plan_id, held_on);

-- Core group meetings held (not in the CIN census; from the case management system).
CREATE TABLE core_group_meetings (
    meeting_id BIGINT PRIMARY KEY,           -- internal key
    plan_id    BIGINT NOT NULL REFERENCES cp_plans (plan_id),
    held_on    TEXT COLLATE "C" NOT NULL     -- date the core group met
);
CREATE INDEX core_group_meetings_plan ON core_group_meetings (plan_id, held_on);

-- ---------------------------------------------------------------------------------------------
-- Care leavers (Children (Leaving Care) Act 2000; Care Leavers (England) Regulations 2010):
-- young people who left care and have a pathway plan and a personal adviser.
-- ---------------------------------------------------------------------------------------------

-- One row per care leaver while the council supports them (relevant and former relevant
-- children; eligible children still looked after have their pathway plan reviewed at their Child
-- in Care reviews, so they do not belong here).
CREATE TABLE care_leavers (
    child_id            BIGINT PRIMARY KEY REFERENCES children (child_id),
    personal_adviser_id BIGINT REFERENCES staff (staff_id),
                                             -- the young person's personal adviser
    plan_started_on     TEXT COLLATE "C" NOT NULL, -- date the pathway plan took effect as a care
                                             -- leaver's plan (usually the day they left care);
                                             -- the first review's clock runs from here
    ended_on            TEXT COLLATE "C"     -- date the council's support ended (age 21, or 25
                                             -- on request); NULL while it lasts
);

-- Pathway plan reviews held (Care Leavers (England) Regulations 2010, reg 7).
CREATE TABLE pathway_plan_reviews (
    review_id   BIGINT PRIMARY KEY,          -- internal key
    child_id    BIGINT NOT NULL REFERENCES children (child_id),
    reviewed_on TEXT COLLATE "C" NOT NULL    -- date the pathway plan was reviewed
);
CREATE INDEX pathway_plan_reviews_child ON pathway_plan_reviews (child_id, reviewed_on);

-- ---------------------------------------------------------------------------------------------
-- Practice resolution (IRO Handbook chapter 6 and the council's protocol): an IRO's concern
-- that climbs through stages 0 (informal) to 4 (Director) until it is resolved.
-- ---------------------------------------------------------------------------------------------

-- The themes councils report on (Cambridgeshire's eight categories, 2020-21).
CREATE TABLE escalation_themes (
    theme TEXT COLLATE "C" PRIMARY KEY,      -- code stored in escalations.theme
    label TEXT COLLATE "C" NOT NULL          -- words used in alerts and reports
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
    escalation_id    BIGINT PRIMARY KEY,     -- internal key
    escalation_ref   TEXT COLLATE "C" NOT NULL UNIQUE,
                                             -- the alert's own reference in the case system
                                             -- (e.g. 'PR-000123'); alerts show
                                             -- '<case_ref>/<escalation_ref>'
    child_id         BIGINT NOT NULL REFERENCES children (child_id),
    raised_on        TEXT COLLATE "C" NOT NULL, -- date the IRO first raised the concern
    raised_by        BIGINT NOT NULL REFERENCES staff (staff_id),
                                             -- the IRO who raised it
    theme            TEXT COLLATE "C" NOT NULL REFERENCES escalation_themes (theme),
                                             -- category of the concern
    stage            INTEGER NOT NULL CHECK (stage BETWEEN 0 AND 4),
                                             -- current stage: 0 informal, 1 team manager,
                                             -- 2 service manager, 3 head of service,
                                             -- 4 Director (the IRO may skip stages)
    stage_since      TEXT COLLATE "C" NOT NULL, -- date the current stage began (raised to that
                                             -- level); its response window runs from here
    formal_on        TEXT COLLATE "C",       -- date the formal process began (stage 1 or
                                             -- higher first reached); NULL while informal
    resolved_on      TEXT COLLATE "C",       -- date resolved; NULL while open
    cafcass_referred INTEGER NOT NULL DEFAULT 0 CHECK (cafcass_referred IN (0, 1)),
                                             -- 1 once the IRO service referred the case to
                                             -- Cafcass (looked-after children only)
    cafcass_referred_on TEXT COLLATE "C"     -- date of the Cafcass referral, optional
);
CREATE INDEX escalations_open ON escalations (child_id) WHERE resolved_on IS NULL;
CREATE INDEX escalations_child ON escalations (child_id);

-- =============================================================================================
-- VIEWS used by the shipped rule pack. Every open_* view returns one row per open clock, with
-- case_ref, start (the date the timescale runs from) and the recipients' addresses as
-- <role>_email columns: social_worker_email, team_manager_email, service_manager_email,
-- head_of_service_email, director_email, iro_email, iro_manager_email,
-- iro_service_manager_email (and personal_adviser_email for care leavers). A rule selects the
-- ones its stages notify.
--
-- Every *_history view returns one row per clock that COMPLETED (the review held, the
-- conference convened, the core group met, the escalation resolved, the record sent): case_ref
-- and start worked out exactly as the matching open_* view worked them out while that clock was
-- open, and done, the date it completed. A rule's history query reads it, and escalatord's annual
-- report measures each row against the rule's due date (on time when done <= due). A clock that
-- ended WITHOUT completing (the child left care before the review, the plan ended before the
-- conference, the escalation moved to the next stage) is in neither kind of view: it was
-- neither on time nor late.
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
                WHEN s5.role THEN s5.email WHEN s6.role THEN s6.email END AS iro_service_manager_email,
           CASE 'personal_adviser' WHEN s0.role THEN s0.email END AS personal_adviser_email
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

-- Periods of care, one row each (period_no counts them per child): period_start, the DECOM of
-- the period's 'S' episode (for episodes before the child's first 'S' in the extract, the
-- earliest DECOM, as looked_after_now falls back on), and period_end, the DEC of its last
-- episode (NULL while the child is looked after). For history: the current period's start is
-- looked_after_now's became_looked_after.
CREATE VIEW care_periods AS
WITH numbered AS (
    SELECT child_id, decom, dec,
           sum(CASE WHEN rne = 'S' THEN 1 ELSE 0 END)
               OVER (PARTITION BY child_id ORDER BY decom, rne <> 'S', episode_id
                                ROWS UNBOUNDED PRECEDING) AS period_no
      FROM care_episodes
)
SELECT child_id, period_no, min(decom) AS period_start,
       CASE WHEN count(dec) < count(*) THEN NULL ELSE max(dec) END AS period_end
  FROM numbered
 GROUP BY child_id, period_no;

-- Every review held during a period of care (on or after its start, on or before its end),
-- numbered in the period as cic_review_status counts them (review_number 1 for the first), with
-- the review before it (previous_review, NULL for the first), ends_by (the next review in the
-- period, else the period's end, NULL while the child is looked after: the clocks that run from
-- a review end then) and episode_ls, the legal status of the episode in force on the review day.
CREATE VIEW cic_reviews_in_care AS
SELECT r.review_id, r.child_id, r.review_date, r.decisions_sent_on, r.record_sent_on,
       p.period_start, p.period_end,
       row_number() OVER w AS review_number,
       lag(r.review_date) OVER w AS previous_review,
       coalesce(lead(r.review_date) OVER w, p.period_end) AS ends_by,
       (SELECT e.ls FROM care_episodes AS e
         WHERE e.child_id = r.child_id AND e.decom <= r.review_date
         ORDER BY e.decom DESC, e.episode_id DESC LIMIT 1) AS episode_ls
  FROM care_periods AS p
  JOIN cic_reviews AS r ON r.child_id = p.child_id AND r.review_date >= p.period_start
                       AND (p.period_end IS NULL OR r.review_date <= p.period_end)
WINDOW w AS (PARTITION BY p.child_id, p.period_no ORDER BY r.review_date, r.review_id);

-- First reviews held: start = the day the child became looked after (as open_cic_first_review),
-- done = the review. A period of care that ended before its first review has no row.
-- legal_status: on the review day (the episode's, else the child's), for the short-break
-- condition of the rules.
CREATE VIEW cic_first_review_history AS
SELECT c.case_ref, r.period_start AS start, r.review_date AS done,
       coalesce(r.episode_ls, c.legal_status) AS legal_status
  FROM cic_reviews_in_care AS r
  JOIN children AS c ON c.child_id = r.child_id
 WHERE r.review_number = 1;

-- Second and later reviews held: start = the review before (as open_cic_next_review), done = the
-- review, next_review_number = its number in the period (2: due within 3 months; 3+: 6 months).
CREATE VIEW cic_next_review_history AS
SELECT c.case_ref, r.previous_review AS start, r.review_date AS done,
       r.review_number AS next_review_number,
       coalesce(r.episode_ls, c.legal_status) AS legal_status
  FROM cic_reviews_in_care AS r
  JOIN children AS c ON c.child_id = r.child_id
 WHERE r.review_number >= 2;

-- Mid-point checks done: start = the review before (as open_cic_midpoint), done = the first
-- check after it and no later than the next review (or the end of the period of care); a check
-- on the day of the next review still counts for the clock before it. Reviews with no check in
-- that time have no row. next_review_number: the number of the review the check prepares.
CREATE VIEW cic_midpoint_history AS
SELECT c.case_ref, r.review_date AS start, r.done, r.review_number + 1 AS next_review_number,
       coalesce(r.episode_ls, c.legal_status) AS legal_status
  FROM (SELECT i.*,
               (SELECT min(m.done_on) FROM cic_midpoint_checks AS m
                 WHERE m.child_id = i.child_id AND m.done_on > i.review_date
                   AND (i.ends_by IS NULL OR m.done_on <= i.ends_by)) AS done
          FROM cic_reviews_in_care AS i) AS r
  JOIN children AS c ON c.child_id = r.child_id
 WHERE r.done IS NOT NULL;

-- The decisions of the last review of the current period of care not yet sent: start = the
-- review. Only the last review: an earlier one's clock ended when the next review was held.
-- Only in a store that records the dates (some review has a decisions_sent_on): a council that
-- does not fill the column gets no clocks, rather than one for every child.
CREATE VIEW open_cic_review_decisions AS
SELECT c.case_ref, s.last_review AS start, s.reviews_held AS review_number,
       coalesce(s.legal_status, c.legal_status) AS legal_status,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM cic_review_status AS s
  JOIN child_contacts AS c ON c.child_id = s.child_id
 WHERE s.reviews_held >= 1
   AND NOT EXISTS (SELECT 1 FROM cic_reviews AS r
                    WHERE r.child_id = s.child_id AND r.review_date = s.last_review
                      AND r.decisions_sent_on IS NOT NULL)
   AND EXISTS (SELECT 1 FROM cic_reviews AS k WHERE k.decisions_sent_on IS NOT NULL);

-- Review decisions sent: start = the review, done = decisions_sent_on, if no later than the next
-- review (or the end of the period of care); sent after that, the clock had already ended.
CREATE VIEW cic_review_decisions_history AS
SELECT c.case_ref, r.review_date AS start, r.decisions_sent_on AS done, r.review_number,
       coalesce(r.episode_ls, c.legal_status) AS legal_status
  FROM cic_reviews_in_care AS r
  JOIN children AS c ON c.child_id = r.child_id
 WHERE r.decisions_sent_on IS NOT NULL
   AND (r.ends_by IS NULL OR r.decisions_sent_on <= r.ends_by);

-- The full record of the last review of the current period of care not yet sent: start = the
-- review (as open_cic_review_decisions; only in a store that records record_sent_on).
CREATE VIEW open_cic_review_record AS
SELECT c.case_ref, s.last_review AS start, s.reviews_held AS review_number,
       coalesce(s.legal_status, c.legal_status) AS legal_status,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email, c.iro_service_manager_email
  FROM cic_review_status AS s
  JOIN child_contacts AS c ON c.child_id = s.child_id
 WHERE s.reviews_held >= 1
   AND NOT EXISTS (SELECT 1 FROM cic_reviews AS r
                    WHERE r.child_id = s.child_id AND r.review_date = s.last_review
                      AND r.record_sent_on IS NOT NULL)
   AND EXISTS (SELECT 1 FROM cic_reviews AS k WHERE k.record_sent_on IS NOT NULL);

-- Review records sent: as cic_review_decisions_history, with record_sent_on.
CREATE VIEW cic_review_record_history AS
SELECT c.case_ref, r.review_date AS start, r.record_sent_on AS done, r.review_number,
       coalesce(r.episode_ls, c.legal_status) AS legal_status
  FROM cic_reviews_in_care AS r
  JOIN children AS c ON c.child_id = r.child_id
 WHERE r.record_sent_on IS NOT NULL
   AND (r.ends_by IS NULL OR r.record_sent_on <= r.ends_by);

-- Children looked after now with no IRO allocated in this period of care: start = the day they
-- became looked after. Only in a store that records allocations (iro_allocations has rows): a
-- council that does not fill the table gets no clocks, rather than one for every child. The
-- child may have no IRO line yet (children.iro_id NULL), so iro_service_manager_email falls back
-- on the IRO service manager with the lowest staff_id.
CREATE VIEW open_iro_allocation AS
SELECT c.case_ref, l.became_looked_after AS start,
       coalesce(l.legal_status, c.legal_status) AS legal_status,
       c.social_worker_email, c.team_manager_email, c.service_manager_email,
       c.head_of_service_email, c.director_email,
       c.iro_email, c.iro_manager_email,
       coalesce(c.iro_service_manager_email,
                (SELECT m.email FROM staff AS m WHERE m.role = 'iro_service_manager'
                  ORDER BY m.staff_id LIMIT 1)) AS iro_service_manager_email
  FROM looked_after_now AS l
  JOIN child_contacts AS c ON c.child_id = l.child_id
 WHERE NOT EXISTS (SELECT 1 FROM iro_allocations AS a
                    WHERE a.child_id = l.child_id AND a.allocated_on >= l.became_looked_after)
   AND EXISTS (SELECT 1 FROM iro_allocations);

-- IROs allocated: start = the day the child became looked after (as open_iro_allocation), done =
-- the first allocation in that period of care. A period that ended with none has no row.
-- (PostgreSQL wants every selected column grouped: period_start and case_ref are one per group.)
CREATE VIEW iro_allocation_history AS
SELECT c.case_ref, p.period_start AS start, min(a.allocated_on) AS done
  FROM care_periods AS p
  JOIN iro_allocations AS a ON a.child_id = p.child_id AND a.allocated_on >= p.period_start
                           AND (p.period_end IS NULL OR a.allocated_on <= p.period_end)
  JOIN children AS c ON c.child_id = p.child_id
 GROUP BY p.child_id, p.period_no, p.period_start, c.case_ref;

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

-- Initial conferences held: start = the strategy discussion (as open_icpc), done = the first
-- conference held for the enquiry. An enquiry that concluded no conference was needed has no
-- row, even if one was held.
CREATE VIEW icpc_history AS
SELECT c.case_ref, q.started_on AS start, min(i.held_on) AS done
  FROM s47_enquiries AS q
  JOIN cp_initial_conferences AS i ON i.s47_id = q.s47_id
  JOIN children AS c ON c.child_id = q.child_id
 WHERE q.icpc_not_required = 0
 GROUP BY q.s47_id, c.case_ref;

-- Every review conference held under a plan (on or after its start, on or before its end),
-- numbered in the plan (review_number 1 for the first), with the one before it.
CREATE VIEW cp_reviews_in_plan AS
SELECT p.plan_id, p.child_id, p.started_on, r.held_on,
       row_number() OVER w AS review_number, lag(r.held_on) OVER w AS previous_review
  FROM cp_plans AS p
  JOIN cp_review_conferences AS r ON r.plan_id = p.plan_id AND r.held_on >= p.started_on
                                 AND (p.ended_on IS NULL OR r.held_on <= p.ended_on)
WINDOW w AS (PARTITION BY p.plan_id ORDER BY r.held_on, r.review_id);

-- First review conferences held: start = the plan's start (as open_cp_first_review), done = the
-- conference. A plan that ended before its first review has no row.
CREATE VIEW cp_first_review_history AS
SELECT c.case_ref, r.started_on AS start, r.held_on AS done
  FROM cp_reviews_in_plan AS r
  JOIN children AS c ON c.child_id = r.child_id
 WHERE r.review_number = 1;

-- Later review conferences held: start = the one before (as open_cp_next_review), done = this.
CREATE VIEW cp_next_review_history AS
SELECT c.case_ref, r.previous_review AS start, r.held_on AS done, r.started_on AS plan_started_on
  FROM cp_reviews_in_plan AS r
  JOIN children AS c ON c.child_id = r.child_id
 WHERE r.review_number >= 2;

-- Every core group held under a plan, numbered, with the one before it (as cp_reviews_in_plan).
CREATE VIEW core_groups_in_plan AS
SELECT p.plan_id, p.child_id, p.started_on, g.held_on,
       row_number() OVER w AS meeting_number, lag(g.held_on) OVER w AS previous_meeting
  FROM cp_plans AS p
  JOIN core_group_meetings AS g ON g.plan_id = p.plan_id AND g.held_on >= p.started_on
                               AND (p.ended_on IS NULL OR g.held_on <= p.ended_on)
WINDOW w AS (PARTITION BY p.plan_id ORDER BY g.held_on, g.meeting_id);

-- First core groups held: start = the plan's start (as open_core_group_first), done = the
-- meeting.
CREATE VIEW core_group_first_history AS
SELECT c.case_ref, g.started_on AS start, g.held_on AS done
  FROM core_groups_in_plan AS g
  JOIN children AS c ON c.child_id = g.child_id
 WHERE g.meeting_number = 1;

-- Later core groups held: start = the one before (as open_core_group_next), done = this.
CREATE VIEW core_group_next_history AS
SELECT c.case_ref, g.previous_meeting AS start, g.held_on AS done,
       g.started_on AS plan_started_on
  FROM core_groups_in_plan AS g
  JOIN children AS c ON c.child_id = g.child_id
 WHERE g.meeting_number >= 2;

-- Open escalations at their current stage: start = the day the current stage began.
-- case_ref is '<child case_ref>/<escalation_ref>', so two escalations on one child are two
-- clocks. iro_email and the IRO line are those of the IRO who raised it. looked_after is 0 or 1
-- (an integer, as SQLite's EXISTS gives: rules test looked_after = 1).
CREATE VIEW open_escalation_stage AS
SELECT c.case_ref || '/' || e.escalation_ref AS case_ref, e.stage_since AS start,
       e.stage AS pr_stage, e.escalation_ref, c.case_ref AS child_case_ref,
       e.raised_on, e.formal_on, t.label AS theme,
       CASE WHEN EXISTS (SELECT 1 FROM care_episodes AS x
                          WHERE x.child_id = e.child_id AND x.dec IS NULL) THEN 1 ELSE 0 END
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

-- Resolved escalations: the stage clock that was running when it was resolved completed. start
-- = the day that stage began (as open_escalation_stage), done = resolved_on, pr_stage = the
-- stage resolved at and stage the same in words for reports; theme = the theme's label;
-- formal_start = when the formal process began (as open_escalation_formal), NULL if it was
-- resolved informally. A stage the escalation moved on from did not complete (it is not kept:
-- the escalations table holds the current stage only).
CREATE VIEW escalation_stage_history AS
SELECT c.case_ref || '/' || e.escalation_ref AS case_ref, e.stage_since AS start,
       e.resolved_on AS done, e.stage AS pr_stage,
       CASE e.stage WHEN 0 THEN '0 informal' WHEN 1 THEN '1 team manager'
            WHEN 2 THEN '2 service manager' WHEN 3 THEN '3 head of service'
            WHEN 4 THEN '4 Director' END AS stage,
       t.label AS theme, e.escalation_ref, c.case_ref AS child_case_ref, e.raised_on,
       CASE WHEN e.stage >= 1 THEN coalesce(e.formal_on, e.raised_on) END AS formal_start
  FROM escalations AS e
  JOIN children AS c ON c.child_id = e.child_id
  LEFT JOIN escalation_themes AS t ON t.theme = e.theme
 WHERE e.resolved_on IS NOT NULL;

-- Escalations resolved in the formal process (stage 1 or higher): start = the day it began (as
-- open_escalation_formal), done = resolved_on; stage and theme as above.
CREATE VIEW escalation_formal_history AS
SELECT case_ref, formal_start AS start, done, pr_stage, stage, theme, escalation_ref,
       child_case_ref, raised_on
  FROM escalation_stage_history
 WHERE pr_stage >= 1;

-- Care leavers' pathway plans due for review: start = the last review since the plan started,
-- else the plan's start. The recipients are the personal adviser's line (personal_adviser_email,
-- team_manager_email, ...), not the child's social worker's; the IRO columns are empty.
CREATE VIEW open_pathway_plan_review AS
SELECT c.case_ref,
       coalesce((SELECT max(v.reviewed_on) FROM pathway_plan_reviews AS v
                  WHERE v.child_id = l.child_id AND v.reviewed_on >= l.plan_started_on),
                l.plan_started_on) AS start,
       l.plan_started_on,
       a.social_worker_email, a.team_manager_email, a.service_manager_email,
       a.head_of_service_email, a.director_email,
       a.iro_email, a.iro_manager_email, a.iro_service_manager_email, a.personal_adviser_email
  FROM care_leavers AS l
  JOIN children AS c ON c.child_id = l.child_id
  LEFT JOIN staff_chain AS a ON a.staff_id = l.personal_adviser_id
 WHERE l.ended_on IS NULL;

-- Pathway plan reviews held while the council supported the young person: start = the review
-- before, else the plan's start (as open_pathway_plan_review), done = the review.
CREATE VIEW pathway_plan_review_history AS
SELECT c.case_ref, coalesce(lag(v.reviewed_on) OVER w, l.plan_started_on) AS start,
       v.reviewed_on AS done
  FROM care_leavers AS l
  JOIN pathway_plan_reviews AS v ON v.child_id = l.child_id
                                AND v.reviewed_on >= l.plan_started_on
                                AND (l.ended_on IS NULL OR v.reviewed_on <= l.ended_on)
  JOIN children AS c ON c.child_id = l.child_id
WINDOW w AS (PARTITION BY l.child_id ORDER BY v.reviewed_on, v.review_id);

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
                    SELECT child_id, 0, 1 FROM cp_plans WHERE ended_on IS NULL) AS u
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

-- Children's participation in their reviews, per IRO, over the 3 months (a quarter) up to the
-- latest review in the case store (the extract's own date, so the figure does not depend on the
-- day it is read): reviews with a participation code of a child aged 4 or over (SSDA903
-- REVIEW_CODE PN1-PN7; PN0, under 4, is left out as the return leaves it out), participated
-- (PN1-PN6: attended, spoke for themselves, through an advocate, or conveyed their views) and
-- participation, the percentage, to one decimal. A review counts for the IRO who chaired it
-- (cic_reviews.iro_id), else the child's allocated IRO. since and until: the window (since
-- excluded, until included). One row per IRO with at least one such review.
-- SQLite's date(x, '-3 months') moves the month and lets a day past the month's end run on
-- into the next month (31 May -> "31 February" -> 3 March); PostgreSQL's interval arithmetic
-- would stop at 28 February, so the view moves the first of the month and adds the days back.
CREATE VIEW iro_participation AS
WITH latest AS MATERIALIZED (
    SELECT substr(max(review_date), 1, 10)::date AS review_day FROM cic_reviews
),
span AS MATERIALIZED (
    SELECT to_char((date_trunc('month', review_day::timestamp) - interval '3 months')::date
                   + (extract(day FROM review_day)::integer - 1), 'YYYY-MM-DD') AS since,
           to_char(review_day, 'YYYY-MM-DD') AS until
      FROM latest
),
per_iro AS MATERIALIZED (
    SELECT coalesce(r.iro_id, c.iro_id) AS iro_id, count(*) AS reviews,
           sum(CASE WHEN r.review_code <> 'PN7' THEN 1 ELSE 0 END) AS participated
      FROM span
      JOIN cic_reviews AS r ON r.review_date > span.since
                           AND r.review_date < to_char(span.until::date + 1, 'YYYY-MM-DD')
      JOIN children AS c ON c.child_id = r.child_id
     WHERE r.review_code IN ('PN1', 'PN2', 'PN3', 'PN4', 'PN5', 'PN6', 'PN7')
     GROUP BY 1
)
SELECT s.staff_id AS iro_id, ch.iro_email, p.reviews, p.participated,
       round(100.0 * p.participated / p.reviews, 1) AS participation, span.since, span.until,
       ch.iro_manager_email, ch.iro_service_manager_email
  FROM per_iro AS p
  JOIN staff AS s ON s.staff_id = p.iro_id
  JOIN staff_chain AS ch ON ch.staff_id = s.staff_id
 CROSS JOIN span
 WHERE s.role = 'iro';
