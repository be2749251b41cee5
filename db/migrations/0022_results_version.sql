-- An election's results version, in one place: the snapshot states it and the feeds and the
-- document cache poll it, and the two had drifted (the poll missed duplicates and the
-- contest calls, so a change visible in the snapshot could go unnoticed by a follower).
-- Versions become visible in order, so an unchanged version is unchanged results. Once
-- counting finished (counted_version), rejections and duplicates recorded later (junk naming
-- the election, a late re-send) stay in the ledger but take no visible version.
-- Cost: O(the election's count rows) for max(tally_counts.version); see issue 25 item 3.
create or replace function results_version(eid text) returns bigint
language sql stable as $$
  select greatest(e.version,
                  (select max(version) from tally_counts where election_id = e.id),
                  (select max(version) from rejected_ballots
                    where election_id = e.id and (e.counted_version is null or version <= e.counted_version)),
                  (select max(version) from duplicate_ballots
                    where election_id = e.id and (e.counted_version is null or version <= e.counted_version)),
                  (select max(greatest(version, retracted_version)) from race_calls where election_id = e.id),
                  (select max(greatest(version, retracted_version)) from contest_calls where election_id = e.id))
  from elections e where e.id = eid
$$;
