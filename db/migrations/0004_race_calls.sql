-- Race calls, decided by one writer (an activity of the election workflow) from facts the
-- system holds, per election and per region, and retracted visibly if counts ever
-- contradict them. A retracted call stays, with when and why.
drop table race_calls;
create table race_calls (
  id                 bigserial primary key,
  election_id        text not null references elections (id) on delete cascade,
  region_id          text,               -- null: the whole election
  candidate_id       text not null,
  rule               text not null,
  figures            jsonb not null,
  called_at          timestamptz not null default now(),
  version            bigint not null,    -- the results version that made the call visible
  retracted_at       timestamptz,
  retraction_reason  text,
  retracted_version  bigint
);
-- At most one standing call per election and region.
create unique index race_calls_standing on race_calls (election_id, coalesce(region_id, '')) where retracted_at is null;
create index race_calls_by_election on race_calls (election_id, id);

-- A simulated election's planned ballots per region, written when it opens: what the
-- generator will still send bounds what can still come.
create table planned_ballots (
  election_id  text not null references elections (id) on delete cascade,
  region_id    text not null,
  ballots      bigint not null,
  primary key (election_id, region_id)
);
