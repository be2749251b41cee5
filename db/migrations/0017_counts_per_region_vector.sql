-- Counts of elections with contests, kept as one vector per region × channel × partition.
--
-- 0015 kept a row per contest × selection × region × channel × partition and one per
-- contest × region × channel × partition: a ballot of 23 contests touched about 47 rows,
-- and over 5,000 precincts (where a batch's ballots rarely share a region) the counting
-- transaction upserted 47 rows per ballot: about 1,000 ballots/s. Here a ballot touches
-- one row, its region × channel × partition's vector, which a batch adds to once per
-- region it carries (`vec_add`). Every contest cell still has its own counts, exactly as
-- before: the views `contest_counts` and `contest_ballots` give them back with 0015's
-- columns, so every reader (results, recount, certification, Grafana) reads what it did.
--
-- A style's vector is the blocks of its contests, in ballot order; `style_contests.at` is
-- where a contest's block starts (1-based), and a block is
--   [ballots, undervotes, overvotes, write-in line, selection 0, selection 1, …]
-- (selections in their `contest_selections.position` order; the write-in slot stays 0 in
-- a contest with no write-in line). domain/count-vector.ts builds the same layout.

create table style_contests (
  election_id  text not null references elections (id) on delete cascade,
  style_id     text not null,
  contest_id   text not null,
  at           integer not null,
  primary key (election_id, style_id, contest_id)
);
create index style_contests_by_contest on style_contests (election_id, contest_id);

-- Styles stored before this migration get their layout now (same rule as the counter's).
insert into style_contests (election_id, style_id, contest_id, at)
select s.election_id, s.id, k.id,
       1 + coalesce(sum(4 + k.selections) over (partition by s.election_id, s.id order by o.n rows between unbounded preceding and 1 preceding), 0)
from ballot_styles s
cross join lateral unnest(s.contests) with ordinality as o(contest_id, n)
join lateral (
  select c.id, (select count(*) from contest_selections x where x.election_id = c.election_id and x.contest_id = c.id)::int as selections
  from contests c where c.election_id = s.election_id and c.id = o.contest_id
) k on true;

create table style_counts (
  election_id      text not null,
  region_id        text not null,
  channel          text not null,
  kafka_partition  integer not null,
  style_id         text not null,
  counts           integer[] not null,
  version          bigint not null,
  primary key (election_id, region_id, channel, kafka_partition)
);
create index style_counts_by_style on style_counts (election_id, style_id);

-- Element-wise sum of two vectors of the same style (same length).
create function vec_add(a integer[], b integer[]) returns integer[]
  language sql immutable strict parallel safe
  as $$ select array_agg(x + y order by i) from unnest(a, b) with ordinality as t(x, y, i) $$;

-- What 0015's tables hold stays counted: an election counting while this migration ran
-- keeps its earlier counts there and its later ones in the vectors; the views add both.
drop view contest_results;
alter table contest_counts rename to contest_counts_legacy;
alter table contest_ballots rename to contest_ballots_legacy;
alter table contest_counts_legacy rename constraint contest_counts_pkey to contest_counts_legacy_pkey;
alter table contest_ballots_legacy rename constraint contest_ballots_pkey to contest_ballots_legacy_pkey;

create view contest_ballots as
  select v.election_id, sc.contest_id, v.region_id, v.channel, v.kafka_partition,
         v.counts[sc.at]::bigint as ballots, v.counts[sc.at + 1]::bigint as undervotes,
         v.counts[sc.at + 2]::bigint as overvotes, v.version
  from style_counts v
  join style_contests sc on sc.election_id = v.election_id and sc.style_id = v.style_id
  union all
  select election_id, contest_id, region_id, channel, kafka_partition, ballots, undervotes, overvotes, version
  from contest_ballots_legacy;

create view contest_counts as
  select v.election_id, sc.contest_id, s.id as selection_id, v.region_id, v.channel, v.kafka_partition,
         v.counts[sc.at + 4 + s.position]::bigint as votes, v.version
  from style_counts v
  join style_contests sc on sc.election_id = v.election_id and sc.style_id = v.style_id
  join contest_selections s on s.election_id = sc.election_id and s.contest_id = sc.contest_id
  union all
  select v.election_id, sc.contest_id, 'write-in', v.region_id, v.channel, v.kafka_partition, v.counts[sc.at + 3]::bigint, v.version
  from style_counts v
  join style_contests sc on sc.election_id = v.election_id and sc.style_id = v.style_id
  join contests k on k.election_id = sc.election_id and k.id = sc.contest_id and k.write_ins
  union all
  select election_id, contest_id, selection_id, region_id, channel, kafka_partition, votes, version
  from contest_counts_legacy;

-- As 0015 had it (0018 replaces it with one that suppresses small cells).
create view contest_results as
  select c.election_id, c.id as contest_id, c.name as contest, c.position as contest_position, c.kind,
         s.id as selection_id, s.name as selection, s.party, s.position as selection_position,
         cc.region_id, coalesce(sum(cc.votes), 0)::bigint as votes
  from contests c
  join contest_selections s on s.election_id = c.election_id and s.contest_id = c.id
  left join contest_counts cc on cc.election_id = c.election_id and cc.contest_id = c.id and cc.selection_id = s.id
  group by c.election_id, c.id, s.id, s.name, s.party, s.position, cc.region_id;
grant select on contest_results to votestream_grafana;
