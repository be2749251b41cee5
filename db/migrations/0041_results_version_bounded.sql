-- results_version() reads every duplicate of an election no more (issue #25: the version is
-- asked several times a second per election by the document caches and the feeds).
--
-- Its maxima over rejected_ballots and duplicate_ballots were bounded by the freeze as
-- `counted_version is null or version <= counted_version`, which no index answers, and
-- duplicate_ballots had no index by version at all: with 500,000 duplicates of one election
-- (a producer replaying its log) every call took 73–86 ms, scanning all of them. Bounded as
-- a range, with an index on (election_id, version), the same call takes 0.8–1.3 ms and
-- answers the same (measured in a rolled-back transaction on a benchmark election).
create index duplicate_by_version on duplicate_ballots (election_id, version);

create or replace function results_version(eid text) returns bigint
language sql stable as $$
  select greatest(e.version,
                  -- An election counted before election_totals (0009) has no rows there: its count rows answer.
                  coalesce((select max(version) from election_totals where election_id = e.id),
                           (select max(version) from tally_counts where election_id = e.id)),
                  (select version from results_releases where election_id = e.id),
                  -- Bounded by the freeze as a range (not `is null or <=`), so each maximum is
                  -- one step down an index on (election_id, version), not a scan of every row.
                  (select max(version) from rejected_ballots
                    where election_id = e.id and version <= coalesce(e.counted_version, 9223372036854775807)),
                  (select max(version) from duplicate_ballots
                    where election_id = e.id and version <= coalesce(e.counted_version, 9223372036854775807)),
                  (select max(greatest(version, retracted_version)) from race_calls where election_id = e.id),
                  (select max(greatest(version, retracted_version)) from contest_calls where election_id = e.id))
  from elections e where e.id = eid
$$;
