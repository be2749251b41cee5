-- Race calls per contest, decided by the same one writer as race_calls (an activity of the
-- election workflow, under the election's results lock): a candidate called elected to one
-- of the contest's seats (each seat of a vote-for-N contest is called on its own), or a
-- measure called passing or failing against its threshold. Retracted visibly, never
-- deleted, if the counts ever contradict a call.
create table contest_calls (
  id                 bigserial primary key,
  election_id        text not null,
  contest_id         text not null,
  selection_id       text,             -- the candidate elected; null for a measure
  outcome            text not null check (outcome in ('elected', 'passes', 'fails')),
  rule               text not null,
  figures            jsonb not null,
  called_at          timestamptz not null default now(),
  version            bigint not null,  -- the results version that made the call visible
  retracted_at       timestamptz,
  retraction_reason  text,
  retracted_version  bigint,
  foreign key (election_id, contest_id) references contests (election_id, id) on delete cascade,
  check ((outcome = 'elected') = (selection_id is not null))
);
-- At most one standing call per contest and candidate (per measure).
create unique index contest_calls_standing on contest_calls (election_id, contest_id, coalesce(selection_id, '')) where retracted_at is null;
create index contest_calls_by_election on contest_calls (election_id, id);
-- Not granted to Grafana: a call in a contest of a handful of ballots says how they voted;
-- the API shows calls only where it shows the contest's totals (contest-results.ts).
