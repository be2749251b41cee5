-- The smallest public cell is the election's own (issue #24, the secret ballot): fixed when
-- the election is created (POST /elections `minCellBallots`, else the API's
-- API_RESULTS_MIN_CELL_BALLOTS), and read by everything that hides or releases cells — the
-- API, the SSE feed and exports, the tallies' release of counts and of ranked rounds, and
-- Grafana's views below. Until now the API, the tallies and these views each had a minimum
-- of their own (the views a hard-coded 10), and an API set to 20 beside views at 10 showed
-- in Grafana what the API hid. Elections created before this carry 10, what all three used
-- by default. Views and one column with a default: the tallies need not stop.
alter table elections add column min_cell_ballots integer not null default 10
  constraint elections_min_cell_ballots_range check (min_cell_ballots between 1 and 10000);
-- The API creates elections (0032's column grants): it writes the minimum once, at creation,
-- and can never change it (no update grant: a lower minimum later would show cells hidden before).
grant insert (min_cell_ballots) on elections to votestream_api;

-- 0031's, at the election's minimum.
create or replace view rcv_rounds as
  select t.election_id, t.contest_id, t.round, t.candidate_id, s.name as candidate, s.position as candidate_position,
         t.votes, t.status, t.ranking_ballots, t.decided_at
  from rcv_round_tallies t
  join contest_selections s on s.election_id = t.election_id and s.contest_id = t.contest_id and s.id = t.candidate_id
  join elections e on e.id = t.election_id
  where t.ranking_ballots >= e.min_cell_ballots;

-- 0040's, at the election's minimum.
create or replace view contest_totals as
  select c.election_id, c.id as contest_id, c.name as contest, c.position as contest_position, c.kind,
         c.votes_allowed, c.number_elected, c.threshold_numerator, c.threshold_denominator,
         s.id as selection_id, s.name as selection, s.party, s.position as selection_position, s.write_in,
         case when t.suppressed then null else coalesce(v.votes, 0) end::bigint as votes,
         case when t.suppressed then null else t.ballots end::bigint as ballots,
         case when t.suppressed then null else t.undervotes end::bigint as undervotes,
         case when t.suppressed then null else t.overvotes end::bigint as overvotes,
         t.suppressed
  from contests c
  join elections el on el.id = c.election_id
  join (
    select election_id, contest_id, id, name, party, position, write_in from contest_selections
    union all
    select k.election_id, k.id, 'write-in', 'Write-in', null,
           (select count(*) from contest_selections x where x.election_id = k.election_id and x.contest_id = k.id)::integer, true
    from contests k where k.write_ins
  ) s on s.election_id = c.election_id and s.contest_id = c.id
  cross join lateral (
    select coalesce(sum(b.ballots), 0) as ballots, coalesce(sum(b.undervotes), 0) as undervotes,
           coalesce(sum(b.overvotes), 0) as overvotes,
           coalesce(sum(b.ballots), 0) between 1 and el.min_cell_ballots - 1 as suppressed
    from public_contest_ballot_totals b where b.election_id = c.election_id and b.contest_id = c.id
  ) t
  left join (
    select election_id, contest_id, selection_id, sum(votes) as votes
    from public_contest_count_totals group by election_id, contest_id, selection_id
  ) v on v.election_id = c.election_id and v.contest_id = c.id and v.selection_id = s.id;

-- 0046's, at the election's minimum (its columns and rules otherwise unchanged).
create or replace view contest_results as
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
               z.flagged_count >= 2 and z.flagged_ballots >= z.min_cells
                 and (z.flagged_ed = 0 or z.flagged_ed >= z.min_cells) and (z.flagged_early = 0 or z.flagged_early >= z.min_cells)
                 and (z.flagged_mail = 0 or z.flagged_mail >= z.min_cells) as enough_alone,
               z.rest_position is not null
                 and z.flagged_count + z.rest_position >= 2 and z.flagged_ballots + z.rest_ballots >= z.min_cells
                 and (z.flagged_ed + z.rest_ed = 0 or z.flagged_ed + z.rest_ed >= z.min_cells)
                 and (z.flagged_early + z.rest_early = 0 or z.flagged_early + z.rest_early >= z.min_cells)
                 and (z.flagged_mail + z.rest_mail = 0 or z.flagged_mail + z.rest_mail >= z.min_cells) as enough_through
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
                   x.ed between 1 and x.min_cells - 1 or x.early between 1 and x.min_cells - 1 or x.mail between 1 and x.min_cells - 1 as flagged,
                   x.ballots > 0 and not (x.ed between 1 and x.min_cells - 1 or x.early between 1 and x.min_cells - 1 or x.mail between 1 and x.min_cells - 1) as taken
            from (
              select cr.election_id, cr.contest_id, cr.region_id, g.name as region, g.state,
                     coalesce(b.ballots, 0) as ballots, coalesce(b.undervotes, 0) as undervotes, coalesce(b.overvotes, 0) as overvotes,
                     coalesce(b.ed, 0) as ed, coalesce(b.early, 0) as early, coalesce(b.mail, 0) as mail,
                     el.min_cell_ballots as min_cells
              from contest_regions cr
              join elections el on el.id = cr.election_id
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


