-- A database upgraded past 0033 while elections were counting: their public contest counts
-- would fall to nothing (the released copy starts empty) until a publisher of the new code
-- releases them, and then all at once under one version. What the public saw before the
-- upgrade was the counts themselves, so they are the first release of every election still
-- counting that has none yet (pending migrations run in one transaction: 0033 and this one
-- commit together, and no reader sees the empty copy). Run with the tallies stopped, or of
-- this release: an older tally publishes no releases.
insert into released_style_counts (election_id, region_id, channel, kafka_partition, style_id, counts, version)
select v.election_id, v.region_id, v.channel, v.kafka_partition, v.style_id, v.counts, v.version
from style_counts v
join elections e on e.id = v.election_id
where e.counted_version is null
  and not exists (select from results_releases r where r.election_id = v.election_id)
on conflict do nothing;

insert into results_releases (election_id, version)
select v.election_id, max(v.version)
from style_counts v
join elections e on e.id = v.election_id
where e.counted_version is null
group by v.election_id
on conflict do nothing;
