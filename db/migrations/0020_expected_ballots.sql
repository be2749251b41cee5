-- The ballots an election is expected to count: one rule, read by the API's results
-- (lib/db/results.ts) and by Grafana's "Share of the expected vote counted"
-- (grafana/dashboards.ts). Before this view each wrote its own, and they disagreed: Grafana
-- subtracted the rejected messages from what was produced but not the duplicates, so a
-- finished simulation with duplicates never reached 100 %.
--
-- The rule:
--   - once the polls closed on a simulation, what was produced (messages sent to `votes`)
--     less the rejected messages and less the duplicates: a rejected message is not a
--     ballot, and a duplicate (the same voter again, or the same ballot re-sent) is not a
--     second ballot;
--   - before that, for a simulation, its planned turnout: floor(voters × turnout) of the
--     stored settings (domain/election-settings.ts);
--   - otherwise every registered voter.
-- Once counting finished (counted_version), what is recorded later (junk naming the
-- election, a late re-send) changes no figure, as in the results: rejections and
-- duplicates are counted up to that version.
--
-- The counts sit in the branch that needs them: PostgreSQL evaluates a CASE's subqueries
-- only for the branch taken, so while the polls are open nothing is counted.
--
-- Grafana reads rejected_ballots (two columns) and not duplicate_ballots: it reads them
-- here with the view owner's rights, granted only this view.

create view expected_ballots as
  select e.id as election_id,
         (case
            when e.produced_ballots is not null then greatest(0,
              e.produced_ballots
              - (select count(*) from rejected_ballots r
                 where r.election_id = e.id and (e.counted_version is null or r.version <= e.counted_version))
              - (select count(*) from duplicate_ballots d
                 where d.election_id = e.id and (e.counted_version is null or d.version <= e.counted_version)))
            when e.simulated and e.settings -> 'simulation' is not null
              then floor((e.settings #>> '{simulation,voters}')::float8 * (e.settings #>> '{simulation,turnout}')::float8)
            else (select coalesce(sum(r.registered_voters), 0) from regions r where r.election_id = e.id)
          end)::float8 as expected
  from elections e;

grant select on expected_ballots to votestream_grafana;
