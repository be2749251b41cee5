-- The results version in O(partitions), not O(count rows) (issue #25 item 3).
--
-- results_version() took max(tally_counts.version) over every count row of the election —
-- regions × channels × partitions × candidates, 90,000 rows for 5,000 precincts on six
-- partitions — and the document caches and the SSE feed ask it several times a second per
-- election. The counting transaction already upserts one `election_totals` row per election
-- × partition it counted for; it now stamps that row with the batch's version too, so the
-- same maximum is read from a row per partition. A repair of the counts (reconciliation)
-- moves `elections.version`, as before.
--
-- Upgrading while an older tally still counts: its batches do not stamp the version, so
-- until a tally of this release counts for the election, its changes are visible but their
-- version is not — a follower of ?since=N sees them with the next stamped batch (nothing is
-- missed, it comes late). Stop the tallies before migrating to avoid even that.

alter table election_totals add column version bigint;

update election_totals t set version = m.version
from (select election_id, kafka_partition, max(version) as version from tally_counts group by 1, 2) m
where m.election_id = t.election_id and m.kafka_partition = t.kafka_partition;

create or replace function results_version(eid text) returns bigint
language sql stable as $$
  select greatest(e.version,
                  -- An election counted before election_totals (0009) has no rows there: its count rows answer.
                  coalesce((select max(version) from election_totals where election_id = e.id),
                           (select max(version) from tally_counts where election_id = e.id)),
                  (select version from results_releases where election_id = e.id),
                  (select max(version) from rejected_ballots
                    where election_id = e.id and (e.counted_version is null or version <= e.counted_version)),
                  (select max(version) from duplicate_ballots
                    where election_id = e.id and (e.counted_version is null or version <= e.counted_version)),
                  (select max(greatest(version, retracted_version)) from race_calls where election_id = e.id),
                  (select max(greatest(version, retracted_version)) from contest_calls where election_id = e.id))
  from elections e where e.id = eid
$$;

-- The API's role runs results_version() with its own rights.
grant select (election_id, version) on election_totals to votestream_api;
