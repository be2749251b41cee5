-- Real ballots: an election may have a definition (districts and contests, the ballot
-- style of each region), and its ballots are kept the way a polling station keeps them:
--
--   poll book  = `ballots` (this voter has voted: election, voter, region, channel, ballot
--                id, log position, time). For an election with contests it holds no choice:
--                `candidate_id` is null. (One-contest elections without a definition still
--                record the candidate there; see the README's threat model.)
--   ballot box = `ballot_box` (what was voted: a random id, style, region, channel, marks).
--                No voter, no position, no time; ids are random (v4), not time-ordered.
--
-- The counting transaction puts the marks into `ballot_box_pending` (no id, no time), and
-- the mixer moves them into `ballot_box` a window at a time, in random order, under ids
-- drawn then: rows in the box then share a transaction id and a neighbourhood on disk with
-- the whole window, not with the batch (and so the poll book rows) they came from.

create table districts (
  election_id  text not null references elections (id) on delete cascade,
  id           text not null,
  name         text not null,
  level        text not null,
  position     integer not null,
  primary key (election_id, id)
);

create table contests (
  election_id     text not null references elections (id) on delete cascade,
  id              text not null,
  position        integer not null,
  name            text not null,
  kind            text not null check (kind in ('candidate', 'measure')),
  district_id     text not null,
  votes_allowed   integer not null check (votes_allowed between 1 and 50),
  number_elected  integer not null,
  write_ins       boolean not null,
  -- measures: yes passes when yes / (yes + no) exceeds 1/2, or reaches any other fraction
  threshold_numerator    integer,
  threshold_denominator  integer,
  measure_text    text,
  check (number_elected between 1 and votes_allowed),
  check (threshold_numerator > 0 and threshold_denominator >= threshold_numerator),
  primary key (election_id, id),
  foreign key (election_id, district_id) references districts (election_id, id) on delete cascade
);

create table contest_selections (
  election_id  text not null,
  contest_id   text not null,
  id           text not null,
  position     integer not null,
  name         text not null,
  party        text,
  write_in     boolean not null default false,   -- a declared write-in candidate
  primary key (election_id, contest_id, id),
  foreign key (election_id, contest_id) references contests (election_id, id) on delete cascade
);

-- The regions each contest covers (its district resolved against the map).
create table contest_regions (
  election_id  text not null,
  contest_id   text not null,
  region_id    text not null,
  primary key (election_id, contest_id, region_id),
  foreign key (election_id, contest_id) references contests (election_id, id) on delete cascade,
  foreign key (election_id, region_id) references regions (election_id, id) on delete cascade
);
create index contest_regions_by_region on contest_regions (election_id, region_id);

create table ballot_styles (
  election_id  text not null references elections (id) on delete cascade,
  id           text not null,
  contests     text[] not null check (cardinality(contests) > 0),
  primary key (election_id, id)
);
alter table regions add column style_id text;

-- The poll book: for an election with contests, no candidate.
alter table ballots alter column candidate_id drop not null;

create table ballot_box_pending (
  election_id  text not null,
  style_id     text not null,
  region_id    text not null,
  channel      text not null,
  marks        jsonb not null
);
create index ballot_box_pending_by_election on ballot_box_pending (election_id);

create table ballot_box (
  election_id  text not null,
  id           uuid not null,
  style_id     text not null,
  region_id    text not null,
  channel      text not null,
  marks        jsonb not null,
  primary key (election_id, id)
);

-- Running counts per contest × selection × region × channel, kept per partition (each
-- tally instance writes only its own rows); the write-in line is the selection `write-in`.
create table contest_counts (
  election_id      text not null,
  contest_id       text not null,
  selection_id     text not null,
  region_id        text not null,
  channel          text not null,
  kafka_partition  integer not null,
  votes            bigint not null,
  version          bigint not null,
  primary key (election_id, contest_id, selection_id, region_id, channel, kafka_partition)
);

-- Per contest × region × channel (× partition): ballots that carried the contest, and its
-- undervotes and overvotes. With contest_counts: Σ votes + undervotes + overvotes ×
-- votes_allowed = ballots × votes_allowed, in every cell.
create table contest_ballots (
  election_id      text not null,
  contest_id       text not null,
  region_id        text not null,
  channel          text not null,
  kafka_partition  integer not null,
  ballots          bigint not null,
  undervotes       bigint not null,
  overvotes        bigint not null,
  version          bigint not null,
  primary key (election_id, contest_id, region_id, channel, kafka_partition)
);

-- The seed's query (`SELECT candidate, COUNT(*) FROM votes GROUP BY candidate`) keeps
-- working: for an election with contests, over the marks of its first contest, read from
-- the ballot box (no voter, no time).
create or replace view votes as
  select b.election_id, c.name as candidate, b.candidate_id, b.region_id, b.channel, b.cast_at
  from ballots b join candidates c on c.election_id = b.election_id and c.id = b.candidate_id
  union all
  select x.election_id, s.name, s.id, x.region_id, x.channel, null::timestamptz
  from (select election_id, region_id, channel, marks from ballot_box
        union all select election_id, region_id, channel, marks from ballot_box_pending) x
  join contests k on k.election_id = x.election_id and k.position = 0
  cross join lateral jsonb_array_elements(x.marks -> k.id) as m(mark)
  join contest_selections s on s.election_id = x.election_id and s.contest_id = k.id and s.id = m.mark #>> '{}'
  where jsonb_typeof(m.mark) = 'string' and jsonb_array_length(x.marks -> k.id) <= k.votes_allowed;

-- Grafana reads results through views; the ballot box and the poll book stay out of its reach.
grant select on districts, contests, contest_selections, contest_regions, ballot_styles to votestream_grafana;

-- Per contest × selection × region: the running counts summed over channels and
-- partitions, the cells Grafana may show (small cells are suppressed by the panels).
create view contest_results as
  select c.election_id, c.id as contest_id, c.name as contest, c.position as contest_position, c.kind,
         s.id as selection_id, s.name as selection, s.party, s.position as selection_position,
         cc.region_id, coalesce(sum(cc.votes), 0)::bigint as votes
  from contests c
  join contest_selections s on s.election_id = c.election_id and s.contest_id = c.id
  left join contest_counts cc on cc.election_id = c.election_id and cc.contest_id = c.id and cc.selection_id = s.id
  group by c.election_id, c.id, s.id, s.name, s.party, s.position, cc.region_id;
grant select on contest_results to votestream_grafana;

-- The recount of every contest from the ballot box, with the invariant checked per cell.
alter table reconciliation_reports add column contests jsonb;
