-- A ranked contest's rounds for Grafana (issue 27 item 5), which reads SQL only while the
-- rounds are tabulated in TypeScript (domain/rcv/). One writer: the election workflow's
-- contest-call activity (activities/race-calls.ts), under the results lock, every few
-- seconds while counting and at the close and the final count, from the rankings mixed
-- into the box (as the API serves them). Replaced whole per contest at each decision.
create table rcv_round_tallies (
  election_id      text not null,
  contest_id       text not null,
  round            integer not null check (round >= 1),
  candidate_id     text not null,
  votes            bigint not null check (votes >= 0),
  status           text not null check (status in ('continuing', 'eliminated', 'elected')),
  -- Ballots that rank anyone in the contest: under the minimum cell the view shows nothing.
  ranking_ballots  bigint not null,
  decided_at       timestamptz not null default now(),
  primary key (election_id, contest_id, round, candidate_id),
  foreign key (election_id, contest_id) references contests (election_id, id) on delete cascade
);

-- What Grafana may read: candidates by name, contests of 10 or more ranking ballots only
-- (the default minimum cell; a handful of ballots' rounds are those voters' rankings).
create view rcv_rounds as
  select t.election_id, t.contest_id, t.round, t.candidate_id, s.name as candidate, s.position as candidate_position,
         t.votes, t.status, t.ranking_ballots, t.decided_at
  from rcv_round_tallies t
  join contest_selections s on s.election_id = t.election_id and s.contest_id = t.contest_id and s.id = t.candidate_id
  where t.ranking_ballots >= 10;
grant select on rcv_rounds to votestream_grafana;
