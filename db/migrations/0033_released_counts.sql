-- Public results move in steps of several ballots per region × channel (issue #24, the
-- secret ballot: public outputs "never reveal which selection a single new ballot changed").
--
-- The counting transaction adds each batch to `style_counts`, so a precinct × channel's
-- vector moves ballot by ballot: someone who saw one voter cast, and read the precinct's
-- results just before and just after, could see which selections moved. Public reads —
-- the API's contest pages, the snapshot's contest totals (SSE, the `results` topic), the
-- NIST export and Grafana — now read `released_style_counts`: a copy of a region ×
-- channel's vectors (every partition's row of it) that one writer, the results publisher
-- (services/tally/results-publisher.ts, one for all tally instances), refreshes only once
-- the cell holds at least TALLY_RESULTS_MIN_CELL_BALLOTS (10) ballots more than its copy
-- (domain/results-release.ts). Between two versions a released cell moves by 10 ballots or
-- more, and one voter's marks are among them. Once counting has finished
-- (elections.counted_version is set) public reads read the counts themselves: the final
-- result is exact, and its last step in a cell may be smaller (docs/secret-ballot.md).
--
-- Internal reads (race calls, reconciliation, certification, the recount, audits, the
-- benchmark) keep reading `style_counts` through contest_counts/contest_ballots.

create table released_style_counts (
  election_id      text not null references elections (id) on delete cascade,
  region_id        text not null,
  channel          text not null,
  kafka_partition  integer not null,
  style_id         text not null,
  counts           integer[] not null,
  -- The release's results version (not the counting batch's): a follower of ?since=N sees it.
  version          bigint not null,
  primary key (election_id, region_id, channel, kafka_partition)
);

-- The latest release of each election: results_version() reads one row, not every copy.
create table results_releases (
  election_id  text primary key references elections (id) on delete cascade,
  version      bigint not null,
  released_at  timestamptz not null default now()
);

-- The counts the public sees: released copies while counting, the counts once it finished.
create view public_style_counts as
  select v.election_id, v.region_id, v.channel, v.kafka_partition, v.style_id, v.counts, v.version
  from style_counts v
  where exists (select from elections e where e.id = v.election_id and e.counted_version is not null)
  union all
  select v.election_id, v.region_id, v.channel, v.kafka_partition, v.style_id, v.counts, v.version
  from released_style_counts v
  where exists (select from elections e where e.id = v.election_id and e.counted_version is null);

-- As contest_ballots / contest_counts (0017), over what the public sees. 0015's tables
-- (`*_legacy`) hold only elections counted before 0017, long finished: read as they are.
create view public_contest_ballots as
  select v.election_id, sc.contest_id, v.region_id, v.channel, v.kafka_partition,
         v.counts[sc.at]::bigint as ballots, v.counts[sc.at + 1]::bigint as undervotes,
         v.counts[sc.at + 2]::bigint as overvotes, v.version
  from public_style_counts v
  join style_contests sc on sc.election_id = v.election_id and sc.style_id = v.style_id
  union all
  select election_id, contest_id, region_id, channel, kafka_partition, ballots, undervotes, overvotes, version
  from contest_ballots_legacy;

create view public_contest_counts as
  select v.election_id, sc.contest_id, s.id as selection_id, v.region_id, v.channel, v.kafka_partition,
         v.counts[sc.at + 4 + s.position]::bigint as votes, v.version
  from public_style_counts v
  join style_contests sc on sc.election_id = v.election_id and sc.style_id = v.style_id
  join contest_selections s on s.election_id = sc.election_id and s.contest_id = sc.contest_id
  union all
  select v.election_id, sc.contest_id, 'write-in', v.region_id, v.channel, v.kafka_partition, v.counts[sc.at + 3]::bigint, v.version
  from public_style_counts v
  join style_contests sc on sc.election_id = v.election_id and sc.style_id = v.style_id
  join contests k on k.election_id = sc.election_id and k.id = sc.contest_id and k.write_ins
  union all
  select election_id, contest_id, selection_id, region_id, channel, kafka_partition, votes, version
  from contest_counts_legacy;

-- A release takes a results version: the version function reads it.
create or replace function results_version(eid text) returns bigint
language sql stable as $$
  select greatest(e.version,
                  (select max(version) from tally_counts where election_id = e.id),
                  (select version from results_releases where election_id = e.id),
                  (select max(version) from rejected_ballots
                    where election_id = e.id and (e.counted_version is null or version <= e.counted_version)),
                  (select max(version) from duplicate_ballots
                    where election_id = e.id and (e.counted_version is null or version <= e.counted_version)),
                  (select max(greatest(version, retracted_version)) from race_calls where election_id = e.id),
                  (select max(greatest(version, retracted_version)) from contest_calls where election_id = e.id))
  from elections e where e.id = eid
$$;

