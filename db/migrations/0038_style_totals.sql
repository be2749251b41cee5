-- Contest totals per ballot style, kept as counting and releases go, so a snapshot reads a
-- vector per style instead of adding up every precinct's (issue #24's speed; #25's readers).
--
-- The results snapshot and the race-call writer summed, on every read, every region ×
-- channel × partition vector of the election (`style_counts`, or the released copy): for a
-- 5,000-precinct benchmark election after 80,000 ballots, 41,511 vectors of 156 integers,
-- 6.5 million elements unnested and grouped — 2.3 s with three parallel workers (7 s of
-- CPU) per read, and growing with the count; the publisher read it for every snapshot
-- and the race-call writer every few seconds, which is where most of PostgreSQL's CPU per
-- ballot went while a realistic election counted (bench/load.ts). Now:
--
--   style_totals           per election × style × partition: what style_counts holds for
--                          the style, summed; upserted by the counting transaction with the
--                          vectors (same batch, same version), so it can never disagree with
--                          them (the recount checks it does not; the reconciliation
--                          rebuilds one that is off, certification refuses). Per partition
--                          like style_counts: today the election's results lock already
--                          orders one election's counting transactions, so the key matters
--                          only once that lock goes (docs/performance.md, contention).
--   released_style_totals  per election × style: what released_style_counts holds, summed;
--                          moved by each release by what it replaced (its one writer is the
--                          release, under the election's results lock).
--   public_style_totals    what the public sees per style: released totals while counting,
--                          the totals themselves once counting finished (as public_style_counts).

create table style_totals (
  election_id      text not null,
  style_id         text not null,
  kafka_partition  integer not null,
  counts           integer[] not null,
  primary key (election_id, style_id, kafka_partition)
);

create table released_style_totals (
  election_id  text not null references elections (id) on delete cascade,
  style_id     text not null,
  counts       integer[] not null,
  primary key (election_id, style_id)
);

-- Elections counted before this migration. Stop the tallies before migrating (as for 0034):
-- a tally of an older release counting after it adds to style_counts and not to these rows,
-- and certification then names the styles whose totals fall short (styleTotals in the
-- recount) instead of certifying.
insert into style_totals (election_id, style_id, kafka_partition, counts)
select election_id, style_id, kafka_partition, vec_sum(counts) from style_counts group by 1, 2, 3;
insert into released_style_totals (election_id, style_id, counts)
select election_id, style_id, vec_sum(counts) from released_style_counts group by 1, 2;

create view public_style_totals as
  select t.election_id, t.style_id, t.counts
  from style_totals t
  where exists (select from elections e where e.id = t.election_id and e.counted_version is not null)
  union all
  select t.election_id, t.style_id, t.counts
  from released_style_totals t
  where exists (select from elections e where e.id = t.election_id and e.counted_version is null);

-- The API reads what the public sees; the counted totals are the worker's (race calls,
-- certification, audits).
grant select on public_style_totals to votestream_api;
