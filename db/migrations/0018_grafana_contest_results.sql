-- What Grafana may show of each contest: 0015's `contest_results` suppressed nothing (it
-- left that to the panels, which Grafana's role does not enforce: anyone with the
-- datasource can read the view). It now suppresses small cells itself, with the rule the
-- API uses (domain/contest-results.ts, `suppressed`), and `contest_totals` gives each
-- contest's totals over all its regions.
--
-- The rule, per contest (a cell is a region of the contest, summed over channels and
-- partitions; its size is the region's ballots in the contest, from contest_ballots):
--   1. a region with 1 to 9 ballots is suppressed (10 = API_RESULTS_MIN_CELL_BALLOTS's
--      default, DEFAULT_MIN_CELL_BALLOTS);
--   2. complementary suppression: the totals over all regions are public (contest_totals),
--      and the totals minus the regions shown give back the sum of the suppressed ones;
--      with a single suppressed region, that sum IS the region. So while the suppressed
--      regions add up to fewer than 10 ballots, the smallest region with ballots that is
--      still shown is suppressed too (ties: by state, then name, as the API orders them).
--      Every region left after step 1 has 10 ballots or more, so one such region always
--      suffices: when any region is suppressed, at least two are, and together they hold at
--      least 10 ballots, unless the contest has no other region with ballots (then its
--      total has fewer than 10 ballots as well, and contest_totals suppresses it).
--   Regions with no ballot yet are shown, with zeros, as the API shows them.
-- A suppressed region shows NULL (not zero) in every count and `suppressed` = true.
--
-- Where this differs from the API:
--   - the minimum is fixed at 10 here; the API's is configurable
--     (API_RESULTS_MIN_CELL_BALLOTS). A deployment that raises it there must raise it here
--     too, in a new migration;
--   - the API also breaks each contest down by channel (and suppresses channels with the
--     same rule); these views have no channel breakdown, so no channel to suppress;
--   - a contest whose ballots number 1 to 9 in all: the API's contest shows its ballot
--     count and zero votes, its list of contests shows 0 ballots; contest_totals shows NULL
--     for the ballots and every count.
--
-- Grafana reads contest_counts and contest_ballots through these views, with the views'
-- owner's rights (it has no grant on them). PostgreSQL binds a view to the relations it
-- read when it was created, not to their names: these read contest_counts and
-- contest_ballots as the migrations before this one left them (0017: views over the
-- per-region vectors and 0015's tables). A later migration that renames or replaces them
-- must drop and create these two views again; a `drop ... cascade` drops them silently.

drop view if exists contest_totals;
drop view if exists contest_results;

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
  -- The lines of the contest: its selections, then the write-in line when it has one (as
  -- the API lists them; contest_counts keeps write-ins under the selection 'write-in').
  join (
    select election_id, contest_id, id, name, party, position, write_in from contest_selections
    union all
    select k.election_id, k.id, 'write-in', 'Write-in', null,
           (select count(*) from contest_selections x where x.election_id = k.election_id and x.contest_id = k.id)::integer, true
    from contests k where k.write_ins
  ) s on s.election_id = c.election_id and s.contest_id = c.id
  join (
    -- Each region of each contest, with its ballots and whether it is suppressed.
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
          from contest_ballots group by election_id, contest_id, region_id
        ) b on b.election_id = cr.election_id and b.contest_id = cr.contest_id and b.region_id = cr.region_id
      ) y
    ) z
  ) r on r.election_id = c.election_id and r.contest_id = c.id
  left join (
    select election_id, contest_id, selection_id, region_id, sum(votes) as votes
    from contest_counts group by election_id, contest_id, selection_id, region_id
  ) v on v.election_id = c.election_id and v.contest_id = c.id and v.selection_id = s.id and v.region_id = r.region_id;
grant select on contest_results to votestream_grafana;

-- Per contest × line (selections, then write-ins): the votes over all the contest's
-- regions, and the contest's ballots, undervotes and overvotes. Public, as the API's
-- totals are, once the contest has 10 ballots; below that (1 to 9) every count is NULL
-- and `suppressed` is true. The contest's rules ride along (kind, votes allowed, seats,
-- the measure's threshold) so a panel needs no second query.
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
    from contest_ballots b where b.election_id = c.election_id and b.contest_id = c.id
  ) t
  left join (
    select election_id, contest_id, selection_id, sum(votes) as votes
    from contest_counts group by election_id, contest_id, selection_id
  ) v on v.election_id = c.election_id and v.contest_id = c.id and v.selection_id = s.id;
grant select on contest_totals to votestream_grafana;
