-- Which regions a release moved, read from one narrow row per cell (issue #25: `?since=N`
-- names the regions whose public contest counts moved without a count moving — a release —
-- and lib/db/results.ts changedSinceAt reads them for every follower behind the shared
-- document). released_style_counts carries the release's version too, but a row there is a
-- vector per partition (~1 KB): scanning an election's for a version would read tens of MB.
alter table released_cells add column version bigint;

update released_cells c set version = r.version
from (select election_id, region_id, channel, max(version) as version from released_style_counts group by 1, 2, 3) r
where r.election_id = c.election_id and r.region_id = c.region_id and r.channel = c.channel;

update released_cells set version = 0 where version is null;
alter table released_cells alter column version set not null;

-- The API reads which regions a release moved (no counts: those are in the public views).
grant select (election_id, region_id, version) on released_cells to votestream_api;
