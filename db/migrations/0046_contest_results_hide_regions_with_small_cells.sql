-- Grafana's `contest_results` hides the regions the per-contest page hides (issue #24, the
-- secret ballot; domain/contest-results.ts hiddenRegionsOf, which a test holds this equal to).
--
-- The page shows each region's totals and each channel's, never a region × channel cell,
-- but zeros pin that table's cells: if B has no election-day and no mail votes in the whole
-- contest, a region's B votes are its early ones, and a region with one early ballot among
-- hundreds gives that voter away. Until now a region was hidden only when its own ballots
-- were 1..9. Now:
--   * a region holding any region × channel cell of 1..9 ballots is hidden;
--   * then the smallest other non-empty regions (ties by state, name, id), as few as make
--     the hidden ones two or more, adding up to at least 10 ballots, with each channel's
--     hidden cells adding up to 0 or at least 10 (a channel's total minus its shown regions'
--     cells gives those together) — all of them when no fewer will do.
-- Views only: nothing is stored, and the tallies need not stop.
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
    -- 4. Hidden: the flagged regions and the first `partners` of the others.
    select e.election_id, e.contest_id, e.region_id, e.region, e.state, e.ballots, e.undervotes, e.overvotes,
           e.flagged or coalesce(e.rest_position <= e.partners, false) as suppressed
    from (
      -- 3. How many of the others: none when nothing is flagged or the flagged ones are
      --    enough, else the fewest that are, else all.
      select d.*,
             case when d.flagged_count = 0 or d.enough_alone then 0
                  else coalesce(min(d.rest_position) filter (where d.enough_through) over contest,
                                max(d.rest_position) over contest, 0)
             end as partners
      from (
        select z.*,
               z.flagged_count >= 2 and z.flagged_ballots >= 10
                 and (z.flagged_ed = 0 or z.flagged_ed >= 10) and (z.flagged_early = 0 or z.flagged_early >= 10)
                 and (z.flagged_mail = 0 or z.flagged_mail >= 10) as enough_alone,
               z.rest_position is not null
                 and z.flagged_count + z.rest_position >= 2 and z.flagged_ballots + z.rest_ballots >= 10
                 and (z.flagged_ed + z.rest_ed = 0 or z.flagged_ed + z.rest_ed >= 10)
                 and (z.flagged_early + z.rest_early = 0 or z.flagged_early + z.rest_early >= 10)
                 and (z.flagged_mail + z.rest_mail = 0 or z.flagged_mail + z.rest_mail >= 10) as enough_through
        from (
          -- 2. The flagged regions' sums, and the others' running sums in the order they are taken.
          select y.*,
                 count(*) filter (where y.flagged) over contest as flagged_count,
                 coalesce(sum(y.ballots) filter (where y.flagged) over contest, 0) as flagged_ballots,
                 coalesce(sum(y.ed) filter (where y.flagged) over contest, 0) as flagged_ed,
                 coalesce(sum(y.early) filter (where y.flagged) over contest, 0) as flagged_early,
                 coalesce(sum(y.mail) filter (where y.flagged) over contest, 0) as flagged_mail,
                 case when y.taken then row_number() over taking end as rest_position,
                 case when y.taken then sum(y.ballots) over taking end as rest_ballots,
                 case when y.taken then sum(y.ed) over taking end as rest_ed,
                 case when y.taken then sum(y.early) over taking end as rest_early,
                 case when y.taken then sum(y.mail) over taking end as rest_mail
          from (
            -- 1. Each region of the contest: its public ballots, per channel too.
            select x.*,
                   x.ed between 1 and 9 or x.early between 1 and 9 or x.mail between 1 and 9 as flagged,
                   x.ballots > 0 and not (x.ed between 1 and 9 or x.early between 1 and 9 or x.mail between 1 and 9) as taken
            from (
              select cr.election_id, cr.contest_id, cr.region_id, g.name as region, g.state,
                     coalesce(b.ballots, 0) as ballots, coalesce(b.undervotes, 0) as undervotes, coalesce(b.overvotes, 0) as overvotes,
                     coalesce(b.ed, 0) as ed, coalesce(b.early, 0) as early, coalesce(b.mail, 0) as mail
              from contest_regions cr
              join regions g on g.election_id = cr.election_id and g.id = cr.region_id
              left join (
                select election_id, contest_id, region_id, sum(ballots) as ballots, sum(undervotes) as undervotes,
                       sum(overvotes) as overvotes,
                       coalesce(sum(ballots) filter (where channel = 'election_day'), 0) as ed,
                       coalesce(sum(ballots) filter (where channel = 'early'), 0) as early,
                       coalesce(sum(ballots) filter (where channel = 'mail'), 0) as mail
                from public_contest_ballots group by election_id, contest_id, region_id
              ) b on b.election_id = cr.election_id and b.contest_id = cr.contest_id and b.region_id = cr.region_id
            ) x
          ) y
          window contest as (partition by y.election_id, y.contest_id),
                 taking as (partition by y.election_id, y.contest_id, y.taken
                            order by y.ballots, y.state, y.region, y.region_id rows between unbounded preceding and current row)
        ) z
      ) d
      window contest as (partition by d.election_id, d.contest_id)
    ) e
  ) r on r.election_id = c.election_id and r.contest_id = c.id
  left join (
    select election_id, contest_id, selection_id, region_id, sum(votes) as votes
    from public_contest_counts group by election_id, contest_id, selection_id, region_id
  ) v on v.election_id = c.election_id and v.contest_id = c.id and v.selection_id = s.id and v.region_id = r.region_id;

grant select on contest_results to votestream_grafana;
