-- Grafana's contest_totals reads the style totals (0038) instead of adding up every
-- precinct's vector on each panel refresh: the same columns and rules as 0033's, over the
-- public totals per style (released while counting, the counts once counting finished),
-- so what it shows moves with the snapshot's contest totals. Each dashboard viewer
-- refreshes it every few seconds; summed over the cells it cost what a snapshot did
-- (seconds of the database's CPU for a 5,000-precinct election).

-- The public contest lines per election × contest, summed over styles: as
-- public_contest_ballots / public_contest_counts (0033) without the region, channel and
-- partition, and 0015's tables (elections counted before 0017) as they are.
create view public_contest_ballot_totals as
  select t.election_id, sc.contest_id,
         t.counts[sc.at]::bigint as ballots, t.counts[sc.at + 1]::bigint as undervotes, t.counts[sc.at + 2]::bigint as overvotes
  from public_style_totals t
  join style_contests sc on sc.election_id = t.election_id and sc.style_id = t.style_id
  union all
  select election_id, contest_id, ballots, undervotes, overvotes from contest_ballots_legacy;

create view public_contest_count_totals as
  select t.election_id, sc.contest_id, s.id as selection_id, t.counts[sc.at + 4 + s.position]::bigint as votes
  from public_style_totals t
  join style_contests sc on sc.election_id = t.election_id and sc.style_id = t.style_id
  join contest_selections s on s.election_id = sc.election_id and s.contest_id = sc.contest_id
  union all
  select t.election_id, sc.contest_id, 'write-in', t.counts[sc.at + 3]::bigint
  from public_style_totals t
  join style_contests sc on sc.election_id = t.election_id and sc.style_id = t.style_id
  join contests k on k.election_id = sc.election_id and k.id = sc.contest_id and k.write_ins
  union all
  select election_id, contest_id, selection_id, votes from contest_counts_legacy;

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
    from public_contest_ballot_totals b where b.election_id = c.election_id and b.contest_id = c.id
  ) t
  left join (
    select election_id, contest_id, selection_id, sum(votes) as votes
    from public_contest_count_totals group by election_id, contest_id, selection_id
  ) v on v.election_id = c.election_id and v.contest_id = c.id and v.selection_id = s.id;