-- Grafana's views (0018) read what the public sees: the same text over the public views.
drop view contest_totals;
drop view contest_results;

create view contest_results as
  select c.election_id, c.id as contest_id, c.name as contest, c.position as contest_position, c.kind,
         s.id as selection_id, s.name as selection, s.party, s.position as selection_position,
         r.region_id,
         case when r.suppressed then null else coalesce(v.votes, 0) end::bigint as votes,
         r.region, r.state, s.write_in,
         case when r.suppressed then null else r.ballots end::bigint as ballots,
         case when r.suppressed then null else r.undervotes end::bigint as undervotes,
         case when r.suppressed then null else r.overvotes end::bigint as overvotes,
         r.suppressed
  from contests c
  join (
    select election_id, contest_id, id, name, party, position, write_in from contest_selections
    union all
    select k.election_id, k.id, 'write-in', 'Write-in', null,
           (select count(*) from contest_selections x where x.election_id = k.election_id and x.contest_id = k.id)::integer, true
    from contests k where k.write_ins
  ) s on s.election_id = c.election_id and s.contest_id = c.id
  join (
    select z.election_id, z.contest_id, z.region_id, z.region, z.state, z.ballots, z.undervotes, z.overvotes,
           z.ballots between 1 and 9
           or (z.small_ballots between 1 and 9 and z.ballots >= 10 and z.rank_among_large = 1) as suppressed
    from (
      select y.*,
             coalesce(sum(y.ballots) filter (where y.ballots between 1 and 9) over (partition by y.election_id, y.contest_id), 0)
               as small_ballots,
             row_number() over (partition by y.election_id, y.contest_id, y.ballots >= 10
                                order by y.ballots, y.state, y.region, y.region_id) as rank_among_large
      from (
        select cr.election_id, cr.contest_id, cr.region_id, g.name as region, g.state,
               coalesce(b.ballots, 0) as ballots, coalesce(b.undervotes, 0) as undervotes, coalesce(b.overvotes, 0) as overvotes
        from contest_regions cr
        join regions g on g.election_id = cr.election_id and g.id = cr.region_id
        left join (
          select election_id, contest_id, region_id, sum(ballots) as ballots, sum(undervotes) as undervotes, sum(overvotes) as overvotes
          from public_contest_ballots group by election_id, contest_id, region_id
        ) b on b.election_id = cr.election_id and b.contest_id = cr.contest_id and b.region_id = cr.region_id
      ) y
    ) z
  ) r on r.election_id = c.election_id and r.contest_id = c.id
  left join (
    select election_id, contest_id, selection_id, region_id, sum(votes) as votes
    from public_contest_counts group by election_id, contest_id, selection_id, region_id
  ) v on v.election_id = c.election_id and v.contest_id = c.id and v.selection_id = s.id and v.region_id = r.region_id;
grant select on contest_results to votestream_grafana;

create view contest_totals as
  select c.election_id, c.id as contest_id, c.name as contest, c.position as contest_position, c.kind,
         c.votes_allowed, c.number_elected, c.threshold_numerator, c.threshold_denominator,
         s.id as selection_id, s.name as selection, s.party, s.position as selection_position, s.write_in,
         case when t.suppressed then null else coalesce(v.votes, 0) end::bigint as votes,
         case when t.suppressed then null else t.ballots end::bigint as ballots,
         case when t.suppressed then null else t.undervotes end::bigint as undervotes,
         case when t.suppressed then null else t.overvotes end::bigint as overvotes,
         t.suppressed
  from contests c
  join (
    select election_id, contest_id, id, name, party, position, write_in from contest_selections
    union all
    select k.election_id, k.id, 'write-in', 'Write-in', null,
           (select count(*) from contest_selections x where x.election_id = k.election_id and x.contest_id = k.id)::integer, true
    from contests k where k.write_ins
  ) s on s.election_id = c.election_id and s.contest_id = c.id
  cross join lateral (
    select coalesce(sum(b.ballots), 0) as ballots, coalesce(sum(b.undervotes), 0) as undervotes,
           coalesce(sum(b.overvotes), 0) as overvotes, coalesce(sum(b.ballots), 0) between 1 and 9 as suppressed
    from public_contest_ballots b where b.election_id = c.election_id and b.contest_id = c.id
  ) t
  left join (
    select election_id, contest_id, selection_id, sum(votes) as votes
    from public_contest_counts group by election_id, contest_id, selection_id
  ) v on v.election_id = c.election_id and v.contest_id = c.id and v.selection_id = s.id;
grant select on contest_totals to votestream_grafana;

-- The API reads only what the public sees (its routes: lib/db/contest-results.ts,
-- contest-totals.ts, cdf-export.ts) and the release's version (results_version()).
grant select on results_releases, public_style_counts, public_contest_ballots, public_contest_counts to votestream_api;
