-- Risk-limiting audits (issue 28 item 3). An operator's request creates the row (the API,
-- after checking the election is certified and its audit files committed); from then on the
-- audit's workflow is the one writer of its status, its rounds and its sample.
create table audits (
  id           text primary key,
  election_id  text not null references elections (id) on delete cascade,
  contest_ids  text[] not null check (cardinality(contest_ids) between 1 and 100),
  risk_limit   double precision not null check (risk_limit > 0 and risk_limit <= 0.2),
  seed         text not null check (seed ~ '^[0-9]{20,200}$'),
  method       text not null check (method in ('ballot-polling')),
  status       text not null default 'running'
               check (status in ('running', 'confirmed', 'confirmed-by-full-count', 'outcome-differs', 'failed')),
  commitment   text not null,      -- the audit files' commitment the sample is drawn against
  result       jsonb,              -- the final report (domain/audit/report.ts)
  started_at   timestamptz not null default now(),
  finished_at  timestamptz
);
create index audits_by_election on audits (election_id, started_at);

-- Each round as the workflow decided it: draws so far, and per contest the status and the
-- risk measured (pairs, p-values).
create table audit_rounds (
  audit_id    text not null references audits (id) on delete cascade,
  round       integer not null check (round >= 1),
  draws       integer not null check (draws >= 0),
  contests    jsonb not null,
  finished_at timestamptz not null default now(),
  primary key (audit_id, round)
);

-- The sample: each draw's ticket, where its paper lies (batch and position of the
-- published manifest) and the paper's interpretation for the audited contests. The ballot
-- box's record, never a voter's: admin reads only (a small batch's papers are close to
-- its voters' choices, like the cast vote records).
create table audit_ballots (
  audit_id  text not null references audits (id) on delete cascade,
  draw      integer not null check (draw >= 1),
  round     integer not null,
  ticket    bigint not null,
  batch     text not null,
  position  integer not null check (position >= 1),
  paper     jsonb not null,
  primary key (audit_id, draw)
);
